/* Context types of the OpenSSL 3 (libcrypto) backend, for gateways and
 * hosts. Every context is a plain struct of pointers to OpenSSL objects plus
 * a few plain fields, so a zero-filled struct is "empty" and *_free on it is
 * a no-op. Only <openssl/types.h> (forward declarations) is pulled in: the
 * core embeds these structs and never looks inside. */
#ifndef IOTLS_CRYPTO_BACKEND_H
#define IOTLS_CRYPTO_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

/* Lets a test or a program tell the backends apart at compile time. */
#define IOTLS_CRYPTO_BACKEND_OPENSSL 1

typedef struct iotls_hash_ctx {
    EVP_MD_CTX *md;
    int alg;    /* iotls_hash_alg */
    int active; /* md is allocated and must be freed */
} iotls_hash_ctx;

typedef struct iotls_aead_ctx {
    EVP_CIPHER_CTX *cipher;  /* keyed once; each seal/open sets nonce and direction */
    EVP_CIPHER_CTX *decrypt; /* CCM only: keyed for decryption (aead.c says why) */
    int alg;
    int active;
    /* The key (IOTLS_MAX_AEAD_KEY_LEN bytes at most), from which a parked
     * context (cipher NULL while active: iotls__aead_park) is rebuilt. */
    uint8_t key[32];
    uint8_t key_len;
} iotls_aead_ctx;

typedef struct iotls_kex_ctx {
    EVP_PKEY *key; /* our ephemeral key pair */
    uint16_t group;
    int active;
} iotls_kex_ctx;

typedef struct iotls_pkey {
    EVP_PKEY *key;
    int loaded;
    int why; /* enum iotls_pkey_why of the last failed load */
} iotls_pkey;

/* One certificate: the parsed object and the DER exactly as it was given
 * (iotls__x509_der hands out views of it; OpenSSL keeps no public copy). */
typedef struct iotls_ossl_cert {
    X509 *x509;
    uint8_t *der;
    size_t der_len;
} iotls_ossl_cert;

typedef struct iotls_x509 {
    iotls_ossl_cert *certs; /* certs[0] is the first added (the leaf) */
    size_t count;
    size_t cap;
    /* The same certificates as a store, kept up to date as they are added,
     * so a chain used as trust anchors verifies without rebuilding it. */
    X509_STORE *store;
} iotls_x509;

/* The CRLs of a configuration (src/crypto/openssl/crl.c). */
typedef struct iotls_crl {
    struct stack_st_X509_CRL *crls; /* STACK_OF(X509_CRL); NULL until one is loaded */
    size_t count;
} iotls_crl;

#endif
