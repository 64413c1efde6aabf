/* Hashing, HMAC, HKDF and the small helpers around them, on OpenSSL 3's
 * EVP_MD / EVP_MAC layer (EVP_KDF for HKDF outputs longer than a block).
 *
 * The digests, HMAC and HKDF are fetched once per process: OpenSSL 3.0
 * otherwise repeats an implicit fetch (a locked method-store lookup) on
 * every EVP_DigestInit_ex with a legacy EVP_sha256() object, on every
 * HMAC() and on every digest set by name. HKDF-Extract and the one-block
 * HKDF-Expand the TLS 1.3 key schedule uses are single HMACs (RFC 5869),
 * computed as such: an EVP_KDF run costs about a third more. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "ossl.h"

/* OpenSSL accepts NULL only for zero-length input in some calls; passing a
 * real (empty) buffer keeps every call happy. */
static const unsigned char empty_input[1] = {0};

static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_MD *fetched_md[4]; /* indexed by iotls_hash_alg */
static EVP_KDF *fetched_hkdf;
static EVP_MAC *fetched_hmac;
/* One unkeyed HMAC context per hash with the digest already set: setting
 * it by name costs a digest fetch, so each HMAC starts from a copy
 * (EVP_MAC_CTX_dup) of these instead. They hold no key and are never used
 * directly, only copied (which only reads them), so threads share them. */
static EVP_MAC_CTX *hmac_template[4];

static EVP_MAC_CTX *make_hmac_template(const char *digest)
{
    if (fetched_hmac == NULL)
        return NULL;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(fetched_hmac);
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && EVP_MAC_CTX_set_params(ctx, params) != 1) {
        EVP_MAC_CTX_free(ctx);
        ctx = NULL;
    }
    return ctx;
}

/* Run by OPENSSL_cleanup (at exit), so nothing fetched here shows as a
 * leak. */
static void free_all(void)
{
    for (size_t i = 0; i < 4; i++) {
        EVP_MAC_CTX_free(hmac_template[i]);
        hmac_template[i] = NULL;
        EVP_MD_free(fetched_md[i]);
        fetched_md[i] = NULL;
    }
    EVP_MAC_free(fetched_hmac);
    fetched_hmac = NULL;
    EVP_KDF_free(fetched_hkdf);
    fetched_hkdf = NULL;
}

static void fetch_all(void)
{
    /* A failed fetch leaves NULL; the getters below then fall back to the
     * legacy objects, which fetch implicitly, or to EVP_KDF. */
    fetched_md[IOTLS_HASH_SHA256] = EVP_MD_fetch(NULL, "SHA2-256", NULL);
    fetched_md[IOTLS_HASH_SHA384] = EVP_MD_fetch(NULL, "SHA2-384", NULL);
    fetched_md[IOTLS_HASH_SHA512] = EVP_MD_fetch(NULL, "SHA2-512", NULL);
    fetched_hkdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    fetched_hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    hmac_template[IOTLS_HASH_SHA256] = make_hmac_template("SHA2-256");
    hmac_template[IOTLS_HASH_SHA384] = make_hmac_template("SHA2-384");
    hmac_template[IOTLS_HASH_SHA512] = make_hmac_template("SHA2-512");
    ERR_clear_error();
    (void)OPENSSL_atexit(free_all);
}

static void ensure_fetched(void)
{
    (void)CRYPTO_THREAD_run_once(&fetch_once, fetch_all);
}

const EVP_MD *iotls__ossl_md(int alg)
{
    if (alg != IOTLS_HASH_SHA256 && alg != IOTLS_HASH_SHA384 && alg != IOTLS_HASH_SHA512)
        return NULL;
    ensure_fetched();
    if (fetched_md[alg] != NULL)
        return fetched_md[alg];
    switch (alg) {
    case IOTLS_HASH_SHA256:
        return EVP_sha256();
    case IOTLS_HASH_SHA384:
        return EVP_sha384();
    default:
        return EVP_sha512();
    }
}

/* ctx must be empty (zero-filled) or freed: an active one would leak. */
int iotls__hash_init(iotls_hash_ctx *ctx, iotls_hash_alg alg)
{
    if (!ctx)
        return IOTLS_ERR_BAD_ARG;
    const EVP_MD *md = iotls__ossl_md(alg);
    memset(ctx, 0, sizeof(*ctx));
    if (!md)
        return IOTLS_ERR_BAD_ARG;
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m == NULL)
        return IOTLS_ERR_NO_MEMORY;
    if (EVP_DigestInit_ex(m, md, NULL) != 1) {
        EVP_MD_CTX_free(m);
        return IOTLS_ERR_CRYPTO;
    }
    ctx->md = m;
    ctx->alg = alg;
    ctx->active = 1;
    return IOTLS_OK;
}

