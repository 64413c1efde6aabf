/* A resumable session on the client: one NewSessionTicket with what is
 * needed to offer it again (RFC 8446 4.6.1, 4.2.11), and its compact,
 * versioned serialisation for storage between runs (e.g. in flash):
 *
 *   "IOTS" | version 1 | suite(2) | lifetime(4) | age_add(4) |
 *   received_ms(8) | max_early_data(4) | psk<1> | ticket<2> | server_name<1> |
 *   SHA-256 of everything before it (32)
 *
 * The digest only catches damage (a truncated write, bit rot); with a device
 * key (the *_keyed variants) the trailer is HMAC-SHA256 instead, so a blob
 * written by someone without the key is refused. Either way the blob holds
 * the resumption PSK in the clear and must be stored like a key. */
#ifndef IOTLS_SESSION_H
#define IOTLS_SESSION_H

#include "iotls/api.h"

#include <stddef.h>
#include <stdint.h>

#include "iotls/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Size: the blob is 63 bytes plus the PSK (32 or 48), the ticket and the
 * server name. Measured for an ECDHE session of a SHA-256 suite with
 * server name "localhost": 238 bytes with an iotls server's ticket
 * (2026-12-05; 314 when the ticket carries a client certificate's
 * identity, 34 bytes plus its 42-character subject), 296 with an OpenSSL
 * 3.0 s_server's (2026-11-28); test_session checks < 512 for ours.
 * IOTLS_SESSION_MAX_BLOB is the worst case (long ticket and name). */
/* The largest ticket kept. A ticket is the server's own sealed state, and
 * servers that put the client's certificate in it send large ones.
 * Measured 2026-12-05 with a client certificate from an intermediate CA:
 * OpenSSL 3.0 s_server -Verify sends 1,296 B for an RSA-2048 leaf (1,089
 * B) and 1,568 B for an RSA-4096 one (1,345 B): the leaf only; GnuTLS 3.7
 * gnutls-serv --require-client-cert 3,046 B for the RSA-4096 leaf and its
 * RSA-4096 intermediate: the whole chain. Mbed TLS stores the leaf only,
 * as OpenSSL (its session format). 4,096 B takes all of them and stays
 * bounded. A client offers a ticket up to its max_handshake size (the
 * ClientHello is one handshake message; a longer one is
 * IOTLS_ERR_SESSION_INVALID), and one without a certificate reserves that
 * much in its ClientHello room (docs/memory.md). */
#define IOTLS_SESSION_MAX_TICKET 4096
#define IOTLS_SESSION_MAX_PSK 48
#define IOTLS_SESSION_MAX_NAME 255
/* Largest blob iotls_session_save writes. */
#define IOTLS_SESSION_MAX_BLOB                                                                     \
    (4 + 1 + 2 + 4 + 4 + 8 + 4 + 1 + IOTLS_SESSION_MAX_PSK + 2 + IOTLS_SESSION_MAX_TICKET + 1 +    \
     IOTLS_SESSION_MAX_NAME + 32)

typedef struct {
    uint16_t suite;
    uint32_t lifetime; /* seconds */
    uint32_t age_add;
    uint64_t received_ms;
    uint32_t max_early_data;
    uint8_t psk[IOTLS_SESSION_MAX_PSK];
    size_t psk_len;
    uint8_t ticket[IOTLS_SESSION_MAX_TICKET];
    size_t ticket_len;
    char server_name[IOTLS_SESSION_MAX_NAME + 1];
} iotls_session;

/* Copies a ticket handed to the ticket callback. IOTLS_ERR_BAD_ARG when it
 * does not fit (ticket over IOTLS_SESSION_MAX_TICKET bytes). */
IOTLS_API int iotls_session_from_ticket(iotls_session *s, const iotls_ticket *t);
IOTLS_API int iotls_session_save(const iotls_session *s, uint8_t *out, size_t cap, size_t *len);
/* Parses a blob: IOTLS_ERR_SESSION_INVALID when damaged, truncated, of
 * another version or inconsistent; IOTLS_ERR_SESSION_EXPIRED when its
 * lifetime has passed at now_ms (0: expiry not checked). */
IOTLS_API int iotls_session_load(iotls_session *s, const uint8_t *blob, size_t len,
                                 uint64_t now_ms);
/* The same with an HMAC-SHA256 trailer under key (NULL/0: plain SHA-256). */
IOTLS_API int iotls_session_save_keyed(const iotls_session *s, const uint8_t *key, size_t key_len,
                                       uint8_t *out, size_t cap, size_t *len);
IOTLS_API int iotls_session_load_keyed(iotls_session *s, const uint8_t *key, size_t key_len,
                                       const uint8_t *blob, size_t len, uint64_t now_ms);
/* 1 when the lifetime has passed at now_ms. */
IOTLS_API int iotls_session_expired(const iotls_session *s, uint64_t now_ms);
IOTLS_API void iotls_session_wipe(iotls_session *s);

#ifdef __cplusplus
}
#endif
#endif
