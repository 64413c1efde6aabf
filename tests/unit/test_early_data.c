/* 0-RTT early data (RFC 8446 2.3, 4.2.10, 8): our client against our server
 * in memory, with clocks the test sets.
 *
 *  - accepted: the server reads the early data before the client's Finished
 *    arrives, both sides report ACCEPTED, EndOfEarlyData is sent under the
 *    early keys and the server switches early -> handshake read keys on it
 *    (both Finished MACs, which cover it, verify);
 *  - rejected by policy (server with 0-RTT off, same ticket key): both
 *    report REJECTED, the server never sees the data, the client resends it
 *    after the handshake;
 *  - more early data than the ticket allows: unexpected_message;
 *  - 16 KiB, more than tx holds behind the ClientHello: written in parts
 *    as iotls_conn_early_room allows, all of it accepted;
 *  - the same first flight (ClientHello + early records) fed to a second
 *    server connection of the same config: its early data is refused;
 *  - after such a declined flight, a flood of empty or tiny records the
 *    server cannot open: skipped only within its budget, then
 *    unexpected_message;
 *  - a ticket age outside the window: refused;
 *  - a client whose clock runs ahead: its first flight replayed after the
 *    window, while the age check still passes it, is refused;
 *  - the default replay store itself: seen, expiry after twice the window,
 *    full ring. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "config/replay.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/session.h"
#include "msg/msg.h"
#include "enginepair.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";
static const uint8_t g_ticket_key[48] = {7, 7, 7, 1, 2, 3};

static int make_pki(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    int rc =
        tl_make_pki("CN=early test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert, sizeof ca_key);
    return rc;
}

typedef struct {
    uint64_t now;
} test_clock;

static uint64_t clock_now(void *arg)
{
    return ((test_clock *)arg)->now;
}

typedef struct {
    int count;
    uint32_t max_early;
    uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len;
} ticket_store;

static void store_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)conn;
    ticket_store *st = arg;
    iotls_session s;
    st->count++;
    st->max_early = t->max_early_data;
    CHECK_OK(iotls_session_from_ticket(&s, t));
    CHECK_OK(iotls_session_save(&s, st->blob, sizeof st->blob, &st->len));
}

/* What the trace saw, in order. */
typedef struct {
    char log[64][24];
    int n;
} trace_log;

static void tracer(void *arg, const iotls_conn *conn, const iotls_event *ev)
{
    trace_log *t = arg;
    if (t->n >= 64)
        return;
    const char *who = conn->role == IOTLS_ROLE_CLIENT ? "c" : "s";
    if (ev->kind == IOTLS_EV_HS_SENT || ev->kind == IOTLS_EV_HS_RECEIVED)
        snprintf(t->log[t->n++], 24, "%s%s%u", who, ev->kind == IOTLS_EV_HS_SENT ? ">" : "<",
                 ev->hs_type);
    else if (ev->kind == IOTLS_EV_KEYS_READ)
        snprintf(t->log[t->n++], 24, "%sR%s", who, ev->detail);
    else if (ev->kind == IOTLS_EV_KEYS_WRITE)
        snprintf(t->log[t->n++], 24, "%sW%s", who, ev->detail);
}

static int log_index(const trace_log *t, const char *s)
{
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->log[i], s) == 0)
            return i;
    return -1;
}

typedef struct {
    int hs_rc, sv_err, cl_err;
    int sv_status, cl_status;
    int resumed;
    size_t early_before_finished; /* bytes the server read before the client Finished */
    char got[512];                /* everything the server read */
    size_t got_len;
} result;

/* One connection. early (may be NULL) is given to the client as 0-RTT;
 * max_override > 0 replaces the session's max_early_data (to send more than
 * allowed); flight (may be NULL) collects the client's first flight;
 * replay_flight (may be NULL) is fed to the server instead of a client. */
