/* Mbed TLS 4.0's own TLS 1.3 (mbedtls_ssl_*) behind the bench_stack
 * interface: the column the PSA provider is measured against, the library
 * ESP-IDF 6 ships. Built only in a PSA build against Mbed TLS 4, where
 * libmbedtls is beside the libraries iotls links (CMakeLists.txt defines
 * IOTLS_BENCH_MBEDTLS4); elsewhere this file is empty and the column is
 * absent. Client and server each get a configuration of their own, TLS
 * 1.3 only, the bench's suite and group, the ECDSA P-256 certificate; the
 * transport callbacks are plain send()/recv() on the socket plus a byte
 * count, as for the other stacks. Full handshakes only: the resumed and
 * external-PSK kinds are not set up here (their cells say so). */
#if defined(IOTLS_BENCH_MBEDTLS4)

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <mbedtls/build_info.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "bench.h"

typedef struct {
    mbedtls_ssl_config client, server;
    mbedtls_x509_crt ca, cert;
    mbedtls_pk_context key;
    const char *server_name;
    int suites[2];
    uint16_t groups[2];
} mb_ctx;

typedef struct {
    mbedtls_ssl_context ssl;
    int fd;
    uint64_t sent;
} mb_conn;

static const char *mb_version(void)
{
    return "Mbed TLS " MBEDTLS_VERSION_STRING " (TLS 1.3)";
}

static uint16_t group_id(const char *name)
{
    if (strcmp(name, "x25519") == 0)
        return MBEDTLS_SSL_IANA_TLS_GROUP_X25519;
    if (strcmp(name, "secp256r1") == 0)
        return MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1;
    return 0;
}

static const char *mb_cannot(const bench_params *p)
{
    if (p->kind != BENCH_FULL)
        return "full handshakes only";
    if (strcmp(p->suite, "TLS_AES_128_GCM_SHA256") != 0 || group_id(p->group) == 0)
        return "suite/group unmapped";
    return NULL;
}

static int mb_send(void *arg, const unsigned char *buf, size_t len)
{
    mb_conn *c = arg;
    ssize_t n;
    do
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EPIPE || errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET
                                                     : MBEDTLS_ERR_NET_SEND_FAILED;
    c->sent += (uint64_t)n;
    return (int)n;
}

