/* Throwaway PKI for the demo and the tests: key generation and certificate
 * issuance with OpenSSL (EVP_PKEY_Q_keygen, X509_* and the v3 extension
 * configuration strings through X509V3_EXT_conf_nid). The certificates
 * match what the mbedTLS backend writes: v3, a 16-byte random serial,
 * basicConstraints, subject and authority key identifiers, keyUsage,
 * extendedKeyUsage and subjectAltName. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "ossl.h"

#define MAX_SAN_ENTRIES IOTLS_COMMON_MAX_SAN_ENTRIES
#define MAX_SAN_NAME IOTLS_COMMON_MAX_SAN_NAME

/* Copies a memory BIO's contents into out as a NUL-ended string. */
static int bio_to_text(BIO *bio, char *out, size_t cap)
{
    char *text = NULL;
    long len = BIO_get_mem_data(bio, &text);
    if (len <= 0)
        return IOTLS_ERR_CRYPTO;
    if ((size_t)len + 1 > cap)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    memcpy(out, text, (size_t)len);
    out[len] = '\0';
    return IOTLS_OK;
}

/* key's private half as PEM into key_pem. A secure-memory BIO: its buffer
 * is cleansed when it is freed. The "traditional" form (SEC1 "EC PRIVATE
 * KEY" / PKCS#1 "RSA PRIVATE KEY") is what the mbedTLS backend writes too. */
static int write_key_pem(EVP_PKEY *key, char *key_pem, size_t cap)
{
    BIO *bio = BIO_new(BIO_s_secmem());
    int rc = IOTLS_ERR_CRYPTO;
    if (bio != NULL &&
        PEM_write_bio_PrivateKey_traditional(bio, key, NULL, NULL, 0, NULL, NULL) == 1)
        rc = bio_to_text(bio, key_pem, cap);
    if (rc != IOTLS_OK) {
        OPENSSL_cleanse(key_pem, cap);
        key_pem[0] = '\0';
    }
    BIO_free(bio);
    return rc;
}

int iotls_pki_make_key(iotls_key_type type, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';

    EVP_PKEY *key;
    switch (type) {
    case IOTLS_KEY_EC_P256:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
        break;
    case IOTLS_KEY_EC_P384:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
        break;
    case IOTLS_KEY_RSA_2048:
        key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
        break;
    default:
        return IOTLS_ERR_BAD_ARG;
    }
    if (key == NULL) {
        ERR_clear_error();
        return IOTLS_ERR_CRYPTO;
    }
    int rc = write_key_pem(key, key_pem, cap);
    EVP_PKEY_free(key); /* clears the private key */
    ERR_clear_error();
    return rc;
}

int iotls__pki_make_rsa_key(unsigned bits, uint32_t exponent, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0 || iotls__common_rsa_keygen_check(bits, exponent) != IOTLS_OK)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
    BIGNUM *e = BN_new();
    EVP_PKEY *key = NULL;
    int ok = ctx != NULL && e != NULL && BN_set_word(e, exponent) == 1 &&
             EVP_PKEY_keygen_init(ctx) == 1 &&
             EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, (int)bits) == 1 &&
             EVP_PKEY_CTX_set1_rsa_keygen_pubexp(ctx, e) == 1 && EVP_PKEY_generate(ctx, &key) == 1;
    BN_free(e);
    EVP_PKEY_CTX_free(ctx);
    int rc = ok ? write_key_pem(key, key_pem, cap) : IOTLS_ERR_CRYPTO;
    EVP_PKEY_free(key); /* clears the private key */
    ERR_clear_error();
    return rc;
}

/* A NUL-ended PEM string's first private key; NULL if there is none.
 * Never prompts for a password. */
static int no_password(char *buf, int size, int rwflag, void *u)
{
    (void)buf;
    (void)size;
    (void)rwflag;
    (void)u;
    return -1;
}

static EVP_PKEY *parse_key_pem(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        return NULL;
    EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
    BIO_free(bio);
    return key;
}

static X509 *parse_cert_pem(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL)
        return NULL;
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
    BIO_free(bio);
    return x;
}

/* The mbedTLS-style subject text "CN=name,O=org" (a backslash escapes the
 * next character, spaces after a comma are skipped) into an X509_NAME, in
 * the order written. Attribute names are OpenSSL's short or long names
 * (CN, O, OU, C, ST, L, emailAddress, serialNumber, ...). */
