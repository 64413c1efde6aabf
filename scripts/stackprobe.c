/* Deepest stack of the crypto provider calls the engine makes, with the
 * crypto library behind them (scripts/stack-report.sh, docs/stack.md).
 *
 * Each call runs on a thread whose stack (memory we own) is painted with
 * 0xA5 first; afterwards the lowest byte that changed tells how deep the
 * thread went. The same thread running an empty call gives the base (thread
 * start-up, the wrapper's own frame), which is subtracted: what is left is
 * the call's depth below its caller, provider + library + libc. Each call
 * runs ROUNDS times (the first use of the DRBG seeds it), the deepest kept.
 * The wrappers (p_*) keep their buffers static so that their own frames,
 * counted in, stay small (tens of bytes, like the engine's call site).
 *
 * Painting is a lower bound: a local array the call reserves but never
 * writes below its top is not seen.
 *
 * Output, one line per measurement: "probe <function> <bytes> <what>". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

#define PROBE_STACK (256 * 1024)
#define PAINT 0xA5
#define ROUNDS 3

static uint8_t *probe_stack;

typedef void (*probe_fn)(void *arg);
struct probe_job {
    probe_fn fn;
    void *arg;
};

static void *probe_thread(void *p)
{
    struct probe_job *job = p;
    job->fn(job->arg);
    return NULL;
}

/* Bytes of the painted stack the thread touched. */
static size_t run_painted(probe_fn fn, void *arg)
{
    pthread_attr_t attr;
    pthread_t th;
    struct probe_job job = {fn, arg};
    memset(probe_stack, PAINT, PROBE_STACK);
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, probe_stack, PROBE_STACK) != 0 ||
        pthread_create(&th, &attr, probe_thread, &job) != 0) {
        fprintf(stderr, "stackprobe: cannot start the probe thread\n");
        exit(2);
    }
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    size_t i = 0;
    while (i < PROBE_STACK && probe_stack[i] == PAINT)
        i++;
    return PROBE_STACK - i;
}

static int probe_failed;
static void check(int rc, const char *what)
{
    if (rc != IOTLS_OK) {
        fprintf(stderr, "stackprobe: %s failed: %d\n", what, rc);
        probe_failed = 1;
    }
}

static void empty_call(void *arg)
{
    (void)arg;
}

static size_t base_depth;

static void measure(const char *func, const char *what, probe_fn fn, void *arg)
{
    size_t deepest = 0;
    for (int r = 0; r < ROUNDS; r++) {
        size_t d = run_painted(fn, arg);
        if (d > deepest)
            deepest = d;
    }
    printf("probe %s %zu %s\n", func, deepest > base_depth ? deepest - base_depth : 0, what);
    fflush(stdout);
}

/* ---- the calls ---- */

struct kex_arg {
    uint16_t group;
    uint8_t peer_pub[133];
    size_t peer_len;
};

static void p_kex_generate(void *a)
{
    struct kex_arg *k = a;
    static iotls_kex_ctx ctx;
    static uint8_t pub[133];
    size_t len = 0;
    memset(&ctx, 0, sizeof ctx);
    check(iotls_kex_generate(&ctx, k->group, pub, sizeof pub, &len), "kex_generate");
    iotls_kex_free(&ctx);
}

/* generate is done outside the measured call: only derive is counted. */
static iotls_kex_ctx derive_ctx;
static void p_kex_derive(void *a)
{
    struct kex_arg *k = a;
    static uint8_t secret[48];
    size_t len = 0;
    check(iotls_kex_derive(&derive_ctx, k->peer_pub, k->peer_len, secret, sizeof secret, &len),
          "kex_derive");
}

struct sign_arg {
    iotls_pkey *key;
    uint16_t scheme;
};
static const uint8_t msg64[130] = {0x20, 0x20, 0x20};
static void p_pkey_sign(void *a)
{
    struct sign_arg *s = a;
    static uint8_t sig[512];
    size_t len = 0;
    check(iotls_pkey_sign(s->key, s->scheme, msg64, sizeof msg64, sig, sizeof sig, &len),
          "pkey_sign");
}

