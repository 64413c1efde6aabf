/* libFuzzer target for every handshake message parser in src/msg/.
 *
 * The input is a handshake message as it comes off the wire: its first byte
 * (the handshake type) picks the parser, bytes 1..3 (the length) are
 * ignored so the fuzzer does not have to keep them right, and the rest is
 * the body. An unknown type runs every parser on the body. Besides "no
 * crash, no over-read", each successful parse is checked against the
 * writers: writing the parsed fields and parsing that again must give the
 * same fields (byte for byte the same message for the ones whose encoding
 * is canonical: Certificate, CertificateVerify, Finished, KeyUpdate). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iotls/error.h"
#include "msg/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_msg: %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Large enough for any rewrite of a body of up to 2^24 bytes is not needed:
 * every field we write back came from a message of at most this size plus
 * a few fixed extensions. */
#define OUT_CAP (1u << 18)
static uint8_t out_buf[OUT_CAP];

static int same(iotls_bytes a, iotls_bytes b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static int parse_ok(int rc)
{
    /* Parsers only ever fail with codes that name an alert. */
    REQUIRE(rc == IOTLS_OK || rc == IOTLS_ERR_DECODE || rc == IOTLS_ERR_ILLEGAL_PARAMETER ||
            rc == IOTLS_ERR_UNSUPPORTED_EXTENSION || rc == IOTLS_ERR_MISSING_EXTENSION);
    return rc == IOTLS_OK;
}

static size_t u16_array(iotls_bytes list, uint16_t **out)
{
    size_t n = iotls__u16_list_count(list);
    *out = malloc((n ? n : 1) * sizeof(uint16_t));
    REQUIRE(*out != NULL);
    for (size_t i = 0; i < n; i++)
        (*out)[i] = iotls__u16_list_get(list, i);
    return n;
}

/* ---------------- ClientHello ---------------- */

static void client_hello(const uint8_t *msg, size_t msg_len)
{
    const uint8_t *body = msg + 4;
    size_t len = msg_len - 4;
    iotls_client_hello ch;
    if (!parse_ok(iotls__client_hello_parse(body, len, &ch)))
        return;

    iotls_client_hello_params p;
    memset(&p, 0, sizeof(p));
    uint16_t *suites, *groups, *sig_algs, *sig_algs_cert;
    p.random = ch.random.p;
    p.session_id = ch.session_id.p;
    p.session_id_len = ch.session_id.len;
    p.suite_count = u16_array(ch.cipher_suites, &suites);
    p.suites = suites;
    p.group_count = u16_array(ch.supported_groups, &groups);
    p.groups = groups;
    p.sig_alg_count = u16_array(ch.signature_algorithms, &sig_algs);
    p.sig_algs = sig_algs;
    p.sig_alg_cert_count = u16_array(ch.signature_algorithms_cert, &sig_algs_cert);
    if (ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT))
        p.sig_algs_cert = sig_algs_cert;

    char *name = NULL;
    if (ch.server_name.len) {
        REQUIRE(memchr(ch.server_name.p, 0, ch.server_name.len) == NULL);
        name = malloc(ch.server_name.len + 1);
        REQUIRE(name != NULL);
        memcpy(name, ch.server_name.p, ch.server_name.len);
        name[ch.server_name.len] = 0;
        p.server_name = name;
    }

    size_t pos = 0, n = 0;
    iotls_key_share_entry e;
    while (iotls__key_share_next(ch.key_shares, &pos, &e))
        n++;
    REQUIRE(pos == ch.key_shares.len);
    iotls_key_share_param *shares = malloc((n ? n : 1) * sizeof(*shares));
    REQUIRE(shares != NULL);
    pos = 0;
    for (size_t i = 0; i < n; i++) {
        REQUIRE(iotls__key_share_next(ch.key_shares, &pos, &e));
        shares[i].group = e.group;
        shares[i].key = e.key_exchange.p;
        shares[i].key_len = e.key_exchange.len;
    }
    p.shares = shares;
    p.share_count = n;

    iotls_bytes alpn_name;
    pos = 0;
    while (iotls__alpn_next(ch.alpn, &pos, &alpn_name))
        REQUIRE(alpn_name.len >= 1);
    REQUIRE(pos == ch.alpn.len);
    if (ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN)) {
        p.alpn = ch.alpn.p;
        p.alpn_len = ch.alpn.len;
    }
    if (ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE)) {
        p.cookie = ch.cookie.p;
        p.cookie_len = ch.cookie.len;
    }
    p.record_size_limit = ch.record_size_limit;
    p.early_data = ch.early_data;
    /* Only the two defined modes can be written back. */
    int other_modes = 0;
    for (size_t i = 0; i < ch.psk_modes.len; i++) {
        if (ch.psk_modes.p[i] == 1)
            p.psk_dhe_ke = 1;
        else if (ch.psk_modes.p[i] == 0)
            p.psk_ke = 1;
        else
            other_modes = 1;
    }

    iotls_psk_param *psks = NULL;
    if (ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) {
        REQUIRE(ch.last_ext_type == IOTLS_EXT_PRE_SHARED_KEY);
        REQUIRE(ch.binders_offset + 2 + ch.psk_binders.len == msg_len);
        REQUIRE(msg + ch.binders_offset + 2 == ch.psk_binders.p);
        size_t ipos = 0, bpos = 0, count = 0;
        iotls_bytes id, binder;
        uint32_t age;
        while (iotls__psk_identity_next(ch.psk_identities, &ipos, &id, &age))
            count++;
        REQUIRE(ipos == ch.psk_identities.len && count > 0);
        psks = malloc(count * sizeof(*psks));
        REQUIRE(psks != NULL);
        ipos = 0;
        for (size_t i = 0; i < count; i++) {
            REQUIRE(iotls__psk_identity_next(ch.psk_identities, &ipos, &id, &age));
            REQUIRE(iotls__psk_binder_next(ch.psk_binders, &bpos, &binder));
            psks[i].identity = id.p;
            psks[i].identity_len = id.len;
            psks[i].obfuscated_age = age;
            psks[i].binder_len = binder.len;
            /* Patching a binder with its own bytes changes nothing. */
            uint8_t *copy = malloc(msg_len);
            REQUIRE(copy != NULL);
            memcpy(copy, msg, msg_len);
            uint8_t saved[255];
            memcpy(saved, binder.p, binder.len);
            REQUIRE(iotls__client_hello_set_binder(copy, msg_len, ch.binders_offset, i, saved,
                                                   binder.len) == IOTLS_OK);
            REQUIRE(memcmp(copy, msg, msg_len) == 0);
            free(copy);
        }
        REQUIRE(!iotls__psk_binder_next(ch.psk_binders, &bpos, &binder));
        p.psks = psks;
        p.psk_count = count;
    }

    iotls_writer w;
    size_t binders_offset = 0;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    int rc = iotls__client_hello_write(&w, &p, &binders_offset);
    /* The rewrite adds supported_versions and may outgrow a 2^16 block. */
    REQUIRE(rc == IOTLS_OK || rc == IOTLS_ERR_BUFFER_TOO_SMALL);
    if (rc == IOTLS_OK) {
        iotls_client_hello again;
        REQUIRE(w.len >= 4);
        REQUIRE(iotls__client_hello_parse(out_buf + 4, w.len - 4, &again) == IOTLS_OK);
        REQUIRE(same(again.random, ch.random) && same(again.session_id, ch.session_id));
        REQUIRE(same(again.cipher_suites, ch.cipher_suites));
        REQUIRE(same(again.server_name, ch.server_name));
        REQUIRE(same(again.supported_groups, ch.supported_groups));
        REQUIRE(same(again.signature_algorithms, ch.signature_algorithms));
        REQUIRE(same(again.signature_algorithms_cert, ch.signature_algorithms_cert));
        REQUIRE(same(again.key_shares, ch.key_shares));
        REQUIRE(same(again.alpn, ch.alpn) && same(again.cookie, ch.cookie));
        REQUIRE(same(again.psk_identities, ch.psk_identities));
        REQUIRE(again.psk_binders.len == ch.psk_binders.len);
        REQUIRE(again.record_size_limit == ch.record_size_limit);
        REQUIRE(again.early_data == ch.early_data);
        REQUIRE(again.binders_offset == binders_offset);
        if (!other_modes)
            REQUIRE(again.psk_modes.len <= ch.psk_modes.len);
        REQUIRE(iotls__u16_list_contains(again.supported_versions, IOTLS_TLS13));
    }
    free(psks);
    free(shares);
    free(name);
    free(suites);
    free(groups);
    free(sig_algs);
    free(sig_algs_cert);
}