static result run(iotls_config *scfg, iotls_config *ccfg, const uint8_t *blob, size_t blob_len,
                  const char *early, uint32_t max_override, tl_wire *flight, trace_log *tl)
{
    static tl_wire to_sv, to_cl;
    result r;
    memset(&r, 0, sizeof r);
    if (tl) {
        memset(tl, 0, sizeof *tl);
        iotls_config_set_trace(scfg, tracer, tl);
        iotls_config_set_trace(ccfg, tracer, tl);
    }
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv != NULL && cl != NULL);
    to_sv.len = to_cl.len = 0;
    CHECK_OK(iotls_conn_start(sv));
    if (blob) {
        CHECK_OK(iotls_conn_borrow_session(cl, blob, blob_len));
        if (max_override)
            cl->hs.cl.session.max_early_data = max_override;
    }
    if (early)
        CHECK_OK(iotls_conn_write_early(cl, (const uint8_t *)early, strlen(early)));
    CHECK_OK(iotls_conn_start(cl));
    for (int i = 0; i < 60; i++) {
        int a = tl_shuttle(cl, &to_sv, sv, i == 0 ? flight : NULL);
        /* Whatever the server can read now; before the handshake ends it
         * can only be early data. */
        size_t n = 0;
        while (iotls_conn_read(sv, (uint8_t *)r.got + r.got_len, sizeof r.got - r.got_len, &n) ==
                   IOTLS_OK &&
               n > 0) {
            if (!iotls_conn_handshake_done(sv))
                r.early_before_finished += n;
            r.got_len += n;
        }
        int b = tl_shuttle(sv, &to_cl, cl, NULL);
        if (a < 0 || b < 0) {
            (void)tl_shuttle(sv, &to_cl, cl, NULL);
            (void)tl_shuttle(cl, &to_sv, sv, NULL);
            break;
        }
        if (a == 0 && b == 0)
            break;
    }
    r.sv_err = iotls_conn_error(sv);
    r.cl_err = iotls_conn_error(cl);
    r.hs_rc = r.sv_err ? r.sv_err : r.cl_err;
    if (r.hs_rc == 0 && !(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl)))
        r.hs_rc = IOTLS_ERR_INTERNAL;
    r.sv_status = iotls_conn_early_data_status(sv);
    r.cl_status = iotls_conn_early_data_status(cl);
    r.resumed = sv->resumed && cl->resumed;
    if (r.hs_rc == 0 && r.cl_status == IOTLS_EARLY_DATA_REJECTED && early) {
        /* The data was lost: the application sends it again. */
        size_t n = 0;
        CHECK_OK(iotls_conn_write(cl, (const uint8_t *)early, strlen(early), &n));
        CHECK(n == strlen(early));
        CHECK(tl_shuttle(cl, &to_sv, sv, NULL) > 0);
        CHECK_OK(iotls_conn_read(sv, (uint8_t *)r.got + r.got_len, sizeof r.got - r.got_len, &n));
        r.got_len += n;
    }
    iotls_info info;
    CHECK_OK(iotls_conn_info(sv, &info));
    CHECK(info.early_data == r.sv_status);
    iotls_config_set_trace(scfg, NULL, NULL);
    iotls_config_set_trace(ccfg, NULL, NULL);
    tl_conn_free(sv);
    tl_conn_free(cl);
    return r;
}

/* Feeds bytes (a recorded first flight) to a fresh server connection. */
static int replay_to_server(iotls_config *scfg, const tl_wire *flight, int *status, size_t *read_n)
{
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    CHECK(sv != NULL);
    CHECK_OK(iotls_conn_start(sv));
    size_t off = 0;
    int rc = IOTLS_OK;
    *read_n = 0;
    for (int i = 0; i < 20 && off < flight->len && rc == IOTLS_OK; i++) {
        size_t used = 0, n;
        rc = iotls_conn_input(sv, flight->buf + off, flight->len - off, &used);
        off += used;
        iotls_conn_output(sv, &n);
        iotls_conn_output_consume(sv, n);
        uint8_t buf[256];
        while (iotls_conn_read(sv, buf, sizeof buf, &n) == IOTLS_OK && n > 0)
            *read_n += n;
    }
    *status = iotls_conn_early_data_status(sv);
    tl_conn_free(sv);
    return rc;
}

/* Feeds a recorded first flight to a fresh server connection, which
 * declines its early data, then up to count copies of record (a forged
 * 0-RTT record it cannot open). The server's error; *taken: how many
 * copies it skipped before it. */
