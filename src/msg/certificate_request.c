/* CertificateRequest (RFC 8446 section 4.3.2). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

/* Syntax of the extensions iotls does not act on but that have one. */
static int parse_certificate_authorities(iotls_reader *data)
{
    iotls_reader list;
    int rc = iotls__rd_sub16(data, 3, 0xFFFF, &list);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    while (rc == IOTLS_OK && iotls__rd_remaining(&list) > 0) {
        iotls_bytes dn;
        rc = iotls__rd_vec16(&list, 1, 0xFFFF, &dn);
    }
    return rc;
}

int iotls__certificate_request_parse(const uint8_t *body, size_t len,
                                     iotls_certificate_request *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls_bytes block;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_vec8(&r, 0, 255, &out->context);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(&r, 2, 0xFFFF, &block);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;

    iotls_ext_walker wk;
    uint16_t type;
    iotls_reader data;
    iotls__ext_walk_start(&wk, block, IOTLS_HS_CERTIFICATE_REQUEST, 0);
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        switch (type) {
        case IOTLS_EXT_SIGNATURE_ALGORITHMS:
            rc = iotls__ext_parse_u16_list(&data, 2, 0xFFFE, &out->signature_algorithms);
            break;
        case IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT:
            rc = iotls__ext_parse_u16_list(&data, 2, 0xFFFE, &out->signature_algorithms_cert);
            break;
        case IOTLS_EXT_CERTIFICATE_AUTHORITIES:
            rc = parse_certificate_authorities(&data);
            break;
        default:
            /* status_request, SCT, oid_filters and unknown ones: ignored. */
            rc = IOTLS_OK;
            break;
        }
        if (rc != IOTLS_OK)
            return rc;
        out->exts_seen = wk.seen;
    }
    if (rc != 0)
        return rc;
    if (!(out->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS)))
        return IOTLS_ERR_MISSING_EXTENSION;
    return IOTLS_OK;
}

int iotls__certificate_request_write(iotls_writer *w, const uint8_t *context, size_t context_len,
                                     const uint16_t *sig_algs, size_t sig_alg_count)
{
    if ((context_len > 0 && !context) || context_len > 255 || !sig_algs || sig_alg_count == 0)
        return IOTLS_ERR_BAD_ARG;
    size_t msg = iotls__msg_begin(w, IOTLS_HS_CERTIFICATE_REQUEST);
    iotls__wr_u8(w, (uint8_t)context_len);
    iotls__wr_bytes(w, context, context_len);
    size_t block = iotls__wr_vec_begin(w, 2);
    size_t ext = iotls__ext_begin(w, IOTLS_EXT_SIGNATURE_ALGORITHMS);
    iotls__ext_write_u16_vec(w, sig_algs, sig_alg_count);
    iotls__ext_end(w, ext);
    iotls__wr_vec_end(w, block, 2);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
