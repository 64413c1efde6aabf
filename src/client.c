/* The TLS 1.3 client handshake (RFC 8446 section 2, 4), sans I/O: it reads
 * whole handshake messages handed in by conn.c (through the table
 * "transitions") and writes its answers into hs_out through conn.c.
 *
 *   IDLE --start: send ClientHello [CCS] [early data]--> WAIT_SH ---------+
 *                                                       |  ^            | HelloRetryRequest
 *                                                       |  |            v (once)
 *                                                       |  +-- SEND_CH2: [a share for the
 *                                                       |      group asked], [CCS] ClientHello2
 *                                                       | ServerHello
 *                                                       v
 *                                                    WAIT_EE
 *                        EncryptedExtensions, a PSK     | EncryptedExtensions
 *                   +------ authenticates --------------+
 *                   |                                   v
 *                   |           WAIT_CERT <--CR--- WAIT_CERT_CR
 *                   |               |                   |
 *                   |               +--Certificate--+---+ Certificate
 *                   |                               v
 *                   |                            WAIT_CV
 *                   |                               | CertificateVerify
 *                   v                               v
 *               WAIT_FINISHED <---------------------+
 *                   | Finished
 *                   +--------- 0-RTT accepted ---------+
 *                   |                                  v
 *                   |                  SEND_EOED: EndOfEarlyData
 *                   v                                  |
 *               SEND_CCS: [CCS], handshake write keys <+
 *                   |                         | the server asked (CR)
 *                   |                         v
 *                   |       SEND_CERT: {Certificate} (our chain, or empty)
 *                   |         empty |         | our chain
 *                   |               |         v
 *                   |               |   SEND_CV: {CertificateVerify}
 *                   v               v         |
 *               SEND_FINISHED: {Finished} <---+, application write keys
 *                   v
 *               CONNECTED (NewSessionTicket, KeyUpdate: conn.c)
 *
 *   any error: FAILED, which accepts nothing.
 *
 * WAIT_ states accept the messages of table "transitions"; SEND_ states
 * accept nothing and send (table "send_states"): after each record,
 * conn.c's advance loop (role_advance) runs them one after the other,
 * through iotls__client_step, until a WAIT_ state (or CONNECTED). So every sending step returns
 * before the next starts and none runs under the handler of the message
 * that led to it (the HelloRetryRequest's, the server Finished's): the
 * deepest stack of a handshake, our CertificateVerify signature, is the
 * dispatcher, SEND_CV's step and the signature, and the new key share
 * after a HelloRetryRequest is the dispatcher, SEND_CH2's step and the key
 * generation (docs/stack.md).
 *
 * Every message is checked against the state before it is parsed: anything
 * else is unexpected_message. conn.c does not add received messages to the
 * transcript; each transition function adds its message itself, after using
 * the hash of the messages before it where RFC 8446 needs that. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "conn_internal.h"
#include "msg/msg.h"

/* RFC 8446 4.1.3: the last 8 bytes of ServerHello.random of a TLS 1.3
 * capable server that negotiates TLS 1.2 (...01) or TLS 1.1 or below (...00). */
static const uint8_t downgrade_tls12[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x01};
static const uint8_t downgrade_tls11[8] = {0x44, 0x4F, 0x57, 0x4E, 0x47, 0x52, 0x44, 0x00};

/* Our own chain in a Certificate message: leaf plus intermediates. */
#define CLIENT_MAX_CHAIN 8

static int u16_in(const uint16_t *list, size_t count, uint16_t value)
{
    for (size_t i = 0; i < count; i++)
        if (list[i] == value)
            return 1;
    return 0;
}

static int is_pkcs1_scheme(uint16_t scheme)
{
    return scheme == IOTLS_SIG_RSA_PKCS1_SHA256 || scheme == IOTLS_SIG_RSA_PKCS1_SHA384 ||
           scheme == IOTLS_SIG_RSA_PKCS1_SHA512;
}

/* RFC 6066 3: "Literal IPv4 and IPv6 addresses are not permitted in
 * HostName". Digits and dots only is an IPv4 literal (no TLD is numeric);
 * a colon only appears in IPv6 literals. */
static int is_ip_literal(const char *name)
{
    if (strchr(name, ':') != NULL)
        return 1;
    int dots = 0;
    for (const char *p = name; *p != '\0'; p++) {
        if (*p == '.')
            dots++;
        else if (*p < '0' || *p > '9')
            return 0;
    }
    return dots > 0;
}

/* The server_name to send, or NULL: none for an empty name or an IP
 * literal; a trailing dot is not part of a HostName (RFC 6066 3). */
static const char *sni_to_send(const iotls_conn *c, char out[IOTLS_MAX_SERVER_NAME + 1])
{
    size_t n = strlen(c->server_name);
    if (n > IOTLS_MAX_SERVER_NAME)
        return NULL;
    memcpy(out, c->server_name, n + 1);
    if (n > 0 && out[n - 1] == '.')
        out[--n] = '\0';
    if (n == 0 || is_ip_literal(out))
        return NULL;
    return out;
}

/* Destroys our key share (its private key wiped), if any. */
static void drop_share(iotls_conn *c)
{
    struct iotls_client_state *s = &c->hs.cl;
    iotls__kex_free(&s->kex);
    s->share_group = 0;
    s->share_pub_len = 0;
}

/* A fresh key pair for group; the previous one (if any) is freed. */
static int make_share(iotls_conn *c, uint16_t group)
{
    struct iotls_client_state *s = &c->hs.cl;
    drop_share(c);
    int rc =
        iotls__kex_generate(&s->kex, group, s->share_pub, sizeof s->share_pub, &s->share_pub_len);
    if (rc != IOTLS_OK)
        return rc;
    s->share_group = group;
    return IOTLS_OK;
}

/* The PSK the next ClientHello offers: the saved session, or else the
 * configured external PSK when one of our suites has its hash. After a
 * HelloRetryRequest only one of the suite's hash (RFC 8446 4.1.4). */
static int psk_to_offer(const iotls_conn *c, const uint8_t **key, size_t *key_len,
                        iotls_hash_alg *alg, bool *ext_psk)
{
    const iotls_config *cfg = c->cfg;
    const struct iotls_client_state *s = &c->hs.cl;
    *ext_psk = false;
    *alg = IOTLS_HASH_NONE;
    if (IOTLS_FEATURE_RESUMPTION && s->has_session) {
        *alg = iotls__suite_hash(s->session.suite);
        *key = s->session.psk;
        *key_len = s->session.psk_len;
    } else if (IOTLS_FEATURE_EXT_PSK && cfg->has_ext_psk) {
        int usable = 0;
        for (size_t i = 0; i < cfg->suite_count; i++)
            usable |= iotls__suite_hash(cfg->suites[i]) == cfg->ext_psk_hash;
        if (!usable)
            return 0;
        *alg = cfg->ext_psk_hash;
        *key = cfg->ext_psk;
        *key_len = cfg->ext_psk_len;
        *ext_psk = true;
    } else {
        return 0;
    }
    return s->hrr_suite == 0 || iotls__suite_hash(s->hrr_suite) == *alg;
}

