/* The configuration setters (src/config/config.c): list parsing into exact
 * code points and wire bytes, rejection of bad input without touching the
 * config, bounds, and certificate/key loading with the pair check. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "iotls/iotls.h"
#include "enginepair.h"
#include "testlib.h"

/* 1 when the crypto library has all three groups; else it is the P-256
 * only configuration (Mbed TLS with p256-m, make test-psa-p256m). */
static int all_curves(void)
{
    return iotls__kex_supported(IOTLS_GROUP_X25519) && iotls__kex_supported(IOTLS_GROUP_SECP384R1);
}

static void test_defaults(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK(cfg->suite_count == 3);
    CHECK(cfg->suites[0] == 0x1301 && cfg->suites[1] == 0x1302 && cfg->suites[2] == 0x1303);
    if (all_curves()) {
        CHECK(cfg->group_count == 3);
        CHECK(cfg->groups[0] == 0x001d && cfg->groups[1] == 0x0017 && cfg->groups[2] == 0x0018);
    } else {
        /* A library with P-256 alone (Mbed TLS with p256-m): the defaults
         * are what it has, so a client never offers a group it cannot do. */
        CHECK(cfg->group_count == 1 && cfg->groups[0] == 0x0017);
    }
    CHECK(cfg->insecure_noverifycert == 0);
    CHECK(cfg->middlebox_compat == 1);
    CHECK(cfg->max_handshake == 16384);
    CHECK(cfg->alpn_len == 0);
    CHECK(cfg->has_ca == 0 && cfg->has_cert == 0);
    iotls_config_free(cfg);
    iotls_config_free(NULL); /* allowed, like free() */
}

static void test_groups_p256_only(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_groups(cfg, "P-256"));
    CHECK(cfg->group_count == 1 && cfg->groups[0] == 0x0017);
    /* Groups the library lacks are refused like unknown ones. */
    CHECK_RC(iotls_config_set_groups(cfg, "x25519"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "secp256r1,secp384r1"), IOTLS_ERR_CONFIG);
    CHECK(cfg->group_count == 1 && cfg->groups[0] == 0x0017);
    iotls_config_free(cfg);
}

static void test_groups(void)
{
    if (!all_curves()) {
        CHECK(iotls__kex_supported(IOTLS_GROUP_SECP256R1));
        test_groups_p256_only();
        return;
    }
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_groups(cfg, "secp384r1,x25519"));
    CHECK(cfg->group_count == 2);
    CHECK(cfg->groups[0] == 0x0018 && cfg->groups[1] == 0x001d);

    CHECK_OK(iotls_config_set_groups(cfg, "P-256"));
    CHECK(cfg->group_count == 1 && cfg->groups[0] == 0x0017);
    CHECK_OK(iotls_config_set_groups(cfg, "prime256v1: P-384 ,X25519"));
    CHECK(cfg->group_count == 3);
    CHECK(cfg->groups[0] == 0x0017 && cfg->groups[1] == 0x0018 && cfg->groups[2] == 0x001d);

    /* Rejected lists leave the previous setting alone. */
    CHECK_RC(iotls_config_set_groups(cfg, "x448"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "ffdhe2048"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "x25519,x25519"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "x25519,"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, ",x25519"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "x25519,,P-256"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, ""), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, " "), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, "x25519, secp256r1x"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_groups(cfg, NULL), IOTLS_ERR_BAD_ARG);
    CHECK(cfg->group_count == 3);
    CHECK(cfg->groups[0] == 0x0017 && cfg->groups[1] == 0x0018 && cfg->groups[2] == 0x001d);
    iotls_config_free(cfg);
}

