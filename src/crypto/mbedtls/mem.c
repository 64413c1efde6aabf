/* Allocation accounting for benchmarks and docs/memory.md.
 *
 * mbedTLS lets a program route its allocations through its own functions
 * only when the configuration has MBEDTLS_PLATFORM_MEMORY (and no
 * compile-time CALLOC/FREE macros). Debian's libmbedtls 2.28 is built
 * without it, so on a Debian host iotls_crypto_mem_stats reports 0/0
 * ("cannot count"). ESP-IDF builds usually have it; there a counting
 * allocator is installed by the first iotls_crypto_mem_reset_peak() call,
 * which must come before any other use of the crypto library, since a
 * block allocated earlier would later be freed through the counting free,
 * which expects its own header. The counters are plain variables: exact
 * for one thread, approximate when several threads use mbedTLS at once. */
#include <stddef.h>
#include <stdlib.h>

#include <mbedtls/platform.h>

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

static size_t mem_current;
static size_t mem_peak;
static int mem_installed;

static void *counting_calloc(size_t n, size_t size)
{
    if (size != 0 && n > ((size_t)-1 - sizeof(block_header)) / size)
        return NULL;
    size_t bytes = n * size;
    block_header *h = UNDERLYING_CALLOC(1, sizeof(block_header) + bytes);
    if (h == NULL)
        return NULL;
    h->size = bytes;
    mem_current += bytes;
    if (mem_current > mem_peak)
        mem_peak = mem_current;
    return h + 1;
}

static void counting_free(void *p)
{
    if (p == NULL)
        return;
    block_header *h = (block_header *)p - 1;
    mem_current -= h->size;
    UNDERLYING_FREE(h);
}

void iotls_crypto_mem_stats(size_t *current, size_t *peak)
{
    if (current != NULL)
        *current = mem_current;
    if (peak != NULL)
        *peak = mem_peak;
}

void iotls_crypto_mem_reset_peak(void)
{
    if (!mem_installed) {
        mbedtls_platform_set_calloc_free(counting_calloc, counting_free);
        mem_installed = 1;
    }
    mem_peak = mem_current;
}

#else /* the library's allocations cannot be intercepted */

void iotls_crypto_mem_stats(size_t *current, size_t *peak)
{
    if (current != NULL)
        *current = 0;
    if (peak != NULL)
        *peak = 0;
}

void iotls_crypto_mem_reset_peak(void) {}

#endif
