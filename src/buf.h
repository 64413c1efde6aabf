/* Bounds-checked byte reader and writer: the only way the core parses or
 * encodes wire bytes. Every read checks the remaining length first; a failed
 * read leaves the reader where it was and returns IOTLS_ERR_DECODE. The
 * writer has a sticky error: once a write would overflow, every later write
 * is a no-op and iotls__wr_error() reports IOTLS_ERR_BUFFER_TOO_SMALL (or the
 * vector-length error), so encoders check once at the end. */
#ifndef IOTLS_BUF_H
#define IOTLS_BUF_H

#include <stddef.h>
#include <stdint.h>

/* A view into bytes owned by someone else (the input buffer, usually). */
typedef struct {
    const uint8_t *p;
    size_t len;
} iotls_bytes;

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
} iotls_reader;

void iotls__rd_init(iotls_reader *r, const uint8_t *p, size_t len);
size_t iotls__rd_remaining(const iotls_reader *r);
/* IOTLS_OK when everything was consumed, IOTLS_ERR_DECODE otherwise. */
int iotls__rd_done(const iotls_reader *r);
int iotls__rd_u8(iotls_reader *r, uint8_t *v);
int iotls__rd_u16(iotls_reader *r, uint16_t *v);
int iotls__rd_u24(iotls_reader *r, uint32_t *v);
int iotls__rd_u32(iotls_reader *r, uint32_t *v);
/* n bytes as a view (no copy). */
int iotls__rd_bytes(iotls_reader *r, size_t n, iotls_bytes *out);
/* n bytes copied into out. */
int iotls__rd_copy(iotls_reader *r, uint8_t *out, size_t n);
/* A vector with a 1/2/3-byte length prefix: out views its body. The body
 * length must lie in [min_len, max_len] (RFC 8446 <min..max> notation). */
int iotls__rd_vec8(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out);
int iotls__rd_vec16(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out);
int iotls__rd_vec24(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out);
/* Same, as a sub-reader over the body. */
int iotls__rd_sub8(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub);
int iotls__rd_sub16(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub);
int iotls__rd_sub24(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub);

typedef struct {
    uint8_t *p;
    size_t cap;
    size_t len;
    int err;
} iotls_writer;

void iotls__wr_init(iotls_writer *w, uint8_t *p, size_t cap);
int iotls__wr_error(const iotls_writer *w);
void iotls__wr_u8(iotls_writer *w, uint8_t v);
void iotls__wr_u16(iotls_writer *w, uint16_t v);
void iotls__wr_u24(iotls_writer *w, uint32_t v);
void iotls__wr_u32(iotls_writer *w, uint32_t v);
void iotls__wr_bytes(iotls_writer *w, const void *data, size_t n);
void iotls__wr_zeros(iotls_writer *w, size_t n);
/* Reserve n bytes and return where they start (NULL after an error), for
 * values computed after the surrounding bytes are written. */
uint8_t *iotls__wr_reserve(iotls_writer *w, size_t n);
/* Open a length-prefixed vector (prefix of 1, 2 or 3 bytes); returns a mark
 * for iotls__wr_vec_end, which fills the length in and checks it fits. */
size_t iotls__wr_vec_begin(iotls_writer *w, unsigned prefix_bytes);
void iotls__wr_vec_end(iotls_writer *w, size_t mark, unsigned prefix_bytes);

#endif
