/* ClientHello (RFC 8446 section 4.1.2) and the extensions only it carries. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ext_internal.h"
#include "iotls/error.h"
#include "iotls/features.h"

/* ---------------- iterators over validated lists ---------------- */

int iotls__key_share_next(iotls_bytes list, size_t *pos, iotls_key_share_entry *out)
{
    if (!list.p || *pos >= list.len)
        return 0;
    iotls_reader r;
    iotls__rd_init(&r, list.p + *pos, list.len - *pos);
    if (iotls__ext_read_key_share_entry(&r, out) != IOTLS_OK)
        return 0;
    *pos += r.pos;
    return 1;
}

int iotls__alpn_next(iotls_bytes list, size_t *pos, iotls_bytes *name)
{
    if (!list.p || *pos >= list.len)
        return 0;
    iotls_reader r;
    iotls__rd_init(&r, list.p + *pos, list.len - *pos);
    if (iotls__rd_vec8(&r, 1, 255, name) != IOTLS_OK)
        return 0;
    *pos += r.pos;
    return 1;
}

int iotls__psk_identity_next(iotls_bytes list, size_t *pos, iotls_bytes *identity,
                             uint32_t *obfuscated_age)
{
    if (!list.p || *pos >= list.len)
        return 0;
    iotls_reader r;
    iotls__rd_init(&r, list.p + *pos, list.len - *pos);
    if (iotls__rd_vec16(&r, 1, 0xFFFF, identity) != IOTLS_OK ||
        iotls__rd_u32(&r, obfuscated_age) != IOTLS_OK)
        return 0;
    *pos += r.pos;
    return 1;
}

int iotls__psk_binder_next(iotls_bytes list, size_t *pos, iotls_bytes *binder)
{
    if (!list.p || *pos >= list.len)
        return 0;
    iotls_reader r;
    iotls__rd_init(&r, list.p + *pos, list.len - *pos);
    if (iotls__rd_vec8(&r, 32, 255, binder) != IOTLS_OK)
        return 0;
    *pos += r.pos;
    return 1;
}

/* ---------------- extension_data parsers ---------------- */

/* ServerNameList (RFC 6066 section 3): only host_name entries have a known
 * syntax, so any other name type cannot be parsed; at most one host_name. */
static int parse_server_name(iotls_reader *data, iotls_bytes *host)
{
    iotls_reader list;
    int rc = iotls__rd_sub16(data, 1, 0xFFFF, &list);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc != IOTLS_OK)
        return rc;
    int have_host = 0;
    while (iotls__rd_remaining(&list) > 0) {
        uint8_t name_type;
        iotls_bytes name;
        rc = iotls__rd_u8(&list, &name_type);
        if (rc == IOTLS_OK)
            rc = iotls__rd_vec16(&list, 1, 0xFFFF, &name);
        if (rc != IOTLS_OK)
            return rc;
        if (name_type != 0)
            return IOTLS_ERR_DECODE;
        if (have_host)
            return IOTLS_ERR_ILLEGAL_PARAMETER;
        /* A NUL inside a host name would let "good.example\0.evil" compare
         * as something it is not in C string handling further up. */
        if (memchr(name.p, 0, name.len) != NULL)
            return IOTLS_ERR_DECODE;
        have_host = 1;
        *host = name;
    }
    return IOTLS_OK;
}

static int parse_supported_versions(iotls_reader *data, iotls_bytes *versions)
{
    int rc = iotls__rd_vec8(data, 2, 254, versions);
    if (rc != IOTLS_OK)
        return rc;
    if (versions->len % 2 != 0)
        return IOTLS_ERR_DECODE;
    return iotls__rd_done(data);
}

/* Resource limit on KeyShareEntry values in one ClientHello (more →
 * DECODE): real clients send one to three; the cap keeps the duplicate check
 * below cheap where a 64 KiB list of tiny entries would make it quadratic. */
#define MAX_KEY_SHARES 32

/* client_shares: well-formed entries, no group twice (RFC 8446 4.2.8:
 * servers may reject that with illegal_parameter; we do). */
