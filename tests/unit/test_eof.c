/* The end of the stream, one convention for the engine and the blocking
 * API (include/iotls/engine.h, include/iotls/iotls.h, docs/api.md):
 *
 * 1. Clean close: after the peer's close_notify, a read gives 0 bytes and
 *    no error (the engine: IOTLS_OK with n == 0 and iotls_conn_peer_closed;
 *    the blocking API: 0), every time it is called again.
 * 2. Truncation: the transport closing without close_notify is
 *    IOTLS_ERR_EOF on both (the engine told by iotls_conn_input_eof), and
 *    never a 0: a cut stream must not pass for a complete one. After a
 *    clean close, the same transport EOF is fine.
 * 3. Writing after the peer's close_notify is allowed on both (RFC 8446
 *    6.1: each side closes its own write side) and the data arrives. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "enginepair.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096];
static const char *g_name = "device.local";

static iotls_config *server_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)leaf_cert, strlen(leaf_cert) + 1,
                                       (const uint8_t *)leaf_key, strlen(leaf_key) + 1));
    return cfg;
}

static iotls_config *client_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert) + 1));
    return cfg;
}

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

static int pair_up(pair *p, const iotls_config *scfg, const iotls_config *ccfg)
{
    memset(p, 0, sizeof *p);
    p->sv = tl_conn_new(scfg, IOTLS_ROLE_SERVER, NULL);
    p->cl = tl_conn_new(ccfg, IOTLS_ROLE_CLIENT, g_name);
    CHECK(p->sv != NULL && p->cl != NULL);
    if (!p->sv || !p->cl)
        return -1;
    CHECK_OK(iotls_conn_start(p->sv));
    CHECK_OK(iotls_conn_start(p->cl));
    pump(p);
    CHECK(iotls_conn_handshake_done(p->cl) && iotls_conn_handshake_done(p->sv));
    return iotls_conn_handshake_done(p->cl) && iotls_conn_handshake_done(p->sv) ? 0 : -1;
}

static void pair_free(pair *p)
{
    tl_conn_free(p->cl);
    tl_conn_free(p->sv);
}

static void test_engine(const iotls_config *scfg, const iotls_config *ccfg)
{
    static pair p;
    uint8_t buf[64];
    size_t n = 99;

    /* 1 and 3: the server closes; the client reads what came before, then
     * 0 bytes, again and again; it may still write, and the server gets it. */
    if (pair_up(&p, scfg, ccfg) == 0) {
        CHECK_OK(iotls_conn_write(p.sv, (const uint8_t *)"bye", 3, &n));
        CHECK_OK(iotls_conn_close(p.sv));
        pump(&p);
        CHECK(!iotls_conn_peer_closed(p.sv));
        CHECK_OK(iotls_conn_read(p.cl, buf, sizeof buf, &n));
        CHECK(n == 3 && memcmp(buf, "bye", 3) == 0);
        pump(&p); /* the close_notify waited while "bye" was unread */
        for (int i = 0; i < 2; i++) {
            n = 99;
            CHECK_OK(iotls_conn_read(p.cl, buf, sizeof buf, &n));
            CHECK(n == 0);
        }
        CHECK(iotls_conn_peer_closed(p.cl));
        CHECK_OK(iotls_conn_error(p.cl));
        CHECK_OK(iotls_conn_write(p.cl, (const uint8_t *)"late", 4, &n));
        CHECK(n == 4);
        pump(&p);
        CHECK_OK(iotls_conn_read(p.sv, buf, sizeof buf, &n));
        CHECK(n == 4 && memcmp(buf, "late", 4) == 0);
        /* The TCP connection then ends: after close_notify, that is fine. */
        CHECK_OK(iotls_conn_input_eof(p.cl));
        CHECK_OK(iotls_conn_read(p.cl, buf, sizeof buf, &n));
        CHECK(n == 0);
    }
    pair_free(&p);

    /* 2: data, then the transport ends without close_notify: EOF, sticky,
     * and no read ever says 0 bytes. */
    if (pair_up(&p, scfg, ccfg) == 0) {
        CHECK_OK(iotls_conn_write(p.sv, (const uint8_t *)"half", 4, &n));
        pump(&p);
        CHECK_OK(iotls_conn_read(p.cl, buf, sizeof buf, &n));
        CHECK(n == 4);
        CHECK_RC(iotls_conn_read(p.cl, buf, sizeof buf, &n), IOTLS_WANT_READ);
        CHECK_RC(iotls_conn_input_eof(p.cl), IOTLS_ERR_EOF);
        CHECK(!iotls_conn_peer_closed(p.cl));
        CHECK_RC(iotls_conn_error(p.cl), IOTLS_ERR_EOF);
        CHECK_RC(iotls_conn_read(p.cl, buf, sizeof buf, &n), IOTLS_ERR_EOF);
        CHECK(n == 0);
        size_t w = 0;
        CHECK_RC(iotls_conn_write(p.cl, (const uint8_t *)"x", 1, &w), IOTLS_ERR_EOF);
    }
    pair_free(&p);
}

