/* The TLS 1.3 server handshake (RFC 8446 section 2, 4), sans I/O.
 *
 *   WAIT_CH --ClientHello--+--no usable share--> SEND_HRR: HelloRetryRequest [CCS]
 *                          |                                      v
 *                          |<-------------ClientHello-------- WAIT_CH2
 *                          v
 *                       SEND_SH: ServerHello [CCS], handshake keys
 *                          v
 *                       SEND_EE: {EncryptedExtensions}
 *        a PSK authenticates |                        | we verify clients
 *        +-------------------+                        v
 *        |                   |              SEND_CERT_REQUEST: {CertificateRequest}
 *        |                   v                        |
 *        |              SEND_CERT: {Certificate} <----+
 *        |                   v
 *        |              SEND_CV: {CertificateVerify}
 *        v                   v
 *   SEND_FINISHED: {Finished}, application write keys
 *        +-----------------+------------------+
 *        | 0-RTT accepted  | we asked for a   | otherwise
 *        v                 v certificate      |
 *    WAIT_EOED         WAIT_CERT --Certificate--> WAIT_CV
 *        |                 | (empty, optional)        |
 *        | EndOfEarlyData  v                          | CertificateVerify
 *        +------------> WAIT_FINISHED <---------------+
 *                          | Finished
 *                          v
 *                     SEND_TICKETS: {NewSessionTicket}, one a run, x N
 *                          v
 *                        DONE          any error: FAILED, which accepts nothing
 *
 * WAIT_ states accept one message each (table "transitions"); SEND_
 * states accept nothing and send (table "send_states"): after each
 * record, conn.c's advance loop (role_advance) runs the send states one
 * after the other, through iotls__server_step, until a WAIT_ state (or
 * DONE). So every sending step
 * returns before the next starts and none runs under a message handler:
 * the deepest stacks of a handshake, the CertificateVerify signature and
 * the key generation, are the dispatcher, one step's frame and the
 * provider's call (docs/stack.md).
 *
 * conn.c hands every whole handshake message here. The message type is
 * checked against the state (table "transitions") before anything is
 * parsed, so a message out of order never reaches a parser. Received
 * messages are added to the transcript here, after the values that need the
 * hash before them (CertificateVerify, Finished) are computed; messages we
 * send are added by iotls__conn_hs_commit.
 *
 * Resumption: after the handshake we send cfg->ticket_count stateless
 * NewSessionTickets (the resumption PSK sealed under the current rotation
 * period's ticket key, derived from the config's ticket master: ticket.c),
 * and a ClientHello offering one of them with a valid binder resumes (no
 * Certificate, CertificateVerify or CertificateRequest). That holds for the
 * second ClientHello after a HelloRetryRequest too (RFC 8446 4.1.4: the
 * client offers the PSK again, its binder over the transcript kept since
 * the first ClientHello, or rebuilt from the cookie: cookie.c). A ticket we cannot open or use is
 * ignored (full handshake). The external PSK is selected the same way (select_psk in
 * server_negotiate.c, where everything this file answers is decided).
 *
 * 0-RTT (RFC 8446 4.2.10): with cfg->max_early_data the tickets allow early
 * data, and early_data in a resumed first ClientHello is accepted by the
 * policy in early_data_policy() (server_negotiate.c); the read keys are
 * then the client's early traffic keys until EndOfEarlyData (state
 * WAIT_EOED), and conn.c hands the early application data to the
 * application. Declined early data is
 * skipped by conn.c while c->hs.skip_early_data is set. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "conn.h"
#include "cookie.h"
#include "iotls/error.h"
#include "msg/msg.h"
#include "scratch.h"
#include "server_negotiate.h"
#include "ticket.h"

/* Certificates we put in one Certificate message. */
#define MAX_OWN_CHAIN 16

/* ---------------- writing messages ---------------- */

typedef int (*sv_write_fn)(iotls_conn *c, iotls_writer *w, const void *arg);

/* Writes one message into hs_out and commits it. A message that does not
 * fit is IOTLS_ERR_BUFFER_TOO_SMALL, nothing committed: from a send state,
 * conn.c's advance loop then seals the messages queued and runs the state
 * again on the empty buffer. */
static int send_message(iotls_conn *c, sv_write_fn write_fn, const void *arg)
{
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    int rc = write_fn(c, &w, arg);
    if (rc == IOTLS_OK)
        rc = iotls__wr_error(&w);
    return rc == IOTLS_OK ? iotls__conn_hs_commit(c, &w) : rc;
}

