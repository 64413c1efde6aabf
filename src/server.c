/* The TLS 1.3 server handshake (RFC 8446 section 2, 4), sans I/O.
 *
 *   WAIT_CH --ClientHello--+--send HelloRetryRequest [CCS]--> WAIT_CH2
 *                          |                                      |
 *                          |<-------------ClientHello-------------+
 *                          | send ServerHello [CCS] {EncryptedExtensions}
 *                          |      [{CertificateRequest}]
 *                          v
 *                     FLIGHT_REST: send [{Certificate} {CertificateVerify}]
 *                          |       {Finished} (no certificate when a PSK
 *                          |       authenticates); accepts nothing
 *        +-----------------+------------------+
 *        | 0-RTT accepted  | we asked for a   | otherwise
 *        v                 v certificate      |
 *    WAIT_EOED         WAIT_CERT --Certificate--> WAIT_CV
 *        |                 | (empty, optional)        |
 *        | EndOfEarlyData  v                          | CertificateVerify
 *        +------------> WAIT_FINISHED <---------------+
 *                          |
 *                          | Finished: send {NewSessionTicket} x N
 *                          v
 *                        DONE          any error: FAILED, which accepts nothing
 *
 * conn.c hands every whole handshake message here. The message type is
 * checked against the state (table "transitions") before anything is
 * parsed, so a message out of order never reaches a parser. Received
 * messages are added to the transcript here, after the values that need the
 * hash before them (CertificateVerify, Finished) are computed; messages we
 * send are added by iotls_conn_hs_commit.
 *
 * Resumption: after the handshake we send cfg->ticket_count stateless
 * NewSessionTickets (the resumption PSK sealed under the current rotation
 * period's ticket key, derived from the config's ticket master: ticket.c),
 * and a ClientHello offering one of them with a valid binder resumes (no
 * Certificate, CertificateVerify or CertificateRequest). That holds for the
 * second ClientHello after a HelloRetryRequest too (RFC 8446 4.1.4: the
 * client offers the PSK again, its binder over the transcript rebuilt from
 * the cookie: cookie.c). A ticket we cannot open or use is ignored (full
 * handshake). The external PSK is selected the same way (select_psk).
 *
 * 0-RTT (RFC 8446 4.2.10): with cfg->max_early_data the tickets allow early
 * data, and early_data in a resumed first ClientHello is accepted by the
 * policy in early_data_policy(); the read keys are then the client's early
 * traffic keys until EndOfEarlyData (state WAIT_EOED), and conn.c hands the
 * early application data to the application. Declined early data is
 * skipped by conn.c while c->skip_early_data is set. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "cookie.h"
#include "iotls/error.h"
#include "msg/msg.h"
#include "ticket.h"

/* Bytes of declined 0-RTT records skipped before giving up: the 16 KiB
 * OpenSSL and others allow by default, plus record overhead. */
#define EARLY_SKIP_BUDGET (16384u + 4096u)

/* Certificates we put in one Certificate message. */
#define MAX_OWN_CHAIN 16

/* What the ClientHello negotiation decided. */
typedef struct {
    uint16_t suite;
    uint16_t group;
    iotls_bytes share;              /* the client's key share for group; len 0: send HRR */
    uint16_t sig_scheme;            /* for our CertificateVerify */
    iotls_bytes alpn;               /* selected protocol; len 0: none */
    int resumed;                    /* a PSK was accepted: a ticket's or the external one */
    int external;                   /* ... the external PSK */
    int psk_ke;                     /* ... without (EC)DHE: group 0 */
    uint16_t identity;              /* its index in the client's list */
    uint8_t psk[IOTLS_MAX_EXT_PSK]; /* a ticket's (HashLen) or the external one */
    size_t psk_len;
    /* What the selected ticket says about 0-RTT. */
    uint32_t ticket_max_early;
    uint16_t ticket_suite;
    int ticket_age_ok;
    uint8_t ticket_alpn[256]; /* NUL-ended protocol of the issuing connection */
    uint8_t binder_hash[32];  /* SHA-256 of the selected ticket: the replay key */
} sv_choice;

static const iotls_config *cert_config(const iotls_conn *c)
{
    return c->cert_cfg ? c->cert_cfg : c->cfg;
}

static int has_ext(const iotls_client_hello *ch, enum iotls_ext_id id)
{
    return (ch->exts_seen & IOTLS_EXT_BIT(id)) != 0;
}

/* ---------------- writing messages ---------------- */

typedef int (*sv_write_fn)(iotls_conn *c, iotls_writer *w, const void *arg);

/* Writes one message into hs_out and commits it. When it does not fit
 * behind messages already queued, those are sealed first and the message
 * is written again at the start of the then empty buffer. */
static int send_message(iotls_conn *c, sv_write_fn write_fn, const void *arg)
{
    for (int attempt = 0;; attempt++) {
        iotls_writer w;
        iotls_conn_hs_writer(c, &w);
        int rc = write_fn(c, &w, arg);
        if (rc == IOTLS_OK)
            rc = iotls_wr_error(&w);
        rc = iotls_conn_retry_in_empty_hs_out(c, rc, attempt);
        if (rc == IOTLS_CONN_RETRY)
            continue;
        if (rc != IOTLS_OK)
            return rc;
        return iotls_conn_hs_commit(c, &w);
    }
}

static int write_server_hello(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    return iotls_server_hello_write(w, (const iotls_server_hello_params *)arg);
}

static int write_encrypted_extensions(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    return iotls_encrypted_extensions_write(w, (const iotls_encrypted_extensions_params *)arg);
}

static int write_certificate_request(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)arg;
    /* RFC 8446 4.3.2: the context is empty in the main handshake. */
    return iotls_certificate_request_write(w, NULL, 0, c->cfg->sig_algs, c->cfg->sig_alg_count);
}

typedef struct {
    const uint8_t *ders[MAX_OWN_CHAIN];
    size_t lens[MAX_OWN_CHAIN];
    size_t count;
} own_chain;

static int write_certificate(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    const own_chain *chain = (const own_chain *)arg;
    return iotls_certificate_write(w, NULL, 0, chain->ders, chain->lens, chain->count);
}

static int write_finished(iotls_conn *c, iotls_writer *w, const void *arg)
{
    return iotls_finished_write(w, (const uint8_t *)arg, c->hash_len);
}

/* ---------------- ClientHello checks ---------------- */

