/* Certificates on OpenSSL 3: loading, chain verification with the iotls
 * policy (X509_STORE + X509_verify_cert, with X509_VERIFY_PARAM doing the
 * host name / IP address and serverAuth / clientAuth checks), and the
 * public-key operations on the peer's leaf (CertificateVerify, pinning).
 *
 * The verdicts and their precedence follow the mbedTLS backend (see
 * iotls__x509_verify below), so both providers give the same error for the
 * same chain. */
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <sys/stat.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "ossl_cert_cache.h"
#include "ossl.h"

/* Largest certificate file we read (a system CA bundle is ~200 KiB). */
#define MAX_FILE_SIZE (16u * 1024u * 1024u)

/* ---- files ---- */

int iotls__ossl_read_file(const char *path, uint8_t **data, size_t *len)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return IOTLS_ERR_KEY_LOAD;
    size_t cap = 4096, used = 0;
    uint8_t *buf = malloc(cap);
    int rc = IOTLS_OK;
    while (buf != NULL) {
        if (used + 1 >= cap) {
            if (cap >= MAX_FILE_SIZE) {
                rc = IOTLS_ERR_KEY_LOAD;
                break;
            }
            uint8_t *bigger = realloc(buf, cap * 2);
            if (bigger == NULL) {
                OPENSSL_cleanse(buf, used);
                free(buf);
                buf = NULL;
                break;
            }
            buf = bigger;
            cap *= 2;
        }
        size_t n = fread(buf + used, 1, cap - used - 1, f);
        used += n;
        if (n == 0) {
            if (ferror(f))
                rc = IOTLS_ERR_KEY_LOAD;
            break;
        }
    }
    fclose(f);
    if (buf == NULL)
        return IOTLS_ERR_NO_MEMORY;
    if (rc != IOTLS_OK) {
        OPENSSL_cleanse(buf, used);
        free(buf);
        return rc;
    }
    buf[used] = 0;
    *data = buf;
    *len = used;
    return IOTLS_OK;
}

/* ---- chain storage ---- */

void iotls__x509_init(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    memset(chain, 0, sizeof(*chain));
}

void iotls__x509_free(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->count; i++) {
        X509_free(chain->certs[i].x509);
        free(chain->certs[i].der);
    }
    free(chain->certs);
    X509_STORE_free(chain->store);
    iotls__x509_init(chain);
}

static X509 *leaf_of(const iotls_x509 *chain)
{
    return (chain != NULL && chain->count > 0) ? chain->certs[0].x509 : NULL;
}

static X509 *nth(const iotls_x509 *chain, size_t i)
{
    return (chain != NULL && i < chain->count) ? chain->certs[i].x509 : NULL;
}

size_t iotls__x509_count(const iotls_x509 *chain)
{
    return chain != NULL ? chain->count : 0;
}

/* Exactly one DER certificate, nothing before or after it. */
static X509 *parse_der(const uint8_t *der, size_t len)
{
    if (len > LONG_MAX)
        return NULL;
    const unsigned char *p = der;
    X509 *x = d2i_X509(NULL, &p, (long)len);
    /* OpenSSL decodes the public key lazily; mbedTLS refuses a certificate
     * whose key does not parse at once. Do the same, so a broken key is
     * bad_certificate with either provider. */
    if (x != NULL && (p != der + len || X509_get0_pubkey(x) == NULL)) {
        X509_free(x);
        x = NULL;
    }
    return x;
}

/* Appends x (taking it over) with a copy of its DER. */
static int append(iotls_x509 *chain, X509 *x, const uint8_t *der, size_t len)
{
    if (chain->store == NULL) {
        chain->store = X509_STORE_new();
        if (chain->store == NULL)
            goto nomem;
    }
    if (chain->count == chain->cap) {
        size_t cap = chain->cap ? chain->cap * 2 : 4;
        iotls_ossl_cert *bigger = realloc(chain->certs, cap * sizeof(*bigger));
        if (bigger == NULL)
            goto nomem;
        chain->certs = bigger;
        chain->cap = cap;
    }
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        goto nomem;
    memcpy(copy, der, len);
    /* The store keeps its own reference. A failure here (OpenSSL 3.0 also
     * accepts duplicates silently) only means the certificate cannot act
     * as a trust anchor: verification then fails closed. */
    if (X509_STORE_add_cert(chain->store, x) != 1)
        ERR_clear_error();
    chain->certs[chain->count].x509 = x;
    chain->certs[chain->count].der = copy;
    chain->certs[chain->count].der_len = len;
    chain->count++;
    return IOTLS_OK;

nomem:
    X509_free(x);
    return IOTLS_ERR_NO_MEMORY;
}

/* ---- parsed peer certificates, shared ----
 *
 * A client talking to the same servers (and a server to the same
 * clients) receives the same certificates over and over, and decoding
 * one costs OpenSSL 3.0 more than an ECDSA verification (d2i_X509 sets
 * up a provider decoder for the public key). So the last few peer
 * certificates stay parsed, keyed by their exact DER bytes: the same
 * bytes give the same X509 object, which is reference-counted and
 * meant to be shared between threads (OpenSSL's own stores do). Only
 * the parsing is saved: every connection still runs the whole of
 * X509_verify_cert, signatures, dates, names and purposes included.
 * IOTLS_OSSL_CERT_CACHE (ossl_cert_cache.h) is the number of slots; build
 * with -DIOTLS_OSSL_CERT_CACHE=0 to parse every time. */
#define CERT_CACHE_SLOTS (IOTLS_OSSL_CERT_CACHE > 0 ? IOTLS_OSSL_CERT_CACHE : 1)
#define CERT_CACHE_MAX_DER 8192u /* larger certificates are parsed every time */

typedef struct {
    uint8_t *der;
    size_t len;
    X509 *x509;
    uint64_t last_use; /* for evicting the least recently used */
} cert_cache_slot;

static CRYPTO_ONCE cert_cache_once = CRYPTO_ONCE_STATIC_INIT;
static CRYPTO_RWLOCK *cert_cache_lock;
static cert_cache_slot cert_cache[CERT_CACHE_SLOTS];
static uint64_t cert_cache_clock;
/* Turned off at run time by the bench (iotls__ossl_cert_cache_set_enabled);
 * counters for the tests. Relaxed atomics: nothing else is ordered by them. */
