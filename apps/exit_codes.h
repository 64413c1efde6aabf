/* Exit codes of the iotls command, distinct by cause (in curl's spirit), so
 * a script can tell a wrong option from a dead host from a bad certificate.
 * One table (exit_codes.c) feeds `iotls --help`, the man page and the
 * mapping from IOTLS_ERR_* codes. */
#ifndef IOTLS_APP_EXIT_CODES_H
#define IOTLS_APP_EXIT_CODES_H

#include <stdio.h>

enum app_exit {
    APP_EXIT_OK = 0,
    APP_EXIT_FAILURE = 1,    /* anything not listed below */
    APP_EXIT_USAGE = 2,      /* bad command line */
    APP_EXIT_CONFIG = 3,     /* local file or configuration: CA, certificate, key, session */
    APP_EXIT_RESOLVE = 4,    /* host name lookup failed */
    APP_EXIT_CONNECT = 5,    /* TCP connection refused, unreachable, reset or cut */
    APP_EXIT_TIMEOUT = 6,    /* connect, handshake or read timed out */
    APP_EXIT_PROTOCOL = 7,   /* TLS handshake or protocol failure found by iotls */
    APP_EXIT_VERIFY = 8,     /* peer certificate verification failed */
    APP_EXIT_PEER_ALERT = 9, /* the peer refused: it sent a fatal alert */
};

/* The exit code for an iotls error code (iotls_last_error). */
int app_exit_for(int err);
/* The table as help text: one "  N  meaning" line per code. */
void app_exit_codes_print(FILE *out);

#endif
