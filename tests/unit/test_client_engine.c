/* The client handshake state machine (src/client.c), two ways:
 *
 * 1. Against a real `openssl s_server` over loopback: every suite, every
 *    group, HelloRetryRequest, RSA-PSS and P-384 server keys, ALPN, client
 *    certificates, tickets; the traffic secrets we log must equal the ones
 *    OpenSSL logs (-keylogfile), and the reversed reply of -rev must come
 *    back. Negative: unknown CA, wrong host name, a TLS 1.2-only server.
 * 2. Against a scripted server in memory built from the library's message
 *    writers, key schedule and record layer, for what a well-behaved server
 *    never does: downgrade sentinels, bad echoes, a second HRR, extensions we
 *    did not offer, skipped or reordered messages, bad signatures, a bad
 *    Finished. Each must give its specific error and alert.
 *
 * The PKI comes from the openssl command line, so nothing in it was written
 * by iotls. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "conn.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "keysched.h"
#include "msg/msg.h"
#include "record.h"
#include "testlib.h"
#include "transcript.h"

/* ------------------------------------------------------------------ */
/* Files and the PKI                                                   */
/* ------------------------------------------------------------------ */

static char g_dir[64];

static const char *tmp_path(const char *name)
{
    static char ring[8][256];
    static int next;
    char *p = ring[next++ % 8];
    snprintf(p, 256, "%s/%s", g_dir, name);
    return p;
}

static int sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    char full[2300];
    snprintf(full, sizeof full, "cd %s && (%s) >>pki.log 2>&1", g_dir, cmd);
    int rc = system(full);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* CA (P-256), server certs (P-256, RSA-2048, P-384) for localhost and
 * 127.0.0.1, a client cert, and an unrelated CA. */
static int make_pki(void)
{
    static const char *ca_ext = "-addext basicConstraints=critical,CA:TRUE "
                                "-addext keyUsage=critical,keyCertSign,cRLSign";
    int rc = 0;
    rc |= sh("printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n"
             "keyUsage=critical,digitalSignature,keyEncipherment\\nbasicConstraints=CA:FALSE\\n'"
             " > srv.ext");
    rc |= sh("printf 'extendedKeyUsage=clientAuth\\nkeyUsage=critical,digitalSignature\\n"
             "basicConstraints=CA:FALSE\\n' > cli.ext");
    rc |= sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key"
             " -out ca.pem -subj '/CN=iotls test CA' -days 2 %s",
             ca_ext);
    rc |= sh("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
             "other.key -out other.pem -subj '/CN=unrelated CA' -days 2 %s",
             ca_ext);
    static const struct {
        const char *name, *newkey, *ext, *cn;
    } leaves[] = {
        {"srv", "ec -pkeyopt ec_paramgen_curve:P-256", "srv.ext", "localhost"},
        {"srv_rsa", "rsa:2048", "srv.ext", "localhost"},
        {"srv_p384", "ec -pkeyopt ec_paramgen_curve:P-384", "srv.ext", "localhost"},
        {"cli", "ec -pkeyopt ec_paramgen_curve:P-256", "cli.ext", "iotls test client"},
    };
    for (size_t i = 0; i < sizeof leaves / sizeof leaves[0]; i++) {
        rc |= sh("openssl req -newkey %s -nodes -keyout %s.key -out %s.csr -subj '/CN=%s'",
                 leaves[i].newkey, leaves[i].name, leaves[i].name, leaves[i].cn);
        rc |= sh("openssl x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out "
                 "%s.pem -days 2 -extfile %s",
                 leaves[i].name, leaves[i].name, leaves[i].ext);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* openssl s_server                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    pid_t pid;
    int port;
    char log[256];
} server_proc;

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &alen) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static int file_contains(const char *path, const char *needle)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strstr(buf, needle) != NULL;
}

/* Starts `openssl s_server -accept PORT -naccept 1 ARGS...` and waits for
 * its "ACCEPT" line (10 s at most). */
static int server_start(server_proc *s, const char *tag, const char *const *args)
{
    static int counter;
    memset(s, 0, sizeof *s);
    s->port = free_port();
    if (s->port <= 0)
        return -1;
    snprintf(s->log, sizeof s->log, "%s/s_server_%02d_%s.log", g_dir, ++counter, tag);
    char port[16];
    snprintf(port, sizeof port, "%d", s->port);
    const char *argv[48];
    size_t n = 0;
    argv[n++] = "openssl";
    argv[n++] = "s_server";
    argv[n++] = "-accept";
    argv[n++] = port;
    argv[n++] = "-naccept";
    argv[n++] = "1";
    for (size_t i = 0; args[i] && n < 47; i++)
        argv[n++] = args[i];
    argv[n] = NULL;

    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        int out = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (out < 0 || in < 0)
            _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        if (chdir(g_dir) != 0)
            _exit(126);
        execvp("openssl", (char *const *)argv);
        _exit(127);
    }
    int64_t deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        if (file_contains(s->log, "ACCEPT"))
            return 0;
        int status;
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            fprintf(stderr, "s_server exited early, see %s\n", s->log);
            s->pid = 0;
            return -1;
        }
        usleep(10000);
    }
    fprintf(stderr, "s_server did not start, see %s\n", s->log);
    return -1;
}

static void server_stop(server_proc *s)
{
    if (s->pid <= 0)
        return;
    int status;
    /* -naccept 1 makes it exit by itself once the connection ends. */
    int64_t deadline = now_ms() + 2000;
    while (now_ms() < deadline) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(s->pid, SIGTERM);
    deadline = now_ms() + 2000;
    while (now_ms() < deadline) {
        if (waitpid(s->pid, &status, WNOHANG) == s->pid) {
            s->pid = 0;
            return;
        }
        usleep(10000);
    }
    kill(s->pid, SIGKILL);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
}

/* ------------------------------------------------------------------ */
/* The engine over a socket (the test's own pump, not the library's)   */
/* ------------------------------------------------------------------ */

typedef struct {
    char lines[8][256];
    int count;
} keylog_lines;

static void keylog_cb(void *arg, const char *line)
{
    keylog_lines *k = arg;
    if (k->count < 8)
        snprintf(k->lines[k->count], sizeof k->lines[0], "%s", line);
    k->count++;
}

typedef struct {
    int count;
    uint16_t suite;
    size_t psk_len;
    uint32_t lifetime;
    uint8_t psk[IOTLS_MAX_HASH_LEN];
    uint8_t ticket[64];
    size_t ticket_len;
} ticket_log;

static void ticket_cb(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)conn;
    ticket_log *l = arg;
    l->count++;
    l->suite = t->cipher_suite;
    l->psk_len = t->psk_len;
    l->lifetime = t->lifetime;
    if (t->psk_len <= sizeof l->psk)
        memcpy(l->psk, t->psk, t->psk_len);
    l->ticket_len = t->ticket_len < sizeof l->ticket ? t->ticket_len : sizeof l->ticket;
    memcpy(l->ticket, t->ticket, l->ticket_len);
}

typedef struct {
    int rc;          /* first error, IOTLS_OK when all went well */
    int hs_done;     /* the handshake completed */
    iotls_info info; /* its string pointers are cleared: the conn is gone */
    char alpn[256];
    char reply[1024];
    size_t reply_len;
} client_result;

static void *conn_mem(const iotls_config *cfg, size_t *size)
{
    *size = (iotls_conn_size(cfg) + 15u) & ~(size_t)15u;
    return aligned_alloc(16, *size);
}

static int flush_out(iotls_conn *c, int fd)
{
    size_t len;
    const uint8_t *out;
    while ((out = iotls_conn_output(c, &len)) != NULL) {
        ssize_t k = send(fd, out, len, MSG_NOSIGNAL);
        if (k < 0)
            return errno == EPIPE || errno == ECONNRESET ? IOTLS_ERR_EOF : IOTLS_ERR_IO;
        iotls_conn_output_consume(c, (size_t)k);
    }
    return IOTLS_OK;
}

static void drain_app(iotls_conn *c, client_result *res)
{
    uint8_t tmp[512];
    size_t n;
    while (iotls_conn_read(c, tmp, sizeof tmp, &n) == IOTLS_OK && n > 0) {
        size_t room = sizeof res->reply - 1 - res->reply_len;
        size_t take = n < room ? n : room;
        memcpy(res->reply + res->reply_len, tmp, take);
        res->reply_len += take;
        res->reply[res->reply_len] = '\0';
    }
}

/* One round: send what is queued, wait for bytes (until deadline), feed
 * them all in, reading application data out as it comes. */
static int pump_once(iotls_conn *c, int fd, int64_t deadline, client_result *res)
{
    int rc = flush_out(c, fd);
    if (rc != IOTLS_OK)
        return rc;
    int64_t left = deadline - now_ms();
    if (left <= 0)
        return IOTLS_ERR_TIMEOUT;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int pr = poll(&p, 1, (int)left);
    if (pr == 0)
        return IOTLS_ERR_TIMEOUT;
    if (pr < 0)
        return IOTLS_ERR_IO;
    uint8_t buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0)
        return IOTLS_ERR_EOF;
    if (n < 0)
        return IOTLS_ERR_IO;
    size_t off = 0;
    int stalls = 0;
    while (off < (size_t)n) {
        size_t used = 0;
        rc = iotls_conn_input(c, buf + off, (size_t)n - off, &used);
        off += used;
        if (rc != IOTLS_OK) {
            (void)flush_out(c, fd); /* the alert */
            return rc;
        }
        drain_app(c, res);
        rc = flush_out(c, fd);
        if (rc != IOTLS_OK)
            return rc;
        if (used == 0 && ++stalls > 3)
            return iotls_conn_error(c) ? iotls_conn_error(c) : IOTLS_ERR_CLOSED;
    }
    return IOTLS_OK;
}

