/* iotls client HOST:PORT: a TLS 1.3 connection on stdin/stdout, or one
 * HTTP GET. Verifies the server against the system CAs unless told
 * otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmds.h"
#include "exit_codes.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "iotls/session.h"
#include "keylog.h"
#include "trace.h"

#define SYSTEM_CA_DIR "/etc/ssl/certs"
#define DEFAULT_TIMEOUT_MS 10000

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iotls client HOST:PORT [options]      ([v6addr]:PORT for IPv6)\n"
        "  --ca FILE|DIR        trusted CA certificates (default: " SYSTEM_CA_DIR
        ", none with --pin);\n"
        "                       --cacert is the same\n"
        "  --crl FILE           refuse a server certificate its CA revoked (PEM, several per\n"
        "                       file, or DER; repeatable). The CA of the server's certificate\n"
        "                       must have a CRL loaded; one past its nextUpdate or not signed\n"
        "                       by its CA refuses the connection (exit code 8)\n"
        "  --servername NAME    name for SNI and the certificate check (default: HOST)\n"
        "  --alpn LIST          offer protocols, e.g. h2,http/1.1\n"
        "  --cert FILE --key FILE  client certificate chain and key\n"
        "  --key-pass SOURCE    passphrase of an encrypted --key: pass:TEXT, env:VAR, file:PATH\n"
        "  --groups LIST        key exchange groups: x25519,secp256r1,secp384r1\n"
        "  --ciphers LIST       TLS_AES_128_GCM_SHA256:... or aes128gcm,aes256gcm,chacha20;\n"
        "                       aes128ccm,aes128ccm8 only when listed\n"
        "  --pin PIN            require the server key's SPKI SHA-256, as 64 hex digits or\n"
        "                       curl's sha256//BASE64 (repeatable; -v prints it)\n"
        "  -k, --insecure       DANGER: do not verify the server certificate\n"
        "  --keylog FILE        append NSS key log lines (also $SSLKEYLOGFILE)\n"
        "  --max-handshake N    largest handshake message accepted (512..262144)\n"
        "  --reassemble-in-place  no handshake buffer: a message spanning records is joined\n"
        "                       in the record buffer (a layout that does not fit fails)\n"
        "  --max-rsa-bits N     largest RSA key in the server's chain (2048..8192, default 4096)\n"
        "  --record-size N      largest record plaintext received and sent (512..16384);\n"
        "                       below 16384 announced as record_size_limit/max_fragment_length\n"
        "  --timeout S          handshake and read timeout in seconds, fractions allowed\n"
        "                       (default %d, 0 none); also the connect's unless:\n"
        "  --connect-timeout S  TCP connect timeout in seconds\n"
        "  --get PATH           send an HTTP GET for PATH and print the response\n"
        "  --sess-out FILE      save the last session ticket received (for --sess-in)\n"
        "  --sess-in FILE       resume the session saved in FILE (full handshake if refused)\n"
        "  --max-ticket N       longest session ticket offered (1..4096, default 4096): the\n"
        "                       send buffer keeps room for it; a longer one, a full handshake\n"
        "  --early-data FILE    with --sess-in: send FILE's contents as 0-RTT early data\n"
        "                       (sent again after the handshake if the server refuses it)\n"
        "  --psk HEX --psk-identity ID  external PSK (authenticates the server; no CA\n"
        "                       needed); --psk-hash sha256|sha384 (default: the first\n"
        "                       --ciphers suite's, else sha256)\n"
        "  --psk-ke             PSK without ECDHE: offer psk_ke only, no key share\n"
        "  --key-update         send a KeyUpdate (update_requested) after the handshake\n"
        "  --key-update-limit N KeyUpdate after N records under one key (tests)\n"
        "  -v                   trace the handshake on stderr (with --show-certs' output)\n"
        "  --json               the connection summary as one JSON object on stderr\n"
        "  --show-certs         print the server's certificates: subject, issuer, validity,\n"
        "                       names and SPKI pin (for --pin)\n"
        "  --quiet              print nothing but data and errors\n"
        "\n"
        "exit codes:\n",
        DEFAULT_TIMEOUT_MS / 1000);
    app_exit_codes_print(out);
}

/* "host:port", "[v6]:port", "host" (port 443). Writes into host/port. */
static int split_target(const char *target, char *host, size_t host_cap, char *port,
                        size_t port_cap)
{
    const char *p_port = NULL;
    size_t host_len;
    if (target[0] == '[') {
        const char *close = strchr(target, ']');
        if (close == NULL)
            return -1;
        host_len = (size_t)(close - target - 1);
        if (host_len == 0 || host_len >= host_cap)
            return -1;
        memcpy(host, target + 1, host_len);
        host[host_len] = '\0';
        if (close[1] == ':')
            p_port = close + 2;
        else if (close[1] != '\0')
            return -1;
    } else {
        const char *colon = strchr(target, ':');
        if (colon && strchr(colon + 1, ':'))
            return -1; /* a bare IPv6 address: ambiguous without brackets */
        host_len = colon ? (size_t)(colon - target) : strlen(target);
        if (host_len == 0 || host_len >= host_cap)
            return -1;
        memcpy(host, target, host_len);
        host[host_len] = '\0';
        if (colon)
            p_port = colon + 1;
    }
    if (p_port == NULL)
        p_port = "443";
    if (p_port[0] == '\0' || strlen(p_port) >= port_cap)
        return -1;
    for (const char *q = p_port; *q; q++)
        if (*q < '0' || *q > '9')
            return -1;
    strcpy(port, p_port);
    return 0;
}

