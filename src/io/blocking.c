/* The blocking API (include/iotls/iotls.h) over POSIX sockets: the
 * sans-I/O engine plus a socket and a loop that moves bytes between them.
 *
 * The socket is always switched to O_NONBLOCK while iotls drives it; the
 * "blocking" behaviour is poll() with the configured timeout, so no single
 * send or recv can outlast it. In non-blocking mode the loop returns
 * IOTLS_WANT_READ / IOTLS_WANT_WRITE where it would have polled.
 *
 * Sockets iotls opened itself (iotls_connect, iotls_accept) are closed by
 * iotls_close / iotls_free; sockets the caller passed in
 * (iotls_connect_socket, iotls_accept_socket) stay the caller's to close.
 *
 * iotls_write(t, NULL, 0) only flushes records the engine still holds
 * (useful in non-blocking mode, after iotls_write returned a short count). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>

#include "config.h"
#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/session.h"
#include "session_ref.h"

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0 /* e.g. macOS: SO_NOSIGPIPE is set on the socket instead */
#endif

/* Best-effort flushes (the alert after a failure, close_notify) never wait
 * longer than this, even without a configured timeout. */
#define FLUSH_GRACE_MS 2000
/* How long a socket being closed waits for the peer to close its side,
 * reading and dropping what it still sends (iotls_close_socket), and how
 * much it drops without waiting when it may not wait. */
#define CLOSE_LINGER_MS 2000
#define CLOSE_DRAIN_MAX 65536

#define INSECURE_WARNING                                                                           \
    "iotls: WARNING: certificate verification is OFF (--insecure): anyone on the path can read "   \
    "and change this connection\n"

struct iotls {
    const iotls_config *cfg;
    int role;
    int fd;
    int own_fd;      /* iotls opened it: iotls_close closes it */
    int nonblocking; /* return WANT_* instead of polling */
    uint32_t timeout_ms;

    void *mem; /* engine memory (iotls_conn_size bytes) */
    size_t mem_len;
    iotls_conn *conn; /* NULL until connect/accept */

    int failed;      /* err is fatal and sticky */
    int err;         /* last error code (0 none) */
    int read_closed; /* close_notify received */
    int close_sent;
    int app_data_seen; /* iotls_read has returned data */
    uint8_t *session;  /* blob to offer for resumption (iotls_set_session) */
    size_t session_len;
    /* Device key of a keyed blob (iotls_set_session_keyed), in the same
     * allocation right after the blob; 0 bytes for a plain one. */
    size_t session_key_len;
    uint8_t *early_out; /* client: 0-RTT data to send (iotls_set_early_data) */
    size_t early_out_len;
    size_t early_out_sent;      /* of it, handed to the engine in this connection */
    uint32_t session_early_max; /* the session's max_early_data (check_session_name) */
    /* Server: accepted 0-RTT data the engine delivered during the
     * handshake, returned first by iotls_read. */
    uint8_t *early_in;
    size_t early_in_len, early_in_off;
    size_t early_in_cap; /* bytes allocated at early_in */
    char errbuf[640];
};

/* ---- time ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* 0: no deadline. */
static int64_t deadline_in(uint32_t ms)
{
    return ms == 0 ? 0 : now_ms() + ms;
}

/* Milliseconds left for poll(): -1 forever, 0 expired. */
static int remaining_ms(int64_t deadline)
{
    if (deadline == 0)
        return -1;
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return 0;
    return left > 0x7fffffff ? 0x7fffffff : (int)left;
}

/* ---- errors ---- */

/* Records err with a one-line text. sys_detail (may be NULL) goes in
 * parentheses for errors that carry no alert (errno text, host name). */
static int set_error(iotls *t, const char *phase, int err, const char *sys_detail)
{
    t->err = err;
    /* What the engine can say beyond the code: the refused certificate
     * and why, a likely reason for the peer's alert. */
    char more[480];
    more[0] = '\0';
    if (t->conn && iotls_conn_error(t->conn) == err)
        (void)iotls_conn_error_detail(t->conn, more, sizeof more);
    if (err == IOTLS_ERR_ALERT_RECEIVED && t->conn) {
        iotls_info info;
        int alert = -1;
        if (iotls_conn_info(t->conn, &info) == IOTLS_OK)
            alert = info.peer_alert;
        snprintf(t->errbuf, sizeof t->errbuf, "%s failed: peer sent alert %s%s%s%s", phase,
                 iotls_alert_name(alert), more[0] ? " (" : "", more, more[0] ? ")" : "");
        return err;
    }
    int alert = iotls_error_alert(err);
    if (t->conn) {
        iotls_info info;
        if (iotls_conn_info(t->conn, &info) == IOTLS_OK && info.alert_sent > 0)
            alert = info.alert_sent;
    }
    if (alert > 0 && err != IOTLS_ERR_CLOSED)
        snprintf(t->errbuf, sizeof t->errbuf, "%s failed: %s (%s%s%s)", phase,
                 iotls_alert_name(alert), iotls_error_string(err), more[0] ? ": " : "", more);
    else if (sys_detail)
        snprintf(t->errbuf, sizeof t->errbuf, "%s failed: %s (%s)", phase, iotls_error_string(err),
                 sys_detail);
    else
        snprintf(t->errbuf, sizeof t->errbuf, "%s failed: %s", phase, iotls_error_string(err));
    return err;
}

static int flush_out(iotls *t, int64_t deadline);

/* A fatal error: remember it, and send the alert the engine queued for it
 * (best effort: the socket may be what failed). */
