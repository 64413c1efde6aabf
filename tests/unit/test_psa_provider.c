/* The PSA provider's own promises (src/crypto/psa/, docs/psa.md), beyond
 * the provider interface every provider's tests check:
 *
 *   - every key it puts in the PSA key store is destroyed again, on the
 *     ways out that succeed and on those that fail: the store holds as many
 *     keys after each group of calls below as before it;
 *   - a fork()ed child of a process that used the provider gets
 *     IOTLS_ERR_RANDOM from iotls__random rather than a copy of the parent's
 *     generator output (TF-PSA-Crypto cannot reseed it).
 *
 * Registered with the PSA provider only (tests/CMakeLists.txt). */
/* mbedtls_psa_stats_t's fields are Mbed TLS "private" (not a stable API):
 * a test may read them. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <psa/crypto.h>

#include "crypto/crypto.h"
#include "iotls/error.h"
#include "testlib.h"

static size_t psa_keys(void)
{
    mbedtls_psa_stats_t st;
    mbedtls_psa_get_stats(&st);
    return st.volatile_slots;
}

#define CHECK_KEYS(want)                                                                           \
    do {                                                                                           \
        size_t have_ = psa_keys();                                                                 \
        CHECK(have_ == (want));                                                                    \
        if (have_ != (want))                                                                       \
            fprintf(stderr, "  key store: %zu keys, want %zu\n", have_, (size_t)(want));           \
    } while (0)

static char g_key[2][4096], g_cert[2][4096];

/* A P-256 and an RSA-2048 self-signed certificate with their keys. */
static int make_pki(void)
{
    static const iotls_key_type types[2] = {IOTLS_KEY_EC_P256, IOTLS_KEY_RSA_2048};
    for (int i = 0; i < 2; i++) {
        iotls_cert_spec spec;
        memset(&spec, 0, sizeof spec);
        spec.subject = "CN=psa test";
        spec.dns_names = "localhost";
        spec.for_server = 1;
        if (iotls_pki_make_key(types[i], g_key[i], sizeof g_key[i]) != IOTLS_OK ||
            iotls_pki_make_cert(&spec, g_key[i], NULL, NULL, g_cert[i], sizeof g_cert[i]) !=
                IOTLS_OK)
            return -1;
    }
    return 0;
}

