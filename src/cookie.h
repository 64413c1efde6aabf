/* The server's HelloRetryRequest. By default the connection keeps what the
 * second ClientHello is checked against (server_state.h): the transcript
 * goes on, and the digest of the first ClientHello's fields that must not
 * change is compared with the second's. With iotls_config_set_hrr_cookie
 * the HelloRetryRequest is stateless instead: the cookie carries what the
 * first ClientHello decided, and the second ClientHello's handler rebuilds
 * the transcript from it alone. Used by server.c only.
 *
 * Cookie:
 *   version(1) | suite(2) | group(2) | hash_len(1) | Hash(ClientHello1) | tag(32)
 * tag = HMAC-SHA256(cookie_key, everything before the tag || fields digest),
 * where the fields digest is a SHA-256 over the ClientHello fields RFC 8446
 * 4.1.2 forbids the client to change in its second ClientHello. The digest
 * is not carried in the cookie, only bound by the tag: a second ClientHello
 * that changed any of them, or a forged or damaged cookie, fails the tag. */
#ifndef IOTLS_COOKIE_H
#define IOTLS_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "msg/msg.h"

/* IOTLS_COOKIE_MAX_LEN: server_state.h (the cookie waits there for SEND_HRR). */

/* SHA-256 over the ClientHello fields RFC 8446 4.1.2 forbids the client to
 * change in its second ClientHello (and which of them are present). */
int iotls__hrr_fields_digest(const iotls_client_hello *ch, uint8_t out[IOTLS_HRR_FIELDS_LEN]);
/* A cookie for the HelloRetryRequest that answers ch: suite and group
 * chosen, Hash(ClientHello1) (hash_len bytes), sealed with the config's
 * cookie key. */
int iotls__cookie_make(const iotls_conn *c, const iotls_client_hello *ch, uint16_t suite,
                       uint16_t group, const uint8_t *ch1_hash, size_t hash_len, uint8_t *cookie,
                       size_t *cookie_len);
/* Checks the second ClientHello's cookie; on success returns what the
 * first ClientHello decided and a view of Hash(ClientHello1) inside it.
 * Anything wrong: illegal_parameter. */
int iotls__cookie_open(const iotls_conn *c, const iotls_client_hello *ch2, uint16_t *suite,
                       uint16_t *group, iotls_bytes *ch1_hash);
/* The HelloRetryRequest's fields: the same for the one we send and the
 * one written again from the cookie; cookie_len 0: none. */
void iotls__hrr_params(iotls_server_hello_params *hp, const uint8_t *session_id,
                       size_t session_id_len, uint16_t suite, uint16_t group, const uint8_t *cookie,
                       size_t cookie_len);
/* The transcript up to the second ClientHello, from the cookie alone (RFC
 * 8446 4.4.1): message_hash(ClientHello1) || HelloRetryRequest. The
 * HelloRetryRequest is written again byte for byte: it depends only on the
 * session id (bound by the cookie), suite, group and the cookie. */
int iotls__hrr_rebuild_transcript(iotls_conn *c, const iotls_client_hello *ch2, uint16_t suite,
                                  uint16_t group, iotls_bytes ch1_hash);

#endif
