/* One connection of `iotls server`'s event loop: bytes between its socket
 * and its engine (zero-copy in, the engine's output out), between the
 * engine and the application (echo or HTTP, server_app.c), the engine's
 * buffer block attached for each turn and given back after it when idle
 * (server_pool.c), closing (close_notify, lingering until the client
 * closes) and what it prints. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "exit_codes.h"
#include "server_worker.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored by the command anyway */
#endif

#define CLOSE_LINGER_MS 2000 /* longest wait for a client to close after us */

/* Attaches a buffer block to c's engine unless it has one: from the
 * pool, or a new one. 0 when there is no memory for it. */
static int buffers_get(worker *w, sconn *c)
{
    if (c->buffers)
        return 1;
    void *b = pool_take(&w->pool);
    if (b == NULL)
        return 0;
    if (iotls_conn_attach_buffers(c->tls, b, w->sh->buffers_len) != IOTLS_OK) {
        free(b);
        return 0;
    }
    c->buffers = b;
    return 1;
}

/* After a turn: an idle engine gives its buffers back. */
static void buffers_put_if_idle(worker *w, sconn *c)
{
    void *b = NULL;
    if (c->buffers && iotls_conn_buffers_idle(c->tls) &&
        iotls_conn_release_buffers(c->tls, &b) == IOTLS_OK) {
        c->buffers = NULL;
        pool_put(&w->pool, b);
    }
}

static uint32_t close_ms(const server_opts *o)
{
    return o->handshake_timeout_ms && o->handshake_timeout_ms < CLOSE_LINGER_MS
               ? o->handshake_timeout_ms
               : CLOSE_LINGER_MS;
}

/* ---- connections ---- */

static void trace_in(const worker *w, const sconn *c)
{
    if (w->sh->o->verbose && c->trace)
        trace_load(c->trace);
}

static void trace_out(const worker *w, sconn *c)
{
    if (w->sh->o->verbose && c->trace)
        trace_save(c->trace);
}