static int fail(iotls *t, const char *phase, int err, const char *sys_detail)
{
    if (t->failed)
        return t->err;
    set_error(t, phase, err, sys_detail);
    t->failed = 1;
    if (t->conn && t->fd >= 0 && err != IOTLS_ERR_IO && err != IOTLS_ERR_EOF) {
        int saved_nb = t->nonblocking;
        uint32_t grace =
            t->timeout_ms && t->timeout_ms < FLUSH_GRACE_MS ? t->timeout_ms : FLUSH_GRACE_MS;
        t->nonblocking = 0;
        (void)flush_out(t, deadline_in(grace));
        t->nonblocking = saved_nb;
    }
    return err;
}

/* WANT_* and timeouts are not fatal: the engine's state is intact and the
 * caller may try again. Everything else is. */
static int fail_or_want(iotls *t, const char *phase, int err, const char *sys_detail)
{
    if (err == IOTLS_WANT_READ || err == IOTLS_WANT_WRITE)
        return err;
    if (err == IOTLS_ERR_TIMEOUT)
        return set_error(t, phase, err, NULL);
    return fail(t, phase, err, sys_detail);
}

/* ---- socket helpers ---- */

static int set_nonblock_fd(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -1;
#ifdef SO_NOSIGPIPE
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
#endif
    return 0;
}

static void set_cloexec(int fd)
{
    int fl = fcntl(fd, F_GETFD);
    if (fl >= 0)
        (void)fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

/* Waits until fd is ready for events or the deadline passes. Errno-free
 * results: IOTLS_OK, IOTLS_ERR_TIMEOUT, IOTLS_WANT_* (non-blocking). */
static int wait_fd(iotls *t, short events, int64_t deadline, int *sys_errno)
{
    if (t->nonblocking)
        return (events & POLLOUT) ? IOTLS_WANT_WRITE : IOTLS_WANT_READ;
    for (;;) {
        int ms = remaining_ms(deadline);
        if (ms == 0)
            return IOTLS_ERR_TIMEOUT;
        struct pollfd p = {.fd = t->fd, .events = events, .revents = 0};
        int r = poll(&p, 1, ms);
        if (r > 0)
            return IOTLS_OK; /* readable, writable, or an error the next call reports */
        if (r == 0)
            continue; /* re-check the deadline */
        if (errno != EINTR) {
            *sys_errno = errno;
            return IOTLS_ERR_IO;
        }
    }
}

static int output_pending(const iotls *t)
{
    size_t n = 0;
    return t->conn && iotls_conn_output(t->conn, &n) != NULL && n > 0;
}

/* Sends everything the engine has queued. */
static int flush_out(iotls *t, int64_t deadline)
{
    for (;;) {
        size_t n = 0;
        const uint8_t *p = iotls_conn_output(t->conn, &n);
        if (p == NULL || n == 0)
            return IOTLS_OK;
        ssize_t s = send(t->fd, p, n, MSG_NOSIGNAL);
        if (s > 0) {
            iotls_conn_output_consume(t->conn, (size_t)s);
            continue;
        }
        if (s < 0 && errno == EINTR)
            continue;
        if (s < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int e = 0;
            int rc = wait_fd(t, POLLOUT, deadline, &e);
            if (rc != IOTLS_OK) {
                if (rc == IOTLS_ERR_IO)
                    errno = e;
                return rc;
            }
            continue;
        }
        return IOTLS_ERR_IO; /* errno tells why */
    }
}

/* Receives into the (empty) input buffer. */
/* The engine's room for the next received bytes (iotls_conn_input_space:
 * the blocking API has no receive buffer of its own); NULL when it takes
 * nothing now, with *err its error, if any. */
static uint8_t *input_space(iotls *t, size_t *cap, int *err)
{
    uint8_t *space = iotls_conn_input_space(t->conn, cap);
    *err = space == NULL ? iotls_conn_error(t->conn) : IOTLS_OK;
    return space;
}

/* Receives up to cap bytes into space (from input_space; the engine's
 * state does not change while we wait) and hands them over. Returns the
 * transport's result; *engine_rc is the engine's for the bytes received. */
static int fill_in(iotls *t, int64_t deadline, uint8_t *space, size_t cap, int *engine_rc)
{
    *engine_rc = IOTLS_OK;
    for (;;) {
        ssize_t r = recv(t->fd, space, cap, 0);
        if (r > 0) {
            *engine_rc = iotls_conn_input_commit(t->conn, (size_t)r);
            return IOTLS_OK;
        }
        if (r == 0)
            return IOTLS_ERR_EOF;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int e = 0;
            int rc = wait_fd(t, POLLIN, deadline, &e);
            if (rc != IOTLS_OK) {
                if (rc == IOTLS_ERR_IO)
                    errno = e;
                return rc;
            }
            continue;
        }
        return IOTLS_ERR_IO;
    }
}

/* Reads what the peer already sent, without waiting, and hands it to the
 * engine: at most PENDING_READS receives. Returns the engine's error when
 * that input failed the connection (a fatal alert, typically), else
 * IOTLS_OK. */
#define PENDING_READS 4
static int pending_peer_error(iotls *t)
{
    for (int i = 0; i < PENDING_READS && t->conn != NULL && t->fd >= 0; i++) {
        int err = IOTLS_OK;
        size_t cap = 0;
        uint8_t *space = input_space(t, &cap, &err);
        if (space == NULL)
            return err;
        ssize_t r = recv(t->fd, space, cap, MSG_DONTWAIT);
        if (r <= 0)
            break;
        (void)iotls_conn_input_commit(t->conn, (size_t)r);
        err = iotls_conn_error(t->conn);
        if (err != IOTLS_OK)
            return err;
    }
    return IOTLS_OK;
}

