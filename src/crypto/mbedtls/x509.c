/* Certificates: loading, chain verification with the iotls policy, and the
 * public-key operations on the peer's leaf (CertificateVerify, pinning).
 *
 * mbedTLS parses and verifies; this file only decides policy and reads
 * fields that are public in both mbedTLS 2.28 and 3.6 (raw, subject,
 * issuer, valid_from, valid_to, pk, subject_alt_names, next). The host name
 * check is done here, not by mbedTLS: 2.28 matches the expected name against
 * every SAN entry's raw bytes whatever its type (an iPAddress 97.98.99.100
 * would match the name "abcd") and never matches an IP address at all. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mbedtls/asn1.h>
#include <mbedtls/ecp.h>
#include <mbedtls/md.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509.h>
#include <mbedtls/x509_crt.h>

#include "compat.h"
#include "crypto/common/crypto_common.h"
#include "crypto/crypto.h"
#include "iotls/error.h"

/* GeneralName tags as they appear in crt->subject_alt_names entries. */
#define SAN_TAG_RFC822 (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_RFC822_NAME)
#define SAN_TAG_DNS (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_DNS_NAME)
#define SAN_TAG_URI (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_UNIFORM_RESOURCE_IDENTIFIER)
#define SAN_TAG_IP (MBEDTLS_ASN1_CONTEXT_SPECIFIC | MBEDTLS_X509_SAN_IP_ADDRESS)

/* What we accept anywhere in a chain: SHA-2 signatures, RSA >= 2048 bits,
 * the two NIST curves TLS 1.3 clients offer. */
static const mbedtls_x509_crt_profile iotls_profile = {
    .allowed_mds = MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA256) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA384) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_MD_SHA512),
    .allowed_pks = MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSA) | MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECKEY) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_ECDSA) |
                   MBEDTLS_X509_ID_FLAG(MBEDTLS_PK_RSASSA_PSS),
    .allowed_curves = MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP256R1) |
                      MBEDTLS_X509_ID_FLAG(MBEDTLS_ECP_DP_SECP384R1),
    .rsa_min_bitlen = 2048,
};

/* ---- chain storage ---- */

void iotls_x509_init(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    mbedtls_x509_crt_init(&chain->crt);
    chain->count = 0;
}

void iotls_x509_free(iotls_x509 *chain)
{
    if (chain == NULL)
        return;
    mbedtls_x509_crt_free(&chain->crt);
    iotls_x509_init(chain);
}

/* An empty mbedtls_x509_crt list is one node with no raw data. */
static size_t crt_list_count(const mbedtls_x509_crt *crt)
{
    size_t n = 0;
    for (; crt != NULL && crt->raw.p != NULL; crt = crt->next)
        n++;
    return n;
}

static const mbedtls_x509_crt *nth(const iotls_x509 *chain, size_t i)
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

size_t iotls_x509_count(const iotls_x509 *chain)
{
    return chain != NULL ? chain->count : 0;
}

