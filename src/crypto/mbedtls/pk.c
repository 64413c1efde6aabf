/* Private keys: loading (PEM or DER, plain or encrypted) and signing
 * TLS 1.3 CertificateVerify content with mbedtls_pk_*. */
#include <stdlib.h>
#include <string.h>

#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>

#include "compat.h"
#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "crypto/mbedtls_common/pem_input.h"
#include "iotls/error.h"

/* RSA-PSS signing sets the padding on the key's RSA context, and a server's
 * key is shared by every connection thread: serialise set-and-sign. */
#if !defined(IOTLS_NO_THREADS) && (defined(__unix__) || defined(__APPLE__) || defined(ESP_PLATFORM))
#include <pthread.h>
static pthread_mutex_t rsa_sign_lock = PTHREAD_MUTEX_INITIALIZER;
static void rsa_lock(void)
{
    pthread_mutex_lock(&rsa_sign_lock);
}
static void rsa_unlock(void)
{
    pthread_mutex_unlock(&rsa_sign_lock);
}
#else
static void rsa_lock(void) {}
static void rsa_unlock(void) {}
#endif

void iotls__pkey_init(iotls_pkey *key)
{
    if (key == NULL)
        return;
    mbedtls_pk_init(&key->pk);
    key->loaded = 0;
    key->why = IOTLS_PKEY_WHY_NONE;
}

static int why_of(int ret)
{
    if (ret == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
        return IOTLS_PKEY_WHY_PASSWORD_NEEDED;
    if (ret == MBEDTLS_ERR_PK_PASSWORD_MISMATCH || ret == MBEDTLS_ERR_PKCS5_PASSWORD_MISMATCH)
        return IOTLS_PKEY_WHY_PASSWORD_WRONG;
    /* mbedTLS 2.28's PKCS#8 decryption knows DES and 3DES only. */
    if (ret == MBEDTLS_ERR_PKCS5_FEATURE_UNAVAILABLE || ret == MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE)
        return IOTLS_PKEY_WHY_CIPHER;
    return IOTLS_PKEY_WHY_FORMAT;
}

int iotls__pkey_load_why(const iotls_pkey *key)
{
    return key != NULL ? key->why : IOTLS_PKEY_WHY_NONE;
}

void iotls__pkey_free(iotls_pkey *key)
{
    if (key == NULL)
        return;
    /* mbedtls_pk_free zeroizes the key material it owned. */
    mbedtls_pk_free(&key->pk);
    iotls__pkey_init(key);
}

static size_t password_len(const char *password)
{
    return password != NULL ? strlen(password) : 0;
}

int iotls__pkey_load_mem(iotls_pkey *key, const uint8_t *data, size_t len, const char *password)
{
    if (key == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);

    iotls_mb_input in;
    int rc = iotls__mb_input_begin(&in, data, len);
    if (rc != IOTLS_OK)
        return rc;

    int ret = iotls__compat_pk_parse_key(&key->pk, in.data, in.len, (const unsigned char *)password,
                                         password_len(password));
    iotls__mb_input_end(&in);
    if (ret != 0) {
        iotls__pkey_free(key);
        key->why = why_of(ret);
        return IOTLS_ERR_KEY_LOAD;
    }
    key->loaded = 1;
    return IOTLS_OK;
}

int iotls__pkey_load_file(iotls_pkey *key, const char *path, const char *password)
{
    if (key == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);
    /* Missing file, unreadable contents and a wrong or missing password all
     * mean the same to the caller: this key cannot be used. */
    int ret = iotls__compat_pk_parse_keyfile(&key->pk, path, password);
    if (ret != 0) {
        iotls__pkey_free(key);
        key->why = why_of(ret);
        return IOTLS_ERR_KEY_LOAD;
    }
    key->loaded = 1;
    return IOTLS_OK;
}

/* 1 when pk can make (or, for x509.c, check) scheme's CertificateVerify
 * signature: ECDSA on exactly the scheme's curve, RSA-PSS with an RSA key
 * long enough for a salt of the hash's length (RFC 8446 4.2.3). */
static int pk_fits_cv_scheme(const mbedtls_pk_context *pk, const iotls_mbedtls_scheme *s)
{
    if (s->curve != MBEDTLS_ECP_DP_NONE)
        return mbedtls_pk_can_do(pk, MBEDTLS_PK_ECDSA) && iotls__compat_pk_ec_group(pk) == s->curve;
    if (s->rsa_pss) {
        /* EMSA-PSS needs emLen >= hLen + sLen + 2 with sLen = hLen. */
        return mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA &&
               mbedtls_pk_get_len(pk) >= 2 * s->hash_len + 2;
    }
    return 0; /* rsa_pkcs1_*: never in a TLS 1.3 CertificateVerify */
}

int iotls__pkey_can_sign(const iotls_pkey *key, uint16_t scheme)
{
    iotls_mbedtls_scheme s;
    if (key == NULL || !key->loaded || iotls__mbedtls_scheme_info(scheme, &s) != 0)
        return 0;
    return pk_fits_cv_scheme(&key->pk, &s);
}

int iotls__pkey_sign(iotls_pkey *key, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    iotls_mbedtls_scheme s;
    if (key == NULL || sig == NULL || sig_len == NULL || (msg == NULL && msg_len != 0))
        return IOTLS_ERR_BAD_ARG;
    *sig_len = 0;
    if (!key->loaded || iotls__mbedtls_scheme_info(scheme, &s) != 0 ||
        !pk_fits_cv_scheme(&key->pk, &s))
        return IOTLS_ERR_BAD_ARG;

    size_t need = s.rsa_pss ? mbedtls_pk_get_len(&key->pk)
                            : (size_t)MBEDTLS_ECDSA_MAX_SIG_LEN(mbedtls_pk_get_bitlen(&key->pk));
    if (sig_cap < need)
        return IOTLS_ERR_BUFFER_TOO_SMALL;

    static const unsigned char empty[1] = {0};
    unsigned char hash[64];
    int ret =
        mbedtls_md(mbedtls_md_info_from_type(s.md), msg_len != 0 ? msg : empty, msg_len, hash);
    if (ret != 0)
        return IOTLS_ERR_CRYPTO;

    if (s.rsa_pss) {
        rsa_lock();
        /* The padding lives in the key's RSA context; with PKCS_V21 the
         * hash id also selects MGF1, and mbedTLS picks the largest salt up
         * to the hash length, which for keys that pass pk_fits_cv_scheme is
         * exactly the hash length that RFC 8446 requires. This changes
         * the key, hence the lock held until the signature is made. */
        if (iotls__compat_rsa_set_padding(mbedtls_pk_rsa(key->pk), MBEDTLS_RSA_PKCS_V21, s.md) !=
            0) {
            rsa_unlock();
            mbedtls_platform_zeroize(hash, sizeof(hash));
            return IOTLS_ERR_CRYPTO;
        }
    }

    ret = iotls__compat_pk_sign(&key->pk, s.md, hash, s.hash_len, sig, sig_cap, sig_len);
    if (s.rsa_pss)
        rsa_unlock();
    mbedtls_platform_zeroize(hash, sizeof(hash));
    if (ret != 0) {
        *sig_len = 0;
        return ret == MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED ? IOTLS_ERR_RANDOM
                                                                 : IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}
