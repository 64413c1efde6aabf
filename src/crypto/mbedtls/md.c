/* Hashing, HMAC, HKDF and the small helpers around them, on mbedTLS's
 * generic message-digest layer (mbedtls_md_*), which exists unchanged in
 * mbedTLS 2.28 and 3.6. */
#include <string.h>

#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/version.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* mbedTLS accepts NULL only for zero-length input in some versions; passing
 * a real (empty) buffer keeps every version happy. */
static const unsigned char empty_input[1] = {0};

static const mbedtls_md_info_t *md_info(int alg)
{
    switch (alg) {
    case IOTLS_HASH_SHA256:
        return mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);
    case IOTLS_HASH_SHA384:
        return mbedtls_md_info_from_type(MBEDTLS_MD_SHA384);
    case IOTLS_HASH_SHA512:
        return mbedtls_md_info_from_type(MBEDTLS_MD_SHA512);
    default:
        return NULL;
    }
}

/* Sets up md for alg and starts it. On failure md is freed again. */
static int md_start(mbedtls_md_context_t *md, const mbedtls_md_info_t *info)
{
    mbedtls_md_init(md);
    if (mbedtls_md_setup(md, info, 0) != 0) {
        mbedtls_md_free(md);
        return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

/* ctx must be empty (zero-filled) or freed: an active one would leak. */
int iotls__hash_init(iotls_hash_ctx *ctx, iotls_hash_alg alg)
{
    if (!ctx)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_md_info_t *info = md_info(alg);
    memset(ctx, 0, sizeof(*ctx));
    if (!info)
        return IOTLS_ERR_BAD_ARG;
    int rc = md_start(&ctx->md, info);
    if (rc != IOTLS_OK)
        return rc;
    if (mbedtls_md_starts(&ctx->md) != 0) {
        mbedtls_md_free(&ctx->md);
        memset(ctx, 0, sizeof(*ctx));
        return IOTLS_ERR_CRYPTO;
    }
    ctx->alg = alg;
    ctx->active = 1;
    return IOTLS_OK;
}

int iotls__hash_update(iotls_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    if (!ctx || !ctx->active || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (len == 0)
        return IOTLS_OK;
    return mbedtls_md_update(&ctx->md, data, len) == 0 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls__hash_clone(iotls_hash_ctx *dst, const iotls_hash_ctx *src)
{
    if (!dst || !src || !src->active || dst == src)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_md_info_t *info = md_info(src->alg);
    memset(dst, 0, sizeof(*dst));
    if (!info)
        return IOTLS_ERR_BAD_ARG;
    int rc = md_start(&dst->md, info);
    if (rc != IOTLS_OK)
        return rc;
    if (mbedtls_md_clone(&dst->md, &src->md) != 0) {
        mbedtls_md_free(&dst->md);
        memset(dst, 0, sizeof(*dst));
        return IOTLS_ERR_CRYPTO;
    }
    dst->alg = src->alg;
    dst->active = 1;
    return IOTLS_OK;
}

/* Finishing destroys the running state, so finish a copy instead. */
int iotls__hash_snapshot(const iotls_hash_ctx *ctx, uint8_t *out)
{
    if (!ctx || !out)
        return IOTLS_ERR_BAD_ARG;
    iotls_hash_ctx tmp;
    int rc = iotls__hash_clone(&tmp, ctx);
    if (rc != IOTLS_OK)
        return rc;
    rc = mbedtls_md_finish(&tmp.md, out) == 0 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
    iotls__hash_free(&tmp);
    return rc;
}

void iotls__hash_free(iotls_hash_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->active)
        mbedtls_md_free(&ctx->md);
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}

int iotls__hash(iotls_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (!info || !out || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!data)
        data = empty_input;
    return mbedtls_md(info, data, len, out) == 0 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls__hmac(iotls_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
                size_t len, uint8_t *out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (!info || !out || (!key && key_len > 0) || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!key)
        key = empty_input;
    if (!data)
        data = empty_input;
    return mbedtls_md_hmac(info, key, key_len, data, len, out) == 0 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls__hkdf_extract(iotls_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    const mbedtls_md_info_t *info = md_info(alg);
    if (!info || !prk_out || (!salt && salt_len > 0) || (!ikm && ikm_len > 0))
        return IOTLS_ERR_BAD_ARG;
    /* salt == NULL makes mbedTLS use HashLen zeros, as RFC 5869 says. */
    if (salt_len == 0)
        salt = NULL;
    if (!ikm)
        ikm = empty_input;
    return mbedtls_hkdf_extract(info, salt, salt_len, ikm, ikm_len, prk_out) == 0
               ? IOTLS_OK
               : IOTLS_ERR_CRYPTO;
}

int iotls__hkdf_expand(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    const mbedtls_md_info_t *md = md_info(alg);
    if (!md)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__common_hkdf_expand_check(alg, prk, prk_len, info, info_len, out, out_len);
    if (rc != IOTLS_OK || out_len == 0)
        return rc;
    if (!info)
        info = empty_input;
    return mbedtls_hkdf_expand(md, prk, prk_len, info, info_len, out, out_len) == 0
               ? IOTLS_OK
               : IOTLS_ERR_CRYPTO;
}

const char *iotls_crypto_backend_name(void)
{
    return "mbedTLS " MBEDTLS_VERSION_STRING;
}
