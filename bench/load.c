/* iotls-load: a TLS 1.3 handshake load generator for gateways on this host.
 *
 * Many client connections of the sans-I/O engine (include/iotls/engine.h)
 * in one epoll loop over non-blocking sockets. New handshakes start at
 * --rate per second while fewer than --connections are open; each
 * connection stays open --hold seconds after its handshake (and until its
 * first session ticket, so later connections have tickets to resume),
 * then closes. A --resume-ratio share of the handshakes offers a ticket
 * from an earlier connection; --early-data sends a request as 0-RTT on
 * those. A progress line goes to stderr once a second; the summary
 * (stdout) counts handshakes by kind, errors by kind and the handshake
 * latency percentiles.
 *
 * Every full handshake verifies the server's chain against --ca and its
 * name, unless --verify-once: then only the first handshakes do, and
 * later ones pin the public key of the leaf they verified (its SPKI
 * SHA-256, iotls_config_add_pin_sha256, the way a pinned client checks a
 * server). They still check that the server holds that key (its
 * CertificateVerify signature) and the rest of the handshake; they skip
 * the chain's verification (a sixth of this process's CPU per full
 * handshake, measured), so that one CPU of load generator gets nearer to
 * a server's peak.
 *
 * It is a lab tool aimed at servers on this host: the target must be a
 * loopback address (127.0.0.0/8 or ::1), and the run is bounded in
 * connections, rate and time. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iotls/engine.h"
#include "iotls/session.h"

/* Bounds: a run never holds more than this many connections (the fd limit
 * may lower it), starts more than MAX_RATE per second or lasts longer than
 * MAX_DURATION seconds plus the handshake timeout. */
#define MAX_CONNECTIONS 20000
#define MAX_RATE 100000
#define MAX_DURATION 3600
#define MAX_HOLD 3600
/* A handshake not done by then counts as a timeout error. */
#define HANDSHAKE_TIMEOUT_MS 10000
/* How long a full handshake's connection waits for its ticket. */
#define TICKET_WAIT_MS 2000
/* Tickets kept for resumption (most recent ones). */
#define TICKET_POOL 256
/* Latency samples kept (then every other one is dropped: percentiles stay
 * representative and memory bounded). */
#define MAX_SAMPLES (1u << 20)
#define MAX_ERROR_KINDS 32

static const uint8_t early_request[] = "GET / HTTP/1.0\r\n\r\n";

typedef enum { ST_FREE = 0, ST_CONNECTING, ST_HANDSHAKE, ST_OPEN } conn_state;

typedef struct {
    conn_state state;
    int fd;
    int offered_ticket; /* a session was set on this connection */
    int wants_ticket;
    int got_ticket;
    uint64_t start_us, done_us;
    iotls_conn *tls;                      /* NULL when free; lives in mem */
    void *mem;                            /* the engine's block, iotls_conn_size bytes */
    uint8_t blob[IOTLS_SESSION_MAX_BLOB]; /* the offered session (referenced by tls) */
    size_t blob_len;
} slot;

typedef struct {
    char name[48];
    uint64_t count;
} error_kind;

