/* Certificates: loading, chain verification with the iotls policy, and the
 * public-key operations on the peer's leaf (CertificateVerify, pinning).
 *
 * mbedTLS parses and verifies; this file only decides policy and reads
 * fields that are public in both mbedTLS 2.28 and 3.6 (raw, subject,
 * issuer, valid_from, valid_to, pk, subject_alt_names, next). The host name
 * check is done here, not by mbedTLS: 2.28 matches the expected name against
 * every SAN entry's raw bytes whatever its type (an iPAddress 97.98.99.100
 * would match the name "abcd") and never matches an IP address at all.
 * That check, the chain list and the names are shared with the PSA
 * provider in src/crypto/mbedtls_common/x509.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "compat.h"
#include "crypto/common/crypto_common.h"
#include "crypto/mbedtls_common/x509.h"
#include "crypto/mbedtls_common/x509_load.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* What we accept anywhere in a chain: SHA-2 signatures, RSA >= 2048 bits,
 * the two NIST curves TLS 1.3 clients offer. mbedTLS checks a key against
 * it only next to the signature work; the presented keys are checked
 * before (iotls__x509_check_keys), with the upper bounds it lacks. */
static const mbedtls_x509_crt_profile iotls_profile = {
    .allowed_mds = MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    .allowed_pks = MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSASSA_PSS),
    .allowed_curves = MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1) |
                      MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP384R1),
    .rsa_min_bitlen = 2048,
};

int iotls__x509_add_der(iotls_x509 *chain, const uint8_t *der, size_t len)
{
    if (chain == NULL || der == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    int ret = mbedtls_x509_crt_parse_der(&chain->crt, der, len);
    chain->count = iotls__mbx509_list_count(&chain->crt);
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    return ret == 0 ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
}

/* ---- the key profile (before any signature) ---- */

/* The public exponent of an RSA key, when it fits in 64 bits (0 when it
 * does not: mbedtls_rsa_export_raw refuses a buffer too short for E). */
static int rsa_exponent(const mbedtls_pk_context *pk, uint64_t *e)
{
    const mbedtls_rsa_context *rsa = mbedtls_pk_rsa(*pk);
    unsigned char be[8];
    if (rsa == NULL ||
        mbedtls_rsa_export_raw(rsa, NULL, 0, NULL, 0, NULL, 0, NULL, 0, be, sizeof be) != 0)
        return 0;
    *e = 0;
    for (size_t i = 0; i < sizeof be; i++)
        *e = *e << 8 | be[i];
    return 1;
}

/* IOTLS_KEY_OK when pk is inside the profile of iotls__x509_check_keys,
 * else an IOTLS_KEY_* saying why not. mbedTLS parses rsaEncryption keys as MBEDTLS_PK_RSA and EC
 * keys as MBEDTLS_PK_ECKEY; anything else (id-ecDH keys) signs nothing. */
static int key_problem(const mbedtls_pk_context *pk, unsigned max_rsa_bits)
{
    switch (mbedtls_pk_get_type(pk)) {
    case MBEDTLS_PK_RSA: {
        uint64_t e = 0;
        int fits = rsa_exponent(pk, &e);
        return iotls__common_rsa_key_problem(mbedtls_pk_get_bitlen(pk), fits, e, max_rsa_bits);
    }
    case MBEDTLS_PK_ECKEY:
    case MBEDTLS_PK_ECDSA: {
        mbedtls_ecp_group_id id = iotls__compat_pk_ec_group(pk);
        return (id == MBEDTLS_ECP_DP_SECP256R1 || id == MBEDTLS_ECP_DP_SECP384R1)
                   ? IOTLS_KEY_OK
                   : IOTLS_KEY_EC_CURVE;
    }
    default:
        return IOTLS_KEY_OTHER_TYPE;
    }
}

/* ---- what mbedtls_common/x509_load.c needs ---- */

int iotls__mbx509_ready(void)
{
    return IOTLS_OK;
}

int iotls__mbx509_key_problem(const mbedtls_x509_crt *crt, unsigned max_rsa_bits)
{
    return key_problem(&crt->pk, max_rsa_bits);
}

/* ---- verification ---- */

/* Called by mbedTLS for every certificate of the built chain (the trust
 * anchor included): replaces its system-clock validity verdict with one
 * against the policy's time. */
static int validity_at(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const int64_t now = *(const int64_t *)arg;
    (void)depth;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (iotls__mbx509_time_unix(&crt->valid_to) < now)
        *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    if (iotls__mbx509_time_unix(&crt->valid_from) > now)
        *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    return 0;
}

int iotls__mbx509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy,
                         iotls_x509_why *why)
{
    int rc = iotls__common_verify_start(chain, policy, why);
    if (rc == IOTLS_OK)
        rc = iotls__mbx509_check_keys(chain, policy->max_rsa_bits, why);
    if (rc != IOTLS_OK)
        return rc;

    /* The name is checked afterwards (iotls__mbx509_conclude), so mbedTLS
     * gets no CN. Its API takes non-const lists although verification does
     * not change them. */
    int64_t now = policy->now;
    uint32_t flags = 0;
    int ret = mbedtls_x509_crt_verify_with_profile(
        (mbedtls_x509_crt *)&chain->crt, (mbedtls_x509_crt *)&policy->trust->crt,
        iotls__mbx509_crl_list(policy->crl), &iotls_profile, NULL, &flags,
        now != 0 ? validity_at : NULL, now != 0 ? &now : NULL);
    return iotls__mbx509_conclude(chain, policy, ret, flags, why);
}

/* ---- the leaf's public key ---- */

