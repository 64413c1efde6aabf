/* The CCM suites, TLS_AES_128_CCM_SHA256 and TLS_AES_128_CCM_8_SHA256
 * (RFC 8446 B.4), through the record layer and whole connections.
 *
 * CCM_8 is the one suite whose tag is 8 bytes, not 16: every length the
 * record layer computes from the tag (sealed size, the shortest protected
 * record, the inner plaintext a received record carries, the record size
 * limit) must come from the suite. Our client engine talks to our server
 * engine in memory with each CCM suite: the suite is negotiated only when
 * both list it (it is off by default), data of every size crosses both
 * ways, each record on the wire is exactly content + type + the suite's tag
 * longer than its content, and a record with one bit changed is refused
 * with bad_record_mac. The AEAD itself is checked against published
 * vectors in unit.aead_kex. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/mem.h"
#include "iotls/engine.h"
#include "record.h"
#include "enginepair.h"
#include "testlib.h"

static char g_dir[64];

static const struct {
    const char *name;
    uint16_t id;
    size_t tag_len;
} suites[] = {{"TLS_AES_128_CCM_SHA256", IOTLS_TLS_AES_128_CCM_SHA256, 16},
              {"TLS_AES_128_CCM_8_SHA256", IOTLS_TLS_AES_128_CCM_8_SHA256, 8}};

/* ---------------- the record layer ---------------- */

static void test_record(iotls_aead_alg alg, size_t tag_len)
{
    static uint8_t buf[IOTLS_MAX_RECORD];
    uint8_t key[16], iv[12];
    memset(key, 0x42, sizeof key);
    memset(iv, 0x24, sizeof iv);
    iotls_record_cipher tx, rx;
    memset(&tx, 0, sizeof tx);
    memset(&rx, 0, sizeof rx);
    CHECK_OK(iotls__record_cipher_init(&tx, alg, key, 16, iv));
    CHECK_OK(iotls__record_cipher_init(&rx, alg, key, 16, iv));
    CHECK(iotls__record_tag_len(&tx) == tag_len);
    CHECK(iotls__record_sealed_len(&tx, 100, 3) == IOTLS_RECORD_HEADER_LEN + 100 + 1 + 3 + tag_len);

    /* The largest record: 2^14 bytes of content, type and tag. */
    static uint8_t content[IOTLS_MAX_PLAINTEXT];
    for (size_t i = 0; i < sizeof content; i++)
        content[i] = (uint8_t)(i * 7);
    size_t len = 0;
    CHECK_OK(iotls__record_seal(&tx, IOTLS_CT_APPLICATION_DATA, content, sizeof content, 0, buf,
                                sizeof buf, &len));
    CHECK(len == IOTLS_RECORD_HEADER_LEN + sizeof content + 1 + tag_len);
    CHECK(((size_t)buf[3] << 8 | buf[4]) == sizeof content + 1 + tag_len);
    uint8_t type = 0, *got = NULL;
    size_t got_len = 0;
    CHECK_OK(iotls__record_open(&rx, buf, len, &type, &got, &got_len));
    CHECK(type == IOTLS_CT_APPLICATION_DATA && got_len == sizeof content &&
          memcmp(got, content, got_len) == 0);

    /* A one-byte alert: a body shorter than a 16-byte tag with CCM_8. */
    CHECK_OK(iotls__record_seal(&tx, IOTLS_CT_ALERT, (const uint8_t *)"\x01", 1, 0, buf, sizeof buf,
                                &len));
    CHECK(len == IOTLS_RECORD_HEADER_LEN + 2 + tag_len);
    CHECK_OK(iotls__record_open(&rx, buf, len, &type, &got, &got_len));
    CHECK(type == IOTLS_CT_ALERT && got_len == 1 && got[0] == 1);

    /* One bit of the tag changed: refused. */
    CHECK_OK(iotls__record_seal(&tx, IOTLS_CT_HANDSHAKE, content, 40, 0, buf, sizeof buf, &len));
    buf[len - 1] ^= 0x01;
    CHECK_RC(iotls__record_open(&rx, buf, len, &type, &got, &got_len), IOTLS_ERR_BAD_RECORD_MAC);

    /* A body shorter than the tag cannot be authentic. */
    iotls__record_cipher_free(&rx);
    CHECK_OK(iotls__record_cipher_init(&rx, alg, key, 16, iv));
    uint8_t tiny[IOTLS_RECORD_HEADER_LEN + 7] = {IOTLS_CT_APPLICATION_DATA, 3, 3, 0, 7};
    CHECK_RC(iotls__record_open(&rx, tiny, sizeof tiny, &type, &got, &got_len),
             IOTLS_ERR_BAD_RECORD_MAC);
    iotls__record_cipher_free(&tx);
    iotls__record_cipher_free(&rx);
    CHECK(iotls__record_tag_len(&tx) == 0);
}

