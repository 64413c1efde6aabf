/* KeyUpdate (RFC 8446 section 4.6.3) and EndOfEarlyData (4.5): the two
 * one-field messages. */
#include <stddef.h>
#include <stdint.h>

#include "ext_internal.h"
#include "iotls/error.h"

int iotls__key_update_parse(const uint8_t *body, size_t len, int *update_requested)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    iotls_reader r;
    uint8_t request;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_u8(&r, &request);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;
    if (request > 1)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    *update_requested = request;
    return IOTLS_OK;
}

int iotls__key_update_write(iotls_writer *w, int update_requested)
{
    size_t msg = iotls__msg_begin(w, IOTLS_HS_KEY_UPDATE);
    iotls__wr_u8(w, update_requested ? 1 : 0);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}

int iotls__end_of_early_data_parse(const uint8_t *body, size_t len)
{
    (void)body;
    return len == 0 ? IOTLS_OK : IOTLS_ERR_DECODE;
}

int iotls__end_of_early_data_write(iotls_writer *w)
{
    size_t msg = iotls__msg_begin(w, IOTLS_HS_END_OF_EARLY_DATA);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
