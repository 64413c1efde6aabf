/* iotls: one program, several subcommands (client, server, demo; bench in
 * builds configured with -DIOTLS_BENCH=ON, bench/). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "exit_codes.h"
#include "iotls/iotls.h"

static void usage(FILE *out)
{
    fprintf(out, "usage: iotls COMMAND [OPTIONS]\n"
                 "\n"
                 "commands:\n"
                 "  client HOST:PORT   connect with TLS 1.3 (stdin/stdout, or --get PATH)\n"
                 "  server --port N    accept TLS 1.3 connections (--echo or --http)\n"
                 "  demo               client and server in one process, step by step\n"
#ifdef IOTLS_BENCH
                 "  bench              handshakes and throughput over memory and loopback\n"
#endif
                 "  version            print the version, crypto library and key exchange groups\n"
                 "  help               this text; 'iotls COMMAND --help' for a command's options\n"
                 "\n"
                 "exit codes:\n");
    app_exit_codes_print(out);
}

const char *app_opt_value(int argc, char **argv, int *i, const char *name)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return NULL;
    if (arg[n] == '=')
        return arg + n + 1;
    if (arg[n] != '\0')
        return NULL;
    if (*i + 1 >= argc) {
        fprintf(stderr, "iotls: option %s needs a value\n", name);
        exit(APP_EXIT_USAGE);
    }
    *i += 1;
    return argv[*i];
}

int app_opt_flag(char **argv, int i, const char *name)
{
    return strcmp(argv[i], name) == 0;
}

int app_write_all(iotls *t, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t w = iotls_write(t, p, len);
        if (w < 0)
            return (int)w;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

unsigned long app_parse_num(const char *opt, const char *s, unsigned long min, unsigned long max)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "iotls: %s: '%s' is not a number from %lu to %lu\n", opt, s, min, max);
        exit(APP_EXIT_USAGE);
    }
    return v;
}

uint32_t app_parse_seconds(const char *opt, const char *s)
{
    char *end = NULL;
    errno = 0;
    /* Decimal digits and one point only: strtod alone would also take
     * "inf", "nan", hex and exponents. */
    double v = s[0] != '\0' && strspn(s, "0123456789.") == strlen(s) ? strtod(s, &end) : -1;
    if (errno != 0 || end == s || end == NULL || *end != '\0' || v < 0 || v > 86400) {
        fprintf(stderr, "iotls: %s: '%s' is not a number of seconds from 0 to 86400\n", opt, s);
        exit(APP_EXIT_USAGE);
    }
    return (uint32_t)(v * 1000.0 + 0.5);
}

int app_set_psk(iotls_config *cfg, const char *hex, const char *identity, const char *hash,
                const char *ciphers)
{
    uint8_t key[64];
    size_t len = strlen(hex);
    if (identity == NULL || identity[0] == '\0') {
        fprintf(stderr, "iotls: --psk needs --psk-identity\n");
        return -1;
    }
    if (len % 2 != 0 || len / 2 < 16 || len / 2 > sizeof key) {
        fprintf(stderr, "iotls: --psk: want 32 to 128 hex digits (16 to 64 bytes)\n");
        return -1;
    }
    for (size_t i = 0; i < len / 2; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdefABCDEF", hex[2 * i]) ||
            !strchr("0123456789abcdefABCDEF", hex[2 * i + 1])) {
            fprintf(stderr, "iotls: --psk: not hex\n");
            return -1;
        }
        key[i] = (uint8_t)v;
    }
    uint16_t suite = IOTLS_TLS_AES_128_GCM_SHA256;
    if (hash) {
        if (strcmp(hash, "sha384") == 0 || strcmp(hash, "SHA384") == 0)
            suite = IOTLS_TLS_AES_256_GCM_SHA384;
        else if (strcmp(hash, "sha256") != 0 && strcmp(hash, "SHA256") != 0) {
            fprintf(stderr, "iotls: --psk-hash: sha256 or sha384\n");
            return -1;
        }
    } else if (ciphers) {
        /* The first suite listed decides: only AES-256-GCM has SHA-384. */
        size_t first = strcspn(ciphers, ":,");
        char tok[64];
        snprintf(tok, sizeof tok, "%.*s", (int)(first < 63 ? first : 63), ciphers);
        if (strstr(tok, "384") || strstr(tok, "aes256") || strstr(tok, "AES_256"))
            suite = IOTLS_TLS_AES_256_GCM_SHA384;
    }
    int rc =
        iotls_config_set_psk(cfg, (const uint8_t *)identity, strlen(identity), key, len / 2, suite);
    memset(key, 0, sizeof key);
    if (rc != IOTLS_OK) {
        fprintf(stderr, "iotls: --psk: %s (identity 1..128 bytes)\n", iotls_error_string(rc));
        return -1;
    }
    return 0;
}

void app_error(const char *what, int rc)
{
    fprintf(stderr, "iotls: %s: %s\n", what, iotls_error_string(rc));
}