/* Checks every ClientHello must pass, before anything is negotiated. */
static int check_client_hello(const iotls_client_hello *ch)
{
    /* RFC 8446 4.2.1: only supported_versions decides the version. Without
     * it the client speaks TLS 1.2 or older, which we do not. */
    if (!has_ext(ch, IOTLS_EXTID_SUPPORTED_VERSIONS) ||
        !iotls_u16_list_contains(ch->supported_versions, IOTLS_TLS13))
        return IOTLS_ERR_PROTOCOL_VERSION;
    /* legacy_version: RFC 8446 D.5 demands protocol_version for 0x0300 or
     * less (SSL 3.0 and below). Anything else than 0x0303 next to a
     * supported_versions offering TLS 1.3 breaks 4.1.2's "MUST be set to
     * 0x0303": a malformed TLS 1.3 ClientHello, so illegal_parameter (the
     * field is not used for negotiation, 4.2.1, so protocol_version would
     * misdescribe it). */
    if ((ch->legacy_version >> 8) != 0x03 || ch->legacy_version <= 0x0300)
        return IOTLS_ERR_PROTOCOL_VERSION;
    if (ch->legacy_version != IOTLS_TLS12)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* RFC 8446 4.1.2: exactly one compression method, null. */
    if (ch->compression_methods.len != 1 || ch->compression_methods.p[0] != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    /* RFC 8446 9.2 mandatory-to-implement extensions. signature_algorithms
     * is not among them here: it is required only when we authenticate with
     * a certificate (4.2.3, 9.2), which a PSK handshake does not, so a
     * client without ECC may leave it out (pick_sig_scheme checks it). */
    int has_psk = has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY);
    int has_groups = has_ext(ch, IOTLS_EXTID_SUPPORTED_GROUPS);
    int has_shares = has_ext(ch, IOTLS_EXTID_KEY_SHARE);
    if (has_psk && !has_ext(ch, IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (!has_psk && !has_ext(ch, IOTLS_EXTID_SIGNATURE_ALGORITHMS))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (!has_psk && (!has_groups || !has_shares))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (has_groups != has_shares)
        return IOTLS_ERR_MISSING_EXTENSION;

    /* RFC 8446 4.2.8: no share for a group the client does not list. */
    size_t pos = 0;
    iotls_key_share_entry entry;
    while (iotls_key_share_next(ch->key_shares, &pos, &entry))
        if (!iotls_u16_list_contains(ch->supported_groups, entry.group))
            return IOTLS_ERR_ILLEGAL_PARAMETER;
    return IOTLS_OK;
}

/* ---------------- negotiation ---------------- */

static int suite_ok(const iotls_config *cfg, uint16_t suite)
{
    for (size_t i = 0; i < cfg->suite_count; i++)
        if (cfg->suites[i] == suite)
            return iotls_suite_hash(suite) != IOTLS_HASH_NONE;
    return 0;
}

static int group_ok(const iotls_config *cfg, uint16_t group)
{
    for (size_t i = 0; i < cfg->group_count; i++)
        if (cfg->groups[i] == group)
            return iotls_kex_supported(group);
    return 0;
}

/* Our preference: the first of our suites the client offers (of hash
 * alg, unless IOTLS_HASH_NONE). */
static uint16_t pick_suite_of(const iotls_config *cfg, const iotls_client_hello *ch,
                              iotls_hash_alg alg)
{
    for (size_t i = 0; i < cfg->suite_count; i++)
        if (iotls_suite_hash(cfg->suites[i]) != IOTLS_HASH_NONE &&
            (alg == IOTLS_HASH_NONE || iotls_suite_hash(cfg->suites[i]) == alg) &&
            iotls_u16_list_contains(ch->cipher_suites, cfg->suites[i]))
            return cfg->suites[i];
    return 0;
}

static uint16_t pick_suite(const iotls_config *cfg, const iotls_client_hello *ch)
{
    return pick_suite_of(cfg, ch, IOTLS_HASH_NONE);
}

/* 1 when identity is our external PSK's. Compared in constant time (the
 * length is no secret: it shows on the wire). */
static int is_ext_psk_identity(const iotls_config *cfg, iotls_bytes identity)
{
    return IOTLS_FEATURE_EXT_PSK && cfg->has_ext_psk && identity.len == cfg->ext_psk_identity_len &&
           iotls_ct_memcmp(identity.p, cfg->ext_psk_identity, identity.len) == 0;
}

/* 1 when the client lists our external PSK's identity. */
static int ext_psk_offered(const iotls_config *cfg, const iotls_client_hello *ch)
{
    size_t pos = 0;
    iotls_bytes identity;
    uint32_t age;
    int found = 0;
    if (!IOTLS_FEATURE_EXT_PSK || !cfg->has_ext_psk || !has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY))
        return 0;
    while (iotls_psk_identity_next(ch->psk_identities, &pos, &identity, &age))
        found |= is_ext_psk_identity(cfg, identity);
    return found;
}

static int find_share(const iotls_client_hello *ch, uint16_t group, iotls_bytes *share)
{
    size_t pos = 0;
    iotls_key_share_entry entry;
    while (iotls_key_share_next(ch->key_shares, &pos, &entry))
        if (entry.group == group) {
            *share = entry.key_exchange;
            return 1;
        }
    return 0;
}

/* Group policy: a share the client already sent saves a round trip, so
 * the group is the first of OUR preference among the groups the client sent
 * shares for, even when it supports a group we like better without a share.
 * Only when no share is usable do we ask, with a HelloRetryRequest, for the
 * first of our groups in the client's supported_groups. The share is left
 * empty in that case. */
static int pick_group(const iotls_config *cfg, const iotls_client_hello *ch, uint16_t *group,
                      iotls_bytes *share)
{
    share->p = NULL;
    share->len = 0;
    for (size_t i = 0; i < cfg->group_count; i++)
        if (iotls_kex_supported(cfg->groups[i]) && find_share(ch, cfg->groups[i], share)) {
            *group = cfg->groups[i];
            return IOTLS_OK;
        }
    for (size_t i = 0; i < cfg->group_count; i++)
        if (iotls_kex_supported(cfg->groups[i]) &&
            iotls_u16_list_contains(ch->supported_groups, cfg->groups[i])) {
            *group = cfg->groups[i];
            return IOTLS_OK;
        }
    return IOTLS_ERR_HANDSHAKE_FAILURE;
}

/* Our CertificateVerify scheme: the first of the connection's sig_algs
 * that the client offers and the presented key can make. */
static int pick_sig_scheme(const iotls_conn *c, const iotls_client_hello *ch, uint16_t *scheme)
{
    const iotls_config *cc = cert_config(c);
    if (!cc->has_cert) {
        /* A server without a certificate cannot answer; one that only
         * has an external PSK refuses clients that do not use it. */
        return c->cfg->has_ext_psk ? IOTLS_ERR_HANDSHAKE_FAILURE : IOTLS_ERR_CONFIG;
    }
    /* RFC 8446 9.2: authenticating with a certificate to a client that
     * sent no signature_algorithms (it offered a PSK we do not accept). */
    if (!has_ext(ch, IOTLS_EXTID_SIGNATURE_ALGORITHMS))
        return IOTLS_ERR_MISSING_EXTENSION;
    for (size_t i = 0; i < c->cfg->sig_alg_count; i++) {
        uint16_t s = c->cfg->sig_algs[i];
        if (iotls_u16_list_contains(ch->signature_algorithms, s) &&
            iotls_pkey_can_sign(&cc->key, s)) {
            *scheme = s;
            return IOTLS_OK;
        }
    }
    return IOTLS_ERR_HANDSHAKE_FAILURE;
}

static int alpn_contains(iotls_bytes list, iotls_bytes name)
{
    size_t pos = 0;
    iotls_bytes offered;
    while (iotls_alpn_next(list, &pos, &offered))
        if (offered.len == name.len && memcmp(offered.p, name.p, name.len) == 0)
            return 1;
    return 0;
}

/* ALPN (RFC 7301): the first of our protocols the client offers. No ALPN
 * when the client sent none or we have none configured. */
static int pick_alpn(const iotls_config *cfg, const iotls_client_hello *ch, iotls_bytes *out)
{
    out->p = NULL;
    out->len = 0;
    if (!IOTLS_FEATURE_ALPN || !has_ext(ch, IOTLS_EXTID_ALPN) || cfg->alpn_len == 0)
        return IOTLS_OK;
    iotls_bytes ours = {cfg->alpn, cfg->alpn_len};
    size_t pos = 0;
    iotls_bytes name;
    while (iotls_alpn_next(ours, &pos, &name))
        if (alpn_contains(ch->alpn, name)) {
            *out = name;
            return IOTLS_OK;
        }
    return IOTLS_ERR_NO_APPLICATION_PROTOCOL;
}

/* server_name: keep the host name for the application and let the SNI
 * callback pick the certificate. Runs once per handshake. */
IOTLS_NOINLINE static int process_sni(iotls_conn *c, const iotls_client_hello *ch)
{
    if (c->sv.sni_done)
        return IOTLS_OK;
    c->sv.sni_done = 1;
    if (!has_ext(ch, IOTLS_EXTID_SERVER_NAME) || ch->server_name.len == 0)
        return IOTLS_OK;
    if (ch->server_name.len > IOTLS_MAX_SERVER_NAME ||
        memchr(ch->server_name.p, 0, ch->server_name.len) != NULL)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    memcpy(c->server_name, ch->server_name.p, ch->server_name.len);
    c->server_name[ch->server_name.len] = '\0';
    if (c->cfg->sni_cb) {
        const iotls_config *chosen = c->cfg->sni_cb(c->cfg->sni_arg, c->server_name);
        if (chosen) {
            /* The name chose the certificate: RFC 6066 3 asks us to say so
             * with an empty server_name in EncryptedExtensions. */
            c->cert_cfg = chosen;
            c->sv.sni_ack = 1;
        }
    }
    return IOTLS_OK;
}

/* RFC 8446 D.4: a client that sent a legacy_session_id is in middlebox
 * compatibility mode and expects one change_cipher_spec right after our
 * first handshake message (ServerHello or HelloRetryRequest). */
static int maybe_send_ccs(iotls_conn *c, const iotls_client_hello *ch)
{
    if (ch->session_id.len == 0 || c->sv.ccs_sent)
        return IOTLS_OK;
    c->sv.ccs_sent = 1;
    return iotls_conn_send_ccs(c);
}

IOTLS_NOINLINE static int send_hello_retry_request(iotls_conn *c, const iotls_client_hello *ch,
                                                   const sv_choice *choice)
{
    uint8_t ch1_hash[IOTLS_MAX_HASH_LEN];
    uint8_t cookie[IOTLS_COOKIE_MAX_LEN];
    size_t cookie_len = 0;
    int rc = iotls_transcript_hash(&c->transcript, ch1_hash);
    if (rc == IOTLS_OK)
        rc = iotls__cookie_make(c, ch, choice->suite, choice->group, ch1_hash, c->hash_len, cookie,
                                &cookie_len);
    /* Our own transcript goes on too (the second ClientHello rebuilds it
     * from the cookie anyway, as a stateless server would). */
    if (rc == IOTLS_OK)
        rc = iotls_transcript_hrr_substitute(&c->transcript);
    iotls_server_hello_params hp;
    iotls__hrr_params(&hp, ch, choice->suite, choice->group, cookie, cookie_len);
    if (rc == IOTLS_OK)
        rc = send_message(c, write_server_hello, &hp);
    if (rc == IOTLS_OK)
        rc = iotls_conn_flush(c);
    if (rc == IOTLS_OK)
        rc = maybe_send_ccs(c, ch);
    if (rc == IOTLS_OK) {
        c->hrr = 1;
        iotls_conn_event(c, IOTLS_EV_HRR, 0, 0, (int)choice->group, "sent");
    }
    iotls_wipe(ch1_hash, sizeof ch1_hash);
    return rc;
}

/* ---------------- the server's flight ---------------- */

IOTLS_NOINLINE static int send_certificate(iotls_conn *c)
{
    const iotls_config *cc = cert_config(c);
    own_chain chain;
    chain.count = iotls_x509_count(&cc->cert);
    if (chain.count == 0 || chain.count > MAX_OWN_CHAIN)
        return IOTLS_ERR_CONFIG;
    for (size_t i = 0; i < chain.count; i++) {
        int rc = iotls_x509_der(&cc->cert, i, &chain.ders[i], &chain.lens[i]);
        if (rc != IOTLS_OK)
            return rc;
    }
    return send_message(c, write_certificate, &chain);
}

static int send_certificate_verify(iotls_conn *c)
{
    /* The key is only borrowed from the (shared, const) config: signing
     * does not change it, mbedTLS just wants a mutable context. */
    return iotls_conn_send_certificate_verify(c, (iotls_pkey *)&cert_config(c)->key,
                                              c->own_sig_scheme, 1);
}

IOTLS_NOINLINE static int send_finished(iotls_conn *c)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t verify_data[IOTLS_MAX_HASH_LEN];
    int rc = iotls_transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls_finished_verify_data(c->hash, c->ks.server_hs_traffic, hash, verify_data);
    if (rc == IOTLS_OK)
        rc = send_message(c, write_finished, verify_data);
    iotls_wipe(verify_data, sizeof verify_data);
    return rc;
}