static atomic_int cert_cache_on = 1;
static atomic_ulong cert_parsed, cert_hits;

void iotls__ossl_cert_cache_set_enabled(int on)
{
    atomic_store_explicit(&cert_cache_on, on != 0, memory_order_relaxed);
}

int iotls__ossl_cert_cache_enabled(void)
{
    return IOTLS_OSSL_CERT_CACHE > 0 && atomic_load_explicit(&cert_cache_on, memory_order_relaxed);
}

void iotls__ossl_cert_cache_counts(unsigned long *parsed, unsigned long *hits)
{
    if (parsed)
        *parsed = atomic_load_explicit(&cert_parsed, memory_order_relaxed);
    if (hits)
        *hits = atomic_load_explicit(&cert_hits, memory_order_relaxed);
}

/* parse_der of a peer certificate, counted. */
static X509 *parse_peer_der(const uint8_t *der, size_t len)
{
    atomic_fetch_add_explicit(&cert_parsed, 1, memory_order_relaxed);
    return parse_der(der, len);
}

/* Run by OPENSSL_cleanup (at exit), before libcrypto goes away. */
static void cert_cache_cleanup(void)
{
    for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
        X509_free(cert_cache[i].x509);
        free(cert_cache[i].der);
        memset(&cert_cache[i], 0, sizeof(cert_cache[i]));
    }
    CRYPTO_THREAD_lock_free(cert_cache_lock);
    cert_cache_lock = NULL;
}

static void cert_cache_setup(void)
{
    cert_cache_lock = CRYPTO_THREAD_lock_new();
    if (cert_cache_lock != NULL && OPENSSL_atexit(cert_cache_cleanup) != 1) {
        /* Without the clean-up the cache would look like a leak: go
         * without it. */
        CRYPTO_THREAD_lock_free(cert_cache_lock);
        cert_cache_lock = NULL;
    }
}

/* A new reference to the cached X509 of exactly these bytes, or NULL. */
static X509 *cert_cache_get(const uint8_t *der, size_t len)
{
    X509 *found = NULL;
    if (CRYPTO_THREAD_write_lock(cert_cache_lock) != 1)
        return NULL;
    for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
        cert_cache_slot *s = &cert_cache[i];
        if (s->x509 != NULL && s->len == len && memcmp(s->der, der, len) == 0) {
            if (X509_up_ref(s->x509) == 1) {
                found = s->x509;
                s->last_use = ++cert_cache_clock;
            }
            break;
        }
    }
    CRYPTO_THREAD_unlock(cert_cache_lock);
    return found;
}

/* Remembers x (a new reference of the cache's own) for these bytes. A
 * failure only means the next connection parses again. */
static void cert_cache_put(X509 *x, const uint8_t *der, size_t len)
{
    uint8_t *copy = malloc(len);
    if (copy == NULL)
        return;
    memcpy(copy, der, len);
    if (CRYPTO_THREAD_write_lock(cert_cache_lock) != 1) {
        free(copy);
        return;
    }
    cert_cache_slot *victim = &cert_cache[0];
    for (size_t i = 0; i < CERT_CACHE_SLOTS; i++) {
        cert_cache_slot *s = &cert_cache[i];
        if (s->x509 != NULL && s->len == len && memcmp(s->der, der, len) == 0) {
            victim = NULL; /* another thread was first */
            break;
        }
        if (s->x509 == NULL || (victim->x509 != NULL && s->last_use < victim->last_use))
            victim = s;
    }
    if (victim != NULL && X509_up_ref(x) == 1) {
        X509 *old = victim->x509;
        uint8_t *old_der = victim->der;
        victim->x509 = x;
        victim->der = copy;
        victim->len = len;
        victim->last_use = ++cert_cache_clock;
        copy = NULL;
        /* Connections still holding the old one keep their reference. */
        X509_free(old);
        free(old_der);
    }
    CRYPTO_THREAD_unlock(cert_cache_lock);
    free(copy);
}

/* parse_der, through the cache. */
static X509 *parse_der_cached(const uint8_t *der, size_t len)
{
    if (!iotls__ossl_cert_cache_enabled() || len > CERT_CACHE_MAX_DER)
        return parse_peer_der(der, len);
    (void)CRYPTO_THREAD_run_once(&cert_cache_once, cert_cache_setup);
    if (cert_cache_lock == NULL)
        return parse_peer_der(der, len);
    X509 *x = cert_cache_get(der, len);
    if (x != NULL) {
        atomic_fetch_add_explicit(&cert_hits, 1, memory_order_relaxed);
        return x;
    }
    x = parse_peer_der(der, len);
    /* OpenSSL fills in the extension cache (key identifiers, usages, ...)
     * on first use; doing it here, before the object is shared, leaves
     * the other threads nothing to write. A certificate whose extensions
     * do not decode is not shared at all (verification refuses it). */
    if (x != NULL && X509_check_purpose(x, -1, 0) == 1)
        cert_cache_put(x, der, len);
    ERR_clear_error();
    return x;
}

