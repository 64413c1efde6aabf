/* iotls_pki_make_cert for the two providers built on Mbed TLS (see
 * mbedtls_common/pki.h): certificates issued with Mbed TLS' writers
 * (mbedtls_x509write_crt_*). Extensions that 2.28 has no setter for
 * (extendedKeyUsage, subjectAltName) are encoded with Mbed TLS' ASN.1
 * writer and added as raw extensions, which works the same in 3.x and 4.
 * Built only with the Mbed TLS providers (CMakeLists.txt). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/asn1write.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "crypto/mbedtls_common/pki.h"

#define MAX_SAN_ENTRIES IOTLS_COMMON_MAX_SAN_ENTRIES
#define MAX_SAN_NAME IOTLS_COMMON_MAX_SAN_NAME
#define SAN_BUF_SIZE (MAX_SAN_ENTRIES * (MAX_SAN_NAME + 4) + 8)

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
    while (iotls__common_list_next(&list, &start, &len)) {
        if (*count >= MAX_SAN_ENTRIES || len > MAX_SAN_NAME)
            return -1;
        san_entry *e = &entries[*count];
        e->tag = tag;
        if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)) {
            size_t ip_len = iotls__common_parse_ip_n(start, len, ip_store[*count]);
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

static int write_extensions(mbedtls_x509write_cert *w, const iotls_cert_spec *spec,
                            const mbedtls_pk_context *subject_key)
{
    if (mbedtls_x509write_crt_set_basic_constraints(w, spec->is_ca ? 1 : 0, -1) != 0)
        return IOTLS_ERR_CRYPTO;
/* The key identifiers are SHA-1 hashes (RFC 5280 4.2.1.2). */
#if defined(MBEDTLS_SHA1_C) || defined(MBEDTLS_MD_CAN_SHA1) || defined(PSA_WANT_ALG_SHA_1)
    if (mbedtls_x509write_crt_set_subject_key_identifier(w) != 0 ||
        mbedtls_x509write_crt_set_authority_key_identifier(w) != 0)
        return IOTLS_ERR_CRYPTO;
#endif

    unsigned int usage;
    if (spec->is_ca)
        usage = MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN;
    else if (iotls__mbpki_is_rsa(subject_key))
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
    int rc = iotls__common_cert_start(spec, subject_key_pem, issuer_key_pem, issuer_cert_pem,
                                      cert_pem, cap, &not_before, &not_after);
    if (rc != IOTLS_OK)
        return rc;
    rc = iotls__mbpki_ready();
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

    if (iotls__mbpki_parse_key(&subject_key, subject_key_pem) != 0) {
        rc = IOTLS_ERR_KEY_LOAD;
        goto done;
    }
    if (issuer_key_pem != NULL) {
        if (iotls__mbpki_parse_key(&issuer_key, issuer_key_pem) != 0) {
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
        if (iotls__mbpki_check_pair(&issuer_crt.pk, &issuer_key) != 0) {
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
    rc = iotls__common_cert_serial(serial);
    if (rc != IOTLS_OK)
        goto done;

    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, iotls__mbpki_md_for_key(signer));
    mbedtls_x509write_crt_set_subject_key(&w, &subject_key);
    mbedtls_x509write_crt_set_issuer_key(&w, signer);
    if (mbedtls_x509write_crt_set_subject_name(&w, spec->subject) != 0 ||
        mbedtls_x509write_crt_set_issuer_name(&w, issuer_dn) != 0) {
        rc = IOTLS_ERR_BAD_ARG;
        goto done;
    }
    if (iotls__mbpki_set_serial(&w, serial, sizeof(serial)) != 0 ||
        mbedtls_x509write_crt_set_validity(&w, from, to) != 0) {
        rc = IOTLS_ERR_CRYPTO;
        goto done;
    }
    rc = write_extensions(&w, spec, &subject_key);
    if (rc != IOTLS_OK)
        goto done;

    int ret = iotls__mbpki_write_crt_pem(&w, cert_pem, cap);
    if (ret != 0) {
        cert_pem[0] = '\0';
        rc = (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL || ret == MBEDTLS_ERR_ASN1_BUF_TOO_SMALL)
                 ? IOTLS_ERR_BUFFER_TOO_SMALL
                 : IOTLS_ERR_CRYPTO;
    }

done:
    mbedtls_x509write_crt_free(&w);
    mbedtls_x509_crt_free(&issuer_crt);
    iotls__mbpki_pk_free(&issuer_key);
    iotls__mbpki_pk_free(&subject_key);
    return rc;
}
