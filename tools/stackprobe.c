/* Deepest stack of the crypto provider calls the engine makes, with the
 * crypto library behind them (tools/stack-report.sh, docs/stack.md).
 *
 * Each call runs on a thread whose stack (memory we own) is painted with
 * 0xA5 below the thread function's frame; afterwards the lowest byte that
 * changed tells how deep the call went below that frame. The same thread
 * running an empty call gives the base (the call itself, the return
 * address), which is subtracted: what is left is the call's depth below its
 * caller, provider + library + libc. Each call
 * runs ROUNDS times (the first use of the DRBG seeds it), the deepest kept.
 * The wrappers (p_*) keep their buffers static so that their own frames,
 * counted in, stay small (tens of bytes, like the engine's call site).
 *
 * Painting is a lower bound: a local array the call reserves but never
 * writes below its top is not seen.
 *
 * Then whole engine calls (src/, src/msg/ with this provider): a client and
 * a server in memory, every iotls_conn_* call of either on its own painted
 * stack, the deepest per role and entry point (full handshake, with client
 * certificate, resumed from a ticket, application data, KeyUpdate, close).
 *
 * Output, one line per measurement: "probe <function> <bytes> <what>" and
 * "engine <role> <entry point> <bytes> <what>". */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/error.h"
#include "iotls/iotls.h"
#include "iotls/session.h"

#define PROBE_STACK (256 * 1024)
#define PAINT 0xA5
#define ROUNDS 3

static uint8_t *probe_stack;

typedef void (*probe_fn)(void *arg);
struct probe_job {
    probe_fn fn;
    void *arg;
    const uint8_t *top; /* the thread's frame, above the call */
};

/* The thread paints its stack itself, up to just below its own frame:
 * whatever the thread start-up touched deeper is painted over, so only the
 * call is seen (memset, a leaf, runs in the 256 bytes left unpainted). */
static void *probe_thread(void *p)
{
    struct probe_job *job = p;
    volatile uint8_t marker = 0;
    const uint8_t *top = (const uint8_t *)&marker;
    memset(probe_stack, PAINT, (size_t)(top - probe_stack) - 256);
    job->top = top;
    job->fn(job->arg);
    return NULL;
}

/* Bytes of the painted stack the thread touched. */
static size_t run_painted(probe_fn fn, void *arg)
{
    pthread_attr_t attr;
    pthread_t th;
    struct probe_job job = {fn, arg, NULL};
    if (pthread_attr_init(&attr) != 0 ||
        pthread_attr_setstack(&attr, probe_stack, PROBE_STACK) != 0 ||
        pthread_create(&th, &attr, probe_thread, &job) != 0) {
        fprintf(stderr, "stackprobe: cannot start the probe thread\n");
        exit(2);
    }
    pthread_join(th, NULL);
    pthread_attr_destroy(&attr);
    size_t i = 0;
    while (i < PROBE_STACK && probe_stack[i] == PAINT)
        i++;
    return (size_t)(job.top - (probe_stack + i));
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
    check(iotls__kex_generate(&ctx, k->group, pub, sizeof pub, &len), "kex_generate");
    iotls__kex_free(&ctx);
}

