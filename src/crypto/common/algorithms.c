/* The algorithms' facts that do not depend on the library, the same for
 * every provider: hash and HKDF sizes and checks, AEAD key sizes and
 * argument checks, key_share sizes and checks (RFC 8446 4.2.8.2: X25519 is
 * the bare 32-byte u-coordinate, the NIST curves the bare uncompressed
 * point 0x04||X||Y), and the TLS 1.3 signature schemes iotls knows (RFC
 * 8446 4.2.3) in terms of iotls's own hash and group codes, which each
 * provider maps to its library's identifiers. */
#include "crypto_common.h"
#include "iotls/error.h"

/* ---------------- hash and HKDF ---------------- */

size_t iotls__hash_len(iotls_hash_alg alg)
{
    switch (alg) {
    case IOTLS_HASH_SHA256:
        return 32;
    case IOTLS_HASH_SHA384:
        return 48;
    case IOTLS_HASH_SHA512:
        return 64;
    default:
        return 0;
    }
}

int iotls__common_hkdf_expand_check(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len,
                                    const uint8_t *info, size_t info_len, const uint8_t *out,
                                    size_t out_len)
{
    size_t hash_len = iotls__hash_len(alg);
    /* RFC 5869: PRK is at least HashLen, L at most 255 * HashLen. */
    if (hash_len == 0 || !prk || prk_len < hash_len || (!info && info_len > 0) || !out ||
        out_len > 255 * hash_len)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

/* ---------------- AEAD ---------------- */

size_t iotls__aead_key_len(iotls_aead_alg alg)
{
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_128_CCM:
    case IOTLS_AEAD_AES_128_CCM_8:
        return 16;
    case IOTLS_AEAD_AES_256_GCM:
    case IOTLS_AEAD_CHACHA20_POLY1305:
        return 32;
    default:
        return 0;
    }
}

size_t iotls__aead_tag_len(iotls_aead_alg alg)
{
    switch (alg) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_256_GCM:
    case IOTLS_AEAD_CHACHA20_POLY1305:
    case IOTLS_AEAD_AES_128_CCM:
        return 16;
    case IOTLS_AEAD_AES_128_CCM_8:
        return 8; /* RFC 8446 B.4: AEAD_AES_128_CCM_8 (RFC 6655) */
    default:
        return 0;
    }
}

int iotls__common_aead_key_ok(iotls_aead_alg alg, const uint8_t *key, size_t key_len)
{
    size_t want = iotls__aead_key_len(alg);
    return key != NULL && want != 0 && key_len == want;
}

int iotls__common_aead_seal_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                  size_t aad_len, const uint8_t *in, size_t in_len,
                                  const uint8_t *out)
{
    if (!active || nonce == NULL || out == NULL || (aad == NULL && aad_len > 0) ||
        (in == NULL && in_len > 0))
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

int iotls__common_aead_open_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                  size_t aad_len, const uint8_t *in, size_t in_len,
                                  const uint8_t *out, size_t tag_len, size_t *plain_len)
{
    if (!active || nonce == NULL || in == NULL || (aad == NULL && aad_len > 0) || tag_len == 0)
        return IOTLS_ERR_BAD_ARG;
    /* Too short to even carry a tag: it cannot be authentic. */
    if (in_len < tag_len)
        return IOTLS_ERR_BAD_RECORD_MAC;
    *plain_len = in_len - tag_len;
    if (out == NULL && *plain_len > 0)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

/* ---------------- key exchange ---------------- */

static const iotls_common_curve curves[] = {
    {IOTLS_GROUP_X25519, 32, 32, 1},
    {IOTLS_GROUP_SECP256R1, 32, 65, 0},
    {IOTLS_GROUP_SECP384R1, 48, 97, 0},
};

const iotls_common_curve *iotls__common_kex_curve(uint16_t group)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (curves[i].group == group)
            return &curves[i];
    }
    return NULL;
}

int iotls__common_kex_derive_check(const iotls_common_curve *c, const uint8_t *peer,
                                   size_t peer_len, size_t secret_cap)
{
    /* Libraries would otherwise accept compressed (and OpenSSL hybrid)
     * encodings on some curves. */
    if (peer_len != c->pub_len || (!c->montgomery && peer[0] != 0x04))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (secret_cap < c->coord_len)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    return IOTLS_OK;
}

int iotls__common_all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc = (uint8_t)(acc | p[i]);
    return acc == 0;
}

/* ---------------- signature schemes ---------------- */

int iotls__common_scheme_info(uint16_t scheme, iotls_common_scheme *out)
{
    static const struct {
        uint16_t scheme;
        iotls_common_scheme info;
    } table[] = {
        {IOTLS_SIG_ECDSA_SECP256R1_SHA256, {IOTLS_HASH_SHA256, 32, IOTLS_GROUP_SECP256R1, 0, 0}},
        {IOTLS_SIG_ECDSA_SECP384R1_SHA384, {IOTLS_HASH_SHA384, 48, IOTLS_GROUP_SECP384R1, 0, 0}},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA256, {IOTLS_HASH_SHA256, 32, 0, 1, 0}},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA384, {IOTLS_HASH_SHA384, 48, 0, 1, 0}},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA512, {IOTLS_HASH_SHA512, 64, 0, 1, 0}},
        {IOTLS_SIG_RSA_PKCS1_SHA256, {IOTLS_HASH_SHA256, 32, 0, 0, 1}},
        {IOTLS_SIG_RSA_PKCS1_SHA384, {IOTLS_HASH_SHA384, 48, 0, 0, 1}},
        {IOTLS_SIG_RSA_PKCS1_SHA512, {IOTLS_HASH_SHA512, 64, 0, 0, 1}},
    };
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (table[i].scheme == scheme) {
            *out = table[i].info;
            return 0;
        }
    }
    return -1;
}
