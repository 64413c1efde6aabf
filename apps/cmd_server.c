/* iotls server: accepts TLS 1.3 connections, one thread each, and echoes
 * or answers HTTP requests. Prints one line per connection with what was
 * negotiated (or why the handshake failed). Stops on SIGINT/SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "exit_codes.h"
#include "iotls/features.h"
#include "iotls/iotls.h"
#include "keylog.h"
#include "replay_redis.h"
#include "trace.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_TICKETS 2
#define STOP_CHECK_MS 200 /* how often blocked loops look at the stop flag */
#define MAX_ACTIVE 256
#define CLOSE_LINGER_MS 2000 /* longest wait for a client to close after us */
#define HTTP_MAX_REQUEST 8192

enum { MODE_ECHO, MODE_HTTP };

static atomic_int stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&stop_requested, 1);
}

typedef struct {
    iotls *server; /* shared: only its config is read */
    int mode;
    int verbose;
    uint32_t timeout_ms;  /* handshake limit, 0 none */
    pthread_mutex_t lock; /* output lines, active count */
    pthread_cond_t idle;
    int active;
} server_ctx;

typedef struct {
    server_ctx *ctx;
    int fd;
    unsigned long id;
    char peer[64];
} conn_job;

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iotls server --port N (--cert FILE --key FILE | --psk HEX --psk-identity ID) "
        "[options]\n"
        "  --addr ADDR          listen address (default 127.0.0.1)\n"
        "  --port N             port; 0 picks a free one (see ACCEPT line, --ready-file)\n"
        "  --cert FILE --key FILE  certificate chain (leaf first) and its key\n"
        "  --key-pass SOURCE    passphrase of an encrypted --key: pass:TEXT, env:VAR, file:PATH\n"
        "  --ca FILE|DIR        require client certificates signed by these CAs\n"
        "  --verify-optional    with --ca: ask for, but do not require, a certificate\n"
        "  --crl FILE           with --ca: refuse client certificates their CA revoked (PEM,\n"
        "                       several per file, or DER; repeatable). The CA of the client's\n"
        "                       certificate must have a CRL loaded; one past its nextUpdate\n"
        "                       or not signed by its CA refuses the client\n"
        "  --alpn LIST          accepted protocols in preference order\n"
        "  --groups LIST        key exchange groups in preference order\n"
        "  --ciphers LIST       cipher suites in preference order\n"
        "  --echo               echo received data back (default)\n"
        "  --http               answer HTTP/1.x requests with the negotiated parameters\n"
        "  --keylog FILE        append NSS key log lines (also $SSLKEYLOGFILE)\n"
        "  --max-handshake N    largest handshake message accepted (512..262144)\n"
        "  --max-rsa-bits N     largest RSA key in the client's chain (2048..8192, default 4096)\n"
        "  --record-size N      largest record plaintext received and sent (512..16384);\n"
        "                       below 16384 announced as record_size_limit/max_fragment_length\n"
        "  --timeout S          handshake and write timeout in seconds, fractions allowed\n"
        "                       (default %d)\n"
        "  --once               exit after one connection (exit status: its result)\n"
        "  --tickets N          session tickets sent after each handshake (default 2; 0: none)\n"
        "  --ticket-keys FILE   ticket master secret shared between servers: 48 bytes, raw or\n"
        "                       hex (servers sharing it and the clock rotate keys in step)\n"
        "  --ticket-rotation S  ticket key rotation period in seconds (default 86400, min 60);\n"
        "                       tickets last at most one period, old key accepted one period\n"
        "  --early-data MAX     accept up to MAX bytes of 0-RTT early data per connection\n"
        "                       (needs --tickets; replays refused within this process only)\n"
        "  --replay-redis H:P   with --early-data: refuse replays across every server sharing\n"
        "                       this Redis (no Redis: 0-RTT refused; needs -DIOTLS_REDIS=ON)\n"
        "  --ready-file FILE    write the port there once listening\n"
        "  --psk HEX --psk-identity ID  external PSK (then --cert/--key are optional);\n"
        "                       --psk-hash sha256|sha384 (default: the first --ciphers\n"
        "                       suite's, else sha256)\n"
        "  --psk-ke             prefer PSK without ECDHE (psk_ke) when the client offers it\n"
        "  --key-update-limit N KeyUpdate after N records under one key (tests)\n"
        "  -v                   trace handshakes on stderr\n",
        DEFAULT_TIMEOUT_MS / 1000);
}

