/* A server's stateless session tickets (RFC 8446 4.6.1): what a ticket
 * holds, how it is sealed and opened, and the rotation of its keys. Used by
 * server.c only; nothing here keeps state between calls.
 *
 * Ticket:
 *   key_name(16) | nonce(12) | AES-256-GCM(key_i, nonce, aad = key_name,
 *     version(1) | suite(2) | psk<1> | age_add(4) | issued_ms(8) | lifetime(4) |
 *     SHA-256(server_name)(32) | max_early_data(4) | alpn<1> |
 *     client_auth(1) [| client_spki_sha256(32) | client_subject<1>]) | tag(16)
 * The server name is bound so that a ticket issued under one name (and,
 * with an SNI callback, one certificate) does not resume under another.
 * client_auth (0 or 1) says whether the client was authenticated by a
 * certificate in the handshake that issued the ticket (or carried into it
 * by the ticket it resumed with); its identity follows only when it was. A
 * server that requires client certificates does not resume a ticket
 * without it (another policy sharing the ticket key, or ours before it
 * changed, issued it): a full handshake asks for a certificate.
 *
 * Key rotation: the config's 48 bytes are a master secret; for the period
 * i = floor(now_ms / period_ms),
 *   key_i    = HKDF-Expand-SHA256(master, "iotls ticket key" || be64(i), 32)
 *   key_name = HKDF-Expand-SHA256(master, "iotls ticket name", 8) || be64(i)
 * A ticket is sealed under the current period's key and opens only in its
 * own period or the next one. Nothing is stored or updated: processes with
 * the same master and clock agree on every key, and the keys are derived
 * per ticket and wiped. */
#ifndef IOTLS_TICKET_H
#define IOTLS_TICKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"

#define IOTLS_TICKET_SNI_DIGEST_LEN 32
#define IOTLS_TICKET_PLAIN_MAX                                                                     \
    (1 + 2 + 1 + IOTLS_MAX_HASH_LEN + 4 + 8 + 4 + IOTLS_TICKET_SNI_DIGEST_LEN + 4 + 1 + 255 + 1 +  \
     32 + 1 + IOTLS_PEER_SUBJECT_MAX)
#define IOTLS_TICKET_MAX_LEN                                                                       \
    (16 + IOTLS_AEAD_NONCE_LEN + IOTLS_TICKET_PLAIN_MAX + IOTLS_AEAD_TAG_LEN)

/* What a ticket carries, in the clear (client identity apart). */
typedef struct {
    uint16_t suite;
    uint8_t psk[IOTLS_MAX_HASH_LEN];
    size_t psk_len;
    uint32_t age_add;
    uint64_t issued_ms;
    uint32_t lifetime;
    uint8_t sni_digest[IOTLS_TICKET_SNI_DIGEST_LEN];
    uint32_t max_early_data;
    char alpn[256];   /* NUL-ended */
    bool client_auth; /* the client identity (kept beside the ticket) is valid */
} iotls__ticket_body;

/* The lifetime we announce and enforce: at most one rotation period, so
 * that a ticket sealed in period i (accepted through i+1) never outlives
 * its key. */
uint32_t iotls__ticket_lifetime_s(const iotls_config *cfg);

/* Seals t (and client, the authenticated client's identity, NULL for none)
 * under the key of now's period into out (IOTLS_TICKET_MAX_LEN bytes). The
 * plaintext is written where its ciphertext goes and sealed in place: no
 * second buffer on the stack. */
int iotls__ticket_seal(const iotls_config *cfg, uint64_t now, const iotls__ticket_body *t,
                       const iotls_peer_id *client, uint8_t *out, size_t *out_len);

/* IOTLS_OK and the contents when the ticket is ours, sealed in the current
 * period (by now) or the previous one, and intact; anything else means
 * "not usable" (the caller ignores the identity). plain is scratch for the
 * decrypted body, wiped before the return. */
int iotls__ticket_open(const iotls_config *cfg, uint64_t now, iotls_bytes ticket,
                       iotls__ticket_body *t, iotls_peer_id *client,
                       uint8_t plain[IOTLS_TICKET_PLAIN_MAX]);

/* SHA-256 of the server name (NUL-ended; empty without one) a ticket is
 * bound to. */
int iotls__ticket_sni_digest(const char *server_name, uint8_t out[IOTLS_TICKET_SNI_DIGEST_LEN]);

#endif
