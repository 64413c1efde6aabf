/* The port's C-library and Mbed TLS hooks (platform.c). */
#ifndef IOTLS_BAREMETAL_PLATFORM_H
#define IOTLS_BAREMETAL_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

/* The heap arena: what malloc may use in all (the linker script leaves the
 * rest of RAM to .data, .bss and the stack). */
#ifndef PORT_ARENA_SIZE
#define PORT_ARENA_SIZE (160u * 1024u)
#endif

size_t port_arena_peak(void);
/* Mbed TLS' allocations (mbedtls_platform_set_calloc_free): installed by
 * startup_begin before the library allocates anything; the peak since the
 * last reset (step_begin), as STEP lines print it. */
void port_mbedtls_heap_install(void);
void port_mbedtls_heap_reset_peak(void);
size_t port_mbedtls_heap_peak(void);
/* Emulation: the host's Unix time in ms when it launched the board. */
void port_set_host_clock(uint64_t epoch_ms);
uint64_t port_now_ms(void);
void port_stack_paint(void);
size_t port_stack_peak(void);
size_t port_stack_size(void);
#ifdef PORT_HEAP_MAP
/* The measurement build's map of the arena at its high-water mark
 * (heap_map.c): the caller recorded for a block Mbed TLS asks for. */
extern volatile uintptr_t port_heap_map_caller;
void port_heap_map_print(void);
#endif

#endif
