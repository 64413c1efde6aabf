/* Malformed and out-of-order input fed through the engine
 * (iotls_conn_input), with the exact outcome checked: the error code, the
 * alert the engine queued (c->alert_sent AND the alert record at the end of
 * its output, opened under its write keys when protected), and that the
 * connection takes no further input (iotls_conn_input returns the error
 * again). docs/malformed-input.md lists each case with its test.
 *
 * Our client and server engines run in memory. The valid parts of every
 * input come from the real engines; forged records are sealed with
 * iotls__record_seal under traffic keys derived (iotls__traffic_keys) from
 * the secrets the engines report through the key log callback, and whole
 * flights are opened the same way, changed, and sealed again. Each way of
 * forging has a control: the same path with the message left unchanged is
 * accepted, so a case cannot pass because the forgery itself is broken. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "conn.h"
#include "io/mem.h"
#include "iotls/engine.h"
#include "keysched.h"
#include "msg/msg.h"
#include "record.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[64];

/* ---------------- a client and a server in memory ---------------- */

typedef struct {
    iotls_config *cfg;
    tl_keylog log;
    void *mem;
    iotls_conn *c;
} side;

typedef struct {
    side cl, sv;
} pair;

static iotls_config *make_cfg(int server, int with_cert, const char *groups, tl_keylog *log)
{
    char a[160], b[160];
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return NULL;
    CHECK_OK(iotls_config_set_ca_file(cfg, tl_path_of(g_dir, a, sizeof a, "ca.pem")));
    if (with_cert)
        CHECK_OK(iotls_config_set_cert_file(
            cfg, tl_path_of(g_dir, a, sizeof a, server ? "srv.pem" : "cli.pem"),
            tl_path_of(g_dir, b, sizeof b, server ? "srv.key" : "cli.key")));
    if (groups)
        CHECK_OK(iotls_config_set_groups(cfg, groups));
    iotls_config_set_keylog(cfg, tl_keylog_cb, log);
    return cfg;
}

static int side_init(side *s, int role)
{
    size_t size = iotls_conn_size(s->cfg);
    s->mem = aligned_alloc(16, (size + 15) & ~(size_t)15);
    if (!s->mem)
        return -1;
    s->c =
        iotls_conn_init(s->mem, size, s->cfg, role, role == IOTLS_ROLE_CLIENT ? "localhost" : NULL);
    return s->c ? 0 : -1;
}

/* Both started, nothing exchanged. mutual: the server requires a client
 * certificate. client_groups: NULL for the default. */
