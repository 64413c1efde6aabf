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
#include <execinfo.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>

/* glibc's own entry points, so the wrappers below can forward to them. */
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

/* Signed: memory allocated by one thread may be freed by another. */
static _Thread_local long long tl_current;
static _Thread_local long long tl_base;
static _Thread_local long long tl_peak;

/* What the peak is made of (`iotls bench` with IOTLS_HEAP_TRACE, read by
 * tools/heap_at_peak.py): while a thread traces, its live blocks, each with
 * its call stack, and a copy of them taken at each new peak. The tables
 * come from glibc directly, so they are not counted; the blocks' sizes are
 * what the peak counts (malloc_usable_size). Only in a build compiled with
 * -DIOTLS_HEAP_TRACE: even a test of a flag on every allocation moves the
 * bench's instruction counts (by about 0.5% of a handshake with Mbed TLS'
 * elliptic-curve code, which allocates for every big number). */
#if defined(IOTLS_HEAP_TRACE)
#define TRACING tl_tracing
#else
#define TRACING 0
#endif
#define TRACE_MAX 512
#define TRACE_DEPTH 24
typedef struct {
    void *p;
    size_t size;
    int depth;
    void *bt[TRACE_DEPTH];
} trace_block;
static _Thread_local int tl_tracing, tl_in_trace;
static _Thread_local trace_block *tl_live, *tl_at_peak; /* __libc_calloc: not counted */
static _Thread_local int tl_nlive, tl_npeak;

static void trace_add(void *p, size_t size)
{
    if (tl_in_trace || tl_nlive == TRACE_MAX)
        return;
    tl_in_trace = 1;
    trace_block *b = &tl_live[tl_nlive++];
    b->p = p;
    b->size = size;
    b->depth = backtrace(b->bt, TRACE_DEPTH);
    tl_in_trace = 0;
}

static void trace_del(void *p)
{
    for (int i = 0; i < tl_nlive; i++)
        if (tl_live[i].p == p) {
            tl_live[i] = tl_live[--tl_nlive];
            return;
        }
}

static void account(long long delta)
{
    tl_current += delta;
    if (tl_current - tl_base > tl_peak) {
        tl_peak = tl_current - tl_base;
        if (TRACING) {
            memcpy(tl_at_peak, tl_live, (size_t)tl_nlive * sizeof tl_live[0]);
            tl_npeak = tl_nlive;
        }
    }
}

/* The bench's sides are threads of their own: one call per thread. */
int memtrack_trace_thread(int on)
{
#if !defined(IOTLS_HEAP_TRACE)
    (void)on;
    return 0;
#else
    void *warm[2];
    tl_in_trace = 1;
    backtrace(warm, 2); /* loads the unwinder, which allocates */
    tl_in_trace = 0;
    if (!tl_live) {
        tl_live = __libc_calloc(TRACE_MAX, sizeof *tl_live);
        tl_at_peak = __libc_calloc(TRACE_MAX, sizeof *tl_at_peak);
    }
    tl_nlive = tl_npeak = 0;
    tl_tracing = on && tl_live && tl_at_peak;
    return tl_tracing;
#endif
}

void memtrack_trace_dump(FILE *out)
{
    tl_tracing = 0;
    for (int i = 0; tl_at_peak && i < tl_npeak; i++) {
        fprintf(out, "block %zu\n", tl_at_peak[i].size);
        char **sym = backtrace_symbols(tl_at_peak[i].bt, tl_at_peak[i].depth);
        for (int k = 0; sym && k < tl_at_peak[i].depth; k++)
            fprintf(out, "  %s\n", sym[k]);
        free(sym);
    }
    if (tl_nlive == TRACE_MAX || tl_npeak == TRACE_MAX)
        fprintf(out, "(more than %d live blocks: the rest not listed)\n", TRACE_MAX);
    __libc_free(tl_live);
    __libc_free(tl_at_peak);
    tl_live = tl_at_peak = NULL;
    tl_nlive = tl_npeak = 0;
}

void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    if (p) {
        size_t got = malloc_usable_size(p);
        if (TRACING)
            trace_add(p, got);
        account((long long)got);
    }
    return p;
}

void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    if (p) {
        size_t got = malloc_usable_size(p);
        if (TRACING)
            trace_add(p, got);
        account((long long)got);
    }
    return p;
}

void *realloc(void *old, size_t n)
{
    size_t before = old ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);
    if (TRACING && old && (p || n == 0))
        trace_del(old);
    if (TRACING && p)
        trace_add(p, malloc_usable_size(p));
    if (p)
        account((long long)malloc_usable_size(p) - (long long)before);
    else if (n == 0 && old)
        account(-(long long)before);
    return p;
}

void free(void *p)
{
    if (p) {
        if (TRACING)
            trace_del(p);
        account(-(long long)malloc_usable_size(p));
    }
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

int memtrack_trace_thread(int on)
{
    (void)on;
    return 0;
}
void memtrack_trace_dump(FILE *out)
{
    (void)out;
}
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