static int mb_recv(void *arg, unsigned char *buf, size_t len)
{
    mb_conn *c = arg;
    ssize_t n;
    do
        n = recv(c->fd, buf, len, 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == ECONNRESET ? MBEDTLS_ERR_NET_CONN_RESET : MBEDTLS_ERR_NET_RECV_FAILED;
    return (int)n;
}

static void mb_teardown(void *p)
{
    mb_ctx *x = p;
    if (!x)
        return;
    mbedtls_ssl_config_free(&x->client);
    mbedtls_ssl_config_free(&x->server);
    mbedtls_x509_crt_free(&x->ca);
    mbedtls_x509_crt_free(&x->cert);
    mbedtls_pk_free(&x->key);
    free(x);
}

/* TLS 1.3 only, one suite, one group. */
static int common(mbedtls_ssl_config *conf, int endpoint, const mb_ctx *x)
{
    if (mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return 0;
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_ciphersuites(conf, x->suites);
    mbedtls_ssl_conf_groups(conf, x->groups);
    return 1;
}

static void *mb_setup(const bench_params *p)
{
    if (psa_crypto_init() != PSA_SUCCESS)
        return NULL;
    mb_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    mbedtls_ssl_config_init(&x->client);
    mbedtls_ssl_config_init(&x->server);
    mbedtls_x509_crt_init(&x->ca);
    mbedtls_x509_crt_init(&x->cert);
    mbedtls_pk_init(&x->key);
    x->server_name = p->server_name;
    x->suites[0] = MBEDTLS_TLS1_3_AES_128_GCM_SHA256;
    x->suites[1] = 0;
    x->groups[0] = group_id(p->group);
    x->groups[1] = MBEDTLS_SSL_IANA_TLS_GROUP_NONE;
    int ok = common(&x->client, MBEDTLS_SSL_IS_CLIENT, x) &&
             common(&x->server, MBEDTLS_SSL_IS_SERVER, x);
    ok = ok && mbedtls_x509_crt_parse(&x->ca, (const unsigned char *)p->ca_cert_pem,
                                      strlen(p->ca_cert_pem) + 1) == 0;
    ok = ok && mbedtls_x509_crt_parse(&x->cert, (const unsigned char *)p->cert_pem,
                                      strlen(p->cert_pem) + 1) == 0;
    ok = ok && mbedtls_pk_parse_key(&x->key, (const unsigned char *)p->key_pem,
                                    strlen(p->key_pem) + 1, NULL, 0) == 0;
    ok = ok && mbedtls_ssl_conf_own_cert(&x->server, &x->cert, &x->key) == 0;
    if (!ok) {
        fprintf(stderr, "iotls bench: Mbed TLS setup failed\n");
        mb_teardown(x);
        return NULL;
    }
    mbedtls_ssl_conf_ca_chain(&x->client, &x->ca, NULL);
    mbedtls_ssl_conf_authmode(&x->client, MBEDTLS_SSL_VERIFY_REQUIRED);
    /* No tickets either way: the server has no ticket callbacks, so it
     * sends none, and the client asks for none. */
    mbedtls_ssl_conf_session_tickets(&x->client, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    return x;
}

static void mb_close(void *p)
{
    mb_conn *c = p;
    if (!c)
        return;
    mbedtls_ssl_free(&c->ssl);
    free(c);
}

static mb_conn *handshake(const mbedtls_ssl_config *conf, int fd, const char *host)
{
    mb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    mbedtls_ssl_init(&c->ssl);
    int ret = mbedtls_ssl_setup(&c->ssl, conf);
    if (ret == 0 && host)
        ret = mbedtls_ssl_set_hostname(&c->ssl, host);
    if (ret == 0) {
        mbedtls_ssl_set_bio(&c->ssl, c, mb_send, mb_recv, NULL);
        ret = mbedtls_ssl_handshake(&c->ssl);
    }
    if (ret != 0) {
        mb_close(c);
        return NULL;
    }
    return c;
}

static void *mb_client(void *p, int fd)
{
    mb_ctx *x = p;
    return handshake(&x->client, fd, x->server_name);
}

static void *mb_server(void *p, int fd)
{
    mb_ctx *x = p;
    return handshake(&x->server, fd, NULL);
}

static int mb_write(void *p, const void *buf, size_t len)
{
    mb_conn *c = p;
    const unsigned char *b = buf;
    while (len > 0) {
        int n = mbedtls_ssl_write(&c->ssl, b, len);
        if (n <= 0)
            return 0;
        b += n;
        len -= (size_t)n;
    }
    return 1;
}

static long mb_read(void *p, void *buf, size_t cap)
{
    mb_conn *c = p;
    for (;;) {
        int n = mbedtls_ssl_read(&c->ssl, buf, cap);
        /* Post-handshake messages are handled inside; the call returns to
         * say so and is simply repeated. */
        if (n == MBEDTLS_ERR_SSL_WANT_READ || n == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue;
        return n;
    }
}

static uint64_t mb_wire_out(void *p)
{
    return ((mb_conn *)p)->sent;
}

static int mb_keep_session(void *ctx, void *conn)
{
    (void)ctx;
    (void)conn;
    return 0;
}

static int mb_kind_ok(void *ctx, void *conn, int is_server)
{
    (void)ctx;
    (void)is_server;
    mb_conn *c = conn;
    /* A full handshake (the only kind set up), finished, TLS 1.3. */
    return mbedtls_ssl_is_handshake_over(&c->ssl) &&
           mbedtls_ssl_get_version_number(&c->ssl) == MBEDTLS_SSL_VERSION_TLS1_3;
}

const bench_stack bench_stack_mbedtls4 = {
    .name = "MbedTLS4",
    .version = mb_version,
    .cannot = mb_cannot,
    .setup = mb_setup,
    .client = mb_client,
    .server = mb_server,
    .write = mb_write,
    .read = mb_read,
    .wire_out = mb_wire_out,
    .keep_session = mb_keep_session,
    .kind_ok = mb_kind_ok,
    .close = mb_close,
    .teardown = mb_teardown,
};

#else
/* ISO C wants a declaration in every translation unit. */
typedef int bench_mbedtls4_not_built;
#endif
