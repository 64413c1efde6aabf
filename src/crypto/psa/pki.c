/* Throwaway PKI for the demo and the tests: keys made by psa_generate_key
 * and written out as PEM through mbedtls_pk, and what certificate issuance
 * with Mbed TLS' writers (mbedtls_common/pki.c, shared with the
 * mbedTLS provider; they sign through PSA) needs from this provider. */
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/mbedtls_common/pki.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

/* Generates a key of attr (usage and algorithm are set here) and writes
 * it as PEM into key_pem. exponent: the RSA public exponent, 0 for the
 * library's default (65537, and no other kind of key takes one). */
static int generate_pem(psa_key_attributes_t *attr, uint32_t exponent, char *key_pem, size_t cap)
{
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK) {
        psa_reset_key_attributes(attr);
        return rc;
    }
    /* Exportable: the whole point is to write it out. */
    psa_set_key_usage_flags(attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
    psa_key_id_t id = PSA_KEY_ID_NULL;
    psa_status_t st;
    iotls__psa_lock();
    if (exponent == 0) {
        st = psa_generate_key(attr, &id);
    } else {
        /* psa_custom_key_parameters_t: an RSA key's public exponent as
         * big-endian bytes in custom_data. */
        static const psa_custom_key_parameters_t custom = PSA_CUSTOM_KEY_PARAMETERS_INIT;
        const uint8_t e[4] = {(uint8_t)(exponent >> 24), (uint8_t)(exponent >> 16),
                              (uint8_t)(exponent >> 8), (uint8_t)exponent};
        st = psa_generate_key_custom(attr, &custom, e, sizeof e, &id);
    }
    iotls__psa_unlock();
    psa_reset_key_attributes(attr);
    if (st != PSA_SUCCESS)
        return st == PSA_ERROR_NOT_SUPPORTED ? IOTLS_ERR_UNSUPPORTED : iotls__psa_error(st);

    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    iotls__psa_lock();
    int ret = mbedtls_pk_copy_from_psa(id, &pk);
    iotls__psa_unlock();
    iotls__psa_destroy(&id);
    iotls__psa_lock();
    if (ret == 0)
        ret = mbedtls_pk_write_key_pem(&pk, (unsigned char *)key_pem, cap);
    mbedtls_pk_free(&pk); /* wipes the private key */
    iotls__psa_unlock();
    if (ret != 0) {
        mbedtls_platform_zeroize(key_pem, cap);
        key_pem[0] = '\0';
        return (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
                   ? IOTLS_ERR_BUFFER_TOO_SMALL
                   : IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

int iotls_pki_make_key(iotls_key_type type, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';

    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    switch (type) {
    case IOTLS_KEY_EC_P256:
    case IOTLS_KEY_EC_P384:
        psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
        psa_set_key_bits(&attr, type == IOTLS_KEY_EC_P256 ? 256 : 384);
        psa_set_key_algorithm(&attr, IOTLS_PSA_ECDSA(PSA_ALG_ANY_HASH));
        break;
    case IOTLS_KEY_RSA_2048:
        psa_set_key_type(&attr, PSA_KEY_TYPE_RSA_KEY_PAIR);
        psa_set_key_bits(&attr, 2048);
        psa_set_key_algorithm(&attr, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
        break;
    default:
        return IOTLS_ERR_BAD_ARG;
    }
    return generate_pem(&attr, 0, key_pem, cap);
}

/* PSA generates RSA keys up to PSA_VENDOR_RSA_MAX_KEY_BITS (4096 in Mbed
 * TLS' default configuration): a larger size is IOTLS_ERR_UNSUPPORTED. */
int iotls__pki_make_rsa_key(unsigned bits, uint32_t exponent, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0 || iotls__common_rsa_keygen_check(bits, exponent) != IOTLS_OK)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';
    if (bits > PSA_VENDOR_RSA_MAX_KEY_BITS)
        return IOTLS_ERR_UNSUPPORTED;
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, PSA_KEY_TYPE_RSA_KEY_PAIR);
    psa_set_key_bits(&attr, bits);
    psa_set_key_algorithm(&attr, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
    return generate_pem(&attr, exponent, key_pem, cap);
}

/* ---- the calls iotls_pki_make_cert (mbedtls_common/pki.c) needs ---- */

int iotls__mbpki_ready(void)
{
    return iotls__psa_ready();
}

int iotls__mbpki_parse_key(mbedtls_pk_context *pk, const char *pem)
{
    iotls__psa_lock();
    int ret = iotls__psa_pk_parse_key(pk, (const unsigned char *)pem, strlen(pem) + 1, NULL);
    iotls__psa_unlock();
    return ret;
}

/* Mbed TLS 4 dropped the generator argument of this call and the next. */
int iotls__mbpki_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv)
{
    iotls__psa_lock();
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    int ret = mbedtls_pk_check_pair(pub, prv);
#else
    int ret = mbedtls_pk_check_pair(pub, prv, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
#endif
    iotls__psa_unlock();
    return ret;
}

int iotls__mbpki_write_crt_pem(mbedtls_x509write_cert *w, char *out, size_t cap)
{
    iotls__psa_lock();
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    int ret = mbedtls_x509write_crt_pem(w, (unsigned char *)out, cap);
#else
    int ret = mbedtls_x509write_crt_pem(w, (unsigned char *)out, cap, mbedtls_psa_get_random,
                                        MBEDTLS_PSA_RANDOM_STATE);
#endif
    iotls__psa_unlock();
    return ret;
}

mbedtls_md_type_t iotls__mbpki_md_for_key(const mbedtls_pk_context *pk)
{
    psa_key_type_t type;
    size_t bits;
    if (iotls__psa_pk_info(pk, &type, &bits) != IOTLS_OK || !PSA_KEY_TYPE_IS_ECC(type))
        return MBEDTLS_MD_SHA256;
    return bits > 384 ? MBEDTLS_MD_SHA512 : bits > 256 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
}

int iotls__mbpki_is_rsa(const mbedtls_pk_context *pk)
{
    psa_key_type_t type;
    size_t bits;
    return iotls__psa_pk_info(pk, &type, &bits) == IOTLS_OK && PSA_KEY_TYPE_IS_RSA(type);
}

int iotls__mbpki_set_serial(mbedtls_x509write_cert *w, const unsigned char *serial, size_t len)
{
    /* Not const in 3.6's prototype; the bytes are only read. */
    return mbedtls_x509write_crt_set_serial_raw(w, (unsigned char *)serial, len);
}

void iotls__mbpki_pk_free(mbedtls_pk_context *pk)
{
    iotls__psa_lock();
    mbedtls_pk_free(pk); /* wipes a private key */
    iotls__psa_unlock();
}