/* ---------------- ServerHello ---------------- */

static void server_hello(const uint8_t *body, size_t len)
{
    iotls_server_hello sh;
    if (!parse_ok(iotls__server_hello_parse(body, len, &sh)))
        return;
    REQUIRE(sh.random.len == 32);
    REQUIRE(sh.is_hrr == (memcmp(sh.random.p, iotls_hrr_random, 32) == 0));
    if (sh.selected_version == 0)
        return; /* not TLS 1.3: nothing iotls would write */
    REQUIRE(sh.is_hrr ? sh.key_share.len == 0 : sh.cookie.len == 0);
    iotls_server_hello_params p = {
        .random = sh.random.p,
        .is_hrr = sh.is_hrr,
        .session_id_echo = sh.session_id_echo.p,
        .session_id_len = sh.session_id_echo.len,
        .cipher_suite = sh.cipher_suite,
        .key_share_group = sh.key_share_group,
        .key_share = sh.key_share.p,
        .key_share_len = sh.key_share.len,
        .cookie = sh.cookie.len ? sh.cookie.p : NULL,
        .cookie_len = sh.cookie.len,
        .has_psk = (sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) != 0,
        .selected_identity = sh.selected_identity,
    };
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    int rc = iotls__server_hello_write(&w, &p);
    /* A key_share for group 0 cannot be written (0 means "none"). */
    if (sh.key_share_group == 0 && (sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE)))
        return;
    REQUIRE(rc == IOTLS_OK || rc == IOTLS_ERR_BUFFER_TOO_SMALL);
    if (rc != IOTLS_OK)
        return;
    iotls_server_hello again;
    REQUIRE(iotls__server_hello_parse(out_buf + 4, w.len - 4, &again) == IOTLS_OK);
    REQUIRE(again.is_hrr == sh.is_hrr && same(again.random, sh.random));
    REQUIRE(same(again.session_id_echo, sh.session_id_echo));
    REQUIRE(again.cipher_suite == sh.cipher_suite && again.selected_version == IOTLS_TLS13);
    REQUIRE(again.key_share_group == sh.key_share_group && same(again.key_share, sh.key_share));
    REQUIRE(same(again.cookie, sh.cookie) && again.selected_identity == sh.selected_identity);
    REQUIRE(again.exts_seen == sh.exts_seen);
}

