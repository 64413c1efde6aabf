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
    bench_kind kind;
    SSL_SESSION *resume; /* resumed kind: the client's session from the set-up handshake */
    SSL_SESSION *psk;    /* external-PSK kind: the PSK as a TLS 1.3 session */
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
    /* Resumed kind: one ticket per handshake, like the other stacks (the
     * default is two after a full handshake). */
    size_t tickets = p->kind == BENCH_RESUMED ? 1 : 0;
    return SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1 &&
           SSL_CTX_set_ciphersuites(ctx, p->suite) == 1 &&
           SSL_CTX_set1_groups_list(ctx, group) == 1 && SSL_CTX_set_num_tickets(ctx, tickets) == 1;
}

static const char *ossl_cannot(const bench_params *p)
{
    (void)p;
    return NULL;
}

static void ossl_teardown(void *p)
{
    ossl_ctx *x = p;
    if (!x)
        return;
    SSL_CTX_free(x->client);
    SSL_CTX_free(x->server);
    SSL_SESSION_free(x->resume);
    SSL_SESSION_free(x->psk);
    free(x);
}

/* External PSK: the client offers x->psk under BENCH_PSK_IDENTITY, the
 * server finds it by that identity. */
static int use_psk(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
                   SSL_SESSION **sess)
{
    (void)md; /* SHA-256, the suite's: the only one offered */
    ossl_ctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    *sess = NULL;
    if (!x->psk || SSL_SESSION_up_ref(x->psk) != 1)
        return 0;
    *sess = x->psk;
    *id = (const unsigned char *)BENCH_PSK_IDENTITY;
    *idlen = strlen(BENCH_PSK_IDENTITY);
    return 1;
}

static int find_psk(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
    ossl_ctx *x = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    *sess = NULL;
    if (idlen == strlen(BENCH_PSK_IDENTITY) && memcmp(id, BENCH_PSK_IDENTITY, idlen) == 0 &&
        x->psk && SSL_SESSION_up_ref(x->psk) == 1)
        *sess = x->psk;
    return 1; /* an unknown identity is no error: no PSK (and no certificate either) */
}

static SSL_SESSION *psk_session(SSL_CTX *ctx, const uint8_t *key)
{
    static const unsigned char aes128gcm[2] = {0x13, 0x01};
    SSL *tmp = SSL_new(ctx);
    const SSL_CIPHER *cipher = tmp ? SSL_CIPHER_find(tmp, aes128gcm) : NULL;
    SSL_SESSION *s = cipher ? SSL_SESSION_new() : NULL;
    if (s && (SSL_SESSION_set1_master_key(s, key, BENCH_PSK_LEN) != 1 ||
              SSL_SESSION_set_cipher(s, cipher) != 1 ||
              SSL_SESSION_set_protocol_version(s, TLS1_3_VERSION) != 1)) {
        SSL_SESSION_free(s);
        s = NULL;
    }
    SSL_free(tmp);
    return s;
}

static void *ossl_setup(const bench_params *p)
{
    ossl_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->kind = p->kind;
    x->server = SSL_CTX_new(TLS_server_method());
    x->client = SSL_CTX_new(TLS_client_method());
    int ok = x->server && x->client && common(x->server, p) && common(x->client, p);
    if (ok && p->kind == BENCH_PSK) {
        /* No certificate and no CA: the PSK authenticates both sides. */
        SSL_CTX_set_app_data(x->server, x);
        SSL_CTX_set_app_data(x->client, x);
        SSL_CTX_set_psk_find_session_callback(x->server, find_psk);
        SSL_CTX_set_psk_use_session_callback(x->client, use_psk);
        ok = (x->psk = psk_session(x->client, p->psk)) != NULL;
    } else if (ok) {
        ok = use_pem(x->server, p->cert_pem, p->key_pem) && trust_pem(x->client, p->ca_cert_pem);
    }
    if (!ok) {
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
    if (ssl && x->kind == BENCH_RESUMED && x->resume && SSL_set_session(ssl, x->resume) != 1) {
        SSL_free(ssl);
        return NULL;
    }
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

static int ossl_keep_session(void *ctx, void *conn)
{
    ossl_ctx *x = ctx;
    SSL_SESSION_free(x->resume);
    x->resume = SSL_get1_session(conn); /* the one the ticket read last updated */
    return x->resume && SSL_SESSION_is_resumable(x->resume);
}

static int ossl_kind_ok(void *ctx, void *conn, int is_server)
{
    (void)is_server;
    ossl_ctx *x = ctx;
    /* s->hit: set for a ticket and for an external PSK alike. */
    int reused = SSL_session_reused(conn) == 1;
    if (x->kind == BENCH_FULL)
        return !reused;
    return reused && SSL_get_negotiated_group(conn) == NID_X25519;
}

static void ossl_close(void *conn)
{
    /* Freed without a shutdown, a connection's session counts as bad and
     * is marked not resumable: the bench closes without close_notify but
     * keeps the session. */
    SSL_set_shutdown(conn, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    SSL_free(conn);
}

const bench_stack bench_stack_openssl = {
    .name = "OpenSSL",
    .version = ossl_version,
    .cannot = ossl_cannot,
    .setup = ossl_setup,
    .client = ossl_client,
    .server = ossl_server,
    .write = ossl_write,
    .read = ossl_read,
    .wire_out = ossl_wire_out,
    .keep_session = ossl_keep_session,
    .kind_ok = ossl_kind_ok,
    .close = ossl_close,
    .teardown = ossl_teardown,
};
