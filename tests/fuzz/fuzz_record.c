/* libFuzzer target for the record layer (src/record.c).
 *
 * Byte 0 of the input picks the mode: bits 0-1 the AEAD (AES-128-GCM,
 * AES-256-GCM, ChaCha20-Poly1305), bit 2 whether the read side is
 * protected (a fixed key and IV) or still plaintext, bit 3 whether the
 * rest is a sequence of records or of reassembler chunks.
 *
 * Records: each is parsed with iotls__record_header and, when whole, opened
 * from an exact-size copy; handshake payloads go to the reassembler. Every
 * record that opens is sealed again with the same key under a second
 * cipher state and opened back: the content type and bytes must survive.
 * Chunks: a length byte then that many bytes, each appended to the
 * reassembler (whose buffer is exactly sized), draining whole messages
 * after each. Messages handed out must have the length their header says.
 * Bit 4 (with bit 3): the chunks go to the reassembler in place, as the
 * receive path that reassembles in its record buffer feeds it: each chunk
 * joined right behind the part held at the front of an exactly sized
 * buffer, the input's end when it does not fit (the engine refuses that
 * record), messages handed out from inside that buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotls/error.h"
#include "record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_record: %s:%d: %s\n", __FILE__, __LINE__, #cond);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define REASM_CAP 4096

static const uint8_t fixed_key[32] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f,
    0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f};
static const uint8_t fixed_iv[IOTLS_AEAD_NONCE_LEN] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                                                       0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

static void drain(iotls_hs_reasm *r)
{
    uint8_t type;
    const uint8_t *msg;
    size_t msg_len;
    while (iotls__hs_reasm_next(r, &type, &msg, &msg_len)) {
        REQUIRE(msg_len >= 4 && msg[0] == type);
        REQUIRE(msg_len - 4 == ((size_t)msg[1] << 16 | (size_t)msg[2] << 8 | msg[3]));
        REQUIRE(msg_len <= REASM_CAP);
    }
}

static void reseal(iotls_aead_alg alg, int protect, uint8_t type, const uint8_t *content,
                   size_t len, size_t pad_len)
{
    static uint8_t out[IOTLS_MAX_RECORD];
    iotls_record_cipher wr, rd;
    memset(&wr, 0, sizeof wr);
    memset(&rd, 0, sizeof rd);
    size_t key_len = iotls__aead_key_len(alg);
    if (protect) {
        REQUIRE(iotls__record_cipher_init(&wr, alg, fixed_key, key_len, fixed_iv) == IOTLS_OK);
        REQUIRE(iotls__record_cipher_init(&rd, alg, fixed_key, key_len, fixed_iv) == IOTLS_OK);
        if (type == IOTLS_CT_CHANGE_CIPHER_SPEC)
            goto out; /* never protected */
    } else {
        pad_len = 0;
    }
    size_t rec_len = 0;
    int rc = iotls__record_seal(&wr, type, content, len, pad_len, out, sizeof out, &rec_len);
    if (rc == IOTLS_ERR_BAD_ARG)
        goto out; /* content + padding over the limit */
    REQUIRE(rc == IOTLS_OK);
    REQUIRE(rec_len == iotls__record_sealed_len(&wr, len, pad_len));
    uint8_t *copy = malloc(rec_len);
    REQUIRE(copy != NULL);
    memcpy(copy, out, rec_len);
    uint8_t type2;
    uint8_t *content2;
    size_t len2;
    rc = iotls__record_open(&rd, copy, rec_len, &type2, &content2, &len2);
    if (len == 0 && protect && type != IOTLS_CT_APPLICATION_DATA) {
        /* Empty protected non-application records are the caller's call. */
    } else {
        REQUIRE(rc == IOTLS_OK);
    }
    if (rc == IOTLS_OK)
        REQUIRE(type2 == type && len2 == len && (len == 0 || memcmp(content2, content, len) == 0));
    free(copy);
out:
    iotls__record_cipher_free(&wr);
    iotls__record_cipher_free(&rd);
}

