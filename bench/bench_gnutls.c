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
    gnutls_psk_client_credentials_t client_psk;
    gnutls_psk_server_credentials_t server_psk;
    gnutls_priority_t prio;
    const char *server_name;
    bench_kind kind;
    gnutls_datum_t ticket_key; /* resumed kind: the server's ticket key */
    gnutls_datum_t resume;     /* resumed kind: the client's session from the set-up handshake */
    uint8_t psk[BENCH_PSK_LEN];
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

static const char *gtls_cannot(const bench_params *p)
{
    (void)p;
    return NULL;
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
    if (x->client_psk)
        gnutls_psk_free_client_credentials(x->client_psk);
    if (x->server_psk)
        gnutls_psk_free_server_credentials(x->server_psk);
    if (x->prio)
        gnutls_priority_deinit(x->prio);
    if (x->ticket_key.data) {
        gnutls_memset(x->ticket_key.data, 0, x->ticket_key.size);
        gnutls_free(x->ticket_key.data);
    }
    gnutls_free(x->resume.data);
    gnutls_memset(x->psk, 0, sizeof x->psk);
    free(x);
}

/* The server's external PSK, looked up by the identity the client names. */
static int psk_lookup(gnutls_session_t s, const char *identity, gnutls_datum_t *key)
{
    gtls_ctx *x = gnutls_session_get_ptr(s);
    if (!x || strcmp(identity, BENCH_PSK_IDENTITY) != 0)
        return -1;
    key->data = gnutls_malloc(BENCH_PSK_LEN);
    if (!key->data)
        return -1;
    memcpy(key->data, x->psk, BENCH_PSK_LEN);
    key->size = BENCH_PSK_LEN;
    return 0;
}

static void *gtls_setup(const bench_params *p)
{
    gtls_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->kind = p->kind;
    int p256 = strcmp(p->group, "secp256r1") == 0;
    if (strcmp(p->suite, "TLS_AES_128_GCM_SHA256") != 0 ||
        (strcmp(p->group, "x25519") != 0 && !p256)) {
        fprintf(stderr, "iotls bench: GnuTLS: only %s with x25519 or secp256r1 is mapped\n",
                BENCH_SUITE);
        free(x);
        return NULL;
    }
    int ok;
    if (p->kind == BENCH_PSK) {
        /* No certificate and no CA: the PSK authenticates both sides;
         * ECDHE-PSK alone is psk_dhe_ke. */
        memcpy(x->psk, p->psk, BENCH_PSK_LEN);
        gnutls_datum_t key = {x->psk, BENCH_PSK_LEN};
        ok = gnutls_psk_allocate_client_credentials(&x->client_psk) == 0 &&
             gnutls_psk_allocate_server_credentials(&x->server_psk) == 0 &&
             gnutls_psk_set_client_credentials(x->client_psk, BENCH_PSK_IDENTITY, &key,
                                               GNUTLS_PSK_KEY_RAW) == 0;
        if (ok)
            gnutls_psk_set_server_credentials_function(x->server_psk, psk_lookup);
        ok = ok && gnutls_priority_init(&x->prio,
                                        "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:"
                                        "-GROUP-ALL:+GROUP-X25519:-KX-ALL:+ECDHE-PSK",
                                        NULL) == 0;
    } else {
        gnutls_datum_t cert = {(unsigned char *)p->cert_pem, (unsigned)strlen(p->cert_pem)};
        gnutls_datum_t key = {(unsigned char *)p->key_pem, (unsigned)strlen(p->key_pem)};
        gnutls_datum_t ca = {(unsigned char *)p->ca_cert_pem, (unsigned)strlen(p->ca_cert_pem)};
        ok = gnutls_certificate_allocate_credentials(&x->server_cred) == 0 &&
             gnutls_certificate_allocate_credentials(&x->client_cred) == 0;
        ok = ok && gnutls_certificate_set_x509_key_mem2(x->server_cred, &cert, &key,
                                                        GNUTLS_X509_FMT_PEM, NULL, 0) >= 0;
        ok = ok &&
             gnutls_certificate_set_x509_trust_mem(x->client_cred, &ca, GNUTLS_X509_FMT_PEM) == 1;
        ok = ok && gnutls_priority_init(&x->prio,
                                        p256 ? "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:"
                                               "+AES-128-GCM:-GROUP-ALL:+GROUP-SECP256R1"
                                             : "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:"
                                               "+AES-128-GCM:-GROUP-ALL:+GROUP-X25519",
                                        NULL) == 0;
    }
    if (p->kind == BENCH_RESUMED)
        ok = ok && gnutls_session_ticket_key_generate(&x->ticket_key) == 0;
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
    unsigned flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
                     (x->kind == BENCH_RESUMED ? 0 : GNUTLS_NO_TICKETS);
    if (gnutls_init(&c->s, flags) != 0) {
        free(c);
        return NULL;
    }
    gnutls_session_set_ptr(c->s, x);
    int rc = gnutls_priority_set(c->s, x->prio);
    if (rc == 0 && x->kind == BENCH_PSK)
        rc = server ? gnutls_credentials_set(c->s, GNUTLS_CRD_PSK, x->server_psk)
                    : gnutls_credentials_set(c->s, GNUTLS_CRD_PSK, x->client_psk);
    else if (rc == 0)
        rc = gnutls_credentials_set(c->s, GNUTLS_CRD_CERTIFICATE,
                                    server ? x->server_cred : x->client_cred);
    if (rc == 0 && x->kind == BENCH_RESUMED && server)
        rc = gnutls_session_ticket_enable_server(c->s, &x->ticket_key);
    if (rc == 0 && x->kind == BENCH_RESUMED && !server && x->resume.size > 0)
        rc = gnutls_session_set_data(c->s, x->resume.data, x->resume.size);
    if (rc != 0) {
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
        if (x->kind != BENCH_PSK)
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

static int gtls_keep_session(void *ctx, void *conn)
{
    gtls_ctx *x = ctx;
    gtls_conn *c = conn;
    gnutls_free(x->resume.data);
    x->resume.data = NULL;
    x->resume.size = 0;
    /* Without a ticket received, TLS 1.3 session data cannot resume. */
    if (!(gnutls_session_get_flags(c->s) & GNUTLS_SFLAGS_SESSION_TICKET))
        return 0;
    return gnutls_session_get_data2(c->s, &x->resume) == 0 && x->resume.size > 0;
}

static int gtls_kind_ok(void *ctx, void *conn, int is_server)
{
    (void)is_server;
    gtls_ctx *x = ctx;
    gnutls_session_t s = ((gtls_conn *)conn)->s;
    int x25519 = gnutls_group_get(s) == GNUTLS_GROUP_X25519;
    switch (x->kind) {
    case BENCH_FULL:
        return !gnutls_session_is_resumed(s);
    case BENCH_RESUMED:
        return gnutls_session_is_resumed(s) && x25519;
    case BENCH_PSK:
        return gnutls_auth_get_type(s) == GNUTLS_CRD_PSK &&
               gnutls_kx_get(s) == GNUTLS_KX_ECDHE_PSK && x25519;
    }
    return 0;
}

const bench_stack bench_stack_gnutls = {
    .name = "GnuTLS",
    .version = gtls_version,
    .cannot = gtls_cannot,
    .setup = gtls_setup,
    .client = gtls_client,
    .server = gtls_server,
    .write = gtls_write,
    .read = gtls_read,
    .wire_out = gtls_wire_out,
    .keep_session = gtls_keep_session,
    .kind_ok = gtls_kind_ok,
    .close = gtls_close,
    .teardown = gtls_teardown,
};