/* ---------------- the rest ---------------- */

static void encrypted_extensions(const uint8_t *body, size_t len)
{
    iotls_encrypted_extensions ee;
    if (!parse_ok(iotls__encrypted_extensions_parse(body, len, &ee)))
        return;
    uint16_t *groups;
    size_t group_count = u16_array(ee.supported_groups, &groups);
    iotls_encrypted_extensions_params p = {
        .alpn = ee.alpn.len ? ee.alpn.p : NULL,
        .alpn_len = ee.alpn.len,
        .server_name_ack = ee.server_name_ack,
        .early_data = ee.early_data,
        .record_size_limit = ee.record_size_limit,
        .max_fragment_length = ee.max_fragment_length,
        .groups = group_count ? groups : NULL,
        .group_count = group_count,
    };
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    int rc = iotls__encrypted_extensions_write(&w, &p);
    REQUIRE(rc == IOTLS_OK || rc == IOTLS_ERR_BUFFER_TOO_SMALL);
    if (rc == IOTLS_OK) {
        iotls_encrypted_extensions again;
        REQUIRE(iotls__encrypted_extensions_parse(out_buf + 4, w.len - 4, &again) == IOTLS_OK);
        REQUIRE(again.exts_seen == ee.exts_seen && same(again.alpn, ee.alpn));
        REQUIRE(again.server_name_ack == ee.server_name_ack && again.early_data == ee.early_data);
        REQUIRE(again.record_size_limit == ee.record_size_limit);
        REQUIRE(again.max_fragment_length == ee.max_fragment_length);
        REQUIRE(same(again.supported_groups, ee.supported_groups));
    }
    free(groups);
}

static void certificate_request(const uint8_t *body, size_t len)
{
    iotls_certificate_request cr;
    if (!parse_ok(iotls__certificate_request_parse(body, len, &cr)))
        return;
    uint16_t *algs;
    size_t n = u16_array(cr.signature_algorithms, &algs);
    REQUIRE(n > 0);
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    REQUIRE(iotls__certificate_request_write(&w, cr.context.p, cr.context.len, algs, n) ==
            IOTLS_OK);
    iotls_certificate_request again;
    REQUIRE(iotls__certificate_request_parse(out_buf + 4, w.len - 4, &again) == IOTLS_OK);
    REQUIRE(same(again.context, cr.context));
    REQUIRE(same(again.signature_algorithms, cr.signature_algorithms));
    free(algs);
}

static void certificate(const uint8_t *body, size_t len)
{
    iotls_certificate cert;
    if (!parse_ok(iotls__certificate_parse(body, len, &cert)))
        return;
    const uint8_t **ders = malloc((cert.count ? cert.count : 1) * sizeof(*ders));
    size_t *lens = malloc((cert.count ? cert.count : 1) * sizeof(*lens));
    REQUIRE(ders && lens);
    size_t pos = 0, n = 0;
    iotls_bytes der;
    while (iotls__certificate_next(cert.certificate_list, &pos, &der)) {
        REQUIRE(n < cert.count && der.len > 0);
        ders[n] = der.p;
        lens[n++] = der.len;
    }
    REQUIRE(n == cert.count && pos == cert.certificate_list.len);
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    int rc = iotls__certificate_write(&w, cert.context.p, cert.context.len, ders, lens, n);
    REQUIRE(rc == IOTLS_OK || (rc == IOTLS_ERR_BUFFER_TOO_SMALL && len + 4 > sizeof(out_buf)));
    if (rc == IOTLS_OK)
        REQUIRE(w.len == len + 4 && memcmp(out_buf + 4, body, len) == 0);
    free(ders);
    free(lens);
}