/* What we announce for our record size (iotls_config_set_record_size):
 * record_size_limit counts the content type byte in TLS 1.3 (RFC 8449 4);
 * max_fragment_length (RFC 6066 4: 2^9..2^12) is for servers without RFC
 * 8449. Nothing for the full 2^14. */
static void own_record_limits(const iotls_config *cfg, uint16_t *rsl, uint8_t *mfl)
{
    size_t size = cfg->max_record_plain;
    *rsl = 0;
    *mfl = 0;
    if (!IOTLS_FEATURE_RECORD_SIZE || size == 0 || size >= IOTLS_MAX_PLAINTEXT)
        return;
    *rsl = (uint16_t)(size + 1);
    for (uint8_t code = 1; code <= 4; code++)
        if (size == ((size_t)1 << (8 + code)))
            *mfl = code;
}

/* Writes, commits and flushes a ClientHello: the first one, or the second
 * after a HelloRetryRequest (same random and session id, the share for the
 * group the server chose, its cookie echoed). */
static int send_client_hello(iotls_conn *c, const uint8_t *cookie, size_t cookie_len)
{
    const iotls_config *cfg = c->cfg;
    struct iotls_client_state *s = &c->hs.cl;
    char sni[IOTLS_MAX_SERVER_NAME + 1];
    iotls_key_share_param share;
    iotls_client_hello_params p;

    share.group = s->share_group;
    share.key = s->share_pub;
    share.key_len = s->share_pub_len;

    memset(&p, 0, sizeof p);
    p.random = c->client_random;
    p.session_id = s->session_id;
    p.session_id_len = s->session_id_len;
    p.suites = cfg->suites;
    p.suite_count = cfg->suite_count;
    p.server_name = sni_to_send(c, sni);
    p.groups = cfg->groups;
    p.group_count = cfg->group_count;
    p.sig_algs = cfg->sig_algs;
    p.sig_alg_count = cfg->sig_alg_count;
    if (cfg->sig_alg_cert_count > 0) {
        p.sig_algs_cert = cfg->sig_algs_cert;
        p.sig_alg_cert_count = cfg->sig_alg_cert_count;
    }
    p.shares = &share;
    p.share_count = 1;
    if (IOTLS_FEATURE_ALPN && cfg->alpn_len > 0) {
        p.alpn = cfg->alpn;
        p.alpn_len = cfg->alpn_len;
    }
    p.cookie = cookie;
    p.cookie_len = cookie_len;
    own_record_limits(cfg, &p.record_size_limit, &p.max_fragment_length);
    /* Servers only issue tickets usable with a mode the client listed
     * (RFC 8446 4.2.9); ask for them when someone will receive them. */
    p.psk_dhe_ke =
        IOTLS_FEATURE_ANY_PSK && (cfg->ticket_cb != NULL || s->has_session || cfg->has_ext_psk);
    s->sni_sent = p.server_name != NULL;

    /* Resumption (RFC 8446 4.2.11): the saved ticket, or else the external
     * PSK, unless a HelloRetryRequest chose a suite of another hash. */
    iotls_psk_param psk;
    uint16_t suites[IOTLS_MAX_SUITES];
    const uint8_t *psk_key = NULL;
    size_t psk_key_len = 0;
    s->psk_offered = psk_to_offer(c, &psk_key, &psk_key_len, &s->psk_alg, &s->offered_ext_psk);
    iotls_hash_alg psk_alg = s->psk_alg;
    if (IOTLS_FEATURE_ANY_PSK && s->psk_offered) {
        if (!IOTLS_FEATURE_RESUMPTION || s->offered_ext_psk) {
            /* RFC 8446 4.2.11: 0 for identities not from a ticket. */
            psk.identity = cfg->ext_psk_identity;
            psk.identity_len = cfg->ext_psk_identity_len;
            psk.obfuscated_age = 0;
        } else {
            /* RFC 8446 4.2.11.1: the age since the ticket arrived. Both
             * times are whole milliseconds, so their difference can exceed
             * the real age by up to 1 ms; one less never does. A server
             * may refuse 0-RTT when our age is more than its own view
             * (GnuTLS does), and that view starts before ours. */
            uint64_t now = iotls__config_now_ms(cfg);
            uint64_t age_ms = now > s->session.received_ms ? now - s->session.received_ms - 1 : 0;
            psk.identity = s->session.ticket;
            psk.identity_len = s->session.ticket_len;
            psk.obfuscated_age = (uint32_t)age_ms + s->session.age_add; /* mod 2^32 */
        }
        psk.binder_len = iotls__hash_len(psk_alg);
        p.psks = &psk;
        p.psk_count = 1;
        p.psk_ke = cfg->psk_ke != 0;
        p.psk_dhe_ke = s->share_group != 0; /* IOTLS_PSK_KE_ONLY: no share, psk_ke alone */
        /* Suites of the PSK's hash first: a server that follows our order
         * (OpenSSL does) could otherwise pick one the PSK cannot go with. */
        size_t n = 0;
        for (size_t pass = 0; pass < 2; pass++)
            for (size_t i = 0; i < cfg->suite_count && n < IOTLS_MAX_SUITES; i++)
                if ((iotls__suite_hash(cfg->suites[i]) == psk_alg) == (pass == 0))
                    suites[n++] = cfg->suites[i];
        p.suites = suites;
        p.suite_count = n;
    }
    if (s->share_group == 0) {
        p.groups = NULL;
        p.group_count = 0;
        p.shares = NULL;
        p.share_count = 0;
    }
    /* 0-RTT (RFC 8446 4.2.10): only in the first ClientHello, with a
     * ticket that allows it, when the application has data for it (the
     * pending data is only read then: after a HelloRetryRequest its place
     * holds the cookie, client_state.h). */
    s->early_offered = IOTLS_FEATURE_EARLY_DATA && !c->hrr && s->hrr_suite == 0 && s->psk_offered &&
                       s->session.max_early_data > 0 && s->early_pending_len > 0;
    p.early_data = s->early_offered;

    iotls_writer w;
    size_t binders_offset = 0;
    iotls__conn_hs_writer(c, &w);
    uint8_t *msg = c->hs_out + c->hs_out_len; /* after the writer: hs_out may live in tx */
    int rc = iotls__client_hello_write(&w, &p, &binders_offset);
    if (rc == IOTLS_OK)
        rc = iotls__wr_error(&w);
    if (rc == IOTLS_OK && IOTLS_FEATURE_ANY_PSK && s->psk_offered) {
        /* binder = HMAC over the ClientHello up to the binders, with the
         * transcript before it (message_hash and HRR after a retry). */
        uint8_t hash[IOTLS_MAX_HASH_LEN];
        uint8_t binder_key[IOTLS_MAX_HASH_LEN];
        uint8_t binder[IOTLS_MAX_HASH_LEN];
        /* The early key schedule is the connection's own (the one
         * borrowing outside the scratch region, src/scratch.h): unused
         * until the ServerHello initializes it again, and a second key
         * schedule (480 B) on the stack would sit on the deepest path. */
        iotls_key_schedule *early = &c->ks;
        rc = iotls__transcript_hash_with(&c->transcript, psk_alg, msg, binders_offset, hash);
        if (rc == IOTLS_OK)
            rc = iotls__ks_init(early, psk_alg, psk_key, psk_key_len);
        if (rc == IOTLS_OK)
            rc = iotls__ks_binder_key(early, s->offered_ext_psk, binder_key);
        if (rc == IOTLS_OK)
            rc = iotls__finished_verify_data(psk_alg, binder_key, hash, binder);
        if (rc == IOTLS_OK)
            rc = iotls__client_hello_set_binder(msg, w.len, binders_offset, 0, binder,
                                                iotls__hash_len(psk_alg));
        /* client_early_traffic_secret from Hash(ClientHello), binders in. */
        int with_early = IOTLS_FEATURE_EARLY_DATA && s->early_offered;
        if (rc == IOTLS_OK && with_early)
            rc = iotls__transcript_hash_with(&c->transcript, psk_alg, msg, w.len, hash);
        if (rc == IOTLS_OK && with_early)
            rc = iotls__ks_early_traffic(early, hash);
        if (rc == IOTLS_OK && with_early)
            memcpy(s->early_traffic, early->client_early_traffic, iotls__hash_len(psk_alg));
        iotls__ks_wipe(early);
        iotls__wipe(binder_key, sizeof binder_key);
        iotls__wipe(binder, sizeof binder);
    }
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit(c, &w);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    return rc;
}

