/* Minimal assertion helpers for the unit tests: every check prints what it
 * compared when it fails, and the process exits non-zero if any failed. */
#ifndef IOTLS_TESTLIB_H
#define IOTLS_TESTLIB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int tl_failures;
extern int tl_checks;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        tl_checks++;                                                                               \
        if (!(cond)) {                                                                             \
            tl_failures++;                                                                         \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);               \
        }                                                                                          \
    } while (0)

#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int tl_rc_ = (expr);                                                                       \
        tl_checks++;                                                                               \
        if (tl_rc_ != (want)) {                                                                    \
            tl_failures++;                                                                         \
            fprintf(stderr, "%s:%d: %s returned %d (%s), want %d (%s)\n", __FILE__, __LINE__,      \
                    #expr, tl_rc_, tl_errname(tl_rc_), (int)(want), tl_errname(want));             \
        }                                                                                          \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* Compare len bytes against a hex string (spaces and newlines ignored). */
#define CHECK_HEX(buf, len, hex) tl_check_hex(__FILE__, __LINE__, #buf, buf, len, hex)

const char *tl_errname(int rc);
int tl_check_hex(const char *file, int line, const char *what, const uint8_t *buf, size_t len,
                 const char *hex);
/* Decode hex (whitespace ignored) into out; returns the byte count, or
 * aborts the test if it does not fit or is malformed. */
size_t tl_unhex(const char *hex, uint8_t *out, size_t cap);
/* The value of one hex digit, -1 for any other character. */
int tl_hexval(int c);
/* Print the summary line and return the process exit code. */
int tl_finish(const char *suite);

#endif
