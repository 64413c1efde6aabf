/* Mbed TLS 4.0's own TLS 1.3 (mbedtls_ssl_*) behind the bench_stack
 * interface: the column the PSA provider is measured against, the library
 * ESP-IDF 6 ships. Built only in a PSA build against Mbed TLS 4, where
 * libmbedtls is beside the libraries iotls links (CMakeLists.txt defines
 * IOTLS_BENCH_MBEDTLS4); elsewhere this file is empty and the column is
 * absent. Client and server each get a configuration of their own, TLS
 * 1.3 only, the bench's suite and group, the ECDSA P-256 certificate; the
 * transport callbacks are plain send()/recv() on the socket plus a byte
 * count, as for the other stacks. Resumed: the server's tickets come from
 * Mbed TLS' own ticket module (mbedtls_ssl_ticket_*, AES-256-GCM), one per
 * handshake; the client keeps the session (mbedtls_ssl_get_session) and
 * offers it (mbedtls_ssl_set_session). External PSK: mbedtls_ssl_conf_psk on
 * both sides, the server without a certificate. Both offer psk_dhe_ke only
 * (the full handshake that primes the resumed kind: ephemeral as well), so a
 * PSK handshake here is psk_dhe_ke with the bench's one group. Mbed TLS has
 * no "session reused" or "PSK used" call: the client counts the
 * certificates it verified (none: the PSK was taken) and the server the
 * tickets it accepted (kind_ok). */
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
#include <mbedtls/ssl_ticket.h>
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
    bench_kind kind;
    /* Resumed kind: the server's ticket keys, the tickets it accepted so
     * far (one round runs at a time), the client's kept session. */
    mbedtls_ssl_ticket_context ticket;
    unsigned long tickets_accepted;
    mbedtls_ssl_session resume;
    int have_session;
    uint8_t psk[BENCH_PSK_LEN];
} mb_ctx;

typedef struct {
    mbedtls_ssl_context ssl;
    int fd;
    uint64_t sent;
    int certs_verified;           /* client: certificates the handshake verified */
    unsigned long tickets_before; /* server: mb_ctx.tickets_accepted at its start */
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
    mbedtls_ssl_ticket_free(&x->ticket);
    mbedtls_ssl_session_free(&x->resume);
    memset(x->psk, 0, sizeof x->psk);
    free(x);
}

/* The ticket callbacks: Mbed TLS' own, and a count of the tickets the
 * server accepted (kind_ok). */
static int ticket_write(void *p, const mbedtls_ssl_session *session, unsigned char *start,
                        const unsigned char *end, size_t *tlen, uint32_t *lifetime)
{
    mb_ctx *x = p;
    return mbedtls_ssl_ticket_write(&x->ticket, session, start, end, tlen, lifetime);
}

static int ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf, size_t len)
{
    mb_ctx *x = p;
    int ret = mbedtls_ssl_ticket_parse(&x->ticket, session, buf, len);
    if (ret == 0)
        x->tickets_accepted++;
    return ret;
}

/* TLS 1.3 only, one suite, one group; the key exchange modes of the kind. */
static int common(mbedtls_ssl_config *conf, int endpoint, const mb_ctx *x)
{
    if (mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM,
                                    MBEDTLS_SSL_PRESET_DEFAULT) != 0)
        return 0;
    mbedtls_ssl_conf_min_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_max_tls_version(conf, MBEDTLS_SSL_VERSION_TLS1_3);
    mbedtls_ssl_conf_ciphersuites(conf, x->suites);
    mbedtls_ssl_conf_groups(conf, x->groups);
    if (x->kind == BENCH_RESUMED)
        mbedtls_ssl_conf_tls13_key_exchange_modes(
            conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL |
                      MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL);
    else if (x->kind == BENCH_PSK)
        mbedtls_ssl_conf_tls13_key_exchange_modes(
            conf, MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL);
    return 1;
}

/* External PSK: the same key and identity on both sides, no certificate. */
static int setup_psk(mb_ctx *x, const bench_params *p)
{
    memcpy(x->psk, p->psk, BENCH_PSK_LEN);
    const unsigned char *id = (const unsigned char *)BENCH_PSK_IDENTITY;
    size_t id_len = strlen(BENCH_PSK_IDENTITY);
    return mbedtls_ssl_conf_psk(&x->client, x->psk, BENCH_PSK_LEN, id, id_len) == 0 &&
           mbedtls_ssl_conf_psk(&x->server, x->psk, BENCH_PSK_LEN, id, id_len) == 0;
}