static struct {
    /* options */
    const char *target, *ca, *cert, *key, *servername;
    unsigned long connections, rate, duration, hold_s;
    double resume_ratio;
    int mtls, early, verify_once;
    /* run state */
    iotls_config *cfg;
    iotls_config *cfg_pinned; /* --verify-once: once a handshake verified the chain */
    size_t conn_mem;
    slot *slots;
    int epfd;
    struct sockaddr_storage addr;
    socklen_t addr_len;
    unsigned long open;
    /* tickets */
    uint8_t pool[TICKET_POOL][IOTLS_SESSION_MAX_BLOB];
    size_t pool_len[TICKET_POOL];
    size_t pool_count, pool_next, pool_pick;
    /* counters */
    uint64_t started, started_resume, done, full, resumed, resume_refused, tickets;
    uint64_t early_offered, early_accepted, early_rejected, errors;
    uint64_t auth_name, auth_pin; /* full handshakes: chain and name verified / leaf pinned */
    error_kind errs[MAX_ERROR_KINDS];
    size_t nerrs;
    uint32_t *samples;
    size_t nsamples, sample_stride, sample_skip;
} L;

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: iotls-load HOST:PORT [options]   (HOST: 127.0.0.0/8, ::1 or localhost)\n"
            "  --connections N    at most N connections open at once (default 10, max %d)\n"
            "  --rate R           new handshakes per second (default 10, max %d)\n"
            "  --duration S       seconds during which handshakes start (default 5, max %d)\n"
            "  --hold S           seconds a connection stays open after its handshake\n"
            "                     (default 0: closed once it has a ticket)\n"
            "  --resume-ratio X   share of handshakes resuming a ticket of an earlier\n"
            "                     connection, 0..1 (default 0); until the first ticket\n"
            "                     arrives, one full handshake at a time\n"
            "  --early-data       send a request as 0-RTT on resumed handshakes\n"
            "  --verify-once      verify the server's chain and name on the first\n"
            "                     handshakes only; later ones pin the key of the leaf\n"
            "                     verified (and check its CertificateVerify)\n"
            "  --mtls             authenticate with --cert/--key\n"
            "  --ca FILE          trust anchors (required)\n"
            "  --cert FILE --key FILE   client certificate and key (with --mtls)\n"
            "  --servername NAME  SNI and the name checked (default localhost)\n",
            MAX_CONNECTIONS, MAX_RATE, MAX_DURATION);
}

static unsigned long parse_num(const char *opt, const char *s, unsigned long min, unsigned long max)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "iotls-load: %s wants a number from %lu to %lu, not '%s'\n", opt, min, max,
                s);
        exit(2);
    }
    return v;
}

/* Refuses any target that is not a loopback address of this host. */
static int resolve_target(const char *target)
{
    char host[256];
    const char *colon = strrchr(target, ':');
    if (!colon || colon == target || !colon[1] || (size_t)(colon - target) >= sizeof host) {
        fprintf(stderr, "iotls-load: target must be HOST:PORT, not '%s'\n", target);
        return -1;
    }
    memcpy(host, target, (size_t)(colon - target));
    host[colon - target] = 0;
    /* [::1]:port */
    char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']') {
        h[hl - 1] = 0;
        h++;
    }
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    int rc = getaddrinfo(h, colon + 1, &hints, &res);
    if (rc != 0 || !res) {
        fprintf(stderr, "iotls-load: cannot resolve %s: %s\n", target, gai_strerror(rc));
        return -1;
    }
    int ok = 0;
    for (struct addrinfo *ai = res; ai && !ok; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
            ok = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
        } else if (ai->ai_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ai->ai_addr;
            ok = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
        }
        if (ok) {
            memcpy(&L.addr, ai->ai_addr, ai->ai_addrlen);
            L.addr_len = ai->ai_addrlen;
        }
    }
    freeaddrinfo(res);
    if (!ok) {
        fprintf(stderr,
                "iotls-load: refusing %s: only loopback targets (127.0.0.0/8, ::1) are allowed\n",
                target);
        return -1;
    }
    return 0;
}

static void count_error(const char *kind)
{
    L.errors++;
    for (size_t i = 0; i < L.nerrs; i++)
        if (strcmp(L.errs[i].name, kind) == 0) {
            L.errs[i].count++;
            return;
        }
    size_t i = L.nerrs < MAX_ERROR_KINDS ? L.nerrs++ : MAX_ERROR_KINDS - 1;
    if (i == MAX_ERROR_KINDS - 1 && L.errs[i].count)
        kind = "other";
    snprintf(L.errs[i].name, sizeof L.errs[i].name, "%s", kind);
    L.errs[i].count++;
}

