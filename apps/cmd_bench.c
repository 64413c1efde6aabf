/* `iotls bench`: full handshakes and bulk transfer, iotls and OpenSSL's
 * libssl side by side in the same run, over a socketpair with one thread
 * per side. Per handshake: wall time (median), peak heap of each side
 * (every malloc of the thread, engine and crypto library alike, through
 * apps/memtrack.c), bytes on the wire; bulk: MB/s. Figures are reported
 * with their ratio to OpenSSL's. Nothing here is asserted: it measures. */
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "memtrack.h"

#define PEM_CAP 8192
#define BENCH_NAME "bench.iotls.test"
#define BULK_CHUNK 16384

typedef struct {
    char ca_key[PEM_CAP], ca_cert[PEM_CAP], key[PEM_CAP], cert[PEM_CAP];
} bench_pki;

typedef struct {
    double ms;
    size_t peak;
    int ok;
} side_result;

typedef struct {
    int fd;
    void *ctx;          /* iotls *server or SSL_CTX * */
    side_result res;
    size_t bulk_bytes;  /* server: bytes to read (0: handshake only) */
    uint64_t wire_bytes;
} side_arg;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- iotls ---- */

static void *iotls_server_side(void *p)
{
    side_arg *a = p;
    memtrack_reset_thread();
    double t0 = now_ms();
    iotls *conn = NULL;
    a->res.ok = iotls_accept_socket(a->ctx, a->fd, &conn) == IOTLS_OK;
    a->res.ms = now_ms() - t0;
    a->res.peak = memtrack_thread_peak();
    if (a->res.ok && a->bulk_bytes) {
        static char buf[BULK_CHUNK];
        size_t got = 0;
        ssize_t n;
        while (got < a->bulk_bytes && (n = iotls_read(conn, buf, sizeof buf)) > 0)
            got += (size_t)n;
        a->res.ok = got == a->bulk_bytes;
    }
    iotls_info info;
    if (conn && iotls_get_info(conn, &info) == IOTLS_OK)
        a->wire_bytes = info.bytes_out;
    iotls_free(conn);
    return NULL;
}

static side_result iotls_client_side(const iotls_config *cfg, int fd, size_t bulk,
                                     uint64_t *wire, double *bulk_ms)
{
    side_result r = {0};
    memtrack_reset_thread();
    double t0 = now_ms();
    iotls *t = iotls_client_new(cfg);
    r.ok = t && iotls_connect_socket(t, fd, BENCH_NAME) == IOTLS_OK;
    r.ms = now_ms() - t0;
    r.peak = memtrack_thread_peak();
    if (r.ok && bulk) {
        static char buf[BULK_CHUNK];
        double b0 = now_ms();
        for (size_t sent = 0; sent < bulk && r.ok; sent += sizeof buf)
            r.ok = iotls_write(t, buf, sizeof buf) == (ssize_t)sizeof buf;
        *bulk_ms = now_ms() - b0;
    }
    iotls_info info;
    if (t && iotls_get_info(t, &info) == IOTLS_OK)
        *wire = info.bytes_out;
    iotls_free(t);
    return r;
}

/* ---- OpenSSL libssl, the reference ---- */

static int ossl_drive(SSL *ssl, int fd, int server)
{
    SSL_set_fd(ssl, fd);
    return (server ? SSL_accept(ssl) : SSL_connect(ssl)) == 1;
}

static void *ossl_server_side(void *p)
{
    side_arg *a = p;
    memtrack_reset_thread();
    double t0 = now_ms();
    SSL *ssl = SSL_new(a->ctx);
    a->res.ok = ssl && ossl_drive(ssl, a->fd, 1);
    a->res.ms = now_ms() - t0;
    a->res.peak = memtrack_thread_peak();
    if (a->res.ok && a->bulk_bytes) {
        static char buf[BULK_CHUNK];
        size_t got = 0;
        int n;
        while (got < a->bulk_bytes && (n = SSL_read(ssl, buf, sizeof buf)) > 0)
            got += (size_t)n;
        a->res.ok = got == a->bulk_bytes;
    }
    SSL_free(ssl);
    return NULL;
}

static side_result ossl_client_side(SSL_CTX *ctx, int fd, size_t bulk, double *bulk_ms)
{
    side_result r = {0};
    memtrack_reset_thread();
    double t0 = now_ms();
    SSL *ssl = SSL_new(ctx);
    if (ssl)
        SSL_set_tlsext_host_name(ssl, BENCH_NAME);
    if (ssl)
        SSL_set1_host(ssl, BENCH_NAME);
    r.ok = ssl && ossl_drive(ssl, fd, 0);
    r.ms = now_ms() - t0;
    r.peak = memtrack_thread_peak();
    if (r.ok && bulk) {
        static char buf[BULK_CHUNK];
        double b0 = now_ms();
        for (size_t sent = 0; sent < bulk && r.ok; sent += sizeof buf)
            r.ok = SSL_write(ssl, buf, sizeof buf) == (int)sizeof buf;
        *bulk_ms = now_ms() - b0;
    }
    SSL_free(ssl);
    return r;
}

