/* Throwaway PKI for the demo and the tests: keys made by psa_generate_key
 * and written out as PEM through mbedtls_pk, certificates issued with
 * Mbed TLS' writers (mbedtls_x509write_crt_*), which sign through PSA.
 * extendedKeyUsage and subjectAltName are encoded with the ASN.1 writer
 * and added as raw extensions, as the mbedTLS provider does. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/psa_util.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "psa_glue.h"

/* The calls whose generator argument Mbed TLS 4 dropped. */
static int check_pair(const mbedtls_pk_context *pub, const mbedtls_pk_context *prv)
{
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    return mbedtls_pk_check_pair(pub, prv);
#else
    return mbedtls_pk_check_pair(pub, prv, mbedtls_psa_get_random, MBEDTLS_PSA_RANDOM_STATE);
#endif
}

static int write_crt_pem(mbedtls_x509write_cert *w, char *out, size_t cap)
{
#if MBEDTLS_VERSION_NUMBER >= 0x04000000
    return mbedtls_x509write_crt_pem(w, (unsigned char *)out, cap);
#else
    return mbedtls_x509write_crt_pem(w, (unsigned char *)out, cap, mbedtls_psa_get_random,
                                     MBEDTLS_PSA_RANDOM_STATE);
#endif
}

#define MAX_SAN_ENTRIES IOTLS_COMMON_MAX_SAN_ENTRIES
#define MAX_SAN_NAME IOTLS_COMMON_MAX_SAN_NAME
#define SAN_BUF_SIZE (MAX_SAN_ENTRIES * (MAX_SAN_NAME + 4) + 8)

/* Generates a key of attr (usage and algorithm are set here) and writes
 * it as PEM into key_pem. exponent: the RSA public exponent, 0 for the
 * library's default (65537, and no other kind of key takes one). */
