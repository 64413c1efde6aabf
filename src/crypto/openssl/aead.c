/* AEAD through EVP_CIPHER: AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305,
 * AES-128-CCM with a 16- or 8-byte tag.
 *
 * The context is keyed once in iotls__aead_init. Each seal/open then
 * re-initialises it with only the nonce and the direction (EVP_CipherInit_ex
 * with a NULL cipher and key keeps the key schedule), so one context serves
 * both directions, as in the mbedTLS backend. EVP_CipherUpdate allows the
 * output to be exactly the input, which gives in-place operation.
 *
 * CCM differs (EVP_EncryptInit(3), "CCM Mode"): the tag length is set
 * before the key, the total plaintext length is declared before the AAD,
 * AAD and data each go in one call, and on decryption the expected tag is
 * set before the data and the data call itself verifies it (there is no
 * Final). And a CCM context works in the one direction it was keyed for,
 * so CCM has a second context, keyed for decryption.
 *
 * A context costs libcrypto about 1.2 KiB (the EVP_CIPHER_CTX and the
 * provider's AES-GCM state with its key schedule and GHASH table), two per
 * connection: most of what an idle gateway connection holds. So
 * iotls__aead_park frees them and the context keeps the key it was given;
 * the next seal or open keys new ones (docs/memory.md measures both). */
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

static CRYPTO_ONCE fetch_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_CIPHER *fetched[6]; /* indexed by iotls_aead_alg */

/* Fetched once: an implicit fetch on every re-initialisation would cost a
 * method-store lookup per record. */
static void fetch_all(void)
{
    fetched[IOTLS_AEAD_AES_128_GCM] = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
    fetched[IOTLS_AEAD_AES_256_GCM] = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    fetched[IOTLS_AEAD_CHACHA20_POLY1305] = EVP_CIPHER_fetch(NULL, "ChaCha20-Poly1305", NULL);
    fetched[IOTLS_AEAD_AES_128_CCM] = EVP_CIPHER_fetch(NULL, "AES-128-CCM", NULL);
}

static int is_ccm(int alg)
{
    return alg == IOTLS_AEAD_AES_128_CCM || alg == IOTLS_AEAD_AES_128_CCM_8;
}

static const EVP_CIPHER *cipher_for(iotls_aead_alg alg)
{
    (void)CRYPTO_THREAD_run_once(&fetch_once, fetch_all);
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
        return fetched[alg] != NULL ? fetched[alg] : EVP_aes_128_gcm();
    case IOTLS_AEAD_AES_256_GCM:
        return fetched[alg] != NULL ? fetched[alg] : EVP_aes_256_gcm();
    case IOTLS_AEAD_CHACHA20_POLY1305:
        return fetched[alg] != NULL ? fetched[alg] : EVP_chacha20_poly1305();
    case IOTLS_AEAD_AES_128_CCM:
    case IOTLS_AEAD_AES_128_CCM_8: /* one cipher; the tag length is the context's */
        return fetched[IOTLS_AEAD_AES_128_CCM] != NULL ? fetched[IOTLS_AEAD_AES_128_CCM]
                                                       : EVP_aes_128_ccm();
    default:
        return NULL;
    }
}

/* A new context for cipher keyed with key for the direction enc. */
static int keyed(const EVP_CIPHER *cipher, iotls_aead_alg alg, const uint8_t *key, int enc,
                 EVP_CIPHER_CTX **out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    if (c == NULL)
        return IOTLS_ERR_NO_MEMORY;
    /* GCM and ChaCha20 default to a 96-bit nonce, which is TLS 1.3's; set
     * it anyway so the context does not rely on the default. CCM defaults
     * to 7 bytes (and a 12-byte tag): its nonce and tag lengths must be set
     * before the key. */
    int tag_len = (int)iotls__aead_tag_len(alg);
    if (EVP_CipherInit_ex(c, cipher, NULL, NULL, NULL, enc) != 1 ||
        EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_IVLEN, IOTLS_AEAD_NONCE_LEN, NULL) != 1 ||
        (is_ccm(alg) && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, tag_len, NULL) != 1) ||
        EVP_CipherInit_ex(c, NULL, NULL, key, NULL, enc) != 1) {
        EVP_CIPHER_CTX_free(c);
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    *out = c;
    return IOTLS_OK;
}