void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap)
{
    char addr[INET6_ADDRSTRLEN] = "?";
    snprintf(out, cap, "?");
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        snprintf(out, cap, "%s:%d", addr, ntohs(a->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        snprintf(out, cap, "[%s]:%d", addr, ntohs(a->sin6_port));
    }
}

/* The words the blocking API (iotls_error) gives for the same failure, so
 * the log reads the same: the alert and what the engine knows more. */
static void describe_error(const sconn *c, const char *phase, char *out, size_t cap)
{
    char more[480];
    more[0] = '\0';
    if (iotls_conn_error(c->tls) == c->err)
        (void)iotls_conn_error_detail(c->tls, more, sizeof more);
    iotls_info info;
    int have_info = iotls_conn_info(c->tls, &info) == IOTLS_OK;
    if (c->err == IOTLS_ERR_ALERT_RECEIVED) {
        snprintf(out, cap, "%s failed: peer sent alert %s%s%s%s", phase,
                 iotls_alert_name(have_info ? info.peer_alert : -1), more[0] ? " (" : "", more,
                 more[0] ? ")" : "");
        return;
    }
    int alert = iotls_error_alert(c->err);
    if (have_info && info.alert_sent > 0)
        alert = info.alert_sent;
    if (c->err == IOTLS_ERR_TIMEOUT)
        snprintf(out, cap, "%s failed: timed out", phase);
    else if (alert > 0 && c->err != IOTLS_ERR_CLOSED)
        snprintf(out, cap, "%s failed: %s (%s%s%s)", phase, iotls_alert_name(alert),
                 iotls_error_string(c->err), more[0] ? ": " : "", more);
    else if (c->err == IOTLS_ERR_EOF && phase[0] == 'h')
        snprintf(out, cap, "%s failed: %s (peer closed the TCP connection)", phase,
                 iotls_error_string(c->err));
    else if (c->err == IOTLS_ERR_IO)
        snprintf(out, cap, "%s failed: %s (%s)", phase, iotls_error_string(c->err),
                 strerror(c->sys_errno));
    else
        snprintf(out, cap, "%s failed: %s", phase, iotls_error_string(c->err));
}

static void set_events(worker *w, sconn *c, unsigned events)
{
    if (events != c->events) {
        (void)evq_mod(&w->q, c->fd, c, events);
        c->events = events;
    }
}

/* The end: its result for --once, the key update line, and the memory. */
void conn_free(worker *w, sconn *c)
{
    shared *sh = w->sh;
    iotls_info info;
    if (c->announced && iotls_conn_info(c->tls, &info) == IOTLS_OK &&
        (info.key_updates_sent > 0 || info.key_updates_received > 0))
        out_line(sh, "conn %lu: key updates sent %u received %u", c->id, info.key_updates_sent,
                 info.key_updates_received);
    if (sh->o->once) {
        int code = c->err == 0 ? APP_EXIT_OK : app_exit_for(c->err);
        atomic_store(&sh->once_code, c->err != 0 && code == APP_EXIT_OK ? APP_EXIT_FAILURE : code);
    }
    list_remove(w, c);
    (void)evq_del(&w->q, c->fd);
    close(c->fd);
    server_app_clear(&c->app);
    iotls_conn_free(c->tls); /* wipes attached buffers */
    if (c->buffers)
        pool_put(&w->pool, c->buffers);
    free(c->trace);
    free(c);
    w->freed++;
    w->open--;
    atomic_fetch_sub(&sh->open, 1);
}

/* Our last bytes are out: shut our side and read what the client still
 * sends until it closes, so that closing does not reset the connection
 * and destroy those bytes (a fatal alert, tickets) on their way. */
static int linger_read(worker *w, sconn *c);

static void begin_linger(worker *w, sconn *c)
{
    (void)shutdown(c->fd, SHUT_WR);
    if (w->draining) {
        /* Stopping must be quick: drop what has arrived (so that close
         * sends no reset) and close without waiting for the client. */
        if (!linger_read(w, c))
            conn_free(w, c);
        return;
    }
    c->state = ST_LINGER;
    set_events(w, c, EVQ_IN);
    if (c->list != L_CLOSING)
        list_move(w, c, L_CLOSING, now_ms() + close_ms(w->sh->o));
}

/* Sends what the engine queued last (close_notify, an alert), then
 * lingers. A connection whose transport failed closes at once: 1 when c
 * is freed. */
int begin_close(worker *w, sconn *c, int send_close_notify)
{
    if (c->err == IOTLS_ERR_IO) {
        conn_free(w, c);
        return 1;
    }
    /* An idle connection's engine has no buffers to seal close_notify in;
     * without memory for them it closes without one. */
    if (send_close_notify && buffers_get(w, c))
        (void)iotls_conn_close(c->tls);
    server_app_clear(&c->app);
    c->state = ST_FLUSH;
    list_move(w, c, L_CLOSING, now_ms() + close_ms(w->sh->o));
    return 0;
}

void conn_run(worker *w, sconn *c);

/* A failure: remember it, say it, and close (with the alert the engine
 * queued for it). */
void conn_fail(worker *w, sconn *c, int err, const char *why)
{
    if (c->err == 0)
        c->err = err;
    char msg[640];
    const char *phase = c->announced ? "read" : "handshake";
    if (why)
        snprintf(msg, sizeof msg, "%s", why);
    else
        describe_error(c, phase, msg, sizeof msg);
    if (!c->announced)
        out_line(w->sh, "conn %lu from %s: %s", c->id, c->peer, msg);
    else if (w->sh->o->verbose)
        fprintf(stderr, "[conn %lu] %s\n", c->id, msg);
    if (!begin_close(w, c, 0))
        conn_run(w, c); /* send the alert */
}

static void announce(worker *w, sconn *c)
{
    shared *sh = w->sh;
    iotls_info info;
    c->announced = 1;
    if (iotls_conn_info(c->tls, &info) == IOTLS_OK) {
        char client[300], subject[256] = "";
        if (info.client_auth) {
            (void)iotls_conn_peer_text(c->tls, IOTLS_PEER_SUBJECT, subject, sizeof subject);
            snprintf(client, sizeof client, "client=\"%s\"", subject);
        } else
            snprintf(client, sizeof client, "client=anonymous");
        out_line(sh, "conn %lu from %s: TLSv1.3 %s %s%s%s %s alpn=%s sni=%s %s", c->id, c->peer,
                 info.cipher_suite_name, info.group_name, info.hrr ? " (HRR)" : "",
                 info.resumed        ? " (resumed)"
                 : info.external_psk ? " (external PSK)"
                                     : "",
                 iotls_sig_scheme_name(info.own_sig_scheme),
                 info.alpn && info.alpn[0] ? info.alpn : "none",
                 info.server_name && info.server_name[0] ? info.server_name : "none", client);
        if (info.early_data == IOTLS_EARLY_DATA_ACCEPTED)
            out_line(sh, "conn %lu early data: accepted %u bytes", c->id,
                     (unsigned)info.early_data_bytes);
        else if (info.early_data == IOTLS_EARLY_DATA_REJECTED)
            out_line(sh, "conn %lu early data: rejected", c->id);
    }
    if (sh->o->verbose)
        trace_summary_conn(stderr, c->tls, 0);
}

/* Sends what the engine holds. 0 or IOTLS_ERR_IO. */
static int flush_out(sconn *c, int *progress)
{
    for (;;) {
        size_t n = 0;
        const uint8_t *out = iotls_conn_output(c->tls, &n);
        if (n == 0)
            return 0;
        ssize_t s = send(c->fd, out, n, MSG_NOSIGNAL);
        if (s > 0) {
            iotls_conn_output_consume(c->tls, (size_t)s);
            *progress = 1;
            continue;
        }
        if (s < 0 && errno == EINTR)
            continue;
        if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        c->sys_errno = errno;
        return IOTLS_ERR_IO;
    }
}

/* Receives into the engine's record buffer (no copy) while it takes
 * input. Returns the engine's error, IOTLS_ERR_IO, or 0. */
static int pull_in(sconn *c, int *progress)
{
    for (;;) {
        size_t cap = 0;
        uint8_t *space = iotls_conn_input_space(c->tls, &cap);
        if (space == NULL || c->peer_eof)
            return 0;
        ssize_t r = recv(c->fd, space, cap, 0);
        if (r > 0) {
            *progress = 1;
            int rc = iotls_conn_input_commit(c->tls, (size_t)r);
            if (rc != IOTLS_OK && rc != IOTLS_WANT_READ && rc != IOTLS_WANT_WRITE &&
                rc != IOTLS_ERR_CLOSED)
                return rc;
            continue;
        }
        if (r == 0) {
            c->peer_eof = 1;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        c->sys_errno = errno;
        return IOTLS_ERR_IO;
    }
}

int quiet(const sconn *c)
{
    size_t n = 0;
    (void)iotls_conn_output(c->tls, &n);
    return n == 0 && c->app.pend_len == c->app.pend_off && c->app.req_len == 0;
}

/* Drops what a closing client still sends, until it closes: 1 when it
 * has (c is freed), 0 when more may come. */
static int linger_read(worker *w, sconn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, w->scratch, sizeof w->scratch, 0);
        if (r > 0)
            continue;
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        conn_free(w, c); /* the client closed too (or reset) */
        return 1;
    }
}