static int generate_pem(psa_key_attributes_t *attr, uint32_t exponent, char *key_pem, size_t cap)
{
    int rc = iotls_psa_ready();
    if (rc != IOTLS_OK) {
        psa_reset_key_attributes(attr);
        return rc;
    }
    /* Exportable: the whole point is to write it out. */
    psa_set_key_usage_flags(attr, PSA_KEY_USAGE_SIGN_HASH | PSA_KEY_USAGE_EXPORT);
    psa_key_id_t id = PSA_KEY_ID_NULL;
    psa_status_t st;
    iotls_psa_lock();
    if (exponent == 0) {
        st = psa_generate_key(attr, &id);
    } else {
        /* psa_custom_key_parameters_t: an RSA key's public exponent as
         * big-endian bytes in custom_data. */
        static const psa_custom_key_parameters_t custom = PSA_CUSTOM_KEY_PARAMETERS_INIT;
        const uint8_t e[4] = {(uint8_t)(exponent >> 24), (uint8_t)(exponent >> 16),
                              (uint8_t)(exponent >> 8), (uint8_t)exponent};
        st = psa_generate_key_custom(attr, &custom, e, sizeof e, &id);
    }
    iotls_psa_unlock();
    psa_reset_key_attributes(attr);
    if (st != PSA_SUCCESS)
        return st == PSA_ERROR_NOT_SUPPORTED ? IOTLS_ERR_UNSUPPORTED : iotls_psa_error(st);

    mbedtls_pk_context pk;
    mbedtls_pk_init(&pk);
    iotls_psa_lock();
    int ret = mbedtls_pk_copy_from_psa(id, &pk);
    iotls_psa_unlock();
    iotls_psa_destroy(&id);
    iotls_psa_lock();
    if (ret == 0)
        ret = mbedtls_pk_write_key_pem(&pk, (unsigned char *)key_pem, cap);
    mbedtls_pk_free(&pk); /* wipes the private key */
    iotls_psa_unlock();
    if (ret != 0) {
        mbedtls_platform_zeroize(key_pem, cap);
        key_pem[0] = '\0';
        return (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
                   ? IOTLS_ERR_BUFFER_TOO_SMALL
                   : IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

int iotls_pki_make_key(iotls_key_type type, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';

    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    switch (type) {
    case IOTLS_KEY_EC_P256:
    case IOTLS_KEY_EC_P384:
        psa_set_key_type(&attr, PSA_KEY_TYPE_ECC_KEY_PAIR(PSA_ECC_FAMILY_SECP_R1));
        psa_set_key_bits(&attr, type == IOTLS_KEY_EC_P256 ? 256 : 384);
        psa_set_key_algorithm(&attr, IOTLS_PSA_ECDSA(PSA_ALG_ANY_HASH));
        break;
    case IOTLS_KEY_RSA_2048:
        psa_set_key_type(&attr, PSA_KEY_TYPE_RSA_KEY_PAIR);
        psa_set_key_bits(&attr, 2048);
        psa_set_key_algorithm(&attr, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
        break;
    default:
        return IOTLS_ERR_BAD_ARG;
    }
    return generate_pem(&attr, 0, key_pem, cap);
}

/* PSA generates RSA keys up to PSA_VENDOR_RSA_MAX_KEY_BITS (4096 in Mbed
 * TLS' default configuration): a larger size is IOTLS_ERR_UNSUPPORTED. */
int iotls_pki_make_rsa_key(unsigned bits, uint32_t exponent, char *key_pem, size_t cap)
{
    if (key_pem == NULL || cap == 0 || iotls_common_rsa_keygen_check(bits, exponent) != IOTLS_OK)
        return IOTLS_ERR_BAD_ARG;
    key_pem[0] = '\0';
    if (bits > PSA_VENDOR_RSA_MAX_KEY_BITS)
        return IOTLS_ERR_UNSUPPORTED;
    psa_key_attributes_t attr = PSA_KEY_ATTRIBUTES_INIT;
    psa_set_key_type(&attr, PSA_KEY_TYPE_RSA_KEY_PAIR);
    psa_set_key_bits(&attr, bits);
    psa_set_key_algorithm(&attr, PSA_ALG_RSA_PSS(PSA_ALG_ANY_HASH));
    return generate_pem(&attr, exponent, key_pem, cap);
}

/* "YYYYMMDDhhmmss" in UTC, the form mbedtls_x509write_crt_set_validity
 * takes. */
static int format_time(int64_t t, char out[16])
{
    time_t tt = (time_t)t;
    struct tm tm;
    if ((int64_t)tt != t || gmtime_r(&tt, &tm) == NULL)
        return -1;
    return strftime(out, 16, "%Y%m%d%H%M%S", &tm) == 14 ? 0 : -1;
}

/* One subjectAltName entry waiting to be written. */
typedef struct {
    unsigned char tag;
    const char *data;
    size_t len;
} san_entry;

/* Splits a comma-separated list into entries of tag; IP addresses are
 * converted into ip_store. Spaces around items are ignored. */
static int collect_sans(const char *list, unsigned char tag, san_entry *entries, size_t *count,
                        uint8_t (*ip_store)[16])
{
    if (list == NULL)
        return 0;
    const char *start;
    size_t len;
    while (iotls_common_list_next(&list, &start, &len)) {
        if (*count >= MAX_SAN_ENTRIES || len > MAX_SAN_NAME)
            return -1;
        san_entry *e = &entries[*count];
        e->tag = tag;
        if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)) {
            size_t ip_len = iotls_common_parse_ip_n(start, len, ip_store[*count]);
            if (ip_len == 0)
                return -1;
            e->data = (const char *)ip_store[*count];
            e->len = ip_len;
        } else {
            e->data = start;
            e->len = len;
        }
        (*count)++;
    }
    return 0;
}

/* SubjectAltName ::= SEQUENCE OF GeneralName, with dNSName [2] IA5String
 * and iPAddress [7] OCTET STRING, both IMPLICIT. mbedTLS's writer works
 * backwards from the end of buf, so the entries go in last first. Returns
 * the length (the value starts at *p) or a negative mbedTLS error. */
static int write_san(unsigned char **p, unsigned char *buf, const san_entry *entries, size_t count)
{
    int ret, len = 0;
    for (size_t i = count; i-- > 0;) {
        MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tagged_string(
                                      p, buf, entries[i].tag, entries[i].data, entries[i].len));
    }
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, (size_t)len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return len;
}

/* ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId */
static int write_eku(unsigned char **p, unsigned char *buf, int server, int client)
{
    int ret, len = 0;
    if (client)
        MBEDTLS_ASN1_CHK_ADD(len,
                             mbedtls_asn1_write_oid(p, buf, MBEDTLS_OID_CLIENT_AUTH,
                                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)));
    if (server)
        MBEDTLS_ASN1_CHK_ADD(len,
                             mbedtls_asn1_write_oid(p, buf, MBEDTLS_OID_SERVER_AUTH,
                                                    MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)));
    MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, buf, (size_t)len));
    MBEDTLS_ASN1_CHK_ADD(
        len, mbedtls_asn1_write_tag(p, buf, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
    return len;
}

/* The signature hash that goes with the issuer's key. */
static mbedtls_md_type_t md_for_key(const mbedtls_pk_context *pk)
{
    psa_key_type_t type;
    size_t bits;
    if (iotls_psa_pk_info(pk, &type, &bits) != IOTLS_OK || !PSA_KEY_TYPE_IS_ECC(type))
        return MBEDTLS_MD_SHA256;
    return bits > 384 ? MBEDTLS_MD_SHA512 : bits > 256 ? MBEDTLS_MD_SHA384 : MBEDTLS_MD_SHA256;
}

static int is_rsa(const mbedtls_pk_context *pk)
{
    psa_key_type_t type;
    size_t bits;
    return iotls_psa_pk_info(pk, &type, &bits) == IOTLS_OK && PSA_KEY_TYPE_IS_RSA(type);
}

static int parse_key_pem(mbedtls_pk_context *pk, const char *pem)
{
    iotls_psa_lock();
    int ret = iotls_psa_pk_parse_key(pk, (const unsigned char *)pem, strlen(pem) + 1, NULL);
    iotls_psa_unlock();
    return ret;
}

static int write_extensions(mbedtls_x509write_cert *w, const iotls_cert_spec *spec,
                            const mbedtls_pk_context *subject_key)
{
    if (mbedtls_x509write_crt_set_basic_constraints(w, spec->is_ca ? 1 : 0, -1) != 0)
        return IOTLS_ERR_CRYPTO;
#if defined(PSA_WANT_ALG_SHA_1)
    if (mbedtls_x509write_crt_set_subject_key_identifier(w) != 0 ||
        mbedtls_x509write_crt_set_authority_key_identifier(w) != 0)
        return IOTLS_ERR_CRYPTO;
#endif

    unsigned int usage;
    if (spec->is_ca)
        usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN;
    else if (is_rsa(subject_key))
        usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE | MBEDTLS_X509_KU_KEY_ENCIPHERMENT;
    else
        usage = MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    if (mbedtls_x509write_crt_set_key_usage(w, usage) != 0)
        return IOTLS_ERR_CRYPTO;

    if (!spec->is_ca && (spec->for_server || spec->for_client)) {
        unsigned char buf[64];
        unsigned char *p = buf + sizeof(buf);
        int len = write_eku(&p, buf, spec->for_server, spec->for_client);
        if (len < 0 ||
            mbedtls_x509write_crt_set_extension(w, MBEDTLS_OID_EXTENDED_KEY_USAGE,
                                                MBEDTLS_OID_SIZE(MBEDTLS_OID_EXTENDED_KEY_USAGE), 0,
                                                p, (size_t)len) != 0)
            return IOTLS_ERR_CRYPTO;
    }

    san_entry entries[MAX_SAN_ENTRIES];
    uint8_t ip_store[MAX_SAN_ENTRIES][16];
    size_t count = 0;
    if (collect_sans(spec->dns_names, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME,
                     entries, &count, ip_store) != 0 ||
        collect_sans(spec->ip_addrs, MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS,
                     entries, &count, ip_store) != 0)
        return IOTLS_ERR_BAD_ARG;
    if (count > 0) {
        unsigned char *buf = malloc(SAN_BUF_SIZE);
        if (buf == NULL)
            return IOTLS_ERR_NO_MEMORY;
        unsigned char *p = buf + SAN_BUF_SIZE;
        int len = write_san(&p, buf, entries, count);
        /* RFC 5280 4.2.1.6: critical when the subject DN is empty. */
        int critical = spec->subject[0] == '\0';
        int ret =
            len < 0 ? len
                    : mbedtls_x509write_crt_set_extension(
                          w, MBEDTLS_OID_SUBJECT_ALT_NAME,
                          MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME), critical, p, (size_t)len);
        free(buf);
        if (ret != 0)
            return IOTLS_ERR_CRYPTO;
    }
    return IOTLS_OK;
}

