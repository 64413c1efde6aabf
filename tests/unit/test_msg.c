/* Handshake message codecs (src/msg/): every message of RFC 8448's traces
 * (../shared/specs/rfc8448-traces.txt) must parse into the fields the trace
 * shows, and where iotls's writers can produce the same message they must
 * produce the same bytes. Then the negative rules: every truncation fails,
 * trailing bytes fail, duplicate and misplaced extensions, length bounds and
 * the value checks each parser promises in msg.h.
 *
 * The hex below is copied from the trace file; each comment names the trace
 * section and the line it comes from. S4_CH is the ClientHello as sent (with
 * its binder: the "payload (512 octets)" of the handshake record). The
 * messages test_rfc8448.c uses too are in tests/testlib/rfc8448_vectors.h. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "msg/msg.h"
#include "rfc8448_vectors.h"
#include "testlib.h"

/* ======================= trace data ======================= */

/* section 6: ClientHello (192 octets) */
static const char S6_CH[] = "010000bc0303c141f6850063dfa8609a25962e9b9a820ba7778adc50953ac2a6"
                            "9cd304780f130000061301130313020100008d0000000b000900000673657276"
                            "6572ff01000100000a00140012001d0017001800190100010101020103010400"
                            "3300260024001d00208797aae7a09bb2c11a727d658d23b6b81f103ae658113b"
                            "20d8081664efba5c07002b0003020304000d0020001e04030503060302030804"
                            "0805080604010501060102010402050206020202002d00020101001c00024001";
/* section 6: ServerHello (90 octets) */
static const char S6_SH[] = "02000056030372aee1ac0dfe2c69fc852576b2b2a69a8d5fd45387d8d76b34d9"
                            "a0c2580eef2500130100002e00330024001d002036ba81e8649a3d8668982086"
                            "1adb6f51267ba7b19f78eede04a9379957428631002b00020304";
/* section 6: EncryptedExtensions (40 octets) */
static const char S6_EE[] = "080000240022000a00140012001d00170018001901000101010201030104001c"
                            "0002400100000000";
/* section 6: CertificateRequest (43 octets) */
static const char S6_CR[] = "0d000027000024000d0020001e04030503060302030804080508060401050106"
                            "0102010402050206020202";
/* section 6: Certificate (319 octets) */
static const char S6_SCERT[] = "0b00013b000001370001323082012e3081d5a003020102020107300a06082a86"
                               "48ce3d04030230133111300f060355040313086563647361323536301e170d31"
                               "36303733303031323430305a170d3236303733303031323430305a3013311130"
                               "0f0603550403130865636473613235363059301306072a8648ce3d020106082a"
                               "8648ce3d0301070342000408d530161575f4cfe7f154ee3448180086001e8843"
                               "1a79ee62ee6e2f83ef38ba61e9fb37f34e007a7df4d2f5b56d1f04ece45d621f"
                               "468406f5c3a15158948dd0a31a301830090603551d1304023000300b0603551d"
                               "0f040403020780300a06082a8648ce3d0403020348003045022100df30fd4507"
                               "f5edd22c1a6ff86db479ca693feeca3b71b3f9ef556b2937c0594d022062e2a4"
                               "7250d320fea83c7e2dcb5b76a50e0200c09adbd13fee946e513e011d110000";
/* section 6: CertificateVerify (78 octets) */
static const char S6_SCV[] = "0f00004a04030046304402202db4567831312879703ffa3d6e65f2990e097b7b"
                             "16b48c3fc47230080d75383c0220525654b97e703bebfd5a16c2eda7059e7f56"
                             "71ff103602fddc670fea14636fdd";
/* section 6: Finished (36 octets) */
static const char S6_SFIN[] = "140000209ae794c42226376b4cff6904015f10f2332312ba2899b8d7ba4e7db5"
                              "15e507f4";
/* section 6: Certificate (451 octets) */
static const char S6_CCERT[] = "0b0001bf000001bb0001b6308201b23082011ba003020102020101300d06092a"
                               "864886f70d01010b05003011310f300d06035504031306636c69656e74301e17"
                               "0d3136303733303031323335395a170d3236303733303031323335395a301131"
                               "0f300d06035504031306636c69656e7430819f300d06092a864886f70d010101"
                               "050003818d0030818902818100c38175e004a68d093f823b9c379d201fbc0bb7"
                               "a1c791905e3fbf76847e44e751ebbcd360bd945c81e5222bcc8846d3a8a0f93e"
                               "9bf5bebabd92edf1de1ff19021703e7ab6c0901513f97e39b111f09c9348971c"
                               "7b211984a754cd45fe095af0ea4236829bccf7a7fe9b2888e78ab477690a5b9e"
                               "1ccbe91c6a4a0f97a7e02842010203010001a31a301830090603551d13040230"
                               "00300b0603551d0f040403020780300d06092a864886f70d01010b0500038181"
                               "001a7a5a018532b022af0767d486160cff2d167a1915d23835b54594916dc680"
                               "be5d2e626076c5d52722ebcc775d7d99f980be2fc94d34acf6cc00ba90cbcfb0"
                               "608aa1e7e3971ef0c07a41d47ad8345d1f81fe418a1cf41054429fd217bd777d"
                               "c1cf08f05df90799c659361e0f1a8ee4ac0f7897420bdbc823da80a2f2ba2308"
                               "1c0000";
/* section 6: CertificateVerify (136 octets) */
static const char S6_CCV[] = "0f0000840804008057ad47d96c1697397350d521b35f9a46973ac0109314be64"
                             "5ebb20bb04893189be340a03baf87dc4da6a805e015292c4dabc85a3362a04c6"
                             "546ee8ce8a5e9b016ce9e1432ff089034bbc6b6037d872fb472f4217b64453bb"
                             "600ac3c9df355b0cc1c252ad6cb895a3ed7af6f36c7d7a6080ffdc95fa4d8449"
                             "bfd4e00a0e6acf1e";
/* section 7: ClientHello (224 octets) */
static const char S7_CH[] = "010000dc030334be3c0e652c61b1090c0a1e6980933aafdbead07e5ab9a6215a"
                            "ae7a2cd28fa5208e4c8896fb278839424e5876df5ff22cdbb6a070ee4801a7c8"
                            "22d04a7648d77c00061301130313020100008d0000000b000900000673657276"
                            "6572ff01000100000a00140012001d0017001800190100010101020103010400"
                            "3300260024001d0020f202d8341fd355fcbea0918f1bff8ea9c0758bba29105f"
                            "ce18ad7edbb1f2e353002b0003020304000d0020001e04030503060302030804"
                            "0805080604010501060102010402050206020202002d00020101001c00024001";
/* section 7: ServerHello (122 octets) */
static const char S7_SH[] = "020000760303a46b7d819906bd95d1ab068ae1de21ba62828d34d34294d18434"
                            "814914d2348d208e4c8896fb278839424e5876df5ff22cdbb6a070ee4801a7c8"
                            "22d04a7648d77c130100002e00330024001d0020efe3845b1e8f27cd3ac6d080"
                            "d0767044c612a141f2194fe74aec61b9af5df26a002b00020304";

/* ======================= helpers ======================= */

#define MAX_MSG 1024

typedef struct {
    uint8_t b[MAX_MSG];
    size_t len;
} msgbuf;

/* A trace message: checks its 4-byte header (type, length). */
static void load(msgbuf *m, const char *hex, uint8_t type)
{
    m->len = tl_unhex(hex, m->b, sizeof(m->b));
    CHECK(m->len >= 4);
    CHECK(m->b[0] == type);
    CHECK(((size_t)m->b[1] << 16 | (size_t)m->b[2] << 8 | m->b[3]) == m->len - 4);
}

static const uint8_t *body(const msgbuf *m)
{
    return m->b + 4;
}
static size_t body_len(const msgbuf *m)
{
    return m->len - 4;
}

static int bytes_eq(iotls_bytes b, const char *hex)
{
    uint8_t want[MAX_MSG];
    size_t n = tl_unhex(hex, want, sizeof(want));
    return b.len == n && (n == 0 || memcmp(b.p, want, n) == 0);
}

static size_t to_u16_array(iotls_bytes list, uint16_t *out, size_t cap)
{
    size_t n = iotls__u16_list_count(list);
    CHECK(n <= cap);
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = iotls__u16_list_get(list, i);
    return n;
}

/* Writes with a fresh writer into m; returns the writer's status. */
#define WRITE_INTO(m, call)                                                                        \
    do {                                                                                           \
        iotls_writer w_;                                                                           \
        iotls__wr_init(&w_, (m)->b, sizeof((m)->b));                                               \
        iotls_writer *w = &w_;                                                                     \
        CHECK_OK(call);                                                                            \
        CHECK_OK(iotls__wr_error(w));                                                              \
        (m)->len = w_.len;                                                                         \
    } while (0)

/* Uniform parser signatures for the truncation and trailing-byte loops. */
typedef int (*parse_fn)(const uint8_t *b, size_t n);

static int p_ch(const uint8_t *b, size_t n)
{
    iotls_client_hello x;
    return iotls__client_hello_parse(b, n, &x);
}
static int p_sh(const uint8_t *b, size_t n)
{
    iotls_server_hello x;
    return iotls__server_hello_parse(b, n, &x);
}
static int p_ee(const uint8_t *b, size_t n)
{
    iotls_encrypted_extensions x;
    return iotls__encrypted_extensions_parse(b, n, &x);
}
static int p_cr(const uint8_t *b, size_t n)
{
    iotls_certificate_request x;
    return iotls__certificate_request_parse(b, n, &x);
}
static int p_cert(const uint8_t *b, size_t n)
{
    iotls_certificate x;
    return iotls__certificate_parse(b, n, &x);
}
static int p_cv(const uint8_t *b, size_t n)
{
    iotls_certificate_verify x;
    return iotls__certificate_verify_parse(b, n, &x);
}
static int p_fin32(const uint8_t *b, size_t n)
{
    iotls_bytes x;
    return iotls__finished_parse(b, n, 32, &x);
}
static int p_nst(const uint8_t *b, size_t n)
{
    iotls_new_session_ticket x;
    return iotls__new_session_ticket_parse(b, n, &x);
}
static int p_ku(const uint8_t *b, size_t n)
{
    int x;
    return iotls__key_update_parse(b, n, &x);
}
static int p_eoed(const uint8_t *b, size_t n)
{
    return iotls__end_of_early_data_parse(b, n);
}

/* Every strict prefix of a valid body must fail, except at ok_at (where a
 * ClientHello/ServerHello without an extension block ends: a valid pre-TLS
 * 1.3 hello); every body with a byte appended must fail with DECODE. Each
 * input sits in an exact-size heap block, so a read past it trips ASan. */
static void check_truncations(const char *what, parse_fn parse, const uint8_t *b, size_t len,
                              size_t ok_at)
{
    int bad = 0;
    for (size_t n = 0; n < len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        if (n)
            memcpy(copy, b, n);
        int rc = parse(n ? copy : NULL, n);
        if (n == ok_at ? rc != IOTLS_OK : rc == IOTLS_OK) {
            fprintf(stderr, "%s: prefix of %zu/%zu bytes returned %d\n", what, n, len, rc);
            bad++;
        }
        free(copy);
    }
    CHECK(bad == 0);
    uint8_t *longer = malloc(len + 1);
    CHECK(longer != NULL);
    if (len)
        memcpy(longer, b, len);
    longer[len] = 0;
    int rc = parse(longer, len + 1);
    if (rc != IOTLS_ERR_DECODE)
        fprintf(stderr, "%s: with a trailing byte returned %d\n", what, rc);
    CHECK_RC(rc, IOTLS_ERR_DECODE);
    free(longer);
    CHECK_OK(parse(b, len));
}

