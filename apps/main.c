/* iotls: one program, several subcommands (client, server, demo, bench). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmds.h"
#include "crypto/crypto.h"
#include "iotls/iotls.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: iotls COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  client HOST:PORT   connect with TLS 1.3 (stdin/stdout, or --get PATH)\n"
            "  server --port N    accept TLS 1.3 connections (--echo or --http)\n"
            "  demo               client and server in one process, step by step\n"
            "  bench              handshakes and throughput over memory and loopback\n"
            "  version            print the version\n"
            "  help               this text; 'iotls COMMAND --help' for a command's options\n");
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
        exit(2);
    }
    *i += 1;
    return argv[*i];
}

int app_opt_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

unsigned long app_parse_num(const char *opt, const char *s, unsigned long min, unsigned long max)
{
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max) {
        fprintf(stderr, "iotls: %s: '%s' is not a number from %lu to %lu\n", opt, s, min, max);
        exit(2);
    }
    return v;
}

void app_error(const char *what, int rc)
{
    fprintf(stderr, "iotls: %s: %s\n", what, iotls_error_string(rc));
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
        fprintf(stderr, "iotls: CA %s: no usable certificate (%s)\n", path,
                iotls_error_string(rc));
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "client") == 0)
        return cmd_client(argc - 1, argv + 1);
    if (strcmp(cmd, "server") == 0)
        return cmd_server(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("iotls %s (TLS 1.3; crypto: %s)\n", IOTLS_VERSION, iotls_crypto_backend_name());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "iotls: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
