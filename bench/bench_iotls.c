/* iotls behind the bench_stack interface, through its blocking API. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench.h"
#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/session.h"

typedef struct {
    iotls_config *client_cfg, *server_cfg;
    iotls *listener; /* iotls_accept_socket's server object */
    const char *server_name;
    bench_kind kind;
    /* Resumption: the session blob of the first ticket received. */
    pthread_mutex_t lock;
    uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t blob_len;
} iotls_bench_ctx;

static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)conn;
    iotls_bench_ctx *x = arg;
    iotls_session s;
    pthread_mutex_lock(&x->lock);
    if (x->blob_len == 0 && iotls_session_from_ticket(&s, t) == IOTLS_OK &&
        iotls_session_save(&s, x->blob, sizeof x->blob, &x->blob_len) != IOTLS_OK)
        x->blob_len = 0;
    iotls_session_wipe(&s);
    pthread_mutex_unlock(&x->lock);
}

static const char *iotls_version(void)
{
    return iotls_crypto_backend_name();
}

static const char *iotls_cannot(const bench_params *p)
{
    (void)p;
    return NULL;
}

static void iotls_teardown(void *p)
{
    iotls_bench_ctx *x = p;
    if (!x)
        return;
    iotls_free(x->listener);
    iotls_config_free(x->client_cfg);
    iotls_config_free(x->server_cfg);
    pthread_mutex_destroy(&x->lock);
    free(x);
}

static void *iotls_setup(const bench_params *p)
{
    iotls_bench_ctx *x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->server_name = p->server_name;
    x->kind = p->kind;
    pthread_mutex_init(&x->lock, NULL);
    x->client_cfg = iotls_config_new();
    x->server_cfg = iotls_config_new();
    int rc = (!x->client_cfg || !x->server_cfg) ? IOTLS_ERR_NO_MEMORY : IOTLS_OK;
    /* An external-PSK server has no certificate (and its client no CA):
     * the PSK authenticates both sides. */
    if (!rc && p->kind != BENCH_PSK)
        rc = iotls_config_set_cert_mem(x->server_cfg, (const uint8_t *)p->cert_pem,
                                       strlen(p->cert_pem) + 1, (const uint8_t *)p->key_pem,
                                       strlen(p->key_pem) + 1);
    if (!rc && p->kind != BENCH_PSK)
        rc = iotls_config_set_ca_mem(x->client_cfg, (const uint8_t *)p->ca_cert_pem,
                                     strlen(p->ca_cert_pem) + 1);
    for (int k = 0; !rc && k < 2; k++) {
        iotls_config *c = k ? x->client_cfg : x->server_cfg;
        rc = iotls_config_set_ciphers(c, p->suite);
        if (!rc)
            rc = iotls_config_set_groups(c, p->group);
        if (!rc && p->record_size)
            rc = iotls_config_set_record_size(c, p->record_size);
        if (!rc && p->max_handshake)
            rc = iotls_config_set_max_handshake_size(c, p->max_handshake);
        if (!rc && p->reassemble_in_place)
            rc = iotls_config_set_reassemble_in_place(c, 1);
        /* psk_ke stays off (the default): psk_dhe_ke only. */
        if (!rc && p->kind == BENCH_PSK)
            rc = iotls_config_set_psk(c, (const uint8_t *)BENCH_PSK_IDENTITY,
                                      strlen(BENCH_PSK_IDENTITY), p->psk, BENCH_PSK_LEN,
                                      0x1301 /* TLS_AES_128_GCM_SHA256 */);
    }
    if (!rc && p->kind == BENCH_RESUMED) {
        rc = iotls_config_set_tickets(x->server_cfg, 1);
        iotls_config_set_ticket_cb(x->client_cfg, on_ticket, x);
    }
    if (!rc) {
        x->listener = iotls_server_new(x->server_cfg);
        if (!x->listener)
            rc = IOTLS_ERR_NO_MEMORY;
    }
    if (rc) {
        fprintf(stderr, "iotls bench: iotls setup: %s\n", iotls_error_string(rc));
        iotls_teardown(x);
        return NULL;
    }
    return x;
}

static void *iotls_client(void *p, int fd)
{
    iotls_bench_ctx *x = p;
    iotls *t = iotls_client_new(x->client_cfg);
    if (!t)
        return NULL;
    if (x->kind == BENCH_RESUMED) {
        pthread_mutex_lock(&x->lock);
        int rc = x->blob_len > 0 ? iotls_set_session(t, x->blob, x->blob_len) : IOTLS_OK;
        pthread_mutex_unlock(&x->lock);
        if (rc != IOTLS_OK) {
            iotls_free(t);
            return NULL;
        }
    }
    if (iotls_connect_socket(t, fd, x->server_name) == IOTLS_OK)
        return t;
    iotls_free(t);
    return NULL;
}

static size_t iotls_own_bytes(void *conn)
{
    return iotls_memory_used(conn);
}

