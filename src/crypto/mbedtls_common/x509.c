/* The part of the certificate code that the two providers built on Mbed
 * TLS' X.509 module (src/crypto/mbedtls/, src/crypto/psa/) share word for
 * word: see mbedtls_common/x509.h. Compiled to nothing with OpenSSL. */
#include "crypto/crypto.h"

#if defined(IOTLS_CRYPTO_BACKEND_OPENSSL)
/* ISO C wants a declaration in every translation unit. */
typedef int iotls_mbx509_not_built;
#else

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/base64.h>
#include <mbedtls/oid.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crl.h>
#include <mbedtls/x509_crt.h>

#include "crypto/common/crypto_common.h"
#include "iotls/error.h"
#include "crypto/mbedtls_common/pem_input.h"
#include "crypto/mbedtls_common/x509.h"

/* ---- chain storage ---- */

void iotls__x509_init(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    mbedtls_x509_crt_init(&chain->crt);
    chain->count = 0;
}

void iotls__x509_free(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    mbedtls_x509_crt_free(&chain->crt);
    iotls__x509_init(chain);
}

/* An empty mbedtls_x509_crt list is one node with no raw data. */
size_t iotls__mbx509_list_count(const mbedtls_x509_crt *crt)
{
    size_t n = 0;
    for (; crt != NULL && crt->raw.p != NULL; crt = crt->next)
        n++;
    return n;
}

const mbedtls_x509_crt *iotls__mbx509_nth(const iotls_x509 *chain, size_t i)
{
    if (chain == NULL)
        return NULL;
    const mbedtls_x509_crt *crt = &chain->crt;
    for (; crt != NULL && crt->raw.p != NULL; crt = crt->next) {
        if (i-- == 0)
            return crt;
    }
    return NULL;
}

size_t iotls__x509_count(const iotls_x509 *chain)
{
    return chain != NULL ? chain->count : 0;
}

/* Appends every certificate of parsed (already checked) to chain, so that
 * a file or buffer is added whole or not at all. */
int iotls__mbx509_append_all(iotls_x509 *chain, const mbedtls_x509_crt *parsed)
{
    for (; parsed != NULL && parsed->raw.p != NULL; parsed = parsed->next) {
        int rc = iotls__x509_add_der(chain, parsed->raw.p, parsed->raw.len);
        if (rc != IOTLS_OK)
            return rc;
    }
    return IOTLS_OK;
}

/* mbedtls_x509_crt_parse* return 0, a negative error, or the number of PEM
 * blocks that failed to parse (a certificate Mbed TLS cannot parse, such as
 * an Ed25519 one, is one of them). With skipped (trust anchors) those are
 * counted there; without, any of them fails the whole. */
int iotls__mbx509_parse_result(int ret, const mbedtls_x509_crt *parsed, size_t *skipped)
{
    if (ret == MBEDTLS_ERR_X509_FILE_IO_ERROR || ret == MBEDTLS_ERR_PK_FILE_IO_ERROR)
        return IOTLS_ERR_KEY_LOAD;
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    if (ret < 0 || (ret > 0 && skipped == NULL) || iotls__mbx509_list_count(parsed) == 0)
        return IOTLS_ERR_BAD_CERTIFICATE;
    if (skipped != NULL)
        *skipped = (size_t)ret;
    return IOTLS_OK;
}

