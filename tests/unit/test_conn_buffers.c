/* Idle connections without buffers (include/iotls/engine.h,
 * iotls_conn_release_buffers; docs/memory.md): a client and a server engine
 * whose record and handshake buffers come from one small shared pool, taken
 * before each record and given back after it whenever the connection is
 * idle. Data, KeyUpdates both ways, tickets arriving at a detached client
 * and close_notify all work; the buffers stay attached while anything is in
 * them; a detached connection refuses what needs them with BAD_STATE and is
 * not failed by it; a released block is all zeros (and only what was
 * written since the attach was wiped), and (OpenSSL provider)
 * the record keys' cipher contexts are given back with it. Every test runs
 * with an AES-GCM suite and again with AES-128-CCM, whose decryption has a
 * context of its own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conn.h"
#include "enginepair.h"
#include "iotls/engine.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";

/* ---- a pool of buffer blocks shared by both sides ---- */

#define POOL_BLOCKS 4
static void *g_free[POOL_BLOCKS];
static size_t g_free_count;
static size_t g_block_len;
static unsigned g_releases;
static uint16_t g_want_suite; /* the suite the pairs must negotiate */

static void pool_init(size_t block_len)
{
    g_block_len = (block_len + 15) & ~(size_t)15;
    g_free_count = 0;
    for (size_t i = 0; i < POOL_BLOCKS; i++) {
        g_free[i] = aligned_alloc(16, g_block_len);
        CHECK(g_free[i] != NULL);
        /* Garbage, not zeros: a block's contents must not matter. */
        memset(g_free[i], 0xA5, g_block_len);
        g_free_count++;
    }
}

static void pool_done(void)
{
    for (size_t i = 0; i < g_free_count; i++)
        free(g_free[i]);
    g_free_count = 0;
}

static int all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

/* test_wipe_only_written: the free blocks hold this pattern instead of
 * zeros, and a released block must hold, byte by byte, either a zero (the
 * engine wrote there and wiped it) or the pattern (never written). */
static int g_patterned;
static size_t g_untouched; /* pattern bytes in the block just checked */

static uint8_t pattern_at(size_t i)
{
    return (uint8_t)(i * 131u + 7u) | 1u; /* never 0 */
}

static void pattern_fill(uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        p[i] = pattern_at(i);
}

static int wiped_or_untouched(const uint8_t *p, size_t len)
{
    g_untouched = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == pattern_at(i))
            g_untouched++;
        else if (p[i] != 0)
            return 0;
    }
    return 1;
}

/* One side: its state block, and the pool block it holds now (NULL when
 * detached), as a server keeps them per connection. */
typedef struct {
    iotls_conn *c;
    void *state;
    void *block;
    size_t buffers_len;
    size_t untouched; /* g_patterned: pattern bytes left by its last release */
} side;

static void attach(side *s)
{
    if (s->block)
        return;
    CHECK(!iotls_conn_buffers_attached(s->c));
    CHECK(g_free_count > 0);
    if (g_free_count == 0)
        return;
    s->block = g_free[--g_free_count];
    CHECK_OK(iotls_conn_attach_buffers(s->c, s->block, g_block_len));
}

/* Gives the buffers back when idle; the block must come back wiped. The
 * LIFO free list makes the client and the server take each other's blocks. */
static void release_if_idle(side *s)
{
    if (!s->block || !iotls_conn_buffers_idle(s->c))
        return;
    void *mem = NULL;
    CHECK_OK(iotls_conn_release_buffers(s->c, &mem));
    CHECK(mem == s->block && !iotls_conn_buffers_attached(s->c));
    if (g_patterned) {
        CHECK(wiped_or_untouched(s->block, s->buffers_len));
        s->untouched = g_untouched;
    } else
        CHECK(all_zero(s->block, s->buffers_len));
#ifdef IOTLS_CRYPTO_BACKEND_OPENSSL
    /* The record keys' libcrypto contexts went with the buffers; the key
     * (in the state) rebuilds them at the next record. */
    CHECK(s->c->rd.aead.cipher == NULL && s->c->rd.aead.decrypt == NULL);
    CHECK(s->c->wr.aead.cipher == NULL && s->c->wr.aead.decrypt == NULL);
#endif
    g_free[g_free_count++] = s->block;
    s->block = NULL;
    g_releases++;
}

typedef struct {
    side cl, sv;
    tl_wire to_sv, to_cl;
} pair;

/* Sender's output onto the wire, then at most ONE record of the wire into
 * the receiver; each side attaches for its turn and releases after it. */