static void records(iotls_aead_alg alg, int protect, const uint8_t *p, size_t len,
                    iotls_hs_reasm *reasm)
{
    iotls_record_cipher rd;
    memset(&rd, 0, sizeof rd);
    if (protect)
        REQUIRE(iotls__record_cipher_init(&rd, alg, fixed_key, iotls__aead_key_len(alg),
                                          fixed_iv) == IOTLS_OK);
    while (len > 0) {
        uint8_t type = 0;
        size_t body_len = 0;
        int rc = iotls__record_header(p, len, protect, &type, &body_len);
        if (rc != IOTLS_OK)
            break;
        REQUIRE(body_len <= IOTLS_MAX_CIPHERTEXT);
        size_t rec_len = IOTLS_RECORD_HEADER_LEN + body_len;
        if (rec_len > len)
            break;
        uint8_t *copy = malloc(rec_len);
        REQUIRE(copy != NULL);
        memcpy(copy, p, rec_len);
        uint8_t ctype;
        uint8_t *content;
        size_t content_len;
        rc = iotls__record_open(&rd, copy, rec_len, &ctype, &content, &content_len);
        if (rc == IOTLS_OK) {
            REQUIRE(content_len <= IOTLS_MAX_PLAINTEXT);
            REQUIRE(content_len == 0 ||
                    (content >= copy && content + content_len <= copy + rec_len));
            reseal(alg, protect, ctype, content, content_len, body_len & 0xff);
            if (ctype == IOTLS_CT_HANDSHAKE) {
                if (iotls__hs_reasm_add(reasm, content, content_len) == IOTLS_OK)
                    drain(reasm);
            }
        }
        free(copy);
        p += rec_len;
        len -= rec_len;
    }
    iotls__record_cipher_free(&rd);
}

static void chunks(const uint8_t *p, size_t len, iotls_hs_reasm *reasm)
{
    while (len > 0) {
        size_t n = p[0];
        p++;
        len--;
        if (n > len)
            n = len;
        uint8_t *copy = malloc(n ? n : 1);
        REQUIRE(copy != NULL);
        memcpy(copy, p, n);
        int rc = iotls__hs_reasm_add(reasm, copy, n);
        free(copy);
        if (n == 0)
            REQUIRE(rc != IOTLS_OK);
        if (rc != IOTLS_OK)
            break;
        drain(reasm);
        REQUIRE(iotls__hs_reasm_pending(reasm) <= REASM_CAP);
        p += n;
        len -= n;
    }
}

#define RX_CAP 1024

static void chunks_in_place(const uint8_t *p, size_t len)
{
    uint8_t *rx = malloc(RX_CAP);
    REQUIRE(rx != NULL);
    iotls_hs_reasm r;
    iotls__hs_reasm_init_in_place(&r, rx, RX_CAP - 5);
    while (len > 0) {
        size_t n = p[0];
        p++;
        len--;
        if (n > len)
            n = len;
        size_t front = iotls__hs_reasm_pending(&r);
        if (front + n > RX_CAP)
            break;
        memcpy(rx + front, p, n);
        p += n;
        len -= n;
        size_t pos = 0;
        int rc = 0;
        do {
            uint8_t type;
            const uint8_t *msg;
            size_t msg_len, used = 0;
            rc = iotls__hs_reasm_feed(&r, rx + front + pos, n - pos, &used, &type, &msg, &msg_len);
            if (rc < 0)
                break;
            REQUIRE(used <= n - pos && (used > 0 || n == pos));
            pos += used;
            if (rc == 1) {
                REQUIRE(msg >= rx && msg + msg_len <= rx + front + n);
                REQUIRE(msg_len == 4 + (((size_t)msg[1] << 16) | ((size_t)msg[2] << 8) | msg[3]));
                REQUIRE(type == msg[0] && iotls__hs_reasm_pending(&r) == 0);
            }
        } while (rc == 1 && pos < n);
        if (rc < 0)
            break;
        REQUIRE(pos == n && iotls__hs_reasm_pending(&r) < RX_CAP - 5);
    }
    free(rx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    /* CCM_8: the one AEAD whose tag is 8 bytes, not 16. */
    static const iotls_aead_alg algs[4] = {IOTLS_AEAD_AES_128_CCM_8, IOTLS_AEAD_AES_128_GCM,
                                           IOTLS_AEAD_AES_256_GCM, IOTLS_AEAD_CHACHA20_POLY1305};
    iotls_aead_alg alg = algs[data[0] & 3];
    int protect = (data[0] >> 2) & 1;
    uint8_t *reasm_buf = malloc(REASM_CAP);
    REQUIRE(reasm_buf != NULL);
    iotls_hs_reasm reasm;
    iotls__hs_reasm_init(&reasm, reasm_buf, REASM_CAP);
    if ((data[0] & 24) == 24)
        chunks_in_place(data + 1, size - 1);
    else if (data[0] & 8)
        chunks(data + 1, size - 1, &reasm);
    else
        records(alg, protect, data + 1, size - 1, &reasm);
    iotls__hs_reasm_wipe(&reasm);
    free(reasm_buf);
    return 0;
}
