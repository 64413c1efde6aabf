/* Record layer tests: RFC 8448 section 3 protected records byte for byte,
 * size limits, content-type recovery, sequence numbers, handshake
 * reassembly and fragmentation.
 *
 * The records, keys and IVs below are copied from the RFC 8448 trace in
 * ../shared/specs/rfc8448-traces.txt (section 3, "Simple 1-RTT Handshake");
 * the cipher suite there is TLS_AES_128_GCM_SHA256 and no record is padded. */
#include <stdlib.h>
#include <string.h>

#include "iotls/error.h"
#include "record.h"
#include "testlib.h"

/* ---- RFC 8448 section 3 ---- */

/* {server} derive write traffic keys for handshake data */
#define SERVER_HS_KEY "4d15c00e47317fe99c714f8ebd92c4d1"
#define SERVER_HS_IV "18223084735f2f2d8588caaa"
/* {server} derive read traffic keys for handshake data (= client write) */
#define CLIENT_HS_KEY "947fe41b60fa1bcf942d456268476e8d"
#define CLIENT_HS_IV "962df1fc720f9574f7d22248"
/* {server} derive write traffic keys for application data */
#define SERVER_AP_KEY "bbe6b3fc9c068c6fb331eca8aa919bfd"
#define SERVER_AP_IV "8057dc46846821a1bea306e0"
/* {client} derive write traffic keys for application data */
#define CLIENT_AP_KEY "d92b3e9a88ea7fe2ed69aa9c8b629e91"
#define CLIENT_AP_IV "37a828161ead2b6813ad0b13"

/* payload, 196 octets */
static const char CH_PAYLOAD[] =
    "010000c003036660261ff947cea49cce6cfad687f457cf1b14531ba14131a0e8f309a1d0b9c4000006130113"
    "031302010000910000000b0009000006736572766572ff01000100000a00140012001d001700180019010001"
    "0101020103010400230000003300260024001d00204cfdfcd178b784bf328cae793b136f2aedce005ff183d7"
    "bb1495207236647037002b0003020304000d0020001e04030503060302030804080508060401050106010201"
    "0402050206020202002d00020101001c00024001";
/* complete record, 201 octets */
static const char CH_RECORD[] =
    "16030100c4010000c003036660261ff947cea49cce6cfad687f457cf1b14531ba14131a0e8f309a1d0b9c400"
    "0006130113031302010000910000000b0009000006736572766572ff01000100000a00140012001d00170018"
    "00190100010101020103010400230000003300260024001d00204cfdfcd178b784bf328cae793b136f2aedce"
    "005ff183d7bb1495207236647037002b0003020304000d0020001e0403050306030203080408050806040105"
    "01060102010402050206020202002d00020101001c00024001";
/* payload, 90 octets */
static const char SH_PAYLOAD[] =
    "0200005603031274991495cf425857262dde2299342c315afba9b64a87d552515614e01b045d00130100002e"
    "00330024001d0020c7bb6bdfc26350b929a08a41a76ddac210b096868d960c4845987dc3a7fa650a002b0002"
    "0304";
/* complete record, 95 octets */
static const char SH_RECORD[] =
    "160303005a0200005603031274991495cf425857262dde2299342c315afba9b64a87d552515614e01b045d00"
    "130100002e00330024001d0020c7bb6bdfc26350b929a08a41a76ddac210b096868d960c4845987dc3a7fa65"
    "0a002b00020304";
/* payload, 657 octets */
static const char SERVER_FLIGHT_PAYLOAD[] =
    "080000240022000a00140012001d00170018001901000101010201030104001c00024001000000000b0001b9"
    "000001b50001b0308201ac30820115a003020102020102300d06092a864886f70d01010b0500300e310c300a"
    "06035504031303727361301e170d3136303733303031323335395a170d3236303733303031323335395a300e"
    "310c300a0603550403130372736130819f300d06092a864886f70d010101050003818d0030818902818100b4"
    "bb498f8279303d980836399b36c6988c0c68de55e1bdb826d3901a2461eafd2de49a91d015abbc9a95137ace"
    "6c1af19eaa6af98c7ced43120998e187a80ee0ccb0524b1b018c3e0b63264d449a6d38e22a5fda4308467480"
    "30530ef0461c8ca9d9efbfae8ea6d1d03e2bd193eff0ab9a8002c47428a6d35a8d88d79f7f1e3f0203010001"
    "a31a301830090603551d1304023000300b0603551d0f0404030205a0300d06092a864886f70d01010b050003"
    "81810085aad2a0e5b9276b908c65f73a7267170618a54c5f8a7b337d2df7a594365417f2eae8f8a58c8f8172"
    "f9319cf36b7fd6c55b80f21a03015156726096fd335e5e67f2dbf102702e608ccae6bec1fc63a42a99be5c3e"
    "b7107c3c54e9b9eb2bd5203b1c3b84e0a8b2f759409ba3eac9d91d402dcc0cc8f8961229ac9187b42b4de100"
    "000f00008408040080ace0af8e87d7c63cc9dbe7dcc12ff83bd55df0ccda9bf4e5a0f70100d9bc4d25aa684f"
    "d9d347642c942222526e163e3b0fba312b10e9b67eb0ac9c2be5fef490f81d7827e3bc12fa027ab439e71cc8"
    "459c14b94a8f3506ec44547d6c23e19cc7f9d5e0d1f595108fc240f5b0842c485a321487c4950377a52e9172"
    "94715567cd140000204c92b1b256d861a1830167827d3e288d1a76f03484e9ec886d4ff66149cbec2f";
/* complete record, 679 octets */
static const char SERVER_FLIGHT_RECORD[] =
    "17030302a2d86231e399eee4544f58e5c9ff1d0def3baa470ae2ed0b127c5dd471715673cef74b51fecac0d9"
    "d347ce9f43efe772ad20efddfa5b9a3911760311279599832e856ceba25bdc8071f97228277985b96f4e2b52"
    "0f48b129bd3f9bb8e0ba5ad5cb2513b7d9157fab22fbd5862a8631a194b4ece8e31dade9e6d019d5714833de"
    "181192b427a10fe4e929f637d55c3ecf0182191dee94df0cdeed15dcc6f114c5abdcc0626356cfe4dcf01102"
    "2c0e6a2431d688bbc829fa495bcb0e7456636b153c9c79a4f8cb083164c5f555ac78b8844a25d8c7b3f40d72"
    "26f53e6b6f0976989c70a327b6e7bf5316a20b8de99e25ab7d5e2faba2f53ef8f3713995023e678859cde121"
    "cf548625d61fe840f0c5749fc65c984c543a139a3185091aeb9eaca24d269a31501cc506bdf9b620994c8dc4"
    "bdc977afd9e971fad42eb1c9d05545fc37164a123233e370bb6afef2cbf7df710c95a4e20982cca1ebfc67a6"
    "ebb82e8ee5910a69ec085598ab497365c408aca90d13feea1d773af9899f9e37b74189f711ea08a960810c44"
    "9c141ab4ee2d4958021050e1bc4347fbfddb90e924752f1df76ed1ce7c0038ce1193b0e72e056c3e330914cb"
    "e656b80bbebf0359bf301e06901974baad55765f186c7b1c1304e1101181629351682a0a96e2a8442cd65234"
    "d55f4dcdc585c3a729aab205590a53a9ce9e4b0e1218f0952cc2806b5f46c59d88a172dac37c9f37afb91cea"
    "61665324b06d3ce79d7465d323ca9cb4ccd8d8adf21eefde6a24f36fe7e022139285de95dd6283e106773d11"
    "d07d9bf27ca9e9953a0c23730b159ff8aa0086d74e0ba5557257c2f308a55ff54c9c48547886f979fa841b8c"
    "2d6cd7a14ef642dda832badba34a3554fcd4092d8de04e432ccbdaa4eac28f922a29bd00a7d26f5072a3fa2d"
    "a1a228394a26a805dee090422794fb1476cff0";
