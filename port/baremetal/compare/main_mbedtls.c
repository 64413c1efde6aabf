/* For comparison only: Mbed TLS 4's own TLS 1.3 client on the same boards,
 * with the same crypto configuration and the same board start-up
 * (startup.c: job, semihosted files, entropy hook, retained RAM, UART,
 * measurements) as the iotls firmware (port/baremetal/main.c), doing the
 * same scenario:
 *   mode=full    full handshake (chain and host name verified, the device
 *                certificate when asked), an HTTP GET, the NewSessionTicket
 *                kept in retained RAM (mbedtls_ssl_session_save),
 *                close_notify, then the "deep sleep";
 *   mode=resume  the session from retained RAM (mbedtls_ssl_set_session),
 *                the reading sent as 0-RTT (mbedtls_ssl_write_early_data),
 *                the response read, close_notify.
 * Mbed TLS 4 has no KeyUpdate API: keyupdate=1 is reported as not done.
 * The record buffers are the build's (MBEDTLS_SSL_IN/OUT_CONTENT_LEN,
 * build-mbedtls4.sh); they are printed. Not a product. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/platform.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <psa/crypto.h>

#include "platform.h"
#include "startup.h"

static int uart_send(void *ctx, const unsigned char *buf, size_t len)
{
    (void)ctx;
    wire_send(buf, len);
    return (int)len;
}

static int uart_recv(void *ctx, unsigned char *buf, size_t len)
{
    (void)ctx;
    return (int)wire_recv(buf, len);
}

static int fail(const char *what, int ret)
{
    printf("FAIL %s: Mbed TLS error -0x%04x\n", what, (unsigned)-ret);
    return 1;
}

static mbedtls_ssl_context ssl;
static int tickets_seen;
static int certs_checked;

/* Counts the certificates of the chain Mbed TLS verifies (none when the
 * handshake resumed); their verdict is Mbed TLS' own. */
static int count_verify(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    (void)arg;
    (void)crt;
    (void)depth;
    (void)flags;
    certs_checked++;
    return 0;
}

/* A NewSessionTicket arrived: the session goes into retained RAM. */
static void keep_ticket(void)
{
    mbedtls_ssl_session s;
    size_t len = 0;
    mbedtls_ssl_session_init(&s);
    if (mbedtls_ssl_get_session(&ssl, &s) == 0 &&
        mbedtls_ssl_session_save(&s, retained.blob, sizeof retained.blob, &len) == 0) {
        retained.len = (uint32_t)len;
        retained.magic = RETAINED_MAGIC;
        tickets_seen++;
    }
    mbedtls_ssl_session_free(&s);
}

/* mbedtls_ssl_read that keeps the tickets on the way: > 0 bytes, 0 at the
 * peer's close_notify, MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET once a
 * ticket was kept, < 0 an error. */
static int read_app(unsigned char *buf, size_t cap)
{
    for (;;) {
        int ret = mbedtls_ssl_read(&ssl, buf, cap);
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            keep_ticket();
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
            continue;
        if (ret == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY)
            return 0;
        return ret;
    }
}

static int write_all(const unsigned char *p, size_t len)
{
    while (len > 0) {
        int ret = mbedtls_ssl_write(&ssl, p, len);
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            keep_ticket(); /* read while flushing: kept, then on */
        if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE ||
            ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue;
        if (ret < 0)
            return ret;
        p += ret;
        len -= (size_t)ret;
    }
    return 0;
}

static char response[8192];
static size_t response_len;

static int response_complete(void)
{
    response[response_len] = '\0';
    const char *end = strstr(response, "\r\n\r\n");
    const char *cl = strstr(response, "Content-Length:");
    if (cl == NULL)
        cl = strstr(response, "content-length:");
    if (end == NULL || cl == NULL || cl > end)
        return 0;
    size_t want = (size_t)strtoul(cl + 15, NULL, 10);
    return response_len - (size_t)(end + 4 - response) >= want;
}

