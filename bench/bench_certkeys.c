/* `iotls bench --cert-keys`: the CPU a peer can make us spend on the
 * certificate chain it presents, at the key limits (iotls__x509_check_keys:
 * RSA up to --max-rsa-bits, public exponent up to 2^31-1). Before those
 * limits a chain of RSA-8192 keys with exponent N-2 cost seconds; now each
 * signature check with a presented key costs at most one exponentiation
 * with a 31-bit exponent, and the chain has at most IOTLS_MAX_PEER_CHAIN
 * certificates. What is left to measure is how many checks a chain can
 * cause, so two shapes are built, every certificate with the same key of
 * the largest size and exponent allowed (generated here: slow for 8192
 * bits):
 *
 *   - straight: leaf <- 9 intermediates, each signed by the next (one check
 *     per link, what OpenSSL's chain building does with any chain);
 *   - search: a leaf issued by "CN=X" and 9 expired self-issued CAs all
 *     named "CN=X". mbedTLS checks a child's signature against every
 *     candidate parent of the right name before it skips an expired one
 *     (x509_crt_find_parent_in), so each certificate is checked against all
 *     those after it: about n^2/2 checks.
 *
 * Each round does what a client does with a Certificate and a
 * CertificateVerify: parse the certificates (iotls__x509_add_der), verify the
 * chain against a trust anchor that signed none of it (the attacker's
 * case), and check one signature with the leaf's key. CPU time of this
 * thread, median of the rounds. It measures; nothing is asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmds.h"
#include "conn.h"
#include "crypto/crypto.h"
#include "iotls/iotls.h"

#define KEY_CAP 16384
#define CERT_CAP 8192
#define NCERTS IOTLS_MAX_PEER_CHAIN

typedef struct {
    char key[KEY_CAP];
    char certs[NCERTS][CERT_CAP]; /* leaf first */
    iotls_x509 chain;             /* certs, parsed once for their DER */
} shape;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The straight chain: certs[i] issued by certs[i + 1], the last
 * self-signed; all valid now. */
static int make_straight(shape *s)
{
    iotls_cert_spec spec;
    char subject[64];
    for (int i = NCERTS - 1; i >= 0; i--) {
        memset(&spec, 0, sizeof spec);
        snprintf(subject, sizeof subject, "CN=bench chain %d", i);
        spec.subject = subject;
        spec.is_ca = i > 0;
        spec.for_server = i == 0;
        spec.dns_names = i == 0 ? "bench.iotls.test" : NULL;
        int last = i == NCERTS - 1;
        if (iotls_pki_make_cert(&spec, s->key, last ? NULL : s->key, last ? NULL : s->certs[i + 1],
                                s->certs[i], CERT_CAP) != IOTLS_OK)
            return -1;
    }
    return 0;
}

/* The search chain: a leaf issued by "CN=X", then NCERTS - 1 self-issued
 * CAs named "CN=X" that expired yesterday. */
static int make_search(shape *s)
{
    iotls_cert_spec spec;
    int64_t now = (int64_t)time(NULL);
    for (int i = 1; i < NCERTS; i++) {
        memset(&spec, 0, sizeof spec);
        spec.subject = "CN=X";
        spec.is_ca = 1;
        spec.not_before = now - 30 * 86400;
        spec.not_after = now - 86400;
        if (iotls_pki_make_cert(&spec, s->key, NULL, NULL, s->certs[i], CERT_CAP) != IOTLS_OK)
            return -1;
    }
    memset(&spec, 0, sizeof spec);
    spec.subject = "CN=bench search leaf";
    spec.dns_names = "bench.iotls.test";
    spec.for_server = 1;
    return iotls_pki_make_cert(&spec, s->key, s->key, s->certs[1], s->certs[0], CERT_CAP) ==
                   IOTLS_OK
               ? 0
               : -1;
}

static int load(shape *s)
{
    iotls__x509_init(&s->chain);
    for (int i = 0; i < NCERTS; i++)
        if (iotls__x509_load_mem(&s->chain, (const uint8_t *)s->certs[i], strlen(s->certs[i])) !=
            IOTLS_OK)
            return -1;
    return iotls__x509_count(&s->chain) == NCERTS ? 0 : -1;
}