static int write_server_hello(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    return iotls__server_hello_write(w, (const iotls_server_hello_params *)arg);
}

static int write_encrypted_extensions(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)c;
    return iotls__encrypted_extensions_write(w, (const iotls_encrypted_extensions_params *)arg);
}

static int write_certificate_request(iotls_conn *c, iotls_writer *w, const void *arg)
{
    (void)arg;
    /* RFC 8446 4.3.2: the context is empty in the main handshake. */
    return iotls__certificate_request_write(w, NULL, 0, c->cfg->sig_algs, c->cfg->sig_alg_count);
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
    return iotls__certificate_write(w, NULL, 0, chain->ders, chain->lens, chain->count);
}

static int write_finished(iotls_conn *c, iotls_writer *w, const void *arg)
{
    return iotls__finished_write(w, (const uint8_t *)arg, c->hash_len);
}

/* A first ClientHello without a share we can use: what the second
 * ClientHello is checked against is taken now, while this message is at
 * hand (the digest of the fields it must repeat, or with
 * iotls_config_set_hrr_cookie a cookie that binds them), and SEND_HRR
 * sends the HelloRetryRequest. The transcript goes on with
 * message_hash(ClientHello1) (RFC 8446 4.4.1). */
static int ask_for_retry(iotls_conn *c, const iotls_client_hello *ch,
                         const iotls__sv_choice *choice)
{
    struct iotls_server_state *s = &c->hs.sv;
    if (ch->session_id.len > sizeof s->session_id)
        return IOTLS_ERR_INTERNAL;
    size_t cookie_len = 0;
    int rc;
    if (c->cfg->hrr_cookie) {
        uint8_t ch1_hash[IOTLS_MAX_HASH_LEN];
        rc = iotls__transcript_hash(&c->transcript, ch1_hash);
        if (rc == IOTLS_OK)
            rc = iotls__cookie_make(c, ch, choice->suite, choice->group, ch1_hash, c->hash_len,
                                    s->hrr_cookie, &cookie_len);
        iotls__wipe(ch1_hash, sizeof ch1_hash);
    } else {
        rc = iotls__hrr_fields_digest(ch, s->hrr_fields);
    }
    /* With a cookie the second ClientHello rebuilds the transcript from it
     * anyway, as a stateless server would. */
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hrr_substitute(&c->transcript);
    if (rc != IOTLS_OK)
        return rc;
    s->hrr_cookie_len = (uint8_t)cookie_len;
    s->hrr_group = choice->group;
    memcpy(s->session_id, ch->session_id.p, ch->session_id.len);
    s->session_id_len = (uint8_t)ch->session_id.len;
    s->state = IOTLS_SV_SEND_HRR;
    return IOTLS_OK;
}

/* The client's record limits on what we send, and our answer for
 * EncryptedExtensions (kept until send_encrypted_extensions):
 * record_size_limit (RFC 8449) wins over max_fragment_length (RFC 6066)
 * when both come (RFC 8449 5); our own limit, the configured record size,
 * goes back with record_size_limit. */
static void apply_record_limits(iotls_conn *c, const iotls_client_hello *ch)
{
    size_t own = c->max_record_in;
    if (!IOTLS_FEATURE_RECORD_SIZE)
        return; /* built without: both are ignored, as an unknown extension */
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT)) {
        /* In TLS 1.3 the limit counts the content type byte (RFC 8449 4). */
        size_t limit = (size_t)ch->record_size_limit - 1;
        if (limit < c->max_record_out)
            c->max_record_out = limit;
        c->hs.sv.ee_record_size_limit = (uint16_t)(own + 1);
    } else if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_MAX_FRAGMENT_LENGTH)) {
        size_t limit = (size_t)1 << (8 + ch->max_fragment_length);
        if (limit < c->max_record_out)
            c->max_record_out = limit;
        c->hs.sv.ee_max_fragment_length = ch->max_fragment_length;
    }
}

/* What the answer to an acceptable ClientHello needs from it, kept while
 * it is at hand (the send states run after its handler has returned, so
 * that its frame, the parsed ClientHello, the negotiation's choice, the
 * ticket it opened, is under none of them): the session id to echo, the
 * client's key share, the PSK's early secret, the ALPN choice, the record
 * limits, the scheme we sign with. */
