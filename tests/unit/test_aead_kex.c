/* Known-answer tests for the provider's AEAD, key exchange and random parts.
 *
 * Vectors: AES-GCM from McGrew & Viega, "The Galois/Counter Mode of
 * Operation" (test cases 2-4, 14-16); ChaCha20-Poly1305 from RFC 8439
 * section 2.8.2; AES-128-CCM_8 from NIST SP 800-38C appendix C example 3
 * (12-byte nonce, 8-byte tag), and the same inputs with a 16-byte tag and
 * with nothing to encrypt computed with an independent implementation
 * (pyca/cryptography AESCCM; both providers' CCM code must agree); X25519 from RFC 7748
 * sections 5.2 and 6.1 and the RFC 8448 section 3 trace; P-256 / P-384 ECDH from RFC 5903
 * sections 8.1 / 8.2. */
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"
#include "testlib.h"

/* ---- AEAD ---- */

typedef struct {
    const char *name;
    iotls_aead_alg alg;
    const char *key, *nonce, *aad, *pt, *ct, *tag;
} aead_vector;

#define GCM_K1 "feffe9928665731c6d6a8f9467308308"
#define GCM_IV "cafebabefacedbaddecaf888"
#define GCM_P64                                                                                    \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
#define GCM_P60                                                                                    \
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"                             \
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
#define GCM_A "feedfacedeadbeeffeedfacedeadbeefabaddad2"

#define CCM_K "404142434445464748494a4b4c4d4e4f"
#define CCM_N "101112131415161718191a1b"
#define CCM_A "000102030405060708090a0b0c0d0e0f10111213"
#define CCM_P "202122232425262728292a2b2c2d2e2f3031323334353637"
#define CCM_C "e3b201a9f5b71a7a9b1ceaeccd97e70b6176aad9a4428aa5"

