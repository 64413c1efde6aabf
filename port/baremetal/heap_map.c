/* A measurement build only (build-firmware.sh with HEAP_MAP=1, never the
 * measured image): which blocks the heap arena holds when its high-water
 * mark is reached, for docs/device.md's "Where the peak RAM goes". The C
 * library's allocator is wrapped at link time (--wrap=malloc and the
 * others): every block the firmware, the C library and Mbed TLS hold is
 * kept in a table with the address of the code that asked for it, and the
 * table is copied whenever an allocation raises the arena's high-water
 * mark. startup_finish prints the copy; tools/device/heap_map.py names the
 * callers. */
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "platform.h"

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
void __real_free(void *p);

#define HEAP_MAP_MAX 256
typedef struct {
    void *p;
    size_t size, usable;
    uintptr_t caller;
    int mbedtls;
} heap_block;

static heap_block live[HEAP_MAP_MAX], at_peak[HEAP_MAP_MAX];
static size_t n_live, n_at_peak, peak_seen, lost;
static int depth;
volatile uintptr_t port_heap_map_caller; /* set by the Mbed TLS hook (platform.c) */

static void forget(void *p)
{
    for (size_t i = 0; i < n_live; i++) {
        if (live[i].p == p) {
            live[i] = live[--n_live];
            return;
        }
    }
}

static void note(void *p, size_t n, uintptr_t caller)
{
    if (p == NULL)
        return;
    if (n_live == HEAP_MAP_MAX) {
        lost++;
        return;
    }
    live[n_live].p = p;
    live[n_live].size = n;
    live[n_live].usable = malloc_usable_size(p);
    live[n_live].caller = port_heap_map_caller ? port_heap_map_caller : caller;
    live[n_live].mbedtls = port_heap_map_caller != 0;
    n_live++;
    if (port_arena_peak() > peak_seen) {
        peak_seen = port_arena_peak();
        for (size_t i = 0; i < n_live; i++)
            at_peak[i] = live[i];
        n_at_peak = n_live;
    }
}

void *__wrap_malloc(size_t n)
{
    depth++;
    void *p = __real_malloc(n);
    depth--;
    if (depth == 0)
        note(p, n, (uintptr_t)__builtin_return_address(0));
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    depth++;
    void *p = __real_calloc(n, size);
    depth--;
    if (depth == 0)
        note(p, n * size, (uintptr_t)__builtin_return_address(0));
    return p;
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    depth++;
    void *p = __real_aligned_alloc(align, n);
    depth--;
    if (depth == 0)
        note(p, n, (uintptr_t)__builtin_return_address(0));
    return p;
}

void *__wrap_realloc(void *old, size_t n)
{
    depth++;
    void *p = __real_realloc(old, n);
    depth--;
    if (depth == 0 && p != NULL) {
        if (old != NULL)
            forget(old);
        note(p, n, (uintptr_t)__builtin_return_address(0));
    }
    return p;
}

void __wrap_free(void *p)
{
    if (depth == 0 && p != NULL)
        forget(p);
    depth++;
    __real_free(p);
    depth--;
}

void port_heap_map_print(void)
{
    printf("HEAPMAP peak=%zu blocks=%zu lost=%zu\n", peak_seen, n_at_peak, lost);
    for (size_t i = 0; i < n_at_peak; i++)
        printf("HEAPBLOCK addr=0x%lx size=%zu usable=%zu caller=0x%lx mbedtls=%d\n",
               (unsigned long)(uintptr_t)at_peak[i].p, at_peak[i].size, at_peak[i].usable,
               (unsigned long)at_peak[i].caller, at_peak[i].mbedtls);
}
