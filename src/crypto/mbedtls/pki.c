/* Throwaway PKI for the demo and the tests: key generation with mbedTLS's
 * legacy API, and what certificate issuance with mbedTLS's writers
 * (mbedtls_common/pki.c, shared with the PSA provider) needs from
 * this provider. */
#include <string.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/x509_crt.h>

#include "compat.h"
#include "crypto/common/crypto_common.h"
#include "crypto/mbedtls_common/pki.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* Writes pk (then freed) as PEM into key_pem. */
static int write_key_pem(mbedtls_pk_context *pk, char *key_pem, size_t cap)
{
    int ret = mbedtls_pk_write_key_pem(pk, (unsigned char *)key_pem, cap);
    mbedtls_pk_free(pk); /* zeroizes the private key */
    if (ret != 0) {
        mbedtls_platform_zeroize(key_pem, cap);
        key_pem[0] = '\0';
        return (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
                   ? IOTLS_ERR_BUFFER_TOO_SMALL
                   : IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

static int make_rsa(unsigned bits, uint32_t exponent, char *key_pem, size_t cap)
{
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA));
    if (ret == 0)
        ret =
            mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk), iotls__mbedtls_rng, NULL, bits, (int)exponent);
    if (ret != 0) {
        mbedtls_pk_free(&pk);
        return IOTLS_ERR_CRYPTO;
    }
    return write_key_pem(&pk, key_pem, cap);
}

int iotls_pki_make_key(iotls_key_type type, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';

    if (type == IOTLS_KEY_RSA_2048)
        return make_rsa(2048, 65537, key_pem, cap);
    if (type != IOTLS_KEY_EC_P256 && type != IOTLS_KEY_EC_P384)
        return IOTLS_ERR_BAD_ARG;
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    int ret = mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
    if (ret == 0)
        ret = mbedtls_ecp_gen_key(type == IOTLS_KEY_EC_P256 ? MBEDTLS_ECP_DP_SECP256R1
                                                            : MBEDTLS_ECP_DP_SECP384R1,
                                  mbedtls_pk_ec(pk), iotls__mbedtls_rng, NULL);
    if (ret != 0) {
        mbedtls_pk_free(&pk);
        return IOTLS_ERR_CRYPTO;
    }
    return write_key_pem(&pk, key_pem, cap);
}

int iotls__pki_make_rsa_key(unsigned bits, uint32_t exponent, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0 || iotls__common_rsa_keygen_check(bits, exponent) != IOTLS_OK)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';
    return make_rsa(bits, exponent, key_pem, cap);
}

/* ---- the calls iotls_pki_make_cert (mbedtls_common/pki.c) needs ---- */

int iotls__mbpki_ready(void)
{
    return IOTLS_OK;
}

int iotls__mbpki_parse_key(mbedtls_pk_context *pk, const char *pem)
{
    return iotls__compat_pk_parse_key(pk, (const unsigned char *)pem, strlen(pem) + 1, NULL, 0);
}

int iotls__mbpki_check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv)
{
    return iotls__compat_pk_check_pair(pub, prv);
}

mbedtls_md_type_t iotls__mbpki_md_for_key(const mbedtls_pk_context *pk)
{
    switch (iotls__compat_pk_ec_group(pk)) {
    case MBEDTLS_ECP_DP_SECP384R1:
        return MBEDTLS_MD_SHA384;
    case MBEDTLS_ECP_DP_SECP521R1:
        return MBEDTLS_MD_SHA512;
    default:
        return MBEDTLS_MD_SHA256;
    }
}

int iotls__mbpki_is_rsa(const mbedtls_pk_context *pk)
{
    return mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA;
}

int iotls__mbpki_set_serial(mbedtls_x509write_cert *w, const unsigned char *serial, size_t len)
{
    return iotls__compat_x509write_crt_set_serial(w, serial, len);
}

int iotls__mbpki_write_crt_pem(mbedtls_x509write_cert *w, char *out, size_t cap)
{
    return mbedtls_x509write_crt_pem(w, (unsigned char *)out, cap, iotls__mbedtls_rng, NULL);
}

void iotls__mbpki_pk_free(mbedtls_pk_context *pk)
{
    mbedtls_pk_free(pk);
}