/* Maps a transport result to the error recorded for it. */
static int io_fail(iotls *t, const char *phase, int rc)
{
    if (rc == IOTLS_ERR_IO) {
        int e = errno;
        /* A peer that refuses us often sends its fatal alert and closes
         * while we are still writing (a server refusing our client
         * certificate after our Finished): send() then fails with EPIPE or
         * ECONNRESET while the alert waits unread. The alert says why. */
        if (e == EPIPE || e == ECONNRESET) {
            int peer_err = pending_peer_error(t);
            if (peer_err != IOTLS_OK)
                return fail(t, phase, peer_err, NULL);
        }
        return fail(t, phase, rc, strerror(e));
    }
    return fail_or_want(t, phase, rc, NULL);
}

/* ---- handshake ---- */

/* A handshake (and a TCP connect) never waits forever, even when the
 * application set no timeout: a silent or stalled peer must not pin a
 * device's only task or a server thread. */
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 30000u

static uint32_t handshake_timeout(const iotls *t)
{
    return t->timeout_ms ? t->timeout_ms : DEFAULT_HANDSHAKE_TIMEOUT_MS;
}

/* Room in t->early_in for more bytes. The block doubles, from one chunk
 * of drain_early up to the configuration's max_early_data (the engine takes
 * no more, RFC 8446 4.2.10), so n bytes cost O(n) copying and O(log n)
 * allocations. Not realloc: the old block holds plaintext and must be
 * wiped before it goes back to the heap. */
static int early_in_reserve(iotls *t, size_t more, size_t first)
{
    if (more <= t->early_in_cap - t->early_in_len)
        return IOTLS_OK;
    if (more > SIZE_MAX - t->early_in_len)
        return IOTLS_ERR_NO_MEMORY;
    size_t need = t->early_in_len + more;
    size_t cap = t->early_in_cap == 0             ? first
                 : t->early_in_cap > SIZE_MAX / 2 ? need
                                                  : t->early_in_cap * 2;
    if (cap > t->cfg->max_early_data)
        cap = t->cfg->max_early_data;
    if (cap < need)
        cap = need;
    uint8_t *grown = malloc(cap);
    if (grown == NULL)
        return IOTLS_ERR_NO_MEMORY;
    if (t->early_in != NULL) {
        memcpy(grown, t->early_in, t->early_in_len);
        iotls__wipe(t->early_in, t->early_in_cap);
        free(t->early_in);
    }
    t->early_in = grown;
    t->early_in_cap = cap;
    return IOTLS_OK;
}

/* Server: accepted 0-RTT data waits in the engine before the handshake
 * ends and blocks further input until read: move it aside. */
static int drain_early(iotls *t)
{
    uint8_t tmp[1024];
    int rc = IOTLS_OK;
    for (;;) {
        size_t n = 0;
        if (iotls_conn_handshake_done(t->conn) ||
            iotls_conn_read(t->conn, tmp, sizeof tmp, &n) != IOTLS_OK || n == 0)
            break;
        rc = early_in_reserve(t, n, sizeof tmp);
        if (rc != IOTLS_OK)
            break;
        memcpy(t->early_in + t->early_in_len, tmp, n);
        t->early_in_len += n;
    }
    iotls__wipe(tmp, sizeof tmp);
    return rc;
}

/* Client, with tx sent: the next part of the 0-RTT data that did not fit
 * behind the ClientHello, as much as tx now takes. Before any input, so the
 * engine still takes early data (until the ServerHello): all of it goes
 * early or, when the engine did not offer it (an expired session), none.
 * Returns 1 when something was written, 0 when nothing is left, or an
 * error. */
static int write_more_early(iotls *t)
{
    if (t->role != IOTLS_ROLE_CLIENT || t->early_out_sent == 0 ||
        t->early_out_sent >= t->early_out_len)
        return 0;
    size_t room = iotls_conn_early_room(t->conn);
    size_t left = t->early_out_len - t->early_out_sent;
    if (room == 0) {
        /* Only when the early data was not offered: nothing was sealed and
         * it stays NONE. A prefix sent as accepted 0-RTT must never be all
         * the server gets. */
        iotls_info info;
        if (iotls_conn_info(t->conn, &info) == IOTLS_OK && info.early_data_bytes == 0) {
            t->early_out_sent = t->early_out_len;
            return 0;
        }
        return fail(t, "handshake", IOTLS_ERR_INTERNAL, "early data does not fit the output");
    }
    size_t n = room < left ? room : left;
    int rc = iotls_conn_write_early(t->conn, t->early_out + t->early_out_sent, n);
    if (rc != IOTLS_OK)
        return fail(t, "handshake", rc, "early data");
    t->early_out_sent += n;
    return 1;
}

