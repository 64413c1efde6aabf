/* The event loop of `iotls server`: worker threads, each with its own
 * epoll set (poll where epoll is missing), driving non-blocking sans-I/O
 * engines (iotls/engine.h), one per connection. */
#ifndef IOTLS_APP_SERVER_LOOP_H
#define IOTLS_APP_SERVER_LOOP_H

#include <stdatomic.h>
#include <stdint.h>

#include "iotls/iotls.h"

typedef enum { SERVER_ECHO, SERVER_HTTP } server_mode;

typedef struct {
    const iotls_config *cfg;
    server_mode mode;
    int verbose;
    int once;                      /* serve one connection; exit with its result */
    int use_poll;                  /* poll(2) even where epoll exists */
    unsigned workers;              /* threads, each with its own event set */
    unsigned long max_connections; /* open at once; more are accepted and closed */
    uint32_t handshake_timeout_ms; /* handshake, and a send that makes no progress */
    uint32_t idle_timeout_ms;      /* established, nothing received or sent; 0 none */
} server_opts;

/* Set from the SIGINT/SIGTERM handler: stop accepting and drain. */
extern atomic_int server_stop_requested;

/* Serves *lfd (a listening socket) until stopped: then closes it (new
 * connections are refused), lets open exchanges finish, sends close_notify
 * and returns. Exit code (exit_codes.h): 0, or with once the connection's. */
int server_loop_run(const server_opts *o, int *lfd);

#endif
