/* Certificate helpers that do not depend on the library: PEM sniffing, IP
 * literals (parsing a host name, printing an iPAddress SAN), the text of
 * iotls__x509_sans and the verdict texts both providers give; and the parts
 * of the throwaway PKI (iotls_pki_make_cert) that do not depend on the
 * library: argument checks, the validity period, the serial and the
 * comma-separated subjectAltName lists of iotls_cert_spec. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "crypto_common.h"
#include "iotls/error.h"

int iotls__common_looks_pem(const uint8_t *data, size_t len)
{
    static const char marker[] = "-----BEGIN ";
    const size_t mlen = sizeof(marker) - 1;
    for (size_t i = 0; i + mlen <= len; i++) {
        if (memcmp(data + i, marker, mlen) == 0)
            return 1;
    }
    return 0;
}

/* ---- IP literals and host names ---- */

/* Strict dotted quad: four decimal parts 0..255 without leading zeros
 * (which some resolvers read as octal). */
static int parse_ipv4(const char *s, size_t len, uint8_t out[4])
{
    size_t pos = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (pos >= len || s[pos] != '.')
                return -1;
            pos++;
        }
        unsigned value = 0;
        size_t digits = 0;
        while (pos < len && s[pos] >= '0' && s[pos] <= '9' && digits < 4) {
            value = value * 10 + (unsigned)(s[pos] - '0');
            pos++;
            digits++;
        }
        if (digits == 0 || digits > 3 || value > 255 || (digits > 1 && s[pos - digits] == '0'))
            return -1;
        out[part] = (uint8_t)value;
    }
    return pos == len ? 0 : -1;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* RFC 4291 section 2.2 text forms: eight groups, one "::", an embedded
 * dotted quad at the end. No zone index. */
static int parse_ipv6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t words[8];
    size_t count = 0, pos = 0;
    int gap = -1; /* index in words where "::" stands */

    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        pos = 2;
    } else if (len >= 1 && s[0] == ':') {
        return -1;
    }

    while (pos < len) {
        /* The token up to the next ':' may be an embedded IPv4 address,
         * which must be the last thing. */
        size_t end = pos;
        while (end < len && s[end] != ':')
            end++;
        if (memchr(s + pos, '.', end - pos) != NULL) {
            uint8_t v4[4];
            if (end != len || count > 6 || parse_ipv4(s + pos, len - pos, v4) != 0)
                return -1;
            words[count++] = (uint16_t)(v4[0] << 8 | v4[1]);
            words[count++] = (uint16_t)(v4[2] << 8 | v4[3]);
            pos = len;
            break;
        }
        if (end - pos < 1 || end - pos > 4 || count >= 8)
            return -1;
        unsigned w = 0;
        for (size_t i = pos; i < end; i++) {
            int h = hex_value(s[i]);
            if (h < 0)
                return -1;
            w = w << 4 | (unsigned)h;
        }
        words[count++] = (uint16_t)w;
        pos = end;
        if (pos == len)
            break;
        pos++; /* the ':' */
        if (pos < len && s[pos] == ':') {
            if (gap >= 0)
                return -1;
            gap = (int)count;
            pos++;
        } else if (pos == len) {
            return -1; /* a single trailing ':' */
        }
    }

    if (gap < 0) {
        if (count != 8)
            return -1;
    } else {
        if (count > 7)
            return -1;
        size_t zeros = 8 - count, g = (size_t)gap;
        memmove(words + g + zeros, words + g, (count - g) * sizeof(words[0]));
        for (size_t i = 0; i < zeros; i++)
            words[g + i] = 0;
    }
    for (size_t i = 0; i < 8; i++) {
        out[2 * i] = (uint8_t)(words[i] >> 8);
        out[2 * i + 1] = (uint8_t)words[i];
    }
    return 0;
}

size_t iotls__common_parse_ip_n(const char *text, size_t len, uint8_t out[16])
{
    if (parse_ipv4(text, len, out) == 0)
        return 4;
    if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
        text++;
        len -= 2;
    }
    if (parse_ipv6(text, len, out) == 0)
        return 16;
    return 0;
}

size_t iotls__common_parse_ip(const char *text, uint8_t out[16])
{
    return iotls__common_parse_ip_n(text, strlen(text), out);
}

size_t iotls__common_host_len(const char *host)
{
    size_t len = strlen(host);
    if (len > 0 && host[len - 1] == '.')
        len--;
    return len;
}

/* ---- verdict texts ---- */