static int read_response(void)
{
    for (;;) {
        int ret =
            read_app((unsigned char *)response + response_len, sizeof response - 1 - response_len);
        if (ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            continue; /* kept; the response goes on */
        if (ret == 0)
            return response_len > 0 ? 0 : MBEDTLS_ERR_SSL_CONN_EOF;
        if (ret < 0)
            return ret;
        response_len += (size_t)ret;
        if (response_complete() || response_len == sizeof response - 1)
            return 0;
    }
}

int main(int argc, char **argv)
{
    int ret = startup_begin(argc, argv, "(Mbed TLS 4 TLS client, for comparison)");
    if (ret != 0)
        return ret;
    const char *mode = job_get("mode");
    int warm = mode != NULL && strcmp(mode, "warm") == 0;
    /* mode=warm: the boot after the deep sleep's system reset resumes. */
    int resume = (mode != NULL && strcmp(mode, "resume") == 0) || startup_warm_boot;
    const char *servername = job_get("servername");
    const char *get = job_get("get");
    const char *early = job_get("early");
    /* The first boot keeps the ticket: for the host (session=FILE) or
     * across a system reset (mode=warm). */
    int keep_session = job_get("session") != NULL || warm;
    if ((ret = retained_restore(resume)) != 0)
        return ret;
    printf("RECORD_BUFFERS in=%d out=%d%s\n", MBEDTLS_SSL_IN_CONTENT_LEN,
           MBEDTLS_SSL_OUT_CONTENT_LEN,
#if defined(MBEDTLS_SSL_RECORD_SIZE_LIMIT)
           " record_size_limit"
#else
           ""
#endif
    );

    /* The same request as the iotls firmware's (startup.h). */
    static job_request rq;
    if (job_request_make(&rq, get, early, servername, resume) != 0)
        return 2;
    const char *request = rq.text, *zero_rtt = rq.zero_rtt;
    size_t request_len = rq.len, zero_rtt_len = rq.zero_rtt_len;

    static mbedtls_ssl_config conf;
    static mbedtls_x509_crt ca, cert;
    static mbedtls_pk_context key;
    static mbedtls_ssl_session session;
    step st;
    step_begin(&st, "setup");
    if (psa_crypto_init() != PSA_SUCCESS)
        return fail("psa_crypto_init", -1);
    mbedtls_x509_crt_init(&ca);
    mbedtls_x509_crt_init(&cert);
    mbedtls_pk_init(&key);
    mbedtls_ssl_init(&ssl);
    mbedtls_ssl_config_init(&conf);
    mbedtls_ssl_session_init(&session);
    size_t len = 0;
    uint8_t *pem = job_get("ca") ? flash_read(job_get("ca"), &len) : NULL;
    ret = pem ? mbedtls_x509_crt_parse(&ca, pem, len) : -1;
    free(pem);
    if (ret != 0)
        return fail("CA", ret);
    if (job_get("cert") != NULL) {
        pem = flash_read(job_get("cert"), &len);
        ret = pem ? mbedtls_x509_crt_parse(&cert, pem, len) : -1;
        free(pem);
        if (ret != 0)
            return fail("device certificate", ret);
        pem = job_get("key") ? flash_read(job_get("key"), &len) : NULL;
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
    mbedtls_ssl_conf_verify(&conf, count_verify, NULL);
    mbedtls_ssl_conf_early_data(&conf, MBEDTLS_SSL_EARLY_DATA_ENABLED);
    /* iotls' offer, in its order (src/suites.c), so that a peer that follows
     * the client's preference picks the same suite and group for both. */
    static const int suites[] = {MBEDTLS_TLS1_3_AES_128_GCM_SHA256,
                                 MBEDTLS_TLS1_3_AES_256_GCM_SHA384,
                                 MBEDTLS_TLS1_3_CHACHA20_POLY1305_SHA256, 0};
    static const uint16_t groups[] = {MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
                                      MBEDTLS_SSL_IANA_TLS_GROUP_NONE};
    mbedtls_ssl_conf_ciphersuites(&conf, suites);
    mbedtls_ssl_conf_groups(&conf, groups);
    if (job_get("cert") != NULL && (ret = mbedtls_ssl_conf_own_cert(&conf, &cert, &key)) != 0)
        return fail("own certificate", ret);
    if ((ret = mbedtls_ssl_setup(&ssl, &conf)) != 0)
        return fail("setup", ret);
    if ((ret = mbedtls_ssl_set_hostname(&ssl, servername)) != 0)
        return fail("hostname", ret);
    mbedtls_ssl_set_bio(&ssl, NULL, uart_send, uart_recv, NULL);
    if (resume) {
        if ((ret = mbedtls_ssl_session_load(&session, retained.blob, retained.len)) != 0)
            return fail("retained session", ret);
        if ((ret = mbedtls_ssl_set_session(&ssl, &session)) != 0)
            return fail("set session", ret);
    }
    step_end(&st);

    step_begin(&st, resume ? "handshake_resumed_0rtt" : "handshake_full");
    size_t early_sent = 0;
    if (zero_rtt != NULL) {
        /* Drives the handshake past the ClientHello and writes the reading
         * under the early keys, until Mbed TLS says early data can no
         * longer go (CANNOT_WRITE_EARLY_DATA). */
        while (early_sent < zero_rtt_len) {
            ret = mbedtls_ssl_write_early_data(&ssl, (const unsigned char *)zero_rtt + early_sent,
                                               zero_rtt_len - early_sent);
            if (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE)
                continue;
            if (ret < 0)
                break;
            early_sent += (size_t)ret;
        }
        if (ret < 0 && ret != MBEDTLS_ERR_SSL_CANNOT_WRITE_EARLY_DATA)
            return fail("early data", ret);
    }
    do
        ret = mbedtls_ssl_handshake(&ssl);
    while (ret == MBEDTLS_ERR_SSL_WANT_READ || ret == MBEDTLS_ERR_SSL_WANT_WRITE);
    step_end(&st);
    if (ret != 0)
        return fail("handshake", ret);
    /* Mbed TLS has no "resumed?" call: a handshake that verified no
     * certificate was a resumption (the session offered was taken). */
    int resumed = resume && certs_checked == 0;
    printf("HANDSHAKE %s resumed=%d verified=%d client_auth=%d\n",
           mbedtls_ssl_get_ciphersuite(&ssl), resumed,
           certs_checked > 0 && mbedtls_ssl_get_verify_result(&ssl) == 0, job_get("cert") != NULL);
    if (!resume && certs_checked == 0)
        return fail("peer certificate not verified", -1);
    if (resume && !resumed)
        return fail("not resumed", -1);
    if (resume) {
        int es = mbedtls_ssl_get_early_data_status(&ssl);
        printf("EARLY_DATA %s (%zu bytes written early)\n",
               es == MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED   ? "accepted"
               : es == MBEDTLS_SSL_EARLY_DATA_STATUS_REJECTED ? "rejected"
                                                              : "none",
               early_sent);
        if (zero_rtt != NULL &&
            (es != MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED || early_sent < zero_rtt_len)) {
            /* Rejected or unsent 0-RTT goes (again), as 1-RTT. */
            size_t from = es == MBEDTLS_SSL_EARLY_DATA_STATUS_ACCEPTED ? early_sent : 0;
            step_begin(&st, "early_data_resend");
            ret = write_all((const unsigned char *)zero_rtt + from, zero_rtt_len - from);
            step_end(&st);
            if (ret != 0)
                return fail("resend", ret);
        }
    }
    if (job_get("keyupdate") != NULL)
        printf("KEY_UPDATE not done: Mbed TLS 4 has no KeyUpdate API\n");

    if (get != NULL) {
        step_begin(&st, zero_rtt != NULL ? "http_response" : "http_get");
        ret = zero_rtt == NULL ? write_all((const unsigned char *)request, request_len) : 0;
        if (ret == 0)
            ret = read_response();
        step_end(&st);
        if (ret != 0)
            return fail("GET", ret);
        printf("RESPONSE_BEGIN\n%s\nRESPONSE_END\n", response);
        if (strncmp(response, "HTTP/1.", 7) != 0)
            return fail("not an HTTP response", -1);
    }

    if (!resume && keep_session) {
        step_begin(&st, "ticket");
        unsigned char sink[256];
        ret = 0;
        while (tickets_seen == 0 &&
               (ret >= 0 || ret == MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)) {
            ret = read_app(sink, sizeof sink);
            if (ret == 0)
                ret = -1; /* closed without a ticket */
        }
        step_end(&st);
        if (tickets_seen == 0)
            return fail("no NewSessionTicket", ret);
        printf("TICKET kept in retained RAM (%u bytes)\n", (unsigned)retained.len);
    }

    step_begin(&st, "close_notify");
    ret = mbedtls_ssl_close_notify(&ssl);
    step_end(&st);
    if (ret != 0)
        return fail("close", ret);
    /* Before the deep sleep's system reset: the peer's close_notify, so
     * that no byte of this connection is left in the UART for the next
     * boot. */
    while (warm && !resume) {
        unsigned char sink[256];
        ret = read_app(sink, sizeof sink);
        if (ret == 0)
            break;
        if (ret < 0 && ret != MBEDTLS_ERR_SSL_RECEIVED_NEW_SESSION_TICKET)
            return fail("waiting for the peer's close_notify", ret);
    }
    mbedtls_ssl_free(&ssl);
    mbedtls_ssl_config_free(&conf);
    mbedtls_ssl_session_free(&session);
    mbedtls_x509_crt_free(&ca);
    mbedtls_x509_crt_free(&cert);
    mbedtls_pk_free(&key);
    if (!resume && keep_session && (ret = retained_hand_over()) != 0)
        return ret;
    return startup_finish();
}
