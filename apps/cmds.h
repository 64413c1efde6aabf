/* Subcommands of the iotls program and the small helpers they share
 * (implemented in main.c). Each command returns the process exit code
 * (exit_codes.h: distinct by cause). */
#ifndef IOTLS_APP_CMDS_H
#define IOTLS_APP_CMDS_H

#include <stddef.h>
#include <stdint.h>

#include "iotls/iotls.h"

int cmd_client(int argc, char **argv);
int cmd_server(int argc, char **argv);
int cmd_demo(int argc, char **argv);
/* bench/cmd_bench.c, linked in with -DIOTLS_BENCH=ON. */
int cmd_bench(int argc, char **argv);

/* Option scanning: when argv[*i] is "--name" (value in argv[*i + 1]) or
 * "--name=value", returns the value and advances *i past it; NULL when
 * argv[*i] is another option. A missing value prints an error and exits 2. */
const char *app_opt_value(int argc, char **argv, int *i, const char *name);
/* 1 when argv[*i] is the flag "--name" (or any of the given aliases). */
int app_opt_flag(char **argv, int i, const char *name);
/* Decimal number in [min, max]; prints an error naming opt and exits 2. */
unsigned long app_parse_num(const char *opt, const char *s, unsigned long min, unsigned long max);
/* Seconds, fractions allowed ("2.5"), in [0, 86400]: milliseconds. Prints
 * an error naming opt and exits 2. */
uint32_t app_parse_seconds(const char *opt, const char *s);
/* Load trust anchors from a file or a directory. Prints the error. */
int app_load_ca(iotls_config *cfg, const char *path);
/* --crl FILE, repeatable: certificate revocation lists (PEM, several per
 * file, or DER). Prints the error naming the file; returns the iotls code. */
#define APP_MAX_CRLS 16
int app_load_crls(iotls_config *cfg, const char *const *paths, size_t count);
/* --cert FILE --key FILE [--key-pass SOURCE]: our certificate and key.
 * SOURCE as openssl's -passin: pass:TEXT, env:VAR, file:PATH (first line).
 * Prints the error (naming the file and the cause); returns the iotls code. */
int app_set_cert(iotls_config *cfg, const char *cert, const char *key, const char *key_pass);
/* --psk HEX --psk-identity ID [--psk-hash sha256|sha384]: the external
 * PSK. Without --psk-hash the hash is the first --ciphers suite's (ciphers
 * may be NULL), else SHA-256. Prints the error; returns 0 or -1. */
int app_set_psk(iotls_config *cfg, const char *hex, const char *identity, const char *hash,
                const char *ciphers);
/* iotls_write until all of buf is sent: 0, or the negative iotls error. */
int app_write_all(iotls *t, const void *buf, size_t len);
/* Print "iotls: <what>: <error text>" to stderr. */
void app_error(const char *what, int rc);

#endif
