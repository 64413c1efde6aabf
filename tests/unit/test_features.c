/* Compile-time feature switches (include/iotls/features.h), checked in
 * whichever profile this is built in:
 *  - the API of each switched-off feature answers IOTLS_ERR_UNSUPPORTED (and
 *    works when the feature is built);
 *  - the ClientHello offers exactly what is built and configured: no
 *    psk_key_exchange_modes / pre_shared_key without any PSK feature, no
 *    ALPN, record_size_limit or max_fragment_length without theirs;
 *  - a client and a server of this profile complete a handshake in memory
 *    and carry data both ways; a server that asks for a client certificate
 *    (set in the struct, as a server built with client certificates would)
 *    gets an empty Certificate from a client built without them, and one
 *    with a chain from a client built with them.
 * `make test-minimal` runs it with every switch off, `make test` with all on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "msg/msg.h"
#include "enginepair.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";

static int make_pki(void)
{
    iotls_cert_spec leaf = {
        .subject = "CN=device", .dns_names = "device.local", .for_server = 1, .for_client = 1};
    int rc = tl_make_pki("CN=features test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                         sizeof ca_key);
    return rc;
}

/* want: IOTLS_OK when the feature is built, IOTLS_ERR_UNSUPPORTED when not. */
static int want(int built)
{
    return built ? IOTLS_OK : IOTLS_ERR_UNSUPPORTED;
}

static void test_api(void)
{
    iotls_config *cfg = iotls_config_new();
    static const uint8_t key[32] = {1, 2, 3};
    CHECK_RC(iotls_config_set_alpn(cfg, "mqtt"), want(IOTLS_FEATURE_ALPN));
    CHECK_RC(iotls_config_set_record_size(cfg, 1024), want(IOTLS_FEATURE_RECORD_SIZE));
    CHECK_OK(iotls_config_set_record_size(cfg, 16384)); /* the default is always fine */
    CHECK_RC(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_OPTIONAL),
             want(IOTLS_FEATURE_CLIENT_AUTH));
    CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_NONE));
    CHECK_RC(iotls_config_set_tickets(cfg, 1), want(IOTLS_FEATURE_RESUMPTION));
    CHECK_OK(iotls_config_set_tickets(cfg, 0));
    CHECK_RC(iotls_config_set_psk(cfg, (const uint8_t *)"id", 2, key, sizeof key,
                                  IOTLS_TLS_AES_128_GCM_SHA256),
             want(IOTLS_FEATURE_EXT_PSK));
    CHECK_RC(iotls_config_set_early_data(cfg, 1024), want(IOTLS_FEATURE_EARLY_DATA));
    CHECK_OK(iotls_config_set_early_data(cfg, 0));

    iotls_conn *c = tl_conn_new(cfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(c != NULL);
    static const uint8_t junk[8] = {0};
    /* Built: the blob is refused as damaged; not built: the call itself. */
    CHECK_RC(iotls_conn_borrow_session(c, junk, sizeof junk),
             IOTLS_FEATURE_RESUMPTION ? IOTLS_ERR_SESSION_INVALID : IOTLS_ERR_UNSUPPORTED);
    CHECK_RC(iotls_conn_borrow_session_keyed(c, junk, sizeof junk, key, sizeof key),
             IOTLS_FEATURE_RESUMPTION ? IOTLS_ERR_SESSION_INVALID : IOTLS_ERR_UNSUPPORTED);
    CHECK_RC(iotls_conn_write_early(c, junk, sizeof junk),
             IOTLS_FEATURE_EARLY_DATA ? IOTLS_ERR_BAD_STATE : IOTLS_ERR_UNSUPPORTED);
    tl_conn_free(c);

    /* The blocking API's counterparts. */
    iotls *t = iotls_client_new(cfg);
    CHECK(t != NULL);
    CHECK_RC(iotls_set_session(t, junk, sizeof junk),
             IOTLS_FEATURE_RESUMPTION ? IOTLS_ERR_SESSION_INVALID : IOTLS_ERR_UNSUPPORTED);
    CHECK_RC(iotls_set_session_keyed(t, junk, sizeof junk, key, sizeof key),
             IOTLS_FEATURE_RESUMPTION ? IOTLS_ERR_SESSION_INVALID : IOTLS_ERR_UNSUPPORTED);
    CHECK_RC(iotls_set_early_data(t, junk, sizeof junk), want(IOTLS_FEATURE_EARLY_DATA));
    iotls_free(t);
    iotls_config_free(cfg);
}

static iotls_config *client_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert)));
    return cfg;
}

static iotls_config *server_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)leaf_cert, strlen(leaf_cert),
                                       (const uint8_t *)leaf_key, strlen(leaf_key)));
    return cfg;
}

/* Everything a client may offer, as far as this build allows. */
static void configure_all(iotls_config *cfg)
{
    if (IOTLS_FEATURE_ALPN)
        CHECK_OK(iotls_config_set_alpn(cfg, "mqtt"));
    if (IOTLS_FEATURE_RECORD_SIZE)
        CHECK_OK(iotls_config_set_record_size(cfg, 1024));
}