/* ---------------- whole connections ---------------- */

static iotls_config *make_cfg(int server, const char *ciphers, int mutual)
{
    char a[128], b[128];
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    if (!cfg)
        return NULL;
    CHECK_OK(iotls_config_set_ca_file(cfg, tl_path_of(g_dir, a, sizeof a, "ca.pem")));
    if (server || mutual)
        CHECK_OK(iotls_config_set_cert_file(
            cfg, tl_path_of(g_dir, a, sizeof a, server ? "srv.pem" : "cli.pem"),
            tl_path_of(g_dir, b, sizeof b, server ? "srv.key" : "cli.key")));
    if (server && mutual)
        CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    if (ciphers)
        CHECK_OK(iotls_config_set_ciphers(cfg, ciphers));
    return cfg;
}

typedef struct {
    iotls_config *scfg, *ccfg;
    iotls_conn *sv, *cl;
    int rc;
} pair;

static void pair_open(pair *p, const char *server_ciphers, const char *client_ciphers, int mutual)
{
    memset(p, 0, sizeof *p);
    p->scfg = make_cfg(1, server_ciphers, mutual);
    p->ccfg = make_cfg(0, client_ciphers, mutual);
    p->sv = tl_conn_new(p->scfg, IOTLS_ROLE_SERVER, NULL);
    p->cl = tl_conn_new(p->ccfg, IOTLS_ROLE_CLIENT, "localhost");
    CHECK(p->sv != NULL && p->cl != NULL);
    if (!p->sv || !p->cl) {
        p->rc = IOTLS_ERR_INTERNAL;
        return;
    }
    CHECK_OK(iotls_conn_start(p->sv));
    CHECK_OK(iotls_conn_start(p->cl));
    p->rc = iotls__mem_pair_run(p->cl, p->sv, NULL);
}

static void pair_close(pair *p)
{
    tl_conn_free(p->sv);
    tl_conn_free(p->cl);
    iotls_config_free(p->scfg);
    iotls_config_free(p->ccfg);
}

/* Writes len bytes from one side, checks that every record of what goes on
 * the wire is exactly 5 + 1 + tag_len longer than the content it carries,
 * delivers it and reads it back on the other side. */
static void send_checked(iotls_conn *from, iotls_conn *to, const uint8_t *data, size_t len,
                         size_t tag_len)
{
    static uint8_t back[70000];
    size_t n = 0, done = 0, got = 0, records = 0, wire = 0;
    while (done < len) {
        CHECK_OK(iotls_conn_write(from, data + done, len - done, &n));
        CHECK(n > 0);
        if (n == 0)
            return;
        done += n;
        size_t out_len = 0;
        const uint8_t *out = iotls_conn_output(from, &out_len);
        for (size_t pos = 0; out != NULL && pos + IOTLS_RECORD_HEADER_LEN <= out_len;) {
            size_t body = (size_t)out[pos + 3] << 8 | out[pos + 4];
            CHECK(out[pos] == IOTLS_CT_APPLICATION_DATA);
            pos += IOTLS_RECORD_HEADER_LEN + body;
            records++;
        }
        wire += out_len;
        /* The receiver takes what its record buffer holds; read, then the
         * rest. */
        size_t taken = 0;
        while (taken < out_len) {
            size_t used = 0, r = 0;
            int rc = iotls_conn_input(to, out + taken, out_len - taken, &used);
            CHECK_OK(rc);
            if (rc != IOTLS_OK)
                return;
            taken += used;
            while (iotls_conn_read(to, back + got, sizeof back - got, &r) == IOTLS_OK && r > 0)
                got += r;
        }
        iotls_conn_output_consume(from, out_len);
    }
    CHECK(wire == len + records * (IOTLS_RECORD_HEADER_LEN + 1 + tag_len));
    CHECK(got == len && memcmp(back, data, len) == 0);
}

