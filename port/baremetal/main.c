/* iotls on a bare-metal board: a TLS 1.3 client over the board's UART.
 *
 * One boot runs one connection. The host (tools/device/run-client) starts
 * the emulator with a job file named on the semihosting command line; the
 * job says what to do:
 *   mode=full     full handshake (chain and host name verified, device
 *                 certificate when the server asks), optional KeyUpdate,
 *                 an HTTP GET, the NewSessionTicket kept in retained RAM,
 *                 close_notify; then the "deep sleep": the retained region
 *                 is handed to the host (session=FILE) since the emulator
 *                 process ends with the boot.
 *   mode=resume   a second boot that finds the retained region again (the
 *                 host hands it back before main runs: session=FILE) and
 *                 resumes with the early=TEXT reading sent as 0-RTT, then
 *                 the KeyUpdate, the GET and close_notify.
 * Files (CA, device certificate and key) are read through semihosting,
 * standing in for flash; the entropy seed too (emulation only, entropy.c).
 * Each step prints a line "STEP name key=value..." with what the board
 * measured: instructions executed (busy: the UART polling is left out),
 * peak heap of the step, stack high-water mark and bytes on the wire. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "iotls/engine.h"
#include "iotls/session.h"
#include "iotls/config.h"
#include "platform.h"
#include "startup.h"

/* ------------------------------------------------------- retained RAM -- */

/* The session goes into the retained region (startup.c): RTC slow memory on
 * an ESP32, which survives deep sleep. */
_Static_assert(IOTLS_SESSION_MAX_BLOB <= RETAINED_BLOB_MAX, "retained region too small");

static int tickets_seen;

static void on_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *t)
{
    (void)arg;
    (void)conn;
    static iotls_session s; /* 4.4 KiB: not on the stack */
    size_t len = 0;
    if (iotls_session_from_ticket(&s, t) == IOTLS_OK &&
        iotls_session_save(&s, retained.blob, sizeof retained.blob, &len) == IOTLS_OK) {
        retained.len = (uint32_t)len;
        retained.magic = RETAINED_MAGIC;
        tickets_seen++;
    }
    iotls_session_wipe(&s);
}

/* ---------------------------------------------------------- transport -- */

static int flush(iotls_conn *c)
{
    size_t n = 0;
    const uint8_t *out;
    while ((out = iotls_conn_output(c, &n)) != NULL && n > 0) {
        wire_send(out, n);
        iotls_conn_output_consume(c, n);
    }
    return iotls_conn_error(c);
}

/* Receives what the engine takes now, straight into its record buffer.
 * IOTLS_WANT_READ when it takes nothing (application data to read first). */
static int receive(iotls_conn *c)
{
    size_t cap = 0;
    uint8_t *space = iotls_conn_input_space(c, &cap);
    if (space == NULL) {
        int err = iotls_conn_error(c);
        return err != 0 ? err : IOTLS_WANT_READ;
    }
    size_t n = wire_recv(space, cap);
    return iotls_conn_input_commit(c, n);
}

static int handshake(iotls_conn *c)
{
    int rc = iotls_conn_start(c);
    while (rc == IOTLS_OK && !iotls_conn_handshake_done(c)) {
        if ((rc = flush(c)) != IOTLS_OK)
            break;
        rc = receive(c);
        if (rc == IOTLS_WANT_READ)
            rc = IOTLS_OK;
    }
    int frc = flush(c);
    return rc != IOTLS_OK ? rc : frc;
}

/* Reads the HTTP response: until close_notify, or until the headers and
 * Content-Length bytes of body are in. */
static char response[8192];
static size_t response_len;

static int response_complete(void)
{
    response[response_len] = '\0';
    const char *end = strstr(response, "\r\n\r\n");
    if (end == NULL)
        return 0;
    const char *cl = strstr(response, "Content-Length:");
    if (cl == NULL)
        cl = strstr(response, "content-length:");
    if (cl == NULL || cl > end)
        return 0;
    size_t want = (size_t)strtoul(cl + 15, NULL, 10);
    return response_len - (size_t)(end + 4 - response) >= want;
}

