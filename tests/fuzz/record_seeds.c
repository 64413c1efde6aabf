/* Writes the seed corpora of fuzz_client and fuzz_server: our client and
 * our server run a handshake in memory (HelloRetryRequest too), exchange
 * application data, a requested KeyUpdate and close_notify; each
 * direction's bytes are saved as a seed for the fuzzer that plays the
 * receiving side. Both ends draw from the same per-role deterministic
 * generators as the fuzzers (fuzz_common.h), so the seeds stay valid
 * handshakes for them.
 *
 *   record_seeds tests/fuzz/corpus   (writes corpus/client/, server/ and session/)
 *
 * Rerun it when the handshake's wire format changes (a new extension, a
 * different flight layout), or the seeds stop reaching the deep states.
 *
 * By hand only (needs openssl and gnutls-bin, listens and connects on
 * 127.0.0.1, about a second per peer), the seeds from real peers:
 *
 *   record_seeds --interop tests/fuzz/corpus
 *
 * writes corpus/client/{openssl,gnutls}-chunks{0,1}.bin (what openssl
 * s_server -tls1_3 and gnutls-serv sent our client) and the same names in
 * corpus/server/ (what openssl s_client -tls1_3 and gnutls-cli sent our
 * server): handshake, NewSessionTickets, an HTTP exchange and
 * close_notify. Check a new seed with FUZZ_VERBOSE=1
 * build/tests/fuzz/fuzz_client_standalone FILE (handshake_done=1 error=0);
 * RECORD_VERBOSE=1 shows the peers' own output. Only the .bin files are
 * committed: the peers pick their own randomness, so each run differs. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "iotls/session.h"

typedef struct {
    uint8_t *buf;
    size_t len, cap;
} log_buf;

typedef struct {
    iotls_conn *c;
    fuzz_rng *rng;
    log_buf sent;     /* everything it sent, in order */
    size_t delivered; /* bytes of sent the peer has taken */
} end;

static void log_append(log_buf *l, const uint8_t *p, size_t n)
{
    if (l->len + n > l->cap) {
        l->cap = (l->len + n) * 2;
        l->buf = realloc(l->buf, l->cap);
        FUZZ_REQUIRE(l->buf != NULL);
    }
    memcpy(l->buf + l->len, p, n);
    l->len += n;
}

/* from's output onto its log, then as much of it as to takes. */
static int shuttle(end *from, end *to)
{
    size_t n = 0;
    const uint8_t *out;
    fuzz_rng_use(from->rng);
    while ((out = iotls_conn_output(from->c, &n)) != NULL && n > 0) {
        log_append(&from->sent, out, n);
        iotls_conn_output_consume(from->c, n);
    }
    fuzz_rng_use(to->rng);
    int progress = 0;
    while (from->delivered < from->sent.len) {
        size_t used = 0;
        int rc = iotls_conn_input(to->c, from->sent.buf + from->delivered,
                                  from->sent.len - from->delivered, &used);
        FUZZ_REQUIRE(rc == IOTLS_OK);
        from->delivered += used;
        if (used == 0)
            break;
        progress = 1;
    }
    return progress;
}

static void app_write(end *e, const char *text)
{
    size_t n = 0;
    fuzz_rng_use(e->rng);
    FUZZ_REQUIRE(iotls_conn_write(e->c, (const uint8_t *)text, strlen(text), &n) == IOTLS_OK);
    FUZZ_REQUIRE(n == strlen(text));
}

static void app_read(end *e, const char *want)
{
    uint8_t buf[256];
    size_t n = 0;
    fuzz_rng_use(e->rng);
    FUZZ_REQUIRE(iotls_conn_read(e->c, buf, sizeof buf, &n) == IOTLS_OK);
    FUZZ_REQUIRE(n == strlen(want) && memcmp(buf, want, n) == 0);
}

static void save(const char *dir, const char *who, const char *name, uint8_t selector,
                 const log_buf *l)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.bin", dir, who, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    FUZZ_REQUIRE(fwrite(&selector, 1, 1, f) == 1);
    FUZZ_REQUIRE(fwrite(l->buf, 1, l->len, f) == l->len);
    FUZZ_REQUIRE(fclose(f) == 0);
    printf("%s (%zu bytes)\n", path, l->len + 1);
}

