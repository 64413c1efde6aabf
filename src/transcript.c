/* The handshake transcript hash, RFC 8446 section 4.4.1. */
#include "transcript.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "iotls/error.h"

/* HandshakeType message_hash (RFC 8446 section 4). */
#define MSG_MESSAGE_HASH 254

static iotls_hash_ctx *ctx_of(iotls_transcript *t, iotls_hash_alg alg)
{
    if (alg == IOTLS_HASH_SHA256)
        return &t->sha256;
    if (alg == IOTLS_HASH_SHA384)
        return &t->sha384;
    return NULL;
}

static const iotls_hash_ctx *const_ctx_of(const iotls_transcript *t, iotls_hash_alg alg)
{
    if (alg == IOTLS_HASH_SHA256)
        return &t->sha256;
    if (alg == IOTLS_HASH_SHA384)
        return &t->sha384;
    return NULL;
}

int iotls__transcript_init(iotls_transcript *t)
{
    if (!t)
        return IOTLS_ERR_BAD_ARG;
    memset(t, 0, sizeof(*t));
    t->alg = IOTLS_HASH_NONE;
    int rc = iotls__hash_init(&t->sha256, IOTLS_HASH_SHA256);
    if (rc == IOTLS_OK)
        rc = iotls__hash_init(&t->sha384, IOTLS_HASH_SHA384);
    if (rc != IOTLS_OK)
        iotls__transcript_free(t);
    return rc;
}

int iotls__transcript_update(iotls_transcript *t, const uint8_t *msg, size_t len)
{
    if (!t || (!msg && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (t->alg != IOTLS_HASH_NONE)
        return iotls__hash_update(ctx_of(t, t->alg), msg, len);
    int rc = iotls__hash_update(&t->sha256, msg, len);
    if (rc == IOTLS_OK)
        rc = iotls__hash_update(&t->sha384, msg, len);
    return rc;
}

int iotls__transcript_select(iotls_transcript *t, iotls_hash_alg alg)
{
    if (!t || !ctx_of(t, alg))
        return IOTLS_ERR_BAD_ARG;
    if (t->alg != IOTLS_HASH_NONE)
        return t->alg == alg ? IOTLS_OK : IOTLS_ERR_BAD_STATE;
    /* The other hash has no further use; drop it now to free its memory. */
    iotls__hash_free(alg == IOTLS_HASH_SHA256 ? &t->sha384 : &t->sha256);
    t->alg = alg;
    return IOTLS_OK;
}

int iotls__transcript_hash(const iotls_transcript *t, uint8_t *out)
{
    if (!t || !out)
        return IOTLS_ERR_BAD_ARG;
    if (t->alg == IOTLS_HASH_NONE)
        return IOTLS_ERR_BAD_STATE;
    return iotls__hash_snapshot(const_ctx_of(t, t->alg), out);
}

int iotls__transcript_hash_with(const iotls_transcript *t, iotls_hash_alg alg, const uint8_t *extra,
                                size_t extra_len, uint8_t *out)
{
    if (!t || !out || (!extra && extra_len > 0) || !const_ctx_of(t, alg))
        return IOTLS_ERR_BAD_ARG;
    /* Before select() both hashes run; afterwards only the selected one. */
    if (t->alg != IOTLS_HASH_NONE && t->alg != alg)
        return IOTLS_ERR_BAD_STATE;
    iotls_hash_ctx tmp;
    int rc = iotls__hash_clone(&tmp, const_ctx_of(t, alg));
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls__hash_update(&tmp, extra, extra_len);
    if (rc == IOTLS_OK)
        rc = iotls__hash_snapshot(&tmp, out);
    iotls__hash_free(&tmp);
    return rc;
}

int iotls__transcript_hrr_substitute(iotls_transcript *t)
{
    if (!t)
        return IOTLS_ERR_BAD_ARG;
    if (t->alg == IOTLS_HASH_NONE)
        return IOTLS_ERR_BAD_STATE;
    size_t hash_len = iotls__hash_len(t->alg);
    /* message_hash: type 254, uint24 length HashLen, Hash(ClientHello1). */
    uint8_t synthetic[4 + IOTLS_MAX_HASH_LEN];
    synthetic[0] = MSG_MESSAGE_HASH;
    synthetic[1] = 0;
    synthetic[2] = 0;
    synthetic[3] = (uint8_t)hash_len;
    iotls_hash_ctx *ctx = ctx_of(t, t->alg);
    int rc = iotls__hash_snapshot(ctx, synthetic + 4);
    if (rc != IOTLS_OK)
        return rc;
    iotls__hash_free(ctx);
    rc = iotls__hash_init(ctx, t->alg);
    if (rc == IOTLS_OK)
        rc = iotls__hash_update(ctx, synthetic, 4 + hash_len);
    return rc;
}

size_t iotls__transcript_hash_len(const iotls_transcript *t)
{
    if (!t)
        return 0;
    return iotls__hash_len(t->alg);
}

void iotls__transcript_free(iotls_transcript *t)
{
    if (!t)
        return;
    iotls__hash_free(&t->sha256);
    iotls__hash_free(&t->sha384);
    t->alg = IOTLS_HASH_NONE;
}
