/* iotls_cert_describe (include/iotls/pki.h): a DER certificate as text,
 * through the provider's parser, for logs and tools outside the engine. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

int iotls_cert_describe(const uint8_t *der, size_t len, iotls_cert_text *out)
{
    if (out == NULL)
        return IOTLS_ERR_BAD_ARG;
    snprintf(out->subject, sizeof out->subject, "?");
    snprintf(out->issuer, sizeof out->issuer, "?");
    snprintf(out->key, sizeof out->key, "?");
    out->names[0] = '\0';
    out->not_before = out->not_after = 0;
    memset(out->spki_sha256, 0, sizeof out->spki_sha256);
    out->pin_base64[0] = '\0';
    if (der == NULL || len == 0)
        return IOTLS_ERR_BAD_CERTIFICATE;
    iotls_x509 cert;
    iotls__x509_init(&cert);
    int rc = iotls__x509_add_der(&cert, der, len);
    if (rc == IOTLS_OK) {
        /* A field the library cannot print stays "?": the others still help. */
        if (iotls__x509_subject(&cert, 0, out->subject, sizeof out->subject) != IOTLS_OK)
            snprintf(out->subject, sizeof out->subject, "?");
        if (iotls__x509_issuer(&cert, 0, out->issuer, sizeof out->issuer) != IOTLS_OK)
            snprintf(out->issuer, sizeof out->issuer, "?");
        if (iotls__x509_key_desc(&cert, 0, out->key, sizeof out->key) != IOTLS_OK)
            snprintf(out->key, sizeof out->key, "?");
        if (iotls__x509_sans(&cert, out->names, sizeof out->names) != IOTLS_OK)
            out->names[0] = '\0';
        if (iotls__x509_validity(&cert, 0, &out->not_before, &out->not_after) != IOTLS_OK)
            out->not_before = out->not_after = 0;
        if (iotls__x509_spki_sha256(&cert, out->spki_sha256) != IOTLS_OK ||
            iotls__base64_encode(out->spki_sha256, sizeof out->spki_sha256, out->pin_base64,
                                 sizeof out->pin_base64) != IOTLS_OK)
            out->pin_base64[0] = '\0';
    }
    iotls__x509_free(&cert);
    return rc;
}
