/* In-memory transport between two engines (see mem.h). The bytes are fed
 * from one engine's output buffer straight into the other's input; what
 * the receiver does not take stays queued in the sender's output, so no
 * buffer of our own is needed (except a scratch copy when a tap may
 * change the bytes). */
#include "io/mem.h"

#include <string.h>

#include "iotls/engine.h"
#include "iotls/error.h"

#define DEFAULT_MAX_STEPS 10000

void iotls__mem_opts_init(iotls_mem_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->failed_side = -1;
}

/* Moves from's pending output into to until it is drained or to takes no
 * more. */
static int deliver(iotls_conn *from, iotls_conn *to, iotls_mem_opts *o, int dir, size_t *moved)
{
    uint8_t scratch[4096];
    uint64_t *stream_pos = dir == IOTLS_MEM_TO_SERVER ? &o->bytes_to_server : &o->bytes_to_client;
    for (;;) {
        size_t n = 0;
        const uint8_t *p = iotls_conn_output(from, &n);
        if (p == NULL || n == 0)
            return IOTLS_OK;
        if (o->chunk != 0 && n > o->chunk)
            n = o->chunk;
        const uint8_t *in = p;
        if (o->tap != NULL) {
            if (n > sizeof scratch)
                n = sizeof scratch;
            memcpy(scratch, p, n);
            if (o->tap(o->tap_arg, dir, *stream_pos, scratch, n) != 0)
                return IOTLS_ERR_EOF;
            in = scratch;
        }
        size_t used = 0;
        int rc = iotls_conn_input(to, in, n, &used);
        if (used > n)
            used = n;
        iotls_conn_output_consume(from, used);
        *stream_pos += used;
        *moved += used;
        if (rc != IOTLS_OK)
            return rc;
        if (used == 0)
            return IOTLS_OK; /* the receiver is full: its application must read first */
    }
}

int iotls__mem_pair_step(iotls_conn *client, iotls_conn *server, iotls_mem_opts *opts,
                         size_t *moved)
{
    iotls_mem_opts local;
    if (opts == NULL) {
        iotls__mem_opts_init(&local);
        opts = &local;
    }
    size_t dummy = 0;
    if (moved == NULL)
        moved = &dummy;
    *moved = 0;
    if (client == NULL || server == NULL)
        return IOTLS_ERR_BAD_ARG;
    opts->steps++;

    int rc = deliver(client, server, opts, IOTLS_MEM_TO_SERVER, moved);
    if (rc != IOTLS_OK) {
        if (rc != IOTLS_ERR_EOF) {
            opts->failed_side = IOTLS_ROLE_SERVER;
            /* Let the client see the server's alert. */
            (void)deliver(server, client, opts, IOTLS_MEM_TO_CLIENT, moved);
        }
        return rc;
    }
    rc = deliver(server, client, opts, IOTLS_MEM_TO_CLIENT, moved);
    if (rc != IOTLS_OK) {
        if (rc != IOTLS_ERR_EOF) {
            opts->failed_side = IOTLS_ROLE_CLIENT;
            (void)deliver(client, server, opts, IOTLS_MEM_TO_SERVER, moved);
        }
        return rc;
    }
    return IOTLS_OK;
}

int iotls__mem_pair_run(iotls_conn *client, iotls_conn *server, iotls_mem_opts *opts)
{
    iotls_mem_opts local;
    if (opts == NULL) {
        iotls__mem_opts_init(&local);
        opts = &local;
    }
    if (client == NULL || server == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t max_steps = opts->max_steps ? opts->max_steps : DEFAULT_MAX_STEPS;
    for (size_t i = 0; i < max_steps; i++) {
        size_t moved = 0;
        int rc = iotls__mem_pair_step(client, server, opts, &moved);
        if (rc != IOTLS_OK)
            return rc;
        int done = iotls_conn_handshake_done(client) && iotls_conn_handshake_done(server);
        if (moved > 0)
            continue;
        if (done)
            return IOTLS_OK;
        /* Nothing moved and not done: an engine failed outside input (at
         * start), or both wait for each other. */
        int ce = iotls_conn_error(client), se = iotls_conn_error(server);
        if (ce != IOTLS_OK) {
            opts->failed_side = IOTLS_ROLE_CLIENT;
            return ce;
        }
        if (se != IOTLS_OK) {
            opts->failed_side = IOTLS_ROLE_SERVER;
            return se;
        }
        return IOTLS_ERR_BAD_STATE;
    }
    return IOTLS_ERR_TIMEOUT;
}
