/* event_loop_client: the sans-I/O engine (iotls/engine.h) in a poll() loop,
 * the shape an RTOS task or an event loop gives it. Nothing here blocks:
 * the socket is non-blocking from the start (even connect), and the loop
 * only moves bytes between the socket and the engine when poll() says so.
 *
 *   event_loop_client IP PORT SERVER_NAME CA_FILE [PATH]
 *
 * Sends "GET PATH HTTP/1.0" (PATH defaults to /) and prints the response
 * until the server closes. IP is numeric: a name lookup would block (use
 * your platform's asynchronous resolver first). SERVER_NAME is sent as SNI
 * and checked against the server's certificate, which CA_FILE verifies.
 *
 * Build: cc event_loop_client.c $(pkg-config --cflags --libs iotls) -o event_loop_client */
#define _POSIX_C_SOURCE 200809L
#include <iotls/engine.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Starts a non-blocking connect; poll() reports it done (POLLOUT). */
static int start_connect(const char *ip, const char *port)
{
    struct addrinfo hints = {0}, *ai = NULL;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
    if (getaddrinfo(ip, port, &hints, &ai) != 0)
        return -1;
    int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
    if (fd >= 0 && (fcntl(fd, F_SETFL, O_NONBLOCK) != 0 ||
                    (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS))) {
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* Application data the engine has decrypted: print it. 1 once the server
 * sent close_notify, -1 on error, 0 otherwise. */
static int drain_app_data(iotls_conn *c)
{
    uint8_t buf[1024];
    for (;;) {
        size_t n = 0;
        int rc = iotls_conn_read(c, buf, sizeof buf, &n);
        if (rc == IOTLS_WANT_READ)
            return 0;
        if (rc == IOTLS_OK && n == 0)
            return 1; /* the end of the stream: close_notify */
        if (rc != IOTLS_OK)
            return -1;
        fwrite(buf, 1, n, stdout);
    }
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6) {
        fprintf(stderr, "usage: event_loop_client IP PORT SERVER_NAME CA_FILE [PATH]\n");
        return 2;
    }
    char request[512];
    int req_len = snprintf(request, sizeof request, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n",
                           argc == 6 ? argv[5] : "/", argv[3]);
    if (req_len < 0 || (size_t)req_len >= sizeof request)
        return 2;

    int status = 1, connected = 0, closing = 0, peer_eof = 0, fd = -1;
    size_t req_off = 0; /* request bytes the engine has taken */
    void *mem = NULL;
    iotls_conn *c = NULL;
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL || iotls_config_set_ca_file(cfg, argv[4]) != IOTLS_OK) {
        fprintf(stderr, "event_loop_client: cannot load CA file %s\n", argv[4]);
        goto out;
    }
    /* All of the connection's memory, in one block the application owns
     * (static, or from a pool, on a device). */
    size_t mem_len = iotls_conn_size(cfg);
    mem = malloc(mem_len);
    c = mem ? iotls_conn_init(mem, mem_len, cfg, IOTLS_ROLE_CLIENT, argv[3]) : NULL;
    fd = c ? start_connect(argv[1], argv[2]) : -1;
    if (fd < 0 || iotls_conn_start(c) != IOTLS_OK) {
        fprintf(stderr, "event_loop_client: cannot start the connection\n");
        goto out;
    }
    fprintf(stderr, "event_loop_client: %zu bytes for the connection\n", mem_len);

    uint8_t in[2048];
    size_t in_len = 0, in_off = 0;
    for (;;) {
        size_t out_len = 0;
        const uint8_t *out = iotls_conn_output(c, &out_len);
        if (closing && out_len == 0)
            break; /* our last bytes (close_notify or an alert) are out */
        struct pollfd p = {.fd = fd, .events = 0, .revents = 0};
        if (!connected || out_len > 0)
            p.events |= POLLOUT;
        if (connected && in_off == in_len && !closing)
            p.events |= POLLIN;
        /* Nothing to wait for: received bytes are left to feed (the engine
         * paused for its application data, drained below). */
        int ready = p.events ? poll(&p, 1, 10000) : 1;
        if (ready <= 0) {
            fprintf(stderr, "event_loop_client: %s\n", ready == 0 ? "timed out" : "poll failed");
            break;
        }
        if (!connected) { /* the non-blocking connect has finished: how? */
            int err = 0;
            socklen_t len = sizeof err;
            if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
                fprintf(stderr, "event_loop_client: connect: %s\n", strerror(err));
                break;
            }
            connected = 1;
            continue;
        }
        if (p.revents & POLLOUT) {
            ssize_t n = send(fd, out, out_len, MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) {
                if (!closing) /* else the server is gone already: fine */
                    fprintf(stderr, "event_loop_client: send: %s\n", strerror(errno));
                break;
            }
            if (n > 0)
                iotls_conn_output_consume(c, (size_t)n);
        }
        if (in_off == in_len && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = recv(fd, in, sizeof in, 0);
            if (n > 0) {
                in_len = (size_t)n;
                in_off = 0;
            } else if (n == 0) {
                peer_eof = 1;
            } else if (errno != EAGAIN && errno != EINTR) {
                fprintf(stderr, "event_loop_client: recv: %s\n", strerror(errno));
                break;
            }
        }
        if (closing)
            continue;
        /* Feed what we received: the engine may take it in parts (pausing
         * while decrypted data is unread or its output is full). */
        int rc = IOTLS_OK, done = 0;
        while (rc == IOTLS_OK && !done && in_off < in_len) {
            size_t used = 0;
            rc = iotls_conn_input(c, in + in_off, in_len - in_off, &used);
            in_off += used;
            done = drain_app_data(c);
            if (used == 0)
                break;
        }
        if (rc == IOTLS_OK && !done)
            done = drain_app_data(c);
        if (rc != IOTLS_OK && rc != IOTLS_ERR_CLOSED) {
            /* Fatal: the engine queued the alert; send it, then stop. */
            fprintf(stderr, "event_loop_client: %s\n", iotls_error_string(rc));
            closing = 1;
            continue;
        }
        if (done < 0) {
            fprintf(stderr, "event_loop_client: %s\n", iotls_error_string(iotls_conn_error(c)));
            closing = 1;
        } else if (done > 0 || rc == IOTLS_ERR_CLOSED) {
            status = 0; /* the server ended the response with close_notify */
            iotls_conn_close(c);
            closing = 1;
        } else if (peer_eof) {
            fprintf(stderr, "event_loop_client: connection closed without close_notify\n");
            break;
        } else if (iotls_conn_handshake_done(c) && req_off < (size_t)req_len) {
            if (req_off == 0) {
                iotls_info info;
                iotls_conn_info(c, &info);
                fprintf(stderr, "event_loop_client: handshake done: %s %s, server %s verified\n",
                        info.cipher_suite_name, info.group_name, argv[3]);
            }
            /* Seals what fits in the output buffer (WANT_WRITE: none now). */
            size_t taken = 0;
            if (iotls_conn_write(c, (const uint8_t *)request + req_off, (size_t)req_len - req_off,
                                 &taken) == IOTLS_OK)
                req_off += taken;
        }
    }
out:
    if (fd >= 0)
        close(fd);
    iotls_conn_free(c); /* wipes the keys; NULL is fine */
    free(mem);
    iotls_config_free(cfg);
    return status;
}