/* The one change_cipher_spec of middlebox compatibility mode (RFC 8446
 * D.4), sent right before our second flight: ClientHello2 or the encrypted
 * flight, whichever comes first. */
static int send_compat_ccs(iotls_conn *c)
{
    if (!c->cfg->middlebox_compat || c->ccs_sent)
        return IOTLS_OK;
    return iotls__conn_send_ccs(c);
}

/* Right after the first ClientHello: [CCS] (RFC 8446 D.4 puts it here
 * when early data follows), the early write keys, the early records. The
 * suite is not negotiated yet: the keys use the ticket's, which the server
 * must choose to accept them. */
static int start_early_data(iotls_conn *c)
{
    struct iotls_client_state *s = &c->hs.cl;
    int rc = send_compat_ccs(c);
    if (rc != IOTLS_OK)
        return rc;
    c->hash = iotls__suite_hash(s->session.suite);
    c->aead = iotls__suite_aead(s->session.suite);
    c->hash_len = iotls__hash_len(c->hash);
    iotls__conn_keylog(c, "CLIENT_EARLY_TRAFFIC_SECRET", s->early_traffic);
    rc = iotls__conn_set_write_secret(c, s->early_traffic, IOTLS_EPOCH_EARLY);
    if (rc == IOTLS_OK)
        rc = iotls__conn_send_early_records(c, s->early_pending, s->early_pending_len);
    if (rc == IOTLS_OK)
        c->early_bytes = (uint32_t)s->early_pending_len;
    return rc;
}

int iotls__client_start(iotls_conn *c)
{
    const iotls_config *cfg = c->cfg;
    struct iotls_client_state *s = &c->hs.cl;
    if (c->role != IOTLS_ROLE_CLIENT || s->state != IOTLS_CL_IDLE)
        return IOTLS_ERR_BAD_STATE;
    if (cfg->suite_count == 0 || cfg->group_count == 0 || cfg->sig_alg_count == 0)
        return IOTLS_ERR_CONFIG;

    int rc = iotls__random(c->client_random, sizeof c->client_random);
    if (rc != IOTLS_OK)
        return rc;
    s->session_id_len = 0;
    if (cfg->middlebox_compat) {
        rc = iotls__random(s->session_id, sizeof s->session_id);
        if (rc != IOTLS_OK)
            return rc;
        s->session_id_len = sizeof s->session_id;
    }
    /* A device without ECC (IOTLS_PSK_KE_ONLY) offering a PSK makes no
     * key share at all. */
    const uint8_t *key;
    size_t key_len;
    iotls_hash_alg alg;
    bool ext_psk;
    if (cfg->psk_ke != IOTLS_PSK_KE_ONLY || !psk_to_offer(c, &key, &key_len, &alg, &ext_psk)) {
        rc = make_share(c, cfg->groups[0]);
        if (rc != IOTLS_OK)
            return rc;
    }
    rc = send_client_hello(c, NULL, 0);
    if (rc != IOTLS_OK)
        return rc;
    s->state = IOTLS_CL_WAIT_SH;
    if (IOTLS_FEATURE_EARLY_DATA && s->early_offered) {
        rc = start_early_data(c);
        s->early_pending = NULL;
        s->early_pending_len = 0;
    }
    return rc;
}

/* HelloRetryRequest (RFC 8446 4.1.4): the common ServerHello checks are
 * done; sh is parsed from msg. Checks it and keeps what the second
 * ClientHello needs (the group, the cookie, the transcript with
 * message_hash); SEND_CH2 writes that ClientHello. */
