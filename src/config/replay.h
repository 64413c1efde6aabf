/* Default 0-RTT anti-replay store (src/config/replay.c), owned by a config. */
#ifndef IOTLS_CONFIG_REPLAY_H
#define IOTLS_CONFIG_REPLAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct iotls_replay_store iotls_replay_store;

/* window_ms is the ticket-age window; each entry is kept twice as long
 * (replay.c says why). */
iotls_replay_store *iotls__replay_store_new(size_t entries, uint32_t window_ms);
void iotls__replay_store_free(iotls_replay_store *st);
/* iotls_replay_fn: 1 seen (or no room to remember), 0 new (now remembered). */
int iotls__replay_store_check(void *arg, const uint8_t *hash, size_t len, uint64_t now_ms);

#endif
