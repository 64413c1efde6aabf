/* The C library's and Mbed TLS's hooks into the board: the heap (one fixed
 * arena with a high-water mark, and Mbed TLS' part of it counted), the
 * millisecond clock, and the stack
 * painting that measures the stack's high-water mark. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/platform.h>
#include <mbedtls/platform_time.h>
#include <semihost.h>

#include "board.h"
#include "platform.h"

/* The heap: malloc (picolibc) grows into this arena through sbrk and never
 * beyond it. Everything allocated on the board comes from here: the
 * configuration, the connection's memory and Mbed TLS' allocations. */
static uint8_t arena[PORT_ARENA_SIZE] __attribute__((aligned(16)));
static size_t arena_used;
static size_t arena_peak;

void *sbrk(ptrdiff_t incr)
{
    if (incr < 0 ? (size_t)-incr > arena_used : (size_t)incr > sizeof arena - arena_used) {
        errno = ENOMEM;
        return (void *)-1;
    }
    void *old = arena + arena_used;
    arena_used = (size_t)((ptrdiff_t)arena_used + incr);
    if (arena_used > arena_peak)
        arena_peak = arena_used;
    return old;
}

size_t port_arena_peak(void)
{
    return arena_peak;
}

/* Mbed TLS' own allocations, counted for both firmwares alike: a size
 * header in front of each block. The port counts them, not the TLS stack,
 * so that neither firmware's TLS layer carries the measuring. The header
 * keeps 8-byte alignment, the most Mbed TLS needs here (no long double):
 * one of max_align_t's size cost 16 B a block on cm4 and 32 B on rv32,
 * 1.1 to 2.6 KB of each firmware's peak (docs/device.md). */
typedef union {
    uint64_t align;
    size_t size;
} block_header;
_Static_assert(sizeof(block_header) == 8, "the counting header is 8 bytes");
static size_t mbedtls_heap_now, mbedtls_heap_peak;

static void *counting_calloc(size_t n, size_t size)
{
    if (size != 0 && n > ((size_t)-1 - sizeof(block_header)) / size)
        return NULL;
#ifdef PORT_HEAP_MAP
    port_heap_map_caller = (uintptr_t)__builtin_return_address(0);
#endif
    block_header *h = calloc(1, sizeof(block_header) + n * size);
#ifdef PORT_HEAP_MAP
    port_heap_map_caller = 0;
#endif
    if (h == NULL)
        return NULL;
    h->size = n * size;
    mbedtls_heap_now += h->size;
    if (mbedtls_heap_now > mbedtls_heap_peak)
        mbedtls_heap_peak = mbedtls_heap_now;
    return h + 1;
}

static void counting_free(void *p)
{
    if (p == NULL)
        return;
    block_header *h = (block_header *)p - 1;
    mbedtls_heap_now -= h->size;
    free(h);
}

void port_mbedtls_heap_install(void)
{
    mbedtls_platform_set_calloc_free(counting_calloc, counting_free);
}

void port_mbedtls_heap_reset_peak(void)
{
    mbedtls_heap_peak = mbedtls_heap_now;
}

size_t port_mbedtls_heap_peak(void)
{
    return mbedtls_heap_peak;
}

/* Calendar time, for certificate validity and ticket ages: the host's
 * clock, standing in for the RTC an ESP32 sets over SNTP. Not the board's
 * timer: under -icount the timer runs on instructions (1 ns each), not on
 * real time, so the ticket age it gives a peer that keeps real time is off
 * by seconds and the peer refuses 0-RTT (OpenSSL allows 10 s).
 * With the host's time at launch (port_set_host_clock, from the job) plus
 * semihosting's SYS_ELAPSED (real time since the emulator started), it has
 * millisecond resolution; without, whole seconds from time() (SYS_TIME). */
static uint64_t host_epoch_ms;

void port_set_host_clock(uint64_t epoch_ms)
{
    host_epoch_ms = epoch_ms;
}

uint64_t port_now_ms(void)
{
    if (host_epoch_ms != 0) {
        uintptr_t hz = sys_semihost_tickfreq();
        if (hz >= 1000)
            return host_epoch_ms + sys_semihost_elapsed() / (hz / 1000u);
    }
    time_t now = time(NULL);
    return now < 0 ? 0 : (uint64_t)now * 1000u;
}

/* Mbed TLS' millisecond clock: the calendar clock above. Mbed TLS' own TLS
 * client (the comparison firmware) takes its ticket ages from it, so it
 * must keep running across the "deep sleep", as port_now_ms does. */
mbedtls_ms_time_t mbedtls_ms_time(void)
{
    return (mbedtls_ms_time_t)port_now_ms();
}

/* Stack painting: the region between the bottom of the stack (linker
 * script: __stack - __stack_size) and a little below the caller's frame is
 * filled with a pattern; the deepest byte no longer holding it is the
 * high-water mark. */
extern uint8_t __stack[];
extern uint8_t __stack_size[];
#define PAINT 0xa5u
#define PAINT_MARGIN 64u

void port_stack_paint(void)
{
    volatile uint8_t here = 0;
    uint8_t *bottom = __stack - (uintptr_t)__stack_size;
    /* An address, not a pointer into "here": a little below this frame. */
    uintptr_t top_addr = (uintptr_t)&here - PAINT_MARGIN;
    uint8_t *top = bottom + (top_addr - (uintptr_t)bottom);
    for (uint8_t *p = bottom; p < top; p++)
        *(volatile uint8_t *)p = PAINT;
}

size_t port_stack_peak(void)
{
    uint8_t *bottom = __stack - (uintptr_t)__stack_size;
    uint8_t *p = bottom;
    while (p < __stack && *(volatile uint8_t *)p == PAINT)
        p++;
    return (size_t)(__stack - p);
}

size_t port_stack_size(void)
{
    return (size_t)(uintptr_t)__stack_size;
}
