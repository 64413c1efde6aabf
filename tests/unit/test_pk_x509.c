/* Private keys, signatures, chain verification and the throwaway PKI of the
 * mbedTLS provider. The PKI is generated at test time with iotls_pki_*;
 * everything it produces is cross-checked with the openssl command line
 * (parse, chain verification, SPKI hash, signatures in both directions), so
 * the checks do not rest on our own code agreeing with itself. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/wait.h>

#include "crypto/crypto.h"
#include "iotls/error.h"
#include "iotls/config.h"
#include "testlib.h"

#ifndef IOTLS_CRYPTO_BACKEND_OPENSSL
#include <mbedtls/version.h>
#endif

/* Whether the library parses a certificate with a 4160-bit RSA key: the
 * PSA provider on Mbed TLS 4 does not, because its pk module holds RSA
 * keys in PSA, which takes none above PSA_VENDOR_RSA_MAX_KEY_BITS (4096
 * in the default configuration). */
#if defined(IOTLS_CRYPTO_BACKEND_PSA) && MBEDTLS_VERSION_NUMBER >= 0x04000000 &&                   \
    PSA_VENDOR_RSA_MAX_KEY_BITS < 4160
#define BIG_RSA_PARSES 0
#else
#define BIG_RSA_PARSES 1
#endif

#define PEM_CAP 4096

static char tmpdir[64];

/* ---- helpers: files and the openssl command line ---- */

static const char *path_of(const char *name)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *name, const void *data, size_t len)
{
    FILE *f = fopen(path_of(name), "wb");
    if (f == NULL || fwrite(data, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", name);
        exit(2);
    }
    fclose(f);
}

static size_t read_file(const char *name, uint8_t *out, size_t cap)
{
    FILE *f = fopen(path_of(name), "rb");
    if (f == NULL)
        return 0;
    size_t n = fread(out, 1, cap, f);
    fclose(f);
    return n;
}

/* Runs a shell command (in tmpdir), captures up to cap-1 bytes of its
 * stdout and stderr, returns its exit status (-1 if it could not run). */
static int run(char *out, size_t cap, const char *fmt, ...)
{
    char cmd[2048], full[2300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    snprintf(full, sizeof(full), "cd '%s' && ( %s ) 2>&1", tmpdir, cmd);
    FILE *p = popen(full, "r");
    if (p == NULL)
        return -1;
    size_t n = 0;
    char sink[256];
    if (out != NULL && cap > 0) {
        n = fread(out, 1, cap - 1, p);
        out[n] = '\0';
    }
    while (fread(sink, 1, sizeof(sink), p) > 0) {
    }
    int status = pclose(p);
    return (status >= 0 && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
}

/* ---- the test PKI ---- */

typedef struct {
    char key[PEM_CAP];
    char cert[PEM_CAP];
} ident;

static ident ca, inter, inter384, leaf, leaf384, leaf_rsa, expired, other_ca, other_leaf,
    client_only;
static int64_t now;

static void make(ident *id, iotls_key_type type, const iotls_cert_spec *spec, const ident *issuer,
                 const char *name)
{
    CHECK_OK(iotls_pki_make_key(type, id->key, sizeof(id->key)));
    CHECK_OK(iotls_pki_make_cert(spec, id->key, issuer ? issuer->key : NULL,
                                 issuer ? issuer->cert : NULL, id->cert, sizeof(id->cert)));
    char file[64];
    snprintf(file, sizeof(file), "%s.pem", name);
    write_file(file, id->cert, strlen(id->cert));
    snprintf(file, sizeof(file), "%s.key", name);
    write_file(file, id->key, strlen(id->key));
}

static void make_pki(void)
{
    now = (int64_t)time(NULL);
    iotls_cert_spec s;

    /* CAs valid from 30 days ago for a year, so that policy.now can move
     * within the leaves' validity while the CAs stay valid. */
    memset(&s, 0, sizeof(s));
    s.subject = "CN=iotls test CA,O=iotls";
    s.is_ca = 1;
    s.not_before = now - 30 * 86400;
    s.not_after = now + 365 * 86400;
    make(&ca, IOTLS_KEY_EC_P256, &s, NULL, "ca");

    s.subject = "CN=iotls test intermediate,O=iotls";
    make(&inter, IOTLS_KEY_EC_P256, &s, &ca, "inter");

    s.subject = "CN=iotls test intermediate P-384,O=iotls";
    make(&inter384, IOTLS_KEY_EC_P384, &s, &ca, "inter384");

    s.subject = "CN=other CA,O=elsewhere";
    make(&other_ca, IOTLS_KEY_EC_P256, &s, NULL, "other_ca");

    memset(&s, 0, sizeof(s));
    s.subject = "CN=device.example,O=iotls";
    s.dns_names = "device.example, *.wild.example";
    s.ip_addrs = "127.0.0.1,::1";
    s.for_server = 1;
    make(&leaf, IOTLS_KEY_EC_P256, &s, &inter, "leaf");
    make(&other_leaf, IOTLS_KEY_EC_P256, &s, &other_ca, "other_leaf");

    s.not_before = now - 10 * 86400;
    s.not_after = now - 86400;
    make(&expired, IOTLS_KEY_EC_P256, &s, &inter, "expired");

    s.not_before = 0;
    s.not_after = 0;
    s.for_server = 0;
    s.for_client = 1;
    make(&client_only, IOTLS_KEY_EC_P256, &s, &inter, "client_only");

    memset(&s, 0, sizeof(s));
    s.subject = "CN=p384.example";
    s.dns_names = "p384.example";
    s.for_server = 1;
    s.for_client = 1;
    make(&leaf384, IOTLS_KEY_EC_P384, &s, &inter384, "leaf384");

    s.subject = "CN=rsa.example";
    s.dns_names = "rsa.example";
    make(&leaf_rsa, IOTLS_KEY_RSA_2048, &s, &inter, "leaf_rsa");
}

static void load_chain(iotls_x509 *chain, const ident *a, const ident *b)
{
    iotls__x509_init(chain);
    CHECK_OK(iotls__x509_load_mem(chain, (const uint8_t *)a->cert, strlen(a->cert)));
    if (b != NULL)
        CHECK_OK(iotls__x509_load_mem(chain, (const uint8_t *)b->cert, strlen(b->cert)));
}

static void load_key(iotls_pkey *key, const ident *id)
{
    iotls__pkey_init(key);
    CHECK_OK(iotls__pkey_load_mem(key, (const uint8_t *)id->key, strlen(id->key), NULL));
}

/* ---- checks ---- */

static void test_openssl_accepts_pki(void)
{
    char out[8192];
    static const char *all[] = {"ca",         "inter",   "inter384",    "other_ca", "leaf",
                                "other_leaf", "expired", "client_only", "leaf384",  "leaf_rsa"};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        int rc = run(out, sizeof(out), "openssl x509 -noout -text -in %s.pem", all[i]);
        CHECK(rc == 0);
        if (rc != 0)
            fprintf(stderr, "openssl x509 %s: %s\n", all[i], out);
    }

    CHECK(run(out, sizeof(out), "openssl x509 -noout -text -in leaf.pem") == 0);
    CHECK(strstr(out, "DNS:device.example, DNS:*.wild.example, IP Address:127.0.0.1, "
                      "IP Address:0:0:0:0:0:0:0:1") != NULL);
    CHECK(strstr(out, "TLS Web Server Authentication") != NULL);
    CHECK(strstr(out, "TLS Web Client Authentication") == NULL);
    CHECK(strstr(out, "Digital Signature") != NULL);
    CHECK(strstr(out, "CA:FALSE") != NULL);
    CHECK(strstr(out, "Subject Key Identifier") != NULL);
    CHECK(strstr(out, "Authority Key Identifier") != NULL);
    CHECK(strstr(out, "Issuer: CN = iotls test intermediate, O = iotls") != NULL);
    CHECK(strstr(out, "ecdsa-with-SHA256") != NULL);

    CHECK(run(out, sizeof(out), "openssl x509 -noout -text -in ca.pem") == 0);
    CHECK(strstr(out, "CA:TRUE") != NULL);
    CHECK(strstr(out, "Certificate Sign, CRL Sign") != NULL);

    /* Issued by a P-384 key: SHA-384. */
    CHECK(run(out, sizeof(out), "openssl x509 -noout -text -in leaf384.pem") == 0);
    CHECK(strstr(out, "ecdsa-with-SHA384") != NULL);
    CHECK(strstr(out, "NIST CURVE: P-384") != NULL);
    CHECK(strstr(out, "TLS Web Server Authentication, TLS Web Client Authentication") != NULL);

    CHECK(run(out, sizeof(out), "openssl x509 -noout -text -in leaf_rsa.pem") == 0);
    CHECK(strstr(out, "Public-Key: (2048 bit)") != NULL);
    CHECK(strstr(out, "Digital Signature, Key Encipherment") != NULL);

    /* OpenSSL's verdicts on the same chains we check below. */
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -purpose sslserver "
              "-verify_hostname device.example leaf.pem") == 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -verify_ip 127.0.0.1 "
              "leaf.pem") == 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -verify_ip ::1 leaf.pem") == 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -verify_ip 127.0.0.2 "
              "leaf.pem") != 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter384.pem -purpose sslserver "
              "leaf384.pem") == 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -purpose sslserver "
              "leaf_rsa.pem") == 0);
    CHECK(run(out, sizeof(out), "openssl verify -CAfile ca.pem -untrusted inter.pem expired.pem") !=
          0);
    CHECK(strstr(out, "expired") != NULL);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -purpose sslserver "
              "client_only.pem") != 0);
    CHECK(run(out, sizeof(out),
              "openssl verify -CAfile ca.pem -untrusted inter.pem -purpose sslclient "
              "client_only.pem") == 0);
    CHECK(run(out, sizeof(out), "openssl verify -CAfile ca.pem other_leaf.pem") != 0);

    /* The generated keys are what openssl expects them to be. */
    CHECK(run(out, sizeof(out), "openssl pkey -in leaf.key -noout -text") == 0);
    CHECK(strstr(out, "P-256") != NULL);
    CHECK(run(out, sizeof(out), "openssl pkey -in leaf384.key -noout -text") == 0);
    CHECK(strstr(out, "P-384") != NULL);
    CHECK(run(out, sizeof(out), "openssl pkey -in leaf_rsa.key -noout -text") == 0);
    CHECK(strstr(out, "Private-Key: (2048 bit") != NULL);
}

