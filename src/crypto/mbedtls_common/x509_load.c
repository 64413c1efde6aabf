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
#include "crypto/mbedtls_common/x509_load.h"

/* skipped: NULL for all or nothing, else where the count of skipped
 * certificates goes. */
static int load_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped)
{
    if (chain == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    if (iotls__mbx509_ready() != IOTLS_OK)
        return IOTLS_ERR_CRYPTO;

    /* Mbed TLS reads PEM only from a NUL-ended buffer whose length counts
     * the NUL. */
    const uint8_t *in = data;
    size_t in_len = len;
    uint8_t *copy = NULL;
    if (data[len - 1] != '\0' && iotls__common_looks_pem(data, len)) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return IOTLS_ERR_NO_MEMORY;
        memcpy(copy, data, len);
        copy[len] = '\0';
        in = copy;
        in_len = len + 1;
    }

    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    int rc =
        iotls__mbx509_parse_result(mbedtls_x509_crt_parse(&parsed, in, in_len), &parsed, skipped);
    if (rc == IOTLS_OK)
        rc = iotls__mbx509_append_all(chain, &parsed);
    mbedtls_x509_crt_free(&parsed);
    free(copy);
    return rc;
}

static int load_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    if (chain == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
#if !defined(MBEDTLS_FS_IO)
    /* Mbed TLS without a file system (a bare-metal board): certificates
     * come from memory (load_mem). */
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

int iotls__x509_load_mem(iotls_x509 *chain, const uint8_t *data, size_t len)
{
    return load_mem(chain, data, len, NULL);
}

int iotls__x509_load_file(iotls_x509 *chain, const char *path)
{
    return load_file(chain, path, NULL);
}

int iotls__x509_load_anchors_mem(iotls_x509 *chain, const uint8_t *data, size_t len,
                                 size_t *skipped)
{
    size_t n = 0;
    int rc = load_mem(chain, data, len, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
}

int iotls__x509_load_anchors_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    size_t n = 0;
    int rc = load_file(chain, path, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
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

int iotls__x509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits, char *detail,
                           size_t detail_cap)
{
    if (detail != NULL && detail_cap > 0)
        detail[0] = '\0';
    if (chain == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t i = 0;
    for (const mbedtls_x509_crt *crt = &chain->crt; crt != NULL && crt->raw.p != NULL;
         crt = crt->next, i++) {
        const char *why = iotls__mbx509_key_problem(crt, max_rsa_bits);
        if (why != NULL)
            return iotls__common_key_refused(detail, detail_cap, i, why);
    }
    return IOTLS_OK;
}
