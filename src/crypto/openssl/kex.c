/* TLS 1.3 key_share on OpenSSL 3: X25519 (EVP_PKEY_X25519, raw keys) and
 * secp256r1 / secp384r1 (EVP_PKEY_EC, uncompressed points).
 *
 * Wire encodings (RFC 8446 section 4.2.8.2): X25519 is the bare 32-byte
 * u-coordinate; the NIST curves are the bare uncompressed point 0x04||X||Y.
 * The shared secret is the fixed-length x-coordinate (EVP_PKEY_derive pads
 * it to the field size) or the X25519 output.
 *
 * Private keys are drawn from iotls__random rather than from OpenSSL's own
 * generator, so that a test's iotls__random_override controls key
 * generation (and its failure) exactly as with the mbedTLS backend. The
 * draw is then handed to OpenSSL: a raw X25519 private key (clamped by
 * OpenSSL), or an EC scalar in [1, n-1] by rejection sampling (FIPS 186-4
 * B.4.2), whose public point OpenSSL computes (EC_POINT_mul). */
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* OpenSSL's name of a NIST group iotls__common_kex_curve knows (X25519
 * goes through EVP_PKEY_X25519 instead). */
static const char *curve_name(const iotls_common_curve *c)
{
    return c->group == IOTLS_GROUP_SECP384R1 ? "P-384" : "P-256";
}

/* The EC groups, built once: they are read-only afterwards and safe to
 * share between threads. */
static CRYPTO_ONCE groups_once = CRYPTO_ONCE_STATIC_INIT;
static EC_GROUP *group_p256, *group_p384;

static void load_groups(void)
{
    group_p256 = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1);
    group_p384 = EC_GROUP_new_by_curve_name(NID_secp384r1);
}

static const EC_GROUP *ec_group(const iotls_common_curve *c)
{
    (void)CRYPTO_THREAD_run_once(&groups_once, load_groups);
    if (c->group == IOTLS_GROUP_SECP256R1)
        return group_p256;
    if (c->group == IOTLS_GROUP_SECP384R1)
        return group_p384;
    return NULL;
}

int iotls__kex_supported(uint16_t group)
{
    const iotls_common_curve *c = iotls__common_kex_curve(group);
    if (c == NULL)
        return 0;
    return c->montgomery || ec_group(c) != NULL;
}

void iotls__kex_free(iotls_kex_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active)
        EVP_PKEY_free(ctx->key); /* clears the private key */
    OPENSSL_cleanse(ctx, sizeof(*ctx));
}

/* X25519 key pair from 32 private bytes (clamped by OpenSSL, RFC 7748). */
static int x25519_from_private(iotls_kex_ctx *ctx, const uint8_t *priv, uint8_t *pub,
                               size_t *pub_len)
{
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv, 32);
    size_t len = 32;
    if (key == NULL || EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 || len != 32) {
        EVP_PKEY_free(key);
        return IOTLS_ERR_CRYPTO;
    }
    ctx->key = key;
    *pub_len = 32;
    return IOTLS_OK;
}

/* EC key pair from a big-endian scalar. IOTLS_ERR_BAD_ARG when the scalar
 * is 0 or not below the group order. */