static const aead_vector aead_vectors[] = {
    {"GCM test case 2", IOTLS_AEAD_AES_128_GCM, "00000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "0388dace60b6a392f328c2b971b2fe78", "ab6e47d42cec13bdf53a67b21257bddf"},
    {"GCM test case 3", IOTLS_AEAD_AES_128_GCM, GCM_K1, GCM_IV, "", GCM_P64,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985",
     "4d5c2af327cd64a62cf35abd2ba6fab4"},
    {"GCM test case 4", IOTLS_AEAD_AES_128_GCM, GCM_K1, GCM_IV, GCM_A, GCM_P60,
     "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
     "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
     "5bc94fbc3221a5db94fae95ae7121a47"},
    {"GCM test case 14", IOTLS_AEAD_AES_256_GCM,
     "0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000",
     "", "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18",
     "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM test case 15", IOTLS_AEAD_AES_256_GCM, GCM_K1 GCM_K1, GCM_IV, "", GCM_P64,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM test case 16", IOTLS_AEAD_AES_256_GCM, GCM_K1 GCM_K1, GCM_IV, GCM_A, GCM_P60,
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
    /* RFC 8439 2.8.2: "Ladies and Gentlemen of the class of '99: ..." */
    {"RFC 8439 2.8.2", IOTLS_AEAD_CHACHA20_POLY1305,
     "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f", "070000004041424344454647",
     "50515253c0c1c2c3c4c5c6c7",
     "4c616469657320616e642047656e746c656d656e206f662074686520636c617373206f66"
     "202739393a204966204920636f756c64206f6666657220796f75206f6e6c79206f6e6520"
     "74697020666f7220746865206675747572652c2073756e73637265656e20776f756c6420"
     "62652069742e",
     "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
     "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
     "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
     "3ff4def08e4b7a9de576d26586cec64b6116",
     "1ae10b594f09e26a7e902ecbd0600691"},
    /* SP 800-38C C.3: the IoT suite's shape, 12-byte nonce and 8-byte tag. */
    {"SP 800-38C example 3", IOTLS_AEAD_AES_128_CCM_8, CCM_K, CCM_N, CCM_A, CCM_P, CCM_C,
     "484392fbc1b09951"},
    /* The tag length is part of CCM's first block: the same inputs with a
     * 16-byte tag give the same ciphertext and an unrelated tag. */
    {"CCM, example 3 inputs, 16-byte tag", IOTLS_AEAD_AES_128_CCM, CCM_K, CCM_N, CCM_A, CCM_P,
     CCM_C, "c87ae488918de93f17dd3e4934347f44"},
    {"CCM, empty", IOTLS_AEAD_AES_128_CCM, CCM_K, CCM_N, "", "", "",
     "538f76630f36a98a2f502d9b23d86343"},
    {"CCM_8, AAD only", IOTLS_AEAD_AES_128_CCM_8, CCM_K, CCM_N, CCM_A, "", "", "c96092cdd7b84d88"},
};

static void test_aead_vector(const aead_vector *v)
{
    uint8_t key[32], nonce[12], aad[64], pt[128], ct[128], tag[16];
    uint8_t out[160], back[160], inplace[160];
    size_t key_len = tl_unhex(v->key, key, sizeof key);
    CHECK(tl_unhex(v->nonce, nonce, sizeof nonce) == 12);
    size_t aad_len = tl_unhex(v->aad, aad, sizeof aad);
    size_t pt_len = tl_unhex(v->pt, pt, sizeof pt);
    size_t ct_len = tl_unhex(v->ct, ct, sizeof ct);
    size_t tag_len = tl_unhex(v->tag, tag, sizeof tag);
    CHECK(tag_len == iotls__aead_tag_len(v->alg));
    CHECK(ct_len == pt_len);
    CHECK(iotls__aead_key_len(v->alg) == key_len);
    size_t sealed_len = ct_len + tag_len;

    iotls_aead_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    CHECK_OK(iotls__aead_init(&ctx, v->alg, key, key_len));

    /* Separate buffers: ciphertext || tag exactly as published. */
    CHECK_OK(iotls__aead_seal(&ctx, nonce, aad, aad_len, pt, pt_len, out));
    if (memcmp(out, ct, ct_len) != 0 || memcmp(out + ct_len, tag, tag_len) != 0) {
        fprintf(stderr, "%s: seal mismatch\n", v->name);
        CHECK_HEX(out, ct_len, v->ct);
        CHECK_HEX(out + ct_len, tag_len, v->tag);
    }
    memset(back, 0xAA, sizeof back);
    CHECK_OK(iotls__aead_open(&ctx, nonce, aad, aad_len, out, sealed_len, back));
    CHECK(memcmp(back, pt, pt_len) == 0);

    /* In place, both ways. */
    memcpy(inplace, pt, pt_len);
    CHECK_OK(iotls__aead_seal(&ctx, nonce, aad, aad_len, inplace, pt_len, inplace));
    CHECK(memcmp(inplace, out, sealed_len) == 0);
    CHECK_OK(iotls__aead_open(&ctx, nonce, aad, aad_len, inplace, sealed_len, inplace));
    CHECK(memcmp(inplace, pt, pt_len) == 0);

    /* Tampering with the tag, the ciphertext, the AAD or the nonce: refused,
     * and the output is wiped rather than left holding unauthentic text. */
    uint8_t bad[160];
    memcpy(bad, out, sealed_len);
    bad[sealed_len - 1] ^= 0x01;
    memset(back, 0xAA, sizeof back);
    CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, bad, sealed_len, back),
             IOTLS_ERR_BAD_RECORD_MAC);
    int wiped = 1;
    for (size_t i = 0; i < pt_len; i++)
        wiped &= back[i] == 0;
    CHECK(wiped);
    memcpy(bad, out, sealed_len);
    bad[0] ^= 0x80;
    CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, bad, sealed_len, bad),
             IOTLS_ERR_BAD_RECORD_MAC);
    wiped = 1;
    for (size_t i = 0; i < pt_len; i++)
        wiped &= bad[i] == 0;
    CHECK(wiped);
    if (aad_len > 0) {
        aad[aad_len - 1] ^= 0x01;
        CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, out, sealed_len, back),
                 IOTLS_ERR_BAD_RECORD_MAC);
        aad[aad_len - 1] ^= 0x01;
    }
    nonce[11] ^= 0x01;
    CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, out, sealed_len, back),
             IOTLS_ERR_BAD_RECORD_MAC);
    nonce[11] ^= 0x01;
    /* Shorter than a tag: cannot be authentic. */
    CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, out, tag_len - 1, back),
             IOTLS_ERR_BAD_RECORD_MAC);
    /* A tag cut to its first bytes (a 16-byte tag read as an 8-byte one,
     * or the reverse): refused. */
    if (pt_len >= 8)
        CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, out, sealed_len - 8, back),
                 IOTLS_ERR_BAD_RECORD_MAC);

    /* Parked (an idle connection's context): the next open and seal key
     * it again, with the same results as before, in either order. */
    iotls__aead_park(&ctx);