static int on_hello_retry_request(iotls_conn *c, const uint8_t *msg, size_t len,
                                  const iotls_server_hello *sh)
{
    const iotls_config *cfg = c->cfg;
    struct iotls_client_state *s = &c->hs.cl;
    int has_group = (sh->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)) != 0;
    int has_cookie = (sh->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE)) != 0;

    /* Without a share of ours (IOTLS_PSK_KE_ONLY) our ClientHello had no
     * key_share or supported_groups to answer (RFC 8446 4.2). */
    if (has_group && s->share_group == 0)
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    if (has_group) {
        /* A group we did not offer, or the one we already sent a share
         * for, cannot help. */
        if (!u16_in(cfg->groups, cfg->group_count, sh->key_share_group) ||
            sh->key_share_group == s->share_group || !iotls__kex_supported(sh->key_share_group))
            return IOTLS_ERR_ILLEGAL_PARAMETER;
    }
    /* An HRR that would not change the ClientHello is illegal. */
    if (!has_group && (!has_cookie || sh->cookie.len == 0))
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    int rc = iotls__conn_set_suite(c, sh->cipher_suite);
    if (rc != IOTLS_OK)
        return rc;
    s->hrr_suite = sh->cipher_suite;
    /* Transcript: message_hash(ClientHello1) || HelloRetryRequest || ... */
    rc = iotls__transcript_hrr_substitute(&c->transcript);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc != IOTLS_OK)
        return rc;
    c->hrr = 1;
    if (IOTLS_FEATURE_EARLY_DATA && s->early_offered) {
        /* RFC 8446 4.2.10: early data is rejected by a HelloRetryRequest;
         * the second ClientHello goes out in the clear. */
        s->early_offered = 0;
        c->early_status = IOTLS_EARLY_DATA_REJECTED;
        iotls__record_cipher_free(&c->wr);
        c->wr_epoch = IOTLS_EPOCH_PLAIN;
    }
    iotls__conn_event(c, IOTLS_EV_HRR, IOTLS_HS_SERVER_HELLO, len,
                      has_group ? sh->key_share_group : s->share_group, NULL);

    /* A share for another group replaces ours: the old private key is of
     * no more use. A cookie-only HelloRetryRequest keeps it, sent again. */
    s->hrr_group = has_group ? sh->key_share_group : 0;
    if (has_group)
        drop_share(c);
    /* A view into msg: valid until SEND_CH2 has run (client_state.h). */
    s->hrr_cookie = has_cookie ? sh->cookie.p : NULL;
    s->hrr_cookie_len = has_cookie ? sh->cookie.len : 0;
    s->state = IOTLS_CL_SEND_CH2;
    return IOTLS_OK;
}

