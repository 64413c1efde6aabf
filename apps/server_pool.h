/* A worker's pool of engine buffer blocks (`iotls server`): the record and
 * handshake buffers (iotls_conn_buffers_size, about 49 KiB at the default
 * record size) a connection takes for its turn and gives back when its
 * engine is idle. One per worker thread, so no locking. */
#ifndef IOTLS_APP_SERVER_POOL_H
#define IOTLS_APP_SERVER_POOL_H

#include <stddef.h>
#include <stdint.h>

typedef struct pool_block pool_block;

typedef struct {
    size_t block_len;  /* bytes per block, a multiple of 16 */
    pool_block *head;  /* free blocks */
    size_t free;       /* how many */
    size_t low;        /* the fewest free since the last trim: blocks nobody needed */
    size_t freed;      /* blocks freed by pool_put since the last trim */
    int64_t next_trim; /* ms (CLOCK_MONOTONIC), 0 before the first */
} buf_pool;

void pool_init(buf_pool *p, size_t block_len);
/* A block holding zeros (the engine wipes what it wrote before giving one
 * back): a free one, else a new one. NULL without memory. */
void *pool_take(buf_pool *p);
/* A block back (wiped by the engine), or freed beyond POOL_KEEP. */
void pool_put(buf_pool *p, void *block);
/* Called often (each loop turn): once a second, frees half of the blocks
 * that stayed free all that second, so the peak of a burst goes back to
 * the system within seconds of its end while a steady load keeps the
 * blocks it keeps using. */
void pool_trim(buf_pool *p, int64_t now_ms);
/* Frees every free block. */
void pool_drop(buf_pool *p);

#endif
