/* The event loop of `iotls server`.
 *
 * Workers: --workers threads, each with an event set of its own (epoll; poll
 * where epoll is missing) holding its connections and the listening socket.
 * One listening socket is shared by every worker rather than one
 * SO_REUSEPORT socket each, or an accept thread handing fds out: with
 * EPOLLEXCLUSIVE the kernel wakes one worker per new connection (no
 * thundering herd), the worker that accepts a connection keeps it for life
 * (no fd hand-off queue, no cross-thread wake-up), there is one accept
 * queue (with SO_REUSEPORT a connection hashed to a busy worker's queue
 * waits for that worker, and closing one of the sockets while draining
 * resets the connections still queued on it), and --port 0 needs no
 * second bind. Closing the one socket refuses every new connection at once
 * when draining starts.
 *
 * A connection is one allocation: this file's state and the engine's
 * state (iotls_conn_state_size, 2 to 3 KiB) after it. The engine's record
 * and handshake buffers (iotls_conn_buffers_size, 50 to 75 KiB) come from
 * the worker's pool (server_pool.c) for a connection's turn and go back
 * after it when the engine holds nothing in them (iotls_conn_buffers_idle);
 * a handshake keeps its block until it is done. Request and response bytes waiting
 * for the engine get a buffer only while they wait.
 *
 * Timeouts: each connection sits in one of four lists of its worker, by
 * what it waits for (handshake, idle, a send to progress, closing); a list
 * has one duration, so appending on activity keeps it ordered by deadline
 * and expiry looks at list heads only. */
#define _GNU_SOURCE
#include "server_loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "exit_codes.h"
#include "iotls/engine.h"
#include "server_app.h"
#include "server_evq.h"
#include "server_pool.h"
#include "trace.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* SIGPIPE is ignored by the command anyway */
#endif

#define TICK_MS 200          /* longest wait before looking at the stop flag */
#define CLOSE_LINGER_MS 2000 /* longest wait for a client to close after us */
#define ACCEPT_BATCH 16      /* accepts per wake-up: spreads bursts over workers */
#define EVENTS_MAX 256
#define SCRATCH_LEN 16384
/* Stopping: how long a handshake under way may still finish. Short, so
 * that a stalled client does not hold the stop up for the whole handshake
 * timeout (an established exchange gets the handshake timeout). */
#define DRAIN_HANDSHAKE_MS 1000

atomic_int server_stop_requested;

enum { ST_HANDSHAKE, ST_OPEN, ST_FLUSH, ST_LINGER };
enum { L_HANDSHAKE, L_IDLE, L_SEND, L_CLOSING, L_COUNT };

typedef struct sconn sconn;
struct sconn {
    sconn *prev, *next; /* in the worker's list `list` */
    int list;
    int state;
    int fd;
    unsigned events; /* registered with the event set */
    int64_t deadline;
    unsigned long id;
    char peer[48];
    int err;       /* first error (0: none, the connection ended well) */
    int sys_errno; /* with IOTLS_ERR_IO */
    int peer_eof;
    int announced;      /* the handshake line is printed */
    server_app app;     /* bytes between the engine and echo/HTTP */
    trace_state *trace; /* -v only */
    iotls_conn *tls;
    void *buffers; /* the engine's buffer block while attached, else NULL */
};

typedef struct {
    const server_opts *o;
    int lfd;
    atomic_ulong next_id;
    atomic_ulong open;    /* connections open over all workers */
    atomic_uint detached; /* workers that no longer accept */
    atomic_int once_code;
    pthread_mutex_t out_lock;
    size_t conn_mem; /* bytes per connection: this state and the engine's */
    size_t engine_off;
    size_t buffers_len; /* one engine buffer block (iotls_conn_buffers_size) */
} shared;

typedef struct {
    shared *sh;
    evq q;
    pthread_t th;
    int listening;
    int draining;
    int64_t drain_deadline;    /* open exchanges end by then */
    int64_t drain_hs_deadline; /* handshakes under way end by then */
    size_t open;
    sconn *lists[L_COUNT][2]; /* head, tail */
    buf_pool pool;            /* free buffer blocks */
    unsigned long freed;      /* connections freed: conn_run's turn ended with c */
    uint8_t scratch[SCRATCH_LEN];
} worker;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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

static void out_line(shared *sh, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&sh->out_lock);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&sh->out_lock);
    va_end(ap);
}

/* ---- timer lists ---- */

