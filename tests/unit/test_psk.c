/* External PSKs and automatic KeyUpdate (src/server.c select_psk, the PSK
 * parts of src/client.c, src/conn_out.c iotls_conn_write).
 *
 * Our client against our server in memory:
 * 1. external PSK with psk_dhe_ke and psk_ke, SHA-256 and SHA-384 suites:
 *    no certificate on either side, both report external_psk, the suite
 *    has the PSK's hash, group 0 exactly for psk_ke;
 * 2. a wrong key is decrypt_error (the binder), an unknown identity a full
 *    handshake (server with a certificate) or handshake_failure (PSK-only
 *    server), a PSK-only client refuses a certificate it cannot check;
 * 3. KeyUpdate every 5 records: 100 records each way arrive intact while
 *    both sides rotate their keys many times;
 * 4. a client with a PSK, a CA and no server name against a server that
 *    ignores the PSK and presents a certificate of that CA for another
 *    name: refused at start-up (engine and blocking API), and by the
 *    certificate check should a name be missing there anyway; with a pin
 *    and no name the handshake completes and reports authentication by the
 *    pin, not a verified certificate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "msg/msg.h"
#include "enginepair.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";

static const uint8_t g_key[32] = {0x0b, 0x1c, 0x2d, 0x3e, 0x4f, 0x50, 0x61, 0x72, 0x83, 0x94, 0xa5,
                                  0xb6, 0xc7, 0xd8, 0xe9, 0xfa, 0x01, 0x12, 0x23, 0x34, 0x45, 0x56,
                                  0x67, 0x78, 0x89, 0x9a, 0xab, 0xbc, 0xcd, 0xde, 0xef, 0xf0};
static const char *g_id = "sensor-0042";

static int make_pki(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    int rc =
        tl_make_pki("CN=psk test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert, sizeof ca_key);
    return rc;
}

/* Moves from's output to `to` and feeds it; received application data is
 * appended to sink (may be NULL: then it must not come). Returns <0 on an
 * error, 1 on progress, 0 when nothing moved. */
static int shuttle(iotls_conn *from, tl_wire *w, iotls_conn *to, uint8_t *sink, size_t sink_cap,
                   size_t *sink_len)
{
    int progress = 0;
    size_t n;
    const uint8_t *p = iotls_conn_output(from, &n);
    if (p && n <= sizeof w->buf - w->len) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        iotls_conn_output_consume(from, n);
        progress = 1;
    }
    for (;;) {
        size_t used = 0;
        int rc = w->len ? iotls_conn_input(to, w->buf, w->len, &used) : IOTLS_OK;
        memmove(w->buf, w->buf + used, w->len - used);
        w->len -= used;
        if (rc != IOTLS_OK)
            return rc;
        size_t got = 0;
        uint8_t tmp[4096];
        int rrc = iotls_conn_read(to, tmp, sizeof tmp, &got);
        if (rrc == IOTLS_OK && got > 0) {
            CHECK(sink != NULL && *sink_len + got <= sink_cap);
            if (sink && *sink_len + got <= sink_cap) {
                memcpy(sink + *sink_len, tmp, got);
                *sink_len += got;
            }
            progress = 1;
            continue;
        }
        if (used > 0) {
            progress = 1;
            continue;
        }
        return progress;
    }
}

typedef struct {
    int hs_rc; /* first error: server's or client's */
    int sv_err, cl_err;
    int sv_alert_sent, cl_peer_alert;
    int ext_sv, ext_cl, resumed;
    int cert_sent;
    int cl_share_sent;    /* the ClientHello had a key_share */
    uint16_t first_suite; /* the ClientHello's first suite */
    uint16_t suite;
    uint16_t group;
    int cl_auth, sv_auth; /* iotls_info.peer_auth of each side */
    int cl_verified;      /* the client's peer_cert_verified */
    uint8_t cl_spki[32];  /* SPKI SHA-256 of the server's leaf, as the client saw it */
} result;

static void count_cert(void *arg, const iotls_conn *conn, const iotls_event *ev)
{
    (void)conn;
    if (ev->kind == IOTLS_EV_HS_SENT && ev->hs_type == IOTLS_HS_CERTIFICATE)
        (*(int *)arg)++;
}

static tl_wire to_sv, to_cl;

