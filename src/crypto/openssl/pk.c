/* Private keys: loading (PEM or DER; PKCS#8, SEC1 or PKCS#1; plain or
 * encrypted) and signing TLS 1.3 CertificateVerify content with
 * EVP_DigestSign. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "ossl.h"

/* ---- helpers shared with x509.c and pki.c ---- */

int iotls__ossl_scheme_info(uint16_t scheme, iotls_ossl_scheme *out)
{
    iotls_common_scheme s;
    if (iotls__common_scheme_info(scheme, &s) != 0)
        return -1;
    out->hash = (int)s.hash;
    out->hash_len = s.hash_len;
    out->curve = s.curve == IOTLS_GROUP_SECP256R1   ? "P-256"
                 : s.curve == IOTLS_GROUP_SECP384R1 ? "P-384"
                                                    : NULL;
    out->rsa_pss = s.rsa_pss;
    out->rsa_pkcs1 = s.rsa_pkcs1;
    return 0;
}

int iotls__ossl_ec_group_is(const EVP_PKEY *key, const char *group)
{
    char name[64];
    size_t len = 0;
    if (key == NULL || EVP_PKEY_get_base_id(key) != EVP_PKEY_EC)
        return 0;
    if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, name, sizeof(name), &len) !=
        1)
        return 0;
    /* The group names OpenSSL reports are its own; accept both spellings. */
    if (strcmp(group, "P-256") == 0)
        return strcmp(name, "prime256v1") == 0 || strcmp(name, "P-256") == 0;
    if (strcmp(group, "P-384") == 0)
        return strcmp(name, "secp384r1") == 0 || strcmp(name, "P-384") == 0;
    return strcmp(name, group) == 0;
}

int iotls__ossl_key_fits_cv(const EVP_PKEY *key, const iotls_ossl_scheme *s)
{
    if (key == NULL)
        return 0;
    if (s->curve != NULL)
        return iotls__ossl_ec_group_is(key, s->curve);
    if (s->rsa_pss) {
        /* rsa_pss_rsae_*: an rsaEncryption key, and EMSA-PSS needs
         * emLen >= hLen + sLen + 2 with sLen = hLen. */
        return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA &&
               (size_t)EVP_PKEY_get_size(key) >= 2 * s->hash_len + 2;
    }
    return 0; /* rsa_pkcs1_*: never in a TLS 1.3 CertificateVerify */
}

/* ---- loading ---- */

void iotls__pkey_init(iotls_pkey *key)
{
    if (key == NULL)
        return;
    key->key = NULL;
    key->loaded = 0;
    key->why = IOTLS_PKEY_WHY_NONE;
}

int iotls__pkey_load_why(const iotls_pkey *key)
{
    return key != NULL ? key->why : IOTLS_PKEY_WHY_NONE;
}

void iotls__pkey_free(iotls_pkey *key)
{
    if (key == NULL)
        return;
    EVP_PKEY_free(key->key); /* clears the private key material */
    iotls__pkey_init(key);
}

/* The caller's password, and whether OpenSSL asked for one (the key is
 * encrypted). */
typedef struct {
    const char *password;
    int asked;
} password_req;

/* Hands OpenSSL the caller's password; never prompts. Without one an
 * encrypted key simply fails to load. */
static int password_cb(char *buf, int size, int rwflag, void *u)
{
    (void)rwflag;
    password_req *req = u;
    req->asked = 1;
    const char *password = req->password;
    if (password == NULL || size <= 0)
        return -1;
    size_t len = strlen(password);
    if (len > (size_t)size)
        return -1;
    memcpy(buf, password, len);
    return (int)len;
}

/* A private key from PEM (any of the usual armours, encrypted or not) or
 * DER (PKCS#8, encrypted PKCS#8, SEC1, PKCS#1). NULL when it is none. */
