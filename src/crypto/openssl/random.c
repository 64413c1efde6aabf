/* Randomness: OpenSSL's public DRBG (RAND_bytes), which seeds itself from
 * the operating system, is thread-safe and reseeds in a forked child.
 *
 * Tests and fuzzers can swap in a deterministic generator (random_common.c,
 * which also checks the arguments). Note that only what the backend
 * draws through iotls_random follows an override (key_share keys, serials
 * of the throwaway PKI); OpenSSL's own internal draws (ECDSA nonces, PSS
 * salts, RSA key generation) always use its DRBG. */
#include <limits.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

int iotls_provider_random(uint8_t *out, size_t len)
{
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