static int answer_client_hello(iotls_conn *c, const iotls_client_hello *ch,
                               const iotls__sv_choice *choice)
{
    struct iotls_server_state *s = &c->hs.sv;
    if (choice->alpn.len >= c->alpn_cap || ch->session_id.len > sizeof s->session_id)
        return IOTLS_ERR_INTERNAL;
    /* The provider takes only the group's exact length (RFC 8446 4.2.8.2). */
    if (choice->share.len > sizeof s->peer_share)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    memcpy(s->session_id, ch->session_id.p, ch->session_id.len);
    s->session_id_len = (uint8_t)ch->session_id.len;
    if (choice->share.len > 0)
        memcpy(s->peer_share, choice->share.p, choice->share.len);
    s->peer_share_len = (uint8_t)choice->share.len;
    c->group = choice->group; /* 0: psk_ke, no key share */
    s->psk_identity = choice->identity;

    /* The PSK's early secret, and client_early_traffic_secret from it and
     * Hash(ClientHello), kept from before the ServerHello. */
    int rc = iotls__ks_init(&c->ks, c->hash, choice->resumed ? choice->psk : NULL,
                            choice->resumed ? choice->psk_len : 0);
    if (rc == IOTLS_OK && s->early_accepted)
        rc = iotls__ks_early_traffic(&c->ks, s->ch_hash);
    if (rc != IOTLS_OK)
        return rc;
    c->resumed = choice->resumed && !choice->ext_psk;
    c->ext_psk = choice->resumed && choice->ext_psk;
    /* A full handshake's client certificate sets it in on_certificate. */
    c->peer_auth = c->ext_psk                     ? IOTLS_PEER_AUTH_PSK
                   : c->resumed && c->client_auth ? IOTLS_PEER_AUTH_RESUMED
                                                  : IOTLS_PEER_AUTH_NONE;

    if (choice->alpn.len > 0)
        memcpy(c->alpn, choice->alpn.p, choice->alpn.len);
    c->alpn[choice->alpn.len] = '\0';
    s->alpn_len = (uint8_t)choice->alpn.len;
    apply_record_limits(c, ch);
    /* Unused when a PSK authenticates (no CertificateVerify). */
    s->sig_scheme = choice->sig_scheme;
    s->state = IOTLS_SV_SEND_SH;
    return IOTLS_OK;
}

/* ---------------- send states ----------------
 * Each writes one message (SEND_TICKETS: one ticket a run) and moves the
 * state on; conn.c's advance loop runs them one after the other, each
 * returning before the next starts. */

static int psk_authenticates(const iotls_conn *c)
{
    return c->resumed || c->ext_psk;
}

/* HelloRetryRequest [CCS] (RFC 8446 D.4: the client sent a
 * legacy_session_id), in the clear; then the second ClientHello. */
static int send_hello_retry_request(iotls_conn *c)
{
    struct iotls_server_state *s = &c->hs.sv;
    iotls_server_hello_params hp;
    iotls__hrr_params(&hp, s->session_id, s->session_id_len, c->suite, s->hrr_group, s->hrr_cookie,
                      s->hrr_cookie_len);
    int rc = send_message(c, write_server_hello, &hp);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    if (rc == IOTLS_OK && s->session_id_len > 0 && !c->ccs_sent)
        rc = iotls__conn_send_ccs(c);
    if (rc != IOTLS_OK)
        return rc;
    c->hrr = 1;
    iotls__conn_event(c, IOTLS_EV_HRR, 0, 0, (int)s->hrr_group,
                      s->hrr_cookie_len > 0 ? "sent with a cookie" : "sent");
    s->state = IOTLS_SV_WAIT_CH2;
    return IOTLS_OK;
}

/* ServerHello [CCS] and the handshake keys: our key share, the shared
 * secret (a bad client share fails here, before anything is sent), the
 * handshake secrets. */
