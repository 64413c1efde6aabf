/* TLS 1.3 key_share through the legacy mbedTLS ECP/ECDH API (present in 2.28
 * and 3.6): X25519, secp256r1, secp384r1.
 *
 * Wire encodings (RFC 8446 section 4.2.8.2): X25519 is the bare 32-byte
 * little-endian u-coordinate; the NIST curves are the bare uncompressed
 * point 0x04||X||Y, without the one-byte length prefix that
 * mbedtls_ecdh_make_public writes for TLS 1.2. The shared secret is the
 * x-coordinate, fixed length: big-endian for NIST curves, little-endian for
 * X25519 (RFC 7748). */
#include <string.h>

#include <mbedtls/bignum.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecp.h>
#include <mbedtls/platform_util.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* mbedTLS's identifier of a group iotls__common_kex_curve knows. */
static mbedtls_ecp_group_id curve_id(const iotls_common_curve *c)
{
    switch (c->group) {
    case IOTLS_GROUP_X25519:
        return MBEDTLS_ECP_DP_CURVE25519;
    case IOTLS_GROUP_SECP256R1:
        return MBEDTLS_ECP_DP_SECP256R1;
    case IOTLS_GROUP_SECP384R1:
        return MBEDTLS_ECP_DP_SECP384R1;
    default:
        return MBEDTLS_ECP_DP_NONE;
    }
}

/* mbedTLS wants an RNG for key generation and for blinding the scalar
 * multiplication; it is the provider's DRBG (or a test override). */
static int kex_rng(void *arg, unsigned char *out, size_t len)
{
    (void)arg;
    return iotls__random(out, len) == IOTLS_OK ? 0 : MBEDTLS_ERR_ECP_RANDOM_FAILED;
}

static int map_ecp_error(int ret)
{
    if (ret == MBEDTLS_ERR_ECP_RANDOM_FAILED)
        return IOTLS_ERR_RANDOM;
    return IOTLS_ERR_CRYPTO;
}

int iotls__kex_supported(uint16_t group)
{
    const iotls_common_curve *c = iotls__common_kex_curve(group);
    return c != NULL && mbedtls_ecp_curve_info_from_grp_id(curve_id(c)) != NULL;
}