static int write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The status line. With a client certificate, a TLS 1.3 handshake is done
 * on our side before the server has looked at our certificate: its refusal
 * (an alert) comes after. So the line waits for a first record from the
 * server after the handshake (a ticket, data) that is not a refusal. */
static struct {
    int json; /* --json: the status as one JSON object */
    int pending;
    uint64_t records_at_handshake;
    const char *target;
} status;

static void print_connected(const iotls *t, const char *target, const char *note);

static void status_check(const iotls *t)
{
    iotls_info info;
    if (!status.pending || iotls_get_info(t, &info) != IOTLS_OK ||
        info.records_in <= status.records_at_handshake)
        return;
    status.pending = 0;
    print_connected(t, status.target, NULL);
}

/* Everything decrypted so far goes to stdout without waiting for more.
 * Returns 1 to go on, 0 when the peer closed, -1 on error (printed). */
static int drain_tls(iotls *t, uint8_t *buf, size_t cap)
{
    iotls_set_nonblocking(t, 1);
    int result = 1;
    for (;;) {
        ssize_t r = iotls_read(t, buf, cap);
        if (r > 0 || r == IOTLS_WANT_READ)
            status_check(t);
        if (r > 0) {
            if (write_all(STDOUT_FILENO, buf, (size_t)r) != 0) {
                result = -1; /* stdout went away: nothing left to do */
                break;
            }
            continue;
        }
        if (r == 0) {
            result = 0;
            break;
        }
        if (r == IOTLS_WANT_READ)
            break;
        if (r == IOTLS_WANT_WRITE) {
            /* Post-handshake output waits: send it (blocking) and go on. */
            iotls_set_nonblocking(t, 0);
            if (iotls_write(t, NULL, 0) < 0) {
                fprintf(stderr, "iotls: %s\n", iotls_error(t));
                result = -1;
                break;
            }
            iotls_set_nonblocking(t, 1);
            continue;
        }
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        result = -1;
        break;
    }
    iotls_set_nonblocking(t, 0);
    return result;
}

/* stdin -> connection, connection -> stdout. When stdin ends, our
 * close_notify goes out and we wait (up to linger_ms) for the peer's. */