static void record(const char *dir, int variant, const char *tag)
{
    fuzz_rng cl_rng = {FUZZ_SEED_CLIENT}, sv_rng = {FUZZ_SEED_SERVER};
    iotls_config *scfg = fuzz_server_config(variant);
    iotls_config *ccfg = fuzz_client_config(0);
    void *cmem, *smem;
    end cl = {0}, sv = {0};
    cl.rng = &cl_rng;
    sv.rng = &sv_rng;
    fuzz_rng_use(&cl_rng);
    cl.c = fuzz_conn_new(ccfg, IOTLS_ROLE_CLIENT, &cmem);
    fuzz_rng_use(&sv_rng);
    sv.c = fuzz_conn_new(scfg, IOTLS_ROLE_SERVER, &smem);
    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_start(cl.c) == IOTLS_OK);
    fuzz_rng_use(&sv_rng);
    FUZZ_REQUIRE(iotls_conn_start(sv.c) == IOTLS_OK);

    for (int i = 0; i < 20; i++) {
        int a = shuttle(&cl, &sv);
        int b = shuttle(&sv, &cl);
        if (!a && !b)
            break;
    }
    FUZZ_REQUIRE(iotls_conn_handshake_done(cl.c) && iotls_conn_handshake_done(sv.c));

    app_write(&cl, "GET / HTTP/1.1\r\nHost: fuzz.example\r\n\r\n");
    shuttle(&cl, &sv);
    app_read(&sv, "GET / HTTP/1.1\r\nHost: fuzz.example\r\n\r\n");
    app_write(&sv, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    shuttle(&sv, &cl);
    app_read(&cl, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");

    /* A requested KeyUpdate: the server answers with its own. */
    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_key_update(cl.c, 1) == IOTLS_OK);
    app_write(&cl, "after update");
    shuttle(&cl, &sv);
    app_read(&sv, "after update");
    app_write(&sv, "answered");
    shuttle(&sv, &cl);
    app_read(&cl, "answered");

    fuzz_rng_use(&cl_rng);
    FUZZ_REQUIRE(iotls_conn_close(cl.c) == IOTLS_OK);
    shuttle(&cl, &sv);
    fuzz_rng_use(&sv_rng);
    FUZZ_REQUIRE(iotls_conn_close(sv.c) == IOTLS_OK);
    shuttle(&sv, &cl);
    FUZZ_REQUIRE(iotls_conn_error(cl.c) == 0 && iotls_conn_error(sv.c) == 0);

    /* Selector: bit 0 the server variant, bits 1-7 the chunking seed. */
    static const uint8_t chunk_seeds[] = {0, 1, 42};
    for (size_t i = 0; i < sizeof chunk_seeds; i++) {
        uint8_t selector = (uint8_t)(chunk_seeds[i] << 1 | variant);
        char name[64];
        snprintf(name, sizeof name, "%s-chunks%u", tag, chunk_seeds[i]);
        save(dir, "client", name, selector, &sv.sent);
        save(dir, "server", name, selector, &cl.sent);
    }
    fuzz_rng_use(&cl_rng);
    fuzz_conn_free(cl.c, cmem);
    fuzz_rng_use(&sv_rng);
    fuzz_conn_free(sv.c, smem);
    iotls__random_override(NULL, NULL);
    free(cl.sent.buf);
    free(sv.sent.buf);
}

static void save_raw(const char *dir, const char *who, const char *name, const uint8_t *p,
                     size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s.bin", dir, who, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    FUZZ_REQUIRE(fwrite(p, 1, len, f) == len);
    FUZZ_REQUIRE(fclose(f) == 0);
    printf("%s (%zu bytes)\n", path, len);
}

/* What fuzz_session's first load of blob says. */
static int load_check(const uint8_t *key, size_t key_len, const uint8_t *blob, size_t len)
{
    static iotls_session loaded;
    int rc = iotls_session_load_keyed(&loaded, key, key_len, blob, len, FUZZ_SESSION_NOW_MS);
    iotls_session_wipe(&loaded);
    return rc;
}

/* corpus/session/: blobs as iotls_session_save writes them (plain and
 * under fuzz_session's device key), one expired at FUZZ_SESSION_NOW_MS, and
 * a truncated and a bit-flipped one. */