/* ServerHello and the handshake keys. */
static int send_server_hello(iotls_conn *c, const iotls_client_hello *ch, const sv_choice *choice)
{
    uint8_t pub[IOTLS_MAX_KEX_PUBLIC_LEN];
    uint8_t dhe[IOTLS_MAX_KEX_SECRET_LEN];
    uint8_t random[32];
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    size_t pub_len = 0, dhe_len = 0;

    int rc = IOTLS_OK;
    if (!choice->psk_ke)
        rc = iotls_kex_generate(&c->sv.kex, choice->group, pub, sizeof pub, &pub_len);
    if (rc == IOTLS_OK && !choice->psk_ke) {
        c->sv.kex_active = 1;
        /* A bad client share fails here, before anything is sent. */
        rc = iotls_kex_derive(&c->sv.kex, choice->share.p, choice->share.len, dhe, sizeof dhe,
                              &dhe_len);
    }
    if (c->sv.kex_active) {
        iotls_kex_free(&c->sv.kex);
        c->sv.kex_active = 0;
    }
    if (rc == IOTLS_OK)
        rc = iotls_random(random, sizeof random);
    if (rc == IOTLS_OK) {
        iotls_server_hello_params hp;
        memset(&hp, 0, sizeof hp);
        hp.random = random;
        hp.session_id_echo = ch->session_id.p;
        hp.session_id_len = ch->session_id.len;
        hp.cipher_suite = choice->suite;
        hp.key_share_group = choice->group;
        hp.key_share = pub;
        hp.key_share_len = pub_len;
        hp.has_psk = choice->resumed;
        hp.selected_identity = choice->identity;
        rc = send_message(c, write_server_hello, &hp);
    }
    if (rc == IOTLS_OK) {
        c->group = choice->group;
        rc = iotls_transcript_hash(&c->transcript, hash);
    }
    if (rc == IOTLS_OK)
        rc = iotls_ks_init(&c->ks, c->hash, choice->resumed ? choice->psk : NULL,
                           choice->resumed ? choice->psk_len : 0);
    /* client_early_traffic_secret hangs off the PSK's early secret and
     * Hash(ClientHello), kept from before the ServerHello. */
    if (rc == IOTLS_OK && c->sv.early_accepted)
        rc = iotls_ks_early_traffic(&c->ks, c->sv.ch_hash);
    if (rc == IOTLS_OK)
        rc = iotls_ks_handshake(&c->ks, dhe_len > 0 ? dhe : NULL, dhe_len, hash);
    iotls_wipe(dhe, sizeof dhe);
    if (rc == IOTLS_OK) {
        c->resumed = choice->resumed && !choice->external;
        c->ext_psk = choice->resumed && choice->external;
        /* A full handshake's client certificate sets it in on_certificate. */
        c->peer_auth = c->ext_psk                     ? IOTLS_PEER_AUTH_PSK
                       : c->resumed && c->client_auth ? IOTLS_PEER_AUTH_RESUMED
                                                      : IOTLS_PEER_AUTH_NONE;
    }
    if (rc != IOTLS_OK)
        return rc;
    iotls_conn_keylog(c, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", c->ks.client_hs_traffic);
    iotls_conn_keylog(c, "SERVER_HANDSHAKE_TRAFFIC_SECRET", c->ks.server_hs_traffic);
    if (c->sv.early_accepted)
        iotls_conn_keylog(c, "CLIENT_EARLY_TRAFFIC_SECRET", c->ks.client_early_traffic);

    /* ServerHello goes out in the clear, then the optional CCS; everything
     * after it under the handshake keys. */
    rc = iotls_conn_flush(c);
    if (rc == IOTLS_OK)
        rc = maybe_send_ccs(c, ch);
    if (rc == IOTLS_OK)
        rc = iotls_conn_set_write_secret(c, c->ks.server_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    /* Accepted 0-RTT: the client's early records come first, until its
     * EndOfEarlyData. */
    if (rc == IOTLS_OK && c->sv.early_accepted)
        rc = iotls_conn_set_read_secret(c, c->ks.client_early_traffic, IOTLS_EPOCH_EARLY);
    else if (rc == IOTLS_OK)
        rc = iotls_conn_set_read_secret(c, c->ks.client_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    return rc;
}

/* The client's record limits on what we send, and our answer in
 * EncryptedExtensions: record_size_limit (RFC 8449) wins over
 * max_fragment_length (RFC 6066) when both come (RFC 8449 5); our own
 * limit, the configured record size, goes back with record_size_limit. */
static void apply_record_limits(iotls_conn *c, const iotls_client_hello *ch,
                                iotls_encrypted_extensions_params *ee)
{
    size_t own = c->max_record_in;
    if (!IOTLS_FEATURE_RECORD_SIZE)
        return; /* built without: both are ignored, as an unknown extension */
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT)) {
        /* In TLS 1.3 the limit counts the content type byte (RFC 8449 4). */
        size_t limit = (size_t)ch->record_size_limit - 1;
        if (limit < c->max_record_out)
            c->max_record_out = limit;
        ee->record_size_limit = (uint16_t)(own + 1);
    } else if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_MAX_FRAGMENT_LENGTH)) {
        size_t limit = (size_t)1 << (8 + ch->max_fragment_length);
        if (limit < c->max_record_out)
            c->max_record_out = limit;
        ee->max_fragment_length = ch->max_fragment_length;
    }
}

