/* The handshake transcript hash (RFC 8446 section 4.4.1).
 *
 * A client sends ClientHello before it knows the suite's hash, so the
 * transcript runs SHA-256 and SHA-384 side by side until select() keeps one.
 * After a HelloRetryRequest the ClientHello1 hash is replaced by the
 * synthetic message_hash message. */
#ifndef IOTLS_TRANSCRIPT_H
#define IOTLS_TRANSCRIPT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

typedef struct {
    iotls_hash_ctx sha256;
    iotls_hash_ctx sha384;
    iotls_hash_alg alg; /* NONE while both run */
} iotls_transcript;

int iotls__transcript_init(iotls_transcript *t);
/* Add a whole handshake message (with its 4-byte header). */
int iotls__transcript_update(iotls_transcript *t, const uint8_t *msg, size_t len);
/* Keep only alg's hash from now on. */
int iotls__transcript_select(iotls_transcript *t, iotls_hash_alg alg);
/* Hash of everything so far (alg must be selected). */
int iotls__transcript_hash(const iotls_transcript *t, uint8_t *out);
/* Hash of everything so far plus extra bytes, without adding them: the
 * PSK binder covers a ClientHello truncated before its binders. */
int iotls__transcript_hash_with(const iotls_transcript *t, iotls_hash_alg alg, const uint8_t *extra,
                                size_t extra_len, uint8_t *out);
/* Replace the transcript (ClientHello1 so far, alg selected) with
 * message_hash = 0xfe 00 00 HashLen || Hash(ClientHello1). */
int iotls__transcript_hrr_substitute(iotls_transcript *t);
size_t iotls__transcript_hash_len(const iotls_transcript *t);
void iotls__transcript_free(iotls_transcript *t);

#endif