static int parse_subject(const char *text, X509_NAME *name)
{
    size_t len = strlen(text);
    char *buf = malloc(len + 1);
    if (buf == NULL)
        return IOTLS_ERR_NO_MEMORY;
    int rc = IOTLS_OK;
    size_t pos = 0;
    while (rc == IOTLS_OK && pos < len) {
        while (pos < len && text[pos] == ' ')
            pos++;
        if (pos == len)
            break;
        /* The attribute name, up to '='. */
        size_t key_start = pos;
        while (pos < len && text[pos] != '=' && text[pos] != ',')
            pos++;
        if (pos == len || text[pos] != '=' || pos == key_start) {
            rc = IOTLS_ERR_BAD_ARG;
            break;
        }
        size_t key_len = pos - key_start;
        pos++;
        /* The value, up to an unescaped ','. */
        size_t out = 0;
        while (pos < len && text[pos] != ',') {
            if (text[pos] == '\\' && pos + 1 < len)
                pos++;
            buf[out++] = text[pos++];
        }
        if (pos < len)
            pos++; /* the ',' */
        char key[64];
        if (key_len >= sizeof(key) || out == 0 || out > INT32_MAX) {
            rc = IOTLS_ERR_BAD_ARG;
            break;
        }
        memcpy(key, text + key_start, key_len);
        key[key_len] = '\0';
        if (X509_NAME_add_entry_by_txt(name, key, MBSTRING_UTF8, (const unsigned char *)buf,
                                       (int)out, -1, 0) != 1)
            rc = IOTLS_ERR_BAD_ARG;
    }
    free(buf);
    return rc;
}

/* One extension from OpenSSL's configuration syntax ("critical,CA:TRUE"). */
static int add_conf_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
    if (ext == NULL)
        return IOTLS_ERR_CRYPTO;
    int ok = X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return ok == 1 ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

/* Adds the entries of a comma-separated list (spaces around items are
 * ignored) to names as dNSName (ip == 0) or iPAddress (ip == 1). The SANs
 * are built as GENERAL_NAMEs rather than through a configuration string,
 * so no text in a name can smuggle in another entry. */
static int collect_sans(const char *list, int ip, GENERAL_NAMES *names)
{
    if (list == NULL)
        return IOTLS_OK;
    const char *start;
    size_t len;
    while (iotls__common_list_next(&list, &start, &len)) {
        if (sk_GENERAL_NAME_num(names) >= MAX_SAN_ENTRIES || len > MAX_SAN_NAME)
            return IOTLS_ERR_BAD_ARG;

        GENERAL_NAME *g = GENERAL_NAME_new();
        ASN1_STRING *value = ip ? ASN1_OCTET_STRING_new() : ASN1_IA5STRING_new();
        if (g == NULL || value == NULL) {
            GENERAL_NAME_free(g);
            ASN1_STRING_free(value);
            return IOTLS_ERR_NO_MEMORY;
        }
        int ok;
        if (ip) {
            uint8_t addr[16];
            size_t addr_len = iotls__common_parse_ip_n(start, len, addr);
            ok = addr_len != 0 && ASN1_OCTET_STRING_set(value, addr, (int)addr_len) == 1;
        } else {
            ok = len > 0 && ASN1_STRING_set(value, start, (int)len) == 1;
        }
        if (!ok) {
            GENERAL_NAME_free(g);
            ASN1_STRING_free(value);
            return IOTLS_ERR_BAD_ARG;
        }
        GENERAL_NAME_set0_value(g, ip ? GEN_IPADD : GEN_DNS, value);
        if (!sk_GENERAL_NAME_push(names, g)) {
            GENERAL_NAME_free(g);
            return IOTLS_ERR_NO_MEMORY;
        }
    }
    return IOTLS_OK;
}

static int add_extensions(X509 *x, X509 *issuer, const iotls_cert_spec *spec, EVP_PKEY *subject_key)
{
    X509V3_CTX ctx;
    X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);

    int rc =
        add_conf_ext(x, &ctx, NID_basic_constraints, spec->is_ca ? "critical,CA:TRUE" : "CA:FALSE");
    /* The subject key identifier first: a self-signed certificate's
     * authority key identifier is taken from it. */
    if (rc == IOTLS_OK)
        rc = add_conf_ext(x, &ctx, NID_subject_key_identifier, "hash");
    if (rc == IOTLS_OK)
        rc = add_conf_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");

    const char *usage;
    if (spec->is_ca)
        usage = "critical,keyCertSign,cRLSign";
    else if (EVP_PKEY_get_base_id(subject_key) == EVP_PKEY_RSA)
        usage = "critical,digitalSignature,keyEncipherment";
    else
        usage = "critical,digitalSignature";
    if (rc == IOTLS_OK)
        rc = add_conf_ext(x, &ctx, NID_key_usage, usage);

    if (rc == IOTLS_OK && !spec->is_ca && (spec->for_server || spec->for_client)) {
        const char *eku = spec->for_server && spec->for_client ? "serverAuth,clientAuth"
                          : spec->for_server                   ? "serverAuth"
                                                               : "clientAuth";
        rc = add_conf_ext(x, &ctx, NID_ext_key_usage, eku);
    }
    if (rc != IOTLS_OK)
        return rc;

    GENERAL_NAMES *names = sk_GENERAL_NAME_new_null();
    if (names == NULL)
        return IOTLS_ERR_NO_MEMORY;
    rc = collect_sans(spec->dns_names, 0, names);
    if (rc == IOTLS_OK)
        rc = collect_sans(spec->ip_addrs, 1, names);
    if (rc == IOTLS_OK && sk_GENERAL_NAME_num(names) > 0) {
        /* RFC 5280 4.2.1.6: critical when the subject DN is empty. */
        int critical = spec->subject[0] == '\0';
        if (X509_add1_ext_i2d(x, NID_subject_alt_name, names, critical, X509V3_ADD_DEFAULT) != 1)
            rc = IOTLS_ERR_CRYPTO;
    }
    GENERAL_NAMES_free(names);
    return rc;
}

