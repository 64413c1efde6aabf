/* Base64 through mbedTLS (SPKI pins written as curl writes them). */
#include <mbedtls/base64.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

int iotls_base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (in == NULL || out == NULL || out_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t n = 0;
    int ret = mbedtls_base64_decode(out, cap, &n, (const unsigned char *)in, in_len);
    if (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    if (ret != 0)
        return IOTLS_ERR_DECODE;
    *out_len = n;
    return IOTLS_OK;
}

int iotls_base64_encode(const uint8_t *in, size_t in_len, char *out, size_t cap)
{
    if (in == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t n = 0;
    /* Writes the terminating NUL too. */
    if (mbedtls_base64_encode((unsigned char *)out, cap, &n, in, in_len) != 0)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    return IOTLS_OK;
}