int iotls__x509_add_der(iotls_x509 *chain, const uint8_t *der, size_t len)
{
    if (chain == NULL || der == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    /* Peer certificates come this way, one connection after another. */
    X509 *x = parse_der_cached(der, len);
    if (x == NULL) {
        ERR_clear_error();
        return IOTLS_ERR_BAD_CERTIFICATE;
    }
    return append(chain, x, der, len);
}

/* Certificates parsed from one buffer, waiting to be appended together so
 * that a file or buffer is added whole or not at all. */
typedef struct {
    X509 **x;
    uint8_t **der;
    size_t *len;
    size_t count, cap;
} pending;

static void pending_free(pending *p)
{
    for (size_t i = 0; i < p->count; i++) {
        X509_free(p->x[i]);
        OPENSSL_free(p->der[i]);
    }
    free(p->x);
    free(p->der);
    free(p->len);
    memset(p, 0, sizeof(*p));
}

/* Takes over x and der (OPENSSL_malloc'ed). */
static int pending_add(pending *p, X509 *x, uint8_t *der, size_t len)
{
    if (p->count == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 8;
        X509 **nx = realloc(p->x, cap * sizeof(*nx));
        if (nx != NULL)
            p->x = nx;
        uint8_t **nd = realloc(p->der, cap * sizeof(*nd));
        if (nd != NULL)
            p->der = nd;
        size_t *nl = realloc(p->len, cap * sizeof(*nl));
        if (nl != NULL)
            p->len = nl;
        if (nx == NULL || nd == NULL || nl == NULL) {
            X509_free(x);
            OPENSSL_free(der);
            return IOTLS_ERR_NO_MEMORY;
        }
        p->cap = cap;
    }
    p->x[p->count] = x;
    p->der[p->count] = der;
    p->len[p->count] = len;
    p->count++;
    return IOTLS_OK;
}

/* A key iotls can verify with: RSA, RSA-PSS or EC, what mbedTLS parses
 * (it refuses an Ed25519 or DSA certificate at once; OpenSSL parses them). */
static int key_usable(X509 *x)
{
    EVP_PKEY *key = X509_get0_pubkey(x);
    int type = key != NULL ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE;
    return type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS || type == EVP_PKEY_EC;
}

/* Every CERTIFICATE block of a PEM buffer (other blocks, such as keys, are
 * skipped, as mbedTLS does). Without skipped, any block that does not
 * decode or parse fails the whole buffer; with it (trust anchors), such a
 * block and a certificate without a usable key are counted there instead.
 * A buffer without a certificate fails either way. */
static int parse_pem(const uint8_t *data, size_t len, pending *out, size_t *skipped)
{
    if (len > INT_MAX)
        return IOTLS_ERR_BAD_CERTIFICATE;
    BIO *bio = BIO_new_mem_buf(data, (int)len);
    if (bio == NULL)
        return IOTLS_ERR_NO_MEMORY;
    int rc = IOTLS_OK;
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long der_len = 0;
        size_t left = BIO_ctrl_pending(bio);
        ERR_set_mark();
        if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
            unsigned long e = ERR_peek_last_error();
            ERR_pop_to_mark();
            /* No further BEGIN line is the normal end of the buffer. */
            if (ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)
                break;
            /* A block that does not decode: the reader has moved past it
             * (else it would come back forever). */
            if (skipped != NULL && BIO_ctrl_pending(bio) < left) {
                (*skipped)++;
                continue;
            }
            rc = IOTLS_ERR_BAD_CERTIFICATE;
            break;
        }
        ERR_pop_to_mark();
        int is_cert = strcmp(name, PEM_STRING_X509) == 0 || strcmp(name, PEM_STRING_X509_OLD) == 0;
        OPENSSL_free(name);
        OPENSSL_free(header);
        if (!is_cert) {
            OPENSSL_free(der);
            continue;
        }
        X509 *x = der_len > 0 ? parse_der(der, (size_t)der_len) : NULL;
        if (skipped != NULL && (x == NULL || !key_usable(x))) {
            X509_free(x);
            OPENSSL_free(der);
            (*skipped)++;
            continue;
        }
        if (x == NULL) {
            OPENSSL_free(der);
            rc = IOTLS_ERR_BAD_CERTIFICATE;
            break;
        }
        rc = pending_add(out, x, der, (size_t)der_len);
        if (rc != IOTLS_OK)
            break;
    }
    BIO_free(bio);
    if (rc == IOTLS_OK && out->count == 0)
        rc = IOTLS_ERR_BAD_CERTIFICATE;
    return rc;
}

static int parse_any(const uint8_t *data, size_t len, pending *out, size_t *skipped)
{
    if (iotls__common_looks_pem(data, len))
        return parse_pem(data, len, out, skipped);
    X509 *x = parse_der(data, len);
    if (x != NULL && skipped != NULL && !key_usable(x)) {
        X509_free(x); /* the only certificate: nothing usable */
        x = NULL;
    }
    if (x == NULL)
        return IOTLS_ERR_BAD_CERTIFICATE;
    uint8_t *copy = OPENSSL_malloc(len);
    if (copy == NULL) {
        X509_free(x);
        return IOTLS_ERR_NO_MEMORY;
    }
    memcpy(copy, data, len);
    return pending_add(out, x, copy, len);
}

static int append_all(iotls_x509 *chain, pending *p)
{
    int rc = IOTLS_OK;
    for (size_t i = 0; i < p->count; i++) {
        X509 *x = p->x[i];
        p->x[i] = NULL; /* append takes it over, also on failure */
        if (rc == IOTLS_OK)
            rc = append(chain, x, p->der[i], p->len[i]);
        else
            X509_free(x);
    }
    return rc;
}

/* The provider hooks of crypto_common.h: the iotls__x509_load_* entry
 * points (common/x509_load.c) parse through these. skipped is set to 0
 * first. */