static int copy_loop(iotls *t, uint32_t linger_ms)
{
    static uint8_t buf[16384];
    int stdin_open = 1;
    int64_t linger_until = 0;
    for (;;) {
        int d = drain_tls(t, buf, sizeof buf);
        if (d <= 0)
            return d < 0 ? app_exit_for(iotls_last_error(t)) : 0;
        struct pollfd p[2];
        p[0].fd = iotls_fd(t);
        p[0].events = POLLIN;
        p[0].revents = 0;
        p[1].fd = STDIN_FILENO;
        p[1].events = POLLIN;
        p[1].revents = 0;
        int timeout = -1;
        if (!stdin_open && linger_ms > 0) {
            int64_t left = linger_until - mono_ms();
            if (left <= 0)
                return 0; /* the peer never closed; our side is done */
            timeout = (int)left;
        }
        int r = poll(p, stdin_open ? 2 : 1, timeout);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("iotls: poll");
            return APP_EXIT_FAILURE;
        }
        if (r == 0)
            continue;
        if (stdin_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0) {
                if (app_write_all(t, buf, (size_t)n) != 0) {
                    fprintf(stderr, "iotls: %s\n", iotls_error(t));
                    return app_exit_for(iotls_last_error(t));
                }
            } else {
                /* End of input: half-close (RFC 8446 6.1 lets the peer
                 * still send until it closes too). */
                stdin_open = 0;
                linger_until = mono_ms() + linger_ms;
                if (iotls_conn_close(iotls_engine(t)) != IOTLS_OK || iotls_write(t, NULL, 0) < 0) {
                    fprintf(stderr, "iotls: %s\n", iotls_error(t));
                    return app_exit_for(iotls_last_error(t));
                }
            }
        }
    }
}

static int http_get(iotls *t, const char *host_header, const char *path)
{
    char req[2048];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: iotls/%s\r\nAccept: */*\r\n"
                     "Connection: close\r\n\r\n",
                     path, host_header, IOTLS_VERSION);
    if (n < 0 || (size_t)n >= sizeof req) {
        fprintf(stderr, "iotls: --get: path too long\n");
        return APP_EXIT_USAGE;
    }
    if (app_write_all(t, req, (size_t)n) != 0) {
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        return app_exit_for(iotls_last_error(t));
    }
    static uint8_t buf[16384];
    for (;;) {
        ssize_t r = iotls_read(t, buf, sizeof buf);
        if (r >= 0)
            status_check(t);
        if (r > 0) {
            if (write_all(STDOUT_FILENO, buf, (size_t)r) != 0)
                return APP_EXIT_FAILURE;
            continue;
        }
        if (r == 0)
            return 0;
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        return app_exit_for(iotls_last_error(t));
    }
}

/* --sess-out: every ticket replaces the file, so it holds the last one. */
static unsigned tickets_saved;

static void save_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *ticket)
{
    (void)conn;
    const char *path = (const char *)arg;
    iotls_session s;
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len = 0;
    if (iotls_session_from_ticket(&s, ticket) != IOTLS_OK ||
        iotls_session_save(&s, blob, sizeof blob, &len) != IOTLS_OK) {
        fprintf(stderr, "iotls: session ticket not saved (too large)\n");
        iotls_session_wipe(&s);
        return;
    }
    iotls_session_wipe(&s);
    /* The session's secret resumes it: readable by its owner only, even
     * when the file existed with another mode. */
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 && fchmod(fd, 0600) == 0 ? fdopen(fd, "wb") : NULL;
    if (f == NULL && fd >= 0)
        close(fd);
    if (f == NULL || fwrite(blob, 1, len, f) != len)
        fprintf(stderr, "iotls: --sess-out %s: %s\n", path, strerror(errno));
    else
        tickets_saved++;
    if (f)
        fclose(f);
}

