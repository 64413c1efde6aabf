/* `iotls demo`: the README's main job. A gateway (our server) and a device
 * (our client) on loopback, with a throwaway PKI made on the spot, do a
 * mutually authenticated TLS 1.3 handshake and an HTTP GET like the
 * article's, and the demo explains in plain words what happened. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/pki.h"
#include "iotls/session.h"
#include "memtrack.h"
#include "device_profile.h"

extern char **environ;

#define PEM_CAP 8192
#define GATEWAY_NAME "gateway.iotls.test"

typedef struct {
    char ca_key[PEM_CAP], ca_cert[PEM_CAP];
    char gw_key[PEM_CAP], gw_cert[PEM_CAP];
    char dev_key[PEM_CAP], dev_cert[PEM_CAP];
} demo_pki;

/* The peer's certificate as text, asked for while the connection lives
 * (iotls_info carries no names). */
typedef struct {
    char subject[256], issuer[256], sans[256], key[32];
} peer_names;

static void get_peer_names(const iotls *t, peer_names *p)
{
    (void)iotls_peer_text(t, IOTLS_PEER_SUBJECT, p->subject, sizeof p->subject);
    (void)iotls_peer_text(t, IOTLS_PEER_ISSUER, p->issuer, sizeof p->issuer);
    (void)iotls_peer_text(t, IOTLS_PEER_SANS, p->sans, sizeof p->sans);
    (void)iotls_peer_text(t, IOTLS_PEER_KEY, p->key, sizeof p->key);
}

/* One connection as the gateway saw it. */
typedef struct {
    iotls_info info;
    peer_names peer;
    double handshake_ms;
    size_t peak_heap;
    char request_line[128];
} server_conn;

typedef struct {
    iotls_config *cfg;
    int lfd;
    int rc;
    char error[256];
    int conns; /* connections to serve: act 1, then the woken device */
    server_conn c[2];
    /* The device prints act 1's figures while the gateway waits for act 2:
     * "served" tells it when c[0] is complete. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int served;
} server_side;

static void mark_served(server_side *s, int n)
{
    pthread_mutex_lock(&s->lock);
    s->served = n;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
}

static void wait_served(server_side *s, int n)
{
    pthread_mutex_lock(&s->lock);
    while (s->served < n)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
}

/* What the woken device measured, handed back through a file. */
typedef struct {
    int ok;
    double hs_ms;
    unsigned long long bytes_out, bytes_in;
    unsigned flights_in, early;
    size_t peak;   /* the connection thread's peak heap (memtrack) */
    size_t engine; /* iotls_conn_size of its configuration */
    size_t own;    /* iotls_memory_used: engine block, blocking API, blob, 0-RTT data */
} wake_stats;

/* The device's RAM for one wake-up, as the cost table shows it. */
typedef struct {
    size_t engine, own, peak;
} device_ram;

/* The README's device profile (device_profile.h): small records, a
 * handshake limit that fits the gateway's certificate chain, and no
 * handshake buffer of its own (the gateway's flight fits one record). */
static int set_device_profile(iotls_config *cfg)
{
    int rc = iotls_config_set_record_size(cfg, DEVICE_RECORD_SIZE);
    if (rc == IOTLS_OK)
        rc = iotls_config_set_max_handshake_size(cfg, DEVICE_MAX_HANDSHAKE);
    if (rc == IOTLS_OK && DEVICE_REASSEMBLE_IN_PLACE)
        rc = iotls_config_set_reassemble_in_place(cfg, 1);
    return rc;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int make_pki(demo_pki *p)
{
    iotls_cert_spec ca = {.subject = "CN=iotls demo root CA,O=iotls demo", .is_ca = 1};
    iotls_cert_spec gw = {.subject = "CN=" GATEWAY_NAME ",O=iotls demo",
                          .dns_names = GATEWAY_NAME,
                          .ip_addrs = "127.0.0.1",
                          .for_server = 1};
    iotls_cert_spec dev = {.subject = "CN=sensor-0042,OU=devices,O=iotls demo", .for_client = 1};
    int rc;
    if ((rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, p->ca_key, PEM_CAP)) ||
        (rc = iotls_pki_make_cert(&ca, p->ca_key, NULL, NULL, p->ca_cert, PEM_CAP)) ||
        (rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, p->gw_key, PEM_CAP)) ||
        (rc = iotls_pki_make_cert(&gw, p->gw_key, p->ca_key, p->ca_cert, p->gw_cert, PEM_CAP)) ||
        (rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, p->dev_key, PEM_CAP)) ||
        (rc = iotls_pki_make_cert(&dev, p->dev_key, p->ca_key, p->ca_cert, p->dev_cert, PEM_CAP)))
        return rc;
    return IOTLS_OK;
}