/* The blocking API over a socketpair; the server thread writes "bye", then
 * closes with close_notify (clean) or shuts the socket without it
 * (truncate), then (clean) reads what the client writes after that. */
typedef struct {
    const iotls_config *cfg;
    int fd;
    int truncate;
    int rc;
    char late[16];
} server_job;

static void *serve(void *arg)
{
    server_job *job = arg;
    iotls *srv = iotls_server_new(job->cfg);
    iotls *t = NULL;
    job->rc = srv ? iotls_accept_socket(srv, job->fd, &t) : IOTLS_ERR_NO_MEMORY;
    if (job->rc == IOTLS_OK) {
        if (iotls_write(t, "bye", 3) != 3)
            job->rc = IOTLS_ERR_INTERNAL;
        if (job->truncate) {
            shutdown(job->fd, SHUT_WR);
        } else {
            (void)iotls_close(t);
            ssize_t got = iotls_read(t, job->late, sizeof job->late - 1);
            if (got > 0)
                job->late[got] = '\0';
        }
    }
    iotls_free(t);
    iotls_free(srv);
    return NULL;
}

static void test_blocking(const iotls_config *scfg, const iotls_config *ccfg, int truncate)
{
    int fds[2];
    pthread_t th;
    server_job job;
    memset(&job, 0, sizeof job);
    job.cfg = scfg;
    job.truncate = truncate;
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, fds) == 0);
    job.fd = fds[1];
    CHECK(pthread_create(&th, NULL, serve, &job) == 0);
    iotls *t = iotls_client_new(ccfg);
    CHECK(t != NULL);
    CHECK_OK(iotls_connect_socket(t, fds[0], g_name));
    char buf[16];
    ssize_t got = 0;
    while (got < 3) {
        ssize_t r = iotls_read(t, buf + got, sizeof buf - (size_t)got);
        CHECK(r > 0);
        if (r <= 0)
            break;
        got += r;
    }
    CHECK(got == 3 && memcmp(buf, "bye", 3) == 0);
    if (truncate) {
        CHECK(iotls_read(t, buf, sizeof buf) == IOTLS_ERR_EOF);
        CHECK_RC(iotls_last_error(t), IOTLS_ERR_EOF);
        CHECK(!iotls_conn_peer_closed(iotls_engine(t)));
    } else {
        CHECK(iotls_read(t, buf, sizeof buf) == 0);
        CHECK(iotls_read(t, buf, sizeof buf) == 0);
        CHECK_RC(iotls_last_error(t), IOTLS_ERR_CLOSED);
        CHECK(iotls_conn_peer_closed(iotls_engine(t)));
        CHECK(iotls_write(t, "late", 4) == 4);
    }
    shutdown(fds[0], SHUT_WR);
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    if (!truncate)
        CHECK(strcmp(job.late, "late") == 0);
    iotls_free(t);
    close(fds[0]);
    close(fds[1]);
}

int main(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device", .dns_names = "device.local", .for_server = 1};
    if (tl_make_pki("CN=eof test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert, sizeof ca_key) !=
        IOTLS_OK) {
        fprintf(stderr, "could not make test certificates\n");
        CHECK(0);
        return tl_finish("eof");
    }
    iotls_config *scfg = server_cfg();
    iotls_config *ccfg = client_cfg();
    test_engine(scfg, ccfg);
    test_blocking(scfg, ccfg, 0);
    test_blocking(scfg, ccfg, 1);
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    return tl_finish("eof");
}
