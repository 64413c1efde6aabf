/* Limits against peers that make us work without progress or send more
 * than we are prepared to hold (docs/malformed-input.md, "Limits"). Each
 * limit is hit once and checked for its error code and the alert we send,
 * and the case just under the limit is checked to pass:
 *
 *   - empty application_data records in a row (IOTLS_MAX_EMPTY_RECORDS);
 *   - user_canceled warning alerts in a row (IOTLS_MAX_WARNING_ALERTS);
 *   - KeyUpdates without application data between them
 *     (IOTLS_MAX_KEY_UPDATES_IN_ROW);
 *   - handshake message size (iotls_config_set_max_handshake_size);
 *   - certificates in the peer's chain (IOTLS_MAX_PEER_CHAIN), for our
 *     client (our server sends the chain) and our server (openssl s_client
 *     sends it);
 *   - the keys in the peer's chain (iotls_config_set_max_rsa_bits): an RSA
 *     public exponent above 2^31-1 in an intermediate or in the leaf (an
 *     insecure client, which checks only CertificateVerify with it), and a
 *     modulus above the configured maximum, for our client and our server;
 *   - declined 0-RTT data skipped by a server (the early data budget);
 *   - the blocking API's timeout against a peer that never answers, for
 *     iotls_connect_socket and iotls_accept_socket.
 *
 * Our client and server engines run in memory (src/io/mem.h); records a
 * well-behaved peer would never send are sealed with the client's own
 * write keys (iotls__record_seal on its record state). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "conn_internal.h"
#include "crypto/crypto.h"
#include "io/mem.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[64];

/* tl_openssl_pki's CA, server and client certificates, then chains of 10
 * and 11 certificates: the leaf, then copies of the CA (verification still
 * succeeds; only the count differs). Then RSA intermediate CAs under the CA
 * with exponent 2^32+3 (bige), 2^31-1 (edge, the largest accepted) and a
 * 3072-bit modulus (r3072), each with a server chain srv_K.pem (srv.key's
 * leaf and the intermediate) and a client leaf cli_K.pem under it; and
 * srv_bigekey.pem, a server leaf whose own key is bige.key. Every chain is
 * valid: only the key profile refuses some. The openssl command makes the
 * keys since neither provider's key generation takes exponents above
 * 2^31-1. */
static int make_pki(void)
{
    static const char *const cmds[] = {
        "cat srv.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem >srv10.pem",
        "cat srv10.pem ca.pem >srv11.pem",
        "cat ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem ca.pem >ca9.pem",
        "cat ca9.pem ca.pem >ca10.pem",
        "printf 'basicConstraints=critical,CA:TRUE\\nkeyUsage=critical,keyCertSign\\n' >int.ext",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
        " -pkeyopt rsa_keygen_pubexp:4294967299 -out bige.key",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
        " -pkeyopt rsa_keygen_pubexp:2147483647 -out edge.key",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out r3072.key",
        "for k in bige edge r3072; do"
        " openssl req -new -key $k.key -subj \"/CN=$k CA\" -out $k.csr &&"
        " openssl x509 -req -in $k.csr -CA ca.pem -CAkey ca.key -days 2 -extfile int.ext"
        " -out $k.pem &&"
        " openssl x509 -req -in srv.csr -CA $k.pem -CAkey $k.key -days 2 -extfile srv.ext"
        " -out srv_$k.leaf && cat srv_$k.leaf $k.pem >srv_$k.pem &&"
        " openssl x509 -req -in cli.csr -CA $k.pem -CAkey $k.key -days 2 -extfile cli.ext"
        " -out cli_$k.pem || exit 1; done",
        "openssl req -new -key bige.key -subj /CN=localhost -out srvk.csr && openssl x509 -req"
        " -in srvk.csr -CA ca.pem -CAkey ca.key -days 2 -extfile srv.ext -out srv_bigekey.pem",
    };
    if (tl_openssl_pki(g_dir, "iotls limits CA", "iotls-limits-client") != 0)
        return -1;
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (tl_run_quiet(g_dir, cmds[i]) != 0)
            return -1;
    return 0;
}

