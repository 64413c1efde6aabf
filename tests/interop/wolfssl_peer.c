/* wolfssl_peer: a small TLS 1.3 server and client on libwolfssl, the third
 * independent implementation our interop tests run against (next to the
 * openssl and gnutls command line tools, which wolfSSL's Debian package does
 * not ship an equivalent of).
 *
 *   wolfssl_peer server --port N|0 [--addr 127.0.0.1] --cert F --key F [--ca F]
 *                [--verify-client none|optional|required] [--ciphers L] [--groups L]
 *                [--alpn L] [--echo|--http] [--key-update] [--tls12] [--count N]
 *                [--ready-file F] [-v]
 *   wolfssl_peer client --port N [--host 127.0.0.1] [--servername S] [--ca F]
 *                [--cert F --key F] [--ciphers L] [--groups L] [--alpn L] [--tls12] [-v]
 *
 * Server: serves --count connections (default 1) one after another, then
 * exits. --echo (default) sends back every byte it reads; --http answers one
 * request with a small page. --key-update sends a KeyUpdate (update_requested)
 * after the first chunk has been echoed. --port 0 lets the kernel pick the
 * port; it is printed as "ACCEPT 127.0.0.1:PORT" and written to --ready-file.
 * Client: stdin goes to the connection, the connection to stdout; at end of
 * stdin it sends close_notify and keeps reading until the server closes.
 * Both print "wolfssl_peer: handshake ok version=.. suite=.. group=.. alpn=.."
 * on stderr, and exit 0 only when everything went well. alarm(30) bounds
 * every run. Groups: x25519, secp256r1 (P-256), secp384r1 (P-384),
 * secp521r1 (P-521), x448, ffdhe2048, ffdhe3072. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

typedef struct {
    int is_server;
    const char *addr;
    int port;
    const char *cert;
    const char *key;
    const char *ca;
    const char *servername;
    const char *verify_client; /* none | optional | required */
    const char *ciphers;
    const char *groups;
    const char *alpn;
    int http;
    int key_update;
    int tls12;
    int count;
    const char *ready_file;
    int verbose;
} options;

static void die(const char *what)
{
    fprintf(stderr, "wolfssl_peer: %s\n", what);
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: wolfssl_peer server --port N --cert F --key F [options]\n"
                    "       wolfssl_peer client --port N [--ca F] [options]\n"
                    "(see the comment at the top of wolfssl_peer.c)\n");
    exit(2);
}

