/* Randomness: one process-wide CTR-DRBG (AES-256) seeded from mbedTLS's
 * entropy collector (the platform source: getrandom / /dev/urandom on
 * POSIX, the hardware RNG on ESP-IDF) on first use.
 *
 * This file is the provider, so it may use OS headers: a pthread mutex
 * guards lazy seeding and generation where threads exist, and on POSIX the
 * generator reseeds after fork() so parent and child never share output. */
#include <string.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

#if !defined(IOTLS_NO_THREADS) && (defined(__unix__) || defined(__APPLE__) || defined(ESP_PLATFORM))
#define IOTLS_RANDOM_PTHREAD 1
#include <pthread.h>
#endif

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

static iotls_random_fn override_fn;
static void *override_arg;

#ifdef IOTLS_RANDOM_PTHREAD
static pthread_mutex_t random_lock = PTHREAD_MUTEX_INITIALIZER;
static void lock(void)
{
    pthread_mutex_lock(&random_lock);
}
static void unlock(void)
{
    pthread_mutex_unlock(&random_lock);
}
#else
static void lock(void) {}
static void unlock(void) {}
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

int iotls_random(uint8_t *out, size_t len)
{
    if (out == NULL && len > 0)
        return IOTLS_ERR_BAD_ARG;
    if (len == 0)
        return IOTLS_OK;

    lock();
    iotls_random_fn fn = override_fn;
    void *arg = override_arg;
    unlock();
    if (fn != NULL)
        return fn(arg, out, len) == 0 ? IOTLS_OK : IOTLS_ERR_RANDOM;

    lock();
    int rc = ensure_seeded();
    /* One request is limited to MBEDTLS_CTR_DRBG_MAX_REQUEST bytes. */
    while (rc == IOTLS_OK && len > 0) {
        size_t chunk = len < MBEDTLS_CTR_DRBG_MAX_REQUEST ? len : MBEDTLS_CTR_DRBG_MAX_REQUEST;
        if (mbedtls_ctr_drbg_random(&drbg, out, chunk) != 0)
            rc = IOTLS_ERR_RANDOM;
        out += chunk;
        len -= chunk;
    }
    unlock();
    return rc;
}

void iotls_random_override(iotls_random_fn fn, void *arg)
{
    lock();
    override_fn = fn;
    override_arg = arg;
    unlock();
}