static int do_handshake(iotls *t)
{
    if (t->failed)
        return t->err;
    if (t->conn == NULL)
        return set_error(t, "handshake", IOTLS_ERR_BAD_STATE, "not connected");
    int64_t deadline = deadline_in(handshake_timeout(t));
    for (;;) {
        int rc = flush_out(t, deadline);
        if (rc != IOTLS_OK)
            return io_fail(t, "handshake", rc);
        if (iotls_conn_handshake_done(t->conn))
            return IOTLS_OK;
        rc = write_more_early(t);
        if (rc < 0)
            return rc;
        if (rc > 0)
            continue;
        if (t->role == IOTLS_ROLE_SERVER && drain_early(t) != IOTLS_OK)
            return fail(t, "handshake", IOTLS_ERR_NO_MEMORY, NULL);
        int err = IOTLS_OK;
        size_t cap = 0;
        uint8_t *space = input_space(t, &cap, &err);
        if (space == NULL) {
            if (err != IOTLS_OK)
                return fail(t, "handshake", err, NULL);
            if (output_pending(t) || iotls_conn_handshake_done(t->conn))
                continue;
            /* The engine takes nothing after a close_notify. */
            if (iotls_conn_peer_closed(t->conn))
                return fail(t, "handshake", IOTLS_ERR_CLOSED, NULL);
            return fail(t, "handshake", IOTLS_ERR_INTERNAL, "engine takes no input");
        }
        rc = fill_in(t, deadline, space, cap, &err);
        if (rc == IOTLS_ERR_EOF)
            return fail(t, "handshake", rc, "peer closed the TCP connection");
        if (rc != IOTLS_OK)
            return io_fail(t, "handshake", rc);
        if (err != IOTLS_OK)
            return fail(t, "handshake", err, NULL);
    }
}

static int ensure_handshake(iotls *t)
{
    if (t->failed)
        return t->err;
    if (t->conn == NULL)
        return set_error(t, "handshake", IOTLS_ERR_BAD_STATE, "not connected");
    if (iotls_conn_handshake_done(t->conn))
        return IOTLS_OK;
    return do_handshake(t);
}

int iotls_handshake(iotls *t)
{
    if (t == NULL)
        return IOTLS_ERR_BAD_ARG;
    return ensure_handshake(t);
}

/* ---- objects ---- */

static iotls *new_object(const iotls_config *cfg, int role)
{
    if (cfg == NULL)
        return NULL;
    iotls *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->cfg = cfg;
    iotls__config_hold(cfg);
    t->role = role;
    t->fd = -1;
    t->timeout_ms = cfg->timeout_ms;
    return t;
}

iotls *iotls_client_new(const iotls_config *cfg)
{
    return new_object(cfg, IOTLS_ROLE_CLIENT);
}

iotls *iotls_server_new(const iotls_config *cfg)
{
    return new_object(cfg, IOTLS_ROLE_SERVER);
}

/* Builds the engine on fd and starts it (client: queues ClientHello). */
static int start_engine(iotls *t, int fd, const char *server_name)
{
    const iotls_config *cfg = t->cfg;
    size_t need = iotls_conn_size(cfg);
    t->mem = malloc(need);
    if (t->mem == NULL)
        return fail(t, "handshake", IOTLS_ERR_NO_MEMORY, NULL);
    t->mem_len = need;
    t->early_out_sent = 0;
    t->conn = iotls_conn_init(t->mem, need, cfg, t->role, server_name);
    if (t->conn == NULL)
        return fail(t, "handshake", IOTLS_ERR_CONFIG, "the engine rejected the configuration");
    if (t->session) {
        /* Name and suite were checked (check_session_name): only an expiry
         * since iotls_set_session leaves it unoffered, a full handshake. */
        const uint8_t *key = t->session_key_len > 0 ? t->session + t->session_len : NULL;
        if (iotls_conn_borrow_session_keyed(t->conn, t->session, t->session_len, key,
                                            t->session_key_len) == IOTLS_OK &&
            t->early_out_len > 0 && t->early_out_len <= t->session_early_max) {
            /* Without 0-RTT in the session, or more data than it allows,
             * the data is simply not sent early (early_data NONE): the
             * application writes it later. Otherwise what surely fits
             * behind the ClientHello goes with it, the rest once tx is
             * sent (write_more_early). */
            size_t first = iotls_conn_early_room(t->conn);
            if (first > t->early_out_len)
                first = t->early_out_len;
            if (first > 0) {
                int rc = iotls_conn_write_early(t->conn, t->early_out, first);
                if (rc != IOTLS_OK)
                    return fail(t, "handshake", rc, "early data");
                t->early_out_sent = first;
            }
        }
    }
    t->fd = fd;
    if (set_nonblock_fd(fd) != 0)
        return fail(t, "handshake", IOTLS_ERR_IO, strerror(errno));
    if (cfg->insecure_noverifycert)
        fputs(INSECURE_WARNING, stderr);
    int rc = iotls_conn_start(t->conn);
    if (rc != IOTLS_OK)
        return fail(t, "handshake", rc, NULL);
    return do_handshake(t);
}

static void drop_session(iotls *t)
{
    if (t->session) {
        iotls__wipe(t->session, t->session_len + t->session_key_len);
        free(t->session);
    }
    t->session = NULL;
    t->session_len = t->session_key_len = 0;
}

/* Before anything is sent: a session set with iotls_set_session (which
 * cannot know the name yet) that was saved for another server name, or
 * whose suite the configuration no longer offers, or whose ticket is
 * longer than the configuration's ClientHello takes, is refused with
 * SESSION_INVALID, as iotls_conn_borrow_session refuses it, rather than
 * silently turned into a full handshake. The session is dropped and the
 * object stays usable: connecting again does a full handshake. An expiry
 * since iotls_set_session is not the caller's mistake: the engine then
 * simply does not offer it. */
