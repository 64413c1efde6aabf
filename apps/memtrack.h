/* Per-thread heap accounting for the demo and the benchmark: how much the
 * engine's memory plus the crypto library's allocations peak at on one
 * side of a connection. Works by wrapping malloc/calloc/realloc/free in the
 * iotls program (glibc); off in sanitizer builds, whose allocator must stay
 * in charge. */
#ifndef IOTLS_MEMTRACK_H
#define IOTLS_MEMTRACK_H

#include <stddef.h>
#include <stdio.h>

int memtrack_available(void);
/* Start counting this thread's peak from its current usage. */
void memtrack_reset_thread(void);
/* Peak bytes allocated by this thread since the reset, above the usage at
 * the reset. */
size_t memtrack_thread_peak(void);
size_t memtrack_thread_current(void);
/* Diagnostic: keep this thread's live blocks with their call stacks (on),
 * then print the ones live at its peak and stop (dump). 0 (and nothing
 * kept) unless the program was compiled with -DIOTLS_HEAP_TRACE and
 * memtrack_available() is 1. */
int memtrack_trace_thread(int on);
void memtrack_trace_dump(FILE *out);

#endif