static int flood_declined(iotls_config *scfg, const tl_wire *flight, const uint8_t *record,
                          size_t record_len, int count, int *taken)
{
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    CHECK(sv != NULL);
    CHECK_OK(iotls_conn_start(sv));
    size_t off = 0, used = 0, n;
    int rc = IOTLS_OK;
    for (int i = 0; i < 20 && off < flight->len && rc == IOTLS_OK; i++) {
        rc = iotls_conn_input(sv, flight->buf + off, flight->len - off, &used);
        off += used;
        iotls_conn_output(sv, &n);
        iotls_conn_output_consume(sv, n);
    }
    CHECK_OK(rc);
    CHECK(off == flight->len);
    CHECK(iotls_conn_early_data_status(sv) == IOTLS_EARLY_DATA_REJECTED);
    *taken = 0;
    while (rc == IOTLS_OK && *taken < count) {
        rc = iotls_conn_input(sv, record, record_len, &used);
        if (rc == IOTLS_OK && used == record_len)
            (*taken)++;
        else if (rc == IOTLS_OK)
            rc = IOTLS_ERR_INTERNAL; /* the server stopped taking input */
    }
    tl_conn_free(sv);
    return rc;
}

static iotls_config *server_config(test_clock *clk, uint32_t early_max)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_tickets(cfg, 1));
    CHECK_OK(iotls_config_set_ticket_key(cfg, g_ticket_key));
    CHECK_OK(iotls_config_set_early_data(cfg, early_max));
    iotls_config_set_time_cb(cfg, clock_now, clk);
    return cfg;
}

static iotls_config *client_config(test_clock *clk, ticket_store *st)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    iotls_config_set_ticket_cb(cfg, store_ticket, st);
    iotls_config_set_time_cb(cfg, clock_now, clk);
    return cfg;
}

static const char *g_early = "temperature=21.5C";

