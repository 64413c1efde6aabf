/* Helpers shared by the files of the OpenSSL backend (not part of the
 * provider interface). */
#ifndef IOTLS_OSSL_H
#define IOTLS_OSSL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "crypto/crypto.h"

/* The digest for an iotls_hash_alg, fetched once per process (an implicit
 * fetch on every EVP_DigestInit is measurably slower in OpenSSL 3.0). NULL
 * for an unknown alg. Defined in md.c. */
const EVP_MD *iotls__ossl_md(int alg);

/* What a TLS signature scheme asks of the key and how it hashes. */
typedef struct {
    int hash; /* iotls_hash_alg */
    size_t hash_len;
    const char *curve; /* ECDSA: the one group allowed ("P-256"...); else NULL */
    int rsa_pss;       /* 1: RSASSA-PSS with an rsaEncryption key */
    int rsa_pkcs1;     /* 1: PKCS#1 v1.5 (certificates only) */
} iotls_ossl_scheme;

/* 0 and *out filled for a scheme this backend knows, -1 otherwise. Defined
 * in pk.c. */
int iotls__ossl_scheme_info(uint16_t scheme, iotls_ossl_scheme *out);

/* 1 when key can make (or check) scheme's CertificateVerify signature:
 * ECDSA on exactly the scheme's curve, RSA-PSS with an rsaEncryption key
 * long enough for a salt of the hash's length. Defined in pk.c. */
int iotls__ossl_key_fits_cv(const EVP_PKEY *key, const iotls_ossl_scheme *s);

/* 1 when key is an EC key on the named group ("P-256", "P-384"). */
int iotls__ossl_ec_group_is(const EVP_PKEY *key, const char *group);

/* Reads a whole file into a malloc'ed buffer with one spare byte set to 0
 * after the data (not counted in *len). IOTLS_ERR_KEY_LOAD when it cannot
 * be read. Defined in x509.c. */
int iotls__ossl_read_file(const char *path, uint8_t **data, size_t *len);

#endif
