/* key_share sizes and checks that do not depend on the library (RFC 8446
 * section 4.2.8.2): X25519 is the bare 32-byte u-coordinate; the NIST
 * curves are the bare uncompressed point 0x04||X||Y. */
#include "crypto_common.h"
#include "iotls/error.h"

static const iotls_common_curve curves[] = {
    {IOTLS_GROUP_X25519, 32, 32, 1},
    {IOTLS_GROUP_SECP256R1, 32, 65, 0},
    {IOTLS_GROUP_SECP384R1, 48, 97, 0},
};

const iotls_common_curve *iotls_common_kex_curve(uint16_t group)
{
    for (size_t i = 0; i < sizeof(curves) / sizeof(curves[0]); i++) {
        if (curves[i].group == group)
            return &curves[i];
    }
    return NULL;
}

int iotls_common_kex_derive_check(const iotls_common_curve *c, const uint8_t *peer, size_t peer_len,
                                  size_t secret_cap)
{
    /* Libraries would otherwise accept compressed (and OpenSSL hybrid)
     * encodings on some curves. */
    if (peer_len != c->pub_len || (!c->montgomery && peer[0] != 0x04))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (secret_cap < c->coord_len)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    return IOTLS_OK;
}

int iotls_common_all_zero(const uint8_t *p, size_t len)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < len; i++)
        acc = (uint8_t)(acc | p[i]);
    return acc == 0;
}