static int send_server_hello(iotls_conn *c)
{
    struct iotls_server_state *s = &c->hs.sv;
    uint8_t pub[IOTLS_MAX_KEX_PUBLIC_LEN];
    uint8_t dhe[IOTLS_MAX_KEX_SECRET_LEN];
    uint8_t random[32];
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    size_t pub_len = 0, dhe_len = 0;

    int rc = IOTLS_OK;
    if (c->group != 0)
        rc = iotls__kex_generate(&s->kex, c->group, pub, sizeof pub, &pub_len);
    if (rc == IOTLS_OK && c->group != 0) {
        s->kex_active = 1;
        rc =
            iotls__kex_derive(&s->kex, s->peer_share, s->peer_share_len, dhe, sizeof dhe, &dhe_len);
    }
    if (s->kex_active) {
        iotls__kex_free(&s->kex);
        s->kex_active = 0;
    }
    if (rc == IOTLS_OK)
        rc = iotls__random(random, sizeof random);
    if (rc == IOTLS_OK) {
        iotls_server_hello_params hp;
        memset(&hp, 0, sizeof hp);
        hp.random = random;
        hp.session_id_echo = s->session_id;
        hp.session_id_len = s->session_id_len;
        hp.cipher_suite = c->suite;
        hp.key_share_group = c->group;
        hp.key_share = pub;
        hp.key_share_len = pub_len;
        hp.has_psk = psk_authenticates(c);
        hp.selected_identity = s->psk_identity;
        rc = send_message(c, write_server_hello, &hp);
    }
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__ks_handshake(&c->ks, dhe_len > 0 ? dhe : NULL, dhe_len, hash);
    iotls__wipe(dhe, sizeof dhe);
    if (rc != IOTLS_OK)
        return rc;
    iotls__conn_keylog(c, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", c->ks.client_hs_traffic);
    iotls__conn_keylog(c, "SERVER_HANDSHAKE_TRAFFIC_SECRET", c->ks.server_hs_traffic);
    if (s->early_accepted)
        iotls__conn_keylog(c, "CLIENT_EARLY_TRAFFIC_SECRET", c->ks.client_early_traffic);

    /* ServerHello goes out in the clear, then the optional CCS (RFC 8446
     * D.4: the client sent a legacy_session_id); everything after it under
     * the handshake keys. */
    rc = iotls__conn_flush(c);
    if (rc == IOTLS_OK && s->session_id_len > 0 && !c->ccs_sent)
        rc = iotls__conn_send_ccs(c);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_write_secret(c, c->ks.server_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    /* Accepted 0-RTT: the client's early records come first, until its
     * EndOfEarlyData. */
    if (rc == IOTLS_OK && s->early_accepted)
        rc = iotls__conn_set_read_secret(c, c->ks.client_early_traffic, IOTLS_EPOCH_EARLY);
    else if (rc == IOTLS_OK)
        rc = iotls__conn_set_read_secret(c, c->ks.client_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    if (rc == IOTLS_OK)
        s->state = IOTLS_SV_SEND_EE;
    return rc;
}

static int send_encrypted_extensions(iotls_conn *c)
{
    iotls_encrypted_extensions_params ee;
    memset(&ee, 0, sizeof ee);
    if (c->hs.sv.alpn_len > 0) {
        ee.alpn = (const uint8_t *)c->alpn;
        ee.alpn_len = c->hs.sv.alpn_len;
    }
    ee.server_name_ack = c->hs.sv.sni_ack;
    ee.early_data = c->hs.sv.early_accepted;
    ee.record_size_limit = c->hs.sv.ee_record_size_limit;
    ee.max_fragment_length = c->hs.sv.ee_max_fragment_length;
    /* RFC 8446 4.2.7: tells the client our groups, for next time. */
    ee.groups = c->cfg->groups;
    ee.group_count = c->cfg->group_count;
    int rc = send_message(c, write_encrypted_extensions, &ee);
    /* RFC 8446 4.3.2: no CertificateRequest when the PSK authenticates;
     * and the PSK stands for our certificate too. */
    if (rc == IOTLS_OK)
        c->hs.sv.state = psk_authenticates(c) ? IOTLS_SV_SEND_FINISHED
                         : c->cfg->verify_client != IOTLS_VERIFY_CLIENT_NONE
                             ? IOTLS_SV_SEND_CERT_REQUEST
                             : IOTLS_SV_SEND_CERT;
    return rc;
}

static int send_certificate_request(iotls_conn *c)
{
    int rc = send_message(c, write_certificate_request, NULL);
    if (rc == IOTLS_OK) {
        c->hs.sv.cert_requested = 1;
        c->hs.sv.state = IOTLS_SV_SEND_CERT;
    }
    return rc;
}

static int send_certificate(iotls_conn *c)
{
    const iotls_config *cc = iotls__sv_cert_config(c);
    own_chain chain;
    chain.count = iotls__x509_count(&cc->cert);
    if (chain.count == 0 || chain.count > MAX_OWN_CHAIN)
        return IOTLS_ERR_CONFIG;
    for (size_t i = 0; i < chain.count; i++) {
        int rc = iotls__x509_der(&cc->cert, i, &chain.ders[i], &chain.lens[i]);
        if (rc != IOTLS_OK)
            return rc;
    }
    int rc = send_message(c, write_certificate, &chain);
    if (rc == IOTLS_OK)
        c->hs.sv.state = IOTLS_SV_SEND_CV;
    return rc;
}

/* The deepest call of a server's handshake, the signature (docs/stack.md):
 * under this small frame and the dispatcher only. */
static int send_certificate_verify(iotls_conn *c)
{
    /* The key is only borrowed from the (shared, const) config: signing
     * does not change it, mbedTLS just wants a mutable context. */
    int rc = iotls__conn_send_certificate_verify(c, (iotls_pkey *)&iotls__sv_cert_config(c)->key,
                                                 c->hs.sv.sig_scheme, 1);
    if (rc == IOTLS_OK) {
        c->own_sig_scheme = c->hs.sv.sig_scheme;
        c->hs.sv.state = IOTLS_SV_SEND_FINISHED;
    }
    return rc;
}

/* {Finished}, the flight sealed, then the application write keys (the
 * read keys stay the client's handshake keys until its Finished). */
static int send_finished(iotls_conn *c)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t verify_data[IOTLS_MAX_HASH_LEN];
    int rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__finished_verify_data(c->hash, c->ks.server_hs_traffic, hash, verify_data);
    if (rc == IOTLS_OK)
        rc = send_message(c, write_finished, verify_data);
    iotls__wipe(verify_data, sizeof verify_data);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    if (rc == IOTLS_OK)
        rc = iotls__conn_derive_master(c);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_write_secret(c, c->ks.server_app_traffic, IOTLS_EPOCH_APPLICATION);
    if (rc == IOTLS_OK)
        c->hs.sv.state = c->hs.sv.early_accepted   ? IOTLS_SV_WAIT_EOED
                         : c->hs.sv.cert_requested ? IOTLS_SV_WAIT_CERT
                                                   : IOTLS_SV_WAIT_FINISHED;
    return rc;
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
    return iotls__new_session_ticket_write(w, n->lifetime, n->age_add, &n->nonce, 1, n->ticket,
                                           n->ticket_len, n->max_early_data);
}

/* One of cfg->ticket_count NewSessionTickets under the application keys,
 * each nonce its own PSK (RFC 8446 4.6.1); after the last, they are
 * sealed and the server is done. */
static int send_ticket(iotls_conn *c)
{
    const iotls_config *cfg = c->cfg;
    unsigned count = IOTLS_FEATURE_RESUMPTION && cfg->has_ticket_key ? cfg->ticket_count : 0;
    if (count > 256)
        count = 256; /* one byte of nonce each */
    if (c->hs.sv.tickets_sent >= count) {
        int rc = iotls__conn_flush(c);
        if (rc == IOTLS_OK)
            c->hs.sv.state = IOTLS_SV_DONE;
        return rc;
    }
    /* The body and the sealed ticket are kept in the scratch region
     * (src/scratch.h), behind the message that copies the ticket: on the
     * stack they were 1,160 B under the ticket's sealing (cm4). */
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    struct iotls_scratch_nst *scratch = iotls__conn_scratch(&w, sizeof *scratch);
    if (scratch == NULL)
        return IOTLS_ERR_BUFFER_TOO_SMALL; /* sealed behind the queued tickets, then again */
    iotls__ticket_body *t = &scratch->ticket;
    uint8_t age_add[4];
    nst_out n;
    memset(t, 0, sizeof *t);
    n.nonce = (uint8_t)c->hs.sv.tickets_sent;
    t->suite = c->suite;
    t->psk_len = c->hash_len;
    t->lifetime = iotls__ticket_lifetime_s(cfg);
    t->issued_ms = iotls__config_now_ms(cfg);
    t->max_early_data = cfg->max_early_data;
    size_t alpn_len = strlen(c->alpn);
    if (alpn_len >= sizeof t->alpn)
        alpn_len = sizeof t->alpn - 1;
    memcpy(t->alpn, c->alpn, alpn_len);
    t->alpn[alpn_len] = '\0';
    int rc = iotls__ticket_sni_digest(c->server_name, t->sni_digest);
    if (rc == IOTLS_OK)
        rc = iotls__random(age_add, sizeof age_add);
    t->age_add = ((uint32_t)age_add[0] << 24) | ((uint32_t)age_add[1] << 16) |
                 ((uint32_t)age_add[2] << 8) | age_add[3];
    if (rc == IOTLS_OK)
        rc = iotls__resumption_psk(c->hash, c->ks.resumption_master, &n.nonce, 1, t->psk);
    /* The client identity goes into every ticket of an authenticated
     * client, so that it resumes as that client (select_psk). */
    const iotls_peer_id *client = c->client_auth ? c->client_id : NULL;
    if (rc == IOTLS_OK)
        rc = iotls__ticket_seal(cfg, t->issued_ms, t, client, scratch->sealed, &n.ticket_len);
    iotls__wipe(t, sizeof *t);
    if (rc != IOTLS_OK) {
        iotls__wipe(scratch, sizeof *scratch);
        return rc;
    }
    n.lifetime = iotls__ticket_lifetime_s(cfg);
    n.age_add = ((uint32_t)age_add[0] << 24) | ((uint32_t)age_add[1] << 16) |
                ((uint32_t)age_add[2] << 8) | age_add[3];
    n.ticket = scratch->sealed;
    n.max_early_data = cfg->max_early_data;
    rc = write_new_session_ticket(c, &w, &n);
    if (rc == IOTLS_OK)
        rc = iotls__wr_error(&w);
    iotls__wipe(scratch, sizeof *scratch);
    /* After the handshake: not part of any transcript. */
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit_raw(c, &w);
    if (rc == IOTLS_OK)
        c->hs.sv.tickets_sent++;
    return rc;
}

/* ---------------- 0-RTT ---------------- */

static int on_end_of_early_data(iotls_conn *c, const uint8_t *msg, size_t len)
{
    int rc = iotls__end_of_early_data_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_read_secret(c, c->ks.client_hs_traffic, IOTLS_EPOCH_HANDSHAKE);
    if (rc == IOTLS_OK)
        c->hs.sv.state = IOTLS_SV_WAIT_FINISHED; /* resumed: no client certificate */
    return rc;
}

/* ---------------- transitions ---------------- */

static int on_client_hello(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_client_hello ch;
    iotls__sv_choice choice;
    memset(&choice, 0, sizeof choice);
    int rc = iotls__sv_read_client_hello(msg, len, &ch);
    if (rc != IOTLS_OK)
        return rc;
    memcpy(c->client_random, ch.random.p, sizeof c->client_random);

    /* A cookie in a first ClientHello belongs to no HelloRetryRequest of
     * this connection (RFC 8446 4.2.2 forbids reusing one): ignored. */
    rc = iotls__sv_process_sni(c, &ch);
    if (rc != IOTLS_OK)
        return rc;
    int group_rc = IOTLS_OK;
    rc = iotls__sv_choose_from_offer(c, &ch, &choice, &group_rc);
    if (rc == IOTLS_OK)
        rc = iotls__sv_negotiate(c, msg, &ch, group_rc, &choice);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_suite(c, choice.suite);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK && c->hs.sv.early_accepted)
        rc = iotls__transcript_hash(&c->transcript, c->hs.sv.ch_hash);
    if (rc == IOTLS_OK && choice.share.len == 0 && !choice.psk_ke) {
        rc = ask_for_retry(c, &ch, &choice);
    } else if (rc == IOTLS_OK) {
        rc = answer_client_hello(c, &ch, &choice);
    }
    iotls__wipe(choice.psk, sizeof choice.psk);
    return rc;
}

/* The second ClientHello against what the first decided, kept by the
 * connection (the default): no cookie may come (we sent none), the fields
 * RFC 8446 4.1.2 forbids to change have the first ClientHello's digest,
 * the suite is c->suite and the group the one we asked for. */
static int check_retry_kept(const iotls_conn *c, const iotls_client_hello *ch2,
                            iotls__sv_choice *choice)
{
    const struct iotls_server_state *s = &c->hs.sv;
    uint8_t fields[IOTLS_HRR_FIELDS_LEN];
    if (ch2->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    int rc = iotls__hrr_fields_digest(ch2, fields);
    if (rc == IOTLS_OK && iotls__ct_memcmp(fields, s->hrr_fields, sizeof fields) != 0)
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
    choice->suite = c->suite;
    choice->group = s->hrr_group;
    return rc;
}

/* The answer to our HelloRetryRequest. With a cookie, everything it
 * depends on comes from the cookie and this message, so a server that
 * forgot the first ClientHello would reach the same result. */
static int on_client_hello2(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_client_hello ch;
    iotls__sv_choice choice;
    iotls_bytes ch1_hash = {NULL, 0};
    memset(&choice, 0, sizeof choice);
    int rc = iotls__sv_read_client_hello(msg, len, &ch);
    if (rc != IOTLS_OK)
        return rc;
    /* Any 0-RTT records came before this message; none may follow. */
    c->hs.skip_early_data = 0;
    if (ch.early_data) /* RFC 8446 4.1.2: removed in the second ClientHello */
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    int with_cookie = c->hs.sv.hrr_cookie_len > 0;
    if (with_cookie)
        rc = iotls__cookie_open(c, &ch, &choice.suite, &choice.group, &ch1_hash);
    else
        rc = check_retry_kept(c, &ch, &choice);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls__sv_check_retry(c, &ch, &choice);
    if (rc != IOTLS_OK)
        return rc;
    memcpy(c->client_random, ch.random.p, sizeof c->client_random);
    rc = iotls__sv_process_sni(c, &ch);
    if (rc == IOTLS_OK && c->suite == 0)
        rc = iotls__conn_set_suite(c, choice.suite);
    /* The transcript up to this message: message_hash(ClientHello1) and
     * the HelloRetryRequest (kept, or rebuilt from the cookie). A PSK
     * offered again (RFC 8446 4.1.4) has its binder over them and this
     * message up to the binders (4.2.11.2). */
    if (rc == IOTLS_OK && with_cookie)
        rc = iotls__hrr_rebuild_transcript(c, &ch, choice.suite, choice.group, ch1_hash);
    if (rc == IOTLS_OK)
        rc = iotls__sv_negotiate(c, msg, &ch, IOTLS_OK, &choice);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK) {
        c->hrr = 1;
        rc = answer_client_hello(c, &ch, &choice);
    }
    iotls__wipe(choice.psk, sizeof choice.psk);
    return rc;
}

static int on_certificate(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_certificate cert;
    c->hs.skip_early_data = 0;
    int rc = iotls__certificate_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cert);
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
        rc = iotls__transcript_update(&c->transcript, msg, len);
        if (rc == IOTLS_OK)
            c->hs.sv.state = IOTLS_SV_WAIT_FINISHED;
        return rc;
    }
    if (cert.count > IOTLS_MAX_PEER_CHAIN)
        return IOTLS_ERR_BAD_CERTIFICATE; /* well-formed, but more than we parse */
    size_t pos = 0;
    iotls_bytes der;
    while (iotls__certificate_next(cert.certificate_list, &pos, &der)) {
        rc = iotls__x509_add_der(&c->peer_chain, der.p, der.len);
        if (rc != IOTLS_OK)
            return rc;
    }
    c->peer_cert_presented = 1;
    rc = iotls__conn_verify_peer_chain(c, 0);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK)
        c->hs.sv.state = IOTLS_SV_WAIT_CV;
    return rc;
}

