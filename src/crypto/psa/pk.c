/* Private keys: parsed by mbedtls_pk (PEM or DER, plain or encrypted),
 * then moved into the PSA key store with mbedtls_pk_get_psa_attributes +
 * mbedtls_pk_import_into_psa under the one policy TLS 1.3 needs (RSA-PSS
 * or ECDSA, any hash, sign only); the pk context is freed at once, so an
 * iotls_pkey holds nothing but the PSA key id, which iotls__pkey_free
 * destroys, and the digest of its public half (iotls__x509_matches_key).
 * CertificateVerify is made with psa_sign_hash. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "crypto/mbedtls_common/pem_input.h"
#include "iotls/error.h"
#include "psa_glue.h"

void iotls__pkey_init(iotls_pkey *key)
{
    if (key == NULL)
        return;
    memset(key, 0, sizeof(*key));
}

void iotls__pkey_free(iotls_pkey *key)
{
    if (key == NULL)
        return;
    iotls__psa_destroy(&key->key); /* wipes the key in the key store */
    iotls__pkey_init(key);
}

/* Why Mbed TLS refused a key file (PKCS#5 errors are private in Mbed TLS 4
 * and not told apart there: a wrong password reads as PK_PASSWORD_MISMATCH). */
static int why_of(int ret)
{
    if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
        return IOTLS_PKEY_WHY_PASSWORD_NEEDED;
    if (ret == MBEDTLS_ERR_PK_PASSWORD_MISMATCH)
        return IOTLS_PKEY_WHY_PASSWORD_WRONG;
    if (ret == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE)
        return IOTLS_PKEY_WHY_CIPHER;
    return IOTLS_PKEY_WHY_FORMAT;
}

int iotls__pkey_load_why(const iotls_pkey *key)
{
    return key != NULL ? key->why : IOTLS_PKEY_WHY_NONE;
}

/* The signing policy of a private key of type. */
static psa_algorithm_t sign_policy(psa_key_type_t type)
{
    if (type == PSA_KEY_TYPE_RSA_KEY_PAIR)
        return PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH);
    return IOTLS_PSA_ECDSA(PSA_ALG_ANY_HASH);
}

/* Moves the private key in pk into the key store as key->key, and keeps
 * the digest of its public half. */
static int import_private(iotls_pkey *key, const mbedtls_pk_context *pk)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (mbedtls_pk_get_psa_attributes(pk, PSA_KEY_USAGE_SIGN_HASH, &attr) != 0) {
        psa_reset_key_attributes(&attr);
        return IOTLS_ERR_KEY_LOAD;
    }
    psa_key_type_t type = psa_get_key_type(&attr);
    if (type != PSA_KEY_TYPE_RSA_KEY_PAIR &&
        !(PSA_KEY_TYPE_IS_ECC_KEY_PAIR(type) &&
          PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1)) {
        psa_reset_key_attributes(&attr);
        return IOTLS_ERR_KEY_LOAD; /* nothing TLS 1.3 can sign with here */
    }
    /* Sign only: not exportable, not copyable. */
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_HASH);
    psa_set_key_algorithm(&attr, sign_policy(type));
    psa_key_id_t id = PSA_KEY_ID_NULL;
    iotls__psa_lock();
    int ret = mbedtls_pk_import_into_psa(pk, &attr, &id);
    iotls__psa_unlock();
    psa_reset_key_attributes(&attr);
    if (ret != 0)
        return ret == PSA_ERROR_INSUFFICIENT_MEMORY ? IOTLS_ERR_NO_MEMORY : IOTLS_ERR_KEY_LOAD;
    /* The size the key store settled on (the attributes may leave it 0). */
    psa_key_attributes_t got = PSA_KEY_ATTRIBUTES_INIT;
    iotls__psa_lock();
    psa_status_t st = psa_get_key_attributes(id, &got);
    iotls__psa_unlock();
    if (st != PSA_SUCCESS) {
        iotls__psa_destroy(&id);
        return IOTLS_ERR_CRYPTO;
    }
    key->type = psa_get_key_type(&got);
    key->bits = psa_get_key_bits(&got);
    psa_reset_key_attributes(&got);
    /* The public half as the file gave it: an RSA key's from the key
     * store, an EC key's from pk (exporting it from the key store would be
     * a scalar multiplication). */
    int rc = key->type == PSA_KEY_TYPE_RSA_KEY_PAIR
                 ? iotls__psa_key_public_sha256(id, key->pub_sha256)
                 : iotls__psa_public_sha256(pk, key->pub_sha256);
    if (rc != IOTLS_OK) {
        iotls__psa_destroy(&id);
        return rc == IOTLS_ERR_NO_MEMORY ? rc : IOTLS_ERR_KEY_LOAD;
    }
    key->key = id;
    key->loaded = 1;
    return IOTLS_OK;
}