static void list_remove(worker *w, sconn *c)
{
    sconn **l = w->lists[c->list];
    if (c->prev)
        c->prev->next = c->next;
    else
        l[0] = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l[1] = c->prev;
    c->prev = c->next = NULL;
}

static void list_append(worker *w, sconn *c, int list, int64_t deadline)
{
    sconn **l = w->lists[list];
    c->list = list;
    c->deadline = deadline;
    c->next = NULL;
    c->prev = l[1];
    if (l[1])
        l[1]->next = c;
    else
        l[0] = c;
    l[1] = c;
}

static void list_move(worker *w, sconn *c, int list, int64_t deadline)
{
    list_remove(w, c);
    list_append(w, c, list, deadline);
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

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";
    snprintf(out, cap, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        snprintf(out, cap, "%s:%d", addr, ntohs(a->sin_port));
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
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
static void conn_free(worker *w, sconn *c)
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
static int begin_close(worker *w, sconn *c, int send_close_notify)
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

static void conn_run(worker *w, sconn *c);

/* A failure: remember it, say it, and close (with the alert the engine
 * queued for it). */
static void conn_fail(worker *w, sconn *c, int err, const char *why)
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

static int quiet(const sconn *c)
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
static void conn_run(worker *w, sconn *c)
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

static void conn_new(worker *w, int fd, unsigned long id)
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
    peer_name(fd, c->peer, sizeof c->peer);
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

static void stop_listening(worker *w)
{
    if (!w->listening)
        return;
    (void)evq_del(&w->q, w->sh->lfd);
    w->listening = 0;
    atomic_fetch_add(&w->sh->detached, 1);
}

/* accept4 where there is one (Linux, the BSDs); else accept and fcntl. */
static int accept_nonblocking(int lfd)
{
#ifdef SOCK_NONBLOCK
    return accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, NULL, NULL);
    if (fd >= 0) {
        (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    return fd;
#endif
}

static void accept_some(worker *w)
{
    shared *sh = w->sh;
    for (int i = 0; i < ACCEPT_BATCH && w->listening; i++) {
        int fd = accept_nonblocking(sh->lfd);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: another worker took it; EMFILE: see max-connections */
        }
        unsigned long id = atomic_fetch_add(&sh->next_id, 1);
        if (atomic_fetch_add(&sh->open, 1) >= sh->o->max_connections) {
            atomic_fetch_sub(&sh->open, 1);
            char peer[48];
            peer_name(fd, peer, sizeof peer);
            out_line(sh, "conn %lu from %s: refused (too many connections)", id, peer);
            close(fd);
            continue;
        }
        /* Handshake flights and small answers go out at once, not when
         * the client's delayed ACK comes (Nagle). */
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (sh->o->once)
            stop_listening(w);
        conn_new(w, fd, id);
    }
}

/* Stop accepting; close the idle connections with close_notify; the busy
 * ones once their exchange is done (conn_run), all by the deadline. */
static void start_drain(worker *w)
{
    w->draining = 1;
    uint32_t ms = w->sh->o->handshake_timeout_ms;
    int64_t t = now_ms();
    w->drain_deadline = t + (ms ? ms : 10000);
    w->drain_hs_deadline = t + (ms && ms < DRAIN_HANDSHAKE_MS ? ms : DRAIN_HANDSHAKE_MS);
    stop_listening(w);
    for (sconn *c = w->lists[L_IDLE][0], *next; c; c = next) {
        next = c->next;
        if (c->state == ST_OPEN && quiet(c) && !begin_close(w, c, 1))
            conn_run(w, c);
    }
}

static void expire(worker *w, int64_t t)
{
    for (int l = 0; l < L_COUNT; l++) {
        sconn *c;
        int64_t drain_by = l == L_HANDSHAKE ? w->drain_hs_deadline : w->drain_deadline;
        while ((c = w->lists[l][0]) != NULL &&
               (c->deadline <= t || (w->draining && t >= drain_by))) {
            if (l == L_HANDSHAKE && c->deadline > t) {
                conn_fail(w, c, IOTLS_ERR_CLOSED, "handshake interrupted: server stopping");
            } else if (l == L_HANDSHAKE) {
                conn_fail(w, c, IOTLS_ERR_TIMEOUT, NULL);
            } else if (l == L_IDLE && !w->draining) {
                out_line(w->sh, "conn %lu: closed after %.1f s idle", c->id,
                         w->sh->o->idle_timeout_ms / 1000.0);
                if (!begin_close(w, c, 1))
                    conn_run(w, c);
            } else {
                if (l == L_SEND) {
                    c->err = c->err ? c->err : IOTLS_ERR_TIMEOUT;
                    if (w->sh->o->verbose)
                        fprintf(stderr, "[conn %lu] write failed: timed out\n", c->id);
                }
                conn_free(w, c);
            }
        }
    }
}

static int next_wait_ms(const worker *w, int64_t t)
{
    int64_t wait = TICK_MS;
    for (int l = 0; l < L_COUNT; l++) {
        const sconn *c = w->lists[l][0];
        if (c && c->deadline != INT64_MAX && c->deadline - t < wait)
            wait = c->deadline - t;
    }
    return wait < 0 ? 0 : (int)wait;
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    shared *sh = w->sh;
    evq_event ev[EVENTS_MAX];
    for (;;) {
        if (!w->draining && atomic_load(&server_stop_requested))
            start_drain(w);
        if (w->open == 0 && (w->draining || (sh->o->once && !w->listening)))
            break;
        int n = evq_wait(&w->q, ev, EVENTS_MAX, next_wait_ms(w, now_ms()));
        for (int i = 0; i < n; i++) {
            if (ev[i].ptr == NULL)
                accept_some(w);
            else
                conn_run(w, ev[i].ptr);
        }
        int64_t t = now_ms();
        expire(w, t);
        pool_trim(&w->pool, t);
    }
    stop_listening(w);
    return NULL;
}

int server_loop_run(const server_opts *o, int *lfd)
{
    shared sh;
    memset(&sh, 0, sizeof sh);
    sh.o = o;
    sh.lfd = *lfd;
    atomic_init(&sh.next_id, 1);
    atomic_init(&sh.once_code, APP_EXIT_OK);
    pthread_mutex_init(&sh.out_lock, NULL);
    sh.engine_off = (sizeof(sconn) + 63) & ~(size_t)63;
    sh.conn_mem = sh.engine_off + iotls_conn_state_size(o->cfg);
    sh.buffers_len = (iotls_conn_buffers_size(o->cfg) + 15) & ~(size_t)15;
    int fl = fcntl(*lfd, F_GETFL);
    if (fl >= 0)
        (void)fcntl(*lfd, F_SETFL, fl | O_NONBLOCK);

    unsigned nw = o->once ? 1 : o->workers;
    worker **ws = calloc(nw, sizeof *ws);
    unsigned started = 0;
    int exit_code = APP_EXIT_OK;
    /* Workers must not take SIGINT/SIGTERM: this thread waits for them.
     * They inherit the mask. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (unsigned i = 0; ws && i < nw; i++) {
        worker *w = calloc(1, sizeof *w);
        if (w == NULL || evq_init(&w->q, o->use_poll) != 0) {
            free(w);
            break;
        }
        w->sh = &sh;
        pool_init(&w->pool, sh.buffers_len);
        /* NULL marks the listening socket. Set before the thread starts:
         * a --once worker that saw itself not listening would end. */
        w->listening = 1;
        if (evq_add(&w->q, *lfd, NULL, EVQ_IN | EVQ_EXCLUSIVE) != 0 ||
            pthread_create(&w->th, NULL, worker_main, w) != 0) {
            evq_close(&w->q);
            free(w);
            break;
        }
        ws[started++] = w;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (started < nw) {
        fprintf(stderr, "iotls: cannot start %u workers (started %u)\n", nw, started);
        atomic_store(&server_stop_requested, 1);
        exit_code = APP_EXIT_FAILURE;
    }
    /* Wait for the stop (a signal interrupts the sleep) or, with --once,
     * for the worker to end. */
    while (!atomic_load(&server_stop_requested)) {
        if (o->once && started && atomic_load(&sh.detached) == started)
            break;
        struct timespec ts = {0, TICK_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    /* Refuse new connections as soon as no worker accepts any more. */
    while (atomic_load(&sh.detached) < started) {
        struct timespec ts = {0, 5 * 1000000L};
        nanosleep(&ts, NULL);
    }
    close(*lfd);
    *lfd = -1;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(ws[i]->th, NULL);
        evq_close(&ws[i]->q);
        pool_drop(&ws[i]->pool);
        free(ws[i]);
    }
    free(ws);
    pthread_mutex_destroy(&sh.out_lock);
    if (o->once && exit_code == APP_EXIT_OK)
        exit_code = atomic_load(&sh.once_code);
    return exit_code;
}
