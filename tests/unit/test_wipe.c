/* Secrets are wiped on every way out of a connection.
 *
 * Our client engine talks to our server engine in memory. Every secret the
 * engines derive is captured through the key log callback (handshake and
 * application traffic secrets, exporter secret), and the AEAD key and IV of
 * each traffic secret are derived from it with iotls__traffic_keys(). Then,
 * for each way a connection can end, the WHOLE connection memory block (the
 * caller's iotls_conn_size() bytes: struct, record and handshake buffers) is
 * searched for any of those byte strings:
 *
 *   a. orderly close: iotls_conn_close on both sides, then iotls_conn_free;
 *   b. a fatal error: one byte of a record in flight corrupted, so the
 *      receiver fails with bad_record_mac (after and during the handshake);
 *   c. a received fatal alert: the other side of (b);
 *   d. iotls_conn_free in the middle of the handshake (client and server);
 *   e. resumption: a server that opens a ticket and seals new ones keeps
 *      no PSK (nor its early secret) once those steps returned, as the
 *      scratch region they work in must be wiped (src/scratch.h).
 *
 * After (b) and (c) the block is searched before iotls_conn_free as well:
 * a failed connection must not keep its keys until the application frees
 * it. Each scenario first checks that the search DOES find the secrets in
 * a live connection, so the test cannot pass by searching for the wrong
 * bytes.
 *
 * Not covered: copies of keys inside memory the crypto library allocates
 * (mbedTLS cipher contexts, the ECDHE private scalar in an mbedtls_mpi):
 * they live outside the connection block and are released and zeroized by
 * the provider's free functions, which this test cannot observe.
 *
 * With the PSA provider those keys are PSA keys, and the key store can be
 * counted (mbedtls_psa_get_stats): a live connection holds some beyond
 * those of the two configurations (our signing keys); after a fatal error
 * it holds none any more, before it is freed; and once connections and
 * configurations are freed the store is back where it was before. */
/* mbedtls_psa_stats_t's fields are Mbed TLS "private" (not a stable API):
 * a test may read them. Harmless with the other providers. */
#define MBEDTLS_ALLOW_PRIVATE_ACCESS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "io/mem.h"
#include "iotls/engine.h"
#include "keysched.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[64];

/* ---------------- the PSA key store ---------------- */

#ifdef IOTLS_CRYPTO_BACKEND_PSA
static size_t psa_keys(void)
{
    mbedtls_psa_stats_t st;
    mbedtls_psa_get_stats(&st);
    return st.volatile_slots;
}

/* The key store holds exactly want keys at where. */
static void expect_keys(const char *where, size_t want)
{
    size_t have = psa_keys();
    tl_checks++;
    if (have != want) {
        tl_failures++;
        fprintf(stderr, "%s: %zu PSA key(s) in the key store, want %zu\n", where, have, want);
    }
}

/* The key store holds more than floor keys (a live connection's). */
static void expect_more_keys(const char *where, size_t floor)
{
    size_t have = psa_keys();
    tl_checks++;
    if (have <= floor) {
        tl_failures++;
        fprintf(stderr, "%s: %zu PSA key(s) in the key store, want more than %zu\n", where, have,
                floor);
    }
}
#else
static size_t psa_keys(void)
{
    return 0;
}
static void expect_keys(const char *where, size_t want)
{
    (void)where;
    (void)want;
}
static void expect_more_keys(const char *where, size_t floor)
{
    (void)where;
    (void)floor;
}
#endif

/* ---------------- what to look for ---------------- */

#define MAX_NEEDLES 64

typedef struct {
    uint8_t bytes[MAX_NEEDLES][IOTLS_MAX_HASH_LEN];
    size_t len[MAX_NEEDLES];
    char what[MAX_NEEDLES][64];
    size_t count;
} needles;

static void add_needle(needles *n, const uint8_t *p, size_t len, const char *what)
{
    if (n->count >= MAX_NEEDLES || len > IOTLS_MAX_HASH_LEN)
        return;
    memcpy(n->bytes[n->count], p, len);
    n->len[n->count] = len;
    snprintf(n->what[n->count], sizeof n->what[0], "%s", what);
    n->count++;
}

