/* AEAD through mbedtls_cipher: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305,
 * AES-128-CCM with a 16- or 8-byte tag (the cipher layer hands CCM to
 * mbedtls_ccm_encrypt_and_tag / mbedtls_ccm_auth_decrypt, in 2.28 and 3.6).
 *
 * mbedtls_cipher_auth_encrypt_ext / _decrypt_ext exist with the same
 * signature in mbedTLS 2.28 and 3.6, and both work in place (output ==
 * input): the ciphertext or plaintext is written over the input and the
 * tag lives after it. */
#include <string.h>

#include <mbedtls/cipher.h>
#include <mbedtls/platform_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

static mbedtls_cipher_type_t cipher_type(iotls_aead_alg alg)
{
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
        return MBEDTLS_CIPHER_AES_128_GCM;
    case IOTLS_AEAD_AES_256_GCM:
        return MBEDTLS_CIPHER_AES_256_GCM;
    case IOTLS_AEAD_CHACHA20_POLY1305:
        return MBEDTLS_CIPHER_CHACHA20_POLY1305;
    case IOTLS_AEAD_AES_128_CCM:
    case IOTLS_AEAD_AES_128_CCM_8: /* the tag length is the call's */
        return MBEDTLS_CIPHER_AES_128_CCM;
    default:
        return MBEDTLS_CIPHER_NONE;
    }
}

int iotls__aead_init(iotls_aead_ctx *ctx, iotls_aead_alg alg, const uint8_t *key, size_t key_len)
{
    if (ctx == NULL || !iotls__common_aead_key_ok(alg, key, key_len))
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_cipher_info_t *info = mbedtls_cipher_info_from_type(cipher_type(alg));
    if (info == NULL)
        return IOTLS_ERR_CRYPTO;

    /* Re-keying an active context (KeyUpdate) must not leak the old one. */
    iotls__aead_free(ctx);
    mbedtls_cipher_init(&ctx->cipher);
    /* GCM, CCM and ChaCha20-Poly1305 use the same key schedule (the
     * forward cipher) for both directions, and the AEAD calls do not look
     * at the operation, so one context keyed "encrypt" serves seal and
     * open. */
    if (mbedtls_cipher_setup(&ctx->cipher, info) != 0 ||
        mbedtls_cipher_setkey(&ctx->cipher, key, (int)(key_len * 8), MBEDTLS_ENCRYPT) != 0) {
        mbedtls_cipher_free(&ctx->cipher);
        mbedtls_platform_zeroize(ctx, sizeof(*ctx));
        return IOTLS_ERR_CRYPTO;
    }
    ctx->alg = (int)alg;
    ctx->active = 1;
    return IOTLS_OK;
}

int iotls__aead_seal(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    static const uint8_t empty[1] = {0};
    int rc = iotls__common_aead_seal_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out);
    if (rc != IOTLS_OK)
        return rc;
    /* mbedTLS asserts non-NULL pointers even for empty inputs. */
    if (aad == NULL)
        aad = empty;
    if (in == NULL)
        in = empty;
    size_t written = 0;
    size_t tag_len = iotls__aead_tag_len((iotls_aead_alg)ctx->alg);
    int ret =
        mbedtls_cipher_auth_encrypt_ext(&ctx->cipher, nonce, IOTLS_AEAD_NONCE_LEN, aad, aad_len, in,
                                        in_len, out, in_len + tag_len, &written, tag_len);
    if (ret != 0 || written != in_len + tag_len)
        return IOTLS_ERR_CRYPTO;
    return IOTLS_OK;
}

int iotls__aead_open(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    static const uint8_t empty[1] = {0};
    uint8_t scratch[1];
    size_t plain_len = 0;
    size_t tag_len = ctx != NULL ? iotls__aead_tag_len((iotls_aead_alg)ctx->alg) : 0;
    int rc = iotls__common_aead_open_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out, tag_len, &plain_len);
    if (rc != IOTLS_OK)
        return rc;
    if (out == NULL)
        out = scratch;
    if (aad == NULL)
        aad = empty;
    size_t written = 0;
    int ret =
        mbedtls_cipher_auth_decrypt_ext(&ctx->cipher, nonce, IOTLS_AEAD_NONCE_LEN, aad, aad_len, in,
                                        in_len, out, plain_len, &written, tag_len);
    if (ret == 0 && written == plain_len)
        return IOTLS_OK;
    /* mbedTLS already zeroes the output on a bad tag; do it ourselves too so
     * the guarantee does not depend on the library version. */
    mbedtls_platform_zeroize(out, plain_len);
    if (ret == MBEDTLS_ERR_CIPHER_AUTH_FAILED)
        return IOTLS_ERR_BAD_RECORD_MAC;
    return IOTLS_ERR_CRYPTO;
}

void iotls__aead_free(iotls_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active)
        mbedtls_cipher_free(&ctx->cipher); /* zeroizes the key schedule */
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}

/* Kept: the cipher context's state (a few hundred bytes Mbed TLS
 * allocates) could go and be set up again from the key, but the key would
 * then live in every connection's state, 80 B more on a device whose one
 * connection never parks; gateways use the OpenSSL provider. */
void iotls__aead_park(iotls_aead_ctx *ctx)
{
    (void)ctx;
}
