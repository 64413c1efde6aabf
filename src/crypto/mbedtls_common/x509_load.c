/* Loading certificates and the key check of a chain, for the two
 * providers built on Mbed TLS' X.509 module (src/crypto/mbedtls/,
 * src/crypto/psa/), which do both with the same calls: what differs is
 * behind the two functions of mbedtls_common/x509_load.h that each provider's
 * x509.c defines. Built only with the Mbed TLS providers (CMakeLists.txt). */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "crypto/mbedtls_common/x509.h"
#include "crypto/mbedtls_common/pem_input.h"
#include "crypto/mbedtls_common/x509_load.h"

/* The provider hooks of crypto_common.h: the iotls__x509_load_* entry
 * points (common/x509_load.c) parse through these. */
int iotls__x509_parse_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped)
{
    if (chain == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    if (iotls__mbx509_ready() != IOTLS_OK)
        return IOTLS_ERR_CRYPTO;

    iotls_mb_input in;
    int rc = iotls__mb_input_begin(&in, data, len);
    if (rc != IOTLS_OK)
        return rc;
    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    rc = iotls__mbx509_parse_result(mbedtls_x509_crt_parse(&parsed, in.data, in.len), &parsed,
                                    skipped);
    if (rc == IOTLS_OK)
        rc = iotls__mbx509_append_all(chain, &parsed);
    mbedtls_x509_crt_free(&parsed);
    iotls__mb_input_end(&in);
    return rc;
}

int iotls__x509_parse_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    if (chain == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
#if !defined(MBEDTLS_FS_IO)
    /* Mbed TLS without a file system (a bare-metal board): certificates
     * come from memory (iotls__x509_parse_mem). */
    (void)skipped;
    return IOTLS_ERR_UNSUPPORTED;
#else
    if (iotls__mbx509_ready() != IOTLS_OK)
        return IOTLS_ERR_CRYPTO;
    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    int rc =
        iotls__mbx509_parse_result(mbedtls_x509_crt_parse_file(&parsed, path), &parsed, skipped);
    if (rc == IOTLS_OK)
        rc = iotls__mbx509_append_all(chain, &parsed);
    mbedtls_x509_crt_free(&parsed);
    return rc;
#endif
}

int iotls__x509_load_dir(iotls_x509 *chain, const char *dir, size_t *skipped)
{
    if (skipped != NULL)
        *skipped = 0;
    if (chain == NULL || dir == NULL)
        return IOTLS_ERR_BAD_ARG;
#if !defined(MBEDTLS_FS_IO)
    return IOTLS_ERR_UNSUPPORTED; /* no file system in Mbed TLS */
#else
    if (iotls__mbx509_ready() != IOTLS_OK)
        return IOTLS_ERR_CRYPTO;
    /* A system CA directory holds files that are not certificates (links,
     * READMEs, CRLs): keep whatever parses, fail only when nothing did.
     * Mbed TLS returns how many files and certificates it skipped. */
    size_t before = iotls__mbx509_list_count(&chain->crt);
    int ret = mbedtls_x509_crt_parse_path(&chain->crt, dir);
    chain->count = iotls__mbx509_list_count(&chain->crt);
    if (ret < 0)
        return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? IOTLS_ERR_NO_MEMORY : IOTLS_ERR_KEY_LOAD;
    if (skipped != NULL)
        *skipped = (size_t)ret;
    return chain->count > before ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
#endif
}

int iotls__mbx509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits, iotls_x509_why *why)
{
    if (chain == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t i = 0;
    for (const mbedtls_x509_crt *crt = &chain->crt; crt != NULL && crt->raw.p != NULL;
         crt = crt->next, i++) {
        int problem = iotls__mbx509_key_problem(crt, max_rsa_bits);
        if (problem != IOTLS_KEY_OK) {
            why->reason = IOTLS_WHY_KEY_REFUSED;
            why->index = i;
            why->key_problem = problem;
            return IOTLS_ERR_CERT_KEY_REFUSED;
        }
    }
    return IOTLS_OK;
}

int iotls__x509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits)
{
    iotls_x509_why why;
    return iotls__mbx509_check_keys(chain, max_rsa_bits, &why);
}