int iotls_x509_add_der(iotls_x509 *chain, const uint8_t *der, size_t len)
{
    if (chain == NULL || der == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;
    int ret = mbedtls_x509_crt_parse_der(&chain->crt, der, len);
    chain->count = crt_list_count(&chain->crt);
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    return ret == 0 ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
}

/* Appends every certificate of parsed (already checked) to chain, so that
 * a file or buffer is added whole or not at all. */
static int append_all(iotls_x509 *chain, const mbedtls_x509_crt *parsed)
{
    for (; parsed != NULL && parsed->raw.p != NULL; parsed = parsed->next) {
        int rc = iotls_x509_add_der(chain, parsed->raw.p, parsed->raw.len);
        if (rc != IOTLS_OK)
            return rc;
    }
    return IOTLS_OK;
}

/* mbedtls_x509_crt_parse* return 0, a negative error, or the number of PEM
 * blocks that failed to parse (a certificate mbedTLS cannot parse, such as
 * an Ed25519 one, is one of them). With skipped (trust anchors) those are
 * counted there; without, any of them fails the whole. */
static int parse_result(int ret, const mbedtls_x509_crt *parsed, size_t *skipped)
{
    if (ret == MBEDTLS_ERR_X509_FILE_IO_ERROR || ret == MBEDTLS_ERR_PK_FILE_IO_ERROR)
        return IOTLS_ERR_KEY_LOAD;
    if (ret == MBEDTLS_ERR_X509_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    if (ret < 0 || (ret > 0 && skipped == NULL) || crt_list_count(parsed) == 0)
        return IOTLS_ERR_BAD_CERTIFICATE;
    if (skipped != NULL)
        *skipped = (size_t)ret;
    return IOTLS_OK;
}

/* skipped: NULL for all or nothing, else where the count of skipped
 * certificates goes. */
static int load_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped)
{
    if (chain == NULL || data == NULL || len == 0)
        return IOTLS_ERR_BAD_ARG;

    /* mbedTLS reads PEM only from a NUL-ended buffer whose length counts
     * the NUL. */
    const uint8_t *in = data;
    size_t in_len = len;
    uint8_t *copy = NULL;
    if (data[len - 1] != '\0' && iotls_common_looks_pem(data, len)) {
        copy = malloc(len + 1);
        if (copy == NULL)
            return IOTLS_ERR_NO_MEMORY;
        memcpy(copy, data, len);
        copy[len] = '\0';
        in = copy;
        in_len = len + 1;
    }

    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    int rc = parse_result(mbedtls_x509_crt_parse(&parsed, in, in_len), &parsed, skipped);
    if (rc == IOTLS_OK)
        rc = append_all(chain, &parsed);
    mbedtls_x509_crt_free(&parsed);
    free(copy);
    return rc;
}

static int load_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    if (chain == NULL || path == NULL)
        return IOTLS_ERR_BAD_ARG;
    mbedtls_x509_crt parsed;
    mbedtls_x509_crt_init(&parsed);
    int rc = parse_result(mbedtls_x509_crt_parse_file(&parsed, path), &parsed, skipped);
    if (rc == IOTLS_OK)
        rc = append_all(chain, &parsed);
    mbedtls_x509_crt_free(&parsed);
    return rc;
}

int iotls_x509_load_mem(iotls_x509 *chain, const uint8_t *data, size_t len)
{
    return load_mem(chain, data, len, NULL);
}

int iotls_x509_load_file(iotls_x509 *chain, const char *path)
{
    return load_file(chain, path, NULL);
}

