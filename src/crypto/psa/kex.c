/* TLS 1.3 key_share through PSA: X25519, secp256r1, secp384r1. Our key
 * pair is a volatile PSA key (usage DERIVE, PSA_ALG_ECDH), its public half
 * comes from psa_export_public_key, the shared secret from
 * psa_raw_key_agreement; iotls__kex_free destroys the key.
 *
 * The private key is drawn from iotls__random and imported rather than made
 * by psa_generate_key: iotls__random is psa_generate_random unless a test
 * swapped in its own generator, and tests rely on that swap controlling
 * key generation and its failure, whatever the provider (the OpenSSL
 * provider does the same). An X25519 key is any 32 bytes (clamped by the
 * library); a NIST scalar out of [1, n-1] is refused by psa_import_key and
 * drawn again (FIPS 186-4 B.4.2, rejection sampling).
 *
 * Wire encodings (RFC 8446 section 4.2.8.2) are PSA's own export formats:
 * the 32-byte little-endian u-coordinate for X25519, the uncompressed
 * point 0x04||X||Y for the NIST curves; the shared secret is the
 * x-coordinate in the same byte order, fixed length. */
#include <string.h>

#include <mbedtls/platform_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

/* Draws of a NIST scalar before giving up: each one falls outside
 * [1, n-1] with probability below 2^-32 for P-256 and P-384. */
#define SCALAR_TRIES 8

static psa_key_type_t key_type(const iotls_common_curve *c)
{
    return PSA_KEY_TYPE_ECC_KEY_PAIR(c->montgomery ? PSA_ECC_FAMILY_MONTGOMERY
                                                   : PSA_ECC_FAMILY_SECP_R1);
}

static size_t key_bits(const iotls_common_curve *c)
{
    return c->montgomery ? 255 : c->coord_len * 8;
}

int iotls__kex_supported(uint16_t group)
{
    switch (group) {
#if defined(PSA_WANT_ECC_MONTGOMERY_255)
    case IOTLS_GROUP_X25519:
        return 1;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_256)
    case IOTLS_GROUP_SECP256R1:
        return 1;
#endif
#if defined(PSA_WANT_ECC_SECP_R1_384)
    case IOTLS_GROUP_SECP384R1:
        return 1;
#endif
    default:
        return 0;
    }
}

/* Imports priv as ctx's key pair and writes its public half. On failure
 * ctx holds no key. A scalar PSA refuses gives IOTLS_ERR_BAD_ARG. */
static int import_pair(iotls_kex_ctx *ctx, const iotls_common_curve *c, const uint8_t *priv,
                       uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, key_type(c));
    psa_set_key_bits(&attr, key_bits(c));
    psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_DERIVE);
    psa_set_key_algorithm(&attr, PSA_ALG_ECDH);
    iotls__psa_lock();
    psa_status_t st = psa_import_key(&attr, priv, c->coord_len, &ctx->key);
    iotls__psa_unlock();
    psa_reset_key_attributes(&attr);
    if (st != PSA_SUCCESS) {
        ctx->key = PSA_KEY_ID_NULL;
        return st == PSA_ERROR_INVALID_ARGUMENT ? IOTLS_ERR_BAD_ARG : iotls__psa_error(st);
    }
    size_t len = 0;
    iotls__psa_lock();
    st = psa_export_public_key(ctx->key, pub, pub_cap, &len);
    iotls__psa_unlock();
    if (st != PSA_SUCCESS || len != c->pub_len) {
        iotls__psa_destroy(&ctx->key);
        return st != PSA_SUCCESS ? iotls__psa_error(st) : IOTLS_ERR_CRYPTO;
    }
    ctx->group = c->group;
    ctx->active = 1;
    *pub_len = len;
    return IOTLS_OK;
}

/* The common opening of generate and set_private: the group, the room for
 * the public key, and an empty ctx with PSA started. */
static int kex_start(iotls_kex_ctx *ctx, uint16_t group, size_t pub_cap,
                     const iotls_common_curve **curve)
{
    const iotls_common_curve *c = iotls__common_kex_curve(group);
    if (c == NULL || !iotls__kex_supported(group))
        return IOTLS_ERR_BAD_ARG;
    if (pub_cap < c->pub_len)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    iotls__kex_free(ctx);
    *curve = c;
    return iotls__psa_ready();
}