static int ec_from_private(iotls_kex_ctx *ctx, const iotls_common_curve *c, const uint8_t *priv,
                           uint8_t *pub, size_t *pub_len)
{
    const EC_GROUP *grp = ec_group(c);
    if (grp == NULL)
        return IOTLS_ERR_CRYPTO;
    int rc = IOTLS_ERR_CRYPTO;
    BIGNUM *d = BN_secure_new();
    EC_POINT *q = EC_POINT_new(grp);
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *pctx = NULL;
    EVP_PKEY *key = NULL;
    if (d == NULL || q == NULL || bld == NULL) {
        rc = IOTLS_ERR_NO_MEMORY;
        goto out;
    }
    if (BN_bin2bn(priv, (int)c->coord_len, d) == NULL)
        goto out;
    if (BN_is_zero(d) || BN_cmp(d, EC_GROUP_get0_order(grp)) >= 0) {
        rc = IOTLS_ERR_BAD_ARG;
        goto out;
    }
    BN_set_flags(d, BN_FLG_CONSTTIME);
    if (EC_POINT_mul(grp, q, d, NULL, NULL, NULL) != 1 ||
        EC_POINT_point2oct(grp, q, POINT_CONVERSION_UNCOMPRESSED, pub, c->pub_len, NULL) !=
            c->pub_len)
        goto out;
    if (OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, curve_name(c), 0) != 1 ||
        OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
        OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, c->pub_len) != 1)
        goto out;
    params = OSSL_PARAM_BLD_to_param(bld);
    pctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
    if (params == NULL || pctx == NULL || EVP_PKEY_fromdata_init(pctx) != 1 ||
        EVP_PKEY_fromdata(pctx, &key, EVP_PKEY_KEYPAIR, params) != 1)
        goto out;
    ctx->key = key;
    key = NULL;
    *pub_len = c->pub_len;
    rc = IOTLS_OK;

out:
    if (rc != IOTLS_OK)
        OPENSSL_cleanse(pub, c->pub_len);
    EVP_PKEY_free(key);
    EVP_PKEY_CTX_free(pctx);
    OSSL_PARAM_free(params); /* the private scalar sat in secure (cleared) memory */
    OSSL_PARAM_BLD_free(bld);
    EC_POINT_free(q);
    BN_clear_free(d);
    return rc;
}

/* Replaces ctx's key with one made from priv (coord_len bytes). */
static int kex_from_private(iotls_kex_ctx *ctx, const iotls_common_curve *c, const uint8_t *priv,
                            uint8_t *pub, size_t *pub_len)
{
    iotls__kex_free(ctx);
    int rc = c->montgomery ? x25519_from_private(ctx, priv, pub, pub_len)
                           : ec_from_private(ctx, c, priv, pub, pub_len);
    if (rc != IOTLS_OK) {
        ERR_clear_error();
        iotls__kex_free(ctx);
        return rc;
    }
    ctx->group = c->group;
    ctx->active = 1;
    return IOTLS_OK;
}