/* The first part of the answer to an acceptable ClientHello, while it is at
 * hand: ServerHello [CCS] {EncryptedExtensions} {CertificateRequest}. The
 * rest, send_flight_rest, runs when the ClientHello's handler has returned,
 * so that the handler's frame (the parsed ClientHello, the negotiation's
 * choice, the ticket it opened) does not sit above the CertificateVerify
 * signature, the deepest stack of the server (docs/stack.md). */
static int send_flight_start(iotls_conn *c, const iotls_client_hello *ch, const sv_choice *choice)
{
    if (choice->alpn.len >= c->alpn_cap)
        return IOTLS_ERR_INTERNAL;
    if (choice->alpn.len > 0)
        memcpy(c->alpn, choice->alpn.p, choice->alpn.len);
    c->alpn[choice->alpn.len] = '\0';

    int rc = send_server_hello(c, ch, choice);
    if (rc != IOTLS_OK)
        return rc;

    iotls_encrypted_extensions_params ee;
    memset(&ee, 0, sizeof ee);
    if (choice->alpn.len > 0) {
        ee.alpn = choice->alpn.p;
        ee.alpn_len = choice->alpn.len;
    }
    ee.server_name_ack = c->sv.sni_ack;
    ee.early_data = c->sv.early_accepted;
    apply_record_limits(c, ch, &ee);
    /* RFC 8446 4.2.7: tells the client our groups, for next time. */
    ee.groups = c->cfg->groups;
    ee.group_count = c->cfg->group_count;
    rc = send_message(c, write_encrypted_extensions, &ee);

    /* RFC 8446 4.3.2: no CertificateRequest when the PSK authenticates;
     * and the PSK stands for our certificate too. */
    if (rc == IOTLS_OK && !choice->resumed && c->cfg->verify_client != IOTLS_VERIFY_CLIENT_NONE) {
        rc = send_message(c, write_certificate_request, NULL);
        c->sv.cert_requested = 1;
    }
    if (rc == IOTLS_OK) {
        /* The scheme send_flight_rest signs with; 0 when a PSK authenticates. */
        c->own_sig_scheme = choice->resumed ? 0 : choice->sig_scheme;
        c->sv.state = IOTLS_SV_FLIGHT_REST;
    }
    return rc;
}

/* The rest of the flight: {Certificate} {CertificateVerify} (not when a
 * PSK authenticates) {Finished}, then the application write keys. Its own
 * frame, with the Certificate and Finished writers beside the signature
 * rather than above it. */
IOTLS_NOINLINE static int send_flight_rest(iotls_conn *c)
{
    int psk_auth = c->resumed || c->ext_psk;
    int rc = IOTLS_OK;
    if (!psk_auth)
        rc = send_certificate(c);
    if (rc == IOTLS_OK && !psk_auth)
        rc = send_certificate_verify(c);
    if (rc == IOTLS_OK)
        rc = send_finished(c);
    if (rc == IOTLS_OK)
        rc = iotls_conn_flush(c);
    if (rc != IOTLS_OK)
        return rc;

    rc = iotls_conn_derive_master(c);
    if (rc != IOTLS_OK)
        return rc;
    /* Read keys stay the client's handshake keys until its Finished. */
    rc = iotls_conn_set_write_secret(c, c->ks.server_app_traffic, IOTLS_EPOCH_APPLICATION);
    if (rc == IOTLS_OK)
        c->sv.state = c->sv.early_accepted   ? IOTLS_SV_WAIT_EOED
                      : c->sv.cert_requested ? IOTLS_SV_WAIT_CERT
                                             : IOTLS_SV_WAIT_FINISHED;
    return rc;
}