/* RFC 8446 names of the alerts a TLS 1.3 peer may send us. */
static const char *alert_name(int code)
{
    static const struct {
        int code;
        const char *name;
    } names[] = {
        {10, "unexpected_message"},
        {20, "bad_record_mac"},
        {40, "handshake_failure"},
        {42, "bad_certificate"},
        {43, "unsupported_certificate"},
        {45, "certificate_expired"},
        {46, "certificate_unknown"},
        {47, "illegal_parameter"},
        {48, "unknown_ca"},
        {50, "decode_error"},
        {51, "decrypt_error"},
        {70, "protocol_version"},
        {80, "internal_error"},
        {109, "missing_extension"},
        {110, "unsupported_extension"},
        {112, "unrecognized_name"},
        {116, "certificate_required"},
        {120, "no_application_protocol"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (names[i].code == code)
            return names[i].name;
    return "?";
}

static void ssl_fail(WOLFSSL *ssl, int ret, const char *what)
{
    int err = wolfSSL_get_error(ssl, ret);
    char text[WOLFSSL_MAX_ERROR_SZ];
    wolfSSL_ERR_error_string_n((unsigned long)err, text, sizeof text);
    fprintf(stderr, "wolfssl_peer: %s failed: error %d: %s\n", what, err, text);
    /* The error text only says "received alert fatal error": name the alert,
     * so a test can assert which one the peer sent. */
    WOLFSSL_ALERT_HISTORY alerts;
    if (wolfSSL_get_alert_history(ssl, &alerts) == WOLFSSL_SUCCESS && alerts.last_rx.level == 2)
        fprintf(stderr, "wolfssl_peer: received fatal alert %d (%s)\n", alerts.last_rx.code,
                alert_name(alerts.last_rx.code));
}

static int group_id(const char *name)
{
    static const struct {
        const char *name;
        int id;
    } groups[] = {
        {"x25519", WOLFSSL_ECC_X25519},       {"secp256r1", WOLFSSL_ECC_SECP256R1},
        {"P-256", WOLFSSL_ECC_SECP256R1},     {"prime256v1", WOLFSSL_ECC_SECP256R1},
        {"secp384r1", WOLFSSL_ECC_SECP384R1}, {"P-384", WOLFSSL_ECC_SECP384R1},
        {"secp521r1", WOLFSSL_ECC_SECP521R1}, {"P-521", WOLFSSL_ECC_SECP521R1},
        {"x448", WOLFSSL_ECC_X448},           {"ffdhe2048", WOLFSSL_FFDHE_2048},
        {"ffdhe3072", WOLFSSL_FFDHE_3072},
    };
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcasecmp(groups[i].name, name) == 0)
            return groups[i].id;
    fprintf(stderr, "wolfssl_peer: unknown group %s\n", name);
    exit(2);
}

/* Parses "a,b,c" (or ':'-separated) into wolfSSL group ids; returns count. */
static int parse_groups(const char *list, int *ids, int max)
{
    char copy[256];
    int n = 0;
    if (strlen(list) >= sizeof copy)
        die("--groups too long");
    strcpy(copy, list);
    for (char *save = NULL, *tok = strtok_r(copy, ",:", &save); tok;
         tok = strtok_r(NULL, ",:", &save)) {
        if (n == max)
            die("too many groups");
        ids[n++] = group_id(tok);
    }
    return n;
}

static void print_summary(WOLFSSL *ssl, const options *o)
{
    char *proto = NULL;
    unsigned short proto_len = 0;
    char alpn[256] = "";
    const char *curve = wolfSSL_get_curve_name(ssl);
    if (wolfSSL_ALPN_GetProtocol(ssl, &proto, &proto_len) == WOLFSSL_SUCCESS && proto &&
        proto_len < sizeof alpn) {
        memcpy(alpn, proto, proto_len);
        alpn[proto_len] = '\0';
    }
    fprintf(stderr, "wolfssl_peer: handshake ok version=%s suite=%s group=%s alpn=%s\n",
            wolfSSL_get_version(ssl), wolfSSL_get_cipher_name(ssl), curve ? curve : "none",
            alpn[0] ? alpn : "none");
    if (o->is_server && o->verify_client && strcmp(o->verify_client, "none") != 0) {
        WOLFSSL_X509 *peer = wolfSSL_get_peer_certificate(ssl);
        if (peer) {
            char subject[256];
            wolfSSL_X509_NAME_oneline(wolfSSL_X509_get_subject_name(peer), subject, sizeof subject);
            fprintf(stderr, "wolfssl_peer: client certificate verified: %s\n", subject);
            wolfSSL_X509_free(peer);
        } else {
            fprintf(stderr, "wolfssl_peer: no client certificate\n");
        }
    }
}

static int write_all(WOLFSSL *ssl, const char *buf, int len)
{
    int off = 0;
    while (off < len) {
        int n = wolfSSL_write(ssl, buf + off, len - off);
        if (n <= 0) {
            ssl_fail(ssl, n, "write");
            return -1;
        }
        off += n;
    }
    return 0;
}

/* Reads until close_notify; 0 = clean end, -1 = error. */
static int serve_echo(WOLFSSL *ssl, const options *o)
{
    char buf[16384];
    int updated = 0;
    for (;;) {
        int n = wolfSSL_read(ssl, buf, sizeof buf);
        if (n <= 0) {
            int err = wolfSSL_get_error(ssl, n);
            if (err == WOLFSSL_ERROR_ZERO_RETURN)
                return 0;
            ssl_fail(ssl, n, "read");
            return -1;
        }
        if (write_all(ssl, buf, n) != 0)
            return -1;
        if (o->key_update && !updated) {
            int ret = wolfSSL_update_keys(ssl);
            if (ret != WOLFSSL_SUCCESS) {
                ssl_fail(ssl, ret, "update_keys");
                return -1;
            }
            updated = 1;
            fprintf(stderr, "wolfssl_peer: KeyUpdate sent\n");
        }
    }
}

static int serve_http(WOLFSSL *ssl)
{
    char req[8192] = "";
    size_t have = 0;
    while (!strstr(req, "\r\n\r\n")) {
        int n;
        if (have + 1 >= sizeof req)
            return -1;
        n = wolfSSL_read(ssl, req + have, (int)(sizeof req - 1 - have));
        if (n <= 0) {
            ssl_fail(ssl, n, "read");
            return -1;
        }
        have += (size_t)n;
        req[have] = '\0';
    }
    {
        static const char body[] = "<html><body>wolfssl_peer</body></html>\n";
        char resp[512];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           sizeof body - 1, body);
        return write_all(ssl, resp, len);
    }
}