/* payload, 36 octets */
static const char CLIENT_FINISHED_PAYLOAD[] =
    "1400002080a2c0d6cbc21078dba30affbf091929278edc832db4bfa1c811c9e8c67da9bb";
/* complete record, 58 octets */
static const char CLIENT_FINISHED_RECORD[] =
    "1703030035ed2b5675d3a8b0d0cedd0519d5e7573c4aa061f42daeecca1c5498e1f063a9c6c5f594e3859f56"
    "8a0bc5ee9ee49db23a0999f0aede";
/* payload, 205 octets */
static const char NST_PAYLOAD[] =
    "040000c90000001e933d093202000000b2f35edae4e60404d6f40fa17f000000008393d163fb4f5f105fe205"
    "6caeb32ac7007070045931026db07d58dd58090d629af59ecb7fba353d5d9653a708fbcf0f515c1b82db6b08"
    "977179dfc684d22fcf7bd5c12222ab63ffd9d2bc46176d144ae98ad93416894822ac5064065f92995a6f052f"
    "a3a731703657817ea7a8de73148661768f7f62098fb45c0a9dde04a9cf1aa4206f13dd055df3ed5fa681bbf8"
    "76e362ad9c0a68d2b5266c79aa806cbfe6113b0008002a000400000400";
/* complete record, 227 octets */
static const char NST_RECORD[] =
    "17030300dec047d7b25ebbc316ebeef66485649f1a3a6c1918b035c183ebde6bd30c2b97f4935e329714bb08"
    "af9c6d96da3c604443c0dbbeab8beecd90af0c3dbc53ea1c49deeb688f45f0f9e8cceec68ebbadd3a4425938"
    "acd99dca9ead9b6f6a297a9aa0d9ab910745f6732527817fd4134ac5e99cd6255e2388c89f83646e0e5fbe40"
    "44aa5a55a3530ca98ff56eb6b1dc685e5660a75a822efae533daed34745608aa9829ba84de3e7c4acfc8094e"
    "39d2af817421e55c3aa5d0e1de43c408bac9322599ef4e57dfd08a7af0d1186c96e6ac299bd07f5ee5b05683"
    "1964cb80768ce5";
