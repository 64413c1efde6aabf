/* Connection memory: how big a connection's state and its four buffers are
 * (rx, reasm, hs_out, tx), where they lie, and detaching the buffers of an
 * idle connection so a server can keep them in a pool of its own between
 * records (docs/memory.md). The state is one block: the struct, the room
 * for the selected ALPN protocol and, on a server that verifies clients,
 * the client identity. The buffers are another, attached while records
 * move and handed back when the connection is idle. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"
#include "iotls/features.h"
#include "msg/msg.h"
#include "scratch.h"
#include "ticket.h"

#define ALIGN_UP(n) (((n) + 15u) & ~(size_t)15u)

/* The largest expansion of one record (a CCM_8 record is 8 bytes smaller):
 * buffers are sized before the suite is known. */
#define RECORD_OVERHEAD (IOTLS_RECORD_HEADER_LEN + 1 + IOTLS_AEAD_TAG_LEN)

typedef struct {
    size_t rx, reasm, tx, alpn, client_id;
    size_t rx_reasm_max; /* reassembling in rx: the largest message; else 0 */
} buffer_sizes;

/* Room for the selected ALPN protocol, NUL-ended: the longest name in our
 * list (a client accepts only a name it offered, a server picks one of its
 * own), 1 byte without a list. */
static size_t alpn_room(const iotls_config *cfg)
{
    size_t longest = 0;
    for (size_t pos = 0; pos < cfg->alpn_len; pos += 1u + cfg->alpn[pos])
        if (cfg->alpn[pos] > longest)
            longest = cfg->alpn[pos];
    return longest + 1;
}

size_t iotls__conn_record_size(const iotls_config *cfg)
{
    size_t n = cfg->max_record_plain;
    return n == 0 || n > IOTLS_MAX_PLAINTEXT ? IOTLS_MAX_PLAINTEXT : n;
}

size_t iotls__conn_send_record_size(const iotls_config *cfg)
{
    size_t n = cfg->max_record_send;
    return n == 0 || n > IOTLS_MAX_PLAINTEXT ? iotls__conn_record_size(cfg) : n;
}

/* Everything a client ever puts in tx at once before its first flight
 * leaves: its ClientHello (fixed part, an HRR cookie, SNI, its ALPN list, a
 * session ticket and binder), or a KeyUpdate. */
size_t iotls__conn_client_hello_room(const iotls_config *cfg)
{
    return 1280u + IOTLS_MAX_SERVER_NAME + cfg->alpn_len + iotls__session_ticket_room(cfg);
}

/* Our Certificate message for chain (RFC 8446 4.4.2: context, list, and
 * per entry its length, DER and empty extensions). */
static size_t certificate_msg_len(const iotls_x509 *chain)
{
    size_t len = IOTLS_HS_HEADER_LEN + 1 + 3;
    for (size_t i = 0; i < iotls__x509_count(chain); i++) {
        const uint8_t *der = NULL;
        size_t der_len = 0;
        if (iotls__x509_der(chain, i, &der, &der_len) == IOTLS_OK)
            len += 3 + der_len + 2;
    }
    return len;
}

/* The longest signature the configuration's key makes with a scheme it
 * may use: an ECDSA signature is DER, at most 2 + 2 x (2 + 1 + the field
 * size); for RSA the modulus is not known here, so the largest iotls
 * signs with (RSA-4096). */
static size_t signature_room(const iotls_config *cfg)
{
    static const struct {
        uint16_t scheme;
        uint16_t len;
    } ecdsa[] = {{IOTLS_SIG_ECDSA_SECP256R1_SHA256, 72}, {IOTLS_SIG_ECDSA_SECP384R1_SHA384, 104}};
    size_t longest = 0;
    for (size_t i = 0; i < cfg->sig_alg_count; i++) {
        if (!iotls__pkey_can_sign(&cfg->key, cfg->sig_algs[i]))
            continue;
        size_t len = IOTLS_MAX_SIGNATURE_LEN;
        for (size_t k = 0; k < sizeof ecdsa / sizeof ecdsa[0]; k++)
            if (ecdsa[k].scheme == cfg->sig_algs[i])
                len = ecdsa[k].len;
        if (len > longest)
            longest = len;
    }
    return longest;
}