/* Certificates: the server's chain and key, the client's trust anchor. */
static int setup_certs(mb_ctx *x, const bench_params *p)
{
    int ok = mbedtls_x509_crt_parse(&x->ca, (const unsigned char *)p->ca_cert_pem,
                                    strlen(p->ca_cert_pem) + 1) == 0;
    ok = ok && mbedtls_x509_crt_parse(&x->cert, (const unsigned char *)p->cert_pem,
                                      strlen(p->cert_pem) + 1) == 0;
    ok = ok && mbedtls_pk_parse_key(&x->key, (const unsigned char *)p->key_pem,
                                    strlen(p->key_pem) + 1, NULL, 0) == 0;
    ok = ok && mbedtls_ssl_conf_own_cert(&x->server, &x->cert, &x->key) == 0;
    if (ok) {
        mbedtls_ssl_conf_ca_chain(&x->client, &x->ca, NULL);
        mbedtls_ssl_conf_authmode(&x->client, MBEDTLS_SSL_VERIFY_REQUIRED);
    }
    return ok;
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
    mbedtls_ssl_ticket_init(&x->ticket);
    mbedtls_ssl_session_init(&x->resume);
    x->kind = p->kind;
    x->server_name = p->server_name;
    x->suites[0] = MBEDTLS_TLS1_3_AES_128_GCM_SHA256;
    x->suites[1] = 0;
    x->groups[0] = group_id(p->group);
    x->groups[1] = MBEDTLS_SSL_IANA_TLS_GROUP_NONE;
    int ok = common(&x->client, MBEDTLS_SSL_IS_CLIENT, x) &&
             common(&x->server, MBEDTLS_SSL_IS_SERVER, x);
    ok = ok && (p->kind == BENCH_PSK ? setup_psk(x, p) : setup_certs(x, p));
    if (ok && p->kind == BENCH_RESUMED) {
        /* One ticket per handshake, sealed with AES-256-GCM, valid a day. */
        ok = mbedtls_ssl_ticket_setup(&x->ticket, PSA_ALG_GCM, PSA_KEY_TYPE_AES, 256, 86400) == 0;
        if (ok) {
            mbedtls_ssl_conf_session_tickets_cb(&x->server, ticket_write, ticket_parse, x);
            mbedtls_ssl_conf_new_session_tickets(&x->server, 1);
            mbedtls_ssl_conf_session_tickets(&x->client, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
        }
    } else {
        /* No tickets either way: the server has no ticket callbacks, so it
         * sends none, and the client asks for none. */
        mbedtls_ssl_conf_session_tickets(&x->client, MBEDTLS_SSL_SESSION_TICKETS_DISABLED);
    }
    if (!ok) {
        fprintf(stderr, "iotls bench: Mbed TLS setup failed\n");
        mb_teardown(x);
        return NULL;
    }
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

/* Counts the certificates the client's handshake verified; Mbed TLS'
 * verdict (flags) is left as it is. */
static int count_verified(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)crt;
    (void)depth;
    (void)flags;
    ((mb_conn *)p)->certs_verified++;
    return 0;
}

/* session: the client's session to offer, or NULL. */
static mb_conn *handshake(const mbedtls_ssl_config *conf, int fd, const char *host,
                          const mbedtls_ssl_session *session, unsigned long tickets_before)
{
    mb_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->fd = fd;
    c->tickets_before = tickets_before;
    mbedtls_ssl_init(&c->ssl);
    int ret = mbedtls_ssl_setup(&c->ssl, conf);
    if (ret == 0 && host) {
        mbedtls_ssl_set_verify(&c->ssl, count_verified, c);
        ret = mbedtls_ssl_set_hostname(&c->ssl, host);
    }
    if (ret == 0 && session)
        ret = mbedtls_ssl_set_session(&c->ssl, session);
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
    return handshake(&x->client, fd, x->server_name, x->have_session ? &x->resume : NULL, 0);
}

static void *mb_server(void *p, int fd)
{
    mb_ctx *x = p;
    return handshake(&x->server, fd, NULL, NULL, x->tickets_accepted);
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

/* The last ticket the client received (the set-up round read one byte of
 * application data, so the tickets sent before it were processed). */
static int mb_keep_session(void *ctx, void *conn)
{
    mb_ctx *x = ctx;
    mbedtls_ssl_session_free(&x->resume);
    mbedtls_ssl_session_init(&x->resume);
    x->have_session = mbedtls_ssl_get_session(&((mb_conn *)conn)->ssl, &x->resume) == 0;
    return x->have_session;
}

static int mb_kind_ok(void *ctx, void *conn, int is_server)
{
    mb_ctx *x = ctx;
    mb_conn *c = conn;
    if (!mbedtls_ssl_is_handshake_over(&c->ssl) ||
        mbedtls_ssl_get_version_number(&c->ssl) != MBEDTLS_SSL_VERSION_TLS1_3)
        return 0;
    switch (x->kind) {
    case BENCH_FULL:
        /* The server has no tickets to take: nothing but a full handshake. */
        return is_server || c->certs_verified > 0;
    case BENCH_RESUMED:
        /* The client verified no certificate (the session was taken); the
         * server accepted a ticket in this handshake. psk_dhe_ke: the only
         * PSK mode either side offers. */
        return is_server ? x->tickets_accepted > c->tickets_before : c->certs_verified == 0;
    case BENCH_PSK:
        /* The server has no certificate, so a finished handshake used the
         * PSK; the client verified none. */
        return is_server || c->certs_verified == 0;
    }
    return 0;
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
