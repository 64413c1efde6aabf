/* Hash and HKDF facts that do not depend on the library. */
#include "crypto_common.h"
#include "iotls/error.h"

size_t iotls_hash_len(iotls_hash_alg alg)
{
    switch (alg) {
    case IOTLS_HASH_SHA256:
        return 32;
    case IOTLS_HASH_SHA384:
        return 48;
    case IOTLS_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

int iotls_common_hkdf_expand_check(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len,
                                   const uint8_t *info, size_t info_len, const uint8_t *out,
                                   size_t out_len)
{
    size_t hash_len = iotls_hash_len(alg);
    /* RFC 5869: PRK is at least HashLen, L at most 255 * HashLen. */
    if (hash_len == 0 || !prk || prk_len < hash_len || (!info && info_len > 0) || !out ||
        out_len > 255 * hash_len)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}
