/* The TLS 1.3 record layer (RFC 8446 section 5). See record.h. */
#include "record.h"

#include <string.h>

#include "buf.h"
#include "iotls/error.h"

/* RFC 8446 5.4: the full encoded TLSInnerPlaintext (content, type byte and
 * padding) must not exceed 2^14 + 1 octets. */
#define MAX_INNER_PLAINTEXT (IOTLS_MAX_PLAINTEXT + 1u)
#define HS_HEADER_LEN 4u

/* ---- protection state ---- */

int iotls__record_cipher_init(iotls_record_cipher *rc, iotls_aead_alg alg, const uint8_t *key,
                              size_t key_len, const uint8_t iv[IOTLS_AEAD_NONCE_LEN])
{
    if (rc == NULL || key == NULL || iv == NULL)
        return IOTLS_ERR_BAD_ARG;
    /* A key change replaces the previous keys: release and wipe them. */
    iotls__record_cipher_free(rc);
    int err = iotls__aead_init(&rc->aead, alg, key, key_len);
    if (err != IOTLS_OK)
        return err;
    memcpy(rc->iv, iv, IOTLS_AEAD_NONCE_LEN);
    rc->seq = 0;
    rc->tag_len = (uint8_t)iotls__aead_tag_len(alg);
    rc->active = 1;
    return IOTLS_OK;
}

void iotls__record_cipher_free(iotls_record_cipher *rc)
{
    if (rc == NULL)
        return;
    iotls__aead_free(&rc->aead);
    iotls__wipe(rc->iv, sizeof(rc->iv));
    rc->seq = 0;
    rc->active = 0;
    rc->tag_len = 0;
}

void iotls__record_nonce(const iotls_record_cipher *rc, uint8_t nonce[IOTLS_AEAD_NONCE_LEN])
{
    /* RFC 8446 5.3: the 64-bit sequence number, big-endian, left-padded to
     * the IV length, XORed with the static IV. */
    memcpy(nonce, rc->iv, IOTLS_AEAD_NONCE_LEN);
    for (size_t i = 0; i < 8; i++)
        nonce[IOTLS_AEAD_NONCE_LEN - 1 - i] ^= (uint8_t)(rc->seq >> (8 * i));
}

/* ---- header ---- */

static int known_content_type(uint8_t type)
{
    return type == IOTLS_CT_CHANGE_CIPHER_SPEC || type == IOTLS_CT_ALERT ||
           type == IOTLS_CT_HANDSHAKE || type == IOTLS_CT_APPLICATION_DATA;
}

int iotls__record_header(const uint8_t *p, size_t len, int protected_expected, uint8_t *type,
                         size_t *body_len)
{
    if (p == NULL && len > 0)
        return IOTLS_ERR_BAD_ARG;
    if (len < IOTLS_RECORD_HEADER_LEN)
        return IOTLS_WANT_READ;
    iotls_reader rd;
    uint8_t content_type, version_major, version_minor;
    uint16_t length;
    iotls__rd_init(&rd, p, IOTLS_RECORD_HEADER_LEN);
    if (iotls__rd_u8(&rd, &content_type) != IOTLS_OK ||
        iotls__rd_u8(&rd, &version_major) != IOTLS_OK ||
        iotls__rd_u8(&rd, &version_minor) != IOTLS_OK || iotls__rd_u16(&rd, &length) != IOTLS_OK)
        return IOTLS_ERR_DECODE;
    (void)version_minor; /* 0x0301 (first ClientHello) .. 0x0303: all allowed */
    if (version_major != 0x03)
        return IOTLS_ERR_DECODE;
    /* RFC 8446 5: an unexpected record type is unexpected_message. */
    if (!known_content_type(content_type))
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    size_t limit = protected_expected ? IOTLS_MAX_CIPHERTEXT : IOTLS_MAX_PLAINTEXT;
    if (length > limit)
        return IOTLS_ERR_RECORD_OVERFLOW;
    if (type != NULL)
        *type = content_type;
    if (body_len != NULL)
        *body_len = length;
    return IOTLS_OK;
}

static void write_header(uint8_t *out, uint8_t type, size_t body_len)
{
    iotls_writer w;
    iotls__wr_init(&w, out, IOTLS_RECORD_HEADER_LEN);
    iotls__wr_u8(&w, type);
    iotls__wr_u16(&w, 0x0303); /* legacy_record_version */
    iotls__wr_u16(&w, (uint16_t)body_len);
}