struct vsig_arg {
    iotls_x509 *chain;
    uint16_t scheme;
    uint8_t sig[512];
    size_t sig_len;
};
static void p_verify_signature(void *a)
{
    struct vsig_arg *v = a;
    check(iotls_x509_verify_signature(v->chain, v->scheme, msg64, sizeof msg64, v->sig, v->sig_len),
          "x509_verify_signature");
}

struct der_arg {
    const uint8_t *der[2];
    size_t len[2];
    size_t n;
    iotls_x509 *trust;
};
static void p_add_der(void *a)
{
    struct der_arg *d = a;
    static iotls_x509 chain;
    iotls_x509_init(&chain);
    for (size_t i = 0; i < d->n; i++)
        check(iotls_x509_add_der(&chain, d->der[i], d->len[i]), "x509_add_der");
    iotls_x509_free(&chain);
}

static iotls_x509 verify_chain;
static void p_x509_verify(void *a)
{
    struct der_arg *d = a;
    static iotls_x509_policy pol;
    static char detail[128];
    pol.trust = d->trust;
    pol.host = "device.example";
    pol.is_server_cert = 1;
    check(iotls_x509_verify(&verify_chain, &pol, detail, sizeof detail), "x509_verify");
}
static void p_x509_names(void *a)
{
    (void)a;
    static char out[256];
    static uint8_t h[32];
    check(iotls_x509_subject(&verify_chain, 0, out, sizeof out), "x509_subject");
    check(iotls_x509_issuer(&verify_chain, 0, out, sizeof out), "x509_issuer");
    check(iotls_x509_sans(&verify_chain, out, sizeof out), "x509_sans");
    check(iotls_x509_key_desc(&verify_chain, 0, out, sizeof out), "x509_key_desc");
    check(iotls_x509_spki_sha256(&verify_chain, h), "x509_spki_sha256");
}

static const uint8_t key32[48] = {1, 2, 3};
static void p_hkdf_extract(void *a)
{
    (void)a;
    static uint8_t prk[48];
    check(iotls_hkdf_extract(IOTLS_HASH_SHA384, key32, 48, key32, 48, prk), "hkdf_extract");
}
static void p_hkdf_expand(void *a)
{
    (void)a;
    static uint8_t out[48];
    static const uint8_t info[100];
    check(iotls_hkdf_expand(IOTLS_HASH_SHA384, key32, 48, info, sizeof info, out, sizeof out),
          "hkdf_expand");
}
static void p_hmac(void *a)
{
    (void)a;
    static uint8_t out[48];
    check(iotls_hmac(IOTLS_HASH_SHA384, key32, 48, msg64, sizeof msg64, out), "hmac");
}
static void p_hash(void *a)
{
    (void)a;
    static iotls_hash_ctx ctx, copy;
    static uint8_t out[64];
    memset(&ctx, 0, sizeof ctx);
    memset(&copy, 0, sizeof copy);
    check(iotls_hash_init(&ctx, IOTLS_HASH_SHA384), "hash_init");
    check(iotls_hash_update(&ctx, msg64, sizeof msg64), "hash_update");
    check(iotls_hash_clone(&copy, &ctx), "hash_clone");
    check(iotls_hash_snapshot(&ctx, out), "hash_snapshot");
    check(iotls_hash(IOTLS_HASH_SHA512, msg64, sizeof msg64, out), "hash");
    iotls_hash_free(&copy);
    iotls_hash_free(&ctx);
}

