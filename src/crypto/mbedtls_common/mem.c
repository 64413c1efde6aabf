/* Allocation accounting for benchmarks and docs/memory.md, shared by the
 * two providers built on Mbed TLS (src/crypto/mbedtls/ for 2.28 and 3.6,
 * src/crypto/psa/ for Mbed TLS 4 and 3.6): every one of those versions
 * lets a program route the library's allocations through its own
 * functions (mbedtls_platform_set_calloc_free) when the configuration has
 * MBEDTLS_PLATFORM_MEMORY and no compile-time CALLOC/FREE macros.
 * Otherwise iotls_crypto_mem_stats reports 0/0 ("cannot count"): Debian's
 * libmbedtls 2.28 is built without the hook; the 3.6 of `make
 * test-mbedtls3`, the Mbed TLS 4 of scripts/mbedtls4.sh and ESP-IDF's
 * builds usually have it. With PSA, the key store's slots and every key's
 * material are among what is counted.
 *
 * The counting allocator must be in place before the library allocates
 * anything, since a block allocated earlier would later be freed through
 * the counting free, which expects its own header: it is installed from a
 * constructor, before main() (GCC and Clang; this file is only linked in
 * when a program refers to the accounting functions), and otherwise by the
 * first iotls__crypto_mem_reset_peak() call. The counters are in
 * src/crypto/common/mem.c. Built only with the Mbed TLS providers
 * (CMakeLists.txt). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include <mbedtls/platform.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

#if defined(MBEDTLS_PLATFORM_MEMORY) && !defined(MBEDTLS_PLATFORM_CALLOC_MACRO) &&                 \
    !defined(MBEDTLS_PLATFORM_FREE_MACRO)

#if defined(MBEDTLS_PLATFORM_STD_CALLOC) && defined(MBEDTLS_PLATFORM_STD_FREE)
#define UNDERLYING_CALLOC MBEDTLS_PLATFORM_STD_CALLOC
#define UNDERLYING_FREE MBEDTLS_PLATFORM_STD_FREE
#else
#define UNDERLYING_CALLOC calloc
#define UNDERLYING_FREE free
#endif

/* Each block carries its size in front, padded so the caller's part keeps
 * the strictest alignment. */
typedef union {
    max_align_t align;
    size_t size;
} block_header;

static atomic_int mem_installed;

static void *counting_calloc(size_t n, size_t size)
{
    if (size != 0 && n > ((size_t)-1 - sizeof(block_header)) / size)
        return NULL;
    size_t bytes = n * size;
    block_header *h = UNDERLYING_CALLOC(1, sizeof(block_header) + bytes);
    if (h == NULL)
        return NULL;
    h->size = bytes;
    iotls__common_mem_alloc(bytes);
    return h + 1;
}

static void counting_free(void *p)
{
    if (p == NULL)
        return;
    block_header *h = (block_header *)p - 1;
    iotls__common_mem_free(h->size);
    UNDERLYING_FREE(h);
}

static void install(void)
{
    if (atomic_exchange(&mem_installed, 1))
        return;
    mbedtls_platform_set_calloc_free(counting_calloc, counting_free);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor)) static void install_early(void)
{
    install();
}
#endif

void iotls_crypto_mem_stats(size_t *current, size_t *peak)
{
    iotls__common_mem_stats(current, peak);
}

void iotls__crypto_mem_reset_peak(void)
{
    install();
    iotls__common_mem_reset_peak();
}

#else /* the library's allocations cannot be intercepted */

void iotls_crypto_mem_stats(size_t *current, size_t *peak)
{
    if (current != NULL)
        *current = 0;
    if (peak != NULL)
        *peak = 0;
}

void iotls__crypto_mem_reset_peak(void) {}

#endif