/* ---------------- session tickets ---------------- */

static int sni_digest(const iotls_conn *c, uint8_t out[IOTLS_TICKET_SNI_DIGEST_LEN])
{
    return iotls_hash(IOTLS_HASH_SHA256, (const uint8_t *)c->server_name, strlen(c->server_name),
                      out);
}

typedef struct {
    uint32_t lifetime;
    uint32_t age_add;
    uint8_t nonce;
    const uint8_t *ticket;
    size_t ticket_len;
    uint32_t max_early_data;
} nst_out;

static int write_new_session_ticket(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    const nst_out *n = (const nst_out *)arg;
    return iotls_new_session_ticket_write(w, n->lifetime, n->age_add, &n->nonce, 1, n->ticket,
                                          n->ticket_len, n->max_early_data);
}

/* cfg->ticket_count NewSessionTickets under the application keys; each
 * nonce gives its own PSK (RFC 8446 4.6.1). */
static int send_tickets(iotls_conn *c)
{
    const iotls_config *cfg = c->cfg;
    if (!IOTLS_FEATURE_RESUMPTION || cfg->ticket_count == 0 || !cfg->has_ticket_key)
        return IOTLS_OK;
    int rc = IOTLS_OK;
    for (unsigned i = 0; i < cfg->ticket_count && i < 256 && rc == IOTLS_OK; i++) {
        iotls__ticket_body t;
        uint8_t ticket[IOTLS_TICKET_MAX_LEN];
        uint8_t age_add[4];
        nst_out n;
        memset(&t, 0, sizeof t);
        n.nonce = (uint8_t)i;
        t.suite = c->suite;
        t.psk_len = c->hash_len;
        t.lifetime = iotls__ticket_lifetime_s(cfg);
        t.issued_ms = iotls_config_now_ms(cfg);
        t.max_early_data = cfg->max_early_data;
        size_t alpn_len = strlen(c->alpn);
        if (alpn_len >= sizeof t.alpn)
            alpn_len = sizeof t.alpn - 1;
        memcpy(t.alpn, c->alpn, alpn_len);
        t.alpn[alpn_len] = '\0';
        rc = sni_digest(c, t.sni_digest);
        if (rc == IOTLS_OK)
            rc = iotls_random(age_add, sizeof age_add);
        t.age_add = ((uint32_t)age_add[0] << 24) | ((uint32_t)age_add[1] << 16) |
                    ((uint32_t)age_add[2] << 8) | age_add[3];
        if (rc == IOTLS_OK)
            rc = iotls_resumption_psk(c->hash, c->ks.resumption_master, &n.nonce, 1, t.psk);
        /* The client identity goes into every ticket of an authenticated
         * client, so that it resumes as that client (select_psk). */
        const iotls_peer_id *client = c->client_auth ? c->client_id : NULL;
        if (rc == IOTLS_OK)
            rc = iotls__ticket_seal(cfg, t.issued_ms, &t, client, ticket, &n.ticket_len);
        iotls_wipe(&t, sizeof t);
        if (rc != IOTLS_OK)
            break;
        n.lifetime = iotls__ticket_lifetime_s(cfg);
        n.age_add = ((uint32_t)age_add[0] << 24) | ((uint32_t)age_add[1] << 16) |
                    ((uint32_t)age_add[2] << 8) | age_add[3];
        n.ticket = ticket;
        n.max_early_data = cfg->max_early_data;
        iotls_writer w;
        iotls_conn_hs_writer(c, &w);
        rc = write_new_session_ticket(c, &w, &n);
        if (rc == IOTLS_OK)
            rc = iotls_wr_error(&w);
        /* After the handshake: not part of any transcript. */
        if (rc == IOTLS_OK)
            rc = iotls_conn_hs_commit_raw(c, &w);
    }
    if (rc == IOTLS_OK)
        rc = iotls_conn_flush(c);
    return rc;
}

/* RFC 8446 4.2.11: the first identity that is one of our tickets, for the
 * chosen suite's hash and not expired, is selected; its binder must verify
 * (decrypt_error otherwise). Unusable identities are skipped, and with none
 * left the handshake goes on without a PSK. */
typedef struct {
    iotls__ticket_body ticket;
    iotls_peer_id client;
    uint8_t plain[IOTLS_TICKET_PLAIN_MAX];
} sv_psk_scratch;

/* Whether any PSK could be accepted at all: tickets or an external PSK. */
static int cfg_has_psk_source(const iotls_config *cfg)
{
    return IOTLS_FEATURE_ANY_PSK && (cfg->has_ticket_key || cfg->has_ext_psk);
}