static int pair_open(pair *p, int mutual, const char *client_groups)
{
    memset(p, 0, sizeof *p);
    p->cl.cfg = make_cfg(0, mutual, client_groups, &p->cl.log);
    p->sv.cfg = make_cfg(1, 1, NULL, &p->sv.log);
    if (!p->cl.cfg || !p->sv.cfg)
        return -1;
    if (mutual)
        CHECK_OK(iotls_config_set_verify_client(p->sv.cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    if (side_init(&p->cl, IOTLS_ROLE_CLIENT) != 0 || side_init(&p->sv, IOTLS_ROLE_SERVER) != 0)
        return -1;
    CHECK_OK(iotls_conn_start(p->sv.c));
    CHECK_OK(iotls_conn_start(p->cl.c));
    return 0;
}

static void side_free(side *s)
{
    if (s->c)
        iotls_conn_free(s->c);
    free(s->mem);
    iotls_config_free(s->cfg);
    memset(s, 0, sizeof *s);
}

static void pair_close(pair *p)
{
    side_free(&p->cl);
    side_free(&p->sv);
}

/* ---------------- records ---------------- */

/* Length of the whole record at d (header included), 0 when incomplete. */
static size_t rec_len(const uint8_t *d, size_t n)
{
    if (n < IOTLS_RECORD_HEADER_LEN)
        return 0;
    size_t l = IOTLS_RECORD_HEADER_LEN + ((size_t)d[3] << 8 | d[4]);
    return l <= n ? l : 0;
}

/* Offset of the first protected (outer application_data) record. */
static size_t first_protected(const uint8_t *d, size_t n)
{
    size_t pos = 0;
    while (pos < n && d[pos] != IOTLS_CT_APPLICATION_DATA) {
        size_t l = rec_len(d + pos, n - pos);
        if (l == 0)
            return n;
        pos += l;
    }
    return pos;
}

/* A plaintext record of type around data. */
static size_t plain_record(uint8_t type, const uint8_t *data, size_t len, uint8_t *out)
{
    out[0] = type;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
    if (len)
        memcpy(out + 5, data, len);
    return len + 5;
}

static uint16_t pair_suite(const pair *p)
{
    return p->sv.c->suite ? p->sv.c->suite : p->cl.c->suite;
}

static const uint8_t *secret_of(const pair *p, const char *label)
{
    const tl_keylog *logs[2] = {&p->sv.log, &p->cl.log};
    for (int j = 0; j < 2; j++)
        for (size_t i = 0; i < logs[j]->count; i++)
            if (strcmp(logs[j]->label[i], label) == 0)
                return logs[j]->secret[i];
    return NULL;
}

/* A record cipher on the traffic keys of a logged secret, at seq. */
static int cipher_from(const pair *p, const uint8_t *secret, uint64_t seq, iotls_record_cipher *rc)
{
    uint16_t suite = pair_suite(p);
    iotls_hash_alg hash = iotls__suite_hash(suite);
    iotls_aead_alg aead = iotls__suite_aead(suite);
    size_t key_len = iotls__aead_key_len(aead);
    uint8_t key[IOTLS_MAX_AEAD_KEY_LEN];
    uint8_t iv[IOTLS_AEAD_NONCE_LEN];
    memset(rc, 0, sizeof *rc);
    if (!secret || hash == IOTLS_HASH_NONE || key_len == 0)
        return IOTLS_ERR_BAD_ARG;
    int r = iotls__traffic_keys(hash, aead, secret, key, key_len, iv);
    if (r == IOTLS_OK)
        r = iotls__record_cipher_init(rc, aead, key, key_len, iv);
    rc->seq = seq;
    return r;
}

/* One record of content sealed under the keys of label at seq. */
static size_t seal(const pair *p, const char *label, uint64_t seq, uint8_t type,
                   const uint8_t *data, size_t len, uint8_t *out, size_t cap)
{
    iotls_record_cipher rc;
    size_t n = 0;
    static const uint8_t none[1] = {0};
    int r = cipher_from(p, secret_of(p, label), seq, &rc);
    if (r == IOTLS_OK)
        r = iotls__record_seal(&rc, type, len ? data : none, len, 0, out, cap, &n);
    iotls__record_cipher_free(&rc);
    CHECK_OK(r);
    return r == IOTLS_OK ? n : 0;
}

/* Opens the protected handshake records in d under label (seq from 0),
 * appending their content to out. 0 on failure. */
static size_t open_flight(const pair *p, const char *label, const uint8_t *d, size_t n,
                          uint8_t *out, size_t cap)
{
    static uint8_t rec[IOTLS_MAX_RECORD];
    iotls_record_cipher rc;
    size_t pos = 0, len = 0;
    if (cipher_from(p, secret_of(p, label), 0, &rc) != IOTLS_OK)
        return 0;
    while (pos < n) {
        size_t l = rec_len(d + pos, n - pos);
        uint8_t type = 0, *content = NULL;
        size_t clen = 0;
        if (l == 0 || d[pos] != IOTLS_CT_APPLICATION_DATA || l > sizeof rec) {
            len = 0;
            break;
        }
        memcpy(rec, d + pos, l);
        if (iotls__record_open(&rc, rec, l, &type, &content, &clen) != IOTLS_OK ||
            type != IOTLS_CT_HANDSHAKE || len + clen > cap) {
            len = 0;
            break;
        }
        memcpy(out + len, content, clen);
        len += clen;
        pos += l;
    }
    iotls__record_cipher_free(&rc);
    CHECK(len > 0);
    return len;
}

/* Offset and length of the first handshake message of type in hs. */
static int find_msg(const uint8_t *hs, size_t n, uint8_t type, size_t *off, size_t *len)
{
    size_t pos = 0;
    while (pos + 4 <= n) {
        size_t l = 4 + ((size_t)hs[pos + 1] << 16 | (size_t)hs[pos + 2] << 8 | hs[pos + 3]);
        if (pos + l > n)
            break;
        if (hs[pos] == type) {
            *off = pos;
            *len = l;
            return 1;
        }
        pos += l;
    }
    CHECK(0);
    return 0;
}

static size_t take_output(iotls_conn *c, uint8_t *out, size_t cap)
{
    size_t n = 0;
    const uint8_t *o = iotls_conn_output(c, &n);
    if (!o || n > cap)
        return 0;
    memcpy(out, o, n);
    iotls_conn_output_consume(c, n);
    return n;
}

static void drop_output(iotls_conn *c)
{
    size_t n = 0;
    (void)iotls_conn_output(c, &n);
    iotls_conn_output_consume(c, n);
}

/* Feeds all of d to c, draining (discarding) c's output between records
 * so a flight it answers with never stops the input. */
static int feed(iotls_conn *c, const uint8_t *d, size_t n)
{
    size_t pos = 0;
    while (pos < n) {
        size_t used = 0;
        drop_output(c);
        int rc = iotls_conn_input(c, d + pos, n - pos, &used);
        if (rc != IOTLS_OK)
            return rc;
        if (used == 0)
            return IOTLS_ERR_BAD_STATE;
        pos += used;
    }
    return IOTLS_OK;
}

/* ---------------- outcome checks ---------------- */

/* The alert in record r: its description for a fatal alert, -2 for a
 * warning, -1 when it is no alert or cannot be opened under any write
 * secret of role logged so far (tried at sequence numbers 0..31). */
static int alert_in(const pair *p, int role, const uint8_t *r, size_t n)
{
    if (r[0] == IOTLS_CT_ALERT)
        return n == 7 ? (r[5] == 2 ? r[6] : -2) : -1;
    if (r[0] != IOTLS_CT_APPLICATION_DATA)
        return -1;
    const char *prefix = role == IOTLS_ROLE_CLIENT ? "CLIENT_" : "SERVER_";
    const tl_keylog *logs[2] = {&p->sv.log, &p->cl.log};
    static uint8_t rec[IOTLS_MAX_RECORD];
    for (int j = 0; j < 2; j++) {
        for (size_t i = 0; i < logs[j]->count; i++) {
            if (strncmp(logs[j]->label[i], prefix, strlen(prefix)) != 0)
                continue;
            for (uint64_t seq = 0; seq < 32; seq++) {
                iotls_record_cipher rc;
                uint8_t type = 0, *content = NULL;
                size_t clen = 0;
                if (cipher_from(p, logs[j]->secret[i], seq, &rc) != IOTLS_OK || n > sizeof rec)
                    return -1;
                memcpy(rec, r, n);
                int ok = iotls__record_open(&rc, rec, n, &type, &content, &clen) == IOTLS_OK;
                iotls__record_cipher_free(&rc);
                if (ok)
                    return type == IOTLS_CT_ALERT && clen == 2 ? (content[0] == 2 ? content[1] : -2)
                                                               : -1;
            }
        }
    }
    return -1;
}

/* c failed with err, queued the fatal alert `alert` as the last record of
 * its output, and takes no more input. */
static void check_failed(const pair *p, iotls_conn *c, int err, int alert, const char *what)
{
    int failures = tl_failures;
    CHECK_RC(iotls_conn_error(c), err);
    CHECK(c->alert_sent == alert);
    size_t n = 0, pos = 0, last = 0;
    const uint8_t *out = iotls_conn_output(c, &n);
    CHECK(out != NULL);
    while (out && pos < n) {
        size_t l = rec_len(out + pos, n - pos);
        if (l == 0)
            break;
        last = pos;
        pos += l;
    }
    CHECK(out && pos == n);
    if (out && pos == n)
        CHECK(alert_in(p, c->role, out + last, n - last) == alert);
    static const uint8_t more[] = {IOTLS_CT_ALERT, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
    size_t used = 1;
    CHECK_RC(iotls_conn_input(c, more, sizeof more, &used), err);
    CHECK(used == 0);
    if (tl_failures != failures)
        fprintf(stderr, "  (in case: %s; error %s, alert sent %d)\n", what,
                tl_errname(iotls_conn_error(c)), c->alert_sent);
}

/* c received the fatal alert desc: ALERT_RECEIVED, nothing sent back,
 * no more input. */
static void check_alert_received(iotls_conn *c, int desc, const char *what)
{
    int failures = tl_failures;
    size_t n = 0, used = 1;
    static const uint8_t more[] = {IOTLS_CT_ALERT, 0x03, 0x03, 0x00, 0x02, 0x01, 0x00};
    CHECK_RC(iotls_conn_error(c), IOTLS_ERR_ALERT_RECEIVED);
    CHECK(c->peer_alert == desc);
    CHECK(c->alert_sent == -1);
    CHECK(iotls_conn_output(c, &n) == NULL && n == 0);
    CHECK_RC(iotls_conn_input(c, more, sizeof more, &used), IOTLS_ERR_ALERT_RECEIVED);
    CHECK(used == 0);
    if (tl_failures != failures)
        fprintf(stderr, "  (in case: %s)\n", what);
}

/* ---------------- stages of a handshake ---------------- */

static uint8_t g_flight[32768]; /* the peer's records */
static size_t g_flight_len;
static uint8_t g_hs[32768]; /* opened handshake messages */
static size_t g_hs_len;
static uint8_t g_rec[40000]; /* a forged input */

/* The server has taken the ClientHello and holds the client handshake
 * read keys (its flight is in g_flight). */
static int stage_server_after_ch(pair *p, int mutual)
{
    if (pair_open(p, mutual, NULL) != 0)
        return -1;
    size_t n = take_output(p->cl.c, g_rec, sizeof g_rec);
    CHECK(n > 0);
    int rc = feed(p->sv.c, g_rec, n);
    CHECK_OK(rc);
    g_flight_len = take_output(p->sv.c, g_flight, sizeof g_flight);
    CHECK(g_flight_len > 0);
    return rc == IOTLS_OK && g_flight_len > 0 ? 0 : -1;
}

/* The client has taken ServerHello and the CCS and holds the server
 * handshake read keys; the server's protected records are opened into
 * g_hs (EncryptedExtensions .. Finished). */
static int stage_client_after_sh(pair *p, int mutual, const char *client_groups)
{
    if (pair_open(p, mutual, client_groups) != 0)
        return -1;
    size_t n = take_output(p->cl.c, g_rec, sizeof g_rec);
    if (feed(p->sv.c, g_rec, n) != IOTLS_OK)
        return -1;
    g_flight_len = take_output(p->sv.c, g_flight, sizeof g_flight);
    size_t prot = first_protected(g_flight, g_flight_len);
    CHECK(prot > 0 && prot < g_flight_len);
    int rc = feed(p->cl.c, g_flight, prot);
    CHECK_OK(rc);
    g_hs_len = open_flight(p, "SERVER_HANDSHAKE_TRAFFIC_SECRET", g_flight + prot,
                           g_flight_len - prot, g_hs, sizeof g_hs);
    return rc == IOTLS_OK && g_hs_len > 0 ? 0 : -1;
}

/* The client has its whole second flight ready; it is opened into g_hs
 * ([Certificate, CertificateVerify], Finished) and the server waits for
 * it. */
static int stage_client_flight(pair *p, int mutual)
{
    if (stage_server_after_ch(p, mutual) != 0)
        return -1;
    int rc = feed(p->cl.c, g_flight, g_flight_len);
    CHECK_OK(rc);
    size_t n = take_output(p->cl.c, g_rec, sizeof g_rec);
    size_t prot = first_protected(g_rec, n);
    CHECK(prot < n);
    g_hs_len = open_flight(p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", g_rec + prot, n - prot, g_hs,
                           sizeof g_hs);
    return rc == IOTLS_OK && g_hs_len > 0 ? 0 : -1;
}

static int stage_connected(pair *p)
{
    if (pair_open(p, 0, NULL) != 0)
        return -1;
    int rc = iotls__mem_pair_run(p->cl.c, p->sv.c, NULL);
    CHECK_OK(rc);
    return rc == IOTLS_OK ? 0 : -1;
}

/* Content sealed with from's own current write keys (moving its sequence
 * number on), fed to to. */
static int send_sealed(iotls_conn *from, iotls_conn *to, uint8_t type, const uint8_t *data,
                       size_t len)
{
    size_t n = 0;
    static const uint8_t none[1] = {0};
    int rc =
        iotls__record_seal(&from->wr, type, len ? data : none, len, 0, g_rec, sizeof g_rec, &n);
    CHECK_OK(rc);
    return rc == IOTLS_OK ? feed(to, g_rec, n) : rc;
}

/* ---------------- empty handshake and alert records ---------------- */

/* RFC 8446 5.4: a Handshake or Alert record whose TLSInnerPlaintext content
 * is empty, padded or not, is unexpected_message. Under the handshake keys
 * (to the server after the ClientHello, to the client after the
 * ServerHello) and under the application keys (both ways). The records
 * open (else bad_record_mac): only their emptiness is refused. */
static void test_empty_records(void)
{
    static const uint8_t types[2] = {IOTLS_CT_ALERT, IOTLS_CT_HANDSHAKE};
    static const size_t pads[2] = {0, 16};
    static const uint8_t none[1] = {0};
    char what[128];
    pair p;
    for (size_t t = 0; t < 2; t++) {
        for (size_t pd = 0; pd < 2; pd++) {
            const char *tname = types[t] == IOTLS_CT_ALERT ? "alert" : "handshake";
            for (int stage = 0; stage < 4; stage++) {
                /* 0: to the server under handshake keys, 1: to the client
                 * under handshake keys, 2/3: after the handshake, to the
                 * server / to the client. */
                static const char *const stage_names[4] = {
                    "server, handshake keys", "client, handshake keys", "server, application keys",
                    "client, application keys"};
                snprintf(what, sizeof what, "%s: empty %s record, %zu bytes of padding",
                         stage_names[stage], tname, pads[pd]);
                int ok = stage == 0   ? stage_server_after_ch(&p, 0)
                         : stage == 1 ? stage_client_after_sh(&p, 0, NULL)
                                      : stage_connected(&p);
                if (ok == 0) {
                    iotls_conn *to = stage == 1 || stage == 3 ? p.cl.c : p.sv.c;
                    size_t n = 0;
                    int rc;
                    if (stage < 2) {
                        iotls_record_cipher cipher;
                        const char *label = stage == 0 ? "CLIENT_HANDSHAKE_TRAFFIC_SECRET"
                                                       : "SERVER_HANDSHAKE_TRAFFIC_SECRET";
                        rc = cipher_from(&p, secret_of(&p, label), 0, &cipher);
                        if (rc == IOTLS_OK)
                            rc = iotls__record_seal(&cipher, types[t], none, 0, pads[pd], g_rec,
                                                    sizeof g_rec, &n);
                        iotls__record_cipher_free(&cipher);
                    } else {
                        iotls_conn *from = stage == 2 ? p.cl.c : p.sv.c;
                        rc = iotls__record_seal(&from->wr, types[t], none, 0, pads[pd], g_rec,
                                                sizeof g_rec, &n);
                    }
                    CHECK_OK(rc);
                    CHECK_RC(feed(to, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
                    check_failed(&p, to, IOTLS_ERR_UNEXPECTED_MESSAGE,
                                 IOTLS_ALERT_UNEXPECTED_MESSAGE, what);
                }
                pair_close(&p);
            }
        }
    }
    /* An empty alert record in the clear, before any keys: the same. */
    if (pair_open(&p, 0, NULL) == 0) {
        size_t n = plain_record(IOTLS_CT_ALERT, none, 0, g_rec);
        CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "server, plaintext: empty alert record");
    }
    pair_close(&p);
}

/* ---------------- handshake message spanning a key change ---------------- */

static void test_key_change_span(void)
{
    static const uint8_t ee_part[] = {IOTLS_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0};
    static const uint8_t ee_whole[] = {IOTLS_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0};
    static const uint8_t fin_part[] = {IOTLS_HS_FINISHED, 0, 0, 32};
    static const uint8_t key_update[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, 0};
    uint8_t body[2048];
    pair p;

    /* Client: ServerHello plus (part of) EncryptedExtensions in one
     * plaintext record. Control: ServerHello alone in that record. */
    for (int i = 0; i < 3; i++) {
        if (pair_open(&p, 0, NULL) == 0) {
            size_t n = take_output(p.cl.c, g_rec, sizeof g_rec);
            CHECK_OK(feed(p.sv.c, g_rec, n));
            g_flight_len = take_output(p.sv.c, g_flight, sizeof g_flight);
            size_t sh = rec_len(g_flight, g_flight_len);
            size_t sh_body = sh - 5;
            CHECK(sh > 5 && g_flight[0] == IOTLS_CT_HANDSHAKE && sh_body + 8 < sizeof body);
            memcpy(body, g_flight + 5, sh_body);
            const uint8_t *extra = i == 1 ? ee_part : ee_whole;
            size_t extra_len = i == 0 ? 0 : i == 1 ? sizeof ee_part : sizeof ee_whole;
            memcpy(body + sh_body, extra, extra_len);
            n = plain_record(IOTLS_CT_HANDSHAKE, body, sh_body + extra_len, g_rec);
            int rc = feed(p.cl.c, g_rec, n);
            if (i == 0) {
                CHECK_OK(rc);
                CHECK(p.cl.c->rd_epoch == IOTLS_EPOCH_HANDSHAKE);
            } else {
                CHECK_RC(rc, IOTLS_ERR_UNEXPECTED_MESSAGE);
                check_failed(&p, p.cl.c, IOTLS_ERR_UNEXPECTED_MESSAGE,
                             IOTLS_ALERT_UNEXPECTED_MESSAGE,
                             i == 1 ? "ServerHello + partial EE" : "ServerHello + whole EE");
            }
        }
        pair_close(&p);
    }

    /* Server: ClientHello plus (part of) a Finished in one plaintext record. */
    for (int i = 0; i < 3; i++) {
        if (pair_open(&p, 0, NULL) == 0) {
            size_t n = take_output(p.cl.c, g_rec, sizeof g_rec);
            size_t ch_body = n - 5;
            CHECK(n == rec_len(g_rec, n) && ch_body + 40 < sizeof body);
            memcpy(body, g_rec + 5, ch_body);
            size_t extra_len = i == 0 ? 0 : i == 1 ? sizeof fin_part : sizeof fin_part + 32;
            memcpy(body + ch_body, fin_part, sizeof fin_part);
            memset(body + ch_body + sizeof fin_part, 0xab, 32);
            n = plain_record(IOTLS_CT_HANDSHAKE, body, ch_body + extra_len, g_rec);
            int rc = feed(p.sv.c, g_rec, n);
            if (i == 0) {
                CHECK_OK(rc);
                CHECK(p.sv.c->rd_epoch == IOTLS_EPOCH_HANDSHAKE);
            } else {
                CHECK_RC(rc, IOTLS_ERR_UNEXPECTED_MESSAGE);
                /* Refused before answering: the only record out is the
                 * plaintext alert, no ServerHello ahead of it. */
                size_t out_len = 0;
                const uint8_t *out = iotls_conn_output(p.sv.c, &out_len);
                CHECK(out != NULL && out_len == 7 && out[0] == IOTLS_CT_ALERT);
                check_failed(
                    &p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                    i == 1 ? "ClientHello + partial Finished" : "ClientHello + whole Finished");
            }
        }
        pair_close(&p);
    }

    /* After the handshake: a KeyUpdate followed by more handshake bytes in
     * the same record (they would be under the old keys). */
    for (int i = 0; i < 2; i++) {
        if (stage_connected(&p) == 0) {
            memcpy(body, key_update, sizeof key_update);
            memcpy(body + sizeof key_update, key_update, sizeof key_update);
            size_t len = sizeof key_update + (i == 0 ? 0 : 2);
            int rc = send_sealed(p.cl.c, p.sv.c, IOTLS_CT_HANDSHAKE, body, len);
            if (i == 0) {
                CHECK_OK(rc);
            } else {
                CHECK_RC(rc, IOTLS_ERR_UNEXPECTED_MESSAGE);
                check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE,
                             IOTLS_ALERT_UNEXPECTED_MESSAGE, "KeyUpdate + partial message");
            }
        }
        pair_close(&p);
    }
}

/* ---------------- change_cipher_spec ---------------- */

static size_t ccs_record(const uint8_t *body, size_t len)
{
    return plain_record(IOTLS_CT_CHANGE_CIPHER_SPEC, body, len, g_rec);
}

static void test_ccs(void)
{
    static const uint8_t one[] = {1}, zero[] = {0}, two[] = {2}, one_one[] = {1, 1};
    pair p;
    size_t n;

    /* Server, before any ClientHello. */
    if (pair_open(&p, 0, NULL) == 0) {
        n = ccs_record(one, 1);
        CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "CCS before ClientHello");
    }
    pair_close(&p);

    /* Server after the ClientHello: one CCS of value 1 is dropped, a second
     * is not; nor is one of another value or length. */
    static const struct {
        const uint8_t *body;
        size_t len;
        const char *what;
    } bad[] = {{one, 1, "second CCS"},
               {zero, 1, "CCS value 0"},
               {two, 1, "CCS value 2"},
               {one_one, 2, "CCS of 2 bytes"},
               {one, 0, "empty CCS"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (stage_server_after_ch(&p, 0) == 0) {
            if (i == 0) {
                n = ccs_record(one, 1);
                CHECK_OK(feed(p.sv.c, g_rec, n));
                CHECK(p.sv.c->ccs_received == 1);
            }
            n = ccs_record(bad[i].body, bad[i].len);
            CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
            check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                         bad[i].what);
        }
        pair_close(&p);
    }

    /* Client: the server's flight carried its CCS already; another one. */
    if (stage_client_after_sh(&p, 0, NULL) == 0) {
        CHECK(p.cl.c->ccs_received == 1);
        n = ccs_record(one, 1);
        CHECK_RC(feed(p.cl.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.cl.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "client: second CCS");
    }
    pair_close(&p);

    /* After the handshake, either side. */
    for (int role = 0; role < 2; role++) {
        if (stage_connected(&p) == 0) {
            iotls_conn *c = role == IOTLS_ROLE_CLIENT ? p.cl.c : p.sv.c;
            n = ccs_record(one, 1);
            CHECK_RC(feed(c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
            check_failed(&p, c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                         role ? "server: CCS after the handshake"
                              : "client: CCS after the handshake");
        }
        pair_close(&p);
    }
}

/* ---------------- application data too early, interleaved ---------------- */

static void test_app_data_early(void)
{
    static const uint8_t hello[] = "hello";
    pair p;
    size_t n;

    /* In the clear before any keys: server before ClientHello, client
     * before ServerHello. */
    for (int role = 0; role < 2; role++) {
        if (pair_open(&p, 0, NULL) == 0) {
            iotls_conn *c = role == IOTLS_ROLE_CLIENT ? p.cl.c : p.sv.c;
            n = plain_record(IOTLS_CT_APPLICATION_DATA, hello, 5, g_rec);
            CHECK_RC(feed(c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
            check_failed(&p, c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                         role ? "server: plaintext application data"
                              : "client: plaintext application data");
        }
        pair_close(&p);
    }

    /* Under the handshake keys: application data is never allowed there.
     * Control: a handshake record under the same keys and sequence number
     * opens (the Finished is wrong, so decrypt_error, not bad_record_mac). */
    for (int ctl = 0; ctl < 2; ctl++) {
        if (stage_server_after_ch(&p, 0) == 0) {
            uint8_t fin[4 + 32];
            fin[0] = IOTLS_HS_FINISHED;
            fin[1] = fin[2] = 0;
            fin[3] = 32;
            memset(fin + 4, 0, 32);
            n = ctl ? seal(&p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_HANDSHAKE, fin,
                           sizeof fin, g_rec, sizeof g_rec)
                    : seal(&p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_APPLICATION_DATA,
                           hello, 5, g_rec, sizeof g_rec);
            int want = ctl ? IOTLS_ERR_DECRYPT_ERROR : IOTLS_ERR_UNEXPECTED_MESSAGE;
            CHECK_RC(feed(p.sv.c, g_rec, n), want);
            check_failed(&p, p.sv.c, want, iotls_error_alert(want),
                         ctl ? "server: control, zero Finished"
                             : "server: app data under handshake keys");
        }
        pair_close(&p);
    }
    if (stage_client_after_sh(&p, 0, NULL) == 0) {
        n = seal(&p, "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_APPLICATION_DATA, hello, 5,
                 g_rec, sizeof g_rec);
        CHECK_RC(feed(p.cl.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.cl.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "client: app data under handshake keys");
    }
    pair_close(&p);

    /* Under the client's application keys before its Finished: the server
     * still reads with the handshake keys, so the record does not open. */
    if (stage_server_after_ch(&p, 0) == 0) {
        n = seal(&p, "CLIENT_TRAFFIC_SECRET_0", 0, IOTLS_CT_APPLICATION_DATA, hello, 5, g_rec,
                 sizeof g_rec);
        CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_BAD_RECORD_MAC);
        check_failed(&p, p.sv.c, IOTLS_ERR_BAD_RECORD_MAC, IOTLS_ALERT_BAD_RECORD_MAC,
                     "server: app data under app keys before client Finished");
    }
    pair_close(&p);
}

static void test_interleaved(void)
{
    static const uint8_t hello[] = "hello";
    static const uint8_t alert[] = {2, IOTLS_ALERT_HANDSHAKE_FAILURE};
    pair p;

    /* Client: the first half of the server's encrypted flight, then an
     * application_data or alert record, then the rest. Control: the rest
     * straight after the first half completes the handshake. */
    for (int i = 0; i < 3; i++) {
        if (stage_client_after_sh(&p, 0, NULL) == 0) {
            const char *key = "SERVER_HANDSHAKE_TRAFFIC_SECRET";
            size_t half = g_hs_len / 2, n;
            n = seal(&p, key, 0, IOTLS_CT_HANDSHAKE, g_hs, half, g_rec, sizeof g_rec);
            CHECK_OK(feed(p.cl.c, g_rec, n));
            CHECK(iotls__hs_reasm_pending(&p.cl.c->reasm) > 0);
            if (i == 0) {
                n = seal(&p, key, 1, IOTLS_CT_HANDSHAKE, g_hs + half, g_hs_len - half, g_rec,
                         sizeof g_rec);
                CHECK_OK(feed(p.cl.c, g_rec, n));
                CHECK(iotls_conn_handshake_done(p.cl.c));
            } else {
                n = i == 1
                        ? seal(&p, key, 1, IOTLS_CT_APPLICATION_DATA, hello, 5, g_rec, sizeof g_rec)
                        : seal(&p, key, 1, IOTLS_CT_ALERT, alert, 2, g_rec, sizeof g_rec);
                CHECK_RC(feed(p.cl.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
                check_failed(&p, p.cl.c, IOTLS_ERR_UNEXPECTED_MESSAGE,
                             IOTLS_ALERT_UNEXPECTED_MESSAGE,
                             i == 1 ? "partial EE then app data" : "partial EE then alert");
            }
        }
        pair_close(&p);
    }

    /* Server: the first half of the client's second flight, then a CCS of
     * value 1 (the client's first, acceptable on its own), then the rest.
     * Control: the CCS ahead of the first half. */
    static const uint8_t ccs_one[] = {1};
    for (int i = 0; i < 2; i++) {
        if (stage_client_flight(&p, 1) == 0) {
            const char *key = "CLIENT_HANDSHAKE_TRAFFIC_SECRET";
            size_t half = g_hs_len / 2, n;
            if (i == 0) {
                n = plain_record(IOTLS_CT_CHANGE_CIPHER_SPEC, ccs_one, 1, g_rec);
                CHECK_OK(feed(p.sv.c, g_rec, n));
            }
            n = seal(&p, key, 0, IOTLS_CT_HANDSHAKE, g_hs, half, g_rec, sizeof g_rec);
            CHECK_OK(feed(p.sv.c, g_rec, n));
            CHECK(iotls__hs_reasm_pending(&p.sv.c->reasm) > 0);
            if (i == 0) {
                n = seal(&p, key, 1, IOTLS_CT_HANDSHAKE, g_hs + half, g_hs_len - half, g_rec,
                         sizeof g_rec);
                CHECK_OK(feed(p.sv.c, g_rec, n));
                CHECK(iotls_conn_handshake_done(p.sv.c));
            } else {
                n = plain_record(IOTLS_CT_CHANGE_CIPHER_SPEC, ccs_one, 1, g_rec);
                CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
                check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE,
                             IOTLS_ALERT_UNEXPECTED_MESSAGE, "partial Certificate then CCS");
            }
        }
        pair_close(&p);
    }

    /* Server after the handshake: half a KeyUpdate, then application data.
     * Control: half a KeyUpdate, then its other half. */
    static const uint8_t key_update[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, 0};
    for (int i = 0; i < 2; i++) {
        if (stage_connected(&p) == 0) {
            CHECK_OK(send_sealed(p.cl.c, p.sv.c, IOTLS_CT_HANDSHAKE, key_update, 3));
            if (i == 0) {
                CHECK_OK(send_sealed(p.cl.c, p.sv.c, IOTLS_CT_HANDSHAKE, key_update + 3, 2));
                CHECK(p.sv.c->key_updates_in_row == 1);
            } else {
                CHECK_RC(send_sealed(p.cl.c, p.sv.c, IOTLS_CT_APPLICATION_DATA, hello, 5),
                         IOTLS_ERR_UNEXPECTED_MESSAGE);
                check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE,
                             IOTLS_ALERT_UNEXPECTED_MESSAGE, "partial KeyUpdate then app data");
            }
        }
        pair_close(&p);
    }
}

/* ---------------- invalid key shares ---------------- */

static void put16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t get16(const uint8_t *p)
{
    return (size_t)p[0] << 8 | p[1];
}

/* Offset of the extensions block length in a hello record. */
static size_t exts_len_pos(const uint8_t *r, size_t n, int client_hello)
{
    size_t pos = 5 + 4 + 2 + 32;
    if (pos >= n)
        return 0;
    pos += 1 + r[pos]; /* session id */
    if (client_hello) {
        if (pos + 2 > n)
            return 0;
        pos += 2 + get16(r + pos); /* cipher suites */
        if (pos >= n)
            return 0;
        pos += 1 + r[pos]; /* compression methods */
    } else {
        pos += 3; /* suite, compression */
    }
    return pos + 2 <= n ? pos : 0;
}

/* Replaces the key_exchange of the only key share in the hello record r
 * (at off, old_len bytes) by repl, fixing every length around it: record,
 * message, extensions block, key_share extension, client_shares (in a
 * ClientHello) and key_exchange. Returns the new record length. */
static size_t replace_share(uint8_t *r, size_t n, int client_hello, size_t off, size_t old_len,
                            const uint8_t *repl, size_t new_len)
{
    static uint8_t tmp[4096];
    size_t ext_pos = exts_len_pos(r, n, client_hello);
    CHECK(ext_pos != 0 && off + old_len <= n && n - old_len + new_len <= sizeof tmp);
    if (ext_pos == 0 || off + old_len > n || n - old_len + new_len > sizeof tmp)
        return 0;
    memcpy(tmp, r, off);
    memcpy(tmp + off, repl, new_len);
    memcpy(tmp + off + new_len, r + off + old_len, n - off - old_len);
    size_t len = n - old_len + new_len;
    long delta = (long)new_len - (long)old_len;
    put16(tmp + 3, (size_t)((long)get16(tmp + 3) + delta));
    size_t msg = (size_t)tmp[6] << 16 | (size_t)tmp[7] << 8 | tmp[8];
    msg = (size_t)((long)msg + delta);
    tmp[6] = (uint8_t)(msg >> 16);
    tmp[7] = (uint8_t)(msg >> 8);
    tmp[8] = (uint8_t)msg;
    put16(tmp + ext_pos, (size_t)((long)get16(tmp + ext_pos) + delta));
    put16(tmp + off - 2, new_len); /* key_exchange */
    if (client_hello) {
        put16(tmp + off - 6, (size_t)((long)get16(tmp + off - 6) + delta)); /* client_shares */
        put16(tmp + off - 8, (size_t)((long)get16(tmp + off - 8) + delta)); /* extension */
    } else {
        put16(tmp + off - 6, (size_t)((long)get16(tmp + off - 6) + delta)); /* extension */
    }
    memcpy(r, tmp, len);
    return len;
}

/* The key_exchange of the ServerHello's key_share in record r. */
static int sh_share(const uint8_t *r, size_t n, size_t *off, size_t *len)
{
    size_t pos = exts_len_pos(r, n, 0);
    if (pos == 0)
        return 0;
    size_t end = pos + 2 + get16(r + pos);
    pos += 2;
    while (pos + 4 <= end && end <= n) {
        size_t type = get16(r + pos), elen = get16(r + pos + 2);
        if (type == 0x0033 && elen >= 4) {
            *off = pos + 4 + 4;
            *len = get16(r + pos + 6);
            return *off + *len <= n;
        }
        pos += 4 + elen;
    }
    return 0;
}

typedef enum {
    SHARE_SAME,       /* control: unchanged (through the same splice) */
    SHARE_ZERO,       /* all zeros (X25519: a low-order point) */
    SHARE_OFF_CURVE,  /* last byte of y changed */
    SHARE_COMPRESSED, /* 0x02/0x03 || x */
    SHARE_NO_PREFIX,  /* x || y without 0x04: wrong length */
    SHARE_SHORT,      /* one byte short */
    SHARE_LONG,       /* one byte more */
    SHARE_INFINITY,   /* the single byte 0x00 */
} share_change;

static const char *share_change_name(share_change k)
{
    static const char *const names[] = {"unchanged", "zeros", "off-curve", "compressed",
                                        "no 0x04",   "short", "long",      "infinity"};
    return names[k];
}

/* The changed share in out; its length. */
static size_t change_share(const uint8_t *share, size_t len, share_change k, uint8_t *out)
{
    memcpy(out, share, len);
    switch (k) {
    case SHARE_SAME:
        return len;
    case SHARE_ZERO:
        memset(out, 0, len);
        return len;
    case SHARE_OFF_CURVE:
        out[len - 1] ^= 0x01;
        return len;
    case SHARE_COMPRESSED:
        out[0] = (uint8_t)(0x02 | (share[len - 1] & 1));
        return 1 + (len - 1) / 2;
    case SHARE_NO_PREFIX:
        memmove(out, share + 1, len - 1);
        return len - 1;
    case SHARE_SHORT:
        return len - 1;
    case SHARE_LONG:
        out[len] = 0x42;
        return len + 1;
    case SHARE_INFINITY:
        out[0] = 0;
        return 1;
    }
    return len;
}

static const uint8_t *find_bytes(const uint8_t *hay, size_t n, const uint8_t *needle, size_t len)
{
    for (size_t i = 0; len > 0 && i + len <= n; i++)
        if (memcmp(hay + i, needle, len) == 0)
            return hay + i;
    return NULL;
}

/* The client's ClientHello with its share changed, to our server. */
static void client_share_case(const char *groups, share_change k)
{
    char what[96];
    pair p;
    snprintf(what, sizeof what, "server: ClientHello %s share %s", groups, share_change_name(k));
    if (pair_open(&p, 0, groups) == 0) {
        uint8_t share[200];
        size_t n = take_output(p.cl.c, g_rec, sizeof g_rec);
        const struct iotls_client_state *s = &p.cl.c->hs.cl;
        const uint8_t *at = find_bytes(g_rec, n, s->share_pub, s->share_pub_len);
        CHECK(at != NULL && s->share_pub_len + 1 < sizeof share);
        if (at) {
            size_t off = (size_t)(at - g_rec);
            size_t new_len = change_share(s->share_pub, s->share_pub_len, k, share);
            n = replace_share(g_rec, n, 1, off, s->share_pub_len, share, new_len);
            int rc = feed(p.sv.c, g_rec, n);
            if (k == SHARE_SAME) {
                CHECK_OK(rc);
                CHECK(p.sv.c->rd_epoch == IOTLS_EPOCH_HANDSHAKE);
            } else {
                CHECK_RC(rc, IOTLS_ERR_ILLEGAL_PARAMETER);
                check_failed(&p, p.sv.c, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                             what);
            }
        }
    }
    pair_close(&p);
}

/* Our server's ServerHello with its share changed, to our client. */
static void server_share_case(const char *groups, share_change k)
{
    char what[96];
    pair p;
    snprintf(what, sizeof what, "client: ServerHello %s share %s", groups, share_change_name(k));
    if (pair_open(&p, 0, groups) == 0) {
        uint8_t share[200];
        size_t n = take_output(p.cl.c, g_rec, sizeof g_rec), off = 0, len = 0;
        CHECK_OK(feed(p.sv.c, g_rec, n));
        n = take_output(p.sv.c, g_rec, sizeof g_rec);
        n = rec_len(g_rec, n); /* the ServerHello record only */
        CHECK(n > 0 && sh_share(g_rec, n, &off, &len) && len + 1 < sizeof share);
        if (n > 0 && sh_share(g_rec, n, &off, &len) && len + 1 < sizeof share) {
            size_t new_len = change_share(g_rec + off, len, k, share);
            n = replace_share(g_rec, n, 0, off, len, share, new_len);
            int rc = feed(p.cl.c, g_rec, n);
            if (k == SHARE_SAME) {
                CHECK_OK(rc);
                CHECK(p.cl.c->rd_epoch == IOTLS_EPOCH_HANDSHAKE);
            } else {
                CHECK_RC(rc, IOTLS_ERR_ILLEGAL_PARAMETER);
                check_failed(&p, p.cl.c, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                             what);
            }
        }
    }
    pair_close(&p);
}

static void test_key_shares(void)
{
    static const share_change x25519[] = {SHARE_SAME, SHARE_ZERO, SHARE_SHORT, SHARE_LONG};
    static const share_change nist[] = {SHARE_SAME,      SHARE_OFF_CURVE, SHARE_COMPRESSED,
                                        SHARE_NO_PREFIX, SHARE_SHORT,     SHARE_LONG,
                                        SHARE_INFINITY,  SHARE_ZERO};
    for (size_t i = 0; i < sizeof x25519 / sizeof x25519[0]; i++) {
        client_share_case("x25519", x25519[i]);
        server_share_case("x25519", x25519[i]);
    }
    for (size_t i = 0; i < sizeof nist / sizeof nist[0]; i++) {
        client_share_case("P-256", nist[i]);
        server_share_case("P-256", nist[i]);
        client_share_case("P-384", nist[i]);
        server_share_case("P-384", nist[i]);
    }
}

/* ---------------- KeyUpdate ---------------- */

static void test_key_update(void)
{
    pair p;
    /* request_update 2 after the handshake, both directions; control 1. */
    for (int role = 0; role < 2; role++) {
        for (uint8_t req = 1; req <= 2; req++) {
            if (stage_connected(&p) == 0) {
                iotls_conn *from = role == IOTLS_ROLE_CLIENT ? p.sv.c : p.cl.c;
                iotls_conn *to = role == IOTLS_ROLE_CLIENT ? p.cl.c : p.sv.c;
                uint8_t ku[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, req};
                int rc = send_sealed(from, to, IOTLS_CT_HANDSHAKE, ku, sizeof ku);
                if (req == 1) {
                    CHECK_OK(rc);
                    CHECK(to->key_updates_in_row == 1);
                    size_t n = 0;
                    CHECK(iotls_conn_output(to, &n) != NULL); /* its own KeyUpdate */
                } else {
                    CHECK_RC(rc, IOTLS_ERR_ILLEGAL_PARAMETER);
                    check_failed(&p, to, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                                 role ? "server: KeyUpdate request 2"
                                      : "client: KeyUpdate request 2");
                }
            }
            pair_close(&p);
        }
    }

    /* A KeyUpdate during the handshake, under the handshake keys. */
    static const uint8_t ku[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, 0};
    if (stage_server_after_ch(&p, 0) == 0) {
        size_t n = seal(&p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_HANDSHAKE, ku, sizeof ku,
                        g_rec, sizeof g_rec);
        CHECK_RC(feed(p.sv.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.sv.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "server: KeyUpdate in the handshake");
    }
    pair_close(&p);
    if (stage_client_after_sh(&p, 0, NULL) == 0) {
        size_t n = seal(&p, "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_HANDSHAKE, ku, sizeof ku,
                        g_rec, sizeof g_rec);
        CHECK_RC(feed(p.cl.c, g_rec, n), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_failed(&p, p.cl.c, IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE,
                     "client: KeyUpdate in the handshake");
    }
    pair_close(&p);
}

/* ---------------- the client's flight, changed, to our server ---------------- */

typedef enum {
    FL_SAME,         /* control */
    FL_DER_TAG,      /* leaf certificate: outer tag not SEQUENCE */
    FL_DER_LENGTH,   /* leaf certificate: outer DER length one more */
    FL_DER_KEY,      /* leaf's EC point 0x04 -> 0x05 (no valid key) */
    FL_CV_SIGNATURE, /* last byte of the CertificateVerify signature */
    FL_FINISHED,     /* last byte of verify_data */
    FL_FIN_PARTIAL,  /* 4 bytes of a message after Finished */
    FL_FIN_WHOLE,    /* a whole KeyUpdate after Finished */
} flight_change;

/* Changes g_hs in place (or at its end); the new length, 0 on failure. */
static size_t change_flight(flight_change k)
{
    size_t off = 0, len = 0;
    static const uint8_t ku[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, 0};
    switch (k) {
    case FL_SAME:
        return g_hs_len;
    case FL_DER_TAG:
    case FL_DER_LENGTH:
    case FL_DER_KEY: {
        if (!find_msg(g_hs, g_hs_len, IOTLS_HS_CERTIFICATE, &off, &len))
            return 0;
        /* header, empty context, list length, cert_data length */
        uint8_t *der = g_hs + off + 4 + 1 + 3 + 3;
        CHECK(g_hs[off + 4] == 0 && der[0] == 0x30 && der[1] == 0x82);
        if (k == FL_DER_TAG) {
            der[0] = 0x31;
        } else if (k == FL_DER_LENGTH) {
            der[3]++;
        } else {
            static const uint8_t spki_point[] = {0x03, 0x42, 0x00, 0x04};
            uint8_t *at = (uint8_t *)find_bytes(der, len - 11, spki_point, sizeof spki_point);
            CHECK(at != NULL);
            if (!at)
                return 0;
            at[3] = 0x05;
        }
        return g_hs_len;
    }
    case FL_CV_SIGNATURE:
        if (!find_msg(g_hs, g_hs_len, IOTLS_HS_CERTIFICATE_VERIFY, &off, &len))
            return 0;
        g_hs[off + len - 1] ^= 0x01;
        return g_hs_len;
    case FL_FINISHED:
        if (!find_msg(g_hs, g_hs_len, IOTLS_HS_FINISHED, &off, &len))
            return 0;
        g_hs[off + len - 1] ^= 0x01;
        return g_hs_len;
    case FL_FIN_PARTIAL:
        memcpy(g_hs + g_hs_len, ku, 4);
        return g_hs_len + 4;
    case FL_FIN_WHOLE:
        memcpy(g_hs + g_hs_len, ku, sizeof ku);
        return g_hs_len + sizeof ku;
    }
    return 0;
}

static void client_flight_case(flight_change k, int want, const char *what)
{
    pair p;
    if (stage_client_flight(&p, 1) == 0) {
        size_t len = change_flight(k);
        CHECK(len > 0);
        size_t n = seal(&p, "CLIENT_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_HANDSHAKE, g_hs, len,
                        g_rec, sizeof g_rec);
        int rc = feed(p.sv.c, g_rec, n);
        CHECK_RC(rc, want);
        if (want == IOTLS_OK) {
            CHECK(iotls_conn_handshake_done(p.sv.c) && p.sv.c->client_auth);
        } else {
            check_failed(&p, p.sv.c, want, iotls_error_alert(want), what);
        }
    }
    pair_close(&p);
}

static void test_client_flight(void)
{
    client_flight_case(FL_SAME, IOTLS_OK, "control");
    client_flight_case(FL_DER_TAG, IOTLS_ERR_BAD_CERTIFICATE, "client cert DER tag");
    client_flight_case(FL_DER_LENGTH, IOTLS_ERR_BAD_CERTIFICATE, "client cert DER length");
    client_flight_case(FL_DER_KEY, IOTLS_ERR_BAD_CERTIFICATE, "client cert EC point");
    client_flight_case(FL_CV_SIGNATURE, IOTLS_ERR_DECRYPT_ERROR, "client CV signature");
    client_flight_case(FL_FINISHED, IOTLS_ERR_DECRYPT_ERROR, "client Finished");
    client_flight_case(FL_FIN_PARTIAL, IOTLS_ERR_UNEXPECTED_MESSAGE, "partial after Finished");
    client_flight_case(FL_FIN_WHOLE, IOTLS_ERR_UNEXPECTED_MESSAGE, "KeyUpdate after Finished");
}

/* The server's flight with its certificate damaged, to our client. */
static void server_flight_case(flight_change k, int want, const char *what)
{
    pair p;
    if (stage_client_after_sh(&p, 0, NULL) == 0) {
        size_t len = change_flight(k);
        CHECK(len > 0);
        size_t n = seal(&p, "SERVER_HANDSHAKE_TRAFFIC_SECRET", 0, IOTLS_CT_HANDSHAKE, g_hs, len,
                        g_rec, sizeof g_rec);
        int rc = feed(p.cl.c, g_rec, n);
        CHECK_RC(rc, want);
        if (want == IOTLS_OK) {
            CHECK(iotls_conn_handshake_done(p.cl.c));
        } else {
            /* Refused before the client answered: no handshake reported
             * done, and the only record out is the plaintext alert (no
             * CCS, no Finished ahead of it). */
            size_t out_len = 0;
            const uint8_t *out = iotls_conn_output(p.cl.c, &out_len);
            CHECK(!iotls_conn_handshake_done(p.cl.c));
            CHECK(out != NULL && out_len == 7 && out[0] == IOTLS_CT_ALERT);
            check_failed(&p, p.cl.c, want, iotls_error_alert(want), what);
        }
    }
    pair_close(&p);
}

static void test_server_certificate(void)
{
    server_flight_case(FL_SAME, IOTLS_OK, "control");
    server_flight_case(FL_DER_TAG, IOTLS_ERR_BAD_CERTIFICATE, "server cert DER tag");
    server_flight_case(FL_DER_LENGTH, IOTLS_ERR_BAD_CERTIFICATE, "server cert DER length");
    server_flight_case(FL_DER_KEY, IOTLS_ERR_BAD_CERTIFICATE, "server cert EC point");
    server_flight_case(FL_FINISHED, IOTLS_ERR_DECRYPT_ERROR, "server Finished");
    /* The server's Finished must end its record (RFC 8446 5.1). */
    server_flight_case(FL_FIN_PARTIAL, IOTLS_ERR_UNEXPECTED_MESSAGE,
                       "partial after server Finished");
    server_flight_case(FL_FIN_WHOLE, IOTLS_ERR_UNEXPECTED_MESSAGE,
                       "KeyUpdate after server Finished");
}

/* ---------------- alerts ---------------- */

static void test_alerts(void)
{
    static const struct {
        uint8_t body[3];
        size_t len;
        int received; /* the alert description when it ends the connection as received */
        const char *what;
    } cases[] = {
        {{2, 200, 0}, 2, 200, "unknown description, fatal"},
        {{1, 200, 0}, 2, 200, "unknown description, warning"},
        {{2, 255, 0}, 2, 255, "description 255"},
        {{2, 0, 0}, 1, -1, "1 byte"},
        {{2, 40, 0}, 3, -1, "3 bytes"},
        {{0, 40, 0}, 2, -1, "level 0"},
        {{3, 40, 0}, 2, -1, "level 3"},
        {{255, 0, 0}, 2, -1, "level 255, close_notify"},
    };
    char what[96];
    pair p;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        /* Protected, after the handshake: to the server, and to the client. */
        for (int role = 0; role < 2; role++) {
            snprintf(what, sizeof what, "%s: alert %s", role ? "server" : "client", cases[i].what);
            if (stage_connected(&p) == 0) {
                iotls_conn *from = role == IOTLS_ROLE_CLIENT ? p.sv.c : p.cl.c;
                iotls_conn *to = role == IOTLS_ROLE_CLIENT ? p.cl.c : p.sv.c;
                int rc = send_sealed(from, to, IOTLS_CT_ALERT, cases[i].body, cases[i].len);
                if (cases[i].received >= 0) {
                    CHECK_RC(rc, IOTLS_ERR_ALERT_RECEIVED);
                    check_alert_received(to, cases[i].received, what);
                } else {
                    CHECK_RC(rc, IOTLS_ERR_DECODE);
                    check_failed(&p, to, IOTLS_ERR_DECODE, IOTLS_ALERT_DECODE_ERROR, what);
                }
            }
            pair_close(&p);
        }
        /* In the clear, to a server that has no keys yet. */
        snprintf(what, sizeof what, "server, plaintext: alert %s", cases[i].what);
        if (pair_open(&p, 0, NULL) == 0) {
            size_t n = plain_record(IOTLS_CT_ALERT, cases[i].body, cases[i].len, g_rec);
            int rc = feed(p.sv.c, g_rec, n);
            if (cases[i].received >= 0) {
                CHECK_RC(rc, IOTLS_ERR_ALERT_RECEIVED);
                check_alert_received(p.sv.c, cases[i].received, what);
            } else {
                CHECK_RC(rc, IOTLS_ERR_DECODE);
                check_failed(&p, p.sv.c, IOTLS_ERR_DECODE, IOTLS_ALERT_DECODE_ERROR, what);
            }
        }
        pair_close(&p);
    }
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-malformed-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (tl_openssl_pki(g_dir, "iotls malformed CA", "iotls-malformed-client") != 0) {
        fprintf(stderr, "openssl command missing or failed: cannot make test certificates\n");
        CHECK(0);
    } else {
        test_key_change_span();
        test_ccs();
        test_app_data_early();
        test_interleaved();
        test_key_shares();
        test_key_update();
        test_client_flight();
        test_server_certificate();
        test_alerts();
        test_empty_records();
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("malformed");
}
