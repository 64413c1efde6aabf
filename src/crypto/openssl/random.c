/* Randomness: OpenSSL's public DRBG (RAND_bytes), which seeds itself from
 * the operating system, is thread-safe and reseeds in a forked child.
 *
 * Tests and fuzzers can swap in a deterministic generator; the swap is
 * guarded by a mutex where threads exist. Note that only what the backend
 * draws through iotls_random follows an override (key_share keys, serials
 * of the throwaway PKI); OpenSSL's own internal draws (ECDSA nonces, PSS
 * salts, RSA key generation) always use its DRBG. */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "crypto/crypto.h"
#include "iotls/error.h"

#if !defined(IOTLS_NO_THREADS) && (defined(__unix__) || defined(__APPLE__))
#define IOTLS_RANDOM_PTHREAD 1
#include <pthread.h>
#endif

static iotls_random_fn override_fn;
static void *override_arg;

#ifdef IOTLS_RANDOM_PTHREAD
static pthread_mutex_t override_lock = PTHREAD_MUTEX_INITIALIZER;
static void lock(void)
{
    pthread_mutex_lock(&override_lock);
}
static void unlock(void)
{
    pthread_mutex_unlock(&override_lock);
}
#else
static void lock(void) {}
static void unlock(void) {}
#endif

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

    /* RAND_bytes takes an int length; it splits large requests into DRBG
     * requests itself. */
    while (len > 0) {
        int chunk = len > (size_t)INT_MAX ? INT_MAX : (int)len;
        if (RAND_bytes(out, chunk) != 1) {
            ERR_clear_error();
            return IOTLS_ERR_RANDOM;
        }
        out += chunk;
        len -= (size_t)chunk;
    }
    return IOTLS_OK;
}

void iotls_random_override(iotls_random_fn fn, void *arg)
{
    lock();
    override_fn = fn;
    override_arg = arg;
    unlock();
}