static int select_psk(iotls_conn *c, const uint8_t *msg, const iotls_client_hello *ch,
                      sv_choice *choice)
{
    const iotls_config *cfg = c->cfg;
    /* A second ClientHello selects again: forget the first one's ticket. */
    c->client_auth = 0;
    if (!IOTLS_FEATURE_ANY_PSK || !has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY) ||
        (!cfg->has_ticket_key && !cfg->has_ext_psk))
        return IOTLS_OK;
    int mode_dhe = 0, mode_ke = 0;
    for (size_t i = 0; i < ch->psk_modes.len; i++) {
        if (ch->psk_modes.p[i] == 1)
            mode_dhe = 1;
        else if (ch->psk_modes.p[i] == 0)
            mode_ke = 1;
    }
    int use_dhe = mode_dhe && choice->share.len > 0;
    int use_ke = !use_dhe && mode_ke && cfg->psk_ke;
    if (mode_ke && cfg->psk_ke == IOTLS_PSK_KE_ONLY) {
        use_ke = 1; /* a server without ECC prefers no (EC)DHE */
        use_dhe = 0;
    }
    if (!use_dhe && !use_ke)
        return IOTLS_OK;

    /* One binder per identity (RFC 8446 4.2.11). */
    size_t ids = 0, binders = 0, pos = 0;
    iotls_bytes identity, binder;
    uint32_t age;
    while (iotls_psk_identity_next(ch->psk_identities, &pos, &identity, &age))
        ids++;
    pos = 0;
    while (iotls_psk_binder_next(ch->psk_binders, &pos, &binder))
        binders++;
    if (ids != binders || ids == 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    iotls_hash_alg alg = iotls_suite_hash(choice->suite);
    size_t hash_len = iotls_hash_len(alg);
    uint64_t now = iotls_config_now_ms(cfg);
    uint8_t sni[IOTLS_TICKET_SNI_DIGEST_LEN];
    int rc = sni_digest(c, sni);
    if (rc != IOTLS_OK)
        return rc;
    /* The ticket and its plaintext are kept in the free part of hs_out (in
     * tx without a certificate), idle until the answer to this ClientHello
     * is written there: on the stack they would sit under the whole server
     * flight (docs/stack.md). Aligned from hs_out's or tx's start. */
    iotls_writer room;
    iotls_conn_hs_writer(c, &room);
    size_t pad = (16u - (size_t)(room.p - (c->hs_in_tx ? c->tx : c->hs_out)) % 16u) % 16u;
    if (room.cap < pad + sizeof(sv_psk_scratch))
        return IOTLS_ERR_INTERNAL;
    sv_psk_scratch *scratch = (sv_psk_scratch *)(void *)(room.p + pad);
    iotls__ticket_body *t = &scratch->ticket;
    size_t index = 0;
    int found = 0, external = 0;
    uint32_t found_age = 0;
    iotls_bytes chosen_identity = {NULL, 0};
    pos = 0;
    while (!found && iotls_psk_identity_next(ch->psk_identities, &pos, &identity, &age)) {
        found_age = age;
        chosen_identity = identity;
        memset(t, 0, sizeof *t);
        if (is_ext_psk_identity(cfg, identity)) {
            /* The external PSK, when the suite has its hash (RFC 8446 4.2.11). */
            found = external = cfg->ext_psk_hash == alg;
        } else if (cfg->has_ticket_key &&
                   iotls__ticket_open(cfg, now, identity, t, &scratch->client, scratch->plain) ==
                       IOTLS_OK &&
                   iotls_suite_hash(t->suite) == alg && t->psk_len == hash_len &&
                   memcmp(t->sni_digest, sni, sizeof sni) == 0 &&
                   /* Resuming would skip the CertificateRequest we owe this
                    * client: a ticket of an unauthenticated client is for a
                    * full handshake. */
                   (cfg->verify_client != IOTLS_VERIFY_CLIENT_REQUIRED || t->client_auth) &&
                   /* A clock that reads 0 cannot tell the ticket's age:
                    * no resumption rather than no lifetime. */
                   now != 0 && now >= t->issued_ms &&
                   now - t->issued_ms < (uint64_t)t->lifetime * 1000u) {
            found = 1;
        }
        if (!found) {
            index++;
            iotls_wipe(t, sizeof *t);
        }
    }
    if (!found)
        return IOTLS_OK;

    pos = 0;
    for (size_t i = 0; i <= index; i++)
        iotls_psk_binder_next(ch->psk_binders, &pos, &binder);
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t binder_key[IOTLS_MAX_HASH_LEN];
    uint8_t expected[IOTLS_MAX_HASH_LEN];
    /* The connection's schedule holds the early secret for the binder:
     * unused before send_server_hello initializes it again, and a second
     * key schedule (480 B) on the stack would sit on the deepest path. */
    iotls_key_schedule *early = &c->ks;
    const uint8_t *psk_key = external ? cfg->ext_psk : t->psk;
    size_t psk_key_len = external ? cfg->ext_psk_len : t->psk_len;
    rc = binder.len == hash_len ? IOTLS_OK : IOTLS_ERR_DECRYPT_ERROR;
    if (rc == IOTLS_OK)
        rc = iotls_transcript_hash_with(&c->transcript, alg, msg, ch->binders_offset, hash);
    if (rc == IOTLS_OK)
        rc = iotls_ks_init(early, alg, psk_key, psk_key_len);
    if (rc == IOTLS_OK)
        rc = iotls_ks_binder_key(early, external, binder_key);
    if (rc == IOTLS_OK)
        rc = iotls_finished_verify_data(alg, binder_key, hash, expected);
    if (rc == IOTLS_OK && iotls_ct_memcmp(expected, binder.p, hash_len) != 0)
        rc = IOTLS_ERR_DECRYPT_ERROR;
    iotls_ks_wipe(early);
    iotls_wipe(binder_key, sizeof binder_key);
    iotls_wipe(expected, sizeof expected);
    /* The anti-replay key is the ticket itself, not this ClientHello's
     * binder: a replayed ClientHello carries the same ticket, and so does a
     * client that reuses one ticket for several 0-RTT attempts (OpenSSL's
     * s_client -sess_in does) - each ticket carries 0-RTT once per window. */
    if (rc == IOTLS_OK)
        rc = iotls_hash(IOTLS_HASH_SHA256, chosen_identity.p, chosen_identity.len,
                        choice->binder_hash);
    if (rc == IOTLS_OK) {
        choice->ticket_max_early = t->max_early_data;
        choice->ticket_suite = t->suite;
        memcpy(choice->ticket_alpn, t->alpn, sizeof choice->ticket_alpn);
        /* RFC 8446 8.3: the client's view of the ticket age (obfuscated
         * age minus age_add) must match ours within the window. */
        uint32_t client_age = found_age - t->age_add; /* mod 2^32 */
        uint64_t our_age = now >= t->issued_ms ? now - t->issued_ms : 0;
        uint64_t diff = our_age > client_age ? our_age - client_age : client_age - our_age;
        choice->ticket_age_ok = now != 0 && now >= t->issued_ms && diff <= cfg->early_window_ms;
        choice->resumed = 1;
        choice->external = external;
        /* The client identity the ticket carries, for iotls_info and the
         * tickets this connection issues. A server that does not verify
         * clients keeps none (no room): the client is anonymous to it. */
        if (!external && t->client_auth && c->client_id != NULL) {
            memcpy(c->client_id, &scratch->client, sizeof *c->client_id);
            c->client_auth = 1;
        }
        choice->psk_ke = use_ke;
        choice->identity = (uint16_t)index;
        memcpy(choice->psk, psk_key, psk_key_len);
        choice->psk_len = psk_key_len;
        if (use_ke) {
            choice->group = 0;
            choice->share.p = NULL;
            choice->share.len = 0;
        }
    }
    iotls_wipe(t, sizeof *t);
    return rc;
}

/* ---------------- 0-RTT ---------------- */

/* RFC 8446 4.2.10: accept early data only when it is the ticket's
 * connection continuing: the first identity, the same suite and ALPN, a
 * plausible ticket age, a ticket that allowed it, no HelloRetryRequest
 * needed; and (RFC 8446 8) this ClientHello was not seen before. The
 * replay check runs last, so only ClientHellos that would otherwise be
 * accepted take a place in the store. */
static int early_data_policy(iotls_conn *c, const sv_choice *choice)
{
    const iotls_config *cfg = c->cfg;
    if (!IOTLS_FEATURE_EARLY_DATA || cfg->max_early_data == 0 || !choice->resumed ||
        choice->identity != 0 || choice->ticket_max_early == 0 ||
        choice->ticket_suite != choice->suite || !choice->ticket_age_ok)
        return 0;
    if (!choice->psk_ke && choice->share.len == 0)
        return 0; /* a HelloRetryRequest comes: early data is lost anyway */
    const char *ticket_alpn = (const char *)choice->ticket_alpn;
    if (strlen(ticket_alpn) != choice->alpn.len ||
        (choice->alpn.len > 0 && memcmp(ticket_alpn, choice->alpn.p, choice->alpn.len) != 0))
        return 0;
    if (cfg->early_replay == NULL)
        return 0; /* no way to refuse a replay: no 0-RTT */
    return cfg->early_replay(cfg->early_replay_arg, choice->binder_hash, sizeof choice->binder_hash,
                             iotls_config_now_ms(cfg)) == 0;
}

static int on_end_of_early_data(iotls_conn *c, const uint8_t *msg, size_t len)
{
    int rc = iotls_end_of_early_data_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK)
        rc = iotls_conn_set_read_secret(c, c->ks.client_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    if (rc == IOTLS_OK)
        c->sv.state = IOTLS_SV_WAIT_FINISHED; /* resumed: no client certificate */
    return rc;
}