static int handshake(iotls_conn *sv, iotls_conn *cl)
{
    for (int i = 0; i < 50; i++) {
        int a = shuttle(cl, &to_sv, sv, NULL, 0, NULL);
        int b = shuttle(sv, &to_cl, cl, NULL, 0, NULL);
        if (a < 0 || b < 0) {
            (void)shuttle(sv, &to_cl, cl, NULL, 0, NULL); /* deliver the alert */
            (void)shuttle(cl, &to_sv, sv, NULL, 0, NULL);
            break;
        }
        if (a == 0 && b == 0)
            break;
    }
    int sv_err = iotls_conn_error(sv), cl_err = iotls_conn_error(cl);
    if (sv_err || cl_err)
        return sv_err ? sv_err : cl_err;
    return iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl) ? IOTLS_OK
                                                                          : IOTLS_ERR_INTERNAL;
}

/* One connection; the client checks name (NULL or "": none). */
static result run_named(iotls_config *scfg, iotls_config *ccfg, const char *name)
{
    result r;
    memset(&r, 0, sizeof r);
    int certs = 0;
    iotls_config_set_trace(scfg, count_cert, &certs);
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, name);
    CHECK(sv != NULL && cl != NULL);
    if (!sv || !cl) {
        tl_conn_free(sv);
        tl_conn_free(cl);
        r.hs_rc = IOTLS_ERR_INTERNAL;
        return r;
    }
    to_sv.len = to_cl.len = 0;
    CHECK_OK(iotls_conn_start(sv));
    int start_rc = iotls_conn_start(cl);
    if (start_rc != IOTLS_OK) {
        /* Refused before anything was sent. */
        size_t n = 0;
        CHECK(iotls_conn_output(cl, &n) == NULL || n == 0);
        iotls_config_set_trace(scfg, NULL, NULL);
        tl_conn_free(sv);
        tl_conn_free(cl);
        r.hs_rc = r.cl_err = start_rc;
        return r;
    }
    /* Look into the ClientHello for a key_share before it leaves. */
    size_t ch_len = 0;
    const uint8_t *ch = iotls_conn_output(cl, &ch_len);
    iotls_client_hello parsed;
    if (ch && ch_len > 9 && iotls__client_hello_parse(ch + 9, ch_len - 9, &parsed) == IOTLS_OK) {
        r.cl_share_sent = (parsed.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)) != 0;
        r.first_suite = (uint16_t)(parsed.cipher_suites.p[0] << 8 | parsed.cipher_suites.p[1]);
    } else
        CHECK(0);
    r.hs_rc = handshake(sv, cl);
    r.sv_err = iotls_conn_error(sv);
    r.cl_err = iotls_conn_error(cl);
    iotls_info si, ci;
    CHECK_OK(iotls_conn_info(sv, &si));
    CHECK_OK(iotls_conn_info(cl, &ci));
    r.sv_alert_sent = si.alert_sent;
    r.cl_peer_alert = ci.peer_alert;
    r.cl_auth = ci.peer_auth;
    r.sv_auth = si.peer_auth;
    r.cl_verified = ci.peer_cert_verified;
    /* Zero when the server presented no certificate (BAD_STATE). */
    if (iotls_conn_peer_spki_sha256(cl, r.cl_spki) != IOTLS_OK)
        memset(r.cl_spki, 0, sizeof r.cl_spki);
    r.ext_sv = si.external_psk;
    r.ext_cl = ci.external_psk;
    r.resumed = si.resumed || ci.resumed;
    r.cert_sent = certs;
    r.suite = cl->suite;
    r.group = sv->group;
    if (r.hs_rc == 0) {
        CHECK(sv->suite == cl->suite && sv->group == cl->group);
        size_t n = 0, got = 0;
        uint8_t buf[16];
        CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"ping", 4, &n));
        CHECK(shuttle(cl, &to_sv, sv, buf, sizeof buf, &got) > 0);
        CHECK(got == 4 && memcmp(buf, "ping", 4) == 0);
    }
    iotls_config_set_trace(scfg, NULL, NULL);
    tl_conn_free(sv);
    tl_conn_free(cl);
    return r;
}

static result run(iotls_config *scfg, iotls_config *ccfg)
{
    return run_named(scfg, ccfg, g_name);
}

static iotls_config *psk_config(uint16_t suite, const char *id, int flip_key)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    uint8_t key[sizeof g_key];
    memcpy(key, g_key, sizeof key);
    key[5] ^= (uint8_t)flip_key;
    CHECK_OK(iotls_config_set_psk(cfg, (const uint8_t *)id, strlen(id), key, sizeof key, suite));
    return cfg;
}

static void add_cert(iotls_config *cfg)
{
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
}

static void add_ca(iotls_config *cfg)
{
    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
}