int iotls__kex_generate(iotls_kex_ctx *ctx, uint16_t group, uint8_t *pub, size_t pub_cap,
                        size_t *pub_len)
{
    if (ctx == NULL || pub == NULL || pub_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const iotls_common_curve *c = iotls__common_kex_curve(group);
    if (c == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (pub_cap < c->pub_len)
        return IOTLS_ERR_BUFFER_TOO_SMALL;

    uint8_t priv[IOTLS_MAX_KEX_SECRET_LEN];
    int rc = IOTLS_ERR_CRYPTO;
    /* A scalar >= n turns up with probability below 2^-32 for these
     * curves; a handful of redraws is plenty, and a generator that keeps
     * producing out-of-range values is broken. */
    for (int attempt = 0; attempt < 8; attempt++) {
        if (iotls__random(priv, c->coord_len) != IOTLS_OK) {
            rc = IOTLS_ERR_RANDOM;
            break;
        }
        rc = kex_from_private(ctx, c, priv, pub, pub_len);
        if (rc != IOTLS_ERR_BAD_ARG)
            break;
    }
    OPENSSL_cleanse(priv, sizeof(priv));
    if (rc == IOTLS_ERR_BAD_ARG)
        rc = IOTLS_ERR_RANDOM;
    if (rc != IOTLS_OK)
        iotls__kex_free(ctx);
    return rc;
}

int iotls__kex_set_private(iotls_kex_ctx *ctx, uint16_t group, const uint8_t *priv, size_t len,
                           uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    if (ctx == NULL || priv == NULL || pub == NULL || pub_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const iotls_common_curve *c = iotls__common_kex_curve(group);
    if (c == NULL || len != c->coord_len)
        return IOTLS_ERR_BAD_ARG;
    if (pub_cap < c->pub_len)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    return kex_from_private(ctx, c, priv, pub, pub_len);
}

/* The peer's key_share as an EVP_PKEY of our key's type, checked: on the
 * curve, not the point at infinity, coordinates below p. NULL when it is
 * not a valid public key. */
static EVP_PKEY *peer_key(const iotls_kex_ctx *ctx, EVP_PKEY_CTX *dctx, const iotls_common_curve *c,
                          const uint8_t *peer, size_t peer_len)
{
    if (c->montgomery) {
        /* Through dctx (made from our key) rather than
         * EVP_PKEY_new_raw_public_key, which looks the key management
         * up by name on every call. */
        EVP_PKEY *pk = NULL;
        OSSL_PARAM params[2];
        params[0] =
            OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)peer, peer_len);
        params[1] = OSSL_PARAM_construct_end();
        if (EVP_PKEY_fromdata_init(dctx) != 1 ||
            EVP_PKEY_fromdata(dctx, &pk, EVP_PKEY_PUBLIC_KEY, params) != 1) {
            EVP_PKEY_free(pk);
            return NULL;
        }
        return pk;
    }

    EVP_PKEY *key = EVP_PKEY_new();
    EVP_PKEY_CTX *check = NULL;
    if (key == NULL || EVP_PKEY_copy_parameters(key, ctx->key) != 1 ||
        EVP_PKEY_set1_encoded_public_key(key, peer, peer_len) != 1)
        goto bad;
    /* Decoding already refuses points off the curve; the full public-key
     * check also covers the rest of SP 800-56A 5.6.2.3.3. */
    check = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
    if (check == NULL || EVP_PKEY_public_check(check) != 1)
        goto bad;
    EVP_PKEY_CTX_free(check);
    return key;

bad:
    EVP_PKEY_CTX_free(check);
    EVP_PKEY_free(key);
    return NULL;
}

int iotls__kex_derive(iotls_kex_ctx *ctx, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                      size_t secret_cap, size_t *secret_len)
{
    if (ctx == NULL || secret == NULL || secret_len == NULL || (peer == NULL && peer_len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!ctx->active)
        return IOTLS_ERR_BAD_STATE;
    const iotls_common_curve *c = iotls__common_kex_curve(ctx->group);
    if (c == NULL || ctx->key == NULL)
        return IOTLS_ERR_BAD_STATE;
    /* Exact length, and for the NIST curves only the uncompressed form:
     * OpenSSL would otherwise accept compressed and hybrid encodings. */
    int rc = iotls__common_kex_derive_check(c, peer, peer_len, secret_cap);
    if (rc != IOTLS_OK)
        return rc;

    EVP_PKEY *pk = NULL;
    /* One context for decoding the peer's share and for the derivation. */
    EVP_PKEY_CTX *dctx = EVP_PKEY_CTX_new_from_pkey(NULL, ctx->key, NULL);
    if (dctx == NULL) {
        rc = IOTLS_ERR_NO_MEMORY;
        goto out;
    }
    pk = peer_key(ctx, dctx, c, peer, peer_len);
    if (pk == NULL) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    size_t len = secret_cap;
    /* No second validation of the peer's key here: peer_key already ran
     * the full public-key check on a NIST point, and an X25519 share has
     * nothing to check but its length (the all-zero result is refused
     * below). */
    if (EVP_PKEY_derive_init(dctx) != 1 || EVP_PKEY_derive_set_peer_ex(dctx, pk, 0) != 1) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    if (EVP_PKEY_derive(dctx, secret, &len) != 1) {
        /* The input passed the checks above, so a failure here means the
         * product is the neutral element: OpenSSL refuses an all-zero
         * X25519 result itself (RFC 7748 section 6.1). */
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    if (len != c->coord_len) {
        rc = IOTLS_ERR_CRYPTO;
        goto out;
    }
    /* RFC 8446 7.4.2: an all-zero X25519 result means the peer sent a
     * low-order point. Checked here too, so it does not rest on the
     * library. */
    if (c->montgomery && iotls__common_all_zero(secret, c->coord_len)) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    *secret_len = c->coord_len;

out:
    if (rc != IOTLS_OK) {
        OPENSSL_cleanse(secret, c->coord_len);
        ERR_clear_error();
    }
    EVP_PKEY_CTX_free(dctx);
    EVP_PKEY_free(pk);
    return rc;
}