static void add_sample(uint64_t us)
{
    if (L.sample_skip) {
        L.sample_skip--;
        return;
    }
    if (L.nsamples == MAX_SAMPLES) {
        for (size_t i = 0; i < MAX_SAMPLES / 2; i++)
            L.samples[i] = L.samples[2 * i];
        L.nsamples = MAX_SAMPLES / 2;
        L.sample_stride *= 2;
    }
    L.samples[L.nsamples++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
    L.sample_skip = L.sample_stride - 1;
}

static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)arg;
    slot *s = iotls_conn_user(conn);
    iotls_session sess;
    size_t len = 0;
    L.tickets++;
    if (s)
        s->got_ticket = 1;
    if (iotls_session_from_ticket(&sess, t) != IOTLS_OK)
        return;
    size_t i = L.pool_next;
    if (iotls_session_save(&sess, L.pool[i], sizeof L.pool[i], &len) == IOTLS_OK) {
        L.pool_len[i] = len;
        L.pool_next = (i + 1) % TICKET_POOL;
        if (L.pool_count < TICKET_POOL)
            L.pool_count++;
    }
    iotls_session_wipe(&sess);
}

static void slot_close(slot *s)
{
    if (s->tls) {
        iotls_conn_free(s->tls);
        s->tls = NULL;
    }
    if (s->fd >= 0) {
        epoll_ctl(L.epfd, EPOLL_CTL_DEL, s->fd, NULL);
        close(s->fd);
    }
    s->fd = -1;
    s->state = ST_FREE;
    L.open--;
}

static void slot_fail(slot *s, const char *kind)
{
    count_error(kind);
    slot_close(s);
}

static void slot_fail_tls(slot *s, int err)
{
    char kind[48];
    snprintf(kind, sizeof kind, "tls:%s", iotls_error_name(err));
    /* Send the alert the engine queued, best effort. */
    size_t n;
    const uint8_t *out = iotls_conn_output(s->tls, &n);
    if (out && n)
        (void)send(s->fd, out, n, MSG_NOSIGNAL);
    slot_fail(s, kind);
}

/* Picks an earlier connection's ticket (round robin over the pool). */
static int pick_ticket(slot *s)
{
    if (!L.pool_count)
        return 0;
    size_t i = L.pool_pick++ % L.pool_count;
    memcpy(s->blob, L.pool[i], L.pool_len[i]);
    s->blob_len = L.pool_len[i];
    return 1;
}