int iotls__x509_der(const iotls_x509 *chain, size_t i, const uint8_t **der, size_t *len)
{
    if (der == NULL || len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    *der = crt->raw.p;
    *len = crt->raw.len;
    return IOTLS_OK;
}

/* ---- revocation lists ---- */

void iotls__crl_init(iotls_crl *crls)
{
    if (crls == NULL)
        return;
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    mbedtls_x509_crl_init(&crls->crl);
#endif
    crls->count = 0;
}

void iotls__crl_free(iotls_crl *crls)
{
    if (crls == NULL)
        return;
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    mbedtls_x509_crl_free(&crls->crl);
#endif
    iotls__crl_init(crls);
}

size_t iotls__crl_count(const iotls_crl *crls)
{
    return crls != NULL ? crls->count : 0;
}

#if defined(MBEDTLS_X509_CRL_PARSE_C)
/* CRLs in a list (an empty one is one node of version 0). */
static size_t crl_list_count(const mbedtls_x509_crl *crl)
{
    size_t n = 0;
    for (; crl != NULL && crl->version != 0; crl = crl->next)
        n++;
    return n;
}

/* mbedtls_x509_crl_parse appends to the list as it goes and stops at the
 * first bad PEM block, keeping what it parsed: parse into a list of our
 * own and move it onto the configured one only when all of it parsed. */
static int crl_take(iotls_crl *crls, mbedtls_x509_crl *parsed, int ret)
{
    if (ret == MBEDTLS_ERR_X509_FILE_IO_ERROR) {
        mbedtls_x509_crl_free(parsed);
        return IOTLS_ERR_KEY_LOAD;
    }
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED) {
        mbedtls_x509_crl_free(parsed);
        return IOTLS_ERR_NO_MEMORY;
    }
    size_t n = crl_list_count(parsed);
    if (ret != 0 || n == 0) {
        mbedtls_x509_crl_free(parsed);
        return IOTLS_ERR_BAD_CERTIFICATE;
    }
    /* The parsed list is re-parsed from its DER onto ours, so that no two
     * lists share nodes (mbedTLS owns each node's memory). */
    for (const mbedtls_x509_crl *c = parsed; c != NULL && c->version != 0; c = c->next) {
        ret = mbedtls_x509_crl_parse_der(&crls->crl, c->raw.p, c->raw.len);
        if (ret != 0) {
            mbedtls_x509_crl_free(parsed);
            return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? IOTLS_ERR_NO_MEMORY
                                                        : IOTLS_ERR_BAD_CERTIFICATE;
        }
        crls->count++;
    }
    mbedtls_x509_crl_free(parsed);
    return IOTLS_OK;
}
#endif