/* Where a hello's extension block starts, from the start of its body. */
static size_t hello_ext_offset(const uint8_t *b, int is_client)
{
    size_t off = 2 + 32;
    off += 1 + b[off];
    if (is_client) {
        off += 2 + ((size_t)b[off] << 8 | b[off + 1]);
        off += 1 + b[off];
    } else {
        off += 3;
    }
    return off;
}

/* The trace's ClientHello without the extensions iotls does not send
 * (renegotiation_info, session_ticket, padding): what iotls's writer must
 * produce from the same parameters. */
static void strip_unsent_extensions(const msgbuf *in, msgbuf *out)
{
    size_t ext_at = 4 + hello_ext_offset(body(in), 1);
    memcpy(out->b, in->b, ext_at);
    size_t pos = ext_at + 2, w = ext_at + 2;
    while (pos < in->len) {
        uint16_t type = (uint16_t)(in->b[pos] << 8 | in->b[pos + 1]);
        size_t n = 4 + ((size_t)in->b[pos + 2] << 8 | in->b[pos + 3]);
        if (type != 0xff01 && type != 0x0023 && type != IOTLS_EXT_PADDING) {
            memcpy(out->b + w, in->b + pos, n);
            w += n;
        }
        pos += n;
    }
    size_t block = w - ext_at - 2;
    out->b[ext_at] = (uint8_t)(block >> 8);
    out->b[ext_at + 1] = (uint8_t)block;
    size_t msg_body = w - 4;
    out->b[1] = (uint8_t)(msg_body >> 16);
    out->b[2] = (uint8_t)(msg_body >> 8);
    out->b[3] = (uint8_t)msg_body;
    out->len = w;
}

/* Storage behind an iotls_client_hello_params rebuilt from a parsed hello. */
typedef struct {
    iotls_client_hello_params p;
    uint16_t suites[64], groups[32], sig_algs[64], sig_algs_cert[64];
    iotls_key_share_param shares[8];
    iotls_psk_param psks[8];
    char server_name[256];
} ch_store;

static void params_from_client_hello(const iotls_client_hello *ch, ch_store *st)
{
    iotls_client_hello_params *p = &st->p;
    memset(st, 0, sizeof(*st));
    p->random = ch->random.p;
    p->session_id = ch->session_id.p;
    p->session_id_len = ch->session_id.len;
    p->suites = st->suites;
    p->suite_count = to_u16_array(ch->cipher_suites, st->suites, 64);
    if (ch->server_name.len) {
        CHECK(ch->server_name.len < sizeof(st->server_name));
        memcpy(st->server_name, ch->server_name.p, ch->server_name.len);
        p->server_name = st->server_name;
    }
    p->groups = st->groups;
    p->group_count = to_u16_array(ch->supported_groups, st->groups, 32);
    p->sig_algs = st->sig_algs;
    p->sig_alg_count = to_u16_array(ch->signature_algorithms, st->sig_algs, 64);
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT)) {
        p->sig_algs_cert = st->sig_algs_cert;
        p->sig_alg_cert_count = to_u16_array(ch->signature_algorithms_cert, st->sig_algs_cert, 64);
    }
    size_t pos = 0;
    iotls_key_share_entry e;
    while (p->share_count < 8 && iotls__key_share_next(ch->key_shares, &pos, &e)) {
        st->shares[p->share_count].group = e.group;
        st->shares[p->share_count].key = e.key_exchange.p;
        st->shares[p->share_count].key_len = e.key_exchange.len;
        p->share_count++;
    }
    p->shares = st->shares;
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_ALPN)) {
        p->alpn = ch->alpn.p;
        p->alpn_len = ch->alpn.len;
    }
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE)) {
        p->cookie = ch->cookie.p;
        p->cookie_len = ch->cookie.len;
    }
    p->record_size_limit = ch->record_size_limit;
    p->early_data = ch->early_data;
    for (size_t i = 0; i < ch->psk_modes.len; i++) {
        if (ch->psk_modes.p[i] == 1)
            p->psk_dhe_ke = 1;
        if (ch->psk_modes.p[i] == 0)
            p->psk_ke = 1;
    }
    if (ch->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) {
        size_t ipos = 0, bpos = 0;
        iotls_bytes id, binder;
        uint32_t age;
        while (p->psk_count < 8 && iotls__psk_identity_next(ch->psk_identities, &ipos, &id, &age)) {
            CHECK(iotls__psk_binder_next(ch->psk_binders, &bpos, &binder));
            st->psks[p->psk_count].identity = id.p;
            st->psks[p->psk_count].identity_len = id.len;
            st->psks[p->psk_count].obfuscated_age = age;
            st->psks[p->psk_count].binder_len = binder.len;
            p->psk_count++;
        }
        p->psks = st->psks;
    }
}

/* ======================= tests ======================= */

static void test_extension_table(void)
{
    /* RFC 8446 section 4.2's table, plus RFC 8449 for record_size_limit;
     * columns: CH SH HRR EE CT CR NST. */
    static const struct {
        uint16_t type;
        const char *where;
    } table[] = {
        {0, "1001000"},
        {1, "1001000"},
        {5, "1000110"},
        {10, "1001000"},
        {13, "1000010"},
        {14, "1001000"},
        {15, "1001000"},
        {16, "1001000"},
        {18, "1000110"},
        {19, "1001000"},
        {20, "1001000"},
        {21, "1000000"},
        {51, "1110000"},
        {41, "1100000"},
        {45, "1000000"},
        {42, "1001001"},
        {44, "1010000"},
        {43, "1110000"},
        {47, "1000010"},
        {48, "0000010"},
        {49, "1000000"},
        {50, "1000010"},
        {28, "1001000"},
        /* Not in the table: unknown, allowed only where requests are. */
        {11, "1000011"},
        {0xff01, "1000011"},
        {0x0a0a, "1000011"},
        {35, "1000011"},
    };
    static const struct {
        uint8_t hs;
        int hrr;
    } msgs[] = {{IOTLS_HS_CLIENT_HELLO, 0},      {IOTLS_HS_SERVER_HELLO, 0},
                {IOTLS_HS_SERVER_HELLO, 1},      {IOTLS_HS_ENCRYPTED_EXTENSIONS, 0},
                {IOTLS_HS_CERTIFICATE, 0},       {IOTLS_HS_CERTIFICATE_REQUEST, 0},
                {IOTLS_HS_NEW_SESSION_TICKET, 0}};
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        for (size_t j = 0; j < 7; j++) {
            int want = table[i].where[j] == '1';
            int got = iotls__ext_allowed(table[i].type, msgs[j].hs, msgs[j].hrr);
            if (got != want)
                fprintf(stderr, "ext %u in message column %zu: got %d\n", table[i].type, j, got);
            CHECK(got == want);
        }
        /* Messages without extensions allow nothing. */
        CHECK(!iotls__ext_allowed(table[i].type, IOTLS_HS_FINISHED, 0));
        CHECK(!iotls__ext_allowed(table[i].type, IOTLS_HS_KEY_UPDATE, 0));
    }
    /* Every extension iotls knows has its own id; the table's others and
     * the unknown ones share IOTLS_EXTID_OTHER. */
    static const struct {
        uint16_t type;
        enum iotls_ext_id id;
    } ids[] = {
        {IOTLS_EXT_SERVER_NAME, IOTLS_EXTID_SERVER_NAME},
        {IOTLS_EXT_MAX_FRAGMENT_LENGTH, IOTLS_EXTID_MAX_FRAGMENT_LENGTH},
        {IOTLS_EXT_STATUS_REQUEST, IOTLS_EXTID_STATUS_REQUEST},
        {IOTLS_EXT_SUPPORTED_GROUPS, IOTLS_EXTID_SUPPORTED_GROUPS},
        {IOTLS_EXT_SIGNATURE_ALGORITHMS, IOTLS_EXTID_SIGNATURE_ALGORITHMS},
        {IOTLS_EXT_ALPN, IOTLS_EXTID_ALPN},
        {IOTLS_EXT_PADDING, IOTLS_EXTID_PADDING},
        {IOTLS_EXT_RECORD_SIZE_LIMIT, IOTLS_EXTID_RECORD_SIZE_LIMIT},
        {IOTLS_EXT_PRE_SHARED_KEY, IOTLS_EXTID_PRE_SHARED_KEY},
        {IOTLS_EXT_EARLY_DATA, IOTLS_EXTID_EARLY_DATA},
        {IOTLS_EXT_SUPPORTED_VERSIONS, IOTLS_EXTID_SUPPORTED_VERSIONS},
        {IOTLS_EXT_COOKIE, IOTLS_EXTID_COOKIE},
        {IOTLS_EXT_PSK_KEY_EXCHANGE_MODES, IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES},
        {IOTLS_EXT_CERTIFICATE_AUTHORITIES, IOTLS_EXTID_CERTIFICATE_AUTHORITIES},
        {IOTLS_EXT_POST_HANDSHAKE_AUTH, IOTLS_EXTID_POST_HANDSHAKE_AUTH},
        {IOTLS_EXT_SIGNATURE_ALGORITHMS_CERT, IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT},
        {IOTLS_EXT_KEY_SHARE, IOTLS_EXTID_KEY_SHARE},
        {IOTLS_EXT_USE_SRTP, IOTLS_EXTID_OTHER},
        {IOTLS_EXT_OID_FILTERS, IOTLS_EXTID_OTHER},
        {IOTLS_EXT_EC_POINT_FORMATS, IOTLS_EXTID_OTHER},
        {0xff01, IOTLS_EXTID_OTHER},
    };
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        CHECK(iotls__ext_id_of(ids[i].type) == ids[i].id);
    /* Every id has its own bit and they fit the 32-bit masks. */
    CHECK(IOTLS_EXTID_COUNT <= 32);
}

/* Each suite's hash, AEAD and name (RFC 8446 B.4), and the names of the
 * groups, with the codes around them unknown. */
static void test_suite_properties(void)
{
    static const struct {
        uint16_t suite;
        iotls_hash_alg hash;
        iotls_aead_alg aead;
        const char *name;
    } suites[] = {
        {IOTLS_TLS_AES_128_GCM_SHA256, IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_GCM,
         "TLS_AES_128_GCM_SHA256"},
        {IOTLS_TLS_AES_256_GCM_SHA384, IOTLS_HASH_SHA384, IOTLS_AEAD_AES_256_GCM,
         "TLS_AES_256_GCM_SHA384"},
        {IOTLS_TLS_CHACHA20_POLY1305_SHA256, IOTLS_HASH_SHA256, IOTLS_AEAD_CHACHA20_POLY1305,
         "TLS_CHACHA20_POLY1305_SHA256"},
        {IOTLS_TLS_AES_128_CCM_SHA256, IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_CCM,
         "TLS_AES_128_CCM_SHA256"},
        {IOTLS_TLS_AES_128_CCM_8_SHA256, IOTLS_HASH_SHA256, IOTLS_AEAD_AES_128_CCM_8,
         "TLS_AES_128_CCM_8_SHA256"},
        {0x1300, IOTLS_HASH_NONE, IOTLS_AEAD_NONE, "unknown"},
        {0x1306, IOTLS_HASH_NONE, IOTLS_AEAD_NONE, "unknown"},
        {0x0000, IOTLS_HASH_NONE, IOTLS_AEAD_NONE, "unknown"},
        {0xc02f, IOTLS_HASH_NONE, IOTLS_AEAD_NONE, "unknown"}, /* a TLS 1.2 suite */
    };
    for (size_t i = 0; i < sizeof suites / sizeof suites[0]; i++) {
        CHECK(iotls__suite_hash(suites[i].suite) == suites[i].hash);
        CHECK(iotls__suite_aead(suites[i].suite) == suites[i].aead);
        CHECK(strcmp(iotls_suite_name(suites[i].suite), suites[i].name) == 0);
    }
    CHECK(strcmp(iotls_group_name(IOTLS_GROUP_X25519), "x25519") == 0);
    CHECK(strcmp(iotls_group_name(IOTLS_GROUP_SECP256R1), "secp256r1") == 0);
    CHECK(strcmp(iotls_group_name(IOTLS_GROUP_SECP384R1), "secp384r1") == 0);
    CHECK(strcmp(iotls_group_name(0), "none") == 0);
    CHECK(strcmp(iotls_group_name(0x0019), "unknown") == 0);
}