static void slot_start(slot *s, uint64_t now)
{
    s->offered_ticket = s->got_ticket = 0;
    s->start_us = now;
    s->done_us = 0;
    L.started++;
    L.open++;
    s->state = ST_CONNECTING;
    s->tls = iotls_conn_init(s->mem, L.conn_mem, L.cfg_pinned ? L.cfg_pinned : L.cfg,
                             IOTLS_ROLE_CLIENT, L.servername);
    if (!s->tls) {
        s->fd = -1;
        slot_fail(s, "engine-init");
        return;
    }
    iotls_conn_set_user(s->tls, s);
    /* The resumed share: keep started_resume / started at the ratio. */
    if (L.resume_ratio > 0 && (double)L.started_resume < L.resume_ratio * (double)L.started) {
        /* Until the first ticket arrives there is nothing to resume: full
         * handshakes, and the share catches up later. */
        if (pick_ticket(s)) {
            L.started_resume++;
            int rc = iotls_conn_borrow_session(s->tls, s->blob, s->blob_len);
            if (rc == IOTLS_OK) {
                s->offered_ticket = 1;
                if (L.early) {
                    rc = iotls_conn_write_early(s->tls, early_request, sizeof early_request - 1);
                    if (rc == IOTLS_OK)
                        L.early_offered++;
                }
            } else {
                count_error("ticket-unusable");
            }
        }
    }
    s->wants_ticket = L.resume_ratio > 0;
    s->fd = socket(L.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        slot_fail(s, errno == EMFILE || errno == ENFILE ? "socket:fd-limit" : "socket");
        return;
    }
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    /* Latency runs from connect(): the time this process spent starting
     * the connections before it in the same turn is its own, not the
     * server's. */
    s->start_us = now_us();
    if (connect(s->fd, (const struct sockaddr *)&L.addr, L.addr_len) != 0 && errno != EINPROGRESS) {
        char kind[48];
        snprintf(kind, sizeof kind, "connect:%s",
                 errno == ECONNREFUSED    ? "refused"
                 : errno == EADDRNOTAVAIL ? "no-port"
                                          : "other");
        slot_fail(s, kind);
        return;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
    if (epoll_ctl(L.epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
        slot_fail(s, "epoll");
        return;
    }
    int rc = iotls_conn_start(s->tls);
    if (rc != IOTLS_OK) {
        slot_fail_tls(s, rc);
        return;
    }
}

static iotls_config *new_config(const char *pin_hex);

/* --verify-once: after the first handshake that verified the server's
 * chain and name, later connections pin that leaf's key instead. */
static void pin_verified_leaf(const iotls_conn *tls)
{
    uint8_t spki[32];
    char hex[65];
    if (iotls_conn_peer_spki_sha256(tls, spki) != IOTLS_OK) {
        count_error("pin:no-spki");
        return;
    }
    for (size_t i = 0; i < sizeof spki; i++)
        snprintf(hex + 2 * i, 3, "%02x", spki[i]);
    iotls_config *pinned = new_config(hex);
    /* The slots were sized for the first configuration. */
    if (!pinned || iotls_conn_size(pinned) > L.conn_mem) {
        iotls_config_free(pinned);
        count_error("pin:config");
        return;
    }
    L.cfg_pinned = pinned;
}

static void on_handshake_done(slot *s)
{
    iotls_info info;
    /* Read the clock now, not once per batch of events: a batch of many
     * handshakes takes this process milliseconds, which would otherwise
     * be taken off the latency of the later ones. */
    uint64_t now = now_us();
    s->done_us = now;
    s->state = ST_OPEN;
    L.done++;
    add_sample(now - s->start_us);
    if (iotls_conn_info(s->tls, &info) == IOTLS_OK && info.resumed) {
        L.resumed++;
        s->wants_ticket = 0; /* it resumed: no need to wait for a new ticket */
    } else {
        L.full++;
        if (s->offered_ticket)
            L.resume_refused++;
        if (info.peer_auth == IOTLS_PEER_AUTH_NAME) {
            L.auth_name++;
            if (L.verify_once && !L.cfg_pinned)
                pin_verified_leaf(s->tls);
        } else if (info.peer_auth == IOTLS_PEER_AUTH_PIN) {
            L.auth_pin++;
        }
    }
    int ed = iotls_conn_early_data_status(s->tls);
    if (ed == IOTLS_EARLY_DATA_ACCEPTED)
        L.early_accepted++;
    else if (ed == IOTLS_EARLY_DATA_REJECTED)
        L.early_rejected++;
}

/* Moves bytes both ways until the socket would block; 0, or -1 when the
 * slot was closed. */
static int slot_pump(slot *s)
{
    uint8_t sink[4096];
    for (;;) {
        int progress = 0;
        size_t n;
        const uint8_t *out;
        while ((out = iotls_conn_output(s->tls, &n)) && n) {
            ssize_t w = send(s->fd, out, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK)
                    break;
                if (errno == EINTR)
                    continue;
                slot_fail(s, s->state == ST_OPEN ? "send-after-handshake" : "send");
                return -1;
            }
            iotls_conn_output_consume(s->tls, (size_t)w);
            progress = 1;
        }
        size_t cap = 0;
        uint8_t *space = iotls_conn_input_space(s->tls, &cap);
        if (space && cap) {
            ssize_t r = recv(s->fd, space, cap, 0);
            if (r > 0) {
                int rc = iotls_conn_input_commit(s->tls, (size_t)r);
                if (rc != IOTLS_OK && rc != IOTLS_WANT_READ && rc != IOTLS_WANT_WRITE) {
                    if (s->state == ST_OPEN && rc == IOTLS_ERR_CLOSED) {
                        slot_close(s);
                        return -1;
                    }
                    slot_fail_tls(s, rc);
                    return -1;
                }
                progress = 1;
            } else if (r == 0) {
                if (s->state == ST_OPEN)
                    slot_close(s); /* the server ended an open connection: not an error */
                else
                    slot_fail(s, "closed-during-handshake");
                return -1;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                slot_fail(s, errno == ECONNRESET ? "reset" : "recv");
                return -1;
            }
        } else if (iotls_conn_error(s->tls)) {
            slot_fail_tls(s, iotls_conn_error(s->tls));
            return -1;
        }
        /* Application data (an echo of the early request): read and drop. */
        for (;;) {
            size_t got = 0;
            int rc = iotls_conn_read(s->tls, sink, sizeof sink, &got);
            if (rc == IOTLS_OK && got) {
                progress = 1;
                continue;
            }
            if (rc == IOTLS_OK && iotls_conn_peer_closed(s->tls)) {
                slot_close(s);
                return -1;
            }
            break;
        }
        if (s->state == ST_HANDSHAKE && iotls_conn_handshake_done(s->tls))
            on_handshake_done(s);
        if (!progress)
            break;
    }
    /* Wait for output space only while output is pending. */
    size_t pending = 0;
    (void)iotls_conn_output(s->tls, &pending);
    struct epoll_event ev = {.events = EPOLLIN | (pending ? EPOLLOUT : 0u), .data.ptr = s};
    epoll_ctl(L.epfd, EPOLL_CTL_MOD, s->fd, &ev);
    return 0;
}

static void slot_event(slot *s, uint32_t events)
{
    if (s->state == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            slot_fail(s, err == ECONNREFUSED ? "connect:refused" : "connect:other");
            return;
        }
        if (!(events & (EPOLLOUT | EPOLLIN | EPOLLHUP | EPOLLERR)))
            return;
        s->state = ST_HANDSHAKE;
    }
    slot_pump(s);
}

