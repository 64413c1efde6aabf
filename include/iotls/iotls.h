/* iotls: TLS 1.3 for microcontrollers and gateways.
 *
 * Two ways in:
 *  - the blocking API (iotls_connect / iotls_accept / iotls_read /
 *    iotls_write / iotls_close) over POSIX or lwIP sockets, in the spirit of
 *    OpenBSD's libtls; and
 *  - the sans-I/O engine (iotls_conn_*, include/iotls/engine.h), for event
 *    loops and RTOS tasks: you feed received bytes in and take bytes to send.
 * Both use one iotls_config, whose defaults are the secure ones: the peer's
 * certificate is verified, TLS 1.3 only, AEAD suites only. */
#ifndef IOTLS_IOTLS_H
#define IOTLS_IOTLS_H

#include "iotls/api.h"

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h> /* ssize_t: the blocking API only */

#include "iotls/error.h"
#include "iotls/config.h" /* configuration, events, info: shared with the engine */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------- Blocking API ----------------
 *
 * Results: IOTLS_OK (0) or a byte count on success, a negative
 * IOTLS_ERR_* code on failure (iotls_error() says why). In non-blocking
 * mode (iotls_set_nonblocking) connect, accept, handshake, read, write,
 * key update and close may also return IOTLS_WANT_READ or IOTLS_WANT_WRITE: these are
 * NOT errors, only "call again when the socket is readable / writable";
 * the connection is intact. */

IOTLS_API iotls *iotls_client_new(const iotls_config *cfg);
IOTLS_API iotls *iotls_server_new(const iotls_config *cfg);
/* Resolve, connect (IPv4/IPv6), handshake. servername NULL: host is used
 * for SNI (not for IP literals) and for certificate name checking. */
IOTLS_API int iotls_connect(iotls *t, const char *host, const char *port, const char *servername);
/* Handshake over an already connected socket (it stays the caller's to
 * close: iotls_close does not close it). */
IOTLS_API int iotls_connect_socket(iotls *t, int fd, const char *servername);
/* Server: listening socket on 127.0.0.1 or addr, port ("0": any free one). */
IOTLS_API int iotls_listen(const char *addr, const char *port, int backlog, int *fd_out,
                           int *port_out);
/* Server: accept a connection from lfd and run the handshake on it. When
 * the handshake fails, *conn_out is still set (NULL only when nothing could
 * be allocated) so iotls_error() can tell why; iotls_free() it. */
IOTLS_API int iotls_accept(iotls *server, int lfd, iotls **conn_out);
/* Server: handshake on an accepted socket (the caller closes fd; *conn_out
 * as for iotls_accept). */
IOTLS_API int iotls_accept_socket(iotls *server, int fd, iotls **conn_out);
/* Run the handshake now (otherwise done by the first read or write).
 * IOTLS_OK, WANT_READ / WANT_WRITE (non-blocking, not errors), or an error. */
IOTLS_API int iotls_handshake(iotls *t);
/* > 0 bytes read; 0: the peer closed its stream cleanly with close_notify
 * (every later read gives 0 again; iotls_last_error() tells
 * IOTLS_ERR_CLOSED, and writing stays allowed, RFC 8446 6.1);
 * IOTLS_ERR_EOF: the connection was closed WITHOUT close_notify, a cut
 * stream that must not be taken for a complete one; IOTLS_WANT_READ /
 * WANT_WRITE (non-blocking, not errors); another negative value: the
 * error code. The engine says the same (include/iotls/engine.h:
 * iotls_conn_read, iotls_conn_peer_closed, iotls_conn_input_eof). */
IOTLS_API ssize_t iotls_read(iotls *t, void *buf, size_t len);
/* len bytes written, or < 0 error code. Non-blocking: may write fewer, or
 * return IOTLS_WANT_WRITE / WANT_READ (not errors: retry when the socket
 * is ready); iotls_write(t, NULL, 0) sends records still queued. */
IOTLS_API ssize_t iotls_write(iotls *t, const void *buf, size_t len);
/* Start a KeyUpdate; request_peer asks the peer to update too. IOTLS_OK,
 * WANT_READ / WANT_WRITE (non-blocking, not errors), or an error. */
IOTLS_API int iotls_key_update(iotls *t, int request_peer);
/* close_notify, then close the socket if iotls opened it (iotls_connect,
 * iotls_accept), as iotls_close_socket does (lingering up to 2 s, or the
 * timeout if shorter; not at all in non-blocking mode). */
