/* ARM MPS2 AN386 (Cortex-M4) as QEMU models it: CMSDK APB UART0 at
 * 0x40004000 (QEMU's first -serial) and CMSDK APB timer 0 at 0x40000000,
 * clocked at 25 MHz. */
#include "board.h"

#define REG(addr) (*(volatile uint32_t *)(addr))

#define UART0 0x40004000u
#define UART_DATA REG(UART0 + 0x00)
#define UART_STATE REG(UART0 + 0x04)
#define UART_CTRL REG(UART0 + 0x08)
#define UART_BAUDDIV REG(UART0 + 0x10)
#define UART_STATE_TXFULL 1u
#define UART_STATE_RXFULL 2u

#define TIMER0 0x40000000u
#define TIMER_CTRL REG(TIMER0 + 0x00)
#define TIMER_VALUE REG(TIMER0 + 0x04)
#define TIMER_RELOAD REG(TIMER0 + 0x08)

/* One timer tick in instructions: 1e9 ns per s / 25e6 ticks per s under
 * -icount shift=0 (1 instruction = 1 ns). */
#define INSNS_PER_TICK 40u

static uint64_t ticks_high;
static uint32_t ticks_last;
static uint64_t wait_insns;

void board_init(void)
{
    UART_BAUDDIV = 16;   /* the smallest divider the CMSDK UART takes */
    UART_CTRL = 1u | 2u; /* TX and RX enabled */
    TIMER_RELOAD = 0xffffffffu;
    TIMER_VALUE = 0xffffffffu;
    TIMER_CTRL = 1u; /* enabled, no interrupt */
    ticks_last = 0;
    ticks_high = 0;
}

const char *board_name(void)
{
    return "cm4 (QEMU mps2-an386, Cortex-M4)";
}

uint64_t board_instructions(void)
{
    /* The timer counts down; elapsed = 0xffffffff - value, widened to 64
     * bits (called far more often than every 171 s of virtual time). */
    uint32_t now = 0xffffffffu - TIMER_VALUE;
    if (now < ticks_last)
        ticks_high += 1ull << 32;
    ticks_last = now;
    return (ticks_high + now) * INSNS_PER_TICK;
}

uint64_t board_wait_instructions(void)
{
    return wait_insns;
}

void board_uart_write(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (UART_STATE & UART_STATE_TXFULL) {
        }
        UART_DATA = p[i];
    }
}

size_t board_uart_read(uint8_t *p, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    if (!(UART_STATE & UART_STATE_RXFULL)) {
        uint64_t start = board_instructions();
        while (!(UART_STATE & UART_STATE_RXFULL)) {
        }
        wait_insns += board_instructions() - start;
    }
    while (n < cap && (UART_STATE & UART_STATE_RXFULL))
        p[n++] = (uint8_t)UART_DATA;
    return n;
}

/* A system reset (the emulated wake from deep sleep): SYSRESETREQ in the
 * System Control Block's AIRCR. QEMU resets the whole board and starts the
 * image again; RAM outside the image's segments keeps its contents. */
void board_reset(void)
{
    REG(0xE000ED0Cu) = 0x05FA0004u; /* VECTKEY | SYSRESETREQ */
    for (;;)
        ;
}