int iotls__x509_parse_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped)
{
    if (skipped != NULL)
        *skipped = 0;
    if (chain == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    pending p;
    memset(&p, 0, sizeof(p));
    int rc = parse_any(data, len, &p, skipped);
    ERR_clear_error();
    if (rc == IOTLS_OK)
        rc = append_all(chain, &p);
    pending_free(&p);
    return rc;
}

int iotls__x509_parse_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    if (skipped != NULL)
        *skipped = 0;
    if (chain == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = iotls__ossl_read_file(path, &data, &len);
    if (rc != IOTLS_OK)
        return rc;
    rc = len > 0 ? iotls__x509_parse_mem(chain, data, len, skipped) : IOTLS_ERR_BAD_CERTIFICATE;
    free(data);
    return rc;
}

int iotls__x509_load_dir(iotls_x509 *chain, const char *dir, size_t *skipped)
{
    if (skipped != NULL)
        *skipped = 0;
    if (chain == NULL || dir == NULL)
        return IOTLS_ERR_BAD_ARG;
    DIR *d = opendir(dir);
    if (d == NULL)
        return IOTLS_ERR_KEY_LOAD;
    /* A system CA directory holds files that are not certificates (links,
     * READMEs, CRLs): keep whatever parses, fail only when nothing did. */
    size_t before = chain->count;
    int rc = IOTLS_OK;
    struct dirent *e;
    while (rc == IOTLS_OK && (e = readdir(d)) != NULL) {
        char path[4096];
        struct stat st;
        int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (n < 0 || (size_t)n >= sizeof(path))
            continue;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        /* Counted as mbedtls_x509_crt_parse_path counts: the certificates
         * skipped in a file, or the file when nothing in it loaded. */
        size_t in_file = 0;
        int one = iotls__x509_parse_file(chain, path, &in_file);
        if (one == IOTLS_ERR_NO_MEMORY)
            rc = one;
        else if (skipped != NULL)
            *skipped += one == IOTLS_OK ? in_file : 1;
    }
    closedir(d);
    if (rc != IOTLS_OK)
        return rc;
    return chain->count > before ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
}

int iotls__x509_der(const iotls_x509 *chain, size_t i, const uint8_t **der, size_t *len)
{
    if (der == NULL || len == NULL || chain == NULL || i >= chain->count)
        return IOTLS_ERR_BAD_ARG;
    *der = chain->certs[i].der;
    *len = chain->certs[i].der_len;
    return IOTLS_OK;
}

/* ---- the key profile (before any signature) ---- */

/* The public exponent of an RSA key, when it fits in 64 bits. */
static int rsa_exponent(const EVP_PKEY *key, uint64_t *e)
{
    BIGNUM *bn = NULL;
    unsigned char be[8];
    int fits = EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &bn) == 1 &&
               BN_num_bits(bn) <= 64 && BN_bn2binpad(bn, be, (int)sizeof be) == (int)sizeof be;
    BN_free(bn);
    if (!fits)
        return 0;
    *e = 0;
    for (size_t i = 0; i < sizeof be; i++)
        *e = *e << 8 | be[i];
    return 1;
}

/* IOTLS_KEY_OK when key is inside the profile of iotls__x509_check_keys,
 * else an IOTLS_KEY_* saying why not. OpenSSL on its own refuses only exponents above 64 bits with
 * moduli above 3072 bits (and moduli above 16384 bits). */
static int key_problem(const EVP_PKEY *key, unsigned max_rsa_bits)
{
    int type = key != NULL ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE;
    if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS) {
        uint64_t e = 0;
        int fits = rsa_exponent(key, &e);
        int bits = EVP_PKEY_get_bits(key);
        return iotls__common_rsa_key_problem(bits > 0 ? (size_t)bits : 0, fits, e, max_rsa_bits);
    }
    if (type == EVP_PKEY_EC)
        return iotls__ossl_ec_group_is(key, "P-256") || iotls__ossl_ec_group_is(key, "P-384")
                   ? IOTLS_KEY_OK
                   : IOTLS_KEY_EC_CURVE;
    return IOTLS_KEY_OTHER_TYPE;
}

/* iotls__x509_check_keys with the refused key's index and problem in why. */
static int check_keys(const iotls_x509 *chain, unsigned max_rsa_bits, iotls_x509_why *why)
{
    if (chain == NULL)
        return IOTLS_ERR_BAD_ARG;
    int rc = IOTLS_OK;
    for (size_t i = 0; i < chain->count && rc == IOTLS_OK; i++) {
        int problem = key_problem(X509_get0_pubkey(chain->certs[i].x509), max_rsa_bits);
        if (problem != IOTLS_KEY_OK) {
            why->reason = IOTLS_WHY_KEY_REFUSED;
            why->index = i;
            why->key_problem = problem;
            rc = IOTLS_ERR_CERT_KEY_REFUSED;
        }
    }
    ERR_clear_error();
    return rc;
}

int iotls__x509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits)
{
    iotls_x509_why why;
    return check_keys(chain, max_rsa_bits, &why);
}

/* ---- verification ---- */

/* What went wrong, in the categories the mbedTLS backend's flags map to. */
enum {
    VF_UNTRUSTED = 1 << 0, /* no path to a trust anchor (incl. bad signatures) */
    VF_EXPIRED = 1 << 1,
    VF_FUTURE = 1 << 2,
    VF_REVOKED = 1 << 3,
    VF_BAD_KEY = 1 << 4, /* key type or size outside the profile */
    VF_OTHER = 1 << 5,   /* anything else wrong with the chain (e.g. SHA-1) */
    VF_PURPOSE = 1 << 6, /* serverAuth / clientAuth / key usage */
    VF_HOST = 1 << 7,
    VF_FATAL = 1 << 8, /* out of memory and the like: verification aborted */
    VF_CRL = 1 << 9,   /* a CRL that cannot decide (expired, bad signature, missing) */
};
#define VF_COUNT 10

typedef struct {
    unsigned flags;
    int err[VF_COUNT];   /* the first X509_V_ERR_* seen in each category */
    int depth[VF_COUNT]; /* ... and where in the chain */
    char revoked[320];   /* the detail naming the first revoked certificate */
    int is_server_cert;  /* the chain's role, for that detail's words */
} verify_state;

static int dn_text(const X509_NAME *dn, char *out, size_t cap);

static unsigned classify(int err)
{
    switch (err) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_UNTRUSTED:
    case X509_V_ERR_CERT_REJECTED:
    /* mbedTLS does not accept a parent whose signature does not verify, that
     * is no CA, may not sign certificates or whose path length is exceeded:
     * all of them leave the chain without a trusted root. */
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_NO_ISSUER_PUBLIC_KEY:
    case X509_V_ERR_INVALID_CA:
    case X509_V_ERR_KEYUSAGE_NO_CERTSIGN:
    case X509_V_ERR_PATH_LENGTH_EXCEEDED:
    case X509_V_ERR_CERT_CHAIN_TOO_LONG:
        return VF_UNTRUSTED;
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return VF_EXPIRED;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return VF_FUTURE;
    case X509_V_ERR_CERT_REVOKED:
        return VF_REVOKED;
    case X509_V_ERR_UNABLE_TO_GET_CRL:
    case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CRL_SIGNATURE:
    case X509_V_ERR_CRL_SIGNATURE_FAILURE:
    case X509_V_ERR_CRL_NOT_YET_VALID:
    case X509_V_ERR_CRL_HAS_EXPIRED:
    case X509_V_ERR_ERROR_IN_CRL_LAST_UPDATE_FIELD:
    case X509_V_ERR_ERROR_IN_CRL_NEXT_UPDATE_FIELD:
    case X509_V_ERR_KEYUSAGE_NO_CRL_SIGN:
    case X509_V_ERR_UNHANDLED_CRITICAL_CRL_EXTENSION:
    case X509_V_ERR_DIFFERENT_CRL_SCOPE:
    case X509_V_ERR_CRL_PATH_VALIDATION_ERROR:
        return VF_CRL;
    case X509_V_ERR_EE_KEY_TOO_SMALL:
    case X509_V_ERR_CA_KEY_TOO_SMALL:
        return VF_BAD_KEY;
    case X509_V_ERR_INVALID_PURPOSE:
    case X509_V_ERR_KEYUSAGE_NO_DIGITAL_SIGNATURE:
        return VF_PURPOSE;
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
    case X509_V_ERR_EMAIL_MISMATCH:
        return VF_HOST;
    case X509_V_ERR_OUT_OF_MEM:
        return VF_FATAL;
    default:
        return VF_OTHER;
    }
}