static int read_response(iotls_conn *c)
{
    for (;;) {
        size_t n = 0;
        int rc = iotls_conn_read(c, (uint8_t *)response + response_len,
                                 sizeof response - 1 - response_len, &n);
        if (rc == IOTLS_OK && n == 0) /* close_notify: the end of the stream */
            return response_len > 0 ? IOTLS_OK : IOTLS_ERR_CLOSED;
        if (rc == IOTLS_OK) {
            response_len += n;
            if (response_complete() || response_len == sizeof response - 1)
                return IOTLS_OK;
            continue;
        }
        if (rc != IOTLS_WANT_READ)
            return rc;
        if ((rc = flush(c)) != IOTLS_OK)
            return rc;
        rc = receive(c);
        if (rc != IOTLS_OK && rc != IOTLS_WANT_READ)
            return rc;
    }
}

static int write_all(iotls_conn *c, const uint8_t *data, size_t len)
{
    while (len > 0) {
        size_t n = 0;
        int rc = iotls_conn_write(c, data, len, &n);
        if (rc != IOTLS_OK && rc != IOTLS_WANT_WRITE)
            return rc;
        data += n;
        len -= n;
        if ((rc = flush(c)) != IOTLS_OK)
            return rc;
    }
    return IOTLS_OK;
}

/* Until a NewSessionTicket has been taken (the GET usually brings it). */
static int wait_ticket(iotls_conn *c)
{
    while (tickets_seen == 0) {
        int rc = receive(c);
        if (rc == IOTLS_WANT_READ) {
            uint8_t sink[256];
            size_t n = 0;
            rc = iotls_conn_read(c, sink, sizeof sink, &n);
            if (rc == IOTLS_OK && iotls_conn_peer_closed(c))
                rc = IOTLS_ERR_CLOSED; /* closed before a ticket came */
        }
        if (rc != IOTLS_OK && rc != IOTLS_WANT_READ)
            return rc;
    }
    return IOTLS_OK;
}

/* Until the peer's close_notify. Before the deep sleep's system reset, so
 * that no byte of this connection is left in the UART for the next boot
 * (on a socket the device would just close it). */
static int drain_until_closed(iotls_conn *c)
{
    for (;;) {
        uint8_t sink[256];
        size_t n = 0;
        int rc = iotls_conn_read(c, sink, sizeof sink, &n);
        if (rc == IOTLS_OK && iotls_conn_peer_closed(c))
            return IOTLS_OK; /* 0 bytes, every time, after close_notify */
        if (rc == IOTLS_OK)
            continue;
        if (rc != IOTLS_WANT_READ)
            return rc;
        rc = receive(c);
        if (rc == IOTLS_ERR_CLOSED)
            return IOTLS_OK;
        if (rc != IOTLS_OK && rc != IOTLS_WANT_READ)
            return rc;
    }
}

/* ---------------------------------------------------------------- main -- */

static uint64_t now_ms(void *arg)
{
    (void)arg;
    return port_now_ms();
}

/* The code as a number: run-client names it from iotls/error.h, so the
 * image carries no table of error names and texts (iotls_error_name). */
static int fail(const char *what, int rc)
{
    printf("FAIL %s: iotls error %d\n", what, rc);
    return 1;
}

