/* Base64 through libcrypto (SPKI pins written as curl writes them). */
#include <limits.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

int iotls__base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (in == NULL || out == NULL || out_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (in_len > INT_MAX / 2)
        return IOTLS_ERR_DECODE;
    /* The streaming decoder accounts for '=' padding (EVP_DecodeBlock
     * does not) and rejects bad characters. */
    if (cap < in_len / 4 * 3 + 3)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    if (ctx == NULL)
        return IOTLS_ERR_NO_MEMORY;
    int n = 0, tail = 0, rc = IOTLS_ERR_DECODE;
    EVP_DecodeInit(ctx);
    if (EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)in, (int)in_len) >= 0 &&
        EVP_DecodeFinal(ctx, out + n, &tail) == 1) {
        *out_len = (size_t)n + (size_t)tail;
        rc = IOTLS_OK;
    }
    EVP_ENCODE_CTX_free(ctx);
    return rc;
}

int iotls__base64_encode(const uint8_t *in, size_t in_len, char *out, size_t cap)
{
    if (in == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (in_len > INT_MAX / 2 || cap < (in_len + 2) / 3 * 4 + 1)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    EVP_EncodeBlock((unsigned char *)out, in, (int)in_len); /* NUL-ended */
    return IOTLS_OK;
}
