/* Mbed TLS parses PEM only from a NUL-ended buffer whose length counts
 * the NUL; a caller's PEM without one gets a terminated copy. Used by the
 * two providers built on Mbed TLS (keys in mbedtls/pk.c and psa/pk.c,
 * certificates and CRLs in mbedtls_common/). Internal to src/crypto/;
 * built only with the Mbed TLS providers. */
#ifndef IOTLS_MBEDTLS_PEM_INPUT_H
#define IOTLS_MBEDTLS_PEM_INPUT_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const uint8_t *data; /* what to give the parser: the caller's bytes or copy */
    size_t len;
    uint8_t *copy; /* the NUL-terminated copy, NULL when none was needed */
} iotls_mb_input;

/* in from data: as it is (DER, or PEM that ends with its NUL), or a copy
 * with the NUL added. IOTLS_OK or IOTLS_ERR_NO_MEMORY. data non-NULL and
 * len > 0 (the callers checked). */
int iotls__mb_input_begin(iotls_mb_input *in, const uint8_t *data, size_t len);
/* Wipes (it may hold a private key) and frees the copy. */
void iotls__mb_input_end(iotls_mb_input *in);

#endif