/* ---- seal ---- */

size_t iotls__record_sealed_len(const iotls_record_cipher *rc, size_t len, size_t pad_len)
{
    if (rc == NULL || !rc->active)
        return IOTLS_RECORD_HEADER_LEN + len;
    return IOTLS_RECORD_HEADER_LEN + len + 1 + pad_len + rc->tag_len;
}

size_t iotls__record_tag_len(const iotls_record_cipher *rc)
{
    return rc != NULL && rc->active ? rc->tag_len : 0;
}

int iotls__record_seal(iotls_record_cipher *rc, uint8_t content_type, const uint8_t *data,
                       size_t len, size_t pad_len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (rc == NULL || out == NULL || out_len == NULL || (data == NULL && len > 0))
        return IOTLS_ERR_BAD_ARG;
    if (!known_content_type(content_type) || len > IOTLS_MAX_PLAINTEXT)
        return IOTLS_ERR_BAD_ARG;

    if (!rc->active) {
        /* Plaintext records carry no padding; pad_len is ignored. */
        size_t total = IOTLS_RECORD_HEADER_LEN + len;
        if (total > out_cap)
            return IOTLS_ERR_BUFFER_TOO_SMALL;
        if (len > 0)
            memmove(out + IOTLS_RECORD_HEADER_LEN, data, len);
        write_header(out, content_type, len);
        *out_len = total;
        return IOTLS_OK;
    }

    if (pad_len > MAX_INNER_PLAINTEXT - 1 - len)
        return IOTLS_ERR_BAD_ARG;
    /* The record with sequence number 2^64-1 would be the last one before
     * the nonce repeats; the caller must have updated the keys long before. */
    if (rc->seq == UINT64_MAX)
        return IOTLS_ERR_INTERNAL;
    size_t inner_len = len + 1 + pad_len;
    size_t body_len = inner_len + rc->tag_len;
    size_t total = IOTLS_RECORD_HEADER_LEN + body_len;
    if (total > out_cap)
        return IOTLS_ERR_BUFFER_TOO_SMALL;

    /* TLSInnerPlaintext = content || type || zeros, built in out and then
     * encrypted in place. memmove: data may already sit at its place in out. */
    uint8_t *inner = out + IOTLS_RECORD_HEADER_LEN;
    if (len > 0)
        memmove(inner, data, len);
    inner[len] = content_type;
    memset(inner + len + 1, 0, pad_len);
    /* The outer header is the AAD (RFC 8446 5.2): opaque type
     * application_data, length of the ciphertext including the tag. */
    write_header(out, IOTLS_CT_APPLICATION_DATA, body_len);

    uint8_t nonce[IOTLS_AEAD_NONCE_LEN];
    iotls__record_nonce(rc, nonce);
    int err =
        iotls__aead_seal(&rc->aead, nonce, out, IOTLS_RECORD_HEADER_LEN, inner, inner_len, inner);
    if (err != IOTLS_OK) {
        iotls__wipe(out, total);
        return err;
    }
    rc->seq++;
    *out_len = total;
    return IOTLS_OK;
}

/* ---- open ---- */

/* Offset of the last non-zero byte of p[0..len), or len when all are zero.
 * Looks at every byte without data-dependent branches or addresses, so the
 * time taken does not reveal the padding length (RFC 8446 5.4 leaves this
 * to the implementation). This runs over every received record: byte by
 * byte it cost several times the AEAD, so it goes 32 bytes at a time and
 * keeps the last block that has a non-zero byte, then looks into that one
 * block byte by byte. */
#define SCAN_WORDS 4
#define SCAN_BLOCK (8 * SCAN_WORDS)

static size_t last_nonzero_bytes(const uint8_t *p, size_t from, size_t len, size_t found)
{
    for (size_t i = from; i < len; i++) {
        /* mask is all ones when p[i] != 0. */
        size_t nonzero = (size_t)((0u - (unsigned)p[i]) >> 8) & 1u;
        size_t mask = (size_t)0 - nonzero;
        found = (i & mask) | (found & ~mask);
    }
    return found;
}

