/* Server handshake (src/server.c) tests.
 *
 * 1. Interop: a server iotls_conn driven over a loopback socket against the
 *    real `openssl s_client` and `gnutls-cli` programs: every suite and
 *    group, HelloRetryRequest (with and without middlebox compatibility),
 *    mutual authentication, a missing client certificate, ALPN, SNI with a
 *    certificate callback, RSA-PSS and P-384 keys, a TLS 1.2 client. The
 *    secrets we log must equal the ones s_client logs (-keylogfile), and the
 *    client must receive our echo of what it sent.
 * 2. In memory: hand-built ClientHellos (every field under the test's
 *    control) that must be refused with a specific error and alert, and the
 *    HelloRetryRequest cookie checks on the second ClientHello.
 *
 * Certificates are made with the openssl command in a temporary directory,
 * so nothing here depends on our own certificate writer; the openssl
 * command is therefore required, gnutls-cli is used when installed. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "config.h"
#include "conn.h"
#include "iotls/engine.h"
#include "keysched.h"
#include "msg/msg.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[64];
static char g_path_buf[16][160];

static const char *path_of(int slot, const char *name)
{
    snprintf(g_path_buf[slot], sizeof g_path_buf[slot], "%s/%s", g_dir, name);
    return g_path_buf[slot];
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline)
{
    int64_t left = deadline - now_ms();
    return left < 0 ? 0 : (int)left;
}

static int have_program(const char *name)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

/* CA (P-256), server certificates for P-256, P-384 and RSA-2048 keys (SAN
 * localhost and 127.0.0.1), and a client certificate (P-256). */
static int make_pki(void)
{
    static const char *const cmds[] = {
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out ca.key",
        "openssl req -x509 -new -key ca.key -subj '/CN=iotls test CA' -days 2 -out ca.pem"
        " -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign",
        "printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\nextendedKeyUsage=serverAuth\\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\\nbasicConstraints=CA:FALSE\\n' "
        ">srv.ext",
        "printf 'extendedKeyUsage=clientAuth\\nkeyUsage=critical,digitalSignature\\n"
        "basicConstraints=CA:FALSE\\n' >cli.ext",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out srv256.key",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out srv384.key",
        "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out srvrsa.key",
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out cli.key",
        "n=10; for k in srv256 srv384 srvrsa; do n=$((n+1)); openssl req -new -key $k.key"
        " -subj /CN=localhost -out $k.csr && openssl x509 -req -in $k.csr -CA ca.pem"
        " -CAkey ca.key -set_serial $n -days 2 -extfile srv.ext -out $k.pem || exit 1; done",
        "openssl req -new -key cli.key -subj /CN=iotls-test-client -out cli.csr && openssl x509"
        " -req -in cli.csr -CA ca.pem -CAkey ca.key -set_serial 77 -days 2 -extfile cli.ext"
        " -out cli.pem",
        /* The same keys in certificates of about 14.9 KB (a long comment
         * extension): with the CA, a Certificate message near the 16 KiB a
         * peer accepts by default (max_handshake). */
        "c=$(head -c 14500 /dev/zero | tr '\\0' x) && printf 'nsComment=%s\\n' \"$c\" >big.ext"
        " && cat srv.ext big.ext >srvbig.ext && cat cli.ext big.ext >clibig.ext"
        " && openssl x509 -req -in srv256.csr -CA ca.pem -CAkey ca.key -set_serial 90 -days 2"
        " -extfile srvbig.ext -out srvbig.pem && openssl x509 -req -in cli.csr -CA ca.pem"
        " -CAkey ca.key -set_serial 91 -days 2 -extfile clibig.ext -out clibig.pem",
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (tl_run_quiet(g_dir, cmds[i]) != 0)
            return -1;
    return 0;
}

/* ---------------- configuration ---------------- */

typedef struct {
    char lines[16][256];
    size_t count;
} keylog_lines;

static void keylog_cb(void *arg, const char *line)
{
    keylog_lines *k = arg;
    if (k->count < 16)
        snprintf(k->lines[k->count++], sizeof k->lines[0], "%s", line);
}

static void config_init(struct iotls_config *cfg, const char *key_name)
{
    memset(cfg, 0, sizeof *cfg);
    iotls__config_defaults(cfg);
    iotls__x509_init(&cfg->cert);
    iotls__x509_init(&cfg->ca);
    iotls__pkey_init(&cfg->key);
    char name[64];
    snprintf(name, sizeof name, "%s.pem", key_name);
    CHECK_OK(iotls__x509_load_file(&cfg->cert, path_of(0, name)));
    snprintf(name, sizeof name, "%s.key", key_name);
    CHECK_OK(iotls__pkey_load_file(&cfg->key, path_of(0, name), NULL));
    cfg->has_cert = 1;
    CHECK_OK(iotls__x509_load_file(&cfg->ca, path_of(0, "ca.pem")));
    cfg->has_ca = 1;
}

static void config_free(struct iotls_config *cfg)
{
    iotls__x509_free(&cfg->cert);
    iotls__x509_free(&cfg->ca);
    iotls__pkey_free(&cfg->key);
}

static void set_alpn(struct iotls_config *cfg, const char *a, const char *b)
{
    size_t n = 0;
    const char *names[2] = {a, b};
    for (int i = 0; i < 2; i++) {
        if (!names[i])
            continue;
        size_t len = strlen(names[i]);
        cfg->alpn[n++] = (uint8_t)len;
        memcpy(cfg->alpn + n, names[i], len);
        n += len;
    }
    cfg->alpn_len = n;
}

static iotls_conn *server_new(const struct iotls_config *cfg)
{
    iotls_conn *c = tl_conn_new(cfg, IOTLS_ROLE_SERVER, NULL);
    if (c && iotls_conn_start(c) != IOTLS_OK) {
        tl_conn_free(c);
        return NULL;
    }
    return c;
}

/* ---------------- interop runner ---------------- */

enum { PEER_OPENSSL, PEER_GNUTLS };

typedef struct {
    int server_rc; /* first failure of our server, IOTLS_OK if none */
    int handshake_done;
    int echoed; /* we received the client's line and echoed it */
    uint16_t suite, group, own_sig_scheme, peer_sig_scheme;
    int hrr, client_auth, alert_sent, ccs_sent;
    char alpn[256];
    char server_name[256];
    char log[32768]; /* the client program's stdout and stderr */
    keylog_lines keys;
} outcome;

static int listen_loopback(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = 0;
    socklen_t sl = sizeof sa;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        close(fd);
        return -1;
    }
    *port = ntohs(sa.sin_port);
    return fd;
}

static pid_t spawn(char *const argv[], int *stdin_w, const char *log_path)
{
    int p[2];
    if (pipe(p) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(p[0], 0);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[0]);
    *stdin_w = p[1];
    return pid;
}

static void reap(pid_t pid, int64_t deadline)
{
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        if (now_ms() > deadline) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            return;
        }
        usleep(10000);
    }
}

/* Sends everything the engine has queued. */
static int pump_out(iotls_conn *c, int fd, int64_t deadline)
{
    size_t n;
    const uint8_t *p;
    while ((p = iotls_conn_output(c, &n)) != NULL) {
        struct pollfd pfd = {fd, POLLOUT, 0};
        if (poll(&pfd, 1, remaining_ms(deadline)) <= 0)
            return -1;
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            return -1;
        }
        iotls_conn_output_consume(c, (size_t)w);
    }
    return 0;
}

static void capture(outcome *o, const iotls_conn *c)
{
    o->handshake_done = c->handshake_done;
    o->suite = c->suite;
    o->group = c->group;
    o->own_sig_scheme = c->own_sig_scheme;
    o->peer_sig_scheme = c->peer_sig_scheme;
    o->hrr = c->hrr;
    o->client_auth = c->client_auth;
    o->alert_sent = c->alert_sent;
    o->ccs_sent = c->ccs_sent;
    snprintf(o->alpn, sizeof o->alpn, "%s", c->alpn);
    snprintf(o->server_name, sizeof o->server_name, "%s", c->server_name);
}

/* The server side of one connection: handshake, then read one line from
 * the client, answer "echo:<line>", close_notify. */
static void serve(iotls_conn *c, int fd, int stdin_w, const char *line, outcome *o,
                  int64_t deadline)
{
    uint8_t in[8192];
    size_t in_len = 0, in_pos = 0;
    char app[1024];
    size_t app_len = 0;
    int line_sent = 0;
    for (;;) {
        if (pump_out(c, fd, deadline) != 0)
            break;
        if (iotls_conn_error(c) != IOTLS_OK)
            break;
        if (iotls_conn_handshake_done(c)) {
            if (!line_sent) {
                /* Only now, so the client's data comes after the handshake. */
                if (write(stdin_w, line, strlen(line)) < 0)
                    break;
                line_sent = 1;
            }
            size_t n = 0;
            int rc;
            while ((rc = iotls_conn_read(c, (uint8_t *)app + app_len, sizeof app - 1 - app_len,
                                         &n)) == IOTLS_OK &&
                   n > 0)
                app_len += n;
            char *nl = memchr(app, '\n', app_len);
            if (nl) {
                char reply[1100];
                int len = snprintf(reply, sizeof reply, "echo:%.*s\n", (int)(nl - app), app);
                size_t written = 0;
                CHECK_OK(iotls_conn_write(c, (const uint8_t *)reply, (size_t)len, &written));
                CHECK(written == (size_t)len);
                o->echoed = 1;
                iotls_conn_close(c);
                pump_out(c, fd, deadline);
                break;
            }
            if (iotls_conn_peer_closed(c))
                break;
        }
        if (in_pos < in_len) {
            size_t used = 0;
            int rc = iotls_conn_input(c, in + in_pos, in_len - in_pos, &used);
            in_pos += used;
            if (rc != IOTLS_OK) {
                o->server_rc = rc;
                pump_out(c, fd, deadline);
                break;
            }
            if (used > 0 || c->app_len > 0)
                continue;
            size_t pending;
            if (iotls_conn_output(c, &pending) != NULL)
                continue;
            fprintf(stderr, "serve: engine takes no input\n");
            break;
        }
        struct pollfd pfd = {fd, POLLIN, 0};
        int pr = poll(&pfd, 1, remaining_ms(deadline));
        if (pr <= 0) {
            fprintf(stderr, "serve: timeout waiting for the client\n");
            break;
        }
        ssize_t r = recv(fd, in, sizeof in, 0);
        if (r <= 0)
            break;
        in_len = (size_t)r;
        in_pos = 0;
    }
    if (o->server_rc == IOTLS_OK)
        o->server_rc = iotls_conn_error(c);
}