static int verify(const ident *l, const ident *i, const ident *anchor, const char *host, int server,
                  int64_t at, char *detail, size_t cap)
{
    iotls_x509 chain, trust;
    load_chain(&chain, l, i);
    load_chain(&trust, anchor, NULL);
    iotls_x509_policy pol = {&trust, host, server, at, 0, NULL};
    int rc = iotls__x509_verify_explain(&chain, &pol, detail, cap);
    /* The handshake's verdict-only call decides the same. */
    CHECK_RC(iotls__x509_verify(&chain, &pol), rc);
    iotls__x509_free(&chain);
    iotls__x509_free(&trust);
    return rc;
}

#define V(l, i, host, server) verify(l, i, &ca, host, server, 0, NULL, 0)

static void test_verify(void)
{
    char detail[256];

    /* A good chain, and the host name forms it answers to. */
    CHECK_OK(V(&leaf, &inter, "device.example", 1));
    CHECK_OK(V(&leaf, &inter, NULL, 1));
    CHECK_OK(V(&leaf, &inter, "DEVICE.Example", 1));
    CHECK_OK(V(&leaf, &inter, "device.example.", 1));
    CHECK_OK(V(&leaf, &inter, "x.wild.example", 1));
    CHECK_RC(V(&leaf, &inter, "a.b.wild.example", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "wild.example", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "device.example.com", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "evice.example", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(verify(&leaf, &inter, &ca, "other.example", 1, 0, detail, sizeof(detail)),
             IOTLS_ERR_CERT_HOSTNAME);
    CHECK(strstr(detail, "other.example") != NULL);
    CHECK(strstr(detail, "DNS:device.example") != NULL);

    /* IP SANs: matched as addresses, in any text form, never as names. */
    CHECK_OK(V(&leaf, &inter, "127.0.0.1", 1));
    CHECK_OK(V(&leaf, &inter, "::1", 1));
    CHECK_OK(V(&leaf, &inter, "[::1]", 1));
    CHECK_OK(V(&leaf, &inter, "0:0:0:0:0:0:0:1", 1));
    CHECK_OK(V(&leaf, &inter, "::0.0.0.1", 1));
    CHECK_RC(V(&leaf, &inter, "127.0.0.2", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "::2", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "::ffff:127.0.0.1", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf_rsa, &inter, "127.0.0.1", 1), IOTLS_ERR_CERT_HOSTNAME);
    /* Not IP literals: names, which this certificate does not have. */
    CHECK_RC(V(&leaf, &inter, "127.0.0.01", 1), IOTLS_ERR_CERT_HOSTNAME);
    CHECK_RC(V(&leaf, &inter, "127.1", 1), IOTLS_ERR_CERT_HOSTNAME);

    /* Other key types and a P-384 issuer. */
    CHECK_OK(verify(&leaf384, &inter384, &ca, "p384.example", 1, 0, NULL, 0));
    CHECK_OK(verify(&leaf384, &inter384, &ca, "p384.example", 0, 0, NULL, 0));
    CHECK_OK(V(&leaf_rsa, &inter, "rsa.example", 1));
    CHECK_RC(V(&leaf_rsa, &inter, "device.example", 1), IOTLS_ERR_CERT_HOSTNAME);

    /* Trust: missing intermediate, another CA's leaf, the wrong anchor. */
    CHECK_RC(V(&leaf, NULL, "device.example", 1), IOTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_RC(V(&other_leaf, NULL, "device.example", 1), IOTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_RC(verify(&leaf, &inter, &other_ca, "device.example", 1, 0, detail, sizeof(detail)),
             IOTLS_ERR_CERT_UNKNOWN_CA);
    CHECK(detail[0] != '\0');
    /* An intermediate may itself be the trust anchor. */
    CHECK_OK(verify(&leaf, NULL, &inter, "device.example", 1, 0, NULL, 0));

    /* Validity: by the system clock, then by policy.now. */
    CHECK_RC(verify(&expired, &inter, &ca, "device.example", 1, 0, detail, sizeof(detail)),
             IOTLS_ERR_CERT_EXPIRED);
    CHECK(strstr(detail, "expired") != NULL);
    CHECK_OK(verify(&expired, &inter, &ca, "device.example", 1, now - 5 * 86400, NULL, 0));
    CHECK_RC(verify(&leaf, &inter, &ca, "device.example", 1, now + 60 * 86400, NULL, 0),
             IOTLS_ERR_CERT_EXPIRED);
    /* The anchor's own validity counts too. */
    CHECK_RC(verify(&expired, &inter, &ca, "device.example", 1, now - 40 * 86400, NULL, 0),
             IOTLS_ERR_CERT_EXPIRED);
    CHECK_RC(
        verify(&leaf, &inter, &ca, "device.example", 1, now - 2 * 3600, detail, sizeof(detail)),
        IOTLS_ERR_CERT_EXPIRED);
    CHECK(strstr(detail, "not yet valid") != NULL);
    CHECK_OK(verify(&leaf, &inter, &ca, "device.example", 1, now + 86400, NULL, 0));

    /* Usage: a clientAuth-only leaf cannot serve, a serverAuth-only one
     * cannot be a client. */
    CHECK_RC(verify(&client_only, &inter, &ca, "device.example", 1, 0, detail, sizeof(detail)),
             IOTLS_ERR_UNSUPPORTED_CERTIFICATE);
    CHECK(strstr(detail, "serverAuth") != NULL);
    CHECK_OK(V(&client_only, &inter, "device.example", 0));
    CHECK_RC(V(&leaf, &inter, NULL, 0), IOTLS_ERR_UNSUPPORTED_CERTIFICATE);
    /* A CA certificate (keyCertSign only) is no TLS end entity. */
    CHECK_RC(verify(&inter, NULL, &ca, NULL, 1, 0, NULL, 0), IOTLS_ERR_UNSUPPORTED_CERTIFICATE);

    /* Bad arguments. */
    iotls_x509 empty, trust;
    iotls__x509_init(&empty);
    load_chain(&trust, &ca, NULL);
    iotls_x509_policy pol = {&trust, NULL, 1, 0, 0, NULL};
    CHECK_RC(iotls__x509_verify(&empty, &pol), IOTLS_ERR_BAD_CERTIFICATE);
    pol.trust = &empty;
    CHECK_RC(iotls__x509_verify(&trust, &pol), IOTLS_ERR_CERT_UNKNOWN_CA);
    pol.trust = NULL;
    CHECK_RC(iotls__x509_verify(&trust, &pol), IOTLS_ERR_BAD_ARG);
    iotls__x509_free(&trust);
    iotls__x509_free(&empty);
}

/* Certificates made by openssl that our profile must refuse. */
/* iotls__x509_validity and iotls__x509_explain: the words iotls_error()
 * gets for a refused certificate. */
static void test_explain(void)
{
    iotls_x509 chain;
    int64_t from = 0, to = 0;
    char text[320], want[64];

    load_chain(&chain, &expired, &inter);
    CHECK_OK(iotls__x509_validity(&chain, 0, &from, &to));
    CHECK(from == now - 10 * 86400);
    CHECK(to == now - 86400);
    CHECK(iotls__x509_validity(&chain, 2, &from, &to) == IOTLS_ERR_BAD_ARG);
    iotls__x509_explain(&chain, IOTLS_ERR_CERT_EXPIRED, now, text, sizeof text);
    CHECK(strstr(text, "device.example") != NULL);
    struct tm tm;
    time_t t = (time_t)(now - 86400);
    gmtime_r(&t, &tm);
    strftime(want, sizeof want, "to %Y-%m-%d %H:%M:%S UTC", &tm);
    CHECK(strstr(text, want) != NULL);
    t = (time_t)now;
    gmtime_r(&t, &tm);
    strftime(want, sizeof want, "now is %Y-%m-%d %H:%M:%S UTC", &tm);
    CHECK(strstr(text, want) != NULL);
    /* Within the validity (a year later the CA would be expired too, but
     * only the leaf is out of range at now - 5 days): nothing to say. */
    iotls__x509_explain(&chain, IOTLS_ERR_CERT_EXPIRED, now - 5 * 86400, text, sizeof text);
    CHECK(strstr(text, "device.example") == NULL);
    iotls__x509_free(&chain);

    load_chain(&chain, &other_leaf, NULL);
    iotls__x509_explain(&chain, IOTLS_ERR_CERT_UNKNOWN_CA, now, text, sizeof text);
    CHECK(strstr(text, "device.example") != NULL && strstr(text, "issued by") != NULL &&
          strstr(text, "other CA") != NULL);
    iotls__x509_explain(&chain, IOTLS_ERR_DECODE, now, text, sizeof text);
    CHECK(text[0] == '\0');
    iotls__x509_free(&chain);

    /* The ends of what a certificate can say: 1950-01-01 (UTCTime's first
     * year) and 9999-12-31 23:59:59 (RFC 5280 4.1.2.5's "no well-defined
     * expiration date"), read back to the second. */
    iotls_cert_spec s;
    memset(&s, 0, sizeof s);
    s.subject = "CN=long.example";
    s.not_before = -631152000;
    s.not_after = INT64_C(253402300799);
    ident long_lived;
    make(&long_lived, IOTLS_KEY_EC_P256, &s, &ca, "long_lived");
    load_chain(&chain, &long_lived, NULL);
    CHECK_OK(iotls__x509_validity(&chain, 0, &from, &to));
    CHECK(from == -631152000);
    CHECK(to == INT64_C(253402300799));
    iotls__x509_free(&chain);
}

static void test_profile(void)
{
    char out[4096];
    int rc = run(out, sizeof(out),
                 "openssl req -new -newkey rsa:1024 -nodes -keyout weak.key -subj /CN=weak "
                 "-out weak.csr && openssl x509 -req -in weak.csr -CA inter.pem -CAkey "
                 "inter.key -days 2 -sha256 -out weak.pem && "
                 "openssl req -new -key leaf.key -subj /CN=sha1 -out sha1.csr && "
                 "openssl x509 -req -in sha1.csr -CA inter.pem -CAkey inter.key -days 2 -sha1 "
                 "-out sha1.pem");
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "openssl: %s\n", out);
        return;
    }
    uint8_t pem[PEM_CAP];
    iotls_x509 chain, trust;
    load_chain(&trust, &ca, NULL);
    iotls_x509_policy pol = {&trust, NULL, 1, 0, 0, NULL};

    iotls__x509_init(&chain);
    size_t n = read_file("weak.pem", pem, sizeof(pem));
    CHECK_OK(iotls__x509_load_mem(&chain, pem, n));
    CHECK_OK(iotls__x509_load_mem(&chain, (const uint8_t *)inter.cert, strlen(inter.cert)));
    CHECK_RC(iotls__x509_verify(&chain, &pol), IOTLS_ERR_CERT_KEY_REFUSED);
    iotls__x509_free(&chain);

    n = read_file("sha1.pem", pem, sizeof(pem));
    CHECK_OK(iotls__x509_load_mem(&chain, pem, n));
    CHECK_OK(iotls__x509_load_mem(&chain, (const uint8_t *)inter.cert, strlen(inter.cert)));
    CHECK_RC(iotls__x509_verify(&chain, &pol), IOTLS_ERR_BAD_CERTIFICATE);
    iotls__x509_free(&chain);
    iotls__x509_free(&trust);
}

/* Loads the PEM files names (NULL-ended, leaf first) into chain. */
static void load_files(iotls_x509 *chain, const char *const *names)
{
    static uint8_t pem[16384];
    iotls__x509_init(chain);
    for (; *names != NULL; names++) {
        size_t n = read_file(*names, pem, sizeof(pem));
        CHECK(n > 0);
        CHECK_OK(iotls__x509_load_mem(chain, pem, n));
    }
}

/* iotls__x509_verify of the files against anchor for device.example, RSA
 * maximum max_bits (0: the default). */
static int verify_files(const char *const *names, const ident *anchor, unsigned max_bits,
                        char *detail, size_t cap)
{
    iotls_x509 chain, trust;
    load_files(&chain, names);
    load_chain(&trust, anchor, NULL);
    iotls_x509_policy pol = {&trust, "device.example", 1, 0, max_bits, NULL};
    int rc = iotls__x509_verify_explain(&chain, &pol, detail, cap);
    /* The handshake's verdict-only call decides the same. */
    CHECK_RC(iotls__x509_verify(&chain, &pol), rc);
    iotls__x509_free(&chain);
    iotls__x509_free(&trust);
    return rc;
}

/* The key profile, checked on every presented certificate before any
 * signature (the CPU attack: a chain of RSA keys with huge exponents or
 * moduli, each costing a full-size exponentiation). The keys come from
 * the openssl command: neither provider's key generation takes exponents
 * above 2^31-1. Each bad chain is otherwise valid, so without the check it
 * verifies. */
static void test_key_limits(void)
{
    char out[4096], detail[256];
    /* An intermediate CA under ca of each key, and a device.example leaf
     * (leaf.key, P-256) under each intermediate. */
    static const char intermediates[] =
        "printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' >int.ext && "
        "printf 'subjectAltName=DNS:device.example\nextendedKeyUsage=serverAuth\n"
        "keyUsage=critical,digitalSignature\n' >dev.ext && "
        "openssl req -new -key leaf.key -subj /CN=device.example -out dev.csr && "
        "for k in bige edge big; do "
        "openssl req -new -key $k.key -subj \"/CN=$k CA\" -out $k.csr && "
        "openssl x509 -req -in $k.csr -CA ca.pem -CAkey ca.key -days 2 -sha256 -extfile int.ext "
        "-out $k.pem && "
        "openssl x509 -req -in dev.csr -CA $k.pem -CAkey $k.key -days 2 -sha256 -extfile dev.ext "
        "-out dev_$k.pem || exit 1; done && "
        /* The big-exponent key as the leaf's own key, under inter. */
        "openssl req -new -key bige.key -subj /CN=device.example -out devk.csr && "
        "openssl x509 -req -in devk.csr -CA inter.pem -CAkey inter.key -days 2 -sha256 "
        "-extfile dev.ext -out dev_bigekey.pem && "
        /* A P-521 leaf: a curve outside the profile. */
        "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-521 -out p521.key && "
        "openssl req -new -key p521.key -subj /CN=device.example -out p521.csr && "
        "openssl x509 -req -in p521.csr -CA inter.pem -CAkey inter.key -days 2 -sha256 "
        "-extfile dev.ext -out dev_p521.pem";
    int rc = run(out, sizeof(out),
                 /* 2^32+3: above the limit (and above 2^32+1). */
                 "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                 "-pkeyopt rsa_keygen_pubexp:4294967299 -out bige.key && "
                 /* 2^31-1: the largest exponent accepted. */
                 "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 "
                 "-pkeyopt rsa_keygen_pubexp:2147483647 -out edge.key && "
                 /* 4160 bits: above the default maximum of 4096. */
                 "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4160 -out big.key && %s",
                 intermediates);
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "openssl: %s\n", out);
        return;
    }
    CHECK(run(out, sizeof(out), "openssl pkey -in bige.key -noout -text") == 0);
    CHECK(strstr(out, "publicExponent: 4294967299") != NULL);
    CHECK(run(out, sizeof(out), "openssl pkey -in big.key -noout -text") == 0);
    CHECK(strstr(out, "(4160 bit") != NULL);
    /* openssl itself finds every chain valid. */
    CHECK(run(out, sizeof(out),
              "for k in bige edge big; do openssl verify -CAfile ca.pem -untrusted $k.pem "
              "dev_$k.pem || exit 1; done && openssl verify -CAfile ca.pem -untrusted inter.pem "
              "dev_bigekey.pem dev_p521.pem") == 0);

    static const char *const edge[] = {"dev_edge.pem", "edge.pem", NULL};
    static const char *const bige[] = {"dev_bige.pem", "bige.pem", NULL};
    static const char *const bigekey[] = {"dev_bigekey.pem", "inter.pem", NULL};
    static const char *const big[] = {"dev_big.pem", "big.pem", NULL};
    static const char *const p521[] = {"dev_p521.pem", "inter.pem", NULL};

    /* Exponent 2^31-1 is still accepted. */
    CHECK_OK(verify_files(edge, &ca, 0, NULL, 0));

    /* Exponent 2^32+3 in the intermediate, then in the leaf. */
    CHECK_RC(verify_files(bige, &ca, 0, detail, sizeof(detail)), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK(strstr(detail, "exponent") != NULL && strstr(detail, "certificate 1") != NULL);
    CHECK_RC(verify_files(bigekey, &ca, 0, detail, sizeof(detail)), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK(strstr(detail, "exponent") != NULL && strstr(detail, "certificate 0") != NULL);
    /* Before any signature: under an anchor that signed none of it, the
     * verdict is still the key's, not unknown_ca (which the signature
     * check would give). */
    CHECK_RC(verify_files(bige, &other_ca, 0, NULL, 0), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK_RC(verify_files(edge, &other_ca, 0, NULL, 0), IOTLS_ERR_CERT_UNKNOWN_CA);

#if BIG_RSA_PARSES
    /* 4160 bits: over the default, within a configured maximum. */
    CHECK_RC(verify_files(big, &ca, 0, detail, sizeof(detail)), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK(strstr(detail, "modulus") != NULL && strstr(detail, "certificate 1") != NULL);
    CHECK_RC(verify_files(big, &ca, 4096, NULL, 0), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK_OK(verify_files(big, &ca, 4160, NULL, 0));
    CHECK_OK(verify_files(big, &ca, 8192, NULL, 0));
#else
    /* Mbed TLS 4 does not parse the 4160-bit intermediate at all: no
     * certificate with that key gets as far as the profile. */
    {
        uint8_t pem[8192];
        size_t n = read_file(big[1], pem, sizeof(pem)); /* big.pem */
        iotls_x509 big_ca;
        iotls__x509_init(&big_ca);
        CHECK(n > 0);
        CHECK_RC(iotls__x509_load_mem(&big_ca, pem, n), IOTLS_ERR_BAD_CERTIFICATE);
        CHECK(iotls__x509_count(&big_ca) == 0);
        iotls__x509_free(&big_ca);
    }
#endif
    /* The edge chain's 2048-bit keys with a maximum of 2048. */
    CHECK_OK(verify_files(edge, &ca, 2048, NULL, 0));

    /* A curve outside the profile. */
    CHECK_RC(verify_files(p521, &ca, 0, detail, sizeof(detail)), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK(strstr(detail, "curve") != NULL);

    /* The check on its own, as the engine runs it for every presented
     * chain (verified or not). */
    iotls_x509 chain;
    load_files(&chain, bige);
    CHECK_RC(iotls__x509_check_keys(&chain, 0), IOTLS_ERR_CERT_KEY_REFUSED);
    iotls__x509_free(&chain);
#if BIG_RSA_PARSES
    load_files(&chain, big);
    CHECK_RC(iotls__x509_check_keys(&chain, 0), IOTLS_ERR_CERT_KEY_REFUSED);
    CHECK_OK(iotls__x509_check_keys(&chain, 8192));
    iotls__x509_free(&chain);
#endif
    load_files(&chain, edge);
    CHECK_OK(iotls__x509_check_keys(&chain, 0));
    CHECK_OK(verify_files(edge, &ca, 0, detail, sizeof(detail)));
    CHECK(detail[0] == '\0');
    iotls__x509_free(&chain);
    /* Our usual chains: P-256, P-384, RSA-2048 with 65537. */
    load_chain(&chain, &leaf_rsa, &inter);
    CHECK_OK(iotls__x509_check_keys(&chain, 0));
    iotls__x509_free(&chain);
    load_chain(&chain, &leaf384, &inter384);
    CHECK_OK(iotls__x509_check_keys(&chain, 0));
    iotls__x509_free(&chain);
    CHECK_RC(iotls__x509_check_keys(NULL, 0), IOTLS_ERR_BAD_ARG);
}

/* The TLS 1.3 CertificateVerify content (RFC 8446 4.4.3) for some hash. */
static size_t cv_content(uint8_t *out)
{
    static const char context[] = "TLS 1.3, server CertificateVerify";
    memset(out, 0x20, 64);
    memcpy(out + 64, context, sizeof(context)); /* with its 0 byte */
    for (int i = 0; i < 48; i++)
        out[64 + sizeof(context) + (size_t)i] = (uint8_t)(i * 7 + 1);
    return 64 + sizeof(context) + 48;
}

static const char *dgst_name(uint16_t scheme)
{
    switch (scheme) {
    case IOTLS_SIG_ECDSA_SECP384R1_SHA384:
    case IOTLS_SIG_RSA_PSS_RSAE_SHA384:
        return "sha384";
    case IOTLS_SIG_RSA_PSS_RSAE_SHA512:
        return "sha512";
    default:
        return "sha256";
    }
}

static void sign_verify(const ident *id, const char *name, uint16_t scheme)
{
    iotls_pkey key;
    iotls_x509 chain;
    load_key(&key, id);
    load_chain(&chain, id, NULL);
    CHECK(iotls__pkey_can_sign(&key, scheme) == 1);
    CHECK(iotls__x509_key_fits(&chain, scheme) == 1);

    uint8_t msg[200], sig[IOTLS_MAX_SIGNATURE_LEN + 1];
    size_t msg_len = cv_content(msg), sig_len = 0;
    CHECK_OK(iotls__pkey_sign(&key, scheme, msg, msg_len, sig, IOTLS_MAX_SIGNATURE_LEN, &sig_len));
    CHECK(sig_len > 0 && sig_len <= IOTLS_MAX_SIGNATURE_LEN);
    CHECK_OK(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len));

    /* OpenSSL accepts our signature: PSS with salt length = hash length. */
    int pss = scheme >= IOTLS_SIG_RSA_PSS_RSAE_SHA256 && scheme <= IOTLS_SIG_RSA_PSS_RSAE_SHA512;
    const char *pss_opts = pss ? "-sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:digest" : "";
    char out[1024];
    write_file("msg.bin", msg, msg_len);
    write_file("sig.bin", sig, sig_len);
    int rc = run(out, sizeof(out),
                 "openssl x509 -in %s.pem -pubkey -noout > pub.pem && openssl dgst -%s %s "
                 "-verify pub.pem -signature sig.bin msg.bin",
                 name, dgst_name(scheme), pss_opts);
    CHECK(rc == 0 && strstr(out, "Verified OK") != NULL);
    if (rc != 0)
        fprintf(stderr, "openssl verify of %s/%04x: %s\n", name, scheme, out);
    if (pss) {
        /* ... and would reject it if the salt were not the hash length. */
        rc = run(out, sizeof(out),
                 "openssl dgst -%s -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:20 "
                 "-verify pub.pem -signature sig.bin msg.bin",
                 dgst_name(scheme));
        CHECK(rc != 0);
    }

    /* We accept OpenSSL's signature. */
    rc = run(out, sizeof(out), "openssl dgst -%s %s -sign %s.key -out osig.bin msg.bin",
             dgst_name(scheme), pss_opts, name);
    CHECK(rc == 0);
    uint8_t osig[IOTLS_MAX_SIGNATURE_LEN];
    size_t osig_len = read_file("osig.bin", osig, sizeof(osig));
    CHECK(osig_len > 0);
    CHECK_OK(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, osig, osig_len));
    if (pss) {
        /* ... but only with the salt as long as the hash (RFC 8446 4.2.3):
         * OpenSSL's signatures with no salt, a SHA-1-sized one, one byte
         * more than the hash and the longest the key allows are refused. */
        static const char *const salts[] = {"0", "20", NULL, "max"};
        char longer[8];
        snprintf(longer, sizeof longer, "%d",
                 scheme == IOTLS_SIG_RSA_PSS_RSAE_SHA256   ? 33
                 : scheme == IOTLS_SIG_RSA_PSS_RSAE_SHA384 ? 49
                                                           : 65);
        for (size_t i = 0; i < sizeof salts / sizeof salts[0]; i++) {
            const char *salt = salts[i] ? salts[i] : longer;
            rc = run(out, sizeof(out),
                     "openssl dgst -%s -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:%s "
                     "-sign %s.key -out osig.bin msg.bin",
                     dgst_name(scheme), salt, name);
            CHECK(rc == 0);
            osig_len = read_file("osig.bin", osig, sizeof(osig));
            CHECK(osig_len > 0);
            rc = iotls__x509_verify_signature(&chain, scheme, msg, msg_len, osig, osig_len);
            CHECK_RC(rc, IOTLS_ERR_DECRYPT_ERROR);
            if (rc != IOTLS_ERR_DECRYPT_ERROR)
                fprintf(stderr, "  (%s/%04x: PSS salt length %s accepted)\n", name, scheme, salt);
        }
    }

    /* Any change is a decrypt_error. */
    sig[sig_len / 2] ^= 0x10;
    CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len),
             IOTLS_ERR_DECRYPT_ERROR);
    sig[sig_len / 2] ^= 0x10;
    msg[70] ^= 0x01;
    CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len),
             IOTLS_ERR_DECRYPT_ERROR);
    msg[70] ^= 0x01;
    CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len - 1),
             IOTLS_ERR_DECRYPT_ERROR);
    sig[sig_len] = 0;
    CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len + 1),
             IOTLS_ERR_DECRYPT_ERROR);
    CHECK_RC(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, 0),
             IOTLS_ERR_DECRYPT_ERROR);
    CHECK_OK(iotls__x509_verify_signature(&chain, scheme, msg, msg_len, sig, sig_len));

    /* Too small an output buffer is refused before signing. */
    CHECK_RC(iotls__pkey_sign(&key, scheme, msg, msg_len, sig, 16, &sig_len),
             IOTLS_ERR_BUFFER_TOO_SMALL);

    iotls__pkey_free(&key);
    iotls__x509_free(&chain);
}