static int on_certificate_verify(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_certificate_verify cv;
    int rc =
        iotls__certificate_verify_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, &cv);
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
    rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__certificate_verify_content(0, hash, c->hash_len, content, sizeof content,
                                               &content_len);
    if (rc == IOTLS_OK)
        rc = iotls__x509_verify_signature(&c->peer_chain, cv.scheme, content, content_len,
                                          cv.signature.p, cv.signature.len);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    if (rc == IOTLS_OK) {
        c->peer_sig_scheme = cv.scheme;
        c->hs.sv.state = IOTLS_SV_WAIT_FINISHED;
    }
    return rc;
}

static int on_finished(iotls_conn *c, const uint8_t *msg, size_t len)
{
    iotls_bytes received;
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t expected[IOTLS_MAX_HASH_LEN];
    c->hs.skip_early_data = 0;
    int rc = iotls__finished_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN,
                                   c->hash_len, &received);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__finished_verify_data(c->hash, c->ks.client_hs_traffic, hash, expected);
    if (rc == IOTLS_OK && iotls__ct_memcmp(expected, received.p, c->hash_len) != 0)
        rc = IOTLS_ERR_DECRYPT_ERROR;
    iotls__wipe(expected, sizeof expected);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, msg, len);
    /* The resumption secret is only for tickets. */
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK && IOTLS_FEATURE_RESUMPTION)
        rc = iotls__ks_resumption(&c->ks, hash);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_read_secret(c, c->ks.client_app_traffic, IOTLS_EPOCH_APPLICATION);
    if (rc != IOTLS_OK)
        return rc;
    /* Certificate, CertificateVerify and Finished all checked. Resumed:
     * the ticket said (select_psk). */
    if (!c->resumed) {
        c->client_auth = c->peer_cert_presented && c->peer_auth != IOTLS_PEER_AUTH_NONE &&
                         c->peer_sig_scheme != 0 && c->client_id != NULL;
        if (c->client_auth) {
            /* What our tickets carry for this client. */
            rc = iotls__x509_spki_sha256(&c->peer_chain, c->client_id->spki_sha256);
            if (rc != IOTLS_OK)
                return rc;
            /* A subject too long for it is left empty, as in iotls_info:
             * the SPKI hash still names the client. */
            c->client_id->subject[0] = '\0';
            (void)iotls__x509_subject(&c->peer_chain, 0, c->client_id->subject,
                                      sizeof c->client_id->subject);
        }
    }
    c->hs.sv.state = IOTLS_SV_SEND_TICKETS;
    iotls__server_wipe(c); /* the handshake-only state has no further use */
    iotls__conn_handshake_complete(c);
    return IOTLS_OK;
}

