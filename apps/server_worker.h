/* What the files of `iotls server`'s event loop share (internal to
 * apps/): a connection's state, a worker's and the process's, the timer
 * lists, and the functions one file calls in another. server_loop.c runs
 * the workers (accepting, timeouts, stopping); server_conn.c moves one
 * connection's bytes between its socket, its engine and the application;
 * server_pool.c lends the engine buffer blocks. */
#ifndef IOTLS_APP_SERVER_WORKER_H
#define IOTLS_APP_SERVER_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include "iotls/engine.h"
#include "server_app.h"
#include "server_evq.h"
#include "server_loop.h"
#include "server_pool.h"
#include "trace.h"

#define SCRATCH_LEN 16384

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
    char peer[INET6_ADDRSTRLEN + 8]; /* "[address]:port" */
    int err;                         /* first error (0: none, the connection ended well) */
    int sys_errno;                   /* with IOTLS_ERR_IO */
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

static inline int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- timer lists ---- */

static inline void list_remove(worker *w, sconn *c)
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

static inline void list_append(worker *w, sconn *c, int list, int64_t deadline)
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

static inline void list_move(worker *w, sconn *c, int list, int64_t deadline)
{
    list_remove(w, c);
    list_append(w, c, list, deadline);
}

/* ---- server_loop.c ---- */

/* One line on stdout, whole even when workers write at once. */
void out_line(shared *sh, const char *fmt, ...);

/* ---- server_conn.c ---- */

/* "ADDR:PORT" of a peer's address as accept gave it ("?" when not IP). */
void peer_name(const struct sockaddr_storage *ss, char *out, size_t cap);
/* An accepted socket (its peer "ADDR:PORT") becomes a connection of w (or
 * is refused and closed). */
void conn_new(worker *w, int fd, unsigned long id, const char *peer);
/* A turn of c, its buffers attached for it. May free c. */
void conn_run(worker *w, sconn *c);
/* The end of c: its last lines, its socket and its memory. */
void conn_free(worker *w, sconn *c);
/* A failure: remember it, say it, and close with the engine's alert. */
void conn_fail(worker *w, sconn *c, int err, const char *why);
/* Close after sending what the engine queued (close_notify if asked): 1
 * when c is freed already. */
int begin_close(worker *w, sconn *c, int send_close_notify);
/* 1 when c has nothing on its way in either direction. */
int quiet(const sconn *c);

#endif