/* Client: stdin to the connection, the connection to stdout. */
static int relay(WOLFSSL *ssl, int fd)
{
    char buf[16384];
    int stdin_open = 1;
    /* A record that carries no data for us (a NewSessionTicket, which
     * servers send by default) must not leave wolfSSL_read blocked while
     * stdin has data to send: reads give up after 50 ms (WANT_READ). */
    struct timeval tv = {0, 50000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0) {
        perror("wolfssl_peer: SO_RCVTIMEO");
        return -1;
    }
    for (;;) {
        struct pollfd pfd[2] = {{fd, POLLIN, 0}, {0, POLLIN, 0}};
        int nfds = stdin_open ? 2 : 1;
        if (wolfSSL_pending(ssl) == 0 && poll(pfd, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR)
                continue;
            perror("wolfssl_peer: poll");
            return -1;
        }
        if (wolfSSL_pending(ssl) > 0 || (pfd[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            int n = wolfSSL_read(ssl, buf, sizeof buf);
            if (n <= 0) {
                int err = wolfSSL_get_error(ssl, n);
                if (err == WOLFSSL_ERROR_WANT_READ)
                    continue;
                if (err == WOLFSSL_ERROR_ZERO_RETURN)
                    return 0;
                if (!stdin_open && (err == SOCKET_PEER_CLOSED_E || err == SOCKET_ERROR_E))
                    return 0; /* we already said close_notify; a bare close is fine */
                ssl_fail(ssl, n, "read");
                return -1;
            }
            if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n)
                return -1;
            fflush(stdout);
        }
        if (stdin_open && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0) {
                stdin_open = 0;
                wolfSSL_shutdown(ssl); /* close_notify; keep reading */
                continue;
            }
            if (write_all(ssl, buf, (int)n) != 0)
                return -1;
        }
    }
}

