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

#define ALIGN_UP(n) (((n) + 15u) & ~(size_t)15u)

/* The largest expansion of one record (a CCM_8 record is 8 bytes smaller):
 * buffers are sized before the suite is known. */
#define RECORD_OVERHEAD (IOTLS_RECORD_HEADER_LEN + 1 + IOTLS_AEAD_TAG_LEN)

typedef struct {
    size_t rx, reasm, hs_out, tx, alpn, client_id;
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

/* Everything a client without a certificate ever puts in hs_out at once:
 * its ClientHello (fixed part, an HRR cookie, SNI, its ALPN list, a session
 * ticket and binder) or its Finished, or a KeyUpdate. */
static size_t client_hello_room(const iotls_config *cfg)
{
    return 1280u + IOTLS_MAX_SERVER_NAME + cfg->alpn_len + iotls__session_ticket_room(cfg);
}

/* The smallest peer record limit the flight's record overhead is sized for
 * (RFC 8449 allows 64; a smaller one with a large flight fails as an
 * internal error when the flight does not fit). */
#define MIN_FRAGMENT_SIZED 512u

/* A client that presents no certificate builds its messages in tx and
 * seals them in place: no hs_out of its own. A server always has one. */
static int hs_in_tx(const iotls_config *cfg)
{
    return !cfg->has_cert;
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
     * are never copied: one message of max_hs at most. */
    s.reasm = max_hs;
    /* Our own flight: the largest message plus the small ones beside it. A
     * client that presents no certificate only ever sends a ClientHello, a
     * Finished or a KeyUpdate, and builds them in tx. */
    size_t flight = hs_in_tx(cfg) ? client_hello_room(cfg) : max_hs + 4096;
    s.hs_out = hs_in_tx(cfg) ? 0 : flight;
    /* tx takes a whole sealed flight (plus a CCS and an alert), or one full
     * application record. */
    size_t per = frag < MIN_FRAGMENT_SIZED ? frag : MIN_FRAGMENT_SIZED;
    s.tx = flight + RECORD_OVERHEAD * (flight / per + 3) + 64;
    if (s.tx < frag + RECORD_OVERHEAD + 64)
        s.tx = frag + RECORD_OVERHEAD + 64;
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
    return ALIGN_UP(s.rx) + ALIGN_UP(s.reasm) + ALIGN_UP(s.hs_out) + ALIGN_UP(s.tx);
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

int iotls_conn_attach_buffers(iotls_conn *c, void *mem, size_t len)
{
    if (!c || !mem || ((uintptr_t)mem & 15u) != 0 || len < iotls_conn_buffers_size(c->cfg))
        return IOTLS_ERR_BAD_ARG;
    if (c->rx != NULL)
        return IOTLS_ERR_BAD_STATE;
    buffer_sizes s = sizes_for(c->cfg);
    uint8_t *p = mem;
    c->rx = p;
    c->rx_cap = s.rx;
    p += ALIGN_UP(s.rx);
    iotls__hs_reasm_init(&c->reasm, p, s.reasm);
    c->reasm.max_msg = c->cfg->max_handshake ? c->cfg->max_handshake : IOTLS_DEFAULT_MAX_HANDSHAKE;
    p += ALIGN_UP(s.reasm);
    c->hs_in_tx = hs_in_tx(c->cfg);
    c->hs_out = c->hs_in_tx ? NULL : p;
    c->hs_out_cap = c->hs_in_tx ? 0 : s.hs_out;
    p += ALIGN_UP(s.hs_out);
    c->tx = p;
    c->tx_cap = s.tx;
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
    /* rx held decrypted records and tx our plaintext before sealing (and
     * hs_out our handshake messages): the block goes to a pool other
     * connections draw from, so nothing of this one may stay in it. Only
     * what was written since the buffers were attached needs it: records
     * in and out touch the start of rx, reasm and tx (their high-water
     * marks), a small exchange a few hundred of the 50 to 75 KiB. After
     * the handshake, a handshake message built since, or a failure
     * (whose alert or flight may have stopped half-written), the whole
     * block, as one wipe: the buffers are contiguous from rx. */
    if (c->wipe_whole_block || c->error != IOTLS_OK) {
        iotls__wipe(c->rx, iotls_conn_buffers_size(c->cfg));
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
