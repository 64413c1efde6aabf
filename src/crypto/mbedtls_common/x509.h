/* What the two providers built on Mbed TLS' X.509 module share
 * (src/crypto/mbedtls/ for mbedTLS 2.28 / 3.6, src/crypto/psa/ for Mbed
 * TLS 4 and 3.6): the chain as an mbedtls_x509_crt list, host name
 * matching, the policy's clock, the verdicts and their texts, the names of a
 * certificate. Everything here reads fields public in all those versions.
 * Internal to src/crypto/; compiled to nothing with the OpenSSL provider. */
#ifndef IOTLS_MBEDTLS_X509_COMMON_H
#define IOTLS_MBEDTLS_X509_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

/* GeneralName tags as they appear in crt->subject_alt_names entries. */
#define IOTLS_MBX509_SAN_RFC822 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_RFC822_NAME)
#define IOTLS_MBX509_SAN_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)
#define IOTLS_MBX509_SAN_URI                                                                       \
    (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER)
#define IOTLS_MBX509_SAN_IP (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)

/* Certificates in a list (an empty one is one node with no raw data). */
size_t iotls__mbx509_list_count(const mbedtls_x509_crt *crt);
/* The i-th certificate of chain (0: the leaf), or NULL. */
const mbedtls_x509_crt *iotls__mbx509_nth(const iotls_x509 *chain, size_t i);
/* Appends every certificate of parsed (already checked) to chain with
 * the provider's iotls__x509_add_der. */
int iotls__mbx509_append_all(iotls_x509 *chain, const mbedtls_x509_crt *parsed);
/* The iotls result of mbedtls_x509_crt_parse / _parse_file into parsed;
 * skipped: NULL for all or nothing, else where the count of certificates
 * that did not parse goes. */
int iotls__mbx509_parse_result(int ret, const mbedtls_x509_crt *parsed, size_t *skipped);
/* 1 when the leaf crt is for host (DNS name or IP literal), else 0. */
int iotls__mbx509_host_matches(const mbedtls_x509_crt *crt, const char *host);
/* An X.509 time as Unix time. */
int64_t iotls__mbx509_time_unix(const mbedtls_x509_time *t);
/* The list to give mbedtls_x509_crt_verify: NULL when crls holds none
 * (or mbedTLS is built without CRL support). */
mbedtls_x509_crl *iotls__mbx509_crl_list(const iotls_crl *crls);
/* The verdict on mbedtls_x509_crt_verify's flags for chain under the
 * revocation policy of crypto.h: IOTLS_OK, or the error with its reason
 * in why. */
int iotls__mbx509_verdict(const iotls_x509 *chain, const iotls_crl *crls, uint32_t flags,
                          iotls_x509_why *why);
/* What follows mbedtls_x509_crt_verify's result (ret, flags) in both
 * providers: the verdict on the flags under the revocation policy, the
 * leaf's key usage and extended key usage for its role (RFC 8446
 * 4.4.2.2), and the host name. IOTLS_OK or the error, its reason in why
 * (no text: iotls__x509_verify_explain writes that from why). */
int iotls__mbx509_conclude(const iotls_x509 *chain, const iotls_x509_policy *policy, int ret,
                           uint32_t flags, iotls_x509_why *why);
/* The iotls error for mbedtls_x509_crt_verify flags. */
int iotls__mbx509_flags_to_error(uint32_t flags);
/* The sentence for the same flags. */
const char *iotls__mbx509_flags_text(uint32_t flags);
/* iotls__x509_check_keys with the refused key's index and problem in why. */
int iotls__mbx509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits, iotls_x509_why *why);
/* The provider's verification (each provider's x509.c defines it): the
 * verdict of crypto.h's iotls__x509_verify, its reason in why. The shared
 * iotls__x509_verify and iotls__x509_verify_explain run it. */
int iotls__mbx509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy,
                         iotls_x509_why *why);

#endif
