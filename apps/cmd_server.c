/* iotls server: accepts TLS 1.3 connections and echoes or answers HTTP
 * requests, in an event loop (server_loop.c) of --workers threads. Prints
 * one line per connection with what was negotiated (or why the handshake
 * failed). SIGINT/SIGTERM: stops accepting, lets open exchanges finish and
 * ends them with close_notify. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cmds.h"
#include "exit_codes.h"
#include "iotls/features.h"
#include "iotls/iotls.h"
#include "keylog.h"
#include "replay_redis.h"
#include "server_loop.h"
#include "trace.h"

#define DEFAULT_TIMEOUT_MS 10000
#define DEFAULT_TICKETS 2

static void on_signal(int sig)
{
    (void)sig;
    atomic_store(&server_stop_requested, 1);
}

/* Descriptors: the soft limit is raised to the hard one (a gateway holds
 * thousands of sockets); connections get all but a few kept for the
 * listener, logs, key files and Redis. */
#define FDS_RESERVED 32

static unsigned long raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return 1024 - FDS_RESERVED;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        (void)setrlimit(RLIMIT_NOFILE, &rl);
        (void)getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > 1000000)
        return 1000000;
    return rl.rlim_cur > 2 * FDS_RESERVED ? (unsigned long)rl.rlim_cur - FDS_RESERVED : 1;
}

static unsigned default_workers(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : (unsigned)n;
}

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: iotls server --port N (--cert FILE --key FILE | --psk HEX --psk-identity ID) "
        "[options]\n"
        "  --addr ADDR          listen address (default 127.0.0.1)\n"
        "  --port N             port; 0 picks a free one (see ACCEPT line, --ready-file)\n"
        "  --cert FILE --key FILE  certificate chain (leaf first) and its key\n"
        "  --key-pass SOURCE    passphrase of an encrypted --key: pass:TEXT, env:VAR, file:PATH\n"
        "  --ca FILE|DIR        require client certificates signed by these CAs\n"
        "  --verify-optional    with --ca: ask for, but do not require, a certificate\n"
        "  --crl FILE           with --ca: refuse client certificates their CA revoked (PEM,\n"
        "                       several per file, or DER; repeatable). The CA of the client's\n"
        "                       certificate must have a CRL loaded; one past its nextUpdate\n"
        "                       or not signed by its CA refuses the client\n"
        "  --alpn LIST          accepted protocols in preference order\n"
        "  --groups LIST        key exchange groups in preference order\n"
        "  --ciphers LIST       cipher suites in preference order\n"
        "  --echo               echo received data back (default)\n"
        "  --http               answer HTTP/1.x requests with the negotiated parameters\n"
        "  --keylog FILE        append NSS key log lines (also $SSLKEYLOGFILE)\n"
        "  --max-handshake N    largest handshake message accepted (512..262144)\n"
        "  --reassemble-in-place  no handshake buffer: a message spanning records is joined\n"
        "                       in the record buffer (a layout that does not fit fails)\n"
        "  --max-rsa-bits N     largest RSA key in the client's chain (2048..8192, default 4096)\n"
        "  --record-size N      largest record plaintext received and sent (512..16384);\n"
        "                       below 16384 announced as record_size_limit/max_fragment_length\n"
        "  --timeout S          handshake timeout in seconds, fractions allowed (default %d);\n"
        "                       also how long a send may make no progress, and how long\n"
        "                       stopping waits for open exchanges\n"
        "  --idle-timeout S     close (close_notify) a connection after S seconds with\n"
        "                       nothing received or sent (default 0: never)\n"
        "  --workers N          event-loop threads (default: the number of cores)\n"
        "  --max-connections N  connections open at once; more are accepted and closed at\n"
        "                       once (default: the descriptor limit, less a few)\n"
        "  --poll               wait with poll(2) instead of epoll (the same as where epoll\n"
        "                       is missing)\n"
        "  --once               exit after one connection (exit status: its result)\n"
        "  --tickets N          session tickets sent after each handshake (default 2; 0: none)\n"
        "  --ticket-keys FILE   ticket master secret shared between servers: 48 bytes, raw or\n"
        "                       hex (servers sharing it and the clock rotate keys in step)\n"
        "  --ticket-rotation S  ticket key rotation period in seconds (default 86400, min 60);\n"
        "                       tickets last at most one period, old key accepted one period\n"
        "  --early-data MAX     accept up to MAX bytes of 0-RTT early data per connection\n"
        "                       (needs --tickets; replays refused within this process only)\n"
        "  --replay-redis H:P   with --early-data: refuse replays across every server sharing\n"
        "                       this Redis (no Redis: 0-RTT refused; needs -DIOTLS_REDIS=ON)\n"
        "  --ready-file FILE    write the port there once listening\n"
        "  --psk HEX --psk-identity ID  external PSK (then --cert/--key are optional);\n"
        "                       --psk-hash sha256|sha384 (default: the first --ciphers\n"
        "                       suite's, else sha256)\n"
        "  --psk-ke             prefer PSK without ECDHE (psk_ke) when the client offers it\n"
        "  --hrr-cookie         stateless HelloRetryRequest: it carries a cookie the client\n"
        "                       must echo (RFC 8446 4.2.2); without, the connection keeps that\n"
        "                       state. Some clients (Mbed TLS 4.0) refuse a cookie they did\n"
        "                       not send\n"
        "  --key-update-limit N KeyUpdate after N records under one key (tests)\n"
        "  -v                   trace handshakes on stderr\n"
        "SIGINT/SIGTERM stop accepting (new connections are refused), let open exchanges\n"
        "finish, close them with close_notify and exit 0.\n",
        DEFAULT_TIMEOUT_MS / 1000);
}