static void test_signatures(void)
{
    sign_verify(&leaf, "leaf", IOTLS_SIG_ECDSA_SECP256R1_SHA256);
    sign_verify(&leaf384, "leaf384", IOTLS_SIG_ECDSA_SECP384R1_SHA384);
    sign_verify(&leaf_rsa, "leaf_rsa", IOTLS_SIG_RSA_PSS_RSAE_SHA256);
    sign_verify(&leaf_rsa, "leaf_rsa", IOTLS_SIG_RSA_PSS_RSAE_SHA384);
    sign_verify(&leaf_rsa, "leaf_rsa", IOTLS_SIG_RSA_PSS_RSAE_SHA512);

    /* Empty message. */
    iotls_pkey key;
    iotls_x509 chain;
    uint8_t sig[IOTLS_MAX_SIGNATURE_LEN];
    size_t sig_len;
    load_key(&key, &leaf);
    load_chain(&chain, &leaf, NULL);
    CHECK_OK(iotls__pkey_sign(&key, IOTLS_SIG_ECDSA_SECP256R1_SHA256, NULL, 0, sig, sizeof(sig),
                              &sig_len));
    CHECK_OK(iotls__x509_verify_signature(&chain, IOTLS_SIG_ECDSA_SECP256R1_SHA256, NULL, 0, sig,
                                          sig_len));
    /* A scheme that does not fit the key is the caller's mistake. */
    CHECK_RC(iotls__pkey_sign(&key, IOTLS_SIG_ECDSA_SECP384R1_SHA384, NULL, 0, sig, sizeof(sig),
                              &sig_len),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(
        iotls__pkey_sign(&key, IOTLS_SIG_RSA_PSS_RSAE_SHA256, NULL, 0, sig, sizeof(sig), &sig_len),
        IOTLS_ERR_BAD_ARG);
    iotls__pkey_free(&key);
    iotls__x509_free(&chain);

    /* Scheme vs the peer's key: illegal_parameter, before any crypto. */
    iotls_x509 p256, p384, rsa;
    load_chain(&p256, &leaf, NULL);
    load_chain(&p384, &leaf384, NULL);
    load_chain(&rsa, &leaf_rsa, NULL);
    uint8_t msg[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    uint8_t junk[256] = {0x30};
    CHECK_RC(
        iotls__x509_verify_signature(&p256, IOTLS_SIG_ECDSA_SECP384R1_SHA384, msg, 8, junk, 72),
        IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(
        iotls__x509_verify_signature(&p384, IOTLS_SIG_ECDSA_SECP256R1_SHA256, msg, 8, junk, 72),
        IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__x509_verify_signature(&p256, IOTLS_SIG_RSA_PSS_RSAE_SHA256, msg, 8, junk, 256),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__x509_verify_signature(&rsa, IOTLS_SIG_ECDSA_SECP256R1_SHA256, msg, 8, junk, 72),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__x509_verify_signature(&rsa, IOTLS_SIG_RSA_PKCS1_SHA256, msg, 8, junk, 256),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__x509_verify_signature(&rsa, 0x0807 /* ed25519 */, msg, 8, junk, 64),
             IOTLS_ERR_ILLEGAL_PARAMETER);
    CHECK_RC(iotls__x509_verify_signature(&rsa, IOTLS_SIG_RSA_PSS_RSAE_SHA256, msg, 8, junk, 256),
             IOTLS_ERR_DECRYPT_ERROR);
    CHECK_RC(
        iotls__x509_verify_signature(&p256, IOTLS_SIG_ECDSA_SECP256R1_SHA256, msg, 8, junk, 72),
        IOTLS_ERR_DECRYPT_ERROR);

    /* key_fits: certificates may use PKCS#1, CertificateVerify may not. */
    CHECK(iotls__x509_key_fits(&p256, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 1);
    CHECK(iotls__x509_key_fits(&p256, IOTLS_SIG_ECDSA_SECP384R1_SHA384) == 0);
    CHECK(iotls__x509_key_fits(&p256, IOTLS_SIG_RSA_PSS_RSAE_SHA256) == 0);
    CHECK(iotls__x509_key_fits(&p384, IOTLS_SIG_ECDSA_SECP384R1_SHA384) == 1);
    CHECK(iotls__x509_key_fits(&rsa, IOTLS_SIG_RSA_PSS_RSAE_SHA512) == 1);
    CHECK(iotls__x509_key_fits(&rsa, IOTLS_SIG_RSA_PKCS1_SHA256) == 1);
    CHECK(iotls__x509_key_fits(&rsa, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 0);
    CHECK(iotls__x509_key_fits(&rsa, 0x0807) == 0);
    iotls__x509_free(&p256);
    iotls__x509_free(&p384);
    iotls__x509_free(&rsa);
}

static void test_can_sign(void)
{
    static const uint16_t schemes[] = {IOTLS_SIG_ECDSA_SECP256R1_SHA256,
                                       IOTLS_SIG_ECDSA_SECP384R1_SHA384,
                                       IOTLS_SIG_RSA_PSS_RSAE_SHA256,
                                       IOTLS_SIG_RSA_PSS_RSAE_SHA384,
                                       IOTLS_SIG_RSA_PSS_RSAE_SHA512,
                                       IOTLS_SIG_RSA_PKCS1_SHA256,
                                       IOTLS_SIG_RSA_PKCS1_SHA384,
                                       IOTLS_SIG_RSA_PKCS1_SHA512,
                                       0x0807,
                                       0x0000};
    static const int want_p256[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const int want_p384[] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    static const int want_rsa[] = {0, 0, 1, 1, 1, 0, 0, 0, 0, 0};
    iotls_pkey p256, p384, rsa, none;
    load_key(&p256, &leaf);
    load_key(&p384, &leaf384);
    load_key(&rsa, &leaf_rsa);
    iotls__pkey_init(&none);
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        CHECK(iotls__pkey_can_sign(&p256, schemes[i]) == want_p256[i]);
        CHECK(iotls__pkey_can_sign(&p384, schemes[i]) == want_p384[i]);
        CHECK(iotls__pkey_can_sign(&rsa, schemes[i]) == want_rsa[i]);
        CHECK(iotls__pkey_can_sign(&none, schemes[i]) == 0);
    }
    iotls__pkey_free(&p256);
    iotls__pkey_free(&p384);
    iotls__pkey_free(&rsa);
}

/* SHA-256 of the SubjectPublicKeyInfo, as openssl computes it. */
static void check_spki(const ident *id, const char *name)
{
    char out[512];
    int rc = run(out, sizeof(out),
                 "openssl x509 -in %s.pem -pubkey -noout | openssl pkey -pubin -outform DER | "
                 "openssl dgst -sha256 -r",
                 name);
    CHECK(rc == 0);
    char *space = strchr(out, ' ');
    CHECK(space != NULL && space - out == 64);
    if (space == NULL)
        return;
    *space = '\0';
    iotls_x509 chain;
    load_chain(&chain, id, NULL);
    uint8_t spki[32];
    CHECK_OK(iotls__x509_spki_sha256(&chain, spki));
    CHECK_HEX(spki, 32, out);
    iotls__x509_free(&chain);
}

/* 1 when the EC key file name (SEC1, or PKCS#8 around SEC1) carries the
 * optional publicKey beside the private key. */
static int key_file_has_public(const char *name)
{
    char out[4096];
    return run(out, sizeof(out),
               "f=%s; if head -n 1 $f | grep -q 'EC PRIVATE'; then openssl asn1parse -in $f; "
               "else openssl asn1parse -in $f -strparse "
               "$(openssl asn1parse -in $f | awk -F: '/OCTET STRING/ {o = $1 + 0} END {print o}'); "
               "fi | grep -q 'BIT STRING'",
               name) == 0;
}

/* iotls__x509_matches_key with the key in each file format a device may
 * hold, with and without the public key stored beside the private one:
 * with it, the stored public key is what is compared with the
 * certificate's (nothing computed); without it, the one the library
 * derived while parsing. Either way the leaf's own key matches and the
 * key of another certificate (same subject, its own P-256 key) does not. */
static void test_matches_key_files(void)
{
    char out[4096];
    int rc = run(out, sizeof(out),
                 "for k in leaf other_leaf; do "
                 "openssl ec -in $k.key -out $k-sec1.key && "
                 "openssl ec -in $k.key -no_public -out $k-sec1-nopub.key && "
                 "openssl pkcs8 -topk8 -nocrypt -in $k-sec1.key -out $k-p8.key && "
                 "openssl pkcs8 -topk8 -nocrypt -in $k-sec1-nopub.key -out $k-p8-nopub.key "
                 "|| exit 1; done");
    CHECK(rc == 0);
    if (rc != 0) {
        fprintf(stderr, "openssl: %s\n", out);
        return;
    }
    static const struct {
        const char *suffix;
        int has_public;
    } forms[] = {{"sec1", 1}, {"sec1-nopub", 0}, {"p8", 1}, {"p8-nopub", 0}};
    iotls_x509 chain;
    load_chain(&chain, &leaf, NULL);
    for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
        char own[64], foreign[64];
        snprintf(own, sizeof(own), "leaf-%s.key", forms[i].suffix);
        snprintf(foreign, sizeof(foreign), "other_leaf-%s.key", forms[i].suffix);
        /* The files are what they are named: the test covers both cases. */
        CHECK(key_file_has_public(own) == forms[i].has_public);
        CHECK(key_file_has_public(foreign) == forms[i].has_public);
        iotls_pkey key;
        iotls__pkey_init(&key);
        CHECK_OK(iotls__pkey_load_file(&key, path_of(own), NULL));
        CHECK(iotls__x509_matches_key(&chain, &key) == 1);
        CHECK_OK(iotls__pkey_load_file(&key, path_of(foreign), NULL));
        CHECK(iotls__x509_matches_key(&chain, &key) == 0);
        iotls__pkey_free(&key);
    }
    iotls__x509_free(&chain);
}

static void test_describe(void)
{
    check_spki(&leaf, "leaf");
    check_spki(&leaf384, "leaf384");
    check_spki(&leaf_rsa, "leaf_rsa");

    iotls_x509 chain;
    char text[256];
    load_chain(&chain, &leaf, &inter);
    CHECK(iotls__x509_count(&chain) == 2);
    CHECK_OK(iotls__x509_subject(&chain, 0, text, sizeof(text)));
    CHECK(strcmp(text, "CN=device.example, O=iotls") == 0);
    CHECK_OK(iotls__x509_issuer(&chain, 0, text, sizeof(text)));
    CHECK(strcmp(text, "CN=iotls test intermediate, O=iotls") == 0);
    CHECK_OK(iotls__x509_subject(&chain, 1, text, sizeof(text)));
    CHECK(strcmp(text, "CN=iotls test intermediate, O=iotls") == 0);
    CHECK_RC(iotls__x509_subject(&chain, 2, text, sizeof(text)), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__x509_subject(&chain, 0, text, 8), IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(iotls__x509_sans(&chain, text, sizeof(text)));
    CHECK(strcmp(text, "DNS:device.example, DNS:*.wild.example, IP:127.0.0.1, IP:::1") == 0);
    CHECK_RC(iotls__x509_sans(&chain, text, 20), IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(iotls__x509_key_desc(&chain, 0, text, sizeof(text)));
    CHECK(strcmp(text, "ECDSA P-256") == 0);
    CHECK_RC(iotls__x509_key_desc(&chain, 0, text, 4), IOTLS_ERR_BUFFER_TOO_SMALL);

    /* der(i) is the certificate as openssl encodes it from the PEM. */
    const uint8_t *der;
    size_t der_len;
    uint8_t want[PEM_CAP];
    CHECK(run(NULL, 0, "openssl x509 -in inter.pem -outform DER -out inter.der") == 0);
    size_t want_len = read_file("inter.der", want, sizeof(want));
    CHECK_OK(iotls__x509_der(&chain, 1, &der, &der_len));
    CHECK(der_len == want_len && memcmp(der, want, want_len) == 0);
    CHECK_RC(iotls__x509_der(&chain, 2, &der, &der_len), IOTLS_ERR_BAD_ARG);

    /* The public iotls_cert_describe (include/iotls/pki.h, what `iotls
     * client -v` prints for each certificate of the peer's chain): one DER
     * certificate in, its subject, issuer and key out; a certificate that
     * does not parse is an error with "?" in every field, never the text of
     * a previous call. */
    iotls_cert_text desc;
    CHECK_OK(iotls__x509_der(&chain, 0, &der, &der_len));
    CHECK_OK(iotls_cert_describe(der, der_len, &desc));
    CHECK(strcmp(desc.subject, "CN=device.example, O=iotls") == 0);
    CHECK(strcmp(desc.issuer, "CN=iotls test intermediate, O=iotls") == 0);
    CHECK(strcmp(desc.key, "ECDSA P-256") == 0);
    CHECK_RC(iotls_cert_describe(der, der_len / 2, &desc), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK(strcmp(desc.subject, "?") == 0 && strcmp(desc.issuer, "?") == 0 &&
          strcmp(desc.key, "?") == 0);
    CHECK_RC(iotls_cert_describe(NULL, 0, &desc), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls_cert_describe(der, der_len, NULL), IOTLS_ERR_BAD_ARG);
    iotls__x509_free(&chain);
    load_chain(&chain, &leaf_rsa, NULL);
    CHECK_OK(iotls__x509_der(&chain, 0, &der, &der_len));
    CHECK_OK(iotls_cert_describe(der, der_len, &desc));
    CHECK(strcmp(desc.key, "RSA-2048") == 0);
    iotls__x509_free(&chain);

    load_chain(&chain, &leaf384, &leaf_rsa);
    CHECK_OK(iotls__x509_key_desc(&chain, 0, text, sizeof(text)));
    CHECK(strcmp(text, "ECDSA P-384") == 0);
    CHECK_OK(iotls__x509_key_desc(&chain, 1, text, sizeof(text)));
    CHECK(strcmp(text, "RSA-2048") == 0);
    CHECK_OK(iotls__x509_sans(&chain, text, sizeof(text)));
    CHECK(strcmp(text, "DNS:p384.example") == 0);
    iotls__x509_free(&chain);

    load_chain(&chain, &ca, NULL);
    CHECK_OK(iotls__x509_sans(&chain, text, sizeof(text)));
    CHECK(strcmp(text, "") == 0);
    iotls__x509_free(&chain);

    /* matches_key */
    iotls_pkey key, other, none;
    load_key(&key, &leaf);
    load_key(&other, &leaf_rsa);
    iotls__pkey_init(&none);
    load_chain(&chain, &leaf, NULL);
    CHECK(iotls__x509_matches_key(&chain, &key) == 1);
    CHECK(iotls__x509_matches_key(&chain, &other) == 0);
    CHECK(iotls__x509_matches_key(&chain, &none) == 0);
    iotls__x509_free(&chain);
    load_chain(&chain, &other_leaf, NULL); /* same spec, its own P-256 key */
    CHECK(iotls__x509_matches_key(&chain, &key) == 0);
    iotls__x509_free(&chain);
    load_chain(&chain, &leaf_rsa, NULL);
    CHECK(iotls__x509_matches_key(&chain, &other) == 1);
    CHECK(iotls__x509_matches_key(&chain, &key) == 0);
    iotls__x509_free(&chain);
    iotls__pkey_free(&key);
    iotls__pkey_free(&other);
    test_matches_key_files();
}

static void test_loading(void)
{
    char out[2048];
    iotls_pkey key;
    iotls_x509 chain;
    iotls__pkey_init(&key);
    iotls__x509_init(&chain);

    /* Keys: PEM file, DER (PKCS#8), encrypted PKCS#8, legacy encrypted PEM. */
    CHECK_OK(iotls__pkey_load_file(&key, path_of("leaf.key"), NULL));
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 1);
    CHECK(run(out, sizeof(out),
              "openssl pkcs8 -topk8 -nocrypt -in leaf_rsa.key -outform DER -out rsa.der && "
              "openssl pkcs8 -topk8 -v2 des3 -passout pass:s3cret -in leaf.key "
              "-out enc.pem && "
              "openssl pkcs8 -topk8 -v2 aes-256-cbc -passout pass:s3cret -in leaf.key "
              "-out enc_aes.pem && "
              "openssl ec -aes128 -passout pass:0ld -in leaf384.key -out legacy.pem") == 0);
    CHECK_OK(iotls__pkey_load_file(&key, path_of("rsa.der"), NULL));
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_RSA_PSS_RSAE_SHA256) == 1);
#if !defined(IOTLS_CRYPTO_BACKEND_OPENSSL) && MBEDTLS_VERSION_NUMBER >= 0x04000000
    /* TF-PSA-Crypto 1.0 has no DES left: a PBES2 key under DES-EDE3 is
     * refused whatever the password, and PBES2 with AES (OpenSSL 3's own
     * default) stands in for it below. */
    CHECK_RC(iotls__pkey_load_file(&key, path_of("enc.pem"), "s3cret"), IOTLS_ERR_KEY_LOAD);
    CHECK(run(out, sizeof(out), "cp enc_aes.pem enc.pem") == 0);
#endif
    CHECK_OK(iotls__pkey_load_file(&key, path_of("enc.pem"), "s3cret"));
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 1);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("enc.pem"), "wrong"), IOTLS_ERR_KEY_LOAD);
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 0);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("enc.pem"), NULL), IOTLS_ERR_KEY_LOAD);
#if defined(IOTLS_CRYPTO_BACKEND_OPENSSL)
    /* OpenSSL decrypts PBES2 with AES (its own default). */
    CHECK_OK(iotls__pkey_load_file(&key, path_of("enc_aes.pem"), "s3cret"));
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_ECDSA_SECP256R1_SHA256) == 1);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("enc_aes.pem"), "wrong"), IOTLS_ERR_KEY_LOAD);
#elif MBEDTLS_VERSION_NUMBER < 0x03000000
    /* A known limit of mbedTLS 2.28: PBES2 with AES (OpenSSL 3's default
     * for encrypted keys) is not supported; DES-EDE3 is. */
    CHECK_RC(iotls__pkey_load_file(&key, path_of("enc_aes.pem"), "s3cret"), IOTLS_ERR_KEY_LOAD);
