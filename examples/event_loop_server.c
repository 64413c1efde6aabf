/* event_loop_server: many TLS connections in one thread, each a sans-I/O
 * engine (iotls/engine.h) in memory the server owns, driven by poll().
 * Answers each HTTP request with a short page, then closes with
 * close_notify. SIGTERM/SIGINT: stop accepting, let open exchanges
 * finish, exit 0.
 *
 *   event_loop_server PORT CERT_FILE KEY_FILE
 *
 * Build: cc event_loop_server.c $(pkg-config --cflags --libs iotls) -o event_loop_server */
#define _POSIX_C_SOURCE 200809L
#include <iotls/engine.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 64         /* more wait in the listen queue */
#define HANDSHAKE_SECONDS 10 /* a client that stalls is dropped */

static const char page[] = "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                           "hello from event_loop_server\n";

typedef struct {
    int fd;          /* -1: free slot */
    iotls_conn *c;   /* in mem */
    void *mem;       /* iotls_conn_size() bytes, the connection's all */
    time_t started;  /* for the handshake timeout */
    size_t req_seen; /* "\r\n\r\n" bytes matched so far */
    int requested;   /* request bytes came: an exchange is open */
    int closing;     /* our last bytes are queued: close once sent */
} slot;

static volatile sig_atomic_t stopping;
static void on_signal(int sig)
{
    stopping = sig;
}

static void drop(slot *s)
{
    iotls_conn_free(s->c); /* wipes the keys */
    close(s->fd);
    s->fd = -1;
}

/* Decrypted request bytes: answer once the blank line ending the head has
 * come (the request itself does not matter here). */
static void serve(slot *s)
{
    uint8_t buf[512];
    size_t n = 0;
    int rc;
    while ((rc = iotls_conn_read(s->c, buf, sizeof buf, &n)) == IOTLS_OK && n > 0)
        for (size_t i = 0; i < n && !s->closing; i++) {
            s->requested = 1;
            s->req_seen = buf[i] == "\r\n\r\n"[s->req_seen] ? s->req_seen + 1 : buf[i] == '\r';
            if (s->req_seen == 4) { /* the page fits the output buffer */
                size_t taken = 0;
                iotls_conn_write(s->c, (const uint8_t *)page, sizeof page - 1, &taken);
                iotls_conn_close(s->c);
                s->closing = 1;
            }
        }
    if (rc != IOTLS_WANT_READ && !s->closing) {
        iotls_conn_close(s->c); /* the peer's close_notify, or an error's alert */
        s->closing = 1;
    }
}

/* One turn of a connection: received bytes into the engine (no copy: into
 * its record buffer), its output onto the socket. */
static void turn(slot *s)
{
    size_t cap = 0;
    uint8_t *space;
    while (!s->closing && (space = iotls_conn_input_space(s->c, &cap)) != NULL) {
        ssize_t r = recv(s->fd, space, cap, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            break;
        if (r <= 0) {
            drop(s); /* gone without close_notify */
            return;
        }
        if (iotls_conn_input_commit(s->c, (size_t)r) < 0 && iotls_conn_error(s->c))
            s->closing = 1; /* fatal: the engine queued the alert */
    }
    if (!s->closing && iotls_conn_handshake_done(s->c))
        serve(s);
    size_t len = 0;
    const uint8_t *out;
    while ((out = iotls_conn_output(s->c, &len)) != NULL && len > 0) {
        ssize_t w = send(s->fd, out, len, MSG_NOSIGNAL);
        if (w <= 0) {
            if (errno != EAGAIN && errno != EINTR)
                drop(s);
            return;
        }
        iotls_conn_output_consume(s->c, (size_t)w);
    }
    if (s->closing) /* everything is out */
        drop(s);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: event_loop_server PORT CERT_FILE KEY_FILE\n");
        return 2;
    }
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL || iotls_config_set_cert_file(cfg, argv[2], argv[3]) != IOTLS_OK) {
        fprintf(stderr, "event_loop_server: cannot load %s / %s\n", argv[2], argv[3]);
        return 1;
    }
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(lfd, 128) != 0) {
        perror("event_loop_server: listen");
        return 1;
    }
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal}; /* no SA_RESTART: poll returns */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* All the connections' memory up front: none runs short mid-handshake. */
    size_t mem_len = iotls_conn_size(cfg);
    static slot slots[MAX_CONNS];
    for (int i = 0; i < MAX_CONNS; i++)
        if ((slots[i].fd = -1) && (slots[i].mem = malloc(mem_len)) == NULL)
            return 1;
    fprintf(stderr, "event_loop_server: %zu bytes per connection, up to %d\n", mem_len, MAX_CONNS);

    for (;;) {
        struct pollfd p[MAX_CONNS + 1];
        int open = 0;
        for (int i = 0; i < MAX_CONNS; i++) {
            size_t len = 0, cap = 0;
            slot *s = &slots[i];
            p[i].fd = s->fd; /* negative: poll skips it */
            p[i].events = p[i].revents = 0;
            if (s->fd < 0)
                continue;
            open++;
            int done = iotls_conn_handshake_done(s->c);
            if (!done && time(NULL) - s->started > HANDSHAKE_SECONDS) {
                drop(s); /* stalled in the handshake */
                p[i].fd = -1;
                continue;
            }
            if (stopping && done && !s->requested && !s->closing) {
                iotls_conn_close(s->c); /* idle: nothing left to finish */
                s->closing = 1;
            }
            if (iotls_conn_output(s->c, &len) && len > 0)
                p[i].events |= POLLOUT;
            if (iotls_conn_input_space(s->c, &cap))
                p[i].events |= POLLIN;
        }
        if (stopping && lfd >= 0) {
            close(lfd); /* new connections are refused from now on */
            lfd = -1;
        }
        if (stopping && open == 0)
            break; /* every open exchange is finished */
        p[MAX_CONNS].fd = open < MAX_CONNS ? lfd : -1;
        p[MAX_CONNS].events = POLLIN;
        p[MAX_CONNS].revents = 0;
        if (poll(p, MAX_CONNS + 1, 1000) <= 0)
            continue; /* timeout, or a signal: look again */
        for (int i = 0; i < MAX_CONNS; i++)
            if (slots[i].fd >= 0 && p[i].revents)
                turn(&slots[i]);
        int fd = p[MAX_CONNS].revents ? accept(lfd, NULL, NULL) : -1, i = 0;
        while (fd >= 0 && slots[i].fd >= 0) /* one is free: the listener is polled only then */
            i++;
        if (fd >= 0) {
            slot *s = &slots[i];
            fcntl(fd, F_SETFL, O_NONBLOCK);
            *s = (slot){.fd = fd, .mem = s->mem, .started = time(NULL)};
            if ((s->c = iotls_conn_init(s->mem, mem_len, cfg, IOTLS_ROLE_SERVER, NULL)) == NULL)
                drop(s);
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        free(slots[i].mem);
    iotls_config_free(cfg);
    return 0;
}