/* Closes open connections whose time is up and times out slow handshakes. */
static void sweep(uint64_t now, int ending)
{
    for (unsigned long i = 0; i < L.connections; i++) {
        slot *s = &L.slots[i];
        if (s->state == ST_FREE)
            continue;
        /* The clock read per event may be ahead of the turn's now. */
        if (s->state != ST_OPEN) {
            if (now > s->start_us && now - s->start_us > (uint64_t)HANDSHAKE_TIMEOUT_MS * 1000u)
                slot_fail(s, "timeout");
            continue;
        }
        uint64_t since = now > s->done_us ? now - s->done_us : 0;
        int ticket_wait =
            s->wants_ticket && !s->got_ticket && since < (uint64_t)TICKET_WAIT_MS * 1000u;
        if (ending || (!ticket_wait && since >= (uint64_t)L.hold_s * 1000000u)) {
            if (iotls_conn_close(s->tls) == IOTLS_OK) {
                size_t n;
                const uint8_t *out = iotls_conn_output(s->tls, &n);
                if (out && n)
                    (void)send(s->fd, out, n, MSG_NOSIGNAL);
            }
            slot_close(s);
        }
    }
}

/* epoll_wait with a timeout in microseconds where the C library has
 * epoll_pwait2 (glibc 2.35); else rounded up to milliseconds. */
static int wait_events(struct epoll_event *evs, int max, uint64_t timeout_us)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 35))
    struct timespec ts = {(time_t)(timeout_us / 1000000u), (long)(timeout_us % 1000000u) * 1000};
    int n = epoll_pwait2(L.epfd, evs, max, &ts, NULL);
    if (n >= 0 || errno != ENOSYS)
        return n;
