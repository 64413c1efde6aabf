/* Zero-copy input (iotls_conn_input_space / iotls_conn_input_commit):
 *
 * 1. A client fed only through its input space, in receives of 1, 2, 5, 7,
 *    100 bytes and whole space, completes the handshake with a server fed
 *    through iotls_conn_input, and the application data arrives intact.
 *    The space never reaches past the record being received (a transport
 *    that fills it can never take bytes of the next record).
 * 2. No space while decrypted application data waits to be read; space
 *    again after the read.
 * 3. Committing more than the space is BAD_ARG and changes nothing.
 * 4. A bad record header arriving through the space fails the connection
 *    with the same error and alert as through iotls_conn_input; then there
 *    is no space and commit returns the error.
 * 5. The selected ALPN protocol lives in the connection block, sized for
 *    the longest name of the configured list: a 200-character protocol is
 *    negotiated and reported whole on both sides; a short list adds next
 *    to nothing to the block. */
#include <stdio.h>
#include <string.h>

#include "crypto/crypto.h"
#include "enginepair.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";

static int make_pki(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    int rc = tl_make_pki("CN=input space test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                         sizeof ca_key);
    return rc;
}

/* Moves the sender's output onto the wire. */
static int to_wire(iotls_conn *from, tl_wire *w)
{
    size_t n;
    const uint8_t *p = iotls_conn_output(from, &n);
    if (!p || n == 0 || n > sizeof w->buf - w->len)
        return 0;
    memcpy(w->buf + w->len, p, n);
    w->len += n;
    iotls_conn_output_consume(from, n);
    return 1;
}

/* Delivers the wire to c through its input space, at most step bytes per
 * "receive" (0: the whole space). 1: progress, 0: none, < 0:
 * the engine's error. */
static int deliver_by_space(iotls_conn *c, tl_wire *w, size_t step)
{
    int progress = 0;
    size_t off = 0;
    while (off < w->len) {
        size_t cap = 0;
        uint8_t *space = iotls_conn_input_space(c, &cap);
        if (space == NULL) {
            if (iotls_conn_error(c) != IOTLS_OK) {
                memmove(w->buf, w->buf + off, w->len - off);
                w->len -= off;
                return iotls_conn_error(c);
            }
            break;
        }
        size_t n = w->len - off < cap ? w->len - off : cap;
        if (step && n > step)
            n = step;
        memcpy(space, w->buf + off, n);
        off += n;
        progress = 1;
        int rc = iotls_conn_input_commit(c, n);
        if (rc != IOTLS_OK) {
            memmove(w->buf, w->buf + off, w->len - off);
            w->len -= off;
            return rc;
        }
    }
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return progress;
}

/* Record boundaries of a flight on the wire: whether every space handed
 * out would have stayed inside one record is checked by walking the
 * records and asking the engine for its space at each boundary. */
static int spaces_stay_in_records(iotls_conn *c, tl_wire *w)
{
    size_t off = 0;
    while (off + 5 <= w->len) {
        size_t body = ((size_t)w->buf[off + 3] << 8) | w->buf[off + 4];
        size_t cap = 0;
        uint8_t *space = iotls_conn_input_space(c, &cap);
        if (space == NULL)
            break;
        if (cap != 5)
            return 0; /* at a record boundary the engine wants a header */
        memcpy(space, w->buf + off, 5);
        if (iotls_conn_input_commit(c, 5) != IOTLS_OK)
            return 0;
        space = iotls_conn_input_space(c, &cap);
        if (space == NULL || cap != body)
            return 0; /* then exactly the body */
        if (off + 5 + body > w->len)
            return 0;
        memcpy(space, w->buf + off + 5, body);
        if (iotls_conn_input_commit(c, body) != IOTLS_OK)
            return 0;
        off += 5 + body;
    }
    memmove(w->buf, w->buf + off, w->len - off);
    w->len -= off;
    return 1;
}

static iotls_config *server_config(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    return cfg;
}

static iotls_config *client_config(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    return cfg;
}

/* One handshake plus a message each way; the client receives through its
 * input space in steps of step bytes. */
static void run_pair(iotls_config *scfg, iotls_config *ccfg, size_t step)
{
    static tl_wire to_sv, to_cl;
    to_sv.len = to_cl.len = 0;
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv != NULL && cl != NULL);
    if (!sv || !cl)
        goto out;
    CHECK_OK(iotls_conn_start(sv));
    CHECK_OK(iotls_conn_start(cl));
    int failed = 0;
    for (int i = 0; i < 100 && !failed; i++) {
        int a = tl_shuttle(cl, &to_sv, sv, NULL);
        int b = to_wire(sv, &to_cl);
        int c = deliver_by_space(cl, &to_cl, step);
        if (a < 0 || c < 0)
            failed = 1;
        if (a == 0 && b == 0 && c == 0)
            break;
    }
    CHECK_OK(iotls_conn_error(cl));
    CHECK_OK(iotls_conn_error(sv));
    CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
    if (!iotls_conn_handshake_done(cl) || !iotls_conn_handshake_done(sv))
        goto out;

    /* Server -> client through the space: two records, read one at a time;
     * no space while the first one's data is unread. */
    size_t n = 0;
    uint8_t buf[64];
    CHECK_OK(iotls_conn_write(sv, (const uint8_t *)"first", 5, &n));
    CHECK_OK(iotls_conn_write(sv, (const uint8_t *)"second", 6, &n));
    CHECK(to_wire(sv, &to_cl));
    CHECK(deliver_by_space(cl, &to_cl, step) == 1);
    size_t cap = 1;
    CHECK(iotls_conn_input_space(cl, &cap) == NULL && cap == 0);
    CHECK_OK(iotls_conn_error(cl));
    CHECK(to_cl.len > 0); /* the second record waits on the wire */
    CHECK_OK(iotls_conn_read(cl, buf, sizeof buf, &n));
    CHECK(n == 5 && memcmp(buf, "first", 5) == 0);
    CHECK(iotls_conn_input_space(cl, &cap) != NULL && cap == 5);
    CHECK(deliver_by_space(cl, &to_cl, step) == 1);
    CHECK_OK(iotls_conn_read(cl, buf, sizeof buf, &n));
    CHECK(n == 6 && memcmp(buf, "second", 6) == 0);
    CHECK(to_cl.len == 0);

    /* Client -> server, for the echo. */
    CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"ping", 4, &n));
    CHECK(tl_shuttle(cl, &to_sv, sv, NULL) > 0);
    CHECK_OK(iotls_conn_read(sv, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);

    /* The space follows record boundaries exactly. */
    CHECK_OK(iotls_conn_write(sv, (const uint8_t *)"abc", 3, &n));
    CHECK(to_wire(sv, &to_cl));
    CHECK(spaces_stay_in_records(cl, &to_cl));
    CHECK_OK(iotls_conn_read(cl, buf, sizeof buf, &n));
    CHECK(n == 3 && memcmp(buf, "abc", 3) == 0);

    /* More than the space: refused, nothing taken. */
    CHECK(iotls_conn_input_space(cl, &cap) != NULL && cap == 5);
    CHECK_RC(iotls_conn_input_commit(cl, 6), IOTLS_ERR_BAD_ARG);
    CHECK(iotls_conn_input_space(cl, &cap) != NULL && cap == 5);
    CHECK_OK(iotls_conn_error(cl));
out:
    tl_conn_free(sv);
    tl_conn_free(cl);
}

