/* The TLS 1.3 signature schemes iotls knows (RFC 8446 section 4.2.3), in
 * terms of iotls's own hash and group codes; each provider maps them to
 * its library's identifiers. */
#include "crypto_common.h"

int iotls_common_scheme_info(uint16_t scheme, iotls_common_scheme *out)
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