#endif
    CHECK_OK(iotls__pkey_load_file(&key, path_of("legacy.pem"), "0ld"));
    CHECK(iotls__pkey_can_sign(&key, IOTLS_SIG_ECDSA_SECP384R1_SHA384) == 1);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("legacy.pem"), "new"), IOTLS_ERR_KEY_LOAD);

    uint8_t buf[PEM_CAP];
    size_t n = read_file("enc.pem", buf, sizeof(buf)); /* not NUL-ended */
    CHECK_OK(iotls__pkey_load_mem(&key, buf, n, "s3cret"));
    n = read_file("rsa.der", buf, sizeof(buf));
    CHECK_OK(iotls__pkey_load_mem(&key, buf, n, NULL));
    CHECK_RC(iotls__pkey_load_mem(&key, buf, n / 2, NULL), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("no-such.key"), NULL), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls__pkey_load_mem(&key, (const uint8_t *)"junk", 4, NULL), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls__pkey_load_file(&key, path_of("leaf.pem"), NULL), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls__pkey_load_mem(&key, NULL, 0, NULL), IOTLS_ERR_BAD_ARG);
    iotls__pkey_free(&key);

    /* Certificates: a PEM bundle file, a DER file, a directory. */
    CHECK(run(out, sizeof(out),
              "cat leaf.pem inter.pem > bundle.pem && "
              "openssl x509 -in leaf.pem -outform DER -out leaf.der && "
              "mkdir -p cadir && cp ca.pem other_ca.pem cadir/ && echo junk > cadir/README && "
              "mkdir -p emptydir && echo junk > emptydir/README && "
              "sed '3s/^./#/' leaf.pem > broken.pem && cat ca.pem broken.pem > half.pem") == 0);
    CHECK_OK(iotls__x509_load_file(&chain, path_of("bundle.pem")));
    CHECK(iotls__x509_count(&chain) == 2);
    CHECK_OK(iotls__x509_load_file(&chain, path_of("leaf.der")));
    CHECK(iotls__x509_count(&chain) == 3);
    iotls__x509_free(&chain);
    CHECK(iotls__x509_count(&chain) == 0);

    CHECK_OK(iotls__x509_load_dir(&chain, path_of("cadir"), NULL));
    CHECK(iotls__x509_count(&chain) == 2);
    iotls_x509 leaf_chain;
    load_chain(&leaf_chain, &leaf, &inter);
    iotls_x509_policy pol = {&chain, "device.example", 1, 0, 0, NULL};
    CHECK_OK(iotls__x509_verify(&leaf_chain, &pol));
    iotls__x509_free(&leaf_chain);
    iotls__x509_free(&chain);
    CHECK_RC(iotls__x509_load_dir(&chain, path_of("emptydir"), NULL), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls__x509_load_dir(&chain, path_of("no-such-dir"), NULL), IOTLS_ERR_KEY_LOAD);

    /* Errors, and a failed load leaves the chain as it was. */
    CHECK_RC(iotls__x509_load_file(&chain, path_of("no-such.pem")), IOTLS_ERR_KEY_LOAD);
    CHECK_RC(iotls__x509_load_file(&chain, path_of("leaf.key")), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls__x509_load_file(&chain, path_of("broken.pem")), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls__x509_load_file(&chain, path_of("half.pem")), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK(iotls__x509_count(&chain) == 0);
    CHECK_RC(iotls__x509_load_mem(&chain, (const uint8_t *)"junk", 4), IOTLS_ERR_BAD_CERTIFICATE);
    n = read_file("leaf.der", buf, sizeof(buf));
    CHECK_RC(iotls__x509_add_der(&chain, buf, n - 1), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls__x509_add_der(&chain, buf + 1, n - 1), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK(iotls__x509_count(&chain) == 0);
    CHECK_OK(iotls__x509_add_der(&chain, buf, n));
    CHECK(iotls__x509_count(&chain) == 1);
    CHECK_OK(iotls__x509_load_mem(&chain, (const uint8_t *)inter.cert, strlen(inter.cert) + 1));
    CHECK(iotls__x509_count(&chain) == 2);
    pol.trust = &chain;
    iotls_x509 trust;
    load_chain(&trust, &ca, NULL);
    pol.trust = &trust;
    CHECK_OK(iotls__x509_verify(&chain, &pol));
    iotls__x509_free(&trust);
    iotls__x509_free(&chain);
}

/* Trust anchors load as TLS libraries load system bundles: an Ed25519 root
 * (mbedTLS does not parse it, OpenSSL does but iotls cannot use its key) or
 * a PEM block that does not decode is skipped and counted; the usable roots
 * load, and verify. Runs after test_loading (its ca.pem and broken.pem). */
static void test_anchor_bundles(void)
{
    char out[1024];
    CHECK(run(out, sizeof(out),
              "openssl genpkey -algorithm ed25519 -out ed.key && "
              "openssl req -x509 -new -key ed.key -subj /CN=ed25519-root -days 2 -out ed.pem "
              "-addext basicConstraints=critical,CA:TRUE && "
              "cat ed.pem ca.pem > ed_bundle.pem && cat ca.pem ed.pem broken.pem > ed_half.pem && "
              "mkdir -p eddir && cp ed_bundle.pem eddir/ && echo junk > eddir/README") == 0);
    iotls_x509 leaf_chain;
    load_chain(&leaf_chain, &leaf, &inter);
    iotls_x509 trust;
    iotls__x509_init(&trust);
    iotls_x509_policy pol = {&trust, "device.example", 1, 0, 0, NULL};
    size_t skipped = 99;

    /* As one file, in memory (not NUL-ended), in a directory. */
    CHECK_OK(iotls__x509_load_anchors_file(&trust, path_of("ed_bundle.pem"), &skipped));
    CHECK(iotls__x509_count(&trust) == 1 && skipped == 1);
    CHECK_OK(iotls__x509_verify(&leaf_chain, &pol));
    iotls__x509_free(&trust);
    uint8_t buf[2 * PEM_CAP];
    size_t n = read_file("ed_bundle.pem", buf, sizeof(buf));
    skipped = 99;
    CHECK_OK(iotls__x509_load_anchors_mem(&trust, buf, n, &skipped));
    CHECK(iotls__x509_count(&trust) == 1 && skipped == 1);
    CHECK_OK(iotls__x509_verify(&leaf_chain, &pol));
    iotls__x509_free(&trust);
    skipped = 99;
    CHECK_OK(iotls__x509_load_dir(&trust, path_of("eddir"), &skipped));
    CHECK(iotls__x509_count(&trust) == 1 && skipped == 2); /* the Ed25519 root and the README */
    CHECK_OK(iotls__x509_verify(&leaf_chain, &pol));
    iotls__x509_free(&trust);
    /* A block that does not decode is skipped too. */
    skipped = 99;
    CHECK_OK(iotls__x509_load_anchors_file(&trust, path_of("ed_half.pem"), &skipped));
    CHECK(iotls__x509_count(&trust) == 1 && skipped == 2);
    iotls__x509_free(&trust);
    /* Nothing usable: refused, the chain unchanged. */
    CHECK_RC(iotls__x509_load_anchors_file(&trust, path_of("ed.pem"), &skipped),
             IOTLS_ERR_BAD_CERTIFICATE);
    CHECK_RC(iotls__x509_load_anchors_file(&trust, path_of("broken.pem"), &skipped),
             IOTLS_ERR_BAD_CERTIFICATE);
    CHECK(iotls__x509_count(&trust) == 0);
    /* Our own chain stays all or nothing. */
    CHECK_RC(iotls__x509_load_file(&trust, path_of("half.pem")), IOTLS_ERR_BAD_CERTIFICATE);
    CHECK(iotls__x509_count(&trust) == 0);

    /* Through the configuration, which tells the application. */
    iotls_config *cfg = iotls_config_new();
    CHECK(cfg != NULL);
    CHECK_OK(iotls_config_set_ca_file(cfg, path_of("ed_bundle.pem")));
    CHECK(iotls_config_ca_skipped(cfg) == 1);
    CHECK_OK(iotls_config_set_ca_mem(cfg, buf, n));
    CHECK(iotls_config_ca_skipped(cfg) == 1);
    CHECK_OK(iotls_config_set_ca_file(cfg, path_of("ca.pem")));
    CHECK(iotls_config_ca_skipped(cfg) == 0);
    CHECK_RC(iotls_config_set_ca_file(cfg, path_of("ed.pem")), IOTLS_ERR_KEY_LOAD);
    iotls_config_free(cfg);
    iotls__x509_free(&leaf_chain);
}

static void test_pki_args(void)
{
    char key[PEM_CAP], cert[PEM_CAP], small[64];
    iotls_cert_spec s;
    memset(&s, 0, sizeof(s));
    s.subject = "CN=x";
    CHECK_RC(iotls_pki_make_key((iotls_key_type)99, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    /* RSA of a chosen size and exponent (the bench's keys at the limits). */
    CHECK_RC(iotls__pki_make_rsa_key(1022, 65537, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__pki_make_rsa_key(8194, 65537, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__pki_make_rsa_key(1024, 65536, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__pki_make_rsa_key(1024, 1, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls__pki_make_rsa_key(1024, 0x80000001u, key, sizeof(key)), IOTLS_ERR_BAD_ARG);
    CHECK_OK(iotls__pki_make_rsa_key(1024, 0x7fffffffu, key, sizeof(key)));
    write_file("rsa_e31.key", key, strlen(key));
    char rsa_text[4096];
    CHECK(run(rsa_text, sizeof(rsa_text), "openssl pkey -in rsa_e31.key -noout -text") == 0);
    CHECK(strstr(rsa_text, "(1024 bit") != NULL &&
          strstr(rsa_text, "publicExponent: 2147483647") != NULL);
    CHECK_RC(iotls_pki_make_key(IOTLS_KEY_EC_P256, small, sizeof(small)),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_OK(iotls_pki_make_key(IOTLS_KEY_EC_P256, key, sizeof(key)));
    CHECK_RC(iotls_pki_make_cert(&s, key, NULL, NULL, small, sizeof(small)),
             IOTLS_ERR_BUFFER_TOO_SMALL);
    CHECK_RC(iotls_pki_make_cert(&s, key, ca.key, NULL, cert, sizeof(cert)), IOTLS_ERR_BAD_ARG);
    /* The issuer key must belong to the issuer certificate. */
    CHECK_RC(iotls_pki_make_cert(&s, key, inter.key, ca.cert, cert, sizeof(cert)),
             IOTLS_ERR_BAD_ARG);
    CHECK_RC(iotls_pki_make_cert(&s, "not a key", NULL, NULL, cert, sizeof(cert)),
             IOTLS_ERR_KEY_LOAD);
    s.ip_addrs = "300.1.1.1";
    CHECK_RC(iotls_pki_make_cert(&s, key, NULL, NULL, cert, sizeof(cert)), IOTLS_ERR_BAD_ARG);
    s.ip_addrs = NULL;
    s.not_before = now;
    s.not_after = now - 1;
    CHECK_RC(iotls_pki_make_cert(&s, key, NULL, NULL, cert, sizeof(cert)), IOTLS_ERR_BAD_ARG);
    /* Validity written as given, to the second. */
    s.not_before = 1700000000; /* 2023-11-14 22:13:20 UTC */
    s.not_after = 2524608000;  /* 2050-01-01 00:00:00 UTC: GeneralizedTime */
    CHECK_OK(iotls_pki_make_cert(&s, key, NULL, NULL, cert, sizeof(cert)));
    write_file("dates.pem", cert, strlen(cert));
    char out[512];
    CHECK(run(out, sizeof(out), "openssl x509 -in dates.pem -noout -dates") == 0);
    CHECK(strstr(out, "notBefore=Nov 14 22:13:20 2023 GMT") != NULL);
    CHECK(strstr(out, "notAfter=Jan  1 00:00:00 2050 GMT") != NULL);
}

/* DER of certificate 0 of id's PEM, into out (cap bytes); its length. */
static size_t der_of(const ident *id, uint8_t *out, size_t cap)
{
    iotls_x509 c;
    const uint8_t *der = NULL;
    size_t len = 0;
    load_chain(&c, id, NULL);
    CHECK_OK(iotls__x509_der(&c, 0, &der, &len));
    CHECK(len > 0 && len <= cap);
    if (len > cap)
        len = 0;
    memcpy(out, der, len);
    iotls__x509_free(&c);
    return len;
}

/* A peer chain as the engine builds it: DER certificates one by one. */
static int verify_der(const uint8_t *leaf_der, size_t leaf_len, const uint8_t *inter_der,
                      size_t inter_len, int64_t at)
{
    iotls_x509 chain, trust;
    iotls__x509_init(&chain);
    load_chain(&trust, &ca, NULL);
    int rc = iotls__x509_add_der(&chain, leaf_der, leaf_len);
    if (rc == IOTLS_OK)
        rc = iotls__x509_add_der(&chain, inter_der, inter_len);
    if (rc == IOTLS_OK) {
        /* The chain hands back exactly the bytes it was given. */
        const uint8_t *der = NULL;
        size_t len = 0;
        CHECK_OK(iotls__x509_der(&chain, 0, &der, &len));
        CHECK(len == leaf_len && memcmp(der, leaf_der, len) == 0);
        iotls_x509_policy pol = {&trust, "device.example", 1, at, 0, NULL};
        rc = iotls__x509_verify(&chain, &pol);
    }
    iotls__x509_free(&chain);
    iotls__x509_free(&trust);
    return rc;
}

/* The same peer certificates again and again (a provider may keep them
 * parsed): every chain is still verified in full, and bytes that differ
 * in the least are never taken for ones seen before. */
static void test_peer_cert_reuse(void)
{
    static uint8_t leaf_der[PEM_CAP], inter_der[PEM_CAP], bad[PEM_CAP], other[PEM_CAP];
    size_t leaf_len = der_of(&leaf, leaf_der, sizeof(leaf_der));
    size_t inter_len = der_of(&inter, inter_der, sizeof(inter_der));
    for (int i = 0; i < 3; i++)
        CHECK_OK(verify_der(leaf_der, leaf_len, inter_der, inter_len, 0));

    /* Two chains holding the same certificates at once; one freed first. */
    iotls_x509 a, b, trust;
    iotls__x509_init(&a);
    iotls__x509_init(&b);
    load_chain(&trust, &ca, NULL);
    CHECK_OK(iotls__x509_add_der(&a, leaf_der, leaf_len));
    CHECK_OK(iotls__x509_add_der(&a, inter_der, inter_len));
    CHECK_OK(iotls__x509_add_der(&b, leaf_der, leaf_len));
    CHECK_OK(iotls__x509_add_der(&b, inter_der, inter_len));
    iotls_x509_policy pol = {&trust, "device.example", 1, 0, 0, NULL};
    CHECK_OK(iotls__x509_verify(&a, &pol));
    iotls__x509_free(&a);
    CHECK_OK(iotls__x509_verify(&b, &pol));
    iotls__x509_free(&b);
    iotls__x509_free(&trust);

    /* One bit of the signature flipped: same length, still parses, and
     * must fail as the forgery it is. */
    memcpy(bad, leaf_der, leaf_len);
    bad[leaf_len - 1] ^= 0x01;
    CHECK_RC(verify_der(bad, leaf_len, inter_der, inter_len, 0), IOTLS_ERR_CERT_UNKNOWN_CA);
    CHECK_OK(verify_der(leaf_der, leaf_len, inter_der, inter_len, 0));

    /* Time is checked on every verification, not remembered. */
    CHECK_RC(verify_der(leaf_der, leaf_len, inter_der, inter_len, now + 400 * 86400),
             IOTLS_ERR_CERT_EXPIRED);
    CHECK_OK(verify_der(leaf_der, leaf_len, inter_der, inter_len, 0));
    size_t other_len = der_of(&expired, other, sizeof(other));
    CHECK_RC(verify_der(other, other_len, inter_der, inter_len, 0), IOTLS_ERR_CERT_EXPIRED);

    /* Many different certificates in between: the first ones still work. */
    const ident *all[] = {&ca,      &inter,    &inter384,   &leaf384,     &leaf_rsa,
                          &expired, &other_ca, &other_leaf, &client_only, &leaf};
    for (size_t round = 0; round < 2; round++) {
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
            iotls_x509 c;
            iotls__x509_init(&c);
            other_len = der_of(all[i], other, sizeof(other));
            CHECK_OK(iotls__x509_add_der(&c, other, other_len));
            iotls__x509_free(&c);
        }
    }
    CHECK_OK(verify_der(leaf_der, leaf_len, inter_der, inter_len, 0));
    other_len = der_of(&other_leaf, other, sizeof(other));
    CHECK_RC(verify_der(other, other_len, inter_der, inter_len, 0), IOTLS_ERR_CERT_UNKNOWN_CA);
}

static void test_mem_stats(void)
{
    size_t cur = 1, peak = 1;
    iotls__crypto_mem_reset_peak();
    iotls_crypto_mem_stats(&cur, &peak);
#if defined(IOTLS_CRYPTO_BACKEND_OPENSSL) || defined(MBEDTLS_PLATFORM_MEMORY)
#if defined(IOTLS_CRYPTO_BACKEND_OPENSSL)
    /* OpenSSL's allocations are counted from before main(): what the
     * earlier tests left (the DRBG, fetched algorithms) is in the total. */
    CHECK(cur > 0);
#endif
    CHECK(peak >= cur);
    /* A loaded key shows in the current total, the peak and this thread's
     * own peak, and freeing it gives the bytes back. */
    iotls__crypto_mem_thread_reset();
    CHECK(iotls__crypto_mem_thread_peak() == 0);
    iotls_pkey key;
    load_key(&key, &leaf_rsa);
    size_t held = 0, peak_held = 0, after = 0;
    iotls_crypto_mem_stats(&held, &peak_held);
    CHECK(held > cur && peak_held >= held);
    CHECK(iotls__crypto_mem_thread_peak() >= held - cur);
    iotls__pkey_free(&key);
    iotls_crypto_mem_stats(&after, NULL);
    CHECK(after < held);
#else
    /* This mbedTLS cannot route its allocations through us: 0/0. */
    CHECK(cur == 0 && peak == 0);
    iotls__crypto_mem_thread_reset();
    iotls_pkey key;
    load_key(&key, &leaf_rsa);
    CHECK(iotls__crypto_mem_thread_peak() == 0);
    iotls__pkey_free(&key);
#endif
}

int main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/iotls-pkx509-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 2;
    }
    char out[256];
    if (run(out, sizeof(out), "openssl version") != 0) {
        fprintf(stderr, "the openssl command is needed for the cross-checks\n");
        return 2;
    }

    make_pki();
    test_openssl_accepts_pki();
    test_verify();
    test_explain();
    test_profile();
    test_key_limits();
    test_signatures();
    test_can_sign();
    test_describe();
    test_loading();
    test_anchor_bundles();
    test_pki_args();
    test_peer_cert_reuse();
    test_mem_stats();

    run(NULL, 0, "rm -rf '%s'", tmpdir);
    return tl_finish("pk_x509");
}