static void test_u16_list(void)
{
    static const uint8_t raw[] = {0x13, 0x01, 0x13, 0x03, 0x13, 0x02};
    iotls_bytes list = {raw, sizeof(raw)};
    CHECK(iotls__u16_list_count(list) == 3);
    CHECK(iotls__u16_list_get(list, 0) == 0x1301);
    CHECK(iotls__u16_list_get(list, 2) == 0x1302);
    CHECK(iotls__u16_list_get(list, 3) == 0);
    CHECK(iotls__u16_list_contains(list, 0x1303));
    CHECK(!iotls__u16_list_contains(list, 0x0113)); /* straddles two entries */
    iotls_bytes empty = {NULL, 0};
    CHECK(iotls__u16_list_count(empty) == 0);
    CHECK(!iotls__u16_list_contains(empty, 0));
}

static void test_msg_header(void)
{
    uint8_t buf[8];
    iotls_writer w;
    iotls__wr_init(&w, buf, sizeof(buf));
    size_t mark = iotls__msg_begin(&w, IOTLS_HS_FINISHED);
    iotls__wr_u16(&w, 0xabcd);
    iotls__msg_end(&w, mark);
    CHECK_OK(iotls__wr_error(&w));
    CHECK_HEX(buf, w.len, "14000002abcd");
}

static void check_s3_client_hello(const iotls_client_hello *ch)
{
    CHECK(ch->legacy_version == 0x0303);
    CHECK(bytes_eq(ch->random, "6660261ff947cea49cce6cfad687f457cf1b14531ba14131a0e8f309a1d0b9c4"));
    CHECK(ch->session_id.len == 0);
    CHECK(bytes_eq(ch->cipher_suites, "130113031302"));
    CHECK(bytes_eq(ch->compression_methods, "00"));
    CHECK(bytes_eq(ch->server_name, "736572766572")); /* "server" */
    CHECK(bytes_eq(ch->supported_versions, "0304"));
    CHECK(bytes_eq(ch->supported_groups, "001d00170018001901000101010201030104"));
    CHECK(bytes_eq(ch->signature_algorithms, "04030503060302030804080508060401050106010201"
                                             "0402050206020202"));
    CHECK(bytes_eq(ch->psk_modes, "01"));
    CHECK(ch->record_size_limit == 0x4001);
    CHECK(!ch->early_data && !ch->post_handshake_auth && ch->max_fragment_length == 0);
    size_t pos = 0;
    iotls_key_share_entry e;
    CHECK(iotls__key_share_next(ch->key_shares, &pos, &e));
    CHECK(e.group == 0x001d);
    CHECK(bytes_eq(e.key_exchange,
                   "4cfdfcd178b784bf328cae793b136f2aedce005ff183d7bb1495207236647037"));
    CHECK(!iotls__key_share_next(ch->key_shares, &pos, &e));
    uint32_t want_seen =
        IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME) | IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_GROUPS) |
        IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE) | IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS) |
        IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS) |
        IOTLS_EXT_BIT(IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES) |
        IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT) |
        IOTLS_EXT_BIT(IOTLS_EXTID_OTHER); /* renegotiation_info, session_ticket */
    CHECK(ch->exts_seen == want_seen);
    CHECK(ch->last_ext_type == IOTLS_EXT_RECORD_SIZE_LIMIT);
}

/* Parse a trace ClientHello, rebuild the parameters from what was parsed,
 * write it again: the bytes must be the trace's, minus the extensions iotls
 * never sends. Returns the parse in *ch. */
static void client_hello_round_trip(const char *hex, iotls_client_hello *ch, msgbuf *trace)
{
    load(trace, hex, IOTLS_HS_CLIENT_HELLO);
    CHECK_OK(iotls__client_hello_parse(body(trace), body_len(trace), ch));
    check_truncations("ClientHello", p_ch, body(trace), body_len(trace),
                      hello_ext_offset(body(trace), 1));

    ch_store st;
    params_from_client_hello(ch, &st);
    msgbuf want, got;
    strip_unsent_extensions(trace, &want);
    size_t binders_offset = 0;
    iotls_writer w;
    iotls__wr_init(&w, got.b, sizeof(got.b));
    CHECK_OK(iotls__client_hello_write(&w, &st.p, &binders_offset));
    got.len = w.len;
    if (st.p.psks) {
        /* Binders were written as zeros; put the trace's in. */
        /* The binders list ends the message. */
        CHECK(binders_offset == want.len - 2 - ch->psk_binders.len);
        size_t pos = 0;
        iotls_bytes binder;
        for (size_t i = 0; iotls__psk_binder_next(ch->psk_binders, &pos, &binder); i++)
            CHECK_OK(iotls__client_hello_set_binder(got.b, got.len, binders_offset, i, binder.p,
                                                    binder.len));
    } else {
        CHECK(binders_offset == 0);
    }
    CHECK(got.len == want.len && memcmp(got.b, want.b, want.len) == 0);
    if (got.len != want.len || memcmp(got.b, want.b, want.len) != 0) {
        fprintf(stderr, "  written: ");
        for (size_t i = 0; i < got.len; i++)
            fprintf(stderr, "%02x", got.b[i]);
        fprintf(stderr, "\n  wanted:  ");
        for (size_t i = 0; i < want.len; i++)
            fprintf(stderr, "%02x", want.b[i]);
        fprintf(stderr, "\n");
    }
}

static void test_trace_client_hellos(void)
{
    iotls_client_hello ch;
    msgbuf m;

    client_hello_round_trip(S3_CH, &ch, &m);
    check_s3_client_hello(&ch);

    /* Section 4: resumption with early data and one PSK. The binder covers
     * the message up to the binders list; the trace prints that prefix
     * (477 octets) and its SHA-256 ("binder hash"). */
    client_hello_round_trip(S4_CH, &ch, &m);
    CHECK(ch.early_data);
    CHECK(ch.binders_offset == 477);
    CHECK(ch.last_ext_type == IOTLS_EXT_PRE_SHARED_KEY);
    CHECK(ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PADDING));
    uint8_t digest[32];
    CHECK_OK(iotls__hash(IOTLS_HASH_SHA256, m.b, ch.binders_offset, digest));
    CHECK_HEX(digest, 32, S4_BINDER_HASH);
    size_t pos = 0;
    iotls_bytes identity, binder;
    uint32_t age;
    CHECK(iotls__psk_identity_next(ch.psk_identities, &pos, &identity, &age));
    CHECK(identity.len == 0xb2);
    CHECK(identity.p[0] == 0xf3 && identity.p[0xb1] == 0x3b);
    CHECK(age == 0x933d0937);
    CHECK(!iotls__psk_identity_next(ch.psk_identities, &pos, &identity, &age));
    pos = 0;
    CHECK(iotls__psk_binder_next(ch.psk_binders, &pos, &binder));
    CHECK(bytes_eq(binder, S4_BINDER));
    CHECK(!iotls__psk_binder_next(ch.psk_binders, &pos, &binder));

    /* Section 5: the ClientHello before and after the HelloRetryRequest
     * (the second carries the cookie and a P-256 share). */
    client_hello_round_trip(S5_CH1, &ch, &m);
    CHECK(!(ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE)));
    client_hello_round_trip(S5_CH2, &ch, &m);
    CHECK(ch.cookie.len == 0x72);
    CHECK(ch.cookie.p[0] == 0xc8 && ch.cookie.p[0x71] == 0xb3);
    pos = 0;
    iotls_key_share_entry e;
    CHECK(iotls__key_share_next(ch.key_shares, &pos, &e));
    CHECK(e.group == 0x0017 && e.key_exchange.len == 65 && e.key_exchange.p[0] == 4);

    client_hello_round_trip(S6_CH, &ch, &m);
    /* Section 7: middlebox compatibility mode's 32-byte session id. */
    client_hello_round_trip(S7_CH, &ch, &m);
    CHECK(bytes_eq(ch.session_id,
                   "8e4c8896fb278839424e5876df5ff22cdbb6a070ee4801a7c822d04a7648d77c"));
}

static void server_hello_round_trip(const char *hex, iotls_server_hello *sh)
{
    /* static: the parsed struct handed back views into m */
    static msgbuf m;
    msgbuf got;
    load(&m, hex, IOTLS_HS_SERVER_HELLO);
    CHECK_OK(iotls__server_hello_parse(body(&m), body_len(&m), sh));
    check_truncations("ServerHello", p_sh, body(&m), body_len(&m), hello_ext_offset(body(&m), 0));
    CHECK(sh->legacy_version == 0x0303);
    CHECK(sh->selected_version == 0x0304);
    CHECK(sh->compression_method == 0);
    iotls_server_hello_params p = {
        .random = sh->random.p,
        .is_hrr = sh->is_hrr,
        .session_id_echo = sh->session_id_echo.p,
        .session_id_len = sh->session_id_echo.len,
        .cipher_suite = sh->cipher_suite,
        .key_share_group = sh->key_share_group,
        .key_share = sh->key_share.p,
        .key_share_len = sh->key_share.len,
        .cookie = sh->cookie.len ? sh->cookie.p : NULL,
        .cookie_len = sh->cookie.len,
        .has_psk = (sh->exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY)) != 0,
        .selected_identity = sh->selected_identity,
    };
    WRITE_INTO(&got, iotls__server_hello_write(w, &p));
    CHECK_HEX(got.b, got.len, hex);
}

static void test_trace_server_hellos(void)
{
    iotls_server_hello sh;
    server_hello_round_trip(S3_SH, &sh);
    CHECK(!sh.is_hrr);
    CHECK(sh.cipher_suite == 0x1301);
    CHECK(sh.key_share_group == 0x001d);
    CHECK(
        bytes_eq(sh.key_share, "c7bb6bdfc26350b929a08a41a76ddac210b096868d960c4845987dc3a7fa650a"));
    CHECK(bytes_eq(sh.random, "1274991495cf425857262dde2299342c315afba9b64a87d552515614e01b045d"));
    CHECK(sh.exts_seen ==
          (IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE) | IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS)));

    server_hello_round_trip(S4_SH, &sh);
    CHECK(sh.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_PRE_SHARED_KEY));
    CHECK(sh.selected_identity == 0);

    /* The HelloRetryRequest: its random is the magic value, key_share holds
     * only the selected group, and it carries a cookie. */
    server_hello_round_trip(S5_HRR, &sh);
    CHECK(sh.is_hrr);
    CHECK_HEX(iotls_hrr_random, 32,
              "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C");
    CHECK(sh.key_share_group == 0x0017);
    CHECK(sh.key_share.len == 0);
    CHECK(sh.cookie.len == 0x72);
    server_hello_round_trip(S5_SH, &sh);
    CHECK(!sh.is_hrr && sh.key_share_group == 0x0017 && sh.key_share.len == 65);
    server_hello_round_trip(S6_SH, &sh);
    server_hello_round_trip(S7_SH, &sh);
    CHECK(sh.session_id_echo.len == 32);
}

static void encrypted_extensions_round_trip(const char *hex, iotls_encrypted_extensions *ee)
{
    /* static: the parsed struct handed back views into m */
    static msgbuf m;
    msgbuf got;
    load(&m, hex, IOTLS_HS_ENCRYPTED_EXTENSIONS);
    CHECK_OK(iotls__encrypted_extensions_parse(body(&m), body_len(&m), ee));
    check_truncations("EncryptedExtensions", p_ee, body(&m), body_len(&m), (size_t)-1);
    uint16_t groups[32];
    size_t group_count = to_u16_array(ee->supported_groups, groups, 32);
    iotls_encrypted_extensions_params p = {
        .alpn = ee->alpn.len ? ee->alpn.p : NULL,
        .alpn_len = ee->alpn.len,
        .server_name_ack = ee->server_name_ack,
        .early_data = ee->early_data,
        .record_size_limit = ee->record_size_limit,
        .max_fragment_length = ee->max_fragment_length,
        .groups = group_count ? groups : NULL,
        .group_count = group_count,
    };
    WRITE_INTO(&got, iotls__encrypted_extensions_write(w, &p));
    CHECK_HEX(got.b, got.len, hex);
}