/* A build for size (-Os, which defines __OPTIMIZE_SIZE__ in GCC and Clang;
 * or IOTLS_RECORD_SCAN_BYTES) keeps the byte-at-a-time scan: about 280 B
 * less code on a Cortex-M4, where the 64-bit words gain little anyway. */
#if defined(IOTLS_RECORD_SCAN_BYTES) || defined(__OPTIMIZE_SIZE__)
static size_t last_nonzero(const uint8_t *p, size_t len)
{
    return last_nonzero_bytes(p, 0, len, len);
}
#else
static size_t last_nonzero(const uint8_t *p, size_t len)
{
    size_t blocks = len / SCAN_BLOCK;
    uint64_t last[SCAN_WORDS] = {0}; /* the last block with a non-zero byte */
    size_t last_block = 0;
    for (size_t b = 0; b < blocks; b++) {
        uint64_t v[SCAN_WORDS], any = 0;
        memcpy(v, p + b * SCAN_BLOCK, SCAN_BLOCK);
        for (size_t k = 0; k < SCAN_WORDS; k++)
            any |= v[k];
        uint64_t mask = 0u - ((any | (0u - any)) >> 63); /* all ones when any != 0 */
        for (size_t k = 0; k < SCAN_WORDS; k++)
            last[k] ^= (last[k] ^ v[k]) & mask;
        last_block ^= (last_block ^ b) & (size_t)mask;
    }
    /* Back in memory order, that block is scanned like any other bytes;
     * when no block had a non-zero byte, it is all zeros and finds none. */
    uint8_t block[SCAN_BLOCK];
    memcpy(block, last, SCAN_BLOCK);
    size_t in_block = last_nonzero_bytes(block, 0, SCAN_BLOCK, SCAN_BLOCK);
    size_t have = (size_t)0 - (size_t)(in_block != SCAN_BLOCK);
    size_t found = ((last_block * SCAN_BLOCK + in_block) & have) | (len & ~have);
    iotls__wipe(block, sizeof block);
    iotls__wipe(last, sizeof last);
    /* The bytes after the last whole block come later, so they win. */
    return last_nonzero_bytes(p, blocks * SCAN_BLOCK, len, found);
}
#endif

