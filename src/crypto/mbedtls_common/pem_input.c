/* The NUL-terminated input Mbed TLS' PEM parsers want (pem_input.h). */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/mbedtls_common/pem_input.h"
#include "iotls/error.h"

int iotls__mb_input_begin(iotls_mb_input *in, const uint8_t *data, size_t len)
{
    in->data = data;
    in->len = len;
    in->copy = NULL;
    if (data[len - 1] == '\0' || !iotls__common_looks_pem(data, len))
        return IOTLS_OK;
    in->copy = malloc(len + 1);
    if (in->copy == NULL)
        return IOTLS_ERR_NO_MEMORY;
    memcpy(in->copy, data, len);
    in->copy[len] = '\0';
    in->data = in->copy;
    in->len = len + 1;
    return IOTLS_OK;
}

void iotls__mb_input_end(iotls_mb_input *in)
{
    if (in->copy != NULL) {
        mbedtls_platform_zeroize(in->copy, in->len);
        free(in->copy);
        in->copy = NULL;
    }
}