static int unpark(iotls_aead_ctx *ctx);

int iotls__aead_init(iotls_aead_ctx *ctx, iotls_aead_alg alg, const uint8_t *key, size_t key_len)
{
    if (ctx == NULL || !iotls__common_aead_key_ok(alg, key, key_len))
        return IOTLS_ERR_BAD_ARG;
    const EVP_CIPHER *cipher = cipher_for(alg);
    if (cipher == NULL)
        return IOTLS_ERR_CRYPTO;

    /* Re-keying an active context (KeyUpdate) must not leak the old one. */
    iotls__aead_free(ctx);
    if (key_len > sizeof ctx->key)
        return IOTLS_ERR_BAD_ARG;
    memcpy(ctx->key, key, key_len);
    ctx->key_len = (uint8_t)key_len;
    ctx->alg = (int)alg;
    int rc = unpark(ctx);
    if (rc != IOTLS_OK) {
        OPENSSL_cleanse(ctx, sizeof(*ctx));
        return rc;
    }
    ctx->active = 1;
    return IOTLS_OK;
}

/* Keys the libcrypto contexts from ctx->key unless they are there (a
 * parked context's first use after iotls__aead_park). */
static int unpark(iotls_aead_ctx *ctx)
{
    if (ctx->cipher != NULL)
        return IOTLS_OK;
    iotls_aead_alg alg = (iotls_aead_alg)ctx->alg;
    const EVP_CIPHER *cipher = cipher_for(alg);
    if (cipher == NULL)
        return IOTLS_ERR_CRYPTO;
    int rc = keyed(cipher, alg, ctx->key, 1, &ctx->cipher);
    /* The CCM implementations choose their bulk routine (the AES-NI one,
     * for one) by the direction given with the key, so a CCM context keyed
     * for encryption does not decrypt: CCM gets one keyed for each. */
    if (rc == IOTLS_OK && is_ccm(alg))
        rc = keyed(cipher, alg, ctx->key, 0, &ctx->decrypt);
    if (rc != IOTLS_OK) {
        EVP_CIPHER_CTX_free(ctx->cipher);
        ctx->cipher = NULL;
    }
    return rc;
}

void iotls__aead_park(iotls_aead_ctx *ctx)
{
    if (ctx == NULL || !ctx->active)
        return;
    EVP_CIPHER_CTX_free(ctx->cipher); /* cleanses the key schedule */
    EVP_CIPHER_CTX_free(ctx->decrypt);
    ctx->cipher = NULL;
    ctx->decrypt = NULL;
}

int iotls__aead_seal(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    int rc = iotls__common_aead_seal_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out);
    if (rc != IOTLS_OK)
        return rc;
    if (aad_len > INT_MAX || in_len > INT_MAX)
        return IOTLS_ERR_BAD_ARG;
    rc = unpark(ctx);
    if (rc != IOTLS_OK)
        return rc;
    EVP_CIPHER_CTX *c = ctx->cipher;
    int ccm = is_ccm(ctx->alg);
    int tag_len = (int)iotls__aead_tag_len((iotls_aead_alg)ctx->alg);
    int len = 0, fin = 0;
    int ok = EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 1) == 1;
    /* CCM: the plaintext length goes into the first block, before the AAD. */
    if (ok && ccm)
        ok = EVP_CipherUpdate(c, NULL, &len, NULL, (int)in_len) == 1;
    if (ok && aad_len > 0)
        ok = EVP_CipherUpdate(c, NULL, &len, aad, (int)aad_len) == 1;
    /* CCM needs the data call even for no data: it computes the tag. */
    if (ok && (in_len > 0 || ccm))
        ok = EVP_CipherUpdate(c, out, &len, in_len > 0 ? in : out, (int)in_len) == 1 &&
             (size_t)len == in_len;
    if (ok)
        ok = EVP_CipherFinal_ex(c, out + in_len, &fin) == 1 && fin == 0;
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, tag_len, out + in_len) == 1;
    if (!ok) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