/* The longest flight a configuration with a certificate sends, as a
 * server (which includes what a client sends: EndOfEarlyData, its
 * Certificate, CertificateVerify and Finished): ServerHello (a session id
 * echo, the largest key share; a HelloRetryRequest with its cookie is
 * smaller), EncryptedExtensions (the longest ALPN name, server_name,
 * early_data, record_size_limit, max_fragment_length, supported_groups),
 * CertificateRequest (the signature algorithms), our Certificate, the
 * CertificateVerify with the longest signature and the transcript hash and
 * signed content behind it while it is made (src/scratch.h), Finished. A
 * server with an SNI callback may present another configuration's chain,
 * unknown until the ClientHello: its certificate room is max_handshake,
 * the bound on every handshake message. */
static size_t certificate_flight(const iotls_config *cfg, size_t max_hs)
{
    size_t server_hello = IOTLS_HS_HEADER_LEN + 2 + 32 + 1 + 32 + 2 + 1 + 2 + 6 +
                          (4 + 2 + 2 + IOTLS_MAX_KEX_PUBLIC_LEN) + 6;
    size_t encrypted_extensions = IOTLS_HS_HEADER_LEN + 2 + (4 + 2 + 1 + alpn_room(cfg)) + 4 + 4 +
                                  (4 + 2) + (4 + 1) + (4 + 2 + 2 * IOTLS_MAX_GROUPS);
    size_t certificate_request = IOTLS_HS_HEADER_LEN + 1 + 2 + (4 + 2 + 2 * IOTLS_MAX_SIG_ALGS);
    size_t certificate = certificate_msg_len(&cfg->cert);
    size_t signature = signature_room(cfg);
    if (cfg->sni_cb != NULL) {
        if (certificate < max_hs)
            certificate = max_hs;
        signature = IOTLS_MAX_SIGNATURE_LEN;
    }
    size_t certificate_verify =
        IOTLS_HS_HEADER_LEN + 2 + 2 + signature + sizeof(struct iotls_scratch_cv) + 15u;
    size_t finished = IOTLS_HS_HEADER_LEN + IOTLS_MAX_HASH_LEN;
    return server_hello + encrypted_extensions + certificate_request + certificate +
           certificate_verify + finished;
}

/* A server's NewSessionTickets after the handshake, all sealed at once
 * (at most 256: one byte of nonce each), and the scratch region the last
 * one is made in. */
static size_t tickets_room(const iotls_config *cfg)
{
    size_t count = cfg->ticket_count > 256 ? 256 : cfg->ticket_count;
    if (!IOTLS_FEATURE_RESUMPTION || count == 0)
        return 0;
    size_t ticket = IOTLS_HS_HEADER_LEN + 4 + 4 + 1 + 1 + 2 + IOTLS_TICKET_MAX_LEN + 2 + 8;
    return count * ticket + sizeof(struct iotls_scratch_nst) + 15u;
}

/* The largest flight of the configuration: what its messages hold, not
 * max_handshake (which bounds what the peer sends us). The role is not
 * known here; a configuration with a certificate is sized for a server's
 * flight, which covers a client's. */
static size_t flight_room(const iotls_config *cfg, size_t max_hs)
{
    size_t flight = iotls__conn_client_hello_room(cfg);
    if (cfg->has_cert) {
        size_t own = certificate_flight(cfg, max_hs);
        if (own > flight)
            flight = own;
    }
    size_t tickets = tickets_room(cfg);
    return tickets > flight ? tickets : flight;
}

/* The smallest tx whose in-place room (iotls__conn_in_place_room) takes
 * the flight, with the records that may be queued before its last part:
 * a ServerHello or EndOfEarlyData sealed on its own (its header and tag)
 * and a change_cipher_spec. An alert needs no room of its own: a fatal
 * one replaces unsent output, close_notify waits for the transport. */
static size_t tx_for_flight(size_t flight)
{
    size_t need = flight + RECORD_OVERHEAD + 6;
    /* No smaller tx can take it: the room is at most this much less. */
    size_t tx =
        need + IOTLS_RECORD_HEADER_LEN + RECORD_OVERHEAD * (need / IOTLS_MIN_FRAGMENT_SIZED + 1);
    while (iotls__conn_in_place_room(tx) < need)
        tx++;
    return tx;
}

