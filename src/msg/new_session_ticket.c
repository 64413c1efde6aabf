/* NewSessionTicket (RFC 8446 section 4.6.1). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

#define MAX_TICKET_LIFETIME 604800u /* seven days, RFC 8446 4.6.1 */

int iotls__new_session_ticket_parse(const uint8_t *body, size_t len, iotls_new_session_ticket *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls_bytes block;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_u32(&r, &out->lifetime);
    if (rc == IOTLS_OK)
        rc = iotls__rd_u32(&r, &out->age_add);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec8(&r, 0, 255, &out->nonce);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(&r, 1, 0xFFFF, &out->ticket);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(&r, 0, 0xFFFE, &block);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;
    if (out->lifetime > MAX_TICKET_LIFETIME)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    iotls_ext_walker wk;
    uint16_t type;
    iotls_reader data;
    iotls__ext_walk_start(&wk, block, IOTLS_HS_NEW_SESSION_TICKET, 0);
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        if (type == IOTLS_EXT_EARLY_DATA) {
            rc = iotls__rd_u32(&data, &out->max_early_data);
            if (rc == IOTLS_OK)
                rc = iotls__rd_done(&data);
            if (rc != IOTLS_OK)
                return rc;
        }
        /* Unknown extensions are ignored (RFC 8446 4.6.1). */
        out->exts_seen = wk.seen;
    }
    return rc;
}

int iotls__new_session_ticket_write(iotls_writer *w, uint32_t lifetime, uint32_t age_add,
                                    const uint8_t *nonce, size_t nonce_len, const uint8_t *ticket,
                                    size_t ticket_len, uint32_t max_early_data)
{
    if (lifetime > MAX_TICKET_LIFETIME || (nonce_len > 0 && !nonce) || nonce_len > 255 || !ticket ||
        ticket_len == 0 || ticket_len > 0xFFFF)
        return IOTLS_ERR_BAD_ARG;
    size_t msg = iotls__msg_begin(w, IOTLS_HS_NEW_SESSION_TICKET);
    iotls__wr_u32(w, lifetime);
    iotls__wr_u32(w, age_add);
    iotls__wr_u8(w, (uint8_t)nonce_len);
    iotls__wr_bytes(w, nonce, nonce_len);
    iotls__wr_u16(w, (uint16_t)ticket_len);
    iotls__wr_bytes(w, ticket, ticket_len);
    size_t block = iotls__wr_vec_begin(w, 2);
    if (max_early_data != 0) {
        size_t ext = iotls__ext_begin(w, IOTLS_EXT_EARLY_DATA);
        iotls__wr_u32(w, max_early_data);
        iotls__ext_end(w, ext);
    }
    iotls__wr_vec_end(w, block, 2);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
