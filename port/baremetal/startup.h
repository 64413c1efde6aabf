/* The board start-up both firmwares share (main.c: iotls; compare/
 * main_mbedtls.c: Mbed TLS 4's own TLS client, for comparison): the job the
 * host hands over by semihosting, "flash" files read through semihosting,
 * the emulation-only entropy seed, the retained-RAM region, and the UART
 * transport with its byte counters. */
#ifndef IOTLS_BAREMETAL_STARTUP_H
#define IOTLS_BAREMETAL_STARTUP_H

#include <stddef.h>
#include <stdint.h>

/* Board, stack painting, the banner line "BOARD name[ what]", the job file
 * (the last semihosting argument), the host's clock and the entropy seed.
 * 0 on success, else the exit status (the reason is printed). */
int startup_begin(int argc, char **argv, const char *what);

/* A job line's value ("key=value"), or NULL. */
const char *job_get(const char *key);

/* The job's HTTP request and what goes as 0-RTT, the same for both
 * firmwares. With get (a path) the request is "GET path HTTP/1.1"; on the
 * resumed boot with early (the reading) the reading goes in its query, and
 * the whole request is the 0-RTT data; without get the reading alone is.
 * HTTP/1.1, so that a server that can keeps the connection open after its
 * response: a KeyUpdate that follows the 0-RTT request must not reach a
 * closed socket (whose reset would destroy the response still in flight). */
typedef struct {
    char text[768];
    size_t len;           /* 0: no request (no get) */
    const char *zero_rtt; /* NULL: nothing goes as 0-RTT */
    size_t zero_rtt_len;
} job_request;
/* 0, or 2 (the exit status) when the request does not fit (printed). */
int job_request_make(job_request *r, const char *get, const char *early, const char *servername,
                     int resume);

/* "Flash": a whole file through semihosting, into the heap, NUL-terminated
 * with the NUL counted in *len (PEM parsers want it). NULL when missing. */
uint8_t *flash_read(const char *path, size_t *len);

/* The retained-RAM region: kept across the "deep sleep" (on an ESP32: RTC
 * slow memory). The session blob a firmware saves there is its own. It
 * lies in picolibc's .preserve section (NOLOAD), which the start-up code
 * does not clear and QEMU's system reset leaves as it was. */
/* Room for iotls' largest session blob (IOTLS_SESSION_MAX_BLOB, 4,462 B:
 * a ticket of up to 4 KiB; main.c checks it at compile time). A device
 * that talks only to its own gateway, whose tickets it knows, can keep a
 * smaller region: iotls_session_save says when the blob does not fit. */
#define RETAINED_BLOB_MAX 4608u
typedef struct {
    uint32_t magic;
    uint32_t len;
    uint32_t warm; /* 1: the deep sleep's system reset has been requested */
    uint32_t crc;  /* CRC-32 of len, warm and blob[0..len) */
    uint8_t blob[RETAINED_BLOB_MAX];
} retained_region;
extern retained_region retained;
#define RETAINED_MAGIC 0x544c5331u /* "TLS1" */

/* Marks the region as holding blob[0..len) (magic and CRC). */
void retained_seal(void);
/* 1 when this boot is the one after the deep sleep's system reset
 * (job mode=warm): the region passed its magic and CRC checks. */
extern int startup_warm_boot;

/* mode=resume: the host hands back the region the first boot gave it
 * (--resume without --warm-reset); a warm boot keeps what survived the
 * reset; else the region is emptied. 0, or the exit status (the reason
 * printed). */
int retained_restore(int resume);
/* The first boot's "deep sleep": with mode=warm, a system reset with the
 * region sealed (no return); else the region goes to the host
 * (session=FILE of the job). 0, or the exit status. */
int retained_hand_over(void);

/* The UART as the TLS transport, counting the bytes on the wire. */
extern uint64_t wire_tx, wire_rx;
void wire_send(const uint8_t *p, size_t n);
size_t wire_recv(uint8_t *p, size_t cap);

/* The measured step: instructions (UART polling left out), bytes on the
 * wire, Mbed TLS' heap high-water (platform.h), stack high-water (painted). */
typedef struct {
    const char *name;
    uint64_t insns0, wait0, tx0, rx0;
} step;
void step_begin(step *s, const char *name);
/* Prints "STEP name insns= wait= tx= rx= mbedtls_heap_peak= stack_peak=". */
void step_end(const step *s);

/* The closing lines: totals and "OK". */
int startup_finish(void);

#endif