/* ---- per-connection work ---- */

static void out_line(server_ctx *ctx, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pthread_mutex_lock(&ctx->lock);
    vfprintf(stdout, fmt, ap);
    fputc('\n', stdout);
    fflush(stdout);
    pthread_mutex_unlock(&ctx->lock);
    va_end(ap);
}

/* Waits until the connection has something to read, checking the stop
 * flag. 1 readable, 0 stop. Data already inside iotls is found by the
 * caller's non-blocking read before it waits. */
static int wait_readable(iotls *t)
{
    while (!atomic_load(&stop_requested)) {
        struct pollfd p = {.fd = iotls_fd(t), .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, STOP_CHECK_MS);
        if (r > 0)
            return 1;
        if (r < 0 && errno != EINTR)
            return 1; /* let the read report it */
    }
    return 0;
}

/* Reads what is available. > 0 bytes, 0 peer closed, IOTLS_WANT_READ
 * nothing yet, < 0 error. Never waits. */
static ssize_t read_now(iotls *t, void *buf, size_t cap)
{
    iotls_set_nonblocking(t, 1);
    ssize_t r = iotls_read(t, buf, cap);
    iotls_set_nonblocking(t, 0);
    if (r == IOTLS_WANT_WRITE) {
        if (iotls_write(t, NULL, 0) < 0)
            return iotls_last_error(t);
        return IOTLS_WANT_READ;
    }
    return r;
}

/* Returns 0 when the client closed cleanly, else the error. */
static int serve_echo(iotls *t)
{
    uint8_t buf[16384];
    for (;;) {
        ssize_t r = read_now(t, buf, sizeof buf);
        if (r == IOTLS_WANT_READ) {
            if (!wait_readable(t))
                return 0;
            continue;
        }
        if (r == 0)
            return 0;
        if (r < 0)
            return (int)r;
        int rc = app_write_all(t, buf, (size_t)r);
        if (rc != 0)
            return rc;
    }
}

static const char *find_header_end(const char *req, size_t len)
{
    for (size_t i = 0; i + 3 < len; i++)
        if (memcmp(req + i, "\r\n\r\n", 4) == 0)
            return req + i + 4;
    return NULL;
}

