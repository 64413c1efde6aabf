/* Certificates: loading, chain verification with the iotls policy, and the
 * public-key operations on the peer's leaf (CertificateVerify, pinning).
 *
 * Mbed TLS' X.509 module parses and verifies the chain (it checks the
 * signatures in it through PSA itself); this file decides policy and reads
 * fields that are public in Mbed TLS 4 and 3.6 (raw, pk_raw, subject,
 * issuer, valid_from, valid_to, pk, subject_alt_names, next). The leaf's
 * key is looked at through PSA only: its type and size from
 * mbedtls_pk_get_psa_attributes, and for a CertificateVerify it is
 * imported as a volatile PSA key, used by psa_verify_hash and destroyed.
 *
 * Mbed TLS 4 no longer names curves or key types in its public API, so the
 * verification profile cannot list them: the verify callback checks every
 * certificate of the chain instead (RSA, or ECDSA on P-256 / P-384). The
 * host name check, the chain list and the names are the Mbed TLS
 * provider's, shared in src/crypto/mbedtls_common/x509.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/mbedtls_common/x509.h"
#include "crypto/mbedtls_common/x509_load.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

/* What we accept anywhere in a chain: SHA-2 signatures, RSA >= 2048 bits;
 * key types and curves (the two NIST curves TLS 1.3 clients offer) are
 * checked by check_cert below, for the trust anchor too. The presented
 * keys are checked before any of that (iotls__x509_check_keys), with the
 * upper bounds Mbed TLS lacks. */
static const mbedtls_x509_crt_profile iotls_profile = {
    .allowed_mds = MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    .allowed_pks = 0x0FFFFFFF,
    .allowed_curves = 0x0FFFFFFF,
    .rsa_min_bitlen = 2048,
};

int iotls__x509_add_der(iotls_x509 *chain, const uint8_t *der, size_t len)
{
    if (chain == NULL || der == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    int ret = mbedtls_x509_crt_parse_der(&chain->crt, der, len);
    chain->count = iotls__mbx509_list_count(&chain->crt);
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    return ret == 0 ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
}

/* ---- the key profile (before any signature) ---- */

/* The public exponent of an RSA certificate's key, when it fits in 64
 * bits (0 when it does not). Mbed TLS 4 has no RSA API left and PSA only
 * imports keys up to PSA_VENDOR_RSA_MAX_KEY_BITS, below the 8192 bits a
 * policy may allow, so the exponent is read from the SubjectPublicKeyInfo
 * the certificate holds (pk_raw, from which Mbed TLS parsed crt->pk) with
 * Mbed TLS' ASN.1 reader: SEQUENCE { AlgorithmIdentifier, BIT STRING
 * holding RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent
 * INTEGER } } (RFC 8017 A.1.1). */
static int rsa_exponent(const mbedtls_x509_crt *crt, uint64_t *e)
{
    unsigned char *p = crt->pk_raw.p;
    const unsigned char *end = p + crt->pk_raw.len;
    mbedtls_asn1_buf alg_oid, alg_params;
    size_t len = 0;
    if (p == NULL ||
        mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) != 0)
        return 0;
    end = p + len;
    if (mbedtls_asn1_get_alg(&p, end, &alg_oid, &alg_params) != 0 ||
        mbedtls_asn1_get_bitstring_null(&p, end, &len) != 0)
        return 0;
    end = p + len;
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE) !=
            0 ||
        mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) != 0)
        return 0;
    p += len; /* the modulus: its size comes from mbedtls_pk_get_bitlen */
    if (mbedtls_asn1_get_tag(&p, end, &len, MBEDTLS_ASN1_INTEGER) != 0 || len == 0 ||
        (p[0] & 0x80) != 0)
        return 0; /* a negative exponent: Mbed TLS does not parse one anyway */
    /* DER puts a 0x00 before a value whose top bit is set. */
    while (len > 0 && p[0] == 0) {
        p++;
        len--;
    }
    if (len > sizeof *e)
        return 0;
    *e = 0;
    for (size_t i = 0; i < len; i++)
        *e = *e << 8 | p[i];
    return 1;
}

/* IOTLS_KEY_OK when the key of crt is inside the profile of
 * iotls__x509_check_keys, else an IOTLS_KEY_* saying why not. Type and curve from the key's PSA
 * attributes, as the rest of this file reads keys. */
