/* The sans-I/O engine: a TLS 1.3 connection that never touches a socket.
 *
 *   size_t need = iotls_conn_size(cfg);
 *   iotls_conn *c = iotls_conn_init(mem, need, cfg, IOTLS_ROLE_CLIENT, "host");
 *   iotls_conn_start(c);                       // client: queues ClientHello
 *   loop:
 *     out = iotls_conn_output(c, &n); send(out, n); iotls_conn_output_consume(c, sent);
 *     n = recv(...); iotls_conn_input(c, buf, n, &used);   // feeds records in
 *     iotls_conn_read(c, ...) / iotls_conn_write(c, ...)   // application data
 *
 * All memory is the caller's: iotls_conn_size() tells how much the
 * configuration needs (connection struct plus record and handshake buffers).
 * Nothing is allocated by the engine itself; the crypto library may allocate
 * for bignum arithmetic (counted by iotls_crypto_mem_stats). */
#ifndef IOTLS_ENGINE_H
#define IOTLS_ENGINE_H

#include "iotls/api.h"

#include <stddef.h>
#include <stdint.h>

#include "iotls/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which side of the handshake a connection plays. */
typedef enum {
    IOTLS_ROLE_CLIENT = 0,
    IOTLS_ROLE_SERVER = 1,
} iotls_role;

/* The whole block: iotls_conn_state_size + iotls_conn_buffers_size. */
IOTLS_API size_t iotls_conn_size(const iotls_config *cfg);
/* What a connection holds for its whole life (struct, keys, sequence
 * numbers, counters, the selected ALPN protocol, a server's client
 * identity): 2 to 3 KiB. */
IOTLS_API size_t iotls_conn_state_size(const iotls_config *cfg);
/* Its record and handshake buffers (receive, reassembly unless it is done
 * in the receive buffer, iotls_config_set_reassemble_in_place; sealed
 * output, in which our flights are built): needed only while a record is received
 * or sent, and all through the handshake. Sized from the configuration:
 * its record sizes, max_handshake, and what it sends (its certificate
 * chain and key, ALPN list, tickets). A connection keeps the sizes it was
 * made with. See iotls_conn_release_buffers. */
IOTLS_API size_t iotls_conn_buffers_size(const iotls_config *cfg);
/* server_name: client only (SNI and the certificate name check; NULL skips
 * both, which is only allowed with iotls_config_insecure_noverifycert or
 * pins). Returns NULL when mem is too small or misaligned (16 bytes). The
 * state is the first iotls_conn_state_size bytes of mem, the buffers the
 * rest (what iotls_conn_release_buffers hands back). mem need not be
 * zeroed: the state is cleared here, the buffers are not (every byte of
 * them is written before it is read or sent; iotls_conn_free wipes them
 * all). */
IOTLS_API iotls_conn *iotls_conn_init(void *mem, size_t mem_len, const iotls_config *cfg,
                                      iotls_role role, const char *server_name);
/* The same with the state and the buffers in two blocks (each 16-byte
 * aligned, at least iotls_conn_state_size / iotls_conn_buffers_size
 * bytes): a server that pools buffers allocates only the state per
 * connection. */
IOTLS_API iotls_conn *iotls_conn_init_split(void *state, size_t state_len, void *buffers,
                                            size_t buffers_len, const iotls_config *cfg,
                                            iotls_role role, const char *server_name);
/* Idle connections without buffers (a gateway holding many): 1 when the
 * buffers hold nothing the connection still needs: the handshake is done,
 * no record is partly received or unread, no handshake message is partly
 * reassembled or waiting to be sealed, every sealed byte was taken by
 * iotls_conn_output_consume, and no KeyUpdate is owed. 0 otherwise, and
 * when the buffers are detached. */
IOTLS_API int iotls_conn_buffers_idle(const iotls_conn *c);
/* When idle: wipes the buffers (they held plaintext: every byte written
 * since they were attached, which after a record or two each way is a few
 * hundred bytes at the start of each buffer, after the handshake or a
 * post-handshake message the whole block), detaches them and
 * gives their block back in *mem (iotls_conn_buffers_size bytes; the
 * caller's to reuse for any connection of the same configuration, or to
 * free; with iotls_conn_init it is the block's suffix, not a block of its
 * own). The crypto provider also gives back what it allocated for the
 * record keys (the OpenSSL provider's cipher contexts, 2.4 KiB), rebuilt
 * at the next record. IOTLS_ERR_BAD_STATE (and *mem NULL) when not idle. While detached,
 * iotls_conn_input / _input_commit / _write / _close / _key_update /
 * _start return IOTLS_ERR_BAD_STATE without failing the connection,
 * iotls_conn_input_space gives NULL, iotls_conn_output nothing and
 * iotls_conn_read IOTLS_WANT_READ (or the end of the stream): attach
 * before the socket is read or data written. iotls_conn_free works either
 * way (it never frees anything). */
