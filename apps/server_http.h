/* The HTTP/1.x side of `iotls server --http`: finds request heads in the
 * bytes a connection received and builds the answer (a page describing the
 * negotiated TLS parameters). No I/O: the event loop (server_loop.c) feeds
 * it and sends what it builds. */
#ifndef IOTLS_APP_SERVER_HTTP_H
#define IOTLS_APP_SERVER_HTTP_H

#include <stddef.h>

#include "iotls/engine.h"
#include "iotls/iotls.h"

/* Largest request head kept; a longer one is answered 431. */
#define HTTP_MAX_REQUEST 8192
/* Largest response built (head and page, one record). */
#define HTTP_RESPONSE_MAX (256 + 2048)

/* Length of the request head at the start of req (through its blank
 * line), 0 while incomplete. */
size_t http_head_len(const char *req, size_t len);

typedef struct {
    size_t len;            /* response bytes in the caller's buffer */
    int keep_alive;        /* 0: close after sending it */
    size_t content_length; /* request body bytes that follow the head (dropped) */
} http_answer;

/* Answers the request head (head_len bytes at head) for the connection tls
 * with info (NULL when unknown); the response goes to out (HTTP_RESPONSE_MAX
 * bytes). */
void http_answer_request(const char *head, size_t head_len, const iotls_conn *tls,
                         const iotls_info *info, char *out, http_answer *ans);
/* The 431 answer for a head longer than HTTP_MAX_REQUEST. */
void http_answer_too_large(char *out, http_answer *ans);

#endif
