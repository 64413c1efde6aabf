/* GnuTLS 3 behind the bench_stack interface. Receiving uses GnuTLS's own
 * socket pull; sending goes through a push function that counts bytes. */
#include <gnutls/gnutls.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "bench.h"

typedef struct {
    gnutls_certificate_credentials_t client_cred, server_cred;
    gnutls_priority_t prio;
    const char *server_name;
} gtls_ctx;

typedef struct {
    gnutls_session_t s;
    int fd;
    uint64_t sent;
} gtls_conn;

static const char *gtls_version(void)
{
    static char v[48];
    snprintf(v, sizeof v, "GnuTLS %s", gnutls_check_version(NULL));
    return v;
}

static ssize_t count_push(gnutls_transport_ptr_t arg, const void *buf, size_t len)
{
    gtls_conn *c = arg;
    ssize_t n;
    do
        n = send(c->fd, buf, len, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n > 0)
        c->sent += (uint64_t)n;
    return n;
}

static void gtls_teardown(void *p)
{
    gtls_ctx *x = p;
    if (!x)
        return;
    if (x->client_cred)
        gnutls_certificate_free_credentials(x->client_cred);
    if (x->server_cred)
        gnutls_certificate_free_credentials(x->server_cred);
    if (x->prio)
        gnutls_priority_deinit(x->prio);
    free(x);
}

static void *gtls_setup(const bench_params *p)
{
    gtls_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    if (strcmp(p->suite, "TLS_AES_128_GCM_SHA256") != 0 || strcmp(p->group, "x25519") != 0) {
        fprintf(stderr, "iotls bench: GnuTLS: only %s with %s is mapped\n", BENCH_SUITE,
                BENCH_GROUP);
        free(x);
        return NULL;
    }
    gnutls_datum_t cert = {(unsigned char *)p->cert_pem, (unsigned)strlen(p->cert_pem)};
    gnutls_datum_t key = {(unsigned char *)p->key_pem, (unsigned)strlen(p->key_pem)};
    gnutls_datum_t ca = {(unsigned char *)p->ca_cert_pem, (unsigned)strlen(p->ca_cert_pem)};
    int ok = gnutls_certificate_allocate_credentials(&x->server_cred) == 0 &&
             gnutls_certificate_allocate_credentials(&x->client_cred) == 0;
    ok = ok && gnutls_certificate_set_x509_key_mem2(x->server_cred, &cert, &key,
                                                    GNUTLS_X509_FMT_PEM, NULL, 0) >= 0;
    ok = ok && gnutls_certificate_set_x509_trust_mem(x->client_cred, &ca, GNUTLS_X509_FMT_PEM) == 1;
    ok = ok && gnutls_priority_init(&x->prio,
                                    "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
                                    "-GROUP-ALL:+GROUP-X25519",
                                    NULL) == 0;
    if (!ok) {
        fprintf(stderr, "iotls bench: GnuTLS setup failed\n");
        gtls_teardown(x);
        return NULL;
    }
    return x;
}

static void gtls_close(void *p)
{
    gtls_conn *c = p;
    if (!c)
        return;
    gnutls_deinit(c->s);
    free(c);
}

static gtls_conn *new_conn(gtls_ctx *x, int fd, int server)
{
    gtls_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    if (gnutls_init(&c->s, (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_TICKETS) != 0) {
        free(c);
        return NULL;
    }
    if (gnutls_priority_set(c->s, x->prio) != 0 ||
        gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
                               server ? x->server_cred : x->client_cred) != 0) {
        gtls_close(c);
        return NULL;
    }
    /* Receive through GnuTLS's own recv() on the fd, send through count_push. */
    gnutls_transport_set_ptr2(c->s, (gnutls_transport_ptr_t)(intptr_t)fd, c);
    gnutls_transport_set_push_function(c->s, count_push);
    return c;
}

static int drive(gtls_conn *c)
{
    int rc;
    do
        rc = gnutls_handshake(c->s);
    while (rc < 0 && gnutls_error_is_fatal(rc) == 0);
    return rc == 0;
}

static void *gtls_client(void *p, int fd)
{
    gtls_ctx *x = p;
    gtls_conn *c = new_conn(x, fd, 0);
    if (c && gnutls_server_name_set(c->s, GNUTLS_NAME_DNS, x->server_name,
                                    strlen(x->server_name)) == 0) {
        gnutls_session_set_verify_cert(c->s, x->server_name, 0);
        if (drive(c))
            return c;
    }
    gtls_close(c);
    return NULL;
}

static void *gtls_server(void *p, int fd)
{
    gtls_ctx *x = p;
    gtls_conn *c = new_conn(x, fd, 1);
    if (c && drive(c))
        return c;
    gtls_close(c);
    return NULL;
}

static int gtls_write(void *p, const void *buf, size_t len)
{
    gtls_conn *c = p;
    const char *b = buf;
    while (len > 0) {
        ssize_t n = gnutls_record_send(c->s, b, len);
        if (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN)
            continue;
        if (n <= 0)
            return 0;
        b += n;
        len -= (size_t)n;
    }
    return 1;
}

static long gtls_read(void *p, void *buf, size_t cap)
{
    gtls_conn *c = p;
    ssize_t n;
    do
        n = gnutls_record_recv(c->s, buf, cap);
    while (n == GNUTLS_E_INTERRUPTED || n == GNUTLS_E_AGAIN);
    return (long)n;
}

static uint64_t gtls_wire_out(void *p)
{
    return ((gtls_conn *)p)->sent;
}

const bench_stack bench_stack_gnutls = {
    .name = "GnuTLS",
    .version = gtls_version,
    .setup = gtls_setup,
    .client = gtls_client,
    .server = gtls_server,
    .write = gtls_write,
    .read = gtls_read,
    .wire_out = gtls_wire_out,
    .close = gtls_close,
    .teardown = gtls_teardown,
};
