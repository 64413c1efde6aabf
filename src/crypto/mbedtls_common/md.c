/* The helpers of md.c that the two providers built on Mbed TLS
 * (src/crypto/mbedtls/, src/crypto/psa/) share word for word: a
 * constant-time comparison and a wipe the compiler cannot drop. Their
 * hashing, HMAC and HKDF stay in each provider's md.c, since those are
 * different calls (md.h and hkdf.h there, psa_hash_*, psa_mac_* and
 * psa_key_derivation_* here). Built only with the Mbed TLS providers
 * (CMakeLists.txt). */
#include <stddef.h>

#include <mbedtls/platform_util.h>

#include "crypto/crypto.h"

int iotls__ct_memcmp(const void *a, const void *b, size_t len)
{
    const volatile unsigned char *pa = a;
    const volatile unsigned char *pb = b;
    unsigned char diff = 0;
    /* No early exit: the time taken must not depend on where bytes differ. */
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(pa[i] ^ pb[i]);
    return diff != 0;
}

void iotls__wipe(void *p, size_t len)
{
    /* mbedtls_platform_zeroize is written so that it is not optimised away. */
    if (p && len > 0)
        mbedtls_platform_zeroize(p, len);
}
