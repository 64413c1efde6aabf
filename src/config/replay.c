/* The default 0-RTT anti-replay store (RFC 8446 8.1, "single-use" by
 * ClientHello recording): the key of every ClientHello whose early data
 * passed the other checks (the engine passes SHA-256 of its PSK identity,
 * the ticket), for as long as the ticket-age check lets a copy of that
 * ClientHello be accepted again.
 *
 * That is twice the window W, not W: the server accepts a claimed ticket
 * age a while its own view of the age is within a - W .. a + W, so copies
 * of one ClientHello (same a) pass during a 2W span of server time. The
 * first use may fall at the very start of that span (a client whose clock
 * runs ahead, ages counted in whole seconds, RTC drift across deep sleep),
 * and a copy then still passes until 2W later. Both times are read from
 * the server's clock (iotls__config_now_ms), so a step of that clock moves
 * both alike.
 *
 * A fixed ring of entries under a mutex: no allocation after creation.
 * An entry older than 2W is free. When every entry is younger than that
 * the store cannot tell, and answers "seen" (0-RTT refused, the data is
 * then sent again after the handshake): a flood costs 0-RTT, never safety.
 *
 * Its limit: the record is in this process only. Several server processes
 * (or machines) behind one address, or a restart within 2W, let a captured
 * ClientHello be accepted once per process: they need a shared store,
 * installed with iotls_config_set_early_data_replay. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"

#define HASH_LEN 32

typedef struct {
    uint8_t hash[HASH_LEN];
    uint64_t at_ms;
    int used;
} replay_entry;

struct iotls_replay_store {
    pthread_mutex_t lock;
    uint64_t retain_ms; /* twice the ticket-age window */
    size_t count;
    size_t next; /* ring position of the next insertion */
    replay_entry entries[];
};

iotls_replay_store *iotls__replay_store_new(size_t entries, uint32_t window_ms)
{
    if (entries == 0 || entries > (1u << 20))
        return NULL;
    iotls_replay_store *st = calloc(1, sizeof *st + entries * sizeof(replay_entry));
    if (!st)
        return NULL;
    if (pthread_mutex_init(&st->lock, NULL) != 0) {
        free(st);
        return NULL;
    }
    st->count = entries;
    st->retain_ms = 2u * (uint64_t)window_ms;
    return st;
}

void iotls__replay_store_free(iotls_replay_store *st)
{
    if (!st)
        return;
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static int expired(const iotls_replay_store *st, const replay_entry *e, uint64_t now_ms)
{
    /* A clock that went backwards keeps the entry: safer to refuse. */
    return !e->used || (now_ms >= e->at_ms && now_ms - e->at_ms > st->retain_ms);
}

int iotls__replay_store_check(void *arg, const uint8_t *hash, size_t len, uint64_t now_ms)
{
    iotls_replay_store *st = arg;
    if (!st || !hash || len == 0)
        return 1;
    uint8_t key[HASH_LEN];
    memset(key, 0, sizeof key);
    memcpy(key, hash, len < HASH_LEN ? len : HASH_LEN);
    int seen = 0;
    pthread_mutex_lock(&st->lock);
    replay_entry *slot = NULL;
    for (size_t i = 0; i < st->count; i++) {
        replay_entry *e = &st->entries[i];
        if (expired(st, e, now_ms)) {
            if (!slot)
                slot = e;
            continue;
        }
        if (memcmp(e->hash, key, HASH_LEN) == 0)
            seen = 1;
    }
    if (!seen) {
        if (!slot) {
            /* Full of live entries: cannot remember this one, so refuse. */
            seen = 1;
        } else {
            memcpy(slot->hash, key, HASH_LEN);
            slot->at_ms = now_ms;
            slot->used = 1;
            st->next = (size_t)(slot - st->entries) + 1;
        }
    }
    pthread_mutex_unlock(&st->lock);
    return seen;
}