static void test_early_data(void)
{
    test_clock sclk = {1700000000000ull}, cclk = {1700000000000ull};
    static ticket_store st;
    iotls_config *scfg = server_config(&sclk, 1024);
    iotls_config *ccfg = client_config(&cclk, &st);
    iotls_config *off_cfg = server_config(&sclk, 0);
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    static trace_log tl;
    static tl_wire flight;

    /* Full handshake: the ticket allows 1024 bytes of early data. */
    memset(&st, 0, sizeof st);
    result r = run(scfg, ccfg, NULL, 0, NULL, 0, NULL, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(st.count == 1 && st.max_early == 1024);
    CHECK(r.sv_status == IOTLS_EARLY_DATA_NONE && r.cl_status == IOTLS_EARLY_DATA_NONE);
    size_t blob_len = st.len;
    memcpy(blob, st.blob, blob_len);

    /* A session without early data: write_early refuses. */
    {
        iotls_config *plain = server_config(&sclk, 0);
        memset(&st, 0, sizeof st);
        CHECK_OK(run(plain, ccfg, NULL, 0, NULL, 0, NULL, NULL).hs_rc);
        CHECK(st.max_early == 0);
        iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
        CHECK_OK(iotls_conn_borrow_session(cl, st.blob, st.len));
        CHECK_RC(iotls_conn_write_early(cl, (const uint8_t *)"x", 1), IOTLS_ERR_BAD_STATE);
        tl_conn_free(cl);
        iotls_config_free(plain);
    }

    /* Accepted, two seconds later. */
    sclk.now += 2000;
    cclk.now += 2000;
    flight.len = 0;
    r = run(scfg, ccfg, blob, blob_len, g_early, 0, &flight, &tl);
    CHECK_OK(r.hs_rc);
    CHECK(r.resumed);
    CHECK(r.sv_status == IOTLS_EARLY_DATA_ACCEPTED && r.cl_status == IOTLS_EARLY_DATA_ACCEPTED);
    CHECK(r.early_before_finished == strlen(g_early));
    CHECK(r.got_len == strlen(g_early) && memcmp(r.got, g_early, r.got_len) == 0);
    /* Keys and EndOfEarlyData in order: client early write keys, server
     * early read keys; EOED sent after the server Finished arrived and
     * before the client's handshake keys; the server switches to the
     * handshake read keys on it, before the client Finished. */
    int c_early = log_index(&tl, "cWearly");
    int s_early = log_index(&tl, "sRearly");
    int c_sf = log_index(&tl, "c<20");
    int c_eoed = log_index(&tl, "c>5");
    int c_hs = log_index(&tl, "cWhandshake");
    int s_eoed = log_index(&tl, "s<5");
    int s_hs = log_index(&tl, "sRhandshake");
    int s_cf = log_index(&tl, "s<20");
    CHECK(c_early >= 0 && s_early >= 0 && c_sf >= 0 && c_eoed > c_sf && c_hs > c_eoed);
    CHECK(s_eoed > s_early && s_hs > s_eoed && s_cf > s_hs);

    /* The same first flight again, to another connection of the server:
     * the replay store has seen its binder, the early data is refused (the
     * handshake itself cannot complete without the client). */
    int status = 0;
    size_t read_n = 99;
    CHECK(flight.len > 0);
    (void)replay_to_server(scfg, &flight, &status, &read_n);
    CHECK(status == IOTLS_EARLY_DATA_REJECTED);
    CHECK(read_n == 0);

    /* Declined 0-RTT is skipped within a budget, and records too short to
     * be anything a client sealed (empty, 15 bytes) count against it like
     * the smallest real one: a flood of them ends in unexpected_message
     * (the budget allows 20 KiB, far less than 100000 of either). */
    {
        static const uint8_t empty[5] = {IOTLS_CT_APPLICATION_DATA, 3, 3, 0, 0};
        static uint8_t tiny[5 + 15] = {IOTLS_CT_APPLICATION_DATA, 3, 3, 0, 15};
        int taken = 0;
        CHECK_RC(flood_declined(scfg, &flight, empty, sizeof empty, 100000, &taken),
                 IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(taken >= 100 && taken < 100000);
        CHECK_RC(flood_declined(scfg, &flight, tiny, sizeof tiny, 100000, &taken),
                 IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(taken >= 100 && taken < 100000);
    }

    /* Rejected by policy: a server (same ticket key) with 0-RTT off. */
    r = run(off_cfg, ccfg, blob, blob_len, g_early, 0, NULL, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(r.resumed);
    CHECK(r.sv_status == IOTLS_EARLY_DATA_REJECTED && r.cl_status == IOTLS_EARLY_DATA_REJECTED);
    CHECK(r.early_before_finished == 0);
    CHECK(r.got_len == strlen(g_early) && memcmp(r.got, g_early, r.got_len) == 0); /* resent */

    /* Ticket age: the client's clock says 2 s more, the server's 30 s
     * more: outside the 10 s window, refused (still resumed). */
    sclk.now += 30000;
    cclk.now += 2000;
    r = run(scfg, ccfg, blob, blob_len, g_early, 0, NULL, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(r.resumed && r.sv_status == IOTLS_EARLY_DATA_REJECTED);
    cclk.now = sclk.now;

    /* More than the ticket allows (the client is made to ignore it). */
    {
        iotls_config *small = server_config(&sclk, 8);
        memset(&st, 0, sizeof st);
        CHECK_OK(run(small, ccfg, NULL, 0, NULL, 0, NULL, NULL).hs_rc);
        CHECK(st.max_early == 8);
        /* The client API refuses it ... */
        iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
        CHECK_OK(iotls_conn_borrow_session(cl, st.blob, st.len));
        CHECK_RC(iotls_conn_write_early(cl, (const uint8_t *)g_early, strlen(g_early)),
                 IOTLS_ERR_BAD_ARG);
        tl_conn_free(cl);
        /* ... and the server refuses it on the wire. */
        sclk.now += 1000;
        cclk.now += 1000;
        r = run(small, ccfg, st.blob, st.len, g_early, 4096, NULL, NULL);
        CHECK_RC(r.sv_err, IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(r.got_len <= 8);
        iotls_config_free(small);
    }

    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    iotls_config_free(off_cfg);
}

/* 16 KiB of early data, more than fits behind the ClientHello in the
 * client's tx: iotls_conn_early_room says what write_early takes (before
 * the start: what surely fits; after it: what the free tx takes); more than
 * that, or past the ticket's max_early_data_size, is BAD_ARG and never
 * overruns tx. Written part by part as tx is sent, all of it arrives as
 * accepted 0-RTT, in order. */
static void test_early_room(void)
{
    enum { EARLY_FULL = 16384 };
    test_clock sclk = {1700000000000ull}, cclk = {1700000000000ull};
    static ticket_store st;
    iotls_config *scfg = server_config(&sclk, EARLY_FULL);
    iotls_config *ccfg = client_config(&cclk, &st);
    memset(&st, 0, sizeof st);
    CHECK_OK(run(scfg, ccfg, NULL, 0, NULL, 0, NULL, NULL).hs_rc);
    CHECK(st.count == 1 && st.max_early == EARLY_FULL);
    static uint8_t early[EARLY_FULL], got[EARLY_FULL + 1];
    for (size_t i = 0; i < sizeof early; i++)
        early[i] = (uint8_t)(i * 7 + (i >> 9));

    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv != NULL && cl != NULL);
    CHECK_OK(iotls_conn_start(sv));
    CHECK(iotls_conn_early_room(cl) == 0); /* no session yet */
    CHECK_OK(iotls_conn_borrow_session(cl, st.blob, st.len));
    size_t room = iotls_conn_early_room(cl);
    CHECK(room > 0 && room < EARLY_FULL);
    /* The whole of it before the start: refused at the start, as before. */
    {
        iotls_conn *whole = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
        CHECK_OK(iotls_conn_borrow_session(whole, st.blob, st.len));
        CHECK_OK(iotls_conn_write_early(whole, early, sizeof early));
        CHECK_RC(iotls_conn_start(whole), IOTLS_ERR_BAD_ARG);
        tl_conn_free(whole);
    }
    CHECK_OK(iotls_conn_write_early(cl, early, room));
    CHECK_OK(iotls_conn_start(cl));
    size_t written = room;
    static tl_wire to_sv, to_cl;
    to_sv.len = to_cl.len = 0;
    int parts = 1;
    while (written < sizeof early) {
        room = iotls_conn_early_room(cl);
        if (room < sizeof early - written) {
            /* One byte more than the room: refused, nothing queued. */
            size_t before = 0;
            (void)iotls_conn_output(cl, &before);
            CHECK_RC(iotls_conn_write_early(cl, early + written, room + 1), IOTLS_ERR_BAD_ARG);
            size_t after = 0;
            (void)iotls_conn_output(cl, &after);
            CHECK(after == before);
            CHECK_OK(iotls_conn_error(cl));
        }
        if (room > sizeof early - written)
            room = sizeof early - written;
        if (room > 0) {
            CHECK_OK(iotls_conn_write_early(cl, early + written, room));
            written += room;
            parts++;
        }
        /* The transport takes tx. */
        size_t n = 0;
        const uint8_t *out = iotls_conn_output(cl, &n);
        CHECK(out != NULL && to_sv.len + n <= sizeof to_sv.buf);
        if (out == NULL || to_sv.len + n > sizeof to_sv.buf)
            break;
        memcpy(to_sv.buf + to_sv.len, out, n);
        to_sv.len += n;
        iotls_conn_output_consume(cl, n);
    }
    CHECK(written == sizeof early && parts >= 2);
    /* The session's limit: nothing more, whatever tx takes. */
    CHECK(iotls_conn_early_room(cl) == 0);
    CHECK_RC(iotls_conn_write_early(cl, early, 1), IOTLS_ERR_BAD_ARG);

    size_t got_len = 0;
    for (int i = 0; i < 60; i++) {
        int a = tl_shuttle(cl, &to_sv, sv, NULL);
        size_t n = 0;
        while (got_len < sizeof got &&
               iotls_conn_read(sv, got + got_len, sizeof got - got_len, &n) == IOTLS_OK && n > 0)
            got_len += n;
        int b = tl_shuttle(sv, &to_cl, cl, NULL);
        if (a < 0 || b < 0 || (a == 0 && b == 0))
            break;
    }
    CHECK_OK(iotls_conn_error(cl));
    CHECK_OK(iotls_conn_error(sv));
    CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
    CHECK(iotls_conn_early_data_status(cl) == IOTLS_EARLY_DATA_ACCEPTED);
    CHECK(iotls_conn_early_data_status(sv) == IOTLS_EARLY_DATA_ACCEPTED);
    CHECK(got_len == sizeof early && memcmp(got, early, sizeof early) == 0);
    tl_conn_free(sv);
    tl_conn_free(cl);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

/* A client whose clock runs 6 s ahead (RTC drift across deep sleep, an NTP
 * step) with a 10 s window: its first flight passes the age check from its
 * first use until 16 s later, so the store must remember it past the
 * window. A copy sent 10.5 s after the first use passes the age check (a
 * server with a fresh store takes it) and must still be refused. */
static void test_replay_fast_client(void)
{
    test_clock sclk = {1700000000000ull}, cclk = {1700000000000ull};
    static ticket_store st;
    static tl_wire flight;
    iotls_config *scfg = server_config(&sclk, 1024);
    iotls_config *ccfg = client_config(&cclk, &st);
    CHECK_OK(iotls_config_set_early_data_window(scfg, 10000, 64));

    memset(&st, 0, sizeof st);
    CHECK_OK(run(scfg, ccfg, NULL, 0, NULL, 0, NULL, NULL).hs_rc);
    CHECK(st.count == 1 && st.max_early == 1024);

    /* Two seconds later by the server, eight by the client: ages differ
     * by 6 s, within the window. Accepted, and the flight recorded. */
    sclk.now += 2000;
    cclk.now = sclk.now + 6000;
    flight.len = 0;
    result r = run(scfg, ccfg, st.blob, st.len, g_early, 0, &flight, NULL);
    CHECK_OK(r.hs_rc);
    CHECK(r.sv_status == IOTLS_EARLY_DATA_ACCEPTED);
    CHECK(r.got_len == strlen(g_early));
    CHECK(flight.len > 0);

    /* The copy at +10.5 s: the server's age is 12.5 s against the 8 s the
     * ClientHello claims, 4.5 s apart. */
    sclk.now += 10500;
    int status = 0;
    size_t read_n = 0;
    iotls_config *fresh = server_config(&sclk, 1024);
    CHECK_OK(iotls_config_set_early_data_window(fresh, 10000, 64));
    (void)replay_to_server(fresh, &flight, &status, &read_n);
    CHECK(status == IOTLS_EARLY_DATA_ACCEPTED); /* the age check alone lets it in */
    CHECK(read_n == strlen(g_early));
    read_n = 99;
    (void)replay_to_server(scfg, &flight, &status, &read_n);
    CHECK(status == IOTLS_EARLY_DATA_REJECTED);
    CHECK(read_n == 0);

    /* Past first use + 2W the age check refuses every copy by itself
     * (age 22.5 s against 8 s claimed), whatever the store remembers. */
    sclk.now += 10000;
    iotls_config *fresh2 = server_config(&sclk, 1024);
    CHECK_OK(iotls_config_set_early_data_window(fresh2, 10000, 64));
    read_n = 99;
    (void)replay_to_server(fresh2, &flight, &status, &read_n);
    CHECK(status == IOTLS_EARLY_DATA_REJECTED);
    CHECK(read_n == 0);

    iotls_config_free(fresh2);
    iotls_config_free(fresh);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}

static void test_replay_store(void)
{
    /* Window 1 s: entries live 2 s (twice the window). */
    uint8_t a[32] = {1}, b[32] = {2}, c[32] = {3};
    iotls_replay_store *st = iotls__replay_store_new(2, 1000);
    CHECK(st != NULL);
    CHECK(iotls__replay_store_check(st, a, 32, 5000) == 0);
    CHECK(iotls__replay_store_check(st, a, 32, 5500) == 1); /* seen */
    CHECK(iotls__replay_store_check(st, b, 32, 5600) == 0);
    CHECK(iotls__replay_store_check(st, c, 32, 5700) == 1); /* full of live entries: refuse */
    CHECK(iotls__replay_store_check(st, a, 32, 6500) == 1); /* past the window, still kept */
    CHECK(iotls__replay_store_check(st, c, 32, 7000) == 1); /* a live for exactly 2W */
    CHECK(iotls__replay_store_check(st, c, 32, 7001) == 0); /* a expired: room for c */
    CHECK(iotls__replay_store_check(st, b, 32, 7002) == 1); /* b still live */
    CHECK(iotls__replay_store_check(st, a, 32, 7700) == 0); /* a forgotten, b's slot free */
    CHECK(iotls__replay_store_check(st, c, 32, 7701) == 1);
    iotls__replay_store_free(st);
}

int main(void)
{
    CHECK_OK(make_pki());
    test_replay_store();
    test_early_data();
    test_early_room();
    test_replay_fast_client();
    return tl_finish("early_data");
}