/* ServerHello or HelloRetryRequest (RFC 8446 4.1.3, 4.1.4). */
static int on_server_hello(iotls_conn *c, const uint8_t *msg, size_t len)
{
    const iotls_config *cfg = c->cfg;
    struct iotls_client_state *s = &c->hs.cl;
    /* The parser checks a hello without supported_versions (an older
     * server's, with TLS 1.2 extensions) for framing and duplicates only. */
    iotls_server_hello sh;
    int rc = iotls__server_hello_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &sh);
    if (rc != IOTLS_OK)
        return rc;
    if (!(sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS))) {
        /* The server chose TLS 1.2 or older. If it could do 1.3 (sentinel
         * present), someone in the middle removed our offer. */
        const uint8_t *tail = sh.random.p + 24;
        if (memcmp(tail, downgrade_tls12, 8) == 0 || memcmp(tail, downgrade_tls11, 8) == 0)
            return IOTLS_ERR_ILLEGAL_PARAMETER;
        return IOTLS_ERR_PROTOCOL_VERSION;
    }
    if (sh.is_hrr && c->hrr)
        return IOTLS_ERR_UNEXPECTED_MESSAGE; /* RFC 8446 4.1.4: a second HRR */
    /* Checks common to ServerHello and HelloRetryRequest. */
    if (sh.selected_version != IOTLS_TLS13)
        return IOTLS_ERR_ILLEGAL_PARAMETER; /* RFC 8446 4.2.1 */
    if (sh.legacy_version != IOTLS_TLS12)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sh.session_id_echo.len != s->session_id_len ||
        (s->session_id_len > 0 &&
         memcmp(sh.session_id_echo.p, s->session_id, s->session_id_len) != 0))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (!u16_in(cfg->suites, cfg->suite_count, sh.cipher_suite))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sh.compression_method != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sh.is_hrr)
        return on_hello_retry_request(c, msg, len, &sh);

    /* RFC 8446 4.1.4: the suite must not change after a HelloRetryRequest. */
    if (s->hrr_suite != 0 && sh.cipher_suite != s->hrr_suite)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    int resumed = (sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) != 0;
    int has_share = (sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)) != 0;
    if (resumed && (!IOTLS_FEATURE_ANY_PSK || !s->psk_offered))
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    /* RFC 8446 4.2.11: the one identity we sent, with a suite of its hash. */
    if (resumed && (sh.selected_identity != 0 || iotls__suite_hash(sh.cipher_suite) != s->psk_alg))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* Without a PSK the (EC)DHE share is the only way to keys; psk_ke only
     * when we offered it: a PSK selected without the key_share our
     * psk_dhe_ke asked for is inconsistent, illegal_parameter (RFC 8446
     * 4.2.11). */
    if (!has_share && !resumed)
        return IOTLS_ERR_MISSING_EXTENSION;
    if (!has_share && !cfg->psk_ke)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* A share answering a ClientHello that had none (IOTLS_PSK_KE_ONLY):
     * its group 0 would otherwise match our "no share". */
    if (has_share && s->share_group == 0)
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    if (has_share && sh.key_share_group != s->share_group)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    rc = iotls__conn_set_suite(c, sh.cipher_suite);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc != IOTLS_OK)
        return rc;

    uint8_t dhe[IOTLS_MAX_KEX_SECRET_LEN];
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    size_t dhe_len = 0;
    if (has_share)
        rc =
            iotls__kex_derive(&s->kex, sh.key_share.p, sh.key_share.len, dhe, sizeof dhe, &dhe_len);
    /* The private key has done its one job. */
    iotls__kex_free(&s->kex);
    const uint8_t *psk_key = NULL;
    size_t psk_len = 0;
    if (IOTLS_FEATURE_ANY_PSK && resumed) {
        psk_key = s->offered_ext_psk ? cfg->ext_psk : s->session.psk;
        psk_len = s->offered_ext_psk ? cfg->ext_psk_len : s->session.psk_len;
    }
    if (rc == IOTLS_OK)
        rc = iotls__ks_init(&c->ks, c->hash, psk_key, psk_len);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__ks_handshake(&c->ks, has_share ? dhe : NULL, dhe_len, hash);
    iotls__wipe(dhe, sizeof dhe);
    if (rc != IOTLS_OK)
        return rc;
    c->resumed = resumed && !s->offered_ext_psk;
    c->ext_psk = resumed && s->offered_ext_psk;
    if (resumed) /* a full handshake's certificate check sets it */
        c->peer_auth = s->offered_ext_psk ? IOTLS_PEER_AUTH_PSK : IOTLS_PEER_AUTH_RESUMED;
    c->group = has_share ? s->share_group : 0;
    iotls__conn_keylog(c, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", c->ks.client_hs_traffic);
    iotls__conn_keylog(c, "SERVER_HANDSHAKE_TRAFFIC_SECRET", c->ks.server_hs_traffic);
    /* Our write keys stay plaintext until our second flight: a CCS in
     * compatibility mode goes out unprotected before it. */
    rc = iotls__conn_set_read_secret(c, c->ks.server_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    if (rc != IOTLS_OK)
        return rc;
    s->state = IOTLS_CL_WAIT_EE;
    return IOTLS_OK;
}

/* 1 when name is one of the protocols we offered. */
static int alpn_offered(const iotls_config *cfg, iotls_bytes name)
{
    iotls_bytes list;
    iotls_bytes offered;
    size_t pos = 0;
    list.p = cfg->alpn;
    list.len = cfg->alpn_len;
    while (iotls__alpn_next(list, &pos, &offered))
        if (offered.len == name.len && memcmp(offered.p, name.p, name.len) == 0)
            return 1;
    return 0;
}

static int on_encrypted_extensions(iotls_conn *c, const uint8_t *msg, size_t len)
{
    const iotls_config *cfg = c->cfg;
    struct iotls_client_state *s = &c->hs.cl;
    iotls_encrypted_extensions ee;
    int rc = iotls__encrypted_extensions_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN,
                                               &ee);
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 8446 4.2: a response to an extension we did not send is
     * unsupported_extension. supported_groups may always come (informational,
     * and we sent ours). */
    uint32_t allowed = IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_GROUPS);
    if (s->sni_sent)
        allowed |= IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME);
    if (IOTLS_FEATURE_ALPN && cfg->alpn_len > 0)
        allowed |= IOTLS_EXT_BIT(IOTLS_EXTID_ALPN);
    if (IOTLS_FEATURE_EARLY_DATA && s->early_offered)
        allowed |= IOTLS_EXT_BIT(IOTLS_EXTID_EARLY_DATA);
    uint16_t rsl_sent;
    uint8_t mfl_sent;
    own_record_limits(cfg, &rsl_sent, &mfl_sent);
    if (rsl_sent != 0)
        allowed |= IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT);
    if (mfl_sent != 0)
        allowed |= IOTLS_EXT_BIT(IOTLS_EXTID_MAX_FRAGMENT_LENGTH);
    if ((ee.exts_seen & ~allowed) != 0)
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    if (IOTLS_FEATURE_EARLY_DATA && s->early_offered) {
        /* Accepted 0-RTT means our first PSK and the ticket's suite
         * (RFC 8446 4.2.10); otherwise the early data was dropped. */
        if (ee.early_data && (!c->resumed || c->suite != s->session.suite))
            return IOTLS_ERR_ILLEGAL_PARAMETER;
        c->early_status = ee.early_data ? IOTLS_EARLY_DATA_ACCEPTED : IOTLS_EARLY_DATA_REJECTED;
    }
    /* The server's limits on what we send: record_size_limit counts the
     * content type byte (RFC 8449 4; above 2^14 + 1 means no limit); a
     * max_fragment_length answer must echo ours (RFC 6066 4). Should a
     * server send both, both are kept. */
    if (IOTLS_FEATURE_RECORD_SIZE &&
        (ee.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT))) {
        size_t limit = (size_t)ee.record_size_limit - 1;
        if (limit < c->max_record_out)
            c->max_record_out = limit;
    }
    if (IOTLS_FEATURE_RECORD_SIZE &&
        (ee.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_MAX_FRAGMENT_LENGTH))) {
        if (ee.max_fragment_length != mfl_sent)
            return IOTLS_ERR_ILLEGAL_PARAMETER;
        size_t limit = (size_t)1 << (8 + ee.max_fragment_length);
        if (limit < c->max_record_out)
            c->max_record_out = limit;
    }
    if (IOTLS_FEATURE_ALPN && (ee.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN))) {
        if (ee.alpn.len == 0 || ee.alpn.len >= c->alpn_cap || !alpn_offered(cfg, ee.alpn))
            return IOTLS_ERR_ILLEGAL_PARAMETER;
        memcpy(c->alpn, ee.alpn.p, ee.alpn.len);
        c->alpn[ee.alpn.len] = '\0';
    }
    rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc != IOTLS_OK)
        return rc;
    /* A PSK handshake (resumed or external) is authenticated by the PSK:
     * Finished is next. */
    s->state = c->resumed || c->ext_psk ? IOTLS_CL_WAIT_FINISHED : IOTLS_CL_WAIT_CERT_CR;
    return IOTLS_OK;
}

/* The configuration whose certificate and key we present. */
static const iotls_config *own_cert_cfg(const iotls_conn *c)
{
    return c->cert_cfg != NULL ? c->cert_cfg : c->cfg;
}

static int on_certificate_request(iotls_conn *c, const uint8_t *msg, size_t len)
{
    const iotls_config *cfg = c->cfg;
    const iotls_config *own = own_cert_cfg(c);
    struct iotls_client_state *s = &c->hs.cl;
    iotls_certificate_request cr;
    int rc =
        iotls__certificate_request_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cr);
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 8446 4.3.2: zero length except in post-handshake authentication. */
    if (cr.context.len != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    s->cert_requested = 1;
    /* Our preference order, limited to what the server accepts and our key
     * can do; none means we answer with an empty Certificate. */
    s->client_sig_scheme = 0;
    if (IOTLS_FEATURE_CLIENT_AUTH && own->has_cert) {
        for (size_t i = 0; i < cfg->sig_alg_count; i++) {
            uint16_t scheme = cfg->sig_algs[i];
            if (!is_pkcs1_scheme(scheme) &&
                iotls__u16_list_contains(cr.signature_algorithms, scheme) &&
                iotls__pkey_can_sign(&own->key, scheme)) {
                s->client_sig_scheme = scheme;
                break;
            }
        }
    }
    rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc != IOTLS_OK)
        return rc;
    s->state = IOTLS_CL_WAIT_CERT;
    return IOTLS_OK;
}

/* Takes the chain into c->peer_chain; verify_server_chain checks it once
 * this frame, with the message's parse state, is gone (the table's then). */