static void note(verify_state *st, unsigned category, int err, int depth)
{
    for (int i = 0; i < VF_COUNT; i++) {
        if (category == (1u << i) && !(st->flags & category)) {
            st->err[i] = err;
            st->depth[i] = depth;
        }
    }
    st->flags |= category;
}

/* Called by OpenSSL for every problem it finds. Recording it and going on
 * lets one run see all of them, so the verdict can follow the mbedTLS
 * backend's precedence rather than OpenSSL's order of checks. */
static int collect_cb(int ok, X509_STORE_CTX *sctx)
{
    if (ok)
        return 1;
    verify_state *st = X509_STORE_CTX_get_app_data(sctx);
    int err = X509_STORE_CTX_get_error(sctx);
    int depth = X509_STORE_CTX_get_error_depth(sctx);
    /* The policy (crypto.h) wants a CRL from the leaf's issuer only; a CA
     * above is checked when its issuer's CRL is there. */
    if (err == X509_V_ERR_UNABLE_TO_GET_CRL && depth > 0)
        return 1;
    unsigned category = classify(err);
    if (category == VF_REVOKED && !(st->flags & VF_REVOKED)) {
        X509 *x = X509_STORE_CTX_get_current_cert(sctx);
        X509 *leaf = X509_STORE_CTX_get0_cert(sctx);
        const ASN1_INTEGER *serial = x != NULL ? X509_get0_serialNumber(x) : NULL;
        char leaf_subject[160], subject[160], issuer[160];
        int named =
            x != NULL && serial != NULL &&
            dn_text(X509_get_subject_name(x), subject, sizeof subject) == IOTLS_OK &&
            dn_text(X509_get_issuer_name(x), issuer, sizeof issuer) == IOTLS_OK &&
            (depth == 0 || (leaf != NULL && dn_text(X509_get_subject_name(leaf), leaf_subject,
                                                    sizeof leaf_subject) == IOTLS_OK));
        iotls__common_revoked_detail(
            st->revoked, sizeof st->revoked, st->is_server_cert, depth == 0 ? NULL : leaf_subject,
            named ? subject : NULL, named ? ASN1_STRING_get0_data(serial) : NULL,
            named ? (size_t)ASN1_STRING_length(serial) : 0, named ? issuer : NULL);
    }
    note(st, category, err, depth);
    return category == VF_FATAL ? 0 : 1;
}

static int index_of(unsigned category)
{
    for (int i = 0; i < VF_COUNT; i++) {
        if (category == (1u << i))
            return i;
    }
    return 0;
}

/* Our own codes next to X509_V_ERR_* in verify_state.err (all of those
 * are >= 0). */
#define PROFILE_KEY (-1)       /* key type, size or curve outside the profile */
#define PROFILE_SIGNATURE (-2) /* signature algorithm outside the profile */

/* The iotls profile, as the mbedTLS backend's mbedtls_x509_crt_profile:
 * keys RSA >= 2048 bits or EC on P-256 / P-384 everywhere in the chain;
 * signatures (except the trust anchor's own) ECDSA, RSA or RSA-PSS with
 * SHA-256/384/512. OpenSSL only checks these with a security level, which
 * does not give the same verdicts. */
static void check_profile(verify_state *st, STACK_OF(X509) * built, int anchored)
{
    int n = built != NULL ? sk_X509_num(built) : 0;
    for (int i = 0; i < n; i++) {
        X509 *x = sk_X509_value(built, i);
        EVP_PKEY *key = X509_get0_pubkey(x);
        int type = key != NULL ? EVP_PKEY_get_base_id(key) : EVP_PKEY_NONE;
        int key_ok = 0;
        if (type == EVP_PKEY_RSA || type == EVP_PKEY_RSA_PSS)
            key_ok = EVP_PKEY_get_bits(key) >= 2048;
        else if (type == EVP_PKEY_EC)
            key_ok = iotls__ossl_ec_group_is(key, "P-256") || iotls__ossl_ec_group_is(key, "P-384");
        if (!key_ok)
            note(st, VF_BAD_KEY, PROFILE_KEY, i);

        if (anchored && i == n - 1)
            break; /* nobody vouches for the anchor's self-signature */
        int md_nid = NID_undef, pk_nid = NID_undef;
        if (X509_get_signature_info(x, &md_nid, &pk_nid, NULL, NULL) != 1) {
            note(st, VF_OTHER, PROFILE_SIGNATURE, i);
            continue;
        }
        if (pk_nid != EVP_PKEY_RSA && pk_nid != EVP_PKEY_RSA_PSS && pk_nid != EVP_PKEY_EC)
            note(st, VF_BAD_KEY, PROFILE_SIGNATURE, i);
        if (md_nid != NID_sha256 && md_nid != NID_sha384 && md_nid != NID_sha512)
            note(st, VF_OTHER, PROFILE_SIGNATURE, i);
    }
}

/* "what: OpenSSL's reason (certificate N)" for the first error of a
 * category. */
static void detail_for(const verify_state *st, unsigned category, const char *what, char *detail,
                       size_t cap)
{
    if (detail == NULL || cap == 0)
        return;
    int i = index_of(category);
    char more[160];
    const char *reason = st->err[i] == PROFILE_KEY ? "key outside the iotls profile"
                         : st->err[i] == PROFILE_SIGNATURE
                             ? "signature algorithm outside the iotls profile"
                             : X509_verify_cert_error_string(st->err[i]);
    snprintf(more, sizeof(more), "%s (certificate %d of the chain)", reason, st->depth[i]);
    iotls__common_set_detail(detail, cap, what, more);
}

