/* An in-memory transport between two engines, for tests and benchmarks:
 * what one connection queues for sending is fed straight into the other.
 * No sockets, no threads, fully deterministic (given a deterministic
 * random generator).
 *
 *   iotls_conn_start(client); iotls_conn_start(server);
 *   rc = iotls__mem_pair_run(client, server, NULL);  // both handshakes
 *   iotls_conn_write(client, ...); iotls__mem_pair_step(client, server, NULL, &moved);
 *   iotls_conn_read(server, ...);
 */
#ifndef IOTLS_IO_MEM_H
#define IOTLS_IO_MEM_H

#include <stddef.h>
#include <stdint.h>

#include "iotls/engine.h"

#define IOTLS_MEM_TO_SERVER 0 /* client -> server */
#define IOTLS_MEM_TO_CLIENT 1 /* server -> client */

/* Called with bytes in flight before the receiver sees them: may change
 * them in place (tamper tests). offset is the position of data[0] in that
 * direction's byte stream. Bytes the receiver does not take are offered
 * again (with the same offsets) on the next step, so a tap that decides by
 * offset is deterministic. Return non-zero to drop the connection: the
 * step then fails with IOTLS_ERR_EOF. */
typedef int (*iotls_mem_tap_fn)(void *arg, int dir, uint64_t offset, uint8_t *data, size_t len);

typedef struct {
    size_t chunk;         /* most bytes per iotls_conn_input call; 0: all at once */
    size_t max_steps;     /* run: give up after this many steps; 0: 10000 */
    iotls_mem_tap_fn tap; /* may be NULL */
    void *tap_arg;
    /* Filled in by step/run. */
    uint64_t bytes_to_server, bytes_to_client; /* delivered (taken by the receiver) */
    size_t steps;
    int failed_side; /* after a failure: IOTLS_ROLE_CLIENT / IOTLS_ROLE_SERVER, else -1 */
} iotls_mem_opts;

void iotls__mem_opts_init(iotls_mem_opts *opts);

/* One exchange: the client's pending output to the server, then the
 * server's to the client. *moved (may be NULL) receives the number of
 * bytes delivered. Returns IOTLS_OK, or the first error an engine
 * reported while taking input (the alert it queued is delivered to the
 * other side before returning, so that side can see it). opts may be NULL. */
int iotls__mem_pair_step(iotls_conn *client, iotls_conn *server, iotls_mem_opts *opts,
                         size_t *moved);

/* Steps until both handshakes are complete and nothing is in flight, or an
 * engine fails (its error is returned). Both connections must have been
 * started (iotls_conn_start). IOTLS_ERR_BAD_STATE when nothing moves
 * before the handshakes are done (a stall), IOTLS_ERR_TIMEOUT after
 * max_steps. opts may be NULL. */
int iotls__mem_pair_run(iotls_conn *client, iotls_conn *server, iotls_mem_opts *opts);

#endif