/* The one message each state accepts, and the read epoch it must arrive in
 * (a ClientHello in the clear, the client's second flight under the
 * handshake keys, EndOfEarlyData under the early keys). */
static const iotls_hs_transition transitions[] = {
    {IOTLS_SV_WAIT_CH, IOTLS_HS_CLIENT_HELLO, IOTLS_EPOCH_PLAIN, on_client_hello, NULL},
    {IOTLS_SV_WAIT_CH2, IOTLS_HS_CLIENT_HELLO, IOTLS_EPOCH_PLAIN, on_client_hello2, NULL},
    {IOTLS_SV_WAIT_EOED, IOTLS_HS_END_OF_EARLY_DATA, IOTLS_EPOCH_EARLY, on_end_of_early_data, NULL},
    {IOTLS_SV_WAIT_CERT, IOTLS_HS_CERTIFICATE, IOTLS_EPOCH_HANDSHAKE, on_certificate, NULL},
    {IOTLS_SV_WAIT_CV, IOTLS_HS_CERTIFICATE_VERIFY, IOTLS_EPOCH_HANDSHAKE, on_certificate_verify,
     NULL},
    {IOTLS_SV_WAIT_FINISHED, IOTLS_HS_FINISHED, IOTLS_EPOCH_HANDSHAKE, on_finished, NULL},
};

