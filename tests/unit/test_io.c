/* Transports: the in-memory pair (src/io/mem.c) and the blocking API over
 * real sockets (src/io/blocking.c): handshakes, data both ways,
 * close_notify vs. bare EOF, the one-line error texts, timeouts,
 * non-blocking use, listen/connect/accept over loopback TCP, a peer's
 * alert reported when it closed before our write. */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "conn_internal.h"
#include "crypto/crypto.h"
#include "io/mem.h"
#include "msg/msg.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "enginepair.h"
#include "testlib.h"

static char ca_key[4096], ca_cert[4096], srv_key[4096], srv_cert[4096];

static int make_pki(void)
{
    iotls_cert_spec leaf = {.subject = "CN=device.local",
                            .dns_names = "device.local",
                            .ip_addrs = "127.0.0.1",
                            .for_server = 1};
    int rc = tl_make_pki("CN=io test CA", &leaf, ca_key, ca_cert, srv_key, srv_cert, sizeof ca_key);
    return rc;
}

static iotls_config *client_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    if (iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert)) != IOTLS_OK)
        abort();
    return cfg;
}

static iotls_config *server_cfg(void)
{
    iotls_config *cfg = iotls_config_new();
    if (iotls_config_set_cert_mem(cfg, (const uint8_t *)srv_cert, strlen(srv_cert),
                                  (const uint8_t *)srv_key, strlen(srv_key)) != IOTLS_OK)
        abort();
    return cfg;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------- in-memory pair ---------------- */

typedef struct {
    iotls_conn *c, *s;
    void *cm, *sm;
} mem_pair;

static void pair_open(mem_pair *p, const iotls_config *ccfg, const iotls_config *scfg,
                      const char *name)
{
    size_t cn = iotls_conn_size(ccfg), sn = iotls_conn_size(scfg);
    p->cm = malloc(cn);
    p->sm = malloc(sn);
    p->c = iotls_conn_init(p->cm, cn, ccfg, IOTLS_ROLE_CLIENT, name);
    p->s = iotls_conn_init(p->sm, sn, scfg, IOTLS_ROLE_SERVER, NULL);
    if (!p->c || !p->s)
        abort();
    CHECK_OK(iotls_conn_start(p->c));
    CHECK_OK(iotls_conn_start(p->s));
}

static void pair_close(mem_pair *p)
{
    iotls_conn_free(p->c);
    iotls_conn_free(p->s);
    free(p->cm);
    free(p->sm);
}

static void test_mem_pair(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    mem_pair p;
    pair_open(&p, ccfg, scfg, "device.local");
    iotls_mem_opts o;
    iotls__mem_opts_init(&o);
    CHECK_OK(iotls__mem_pair_run(p.c, p.s, &o));
    CHECK(iotls_conn_handshake_done(p.c) && iotls_conn_handshake_done(p.s));
    CHECK(o.failed_side == -1);
    CHECK(o.bytes_to_server > 0 && o.bytes_to_client > o.bytes_to_server);
    /* Every byte each side sent was delivered. */
    iotls_info ci, si;
    CHECK_OK(iotls_conn_info(p.c, &ci));
    CHECK_OK(iotls_conn_info(p.s, &si));
    CHECK(ci.bytes_out == o.bytes_to_server && si.bytes_out == o.bytes_to_client);
    CHECK(ci.bytes_in == si.bytes_out);

    /* Application data through one step. */
    size_t n = 0, moved = 0;
    CHECK_OK(iotls_conn_write(p.c, (const uint8_t *)"ping", 4, &n));
    CHECK(n == 4);
    CHECK_OK(iotls__mem_pair_step(p.c, p.s, &o, &moved));
    CHECK(moved > 4);
    uint8_t buf[16];
    CHECK_OK(iotls_conn_read(p.s, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "ping", 4) == 0);
    CHECK_OK(iotls__mem_pair_step(p.c, p.s, &o, &moved));
    CHECK(moved == 0);
    pair_close(&p);

    /* One byte at a time: every record and message split everywhere. */
    pair_open(&p, ccfg, scfg, "device.local");
    iotls__mem_opts_init(&o);
    o.chunk = 1;
    CHECK_OK(iotls__mem_pair_run(p.c, p.s, &o));
    CHECK(iotls_conn_handshake_done(p.c) && iotls_conn_handshake_done(p.s));
    pair_close(&p);

    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* Flips one byte of the server's stream at a chosen offset. */
static int flip_tap(void *arg, int dir, uint64_t offset, uint8_t *data, size_t len)
{
    uint64_t at = *(uint64_t *)arg;
    if (dir == IOTLS_MEM_TO_CLIENT && at >= offset && at < offset + len)
        data[at - offset] ^= 0x01;
    return 0;
}

static void test_mem_tamper(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    /* Find where the server's encrypted flight ends, then flip a byte 20
     * before it: inside the ciphertext of the last record (Finished, 58
     * bytes on the wire) even though the ECDSA signature's length varies
     * by a byte or two from one handshake to the next. */
    mem_pair p;
    pair_open(&p, ccfg, scfg, "device.local");
    size_t moved = 0;
    iotls_mem_opts o;
    iotls__mem_opts_init(&o);
    o.chunk = 0;
    /* Step 1 delivers ClientHello and the whole server flight. */
    CHECK_OK(iotls__mem_pair_step(p.c, p.s, &o, &moved));
    uint64_t flight_end = o.bytes_to_client;
    pair_close(&p);
    CHECK(flight_end > 200);

    pair_open(&p, ccfg, scfg, "device.local");
    iotls__mem_opts_init(&o);
    uint64_t at = flight_end - 20;
    o.tap = flip_tap;
    o.tap_arg = &at;
    int rc = iotls__mem_pair_run(p.c, p.s, &o);
    CHECK_RC(rc, IOTLS_ERR_BAD_RECORD_MAC);
    CHECK(o.failed_side == IOTLS_ROLE_CLIENT);
    CHECK(!iotls_conn_handshake_done(p.c));
    /* The client's bad_record_mac alert reached the server. */
    CHECK_RC(iotls_conn_error(p.s), IOTLS_ERR_ALERT_RECEIVED);
    iotls_info si;
    CHECK_OK(iotls_conn_info(p.s, &si));
    CHECK(si.peer_alert == IOTLS_ALERT_BAD_RECORD_MAC);
    pair_close(&p);

    /* A client that checks a different name fails with bad_certificate. */
    pair_open(&p, ccfg, scfg, "other.local");
    iotls__mem_opts_init(&o);
    CHECK_RC(iotls__mem_pair_run(p.c, p.s, &o), IOTLS_ERR_CERT_HOSTNAME);
    CHECK(o.failed_side == IOTLS_ROLE_CLIENT);
    CHECK_RC(iotls_conn_error(p.s), IOTLS_ERR_ALERT_RECEIVED);
    pair_close(&p);

    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* ---------------- blocking API over a socketpair ---------------- */

typedef struct {
    const iotls_config *cfg;
    iotls *srv; /* when set: accept with it, then free it (cfg unused) */
    int fd;
    int mode; /* 0 echo until close_notify; 1 handshake then drop TCP; 2 silent */
    int rc;   /* handshake result */
    int end;  /* how the read loop ended */
    char err[256];
} server_job;

static void *server_thread(void *arg)
{
    server_job *job = arg;
    if (job->mode == 2) {
        /* Never answer: the client must time out. */
        char b[4096];
        while (read(job->fd, b, sizeof b) > 0)
            ;
        return NULL;
    }
    iotls *srv = job->srv ? job->srv : iotls_server_new(job->cfg);
    iotls *t = NULL;
    job->rc = iotls_accept_socket(srv, job->fd, &t);
    if (job->srv) {
        /* The accepted connection outlives the server object. */
        iotls_free(srv);
        srv = NULL;
    }
    snprintf(job->err, sizeof job->err, "%s", iotls_error(t));
    if (job->rc == IOTLS_OK) {
        if (job->mode == 1) {
            shutdown(job->fd, SHUT_RDWR);
        } else {
            char buf[1024];
            ssize_t r;
            while ((r = iotls_read(t, buf, sizeof buf)) > 0)
                if (iotls_write(t, buf, (size_t)r) != r)
                    break;
            job->end = (int)r;
            (void)iotls_close(t);
        }
    }
    iotls_free(t);
    iotls_free(srv);
    return NULL;
}

static void start_server(pthread_t *th, server_job *job, const iotls_config *cfg, int fd, int mode)
{
    memset(job, 0, sizeof *job);
    job->cfg = cfg;
    job->fd = fd;
    job->mode = mode;
    if (pthread_create(th, NULL, server_thread, job) != 0)
        abort();
}

static void test_blocking_echo(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pthread_t th;
    server_job job;
    start_server(&th, &job, scfg, sv[1], 0);

    iotls *t = iotls_client_new(ccfg);
    /* The engine block, taken when the connection starts, is the bulk of
     * what the object holds; the handshake adds nothing of iotls' own. */
    size_t before = iotls_memory_used(t);
    CHECK(before > 0 && before < 1024);
    CHECK(iotls_memory_used(NULL) == 0);
    CHECK_OK(iotls_connect_socket(t, sv[0], "device.local"));
    CHECK(iotls_memory_used(t) == before + iotls_conn_size(ccfg));
    CHECK(strcmp(iotls_error(t), "no error") == 0);
    CHECK(iotls_fd(t) == sv[0]);
    CHECK(iotls_engine(t) != NULL);
    iotls_info info;
    CHECK_OK(iotls_get_info(t, &info));
    CHECK(info.handshake_done && info.version == 0x0304);
    CHECK(info.cipher_suite == IOTLS_TLS_AES_128_GCM_SHA256);
    CHECK(info.peer_cert_verified == 1);
    /* The server's chain through the blocking API: its certificate, DER. */
    const uint8_t *der = NULL;
    size_t der_len = 0;
    CHECK(iotls_peer_cert_count(t) == 1);
    CHECK_OK(iotls_peer_cert_der(t, 0, &der, &der_len));
    CHECK(der_len > 100 && der[0] == 0x30);
    iotls_x509 srv_chain;
    iotls__x509_init(&srv_chain);
    CHECK_OK(iotls__x509_load_mem(&srv_chain, (const uint8_t *)srv_cert, strlen(srv_cert)));
    const uint8_t *want = NULL;
    size_t want_len = 0;
    CHECK_OK(iotls__x509_der(&srv_chain, 0, &want, &want_len));
    CHECK(der_len == want_len && memcmp(der, want, der_len) == 0);
    iotls__x509_free(&srv_chain);
    CHECK_RC(iotls_peer_cert_der(t, 1, &der, &der_len), IOTLS_ERR_BAD_ARG);

    /* More than one record each way, echoed back intact. */
    static uint8_t out[100000], in[100000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 7 + 3);
    size_t got = 0;
    CHECK(iotls_write(t, out, 50000) == 50000);
    while (got < 50000) {
        ssize_t r = iotls_read(t, in + got, sizeof in - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK(got == 50000 && memcmp(in, out, 50000) == 0);
    CHECK_OK(iotls_key_update(t, 1));
    CHECK(iotls_write(t, out + 50000, 50000) == 50000);
    while (got < 100000) {
        ssize_t r = iotls_read(t, in + got, sizeof in - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK(got == 100000 && memcmp(in, out, sizeof out) == 0);

    /* Our close_notify ends the server's read loop with 0. */
    CHECK_OK(iotls_close(t));
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    CHECK(job.end == 0);
    /* The server answered with its own close_notify. */
    char b[16];
    CHECK(iotls_read(t, b, sizeof b) == 0);
    CHECK_RC(iotls_last_error(t), IOTLS_ERR_CLOSED);
    iotls_free(t);
    close(sv[0]);
    close(sv[1]);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* A configuration may be freed while objects made from it live (libtls
 * counts references too): the client's is freed before it connects; the
 * server's right after iotls_server_new, and the server object after the
 * accept, so the accepted connection echoes on with neither. Under ASan
 * (make test-asan) a use after free fails this test. */
static void test_config_lifetime(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    iotls *t = iotls_client_new(ccfg);
    CHECK(t != NULL);
    iotls_config_free(ccfg); /* t holds it now */
    iotls *srv = iotls_server_new(scfg);
    CHECK(srv != NULL);
    iotls_config_free(scfg); /* srv holds it now, then the accepted connection */
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pthread_t th;
    server_job job;
    memset(&job, 0, sizeof job);
    job.srv = srv;
    job.fd = sv[1];
    if (pthread_create(&th, NULL, server_thread, &job) != 0)
        abort();
    CHECK_OK(iotls_connect_socket(t, sv[0], "device.local"));
    CHECK(iotls_write(t, "lifetime", 8) == 8);
    char b[16];
    CHECK(iotls_read(t, b, sizeof b) == 8 && memcmp(b, "lifetime", 8) == 0);
    CHECK_OK(iotls_close(t));
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    CHECK(job.end == 0); /* the server echoed until our close_notify */
    iotls_free(t);       /* the last holder: frees the client configuration */
    close(sv[0]);
    close(sv[1]);
}

static void test_blocking_errors(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    int sv[2];
    pthread_t th;
    server_job job;

    /* Wrong name: one-line texts on both sides. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    start_server(&th, &job, scfg, sv[1], 0);
    iotls *t = iotls_client_new(ccfg);
    CHECK_RC(iotls_connect_socket(t, sv[0], "other.local"), IOTLS_ERR_CERT_HOSTNAME);
    /* The text names the name asked for and those the certificate has. */
    CHECK(strcmp(iotls_error(t),
                 "handshake failed: bad_certificate (peer certificate does not match the host "
                 "name: certificate is not for host 'other.local' (it names: DNS:device.local, "
                 "IP:127.0.0.1))") == 0);
    CHECK_RC(iotls_last_error(t), IOTLS_ERR_CERT_HOSTNAME);
    /* Sticky: later calls report the same failure. */
    char b[16];
    ssize_t r;
    CHECK(iotls_read(t, b, sizeof b) == IOTLS_ERR_CERT_HOSTNAME);
    iotls_free(t);
    close(sv[0]);
    pthread_join(th, NULL);
    close(sv[1]);
    CHECK_RC(job.rc, IOTLS_ERR_ALERT_RECEIVED);
    CHECK(strcmp(job.err, "handshake failed: peer sent alert bad_certificate (the client does not "
                          "accept our certificate)") == 0);

    /* The server requires a client certificate we do not have. The client's
     * handshake completes first (TLS 1.3); the server's verdict arrives on
     * the first read and is reported as the handshake failure it is. */
    iotls_config *strict = server_cfg();
    CHECK_OK(iotls_config_set_ca_mem(strict, (const uint8_t *)ca_cert, strlen(ca_cert)));
#if IOTLS_FEATURE_CLIENT_AUTH
    CHECK_OK(iotls_config_set_verify_client(strict, IOTLS_VERIFY_CLIENT_REQUIRED));
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    start_server(&th, &job, strict, sv[1], 0);
    t = iotls_client_new(ccfg);
    CHECK_OK(iotls_connect_socket(t, sv[0], "device.local"));
    CHECK(iotls_read(t, b, sizeof b) == IOTLS_ERR_ALERT_RECEIVED);
    CHECK(strcmp(iotls_error(t), "handshake failed: peer sent alert certificate_required (the "
                                 "server wants a client certificate: configure one (iotls client "
                                 "--cert/--key))") == 0);
    iotls_free(t);
    pthread_join(th, NULL);
    close(sv[0]);
    close(sv[1]);
    CHECK_RC(job.rc, IOTLS_ERR_CERT_REQUIRED);
    CHECK(strcmp(job.err, "handshake failed: certificate_required (peer sent no certificate but "
                          "one is required: the client sent no certificate)") == 0);
#else
    /* Built without client certificates (iotls/features.h): refused. */
    CHECK_RC(iotls_config_set_verify_client(strict, IOTLS_VERIFY_CLIENT_REQUIRED),
             IOTLS_ERR_UNSUPPORTED);
#endif
    iotls_config_free(strict);

    /* TCP closed without close_notify: IOTLS_ERR_EOF, not a clean 0. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    start_server(&th, &job, scfg, sv[1], 1);
    t = iotls_client_new(ccfg);
    CHECK_OK(iotls_connect_socket(t, sv[0], "device.local"));
    pthread_join(th, NULL);
    do {
        r = iotls_read(t, b, sizeof b); /* tickets first, then the EOF */
    } while (r > 0);
    CHECK(r == IOTLS_ERR_EOF);
    CHECK(strcmp(iotls_error(t), "read failed: connection closed without close_notify") == 0);
    iotls_free(t);
    close(sv[0]);
    close(sv[1]);

    /* A silent peer: the handshake gives up after the timeout. */
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    start_server(&th, &job, scfg, sv[1], 2);
    iotls_config_set_timeout_ms(ccfg, 300);
    t = iotls_client_new(ccfg);
    int64_t t0 = mono_ms();
    CHECK_RC(iotls_connect_socket(t, sv[0], "device.local"), IOTLS_ERR_TIMEOUT);
    int64_t took = mono_ms() - t0;
    CHECK(took >= 250 && took < 3000);
    CHECK(strcmp(iotls_error(t), "handshake failed: timed out") == 0);
    iotls_free(t);
    close(sv[0]);
    pthread_join(th, NULL);
    close(sv[1]);
    iotls_config_set_timeout_ms(ccfg, 0);

    /* No trust anchors: refused before anything is sent. */
    iotls_config *bare = iotls_config_new();
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    t = iotls_client_new(bare);
    CHECK_RC(iotls_connect_socket(t, sv[0], "device.local"), IOTLS_ERR_CONFIG);
    iotls_free(t);
    close(sv[0]);
    close(sv[1]);
    iotls_config_free(bare);

    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* Non-blocking client: WANT_READ instead of waiting, driven by poll. */
static void test_nonblocking(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pthread_t th;
    server_job job;

    /* The server starts only after the first call, so that call must
     * come back with WANT_READ rather than wait (whatever the load). */
    iotls *t = iotls_client_new(ccfg);
    iotls_set_nonblocking(t, 1);
    int rc = iotls_connect_socket(t, sv[0], "device.local");
    CHECK_RC(rc, IOTLS_WANT_READ);
    start_server(&th, &job, scfg, sv[1], 0);
    int wants = 0;
    while (rc == IOTLS_WANT_READ || rc == IOTLS_WANT_WRITE) {
        wants++;
        struct pollfd p = {.fd = sv[0], .events = rc == IOTLS_WANT_READ ? POLLIN : POLLOUT};
        poll(&p, 1, 5000);
        rc = iotls_handshake(t);
    }
    CHECK_OK(rc);
    CHECK(wants >= 1);
    CHECK(iotls_write(t, "abc", 3) == 3);
    char b[8];
    ssize_t r;
    for (;;) {
        r = iotls_read(t, b, sizeof b);
        if (r != IOTLS_WANT_READ && r != IOTLS_WANT_WRITE)
            break;
        struct pollfd p = {.fd = sv[0], .events = POLLIN};
        poll(&p, 1, 5000);
    }
    CHECK(r == 3 && memcmp(b, "abc", 3) == 0);
    CHECK_OK(iotls_close(t));
    pthread_join(th, NULL);
    CHECK(job.end == 0);
    iotls_free(t);
    close(sv[0]);
    close(sv[1]);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* A KeyUpdate asked for while the engine's output buffer is full (records
 * queued through iotls_engine(t), not sent yet): iotls_key_update sends
 * what is queued first, then the KeyUpdate; the connection goes on. */
static void test_key_update_output_full(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    pthread_t th;
    server_job job;
    start_server(&th, &job, scfg, sv[1], 0);
    iotls *t = iotls_client_new(ccfg);
    CHECK_OK(iotls_connect_socket(t, sv[0], "device.local"));
    iotls_conn *c = iotls_engine(t);
    static uint8_t data[16384];
    memset(data, 'q', sizeof data);
    size_t written = 0, n = 0;
    int rc = IOTLS_OK;
    for (int i = 0; i < 100 && rc == IOTLS_OK; i++) {
        rc = iotls_conn_write(c, data, sizeof data, &n);
        written += n;
    }
    size_t room = iotls__conn_tx_free(c);
    if (room > 22) { /* a record's header, content type and tag: 22 bytes */
        CHECK_OK(iotls_conn_write(c, data, room - 22, &n));
        written += n;
    }
    CHECK(iotls__conn_tx_free(c) < 64); /* no room for a KeyUpdate */
    CHECK_OK(iotls_key_update(t, 1));
    CHECK(strcmp(iotls_error(t), "no error") == 0);
    CHECK(iotls_write(t, "after", 5) == 5);
    static uint8_t in[16384];
    size_t got = 0, tail = 0;
    while (got < written + 5) {
        ssize_t r = iotls_read(t, in, sizeof in);
        if (r <= 0)
            break;
        got += (size_t)r;
        tail = (size_t)r;
    }
    CHECK(got == written + 5);
    CHECK(tail >= 5 && memcmp(in + tail - 5, "after", 5) == 0);
    iotls_info info;
    CHECK_OK(iotls_get_info(t, &info));
    CHECK(info.key_updates_sent >= 1);
    CHECK_OK(iotls_close(t));
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    CHECK(job.end == 0);
    iotls_free(t);
    close(sv[0]);
    close(sv[1]);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* ---------------- TCP: listen, connect, accept ---------------- */

typedef struct {
    iotls *server;
    int lfd;
    int rc;
} accept_job;

static void *accept_thread(void *arg)
{
    accept_job *job = arg;
    iotls *t = NULL;
    job->rc = iotls_accept(job->server, job->lfd, &t);
    if (job->rc == IOTLS_OK) {
        char buf[64];
        ssize_t r = iotls_read(t, buf, sizeof buf);
        if (r > 0)
            (void)iotls_write(t, buf, (size_t)r);
        (void)iotls_close(t);
    }
    iotls_free(t);
    return NULL;
}

static void test_tcp(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    int lfd = -1, port = 0;
    CHECK_OK(iotls_listen("127.0.0.1", "0", 4, &lfd, &port));
    CHECK(lfd >= 0 && port > 0 && port < 65536);
    accept_job job = {.server = iotls_server_new(scfg), .lfd = lfd, .rc = 1};
    pthread_t th;
    if (pthread_create(&th, NULL, accept_thread, &job) != 0)
        abort();

    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    iotls *t = iotls_client_new(ccfg);
    /* An IP literal: checked against the certificate's IP SAN. */
    CHECK_OK(iotls_connect(t, "127.0.0.1", port_str, NULL));
    CHECK(iotls_write(t, "tcp!", 4) == 4);
    char b[8];
    CHECK(iotls_read(t, b, sizeof b) == 4 && memcmp(b, "tcp!", 4) == 0);
    CHECK(iotls_read(t, b, sizeof b) == 0);
    CHECK_OK(iotls_close(t));
    CHECK(iotls_fd(t) == -1); /* we opened it, we closed it */
    iotls_free(t);
    pthread_join(th, NULL);
    CHECK_OK(job.rc);
    iotls_free(job.server);
    close(lfd);

    /* Nothing listens on the port any more. */
    t = iotls_client_new(ccfg);
    CHECK_RC(iotls_connect(t, "127.0.0.1", port_str, NULL), IOTLS_ERR_IO);
    CHECK(strncmp(iotls_error(t), "connect failed: socket error (", 30) == 0);
    iotls_free(t);

    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

/* ---------------- a refusal that arrives while we write ---------------- */

#if IOTLS_FEATURE_CLIENT_AUTH

/* The server: accepts one connection, refuses the client (no client
 * certificate: certificate_required), closes. */
static void *refusing_thread(void *arg)
{
    accept_job *job = arg;
    iotls *t = NULL;
    job->rc = iotls_accept(job->server, job->lfd, &t);
    iotls_free(t); /* closes the socket */
    return NULL;
}

/* A TLS 1.3 client's handshake is done once it sent its Finished; a
 * server that then refuses its certificate sends the alert and closes.
 * The client, writing by then, gets EPIPE / ECONNRESET from send() while
 * the alert sits unread in its receive buffer: the error must be the
 * alert (what the peer said), not a reset. The server is gone before the
 * client writes, and the client writes until send() fails, so the order
 * is fixed. */
static void test_alert_behind_failed_write(void)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    CHECK_OK(iotls_config_set_ca_mem(scfg, (const uint8_t *)ca_cert, strlen(ca_cert)));
    CHECK_OK(iotls_config_set_verify_client(scfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    int lfd = -1, port = 0;
    CHECK_OK(iotls_listen("127.0.0.1", "0", 4, &lfd, &port));
    accept_job job = {.server = iotls_server_new(scfg), .lfd = lfd, .rc = 1};
    pthread_t th;
    if (pthread_create(&th, NULL, refusing_thread, &job) != 0)
        abort();
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    iotls *t = iotls_client_new(ccfg);
    CHECK_OK(iotls_connect(t, "127.0.0.1", port_str, NULL));
    pthread_join(th, NULL);
    CHECK_RC(job.rc, IOTLS_ERR_CERT_REQUIRED);
    ssize_t w = 0;
    for (int i = 0; i < 200 && w >= 0; i++) {
        w = iotls_write(t, "data", 4);
        if (w >= 0) {
            struct timespec pause = {0, 5000000}; /* 5 ms: the peer's RST arrives */
            nanosleep(&pause, NULL);
        }
    }
    CHECK_RC((int)w, IOTLS_ERR_ALERT_RECEIVED);
    iotls_info info;
    CHECK_OK(iotls_get_info(t, &info));
    CHECK(info.peer_alert == IOTLS_ALERT_CERTIFICATE_REQUIRED);
    CHECK(strstr(iotls_error(t), "certificate_required") != NULL);
    if (w != IOTLS_ERR_ALERT_RECEIVED)
        fprintf(stderr, "  (write: %s)\n", iotls_error(t));
    iotls_free(t);
    iotls_free(job.server);
    close(lfd);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}
#endif

/* ---------------- closing after a bad message, over TCP ---------------- */

/* Our side, the blocking API on a socket it opened: writes 64 KiB (more
 * than the peer's small receive buffer takes, so some of it still waits in
 * our send queue), then reads until the peer's bad message fails the
 * connection, then iotls_close and iotls_free. */
typedef struct {
    const iotls_config *cfg;
    int role;
    int lfd;          /* server: listening socket */
    char port[16];    /* client: where to connect */
    int handshake_rc; /* iotls_accept / iotls_connect */
    int read_rc;      /* how the read loop ended */
} ours_job;

static void *ours_thread(void *arg)
{
    ours_job *j = arg;
    iotls *srv = NULL, *t = NULL;
    if (j->role == IOTLS_ROLE_SERVER) {
        srv = iotls_server_new(j->cfg);
        j->handshake_rc = iotls_accept(srv, j->lfd, &t);
    } else {
        t = iotls_client_new(j->cfg);
        j->handshake_rc = iotls_connect(t, "127.0.0.1", j->port, "device.local");
    }
    if (j->handshake_rc == IOTLS_OK) {
        uint8_t *big = calloc(1, 65536);
        if (big == NULL || iotls_write(t, big, 65536) != 65536)
            j->read_rc = 1;
        free(big);
        char buf[4096];
        ssize_t r;
        while ((r = iotls_read(t, buf, sizeof buf)) > 0)
            ;
        if (j->read_rc == 0)
            j->read_rc = (int)r;
        (void)iotls_close(t);
    }
    iotls_free(t);
    iotls_free(srv);
    return NULL;
}

/* Sends what the engine has queued, without waiting (a reset or a closed
 * peer: -1). */
static int send_some(iotls_conn *c, int fd)
{
    size_t n = 0;
    const uint8_t *p = iotls_conn_output(c, &n);
    while (p && n > 0) {
        ssize_t s = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (s < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        iotls_conn_output_consume(c, (size_t)s);
        p = iotls_conn_output(c, &n);
    }
    return 0;
}

/* Feeds received bytes, reading (and dropping) application data as it
 * comes so the engine keeps taking input. Returns the engine's result. */
static int feed_all(iotls_conn *c, const uint8_t *d, size_t len)
{
    while (len > 0) {
        size_t used = 0;
        int rc = iotls_conn_input(c, d, len, &used);
        if (rc != IOTLS_OK)
            return rc;
        d += used;
        len -= used;
        uint8_t sink[4096];
        size_t got = 0;
        while (iotls_conn_read(c, sink, sizeof sink, &got) == IOTLS_OK && got > 0)
            ;
    }
    return IOTLS_OK;
}

typedef enum { END_NONE, END_ALERT, END_RESET, END_EOF, END_OTHER } peer_end;

/* The hostile peer: our engine of the other role, driven by hand over a
 * socket with a 4 KiB receive buffer. After the handshake it sends a
 * KeyUpdate with request_update 2 (illegal_parameter), then keeps sending
 * application data every 10 ms while it reads slowly (1 KiB per 5 ms), as a
 * peer still busy writing would. Returns how its reading ended. */
static peer_end hostile_peer(const iotls_config *cfg, int role, int fd, int *alert)
{
    size_t size = iotls_conn_size(cfg);
    void *mem = malloc(size);
    iotls_conn *c = iotls_conn_init(mem, size, cfg, role, "device.local");
    peer_end end = END_OTHER;
    int64_t deadline = mono_ms() + 8000;
    uint8_t buf[1024];
    if (!c || iotls_conn_start(c) != IOTLS_OK)
        goto out;
    while (!iotls_conn_handshake_done(c) || iotls_conn_output(c, &size) != NULL) {
        if (send_some(c, fd) != 0 || mono_ms() > deadline)
            goto out;
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, 10) > 0) {
            ssize_t r = recv(fd, buf, sizeof buf, 0);
            if (r <= 0 || feed_all(c, buf, (size_t)r) != IOTLS_OK)
                goto out;
        }
    }
    static const uint8_t bad_key_update[] = {IOTLS_HS_KEY_UPDATE, 0, 0, 1, 2};
    uint8_t rec[64];
    size_t n = 0;
    if (iotls__record_seal(&c->wr, IOTLS_CT_HANDSHAKE, bad_key_update, sizeof bad_key_update, 0,
                           rec, sizeof rec, &n) != IOTLS_OK ||
        send(fd, rec, n, MSG_NOSIGNAL) != (ssize_t)n)
        goto out;
    int sending = 1, reset = 0;
    int64_t next_send = mono_ms();
    end = END_NONE;
    while (end == END_NONE && mono_ms() < deadline) {
        if (sending && mono_ms() >= next_send) {
            size_t took = 0;
            (void)iotls_conn_write(c, (const uint8_t *)"still talking", 13, &took);
            sending = send_some(c, fd) == 0;
            if (!sending && (errno == ECONNRESET || errno == EPIPE))
                reset = 1; /* reported to send, then recv just sees EOF */
            next_send = mono_ms() + 10;
        }
        struct pollfd pf = {.fd = fd, .events = POLLIN, .revents = 0};
        if (poll(&pf, 1, 5) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r == 0)
            end = END_EOF;
        else if (r < 0)
            end = errno == ECONNRESET ? END_RESET : END_OTHER;
        else if (feed_all(c, buf, (size_t)r) == IOTLS_ERR_ALERT_RECEIVED) {
            iotls_info info;
            end = END_ALERT;
            *alert = iotls_conn_info(c, &info) == IOTLS_OK ? info.peer_alert : -1;
        }
        if (mono_ms() < deadline)
            usleep(5000);
    }
    if (reset && end != END_ALERT)
        end = END_RESET;
out:
    if (c)
        iotls_conn_free(c);
    free(mem);
    return end;
}

/* A peer whose bad message arrives while our last records are still
 * queued, and which keeps sending: closing must not reset the connection
 * (RFC 8446 6.2 wants the peer to get the alert), in both roles. Before
 * iotls_close lingered, the close came with input still arriving, TCP
 * answered with a reset, the kernel dropped our queued bytes and the
 * peer's recv failed with ECONNRESET. */
static void test_close_after_bad_message(int our_role)
{
    iotls_config *ccfg = client_cfg(), *scfg = server_cfg();
    ours_job job;
    memset(&job, 0, sizeof job);
    job.role = our_role;
    job.cfg = our_role == IOTLS_ROLE_SERVER ? scfg : ccfg;
    job.lfd = -1;
    int small = 4096, fd = -1, lfd = -1, port = 0;
    pthread_t th;
    if (our_role == IOTLS_ROLE_SERVER) {
        CHECK_OK(iotls_listen("127.0.0.1", "0", 4, &job.lfd, &port));
        if (pthread_create(&th, NULL, ours_thread, &job) != 0)
            abort();
        fd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0);
    } else {
        lfd = socket(AF_INET, SOCK_STREAM, 0);
        CHECK(setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t al = sizeof a;
        CHECK(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0 &&
              getsockname(lfd, (struct sockaddr *)&a, &al) == 0);
        snprintf(job.port, sizeof job.port, "%d", ntohs(a.sin_port));
        if (pthread_create(&th, NULL, ours_thread, &job) != 0)
            abort();
        fd = accept(lfd, NULL, NULL);
    }
    CHECK(fd >= 0);
    int alert = -1;
    peer_end end = hostile_peer(
        our_role == IOTLS_ROLE_SERVER ? ccfg : scfg,
        our_role == IOTLS_ROLE_SERVER ? IOTLS_ROLE_CLIENT : IOTLS_ROLE_SERVER, fd, &alert);
    close(fd);
    pthread_join(th, NULL);
    CHECK_OK(job.handshake_rc);
    CHECK_RC(job.read_rc, IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK(end == END_ALERT && alert == IOTLS_ALERT_ILLEGAL_PARAMETER);
    if (end != END_ALERT)
        fprintf(stderr, "  (our %s: the peer saw %s instead of the alert)\n",
                our_role == IOTLS_ROLE_SERVER ? "server" : "client",
                end == END_RESET ? "a TCP reset"
                : end == END_EOF ? "EOF"
                                 : "no alert");
    if (job.lfd >= 0)
        close(job.lfd);
    if (lfd >= 0)
        close(lfd);
    iotls_config_free(ccfg);
    iotls_config_free(scfg);
}

int main(void)
{
    int rc = make_pki();
    CHECK_OK(rc);
    if (rc != IOTLS_OK)
        return tl_finish("io");
    test_mem_pair();
    test_mem_tamper();
    test_blocking_echo();
    test_config_lifetime();
    test_blocking_errors();
    test_nonblocking();
    test_key_update_output_full();
    test_tcp();
#if IOTLS_FEATURE_CLIENT_AUTH
    test_alert_behind_failed_write();
#endif
    test_close_after_bad_message(IOTLS_ROLE_SERVER);
    test_close_after_bad_message(IOTLS_ROLE_CLIENT);
    return tl_finish("io");
}