IOTLS_API int iotls_close(iotls *t);
/* Closes a socket without losing what was sent on it, for sockets the
 * caller owns (iotls_connect_socket, iotls_accept_socket), after
 * iotls_close (or a failure, whose alert iotls has already sent): shuts
 * down the write side, reads and drops what the peer still sends until it
 * closes or linger_ms pass, then close(). A plain close() with unread input
 * makes TCP reset the connection, and the peer may get ECONNRESET instead
 * of our last records (a fatal alert, session tickets). */
IOTLS_API void iotls_close_socket(int fd, uint32_t linger_ms);
IOTLS_API void iotls_free(iotls *t);
/* Bytes t holds in iotls' own allocations: the engine block
 * (iotls_conn_size of its configuration), the blocking API's state, and a
 * session blob or early data it keeps. The crypto library's allocations
 * during a handshake come on top (docs/memory.md measures both). */
IOTLS_API size_t iotls_memory_used(const iotls *t);
/* Last error as one line: "handshake failed: bad_certificate (peer
 * certificate does not match the host name)". */
IOTLS_API const char *iotls_error(const iotls *t);
IOTLS_API int iotls_last_error(const iotls *t);
/* Negotiated parameters, flags, counters (cheap: nothing formatted). */
IOTLS_API int iotls_get_info(const iotls *t, iotls_info *info);
/* The peer certificate's subject, issuer, names or key as text, formatted
 * when asked, and its SPKI SHA-256: as iotls_conn_peer_text /
 * iotls_conn_peer_spki_sha256 (include/iotls/engine.h); BAD_STATE before
 * a connection exists or when the peer presented none. */
IOTLS_API int iotls_peer_text(const iotls *t, int what, char *out, size_t cap);
IOTLS_API int iotls_peer_spki_sha256(const iotls *t, uint8_t out[32]);
/* The peer's certificate chain (leaf first) as DER, e.g. to store or pin
 * it: views valid until iotls_free. 0 certificates before the handshake,
 * after a resumption or with a PSK. */
IOTLS_API size_t iotls_peer_cert_count(const iotls *t);
IOTLS_API int iotls_peer_cert_der(const iotls *t, size_t i, const uint8_t **der, size_t *len);
IOTLS_API int iotls_fd(const iotls *t);
/* Non-blocking use: the socket is left non-blocking and read/write/
 * handshake return IOTLS_WANT_READ / IOTLS_WANT_WRITE instead of waiting. */
IOTLS_API int iotls_set_nonblocking(iotls *t, int on);
IOTLS_API iotls_conn *iotls_engine(iotls *t);
/* Client: offer a saved session (iotls_session_save blob, copied) for
 * resumption on the next connect. IOTLS_ERR_SESSION_INVALID (damaged) /
 * _EXPIRED when it cannot be used. The server name is only known at the
 * connect: iotls_connect / iotls_connect_socket return
 * IOTLS_ERR_SESSION_INVALID, before sending anything, for a session saved
 * for another server name, a suite the configuration does not offer or
 * with a ticket over its max handshake size (as iotls_conn_borrow_session
 * does); the session is then dropped and
 * connecting again on the same object does a full handshake. */
IOTLS_API int iotls_set_session(iotls *t, const uint8_t *blob, size_t len);
/* The same for a blob saved with iotls_session_save_keyed, checked under
 * key (NULL/0: as iotls_set_session). Blob and key are copied, and both
 * are wiped when replaced or when t is freed. */
IOTLS_API int iotls_set_session_keyed(iotls *t, const uint8_t *blob, size_t len, const uint8_t *key,
                                      size_t key_len);
/* Client, before connect, after iotls_set_session: data (copied) sent as
 * 0-RTT early data with the ClientHello when the session allows it: any
 * length up to the session's max_early_data, in as many records as it
 * takes (what does not fit behind the ClientHello follows as soon as that
 * is sent, before the server's answer is read). More than the session
 * allows is not sent early at all. After the handshake
 * iotls_get_info().early_data tells what happened: ACCEPTED means all of
 * it reached the server (early_data_bytes counts it); REJECTED (or NONE
 * when the session did not allow it, or the data was longer) means the
 * server never saw the data and the application must write it again. */
IOTLS_API int iotls_set_early_data(iotls *t, const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
