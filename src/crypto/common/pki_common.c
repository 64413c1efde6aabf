/* The parts of the throwaway PKI (iotls_pki_make_cert) that do not depend
 * on the library: argument checks, the validity period, the serial and
 * the comma-separated subjectAltName lists of iotls_cert_spec. */
#include <time.h>

#include "crypto_common.h"
#include "iotls/error.h"

int iotls_common_cert_start(const iotls_cert_spec *spec, const char *subject_key_pem,
                            const char *issuer_key_pem, const char *issuer_cert_pem, char *cert_pem,
                            size_t cap, int64_t *not_before, int64_t *not_after)
{
    if (spec == NULL || spec->subject == NULL || subject_key_pem == NULL || cert_pem == NULL ||
        cap == 0 || (issuer_key_pem == NULL) != (issuer_cert_pem == NULL))
        return IOTLS_ERR_BAD_ARG;
    cert_pem[0] = '\0';

    int64_t now = (int64_t)time(NULL);
    *not_before = spec->not_before != 0 ? spec->not_before : now - 3600;
    *not_after = spec->not_after != 0 ? spec->not_after : now + 30 * 86400;
    if (*not_after <= *not_before || (int64_t)(time_t)*not_before != *not_before ||
        (int64_t)(time_t)*not_after != *not_after)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

int iotls_common_cert_serial(uint8_t serial[IOTLS_COMMON_SERIAL_LEN])
{
    if (iotls_random(serial, IOTLS_COMMON_SERIAL_LEN) != IOTLS_OK)
        return IOTLS_ERR_RANDOM;
    serial[0] &= 0x7f;
    if (serial[0] == 0)
        serial[0] = 1;
    return IOTLS_OK;
}

int iotls_common_list_next(const char **cursor, const char **item, size_t *item_len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == ',')
        p++;
    if (*p == '\0') {
        *cursor = p;
        return 0;
    }
    const char *start = p;
    while (*p != '\0' && *p != ',')
        p++;
    size_t len = (size_t)(p - start);
    while (len > 0 && start[len - 1] == ' ')
        len--;
    *cursor = p;
    *item = start;
    *item_len = len;
    return 1;
}

int iotls_common_rsa_keygen_check(unsigned bits, uint32_t exponent)
{
    if (bits < 1024 || bits > 8192 || bits % 2 != 0)
        return IOTLS_ERR_BAD_ARG;
    if (exponent < 3 || exponent > IOTLS_RSA_MAX_EXPONENT || exponent % 2 == 0)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}
