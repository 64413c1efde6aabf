/* A connection's application side in `iotls server`: echo, or HTTP/1.x
 * answers, moving bytes through the engine. No I/O. */
#ifndef IOTLS_APP_SERVER_APP_H
#define IOTLS_APP_SERVER_APP_H

#include <stddef.h>
#include <stdint.h>

#include "iotls/engine.h"

typedef struct {
    int close_after; /* HTTP: close once the response is out */
    /* Bytes for the engine to seal (a response, an echo, early data
     * before the handshake ends): allocated only while they wait. */
    uint8_t *pend;
    size_t pend_len, pend_off;
    /* HTTP: the request head received so far (allocated while partial). */
    char *req;
    size_t req_len, skip_body;
} server_app;

/* One turn: read what the engine decrypted, hand answers back to it.
 * scratch is the caller's work buffer (shared by its connections). 0, or
 * IOTLS_ERR_CLOSED after the peer's close_notify, or another error;
 * *progress is set when bytes moved. */
int server_app_echo(server_app *a, iotls_conn *tls, uint8_t *scratch, size_t scratch_len,
                    int *progress);
int server_app_http(server_app *a, iotls_conn *tls, uint8_t *scratch, size_t scratch_len,
                    int *progress);
/* Wipes and frees what waits. */
void server_app_clear(server_app *a);

#endif
