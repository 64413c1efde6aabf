/* Forced into the PSA provider's files by build-firmware.sh: the provider
 * refers to Mbed TLS' file-based parsers without an MBEDTLS_FS_IO guard,
 * and the board's Mbed TLS has no file system (mbedtls/crypto_config.h).
 * no_fs.c defines them as failing; the firmware never calls them (its files
 * reach memory through semihosting first) and --gc-sections leaves them
 * out of the image. */
#ifndef IOTLS_BAREMETAL_NO_FS_H
#define IOTLS_BAREMETAL_NO_FS_H

#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#if !defined(MBEDTLS_FS_IO)
int mbedtls_pk_parse_keyfile(mbedtls_pk_context *ctx, const char *path, const char *password);
int mbedtls_x509_crt_parse_file(mbedtls_x509_crt *chain, const char *path);
int mbedtls_x509_crt_parse_path(mbedtls_x509_crt *chain, const char *path);
#endif

#endif
