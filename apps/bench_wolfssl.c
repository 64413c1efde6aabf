/* wolfSSL 5 behind the bench_stack interface. The send callback is
 * wolfSSL's own socket send plus a byte count, so wire bytes are counted
 * the same way for every stack (what the stack hands to the socket). */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
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
    if (strcmp(p->suite, "TLS_AES_128_GCM_SHA256") != 0 || strcmp(p->group, "x25519") != 0)
        return 0; /* only the suite and group the bench uses are mapped */
    int groups[] = {WOLFSSL_ECC_X25519};
    return wolfSSL_CTX_set_cipher_list(ctx, "TLS13-AES128-GCM-SHA256") == WOLFSSL_SUCCESS &&
           wolfSSL_CTX_set_groups(ctx, groups, 1) == WOLFSSL_SUCCESS;
}

static void wolf_teardown(void *p)
{
    wolf_ctx *x = p;
    if (!x)
        return;
    wolfSSL_CTX_free(x->client);
    wolfSSL_CTX_free(x->server);
    free(x);
}

static void *wolf_setup(const bench_params *p)
{
    wolfSSL_Init();
    wolf_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->server = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
    x->client = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
    int ok = x->server && x->client && common(x->server, p) && common(x->client, p);
    ok = ok && wolfSSL_CTX_use_certificate_buffer(x->server, (const unsigned char *)p->cert_pem,
                                                  (long)strlen(p->cert_pem),
                                                  WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
    ok = ok && wolfSSL_CTX_use_PrivateKey_buffer(x->server, (const unsigned char *)p->key_pem,
                                                 (long)strlen(p->key_pem),
                                                 WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
    ok = ok && wolfSSL_CTX_load_verify_buffer(x->client, (const unsigned char *)p->ca_cert_pem,
                                              (long)strlen(p->ca_cert_pem),
                                              WOLFSSL_FILETYPE_PEM) == WOLFSSL_SUCCESS;
    ok = ok && wolfSSL_CTX_no_ticket_TLSv13(x->server) == 0;
    if (!ok) {
        fprintf(stderr, "iotls bench: wolfSSL setup failed\n");
        wolf_teardown(x);
        return NULL;
    }
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
}

static void *wolf_client(void *p, int fd)
{
    wolf_ctx *x = p;
    wolf_conn *c = new_conn(x->client, fd);
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

const bench_stack bench_stack_wolfssl = {
    .name = "wolfSSL",
    .version = wolf_version,
    .setup = wolf_setup,
    .client = wolf_client,
    .server = wolf_server,
    .write = wolf_write,
    .read = wolf_read,
    .wire_out = wolf_wire_out,
    .close = wolf_close,
    .teardown = wolf_teardown,
};
