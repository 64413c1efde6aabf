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
 * A connection (server_conn.c) is one allocation: its state in the loop
 * (server_worker.h) and the engine's state (iotls_conn_state_size, 2 to 3
 * KiB) after it. The engine's record and handshake buffers
 * (iotls_conn_buffers_size, about 50 KiB at the default record size) come
 * from the worker's pool (server_pool.c) for a connection's turn and go
 * back after it when the engine holds nothing in them
 * (iotls_conn_buffers_idle); a handshake keeps its block until it is done.
 * Request and response bytes waiting for the engine get a buffer only
 * while they wait.
 *
 * Timeouts: each connection sits in one of four lists of its worker, by
 * what it waits for (handshake, idle, a send to progress, closing); a list
 * has one duration, so appending on activity keeps it ordered by deadline
 * and expiry looks at list heads only. */
#define _GNU_SOURCE
#include "server_loop.h"

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
#include "server_worker.h"

#define TICK_MS 200     /* longest wait before looking at the stop flag */
#define ACCEPT_BATCH 16 /* accepts per wake-up: spreads bursts over workers */
#define EVENTS_MAX 256
/* Stopping: how long a handshake under way may still finish. Short, so
 * that a stalled client does not hold the stop up for the whole handshake
 * timeout (an established exchange gets the handshake timeout). */
#define DRAIN_HANDSHAKE_MS 1000

atomic_int server_stop_requested;

void out_line(shared *sh, const char *fmt, ...)
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

static void stop_listening(worker *w)
{
    if (!w->listening)
        return;
    (void)evq_del(&w->q, w->sh->lfd);
    w->listening = 0;
    atomic_fetch_add(&w->sh->detached, 1);
}

/* accept4 where there is one (Linux, the BSDs); else accept and fcntl.
 * The peer's address comes with it (no getpeername per connection). */
static int accept_nonblocking(int lfd, struct sockaddr_storage *ss)
{
    socklen_t sl = sizeof *ss;
    ss->ss_family = AF_UNSPEC;
#ifdef SOCK_NONBLOCK
    return accept4(lfd, (struct sockaddr *)ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
#else
    int fd = accept(lfd, (struct sockaddr *)ss, &sl);
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
        struct sockaddr_storage ss;
        char peer[INET6_ADDRSTRLEN + 8]; /* "[address]:port" */
        int fd = accept_nonblocking(sh->lfd, &ss);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return; /* EAGAIN: another worker took it; EMFILE: see max-connections */
        }
        unsigned long id = atomic_fetch_add(&sh->next_id, 1);
        if (atomic_fetch_add(&sh->open, 1) >= sh->o->max_connections) {
            atomic_fetch_sub(&sh->open, 1);
            peer_name(&ss, peer, sizeof peer);
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
        peer_name(&ss, peer, sizeof peer);
        conn_new(w, fd, id, peer);
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