static void test_trace_encrypted_extensions(void)
{
    iotls_encrypted_extensions ee;
    encrypted_extensions_round_trip(S3_EE, &ee);
    CHECK(ee.server_name_ack && !ee.early_data && ee.record_size_limit == 0x4001);
    CHECK(bytes_eq(ee.supported_groups, "001d00170018001901000101010201030104"));
    CHECK(ee.alpn.len == 0);
    CHECK(ee.exts_seen ==
          (IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_GROUPS) |
           IOTLS_EXT_BIT(IOTLS_EXTID_RECORD_SIZE_LIMIT) | IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME)));
    encrypted_extensions_round_trip(S4_EE, &ee);
    CHECK(ee.early_data);
    encrypted_extensions_round_trip(S5_EE, &ee);
    CHECK(bytes_eq(ee.supported_groups, "00170018001d"));
    encrypted_extensions_round_trip(S6_EE, &ee);
}

static void certificate_round_trip(const char *hex, iotls_certificate *cert)
{
    /* static: the parsed struct handed back views into m */
    static msgbuf m;
    msgbuf got;
    load(&m, hex, IOTLS_HS_CERTIFICATE);
    CHECK_OK(iotls__certificate_parse(body(&m), body_len(&m), cert));
    check_truncations("Certificate", p_cert, body(&m), body_len(&m), (size_t)-1);
    const uint8_t *ders[4];
    size_t lens[4], n = 0, pos = 0;
    iotls_bytes der;
    while (n < 4 && iotls__certificate_next(cert->certificate_list, &pos, &der)) {
        ders[n] = der.p;
        lens[n++] = der.len;
    }
    CHECK(n == cert->count);
    WRITE_INTO(&got,
               iotls__certificate_write(w, cert->context.p, cert->context.len, ders, lens, n));
    CHECK_HEX(got.b, got.len, hex);
}

/* The CertificateVerify signatures of the trace must verify over the content
 * iotls__certificate_verify_content builds from the transcript hash: that
 * proves the builder byte for byte (RSA-PSS signatures are randomized, so
 * iotls cannot reproduce them, but it can check them). */
static void check_cv_signature(const char *cert_hex, const char *cv_hex, int by_server,
                               const char *const *transcript)
{
    msgbuf cert_msg, cv_msg, m;
    iotls_certificate cert;
    iotls_certificate_verify cv;
    load(&cert_msg, cert_hex, IOTLS_HS_CERTIFICATE);
    load(&cv_msg, cv_hex, IOTLS_HS_CERTIFICATE_VERIFY);
    CHECK_OK(iotls__certificate_parse(body(&cert_msg), body_len(&cert_msg), &cert));
    CHECK_OK(iotls__certificate_verify_parse(body(&cv_msg), body_len(&cv_msg), &cv));

    iotls_hash_ctx h;
    memset(&h, 0, sizeof(h));
    CHECK_OK(iotls__hash_init(&h, IOTLS_HASH_SHA256));
    for (size_t i = 0; transcript[i]; i++) {
        m.len = tl_unhex(transcript[i], m.b, sizeof(m.b));
        CHECK_OK(iotls__hash_update(&h, m.b, m.len));
    }
    uint8_t th[32], content[64 + 34 + 48];
    size_t content_len = 0;
    CHECK_OK(iotls__hash_snapshot(&h, th));
    iotls__hash_free(&h);

    iotls_x509 chain;
    size_t pos = 0;
    iotls_bytes der;
    iotls__x509_init(&chain);
    CHECK(iotls__certificate_next(cert.certificate_list, &pos, &der));
    CHECK_OK(iotls__x509_add_der(&chain, der.p, der.len));
    CHECK_OK(iotls__certificate_verify_content(by_server, th, 32, content, sizeof(content),
                                               &content_len));
    CHECK(content_len == 64 + 34 + 32);
    CHECK_OK(iotls__x509_verify_signature(&chain, cv.scheme, content, content_len, cv.signature.p,
                                          cv.signature.len));
    /* The other side's context string must not verify. */
    CHECK_OK(iotls__certificate_verify_content(!by_server, th, 32, content, sizeof(content),
                                               &content_len));
    CHECK_RC(iotls__x509_verify_signature(&chain, cv.scheme, content, content_len, cv.signature.p,
                                          cv.signature.len),
             IOTLS_ERR_DECRYPT_ERROR);
    iotls__x509_free(&chain);
}

static void test_trace_certificates(void)
{
    iotls_certificate cert;
    certificate_round_trip(S3_CERT, &cert);
    CHECK(cert.count == 1 && cert.context.len == 0);
    size_t pos = 0;
    iotls_bytes der;
    CHECK(iotls__certificate_next(cert.certificate_list, &pos, &der));
    CHECK(der.len == 0x1b0 && der.p[0] == 0x30 && der.p[der.len - 1] == 0xe1);
    CHECK(!iotls__certificate_next(cert.certificate_list, &pos, &der));
    certificate_round_trip(S6_SCERT, &cert);
    CHECK(cert.count == 1);
    certificate_round_trip(S6_CCERT, &cert);
    CHECK(cert.count == 1);

    static const char *const s3_transcript[] = {S3_CH, S3_SH, S3_EE, S3_CERT, NULL};
    check_cv_signature(S3_CERT, S3_CV, 1, s3_transcript);
    static const char *const s6_server[] = {S6_CH, S6_SH, S6_EE, S6_CR, S6_SCERT, NULL};
    check_cv_signature(S6_SCERT, S6_SCV, 1, s6_server);
    static const char *const s6_client[] = {S6_CH,  S6_SH,   S6_EE,    S6_CR, S6_SCERT,
                                            S6_SCV, S6_SFIN, S6_CCERT, NULL};
    check_cv_signature(S6_CCERT, S6_CCV, 0, s6_client);
}

static void certificate_verify_round_trip(const char *hex, uint16_t scheme, size_t sig_len)
{
    msgbuf m, got;
    iotls_certificate_verify cv;
    load(&m, hex, IOTLS_HS_CERTIFICATE_VERIFY);
    CHECK_OK(iotls__certificate_verify_parse(body(&m), body_len(&m), &cv));
    check_truncations("CertificateVerify", p_cv, body(&m), body_len(&m), (size_t)-1);
    CHECK(cv.scheme == scheme);
    CHECK(cv.signature.len == sig_len);
    WRITE_INTO(&got,
               iotls__certificate_verify_write(w, cv.scheme, cv.signature.p, cv.signature.len));
    CHECK_HEX(got.b, got.len, hex);
}

static void test_trace_certificate_verify(void)
{
    certificate_verify_round_trip(S3_CV, 0x0804, 128);
    certificate_verify_round_trip(S6_SCV, 0x0403, 0x46);
    certificate_verify_round_trip(S6_CCV, 0x0804, 128);

    /* The content layout of RFC 8446 4.4.3, spelled out. */
    uint8_t hash[48], out[64 + 34 + 48];
    size_t n = 0;
    memset(hash, 0xab, sizeof(hash));
    CHECK_OK(iotls__certificate_verify_content(1, hash, 48, out, sizeof(out), &n));
    CHECK(n == sizeof(out));
    CHECK_HEX(
        out, n,
        "2020202020202020202020202020202020202020202020202020202020202020"
        "2020202020202020202020202020202020202020202020202020202020202020"
        "544c5320312e332c207365727665722043657274696669636174655665726966" /* TLS 1.3, server
                                                                              CertificateVerif */
        "7900"                                                             /* y, 0 */
        "abababababababababababababababababababababababababababababababab"
        "abababababababababababababababab");
    CHECK_OK(iotls__certificate_verify_content(0, hash, 32, out, sizeof(out), &n));
    CHECK(n == 64 + 34 + 32);
    CHECK(memcmp(out + 64, "TLS 1.3, client CertificateVerify", 33) == 0 && out[97] == 0);
    CHECK_RC(iotls__certificate_verify_content(1, hash, 48, out, sizeof(out) - 1, &n),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(iotls__certificate_verify_content(1, NULL, 32, out, sizeof(out), &n),
             IOTLS_ERR_BAD_ARG);
}

static void test_trace_finished(void)
{
    const char *const all[] = {S3_SFIN, S3_CFIN, S4_SFIN, S6_SFIN};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        msgbuf m, got;
        iotls_bytes vd;
        load(&m, all[i], IOTLS_HS_FINISHED);
        CHECK_OK(iotls__finished_parse(body(&m), body_len(&m), 32, &vd));
        CHECK(vd.p == body(&m) && vd.len == 32);
        check_truncations("Finished", p_fin32, body(&m), body_len(&m), (size_t)-1);
        CHECK_RC(iotls__finished_parse(body(&m), body_len(&m), 48, &vd), IOTLS_ERR_DECODE);
        WRITE_INTO(&got, iotls__finished_write(w, vd.p, vd.len));
        CHECK_HEX(got.b, got.len, all[i]);
    }
    msgbuf m;
    load(&m, S3_SFIN, IOTLS_HS_FINISHED);
    iotls_bytes vd;
    CHECK(iotls__finished_parse(body(&m), body_len(&m), 32, &vd) == IOTLS_OK &&
          bytes_eq(vd, "4c92b1b256d861a1830167827d3e288d1a76f03484e9ec886d4ff66149cbec2f"));
}

static void test_trace_new_session_ticket(void)
{
    msgbuf m, got;
    iotls_new_session_ticket nst;
    load(&m, S3_NST, IOTLS_HS_NEW_SESSION_TICKET);
    CHECK_OK(iotls__new_session_ticket_parse(body(&m), body_len(&m), &nst));
    check_truncations("NewSessionTicket", p_nst, body(&m), body_len(&m), (size_t)-1);
    CHECK(nst.lifetime == 30);
    CHECK(nst.age_add == 0x933d0932);
    CHECK(bytes_eq(nst.nonce, "0000"));
    CHECK(nst.ticket.len == 0xb2);
    CHECK(nst.max_early_data == 0x400);
    CHECK(nst.exts_seen == IOTLS_EXT_BIT(IOTLS_EXTID_EARLY_DATA));
    /* The ticket is the identity the section 4 ClientHello offers. */
    iotls_client_hello ch;
    msgbuf chm;
    load(&chm, S4_CH, IOTLS_HS_CLIENT_HELLO);
    CHECK_OK(iotls__client_hello_parse(body(&chm), body_len(&chm), &ch));
    size_t pos = 0;
    iotls_bytes identity;
    uint32_t age;
    CHECK(iotls__psk_identity_next(ch.psk_identities, &pos, &identity, &age));
    CHECK(identity.len == nst.ticket.len && memcmp(identity.p, nst.ticket.p, identity.len) == 0);

    WRITE_INTO(&got, iotls__new_session_ticket_write(w, nst.lifetime, nst.age_add, nst.nonce.p,
                                                     nst.nonce.len, nst.ticket.p, nst.ticket.len,
                                                     nst.max_early_data));
    CHECK_HEX(got.b, got.len, S3_NST);
}

static void test_trace_certificate_request(void)
{
    msgbuf m, got;
    iotls_certificate_request cr;
    load(&m, S6_CR, IOTLS_HS_CERTIFICATE_REQUEST);
    CHECK_OK(iotls__certificate_request_parse(body(&m), body_len(&m), &cr));
    check_truncations("CertificateRequest", p_cr, body(&m), body_len(&m), (size_t)-1);
    CHECK(cr.context.len == 0);
    CHECK(cr.exts_seen == IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS));
    CHECK(cr.signature_algorithms_cert.len == 0);
    uint16_t algs[64];
    size_t n = to_u16_array(cr.signature_algorithms, algs, 64);
    CHECK(n == 15 && algs[0] == 0x0403 && algs[14] == 0x0202);
    WRITE_INTO(&got, iotls__certificate_request_write(w, cr.context.p, cr.context.len, algs, n));
    CHECK_HEX(got.b, got.len, S6_CR);
}