static buffer_sizes sizes_for(const iotls_config *cfg)
{
    buffer_sizes s;
    size_t max_hs = cfg->max_handshake ? cfg->max_handshake : IOTLS_DEFAULT_MAX_HANDSHAKE;
    size_t frag = iotls__conn_record_size(cfg);
    /* rx holds one record as received. With the full record size a peer may
     * send anything RFC 8446 allows (2^14 + 256 of ciphertext); with a
     * smaller one only what our announced limit allows: content, content
     * type and tag (RFC 8449 4: the limit counts the inner plaintext). */
    if (frag >= IOTLS_MAX_PLAINTEXT)
        s.rx = IOTLS_MAX_RECORD;
    else
        s.rx = IOTLS_RECORD_HEADER_LEN + frag + 1 + IOTLS_AEAD_TAG_LEN;
    /* The reassembler takes only the bytes of the message it completes (the
     * rest of the record stays in rx), and whole messages inside one record
     * are never copied: one message of max_hs at most. Reassembling in rx
     * needs no buffer at all. */
    s.reasm = cfg->reassemble_in_place ? 0 : max_hs;
    /* In rx, a message spanning records is at most rx less a record header
     * (its last record brings at least one byte); the record layout limits
     * it further, checked at each record's header (conn.c): a protected
     * last record also needs its content type and tag. */
    s.rx_reasm_max = 0;
    if (cfg->reassemble_in_place) {
        size_t room = s.rx - IOTLS_RECORD_HEADER_LEN;
        s.rx_reasm_max = max_hs < room ? max_hs : room;
    }
    /* tx takes our whole flight, built and sealed in place, or one full
     * record of the size we send. */
    size_t send = iotls__conn_send_record_size(cfg);
    s.tx = tx_for_flight(flight_room(cfg, max_hs));
    if (s.tx < send + RECORD_OVERHEAD + 64)
        s.tx = send + RECORD_OVERHEAD + 64;
    s.alpn = alpn_room(cfg);
    /* Only a server that verifies clients keeps a client identity (for its
     * tickets, and from them on resumption); a client config never sets
     * verify_client, so devices pay nothing for it. */
    s.client_id = cfg->verify_client != IOTLS_VERIFY_CLIENT_NONE ? sizeof(iotls_peer_id) : 0;
    return s;
}

size_t iotls_conn_state_size(const iotls_config *cfg)
{
    if (!cfg)
        return 0;
    buffer_sizes s = sizes_for(cfg);
    return ALIGN_UP(sizeof(struct iotls_conn)) + ALIGN_UP(s.alpn) + ALIGN_UP(s.client_id);
}

size_t iotls_conn_buffers_size(const iotls_config *cfg)
{
    if (!cfg)
        return 0;
    buffer_sizes s = sizes_for(cfg);
    return ALIGN_UP(s.rx) + ALIGN_UP(s.reasm) + ALIGN_UP(s.tx);
}

size_t iotls_conn_size(const iotls_config *cfg)
{
    return iotls_conn_state_size(cfg) + iotls_conn_buffers_size(cfg);
}

void iotls__conn_carve_state(iotls_conn *c)
{
    buffer_sizes s = sizes_for(c->cfg);
    uint8_t *p = (uint8_t *)c + ALIGN_UP(sizeof *c);
    c->alpn = (char *)p;
    c->alpn_cap = s.alpn;
    p += ALIGN_UP(s.alpn);
    c->client_id = s.client_id ? (iotls_peer_id *)(void *)p : NULL;
}

int iotls_conn_buffers_attached(const iotls_conn *c)
{
    return c != NULL && c->rx != NULL;
}

/* The connection's buffers as laid out when it was made (c->cfg's sizes
 * then), so that a configuration changed since cannot move them. */
static size_t layout_len(const iotls_conn *c)
{
    return ALIGN_UP(c->rx_size) + ALIGN_UP(c->reasm_size) + ALIGN_UP(c->tx_size);
}

void iotls__conn_wipe_buffers(iotls_conn *c)
{
    if (c->rx != NULL)
        iotls__wipe(c->rx, layout_len(c));
}

void iotls__conn_fix_layout(iotls_conn *c)
{
    buffer_sizes s = sizes_for(c->cfg);
    c->rx_size = s.rx;
    c->reasm_size = s.reasm;
    c->tx_size = s.tx;
    c->rx_reasm_max = s.rx_reasm_max;
}

