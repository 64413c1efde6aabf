/* mqtt_publish: publish one reading to an MQTT broker over TLS 1.3 with a
 * device certificate (mutual TLS), and resume the session on the next run.
 *
 *   mqtt_publish HOST PORT CA_FILE CERT_FILE KEY_FILE SESSION_FILE TOPIC MESSAGE
 *
 * MQTT 3.1.1: CONNECT, PUBLISH at QoS 1 (the broker's PUBACK says it took
 * the message), DISCONNECT. The broker knows the device by its certificate
 * (e.g. Mosquitto's use_identity_as_username), so no password is sent.
 * The MQTT encoder below is the minimum this example needs, no more: a
 * real device wants an MQTT library (keep-alive, retries, subscriptions).
 * The session file holds a resumption key: store it like a key.
 *
 * Build: cc mqtt_publish.c $(pkg-config --cflags --libs iotls) -o mqtt_publish */
#include <iotls/iotls.h>
#include <iotls/session.h>
#include <stdio.h>
#include <string.h>

/* ---- TLS session kept between runs (as in https_get.c) ---- */

static void save_ticket(void *arg, const iotls_conn *conn, const iotls_ticket *ticket)
{
    (void)conn;
    iotls_session s;
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    size_t len = 0;
    if (iotls_session_from_ticket(&s, ticket) == IOTLS_OK &&
        iotls_session_save(&s, blob, sizeof blob, &len) == IOTLS_OK) {
        FILE *f = fopen((const char *)arg, "wb");
        if (f == NULL || fwrite(blob, 1, len, f) != len)
            fprintf(stderr, "mqtt_publish: cannot write %s\n", (const char *)arg);
        if (f != NULL)
            fclose(f);
    } else {
        fprintf(stderr, "mqtt_publish: session ticket of %zu bytes too large to keep\n",
                ticket->ticket_len);
    }
    iotls_session_wipe(&s);
}

static void offer_session(iotls *t, const char *path)
{
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return;
    size_t len = fread(blob, 1, sizeof blob, f);
    fclose(f);
    if (iotls_set_session(t, blob, len) != IOTLS_OK)
        fprintf(stderr, "mqtt_publish: saved session not usable, full handshake\n");
}

/* ---- minimal MQTT 3.1.1 (OASIS standard, sections 2 and 3) ---- */

/* Fixed header: packet type and flags, then the remaining length as a
 * variable-length integer (7 bits a byte, low first). */
static size_t mqtt_header(uint8_t *p, uint8_t type_flags, size_t remaining)
{
    size_t n = 0;
    p[n++] = type_flags;
    do {
        uint8_t b = (uint8_t)(remaining % 128);
        remaining /= 128;
        p[n++] = remaining ? (uint8_t)(b | 0x80) : b;
    } while (remaining);
    return n;
}

/* A UTF-8 string field: 2-byte big-endian length, then the bytes. */
static size_t mqtt_string(uint8_t *p, const char *s)
{
    size_t len = strlen(s);
    p[0] = (uint8_t)(len >> 8);
    p[1] = (uint8_t)len;
    memcpy(p + 2, s, len);
    return 2 + len;
}