/* The signature hash that goes with the issuer's key. */
static const EVP_MD *md_for_key(const EVP_PKEY *key)
{
    if (iotls__ossl_ec_group_is(key, "P-384"))
        return EVP_sha384();
    if (iotls__ossl_ec_group_is(key, "secp521r1"))
        return EVP_sha512();
    return EVP_sha256();
}

/* A random positive serial (iotls__common_cert_serial). */
static int set_serial(X509 *x)
{
    uint8_t serial[IOTLS_COMMON_SERIAL_LEN];
    int rc = iotls__common_cert_serial(serial);
    if (rc != IOTLS_OK)
        return rc;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    return ok ? IOTLS_OK : IOTLS_ERR_CRYPTO;
}

int iotls_pki_make_cert(const iotls_cert_spec *spec, const char *subject_key_pem,
                        const char *issuer_key_pem, const char *issuer_cert_pem, char *cert_pem,
                        size_t cap)
{
    int64_t not_before, not_after;
    int rc = iotls__common_cert_start(spec, subject_key_pem, issuer_key_pem, issuer_cert_pem,
                                      cert_pem, cap, &not_before, &not_after);
    if (rc != IOTLS_OK)
        return rc;

    EVP_PKEY *subject_key = NULL, *issuer_key = NULL;
    X509 *issuer = NULL, *x = NULL;
    BIO *bio = NULL;

    subject_key = parse_key_pem(subject_key_pem);
    if (subject_key == NULL) {
        rc = IOTLS_ERR_KEY_LOAD;
        goto done;
    }
    if (issuer_key_pem != NULL) {
        issuer_key = parse_key_pem(issuer_key_pem);
        if (issuer_key == NULL) {
            rc = IOTLS_ERR_KEY_LOAD;
            goto done;
        }
        issuer = parse_cert_pem(issuer_cert_pem);
        if (issuer == NULL) {
            rc = IOTLS_ERR_BAD_CERTIFICATE;
            goto done;
        }
        /* A certificate signed by a key other than its issuer's would
         * never verify: refuse it here rather than later. */
        if (X509_check_private_key(issuer, issuer_key) != 1) {
            rc = IOTLS_ERR_BAD_ARG;
            goto done;
        }
    }
    EVP_PKEY *signer = issuer_key != NULL ? issuer_key : subject_key;

    x = X509_new();
    if (x == NULL) {
        rc = IOTLS_ERR_NO_MEMORY;
        goto done;
    }
    if (X509_set_version(x, X509_VERSION_3) != 1 ||
        ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL ||
        ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL ||
        X509_set_pubkey(x, subject_key) != 1) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }
    rc = set_serial(x);
    if (rc != IOTLS_OK)
        goto done;
    rc = parse_subject(spec->subject, X509_get_subject_name(x));
    if (rc != IOTLS_OK)
        goto done;
    /* The issuer name is copied as encoded in the issuer's certificate, so
     * name chaining is exact. */
    if (X509_set_issuer_name(x, issuer != NULL ? X509_get_subject_name(issuer)
                                               : X509_get_subject_name(x)) != 1) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }
    rc = add_extensions(x, issuer != NULL ? issuer : x, spec, subject_key);
    if (rc != IOTLS_OK)
        goto done;
    if (X509_sign(x, signer, md_for_key(signer)) <= 0) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }

    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || PEM_write_bio_X509(bio, x) != 1) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }
    rc = bio_to_text(bio, cert_pem, cap);
    if (rc != IOTLS_OK)
        cert_pem[0] = '\0';

done:
    BIO_free(bio);
    X509_free(x);
    X509_free(issuer);
    EVP_PKEY_free(issuer_key);
    EVP_PKEY_free(subject_key);
    ERR_clear_error();
    return rc;
}