/* --early-data: the file's contents, sent as 0-RTT with the ClientHello. */
static uint8_t early_buf[16384];
static size_t early_len;

static int load_early_data(iotls *t, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "iotls: --early-data %s: %s\n", path, strerror(errno));
        return -1;
    }
    early_len = fread(early_buf, 1, sizeof early_buf, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    if (more) {
        fprintf(stderr, "iotls: --early-data %s: larger than %zu bytes\n", path, sizeof early_buf);
        return -1;
    }
    int rc = iotls_set_early_data(t, early_buf, early_len);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: --early-data: %s\n", iotls_error_string(rc));
        return -1;
    }
    return 0;
}

/* After the handshake: say what became of the early data, and send it
 * again when the server never got it. */
static int finish_early_data(iotls *t, int quiet)
{
    iotls_info info;
    if (iotls_get_info(t, &info) != IOTLS_OK)
        return -1;
    if (info.early_data == IOTLS_EARLY_DATA_ACCEPTED) {
        if (!quiet)
            fprintf(stderr, "iotls: early data accepted (%u bytes in 0-RTT)\n",
                    (unsigned)info.early_data_bytes);
        return 0;
    }
    if (!quiet)
        fprintf(stderr, "iotls: early data %s; resending %zu bytes after the handshake\n",
                info.early_data == IOTLS_EARLY_DATA_REJECTED ? "rejected"
                                                             : "not sent (session allows none)",
                early_len);
    if (app_write_all(t, early_buf, early_len) != 0) {
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        return -1;
    }
    return 0;
}

static int load_session(iotls *t, const char *path)
{
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB + 1];
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "iotls: --sess-in %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t len = fread(blob, 1, sizeof blob, f);
    fclose(f);
    int rc = iotls_set_session(t, blob, len);
    if (rc != IOTLS_OK)
        fprintf(stderr, "iotls: --sess-in %s: %s; doing a full handshake\n", path,
                iotls_error_string(rc));
    return 0;
}

/* s as a JSON string (RFC 8259: quote, backslash and controls escaped). */
static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void print_json(const iotls *t, const char *target, const char *note)
{
    iotls_info info;
    if (iotls_get_info(t, &info) != IOTLS_OK)
        return;
    FILE *o = stderr;
    /* The names are formatted on request, not carried in iotls_info. */
    char spki[65] = "", subject[256] = "", issuer[256] = "", names[256] = "";
    uint8_t hash[32];
    if (info.peer_chain_len > 0 && iotls_peer_spki_sha256(t, hash) == IOTLS_OK)
        for (size_t i = 0; i < sizeof hash; i++)
            snprintf(spki + 2 * i, 3, "%02x", hash[i]);
    (void)iotls_peer_text(t, IOTLS_PEER_SUBJECT, subject, sizeof subject);
    (void)iotls_peer_text(t, IOTLS_PEER_ISSUER, issuer, sizeof issuer);
    (void)iotls_peer_text(t, IOTLS_PEER_SANS, names, sizeof names);
    fputs("{\"connected\":", o);
    json_str(o, target);
    fputs(",\"version\":\"TLSv1.3\",\"cipher_suite\":", o);
    json_str(o, info.cipher_suite_name);
    fputs(",\"group\":", o);
    json_str(o, info.group ? info.group_name : "");
    fprintf(o,
            ",\"hrr\":%s,\"resumed\":%s,\"external_psk\":%s,\"alpn\":", info.hrr ? "true" : "false",
            info.resumed ? "\"ticket\"" : "false", info.external_psk ? "true" : "false");
    json_str(o, info.alpn);
    fputs(",\"server_name\":", o);
    json_str(o, info.server_name);
    fputs(",\"signature\":", o);
    json_str(o, info.sig_scheme ? info.sig_scheme_name : "");
    fputs(",\"peer_subject\":", o);
    json_str(o, subject);
    fputs(",\"peer_issuer\":", o);
    json_str(o, issuer);
    fputs(",\"peer_names\":", o);
    json_str(o, names);
    fputs(",\"peer_spki_sha256\":", o);
    json_str(o, spki);
    fputs(",\"peer_auth\":", o);
    json_str(o, iotls_peer_auth_name(info.peer_auth));
    fprintf(o, ",\"peer_verified\":%s,\"client_certificate\":",
            info.peer_cert_verified ? "true" : "false");
    if (info.client_auth)
        json_str(o, note ? note : "accepted");
    else
        fputs("null", o);
    fprintf(o, ",\"early_data\":\"%s\",\"bytes_sent\":%llu,\"bytes_received\":%llu}\n",
            info.early_data == IOTLS_EARLY_DATA_ACCEPTED   ? "accepted"
            : info.early_data == IOTLS_EARLY_DATA_REJECTED ? "rejected"
                                                           : "none",
            (unsigned long long)info.bytes_out, (unsigned long long)info.bytes_in);
    fflush(o);
}