/* The passphrase named by an openssl-style source into out. */
static int key_pass_from(const char *source, char *out, size_t cap)
{
    if (strncmp(source, "pass:", 5) == 0) {
        if (strlen(source + 5) >= cap)
            return -1;
        strcpy(out, source + 5);
        return 0;
    }
    if (strncmp(source, "env:", 4) == 0) {
        const char *v = getenv(source + 4);
        if (v == NULL) {
            fprintf(stderr, "iotls: --key-pass %s: no such environment variable\n", source);
            return -1;
        }
        if (strlen(v) >= cap)
            return -1;
        strcpy(out, v);
        return 0;
    }
    if (strncmp(source, "file:", 5) == 0) {
        FILE *f = fopen(source + 5, "r");
        if (f == NULL) {
            fprintf(stderr, "iotls: --key-pass %s: %s\n", source, strerror(errno));
            return -1;
        }
        if (fgets(out, (int)cap, f) == NULL)
            out[0] = '\0';
        fclose(f);
        out[strcspn(out, "\r\n")] = '\0';
        return 0;
    }
    fprintf(stderr, "iotls: --key-pass: want pass:TEXT, env:VAR or file:PATH\n");
    return -1;
}

int app_set_cert(iotls_config *cfg, const char *cert, const char *key, const char *key_pass)
{
    if (key_pass) {
        char pass[1024];
        int ok = key_pass_from(key_pass, pass, sizeof pass) == 0 &&
                 iotls_config_set_key_password(cfg, pass) == IOTLS_OK;
        memset(pass, 0, sizeof pass);
        if (!ok)
            return IOTLS_ERR_CONFIG;
    }
    int rc = iotls_config_set_cert_file(cfg, cert, key);
    if (rc != IOTLS_OK)
        fprintf(stderr, "iotls: %s\n",
                iotls_config_error(cfg)[0] ? iotls_config_error(cfg) : iotls_error_string(rc));
    return rc;
}

int app_load_ca(iotls_config *cfg, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "iotls: CA %s: %s\n", path, strerror(errno));
        return IOTLS_ERR_KEY_LOAD;
    }
    int rc = S_ISDIR(st.st_mode) ? iotls_config_set_ca_dir(cfg, path)
                                 : iotls_config_set_ca_file(cfg, path);
    if (rc != IOTLS_OK)
        fprintf(stderr, "iotls: %s\n",
                iotls_config_error(cfg)[0] ? iotls_config_error(cfg) : iotls_error_string(rc));
    else if (iotls_config_ca_skipped(cfg) > 0)
        fprintf(stderr,
                "iotls: CA %s: %zu %s skipped (not usable by iotls: unparsable, or a key "
                "neither RSA nor EC)\n",
                path, iotls_config_ca_skipped(cfg),
                S_ISDIR(st.st_mode) ? "files or certificates" : "certificates");
    return rc;
}

int app_load_crls(iotls_config *cfg, const char *const *paths, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int rc = iotls_config_set_crl_file(cfg, paths[i]);
        if (rc != IOTLS_OK) {
            fprintf(stderr, "iotls: %s\n",
                    iotls_config_error(cfg)[0] ? iotls_config_error(cfg) : iotls_error_string(rc));
            return rc;
        }
    }
    return IOTLS_OK;
}

/* The key-exchange groups this build's crypto library has, as `iotls
 * version` reports them: a library configured without some curve (Mbed TLS
 * with p256-m has P-256 only) refuses them in --groups, and the test legs
 * read this line to know which cells apply. */
static void print_groups(void)
{
    static const char *const names[] = {"x25519", "secp256r1", "secp384r1"};
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL)
        return;
    printf("groups:");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (iotls_config_set_groups(cfg, names[i]) == IOTLS_OK)
            printf(" %s", names[i]);
    printf("\n");
    iotls_config_free(cfg);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return APP_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "client") == 0)
        return cmd_client(argc - 1, argv + 1);
    if (strcmp(cmd, "server") == 0)
        return cmd_server(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0) {
#ifdef IOTLS_BENCH
        return cmd_bench(argc - 1, argv + 1);
#else
        /* The benchmark links OpenSSL, wolfSSL and GnuTLS: only a build
         * configured with -DIOTLS_BENCH=ON (make bench) has it. */
        fprintf(stderr, "iotls: bench is not in this build (configure with -DIOTLS_BENCH=ON, "
                        "or run make bench)\n");
        return 2;
#endif
    }
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("iotls %s (TLS 1.3; crypto: %s)\n", IOTLS_VERSION, iotls_crypto_backend_name());
        print_groups();
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        /* "iotls help client" is "iotls client --help". */
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            char *sub_argv[] = {argv[2], "--help", NULL};
            if (strcmp(argv[2], "client") == 0)
                return cmd_client(2, sub_argv);
            if (strcmp(argv[2], "server") == 0)
                return cmd_server(2, sub_argv);
            if (strcmp(argv[2], "demo") == 0)
                return cmd_demo(2, sub_argv);
#ifdef IOTLS_BENCH
            if (strcmp(argv[2], "bench") == 0)
                return cmd_bench(2, sub_argv);
#endif
            fprintf(stderr, "iotls: no command '%s'; try 'iotls help'\n", argv[2]);
            return APP_EXIT_USAGE;
        }
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "iotls: unknown command '%s'; try 'iotls help'\n", cmd);
    return APP_EXIT_USAGE;
}