static int key_problem(const mbedtls_x509_crt *crt, unsigned max_rsa_bits)
{
    psa_key_type_t type = 0;
    size_t bits = 0;
    if (iotls__psa_pk_info(&crt->pk, &type, &bits) != IOTLS_OK)
        return IOTLS_KEY_OTHER_TYPE;
    if (PSA_KEY_TYPE_IS_RSA(type)) {
        uint64_t e = 0;
        int fits = rsa_exponent(crt, &e);
        return iotls__common_rsa_key_problem(mbedtls_pk_get_bitlen(&crt->pk), fits, e,
                                             max_rsa_bits);
    }
    if (PSA_KEY_TYPE_IS_ECC(type))
        return (PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1 &&
                (bits == 256 || bits == 384))
                   ? IOTLS_KEY_OK
                   : IOTLS_KEY_EC_CURVE;
    return IOTLS_KEY_OTHER_TYPE;
}

/* ---- what mbedtls_common/x509_load.c needs ---- */

int iotls__mbx509_ready(void)
{
    return iotls__psa_ready();
}

int iotls__mbx509_key_problem(const mbedtls_x509_crt *crt, unsigned max_rsa_bits)
{
    return key_problem(crt, max_rsa_bits);
}

/* ---- verification ---- */

/* 1 for a key we accept in a chain: RSA (its size is the profile's
 * business), ECDSA on P-256 or P-384. */
static int key_acceptable(const mbedtls_pk_context *pk)
{
    psa_key_type_t type;
    size_t bits;
    if (iotls__psa_pk_info(pk, &type, &bits) != IOTLS_OK)
        return 0;
    if (PSA_KEY_TYPE_IS_RSA(type))
        return 1;
    return PSA_KEY_TYPE_IS_ECC(type) &&
           PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1 &&
           (bits == 256 || bits == 384);
}

/* Called by Mbed TLS for every certificate of the built chain (the trust
 * anchor included): refuses keys the profile cannot name, and when the
 * policy gives a time, replaces the system-clock validity verdict with one
 * against that time (now == 0: the library's verdict stands). */
static int check_cert(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const int64_t now = *(const int64_t *)arg;
    (void)depth;
    if (!key_acceptable(&crt->pk))
        *flags |= MBEDTLS_X509_BADCERT_BAD_KEY;
    if (now == 0)
        return 0;
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

    rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    /* The name is checked afterwards (iotls__mbx509_conclude), so Mbed TLS
     * gets no CN. Its API takes non-const lists although verification does
     * not change them. */
    int64_t now = policy->now;
    uint32_t flags = 0;
    /* Mbed TLS 4 checks the chain's signatures through PSA. */
    iotls__psa_lock();
    int ret = mbedtls_x509_crt_verify_with_profile(
        (mbedtls_x509_crt *)&chain->crt, (mbedtls_x509_crt *)&policy->trust->crt,
        iotls__mbx509_crl_list(policy->crl), &iotls_profile, NULL, &flags, check_cert, &now);
    iotls__psa_unlock();
    return iotls__mbx509_conclude(chain, policy, ret, flags, why);
}

/* ---- the leaf's public key ---- */

int iotls__x509_key_fits(const iotls_x509 *chain, uint16_t scheme)
{
    iotls_common_scheme s;
    psa_key_type_t type;
    size_t bits;
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || iotls__common_scheme_info(scheme, &s) != 0 ||
        iotls__psa_pk_info(&leaf->pk, &type, &bits) != IOTLS_OK)
        return 0;
    return iotls__psa_key_fits(type, bits, &s);
}

