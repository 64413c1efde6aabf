/* The calling thread's share of the crypto library's allocations, kept
 * beside each provider's process-wide counters (mem.c). `iotls bench` runs
 * a client and a server on two threads at once and wants the peak of each
 * connection, which a process-wide total cannot give. Signed: a block
 * allocated by one thread may be freed by another. */
#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"

static _Thread_local long long thread_current;
static _Thread_local long long thread_base;
static _Thread_local long long thread_peak;

void iotls_common_mem_thread_account(long long delta)
{
    thread_current += delta;
    if (thread_current - thread_base > thread_peak)
        thread_peak = thread_current - thread_base;
}

void iotls_crypto_mem_thread_reset(void)
{
    thread_base = thread_current;
    thread_peak = 0;
}

size_t iotls_crypto_mem_thread_peak(void)
{
    return thread_peak > 0 ? (size_t)thread_peak : 0;
}