int iotls__crl_load_file(iotls_crl *crls, const char *path)
{
    if (crls == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
#if defined(MBEDTLS_X509_CRL_PARSE_C) && defined(MBEDTLS_FS_IO)
    mbedtls_x509_crl parsed;
    mbedtls_x509_crl_init(&parsed);
    return crl_take(crls, &parsed, mbedtls_x509_crl_parse_file(&parsed, path));
#else
    return IOTLS_ERR_UNSUPPORTED;
#endif
}

int iotls__crl_load_mem(iotls_crl *crls, const uint8_t *data, size_t len)
{
    if (crls == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    iotls_mb_input in;
    int rc = iotls__mb_input_begin(&in, data, len);
    if (rc != IOTLS_OK)
        return rc;
    mbedtls_x509_crl parsed;
    mbedtls_x509_crl_init(&parsed);
    int ret = mbedtls_x509_crl_parse(&parsed, in.data, in.len);
    iotls__mb_input_end(&in);
    return crl_take(crls, &parsed, ret);
#else
    (void)data;
    (void)len;
    return IOTLS_ERR_UNSUPPORTED;
#endif
}

mbedtls_x509_crl *iotls__mbx509_crl_list(const iotls_crl *crls)
{
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    if (crls != NULL && crls->count > 0)
        return (mbedtls_x509_crl *)&crls->crl;
#else
    (void)crls;
#endif
    return NULL;
}

#if defined(MBEDTLS_X509_CRL_PARSE_C)
static int same_name(const mbedtls_x509_buf *a, const mbedtls_x509_buf *b)
{
    return a->len == b->len && a->p != NULL && b->p != NULL && memcmp(a->p, b->p, a->len) == 0;
}

/* 1 when a CRL from crt's issuer is loaded. */
static int has_crl_for(const mbedtls_x509_crl *crl, const mbedtls_x509_crt *crt)
{
    for (; crl != NULL && crl->version != 0; crl = crl->next) {
        if (same_name(&crl->issuer_raw, &crt->issuer_raw))
            return 1;
    }
    return 0;
}

/* Names the first certificate of chain that a loaded CRL of its issuer
 * lists (and the leaf, when that is a CA certificate above it). */
static void revoked_detail(const iotls_x509 *chain, const mbedtls_x509_crl *crls,
                           int is_server_cert, char *detail, size_t cap)
{
    const mbedtls_x509_crt *leaf = &chain->crt;
    for (const mbedtls_x509_crt *crt = leaf; crt != NULL && crt->raw.p != NULL; crt = crt->next) {
        for (const mbedtls_x509_crl *crl = crls; crl != NULL && crl->version != 0;
             crl = crl->next) {
            if (!same_name(&crl->issuer_raw, &crt->issuer_raw) ||
                !mbedtls_x509_crt_is_revoked(crt, crl))
                continue;
            char leaf_subject[160], subject[160], issuer[160];
            int named = mbedtls_x509_dn_gets(subject, sizeof subject, &crt->subject) >= 0 &&
                        mbedtls_x509_dn_gets(issuer, sizeof issuer, &crl->issuer) >= 0 &&
                        (crt == leaf || mbedtls_x509_dn_gets(leaf_subject, sizeof leaf_subject,
                                                             &leaf->subject) >= 0);
            iotls__common_revoked_detail(detail, cap, is_server_cert,
                                         crt == leaf ? NULL : leaf_subject, named ? subject : NULL,
                                         crt->serial.p, crt->serial.len, named ? issuer : NULL);
            return;
        }
    }
    iotls__common_revoked_detail(detail, cap, is_server_cert, NULL, NULL, NULL, 0, NULL);
}
#endif

#define IOTLS_MBX509_BADCRL                                                                        \
    (MBEDTLS_X509_BADCRL_NOT_TRUSTED | MBEDTLS_X509_BADCRL_EXPIRED | MBEDTLS_X509_BADCRL_FUTURE |  \
     MBEDTLS_X509_BADCRL_BAD_MD | MBEDTLS_X509_BADCRL_BAD_PK | MBEDTLS_X509_BADCRL_BAD_KEY)

int iotls__mbx509_verdict(const iotls_x509 *chain, const iotls_crl *crls, uint32_t flags,
                          iotls_x509_why *why)
{
    const mbedtls_x509_crl *crl = iotls__mbx509_crl_list(crls);
    int crl_missing = 0;
#if defined(MBEDTLS_X509_CRL_PARSE_C)
    /* mbedTLS checks a certificate only against a CRL of its issuer that
     * is there; the policy wants the leaf's issuer to have one. */
    crl_missing = crl != NULL && !has_crl_for(crl, iotls__mbx509_nth(chain, 0));
#else
    (void)crl; /* always NULL: iotls_crl_load_* refuse without CRL support */
    (void)chain;
#endif
    if (flags == 0 && !crl_missing)
        return IOTLS_OK;

    why->reason = IOTLS_WHY_FLAGS;
    why->flags = flags;
    if (flags & (MBEDTLS_X509_BADCERT_NOT_TRUSTED | MBEDTLS_X509_BADCERT_EXPIRED |
                 MBEDTLS_X509_BADCERT_FUTURE))
        return iotls__mbx509_flags_to_error(flags);
    if (crl_missing) {
        why->reason = IOTLS_WHY_CRL_MISSING;
        return IOTLS_ERR_CRL_UNUSABLE;
    }
    if (flags & IOTLS_MBX509_BADCRL) {
        why->reason = IOTLS_WHY_CRL_BAD;
        why->flags = flags & IOTLS_MBX509_BADCRL; /* say only what is wrong with it */
        return IOTLS_ERR_CRL_UNUSABLE;
    }
    if (flags & MBEDTLS_X509_BADCERT_REVOKED) {
        why->reason = IOTLS_WHY_REVOKED;
        return IOTLS_ERR_CERT_REVOKED;
    }
    return iotls__mbx509_flags_to_error(flags);
}

/* The text of the flags' verdict: what (the sentence of
 * iotls__mbx509_flags_text), then mbedTLS' own words for the flags. */
static void flags_detail(const char *what, uint32_t flags, char *detail, size_t detail_cap)
{
    char info[256];
    if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
        info[0] = '\0';
    for (char *c = info; *c != '\0'; c++) {
        if (*c == '\n')
            *c = (c[1] == '\0') ? '\0' : ';';
    }
    iotls__common_set_detail(detail, detail_cap, what, info[0] != '\0' ? info : NULL);
}

static void explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                    const iotls_x509_why *why, char *detail, size_t detail_cap)
{
    if (iotls__common_explain(chain, policy, why, detail, detail_cap))
        return;
    switch (why->reason) {
    case IOTLS_WHY_FLAGS:
        flags_detail(iotls__mbx509_flags_text(why->flags), why->flags, detail, detail_cap);
        break;
    case IOTLS_WHY_CRL_BAD:
        flags_detail("a CRL cannot be used", why->flags, detail, detail_cap);
        break;
    case IOTLS_WHY_CRL_MISSING: {
        char issuer[160];
        if (iotls__x509_issuer(chain, 0, issuer, sizeof issuer) != IOTLS_OK)
            issuer[0] = '\0';
        char more[240];
        snprintf(more, sizeof more, "none is loaded from '%s', the certificate's issuer", issuer);
        iotls__common_set_detail(detail, detail_cap, "no CRL to check the certificate against",
                                 more);
        break;
    }
    case IOTLS_WHY_REVOKED:
#if defined(MBEDTLS_X509_CRL_PARSE_C)
        revoked_detail(chain, iotls__mbx509_crl_list(policy->crl), policy->is_server_cert, detail,
                       detail_cap);
#endif
        break;
    default:
        break;
    }
}

int iotls__x509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy)
{
    iotls_x509_why why;
    return iotls__mbx509_verify(chain, policy, &why);
}