static int step(side *from, tl_wire *w, side *to)
{
    int progress = 0;
    size_t n;
    attach(from);
    const uint8_t *p = iotls_conn_output(from->c, &n);
    if (p && n <= sizeof w->buf - w->len) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
        iotls_conn_output_consume(from->c, n);
        progress = 1;
    }
    release_if_idle(from);
    if (w->len < 5)
        return progress;
    size_t rec = 5 + ((size_t)w->buf[3] << 8 | w->buf[4]);
    if (rec > w->len)
        return progress;
    attach(to);
    size_t used = 0;
    int rc = iotls_conn_input(to->c, w->buf, rec, &used);
    memmove(w->buf, w->buf + used, w->len - used);
    w->len -= used;
    release_if_idle(to);
    if (rc != IOTLS_OK)
        return rc;
    return progress || used > 0;
}

static void pump(pair *p)
{
    for (int i = 0; i < 200; i++) {
        int a = step(&p->cl, &p->to_sv, &p->sv);
        int b = step(&p->sv, &p->to_cl, &p->cl);
        CHECK(a >= 0 && b >= 0);
        if (a <= 0 && b <= 0)
            break;
    }
}

/* The state in a block of exactly iotls_conn_state_size, the buffers from
 * the pool: nothing of the connection may live beyond its state block. */
static void side_new(side *s, const iotls_config *cfg, iotls_role role, const char *name)
{
    memset(s, 0, sizeof *s);
    size_t len = iotls_conn_state_size(cfg);
    s->buffers_len = iotls_conn_buffers_size(cfg);
    CHECK(s->buffers_len <= g_block_len);
    s->state = aligned_alloc(16, (len + 15) & ~(size_t)15);
    CHECK(s->state != NULL && g_free_count > 0);
    s->block = g_free[--g_free_count];
    s->c = iotls_conn_init_split(s->state, len, s->block, g_block_len, cfg, role, name);
    CHECK(s->c != NULL);
}

/* As a server closing a connection: free it (which wipes attached
 * buffers) and put its block back. */
static void side_free(side *s)
{
    if (s->c)
        iotls_conn_free(s->c);
    if (s->block) {
        CHECK(all_zero(s->block, s->buffers_len));
        g_free[g_free_count++] = s->block;
    }
    free(s->state);
    memset(s, 0, sizeof *s);
}

static int pair_up(pair *p, const iotls_config *scfg, const iotls_config *ccfg)
{
    memset(p, 0, sizeof *p);
    side_new(&p->sv, scfg, IOTLS_ROLE_SERVER, NULL);
    side_new(&p->cl, ccfg, IOTLS_ROLE_CLIENT, g_name);
    if (!p->sv.c || !p->cl.c)
        return -1;
    CHECK_OK(iotls_conn_start(p->sv.c));
    CHECK_OK(iotls_conn_start(p->cl.c));
    /* The handshake keeps its buffers: never idle before it is done. */
    CHECK(!iotls_conn_buffers_idle(p->cl.c) && !iotls_conn_buffers_idle(p->sv.c));
    pump(p);
    int done = iotls_conn_handshake_done(p->cl.c) && iotls_conn_handshake_done(p->sv.c);
    CHECK(done);
    return done ? 0 : -1;
}

static void pair_free(pair *p)
{
    side_free(&p->cl);
    side_free(&p->sv);
}

static unsigned g_tickets;
static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)arg;
    (void)conn;
    if (t->ticket_len > 0)
        g_tickets++;
}

/* Reads one side's pending application data (attached: a held record
 * keeps its buffers), then lets it release. */
static size_t read_all(side *s, uint8_t *buf, size_t cap)
{
    size_t got = 0, n = 0;
    while (got < cap && iotls_conn_read(s->c, buf + got, cap - got, &n) == IOTLS_OK && n > 0)
        got += n;
    release_if_idle(s);
    return got;
}

static void write_all(side *s, const char *text)
{
    size_t n = 0;
    attach(s);
    CHECK_OK(iotls_conn_write(s->c, (const uint8_t *)text, strlen(text), &n));
    CHECK(n == strlen(text));
    /* Sealed but not sent: the buffers are not idle. */
    CHECK(!iotls_conn_buffers_idle(s->c));
    void *mem = (void *)1;
    CHECK_RC(iotls_conn_release_buffers(s->c, &mem), IOTLS_ERR_BAD_STATE);
    CHECK(mem == NULL);
}

/* Data both ways, KeyUpdates both ways, tickets at a detached client and
 * close_notify, one record at a time, the buffers given back after every
 * record on both sides. */
