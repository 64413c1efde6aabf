/* TLS 1.3 key schedule (RFC 8446 section 7), on top of the provider's HKDF.
 * Stateless helpers plus one struct that walks the schedule for a
 * connection. Proven byte for byte against RFC 8448 in tests/. */
#ifndef IOTLS_KEYSCHED_H
#define IOTLS_KEYSCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* HKDF-Expand-Label(Secret, Label, Context, Length); label without the
 * "tls13 " prefix, which is added here. */
int iotls__hkdf_expand_label(iotls_hash_alg alg, const uint8_t *secret, const char *label,
                             const uint8_t *context, size_t context_len, uint8_t *out,
                             size_t out_len);
/* Derive-Secret(Secret, Label, Messages) where the caller already hashed
 * the messages: transcript_hash is Hash(Messages), HashLen bytes. */
int iotls__derive_secret(iotls_hash_alg alg, const uint8_t *secret, const char *label,
                         const uint8_t *transcript_hash, uint8_t *out);

/* Traffic key and IV of a traffic secret ("key", "iv"). */
int iotls__traffic_keys(iotls_hash_alg alg, iotls_aead_alg aead, const uint8_t *traffic_secret,
                        uint8_t *key, size_t key_len, uint8_t iv[IOTLS_AEAD_NONCE_LEN]);
/* verify_data = HMAC(finished_key, transcript_hash), finished_key =
 * HKDF-Expand-Label(base_key, "finished", "", HashLen). */
int iotls__finished_verify_data(iotls_hash_alg alg, const uint8_t *base_key,
                                const uint8_t *transcript_hash, uint8_t *out);
/* application_traffic_secret_N+1 ("traffic upd"). In place is allowed. */
int iotls__next_traffic_secret(iotls_hash_alg alg, const uint8_t *secret, uint8_t *out);
/* PSK of a ticket: HKDF-Expand-Label(res_master, "resumption", nonce). */
int iotls__resumption_psk(iotls_hash_alg alg, const uint8_t *res_master, const uint8_t *nonce,
                          size_t nonce_len, uint8_t *out);

/* Where the schedule stands for one connection. All secrets are HashLen. */
typedef struct {
    iotls_hash_alg alg;
    size_t hash_len;
    uint8_t early_secret[IOTLS_MAX_HASH_LEN];
    uint8_t handshake_secret[IOTLS_MAX_HASH_LEN];
    uint8_t master_secret[IOTLS_MAX_HASH_LEN];
    uint8_t client_early_traffic[IOTLS_MAX_HASH_LEN];
    uint8_t client_hs_traffic[IOTLS_MAX_HASH_LEN];
    uint8_t server_hs_traffic[IOTLS_MAX_HASH_LEN];
    uint8_t client_app_traffic[IOTLS_MAX_HASH_LEN];
    uint8_t server_app_traffic[IOTLS_MAX_HASH_LEN];
    uint8_t exporter_master[IOTLS_MAX_HASH_LEN];
    uint8_t resumption_master[IOTLS_MAX_HASH_LEN];
} iotls_key_schedule;

/* Early Secret = HKDF-Extract(0, PSK or HashLen zeros). */
int iotls__ks_init(iotls_key_schedule *ks, iotls_hash_alg alg, const uint8_t *psk, size_t psk_len);
/* binder_key = Derive-Secret(early, "ext binder" | "res binder", "") */
int iotls__ks_binder_key(const iotls_key_schedule *ks, bool ext_psk, uint8_t *out);
/* client_early_traffic_secret from Hash(ClientHello). */
int iotls__ks_early_traffic(iotls_key_schedule *ks, const uint8_t *ch_hash);
/* Handshake Secret = HKDF-Extract(Derive-Secret(early, "derived", ""),
 * (EC)DHE or HashLen zeros when dhe == NULL), then the two handshake
 * traffic secrets from Hash(ClientHello..ServerHello). */
int iotls__ks_handshake(iotls_key_schedule *ks, const uint8_t *dhe, size_t dhe_len,
                        const uint8_t *ch_sh_hash);
/* Master Secret and the application traffic and exporter secrets from
 * Hash(ClientHello..server Finished). */
int iotls__ks_master(iotls_key_schedule *ks, const uint8_t *ch_sf_hash);
/* resumption_master_secret from Hash(ClientHello..client Finished). */
int iotls__ks_resumption(iotls_key_schedule *ks, const uint8_t *ch_cf_hash);
/* Wipes every secret. */
void iotls__ks_wipe(iotls_key_schedule *ks);

/* The HKDF-Expand-Label "info" bytes, exposed for the tests. */
int iotls__hkdf_label(const char *label, const uint8_t *context, size_t context_len, size_t out_len,
                      uint8_t *info, size_t info_cap, size_t *info_len);

#endif