/* Value of header name in the request head (NUL-ended), copied into out. */
static int header_value(const char *head, const char *name, char *out, size_t cap)
{
    size_t n = strlen(name);
    const char *line = strstr(head, "\r\n");
    while (line) {
        line += 2;
        if (strncasecmp(line, name, n) == 0 && line[n] == ':') {
            const char *v = line + n + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            const char *end = strstr(v, "\r\n");
            size_t len = end ? (size_t)(end - v) : strlen(v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        line = strstr(line, "\r\n");
    }
    return 0;
}

#define HTTP_HEAD_MAX 256
#define HTTP_PAGE_MAX 2048

/* Headers and body in one write, so one record (one AEAD operation, one
 * record's 22 bytes of overhead) per response while it fits a record. */
static int send_http(iotls *t, int status, const char *reason, const char *body, int keep_alive)
{
    char msg[HTTP_HEAD_MAX + HTTP_PAGE_MAX];
    size_t body_len = strlen(body);
    int n = snprintf(msg, HTTP_HEAD_MAX,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                     "Content-Length: %zu\r\nConnection: %s\r\nServer: iotls/%s\r\n\r\n",
                     status, reason, body_len, keep_alive ? "keep-alive" : "close", IOTLS_VERSION);
    if (n < 0 || n >= HTTP_HEAD_MAX || body_len > sizeof msg - (size_t)n)
        return IOTLS_ERR_INTERNAL; /* cannot happen: the page is at most HTTP_PAGE_MAX - 1 */
    memcpy(msg + n, body, body_len);
    return app_write_all(t, msg, (size_t)n + body_len);
}

static void describe_page(iotls *t, const char *method, const char *path, char *out, size_t cap)
{
    iotls_info info;
    if (iotls_get_info(t, &info) != IOTLS_OK) {
        snprintf(out, cap, "iotls server\n");
        return;
    }
    /* The client's key names it even when its subject does not (and on a
     * resumed connection it is what the ticket carried). */
    char spki[2 * 32 + 1] = "none", subject[256] = "";
    uint8_t hash[32];
    if (info.client_auth && iotls_peer_spki_sha256(t, hash) == IOTLS_OK)
        for (size_t i = 0; i < sizeof hash; i++)
            snprintf(spki + 2 * i, 3, "%02x", hash[i]);
    if (info.client_auth)
        (void)iotls_peer_text(t, IOTLS_PEER_SUBJECT, subject, sizeof subject);
    snprintf(out, cap,
             "iotls server: TLS 1.3 connection established\n"
             "request:      %s %s\n"
             "version:      TLSv1.3\n"
             "cipher suite: %s\n"
             "group:        %s%s\n"
             "signature:    %s\n"
             "ALPN:         %s\n"
             "server name:  %s\n"
             "client:       %s%s\n"
             "client key:   SPKI SHA-256 %s\n"
             "peer auth:    %s\n",
             method, path, info.cipher_suite_name, info.group_name,
             info.hrr ? " (after HelloRetryRequest)" : "",
             iotls_sig_scheme_name(info.own_sig_scheme),
             info.alpn && info.alpn[0] ? info.alpn : "none",
             info.server_name && info.server_name[0] ? info.server_name : "none",
             info.client_auth ? subject : "anonymous",
             !info.client_auth ? ""
             : info.resumed    ? " (certificate verified when the ticket was issued)"
                               : " (certificate verified)",
             spki, iotls_peer_auth_name(info.peer_auth));
}

/* HTTP/1.x: answer each request; keep-alive unless asked not to. */
static int serve_http(iotls *t)
{
    char req[HTTP_MAX_REQUEST + 1];
    size_t have = 0;
    size_t skip_body = 0;
    for (;;) {
        const char *end = have ? find_header_end(req, have) : NULL;
        if (end == NULL) {
            if (have == HTTP_MAX_REQUEST) {
                (void)send_http(t, 431, "Request Header Fields Too Large", "request too large\n",
                                0);
                return 0;
            }
            uint8_t tmp[HTTP_MAX_REQUEST];
            ssize_t r = read_now(t, tmp, sizeof tmp);
            if (r == IOTLS_WANT_READ) {
                if (!wait_readable(t))
                    return 0;
                continue;
            }
            if (r == 0)
                return 0;
            if (r < 0)
                return (int)r;
            size_t n = (size_t)r;
            size_t off = 0;
            if (skip_body > 0) {
                size_t s = skip_body < n ? skip_body : n;
                skip_body -= s;
                off = s;
            }
            size_t room = HTTP_MAX_REQUEST - have;
            size_t take = n - off < room ? n - off : room;
            memcpy(req + have, tmp + off, take);
            have += take;
            continue;
        }
        size_t head_len = (size_t)(end - req);
        char head[HTTP_MAX_REQUEST + 1];
        memcpy(head, req, head_len);
        head[head_len] = '\0';
        memmove(req, end, have - head_len);
        have -= head_len;

        char method[16] = "", path[1024] = "", version[16] = "";
        if (sscanf(head, "%15s %1023s %15s", method, path, version) != 3 ||
            strncmp(version, "HTTP/1.", 7) != 0) {
            (void)send_http(t, 400, "Bad Request", "not an HTTP/1.x request\n", 0);
            return 0;
        }
        char value[64];
        int keep_alive = strcmp(version, "HTTP/1.0") != 0;
        if (header_value(head, "Connection", value, sizeof value))
            keep_alive = strcasecmp(value, "keep-alive") == 0 ||
                         (keep_alive && strcasecmp(value, "close") != 0);
        if (header_value(head, "Content-Length", value, sizeof value)) {
            /* The body means nothing to us: drop it. */
            size_t body = (size_t)strtoul(value, NULL, 10);
            size_t s = body < have ? body : have;
            memmove(req, req + s, have - s);
            have -= s;
            skip_body = body - s;
        }
        char page[HTTP_PAGE_MAX];
        describe_page(t, method, path, page, sizeof page);
        int rc = send_http(t, 200, "OK", page, keep_alive);
        if (rc != 0)
            return rc;
        if (!keep_alive)
            return 0;
    }
}

static void peer_name(int fd, char *out, size_t cap)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char addr[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    snprintf(out, cap, "?");
    if (getpeername(fd, (struct sockaddr *)&ss, &sl) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        port = ntohs(a->sin_port);
        snprintf(out, cap, "%s:%d", addr, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        port = ntohs(a->sin6_port);
        snprintf(out, cap, "[%s]:%d", addr, port);
    }
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server object is non-blocking (see cmd_server), so the handshake
 * returns WANT_* instead of waiting inside iotls: waiting here, in steps of
 * STOP_CHECK_MS, lets a stop request end a handshake that a client has
 * stalled, instead of waiting out the whole handshake timeout. Leaves the
 * connection blocking. Sets *why for the two failures it finds itself. */
static int accept_handshake(server_ctx *ctx, int fd, iotls **out, const char **why)
{
    *why = NULL;
    int rc = iotls_accept_socket(ctx->server, fd, out);
    int64_t deadline = ctx->timeout_ms ? mono_ms() + ctx->timeout_ms : 0;
    while (rc == IOTLS_WANT_READ || rc == IOTLS_WANT_WRITE) {
        if (atomic_load(&stop_requested)) {
            *why = "handshake interrupted: server stopping";
            return IOTLS_ERR_CLOSED;
        }
        int wait_ms = STOP_CHECK_MS;
        if (deadline) {
            int64_t left = deadline - mono_ms();
            if (left <= 0) {
                *why = "handshake failed: timed out";
                return IOTLS_ERR_TIMEOUT;
            }
            if (left < wait_ms)
                wait_ms = (int)left;
        }
        struct pollfd p = {
            .fd = fd, .events = rc == IOTLS_WANT_READ ? POLLIN : POLLOUT, .revents = 0};
        if (poll(&p, 1, wait_ms) == 0)
            continue;
        rc = iotls_handshake(*out);
    }
    if (*out)
        iotls_set_nonblocking(*out, 0);
    return rc;
}

/* Closes a connection's socket without a TCP reset that could destroy our
 * last records (the fatal alert after a bad message, the tickets before
 * it): see iotls_close_socket. Not while stopping, which must be quick. */
static void close_conn_socket(const server_ctx *ctx, int fd)
{
    uint32_t linger =
        ctx->timeout_ms && ctx->timeout_ms < CLOSE_LINGER_MS ? ctx->timeout_ms : CLOSE_LINGER_MS;
    iotls_close_socket(fd, atomic_load(&stop_requested) ? 0 : linger);
}

/* Handshake, one line, serve, close. Returns the exit code (exit_codes.h):
 * 0 when everything went well. */
static int handle_connection(server_ctx *ctx, int fd, unsigned long id, const char *peer)
{
    char tag[32];
    snprintf(tag, sizeof tag, "[conn %lu] ", id);
    trace_begin(tag);
    iotls *t = NULL;
    const char *why = NULL;
    int rc = accept_handshake(ctx, fd, &t, &why);
    if (rc != IOTLS_OK) {
        out_line(ctx, "conn %lu from %s: %s", id, peer,
                 why ? why
                 : t ? iotls_error(t)
                     : iotls_error_string(rc));
        int code = app_exit_for(t ? iotls_last_error(t) : rc);
        iotls_free(t);
        close_conn_socket(ctx, fd);
        return code == APP_EXIT_OK ? APP_EXIT_FAILURE : code;
    }
    iotls_info info;
    if (iotls_get_info(t, &info) == IOTLS_OK) {
        char client[300], subject[256] = "";
        if (info.client_auth) {
            (void)iotls_peer_text(t, IOTLS_PEER_SUBJECT, subject, sizeof subject);
            snprintf(client, sizeof client, "client=\"%s\"", subject);
        } else
            snprintf(client, sizeof client, "client=anonymous");
        out_line(ctx, "conn %lu from %s: TLSv1.3 %s %s%s%s %s alpn=%s sni=%s %s", id, peer,
                 info.cipher_suite_name, info.group_name, info.hrr ? " (HRR)" : "",
                 info.resumed        ? " (resumed)"
                 : info.external_psk ? " (external PSK)"
                                     : "",
                 iotls_sig_scheme_name(info.own_sig_scheme),
                 info.alpn && info.alpn[0] ? info.alpn : "none",
                 info.server_name && info.server_name[0] ? info.server_name : "none", client);
        if (info.early_data == IOTLS_EARLY_DATA_ACCEPTED)
            out_line(ctx, "conn %lu early data: accepted %u bytes", id,
                     (unsigned)info.early_data_bytes);
        else if (info.early_data == IOTLS_EARLY_DATA_REJECTED)
            out_line(ctx, "conn %lu early data: rejected", id);
    }
    if (ctx->verbose)
        trace_summary(stderr, t, 0);
    rc = ctx->mode == MODE_HTTP ? serve_http(t) : serve_echo(t);
    if (rc != 0 && ctx->verbose)
        fprintf(stderr, "%s%s\n", tag, iotls_error(t));
    if (iotls_get_info(t, &info) == IOTLS_OK &&
        (info.key_updates_sent > 0 || info.key_updates_received > 0))
        out_line(ctx, "conn %lu: key updates sent %u received %u", id, info.key_updates_sent,
                 info.key_updates_received);
    int code = rc == 0 ? APP_EXIT_OK : app_exit_for(iotls_last_error(t));
    int crc = iotls_close(t);
    if (rc == 0 && crc != IOTLS_OK && ctx->verbose)
        fprintf(stderr, "%s%s\n", tag, iotls_error(t));
    iotls_free(t);
    close_conn_socket(ctx, fd);
    return rc == 0 || code != APP_EXIT_OK ? code : APP_EXIT_FAILURE;
}

static void *conn_thread(void *arg)
{
    conn_job *job = arg;
    server_ctx *ctx = job->ctx;
    (void)handle_connection(ctx, job->fd, job->id, job->peer);
    free(job);
    pthread_mutex_lock(&ctx->lock);
    ctx->active--;
    pthread_cond_signal(&ctx->idle);
    pthread_mutex_unlock(&ctx->lock);
    return NULL;
}

/* Workers must not take SIGINT/SIGTERM: the main thread's poll has to see
 * them to stop accepting. They inherit this mask. */
static int spawn_worker(server_ctx *ctx, conn_job *job)
{
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t th;
    pthread_mutex_lock(&ctx->lock);
    ctx->active++;
    pthread_mutex_unlock(&ctx->lock);
    int err = pthread_create(&th, &attr, conn_thread, job);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) {
        pthread_mutex_lock(&ctx->lock);
        ctx->active--;
        pthread_mutex_unlock(&ctx->lock);
        return -1;
    }
    return 0;
}

static int write_ready_file(const char *path, int port)
{
    /* Written to a temporary name and renamed, so a test polling for the
     * file never reads it half-written. */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

int cmd_server(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port = NULL, *cert = NULL, *key = NULL, *ca = NULL,
               *alpn = NULL, *groups = NULL, *ciphers = NULL, *keylog = NULL, *ready_file = NULL,
               *ticket_keys = NULL, *psk = NULL, *psk_identity = NULL, *psk_hash = NULL,
               *key_pass = NULL, *replay_redis = NULL;
    int psk_ke = 0;
    unsigned long key_update_limit = 0;
    unsigned long early_max = 0, ticket_rotation = 0;
    /* Tickets by default, as openssl s_server: a client can try resumption
     * without knowing a flag (none in an image built without it). */
    unsigned long tickets = IOTLS_FEATURE_RESUMPTION ? DEFAULT_TICKETS : 0;
    int tickets_given = 0;
    const char *crls[APP_MAX_CRLS];
    size_t crl_count = 0;
    int verify_optional = 0, verbose = 0, once = 0, mode = MODE_ECHO, mode_echo = 0, mode_http = 0;
    unsigned long max_hs = 0, max_rsa_bits = 0, record_size = 0, timeout = DEFAULT_TIMEOUT_MS;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = app_opt_value(argc, argv, &i, "--addr")))
            addr = v;
        else if ((v = app_opt_value(argc, argv, &i, "--port"))) {
            (void)app_parse_num("--port", v, 0, 65535);
            port = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--cert")))
            cert = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key")))
            key = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key-pass")))
            key_pass = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ca")))
            ca = v;
        else if ((v = app_opt_value(argc, argv, &i, "--crl"))) {
            if (crl_count == APP_MAX_CRLS) {
                fprintf(stderr, "iotls server: too many --crl options\n");
                return APP_EXIT_USAGE;
            }
            crls[crl_count++] = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--alpn")))
            alpn = v;
        else if ((v = app_opt_value(argc, argv, &i, "--groups")))
            groups = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ciphers")))
            ciphers = v;
        else if ((v = app_opt_value(argc, argv, &i, "--keylog")))
            keylog = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ready-file")))
            ready_file = v;
        else if ((v = app_opt_value(argc, argv, &i, "--tickets"))) {
            tickets = app_parse_num("--tickets", v, 0, 16);
            tickets_given = 1;
        } else if ((v = app_opt_value(argc, argv, &i, "--ticket-keys")))
            ticket_keys = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ticket-rotation")))
            ticket_rotation = app_parse_num("--ticket-rotation", v, 60, 0xFFFFFFFFul);
        else if ((v = app_opt_value(argc, argv, &i, "--early-data")))
            early_max = app_parse_num("--early-data", v, 0, 1u << 20);
        else if ((v = app_opt_value(argc, argv, &i, "--replay-redis")))
            replay_redis = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk")))
            psk = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk-identity")))
            psk_identity = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk-hash")))
            psk_hash = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key-update-limit")))
            key_update_limit = app_parse_num("--key-update-limit", v, 1, 16777216);
        else if (app_opt_flag(argv, i, "--psk-ke"))
            psk_ke = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--record-size")))
            record_size = app_parse_num("--record-size", v, 512, 16384);
        else if ((v = app_opt_value(argc, argv, &i, "--max-handshake")))
            max_hs = app_parse_num("--max-handshake", v, 512, 262144);
        else if ((v = app_opt_value(argc, argv, &i, "--max-rsa-bits")))
            max_rsa_bits = app_parse_num("--max-rsa-bits", v, 2048, 8192);
        else if ((v = app_opt_value(argc, argv, &i, "--timeout")))
            timeout = app_parse_seconds("--timeout", v);
        else if (app_opt_flag(argv, i, "--verify-optional"))
            verify_optional = 1;
        else if (app_opt_flag(argv, i, "--echo"))
            mode_echo = 1;
        else if (app_opt_flag(argv, i, "--http") || app_opt_flag(argv, i, "--www"))
            mode_http = 1;
        else if (app_opt_flag(argv, i, "--once"))
            once = 1;
        else if (app_opt_flag(argv, i, "-v") || app_opt_flag(argv, i, "--verbose"))
            verbose = 1;
        else if (app_opt_flag(argv, i, "--help") || app_opt_flag(argv, i, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "iotls server: unknown option %s; try 'iotls server --help'\n",
                    argv[i]);
            return APP_EXIT_USAGE;
        }
    }
    if (port == NULL || (cert == NULL) != (key == NULL) || (cert == NULL && psk == NULL)) {
        fprintf(stderr, "iotls server: --port, and --cert with --key or --psk, are required; try "
                        "'iotls server --help'\n");
        return APP_EXIT_USAGE;
    }
    if (mode_echo && mode_http) {
        fprintf(stderr, "iotls server: --echo and --http exclude each other\n");
        return APP_EXIT_USAGE;
    }
    mode = mode_http ? MODE_HTTP : MODE_ECHO;
    if (verify_optional && ca == NULL) {
        fprintf(stderr, "iotls server: --verify-optional needs --ca\n");
        return APP_EXIT_USAGE;
    }
    if (crl_count > 0 && ca == NULL) {
        fprintf(stderr, "iotls server: --crl needs --ca (client certificates are not asked "
                        "for without it)\n");
        return APP_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);

    /* Until the server listens, a failure is the configuration's. */
    int exit_code = APP_EXIT_CONFIG, lfd = -1, rc;
    iotls *server = NULL;
    server_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    pthread_mutex_init(&ctx.lock, NULL);
    pthread_cond_init(&ctx.idle, NULL);
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL) {
        app_error("configuration", IOTLS_ERR_NO_MEMORY);
        exit_code = APP_EXIT_FAILURE;
        goto out;
    }
    if (psk && app_set_psk(cfg, psk, psk_identity, psk_hash, ciphers) != 0)
        goto out;
    if (psk_ke)
        iotls_config_set_psk_ke(cfg, IOTLS_PSK_KE_ONLY);
    if (key_update_limit)
        iotls_config_set_key_update_limit(cfg, key_update_limit);
    if (cert && (rc = app_set_cert(cfg, cert, key, key_pass)) != IOTLS_OK)
        goto out;
    if (ca) {
        if (app_load_ca(cfg, ca) != IOTLS_OK || app_load_crls(cfg, crls, crl_count) != IOTLS_OK)
            goto out;
        (void)iotls_config_set_verify_client(cfg, verify_optional ? IOTLS_VERIFY_CLIENT_OPTIONAL
                                                                  : IOTLS_VERIFY_CLIENT_REQUIRED);
    }
    if (groups && iotls_config_set_groups(cfg, groups) != IOTLS_OK) {
        fprintf(stderr, "iotls: --groups %s: unknown or repeated group\n", groups);
        goto out;
    }
    if (ciphers && iotls_config_set_ciphers(cfg, ciphers) != IOTLS_OK) {
        fprintf(stderr,
                "iotls: --ciphers %s: unknown or repeated cipher suite (valid: "
                "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
                "or aes128gcm, aes256gcm, chacha20)\n",
                ciphers);
        goto out;
    }
    if (alpn && iotls_config_set_alpn(cfg, alpn) != IOTLS_OK) {
        fprintf(stderr, "iotls: --alpn %s: bad protocol list\n", alpn);
        goto out;
    }
    if (max_hs)
        (void)iotls_config_set_max_handshake_size(cfg, max_hs);
    if (max_rsa_bits)
        (void)iotls_config_set_max_rsa_bits(cfg, (unsigned)max_rsa_bits);
    if (record_size)
        (void)iotls_config_set_record_size(cfg, record_size);
    iotls_config_set_timeout_ms(cfg, (uint32_t)timeout);
    if (ticket_keys && (rc = iotls_config_set_ticket_key_file(cfg, ticket_keys)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --ticket-keys %s: want 48 bytes, raw or 96 hex digits\n",
                ticket_keys);
        goto out;
    }
    if (ticket_rotation &&
        (rc = iotls_config_set_ticket_rotation(cfg, (uint32_t)ticket_rotation)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --ticket-rotation: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (early_max && (rc = iotls_config_set_early_data(cfg, (uint32_t)early_max)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --early-data: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (replay_redis && replay_redis_install(cfg, replay_redis, early_max > 0) != 0)
        goto out;
    if ((tickets || tickets_given) &&
        (rc = iotls_config_set_tickets(cfg, (unsigned)tickets)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --tickets: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (keylog_setup(cfg, keylog) != 0)
        goto out;
    if (verbose)
        trace_install(cfg, stderr);

    server = iotls_server_new(cfg);
    if (server == NULL) {
        app_error("server", IOTLS_ERR_NO_MEMORY);
        exit_code = APP_EXIT_FAILURE;
        goto out;
    }
    ctx.server = server;
    ctx.mode = mode;
    ctx.verbose = verbose;
    ctx.timeout_ms = (uint32_t)timeout;
    /* Connections inherit it: accept_handshake does the waiting. */
    iotls_set_nonblocking(server, 1);

    int bound_port = 0;
    rc = iotls_listen(addr, port, 64, &lfd, &bound_port);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: cannot listen on %s port %s: %s (%s)\n", addr, port,
                iotls_error_string(rc), strerror(errno));
        exit_code = app_exit_for(rc);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: poll must return EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printf(strchr(addr, ':') ? "ACCEPT [%s]:%d\n" : "ACCEPT %s:%d\n", addr, bound_port);
    fflush(stdout);
    if (ready_file && write_ready_file(ready_file, bound_port) != 0) {
        fprintf(stderr, "iotls: cannot write %s: %s\n", ready_file, strerror(errno));
        goto out;
    }

    exit_code = 0;
    unsigned long next_id = 1;
    while (!atomic_load(&stop_requested)) {
        struct pollfd p = {.fd = lfd, .events = POLLIN, .revents = 0};
        int r = poll(&p, 1, STOP_CHECK_MS);
        if (r <= 0)
            continue; /* timeout or EINTR: look at the flag again */
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0)
            continue;
        unsigned long id = next_id++;
        char peer[64];
        peer_name(fd, peer, sizeof peer);
        if (once) {
            exit_code = handle_connection(&ctx, fd, id, peer);
            break;
        }
        pthread_mutex_lock(&ctx.lock);
        int busy = ctx.active >= MAX_ACTIVE;
        pthread_mutex_unlock(&ctx.lock);
        conn_job *job = busy ? NULL : malloc(sizeof *job);
        if (job == NULL) {
            out_line(&ctx, "conn %lu from %s: refused (too many connections)", id, peer);
            close(fd);
            continue;
        }
        job->ctx = &ctx;
        job->fd = fd;
        job->id = id;
        snprintf(job->peer, sizeof job->peer, "%s", peer);
        if (spawn_worker(&ctx, job) != 0) {
            out_line(&ctx, "conn %lu from %s: refused (cannot start a thread)", id, peer);
            close(fd);
            free(job);
        }
    }
    close(lfd);
    lfd = -1;
    /* Workers see the stop flag within STOP_CHECK_MS once idle; a handshake
     * in progress ends by its timeout. */
    atomic_store(&stop_requested, 1);
    pthread_mutex_lock(&ctx.lock);
    while (ctx.active > 0)
        pthread_cond_wait(&ctx.idle, &ctx.lock);
    pthread_mutex_unlock(&ctx.lock);

out:
    if (lfd >= 0)
        close(lfd);
    iotls_free(server);
    iotls_config_free(cfg);
    keylog_close();
    pthread_cond_destroy(&ctx.idle);
    pthread_mutex_destroy(&ctx.lock);
    return exit_code;
}
