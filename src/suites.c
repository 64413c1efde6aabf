/* Cipher suites, groups and signature schemes: names, properties, defaults. */
#include <string.h>

#include "config.h"
#include "msg/msg.h"

/* Each suite's hash, AEAD and name in one row, at its code's place: the
 * TLS 1.3 suites are 0x1301 to 0x1305 (RFC 8446 B.4). */
static const struct suite_row {
    uint8_t hash; /* iotls_hash_alg */
    uint8_t aead; /* iotls_aead_alg */
    const char *name;
} suite_rows[] = {
    {IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_GCM, "TLS_AES_128_GCM_SHA256"},
    {IOTLS_HASH_SHA384, IOTLS_AEAD_AES_256_GCM, "TLS_AES_256_GCM_SHA384"},
    {IOTLS_HASH_SHA256, IOTLS_AEAD_CHACHA20_POLY1305, "TLS_CHACHA20_POLY1305_SHA256"},
    {IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_CCM, "TLS_AES_128_CCM_SHA256"},
    {IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_CCM_8, "TLS_AES_128_CCM_8_SHA256"},
};
_Static_assert(IOTLS_TLS_AES_256_GCM_SHA384 == IOTLS_TLS_AES_128_GCM_SHA256 + 1 &&
                   IOTLS_TLS_CHACHA20_POLY1305_SHA256 == IOTLS_TLS_AES_128_GCM_SHA256 + 2 &&
                   IOTLS_TLS_AES_128_CCM_SHA256 == IOTLS_TLS_AES_128_GCM_SHA256 + 3 &&
                   IOTLS_TLS_AES_128_CCM_8_SHA256 == IOTLS_TLS_AES_128_GCM_SHA256 + 4,
               "suite_rows is indexed by the suite's code");

static const struct suite_row *suite_row(uint16_t suite)
{
    size_t i = (size_t)suite - IOTLS_TLS_AES_128_GCM_SHA256;
    return i < sizeof suite_rows / sizeof suite_rows[0] ? &suite_rows[i] : NULL;
}

iotls_hash_alg iotls__suite_hash(uint16_t suite)
{
    const struct suite_row *r = suite_row(suite);
    return r ? (iotls_hash_alg)r->hash : IOTLS_HASH_NONE;
}

iotls_aead_alg iotls__suite_aead(uint16_t suite)
{
    const struct suite_row *r = suite_row(suite);
    return r ? (iotls_aead_alg)r->aead : IOTLS_AEAD_NONE;
}

const char *iotls_suite_name(uint16_t suite)
{
    const struct suite_row *r = suite_row(suite);
    return r ? r->name : "unknown";
}

const char *iotls_group_name(uint16_t group)
{
    /* Not a switch: 0 and the codes 23, 24 and 29 compiled to a table of
     * 30 pointers. */
    static const struct {
        uint16_t group;
        const char *name;
    } names[] = {
        {IOTLS_GROUP_X25519, "x25519"},
        {IOTLS_GROUP_SECP256R1, "secp256r1"},
        {IOTLS_GROUP_SECP384R1, "secp384r1"},
        {0, "none"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].group == group)
            return names[i].name;
    return "unknown";
}

const char *iotls_sig_scheme_name(uint16_t scheme)
{
    /* A table, not a switch: the codes are sparse, and the switch compiled
     * to more (32 bytes on Cortex-M4, 39 on RV32IMC). */
    static const struct {
        uint16_t scheme;
        const char *name;
    } names[] = {
        {IOTLS_SIG_ECDSA_SECP256R1_SHA256, "ecdsa_secp256r1_sha256"},
        {IOTLS_SIG_ECDSA_SECP384R1_SHA384, "ecdsa_secp384r1_sha384"},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA256, "rsa_pss_rsae_sha256"},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA384, "rsa_pss_rsae_sha384"},
        {IOTLS_SIG_RSA_PSS_RSAE_SHA512, "rsa_pss_rsae_sha512"},
        {IOTLS_SIG_RSA_PKCS1_SHA256, "rsa_pkcs1_sha256"},
        {IOTLS_SIG_RSA_PKCS1_SHA384, "rsa_pkcs1_sha384"},
        {IOTLS_SIG_RSA_PKCS1_SHA512, "rsa_pkcs1_sha512"},
        {0, "none"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].scheme == scheme)
            return names[i].name;
    return "unknown";
}

