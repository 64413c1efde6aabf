/* The TLS 1.3 record layer (RFC 8446 section 5): framing, AEAD protection
 * with per-record nonces, TLSInnerPlaintext padding and content-type
 * recovery, size limits, and handshake-message fragmentation/reassembly.
 * No I/O: callers hand in whole records and take whole records out. */
#ifndef IOTLS_RECORD_H
#define IOTLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

enum {
    IOTLS_CT_CHANGE_CIPHER_SPEC = 20,
    IOTLS_CT_ALERT = 21,
    IOTLS_CT_HANDSHAKE = 22,
    IOTLS_CT_APPLICATION_DATA = 23,
};

#define IOTLS_RECORD_HEADER_LEN 5
#define IOTLS_MAX_PLAINTEXT 16384u                        /* 2^14 */
#define IOTLS_MAX_CIPHERTEXT (IOTLS_MAX_PLAINTEXT + 256u) /* 2^14 + 256 */
/* Largest record on the wire, header included. */
#define IOTLS_MAX_RECORD (IOTLS_RECORD_HEADER_LEN + IOTLS_MAX_CIPHERTEXT)

/* One direction's protection state. */
typedef struct {
    iotls_aead_ctx aead;
    uint8_t iv[IOTLS_AEAD_NONCE_LEN];
    uint64_t seq;
    int active;      /* 0: records are plaintext (before the handshake keys) */
    uint8_t tag_len; /* the suite's AEAD tag: 16, or 8 for CCM_8 */
} iotls_record_cipher;

int iotls__record_cipher_init(iotls_record_cipher *rc, iotls_aead_alg alg, const uint8_t *key,
                              size_t key_len, const uint8_t iv[IOTLS_AEAD_NONCE_LEN]);
/* Back to plaintext; wipes key and IV. */
void iotls__record_cipher_free(iotls_record_cipher *rc);
/* The per-record nonce: iv XOR the 64-bit sequence number (left-padded). */
void iotls__record_nonce(const iotls_record_cipher *rc, uint8_t nonce[IOTLS_AEAD_NONCE_LEN]);

/* Parses a record header. Returns IOTLS_OK and the body length; or
 * IOTLS_WANT_READ if fewer than 5 bytes; IOTLS_ERR_RECORD_OVERFLOW when the
 * length exceeds 2^14+256 (protected) or 2^14 (plaintext, when
 * !protected_expected); IOTLS_ERR_UNEXPECTED_MESSAGE for an unknown content
 * type (RFC 8446 5), and IOTLS_ERR_DECODE when legacy_record_version is not
 * 0x03xx. */
int iotls__record_header(const uint8_t *p, size_t len, int protected_expected, uint8_t *type,
                         size_t *body_len);

/* Writes one record carrying len bytes of content_type into out.
 * Unprotected: header + data (len <= max_plaintext). Protected:
 * TLSInnerPlaintext = data || type || pad zeros, sealed, outer type
 * application_data, version 0x0303, seq incremented. Returns the record
 * length in *out_len; IOTLS_ERR_BUFFER_TOO_SMALL if it does not fit;
 * IOTLS_ERR_BAD_ARG if len > 2^14 or len + 1 + pad > 2^14 + 1 (RFC 8446 5.4:
 * the whole TLSInnerPlaintext may be 2^14 + 1, so 2^14 bytes of content fit
 * in one protected record). IOTLS_ERR_INTERNAL instead of using sequence
 * number 2^64-1 (the caller must update keys before). */
int iotls__record_seal(iotls_record_cipher *rc, uint8_t content_type, const uint8_t *data,
                       size_t len, size_t pad_len, uint8_t *out, size_t out_cap, size_t *out_len);
/* Output size of a record carrying len bytes with pad_len padding. */
size_t iotls__record_sealed_len(const iotls_record_cipher *rc, size_t len, size_t pad_len);
/* The tag length of rc's AEAD (0 while rc is not active). */
size_t iotls__record_tag_len(const iotls_record_cipher *rc);

/* Opens one whole record (header included) in place. Protected: decrypts,
 * strips padding, recovers the real content type; IOTLS_ERR_BAD_RECORD_MAC
 * on a bad tag, IOTLS_ERR_UNEXPECTED_MESSAGE when the inner plaintext is all
 * zeros (no content type), IOTLS_ERR_RECORD_OVERFLOW when the inner
 * plaintext exceeds 2^14 (content + type + padding over 2^14 + 1); also
 * IOTLS_ERR_UNEXPECTED_MESSAGE for an unprotected alert/handshake record once
 * rc is active and for a protected change_cipher_spec or unknown inner type.
 * A change_cipher_spec record is passed through
 * unprotected even when rc is active (the caller decides if it is allowed).
 * On success *content points into record. */
int iotls__record_open(iotls_record_cipher *rc, uint8_t *record, size_t record_len,
                       uint8_t *content_type, uint8_t **content, size_t *content_len);