IOTLS_API int iotls_conn_release_buffers(iotls_conn *c, void **mem);
/* Attaches a buffer block (16-byte aligned, at least
 * iotls_conn_buffers_size bytes of the configuration as it was when the
 * connection was made; its contents do not matter) to a connection whose
 * buffers are detached. BAD_ARG for a block too small or
 * misaligned, BAD_STATE when buffers are attached. */
IOTLS_API int iotls_conn_attach_buffers(iotls_conn *c, void *mem, size_t len);
/* 1 while buffers are attached. */
IOTLS_API int iotls_conn_buffers_attached(const iotls_conn *c);
/* Client: queue the ClientHello. Server: nothing (waits for one). */
IOTLS_API int iotls_conn_start(iotls_conn *c);
/* Input has one model, zero-copy (iotls_conn_input_space / _commit, below):
 * this copying call takes the same steps with a copy between them, for
 * transports that already hold the bytes. Feeds up to len received bytes; *used tells how many
 * were taken (fewer when decrypted application data waits to be read, or
 * the output buffer must drain first). Returns IOTLS_OK, IOTLS_WANT_READ / IOTLS_WANT_WRITE
 * where noted (never errors: they say what the engine waits for), or a
 * fatal error (then the alert to send is queued in the output). */
IOTLS_API int iotls_conn_input(iotls_conn *c, const uint8_t *data, size_t len, size_t *used);
/* Zero-copy input, the engine's input model: receive straight into the
 * connection's record buffer. iotls_conn_input_space tells where and how
 * many bytes the engine takes now (*cap; the rest of the current record's
 * header or body, so a transport never reads past a record); NULL and 0
 * when it takes nothing now (application data waits to be read, or the
 * output must drain first; or the connection failed: iotls_conn_error).
 * After receiving n <= *cap bytes there, iotls_conn_input_commit(c, n)
 * processes them, with the same results as iotls_conn_input. Saves the
 * transport a receive buffer of its own (the blocking API has none). */
IOTLS_API uint8_t *iotls_conn_input_space(iotls_conn *c, size_t *cap);
IOTLS_API int iotls_conn_input_commit(iotls_conn *c, size_t n);
/* Bytes waiting to be sent (NULL/0 when none). */
IOTLS_API const uint8_t *iotls_conn_output(const iotls_conn *c, size_t *len);
IOTLS_API void iotls_conn_output_consume(iotls_conn *c, size_t n);
IOTLS_API int iotls_conn_handshake_done(const iotls_conn *c);
/* Application data: IOTLS_OK with *n > 0; IOTLS_WANT_READ when none is
 * buffered (not an error: feed more input); another error when failed.
 * The end of the stream is as for read() and the blocking iotls_read:
 * after the peer's close_notify, IOTLS_OK with *n == 0 (with cap > 0),
 * every time, and iotls_conn_peer_closed() is 1. Writing stays allowed
 * (RFC 8446 6.1: each side closes its own write side). */
IOTLS_API int iotls_conn_read(iotls_conn *c, uint8_t *buf, size_t cap, size_t *n);
/* 1 once the peer's close_notify arrived: a clean end of its stream. */
IOTLS_API int iotls_conn_peer_closed(const iotls_conn *c);
/* The transport reports the peer closed the connection (recv() gave 0).
 * IOTLS_OK after the peer's close_notify (a clean end); otherwise the
 * stream was cut, which must not pass for a clean end: IOTLS_ERR_EOF, and
 * the connection fails with it (iotls_conn_read then returns it too), as
 * the blocking iotls_read returns IOTLS_ERR_EOF. */
IOTLS_API int iotls_conn_input_eof(iotls_conn *c);
/* Seals up to len bytes into output records; *n tells how many were taken
 * (IOTLS_WANT_WRITE when the output buffer is full: not an error, drain
 * it first). */
IOTLS_API int iotls_conn_write(iotls_conn *c, const uint8_t *data, size_t len, size_t *n);
/* Queue close_notify. IOTLS_WANT_WRITE when the output buffer has no room
 * for it (not an error: send the output, then call again). */
IOTLS_API int iotls_conn_close(iotls_conn *c);
/* Queue a KeyUpdate (and switch our write keys). IOTLS_WANT_WRITE when the
 * output buffer has no room for it (not an error: send the output, then
 * call again). */
IOTLS_API int iotls_conn_key_update(iotls_conn *c, int request_peer);
/* The error that failed the connection (0 while healthy). */
IOTLS_API int iotls_conn_error(const iotls_conn *c);
/* What was negotiated, flags and counters: copied, nothing formatted or
 * hashed (cheap to call on every record, a few dozen bytes of stack). */