#ifdef IOTLS_CRYPTO_BACKEND_OPENSSL
    CHECK(ctx.cipher == NULL && ctx.decrypt == NULL); /* libcrypto's given back */
#endif
    memset(back, 0xAA, sizeof back);
    CHECK_OK(iotls__aead_open(&ctx, nonce, aad, aad_len, out, sealed_len, back));
    CHECK(memcmp(back, pt, pt_len) == 0);
    iotls__aead_park(&ctx);
    iotls__aead_park(&ctx); /* twice: still one context to rebuild */
    uint8_t again[160];
    CHECK_OK(iotls__aead_seal(&ctx, nonce, aad, aad_len, pt, pt_len, again));
    CHECK(memcmp(again, out, sealed_len) == 0);
    iotls__aead_park(&ctx);
    CHECK_RC(iotls__aead_open(&ctx, nonce, aad, aad_len, bad, sealed_len, back),
             IOTLS_ERR_BAD_RECORD_MAC);
    /* A parked context is freed and wiped like any other (below). */
    iotls__aead_park(&ctx);

    iotls__aead_free(&ctx);
    CHECK(ctx.active == 0);
    const uint8_t *raw = (const uint8_t *)&ctx;
    int zero = 1;
    for (size_t i = 0; i < sizeof ctx; i++)
        zero &= raw[i] == 0;
    CHECK(zero);
    /* A freed context refuses to work. */
    CHECK_RC(iotls__aead_seal(&ctx, nonce, aad, aad_len, pt, pt_len, out), IOTLS_ERR_BAD_ARG);
}

static void test_aead_misc(void)
{
    uint8_t key[32] = {0}, nonce[12] = {0}, out[32];
    iotls_aead_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    CHECK(iotls__aead_key_len(IOTLS_AEAD_NONE) == 0);
    CHECK_RC(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_GCM, key, 32), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__aead_init(&ctx, IOTLS_AEAD_AES_256_GCM, key, 16), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__aead_init(&ctx, IOTLS_AEAD_NONE, key, 16), IOTLS_ERR_BAD_ARG);

    /* Empty plaintext (GCM test case 1: tag 58e2fccefa7e3061367f1d57a4e7455a). */
    CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_GCM, key, 16));
    CHECK_OK(iotls__aead_seal(&ctx, nonce, NULL, 0, NULL, 0, out));
    CHECK_HEX(out, 16, "58e2fccefa7e3061367f1d57a4e7455a");
    CHECK_OK(iotls__aead_open(&ctx, nonce, NULL, 0, out, 16, NULL));
    /* Re-keying an active context replaces the key (and frees the old). */
    CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_CHACHA20_POLY1305, key, 32));
    CHECK_RC(iotls__aead_open(&ctx, nonce, NULL, 0, out, 16, NULL), IOTLS_ERR_BAD_RECORD_MAC);
    iotls__aead_free(&ctx);
    iotls__aead_free(&ctx); /* twice is harmless */

    CHECK(iotls__aead_tag_len(IOTLS_AEAD_AES_128_CCM) == 16);
    CHECK(iotls__aead_tag_len(IOTLS_AEAD_AES_128_CCM_8) == 8);
    CHECK(iotls__aead_tag_len(IOTLS_AEAD_NONE) == 0);
    CHECK_RC(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_CCM_8, key, 32), IOTLS_ERR_BAD_ARG);
    /* One key, both tag lengths: a CCM_8 tag is not the first half of the
     * 16-byte one (the tag length is authenticated), so a CCM_8 record
     * never opens under CCM and the reverse. */
    uint8_t tag8[8];
    CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_CCM_8, key, 16));
    CHECK_OK(iotls__aead_seal(&ctx, nonce, NULL, 0, NULL, 0, tag8));
    CHECK_OK(iotls__aead_init(&ctx, IOTLS_AEAD_AES_128_CCM, key, 16));
    CHECK_OK(iotls__aead_seal(&ctx, nonce, NULL, 0, NULL, 0, out));
    CHECK(memcmp(out, tag8, 8) != 0);
    CHECK_RC(iotls__aead_open(&ctx, nonce, NULL, 0, tag8, 8, NULL), IOTLS_ERR_BAD_RECORD_MAC);
    iotls__aead_free(&ctx);
}