void iotls__common_set_detail(char *detail, size_t cap, const char *text, const char *more)
{
    if (detail == NULL || cap == 0)
        return;
    snprintf(detail, cap, "%s%s%s", text, more != NULL ? ": " : "", more != NULL ? more : "");
}

int iotls__common_verify_start(const iotls_x509 *chain, const iotls_x509_policy *policy,
                               iotls_x509_why *why)
{
    why->reason = IOTLS_WHY_NONE;
    if (chain == NULL || policy == NULL || policy->trust == NULL)
        return IOTLS_ERR_BAD_ARG;
    if (iotls__x509_count(chain) == 0) {
        why->reason = IOTLS_WHY_NO_CERT;
        return IOTLS_ERR_BAD_CERTIFICATE;
    }
    if (iotls__x509_count(policy->trust) == 0) {
        why->reason = IOTLS_WHY_NO_ANCHORS;
        return IOTLS_ERR_CERT_UNKNOWN_CA;
    }
    return IOTLS_OK;
}

/* ---- the key profile ---- */

unsigned iotls__common_max_rsa_bits(unsigned configured)
{
    return configured != 0 ? configured : IOTLS_RSA_DEFAULT_MAX_BITS;
}

int iotls__common_rsa_key_problem(size_t bits, int e_fits, uint64_t e, unsigned max_rsa_bits)
{
    if (bits < IOTLS_RSA_MIN_BITS)
        return IOTLS_KEY_RSA_SMALL;
    if (bits > iotls__common_max_rsa_bits(max_rsa_bits))
        return IOTLS_KEY_RSA_LARGE;
    if (!e_fits || e > IOTLS_RSA_MAX_EXPONENT)
        return IOTLS_KEY_RSA_EXPONENT_LARGE;
    if (e < 3 || (e & 1u) == 0)
        return IOTLS_KEY_RSA_EXPONENT_BAD;
    return IOTLS_KEY_OK;
}

/* ---- the texts, written only when asked for ---- */

const char *iotls__common_key_problem_text(int problem)
{
    switch (problem) {
    case IOTLS_KEY_RSA_SMALL:
        return "RSA modulus below 2048 bits";
    case IOTLS_KEY_RSA_LARGE:
        return "RSA modulus above the configured maximum (iotls_config_set_max_rsa_bits)";
    case IOTLS_KEY_RSA_EXPONENT_LARGE:
        return "RSA public exponent above 2^31-1";
    case IOTLS_KEY_RSA_EXPONENT_BAD:
        return "RSA public exponent not an odd number of at least 3";
    case IOTLS_KEY_EC_CURVE:
        return "EC key on a curve other than P-256 or P-384";
    default:
        return "a key type other than RSA or EC";
    }
}

int iotls__common_explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                          const iotls_x509_why *why, char *detail, size_t detail_cap)
{
    switch (why->reason) {
    case IOTLS_WHY_NO_CERT:
        iotls__common_set_detail(detail, detail_cap, "no certificate", NULL);
        return 1;
    case IOTLS_WHY_NO_ANCHORS:
        iotls__common_set_detail(detail, detail_cap, "no trust anchors configured", NULL);
        return 1;
    case IOTLS_WHY_KEY_REFUSED:
        if (detail != NULL && detail_cap > 0)
            snprintf(detail, detail_cap,
                     "a certificate in the chain has a key we do not accept: %s "
                     "(certificate %zu of the chain)",
                     iotls__common_key_problem_text(why->key_problem), why->index);
        return 1;
    case IOTLS_WHY_NOT_VERIFIED:
        iotls__common_set_detail(detail, detail_cap, "certificate chain could not be verified",
                                 NULL);
        return 1;
    case IOTLS_WHY_NO_DIGITAL_SIGNATURE:
        iotls__common_set_detail(detail, detail_cap, "certificate key usage lacks digitalSignature",
                                 NULL);
        return 1;
    case IOTLS_WHY_NO_SERVER_AUTH:
        iotls__common_set_detail(detail, detail_cap,
                                 "certificate is not for TLS servers (no serverAuth)", NULL);
        return 1;
    case IOTLS_WHY_NO_CLIENT_AUTH:
        iotls__common_set_detail(detail, detail_cap,
                                 "certificate is not for TLS clients (no clientAuth)", NULL);
        return 1;
    case IOTLS_WHY_HOST:
        iotls__common_host_detail(chain, policy->host, detail, detail_cap);
        return 1;
    default:
        return 0;
    }
}