static int parse_key_shares(iotls_reader *data, iotls_bytes *shares)
{
    int rc = iotls__rd_vec16(data, 0, 0xFFFF, shares);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc != IOTLS_OK)
        return rc;
    uint16_t groups[MAX_KEY_SHARES];
    size_t count = 0;
    iotls_reader r;
    iotls__rd_init(&r, shares->p, shares->len);
    while (iotls__rd_remaining(&r) > 0) {
        iotls_key_share_entry entry;
        rc = iotls__ext_read_key_share_entry(&r, &entry);
        if (rc != IOTLS_OK)
            return rc;
        for (size_t i = 0; i < count; i++) {
            if (groups[i] == entry.group)
                return IOTLS_ERR_ILLEGAL_PARAMETER;
        }
        if (count == MAX_KEY_SHARES)
            return IOTLS_ERR_DECODE;
        groups[count++] = entry.group;
    }
    return IOTLS_OK;
}

static int parse_alpn(iotls_reader *data, iotls_bytes *alpn)
{
    size_t count;
    int rc = iotls__rd_vec16(data, 2, 0xFFFF, alpn);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc == IOTLS_OK)
        rc = iotls__ext_check_alpn_list(*alpn, &count);
    return rc;
}

static int parse_cookie(iotls_reader *data, iotls_bytes *cookie)
{
    int rc = iotls__rd_vec16(data, 1, 0xFFFF, cookie);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    return rc;
}

/* certificate_authorities: DistinguishedName authorities<3..2^16-1>, each
 * opaque<1..2^16-1>. iotls does not use it; only the syntax is checked. */
static int parse_certificate_authorities(iotls_reader *data)
{
    iotls_reader list;
    int rc = iotls__rd_sub16(data, 3, 0xFFFF, &list);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    while (rc == IOTLS_OK && iotls__rd_remaining(&list) > 0) {
        iotls_bytes dn;
        rc = iotls__rd_vec16(&list, 1, 0xFFFF, &dn);
    }
    return rc;
}

/* OfferedPsks (RFC 8446 4.2.11). binders_offset gets the offset of the
 * binders vector's length prefix from the start of the message, whose body
 * starts at body. */
static int parse_pre_shared_key(iotls_reader *data, const uint8_t *body, iotls_client_hello *out)
{
    int rc = iotls__rd_vec16(data, 7, 0xFFFF, &out->psk_identities);
    if (rc != IOTLS_OK)
        return rc;
    const uint8_t *binders_prefix = data->p + data->pos;
    rc = iotls__rd_vec16(data, 33, 0xFFFF, &out->psk_binders);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    if (rc != IOTLS_OK)
        return rc;

    size_t identities = 0;
    iotls_reader r;
    iotls__rd_init(&r, out->psk_identities.p, out->psk_identities.len);
    while (iotls__rd_remaining(&r) > 0) {
        iotls_bytes identity;
        uint32_t age;
        rc = iotls__rd_vec16(&r, 1, 0xFFFF, &identity);
        if (rc == IOTLS_OK)
            rc = iotls__rd_u32(&r, &age);
        if (rc != IOTLS_OK)
            return rc;
        identities++;
    }
    size_t binders = 0;
    iotls__rd_init(&r, out->psk_binders.p, out->psk_binders.len);
    while (iotls__rd_remaining(&r) > 0) {
        iotls_bytes binder;
        rc = iotls__rd_vec8(&r, 32, 255, &binder);
        if (rc != IOTLS_OK)
            return rc;
        binders++;
    }
    if (identities != binders)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    out->binders_offset = IOTLS_HS_HEADER_LEN + (size_t)(binders_prefix - body);
    return IOTLS_OK;
}

static int parse_psk_modes(iotls_reader *data, iotls_bytes *modes)
{
    int rc = iotls__rd_vec8(data, 1, 255, modes);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(data);
    return rc;
}

