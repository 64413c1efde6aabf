#include "testlib.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "iotls/error.h"

int tl_failures;
int tl_checks;

const char *tl_errname(int rc)
{
    return iotls_error_name(rc);
}

int tl_hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

size_t tl_unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = 0;
    int hi = -1;
    for (const char *p = hex; *p; p++) {
        if (isspace((unsigned char)*p))
            continue;
        int v = tl_hexval((unsigned char)*p);
        if (v < 0) {
            fprintf(stderr, "tl_unhex: bad hex digit '%c'\n", *p);
            exit(2);
        }
        if (hi < 0) {
            hi = v;
        } else {
            if (n >= cap) {
                fprintf(stderr, "tl_unhex: output of %zu bytes too small\n", cap);
                exit(2);
            }
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0) {
        fprintf(stderr, "tl_unhex: odd number of hex digits\n");
        exit(2);
    }
    return n;
}

int tl_check_hex(const char *file, int line, const char *what, const uint8_t *buf, size_t len,
                 const char *hex)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *want = malloc(cap);
    if (!want)
        abort();
    size_t n = tl_unhex(hex, want, cap);
    tl_checks++;
    int ok = n == len && memcmp(buf, want, len) == 0;
    if (!ok) {
        tl_failures++;
        fprintf(stderr, "%s:%d: %s differs (got %zu bytes, want %zu)\n  got:  ", file, line, what,
                len, n);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, "%02x", buf[i]);
        fprintf(stderr, "\n  want: ");
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, "%02x", want[i]);
        fprintf(stderr, "\n");
    }
    free(want);
    return ok;
}

int tl_finish(const char *suite)
{
    printf("%s: %d checks, %d failed\n", suite, tl_checks, tl_failures);
    return tl_failures == 0 ? 0 : 1;
}