int iotls__x509_key_fits(const iotls_x509 *chain, uint16_t scheme)
{
    iotls_mbedtls_scheme s;
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || iotls__mbedtls_scheme_info(scheme, &s) != 0)
        return 0;
    if (s.curve != MBEDTLS_ECP_DP_NONE)
        return mbedtls_pk_can_do(&leaf->pk, MBEDTLS_PK_ECDSA) &&
               iotls__compat_pk_ec_group(&leaf->pk) == s.curve;
    return mbedtls_pk_get_type(&leaf->pk) == MBEDTLS_PK_RSA;
}

int iotls__x509_verify_signature(const iotls_x509 *chain, uint16_t scheme, const uint8_t *msg,
                                 size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    iotls_mbedtls_scheme s;
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || (msg == NULL && msg_len != 0) || (sig == NULL && sig_len != 0))
        return IOTLS_ERR_BAD_ARG;
    /* rsa_pkcs1_* never appear in a TLS 1.3 CertificateVerify. */
    if (iotls__mbedtls_scheme_info(scheme, &s) != 0 || s.rsa_pkcs1 ||
        !iotls__x509_key_fits(chain, scheme))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sig_len == 0)
        return IOTLS_ERR_DECRYPT_ERROR;

    static const unsigned char empty[1] = {0};
    unsigned char hash[64];
    if (mbedtls_md(mbedtls_md_info_from_type(s.md), msg_len != 0 ? msg : empty, msg_len, hash) != 0)
        return IOTLS_ERR_CRYPTO;

    /* The API takes a non-const key; verification does not change it. */
    mbedtls_pk_context *pk = (mbedtls_pk_context *)&leaf->pk;
    int ret;
    if (s.rsa_pss) {
        /* RFC 8446 4.2.3: MGF1 with the scheme's hash and a salt exactly as
         * long as the digest; any other salt length is a bad signature. */
        mbedtls_pk_rsassa_pss_options opts;
        opts.mgf1_hash_id = s.md;
        opts.expected_salt_len = (int)s.hash_len;
        ret = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &opts, pk, s.md, hash, s.hash_len, sig,
                                    sig_len);
    } else {
        ret = mbedtls_pk_verify(pk, s.md, hash, s.hash_len, sig, sig_len);
    }
    /* Any verdict but 0 is a bad signature, including 2.28's
     * MBEDTLS_ERR_PK_SIG_LEN_MISMATCH for a valid signature followed by
     * junk. Only an allocation failure is ours rather than the peer's. */
    if (ret == MBEDTLS_ERR_MPI_ALLOC_FAILED || ret == MBEDTLS_ERR_PK_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    return ret == 0 ? IOTLS_OK : IOTLS_ERR_DECRYPT_ERROR;
}

/* SHA-256 of the SubjectPublicKeyInfo of the public key pk holds, as
 * mbedtls_pk_write_pubkey_der encodes it, whether pk is a certificate's
 * key or a parsed private key: nothing is computed, a parsed private key
 * holds its public half (read from the key file, or derived by mbedTLS
 * while parsing a file without one). */
static int pk_spki_sha256(const mbedtls_pk_context *pk, uint8_t out[32])
{
    /* Room for an RSA-8192 SubjectPublicKeyInfo. */
    unsigned char buf[1200];
    /* mbedtls_pk_write_pubkey_der writes at the end of buf and returns the
     * length; 2.28 takes a non-const key it does not change. */
    int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)pk, buf, sizeof(buf));
    if (n <= 0)
        return IOTLS_ERR_CRYPTO;
    if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), buf + sizeof(buf) - (size_t)n,
                   (size_t)n, out) != 0)
        return IOTLS_ERR_CRYPTO;
    return IOTLS_OK;
}

int iotls__x509_spki_sha256(const iotls_x509 *chain, uint8_t out[32])
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    return pk_spki_sha256(&leaf->pk, out);
}

int iotls__x509_key_desc(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_pk_context *pk = &crt->pk;
    int n;
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        n = snprintf(out, cap, "RSA-%zu", mbedtls_pk_get_bitlen(pk));
    } else if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY)) {
        mbedtls_ecp_group_id id = iotls__compat_pk_ec_group(pk);
        const mbedtls_ecp_curve_info *info = mbedtls_ecp_curve_info_from_grp_id(id);
        const char *name = id == MBEDTLS_ECP_DP_SECP256R1   ? "P-256"
                           : id == MBEDTLS_ECP_DP_SECP384R1 ? "P-384"
                           : id == MBEDTLS_ECP_DP_SECP521R1 ? "P-521"
                           : info != NULL                   ? info->name
                                                            : "unknown curve";
        n = snprintf(out, cap, "ECDSA %s", name);
    } else {
        n = snprintf(out, cap, "%s", mbedtls_pk_get_name(pk));
    }
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

/* Compares the public key the leaf names with the one the key file holds,
 * as OpenSSL's X509_check_private_key does, rather than with one computed
 * from the private key (mbedtls_pk_check_pair: a scalar multiplication for
 * an EC key). Where the file had no public key, mbedTLS derived it
 * from the private key while parsing, so another certificate's key is
 * refused. What is not caught: a damaged file whose stored public key
 * is not its private key's (the peer then refuses our CertificateVerify),
 * as with OpenSSL. */
int iotls__x509_matches_key(const iotls_x509 *chain, const iotls_pkey *key)
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || key == NULL || !key->loaded)
        return 0;
    uint8_t a[32], b[32];
    return pk_spki_sha256(&leaf->pk, a) == IOTLS_OK && pk_spki_sha256(&key->pk, b) == IOTLS_OK &&
           memcmp(a, b, sizeof(a)) == 0;
}
