/* OpenSSL 3 libssl behind the bench_stack interface. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct {
    SSL_CTX *client, *server;
    const char *server_name;
} ossl_ctx;

static const char *ossl_version(void)
{
    return OpenSSL_version(OPENSSL_VERSION);
}

static int use_pem(SSL_CTX *ctx, const char *cert, const char *key)
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

static int trust_pem(SSL_CTX *ctx, const char *ca)
{
    BIO *b = BIO_new_mem_buf(ca, -1);
    X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    int ok = x && X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx), x) == 1;
    X509_free(x);
    BIO_free(b);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    return ok;
}

static int common(SSL_CTX *ctx, const bench_params *p)
{
    /* OpenSSL's group names are upper case ("X25519"). */
    const char *group = strcmp(p->group, "x25519") == 0 ? "X25519" : p->group;
    return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_ciphersuites(ctx, p->suite) == 1 &&
           SSL_CTX_set1_groups_list(ctx, group) == 1 && SSL_CTX_set_num_tickets(ctx, 0) == 1;
}

static void ossl_teardown(void *p)
{
    ossl_ctx *x = p;
    if (!x)
        return;
    SSL_CTX_free(x->client);
    SSL_CTX_free(x->server);
    free(x);
}

static void *ossl_setup(const bench_params *p)
{
    ossl_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->server = SSL_CTX_new(TLS_server_method());
    x->client = SSL_CTX_new(TLS_client_method());
    if (!x->server || !x->client || !common(x->server, p) || !common(x->client, p) ||
        !use_pem(x->server, p->cert_pem, p->key_pem) || !trust_pem(x->client, p->ca_cert_pem)) {
        fprintf(stderr, "iotls bench: OpenSSL setup failed\n");
        ERR_print_errors_fp(stderr);
        ossl_teardown(x);
        return NULL;
    }
    return x;
}

static void *ossl_client(void *p, int fd)
{
    ossl_ctx *x = p;
    SSL *ssl = SSL_new(x->client);
    if (ssl && SSL_set_tlsext_host_name(ssl, x->server_name) == 1 &&
        SSL_set1_host(ssl, x->server_name) == 1 && SSL_set_fd(ssl, fd) == 1 &&
        SSL_connect(ssl) == 1)
        return ssl;
    SSL_free(ssl);
    return NULL;
}

static void *ossl_server(void *p, int fd)
{
    ossl_ctx *x = p;
    SSL *ssl = SSL_new(x->server);
    if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1)
        return ssl;
    SSL_free(ssl);
    return NULL;
}

static int ossl_write(void *conn, const void *buf, size_t len)
{
    size_t done = 0;
    return SSL_write_ex(conn, buf, len, &done) == 1 && done == len;
}

static long ossl_read(void *conn, void *buf, size_t cap)
{
    size_t got = 0;
    return SSL_read_ex(conn, buf, cap, &got) == 1 ? (long)got : -1;
}

static uint64_t ossl_wire_out(void *conn)
{
    return BIO_number_written(SSL_get_wbio(conn));
}

static void ossl_close(void *conn)
{
    SSL_free(conn);
}

const bench_stack bench_stack_openssl = {
    .name = "OpenSSL",
    .version = ossl_version,
    .setup = ossl_setup,
    .client = ossl_client,
    .server = ossl_server,
    .write = ossl_write,
    .read = ossl_read,
    .wire_out = ossl_wire_out,
    .close = ossl_close,
    .teardown = ossl_teardown,
};
