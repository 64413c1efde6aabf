/* Hashing (psa_hash_*; transcript snapshots through psa_hash_clone), HMAC
 * (psa_mac_compute on a volatile HMAC key) and HKDF (psa_key_derivation_*
 * with PSA_ALG_HKDF_EXTRACT / PSA_ALG_HKDF_EXPAND), plus the small helpers
 * around them. */
#include <string.h>

#include <mbedtls/platform_util.h>
#include <mbedtls/build_info.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

/* ctx must be empty (zero-filled) or freed: an active one would leak. */
int iotls__hash_init(iotls_hash_ctx *ctx, iotls_hash_alg alg)
{
    if (!ctx)
        return IOTLS_ERR_BAD_ARG;
    psa_algorithm_t halg = iotls__psa_hash_alg(alg);
    memset(ctx, 0, sizeof(*ctx));
    if (halg == 0)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    ctx->op = psa_hash_operation_init();
    psa_status_t st = psa_hash_setup(&ctx->op, halg);
    if (st != PSA_SUCCESS) {
        psa_hash_abort(&ctx->op);
        memset(ctx, 0, sizeof(*ctx));
        return iotls__psa_error(st);
    }
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
    psa_status_t st = psa_hash_update(&ctx->op, data, len);
    return st == PSA_SUCCESS ? IOTLS_OK : iotls__psa_error(st);
}

int iotls__hash_clone(iotls_hash_ctx *dst, const iotls_hash_ctx *src)
{
    if (!dst || !src || !src->active || dst == src)
        return IOTLS_ERR_BAD_ARG;
    memset(dst, 0, sizeof(*dst));
    dst->op = psa_hash_operation_init();
    psa_status_t st = psa_hash_clone(&src->op, &dst->op);
    if (st != PSA_SUCCESS) {
        psa_hash_abort(&dst->op);
        memset(dst, 0, sizeof(*dst));
        return iotls__psa_error(st);
    }
    dst->alg = src->alg;
    dst->active = 1;
    return IOTLS_OK;
}

/* Finishing ends the operation, so finish a clone instead. */
int iotls__hash_snapshot(const iotls_hash_ctx *ctx, uint8_t *out)
{
    if (!ctx || !out)
        return IOTLS_ERR_BAD_ARG;
    iotls_hash_ctx tmp;
    int rc = iotls__hash_clone(&tmp, ctx);
    if (rc != IOTLS_OK)
        return rc;
    size_t len = 0;
    size_t want = iotls__hash_len((iotls_hash_alg)ctx->alg);
    psa_status_t st = psa_hash_finish(&tmp.op, out, want, &len);
    rc = st != PSA_SUCCESS ? iotls__psa_error(st) : len == want ? IOTLS_OK : IOTLS_ERR_CRYPTO;
    iotls__hash_free(&tmp);
    return rc;
}

void iotls__hash_free(iotls_hash_ctx *ctx)
{
    if (!ctx)
        return;
    if (ctx->active)
        psa_hash_abort(&ctx->op); /* wipes the running state */
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}

int iotls__hash(iotls_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out)
{
    psa_algorithm_t halg = iotls__psa_hash_alg(alg);
    if (halg == 0 || !out || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    size_t want = iotls__hash_len(alg), got = 0;
    psa_status_t st = psa_hash_compute(halg, data, len, out, want, &got);
    if (st != PSA_SUCCESS)
        return iotls__psa_error(st);
    return got == want ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

/* A volatile HMAC key holding key_len bytes of key. PSA refuses an empty
 * key; HMAC pads every key to the block size with zeros, so one zero byte
 * is the same key (RFC 2104 section 2). */
static int hmac_key(psa_algorithm_t halg, const uint8_t *key, size_t key_len, psa_key_id_t *id)
{
    static const uint8_t zero[1] = {0};
    if (key_len == 0) {
        key = zero;
        key_len = 1;
    }
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, PSA_KEY_TYPE_HMAC);
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_SIGN_MESSAGE);
    psa_set_key_algorithm(&attr, PSA_ALG_HMAC(halg));
    iotls__psa_lock();
    psa_status_t st = psa_import_key(&attr, key, key_len, id);
    iotls__psa_unlock();
    psa_reset_key_attributes(&attr);
    if (st != PSA_SUCCESS) {
        *id = PSA_KEY_ID_NULL;
        return iotls__psa_error(st);
    }
    return IOTLS_OK;
}