static int check_session_name(iotls *t, const char *server_name)
{
    if (t->session == NULL)
        return IOTLS_OK;
    const uint8_t *key = t->session_key_len > 0 ? t->session + t->session_len : NULL;
    iotls_session_ref ref;
    int rc = iotls__session_ref_parse(&ref, key, t->session_key_len, t->session, t->session_len, 0);
    size_t name_len = server_name ? strlen(server_name) : 0;
    int suite_ok = 0;
    for (size_t i = 0; rc == IOTLS_OK && i < t->cfg->suite_count; i++)
        suite_ok |= t->cfg->suites[i] == ref.suite;
    t->session_early_max = rc == IOTLS_OK ? ref.max_early_data : 0;
    if (rc == IOTLS_OK && (ref.server_name_len != name_len ||
                           (name_len > 0 && memcmp(ref.server_name, server_name, name_len) != 0) ||
                           !suite_ok || ref.ticket_len > iotls__session_ticket_room(t->cfg)))
        rc = IOTLS_ERR_SESSION_INVALID;
    iotls__wipe(&ref, sizeof ref);
    if (rc == IOTLS_OK)
        return IOTLS_OK;
    drop_session(t);
    return set_error(
        t, "connect", rc,
        "the session was saved for another server name, for a cipher suite no "
        "longer configured, or its ticket is over the max handshake or max ticket size "
        "(dropped: connect again for a full handshake)");
}

int iotls_connect_socket(iotls *t, int fd, const char *servername)
{
    if (t == NULL || fd < 0)
        return IOTLS_ERR_BAD_ARG;
    if (t->role != IOTLS_ROLE_CLIENT || t->conn != NULL)
        return set_error(t, "connect", IOTLS_ERR_BAD_STATE, NULL);
    const iotls_config *cfg = t->cfg;
    /* Fail here, with a clear message, rather than after a round trip (the
     * engine's iotls_conn_start applies the same rule). An external PSK
     * authenticates the server by itself; with a CA too, the server may
     * ignore the PSK and present a certificate, which proves nothing
     * without its name checked or a pin matched. */
    if (!cfg->insecure_noverifycert && !cfg->has_ca && cfg->pin_count == 0 && !cfg->has_ext_psk)
        return fail(t, "connect", IOTLS_ERR_CONFIG,
                    "no trusted CA configured to verify the server");
    if (!cfg->insecure_noverifycert && cfg->pin_count == 0 && cfg->has_ca &&
        (servername == NULL || servername[0] == '\0'))
        return fail(t, "connect", IOTLS_ERR_CONFIG,
                    "no server name to check the certificate (a CA is configured: give a name "
                    "or a pin)");
    if (servername && strlen(servername) > IOTLS_MAX_SERVER_NAME)
        return fail(t, "connect", IOTLS_ERR_CONFIG, "server name too long");
    const char *name = servername && servername[0] ? servername : NULL;
    int rc = check_session_name(t, name);
    if (rc != IOTLS_OK)
        return rc;
    return start_engine(t, fd, name);
}

/* TCP connect to one address with the timeout. Returns the fd or -1 with
 * errno set. */
static int connect_one(const struct addrinfo *ai, int64_t deadline)
{
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd < 0)
        return -1;
    set_cloexec(fd);
    if (set_nonblock_fd(fd) != 0)
        goto fail;
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR)
        goto fail;
    for (;;) {
        int ms = remaining_ms(deadline);
        if (ms == 0) {
            errno = ETIMEDOUT;
            goto fail;
        }
        struct pollfd p = {.fd = fd, .events = POLLOUT, .revents = 0};
        int r = poll(&p, 1, ms);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto fail;
        if (r == 0)
            continue;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
            goto fail;
        if (soerr != 0) {
            errno = soerr;
            goto fail;
        }
        return fd;
    }
fail : {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

int iotls_connect(iotls *t, const char *host, const char *port, const char *servername)
{
    if (t == NULL || host == NULL || port == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (t->role != IOTLS_ROLE_CLIENT || t->conn != NULL || t->fd >= 0)
        return set_error(t, "connect", IOTLS_ERR_BAD_STATE, NULL);
    /* Refused before the TCP connection, not after. */
    const char *name = servername ? servername : host;
    int rc = check_session_name(t, name[0] ? name : NULL);
    if (rc != IOTLS_OK)
        return rc;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    int g = getaddrinfo(host, port, &hints, &res);
    if (g != 0 || res == NULL) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s: %s", host, gai_strerror(g));
        return fail(t, "connect", IOTLS_ERR_RESOLVE, detail);
    }
    int64_t deadline =
        deadline_in(t->cfg->connect_timeout_ms ? t->cfg->connect_timeout_ms : handshake_timeout(t));
    int fd = -1, last_errno = 0;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = connect_one(ai, deadline);
        if (fd < 0)
            last_errno = errno;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        char detail[200];
        snprintf(detail, sizeof detail, "%s port %s: %s", host, port, strerror(last_errno));
        return fail(t, "connect", last_errno == ETIMEDOUT ? IOTLS_ERR_TIMEOUT : IOTLS_ERR_IO,
                    detail);
    }
    t->own_fd = 1;
    t->fd = fd;
    return iotls_connect_socket(t, fd, servername ? servername : host);
}

int iotls_listen(const char *addr, const char *port, int backlog, int *fd_out, int *port_out)
{
    if (port == NULL || fd_out == NULL)
        return IOTLS_ERR_BAD_ARG;
    *fd_out = -1;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    if (getaddrinfo(addr ? addr : "127.0.0.1", port, &hints, &res) != 0 || res == NULL)
        return IOTLS_ERR_RESOLVE;
    int fd = -1, err = IOTLS_ERR_IO;
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        if (fd < 0)
            continue;
        set_cloexec(fd);
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
            listen(fd, backlog > 0 ? backlog : 16) == 0)
            break;
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
    }
    freeaddrinfo(res);
    if (fd < 0)
        return err;
    if (port_out) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof ss;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
            close(fd);
            return IOTLS_ERR_IO;
        }
        if (ss.ss_family == AF_INET)
            *port_out = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            *port_out = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        else
            *port_out = 0;
    }
    *fd_out = fd;
    return IOTLS_OK;
}

