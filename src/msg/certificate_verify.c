/* CertificateVerify (RFC 8446 section 4.4.3). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

int iotls__certificate_verify_parse(const uint8_t *body, size_t len, iotls_certificate_verify *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_u16(&r, &out->scheme);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(&r, 0, 0xFFFF, &out->signature);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    return rc;
}

int iotls__certificate_verify_write(iotls_writer *w, uint16_t scheme, const uint8_t *sig,
                                    size_t sig_len)
{
    if ((sig_len > 0 && !sig) || sig_len > 0xFFFF)
        return IOTLS_ERR_BAD_ARG;
    size_t msg = iotls__msg_begin(w, IOTLS_HS_CERTIFICATE_VERIFY);
    iotls__wr_u16(w, scheme);
    iotls__wr_u16(w, (uint16_t)sig_len);
    iotls__wr_bytes(w, sig, sig_len);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}

int iotls__certificate_verify_content(int by_server, const uint8_t *transcript_hash,
                                      size_t hash_len, uint8_t *out, size_t cap, size_t *out_len)
{
    static const char server_context[] = "TLS 1.3, server CertificateVerify";
    static const char client_context[] = "TLS 1.3, client CertificateVerify";
    /* Both context strings have the same length; sizeof includes the 0x00
     * separator the content needs after the string. */
    const size_t context_len = sizeof(server_context);
    if (!transcript_hash || hash_len == 0 || hash_len > 64 || !out || !out_len)
        return IOTLS_ERR_BAD_ARG;
    size_t total = 64 + context_len + hash_len;
    if (cap < total)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    memset(out, 0x20, 64);
    memcpy(out + 64, by_server ? server_context : client_context, context_len);
    memcpy(out + 64 + context_len, transcript_hash, hash_len);
    *out_len = total;
    return IOTLS_OK;
}