static void certificate_verify(const uint8_t *body, size_t len)
{
    iotls_certificate_verify cv;
    if (!parse_ok(iotls__certificate_verify_parse(body, len, &cv)))
        return;
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    REQUIRE(iotls__certificate_verify_write(&w, cv.scheme, cv.signature.p, cv.signature.len) ==
            IOTLS_OK);
    REQUIRE(w.len == len + 4 && memcmp(out_buf + 4, body, len) == 0);
}

static void finished(const uint8_t *body, size_t len)
{
    static const size_t hash_lens[] = {32, 48};
    for (size_t i = 0; i < 2; i++) {
        iotls_bytes vd;
        if (!parse_ok(iotls__finished_parse(body, len, hash_lens[i], &vd)))
            continue;
        iotls_writer w;
        iotls__wr_init(&w, out_buf, sizeof(out_buf));
        REQUIRE(iotls__finished_write(&w, vd.p, vd.len) == IOTLS_OK);
        REQUIRE(w.len == len + 4 && memcmp(out_buf + 4, body, len) == 0);
    }
}

static void new_session_ticket(const uint8_t *body, size_t len)
{
    iotls_new_session_ticket nst;
    if (!parse_ok(iotls__new_session_ticket_parse(body, len, &nst)))
        return;
    REQUIRE(nst.lifetime <= 604800 && nst.ticket.len > 0);
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    REQUIRE(iotls__new_session_ticket_write(&w, nst.lifetime, nst.age_add, nst.nonce.p,
                                            nst.nonce.len, nst.ticket.p, nst.ticket.len,
                                            nst.max_early_data) == IOTLS_OK);
    iotls_new_session_ticket again;
    REQUIRE(iotls__new_session_ticket_parse(out_buf + 4, w.len - 4, &again) == IOTLS_OK);
    REQUIRE(again.lifetime == nst.lifetime && again.age_add == nst.age_add);
    REQUIRE(same(again.nonce, nst.nonce) && same(again.ticket, nst.ticket));
    REQUIRE(again.max_early_data == nst.max_early_data);
}

static void key_update(const uint8_t *body, size_t len)
{
    int requested = -1;
    if (!parse_ok(iotls__key_update_parse(body, len, &requested)))
        return;
    REQUIRE(requested == 0 || requested == 1);
    iotls_writer w;
    iotls__wr_init(&w, out_buf, sizeof(out_buf));
    REQUIRE(iotls__key_update_write(&w, requested) == IOTLS_OK);
    REQUIRE(w.len == 5 && len == 1 && out_buf[4] == body[0]);
}

static void end_of_early_data(const uint8_t *body, size_t len)
{
    if (parse_ok(iotls__end_of_early_data_parse(body, len)))
        REQUIRE(len == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    /* An exact-size copy, so reading one byte past the input is caught
     * even when the caller's buffer is larger. */
    uint8_t *msg = malloc(size);
    REQUIRE(msg != NULL);
    memcpy(msg, data, size);
    const uint8_t *body = msg + 4;
    size_t len = size - 4;
    switch (msg[0]) {
    case IOTLS_HS_CLIENT_HELLO:
        client_hello(msg, size);
        break;
    case IOTLS_HS_SERVER_HELLO:
        server_hello(body, len);
        break;
    case IOTLS_HS_ENCRYPTED_EXTENSIONS:
        encrypted_extensions(body, len);
        break;
    case IOTLS_HS_CERTIFICATE_REQUEST:
        certificate_request(body, len);
        break;
    case IOTLS_HS_CERTIFICATE:
        certificate(body, len);
        break;
    case IOTLS_HS_CERTIFICATE_VERIFY:
        certificate_verify(body, len);
        break;
    case IOTLS_HS_FINISHED:
        finished(body, len);
        break;
    case IOTLS_HS_NEW_SESSION_TICKET:
        new_session_ticket(body, len);
        break;
    case IOTLS_HS_KEY_UPDATE:
        key_update(body, len);
        break;
    case IOTLS_HS_END_OF_EARLY_DATA:
        end_of_early_data(body, len);
        break;
    default:
        client_hello(msg, size);
        server_hello(body, len);
        encrypted_extensions(body, len);
        certificate_request(body, len);
        certificate(body, len);
        certificate_verify(body, len);
        finished(body, len);
        new_session_ticket(body, len);
        key_update(body, len);
        end_of_early_data(body, len);
        break;
    }
    free(msg);
    return 0;
}
