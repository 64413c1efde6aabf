/* AEAD facts and argument checks that do not depend on the library. */
#include "crypto_common.h"
#include "iotls/error.h"

size_t iotls_aead_key_len(iotls_aead_alg alg)
{
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_128_CCM:
    case IOTLS_AEAD_AES_128_CCM_8:
        return 16;
    case IOTLS_AEAD_AES_256_GCM:
    case IOTLS_AEAD_CHACHA20_POLY1305:
        return 32;
    default:
        return 0;
    }
}

size_t iotls_aead_tag_len(iotls_aead_alg alg)
{
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_256_GCM:
    case IOTLS_AEAD_CHACHA20_POLY1305:
    case IOTLS_AEAD_AES_128_CCM:
        return 16;
    case IOTLS_AEAD_AES_128_CCM_8:
        return 8; /* RFC 8446 B.4: AEAD_AES_128_CCM_8 (RFC 6655) */
    default:
        return 0;
    }
}

int iotls_common_aead_key_ok(iotls_aead_alg alg, const uint8_t *key, size_t key_len)
{
    size_t want = iotls_aead_key_len(alg);
    return key != NULL && want != 0 && key_len == want;
}

int iotls_common_aead_seal_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                 size_t aad_len, const uint8_t *in, size_t in_len,
                                 const uint8_t *out)
{
    if (!active || nonce == NULL || out == NULL || (aad == NULL && aad_len > 0) ||
        (in == NULL && in_len > 0))
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

int iotls_common_aead_open_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                 size_t aad_len, const uint8_t *in, size_t in_len,
                                 const uint8_t *out, size_t tag_len, size_t *plain_len)
{
    if (!active || nonce == NULL || in == NULL || (aad == NULL && aad_len > 0) || tag_len == 0)
        return IOTLS_ERR_BAD_ARG;
    /* Too short to even carry a tag: it cannot be authentic. */
    if (in_len < tag_len)
        return IOTLS_ERR_BAD_RECORD_MAC;
    *plain_len = in_len - tag_len;
    if (out == NULL && *plain_len > 0)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}