static int parse_extension(uint16_t type, iotls_reader *data, const uint8_t *body,
                           iotls_client_hello *out)
{
    switch (type) {
    case IOTLS_EXT_SERVER_NAME:
        return parse_server_name(data, &out->server_name);
    case IOTLS_EXT_MAX_FRAGMENT_LENGTH:
        return iotls__ext_parse_max_fragment_length(data, &out->max_fragment_length);
    case IOTLS_EXT_SUPPORTED_GROUPS:
        return iotls__ext_parse_u16_list(data, 2, 0xFFFF, &out->supported_groups);
    case IOTLS_EXT_SIGNATURE_ALGORITHMS:
        return iotls__ext_parse_u16_list(data, 2, 0xFFFE, &out->signature_algorithms);
    case IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT:
        return iotls__ext_parse_u16_list(data, 2, 0xFFFE, &out->signature_algorithms_cert);
    case IOTLS_EXT_ALPN:
        return parse_alpn(data, &out->alpn);
    case IOTLS_EXT_RECORD_SIZE_LIMIT:
        return iotls__ext_parse_record_size_limit(data, &out->record_size_limit);
    case IOTLS_EXT_SUPPORTED_VERSIONS:
        return parse_supported_versions(data, &out->supported_versions);
    case IOTLS_EXT_KEY_SHARE:
        return parse_key_shares(data, &out->key_shares);
    case IOTLS_EXT_COOKIE:
        return parse_cookie(data, &out->cookie);
    case IOTLS_EXT_PSK_KEY_EXCHANGE_MODES:
        return parse_psk_modes(data, &out->psk_modes);
    case IOTLS_EXT_EARLY_DATA:
        out->early_data = 1;
        return iotls__ext_parse_empty(data);
    case IOTLS_EXT_POST_HANDSHAKE_AUTH:
        out->post_handshake_auth = 1;
        return iotls__ext_parse_empty(data);
    case IOTLS_EXT_CERTIFICATE_AUTHORITIES:
        return parse_certificate_authorities(data);
    case IOTLS_EXT_PRE_SHARED_KEY:
        return parse_pre_shared_key(data, body, out);
    default:
        /* padding, status_request and everything unknown: ignored. */
        return IOTLS_OK;
    }
}

int iotls__client_hello_parse(const uint8_t *body, size_t len, iotls_client_hello *out)
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
        rc = iotls__rd_vec8(&r, 0, 32, &out->session_id);
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec16(&r, 2, 0xFFFE, &out->cipher_suites);
    if (rc == IOTLS_OK && out->cipher_suites.len % 2 != 0)
        rc = IOTLS_ERR_DECODE;
    if (rc == IOTLS_OK)
        rc = iotls__rd_vec8(&r, 1, 255, &out->compression_methods);
    if (rc != IOTLS_OK)
        return rc;
    /* A TLS 1.2 ClientHello may end here; it then simply has no
     * supported_versions and the server answers protocol_version. For the
     * same reason the block's minimum is 0 rather than TLS 1.3's 8. */
    if (iotls__rd_remaining(&r) == 0)
        return IOTLS_OK;

    iotls_bytes block;
    rc = iotls__rd_vec16(&r, 0, 0xFFFF, &block);
    if (rc == IOTLS_OK)
        rc = iotls__rd_done(&r);
    if (rc != IOTLS_OK)
        return rc;

    iotls_ext_walker wk;
    iotls__ext_walk_start(&wk, block, IOTLS_HS_CLIENT_HELLO, 0);
    uint16_t type;
    iotls_reader data;
    while ((rc = iotls__ext_walk_next(&wk, &type, &data)) == 1) {
        if (out->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY))
            return IOTLS_ERR_ILLEGAL_PARAMETER; /* pre_shared_key was not last */
        rc = parse_extension(type, &data, body, out);
        if (rc != IOTLS_OK)
            return rc;
        out->exts_seen = wk.seen;
        out->last_ext_type = type;
    }
    return rc;
}

/* ---------------- writer ---------------- */

static int check_params(const iotls_client_hello_params *p)
{
    if (!p->random || p->session_id_len > 32 || (p->session_id_len > 0 && !p->session_id) ||
        !p->suites || p->suite_count == 0 || (p->group_count > 0 && !p->groups) ||
        (p->sig_alg_count > 0 && !p->sig_algs) || (p->share_count > 0 && !p->shares) ||
        (p->alpn && p->alpn_len < 2) || (p->cookie && p->cookie_len == 0) ||
        (p->record_size_limit != 0 && p->record_size_limit < 64) || p->max_fragment_length > 4)
        return IOTLS_ERR_BAD_ARG;
    if (p->server_name) {
        size_t name_len = strlen(p->server_name);
        if (name_len == 0 || name_len > 0xFFFF - 5)
            return IOTLS_ERR_BAD_ARG;
    }
    for (size_t i = 0; i < p->share_count; i++) {
        if (!p->shares[i].key || p->shares[i].key_len == 0)
            return IOTLS_ERR_BAD_ARG;
    }
    if (p->psks) {
        if (p->psk_count == 0)
            return IOTLS_ERR_BAD_ARG;
        for (size_t i = 0; i < p->psk_count; i++) {
            const iotls_psk_param *psk = &p->psks[i];
            if (!psk->identity || psk->identity_len == 0 || psk->binder_len < 32 ||
                psk->binder_len > 255)
                return IOTLS_ERR_BAD_ARG;
        }
    }
    return IOTLS_OK;
}

