/* ServerHello and HelloRetryRequest (RFC 8446 sections 4.1.3, 4.1.4). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"

/* SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3. */
const uint8_t iotls_hrr_random[32] = {
    0xCF, 0x21, 0xAD, 0x74, 0xE5, 0x9A, 0x61, 0x11, 0xBE, 0x1D, 0x8C, 0x02, 0x1E, 0x65, 0xB8, 0x91,
    0xC2, 0xA2, 0x11, 0x16, 0x7A, 0xBB, 0x8C, 0x5E, 0x07, 0x9E, 0x09, 0xE2, 0xC8, 0xA8, 0x33, 0x9C,
};

static int parse_extension(uint16_t type, iotls_reader *data, iotls_server_hello *out)
{
    int rc;
    switch (type) {
    case IOTLS_EXT_SUPPORTED_VERSIONS:
        rc = iotls__rd_u16(data, &out->selected_version);
        break;
    case IOTLS_EXT_KEY_SHARE:
        if (out->is_hrr) {
            rc = iotls__rd_u16(data, &out->key_share_group);
        } else {
            iotls_key_share_entry entry;
            rc = iotls__ext_read_key_share_entry(data, &entry);
            if (rc == IOTLS_OK) {
                out->key_share_group = entry.group;
                out->key_share = entry.key_exchange;
            }
        }
        break;
    case IOTLS_EXT_COOKIE:
        rc = iotls__rd_vec16(data, 1, 0xFFFF, &out->cookie);
        break;
    case IOTLS_EXT_PRE_SHARED_KEY:
        rc = iotls__rd_u16(data, &out->selected_identity);
        break;
    default:
        /* The walker lets nothing else through for SH/HRR. */
        return IOTLS_ERR_UNSUPPORTED_EXTENSION;
    }
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    return rc;
}

/* Only a ServerHello with supported_versions speaks TLS 1.3. Anything else
 * is an older server answering (often with TLS 1.2 extensions such as
 * renegotiation_info); its extensions are checked for framing and
 * duplicates only, so the client state machine can answer with
 * protocol_version instead of a misleading unsupported_extension. */
int iotls__server_hello_parse(const uint8_t *body, size_t len, iotls_server_hello *out)
{
    if (!body && len > 0)
        return IOTLS_ERR_BAD_ARG;
    memset(out, 0, sizeof(*out));
    iotls_reader r;
    iotls__rd_init(&r, body, len);
    int rc = iotls__rd_u16(&r, &out->legacy_version);
    if (rc == IOTLS_OK)
        rc = iotls__rd_bytes(&r, 32, &out->random);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec8(&r, 0, 32, &out->session_id_echo);
    if (rc == IOTLS_OK)
        rc = iotls__rd_u16(&r, &out->cipher_suite);
    if (rc == IOTLS_OK)
        rc = iotls__rd_u8(&r, &out->compression_method);
    if (rc != IOTLS_OK)
        return rc;
    out->is_hrr = memcmp(out->random.p, iotls_hrr_random, 32) == 0;
    if (iotls__rd_remaining(&r) == 0)
        return IOTLS_OK; /* pre-TLS 1.3 server without extensions */
    iotls_bytes block;
    rc = iotls__rd_vec16(&r, 0, 0xFFFF, &block);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;

    iotls_ext_walker wk;
    uint16_t type;
    iotls_reader data;
    int tls13 = 0;
    iotls__ext_walk_start(&wk, block, IOTLS_HS_SERVER_HELLO, out->is_hrr);
    wk.check_legal = 0;
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        if (type == IOTLS_EXT_SUPPORTED_VERSIONS)
            tls13 = 1;
    }
    if (rc != 0)
        return rc;
    out->exts_seen = wk.seen;
    if (!tls13)
        return IOTLS_OK;

    iotls__ext_walk_start(&wk, block, IOTLS_HS_SERVER_HELLO, out->is_hrr);
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        rc = parse_extension(type, &data, out);
        if (rc != IOTLS_OK)
            return rc;
    }
    return rc;
}

int iotls__server_hello_write(iotls_writer *w, const iotls_server_hello_params *p)
{
    if ((!p->is_hrr && !p->random) || p->session_id_len > 32 ||
        (p->session_id_len > 0 && !p->session_id_echo) ||
        (!p->is_hrr && p->key_share_group != 0 && (!p->key_share || p->key_share_len == 0)) ||
        (p->is_hrr && p->cookie && p->cookie_len == 0) || (p->is_hrr && p->has_psk))
        return IOTLS_ERR_BAD_ARG;

    size_t msg = iotls__msg_begin(w, IOTLS_HS_SERVER_HELLO);
    iotls__wr_u16(w, IOTLS_TLS12);
    iotls__wr_bytes(w, p->is_hrr ? iotls_hrr_random : p->random, 32);
    size_t vec = iotls__wr_vec_begin(w, 1);
    iotls__wr_bytes(w, p->session_id_echo, p->session_id_len);
    iotls__wr_vec_end(w, vec, 1);
    iotls__wr_u16(w, p->cipher_suite);
    iotls__wr_u8(w, 0);

    /* Order as in RFC 8448's traces. */
    size_t block = iotls__wr_vec_begin(w, 2);
    size_t ext;
    if (p->has_psk) {
        ext = iotls__ext_begin(w, IOTLS_EXT_PRE_SHARED_KEY);
        iotls__wr_u16(w, p->selected_identity);
        iotls__ext_end(w, ext);
    }
    if (p->key_share_group != 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_KEY_SHARE);
        iotls__wr_u16(w, p->key_share_group);
        if (!p->is_hrr) {
            vec = iotls__wr_vec_begin(w, 2);
            iotls__wr_bytes(w, p->key_share, p->key_share_len);
            iotls__wr_vec_end(w, vec, 2);
        }
        iotls__ext_end(w, ext);
    }
    if (p->is_hrr && p->cookie) {
        ext = iotls__ext_begin(w, IOTLS_EXT_COOKIE);
        vec = iotls__wr_vec_begin(w, 2);
        iotls__wr_bytes(w, p->cookie, p->cookie_len);
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    ext = iotls__ext_begin(w, IOTLS_EXT_SUPPORTED_VERSIONS);
    iotls__wr_u16(w, IOTLS_TLS13);
    iotls__ext_end(w, ext);
    iotls__wr_vec_end(w, block, 2);
    iotls__msg_end(w, msg);
    return iotls__wr_error(w);
}