static int iotls_keep_session(void *ctx, void *conn)
{
    (void)conn; /* on_ticket kept it when the ticket was read */
    iotls_bench_ctx *x = ctx;
    pthread_mutex_lock(&x->lock);
    int kept = x->blob_len > 0;
    pthread_mutex_unlock(&x->lock);
    return kept;
}

static int iotls_kind_ok(void *ctx, void *conn, int is_server)
{
    (void)is_server;
    iotls_bench_ctx *x = ctx;
    iotls_info info;
    if (iotls_get_info(conn, &info) != IOTLS_OK || !info.handshake_done)
        return 0;
    switch (x->kind) {
    case BENCH_FULL:
        return !info.resumed && !info.external_psk;
    case BENCH_RESUMED:
        return info.resumed && !info.external_psk && info.group == 0x001d;
    case BENCH_PSK:
        return info.external_psk && info.group == 0x001d;
    }
    return 0;
}

static void *iotls_server(void *p, int fd)
{
    iotls_bench_ctx *x = p;
    iotls *conn = NULL;
    if (iotls_accept_socket(x->listener, fd, &conn) == IOTLS_OK)
        return conn;
    iotls_free(conn);
    return NULL;
}

static int iotls_bench_write(void *conn, const void *buf, size_t len)
{
    return iotls_write(conn, buf, len) == (ssize_t)len;
}

static long iotls_bench_read(void *conn, void *buf, size_t cap)
{
    return (long)iotls_read(conn, buf, cap);
}

static uint64_t iotls_wire_out(void *conn)
{
    iotls_info info;
    return iotls_get_info(conn, &info) == IOTLS_OK ? info.bytes_out : 0;
}

static void iotls_close_conn(void *conn)
{
    iotls_free(conn);
}

const bench_stack bench_stack_iotls = {
    .name = "iotls",
    .version = iotls_version,
    .cannot = iotls_cannot,
    .setup = iotls_setup,
    .client = iotls_client,
    .server = iotls_server,
    .write = iotls_bench_write,
    .read = iotls_bench_read,
    .wire_out = iotls_wire_out,
    .keep_session = iotls_keep_session,
    .kind_ok = iotls_kind_ok,
    .own_bytes = iotls_own_bytes,
    .close = iotls_close_conn,
    .teardown = iotls_teardown,
};

/* ---- one traced handshake, for bench_cryptoonly.c ---- */

typedef struct {
    pthread_mutex_t lock;
    bench_msg_trace *out;
    const iotls_config *server_cfg;
} trace_sink;

static void on_event(void *arg, const iotls_conn *conn, const iotls_event *ev)
{
    (void)conn;
    trace_sink *s = arg;
    if (ev->kind != IOTLS_EV_HS_SENT)
        return;
    pthread_mutex_lock(&s->lock);
    bench_msg_trace *t = s->out;
    if (t->count < BENCH_MAX_MSGS) {
        t->type[t->count] = ev->hs_type;
        t->len[t->count] = ev->len;
        /* Both configs share this sink; the server's messages are the ones
         * after ClientHello and before the client's Finished. */
        t->from_server[t->count] = 0;
        t->count++;
    }
    pthread_mutex_unlock(&s->lock);
}

typedef struct {
    iotls_bench_ctx *x;
    int fd;
    iotls *conn;
} trace_server_arg;

static void *trace_server(void *p)
{
    trace_server_arg *a = p;
    a->conn = iotls_server(a->x, a->fd);
    return NULL;
}

int bench_iotls_trace_handshake(const bench_params *p, bench_msg_trace *out)
{
    memset(out, 0, sizeof *out);
    iotls_bench_ctx *x = iotls_setup(p);
    if (!x)
        return 0;
    trace_sink sink = {.out = out};
    pthread_mutex_init(&sink.lock, NULL);
    iotls_config_set_trace(x->client_cfg, on_event, &sink);
    iotls_config_set_trace(x->server_cfg, on_event, &sink);
    int sv[2], ok = 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0) {
        trace_server_arg a = {.x = x, .fd = sv[1]};
        pthread_t th;
        if (pthread_create(&th, NULL, trace_server, &a) == 0) {
            iotls *c = iotls_client(x, sv[0]);
            pthread_join(th, NULL);
            iotls_info info;
            if (c && a.conn && iotls_get_info(a.conn, &info) == IOTLS_OK) {
                /* ServerHello goes out in the clear; the rest of the flight
                 * in protected records. */
                out->server_records = info.records_out > 0 ? info.records_out - 1 : 0;
                ok = 1;
            }
            iotls_free(c);
            iotls_free(a.conn);
        }
        close(sv[0]);
        close(sv[1]);
    }
    /* ClientHello first, client Finished last: everything between is the
     * server's flight (the client waits for it before sending more). */
    for (size_t i = 1; ok && i + 1 < out->count; i++)
        out->from_server[i] = 1;
    pthread_mutex_destroy(&sink.lock);
    iotls_teardown(x);
    return ok && out->count >= 3;
}

size_t bench_iotls_conn_size(void *ctx)
{
    return iotls_conn_size(((iotls_bench_ctx *)ctx)->client_cfg);
}