static void test_client_hello(void)
{
    iotls_config *cfg = client_cfg();
    configure_all(cfg);
    /* A ticket callback asks for psk_key_exchange_modes when tickets are
     * built; harmless otherwise. */
    iotls_config_set_ticket_cb(cfg, NULL, NULL);
    iotls_conn *c = tl_conn_new(cfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(c != NULL);
    CHECK_OK(iotls_conn_start(c));
    size_t n = 0;
    const uint8_t *out = iotls_conn_output(c, &n);
    /* One plaintext record holding the ClientHello. */
    CHECK(out != NULL && n > 5 + 4 && out[0] == 22 && out[5] == IOTLS_HS_CLIENT_HELLO);
    iotls_client_hello ch;
    memset(&ch, 0, sizeof ch);
    if (out && n > 9)
        CHECK_OK(iotls__client_hello_parse(out + 9, n - 9, &ch));
    uint32_t seen = ch.exts_seen;
    CHECK(((seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN)) != 0) == IOTLS_FEATURE_ALPN);
    CHECK(((seen & IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT)) != 0) ==
          IOTLS_FEATURE_RECORD_SIZE);
    CHECK(((seen & IOTLS_EXT_BIT(IOTLS_EXTID_MAX_FRAGMENT_LENGTH)) != 0) ==
          IOTLS_FEATURE_RECORD_SIZE);
    CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) == 0); /* nothing to offer */
    CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_EARLY_DATA)) == 0);
    if (!IOTLS_FEATURE_ANY_PSK)
        CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES)) == 0);
    /* The mandatory ones are always there. */
    CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)) != 0);
    CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS)) != 0);
    CHECK((seen & IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME)) != 0);
    tl_conn_free(c);
    iotls_config_free(cfg);
}

/* Handshake, then "ping" to the server and "pong" back. */
static void run_pair(iotls_conn *cl, iotls_conn *sv)
{
    tl_wire *to_sv = calloc(1, sizeof *to_sv), *to_cl = calloc(1, sizeof *to_cl);
    CHECK(to_sv && to_cl);
    CHECK_OK(iotls_conn_start(cl));
    CHECK_OK(iotls_conn_start(sv));
    for (int i = 0; i < 20 && !(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
         i++) {
        int a = tl_shuttle(cl, to_sv, sv, NULL);
        int b = tl_shuttle(sv, to_cl, cl, NULL);
        CHECK(a >= 0 && b >= 0);
        if (a < 0 || b < 0)
            break;
    }
    CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
    CHECK_RC(iotls_conn_error(cl), IOTLS_OK);
    CHECK_RC(iotls_conn_error(sv), IOTLS_OK);
    size_t n = 0;
    uint8_t buf[16];
    CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"ping", 4, &n));
    CHECK(tl_shuttle(cl, to_sv, sv, NULL) >= 0);
    CHECK_OK(iotls_conn_read(sv, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_OK(iotls_conn_write(sv, (const uint8_t *)"pong", 4, &n));
    /* The server's tickets (when built and asked for) come first. */
    CHECK(tl_shuttle(sv, to_cl, cl, NULL) >= 0);
    CHECK_OK(iotls_conn_read(cl, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "pong", 4) == 0);
    free(to_sv);
    free(to_cl);
}

static void test_handshake(int ask_client_cert)
{
    iotls_config *ccfg = client_cfg();
    iotls_config *scfg = server_cfg();
    configure_all(ccfg);
    configure_all(scfg);
    if (ask_client_cert) {
        /* The client has a certificate the server trusts; the server asks
         * for one. Set in the struct: the setter refuses without
         * IOTLS_FEATURE_CLIENT_AUTH, but a peer may still ask. */
        CHECK_OK(iotls_config_set_cert_mem(ccfg, (const uint8_t *)leaf_cert, strlen(leaf_cert),
                                           (const uint8_t *)leaf_key, strlen(leaf_key)));
        CHECK_OK(iotls_config_set_ca_mem(scfg, (const uint8_t *)ca_cert, strlen(ca_cert)));
        scfg->verify_client = IOTLS_VERIFY_CLIENT_OPTIONAL;
    }
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    CHECK(cl != NULL && sv != NULL);
    if (cl && sv) {
        run_pair(cl, sv);
        iotls_info ci, si;
        CHECK_OK(iotls_conn_info(cl, &ci));
        CHECK_OK(iotls_conn_info(sv, &si));
        CHECK(ci.version == 0x0304 && ci.cipher_suite == IOTLS_TLS_AES_128_GCM_SHA256);
        CHECK(ci.peer_cert_verified == 1 && ci.resumed == 0);
        CHECK(strcmp(ci.alpn, IOTLS_FEATURE_ALPN ? "mqtt" : "") == 0);
        CHECK(strcmp(si.alpn, IOTLS_FEATURE_ALPN ? "mqtt" : "") == 0);
        /* Our record size limit reached the server (RFC 8449). */
        CHECK(sv->max_record_out == (IOTLS_FEATURE_RECORD_SIZE ? 1024u : 16384u));
        int client_auth = ask_client_cert && IOTLS_FEATURE_CLIENT_AUTH;
        CHECK(ci.client_auth == client_auth);
        CHECK(si.peer_cert_presented == client_auth);
    }
    tl_conn_free(cl);
    tl_conn_free(sv);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

int main(void)
{
    printf("features: RESUMPTION=%d EARLY_DATA=%d EXT_PSK=%d CLIENT_AUTH=%d RECORD_SIZE=%d "
           "ALPN=%d KEYLOG=%d TRACE=%d\n",
           IOTLS_FEATURE_RESUMPTION, IOTLS_FEATURE_EARLY_DATA, IOTLS_FEATURE_EXT_PSK,
           IOTLS_FEATURE_CLIENT_AUTH, IOTLS_FEATURE_RECORD_SIZE, IOTLS_FEATURE_ALPN,
           IOTLS_FEATURE_KEYLOG, IOTLS_FEATURE_TRACE);
    CHECK_OK(make_pki());
    test_api();
    test_client_hello();
    test_handshake(0);
    test_handshake(1);
    return tl_finish("features");
}