void iotls__common_revoked_detail(char *detail, size_t cap, int is_server_cert,
                                  const char *leaf_subject, const char *subject,
                                  const uint8_t *serial, size_t serial_len, const char *issuer)
{
    if (detail == NULL || cap == 0)
        return;
    /* The error's own text says "revoked" already (iotls_error_string):
     * this says which certificate, on whose CRL, and nothing twice. */
    const char *role = is_server_cert ? "server" : "client";
    if (subject == NULL || issuer == NULL) {
        snprintf(detail, cap, "a certificate of the %s certificate chain is on a CRL of its issuer",
                 role);
        return;
    }
    while (serial_len > 1 && serial[0] == 0) {
        serial++;
        serial_len--;
    }
    char hex[2 * 20 + 1]; /* RFC 5280 4.1.2.2: at most 20 octets */
    size_t n = 0;
    for (size_t i = 0; i < serial_len && n + 2 < sizeof hex; i++, n += 2)
        snprintf(hex + n, 3, "%02X", serial[i]);
    hex[n] = '\0';
    if (leaf_subject == NULL)
        snprintf(detail, cap, "%s certificate '%s' (serial %s) is on the CRL of '%s'", role,
                 subject, hex, issuer);
    else
        snprintf(detail, cap,
                 "%s certificate '%s': its CA certificate '%s' (serial %s) is on the CRL of '%s'",
                 role, leaf_subject, subject, hex, issuer);
}

void iotls__common_host_detail(const iotls_x509 *chain, const char *host, char *detail,
                               size_t detail_cap)
{
    if (detail == NULL || detail_cap == 0)
        return;
    char sans[200];
    if (iotls__x509_sans(chain, sans, sizeof(sans)) != IOTLS_OK)
        snprintf(sans, sizeof(sans), "(too many to list)");
    snprintf(detail, detail_cap, "certificate is not for host '%s' (it names: %s)",
             host != NULL ? host : "", sans[0] != '\0' ? sans : "no subjectAltName");
}

static void utc_text(int64_t t, char *out, size_t cap)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (gmtime_r(&tt, &tm) == NULL || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

void iotls__x509_explain(const iotls_x509 *chain, int err, int64_t now, char *out, size_t cap)
{
    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    size_t n = chain != NULL ? iotls__x509_count(chain) : 0;
    if (n == 0)
        return;
    char subject[160], issuer[160];
    if (err == IOTLS_ERR_CERT_EXPIRED) {
        if (now == 0)
            now = (int64_t)time(NULL);
        for (size_t i = 0; i < n; i++) {
            int64_t from, to;
            if (iotls__x509_validity(chain, i, &from, &to) != IOTLS_OK ||
                (now >= from && now <= to))
                continue;
            char t_from[40], t_to[40], t_now[40];
            utc_text(from, t_from, sizeof t_from);
            utc_text(to, t_to, sizeof t_to);
            utc_text(now, t_now, sizeof t_now);
            if (iotls__x509_subject(chain, i, subject, sizeof subject) != IOTLS_OK)
                snprintf(subject, sizeof subject, "?");
            snprintf(out, cap, "'%s' is valid from %s to %s, the time now is %s", subject, t_from,
                     t_to, t_now);
            return;
        }
    } else if (err == IOTLS_ERR_CERT_UNKNOWN_CA) {
        if (iotls__x509_subject(chain, n - 1, subject, sizeof subject) != IOTLS_OK)
            snprintf(subject, sizeof subject, "?");
        if (iotls__x509_issuer(chain, n - 1, issuer, sizeof issuer) != IOTLS_OK)
            snprintf(issuer, sizeof issuer, "?");
        snprintf(out, cap, "'%s' issued by '%s', which is not among the trusted CAs", subject,
                 issuer);
    }
}

/* ---- the text of iotls__x509_sans ---- */

void iotls__common_text_init(iotls_common_text *t, char *out, size_t cap)
{
    t->out = out;
    t->cap = cap;
    t->len = 0;
    t->overflow = 0;
    out[0] = '\0';
}

static void put_bytes(iotls_common_text *t, const char *s, size_t n)
{
    if (t->overflow || t->len + n + 1 > t->cap) {
        t->overflow = 1;
        return;
    }
    memcpy(t->out + t->len, s, n);
    t->len += n;
    t->out[t->len] = '\0';
}

static void put_str(iotls_common_text *t, const char *s)
{
    put_bytes(t, s, strlen(s));
}

/* A SAN's text, with anything not printable ASCII shown as '?'. */
static void put_printable(iotls_common_text *t, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = (p[i] >= 0x20 && p[i] < 0x7f) ? (char)p[i] : '?';
        put_bytes(t, &c, 1);
    }
}

