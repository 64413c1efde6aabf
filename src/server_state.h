/* Server handshake state, embedded in struct iotls_conn (owned by server.c).
 * A zero-filled struct is the initial state: waiting for a ClientHello. */
#ifndef IOTLS_SERVER_STATE_H
#define IOTLS_SERVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* Where the server handshake stands: the one message each state accepts is
 * named after "WAIT_" (the diagram is at the top of server.c). */
enum iotls_server_hs_state {
    IOTLS_SV_WAIT_CH = 0,   /* first ClientHello */
    IOTLS_SV_WAIT_CH2,      /* second ClientHello, after our HelloRetryRequest */
    IOTLS_SV_FLIGHT_REST,   /* ServerHello and EncryptedExtensions written: the rest of
                             * our flight goes out as soon as the ClientHello's handler
                             * returns (server.c, send_flight_rest); accepts nothing */
    IOTLS_SV_WAIT_EOED,     /* 0-RTT accepted: EndOfEarlyData (under the early keys) */
    IOTLS_SV_WAIT_CERT,     /* client Certificate (we sent CertificateRequest) */
    IOTLS_SV_WAIT_CV,       /* client CertificateVerify */
    IOTLS_SV_WAIT_FINISHED, /* client Finished */
    IOTLS_SV_DONE,          /* handshake complete */
    IOTLS_SV_FAILED,        /* a fatal error happened: nothing more is accepted */
};

#define IOTLS_COOKIE_KEY_LEN 32

struct iotls_server_state {
    int state; /* enum iotls_server_hs_state */

    bool cert_requested; /* we sent a CertificateRequest */
    bool sni_done;       /* the SNI callback ran (it runs once per handshake) */
    bool sni_ack;        /* acknowledge server_name in EncryptedExtensions */

    /* Per-connection cookie key, used when the config has none. */
    bool own_cookie_key;
    uint8_t cookie_key[IOTLS_COOKIE_KEY_LEN];

    /* 0-RTT accepted: Hash(ClientHello) for client_early_traffic_secret,
     * kept until the key schedule restarts with the PSK. */
    bool early_accepted;
    uint8_t ch_hash[IOTLS_MAX_HASH_LEN];

    /* Our ephemeral key share: alive only between ServerHello and the
     * shared-secret computation right after it. */
    bool kex_active;
    iotls_kex_ctx kex;
};

#endif