int iotls__record_open(iotls_record_cipher *rc, uint8_t *record, size_t record_len,
                       uint8_t *content_type, uint8_t **content, size_t *content_len)
{
    if (rc == NULL || record == NULL || content_type == NULL || content == NULL ||
        content_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    uint8_t outer_type;
    size_t body_len;
    int err = iotls__record_header(record, record_len, rc->active, &outer_type, &body_len);
    if (err == IOTLS_WANT_READ)
        return IOTLS_ERR_BAD_ARG; /* the caller must hand in a whole record */
    if (err != IOTLS_OK)
        return err;
    if (record_len != IOTLS_RECORD_HEADER_LEN + body_len)
        return IOTLS_ERR_BAD_ARG;
    uint8_t *body = record + IOTLS_RECORD_HEADER_LEN;

    /* RFC 8446 5: change_cipher_spec is never protected; whether one is
     * allowed at this point is the handshake's decision. */
    if (!rc->active || outer_type == IOTLS_CT_CHANGE_CIPHER_SPEC) {
        *content_type = outer_type;
        *content = body;
        *content_len = body_len;
        return IOTLS_OK;
    }
    /* Once keys are in use every other record must be protected; an
     * unprotected alert or handshake record here is unauthenticated (a
     * plaintext close_notify would allow truncation). */
    if (outer_type != IOTLS_CT_APPLICATION_DATA)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    if (body_len < rc->tag_len)
        return IOTLS_ERR_BAD_RECORD_MAC;
    if (rc->seq == UINT64_MAX)
        return IOTLS_ERR_INTERNAL;

    uint8_t nonce[IOTLS_AEAD_NONCE_LEN];
    iotls__record_nonce(rc, nonce);
    err = iotls__aead_open(&rc->aead, nonce, record, IOTLS_RECORD_HEADER_LEN, body, body_len, body);
    if (err != IOTLS_OK)
        return err;
    rc->seq++;

    size_t inner_len = body_len - rc->tag_len;
    if (inner_len > MAX_INNER_PLAINTEXT) {
        iotls__wipe(body, inner_len);
        return IOTLS_ERR_RECORD_OVERFLOW;
    }
    size_t type_pos = last_nonzero(body, inner_len);
    if (type_pos == inner_len) {
        /* No non-zero byte: no content type (RFC 8446 5.4). */
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    }
    uint8_t inner_type = body[type_pos];
    /* change_cipher_spec inside a protected record, or a type we do not
     * know: unexpected_message (RFC 8446 5 and 5.2). */
    if (inner_type != IOTLS_CT_ALERT && inner_type != IOTLS_CT_HANDSHAKE &&
        inner_type != IOTLS_CT_APPLICATION_DATA) {
        iotls__wipe(body, inner_len);
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    }
    *content_type = inner_type;
    *content = body;
    *content_len = type_pos;
    return IOTLS_OK;
}

/* ---- handshake reassembly ---- */

void iotls__hs_reasm_init(iotls_hs_reasm *r, uint8_t *buf, size_t cap)
{
    r->buf = buf;
    r->cap = buf != NULL ? cap : 0;
    r->len = 0;
    r->consumed = 0;
    r->max_msg = 0;
    r->high = 0;
    r->in_place = false;
}

void iotls__hs_reasm_init_in_place(iotls_hs_reasm *r, uint8_t *front, size_t max_msg)
{
    iotls__hs_reasm_init(r, NULL, 0);
    r->buf = front;
    r->max_msg = max_msg;
    r->in_place = true;
}

/* In place: the held bytes (at buf) and data are one run. A whole message
 * at its start is handed out where it lies; an incomplete one is moved to
 * buf and held. */
static int reasm_feed_in_place(iotls_hs_reasm *r, const uint8_t *data, size_t len, size_t *used,
                               uint8_t *type, const uint8_t **msg, size_t *msg_len)
{
    if (r->len > 0 && data != r->buf + r->len)
        return IOTLS_ERR_BAD_ARG; /* the payload was not joined to the held bytes */
    if (len == 0)
        return r->len == 0 ? IOTLS_ERR_DECODE : 0;
    const uint8_t *start = r->len > 0 ? r->buf : data;
    size_t avail = r->len + len;
    size_t total = 0;
    if (avail >= HS_HEADER_LEN) {
        size_t body = ((size_t)start[1] << 16) | ((size_t)start[2] << 8) | (size_t)start[3];
        total = HS_HEADER_LEN + body;
        if (total > r->max_msg)
            return IOTLS_ERR_HANDSHAKE_TOO_LARGE;
    }
    if (avail < HS_HEADER_LEN || avail < total) {
        memmove(r->buf, start, avail);
        r->len = avail;
        *used = len;
        return 0;
    }
    *type = start[0];
    *msg = start;
    *msg_len = total;
    *used = total - r->len;
    r->len = 0;
    return 1;
}

static void reasm_grown(iotls_hs_reasm *r)
{
    if (r->len > r->high)
        r->high = r->len;
}

/* Byte i of the concatenation held || data. */
static uint8_t joined_byte(const iotls_hs_reasm *r, const uint8_t *data, size_t i)
{
    return i < r->len ? r->buf[i] : data[i - r->len];
}

int iotls__hs_reasm_add(iotls_hs_reasm *r, const uint8_t *data, size_t len)
{
    if (r == NULL || r->in_place || (data == NULL && len > 0))
        return IOTLS_ERR_BAD_ARG;
    /* RFC 8446 5.1: zero-length handshake fragments are forbidden. */
    if (len == 0)
        return IOTLS_ERR_DECODE;

    /* Drop the messages already handed out; what remains is the start of
     * the next message(s). */
    if (r->consumed > 0) {
        size_t keep = r->len - r->consumed;
        if (keep > 0)
            memmove(r->buf, r->buf + r->consumed, keep);
        r->len = keep;
        r->consumed = 0;
    }

    /* Walk the message headers across held || data: a message whose header
     * announces more than the buffer holds is refused as soon as its 4-byte
     * header is complete, before any of its body is buffered. */
    size_t total = r->len + len;
    size_t pos = 0;
    while (total - pos >= HS_HEADER_LEN) {
        size_t body = ((size_t)joined_byte(r, data, pos + 1) << 16) |
                      ((size_t)joined_byte(r, data, pos + 2) << 8) |
                      (size_t)joined_byte(r, data, pos + 3);
        size_t limit = r->max_msg != 0 && r->max_msg < r->cap ? r->max_msg : r->cap;
        if (HS_HEADER_LEN + body > limit)
            return IOTLS_ERR_HANDSHAKE_TOO_LARGE;
        if (total - pos < HS_HEADER_LEN + body)
            break;
        pos += HS_HEADER_LEN + body;
    }
    /* Every message fits on its own, but this record's messages together do
     * not (the buffer must hold one record's worth of unconsumed messages). */
    if (total > r->cap)
        return IOTLS_ERR_HANDSHAKE_TOO_LARGE;

    memcpy(r->buf + r->len, data, len);
    r->len = total;
    reasm_grown(r);
    return IOTLS_OK;
}

static size_t reasm_limit(const iotls_hs_reasm *r)
{
    return r->max_msg != 0 && r->max_msg < r->cap ? r->max_msg : r->cap;
}

int iotls__hs_reasm_feed(iotls_hs_reasm *r, const uint8_t *data, size_t len, size_t *used,
                         uint8_t *type, const uint8_t **msg, size_t *msg_len)
{
    if (r == NULL || used == NULL || type == NULL || msg == NULL || msg_len == NULL ||
        (data == NULL && len > 0))
        return IOTLS_ERR_BAD_ARG;
    *used = 0;
    if (r->in_place)
        return reasm_feed_in_place(r, data, len, used, type, msg, msg_len);
    /* The message handed out last time is done with. */
    if (r->consumed > 0 && r->consumed == r->len) {
        r->len = 0;
        r->consumed = 0;
    }
    if (r->consumed != 0)
        return IOTLS_ERR_BAD_ARG; /* iotls__hs_reasm_add's leftovers: not mixed */
    if (len == 0)
        return r->len == 0 ? IOTLS_ERR_DECODE : 0;
    size_t limit = reasm_limit(r);
    if (r->len == 0 && len >= HS_HEADER_LEN) {
        size_t body = ((size_t)data[1] << 16) | ((size_t)data[2] << 8) | (size_t)data[3];
        if (HS_HEADER_LEN + body > limit)
            return IOTLS_ERR_HANDSHAKE_TOO_LARGE;
        if (len >= HS_HEADER_LEN + body) {
            /* Whole in this payload: no copy. */
            *type = data[0];
            *msg = data;
            *msg_len = HS_HEADER_LEN + body;
            *used = HS_HEADER_LEN + body;
            return 1;
        }
    }
    size_t take;
    if (r->len < HS_HEADER_LEN) {
        take = HS_HEADER_LEN - r->len < len ? HS_HEADER_LEN - r->len : len;
        if (take > r->cap)
            return IOTLS_ERR_HANDSHAKE_TOO_LARGE;
        memcpy(r->buf + r->len, data, take);
        r->len += take;
        reasm_grown(r);
        *used = take;
        if (r->len < HS_HEADER_LEN)
            return 0;
    }
    size_t body = ((size_t)r->buf[1] << 16) | ((size_t)r->buf[2] << 8) | (size_t)r->buf[3];
    size_t total = HS_HEADER_LEN + body;
    if (total > limit)
        return IOTLS_ERR_HANDSHAKE_TOO_LARGE;
    take = total - r->len < len - *used ? total - r->len : len - *used;
    if (take > 0)
        memcpy(r->buf + r->len, data + *used, take);
    r->len += take;
    reasm_grown(r);
    *used += take;
    if (r->len < total)
        return 0;
    *type = r->buf[0];
    *msg = r->buf;
    *msg_len = total;
    r->consumed = total;
    return 1;
}

int iotls__hs_reasm_next(iotls_hs_reasm *r, uint8_t *type, const uint8_t **msg, size_t *msg_len)
{
    if (r == NULL)
        return 0;
    size_t avail = r->len - r->consumed;
    if (avail < HS_HEADER_LEN)
        return 0;
    const uint8_t *p = r->buf + r->consumed;
    size_t body = ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | (size_t)p[3];
    if (avail - HS_HEADER_LEN < body)
        return 0;
    if (type != NULL)
        *type = p[0];
    if (msg != NULL)
        *msg = p;
    if (msg_len != NULL)
        *msg_len = HS_HEADER_LEN + body;
    r->consumed += HS_HEADER_LEN + body;
    return 1;
}

size_t iotls__hs_reasm_pending(const iotls_hs_reasm *r)
{
    return r != NULL ? r->len - r->consumed : 0;
}

void iotls__hs_reasm_wipe(iotls_hs_reasm *r)
{
    if (r == NULL)
        return;
    /* In place, the held bytes are in the caller's record buffer (cap 0),
     * which its owner wipes. */
    if (r->buf != NULL)
        iotls__wipe(r->buf, r->cap);
    r->len = 0;
    r->consumed = 0;
}

/* ---- fragmentation ---- */

int iotls__record_write_fragmented(iotls_record_cipher *rc, uint8_t content_type,
                                   const uint8_t *data, size_t len, size_t max_fragment,
                                   uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (rc == NULL || out_len == NULL || (data == NULL && len > 0) || max_fragment == 0 ||
        (out == NULL && out_cap > 0))
        return IOTLS_ERR_BAD_ARG;
    if (max_fragment > IOTLS_MAX_PLAINTEXT)
        max_fragment = IOTLS_MAX_PLAINTEXT;

    /* data must not overlap out. Size everything first: either all records are written or none, and
     * the sequence number only moves when they are. */
    size_t records = (len + max_fragment - 1) / max_fragment;
    size_t full = len / max_fragment;
    size_t rest = len % max_fragment;
    size_t per_full = iotls__record_sealed_len(rc, max_fragment, 0);
    if (full > 0 && per_full > SIZE_MAX / full)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    size_t need = full * per_full;
    if (rest > 0)
        need += iotls__record_sealed_len(rc, rest, 0);
    if (need > out_cap)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    /* Record i uses seq + i; none of them may reach 2^64-1. */
    if (rc->active && records > 0 && (uint64_t)records > UINT64_MAX - rc->seq)
        return IOTLS_ERR_INTERNAL;

    size_t written = 0;
    for (size_t off = 0; off < len;) {
        size_t chunk = len - off < max_fragment ? len - off : max_fragment;
        size_t rec_len = 0;
        int err = iotls__record_seal(rc, content_type, data + off, chunk, 0, out + written,
                                     out_cap - written, &rec_len);
        if (err != IOTLS_OK)
            return err; /* only a crypto failure can get here */
        written += rec_len;
        off += chunk;
    }
    *out_len = written;
    return IOTLS_OK;
}

int iotls__record_write_fragmented_in_place(iotls_record_cipher *rc, uint8_t content_type,
                                            uint8_t *buf, size_t len, size_t max_fragment,
                                            size_t cap, size_t *out_len)
{
    if (rc == NULL || out_len == NULL || buf == NULL || max_fragment == 0 || len == 0)
        return IOTLS_ERR_BAD_ARG;
    if (max_fragment > IOTLS_MAX_PLAINTEXT)
        max_fragment = IOTLS_MAX_PLAINTEXT;
    size_t records = (len + max_fragment - 1) / max_fragment;
    size_t per_full = iotls__record_sealed_len(rc, max_fragment, 0);
    size_t last = len - (records - 1) * max_fragment;
    if (records - 1 > SIZE_MAX / per_full)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    size_t need = (records - 1) * per_full + iotls__record_sealed_len(rc, last, 0);
    if (need > cap || IOTLS_RECORD_HEADER_LEN + len > cap)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    if (rc->active && (uint64_t)records > UINT64_MAX - rc->seq)
        return IOTLS_ERR_INTERNAL;
    /* Record i goes to buf + i * per_full; its content sits at
     * buf + 5 + i * max_fragment, at or before that record's own content
     * position, and after every earlier record's content: sealing from the
     * last record back, each move only covers bytes already used. */
    uint64_t seq0 = rc->seq;
    for (size_t i = records; i-- > 0;) {
        size_t chunk = i == records - 1 ? last : max_fragment;
        size_t rec_len = 0;
        rc->seq = seq0 + i;
        int err =
            iotls__record_seal(rc, content_type, buf + IOTLS_RECORD_HEADER_LEN + i * max_fragment,
                               chunk, 0, buf + i * per_full, cap - i * per_full, &rec_len);
        if (err != IOTLS_OK) {
            rc->seq = seq0;
            iotls__wipe(buf, cap);
            return err;
        }
    }
    if (rc->active)
        rc->seq = seq0 + records;
    else
        rc->seq = seq0;
    *out_len = need;
    return IOTLS_OK;
}