int iotls_x509_load_anchors_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped)
{
    size_t n = 0;
    int rc = load_mem(chain, data, len, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
}

int iotls_x509_load_anchors_file(iotls_x509 *chain, const char *path, size_t *skipped)
{
    size_t n = 0;
    int rc = load_file(chain, path, &n);
    if (skipped != NULL)
        *skipped = n;
    return rc;
}

int iotls_x509_load_dir(iotls_x509 *chain, const char *dir, size_t *skipped)
{
    if (skipped != NULL)
        *skipped = 0;
    if (chain == NULL || dir == NULL)
        return IOTLS_ERR_BAD_ARG;
    /* A system CA directory holds files that are not certificates (links,
     * READMEs, CRLs): keep whatever parses, fail only when nothing did.
     * mbedTLS returns how many files and certificates it skipped. */
    size_t before = crt_list_count(&chain->crt);
    int ret = mbedtls_x509_crt_parse_path(&chain->crt, dir);
    chain->count = crt_list_count(&chain->crt);
    if (ret < 0)
        return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? IOTLS_ERR_NO_MEMORY : IOTLS_ERR_KEY_LOAD;
    if (skipped != NULL)
        *skipped = (size_t)ret;
    return chain->count > before ? IOTLS_OK : IOTLS_ERR_BAD_CERTIFICATE;
}

int iotls_x509_der(const iotls_x509 *chain, size_t i, const uint8_t **der, size_t *len)
{
    if (der == NULL || len == NULL)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_x509_crt *crt = nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    *der = crt->raw.p;
    *len = crt->raw.len;
    return IOTLS_OK;
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
static int host_matches(const mbedtls_x509_crt *crt, const char *host)
{
    uint8_t ip[16];
    size_t ip_len = iotls_common_parse_ip(host, ip);
    if (ip_len != 0) {
        for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
            if (s->buf.p != NULL && s->buf.tag == SAN_TAG_IP && s->buf.len == ip_len &&
                memcmp(s->buf.p, ip, ip_len) == 0)
                return 1;
        }
        return 0;
    }

    size_t hlen = iotls_common_host_len(host);
    if (hlen == 0)
        return 0;

    if (has_san_of(crt, SAN_TAG_DNS)) {
        for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL; s = s->next) {
            if (s->buf.p != NULL && s->buf.tag == SAN_TAG_DNS &&
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

/* ---- verification ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, int64_t m, int64_t d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int64_t x509_time_unix(const mbedtls_x509_time *t)
{
    return days_from_civil(t->year, t->mon, t->day) * 86400 + (int64_t)t->hour * 3600 +
           (int64_t)t->min * 60 + t->sec;
}

/* Called by mbedTLS for every certificate of the built chain (the trust
 * anchor included): replaces its system-clock validity verdict with one
 * against the policy's time. */
static int validity_at(void *arg, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
    const int64_t now = *(const int64_t *)arg;
    (void)depth;
    *flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
    if (x509_time_unix(&crt->valid_to) < now)
        *flags |= MBEDTLS_X509_BADCERT_EXPIRED;
    if (x509_time_unix(&crt->valid_from) > now)
        *flags |= MBEDTLS_X509_BADCERT_FUTURE;
    return 0;
}

static int flags_to_error(uint32_t flags, const char **what)
{
    if (flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) {
        *what = "certificate chain does not lead to a trusted CA";
        return IOTLS_ERR_CERT_UNKNOWN_CA;
    }
    if (flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE)) {
        *what = (flags & MBEDTLS_X509_BADCERT_EXPIRED) ? "certificate has expired"
                                                       : "certificate is not yet valid";
        return IOTLS_ERR_CERT_EXPIRED;
    }
    if (flags & MBEDTLS_X509_BADCERT_REVOKED) {
        *what = "certificate is revoked";
        return IOTLS_ERR_CERT_REVOKED;
    }
    if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
        *what = "certificate is not for this host";
        return IOTLS_ERR_CERT_HOSTNAME;
    }
    if (flags & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
                 MBEDTLS_X509_BADCERT_NS_CERT_TYPE)) {
        *what = "a certificate in the chain may not be used for this";
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (flags & (MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY)) {
        /* error.h: unsupported_certificate covers key types we refuse. */
        *what = "a certificate in the chain has a key type or size we do not accept";
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    *what = "certificate chain is not acceptable";
    return IOTLS_ERR_BAD_CERTIFICATE;
}

int iotls_x509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy, char *detail,
                      size_t detail_cap)
{
    int rc = iotls_common_verify_start(chain, policy, detail, detail_cap);
    if (rc != IOTLS_OK)
        return rc;
    const mbedtls_x509_crt *leaf = nth(chain, 0);

    /* The name is checked below, so mbedTLS gets no CN. mbedTLS's API
     * takes non-const lists although verification does not change them. */
    int64_t now = policy->now;
    uint32_t flags = 0;
    int ret = mbedtls_x509_crt_verify_with_profile(
        (mbedtls_x509_crt *)&chain->crt, (mbedtls_x509_crt *)&policy->trust->crt, NULL,
        &iotls_profile, NULL, &flags, now != 0 ? validity_at : NULL, now != 0 ? &now : NULL);
    if (ret != 0 && ret != MBEDTLS_ERR_X509_CERT_VERIFY_FAILED) {
        iotls_common_set_detail(detail, detail_cap, "certificate chain could not be verified",
                                NULL);
        return ret == MBEDTLS_ERR_X509_ALLOC_FAILED ? IOTLS_ERR_NO_MEMORY
                                                    : IOTLS_ERR_BAD_CERTIFICATE;
    }
    if (ret != 0 || flags != 0) {
        const char *what = "";
        rc = flags_to_error(flags, &what);
        char info[256];
        if (mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags) < 0)
            info[0] = '\0';
        for (char *c = info; *c != '\0'; c++) {
            if (*c == '\n')
                *c = (c[1] == '\0') ? '\0' : ';';
        }
        iotls_common_set_detail(detail, detail_cap, what, info[0] != '\0' ? info : NULL);
        return rc;
    }

    /* TLS 1.3 signs with the leaf key: it needs digitalSignature (RFC 8446
     * 4.4.2.2). Both checks pass when the extension is absent. */
    if (mbedtls_x509_crt_check_key_usage(leaf, MBEDTLS_X509_KU_DIGITAL_SIGNATURE) != 0) {
        iotls_common_set_detail(detail, detail_cap, "certificate key usage lacks digitalSignature",
                                NULL);
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }
    if (policy->is_server_cert) {
        if (mbedtls_x509_crt_check_extended_key_usage(
                leaf, MBEDTLS_OID_SERVER_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_SERVER_AUTH)) != 0) {
            iotls_common_set_detail(detail, detail_cap,
                                    "certificate is not for TLS servers (no serverAuth)", NULL);
            return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
        }
    } else if (mbedtls_x509_crt_check_extended_key_usage(
                   leaf, MBEDTLS_OID_CLIENT_AUTH, MBEDTLS_OID_SIZE(MBEDTLS_OID_CLIENT_AUTH)) != 0) {
        iotls_common_set_detail(detail, detail_cap,
                                "certificate is not for TLS clients (no clientAuth)", NULL);
        return IOTLS_ERR_UNSUPPORTED_CERTIFICATE;
    }

    if (policy->host != NULL && !host_matches(leaf, policy->host)) {
        iotls_common_host_detail(chain, policy->host, detail, detail_cap);
        return IOTLS_ERR_CERT_HOSTNAME;
    }
    return IOTLS_OK;
}