int iotls__kex_generate(iotls_kex_ctx *ctx, uint16_t group, uint8_t *pub, size_t pub_cap,
                        size_t *pub_len)
{
    if (ctx == NULL || pub == NULL || pub_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const iotls_common_curve *c = NULL;
    int rc = kex_start(ctx, group, pub_cap, &c);
    if (rc != IOTLS_OK)
        return rc;
    uint8_t priv[IOTLS_MAX_KEX_SECRET_LEN];
    rc = IOTLS_ERR_BAD_ARG;
    for (int i = 0; i < SCALAR_TRIES && rc == IOTLS_ERR_BAD_ARG; i++) {
        rc = iotls__random(priv, c->coord_len);
        if (rc == IOTLS_OK)
            rc = import_pair(ctx, c, priv, pub, pub_cap, pub_len);
    }
    mbedtls_platform_zeroize(priv, sizeof(priv));
    if (rc == IOTLS_ERR_BAD_ARG)
        rc = IOTLS_ERR_RANDOM; /* a generator that only gives invalid scalars */
    if (rc != IOTLS_OK)
        iotls__kex_free(ctx);
    return rc;
}

int iotls__kex_set_private(iotls_kex_ctx *ctx, uint16_t group, const uint8_t *priv, size_t len,
                           uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    if (ctx == NULL || priv == NULL || pub == NULL || pub_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const iotls_common_curve *cc = iotls__common_kex_curve(group);
    if (cc == NULL || len != cc->coord_len)
        return IOTLS_ERR_BAD_ARG;
    const iotls_common_curve *c = NULL;
    int rc = kex_start(ctx, group, pub_cap, &c);
    if (rc != IOTLS_OK)
        return rc;
    /* RFC 7748's clamping of an X25519 key is done by the library. */
    rc = import_pair(ctx, c, priv, pub, pub_cap, pub_len);
    if (rc != IOTLS_OK)
        iotls__kex_free(ctx);
    return rc;
}

int iotls__kex_derive(iotls_kex_ctx *ctx, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                      size_t secret_cap, size_t *secret_len)
{
    if (ctx == NULL || secret == NULL || secret_len == NULL || (peer == NULL && peer_len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!ctx->active)
        return IOTLS_ERR_BAD_STATE;
    const iotls_common_curve *c = iotls__common_kex_curve(ctx->group);
    if (c == NULL)
        return IOTLS_ERR_BAD_STATE;
    /* Exact length, and for the NIST curves only the uncompressed form. */
    int rc = iotls__common_kex_derive_check(c, peer, peer_len, secret_cap);
    if (rc != IOTLS_OK)
        return rc;

    /* The library rejects points off the curve, coordinates >= p, the
     * point at infinity and, for X25519, the known low-order points. */
    size_t len = 0;
    iotls__psa_lock();
    psa_status_t st =
        psa_raw_key_agreement(PSA_ALG_ECDH, ctx->key, peer, peer_len, secret, secret_cap, &len);
    iotls__psa_unlock();
    if (st == PSA_ERROR_INVALID_ARGUMENT || st == PSA_ERROR_NOT_SUPPORTED) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
    } else if (st != PSA_SUCCESS) {
        rc = iotls__psa_error(st);
    } else if (len != c->coord_len) {
        rc = IOTLS_ERR_CRYPTO;
    } else if (c->montgomery && iotls__common_all_zero(secret, c->coord_len)) {
        /* RFC 7748 section 6.1 / RFC 8446 7.4.2: a low-order point. */
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
    }
    if (rc != IOTLS_OK) {
        mbedtls_platform_zeroize(secret, secret_cap < c->coord_len ? secret_cap : c->coord_len);
        return rc;
    }
    *secret_len = len;
    return IOTLS_OK;
}

void iotls__kex_free(iotls_kex_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active || ctx->key != PSA_KEY_ID_NULL)
        iotls__psa_destroy(&ctx->key); /* wipes the private key */
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}