static EVP_PKEY *parse_private_key(const uint8_t *data, size_t len, password_req *req)
{
    if (len > INT_MAX)
        return NULL;
    EVP_PKEY *key = NULL;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return NULL;
    if (iotls__common_looks_pem(data, len)) {
        key = PEM_read_bio_PrivateKey(bio, NULL, password_cb, req);
    } else {
        const unsigned char *p = data;
        key = d2i_AutoPrivateKey(NULL, &p, (long)len);
        /* The whole input must be the key, nothing after it. */
        if (key != NULL && p != data + len) {
            EVP_PKEY_free(key);
            key = NULL;
        }
        if (key == NULL) {
            key = d2i_PKCS8PrivateKey_bio(bio, NULL, password_cb, req);
        }
    }
    BIO_free(bio);
    return key;
}

int iotls__pkey_load_mem(iotls_pkey *key, const uint8_t *data, size_t len, const char *password)
{
    if (key == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);
    password_req req = {password, 0};
    EVP_PKEY *k = parse_private_key(data, len, &req);
    ERR_clear_error();
    if (k == NULL) {
        key->why = !req.asked         ? IOTLS_PKEY_WHY_FORMAT
                   : password == NULL ? IOTLS_PKEY_WHY_PASSWORD_NEEDED
                                      : IOTLS_PKEY_WHY_PASSWORD_WRONG;
        return IOTLS_ERR_KEY_LOAD;
    }
    key->key = k;
    key->loaded = 1;
    return IOTLS_OK;
}

int iotls__pkey_load_file(iotls_pkey *key, const char *path, const char *password)
{
    if (key == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    iotls__pkey_free(key);
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = iotls__ossl_read_file(path, &data, &len);
    if (rc != IOTLS_OK)
        return rc;
    rc = len > 0 ? iotls__pkey_load_mem(key, data, len, password) : IOTLS_ERR_KEY_LOAD;
    if (len == 0)
        key->why = IOTLS_PKEY_WHY_FORMAT;
    OPENSSL_cleanse(data, len);
    free(data);
    return rc;
}

/* ---- signing ---- */

int iotls__pkey_can_sign(const iotls_pkey *key, uint16_t scheme)
{
    iotls_ossl_scheme s;
    if (key == NULL || !key->loaded || iotls__ossl_scheme_info(scheme, &s) != 0)
        return 0;
    return iotls__ossl_key_fits_cv(key->key, &s);
}

int iotls__pkey_sign(iotls_pkey *key, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len)
{
    iotls_ossl_scheme s;
    if (key == NULL || sig == NULL || sig_len == NULL || (msg == NULL && msg_len != 0))
        return IOTLS_ERR_BAD_ARG;
    *sig_len = 0;
    if (!key->loaded || iotls__ossl_scheme_info(scheme, &s) != 0 ||
        !iotls__ossl_key_fits_cv(key->key, &s))
        return IOTLS_ERR_BAD_ARG;

    /* The largest signature this key can make (RSA: the modulus length;
     * ECDSA: the longest DER encoding). */
    int max = EVP_PKEY_get_size(key->key);
    if (max <= 0)
        return IOTLS_ERR_CRYPTO;
    if (sig_cap < (size_t)max)
        return IOTLS_ERR_BUFFER_TOO_SMALL;

    static const unsigned char empty[1] = {0};
    const EVP_MD *md = iotls__ossl_md(s.hash);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
    int rc = IOTLS_ERR_CRYPTO;
    if (mctx == NULL)
        return IOTLS_ERR_NO_MEMORY;
    if (EVP_DigestSignInit(mctx, &pctx, md, NULL, key->key) != 1)
        goto out;
    if (s.rsa_pss) {
        /* RFC 8446 4.2.3: MGF1 with the same hash, salt as long as the
         * digest. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
            goto out;
    }
    size_t len = sig_cap;
    if (EVP_DigestSign(mctx, sig, &len, msg_len != 0 ? msg : empty, msg_len) != 1 || len == 0 ||
        len > sig_cap)
        goto out;
    *sig_len = len;
    rc = IOTLS_OK;

out:
    if (rc != IOTLS_OK)
        ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    return rc;
}
