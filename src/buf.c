#include "buf.h"

#include <string.h>

#include "iotls/error.h"

void iotls__rd_init(iotls_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->len = p ? len : 0;
    r->pos = 0;
}

size_t iotls__rd_remaining(const iotls_reader *r)
{
    return r->len - r->pos;
}

int iotls__rd_done(const iotls_reader *r)
{
    return r->pos == r->len ? IOTLS_OK : IOTLS_ERR_DECODE;
}

static int read_uint(iotls_reader *r, size_t n, uint32_t *v)
{
    if (iotls__rd_remaining(r) < n)
        return IOTLS_ERR_DECODE;
    uint32_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = (x << 8) | r->p[r->pos + i];
    r->pos += n;
    *v = x;
    return IOTLS_OK;
}

int iotls__rd_u8(iotls_reader *r, uint8_t *v)
{
    uint32_t x;
    int rc = read_uint(r, 1, &x);
    if (rc == IOTLS_OK)
        *v = (uint8_t)x;
    return rc;
}

int iotls__rd_u16(iotls_reader *r, uint16_t *v)
{
    uint32_t x;
    int rc = read_uint(r, 2, &x);
    if (rc == IOTLS_OK)
        *v = (uint16_t)x;
    return rc;
}

int iotls__rd_u24(iotls_reader *r, uint32_t *v)
{
    return read_uint(r, 3, v);
}
int iotls__rd_u32(iotls_reader *r, uint32_t *v)
{
    return read_uint(r, 4, v);
}

int iotls__rd_bytes(iotls_reader *r, size_t n, iotls_bytes *out)
{
    if (iotls__rd_remaining(r) < n)
        return IOTLS_ERR_DECODE;
    out->p = r->p + r->pos;
    out->len = n;
    r->pos += n;
    return IOTLS_OK;
}

int iotls__rd_copy(iotls_reader *r, uint8_t *out, size_t n)
{
    iotls_bytes b;
    int rc = iotls__rd_bytes(r, n, &b);
    if (rc == IOTLS_OK && n > 0)
        memcpy(out, b.p, n);
    return rc;
}

static int read_vec(iotls_reader *r, size_t prefix, size_t min_len, size_t max_len,
                    iotls_bytes *out)
{
    size_t start = r->pos;
    uint32_t n;
    int rc = read_uint(r, prefix, &n);
    if (rc != IOTLS_OK)
        return rc;
    if (n < min_len || n > max_len || iotls__rd_remaining(r) < n) {
        r->pos = start;
        return IOTLS_ERR_DECODE;
    }
    return iotls__rd_bytes(r, n, out);
}

int iotls__rd_vec8(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out)
{
    return read_vec(r, 1, min_len, max_len, out);
}
int iotls__rd_vec16(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out)
{
    return read_vec(r, 2, min_len, max_len, out);
}
int iotls__rd_vec24(iotls_reader *r, size_t min_len, size_t max_len, iotls_bytes *out)
{
    return read_vec(r, 3, min_len, max_len, out);
}

static int read_sub(iotls_reader *r, size_t prefix, size_t min_len, size_t max_len,
                    iotls_reader *sub)
{
    iotls_bytes b;
    int rc = read_vec(r, prefix, min_len, max_len, &b);
    if (rc == IOTLS_OK)
        iotls__rd_init(sub, b.p, b.len);
    return rc;
}

int iotls__rd_sub8(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub)
{
    return read_sub(r, 1, min_len, max_len, sub);
}
int iotls__rd_sub16(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub)
{
    return read_sub(r, 2, min_len, max_len, sub);
}
int iotls__rd_sub24(iotls_reader *r, size_t min_len, size_t max_len, iotls_reader *sub)
{
    return read_sub(r, 3, min_len, max_len, sub);
}

void iotls__wr_init(iotls_writer *w, uint8_t *p, size_t cap)
{
    w->p = p;
    w->cap = p ? cap : 0;
    w->len = 0;
    w->err = IOTLS_OK;
}

int iotls__wr_error(const iotls_writer *w)
{
    return w->err;
}

uint8_t *iotls__wr_reserve(iotls_writer *w, size_t n)
{
    if (w->err != IOTLS_OK)
        return NULL;
    if (w->cap - w->len < n) {
        w->err = IOTLS_ERR_BUFFER_TOO_SMALL;
        return NULL;
    }
    uint8_t *at = w->p + w->len;
    w->len += n;
    return at;
}

static void write_uint(iotls_writer *w, size_t n, uint32_t v)
{
    uint8_t *at = iotls__wr_reserve(w, n);
    if (!at)
        return;
    for (size_t i = 0; i < n; i++)
        at[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void iotls__wr_u8(iotls_writer *w, uint8_t v)
{
    write_uint(w, 1, v);
}
void iotls__wr_u16(iotls_writer *w, uint16_t v)
{
    write_uint(w, 2, v);
}
void iotls__wr_u24(iotls_writer *w, uint32_t v)
{
    write_uint(w, 3, v);
}
void iotls__wr_u32(iotls_writer *w, uint32_t v)
{
    write_uint(w, 4, v);
}

void iotls__wr_bytes(iotls_writer *w, const void *data, size_t n)
{
    uint8_t *at = iotls__wr_reserve(w, n);
    if (at && n > 0)
        memcpy(at, data, n);
}

void iotls__wr_zeros(iotls_writer *w, size_t n)
{
    uint8_t *at = iotls__wr_reserve(w, n);
    if (at && n > 0)
        memset(at, 0, n);
}

size_t iotls__wr_vec_begin(iotls_writer *w, unsigned prefix_bytes)
{
    size_t mark = w->len;
    write_uint(w, prefix_bytes, 0);
    return mark;
}

void iotls__wr_vec_end(iotls_writer *w, size_t mark, unsigned prefix_bytes)
{
    if (w->err != IOTLS_OK)
        return;
    size_t body = w->len - mark - prefix_bytes;
    size_t max = prefix_bytes >= 3 ? 0xFFFFFFu : ((size_t)1 << (8 * prefix_bytes)) - 1;
    if (body > max) {
        w->err = IOTLS_ERR_BUFFER_TOO_SMALL;
        return;
    }
    for (unsigned i = 0; i < prefix_bytes; i++)
        w->p[mark + i] = (uint8_t)(body >> (8 * (prefix_bytes - 1 - i)));
}