/* Accepts or declines the early data a first ClientHello announces. */
static void decide_early_data(iotls_conn *c, const sv_choice *choice)
{
    if (early_data_policy(c, choice)) {
        c->sv.early_accepted = 1;
        c->early_status = IOTLS_EARLY_DATA_ACCEPTED;
        c->early_max = choice->ticket_max_early < c->cfg->max_early_data ? choice->ticket_max_early
                                                                         : c->cfg->max_early_data;
    } else {
        /* Declined: its records follow this ClientHello and are skipped
         * (RFC 8446 4.2.10). */
        c->early_status = IOTLS_EARLY_DATA_REJECTED;
        c->skip_early_data = 1;
        c->early_skip_budget = EARLY_SKIP_BUDGET;
    }
}

/* The negotiation both ClientHellos go through once suite and group are
 * set (from the first ClientHello's offer, or from the cookie for the
 * second): the PSK, our signature scheme unless a PSK authenticates, ALPN,
 * and early data (only a first ClientHello may carry it). group_rc is the
 * group choice's result: without a group, only a psk_ke PSK goes on. */
IOTLS_NOINLINE static int negotiate(iotls_conn *c, const uint8_t *msg, const iotls_client_hello *ch,
                                    int group_rc, sv_choice *choice)
{
    int rc = select_psk(c, msg, ch, choice);
    if (rc == IOTLS_OK && group_rc != IOTLS_OK && !choice->psk_ke)
        rc = group_rc;
    if (rc == IOTLS_OK && !choice->resumed) {
        rc = pick_sig_scheme(c, ch, &choice->sig_scheme);
        /* No certificate answers this client (a PSK-only server, or a
         * client without signature_algorithms), but a HelloRetryRequest is
         * coming and the client offers a PSK: the second ClientHello
         * decides. */
        if ((rc == IOTLS_ERR_HANDSHAKE_FAILURE || rc == IOTLS_ERR_MISSING_EXTENSION) &&
            choice->share.len == 0 && !choice->psk_ke && cfg_has_psk_source(c->cfg) &&
            has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY))
            rc = IOTLS_OK;
    }
    if (rc == IOTLS_OK)
        rc = pick_alpn(c->cfg, ch, &choice->alpn);
    if (rc == IOTLS_OK && ch->early_data)
        decide_early_data(c, choice);
    return rc;
}

/* ---------------- transitions ---------------- */

/* Parses and checks either ClientHello. (That nothing follows it in its
 * record, RFC 8446 5.1, conn.c checked before handing it over.) */
static int read_client_hello(const uint8_t *msg, size_t len, iotls_client_hello *ch)
{
    int rc = iotls_client_hello_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, ch);
    return rc == IOTLS_OK ? check_client_hello(ch) : rc;
}

static int on_client_hello(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_client_hello ch;
    sv_choice choice;
    memset(&choice, 0, sizeof choice);
    int rc = read_client_hello(msg, len, &ch);
    if (rc != IOTLS_OK)
        return rc;
    memcpy(c->client_random, ch.random.p, sizeof c->client_random);

    /* A cookie in a first ClientHello belongs to no HelloRetryRequest of
     * this connection (RFC 8446 4.2.2 forbids reusing one): ignored. */
    rc = process_sni(c, &ch);
    if (rc != IOTLS_OK)
        return rc;
    /* A client naming our external PSK gets a suite of its hash if it
     * offers one (the PSK is only usable with that hash). */
    choice.suite = 0;
    if (ext_psk_offered(c->cfg, &ch))
        choice.suite = pick_suite_of(c->cfg, &ch, c->cfg->ext_psk_hash);
    if (choice.suite == 0)
        choice.suite = pick_suite(c->cfg, &ch);
    if (choice.suite == 0)
        return IOTLS_ERR_HANDSHAKE_FAILURE;
    int group_rc = pick_group(c->cfg, &ch, &choice.group, &choice.share);
    rc = negotiate(c, msg, &ch, group_rc, &choice);
    if (rc == IOTLS_OK)
        rc = iotls_conn_set_suite(c, choice.suite);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK && c->sv.early_accepted)
        rc = iotls_transcript_hash(&c->transcript, c->sv.ch_hash);
    if (rc == IOTLS_OK && choice.share.len == 0 && !choice.psk_ke) {
        rc = send_hello_retry_request(c, &ch, &choice);
        if (rc == IOTLS_OK)
            c->sv.state = IOTLS_SV_WAIT_CH2;
    } else if (rc == IOTLS_OK) {
        rc = send_flight_start(c, &ch, &choice);
    }
    iotls_wipe(choice.psk, sizeof choice.psk);
    return rc;
}

/* The answer to our HelloRetryRequest. Everything it depends on comes from
 * the cookie and this message, so a server that forgot the first
 * ClientHello would reach the same result. */
static int on_client_hello2(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_client_hello ch;
    sv_choice choice;
    iotls_bytes ch1_hash;
    memset(&choice, 0, sizeof choice);
    int rc = read_client_hello(msg, len, &ch);
    if (rc != IOTLS_OK)
        return rc;
    /* Any 0-RTT records came before this message; none may follow. */
    c->skip_early_data = 0;
    if (ch.early_data) /* RFC 8446 4.1.2: removed in the second ClientHello */
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    rc = iotls__cookie_open(c, &ch, &choice.suite, &choice.group, &ch1_hash);
    if (rc != IOTLS_OK)
        return rc;
    /* The same suite as the HelloRetryRequest (RFC 8446 4.1.4). */
    if (!suite_ok(c->cfg, choice.suite) || pick_suite(c->cfg, &ch) != choice.suite ||
        (c->suite != 0 && c->suite != choice.suite))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* RFC 8446 4.2.8: exactly one share, for the group we asked for. A
     * second HelloRetryRequest is never sent. */
    if (!group_ok(c->cfg, choice.group) || !find_share(&ch, choice.group, &choice.share))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    size_t pos = 0, shares = 0;
    iotls_key_share_entry entry;
    while (iotls_key_share_next(ch.key_shares, &pos, &entry))
        shares++;
    if (shares != 1)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    memcpy(c->client_random, ch.random.p, sizeof c->client_random);
    rc = process_sni(c, &ch);
    if (rc == IOTLS_OK && c->suite == 0)
        rc = iotls_conn_set_suite(c, choice.suite);
    /* The transcript up to this message: message_hash(ClientHello1) and
     * the HelloRetryRequest. A PSK offered again (RFC 8446 4.1.4) has its
     * binder over them and this message up to the binders (4.2.11.2). */
    if (rc == IOTLS_OK)
        rc = iotls__hrr_rebuild_transcript(c, &ch, choice.suite, choice.group, ch1_hash);
    if (rc == IOTLS_OK)
        rc = negotiate(c, msg, &ch, IOTLS_OK, &choice);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK) {
        c->hrr = 1;
        rc = send_flight_start(c, &ch, &choice);
    }
    iotls_wipe(choice.psk, sizeof choice.psk);
    return rc;
}

