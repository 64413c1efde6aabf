/* Certificate revocation lists: loaded with OpenSSL's PEM and DER
 * readers into a stack that iotls__x509_verify hands to each verification
 * (X509_STORE_CTX_set0_crls), so the trust store stays the CA chain's. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "ossl.h"

void iotls__crl_init(iotls_crl *crls)
{
    if (crls == NULL)
        return;
    crls->crls = NULL;
    crls->count = 0;
}

void iotls__crl_free(iotls_crl *crls)
{
    if (crls == NULL)
        return;
    sk_X509_CRL_pop_free(crls->crls, X509_CRL_free);
    iotls__crl_init(crls);
}

size_t iotls__crl_count(const iotls_crl *crls)
{
    return crls != NULL ? crls->count : 0;
}

/* Every "X509 CRL" block of a PEM buffer into parsed; any other block or
 * one that does not decode fails the whole. */
static int parse_pem(BIO *bio, STACK_OF(X509_CRL) * parsed)
{
    for (;;) {
        ERR_set_mark();
        X509_CRL *crl = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL);
        if (crl == NULL) {
            unsigned long e = ERR_peek_last_error();
            ERR_pop_to_mark();
            /* No further BEGIN line is the normal end of the buffer. */
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE &&
                sk_X509_CRL_num(parsed) > 0)
                return IOTLS_OK;
            return IOTLS_ERR_BAD_CERTIFICATE;
        }
        ERR_pop_to_mark();
        if (!sk_X509_CRL_push(parsed, crl)) {
            X509_CRL_free(crl);
            return IOTLS_ERR_NO_MEMORY;
        }
    }
}

int iotls__crl_load_mem(iotls_crl *crls, const uint8_t *data, size_t len)
{
    if (crls == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    if (len > INT_MAX)
        return IOTLS_ERR_BAD_CERTIFICATE;
    if (crls->crls == NULL && (crls->crls = sk_X509_CRL_new_null()) == NULL)
        return IOTLS_ERR_NO_MEMORY;
    STACK_OF(X509_CRL) *parsed = sk_X509_CRL_new_null();
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    int rc = IOTLS_ERR_NO_MEMORY;
    if (parsed == NULL || bio == NULL)
        goto out;
    if (iotls__common_looks_pem(data, len)) {
        rc = parse_pem(bio, parsed);
    } else {
        X509_CRL *crl = d2i_X509_CRL_bio(bio, NULL);
        rc = crl == NULL ? IOTLS_ERR_BAD_CERTIFICATE : IOTLS_OK;
        if (crl != NULL && !sk_X509_CRL_push(parsed, crl)) {
            X509_CRL_free(crl);
            rc = IOTLS_ERR_NO_MEMORY;
        }
    }
    /* All or none: moved over only when every block parsed. */
    while (rc == IOTLS_OK && sk_X509_CRL_num(parsed) > 0) {
        X509_CRL *crl = sk_X509_CRL_shift(parsed);
        if (!sk_X509_CRL_push(crls->crls, crl)) {
            X509_CRL_free(crl);
            rc = IOTLS_ERR_NO_MEMORY;
            break;
        }
        crls->count++;
    }
out:
    BIO_free(bio);
    sk_X509_CRL_pop_free(parsed, X509_CRL_free);
    ERR_clear_error();
    return rc;
}

int iotls__crl_load_file(iotls_crl *crls, const char *path)
{
    if (crls == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = iotls__ossl_read_file(path, &data, &len);
    if (rc != IOTLS_OK)
        return rc;
    rc = len > 0 ? iotls__crl_load_mem(crls, data, len) : IOTLS_ERR_BAD_CERTIFICATE;
    free(data);
    return rc;
}