int iotls__x509_verify_explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                               char *detail, size_t detail_cap)
{
    iotls_x509_why why;
    int rc = iotls__mbx509_verify(chain, policy, &why);
    if (detail != NULL && detail_cap > 0)
        detail[0] = '\0';
    if (rc != IOTLS_OK)
        explain(chain, policy, &why, detail, detail_cap);
    return rc;
}

/* ---- IP literals and host names ---- */

static int ascii_lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c - 'A' + 'a' : c;
}

static int names_equal(const unsigned char *a, size_t a_len, const char *b, size_t b_len)
{
    if (a_len != b_len)
        return 0;
    for (size_t i = 0; i < a_len; i++) {
        if (ascii_lower(a[i]) != ascii_lower((unsigned char)b[i]))
            return 0;
    }
    return 1;
}

/* RFC 6125 section 6.4: exact match, or "*." followed by at least two
 * labels standing for exactly one whole left-most label of host. */
static int dns_name_matches(const unsigned char *pattern, size_t plen, const char *host,
                            size_t hlen)
{
    if (names_equal(pattern, plen, host, hlen))
        return 1;
    if (plen < 4 || pattern[0] != '*' || pattern[1] != '.')
        return 0;
    if (memchr(pattern + 2, '.', plen - 2) == NULL)
        return 0; /* "*.com" */
    const char *dot = memchr(host, '.', hlen);
    if (dot == NULL || dot == host)
        return 0;
    size_t rest = hlen - (size_t)(dot - host);
    return names_equal(pattern + 1, plen - 1, dot, rest);
}

static int has_san_of(const mbedtls_x509_crt *crt, int tag)
{
    for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
        if (s->buf.p != NULL && s->buf.tag == tag)
            return 1;
    }
    return 0;
}

/* 1 when the leaf is for host: an IP literal must equal an iPAddress SAN;
 * a DNS name must match a dNSName SAN, or, only when the certificate has
 * no dNSName SAN at all, its subject CN (the OpenSSL rule). */