/* Bytes of the TLS 1.3 Certificate message carrying the chain. */
static size_t message_bytes(const shape *s)
{
    size_t n = 4 + 1 + 3; /* header, empty context, list length */
    for (size_t i = 0; i < NCERTS; i++) {
        const uint8_t *der;
        size_t len;
        if (iotls__x509_der(&s->chain, i, &der, &len) == IOTLS_OK)
            n += 3 + len + 2; /* cert_data, no extensions */
    }
    return n;
}

/* One client's work on the chain and a CertificateVerify; *verdict gets
 * iotls__x509_verify's answer. CPU ms. */
static double one_round(const shape *s, const iotls_x509 *trust, unsigned max_rsa_bits,
                        const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
                        int *verdict, int *sig_ok)
{
    iotls_x509 peer;
    iotls__x509_init(&peer);
    double t0 = cpu_ms();
    for (size_t i = 0; i < NCERTS; i++) {
        const uint8_t *der;
        size_t len;
        if (iotls__x509_der(&s->chain, i, &der, &len) == IOTLS_OK)
            (void)iotls__x509_add_der(&peer, der, len);
    }
    iotls_x509_policy policy = {.trust = trust,
                                .host = "bench.iotls.test",
                                .is_server_cert = 1,
                                .max_rsa_bits = max_rsa_bits};
    *verdict = iotls__x509_verify(&peer, &policy);
    *sig_ok = iotls__x509_verify_signature(&peer, IOTLS_SIG_RSA_PSS_RSAE_SHA256, msg, msg_len, sig,
                                           sig_len) == IOTLS_OK;
    double ms = cpu_ms() - t0;
    iotls__x509_free(&peer);
    return ms;
}

/* The median of rounds rounds; *max_ms gets the slowest. */
static double median_round(const shape *s, const iotls_x509 *trust, unsigned max_rsa_bits,
                           const uint8_t *sig, size_t sig_len, const uint8_t *msg, size_t msg_len,
                           int rounds, int *verdict, int *sig_ok, double *max_ms)
{
    double *ms = calloc((size_t)rounds, sizeof *ms);
    if (!ms)
        return -1;
    for (int r = 0; r < rounds; r++)
        ms[r] = one_round(s, trust, max_rsa_bits, sig, sig_len, msg, msg_len, verdict, sig_ok);
    qsort(ms, (size_t)rounds, sizeof *ms, cmp_double);
    double m = rounds % 2 ? ms[rounds / 2] : (ms[rounds / 2 - 1] + ms[rounds / 2]) / 2;
    *max_ms = ms[rounds - 1];
    free(ms);
    return m;
}