static int write_ready_file(const char *path, int port)
{
    /* Written to a temporary name and renamed, so a test polling for the
     * file never reads it half-written. */
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        return -1;
    return 0;
}

int cmd_server(int argc, char **argv)
{
    const char *addr = "127.0.0.1", *port = NULL, *cert = NULL, *key = NULL, *ca = NULL,
               *alpn = NULL, *groups = NULL, *ciphers = NULL, *keylog = NULL, *ready_file = NULL,
               *ticket_keys = NULL, *psk = NULL, *psk_identity = NULL, *psk_hash = NULL,
               *key_pass = NULL, *replay_redis = NULL;
    int psk_ke = 0, hrr_cookie = 0, reasm_in_place = 0;
    unsigned long key_update_limit = 0;
    unsigned long early_max = 0, ticket_rotation = 0;
    /* Tickets by default, as openssl s_server: a client can try resumption
     * without knowing a flag (none in an image built without it). */
    unsigned long tickets = IOTLS_FEATURE_RESUMPTION ? DEFAULT_TICKETS : 0;
    int tickets_given = 0;
    const char *crls[APP_MAX_CRLS];
    size_t crl_count = 0;
    int verify_optional = 0, verbose = 0, once = 0, mode_echo = 0, mode_http = 0;
    unsigned long max_hs = 0, max_rsa_bits = 0, record_size = 0, timeout = DEFAULT_TIMEOUT_MS;
    unsigned long idle_timeout = 0, workers = 0, max_connections = 0;
    int use_poll = 0;

    for (int i = 1; i < argc; i++) {
        const char *v;
        if ((v = app_opt_value(argc, argv, &i, "--addr")))
            addr = v;
        else if ((v = app_opt_value(argc, argv, &i, "--port"))) {
            (void)app_parse_num("--port", v, 0, 65535);
            port = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--cert")))
            cert = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key")))
            key = v;
        else if ((v = app_opt_value(argc, argv, &i, "--key-pass")))
            key_pass = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ca")))
            ca = v;
        else if ((v = app_opt_value(argc, argv, &i, "--crl"))) {
            if (crl_count == APP_MAX_CRLS) {
                fprintf(stderr, "iotls server: too many --crl options\n");
                return APP_EXIT_USAGE;
            }
            crls[crl_count++] = v;
        } else if ((v = app_opt_value(argc, argv, &i, "--alpn")))
            alpn = v;
        else if ((v = app_opt_value(argc, argv, &i, "--groups")))
            groups = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ciphers")))
            ciphers = v;
        else if ((v = app_opt_value(argc, argv, &i, "--keylog")))
            keylog = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ready-file")))
            ready_file = v;
        else if ((v = app_opt_value(argc, argv, &i, "--tickets"))) {
            tickets = app_parse_num("--tickets", v, 0, 16);
            tickets_given = 1;
        } else if ((v = app_opt_value(argc, argv, &i, "--ticket-keys")))
            ticket_keys = v;
        else if ((v = app_opt_value(argc, argv, &i, "--ticket-rotation")))
            ticket_rotation = app_parse_num("--ticket-rotation", v, 60, 0xFFFFFFFFul);
        else if ((v = app_opt_value(argc, argv, &i, "--early-data")))
            early_max = app_parse_num("--early-data", v, 0, 1u << 20);
        else if ((v = app_opt_value(argc, argv, &i, "--replay-redis")))
            replay_redis = v;
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
        else if (app_opt_flag(argv, i, "--hrr-cookie"))
            hrr_cookie = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--record-size")))
            record_size = app_parse_num("--record-size", v, 512, 16384);
        else if ((v = app_opt_value(argc, argv, &i, "--max-handshake")))
            max_hs = app_parse_num("--max-handshake", v, 512, 262144);
        else if (app_opt_flag(argv, i, "--reassemble-in-place"))
            reasm_in_place = 1;
        else if ((v = app_opt_value(argc, argv, &i, "--max-rsa-bits")))
            max_rsa_bits = app_parse_num("--max-rsa-bits", v, 2048, 8192);
        else if ((v = app_opt_value(argc, argv, &i, "--timeout")))
            timeout = app_parse_seconds("--timeout", v);
        else if ((v = app_opt_value(argc, argv, &i, "--idle-timeout")))
            idle_timeout = app_parse_seconds("--idle-timeout", v);
        else if ((v = app_opt_value(argc, argv, &i, "--workers")))
            workers = app_parse_num("--workers", v, 1, 256);
        else if ((v = app_opt_value(argc, argv, &i, "--max-connections")))
            max_connections = app_parse_num("--max-connections", v, 1, 1000000);
        else if (app_opt_flag(argv, i, "--verify-optional"))
            verify_optional = 1;
        else if (app_opt_flag(argv, i, "--echo"))
            mode_echo = 1;
        else if (app_opt_flag(argv, i, "--http") || app_opt_flag(argv, i, "--www"))
            mode_http = 1;
        else if (app_opt_flag(argv, i, "--once"))
            once = 1;
        else if (app_opt_flag(argv, i, "--poll"))
            use_poll = 1;
        else if (app_opt_flag(argv, i, "-v") || app_opt_flag(argv, i, "--verbose"))
            verbose = 1;
        else if (app_opt_flag(argv, i, "--help") || app_opt_flag(argv, i, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "iotls server: unknown option %s; try 'iotls server --help'\n",
                    argv[i]);
            return APP_EXIT_USAGE;
        }
    }
    if (port == NULL || (cert == NULL) != (key == NULL) || (cert == NULL && psk == NULL)) {
        fprintf(stderr, "iotls server: --port, and --cert with --key or --psk, are required; try "
                        "'iotls server --help'\n");
        return APP_EXIT_USAGE;
    }
    if (mode_echo && mode_http) {
        fprintf(stderr, "iotls server: --echo and --http exclude each other\n");
        return APP_EXIT_USAGE;
    }
    if (verify_optional && ca == NULL) {
        fprintf(stderr, "iotls server: --verify-optional needs --ca\n");
        return APP_EXIT_USAGE;
    }
    if (crl_count > 0 && ca == NULL) {
        fprintf(stderr, "iotls server: --crl needs --ca (client certificates are not asked "
                        "for without it)\n");
        return APP_EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN);

    /* Until the server listens, a failure is the configuration's. */
    int exit_code = APP_EXIT_CONFIG, lfd = -1, rc;
    iotls *server = NULL;
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL) {
        app_error("configuration", IOTLS_ERR_NO_MEMORY);
        exit_code = APP_EXIT_FAILURE;
        goto out;
    }
    if (psk && app_set_psk(cfg, psk, psk_identity, psk_hash, ciphers) != 0)
        goto out;
    if (psk_ke)
        iotls_config_set_psk_ke(cfg, IOTLS_PSK_KE_ONLY);
    if (key_update_limit)
        iotls_config_set_key_update_limit(cfg, key_update_limit);
    if (hrr_cookie && (rc = iotls_config_set_hrr_cookie(cfg, 1)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --hrr-cookie: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (cert && (rc = app_set_cert(cfg, cert, key, key_pass)) != IOTLS_OK)
        goto out;
    if (ca) {
        if (app_load_ca(cfg, ca) != IOTLS_OK || app_load_crls(cfg, crls, crl_count) != IOTLS_OK)
            goto out;
        (void)iotls_config_set_verify_client(cfg, verify_optional ? IOTLS_VERIFY_CLIENT_OPTIONAL
                                                                  : IOTLS_VERIFY_CLIENT_REQUIRED);
    }
    if (groups && iotls_config_set_groups(cfg, groups) != IOTLS_OK) {
        fprintf(stderr, "iotls: --groups %s: unknown or repeated group\n", groups);
        goto out;
    }
    if (ciphers && iotls_config_set_ciphers(cfg, ciphers) != IOTLS_OK) {
        fprintf(stderr,
                "iotls: --ciphers %s: unknown or repeated cipher suite (valid: "
                "TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, "
                "or aes128gcm, aes256gcm, chacha20)\n",
                ciphers);
        goto out;
    }
    if (alpn && iotls_config_set_alpn(cfg, alpn) != IOTLS_OK) {
        fprintf(stderr, "iotls: --alpn %s: bad protocol list\n", alpn);
        goto out;
    }
    if (max_hs)
        (void)iotls_config_set_max_handshake_size(cfg, max_hs);
    if (reasm_in_place)
        (void)iotls_config_set_reassemble_in_place(cfg, 1);
    if (max_rsa_bits)
        (void)iotls_config_set_max_rsa_bits(cfg, (unsigned)max_rsa_bits);
    if (record_size)
        (void)iotls_config_set_record_size(cfg, record_size);
    iotls_config_set_timeout_ms(cfg, (uint32_t)timeout);
    if (ticket_keys && (rc = iotls_config_set_ticket_key_file(cfg, ticket_keys)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --ticket-keys %s: want 48 bytes, raw or 96 hex digits\n",
                ticket_keys);
        goto out;
    }
    if (ticket_rotation &&
        (rc = iotls_config_set_ticket_rotation(cfg, (uint32_t)ticket_rotation)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --ticket-rotation: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (early_max && (rc = iotls_config_set_early_data(cfg, (uint32_t)early_max)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --early-data: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (replay_redis && replay_redis_install(cfg, replay_redis, early_max > 0) != 0)
        goto out;
    if ((tickets || tickets_given) &&
        (rc = iotls_config_set_tickets(cfg, (unsigned)tickets)) != IOTLS_OK) {
        fprintf(stderr, "iotls: --tickets: %s\n", iotls_error_string(rc));
        goto out;
    }
    if (keylog_setup(cfg, keylog) != 0)
        goto out;
    if (verbose)
        trace_install(cfg, stderr);

    server = iotls_server_new(cfg);
    if (server == NULL) {
        app_error("server", IOTLS_ERR_NO_MEMORY);
        exit_code = APP_EXIT_FAILURE;
        goto out;
    }
    unsigned long fd_room = raise_fd_limit();
    server_opts opts = {
        .cfg = cfg,
        .mode = mode_http ? SERVER_HTTP : SERVER_ECHO,
        .verbose = verbose,
        .once = once,
        .use_poll = use_poll,
        .workers = workers ? (unsigned)workers : default_workers(),
        .max_connections = max_connections ? max_connections : fd_room,
        .handshake_timeout_ms = (uint32_t)timeout,
        .idle_timeout_ms = (uint32_t)idle_timeout,
    };

    int bound_port = 0;
    /* A deep accept queue: gateways take bursts of reconnections. */
    rc = iotls_listen(addr, port, 4096, &lfd, &bound_port);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: cannot listen on %s port %s: %s (%s)\n", addr, port,
                iotls_error_string(rc), strerror(errno));
        exit_code = app_exit_for(rc);
        goto out;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: the loop's sleep must end */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    printf(strchr(addr, ':') ? "ACCEPT [%s]:%d\n" : "ACCEPT %s:%d\n", addr, bound_port);
    fflush(stdout);
    if (ready_file && write_ready_file(ready_file, bound_port) != 0) {
        fprintf(stderr, "iotls: cannot write %s: %s\n", ready_file, strerror(errno));
        goto out;
    }

    exit_code = server_loop_run(&opts, &lfd);

out:
    if (lfd >= 0)
        close(lfd);
    iotls_free(server);
    iotls_config_free(cfg);
    keylog_close();
    return exit_code;
}
