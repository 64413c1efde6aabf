/* The few mbedTLS calls whose signature changed between 2.28 (Debian) and
 * 3.x (ESP-IDF 5), behind one name each so the backend source is the same
 * for both. Everything else in the backend uses calls that did not change.
 * Selected on MBEDTLS_VERSION_NUMBER; append new wrappers at the end. */
#ifndef IOTLS_MBEDTLS_COMPAT_H
#define IOTLS_MBEDTLS_COMPAT_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define IOTLS_MBEDTLS_3 1
#else
#define IOTLS_MBEDTLS_3 0
#endif

/* f_rng for every mbedTLS call that wants one: the provider's generator, so
 * tests that override iotls__random also control key generation and
 * signature nonces. */
static inline int iotls__mbedtls_rng(void *unused, unsigned char *out, size_t len)
{
    (void)unused;
    return iotls__random(out, len) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

/* mbedtls_pk_sign: 3.x adds the signature buffer's size. */
static inline int iotls__compat_pk_sign(mbedtls_pk_context *pk, mbedtls_md_type_t md_alg,
                                        const unsigned char *hash, size_t hash_len,
                                        unsigned char *sig, size_t sig_size, size_t *sig_len)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_pk_sign(pk, md_alg, hash, hash_len, sig, sig_size, sig_len, iotls__mbedtls_rng,
                           NULL);
#else
    /* 2.28 is not told the buffer's size: refuse one that could be too
     * small for this key's longest signature. */
    size_t need = 0;
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA)
        need = mbedtls_pk_get_len(pk);
    else if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA))
        need = MBEDTLS_ECDSA_MAX_SIG_LEN(mbedtls_pk_get_bitlen(pk));
    if (need == 0 || sig_size < need)
        return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
    return mbedtls_pk_sign(pk, md_alg, hash, hash_len, sig, sig_len, iotls__mbedtls_rng, NULL);
#endif
}

/* mbedtls_pk_parse_key / _keyfile: 3.x add f_rng (used for blinding). The
 * buffer rules are the same: PEM must be NUL-ended and len must count the
 * NUL. */
static inline int iotls__compat_pk_parse_key(mbedtls_pk_context *pk, const unsigned char *key,
                                             size_t key_len, const unsigned char *pwd,
                                             size_t pwd_len)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_pk_parse_key(pk, key, key_len, pwd, pwd_len, iotls__mbedtls_rng, NULL);
#else
    return mbedtls_pk_parse_key(pk, key, key_len, pwd, pwd_len);
#endif
}

static inline int iotls__compat_pk_parse_keyfile(mbedtls_pk_context *pk, const char *path,
                                                 const char *password)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_pk_parse_keyfile(pk, path, password, iotls__mbedtls_rng, NULL);
#else
    return mbedtls_pk_parse_keyfile(pk, path, password);
#endif
}

/* mbedtls_ecdsa_write_signature: 3.x adds the signature buffer's size. */
static inline int iotls__compat_ecdsa_write_signature(mbedtls_ecdsa_context *ctx,
                                                      mbedtls_md_type_t md_alg,
                                                      const unsigned char *hash, size_t hash_len,
                                                      unsigned char *sig, size_t sig_size,
                                                      size_t *sig_len)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_ecdsa_write_signature(ctx, md_alg, hash, hash_len, sig, sig_size, sig_len,
                                         iotls__mbedtls_rng, NULL);
#else
    if (sig_size < MBEDTLS_ECDSA_MAX_LEN)
        return MBEDTLS_ERR_ECP_BUFFER_TOO_SMALL;
    return mbedtls_ecdsa_write_signature(ctx, md_alg, hash, hash_len, sig, sig_len,
                                         iotls__mbedtls_rng, NULL);
#endif
}

/* mbedtls_pk_check_pair: 3.x adds f_rng. 0 when pub and prv are one pair. */
static inline int iotls__compat_pk_check_pair(const mbedtls_pk_context *pub,
                                              const mbedtls_pk_context *prv)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_pk_check_pair(pub, prv, iotls__mbedtls_rng, NULL);
#else
    return mbedtls_pk_check_pair(pub, prv);
#endif
}

/* mbedtls_rsa_set_padding: void in 2.28, int (checks its arguments) in 3.x.
 * hash_id also names the MGF1 hash for PSS. */