static void test_release_every_record(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    uint8_t buf[256];
    g_tickets = 0;
    if (pair_up(&p, scfg, ccfg) != 0) {
        pair_free(&p);
        return;
    }
    /* The client finished first and was idle when the server's tickets
     * (sent after the client's Finished) came in: it attached for them. */
    CHECK(g_tickets == 2);
    CHECK(p.cl.block == NULL && p.sv.block == NULL);
    CHECK(g_free_count == POOL_BLOCKS);
    unsigned releases = g_releases;

    for (int round = 0; round < 3; round++) {
        write_all(&p.cl, "ping from the client");
        pump(&p);
        /* The record waits, unread, in the server's rx: attached. */
        CHECK(p.sv.block != NULL && !iotls_conn_buffers_idle(p.sv.c));
        CHECK(read_all(&p.sv, buf, sizeof buf) == 20 &&
              memcmp(buf, "ping from the client", 20) == 0);
        CHECK(p.sv.block == NULL);
        write_all(&p.sv, "pong from the server");
        pump(&p);
        CHECK(read_all(&p.cl, buf, sizeof buf) == 20 &&
              memcmp(buf, "pong from the server", 20) == 0);
        CHECK(p.cl.block == NULL && p.sv.block == NULL);

        /* KeyUpdate with update_requested, from each side in turn: the
         * answer comes back through a peer that was detached. */
        side *ku = round % 2 ? &p.sv : &p.cl;
        attach(ku);
        CHECK_OK(iotls_conn_key_update(ku->c, 1));
        pump(&p);
        CHECK(p.cl.block == NULL && p.sv.block == NULL);
    }
    iotls_info ci, si;
    CHECK_OK(iotls_conn_info(p.cl.c, &ci));
    CHECK_OK(iotls_conn_info(p.sv.c, &si));
    CHECK(ci.cipher_suite == g_want_suite && si.cipher_suite == g_want_suite);
    CHECK(ci.key_updates_sent == 3 && ci.key_updates_received == 3);
    CHECK(si.key_updates_sent == 3 && si.key_updates_received == 3);
    /* Data still flows under the new keys. */
    write_all(&p.cl, "after the updates");
    pump(&p);
    CHECK(read_all(&p.sv, buf, sizeof buf) == 17);

    /* close_notify from the client, into a detached server. */
    attach(&p.cl);
    CHECK_OK(iotls_conn_close(p.cl.c));
    pump(&p);
    size_t n = 99;
    CHECK_OK(iotls_conn_read(p.sv.c, buf, sizeof buf, &n)); /* detached: end of stream */
    CHECK(n == 0 && iotls_conn_peer_closed(p.sv.c));
    CHECK_OK(iotls_conn_error(p.cl.c));
    CHECK_OK(iotls_conn_error(p.sv.c));
    /* Both sides, every record: at least one release per record moved. */
    CHECK(g_releases - releases >= 20);
    pair_free(&p);
}

/* A release wipes what the connection wrote since the buffers were
 * attached, not the whole 50 to 75 KiB block: after a small record each
 * way, nearly all of the block was never touched and is left as it was
 * (here a pattern instead of zeros, to tell the two apart), while every
 * byte written is zero again. A KeyUpdate (a handshake message, built
 * anywhere in the free space) makes it wipe the whole block. */
static void test_wipe_only_written(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    uint8_t buf[256];
    if (pair_up(&p, scfg, ccfg) != 0) {
        pair_free(&p);
        return;
    }
    CHECK(p.cl.block == NULL && p.sv.block == NULL);
    for (size_t i = 0; i < g_free_count; i++)
        pattern_fill(g_free[i], g_block_len);
    g_patterned = 1;
    for (int round = 0; round < 3; round++) {
        write_all(&p.cl, "ping from the client");
        pump(&p);
        CHECK(read_all(&p.sv, buf, sizeof buf) == 20);
        CHECK(p.sv.block == NULL);
        /* A record of 20 bytes in (header, content, type, tag): well
         * under 1 KiB written. */
        CHECK(p.sv.untouched + 1024 > p.sv.buffers_len);
        write_all(&p.sv, "pong from the server");
        pump(&p);
        CHECK(read_all(&p.cl, buf, sizeof buf) == 20);
        CHECK(p.cl.block == NULL);
        CHECK(p.cl.untouched + 1024 > p.cl.buffers_len);
    }
    attach(&p.cl);
    CHECK_OK(iotls_conn_key_update(p.cl.c, 0));
    pump(&p);
    CHECK(p.cl.block == NULL && p.sv.block == NULL);
    CHECK(p.cl.untouched == 0); /* it built the KeyUpdate */
    g_patterned = 0;
    for (size_t i = 0; i < g_free_count; i++)
        memset(g_free[i], 0, g_block_len);
    pair_free(&p);
}

/* iotls_conn_init_split leaves the buffers as given: every byte of them is
 * written before it is read or sent, so their contents do not matter (a
 * board whose malloc clears every block pays one clear, not two). A
 * handshake and data both ways over blocks full of a pattern, and
 * iotls_conn_free gives the block back all zeros, its alignment padding
 * included. */
