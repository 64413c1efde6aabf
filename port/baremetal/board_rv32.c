/* QEMU's RISC-V virt board with a 32-bit core: NS16550A UART at 0x10000000
 * (QEMU's first -serial) and the instret CSR, which QEMU counts exactly
 * under -icount. */
#include "board.h"

#define UART0 0x10000000u
#define UART_RBR (*(volatile uint8_t *)(UART0 + 0))
#define UART_THR (*(volatile uint8_t *)(UART0 + 0))
#define UART_FCR (*(volatile uint8_t *)(UART0 + 2))
#define UART_LSR (*(volatile uint8_t *)(UART0 + 5))
#define LSR_DATA_READY 0x01u
#define LSR_THR_EMPTY 0x20u

static uint64_t wait_insns;

void board_init(void)
{
    UART_FCR = 0x07; /* FIFOs on and cleared */
}

const char *board_name(void)
{
    return "rv32 (QEMU virt, RV32IMC)";
}

/* csrr rd, instret (0xc02) / instreth (0xc82), spelled with .insn so that
 * the plain rv32imc -march (no _zicsr) assembles it; .insn takes the CSR
 * number as a signed 12-bit immediate (0xc82 - 4096 = -894, 0xc02 - 4096 =
 * -1022). */
uint64_t board_instructions(void)
{
    uint32_t hi, lo, hi2;
    do {
        __asm__ volatile(".insn i 0x73, 2, %0, x0, -894" : "=r"(hi));
        __asm__ volatile(".insn i 0x73, 2, %0, x0, -1022" : "=r"(lo));
        __asm__ volatile(".insn i 0x73, 2, %0, x0, -894" : "=r"(hi2));
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

uint64_t board_wait_instructions(void)
{
    return wait_insns;
}

void board_uart_write(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        while (!(UART_LSR & LSR_THR_EMPTY)) {
        }
        UART_THR = p[i];
    }
}

size_t board_uart_read(uint8_t *p, size_t cap)
{
    size_t n = 0;
    if (cap == 0)
        return 0;
    if (!(UART_LSR & LSR_DATA_READY)) {
        uint64_t start = board_instructions();
        while (!(UART_LSR & LSR_DATA_READY)) {
        }
        wait_insns += board_instructions() - start;
    }
    while (n < cap && (UART_LSR & LSR_DATA_READY))
        p[n++] = UART_RBR;
    return n;
}

/* A system reset (the emulated wake from deep sleep): the virt board's test
 * device (SiFive test finisher at 0x100000) resets it on FINISHER_RESET.
 * QEMU starts the image again; RAM outside the image's segments keeps its
 * contents. */
void board_reset(void)
{
    *(volatile uint32_t *)0x100000u = 0x7777u; /* FINISHER_RESET */
    for (;;)
        ;
}