static uint8_t record[16384 + 256];
static void p_aead(void *a)
{
    iotls_aead_alg alg = *(iotls_aead_alg *)a;
    static iotls_aead_ctx ctx;
    static const uint8_t nonce[IOTLS_AEAD_NONCE_LEN];
    static const uint8_t aad[5] = {23, 3, 3, 0x40, 0x11};
    memset(&ctx, 0, sizeof ctx);
    check(iotls_aead_init(&ctx, alg, key32, iotls_aead_key_len(alg)), "aead_init");
    check(iotls_aead_seal(&ctx, nonce, aad, 5, record, 16384, record), "aead_seal");
    check(iotls_aead_open(&ctx, nonce, aad, 5, record, 16384 + 16, record), "aead_open");
    iotls_aead_free(&ctx);
}
/* mbedTLS allocates through calloc/free: on the host that is glibc's
 * allocator, part of every measurement that allocates. */
static void p_calloc(void *a)
{
    (void)a;
    void *p = calloc(1, 216);
    if (!p)
        probe_failed = 1;
    free(p);
}
static void p_random(void *a)
{
    (void)a;
    static uint8_t out[32];
    check(iotls_random(out, sizeof out), "random");
}

/* ---- set-up: keys and certificates made by the provider's own PKI ---- */

struct pki {
    char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
    iotls_x509 ca, leaf;
    iotls_pkey key;
};

static void make_pki(struct pki *p, iotls_key_type type)
{
    iotls_cert_spec ca = {"CN=stackprobe CA", NULL, NULL, 1, 0, 0, 0, 0};
    iotls_cert_spec leaf = {"CN=device.example", "device.example", NULL, 0, 1, 0, 0, 0};
    check(iotls_pki_make_key(type, p->ca_key, sizeof p->ca_key), "make_key");
    check(iotls_pki_make_cert(&ca, p->ca_key, NULL, NULL, p->ca_cert, sizeof p->ca_cert),
          "make_cert");
    check(iotls_pki_make_key(type, p->leaf_key, sizeof p->leaf_key), "make_key");
    check(iotls_pki_make_cert(&leaf, p->leaf_key, p->ca_key, p->ca_cert, p->leaf_cert,
                              sizeof p->leaf_cert),
          "make_cert");
    iotls_x509_init(&p->ca);
    iotls_x509_init(&p->leaf);
    iotls_pkey_init(&p->key);
    check(iotls_x509_load_mem(&p->ca, (const uint8_t *)p->ca_cert, strlen(p->ca_cert) + 1), "load ca");
    check(iotls_x509_load_mem(&p->leaf, (const uint8_t *)p->leaf_cert, strlen(p->leaf_cert) + 1),
          "load leaf");
    check(iotls_pkey_load_mem(&p->key, (const uint8_t *)p->leaf_key, strlen(p->leaf_key) + 1, NULL),
          "load key");
}

static void probe_pki(iotls_key_type type, uint16_t scheme, const char *label)
{
    static struct pki p;
    char what[64];
    make_pki(&p, type);

    struct sign_arg s = {&p.key, scheme};
    snprintf(what, sizeof what, "%s sign", label);
    measure("iotls_pkey_sign", what, p_pkey_sign, &s);

    static struct vsig_arg v;
    v.chain = &p.leaf;
    v.scheme = scheme;
    check(iotls_pkey_sign(&p.key, scheme, msg64, sizeof msg64, v.sig, sizeof v.sig, &v.sig_len),
          "pkey_sign");
    snprintf(what, sizeof what, "%s verify", label);
    measure("iotls_x509_verify_signature", what, p_verify_signature, &v);

    struct der_arg d = {{NULL, NULL}, {0, 0}, 2, &p.ca};
    check(iotls_x509_der(&p.leaf, 0, &d.der[0], &d.len[0]), "x509_der");
    check(iotls_x509_der(&p.ca, 0, &d.der[1], &d.len[1]), "x509_der");
    snprintf(what, sizeof what, "%s leaf + CA parse", label);
    measure("iotls_x509_add_der", what, p_add_der, &d);

    iotls_x509_init(&verify_chain);
    check(iotls_x509_add_der(&verify_chain, d.der[0], d.len[0]), "x509_add_der");
    snprintf(what, sizeof what, "%s leaf to CA chain check", label);
    measure("iotls_x509_verify", what, p_x509_verify, &d);
    snprintf(what, sizeof what, "%s subject, issuer, SANs, key, SPKI hash", label);
    measure("iotls_x509_subject,iotls_x509_issuer,iotls_x509_sans,iotls_x509_key_desc,iotls_x509_spki_sha256", what, p_x509_names, NULL);
    iotls_x509_free(&verify_chain);

    iotls_x509_free(&p.ca);
    iotls_x509_free(&p.leaf);
    iotls_pkey_free(&p.key);
}