/* ---- the leaf's public key ---- */

int iotls_x509_key_fits(const iotls_x509 *chain, uint16_t scheme)
{
    iotls_mbedtls_scheme s;
    const mbedtls_x509_crt *leaf = nth(chain, 0);
    if (leaf == NULL || iotls_mbedtls_scheme_info(scheme, &s) != 0)
        return 0;
    if (s.curve != MBEDTLS_ECP_DP_NONE)
        return mbedtls_pk_can_do(&leaf->pk, MBEDTLS_PK_ECDSA) &&
               iotls_compat_pk_ec_group(&leaf->pk) == s.curve;
    return mbedtls_pk_get_type(&leaf->pk) == MBEDTLS_PK_RSA;
}

int iotls_x509_verify_signature(const iotls_x509 *chain, uint16_t scheme, const uint8_t *msg,
                                size_t msg_len, const uint8_t *sig, size_t sig_len)
{
    iotls_mbedtls_scheme s;
    const mbedtls_x509_crt *leaf = nth(chain, 0);
    if (leaf == NULL || (msg == NULL && msg_len != 0) || (sig == NULL && sig_len != 0))
        return IOTLS_ERR_BAD_ARG;
    /* rsa_pkcs1_* never appear in a TLS 1.3 CertificateVerify. */
    if (iotls_mbedtls_scheme_info(scheme, &s) != 0 || s.rsa_pkcs1 ||
        !iotls_x509_key_fits(chain, scheme))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    if (sig_len == 0)
        return IOTLS_ERR_DECRYPT_ERROR;

    static const unsigned char empty[1] = {0};
    unsigned char hash[64];
    if (mbedtls_md(mbedtls_md_info_from_type(s.md), msg_len != 0 ? msg : empty, msg_len, hash) != 0)
        return IOTLS_ERR_CRYPTO;

    /* The API takes a non-const key; verification does not change it. */
    mbedtls_pk_context *pk = (mbedtls_pk_context *)&leaf->pk;
    int ret;
    if (s.rsa_pss) {
        /* RFC 8446 4.2.3: MGF1 with the scheme's hash and a salt exactly as
         * long as the digest; any other salt length is a bad signature. */
        mbedtls_pk_rsassa_pss_options opts;
        opts.mgf1_hash_id = s.md;
        opts.expected_salt_len = (int)s.hash_len;
        ret = mbedtls_pk_verify_ext(MBEDTLS_PK_RSASSA_PSS, &opts, pk, s.md, hash, s.hash_len, sig,
                                    sig_len);
    } else {
        ret = mbedtls_pk_verify(pk, s.md, hash, s.hash_len, sig, sig_len);
    }
    /* Any verdict but 0 is a bad signature, including 2.28's
     * MBEDTLS_ERR_PK_SIG_LEN_MISMATCH for a valid signature followed by
     * junk. Only an allocation failure is ours rather than the peer's. */
    if (ret == MBEDTLS_ERR_MPI_ALLOC_FAILED || ret == MBEDTLS_ERR_PK_ALLOC_FAILED)
        return IOTLS_ERR_NO_MEMORY;
    return ret == 0 ? IOTLS_OK : IOTLS_ERR_DECRYPT_ERROR;
}

