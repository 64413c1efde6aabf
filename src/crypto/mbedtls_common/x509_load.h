/* What mbedtls_common/x509_load.c (certificate loading and the key check of a
 * chain, shared by the two providers built on Mbed TLS' X.509 module)
 * needs from the provider; each provider's x509.c defines both. Internal
 * to src/crypto/; built only with the Mbed TLS providers. */
#ifndef IOTLS_MBEDTLS_X509_LOAD_H
#define IOTLS_MBEDTLS_X509_LOAD_H

#include <mbedtls/x509_crt.h>

/* IOTLS_OK when the library can parse certificates now (PSA initialised,
 * since Mbed TLS 4 parses keys into PSA). */
int iotls__mbx509_ready(void);
/* IOTLS_KEY_OK when crt's key is inside the profile of
 * iotls__x509_check_keys (include/iotls/config.h: key types, curves, RSA
 * sizes and exponent), else an IOTLS_KEY_* saying why not. */
int iotls__mbx509_key_problem(const mbedtls_x509_crt *crt, unsigned max_rsa_bits);

#endif
