/* For comparison only: Mbed TLS 4's own TLS 1.3 client on the same boards,
 * with the same crypto configuration, entropy hook, UART, clock, heap arena
 * and measurements as the iotls firmware (port/baremetal/main.c), doing
 * the same full-handshake boot: chain and host name verified, the device
 * certificate when asked, an HTTP GET, close_notify. Not a product: no
 * resumption, 0-RTT or KeyUpdate here (Mbed TLS 4 has no KeyUpdate API).
 * Reads the same job file (tools/device/run_client.py --stack mbedtls) and
 * prints the same lines. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "board.h"
#include "platform.h"

#define JOB_MAX 4096
static char job_text[JOB_MAX];

static const char *job_get(const char *key)
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

static uint8_t *read_file(const char *path, size_t *len)
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
        buf[n] = 0; /* PEM parsers want the terminating NUL counted */
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

/* Mbed TLS' heap, counted the way the iotls firmware's PSA provider counts
 * it: a size header in front of each block. */
typedef union {
    max_align_t align;
    size_t size;
} block_header;
static size_t heap_now, heap_peak;

static void *counting_calloc(size_t n, size_t size)
{
    if (size != 0 && n > ((size_t)-1 - sizeof(block_header)) / size)
        return NULL;
    block_header *h = calloc(1, sizeof(block_header) + n * size);
    if (h == NULL)
        return NULL;
    h->size = n * size;
    heap_now += h->size;
    if (heap_now > heap_peak)
        heap_peak = heap_now;
    return h + 1;
}

static void counting_free(void *p)
{
    if (p == NULL)
        return;
    block_header *h = (block_header *)p - 1;
    heap_now -= h->size;
    free(h);
}

static uint64_t wire_tx, wire_rx;

typedef struct {
    const char *name;
    uint64_t insns0, wait0, tx0, rx0;
} step;

static void step_begin(step *s, const char *name)
{
    s->name = name;
    heap_peak = heap_now;
    port_stack_paint();
    s->tx0 = wire_tx;
    s->rx0 = wire_rx;
    s->wait0 = board_wait_instructions();
    s->insns0 = board_instructions();
}

static void step_end(const step *s)
{
    uint64_t insns = board_instructions() - s->insns0;
    uint64_t wait = board_wait_instructions() - s->wait0;
    printf("STEP %s insns=%llu wait=%llu tx=%llu rx=%llu mbedtls_heap_peak=%zu stack_peak=%zu\n",
           s->name, (unsigned long long)(insns - wait), (unsigned long long)wait,
           (unsigned long long)(wire_tx - s->tx0), (unsigned long long)(wire_rx - s->rx0),
           heap_peak, port_stack_peak());
}

static int uart_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    board_uart_write(buf, len);
    wire_tx += len;
    return (int)len;
}

static int uart_recv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    size_t n = board_uart_read(buf, len);
    wire_rx += n;
    return (int)n;
}

static int fail(const char *what, int ret)
{
    printf("FAIL %s: Mbed TLS error -0x%04x\n", what, (unsigned)-ret);
    return 1;
}

static char response[8192];
static size_t response_len;

static int response_complete(void)
{
    response[response_len] = '\0';
    const char *end = strstr(response, "\r\n\r\n");
    const char *cl = strstr(response, "Content-Length:");
    if (end == NULL || cl == NULL || cl > end)
        return 0;
    size_t want = (size_t)strtoul(cl + 15, NULL, 10);
    return response_len - (size_t)(end + 4 - response) >= want;
}