/* payload, 50 octets */
static const char CLIENT_APP_PAYLOAD[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
    "2c2d2e2f3031";
/* complete record, 72 octets */
static const char CLIENT_APP_RECORD[] =
    "17030300436f75483d5af74e8419fadfd21404a9b5eba36b5170c504366f2da8ddc2bd7bfcaf3cbee33d8c01"
    "72f0f8485a1fa52d1364257cf5c509eaf35c39189b5278b5861b019f";
/* payload, 50 octets */
static const char SERVER_APP_PAYLOAD[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b"
    "2c2d2e2f3031";
/* complete record, 72 octets */
static const char SERVER_APP_RECORD[] =
    "1703030043cc8a45078c6c81b7461ff5624f6312aa44c3c101eb700e6248042f40baca0d988fefd11e945d27"
    "c7c364b5068580571908646e59a85e12690df143671095b3c93d705c";
/* payload, 2 octets */
static const char CLIENT_ALERT_PAYLOAD[] = "0100";
/* complete record, 24 octets */
static const char CLIENT_ALERT_RECORD[] = "170303001391e43d71d625149c7e221ca954b6a8958f12c0";
/* payload, 2 octets */
static const char SERVER_ALERT_PAYLOAD[] = "0100";
/* complete record, 24 octets */
static const char SERVER_ALERT_RECORD[] = "1703030013487b8fbbf30c49dd4817e394fa6c6f95816846";

static uint8_t *unhex_new(const char *hex, size_t *len)
{
    size_t cap = strlen(hex) / 2 + 1;
    uint8_t *p = malloc(cap);
    if (p == NULL)
        abort();
    *len = tl_unhex(hex, p, cap);
    return p;
}

static void cipher_from_hex(iotls_record_cipher *rc, const char *key_hex, const char *iv_hex)
{
    uint8_t key[16], iv[12];
    CHECK(tl_unhex(key_hex, key, sizeof key) == 16);
    CHECK(tl_unhex(iv_hex, iv, sizeof iv) == 12);
    CHECK_OK(iotls__record_cipher_init(rc, IOTLS_AEAD_AES_128_GCM, key, sizeof key, iv));
}

/* Opens the trace record with rc (whose seq must be the record's), checks
 * the content, then re-seals the content with the same seq and checks the
 * bytes are the trace's exactly: both directions of the record layer. */
static void check_trace_record(iotls_record_cipher *rc, uint8_t want_type, const char *payload_hex,
                               const char *record_hex, const char *what)
{
    size_t payload_len, record_len;
    uint8_t *payload = unhex_new(payload_hex, &payload_len);
    uint8_t *record = unhex_new(record_hex, &record_len);
    uint8_t *copy = malloc(record_len);
    uint8_t *sealed = malloc(record_len + 64);
    if (copy == NULL || sealed == NULL)
        abort();
    uint64_t seq = rc->seq;
    int failures_before = tl_failures;

    CHECK(iotls__record_sealed_len(rc, payload_len, 0) == record_len);

    memcpy(copy, record, record_len);
    uint8_t type = 0;
    uint8_t *content = NULL;
    size_t content_len = 0;
    CHECK_OK(iotls__record_open(rc, copy, record_len, &type, &content, &content_len));
    CHECK(type == want_type);
    CHECK(content_len == payload_len);
    CHECK(content == copy + IOTLS_RECORD_HEADER_LEN);
    CHECK(content_len == payload_len && memcmp(content, payload, payload_len) == 0);
    /* Unprotected records do not use (or advance) the sequence number. */
    uint64_t next_seq = rc->active ? seq + 1 : seq;
    CHECK(rc->seq == next_seq);

    /* Re-seal with the same sequence number: exact bytes. */
    rc->seq = seq;
    size_t out_len = 0;
    memset(sealed, 0xEE, record_len + 64);
    CHECK_OK(iotls__record_seal(rc, want_type, payload, payload_len, 0, sealed, record_len + 64,
                                &out_len));
    CHECK(out_len == record_len);
    CHECK(memcmp(sealed, record, record_len) == 0);
    CHECK(sealed[record_len] == 0xEE); /* nothing written past the record */
    CHECK(rc->seq == next_seq);

    /* And in place: the content already sits where the record body goes. */
    rc->seq = seq;
    memcpy(sealed + IOTLS_RECORD_HEADER_LEN, payload, payload_len);
    CHECK_OK(iotls__record_seal(rc, want_type, sealed + IOTLS_RECORD_HEADER_LEN, payload_len, 0,
                                sealed, record_len, &out_len));
    CHECK(out_len == record_len && memcmp(sealed, record, record_len) == 0);

    /* Exactly the record's size is enough; one byte less is not. */
    rc->seq = seq;
    CHECK_RC(iotls__record_seal(rc, want_type, payload, payload_len, 0, sealed, record_len - 1,
                                &out_len),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK(rc->seq == seq);
    rc->seq = next_seq;

    if (tl_failures != failures_before)
        fprintf(stderr, "  ... in trace record: %s\n", what);
    free(payload);
    free(record);
    free(copy);
    free(sealed);
}

static void test_rfc8448_records(void)
{
    iotls_record_cipher server_hs, client_hs, server_ap, client_ap, plain;
    memset(&server_hs, 0, sizeof server_hs);
    memset(&client_hs, 0, sizeof client_hs);
    memset(&server_ap, 0, sizeof server_ap);
    memset(&client_ap, 0, sizeof client_ap);
    memset(&plain, 0, sizeof plain);

    /* Plaintext records (no keys yet). The ClientHello record carries
     * legacy_record_version 0x0301, which a receiver accepts. */
    {
        size_t rec_len, pay_len;
        uint8_t *rec = unhex_new(CH_RECORD, &rec_len);
        uint8_t *pay = unhex_new(CH_PAYLOAD, &pay_len);
        uint8_t type = 0, *content = NULL;
        size_t content_len = 0;
        CHECK_OK(iotls__record_open(&plain, rec, rec_len, &type, &content, &content_len));
        CHECK(type == IOTLS_CT_HANDSHAKE && content_len == pay_len);
        CHECK(memcmp(content, pay, pay_len) == 0);
        free(rec);
        free(pay);
    }
    check_trace_record(&plain, IOTLS_CT_HANDSHAKE, SH_PAYLOAD, SH_RECORD, "ServerHello");
    CHECK(plain.seq == 0);

    cipher_from_hex(&server_hs, SERVER_HS_KEY, SERVER_HS_IV);
    cipher_from_hex(&client_hs, CLIENT_HS_KEY, CLIENT_HS_IV);
    cipher_from_hex(&server_ap, SERVER_AP_KEY, SERVER_AP_IV);
    cipher_from_hex(&client_ap, CLIENT_AP_KEY, CLIENT_AP_IV);

    /* Server: EE, Certificate, CertificateVerify, Finished in one record. */
    check_trace_record(&server_hs, IOTLS_CT_HANDSHAKE, SERVER_FLIGHT_PAYLOAD, SERVER_FLIGHT_RECORD,
                       "server handshake flight");
    /* Client Finished. */
    check_trace_record(&client_hs, IOTLS_CT_HANDSHAKE, CLIENT_FINISHED_PAYLOAD,
                       CLIENT_FINISHED_RECORD, "client Finished");
    /* Server application keys: NewSessionTicket (seq 0), data (1), alert (2). */
    check_trace_record(&server_ap, IOTLS_CT_HANDSHAKE, NST_PAYLOAD, NST_RECORD, "NewSessionTicket");
    check_trace_record(&server_ap, IOTLS_CT_APPLICATION_DATA, SERVER_APP_PAYLOAD, SERVER_APP_RECORD,
                       "server application data");
    check_trace_record(&server_ap, IOTLS_CT_ALERT, SERVER_ALERT_PAYLOAD, SERVER_ALERT_RECORD,
                       "server close_notify");
    CHECK(server_ap.seq == 3);
    /* Client application keys: data (seq 0), alert (1). */
    check_trace_record(&client_ap, IOTLS_CT_APPLICATION_DATA, CLIENT_APP_PAYLOAD, CLIENT_APP_RECORD,
                       "client application data");
    check_trace_record(&client_ap, IOTLS_CT_ALERT, CLIENT_ALERT_PAYLOAD, CLIENT_ALERT_RECORD,
                       "client close_notify");
    CHECK(client_ap.seq == 2);

    /* Wrong sequence number: the nonce differs, the tag does not verify. */
    {
        size_t rec_len;
        uint8_t *rec = unhex_new(SERVER_APP_RECORD, &rec_len);
        uint8_t type, *content;
        size_t content_len;
        server_ap.seq = 0; /* the record was sent with seq 1 */
        CHECK_RC(iotls__record_open(&server_ap, rec, rec_len, &type, &content, &content_len),
                 IOTLS_ERR_BAD_RECORD_MAC);
        CHECK(server_ap.seq == 0);
        free(rec);
    }
    /* Wrong keys (client's record with the server's keys). */
    {
        size_t rec_len;
        uint8_t *rec = unhex_new(CLIENT_FINISHED_RECORD, &rec_len);
        uint8_t type, *content;
        size_t content_len;
        server_hs.seq = 0;
        CHECK_RC(iotls__record_open(&server_hs, rec, rec_len, &type, &content, &content_len),
                 IOTLS_ERR_BAD_RECORD_MAC);
        free(rec);
    }
    /* Every byte of the record is authenticated: the header (it is the
     * AAD), the ciphertext and the tag. */
    {
        size_t rec_len;
        uint8_t *rec = unhex_new(CLIENT_ALERT_RECORD, &rec_len);
        uint8_t *copy = malloc(rec_len);
        if (copy == NULL)
            abort();
        int all_refused = 1;
        for (size_t i = 0; i < rec_len; i++) {
            if (i == 0 || i == 1 || i == 3 || i == 4)
                continue; /* type, major version, length: checked before the AEAD */
            memcpy(copy, rec, rec_len);
            copy[i] ^= 0x01;
            uint8_t type, *content;
            size_t content_len;
            client_ap.seq = 1;
            int rc = iotls__record_open(&client_ap, copy, rec_len, &type, &content, &content_len);
            if (rc != IOTLS_ERR_BAD_RECORD_MAC) {
                fprintf(stderr, "flipping byte %zu: %s\n", i, tl_errname(rc));
                all_refused = 0;
            }
        }
        CHECK(all_refused);
        free(rec);
        free(copy);
    }

    iotls__record_cipher_free(&server_hs);
    CHECK(server_hs.active == 0);
    uint8_t zero_iv[12] = {0};
    CHECK(memcmp(server_hs.iv, zero_iv, 12) == 0);
    iotls__record_cipher_free(&client_hs);
    iotls__record_cipher_free(&server_ap);
    iotls__record_cipher_free(&client_ap);
}

/* ---- nonce and sequence numbers ---- */

static void test_nonce_and_seq(void)
{
    iotls_record_cipher rc;
    memset(&rc, 0, sizeof rc);
    uint8_t key[16] = {1}, iv[12], nonce[12];
    tl_unhex("000102030405060708090a0b", iv, sizeof iv);
    CHECK_OK(iotls__record_cipher_init(&rc, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
    CHECK(rc.active && rc.seq == 0);
    iotls__record_nonce(&rc, nonce);
    CHECK_HEX(nonce, 12, "000102030405060708090a0b");
    rc.seq = 0x1122334455667788u;
    iotls__record_nonce(&rc, nonce);
    /* 04^11 05^22 06^33 07^44 08^55 09^66 0a^77 0b^88 */
    CHECK_HEX(nonce, 12, "00010203 15273543 5d6f7d83");

    /* The last usable sequence number is 2^64-2: the record layer refuses
     * to reach 2^64-1 rather than wrap and reuse a nonce. */
    uint8_t out[64];
    size_t out_len;
    rc.seq = UINT64_MAX - 1;
    CHECK_OK(iotls__record_seal(&rc, IOTLS_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, 0, out,
                                sizeof out, &out_len));
    CHECK(rc.seq == UINT64_MAX);
    CHECK_RC(iotls__record_seal(&rc, IOTLS_CT_APPLICATION_DATA, (const uint8_t *)"x", 1, 0, out,
                                sizeof out, &out_len),
             IOTLS_ERR_INTERNAL);
    CHECK(rc.seq == UINT64_MAX);
    /* The receiving side likewise. */
    iotls_record_cipher rx;
    memset(&rx, 0, sizeof rx);
    CHECK_OK(iotls__record_cipher_init(&rx, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
    rx.seq = UINT64_MAX - 1;
    uint8_t type, *content;
    size_t content_len;
    CHECK_OK(iotls__record_open(&rx, out, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && content_len == 1 && content[0] == 'x');
    CHECK_RC(iotls__record_open(&rx, out, out_len, &type, &content, &content_len),
             IOTLS_ERR_INTERNAL);

    /* Re-initialising (a key update) resets the sequence number. */
    CHECK_OK(iotls__record_cipher_init(&rc, IOTLS_AEAD_CHACHA20_POLY1305, out, 32, iv));
    CHECK(rc.seq == 0 && rc.active);
    iotls__record_cipher_free(&rc);
    iotls__record_cipher_free(&rc);
    iotls__record_cipher_free(&rx);
    /* Wrong key length is refused and leaves the cipher inactive. */
    CHECK_RC(iotls__record_cipher_init(&rc, IOTLS_AEAD_AES_256_GCM, key, 16, iv),
             IOTLS_ERR_BAD_ARG);
    CHECK(!rc.active);
}

/* ---- header parsing and limits ---- */

static void test_header(void)
{
    uint8_t h[5] = {IOTLS_CT_APPLICATION_DATA, 0x03, 0x03, 0x00, 0x00};
    uint8_t type = 0;
    size_t len = 99;
    CHECK_OK(iotls__record_header(h, 5, 1, &type, &len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && len == 0);
    CHECK_RC(iotls__record_header(h, 4, 1, &type, &len), IOTLS_WANT_READ);
    CHECK_RC(iotls__record_header(h, 0, 1, &type, &len), IOTLS_WANT_READ);

    /* 2^14 + 256 protected is the limit; one more is record_overflow. */
    h[3] = 0x41, h[4] = 0x00;
    CHECK_OK(iotls__record_header(h, 5, 1, &type, &len));
    CHECK(len == 16640);
    h[4] = 0x01;
    CHECK_RC(iotls__record_header(h, 5, 1, &type, &len), IOTLS_ERR_RECORD_OVERFLOW);
    /* 2^14 plaintext. */
    h[0] = IOTLS_CT_HANDSHAKE;
    h[3] = 0x40, h[4] = 0x00;
    CHECK_OK(iotls__record_header(h, 5, 0, &type, &len));
    CHECK(len == 16384 && type == IOTLS_CT_HANDSHAKE);
    h[4] = 0x01;
    CHECK_RC(iotls__record_header(h, 5, 0, &type, &len), IOTLS_ERR_RECORD_OVERFLOW);
    h[3] = 0xff, h[4] = 0xff;
    CHECK_RC(iotls__record_header(h, 5, 0, &type, &len), IOTLS_ERR_RECORD_OVERFLOW);

    /* Content types and versions. */
    h[3] = 0, h[4] = 2;
    for (unsigned t = 0; t < 256; t++) {
        h[0] = (uint8_t)t;
        int rc = iotls__record_header(h, 5, 0, &type, &len);
        int known = t >= 20 && t <= 23;
        CHECK(known ? rc == IOTLS_OK : rc == IOTLS_ERR_UNEXPECTED_MESSAGE);
    }
    h[0] = IOTLS_CT_ALERT;
    h[2] = 0x01; /* 0x0301: first ClientHello */
    CHECK_OK(iotls__record_header(h, 5, 0, &type, &len));
    h[2] = 0x04;
    CHECK_OK(iotls__record_header(h, 5, 0, &type, &len));
    h[1] = 0x02, h[2] = 0x00; /* SSL 2-ish */
    CHECK_RC(iotls__record_header(h, 5, 0, &type, &len), IOTLS_ERR_DECODE);
    h[1] = 0x16;
    CHECK_RC(iotls__record_header(h, 5, 0, &type, &len), IOTLS_ERR_DECODE);
}

/* Encrypts an arbitrary inner plaintext (content, type, padding already
 * laid out by the caller) as a record with rc's next sequence number: the
 * tool for building records that iotls__record_seal refuses to write. */
static size_t forge_record(iotls_record_cipher *rc, const uint8_t *inner, size_t inner_len,
                           uint8_t *out)
{
    size_t body = inner_len + IOTLS_AEAD_TAG_LEN;
    out[0] = IOTLS_CT_APPLICATION_DATA;
    out[1] = 0x03;
    out[2] = 0x03;
    out[3] = (uint8_t)(body >> 8);
    out[4] = (uint8_t)body;
    memmove(out + 5, inner, inner_len);
    uint8_t nonce[12];
    iotls__record_nonce(rc, nonce);
    CHECK_OK(iotls__aead_seal(&rc->aead, nonce, out, 5, out + 5, inner_len, out + 5));
    return 5 + body;
}

static void test_limits_and_inner_plaintext(void)
{
    static uint8_t data[IOTLS_MAX_PLAINTEXT + 2];
    static uint8_t rec[IOTLS_MAX_RECORD + 64];
    static uint8_t inner[IOTLS_MAX_CIPHERTEXT];
    uint8_t key[32] = {7}, iv[12] = {9};
    iotls_record_cipher tx, rx, plain;
    memset(&tx, 0, sizeof tx);
    memset(&rx, 0, sizeof rx);
    memset(&plain, 0, sizeof plain);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 1);
    size_t out_len = 0;
    uint8_t type, *content;
    size_t content_len;

    /* Plaintext records: 2^14 fits, 2^14 + 1 is refused. */
    CHECK_OK(
        iotls__record_seal(&plain, IOTLS_CT_HANDSHAKE, data, 16384, 0, rec, sizeof rec, &out_len));
    CHECK(out_len == 16389);
    CHECK_HEX(rec, 5, "1603034000");
    CHECK_OK(iotls__record_open(&plain, rec, out_len, &type, &content, &content_len));
    CHECK(content_len == 16384 && memcmp(content, data, 16384) == 0);
    CHECK_RC(
        iotls__record_seal(&plain, IOTLS_CT_HANDSHAKE, data, 16385, 0, rec, sizeof rec, &out_len),
        IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__record_seal(&plain, 24, data, 10, 0, rec, sizeof rec, &out_len),
             IOTLS_ERR_BAD_ARG);

    CHECK_OK(iotls__record_cipher_init(&tx, IOTLS_AEAD_AES_256_GCM, key, 32, iv));
    CHECK_OK(iotls__record_cipher_init(&rx, IOTLS_AEAD_AES_256_GCM, key, 32, iv));

    /* Protected: TLSInnerPlaintext may be 2^14 + 1 (content + type). */
    CHECK_OK(iotls__record_seal(&tx, IOTLS_CT_APPLICATION_DATA, data, 16384, 0, rec, sizeof rec,
                                &out_len));
    CHECK(out_len == 5 + 16384 + 1 + 16);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && content_len == 16384);
    CHECK(memcmp(content, data, 16384) == 0);
    CHECK_RC(iotls__record_seal(&tx, IOTLS_CT_APPLICATION_DATA, data, 16385, 0, rec, sizeof rec,
                                &out_len),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__record_seal(&tx, IOTLS_CT_APPLICATION_DATA, data, 16384, 1, rec, sizeof rec,
                                &out_len),
             IOTLS_ERR_BAD_ARG);
    /* Padding counts toward the limit. */
    CHECK_OK(
        iotls__record_seal(&tx, IOTLS_CT_HANDSHAKE, data, 100, 16284, rec, sizeof rec, &out_len));
    CHECK(out_len == 5 + 16385 + 16);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_HANDSHAKE && content_len == 100 && memcmp(content, data, 100) == 0);
    CHECK_RC(
        iotls__record_seal(&tx, IOTLS_CT_HANDSHAKE, data, 100, 16285, rec, sizeof rec, &out_len),
        IOTLS_ERR_BAD_ARG);
    CHECK(tx.seq == 2 && rx.seq == 2);

    /* Some padding: it is stripped and the type recovered behind it. */
    CHECK(iotls__record_sealed_len(&tx, 3, 40) == 5 + 3 + 1 + 40 + 16);
    CHECK_OK(iotls__record_seal(&tx, IOTLS_CT_ALERT, (const uint8_t *)"\x01\x00", 2, 40, rec,
                                sizeof rec, &out_len));
    CHECK(out_len == 5 + 2 + 1 + 40 + 16);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_ALERT && content_len == 2 && content[0] == 1 && content[1] == 0);
    /* Empty application data is a valid record. */
    CHECK_OK(
        iotls__record_seal(&tx, IOTLS_CT_APPLICATION_DATA, NULL, 0, 0, rec, sizeof rec, &out_len));
    CHECK(out_len == 5 + 1 + 16);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && content_len == 0);

    /* A forged inner plaintext of 2^14 + 1 content bytes plus the type:
     * within the ciphertext limit, but over the plaintext one. */
    memcpy(inner, data, 16385);
    inner[16385] = IOTLS_CT_APPLICATION_DATA;
    out_len = forge_record(&rx, inner, 16386, rec);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_RECORD_OVERFLOW);
    /* Short content but padding past the limit. */
    memset(inner, 0, sizeof inner);
    inner[0] = 'a';
    inner[1] = IOTLS_CT_APPLICATION_DATA;
    out_len = forge_record(&rx, inner, 16386, rec);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_RECORD_OVERFLOW);
    /* Exactly at the limit with padding: fine. */
    out_len = forge_record(&rx, inner, 16385, rec);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && content_len == 1 && content[0] == 'a');
    /* A ciphertext header over 2^14 + 256 is refused before decrypting. */
    rec[3] = 0x41, rec[4] = 0x01;
    CHECK_RC(iotls__record_open(&rx, rec, 5 + 16641, &type, &content, &content_len),
             IOTLS_ERR_RECORD_OVERFLOW);

    /* All-zero inner plaintext: no content type. */
    memset(inner, 0, 32);
    out_len = forge_record(&rx, inner, 32, rec);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    /* Empty inner plaintext (the record is just a tag). */
    out_len = forge_record(&rx, inner, 0, rec);
    CHECK(out_len == 5 + 16);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    /* change_cipher_spec or an unknown type inside a protected record. */
    inner[0] = 1;
    inner[1] = IOTLS_CT_CHANGE_CIPHER_SPEC;
    out_len = forge_record(&rx, inner, 2, rec);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    inner[1] = 0x42;
    out_len = forge_record(&rx, inner, 2, rec);
    CHECK_RC(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    /* The type is the last non-zero byte, whatever precedes it. */
    inner[0] = IOTLS_CT_HANDSHAKE;
    inner[1] = 0;
    inner[2] = IOTLS_CT_ALERT;
    inner[3] = 0;
    inner[4] = 0;
    out_len = forge_record(&rx, inner, 5, rec);
    CHECK_OK(iotls__record_open(&rx, rec, out_len, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_ALERT && content_len == 2);
    CHECK(content[0] == IOTLS_CT_HANDSHAKE && content[1] == 0);

    /* A body shorter than a tag. */
    uint64_t seq = rx.seq;
    memcpy(rec, "\x17\x03\x03\x00\x0f", 5);
    memset(rec + 5, 0, 15);
    CHECK_RC(iotls__record_open(&rx, rec, 20, &type, &content, &content_len),
             IOTLS_ERR_BAD_RECORD_MAC);
    CHECK(rx.seq == seq);
    /* Once protected, unprotected handshake and alert records are refused;
     * change_cipher_spec passes through as it is. */
    memcpy(rec, "\x15\x03\x03\x00\x02\x01\x00", 7);
    CHECK_RC(iotls__record_open(&rx, rec, 7, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    memcpy(rec, "\x16\x03\x03\x00\x04\x14\x00\x00\x00", 9);
    CHECK_RC(iotls__record_open(&rx, rec, 9, &type, &content, &content_len),
             IOTLS_ERR_UNEXPECTED_MESSAGE);
    memcpy(rec, "\x14\x03\x03\x00\x01\x01", 6);
    CHECK_OK(iotls__record_open(&rx, rec, 6, &type, &content, &content_len));
    CHECK(type == IOTLS_CT_CHANGE_CIPHER_SPEC && content_len == 1 && content[0] == 1);
    CHECK(rx.seq == seq);
    /* The caller must hand in exactly one whole record. */
    CHECK_RC(iotls__record_open(&rx, rec, 5, &type, &content, &content_len), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__record_open(&rx, rec, 3, &type, &content, &content_len), IOTLS_ERR_BAD_ARG);

    iotls__record_cipher_free(&tx);
    iotls__record_cipher_free(&rx);
}

/* ---- handshake reassembly ---- */

/* The four messages of the server's flight in the trace. */
static const uint8_t flight_types[4] = {8, 11, 15, 20};
static const size_t flight_lens[4] = {40, 445, 136, 36};

/* Feeds data in pieces of the given sizes (cycled) and checks that exactly
 * the server flight's four messages come out, each equal to its bytes. */
static void feed_flight(const uint8_t *flight, size_t flight_len, const size_t *steps,
                        size_t nsteps, const char *what)
{
    uint8_t buf[1024];
    iotls_hs_reasm r;
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    size_t got = 0, expect_off = 0, step = 0;
    int ok = 1;
    for (size_t off = 0; off < flight_len; step++) {
        size_t n = steps[step % nsteps];
        if (n > flight_len - off)
            n = flight_len - off;
        if (iotls__hs_reasm_add(&r, flight + off, n) != IOTLS_OK)
            ok = 0;
        off += n;
        uint8_t type;
        const uint8_t *msg;
        size_t msg_len;
        while (iotls__hs_reasm_next(&r, &type, &msg, &msg_len)) {
            if (got >= 4 || type != flight_types[got] || msg_len != flight_lens[got] ||
                memcmp(msg, flight + expect_off, msg_len) != 0)
                ok = 0;
            expect_off += msg_len;
            got++;
        }
        /* Whatever is held is an incomplete message. */
        if (iotls__hs_reasm_pending(&r) != off - expect_off)
            ok = 0;
    }
    if (!ok || got != 4)
        fprintf(stderr, "reassembly failed: %s (%zu messages)\n", what, got);
    CHECK(ok && got == 4);
    CHECK(iotls__hs_reasm_pending(&r) == 0);
    iotls__hs_reasm_wipe(&r);
    int zero = 1;
    for (size_t i = 0; i < sizeof buf; i++)
        zero &= buf[i] == 0;
    CHECK(zero);
}

/* The same through iotls__hs_reasm_feed with a buffer of exactly the largest
 * message (445 bytes): it takes only what each message needs; messages whole
 * inside one piece come out as views into it (no copy). */
static void feed_flight_by_message(const uint8_t *flight, size_t flight_len, const size_t *steps,
                                   size_t nsteps, const char *what)
{
    uint8_t buf[445];
    iotls_hs_reasm r;
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    size_t got = 0, expect_off = 0, step = 0, zero_copy = 0;
    int ok = 1;
    for (size_t off = 0; off < flight_len && ok; step++) {
        size_t n = steps[step % nsteps];
        if (n > flight_len - off)
            n = flight_len - off;
        const uint8_t *piece = flight + off;
        size_t pos = 0;
        while (pos < n && ok) {
            uint8_t type;
            const uint8_t *msg;
            size_t msg_len, used = 0;
            int rc = iotls__hs_reasm_feed(&r, piece + pos, n - pos, &used, &type, &msg, &msg_len);
            if (rc < 0 || used == 0 || used > n - pos)
                ok = 0;
            pos += used;
            if (rc != 1)
                continue;
            if (got >= 4 || type != flight_types[got] || msg_len != flight_lens[got] ||
                memcmp(msg, flight + expect_off, msg_len) != 0)
                ok = 0;
            if (msg >= piece && msg < piece + n)
                zero_copy++;
            /* Nothing of the next message is held yet. */
            if (iotls__hs_reasm_pending(&r) != 0)
                ok = 0;
            expect_off += msg_len;
            got++;
        }
        off += n;
    }
    if (!ok || got != 4)
        fprintf(stderr, "FAIL reassembly (feed, %s): got %zu messages\n", what, got);
    CHECK(ok && got == 4);
    if (nsteps == 1 && steps[0] >= flight_len)
        CHECK(zero_copy == 4); /* one record: all four handed out in place */
    iotls__hs_reasm_wipe(&r);
}

static void test_reassembly_feed(void)
{
    size_t flight_len;
    uint8_t *flight = unhex_new(SERVER_FLIGHT_PAYLOAD, &flight_len);
    static const size_t one[] = {1};
    static const size_t whole[] = {657};
    static const size_t odd[] = {3, 2, 1, 40, 500, 7};
    static const size_t split_hdr[] = {42, 2, 600};
    feed_flight_by_message(flight, flight_len, one, 1, "1-byte fragments");
    feed_flight_by_message(flight, flight_len, whole, 1, "all in one record");
    feed_flight_by_message(flight, flight_len, odd, 6, "odd splits");
    feed_flight_by_message(flight, flight_len, split_hdr, 3, "split inside a header");

    /* A header announcing more than the buffer (or max_msg) is refused at
     * once, whole or split; an empty payload is a decode error. */
    uint8_t buf[64];
    iotls_hs_reasm r;
    uint8_t type;
    const uint8_t *msg;
    size_t msg_len, used;
    static const uint8_t big[4] = {11, 0, 0, 61};
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    CHECK_RC(iotls__hs_reasm_feed(&r, big, 4, &used, &type, &msg, &msg_len),
             IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    CHECK(iotls__hs_reasm_feed(&r, big, 2, &used, &type, &msg, &msg_len) == 0 && used == 2);
    CHECK_RC(iotls__hs_reasm_feed(&r, big + 2, 2, &used, &type, &msg, &msg_len),
             IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    r.max_msg = 20;
    static const uint8_t mid[4] = {11, 0, 0, 17};
    CHECK_RC(iotls__hs_reasm_feed(&r, mid, 4, &used, &type, &msg, &msg_len),
             IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    CHECK_RC(iotls__hs_reasm_feed(&r, big, 0, &used, &type, &msg, &msg_len), IOTLS_ERR_DECODE);
    /* A message of exactly the buffer's size fits. */
    uint8_t exact[64] = {20, 0, 0, 60};
    CHECK(iotls__hs_reasm_feed(&r, exact, 30, &used, &type, &msg, &msg_len) == 0 && used == 30);
    CHECK(iotls__hs_reasm_pending(&r) == 30);
    CHECK(iotls__hs_reasm_feed(&r, exact + 30, 34, &used, &type, &msg, &msg_len) == 1);
    CHECK(used == 34 && msg_len == 64 && msg == buf && type == 20);
    CHECK(iotls__hs_reasm_pending(&r) == 0);
    free(flight);
}

/* In place (iotls__hs_reasm_init_in_place), as the receive path does it:
 * each piece is a record's payload, put right behind the part held at the
 * front of the record buffer (where the record is received and opened),
 * then fed from there. Messages come out as views into that buffer; an
 * incomplete one is moved to its front; the buffer is never written past
 * the held part plus one piece. */
static void feed_flight_in_place(const uint8_t *flight, size_t flight_len, const size_t *steps,
                                 size_t nsteps, const char *what)
{
    uint8_t rx[1024];
    iotls_hs_reasm r;
    iotls__hs_reasm_init_in_place(&r, rx, 445);
    size_t got = 0, expect_off = 0, step = 0, high = 0;
    int ok = r.cap == 0 && iotls__hs_reasm_pending(&r) == 0;
    for (size_t off = 0; off < flight_len && ok; step++) {
        size_t n = steps[step % nsteps];
        if (n > flight_len - off)
            n = flight_len - off;
        size_t front = iotls__hs_reasm_pending(&r);
        if (front + n > sizeof rx) {
            ok = 0;
            break;
        }
        memcpy(rx + front, flight + off, n);
        if (front + n > high)
            high = front + n;
        size_t pos = 0;
        while (pos < n && ok) {
            uint8_t type;
            const uint8_t *msg;
            size_t msg_len, used = 0;
            int rc =
                iotls__hs_reasm_feed(&r, rx + front + pos, n - pos, &used, &type, &msg, &msg_len);
            if (rc < 0 || used == 0 || used > n - pos)
                ok = 0;
            pos += used;
            if (rc != 1)
                continue;
            if (got >= 4 || type != flight_types[got] || msg_len != flight_lens[got] ||
                memcmp(msg, flight + expect_off, msg_len) != 0 || msg < rx ||
                msg + msg_len > rx + high)
                ok = 0;
            if (iotls__hs_reasm_pending(&r) != 0)
                ok = 0;
            expect_off += msg_len;
            got++;
        }
        /* What is left of a piece is held at the front, whole. */
        if (ok && expect_off < off + n &&
            (iotls__hs_reasm_pending(&r) != off + n - expect_off ||
             memcmp(rx, flight + expect_off, off + n - expect_off) != 0))
            ok = 0;
        off += n;
    }
    if (!ok || got != 4 || r.high != 0)
        fprintf(stderr, "FAIL reassembly (in place, %s): got %zu messages\n", what, got);
    CHECK(ok && got == 4 && r.high == 0);
}

static void test_reassembly_in_place(void)
{
    size_t flight_len;
    uint8_t *flight = unhex_new(SERVER_FLIGHT_PAYLOAD, &flight_len);
    static const size_t one[] = {1};
    static const size_t whole[] = {657};
    static const size_t two[] = {300, 357};
    static const size_t odd[] = {3, 2, 1, 40, 500, 7};
    static const size_t split_hdr[] = {42, 2, 600};
    /* Many records: one byte each. */
    feed_flight_in_place(flight, flight_len, one, 1, "1-byte records");
    feed_flight_in_place(flight, flight_len, whole, 1, "all in one record");
    /* One message over two records. */
    feed_flight_in_place(flight, flight_len, two, 2, "two records");
    /* 500: the end of a partial message, then whole messages, then the
     * start of the next, in one record. */
    feed_flight_in_place(flight, flight_len, odd, 6, "odd splits");
    feed_flight_in_place(flight, flight_len, split_hdr, 3, "split inside a header");

    uint8_t rx[64];
    iotls_hs_reasm r;
    uint8_t type;
    const uint8_t *msg;
    size_t msg_len, used;
    /* A header over max_msg is refused at once, whole or split across
     * records. */
    static const uint8_t big[4] = {11, 0, 0, 61};
    iotls__hs_reasm_init_in_place(&r, rx, 64);
    memcpy(rx, big, 4);
    CHECK_RC(iotls__hs_reasm_feed(&r, rx, 4, &used, &type, &msg, &msg_len),
             IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    iotls__hs_reasm_init_in_place(&r, rx, 64);
    memcpy(rx + 10, big, 2);
    CHECK(iotls__hs_reasm_feed(&r, rx + 10, 2, &used, &type, &msg, &msg_len) == 0 && used == 2);
    CHECK(iotls__hs_reasm_pending(&r) == 2 && rx[0] == big[0] && rx[1] == big[1]);
    memcpy(rx + 2, big + 2, 2);
    CHECK_RC(iotls__hs_reasm_feed(&r, rx + 2, 2, &used, &type, &msg, &msg_len),
             IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    /* A payload not joined right behind the held part is the caller's bug;
     * an empty payload is a decode error; the copying calls are refused. */
    iotls__hs_reasm_init_in_place(&r, rx, 64);
    static const uint8_t part[3] = {20, 0, 0};
    memcpy(rx, part, 3);
    CHECK(iotls__hs_reasm_feed(&r, rx, 3, &used, &type, &msg, &msg_len) == 0);
    CHECK_RC(iotls__hs_reasm_feed(&r, rx + 4, 1, &used, &type, &msg, &msg_len), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__hs_reasm_add(&r, part, 3), IOTLS_ERR_BAD_ARG);
    iotls__hs_reasm_init_in_place(&r, rx, 64);
    CHECK_RC(iotls__hs_reasm_feed(&r, rx, 0, &used, &type, &msg, &msg_len), IOTLS_ERR_DECODE);
    /* A message of exactly max_msg, over two records. */
    uint8_t exact[64] = {20, 0, 0, 60};
    for (size_t i = 4; i < sizeof exact; i++)
        exact[i] = (uint8_t)i;
    memcpy(rx, exact, 30);
    CHECK(iotls__hs_reasm_feed(&r, rx, 30, &used, &type, &msg, &msg_len) == 0 && used == 30);
    CHECK(iotls__hs_reasm_pending(&r) == 30);
    memcpy(rx + 30, exact + 30, 34);
    CHECK(iotls__hs_reasm_feed(&r, rx + 30, 34, &used, &type, &msg, &msg_len) == 1);
    CHECK(used == 34 && msg_len == 64 && msg == rx && type == 20 && memcmp(msg, exact, 64) == 0);
    CHECK(iotls__hs_reasm_pending(&r) == 0);
    /* Nothing of its own to wipe: the record buffer's owner wipes it. */
    iotls__hs_reasm_wipe(&r);
    CHECK(rx[4] == 4 && r.len == 0);
    free(flight);
}

static void test_reassembly(void)
{
    size_t flight_len;
    uint8_t *flight = unhex_new(SERVER_FLIGHT_PAYLOAD, &flight_len);
    CHECK(flight_len == 657);

    static const size_t one[] = {1};
    static const size_t whole[] = {657};
    static const size_t odd[] = {3, 2, 1, 40, 500, 7};
    static const size_t headers[] = {4, 40, 4, 445, 4, 136, 4, 36};
    static const size_t split_hdr[] = {42, 2, 600};
    feed_flight(flight, flight_len, one, 1, "1-byte fragments");
    feed_flight(flight, flight_len, whole, 1, "all coalesced in one record");
    feed_flight(flight, flight_len, odd, 6, "odd splits");
    feed_flight(flight, flight_len, headers, 8, "headers and bodies apart");
    feed_flight(flight, flight_len, split_hdr, 3, "split inside a header");

    uint8_t buf[64];
    iotls_hs_reasm r;
    uint8_t type;
    const uint8_t *msg;
    size_t msg_len;

    /* Nothing yet; an empty record payload is illegal. */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 0);
    CHECK_RC(iotls__hs_reasm_add(&r, flight, 0), IOTLS_ERR_DECODE);

    /* Zero-length messages (EndOfEarlyData) and a message filling the
     * buffer exactly. */
    uint8_t two[4 + 4];
    memcpy(two, "\x05\x00\x00\x00\x05\x00\x00\x00", 8);
    CHECK_OK(iotls__hs_reasm_add(&r, two, 8));
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1 && type == 5 && msg_len == 4);
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1 && type == 5 && msg_len == 4);
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 0);
    uint8_t full[64];
    memset(full, 0x5a, sizeof full);
    full[0] = 20, full[1] = 0, full[2] = 0, full[3] = 60;
    CHECK_OK(iotls__hs_reasm_add(&r, full, 30));
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 0);
    CHECK(iotls__hs_reasm_pending(&r) == 30);
    CHECK_OK(iotls__hs_reasm_add(&r, full + 30, 34));
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1);
    CHECK(type == 20 && msg_len == 64 && memcmp(msg, full, 64) == 0);

    /* Too large: refused as soon as the header is complete, here when its
     * last byte arrives and no body byte has. */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    full[3] = 61; /* 65 bytes with the header */
    CHECK_OK(iotls__hs_reasm_add(&r, full, 3));
    CHECK_RC(iotls__hs_reasm_add(&r, full + 3, 1), IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    full[1] = 0xff; /* 16 MiB announced */
    CHECK_RC(iotls__hs_reasm_add(&r, full, 4), IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    /* ... also when it follows a good message in the same record. */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    uint8_t pair[12];
    memcpy(pair, "\x05\x00\x00\x00\x0b\x01\x00\x00\x00\x00\x00\x00", 12);
    CHECK_RC(iotls__hs_reasm_add(&r, pair, 12), IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    /* Several messages that fit one by one but not all at once (the
     * buffer holds a record's worth of unconsumed messages). */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    uint8_t many[80];
    memset(many, 0, sizeof many);
    for (size_t i = 0; i < 80; i += 20)
        many[i] = 8, many[i + 3] = 16;
    CHECK_RC(iotls__hs_reasm_add(&r, many, 80), IOTLS_ERR_HANDSHAKE_TOO_LARGE);
    /* Consumed messages free their space at the next add. */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    for (int round = 0; round < 10; round++) {
        CHECK_OK(iotls__hs_reasm_add(&r, many, 40));
        CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1 && msg_len == 20);
        CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1 && msg_len == 20);
        CHECK(iotls__hs_reasm_pending(&r) == 0);
    }
    /* A partial message survives later adds intact. */
    iotls__hs_reasm_init(&r, buf, sizeof buf);
    CHECK_OK(iotls__hs_reasm_add(&r, many, 30)); /* one message and half of the next */
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1);
    CHECK(iotls__hs_reasm_pending(&r) == 10);
    CHECK_OK(iotls__hs_reasm_add(&r, many + 30, 10));
    CHECK(iotls__hs_reasm_next(&r, &type, &msg, &msg_len) == 1 && msg_len == 20);
    CHECK(memcmp(msg, many + 20, 20) == 0);
    free(flight);
}

/* ---- fragmentation ---- */

/* Opens every record in wire[0..len) with rx and reassembles the handshake
 * messages; returns the number of records. */
static size_t open_and_reassemble(iotls_record_cipher *rx, uint8_t *wire, size_t len,
                                  iotls_hs_reasm *r, size_t max_content)
{
    size_t records = 0, off = 0;
    while (off < len) {
        uint8_t type;
        size_t body = 0;
        CHECK_OK(iotls__record_header(wire + off, len - off, rx->active, &type, &body));
        uint8_t *content;
        size_t content_len;
        CHECK_OK(iotls__record_open(rx, wire + off, 5 + body, &type, &content, &content_len));
        CHECK(type == IOTLS_CT_HANDSHAKE);
        CHECK(content_len > 0 && content_len <= max_content);
        CHECK_OK(iotls__hs_reasm_add(r, content, content_len));
        off += 5 + body;
        records++;
    }
    return records;
}

/* Sealing in place gives byte for byte the records the copying version
 * gives, with the same sequence numbers; one byte short changes nothing. */
static void test_fragmentation_in_place(size_t len, size_t max_fragment, int protect)
{
    static uint8_t msg[20000], want[24000], buf[24000];
    for (size_t i = 0; i < len; i++)
        msg[i] = (uint8_t)(i * 13 + 1);
    uint8_t key[16] = {0x42}, iv[12] = {0x24};
    iotls_record_cipher a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    if (protect) {
        CHECK_OK(iotls__record_cipher_init(&a, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
        CHECK_OK(iotls__record_cipher_init(&b, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
        a.seq = b.seq = 7;
    }
    size_t want_len = 0, got_len = 0;
    CHECK_OK(iotls__record_write_fragmented(&a, IOTLS_CT_HANDSHAKE, msg, len, max_fragment, want,
                                            sizeof want, &want_len));
    memset(buf, 0xEE, sizeof buf);
    memcpy(buf + 5, msg, len);
    CHECK_RC(iotls__record_write_fragmented_in_place(&b, IOTLS_CT_HANDSHAKE, buf, len, max_fragment,
                                                     want_len - 1, &got_len),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK(memcmp(buf + 5, msg, len) == 0 && b.seq == (protect ? 7u : 0u));
    CHECK_OK(iotls__record_write_fragmented_in_place(&b, IOTLS_CT_HANDSHAKE, buf, len, max_fragment,
                                                     want_len, &got_len));
    CHECK(got_len == want_len && memcmp(buf, want, want_len) == 0);
    CHECK(a.seq == b.seq);
    iotls__record_cipher_free(&a);
    iotls__record_cipher_free(&b);
}

static void test_fragmentation(size_t max_fragment, int protect)
{
    enum { MSG_LEN = 40 * 1024 };
    static uint8_t msg[MSG_LEN];
    static uint8_t wire[MSG_LEN + 64 * 64];
    static uint8_t reasm_buf[MSG_LEN + 16];
    msg[0] = 11; /* a large Certificate */
    msg[1] = (uint8_t)((MSG_LEN - 4) >> 16);
    msg[2] = (uint8_t)((MSG_LEN - 4) >> 8);
    msg[3] = (uint8_t)(MSG_LEN - 4);
    for (size_t i = 4; i < MSG_LEN; i++)
        msg[i] = (uint8_t)(i ^ (i >> 8));

    uint8_t key[16] = {0x42}, iv[12] = {0x24};
    iotls_record_cipher tx, rx;
    memset(&tx, 0, sizeof tx);
    memset(&rx, 0, sizeof rx);
    if (protect) {
        CHECK_OK(iotls__record_cipher_init(&tx, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
        CHECK_OK(iotls__record_cipher_init(&rx, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
        tx.seq = 5;
        rx.seq = 5;
    }
    size_t per = max_fragment > IOTLS_MAX_PLAINTEXT ? IOTLS_MAX_PLAINTEXT : max_fragment;
    size_t nrec = (MSG_LEN + per - 1) / per;
    size_t overhead = 5 + (protect ? 17 : 0);
    size_t need = MSG_LEN + nrec * overhead;

    /* One byte short: nothing written, sequence number unchanged. */
    memset(wire, 0xEE, sizeof wire);
    size_t out_len = 12345;
    CHECK_RC(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, msg, MSG_LEN, max_fragment,
                                            wire, need - 1, &out_len),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK(out_len == 12345);
    CHECK(tx.seq == (protect ? 5u : 0u));
    int untouched = 1;
    for (size_t i = 0; i < sizeof wire; i++)
        untouched &= wire[i] == 0xEE;
    CHECK(untouched);

    /* Exactly enough room. */
    CHECK_OK(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, msg, MSG_LEN, max_fragment,
                                            wire, need, &out_len));
    CHECK(out_len == need);
    if (protect)
        CHECK(tx.seq == 5 + nrec);

    iotls_hs_reasm r;
    iotls__hs_reasm_init(&r, reasm_buf, sizeof reasm_buf);
    size_t got_records = open_and_reassemble(&rx, wire, out_len, &r, per);
    CHECK(got_records == nrec);
    uint8_t type;
    const uint8_t *out_msg;
    size_t out_msg_len;
    CHECK(iotls__hs_reasm_next(&r, &type, &out_msg, &out_msg_len) == 1);
    CHECK(type == 11 && out_msg_len == MSG_LEN);
    CHECK(out_msg_len == MSG_LEN && memcmp(out_msg, msg, MSG_LEN) == 0);
    CHECK(iotls__hs_reasm_next(&r, &type, &out_msg, &out_msg_len) == 0);
    CHECK(iotls__hs_reasm_pending(&r) == 0);

    /* The same message into a reassembly buffer one byte too small. */
    iotls__hs_reasm_init(&r, reasm_buf, MSG_LEN - 1);
    CHECK_RC(iotls__hs_reasm_add(&r, msg, 4), IOTLS_ERR_HANDSHAKE_TOO_LARGE);

    iotls__record_cipher_free(&tx);
    iotls__record_cipher_free(&rx);
}

static void test_fragmentation_edges(void)
{
    uint8_t key[16] = {1}, iv[12] = {2}, data[100], wire[512];
    size_t out_len = 0;
    iotls_record_cipher tx;
    memset(&tx, 0, sizeof tx);
    memset(data, 0x33, sizeof data);
    CHECK_OK(iotls__record_cipher_init(&tx, IOTLS_AEAD_AES_128_GCM, key, 16, iv));
    CHECK_RC(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, data, 100, 0, wire,
                                            sizeof wire, &out_len),
             IOTLS_ERR_BAD_ARG);
    /* Nothing to send: no records. */
    CHECK_OK(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, data, 0, 16, wire, sizeof wire,
                                            &out_len));
    CHECK(out_len == 0 && tx.seq == 0);
    /* Records that would need sequence number 2^64-1 are refused up front:
     * 4 records from 2^64-4 would use 2^64-4 .. 2^64-1. */
    tx.seq = UINT64_MAX - 3;
    CHECK_RC(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, data, 100, 25, wire,
                                            sizeof wire, &out_len),
             IOTLS_ERR_INTERNAL);
    CHECK(tx.seq == UINT64_MAX - 3);
    tx.seq = UINT64_MAX - 4;
    CHECK_OK(iotls__record_write_fragmented(&tx, IOTLS_CT_HANDSHAKE, data, 100, 25, wire,
                                            sizeof wire, &out_len));
    CHECK(tx.seq == UINT64_MAX && out_len == 4 * (5 + 25 + 17));
    iotls__record_cipher_free(&tx);
}

int main(void)
{
    test_rfc8448_records();
    test_nonce_and_seq();
    test_header();
    test_limits_and_inner_plaintext();
    test_reassembly();
    test_reassembly_feed();
    test_reassembly_in_place();
    test_fragmentation(16384, 1);
    test_fragmentation(1024, 1);
    test_fragmentation(20000, 1); /* clamped to 2^14 */
    test_fragmentation(16384, 0);
    test_fragmentation(1000, 0);
    test_fragmentation_edges();
    test_fragmentation_in_place(3000, 512, 1);
    test_fragmentation_in_place(3000, 512, 0);
    test_fragmentation_in_place(512, 512, 1);
    test_fragmentation_in_place(1, 16384, 1);
    test_fragmentation_in_place(20000, 16384, 1);
    test_fragmentation_in_place(20000, 64, 0);
    return tl_finish("record");
}