void iotls__config_defaults(struct iotls_config *cfg)
{
    static const uint16_t suites[] = {IOTLS_TLS_AES_128_GCM_SHA256, IOTLS_TLS_AES_256_GCM_SHA384,
                                      IOTLS_TLS_CHACHA20_POLY1305_SHA256};
    static const uint16_t groups[] = {IOTLS_GROUP_X25519, IOTLS_GROUP_SECP256R1,
                                      IOTLS_GROUP_SECP384R1};
    /* CertificateVerify: PKCS#1 v1.5 is forbidden there (RFC 8446 4.4.3). */
    static const uint16_t sigs[] = {IOTLS_SIG_ECDSA_SECP256R1_SHA256,
                                    IOTLS_SIG_ECDSA_SECP384R1_SHA384, IOTLS_SIG_RSA_PSS_RSAE_SHA256,
                                    IOTLS_SIG_RSA_PSS_RSAE_SHA384, IOTLS_SIG_RSA_PSS_RSAE_SHA512};
    /* Certificates signed by CAs still commonly use PKCS#1 v1.5. */
    static const uint16_t sigs_cert[] = {
        IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP384R1_SHA384,
        IOTLS_SIG_RSA_PSS_RSAE_SHA256,    IOTLS_SIG_RSA_PSS_RSAE_SHA384,
        IOTLS_SIG_RSA_PSS_RSAE_SHA512,    IOTLS_SIG_RSA_PKCS1_SHA256,
        IOTLS_SIG_RSA_PKCS1_SHA384,       IOTLS_SIG_RSA_PKCS1_SHA512};
    memcpy(cfg->suites, suites, sizeof suites);
    cfg->suite_count = sizeof suites / sizeof suites[0];
    /* Only what the crypto library has: one configured with a single curve
     * (Mbed TLS with p256-m: P-256 only) must not offer the others. */
    cfg->group_count = 0;
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (iotls__kex_supported(groups[i]))
            cfg->groups[cfg->group_count++] = groups[i];
    memcpy(cfg->sig_algs, sigs, sizeof sigs);
    cfg->sig_alg_count = sizeof sigs / sizeof sigs[0];
    memcpy(cfg->sig_algs_cert, sigs_cert, sizeof sigs_cert);
    cfg->sig_alg_cert_count = sizeof sigs_cert / sizeof sigs_cert[0];
    cfg->middlebox_compat = 1;
    cfg->max_handshake = IOTLS_DEFAULT_MAX_HANDSHAKE;
    cfg->max_record_plain = 16384;
    cfg->verify_client = IOTLS_VERIFY_CLIENT_NONE;
}

uint64_t iotls__config_now_ms(const struct iotls_config *cfg)
{
    return cfg->now_ms ? cfg->now_ms(cfg->now_arg) : 0;
}

uint64_t iotls__config_key_update_limit(const struct iotls_config *cfg, iotls_aead_alg aead)
{
    /* RFC 8446 5.5: AES-GCM may protect 2^24.5 full-size records per key;
     * 2^24 leaves room for the KeyUpdate and alerts. ChaCha20-Poly1305's
     * limit is beyond 2^64 records; 2^40 is a conservative stand-in.
     * AES-CCM runs AES twice over every block (CBC-MAC and CTR), so the
     * same bound on the distinguishing advantage is reached with about half
     * the records of GCM: 2^23. The tag length does not change this
     * confidentiality limit (a failed tag closes a TLS connection, so
     * forgery attempts are one per connection, not per key). */
    uint64_t aead_limit = (uint64_t)1 << 24;
    if (aead == IOTLS_AEAD_CHACHA20_POLY1305)
        aead_limit = (uint64_t)1 << 40;
    else if (aead == IOTLS_AEAD_AES_128_CCM || aead == IOTLS_AEAD_AES_128_CCM_8)
        aead_limit = (uint64_t)1 << 23;
    if (cfg->key_update_limit != 0 && cfg->key_update_limit < aead_limit)
        return cfg->key_update_limit;
    return aead_limit;
}
