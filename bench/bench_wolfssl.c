/* wolfSSL 5 behind the bench_stack interface. The send callback is
 * wolfSSL's own socket send plus a byte count, so wire bytes are counted
 * the same way for every stack (what the stack hands to the socket). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfio.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench.h"

typedef struct {
    WOLFSSL_CTX *client, *server;
    const char *server_name;
    bench_kind kind;
    WOLFSSL_SESSION *resume; /* resumed kind: the client's session from the set-up handshake */
    uint8_t psk[BENCH_PSK_LEN];
} wolf_ctx;

typedef struct {
    WOLFSSL *ssl;
    int fd;
    uint64_t sent;
} wolf_conn;

static const char *wolf_version(void)
{
    static char v[48];
    snprintf(v, sizeof v, "wolfSSL %s", wolfSSL_lib_version());
    return v;
}

static int count_send(WOLFSSL *ssl, char *buf, int sz, void *arg)
{
    (void)ssl;
    wolf_conn *c = arg;
    ssize_t n;
    do
        n = send(c->fd, buf, (size_t)sz, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EPIPE || errno == ECONNRESET ? WOLFSSL_CBIO_ERR_CONN_CLOSE
                                                     : WOLFSSL_CBIO_ERR_GENERAL;
    c->sent += (uint64_t)n;
    return (int)n;
}

static int common(WOLFSSL_CTX *ctx, const bench_params *p)
{
    if (strcmp(p->suite, "TLS_AES_128_GCM_SHA256") != 0)
        return 0; /* only the suite and groups the bench uses are mapped */
    int groups[1];
    if (strcmp(p->group, "x25519") == 0)
        groups[0] = WOLFSSL_ECC_X25519;
    else if (strcmp(p->group, "secp256r1") == 0)
        groups[0] = WOLFSSL_ECC_SECP256R1;
    else
        return 0;
    return wolfSSL_CTX_set_cipher_list(ctx, "TLS13-AES128-GCM-SHA256") == WOLFSSL_SUCCESS &&
           wolfSSL_CTX_set_groups(ctx, groups, 1) == WOLFSSL_SUCCESS;
}

/* Debian builds wolfSSL with TLS 1.3, session tickets and PSK; a build
 * without them says so here rather than failing to compile. */
static const char *wolf_cannot(const bench_params *p)
{
#if !defined(WOLFSSL_TLS13)
    (void)p;
    return "no TLS 1.3 in this wolfSSL build";
#else
    if (p->kind == BENCH_RESUMED) {
#if !defined(HAVE_SESSION_TICKET)
        return "session tickets compiled out (HAVE_SESSION_TICKET)";
#endif
    }
    if (p->kind == BENCH_PSK) {
#if defined(NO_PSK)
        return "PSK compiled out (NO_PSK)";
#endif
    }
    return NULL;
#endif
}

static void wolf_teardown(void *p)
{
    wolf_ctx *x = p;
    if (!x)
        return;
    wolfSSL_CTX_free(x->client);
    wolfSSL_CTX_free(x->server);
#if defined(HAVE_SESSION_TICKET)
    wolfSSL_SESSION_free(x->resume);
#endif
    memset(x->psk, 0, sizeof x->psk);
    free(x);
}

#if defined(WOLFSSL_TLS13) && !defined(NO_PSK)
/* External PSK: the client names BENCH_PSK_IDENTITY, the server knows the
 * key by it; both for TLS_AES_128_GCM_SHA256 (so SHA-256). */
static unsigned int psk_client(WOLFSSL *ssl, const char *hint, char *identity, unsigned int id_max,
                               unsigned char *key, unsigned int key_max, const char **suite)
{
    (void)hint;
    wolf_ctx *x = wolfSSL_get_psk_callback_ctx(ssl);
    if (!x || id_max < sizeof BENCH_PSK_IDENTITY || key_max < BENCH_PSK_LEN)
        return 0;
    memcpy(identity, BENCH_PSK_IDENTITY, sizeof BENCH_PSK_IDENTITY);
    memcpy(key, x->psk, BENCH_PSK_LEN);
    *suite = "TLS13-AES128-GCM-SHA256";
    return BENCH_PSK_LEN;
}

static unsigned int psk_server(WOLFSSL *ssl, const char *identity, unsigned char *key,
                               unsigned int key_max, const char **suite)
{
    wolf_ctx *x = wolfSSL_get_psk_callback_ctx(ssl);
    if (!x || strcmp(identity, BENCH_PSK_IDENTITY) != 0 || key_max < BENCH_PSK_LEN)
        return 0;
    memcpy(key, x->psk, BENCH_PSK_LEN);
    *suite = "TLS13-AES128-GCM-SHA256";
    return BENCH_PSK_LEN;
}
#endif

static void *wolf_setup(const bench_params *p)
{
    wolfSSL_Init();
    wolf_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->kind = p->kind;
    x->server = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    x->client = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    int ok = x->server && x->client && common(x->server, p) && common(x->client, p);
    if (p->kind == BENCH_PSK) {
#if defined(WOLFSSL_TLS13) && !defined(NO_PSK)
        /* No certificate and no CA: the PSK authenticates both sides. */
        memcpy(x->psk, p->psk, BENCH_PSK_LEN);
        ok = ok && wolfSSL_CTX_set_psk_callback_ctx(x->client, x) == WOLFSSL_SUCCESS &&
             wolfSSL_CTX_set_psk_callback_ctx(x->server, x) == WOLFSSL_SUCCESS;
        if (ok) {
            wolfSSL_CTX_set_psk_client_tls13_callback(x->client, psk_client);
            wolfSSL_CTX_set_psk_server_tls13_callback(x->server, psk_server);
        }
#else
        ok = 0;
#endif
    } else {
        ok = ok && wolfSSL_CTX_use_certificate_buffer(x->server, (const unsigned char *)p->cert_pem,
                                                      (long)strlen(p->cert_pem),
                                                      WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
        ok = ok && wolfSSL_CTX_use_PrivateKey_buffer(x->server, (const unsigned char *)p->key_pem,
                                                     (long)strlen(p->key_pem),
                                                     WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
        ok = ok && wolfSSL_CTX_load_verify_buffer(x->client, (const unsigned char *)p->ca_cert_pem,
                                                  (long)strlen(p->ca_cert_pem),
                                                  WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
    }
    if (p->kind == BENCH_RESUMED) {
#if defined(HAVE_SESSION_TICKET)
        ok = ok && wolfSSL_CTX_set_num_tickets(x->server, 1) == WOLFSSL_SUCCESS;
#else
        ok = 0;
#endif
    } else {
        ok = ok && wolfSSL_CTX_no_ticket_TLSv13(x->server) == 0;
    }
    if (!ok) {
        fprintf(stderr, "iotls bench: wolfSSL setup failed\n");
        wolf_teardown(x);
        return NULL;
    }
    if (p->kind != BENCH_PSK)
        wolfSSL_CTX_set_verify(x->client, WOLFSSL_VERIFY_PEER, NULL);
    return x;
}

static wolf_conn *new_conn(WOLFSSL_CTX *ctx, int fd)
{
    wolf_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->ssl = wolfSSL_new(ctx);
    if (!c->ssl || wolfSSL_set_fd(c->ssl, fd) != WOLFSSL_SUCCESS) {
        wolfSSL_free(c->ssl);
        free(c);
        return NULL;
    }
    wolfSSL_SSLSetIOSend(c->ssl, count_send);
    wolfSSL_SetIOWriteCtx(c->ssl, c);
    return c;
}

static void wolf_close(void *p)
{
    wolf_conn *c = p;
    if (!c)
        return;
    wolfSSL_free(c->ssl);
    free(c);
#if defined(FP_ECC)
    /* Debian's build has FP_ECC: a per-thread cache of fixed-point tables
     * that each thread must free, and the bench's connections each run on
     * a thread of their own. */
    wc_ecc_fp_free();
#endif
}

static void *wolf_client(void *p, int fd)
{
    wolf_ctx *x = p;
    wolf_conn *c = new_conn(x->client, fd);
#if defined(HAVE_SESSION_TICKET)
    if (c && x->kind == BENCH_RESUMED && x->resume &&
        wolfSSL_set_session(c->ssl, x->resume) != WOLFSSL_SUCCESS) {
        wolf_close(c);
        return NULL;
    }
#endif
    if (c &&
        wolfSSL_UseSNI(c->ssl, WOLFSSL_SNI_HOST_NAME, x->server_name,
                       (unsigned short)strlen(x->server_name)) == WOLFSSL_SUCCESS &&
        wolfSSL_check_domain_name(c->ssl, x->server_name) == WOLFSSL_SUCCESS &&
        wolfSSL_connect(c->ssl) == WOLFSSL_SUCCESS)
        return c;
    wolf_close(c);
    return NULL;
}

static void *wolf_server(void *p, int fd)
{
    wolf_ctx *x = p;
    wolf_conn *c = new_conn(x->server, fd);
    if (c && wolfSSL_accept(c->ssl) == WOLFSSL_SUCCESS)
        return c;
    wolf_close(c);
    return NULL;
}

static int wolf_write(void *p, const void *buf, size_t len)
{
    wolf_conn *c = p;
    return wolfSSL_write(c->ssl, buf, (int)len) == (int)len;
}

static long wolf_read(void *p, void *buf, size_t cap)
{
    wolf_conn *c = p;
    return wolfSSL_read(c->ssl, buf, (int)cap);
}

static uint64_t wolf_wire_out(void *p)
{
    return ((wolf_conn *)p)->sent;
}

static int wolf_keep_session(void *ctx, void *conn)
{
#if defined(HAVE_SESSION_TICKET)
    wolf_ctx *x = ctx;
    wolfSSL_SESSION_free(x->resume);
    x->resume = wolfSSL_get1_session(((wolf_conn *)conn)->ssl);
    return x->resume != NULL;
#else
    (void)ctx;
    (void)conn;
    return 0;
#endif
}

static int wolf_kind_ok(void *ctx, void *conn, int is_server)
{
    wolf_ctx *x = ctx;
    WOLFSSL *ssl = ((wolf_conn *)conn)->ssl;
    int reused = wolfSSL_session_reused(ssl) == 1;
    const char *curve = wolfSSL_get_curve_name(ssl);
    int x25519 = curve && strcmp(curve, "X25519") == 0;
    switch (x->kind) {
    case BENCH_FULL:
        return !reused;
    case BENCH_RESUMED:
        return reused && x25519;
    case BENCH_PSK: {
        /* wolfSSL_session_reused() stays 0 for an external PSK. The server
         * reports the identity it accepted; the client the one it offered,
         * and as the server has no certificate, a finished handshake used
         * the PSK. */
        (void)is_server;
        const char *id = wolfSSL_get_psk_identity(ssl);
        return !reused && id && strcmp(id, BENCH_PSK_IDENTITY) == 0 && x25519 &&
               wolfSSL_get_peer_certificate(ssl) == NULL;
    }
    }
    return 0;
}

const bench_stack bench_stack_wolfssl = {
    .name = "wolfSSL",
    .version = wolf_version,
    .cannot = wolf_cannot,
    .setup = wolf_setup,
    .client = wolf_client,
    .server = wolf_server,
    .write = wolf_write,
    .read = wolf_read,
    .wire_out = wolf_wire_out,
    .keep_session = wolf_keep_session,
    .kind_ok = wolf_kind_ok,
    .close = wolf_close,
    .teardown = wolf_teardown,
};
