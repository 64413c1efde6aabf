/* Shared by the connection fuzzers (fuzz_server.c, fuzz_client.c) and the
 * seed recorder (record_seeds.c): a deterministic random generator per
 * role, the fixed configurations, and the driver that feeds a byte stream
 * to a connection in input-chosen chunks.
 *
 * Determinism is what makes the seeds useful: the recorder runs our client
 * against our server with the same per-role generator seeds the fuzzers
 * use, so a fuzzed client sends the very ClientHello the recorded server
 * stream answers (and the fuzzed server the very ServerHello the recorded
 * client Finished covers), and the fuzzer starts from deep handshake
 * states instead of bouncing off a bad MAC.
 *
 * Input format for both connection fuzzers: byte 0 is a selector (bit 0:
 * configuration variant, see fuzz_server_config and fuzz_client_config; bits 1-7: seed of
 * the chunk sizes, 0 = the whole stream at once; bit 1 also picks the
 * zero-copy input path), the rest is the peer's byte stream. */
#ifndef IOTLS_FUZZ_COMMON_H
#define IOTLS_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/error.h"
#include "iotls/iotls.h"

#define FUZZ_SEED_PKI 0x1a2b3c4d5e6f7081ull
#define FUZZ_SEED_CLIENT 0x0123456789abcdefull
#define FUZZ_SEED_SERVER 0xfedcba9876543210ull

/* fuzz_session: the device key of the keyed blobs and the clock the blobs
 * are loaded at (2026-01-01; the seeds were received shortly before). */
#define FUZZ_SESSION_KEY                                                                           \
    {                                                                                              \
        'f', 'u', 'z', 'z', '-', 'd', 'e', 'v', 'i', 'c', 'e', '-', 'k', 'e', 'y'                  \
    }
#define FUZZ_SESSION_NOW_MS 1767225600000ull

#define FUZZ_REQUIRE(cond)                                                                         \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz: %s:%d: %s\n", __FILE__, __LINE__, #cond);                       \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* splitmix64: not a cryptographic generator, which is the point. */
typedef struct {
    uint64_t state;
} fuzz_rng;