/* ---------------- a client and a server in memory ---------------- */

typedef struct {
    iotls_config *ccfg, *scfg;
    void *cmem, *smem;
    iotls_conn *cl, *sv;
} pair;

static iotls_config *make_cfg(const char *cert, const char *key)
{
    char a[160], b[160];
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return NULL;
    CHECK_OK(iotls_config_set_ca_file(cfg, tl_path_of(g_dir, a, sizeof a, "ca.pem")));
    if (cert)
        CHECK_OK(iotls_config_set_cert_file(cfg, tl_path_of(g_dir, a, sizeof a, cert),
                                            tl_path_of(g_dir, b, sizeof b, key)));
    return cfg;
}

static iotls_conn *conn_new(const iotls_config *cfg, int role, void **mem)
{
    size_t size = iotls_conn_size(cfg);
    *mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (!*mem)
        return NULL;
    return iotls_conn_init(*mem, size, cfg, role, role == IOTLS_ROLE_CLIENT ? "localhost" : NULL);
}

/* What the client of a pair is set up with besides the defaults. */
typedef struct {
    size_t max_hs;         /* handshake message limit; 0: default */
    unsigned max_rsa_bits; /* 0: default */
    int insecure;          /* iotls_config_insecure_noverifycert */
} client_opts;

/* Server with the given certificate and key files; the client as opts
 * says. */
static int pair_open_with(pair *p, const char *srv_cert, const char *srv_key,
                          const client_opts *opts)
{
    memset(p, 0, sizeof *p);
    p->ccfg = make_cfg(NULL, NULL);
    p->scfg = make_cfg(srv_cert, srv_key);
    if (!p->ccfg || !p->scfg)
        return -1;
    if (opts->max_hs)
        CHECK_OK(iotls_config_set_max_handshake_size(p->ccfg, opts->max_hs));
    if (opts->max_rsa_bits)
        CHECK_OK(iotls_config_set_max_rsa_bits(p->ccfg, opts->max_rsa_bits));
    if (opts->insecure)
        iotls_config_insecure_noverifycert(p->ccfg);
    p->cl = conn_new(p->ccfg, IOTLS_ROLE_CLIENT, &p->cmem);
    p->sv = conn_new(p->scfg, IOTLS_ROLE_SERVER, &p->smem);
    if (!p->cl || !p->sv)
        return -1;
    CHECK_OK(iotls_conn_start(p->sv));
    CHECK_OK(iotls_conn_start(p->cl));
    return 0;
}

/* Server with the given certificate file (srv.pem, srv10.pem, ...) and
 * srv.key; client_max_hs: the client's handshake message limit, 0 for the
 * default. */
static int pair_open(pair *p, const char *srv_cert, size_t client_max_hs)
{
    client_opts opts = {.max_hs = client_max_hs};
    return pair_open_with(p, srv_cert, "srv.key", &opts);
}

static void pair_close(pair *p)
{
    if (p->cl)
        iotls_conn_free(p->cl);
    if (p->sv)
        iotls_conn_free(p->sv);
    free(p->cmem);
    free(p->smem);
    iotls_config_free(p->ccfg);
    iotls_config_free(p->scfg);
    memset(p, 0, sizeof *p);
}

/* Exchanges until nothing moves; the first engine error. */
static int pump(pair *p)
{
    for (int i = 0; i < 16; i++) {
        size_t moved = 0;
        int rc = iotls__mem_pair_step(p->cl, p->sv, NULL, &moved);
        if (rc != IOTLS_OK || moved == 0)
            return rc;
    }
    return IOTLS_ERR_TIMEOUT;
}