void iotls__server_fail(iotls_conn *c)
{
    c->hs.sv.state = IOTLS_SV_FAILED;
    c->hs.skip_early_data = 0;
    iotls__server_wipe(c);
}

int iotls__server_handle(iotls_conn *c, uint8_t hs_type, const uint8_t *msg, size_t len)
{
    if (!c || !msg || len < IOTLS_HS_HEADER_LEN || msg[0] != hs_type)
        return IOTLS_ERR_INTERNAL;
    if (c->hs.sv.state == IOTLS_SV_FAILED)
        return IOTLS_ERR_FAILED;
    int rc = IOTLS_ERR_UNEXPECTED_MESSAGE;
    for (size_t i = 0; i < sizeof transitions / sizeof transitions[0]; i++) {
        if (transitions[i].state == c->hs.sv.state && transitions[i].hs_type == hs_type &&
            transitions[i].epoch == c->rd_epoch) {
            rc = transitions[i].handler(c, msg, len);
            break;
        }
    }
    if (rc != IOTLS_OK)
        iotls__server_fail(c);
    return rc;
}

/* The states that send, each with its step (the send states above). */
static const iotls_send_state send_states[] = {
    {IOTLS_SV_SEND_HRR, send_hello_retry_request},
    {IOTLS_SV_SEND_SH, send_server_hello},
    {IOTLS_SV_SEND_EE, send_encrypted_extensions},
    {IOTLS_SV_SEND_CERT_REQUEST, send_certificate_request},
    {IOTLS_SV_SEND_CERT, send_certificate},
    {IOTLS_SV_SEND_CV, send_certificate_verify},
    {IOTLS_SV_SEND_FINISHED, send_finished},
    {IOTLS_SV_SEND_TICKETS, send_ticket},
};

int iotls__server_step(iotls_conn *c)
{
    for (size_t i = 0; i < sizeof send_states / sizeof send_states[0]; i++)
        if (send_states[i].state == c->hs.sv.state)
            return send_states[i].step(c);
    return IOTLS__NO_SEND_STATE;
}

void iotls__server_wipe(iotls_conn *c)
{
    if (!c)
        return;
    /* The state survives, as the client's: a failed or finished handshake
     * keeps refusing handshake messages. */
    int state = c->hs.sv.state;
    unsigned tickets_sent = c->hs.sv.tickets_sent; /* SEND_TICKETS runs after the wipe */
    if (c->hs.sv.kex_active)
        iotls__kex_free(&c->hs.sv.kex);
    iotls__wipe(&c->hs.sv, sizeof c->hs.sv);
    c->hs.sv.state = state;
    c->hs.sv.tickets_sent = tickets_sent;
}