int iotls__hash_update(iotls_hash_ctx *ctx, const uint8_t *data, size_t len)
{
    if (!ctx || !ctx->active || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (len == 0)
        return IOTLS_OK;
    return EVP_DigestUpdate(ctx->md, data, len) == 1 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls__hash_clone(iotls_hash_ctx *dst, const iotls_hash_ctx *src)
{
    if (!dst || !src || !src->active || dst == src)
        return IOTLS_ERR_BAD_ARG;
    memset(dst, 0, sizeof(*dst));
    EVP_MD_CTX *m = EVP_MD_CTX_new();
    if (m == NULL)
        return IOTLS_ERR_NO_MEMORY;
    if (EVP_MD_CTX_copy_ex(m, src->md) != 1) {
        EVP_MD_CTX_free(m);
        return IOTLS_ERR_CRYPTO;
    }
    dst->md = m;
    dst->alg = src->alg;
    dst->active = 1;
    return IOTLS_OK;
}

/* Finishing destroys the running state, so finish a copy instead. */
int iotls__hash_snapshot(const iotls_hash_ctx *ctx, uint8_t *out)
{
    if (!ctx || !out)
        return IOTLS_ERR_BAD_ARG;
    iotls_hash_ctx tmp;
    int rc = iotls__hash_clone(&tmp, ctx);
    if (rc != IOTLS_OK)
        return rc;
    rc = EVP_DigestFinal_ex(tmp.md, out, NULL) == 1 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
    iotls__hash_free(&tmp);
    return rc;
}

void iotls__hash_free(iotls_hash_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->active)
        EVP_MD_CTX_free(ctx->md); /* cleanses the digest state */
    OPENSSL_cleanse(ctx, sizeof(*ctx));
}

int iotls__hash(iotls_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
    const EVP_MD *md = iotls__ossl_md(alg);
    if (!md || !out || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!data)
        data = empty_input;
    return EVP_Digest(data, len, out, NULL, md, NULL) == 1 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

/* HMAC over the concatenation of up to three parts, from a copy of the
 * hash's template context. IOTLS_ERR_CRYPTO when there is no template (the
 * callers then take another way). */
static int hmac_parts(int alg, const uint8_t *key, size_t key_len, const uint8_t *a, size_t a_len,
                      const uint8_t *b, size_t b_len, uint8_t *out)
{
    ensure_fetched();
    size_t hash_len = iotls__hash_len((iotls_hash_alg)alg);
    if (hmac_template[alg] == NULL || hash_len == 0)
        return IOTLS_ERR_CRYPTO;
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(hmac_template[alg]);
    if (ctx == NULL) {
        ERR_clear_error();
        return IOTLS_ERR_NO_MEMORY;
    }
    size_t out_len = 0;
    int ok = EVP_MAC_init(ctx, key != NULL ? key : empty_input, key_len, NULL) == 1 &&
             (a_len == 0 || EVP_MAC_update(ctx, a, a_len) == 1) &&
             (b_len == 0 || EVP_MAC_update(ctx, b, b_len) == 1) &&
             EVP_MAC_final(ctx, out, &out_len, hash_len) == 1 && out_len == hash_len;
    EVP_MAC_CTX_free(ctx); /* cleanses the keyed state */
    if (!ok) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

int iotls__hmac(iotls_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
                size_t len, uint8_t *out)
{
    const EVP_MD *md = iotls__ossl_md(alg);
    if (!md || !out || (!key && key_len > 0) || (!data && len > 0) || key_len > INT_MAX)
        return IOTLS_ERR_BAD_ARG;
    if (hmac_template[alg] != NULL)
        return hmac_parts(alg, key, key_len, data, len, NULL, 0, out);
    /* OpenSSL's HMAC wants a key pointer even for an empty key. */
    if (!key)
        key = empty_input;
    if (!data)
        data = empty_input;
    unsigned int out_len = 0;
    if (HMAC(md, key, (int)key_len, data, len, out, &out_len) == NULL ||
        out_len != iotls__hash_len(alg)) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

/* One HKDF step through EVP_KDF "HKDF" in the given mode. key is the IKM
 * (extract) or the PRK (expand); salt is only used by extract, info only
 * by expand. */
static int hkdf_run(int alg, int mode, const uint8_t *key, size_t key_len, const uint8_t *salt,
                    size_t salt_len, const uint8_t *info, size_t info_len, uint8_t *out,
                    size_t out_len)
{
    ensure_fetched();
    const EVP_MD *md = iotls__ossl_md(alg);
    if (fetched_hkdf == NULL || md == NULL)
        return IOTLS_ERR_CRYPTO;
    EVP_KDF_CTX *kctx = EVP_KDF_CTX_new(fetched_hkdf);
    if (kctx == NULL)
        return IOTLS_ERR_NO_MEMORY;

    OSSL_PARAM params[6];
    size_t n = 0;
    params[n++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
    params[n++] =
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)EVP_MD_get0_name(md), 0);
    params[n++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, key_len);
    if (salt != NULL)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, salt_len);
    if (info != NULL)
        params[n++] =
            OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, info_len);
    params[n] = OSSL_PARAM_construct_end();

    int rc = EVP_KDF_derive(kctx, out, out_len, params) == 1 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
    EVP_KDF_CTX_free(kctx); /* cleanses the copied key */
    if (rc != IOTLS_OK)
        ERR_clear_error();
    return rc;
}

int iotls__hkdf_extract(iotls_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    size_t hash_len = iotls__hash_len(alg);
    if (!iotls__ossl_md(alg) || !prk_out || (!salt && salt_len > 0) || (!ikm && ikm_len > 0))
        return IOTLS_ERR_BAD_ARG;
    /* RFC 5869: no salt means HashLen zeros. Passed explicitly, so the
     * result does not depend on how a library version treats an empty
     * salt. */
    static const uint8_t zeros[IOTLS_MAX_HASH_LEN + 16] = {0};
    if (salt_len == 0) {
        salt = zeros;
        salt_len = hash_len;
    }
    if (!ikm)
        ikm = empty_input;
    /* RFC 5869 2.2: HKDF-Extract(salt, IKM) is HMAC-Hash(salt, IKM). One
     * HMAC from a ready context costs far less than an EVP_KDF run (a new
     * KDF context, a digest fetch by name and an HMAC context of its own). */
    if (hmac_template[alg] != NULL)
        return hmac_parts(alg, salt, salt_len, ikm, ikm_len, NULL, 0, prk_out);
    return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, ikm_len, salt, salt_len, NULL, 0,
                    prk_out, hash_len);
}