static void test_setter(void)
{
    iotls_config *cfg = iotls_config_new();
    const uint8_t id[1] = {'a'};
    uint8_t big[IOTLS_MAX_PSK_IDENTITY + 1];
    memset(big, 'x', sizeof big);
    CHECK_RC(iotls_config_set_psk(cfg, id, 0, g_key, 32, 0x1301), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_psk(cfg, big, sizeof big, g_key, 32, 0x1301), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_psk(cfg, id, 1, g_key, 15, 0x1301), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_psk(cfg, id, 1, big, 65, 0x1301), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_psk(cfg, id, 1, g_key, 32, 0x00FF), IOTLS_ERR_BAD_ARG);
    CHECK(!cfg->has_ext_psk);
    CHECK_OK(iotls_config_set_psk(cfg, big, IOTLS_MAX_PSK_IDENTITY, big, 64, 0x1302));
    CHECK(cfg->has_ext_psk && cfg->ext_psk_hash == IOTLS_HASH_SHA384 && cfg->ext_psk_len == 64);
    /* The key-update limit: configured below the AEAD's, capped above. */
    CHECK(iotls__config_key_update_limit(cfg, IOTLS_AEAD_AES_128_GCM) == (uint64_t)1 << 24);
    CHECK(iotls__config_key_update_limit(cfg, IOTLS_AEAD_CHACHA20_POLY1305) == (uint64_t)1 << 40);
    iotls_config_set_key_update_limit(cfg, 5);
    CHECK(iotls__config_key_update_limit(cfg, IOTLS_AEAD_AES_256_GCM) == 5);
    iotls_config_set_key_update_limit(cfg, (uint64_t)1 << 30);
    CHECK(iotls__config_key_update_limit(cfg, IOTLS_AEAD_AES_256_GCM) == (uint64_t)1 << 24);
    iotls_config_free(cfg);
}

static void test_psk_modes(void)
{
    static const uint16_t suites[2] = {IOTLS_TLS_AES_128_GCM_SHA256, IOTLS_TLS_AES_256_GCM_SHA384};
    for (size_t i = 0; i < 2; i++) {
        uint16_t suite = suites[i];
        iotls_hash_alg alg = iotls__suite_hash(suite);
        /* PSK only on both sides: no certificate, no CA. */
        iotls_config *scfg = psk_config(suite, g_id, 0);
        iotls_config *ccfg = psk_config(suite, g_id, 0);
        result r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv == 1 && r.ext_cl == 1 && !r.resumed && r.cert_sent == 0);
        CHECK(r.cl_auth == IOTLS_PEER_AUTH_PSK && r.sv_auth == IOTLS_PEER_AUTH_PSK);
        CHECK(iotls__suite_hash(r.suite) == alg);
        CHECK(r.group == IOTLS_GROUP_X25519 && r.cl_share_sent);
        /* The client lists the suites of the PSK's hash first. */
        CHECK(r.first_suite == suite);

        /* Client offers both modes, server allows psk_ke: (EC)DHE wins. */
        iotls_config_set_psk_ke(scfg, 1);
        iotls_config_set_psk_ke(ccfg, 1);
        r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv && r.ext_cl && r.group == IOTLS_GROUP_X25519);

        /* A server without ECC prefers psk_ke. */
        iotls_config_set_psk_ke(scfg, IOTLS_PSK_KE_ONLY);
        r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv && r.ext_cl && r.group == 0 && r.cert_sent == 0);
        CHECK(iotls__suite_hash(r.suite) == alg);

        /* A client without ECC: psk_ke alone, no key share at all. */
        iotls_config_set_psk_ke(scfg, 1);
        iotls_config_set_psk_ke(ccfg, IOTLS_PSK_KE_ONLY);
        r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv && r.ext_cl && r.group == 0 && !r.cl_share_sent);

        /* ... refused by a server that does not allow psk_ke. */
        iotls_config_set_psk_ke(scfg, 0);
        r = run(scfg, ccfg);
        CHECK_RC(r.sv_err, IOTLS_ERR_HANDSHAKE_FAILURE);
        CHECK(r.cl_peer_alert == IOTLS_ALERT_HANDSHAKE_FAILURE);

        /* The wrong key: the binder does not verify. */
        iotls_config *bad = psk_config(suite, g_id, 0x40);
        r = run(scfg, bad);
        CHECK_RC(r.sv_err, IOTLS_ERR_DECRYPT_ERROR);
        CHECK(r.sv_alert_sent == IOTLS_ALERT_DECRYPT_ERROR &&
              r.cl_peer_alert == IOTLS_ALERT_DECRYPT_ERROR);
        iotls_config_free(bad);
        iotls_config_free(scfg);
        iotls_config_free(ccfg);
    }

    /* A PSK-only server that only has secp384r1: a HelloRetryRequest, and
     * the PSK offered again in the second ClientHello (binder over
     * message_hash and the HelloRetryRequest) completes with psk_dhe_ke on
     * secp384r1; with a wrong key, that binder fails. */
    {
        iotls_config *scfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
        iotls_config *ccfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
        CHECK_OK(iotls_config_set_groups(scfg, "secp384r1"));
        CHECK_OK(iotls_config_set_groups(ccfg, "x25519,secp384r1"));
        result r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv && r.ext_cl && r.cert_sent == 0 && r.group == IOTLS_GROUP_SECP384R1);
        iotls_config *bad = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0x40);
        CHECK_OK(iotls_config_set_groups(bad, "x25519,secp384r1"));
        r = run(scfg, bad);
        CHECK_RC(r.sv_err, IOTLS_ERR_DECRYPT_ERROR);
        CHECK(r.cl_peer_alert == IOTLS_ALERT_DECRYPT_ERROR);
        /* The same with the HelloRetryRequest cookie: the binder is over
         * the transcript rebuilt from it. */
        CHECK_OK(iotls_config_set_hrr_cookie(scfg, 1));
        r = run(scfg, ccfg);
        CHECK_OK(r.hs_rc);
        CHECK(r.ext_sv && r.ext_cl && r.cert_sent == 0 && r.group == IOTLS_GROUP_SECP384R1);
        r = run(scfg, bad);
        CHECK_RC(r.sv_err, IOTLS_ERR_DECRYPT_ERROR);
        iotls_config_free(bad);
        iotls_config_free(scfg);
        iotls_config_free(ccfg);
    }

    /* A SHA-384 PSK on a server that prefers AES-128-GCM (SHA-256): the
     * server picks AES-256-GCM-SHA384 for it. */
    iotls_config *scfg = psk_config(IOTLS_TLS_AES_256_GCM_SHA384, g_id, 0);
    iotls_config *ccfg = psk_config(IOTLS_TLS_AES_256_GCM_SHA384, g_id, 0);
    CHECK_OK(iotls_config_set_ciphers(scfg, "aes128gcm,chacha20,aes256gcm"));
    result r = run(scfg, ccfg);
    CHECK_OK(r.hs_rc);
    CHECK(r.suite == IOTLS_TLS_AES_256_GCM_SHA384 && r.ext_sv && r.ext_cl);
    /* A client whose suites have no SHA-384 cannot use it: it offers no PSK
     * and, without a CA, cannot accept the full handshake either. */
    add_cert(scfg);
    CHECK_OK(iotls_config_set_ciphers(ccfg, "aes128gcm"));
    r = run(scfg, ccfg);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_UNKNOWN_CA);
    CHECK(r.cert_sent == 1 && !r.ext_sv);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

