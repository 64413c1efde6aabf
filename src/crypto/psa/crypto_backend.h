/* Context types of the PSA Crypto provider: Mbed TLS 4 / TF-PSA-Crypto 1
 * (the series ESP-IDF 6 ships; mbedTLS 3.6 works too), built on the PSA
 * Crypto API alone. Every
 * key the provider holds (AEAD keys, key-share private keys, our signing
 * key) lives in the PSA key store and is named here by its key id only;
 * the free functions destroy it there. A zero-filled struct is "empty"
 * (PSA_KEY_ID_NULL is 0 and a zeroed hash operation is an inactive one),
 * and *_free on it is a no-op.
 *
 * psa_crypto_init(): the provider calls it itself on first use, from
 * whichever of its functions runs first (src/crypto/psa/init.c); an
 * application may call it earlier, since the call is idempotent. What the
 * application must do is in docs/psa.md: keep PSA initialised (no
 * mbedtls_psa_crypto_free()) while any iotls object lives, build Mbed TLS
 * with MBEDTLS_THREADING_C when iotls and other code use PSA from several
 * threads (without it the provider only serialises its own calls), and
 * not use a connection in a fork()ed child of a process that already used
 * the provider (the PSA generator cannot be reseeded: iotls__random fails
 * there instead of repeating the parent's output). */
#ifndef IOTLS_CRYPTO_BACKEND_H
#define IOTLS_CRYPTO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

/* Lets a test or a program tell the backends apart at compile time. */
#define IOTLS_CRYPTO_BACKEND_PSA 1

typedef struct iotls_hash_ctx {
    psa_hash_operation_t op;
    int alg;    /* iotls_hash_alg */
    int active; /* op is set up and must be aborted */
} iotls_hash_ctx;

typedef struct iotls_aead_ctx {
    psa_key_id_t key; /* usable for encrypt and decrypt with alg */
    psa_algorithm_t alg;
    uint8_t tag_len; /* 16, or 8 for CCM_8 */
    int active;
} iotls_aead_ctx;

typedef struct iotls_kex_ctx {
    psa_key_id_t key; /* our ephemeral key pair, usage DERIVE, PSA_ALG_ECDH */
    uint16_t group;
    int active;
} iotls_kex_ctx;

typedef struct iotls_pkey {
    psa_key_id_t key;    /* the private key, usage SIGN_HASH */
    psa_key_type_t type; /* PSA_KEY_TYPE_RSA_KEY_PAIR or an ECC key pair type */
    size_t bits;
    /* SHA-256 of its public half as the key file gave it (or as Mbed TLS
     * derived it while parsing a file without one): what the certificate
     * must name (iotls__x509_matches_key), kept because key holds the
     * private key only and exporting its public half from there would be
     * a scalar multiplication on every check. */
    uint8_t pub_sha256[32];
    int loaded;
    int why; /* enum iotls_pkey_why of the last failed load */
} iotls_pkey;

typedef struct iotls_x509 {
    mbedtls_x509_crt crt;
    size_t count;
} iotls_x509;

typedef struct iotls_crl {
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    mbedtls_x509_crl crl;
#endif
    size_t count;
} iotls_crl;

#endif