int iotls_pki_make_cert(const iotls_cert_spec *spec, const char *subject_key_pem,
                        const char *issuer_key_pem, const char *issuer_cert_pem, char *cert_pem,
                        size_t cap)
{
    int64_t not_before, not_after;
    int rc = iotls_common_cert_start(spec, subject_key_pem, issuer_key_pem, issuer_cert_pem,
                                     cert_pem, cap, &not_before, &not_after);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls_psa_ready();
    if (rc != IOTLS_OK)
        return rc;
    char from[16], to[16];
    if (format_time(not_before, from) != 0 || format_time(not_after, to) != 0)
        return IOTLS_ERR_BAD_ARG;

    mbedtls_pk_context subject_key, issuer_key;
    mbedtls_x509_crt issuer_crt;
    mbedtls_x509write_cert w;
    mbedtls_pk_init(&subject_key);
    mbedtls_pk_init(&issuer_key);
    mbedtls_x509_crt_init(&issuer_crt);
    mbedtls_x509write_crt_init(&w);
    char issuer_name[512];
    const char *issuer_dn = spec->subject;
    mbedtls_pk_context *signer = &subject_key;

    if (parse_key_pem(&subject_key, subject_key_pem) != 0) {
        rc = IOTLS_ERR_KEY_LOAD;
        goto done;
    }
    if (issuer_key_pem != NULL) {
        if (parse_key_pem(&issuer_key, issuer_key_pem) != 0) {
            rc = IOTLS_ERR_KEY_LOAD;
            goto done;
        }
        if (mbedtls_x509_crt_parse(&issuer_crt, (const unsigned char *)issuer_cert_pem,
                                   strlen(issuer_cert_pem) + 1) != 0) {
            rc = IOTLS_ERR_BAD_CERTIFICATE;
            goto done;
        }
        /* A certificate signed by a key other than its issuer's would
         * never verify: refuse it here rather than later. */
        iotls_psa_lock();
        int mismatch = check_pair(&issuer_crt.pk, &issuer_key);
        iotls_psa_unlock();
        if (mismatch != 0) {
            rc = IOTLS_ERR_BAD_ARG;
            goto done;
        }
        /* The issuer name goes through Mbed TLS' own text form, which its
         * writer reads back; fine for the plain names a test PKI uses. */
        if (mbedtls_x509_dn_gets(issuer_name, sizeof(issuer_name), &issuer_crt.subject) < 0) {
            rc = IOTLS_ERR_BAD_CERTIFICATE;
            goto done;
        }
        issuer_dn = issuer_name;
        signer = &issuer_key;
    }

    uint8_t serial[IOTLS_COMMON_SERIAL_LEN];
    rc = iotls_common_cert_serial(serial);
    if (rc != IOTLS_OK)
        goto done;

    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, md_for_key(signer));
    mbedtls_x509write_crt_set_subject_key(&w, &subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, signer);
    if (mbedtls_x509write_crt_set_subject_name(&w, spec->subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&w, issuer_dn) != 0) {
        rc = IOTLS_ERR_BAD_ARG;
        goto done;
    }
    if (mbedtls_x509write_crt_set_serial_raw(&w, serial, sizeof(serial)) != 0 ||
        mbedtls_x509write_crt_set_validity(&w, from, to) != 0) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }
    rc = write_extensions(&w, spec, &subject_key);
    if (rc != IOTLS_OK)
        goto done;

    iotls_psa_lock();
    int ret = write_crt_pem(&w, cert_pem, cap);
    iotls_psa_unlock();
    if (ret != 0) {
        cert_pem[0] = '\0';
        rc = (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
                 ? IOTLS_ERR_BUFFER_TOO_SMALL
                 : IOTLS_ERR_CRYPTO;
    }

done:
    mbedtls_x509write_crt_free(&w);
    mbedtls_x509_crt_free(&issuer_crt);
    iotls_psa_lock();
    mbedtls_pk_free(&issuer_key);
    mbedtls_pk_free(&subject_key);
    iotls_psa_unlock();
    return rc;
}