static void test_key_update_and_end_of_early_data(void)
{
    msgbuf m, got;
    load(&m, S4_EOED, IOTLS_HS_END_OF_EARLY_DATA);
    CHECK_OK(iotls__end_of_early_data_parse(body(&m), body_len(&m)));
    WRITE_INTO(&got, iotls__end_of_early_data_write(w));
    CHECK_HEX(got.b, got.len, S4_EOED);
    static const uint8_t one = 0;
    CHECK_RC(iotls__end_of_early_data_parse(&one, 1), IOTLS_ERR_DECODE);

    /* RFC 8446 4.6.3: KeyUpdate { KeyUpdateRequest request_update; }. */
    WRITE_INTO(&got, iotls__key_update_write(w, 1));
    CHECK_HEX(got.b, got.len, "1800000101");
    WRITE_INTO(&got, iotls__key_update_write(w, 0));
    CHECK_HEX(got.b, got.len, "1800000100");
    int requested = -1;
    CHECK_OK(iotls__key_update_parse(got.b + 4, 1, &requested));
    CHECK(requested == 0);
    static const uint8_t req1 = 1, req2 = 2, req255 = 255;
    CHECK_OK(iotls__key_update_parse(&req1, 1, &requested));
    CHECK(requested == 1);
    CHECK_RC(iotls__key_update_parse(&req2, 1, &requested), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__key_update_parse(&req255, 1, &requested), IOTLS_ERR_ILLEGAL_PARAMETER);
    check_truncations("KeyUpdate", p_ku, &req1, 1, (size_t)-1);
    check_truncations("EndOfEarlyData", p_eoed, NULL, 0, (size_t)-1);
}

/* The bodies below are spelled as hex pieces, one per field, which
 * clang-format would put one per line. */
/* clang-format off */
/* ======================= negative tests ======================= */

/* Bodies built around an extension block given in hex. */
#define R32 "1111111111111111111111111111111111111111111111111111111111111111"
#define HRR32 "CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C"
#define SV_CH "002b0003020304" /* supported_versions {TLS 1.3} in a ClientHello */
#define SV_SH "002b00020304"   /* the ServerHello's selected_version */

static uint8_t scratch[70000];

/* prefix, then the extensions as a 2-byte vector; returns the body length. */
static size_t with_block(const char *prefix_hex, const uint8_t *exts, size_t exts_len)
{
    size_t n = tl_unhex(prefix_hex, scratch, sizeof(scratch));
    scratch[n++] = (uint8_t)(exts_len >> 8);
    scratch[n++] = (uint8_t)exts_len;
    memcpy(scratch + n, exts, exts_len);
    return n + exts_len;
}

static size_t with_hex_block(const char *prefix_hex, const char *exts_hex)
{
    static uint8_t exts[4096];
    size_t n = tl_unhex(exts_hex, exts, sizeof(exts));
    return with_block(prefix_hex, exts, n);
}

/* The parse result of a copy in an exact-size heap block (ASan sees any
 * over-read). */
static int parse_exact(parse_fn parse, size_t len)
{
    /* The parsed views point into the copy: it lives until the next call. */
    static uint8_t *copy;
    free(copy);
    copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    memcpy(copy, scratch, len);
    return parse(copy, len);
}

static iotls_client_hello last_ch;
static int p_ch_keep(const uint8_t *b, size_t n) { return iotls__client_hello_parse(b, n, &last_ch); }
static iotls_server_hello last_sh;
static int p_sh_keep(const uint8_t *b, size_t n) { return iotls__server_hello_parse(b, n, &last_sh); }
static iotls_encrypted_extensions last_ee;
static int p_ee_keep(const uint8_t *b, size_t n)
{
    return iotls__encrypted_extensions_parse(b, n, &last_ee);
}
static iotls_certificate_request last_cr;
static int p_cr_keep(const uint8_t *b, size_t n)
{
    return iotls__certificate_request_parse(b, n, &last_cr);
}
static iotls_new_session_ticket last_nst;
static int p_nst_keep(const uint8_t *b, size_t n)
{
    return iotls__new_session_ticket_parse(b, n, &last_nst);
}

static int ch_rc(const char *exts)
{
    return parse_exact(p_ch_keep, with_hex_block("0303" R32 "00" "00021301" "0100", exts));
}
static int sh_rc(const char *exts)
{
    return parse_exact(p_sh_keep, with_hex_block("0303" R32 "00" "1301" "00", exts));
}
static int hrr_rc(const char *exts)
{
    return parse_exact(p_sh_keep, with_hex_block("0303" HRR32 "00" "1301" "00", exts));
}
static int ee_rc(const char *exts) { return parse_exact(p_ee_keep, with_hex_block("", exts)); }
static int cr_rc(const char *exts) { return parse_exact(p_cr_keep, with_hex_block("00", exts)); }
static int nst_rc(const char *lifetime_hex, const char *exts)
{
    char prefix[64];
    snprintf(prefix, sizeof(prefix), "%s" "01020304" "00" "0001aa", lifetime_hex);
    return parse_exact(p_nst_keep, with_hex_block(prefix, exts));
}
/* A Certificate with one entry (cert_data 30 00) carrying these extensions. */
static int cert_entry_rc(const char *exts)
{
    uint8_t e[256];
    size_t n = tl_unhex(exts, e, sizeof(e));
    size_t list = 3 + 2 + 2 + n;
    size_t len = 0;
    scratch[len++] = 0; /* context */
    scratch[len++] = (uint8_t)(list >> 16);
    scratch[len++] = (uint8_t)(list >> 8);
    scratch[len++] = (uint8_t)list;
    len += tl_unhex("000002" "3000", scratch + len, 16);
    scratch[len++] = (uint8_t)(n >> 8);
    scratch[len++] = (uint8_t)n;
    memcpy(scratch + len, e, n);
    return parse_exact(p_cert, len + n);
}
static int raw_rc(parse_fn parse, const char *body_hex)
{
    return parse_exact(parse, tl_unhex(body_hex, scratch, sizeof(scratch)));
}

/* A minimal OfferedPsks with one identity "a" and one 32-byte binder. */
#define PSK_EXT "0029002c" "0007" "000161" "00000000" "0021" "20" \
    "0000000000000000000000000000000000000000000000000000000000000000"

