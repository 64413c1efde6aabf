/* The end of the stream, one convention for the engine and the blocking
 * API: the peer's close_notify is a clean end (reads give 0 bytes,
 * iotls_conn_peer_closed() tells it); the transport closing without one
 * is a truncation, IOTLS_ERR_EOF (RFC 8446 6.1: an attacker who can cut
 * the TCP connection must not be able to pass a cut stream off as a whole
 * one). */
#include "conn.h"
#include "conn_internal.h"

int iotls_conn_peer_closed(const iotls_conn *c)
{
    return c != NULL && c->close_notify_received;
}

int iotls_conn_input_eof(iotls_conn *c)
{
    if (c == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (c->close_notify_received)
        return IOTLS_OK;
    if (c->error != IOTLS_OK)
        return c->error;
    /* No alert: the transport that would carry it is gone. */
    c->error = IOTLS_ERR_EOF;
    return IOTLS_ERR_EOF;
}