#endif
    return epoll_wait(L.epfd, evs, max, (int)((timeout_us + 999) / 1000));
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(double p)
{
    if (!L.nsamples)
        return 0;
    size_t i = (size_t)(p * (double)(L.nsamples - 1) + 0.5);
    return L.samples[i] / 1000.0;
}

static void summary(double elapsed_s, double run_s)
{
    qsort(L.samples, L.nsamples, sizeof L.samples[0], cmp_u32);
    printf("iotls-load summary: target %s, %.2f s (handshakes started during %.2f s)\n", L.target,
           elapsed_s, run_s);
    printf("handshakes: %llu\n", (unsigned long long)L.done);
    printf("full: %llu\n", (unsigned long long)L.full);
    printf("resumed: %llu\n", (unsigned long long)L.resumed);
    printf("resume_offered: %llu\n", (unsigned long long)(L.resumed + L.resume_refused));
    printf("resume_refused: %llu\n", (unsigned long long)L.resume_refused);
    printf("full_chain_verified: %llu\n", (unsigned long long)L.auth_name);
    printf("full_leaf_pinned: %llu\n", (unsigned long long)L.auth_pin);
    printf("tickets: %llu\n", (unsigned long long)L.tickets);
    printf("early_offered: %llu\n", (unsigned long long)L.early_offered);
    printf("early_accepted: %llu\n", (unsigned long long)L.early_accepted);
    printf("early_rejected: %llu\n", (unsigned long long)L.early_rejected);
    printf("handshakes_per_s: %.1f\n", run_s > 0 ? (double)L.done / run_s : 0.0);
    printf("latency_ms: p50 %.2f p90 %.2f p99 %.2f max %.2f\n", pct_ms(0.50), pct_ms(0.90),
           pct_ms(0.99), pct_ms(1.0));
    /* This process's own CPU time: near the run's length, the load
     * generator, not the server, set the pace and the latency. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        printf("cpu_s: %.2f (user %.2f, system %.2f)\n",
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                   (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6,
               (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6,
               (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    printf("errors: %llu\n", (unsigned long long)L.errors);
    for (size_t i = 0; i < L.nerrs; i++)
        printf("error.%s: %llu\n", L.errs[i].name, (unsigned long long)L.errs[i].count);
    fflush(stdout);
}

/* The clients' configuration: trust anchors (--ca) and the server name
 * checked, or with pin_hex that SPKI pin instead; the client certificate
 * with --mtls; the ticket callback. NULL (said on stderr) on failure. */
static iotls_config *new_config(const char *pin_hex)
{
    iotls_config *cfg = iotls_config_new();
    if (!cfg) {
        fprintf(stderr, "iotls-load: out of memory\n");
        return NULL;
    }
    int rc =
        pin_hex ? iotls_config_add_pin_sha256(cfg, pin_hex) : iotls_config_set_ca_file(cfg, L.ca);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls-load: %s %s: %s\n", pin_hex ? "pin" : "--ca",
                pin_hex ? pin_hex : L.ca, iotls_error_string(rc));
        iotls_config_free(cfg);
        return NULL;
    }
    if (L.mtls && (rc = iotls_config_set_cert_file(cfg, L.cert, L.key)) != IOTLS_OK) {
        fprintf(stderr, "iotls-load: --cert %s --key %s: %s\n", L.cert, L.key,
                iotls_error_string(rc));
        iotls_config_free(cfg);
        return NULL;
    }
    iotls_config_set_ticket_cb(cfg, on_ticket, NULL);
    return cfg;
}

/* 1 when argv[*i] is the option name, which takes a value: *i then moves
 * onto the value. A missing value exits 2. */
static int opt_value(int argc, char **argv, int *i, const char *name)
{
    if (strcmp(argv[*i], name) != 0)
        return 0;
    if (*i + 1 >= argc) {
        fprintf(stderr, "iotls-load: %s needs a value\n", name);
        exit(2);
    }
    (*i)++;
    return 1;
}

