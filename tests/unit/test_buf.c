/* Edges of the bounds-checked reader and writer every parser uses. */
#include <string.h>

#include "buf.h"
#include "iotls/error.h"
#include "testlib.h"

static void test_reader_ints(void)
{
    static const uint8_t in[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a};
    iotls_reader r;
    iotls__rd_init(&r, in, sizeof in);
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    CHECK_OK(iotls__rd_u8(&r, &u8));
    CHECK(u8 == 0x01);
    CHECK_OK(iotls__rd_u16(&r, &u16));
    CHECK(u16 == 0x0203);
    CHECK_OK(iotls__rd_u24(&r, &u32));
    CHECK(u32 == 0x040506);
    CHECK_OK(iotls__rd_u32(&r, &u32));
    CHECK(u32 == 0x0708090a);
    CHECK(iotls__rd_remaining(&r) == 0);
    CHECK_OK(iotls__rd_done(&r));
    /* Reading past the end fails and does not move. */
    CHECK_RC(iotls__rd_u8(&r, &u8), IOTLS_ERR_DECODE);
    CHECK(r.pos == sizeof in);

    iotls__rd_init(&r, in, 3);
    CHECK_RC(iotls__rd_u32(&r, &u32), IOTLS_ERR_DECODE);
    CHECK(r.pos == 0);
    CHECK_RC(iotls__rd_done(&r), IOTLS_ERR_DECODE);
    iotls__rd_init(&r, NULL, 5); /* a NULL input is empty whatever the length */
    CHECK(iotls__rd_remaining(&r) == 0);
    CHECK_RC(iotls__rd_u8(&r, &u8), IOTLS_ERR_DECODE);
}

static void test_reader_vectors(void)
{
    /* vec8 of 3 bytes, then vec16 of 2 bytes, then vec24 of 1 byte */
    static const uint8_t in[] = {3, 'a', 'b', 'c', 0, 2, 'd', 'e', 0, 0, 1, 'f'};
    iotls_reader r;
    iotls_bytes b;
    iotls__rd_init(&r, in, sizeof in);
    CHECK_OK(iotls__rd_vec8(&r, 1, 255, &b));
    CHECK(b.len == 3 && memcmp(b.p, "abc", 3) == 0);
    iotls_reader sub;
    CHECK_OK(iotls__rd_sub16(&r, 0, 65535, &sub));
    CHECK(iotls__rd_remaining(&sub) == 2);
    CHECK_OK(iotls__rd_vec24(&r, 1, 1, &b));
    CHECK(b.len == 1 && b.p[0] == 'f');
    CHECK_OK(iotls__rd_done(&r));

    /* Length over the remaining bytes: refused, position unchanged. */
    static const uint8_t over[] = {4, 'a', 'b', 'c'};
    iotls__rd_init(&r, over, sizeof over);
    CHECK_RC(iotls__rd_vec8(&r, 0, 255, &b), IOTLS_ERR_DECODE);
    CHECK(r.pos == 0);
    /* Bounds <min..max>. */
    iotls__rd_init(&r, in, sizeof in);
    CHECK_RC(iotls__rd_vec8(&r, 4, 255, &b), IOTLS_ERR_DECODE);
    CHECK_RC(iotls__rd_vec8(&r, 0, 2, &b), IOTLS_ERR_DECODE);
    CHECK(r.pos == 0);
    /* A length prefix cut short. */
    static const uint8_t short16[] = {0};
    iotls__rd_init(&r, short16, sizeof short16);
    CHECK_RC(iotls__rd_vec16(&r, 0, 65535, &b), IOTLS_ERR_DECODE);
    /* Zero-length vector. */
    static const uint8_t empty[] = {0, 0};
    iotls__rd_init(&r, empty, sizeof empty);
    CHECK_OK(iotls__rd_vec16(&r, 0, 10, &b));
    CHECK(b.len == 0);
    uint8_t copy[3];
    iotls__rd_init(&r, in + 1, 3);
    CHECK_OK(iotls__rd_copy(&r, copy, 3));
    CHECK(memcmp(copy, "abc", 3) == 0);
    CHECK_RC(iotls__rd_copy(&r, copy, 1), IOTLS_ERR_DECODE);
}

static void test_writer(void)
{
    uint8_t out[16];
    iotls_writer w;
    iotls__wr_init(&w, out, sizeof out);
    iotls__wr_u8(&w, 0x11);
    iotls__wr_u16(&w, 0x2233);
    iotls__wr_u24(&w, 0x445566);
    iotls__wr_u32(&w, 0x778899aa);
    CHECK_OK(iotls__wr_error(&w));
    CHECK_HEX(out, w.len, "11 2233 445566 778899aa");

    /* Vectors fill their length in at the end. */
    iotls__wr_init(&w, out, sizeof out);
    size_t m = iotls__wr_vec_begin(&w, 2);
    iotls__wr_bytes(&w, "xyz", 3);
    size_t m2 = iotls__wr_vec_begin(&w, 1);
    iotls__wr_zeros(&w, 2);
    iotls__wr_vec_end(&w, m2, 1);
    iotls__wr_vec_end(&w, m, 2);
    CHECK_OK(iotls__wr_error(&w));
    CHECK_HEX(out, w.len, "0006 78797a 02 0000");

    /* Overflow is sticky and nothing is written past the end. */
    uint8_t small[4] = {0xee, 0xee, 0xee, 0xee};
    iotls__wr_init(&w, small, 3);
    iotls__wr_u16(&w, 0x0102);
    iotls__wr_u16(&w, 0x0304); /* does not fit */
    CHECK_RC(iotls__wr_error(&w), IOTLS_ERR_BUFFER_TOO_SMALL);
    iotls__wr_u8(&w, 0x05); /* would fit, but the error is sticky */
    CHECK(w.len == 2);
    CHECK(small[2] == 0xee && small[3] == 0xee);
    CHECK(iotls__wr_reserve(&w, 1) == NULL);

    /* A vector longer than its prefix allows. */
    uint8_t big[300];
    iotls__wr_init(&w, big, sizeof big);
    m = iotls__wr_vec_begin(&w, 1);
    iotls__wr_zeros(&w, 256);
    iotls__wr_vec_end(&w, m, 1);
    CHECK_RC(iotls__wr_error(&w), IOTLS_ERR_BUFFER_TOO_SMALL);

    /* Exactly full is fine. */
    iotls__wr_init(&w, out, 4);
    iotls__wr_u32(&w, 1);
    CHECK_OK(iotls__wr_error(&w));
    CHECK(w.len == 4);
    /* A NULL buffer has no room. */
    iotls__wr_init(&w, NULL, 10);
    iotls__wr_u8(&w, 1);
    CHECK_RC(iotls__wr_error(&w), IOTLS_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    test_reader_ints();
    test_reader_vectors();
    test_writer();
    return tl_finish("buf");
}