/* The order follows RFC 8448's traces, so tests can compare bytes; the one
 * rule that matters is pre_shared_key last (RFC 8446 4.2.11). */
int iotls__client_hello_write(iotls_writer *w, const iotls_client_hello_params *p,
                              size_t *binders_offset)
{
    int rc = check_params(p);
    if (rc != IOTLS_OK)
        return rc;
    if (p->psks && !binders_offset)
        return IOTLS_ERR_BAD_ARG;
    /* Features left out of the build (iotls/features.h) are refused, not
     * silently dropped from the message. */
    if ((!IOTLS_FEATURE_ANY_PSK && (p->psks || p->psk_ke || p->psk_dhe_ke)) ||
        (!IOTLS_FEATURE_EARLY_DATA && p->early_data) ||
        (!IOTLS_FEATURE_RECORD_SIZE && (p->record_size_limit || p->max_fragment_length)) ||
        (!IOTLS_FEATURE_ALPN && p->alpn))
        return IOTLS_ERR_UNSUPPORTED;

    size_t msg = iotls__msg_begin(w, IOTLS_HS_CLIENT_HELLO);
    iotls__wr_u16(w, IOTLS_TLS12);
    iotls__wr_bytes(w, p->random, 32);
    size_t vec = iotls__wr_vec_begin(w, 1);
    iotls__wr_bytes(w, p->session_id, p->session_id_len);
    iotls__wr_vec_end(w, vec, 1);
    iotls__ext_write_u16_vec(w, p->suites, p->suite_count);
    iotls__wr_u8(w, 1); /* compression_methods: null only */
    iotls__wr_u8(w, 0);

    size_t block = iotls__wr_vec_begin(w, 2);
    size_t ext;
    if (p->server_name) {
        size_t name_len = strlen(p->server_name);
        ext = iotls__ext_begin(w, IOTLS_EXT_SERVER_NAME);
        vec = iotls__wr_vec_begin(w, 2);
        iotls__wr_u8(w, 0); /* host_name */
        iotls__wr_u16(w, (uint16_t)name_len);
        iotls__wr_bytes(w, p->server_name, name_len);
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    if (p->group_count > 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_SUPPORTED_GROUPS);
        iotls__ext_write_u16_vec(w, p->groups, p->group_count);
        iotls__ext_end(w, ext);
    }
    if (p->group_count > 0 || p->share_count > 0) {
        /* With groups but no share, the empty list asks for an HRR. */
        ext = iotls__ext_begin(w, IOTLS_EXT_KEY_SHARE);
        vec = iotls__wr_vec_begin(w, 2);
        for (size_t i = 0; i < p->share_count; i++) {
            iotls__wr_u16(w, p->shares[i].group);
            size_t key = iotls__wr_vec_begin(w, 2);
            iotls__wr_bytes(w, p->shares[i].key, p->shares[i].key_len);
            iotls__wr_vec_end(w, key, 2);
        }
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    if (IOTLS_FEATURE_EARLY_DATA && p->early_data) {
        ext = iotls__ext_begin(w, IOTLS_EXT_EARLY_DATA);
        iotls__ext_end(w, ext);
    }
    ext = iotls__ext_begin(w, IOTLS_EXT_SUPPORTED_VERSIONS);
    iotls__wr_u8(w, 2);
    iotls__wr_u16(w, IOTLS_TLS13);
    iotls__ext_end(w, ext);
    if (p->sig_alg_count > 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_SIGNATURE_ALGORITHMS);
        iotls__ext_write_u16_vec(w, p->sig_algs, p->sig_alg_count);
        iotls__ext_end(w, ext);
    }
    if (p->sig_algs_cert) {
        ext = iotls__ext_begin(w, IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT);
        iotls__ext_write_u16_vec(w, p->sig_algs_cert, p->sig_alg_cert_count);
        iotls__ext_end(w, ext);
    }
    if (p->cookie) {
        ext = iotls__ext_begin(w, IOTLS_EXT_COOKIE);
        vec = iotls__wr_vec_begin(w, 2);
        iotls__wr_bytes(w, p->cookie, p->cookie_len);
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    if (IOTLS_FEATURE_ANY_PSK && (p->psk_dhe_ke || p->psk_ke)) {
        ext = iotls__ext_begin(w, IOTLS_EXT_PSK_KEY_EXCHANGE_MODES);
        vec = iotls__wr_vec_begin(w, 1);
        if (p->psk_dhe_ke)
            iotls__wr_u8(w, 1);
        if (p->psk_ke)
            iotls__wr_u8(w, 0);
        iotls__wr_vec_end(w, vec, 1);
        iotls__ext_end(w, ext);
    }
    if (IOTLS_FEATURE_RECORD_SIZE && p->record_size_limit != 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_RECORD_SIZE_LIMIT);
        iotls__wr_u16(w, p->record_size_limit);
        iotls__ext_end(w, ext);
    }
    if (IOTLS_FEATURE_RECORD_SIZE && p->max_fragment_length != 0) {
        ext = iotls__ext_begin(w, IOTLS_EXT_MAX_FRAGMENT_LENGTH);
        iotls__wr_u8(w, p->max_fragment_length);
        iotls__ext_end(w, ext);
    }
    if (IOTLS_FEATURE_ALPN && p->alpn) {
        ext = iotls__ext_begin(w, IOTLS_EXT_ALPN);
        vec = iotls__wr_vec_begin(w, 2);
        iotls__wr_bytes(w, p->alpn, p->alpn_len);
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    size_t binders_at = 0;
    if (IOTLS_FEATURE_ANY_PSK && p->psks) {
        ext = iotls__ext_begin(w, IOTLS_EXT_PRE_SHARED_KEY);
        vec = iotls__wr_vec_begin(w, 2);
        for (size_t i = 0; i < p->psk_count; i++) {
            size_t id = iotls__wr_vec_begin(w, 2);
            iotls__wr_bytes(w, p->psks[i].identity, p->psks[i].identity_len);
            iotls__wr_vec_end(w, id, 2);
            iotls__wr_u32(w, p->psks[i].obfuscated_age);
        }
        iotls__wr_vec_end(w, vec, 2);
        binders_at = w->len - msg;
        vec = iotls__wr_vec_begin(w, 2);
        for (size_t i = 0; i < p->psk_count; i++) {
            iotls__wr_u8(w, (uint8_t)p->psks[i].binder_len);
            iotls__wr_zeros(w, p->psks[i].binder_len);
        }
        iotls__wr_vec_end(w, vec, 2);
        iotls__ext_end(w, ext);
    }
    iotls__wr_vec_end(w, block, 2);
    iotls__msg_end(w, msg);
    rc = iotls__wr_error(w);
    if (rc == IOTLS_OK && binders_offset)
        *binders_offset = binders_at;
    return rc;
}

int iotls__client_hello_set_binder(uint8_t *msg, size_t msg_len, size_t binders_offset, size_t i,
                                   const uint8_t *binder, size_t binder_len)
{
    if (!msg || !binder || binders_offset > msg_len)
        return IOTLS_ERR_BAD_ARG;
    iotls_reader r;
    iotls_bytes list;
    iotls__rd_init(&r, msg + binders_offset, msg_len - binders_offset);
    if (iotls__rd_vec16(&r, 33, 0xFFFF, &list) != IOTLS_OK)
        return IOTLS_ERR_BAD_ARG;
    size_t pos = 0;
    iotls_bytes slot;
    for (size_t n = 0;; n++) {
        if (!iotls__psk_binder_next(list, &pos, &slot))
            return IOTLS_ERR_BAD_ARG;
        if (n == i)
            break;
    }
    if (slot.len != binder_len)
        return IOTLS_ERR_BAD_ARG;
    /* slot views msg, which the caller owns and may change. */
    memcpy(msg + (size_t)(slot.p - msg), binder, binder_len);
    return IOTLS_OK;
}