int bench_cert_keys(unsigned max_rsa_bits, int rounds)
{
    static shape straight, search; /* large: not on the stack */
    unsigned bits = max_rsa_bits ? max_rsa_bits : IOTLS_RSA_DEFAULT_MAX_BITS;
    printf("certificate chain work at the key limits: RSA-%u, public exponent 2^31-1,\n"
           "%d certificates (IOTLS_MAX_PEER_CHAIN), every certificate with the same key\n",
           bits, NCERTS);
    fflush(stdout);
    double t0 = cpu_ms();
    int key_rc = iotls__pki_make_rsa_key(bits, IOTLS_RSA_MAX_EXPONENT, straight.key, KEY_CAP);
    if (key_rc == IOTLS_ERR_UNSUPPORTED) {
        /* The PSA provider on Mbed TLS 4: PSA holds no RSA key above
         * PSA_VENDOR_RSA_MAX_KEY_BITS, nor parses certificates with one. */
        fprintf(stderr, "iotls bench: %s cannot make (nor use) an RSA-%u key\n",
                iotls_crypto_backend_name(), bits);
        return 1;
    }
    if (key_rc != IOTLS_OK) {
        fprintf(stderr, "iotls bench: could not make an RSA-%u key\n", bits);
        return 1;
    }
    printf("  (key generation: %.0f ms CPU, not counted)\n", cpu_ms() - t0);
    memcpy(search.key, straight.key, sizeof search.key);

    /* The client's trust anchor: an EC CA that signed none of it. */
    char anchor_key[1024], anchor[4096];
    iotls_cert_spec ca = {.subject = "CN=bench trusted CA", .is_ca = 1};
    iotls_x509 trust;
    iotls__x509_init(&trust);
    if (iotls_pki_make_key(IOTLS_KEY_EC_P256, anchor_key, sizeof anchor_key) != IOTLS_OK ||
        iotls_pki_make_cert(&ca, anchor_key, NULL, NULL, anchor, sizeof anchor) != IOTLS_OK ||
        iotls__x509_load_mem(&trust, (const uint8_t *)anchor, strlen(anchor)) != IOTLS_OK ||
        make_straight(&straight) != 0 || make_search(&search) != 0 || load(&straight) != 0 ||
        load(&search) != 0) {
        fprintf(stderr, "iotls bench: could not make the chains\n");
        iotls__x509_free(&trust);
        return 1;
    }

    /* A CertificateVerify made with the key (content of any kind: the
     * work is the same). */
    iotls_pkey key;
    iotls__pkey_init(&key);
    static const uint8_t msg[130] = {0x20};
    uint8_t sig[1024];
    size_t sig_len = 0;
    int rc =
        iotls__pkey_load_mem(&key, (const uint8_t *)straight.key, strlen(straight.key) + 1, NULL);
    if (rc == IOTLS_OK)
        rc = iotls__pkey_sign(&key, IOTLS_SIG_RSA_PSS_RSAE_SHA256, msg, sizeof msg, sig, sizeof sig,
                              &sig_len);
    iotls__pkey_free(&key);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls bench: could not sign with the key\n");
        iotls__x509_free(&trust);
        return 1;
    }

    /* One signature check with the key, alone. */
    double *one = calloc((size_t)rounds, sizeof *one);
    for (int r = 0; one && r < rounds; r++) {
        double a = cpu_ms();
        (void)iotls__x509_verify_signature(&straight.chain, IOTLS_SIG_RSA_PSS_RSAE_SHA256, msg,
                                           sizeof msg, sig, sig_len);
        one[r] = cpu_ms() - a;
    }
    if (one)
        qsort(one, (size_t)rounds, sizeof *one, cmp_double);
    double one_ms = one ? one[rounds / 2] : -1;
    free(one);

    int v1 = 0, v2 = 0, s1 = 0, s2 = 0;
    double max1 = 0, max2 = 0;
    double ms_straight = median_round(&straight, &trust, bits, sig, sig_len, msg, sizeof msg,
                                      rounds, &v1, &s1, &max1);
    double ms_search =
        median_round(&search, &trust, bits, sig, sig_len, msg, sizeof msg, rounds, &v2, &s2, &max2);
    double worst = ms_straight > ms_search ? ms_straight : ms_search;
    double worst_max = max1 > max2 ? max1 : max2;

    printf("  one signature check with that key:                 %8.2f ms CPU\n", one_ms);
    printf("  straight chain (%zu B Certificate) + CertificateVerify: %8.2f ms CPU"
           " (chain: %s, signature %s)\n",
           message_bytes(&straight), ms_straight, iotls_error_name(v1), s1 ? "good" : "bad");
    printf("  search chain   (%zu B Certificate) + CertificateVerify: %8.2f ms CPU"
           " (chain: %s, signature %s)\n",
           message_bytes(&search), ms_search, iotls_error_name(v2), s2 ? "good" : "bad");
    printf("  worst: %.1f ms CPU per handshake, median of %d rounds (%.0f signature checks'"
           " worth); slowest round %.1f ms\n",
           worst, rounds, one_ms > 0 ? worst / one_ms : 0.0, worst_max);
    if (message_bytes(&straight) > 16384 || message_bytes(&search) > 16384)
        printf("  (a Certificate over 16384 bytes needs iotls_config_set_max_handshake_size)\n");
    iotls__x509_free(&straight.chain);
    iotls__x509_free(&search.chain);
    iotls__x509_free(&trust);
    return 0;
}