static void test_client_hello_rules(void)
{
    CHECK_OK(ch_rc(SV_CH));
    CHECK(last_ch.exts_seen == IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS));
    CHECK_OK(ch_rc("")); /* an empty block: nothing TLS 1.3 in it, not malformed */
    /* A TLS 1.2 hello may stop after compression_methods. */
    CHECK_OK(raw_rc(p_ch_keep, "0303" R32 "00" "0002c02f" "0100"));
    CHECK(last_ch.exts_seen == 0 && last_ch.supported_versions.len == 0);

    /* Fixed part. */
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "0003130113" "0100" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "0000" "0100" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "00021301" "00" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ch, "0303" R32 "21" R32 "00" "00021301" "0100" "0000"), IOTLS_ERR_DECODE);
    CHECK_OK(raw_rc(p_ch, "0303" R32 "20" R32 "00021301" "0100" "0000"));
    /* Extension block length off by one either way; a byte after it. */
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "00021301" "0100" "0008" SV_CH), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "00021301" "0100" "0006" SV_CH), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ch, "0303" R32 "00" "00021301" "0100" "0007" SV_CH "00"), IOTLS_ERR_DECODE);
    /* An extension whose length runs past the block. */
    CHECK_RC(ch_rc("002b0009020304"), IOTLS_ERR_DECODE);

    /* Duplicates: a type of RFC 8446's table twice is refused, with an
     * iotls id (supported_versions) or without (use_srtp, heartbeat); an
     * unknown type is ignored, repeats too. */
    CHECK_RC(ch_rc(SV_CH SV_CH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc("000e000100" SV_CH "000e000100"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc("000f000101" SV_CH "000f000101"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_OK(ch_rc("000e000100" SV_CH "000f000101"));
    CHECK_OK(ch_rc("ff01000100" SV_CH "ff01000100"));
    CHECK_OK(ch_rc("ff01000100" SV_CH "abcd0000" "000b00020100"));
    CHECK(last_ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_OTHER));
    /* However many unknown extensions (RFC 8446 4.2: ignored): 4,000
     * distinct empty ones, then 3,000 with payloads of 0..15 bytes and
     * types repeating, fill most of a 64 KiB block; a known type after
     * them twice is still found. */
    {
        static uint8_t exts[65535];
        const char *prefix = "0303" R32 "00" "00021301" "0100";
        size_t n = 0;
        for (unsigned i = 0; i < 4000; i++) {
            exts[n++] = (uint8_t)(0x80 + (i >> 8));
            exts[n++] = (uint8_t)i;
            exts[n++] = 0;
            exts[n++] = 0;
        }
        uint32_t x = 12345;
        for (unsigned i = 0; i < 3000; i++) {
            x = x * 1103515245u + 12345u;
            size_t len = (x >> 16) % 16;
            exts[n++] = 0xfa;
            exts[n++] = (uint8_t)(i % 7);
            exts[n++] = 0;
            exts[n++] = (uint8_t)len;
            for (size_t j = 0; j < len; j++)
                exts[n++] = (uint8_t)(x >> (j % 24));
        }
        CHECK(n < 65535 - 14);
        static const uint8_t sv[] = {0x00, 0x2b, 0x00, 0x03, 0x02, 0x03, 0x04};
        memcpy(exts + n, sv, sizeof sv);
        CHECK_OK(parse_exact(p_ch_keep, with_block(prefix, exts, n + sizeof sv)));
        CHECK(last_ch.exts_seen == (IOTLS_EXT_BIT(IOTLS_EXTID_OTHER) |
                                    IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS)));
        CHECK(last_ch.supported_versions.len == 2);
        memcpy(exts + n + sizeof sv, sv, sizeof sv);
        CHECK_RC(parse_exact(p_ch, with_block(prefix, exts, n + 2 * sizeof sv)),
                 IOTLS_ERR_ILLEGAL_PARAMETER);
        /* The same with the repeat at the very start and end. */
        memmove(exts + sizeof sv, exts, n + sizeof sv);
        memcpy(exts, sv, sizeof sv);
        CHECK_RC(parse_exact(p_ch, with_block(prefix, exts, n + 2 * sizeof sv)),
                 IOTLS_ERR_ILLEGAL_PARAMETER);
    }

    /* pre_shared_key: last, counts equal, bounds. */
    CHECK_OK(ch_rc(SV_CH PSK_EXT));
    CHECK(last_ch.last_ext_type == IOTLS_EXT_PRE_SHARED_KEY);
    CHECK(last_ch.binders_offset == 4 + 2 + 32 + 1 + 4 + 2 + 2 + 7 + 4 + 2 + 7);
    CHECK_RC(ch_rc(PSK_EXT SV_CH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc(PSK_EXT "abcd0000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc(SV_CH "00290033" "000e" "000161" "00000000" "000162" "00000000" "0021" "20"
                   "0000000000000000000000000000000000000000000000000000000000000000"),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc(SV_CH "0029002b" "0007" "000161" "00000000" "0020" "1f"
                   "00000000000000000000000000000000000000000000000000000000000000"),
             IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00290032" "000d" "0000" "00000000" "000161" "00000000" "0021" "20"
                   "0000000000000000000000000000000000000000000000000000000000000000"),
             IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00290009" "0007" "000161" "00000000"), IOTLS_ERR_DECODE);
    /* Two identities, two binders, the first one byte short of 32. */
    CHECK_RC(ch_rc(SV_CH "00290053" "000e" "000161" "00000000" "000162" "00000000" "0041"
                   "1f" "00000000000000000000000000000000000000000000000000000000000000"
                   "20" "0000000000000000000000000000000000000000000000000000000000000000"),
             IOTLS_ERR_DECODE);

    /* supported_versions <2..254>, even. */
    CHECK_RC(ch_rc("002b00020103"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc("002b000403030403"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc("002b00040203040000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc("002b000100"), IOTLS_ERR_DECODE);

    /* key_share. */
    CHECK_OK(ch_rc(SV_CH "003300020000"));
    CHECK(last_ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE));
    CHECK_RC(ch_rc(SV_CH "00330006" "0004" "001d0000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "0033000c" "000a" "001d0001aa" "001d0001bb"),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_OK(ch_rc(SV_CH "0033000c" "000a" "001d0001aa" "00170001bb"));
    /* Resource limit: 32 key shares. */
    {
        uint8_t exts[4 + 4 + 2 + 33 * 5];
        size_t n = 0;
        for (unsigned count = 32; count <= 33; count++) {
            n = 0;
            size_t list = count * 5;
            exts[n++] = 0x00;
            exts[n++] = 0x33;
            exts[n++] = (uint8_t)((list + 2) >> 8);
            exts[n++] = (uint8_t)(list + 2);
            exts[n++] = (uint8_t)(list >> 8);
            exts[n++] = (uint8_t)list;
            for (unsigned i = 0; i < count; i++) {
                exts[n++] = 0x01;
                exts[n++] = (uint8_t)i;
                exts[n++] = 0x00;
                exts[n++] = 0x01;
                exts[n++] = 0xaa;
            }
            int rc = parse_exact(p_ch, with_block("0303" R32 "00" "00021301" "0100", exts, n));
            CHECK_RC(rc, count == 32 ? IOTLS_OK : IOTLS_ERR_DECODE);
        }
    }
    CHECK_RC(ch_rc(SV_CH "00330008" "0006" "001d0001aa" "00"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00330008" "0005" "001d0001aa" "00"), IOTLS_ERR_DECODE);

    /* server_name. */
    CHECK_OK(ch_rc(SV_CH "00000008" "0006" "00" "0003616263"));
    CHECK(bytes_eq(last_ch.server_name, "616263"));
    CHECK_RC(ch_rc(SV_CH "0000000a" "0008" "00" "0005610062636a"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00000008" "0006" "01" "0003616263"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "0000000a" "0008" "00000161" "00000162"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc(SV_CH "000000020000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00000005" "0003" "000000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00000000"), IOTLS_ERR_DECODE);

    /* ALPN <2..2^16-1> of names <1..255>. */
    CHECK_OK(ch_rc(SV_CH "00100005" "0003" "026832"));
    CHECK(bytes_eq(last_ch.alpn, "026832"));
    CHECK_RC(ch_rc(SV_CH "00100003" "0001" "00"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00100004" "0002" "0061"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00100002" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "00100006" "0004" "02683205"), IOTLS_ERR_DECODE);

    /* psk_key_exchange_modes <1..255>. */
    CHECK_OK(ch_rc(SV_CH "002d0003020100"));
    CHECK(bytes_eq(last_ch.psk_modes, "0100"));
    CHECK_RC(ch_rc(SV_CH "002d000100"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "002d00020201"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "002d000402010000"), IOTLS_ERR_DECODE);

    /* record_size_limit >= 64, max_fragment_length 1..4. */
    CHECK_RC(ch_rc(SV_CH "001c0002003f"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_OK(ch_rc(SV_CH "001c00020040"));
    CHECK(last_ch.record_size_limit == 64);
    CHECK_RC(ch_rc(SV_CH "001c000400400000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "001c000140"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "0001000100"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ch_rc(SV_CH "0001000105"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_OK(ch_rc(SV_CH "0001000104"));
    CHECK(last_ch.max_fragment_length == 4);
    CHECK_RC(ch_rc(SV_CH "000100020100"), IOTLS_ERR_DECODE);

    /* cookie <1..2^16-1>; early_data and post_handshake_auth empty. */
    CHECK_RC(ch_rc(SV_CH "002c00020000"), IOTLS_ERR_DECODE);
    CHECK_OK(ch_rc(SV_CH "002c00030001aa"));
    CHECK(bytes_eq(last_ch.cookie, "aa"));
    CHECK_RC(ch_rc(SV_CH "002c00040001aabb"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "002a000100"), IOTLS_ERR_DECODE);
    CHECK_OK(ch_rc(SV_CH "002a0000"));
    CHECK(last_ch.early_data);
    CHECK_RC(ch_rc(SV_CH "0031000100"), IOTLS_ERR_DECODE);
    CHECK_OK(ch_rc(SV_CH "00310000"));
    CHECK(last_ch.post_handshake_auth);

    /* u16 lists: even, not empty. */
    CHECK_RC(ch_rc(SV_CH "000d00050003040305"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "000d00020000"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "000a00050003001d00"), IOTLS_ERR_DECODE);
    CHECK_RC(ch_rc(SV_CH "0032000400020403" "00"), IOTLS_ERR_DECODE);
    CHECK_OK(ch_rc(SV_CH "003200040002" "0403"));
    CHECK(bytes_eq(last_ch.signature_algorithms_cert, "0403"));

    /* certificate_authorities: syntax only. */
    CHECK_OK(ch_rc(SV_CH "002f0005" "0003" "000130"));
    CHECK_RC(ch_rc(SV_CH "002f0004" "0002" "0000"), IOTLS_ERR_DECODE);

    /* padding is ignored whatever it holds; unknown extensions too. */
    CHECK_OK(ch_rc(SV_CH "00150003ffffff" "fafa0001ff"));
}

static void test_server_hello_rules(void)
{
    CHECK_OK(sh_rc(SV_SH));
    CHECK(!last_sh.is_hrr && last_sh.selected_version == 0x0304);
    CHECK_OK(sh_rc("00330024001d0020" R32 SV_SH));
    CHECK(last_sh.key_share_group == 0x001d && last_sh.key_share.len == 32);
    CHECK_OK(sh_rc("002900020001" SV_SH));
    CHECK(last_sh.selected_identity == 1);

    /* Unknown in a TLS 1.3 ServerHello: never offered; known but not
     * allowed: illegal. */
    CHECK_RC(sh_rc("ff01000100" SV_SH), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(sh_rc(SV_SH "fafa0000"), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(sh_rc("00000000" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("002c00030001aa" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("002a0000" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("002d00020101" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("00150000" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc(SV_SH SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("002b0003020304"), IOTLS_ERR_DECODE);
    CHECK_RC(sh_rc("002b000103"), IOTLS_ERR_DECODE);
    CHECK_RC(sh_rc("00330002001d" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(sh_rc("00330004001d0000" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(sh_rc("00330006001d0001aa00" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(sh_rc("00290003000100" SV_SH), IOTLS_ERR_DECODE);

    /* HelloRetryRequest: key_share is the selected group alone, cookie is
     * allowed, pre_shared_key is not. */
    CHECK_OK(hrr_rc("003300020017" "002c00030001aa" SV_SH));
    CHECK(last_sh.is_hrr && last_sh.key_share_group == 0x0017 && bytes_eq(last_sh.cookie, "aa"));
    CHECK_RC(hrr_rc("00330006001d0002aabb" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(hrr_rc("002900020000" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(hrr_rc("002c00020000" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(hrr_rc("ff01000100" SV_SH), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(hrr_rc("002a0000" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);

    /* An older server's hello (no supported_versions) is syntax-checked
     * only, so the client can answer protocol_version. */
    CHECK_OK(sh_rc("ff01000100" "000b00020100" "00170000"));
    CHECK(last_sh.selected_version == 0);
    CHECK(last_sh.exts_seen == IOTLS_EXT_BIT(IOTLS_EXTID_OTHER));
    /* Unknown types are not remembered, so a repeat passes here too (the
     * client then answers protocol_version); a known one does not. */
    CHECK_OK(sh_rc("ff01000100" "ff01000100"));
    CHECK_RC(sh_rc("00000000" "00000000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(sh_rc("ff010005"), IOTLS_ERR_DECODE);
    CHECK_OK(raw_rc(p_sh_keep, "0303" R32 "00" "c02f" "00"));
    CHECK(last_sh.selected_version == 0 && last_sh.exts_seen == 0);

    CHECK_RC(raw_rc(p_sh, "0303" R32 "21" R32 "00" "1301" "00" "0006" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_sh, "0303" R32 "00" "1301" "00" "0007" SV_SH), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_sh, "0303" R32 "00" "1301" "00" "0006" SV_SH "00"), IOTLS_ERR_DECODE);
}

static void test_encrypted_extensions_rules(void)
{
    CHECK_OK(ee_rc(""));
    CHECK(last_ee.exts_seen == 0);
    CHECK_OK(ee_rc("001000050003026832" "0001000102" "00000000"));
    CHECK(bytes_eq(last_ee.alpn, "6832") && last_ee.max_fragment_length == 2 &&
          last_ee.server_name_ack);
    CHECK_RC(ee_rc("ff01000100"), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(ee_rc("000e0005000200010000"), IOTLS_ERR_UNSUPPORTED_EXTENSION); /* use_srtp */
    CHECK_RC(ee_rc("00330002001d"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc(SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("002900020000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("00150000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("002c00030001aa"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("00000000" "00000000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("0000000100"), IOTLS_ERR_DECODE);
    CHECK_RC(ee_rc("00100007" "0005" "0161" "026263"), IOTLS_ERR_DECODE);
    CHECK_RC(ee_rc("00100003" "0001" "00"), IOTLS_ERR_DECODE);
    CHECK_RC(ee_rc("001c0002003f"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("0001000105"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(ee_rc("002a000100"), IOTLS_ERR_DECODE);
    CHECK_RC(ee_rc("000a0003" "0001" "00"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ee, "0005" "00000000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ee, "0004" "00000000" "00"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_ee, "00"), IOTLS_ERR_DECODE);
}

static void test_certificate_request_rules(void)
{
    CHECK_OK(cr_rc("000d000400020804" "00050000" "abcd0001ff" "00120000" "0030000400020000"));
    CHECK(bytes_eq(last_cr.signature_algorithms, "0804"));
    CHECK(last_cr.signature_algorithms_cert.len == 0);
    CHECK(last_cr.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_STATUS_REQUEST));
    CHECK_OK(cr_rc("000d000400020804" "003200040002" "0403"));
    CHECK(bytes_eq(last_cr.signature_algorithms_cert, "0403"));
    CHECK_RC(cr_rc("abcd0000"), IOTLS_ERR_MISSING_EXTENSION);
    CHECK_RC(cr_rc(""), IOTLS_ERR_DECODE);
    CHECK_RC(cr_rc("000d000400020804" "00330002001d"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(cr_rc("000d000400020804" SV_SH), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(cr_rc("000d000400020804" "000d000400020804"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(cr_rc("000d00050003080400"), IOTLS_ERR_DECODE);
    CHECK_RC(cr_rc("000d000400020804" "002f00040002" "0000"), IOTLS_ERR_DECODE);
    /* A context of 255 bytes is fine; the context's length must fit. */
    {
        char prefix[2 + 2 * 255 + 1];
        strcpy(prefix, "ff");
        for (int i = 0; i < 255; i++)
            strcat(prefix, "5a");
        CHECK_OK(parse_exact(p_cr_keep, with_hex_block(prefix, "000d000400020804")));
        CHECK(last_cr.context.len == 255);
    }
    CHECK_RC(raw_rc(p_cr, "05aabb"), IOTLS_ERR_DECODE);
}

static void test_certificate_rules(void)
{
    CHECK_OK(cert_entry_rc(""));
    CHECK_RC(cert_entry_rc("00050000"), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(cert_entry_rc("00120000"), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(cert_entry_rc("fafa0000"), IOTLS_ERR_UNSUPPORTED_EXTENSION);
    CHECK_RC(cert_entry_rc("00330002001d"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(cert_entry_rc("000d000400020804"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(cert_entry_rc("0005"), IOTLS_ERR_DECODE);
    CHECK_RC(cert_entry_rc("00050001"), IOTLS_ERR_DECODE);

    iotls_certificate cert;
    CHECK_OK(raw_rc(p_cert, "00" "000000"));
    uint8_t two[] = {0x01, 0x77, 0x00, 0x00, 0x0d, 0x00, 0x00, 0x02, 0x30, 0x00,
                     0x00, 0x00, 0x00, 0x00, 0x01, 0x31, 0x00, 0x00};
    CHECK_OK(iotls__certificate_parse(two, sizeof(two), &cert));
    CHECK(cert.count == 2 && cert.context.len == 1 && cert.context.p[0] == 0x77);
    size_t pos = 0;
    iotls_bytes der;
    CHECK(iotls__certificate_next(cert.certificate_list, &pos, &der) && der.len == 2);
    CHECK(iotls__certificate_next(cert.certificate_list, &pos, &der) && der.len == 1 &&
          der.p[0] == 0x31);
    CHECK(!iotls__certificate_next(cert.certificate_list, &pos, &der));
    check_truncations("Certificate(2)", p_cert, two, sizeof(two), (size_t)-1);
    /* Empty cert_data; an entry cut short inside the list. */
    CHECK_RC(raw_rc(p_cert, "00" "000005" "000000" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_cert, "00" "000005" "0000013000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_cert, "00" "000004" "00000130"), IOTLS_ERR_DECODE);
}

static void test_small_message_rules(void)
{
    CHECK_OK(raw_rc(p_cv, "08040002aabb"));
    CHECK_RC(raw_rc(p_cv, "08040003aabb"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_cv, "08040001aabb"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_cv, "0804"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_cv, "08"), IOTLS_ERR_DECODE);

    CHECK_OK(nst_rc("00093a80", ""));
    CHECK(last_nst.lifetime == 604800 && last_nst.max_early_data == 0 && last_nst.exts_seen == 0);
    CHECK_RC(nst_rc("00093a81", ""), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(nst_rc("ffffffff", ""), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_OK(nst_rc("00000000", "fafa0001ff" "002a000400001000"));
    CHECK(last_nst.max_early_data == 0x1000);
    CHECK_RC(nst_rc("0000001e", "002a0003000010"), IOTLS_ERR_DECODE);
    CHECK_RC(nst_rc("0000001e", "002a000500001000ff"), IOTLS_ERR_DECODE);
    CHECK_RC(nst_rc("0000001e", "002a0000"), IOTLS_ERR_DECODE);
    CHECK_RC(nst_rc("0000001e", "002a000400001000" "002a000400001000"),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(nst_rc("0000001e", "00330002001d"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(nst_rc("0000001e", "00000000"), IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(raw_rc(p_nst, "0000001e" "01020304" "00" "0000" "0000"), IOTLS_ERR_DECODE);
    CHECK_RC(raw_rc(p_nst, "0000001e" "01020304" "02aa" "0001aa" "0000"), IOTLS_ERR_DECODE);

    uint8_t fin[48] = {0};
    iotls_bytes vd;
    CHECK_OK(iotls__finished_parse(fin, 48, 48, &vd));
    CHECK_RC(iotls__finished_parse(fin, 47, 48, &vd), IOTLS_ERR_DECODE);
    CHECK_RC(iotls__finished_parse(fin, 33, 32, &vd), IOTLS_ERR_DECODE);
    CHECK_RC(iotls__finished_parse(NULL, 0, 32, &vd), IOTLS_ERR_DECODE);
}

/* clang-format on */

/* ======================= writers ======================= */

static void test_client_hello_writer(void)
{
    uint8_t random[32], sid[32], key1[32], key2[65], cookie[3] = {1, 2, 3};
    memset(random, 0x42, sizeof(random));
    memset(sid, 0x07, sizeof(sid));
    memset(key1, 0x11, sizeof(key1));
    memset(key2, 0x04, sizeof(key2));
    static const uint16_t suites[] = {0x1301, 0x1303};
    static const uint16_t groups[] = {0x001d, 0x0017};
    static const uint16_t sig_algs[] = {0x0403, 0x0804};
    static const uint16_t sig_algs_cert[] = {0x0401};
    static const uint8_t alpn[] = {2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    static const uint8_t id1[] = {0xaa}, id2[] = {0xbb, 0xcc};
    const iotls_key_share_param shares[] = {{0x001d, key1, 32}, {0x0017, key2, 65}};
    const iotls_psk_param psks[] = {{id1, 1, 0x01020304, 32}, {id2, 2, 0x0a0b0c0d, 48}};
    iotls_client_hello_params p = {
        .random = random,
        .session_id = sid,
        .session_id_len = 32,
        .suites = suites,
        .suite_count = 2,
        .server_name = "device.example",
        .groups = groups,
        .group_count = 2,
        .sig_algs = sig_algs,
        .sig_alg_count = 2,
        .sig_algs_cert = sig_algs_cert,
        .sig_alg_cert_count = 1,
        .shares = shares,
        .share_count = 2,
        .alpn = alpn,
        .alpn_len = sizeof(alpn),
        .cookie = cookie,
        .cookie_len = 3,
        .record_size_limit = 16385,
        .early_data = 1,
        .psk_dhe_ke = 1,
        .psk_ke = 1,
        .psks = psks,
        .psk_count = 2,
    };
    msgbuf m;
    size_t binders_offset = 0;
    iotls_writer w;
    iotls__wr_init(&w, m.b, sizeof(m.b));
    CHECK_OK(iotls__client_hello_write(&w, &p, &binders_offset));
    m.len = w.len;
    CHECK(m.b[0] == IOTLS_HS_CLIENT_HELLO);
    CHECK(m.b[4] == 3 && m.b[5] == 3); /* legacy_version */
    /* Binders: zeros, 32 + 48 bytes, at the end of the message. */
    CHECK(binders_offset == m.len - 2 - 33 - 49);

    iotls_client_hello ch;
    CHECK_OK(iotls__client_hello_parse(body(&m), body_len(&m), &ch));
    check_truncations("written ClientHello", p_ch, body(&m), body_len(&m),
                      hello_ext_offset(body(&m), 1));
    CHECK(ch.legacy_version == 0x0303);
    CHECK(ch.random.len == 32 && memcmp(ch.random.p, random, 32) == 0);
    CHECK(ch.session_id.len == 32 && memcmp(ch.session_id.p, sid, 32) == 0);
    CHECK(bytes_eq(ch.cipher_suites, "13011303"));
    CHECK(bytes_eq(ch.compression_methods, "00"));
    CHECK(ch.server_name.len == 14 && memcmp(ch.server_name.p, "device.example", 14) == 0);
    CHECK(bytes_eq(ch.supported_versions, "0304"));
    CHECK(bytes_eq(ch.supported_groups, "001d0017"));
    CHECK(bytes_eq(ch.signature_algorithms, "04030804"));
    CHECK(bytes_eq(ch.signature_algorithms_cert, "0401"));
    CHECK(bytes_eq(ch.alpn, "0268320868747470 2f312e31"));
    CHECK(bytes_eq(ch.cookie, "010203"));
    CHECK(bytes_eq(ch.psk_modes, "0100"));
    CHECK(ch.early_data && ch.record_size_limit == 16385);
    CHECK(ch.binders_offset == binders_offset);
    CHECK(ch.last_ext_type == IOTLS_EXT_PRE_SHARED_KEY);
    CHECK(!(ch.exts_seen & IOTLS_EXT_BIT(IOTLS_EXTID_OTHER)));
    size_t pos = 0;
    iotls_key_share_entry e;
    CHECK(iotls__key_share_next(ch.key_shares, &pos, &e) && e.group == 0x001d &&
          e.key_exchange.len == 32 && e.key_exchange.p[0] == 0x11);
    CHECK(iotls__key_share_next(ch.key_shares, &pos, &e) && e.group == 0x0017 &&
          e.key_exchange.len == 65);
    CHECK(!iotls__key_share_next(ch.key_shares, &pos, &e));
    pos = 0;
    iotls_bytes name;
    CHECK(iotls__alpn_next(ch.alpn, &pos, &name) && name.len == 2 && name.p[0] == 'h');
    CHECK(iotls__alpn_next(ch.alpn, &pos, &name) && name.len == 8);
    CHECK(!iotls__alpn_next(ch.alpn, &pos, &name));
    pos = 0;
    iotls_bytes id;
    uint32_t age;
    CHECK(iotls__psk_identity_next(ch.psk_identities, &pos, &id, &age) && id.len == 1 &&
          age == 0x01020304);
    CHECK(iotls__psk_identity_next(ch.psk_identities, &pos, &id, &age) && id.len == 2 &&
          id.p[1] == 0xcc && age == 0x0a0b0c0d);
    CHECK(!iotls__psk_identity_next(ch.psk_identities, &pos, &id, &age));

    /* Patching the binders; the prefix before binders_offset is untouched. */
    msgbuf before = m;
    uint8_t b1[32], b2[48];
    memset(b1, 0xb1, sizeof(b1));
    memset(b2, 0xb2, sizeof(b2));
    CHECK_OK(iotls__client_hello_set_binder(m.b, m.len, binders_offset, 1, b2, 48));
    CHECK_OK(iotls__client_hello_set_binder(m.b, m.len, binders_offset, 0, b1, 32));
    CHECK(memcmp(m.b, before.b, binders_offset + 3) == 0);
    CHECK(memcmp(m.b + binders_offset + 3, b1, 32) == 0);
    CHECK(m.b[binders_offset + 35] == 48);
    CHECK(memcmp(m.b + binders_offset + 36, b2, 48) == 0);
    CHECK(binders_offset + 36 + 48 == m.len);
    CHECK_RC(iotls__client_hello_set_binder(m.b, m.len, binders_offset, 2, b1, 32),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__client_hello_set_binder(m.b, m.len, binders_offset, 1, b1, 32),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__client_hello_set_binder(m.b, m.len, binders_offset + 1, 0, b1, 32),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__client_hello_set_binder(m.b, m.len, m.len + 1, 0, b1, 32), IOTLS_ERR_BAD_ARG);
    CHECK_OK(iotls__client_hello_parse(body(&m), body_len(&m), &ch));
    pos = 0;
    iotls_bytes binder;
    CHECK(iotls__psk_binder_next(ch.psk_binders, &pos, &binder) && binder.p[0] == 0xb1);
    CHECK(iotls__psk_binder_next(ch.psk_binders, &pos, &binder) && binder.p[47] == 0xb2);

    /* Written after other bytes in the same buffer: offsets stay relative
     * to the message. */
    msgbuf shifted;
    iotls__wr_init(&w, shifted.b, sizeof(shifted.b));
    iotls__wr_zeros(&w, 5);
    size_t shifted_offset = 0;
    CHECK_OK(iotls__client_hello_write(&w, &p, &shifted_offset));
    CHECK(shifted_offset == binders_offset);
    CHECK(w.len == before.len + 5 && memcmp(shifted.b + 5, before.b, before.len) == 0);

    /* Every buffer too small fails without writing past its end. */
    int bad = 0;
    for (size_t cap = 0; cap < before.len; cap++) {
        uint8_t *small = malloc(cap ? cap : 1);
        iotls__wr_init(&w, small, cap);
        size_t off = 0;
        if (iotls__client_hello_write(&w, &p, &off) != IOTLS_ERR_BUFFER_TOO_SMALL)
            bad++;
        free(small);
    }
    CHECK(bad == 0);

    /* Parameter checks. */
    iotls_client_hello_params q = p;
    iotls__wr_init(&w, m.b, sizeof(m.b));
    CHECK_RC(iotls__client_hello_write(&w, &q, NULL), IOTLS_ERR_BAD_ARG); /* psks need the offset */
    q.session_id_len = 33;
    CHECK_RC(iotls__client_hello_write(&w, &q, &binders_offset), IOTLS_ERR_BAD_ARG);
    q = p;
    q.suite_count = 0;
    CHECK_RC(iotls__client_hello_write(&w, &q, &binders_offset), IOTLS_ERR_BAD_ARG);
    q = p;
    q.server_name = "";
    CHECK_RC(iotls__client_hello_write(&w, &q, &binders_offset), IOTLS_ERR_BAD_ARG);
    q = p;
    const iotls_psk_param short_binder[] = {{id1, 1, 0, 31}};
    q.psks = short_binder;
    q.psk_count = 1;
    CHECK_RC(iotls__client_hello_write(&w, &q, &binders_offset), IOTLS_ERR_BAD_ARG);
    q = p;
    q.record_size_limit = 63;
    CHECK_RC(iotls__client_hello_write(&w, &q, &binders_offset), IOTLS_ERR_BAD_ARG);
    CHECK(w.len == 0);

    /* The smallest hello: no SNI, no groups (psk_ke only), no PSK. Then
     * no key_share either; only supported_versions is always there. */
    iotls_client_hello_params min = {.random = random, .suites = suites, .suite_count = 1};
    iotls__wr_init(&w, m.b, sizeof(m.b));
    binders_offset = 99;
    CHECK_OK(iotls__client_hello_write(&w, &min, &binders_offset));
    CHECK(binders_offset == 0);
    CHECK_HEX(m.b, w.len,
              "01000032"
              "0303"
              "4242424242424242424242424242424242424242424242424242424242424242"
              "00"
              "00021301"
              "0100"
              "0007"
              "002b0003020304");
    /* Groups but no share: an empty client_shares asks for an HRR. */
    min.groups = groups;
    min.group_count = 1;
    iotls__wr_init(&w, m.b, sizeof(m.b));
    CHECK_OK(iotls__client_hello_write(&w, &min, NULL));
    CHECK_HEX(m.b + w.len - 21, 21,
              "000a00040002001d"
              "003300020000"
              "002b0003020304");
}

static void test_server_hello_writer(void)
{
    uint8_t random[32], key[32], sid[32], cookie[40];
    memset(random, 0x5e, sizeof(random));
    memset(key, 0x33, sizeof(key));
    memset(sid, 0x99, sizeof(sid));
    memset(cookie, 0xc0, sizeof(cookie));
    msgbuf m;
    iotls_server_hello sh;

    iotls_server_hello_params hrr = {.is_hrr = 1,
                                     .session_id_echo = sid,
                                     .session_id_len = 32,
                                     .cipher_suite = 0x1302,
                                     .key_share_group = 0x0018,
                                     .cookie = cookie,
                                     .cookie_len = sizeof(cookie)};
    WRITE_INTO(&m, iotls__server_hello_write(w, &hrr));
    CHECK_OK(iotls__server_hello_parse(body(&m), body_len(&m), &sh));
    check_truncations("written HRR", p_sh, body(&m), body_len(&m), hello_ext_offset(body(&m), 0));
    CHECK(sh.is_hrr && sh.cipher_suite == 0x1302 && sh.key_share_group == 0x0018);
    CHECK(sh.session_id_echo.len == 32 && sh.cookie.len == 40 && sh.key_share.len == 0);
    CHECK(sh.selected_version == 0x0304 && sh.legacy_version == 0x0303);
    CHECK(sh.exts_seen ==
          (IOTLS_EXT_BIT(IOTLS_EXTID_KEY_SHARE) | IOTLS_EXT_BIT(IOTLS_EXTID_COOKIE) |
           IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS)));

    /* psk_ke: no key_share at all. */
    iotls_server_hello_params psk_only = {
        .random = random, .cipher_suite = 0x1301, .has_psk = 1, .selected_identity = 3};
    WRITE_INTO(&m, iotls__server_hello_write(w, &psk_only));
    CHECK_HEX(m.b, m.len,
              "02000034"
              "0303"
              "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"
              "00"
              "1301"
              "00"
              "000c"
              "002900020003"
              "002b00020304");
    CHECK_OK(iotls__server_hello_parse(body(&m), body_len(&m), &sh));
    CHECK(!sh.is_hrr && sh.key_share_group == 0 && sh.selected_identity == 3);

    iotls_server_hello_params full = {.random = random,
                                      .cipher_suite = 0x1303,
                                      .key_share_group = 0x001d,
                                      .key_share = key,
                                      .key_share_len = 32};
    WRITE_INTO(&m, iotls__server_hello_write(w, &full));
    CHECK_OK(iotls__server_hello_parse(body(&m), body_len(&m), &sh));
    CHECK(sh.key_share_group == 0x001d && sh.key_share.len == 32 && sh.key_share.p[31] == 0x33);

    iotls_writer w;
    iotls__wr_init(&w, m.b, sizeof(m.b));
    full.key_share = NULL;
    CHECK_RC(iotls__server_hello_write(&w, &full), IOTLS_ERR_BAD_ARG);
    hrr.has_psk = 1;
    CHECK_RC(iotls__server_hello_write(&w, &hrr), IOTLS_ERR_BAD_ARG);
    iotls__wr_init(&w, m.b, 40);
    CHECK_RC(iotls__server_hello_write(&w, &psk_only), IOTLS_ERR_BUFFER_TOO_SMALL);
}

static void test_other_writers(void)
{
    msgbuf m;
    iotls_writer w;

    /* EncryptedExtensions with ALPN and max_fragment_length. */
    iotls_encrypted_extensions_params eep = {
        .alpn = (const uint8_t *)"h2", .alpn_len = 2, .max_fragment_length = 3, .early_data = 1};
    iotls_encrypted_extensions ee;
    WRITE_INTO(&m, iotls__encrypted_extensions_write(w, &eep));
    CHECK_HEX(m.b, m.len,
              "08000014"
              "0012"
              "002a0000"
              "0001000103"
              "001000050003026832");
    CHECK_OK(iotls__encrypted_extensions_parse(body(&m), body_len(&m), &ee));
    check_truncations("written EE", p_ee, body(&m), body_len(&m), (size_t)-1);
    CHECK(bytes_eq(ee.alpn, "6832") && ee.max_fragment_length == 3 && ee.early_data);
    CHECK(!ee.server_name_ack && ee.record_size_limit == 0);
    iotls_encrypted_extensions_params empty_ee = {0};
    WRITE_INTO(&m, iotls__encrypted_extensions_write(w, &empty_ee));
    CHECK_HEX(m.b, m.len, "080000020000");
    iotls__wr_init(&w, m.b, sizeof(m.b));
    eep.alpn_len = 0;
    CHECK_RC(iotls__encrypted_extensions_write(&w, &eep), IOTLS_ERR_BAD_ARG);

    /* CertificateRequest with a context (post-handshake style). */
    static const uint16_t algs[] = {0x0403, 0x0804};
    iotls_certificate_request cr;
    WRITE_INTO(&m, iotls__certificate_request_write(w, (const uint8_t *)"\x01\x02", 2, algs, 2));
    CHECK_HEX(m.b, m.len,
              "0d00000f"
              "020102"
              "000a"
              "000d000600040403"
              "0804");
    CHECK_OK(iotls__certificate_request_parse(body(&m), body_len(&m), &cr));
    CHECK(bytes_eq(cr.context, "0102") && bytes_eq(cr.signature_algorithms, "04030804"));
    iotls__wr_init(&w, m.b, sizeof(m.b));
    CHECK_RC(iotls__certificate_request_write(&w, NULL, 0, algs, 0), IOTLS_ERR_BAD_ARG);

    /* Certificate: two certificates, and the empty one a client sends. */
    static const uint8_t der1[] = {0x30, 0x03, 0x02, 0x01, 0x01}, der2[] = {0x30, 0x00};
    const uint8_t *ders[] = {der1, der2};
    const size_t lens[] = {sizeof(der1), sizeof(der2)};
    iotls_certificate cert;
    WRITE_INTO(&m, iotls__certificate_write(w, NULL, 0, ders, lens, 2));
    CHECK_HEX(m.b, m.len,
              "0b000015"
              "00"
              "000011"
              "000005"
              "3003020101"
              "0000"
              "000002"
              "3000"
              "0000");
    CHECK_OK(iotls__certificate_parse(body(&m), body_len(&m), &cert));
    CHECK(cert.count == 2);
    WRITE_INTO(&m, iotls__certificate_write(w, (const uint8_t *)"\x09", 1, NULL, NULL, 0));
    CHECK_HEX(m.b, m.len,
              "0b000005"
              "0109"
              "000000");
    CHECK_OK(iotls__certificate_parse(body(&m), body_len(&m), &cert));
    CHECK(cert.count == 0 && bytes_eq(cert.context, "09"));
    iotls__wr_init(&w, m.b, sizeof(m.b));
    const size_t zero_len[] = {0};
    CHECK_RC(iotls__certificate_write(&w, NULL, 0, ders, zero_len, 1), IOTLS_ERR_BAD_ARG);

    /* NewSessionTicket without early data: no extension. */
    iotls_new_session_ticket nst;
    WRITE_INTO(&m, iotls__new_session_ticket_write(w, 7200, 0xdeadbeef, (const uint8_t *)"\x00", 1,
                                                   (const uint8_t *)"tkt", 3, 0));
    CHECK_HEX(m.b, m.len,
              "04000011"
              "00001c20"
              "deadbeef"
              "0100"
              "0003746b74"
              "0000");
    CHECK_OK(iotls__new_session_ticket_parse(body(&m), body_len(&m), &nst));
    CHECK(nst.lifetime == 7200 && nst.age_add == 0xdeadbeef && nst.max_early_data == 0);
    CHECK(nst.exts_seen == 0 && bytes_eq(nst.ticket, "746b74"));
    iotls__wr_init(&w, m.b, sizeof(m.b));
    CHECK_RC(iotls__new_session_ticket_write(&w, 604801, 0, NULL, 0, (const uint8_t *)"t", 1, 0),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__new_session_ticket_write(&w, 1, 0, NULL, 0, NULL, 0, 0), IOTLS_ERR_BAD_ARG);

    /* CertificateVerify and Finished. */
    iotls_certificate_verify cv;
    WRITE_INTO(&m, iotls__certificate_verify_write(w, 0x0403, (const uint8_t *)"\x30\x00", 2));
    CHECK_HEX(m.b, m.len,
              "0f000006"
              "0403"
              "0002"
              "3000");
    CHECK_OK(iotls__certificate_verify_parse(body(&m), body_len(&m), &cv));
    CHECK(cv.scheme == 0x0403 && bytes_eq(cv.signature, "3000"));
    uint8_t vd[48];
    memset(vd, 0xfd, sizeof(vd));
    WRITE_INTO(&m, iotls__finished_write(w, vd, 48));
    CHECK(m.len == 52 && m.b[0] == 20 && m.b[3] == 48 && m.b[51] == 0xfd);
    iotls__wr_init(&w, m.b, 51);
    CHECK_RC(iotls__finished_write(&w, vd, 48), IOTLS_ERR_BUFFER_TOO_SMALL);
}

int main(void)
{
    test_extension_table();
    test_suite_properties();
    test_u16_list();
    test_msg_header();
    test_trace_client_hellos();
    test_trace_server_hellos();
    test_trace_encrypted_extensions();
    test_trace_certificates();
    test_trace_certificate_verify();
    test_trace_finished();
    test_trace_new_session_ticket();
    test_trace_certificate_request();
    test_key_update_and_end_of_early_data();
    test_client_hello_rules();
    test_server_hello_rules();
    test_encrypted_extensions_rules();
    test_certificate_request_rules();
    test_certificate_rules();
    test_small_message_rules();
    test_client_hello_writer();
    test_server_hello_writer();
    test_other_writers();
    return tl_finish("msg");
}
