/* The board start-up both firmwares share (startup.h). */
#include "startup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "platform.h"

#define JOB_MAX 4096
static char job_text[JOB_MAX];

const char *job_get(const char *key)
{
    size_t klen = strlen(key);
    char *line = job_text;
    while (line != NULL && *line != '\0') {
        if (strncmp(line, key, klen) == 0 && line[klen] == '=')
            return line + klen + 1;
        line = strchr(line, '\0') + 1;
    }
    return NULL;
}

uint8_t *flash_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1024, n = 0;
    uint8_t *buf = malloc(cap + 1);
    while (buf != NULL) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        uint8_t *bigger = realloc(buf, 2 * cap + 1);
        if (bigger == NULL) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = bigger;
        cap *= 2;
    }
    fclose(f);
    if (buf != NULL) {
        buf[n] = 0;
        *len = n + 1;
    }
    return buf;
}

static int load_job(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    size_t n = fread(job_text, 1, JOB_MAX - 2, f);
    fclose(f);
    job_text[n] = '\0';
    job_text[n + 1] = '\0';
    for (size_t i = 0; i < n; i++)
        if (job_text[i] == '\n' || job_text[i] == '\r')
            job_text[i] = '\0';
    return 0;
}

retained_region retained __attribute__((section(".preserve.retained_session")));

/* CRC-32 (IEEE 802.3, bitwise): an integrity check of the retained
 * region after the reset, not a security measure. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
    crc = ~crc;
    while (n-- > 0) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return ~crc;
}

static uint32_t retained_crc(void)
{
    uint32_t crc = crc32_update(0, (const uint8_t *)&retained.len, sizeof retained.len);
    crc = crc32_update(crc, (const uint8_t *)&retained.warm, sizeof retained.warm);
    return crc32_update(crc, retained.blob,
                        retained.len <= RETAINED_BLOB_MAX ? retained.len : RETAINED_BLOB_MAX);
}

void retained_seal(void)
{
    retained.magic = RETAINED_MAGIC;
    retained.crc = retained_crc();
}

static int retained_valid(void)
{
    return retained.magic == RETAINED_MAGIC && retained.len <= RETAINED_BLOB_MAX &&
           retained.crc == retained_crc();
}

int startup_warm_boot;

int startup_begin(int argc, char **argv, const char *what)
{
    board_init();
    port_stack_paint();
    port_mbedtls_heap_install();
    printf("BOARD %s%s%s\n", board_name(), what ? " " : "", what ? what : "");
    /* The job file is the last argument (QEMU may put the image's name
     * first). */
    if (argc < 2 || load_job(argv[argc - 1]) != 0) {
        printf("FAIL no job file on the semihosting command line (argc %d, %s)\n", argc,
               argc > 1 ? argv[argc - 1] : "-");
        return 2;
    }
    if (job_get("clock_ms") != NULL)
        port_set_host_clock(strtoull(job_get("clock_ms"), NULL, 10));
    const char *mode = job_get("mode");
    if (mode != NULL && strcmp(mode, "warm") == 0 && retained_valid() && retained.warm == 1) {
        startup_warm_boot = 1;
        printf("WARM_BOOT after a system reset: the retained region passed its magic and CRC "
               "checks (%u bytes)\n",
               (unsigned)retained.len);
    }
    /* Emulation only: the host's seed for the entropy hook (entropy.c); the
     * boot after a warm reset takes bytes of its own, never the first
     * boot's again. */
    const char *seed_path = job_get(startup_warm_boot ? "seed_warm" : "seed");
    size_t seed_len = 0;
    uint8_t *seed = seed_path ? flash_read(seed_path, &seed_len) : NULL;
    if (seed == NULL || seed_len < 65) {
        printf("FAIL no entropy seed from the host\n");
        free(seed);
        return 2;
    }
    board_entropy_seed(seed, seed_len - 1);
    memset(seed, 0, seed_len);
    free(seed);
    return 0;
}