static void probe_kex(uint16_t group, const char *label)
{
    char what[64];
    static struct kex_arg k;
    iotls_kex_ctx peer;
    k.group = group;
    memset(&peer, 0, sizeof peer);
    snprintf(what, sizeof what, "%s key pair", label);
    measure("iotls_kex_generate", what, p_kex_generate, &k);
    check(iotls_kex_generate(&peer, group, k.peer_pub, sizeof k.peer_pub, &k.peer_len),
          "kex_generate");
    uint8_t pub[133];
    size_t len;
    memset(&derive_ctx, 0, sizeof derive_ctx);
    check(iotls_kex_generate(&derive_ctx, group, pub, sizeof pub, &len), "kex_generate");
    snprintf(what, sizeof what, "%s shared secret", label);
    measure("iotls_kex_derive", what, p_kex_derive, &k);
    iotls_kex_free(&derive_ctx);
    iotls_kex_free(&peer);
}

int main(void)
{
    probe_stack = malloc(PROBE_STACK);
    if (!probe_stack)
        return 2;
    base_depth = run_painted(empty_call, NULL);
    measure("calloc,free", "glibc, 216 bytes (an mbedTLS SHA-512 context)", p_calloc, NULL);
    measure("iotls_random", "32 bytes (first: DRBG seeding)", p_random, NULL);
    probe_kex(IOTLS_GROUP_X25519, "X25519");
    probe_kex(IOTLS_GROUP_SECP256R1, "secp256r1");
    probe_kex(IOTLS_GROUP_SECP384R1, "secp384r1");
    probe_pki(IOTLS_KEY_EC_P256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, "ECDSA P-256");
    probe_pki(IOTLS_KEY_EC_P384, IOTLS_SIG_ECDSA_SECP384R1_SHA384, "ECDSA P-384");
    probe_pki(IOTLS_KEY_RSA_2048, IOTLS_SIG_RSA_PSS_RSAE_SHA256, "RSA-2048 PSS");
    measure("iotls_hkdf_extract", "SHA-384", p_hkdf_extract, NULL);
    measure("iotls_hkdf_expand", "SHA-384, 48 bytes", p_hkdf_expand, NULL);
    measure("iotls_hmac", "SHA-384", p_hmac, NULL);
    measure("iotls_hash_init,iotls_hash_update,iotls_hash_clone,iotls_hash_snapshot,iotls_hash", "init, update, clone, snapshot; one-shot SHA-512", p_hash, NULL);
    iotls_aead_alg gcm128 = IOTLS_AEAD_AES_128_GCM, gcm256 = IOTLS_AEAD_AES_256_GCM,
                   chacha = IOTLS_AEAD_CHACHA20_POLY1305;
    measure("iotls_aead_init,iotls_aead_seal,iotls_aead_open", "AES-128-GCM init, seal and open of 16 KiB", p_aead, &gcm128);
    measure("iotls_aead_init,iotls_aead_seal,iotls_aead_open", "AES-256-GCM init, seal and open of 16 KiB", p_aead, &gcm256);
    measure("iotls_aead_init,iotls_aead_seal,iotls_aead_open",
            "ChaCha20-Poly1305 init, seal and open of 16 KiB", p_aead, &chacha);
    free(probe_stack);
    return probe_failed;
}