/* RFC 5952 text: lower-case hex, the longest run of two or more zero
 * groups (the first of equals) as "::". */
static void put_ipv6(iotls_common_text *t, const uint8_t *p)
{
    unsigned words[8];
    for (int i = 0; i < 8; i++)
        words[i] = (unsigned)p[2 * i] << 8 | p[2 * i + 1];
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        int j = i;
        while (j < 8 && words[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = (j == i) ? i + 1 : j;
    }
    char part[8];
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            put_str(t, "::");
            i += best_len - 1;
            continue;
        }
        if (i > 0 && i != best + best_len)
            put_str(t, ":");
        snprintf(part, sizeof(part), "%x", words[i]);
        put_str(t, part);
    }
}

void iotls__common_text_san(iotls_common_text *t, iotls_common_san_kind kind, const uint8_t *p,
                            size_t n)
{
    put_str(t, t->len > 0 ? ", " : "");
    switch (kind) {
    case IOTLS_SAN_DNS:
        put_str(t, "DNS:");
        put_printable(t, p, n);
        break;
    case IOTLS_SAN_EMAIL:
        put_str(t, "email:");
        put_printable(t, p, n);
        break;
    case IOTLS_SAN_URI:
        put_str(t, "URI:");
        put_printable(t, p, n);
        break;
    case IOTLS_SAN_IP:
        if (n == 4) {
            char part[24];
            snprintf(part, sizeof(part), "IP:%u.%u.%u.%u", p[0], p[1], p[2], p[3]);
            put_str(t, part);
        } else if (n == 16) {
            put_str(t, "IP:");
            put_ipv6(t, p);
        } else {
            put_str(t, "IP:?");
        }
        break;
    }
}

int iotls__common_text_finish(iotls_common_text *t)
{
    if (t->overflow) {
        t->out[0] = '\0';
        return IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    return IOTLS_OK;
}

/* ---------------- throwaway PKI ---------------- */

int iotls__common_cert_start(const iotls_cert_spec *spec, const char *subject_key_pem,
                             const char *issuer_key_pem, const char *issuer_cert_pem,
                             char *cert_pem, size_t cap, int64_t *not_before, int64_t *not_after)
{
    if (spec == NULL || spec->subject == NULL || subject_key_pem == NULL || cert_pem == NULL ||
        cap == 0 || (issuer_key_pem == NULL) != (issuer_cert_pem == NULL))
        return IOTLS_ERR_BAD_ARG;
    cert_pem[0] = '\0';

    int64_t now = (int64_t)time(NULL);
    *not_before = spec->not_before != 0 ? spec->not_before : now - 3600;
    *not_after = spec->not_after != 0 ? spec->not_after : now + 30 * 86400;
    if (*not_after <= *not_before || (int64_t)(time_t)*not_before != *not_before ||
        (int64_t)(time_t)*not_after != *not_after)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}

int iotls__common_cert_serial(uint8_t serial[IOTLS_COMMON_SERIAL_LEN])
{
    if (iotls__random(serial, IOTLS_COMMON_SERIAL_LEN) != IOTLS_OK)
        return IOTLS_ERR_RANDOM;
    serial[0] &= 0x7f;
    if (serial[0] == 0)
        serial[0] = 1;
    return IOTLS_OK;
}

int iotls__common_list_next(const char **cursor, const char **item, size_t *item_len)
{
    const char *p = *cursor;
    while (*p == ' ' || *p == ',')
        p++;
    if (*p == '\0') {
        *cursor = p;
        return 0;
    }
    const char *start = p;
    while (*p != '\0' && *p != ',')
        p++;
    size_t len = (size_t)(p - start);
    while (len > 0 && start[len - 1] == ' ')
        len--;
    *cursor = p;
    *item = start;
    *item_len = len;
    return 1;
}

int iotls__common_rsa_keygen_check(unsigned bits, uint32_t exponent)
{
    if (bits < 1024 || bits > 8192 || bits % 2 != 0)
        return IOTLS_ERR_BAD_ARG;
    if (exponent < 3 || exponent > IOTLS_RSA_MAX_EXPONENT || exponent % 2 == 0)
        return IOTLS_ERR_BAD_ARG;
    return IOTLS_OK;
}