static size_t pem_len(const char *pem)
{
    return strlen(pem) + 1;
}

/* ---- the narrative: the device's view of each handshake step ---- */

static double trace_start;

static const char *explain(int sent, uint8_t type)
{
    switch (type) {
    case 1:
        return "ClientHello: TLS 1.3 only, its cipher suites, and its half of an X25519 "
               "Diffie-Hellman exchange (key_share)";
    case 2:
        return "ServerHello: the gateway picks the suite and sends its half of the key "
               "exchange; from here on everything is encrypted";
    case 8:
        return "EncryptedExtensions: the rest of the gateway's choices, already encrypted";
    case 13:
        return "CertificateRequest: the gateway asks the device to prove who it is";
    case 11:
        return sent ? "Certificate: the device's own certificate (sensor-0042)"
                    : "Certificate: the gateway's certificate chain";
    case 15:
        return sent ? "CertificateVerify: the device signs the transcript with its private key"
                    : "CertificateVerify: the gateway signs the transcript with its private key "
                      "- proof it holds the certificate's key, not just a copy of it";
    case 20:
        return sent ? "Finished: the device's MAC over the whole handshake"
                    : "Finished: the gateway's MAC over the whole handshake: nothing was "
                      "altered in transit";
    case 4:
        return "NewSessionTicket: a ticket for resuming later (the device keeps it)";
    case 5:
        return "EndOfEarlyData: the device's 0-RTT data ends here";
    default:
        return "handshake message";
    }
}

static void device_trace(void *arg, const iotls_conn *conn, const iotls_event *ev)
{
    (void)arg;
    (void)conn;
    double t = now_ms() - trace_start;
    switch (ev->kind) {
    case IOTLS_EV_HS_SENT:
    case IOTLS_EV_HS_RECEIVED: {
        int sent = ev->kind == IOTLS_EV_HS_SENT;
        printf("  %7.2f ms  %s %-9s %5zu bytes  %s\n", t, sent ? "device  -> " : "device <-  ",
               sent ? "gateway" : "gateway", ev->len, explain(sent, ev->hs_type));
        break;
    }
    case IOTLS_EV_CCS_SENT:
        printf("  %7.2f ms  device  ->  gateway       1 byte   ChangeCipherSpec: a no-op that "
               "keeps old middleboxes happy (RFC 8446 D.4)\n",
               t);
        break;
    case IOTLS_EV_CERT_VERIFIED:
        printf("  %7.2f ms  device checks the gateway's chain: signed by the demo root CA, "
               "valid now, named " GATEWAY_NAME " -> %s\n",
               t, ev->detail ? ev->detail : "verified");
        break;
    case IOTLS_EV_KEYS_WRITE:
        if (ev->detail && strcmp(ev->detail, "early") == 0)
            printf("  %7.2f ms  device  ->  gateway            0-RTT: the reading, encrypted "
                   "with keys from the saved session, right behind the ClientHello\n",
                   t);
        break;
    case IOTLS_EV_HRR:
        printf("  %7.2f ms  HelloRetryRequest: the gateway asks for another key share\n", t);
        break;
    default:
        break;
    }
}