/* One turn of a connection: move bytes between its socket and its engine,
 * and between the engine and the application, until nothing moves. May
 * free c. */
static void conn_turn(worker *w, sconn *c)
{
    const server_opts *o = w->sh->o;
    if (c->state == ST_LINGER) {
        (void)linger_read(w, c);
        return;
    }
    int64_t t = now_ms();
    int progress, moved = 0;
    trace_in(w, c);
    do {
        progress = 0;
        if (flush_out(c, &progress) != 0) {
            c->err = c->err ? c->err : IOTLS_ERR_IO;
            trace_out(w, c);
            if (c->state == ST_FLUSH)
                conn_free(w, c);
            else
                conn_fail(w, c, IOTLS_ERR_IO, NULL);
            return;
        }
        moved |= progress;
        if (c->state == ST_FLUSH)
            break;
        int rc = pull_in(c, &progress);
        if (rc != 0) {
            trace_out(w, c);
            conn_fail(w, c, rc, NULL);
            return;
        }
        if (c->state == ST_HANDSHAKE && iotls_conn_handshake_done(c->tls)) {
            c->state = ST_OPEN;
            announce(w, c);
            list_move(w, c, L_IDLE, INT64_MAX);
        }
        rc = o->mode == SERVER_HTTP
                 ? server_app_http(&c->app, c->tls, w->scratch, sizeof w->scratch, &progress)
                 : server_app_echo(&c->app, c->tls, w->scratch, sizeof w->scratch, &progress);
        if (rc == IOTLS_ERR_CLOSED && c->announced) {
            (void)begin_close(w, c, 1); /* the client's close_notify: ours back */
            continue;
        }
        if (rc != 0) {
            trace_out(w, c);
            conn_fail(w, c, rc, NULL);
            return;
        }
        if (c->app.close_after && c->app.pend_len == c->app.pend_off) {
            (void)begin_close(w, c, 1);
            continue;
        }
        moved |= progress;
    } while (progress);
    trace_out(w, c);

    if (c->state == ST_FLUSH) {
        size_t n = 0;
        (void)iotls_conn_output(c->tls, &n);
        if (n == 0)
            begin_linger(w, c);
        else
            set_events(w, c, EVQ_OUT);
        return;
    }
    if (c->peer_eof) {
        /* The client closed TCP without close_notify (a truncation) or
         * in the middle of the handshake. */
        conn_fail(w, c, IOTLS_ERR_EOF, NULL);
        return;
    }
    if (c->state == ST_OPEN && w->draining && quiet(c)) {
        if (!begin_close(w, c, 1)) /* stopping: this exchange is finished */
            conn_run(w, c);
        return;
    }
    size_t out_n = 0, cap = 0;
    (void)iotls_conn_output(c->tls, &out_n);
    unsigned ev = iotls_conn_input_space(c->tls, &cap) ? EVQ_IN : 0;
    if (out_n)
        ev |= EVQ_OUT;
    set_events(w, c, ev);
    if (c->state == ST_OPEN) {
        /* Waiting to send: the handshake timeout bounds a client that
         * reads nothing; else the idle timeout. */
        int list = out_n || c->app.pend_len > c->app.pend_off ? L_SEND : L_IDLE;
        if (list != c->list || moved) {
            uint32_t ms = list == L_SEND ? o->handshake_timeout_ms : o->idle_timeout_ms;
            list_move(w, c, list, ms ? t + ms : INT64_MAX);
        }
    }
}