/* Every logged secret, and for traffic secrets their key and IV. The
 * suite decides the hash and AEAD of the derivation. Labels in skip (may be
 * NULL) are left out. */
static void needles_from(needles *n, const tl_keylog *k, uint16_t suite, const char *skip)
{
    iotls_hash_alg hash = iotls__suite_hash(suite);
    iotls_aead_alg aead = iotls__suite_aead(suite);
    size_t key_len = iotls__aead_key_len(aead);
    CHECK(hash != IOTLS_HASH_NONE && key_len > 0);
    CHECK(!k->malformed);
    for (size_t i = 0; i < k->count; i++) {
        if (skip && strcmp(k->label[i], skip) == 0)
            continue;
        char what[64];
        snprintf(what, sizeof what, "%s", k->label[i]);
        add_needle(n, k->secret[i], k->secret_len[i], what);
        if (strstr(k->label[i], "TRAFFIC_SECRET") == NULL)
            continue;
        uint8_t key[IOTLS_MAX_AEAD_KEY_LEN];
        uint8_t iv[IOTLS_AEAD_NONCE_LEN];
        CHECK_OK(iotls__traffic_keys(hash, aead, k->secret[i], key, key_len, iv));
        snprintf(what, sizeof what, "key of %s", k->label[i]);
        add_needle(n, key, key_len, what);
        snprintf(what, sizeof what, "iv of %s", k->label[i]);
        add_needle(n, iv, sizeof iv, what);
    }
}

/* How many needles occur anywhere in mem[0..len); each is reported when
 * report is set. */
static size_t scan(const char *where, const uint8_t *mem, size_t len, const needles *n, int report)
{
    size_t found = 0;
    for (size_t i = 0; i < n->count; i++) {
        size_t nl = n->len[i];
        for (size_t off = 0; off + nl <= len; off++) {
            if (mem[off] == n->bytes[i][0] && memcmp(mem + off, n->bytes[i], nl) == 0) {
                found++;
                if (report)
                    fprintf(stderr, "%s: %s found at offset %zu of %zu\n", where, n->what[i], off,
                            len);
                break;
            }
        }
    }
    return found;
}

/* Searches the block and fails the test on any secret found. */
static void expect_clean(const char *where, const void *mem, size_t len, const needles *n)
{
    size_t found = scan(where, mem, len, n, 1);
    tl_checks++;
    if (found != 0) {
        tl_failures++;
        fprintf(stderr, "%s: %zu secret(s) left in the connection memory\n", where, found);
    }
}

/* ---------------- a client and a server in memory ---------------- */

typedef struct {
    iotls_config *cfg;
    tl_keylog log;
    void *mem;
    size_t size;
    iotls_conn *c;
} side;

typedef struct {
    side cl, sv;
    iotls_mem_opts opts;
    size_t keys_before; /* PSA keys before the configurations were made */
    size_t keys_cfg;    /* ... once they were: our signing keys */
} pair;

static iotls_config *make_cfg(int server, int with_cert, const char *cipher, tl_keylog *log)
{
    char a[160], b[160];
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return NULL;
    CHECK_OK(iotls_config_set_ca_file(cfg, tl_path_of(g_dir, a, sizeof a, "ca.pem")));
    if (with_cert) {
        const char *name = server ? "srv" : "cli";
        char cert[16], key[16];
        snprintf(cert, sizeof cert, "%s.pem", name);
        snprintf(key, sizeof key, "%s.key", name);
        CHECK_OK(iotls_config_set_cert_file(cfg, tl_path_of(g_dir, a, sizeof a, cert),
                                            tl_path_of(g_dir, b, sizeof b, key)));
    }
    if (cipher)
        CHECK_OK(iotls_config_set_ciphers(cfg, cipher));
    iotls_config_set_keylog(cfg, tl_keylog_cb, log);
    return cfg;
}