static void *server_main(void *arg)
{
    server_side *s = arg;
    iotls *srv = iotls_server_new(s->cfg);
    iotls *conn = NULL;
    memtrack_reset_thread();
    if (!srv) {
        s->rc = IOTLS_ERR_NO_MEMORY;
        return NULL;
    }
    for (int i = 0; i < s->conns && s->rc == IOTLS_OK; i++) {
        server_conn *sc = &s->c[i];
        memtrack_reset_thread();
        iotls_free(conn);
        conn = NULL;
        double t0 = now_ms();
        s->rc = iotls_accept(srv, s->lfd, &conn);
        if (s->rc == IOTLS_OK) {
            sc->handshake_ms = now_ms() - t0;
            char req[1024];
            ssize_t n = iotls_read(conn, req, sizeof req - 1);
            if (n > 0) {
                req[n] = '\0';
                char *eol = strstr(req, "\r\n");
                if (eol)
                    *eol = '\0';
                snprintf(sc->request_line, sizeof sc->request_line, "%.100s", req);
                iotls_get_info(conn, &sc->info);
                get_peer_names(conn, &sc->peer);
                char body[512];
                int blen = snprintf(body, sizeof body,
                                    "Hello sensor! You are \"%s\".\n"
                                    "TLS 1.3, %s, %s, your key proved with a signature.\n",
                                    i == 0 ? sc->peer.subject : "sensor-0042 (resumed)",
                                    sc->info.cipher_suite_name, sc->info.group_name);
                char resp[1024];
                int rlen = snprintf(resp, sizeof resp,
                                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                    "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                                    blen, body);
                if (iotls_write(conn, resp, (size_t)rlen) < 0)
                    s->rc = iotls_last_error(conn);
            } else {
                s->rc = n == 0 ? IOTLS_ERR_CLOSED : (int)n;
            }
            iotls_get_info(conn, &sc->info);
            iotls_close(conn);
        }
        if (s->rc != IOTLS_OK)
            snprintf(s->error, sizeof s->error, "%s", conn ? iotls_error(conn) : iotls_error(srv));
        sc->peak_heap = memtrack_thread_peak();
        mark_served(s, i + 1);
    }
    mark_served(s, s->conns); /* also when a failure ended the loop early */
    iotls_free(conn);
    iotls_free(srv);
    return NULL;
}

static double kib(size_t bytes)
{
    return (double)bytes / 1024.0;
}

/* The crypto library's share of a peak: what the thread held beyond iotls'
 * own allocations. The malloc wrapper (memtrack.c) sees every allocation,
 * whichever provider made it; iotls' own bytes stay allocated from the
 * start of the handshake to the end, so the rest at the thread's peak is
 * the crypto library at its peak. */
static size_t crypto_part(const device_ram *r)
{
    return r->peak > r->own ? r->peak - r->own : 0;
}

/* The budget is mbedTLS's (device_profile.h): a device's crypto library.
 * The OpenSSL provider is for gateways and allocates several times more. */
static int budget_applies(void)
{
    return strncmp(iotls_crypto_backend_name(), "mbedTLS", 7) == 0;
}

/* The device's RAM for both wake-ups beside the budget the README states
 * (device_profile.h). Returns 1 when a measured peak is over it. */
static int print_device_ram(const device_ram *full, const device_ram *resumed)
{
    printf("   %-34s %12zu B %12zu B\n", "device heap: engine block", full->engine,
           resumed->engine);
    if (!memtrack_available()) {
        printf("   %-34s %14s %14s\n", "  crypto library, peak in all", "not measured",
               "(sanitizer build)");
        return 0;
    }
    printf("   %-34s %12zu B %12zu B\n", "  blocking API, session, 0-RTT", full->own - full->engine,
           resumed->own - resumed->engine);
    printf("   %-34s %12zu B %12zu B\n", "  crypto library, at its peak", crypto_part(full),
           crypto_part(resumed));
    printf("   %-34s %10.1f KiB %10.1f KiB\n", "  peak in all", kib(full->peak),
           kib(resumed->peak));
    if (!budget_applies()) {
        printf("   The README's budget (%d and %d KiB) is for mbedTLS, a device's crypto library;\n"
               "   this build uses %s, a gateway's.\n",
               DEVICE_BUDGET_FULL_KIB, DEVICE_BUDGET_RESUMED_KIB, iotls_crypto_backend_name());
        return 0;
    }
    int full_over = full->peak > (size_t)DEVICE_BUDGET_FULL_KIB * 1024;
    int resumed_over = resumed->peak > (size_t)DEVICE_BUDGET_RESUMED_KIB * 1024;
    char full_cell[32], resumed_cell[32];
    snprintf(full_cell, sizeof full_cell, "%d KiB: %s", DEVICE_BUDGET_FULL_KIB,
             full_over ? "OVER" : "within");
    snprintf(resumed_cell, sizeof resumed_cell, "%d KiB: %s", DEVICE_BUDGET_RESUMED_KIB,
             resumed_over ? "OVER" : "within");
    printf("   %-34s %14s %14s\n", "  the README's budget", full_cell, resumed_cell);
    return full_over || resumed_over;
}

static void print_chain_line(const char *who, const peer_names *p)
{
    printf("    %s presented: %s\n", who, p->subject);
    printf("      issued by %s, key %s, names [%s]\n", p->issuer, p->key,
           p->sans[0] ? p->sans : "none");
}

/* ---- act 2: the device sleeps, wakes up in a new process, 0-RTT ---- */

static char g_sess_path[512];

/* The device keeps the newest ticket as a session blob on "flash". */
static void save_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)arg;
    (void)conn;
    iotls_session s;
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len = 0;
    if (iotls_session_from_ticket(&s, t) != IOTLS_OK ||
        iotls_session_save(&s, blob, sizeof blob, &len) != IOTLS_OK)
        return;
    iotls_session_wipe(&s);
    /* Plain write(), as to flash: stdio would allocate a 4 KiB buffer in
     * the device's thread and count it as the connection's heap. */
    int fd = open(g_sess_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        if (write(fd, blob, len) != (ssize_t)len)
            fprintf(stderr, "iotls demo: could not save the session\n");
        close(fd);
    }
}