static int pair_connected(pair *p)
{
    if (pair_open(p, "srv.pem", 0) != 0)
        return -1;
    int rc = iotls__mem_pair_run(p->cl, p->sv, NULL);
    CHECK_OK(rc);
    return rc == IOTLS_OK ? 0 : -1;
}

/* One record of content sealed with the client's current write keys, fed
 * to the server whole. */
static int client_sends(pair *p, uint8_t type, const uint8_t *data, size_t len)
{
    uint8_t rec[256];
    size_t rec_len = 0, used = 0;
    static const uint8_t none[1] = {0};
    int rc =
        iotls__record_seal(&p->cl->wr, type, len ? data : none, len, 0, rec, sizeof rec, &rec_len);
    CHECK_OK(rc);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls_conn_input(p->sv, rec, rec_len, &used);
    CHECK(rc != IOTLS_OK || used == rec_len);
    return rc;
}

/* Application data from the client, read by the server: resets the
 * "in a row" counters. */
static void client_sends_data(pair *p)
{
    uint8_t buf[8];
    size_t n = 0;
    CHECK_OK(client_sends(p, IOTLS_CT_APPLICATION_DATA, (const uint8_t *)"x", 1));
    CHECK_OK(iotls_conn_read(p->sv, buf, sizeof buf, &n));
    CHECK(n == 1 && buf[0] == 'x');
}

/* ---------------- empty records, warning alerts, KeyUpdates ---------------- */