int iotls_conn_attach_buffers(iotls_conn *c, void *mem, size_t len)
{
    if (!c || !mem || ((uintptr_t)mem & 15u) != 0 || len < layout_len(c))
        return IOTLS_ERR_BAD_ARG;
    if (c->rx != NULL)
        return IOTLS_ERR_BAD_STATE;
    uint8_t *p = mem;
    c->rx = p;
    c->rx_cap = c->rx_size;
    p += ALIGN_UP(c->rx_size);
    if (c->rx_reasm_max != 0) {
        iotls__hs_reasm_init_in_place(&c->reasm, c->rx, c->rx_reasm_max);
    } else {
        iotls__hs_reasm_init(&c->reasm, p, c->reasm_size);
        c->reasm.max_msg = c->reasm_size;
    }
    p += ALIGN_UP(c->reasm_size);
    c->hs_out = NULL;
    c->hs_out_cap = 0;
    c->tx = p;
    c->tx_cap = c->tx_size;
    c->rx_high = c->tx_high = 0;
    /* The handshake's scratch lies anywhere in the block. */
    c->wipe_whole_block = !c->handshake_done;
    return IOTLS_OK;
}

int iotls_conn_buffers_idle(const iotls_conn *c)
{
    /* The handshake always keeps its buffers: its state lives in them
     * between flights (a partial message, our flight being sealed). After
     * it, nothing but a record on its way in or out does: the keys and
     * sequence numbers are in the state. A KeyUpdate owed to the peer is
     * sent from tx at the next write, so it keeps them too. A handshake
     * message handed out of reasm is done with (reasm_pending counts what
     * is not). A server marks the handshake done before its send states
     * write the tickets: those must have been written too. */
    if (c != NULL && c->role == IOTLS_ROLE_SERVER && c->hs.sv.state == IOTLS_SV_SEND_TICKETS)
        return 0;
    return c != NULL && c->rx != NULL && c->handshake_done && c->rx_len == 0 && !c->rx_hold &&
           c->app_len == 0 && iotls__hs_reasm_pending(&c->reasm) == 0 && c->hs_out_len == 0 &&
           c->tx_len == c->tx_pos && !c->key_update_pending;
}

int iotls_conn_release_buffers(iotls_conn *c, void **mem)
{
    if (!c || !mem)
        return IOTLS_ERR_BAD_ARG;
    *mem = NULL;
    if (!iotls_conn_buffers_idle(c))
        return IOTLS_ERR_BAD_STATE;
    /* rx held decrypted records and tx our plaintext and handshake
     * messages before sealing: the block goes to a pool other
     * connections draw from, so nothing of this one may stay in it. Only
     * what was written since the buffers were attached needs it: records
     * in and out touch the start of rx, reasm and tx (their high-water
     * marks), a small exchange a few hundred of the block's 49 KiB or
     * more. After the handshake, a handshake message built since, or a
     * failure (whose alert or flight may have stopped half-written), the
     * whole block, as one wipe: the buffers are contiguous from rx. */
    if (c->wipe_whole_block || c->error != IOTLS_OK) {
        iotls__wipe(c->rx, layout_len(c));
    } else {
        iotls__conn_rx_written(c, c->rx_len);
        iotls__conn_tx_written(c);
        iotls__wipe(c->rx, c->rx_high);
        iotls__wipe(c->reasm.buf, c->reasm.high);
        iotls__wipe(c->tx, c->tx_high);
    }
    *mem = c->rx;
    c->rx = NULL;
    c->rx_cap = c->rx_len = 0;
    c->app = NULL;
    iotls__hs_reasm_init(&c->reasm, NULL, 0);
    c->hs_out = NULL;
    c->hs_out_cap = c->hs_out_len = 0;
    c->tx = NULL;
    c->tx_cap = c->tx_len = c->tx_pos = 0;
    /* What the crypto library allocated for the record keys goes too (with
     * the OpenSSL provider, most of an idle connection's memory); the next
     * record rebuilds it from the key in the state. */
    iotls__aead_park(&c->rd.aead);
    iotls__aead_park(&c->wr.aead);
    return IOTLS_OK;
}