int iotls__pkey_load_mem(iotls_pkey *key, const uint8_t *data, size_t len, const char *password)
{
    if (key == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;

    iotls_mb_input in;
    rc = iotls__mb_input_begin(&in, data, len);
    if (rc != IOTLS_OK)
        return rc;

    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    iotls__psa_lock();
    int ret = iotls__psa_pk_parse_key(&pk, in.data, in.len, password);
    iotls__psa_unlock();
    iotls__mb_input_end(&in);
    rc = ret == 0 ? import_private(key, &pk) : IOTLS_ERR_KEY_LOAD;
    iotls__psa_lock();
    mbedtls_pk_free(&pk); /* destroys the library's own copy of the key */
    iotls__psa_unlock();
    if (rc != IOTLS_OK) {
        iotls__pkey_free(key);
        key->why = ret != 0 ? why_of(ret) : IOTLS_PKEY_WHY_FORMAT;
    }
    return rc;
}

int iotls__pkey_load_file(iotls_pkey *key, const char *path, const char *password)
{
    if (key == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);
#if !defined(MBEDTLS_FS_IO)
    /* Mbed TLS without a file system (a bare-metal board): keys come from
     * memory (iotls__pkey_load_mem). */
    (void)password;
    return IOTLS_ERR_UNSUPPORTED;
#else
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    /* Missing file, unreadable contents and a wrong or missing password all
     * mean the same to the caller: this key cannot be used. */
    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    iotls__psa_lock();
    int ret = iotls__psa_pk_parse_keyfile(&pk, path, password);
    iotls__psa_unlock();
    rc = ret == 0 ? import_private(key, &pk) : IOTLS_ERR_KEY_LOAD;
    iotls__psa_lock();
    mbedtls_pk_free(&pk);
    iotls__psa_unlock();
    if (rc != IOTLS_OK) {
        iotls__pkey_free(key);
        key->why = ret != 0 ? why_of(ret) : IOTLS_PKEY_WHY_FORMAT;
    }
    return rc;
#endif
}

int iotls__psa_key_fits(psa_key_type_t type, size_t bits, const iotls_common_scheme *s)
{
    if (s->curve != 0) {
        size_t want = s->curve == IOTLS_GROUP_SECP256R1 ? 256 : 384;
        return PSA_KEY_TYPE_IS_ECC(type) &&
               PSA_KEY_TYPE_ECC_GET_FAMILY(type) == PSA_ECC_FAMILY_SECP_R1 && bits == want;
    }
    return PSA_KEY_TYPE_IS_RSA(type);
}

/* 1 when a key of type/bits can make scheme's CertificateVerify
 * signature: ECDSA on exactly the scheme's curve, RSA-PSS with an RSA key
 * long enough for a salt of the hash's length (RFC 8446 4.2.3: EMSA-PSS
 * needs emLen >= hLen + sLen + 2 with sLen = hLen). */
static int fits_cv_scheme(psa_key_type_t type, size_t bits, const iotls_common_scheme *s)
{
    if (s->curve != 0)
        return iotls__psa_key_fits(type, bits, s);
    if (s->rsa_pss)
        return PSA_KEY_TYPE_IS_RSA(type) && PSA_BITS_TO_BYTES(bits) >= 2 * s->hash_len + 2;
    return 0; /* rsa_pkcs1_*: never in a TLS 1.3 CertificateVerify */
}

int iotls__pkey_can_sign(const iotls_pkey *key, uint16_t scheme)
{
    iotls_common_scheme s;
    if (key == NULL || !key->loaded || iotls__common_scheme_info(scheme, &s) != 0)
        return 0;
    return fits_cv_scheme(key->type, key->bits, &s);
}

int iotls__pkey_sign(iotls_pkey *key, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    iotls_common_scheme s;
    if (key == NULL || sig == NULL || sig_len == NULL || (msg == NULL && msg_len != 0))
        return IOTLS_ERR_BAD_ARG;
    *sig_len = 0;
    if (!key->loaded || iotls__common_scheme_info(scheme, &s) != 0 ||
        !fits_cv_scheme(key->type, key->bits, &s))
        return IOTLS_ERR_BAD_ARG;

    size_t coord = PSA_BITS_TO_BYTES(key->bits);
    size_t need = s.rsa_pss ? coord : IOTLS_PSA_ECDSA_DER_MAX(key->bits);
    if (sig_cap < need)
        return IOTLS_ERR_BUFFER_TOO_SMALL;

    uint8_t hash[IOTLS_MAX_HASH_LEN + 16];
    int rc = iotls__hash(s.hash, msg, msg_len, hash);
    if (rc != IOTLS_OK)
        return rc;
    psa_algorithm_t halg = iotls__psa_hash_alg(s.hash);
    psa_algorithm_t alg = s.rsa_pss ? PSA_ALG_RSA_PSS(halg) : IOTLS_PSA_ECDSA(halg);
    size_t len = 0;
    /* RSA-PSS: the salt is the hash's length, as RFC 8446 requires.
     * ECDSA: PSA gives r||s, TLS wants the DER ECDSA-Sig-Value. */
    iotls__psa_lock();
    psa_status_t st = psa_sign_hash(key->key, alg, hash, s.hash_len, sig, sig_cap, &len);
    iotls__psa_unlock();
    mbedtls_platform_zeroize(hash, sizeof(hash));
    if (st != PSA_SUCCESS)
        return iotls__psa_error(st);
    if (!s.rsa_pss && mbedtls_ecdsa_raw_to_der(key->bits, sig, len, sig, sig_cap, &len) != 0) {
        mbedtls_platform_zeroize(sig, sig_cap);
        return IOTLS_ERR_CRYPTO;
    }
    *sig_len = len;
    return IOTLS_OK;
}
