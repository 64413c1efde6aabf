/* Randomness: one process-wide CTR-DRBG (AES-256) seeded from mbedTLS's
 * entropy collector (the platform source: getrandom / /dev/urandom on
 * POSIX, the hardware RNG on ESP-IDF) on first use.
 *
 * This file is the provider, so it may use OS headers: the random lock of
 * src/crypto/common/random.c guards lazy seeding and generation, and on POSIX the
 * generator reseeds after fork() so parent and child never share output.
 * The argument checks and the test override are in src/crypto/common/random.c. */
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

#if defined(__unix__) || defined(__APPLE__)
#define IOTLS_RANDOM_FORK_CHECK 1
#include <unistd.h>
#endif

static mbedtls_entropy_context entropy;
static mbedtls_ctr_drbg_context drbg;
static int seeded;
#ifdef IOTLS_RANDOM_FORK_CHECK
static pid_t seeded_pid;
#endif

/* Personalization string: separates our stream from any other DRBG the
 * application seeds from the same entropy source (NIST SP 800-90A). */
static const unsigned char personalization[] = "iotls ctr_drbg";

static int ensure_seeded(void)
{
    if (!seeded) {
        mbedtls_entropy_init(&entropy);
        mbedtls_ctr_drbg_init(&drbg);
        if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, personalization,
                                  sizeof(personalization) - 1) != 0) {
            mbedtls_ctr_drbg_free(&drbg);
            mbedtls_entropy_free(&entropy);
            return IOTLS_ERR_RANDOM;
        }
        seeded = 1;
#ifdef IOTLS_RANDOM_FORK_CHECK
        seeded_pid = getpid();
#endif
        return IOTLS_OK;
    }
#ifdef IOTLS_RANDOM_FORK_CHECK
    /* A forked child inherits the DRBG state: without fresh entropy it would
     * repeat the parent's output (and so its key shares and nonces). */
    if (seeded_pid != getpid()) {
        if (mbedtls_ctr_drbg_reseed(&drbg, NULL, 0) != 0)
            return IOTLS_ERR_RANDOM;
        seeded_pid = getpid();
    }
#endif
    return IOTLS_OK;
}

int iotls__provider_random(uint8_t *out, size_t len)
{
    iotls__common_random_lock();
    int rc = ensure_seeded();
    /* One request is limited to MBEDTLS_CTR_DRBG_MAX_REQUEST bytes. */
    while (rc == IOTLS_OK && len > 0) {
        size_t chunk = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&drbg, out, chunk) != 0)
            rc = IOTLS_ERR_RANDOM;
        out += chunk;
        len -= chunk;
    }
    iotls__common_random_unlock();
    return rc;
}
