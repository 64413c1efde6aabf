/* The device profile `iotls demo` runs, and its RAM budget: the one place
 * these numbers live. README.md ("Footprint") and docs/memory.md state the
 * same budget; tests/interop/demo_budget.sh runs the demo, compares the
 * device's measured peak with the budget the demo prints from here, and
 * checks that the README states that budget too. */
#ifndef IOTLS_DEVICE_PROFILE_H
#define IOTLS_DEVICE_PROFILE_H

/* Record plaintext the device receives and sends: announced with
 * record_size_limit (and max_fragment_length, for servers that know only
 * that), so its receive buffer is 2 KiB instead of 16 KiB. */
#define DEVICE_RECORD_SIZE 2048

/* Largest handshake message: the gateway's Certificate message (one P-256
 * certificate, about 0.5 KiB) fits, with room for a longer name or key. */
#define DEVICE_MAX_HANDSHAKE 1024

/* A handshake message spanning records is reassembled in the receive
 * buffer (iotls_config_set_reassemble_in_place): no buffer of
 * DEVICE_MAX_HANDSHAKE bytes beside it. The gateway's flight (about 1 KiB)
 * fits one record of DEVICE_RECORD_SIZE, so no message spans records. */
#define DEVICE_REASSEMBLE_IN_PLACE 1

/* Peak heap of the device's connection thread from iotls_client_new to the
 * end of its HTTP exchange (engine block, blocking API, crypto library;
 * not the configuration, parsed once at boot), in KiB of 1024 bytes: the
 * full handshake (mutual TLS: the device's own certificate, ECDSA P-256,
 * x25519) and the resumed one (the ticket from a session blob, psk_dhe_ke,
 * the request as 0-RTT data). It holds for mbedTLS, the library a device
 * runs, 2.28 and 3.6 alike (docs/memory.md has both measurements); the
 * OpenSSL provider is the gateway's and needs more. */
#define DEVICE_BUDGET_FULL_KIB 18
#define DEVICE_BUDGET_RESUMED_KIB 13

#endif