/* CCM decryption: the expected tag is set first and the one data call
 * decrypts and verifies; it fails on a bad tag, and then out is cleansed
 * here (the library does too). The length and AAD calls fail only for a
 * library error. */
static int ccm_open(EVP_CIPHER_CTX *c, const uint8_t *nonce, const uint8_t *aad, size_t aad_len,
                    const uint8_t *in, size_t plain_len, uint8_t *tag, size_t tag_len, uint8_t *out)
{
    int len = 0;
    int ok = EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) == 1 &&
             EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) == 1 &&
             EVP_CipherUpdate(c, NULL, &len, NULL, (int)plain_len) == 1;
    if (ok && aad_len > 0)
        ok = EVP_CipherUpdate(c, NULL, &len, aad, (int)aad_len) == 1;
    OPENSSL_cleanse(tag, tag_len);
    if (!ok) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    /* in is never NULL here; with no data the call still checks the tag. */
    if (EVP_CipherUpdate(c, out, &len, in, (int)plain_len) != 1 || (size_t)len != plain_len) {
        OPENSSL_cleanse(out, plain_len);
        ERR_clear_error();
        return IOTLS_ERR_BAD_RECORD_MAC;
    }
    return IOTLS_OK;
}

int iotls__aead_open(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out)
{
    uint8_t scratch[1];
    size_t plain_len = 0;
    size_t tag_len = ctx != NULL ? iotls__aead_tag_len((iotls_aead_alg)ctx->alg) : 0;
    int rc = iotls__common_aead_open_check(ctx != NULL && ctx->active, nonce, aad, aad_len, in,
                                           in_len, out, tag_len, &plain_len);
    if (rc != IOTLS_OK)
        return rc;
    if (aad_len > INT_MAX || plain_len > INT_MAX)
        return IOTLS_ERR_BAD_ARG;
    if (out == NULL)
        out = scratch;
    rc = unpark(ctx);
    if (rc != IOTLS_OK)
        return rc;

    /* The tag is copied first: with out == in it stays in place anyway,
     * but a caller's out may overlap the tag otherwise. */
    uint8_t tag[IOTLS_AEAD_TAG_LEN];
    memcpy(tag, in + plain_len, tag_len);

    EVP_CIPHER_CTX *c = ctx->cipher;
    if (is_ccm(ctx->alg))
        return ccm_open(ctx->decrypt, nonce, aad, aad_len, in, plain_len, tag, tag_len, out);
    int len = 0, fin = 0;
    int ok = EVP_CipherInit_ex(c, NULL, NULL, NULL, nonce, 0) == 1;
    if (ok && aad_len > 0)
        ok = EVP_CipherUpdate(c, NULL, &len, aad, (int)aad_len) == 1;
    if (ok && plain_len > 0)
        ok = EVP_CipherUpdate(c, out, &len, in, (int)plain_len) == 1 && (size_t)len == plain_len;
    if (ok)
        ok = EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, (int)tag_len, tag) == 1;
    if (!ok) {
        OPENSSL_cleanse(out, plain_len);
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    /* Final compares the tag (in constant time); only then is the
     * plaintext released. */
    if (EVP_CipherFinal_ex(c, out + plain_len, &fin) != 1 || fin != 0) {
        OPENSSL_cleanse(out, plain_len);
        ERR_clear_error();
        return IOTLS_ERR_BAD_RECORD_MAC;
    }
    return IOTLS_OK;
}

void iotls__aead_free(iotls_aead_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active) {
        EVP_CIPHER_CTX_free(ctx->cipher); /* cleanses the key schedule */
        EVP_CIPHER_CTX_free(ctx->decrypt);
    }
    OPENSSL_cleanse(ctx, sizeof(*ctx));
}