static inline int iotls__compat_rsa_set_padding(mbedtls_rsa_context *rsa, int padding,
                                                mbedtls_md_type_t hash_id)
{
#if IOTLS_MBEDTLS_3
    return mbedtls_rsa_set_padding(rsa, padding, hash_id);
#else
    mbedtls_rsa_set_padding(rsa, padding, (int)hash_id);
    return 0;
#endif
}

/* The curve of an EC key. 2.28 has no accessor, but its fields are public;
 * 3.6 has mbedtls_ecp_keypair_get_group_id (mbedtls_pk_get_ec_group_id is
 * internal); 3.0-3.5 only offer a copy through mbedtls_ecp_export.
 * MBEDTLS_ECP_DP_NONE when pk is not an EC key. */
static inline mbedtls_ecp_group_id iotls__compat_pk_ec_group(const mbedtls_pk_context *pk)
{
    if (!mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY))
        return MBEDTLS_ECP_DP_NONE;
#if MBEDTLS_VERSION_NUMBER >= 0x03060000
    return mbedtls_ecp_keypair_get_group_id(mbedtls_pk_ec(*pk));
#elif IOTLS_MBEDTLS_3
    {
        mbedtls_ecp_group grp;
        mbedtls_mpi d;
        mbedtls_ecp_point q;
        mbedtls_ecp_group_id id = MBEDTLS_ECP_DP_NONE;
        mbedtls_ecp_group_init(&grp);
        mbedtls_mpi_init(&d);
        mbedtls_ecp_point_init(&q);
        if (mbedtls_ecp_export(mbedtls_pk_ec(*pk), &grp, &d, &q) == 0)
            id = grp.id;
        mbedtls_ecp_group_free(&grp);
        mbedtls_mpi_free(&d);
        mbedtls_ecp_point_free(&q);
        return id;
    }
#else
    return mbedtls_pk_ec(*pk)->grp.id;
#endif
}

/* mbedtls_x509write_crt_set_serial is deprecated from 3.4 in favour of the
 * raw-bytes form; serial is big-endian, positive (top bit clear). */
static inline int iotls__compat_x509write_crt_set_serial(mbedtls_x509write_cert *crt,
                                                         const unsigned char *serial,
                                                         size_t serial_len)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
    return mbedtls_x509write_crt_set_serial_raw(crt, (unsigned char *)serial, serial_len);
#else
    mbedtls_mpi n;
    int ret;
    mbedtls_mpi_init(&n);
    ret = mbedtls_mpi_read_binary(&n, serial, serial_len);
    if (ret == 0)
        ret = mbedtls_x509write_crt_set_serial(crt, &n);
    mbedtls_mpi_free(&n);
    return ret;
#endif
}

/* ---- Shared by pk.c and x509.c (not a version difference) ---- */

/* What a TLS signature scheme asks of the key and how it hashes. */
typedef struct {
    mbedtls_md_type_t md;
    size_t hash_len;
    mbedtls_ecp_group_id curve; /* ECDSA: the one curve allowed; else NONE */
    int rsa_pss;                /* 1: RSASSA-PSS with an rsaEncryption key */
    int rsa_pkcs1;              /* 1: PKCS#1 v1.5 (certificates only) */
} iotls_mbedtls_scheme;

/* 0 and *out filled for a scheme iotls knows (iotls__common_scheme_info,
 * in mbedTLS's identifiers), -1 otherwise. */
static inline int iotls__mbedtls_scheme_info(uint16_t scheme, iotls_mbedtls_scheme *out)
{
    iotls_common_scheme s;
    if (iotls__common_scheme_info(scheme, &s) != 0)
        return -1;
    out->md = s.hash == IOTLS_HASH_SHA512   ? MBEDTLS_MD_SHA512
              : s.hash == IOTLS_HASH_SHA384 ? MBEDTLS_MD_SHA384
                                            : MBEDTLS_MD_SHA256;
    out->hash_len = s.hash_len;
    out->curve = s.curve == IOTLS_GROUP_SECP256R1   ? MBEDTLS_ECP_DP_SECP256R1
                 : s.curve == IOTLS_GROUP_SECP384R1 ? MBEDTLS_ECP_DP_SECP384R1
                                                    : MBEDTLS_ECP_DP_NONE;
    out->rsa_pss = s.rsa_pss;
    out->rsa_pkcs1 = s.rsa_pkcs1;
    return 0;
}

#endif
