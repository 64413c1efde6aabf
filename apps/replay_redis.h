/* 0-RTT anti-replay shared by a fleet of gateways through Redis
 * (`iotls server --replay-redis HOST:PORT`, docs/fleet.md). Built with
 * -DIOTLS_REDIS=ON (libhiredis); without it the option says so and fails. */
#ifndef IOTLS_APP_REPLAY_REDIS_H
#define IOTLS_APP_REPLAY_REDIS_H

#include "iotls/iotls.h"

/* Installs the shared store on cfg, after iotls_config_set_early_data:
 * sets the ticket-age window to REPLAY_REDIS_WINDOW_MS (W) and makes every
 * 0-RTT check a Redis SET key NX PX (2W + REPLAY_REDIS_SKEW_MS). Twice the
 * window because a copy of one ClientHello passes one gateway's age check
 * for up to 2W after its first use (docs/early-data.md); plus the skew
 * between the gateways' clocks, because the copy may go to a gateway whose
 * clock lags the first one's (docs/fleet.md). When Redis cannot be reached
 * or answers anything else, the check answers "seen": 0-RTT is refused
 * (the client falls back to 1-RTT), never accepted unchecked, and a line
 * on stderr says so (once per outage, and once when it is back). Prints
 * its own error and returns -1 on a bad HOST:PORT, a build without Redis,
 * or without early data (early_data_on 0); the store lives until the
 * process ends. */
#define REPLAY_REDIS_WINDOW_MS 10000u
/* The largest offset between two gateways' clocks that the guarantee covers. */
#define REPLAY_REDIS_SKEW_MS 10000u
int replay_redis_install(iotls_config *cfg, const char *host_port, int early_data_on);

#endif
