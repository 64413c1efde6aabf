/* Allocation accounting for benchmarks and docs/memory.md.
 *
 * OpenSSL routes all of libcrypto's allocations through functions set with
 * CRYPTO_set_mem_functions, but accepts them only before its first
 * allocation: a block allocated earlier would later reach our free, which
 * expects its own header. So the counting allocator is installed from a
 * constructor, before main() and before any other code can call OpenSSL
 * (GCC and Clang; this file is only linked in when a program refers to
 * iotls_crypto_mem_stats or _reset_peak, and then the constructor runs).
 * With other compilers the first iotls__crypto_mem_reset_peak() call tries
 * the same; if OpenSSL was already used by then, CRYPTO_set_mem_functions
 * refuses and the stats stay 0/0 ("cannot count").
 *
 * The counters are in src/crypto/common/mem_common.c. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

#include <openssl/crypto.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

/* Each block carries its size in front, padded so the caller's part keeps
 * the strictest alignment. */
typedef union {
    max_align_t align;
    size_t size;
} block_header;

static atomic_int mem_installed; /* 1: our functions are OpenSSL's */
static atomic_int mem_tried;

static void *counting_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (n > (size_t)-1 - sizeof(block_header))
        return NULL;
    block_header *h = malloc(sizeof(block_header) + n);
    if (h == NULL)
        return NULL;
    h->size = n;
    iotls__common_mem_alloc(n);
    return h + 1;
}

static void counting_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    if (p == NULL)
        return;
    block_header *h = (block_header *)p - 1;
    iotls__common_mem_free(h->size);
    free(h);
}

static void *counting_realloc(void *p, size_t n, const char *file, int line)
{
    if (p == NULL)
        return counting_malloc(n, file, line);
    if (n == 0) {
        counting_free(p, file, line);
        return NULL;
    }
    if (n > (size_t)-1 - sizeof(block_header))
        return NULL;
    block_header *old = (block_header *)p - 1;
    size_t old_size = old->size;
    block_header *h = realloc(old, sizeof(block_header) + n);
    if (h == NULL)
        return NULL; /* the old block is untouched and still counted */
    h->size = n;
    iotls__common_mem_free(old_size);
    iotls__common_mem_alloc(n);
    return h + 1;
}

static void install(void)
{
    if (atomic_exchange(&mem_tried, 1))
        return;
    if (CRYPTO_set_mem_functions(counting_malloc, counting_realloc, counting_free) == 1)
        atomic_store(&mem_installed, 1);
}

#if defined(__GNUC__) || defined(__clang__)
__attribute__((constructor)) static void install_early(void)
{
    install();
}
#endif

void iotls_crypto_mem_stats(size_t *current, size_t *peak)
{
    if (atomic_load(&mem_installed)) {
        iotls__common_mem_stats(current, peak);
        return;
    }
    if (current != NULL)
        *current = 0;
    if (peak != NULL)
        *peak = 0;
}

void iotls__crypto_mem_reset_peak(void)
{
    install();
    iotls__common_mem_reset_peak();
}
