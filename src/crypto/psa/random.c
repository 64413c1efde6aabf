/* Randomness: psa_generate_random, PSA's own DRBG seeded from the platform
 * entropy source (getrandom / /dev/urandom on POSIX, the hardware RNG on
 * ESP-IDF). The argument checks and the test override are in
 * random_common.c.
 *
 * fork(): a child inherits the DRBG state of a parent that had started
 * PSA, and TF-PSA-Crypto offers no call to reseed it, so the child would
 * repeat the parent's output (key shares, nonces). iotls__random fails with
 * IOTLS_ERR_RANDOM there instead; docs/psa.md says what to do. */
#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

int iotls__provider_random(uint8_t *out, size_t len)
{
    if (iotls__psa_ready() != IOTLS_OK || iotls__psa_forked())
        return IOTLS_ERR_RANDOM;
    /* Mbed TLS splits a long request into DRBG-sized ones itself. */
    iotls__psa_lock();
    psa_status_t st = psa_generate_random(out, len);
    iotls__psa_unlock();
    return st == PSA_SUCCESS ? IOTLS_OK : IOTLS_ERR_RANDOM;
}