static WOLFSSL_CTX *make_ctx(const options *o)
{
    WOLFSSL_CTX *ctx;
    if (o->is_server)
        ctx = wolfSSL_CTX_new(o->tls12 ? wolfTLSv1_2_server_method() : wolfTLSv1_3_server_method());
    else
        ctx = wolfSSL_CTX_new(o->tls12 ? wolfTLSv1_2_client_method() : wolfTLSv1_3_client_method());
    if (!ctx)
        die("wolfSSL_CTX_new failed");
    if (o->cert && wolfSSL_CTX_use_certificate_chain_file(ctx, o->cert) != WOLFSSL_SUCCESS)
        die("cannot load --cert");
    if (o->key &&
        wolfSSL_CTX_use_PrivateKey_file(ctx, o->key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
        die("cannot load --key");
    if (o->ca && wolfSSL_CTX_load_verify_locations(ctx, o->ca, NULL) != WOLFSSL_SUCCESS)
        die("cannot load --ca");
    if (o->ciphers && wolfSSL_CTX_set_cipher_list(ctx, o->ciphers) != WOLFSSL_SUCCESS)
        die("bad --ciphers");
    if (o->is_server) {
        const char *v = o->verify_client ? o->verify_client : "none";
        if (strcmp(v, "required") == 0)
            wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER | WOLFSSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                                   NULL);
        else if (strcmp(v, "optional") == 0)
            wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
        else if (strcmp(v, "none") == 0)
            wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
        else
            usage();
    } else {
        wolfSSL_CTX_set_verify(ctx, o->ca ? WOLFSSL_VERIFY_PEER : WOLFSSL_VERIFY_NONE, NULL);
    }
    if (o->groups && !o->tls12) {
        int ids[16];
        int n = parse_groups(o->groups, ids, 16);
        if (wolfSSL_CTX_set_groups(ctx, ids, n) != WOLFSSL_SUCCESS)
            die("bad --groups (group not compiled into this wolfSSL?)");
    }
    return ctx;
}

static WOLFSSL *make_ssl(WOLFSSL_CTX *ctx, const options *o, int fd)
{
    WOLFSSL *ssl = wolfSSL_new(ctx);
    if (!ssl)
        die("wolfSSL_new failed");
    if (o->alpn) {
        char list[256];
        if (strlen(o->alpn) >= sizeof list)
            die("--alpn too long");
        strcpy(list, o->alpn);
        if (wolfSSL_UseALPN(ssl, list, (unsigned)strlen(list), WOLFSSL_ALPN_FAILED_ON_MISMATCH) !=
            WOLFSSL_SUCCESS)
            die("bad --alpn");
    }
    if (!o->is_server) {
        const char *name = o->servername ? o->servername : "localhost";
        if (o->groups && !o->tls12) {
            /* Our first listed group gets the one key share, as iotls does. */
            int ids[16];
            parse_groups(o->groups, ids, 16);
            if (wolfSSL_NoKeyShares(ssl) != WOLFSSL_SUCCESS ||
                wolfSSL_UseKeyShare(ssl, (word16)ids[0]) != WOLFSSL_SUCCESS)
                die("cannot set key share");
        }
        if (wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, name, (unsigned short)strlen(name)) !=
            WOLFSSL_SUCCESS)
            die("cannot set SNI");
        if (o->ca && wolfSSL_check_domain_name(ssl, name) != WOLFSSL_SUCCESS)
            die("cannot set name check");
    }
    if (wolfSSL_set_fd(ssl, fd) != WOLFSSL_SUCCESS)
        die("wolfSSL_set_fd failed");
    return ssl;
}

static int run_server(const options *o)
{
    struct sockaddr_in addr;
    socklen_t addr_len = sizeof addr;
    int one = 1, failures = 0;
    WOLFSSL_CTX *ctx = make_ctx(o);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    if (lfd < 0)
        die("socket failed");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->addr, &addr.sin_addr) != 1)
        die("bad --addr");
    if (bind(lfd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("wolfssl_peer: bind");
        return 1;
    }
    if (listen(lfd, 8) != 0 || getsockname(lfd, (struct sockaddr *)&addr, &addr_len) != 0)
        die("listen failed");
    printf("ACCEPT %s:%u\n", o->addr, (unsigned)ntohs(addr.sin_port));
    fflush(stdout);
    if (o->ready_file) {
        char tmp[4096];
        FILE *f;
        snprintf(tmp, sizeof tmp, "%s.tmp", o->ready_file);
        f = fopen(tmp, "w");
        if (!f || fprintf(f, "%u\n", (unsigned)ntohs(addr.sin_port)) < 0 || fclose(f) != 0 ||
            rename(tmp, o->ready_file) != 0)
            die("cannot write --ready-file");
    }
    for (int i = 0; i < o->count; i++) {
        int fd = accept(lfd, NULL, NULL);
        WOLFSSL *ssl;
        int ret, ok;
        if (fd < 0) {
            if (errno == EINTR) {
                i--;
                continue;
            }
            die("accept failed");
        }
        ssl = make_ssl(ctx, o, fd);
        ret = wolfSSL_accept(ssl);
        if (ret != WOLFSSL_SUCCESS) {
            ssl_fail(ssl, ret, "handshake");
            failures++;
        } else {
            print_summary(ssl, o);
            ok = (o->http ? serve_http(ssl) : serve_echo(ssl, o)) == 0;
            if (!ok)
                failures++;
            wolfSSL_shutdown(ssl);
        }
        wolfSSL_free(ssl);
        close(fd);
    }
    close(lfd);
    wolfSSL_CTX_free(ctx);
    return failures ? 1 : 0;
}

