#include "memtrack.h"

#include <stdint.h>

#if defined(__SANITIZE_ADDRESS__)
#define MEMTRACK_OFF 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MEMTRACK_OFF 1
#endif
#endif

#if !defined(MEMTRACK_OFF) && defined(__GLIBC__)
#include <malloc.h>

/* glibc's own entry points, so the wrappers below can forward to them. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Signed: memory allocated by one thread may be freed by another. */
static _Thread_local long long tl_current;
static _Thread_local long long tl_base;
static _Thread_local long long tl_peak;

static void account(long long delta)
{
    tl_current += delta;
    if (tl_current - tl_base > tl_peak)
        tl_peak = tl_current - tl_base;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    if (p)
        account((long long)malloc_usable_size(p));
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    if (p)
        account((long long)malloc_usable_size(p));
    return p;
}

void *realloc(void *old, size_t n)
{
    size_t before = old ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (p)
        account((long long)malloc_usable_size(p) - (long long)before);
    else if (n == 0 && old)
        account(-(long long)before);
    return p;
}

void free(void *p)
{
    if (p)
        account(-(long long)malloc_usable_size(p));
    __libc_free(p);
}

int memtrack_available(void)
{
    return 1;
}

void memtrack_reset_thread(void)
{
    tl_base = tl_current;
    tl_peak = 0;
}

size_t memtrack_thread_peak(void)
{
    return tl_peak > 0 ? (size_t)tl_peak : 0;
}

size_t memtrack_thread_current(void)
{
    return tl_current > tl_base ? (size_t)(tl_current - tl_base) : 0;
}

#else

int memtrack_available(void)
{
    return 0;
}
void memtrack_reset_thread(void) {}
size_t memtrack_thread_peak(void)
{
    return 0;
}
size_t memtrack_thread_current(void)
{
    return 0;
}

#endif