static void test_unknown_identity(void)
{
    /* Server with a certificate and a PSK; client with another identity
     * and a CA: a full, certificate-authenticated handshake. */
    iotls_config *scfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    add_cert(scfg);
    iotls_config *ccfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, "sensor-0043", 0);
    add_ca(ccfg);
    result r = run(scfg, ccfg);
    CHECK_OK(r.hs_rc);
    CHECK(!r.ext_sv && !r.ext_cl && r.cert_sent == 1);
    /* An identity of the same length but other bytes: the same. */
    iotls_config *same_len = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, "sensor-0041", 0);
    add_ca(same_len);
    r = run(scfg, same_len);
    CHECK_OK(r.hs_rc);
    CHECK(!r.ext_sv && r.cert_sent == 1);
    /* The right identity: no certificate although the server has one. */
    iotls_config *good = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    r = run(scfg, good);
    CHECK_OK(r.hs_rc);
    CHECK(r.ext_sv && r.ext_cl && r.cert_sent == 0);
    /* The unknown identity on a PSK-only client (no CA): the server's
     * certificate cannot be checked. */
    iotls_config *no_ca = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, "sensor-0043", 0);
    r = run(scfg, no_ca);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_UNKNOWN_CA);
    iotls_config_free(scfg);

    /* A PSK-only server: handshake_failure. */
    scfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    r = run(scfg, ccfg);
    CHECK_RC(r.sv_err, IOTLS_ERR_HANDSHAKE_FAILURE);
    CHECK(r.cl_peer_alert == IOTLS_ALERT_HANDSHAKE_FAILURE);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    iotls_config_free(same_len);
    iotls_config_free(good);
    iotls_config_free(no_ca);
}

