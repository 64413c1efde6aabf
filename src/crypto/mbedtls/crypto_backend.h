/* Context types of the mbedTLS backend. Only the legacy public API is used,
 * never a private struct field, so the same source builds against mbedTLS
 * 2.28 (Debian) and 3.6 (ESP-IDF 5). The core only embeds these structs and
 * passes pointers to them; it never looks inside. */
#ifndef IOTLS_CRYPTO_BACKEND_H
#define IOTLS_CRYPTO_BACKEND_H

#include <mbedtls/cipher.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

typedef struct iotls_hash_ctx {
    mbedtls_md_context_t md;
    int alg;    /* iotls_hash_alg */
    int active; /* md is set up and must be freed */
} iotls_hash_ctx;

typedef struct iotls_aead_ctx {
    mbedtls_cipher_context_t cipher;
    int alg;
    int active;
} iotls_aead_ctx;

typedef struct iotls_kex_ctx {
    mbedtls_ecp_group grp;
    mbedtls_mpi d; /* our private scalar */
    uint16_t group;
    int active;
} iotls_kex_ctx;

typedef struct iotls_pkey {
    mbedtls_pk_context pk;
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