int iotls_x509_spki_sha256(const iotls_x509 *chain, uint8_t out[32])
{
    const mbedtls_x509_crt *leaf = nth(chain, 0);
    if (leaf == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    /* Room for an RSA-8192 SubjectPublicKeyInfo. */
    unsigned char buf[1200];
    /* mbedtls_pk_write_pubkey_der writes at the end of buf and returns the
     * length; 2.28 takes a non-const key it does not change. */
    int n = mbedtls_pk_write_pubkey_der((mbedtls_pk_context *)&leaf->pk, buf, sizeof(buf));
    if (n <= 0)
        return IOTLS_ERR_CRYPTO;
    if (mbedtls_md(mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), buf + sizeof(buf) - (size_t)n,
                   (size_t)n, out) != 0)
        return IOTLS_ERR_CRYPTO;
    return IOTLS_OK;
}

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

int iotls_x509_subject(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(&crt->subject, out, cap);
}

int iotls_x509_issuer(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = nth(chain, i);
    if (crt == NULL)
        return IOTLS_ERR_BAD_ARG;
    return dn_text(&crt->issuer, out, cap);
}

int iotls_x509_validity(const iotls_x509 *chain, size_t i, int64_t *not_before, int64_t *not_after)
{
    const mbedtls_x509_crt *crt = nth(chain, i);
    if (crt == NULL || not_before == NULL || not_after == NULL)
        return IOTLS_ERR_BAD_ARG;
    *not_before = x509_time_unix(&crt->valid_from);
    *not_after = x509_time_unix(&crt->valid_to);
    return IOTLS_OK;
}

int iotls_x509_sans(const iotls_x509 *chain, char *out, size_t cap)
{
    const mbedtls_x509_crt *leaf = nth(chain, 0);
    if (leaf == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls_common_text t;
    iotls_common_text_init(&t, out, cap);
    for (const mbedtls_x509_sequence *s = &leaf->subject_alt_names; s != NULL; s = s->next) {
        if (s->buf.p == NULL)
            continue;
        switch (s->buf.tag) {
        case SAN_TAG_DNS:
            iotls_common_text_san(&t, IOTLS_SAN_DNS, s->buf.p, s->buf.len);
            break;
        case SAN_TAG_RFC822:
            iotls_common_text_san(&t, IOTLS_SAN_EMAIL, s->buf.p, s->buf.len);
            break;
        case SAN_TAG_URI:
            iotls_common_text_san(&t, IOTLS_SAN_URI, s->buf.p, s->buf.len);
            break;
        case SAN_TAG_IP:
            iotls_common_text_san(&t, IOTLS_SAN_IP, s->buf.p, s->buf.len);
            break;
        default:
            break; /* otherName and the rest: nothing a TLS peer is named by */
        }
    }
    return iotls_common_text_finish(&t);
}

int iotls_x509_key_desc(const iotls_x509 *chain, size_t i, char *out, size_t cap)
{
    const mbedtls_x509_crt *crt = nth(chain, i);
    if (crt == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    const mbedtls_pk_context *pk = &crt->pk;
    int n;
    if (mbedtls_pk_get_type(pk) == MBEDTLS_PK_RSA) {
        n = snprintf(out, cap, "RSA-%zu", mbedtls_pk_get_bitlen(pk));
    } else if (mbedtls_pk_can_do(pk, MBEDTLS_PK_ECKEY)) {
        mbedtls_ecp_group_id id = iotls_compat_pk_ec_group(pk);
        const mbedtls_ecp_curve_info *info = mbedtls_ecp_curve_info_from_grp_id(id);
        const char *name = id == MBEDTLS_ECP_DP_SECP256R1   ? "P-256"
                           : id == MBEDTLS_ECP_DP_SECP384R1 ? "P-384"
                           : id == MBEDTLS_ECP_DP_SECP521R1 ? "P-521"
                           : info != NULL                   ? info->name
                                                            : "unknown curve";
        n = snprintf(out, cap, "ECDSA %s", name);
    } else {
        n = snprintf(out, cap, "%s", mbedtls_pk_get_name(pk));
    }
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

int iotls_x509_matches_key(const iotls_x509 *chain, const iotls_pkey *key)
{
    const mbedtls_x509_crt *leaf = nth(chain, 0);
    if (leaf == NULL || key == NULL || !key->loaded)
        return 0;
    return iotls_compat_pk_check_pair(&leaf->pk, &key->pk) == 0;
}