static void test_ciphers(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_ciphers(cfg, "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"));
    CHECK(cfg->suite_count == 2);
    CHECK(cfg->suites[0] == 0x1303 && cfg->suites[1] == 0x1301);

    CHECK_OK(iotls_config_set_ciphers(cfg, "aes256gcm,chacha20,aes128gcm"));
    CHECK(cfg->suite_count == 3);
    CHECK(cfg->suites[0] == 0x1302 && cfg->suites[1] == 0x1303 && cfg->suites[2] == 0x1301);

    CHECK_OK(iotls_config_set_ciphers(cfg, "TLS_AES_256_GCM_SHA384"));
    CHECK(cfg->suite_count == 1 && cfg->suites[0] == 0x1302);

    /* The CCM suites are never in the defaults; listed, they are used, in
     * the order given, by either name. */
    iotls_config *dflt = iotls_config_new();
    for (size_t i = 0; i < dflt->suite_count; i++)
        CHECK(dflt->suites[i] != 0x1304 && dflt->suites[i] != 0x1305);
    iotls_config_free(dflt);
    CHECK_OK(iotls_config_set_ciphers(cfg, "TLS_AES_128_CCM_8_SHA256:TLS_AES_128_CCM_SHA256"));
    CHECK(cfg->suite_count == 2 && cfg->suites[0] == 0x1305 && cfg->suites[1] == 0x1304);
    CHECK_OK(iotls_config_set_ciphers(cfg, "aes128ccm,aes128gcm,aes128ccm8,aes256gcm,chacha20"));
    CHECK(cfg->suite_count == 5 && cfg->suites[0] == 0x1304 && cfg->suites[2] == 0x1305);
    CHECK_RC(iotls_config_set_ciphers(cfg, "aes128ccm:TLS_AES_128_CCM_SHA256"), IOTLS_ERR_CONFIG);
    CHECK_OK(iotls_config_set_ciphers(cfg, "TLS_AES_256_GCM_SHA384"));

    /* TLS 1.2 names and junk are not TLS 1.3 suites we do. */
    CHECK_RC(iotls_config_set_ciphers(cfg, "AES128-CCM8"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_ciphers(cfg, "ECDHE-ECDSA-AES128-GCM-SHA256"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_ciphers(cfg, "aes128gcm:RC4"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_ciphers(cfg, "aes128gcm:aes128gcm"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_ciphers(cfg, "aes128gcm:"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_ciphers(cfg, ""), IOTLS_ERR_CONFIG);
    CHECK(cfg->suite_count == 1 && cfg->suites[0] == 0x1302);
    iotls_config_free(cfg);
}

static void test_alpn(void)
{
    iotls_config *cfg = iotls_config_new();
#if !IOTLS_FEATURE_ALPN
    /* Built without ALPN (iotls/features.h): refused, nothing stored. */
    CHECK_RC(iotls_config_set_alpn(cfg, "h2,http/1.1"), IOTLS_ERR_UNSUPPORTED);
    CHECK(cfg->alpn_len == 0);
#else
    CHECK_OK(iotls_config_set_alpn(cfg, "h2,http/1.1"));
    /* RFC 7301 ProtocolNameList body: each name with a one-byte length. */
    CHECK_HEX(cfg->alpn, cfg->alpn_len, "02 6832 08 687474702f312e31");

    CHECK_OK(iotls_config_set_alpn(cfg, "mqtt"));
    CHECK_HEX(cfg->alpn, cfg->alpn_len, "04 6d717474");

    /* 255 bytes is the longest name, and it fills the 256-byte buffer. */
    char name[300];
    memset(name, 'a', 255);
    name[255] = '\0';
    CHECK_OK(iotls_config_set_alpn(cfg, name));
    CHECK(cfg->alpn_len == 256 && cfg->alpn[0] == 255 && cfg->alpn[255] == 'a');
    memset(name, 'b', 256);
    name[256] = '\0';
    CHECK_RC(iotls_config_set_alpn(cfg, name), IOTLS_ERR_CONFIG);
    /* Two names together over the wire limit. */
    memset(name, 'c', 200);
    strcpy(name + 200, ",");
    memset(name + 201, 'd', 60);
    name[261] = '\0';
    CHECK_RC(iotls_config_set_alpn(cfg, name), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_alpn(cfg, "h2,,http/1.1"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_alpn(cfg, "h2,"), IOTLS_ERR_CONFIG);
    CHECK(cfg->alpn_len == 256 && cfg->alpn[1] == 'a'); /* unchanged */

    /* Empty or NULL: no ALPN at all. */
    CHECK_OK(iotls_config_set_alpn(cfg, ""));
    CHECK(cfg->alpn_len == 0);
    CHECK_OK(iotls_config_set_alpn(cfg, "h2"));
    CHECK_OK(iotls_config_set_alpn(cfg, NULL));
    CHECK(cfg->alpn_len == 0);
#endif
    iotls_config_free(cfg);
}

/* Every setter returns a result: IOTLS_OK, or BAD_ARG without a
 * configuration (none is void). */
static uint64_t fixed_clock(void *arg)
{
    (void)arg;
    return 1;
}

static void test_setter_results(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_insecure_noverifycert(cfg));
    CHECK_OK(iotls_config_set_middlebox_compat(cfg, 0));
    CHECK_OK(iotls_config_set_timeout_ms(cfg, 5));
    CHECK_OK(iotls_config_set_connect_timeout_ms(cfg, 5));
    CHECK_OK(iotls_config_set_keylog(cfg, NULL, NULL));
    CHECK_OK(iotls_config_set_trace(cfg, NULL, NULL));
    CHECK_OK(iotls_config_set_ticket_cb(cfg, NULL, NULL));
    CHECK_OK(iotls_config_set_sni_cb(cfg, NULL, NULL));
    CHECK_OK(iotls_config_set_psk_ke(cfg, 1));
    CHECK_OK(iotls_config_set_key_update_limit(cfg, 10));
    CHECK_OK(iotls_config_set_time_cb(cfg, fixed_clock, NULL));
    CHECK_OK(iotls_config_set_early_data_replay(cfg, NULL, NULL));
    CHECK(cfg->insecure_noverifycert == 1 && cfg->timeout_ms == 5 && cfg->now_ms == fixed_clock);
    CHECK_RC(iotls_config_insecure_noverifycert(NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_middlebox_compat(NULL, 0), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_timeout_ms(NULL, 5), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_connect_timeout_ms(NULL, 5), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_keylog(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_trace(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_ticket_cb(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_sni_cb(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_psk_ke(NULL, 1), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_key_update_limit(NULL, 10), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_time_cb(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_early_data_replay(NULL, NULL, NULL), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_key_password(NULL, "x"), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_set_nonblocking(NULL, 1), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_conn_set_user(NULL, NULL), IOTLS_ERR_BAD_ARG);
    iotls *t = iotls_client_new(cfg);
    CHECK_OK(iotls_set_nonblocking(t, 1));
    iotls_free(t);
    iotls_config_free(cfg);
}

static void test_pins(void)
{
    iotls_config *cfg = iotls_config_new();
    const char *hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    CHECK_OK(iotls_config_add_pin_sha256(cfg, hex));
    CHECK(cfg->pin_count == 1);
    CHECK_HEX(cfg->pins[0], 32, hex);

    CHECK_OK(iotls_config_add_pin_sha256(
        cfg, "00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:13:14:15:16:17:18:19:1a:1b:"
             "1c:1d:1e:FF"));
    CHECK(cfg->pin_count == 2);
    CHECK_HEX(cfg->pins[1], 32, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1eff");

    /* One digit short or long, a non-hex digit, stray colons. */
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b8550a"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "g3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855:"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, ":e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
             IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(cfg, ""), IOTLS_ERR_CONFIG);
    /* curl's form, decoded by the crypto library: not base64, a hash of
     * another length, no padding where it is due. */
    CHECK_RC(iotls_config_add_pin_sha256(cfg, "sha256//!!!!"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(cfg, "sha256//AAAA"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(cfg, "sha256//"), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_add_pin_sha256(
                 cfg, "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=AAAA"),
             IOTLS_ERR_CONFIG);
    CHECK(cfg->pin_count == 2);
    /* The SHA-256 of nothing, as curl writes it: the same bytes as hex. */
    CHECK_OK(
        iotls_config_add_pin_sha256(cfg, "sha256//47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));
    CHECK(cfg->pin_count == 3);
    CHECK_HEX(cfg->pins[2], 32, hex);

    CHECK_OK(iotls_config_add_pin_sha256(cfg, hex));
    CHECK(cfg->pin_count == IOTLS_MAX_PINS);
    CHECK_RC(iotls_config_add_pin_sha256(cfg, hex), IOTLS_ERR_CONFIG);
    CHECK(cfg->pin_count == IOTLS_MAX_PINS);
    iotls_config_free(cfg);
}

static void test_scalars(void)
{
    iotls_config *cfg = iotls_config_new();
    CHECK_RC(iotls_config_set_max_handshake_size(cfg, 511), IOTLS_ERR_CONFIG);
    CHECK(cfg->max_handshake == 16384);
    CHECK_OK(iotls_config_set_max_handshake_size(cfg, 512));
    CHECK(cfg->max_handshake == 512);
    CHECK_OK(iotls_config_set_max_handshake_size(cfg, 4096));
    CHECK(cfg->max_handshake == 4096);
    CHECK_OK(iotls_config_set_max_handshake_size(cfg, 262144));
    CHECK(cfg->max_handshake == 262144);
    CHECK_RC(iotls_config_set_max_handshake_size(cfg, 262145), IOTLS_ERR_CONFIG);

    /* Longest ticket a client offers: 1..IOTLS_SESSION_MAX_TICKET, 0 (the
     * default, 4096) until set; out of range leaves it unchanged. */
    CHECK(cfg->max_ticket == 0);
    CHECK_RC(iotls_config_set_max_ticket_size(cfg, 0), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_max_ticket_size(cfg, 4097), IOTLS_ERR_CONFIG);
    CHECK(cfg->max_ticket == 0);
    CHECK_OK(iotls_config_set_max_ticket_size(cfg, 1));
    CHECK(cfg->max_ticket == 1);
    CHECK_OK(iotls_config_set_max_ticket_size(cfg, 4096));
    CHECK(cfg->max_ticket == 4096);
    CHECK_RC(iotls_config_set_max_ticket_size(NULL, 512), IOTLS_ERR_BAD_ARG);

    /* RSA modulus maximum: 2048..8192, 0 (the default 4096) until set. */
    CHECK(cfg->max_rsa_bits == 0);
    CHECK_RC(iotls_config_set_max_rsa_bits(cfg, 2047), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_max_rsa_bits(cfg, 8193), IOTLS_ERR_CONFIG);
    CHECK(cfg->max_rsa_bits == 0);
    CHECK_OK(iotls_config_set_max_rsa_bits(cfg, 2048));
    CHECK(cfg->max_rsa_bits == 2048);
    CHECK_OK(iotls_config_set_max_rsa_bits(cfg, 8192));
    CHECK(cfg->max_rsa_bits == 8192);
    CHECK_RC(iotls_config_set_max_rsa_bits(NULL, 4096), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_config_set_max_handshake_size(cfg, 0), IOTLS_ERR_CONFIG);
    CHECK(cfg->max_handshake == 262144);
    CHECK(cfg->max_record_plain == 16384);
    CHECK_RC(iotls_config_set_record_size(cfg, 511), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_record_size(cfg, 16385), IOTLS_ERR_CONFIG);
    CHECK(cfg->max_record_plain == 16384);
#if IOTLS_FEATURE_RECORD_SIZE
    CHECK_OK(iotls_config_set_record_size(cfg, 512));
    CHECK(cfg->max_record_plain == 512);
    CHECK_OK(iotls_config_set_record_size(cfg, 3000));
    CHECK(cfg->max_record_plain == 3000);
#else
    CHECK_RC(iotls_config_set_record_size(cfg, 512), IOTLS_ERR_UNSUPPORTED);
    CHECK_OK(iotls_config_set_record_size(cfg, 16384));
    CHECK(cfg->max_record_plain == 16384);
#endif
    CHECK_RC(iotls_config_set_record_size(NULL, 2048), IOTLS_ERR_BAD_ARG);

#if IOTLS_FEATURE_CLIENT_AUTH
    CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_REQUIRED));
    CHECK(cfg->verify_client == IOTLS_VERIFY_CLIENT_REQUIRED);
    CHECK_RC(iotls_config_set_verify_client(cfg, 3), IOTLS_ERR_CONFIG);
    CHECK_RC(iotls_config_set_verify_client(cfg, -1), IOTLS_ERR_CONFIG);
    CHECK(cfg->verify_client == IOTLS_VERIFY_CLIENT_REQUIRED);
#else
    CHECK_RC(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_REQUIRED),
             IOTLS_ERR_UNSUPPORTED);
    CHECK_OK(iotls_config_set_verify_client(cfg, IOTLS_VERIFY_CLIENT_NONE));
    CHECK(cfg->verify_client == IOTLS_VERIFY_CLIENT_NONE);
#endif

    iotls_config_insecure_noverifycert(cfg);
    CHECK(cfg->insecure_noverifycert == 1);
    iotls_config_set_middlebox_compat(cfg, 0);
    CHECK(cfg->middlebox_compat == 0);
    iotls_config_set_middlebox_compat(cfg, 7);
    CHECK(cfg->middlebox_compat == 1);
    iotls_config_set_timeout_ms(cfg, 1500);
    CHECK(cfg->timeout_ms == 1500);
    iotls_config_free(cfg);
}

/* ---- certificates and keys ---- */

static char ca_key[4096], ca_cert[4096], leaf_key[4096], leaf_cert[4096], other_key[4096];

static int make_pki(void)
{
    iotls_cert_spec leaf = {
        .subject = "CN=device", .dns_names = "device.local", .for_server = 1, .for_client = 1};
    int rc = tl_make_pki("CN=config test CA", &leaf, ca_key, ca_cert, leaf_key, leaf_cert,
                         sizeof ca_key);
    if (rc == IOTLS_OK)
        rc = iotls_pki_make_key(IOTLS_KEY_EC_P256, other_key, sizeof other_key);
    return rc;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

static void test_cert_mem(void)
{
    iotls_config *cfg = iotls_config_new();
    const uint8_t *cert = (const uint8_t *)leaf_cert, *key = (const uint8_t *)leaf_key;
    CHECK_OK(iotls_config_set_cert_mem(cfg, cert, strlen(leaf_cert), key, strlen(leaf_key)));
    CHECK(cfg->has_cert == 1);
    CHECK(iotls__x509_count(&cfg->cert) == 1);

    /* A key that is not the certificate's: refused, and no certificate is
     * left configured (rather than the old one silently kept). */
    CHECK_RC(iotls_config_set_cert_mem(cfg, cert, strlen(leaf_cert), (const uint8_t *)other_key,
                                       strlen(other_key)),
             IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_cert == 0);

    CHECK_RC(iotls_config_set_cert_mem(cfg, (const uint8_t *)"junk", 4, key, strlen(leaf_key)),
             IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls_config_set_cert_mem(cfg, cert, strlen(leaf_cert), (const uint8_t *)"junk", 4),
             IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_cert == 0);

    /* Chain with the CA after the leaf: both kept, leaf first. */
    char chain[8192];
    snprintf(chain, sizeof chain, "%s%s", leaf_cert, ca_cert);
    CHECK_OK(iotls_config_set_cert_mem(cfg, (const uint8_t *)chain, strlen(chain), key,
                                       strlen(leaf_key)));
    CHECK(cfg->has_cert == 1 && iotls__x509_count(&cfg->cert) == 2);
    char subject[128];
    CHECK_OK(iotls__x509_subject(&cfg->cert, 0, subject, sizeof subject));
    CHECK(strcmp(subject, "CN=device") == 0);

    CHECK_OK(iotls_config_set_ca_mem(cfg, (const uint8_t *)ca_cert, strlen(ca_cert)));
    CHECK(cfg->has_ca == 1 && iotls__x509_count(&cfg->ca) == 1);
    CHECK_RC(iotls_config_set_ca_mem(cfg, (const uint8_t *)"junk", 4), IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_ca == 0); /* fail closed */
    iotls_config_free(cfg);
}

static void test_cert_files(void)
{
    char dir[] = "/tmp/iotls_test_config_XXXXXX";
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    char cert_path[128], key_path[128], other_path[128], ca_path[128], missing[128];
    snprintf(cert_path, sizeof cert_path, "%s/cert.pem", dir);
    snprintf(key_path, sizeof key_path, "%s/key.pem", dir);
    snprintf(other_path, sizeof other_path, "%s/other.pem", dir);
    snprintf(ca_path, sizeof ca_path, "%s/ca.pem", dir);
    snprintf(missing, sizeof missing, "%s/missing.pem", dir);
    write_file(cert_path, leaf_cert);
    write_file(key_path, leaf_key);
    write_file(other_path, other_key);
    write_file(ca_path, ca_cert);

    iotls_config *cfg = iotls_config_new();
    CHECK_OK(iotls_config_set_cert_file(cfg, cert_path, key_path));
    CHECK(cfg->has_cert == 1);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, other_path), IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_cert == 0);
    CHECK_RC(iotls_config_set_cert_file(cfg, missing, key_path), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, missing), IOTLS_ERR_KEY_LOAD);
    /* Key and certificate swapped. */
    CHECK_RC(iotls_config_set_cert_file(cfg, key_path, cert_path), IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_cert == 0);

    /* iotls_config_error names the file and the cause. */
    CHECK_RC(iotls_config_set_cert_file(cfg, missing, key_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "certificate file ") != NULL &&
          strstr(iotls_config_error(cfg), missing) != NULL &&
          strstr(iotls_config_error(cfg), strerror(ENOENT)) != NULL);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, other_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "do not belong together") != NULL &&
          strstr(iotls_config_error(cfg), other_path) != NULL);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, ca_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "not a private key") != NULL);
    /* A key where the certificate should be: not a certificate. */
    CHECK_RC(iotls_config_set_cert_file(cfg, key_path, key_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "certificate file ") != NULL &&
          strstr(iotls_config_error(cfg), key_path) != NULL &&
          strstr(iotls_config_error(cfg), "no certificate in it (not PEM or DER") != NULL);
    CHECK_OK(iotls_config_set_cert_file(cfg, cert_path, key_path));
    CHECK(strcmp(iotls_config_error(cfg), "") == 0);

    /* An encrypted key (traditional PEM, which both providers decrypt):
     * refused without the passphrase and with a wrong one, each said so;
     * loaded with the right one. */
    char enc_path[160], cmd[512];
    snprintf(enc_path, sizeof enc_path, "%s/enc.pem", dir);
    snprintf(cmd, sizeof cmd,
             "openssl ec -in '%s' -aes128 -passout pass:s3cret -out '%s' 2>/dev/null", key_path,
             enc_path);
    CHECK(system(cmd) == 0);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, enc_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "encrypted") != NULL &&
          strstr(iotls_config_error(cfg), "iotls_config_set_key_password") != NULL);
    CHECK_OK(iotls_config_set_key_password(cfg, "wrong"));
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, enc_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "passphrase does not decrypt") != NULL);
    /* A wrong passphrase whose decryption passes the padding check (about
     * one random encryption in 256 does; this file is made so that it
     * always does: under "wrong" its first block starts 30 82 and its last
     * byte is 01) and then does not parse: still the passphrase's fault. */
    static const char wrong_but_padded[] =
        "-----BEGIN EC PRIVATE KEY-----\n"
        "Proc-Type: 4,ENCRYPTED\n"
        "DEK-Info: AES-128-CBC,5A17C0FFEE5A17C00011223344556677\n"
        "\n"
        "ypD2wWOsVLXlAyxyD+k5ghAHqaGFPa3OZoOc0dicG6rX6iwVtCluoJQpuwTMm687\n"
        "-----END EC PRIVATE KEY-----\n";
    char padded_path[160];
    snprintf(padded_path, sizeof padded_path, "%s/padded.pem", dir);
    FILE *padded = fopen(padded_path, "w");
    CHECK(padded != NULL && fputs(wrong_but_padded, padded) >= 0 && fclose(padded) == 0);
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, padded_path), IOTLS_ERR_KEY_LOAD);
    CHECK(strstr(iotls_config_error(cfg), "passphrase does not decrypt") != NULL);
    unlink(padded_path);
    CHECK_OK(iotls_config_set_key_password(cfg, "s3cret"));
    CHECK_OK(iotls_config_set_cert_file(cfg, cert_path, enc_path));
    CHECK(cfg->has_cert == 1);
    CHECK_OK(iotls_config_set_key_password(cfg, NULL));
    CHECK_RC(iotls_config_set_cert_file(cfg, cert_path, enc_path), IOTLS_ERR_KEY_LOAD);
    unlink(enc_path);

    CHECK_OK(iotls_config_set_ca_file(cfg, ca_path));
    CHECK(cfg->has_ca == 1);
    CHECK_RC(iotls_config_set_ca_file(cfg, missing), IOTLS_ERR_KEY_LOAD);
    CHECK(cfg->has_ca == 0);
    CHECK(strstr(iotls_config_error(cfg), missing) != NULL);
    /* The text is made when first asked for (config.c): a second call
     * gives the same words, and a setter that succeeds clears them. */
    static const uint8_t not_pem[] = "not a certificate";
    CHECK_RC(iotls_config_set_ca_mem(cfg, not_pem, sizeof not_pem - 1), IOTLS_ERR_KEY_LOAD);
    CHECK(strcmp(iotls_config_error(cfg),
                 "CA in memory: no usable certificate (PEM or DER, RSA or EC key)") == 0);
    CHECK(strcmp(iotls_config_error(cfg),
                 "CA in memory: no usable certificate (PEM or DER, RSA or EC key)") == 0);
    /* A directory holding one CA certificate (and a key, which is skipped). */
    CHECK_OK(iotls_config_set_ca_dir(cfg, dir));
    CHECK(cfg->has_ca == 1);
    CHECK(iotls__x509_count(&cfg->ca) >= 1);
    CHECK(strcmp(iotls_config_error(cfg), "") == 0);
    iotls_config_free(cfg);

    unlink(cert_path);
    unlink(key_path);
    unlink(other_path);
    unlink(ca_path);
    rmdir(dir);
}

int main(void)
{
    test_defaults();
    test_groups();
    test_ciphers();
    test_alpn();
    test_pins();
    test_setter_results();
    test_scalars();
    int rc = make_pki();
    CHECK_OK(rc);
    if (rc == IOTLS_OK) {
        test_cert_mem();
        test_cert_files();
    }
    return tl_finish("config");
}
