/* Finished (RFC 8446 section 4.4.4). */
#include <stddef.h>
#include <stdint.h>

#include "ext_internal.h"
#include "iotls/error.h"

int iotls__finished_parse(const uint8_t *body, size_t len, size_t hash_len,
                          iotls_bytes *verify_data)
{
    if ((!body && len > 0) || hash_len == 0)
        return IOTLS_ERR_BAD_ARG;
    if (len != hash_len)
        return IOTLS_ERR_DECODE;
    verify_data->p = body;
    verify_data->len = len;
    return IOTLS_OK;
}

int iotls__finished_write(iotls_writer *w, const uint8_t *verify_data, size_t len)
{
    if (!verify_data || len == 0)
        return IOTLS_ERR_BAD_ARG;
    size_t msg = iotls__msg_begin(w, IOTLS_HS_FINISHED);
    iotls__wr_bytes(w, verify_data, len);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
