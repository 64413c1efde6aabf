/* The file-based Mbed TLS parsers on a board without a file system: each
 * fails as the library's own would on an unreadable file (no_fs.h says
 * why they exist at all). */
#include "no_fs.h"

#if !defined(MBEDTLS_FS_IO)
int mbedtls_pk_parse_keyfile(mbedtls_pk_context *ctx, const char *path, const char *password)
{
    (void)ctx;
    (void)path;
    (void)password;
    return MBEDTLS_ERR_PK_FILE_IO_ERROR;
}

int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path)
{
    (void)chain;
    (void)path;
    return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}

int mbedtls_x509_crt_parse_path(mbedtls_x509_crt *chain, const char *path)
{
    (void)chain;
    (void)path;
    return MBEDTLS_ERR_X509_FILE_IO_ERROR;
}
#endif
