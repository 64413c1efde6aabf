/* https_get: fetch one HTTPS page with the blocking API, verifying the
 * server (CA and host name), and keep the session for the next boot.
 *
 *   https_get HOST PORT PATH CA_FILE SESSION_FILE
 *
 * The first run does a full handshake and saves the server's session
 * ticket in SESSION_FILE; the next run offers it and resumes (no
 * certificate sent or checked, one signature less). A missing, damaged or
 * expired file only means a full handshake. The file holds a resumption
 * key: on a device keep it where keys go (encrypted flash, or the
 * iotls_session_save_keyed variant with a device key).
 *
 * Build: cc https_get.c $(pkg-config --cflags --libs iotls) -o https_get */
#include <iotls/iotls.h>
#include <iotls/session.h>
#include <stdio.h>
#include <string.h>

/* Called for each NewSessionTicket the server sends after the handshake:
 * the last one received is the one kept. */
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
            fprintf(stderr, "https_get: cannot write %s\n", (const char *)arg);
        if (f != NULL)
            fclose(f);
    } else {
        fprintf(stderr, "https_get: session ticket of %zu bytes too large to keep\n",
                ticket->ticket_len);
    }
    iotls_session_wipe(&s);
}

/* Offers the saved session, if there is a usable one. */
static void offer_session(iotls *t, const char *path)
{
    static uint8_t blob[IOTLS_SESSION_MAX_BLOB];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return; /* first boot: nothing saved yet */
    size_t len = fread(blob, 1, sizeof blob, f);
    fclose(f);
    int rc = iotls_set_session(t, blob, len);
    if (rc != IOTLS_OK)
        fprintf(stderr, "https_get: saved session not used (%s)\n", iotls_error_string(rc));
}

static int write_all(iotls *t, const char *data, size_t len)
{
    while (len > 0) {
        ssize_t n = iotls_write(t, data, len);
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: https_get HOST PORT PATH CA_FILE SESSION_FILE\n");
        return 2;
    }
    const char *host = argv[1], *port = argv[2], *path = argv[3];
    int status = 1;
    iotls_config *cfg = iotls_config_new();
    /* The CA is all it takes to verify: the host name is checked by default. */
    if (cfg == NULL || iotls_config_set_ca_file(cfg, argv[4]) != IOTLS_OK) {
        fprintf(stderr, "https_get: cannot load CA file %s\n", argv[4]);
        iotls_config_free(cfg);
        return 1;
    }
    iotls_config_set_alpn(cfg, "http/1.1");
    iotls_config_set_timeout_ms(cfg, 10000);
    iotls_config_set_ticket_cb(cfg, save_ticket, argv[5]);

    iotls *t = iotls_client_new(cfg);
    if (t == NULL)
        goto out;
    offer_session(t, argv[5]);
    int rc = iotls_connect(t, host, port, NULL);
    if (rc == IOTLS_ERR_SESSION_INVALID)         /* saved for another host: dropped, */
        rc = iotls_connect(t, host, port, NULL); /* so a full handshake now */
    if (rc != IOTLS_OK) {
        fprintf(stderr, "https_get: %s\n", iotls_error(t));
        goto out;
    }
    iotls_info info;
    iotls_get_info(t, &info);
    fprintf(stderr, "https_get: %s, %s\n", info.cipher_suite_name,
            info.resumed ? "resumed session (saved by the last run)"
                         : "full handshake, server certificate verified");

    char req[512];
    int default_port = strcmp(port, "443") == 0;
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s%s%s\r\nConnection: close\r\n"
                     "User-Agent: iotls-example\r\n\r\n",
                     path, host, default_port ? "" : ":", default_port ? "" : port);
    if (n < 0 || (size_t)n >= sizeof req || write_all(t, req, (size_t)n) != 0) {
        fprintf(stderr, "https_get: request not sent: %s\n", iotls_error(t));
        goto out;
    }

    /* The response: status line and headers to stderr, body to stdout.
     * "Connection: close" makes the server end with close_notify, so the
     * body is complete when iotls_read returns 0. */
    char buf[2048], head[13] = "";
    const char *crlf2 = "\r\n\r\n";
    int matched = 0, in_body = 0;
    size_t seen = 0;
    for (;;) {
        ssize_t r = iotls_read(t, buf, sizeof buf);
        if (r == 0)
            break;
        if (r < 0) {
            fprintf(stderr, "https_get: %s\n", iotls_error(t));
            goto out;
        }
        for (ssize_t i = 0; i < r; i++) {
            if (in_body) {
                fwrite(buf + i, 1, (size_t)(r - i), stdout);
                break;
            }
            fputc(buf[i], stderr);
            if (seen < sizeof head - 1)
                head[seen++] = buf[i]; /* "HTTP/1.1 200" */
            matched = buf[i] == crlf2[matched] ? matched + 1 : (buf[i] == '\r' ? 1 : 0);
            in_body = matched == 4;
        }
    }
    int ok = strncmp(head, "HTTP/1.", 7) == 0 && strcmp(head + 9, "200") == 0;
    status = ok && in_body ? 0 : 1;
    if (status != 0)
        fprintf(stderr, "https_get: no 200 response\n");
    iotls_close(t);
out:
    iotls_free(t);
    iotls_config_free(cfg);
    return status;
}