int iotls__mbx509_host_matches(const mbedtls_x509_crt *crt, const char *host)
{
    uint8_t ip[16];
    size_t ip_len = iotls__common_parse_ip(host, ip);
    if (ip_len != 0) {
        for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
            if (s->buf.p != NULL && s->buf.tag == IOTLS_MBX509_SAN_IP && s->buf.len == ip_len &&
                memcmp(s->buf.p, ip, ip_len) == 0)
                return 1;
        }
        return 0;
    }

    size_t hlen = iotls__common_host_len(host);
    if (hlen == 0)
        return 0;

    if (has_san_of(crt, IOTLS_MBX509_SAN_DNS)) {
        for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
            if (s->buf.p != NULL && s->buf.tag == IOTLS_MBX509_SAN_DNS &&
                dns_name_matches(s->buf.p, s->buf.len, host, hlen))
                return 1;
        }
        return 0;
    }
    for (const mbedtls_x509_name *n = &crt->subject; n != NULL; n = n->next) {
        if (n->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0 &&
            dns_name_matches(n->val.p, n->val.len, host, hlen))
            return 1;
    }
    return 0;
}

/* ---- the policy's clock and the verdict texts ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). In 32 bits: Mbed TLS' parser only gives years of four
 * digits (0..9999, about 3.7 million days either way), and a 32-bit
 * microcontroller then divides in one instruction, not by a call to the C
 * library's 64-bit division (which the firmware still links on Cortex-M:
 * Mbed TLS' clock goes through picolibc's gmtime_r). */
static int32_t days_from_civil(int32_t y, int32_t m, int32_t d)
{
    y -= m <= 2;
    const int32_t era = (y >= 0 ? y : y - 399) / 400;
    const int32_t yoe = y - era * 400;
    const int32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int64_t iotls__mbx509_time_unix(const mbedtls_x509_time *t)
{
    return (int64_t)days_from_civil(t->year, t->mon, t->day) * 86400 + (int64_t)t->hour * 3600 +
           (int64_t)t->min * 60 + t->sec;
}

int iotls__mbx509_flags_to_error(uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return IOTLS_ERR_CERT_UNKNOWN_CA;
    if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
        return IOTLS_ERR_CERT_EXPIRED;
    if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        return IOTLS_ERR_CERT_REVOKED;
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        return IOTLS_ERR_CERT_HOSTNAME;
    /* error.h: unsupported_certificate covers key types we refuse. */
    if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                 MBEDTLS_X509_BADCERT_NS_CERT_TYPE | MBEDTLS_X509_BADCERT_BAD_PK |
                 MBEDTLS_X509_BADCERT_BAD_KEY))
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    return IOTLS_ERR_BAD_CERTIFICATE;
}