static void test_init_leaves_buffers(const iotls_config *scfg, const iotls_config *ccfg)
{
    for (size_t i = 0; i < g_free_count; i++)
        pattern_fill(g_free[i], g_block_len);
    side s;
    side_new(&s, ccfg, IOTLS_ROLE_CLIENT, g_name);
    size_t untouched = 0;
    for (size_t i = 0; s.block != NULL && i < s.buffers_len; i++)
        untouched += ((const uint8_t *)s.block)[i] == pattern_at(i);
    CHECK(untouched == s.buffers_len);
    side_free(&s); /* checks the block is all zeros */

    static pair p;
    uint8_t buf[256];
    if (pair_up(&p, scfg, ccfg) == 0) {
        write_all(&p.cl, "ping from the client");
        pump(&p);
        CHECK(read_all(&p.sv, buf, sizeof buf) == 20 && memcmp(buf, "ping", 4) == 0);
        write_all(&p.sv, "pong from the server");
        pump(&p);
        CHECK(read_all(&p.cl, buf, sizeof buf) == 20 && memcmp(buf, "pong", 4) == 0);
    }
    pair_free(&p);
    for (size_t i = 0; i < g_free_count; i++)
        memset(g_free[i], 0, g_block_len);
}

/* Partial record, unread record, unsent output: not idle, not released. */
static void test_not_idle(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    uint8_t buf[64];
    void *mem;
    if (pair_up(&p, scfg, ccfg) != 0) {
        pair_free(&p);
        return;
    }
    write_all(&p.cl, "partial");
    size_t len;
    attach(&p.cl);
    const uint8_t *out = iotls_conn_output(p.cl.c, &len);
    CHECK(out != NULL && len > 8);
    if (!out || len <= 8) {
        pair_free(&p);
        return;
    }
    uint8_t rec[128];
    CHECK(len <= sizeof rec);
    memcpy(rec, out, len);
    iotls_conn_output_consume(p.cl.c, len);
    release_if_idle(&p.cl);
    CHECK(p.cl.block == NULL);

    attach(&p.sv);
    size_t used;
    /* Half a header, then half a body: a record partly received. */
    CHECK_OK(iotls_conn_input(p.sv.c, rec, 3, &used));
    CHECK(used == 3 && !iotls_conn_buffers_idle(p.sv.c));
    mem = (void *)1;
    CHECK_RC(iotls_conn_release_buffers(p.sv.c, &mem), IOTLS_ERR_BAD_STATE);
    CHECK(mem == NULL && iotls_conn_buffers_attached(p.sv.c));
    CHECK_OK(iotls_conn_input(p.sv.c, rec + 3, 5, &used));
    CHECK(used == 5 && !iotls_conn_buffers_idle(p.sv.c));
    CHECK_OK(iotls_conn_input(p.sv.c, rec + 8, len - 8, &used));
    CHECK(used == len - 8);
    /* Opened but unread. */
    CHECK(!iotls_conn_buffers_idle(p.sv.c));
    CHECK_RC(iotls_conn_release_buffers(p.sv.c, &mem), IOTLS_ERR_BAD_STATE);
    /* Partly read: still not. */
    size_t n;
    CHECK_OK(iotls_conn_read(p.sv.c, buf, 3, &n));
    CHECK(n == 3 && !iotls_conn_buffers_idle(p.sv.c));
    CHECK_OK(iotls_conn_read(p.sv.c, buf + 3, sizeof buf - 3, &n));
    CHECK(n == 4 && memcmp(buf, "partial", 7) == 0);
    CHECK(iotls_conn_buffers_idle(p.sv.c));
    release_if_idle(&p.sv);
    CHECK(p.sv.block == NULL);
    pair_free(&p);
}

/* A handshake message split over two records (a KeyUpdate here, sealed
 * with the server's keys as a peer may send it): while its first part
 * waits in the reassembler the buffers are busy; once it is handled they
 * are idle again, though the reassembler has not been reset yet. */
static void test_split_message(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    if (pair_up(&p, scfg, ccfg) != 0) {
        pair_free(&p);
        return;
    }
    static const uint8_t key_update[5] = {24, 0, 0, 1, 0}; /* update_not_requested */
    uint8_t rec[2][64];
    size_t rec_len[2];
    CHECK_OK(
        iotls__record_seal(&p.sv.c->wr, 22, key_update, 3, 0, rec[0], sizeof rec[0], &rec_len[0]));
    CHECK_OK(iotls__record_seal(&p.sv.c->wr, 22, key_update + 3, 2, 0, rec[1], sizeof rec[1],
                                &rec_len[1]));
    attach(&p.cl);
    size_t used = 0;
    CHECK_OK(iotls_conn_input(p.cl.c, rec[0], rec_len[0], &used));
    CHECK(used == rec_len[0] && !iotls_conn_buffers_idle(p.cl.c));
    void *mem = (void *)1;
    CHECK_RC(iotls_conn_release_buffers(p.cl.c, &mem), IOTLS_ERR_BAD_STATE);
    CHECK(mem == NULL);
    CHECK_OK(iotls_conn_input(p.cl.c, rec[1], rec_len[1], &used));
    iotls_info info;
    CHECK_OK(iotls_conn_info(p.cl.c, &info));
    CHECK(used == rec_len[1] && info.key_updates_received == 1);
    CHECK(iotls_conn_buffers_idle(p.cl.c));
    release_if_idle(&p.cl);
    CHECK(p.cl.block == NULL);
    pair_free(&p);
}