static int on_certificate(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_certificate cert;
    int rc = iotls__certificate_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cert);
    if (rc != IOTLS_OK)
        return rc;
    if (cert.context.len != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER; /* RFC 8446 4.4.2: empty in the handshake */
    if (cert.count == 0)
        return IOTLS_ERR_DECODE; /* RFC 8446 4.4.2.4 */
    if (cert.count > IOTLS_MAX_PEER_CHAIN)
        return IOTLS_ERR_BAD_CERTIFICATE; /* well-formed, but more than we parse */

    iotls_bytes der;
    size_t pos = 0;
    while (iotls__certificate_next(cert.certificate_list, &pos, &der)) {
        rc = iotls__x509_add_der(&c->peer_chain, der.p, der.len);
        if (rc != IOTLS_OK)
            return rc == IOTLS_ERR_NO_MEMORY ? rc : IOTLS_ERR_BAD_CERTIFICATE;
    }
    c->peer_cert_presented = 1;
    return iotls__transcript_update(&c->transcript, msg, len);
}

static int verify_server_chain(iotls_conn *c)
{
    int rc = iotls__conn_verify_peer_chain(c, 1);
    if (rc != IOTLS_OK)
        return rc;
    c->hs.cl.state = IOTLS_CL_WAIT_CV;
    return IOTLS_OK;
}

static int on_certificate_verify(iotls_conn *c, const uint8_t *msg, size_t len)
{
    const iotls_config *cfg = c->cfg;
    iotls_certificate_verify cv;
    int rc =
        iotls__certificate_verify_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cv);
    if (rc != IOTLS_OK)
        return rc;
    /* Only a scheme we offered, never PKCS#1 v1.5 (RFC 8446 4.4.3), and one
     * that fits the leaf's key. */
    if (!u16_in(cfg->sig_algs, cfg->sig_alg_count, cv.scheme) || is_pkcs1_scheme(cv.scheme) ||
        !iotls__x509_key_fits(&c->peer_chain, cv.scheme))
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t content[64 + 34 + IOTLS_MAX_HASH_LEN];
    size_t content_len = 0;
    rc = iotls__transcript_hash(&c->transcript, hash); /* ClientHello..Certificate */
    if (rc == IOTLS_OK)
        rc = iotls__certificate_verify_content(1, hash, c->hash_len, content, sizeof content,
                                               &content_len);
    if (rc == IOTLS_OK)
        rc = iotls__x509_verify_signature(&c->peer_chain, cv.scheme, content, content_len,
                                          cv.signature.p, cv.signature.len);
    if (rc != IOTLS_OK)
        return rc;
    c->peer_sig_scheme = cv.scheme;
    rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc != IOTLS_OK)
        return rc;
    c->hs.cl.state = IOTLS_CL_WAIT_FINISHED;
    return IOTLS_OK;
}

/* ---------------- send states ----------------
 * The second ClientHello after a HelloRetryRequest, and after the server's
 * Finished each sending step of our second flight, is a state: its step
 * writes one message and moves the state on, and conn.c's advance loop
 * runs them one after the other, each returning before the next starts. */

/* After a HelloRetryRequest: [CCS] (RFC 8446 D.4) and the second
 * ClientHello, with a new share when the server asked for another group
 * (its key generation under this step, not under the HelloRetryRequest's
 * handler). A run again finds the share made and the CCS sent, and writes
 * the same message. */
static int send_client_hello2(iotls_conn *c)
{
    struct iotls_client_state *s = &c->hs.cl;
    int rc = IOTLS_OK;
    if (s->hrr_group != 0 && s->share_group != s->hrr_group)
        rc = make_share(c, s->hrr_group);
    if (rc == IOTLS_OK)
        rc = send_compat_ccs(c);
    if (rc == IOTLS_OK)
        rc = send_client_hello(c, s->hrr_cookie, s->hrr_cookie_len);
    if (rc != IOTLS_OK)
        return rc;
    /* The cookie's view ends with this record's turn. */
    s->hrr_cookie = NULL;
    s->hrr_cookie_len = 0;
    s->state = IOTLS_CL_WAIT_SH;
    return IOTLS_OK;
}

/* EndOfEarlyData (0-RTT accepted): under the early keys, sealed. */
static int send_end_of_early_data(iotls_conn *c)
{
    if (!IOTLS_FEATURE_EARLY_DATA)
        return IOTLS_ERR_INTERNAL; /* never entered: built without 0-RTT */
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    int rc = iotls__end_of_early_data_write(&w);
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit(c, &w);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    if (rc == IOTLS_OK)
        c->hs.cl.state = IOTLS_CL_SEND_CCS;
    return rc;
}

/* [CCS] (middlebox compatibility, unless ClientHello2 had it), then the
 * handshake write keys for the rest of the flight. */
static int send_ccs(iotls_conn *c)
{
    int rc = send_compat_ccs(c);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_write_secret(c, c->ks.client_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    if (rc == IOTLS_OK)
        c->hs.cl.state = c->hs.cl.cert_requested ? IOTLS_CL_SEND_CERT : IOTLS_CL_SEND_FINISHED;
    return rc;
}

/* Our Certificate in answer to a CertificateRequest: all of our chain, or
 * empty; sealed on its own (a long chain may fill hs_out). */
static int send_certificate(iotls_conn *c)
{
    const iotls_config *own = own_cert_cfg(c);
    const uint8_t *ders[CLIENT_MAX_CHAIN];
    size_t der_lens[CLIENT_MAX_CHAIN];
    size_t count = 0;
    if (IOTLS_FEATURE_CLIENT_AUTH && c->hs.cl.client_sig_scheme != 0) {
        count = iotls__x509_count(&own->cert);
        if (count == 0 || count > CLIENT_MAX_CHAIN)
            return IOTLS_ERR_CONFIG;
        for (size_t i = 0; i < count; i++) {
            int rc = iotls__x509_der(&own->cert, i, &ders[i], &der_lens[i]);
            if (rc != IOTLS_OK)
                return rc;
        }
    }
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    int rc = iotls__certificate_write(&w, NULL, 0, ders, der_lens, count);
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit(c, &w);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    if (rc == IOTLS_OK)
        c->hs.cl.state =
            IOTLS_FEATURE_CLIENT_AUTH && count > 0 ? IOTLS_CL_SEND_CV : IOTLS_CL_SEND_FINISHED;
    return rc;
}

/* Our CertificateVerify, over the transcript up to our Certificate: the
 * deepest call of a client's handshake, the signature (docs/stack.md),
 * under this small frame and the dispatcher only. */
static int send_certificate_verify(iotls_conn *c)
{
    if (!IOTLS_FEATURE_CLIENT_AUTH)
        return IOTLS_ERR_INTERNAL; /* never entered: built without client certificates */
    struct iotls_client_state *s = &c->hs.cl;
    /* The provider's sign call takes a mutable key (mbedTLS updates RSA
     * blinding values inside it); the configuration is otherwise untouched. */
    int rc = iotls__conn_send_certificate_verify(c, (iotls_pkey *)&own_cert_cfg(c)->key,
                                                 s->client_sig_scheme, 0);
    if (rc != IOTLS_OK)
        return rc;
    c->own_sig_scheme = s->client_sig_scheme;
    c->client_auth = 1;
    s->state = IOTLS_CL_SEND_FINISHED;
    return IOTLS_OK;
}

/* Our Finished, sealed, the resumption secret and the application write
 * keys: the handshake is complete. */
static int send_finished(iotls_conn *c)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t verify_data[IOTLS_MAX_HASH_LEN];
    iotls_writer w;
    int rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__finished_verify_data(c->hash, c->ks.client_hs_traffic, hash, verify_data);
    if (rc == IOTLS_OK) {
        iotls__conn_hs_writer(c, &w);
        rc = iotls__finished_write(&w, verify_data, c->hash_len);
    }
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit(c, &w);
    iotls__wipe(verify_data, sizeof verify_data);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    /* The resumption secret is only for tickets. */
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls__transcript_hash(&c->transcript, hash); /* ClientHello..client Finished */
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls__ks_resumption(&c->ks, hash);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_write_secret(c, c->ks.client_app_traffic, IOTLS_EPOCH_APPLICATION);
    if (rc == IOTLS_OK) {
        c->hs.cl.state = IOTLS_CL_CONNECTED;
        iotls__conn_handshake_complete(c);
    }
    return rc;
}