IOTLS_API int iotls_conn_info(const iotls_conn *c, iotls_info *info);
/* The peer's certificate as text, formatted now from its leaf (what =
 * IOTLS_PEER_SUBJECT / _ISSUER / _SANS / _KEY), NUL-ended into out.
 * Works whenever the connection holds the peer's chain, also after a
 * failed verification (to show what was refused). On a server resumed
 * with a client's ticket, the subject it carries (the rest is not kept).
 * IOTLS_ERR_BAD_STATE (out "") when there is none (no certificate
 * presented, resumption, PSK); IOTLS_ERR_BUFFER_TOO_SMALL when it does not
 * fit in cap. Costs the crypto library's DN formatting: about 2.3 KB of stack. */
IOTLS_API int iotls_conn_peer_text(const iotls_conn *c, int what, char *out, size_t cap);
/* SHA-256 of the peer leaf's SubjectPublicKeyInfo (what pins are made
 * of), hashed now; on a server that verifies clients, the stored identity
 * of the authenticated client (also when resumed). BAD_STATE as above. */
IOTLS_API int iotls_conn_peer_spki_sha256(const iotls_conn *c, uint8_t out[32]);
/* Words on the error that failed c, for a person, NUL-ended in out (empty
 * when iotls knows nothing more than iotls_error_string tells): a refused
 * peer certificate's subject and what was wrong (the host name asked for
 * and the names it has; its validity and the time now; the issuer that
 * did not chain), or a likely reason for the peer's alert. Works from the
 * peer chain the connection keeps: no room in the engine block for it. */
IOTLS_API int iotls_conn_error_detail(const iotls_conn *c, char *out, size_t cap);
/* Peer certificate chain (leaf first), DER views valid while c lives. */
IOTLS_API size_t iotls_conn_peer_cert_count(const iotls_conn *c);
IOTLS_API int iotls_conn_peer_cert_der(const iotls_conn *c, size_t i, const uint8_t **der,
                                       size_t *len);
/* Wipes every secret and frees what the crypto library holds. */
IOTLS_API void iotls_conn_free(iotls_conn *c);
/* Application pointer, for callbacks. */
IOTLS_API int iotls_conn_set_user(iotls_conn *c, void *user);
IOTLS_API void *iotls_conn_user(const iotls_conn *c);
/* Client, before iotls_conn_start: offer the session in blob
 * (iotls_session_save) for resumption. Fails with SESSION_INVALID (damaged,
 * other server name, suite not configured, ticket longer than the
 * configuration's max handshake size or max ticket size) or
 * SESSION_EXPIRED. BORROWED,
 * as the name says: the blob is checked and the connection keeps pointing
 * into it (its ticket), so keep it alive and unchanged until
 * iotls_conn_handshake_done() or iotls_conn_free(). A copy would make every
 * connection reserve room for the largest ticket (IOTLS_SESSION_MAX_TICKET,
 * 4 KB); the blocking iotls_set_session copies the blob for you. */
IOTLS_API int iotls_conn_borrow_session(iotls_conn *c, const uint8_t *blob, size_t len);
/* The same for a blob saved with iotls_session_save_keyed: its HMAC-SHA256
 * trailer is checked under key (NULL/0: the plain SHA-256 digest, as
 * iotls_conn_borrow_session). A blob not made under that key is
 * SESSION_INVALID. The key is only used during the call. */
IOTLS_API int iotls_conn_borrow_session_keyed(iotls_conn *c, const uint8_t *blob, size_t len,
                                              const uint8_t *key, size_t key_len);
/* Client, after iotls_conn_borrow_session: send data as 0-RTT early data. Before
 * iotls_conn_start the data is only referenced (keep it alive until
 * iotls_conn_start returns) and goes out right after the ClientHello; after
 * the start (until the ServerHello) it is sealed at once, appended to what
 * was written before. BAD_STATE when the session allows no early data;
 * BAD_ARG when the total would exceed its max_early_data_size or the output
 * buffer (then, before the start, iotls_conn_start fails with BAD_ARG).
 * More than one output buffer holds (a full 16 KiB max_early_data_size
 * does not fit behind the ClientHello): write what iotls_conn_early_room
 * says before the start, then, after the start and before any input,
 * send the output, consume it, and write the next iotls_conn_early_room
 * bytes, until all is written. */
IOTLS_API int iotls_conn_write_early(iotls_conn *c, const uint8_t *data, size_t len);
/* Client: the most bytes iotls_conn_write_early takes now, never more than
 * the session's max_early_data_size less what was written. Before
 * iotls_conn_start, what is sure to fit behind the longest ClientHello the
 * configuration sends; after it, what fits in the output buffer's free
 * room (iotls_conn_output_consume frees more). 0 when no early data can be
 * written: no session allowing it, not offered (an expired session), after
 * the ServerHello, or an error. */
IOTLS_API size_t iotls_conn_early_room(const iotls_conn *c);
/* IOTLS_EARLY_DATA_NONE / _ACCEPTED / _REJECTED (final once the server's
 * EncryptedExtensions is processed, on either side). */
IOTLS_API int iotls_conn_early_data_status(const iotls_conn *c);

#ifdef __cplusplus
}
#endif
#endif