static void print_connected(const iotls *t, const char *target, const char *note)
{
    if (status.json) {
        print_json(t, target, note);
        return;
    }
    iotls_info info;
    if (iotls_get_info(t, &info) != IOTLS_OK)
        return;
    fprintf(stderr, "iotls: connected to %s: TLSv1.3 %s %s%s", target, info.cipher_suite_name,
            info.group_name, info.hrr ? " (HRR)" : "");
    if (info.resumed)
        fprintf(stderr, " (resumed)");
    if (info.external_psk)
        fprintf(stderr, " (external PSK%s)", info.group ? "" : ", psk_ke");
    if (info.alpn && info.alpn[0])
        fprintf(stderr, " alpn=%s", info.alpn);
    char subject[256] = "";
    if (info.peer_chain_len > 0)
        (void)iotls_peer_text(t, IOTLS_PEER_SUBJECT, subject, sizeof subject);
    if (info.peer_chain_len > 0)
        fprintf(stderr, ", server \"%s\"%s", subject,
                info.peer_auth == IOTLS_PEER_AUTH_NAME  ? " verified"
                : info.peer_auth == IOTLS_PEER_AUTH_PIN ? " key pinned (name not checked)"
                                                        : " NOT VERIFIED");
    fprintf(stderr, ", peer auth: %s", iotls_peer_auth_name(info.peer_auth));
    if (info.client_auth)
        fprintf(stderr, ", client certificate %s", note ? note : "accepted");
    fputc('\n', stderr);
}