static int run_client(const options *o)
{
    struct sockaddr_in addr;
    WOLFSSL_CTX *ctx = make_ctx(o);
    WOLFSSL *ssl;
    int ret, rc;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket failed");
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->addr, &addr.sin_addr) != 1)
        die("bad --host (an IPv4 address)");
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("wolfssl_peer: connect");
        return 1;
    }
    ssl = make_ssl(ctx, o, fd);
    ret = wolfSSL_connect(ssl);
    if (ret != WOLFSSL_SUCCESS) {
        ssl_fail(ssl, ret, "handshake");
        rc = 1;
    } else {
        print_summary(ssl, o);
        rc = relay(ssl, fd) == 0 ? 0 : 1;
    }
    wolfSSL_free(ssl);
    close(fd);
    wolfSSL_CTX_free(ctx);
    return rc;
}

int main(int argc, char **argv)
{
    options o;
    memset(&o, 0, sizeof o);
    o.addr = "127.0.0.1";
    o.port = -1;
    o.count = 1;
    if (argc < 2)
        usage();
    if (strcmp(argv[1], "server") == 0)
        o.is_server = 1;
    else if (strcmp(argv[1], "client") != 0)
        usage();
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name, field)                                                                           \
    if (strcmp(a, name) == 0) {                                                                    \
        if (!v)                                                                                    \
            usage();                                                                               \
        field = v;                                                                                 \
        i++;                                                                                       \
        continue;                                                                                  \
    }
        ARG("--addr", o.addr)
        ARG("--host", o.addr)
        ARG("--cert", o.cert)
        ARG("--key", o.key)
        ARG("--ca", o.ca)
        ARG("--servername", o.servername)
        ARG("--verify-client", o.verify_client)
        ARG("--ciphers", o.ciphers)
        ARG("--groups", o.groups)
        ARG("--alpn", o.alpn)
        ARG("--ready-file", o.ready_file)
#undef ARG
        if (strcmp(a, "--port") == 0 && v) {
            o.port = atoi(v);
            i++;
        } else if (strcmp(a, "--count") == 0 && v) {
            o.count = atoi(v);
            i++;
        } else if (strcmp(a, "--echo") == 0) {
            o.http = 0;
        } else if (strcmp(a, "--http") == 0) {
            o.http = 1;
        } else if (strcmp(a, "--key-update") == 0) {
            o.key_update = 1;
        } else if (strcmp(a, "--tls12") == 0) {
            o.tls12 = 1;
        } else if (strcmp(a, "-v") == 0) {
            o.verbose = 1;
        } else {
            fprintf(stderr, "wolfssl_peer: unknown option %s\n", a);
            usage();
        }
    }
    if (o.port < 0 || o.port > 65535 || (!o.is_server && o.port == 0) || o.count < 1)
        usage();
    if (o.is_server && (!o.cert || !o.key))
        usage();
    if ((o.cert == NULL) != (o.key == NULL))
        usage();
    /* Bounded: a hung peer must not hang the test run. */
    alarm(30);
    signal(SIGPIPE, SIG_IGN);
    if (wolfSSL_Init() != WOLFSSL_SUCCESS)
        die("wolfSSL_Init failed");
    if (o.verbose)
        wolfSSL_Debugging_ON();
    {
        int rc = o.is_server ? run_server(&o) : run_client(&o);
        wolfSSL_Cleanup();
        return rc;
    }
}
