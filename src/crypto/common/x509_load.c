/* The certificate-loading entry points of crypto.h, the same in every
 * provider: a chain or trust-anchor bundle from memory or a file is one
 * parse by the provider (iotls__x509_parse_mem / iotls__x509_parse_file,
 * crypto_common.h), all or nothing for a chain, certificates the library
 * cannot use skipped and counted for anchors. */
#include "crypto_common.h"

int iotls__x509_load_mem(iotls_x509 *chain, const uint8_t *data, size_t len)
{
    return iotls__x509_parse_mem(chain, data, len, NULL);
}

int iotls__x509_load_file(iotls_x509 *chain, const char *path)
{
    return iotls__x509_parse_file(chain, path, NULL);
}

/* The count is given only when the parse says it, so a caller's *skipped
 * is 0 after any failure. */
int iotls__x509_load_anchors_mem(iotls_x509 *chain, const uint8_t *data, size_t len,
                                 size_t *skipped)
{
    size_t n = 0;
    int rc = iotls__x509_parse_mem(chain, data, len, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
}

int iotls__x509_load_anchors_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    size_t n = 0;
    int rc = iotls__x509_parse_file(chain, path, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
}
