/* EncryptedExtensions (RFC 8446 section 4.3.1). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

static int parse_extension(uint16_t type, iotls_reader *data, iotls_encrypted_extensions *out)
{
    int rc;
    size_t names;
    switch (type) {
    case IOTLS_EXT_SERVER_NAME:
        /* RFC 6066 section 3: the server's acknowledgement is empty. */
        out->server_name_ack = 1;
        return iotls__ext_parse_empty(data);
    case IOTLS_EXT_EARLY_DATA:
        out->early_data = 1;
        return iotls__ext_parse_empty(data);
    case IOTLS_EXT_RECORD_SIZE_LIMIT:
        return iotls__ext_parse_record_size_limit(data, &out->record_size_limit);
    case IOTLS_EXT_MAX_FRAGMENT_LENGTH:
        return iotls__ext_parse_max_fragment_length(data, &out->max_fragment_length);
    case IOTLS_EXT_SUPPORTED_GROUPS:
        return iotls__ext_parse_u16_list(data, 2, 0xFFFF, &out->supported_groups);
    case IOTLS_EXT_ALPN: {
        /* RFC 7301 section 3.1: the answer holds exactly one name. */
        iotls_bytes list;
        rc = iotls__rd_vec16(data, 2, 0xFFFF, &list);
        if (rc == IOTLS_OK)
            rc = iotls__rd_done(data);
        if (rc == IOTLS_OK)
            rc = iotls__ext_check_alpn_list(list, &names);
        if (rc == IOTLS_OK && names != 1)
            rc = IOTLS_ERR_DECODE;
        if (rc == IOTLS_OK)
            out->alpn = (iotls_bytes){list.p + 1, list.len - 1};
        return rc;
    }
    default:
        /* Allowed in EE by RFC 8446's table (use_srtp, heartbeat,
         * certificate types) but never offered by iotls. */
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    }
}

int iotls__encrypted_extensions_parse(const uint8_t *body, size_t len,
                                      iotls_encrypted_extensions *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls_bytes block;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_vec16(&r, 0, 0xFFFF, &block);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;

    iotls_ext_walker wk;
    uint16_t type;
    iotls_reader data;
    iotls__ext_walk_start(&wk, block, IOTLS_HS_ENCRYPTED_EXTENSIONS, 0);
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        rc = parse_extension(type, &data, out);
        if (rc != IOTLS_OK)
            return rc;
        out->exts_seen = wk.seen;
    }
    return rc;
}

/* Order as in RFC 8448's traces, where those extensions appear. */
int iotls__encrypted_extensions_write(iotls_writer *w, const iotls_encrypted_extensions_params *p)
{
    if ((p->alpn && (p->alpn_len == 0 || p->alpn_len > 255)) ||
        (p->groups && p->group_count == 0) ||
        (p->record_size_limit != 0 && p->record_size_limit < 64) || p->max_fragment_length > 4)
        return IOTLS_ERR_BAD_ARG;

    size_t msg = iotls__msg_begin(w, IOTLS_HS_ENCRYPTED_EXTENSIONS);
    size_t block = iotls__wr_vec_begin(w, 2);
    size_t ext;
    if (p->groups) {
        ext = iotls__ext_begin(w, IOTLS_EXT_SUPPORTED_GROUPS);
        iotls__ext_write_u16_vec(w, p->groups, p->group_count);
        iotls__ext_end(w, ext);
    }
    if (p->record_size_limit != 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_RECORD_SIZE_LIMIT);
        iotls__wr_u16(w, p->record_size_limit);
        iotls__ext_end(w, ext);
    }
    if (p->server_name_ack) {
        ext = iotls__ext_begin(w, IOTLS_EXT_SERVER_NAME);
        iotls__ext_end(w, ext);
    }
    if (p->early_data) {
        ext = iotls__ext_begin(w, IOTLS_EXT_EARLY_DATA);
        iotls__ext_end(w, ext);
    }
    if (p->max_fragment_length != 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_MAX_FRAGMENT_LENGTH);
        iotls__wr_u8(w, p->max_fragment_length);
        iotls__ext_end(w, ext);
    }
    if (p->alpn) {
        ext = iotls__ext_begin(w, IOTLS_EXT_ALPN);
        size_t list = iotls__wr_vec_begin(w, 2);
        iotls__wr_u8(w, (uint8_t)p->alpn_len);
        iotls__wr_bytes(w, p->alpn, p->alpn_len);
        iotls__wr_vec_end(w, list, 2);
        iotls__ext_end(w, ext);
    }
    iotls__wr_vec_end(w, block, 2);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
