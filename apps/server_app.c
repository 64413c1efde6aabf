/* What `iotls server` does with a connection's application data: echo it,
 * or answer HTTP/1.x requests (server_http.c), through the engine
 * (iotls/engine.h). Bytes for the engine to seal wait in memory of their
 * own only while the engine's output is full (or, before the handshake
 * ends, while 0-RTT data waits for it). */
#include "server_app.h"

#include <stdlib.h>
#include <string.h>

#include "server_http.h"

/* Plaintext leaves no copy behind in freed memory (volatile: a memset
 * before free may be optimised away). */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
}

void server_app_clear(server_app *a)
{
    if (a->pend) {
        wipe(a->pend, a->pend_len);
        free(a->pend);
    }
    if (a->req) {
        wipe(a->req, a->req_len);
        free(a->req);
    }
    a->pend = NULL;
    a->req = NULL;
    a->pend_len = a->pend_off = a->req_len = 0;
}

/* Keeps n bytes for the engine to seal once it can. */
static int queue_bytes(server_app *a, const uint8_t *p, size_t n)
{
    if (a->pend_off == a->pend_len) {
        free(a->pend);
        a->pend = NULL;
        a->pend_len = a->pend_off = 0;
    }
    /* Not realloc: the old block holds plaintext to wipe first. */
    uint8_t *grown = malloc(a->pend_len - a->pend_off + n);
    if (grown == NULL)
        return IOTLS_ERR_NO_MEMORY;
    size_t kept = a->pend_len - a->pend_off;
    if (kept)
        memcpy(grown, a->pend + a->pend_off, kept);
    memcpy(grown + kept, p, n);
    if (a->pend) {
        wipe(a->pend, a->pend_len);
        free(a->pend);
    }
    a->pend = grown;
    a->pend_len = kept + n;
    a->pend_off = 0;
    return IOTLS_OK;
}

/* Hands waiting bytes to the engine: 0 all taken, 1 some wait for the
 * output to drain, < 0 an error. */
static int push_pend(server_app *a, iotls_conn *tls, int *progress)
{
    while (a->pend_off < a->pend_len) {
        size_t n = 0;
        int rc = iotls_conn_write(tls, a->pend + a->pend_off, a->pend_len - a->pend_off, &n);
        if (rc == IOTLS_WANT_WRITE || (rc == IOTLS_OK && n == 0))
            return 1;
        if (rc != IOTLS_OK)
            return rc;
        a->pend_off += n;
        *progress = 1;
    }
    if (a->pend) {
        wipe(a->pend, a->pend_len);
        free(a->pend);
        a->pend = NULL;
        a->pend_len = a->pend_off = 0;
    }
    return 0;
}

/* Echo: what the client sends goes back. Before the handshake ends only
 * accepted 0-RTT data arrives: it waits in pend. */
int server_app_echo(server_app *a, iotls_conn *tls, uint8_t *scratch, size_t scratch_len,
                    int *progress)
{
    for (;;) {
        if (iotls_conn_handshake_done(tls)) {
            int r = push_pend(a, tls, progress);
            if (r != 0)
                return r < 0 ? r : 0;
        }
        size_t n = 0;
        int rc = iotls_conn_read(tls, scratch, scratch_len, &n);
        if (rc == IOTLS_WANT_READ)
            return 0;
        if (rc != IOTLS_OK)
            return rc;
        if (n == 0 && iotls_conn_peer_closed(tls))
            return IOTLS_ERR_CLOSED; /* the client's close_notify */
        *progress = 1;
        rc = queue_bytes(a, scratch, n);
        wipe(scratch, n);
        if (rc != IOTLS_OK)
            return rc;
    }
}

/* HTTP/1.x: one answer per request head, keep-alive unless asked not to. */
int server_app_http(server_app *a, iotls_conn *tls, uint8_t *scratch, size_t scratch_len,
                    int *progress)
{
    int done = iotls_conn_handshake_done(tls);
    for (;;) {
        if (done) {
            int r = push_pend(a, tls, progress);
            if (r != 0)
                return r < 0 ? r : 0;
        }
        if (a->close_after)
            return 0;
        size_t head = done && a->req_len ? http_head_len(a->req, a->req_len) : 0;
        if (head || (done && a->req_len == HTTP_MAX_REQUEST)) {
            http_answer ans;
            if (head) {
                iotls_info info;
                int ok = iotls_conn_info(tls, &info) == IOTLS_OK;
                http_answer_request(a->req, head, tls, ok ? &info : NULL, (char *)scratch, &ans);
            } else {
                http_answer_too_large((char *)scratch, &ans);
                head = a->req_len;
            }
            memmove(a->req, a->req + head, a->req_len - head);
            a->req_len -= head;
            /* The body means nothing to us: drop it. */
            size_t s = ans.content_length < a->req_len ? ans.content_length : a->req_len;
            memmove(a->req, a->req + s, a->req_len - s);
            a->req_len -= s;
            a->skip_body = ans.content_length - s;
            if (!ans.keep_alive)
                a->close_after = 1;
            *progress = 1;
            int rc = queue_bytes(a, scratch, ans.len);
            if (rc != IOTLS_OK)
                return rc;
            continue;
        }
        size_t n = 0;
        int rc = iotls_conn_read(tls, scratch, scratch_len, &n);
        if (rc == IOTLS_WANT_READ) {
            if (a->req_len == 0 && a->req) {
                free(a->req); /* an idle keep-alive connection keeps none */
                a->req = NULL;
            }
            return 0;
        }
        if (rc != IOTLS_OK)
            return rc;
        if (n == 0 && iotls_conn_peer_closed(tls))
            return IOTLS_ERR_CLOSED; /* the client's close_notify */
        *progress = 1;
        size_t off = 0;
        if (a->skip_body > 0) {
            off = a->skip_body < n ? a->skip_body : n;
            a->skip_body -= off;
        }
        if (off < n && a->req == NULL && (a->req = malloc(HTTP_MAX_REQUEST)) == NULL)
            return IOTLS_ERR_NO_MEMORY;
        size_t room = HTTP_MAX_REQUEST - a->req_len;
        size_t take = n - off < room ? n - off : room;
        if (take)
            memcpy(a->req + a->req_len, scratch + off, take);
        a->req_len += take;
        wipe(scratch, n);
    }
}