/* generate is done outside the measured call: only derive is counted. */
static iotls_kex_ctx derive_ctx;
static void p_kex_derive(void *a)
{
    struct kex_arg *k = a;
    static uint8_t secret[48];
    size_t len = 0;
    check(iotls__kex_derive(&derive_ctx, k->peer_pub, k->peer_len, secret, sizeof secret, &len),
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
    check(iotls__pkey_sign(s->key, s->scheme, msg64, sizeof msg64, sig, sizeof sig, &len),
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
    check(
        iotls__x509_verify_signature(v->chain, v->scheme, msg64, sizeof msg64, v->sig, v->sig_len),
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
    iotls__x509_init(&chain);
    for (size_t i = 0; i < d->n; i++)
        check(iotls__x509_add_der(&chain, d->der[i], d->len[i]), "x509_add_der");
    iotls__x509_free(&chain);
}

static iotls_x509 verify_chain;
static void p_x509_verify(void *a)
{
    struct der_arg *d = a;
    static iotls_x509_policy pol;
    pol.trust = d->trust;
    pol.host = "device.example";
    pol.is_server_cert = 1;
    check(iotls__x509_verify(&verify_chain, &pol), "x509_verify");
}
/* The explanation's path on a refusal that writes the most text: the
 * chain checked in full, then the host name, with the SANs listed. */
static void p_x509_verify_explain(void *a)
{
    struct der_arg *d = a;
    static iotls_x509_policy pol;
    static char detail[320];
    pol.trust = d->trust;
    pol.host = "other.example";
    pol.is_server_cert = 1;
    int rc = iotls__x509_verify_explain(&verify_chain, &pol, detail, sizeof detail);
    check(rc == IOTLS_ERR_CERT_HOSTNAME ? IOTLS_OK : rc, "x509_verify_explain");
}
static void p_x509_names(void *a)
{
    (void)a;
    static char out[256];
    static uint8_t h[32];
    check(iotls__x509_subject(&verify_chain, 0, out, sizeof out), "x509_subject");
    check(iotls__x509_issuer(&verify_chain, 0, out, sizeof out), "x509_issuer");
    check(iotls__x509_sans(&verify_chain, out, sizeof out), "x509_sans");
    check(iotls__x509_key_desc(&verify_chain, 0, out, sizeof out), "x509_key_desc");
    check(iotls__x509_spki_sha256(&verify_chain, h), "x509_spki_sha256");
}

static const uint8_t key32[48] = {1, 2, 3};
static void p_hkdf_extract(void *a)
{
    (void)a;
    static uint8_t prk[48];
    check(iotls__hkdf_extract(IOTLS_HASH_SHA384, key32, 48, key32, 48, prk), "hkdf_extract");
}
static void p_hkdf_expand(void *a)
{
    (void)a;
    static uint8_t out[48];
    static const uint8_t info[100];
    check(iotls__hkdf_expand(IOTLS_HASH_SHA384, key32, 48, info, sizeof info, out, sizeof out),
          "hkdf_expand");
}
static void p_hmac(void *a)
{
    (void)a;
    static uint8_t out[48];
    check(iotls__hmac(IOTLS_HASH_SHA384, key32, 48, msg64, sizeof msg64, out), "hmac");
}
static void p_hash(void *a)
{
    (void)a;
    static iotls_hash_ctx ctx, copy;
    static uint8_t out[64];
    memset(&ctx, 0, sizeof ctx);
    memset(&copy, 0, sizeof copy);
    check(iotls__hash_init(&ctx, IOTLS_HASH_SHA384), "hash_init");
    check(iotls__hash_update(&ctx, msg64, sizeof msg64), "hash_update");
    check(iotls__hash_clone(&copy, &ctx), "hash_clone");
    check(iotls__hash_snapshot(&ctx, out), "hash_snapshot");
    check(iotls__hash(IOTLS_HASH_SHA512, msg64, sizeof msg64, out), "hash");
    iotls__hash_free(&copy);
    iotls__hash_free(&ctx);
}

static uint8_t record[16384 + 256];
static void p_aead(void *a)
{
    iotls_aead_alg alg = *(iotls_aead_alg *)a;
    static iotls_aead_ctx ctx;
    static const uint8_t nonce[IOTLS_AEAD_NONCE_LEN];
    static const uint8_t aad[5] = {23, 3, 3, 0x40, 0x11};
    memset(&ctx, 0, sizeof ctx);
    check(iotls__aead_init(&ctx, alg, key32, iotls__aead_key_len(alg)), "aead_init");
    check(iotls__aead_seal(&ctx, nonce, aad, 5, record, 16384, record), "aead_seal");
    check(iotls__aead_open(&ctx, nonce, aad, 5, record, 16384 + 16, record), "aead_open");
    iotls__aead_free(&ctx);
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
    check(iotls__random(out, sizeof out), "random");
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
    iotls__x509_init(&p->ca);
    iotls__x509_init(&p->leaf);
    iotls__pkey_init(&p->key);
    check(iotls__x509_load_mem(&p->ca, (const uint8_t *)p->ca_cert, strlen(p->ca_cert) + 1),
          "load ca");
    check(iotls__x509_load_mem(&p->leaf, (const uint8_t *)p->leaf_cert, strlen(p->leaf_cert) + 1),
          "load leaf");
    check(
        iotls__pkey_load_mem(&p->key, (const uint8_t *)p->leaf_key, strlen(p->leaf_key) + 1, NULL),
        "load key");
}

static void probe_pki(iotls_key_type type, uint16_t scheme, const char *label)
{
    static struct pki p;
    char what[64];
    make_pki(&p, type);

    struct sign_arg s = {&p.key, scheme};
    snprintf(what, sizeof what, "%s sign", label);
    measure("iotls__pkey_sign", what, p_pkey_sign, &s);

    static struct vsig_arg v;
    v.chain = &p.leaf;
    v.scheme = scheme;
    check(iotls__pkey_sign(&p.key, scheme, msg64, sizeof msg64, v.sig, sizeof v.sig, &v.sig_len),
          "pkey_sign");
    snprintf(what, sizeof what, "%s verify", label);
    measure("iotls__x509_verify_signature", what, p_verify_signature, &v);

    struct der_arg d = {{NULL, NULL}, {0, 0}, 2, &p.ca};
    check(iotls__x509_der(&p.leaf, 0, &d.der[0], &d.len[0]), "x509_der");
    check(iotls__x509_der(&p.ca, 0, &d.der[1], &d.len[1]), "x509_der");
    snprintf(what, sizeof what, "%s leaf + CA parse", label);
    measure("iotls__x509_add_der", what, p_add_der, &d);

    iotls__x509_init(&verify_chain);
    check(iotls__x509_add_der(&verify_chain, d.der[0], d.len[0]), "x509_add_der");
    snprintf(what, sizeof what, "%s leaf to CA chain check", label);
    measure("iotls__x509_verify", what, p_x509_verify, &d);
    snprintf(what, sizeof what, "%s the same chain refused for its host name, explained", label);
    measure("iotls__x509_verify_explain", what, p_x509_verify_explain, &d);
    snprintf(what, sizeof what, "%s subject, issuer, SANs, key, SPKI hash", label);
    measure("iotls__x509_subject,iotls__x509_issuer,iotls__x509_sans,"
            "iotls__x509_key_desc,iotls__x509_spki_sha256",
            what, p_x509_names, NULL);
    iotls__x509_free(&verify_chain);

    iotls__x509_free(&p.ca);
    iotls__x509_free(&p.leaf);
    iotls__pkey_free(&p.key);
}

static void probe_kex(uint16_t group, const char *label)
{
    char what[64];
    static struct kex_arg k;
    iotls_kex_ctx peer;
    k.group = group;
    memset(&peer, 0, sizeof peer);
    snprintf(what, sizeof what, "%s key pair", label);
    measure("iotls__kex_generate", what, p_kex_generate, &k);
    check(iotls__kex_generate(&peer, group, k.peer_pub, sizeof k.peer_pub, &k.peer_len),
          "kex_generate");
    uint8_t pub[133];
    size_t len;
    memset(&derive_ctx, 0, sizeof derive_ctx);
    check(iotls__kex_generate(&derive_ctx, group, pub, sizeof pub, &len), "kex_generate");
    snprintf(what, sizeof what, "%s shared secret", label);
    measure("iotls__kex_derive", what, p_kex_derive, &k);
    iotls__kex_free(&derive_ctx);
    iotls__kex_free(&peer);
}

/* ---- whole engine calls ---- */

enum { E_START, E_INPUT, E_WRITE, E_READ, E_KEY_UPDATE, E_CLOSE, E_SET_SESSION, E_COUNT };
static const char *const entry_name[E_COUNT] = {
    "iotls_conn_start",      "iotls_conn_input", "iotls_conn_write",         "iotls_conn_read",
    "iotls_conn_key_update", "iotls_conn_close", "iotls_conn_borrow_session"};
static size_t deepest[2][E_COUNT]; /* [0] client, [1] server */
static unsigned calls[2][E_COUNT];
static char deepest_what[2][E_COUNT][48];

struct engine_call {
    int op;
    iotls_conn *c;
    const uint8_t *data;
    size_t len;
    uint8_t *buf;
    size_t cap;
    size_t n;
    int rc;
};

static void engine_call_run(void *a)
{
    struct engine_call *e = a;
    switch (e->op) {
    case E_START:
        e->rc = iotls_conn_start(e->c);
        break;
    case E_INPUT:
        e->rc = iotls_conn_input(e->c, e->data, e->len, &e->n);
        break;
    case E_WRITE:
        e->rc = iotls_conn_write(e->c, e->data, e->len, &e->n);
        break;
    case E_READ:
        e->rc = iotls_conn_read(e->c, e->buf, e->cap, &e->n);
        break;
    case E_KEY_UPDATE:
        e->rc = iotls_conn_key_update(e->c, 1);
        break;
    case E_CLOSE:
        e->rc = iotls_conn_close(e->c);
        break;
    case E_SET_SESSION:
        e->rc = iotls_conn_borrow_session(e->c, e->data, e->len);
        break;
    }
}

static const char *scenario = "";
static int engine_call(struct engine_call *e, int role)
{
    size_t d = run_painted(engine_call_run, e);
    d = d > base_depth ? d - base_depth : 0;
    int r = role == IOTLS_ROLE_CLIENT ? 0 : 1;
    calls[r][e->op]++;
    if (d > deepest[r][e->op]) {
        deepest[r][e->op] = d;
        snprintf(deepest_what[r][e->op], sizeof deepest_what[r][e->op], "%s", scenario);
    }
    return e->rc;
}

/* Everything from's output into to, as a socket would carry it. */
static int shuttle(iotls_conn *from, int from_role, iotls_conn *to, int to_role)
{
    static uint8_t wire[65536];
    size_t n = 0, len = 0;
    const uint8_t *out;
    (void)from_role;
    while ((out = iotls_conn_output(from, &n)) != NULL && n > 0 && len + n <= sizeof wire) {
        memcpy(wire + len, out, n);
        len += n;
        iotls_conn_output_consume(from, n);
    }
    static uint8_t app[16384];
    size_t off = 0;
    while (off < len) {
        struct engine_call e = {E_INPUT, to, wire + off, len - off, NULL, 0, 0, 0};
        int rc = engine_call(&e, to_role);
        if (rc != IOTLS_OK && rc != IOTLS_WANT_READ)
            return rc;
        off += e.n;
        if (e.n == 0) {
            /* An application record waits to be read before the next. */
            struct engine_call rd = {E_READ, to, NULL, 0, app, sizeof app, 0, 0};
            engine_call(&rd, to_role);
            if (rd.n == 0)
                break;
        }
    }
    for (;;) {
        struct engine_call rd = {E_READ, to, NULL, 0, app, sizeof app, 0, 0};
        if (engine_call(&rd, to_role) != IOTLS_OK || rd.n == 0)
            break;
    }
    return len > 0;
}

static iotls_conn *conn_new(const iotls_config *cfg, int role)
{
    size_t need = iotls_conn_size(cfg);
    void *mem = malloc(need);
    iotls_conn *c = mem ? iotls_conn_init(mem, need, cfg, role, "device.example") : NULL;
    if (!c) {
        fprintf(stderr, "stackprobe: iotls_conn_init failed\n");
        probe_failed = 1;
    }
    return c;
}

static void conn_free(iotls_conn *c)
{
    iotls_conn_free(c);
    free(c);
}

static uint8_t session_blob[IOTLS_SESSION_MAX_BLOB];
static size_t session_len;
static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    iotls_session s;
    (void)arg;
    (void)conn;
    if (session_len == 0 && iotls_session_from_ticket(&s, t) == IOTLS_OK)
        iotls_session_save(&s, session_blob, sizeof session_blob, &session_len);
}

static void pem_into(char *dst, size_t cap, const char *a, const char *b)
{
    snprintf(dst, cap, "%s%s", a, b);
}

/* One connection pair through handshake, data both ways, KeyUpdate, close. */
static void run_pair(const iotls_config *ccfg, const iotls_config *scfg, int resume)
{
    iotls_conn *cl = conn_new(ccfg, IOTLS_ROLE_CLIENT);
    iotls_conn *sv = conn_new(scfg, IOTLS_ROLE_SERVER);
    if (!cl || !sv)
        return;
    if (resume) {
        struct engine_call e = {E_SET_SESSION, cl, session_blob, session_len, NULL, 0, 0, 0};
        check(engine_call(&e, IOTLS_ROLE_CLIENT), "set_session");
    }
    struct engine_call st = {E_START, cl, NULL, 0, NULL, 0, 0, 0};
    check(engine_call(&st, IOTLS_ROLE_CLIENT), "conn_start");
    for (int i = 0; i < 20 && !(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
         i++) {
        if (shuttle(cl, IOTLS_ROLE_CLIENT, sv, IOTLS_ROLE_SERVER) < 0 ||
            shuttle(sv, IOTLS_ROLE_SERVER, cl, IOTLS_ROLE_CLIENT) < 0)
            break;
    }
    if (!iotls_conn_handshake_done(cl) || !iotls_conn_handshake_done(sv)) {
        fprintf(stderr, "stackprobe: %s: handshake failed: client %d, server %d\n", scenario,
                iotls_conn_error(cl), iotls_conn_error(sv));
        probe_failed = 1;
    }
    shuttle(sv, IOTLS_ROLE_SERVER, cl, IOTLS_ROLE_CLIENT); /* tickets */
    static uint8_t data[4096];
    for (int r = 0; r < 2; r++) {
        iotls_conn *from = r == 0 ? cl : sv, *to = r == 0 ? sv : cl;
        int fr = r == 0 ? IOTLS_ROLE_CLIENT : IOTLS_ROLE_SERVER;
        int tr = r == 0 ? IOTLS_ROLE_SERVER : IOTLS_ROLE_CLIENT;
        struct engine_call w = {E_WRITE, from, data, sizeof data, NULL, 0, 0, 0};
        check(engine_call(&w, fr), "conn_write");
        struct engine_call k = {E_KEY_UPDATE, from, NULL, 0, NULL, 0, 0, 0};
        check(engine_call(&k, fr), "conn_key_update");
        check(engine_call(&w, fr), "conn_write");
        if (shuttle(from, fr, to, tr) < 0 ||
            shuttle(to, tr, from, fr) < 0) { /* + KeyUpdate answer */
            fprintf(stderr, "stackprobe: %s: data or KeyUpdate failed\n", scenario);
            probe_failed = 1;
        }
    }
    struct engine_call cc = {E_CLOSE, cl, NULL, 0, NULL, 0, 0, 0};
    engine_call(&cc, IOTLS_ROLE_CLIENT);
    shuttle(cl, IOTLS_ROLE_CLIENT, sv, IOTLS_ROLE_SERVER);
    struct engine_call sc = {E_CLOSE, sv, NULL, 0, NULL, 0, 0, 0};
    engine_call(&sc, IOTLS_ROLE_SERVER);
    conn_free(cl);
    conn_free(sv);
}

static void probe_engine(void)
{
    static struct pki p;
    static char chain[8192], client_cert[4096];
    iotls_cert_spec client_spec = {"CN=stackprobe client", NULL, NULL, 0, 0, 1, 0, 0};
    make_pki(&p, IOTLS_KEY_EC_P256);
    pem_into(chain, sizeof chain, p.leaf_cert, "");
    check(iotls_pki_make_cert(&client_spec, p.leaf_key, p.ca_key, p.ca_cert, client_cert,
                              sizeof client_cert),
          "make_cert");
    iotls_config *scfg = iotls_config_new(), *ccfg = iotls_config_new();
    iotls_config *mscfg = iotls_config_new(), *mccfg = iotls_config_new();
    static const uint8_t ticket_key[48] = {7};
    if (!scfg || !ccfg || !mscfg || !mccfg) {
        probe_failed = 1;
        return;
    }
    check(iotls_config_set_cert_mem(scfg, (const uint8_t *)chain, strlen(chain) + 1,
                                    (const uint8_t *)p.leaf_key, strlen(p.leaf_key) + 1),
          "server cert");
    check(iotls_config_set_tickets(scfg, 1), "tickets");
    check(iotls_config_set_ticket_key(scfg, ticket_key), "ticket key");
    check(iotls_config_set_ca_mem(ccfg, (const uint8_t *)p.ca_cert, strlen(p.ca_cert) + 1), "ca");
    iotls_config_set_ticket_cb(ccfg, on_ticket, NULL);
    /* Mutual authentication: the client's certificate has the same key. */
    check(iotls_config_set_cert_mem(mscfg, (const uint8_t *)chain, strlen(chain) + 1,
                                    (const uint8_t *)p.leaf_key, strlen(p.leaf_key) + 1),
          "server cert");
    check(iotls_config_set_ca_mem(mscfg, (const uint8_t *)p.ca_cert, strlen(p.ca_cert) + 1), "ca");
    check(iotls_config_set_verify_client(mscfg, IOTLS_VERIFY_CLIENT_REQUIRED), "verify client");
    check(iotls_config_set_ca_mem(mccfg, (const uint8_t *)p.ca_cert, strlen(p.ca_cert) + 1), "ca");
    check(iotls_config_set_cert_mem(mccfg, (const uint8_t *)client_cert, strlen(client_cert) + 1,
                                    (const uint8_t *)p.leaf_key, strlen(p.leaf_key) + 1),
          "client cert");

    scenario = "full handshake (x25519, ECDSA P-256)";
    run_pair(ccfg, scfg, 0);
    scenario = "resumed from a ticket (psk_dhe_ke)";
    if (session_len > 0)
        run_pair(ccfg, scfg, 1);
    else {
        fprintf(stderr, "stackprobe: no ticket received\n");
        probe_failed = 1;
    }
    scenario = "HelloRetryRequest (client offers x25519 first, server secp256r1 only)";
    iotls_config_set_groups(ccfg, "x25519,secp256r1");
    iotls_config_set_groups(scfg, "secp256r1");
    run_pair(ccfg, scfg, 0);
    scenario = "mutual authentication (both ECDSA P-256)";
    run_pair(mccfg, mscfg, 0);

    for (int r = 0; r < 2; r++)
        for (int e = 0; e < E_COUNT; e++)
            if (calls[r][e] > 0)
                printf("engine %s %s %zu %s\n", r == 0 ? "client" : "server", entry_name[e],
                       deepest[r][e], deepest_what[r][e]);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    iotls_config_free(mscfg);
    iotls_config_free(mccfg);
    iotls__x509_free(&p.ca);
    iotls__x509_free(&p.leaf);
    iotls__pkey_free(&p.key);
}

int main(void)
{
    probe_stack = malloc(PROBE_STACK);
    if (!probe_stack)
        return 2;
    /* The base: the least an empty call touches. */
    base_depth = run_painted(empty_call, NULL);
    for (int i = 0; i < 3; i++) {
        size_t d = run_painted(empty_call, NULL);
        if (d < base_depth)
            base_depth = d;
    }
    measure("calloc,free", "glibc, 216 bytes (an mbedTLS SHA-512 context)", p_calloc, NULL);
    measure("iotls__random", "32 bytes (first: DRBG seeding)", p_random, NULL);
    probe_kex(IOTLS_GROUP_X25519, "X25519");
    probe_kex(IOTLS_GROUP_SECP256R1, "secp256r1");
    probe_kex(IOTLS_GROUP_SECP384R1, "secp384r1");
    probe_pki(IOTLS_KEY_EC_P256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, "ECDSA P-256");
    probe_pki(IOTLS_KEY_EC_P384, IOTLS_SIG_ECDSA_SECP384R1_SHA384, "ECDSA P-384");
    probe_pki(IOTLS_KEY_RSA_2048, IOTLS_SIG_RSA_PSS_RSAE_SHA256, "RSA-2048 PSS");
    measure("iotls__hkdf_extract", "SHA-384", p_hkdf_extract, NULL);
    measure("iotls__hkdf_expand", "SHA-384, 48 bytes", p_hkdf_expand, NULL);
    measure("iotls__hmac", "SHA-384", p_hmac, NULL);
    measure(
        "iotls__hash_init,iotls__hash_update,iotls__hash_clone,iotls__hash_snapshot,iotls__hash",
        "init, update, clone, snapshot; one-shot SHA-512", p_hash, NULL);
    iotls_aead_alg gcm128 = IOTLS_AEAD_AES_128_GCM, gcm256 = IOTLS_AEAD_AES_256_GCM,
                   chacha = IOTLS_AEAD_CHACHA20_POLY1305;
    measure("iotls__aead_init,iotls__aead_seal,iotls__aead_open",
            "AES-128-GCM init, seal and open of 16 KiB", p_aead, &gcm128);
    measure("iotls__aead_init,iotls__aead_seal,iotls__aead_open",
            "AES-256-GCM init, seal and open of 16 KiB", p_aead, &gcm256);
    measure("iotls__aead_init,iotls__aead_seal,iotls__aead_open",
            "ChaCha20-Poly1305 init, seal and open of 16 KiB", p_aead, &chacha);
    probe_engine();
    free(probe_stack);
    return probe_failed;
}