/* ---- key exchange ---- */

static void test_x25519_rfc7748(void)
{
    uint8_t priv[32], pub[32], want[32], secret[48];
    size_t pub_len = 0, secret_len = 0;
    iotls_kex_ctx alice, bob;
    memset(&alice, 0, sizeof alice);
    memset(&bob, 0, sizeof bob);

    CHECK(iotls__kex_supported(IOTLS_GROUP_X25519));
    CHECK(iotls__kex_supported(IOTLS_GROUP_SECP256R1));
    CHECK(iotls__kex_supported(IOTLS_GROUP_SECP384R1));
    CHECK(!iotls__kex_supported(0x0019)); /* secp521r1: not offered */
    CHECK(!iotls__kex_supported(0x001E)); /* x448 */

    /* RFC 7748 6.1: both public keys and the shared secret. */
    tl_unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", priv, 32);
    CHECK_OK(
        iotls__kex_set_private(&alice, IOTLS_GROUP_X25519, priv, 32, pub, sizeof pub, &pub_len));
    CHECK(pub_len == 32);
    CHECK_HEX(pub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    tl_unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", priv, 32);
    CHECK_OK(iotls__kex_set_private(&bob, IOTLS_GROUP_X25519, priv, 32, pub, sizeof pub, &pub_len));
    CHECK_HEX(pub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");

    CHECK_OK(iotls__kex_derive(&alice, pub, 32, secret, sizeof secret, &secret_len));
    CHECK(secret_len == 32);
    CHECK_HEX(secret, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    tl_unhex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a", want, 32);
    CHECK_OK(iotls__kex_derive(&bob, want, 32, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");

    /* RFC 7748 5.2: arbitrary scalar and u-coordinate; the second u has its
     * top bit set, which X25519 must mask rather than reject. */
    tl_unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", priv, 32);
    CHECK_OK(
        iotls__kex_set_private(&alice, IOTLS_GROUP_X25519, priv, 32, pub, sizeof pub, &pub_len));
    tl_unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", want, 32);
    CHECK_OK(iotls__kex_derive(&alice, want, 32, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    tl_unhex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", priv, 32);
    CHECK_OK(
        iotls__kex_set_private(&alice, IOTLS_GROUP_X25519, priv, 32, pub, sizeof pub, &pub_len));
    tl_unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", want, 32);
    CHECK_OK(iotls__kex_derive(&alice, want, 32, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");

    /* RFC 8448 section 3 (this revision of the trace): the client's and
     * server's ephemeral keys; the shared secret is the IKM of the
     * "handshake" extract step. */
    tl_unhex("70a1a8f491e82d530542c6d7a8dcd8cfa9e31f59bb336b550b13bfe199f542c5", priv, 32);
    CHECK_OK(
        iotls__kex_set_private(&alice, IOTLS_GROUP_X25519, priv, 32, pub, sizeof pub, &pub_len));
    CHECK_HEX(pub, 32, "4cfdfcd178b784bf328cae793b136f2aedce005ff183d7bb1495207236647037");
    tl_unhex("5aa93ea18f4c5e4a39856f573af4ec1503bad0d5cdabaffc26c1ab4c361f86c8", priv, 32);
    CHECK_OK(
        iotls__kex_set_private(&bob, IOTLS_GROUP_X25519, priv, 32, want, sizeof want, &pub_len));
    CHECK_HEX(want, 32, "c7bb6bdfc26350b929a08a41a76ddac210b096868d960c4845987dc3a7fa650a");
    CHECK_OK(iotls__kex_derive(&alice, want, 32, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, 32, "1bea3fdfd25f94033804b68997a55d1931dc51124ad7f6e28959bb4672e3bd13");
    CHECK_OK(iotls__kex_derive(&bob, pub, 32, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, 32, "1bea3fdfd25f94033804b68997a55d1931dc51124ad7f6e28959bb4672e3bd13");
    iotls__kex_free(&alice);
    iotls__kex_free(&bob);
}

static void test_nist_rfc5903(uint16_t group, size_t coord, const char *i_hex, const char *gi_hex,
                              const char *r_hex, const char *gr_hex, const char *shared_hex)
{
    uint8_t priv[48], pub[97], secret[48];
    size_t pub_len = 0, secret_len = 0;
    iotls_kex_ctx a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);

    CHECK(tl_unhex(i_hex, priv, sizeof priv) == coord);
    CHECK_OK(iotls__kex_set_private(&a, group, priv, coord, pub, sizeof pub, &pub_len));
    CHECK(pub_len == 2 * coord + 1);
    CHECK_HEX(pub, pub_len, gi_hex);
    CHECK(tl_unhex(r_hex, priv, sizeof priv) == coord);
    CHECK_OK(iotls__kex_set_private(&b, group, priv, coord, pub, sizeof pub, &pub_len));
    CHECK_HEX(pub, pub_len, gr_hex);

    CHECK_OK(iotls__kex_derive(&a, pub, pub_len, secret, sizeof secret, &secret_len));
    CHECK(secret_len == coord);
    CHECK_HEX(secret, secret_len, shared_hex);
    size_t gi_len = tl_unhex(gi_hex, pub, sizeof pub);
    CHECK_OK(iotls__kex_derive(&b, pub, gi_len, secret, sizeof secret, &secret_len));
    CHECK_HEX(secret, secret_len, shared_hex);
    iotls__kex_free(&a);
    iotls__kex_free(&b);
}

static void test_round_trip(uint16_t group, size_t pub_want, size_t secret_want)
{
    uint8_t pub_a[97], pub_b[97], sa[48], sb[48];
    size_t la = 0, lb = 0, na = 0, nb = 0;
    iotls_kex_ctx a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    CHECK_OK(iotls__kex_generate(&a, group, pub_a, sizeof pub_a, &la));
    CHECK_OK(iotls__kex_generate(&b, group, pub_b, sizeof pub_b, &lb));
    CHECK(la == pub_want && lb == pub_want);
    if (group != IOTLS_GROUP_X25519)
        CHECK(pub_a[0] == 0x04 && pub_b[0] == 0x04);
    CHECK(memcmp(pub_a, pub_b, la) != 0);
    CHECK_OK(iotls__kex_derive(&a, pub_b, lb, sa, sizeof sa, &na));
    CHECK_OK(iotls__kex_derive(&b, pub_a, la, sb, sizeof sb, &nb));
    CHECK(na == secret_want && nb == secret_want);
    CHECK(memcmp(sa, sb, na) == 0);
    /* Too small an output buffer. */
    CHECK_RC(iotls__kex_derive(&a, pub_b, lb, sa, secret_want - 1, &na),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(iotls__kex_generate(&a, group, pub_a, pub_want - 1, &la), IOTLS_ERR_BUFFER_TOO_SMALL);

    /* Free wipes everything, the private scalar included. */
    iotls__kex_free(&a);
    const uint8_t *raw = (const uint8_t *)&a;
    int zero = 1;
    for (size_t i = 0; i < sizeof a; i++)
        zero &= raw[i] == 0;
    CHECK(zero);
    CHECK_RC(iotls__kex_derive(&a, pub_b, lb, sa, sizeof sa, &na), IOTLS_ERR_BAD_STATE);
    iotls__kex_free(&b);
}

static void expect_rejected(iotls_kex_ctx *ctx, const uint8_t *peer, size_t len, const char *what)
{
    uint8_t secret[48];
    size_t secret_len = 0;
    memset(secret, 0xAA, sizeof secret);
    int rc = iotls__kex_derive(ctx, peer, len, secret, sizeof secret, &secret_len);
    if (rc != IOTLS_ERR_ILLEGAL_PARAMETER)
        fprintf(stderr, "not rejected: %s\n", what);
    CHECK_RC(rc, IOTLS_ERR_ILLEGAL_PARAMETER);
}

static void test_invalid_points(void)
{
    uint8_t pub[97], peer[97], priv[48];
    size_t pub_len = 0;
    iotls_kex_ctx ctx;
    memset(&ctx, 0, sizeof ctx);

    /* --- X25519 --- */
    CHECK_OK(iotls__kex_generate(&ctx, IOTLS_GROUP_X25519, pub, sizeof pub, &pub_len));
    expect_rejected(&ctx, pub, 31, "x25519 31 bytes");
    memcpy(peer, pub, 32);
    peer[32] = 0;
    expect_rejected(&ctx, peer, 33, "x25519 33 bytes");
    expect_rejected(&ctx, pub, 0, "x25519 empty");
    /* Points of small order (the list in "May the Fourth Be With You",
     * Genkin et al.): u = 0 and u = 1 give an all-zero secret or worse. */
    static const char *low_order[] = {
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        /* The same with the (masked) top bit set. */
        "0000000000000000000000000000000000000000000000000000000000000080",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",
    };
    for (size_t i = 0; i < sizeof low_order / sizeof low_order[0]; i++) {
        tl_unhex(low_order[i], peer, 32);
        expect_rejected(&ctx, peer, 32, low_order[i]);
    }
    /* The secret buffer is wiped on rejection. */
    {
        uint8_t secret[32];
        size_t secret_len = 0;
        memset(secret, 0xAA, sizeof secret);
        memset(peer, 0, 32);
        CHECK_RC(iotls__kex_derive(&ctx, peer, 32, secret, sizeof secret, &secret_len),
                 IOTLS_ERR_ILLEGAL_PARAMETER);
        int untouched_or_zero = 1;
        for (size_t i = 0; i < 32; i++)
            untouched_or_zero &= secret[i] == 0 || secret[i] == 0xAA;
        CHECK(untouched_or_zero);
    }
    /* After all those refusals the key still works. */
    {
        iotls_kex_ctx other;
        uint8_t opub[32], s1[32], s2[32];
        size_t olen = 0, n1 = 0, n2 = 0;
        memset(&other, 0, sizeof other);
        CHECK_OK(iotls__kex_generate(&other, IOTLS_GROUP_X25519, opub, sizeof opub, &olen));
        CHECK_OK(iotls__kex_derive(&ctx, opub, olen, s1, sizeof s1, &n1));
        CHECK_OK(iotls__kex_derive(&other, pub, pub_len, s2, sizeof s2, &n2));
        CHECK(n1 == 32 && n2 == 32 && memcmp(s1, s2, 32) == 0);
        iotls__kex_free(&other);
    }

    /* --- P-256 --- */
    CHECK_OK(iotls__kex_generate(&ctx, IOTLS_GROUP_SECP256R1, pub, sizeof pub, &pub_len));
    CHECK(pub_len == 65);
    expect_rejected(&ctx, pub, 64, "p256 64 bytes");
    memcpy(peer, pub, 65);
    peer[65] = 0;
    expect_rejected(&ctx, peer, 66, "p256 66 bytes");
    /* Compressed form 0x02/0x03 || X (33 bytes). */
    memcpy(peer, pub, 33);
    peer[0] = (uint8_t)(0x02 | (pub[64] & 1));
    expect_rejected(&ctx, peer, 33, "p256 compressed");
    /* Hybrid / unknown prefix with the right length. */
    memcpy(peer, pub, 65);
    peer[0] = 0x06;
    expect_rejected(&ctx, peer, 65, "p256 prefix 06");
    /* Off the curve: one bit of Y flipped. */
    memcpy(peer, pub, 65);
    peer[64] ^= 0x01;
    expect_rejected(&ctx, peer, 65, "p256 off-curve");
    /* The point at infinity (its SEC 1 encoding is the single byte 0). */
    peer[0] = 0x00;
    expect_rejected(&ctx, peer, 1, "p256 infinity");
    memset(peer, 0, 65);
    expect_rejected(&ctx, peer, 65, "p256 all zero");
    /* Coordinates >= p. */
    memset(peer, 0xff, 65);
    peer[0] = 0x04;
    expect_rejected(&ctx, peer, 65, "p256 coordinates >= p");
    /* The RFC 5903 P-256 public key used on P-384 (wrong length there). */
    memcpy(peer, pub, 65);

    /* --- P-384 --- */
    CHECK_OK(iotls__kex_generate(&ctx, IOTLS_GROUP_SECP384R1, pub, sizeof pub, &pub_len));
    CHECK(pub_len == 97);
    expect_rejected(&ctx, peer, 65, "p256 point on p384");
    memcpy(peer, pub, 97);
    peer[96] ^= 0x01;
    expect_rejected(&ctx, peer, 97, "p384 off-curve");
    memcpy(peer, pub, 49);
    peer[0] = 0x03;
    expect_rejected(&ctx, peer, 49, "p384 compressed");

    /* set_private: bad scalars. */
    memset(priv, 0, sizeof priv);
    CHECK_RC(
        iotls__kex_set_private(&ctx, IOTLS_GROUP_SECP256R1, priv, 32, pub, sizeof pub, &pub_len),
        IOTLS_ERR_BAD_ARG);
    memset(priv, 0xff, sizeof priv); /* >= n */
    CHECK_RC(
        iotls__kex_set_private(&ctx, IOTLS_GROUP_SECP384R1, priv, 48, pub, sizeof pub, &pub_len),
        IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__kex_set_private(&ctx, IOTLS_GROUP_X25519, priv, 31, pub, sizeof pub, &pub_len),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__kex_generate(&ctx, 0x0019, pub, sizeof pub, &pub_len), IOTLS_ERR_BAD_ARG);
    iotls__kex_free(&ctx);
}

/* ---- random ---- */

typedef struct {
    uint8_t next;
    int calls;
    int fail;
} counter_rng;

static int counting_rng(void *arg, uint8_t *out, size_t len)
{
    counter_rng *c = arg;
    c->calls++;
    if (c->fail)
        return -1;
    for (size_t i = 0; i < len; i++)
        out[i] = c->next++;
    return 0;
}

static void test_random(void)
{
    uint8_t a[64], b[64], big[5000];
    CHECK_OK(iotls__random(a, sizeof a));
    CHECK_OK(iotls__random(b, sizeof b));
    CHECK(memcmp(a, b, sizeof a) != 0);
    /* More than one DRBG request's worth. */
    memset(big, 0, sizeof big);
    CHECK_OK(iotls__random(big, sizeof big));
    size_t zeros = 0;
    for (size_t i = 0; i < sizeof big; i++)
        zeros += big[i] == 0;
    CHECK(zeros < 100); /* about 20 expected; all-zero tail would mean a short fill */
    CHECK(memcmp(big + 4000, big + 4064, 64) != 0);
    CHECK_OK(iotls__random(NULL, 0));

    counter_rng c = {0x10, 0, 0};
    iotls__random_override(counting_rng, &c);
    CHECK_OK(iotls__random(a, 4));
    CHECK_HEX(a, 4, "10111213");
    CHECK(c.calls == 1);
    /* Key generation draws from the override too: deterministic keys. */
    iotls_kex_ctx k1, k2;
    uint8_t p1[32], p2[32];
    size_t l1 = 0, l2 = 0;
    memset(&k1, 0, sizeof k1);
    memset(&k2, 0, sizeof k2);
    c.next = 0x42;
    CHECK_OK(iotls__kex_generate(&k1, IOTLS_GROUP_X25519, p1, sizeof p1, &l1));
    c.next = 0x42;
    CHECK_OK(iotls__kex_generate(&k2, IOTLS_GROUP_X25519, p2, sizeof p2, &l2));
    CHECK(l1 == 32 && l2 == 32 && memcmp(p1, p2, 32) == 0);
    iotls__kex_free(&k1);
    iotls__kex_free(&k2);

    c.fail = 1;
    CHECK_RC(iotls__random(a, 4), IOTLS_ERR_RANDOM);
    CHECK_RC(iotls__kex_generate(&k1, IOTLS_GROUP_SECP256R1, big, sizeof big, &l1),
             IOTLS_ERR_RANDOM);
    iotls__kex_free(&k1);

    iotls__random_override(NULL, NULL);
    int calls = c.calls;
    CHECK_OK(iotls__random(a, 16));
    CHECK(c.calls == calls);
    CHECK(memcmp(a, "\x10\x11\x12\x13", 4) != 0 || memcmp(a + 4, "\x14\x15", 2) != 0);
}

int main(void)
{
    for (size_t i = 0; i < sizeof aead_vectors / sizeof aead_vectors[0]; i++)
        test_aead_vector(&aead_vectors[i]);
    test_aead_misc();

    test_x25519_rfc7748();
    test_nist_rfc5903(IOTLS_GROUP_SECP256R1, 32,
                      "C88F01F510D9AC3F70A292DAA2316DE544E9AAB8AFE84049C62A9C57862D1433",
                      "04DAD0B65394221CF9B051E1FECA5787D098DFE637FC90B9EF945D0C3772581180"
                      "5271A0461CDB8252D61F1C456FA3E59AB1F45B33ACCF5F58389E0577B8990BB3",
                      "C6EF9C5D78AE012A011164ACB397CE2088685D8F06BF9BE0B283AB46476BEE53",
                      "04D12DFB5289C8D4F81208B70270398C342296970A0BCCB74C736FC7554494BF63"
                      "56FBF3CA366CC23E8157854C13C58D6AAC23F046ADA30F8353E74F33039872AB",
                      "D6840F6B42F6EDAFD13116E0E12565202FEF8E9ECE7DCE03812464D04B9442DE");
    test_nist_rfc5903(
        IOTLS_GROUP_SECP384R1, 48,
        "099F3C7034D4A2C699884D73A375A67F7624EF7C6B3C0F160647B67414DCE655E35B538041E649EE3FAEF8967"
        "83AB194",
        "04667842D7D180AC2CDE6F74F37551F55755C7645C20EF73E31634FE72B4C55EE6DE3AC808ACB4BDB4C88732A"
        "EE95F41AA9482ED1FC0EEB9CAFC4984625CCFC23F65032149E0E144ADA024181535A0F38EEB9FCFF3C2C947DAE"
        "69B4C634573A81C",
        "41CB0779B4BDB85D47846725FBEC3C9430FAB46CC8DC5060855CC9BDA0AA2942E0308312916B8ED2960E4BD55"
        "A7448FC",
        "04E558DBEF53EECDE3D3FCCFC1AEA08A89A987475D12FD950D83CFA41732BC509D0D1AC43A0336DEF96FDA41D"
        "0774A3571DCFBEC7AACF3196472169E838430367F66EEBE3C6E70C416DD5F0C68759DD1FFF83FA40142209DFF5"
        "EAAD96DB9E6386C",
        "11187331C279962D93D604243FD592CB9D0A926F422E47187521287E7156C5C4D603135569B9E9D09CF5D4A27"
        "0F59746");
    test_round_trip(IOTLS_GROUP_X25519, 32, 32);
    test_round_trip(IOTLS_GROUP_SECP256R1, 65, 32);
    test_round_trip(IOTLS_GROUP_SECP384R1, 97, 48);
    test_invalid_points();

    test_random();
    return tl_finish("aead_kex");
}
