/* A validated session blob referenced in place (client resumption): the
 * small fields and the PSK are copied out, the ticket and the server name
 * stay in the caller's blob, so a connection does not carry a copy of the
 * largest ticket it might ever be handed (iotls_session is 4.4 KB). */
#ifndef IOTLS_SESSION_REF_H
#define IOTLS_SESSION_REF_H

#include <stddef.h>
#include <stdint.h>

#include "iotls/session.h"

typedef struct {
    uint16_t suite;
    uint32_t lifetime; /* seconds */
    uint32_t age_add;
    uint64_t received_ms;
    uint32_t max_early_data;
    uint8_t psk[IOTLS_SESSION_MAX_PSK];
    size_t psk_len;
    const uint8_t *ticket; /* inside the blob */
    size_t ticket_len;
    const uint8_t *server_name; /* inside the blob, not NUL-ended */
    size_t server_name_len;
} iotls_session_ref;

/* The longest ticket a client with cfg offers: its ClientHello is one
 * handshake message, and max_handshake bounds those in and out (a device
 * configured for small ones keeps a small ClientHello room), and at most
 * IOTLS_SESSION_MAX_TICKET. A longer one is SESSION_INVALID for it. */
size_t iotls__session_ticket_room(const iotls_config *cfg);

/* Checks the trailer (SHA-256, or HMAC-SHA256 under key) and the fields of
 * blob and references them. SESSION_INVALID / SESSION_EXPIRED (at now_ms;
 * 0: not checked) as iotls_session_load_keyed; r is wiped on failure. */
int iotls__session_ref_parse(iotls_session_ref *r, const uint8_t *key, size_t key_len,
                             const uint8_t *blob, size_t len, uint64_t now_ms);

#endif