static int side_init(side *s, int role)
{
    s->size = iotls_conn_size(s->cfg);
    s->mem = aligned_alloc(16, (s->size + 15) & ~(size_t)15);
    if (!s->mem)
        return -1;
    /* iotls_conn_init leaves the buffers as given and the scans read the
     * whole block: known bytes there, not the allocator's (valgrind). */
    memset(s->mem, 0x5a, s->size);
    s->c = iotls_conn_init(s->mem, s->size, s->cfg, role,
                           role == IOTLS_ROLE_CLIENT ? "localhost" : NULL);
    return s->c ? 0 : -1;
}

/* Both sides started, nothing exchanged yet. mutual: the server requires
 * a client certificate. */
static int pair_open(pair *p, const char *cipher, int mutual)
{
    memset(p, 0, sizeof *p);
    iotls__mem_opts_init(&p->opts);
    p->keys_before = psa_keys();
    p->cl.cfg = make_cfg(0, mutual, cipher, &p->cl.log);
    p->sv.cfg = make_cfg(1, 1, cipher, &p->sv.log);
    if (!p->cl.cfg || !p->sv.cfg)
        return -1;
    p->keys_cfg = psa_keys();
    if (mutual)
        CHECK_OK(iotls_config_set_verify_client(p->sv.cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    if (side_init(&p->cl, IOTLS_ROLE_CLIENT) != 0 || side_init(&p->sv, IOTLS_ROLE_SERVER) != 0)
        return -1;
    CHECK_OK(iotls_conn_start(p->sv.c));
    CHECK_OK(iotls_conn_start(p->cl.c));
    return 0;
}

/* iotls_conn_free, then the search of the freed block, then the memory
 * back to the heap. A NULL c (never initialised) only frees. */
static void side_free_checked(side *s, const char *where, const needles *n)
{
    if (s->c) {
        iotls_conn_free(s->c);
        if (n)
            expect_clean(where, s->mem, s->size, n);
    }
    free(s->mem);
    iotls_config_free(s->cfg);
    memset(s, 0, sizeof *s);
}

/* Moves at most limit bytes of from's output into to. */
static int move_some(iotls_conn *from, iotls_conn *to, size_t limit, size_t *moved)
{
    size_t n = 0, used = 0;
    const uint8_t *p = iotls_conn_output(from, &n);
    *moved = 0;
    if (!p)
        return IOTLS_OK;
    if (n > limit)
        n = limit;
    int rc = iotls_conn_input(to, p, n, &used);
    iotls_conn_output_consume(from, used);
    *moved = used;
    return rc;
}

static int pump(pair *p)
{
    for (int i = 0; i < 16; i++) {
        size_t moved = 0;
        int rc = iotls__mem_pair_step(p->cl.c, p->sv.c, &p->opts, &moved);
        if (rc != IOTLS_OK)
            return rc;
        if (moved == 0)
            return IOTLS_OK;
    }
    return IOTLS_ERR_TIMEOUT;
}

/* The secrets of both key logs (they must agree) with their keys and IVs. */
static void collect(const pair *p, needles *n, const char *skip)
{
    memset(n, 0, sizeof *n);
    uint16_t suite = p->cl.c->suite ? p->cl.c->suite : p->sv.c->suite;
    needles_from(n, &p->cl.log, suite, skip);
    needles_from(n, &p->sv.log, suite, skip);
}

/* ---------------- (a) orderly close ---------------- */

static void exchange_ping(pair *p)
{
    size_t n = 0;
    uint8_t buf[32];
    CHECK_OK(iotls_conn_write(p->cl.c, (const uint8_t *)"ping", 4, &n));
    CHECK_OK(pump(p));
    CHECK_OK(iotls_conn_read(p->sv.c, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_OK(iotls_conn_write(p->sv.c, (const uint8_t *)"pong", 4, &n));
    CHECK_OK(pump(p));
    CHECK_OK(iotls_conn_read(p->cl.c, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "pong", 4) == 0);
}

/* What only the handshake needed (key shares, the session offered, the
 * HelloRetryRequest's fields digest, the early-data budget: c->hs) is
 * wiped when it completes, all but the role's state number. */
static void expect_hs_wiped(const char *where, const iotls_conn *c)
{
    static const struct iotls_hs_state zero;
    struct iotls_hs_state hs;
    memcpy(&hs, &c->hs, sizeof hs);
    if (c->role == IOTLS_ROLE_CLIENT)
        hs.cl.state = 0;
    else
        hs.sv.state = 0;
    if (memcmp(&hs, &zero, sizeof hs) != 0) {
        fprintf(stderr, "%s: handshake state not wiped\n", where);
        CHECK(0);
    }
}

static void test_orderly(const char *cipher, int mutual)
{
    char where[160];
    needles all, old;
    pair p;
    memset(&all, 0, sizeof all);
    if (pair_open(&p, cipher, mutual) != 0) {
        CHECK(0);
        goto out;
    }
    CHECK_OK(iotls__mem_pair_run(p.cl.c, p.sv.c, &p.opts));
    CHECK(iotls_conn_handshake_done(p.cl.c) && iotls_conn_handshake_done(p.sv.c));
    /* 2 handshake, 2 application traffic secrets, the exporter secret. */
    CHECK(p.cl.log.count == 5 && p.sv.log.count == 5);
    CHECK(!mutual || p.sv.c->client_auth);
    snprintf(where, sizeof where, "%s%s: client after the handshake", cipher,
             mutual ? " mutual" : "");
    expect_hs_wiped(where, p.cl.c);
    snprintf(where, sizeof where, "%s%s: server after the handshake", cipher,
             mutual ? " mutual" : "");
    expect_hs_wiped(where, p.sv.c);
    exchange_ping(&p);

    collect(&p, &all, NULL);
    CHECK(all.count == 2 * (4 * 3 + 1));
    /* The search works: a live connection holds its application secrets. */
    CHECK(scan("live client", p.cl.mem, p.cl.size, &all, 0) > 0);
    CHECK(scan("live server", p.sv.mem, p.sv.size, &all, 0) > 0);
    expect_more_keys("live connections", p.keys_cfg);

    /* A KeyUpdate both ways replaces generation 0 of both application
     * secrets; the handshake secrets went when the handshake completed.
     * Only the exporter secret is still held by a live connection. */
    CHECK_OK(iotls_conn_key_update(p.cl.c, 1));
    CHECK_OK(pump(&p));
    exchange_ping(&p);
    collect(&p, &old, "EXPORTER_SECRET");
    snprintf(where, sizeof where, "%s%s: client after KeyUpdate", cipher, mutual ? " mutual" : "");
    expect_clean(where, p.cl.mem, p.cl.size, &old);
    snprintf(where, sizeof where, "%s%s: server after KeyUpdate", cipher, mutual ? " mutual" : "");
    expect_clean(where, p.sv.mem, p.sv.size, &old);

    /* close_notify both ways. */
    size_t n = 0;
    uint8_t buf[8];
    CHECK_OK(iotls_conn_close(p.cl.c));
    CHECK_OK(pump(&p));
    CHECK_OK(iotls_conn_read(p.sv.c, buf, sizeof buf, &n));
    CHECK(n == 0 && iotls_conn_peer_closed(p.sv.c));
    CHECK_OK(iotls_conn_close(p.sv.c));
    CHECK_OK(pump(&p));
    CHECK_OK(iotls_conn_read(p.cl.c, buf, sizeof buf, &n));
    CHECK(n == 0 && iotls_conn_peer_closed(p.cl.c));
    CHECK_OK(iotls_conn_error(p.cl.c));
    CHECK_OK(iotls_conn_error(p.sv.c));

out:
    snprintf(where, sizeof where, "%s%s: client after close+free", cipher ? cipher : "",
             mutual ? " mutual" : "");
    side_free_checked(&p.cl, where, &all);
    snprintf(where, sizeof where, "%s%s: server after close+free", cipher ? cipher : "",
             mutual ? " mutual" : "");
    side_free_checked(&p.sv, where, &all);
    expect_keys(where, p.keys_before);
}

/* ---------------- (e) resumption: the scratch region ---------------- */

/* Each ticket the client receives: its PSK and the early secret the
 * binders derive from it (needles), and the first one as a session blob. */
typedef struct {
    needles psks;
    uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t blob_len;
    unsigned count;
} tickets_seen;

static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)conn;
    tickets_seen *seen = arg;
    iotls_key_schedule ks;
    char what[64];
    snprintf(what, sizeof what, "PSK of ticket %u", seen->count);
    add_needle(&seen->psks, t->psk, t->psk_len, what);
    CHECK_OK(iotls__ks_init(&ks, iotls__suite_hash(t->cipher_suite), t->psk, t->psk_len));
    snprintf(what, sizeof what, "early secret of ticket %u", seen->count);
    add_needle(&seen->psks, ks.early_secret, t->psk_len, what);
    iotls__ks_wipe(&ks);
    if (seen->count++ == 0) {
        static iotls_session sess;
        CHECK_OK(iotls_session_from_ticket(&sess, t));
        CHECK_OK(iotls_session_save(&sess, seen->blob, sizeof seen->blob, &seen->blob_len));
    }
}

/* One connection of a server that issues two tickets; blob (may be NULL)
 * offered by the client. Both blocks are searched once the tickets have
 * arrived, before iotls_conn_free: the server opened a ticket (resumed:
 * the ticket's PSK in the scratch region, its early secret in the key
 * schedule for the binder) and sealed two (their PSKs in the scratch
 * region), and none of that may be left once the steps returned. */
static void resume_once(const char *cipher, tickets_seen *seen, const uint8_t *blob,
                        size_t blob_len, int want_resumed)
{
    char where[160];
    pair p;
    memset(&p, 0, sizeof p);
    iotls__mem_opts_init(&p.opts);
    p.cl.cfg = make_cfg(0, 0, cipher, &p.cl.log);
    p.sv.cfg = make_cfg(1, 1, cipher, &p.sv.log);
    if (!p.cl.cfg || !p.sv.cfg) {
        CHECK(0);
        goto out;
    }
    /* Both connections' servers share one ticket key. */
    static const uint8_t ticket_key[48] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    CHECK_OK(iotls_config_set_ticket_key(p.sv.cfg, ticket_key));
    CHECK_OK(iotls_config_set_tickets(p.sv.cfg, 2));
    CHECK_OK(iotls_config_set_ticket_cb(p.cl.cfg, on_ticket, seen));
    if (side_init(&p.cl, IOTLS_ROLE_CLIENT) != 0 || side_init(&p.sv, IOTLS_ROLE_SERVER) != 0) {
        CHECK(0);
        goto out;
    }
    if (blob)
        CHECK_OK(iotls_conn_borrow_session(p.cl.c, blob, blob_len));
    CHECK_OK(iotls_conn_start(p.sv.c));
    CHECK_OK(iotls_conn_start(p.cl.c));
    CHECK_OK(iotls__mem_pair_run(p.cl.c, p.sv.c, &p.opts));
    exchange_ping(&p); /* the tickets reach the client */
    CHECK(p.sv.c->resumed == want_resumed && p.cl.c->resumed == want_resumed);
    snprintf(where, sizeof where, "%s%s: server after its tickets", cipher,
             want_resumed ? " resumed" : "");
    expect_clean(where, p.sv.mem, p.sv.size, &seen->psks);
    snprintf(where, sizeof where, "%s%s: client after the tickets", cipher,
             want_resumed ? " resumed" : "");
    expect_clean(where, p.cl.mem, p.cl.size, &seen->psks);
out:
    side_free_checked(&p.cl, NULL, NULL);
    side_free_checked(&p.sv, NULL, NULL);
}

static void test_resumption(const char *cipher)
{
    static tickets_seen seen;
    memset(&seen, 0, sizeof seen);
    resume_once(cipher, &seen, NULL, 0, 0);
    CHECK(seen.count == 2 && seen.blob_len > 0);
    /* The search works: the blob holds the first ticket's PSK. */
    CHECK(scan("session blob", seen.blob, seen.blob_len, &seen.psks, 0) == 1);
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t blob_len = seen.blob_len;
    memcpy(blob, seen.blob, blob_len);
    resume_once(cipher, &seen, blob, blob_len, 1);
    CHECK(seen.count == 4);
}

/* ---------------- (b) fatal error, (c) received alert ---------------- */

typedef struct {
    int dir;      /* direction to damage */
    int done;     /* damaged once already */
    uint64_t min; /* first stream offset that may be damaged */
} tamper;

/* Flips the last byte of the first chunk at or past min in one direction:
 * the last byte of a record (its AEAD tag), so the record does not open. */
static int tamper_tap(void *arg, int dir, uint64_t offset, uint8_t *data, size_t len)
{
    tamper *t = arg;
    if (t->done || dir != t->dir || offset + len <= t->min || len == 0)
        return 0;
    data[len - 1] ^= 0x01;
    t->done = 1;
    return 0;
}

/* A corrupted application record from the client: the server fails with
 * bad_record_mac, the client receives that alert. */
static void test_error_after_handshake(const char *cipher)
{
    char where[160];
    needles all;
    pair p;
    memset(&all, 0, sizeof all);
    if (pair_open(&p, cipher, 0) != 0) {
        CHECK(0);
        goto out;
    }
    CHECK_OK(iotls__mem_pair_run(p.cl.c, p.sv.c, &p.opts));
    collect(&p, &all, NULL);
    CHECK(scan("live server", p.sv.mem, p.sv.size, &all, 0) > 0);
    expect_more_keys("live connections", p.keys_cfg);

    tamper t = {IOTLS_MEM_TO_SERVER, 0, p.opts.bytes_to_server};
    p.opts.tap = tamper_tap;
    p.opts.tap_arg = &t;
    size_t n = 0;
    CHECK_OK(iotls_conn_write(p.cl.c, (const uint8_t *)"ping", 4, &n));
    CHECK_RC(pump(&p), IOTLS_ERR_BAD_RECORD_MAC);
    CHECK(t.done);
    CHECK_RC(iotls_conn_error(p.sv.c), IOTLS_ERR_BAD_RECORD_MAC);
    CHECK_RC(iotls_conn_error(p.cl.c), IOTLS_ERR_ALERT_RECEIVED);
    CHECK(p.cl.c->peer_alert == IOTLS_ALERT_BAD_RECORD_MAC);

    snprintf(where, sizeof where, "%s: server after bad_record_mac, before free", cipher);
    expect_clean(where, p.sv.mem, p.sv.size, &all);
    snprintf(where, sizeof where, "%s: client after the alert, before free", cipher);
    expect_clean(where, p.cl.mem, p.cl.size, &all);
    snprintf(where, sizeof where, "%s: both failed, before free", cipher);
    expect_keys(where, p.keys_cfg);
out:
    snprintf(where, sizeof where, "%s: client after alert+free", cipher);
    side_free_checked(&p.cl, where, &all);
    snprintf(where, sizeof where, "%s: server after error+free", cipher);
    side_free_checked(&p.sv, where, &all);
    expect_keys(where, p.keys_before);
}

/* The server's encrypted flight damaged: the client fails with
 * bad_record_mac in the middle of the handshake (holding handshake and
 * application secrets), the server receives the alert while waiting for the
 * client's Finished. */
static void test_error_during_handshake(const char *cipher)
{
    char where[160];
    needles all;
    pair p;
    memset(&all, 0, sizeof all);
    if (pair_open(&p, cipher, 0) != 0) {
        CHECK(0);
        goto out;
    }
    tamper t = {IOTLS_MEM_TO_CLIENT, 0, 0};
    p.opts.tap = tamper_tap;
    p.opts.tap_arg = &t;
    CHECK_RC(iotls__mem_pair_run(p.cl.c, p.sv.c, &p.opts), IOTLS_ERR_BAD_RECORD_MAC);
    CHECK(t.done);
    CHECK(!iotls_conn_handshake_done(p.cl.c) && !iotls_conn_handshake_done(p.sv.c));
    CHECK_RC(iotls_conn_error(p.cl.c), IOTLS_ERR_BAD_RECORD_MAC);
    CHECK_RC(iotls_conn_error(p.sv.c), IOTLS_ERR_ALERT_RECEIVED);
    CHECK(p.sv.c->peer_alert == IOTLS_ALERT_BAD_RECORD_MAC);
    /* The client logged its handshake secrets before it failed; the server
     * logged all five when it sent its flight. */
    CHECK(p.cl.log.count == 2 && p.sv.log.count == 5);
    collect(&p, &all, NULL);
    CHECK(all.count >= 13);

    snprintf(where, sizeof where, "%s: client after bad_record_mac mid-handshake, before free",
             cipher);
    expect_clean(where, p.cl.mem, p.cl.size, &all);
    snprintf(where, sizeof where, "%s: server after the alert mid-handshake, before free", cipher);
    expect_clean(where, p.sv.mem, p.sv.size, &all);
    snprintf(where, sizeof where, "%s: both failed mid-handshake, before free", cipher);
    expect_keys(where, p.keys_cfg);
out:
    snprintf(where, sizeof where, "%s: client after mid-handshake error+free", cipher);
    side_free_checked(&p.cl, where, &all);
    snprintf(where, sizeof where, "%s: server after mid-handshake alert+free", cipher);
    side_free_checked(&p.sv, where, &all);
    expect_keys(where, p.keys_before);
}

/* ---------------- (d) free in the middle of the handshake ---------------- */

/* ClientHello to the server; all of the server's flight but its last 10
 * bytes to the client. The client then holds the handshake secrets and
 * waits for the rest; the server holds every secret and waits for the
 * client's Finished. Both are freed there. */
static void test_free_mid_handshake(const char *cipher, int mutual)
{
    char where[160];
    needles all;
    pair p;
    memset(&all, 0, sizeof all);
    if (pair_open(&p, cipher, mutual) != 0) {
        CHECK(0);
        goto out;
    }
    size_t moved = 0, pending = 0;
    CHECK_OK(move_some(p.cl.c, p.sv.c, (size_t)-1, &moved));
    CHECK(moved > 0);
    CHECK(iotls_conn_output(p.sv.c, &pending) != NULL && pending > 10);
    CHECK_OK(move_some(p.sv.c, p.cl.c, pending - 10, &moved));
    CHECK(moved == pending - 10);
    CHECK(!iotls_conn_handshake_done(p.cl.c) && !iotls_conn_handshake_done(p.sv.c));
    CHECK_OK(iotls_conn_error(p.cl.c));
    CHECK_OK(iotls_conn_error(p.sv.c));
    CHECK(p.cl.log.count == 2 && p.sv.log.count == 5);
    collect(&p, &all, NULL);
    /* Both hold secrets now: the search must see them. */
    CHECK(scan("client mid-handshake", p.cl.mem, p.cl.size, &all, 0) > 0);
    CHECK(scan("server mid-handshake", p.sv.mem, p.sv.size, &all, 0) > 0);
    expect_more_keys("connections mid-handshake", p.keys_cfg);
out:
    snprintf(where, sizeof where, "%s%s: client freed mid-handshake", cipher,
             mutual ? " mutual" : "");
    side_free_checked(&p.cl, where, &all);
    snprintf(where, sizeof where, "%s%s: server freed mid-handshake", cipher,
             mutual ? " mutual" : "");
    side_free_checked(&p.sv, where, &all);
    expect_keys(where, p.keys_before);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-wipe-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (tl_openssl_pki(g_dir, "iotls wipe CA", "iotls-wipe-client") != 0) {
        fprintf(stderr, "openssl command missing or failed: cannot make test certificates\n");
        CHECK(0);
    } else {
        static const char *const ciphers[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384",
                                              "TLS_CHACHA20_POLY1305_SHA256",
                                              "TLS_AES_128_CCM_SHA256", "TLS_AES_128_CCM_8_SHA256"};
        for (size_t i = 0; i < sizeof ciphers / sizeof ciphers[0]; i++) {
            test_orderly(ciphers[i], 0);
            test_error_after_handshake(ciphers[i]);
            test_error_during_handshake(ciphers[i]);
            test_free_mid_handshake(ciphers[i], 0);
        }
        test_orderly(ciphers[0], 1);
        test_resumption(ciphers[0]);
        test_resumption(ciphers[1]);
        test_free_mid_handshake(ciphers[1], 1);
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("wipe");
}