/* The server's Finished against our own computation. */
static int check_server_finished(iotls_conn *c, const uint8_t *verify_data)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t expected[IOTLS_MAX_HASH_LEN];
    int rc = iotls__transcript_hash(&c->transcript, hash); /* ..CertificateVerify */
    if (rc == IOTLS_OK)
        rc = iotls__finished_verify_data(c->hash, c->ks.server_hs_traffic, hash, expected);
    if (rc == IOTLS_OK && iotls__ct_memcmp(expected, verify_data, c->hash_len) != 0)
        rc = IOTLS_ERR_DECRYPT_ERROR;
    iotls__wipe(expected, sizeof expected);
    return rc;
}

static int on_server_finished(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_bytes verify_data;
    int rc = iotls__finished_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN,
                                   c->hash_len, &verify_data);
    if (rc != IOTLS_OK)
        return rc;

    rc = check_server_finished(c, verify_data.p);
    if (rc != IOTLS_OK)
        return rc;

    rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK)
        rc = iotls__conn_derive_master(c); /* over ClientHello..server Finished */
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls__conn_set_read_secret(c, c->ks.server_app_traffic, IOTLS_EPOCH_APPLICATION);
    /* Our second flight: the send states, from [EndOfEarlyData] on. */
    if (rc == IOTLS_OK)
        c->hs.cl.state = IOTLS_FEATURE_EARLY_DATA && c->early_status == IOTLS_EARLY_DATA_ACCEPTED
                             ? IOTLS_CL_SEND_EOED
                             : IOTLS_CL_SEND_CCS;
    return rc;
}

/* The messages each state accepts, and the read epoch they must arrive in
 * (ServerHello in the clear, the rest under the handshake keys). */
static const iotls_hs_transition transitions[] = {
    {IOTLS_CL_WAIT_SH, IOTLS_HS_SERVER_HELLO, IOTLS_EPOCH_PLAIN, on_server_hello, NULL},
    {IOTLS_CL_WAIT_EE, IOTLS_HS_ENCRYPTED_EXTENSIONS, IOTLS_EPOCH_HANDSHAKE,
     on_encrypted_extensions, NULL},
    /* Without a PSK the server must authenticate with a certificate:
     * CertificateVerify or Finished here is unexpected_message. */
    {IOTLS_CL_WAIT_CERT_CR, IOTLS_HS_CERTIFICATE_REQUEST, IOTLS_EPOCH_HANDSHAKE,
     on_certificate_request, NULL},
    {IOTLS_CL_WAIT_CERT_CR, IOTLS_HS_CERTIFICATE, IOTLS_EPOCH_HANDSHAKE, on_certificate,
     verify_server_chain},
    {IOTLS_CL_WAIT_CERT, IOTLS_HS_CERTIFICATE, IOTLS_EPOCH_HANDSHAKE, on_certificate,
     verify_server_chain},
    {IOTLS_CL_WAIT_CV, IOTLS_HS_CERTIFICATE_VERIFY, IOTLS_EPOCH_HANDSHAKE, on_certificate_verify,
     NULL},
    {IOTLS_CL_WAIT_FINISHED, IOTLS_HS_FINISHED, IOTLS_EPOCH_HANDSHAKE, on_server_finished, NULL},
};

void iotls__client_fail(iotls_conn *c)
{
    c->hs.cl.state = IOTLS_CL_FAILED;
    iotls__client_wipe(c);
}

int iotls__client_handle(iotls_conn *c, uint8_t hs_type, const uint8_t *msg, size_t len)
{
    if (!c || !msg || len < IOTLS_HS_HEADER_LEN || msg[0] != hs_type)
        return IOTLS_ERR_INTERNAL;
    if (c->hs.cl.state == IOTLS_CL_FAILED)
        return IOTLS_ERR_FAILED;
    int rc = IOTLS_ERR_UNEXPECTED_MESSAGE;
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        if (transitions[i].state == c->hs.cl.state && transitions[i].hs_type == hs_type &&
            transitions[i].epoch == c->rd_epoch) {
            rc = transitions[i].handler(c, msg, len);
            if (rc == IOTLS_OK && transitions[i].then != NULL)
                rc = transitions[i].then(c);
            break;
        }
    }
    if (rc != IOTLS_OK)
        iotls__client_fail(c);
    return rc;
}

/* The states that send, each with its step (the send states above). */
static const iotls_send_state send_states[] = {
    {IOTLS_CL_SEND_CH2, send_client_hello2},
    {IOTLS_CL_SEND_EOED, send_end_of_early_data},
    {IOTLS_CL_SEND_CCS, send_ccs},
    {IOTLS_CL_SEND_CERT, send_certificate},
    {IOTLS_CL_SEND_CV, send_certificate_verify},
    {IOTLS_CL_SEND_FINISHED, send_finished},
};

int iotls__client_step(iotls_conn *c)
{
    for (size_t i = 0; i < sizeof send_states / sizeof send_states[0]; i++)
        if (send_states[i].state == c->hs.cl.state)
            return send_states[i].step(c);
    return IOTLS__NO_SEND_STATE;
}

