/* psa_crypto_init() for the whole provider, and the small translations its
 * files share.
 *
 * Every provider function that reaches PSA goes through iotls__psa_ready()
 * first, so an application never has to initialise PSA for iotls (it may:
 * psa_crypto_init() is idempotent). The first successful call is
 * remembered in an atomic flag so later calls cost one load; the call
 * itself runs under the lock of random_common.c, so two threads that start
 * at once do not both initialise (psa_crypto_init is only thread-safe in
 * builds with MBEDTLS_THREADING_C). The process id at initialisation is
 * kept for random.c's fork check. */
#include <stdatomic.h>

#include <mbedtls/pk.h>

#include "crypto/common/crypto_common.h"
#include "iotls/error.h"
#include "psa_glue.h"

#if defined(__unix__) || defined(__APPLE__)
#include <unistd.h>
#define IOTLS_PSA_FORK_CHECK 1
static pid_t init_pid;
#endif

static atomic_int psa_started;

#if !defined(MBEDTLS_THREADING_C)
#if !defined(IOTLS_NO_THREADS) && (defined(__unix__) || defined(__APPLE__) || defined(ESP_PLATFORM))
#include <pthread.h>
static pthread_mutex_t psa_lock = PTHREAD_MUTEX_INITIALIZER;
void iotls__psa_lock(void)
{
    pthread_mutex_lock(&psa_lock);
}
void iotls__psa_unlock(void)
{
    pthread_mutex_unlock(&psa_lock);
}
#else
void iotls__psa_lock(void) {}
void iotls__psa_unlock(void) {}
#endif
#endif

int iotls__psa_ready(void)
{
    if (atomic_load_explicit(&psa_started, memory_order_acquire))
        return IOTLS_OK;
    iotls__common_random_lock();
    int rc = IOTLS_OK;
    if (!atomic_load_explicit(&psa_started, memory_order_relaxed)) {
        if (psa_crypto_init() == PSA_SUCCESS) {
#ifdef IOTLS_PSA_FORK_CHECK
            init_pid = getpid();
#endif
            atomic_store_explicit(&psa_started, 1, memory_order_release);
        } else {
            rc = IOTLS_ERR_CRYPTO;
        }
    }
    iotls__common_random_unlock();
    return rc;
}

int iotls__psa_forked(void)
{
#ifdef IOTLS_PSA_FORK_CHECK
    return atomic_load_explicit(&psa_started, memory_order_acquire) && init_pid != getpid();
#else
    return 0;
#endif
}

psa_algorithm_t iotls__psa_hash_alg(int alg)
{
    switch (alg) {
    case IOTLS_HASH_SHA256:
        return PSA_ALG_SHA_256;
    case IOTLS_HASH_SHA384:
        return PSA_ALG_SHA_384;
    case IOTLS_HASH_SHA512:
        return PSA_ALG_SHA_512;
    default:
        return 0;
    }
}

void iotls__psa_destroy(psa_key_id_t *key)
{
    if (key == NULL || *key == PSA_KEY_ID_NULL)
        return;
    iotls__psa_lock();
    (void)psa_destroy_key(*key);
    iotls__psa_unlock();
    *key = PSA_KEY_ID_NULL;
}

int iotls__psa_error(psa_status_t status)
{
    if (status == PSA_ERROR_INSUFFICIENT_MEMORY)
        return IOTLS_ERR_NO_MEMORY;
    if (status == PSA_ERROR_INSUFFICIENT_ENTROPY)
        return IOTLS_ERR_RANDOM;
    return IOTLS_ERR_CRYPTO;
}

int iotls__psa_pk_info(const mbedtls_pk_context *pk, psa_key_type_t *type, size_t *bits)
{
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (iotls__psa_ready() != IOTLS_OK ||
        mbedtls_pk_get_psa_attributes(pk, PSA_KEY_USAGE_VERIFY_HASH, &attr) != 0) {
        psa_reset_key_attributes(&attr);
        return IOTLS_ERR_CRYPTO;
    }
    *type = psa_get_key_type(&attr);
    *bits = psa_get_key_bits(&attr);
    psa_reset_key_attributes(&attr);
    return IOTLS_OK;
}

int iotls__psa_import_public(const mbedtls_pk_context *pk, psa_algorithm_t alg, psa_key_id_t *key)
{
    *key = PSA_KEY_ID_NULL;
    int rc = iotls__psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    if (mbedtls_pk_get_psa_attributes(pk, PSA_KEY_USAGE_VERIFY_HASH, &attr) != 0) {
        psa_reset_key_attributes(&attr);
        return IOTLS_ERR_CRYPTO;
    }
    if (alg != 0) {
        psa_set_key_usage_flags(&attr, PSA_KEY_USAGE_VERIFY_HASH);
        psa_set_key_algorithm(&attr, alg);
    }
    iotls__psa_lock();
    int ret = mbedtls_pk_import_into_psa(pk, &attr, key);
    iotls__psa_unlock();
    psa_reset_key_attributes(&attr);
    if (ret != 0) {
        *key = PSA_KEY_ID_NULL;
        return ret == PSA_ERROR_INSUFFICIENT_MEMORY ? IOTLS_ERR_NO_MEMORY : IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

int iotls__psa_key_public_sha256(psa_key_id_t key, uint8_t out[32])
{
    uint8_t raw[PSA_EXPORT_PUBLIC_KEY_MAX_SIZE];
    size_t raw_len = 0;
    iotls__psa_lock();
    psa_status_t st = psa_export_public_key(key, raw, sizeof(raw), &raw_len);
    iotls__psa_unlock();
    if (st != PSA_SUCCESS)
        return iotls__psa_error(st);
    return iotls__hash(IOTLS_HASH_SHA256, raw, raw_len, out);
}

int iotls__psa_public_sha256(const mbedtls_pk_context *pk, uint8_t out[32])
{
    psa_key_id_t pub = PSA_KEY_ID_NULL;
    int rc = iotls__psa_import_public(pk, 0, &pub);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls__psa_key_public_sha256(pub, out);
    iotls__psa_destroy(&pub);
    return rc;
}
