/* The counters behind iotls_crypto_mem_stats, shared by the providers'
 * counting allocators (mem.c), which only hook their library and keep each
 * block's size. Totals are atomics, exact with many threads; the peak is
 * the highest total any thread observed. Each thread's own share is kept
 * too: `iotls bench` runs a client and a server on two threads at once and
 * wants the peak of each connection, which a process-wide total cannot
 * give. Per thread the figures are signed, since a block allocated by one
 * thread may be freed by another. */
#include <stdatomic.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

static atomic_size_t mem_current;
static atomic_size_t mem_peak;

static _Thread_local long long thread_current;
static _Thread_local long long thread_base;
static _Thread_local long long thread_peak;

void iotls__common_mem_alloc(size_t bytes)
{
    size_t now = atomic_fetch_add(&mem_current, bytes) + bytes;
    size_t peak = atomic_load(&mem_peak);
    while (now > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, now)) {
    }
    thread_current += (long long)bytes;
    if (thread_current - thread_base > thread_peak)
        thread_peak = thread_current - thread_base;
}

void iotls__common_mem_free(size_t bytes)
{
    atomic_fetch_sub(&mem_current, bytes);
    thread_current -= (long long)bytes;
}

void iotls__common_mem_stats(size_t *current, size_t *peak)
{
    if (current != NULL)
        *current = atomic_load(&mem_current);
    if (peak != NULL)
        *peak = atomic_load(&mem_peak);
}

void iotls__common_mem_reset_peak(void)
{
    atomic_store(&mem_peak, atomic_load(&mem_current));
}

void iotls__crypto_mem_thread_reset(void)
{
    thread_base = thread_current;
    thread_peak = 0;
}

size_t iotls__crypto_mem_thread_peak(void)
{
    return thread_peak > 0 ? (size_t)thread_peak : 0;
}