/* Loads the group into a fresh ctx (freeing whatever it held). */
static int kex_start(iotls_kex_ctx *ctx, const iotls_common_curve *c)
{
    iotls__kex_free(ctx);
    mbedtls_ecp_group_init(&ctx->grp);
    mbedtls_mpi_init(&ctx->d);
    ctx->group = c->group;
    ctx->active = 1;
    if (mbedtls_ecp_group_load(&ctx->grp, curve_id(c)) != 0) {
        iotls__kex_free(ctx);
        return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

static int write_public(iotls_kex_ctx *ctx, const iotls_common_curve *c, const mbedtls_ecp_point *q,
                        uint8_t *pub, size_t pub_cap, size_t *pub_len)
{
    size_t olen = 0;
    /* For Curve25519 mbedTLS ignores the format and writes the 32-byte
     * little-endian u-coordinate, which is the TLS encoding. */
    int ret = mbedtls_ecp_point_write_binary(&ctx->grp, q, MBEDTLS_ECP_PF_UNCOMPRESSED, &olen, pub,
                                             pub_cap);
    if (ret != 0 || olen != c->pub_len)
        return IOTLS_ERR_CRYPTO;
    *pub_len = olen;
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
    int rc = kex_start(ctx, c);
    if (rc != IOTLS_OK)
        return rc;

    mbedtls_ecp_point q;
    mbedtls_ecp_point_init(&q);
    int ret = mbedtls_ecp_gen_keypair(&ctx->grp, &ctx->d, &q, kex_rng, NULL);
    if (ret != 0)
        rc = map_ecp_error(ret);
    else
        rc = write_public(ctx, c, &q, pub, pub_cap, pub_len);
    mbedtls_ecp_point_free(&q);
    if (rc != IOTLS_OK)
        iotls__kex_free(ctx);
    return rc;
}

/* The curve generators, as encoded points: the group struct's own G is not
 * reachable through the public API of mbedTLS 3.x. Only the test hook needs
 * them; mbedtls_ecp_check_pubkey (inside mbedtls_ecp_mul) verifies them. */
static const uint8_t x25519_base[32] = {9};
static const uint8_t p256_base[65] = {
    0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5,
    0x63, 0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4,
    0xa1, 0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a,
    0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a, 0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33,
    0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40, 0x68, 0x37, 0xbf, 0x51, 0xf5};
static const uint8_t p384_base[97] = {
    0x04, 0xaa, 0x87, 0xca, 0x22, 0xbe, 0x8b, 0x05, 0x37, 0x8e, 0xb1, 0xc7, 0x1e, 0xf3,
    0x20, 0xad, 0x74, 0x6e, 0x1d, 0x3b, 0x62, 0x8b, 0xa7, 0x9b, 0x98, 0x59, 0xf7, 0x41,
    0xe0, 0x82, 0x54, 0x2a, 0x38, 0x55, 0x02, 0xf2, 0x5d, 0xbf, 0x55, 0x29, 0x6c, 0x3a,
    0x54, 0x5e, 0x38, 0x72, 0x76, 0x0a, 0xb7, 0x36, 0x17, 0xde, 0x4a, 0x96, 0x26, 0x2c,
    0x6f, 0x5d, 0x9e, 0x98, 0xbf, 0x92, 0x92, 0xdc, 0x29, 0xf8, 0xf4, 0x1d, 0xbd, 0x28,
    0x9a, 0x14, 0x7c, 0xe9, 0xda, 0x31, 0x13, 0xb5, 0xf0, 0xb8, 0xc0, 0x0a, 0x60, 0xb1,
    0xce, 0x1d, 0x7e, 0x81, 0x9d, 0x7a, 0x43, 0x1d, 0x7c, 0x90, 0xea, 0x0e, 0x5f};

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
    int rc = kex_start(ctx, c);
    if (rc != IOTLS_OK)
        return rc;

    const uint8_t *base = c->montgomery ? x25519_base : c->coord_len == 32 ? p256_base : p384_base;
    mbedtls_ecp_point g, q;
    mbedtls_ecp_point_init(&g);
    mbedtls_ecp_point_init(&q);
    int ret;
    if (c->montgomery) {
        /* RFC 7748 section 5 "decodeScalar25519": little-endian, clamped. */
        ret = mbedtls_mpi_read_binary_le(&ctx->d, priv, len);
        if (ret == 0)
            ret = mbedtls_mpi_set_bit(&ctx->d, 0, 0);
        if (ret == 0)
            ret = mbedtls_mpi_set_bit(&ctx->d, 1, 0);
        if (ret == 0)
            ret = mbedtls_mpi_set_bit(&ctx->d, 2, 0);
        if (ret == 0)
            ret = mbedtls_mpi_set_bit(&ctx->d, 255, 0);
        if (ret == 0)
            ret = mbedtls_mpi_set_bit(&ctx->d, 254, 1);
    } else {
        ret = mbedtls_mpi_read_binary(&ctx->d, priv, len);
    }
    if (ret == 0)
        ret = mbedtls_ecp_check_privkey(&ctx->grp, &ctx->d);
    if (ret == 0)
        ret = mbedtls_ecp_point_read_binary(&ctx->grp, &g, base, c->pub_len);
    if (ret == 0)
        ret = mbedtls_ecp_mul(&ctx->grp, &q, &ctx->d, &g, kex_rng, NULL);
    if (ret != 0)
        rc = ret == MBEDTLS_ERR_ECP_INVALID_KEY ? IOTLS_ERR_BAD_ARG : map_ecp_error(ret);
    else
        rc = write_public(ctx, c, &q, pub, pub_cap, pub_len);
    mbedtls_ecp_point_free(&g);
    mbedtls_ecp_point_free(&q);
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
    /* Exact length, and for the NIST curves only the uncompressed form:
     * mbedTLS 3.x would otherwise accept compressed points on some curves. */
    int rc = iotls__common_kex_derive_check(c, peer, peer_len, secret_cap);
    if (rc != IOTLS_OK)
        return rc;

    mbedtls_ecp_point qp;
    mbedtls_mpi z;
    mbedtls_ecp_point_init(&qp);
    mbedtls_mpi_init(&z);
    /* read_binary masks the top bit of an X25519 u-coordinate (RFC 7748
     * section 5); check_pubkey rejects off-curve points, coordinates >= p,
     * the point at infinity and, for X25519, the known low-order points. */
    if (mbedtls_ecp_point_read_binary(&ctx->grp, &qp, peer, peer_len) != 0 ||
        mbedtls_ecp_check_pubkey(&ctx->grp, &qp) != 0) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    int ret = mbedtls_ecdh_compute_shared(&ctx->grp, &z, &qp, &ctx->d, kex_rng, NULL);
    if (ret == MBEDTLS_ERR_ECP_RANDOM_FAILED) {
        rc = IOTLS_ERR_RANDOM;
        goto out;
    }
    if (ret != 0) {
        /* The input passed the checks above, so a failure here means the
         * product is the neutral element: a small-subgroup point. */
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    if (c->montgomery)
        ret = mbedtls_mpi_write_binary_le(&z, secret, c->coord_len);
    else
        ret = mbedtls_mpi_write_binary(&z, secret, c->coord_len);
    if (ret != 0) {
        rc = IOTLS_ERR_CRYPTO;
        goto out;
    }
    /* RFC 7748 section 6.1 / RFC 8446 7.4.2: an all-zero X25519 result
     * means the peer sent a low-order point. */
    if (c->montgomery && iotls__common_all_zero(secret, c->coord_len)) {
        rc = IOTLS_ERR_ILLEGAL_PARAMETER;
        goto out;
    }
    *secret_len = c->coord_len;

out:
    if (rc != IOTLS_OK)
        mbedtls_platform_zeroize(secret, c->coord_len);
    mbedtls_mpi_free(&z); /* zeroizes the limbs */
    mbedtls_ecp_point_free(&qp);
    return rc;
}

void iotls__kex_free(iotls_kex_ctx *ctx)
{
    if (ctx == NULL)
        return;
    if (ctx->active) {
        mbedtls_mpi_free(&ctx->d); /* zeroizes the private scalar */
        mbedtls_ecp_group_free(&ctx->grp);
    }
    mbedtls_platform_zeroize(ctx, sizeof(*ctx));
}