int iotls__x509_verify_signature(const iotls_x509 *chain, uint16_t scheme, const uint8_t *msg,
                                 size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    iotls_common_scheme s;
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || (msg == NULL && msg_len != 0) || (sig == NULL && sig_len != 0))
        return IOTLS_ERR_BAD_ARG;
    /* rsa_pkcs1_* never appear in a TLS 1.3 CertificateVerify. */
    if (iotls__common_scheme_info(scheme, &s) != 0 || s.rsa_pkcs1 ||
        !iotls__x509_key_fits(chain, scheme))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sig_len == 0)
        return IOTLS_ERR_DECRYPT_ERROR;

    uint8_t hash[IOTLS_MAX_HASH_LEN + 16];
    int rc = iotls__hash(s.hash, msg, msg_len, hash);
    if (rc != IOTLS_OK)
        return rc;
    psa_algorithm_t halg = iotls__psa_hash_alg(s.hash);
    /* RSA-PSS with the salt as long as the hash, as RFC 8446 4.2.3
     * requires; ECDSA of either kind (PSA_ALG_ECDSA verifies both). */
    psa_algorithm_t alg = s.rsa_pss ? PSA_ALG_RSA_PSS(halg) : PSA_ALG_ECDSA(halg);
    psa_key_id_t key = PSA_KEY_ID_NULL;
    rc = iotls__psa_import_public(&leaf->pk, alg, &key);
    if (rc != IOTLS_OK)
        return rc;

    const uint8_t *to_check = sig;
    size_t check_len = sig_len;
    uint8_t raw[2 * PSA_BITS_TO_BYTES(PSA_VENDOR_ECC_MAX_CURVE_BITS)];
    if (!s.rsa_pss) {
        /* TLS carries the DER ECDSA-Sig-Value, PSA takes r||s. Malformed
         * DER, trailing bytes or numbers too long for the curve: not a
         * valid signature. */
        size_t bits = s.curve == IOTLS_GROUP_SECP256R1 ? 256 : 384;
        if (mbedtls_ecdsa_der_to_raw(bits, sig, sig_len, raw, sizeof(raw), &check_len) != 0) {
            iotls__psa_destroy(&key);
            return IOTLS_ERR_DECRYPT_ERROR;
        }
        to_check = raw;
    }
    iotls__psa_lock();
    psa_status_t st = psa_verify_hash(key, alg, hash, s.hash_len, to_check, check_len);
    iotls__psa_unlock();
    iotls__psa_destroy(&key);
    /* Any verdict but success is a bad signature; only running out of
     * memory is ours rather than the peer's. */
    if (st == PSA_ERROR_INSUFFICIENT_MEMORY)
        return IOTLS_ERR_NO_MEMORY;
    return st == PSA_SUCCESS ? IOTLS_OK : IOTLS_ERR_DECRYPT_ERROR;
}

int iotls__x509_spki_sha256(const iotls_x509 *chain, uint8_t out[32])
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    /* pk_raw is the SubjectPublicKeyInfo exactly as the certificate holds
     * it. */
    if (leaf->pk_raw.p == NULL || leaf->pk_raw.len == 0)
        return IOTLS_ERR_CRYPTO;
    return iotls__hash(IOTLS_HASH_SHA256, leaf->pk_raw.p, leaf->pk_raw.len, out);
}

int iotls__x509_key_desc(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    psa_key_type_t type = 0;
    size_t bits = 0;
    int n;
    if (iotls__psa_pk_info(&crt->pk, &type, &bits) != IOTLS_OK) {
        n = snprintf(out, cap, "unknown key");
    } else if (PSA_KEY_TYPE_IS_RSA(type)) {
        n = snprintf(out, cap, "RSA-%zu", bits);
    } else if (PSA_KEY_TYPE_IS_ECC(type)) {
        psa_ecc_family_t family = PSA_KEY_TYPE_ECC_GET_FAMILY(type);
        if (family == PSA_ECC_FAMILY_SECP_R1)
            n = snprintf(out, cap, "ECDSA P-%zu", bits);
        else if (family == PSA_ECC_FAMILY_BRAINPOOL_P_R1)
            n = snprintf(out, cap, "ECDSA brainpoolP%zur1", bits);
        else if (family == PSA_ECC_FAMILY_SECP_K1)
            n = snprintf(out, cap, "ECDSA secp%zuk1", bits);
        else
            n = snprintf(out, cap, "ECDSA unknown curve");
    } else {
        n = snprintf(out, cap, "unknown key");
    }
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

/* Compares the public key the leaf names with the one the key file holds
 * (its digest, kept when the key was loaded), as OpenSSL's
 * X509_check_private_key does: nothing is computed from the private key
 * here. Where the file had no public key, Mbed TLS derived it
 * from the private key while parsing, so another certificate's key is
 * refused. What is not caught: a damaged file whose stored public key
 * is not its private key's (the peer then refuses our CertificateVerify),
 * as with OpenSSL. */
int iotls__x509_matches_key(const iotls_x509 *chain, const iotls_pkey *key)
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || key == NULL || !key->loaded)
        return 0;
    uint8_t leaf_sha256[32];
    if (iotls__psa_public_sha256(&leaf->pk, leaf_sha256) != IOTLS_OK)
        return 0;
    return memcmp(leaf_sha256, key->pub_sha256, sizeof(leaf_sha256)) == 0;
}