/* Runs one client program against a fresh server connection on cfg. */
static void run_peer(struct iotls_config *cfg, int peer, const char *const *extra, outcome *o)
{
    memset(o, 0, sizeof *o);
    o->server_rc = IOTLS_ERR_INTERNAL;
    cfg->keylog = keylog_cb;
    cfg->keylog_arg = &o->keys;
    int port = 0;
    int lfd = listen_loopback(&port);
    if (lfd < 0) {
        CHECK(lfd >= 0);
        return;
    }
    char hostport[32], portstr[16];
    snprintf(hostport, sizeof hostport, "127.0.0.1:%d", port);
    snprintf(portstr, sizeof portstr, "%d", port);
    const char *argv[48];
    size_t n = 0;
    if (peer == PEER_OPENSSL) {
        const char *base[] = {"openssl",
                              "s_client",
                              "-connect",
                              hostport,
                              "-CAfile",
                              path_of(1, "ca.pem"),
                              "-verify_return_error",
                              "-verify_ip",
                              "127.0.0.1",
                              "-ign_eof",
                              "-brief",
                              "-keylogfile",
                              path_of(2, "client.keylog")};
        for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
            argv[n++] = base[i];
    } else {
        const char *base[] = {"gnutls-cli", "-p", portstr, "--x509cafile", path_of(1, "ca.pem")};
        for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
            argv[n++] = base[i];
    }
    for (size_t i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    if (peer == PEER_GNUTLS)
        argv[n++] = "127.0.0.1";
    argv[n] = NULL;
    unlink(path_of(2, "client.keylog"));

    int64_t deadline = now_ms() + 20000;
    int stdin_w = -1;
    pid_t pid = spawn((char *const *)argv, &stdin_w, path_of(3, "client.log"));
    CHECK(pid > 0);
    if (pid <= 0) {
        close(lfd);
        return;
    }
    struct pollfd pfd = {lfd, POLLIN, 0};
    int fd = -1;
    if (poll(&pfd, 1, remaining_ms(deadline)) == 1)
        fd = accept(lfd, NULL, NULL);
    CHECK(fd >= 0);
    if (fd >= 0) {
        iotls_conn *c = server_new(cfg);
        CHECK(c != NULL);
        if (c) {
            static int serial;
            char line[64];
            snprintf(line, sizeof line, "ping-%d\n", ++serial);
            o->server_rc = IOTLS_OK;
            serve(c, fd, stdin_w, line, o, deadline);
            capture(o, c);
            char want[80];
            snprintf(want, sizeof want, "echo:ping-%d", serial);
            tl_conn_free(c);
            shutdown(fd, SHUT_WR);
            reap(pid, deadline);
            pid = -1;
            /* The client's log now holds everything it printed. */
            FILE *f = fopen(path_of(3, "client.log"), "r");
            if (f) {
                size_t got = fread(o->log, 1, sizeof o->log - 1, f);
                o->log[got] = '\0';
                fclose(f);
            }
            if (o->echoed && !strstr(o->log, want)) {
                fprintf(stderr, "client did not print %s\n", want);
                o->echoed = 0;
            }
        }
        close(fd);
    }
    close(stdin_w);
    if (pid > 0)
        reap(pid, deadline);
    close(lfd);
    cfg->keylog = NULL;
    cfg->keylog_arg = NULL;
}

static void dump_on_failure(const char *what, const outcome *o, int ok)
{
    if (!ok)
        fprintf(stderr, "---- %s: server rc %d (%s), client log:\n%s\n----\n", what, o->server_rc,
                tl_errname(o->server_rc), o->log);
}

/* Every line we logged must be in the client's key log, and all five kinds
 * must be there: the two sides derived the same secrets. */
static void check_keylog_matches(const outcome *o)
{
    FILE *f = fopen(path_of(2, "client.keylog"), "r");
    CHECK(f != NULL);
    if (!f)
        return;
    static char theirs[16384];
    size_t got = fread(theirs, 1, sizeof theirs - 1, f);
    theirs[got] = '\0';
    fclose(f);
    CHECK(o->keys.count == 5);
    static const char *const labels[] = {
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET ", "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
        "CLIENT_TRAFFIC_SECRET_0 ", "SERVER_TRAFFIC_SECRET_0 ", "EXPORTER_SECRET "};
    for (size_t l = 0; l < 5; l++) {
        int found = 0;
        for (size_t i = 0; i < o->keys.count; i++)
            if (strncmp(o->keys.lines[i], labels[l], strlen(labels[l])) == 0) {
                found = 1;
                /* Case-insensitive hex: compare lowercased copies. */
                char ours[256];
                snprintf(ours, sizeof ours, "%s", o->keys.lines[i]);
                for (char *p = ours; *p; p++)
                    if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
                static char lower[16384];
                memcpy(lower, theirs, got + 1);
                for (char *p = lower; *p; p++)
                    if (*p >= 'A' && *p <= 'F')
                        *p = (char)(*p - 'A' + 'a');
                if (!strstr(lower, ours)) {
                    fprintf(stderr, "key log line not in the client's: %s\n", ours);
                    CHECK(0);
                }
            }
        CHECK(found);
    }
}

/* ---------------- interop cases ---------------- */

static void test_openssl_suites_groups(void)
{
    static const struct {
        uint16_t id;
        const char *name;
    } suites[] = {{IOTLS_TLS_AES_128_GCM_SHA256, "TLS_AES_128_GCM_SHA256"},
                  {IOTLS_TLS_AES_256_GCM_SHA384, "TLS_AES_256_GCM_SHA384"},
                  {IOTLS_TLS_CHACHA20_POLY1305_SHA256, "TLS_CHACHA20_POLY1305_SHA256"}};
    static const struct {
        uint16_t id;
        const char *name;
    } groups[] = {{IOTLS_GROUP_X25519, "X25519"},
                  {IOTLS_GROUP_SECP256R1, "P-256"},
                  {IOTLS_GROUP_SECP384R1, "P-384"}};
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    static outcome o;
    for (size_t s = 0; s < 3; s++) {
        for (size_t g = 0; g < 3; g++) {
            cfg.suites[0] = suites[s].id;
            cfg.suite_count = 1;
            cfg.groups[0] = groups[g].id;
            cfg.group_count = 1;
            const char *extra[] = {"-tls1_3",
                                   "-ciphersuites",
                                   "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:"
                                   "TLS_CHACHA20_POLY1305_SHA256",
                                   "-groups",
                                   groups[g].name,
                                   NULL};
            run_peer(&cfg, PEER_OPENSSL, extra, &o);
            char want[96];
            snprintf(want, sizeof want, "Ciphersuite: %s", suites[s].name);
            int ok = o.server_rc == IOTLS_OK && o.echoed && o.suite == suites[s].id &&
                     o.group == groups[g].id && !o.hrr && strstr(o.log, want) &&
                     strstr(o.log, "Verification: OK") &&
                     o.own_sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256 && o.ccs_sent;
            CHECK(ok);
            dump_on_failure(want, &o, ok);
            check_keylog_matches(&o);
        }
    }
    config_free(&cfg);
}

static void test_openssl_hrr(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    cfg.groups[0] = IOTLS_GROUP_SECP256R1;
    cfg.group_count = 1;
    static outcome o;
    /* s_client sends a share only for its first group, X25519. */
    const char *extra[] = {"-tls1_3", "-groups", "X25519:P-256", NULL};
    run_peer(&cfg, PEER_OPENSSL, extra, &o);
    int ok = o.server_rc == IOTLS_OK && o.echoed && o.hrr && o.group == IOTLS_GROUP_SECP256R1 &&
             o.ccs_sent && strstr(o.log, "Server Temp Key: ECDH, prime256v1");
    CHECK(ok);
    dump_on_failure("HRR", &o, ok);
    check_keylog_matches(&o);

    /* Without middlebox compatibility: no session id, no CCS from us. */
    const char *extra2[] = {"-tls1_3", "-groups", "X25519:P-256", "-no_middlebox", NULL};
    run_peer(&cfg, PEER_OPENSSL, extra2, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.hrr && !o.ccs_sent;
    CHECK(ok);
    dump_on_failure("HRR no middlebox", &o, ok);

    /* With the cookie (iotls_config_set_hrr_cookie), stateless. */
    cfg.hrr_cookie = 1;
    cfg.has_cookie_key = 1;
    memset(cfg.cookie_key, 0x5a, sizeof cfg.cookie_key);
    cfg.suites[0] = IOTLS_TLS_AES_256_GCM_SHA384; /* SHA-384 cookie and transcript */
    cfg.suite_count = 1;
    run_peer(&cfg, PEER_OPENSSL, extra, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.hrr && o.suite == IOTLS_TLS_AES_256_GCM_SHA384;
    CHECK(ok);
    dump_on_failure("HRR SHA-384, cookie", &o, ok);
    check_keylog_matches(&o);

    /* Our preference is P-384 but the client sent a P-256 share: use it,
     * no extra round trip. */
    cfg.groups[0] = IOTLS_GROUP_SECP384R1;
    cfg.groups[1] = IOTLS_GROUP_SECP256R1;
    cfg.group_count = 2;
    const char *extra3[] = {"-tls1_3", "-groups", "P-256:P-384", NULL};
    run_peer(&cfg, PEER_OPENSSL, extra3, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && !o.hrr && o.group == IOTLS_GROUP_SECP256R1;
    CHECK(ok);
    dump_on_failure("share over preference", &o, ok);
    config_free(&cfg);
}

static void test_openssl_client_auth(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    cfg.verify_client = IOTLS_VERIFY_CLIENT_REQUIRED;
    static outcome o;
    const char *with_cert[] = {
        "-tls1_3", "-cert", path_of(4, "cli.pem"), "-key", path_of(5, "cli.key"), NULL};
    run_peer(&cfg, PEER_OPENSSL, with_cert, &o);
    int ok = o.server_rc == IOTLS_OK && o.echoed && o.client_auth &&
             o.peer_sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256;
    CHECK(ok);
    dump_on_failure("client auth", &o, ok);
    check_keylog_matches(&o);

    /* No certificate while one is required: certificate_required. */
    const char *without[] = {"-tls1_3", NULL};
    run_peer(&cfg, PEER_OPENSSL, without, &o);
    ok = o.server_rc == IOTLS_ERR_CERT_REQUIRED &&
         o.alert_sent == IOTLS_ALERT_CERTIFICATE_REQUIRED && !o.echoed &&
         strstr(o.log, "certificate required");
    CHECK(ok);
    dump_on_failure("certificate required", &o, ok);

    /* Optional: the client may go without. */
    cfg.verify_client = IOTLS_VERIFY_CLIENT_OPTIONAL;
    run_peer(&cfg, PEER_OPENSSL, without, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && !o.client_auth;
    CHECK(ok);
    dump_on_failure("client auth optional, none", &o, ok);
    run_peer(&cfg, PEER_OPENSSL, with_cert, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.client_auth;
    CHECK(ok);
    dump_on_failure("client auth optional, given", &o, ok);

    /* A client certificate from a CA we do not trust: unknown_ca. */
    cfg.verify_client = IOTLS_VERIFY_CLIENT_REQUIRED;
    const char *self[] = {"-tls1_3", "-cert", path_of(4, "ca.pem"), "-key", path_of(5, "ca.key"),
                          NULL};
    iotls__x509_free(&cfg.ca);
    iotls__x509_init(&cfg.ca);
    CHECK_OK(iotls__x509_load_file(&cfg.ca, path_of(6, "srv384.pem"))); /* not a CA */
    run_peer(&cfg, PEER_OPENSSL, self, &o);
    ok = o.server_rc == IOTLS_ERR_CERT_UNKNOWN_CA && !o.echoed && strstr(o.log, "unknown ca");
    CHECK(ok);
    dump_on_failure("client cert unknown CA", &o, ok);
    config_free(&cfg);
}

static void test_openssl_version_and_alpn(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    static outcome o;
    const char *tls12[] = {"-tls1_2", NULL};
    run_peer(&cfg, PEER_OPENSSL, tls12, &o);
    int ok = o.server_rc == IOTLS_ERR_PROTOCOL_VERSION &&
             o.alert_sent == IOTLS_ALERT_PROTOCOL_VERSION && strstr(o.log, "protocol version");
    CHECK(ok);
    dump_on_failure("TLS 1.2 client", &o, ok);

    set_alpn(&cfg, "h2", "http/1.1");
    const char *alpn[] = {"-tls1_3", "-alpn", "foo,http/1.1", NULL};
    run_peer(&cfg, PEER_OPENSSL, alpn, &o);
    /* (s_client -brief does not print the protocol; gnutls-cli below does.) */
    ok = o.server_rc == IOTLS_OK && o.echoed && strcmp(o.alpn, "http/1.1") == 0;
    CHECK(ok);
    dump_on_failure("ALPN", &o, ok);

    const char *no_alpn[] = {"-tls1_3", NULL};
    run_peer(&cfg, PEER_OPENSSL, no_alpn, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.alpn[0] == '\0';
    CHECK(ok);
    dump_on_failure("no ALPN offered", &o, ok);

    const char *bad_alpn[] = {"-tls1_3", "-alpn", "foo", NULL};
    run_peer(&cfg, PEER_OPENSSL, bad_alpn, &o);
    ok = o.server_rc == IOTLS_ERR_NO_APPLICATION_PROTOCOL &&
         o.alert_sent == IOTLS_ALERT_NO_APPLICATION_PROTOCOL &&
         strstr(o.log, "no application protocol");
    CHECK(ok);
    dump_on_failure("ALPN mismatch", &o, ok);

    /* No suite in common. */
    cfg.alpn_len = 0;
    cfg.suites[0] = IOTLS_TLS_CHACHA20_POLY1305_SHA256;
    cfg.suite_count = 1;
    const char *aes[] = {"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256", NULL};
    run_peer(&cfg, PEER_OPENSSL, aes, &o);
    ok = o.server_rc == IOTLS_ERR_HANDSHAKE_FAILURE &&
         o.alert_sent == IOTLS_ALERT_HANDSHAKE_FAILURE && strstr(o.log, "handshake failure");
    CHECK(ok);
    dump_on_failure("no common suite", &o, ok);
    config_free(&cfg);
}

static struct iotls_config g_rsa_cfg;
static int g_sni_calls;
static char g_sni_name[64];

static const iotls_config *sni_pick(void *arg, const char *name)
{
    (void)arg;
    g_sni_calls++;
    snprintf(g_sni_name, sizeof g_sni_name, "%s", name);
    return strcmp(name, "rsa.localhost") == 0 ? &g_rsa_cfg : NULL;
}

static void test_openssl_keys_and_sni(void)
{
    static outcome o;
    struct iotls_config cfg;
    config_init(&cfg, "srv384");
    const char *plain[] = {"-tls1_3", NULL};
    run_peer(&cfg, PEER_OPENSSL, plain, &o);
    int ok =
        o.server_rc == IOTLS_OK && o.echoed && o.own_sig_scheme == IOTLS_SIG_ECDSA_SECP384R1_SHA384;
    CHECK(ok);
    dump_on_failure("P-384 key", &o, ok);
    config_free(&cfg);

    config_init(&cfg, "srvrsa");
    run_peer(&cfg, PEER_OPENSSL, plain, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.own_sig_scheme == IOTLS_SIG_RSA_PSS_RSAE_SHA256 &&
         strstr(o.log, "RSA-PSS");
    CHECK(ok);
    dump_on_failure("RSA key", &o, ok);
    /* The client accepts only ECDSA: nothing we can sign with. */
    const char *ecdsa_only[] = {"-tls1_3", "-sigalgs", "ECDSA+SHA256:ECDSA+SHA384", NULL};
    run_peer(&cfg, PEER_OPENSSL, ecdsa_only, &o);
    ok = o.server_rc == IOTLS_ERR_HANDSHAKE_FAILURE;
    CHECK(ok);
    dump_on_failure("no common signature scheme", &o, ok);
    config_free(&cfg);

    /* SNI: the callback swaps in the RSA certificate for one name. */
    config_init(&cfg, "srv256");
    config_init(&g_rsa_cfg, "srvrsa");
    cfg.sni_cb = sni_pick;
    const char *sni_rsa[] = {"-tls1_3", "-servername", "rsa.localhost", NULL};
    g_sni_calls = 0;
    run_peer(&cfg, PEER_OPENSSL, sni_rsa, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && g_sni_calls == 1 &&
         strcmp(o.server_name, "rsa.localhost") == 0 && strcmp(g_sni_name, "rsa.localhost") == 0 &&
         o.own_sig_scheme == IOTLS_SIG_RSA_PSS_RSAE_SHA256;
    CHECK(ok);
    dump_on_failure("SNI picks RSA", &o, ok);
    const char *sni_other[] = {"-tls1_3", "-servername", "localhost", NULL};
    g_sni_calls = 0;
    run_peer(&cfg, PEER_OPENSSL, sni_other, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && g_sni_calls == 1 &&
         strcmp(o.server_name, "localhost") == 0 &&
         o.own_sig_scheme == IOTLS_SIG_ECDSA_SECP256R1_SHA256;
    CHECK(ok);
    dump_on_failure("SNI keeps default", &o, ok);
    config_free(&g_rsa_cfg);
    config_free(&cfg);
}

static void test_gnutls(void)
{
    static outcome o;
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    const char *plain[] = {"--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL};
    run_peer(&cfg, PEER_GNUTLS, plain, &o);
    int ok = o.server_rc == IOTLS_OK && o.echoed && o.group == IOTLS_GROUP_X25519;
    CHECK(ok);
    dump_on_failure("gnutls", &o, ok);

    /* gnutls sends shares for X25519 (and maybe P-256); we want P-384. */
    cfg.groups[0] = IOTLS_GROUP_SECP384R1;
    cfg.group_count = 1;
    cfg.suites[0] = IOTLS_TLS_AES_256_GCM_SHA384;
    cfg.suite_count = 1;
    const char *hrr[] = {"--priority",
                         "NORMAL:-VERS-ALL:+VERS-TLS1.3:-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:"
                         "+GROUP-SECP384R1",
                         NULL};
    run_peer(&cfg, PEER_GNUTLS, hrr, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.hrr && o.group == IOTLS_GROUP_SECP384R1;
    CHECK(ok);
    dump_on_failure("gnutls HRR", &o, ok);

    cfg.groups[0] = IOTLS_GROUP_X25519;
    set_alpn(&cfg, "h2", "http/1.1");
    const char *alpn[] = {
        "--priority", "NORMAL:-VERS-ALL:+VERS-TLS1.3", "--alpn", "http/1.1", "--alpn", "h2", NULL};
    run_peer(&cfg, PEER_GNUTLS, alpn, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && strcmp(o.alpn, "h2") == 0 &&
         strstr(o.log, "Application protocol: h2");
    CHECK(ok);
    dump_on_failure("gnutls ALPN", &o, ok);
    cfg.alpn_len = 0;

    cfg.suites[0] = IOTLS_TLS_CHACHA20_POLY1305_SHA256;
    cfg.verify_client = IOTLS_VERIFY_CLIENT_REQUIRED;
    const char *mutual[] = {"--priority",
                            "NORMAL:-VERS-ALL:+VERS-TLS1.3",
                            "--x509certfile",
                            path_of(4, "cli.pem"),
                            "--x509keyfile",
                            path_of(5, "cli.key"),
                            NULL};
    run_peer(&cfg, PEER_GNUTLS, mutual, &o);
    ok = o.server_rc == IOTLS_OK && o.echoed && o.client_auth &&
         o.suite == IOTLS_TLS_CHACHA20_POLY1305_SHA256;
    CHECK(ok);
    dump_on_failure("gnutls client auth", &o, ok);
    config_free(&cfg);
}

/* ---------------- in memory: hand-built ClientHellos ---------------- */

typedef struct {
    uint16_t legacy_version;
    uint8_t compression[4];
    size_t compression_len;
    size_t session_id_len;
    const uint16_t *suites;
    size_t suite_count;
    int versions;           /* 0: no supported_versions, 1: TLS 1.3, 2: TLS 1.2 only */
    const uint16_t *groups; /* NULL: no supported_groups */
    size_t group_count;
    const uint16_t *share_groups; /* key shares to send */
    size_t share_count;
    int no_key_share; /* omit the extension */
    int no_sig_algs;
    int early_data;
    const uint8_t *cookie;
    size_t cookie_len;
    uint8_t random_byte;
    int psk_modes;      /* psk_key_exchange_modes: bit 0 psk_ke, bit 1 psk_dhe_ke */
    const char *psk_id; /* an external PSK offered (SHA-256), with psk_key */
    const uint8_t *psk_key;
    size_t psk_key_len;
    size_t unknown_exts; /* this many extensions of unknown types first */
    int repeat_versions; /* supported_versions again, last */
} ch_spec;

static const uint16_t k_suites[] = {IOTLS_TLS_AES_128_GCM_SHA256, IOTLS_TLS_AES_256_GCM_SHA384};
static const uint16_t k_groups[] = {IOTLS_GROUP_X25519, IOTLS_GROUP_SECP256R1};
static const uint16_t k_x25519[] = {IOTLS_GROUP_X25519};
static const uint16_t k_p256[] = {IOTLS_GROUP_SECP256R1};

static ch_spec spec_default(void)
{
    ch_spec s;
    memset(&s, 0, sizeof s);
    s.legacy_version = 0x0303;
    s.compression_len = 1;
    s.session_id_len = 32;
    s.suites = k_suites;
    s.suite_count = 2;
    s.versions = 1;
    s.groups = k_groups;
    s.group_count = 2;
    s.share_groups = k_x25519;
    s.share_count = 1;
    s.random_byte = 0x11;
    return s;
}

static void ext_begin(iotls_writer *w, uint16_t type, size_t *mark)
{
    iotls__wr_u16(w, type);
    *mark = iotls__wr_vec_begin(w, 2);
}

/* A whole plaintext handshake record holding the ClientHello. */
static size_t build_client_hello(const ch_spec *s, uint8_t *out, size_t cap)
{
    iotls_writer w;
    iotls__wr_init(&w, out, cap);
    iotls__wr_u8(&w, IOTLS_CT_HANDSHAKE);
    iotls__wr_u16(&w, 0x0301);
    size_t rec = iotls__wr_vec_begin(&w, 2);
    iotls__wr_u8(&w, IOTLS_HS_CLIENT_HELLO);
    size_t msg = iotls__wr_vec_begin(&w, 3);
    iotls__wr_u16(&w, s->legacy_version);
    for (int i = 0; i < 32; i++)
        iotls__wr_u8(&w, s->random_byte);
    size_t v = iotls__wr_vec_begin(&w, 1);
    for (size_t i = 0; i < s->session_id_len; i++)
        iotls__wr_u8(&w, 0xA0);
    iotls__wr_vec_end(&w, v, 1);
    v = iotls__wr_vec_begin(&w, 2);
    for (size_t i = 0; i < s->suite_count; i++)
        iotls__wr_u16(&w, s->suites[i]);
    iotls__wr_vec_end(&w, v, 2);
    v = iotls__wr_vec_begin(&w, 1);
    iotls__wr_bytes(&w, s->compression, s->compression_len);
    iotls__wr_vec_end(&w, v, 1);

    size_t exts = iotls__wr_vec_begin(&w, 2);
    size_t e, l;
    uint32_t x = 1;
    for (size_t i = 0; i < s->unknown_exts; i++) {
        /* Half empty with distinct types, half with 0..7 bytes of payload
         * and types that repeat. */
        x = x * 1103515245u + 12345u;
        size_t len = i % 2 ? (x >> 16) % 8 : 0;
        ext_begin(&w, (uint16_t)(i % 2 ? 0xfa00 + (x >> 24) % 5 : 0x8000 + i), &e);
        for (size_t j = 0; j < len; j++)
            iotls__wr_u8(&w, (uint8_t)(x >> j));
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->versions) {
        ext_begin(&w, IOTLS_EXT_SUPPORTED_VERSIONS, &e);
        l = iotls__wr_vec_begin(&w, 1);
        if (s->versions == 1)
            iotls__wr_u16(&w, 0x0304);
        iotls__wr_u16(&w, 0x0303);
        iotls__wr_vec_end(&w, l, 1);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->groups) {
        ext_begin(&w, IOTLS_EXT_SUPPORTED_GROUPS, &e);
        l = iotls__wr_vec_begin(&w, 2);
        for (size_t i = 0; i < s->group_count; i++)
            iotls__wr_u16(&w, s->groups[i]);
        iotls__wr_vec_end(&w, l, 2);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (!s->no_sig_algs) {
        ext_begin(&w, IOTLS_EXT_SIGNATURE_ALGORITHMS, &e);
        l = iotls__wr_vec_begin(&w, 2);
        iotls__wr_u16(&w, IOTLS_SIG_ECDSA_SECP256R1_SHA256);
        iotls__wr_u16(&w, IOTLS_SIG_RSA_PSS_RSAE_SHA256);
        iotls__wr_vec_end(&w, l, 2);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->early_data) {
        ext_begin(&w, IOTLS_EXT_EARLY_DATA, &e);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->cookie) {
        ext_begin(&w, IOTLS_EXT_COOKIE, &e);
        l = iotls__wr_vec_begin(&w, 2);
        iotls__wr_bytes(&w, s->cookie, s->cookie_len);
        iotls__wr_vec_end(&w, l, 2);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (!s->no_key_share) {
        ext_begin(&w, IOTLS_EXT_KEY_SHARE, &e);
        l = iotls__wr_vec_begin(&w, 2);
        for (size_t i = 0; i < s->share_count; i++) {
            iotls_kex_ctx kex;
            memset(&kex, 0, sizeof kex);
            uint8_t pub[IOTLS_MAX_KEX_PUBLIC_LEN];
            size_t pub_len = 0;
            CHECK_OK(iotls__kex_generate(&kex, s->share_groups[i], pub, sizeof pub, &pub_len));
            iotls__kex_free(&kex);
            iotls__wr_u16(&w, s->share_groups[i]);
            size_t k = iotls__wr_vec_begin(&w, 2);
            iotls__wr_bytes(&w, pub, pub_len);
            iotls__wr_vec_end(&w, k, 2);
        }
        iotls__wr_vec_end(&w, l, 2);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->repeat_versions) {
        ext_begin(&w, IOTLS_EXT_SUPPORTED_VERSIONS, &e);
        l = iotls__wr_vec_begin(&w, 1);
        iotls__wr_u16(&w, 0x0304);
        iotls__wr_vec_end(&w, l, 1);
        iotls__wr_vec_end(&w, e, 2);
    }
    if (s->psk_modes) {
        ext_begin(&w, IOTLS_EXT_PSK_KEY_EXCHANGE_MODES, &e);
        l = iotls__wr_vec_begin(&w, 1);
        if (s->psk_modes & 2)
            iotls__wr_u8(&w, 1);
        if (s->psk_modes & 1)
            iotls__wr_u8(&w, 0);
        iotls__wr_vec_end(&w, l, 1);
        iotls__wr_vec_end(&w, e, 2);
    }
    size_t binders_at = 0, binder_at = 0;
    if (s->psk_id) {
        ext_begin(&w, IOTLS_EXT_PRE_SHARED_KEY, &e);
        l = iotls__wr_vec_begin(&w, 2);
        size_t id = iotls__wr_vec_begin(&w, 2);
        iotls__wr_bytes(&w, s->psk_id, strlen(s->psk_id));
        iotls__wr_vec_end(&w, id, 2);
        iotls__wr_u32(&w, 0); /* obfuscated_ticket_age: 0 for an external PSK */
        iotls__wr_vec_end(&w, l, 2);
        binders_at = w.len;
        l = iotls__wr_vec_begin(&w, 2);
        iotls__wr_u8(&w, 32);
        binder_at = w.len;
        iotls__wr_zeros(&w, 32);
        iotls__wr_vec_end(&w, l, 2);
        iotls__wr_vec_end(&w, e, 2);
    }
    iotls__wr_vec_end(&w, exts, 2);
    iotls__wr_vec_end(&w, msg, 3);
    iotls__wr_vec_end(&w, rec, 2);
    CHECK_OK(iotls__wr_error(&w));
    if (s->psk_id) {
        /* RFC 8446 4.2.11.2: HMAC over the ClientHello up to the binders,
         * with the binder key of the external PSK's early secret. */
        const uint8_t *m = out + 5;
        uint8_t hash[32], key[32];
        iotls_key_schedule ks;
        memset(&ks, 0, sizeof ks);
        CHECK_OK(iotls__hash(IOTLS_HASH_SHA256, m, binders_at - 5, hash));
        CHECK_OK(iotls__ks_init(&ks, IOTLS_HASH_SHA256, s->psk_key, s->psk_key_len));
        CHECK_OK(iotls__ks_binder_key(&ks, 1, key));
        CHECK_OK(iotls__finished_verify_data(IOTLS_HASH_SHA256, key, hash, out + binder_at));
        iotls__ks_wipe(&ks);
    }
    return w.len;
}

/* Feeds one ClientHello record; returns the engine's result. */
static int feed(iotls_conn *c, const ch_spec *s)
{
    static uint8_t rec[IOTLS_RECORD_HEADER_LEN + 16384];
    size_t len = build_client_hello(s, rec, sizeof rec);
    size_t used = 0;
    return iotls_conn_input(c, rec, len, &used);
}

/* The first record of our output must be a plaintext alert with desc. */
static int output_is_alert(iotls_conn *c, int desc)
{
    size_t n;
    const uint8_t *p = iotls_conn_output(c, &n);
    return p && n == 7 && p[0] == IOTLS_CT_ALERT && p[5] == 2 && p[6] == desc;
}

static void expect_refusal(const struct iotls_config *cfg, const ch_spec *s, int want_rc,
                           int want_alert, const char *what)
{
    iotls_conn *c = server_new(cfg);
    CHECK(c != NULL);
    if (!c)
        return;
    int rc = feed(c, s);
    CHECK_RC(rc, want_rc);
    int alert_ok = output_is_alert(c, want_alert);
    CHECK(alert_ok);
    if (rc != want_rc || !alert_ok)
        fprintf(stderr, "  (case: %s)\n", what);
    tl_conn_free(c);
}

static void test_client_hello_refusals(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    ch_spec s;

    s = spec_default();
    s.versions = 0; /* a TLS 1.2 ClientHello */
    expect_refusal(&cfg, &s, IOTLS_ERR_PROTOCOL_VERSION, IOTLS_ALERT_PROTOCOL_VERSION, "no sv");
    s = spec_default();
    s.versions = 2; /* supported_versions without TLS 1.3 */
    expect_refusal(&cfg, &s, IOTLS_ERR_PROTOCOL_VERSION, IOTLS_ALERT_PROTOCOL_VERSION, "sv 1.2");
    s = spec_default();
    s.legacy_version = 0x0300; /* RFC 8446 D.5 */
    expect_refusal(&cfg, &s, IOTLS_ERR_PROTOCOL_VERSION, IOTLS_ALERT_PROTOCOL_VERSION, "ssl3");
    s = spec_default();
    s.legacy_version = 0x0301;
    expect_refusal(&cfg, &s, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                   "legacy 0x0301");
    s = spec_default();
    s.compression[0] = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                   "compression 1");
    s = spec_default();
    s.compression_len = 2; /* {0, 0}: not exactly one null method */
    expect_refusal(&cfg, &s, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                   "compression twice");
    s = spec_default();
    s.no_sig_algs = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION,
                   "no signature_algorithms");
    s = spec_default();
    s.no_key_share = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION,
                   "no key_share");
    s = spec_default();
    s.groups = NULL;
    expect_refusal(&cfg, &s, IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION,
                   "no supported_groups");
    s = spec_default();
    s.groups = k_p256; /* share for X25519, which it does not list */
    s.group_count = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                   "share outside supported_groups");
    static const uint16_t chacha[] = {IOTLS_TLS_CHACHA20_POLY1305_SHA256};
    cfg.suites[0] = IOTLS_TLS_CHACHA20_POLY1305_SHA256;
    cfg.suite_count = 1;
    s = spec_default();
    expect_refusal(&cfg, &s, IOTLS_ERR_HANDSHAKE_FAILURE, IOTLS_ALERT_HANDSHAKE_FAILURE,
                   "no common suite");
    s.suites = chacha;
    s.suite_count = 1;
    cfg.groups[0] = IOTLS_GROUP_SECP384R1;
    cfg.group_count = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_HANDSHAKE_FAILURE, IOTLS_ALERT_HANDSHAKE_FAILURE,
                   "no common group");
    config_free(&cfg);

    /* A message out of order: Finished first. */
    config_init(&cfg, "srv256");
    iotls_conn *c = server_new(&cfg);
    CHECK(c != NULL);
    if (c) {
        uint8_t fin[] = {IOTLS_CT_HANDSHAKE, 3, 3, 0, 36, IOTLS_HS_FINISHED, 0, 0, 32};
        uint8_t rec[sizeof fin + 32];
        memcpy(rec, fin, sizeof fin);
        memset(rec + sizeof fin, 0, 32);
        size_t used = 0;
        CHECK_RC(iotls_conn_input(c, rec, sizeof rec, &used), IOTLS_ERR_UNEXPECTED_MESSAGE);
        CHECK(output_is_alert(c, IOTLS_ALERT_UNEXPECTED_MESSAGE));
        tl_conn_free(c);
    }
    config_free(&cfg);
}

/* Parses the plaintext handshake message at the start of a record. */
static int first_server_hello(iotls_conn *c, iotls_server_hello *sh, size_t *rec_len)
{
    size_t n;
    const uint8_t *p = iotls_conn_output(c, &n);
    if (!p || n < 9 || p[0] != IOTLS_CT_HANDSHAKE || p[5] != IOTLS_HS_SERVER_HELLO)
        return -1;
    size_t len = ((size_t)p[3] << 8) | p[4];
    *rec_len = 5 + len;
    return iotls__server_hello_parse(p + 9, len - 4, sh);
}

static void test_server_hello_in_memory(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    ch_spec s = spec_default();
    iotls_conn *c = server_new(&cfg);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK_OK(feed(c, &s));
    iotls_server_hello sh;
    size_t rec_len = 0;
    CHECK_OK(first_server_hello(c, &sh, &rec_len));
    CHECK(!sh.is_hrr);
    CHECK(sh.cipher_suite == IOTLS_TLS_AES_128_GCM_SHA256);
    CHECK(sh.key_share_group == IOTLS_GROUP_X25519 && sh.key_share.len == 32);
    CHECK(sh.selected_version == 0x0304);
    CHECK(sh.session_id_echo.len == 32 && sh.session_id_echo.p[0] == 0xA0);
    size_t n;
    const uint8_t *out = iotls_conn_output(c, &n);
    /* Then the CCS (session id given), then protected records. */
    CHECK(n > rec_len + 6 && out[rec_len] == IOTLS_CT_CHANGE_CIPHER_SPEC &&
          out[rec_len + 6] == IOTLS_CT_APPLICATION_DATA);
    CHECK(c->hs.sv.state == IOTLS_SV_WAIT_FINISHED);
    CHECK(c->rd_epoch == IOTLS_EPOCH_HANDSHAKE && c->wr_epoch == IOTLS_EPOCH_APPLICATION);
    tl_conn_free(c);

    /* No session id: no CCS; early_data offered: its records get skipped. */
    s.session_id_len = 0;
    s.early_data = 1;
    c = server_new(&cfg);
    CHECK_OK(feed(c, &s));
    CHECK_OK(first_server_hello(c, &sh, &rec_len));
    out = iotls_conn_output(c, &n);
    CHECK(out[rec_len] == IOTLS_CT_APPLICATION_DATA);
    CHECK(c->hs.skip_early_data == 1 && c->hs.early_skip_budget > 0);
    /* A 0-RTT record (undecryptable with the handshake keys) is skipped. */
    iotls_conn_output_consume(c, n);
    uint8_t early[5 + 100];
    memset(early, 0x5c, sizeof early);
    early[0] = IOTLS_CT_APPLICATION_DATA;
    early[1] = 3;
    early[2] = 3;
    early[3] = 0;
    early[4] = 100;
    size_t used = 0;
    CHECK_OK(iotls_conn_input(c, early, sizeof early, &used));
    CHECK(used == sizeof early && c->hs.sv.state == IOTLS_SV_WAIT_FINISHED);
    CHECK(iotls_conn_output(c, &n) == NULL);
    tl_conn_free(c);

    /* Our preference wins among the client's shares. */
    static const uint16_t both[] = {IOTLS_GROUP_X25519, IOTLS_GROUP_SECP256R1};
    cfg.groups[0] = IOTLS_GROUP_SECP256R1;
    cfg.groups[1] = IOTLS_GROUP_X25519;
    cfg.group_count = 2;
    s = spec_default();
    s.share_groups = both;
    s.share_count = 2;
    c = server_new(&cfg);
    CHECK_OK(feed(c, &s));
    CHECK_OK(first_server_hello(c, &sh, &rec_len));
    CHECK(sh.key_share_group == IOTLS_GROUP_SECP256R1 && sh.key_share.len == 65);
    tl_conn_free(c);
    config_free(&cfg);
}

/* Extensions of unknown types are ignored, however many (RFC 8446 4.2):
 * 2,000 of them in a 12 KB ClientHello. A known type repeated after them
 * is still refused. */
static void test_many_unknown_extensions(void)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    ch_spec s = spec_default();
    s.unknown_exts = 2000;
    iotls_conn *c = server_new(&cfg);
    CHECK(c != NULL);
    if (c) {
        CHECK_OK(feed(c, &s));
        iotls_server_hello sh;
        size_t rec_len = 0;
        CHECK_OK(first_server_hello(c, &sh, &rec_len));
        CHECK(sh.key_share_group == IOTLS_GROUP_X25519);
        tl_conn_free(c);
    }
    s.repeat_versions = 1;
    expect_refusal(&cfg, &s, IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER,
                   "2,000 unknown extensions, supported_versions twice");
    config_free(&cfg);
}

/* A client without ECC (RFC 8446 4.2.3, 9.2): an external PSK with
 * psk_ke, and no key_share, supported_groups or signature_algorithms.
 * signature_algorithms matters only when we authenticate with a
 * certificate, so the hello is accepted; so is psk_dhe_ke without it. A
 * PSK we do not accept means a certificate: then missing_extension. */
static void test_psk_only_client_hello(void)
{
    static const uint8_t psk[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
                                    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31};
    static const char id[] = "sensor-7";
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    CHECK_OK(iotls_config_set_psk(&cfg, (const uint8_t *)id, strlen(id), psk, sizeof psk,
                                  IOTLS_TLS_AES_128_GCM_SHA256));
    iotls_config_set_psk_ke(&cfg, 1);

    for (int mode = 1; mode <= 2; mode++) {
        ch_spec s = spec_default();
        s.no_sig_algs = 1;
        s.psk_modes = mode;
        s.psk_id = id;
        s.psk_key = psk;
        s.psk_key_len = sizeof psk;
        if (mode == 1) { /* psk_ke: nothing of (EC)DHE at all */
            s.groups = NULL;
            s.no_key_share = 1;
        }
        iotls_conn *c = server_new(&cfg);
        CHECK(c != NULL);
        if (!c)
            continue;
        int rc = feed(c, &s);
        CHECK_OK(rc);
        iotls_server_hello sh;
        size_t rec_len = 0;
        CHECK_OK(first_server_hello(c, &sh, &rec_len));
        CHECK(sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY));
        CHECK(sh.selected_identity == 0);
        CHECK(!!(sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)) == (mode == 2));
        if (rc != IOTLS_OK)
            fprintf(stderr, "  (psk mode %d without signature_algorithms: %d)\n", mode, rc);
        tl_conn_free(c);
    }

    /* The same hellos naming an identity we do not know: a full handshake,
     * with our certificate, needs signature_algorithms. */
    ch_spec s = spec_default();
    s.no_sig_algs = 1;
    s.psk_modes = 3;
    s.psk_id = "someone-else";
    s.psk_key = psk;
    s.psk_key_len = sizeof psk;
    expect_refusal(&cfg, &s, IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION,
                   "unknown PSK, no signature_algorithms");
    /* Without a PSK offer, signature_algorithms is required at once. */
    s.psk_modes = 0;
    s.psk_id = NULL;
    expect_refusal(&cfg, &s, IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION,
                   "no PSK, no signature_algorithms");
    config_free(&cfg);
}

/* Starts a connection that answered the first ClientHello (X25519 share
 * only) with a HelloRetryRequest for P-256; copies the cookie out, which
 * is there only when the config asks for one (cfg->hrr_cookie). */
static iotls_conn *start_hrr(const struct iotls_config *cfg, const ch_spec *s1, uint8_t *cookie,
                             size_t *cookie_len)
{
    iotls_conn *c = server_new(cfg);
    if (!c)
        return NULL;
    CHECK_OK(feed(c, s1));
    iotls_server_hello sh;
    size_t rec_len = 0;
    CHECK_OK(first_server_hello(c, &sh, &rec_len));
    CHECK(sh.is_hrr && sh.key_share_group == IOTLS_GROUP_SECP256R1 && sh.cookie.len <= 128);
    CHECK(cfg->hrr_cookie ? sh.cookie.len > 0 : sh.cookie.len == 0);
    CHECK(c->hs.sv.state == IOTLS_SV_WAIT_CH2);
    *cookie_len = sh.cookie.len <= 128 ? sh.cookie.len : 0;
    if (*cookie_len > 0) /* no cookie: sh.cookie.p is NULL */
        memcpy(cookie, sh.cookie.p, *cookie_len);
    size_t n;
    iotls_conn_output(c, &n);
    iotls_conn_output_consume(c, n);
    return c;
}

/* The second ClientHello is checked against the first, whether the
 * connection kept what it needs (the default) or the cookie brings it. */
static void test_hrr_checks(int with_cookie)
{
    struct iotls_config cfg;
    config_init(&cfg, "srv256");
    cfg.groups[0] = IOTLS_GROUP_SECP256R1;
    cfg.group_count = 1;
    /* The public switch: it also makes the config's cookie key. */
    CHECK_OK(iotls_config_set_hrr_cookie(&cfg, with_cookie));
    CHECK(cfg.has_cookie_key == with_cookie);
    static const uint8_t stray_cookie[] = {1, 2, 3, 4, 5, 6, 7, 8};
    ch_spec s1 = spec_default();
    uint8_t cookie[128];
    size_t cookie_len = 0;

    /* The conforming second ClientHello is answered with a ServerHello. */
    iotls_conn *c = start_hrr(&cfg, &s1, cookie, &cookie_len);
    ch_spec s2 = s1;
    s2.share_groups = k_p256;
    s2.cookie = cookie_len > 0 ? cookie : NULL;
    s2.cookie_len = cookie_len;
    CHECK_OK(feed(c, &s2));
    iotls_server_hello sh;
    size_t rec_len;
    CHECK_OK(first_server_hello(c, &sh, &rec_len));
    CHECK(!sh.is_hrr && sh.key_share_group == IOTLS_GROUP_SECP256R1 && c->hrr == 1);
    CHECK(c->hs.sv.state == IOTLS_SV_WAIT_FINISHED);
    tl_conn_free(c);

    static const struct {
        const char *what;
        int mutation;
        int cookie_mode; /* 1: with a cookie only, 0: without only, -1: both */
    } cases[] = {
        {"damaged cookie", 1, 1},
        {"no cookie", 2, 1},
        {"a cookie we did not send", 10, 0},
        {"share for the wrong group", 3, -1},
        {"two shares", 4, -1},
        {"suites changed", 5, -1},
        {"early_data in CH2", 6, -1},
        {"random changed", 7, -1},
        {"a second HRR wanted", 8, -1},
        {"session id changed", 9, -1},
        {"supported_groups changed", 11, -1},
    };
    static const uint16_t p256_only[] = {IOTLS_GROUP_SECP256R1};
    static const uint16_t two[] = {IOTLS_GROUP_SECP256R1, IOTLS_GROUP_X25519};
    static const uint16_t one_suite[] = {IOTLS_TLS_AES_128_GCM_SHA256};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cases[i].cookie_mode != -1 && cases[i].cookie_mode != with_cookie)
            continue;
        c = start_hrr(&cfg, &s1, cookie, &cookie_len);
        CHECK(c != NULL);
        if (!c)
            continue;
        s2 = s1;
        s2.share_groups = k_p256;
        s2.cookie = cookie_len > 0 ? cookie : NULL;
        s2.cookie_len = cookie_len;
        switch (cases[i].mutation) {
        case 1:
            cookie[cookie_len / 2] ^= 0x01;
            break;
        case 2:
            s2.cookie = NULL;
            break;
        case 3:
            s2.share_groups = k_x25519;
            break;
        case 4:
            s2.share_groups = two;
            s2.share_count = 2;
            break;
        case 5:
            s2.suites = one_suite;
            s2.suite_count = 1;
            break;
        case 6:
            s2.early_data = 1;
            break;
        case 7:
            s2.random_byte = 0x22;
            break;
        case 8:
            s2.share_count = 0;
            break;
        case 9:
            s2.session_id_len = 16;
            break;
        case 10:
            s2.cookie = stray_cookie;
            s2.cookie_len = sizeof stray_cookie;
            break;
        case 11:
            s2.groups = p256_only;
            s2.group_count = 1;
            break;
        }
        int rc = feed(c, &s2);
        CHECK_RC(rc, IOTLS_ERR_ILLEGAL_PARAMETER);
        int alert_ok = output_is_alert(c, IOTLS_ALERT_ILLEGAL_PARAMETER);
        CHECK(alert_ok);
        if (rc != IOTLS_ERR_ILLEGAL_PARAMETER || !alert_ok)
            fprintf(stderr, "  (case: %s, %s)\n", cases[i].what,
                    with_cookie ? "cookie" : "no cookie");
        tl_conn_free(c);
    }
    config_free(&cfg);
}

/* ---------------- in memory: our client against our server ---------------- */

static void test_pair(void)
{
    struct iotls_config scfg, ccfg;
    config_init(&scfg, "srv256");
    config_init(&ccfg, "cli");
    scfg.groups[0] = IOTLS_GROUP_SECP384R1; /* the client's share is X25519: HRR */
    scfg.group_count = 1;
    scfg.verify_client = IOTLS_VERIFY_CLIENT_REQUIRED;
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        CHECK(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
        CHECK_OK(iotls_conn_error(sv));
        CHECK_OK(iotls_conn_error(cl));
        CHECK(sv->hrr && cl->hrr && sv->group == IOTLS_GROUP_SECP384R1 && sv->client_auth);
        size_t n = 0;
        CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"hello", 5, &n));
        CHECK(tl_shuttle(cl, &to_sv, sv, NULL) > 0);
        uint8_t buf[16];
        CHECK_OK(iotls_conn_read(sv, buf, sizeof buf, &n));
        CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
}

/* Length of the Certificate message that carries chain (RFC 8446 4.4.2:
 * header, empty context, list length, each entry with no extensions). */
static size_t certificate_msg_len(const iotls_x509 *chain)
{
    size_t len = 4 + 1 + 3;
    for (size_t i = 0; i < iotls__x509_count(chain); i++) {
        const uint8_t *der = NULL;
        size_t der_len = 0;
        CHECK_OK(iotls__x509_der(chain, i, &der, &der_len));
        len += 3 + der_len + 2;
    }
    return len;
}

/* A configuration presenting a chain: cert_name's certificate and the CA,
 * with key_name's key, at record size record. */
static void config_with_chain(struct iotls_config *cfg, const char *key_name, const char *cert_name,
                              size_t record)
{
    char name[64];
    config_init(cfg, key_name);
    iotls__x509_free(&cfg->cert);
    iotls__x509_init(&cfg->cert);
    snprintf(name, sizeof name, "%s.pem", cert_name);
    CHECK_OK(iotls__x509_load_file(&cfg->cert, path_of(0, name)));
    CHECK_OK(iotls__x509_load_file(&cfg->cert, path_of(0, "ca.pem")));
    CHECK_OK(iotls_config_set_record_size(cfg, record));
}

/* One in-memory handshake, mutual authentication, each side presenting a
 * chain (leaf + CA): the small certificates or those of about 14.9 KB.
 * swap_chain: the server's (1) or the client's (2) configuration gets the
 * large chain after its connection was made (for the small one), what a
 * configuration in use must not do: that side's flight does not fit and
 * fails with IOTLS_ERR_FLIGHT_TOO_LARGE, internal_error to the peer.
 * Returns the failing side's error, or IOTLS_OK when both completed. */
static int pair_with_chains(int large, size_t record, int swap_chain)
{
    struct iotls_config scfg, ccfg;
    config_with_chain(&scfg, "srv256", large ? "srvbig" : "srv256", record);
    config_with_chain(&ccfg, "cli", large ? "clibig" : "cli", record);
    scfg.verify_client = IOTLS_VERIFY_CLIENT_REQUIRED;
    scfg.ticket_count = 0;
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    int result = IOTLS_ERR_INTERNAL;
    if (swap_chain) {
        struct iotls_config *swapped = swap_chain == 1 ? &scfg : &ccfg;
        iotls__x509_free(&swapped->cert);
        iotls__x509_init(&swapped->cert);
        CHECK_OK(iotls__x509_load_file(&swapped->cert,
                                       path_of(0, swap_chain == 1 ? "srvbig.pem" : "clibig.pem")));
        CHECK_OK(iotls__x509_load_file(&swapped->cert, path_of(0, "ca.pem")));
    }
    if (sv && cl) {
        if (large) {
            /* Near the largest a peer takes: its reassembly buffer. */
            size_t sv_cert = certificate_msg_len(&scfg.cert);
            size_t cl_cert = certificate_msg_len(&ccfg.cert);
            CHECK(sv_cert > 15000 && sv_cert <= cl->reasm.max_msg);
            CHECK(cl_cert > 15000 && cl_cert <= sv->reasm.max_msg);
        }
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        if (swap_chain) {
            iotls_conn *failing = swap_chain == 1 ? sv : cl, *peer = swap_chain == 1 ? cl : sv;
            result = iotls_conn_error(failing);
            CHECK(!iotls_conn_handshake_done(failing));
            CHECK(failing->alert_sent == IOTLS_ALERT_INTERNAL_ERROR);
            /* The alert reaches the peer. */
            (void)tl_shuttle(failing, swap_chain == 1 ? &to_cl : &to_sv, peer, NULL);
            CHECK(peer->peer_alert == IOTLS_ALERT_INTERNAL_ERROR);
        } else {
            CHECK(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
            CHECK_OK(iotls_conn_error(sv));
            CHECK_OK(iotls_conn_error(cl));
            CHECK(sv->client_auth && cl->client_auth && cl->peer_cert_verified);
            size_t n = 0;
            CHECK_OK(iotls_conn_write(cl, (const uint8_t *)"hello", 5, &n));
            CHECK(tl_shuttle(cl, &to_sv, sv, NULL) > 0);
            uint8_t buf[16];
            CHECK_OK(iotls_conn_read(sv, buf, sizeof buf, &n));
            CHECK(n == 5 && memcmp(buf, "hello", 5) == 0);
            result = IOTLS_OK;
        }
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
    return result;
}

/* An SNI callback that presents the large chain for "localhost". */
static struct iotls_config g_big_cfg;
static const iotls_config *sni_pick_big(void *arg, const char *name)
{
    (void)arg;
    return strcmp(name, "localhost") == 0 ? &g_big_cfg : NULL;
}

/* A server with an SNI callback may present another configuration's
 * chain, unknown when its buffers are sized: its certificate room is
 * max_handshake. Its own chain is small; the chain the callback picks,
 * about 15.5 KB, still goes out whole at record size 1024. */
static void test_pair_sni_chain(void)
{
    struct iotls_config scfg, ccfg;
    config_with_chain(&scfg, "srv256", "srv256", 1024);
    config_with_chain(&g_big_cfg, "srv256", "srvbig", 1024);
    config_with_chain(&ccfg, "cli", "cli", 1024);
    size_t without = iotls_conn_buffers_size(&scfg);
    scfg.sni_cb = sni_pick_big;
    CHECK(iotls_conn_buffers_size(&scfg) > without + 12000);
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        CHECK(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
        CHECK_OK(iotls_conn_error(sv));
        CHECK(sv->cert_cfg == &g_big_cfg && cl->peer_cert_verified);
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
    config_free(&g_big_cfg);
}

/* An SNI callback that answers "localhost" with a configuration holding
 * no certificate: our misconfiguration, found in the ClientHello. */
static struct iotls_config g_certless_cfg;
static const iotls_config *sni_pick_certless(void *arg, const char *name)
{
    (void)arg;
    return strcmp(name, "localhost") == 0 ? &g_certless_cfg : NULL;
}

/* The server fails with IOTLS_ERR_CONFIG, and the client, which broke no
 * rule, still learns that the handshake is over: internal_error. */
static void test_pair_sni_certless(void)
{
    struct iotls_config scfg, ccfg;
    config_with_chain(&scfg, "srv256", "srv256", 16384);
    config_with_chain(&g_certless_cfg, "srv256", "srv256", 16384);
    g_certless_cfg.has_cert = 0;
    config_with_chain(&ccfg, "cli", "cli", 16384);
    scfg.sni_cb = sni_pick_certless;
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        CHECK_RC(iotls_conn_error(sv), IOTLS_ERR_CONFIG);
        CHECK(sv->cert_cfg == &g_certless_cfg);
        CHECK(sv->alert_sent == IOTLS_ALERT_INTERNAL_ERROR);
        (void)tl_shuttle(sv, &to_cl, cl, NULL);
        CHECK(!iotls_conn_handshake_done(cl));
        CHECK_RC(iotls_conn_error(cl), IOTLS_ERR_ALERT_RECEIVED);
        CHECK(cl->peer_alert == IOTLS_ALERT_INTERNAL_ERROR);
        /* The server's log says which configuration it was. */
        char detail[256];
        CHECK_OK(iotls_conn_error_detail(sv, detail, sizeof detail));
        CHECK(strstr(detail, "SNI callback") != NULL);
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
    config_free(&g_certless_cfg);
}

/* Our flight is sized from our chain, not from max_handshake: a server
 * and a client presenting chains near the largest a peer accepts complete
 * (their tx takes the flight sealed), at the default record size and at
 * 1024; the buffers grow with the chain (at record size 1024 the flight,
 * not one application record, sizes tx); and a chain larger than the
 * connection was sized for fails cleanly. */
static void test_pair_chain_sizes(void)
{
    CHECK_OK(pair_with_chains(0, 16384, 0));
    CHECK_OK(pair_with_chains(1, 16384, 0));
    CHECK_OK(pair_with_chains(0, 1024, 0));
    CHECK_OK(pair_with_chains(1, 1024, 0));

    struct iotls_config small, big, certless;
    config_with_chain(&small, "srv256", "srv256", 1024);
    config_with_chain(&big, "srv256", "srvbig", 1024);
    config_with_chain(&certless, "srv256", "srv256", 1024);
    certless.has_cert = 0;
    size_t small_len = iotls_conn_buffers_size(&small), big_len = iotls_conn_buffers_size(&big);
    /* rx (one 1024-byte record), reasm (max_handshake) and a tx that
     * holds the large chain's Certificate. */
    CHECK(small_len < big_len && big_len > 1024 + 16384 + certificate_msg_len(&big.cert));
    /* A small chain's flight is within the ClientHello's room, which every
     * configuration has: its certificate costs no buffer. */
    CHECK(small_len == iotls_conn_buffers_size(&certless));
    config_free(&small);
    config_free(&big);
    config_free(&certless);

    CHECK_RC(pair_with_chains(0, 1024, 1), IOTLS_ERR_FLIGHT_TOO_LARGE);
    CHECK_RC(pair_with_chains(0, 1024, 2), IOTLS_ERR_FLIGHT_TOO_LARGE);
}

/* Largest record (header included) in a stretch of wire bytes. */
static size_t largest_record(const uint8_t *p, size_t len)
{
    size_t max = 0;
    for (size_t off = 0; off + 5 <= len;) {
        size_t rec = 5 + (((size_t)p[off + 3] << 8) | p[off + 4]);
        if (rec > max)
            max = rec;
        off += rec;
    }
    return max;
}

/* record_size_limit between our client and server: each sends no record
 * over the other's limit, the buffers shrink with the configured size, and
 * a record over the limit is record_overflow. */
static void test_pair_record_size(size_t cl_size, size_t sv_size)
{
    struct iotls_config scfg, ccfg;
    config_init(&scfg, "srv256");
    config_init(&ccfg, "cli");
    CHECK_OK(iotls_config_set_record_size(&ccfg, cl_size));
    CHECK_OK(iotls_config_set_record_size(&scfg, sv_size));
    struct iotls_config full;
    config_init(&full, "cli");
    /* The receive buffer is what the record size allows, not 16 KiB. */
    CHECK(iotls_conn_size(&ccfg) + 16384 - cl_size - 256 < iotls_conn_size(&full) ||
          cl_size == 16384);
    config_free(&full);
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        CHECK(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
        size_t small = cl_size < sv_size ? cl_size : sv_size;
        CHECK(cl->max_record_out == (cl_size < 16384 ? small : 16384));
        CHECK(sv->max_record_out == small); /* its own size is also what it sends */
        /* iotls_info reports both directions as negotiated. */
        iotls_info ci, si;
        CHECK_OK(iotls_conn_info(cl, &ci));
        CHECK_OK(iotls_conn_info(sv, &si));
        CHECK(ci.record_size_in == cl_size && ci.record_size_out == cl->max_record_out);
        CHECK(si.record_size_in == sv_size && si.record_size_out == small);
        /* 10000 bytes from the server: records of at most the client's limit. */
        static uint8_t data[10000], got[10000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (uint8_t)(i * 7);
        size_t n = 0, total = 0, sent = 0;
        /* tx takes what its room allows (the flight's size or one record),
         * the rest after the transport took it. */
        for (int i = 0; i < 40 && total < sizeof data; i++) {
            if (sent < sizeof data) {
                CHECK_OK(iotls_conn_write(sv, data + sent, sizeof data - sent, &n));
                CHECK(n > 0);
                sent += n;
                size_t out_len;
                const uint8_t *out = iotls_conn_output(sv, &out_len);
                CHECK(out != NULL && largest_record(out, out_len) <= cl_size + 5 + 17);
            }
            (void)tl_shuttle(sv, &to_cl, cl, NULL);
            size_t r = 0;
            while (iotls_conn_read(cl, got + total, sizeof got - total, &r) == IOTLS_OK && r > 0)
                total += r;
        }
        CHECK(total == sizeof data && memcmp(got, data, sizeof data) == 0);
        if (cl_size < 16384) {
            /* A server that ignored the limit: record_overflow, alert sent. */
            sv->max_record_out = 16384;
            CHECK_OK(iotls_conn_write(sv, data, sizeof data, &n));
            int rc = IOTLS_OK;
            for (int i = 0; i < 10 && rc == IOTLS_OK; i++) {
                rc = tl_shuttle(sv, &to_cl, cl, NULL);
                rc = rc < 0 ? rc : IOTLS_OK;
                size_t r = 0;
                while (iotls_conn_read(cl, got, sizeof got, &r) == IOTLS_OK && r > 0)
                    ;
            }
            CHECK_RC(iotls_conn_error(cl), IOTLS_ERR_RECORD_OVERFLOW);
            CHECK(cl->alert_sent == IOTLS_ALERT_RECORD_OVERFLOW);
        }
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
}

/* A send record size apart from the record size: the client receives
 * records of 16 KiB (nothing announced) but sends records of at most
 * 4096 B, so its send buffer holds its flight or one such record, not a
 * 16 KiB one; the server's records to it are not limited. */
static void test_pair_send_record_size(void)
{
    struct iotls_config scfg, ccfg, full;
    config_init(&scfg, "srv256");
    config_init(&ccfg, "cli");
    config_init(&full, "cli");
    CHECK_RC(iotls_config_set_send_record_size(&ccfg, 511), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_send_record_size(&ccfg, 16385), IOTLS_ERR_CONFIG);
    CHECK_OK(iotls_config_set_send_record_size(&ccfg, 4096));
    /* rx and reasm as before; tx no longer one 16 KiB record but the
     * client's flight (its ClientHello's room, about 5.6 KB). */
    CHECK(iotls_conn_buffers_size(&ccfg) + 8192 < iotls_conn_buffers_size(&full));
    iotls_conn *sv = server_new(&scfg);
    iotls_conn *cl = tl_conn_new(&ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(sv != NULL && cl != NULL);
    if (sv && cl) {
        static tl_wire to_sv, to_cl;
        to_sv.len = to_cl.len = 0;
        CHECK_OK(iotls_conn_start(cl));
        tl_handshake(cl, &to_sv, sv, &to_cl);
        CHECK(iotls_conn_handshake_done(sv) && iotls_conn_handshake_done(cl));
        iotls_info ci, si;
        CHECK_OK(iotls_conn_info(cl, &ci));
        CHECK_OK(iotls_conn_info(sv, &si));
        CHECK(ci.record_size_in == 16384 && ci.record_size_out == 4096);
        CHECK(si.record_size_in == 16384 && si.record_size_out == 16384);
        /* 10000 bytes each way: the client's in records of at most 4096 B,
         * the server's in one record. */
        static uint8_t data[10000], got[10000];
        for (size_t i = 0; i < sizeof data; i++)
            data[i] = (uint8_t)(i * 13);
        for (int dir = 0; dir < 2; dir++) {
            iotls_conn *from = dir ? sv : cl, *to = dir ? cl : sv;
            tl_wire *wire = dir ? &to_cl : &to_sv;
            size_t n = 0, total = 0, sent = 0, largest = 0;
            for (int i = 0; i < 40 && total < sizeof data; i++) {
                if (sent < sizeof data) {
                    CHECK_OK(iotls_conn_write(from, data + sent, sizeof data - sent, &n));
                    CHECK(n > 0);
                    sent += n;
                    size_t out_len;
                    const uint8_t *out = iotls_conn_output(from, &out_len);
                    size_t rec = out ? largest_record(out, out_len) : 0;
                    largest = rec > largest ? rec : largest;
                }
                (void)tl_shuttle(from, wire, to, NULL);
                size_t r = 0;
                while (iotls_conn_read(to, got + total, sizeof got - total, &r) == IOTLS_OK &&
                       r > 0)
                    total += r;
            }
            CHECK(total == sizeof data && memcmp(got, data, sizeof data) == 0);
            CHECK(dir ? largest == 5 + sizeof data + 17 : largest <= 5 + 4096 + 17);
        }
    }
    tl_conn_free(sv);
    tl_conn_free(cl);
    config_free(&scfg);
    config_free(&ccfg);
    config_free(&full);
}

static void run_all(void)
{
    test_client_hello_refusals();
    test_psk_only_client_hello();
    test_many_unknown_extensions();
    test_server_hello_in_memory();
    test_hrr_checks(0);
    test_hrr_checks(1);
    test_pair();
    test_pair_chain_sizes();
    test_pair_sni_chain();
    test_pair_sni_certless();
    test_pair_send_record_size();
    test_pair_record_size(2048, 2048);
    test_pair_record_size(2048, 16384);
    test_pair_record_size(4096, 1024);
    test_pair_record_size(16384, 4096);

    test_openssl_suites_groups();
    test_openssl_hrr();
    test_openssl_client_auth();
    test_openssl_version_and_alpn();
    test_openssl_keys_and_sni();
    if (have_program("gnutls-cli"))
        test_gnutls();
    else
        fprintf(stderr, "gnutls-cli not installed: GnuTLS interop skipped\n");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-server-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (!have_program("openssl") || make_pki() != 0) {
        fprintf(stderr, "openssl command missing or failed: cannot make test certificates\n");
        CHECK(0);
    } else {
        run_all();
    }

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("server_engine");
}