static void test_key_update_limit(void)
{
    iotls_config *scfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    iotls_config *ccfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    iotls_config_set_key_update_limit(scfg, 5);
    iotls_config_set_key_update_limit(ccfg, 5);
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv && cl);
    if (!sv || !cl)
        return;
    to_sv.len = to_cl.len = 0;
    CHECK_OK(iotls_conn_start(sv));
    CHECK_OK(iotls_conn_start(cl));
    CHECK_OK(handshake(sv, cl));

    enum { RECORDS = 100, RLEN = 200 };
    static uint8_t sent_c[RECORDS * RLEN], sent_s[RECORDS * RLEN];
    static uint8_t got_c[RECORDS * RLEN], got_s[RECORDS * RLEN];
    size_t got_c_len = 0, got_s_len = 0;
    for (size_t i = 0; i < sizeof sent_c; i++) {
        sent_c[i] = (uint8_t)(i * 7 + i / 256);
        sent_s[i] = (uint8_t)(i * 13 + 1 + i / 512);
    }
    /* Records in bursts of 7 each way (more than the limit, so a KeyUpdate
     * falls inside a burst), interleaved. */
    for (size_t rec = 0; rec < RECORDS; rec += 7) {
        for (size_t k = rec; k < rec + 7 && k < RECORDS; k++) {
            size_t n = 0;
            CHECK_OK(iotls_conn_write(cl, sent_c + k * RLEN, RLEN, &n));
            CHECK(n == RLEN);
            CHECK_OK(iotls_conn_write(sv, sent_s + k * RLEN, RLEN, &n));
            CHECK(n == RLEN);
        }
        for (int i = 0; i < 20; i++) {
            int a = shuttle(cl, &to_sv, sv, got_s, sizeof got_s, &got_s_len);
            int b = shuttle(sv, &to_cl, cl, got_c, sizeof got_c, &got_c_len);
            CHECK(a >= 0 && b >= 0);
            if (a <= 0 && b <= 0)
                break;
        }
    }
    /* Everything arrived, in order. */
    CHECK(got_s_len == sizeof sent_c && memcmp(got_s, sent_c, sizeof sent_c) == 0);
    CHECK(got_c_len == sizeof sent_s && memcmp(got_c, sent_s, sizeof sent_s) == 0);
    iotls_info si, ci;
    CHECK_OK(iotls_conn_info(sv, &si));
    CHECK_OK(iotls_conn_info(cl, &ci));
    /* 100 records at 5 per key: at least 19 updates of our own each, plus
     * the answers to the peer's update_requested. */
    CHECK(ci.key_updates_sent >= 19 && si.key_updates_sent >= 19);
    CHECK(ci.key_updates_received == si.key_updates_sent);
    CHECK(si.key_updates_received == ci.key_updates_sent);
    CHECK(cl->wr.seq <= 5 && sv->wr.seq <= 5);
    CHECK_OK(iotls_conn_error(sv));
    CHECK_OK(iotls_conn_error(cl));
    printf("key updates: client sent %u received %u, server sent %u received %u\n",
           ci.key_updates_sent, ci.key_updates_received, si.key_updates_sent,
           si.key_updates_received);
    tl_conn_free(sv);
    tl_conn_free(cl);

    /* One-way traffic: only the server writes, 300 records at 3 a key. The
     * client answers each update_requested and sends nothing else: its
     * answers are no KeyUpdate flood to the server. */
    iotls_config_set_key_update_limit(scfg, 3);
    sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    to_sv.len = to_cl.len = 0;
    CHECK_OK(iotls_conn_start(sv));
    CHECK_OK(iotls_conn_start(cl));
    CHECK_OK(handshake(sv, cl));
    static uint8_t one_way[300 * 50];
    size_t one_way_len = 0;
    for (size_t k = 0; k < 300; k++) {
        size_t n = 0;
        CHECK_OK(iotls_conn_write(sv, sent_s + (k % RECORDS) * RLEN, 50, &n));
        CHECK(shuttle(sv, &to_cl, cl, one_way, sizeof one_way, &one_way_len) >= 0);
        CHECK(shuttle(cl, &to_sv, sv, NULL, 0, NULL) >= 0);
    }
    CHECK(one_way_len == sizeof one_way);
    CHECK_OK(iotls_conn_error(sv));
    CHECK_OK(iotls_conn_error(cl));
    CHECK_OK(iotls_conn_info(sv, &si));
    CHECK(si.key_updates_sent == 99 && si.key_updates_received == 99);
    /* A burst of 150 records (50 requests) before the client answers: its
     * 50 answers arrive in a row, more than IOTLS_MAX_KEY_UPDATES_IN_ROW,
     * and are still no flood. */
    for (size_t k = 0; k < 150; k++) {
        size_t n = 0;
        CHECK_OK(iotls_conn_write(sv, sent_s, 50, &n));
        CHECK(n == 50);
    }
    static uint8_t burst[150 * 50];
    size_t burst_len = 0;
    for (int i = 0; i < 10; i++)
        if (shuttle(sv, &to_cl, cl, burst, sizeof burst, &burst_len) <= 0)
            break;
    CHECK(burst_len == sizeof burst);
    CHECK(shuttle(cl, &to_sv, sv, NULL, 0, NULL) > 0);
    CHECK_OK(iotls_conn_error(sv));
    CHECK_OK(iotls_conn_error(cl));
    CHECK_OK(iotls_conn_info(sv, &si));
    CHECK(si.key_updates_sent == 149 && si.key_updates_received == 149);
    /* Unasked KeyUpdates without data in between are still limited. */
    for (int i = 0; i < 40 && iotls_conn_error(sv) == IOTLS_OK; i++) {
        CHECK(iotls_conn_key_update(cl, 0) == IOTLS_OK);
        (void)shuttle(cl, &to_sv, sv, NULL, 0, NULL);
    }
    CHECK_RC(iotls_conn_error(sv), IOTLS_ERR_UNEXPECTED_MESSAGE);
    tl_conn_free(sv);
    tl_conn_free(cl);

    /* Without a limit set, 100 records need no KeyUpdate. */
    iotls_config_set_key_update_limit(scfg, 0);
    iotls_config_set_key_update_limit(ccfg, 0);
    sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    to_sv.len = to_cl.len = 0;
    CHECK_OK(iotls_conn_start(sv));
    CHECK_OK(iotls_conn_start(cl));
    CHECK_OK(handshake(sv, cl));
    got_s_len = 0;
    for (size_t k = 0; k < RECORDS; k++) {
        size_t n = 0;
        CHECK_OK(iotls_conn_write(cl, sent_c + k * RLEN, RLEN, &n));
        CHECK(shuttle(cl, &to_sv, sv, got_s, sizeof got_s, &got_s_len) >= 0);
    }
    CHECK(got_s_len == sizeof sent_c && memcmp(got_s, sent_c, sizeof sent_c) == 0);
    CHECK_OK(iotls_conn_info(cl, &ci));
    CHECK(ci.key_updates_sent == 0 && cl->wr.seq == RECORDS);
    tl_conn_free(sv);
    tl_conn_free(cl);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