static void test_connection(size_t s, int mutual)
{
    char server_list[128];
    /* The server prefers GCM but also takes the client's only suite. */
    snprintf(server_list, sizeof server_list, "aes128gcm:chacha20:%s", suites[s].name);
    pair p;
    pair_open(&p, server_list, suites[s].name, mutual);
    CHECK_OK(p.rc);
    if (p.rc != IOTLS_OK) {
        fprintf(stderr, "%s%s: handshake failed\n", suites[s].name, mutual ? " (mutual)" : "");
        pair_close(&p);
        return;
    }
    iotls_info si, ci;
    CHECK_OK(iotls_conn_info(p.sv, &si));
    CHECK_OK(iotls_conn_info(p.cl, &ci));
    CHECK(si.cipher_suite == suites[s].id && ci.cipher_suite == suites[s].id);
    CHECK(strcmp(ci.cipher_suite_name, suites[s].name) == 0);

    static uint8_t data[40000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 131 + 7);
    /* 1 byte (a body shorter than 16 with CCM_8), a full record, several. */
    static const size_t sizes[] = {1, 4, 16384, 40000};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        send_checked(p.cl, p.sv, data, sizes[i], suites[s].tag_len);
        send_checked(p.sv, p.cl, data, sizes[i], suites[s].tag_len);
    }
    CHECK(iotls_conn_error(p.sv) == 0 && iotls_conn_error(p.cl) == 0);

    /* One bit of the last byte (the tag's) changed: bad_record_mac. */
    size_t n = 0, out_len = 0, used = 0;
    CHECK_OK(iotls_conn_write(p.cl, data, 10, &n));
    const uint8_t *out = iotls_conn_output(p.cl, &out_len);
    uint8_t forged[64];
    CHECK(out != NULL && out_len == IOTLS_RECORD_HEADER_LEN + 11 + suites[s].tag_len);
    if (out != NULL && out_len <= sizeof forged) {
        memcpy(forged, out, out_len);
        forged[out_len - 1] ^= 0x01;
        CHECK_RC(iotls_conn_input(p.sv, forged, out_len, &used), IOTLS_ERR_BAD_RECORD_MAC);
        CHECK_RC(iotls_conn_error(p.sv), IOTLS_ERR_BAD_RECORD_MAC);
    }
    pair_close(&p);
}

/* Off by default: a client that offers only a CCM suite finds no suite in
 * common with a server left at the defaults. */
static void test_off_by_default(size_t s)
{
    pair p;
    pair_open(&p, NULL, suites[s].name, 0);
    CHECK_RC(iotls_conn_error(p.sv), IOTLS_ERR_HANDSHAKE_FAILURE);
    pair_close(&p);
}

int main(void)
{
    test_record(IOTLS_AEAD_AES_128_CCM, 16);
    test_record(IOTLS_AEAD_AES_128_CCM_8, 8);
    snprintf(g_dir, sizeof g_dir, "/tmp/iotls-ccm-test-XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    if (tl_openssl_pki(g_dir, "iotls ccm CA", "iotls-ccm-client") != 0) {
        fprintf(stderr, "openssl command missing or failed: cannot make test certificates\n");
        CHECK(0);
    } else {
        for (size_t s = 0; s < sizeof suites / sizeof suites[0]; s++) {
            test_connection(s, 0);
            /* Client certificates are a feature an image may leave out
             * (the minimal profile does): mutual TLS only where built. */
            if (IOTLS_FEATURE_CLIENT_AUTH)
                test_connection(s, 1);
            test_off_by_default(s);
        }
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", g_dir);
    return tl_finish("ccm");
}