/* ---- reassembly in rx (iotls_config_set_reassemble_in_place) ---- */

/* A NewSessionTicket of total bytes (header included; at least 16): its
 * ticket fills the rest, the nonce is seq. */
static size_t make_ticket_msg(uint8_t *out, size_t total, uint8_t seq)
{
    size_t body = total - 4, ticket = body - (4 + 4 + 1 + 1 + 2 + 2);
    size_t i = 0;
    out[i++] = 4;
    out[i++] = (uint8_t)(body >> 16);
    out[i++] = (uint8_t)(body >> 8);
    out[i++] = (uint8_t)body;
    static const uint8_t lifetime_age[8] = {0, 0, 0x0e, 0x10, 1, 2, 3, 4};
    memcpy(out + i, lifetime_age, 8);
    i += 8;
    out[i++] = 1;
    out[i++] = seq;
    out[i++] = (uint8_t)(ticket >> 8);
    out[i++] = (uint8_t)ticket;
    for (size_t k = 0; k < ticket; k++)
        out[i++] = (uint8_t)(k * 7u + seq);
    out[i++] = 0;
    out[i++] = 0;
    return i;
}

/* The server's handshake records to the client, sealed with its keys as a
 * peer may cut them: cuts[k] bytes of msgs (pad[k] bytes of padding) per
 * record. The client's result for the last record; the client must take
 * every record whole before it. */
static int send_cut(pair *p, const uint8_t *msgs, const size_t *cuts, const size_t *pad,
                    size_t nrec)
{
    uint8_t rec[2048];
    size_t off = 0;
    int rc = IOTLS_OK;
    attach(&p->cl);
    for (size_t k = 0; k < nrec && rc == IOTLS_OK; k++) {
        size_t rec_len = 0, used = 0;
        CHECK_OK(iotls__record_seal(&p->sv.c->wr, 22, msgs + off, cuts[k], pad ? pad[k] : 0, rec,
                                    sizeof rec, &rec_len));
        off += cuts[k];
        rc = iotls_conn_input(p->cl.c, rec, rec_len, &used);
        if (rc == IOTLS_OK)
            CHECK(used == rec_len);
        /* A message still partial: busy, its part held in rx. */
        if (rc == IOTLS_OK && k + 1 < nrec)
            CHECK(!iotls_conn_buffers_idle(p->cl.c));
    }
    return rc;
}

/* A client that reassembles in rx (record size 1024: rx 1046 B) beside a
 * server sending records of at most 512: every message that spans records
 * fits behind its first part. Handshake, then tickets cut as a peer may:
 * one over many records, the end of one + a whole one + the start of the
 * next in one record; the buffers come back with every byte written wiped
 * (the pool holds a pattern). Then the layouts refused: the record that
 * continues a message does not fit behind its first part (padding makes
 * it so; the separate reassembly buffer takes the same records), a record
 * of another type, or a key change, inside a partial message. */
