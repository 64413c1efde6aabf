/* Mbed TLS 4.0 configuration (X.509 only) for iotls on a bare-metal board:
 * replaces the default (MBEDTLS_CONFIG_FILE). iotls brings its own TLS, so
 * no SSL module is built; certificate parsing and chain verification are
 * what the PSA provider uses. Certificate writing (the test-PKI generator
 * of src/crypto/psa/pki.c) is compiled for the link to close; the
 * linker's --gc-sections drops it from the image. */
#ifndef IOTLS_BAREMETAL_MBEDTLS_CONFIG_H
#define IOTLS_BAREMETAL_MBEDTLS_CONFIG_H

#define MBEDTLS_CONFIG_VERSION 0x04000000

#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C

#endif
