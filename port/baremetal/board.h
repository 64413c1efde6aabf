/* What the firmware needs from a board: its UART (the transport: QEMU joins
 * it to a TCP socket on 127.0.0.1, a host-side relay carries the bytes on to
 * the TLS peer), an instruction counter, and the entropy hook. One file per
 * board implements it: board_cm4.c (MPS2 AN386, Cortex-M4) and
 * board_rv32.c (QEMU virt, RV32IMC). */
#ifndef IOTLS_BAREMETAL_BOARD_H
#define IOTLS_BAREMETAL_BOARD_H

#include <stddef.h>
#include <stdint.h>

void board_init(void);
const char *board_name(void);
/* Blocking send of n bytes on the UART. */
void board_uart_write(const uint8_t *p, size_t n);
/* Waits for at least one byte, then returns as many as are there (up to
 * cap) without waiting again. The instructions spent polling for the
 * first byte are added to board_wait_instructions(). */
size_t board_uart_read(uint8_t *p, size_t cap);
/* Instructions executed since reset. Exact on rv32 (the instret CSR); on
 * cm4 derived from the CMSDK timer, which QEMU runs from the virtual clock:
 * under -icount shift=0 one instruction is one nanosecond, so one 25 MHz
 * tick is 40 instructions (that is the resolution). */
uint64_t board_instructions(void);
/* Of those, the ones spent waiting for UART input (polling). */
uint64_t board_wait_instructions(void);

/* System reset: the board starts again from its reset vector; RAM that
 * the image does not load or clear (the retained region) survives. */
void board_reset(void) __attribute__((noreturn));

/* Entropy for the crypto library's DRBG (mbedtls_platform_get_entropy).
 * On an ESP32 this is esp_fill_random (the hardware RNG, with the radio
 * on). These emulated boards have no random generator: the host hands the
 * firmware seed bytes at boot through semihosting (entropy.c), which is
 * FOR EMULATION ONLY. Returns 0, or -1 when no entropy is left. */
int board_entropy_fill(uint8_t *out, size_t len);
/* Emulation only: the pool board_entropy_fill draws from. */
void board_entropy_seed(const uint8_t *seed, size_t len);

#endif
