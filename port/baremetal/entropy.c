/* The one entropy hook of the port, and its emulation-only source.
 *
 * TF-PSA-Crypto is built with MBEDTLS_PSA_DRIVER_GET_ENTROPY
 * (mbedtls/crypto_config.h): its DRBG is seeded, and reseeded, through
 * mbedtls_platform_get_entropy() below, which takes bytes from
 * board_entropy_fill(). On an ESP32 that is esp_fill_random(), the hardware
 * RNG. The emulated boards have none, so here the pool is filled once at
 * boot with seed bytes the host reads from its /dev/urandom and passes in
 * through semihosting (main.c): FOR EMULATION ONLY, never a way to ship a
 * device. Each byte is handed out once; when the pool is empty the hook
 * fails and so does the DRBG, rather than repeat output. */
#include <string.h>

#include <mbedtls/platform.h>

#include "board.h"

#define POOL_MAX 1024

static uint8_t pool[POOL_MAX];
static size_t pool_len;
static size_t pool_pos;

void board_entropy_seed(const uint8_t *seed, size_t len)
{
    if (len > POOL_MAX)
        len = POOL_MAX;
    memcpy(pool, seed, len);
    pool_len = len;
    pool_pos = 0;
}

int board_entropy_fill(uint8_t *out, size_t len)
{
    if (len > pool_len - pool_pos)
        return -1;
    memcpy(out, pool + pool_pos, len);
    /* Not again: a used seed byte is wiped. */
    memset(pool + pool_pos, 0, len);
    pool_pos += len;
    return 0;
}

int mbedtls_platform_get_entropy(psa_driver_get_entropy_flags_t flags, size_t *estimate_bits,
                                 unsigned char *output, size_t output_size)
{
    (void)flags;
    if (board_entropy_fill(output, output_size) != 0)
        return PSA_ERROR_INSUFFICIENT_ENTROPY;
    *estimate_bits = 8 * output_size;
    return 0;
}
