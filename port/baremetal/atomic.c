/* The C11 atomics the provider uses (src/crypto/common/mem.c, the PSA
 * provider's start-up flag), for a core without atomic instructions:
 * RV32IMC has no "A" extension, so GCC calls these. The firmware runs on
 * one core with interrupts off, so a plain read-modify-write is atomic.
 * On the Cortex-M4 (LDREX/STREX) GCC inlines them and none is linked. */
#include <stdint.h>
#include <string.h>

#if defined(__riscv) && !defined(__riscv_atomic)
unsigned int __atomic_fetch_add_4(volatile void *p, unsigned int v, int order);
unsigned int __atomic_fetch_sub_4(volatile void *p, unsigned int v, int order);
unsigned int __atomic_exchange_4(volatile void *p, unsigned int v, int order);
_Bool __atomic_compare_exchange_4(volatile void *p, void *expected, unsigned int desired,
                                  _Bool weak, int success, int failure);

unsigned int __atomic_fetch_add_4(volatile void *p, unsigned int v, int order)
{
    (void)order;
    unsigned int old = *(volatile unsigned int *)p;
    *(volatile unsigned int *)p = old + v;
    return old;
}

unsigned int __atomic_fetch_sub_4(volatile void *p, unsigned int v, int order)
{
    (void)order;
    unsigned int old = *(volatile unsigned int *)p;
    *(volatile unsigned int *)p = old - v;
    return old;
}

unsigned int __atomic_exchange_4(volatile void *p, unsigned int v, int order)
{
    (void)order;
    unsigned int old = *(volatile unsigned int *)p;
    *(volatile unsigned int *)p = v;
    return old;
}

_Bool __atomic_compare_exchange_4(volatile void *p, void *expected, unsigned int desired,
                                  _Bool weak, int success, int failure)
{
    (void)weak;
    (void)success;
    (void)failure;
    unsigned int cur = *(volatile unsigned int *)p;
    unsigned int exp;
    memcpy(&exp, expected, sizeof exp);
    if (cur == exp) {
        *(volatile unsigned int *)p = desired;
        return 1;
    }
    memcpy(expected, &cur, sizeof cur);
    return 0;
}
#else
/* ISO C forbids an empty translation unit. */
typedef int iotls_atomic_unused;
#endif
