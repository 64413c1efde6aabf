/* Randomness: an OpenSSL DRBG chained to its primary DRBG, which seeds
 * itself from the operating system; thread-safe, reseeds in a forked
 * child.
 *
 * Tests and fuzzers can swap in a deterministic generator (src/crypto/common/random.c,
 * which also checks the arguments). Note that only what the backend
 * draws through iotls__random follows an override (key_share keys, serials
 * of the throwaway PKI); OpenSSL's own internal draws (ECDSA nonces, PSS
 * salts, RSA key generation) always use its DRBG. */
#include <limits.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* One process-wide CTR-DRBG (AES-256), seeded from OpenSSL's primary DRBG
 * like the per-thread ones RAND_bytes uses, but shared and locked. A
 * server runs each connection in a thread of its own, and RAND_bytes
 * instantiates a fresh DRBG (a reseed from the primary) in every new
 * thread: here that happens once per process. Fork safety stays
 * OpenSSL's: a DRBG reseeds itself when it finds itself in a new process.
 * When it cannot be set up, RAND_bytes serves. */
#define DRBG_CHUNK 4096 /* well below CTR-DRBG's largest request */

static CRYPTO_ONCE drbg_once = CRYPTO_ONCE_STATIC_INIT;
static EVP_RAND_CTX *shared_drbg;

/* Run by OPENSSL_cleanup (at exit), before the primary DRBG goes. */
static void drbg_free(void)
{
    EVP_RAND_CTX_free(shared_drbg); /* cleanses its state */
    shared_drbg = NULL;
}

static void drbg_setup(void)
{
    EVP_RAND_CTX *parent = RAND_get0_primary(NULL);
    EVP_RAND *rand = parent != NULL ? EVP_RAND_fetch(NULL, "CTR-DRBG", NULL) : NULL;
    EVP_RAND_CTX *ctx = rand != NULL ? EVP_RAND_CTX_new(rand, parent) : NULL;
    EVP_RAND_free(rand); /* ctx keeps its own reference */
    OSSL_PARAM params[2];
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_DRBG_PARAM_CIPHER, (char *)"AES-256-CTR", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (ctx != NULL && EVP_RAND_enable_locking(ctx) == 1 &&
        EVP_RAND_instantiate(ctx, 256, 0, NULL, 0, params) == 1 && OPENSSL_atexit(drbg_free) == 1) {
        shared_drbg = ctx;
    } else {
        EVP_RAND_CTX_free(ctx);
    }
    ERR_clear_error();
}

int iotls__provider_random(uint8_t *out, size_t len)
{
    (void)CRYPTO_THREAD_run_once(&drbg_once, drbg_setup);
    while (len > 0) {
        size_t chunk = len > DRBG_CHUNK ? DRBG_CHUNK : len;
        int ok = shared_drbg != NULL ? EVP_RAND_generate(shared_drbg, out, chunk, 0, 0, NULL, 0)
                                     : RAND_bytes(out, (int)chunk);
        if (ok != 1) {
            OPENSSL_cleanse(out, chunk);
            ERR_clear_error();
            return IOTLS_ERR_RANDOM;
        }
        out += chunk;
        len -= chunk;
    }
    return IOTLS_OK;
}