int main(int argc, char **argv)
{
    board_init();
    port_stack_paint();
    printf("BOARD %s (Mbed TLS 4 TLS client, for comparison)\n", board_name());
    if (argc < 2 || load_job(argv[argc - 1]) != 0) {
        printf("FAIL no job file on the semihosting command line\n");
        return 2;
    }
    if (job_get("mode") != NULL && strcmp(job_get("mode"), "full") != 0) {
        printf("FAIL the comparison firmware does only the full handshake\n");
        return 2;
    }
    if (job_get("clock_ms") != NULL)
        port_set_host_clock(strtoull(job_get("clock_ms"), NULL, 10));
    const char *servername = job_get("servername");
    const char *get = job_get("get");
    size_t seed_len = 0;
    uint8_t *seed = job_get("seed") ? read_file(job_get("seed"), &seed_len) : NULL;
    if (seed == NULL || seed_len < 65) {
        printf("FAIL no entropy seed from the host\n");
        return 2;
    }
    board_entropy_seed(seed, seed_len - 1);
    memset(seed, 0, seed_len);
    free(seed);
    mbedtls_platform_set_calloc_free(counting_calloc, counting_free);

    static mbedtls_ssl_context ssl;
    static mbedtls_ssl_config conf;
    static mbedtls_x509_crt ca, cert;
    static mbedtls_pk_context key;
    step st;
    step_begin(&st, "setup");
    if (psa_crypto_init() != PSA_SUCCESS)
        return fail("psa_crypto_init", -1);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    size_t len = 0;
    uint8_t *pem = job_get("ca") ? read_file(job_get("ca"), &len) : NULL;
    int ret = pem ? mbedtls_x509_crt_parse(&ca, pem, len) : -1;
    free(pem);
    if (ret != 0)
        return fail("CA", ret);
    if (job_get("cert") != NULL) {
        pem = read_file(job_get("cert"), &len);
        ret = pem ? mbedtls_x509_crt_parse(&cert, pem, len) : -1;
        free(pem);
        if (ret != 0)
            return fail("device certificate", ret);
        pem = job_get("key") ? read_file(job_get("key"), &len) : NULL;
        ret = pem ? mbedtls_pk_parse_key(&key, pem, len, NULL, 0) : -1;
        if (pem != NULL)
            memset(pem, 0, len);
        free(pem);
        if (ret != 0)
            return fail("device key", ret);
    }
    ret = mbedtls_ssl_config_defaults(&conf, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                      MBEDTLS_SSL_PRESET_DEFAULT);
    if (ret != 0)
        return fail("config", ret);
    mbedtls_ssl_conf_authmode(&conf, MBEDTLS_SSL_VERIFY_REQUIRED);
    mbedtls_ssl_conf_ca_chain(&conf, &ca, NULL);
    if (job_get("cert") != NULL && (ret = mbedtls_ssl_conf_own_cert(&conf, &cert, &key)) != 0)
        return fail("own certificate", ret);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0)
        return fail("setup", ret);
    if ((ret = mbedtls_ssl_set_hostname(&ssl, servername)) != 0)
        return fail("hostname", ret);
    mbedtls_ssl_set_bio(&ssl, NULL, uart_send, uart_recv, NULL);
    step_end(&st);

    step_begin(&st, "handshake_full");
    do
        ret = mbedtls_ssl_handshake(&ssl);
    while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    step_end(&st);
    if (ret != 0)
        return fail("handshake", ret);
    printf("HANDSHAKE %s resumed=0 verified=%d\n", mbedtls_ssl_get_ciphersuite(&ssl),
           mbedtls_ssl_get_verify_result(&ssl) == 0);

    if (get != NULL) {
        char req[512];
        int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", get,
                         servername ? servername : "device");
        step_begin(&st, "http_get");
        ret = mbedtls_ssl_write(&ssl, (const unsigned char *)req, (size_t)n);
        while (ret >= 0) {
            ret = mbedtls_ssl_read(&ssl, (unsigned char *)response + response_len,
                                   sizeof response - 1 - response_len);
            if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET ||
                ret == MBEDTLS_ERR_SSL_WANT_READ) {
                ret = 0;
                continue;
            }
            if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || ret == 0) {
                ret = response_len > 0 ? 0 : -1;
                break;
            }
            if (ret < 0)
                break;
            response_len += (size_t)ret;
            if (response_complete() || response_len == sizeof response - 1) {
                ret = 0;
                break;
            }
        }
        step_end(&st);
        if (ret != 0)
            return fail("GET", ret);
        response[response_len] = '\0';
        printf("RESPONSE_BEGIN\n%s\nRESPONSE_END\n", response);
    }

    step_begin(&st, "close_notify");
    ret = mbedtls_ssl_close_notify(&ssl);
    step_end(&st);
    if (ret != 0)
        return fail("close", ret);
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&cert);
    mbedtls_pk_free(&key);
    printf("TOTAL wire_tx=%llu wire_rx=%llu arena_peak=%zu stack_size=%zu\n",
           (unsigned long long)wire_tx, (unsigned long long)wire_rx, port_arena_peak(),
           port_stack_size());
    printf("OK\n");
    return 0;
}