/* A record header of an unknown content type through the space: the same
 * error and alert as through iotls_conn_input. */
static void bad_header(iotls_config *ccfg)
{
    static const uint8_t junk[5] = {0x42, 0x03, 0x03, 0x00, 0x10};
    iotls_conn *a = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    iotls_conn *b = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(a != NULL && b != NULL);
    if (!a || !b)
        goto out;
    CHECK_OK(iotls_conn_start(a));
    CHECK_OK(iotls_conn_start(b));
    size_t n;
    iotls_conn_output_consume(a, (iotls_conn_output(a, &n), n));
    iotls_conn_output_consume(b, (iotls_conn_output(b, &n), n));

    size_t used = 0;
    int rc_copy = iotls_conn_input(a, junk, sizeof junk, &used);
    CHECK(rc_copy < 0);

    size_t cap = 0;
    uint8_t *space = iotls_conn_input_space(b, &cap);
    CHECK(space != NULL && cap == 5);
    if (space) {
        memcpy(space, junk, sizeof junk);
        CHECK_RC(iotls_conn_input_commit(b, sizeof junk), rc_copy);
    }
    CHECK_RC(iotls_conn_error(b), rc_copy);
    /* The same alert is queued by both. */
    size_t la = 0, lb = 0;
    const uint8_t *oa = iotls_conn_output(a, &la);
    const uint8_t *ob = iotls_conn_output(b, &lb);
    CHECK(oa != NULL && ob != NULL && la == lb && la == 7);
    if (oa && ob && la == lb)
        CHECK(memcmp(oa, ob, la) == 0);
    /* Failed: no space, and commit reports the error. */
    CHECK(iotls_conn_input_space(b, &cap) == NULL && cap == 0);
    CHECK_RC(iotls_conn_input_commit(b, 1), rc_copy);
out:
    tl_conn_free(a);
    tl_conn_free(b);
}

