/* What the two providers built on Mbed TLS (src/crypto/mbedtls/,
 * src/crypto/psa/) share of the throwaway PKI (iotls_pki_make_cert): the
 * certificate is written by Mbed TLS' X.509 writer in both, and only the
 * calls below differ (how a key is parsed and told apart, the serial
 * setter 2.28 lacks, the writer's generator argument Mbed TLS 4 dropped,
 * PSA's lock). Each provider's pki.c defines them; the calls that touch
 * keys take the provider's lock themselves where it has one. Internal to
 * src/crypto/; built only with the Mbed TLS providers. */
#ifndef IOTLS_MBEDTLS_PKI_COMMON_H
#define IOTLS_MBEDTLS_PKI_COMMON_H

#include <stddef.h>

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

/* IOTLS_OK once the library can be used (PSA initialised), else why not. */
int iotls__mbpki_ready(void);
/* mbedtls_pk_parse_key on a NUL-terminated PEM key: 0 or an Mbed TLS error. */
int iotls__mbpki_parse_key(mbedtls_pk_context *pk, const char *pem);
/* 0 when prv is the private half of pub's key. */
int iotls__mbpki_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv);
/* The signature hash that goes with a signer's key. */
mbedtls_md_type_t iotls__mbpki_md_for_key(const mbedtls_pk_context *pk);
/* 1 for an RSA key, else 0. */
int iotls__mbpki_is_rsa(const mbedtls_pk_context *pk);
/* The serial number from big-endian bytes: 0 or an Mbed TLS error. */
int iotls__mbpki_set_serial(mbedtls_x509write_cert *w, const unsigned char *serial, size_t len);
/* The signed certificate as PEM into out: 0 or an Mbed TLS error. */
int iotls__mbpki_write_crt_pem(mbedtls_x509write_cert *w, char *out, size_t cap);
/* Frees pk (wiping a private key). */
void iotls__mbpki_pk_free(mbedtls_pk_context *pk);

#endif
