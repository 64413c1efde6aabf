#include "server_pool.h"

#include <stdlib.h>
#include <string.h>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

/* Free blocks a worker keeps at most. Blocks are allocated when a
 * connection needs one and none is free, so the pool grows to the number
 * of connections busy at once; given back, a block beyond this many is
 * freed at once, and the ones kept are trimmed once they go unused
 * (pool_trim). */
#define POOL_KEEP 64
#define TRIM_EVERY_MS 1000

/* A free block: its first bytes link it into the pool. */
struct pool_block {
    pool_block *next;
};

void pool_init(buf_pool *p, size_t block_len)
{
    memset(p, 0, sizeof *p);
    p->block_len = block_len;
}

void *pool_take(buf_pool *p)
{
    pool_block *b = p->head;
    if (b != NULL) {
        p->head = b->next;
        p->free--;
        if (p->free < p->low)
            p->low = p->free;
        b->next = NULL; /* zeros again, as the engine left it */
        return b;
    }
    void *fresh = aligned_alloc(16, p->block_len);
    if (fresh != NULL)
        memset(fresh, 0, p->block_len);
    return fresh;
}

/* Blocks freed here lie inside the heap (a block of about 49 KiB is
 * under glibc's mmap threshold), where free() keeps their pages resident;
 * malloc_trim gives the whole free pages back. */
static void give_back_pages(void)
{
#if defined(__GLIBC__)
    (void)malloc_trim(0);
#endif
}

void pool_put(buf_pool *p, void *block)
{
    if (p->free >= POOL_KEEP) {
        free(block);
        p->freed++;
        return;
    }
    pool_block *b = block;
    b->next = p->head;
    p->head = b;
    p->free++;
}

void pool_trim(buf_pool *p, int64_t now_ms)
{
    if (now_ms < p->next_trim)
        return;
    p->next_trim = now_ms + TRIM_EVERY_MS;
    size_t drop = (p->low + 1) / 2;
    for (size_t i = 0; i < drop && p->head != NULL; i++) { /* the oldest free are deepest */
        pool_block *b = p->head;
        p->head = b->next;
        p->free--;
        free(b);
    }
    if (drop > 0 || p->freed > 0)
        give_back_pages();
    p->freed = 0;
    p->low = p->free;
}

void pool_drop(buf_pool *p)
{
    while (p->head != NULL) {
        pool_block *b = p->head;
        p->head = b->next;
        free(b);
    }
    p->free = 0;
    p->low = 0;
}