int iotls__hkdf_expand(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    if (!iotls__ossl_md(alg))
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__common_hkdf_expand_check(alg, prk, prk_len, info, info_len, out, out_len);
    if (rc != IOTLS_OK || out_len == 0)
        return rc;
    if (!info)
        info = empty_input;
    /* RFC 5869 2.3: up to HashLen bytes of output are the first block,
     * T(1) = HMAC-Hash(PRK, info || 0x01), cut to length; all the TLS 1.3
     * key schedule asks for. Longer outputs go through EVP_KDF. */
    size_t hash_len = iotls__hash_len(alg);
    if (out_len <= hash_len && hmac_template[alg] != NULL) {
        static const uint8_t counter = 0x01;
        uint8_t block[EVP_MAX_MD_SIZE];
        rc = hmac_parts(alg, prk, prk_len, info, info_len, &counter, 1, block);
        if (rc == IOTLS_OK)
            memcpy(out, block, out_len);
        OPENSSL_cleanse(block, sizeof(block));
        return rc;
    }
    return hkdf_run(alg, EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, prk_len, NULL, 0, info, info_len, out,
                    out_len);
}

int iotls__ct_memcmp(const void *a, const void *b, size_t len)
{
    /* CRYPTO_memcmp is OpenSSL's constant-time comparison: no early exit,
     * 0 when equal. */
    if (len == 0)
        return 0;
    return CRYPTO_memcmp(a, b, len) != 0;
}

/* memset reached through a volatile pointer: the compiler cannot know
 * what it calls, so it cannot drop the call as a dead store (the way
 * mbedtls_platform_zeroize does it). Used rather than OPENSSL_cleanse,
 * which clears 8 bytes per loop turn: the engine wipes every received
 * record's plaintext, and there the C library's vector memset is several
 * times faster. */
static void *(*const volatile wipe_memset)(void *, int, size_t) = memset;

void iotls__wipe(void *p, size_t len)
{
    if (p && len > 0)
        (void)wipe_memset(p, 0, len);
}

static CRYPTO_ONCE name_once = CRYPTO_ONCE_STATIC_INIT;
static char backend_name[48] = "OpenSSL";

static void make_name(void)
{
    /* The library actually loaded, which may be newer than the headers. */
    snprintf(backend_name, sizeof(backend_name), "OpenSSL %s",
             OpenSSL_version(OPENSSL_VERSION_STRING));
}

const char *iotls_crypto_backend_name(void)
{
    (void)CRYPTO_THREAD_run_once(&name_once, make_name);
    return backend_name;
}