/* A turn with the engine's buffers attached for it, and given back after
 * it when the engine holds nothing in them (the events to wait for were
 * chosen with them attached). */
void conn_run(worker *w, sconn *c)
{
    if (c->state != ST_LINGER && !buffers_get(w, c)) {
        out_line(w->sh, "conn %lu: closed (out of memory for its buffers)", c->id);
        conn_free(w, c);
        return;
    }
    unsigned long freed = w->freed;
    conn_turn(w, c);
    if (w->freed == freed) /* c still lives */
        buffers_put_if_idle(w, c);
}

void conn_new(worker *w, int fd, unsigned long id, const char *peer)
{
    shared *sh = w->sh;
    sconn *c = calloc(1, sh->conn_mem);
    if (c == NULL) {
        out_line(sh, "conn %lu: refused (out of memory)", id);
        close(fd);
        atomic_fetch_sub(&sh->open, 1);
        return;
    }
    c->fd = fd;
    c->id = id;
    snprintf(c->peer, sizeof c->peer, "%s", peer);
    if (sh->o->verbose && (c->trace = calloc(1, sizeof *c->trace)) != NULL) {
        char tag[32];
        snprintf(tag, sizeof tag, "[conn %lu] ", id);
        trace_begin(tag);
        trace_save(c->trace);
    }
    /* The handshake keeps a buffer block from the start to its end. */
    void *b = pool_take(&w->pool);
    if (b)
        c->tls = iotls_conn_init_split((uint8_t *)c + sh->engine_off, sh->conn_mem - sh->engine_off,
                                       b, sh->buffers_len, sh->o->cfg, IOTLS_ROLE_SERVER, NULL);
    if (c->tls)
        c->buffers = b;
    if (c->tls == NULL || iotls_conn_start(c->tls) != IOTLS_OK ||
        evq_add(&w->q, fd, c, EVQ_IN) != 0) {
        out_line(sh, "conn %lu from %s: refused (cannot start the engine)", id, c->peer);
        if (c->tls)
            iotls_conn_free(c->tls);
        if (b)
            pool_put(&w->pool, b);
        free(c->trace);
        free(c);
        close(fd);
        atomic_fetch_sub(&sh->open, 1);
        return;
    }
    c->events = EVQ_IN;
    c->state = ST_HANDSHAKE;
    w->open++;
    uint32_t ms = sh->o->handshake_timeout_ms;
    list_append(w, c, L_HANDSHAKE, ms ? now_ms() + ms : INT64_MAX);
    conn_run(w, c); /* the ClientHello may be there already */
}