static int tcp_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Handshake with host as server name, send msg, wait for expect in the
 * reply (when not NULL), close. 10 s for all of it. */
static void run_client(const iotls_config *cfg, const char *host, int port, const char *msg,
                       const char *expect, client_result *res)
{
    memset(res, 0, sizeof *res);
    res->rc = IOTLS_ERR_INTERNAL;
    int fd = tcp_connect(port);
    if (fd < 0) {
        res->rc = IOTLS_ERR_IO;
        return;
    }
    size_t size;
    void *mem = conn_mem(cfg, &size);
    iotls_conn *c = mem ? iotls_conn_init(mem, size, cfg, IOTLS_ROLE_CLIENT, host) : NULL;
    if (!c) {
        free(mem);
        close(fd);
        return;
    }
    int64_t deadline = now_ms() + 10000;
    int rc = iotls_conn_start(c);
    while (rc == IOTLS_OK && !iotls_conn_handshake_done(c))
        rc = pump_once(c, fd, deadline, res);
    res->hs_done = iotls_conn_handshake_done(c);
    if (rc == IOTLS_OK && !msg) {
        /* Nothing to send: wait up to 3 s for what the peer does next
         * (an alert after our Finished, say). */
        int64_t until = now_ms() + 3000;
        while (rc == IOTLS_OK)
            rc = pump_once(c, fd, until, res);
        if (rc == IOTLS_ERR_TIMEOUT)
            rc = IOTLS_OK;
    }
    if (rc == IOTLS_OK && msg) {
        size_t n = 0;
        rc = iotls_conn_write(c, (const uint8_t *)msg, strlen(msg), &n);
        if (rc == IOTLS_OK && n != strlen(msg))
            rc = IOTLS_ERR_INTERNAL;
        if (rc == IOTLS_OK)
            rc = flush_out(c, fd);
        while (rc == IOTLS_OK && expect && !strstr(res->reply, expect))
            rc = pump_once(c, fd, deadline, res);
    }
    if (rc == IOTLS_OK) {
        rc = iotls_conn_close(c);
        if (rc == IOTLS_OK)
            rc = flush_out(c, fd);
    }
    res->rc = rc;
    iotls_conn_info(c, &res->info);
    snprintf(res->alpn, sizeof res->alpn, "%s", res->info.alpn ? res->info.alpn : "");
    res->info.alpn = res->info.server_name = NULL;
    res->info.cipher_suite_name = res->info.group_name = NULL;
    res->info.sig_scheme_name = NULL;
    iotls_conn_free(c);
    free(mem);
    close(fd);
}

/* ------------------------------------------------------------------ */
/* Interop with openssl s_server                                       */
/* ------------------------------------------------------------------ */