/* ---- Handshake message reassembly ----
 * Handshake messages may be split across records and several may share one
 * record. Record payloads go in; whole messages (4-byte header included)
 * come out. The buffer is the caller's; its size is the largest handshake
 * message accepted. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;      /* bytes held */
    size_t consumed; /* bytes of messages already handed out */
    size_t max_msg;  /* largest message accepted, header included (0: cap) */
    size_t high;     /* most bytes buf held since init: what a wipe must cover */
    /* No buffer of its own: buf is the front of the caller's record buffer,
     * which keeps the partial message there (len bytes) and receives the
     * next record right behind it (iotls__hs_reasm_init_in_place). */
    bool in_place;
} iotls_hs_reasm;

void iotls__hs_reasm_init(iotls_hs_reasm *r, uint8_t *buf, size_t cap);
/* Reassembly in the record buffer, as Mbed TLS does it: no buffer of its
 * own (cap 0, nothing of its own to wipe). front is the start of the
 * caller's record buffer. A partial message is moved to front by
 * iotls__hs_reasm_feed; the caller receives the next record behind it
 * (front + iotls__hs_reasm_pending), opens it in place there and moves its
 * payload down to front + pending before feeding it, so held bytes and
 * payload are one run. max_msg bounds every message (header included). */
void iotls__hs_reasm_init_in_place(iotls_hs_reasm *r, uint8_t *front, size_t max_msg);
/* Appends a record's payload. IOTLS_ERR_HANDSHAKE_TOO_LARGE when a message
 * (as its header announces) would not fit the buffer; IOTLS_ERR_DECODE for
 * an empty payload (zero-length handshake records are forbidden). The
 * buffer holds the unconsumed bytes plus this payload, so drain
 * iotls__hs_reasm_next before the next add; several messages coalesced in one
 * record that together exceed cap also give IOTLS_ERR_HANDSHAKE_TOO_LARGE. */
int iotls__hs_reasm_add(iotls_hs_reasm *r, const uint8_t *data, size_t len);
/* 1 and the next whole message when one is available, 0 when more bytes
 * are needed. The view stays valid until the next add. */
int iotls__hs_reasm_next(iotls_hs_reasm *r, uint8_t *type, const uint8_t **msg, size_t *msg_len);
/* The receive path's way in: takes from one record's payload only the bytes
 * the current message needs, so the buffer never holds more than one
 * message (its size is the largest message accepted, not that plus a
 * record). *used says how many bytes of data were taken; returns 1 with a
 * whole message (header included) in *msg, 0 when all of data was taken and
 * the message is still incomplete, or an error: IOTLS_ERR_HANDSHAKE_TOO_LARGE
 * as soon as a header announces more than the limit, IOTLS_ERR_DECODE for an
 * empty payload. A message that lies whole in data and nothing of it is held
 * is handed out as a view into data (no copy); otherwise into the buffer.
 * The view stays valid until the next feed (and, when into data, while data
 * does). The caller feeds the rest of the payload (data + *used) after
 * handling the message. In place (iotls__hs_reasm_init_in_place), data
 * must lie right behind the held bytes (IOTLS_ERR_BAD_ARG otherwise): a
 * message is handed out as a view into front or data, and an incomplete
 * one is moved to front and held there (0 returned, all of data used). */
int iotls__hs_reasm_feed(iotls_hs_reasm *r, const uint8_t *data, size_t len, size_t *used,
                         uint8_t *type, const uint8_t **msg, size_t *msg_len);
/* Bytes of a partial message held: must be 0 at a key change (RFC 8446
 * 5.1: a message must not span a key change → unexpected_message). */
size_t iotls__hs_reasm_pending(const iotls_hs_reasm *r);
void iotls__hs_reasm_wipe(iotls_hs_reasm *r);

/* ---- Fragmentation ----
 * Splits a handshake message (or several, coalesced) into records of at
 * most max_fragment content bytes each, sealed with rc, appended to out.
 * Returns IOTLS_ERR_BUFFER_TOO_SMALL if they do not all fit (nothing is
 * written then). The engine seals its flights in place (below); this
 * copying form is the reference unit.record checks the in-place one
 * against, byte for byte (a firmware's linker drops it). */
int iotls__record_write_fragmented(iotls_record_cipher *rc, uint8_t content_type,
                                   const uint8_t *data, size_t len, size_t max_fragment,
                                   uint8_t *out, size_t out_cap, size_t *out_len);

/* The same, in place: the content lies at buf + IOTLS_RECORD_HEADER_LEN
 * (len bytes) and the records are written from buf on (cap bytes there).
 * Records are sealed last to first, each moved to its final place, so no
 * record overwrites content not yet sealed; sequence numbers are as if
 * sealed in order. IOTLS_ERR_BUFFER_TOO_SMALL (nothing changed) when they do
 * not fit. */
int iotls__record_write_fragmented_in_place(iotls_record_cipher *rc, uint8_t content_type,
                                            uint8_t *buf, size_t len, size_t max_fragment,
                                            size_t cap, size_t *out_len);

#endif