int cmd_client(int argc, char **argv)
{
    const char *target = NULL, *ca = NULL, *servername = NULL, *alpn = NULL, *cert = NULL,
               *key = NULL, *groups = NULL, *ciphers = NULL, *keylog = NULL, *get = NULL,
               *sess_out = NULL, *sess_in = NULL, *early_file = NULL, *psk = NULL,
               *psk_identity = NULL, *psk_hash = NULL, *key_pass = NULL;
    int psk_ke = 0, key_update = 0, reasm_in_place = 0;
    unsigned long key_update_limit = 0;
    const char *pins[8];
    size_t pin_count = 0;
    const char *crls[APP_MAX_CRLS];
    size_t crl_count = 0;
    int insecure = 0, verbose = 0, quiet = 0, show_certs = 0;
    unsigned long max_hs = 0, max_ticket = 0, max_rsa_bits = 0, record_size = 0,
                  timeout = DEFAULT_TIMEOUT_MS, connect_timeout = 0;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = app_opt_value(argc, argv, &i, "--ca")) ||
            (v = app_opt_value(argc, argv, &i, "--cacert")))
            ca = v;
        else if ((v = app_opt_value(argc, argv, &i, "--servername")))
            servername = v;
        else if ((v = app_opt_value(argc, argv, &i, "--alpn")))
            alpn = v;
        else if ((v = app_opt_value(argc, argv, &i, "--cert")))
            cert = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key")))
            key = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key-pass")))
            key_pass = v;
        else if ((v = app_opt_value(argc, argv, &i, "--groups")))
            groups = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ciphers")))
            ciphers = v;
        else if ((v = app_opt_value(argc, argv, &i, "--keylog")))
            keylog = v;
        else if ((v = app_opt_value(argc, argv, &i, "--get")))
            get = v;
        else if ((v = app_opt_value(argc, argv, &i, "--sess-out")))
            sess_out = v;
        else if ((v = app_opt_value(argc, argv, &i, "--sess-in")))
            sess_in = v;
        else if ((v = app_opt_value(argc, argv, &i, "--early-data")))
            early_file = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk")))
            psk = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk-identity")))
            psk_identity = v;
        else if ((v = app_opt_value(argc, argv, &i, "--psk-hash")))
            psk_hash = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key-update-limit")))
            key_update_limit = app_parse_num("--key-update-limit", v, 1, 16777216);
        else if (app_opt_flag(argv, i, "--psk-ke"))
            psk_ke = 1;
        else if (app_opt_flag(argv, i, "--key-update"))
            key_update = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--crl"))) {
            if (crl_count == APP_MAX_CRLS) {
                fprintf(stderr, "iotls: too many --crl options\n");
                return APP_EXIT_USAGE;
            }
            crls[crl_count++] = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--pin"))) {
            if (pin_count == sizeof pins / sizeof pins[0]) {
                fprintf(stderr, "iotls: too many --pin options\n");
                return APP_EXIT_USAGE;
            }
            pins[pin_count++] = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--record-size")))
            record_size = app_parse_num("--record-size", v, 512, 16384);
        else if ((v = app_opt_value(argc, argv, &i, "--max-handshake")))
            max_hs = app_parse_num("--max-handshake", v, 512, 262144);
        else if ((v = app_opt_value(argc, argv, &i, "--max-ticket")))
            max_ticket = app_parse_num("--max-ticket", v, 1, 4096);
        else if (app_opt_flag(argv, i, "--reassemble-in-place"))
            reasm_in_place = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--max-rsa-bits")))
            max_rsa_bits = app_parse_num("--max-rsa-bits", v, 2048, 8192);
        else if ((v = app_opt_value(argc, argv, &i, "--timeout")))
            timeout = app_parse_seconds("--timeout", v);
        else if ((v = app_opt_value(argc, argv, &i, "--connect-timeout")))
            connect_timeout = app_parse_seconds("--connect-timeout", v);
        else if (app_opt_flag(argv, i, "--insecure") || app_opt_flag(argv, i, "-k"))
            insecure = 1;
        else if (app_opt_flag(argv, i, "-v") || app_opt_flag(argv, i, "--verbose"))
            verbose = 1;
        else if (app_opt_flag(argv, i, "--json"))
            status.json = 1;
        else if (app_opt_flag(argv, i, "--show-certs"))
            show_certs = 1;
        else if (app_opt_flag(argv, i, "--quiet") || app_opt_flag(argv, i, "-q"))
            quiet = 1;
        else if (app_opt_flag(argv, i, "--help") || app_opt_flag(argv, i, "-h")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "iotls client: unknown option %s; try 'iotls client --help'\n",
                    argv[i]);
            return APP_EXIT_USAGE;
        } else if (target == NULL)
            target = argv[i];
        else {
            fprintf(stderr, "iotls client: unexpected argument %s\n", argv[i]);
            return APP_EXIT_USAGE;
        }
    }
    if (target == NULL) {
        usage(stderr);
        return APP_EXIT_USAGE;
    }
    if (early_file && sess_in == NULL) {
        fprintf(stderr, "iotls client: --early-data needs --sess-in (0-RTT resumes a session)\n");
        return APP_EXIT_USAGE;
    }
    if ((cert == NULL) != (key == NULL)) {
        fprintf(stderr, "iotls client: --cert and --key go together\n");
        return APP_EXIT_USAGE;
    }
    char host[256], port[16];
    if (split_target(target, host, sizeof host, port, sizeof port) != 0) {
        fprintf(stderr, "iotls client: bad target '%s' (want HOST:PORT or [IPv6]:PORT)\n", target);
        return APP_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);

    /* Until the connection starts, a failure is the configuration's. */
    int exit_code = APP_EXIT_CONFIG;
    iotls *t = NULL;
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL) {
        app_error("configuration", IOTLS_ERR_NO_MEMORY);
        return APP_EXIT_FAILURE;
    }
    int rc;
    if (ca) {
        if (app_load_ca(cfg, ca) != IOTLS_OK)
            goto out;
    } else if (!insecure && !psk && pin_count == 0) {
        /* A pin alone authenticates the server: no CA store needed. */
        rc = iotls_config_set_ca_dir(cfg, SYSTEM_CA_DIR);
        if (rc != IOTLS_OK) {
            fprintf(stderr, "iotls: no system CA certificates in %s (%s); use --ca FILE\n",
                    SYSTEM_CA_DIR, iotls_error_string(rc));
            goto out;
        }
    }
    if (app_load_crls(cfg, crls, crl_count) != IOTLS_OK)
        goto out;
    if (groups && (rc = iotls_config_set_groups(cfg, groups)) != IOTLS_OK) {
        fprintf(stderr,
                "iotls: --groups %s: unknown or repeated group (x25519, secp256r1, "
                "secp384r1)\n",
                groups);
        goto out;
    }
    if (ciphers && (rc = iotls_config_set_ciphers(cfg, ciphers)) != IOTLS_OK) {
        fprintf(stderr,
                "iotls: --ciphers %s: unknown or repeated cipher suite (valid: "
                "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
                "or aes128gcm, aes256gcm, chacha20)\n",
                ciphers);
        goto out;
    }
    if (alpn && (rc = iotls_config_set_alpn(cfg, alpn)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --alpn %s: bad protocol list\n", alpn);
        goto out;
    }
    if (cert && (rc = app_set_cert(cfg, cert, key, key_pass)) != IOTLS_OK)
        goto out;
    for (size_t i = 0; i < pin_count; i++) {
        if (iotls_config_add_pin_sha256(cfg, pins[i]) != IOTLS_OK) {
            fprintf(stderr,
                    "iotls: --pin %s: want the SPKI's SHA-256 as 64 hex digits or "
                    "sha256//BASE64\n",
                    pins[i]);
            goto out;
        }
    }
    if (psk && app_set_psk(cfg, psk, psk_identity, psk_hash, ciphers) != 0)
        goto out;
    if (psk_ke)
        iotls_config_set_psk_ke(cfg, IOTLS_PSK_KE_ONLY);
    if (key_update_limit)
        iotls_config_set_key_update_limit(cfg, key_update_limit);
    if (max_hs)
        (void)iotls_config_set_max_handshake_size(cfg, max_hs);
    if (max_ticket)
        (void)iotls_config_set_max_ticket_size(cfg, max_ticket);
    if (reasm_in_place)
        (void)iotls_config_set_reassemble_in_place(cfg, 1);
    if (max_rsa_bits)
        (void)iotls_config_set_max_rsa_bits(cfg, (unsigned)max_rsa_bits);
    if (record_size)
        (void)iotls_config_set_record_size(cfg, record_size);
    iotls_config_set_timeout_ms(cfg, (uint32_t)timeout);
    (void)iotls_config_set_connect_timeout_ms(cfg, (uint32_t)connect_timeout);
    if (insecure)
        iotls_config_insecure_noverifycert(cfg);
    if (keylog_setup(cfg, keylog) != 0)
        goto out;
    if (verbose) {
        trace_install(cfg, stderr);
        if (keylog_path())
            fprintf(stderr, "iotls: writing TLS secrets to %s\n", keylog_path());
    }

    if (sess_out)
        iotls_config_set_ticket_cb(cfg, save_ticket, (void *)sess_out);
    t = iotls_client_new(cfg);
    if (t == NULL) {
        app_error("client", IOTLS_ERR_NO_MEMORY);
        exit_code = APP_EXIT_FAILURE;
        goto out;
    }
    if (sess_in && load_session(t, sess_in) != 0)
        goto out;
    if (early_file && load_early_data(t, early_file) != 0)
        goto out;
    trace_begin("");
    if (verbose)
        fprintf(stderr, "connecting to %s port %s\n", host, port);
    rc = iotls_connect(t, host, port, servername);
    if (rc == IOTLS_ERR_SESSION_INVALID) {
        /* --sess-in saved for another server name, or its ticket over
         * --max-ticket / --max-handshake: refused before connecting and
         * dropped, so the second try is a full handshake. */
        fprintf(stderr, "iotls: --sess-in %s: %s; doing a full handshake\n", sess_in,
                iotls_error(t));
        rc = iotls_connect(t, host, port, servername);
    }
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        exit_code = app_exit_for(rc);
        goto out;
    }
    exit_code = APP_EXIT_FAILURE;
    if (verbose)
        trace_summary(stderr, t, 1);
    else if (!quiet) {
        iotls_info info;
        if (iotls_get_info(t, &info) == IOTLS_OK && info.client_auth) {
            status.pending = 1;
            status.records_at_handshake = info.records_in;
            status.target = target;
        } else {
            print_connected(t, target, NULL);
        }
    }
    if (show_certs && !verbose)
        trace_print_certs(stderr, t);
    if (early_file && finish_early_data(t, quiet) != 0) {
        exit_code = app_exit_for(iotls_last_error(t));
        goto out;
    }
    if (key_update) {
        /* Ours now, the server's in answer (RFC 8446 4.6.3). */
        rc = iotls_key_update(t, 1);
        if (rc == IOTLS_OK && iotls_write(t, NULL, 0) < 0)
            rc = iotls_last_error(t);
        if (rc != IOTLS_OK) {
            fprintf(stderr, "iotls: --key-update: %s\n", iotls_error(t));
            exit_code = app_exit_for(rc);
            goto out;
        }
    }

    if (get) {
        char host_header[300];
        const char *name = servername ? servername : host;
        int v6 = strchr(name, ':') != NULL;
        if (strcmp(port, "443") == 0)
            snprintf(host_header, sizeof host_header, v6 ? "[%s]" : "%s", name);
        else
            snprintf(host_header, sizeof host_header, v6 ? "[%s]:%s" : "%s:%s", name, port);
        exit_code = http_get(t, host_header, get);
    } else {
        exit_code = copy_loop(t, (uint32_t)(timeout ? timeout : DEFAULT_TIMEOUT_MS));
    }
    if (!quiet) {
        iotls_info info;
        if (iotls_get_info(t, &info) == IOTLS_OK &&
            (info.key_updates_sent > 0 || info.key_updates_received > 0))
            fprintf(stderr, "iotls: key updates sent %u received %u\n", info.key_updates_sent,
                    info.key_updates_received);
    }
    if (sess_out && tickets_saved == 0 && exit_code == 0 && !quiet)
        fprintf(stderr, "iotls: no session ticket arrived; %s not written\n", sess_out);
    if (status.pending && exit_code == 0)
        print_connected(t, target,
                        "sent; the server sent nothing after the handshake to confirm it");
    rc = iotls_close(t);
    if (rc != IOTLS_OK && exit_code == 0) {
        fprintf(stderr, "iotls: %s\n", iotls_error(t));
        exit_code = app_exit_for(rc);
    }
out:
    iotls_free(t);
    iotls_config_free(cfg);
    keylog_close();
    return exit_code;
}