static void test_in_place_records(int in_place)
{
    iotls_config *scfg = iotls_config_new();
    iotls_config *ccfg = iotls_config_new();
    CHECK(scfg && ccfg);
    if (!scfg || !ccfg)
        return;
    CHECK_OK(iotls_config_set_cert_mem(scfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_send_record_size(scfg, 512));
    CHECK_OK(iotls_config_set_tickets(scfg, 2));
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    CHECK_OK(iotls_config_set_ticket_cb(ccfg, on_ticket, NULL));
    CHECK_OK(iotls_config_set_record_size(ccfg, 1024));
    CHECK_OK(iotls_config_set_reassemble_in_place(ccfg, in_place));
    static pair p;
    static uint8_t msgs[3000];
    size_t n1, n2, n3;

    /* Tickets over many records, and several messages in one record. */
    if (pair_up(&p, scfg, ccfg) == 0) {
        attach(&p.cl);
        CHECK(p.cl.c->reasm.in_place == (in_place != 0));
        if (in_place)
            CHECK(p.cl.c->reasm.cap == 0 && p.cl.c->reasm.buf == p.cl.c->rx);
        release_if_idle(&p.cl);
        unsigned tickets = g_tickets;
        for (size_t i = 0; i < g_free_count; i++)
            pattern_fill(g_free[i], g_block_len);
        g_patterned = 1;
        n1 = make_ticket_msg(msgs, 300, 1);
        size_t ones[300], one_pad[300];
        for (size_t k = 0; k < 300; k++) {
            ones[k] = 1;
            one_pad[k] = k % 5; /* padded records too */
        }
        CHECK_OK(send_cut(&p, msgs, ones, one_pad, n1));
        release_if_idle(&p.cl);
        CHECK(p.cl.block == NULL && g_tickets == tickets + 1);
        n1 = make_ticket_msg(msgs, 600, 2);
        n2 = make_ticket_msg(msgs + n1, 100, 3);
        n3 = make_ticket_msg(msgs + n1 + n2, 400, 4);
        size_t cuts[3] = {500, n1 - 500 + n2 + 2, n3 - 2};
        CHECK_OK(send_cut(&p, msgs, cuts, NULL, 3));
        release_if_idle(&p.cl);
        CHECK(p.cl.block == NULL && g_tickets == tickets + 4);
        /* Only a few records' worth of the block was written. */
        CHECK(p.cl.untouched + 2048 > p.cl.buffers_len);
        g_patterned = 0;
        for (size_t i = 0; i < g_free_count; i++)
            memset(g_free[i], 0, g_block_len);
    }
    pair_free(&p);

    /* 700 bytes held, then a record of 300 bytes padded by 200: 522 bytes
     * behind 700 in 1046. The peer broke no rule: internal_error. */
    if (pair_up(&p, scfg, ccfg) == 0) {
        n1 = make_ticket_msg(msgs, 1000, 5);
        size_t cuts[2] = {700, n1 - 700}, pad[2] = {0, 200};
        int rc = send_cut(&p, msgs, cuts, pad, 2);
        iotls_info info;
        CHECK_OK(iotls_conn_info(p.cl.c, &info));
        if (in_place) {
            CHECK_RC(rc, IOTLS_ERR_REASSEMBLY_ROOM);
            CHECK(info.alert_sent == IOTLS_ALERT_INTERNAL_ERROR);
        } else {
            CHECK_OK(rc);
            CHECK(info.alert_sent == -1);
        }
    }
    pair_free(&p);

    /* Inside a partial message: application data, then (separately) a
     * KeyUpdate that ends with the start of the next message in its
     * record. unexpected_message (RFC 8446 5.1). */
    for (int kind = 0; kind < 2; kind++) {
        if (pair_up(&p, scfg, ccfg) != 0) {
            pair_free(&p);
            continue;
        }
        int rc;
        if (kind == 0) {
            n1 = make_ticket_msg(msgs, 200, 6);
            size_t cut = 50;
            CHECK_OK(send_cut(&p, msgs, &cut, NULL, 1));
            uint8_t rec[64];
            size_t rec_len = 0, used = 0;
            CHECK_OK(iotls__record_seal(&p.sv.c->wr, 23, (const uint8_t *)"data", 4, 0, rec,
                                        sizeof rec, &rec_len));
            rc = iotls_conn_input(p.cl.c, rec, rec_len, &used);
        } else {
            static const uint8_t key_update[5] = {24, 0, 0, 1, 0};
            memcpy(msgs, key_update, 5);
            n1 = make_ticket_msg(msgs + 5, 200, 7);
            size_t cut = 5 + 2;
            rc = send_cut(&p, msgs, &cut, NULL, 1);
        }
        iotls_info info;
        CHECK_OK(iotls_conn_info(p.cl.c, &info));
        CHECK_RC(rc, IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(info.alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
        pair_free(&p);
    }
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

/* During the handshake, before any key: the start of a ServerHello, then a
 * change_cipher_spec (or an alert) inside it: unexpected_message. */
static void test_partial_then_other_type(const iotls_config *ccfg)
{
    static const uint8_t hello_start[] = {22, 3, 3, 0, 10, 2, 0, 0, 80, 3, 3, 1, 2, 3, 4};
    static const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    static const uint8_t alert[] = {21, 3, 3, 0, 2, 2, 40};
    for (int kind = 0; kind < 2; kind++) {
        iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
        CHECK(cl != NULL);
        if (!cl)
            return;
        CHECK_OK(iotls_conn_start(cl));
        size_t n;
        (void)iotls_conn_output(cl, &n);
        iotls_conn_output_consume(cl, n);
        size_t used = 0;
        CHECK_OK(iotls_conn_input(cl, hello_start, sizeof hello_start, &used));
        CHECK(used == sizeof hello_start && iotls__hs_reasm_pending(&cl->reasm) == 10);
        int rc = kind == 0 ? iotls_conn_input(cl, ccs, sizeof ccs, &used)
                           : iotls_conn_input(cl, alert, sizeof alert, &used);
        CHECK_RC(rc, IOTLS_ERR_UNEXPECTED_MESSAGE);
        iotls_info info;
        CHECK_OK(iotls_conn_info(cl, &info));
        CHECK(info.alert_sent == IOTLS_ALERT_UNEXPECTED_MESSAGE);
        tl_conn_free(cl);
    }
}

/* While detached: what needs buffers is BAD_STATE and leaves the
 * connection healthy; attaching again, everything works. */
static void test_detached_calls(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    uint8_t buf[64];
    if (pair_up(&p, scfg, ccfg) != 0) {
        pair_free(&p);
        return;
    }
    for (int i = 0; i < 2; i++) {
        side *s = i ? &p.sv : &p.cl;
        iotls_conn *c = s->c;
        CHECK(s->block == NULL && !iotls_conn_buffers_attached(c));
        CHECK(!iotls_conn_buffers_idle(c));
        void *mem = (void *)1;
        CHECK_RC(iotls_conn_release_buffers(c, &mem), IOTLS_ERR_BAD_STATE);
        CHECK(mem == NULL);
        size_t n = 99, cap = 99;
        CHECK_RC(iotls_conn_input(c, (const uint8_t *)"\x17\x03\x03\x00\x20", 5, &n),
                 IOTLS_ERR_BAD_STATE);
        CHECK(n == 0);
        CHECK(iotls_conn_input_space(c, &cap) == NULL && cap == 0);
        CHECK_RC(iotls_conn_input_commit(c, 1), IOTLS_ERR_BAD_STATE);
        CHECK_RC(iotls_conn_write(c, (const uint8_t *)"x", 1, &n), IOTLS_ERR_BAD_STATE);
        CHECK(n == 0);
        CHECK_RC(iotls_conn_key_update(c, 1), IOTLS_ERR_BAD_STATE);
        CHECK_RC(iotls_conn_close(c), IOTLS_ERR_BAD_STATE);
        CHECK_RC(iotls_conn_start(c), IOTLS_ERR_BAD_STATE);
        CHECK(iotls_conn_output(c, &n) == NULL && n == 0);
        iotls_conn_output_consume(c, 10);
        CHECK_RC(iotls_conn_read(c, buf, sizeof buf, &n), IOTLS_WANT_READ);
        CHECK_OK(iotls_conn_error(c));
        iotls_info info;
        CHECK_OK(iotls_conn_info(c, &info));
        /* A block too small or misaligned is refused; a second one too. */
        CHECK_RC(iotls_conn_attach_buffers(c, g_free[0], s->buffers_len - 1), IOTLS_ERR_BAD_ARG);
        CHECK_RC(iotls_conn_attach_buffers(c, (uint8_t *)g_free[0] + 8, s->buffers_len),
                 IOTLS_ERR_BAD_ARG);
        CHECK(!iotls_conn_buffers_attached(c));
        attach(s);
        CHECK_RC(iotls_conn_attach_buffers(c, g_free[0], g_block_len), IOTLS_ERR_BAD_STATE);
    }
    /* Healthy after all that: data both ways. */
    write_all(&p.cl, "still here");
    pump(&p);
    CHECK(read_all(&p.sv, buf, sizeof buf) == 10 && memcmp(buf, "still here", 10) == 0);
    write_all(&p.sv, "me too");
    pump(&p);
    CHECK(read_all(&p.cl, buf, sizeof buf) == 6 && memcmp(buf, "me too", 6) == 0);
    pair_free(&p);
}

/* The two parts add up to the whole block; the state is small; a
 * connection made with iotls_conn_init releases the suffix of its block. */
static void test_sizes(const iotls_config *scfg, const iotls_config *ccfg)
{
    const iotls_config *cfgs[2] = {scfg, ccfg};
    for (int i = 0; i < 2; i++) {
        size_t st = iotls_conn_state_size(cfgs[i]);
        size_t bu = iotls_conn_buffers_size(cfgs[i]);
        CHECK(st + bu == iotls_conn_size(cfgs[i]));
        CHECK(st % 16 == 0 && st < 4096 && bu > 8 * st);
        printf("  %s: state %zu B, buffers %zu B\n", i ? "client" : "server", st, bu);
    }
    /* iotls_conn_init: a handshake in one block, then the buffers released
     * are the block's tail, wiped. */
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv && cl);
    if (sv && cl) {
        static tl_wire a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK_OK(iotls_conn_start(cl));
        for (int i = 0; i < 20; i++) {
            int x = tl_shuttle(cl, &a, sv, NULL);
            int y = tl_shuttle(sv, &b, cl, NULL);
            if (x <= 0 && y <= 0)
                break;
        }
        CHECK(iotls_conn_handshake_done(cl));
        void *mem = NULL;
        CHECK(iotls_conn_buffers_idle(cl));
        CHECK_OK(iotls_conn_release_buffers(cl, &mem));
        CHECK(mem == (uint8_t *)cl + iotls_conn_state_size(ccfg));
        if (mem)
            CHECK(all_zero(mem, iotls_conn_buffers_size(ccfg)));
        CHECK_OK(iotls_conn_attach_buffers(cl, mem, iotls_conn_buffers_size(ccfg)));
    }
    tl_conn_free(cl);
    tl_conn_free(sv);
}

/* The buffers keep the layout the connection was made with: a
 * configuration changed afterwards (larger max_handshake and record size:
 * larger buffers for new connections) neither makes the release wipe past
 * the connection's block nor refuses that block when it comes back. */
static void test_layout_fixed(const iotls_config *scfg)
{
    iotls_config *ccfg = iotls_config_new();
    CHECK(ccfg != NULL);
    if (!ccfg)
        return;
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    CHECK_OK(iotls_config_set_record_size(ccfg, 1024));
    CHECK_OK(iotls_config_set_max_handshake_size(ccfg, 4096));
    size_t state_len = (iotls_conn_state_size(ccfg) + 15) & ~(size_t)15;
    size_t buffers_len = iotls_conn_buffers_size(ccfg);
    void *state = aligned_alloc(16, state_len);
    void *block = aligned_alloc(16, buffers_len); /* exactly: ASan sees a wipe past it */
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = state && block ? iotls_conn_init_split(state, state_len, block, buffers_len,
                                                            ccfg, IOTLS_ROLE_CLIENT, g_name)
                                    : NULL;
    CHECK(sv && cl);
    if (sv && cl) {
        static tl_wire a, b;
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        CHECK_OK(iotls_conn_start(cl));
        for (int i = 0; i < 20; i++) {
            int x = tl_shuttle(cl, &a, sv, NULL);
            int y = tl_shuttle(sv, &b, cl, NULL);
            if (x <= 0 && y <= 0)
                break;
        }
        CHECK(iotls_conn_handshake_done(cl));
        CHECK_OK(iotls_config_set_max_handshake_size(ccfg, 65536));
        CHECK_OK(iotls_config_set_record_size(ccfg, 16384));
        CHECK(iotls_conn_buffers_size(ccfg) > buffers_len);
        void *mem = NULL;
        CHECK_OK(iotls_conn_release_buffers(cl, &mem));
        CHECK(mem == block && all_zero(block, buffers_len));
        CHECK_OK(iotls_conn_attach_buffers(cl, block, buffers_len));
        /* And it still works in that block. */
        size_t n = 0;
        CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"ping", 4, &n));
        CHECK(n == 4);
    }
    if (cl)
        iotls_conn_free(cl);
    tl_conn_free(sv);
    free(block);
    free(state);
    iotls_config_free(ccfg);
}

int main(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    if (tl_make_pki("CN=buffers test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                    sizeof ca_key) != IOTLS_OK) {
        fprintf(stderr, "could not make test certificates\n");
        CHECK(0);
        return tl_finish("conn_buffers");
    }
    iotls_config *scfg = iotls_config_new();
    iotls_config *ccfg = iotls_config_new();
    CHECK(scfg && ccfg);
    if (!scfg || !ccfg)
        return tl_finish("conn_buffers");
    CHECK_OK(iotls_config_set_cert_mem(scfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_tickets(scfg, 2));
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    CHECK_OK(iotls_config_set_ticket_cb(ccfg, on_ticket, NULL));
    size_t sb = iotls_conn_buffers_size(scfg), cb = iotls_conn_buffers_size(ccfg);
    pool_init(sb > cb ? sb : cb);

    test_sizes(scfg, ccfg);
    test_layout_fixed(scfg);
    /* Every test again with reassembly in rx on both sides (no reasm
     * buffer: max_handshake less per connection). */
    for (int in_place = 0; in_place < 2; in_place++) {
        CHECK_OK(iotls_config_set_reassemble_in_place(ccfg, in_place));
        CHECK_OK(iotls_config_set_reassemble_in_place(scfg, in_place));
        if (in_place) {
            CHECK_OK(iotls_config_set_ciphers(ccfg, "aes128gcm"));
            CHECK_OK(iotls_config_set_ciphers(scfg, "aes128gcm"));
        }
        if (in_place)
            CHECK(iotls_conn_buffers_size(ccfg) + 16384 == cb &&
                  iotls_conn_buffers_size(scfg) + 16384 == sb);
        for (int ccm = 0; ccm < 2; ccm++) {
            if (ccm) {
                CHECK_OK(iotls_config_set_ciphers(ccfg, "aes128ccm"));
                CHECK_OK(iotls_config_set_ciphers(scfg, "aes128ccm"));
            }
            g_want_suite = ccm ? 0x1304 : 0x1301;
            test_init_leaves_buffers(scfg, ccfg);
            test_release_every_record(scfg, ccfg);
            test_wipe_only_written(scfg, ccfg);
            test_not_idle(scfg, ccfg);
            test_split_message(scfg, ccfg);
            test_detached_calls(scfg, ccfg);
            CHECK(g_free_count == POOL_BLOCKS);
        }
        test_in_place_records(in_place);
        test_partial_then_other_type(ccfg);
        CHECK(g_free_count == POOL_BLOCKS);
    }

    pool_done();
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    return tl_finish("conn_buffers");
}