/* A certificate the client's CA signed for another name, and its key. */
static char other_key[4096], other_cert[4096];

static int make_other_leaf(void)
{
    iotls_cert_spec spec = {
        .subject = "CN=attacker", .dns_names = "attacker.example", .for_server = 1};
    int rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, other_key, sizeof other_key);
    if (rc == IOTLS_OK)
        rc = iotls_pki_make_cert(&spec, other_key, ca_key, ca_cert, other_cert, sizeof other_cert);
    return rc;
}

static void add_pin(iotls_config *cfg, const uint8_t spki[32])
{
    char hex[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", spki[i]);
    CHECK_OK(iotls_config_add_pin_sha256(cfg, hex));
}

static void test_ca_without_name(void)
{
    const uint16_t suite = IOTLS_TLS_AES_128_GCM_SHA256;
    CHECK_OK(make_other_leaf());
    /* The attacker has a certificate from the client's CA, for its own
     * name, and not the client's PSK: it ignores the PSK (another identity
     * is all it knows) and answers with a full handshake. */
    iotls_config *attacker = psk_config(suite, "attacker-1", 0);
    CHECK_OK(iotls_config_set_cert_mem(attacker, (const uint8_t *)other_cert,
                                       strlen(other_cert) + 1, (const uint8_t *)other_key,
                                       strlen(other_key) + 1));
    /* The real gateway: also another identity, the device.local certificate. */
    iotls_config *gateway = psk_config(suite, "gateway-7", 0);
    add_cert(gateway);

    /* A client with a PSK, a CA and no server name: nothing would check
     * whose certificate the CA signed. Refused up front, whatever the
     * server. */
    iotls_config *ccfg = psk_config(suite, g_id, 0);
    add_ca(ccfg);
    result r = run_named(attacker, ccfg, NULL);
    CHECK_RC(r.hs_rc, IOTLS_ERR_CONFIG);
    CHECK(r.cl_auth == IOTLS_PEER_AUTH_NONE);
    r = run_named(attacker, ccfg, "");
    CHECK_RC(r.hs_rc, IOTLS_ERR_CONFIG);
    r = run_named(gateway, ccfg, NULL);
    CHECK_RC(r.hs_rc, IOTLS_ERR_CONFIG);
    /* With the name: the attacker's certificate fails the name check, the
     * gateway's passes, authenticated by its name. */
    r = run_named(attacker, ccfg, g_name);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_HOSTNAME);
    r = run_named(gateway, ccfg, g_name);
    CHECK_OK(r.hs_rc);
    CHECK(!r.ext_cl && r.cl_auth == IOTLS_PEER_AUTH_NAME && r.cl_verified == 1);
    uint8_t gateway_spki[32];
    memcpy(gateway_spki, r.cl_spki, sizeof gateway_spki);

    /* Should the engine ever meet such a certificate with no name (the
     * name lost after start-up here), the chain check refuses it too:
     * bad_certificate. */
    {
        iotls_conn *sv = tl_conn_new(attacker, IOTLS_ROLE_SERVER, NULL);
        iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
        CHECK(sv != NULL && cl != NULL);
        if (sv && cl) {
            to_sv.len = to_cl.len = 0;
            CHECK_OK(iotls_conn_start(sv));
            CHECK_OK(iotls_conn_start(cl));
            cl->server_name[0] = '\0';
            CHECK(handshake(sv, cl) != IOTLS_OK);
            CHECK_RC(iotls_conn_error(cl), IOTLS_ERR_CERT_HOSTNAME);
            iotls_info ci;
            CHECK_OK(iotls_conn_info(cl, &ci));
            CHECK(ci.alert_sent == IOTLS_ALERT_BAD_CERTIFICATE && ci.peer_cert_verified == 0 &&
                  ci.peer_auth == IOTLS_PEER_AUTH_NONE && !iotls_conn_handshake_done(cl));
        }
        tl_conn_free(sv);
        tl_conn_free(cl);
    }

    /* The blocking API refuses it before the handshake as well (the
     * timeout only bounds a client that would go ahead). */
    {
        iotls_config_set_timeout_ms(ccfg, 500);
        int sp[2];
        CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
        iotls *t = iotls_client_new(ccfg);
        CHECK(t != NULL);
        CHECK_RC(iotls_connect_socket(t, sp[0], NULL), IOTLS_ERR_CONFIG);
        CHECK(strstr(iotls_error(t), "no server name") != NULL);
        iotls_free(t);
        t = iotls_client_new(ccfg);
        CHECK_RC(iotls_connect_socket(t, sp[0], ""), IOTLS_ERR_CONFIG);
        iotls_free(t);
        close(sp[0]);
        close(sp[1]);
    }

    /* A pin and no name: the pinned key is the authentication. Reported as
     * such, not as a verified certificate (no name was checked). */
    iotls_config *pinned = psk_config(suite, g_id, 0);
    add_pin(pinned, gateway_spki);
    r = run_named(gateway, pinned, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(!r.ext_cl && r.cl_auth == IOTLS_PEER_AUTH_PIN && r.cl_verified == 0);
    r = run_named(attacker, pinned, NULL);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_PIN);
    CHECK(r.cl_auth == IOTLS_PEER_AUTH_NONE);
    /* The same with the CA: the chain is checked too, the name still not. */
    add_ca(pinned);
    r = run_named(gateway, pinned, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(r.cl_auth == IOTLS_PEER_AUTH_PIN && r.cl_verified == 0);
    r = run_named(attacker, pinned, NULL);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_PIN);
    /* Pin and name: the name was checked, so was the pin. */
    r = run_named(gateway, pinned, g_name);
    CHECK_OK(r.hs_rc);
    CHECK(r.cl_auth == IOTLS_PEER_AUTH_NAME && r.cl_verified == 1);

    /* A PSK-only client (no CA) needs no name: the PSK authenticates. */
    iotls_config *psk_only = psk_config(suite, "gateway-7", 0);
    r = run_named(gateway, psk_only, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(r.ext_cl && r.cl_auth == IOTLS_PEER_AUTH_PSK && r.cl_verified == 0);
    /* ... and a server that ignores its PSK has nothing it can check. */
    r = run_named(attacker, psk_only, NULL);
    CHECK_RC(r.cl_err, IOTLS_ERR_CERT_UNKNOWN_CA);

    iotls_config_free(attacker);
    iotls_config_free(gateway);
    iotls_config_free(ccfg);
    iotls_config_free(pinned);
    iotls_config_free(psk_only);
}

/* ---------------- a key share answered that was never sent ----------------
 * A client without ECC (IOTLS_PSK_KE_ONLY) sends neither supported_groups
 * nor key_share. A ServerHello or HelloRetryRequest with a key_share then
 * answers an extension the client did not send: unsupported_extension (RFC
 * 8446 4.2), and the HelloRetryRequest names a group the client never
 * listed (4.2.8). */

/* A ServerHello (or HelloRetryRequest) record for cl's ClientHello: its
 * session id, the PSK's suite, the PSK selected (SH only) and a key_share
 * for group (none when with_share is 0). */
static size_t hello_for(const iotls_conn *cl, int hrr, int with_share, uint16_t group, uint8_t *out,
                        size_t cap)
{
    static const uint8_t random[32] = {1};
    static const uint8_t share[32] = {9};
    iotls_server_hello_params hp;
    memset(&hp, 0, sizeof hp);
    hp.random = random;
    hp.is_hrr = hrr;
    hp.session_id_echo = cl->hs.cl.session_id;
    hp.session_id_len = cl->hs.cl.session_id_len;
    hp.cipher_suite = IOTLS_TLS_AES_128_GCM_SHA256;
    /* The writer leaves out a key_share of group 0: write X25519's and
     * patch the group afterwards. */
    hp.key_share_group = !with_share ? 0 : group != 0 ? group : IOTLS_GROUP_X25519;
    hp.key_share = share;
    hp.key_share_len = sizeof share;
    hp.has_psk = !hrr;
    iotls_writer w;
    iotls__wr_init(&w, out + 5, cap - 5);
    if (iotls__server_hello_write(&w, &hp) != IOTLS_OK)
        return 0;
    if (with_share && group == 0) {
        /* key_share: type 0x0033, length, then the group. */
        for (size_t i = 0; i + 6 <= w.len; i++)
            if (out[5 + i] == 0x00 && out[5 + i + 1] == 0x33 && out[5 + i + 4] == 0x00 &&
                out[5 + i + 5] == 0x1d) {
                out[5 + i + 5] = 0x00;
                break;
            }
    }
    out[0] = IOTLS_CT_HANDSHAKE;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(w.len >> 8);
    out[4] = (uint8_t)w.len;
    return 5 + w.len;
}

/* Starts cl, takes its ClientHello away and hands it hello_for's answer:
 * what iotls_conn_input says of it. */
static int answer_hello(iotls_conn *cl, int hrr, int with_share, uint16_t group)
{
    CHECK_OK(iotls_conn_start(cl));
    size_t n = 0;
    CHECK(iotls_conn_output(cl, &n) != NULL);
    iotls_conn_output_consume(cl, n);
    uint8_t rec[512];
    size_t len = hello_for(cl, hrr, with_share, group, rec, sizeof rec);
    CHECK(len > 0);
    size_t used = 0;
    return iotls_conn_input(cl, rec, len, &used);
}

static void test_share_not_offered(void)
{
    for (int hrr = 0; hrr < 2; hrr++) {
        /* SH: group 0, which matches the client's "no share" unless the
         * client knows it sent none; HRR: a group the config lists. */
        uint16_t group = hrr ? IOTLS_GROUP_X25519 : 0;
        iotls_config *ccfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
        iotls_config_set_psk_ke(ccfg, IOTLS_PSK_KE_ONLY);
        iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, NULL);
        CHECK(cl != NULL);
        if (cl != NULL) {
            int rc = answer_hello(cl, hrr, 1, group);
            if (rc != IOTLS_ERR_UNSUPPORTED_EXTENSION)
                fprintf(stderr, "  (%s with a key_share: rc %d)\n",
                        hrr ? "HelloRetryRequest" : "ServerHello", rc);
            CHECK_RC(rc, IOTLS_ERR_UNSUPPORTED_EXTENSION);
            CHECK(cl->alert_sent == IOTLS_ALERT_UNSUPPORTED_EXTENSION);
        }
        tl_conn_free(cl);
        iotls_config_free(ccfg);
    }
}

/* RFC 8446 4.2.11: a client that offered psk_dhe_ke alone checks that a
 * ServerHello selecting its PSK carries a key_share, and aborts with
 * illegal_parameter when it does not. */
static void test_psk_without_share(void)
{
    iotls_config *ccfg = psk_config(IOTLS_TLS_AES_128_GCM_SHA256, g_id, 0);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, NULL);
    CHECK(cl != NULL);
    if (cl != NULL) {
        CHECK_RC(answer_hello(cl, 0, 0, 0), IOTLS_ERR_ILLEGAL_PARAMETER);
        CHECK(cl->alert_sent == IOTLS_ALERT_ILLEGAL_PARAMETER);
    }
    tl_conn_free(cl);
    iotls_config_free(ccfg);
}

int main(void)
{
    CHECK_OK(make_pki());
    test_setter();
    test_psk_modes();
    test_unknown_identity();
    test_key_update_limit();
    test_ca_without_name();
    test_share_not_offered();
    test_psk_without_share();
    return tl_finish("psk");
}