/* Sets up the host or IP address OpenSSL checks. 0 on success, -1 when the
 * name can never match (empty), -2 on an OpenSSL failure. */
static int set_peer_name(X509_VERIFY_PARAM *param, const char *host)
{
    uint8_t ip[16];
    size_t ip_len = iotls__common_parse_ip(host, ip);
    if (ip_len != 0)
        return X509_VERIFY_PARAM_set1_ip(param, ip, ip_len) == 1 ? 0 : -2;
    size_t hlen = iotls__common_host_len(host);
    if (hlen == 0)
        return -1; /* OpenSSL would take an empty name as "no check" */
    /* RFC 6125 6.4.3: a wildcard stands for one whole left-most label. */
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    return X509_VERIFY_PARAM_set1_host(param, host, hlen) == 1 ? 0 : -2;
}

/* Runs X509_verify_cert with the policy against store and collects every
 * problem into st. *leaf_anchor becomes 1 when the leaf itself was found
 * in the store (and so trusted) although it is not self-signed.
 * IOTLS_OK when it ran (whatever the verdict). */
static int run_verify(const iotls_x509 *chain, const iotls_x509_policy *policy, X509_STORE *store,
                      verify_state *st, int *leaf_anchor)
{
    *leaf_anchor = 0;
    st->is_server_cert = policy->is_server_cert;
    X509_STORE_CTX *sctx = X509_STORE_CTX_new();
    STACK_OF(X509) *untrusted = sk_X509_new_null();
    int rc = IOTLS_ERR_NO_MEMORY;
    if (sctx == NULL || untrusted == NULL)
        goto out;
    for (size_t i = 1; i < chain->count; i++) {
        if (!sk_X509_push(untrusted, chain->certs[i].x509))
            goto out;
    }
    if (X509_STORE_CTX_init(sctx, store, chain->certs[0].x509, untrusted) != 1)
        goto out;
    rc = IOTLS_ERR_BAD_CERTIFICATE;
    X509_VERIFY_PARAM *param = X509_STORE_CTX_get0_param(sctx);
    /* Any certificate in the trust list is an anchor, as in mbedTLS (an
     * intermediate may be trusted directly). */
    X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_PARTIAL_CHAIN);
    if (iotls__crl_count(policy->crl) > 0) {
        /* The CRLs go with this verification only; the store stays the
         * CA chain's. */
        X509_STORE_CTX_set0_crls(sctx, policy->crl->crls);
        X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL);
    }
    if (policy->now != 0)
        X509_VERIFY_PARAM_set_time(param, (time_t)policy->now);
    if (X509_STORE_CTX_set_purpose(sctx, policy->is_server_cert ? X509_PURPOSE_SSL_SERVER
                                                                : X509_PURPOSE_SSL_CLIENT) != 1)
        goto out;
    if (policy->host != NULL) {
        int name = set_peer_name(param, policy->host);
        if (name == -2)
            goto out;
        if (name == -1)
            note(st, VF_HOST, X509_V_ERR_HOSTNAME_MISMATCH, 0);
    }
    X509_STORE_CTX_set_app_data(sctx, st);
    X509_STORE_CTX_set_verify_cb(sctx, collect_cb);

    int ok = X509_verify_cert(sctx);
    if (st->flags & VF_FATAL) {
        rc = IOTLS_ERR_NO_MEMORY;
        goto out;
    }
    if (ok != 1 && st->flags == 0) {
        /* Refused without telling the callback why. */
        note(st, VF_OTHER, X509_STORE_CTX_get_error(sctx), X509_STORE_CTX_get_error_depth(sctx));
    }
    STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(sctx);
    check_profile(st, built, !(st->flags & VF_UNTRUSTED));
    /* No untrusted certificate in the chain: the leaf itself was taken
     * from the store. */
    if (!(st->flags & VF_UNTRUSTED) && X509_STORE_CTX_get_num_untrusted(sctx) == 0 &&
        X509_self_signed(chain->certs[0].x509, 0) != 1)
        *leaf_anchor = 1;
    rc = IOTLS_OK;

out:
    sk_X509_free(untrusted); /* the certificates stay the chain's */
    X509_STORE_CTX_free(sctx);
    ERR_clear_error();
    return rc;
}

/* A store of trust's certificates except those equal to leaf. */
static X509_STORE *store_without(const iotls_x509 *trust, X509 *leaf)
{
    X509_STORE *store = X509_STORE_new();
    for (size_t i = 0; store != NULL && i < trust->count; i++) {
        if (X509_cmp(trust->certs[i].x509, leaf) != 0 &&
            X509_STORE_add_cert(store, trust->certs[i].x509) != 1)
            ERR_clear_error(); /* as in append(): fails closed */
    }
    return store;
}

/* Verdicts, in the mbedTLS backend's order: the presented keys (before
 * any signature work), trust, validity, revocation,
 * key profile, other chain faults, then the leaf's key usage, its
 * serverAuth / clientAuth purpose, and last the host name. */
/* The verdict with its text written as it is found (detail may be NULL):
 * this provider serves gateways, where the words cost nothing that
 * matters, so its verdict and explanation stay one path. */
