/* What the PSA provider's files share: the lazy psa_crypto_init() (init.c)
 * and the translations between iotls' identifiers and PSA's. Internal to
 * src/crypto/psa/. */
#ifndef IOTLS_PSA_GLUE_H
#define IOTLS_PSA_GLUE_H

#include <stddef.h>
#include <string.h>

#include <mbedtls/build_info.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <psa/crypto.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

/* ECDSA as the provider signs: deterministic (RFC 6979) where the library
 * has it, so no signature depends on the generator (see random.c on
 * fork()); verification accepts either kind whatever this says. */
#if defined(PSA_WANT_ALG_DETERMINISTIC_ECDSA)
#define IOTLS_PSA_ECDSA(hash) PSA_ALG_DETERMINISTIC_ECDSA(hash)
#else
#define IOTLS_PSA_ECDSA(hash) PSA_ALG_ECDSA(hash)
#endif

/* The longest DER ECDSA-Sig-Value for a curve of bits: SEQUENCE header (3)
 * and two INTEGERs of a coordinate each, with header (2) and a leading
 * zero (1). */
#define IOTLS_PSA_ECDSA_DER_MAX(bits) (3 + 2 * (3 + PSA_BITS_TO_BYTES(bits)))

/* psa_crypto_init() once per process (further calls are cheap): IOTLS_OK,
 * or IOTLS_ERR_CRYPTO when PSA cannot start (no entropy source, ...). */
int iotls__psa_ready(void);

/* 1 in a fork()ed child of the process that initialised PSA: the child
 * holds a copy of the parent's generator state (random.c refuses to use
 * it). 0 elsewhere, and always 0 where there is no fork(). */
int iotls__psa_forked(void);

/* Around every provider call that reaches the PSA key store or the PSA
 * generator (directly, or through mbedtls_pk / X.509): no-ops when Mbed
 * TLS has MBEDTLS_THREADING_C, which makes those thread-safe itself; a
 * mutex otherwise (Mbed TLS 3.6's default configuration, for one), so
 * that iotls' own threads (a server's connection threads) never race in
 * them. Never held while calling iotls__random, and never taken twice. */
#if defined(MBEDTLS_THREADING_C)
static inline void iotls__psa_lock(void) {}
static inline void iotls__psa_unlock(void) {}
#else
void iotls__psa_lock(void);
void iotls__psa_unlock(void);
#endif

/* PSA_ALG_SHA_256 / _384 / _512 for an iotls_hash_alg; 0 for another. */
psa_algorithm_t iotls__psa_hash_alg(int alg);

/* Destroys *key when it names one and sets it to PSA_KEY_ID_NULL.
 * psa_destroy_key wipes the key material in the key store. */
void iotls__psa_destroy(psa_key_id_t *key);

/* The iotls error for a PSA failure that is ours, not the peer's. */
int iotls__psa_error(psa_status_t status);

/* A public key taken from a certificate, imported as a volatile PSA key
 * for verify_hash with alg (mbedtls_pk_get_psa_attributes +
 * mbedtls_pk_import_into_psa). alg 0 keeps the library's default policy
 * (enough to export the public key). */
int iotls__psa_import_public(const mbedtls_pk_context *pk, psa_algorithm_t alg, psa_key_id_t *key);

/* SHA-256 of a public key in PSA's export format (the point, or the
 * RSAPublicKey): what iotls__x509_matches_key compares.
 * iotls__psa_key_public_sha256 exports it from a key in the key store,
 * which computes nothing for a public key or an RSA key pair (n and e are
 * part of the private key) but is a scalar multiplication for an ECC key
 * pair. iotls__psa_public_sha256 takes the public key pk holds, whether
 * pk is a certificate's key or a parsed EC private key: never computed
 * here, since a parsed EC key holds the public half the file gave (SEC1
 * and PKCS#8 files written by OpenSSL and by Mbed TLS carry it) or that
 * Mbed TLS derived from the private key while parsing a file without it;
 * importing it as a public key only checks that the point is on the
 * curve. (Mbed TLS 4 keeps no public half beside a parsed RSA private
 * key: that one is exported from the key store.) */
int iotls__psa_key_public_sha256(psa_key_id_t key, uint8_t out[32]);
int iotls__psa_public_sha256(const mbedtls_pk_context *pk, uint8_t out[32]);

/* Type and size of a certificate's public key, without importing it.
 * IOTLS_OK, or IOTLS_ERR_CRYPTO when the library does not know the key. */
int iotls__psa_pk_info(const mbedtls_pk_context *pk, psa_key_type_t *type, size_t *bits);

/* 1 when a key of type/bits suits scheme's key: ECDSA on exactly its
 * curve, any RSA key for the RSA schemes (pk.c). */
int iotls__psa_key_fits(psa_key_type_t type, size_t bits, const iotls_common_scheme *s);

/* mbedtls_pk_parse_key / _keyfile with an optional password (NULL: none):
 * Mbed TLS 4 takes no generator, 3.6 wants one (PSA's). The buffer rules
 * are the same: PEM must be NUL-ended and len must count the NUL. */
static inline int iotls__psa_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key,
                                          size_t key_len, const char *password)
{
    const unsigned char *pwd = (const unsigned char *)password;
    size_t pwd_len = password != NULL ? strlen(password) : 0;
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    return mbedtls_pk_parse_key(pk, key, key_len, pwd, pwd_len);
#else
    return mbedtls_pk_parse_key(pk, key, key_len, pwd, pwd_len, mbedtls_psa_get_random,
                                MBEDTLS_PSA_RANDOM_STATE);
#endif
}

#if defined(MBEDTLS_FS_IO)
static inline int iotls__psa_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                              const char *password)
{
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    return mbedtls_pk_parse_keyfile(pk, path, password);
#else
    return mbedtls_pk_parse_keyfile(pk, path, password, mbedtls_psa_get_random,
                                    MBEDTLS_PSA_RANDOM_STATE);
#endif
}
#endif

#endif