int iotls__hmac(iotls_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
                size_t len, uint8_t *out)
{
    psa_algorithm_t halg = iotls__psa_hash_alg(alg);
    if (halg == 0 || !out || (!key && key_len > 0) || (!data && len > 0))
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    psa_key_id_t id = PSA_KEY_ID_NULL;
    rc = hmac_key(halg, key, key_len, &id);
    if (rc != IOTLS_OK)
        return rc;
    size_t want = iotls__hash_len(alg), got = 0;
    iotls__psa_lock();
    psa_status_t st = psa_mac_compute(id, PSA_ALG_HMAC(halg), data, len, out, want, &got);
    iotls__psa_unlock();
    iotls__psa_destroy(&id);
    if (st != PSA_SUCCESS)
        return iotls__psa_error(st);
    return got == want ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

/* Runs one HKDF step: the inputs in the order PSA wants them (salt before
 * secret for Extract; secret before info for Expand), then out_len bytes
 * of output. The secret goes in as bytes, so no key is left behind. */
static int hkdf_run(psa_algorithm_t kdf, psa_key_derivation_step_t step1, const uint8_t *in1,
                    size_t in1_len, psa_key_derivation_step_t step2, const uint8_t *in2,
                    size_t in2_len, uint8_t *out, size_t out_len)
{
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    psa_key_derivation_operation_t op = PSA_KEY_DERIVATION_OPERATION_INIT;
    psa_status_t st = psa_key_derivation_setup(&op, kdf);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_input_bytes(&op, step1, in1, in1_len);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_input_bytes(&op, step2, in2, in2_len);
    if (st == PSA_SUCCESS)
        st = psa_key_derivation_output_bytes(&op, out, out_len);
    psa_key_derivation_abort(&op); /* wipes the PRK / intermediate blocks */
    if (st != PSA_SUCCESS) {
        mbedtls_platform_zeroize(out, out_len);
        return iotls__psa_error(st);
    }
    return IOTLS_OK;
}

int iotls__hkdf_extract(iotls_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out)
{
    static const uint8_t zeros[IOTLS_MAX_HASH_LEN] = {0};
    psa_algorithm_t halg = iotls__psa_hash_alg(alg);
    if (halg == 0 || !prk_out || (!salt && salt_len > 0) || (!ikm && ikm_len > 0))
        return IOTLS_ERR_BAD_ARG;
    /* RFC 5869: no salt means HashLen zeros (the same HMAC key as an empty
     * one, spelt out so no library has to agree on empty salts). */
    if (salt_len == 0) {
        salt = zeros;
        salt_len = iotls__hash_len(alg);
    }
    if (ikm == NULL)
        ikm = zeros;
    return hkdf_run(PSA_ALG_HKDF_EXTRACT(halg), PSA_KEY_DERIVATION_INPUT_SALT, salt, salt_len,
                    PSA_KEY_DERIVATION_INPUT_SECRET, ikm, ikm_len, prk_out, iotls__hash_len(alg));
}

#ifndef IOTLS_NO_SERVER
/* HKDF-Expand (RFC 5869 2.3) spelt out on HMAC: T(i) = HMAC(PRK, T(i-1) |
 * info | i). Only for a PRK longer than HashLen, which RFC 5869 allows and
 * iotls uses (the server's ticket keys come from a 48-byte master key),
 * but Mbed TLS' PSA_ALG_HKDF_EXPAND refuses. The client's key schedule
 * only expands HashLen secrets, so a client-only build leaves it out. */
static int hkdf_expand_hmac(psa_algorithm_t halg, size_t hash_len, const uint8_t *prk,
                            size_t prk_len, const uint8_t *info, size_t info_len, uint8_t *out,
                            size_t out_len)
{
    psa_key_id_t key = PSA_KEY_ID_NULL;
    int rc = hmac_key(halg, prk, prk_len, &key);
    if (rc != IOTLS_OK)
        return rc;
    uint8_t t[IOTLS_MAX_HASH_LEN];
    size_t t_len = 0, done = 0;
    psa_status_t st = PSA_SUCCESS;
    for (uint8_t i = 1; st == PSA_SUCCESS && done < out_len; i++) {
        psa_mac_operation_t op = PSA_MAC_OPERATION_INIT;
        size_t got = 0;
        iotls__psa_lock();
        st = psa_mac_sign_setup(&op, key, PSA_ALG_HMAC(halg));
        iotls__psa_unlock();
        if (st == PSA_SUCCESS)
            st = psa_mac_update(&op, t, t_len);
        if (st == PSA_SUCCESS)
            st = psa_mac_update(&op, info, info_len);
        if (st == PSA_SUCCESS)
            st = psa_mac_update(&op, &i, 1);
        if (st == PSA_SUCCESS)
            st = psa_mac_sign_finish(&op, t, sizeof(t), &got);
        psa_mac_abort(&op);
        if (st == PSA_SUCCESS && got != hash_len)
            st = PSA_ERROR_GENERIC_ERROR;
        if (st == PSA_SUCCESS) {
            size_t n = out_len - done < hash_len ? out_len - done : hash_len;
            memcpy(out + done, t, n);
            done += n;
            t_len = hash_len;
        }
    }
    mbedtls_platform_zeroize(t, sizeof(t));
    iotls__psa_destroy(&key);
    if (st != PSA_SUCCESS) {
        mbedtls_platform_zeroize(out, out_len);
        return iotls__psa_error(st);
    }
    return IOTLS_OK;
}
#endif

int iotls__hkdf_expand(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len)
{
    static const uint8_t empty[1] = {0};
    psa_algorithm_t halg = iotls__psa_hash_alg(alg);
    if (halg == 0)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__common_hkdf_expand_check(alg, prk, prk_len, info, info_len, out, out_len);
    if (rc != IOTLS_OK || out_len == 0)
        return rc;
    if (!info)
        info = empty;
    size_t hash_len = iotls__hash_len(alg);
    if (prk_len != hash_len) {
#ifdef IOTLS_NO_SERVER
        return IOTLS_ERR_UNSUPPORTED;
#else
        rc = iotls__psa_ready();
        if (rc != IOTLS_OK)
            return rc;
        return hkdf_expand_hmac(halg, hash_len, prk, prk_len, info, info_len, out, out_len);
#endif
    }
    return hkdf_run(PSA_ALG_HKDF_EXPAND(halg), PSA_KEY_DERIVATION_INPUT_SECRET, prk, prk_len,
                    PSA_KEY_DERIVATION_INPUT_INFO, info, info_len, out, out_len);
}

const char *iotls_crypto_backend_name(void)
{
    /* Mbed TLS' version: 4.0.0 pairs with TF-PSA-Crypto 1.0.0. */
    return "PSA Crypto (Mbed TLS " MBEDTLS_VERSION_STRING ")";
}