#if IOTLS_FEATURE_ALPN
static void long_alpn(void)
{
    char name[201], list[256];
    memset(name, 'p', 200);
    name[200] = '\0';
    snprintf(list, sizeof list, "h2,%s", name);
    iotls_config *scfg = server_config();
    iotls_config *ccfg = client_config();
    /* A short list costs next to nothing; a 200-character name costs its
     * room for the selected protocol (16-byte aligned). */
    size_t without = iotls_conn_size(ccfg);
    CHECK_OK(iotls_config_set_alpn(ccfg, "h2"));
    size_t with_short = iotls_conn_size(ccfg);
    CHECK(with_short <= without + 32);
    CHECK_OK(iotls_config_set_alpn(scfg, name));
    CHECK_OK(iotls_config_set_alpn(ccfg, list));
    size_t with_long = iotls_conn_size(ccfg);
    CHECK(with_long >= with_short + 200 - 16);

    static tl_wire to_sv, to_cl;
    to_sv.len = to_cl.len = 0;
    iotls_conn *sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    iotls_conn *cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        CHECK_OK(iotls_conn_start(sv));
        CHECK_OK(iotls_conn_start(cl));
        for (int i = 0; i < 50; i++) {
            int a = tl_shuttle(cl, &to_sv, sv, NULL);
            int b = tl_shuttle(sv, &to_cl, cl, NULL);
            if (a <= 0 && b <= 0)
                break;
        }
        CHECK(iotls_conn_handshake_done(cl) && iotls_conn_handshake_done(sv));
        iotls_info ci, si;
        CHECK_OK(iotls_conn_info(cl, &ci));
        CHECK_OK(iotls_conn_info(sv, &si));
        CHECK(ci.alpn != NULL && strcmp(ci.alpn, name) == 0);
        CHECK(si.alpn != NULL && strcmp(si.alpn, name) == 0);
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
}
#endif

int main(void)
{
    if (make_pki() != IOTLS_OK) {
        fprintf(stderr, "could not make the test PKI\n");
        CHECK(0);
        return tl_finish("input_space");
    }
    iotls_config *scfg = server_config();
    iotls_config *ccfg = client_config();
    static const size_t steps[] = {1, 2, 5, 7, 100, 0};
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        run_pair(scfg, ccfg, steps[i]);
#if IOTLS_FEATURE_RECORD_SIZE
    /* Small records (2048) on the client: the space is sized by the
     * configuration like rx. */
    CHECK_OK(iotls_config_set_record_size(ccfg, 2048));
    run_pair(scfg, ccfg, 0);
#endif
    bad_header(ccfg);
#if IOTLS_FEATURE_ALPN
    long_alpn();
#endif
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    return tl_finish("input_space");
}