static inline uint64_t fuzz_rng_next(fuzz_rng *r)
{
    uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline int fuzz_rng_fill(void *arg, uint8_t *out, size_t len)
{
    fuzz_rng *r = arg;
    while (len > 0) {
        uint64_t v = fuzz_rng_next(r);
        size_t n = len < 8 ? len : 8;
        memcpy(out, &v, n);
        out += n;
        len -= n;
    }
    return 0;
}

/* Makes r the process's generator from now on. */
static inline void fuzz_rng_use(fuzz_rng *r)
{
    iotls__random_override(fuzz_rng_fill, r);
}

/* The server configurations, made once: a P-256 key and a self-signed
 * certificate for "fuzz.example" with a fixed validity period, so every
 * process makes byte-identical ones (the ticket key too). Variant 1 accepts only secp384r1, so
 * the client (whose first share is x25519) gets a HelloRetryRequest. */
static inline iotls_config *fuzz_server_config(int variant)
{
    static iotls_config *cfgs[2];
    variant &= 1;
    if (cfgs[variant])
        return cfgs[variant];
    static char key_pem[4096], cert_pem[8192];
    if (key_pem[0] == '\0') {
        fuzz_rng pki = {FUZZ_SEED_PKI};
        fuzz_rng_use(&pki);
        FUZZ_REQUIRE(iotls_pki_make_key(IOTLS_KEY_EC_P256, key_pem, sizeof key_pem) == IOTLS_OK);
        iotls_cert_spec spec = {
            .subject = "CN=fuzz.example,O=iotls fuzz",
            .dns_names = "fuzz.example",
            .for_server = 1,
            .not_before = 1577836800, /* 2020-01-01 */
            .not_after = 4102444800,  /* 2100-01-01 */
        };
        FUZZ_REQUIRE(iotls_pki_make_cert(&spec, key_pem, NULL, NULL, cert_pem, sizeof cert_pem) ==
                     IOTLS_OK);
    }
    /* iotls_config_new draws the ticket key. */
    fuzz_rng config_rng = {FUZZ_SEED_PKI + 1 + (uint64_t)variant};
    fuzz_rng_use(&config_rng);
    iotls_config *cfg = iotls_config_new();
    iotls__random_override(NULL, NULL);
    FUZZ_REQUIRE(cfg != NULL);
    FUZZ_REQUIRE(iotls_config_set_cert_mem(cfg, (const uint8_t *)cert_pem, strlen(cert_pem) + 1,
                                           (const uint8_t *)key_pem,
                                           strlen(key_pem) + 1) == IOTLS_OK);
    FUZZ_REQUIRE(iotls_config_set_alpn(cfg, "h2,http/1.1") == IOTLS_OK);
    if (variant == 1)
        FUZZ_REQUIRE(iotls_config_set_groups(cfg, "secp384r1") == IOTLS_OK);
    cfgs[variant] = cfg;
    return cfg;
}

/* The client configuration: no certificate verification, so the fuzzer
 * can reach CertificateVerify, Finished and the post-handshake messages
 * without a chain to a trust anchor. */
/* Variant 1 reassembles a handshake message spanning records in the
 * record buffer (iotls_config_set_reassemble_in_place); its ClientHello is
 * the same, so the recorded server streams answer both. */
static inline iotls_config *fuzz_client_config(int variant)
{
    static iotls_config *cfgs[2];
    variant &= 1;
    if (cfgs[variant])
        return cfgs[variant];
    iotls_config *cfg = iotls_config_new();
    FUZZ_REQUIRE(cfg != NULL);
    iotls_config_insecure_noverifycert(cfg);
    FUZZ_REQUIRE(iotls_config_set_alpn(cfg, "http/1.1") == IOTLS_OK);
    FUZZ_REQUIRE(iotls_config_set_reassemble_in_place(cfg, variant) == IOTLS_OK);
    cfgs[variant] = cfg;
    return cfg;
}

/* Connection memory from the heap, exactly sized, so ASan sees any write
 * past the engine's buffers. */
static inline iotls_conn *fuzz_conn_new(const iotls_config *cfg, int role, void **mem_out)
{
    size_t need = iotls_conn_size(cfg);
    void *mem = aligned_alloc(16, (need + 15) & ~(size_t)15);
    FUZZ_REQUIRE(mem != NULL);
    iotls_conn *c = iotls_conn_init(mem, need, cfg, role, NULL);
    FUZZ_REQUIRE(c != NULL);
    *mem_out = mem;
    return c;
}

static inline void fuzz_conn_free(iotls_conn *c, void *mem)
{
    iotls_conn_free(c);
    free(mem);
}

/* Everything a connection does between inputs: drop its output (there is
 * no peer), read whatever application data arrived and answer it once the
 * handshake is done, so the write, KeyUpdate-answer and close paths run
 * too. Returns the connection's error (0 while healthy). */
static inline int fuzz_service(iotls_conn *c, int *answered)
{
    size_t n = 0;
    const uint8_t *out;
    while ((out = iotls_conn_output(c, &n)) != NULL && n > 0)
        iotls_conn_output_consume(c, n);
    uint8_t buf[512];
    int rc;
    while ((rc = iotls_conn_read(c, buf, sizeof buf, &n)) == IOTLS_OK && n > 0) {
        size_t written = 0;
        if (iotls_conn_write(c, buf, n, &written) == IOTLS_OK)
            *answered += 1;
        while ((out = iotls_conn_output(c, &n)) != NULL && n > 0)
            iotls_conn_output_consume(c, n);
    }
    return iotls_conn_error(c);
}

/* Feeds stream to c in chunks chosen by chunk_seed (0: all at once). */
/* iotls_conn_input, or with zero_copy the same bytes through
 * iotls_conn_input_space / iotls_conn_input_commit (what the blocking API
 * does), which must take them exactly as iotls_conn_input would. */
static inline int fuzz_input(iotls_conn *c, int zero_copy, const uint8_t *data, size_t len,
                             size_t *used)
{
    if (!zero_copy)
        return iotls_conn_input(c, data, len, used);
    *used = 0;
    while (*used < len) {
        size_t cap = 0;
        uint8_t *space = iotls_conn_input_space(c, &cap);
        if (space == NULL) {
            FUZZ_REQUIRE(cap == 0);
            return iotls_conn_error(c);
        }
        FUZZ_REQUIRE(cap > 0 && cap <= 16384 + 256 + 5);
        size_t n = len - *used < cap ? len - *used : cap;
        memcpy(space, data + *used, n);
        *used += n;
        int rc = iotls_conn_input_commit(c, n);
        if (rc != IOTLS_OK)
            return rc;
    }
    return IOTLS_OK;
}

/* Bit 0 of chunk_seed (bit 1 of the selector) picks the zero-copy input
 * path for the whole stream. */
static inline void fuzz_feed(iotls_conn *c, const uint8_t *stream, size_t len, unsigned chunk_seed)
{
    int zero_copy = (int)(chunk_seed & 1u);
    fuzz_rng chunks = {chunk_seed};
    size_t pos = 0;
    int answered = 0;
    while (pos < len) {
        size_t chunk = len - pos;
        if (chunk_seed != 0) {
            /* Mostly small pieces (header splits), sometimes large ones. */
            uint64_t r = fuzz_rng_next(&chunks);
            size_t want = (r & 3) == 0 ? 1 + (size_t)(r >> 8) % 4096 : 1 + (size_t)(r >> 8) % 64;
            if (want < chunk)
                chunk = want;
        }
        size_t end = pos + chunk;
        while (pos < end) {
            size_t used = 0;
            int rc = fuzz_input(c, zero_copy, stream + pos, end - pos, &used);
            FUZZ_REQUIRE(used <= end - pos);
            pos += used;
            int err = fuzz_service(c, &answered);
            if (rc != IOTLS_OK || err != 0) {
                /* An error from input is fatal, so it must be sticky. */
                FUZZ_REQUIRE(rc == IOTLS_OK || iotls_conn_error(c) != 0);
                return;
            }
            if (used == 0) {
                /* Stalled with output drained and data read: it takes no more. */
                rc = fuzz_input(c, zero_copy, stream + pos, end - pos, &used);
                pos += used;
                if (rc != IOTLS_OK || used == 0)
                    return;
            }
        }
    }
    if (iotls_conn_handshake_done(c) && iotls_conn_error(c) == 0) {
        iotls_conn_key_update(c, 1);
        iotls_conn_close(c);
        fuzz_service(c, &answered);
    }
}

/* Set FUZZ_VERBOSE=1 to see how far a seed gets (checking the corpus). */
static inline void fuzz_report(const char *who, iotls_conn *c)
{
    const char *v = getenv("FUZZ_VERBOSE");
    if (v && v[0] == '1') {
        fprintf(stderr, "%s: handshake_done=%d error=%d\n", who, iotls_conn_handshake_done(c),
                iotls_conn_error(c));
    }
}

#endif