int retained_restore(int resume)
{
    if (startup_warm_boot) {
        /* Used once: a reset from here on finds no session. */
        retained.warm = 0;
        retained.magic = 0;
        return 0;
    }
    if (!resume) {
        retained.magic = 0;
        retained.warm = 0;
        return 0;
    }
    /* The warm reset: QEMU cannot keep RAM across two runs, so the host
     * hands back the retained region that the first boot gave it. */
    const char *path = job_get("session");
    size_t len = 0;
    uint8_t *img = path ? flash_read(path, &len) : NULL;
    if (img == NULL || len - 1 != sizeof retained) {
        printf("FAIL no retained session from the first boot\n");
        free(img);
        return 2;
    }
    memcpy(&retained, img, sizeof retained);
    free(img);
    if (retained.magic != RETAINED_MAGIC || retained.len > sizeof retained.blob) {
        printf("FAIL the retained region holds no session\n");
        return 1;
    }
    return 0;
}

int retained_hand_over(void)
{
    const char *mode = job_get("mode");
    if (mode != NULL && strcmp(mode, "warm") == 0) {
        if (retained.magic != RETAINED_MAGIC) {
            printf("FAIL no session in the retained region before the deep sleep\n");
            return 1;
        }
        retained.warm = 1;
        retained_seal();
        printf("DEEP_SLEEP system reset, the session in retained RAM (%u bytes)\n",
               (unsigned)retained.len);
        fflush(stdout);
        board_reset();
    }
    /* Deep sleep: the retained region outlives the boot. The emulator does
     * not, so the host keeps the region's bytes until the next boot hands
     * them back (mode=resume). */
    const char *path = job_get("session");
    FILE *f = path ? fopen(path, "wb") : NULL;
    if (f == NULL || fwrite(&retained, 1, sizeof retained, f) != sizeof retained) {
        printf("FAIL cannot hand the retained region to the host\n");
        if (f != NULL)
            fclose(f);
        return 2;
    }
    fclose(f);
    return 0;
}

uint64_t wire_tx, wire_rx;

void wire_send(const uint8_t *p, size_t n)
{
    board_uart_write(p, n);
    wire_tx += n;
}

size_t wire_recv(uint8_t *p, size_t cap)
{
    size_t n = board_uart_read(p, cap);
    wire_rx += n;
    return n;
}

void step_begin(step *s, const char *name)
{
    s->name = name;
    port_stack_paint();
    port_mbedtls_heap_reset_peak();
    s->tx0 = wire_tx;
    s->rx0 = wire_rx;
    s->wait0 = board_wait_instructions();
    s->insns0 = board_instructions();
}

void step_end(const step *s)
{
    uint64_t insns = board_instructions() - s->insns0;
    uint64_t wait = board_wait_instructions() - s->wait0;
    printf("STEP %s insns=%llu wait=%llu tx=%llu rx=%llu mbedtls_heap_peak=%zu stack_peak=%zu\n",
           s->name, (unsigned long long)(insns - wait), (unsigned long long)wait,
           (unsigned long long)(wire_tx - s->tx0), (unsigned long long)(wire_rx - s->rx0),
           port_mbedtls_heap_peak(), port_stack_peak());
}

int startup_finish(void)
{
    printf("TOTAL wire_tx=%llu wire_rx=%llu arena_peak=%zu stack_size=%zu\n",
           (unsigned long long)wire_tx, (unsigned long long)wire_rx, port_arena_peak(),
           port_stack_size());
#ifdef PORT_HEAP_MAP
    port_heap_map_print();
#endif
    printf("OK\n");
    return 0;
}

int job_request_make(job_request *r, const char *get, const char *early, const char *servername,
                     int resume)
{
    r->len = 0;
    r->zero_rtt = NULL;
    r->zero_rtt_len = 0;
    if (get != NULL) {
        int n = snprintf(r->text, sizeof r->text, "GET %s%s%s HTTP/1.1\r\nHost: %s\r\n\r\n", get,
                         resume && early ? (strchr(get, '?') ? "&reading=" : "?reading=") : "",
                         resume && early ? early : "", servername ? servername : "device");
        if (n < 0 || (size_t)n >= sizeof r->text) {
            printf("FAIL request too long\n");
            return 2;
        }
        r->len = (size_t)n;
    }
    if (resume && early != NULL) {
        r->zero_rtt = get != NULL ? r->text : early;
        r->zero_rtt_len = get != NULL ? r->len : strlen(early);
    }
    return 0;
}