int iotls_accept_socket(iotls *server, int fd, iotls **conn_out)
{
    if (conn_out)
        *conn_out = NULL;
    if (server == NULL || fd < 0 || conn_out == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (server->role != IOTLS_ROLE_SERVER || server->conn != NULL)
        return IOTLS_ERR_BAD_STATE;
    iotls *t = new_object(server->cfg, IOTLS_ROLE_SERVER);
    if (t == NULL)
        return IOTLS_ERR_NO_MEMORY;
    t->nonblocking = server->nonblocking;
    t->timeout_ms = server->timeout_ms;
    /* Handed out even when the handshake fails, so the caller can read
     * iotls_error() and must iotls_free() it. */
    *conn_out = t;
    if (!t->cfg->has_cert && !t->cfg->has_ext_psk)
        return fail(t, "handshake", IOTLS_ERR_CONFIG, "the server has no certificate");
    return start_engine(t, fd, NULL);
}

int iotls_accept(iotls *server, int lfd, iotls **conn_out)
{
    if (conn_out)
        *conn_out = NULL;
    if (server == NULL || lfd < 0 || conn_out == NULL)
        return IOTLS_ERR_BAD_ARG;
    int fd;
    for (;;) {
        fd = accept(lfd, NULL, NULL);
        if (fd >= 0)
            break;
        if (errno == EINTR)
            return set_error(server, "accept", IOTLS_ERR_IO, strerror(EINTR));
        if ((errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (server->nonblocking)
                return IOTLS_WANT_READ;
            struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
            if (poll(&p, 1, -1) < 0 && errno != EINTR)
                return set_error(server, "accept", IOTLS_ERR_IO, strerror(errno));
            continue;
        }
        return set_error(server, "accept", IOTLS_ERR_IO, strerror(errno));
    }
    set_cloexec(fd);
    int rc = iotls_accept_socket(server, fd, conn_out);
    if (*conn_out) {
        (*conn_out)->own_fd = 1;
        (*conn_out)->fd = fd;
    } else {
        close(fd);
    }
    return rc;
}

/* ---- application data ---- */

/* A TLS 1.3 client finishes its handshake before the server has checked
 * the client's Finished and certificate; the server's verdict then arrives
 * as an alert on the first read. Call that what it is for the user. */
static const char *read_phase(const iotls *t, int err)
{
    if (err == IOTLS_ERR_ALERT_RECEIVED && !t->app_data_seen)
        return "handshake";
    return "read";
}

ssize_t iotls_read(iotls *t, void *buf, size_t len)
{
    if (t == NULL || (buf == NULL && len > 0))
        return IOTLS_ERR_BAD_ARG;
    int rc = ensure_handshake(t);
    if (rc != IOTLS_OK)
        return rc;
    if (t->early_in_off < t->early_in_len && len > 0) {
        size_t n = t->early_in_len - t->early_in_off;
        if (n > len)
            n = len;
        memcpy(buf, t->early_in + t->early_in_off, n);
        t->early_in_off += n;
        t->app_data_seen = 1;
        return (ssize_t)n;
    }
    if (t->read_closed)
        return 0;
    if (len == 0)
        return 0;
    int64_t deadline = deadline_in(t->timeout_ms);
    for (;;) {
        size_t n = 0;
        rc = iotls_conn_read(t->conn, buf, len, &n);
        if (rc == IOTLS_OK && n > 0) {
            t->app_data_seen = 1;
            return (ssize_t)n;
        }
        if (rc == IOTLS_OK && iotls_conn_peer_closed(t->conn)) {
            t->read_closed = 1;
            set_error(t, "read", IOTLS_ERR_CLOSED, NULL);
            return 0;
        }
        if (rc != IOTLS_OK && rc != IOTLS_WANT_READ)
            return fail(t, read_phase(t, rc), rc, NULL);

        /* Post-handshake messages may have queued output (a KeyUpdate
         * answer, tickets): send it before waiting for the peer. */
        rc = flush_out(t, deadline);
        if (rc != IOTLS_OK && rc != IOTLS_WANT_WRITE)
            return io_fail(t, "read", rc);
        int err = IOTLS_OK;
        size_t cap = 0;
        uint8_t *space = input_space(t, &cap, &err);
        if (space == NULL) {
            if (err != IOTLS_OK)
                return fail(t, read_phase(t, err), err, NULL);
            if (output_pending(t)) {
                if (t->nonblocking)
                    return IOTLS_WANT_WRITE;
                continue;
            }
            if (iotls_conn_peer_closed(t->conn))
                continue; /* the read above reports it */
            /* Nothing taken, nothing to send, nothing to read: the
             * engine cannot make progress. */
            return fail(t, "read", IOTLS_ERR_INTERNAL, "engine takes no input");
        }
        rc = fill_in(t, deadline, space, cap, &err);
        if (rc == IOTLS_WANT_READ && output_pending(t))
            return IOTLS_WANT_WRITE;
        if (rc == IOTLS_ERR_EOF) /* no close_notify came: truncated */
            return fail(t, "read", iotls_conn_input_eof(t->conn), NULL);
        if (rc == IOTLS_OK && err == IOTLS_ERR_CLOSED)
            continue; /* the read above reports it */
        if (rc == IOTLS_OK && err != IOTLS_OK)
            return fail(t, read_phase(t, err), err, NULL);
        if (rc != IOTLS_OK)
            return io_fail(t, "read", rc);
    }
}

ssize_t iotls_write(iotls *t, const void *buf, size_t len)
{
    if (t == NULL || (buf == NULL && len > 0))
        return IOTLS_ERR_BAD_ARG;
    int rc = ensure_handshake(t);
    if (rc != IOTLS_OK)
        return rc;
    const uint8_t *p = buf;
    size_t done = 0;
    int64_t deadline = deadline_in(t->timeout_ms);
    for (;;) {
        rc = flush_out(t, deadline);
        if (rc != IOTLS_OK) {
            /* Non-blocking: what the engine sealed is ours to send later;
             * report it as written. */
            if (rc == IOTLS_WANT_WRITE && done > 0)
                return (ssize_t)done;
            return io_fail(t, "write", rc);
        }
        if (done == len)
            return (ssize_t)done;
        size_t n = 0;
        rc = iotls_conn_write(t->conn, p + done, len - done, &n);
        done += n;
        if (rc == IOTLS_WANT_WRITE) {
            if (n == 0 && !output_pending(t))
                return fail(t, "write", IOTLS_ERR_INTERNAL, "engine took no data");
            continue;
        }
        if (rc != IOTLS_OK)
            return fail(t, "write", rc, NULL);
    }
}

int iotls_key_update(iotls *t, int request_peer)
{
    if (t == NULL)
        return IOTLS_ERR_BAD_ARG;
    int rc = ensure_handshake(t);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls_conn_key_update(t->conn, request_peer);
    if (rc == IOTLS_WANT_WRITE) {
        /* No room for it behind records still queued: send those first
         * (non-blocking: WANT_WRITE until the socket takes them). */
        rc = flush_out(t, deadline_in(t->timeout_ms));
        if (rc != IOTLS_OK)
            return io_fail(t, "key update", rc);
        rc = iotls_conn_key_update(t->conn, request_peer);
    }
    if (rc != IOTLS_OK)
        return fail_or_want(t, "key update", rc, NULL);
    rc = flush_out(t, deadline_in(t->timeout_ms));
    if (rc != IOTLS_OK && rc != IOTLS_WANT_WRITE)
        return io_fail(t, "key update", rc);
    return IOTLS_OK;
}

/* ---- the end ---- */

/* close() on a TCP socket with unread input, or one that receives more
 * after it, makes the kernel send a reset and throw away what it has not
 * sent yet: our last records (a fatal alert, the tickets before it) may be
 * lost, and the peer sees ECONNRESET instead. So: shut down the write side
 * (what is queued still goes out, then our FIN), read and drop what the
 * peer sends until it closes too or linger_ms pass, then close. */
void iotls_close_socket(int fd, uint32_t linger_ms)
{
    if (fd < 0)
        return;
    (void)shutdown(fd, SHUT_WR);
    int64_t deadline = now_ms() + linger_ms;
    uint8_t scratch[4096];
    size_t dropped = 0;
    for (;;) {
        ssize_t r = recv(fd, scratch, sizeof scratch, MSG_DONTWAIT);
        if (r == 0)
            break; /* the peer closed too */
        if (r > 0) {
            /* What already arrived goes, up to CLOSE_DRAIN_MAX even when
             * the time is up (linger_ms 0); more only within the time. */
            dropped += (size_t)r;
            if (dropped >= CLOSE_DRAIN_MAX && remaining_ms(deadline) == 0)
                break;
            continue;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            break;
        int ms = remaining_ms(deadline);
        if (ms == 0)
            break;
        struct pollfd p = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&p, 1, ms) < 0 && errno != EINTR)
            break;
    }
    close(fd);
}

int iotls_close(iotls *t)
{
    if (t == NULL)
        return IOTLS_ERR_BAD_ARG;
    int rc = IOTLS_OK;
    if (t->conn && t->fd >= 0 && !t->failed && iotls_conn_handshake_done(t->conn)) {
        uint32_t grace = t->timeout_ms ? t->timeout_ms : FLUSH_GRACE_MS;
        if (!t->close_sent) {
            rc = iotls_conn_close(t->conn);
            if (rc == IOTLS_WANT_WRITE) {
                /* No room for the alert yet: send what is queued first. */
                rc = flush_out(t, deadline_in(grace));
                if (rc == IOTLS_WANT_WRITE)
                    return rc;
                if (rc == IOTLS_OK)
                    rc = iotls_conn_close(t->conn);
            }
            t->close_sent = 1;
            if (rc != IOTLS_OK && !t->read_closed)
                rc = rc == IOTLS_ERR_IO ? io_fail(t, "close", rc) : fail(t, "close", rc, NULL);
            else
                rc = IOTLS_OK;
        }
        if (rc == IOTLS_OK) {
            rc = flush_out(t, deadline_in(grace));
            if (rc == IOTLS_WANT_WRITE)
                return rc; /* non-blocking: call again when writable */
            /* After the peer's close_notify, ours is a courtesy: a peer
             * that already closed its socket is no failure. */
            if (rc != IOTLS_OK && t->read_closed)
                rc = IOTLS_OK;
            if (rc != IOTLS_OK)
                rc = io_fail(t, "close", rc);
        }
    }
    if (t->own_fd && t->fd >= 0) {
        /* Non-blocking: drop only what already arrived, never wait. */
        uint32_t linger = t->nonblocking                                     ? 0
                          : t->timeout_ms && t->timeout_ms < CLOSE_LINGER_MS ? t->timeout_ms
                                                                             : CLOSE_LINGER_MS;
        iotls_close_socket(t->fd, linger);
        t->fd = -1;
    }
    return rc;
}

size_t iotls_memory_used(const iotls *t)
{
    if (t == NULL)
        return 0;
    return sizeof *t + t->mem_len + t->session_len + t->session_key_len + t->early_out_len +
           t->early_in_cap;
}

void iotls_free(iotls *t)
{
    if (t == NULL)
        return;
    if (t->conn)
        iotls_conn_free(t->conn);
    if (t->mem) {
        iotls__wipe(t->mem, t->mem_len);
        free(t->mem);
    }
    if (t->own_fd && t->fd >= 0)
        close(t->fd);
    if (t->session) {
        iotls__wipe(t->session, t->session_len + t->session_key_len);
        free(t->session);
    }
    if (t->early_out) {
        iotls__wipe(t->early_out, t->early_out_len);
        free(t->early_out);
    }
    if (t->early_in) {
        iotls__wipe(t->early_in, t->early_in_cap);
        free(t->early_in);
    }
    /* Ours was a hold on the configuration (iotls_config_free frees it
     * when the application has let go too). */
    iotls_config *cfg = (iotls_config *)t->cfg;
    /* The input buffer may hold records of this connection. */
    iotls__wipe(t, sizeof *t);
    free(t);
    iotls_config_free(cfg);
}

/* ---- inspection ---- */

const char *iotls_error(const iotls *t)
{
    if (t == NULL)
        return "no connection object (out of memory?)";
    if (t->err == IOTLS_OK)
        return "no error";
    return t->errbuf;
}

int iotls_last_error(const iotls *t)
{
    return t ? t->err : IOTLS_ERR_BAD_ARG;
}

int iotls_get_info(const iotls *t, iotls_info *info)
{
    if (t == NULL || info == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (t->conn == NULL) {
        memset(info, 0, sizeof *info);
        info->peer_alert = -1;
        info->alert_sent = -1;
        info->alpn = "";
        return IOTLS_ERR_BAD_STATE;
    }
    return iotls_conn_info(t->conn, info);
}

int iotls_peer_text(const iotls *t, int what, char *out, size_t cap)
{
    if (t == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    if (t->conn == NULL) {
        out[0] = '\0';
        return IOTLS_ERR_BAD_STATE;
    }
    return iotls_conn_peer_text(t->conn, what, out, cap);
}

int iotls_peer_spki_sha256(const iotls *t, uint8_t out[32])
{
    if (t == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (t->conn == NULL)
        return IOTLS_ERR_BAD_STATE;
    return iotls_conn_peer_spki_sha256(t->conn, out);
}

size_t iotls_peer_cert_count(const iotls *t)
{
    return t && t->conn ? iotls_conn_peer_cert_count(t->conn) : 0;
}

int iotls_peer_cert_der(const iotls *t, size_t i, const uint8_t **der, size_t *len)
{
    if (t == NULL || der == NULL || len == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (t->conn == NULL)
        return IOTLS_ERR_BAD_STATE;
    return iotls_conn_peer_cert_der(t->conn, i, der, len);
}

int iotls_fd(const iotls *t)
{
    return t ? t->fd : -1;
}

int iotls_set_nonblocking(iotls *t, int on)
{
    if (!t)
        return IOTLS_ERR_BAD_ARG;
    t->nonblocking = on != 0;
    return IOTLS_OK;
}

iotls_conn *iotls_engine(iotls *t)
{
    return t ? t->conn : NULL;
}

int iotls_set_session(iotls *t, const uint8_t *blob, size_t len)
{
    return iotls_set_session_keyed(t, blob, len, NULL, 0);
}

int iotls_set_session_keyed(iotls *t, const uint8_t *blob, size_t len, const uint8_t *key,
                            size_t key_len)
{
    if (t == NULL || blob == NULL || t->role != IOTLS_ROLE_CLIENT || (key == NULL && key_len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (t->conn != NULL)
        return IOTLS_ERR_BAD_STATE;
    if (!IOTLS_FEATURE_RESUMPTION)
        return IOTLS_ERR_UNSUPPORTED;
    iotls_session_ref check;
    int rc =
        iotls__session_ref_parse(&check, key, key_len, blob, len, iotls__config_now_ms(t->cfg));
    iotls__wipe(&check, sizeof check);
    if (rc != IOTLS_OK)
        return rc;
    /* The engine checks the blob again when the connection starts, so the
     * key is kept with it. */
    if (key_len > SIZE_MAX - len)
        return IOTLS_ERR_BAD_ARG;
    uint8_t *copy = malloc(len + key_len);
    if (copy == NULL)
        return IOTLS_ERR_NO_MEMORY;
    memcpy(copy, blob, len);
    if (key_len > 0)
        memcpy(copy + len, key, key_len);
    if (t->session) {
        iotls__wipe(t->session, t->session_len + t->session_key_len);
        free(t->session);
    }
    t->session = copy;
    t->session_len = len;
    t->session_key_len = key_len;
    return IOTLS_OK;
}

int iotls_set_early_data(iotls *t, const void *data, size_t len)
{
    if (t == NULL || (data == NULL && len > 0) || t->role != IOTLS_ROLE_CLIENT)
        return IOTLS_ERR_BAD_ARG;
    if (t->conn != NULL)
        return IOTLS_ERR_BAD_STATE;
    if (!IOTLS_FEATURE_EARLY_DATA && len > 0)
        return IOTLS_ERR_UNSUPPORTED;
    uint8_t *copy = NULL;
    if (len > 0) {
        copy = malloc(len);
        if (copy == NULL)
            return IOTLS_ERR_NO_MEMORY;
        memcpy(copy, data, len);
    }
    if (t->early_out) {
        iotls__wipe(t->early_out, t->early_out_len);
        free(t->early_out);
    }
    t->early_out = copy;
    t->early_out_len = len;
    return IOTLS_OK;
}
