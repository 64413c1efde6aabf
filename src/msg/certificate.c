/* Certificate (RFC 8446 section 4.4.2). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

/* One CertificateEntry: cert_data<1..2^24-1>, extensions<0..2^16-1>. */
static int read_entry(iotls_reader *r, iotls_bytes *der, iotls_bytes *exts)
{
    int rc = iotls__rd_vec24(r, 1, 0xFFFFFF, der);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(r, 0, 0xFFFF, exts);
    return rc;
}

int iotls__certificate_parse(const uint8_t *body, size_t len, iotls_certificate *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_vec8(&r, 0, 255, &out->context);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec24(&r, 0, 0xFFFFFF, &out->certificate_list);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;

    iotls_reader list;
    iotls__rd_init(&list, out->certificate_list.p, out->certificate_list.len);
    while (iotls__rd_remaining(&list) > 0) {
        iotls_bytes der, exts;
        rc = read_entry(&list, &der, &exts);
        if (rc != IOTLS_OK)
            return rc;
        /* The walker reports duplicates and extensions that do not belong
         * in a CertificateEntry; what is left (status_request, SCT) answers
         * a request iotls never makes. */
        iotls_ext_walker wk;
        uint16_t type;
        iotls_reader data;
        iotls__ext_walk_start(&wk, exts, IOTLS_HS_CERTIFICATE, 0);
        rc = iotls__ext_walk_next(&wk, &type, &data);
        if (rc < 0)
            return rc;
        if (rc == 1)
            return IOTLS_ERR_UNSUPPORTED_EXTENSION;
        out->count++;
    }
    return IOTLS_OK;
}

int iotls__certificate_next(iotls_bytes list, size_t *pos, iotls_bytes *der)
{
    if (!list.p || *pos >= list.len)
        return 0;
    iotls_reader r;
    iotls_bytes exts;
    iotls__rd_init(&r, list.p + *pos, list.len - *pos);
    if (read_entry(&r, der, &exts) != IOTLS_OK)
        return 0;
    *pos += r.pos;
    return 1;
}

int iotls__certificate_write(iotls_writer *w, const uint8_t *context, size_t context_len,
                             const uint8_t *const *ders, const size_t *der_lens, size_t count)
{
    if ((context_len > 0 && !context) || context_len > 255 || (count > 0 && (!ders || !der_lens)))
        return IOTLS_ERR_BAD_ARG;
    for (size_t i = 0; i < count; i++) {
        if (!ders[i] || der_lens[i] == 0 || der_lens[i] > 0xFFFFFF)
            return IOTLS_ERR_BAD_ARG;
    }
    size_t msg = iotls__msg_begin(w, IOTLS_HS_CERTIFICATE);
    iotls__wr_u8(w, (uint8_t)context_len);
    iotls__wr_bytes(w, context, context_len);
    size_t list = iotls__wr_vec_begin(w, 3);
    for (size_t i = 0; i < count; i++) {
        iotls__wr_u24(w, (uint32_t)der_lens[i]);
        iotls__wr_bytes(w, ders[i], der_lens[i]);
        iotls__wr_u16(w, 0); /* no entry extensions */
    }
    iotls__wr_vec_end(w, list, 3);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