static void test_keys_destroyed(void)
{
    size_t before = psa_keys();

    /* Key shares: generated and used, derived with a bad point, freed. */
    static const uint16_t groups[] = {IOTLS_GROUP_X25519, IOTLS_GROUP_SECP256R1,
                                      IOTLS_GROUP_SECP384R1};
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        iotls_kex_ctx a, b;
        uint8_t pa[IOTLS_MAX_KEX_PUBLIC_LEN], pb[IOTLS_MAX_KEX_PUBLIC_LEN];
        uint8_t sa[IOTLS_MAX_KEX_SECRET_LEN], sb[IOTLS_MAX_KEX_SECRET_LEN];
        size_t la = 0, lb = 0, na = 0, nb = 0;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK_OK(iotls__kex_generate(&a, groups[i], pa, sizeof pa, &la));
        CHECK_OK(iotls__kex_generate(&b, groups[i], pb, sizeof pb, &lb));
        CHECK_KEYS(before + 2);
        CHECK_OK(iotls__kex_derive(&a, pb, lb, sa, sizeof sa, &na));
        CHECK_OK(iotls__kex_derive(&b, pa, la, sb, sizeof sb, &nb));
        CHECK(na == nb && memcmp(sa, sb, na) == 0);
        pb[lb - 1] ^= 0x01; /* off the curve (NIST) or another u (X25519) */
        pb[0] = groups[i] == IOTLS_GROUP_X25519 ? 0 : 0x04;
        (void)iotls__kex_derive(&a, pb, lb, sa, sizeof sa, &na);
        /* Generating again replaces the key, it does not add one. */
        CHECK_OK(iotls__kex_generate(&a, groups[i], pa, sizeof pa, &la));
        CHECK_KEYS(before + 2);
        iotls__kex_free(&a);
        iotls__kex_free(&b);
        iotls__kex_free(&b); /* twice: harmless */
        CHECK_KEYS(before);
    }

    /* AEAD: keyed, re-keyed (KeyUpdate), a forged record, freed. */
    {
        iotls_aead_ctx ctx;
        uint8_t key[32] = {1}, nonce[12] = {2}, buf[64] = "record";
        memset(&ctx, 0, sizeof ctx);
        CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_GCM, key, 16));
        CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_CHACHA20_POLY1305, key, 32));
        CHECK_KEYS(before + 1);
        CHECK_OK(iotls__aead_seal(&ctx, nonce, NULL, 0, buf, 6, buf));
        buf[0] ^= 1;
        CHECK_RC(iotls__aead_open(&ctx, nonce, NULL, 0, buf, 6 + 16, buf),
                 IOTLS_ERR_BAD_RECORD_MAC);
        iotls__aead_free(&ctx);
        CHECK_KEYS(before);
        /* A key of the wrong length is refused before anything is kept. */
        CHECK_RC(iotls__aead_init(&ctx, IOTLS_AEAD_AES_256_GCM, key, 16), IOTLS_ERR_BAD_ARG);
        CHECK_KEYS(before);
    }

    /* HMAC and HKDF leave nothing behind, the long-PRK expand included. */
    {
        uint8_t prk[48] = {3}, out[80];
        CHECK_OK(iotls__hmac(IOTLS_HASH_SHA384, prk, sizeof prk, prk, 5, out));
        CHECK_OK(iotls__hmac(IOTLS_HASH_SHA256, NULL, 0, prk, 5, out));
        CHECK_OK(iotls__hkdf_extract(IOTLS_HASH_SHA256, NULL, 0, prk, 32, out));
        CHECK_OK(iotls__hkdf_expand(IOTLS_HASH_SHA256, prk, 32, NULL, 0, out, 80));
        CHECK_OK(iotls__hkdf_expand(IOTLS_HASH_SHA256, prk, 48, NULL, 0, out, 80));
        CHECK_KEYS(before);
    }

    /* Private keys, certificates and signatures: good and bad ways. */
    for (int i = 0; i < 2; i++) {
        uint16_t scheme = i == 0 ? IOTLS_SIG_ECDSA_SECP256R1_SHA256 : IOTLS_SIG_RSA_PSS_RSAE_SHA256;
        iotls_pkey key;
        iotls_x509 chain;
        iotls__pkey_init(&key);
        iotls__x509_init(&chain);
        CHECK_OK(iotls__pkey_load_mem(&key, (const uint8_t *)g_key[i], strlen(g_key[i]), NULL));
        CHECK_KEYS(before + 1);
        /* Loading another key into the same object replaces it. */
        CHECK_OK(iotls__pkey_load_mem(&key, (const uint8_t *)g_key[i], strlen(g_key[i]), NULL));
        CHECK_KEYS(before + 1);
        CHECK_OK(iotls__x509_load_mem(&chain, (const uint8_t *)g_cert[i], strlen(g_cert[i])));
        CHECK(iotls__x509_matches_key(&chain, &key) == 1);

        uint8_t sig[IOTLS_MAX_SIGNATURE_LEN];
        size_t sig_len = 0;
        const uint8_t msg[] = "CertificateVerify content";
        CHECK_OK(iotls__pkey_sign(&key, scheme, msg, sizeof msg, sig, sizeof sig, &sig_len));
        CHECK_OK(iotls__x509_verify_signature(&chain, scheme, msg, sizeof msg, sig, sig_len));
        sig[sig_len / 2] ^= 0x40;
        CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, sizeof msg, sig, sig_len),
                 IOTLS_ERR_DECRYPT_ERROR);
        CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, sizeof msg, sig, sig_len - 1),
                 IOTLS_ERR_DECRYPT_ERROR);
        iotls_x509_policy policy;
        memset(&policy, 0, sizeof policy);
        policy.trust = &chain;
        policy.host = "localhost";
        policy.is_server_cert = 1;
        CHECK_OK(iotls__x509_verify(&chain, &policy));
        CHECK_KEYS(before + 1);

        iotls__pkey_free(&key);
        iotls__x509_free(&chain);
        CHECK_KEYS(before);
        /* A key that does not parse, or not with this password. */
        CHECK_RC(iotls__pkey_load_mem(&key, (const uint8_t *)g_cert[i], strlen(g_cert[i]), NULL),
                 IOTLS_ERR_KEY_LOAD);
        CHECK_RC(iotls__pkey_load_mem(&key, (const uint8_t *)"junk", 4, "pw"), IOTLS_ERR_KEY_LOAD);
        CHECK_KEYS(before);
    }

    /* The test PKI's own keys. */
    char pem[4096];
    CHECK_OK(iotls_pki_make_key(IOTLS_KEY_EC_P384, pem, sizeof pem));
    CHECK_RC(iotls_pki_make_key(IOTLS_KEY_EC_P256, pem, 16), IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_KEYS(before);
}

/* The child of a process that used the provider must not draw from the
 * generator state it inherited; the parent goes on as before. */
static void test_fork_refuses_random(void)
{
    uint8_t a[16];
    CHECK_OK(iotls__random(a, sizeof a));
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        uint8_t b[16];
        iotls_kex_ctx k;
        uint8_t pub[IOTLS_MAX_KEX_PUBLIC_LEN];
        size_t len = 0;
        memset(&k, 0, sizeof k);
        int ok =
            iotls__random(b, sizeof b) == IOTLS_ERR_RANDOM &&
            iotls__kex_generate(&k, IOTLS_GROUP_X25519, pub, sizeof pub, &len) == IOTLS_ERR_RANDOM;
        _exit(ok ? 0 : 1);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_OK(iotls__random(a, sizeof a));
}

int main(void)
{
    if (make_pki() != 0) {
        fprintf(stderr, "the test PKI could not be made\n");
        CHECK(0);
    } else {
        test_keys_destroyed();
    }
    test_fork_refuses_random();
    return tl_finish("psa_provider");
}