static int on_certificate(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_certificate cert;
    c->skip_early_data = 0;
    int rc = iotls_certificate_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cert);
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 8446 4.4.2: the context echoes CertificateRequest's, empty. */
    if (cert.context.len != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (cert.count == 0) {
        /* RFC 8446 4.4.2.4: no certificate. Fatal only when we require one;
         * otherwise no CertificateVerify follows. */
        if (c->cfg->verify_client == IOTLS_VERIFY_CLIENT_REQUIRED)
            return IOTLS_ERR_CERT_REQUIRED;
        rc = iotls_transcript_update(&c->transcript, msg, len);
        if (rc == IOTLS_OK)
            c->sv.state = IOTLS_SV_WAIT_FINISHED;
        return rc;
    }
    if (cert.count > IOTLS_MAX_PEER_CHAIN)
        return IOTLS_ERR_BAD_CERTIFICATE; /* well-formed, but more than we parse */
    size_t pos = 0;
    iotls_bytes der;
    while (iotls_certificate_next(cert.certificate_list, &pos, &der)) {
        rc = iotls_x509_add_der(&c->peer_chain, der.p, der.len);
        if (rc != IOTLS_OK)
            return rc;
    }
    c->peer_cert_presented = 1;
    rc = iotls_conn_verify_peer_chain(c, 0);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK)
        c->sv.state = IOTLS_SV_WAIT_CV;
    return rc;
}

static int on_certificate_verify(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_certificate_verify cv;
    int rc =
        iotls_certificate_verify_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cv);
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 8446 4.4.3: a scheme we offered in CertificateRequest. */
    int offered = 0;
    for (size_t i = 0; i < c->cfg->sig_alg_count; i++)
        if (c->cfg->sig_algs[i] == cv.scheme)
            offered = 1;
    if (!offered)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t content[64 + 34 + IOTLS_MAX_HASH_LEN];
    size_t content_len = 0;
    rc = iotls_transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls_certificate_verify_content(0, hash, c->hash_len, content, sizeof content,
                                              &content_len);
    if (rc == IOTLS_OK)
        rc = iotls_x509_verify_signature(&c->peer_chain, cv.scheme, content, content_len,
                                         cv.signature.p, cv.signature.len);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK) {
        c->peer_sig_scheme = cv.scheme;
        c->sv.state = IOTLS_SV_WAIT_FINISHED;
    }
    return rc;
}

static int on_finished(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_bytes received;
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t expected[IOTLS_MAX_HASH_LEN];
    c->skip_early_data = 0;
    int rc = iotls_finished_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, c->hash_len,
                                  &received);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls_finished_verify_data(c->hash, c->ks.client_hs_traffic, hash, expected);
    if (rc == IOTLS_OK && iotls_ct_memcmp(expected, received.p, c->hash_len) != 0)
        rc = IOTLS_ERR_DECRYPT_ERROR;
    iotls_wipe(expected, sizeof expected);
    if (rc == IOTLS_OK)
        rc = iotls_transcript_update(&c->transcript, msg, len);
    /* The resumption secret is only for tickets. */
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls_transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls_ks_resumption(&c->ks, hash);
    if (rc == IOTLS_OK)
        rc = iotls_conn_set_read_secret(c, c->ks.client_app_traffic, IOTLS_EPOCH_APPLICATION);
    if (rc != IOTLS_OK)
        return rc;
    /* Certificate, CertificateVerify and Finished all checked. Resumed:
     * the ticket said (select_psk). */
    if (!c->resumed) {
        c->client_auth = c->peer_cert_presented && c->peer_auth != IOTLS_PEER_AUTH_NONE &&
                         c->peer_sig_scheme != 0 && c->client_id != NULL;
        if (c->client_auth) {
            /* What our tickets carry for this client. */
            rc = iotls_x509_spki_sha256(&c->peer_chain, c->client_id->spki_sha256);
            if (rc != IOTLS_OK)
                return rc;
            /* A subject too long for it is left empty, as in iotls_info:
             * the SPKI hash still names the client. */
            c->client_id->subject[0] = '\0';
            (void)iotls_x509_subject(&c->peer_chain, 0, c->client_id->subject,
                                     sizeof c->client_id->subject);
        }
    }
    c->sv.state = IOTLS_SV_DONE;
    iotls_server_wipe(c); /* the cookie key has no further use */
    iotls_conn_handshake_complete(c);
    return send_tickets(c);
}

/* The one message each state accepts, and the read epoch it must arrive in
 * (a ClientHello in the clear, the client's second flight under the
 * handshake keys, EndOfEarlyData under the early keys). */
static const iotls_hs_transition transitions[] = {
    {IOTLS_SV_WAIT_CH, IOTLS_HS_CLIENT_HELLO, IOTLS_EPOCH_PLAIN, on_client_hello},
    {IOTLS_SV_WAIT_CH2, IOTLS_HS_CLIENT_HELLO, IOTLS_EPOCH_PLAIN, on_client_hello2},
    {IOTLS_SV_WAIT_EOED, IOTLS_HS_END_OF_EARLY_DATA, IOTLS_EPOCH_EARLY, on_end_of_early_data},
    {IOTLS_SV_WAIT_CERT, IOTLS_HS_CERTIFICATE, IOTLS_EPOCH_HANDSHAKE, on_certificate},
    {IOTLS_SV_WAIT_CV, IOTLS_HS_CERTIFICATE_VERIFY, IOTLS_EPOCH_HANDSHAKE, on_certificate_verify},
    {IOTLS_SV_WAIT_FINISHED, IOTLS_HS_FINISHED, IOTLS_EPOCH_HANDSHAKE, on_finished},
};

int iotls_server_handle(iotls_conn *c, uint8_t hs_type, const uint8_t *msg, size_t len)
{
    if (!c || !msg || len < IOTLS_HS_HEADER_LEN || msg[0] != hs_type)
        return IOTLS_ERR_INTERNAL;
    if (c->sv.state == IOTLS_SV_FAILED)
        return IOTLS_ERR_FAILED;
    int rc = IOTLS_ERR_UNEXPECTED_MESSAGE;
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        if (transitions[i].state == c->sv.state && transitions[i].hs_type == hs_type &&
            transitions[i].epoch == c->rd_epoch) {
            rc = transitions[i].handler(c, msg, len);
            break;
        }
    }
    /* After the ClientHello's handler, from this shallow frame. */
    if (rc == IOTLS_OK && c->sv.state == IOTLS_SV_FLIGHT_REST)
        rc = send_flight_rest(c);
    if (rc != IOTLS_OK) {
        c->sv.state = IOTLS_SV_FAILED;
        c->skip_early_data = 0;
        iotls_server_wipe(c);
    }
    return rc;
}

void iotls_server_wipe(iotls_conn *c)
{
    if (!c)
        return;
    if (c->sv.kex_active) {
        iotls_kex_free(&c->sv.kex);
        c->sv.kex_active = 0;
    }
    iotls_wipe(c->sv.cookie_key, sizeof c->sv.cookie_key);
    c->sv.own_cookie_key = 0;
    iotls_wipe(c->sv.ch_hash, sizeof c->sv.ch_hash);
}
