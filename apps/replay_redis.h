/* 0-RTT anti-replay shared by a fleet of gateways through Redis
 * (`iotls server --replay-redis HOST:PORT`, docs/fleet.md). Built with
 * -DIOTLS_REDIS=ON (libhiredis); without it the option says so and fails. */
#ifndef IOTLS_APP_REPLAY_REDIS_H
#define IOTLS_APP_REPLAY_REDIS_H

#include "iotls/iotls.h"

/* Installs the shared store on cfg, after iotls_config_set_early_data:
 * sets the ticket-age window to REPLAY_REDIS_WINDOW_MS and makes every
 * 0-RTT check a Redis SET key NX PX 2*window. When Redis cannot be reached
 * or answers anything else, the check answers "seen": 0-RTT is refused
 * (the client falls back to 1-RTT), never accepted unchecked, and a line
 * on stderr says so (once per outage, and once when it is back). Prints
 * its own error and returns -1 on a bad HOST:PORT or a build without
 * Redis, or without early data (early_data_on 0); the store lives until
 * the process ends. */
#define REPLAY_REDIS_WINDOW_MS 10000u
int replay_redis_install(iotls_config *cfg, const char *host_port, int early_data_on);

#endif