static int verify(const iotls_x509 *chain, const iotls_x509_policy *policy, char *detail,
                  size_t detail_cap)
{
    if (detail != NULL && detail_cap > 0)
        detail[0] = '\0';
    iotls_x509_why why;
    int rc = iotls__common_verify_start(chain, policy, &why);
    if (rc == IOTLS_OK)
        rc = check_keys(chain, policy->max_rsa_bits, &why);
    if (rc != IOTLS_OK) {
        (void)iotls__common_explain(chain, policy, &why, detail, detail_cap);
        return rc;
    }
    X509 *leaf = leaf_of(chain);

    verify_state st;
    memset(&st, 0, sizeof(st));
    int leaf_anchor = 0;
    rc = run_verify(chain, policy, policy->trust->store, &st, &leaf_anchor);
    if (rc == IOTLS_OK && leaf_anchor) {
        /* With X509_V_FLAG_PARTIAL_CHAIN OpenSSL stops at a leaf found in
         * the trust list. mbedTLS trusts a leaf directly only when it is
         * self-signed; any other leaf needs a path to a CA. So look again
         * without the leaf among the anchors. */
        X509_STORE *others = store_without(policy->trust, chain->certs[0].x509);
        memset(&st, 0, sizeof(st));
        rc = others != NULL ? run_verify(chain, policy, others, &st, &leaf_anchor)
                            : IOTLS_ERR_NO_MEMORY;
        X509_STORE_free(others);
    }
    if (rc != IOTLS_OK) {
        iotls__common_set_detail(detail, detail_cap, "certificate chain could not be verified",
                                 NULL);
        return rc;
    }

    if (st.flags & VF_UNTRUSTED) {
        detail_for(&st, VF_UNTRUSTED, "certificate chain does not lead to a trusted CA", detail,
                   detail_cap);
        return IOTLS_ERR_CERT_UNKNOWN_CA;
    }
    if (st.flags & (VF_EXPIRED | VF_FUTURE)) {
        if (st.flags & VF_EXPIRED)
            detail_for(&st, VF_EXPIRED, "certificate has expired", detail, detail_cap);
        else
            detail_for(&st, VF_FUTURE, "certificate is not yet valid", detail, detail_cap);
        return IOTLS_ERR_CERT_EXPIRED;
    }
    /* A verdict from a CRL that cannot be used is not trusted. */
    if (st.flags & VF_CRL) {
        char issuer[160], more[240];
        if (st.err[index_of(VF_CRL)] == X509_V_ERR_UNABLE_TO_GET_CRL &&
            dn_text(X509_get_issuer_name(leaf), issuer, sizeof issuer) == IOTLS_OK) {
            /* Worded as the Mbed TLS providers word it. */
            snprintf(more, sizeof more, "none is loaded from '%s', the certificate's issuer",
                     issuer);
            iotls__common_set_detail(detail, detail_cap, "no CRL to check the certificate against",
                                     more);
        } else {
            detail_for(&st, VF_CRL, "a CRL cannot be used", detail, detail_cap);
        }
        return IOTLS_ERR_CRL_UNUSABLE;
    }
    if (st.flags & VF_REVOKED) {
        if (detail != NULL && detail_cap > 0)
            snprintf(detail, detail_cap, "%s", st.revoked);
        return IOTLS_ERR_CERT_REVOKED;
    }
    if (st.flags & VF_BAD_KEY) {
        /* error.h: unsupported_certificate covers key types we refuse. */
        detail_for(&st, VF_BAD_KEY,
                   "a certificate in the chain has a key type or size we do not accept", detail,
                   detail_cap);
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (st.flags & VF_OTHER) {
        detail_for(&st, VF_OTHER, "certificate chain is not acceptable", detail, detail_cap);
        return IOTLS_ERR_BAD_CERTIFICATE;
    }

    /* TLS 1.3 signs with the leaf key: it needs digitalSignature (RFC 8446
     * 4.4.2.2), which OpenSSL's TLS purposes do not insist on (they also
     * take keyEncipherment). Passes when the extension is absent. */
    if (!(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE)) {
        iotls__common_set_detail(detail, detail_cap, "certificate key usage lacks digitalSignature",
                                 NULL);
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (st.flags & VF_PURPOSE) {
        if (st.depth[index_of(VF_PURPOSE)] == 0)
            iotls__common_set_detail(detail, detail_cap,
                                     policy->is_server_cert
                                         ? "certificate is not for TLS servers (no serverAuth)"
                                         : "certificate is not for TLS clients (no clientAuth)",
                                     NULL);
        else
            detail_for(&st, VF_PURPOSE, "a certificate in the chain may not be used for this",
                       detail, detail_cap);
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (st.flags & VF_HOST) {
        iotls__common_host_detail(chain, policy->host, detail, detail_cap);
        return IOTLS_ERR_CERT_HOSTNAME;
    }
    if (st.flags != 0) {
        iotls__common_set_detail(detail, detail_cap, "certificate chain is not acceptable", NULL);
        return IOTLS_ERR_BAD_CERTIFICATE;
    }
    return IOTLS_OK;
}

int iotls__x509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy)
{
    return verify(chain, policy, NULL, 0);
}

int iotls__x509_verify_explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                               char *detail, size_t detail_cap)
{
    return verify(chain, policy, detail, detail_cap);
}

/* ---- the leaf's public key ---- */

int iotls__x509_key_fits(const iotls_x509 *chain, uint16_t scheme)
{
    iotls_ossl_scheme s;
    X509 *leaf = leaf_of(chain);
    if (leaf == NULL || iotls__ossl_scheme_info(scheme, &s) != 0)
        return 0;
    EVP_PKEY *key = X509_get0_pubkey(leaf);
    if (key == NULL)
        return 0;
    if (s.curve != NULL)
        return iotls__ossl_ec_group_is(key, s.curve);
    return EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
}

int iotls__x509_verify_signature(const iotls_x509 *chain, uint16_t scheme, const uint8_t *msg,
                                 size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    iotls_ossl_scheme s;
    X509 *leaf = leaf_of(chain);
    if (leaf == NULL || (msg == NULL && msg_len != 0) || (sig == NULL && sig_len != 0))
        return IOTLS_ERR_BAD_ARG;
    /* rsa_pkcs1_* never appear in a TLS 1.3 CertificateVerify. */
    if (iotls__ossl_scheme_info(scheme, &s) != 0 || s.rsa_pkcs1 ||
        !iotls__x509_key_fits(chain, scheme))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sig_len == 0)
        return IOTLS_ERR_DECRYPT_ERROR;

    static const unsigned char empty[1] = {0};
    const EVP_MD *md = iotls__ossl_md(s.hash);
    EVP_MD_CTX *mctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL; /* owned by mctx */
    if (mctx == NULL)
        return IOTLS_ERR_NO_MEMORY;
    int rc = IOTLS_ERR_CRYPTO;
    if (EVP_DigestVerifyInit(mctx, &pctx, md, NULL, X509_get0_pubkey(leaf)) != 1)
        goto out;
    if (s.rsa_pss) {
        /* RFC 8446 4.2.3: MGF1 with the scheme's hash and a salt exactly as
         * long as the digest; any other salt length is a bad signature. */
        if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
            EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
            EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) != 1)
            goto out;
    }
    /* Any verdict but 1 is a bad signature: wrong key, altered data, a
     * malformed or over-long encoding (OpenSSL re-encodes an ECDSA
     * signature and refuses trailing bytes). */
    rc = EVP_DigestVerify(mctx, sig, sig_len, msg_len != 0 ? msg : empty, msg_len) == 1
             ? IOTLS_OK
             : IOTLS_ERR_DECRYPT_ERROR;

