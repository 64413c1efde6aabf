/* iotls__random's front: argument checks and the deterministic generator a
 * test or fuzzer may swap in, the same for every provider; the provider's
 * own generator (iotls__provider_random) does the rest.
 *
 * Provider code, so it may use OS headers: a pthread mutex guards the
 * override where threads exist. */
#include "crypto_common.h"
#include "iotls/error.h"

#if !defined(IOTLS_NO_THREADS) && (defined(__unix__) || defined(__APPLE__) || defined(ESP_PLATFORM))
#define IOTLS_RANDOM_PTHREAD 1
#include <pthread.h>
#endif

static iotls_random_fn override_fn;
static void *override_arg;

#ifdef IOTLS_RANDOM_PTHREAD
static pthread_mutex_t random_lock = PTHREAD_MUTEX_INITIALIZER;
void iotls__common_random_lock(void)
{
    pthread_mutex_lock(&random_lock);
}
void iotls__common_random_unlock(void)
{
    pthread_mutex_unlock(&random_lock);
}
#else
void iotls__common_random_lock(void) {}
void iotls__common_random_unlock(void) {}
#endif

int iotls__random(uint8_t *out, size_t len)
{
    if (out == NULL && len > 0)
        return IOTLS_ERR_BAD_ARG;
    if (len == 0)
        return IOTLS_OK;

    iotls__common_random_lock();
    iotls_random_fn fn = override_fn;
    void *arg = override_arg;
    iotls__common_random_unlock();
    if (fn != NULL)
        return fn(arg, out, len) == 0 ? IOTLS_OK : IOTLS_ERR_RANDOM;
    return iotls__provider_random(out, len);
}

void iotls__random_override(iotls_random_fn fn, void *arg)
{
    iotls__common_random_lock();
    override_fn = fn;
    override_arg = arg;
    iotls__common_random_unlock();
}