static int send_all(iotls *t, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = iotls_write(t, p, len);
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int recv_all(iotls *t, uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = iotls_read(t, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads one packet whose body must be 2 bytes (CONNACK, PUBACK). */
static int mqtt_read_ack(iotls *t, uint8_t want_type, uint8_t body[2])
{
    uint8_t head[2];
    if (recv_all(t, head, 2) != 0)
        return -1;
    if (head[0] != want_type || head[1] != 2) {
        fprintf(stderr, "mqtt_publish: unexpected MQTT packet 0x%02x\n", head[0]);
        return -1;
    }
    return recv_all(t, body, 2);
}

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: mqtt_publish HOST PORT CA_FILE CERT_FILE KEY_FILE SESSION_FILE "
                        "TOPIC MESSAGE\n");
        return 2;
    }
    const char *topic = argv[7], *message = argv[8];
    size_t topic_len = strlen(topic), msg_len = strlen(message);
    if (topic_len == 0 || topic_len > 256 || msg_len > 1024) {
        fprintf(stderr, "mqtt_publish: topic 1..256 bytes, message up to 1024\n");
        return 2;
    }
    int status = 1;
    iotls_config *cfg = iotls_config_new();
    if (cfg == NULL || iotls_config_set_ca_file(cfg, argv[3]) != IOTLS_OK ||
        iotls_config_set_cert_file(cfg, argv[4], argv[5]) != IOTLS_OK) {
        fprintf(stderr, "mqtt_publish: cannot load the CA, certificate or key\n");
        iotls_config_free(cfg);
        return 1;
    }
    iotls_config_set_timeout_ms(cfg, 10000);
    iotls_config_set_ticket_cb(cfg, save_ticket, argv[6]);
    iotls *t = iotls_client_new(cfg);
    if (t == NULL)
        goto out;
    offer_session(t, argv[6]);
    int rc = iotls_connect(t, argv[1], argv[2], NULL);
    if (rc == IOTLS_ERR_SESSION_INVALID)               /* saved for another broker: dropped, */
        rc = iotls_connect(t, argv[1], argv[2], NULL); /* so a full handshake now */
    if (rc != IOTLS_OK) {
        fprintf(stderr, "mqtt_publish: TLS handshake failed: %s\n", iotls_error(t));
        goto out;
    }
    iotls_info info;
    iotls_get_info(t, &info);
    fprintf(stderr, "mqtt_publish: TLS 1.3 %s, %s\n", info.cipher_suite_name,
            info.resumed ? "resumed session" : "full handshake with device certificate");

    /* CONNECT: protocol "MQTT" level 4, clean session, keep-alive 60 s, and
     * an empty client id (the broker assigns one). */
    uint8_t pkt[1400], ack[2];
    static const uint8_t connect_vh[] = {0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 60};
    size_t n = mqtt_header(pkt, 0x10, sizeof connect_vh + 2);
    memcpy(pkt + n, connect_vh, sizeof connect_vh);
    n += sizeof connect_vh;
    n += mqtt_string(pkt + n, "");
    /* In TLS 1.3 the broker checks our certificate after our side of the
     * handshake ended: a refusal shows up here, as its alert or as a reset
     * of the connection (when it closed before our CONNECT arrived). */
    if (send_all(t, pkt, n) != 0 || mqtt_read_ack(t, 0x20, ack) != 0) {
        fprintf(stderr, "mqtt_publish: broker refused the connection: %s\n", iotls_error(t));
        fprintf(stderr, "mqtt_publish: (does the broker trust the CA of %s?)\n", argv[4]);
        goto out;
    }
    if (ack[1] != 0) {
        fprintf(stderr, "mqtt_publish: CONNACK return code %u (5: not authorized)\n", ack[1]);
        goto out;
    }

    /* PUBLISH, QoS 1 (flags 0x02), packet identifier 1. */
    n = mqtt_header(pkt, 0x32, 2 + topic_len + 2 + msg_len);
    n += mqtt_string(pkt + n, topic);
    pkt[n++] = 0;
    pkt[n++] = 1;
    memcpy(pkt + n, message, msg_len);
    n += msg_len;
    if (send_all(t, pkt, n) != 0 || mqtt_read_ack(t, 0x40, ack) != 0 || ack[0] != 0 ||
        ack[1] != 1) {
        fprintf(stderr, "mqtt_publish: no PUBACK: %s\n", iotls_error(t));
        goto out;
    }
    fprintf(stderr, "mqtt_publish: published %zu bytes to %s (PUBACK received)\n", msg_len, topic);

    static const uint8_t disconnect[] = {0xE0, 0};
    status = send_all(t, disconnect, sizeof disconnect) == 0 ? 0 : 1;
    iotls_close(t);
out:
    iotls_free(t);
    iotls_config_free(cfg);
    return status;
}
