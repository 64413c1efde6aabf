/* `iotls server --replay-redis HOST:PORT`: the 0-RTT anti-replay callback
 * (iotls_config_set_early_data_replay) backed by one Redis server that
 * every gateway of a fleet shares, so a ClientHello replayed to another
 * gateway is refused as it is by the one that saw it (docs/fleet.md).
 *
 * The check is one atomic command, SET iotls:0rtt:<hex key> 1 NX PX <2W+S>
 * (S: the gateways' clock skew allowance): "OK" means the key was new
 * (0-RTT may go on), nil that some gateway stored it within that time. Everything else - no
 * connection, a timeout, an error reply - refuses the 0-RTT: a store that cannot answer must never
 * let early data in unchecked. */
#include "replay_redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef IOTLS_REDIS
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <time.h>

/* A handshake thread waits at most this long for Redis (connect or
 * command); while Redis is down, a reconnect is tried at most once per
 * RETRY_MS, the handshakes in between refuse 0-RTT at once. */
#define REDIS_TIMEOUT_MS 200
#define RETRY_MS 1000
#define KEY_PREFIX "iotls:0rtt:"

typedef struct {
    char host[256];
    int port;
    pthread_mutex_t lock; /* the handshake threads share one connection */
    redisContext *redis;
    int down;             /* an outage was reported (log once) */
    uint64_t next_try_ms; /* no reconnect before (monotonic) */
} redis_store;

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void report_down(redis_store *st, const char *why)
{
    if (!st->down)
        fprintf(stderr,
                "iotls: replay-redis %s:%d unreachable (%s): refusing 0-RTT (1-RTT only) "
                "until it answers\n",
                st->host, st->port, why);
    st->down = 1;
}

/* Called with st->lock held: a usable connection, or NULL. */
static redisContext *store_connect(redis_store *st)
{
    if (st->redis)
        return st->redis;
    uint64_t now = mono_ms();
    if (st->down && now < st->next_try_ms)
        return NULL;
    st->next_try_ms = now + RETRY_MS;
    struct timeval tv = {0, REDIS_TIMEOUT_MS * 1000};
    redisContext *r = redisConnectWithTimeout(st->host, st->port, tv);
    if (r == NULL || r->err) {
        report_down(st, r ? r->errstr : "out of memory");
        if (r)
            redisFree(r);
        return NULL;
    }
    if (redisSetTimeout(r, tv) != REDIS_OK) {
        report_down(st, "cannot set a timeout");
        redisFree(r);
        return NULL;
    }
    st->redis = r;
    return r;
}

static int redis_replay_check(void *arg, const uint8_t *key, size_t len, uint64_t now_ms)
{
    (void)now_ms; /* the expiry runs on Redis' clock: PX is a duration */
    redis_store *st = arg;
    char name[sizeof KEY_PREFIX + 2 * 64];
    static const char hex[] = "0123456789abcdef";
    if (len == 0 || len > 64)
        return 1;
    memcpy(name, KEY_PREFIX, sizeof KEY_PREFIX - 1);
    char *p = name + sizeof KEY_PREFIX - 1;
    for (size_t i = 0; i < len; i++) {
        *p++ = hex[key[i] >> 4];
        *p++ = hex[key[i] & 15];
    }
    *p = 0;

    int seen = 1; /* anything but a clear "new" refuses the 0-RTT */
    pthread_mutex_lock(&st->lock);
    redisContext *r = store_connect(st);
    if (r) {
        redisReply *reply = redisCommand(r, "SET %s 1 NX PX %u", name,
                                         2u * REPLAY_REDIS_WINDOW_MS + REPLAY_REDIS_SKEW_MS);
        if (reply == NULL) {
            /* Connection lost or timed out: the context is unusable. */
            report_down(st, r->errstr[0] ? r->errstr : "no reply");
            redisFree(r);
            st->redis = NULL;
        } else {
            if (reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "OK") == 0)
                seen = 0;
            else if (reply->type == REDIS_REPLY_NIL)
                seen = 1;
            else
                report_down(st, reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
            if (reply->type == REDIS_REPLY_STATUS || reply->type == REDIS_REPLY_NIL) {
                if (st->down)
                    fprintf(stderr, "iotls: replay-redis %s:%d answers again: 0-RTT checked\n",
                            st->host, st->port);
                st->down = 0;
            }
            freeReplyObject(reply);
        }
    }
    pthread_mutex_unlock(&st->lock);
    return seen;
}

int replay_redis_install(iotls_config *cfg, const char *host_port, int early_data_on)
{
    if (!early_data_on) {
        fprintf(stderr, "iotls: --replay-redis needs --early-data\n");
        return -1;
    }
    const char *colon = strrchr(host_port, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    size_t hl = colon ? (size_t)(colon - host_port) : 0;
    redis_store *st = calloc(1, sizeof *st);
    if (!colon || hl == 0 || hl >= sizeof st->host || !end || *end || port < 1 || port > 65535) {
        fprintf(stderr, "iotls: --replay-redis %s: want HOST:PORT\n", host_port);
        free(st);
        return -1;
    }
    memcpy(st->host, host_port, hl);
    st->host[hl] = 0;
    st->port = (int)port;
    pthread_mutex_init(&st->lock, NULL);
    /* The window the Redis expiry (2W) is computed from, set explicitly so
     * the two cannot drift apart; the store it allocates is replaced below. */
    int rc = iotls_config_set_early_data_window(cfg, REPLAY_REDIS_WINDOW_MS, 1);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: --replay-redis: %s\n", iotls_error_string(rc));
        free(st);
        return -1;
    }
    iotls_config_set_early_data_replay(cfg, redis_replay_check, st);
    /* Say now whether Redis answers (the first handshake would anyway). */
    pthread_mutex_lock(&st->lock);
    if (store_connect(st))
        fprintf(stderr, "iotls: replay-redis %s:%d: 0-RTT anti-replay shared through Redis\n",
                st->host, st->port);
    pthread_mutex_unlock(&st->lock);
    return 0; /* st lives as long as cfg, i.e. the process */
}

#else

int replay_redis_install(iotls_config *cfg, const char *host_port, int early_data_on)
{
    (void)cfg;
    (void)early_data_on;
    fprintf(stderr,
            "iotls: --replay-redis %s: this iotls was built without Redis support "
            "(configure with -DIOTLS_REDIS=ON, needs libhiredis-dev)\n",
            host_port);
    return -1;
}

#endif