int iotls__client_on_ticket(iotls_conn *c, const uint8_t *body, size_t len)
{
    const iotls_config *cfg = c->cfg;
    if (c->hs.cl.state != IOTLS_CL_CONNECTED)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    if (!IOTLS_FEATURE_RESUMPTION)
        return IOTLS_OK; /* no resumption built in: tickets are dropped unread */
    iotls_new_session_ticket nst;
    int rc = iotls__new_session_ticket_parse(body, len, &nst);
    if (rc != IOTLS_OK)
        return rc;
    if (cfg->ticket_cb == NULL)
        return IOTLS_OK; /* nobody keeps sessions: a ticket is just dropped */

    uint8_t psk[IOTLS_MAX_HASH_LEN];
    rc = iotls__resumption_psk(c->hash, c->ks.resumption_master, nst.nonce.p, nst.nonce.len, psk);
    if (rc == IOTLS_OK) {
        iotls_ticket t;
        t.lifetime = nst.lifetime;
        t.age_add = nst.age_add;
        t.max_early_data = nst.max_early_data;
        t.cipher_suite = c->suite;
        t.ticket = nst.ticket.p;
        t.ticket_len = nst.ticket.len;
        t.psk = psk;
        t.psk_len = c->hash_len;
        t.received_ms = iotls__config_now_ms(cfg);
        t.server_name = c->server_name;
        cfg->ticket_cb(cfg->ticket_arg, c, &t);
    }
    iotls__wipe(psk, sizeof psk);
    return rc;
}

int iotls_conn_borrow_session(iotls_conn *c, const uint8_t *blob, size_t len)
{
    return iotls_conn_borrow_session_keyed(c, blob, len, NULL, 0);
}

int iotls_conn_borrow_session_keyed(iotls_conn *c, const uint8_t *blob, size_t len,
                                    const uint8_t *key, size_t key_len)
{
    if (!IOTLS_FEATURE_RESUMPTION)
        return IOTLS_ERR_UNSUPPORTED;
    if (!c || c->role != IOTLS_ROLE_CLIENT || c->hs.cl.state != IOTLS_CL_IDLE)
        return IOTLS_ERR_BAD_STATE;
    if (key == NULL && key_len > 0)
        return IOTLS_ERR_BAD_ARG;
    struct iotls_client_state *s = &c->hs.cl;
    s->has_session = 0;
    /* The key only checks the trailer here: the connection keeps the
     * fields it needs and references the rest of the blob, not the key. */
    int rc = iotls__session_ref_parse(&s->session, key, key_len, blob, len,
                                      iotls__config_now_ms(c->cfg));
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 8446 4.6.1 / 4.2.11: only with the server it came from, and a
     * suite we still offer; and a ticket our ClientHello has room for. */
    if (s->session.server_name_len != strlen(c->server_name) ||
        memcmp(s->session.server_name, c->server_name, s->session.server_name_len) != 0 ||
        !u16_in(c->cfg->suites, c->cfg->suite_count, s->session.suite) ||
        s->session.ticket_len > iotls__session_ticket_room(c->cfg)) {
        iotls__wipe(&s->session, sizeof s->session);
        return IOTLS_ERR_SESSION_INVALID;
    }
    s->has_session = 1;
    return IOTLS_OK;
}

int iotls_conn_write_early(iotls_conn *c, const uint8_t *data, size_t len)
{
    if (!IOTLS_FEATURE_EARLY_DATA)
        return IOTLS_ERR_UNSUPPORTED;
    if (!c || c->role != IOTLS_ROLE_CLIENT)
        return IOTLS_ERR_BAD_STATE;
    if (c->error != IOTLS_OK)
        return c->error;
    struct iotls_client_state *s = &c->hs.cl;
    if (!s->has_session || s->session.max_early_data == 0)
        return IOTLS_ERR_BAD_STATE;
    if (len == 0 || (data == NULL))
        return IOTLS_ERR_BAD_ARG;
    if (s->state == IOTLS_CL_IDLE) {
        if (len > s->session.max_early_data)
            return IOTLS_ERR_BAD_ARG;
        s->early_pending = data;
        s->early_pending_len = len;
        return IOTLS_OK;
    }
    /* After the start: only while the early keys are ours to use. */
    if (s->state != IOTLS_CL_WAIT_SH || !s->early_offered || c->wr_epoch != IOTLS_EPOCH_EARLY)
        return IOTLS_ERR_BAD_STATE;
    if (len > s->session.max_early_data - c->early_bytes)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__conn_send_early_records(c, data, len);
    if (rc == IOTLS_OK)
        c->early_bytes += (uint32_t)len;
    return rc;
}

size_t iotls_conn_early_room(const iotls_conn *c)
{
    if (!IOTLS_FEATURE_EARLY_DATA || !c || c->role != IOTLS_ROLE_CLIENT || c->error != IOTLS_OK)
        return 0;
    const struct iotls_client_state *s = &c->hs.cl;
    if (!s->has_session || s->session.max_early_data == 0)
        return 0;
    size_t fit;
    uint32_t left;
    if (s->state == IOTLS_CL_IDLE) {
        /* Sealed at the start behind the ClientHello and the CCS: tx less
         * the longest ClientHello this configuration sends (in plaintext
         * records), whatever the actual one turns out to be. */
        size_t hello = iotls__conn_client_hello_room(c->cfg);
        hello += (hello + c->max_record_out - 1) / c->max_record_out * IOTLS_RECORD_HEADER_LEN + 6;
        fit = c->tx_cap > hello ? iotls__conn_early_fit(c, c->tx_cap - hello) : 0;
        left = s->session.max_early_data;
    } else {
        if (s->state != IOTLS_CL_WAIT_SH || !s->early_offered || c->wr_epoch != IOTLS_EPOCH_EARLY ||
            c->hs_out_len > 0)
            return 0;
        /* What iotls_conn_output_consume would compact away is free too. */
        fit = iotls__conn_early_fit(c, c->tx_cap - (c->tx_len - c->tx_pos));
        left = s->session.max_early_data - c->early_bytes;
    }
    return fit < left ? fit : left;
}

void iotls__client_wipe(iotls_conn *c)
{
    /* The phase survives: it is no secret, and the state machine must keep
     * refusing messages after a failure or accept tickets after success. */
    int state = c->hs.cl.state;
    iotls__kex_free(&c->hs.cl.kex);
    iotls__wipe(&c->hs.cl, sizeof c->hs.cl);
    c->hs.cl.state = state;
}