static void record_sessions(const char *dir)
{
    static const uint8_t device_key[] = FUZZ_SESSION_KEY;
    static iotls_session s;
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len = 0;
    fuzz_rng rng = {FUZZ_SEED_CLIENT ^ 0x5e55};

    memset(&s, 0, sizeof s);
    s.suite = 0x1301; /* TLS_AES_128_GCM_SHA256 */
    s.lifetime = 7200;
    s.age_add = 0x12345678;
    s.received_ms = FUZZ_SESSION_NOW_MS - 60000;
    s.psk_len = 32;
    fuzz_rng_fill(&rng, s.psk, s.psk_len);
    s.ticket_len = 64;
    fuzz_rng_fill(&rng, s.ticket, s.ticket_len);
    strcpy(s.server_name, "fuzz.example");
    FUZZ_REQUIRE(iotls_session_save(&s, blob, sizeof blob, &len) == IOTLS_OK);
    save_raw(dir, "session", "plain-sha256", blob, len);
    FUZZ_REQUIRE(load_check(NULL, 0, blob, len) == IOTLS_OK);
    save_raw(dir, "session", "plain-sha256-truncated", blob, len - 5);
    blob[20] ^= 0x04;
    save_raw(dir, "session", "plain-sha256-flipped", blob, len);
    FUZZ_REQUIRE(iotls_session_save_keyed(&s, device_key, sizeof device_key, blob, sizeof blob,
                                          &len) == IOTLS_OK);
    save_raw(dir, "session", "keyed-sha256", blob, len);

    s.suite = 0x1302; /* TLS_AES_256_GCM_SHA384 */
    s.lifetime = 604800;
    s.max_early_data = 16384;
    s.psk_len = 48;
    fuzz_rng_fill(&rng, s.psk, s.psk_len);
    s.ticket_len = 200;
    fuzz_rng_fill(&rng, s.ticket, s.ticket_len);
    s.server_name[0] = '\0';
    FUZZ_REQUIRE(iotls_session_save_keyed(&s, device_key, sizeof device_key, blob, sizeof blob,
                                          &len) == IOTLS_OK);
    save_raw(dir, "session", "keyed-sha384-early-noname", blob, len);
    FUZZ_REQUIRE(load_check(device_key, sizeof device_key, blob, len) == IOTLS_OK);
    FUZZ_REQUIRE(iotls_session_save(&s, blob, sizeof blob, &len) == IOTLS_OK);
    save_raw(dir, "session", "plain-sha384-early-noname", blob, len);

    s.suite = 0x1303; /* TLS_CHACHA20_POLY1305_SHA256 */
    s.lifetime = 60;
    s.max_early_data = 0;
    s.received_ms = FUZZ_SESSION_NOW_MS - 3600000;
    s.psk_len = 32;
    strcpy(s.server_name, "expired.fuzz.example");
    FUZZ_REQUIRE(iotls_session_save(&s, blob, sizeof blob, &len) == IOTLS_OK);
    save_raw(dir, "session", "plain-expired", blob, len);
    FUZZ_REQUIRE(load_check(NULL, 0, blob, len) == IOTLS_ERR_SESSION_EXPIRED);
    iotls_session_wipe(&s);
}

/* ---- Seeds from real peers (record_seeds --interop CORPUS_DIR) ----
 *
 * Our deterministic client against `openssl s_server -tls1_3` and
 * `gnutls-serv`, and our deterministic server (fuzz_server_config(0))
 * against `openssl s_client -tls1_3` and `gnutls-cli`, over 127.0.0.1.
 * The peer's bytes become seeds (corpus/client/{openssl,gnutls}-*.bin,
 * corpus/server/{openssl,gnutls}-*.bin): our side draws the same randomness
 * as in the fuzzer, so the replay sends the same hellos and the recorded
 * peer flight still decrypts and verifies. Every peer runs in its own
 * process group, killed after at most PEER_SECONDS. */