static int ossl_use_pem(SSL_CTX *ctx, const char *cert, const char *key)
{
    BIO *cb = BIO_new_mem_buf(cert, -1), *kb = BIO_new_mem_buf(key, -1);
    X509 *x = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
    EVP_PKEY *k = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
    int ok = x && k && SSL_CTX_use_certificate(ctx, x) == 1 && SSL_CTX_use_PrivateKey(ctx, k) == 1;
    X509_free(x);
    EVP_PKEY_free(k);
    BIO_free(cb);
    BIO_free(kb);
    return ok;
}

static int ossl_trust_pem(SSL_CTX *ctx, const char *ca)
{
    BIO *b = BIO_new_mem_buf(ca, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = x && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1;
    X509_free(x);
    BIO_free(b);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ok;
}

static void ossl_common(SSL_CTX *ctx)
{
    SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
    SSL_CTX_set_ciphersuites(ctx, "TLS_AES_128_GCM_SHA256");
    SSL_CTX_set1_groups_list(ctx, "X25519");
    SSL_CTX_set_num_tickets(ctx, 0); /* iotls sends none either */
}

/* ---- the run ---- */

typedef struct {
    const char *name;
    double client_ms, server_ms;
    size_t client_peak, server_peak;
    uint64_t client_wire, server_wire;
    double bulk_mbps;
    int failures;
} stack_result;

static void run_stack(int use_ossl, void *client_ctx, void *server_ctx, int rounds,
                      size_t bulk, stack_result *out)
{
    double *cms = calloc((size_t)rounds, sizeof *cms), *sms = calloc((size_t)rounds, sizeof *sms);
    double *cpk = calloc((size_t)rounds, sizeof *cpk), *spk = calloc((size_t)rounds, sizeof *spk);
    int done = 0;
    /* Round 0 warms caches (library init, first allocations) and is not counted. */
    for (int i = -1; i < rounds; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            break;
        side_arg a = {.fd = sv[1], .ctx = server_ctx, .bulk_bytes = i == rounds - 1 ? bulk : 0};
        pthread_t th;
        pthread_create(&th, NULL, use_ossl ? ossl_server_side : iotls_server_side, &a);
        uint64_t wire = 0;
        double bulk_ms = 0;
        side_result c = use_ossl ? ossl_client_side(client_ctx, sv[0], a.bulk_bytes, &bulk_ms)
                                 : iotls_client_side(client_ctx, sv[0], a.bulk_bytes, &wire,
                                                     &bulk_ms);
        shutdown(sv[0], SHUT_WR);
        pthread_join(th, NULL);
        close(sv[0]);
        close(sv[1]);
        if (!c.ok || !a.res.ok) {
            out->failures++;
            continue;
        }
        if (a.bulk_bytes && bulk_ms > 0)
            out->bulk_mbps = (double)bulk / (1024.0 * 1024.0) / (bulk_ms / 1e3);
        if (i < 0)
            continue;
        cms[done] = c.ms;
        sms[done] = a.res.ms;
        cpk[done] = (double)c.peak;
        spk[done] = (double)a.res.peak;
        if (!a.bulk_bytes) { /* the handshake alone */
            out->client_wire = wire;
            out->server_wire = a.wire_bytes;
        }
        done++;
    }
    if (done > 0) {
        out->client_ms = median(cms, done);
        out->server_ms = median(sms, done);
        out->client_peak = (size_t)median(cpk, done);
        out->server_peak = (size_t)median(spk, done);
    }
    free(cms);
    free(sms);
    free(cpk);
    free(spk);
}

static void row(const char *what, double ours, double ref, const char *unit, int lower_better)
{
    double ratio = ref > 0 ? ours / ref : 0;
    printf("  %-34s %10.2f %-3s %10.2f %-3s   %5.2fx%s\n", what, ours, unit, ref, unit, ratio,
           ref > 0 ? (lower_better ? "  (lower is better)" : "  (higher is better)") : "");
}

int cmd_bench(int argc, char **argv)
{
    int rounds = 30;
    size_t bulk_mib = 32;
    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = app_opt_value(argc, argv, &i, "--rounds")))
            rounds = (int)app_parse_num("--rounds", v, 1, 100000);
        else if ((v = app_opt_value(argc, argv, &i, "--bulk-mib")))
            bulk_mib = app_parse_num("--bulk-mib", v, 1, 4096);
        else {
            fprintf(stderr, "usage: iotls bench [--rounds N] [--bulk-mib N]\n");
            return 2;
        }
    }
    bench_pki *pki = calloc(1, sizeof *pki);
    iotls_cert_spec ca = {.subject = "CN=iotls bench CA", .is_ca = 1};
    iotls_cert_spec leaf = {.subject = "CN=" BENCH_NAME, .dns_names = BENCH_NAME, .for_server = 1};
    if (!pki || iotls_pki_make_key(IOTLS_KEY_EC_P256, pki->ca_key, PEM_CAP) ||
        iotls_pki_make_cert(&ca, pki->ca_key, NULL, NULL, pki->ca_cert, PEM_CAP) ||
        iotls_pki_make_key(IOTLS_KEY_EC_P256, pki->key, PEM_CAP) ||
        iotls_pki_make_cert(&leaf, pki->key, pki->ca_key, pki->ca_cert, pki->cert, PEM_CAP)) {
        fprintf(stderr, "iotls bench: could not make the PKI\n");
        free(pki);
        return 1;
    }

    iotls_config *scfg = iotls_config_new(), *ccfg = iotls_config_new();
    int rc = (!scfg || !ccfg) ? IOTLS_ERR_NO_MEMORY : IOTLS_OK;
    if (!rc)
        rc = iotls_config_set_cert_mem(scfg, (const uint8_t *)pki->cert, strlen(pki->cert) + 1,
                                       (const uint8_t *)pki->key, strlen(pki->key) + 1);
    if (!rc)
        rc = iotls_config_set_ca_mem(ccfg, (const uint8_t *)pki->ca_cert,
                                     strlen(pki->ca_cert) + 1);
    for (int k = 0; !rc && k < 2; k++) {
        iotls_config *c = k ? ccfg : scfg;
        rc = iotls_config_set_ciphers(c, "TLS_AES_128_GCM_SHA256");
        if (!rc)
            rc = iotls_config_set_groups(c, "x25519");
    }
    iotls *srv = rc ? NULL : iotls_server_new(scfg);
    SSL_CTX *octx_s = SSL_CTX_new(TLS_server_method()), *octx_c = SSL_CTX_new(TLS_client_method());
    if (rc || !srv || !octx_s || !octx_c) {
        fprintf(stderr, "iotls bench: setup failed: %s\n", iotls_error_string(rc));
        return 1;
    }
    ossl_common(octx_s);
    ossl_common(octx_c);
    if (!ossl_use_pem(octx_s, pki->cert, pki->key) || !ossl_trust_pem(octx_c, pki->ca_cert)) {
        fprintf(stderr, "iotls bench: OpenSSL setup failed\n");
        return 1;
    }

    printf("iotls bench: full TLS 1.3 handshakes, TLS_AES_128_GCM_SHA256, x25519, ECDSA P-256\n"
           "certificate, server verified by the client; client and server in one process on a\n"
           "socketpair, one thread each; %d rounds (medians), then %zu MiB client->server.\n"
           "crypto provider: %s; reference: %s (libssl, same suite, group, certificate)\n\n",
           rounds, bulk_mib, iotls_crypto_backend_name(), OpenSSL_version(OPENSSL_VERSION));

    stack_result ours = {.name = "iotls"}, ref = {.name = "OpenSSL"};
    size_t bulk = bulk_mib * 1024 * 1024;
    run_stack(0, ccfg, srv, rounds, bulk, &ours);
    run_stack(1, octx_c, octx_s, rounds, bulk, &ref);

    printf("  %-34s %14s %14s   %s\n", "", "iotls", "OpenSSL", "ratio");
    row("client handshake time (median)", ours.client_ms, ref.client_ms, "ms", 1);
    row("server handshake time (median)", ours.server_ms, ref.server_ms, "ms", 1);
    if (memtrack_available()) {
        row("client peak heap per connection", (double)ours.client_peak / 1024,
            (double)ref.client_peak / 1024, "KB", 1);
        row("server peak heap per connection", (double)ours.server_peak / 1024,
            (double)ref.server_peak / 1024, "KB", 1);
    } else {
        printf("  peak heap: not measured in sanitizer builds\n");
    }
    printf("  %-34s %10zu B   %10s\n", "engine memory (iotls_conn_size)", iotls_conn_size(ccfg),
           "-");
    printf("  %-34s %10llu B   %10s\n", "client bytes on the wire",
           (unsigned long long)ours.client_wire, "-");
    printf("  %-34s %10llu B   %10s\n", "server bytes on the wire",
           (unsigned long long)ours.server_wire, "-");
    row("bulk client->server", ours.bulk_mbps, ref.bulk_mbps, "MB/s", 0);
    if (ours.failures || ref.failures)
        printf("\n  failed rounds: iotls %d, OpenSSL %d\n", ours.failures, ref.failures);
    printf("\n  Peak heap counts every allocation the side's thread made during its handshake\n"
           "  (iotls: engine buffers from iotls_conn_size() plus the crypto library's).\n");

    iotls_free(srv);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    SSL_CTX_free(octx_s);
    SSL_CTX_free(octx_c);
    free(pki);
    return ours.failures || ref.failures ? 1 : 0;
}