int main(int argc, char **argv)
{
    L.connections = 10;
    L.rate = 10;
    L.duration = 5;
    L.servername = "localhost";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL; /* the value, for opt_value's */
        if (opt_value(argc, argv, &i, "--connections"))
            L.connections = parse_num(a, v, 1, MAX_CONNECTIONS);
        else if (opt_value(argc, argv, &i, "--rate"))
            L.rate = parse_num(a, v, 1, MAX_RATE);
        else if (opt_value(argc, argv, &i, "--duration"))
            L.duration = parse_num(a, v, 1, MAX_DURATION);
        else if (opt_value(argc, argv, &i, "--hold"))
            L.hold_s = parse_num(a, v, 0, MAX_HOLD);
        else if (opt_value(argc, argv, &i, "--resume-ratio")) {
            char *end;
            L.resume_ratio = strtod(v, &end);
            if (end == v || *end || !(L.resume_ratio >= 0 && L.resume_ratio <= 1)) {
                fprintf(stderr, "iotls-load: --resume-ratio wants 0..1, not '%s'\n", v);
                return 2;
            }
        } else if (opt_value(argc, argv, &i, "--ca"))
            L.ca = v;
        else if (opt_value(argc, argv, &i, "--cert"))
            L.cert = v;
        else if (opt_value(argc, argv, &i, "--key"))
            L.key = v;
        else if (opt_value(argc, argv, &i, "--servername"))
            L.servername = v;
        else if (strcmp(a, "--mtls") == 0)
            L.mtls = 1;
        else if (strcmp(a, "--early-data") == 0)
            L.early = 1;
        else if (strcmp(a, "--verify-once") == 0)
            L.verify_once = 1;
        else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] != '-' && !L.target)
            L.target = a;
        else {
            fprintf(stderr, "iotls-load: unknown argument %s\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (!L.target || !L.ca) {
        fprintf(stderr, "iotls-load: HOST:PORT and --ca are required\n");
        usage(stderr);
        return 2;
    }
    if (L.mtls && (!L.cert || !L.key)) {
        fprintf(stderr, "iotls-load: --mtls needs --cert and --key\n");
        return 2;
    }
    if (L.early && L.resume_ratio <= 0) {
        fprintf(stderr,
                "iotls-load: --early-data needs --resume-ratio > 0 (0-RTT needs a ticket)\n");
        return 2;
    }
    if (resolve_target(L.target) != 0)
        return 2;
    /* Every connection is one descriptor, plus a few for stdio and epoll. */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        L.connections + 16 > rl.rlim_cur) {
        fprintf(stderr,
                "iotls-load: --connections %lu needs more descriptors than the limit %llu: "
                "run several processes\n",
                L.connections, (unsigned long long)rl.rlim_cur);
        return 2;
    }

    L.cfg = new_config(NULL);
    if (!L.cfg)
        return 1;
    L.conn_mem = iotls_conn_size(L.cfg);
    L.slots = calloc(L.connections, sizeof *L.slots);
    L.samples = malloc(MAX_SAMPLES * sizeof *L.samples);
    L.sample_stride = 1;
    if (!L.slots || !L.samples) {
        fprintf(stderr, "iotls-load: out of memory\n");
        return 1;
    }
    for (unsigned long i = 0; i < L.connections; i++) {
        L.slots[i].fd = -1;
        L.slots[i].mem = aligned_alloc(16, (L.conn_mem + 15) / 16 * 16);
        if (!L.slots[i].mem) {
            fprintf(stderr, "iotls-load: out of memory for %lu connections of %zu bytes\n",
                    L.connections, L.conn_mem);
            return 1;
        }
    }
    L.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (L.epfd < 0) {
        perror("iotls-load: epoll_create1");
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    struct epoll_event evs[256];
    uint64_t t0 = now_us(), run_end = t0 + (uint64_t)L.duration * 1000000u;
    /* After the last start: in-flight handshakes finish (bounded by their
     * timeout), held connections are closed at once. */
    uint64_t hard_end = run_end + (uint64_t)(HANDSHAKE_TIMEOUT_MS + TICKET_WAIT_MS) * 1000u;
    uint64_t next_progress = t0 + 1000000u, last_done = 0, run_stop = 0, scheduled = 0;
    unsigned long free_hint = 0;
    for (;;) {
        uint64_t now = now_us();
        int starting = !interrupted && now < run_end;
        if (!starting && !run_stop)
            run_stop = now;
        if (starting) {
            /* Start what the rate allows by now, in free slots. */
            uint64_t due = (now - t0) * L.rate / 1000000u + 1;
            /* With every connection busy the start is dropped, not owed:
             * no burst once slots free up. */
            if (L.open >= L.connections)
                scheduled = due;
            for (; scheduled < due && L.open < L.connections; scheduled++) {
                /* A resumed handshake is due but no ticket came yet: wait
                 * for the first connection's ticket rather than fill the
                 * run's start with full handshakes. */
                int want_resume =
                    L.resume_ratio > 0 &&
                    (double)L.started_resume < L.resume_ratio * (double)(L.started + 1);
                if (want_resume && L.pool_count == 0 && L.open > 0)
                    break;
                for (unsigned long k = 0; k < L.connections; k++) {
                    slot *s = &L.slots[(free_hint + k) % L.connections];
                    if (s->state == ST_FREE) {
                        free_hint = (free_hint + k + 1) % L.connections;
                        slot_start(s, now);
                        break;
                    }
                }
            }
        }
        /* Wake up for the next start when it is due, not at the next 5 ms
         * tick: starts bunched by the tick reach the server as bursts, and
         * their wait behind each other (in the server and here) was most
         * of the tail latency measured at a fixed rate. */
        uint64_t wait_us = 5000;
        if (starting && L.open < L.connections) {
            uint64_t next_start = t0 + (scheduled * 1000000u + L.rate - 1) / L.rate;
            uint64_t t = now_us();
            wait_us = next_start > t ? next_start - t : 0;
            if (wait_us > 5000)
                wait_us = 5000;
        }
        int n = wait_events(evs, 256, wait_us);
        now = now_us();
        for (int i = 0; i < n; i++) {
            slot *s = evs[i].data.ptr;
            if (s->state != ST_FREE)
                slot_event(s, evs[i].events);
        }
        /* Once starting is over, held connections have served their turn:
         * close them; only handshakes (and ticket waits) still in flight
         * are waited for. */
        sweep(now, !starting && L.hold_s > 0);
        if (now >= next_progress) {
            fprintf(stderr,
                    "[%3.0fs] open %lu, handshakes %llu (+%llu/s; full %llu, resumed %llu), errors "
                    "%llu\n",
                    (double)(now - t0) / 1e6, L.open, (unsigned long long)L.done,
                    (unsigned long long)(L.done - last_done), (unsigned long long)L.full,
                    (unsigned long long)L.resumed, (unsigned long long)L.errors);
            last_done = L.done;
            next_progress += 1000000u;
        }
        if (!starting && (L.open == 0 || now >= hard_end || interrupted))
            break;
    }
    uint64_t end = now_us();
    for (unsigned long i = 0; i < L.connections; i++)
        if (L.slots[i].state != ST_FREE)
            slot_fail(&L.slots[i], L.slots[i].state == ST_OPEN ? "still-open-at-end" : "timeout");
    summary((double)(end - t0) / 1e6, (double)(run_stop - t0) / 1e6);
    for (unsigned long i = 0; i < L.connections; i++)
        free(L.slots[i].mem);
    free(L.slots);
    free(L.samples);
    close(L.epfd);
    iotls_config_free(L.cfg);
    iotls_config_free(L.cfg_pinned);
    return L.errors ? 1 : 0;
}