static iotls_config *client_cfg(const char *ca)
{
    iotls_config *cfg = iotls_config_new();
    if (!cfg)
        abort();
    CHECK_OK(iotls_config_set_ca_file(cfg, tmp_path(ca)));
    iotls_config_set_timeout_ms(cfg, 10000);
    return cfg;
}

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* Every secret we logged must be in OpenSSL's key log, byte for byte. */
static void check_keylog(const keylog_lines *ours, const char *theirs_path)
{
    static const char *labels[] = {"CLIENT_HANDSHAKE_TRAFFIC_SECRET",
                                   "SERVER_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0",
                                   "SERVER_TRAFFIC_SECRET_0", "EXPORTER_SECRET"};
    CHECK(ours->count == 5);
    FILE *f = fopen(theirs_path, "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char theirs[8192];
    size_t n = fread(theirs, 1, sizeof theirs - 1, f);
    fclose(f);
    theirs[n] = '\0';
    lower(theirs);
    for (int i = 0; i < ours->count && i < 5; i++) {
        char line[256];
        snprintf(line, sizeof line, "%s", ours->lines[i]);
        CHECK(strncmp(line, labels[i], strlen(labels[i])) == 0);
        lower(line);
        if (!strstr(theirs, line)) {
            fprintf(stderr, "keylog line not in OpenSSL's log: %s\n", ours->lines[i]);
            CHECK(0);
        }
    }
}

static void test_suites(void)
{
    static const struct {
        uint16_t suite;
        const char *name;
    } suites[] = {{IOTLS_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"},
                  {IOTLS_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
                  {IOTLS_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"}};
    for (size_t i = 0; i < 3; i++) {
        char keylog[64];
        snprintf(keylog, sizeof keylog, "keylog_%zu.txt", i);
        const char *args[] = {"-tls1_3", "-rev",          "-cert",        "srv.pem",     "-key",
                              "srv.key", "-ciphersuites", suites[i].name, "-keylogfile", keylog,
                              NULL};
        server_proc s;
        if (server_start(&s, "suite", args) != 0) {
            CHECK(0);
            continue;
        }
        iotls_config *cfg = client_cfg("ca.pem");
        keylog_lines kl;
        memset(&kl, 0, sizeof kl);
        iotls_config_set_keylog(cfg, keylog_cb, &kl);
        client_result r;
        run_client(cfg, "localhost", s.port, "hello iotls\n", "sltoi olleh", &r);
        server_stop(&s);
        CHECK_OK(r.rc);
        CHECK(r.hs_done);
        CHECK(r.info.cipher_suite == suites[i].suite);
        CHECK(r.info.group == IOTLS_GROUP_X25519);
        CHECK(r.info.hrr == 0);
        CHECK(r.info.peer_cert_verified == 1);
        CHECK(r.info.peer_cert_presented == 1);
        CHECK(r.info.sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256);
        CHECK(r.info.client_auth == 0);
        CHECK(strstr(r.reply, "sltoi olleh") != NULL);
        check_keylog(&kl, tmp_path(keylog));
        iotls_config_free(cfg);
    }
}

static void test_groups(void)
{
    static const struct {
        uint16_t group;
        const char *ours, *theirs;
    } groups[] = {{IOTLS_GROUP_X25519, "x25519", "X25519"},
                  {IOTLS_GROUP_SECP256R1, "secp256r1", "P-256"},
                  {IOTLS_GROUP_SECP384R1, "secp384r1", "P-384"}};
    for (size_t i = 0; i < 3; i++) {
        const char *args[] = {"-tls1_3", "-rev",    "-cert",          "srv.pem", "-key",
                              "srv.key", "-groups", groups[i].theirs, NULL};
        server_proc s;
        if (server_start(&s, "group", args) != 0) {
            CHECK(0);
            continue;
        }
        iotls_config *cfg = client_cfg("ca.pem");
        CHECK_OK(iotls_config_set_groups(cfg, groups[i].ours));
        client_result r;
        run_client(cfg, "localhost", s.port, "abc\n", "cba", &r);
        server_stop(&s);
        CHECK_OK(r.rc);
        CHECK(r.info.group == groups[i].group);
        CHECK(r.info.hrr == 0);
        CHECK(strstr(r.reply, "cba") != NULL);
        iotls_config_free(cfg);
    }
}

/* We send an x25519 share; the server only takes P-384 (or P-256), so it
 * asks again. Also with middlebox compatibility off and a SHA-384 suite,
 * and the transcript must be right or Finished fails. */
static void test_hrr(void)
{
    static const struct {
        const char *groups, *suite;
        int compat;
        uint16_t want_group, want_suite;
    } cases[] = {
        {"P-384", "TLS_AES_128_GCM_SHA256", 1, IOTLS_GROUP_SECP384R1, IOTLS_TLS_AES_128_GCM_SHA256},
        {"P-256", "TLS_AES_256_GCM_SHA384", 0, IOTLS_GROUP_SECP256R1, IOTLS_TLS_AES_256_GCM_SHA384},
        {"P-384", "TLS_CHACHA20_POLY1305_SHA256", 0, IOTLS_GROUP_SECP384R1,
         IOTLS_TLS_CHACHA20_POLY1305_SHA256},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char keylog[64];
        snprintf(keylog, sizeof keylog, "keylog_hrr_%zu.txt", i);
        const char *args[] = {
            "-tls1_3", "-rev",          "-cert",         "srv.pem",      "-key",        "srv.key",
            "-groups", cases[i].groups, "-ciphersuites", cases[i].suite, "-keylogfile", keylog,
            NULL};
        server_proc s;
        if (server_start(&s, "hrr", args) != 0) {
            CHECK(0);
            continue;
        }
        iotls_config *cfg = client_cfg("ca.pem");
        iotls_config_set_middlebox_compat(cfg, cases[i].compat);
        keylog_lines kl;
        memset(&kl, 0, sizeof kl);
        iotls_config_set_keylog(cfg, keylog_cb, &kl);
        client_result r;
        run_client(cfg, "localhost", s.port, "retry\n", "yrter", &r);
        server_stop(&s);
        CHECK_OK(r.rc);
        CHECK(r.info.hrr == 1);
        CHECK(r.info.group == cases[i].want_group);
        CHECK(r.info.cipher_suite == cases[i].want_suite);
        CHECK(strstr(r.reply, "yrter") != NULL);
        check_keylog(&kl, tmp_path(keylog));
        iotls_config_free(cfg);
    }
}

/* Server keys other than P-256: the CertificateVerify scheme follows. */
static void test_server_keys(void)
{
    static const struct {
        const char *name;
        uint16_t scheme;
    } keys[] = {{"srv_rsa", IOTLS_SIG_RSA_PSS_RSAE_SHA256},
                {"srv_p384", IOTLS_SIG_ECDSA_SECP384R1_SHA384}};
    for (size_t i = 0; i < 2; i++) {
        char cert[64], key[64];
        snprintf(cert, sizeof cert, "%s.pem", keys[i].name);
        snprintf(key, sizeof key, "%s.key", keys[i].name);
        const char *args[] = {"-tls1_3", "-rev", "-cert", cert, "-key", key, NULL};
        server_proc s;
        if (server_start(&s, "keys", args) != 0) {
            CHECK(0);
            continue;
        }
        iotls_config *cfg = client_cfg("ca.pem");
        client_result r;
        run_client(cfg, "localhost", s.port, "key\n", "yek", &r);
        server_stop(&s);
        CHECK_OK(r.rc);
        CHECK(r.info.sig_scheme == keys[i].scheme);
        CHECK(r.info.peer_cert_verified == 1);
        iotls_config_free(cfg);
    }
}

static void test_alpn_tickets_ip(void)
{
    /* ALPN: the server picks from what we offered. */
    {
        const char *args[] = {"-tls1_3", "-rev",  "-cert",    "srv.pem", "-key",
                              "srv.key", "-alpn", "http/1.1", NULL};
        server_proc s;
        if (server_start(&s, "alpn", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            CHECK_OK(iotls_config_set_alpn(cfg, "h2,http/1.1"));
            client_result r;
            run_client(cfg, "localhost", s.port, "alpn\n", "npla", &r);
            server_stop(&s);
            CHECK_OK(r.rc);
            CHECK(strcmp(r.alpn, "http/1.1") == 0);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* Tickets: OpenSSL sends two after the handshake; each becomes a
     * resumption PSK handed to the callback. */
    {
        const char *args[] = {"-tls1_3", "-rev",    "-cert",         "srv.pem",
                              "-key",    "srv.key", "-ciphersuites", "TLS_AES_256_GCM_SHA384",
                              NULL};
        server_proc s;
        if (server_start(&s, "tickets", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            ticket_log tl;
            memset(&tl, 0, sizeof tl);
            iotls_config_set_ticket_cb(cfg, ticket_cb, &tl);
            client_result r;
            run_client(cfg, "localhost", s.port, "ticket\n", "tekcit", &r);
            server_stop(&s);
            CHECK_OK(r.rc);
            CHECK(tl.count == 2);
            CHECK(tl.suite == IOTLS_TLS_AES_256_GCM_SHA384);
            CHECK(tl.psk_len == 48);
            CHECK(tl.lifetime > 0);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* An IP literal: no SNI, the name check uses the IP SAN. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert", "srv.pem", "-key", "srv.key", NULL};
        server_proc s;
        if (server_start(&s, "ip", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            client_result r;
            run_client(cfg, "127.0.0.1", s.port, "ip\n", "pi", &r);
            server_stop(&s);
            CHECK_OK(r.rc);
            CHECK(r.info.peer_cert_verified == 1);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
}

static void test_client_auth(void)
{
    /* Required, and we have a certificate. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert",   "srv.pem", "-key", "srv.key",
                              "-Verify", "1",    "-CAfile", "ca.pem",  NULL};
        server_proc s;
        if (server_start(&s, "auth", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            CHECK_OK(iotls_config_set_cert_file(cfg, tmp_path("cli.pem"), tmp_path("cli.key")));
            client_result r;
            run_client(cfg, "localhost", s.port, "auth\n", "htua", &r);
            server_stop(&s);
            CHECK_OK(r.rc);
            CHECK(r.info.client_auth == 1);
            CHECK(r.info.own_sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256);
            CHECK(file_contains(s.log, "iotls test client"));
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* Required, and we have none: our handshake ends with an empty
     * Certificate; the server answers certificate_required. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert",   "srv.pem", "-key", "srv.key",
                              "-Verify", "1",    "-CAfile", "ca.pem",  NULL};
        server_proc s;
        if (server_start(&s, "auth_none", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            client_result r;
            run_client(cfg, "localhost", s.port, NULL, NULL, &r);
            server_stop(&s);
            CHECK(r.hs_done == 1);
            CHECK_RC(r.rc, IOTLS_ERR_ALERT_RECEIVED);
            CHECK(r.info.peer_alert == IOTLS_ALERT_CERTIFICATE_REQUIRED);
            CHECK(r.info.client_auth == 0);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* Optional, and we have none. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert",   "srv.pem", "-key", "srv.key",
                              "-verify", "1",    "-CAfile", "ca.pem",  NULL};
        server_proc s;
        if (server_start(&s, "auth_opt", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            client_result r;
            run_client(cfg, "localhost", s.port, "opt\n", "tpo", &r);
            server_stop(&s);
            CHECK_OK(r.rc);
            CHECK(r.info.client_auth == 0);
            CHECK(r.info.own_sig_scheme == 0);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
}

static void test_negative_interop(void)
{
    /* A CA we do not trust. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert", "srv.pem", "-key", "srv.key", NULL};
        server_proc s;
        if (server_start(&s, "wrong_ca", args) == 0) {
            iotls_config *cfg = client_cfg("other.pem");
            client_result r;
            run_client(cfg, "localhost", s.port, "x\n", "x", &r);
            server_stop(&s);
            CHECK_RC(r.rc, IOTLS_ERR_CERT_UNKNOWN_CA);
            CHECK(r.hs_done == 0);
            CHECK(r.info.alert_sent == IOTLS_ALERT_UNKNOWN_CA);
            CHECK(file_contains(s.log, "unknown ca"));
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* The certificate is for localhost, we asked for another name. */
    {
        const char *args[] = {"-tls1_3", "-rev", "-cert", "srv.pem", "-key", "srv.key", NULL};
        server_proc s;
        if (server_start(&s, "wrong_host", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            client_result r;
            run_client(cfg, "wrong.example", s.port, "x\n", "x", &r);
            server_stop(&s);
            CHECK_RC(r.rc, IOTLS_ERR_CERT_HOSTNAME);
            CHECK(r.hs_done == 0);
            CHECK(r.info.alert_sent == IOTLS_ALERT_BAD_CERTIFICATE);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
    /* A server that stops at TLS 1.2 finds no common version in our
     * supported_versions and says protocol_version. */
    {
        const char *args[] = {"-tls1_2", "-rev", "-cert", "srv.pem", "-key", "srv.key", NULL};
        server_proc s;
        if (server_start(&s, "tls12", args) == 0) {
            iotls_config *cfg = client_cfg("ca.pem");
            client_result r;
            run_client(cfg, "localhost", s.port, "x\n", "x", &r);
            server_stop(&s);
            CHECK(r.hs_done == 0);
            CHECK(r.rc == IOTLS_ERR_PROTOCOL_VERSION ||
                  (r.rc == IOTLS_ERR_ALERT_RECEIVED &&
                   r.info.peer_alert == IOTLS_ALERT_PROTOCOL_VERSION));
            if (r.rc != IOTLS_ERR_PROTOCOL_VERSION)
                fprintf(stderr, "note: TLS 1.2 server: rc %s, peer alert %d\n",
                        iotls_error_name(r.rc), r.info.peer_alert);
            iotls_config_free(cfg);
        } else {
            CHECK(0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* A scripted server in memory                                         */
/* ------------------------------------------------------------------ */

typedef struct {
    iotls_config *cfg;
    void *mem;
    iotls_conn *c;
    uint8_t ch[4096]; /* the last ClientHello, whole message */
    size_t ch_len;
    iotls_client_hello chp;
    uint16_t ch_group; /* the group of the client's (only) key share */
    iotls_bytes ch_share;
    uint8_t ccs_seen; /* CCS records seen in the client's output so far */
    iotls_transcript tr;
    iotls_key_schedule ks;
    iotls_record_cipher wr; /* server -> client */
    iotls_record_cipher rd; /* client -> server */
    iotls_kex_ctx kex;
    uint16_t suite;
    iotls_hash_alg hash;
    size_t hash_len;
    uint8_t out[65536]; /* client output, taken */
    size_t out_len;
    int hrr_done;
} fake_server;

static iotls_x509 g_srv_chain;
static iotls_pkey g_srv_key;

/* Takes all of the client's output into f->out. */
static void take_output(fake_server *f)
{
    size_t len;
    const uint8_t *p = iotls_conn_output(f->c, &len);
    f->out_len = 0;
    if (p && len <= sizeof f->out) {
        memcpy(f->out, p, len);
        f->out_len = len;
        iotls_conn_output_consume(f->c, len);
    }
}

/* Record at *pos of f->out: type and body. */
static int next_record(fake_server *f, size_t *pos, uint8_t *type, uint8_t **rec, size_t *rec_len)
{
    if (*pos + 5 > f->out_len)
        return 0;
    size_t body = (size_t)f->out[*pos + 3] << 8 | f->out[*pos + 4];
    if (*pos + 5 + body > f->out_len)
        return 0;
    *type = f->out[*pos];
    *rec = f->out + *pos;
    *rec_len = 5 + body;
    *pos += 5 + body;
    return 1;
}

/* The ClientHello (after a CCS, maybe) in the client's output. */
static int read_client_hello(fake_server *f)
{
    take_output(f);
    size_t pos = 0;
    uint8_t type;
    uint8_t *rec;
    size_t rec_len;
    f->ch_len = 0;
    while (next_record(f, &pos, &type, &rec, &rec_len)) {
        if (type == IOTLS_CT_CHANGE_CIPHER_SPEC) {
            f->ccs_seen++;
            continue;
        }
        if (type != IOTLS_CT_HANDSHAKE || f->ch_len + rec_len - 5 > sizeof f->ch)
            return -1;
        memcpy(f->ch + f->ch_len, rec + 5, rec_len - 5);
        f->ch_len += rec_len - 5;
    }
    if (f->ch_len < 4 || f->ch[0] != IOTLS_HS_CLIENT_HELLO)
        return -1;
    if (iotls__client_hello_parse(f->ch + 4, f->ch_len - 4, &f->chp) != IOTLS_OK)
        return -1;
    size_t kpos = 0;
    iotls_key_share_entry e;
    if (!iotls__key_share_next(f->chp.key_shares, &kpos, &e))
        return -1;
    f->ch_group = e.group;
    f->ch_share = e.key_exchange;
    return 0;
}

static int fake_begin(fake_server *f, iotls_config *cfg, const char *host)
{
    memset(f, 0, sizeof *f);
    f->cfg = cfg;
    size_t size;
    f->mem = conn_mem(cfg, &size);
    f->c = iotls_conn_init(f->mem, size, cfg, IOTLS_ROLE_CLIENT, host);
    if (!f->c)
        return -1;
    if (iotls_conn_start(f->c) != IOTLS_OK)
        return -1;
    if (iotls__transcript_init(&f->tr) != IOTLS_OK)
        return -1;
    if (read_client_hello(f) != 0)
        return -1;
    return iotls__transcript_update(&f->tr, f->ch, f->ch_len);
}

static void fake_end(fake_server *f)
{
    iotls_conn_free(f->c);
    free(f->mem);
    iotls__transcript_free(&f->tr);
    iotls__ks_wipe(&f->ks);
    iotls__record_cipher_free(&f->wr);
    iotls__record_cipher_free(&f->rd);
    iotls__kex_free(&f->kex);
}

/* Feeds bytes to the client; returns its result. */
static int feed(fake_server *f, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        size_t used = 0;
        int rc = iotls_conn_input(f->c, data + off, len - off, &used);
        if (rc != IOTLS_OK)
            return rc;
        if (used == 0) {
            take_output(f); /* let the client drain its flight */
            rc = iotls_conn_input(f->c, data + off, len - off, &used);
            if (rc != IOTLS_OK)
                return rc;
            if (used == 0)
                return IOTLS_ERR_INTERNAL;
        }
        off += used;
    }
    return IOTLS_OK;
}

/* A handshake message to the client in a plaintext record; added to the
 * transcript when add is set. */
static int send_plain(fake_server *f, const uint8_t *msg, size_t len, int add)
{
    uint8_t rec[4096];
    if (len + 5 > sizeof rec)
        return IOTLS_ERR_INTERNAL;
    rec[0] = IOTLS_CT_HANDSHAKE;
    rec[1] = 3;
    rec[2] = 3;
    rec[3] = (uint8_t)(len >> 8);
    rec[4] = (uint8_t)len;
    memcpy(rec + 5, msg, len);
    if (add)
        iotls__transcript_update(&f->tr, msg, len);
    return feed(f, rec, len + 5);
}

/* A handshake message under the server's current keys. */
static int send_enc(fake_server *f, const uint8_t *msg, size_t len)
{
    uint8_t rec[8192];
    size_t rec_len = 0;
    int rc = iotls__record_seal(&f->wr, IOTLS_CT_HANDSHAKE, msg, len, 0, rec, sizeof rec, &rec_len);
    if (rc != IOTLS_OK)
        return rc;
    iotls__transcript_update(&f->tr, msg, len);
    return feed(f, rec, rec_len);
}

static int install(fake_server *f, iotls_record_cipher *rc_out, const uint8_t *secret)
{
    uint8_t key[32], iv[12];
    iotls_aead_alg aead = iotls__suite_aead(f->suite);
    size_t key_len = iotls__aead_key_len(aead);
    int rc = iotls__traffic_keys(f->hash, aead, secret, key, key_len, iv);
    if (rc == IOTLS_OK) {
        iotls__record_cipher_free(rc_out);
        rc = iotls__record_cipher_init(rc_out, aead, key, key_len, iv);
    }
    return rc;
}

typedef struct {
    uint16_t suite; /* 0: client's first */
    int bad_session_id;
    int wrong_group; /* answer with a share of another group */
    int no_key_share;
    int with_psk;
    int compression; /* patched into the message */
} sh_opts;

/* ServerHello (with opts), and the server side of the handshake keys. */
static int fake_server_hello(fake_server *f, const sh_opts *o)
{
    uint8_t random[32], pub[IOTLS_MAX_KEX_PUBLIC_LEN], sid[32];
    size_t pub_len = 0;
    uint16_t group = f->ch_group;
    if (o->wrong_group)
        group = group == IOTLS_GROUP_SECP256R1 ? IOTLS_GROUP_X25519 : IOTLS_GROUP_SECP256R1;
    if (iotls__random(random, sizeof random) != IOTLS_OK ||
        iotls__kex_generate(&f->kex, group, pub, sizeof pub, &pub_len) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    f->suite = o->suite ? o->suite : f->cfg->suites[0];
    f->hash = iotls__suite_hash(f->suite);
    f->hash_len = iotls__hash_len(f->hash);
    memcpy(sid, f->chp.session_id.p, f->chp.session_id.len);
    if (o->bad_session_id && f->chp.session_id.len > 0)
        sid[0] ^= 1;
    iotls_server_hello_params p;
    memset(&p, 0, sizeof p);
    p.random = random;
    p.session_id_echo = sid;
    p.session_id_len = f->chp.session_id.len;
    p.cipher_suite = f->suite;
    if (!o->no_key_share) {
        p.key_share_group = group;
        p.key_share = pub;
        p.key_share_len = pub_len;
    }
    p.has_psk = o->with_psk;
    uint8_t msg[1024];
    iotls_writer w;
    iotls__wr_init(&w, msg, sizeof msg);
    if (iotls__server_hello_write(&w, &p) != IOTLS_OK || iotls__wr_error(&w) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    if (o->compression)
        msg[4 + 2 + 32 + 1 + f->chp.session_id.len + 2] = 1;
    iotls__transcript_select(&f->tr, f->hash);
    int rc = send_plain(f, msg, w.len, 1);
    if (rc != IOTLS_OK || group != f->ch_group)
        return rc;
    uint8_t dhe[IOTLS_MAX_KEX_SECRET_LEN], h[IOTLS_MAX_HASH_LEN];
    size_t dhe_len = 0;
    if (iotls__kex_derive(&f->kex, f->ch_share.p, f->ch_share.len, dhe, sizeof dhe, &dhe_len) ||
        iotls__ks_init(&f->ks, f->hash, NULL, 0) || iotls__transcript_hash(&f->tr, h) ||
        iotls__ks_handshake(&f->ks, dhe, dhe_len, h) ||
        install(f, &f->wr, f->ks.server_hs_traffic) || install(f, &f->rd, f->ks.client_hs_traffic))
        return IOTLS_ERR_INTERNAL;
    return IOTLS_OK;
}

/* A HelloRetryRequest into msg (cap bytes), the server's transcript
 * turned into message_hash(ClientHello1); the message is not added. */
static int hrr_message(fake_server *f, uint16_t group, const uint8_t *cookie, size_t cookie_len,
                       uint8_t *msg, size_t cap, size_t *len)
{
    f->suite = f->cfg->suites[0];
    f->hash = iotls__suite_hash(f->suite);
    f->hash_len = iotls__hash_len(f->hash);
    iotls_server_hello_params p;
    memset(&p, 0, sizeof p);
    p.is_hrr = 1;
    p.session_id_echo = f->chp.session_id.p;
    p.session_id_len = f->chp.session_id.len;
    p.cipher_suite = f->suite;
    p.key_share_group = group;
    p.cookie = cookie;
    p.cookie_len = cookie_len;
    iotls_writer w;
    iotls__wr_init(&w, msg, cap);
    if (iotls__server_hello_write(&w, &p) != IOTLS_OK || iotls__wr_error(&w) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    iotls__transcript_select(&f->tr, f->hash);
    iotls__transcript_hrr_substitute(&f->tr);
    *len = w.len;
    return IOTLS_OK;
}

static int fake_hrr(fake_server *f, uint16_t group, const uint8_t *cookie, size_t cookie_len)
{
    uint8_t msg[1024];
    size_t len = 0;
    int rc = hrr_message(f, group, cookie, cookie_len, msg, sizeof msg, &len);
    return rc == IOTLS_OK ? send_plain(f, msg, len, 1) : rc;
}

static int fake_ee(fake_server *f, const iotls_encrypted_extensions_params *p)
{
    iotls_encrypted_extensions_params none;
    memset(&none, 0, sizeof none);
    uint8_t msg[512];
    iotls_writer w;
    iotls__wr_init(&w, msg, sizeof msg);
    if (iotls__encrypted_extensions_write(&w, p ? p : &none) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    return send_enc(f, msg, w.len);
}

static int fake_certificate(fake_server *f, const uint8_t *context, size_t context_len, int empty)
{
    const uint8_t *der;
    size_t der_len;
    if (iotls__x509_der(&g_srv_chain, 0, &der, &der_len) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    static uint8_t msg[8192];
    iotls_writer w;
    iotls__wr_init(&w, msg, sizeof msg);
    if (iotls__certificate_write(&w, context, context_len, &der, &der_len, empty ? 0 : 1) !=
        IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    return send_enc(f, msg, w.len);
}

/* CertificateVerify with scheme; corrupt flips a signature bit. */
static int fake_cv(fake_server *f, uint16_t scheme, uint16_t sign_scheme, int corrupt)
{
    uint8_t h[IOTLS_MAX_HASH_LEN], content[200], sig[IOTLS_MAX_SIGNATURE_LEN];
    size_t content_len = 0, sig_len = 0;
    if (iotls__transcript_hash(&f->tr, h) ||
        iotls__certificate_verify_content(1, h, f->hash_len, content, sizeof content,
                                          &content_len) ||
        iotls__pkey_sign(&g_srv_key, sign_scheme, content, content_len, sig, sizeof sig, &sig_len))
        return IOTLS_ERR_INTERNAL;
    if (corrupt)
        sig[sig_len / 2] ^= 0x10;
    uint8_t msg[600];
    iotls_writer w;
    iotls__wr_init(&w, msg, sizeof msg);
    if (iotls__certificate_verify_write(&w, scheme, sig, sig_len) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    return send_enc(f, msg, w.len);
}

static int fake_finished(fake_server *f, int corrupt)
{
    uint8_t h[IOTLS_MAX_HASH_LEN], vd[IOTLS_MAX_HASH_LEN];
    if (iotls__transcript_hash(&f->tr, h) ||
        iotls__finished_verify_data(f->hash, f->ks.server_hs_traffic, h, vd))
        return IOTLS_ERR_INTERNAL;
    if (corrupt)
        vd[0] ^= 1;
    uint8_t msg[64];
    iotls_writer w;
    iotls__wr_init(&w, msg, sizeof msg);
    if (iotls__finished_write(&w, vd, f->hash_len) != IOTLS_OK)
        return IOTLS_ERR_INTERNAL;
    int rc = send_enc(f, msg, w.len);
    if (rc != IOTLS_OK || corrupt)
        return rc;
    if (iotls__transcript_hash(&f->tr, h) || iotls__ks_master(&f->ks, h))
        return IOTLS_ERR_INTERNAL;
    return IOTLS_OK;
}

/* The client's last output must be one alert of description want (in the
 * clear: the client's write keys are still plaintext before its Finished). */
static void check_alert_out(fake_server *f, int want)
{
    take_output(f);
    size_t pos = 0;
    uint8_t type = 0;
    uint8_t *rec = NULL;
    size_t rec_len = 0;
    uint8_t last_type = 0;
    uint8_t *last = NULL;
    while (next_record(f, &pos, &type, &rec, &rec_len)) {
        last_type = type;
        last = rec;
        if (type == IOTLS_CT_ALERT)
            break;
    }
    CHECK(last != NULL && last_type == IOTLS_CT_ALERT);
    if (last && last_type == IOTLS_CT_ALERT) {
        CHECK(last[5] == 2);
        CHECK(last[6] == want);
        if (last[6] != want)
            fprintf(stderr, "  alert sent %d, want %d\n", last[6], want);
    }
}

static iotls_config *mem_cfg(void)
{
    iotls_config *cfg = client_cfg("ca.pem");
    return cfg;
}

/* ---- ServerHello checks ---- */

static void test_mem_server_hello(void)
{
    fake_server f;
    iotls_config *cfg = mem_cfg();

    /* ClientHello content. */
    CHECK(fake_begin(&f, cfg, "localhost.") == 0);
    CHECK(f.chp.session_id.len == 32);
    CHECK(f.chp.server_name.len == 9 && memcmp(f.chp.server_name.p, "localhost", 9) == 0);
    CHECK(f.ch_group == IOTLS_GROUP_X25519);
    CHECK(f.ch_share.len == 32);
    CHECK(iotls__u16_list_contains(f.chp.supported_versions, IOTLS_TLS13));
    CHECK(iotls__u16_list_count(f.chp.supported_versions) == 1);
    CHECK(iotls__u16_list_count(f.chp.cipher_suites) == 3);
    CHECK(iotls__u16_list_count(f.chp.supported_groups) == 3);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT)) != 0);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN)) == 0);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) == 0);
    /* No ticket callback: no psk_key_exchange_modes, so no tickets. */
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES)) == 0);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_EARLY_DATA)) == 0);
    CHECK(f.ccs_seen == 0);
    fake_end(&f);

    /* No SNI for IP literals; no session id without middlebox mode. */
    static const char *ips[] = {"127.0.0.1", "::1", "fe80::1%eth0", "[::1]"};
    for (size_t i = 0; i < 4; i++) {
        iotls_config_set_middlebox_compat(cfg, 0);
        CHECK(fake_begin(&f, cfg, ips[i]) == 0);
        CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME)) == 0);
        CHECK(f.chp.session_id.len == 0);
        fake_end(&f);
    }
    iotls_config_set_middlebox_compat(cfg, 1);

    /* TLS 1.2 ServerHellos (no supported_versions, extensions a TLS 1.3
     * ServerHello may not carry): downgrade sentinels, or plain 1.2. */
    for (int sentinel = 0; sentinel < 3; sentinel++) {
        CHECK(fake_begin(&f, cfg, "localhost") == 0);
        uint8_t m[128];
        size_t n = 0;
        m[n++] = IOTLS_HS_SERVER_HELLO;
        m[n++] = 0;
        m[n++] = 0;
        m[n++] = 0;
        m[n++] = 3;
        m[n++] = 3;
        for (int i = 0; i < 32; i++)
            m[n++] = (uint8_t)(0xA0 + i);
        if (sentinel)
            memcpy(m + n - 8, sentinel == 1 ? "DOWNGRD\x01" : "DOWNGRD\x00", 8);
        m[n++] = (uint8_t)f.chp.session_id.len;
        memcpy(m + n, f.chp.session_id.p, f.chp.session_id.len);
        n += f.chp.session_id.len;
        m[n++] = 0xC0;
        m[n++] = 0x2F;
        m[n++] = 0;
        static const uint8_t exts[] = {0x00, 0x0B, 0xFF, 0x01, 0x00, 0x01, 0x00,
                                       0x00, 0x0B, 0x00, 0x02, 0x01, 0x00};
        memcpy(m + n, exts, sizeof exts);
        n += sizeof exts;
        m[3] = (uint8_t)(n - 4);
        int want = sentinel ? IOTLS_ERR_ILLEGAL_PARAMETER : IOTLS_ERR_PROTOCOL_VERSION;
        CHECK_RC(send_plain(&f, m, n, 0), want);
        check_alert_out(&f,
                        sentinel ? IOTLS_ALERT_ILLEGAL_PARAMETER : IOTLS_ALERT_PROTOCOL_VERSION);
        fake_end(&f);
    }

    static const struct {
        const char *what;
        sh_opts o;
        int want;
    } bad[] = {
        {"session id echo", {.bad_session_id = 1}, IOTLS_ERR_ILLEGAL_PARAMETER},
        {"other group", {.wrong_group = 1}, IOTLS_ERR_ILLEGAL_PARAMETER},
        {"no key share", {.no_key_share = 1}, IOTLS_ERR_MISSING_EXTENSION},
        {"psk not offered", {.with_psk = 1}, IOTLS_ERR_UNSUPPORTED_EXTENSION},
        {"compression", {.compression = 1}, IOTLS_ERR_ILLEGAL_PARAMETER},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(fake_begin(&f, cfg, "localhost") == 0);
        int rc = fake_server_hello(&f, &bad[i].o);
        if (rc != bad[i].want)
            fprintf(stderr, "  case: %s\n", bad[i].what);
        CHECK_RC(rc, bad[i].want);
        CHECK_RC(iotls_conn_error(f.c), bad[i].want);
        fake_end(&f);
    }

    /* A suite we did not offer. */
    CHECK_OK(iotls_config_set_ciphers(cfg, "TLS_AES_128_GCM_SHA256"));
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    {
        sh_opts o = {.suite = IOTLS_TLS_AES_256_GCM_SHA384};
        CHECK_RC(fake_server_hello(&f, &o), IOTLS_ERR_ILLEGAL_PARAMETER);
        check_alert_out(&f, IOTLS_ALERT_ILLEGAL_PARAMETER);
    }
    fake_end(&f);
    iotls_config_free(cfg);

    /* Messages before ServerHello. */
    cfg = mem_cfg();
    static const uint8_t early_msgs[][8] = {
        {IOTLS_HS_ENCRYPTED_EXTENSIONS, 0, 0, 2, 0, 0},
        {IOTLS_HS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0},
        {IOTLS_HS_FINISHED, 0, 0, 0},
        {IOTLS_HS_CLIENT_HELLO, 0, 0, 0},
    };
    static const size_t early_lens[] = {6, 8, 4, 4};
    for (size_t i = 0; i < 4; i++) {
        CHECK(fake_begin(&f, cfg, "localhost") == 0);
        CHECK_RC(send_plain(&f, early_msgs[i], early_lens[i], 0), IOTLS_ERR_UNEXPECTED_MESSAGE);
        check_alert_out(&f, IOTLS_ALERT_UNEXPECTED_MESSAGE);
        fake_end(&f);
    }
    iotls_config_free(cfg);
}

/* ---- HelloRetryRequest ---- */

static void test_mem_hrr(void)
{
    fake_server f;
    iotls_config *cfg = mem_cfg();
    static const uint8_t cookie[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};

    /* New group: [CCS] CH2 with the same random and a P-256 share, then a
     * second HRR is unexpected_message. */
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    uint8_t random1[32];
    memcpy(random1, f.chp.random.p, 32);
    CHECK_OK(fake_hrr(&f, IOTLS_GROUP_SECP256R1, NULL, 0));
    CHECK(read_client_hello(&f) == 0);
    CHECK(f.ccs_seen == 1);
    CHECK(memcmp(f.chp.random.p, random1, 32) == 0);
    CHECK(f.ch_group == IOTLS_GROUP_SECP256R1);
    CHECK(f.ch_share.len == 65);
    CHECK(f.chp.cookie.len == 0);
    iotls__transcript_update(&f.tr, f.ch, f.ch_len);
    CHECK_RC(fake_hrr(&f, IOTLS_GROUP_SECP384R1, NULL, 0), IOTLS_ERR_UNEXPECTED_MESSAGE);
    check_alert_out(&f, IOTLS_ALERT_UNEXPECTED_MESSAGE);
    fake_end(&f);

    /* Cookie only: the same share again, the cookie echoed, and the
     * handshake then completes over the message_hash transcript. */
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    uint8_t share1[32];
    memcpy(share1, f.ch_share.p, 32);
    CHECK_OK(fake_hrr(&f, 0, cookie, sizeof cookie));
    CHECK(read_client_hello(&f) == 0);
    CHECK(f.ch_group == IOTLS_GROUP_X25519);
    CHECK(f.ch_share.len == 32 && memcmp(f.ch_share.p, share1, 32) == 0);
    CHECK(f.chp.cookie.len == sizeof cookie && memcmp(f.chp.cookie.p, cookie, sizeof cookie) == 0);
    iotls__transcript_update(&f.tr, f.ch, f.ch_len);
    {
        sh_opts o = {0};
        CHECK_OK(fake_server_hello(&f, &o));
        CHECK_OK(fake_ee(&f, NULL));
        CHECK_OK(fake_certificate(&f, NULL, 0, 0));
        CHECK_OK(
            fake_cv(&f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0));
        CHECK_OK(fake_finished(&f, 0));
        CHECK(iotls_conn_handshake_done(f.c));
    }
    fake_end(&f);

    /* HRRs that change nothing or ask for what we do not have. */
    static const struct {
        uint16_t group;
        int with_cookie;
    } bad[] = {{IOTLS_GROUP_X25519, 0}, {IOTLS_GROUP_X25519, 1}, {0, 0}, {0x001E, 0}};
    for (size_t i = 0; i < 4; i++) {
        CHECK(fake_begin(&f, cfg, "localhost") == 0);
        CHECK_RC(fake_hrr(&f, bad[i].group, bad[i].with_cookie ? cookie : NULL,
                          bad[i].with_cookie ? sizeof cookie : 0),
                 IOTLS_ERR_ILLEGAL_PARAMETER);
        check_alert_out(&f, IOTLS_ALERT_ILLEGAL_PARAMETER);
        fake_end(&f);
    }
    /* A group we support but did not list. */
    CHECK_OK(iotls_config_set_groups(cfg, "x25519,secp256r1"));
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    CHECK_RC(fake_hrr(&f, IOTLS_GROUP_SECP384R1, NULL, 0), IOTLS_ERR_ILLEGAL_PARAMETER);
    fake_end(&f);

    /* Without middlebox mode no CCS goes before CH2. */
    iotls_config_set_middlebox_compat(cfg, 0);
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    CHECK_OK(fake_hrr(&f, IOTLS_GROUP_SECP256R1, NULL, 0));
    CHECK(read_client_hello(&f) == 0);
    CHECK(f.ccs_seen == 0);
    fake_end(&f);
    iotls_config_free(cfg);
}

/* The rest of a full handshake after the (second) ClientHello: the
 * client must end connected. */
static void finish_handshake(fake_server *f)
{
    sh_opts o = {0};
    CHECK_OK(fake_server_hello(f, &o));
    CHECK_OK(fake_ee(f, NULL));
    CHECK_OK(fake_certificate(f, NULL, 0, 0));
    CHECK_OK(fake_cv(f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0));
    CHECK_OK(fake_finished(f, 0));
    CHECK(iotls_conn_handshake_done(f->c));
}

/* The second ClientHello is the SEND_CH2 state's, not the
 * HelloRetryRequest handler's: the handler (called here directly, as
 * conn.c does for each message) only checks the message and keeps what
 * the ClientHello needs; the state's step (which conn.c's advance loop
 * runs after the record) makes the new share and writes [CCS]
 * ClientHello2. */
static void test_mem_hrr_send_state(void)
{
    fake_server f;
    iotls_config *cfg = mem_cfg();
    uint8_t msg[1024];
    size_t len = 0;
    size_t out_len = 1;
    static const uint8_t cookie[] = {9, 8, 7, 6, 5, 4, 3, 2, 1};

    /* Another group: the X25519 share is destroyed by the handler, the
     * P-256 one made by the step and kept until the ServerHello. */
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    CHECK_OK(hrr_message(&f, IOTLS_GROUP_SECP256R1, NULL, 0, msg, sizeof msg, &len));
    CHECK_OK(iotls__client_handle(f.c, IOTLS_HS_SERVER_HELLO, msg, len));
    CHECK(f.c->hs.cl.state == IOTLS_CL_SEND_CH2);
    CHECK(f.c->hs.cl.share_group == 0 && f.c->hs.cl.share_pub_len == 0);
    CHECK(f.c->hs.cl.hrr_group == IOTLS_GROUP_SECP256R1);
    iotls_conn_output(f.c, &out_len);
    CHECK(out_len == 0); /* nothing sent under the handler */
    CHECK_OK(iotls__client_step(f.c));
    CHECK(f.c->hs.cl.state == IOTLS_CL_WAIT_SH);
    CHECK(iotls__client_step(f.c) == IOTLS__NO_SEND_STATE); /* WAIT_SH sends nothing */
    CHECK(f.c->hs.cl.share_group == IOTLS_GROUP_SECP256R1);
    iotls__transcript_update(&f.tr, msg, len);
    CHECK(read_client_hello(&f) == 0);
    CHECK(f.ccs_seen == 1);
    CHECK(f.ch_group == IOTLS_GROUP_SECP256R1 && f.ch_share.len == 65);
    iotls__transcript_update(&f.tr, f.ch, f.ch_len);
    finish_handshake(&f);
    fake_end(&f);

    /* Cookie only: the handler keeps the share and a view of the cookie;
     * the step sends both. */
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    uint8_t share1[32];
    memcpy(share1, f.ch_share.p, 32);
    CHECK_OK(hrr_message(&f, 0, cookie, sizeof cookie, msg, sizeof msg, &len));
    CHECK_OK(iotls__client_handle(f.c, IOTLS_HS_SERVER_HELLO, msg, len));
    CHECK(f.c->hs.cl.state == IOTLS_CL_SEND_CH2);
    CHECK(f.c->hs.cl.share_group == IOTLS_GROUP_X25519 && f.c->hs.cl.share_pub_len == 32);
    CHECK(f.c->hs.cl.hrr_cookie_len == sizeof cookie);
    iotls_conn_output(f.c, &out_len);
    CHECK(out_len == 0);
    CHECK_OK(iotls__client_step(f.c));
    CHECK(f.c->hs.cl.state == IOTLS_CL_WAIT_SH);
    CHECK(f.c->hs.cl.hrr_cookie == NULL && f.c->hs.cl.hrr_cookie_len == 0);
    CHECK(read_client_hello(&f) == 0);
    CHECK(f.ch_group == IOTLS_GROUP_X25519 && memcmp(f.ch_share.p, share1, 32) == 0);
    CHECK(f.chp.cookie.len == sizeof cookie && memcmp(f.chp.cookie.p, cookie, sizeof cookie) == 0);
    fake_end(&f);

    /* A HelloRetryRequest over two records, fed apart and together: its
     * cookie is in the reassembler, not in rx, when SEND_CH2 echoes it
     * after the second record. */
    uint8_t big_cookie[300];
    for (size_t i = 0; i < sizeof big_cookie; i++)
        big_cookie[i] = (uint8_t)(i * 7 + 1);
    for (int together = 0; together < 2; together++) {
        CHECK(fake_begin(&f, cfg, "localhost") == 0);
        CHECK_OK(hrr_message(&f, IOTLS_GROUP_SECP256R1, big_cookie, sizeof big_cookie, msg,
                             sizeof msg, &len));
        uint8_t recs[2 * 5 + sizeof msg];
        size_t half = len / 2;
        size_t n = 0;
        for (int part = 0; part < 2; part++) {
            size_t from = part == 0 ? 0 : half;
            size_t count = part == 0 ? half : len - half;
            recs[n] = IOTLS_CT_HANDSHAKE;
            recs[n + 1] = 3;
            recs[n + 2] = 3;
            recs[n + 3] = (uint8_t)(count >> 8);
            recs[n + 4] = (uint8_t)count;
            memcpy(recs + n + 5, msg + from, count);
            n += 5 + count;
        }
        if (together) {
            CHECK_OK(feed(&f, recs, n));
        } else {
            CHECK_OK(feed(&f, recs, 5 + half));
            CHECK(f.c->hs.cl.state == IOTLS_CL_WAIT_SH); /* half a message: no answer */
            iotls_conn_output(f.c, &out_len);
            CHECK(out_len == 0);
            CHECK_OK(feed(&f, recs + 5 + half, n - 5 - half));
        }
        iotls__transcript_update(&f.tr, msg, len);
        CHECK(read_client_hello(&f) == 0);
        CHECK(f.ch_group == IOTLS_GROUP_SECP256R1);
        CHECK(f.chp.cookie.len == sizeof big_cookie &&
              memcmp(f.chp.cookie.p, big_cookie, sizeof big_cookie) == 0);
        iotls__transcript_update(&f.tr, f.ch, f.ch_len);
        finish_handshake(&f);
        fake_end(&f);
    }
    iotls_config_free(cfg);
}

/* ---- After ServerHello ---- */

/* Reads the client's second flight: [CCS], then handshake messages under
 * the client handshake keys; returns them concatenated in hs. */
static size_t client_flight(fake_server *f, uint8_t *hs, size_t cap, int *ccs)
{
    take_output(f);
    size_t pos = 0, n = 0;
    uint8_t type;
    uint8_t *rec;
    size_t rec_len;
    *ccs = 0;
    while (next_record(f, &pos, &type, &rec, &rec_len)) {
        if (type == IOTLS_CT_CHANGE_CIPHER_SPEC) {
            (*ccs)++;
            continue;
        }
        uint8_t ct;
        uint8_t *content;
        size_t content_len;
        if (iotls__record_open(&f->rd, rec, rec_len, &ct, &content, &content_len) != IOTLS_OK ||
            ct != IOTLS_CT_HANDSHAKE || n + content_len > cap)
            return 0;
        memcpy(hs + n, content, content_len);
        n += content_len;
    }
    return n;
}

static void test_mem_full(void)
{
    fake_server f;
    iotls_config *cfg = mem_cfg();
    ticket_log tl;
    memset(&tl, 0, sizeof tl);
    iotls_config_set_ticket_cb(cfg, ticket_cb, &tl);
    CHECK_OK(iotls_config_set_alpn(cfg, "h2,http/1.1"));

    /* A whole handshake with CertificateRequest (we have no certificate:
     * empty Certificate), ALPN, our Finished checked, then a ticket. */
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN)) != 0);
    CHECK((f.chp.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES)) != 0);
    sh_opts o = {0};
    CHECK_OK(fake_server_hello(&f, &o));
    iotls_encrypted_extensions_params ee;
    memset(&ee, 0, sizeof ee);
    ee.alpn = (const uint8_t *)"h2";
    ee.alpn_len = 2;
    ee.server_name_ack = 1;
    CHECK_OK(fake_ee(&f, &ee));
    {
        static const uint16_t algs[] = {IOTLS_SIG_ECDSA_SECP256R1_SHA256};
        uint8_t msg[64];
        iotls_writer w;
        iotls__wr_init(&w, msg, sizeof msg);
        CHECK_OK(iotls__certificate_request_write(&w, NULL, 0, algs, 1));
        CHECK_OK(send_enc(&f, msg, w.len));
    }
    CHECK_OK(fake_certificate(&f, NULL, 0, 0));
    CHECK_OK(fake_cv(&f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0));
    CHECK(!iotls_conn_handshake_done(f.c));
    CHECK_OK(fake_finished(&f, 0));
    CHECK(iotls_conn_handshake_done(f.c));
    {
        uint8_t hs[2048];
        int ccs = 0;
        size_t n = client_flight(&f, hs, sizeof hs, &ccs);
        CHECK(ccs == 1);
        /* Certificate: context 0, empty list; then Finished. */
        static const uint8_t empty_cert[] = {IOTLS_HS_CERTIFICATE, 0, 0, 4, 0, 0, 0, 0};
        CHECK(n == sizeof empty_cert + 4 + f.hash_len);
        CHECK(n >= sizeof empty_cert && memcmp(hs, empty_cert, sizeof empty_cert) == 0);
        if (n == sizeof empty_cert + 4 + f.hash_len) {
            iotls__transcript_update(&f.tr, hs, sizeof empty_cert);
            uint8_t h[IOTLS_MAX_HASH_LEN], vd[IOTLS_MAX_HASH_LEN];
            CHECK_OK(iotls__transcript_hash(&f.tr, h));
            CHECK_OK(iotls__finished_verify_data(f.hash, f.ks.client_hs_traffic, h, vd));
            const uint8_t *fin = hs + sizeof empty_cert;
            CHECK(fin[0] == IOTLS_HS_FINISHED && fin[3] == f.hash_len);
            CHECK(memcmp(fin + 4, vd, f.hash_len) == 0);
            iotls__transcript_update(&f.tr, fin, 4 + f.hash_len);
            CHECK_OK(iotls__transcript_hash(&f.tr, h));
            CHECK_OK(iotls__ks_resumption(&f.ks, h));
        }
    }
    iotls_info info;
    iotls_conn_info(f.c, &info);
    CHECK(strcmp(info.alpn, "h2") == 0);
    CHECK(info.client_auth == 0);
    /* A ticket under the server application keys: the PSK handed out must
     * be HKDF-Expand-Label(resumption_master, "resumption", nonce). */
    {
        CHECK_OK(install(&f, &f.wr, f.ks.server_app_traffic));
        static const uint8_t nonce[] = {0, 1};
        static const uint8_t ticket[] = "opaque-ticket";
        uint8_t msg[128], rec[256];
        size_t rec_len = 0;
        iotls_writer w;
        iotls__wr_init(&w, msg, sizeof msg);
        CHECK_OK(iotls__new_session_ticket_write(&w, 3600, 0x01020304, nonce, sizeof nonce, ticket,
                                                 sizeof ticket - 1, 0));
        CHECK_OK(iotls__record_seal(&f.wr, IOTLS_CT_HANDSHAKE, msg, w.len, 0, rec, sizeof rec,
                                    &rec_len));
        CHECK_OK(feed(&f, rec, rec_len));
        CHECK(tl.count == 1);
        CHECK(tl.lifetime == 3600);
        CHECK(tl.ticket_len == sizeof ticket - 1 && memcmp(tl.ticket, ticket, tl.ticket_len) == 0);
        uint8_t psk[IOTLS_MAX_HASH_LEN];
        CHECK_OK(iotls__resumption_psk(f.hash, f.ks.resumption_master, nonce, sizeof nonce, psk));
        CHECK(tl.psk_len == f.hash_len && memcmp(tl.psk, psk, f.hash_len) == 0);
    }
    fake_end(&f);
    iotls_config_free(cfg);

    /* With a client certificate: Certificate (our chain) + CertificateVerify
     * that verifies with our public key. */
    cfg = mem_cfg();
    CHECK_OK(iotls_config_set_cert_file(cfg, tmp_path("cli.pem"), tmp_path("cli.key")));
    CHECK(fake_begin(&f, cfg, "localhost") == 0);
    CHECK_OK(fake_server_hello(&f, &o));
    CHECK_OK(fake_ee(&f, NULL));
    {
        static const uint16_t algs[] = {IOTLS_SIG_RSA_PSS_RSAE_SHA256,
                                        IOTLS_SIG_ECDSA_SECP256R1_SHA256};
        uint8_t msg[64];
        iotls_writer w;
        iotls__wr_init(&w, msg, sizeof msg);
        CHECK_OK(iotls__certificate_request_write(&w, NULL, 0, algs, 2));
        CHECK_OK(send_enc(&f, msg, w.len));
    }
    CHECK_OK(fake_certificate(&f, NULL, 0, 0));
    CHECK_OK(fake_cv(&f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0));
    CHECK_OK(fake_finished(&f, 0));
    {
        static uint8_t hs[8192];
        int ccs = 0;
        size_t n = client_flight(&f, hs, sizeof hs, &ccs);
        CHECK(n > 8 && hs[0] == IOTLS_HS_CERTIFICATE);
        size_t cert_len = 4 + ((size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3]);
        CHECK(cert_len < n);
        if (cert_len < n) {
            iotls_certificate cm;
            CHECK_OK(iotls__certificate_parse(hs + 4, cert_len - 4, &cm));
            CHECK(cm.count == 1);
            iotls_x509 peer;
            iotls__x509_init(&peer);
            size_t pos = 0;
            iotls_bytes der;
            CHECK(iotls__certificate_next(cm.certificate_list, &pos, &der) == 1);
            CHECK_OK(iotls__x509_add_der(&peer, der.p, der.len));
            iotls__transcript_update(&f.tr, hs, cert_len);
            const uint8_t *cvm = hs + cert_len;
            CHECK(cvm[0] == IOTLS_HS_CERTIFICATE_VERIFY);
            size_t cv_len = 4 + ((size_t)cvm[1] << 16 | (size_t)cvm[2] << 8 | cvm[3]);
            CHECK(cert_len + cv_len < n);
            iotls_certificate_verify cv;
            CHECK_OK(iotls__certificate_verify_parse(cvm + 4, cv_len - 4, &cv));
            CHECK(cv.scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256);
            uint8_t h[IOTLS_MAX_HASH_LEN], content[200];
            size_t content_len = 0;
            CHECK_OK(iotls__transcript_hash(&f.tr, h));
            CHECK_OK(iotls__certificate_verify_content(0, h, f.hash_len, content, sizeof content,
                                                       &content_len));
            CHECK_OK(iotls__x509_verify_signature(&peer, cv.scheme, content, content_len,
                                                  cv.signature.p, cv.signature.len));
            iotls__x509_free(&peer);
        }
    }
    iotls_conn_info(f.c, &info);
    CHECK(info.client_auth == 1);
    CHECK(info.own_sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256);
    fake_end(&f);
    iotls_config_free(cfg);
}

enum step { ST_EE, ST_CERT, ST_CV, ST_FIN };

/* Runs SH, then the good messages up to (not including) step. */
static void fake_until(fake_server *f, iotls_config *cfg, enum step step)
{
    sh_opts o = {0};
    CHECK(fake_begin(f, cfg, "localhost") == 0);
    CHECK_OK(fake_server_hello(f, &o));
    if (step > ST_EE)
        CHECK_OK(fake_ee(f, NULL));
    if (step > ST_CERT)
        CHECK_OK(fake_certificate(f, NULL, 0, 0));
    if (step > ST_CV)
        CHECK_OK(fake_cv(f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0));
}

static void test_mem_negative(void)
{
    fake_server f;
    iotls_config *cfg = mem_cfg();
    iotls_encrypted_extensions_params ee;

    /* EncryptedExtensions answering what we did not ask. */
    memset(&ee, 0, sizeof ee);
    ee.alpn = (const uint8_t *)"h2";
    ee.alpn_len = 2;
    fake_until(&f, cfg, ST_EE);
    CHECK_RC(fake_ee(&f, &ee), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    check_alert_out(&f, IOTLS_ALERT_UNSUPPORTED_EXTENSION);
    fake_end(&f);

    memset(&ee, 0, sizeof ee);
    ee.early_data = 1;
    fake_until(&f, cfg, ST_EE);
    CHECK_RC(fake_ee(&f, &ee), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    fake_end(&f);

    memset(&ee, 0, sizeof ee);
    ee.max_fragment_length = 2;
    fake_until(&f, cfg, ST_EE);
    CHECK_RC(fake_ee(&f, &ee), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    fake_end(&f);

    memset(&ee, 0, sizeof ee);
    ee.record_size_limit = 1024;
    fake_until(&f, cfg, ST_EE);
    CHECK_RC(fake_ee(&f, &ee), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    fake_end(&f);

    /* An ALPN protocol we did not offer. */
    CHECK_OK(iotls_config_set_alpn(cfg, "h2,http/1.1"));
    memset(&ee, 0, sizeof ee);
    ee.alpn = (const uint8_t *)"spdy/3";
    ee.alpn_len = 6;
    fake_until(&f, cfg, ST_EE);
    CHECK_RC(fake_ee(&f, &ee), IOTLS_ERR_ILLEGAL_PARAMETER);
    check_alert_out(&f, IOTLS_ALERT_ILLEGAL_PARAMETER);
    fake_end(&f);
    iotls_config_free(cfg);
    cfg = mem_cfg();

    /* Skipped or repeated messages. */
    fake_until(&f, cfg, ST_CERT);
    CHECK_RC(fake_finished(&f, 0), IOTLS_ERR_UNEXPECTED_MESSAGE);
    check_alert_out(&f, IOTLS_ALERT_UNEXPECTED_MESSAGE);
    fake_end(&f);

    fake_until(&f, cfg, ST_CERT);
    CHECK_RC(fake_cv(&f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    fake_end(&f);

    fake_until(&f, cfg, ST_CERT);
    CHECK_RC(fake_ee(&f, NULL), IOTLS_ERR_UNEXPECTED_MESSAGE);
    fake_end(&f);

    fake_until(&f, cfg, ST_CV);
    CHECK_RC(fake_finished(&f, 0), IOTLS_ERR_UNEXPECTED_MESSAGE);
    fake_end(&f);

    fake_until(&f, cfg, ST_FIN);
    CHECK_RC(fake_certificate(&f, NULL, 0, 0), IOTLS_ERR_UNEXPECTED_MESSAGE);
    fake_end(&f);

    /* A ticket in the middle of the handshake. */
    fake_until(&f, cfg, ST_CERT);
    {
        static const uint8_t nst[] = {
            IOTLS_HS_NEW_SESSION_TICKET, 0, 0, 14, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0, 1, 0x55, 0, 0};
        CHECK_RC(send_enc(&f, nst, sizeof nst), IOTLS_ERR_UNEXPECTED_MESSAGE);
    }
    fake_end(&f);

    /* Certificate: a context, or no certificate at all. */
    fake_until(&f, cfg, ST_CERT);
    CHECK_RC(fake_certificate(&f, (const uint8_t *)"\x01", 1, 0), IOTLS_ERR_ILLEGAL_PARAMETER);
    fake_end(&f);

    fake_until(&f, cfg, ST_CERT);
    CHECK_RC(fake_certificate(&f, NULL, 0, 1), IOTLS_ERR_DECODE);
    check_alert_out(&f, IOTLS_ALERT_DECODE_ERROR);
    fake_end(&f);

    /* CertificateVerify: bad signature, scheme we did not offer (PKCS#1),
     * scheme that does not fit the key. */
    fake_until(&f, cfg, ST_CV);
    CHECK_RC(fake_cv(&f, IOTLS_SIG_ECDSA_SECP256R1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 1),
             IOTLS_ERR_DECRYPT_ERROR);
    check_alert_out(&f, IOTLS_ALERT_DECRYPT_ERROR);
    fake_end(&f);

    fake_until(&f, cfg, ST_CV);
    CHECK_RC(fake_cv(&f, IOTLS_SIG_RSA_PKCS1_SHA256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    fake_end(&f);

    fake_until(&f, cfg, ST_CV);
    CHECK_RC(fake_cv(&f, IOTLS_SIG_ECDSA_SECP384R1_SHA384, IOTLS_SIG_ECDSA_SECP256R1_SHA256, 0),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    fake_end(&f);

    /* A Finished that does not verify. */
    fake_until(&f, cfg, ST_FIN);
    CHECK_RC(fake_finished(&f, 1), IOTLS_ERR_DECRYPT_ERROR);
    check_alert_out(&f, IOTLS_ALERT_DECRYPT_ERROR);
    CHECK(!iotls_conn_handshake_done(f.c));
    fake_end(&f);

    /* Wrong host name through the scripted server too. */
    {
        sh_opts o = {0};
        CHECK(fake_begin(&f, cfg, "not-localhost") == 0);
        CHECK_OK(fake_server_hello(&f, &o));
        CHECK_OK(fake_ee(&f, NULL));
        CHECK_RC(fake_certificate(&f, NULL, 0, 0), IOTLS_ERR_CERT_HOSTNAME);
        fake_end(&f);
    }
    iotls_config_free(cfg);
}

static void cleanup_dir(void)
{
    if (g_dir[0] && !getenv("IOTLS_KEEP_TMP")) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", g_dir);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-client-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (system("openssl version >/dev/null 2>&1") != 0) {
        fprintf(stderr, "the openssl command is needed for this test\n");
        CHECK(0);
        cleanup_dir();
        return tl_finish("client_engine");
    }
    CHECK(make_pki() == 0);
    iotls__x509_init(&g_srv_chain);
    iotls__pkey_init(&g_srv_key);
    CHECK_OK(iotls__x509_load_file(&g_srv_chain, tmp_path("srv.pem")));
    CHECK_OK(iotls__pkey_load_file(&g_srv_key, tmp_path("srv.key"), NULL));

    test_mem_server_hello();
    test_mem_hrr();
    test_mem_hrr_send_state();
    test_mem_full();
    test_mem_negative();

    test_suites();
    test_groups();
    test_hrr();
    test_server_keys();
    test_alpn_tickets_ip();
    test_client_auth();
    test_negative_interop();

    iotls__x509_free(&g_srv_chain);
    iotls__pkey_free(&g_srv_key);
    if (tl_failures)
        fprintf(stderr, "(files in %s)\n", g_dir);
    else
        cleanup_dir();
    return tl_finish("client_engine");
}
