/* AEAD through psa_aead_encrypt / psa_aead_decrypt: AES-128-GCM,
 * AES-256-GCM, ChaCha20-Poly1305, AES-128-CCM (PSA_ALG_CCM, 16-byte tag)
 * and AES-128-CCM_8 (PSA_ALG_CCM shortened to an 8-byte tag). The traffic key is imported once per
 * iotls__aead_init as a volatile PSA key (usage ENCRYPT | DECRYPT, one
 * algorithm), destroyed by iotls__aead_free and on re-keying.
 *
 * Records are sealed and opened in place (out == in). The PSA API lets an
 * output buffer overlap its input; Mbed TLS copies the caller's buffers
 * before it works on them unless MBEDTLS_PSA_ASSUME_EXCLUSIVE_BUFFERS is
 * set, and works in place otherwise (docs/psa.md). */
#include <string.h>

#include <mbedtls/platform_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

int iotls__aead_init(iotls_aead_ctx *ctx, iotls_aead_alg alg, const uint8_t *key, size_t key_len)
{
    if (ctx == NULL || !iotls__common_aead_key_ok(alg, key, key_len))
        return IOTLS_ERR_BAD_ARG;
    psa_key_type_t type;
    psa_algorithm_t aalg;
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_256_GCM:
        type = PSA_KEY_TYPE_AES;
        aalg = PSA_ALG_GCM;
        break;
    case IOTLS_AEAD_AES_128_CCM:
        type = PSA_KEY_TYPE_AES;
        aalg = PSA_ALG_CCM;
        break;
    case IOTLS_AEAD_AES_128_CCM_8:
        type = PSA_KEY_TYPE_AES;
        aalg = PSA_ALG_AEAD_WITH_SHORTENED_TAG(PSA_ALG_CCM, 8);
        break;
    case IOTLS_AEAD_CHACHA20_POLY1305:
        type = PSA_KEY_TYPE_CHACHA20;
        aalg = PSA_ALG_CHACHA20_POLY1305;
        break;
    default:
        return IOTLS_ERR_BAD_ARG;
    }
    /* Re-keying an active context (KeyUpdate) must not leak the old key. */
    iotls__aead_free(ctx);
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;

    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, type);
    psa_set_key_bits(&attr, key_len * 8);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_ENCRYPT | PSA_KEY_USAGE_DECRYPT);
    psa_set_key_algorithm(&attr, aalg);
    iotls__psa_lock();
    psa_status_t st = psa_import_key(&attr, key, key_len, &ctx->key);
    iotls__psa_unlock();
    psa_reset_key_attributes(&attr);
    if (st != PSA_SUCCESS) {
        mbedtls_platform_zeroize(ctx, sizeof(*ctx));
        return iotls__psa_error(st);
    }
    ctx->alg = aalg;
    ctx->tag_len = (uint8_t)iotls__aead_tag_len(alg);
    ctx->active = 1;
    return IOTLS_OK;
}

int iotls__aead_seal(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    int rc = iotls__common_aead_seal_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out);
    if (rc != IOTLS_OK)
        return rc;
    size_t written = 0;
    iotls__psa_lock();
    psa_status_t st = psa_aead_encrypt(ctx->key, ctx->alg, nonce, IOTLS_AEAD_NONCE_LEN, aad,
                                       aad_len, in, in_len, out, in_len + ctx->tag_len, &written);
    iotls__psa_unlock();
    if (st != PSA_SUCCESS)
        return iotls__psa_error(st);
    return written == in_len + ctx->tag_len ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls__aead_open(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    uint8_t scratch[1];
    size_t plain_len = 0;
    int rc = iotls__common_aead_open_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out, ctx != NULL ? ctx->tag_len : 0, &plain_len);
    if (rc != IOTLS_OK)
        return rc;
    if (out == NULL)
        out = scratch;
    size_t written = 0;
    iotls__psa_lock();
    psa_status_t st = psa_aead_decrypt(ctx->key, ctx->alg, nonce, IOTLS_AEAD_NONCE_LEN, aad,
                                       aad_len, in, in_len, out, plain_len, &written);
    iotls__psa_unlock();
    if (st == PSA_SUCCESS && written == plain_len)
        return IOTLS_OK;
    /* Nothing of a forged record may be left for the caller to read. */
    mbedtls_platform_zeroize(out, plain_len);
    if (st == PSA_ERROR_INVALID_SIGNATURE)
        return IOTLS_ERR_BAD_RECORD_MAC;
    return iotls__psa_error(st);
}

void iotls__aead_free(iotls_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active)
        iotls__psa_destroy(&ctx->key); /* wipes the key in the key store */
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}

/* Kept: the key lives in the PSA key store, which a parked context would
 * have to import it into again; destroying it would need a copy of the
 * key in the state. */
void iotls__aead_park(iotls_aead_ctx *ctx)
{
    (void)ctx;
}