static int write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(data, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

static size_t read_file(const char *path, void *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

/* `iotls demo --device-wake DIR PORT`: a fresh process, as after a deep
 * sleep: it knows only the CA and the saved session in DIR. */
static int device_wake(const char *dir, const char *port)
{
    static char ca[PEM_CAP];
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    /* stdout gets a static buffer: glibc would allocate one at the first
     * trace line, inside the handshake, and it would count as the device's. */
    static char out_buf[4096];
    setvbuf(stdout, out_buf, _IOLBF, sizeof out_buf);
    char path[600];
    snprintf(path, sizeof path, "%s/ca.pem", dir);
    size_t ca_len = read_file(path, ca, sizeof ca - 1);
    snprintf(g_sess_path, sizeof g_sess_path, "%s/session.bin", dir);
    size_t blob_len = read_file(g_sess_path, blob, sizeof blob);
    wake_stats st;
    memset(&st, 0, sizeof st);
    iotls_config *cfg = iotls_config_new();
    if (!cfg || ca_len == 0 || blob_len == 0)
        return 1;
    ca[ca_len] = '\0';
    if (iotls_config_set_ca_mem(cfg, (const uint8_t *)ca, ca_len + 1) != IOTLS_OK ||
        set_device_profile(cfg) != IOTLS_OK)
        return 1;
    iotls_config_set_trace(cfg, device_trace, NULL);
    iotls_config_set_ticket_cb(cfg, save_ticket, NULL);
    /* From here on the connection's heap, as in act 1: the configuration
     * (the parsed CA) is set up once at boot and is not counted. */
    memtrack_reset_thread();
    iotls *dev = iotls_client_new(cfg);
    const char *req =
        "GET /reading?t=21.5C HTTP/1.1\r\nHost: " GATEWAY_NAME "\r\nConnection: close\r\n\r\n";
    int rc = dev ? iotls_set_session(dev, blob, blob_len) : IOTLS_ERR_NO_MEMORY;
    if (rc == IOTLS_OK)
        rc = iotls_set_early_data(dev, req, strlen(req));
    trace_start = now_ms();
    double t0 = now_ms();
    if (rc == IOTLS_OK)
        rc = iotls_connect(dev, "127.0.0.1", port, GATEWAY_NAME);
    st.hs_ms = now_ms() - t0;
    st.own = iotls_memory_used(dev);
    iotls_info info;
    memset(&info, 0, sizeof info);
    if (rc == IOTLS_OK) {
        iotls_get_info(dev, &info);
        /* Not accepted: the request never reached the gateway; send it now. */
        if (info.early_data != IOTLS_EARLY_DATA_ACCEPTED && iotls_write(dev, req, strlen(req)) < 0)
            rc = iotls_last_error(dev);
    }
    char resp[1024];
    size_t resp_len = 0;
    ssize_t n = 0;
    while (rc == IOTLS_OK && resp_len < sizeof resp - 1 &&
           (n = iotls_read(dev, resp + resp_len, sizeof resp - 1 - resp_len)) > 0)
        resp_len += (size_t)n;
    resp[resp_len] = '\0';
    if (rc == IOTLS_OK) {
        iotls_get_info(dev, &info);
        printf("   device  <-  gateway  %.*s\n", (int)strcspn(resp, "\r"), resp);
    } else {
        fprintf(stderr, "iotls demo: woken device: %s\n", dev ? iotls_error(dev) : "no memory");
    }
    if (dev)
        iotls_close(dev);
    st.ok = rc == IOTLS_OK && resp_len > 0;
    st.bytes_out = info.bytes_out;
    st.bytes_in = info.bytes_in;
    st.flights_in = info.flights_in;
    st.early = (unsigned)info.early_data;
    st.peak = memtrack_thread_peak();
    st.engine = iotls_conn_size(cfg);
    iotls_free(dev);
    iotls_config_free(cfg);
    snprintf(path, sizeof path, "%s/wake.stats", dir);
    write_file(path, &st, sizeof st);
    fflush(stdout);
    return st.ok ? 0 : 1;
}

/* Runs the woken device in a new process (posix_spawn of ourselves). */
static int spawn_device(const char *dir, int port, wake_stats *st)
{
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    char *args[] = {"iotls", "demo", "--device-wake", (char *)dir, port_str, NULL};
    pid_t pid;
    fflush(stdout);
    int e = posix_spawn(&pid, "/proc/self/exe", NULL, NULL, args, environ);
    if (e != 0) {
        fprintf(stderr, "iotls demo: cannot start the device process: %s\n", strerror(e));
        return -1;
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    char path[600];
    snprintf(path, sizeof path, "%s/wake.stats", dir);
    memset(st, 0, sizeof *st);
    if (read_file(path, st, sizeof *st) != sizeof *st)
        st->ok = 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 && st->ok ? 0 : -1;
}

int cmd_demo(int argc, char **argv)
{
    if (argc >= 4 && strcmp(argv[1], "--device-wake") == 0)
        return device_wake(argv[2], argv[3]);
    /* --check-budget: one more line with the device's figures for a test to
     * compare (tests/interop/demo_budget.sh), and exit status 3 when the
     * device went over its budget. */
    int check_budget = argc >= 2 && strcmp(argv[1], "--check-budget") == 0;
    if (argc >= 2 && !check_budget) {
        fprintf(stderr, "usage: iotls demo [--check-budget]\n");
        return 2;
    }
    demo_pki *pki = calloc(1, sizeof *pki);
    if (!pki)
        return 1;
    printf("iotls demo: a device and its gateway talk TLS 1.3 on 127.0.0.1\n\n");
    printf("1. A throwaway PKI, made now with mbedTLS (nothing is written to disk):\n");
    int rc = make_pki(pki);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls demo: could not make the PKI: %s\n", iotls_error_string(rc));
        free(pki);
        return 1;
    }
    printf("   - root CA        \"iotls demo root CA\" (ECDSA P-256): both sides trust it\n");
    printf("   - gateway cert   \"" GATEWAY_NAME "\" + IP 127.0.0.1, signed by the CA\n");
    printf("   - device cert    \"sensor-0042\" (clientAuth), signed by the CA\n\n");

    iotls_config *scfg = iotls_config_new();
    if (!scfg)
        return 1;
    /* The gateway keeps full-size records (also the default): it serves
     * every kind of client, some of which cannot ask for smaller ones. */
    if ((rc = iotls_config_set_cert_mem(scfg, (const uint8_t *)pki->gw_cert, pem_len(pki->gw_cert),
                                        (const uint8_t *)pki->gw_key, pem_len(pki->gw_key))) ||
        (rc =
             iotls_config_set_ca_mem(scfg, (const uint8_t *)pki->ca_cert, pem_len(pki->ca_cert))) ||
        (rc = iotls_config_set_verify_client(scfg, IOTLS_VERIFY_CLIENT_REQUIRED)) ||
        (rc = iotls_config_set_record_size(scfg, 16384))) {
        fprintf(stderr, "iotls demo: configuration failed: %s\n", iotls_error_string(rc));
        return 1;
    }
    /* The device's configuration (CA, its certificate and key) is parsed
     * once at boot; its heap is shown apart from the connection's. */
    memtrack_reset_thread();
    iotls_config *ccfg = iotls_config_new();
    if (!ccfg)
        return 1;
    if ((rc =
             iotls_config_set_cert_mem(ccfg, (const uint8_t *)pki->dev_cert, pem_len(pki->dev_cert),
                                       (const uint8_t *)pki->dev_key, pem_len(pki->dev_key))) ||
        (rc =
             iotls_config_set_ca_mem(ccfg, (const uint8_t *)pki->ca_cert, pem_len(pki->ca_cert)))) {
        fprintf(stderr, "iotls demo: configuration failed: %s\n", iotls_error_string(rc));
        return 1;
    }
    size_t desktop_block = iotls_conn_size(ccfg); /* with the default 16 KiB records */
    if ((rc = set_device_profile(ccfg)) != IOTLS_OK) {
        fprintf(stderr, "iotls demo: the device profile needs record size negotiation: %s\n",
                iotls_error_string(rc));
        return 1;
    }
    size_t device_config_heap = memtrack_thread_current();
    iotls_config_set_trace(ccfg, device_trace, NULL);
    /* Act 2: the gateway issues a ticket allowing 1 KB of 0-RTT; the device
     * keeps it (and the CA) in a directory standing for its flash. */
    char dir[] = "/tmp/iotls-demo-XXXXXX";
    if (!mkdtemp(dir)) {
        perror("iotls demo: mkdtemp");
        return 1;
    }
    snprintf(g_sess_path, sizeof g_sess_path, "%s/session.bin", dir);
    char ca_path[600];
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
    if (write_file(ca_path, pki->ca_cert, strlen(pki->ca_cert)) != 0 ||
        (rc = iotls_config_set_tickets(scfg, 1)) ||
        (rc = iotls_config_set_early_data(scfg, 1024))) {
        fprintf(stderr, "iotls demo: setup for act 2 failed\n");
        return 1;
    }
    iotls_config_set_ticket_cb(ccfg, save_ticket, NULL);

    int lfd = -1, port = 0;
    rc = iotls_listen("127.0.0.1", "0", 4, &lfd, &port);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls demo: cannot listen on 127.0.0.1: %s\n", iotls_error_string(rc));
        return 1;
    }
    printf("2. The gateway (iotls server) listens on 127.0.0.1:%d and requires a client "
           "certificate.\n\n",
           port);
    server_side srv = {.cfg = scfg, .lfd = lfd, .conns = 2};
    pthread_mutex_init(&srv.lock, NULL);
    pthread_cond_init(&srv.cond, NULL);
    pthread_t th;
    if (pthread_create(&th, NULL, server_main, &srv) != 0)
        return 1;

    printf("3. The device (iotls client, %d-byte records) connects and they shake hands:\n",
           DEVICE_RECORD_SIZE);
    memtrack_reset_thread();
    iotls *dev = iotls_client_new(ccfg);
    char port_str[16];
    snprintf(port_str, sizeof port_str, "%d", port);
    trace_start = now_ms();
    double t0 = now_ms();
    rc = dev ? iotls_connect(dev, "127.0.0.1", port_str, GATEWAY_NAME) : IOTLS_ERR_NO_MEMORY;
    double client_hs_ms = now_ms() - t0;
    device_ram full = {.engine = iotls_conn_size(ccfg), .own = iotls_memory_used(dev)};
    iotls_info cinfo;
    memset(&cinfo, 0, sizeof cinfo);
    peer_names cnames;
    memset(&cnames, 0, sizeof cnames);
    char response[2048] = "";
    size_t resp_len = 0;
    /* Flights each way during the handshake alone (tickets come later). */
    unsigned hs_round_trips = 0, hs_flights_out = 0;
    if (rc == IOTLS_OK) {
        iotls_get_info(dev, &cinfo);
        hs_round_trips = cinfo.flights_in;
        hs_flights_out = cinfo.flights_out;
        printf("\n4. Encrypted HTTP, like the article's ESP32 sketch but verified:\n");
        const char *req = "GET /reading HTTP/1.1\r\nHost: " GATEWAY_NAME
                          "\r\nUser-Agent: iotls-demo\r\nConnection: close\r\n\r\n";
        printf("   device  ->  gateway  GET /reading HTTP/1.1\n");
        if (iotls_write(dev, req, strlen(req)) < 0) {
            rc = iotls_last_error(dev);
        } else {
            ssize_t n;
            while (resp_len < sizeof response - 1 &&
                   (n = iotls_read(dev, response + resp_len, sizeof response - 1 - resp_len)) > 0)
                resp_len += (size_t)n;
            response[resp_len] = '\0';
            if (n < 0 && resp_len == 0)
                rc = (int)n;
        }
        iotls_get_info(dev, &cinfo);
        get_peer_names(dev, &cnames);
    }
    full.peak = memtrack_thread_peak();
    if (rc != IOTLS_OK)
        fprintf(stderr, "iotls demo: device: %s\n", dev ? iotls_error(dev) : "out of memory");
    if (dev)
        iotls_close(dev);
    iotls_free(dev);

    if (rc == IOTLS_OK)
        wait_served(&srv, 1);
    if (rc != IOTLS_OK || srv.rc != IOTLS_OK) {
        shutdown(lfd, SHUT_RDWR); /* the gateway waits for act 2: wake it */
        pthread_join(th, NULL);
        if (srv.rc != IOTLS_OK)
            fprintf(stderr, "iotls demo: gateway: %s\n", srv.error);
        fprintf(stderr, "iotls demo: FAILED\n");
        return 1;
    }
    printf("   gateway received \"%s\" and answered:\n", srv.c[0].request_line);
    const char *body = strstr(response, "\r\n\r\n");
    printf("   device  <-  gateway  %.*s\n", (int)(strcspn(response, "\r")), response);
    if (body) {
        body += 4;
        for (const char *line = body; *line;) {
            size_t l = strcspn(line, "\n");
            printf("                        | %.*s\n", (int)l, line);
            line += l + (line[l] == '\n');
        }
    }

    printf("\n5. What happened, in plain words:\n");
    printf("   - Both sides agreed on TLS 1.3 with %s, key exchange %s%s.\n",
           cinfo.cipher_suite_name, cinfo.group_name,
           cinfo.hrr ? " (after a HelloRetryRequest)" : "");
    printf("   - The gateway proved its identity to the device: it sent its chain and signed\n"
           "     the handshake with %s; the device checked the chain up to the root CA,\n"
           "     the validity dates and the name \"%s\".\n",
           cinfo.sig_scheme_name, GATEWAY_NAME);
    print_chain_line("  gateway", &cnames);
    printf("   - The device proved its identity to the gateway the same way (mutual TLS):\n"
           "     the gateway verified the device's certificate against the same CA.\n");
    print_chain_line("  device", &srv.c[0].peer);
    printf("   - An eavesdropper saw only the two Hellos in the clear (including the name\n"
           "     the device asked for, in SNI); both certificates and the HTTP exchange were\n"
           "     encrypted. A man in the middle without a key the CA signed could not have\n"
           "     completed either proof.\n");
    printf("   - Round trips before the device could send its request: %u (device sent %u "
           "flights, received %u).\n",
           hs_round_trips, hs_flights_out, hs_round_trips);
    const iotls_info *gw = &srv.c[0].info;
    /* The gateway's side tells whether it took the device's limit. */
    if (gw->record_size_out <= cinfo.record_size_in)
        printf("   - Records of at most %u B agreed (record_size_limit), handshake messages of\n"
               "     %d B: on a microcontroller the connection's engine block takes %zu B of RAM,\n"
               "     not %zu B as with the 16 KiB defaults.\n",
               (unsigned)cinfo.record_size_in, DEVICE_MAX_HANDSHAKE, full.engine, desktop_block);
    else
        printf("   - The gateway did not take the device's record limit (%u B): it may send\n"
               "     records of %u B, which the device refuses (record_overflow).\n",
               (unsigned)cinfo.record_size_in, (unsigned)gw->record_size_out);
    printf("\n6. Cost:\n");
    printf("   %-28s %12s %12s\n", "", "device", "gateway");
    printf("   %-28s %9.2f ms %9.2f ms\n", "handshake time (loopback)", client_hs_ms,
           srv.c[0].handshake_ms);
    printf("   %-28s %12llu %12llu\n", "bytes sent on the wire",
           (unsigned long long)cinfo.bytes_out, (unsigned long long)gw->bytes_out);
    printf("   %-28s %12llu %12llu\n", "records sent", (unsigned long long)cinfo.records_out,
           (unsigned long long)gw->records_out);
    printf("   %-28s %10u B %10u B\n", "largest record it receives", (unsigned)cinfo.record_size_in,
           (unsigned)gw->record_size_in);
    printf("   %-28s %10zu B %10zu B\n", "engine block", full.engine, iotls_conn_size(scfg));
    if (memtrack_available())
        printf("   %-28s %8.1f KiB %8.1f KiB\n", "peak heap (engine + crypto)", kib(full.peak),
               kib(srv.c[0].peak_heap));
    else
        printf("   %-28s %12s %12s\n", "peak heap", "not measured", "(sanitizer build)");
    printf("   The gateway keeps 16 KiB records: it serves every kind of client, also those\n"
           "   that cannot ask for smaller ones.\n");

    printf("\n7. The device saves its session (%s) and goes to deep sleep: the process\n"
           "   exits. Later it wakes up as a NEW process that knows only the CA and that\n"
           "   file, and sends its reading as 0-RTT early data:\n",
           g_sess_path);
    wake_stats ws;
    int wake_rc = spawn_device(dir, port, &ws);
    if (wake_rc != 0)
        shutdown(lfd, SHUT_RDWR);
    pthread_join(th, NULL);
    if (wake_rc != 0 || srv.rc != IOTLS_OK) {
        if (srv.rc != IOTLS_OK)
            fprintf(stderr, "iotls demo: gateway: %s\n", srv.error);
        fprintf(stderr, "iotls demo: FAILED (act 2)\n");
        return 1;
    }
    const server_conn *g2 = &srv.c[1];
    printf("   gateway received \"%s\" %s\n", g2->request_line,
           g2->info.early_data == IOTLS_EARLY_DATA_ACCEPTED
               ? "in 0-RTT, before the handshake had finished"
               : "after the handshake (0-RTT was not accepted)");
    printf("\n8. The two wake-ups side by side (device's view):\n");
    printf("   %-34s %14s %14s\n", "", "full handshake", "resumed 0-RTT");
    printf("   %-34s %14u %14u\n", "round trips before the request", hs_round_trips,
           ws.early == IOTLS_EARLY_DATA_ACCEPTED ? 0u : ws.flights_in);
    printf("   %-34s %11.2f ms %11.2f ms\n", "handshake time (loopback)", client_hs_ms, ws.hs_ms);
    printf("   %-34s %14llu %14llu\n", "bytes sent by the device",
           (unsigned long long)cinfo.bytes_out, ws.bytes_out);
    printf("   %-34s %14llu %14llu\n", "bytes received by the device",
           (unsigned long long)cinfo.bytes_in, ws.bytes_in);
    printf("   %-34s %14s %14s\n", "certificates checked / signatures", "2 / 2", "0 / 0");
    device_ram resumed = {.engine = ws.engine, .own = ws.own, .peak = ws.peak};
    int over = print_device_ram(&full, &resumed);
    if (memtrack_available())
        printf("   Not counted: the device's configuration (CA, its certificate and key),\n"
               "   parsed once at boot: %.1f KiB.\n",
               kib(device_config_heap));
    printf("\n   What 0-RTT gives: the reading left together with the ClientHello, so the\n"
           "   gateway had it after half a round trip, with no certificate or signature\n"
           "   work on either side - on a radio link that is awake for less time.\n"
           "   The caveat: 0-RTT data has no protection against replay by itself. Someone\n"
           "   who recorded it can send it again; the gateway refuses a second use of the\n"
           "   same ticket within its window, but only within this one gateway process.\n"
           "   So only idempotent things (\"here is my reading\") belong in 0-RTT, never\n"
           "   \"open the door\".\n");
    /* The session blob holds a resumption key: do not leave it behind. */
    const char *names[] = {"session.bin", "ca.pem", "wake.stats"};
    for (size_t i = 0; i < 3; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    if (check_budget)
        printf(
            "\ndemo-budget: heap_measured=%d budget_applies=%d full_engine=%zu full_crypto=%zu "
            "full_peak=%zu full_budget=%d resumed_engine=%zu resumed_crypto=%zu resumed_peak=%zu "
            "resumed_budget=%d device_record_size=%u gateway_record_out=%u "
            "gateway_record_size=%u\n",
            memtrack_available(), budget_applies(), full.engine, crypto_part(&full), full.peak,
            DEVICE_BUDGET_FULL_KIB * 1024, resumed.engine, crypto_part(&resumed), resumed.peak,
            DEVICE_BUDGET_RESUMED_KIB * 1024, (unsigned)cinfo.record_size_in,
            (unsigned)gw->record_size_out, (unsigned)gw->record_size_in);
    printf("\nTo copy into firmware: examples/ (HTTPS, MQTT with a device certificate, a poll() "
           "event loop, a PSK sensor), examples/README.md\n");
    if (check_budget && over)
        printf("\niotls demo: the device went over its budget\n");
    else
        printf("\niotls demo: OK\n");
    iotls_config_free(scfg);
    iotls_config_free(ccfg);
    free(pki);
    return check_budget && over ? 3 : 0;
}
