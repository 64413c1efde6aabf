/* IOTLS_WANT_READ / IOTLS_WANT_WRITE are not failures, wherever the engine
 * returns them (include/iotls/engine.h, docs/api.md): the connection is
 * intact, and the same call succeeds once the application has fed input or
 * drained the output.
 *
 * - iotls_conn_read with nothing received: WANT_READ.
 * - iotls_conn_write, iotls_conn_key_update and iotls_conn_close while the
 *   output buffer is full (the application has not sent it yet): each
 *   WANT_WRITE; after the output is drained each succeeds, and the peer
 *   gets all the data, the KeyUpdate and the close_notify. */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "enginepair.h"
#include "iotls/engine.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];

typedef struct {
    iotls_conn *cl, *sv;
    tl_wire to_sv, to_cl;
} pair;

static void pump(pair *p)
{
    for (int i = 0; i < 50; i++) {
        int a = tl_shuttle(p->cl, &p->to_sv, p->sv, NULL);
        int b = tl_shuttle(p->sv, &p->to_cl, p->cl, NULL);
        if (a <= 0 && b <= 0)
            break;
    }
}

/* Fills the client's output buffer without sending it: writes until the
 * engine takes no more, then the exact size of the room left (a record's
 * 22 bytes of header, content type and tag on top of its data). Returns
 * the bytes written. */
static size_t fill_output(iotls_conn *c, int *want_write_seen)
{
    static uint8_t data[16384];
    memset(data, 'w', sizeof data);
    size_t total = 0, n = 0;
    int rc = IOTLS_OK;
    for (int i = 0; i < 100 && rc == IOTLS_OK; i++) {
        rc = iotls_conn_write(c, data, sizeof data, &n);
        total += n;
    }
    *want_write_seen = rc == IOTLS_WANT_WRITE && n == 0;
    size_t room = iotls__conn_tx_free(c);
    if (room > 22) {
        CHECK_OK(iotls_conn_write(c, data, room - 22, &n));
        total += n;
    }
    return total;
}

/* Reads everything the server has for us, counting bytes; 1 when it read
 * the close_notify at the end. */
static size_t drain_server(pair *p, int *closed)
{
    uint8_t buf[16384];
    size_t got = 0, n = 0;
    *closed = 0;
    for (int i = 0; i < 10000; i++) {
        pump(p);
        int rc = iotls_conn_read(p->sv, buf, sizeof buf, &n);
        if (rc != IOTLS_OK)
            break;
        if (n == 0) {
            *closed = iotls_conn_peer_closed(p->sv);
            break;
        }
        got += n;
    }
    return got;
}

static void test_want(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    memset(&p, 0, sizeof p);
    p.sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    p.cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, "device.local");
    CHECK(p.sv != NULL && p.cl != NULL);
    if (!p.sv || !p.cl)
        goto out;
    CHECK_OK(iotls_conn_start(p.sv));
    CHECK_OK(iotls_conn_start(p.cl));
    pump(&p);
    CHECK(iotls_conn_handshake_done(p.cl) && iotls_conn_handshake_done(p.sv));
    pump(&p); /* the server's tickets */

    /* Nothing to read: WANT_READ, and nothing failed. */
    uint8_t buf[64];
    size_t n = 99;
    CHECK_RC(iotls_conn_read(p.cl, buf, sizeof buf, &n), IOTLS_WANT_READ);
    CHECK(n == 0);
    CHECK_OK(iotls_conn_error(p.cl));

    /* Output full: write, key update and close wait; nothing failed. */
    int seen = 0;
    size_t written = fill_output(p.cl, &seen);
    CHECK(seen);
    CHECK(iotls__conn_tx_free(p.cl) < 23);
    CHECK_RC(iotls_conn_write(p.cl, (const uint8_t *)"x", 1, &n), IOTLS_WANT_WRITE);
    CHECK(n == 0);
    CHECK_RC(iotls_conn_key_update(p.cl, 1), IOTLS_WANT_WRITE);
    CHECK_RC(iotls_conn_close(p.cl), IOTLS_WANT_WRITE);
    CHECK_OK(iotls_conn_error(p.cl));

    /* Drained: the same calls succeed, and the server gets everything. */
    int closed = 0;
    size_t got = drain_server(&p, &closed);
    CHECK(got == written);
    CHECK_OK(iotls_conn_key_update(p.cl, 1));
    CHECK_OK(iotls_conn_write(p.cl, (const uint8_t *)"after", 5, &n));
    CHECK(n == 5);
    CHECK_OK(iotls_conn_close(p.cl));
    got = drain_server(&p, &closed);
    CHECK(got == 5);
    CHECK(closed);
    CHECK_OK(iotls_conn_error(p.sv));
    iotls_info info;
    CHECK_OK(iotls_conn_info(p.sv, &info));
    CHECK(info.key_updates_received >= 1);
out:
    tl_conn_free(p.cl);
    tl_conn_free(p.sv);
}

int main(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    if (tl_make_pki("CN=want test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                    sizeof ca_key) != IOTLS_OK) {
        fprintf(stderr, "could not make test certificates\n");
        CHECK(0);
        return tl_finish("want");
    }
    iotls_config *scfg = iotls_config_new(), *ccfg = iotls_config_new();
    CHECK(scfg != NULL && ccfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(scfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    CHECK_OK(iotls_config_set_ca_mem(ccfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    test_want(scfg, ccfg);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    return tl_finish("want");
}