out:
    ERR_clear_error();
    EVP_MD_CTX_free(mctx);
    return rc;
}

int iotls__x509_spki_sha256(const iotls_x509 *chain, uint8_t out[32])
{
    X509 *leaf = leaf_of(chain);
    if (leaf == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    unsigned char *der = NULL;
    int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &der);
    if (n <= 0) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    int rc = iotls__hash(IOTLS_HASH_SHA256, der, (size_t)n, out);
    OPENSSL_free(der);
    return rc;
}

/* "CN=device-1, O=example": short names, in certificate order, ", "
 * between RDNs, control characters and RFC 2253 specials escaped. */
static int dn_text(const X509_NAME *dn, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    out[0] = '\0';
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL)
        return IOTLS_ERR_NO_MEMORY;
    unsigned long flags =
        XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_FN_SN | (ASN1_STRFLGS_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    int rc = IOTLS_OK;
    if (X509_NAME_print_ex(bio, dn, 0, flags) < 0) {
        rc = IOTLS_ERR_CRYPTO;
    } else {
        char *text = NULL;
        long len = BIO_get_mem_data(bio, &text);
        if (len < 0 || (size_t)len + 1 > cap)
            rc = IOTLS_ERR_BUFFER_TOO_SMALL;
        else {
            memcpy(out, text, (size_t)len);
            out[len] = '\0';
        }
    }
    BIO_free(bio);
    ERR_clear_error();
    return rc;
}

int iotls__x509_subject(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    X509 *x = nth(chain, i);
    if (x == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(X509_get_subject_name(x), out, cap);
}

/* Seconds from the epoch to t, through OpenSSL's own time arithmetic. */
static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
    int days = 0, secs = 0;
    ASN1_TIME *epoch = ASN1_TIME_set(NULL, 0);
    int ok = epoch != NULL && ASN1_TIME_diff(&days, &secs, epoch, t) == 1;
    ASN1_TIME_free(epoch);
    if (!ok) {
        ERR_clear_error();
        return IOTLS_ERR_BAD_CERTIFICATE;
    }
    *out = (int64_t)days * 86400 + secs;
    return IOTLS_OK;
}

int iotls__x509_validity(const iotls_x509 *chain, size_t i, int64_t *not_before, int64_t *not_after)
{
    X509 *x = nth(chain, i);
    if (x == NULL || not_before == NULL || not_after == NULL)
        return IOTLS_ERR_BAD_ARG;
    int rc = asn1_time_unix(X509_get0_notBefore(x), not_before);
    return rc != IOTLS_OK ? rc : asn1_time_unix(X509_get0_notAfter(x), not_after);
}

int iotls__x509_issuer(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    X509 *x = nth(chain, i);
    if (x == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(X509_get_issuer_name(x), out, cap);
}

int iotls__x509_sans(const iotls_x509 *chain, char *out, size_t cap)
{
    X509 *leaf = leaf_of(chain);
    if (leaf == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls_common_text t;
    iotls__common_text_init(&t, out, cap);
    GENERAL_NAMES *names = X509_get_ext_d2i(leaf, NID_subject_alt_name, NULL, NULL);
    for (int i = 0; names != NULL && i < sk_GENERAL_NAME_num(names); i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
        const ASN1_STRING *s;
        iotls_common_san_kind kind;
        switch (g->type) {
        case GEN_DNS:
            s = g->d.dNSName;
            kind = IOTLS_SAN_DNS;
            break;
        case GEN_EMAIL:
            s = g->d.rfc822Name;
            kind = IOTLS_SAN_EMAIL;
            break;
        case GEN_URI:
            s = g->d.uniformResourceIdentifier;
            kind = IOTLS_SAN_URI;
            break;
        case GEN_IPADD:
            s = g->d.iPAddress;
            kind = IOTLS_SAN_IP;
            break;
        default:
            continue; /* otherName and the rest: nothing a TLS peer is named by */
        }
        iotls__common_text_san(&t, kind, ASN1_STRING_get0_data(s), (size_t)ASN1_STRING_length(s));
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    return iotls__common_text_finish(&t);
}

int iotls__x509_key_desc(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    X509 *x = nth(chain, i);
    if (x == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    EVP_PKEY *key = X509_get0_pubkey(x);
    int n;
    if (key == NULL) {
        n = snprintf(out, cap, "unknown key");
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA) {
        n = snprintf(out, cap, "RSA-%d", EVP_PKEY_get_bits(key));
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA_PSS) {
        n = snprintf(out, cap, "RSA-PSS-%d", EVP_PKEY_get_bits(key));
    } else if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        char group[64] = "unknown curve";
        size_t glen = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof(group), &glen) != 1)
            snprintf(group, sizeof(group), "unknown curve");
        const char *name = strcmp(group, "prime256v1") == 0  ? "P-256"
                           : strcmp(group, "secp384r1") == 0 ? "P-384"
                           : strcmp(group, "secp521r1") == 0 ? "P-521"
                                                             : group;
        n = snprintf(out, cap, "ECDSA %s", name);
    } else {
        const char *type = EVP_PKEY_get0_type_name(key);
        n = snprintf(out, cap, "%s", type != NULL ? type : "unknown key");
    }
    ERR_clear_error();
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

int iotls__x509_matches_key(const iotls_x509 *chain, const iotls_pkey *key)
{
    X509 *leaf = leaf_of(chain);
    if (leaf == NULL || key == NULL || !key->loaded || key->key == NULL)
        return 0;
    EVP_PKEY *pub = X509_get0_pubkey(leaf);
    int same = pub != NULL && EVP_PKEY_eq(pub, key->key) == 1;
    ERR_clear_error();
    return same;
}