static void test_empty_records(void)
{
    pair p;
    if (pair_connected(&p) == 0) {
        for (int i = 0; i < IOTLS_MAX_EMPTY_RECORDS; i++)
            CHECK_OK(client_sends(&p, IOTLS_CT_APPLICATION_DATA, NULL, 0));
        client_sends_data(&p); /* the count starts again */
        for (int i = 0; i < IOTLS_MAX_EMPTY_RECORDS; i++)
            CHECK_OK(client_sends(&p, IOTLS_CT_APPLICATION_DATA, NULL, 0));
        CHECK_RC(client_sends(&p, IOTLS_CT_APPLICATION_DATA, NULL, 0), IOTLS_ERR_TOO_MANY_EMPTY);
        CHECK_RC(iotls_conn_error(p.sv), IOTLS_ERR_TOO_MANY_EMPTY);
        CHECK(p.sv->alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
        /* The client sees that alert. */
        CHECK_RC(pump(&p), IOTLS_ERR_ALERT_RECEIVED);
        CHECK(p.cl->peer_alert == IOTLS_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_close(&p);
}

static void test_warning_alerts(void)
{
    static const uint8_t user_canceled[2] = {1, IOTLS_ALERT_USER_CANCELED};
    pair p;
    if (pair_connected(&p) == 0) {
        for (int i = 0; i < IOTLS_MAX_WARNING_ALERTS; i++)
            CHECK_OK(client_sends(&p, IOTLS_CT_ALERT, user_canceled, 2));
        client_sends_data(&p);
        for (int i = 0; i < IOTLS_MAX_WARNING_ALERTS; i++)
            CHECK_OK(client_sends(&p, IOTLS_CT_ALERT, user_canceled, 2));
        CHECK_RC(client_sends(&p, IOTLS_CT_ALERT, user_canceled, 2), IOTLS_ERR_TOO_MANY_EMPTY);
        CHECK(p.sv->alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_close(&p);
}

static void test_key_updates(void)
{
    pair p;
    if (pair_connected(&p) == 0) {
        for (int i = 0; i < IOTLS_MAX_KEY_UPDATES_IN_ROW; i++) {
            CHECK_OK(iotls_conn_key_update(p.cl, 0));
            CHECK_OK(pump(&p));
        }
        client_sends_data(&p);
        for (int i = 0; i < IOTLS_MAX_KEY_UPDATES_IN_ROW; i++) {
            CHECK_OK(iotls_conn_key_update(p.cl, 0));
            CHECK_OK(pump(&p));
        }
        CHECK_OK(iotls_conn_error(p.sv));
        CHECK_OK(iotls_conn_key_update(p.cl, 0));
        CHECK_RC(pump(&p), IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK_RC(iotls_conn_error(p.sv), IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(p.sv->alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
    }
    pair_close(&p);
}

/* ---------------- handshake message size, chain length ---------------- */

/* The server presents srv_cert with srv_key; the client (set up as opts
 * says) must end with want_client and the server receive the alert
 * want_alert (-1: none, the handshake completes). */
static void handshake_opts(const char *srv_cert, const char *srv_key, const client_opts *opts,
                           int want_client, int want_alert)
{
    pair p;
    if (pair_open_with(&p, srv_cert, srv_key, opts) == 0) {
        int rc = iotls__mem_pair_run(p.cl, p.sv, NULL);
        CHECK_RC(rc, want_client);
        CHECK_RC(iotls_conn_error(p.cl), want_client);
        if (want_alert >= 0) {
            CHECK(p.cl->alert_sent == want_alert);
            CHECK_RC(iotls_conn_error(p.sv), IOTLS_ERR_ALERT_RECEIVED);
            CHECK(p.sv->peer_alert == want_alert);
        } else {
            CHECK(iotls_conn_handshake_done(p.cl) && iotls_conn_handshake_done(p.sv));
        }
        if (rc != want_client)
            fprintf(stderr, "  (server certificate %s, client limit %zu)\n", srv_cert,
                    opts->max_hs);
    } else {
        CHECK(0);
    }
    pair_close(&p);
}

static void handshake_with(const char *srv_cert, size_t client_max_hs, int want_client,
                           int want_alert)
{
    client_opts opts = {.max_hs = client_max_hs};
    handshake_opts(srv_cert, "srv.key", &opts, want_client, want_alert);
}

static void test_handshake_size_and_chain(void)
{
    /* A Certificate of 10 certificates (over 4 KiB) fits the default limit. */
    handshake_with("srv10.pem", 0, IOTLS_OK, -1);
    /* The same message over a client limit of 4096 bytes. */
    handshake_with("srv10.pem", 4096, IOTLS_ERR_HANDSHAKE_TOO_LARGE, IOTLS_ALERT_DECODE_ERROR);
    /* The smallest limit, 512: this one-certificate P-256 chain still fits
     * (its Certificate message is under 512 bytes), ten do not. */
    handshake_with("srv.pem", 512, IOTLS_OK, -1);
    handshake_with("srv10.pem", 512, IOTLS_ERR_HANDSHAKE_TOO_LARGE, IOTLS_ALERT_DECODE_ERROR);
    /* 11 certificates: one over IOTLS_MAX_PEER_CHAIN. */
    handshake_with("srv11.pem", 0, IOTLS_ERR_BAD_CERTIFICATE, IOTLS_ALERT_BAD_CERTIFICATE);
}

/* A server (or a man in the middle) whose chain holds an RSA key that
 * makes every signature check with it a full-size exponentiation. The
 * client refuses it before any: the chains are otherwise valid. */
static void test_client_chain_keys(void)
{
    client_opts dflt = {0};
    handshake_with("srv_edge.pem", 0, IOTLS_OK, -1); /* exponent 2^31-1 */
    handshake_with("srv_bige.pem", 0, IOTLS_ERR_CERT_KEY_REFUSED,
                   IOTLS_ALERT_UNSUPPORTED_CERTIFICATE); /* 2^32+3 */
    /* The leaf's own key: a client that verifies nothing still checks
     * CertificateVerify with it, so it refuses the key all the same. */
    client_opts insecure = {.insecure = 1};
    handshake_opts("srv.pem", "srv.key", &insecure, IOTLS_OK, -1);
    handshake_opts("srv_bigekey.pem", "bige.key", &insecure, IOTLS_ERR_CERT_KEY_REFUSED,
                   IOTLS_ALERT_UNSUPPORTED_CERTIFICATE);
    handshake_opts("srv_bigekey.pem", "bige.key", &dflt, IOTLS_ERR_CERT_KEY_REFUSED,
                   IOTLS_ALERT_UNSUPPORTED_CERTIFICATE);
    /* The modulus maximum: 3072 bits pass the default 4096, not 2048. */
    handshake_with("srv_r3072.pem", 0, IOTLS_OK, -1);
    client_opts max2048 = {.max_rsa_bits = 2048};
    handshake_opts("srv_r3072.pem", "srv.key", &max2048, IOTLS_ERR_CERT_KEY_REFUSED,
                   IOTLS_ALERT_UNSUPPORTED_CERTIFICATE);
    handshake_opts("srv_edge.pem", "srv.key", &max2048, IOTLS_OK, -1);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* openssl s_client presents cli_cert (with cli.key) plus the certificates
 * of chain_file to our server, which requires a client certificate. */
static void server_sees_client_chain(const char *cli_cert, const char *chain_file, int want)
{
    char a[160];
    iotls_config *cfg = make_cfg("srv.pem", "srv.key");
    if (!cfg) {
        CHECK(0);
        return;
    }
    CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    iotls_config_set_timeout_ms(cfg, 10000);
    iotls *srv = iotls_server_new(cfg);
    int lfd = -1, port = 0;
    CHECK(srv != NULL);
    CHECK_OK(iotls_listen("127.0.0.1", "0", 4, &lfd, &port));
    if (!srv || lfd < 0) {
        iotls_free(srv);
        iotls_config_free(cfg);
        return;
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "cd %s && exec openssl s_client -connect 127.0.0.1:%d -servername localhost"
             " -CAfile ca.pem -cert %s -key cli.key -cert_chain %s </dev/null"
             " >>s_client.log 2>&1",
             g_dir, port, cli_cert, chain_file);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    CHECK(pid > 0);
    iotls *conn = NULL;
    int rc = iotls_accept(srv, lfd, &conn);
    CHECK_RC(rc, want);
    if (rc != want) {
        fprintf(stderr, "  (client chain %s: %s; see %s)\n", chain_file,
                conn ? iotls_error(conn) : "no connection",
                tl_path_of(g_dir, a, sizeof a, "s_client.log"));
    }
    if (conn) {
        CHECK_RC(iotls_last_error(conn), want);
        if (want == IOTLS_OK)
            (void)iotls_close(conn);
        iotls_free(conn);
    }
    if (pid > 0) {
        int64_t deadline = now_ms() + 5000;
        int status = 0;
        while (waitpid(pid, &status, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(pid, SIGKILL);
                waitpid(pid, &status, 0);
                break;
            }
            usleep(10000);
        }
    }
    close(lfd);
    iotls_free(srv);
    iotls_config_free(cfg);
}

static void test_server_chain_limit(void)
{
    server_sees_client_chain("cli.pem", "ca9.pem", IOTLS_OK);
    server_sees_client_chain("cli.pem", "ca10.pem", IOTLS_ERR_BAD_CERTIFICATE);
}

/* A client whose chain holds an intermediate with exponent 2^32+3: the
 * server refuses it before any signature (the chain is otherwise valid). */
static void test_server_chain_keys(void)
{
    server_sees_client_chain("cli_edge.pem", "edge.pem", IOTLS_OK);
    server_sees_client_chain("cli_bige.pem", "bige.pem", IOTLS_ERR_CERT_KEY_REFUSED);
}

/* ---------------- declined 0-RTT: the skip budget ---------------- */

/* Our client's ClientHello with an empty early_data extension put first in
 * its extension block (the lengths of record, message and block grown by
 * the 4 bytes). */
static size_t hello_with_early_data(uint8_t *out, size_t cap)
{
    iotls_config *cfg = make_cfg(NULL, NULL);
    void *mem = NULL;
    iotls_conn *c = cfg ? conn_new(cfg, IOTLS_ROLE_CLIENT, &mem) : NULL;
    size_t len = 0, n = 0;
    if (c && iotls_conn_start(c) == IOTLS_OK) {
        const uint8_t *ch = iotls_conn_output(c, &n);
        size_t pos = 5 + 4 + 2 + 32; /* record and message headers, version, random */
        if (ch && n + 4 <= cap && n > pos + 1) {
            pos += 1 + ch[pos];                              /* session id */
            pos += 2 + (size_t)(ch[pos] << 8 | ch[pos + 1]); /* cipher suites */
            pos += 1 + ch[pos];                              /* compression methods */
            CHECK(pos + 2 <= n);
            if (pos + 2 > n)
                goto done;
            size_t ext_len = (size_t)(ch[pos] << 8 | ch[pos + 1]);
            size_t rec_len = (size_t)(ch[3] << 8 | ch[4]) + 4;
            size_t msg_len = ((size_t)ch[6] << 16 | (size_t)ch[7] << 8 | ch[8]) + 4;
            memcpy(out, ch, pos + 2);
            out[3] = (uint8_t)(rec_len >> 8);
            out[4] = (uint8_t)rec_len;
            out[6] = (uint8_t)(msg_len >> 16);
            out[7] = (uint8_t)(msg_len >> 8);
            out[8] = (uint8_t)msg_len;
            out[pos] = (uint8_t)((ext_len + 4) >> 8);
            out[pos + 1] = (uint8_t)(ext_len + 4);
            static const uint8_t early_data[4] = {0x00, 0x2a, 0x00, 0x00};
            memcpy(out + pos + 2, early_data, 4);
            memcpy(out + pos + 6, ch + pos + 2, n - pos - 2);
            len = n + 4;
        }
    }
done:
    if (c)
        iotls_conn_free(c);
    free(mem);
    iotls_config_free(cfg);
    return len;
}

static void test_early_data_budget(void)
{
    uint8_t ch[2048];
    size_t ch_len = hello_with_early_data(ch, sizeof ch);
    CHECK(ch_len > 0);
    iotls_config *cfg = make_cfg("srv.pem", "srv.key");
    void *mem = NULL;
    iotls_conn *sv = cfg ? conn_new(cfg, IOTLS_ROLE_SERVER, &mem) : NULL;
    CHECK(sv != NULL);
    if (sv && ch_len > 0) {
        size_t used = 0, n = 0;
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_input(sv, ch, ch_len, &used));
        CHECK(used == ch_len);
        CHECK(sv->hs.skip_early_data == 1);
        /* The server's flight goes nowhere: the client does not matter. */
        CHECK(iotls_conn_output(sv, &n) != NULL);
        iotls_conn_output_consume(sv, n);
        /* "0-RTT" records the server cannot open: skipped up to the budget
         * (the server's EARLY_SKIP_BUDGET, 16 KiB + 4 KiB). */
        static uint8_t rec[5 + 4096];
        memset(rec, 0xa5, sizeof rec);
        rec[0] = IOTLS_CT_APPLICATION_DATA;
        rec[1] = 0x03;
        rec[2] = 0x03;
        rec[3] = 0x10; /* 4096 */
        rec[4] = 0x00;
        for (int i = 0; i < 5; i++) {
            CHECK_OK(iotls_conn_input(sv, rec, sizeof rec, &used));
            CHECK(used == sizeof rec);
        }
        CHECK_OK(iotls_conn_error(sv));
        CHECK(sv->hs.early_skip_budget == 0);
        rec[3] = 0x00;
        rec[4] = 32; /* one small record more */
        CHECK_RC(iotls_conn_input(sv, rec, 5 + 32, &used), IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(sv->alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
    }
    if (sv)
        iotls_conn_free(sv);
    free(mem);
    iotls_config_free(cfg);
}

/* After a HelloRetryRequest the server skips the client's 0-RTT records,
 * which come before its second ClientHello; never between two records of
 * that ClientHello (RFC 8446 5.1: nothing may be interleaved with a
 * handshake message's fragments). */
static void test_early_record_inside_partial_hello(void)
{
    if (!iotls__kex_supported(IOTLS_GROUP_X25519)) {
        /* P-256 alone (Mbed TLS with p256-m): no second group, so no
         * HelloRetryRequest to bring this about. */
        printf("limits: 0-RTT record inside a second ClientHello: not run, "
               "the crypto library has one group\n");
        return;
    }
    uint8_t ch[2048];
    size_t ch_len = hello_with_early_data(ch, sizeof ch);
    CHECK(ch_len > 0);
    iotls_config *cfg = make_cfg("srv.pem", "srv.key");
    /* The client's only share is X25519: a server that takes P-256 alone
     * asks again. */
    CHECK(cfg == NULL || iotls_config_set_groups(cfg, "secp256r1") == IOTLS_OK);
    void *mem = NULL;
    iotls_conn *sv = cfg ? conn_new(cfg, IOTLS_ROLE_SERVER, &mem) : NULL;
    CHECK(sv != NULL);
    if (sv && ch_len > 0) {
        size_t used = 0, n = 0;
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_input(sv, ch, ch_len, &used));
        CHECK(used == ch_len);
        CHECK(sv->hs.skip_early_data == 1 && !sv->rd.active);
        CHECK(iotls_conn_output(sv, &n) != NULL); /* the HelloRetryRequest */
        iotls_conn_output_consume(sv, n);
        static const uint8_t early[5 + 32] = {IOTLS_CT_APPLICATION_DATA, 3, 3, 0, 32};
        /* Before the second ClientHello: skipped. */
        CHECK_OK(iotls_conn_input(sv, early, sizeof early, &used));
        CHECK(used == sizeof early);
        /* The first 8 bytes of a second ClientHello announcing 200 bytes... */
        static const uint8_t part[5 + 8] = {
            IOTLS_CT_HANDSHAKE, 3, 3, 0, 8, 1 /* client_hello */, 0, 0, 200, 3, 3, 0, 0};
        CHECK_OK(iotls_conn_input(sv, part, sizeof part, &used));
        CHECK(used == sizeof part);
        /* ... then a 0-RTT record: refused, not skipped. */
        CHECK_RC(iotls_conn_input(sv, early, sizeof early, &used), IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(sv->alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
    }
    if (sv)
        iotls_conn_free(sv);
    free(mem);
    iotls_config_free(cfg);
}

/* After a HelloRetryRequest the 0-RTT records are skipped unopened, but
 * they are still protected records: up to 2^14 + 256 bytes of ciphertext
 * (RFC 8446 5.2), not the 2^14 of a plaintext one. A client's full 16 KiB
 * early record (content, type, tag: 16401 bytes) is skipped, one over
 * 2^14 + 256 is record_overflow. */
static void test_full_early_record_after_retry(void)
{
    if (!iotls__kex_supported(IOTLS_GROUP_X25519)) {
        printf("limits: full-size 0-RTT record after a HelloRetryRequest: not run, "
               "the crypto library has one group\n");
        return;
    }
    uint8_t ch[2048];
    size_t ch_len = hello_with_early_data(ch, sizeof ch);
    CHECK(ch_len > 0);
    iotls_config *cfg = make_cfg("srv.pem", "srv.key");
    CHECK(cfg == NULL || iotls_config_set_groups(cfg, "secp256r1") == IOTLS_OK);
    void *mem = NULL;
    iotls_conn *sv = cfg ? conn_new(cfg, IOTLS_ROLE_SERVER, &mem) : NULL;
    CHECK(sv != NULL);
    if (sv && ch_len > 0) {
        size_t used = 0, n = 0;
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_input(sv, ch, ch_len, &used));
        CHECK(sv->hs.skip_early_data == 1 && !sv->rd.active);
        CHECK(iotls_conn_output(sv, &n) != NULL); /* the HelloRetryRequest */
        iotls_conn_output_consume(sv, n);
        static uint8_t rec[5 + IOTLS_MAX_CIPHERTEXT + 1];
        memset(rec, 0xa5, sizeof rec);
        rec[0] = IOTLS_CT_APPLICATION_DATA;
        rec[1] = 0x03;
        rec[2] = 0x03;
        size_t body = IOTLS_MAX_PLAINTEXT + 1 + IOTLS_AEAD_TAG_LEN;
        rec[3] = (uint8_t)(body >> 8);
        rec[4] = (uint8_t)body;
        int rc = iotls_conn_input(sv, rec, 5 + body, &used);
        if (rc != IOTLS_OK)
            fprintf(stderr, "  (a %zu-byte 0-RTT record after the HelloRetryRequest: rc %d)\n",
                    body, rc);
        CHECK_OK(rc);
        CHECK(used == 5 + body);
        body = IOTLS_MAX_CIPHERTEXT + 1;
        rec[3] = (uint8_t)(body >> 8);
        rec[4] = (uint8_t)body;
        CHECK_RC(iotls_conn_input(sv, rec, 5 + body, &used), IOTLS_ERR_RECORD_OVERFLOW);
        CHECK(sv->alert_sent == IOTLS_ALERT_RECORD_OVERFLOW);
    }
    if (sv)
        iotls_conn_free(sv);
    free(mem);
    iotls_config_free(cfg);
}

/* ---------------- blocking API: a peer that never answers ---------------- */

static void test_timeout(int server)
{
    int fds[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    iotls_config *cfg = server ? make_cfg("srv.pem", "srv.key") : make_cfg(NULL, NULL);
    if (!cfg)
        return;
    iotls_config_set_timeout_ms(cfg, 300);
    int64_t t0 = now_ms();
    int rc;
    iotls *conn = NULL, *ctx = NULL;
    if (server) {
        ctx = iotls_server_new(cfg);
        CHECK(ctx != NULL);
        rc = ctx ? iotls_accept_socket(ctx, fds[0], &conn) : IOTLS_ERR_NO_MEMORY;
    } else {
        conn = iotls_client_new(cfg);
        CHECK(conn != NULL);
        rc = conn ? iotls_connect_socket(conn, fds[0], "localhost") : IOTLS_ERR_NO_MEMORY;
    }
    int64_t took = now_ms() - t0;
    CHECK_RC(rc, IOTLS_ERR_TIMEOUT);
    /* Within the timeout (plus scheduling slack), not before it. */
    CHECK(took >= 250 && took < 2000);
    if (rc != IOTLS_ERR_TIMEOUT || took < 250 || took >= 2000)
        fprintf(stderr, "  (%s: rc %d after %lld ms)\n", server ? "accept" : "connect", rc,
                (long long)took);
    if (conn)
        CHECK_RC(iotls_last_error(conn), IOTLS_ERR_TIMEOUT);
    iotls_free(conn);
    iotls_free(ctx);
    close(fds[0]);
    close(fds[1]);
    iotls_config_free(cfg);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-limits-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (make_pki() != 0) {
        fprintf(stderr, "openssl command missing or failed: cannot make test certificates\n");
        CHECK(0);
    } else {
        test_empty_records();
        test_warning_alerts();
        test_key_updates();
        test_handshake_size_and_chain();
        test_server_chain_limit();
        test_client_chain_keys();
        test_server_chain_keys();
        test_early_data_budget();
        test_early_record_inside_partial_hello();
        test_full_early_record_after_retry();
        test_timeout(0);
        test_timeout(1);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("limits");
}