int main(int argc, char **argv)
{
    int rc = startup_begin(argc, argv, NULL);
    if (rc != 0)
        return rc;
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
    int key_update = job_get("keyupdate") != NULL;
    if ((rc = retained_restore(resume)) != 0)
        return rc;

    /* The HTTP request; on the resumed boot the 0-RTT data (startup.h). */
    static job_request rq;
    if ((rc = job_request_make(&rq, get, early, servername, resume)) != 0)
        return rc;
    const char *request = rq.text, *zero_rtt = rq.zero_rtt;
    size_t request_len = rq.len, zero_rtt_len = rq.zero_rtt_len;

    step st;
    step_begin(&st, "setup");
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL)
        return fail("config", IOTLS_ERR_NO_MEMORY);
    iotls_config_set_time_cb(cfg, now_ms, NULL);
    iotls_config_set_ticket_cb(cfg, on_ticket, NULL);
    size_t ca_len = 0, cert_len = 0, key_len = 0;
    uint8_t *ca = job_get("ca") ? flash_read(job_get("ca"), &ca_len) : NULL;
    if (ca == NULL) {
        printf("FAIL cannot read the CA file\n");
        return 2;
    }
    rc = iotls_config_set_ca_mem(cfg, ca, ca_len);
    free(ca);
    if (rc != IOTLS_OK)
        return fail("CA", rc);
    if (job_get("cert") != NULL) {
        uint8_t *cert = flash_read(job_get("cert"), &cert_len);
        uint8_t *key = job_get("key") ? flash_read(job_get("key"), &key_len) : NULL;
        if (cert == NULL || key == NULL) {
            printf("FAIL cannot read the device certificate or key\n");
            return 2;
        }
        rc = iotls_config_set_cert_mem(cfg, cert, cert_len, key, key_len);
        memset(key, 0, key_len);
        free(cert);
        free(key);
        if (rc != IOTLS_OK)
            return fail("device certificate", rc);
    }
    /* The key exchange groups offered, in order (a comparison of one
     * group's cost on two builds: docs/device.md); else the build's default. */
    if (job_get("groups") != NULL &&
        (rc = iotls_config_set_groups(cfg, job_get("groups"))) != IOTLS_OK)
        return fail("groups", rc);
    /* Small records (record_size_limit / max_fragment_length, where the
     * peer takes them) and a handshake buffer sized for the peer's chain. */
    if (job_get("record_size") != NULL &&
        (rc = iotls_config_set_record_size(cfg, strtoul(job_get("record_size"), NULL, 10))) !=
            IOTLS_OK)
        return fail("record size", rc);
    /* Smaller records out than in (ESP-IDF's Mbed TLS sends at most 4096):
     * a smaller send buffer, nothing announced. */
    if (job_get("send_record_size") != NULL &&
        (rc = iotls_config_set_send_record_size(
             cfg, strtoul(job_get("send_record_size"), NULL, 10))) != IOTLS_OK)
        return fail("send record size", rc);
    if (job_get("max_handshake") != NULL &&
        (rc = iotls_config_set_max_handshake_size(
             cfg, strtoul(job_get("max_handshake"), NULL, 10))) != IOTLS_OK)
        return fail("handshake size", rc);
    /* The longest ticket offered: a device that knows its gateway's
     * tickets keeps less room for one in the send buffer (a longer one is
     * refused, SESSION_INVALID: the retained session is not used). */
    if (job_get("max_ticket") != NULL &&
        (rc = iotls_config_set_max_ticket_size(cfg, strtoul(job_get("max_ticket"), NULL, 10))) !=
            IOTLS_OK)
        return fail("ticket size", rc);
    /* A message spanning records is reassembled in the record buffer, as
     * Mbed TLS does: no handshake buffer of its own (max_handshake bytes
     * less). The first part and the record continuing it must fit one
     * record then; reassemble_in_place=0 gives the separate buffer back. */
    const char *in_place = job_get("reassemble_in_place");
    if ((rc = iotls_config_set_reassemble_in_place(
             cfg, in_place == NULL || strtoul(in_place, NULL, 10) != 0)) != IOTLS_OK)
        return fail("reassembly", rc);
    size_t conn_size = iotls_conn_size(cfg);
    /* The engine wants 16-byte alignment (malloc gives 8 here). */
    void *mem = aligned_alloc(16, (conn_size + 15u) & ~(size_t)15u);
    iotls_conn *c =
        mem ? iotls_conn_init(mem, conn_size, cfg, IOTLS_ROLE_CLIENT, servername) : NULL;
    if (c == NULL) {
        printf("FAIL connection: %zu bytes %s\n", conn_size,
               mem ? "given, refused by iotls_conn_init" : "not available in the heap arena");
        return 1;
    }
    if (resume) {
        rc = iotls_conn_borrow_session(c, retained.blob, retained.len);
        if (rc != IOTLS_OK)
            return fail("retained session", rc);
        if (zero_rtt != NULL &&
            (rc = iotls_conn_write_early(c, (const uint8_t *)zero_rtt, zero_rtt_len)) != IOTLS_OK)
            return fail("early data", rc);
    }
    step_end(&st);
    printf("CONN_SIZE %zu\n", conn_size);

    step_begin(&st, resume ? "handshake_resumed_0rtt" : "handshake_full");
    rc = handshake(c);
    step_end(&st);
    if (rc != IOTLS_OK)
        return fail("handshake", rc);
    iotls_info info;
    iotls_conn_info(c, &info);
    printf("HANDSHAKE %s group=%s resumed=%d verified=%d client_auth=%d sig=%s\n",
           info.cipher_suite_name, info.group_name ? info.group_name : "-", info.resumed,
           info.peer_cert_verified, info.client_auth,
           info.sig_scheme_name ? info.sig_scheme_name : "-");
    if (!resume && info.peer_cert_verified != 1)
        return fail("peer certificate not verified", IOTLS_ERR_BAD_CERTIFICATE);
    if (resume) {
        int es = iotls_conn_early_data_status(c);
        printf("EARLY_DATA %s\n", es == IOTLS_EARLY_DATA_ACCEPTED ? "accepted"
                                  : es == IOTLS_EARLY_DATA_NONE   ? "none"
                                                                  : "rejected");
        if (!info.resumed)
            return fail("not resumed", IOTLS_ERR_SESSION_INVALID);
        if (zero_rtt != NULL && es != IOTLS_EARLY_DATA_ACCEPTED) {
            /* Rejected 0-RTT is lost: it goes again, as 1-RTT. */
            step_begin(&st, "early_data_resend");
            rc = write_all(c, (const uint8_t *)zero_rtt, zero_rtt_len);
            step_end(&st);
            if (rc != IOTLS_OK)
                return fail("resend", rc);
        }
    }

    if (key_update) {
        step_begin(&st, "key_update");
        rc = iotls_conn_key_update(c, 1);
        if (rc == IOTLS_OK)
            rc = flush(c);
        step_end(&st);
        if (rc != IOTLS_OK)
            return fail("key update", rc);
        printf("KEY_UPDATE sent (peer asked to update too)\n");
    }

    if (get != NULL) {
        step_begin(&st, zero_rtt != NULL ? "http_response" : "http_get");
        rc = IOTLS_OK;
        if (zero_rtt == NULL) /* else the request went as 0-RTT (or was resent) */
            rc = write_all(c, (const uint8_t *)request, request_len);
        if (rc == IOTLS_OK)
            rc = read_response(c);
        step_end(&st);
        if (rc != IOTLS_OK)
            return fail("GET", rc);
        printf("RESPONSE_BEGIN\n%s\nRESPONSE_END\n", response);
        if (strncmp(response, "HTTP/1.", 7) != 0)
            return fail("not an HTTP response", IOTLS_ERR_DECODE);
    }

    if (!resume && keep_session) {
        step_begin(&st, "ticket");
        rc = wait_ticket(c);
        step_end(&st);
        if (rc != IOTLS_OK)
            return fail("no NewSessionTicket", rc);
        printf("TICKET kept in retained RAM (%u bytes)\n", (unsigned)retained.len);
    }

    step_begin(&st, "close_notify");
    rc = iotls_conn_close(c);
    if (rc == IOTLS_OK)
        rc = flush(c);
    step_end(&st);
    if (rc != IOTLS_OK && rc != IOTLS_ERR_CLOSED)
        return fail("close", rc);
    if (warm && !resume && (rc = drain_until_closed(c)) != IOTLS_OK)
        return fail("waiting for the peer's close_notify", rc);
    iotls_conn_free(c);
    free(mem);
    iotls_config_free(cfg);

    if (!resume && keep_session && (rc = retained_hand_over()) != 0)
        return rc;
    return startup_finish();
}