const char *iotls__mbx509_flags_text(uint32_t flags)
{
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
        return "certificate chain does not lead to a trusted CA";
    if (flags & MBEDTLS_X509_BADCERT_EXPIRED)
        return "certificate has expired";
    if (flags & MBEDTLS_X509_BADCERT_FUTURE)
        return "certificate is not yet valid";
    if (flags & MBEDTLS_X509_BADCERT_REVOKED)
        return "certificate is revoked";
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)
        return "certificate is not for this host";
    if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                 MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
        return "a certificate in the chain may not be used for this";
    if (flags & (MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
        return "a certificate in the chain has a key type or size we do not accept";
    return "certificate chain is not acceptable";
}

/* ---- names ---- */

static int dn_text(const mbedtls_x509_name *dn, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    int n = mbedtls_x509_dn_gets(out, cap, dn);
    if (n < 0) {
        out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

int iotls__x509_subject(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(&crt->subject, out, cap);
}

int iotls__x509_issuer(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(&crt->issuer, out, cap);
}

int iotls__x509_sans(const iotls_x509 *chain, char *out, size_t cap)
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (leaf == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls_common_text t;
    iotls__common_text_init(&t, out, cap);
    for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s != NULL; s = s->next) {
        if (s->buf.p == NULL)
            continue;
        switch (s->buf.tag) {
        case IOTLS_MBX509_SAN_DNS:
            iotls__common_text_san(&t, IOTLS_SAN_DNS, s->buf.p, s->buf.len);
            break;
        case IOTLS_MBX509_SAN_RFC822:
            iotls__common_text_san(&t, IOTLS_SAN_EMAIL, s->buf.p, s->buf.len);
            break;
        case IOTLS_MBX509_SAN_URI:
            iotls__common_text_san(&t, IOTLS_SAN_URI, s->buf.p, s->buf.len);
            break;
        case IOTLS_MBX509_SAN_IP:
            iotls__common_text_san(&t, IOTLS_SAN_IP, s->buf.p, s->buf.len);
            break;
        default:
            break; /* otherName and the rest: nothing a TLS peer is named by */
        }
    }
    return iotls__common_text_finish(&t);
}

int iotls__x509_validity(const iotls_x509 *chain, size_t i, int64_t *not_before, int64_t *not_after)
{
    const mbedtls_x509_crt *crt = iotls__mbx509_nth(chain, i);
    if (crt == NULL || not_before == NULL || not_after == NULL)
        return IOTLS_ERR_BAD_ARG;
    *not_before = iotls__mbx509_time_unix(&crt->valid_from);
    *not_after = iotls__mbx509_time_unix(&crt->valid_to);
    return IOTLS_OK;
}

/* ---- base64 (SPKI pins written as curl writes them) ---- */

int iotls__base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (in == NULL || out == NULL || out_len == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t n = 0;
    int ret = mbedtls_base64_decode(out, cap, &n, (const unsigned char *)in, in_len);
    if (ret == MBEDTLS_ERR_BASE64_BUFFER_TOO_SMALL)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    if (ret != 0)
        return IOTLS_ERR_DECODE;
    *out_len = n;
    return IOTLS_OK;
}

int iotls__base64_encode(const uint8_t *in, size_t in_len, char *out, size_t cap)
{
    if (in == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    size_t n = 0;
    /* Writes the terminating NUL too. */
    if (mbedtls_base64_encode((unsigned char *)out, cap, &n, in, in_len) != 0)
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    return IOTLS_OK;
}

#endif

/* ---- after mbedtls_x509_crt_verify ---- */

int iotls__mbx509_conclude(const iotls_x509 *chain, const iotls_x509_policy *policy, int ret,
                           uint32_t flags, iotls_x509_why *why)
{
    const mbedtls_x509_crt *leaf = iotls__mbx509_nth(chain, 0);
    if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        why->reason = IOTLS_WHY_NOT_VERIFIED;
        return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? IOTLS_ERR_NO_MEMORY
                                                    : IOTLS_ERR_BAD_CERTIFICATE;
    }
    if (ret != 0 && flags == 0)
        flags = MBEDTLS_X509_BADCERT_OTHER;
    int rc = iotls__mbx509_verdict(chain, policy->crl, flags, why);
    if (rc != IOTLS_OK)
        return rc;

    /* TLS 1.3 signs with the leaf key: it needs digitalSignature (RFC 8446
     * 4.4.2.2). Both checks pass when the extension is absent. */
    if (mbedtls_x509_crt_check_key_usage(leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0) {
        why->reason = IOTLS_WHY_NO_DIGITAL_SIGNATURE;
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (policy->is_server_cert) {
        if (mbedtls_x509_crt_check_extended_key_usage(
                leaf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0) {
            why->reason = IOTLS_WHY_NO_SERVER_AUTH;
            return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
        }
    } else if (mbedtls_x509_crt_check_extended_key_usage(
                   leaf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0) {
        why->reason = IOTLS_WHY_NO_CLIENT_AUTH;
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }

    if (policy->host != NULL && !iotls__mbx509_host_matches(leaf, policy->host)) {
        why->reason = IOTLS_WHY_HOST;
        return IOTLS_ERR_CERT_HOSTNAME;
    }
    return IOTLS_OK;
}