#define PEER_SECONDS 5

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t spawn_peer(const char *cmd)
{
    pid_t pid = fork();
    FUZZ_REQUIRE(pid >= 0);
    if (pid == 0) {
        setsid();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0 && getenv("RECORD_VERBOSE") == NULL) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void kill_peer(pid_t pid)
{
    kill(-pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_REQUIRE(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    socklen_t alen = sizeof a;
    FUZZ_REQUIRE(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int send_all(int fd, iotls_conn *c)
{
    size_t n = 0;
    const uint8_t *out;
    while ((out = iotls_conn_output(c, &n)) != NULL && n > 0) {
        ssize_t sent = send(fd, out, n, MSG_NOSIGNAL);
        if (sent <= 0)
            return -1;
        iotls_conn_output_consume(c, (size_t)sent);
    }
    return 0;
}

/* Runs c over fd until the peer closes, c fails or PEER_SECONDS pass; logs
 * every received byte. The first application data we get is answered
 * with answer (server), or request is sent once the handshake is done
 * (client). */
static void run_conn(int fd, iotls_conn *c, log_buf *got, const char *request, const char *answer)
{
    double deadline = now_s() + PEER_SECONDS;
    int requested = 0, answered = 0;
    uint8_t buf[4096];
    while (now_s() < deadline && iotls_conn_error(c) == 0) {
        if (send_all(fd, c) != 0)
            break;
        if (request && !requested && iotls_conn_handshake_done(c)) {
            size_t n = 0;
            FUZZ_REQUIRE(iotls_conn_write(c, (const uint8_t *)request, strlen(request), &n) ==
                         IOTLS_OK);
            requested = 1;
            continue;
        }
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 200) <= 0)
            continue;
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0)
            break;
        log_append(got, buf, (size_t)r);
        size_t pos = 0;
        while (pos < (size_t)r && iotls_conn_error(c) == 0) {
            size_t used = 0;
            if (iotls_conn_input(c, buf + pos, (size_t)r - pos, &used) != IOTLS_OK)
                break;
            pos += used;
            size_t n = 0;
            uint8_t app[2048];
            while (iotls_conn_read(c, app, sizeof app, &n) == IOTLS_OK && n > 0) {
                if (answer && !answered) {
                    size_t w = 0;
                    iotls_conn_write(c, (const uint8_t *)answer, strlen(answer), &w);
                    answered = 1;
                }
            }
            if (send_all(fd, c) != 0)
                break;
            if (used == 0 && pos < (size_t)r) {
                iotls_conn_input(c, buf + pos, (size_t)r - pos, &used);
                if (used == 0)
                    break;
                pos += used;
            }
        }
    }
    send_all(fd, c);
    fprintf(stderr, "  handshake_done=%d error=%d, %zu bytes from the peer\n",
            iotls_conn_handshake_done(c), iotls_conn_error(c), got->len);
}

/* Our client against the server started by cmd_fmt (one %d: the port). */
static void record_against_server(const char *dir, const char *tag, const char *cmd_fmt)
{
    int port = free_port();
    char cmd[2048];
    snprintf(cmd, sizeof cmd, cmd_fmt, port);
    fprintf(stderr, "%s: %s\n", tag, cmd);
    pid_t pid = spawn_peer(cmd);
    int fd = -1;
    double deadline = now_s() + PEER_SECONDS;
    while (now_s() < deadline) {
        fd = socket(AF_INET, SOCK_STREAM, 0);
        FUZZ_REQUIRE(fd >= 0);
        struct sockaddr_in a = {0};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((uint16_t)port);
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            break;
        close(fd);
        fd = -1;
        nanosleep(&(struct timespec){0, 100000000}, NULL);
    }
    if (fd < 0) {
        fprintf(stderr, "%s: the server did not come up\n", tag);
        kill_peer(pid);
        exit(1);
    }
    /* Exactly as fuzz_client.c: the configuration first, then the generator. */
    const iotls_config *cfg = fuzz_client_config(0);
    fuzz_rng rng = {FUZZ_SEED_CLIENT};
    fuzz_rng_use(&rng);
    void *mem;
    iotls_conn *c = fuzz_conn_new(cfg, IOTLS_ROLE_CLIENT, &mem);
    FUZZ_REQUIRE(iotls_conn_start(c) == IOTLS_OK);
    log_buf got = {0};
    run_conn(fd, c, &got, "GET / HTTP/1.0\r\n\r\n", NULL);
    FUZZ_REQUIRE(iotls_conn_handshake_done(c));
    iotls_conn_close(c);
    send_all(fd, c);
    close(fd);
    kill_peer(pid);
    fuzz_conn_free(c, mem);
    iotls__random_override(NULL, NULL);
    char name[64];
    snprintf(name, sizeof name, "%s-chunks0", tag);
    save(dir, "client", name, 0, &got);
    snprintf(name, sizeof name, "%s-chunks1", tag);
    save(dir, "client", name, 1 << 1, &got);
    free(got.buf);
}

/* The client started by cmd_fmt (one %d: the port) against our server. */
static void record_against_client(const char *dir, const char *tag, const char *cmd_fmt)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    FUZZ_REQUIRE(lfd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_REQUIRE(bind(lfd, (struct sockaddr *)&a, sizeof a) == 0 && listen(lfd, 1) == 0);
    socklen_t alen = sizeof a;
    FUZZ_REQUIRE(getsockname(lfd, (struct sockaddr *)&a, &alen) == 0);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, cmd_fmt, ntohs(a.sin_port));
    fprintf(stderr, "%s: %s\n", tag, cmd);
    pid_t pid = spawn_peer(cmd);
    struct pollfd p = {lfd, POLLIN, 0};
    if (poll(&p, 1, PEER_SECONDS * 1000) <= 0) {
        fprintf(stderr, "%s: the client did not connect\n", tag);
        kill_peer(pid);
        exit(1);
    }
    int fd = accept(lfd, NULL, NULL);
    FUZZ_REQUIRE(fd >= 0);
    close(lfd);
    /* Exactly as fuzz_server.c with selector bit 0 clear. */
    const iotls_config *cfg = fuzz_server_config(0);
    fuzz_rng rng = {FUZZ_SEED_SERVER};
    fuzz_rng_use(&rng);
    void *mem;
    iotls_conn *c = fuzz_conn_new(cfg, IOTLS_ROLE_SERVER, &mem);
    FUZZ_REQUIRE(iotls_conn_start(c) == IOTLS_OK);
    log_buf got = {0};
    run_conn(fd, c, &got, NULL, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    FUZZ_REQUIRE(iotls_conn_handshake_done(c));
    close(fd);
    kill_peer(pid);
    fuzz_conn_free(c, mem);
    iotls__random_override(NULL, NULL);
    char name[64];
    snprintf(name, sizeof name, "%s-chunks0", tag);
    save(dir, "server", name, 0, &got);
    snprintf(name, sizeof name, "%s-chunks1", tag);
    save(dir, "server", name, 1 << 1, &got);
    free(got.buf);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    FUZZ_REQUIRE(f != NULL);
    FUZZ_REQUIRE(fputs(text, f) >= 0 && fclose(f) == 0);
}

static void record_interop(const char *dir)
{
    /* A throwaway server certificate for the peers' servers: the replay
     * does not depend on it, only on the recorded bytes. */
    static char key_pem[4096], cert_pem[8192];
    FUZZ_REQUIRE(iotls_pki_make_key(IOTLS_KEY_EC_P256, key_pem, sizeof key_pem) == IOTLS_OK);
    iotls_cert_spec spec = {
        .subject = "CN=fuzz.example",
        .dns_names = "fuzz.example",
        .for_server = 1,
        .not_before = 1577836800,
        .not_after = 4102444800,
    };
    FUZZ_REQUIRE(iotls_pki_make_cert(&spec, key_pem, NULL, NULL, cert_pem, sizeof cert_pem) ==
                 IOTLS_OK);
    char tmp[] = "/tmp/record_seeds.XXXXXX";
    FUZZ_REQUIRE(mkdtemp(tmp) != NULL);
    char key_path[64], cert_path[64], cmd[1024];
    snprintf(key_path, sizeof key_path, "%s/key.pem", tmp);
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", tmp);
    write_file(key_path, key_pem);
    write_file(cert_path, cert_pem);

    snprintf(cmd, sizeof cmd,
             "exec openssl s_server -tls1_3 -accept 127.0.0.1:%%d -cert %s -key %s -www "
             "-naccept 1",
             cert_path, key_path);
    record_against_server(dir, "openssl", cmd);
    snprintf(cmd, sizeof cmd,
             "exec gnutls-serv --port %%d --x509certfile %s --x509keyfile %s "
             "--priority NORMAL:-VERS-ALL:+VERS-TLS1.3",
             cert_path, key_path);
    record_against_server(dir, "gnutls", cmd);

    record_against_client(dir, "openssl",
                          "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | exec openssl s_client -tls1_3 "
                          "-connect 127.0.0.1:%d -servername fuzz.example");
    record_against_client(dir, "gnutls",
                          "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | exec gnutls-cli --insecure "
                          "--port %d --sni-hostname fuzz.example "
                          "--priority NORMAL:-VERS-ALL:+VERS-TLS1.3 127.0.0.1");
    unlink(key_path);
    unlink(cert_path);
    rmdir(tmp);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--interop") == 0) {
        record_interop(argv[2]);
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: %s [--interop] CORPUS_DIR (with client/, server/, session/)\n",
                argv[0]);
        return 2;
    }
    record(argv[1], 0, "handshake");
    record(argv[1], 1, "hrr");
    record_sessions(argv[1]);
    return 0;
}
