/* iotls_config: allocation, file loading and the setters of include/iotls/iotls.h.
 *
 * Every list setter parses into a temporary first, so a bad list leaves the
 * configuration exactly as it was. Loading certificates or keys is the
 * exception: a failed load leaves the config WITHOUT that material (fail
 * closed: an empty trust store verifies nothing) rather than half-loaded. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "config.h"
#include "replay.h"

/* 0-RTT: ticket-age window and the default anti-replay ring (RFC 8446 8.3
 * suggests a window of seconds; a device on a slow link may need more). */
#define DEFAULT_EARLY_WINDOW_MS 10000u
#define DEFAULT_REPLAY_ENTRIES 4096u
#include "crypto/crypto.h"
#include "iotls/iotls.h"
#include "iotls/session.h"

#define NAME_MAX_LEN 64
#define TICKET_KEY_FILE_LEN 48
#define DEFAULT_TICKET_LIFETIME_S 7200u

static uint64_t realtime_ms(void *arg)
{
    (void)arg;
#if defined(__PICOLIBC__) && !defined(_POSIX_TIMERS)
    /* Bare-metal picolibc has no clock_gettime: whole seconds from time().
     * Boards set a finer clock with iotls_config_set_time_cb
     * (port/baremetal/main.c does). */
    time_t now = time(NULL);
    return now < 0 ? 0 : (uint64_t)now * 1000u;
#else
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0 || ts.tv_sec < 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
#endif
}

iotls_config *iotls_config_new(void)
{
    iotls_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return NULL;
    iotls__config_defaults(cfg);
    cfg->refs = 1;
    cfg->now_ms = realtime_ms;
    cfg->ticket_lifetime = DEFAULT_TICKET_LIFETIME_S;
    cfg->ticket_rotation_s = IOTLS_DEFAULT_TICKET_ROTATION_S;
    cfg->early_window_ms = DEFAULT_EARLY_WINDOW_MS;
#ifndef IOTLS_NO_SERVER
    /* Each config seals its tickets with its own random key until one is
     * loaded; a failure only leaves ticket issuing off. A client-only build
     * issues no tickets: it draws no key. */
    if (iotls__random(cfg->ticket_master, sizeof cfg->ticket_master) == IOTLS_OK)
        cfg->has_ticket_key = 1;
#endif
    iotls__x509_init(&cfg->ca);
    iotls__crl_init(&cfg->crl);
    iotls__x509_init(&cfg->cert);
    iotls__pkey_init(&cfg->key);
    return cfg;
}

void iotls__config_hold(const iotls_config *cfg)
{
    /* The count is bookkeeping, not configuration: objects made from a
     * const configuration still hold it. */
    if (cfg)
        __atomic_add_fetch(&((iotls_config *)cfg)->refs, 1, __ATOMIC_RELAXED);
}

void iotls_config_free(iotls_config *cfg)
{
    if (!cfg)
        return;
    /* Connections still hold it: the last of them frees it. */
    if (__atomic_sub_fetch(&cfg->refs, 1, __ATOMIC_ACQ_REL) > 0)
        return;
    iotls__x509_free(&cfg->ca);
    iotls__crl_free(&cfg->crl);
    iotls__x509_free(&cfg->cert);
    iotls__pkey_free(&cfg->key);
    iotls__replay_store_free(cfg->default_replay);
    if (cfg->key_password) {
        iotls__wipe(cfg->key_password, strlen(cfg->key_password));
        free(cfg->key_password);
    }
    /* Pins and callback arguments are not secret, but the struct held the
     * key context: wipe all of it before it goes back to the heap. */
    iotls__wipe(cfg, sizeof *cfg);
    free(cfg);
}

/* ---- list tokenizer ---- */

/* Copies the next token of list (separated by any char of seps, surrounding
 * blanks trimmed) into tok. Returns 1 with *pos advanced, 0 at the end, -1
 * on an empty or overlong token. */
static int next_token(const char *list, size_t *pos, const char *seps, char *tok, size_t cap)
{
    size_t i = *pos;
    if (list[i] == '\0')
        return 0;
    size_t start = i;
    while (list[i] != '\0' && strchr(seps, list[i]) == NULL)
        i++;
    size_t end = i;
    while (start < end && (list[start] == ' ' || list[start] == '\t'))
        start++;
    while (end > start && (list[end - 1] == ' ' || list[end - 1] == '\t'))
        end--;
    if (list[i] != '\0') {
        i++; /* the separator */
        if (list[i] == '\0')
            return -1; /* trailing separator: an empty last element */
    }
    *pos = i;
    if (end == start || end - start >= cap)
        return -1;
    memcpy(tok, list + start, end - start);
    tok[end - start] = '\0';
    return 1;
}

static int contains(const uint16_t *v, size_t n, uint16_t x)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == x)
            return 1;
    return 0;
}

/* ---- groups ---- */

static uint16_t group_by_name(const char *name)
{
    static const struct {
        const char *name;
        uint16_t id;
    } names[] = {
        {"x25519", IOTLS_GROUP_X25519},       {"secp256r1", IOTLS_GROUP_SECP256R1},
        {"P-256", IOTLS_GROUP_SECP256R1},     {"prime256v1", IOTLS_GROUP_SECP256R1},
        {"secp384r1", IOTLS_GROUP_SECP384R1}, {"P-384", IOTLS_GROUP_SECP384R1},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].id;
    return 0;
}

int iotls_config_set_groups(iotls_config *cfg, const char *list)
{
    if (!cfg || !list)
        return IOTLS_ERR_BAD_ARG;
    uint16_t groups[IOTLS_MAX_GROUPS];
    size_t n = 0, pos = 0;
    char tok[NAME_MAX_LEN];
    int r;
    while ((r = next_token(list, &pos, ",:", tok, sizeof tok)) == 1) {
        uint16_t g = group_by_name(tok);
        if (g == 0 || !iotls__kex_supported(g) || contains(groups, n, g) || n == IOTLS_MAX_GROUPS)
            return IOTLS_ERR_CONFIG;
        groups[n++] = g;
    }
    if (r < 0 || n == 0)
        return IOTLS_ERR_CONFIG;
    memcpy(cfg->groups, groups, n * sizeof groups[0]);
    cfg->group_count = n;
    return IOTLS_OK;
}

/* ---- cipher suites ---- */

static uint16_t suite_by_name(const char *name)
{
    static const struct {
        const char *name;
        uint16_t id;
    } names[] = {
        {"TLS_AES_128_GCM_SHA256", IOTLS_TLS_AES_128_GCM_SHA256},
        {"TLS_AES_256_GCM_SHA384", IOTLS_TLS_AES_256_GCM_SHA384},
        {"TLS_CHACHA20_POLY1305_SHA256", IOTLS_TLS_CHACHA20_POLY1305_SHA256},
        {"aes128gcm", IOTLS_TLS_AES_128_GCM_SHA256},
        {"aes256gcm", IOTLS_TLS_AES_256_GCM_SHA384},
        {"chacha20", IOTLS_TLS_CHACHA20_POLY1305_SHA256},
        {"TLS_AES_128_CCM_SHA256", IOTLS_TLS_AES_128_CCM_SHA256},
        {"TLS_AES_128_CCM_8_SHA256", IOTLS_TLS_AES_128_CCM_8_SHA256},
        {"aes128ccm", IOTLS_TLS_AES_128_CCM_SHA256},
        {"aes128ccm8", IOTLS_TLS_AES_128_CCM_8_SHA256},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i].name) == 0)
            return names[i].id;
    return 0;
}

int iotls_config_set_ciphers(iotls_config *cfg, const char *list)
{
    if (!cfg || !list)
        return IOTLS_ERR_BAD_ARG;
    uint16_t suites[IOTLS_MAX_SUITES];
    size_t n = 0, pos = 0;
    char tok[NAME_MAX_LEN];
    int r;
    while ((r = next_token(list, &pos, ",:", tok, sizeof tok)) == 1) {
        uint16_t s = suite_by_name(tok);
        if (s == 0 || contains(suites, n, s) || n == IOTLS_MAX_SUITES)
            return IOTLS_ERR_CONFIG;
        suites[n++] = s;
    }
    if (r < 0 || n == 0)
        return IOTLS_ERR_CONFIG;
    memcpy(cfg->suites, suites, n * sizeof suites[0]);
    cfg->suite_count = n;
    return IOTLS_OK;
}

/* ---- ALPN ---- */

int iotls_config_set_alpn(iotls_config *cfg, const char *list)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (!IOTLS_FEATURE_ALPN)
        return IOTLS_ERR_UNSUPPORTED;
    if (!list || list[0] == '\0') {
        cfg->alpn_len = 0; /* no ALPN */
        return IOTLS_OK;
    }
    uint8_t wire[IOTLS_MAX_ALPN_WIRE];
    size_t len = 0, pos = 0;
    char tok[256]; /* a ProtocolName is 1..255 bytes (RFC 7301) */
    int r;
    while ((r = next_token(list, &pos, ",", tok, sizeof tok)) == 1) {
        size_t tl = strlen(tok);
        if (len + 1 + tl > sizeof wire)
            return IOTLS_ERR_CONFIG;
        wire[len++] = (uint8_t)tl;
        memcpy(wire + len, tok, tl);
        len += tl;
    }
    if (r < 0 || len == 0)
        return IOTLS_ERR_CONFIG;
    memcpy(cfg->alpn, wire, len);
    cfg->alpn_len = len;
    return IOTLS_OK;
}

/* ---- pins ---- */

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int iotls_config_add_pin_sha256(iotls_config *cfg, const char *hex)
{
    if (!cfg || !hex)
        return IOTLS_ERR_BAD_ARG;
    if (cfg->pin_count == IOTLS_MAX_PINS)
        return IOTLS_ERR_CONFIG;
    uint8_t pin[32];
    size_t n = 0;
    const char *p = hex;
    /* curl's --pinnedpubkey form: "sha256//" and the base64 of the hash. */
    if (strncmp(hex, "sha256//", 8) == 0) {
        uint8_t raw[48];
        size_t raw_len = 0;
        if (iotls__base64_decode(hex + 8, strlen(hex + 8), raw, sizeof raw, &raw_len) != IOTLS_OK ||
            raw_len != sizeof pin)
            return IOTLS_ERR_CONFIG;
        memcpy(cfg->pins[cfg->pin_count++], raw, sizeof pin);
        return IOTLS_OK;
    }
    /* 64 hex digits; "AB:CD:..." (as openssl x509 -fingerprint prints) is
     * accepted too, with a colon only between two bytes. */
    while (*p) {
        if (n == sizeof pin)
            return IOTLS_ERR_CONFIG;
        int hi = hex_digit(p[0]);
        int lo = hi < 0 ? -1 : hex_digit(p[1]);
        if (lo < 0)
            return IOTLS_ERR_CONFIG;
        pin[n++] = (uint8_t)(hi << 4 | lo);
        p += 2;
        if (*p == ':' && n < sizeof pin && p[1] != '\0')
            p++;
    }
    if (n != sizeof pin)
        return IOTLS_ERR_CONFIG;
    memcpy(cfg->pins[cfg->pin_count++], pin, sizeof pin);
    return IOTLS_OK;
}

/* ---- what went wrong (iotls_config_error) ---- */

/* A failing setter records only what failed (the subject: "CA in memory",
 * "certificate file x.pem") and why, as one of these; the words for the
 * reason are written by iotls_config_error alone, so a firmware that never
 * asks for them does not carry them (docs/device.md, "Image"). */
enum config_why {
    WHY_NONE = 0,
    WHY_TEXT,   /* error holds the finished text */
    WHY_SYSTEM, /* the file cannot be opened: error_errno says why */
    WHY_NO_MEMORY,
    WHY_CA_UNUSABLE, /* no certificate of the CA file could be used */
    WHY_CRL_UNBUILT, /* the crypto library has no CRL support */
    WHY_NOT_CRL,
    WHY_NO_CERT, /* the certificate half */
    WHY_KEY_PASSWORD_NEEDED,
    WHY_KEY_PASSWORD_WRONG,
    WHY_KEY_CIPHER, /* encrypted with a scheme the library cannot decrypt */
    WHY_NOT_KEY,
    WHY_KEY_MISMATCH, /* the subject names both halves */
};

static void config_clear_error(iotls_config *cfg)
{
    cfg->error[0] = '\0';
    cfg->error_why = WHY_NONE;
}

/* subject, or "subject and other" when other is given. */
static int config_fail(iotls_config *cfg, int rc, int why, const char *subject, const char *other)
{
    snprintf(cfg->error, sizeof cfg->error, "%s%s%s", subject, other ? " and " : "",
             other ? other : "");
    cfg->error_why = why;
    return rc;
}

const char *iotls_config_error(const iotls_config *cfg)
{
    if (!cfg)
        return "no configuration (out of memory?)";
    if (cfg->error_why == WHY_NONE || cfg->error_why == WHY_TEXT)
        return cfg->error;
    /* The text replaces the subject in the configuration the first time it
     * is asked for (config.h: not while another thread changes or asks the
     * same configuration). A configuration comes from iotls_config_new,
     * never from a const object, so writing through it is defined. */
    iotls_config *w = (iotls_config *)cfg;
    char subject[sizeof w->error];
    memcpy(subject, w->error, sizeof subject);
    const char *fmt;
    const char *more = "";
    switch (w->error_why) {
    case WHY_SYSTEM:
        fmt = "%s: %s";
        more = strerror(w->error_errno);
        break;
    case WHY_NO_MEMORY:
        fmt = "%s: out of memory";
        break;
    case WHY_CA_UNUSABLE:
        fmt = "%s: no usable certificate (PEM or DER, RSA or EC key)";
        break;
    case WHY_CRL_UNBUILT:
        fmt = "%s: the crypto library was built without CRL support";
        break;
    case WHY_NOT_CRL:
        fmt = "%s: not a CRL in PEM or DER";
        break;
    case WHY_NO_CERT:
        fmt = "%s: no certificate in it (not PEM or DER, or unparsable)";
        break;
    case WHY_KEY_PASSWORD_NEEDED:
        fmt = "%s: the key is encrypted: give its passphrase "
              "(iotls_config_set_key_password, iotls --key-pass)";
        break;
    case WHY_KEY_PASSWORD_WRONG:
        fmt = "%s: the passphrase does not decrypt the key";
        break;
    case WHY_KEY_CIPHER:
        fmt = "%s: the key is encrypted with a scheme the crypto library (%s) cannot "
              "decrypt; re-encrypt it as traditional PEM (openssl ec|rsa -aes128)";
        more = iotls_crypto_backend_name();
        break;
    case WHY_KEY_MISMATCH:
        fmt = "%s do not belong together (the certificate is for another key)";
        break;
    default:
        fmt = "%s: not a private key in PEM or DER (or of an unsupported type)";
        break;
    }
    snprintf(w->error, sizeof w->error, fmt, subject, more);
    w->error_why = WHY_TEXT;
    return w->error;
}

/* A file the provider is about to read: say which and why when it cannot
 * be opened (the provider only says it failed). */
static int check_readable(iotls_config *cfg, const char *what, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        cfg->error_errno = errno;
        char subject[sizeof cfg->error];
        snprintf(subject, sizeof subject, "%s %s", what, path);
        return config_fail(cfg, IOTLS_ERR_KEY_LOAD, WHY_SYSTEM, subject, NULL);
    }
    fclose(f);
    return IOTLS_OK;
}

/* ---- trust anchors ---- */

static int ca_loaded(iotls_config *cfg, int rc, const char *source)
{
    if (rc != IOTLS_OK || iotls__x509_count(&cfg->ca) == 0) {
        iotls__x509_free(&cfg->ca);
        iotls__x509_init(&cfg->ca);
        cfg->has_ca = 0;
        char subject[sizeof cfg->error];
        snprintf(subject, sizeof subject, "CA %s", source);
        if (rc == IOTLS_ERR_NO_MEMORY)
            return config_fail(cfg, rc, WHY_NO_MEMORY, subject, NULL);
        return config_fail(cfg, rc == IOTLS_OK ? IOTLS_ERR_KEY_LOAD : rc, WHY_CA_UNUSABLE, subject,
                           NULL);
    }
    cfg->has_ca = 1;
    return IOTLS_OK;
}

static int as_load_error(int rc)
{
    /* The provider may report a parse failure as BAD_CERTIFICATE (the
     * peer-facing code); for local files the caller wants KEY_LOAD. */
    if (rc == IOTLS_OK || rc == IOTLS_ERR_NO_MEMORY || rc == IOTLS_ERR_BAD_ARG)
        return rc;
    return IOTLS_ERR_KEY_LOAD;
}

int iotls_config_set_ca_file(iotls_config *cfg, const char *path)
{
    if (!cfg || !path)
        return IOTLS_ERR_BAD_ARG;
    config_clear_error(cfg);
    if (check_readable(cfg, "CA", path) != IOTLS_OK) {
        /* Fail closed as ca_loaded does, keeping the reason. */
        iotls__x509_free(&cfg->ca);
        iotls__x509_init(&cfg->ca);
        cfg->has_ca = 0;
        return IOTLS_ERR_KEY_LOAD;
    }
    return ca_loaded(
        cfg, as_load_error(iotls__x509_load_anchors_file(&cfg->ca, path, &cfg->ca_skipped)), path);
}

int iotls_config_set_ca_dir(iotls_config *cfg, const char *dir)
{
    if (!cfg || !dir)
        return IOTLS_ERR_BAD_ARG;
    config_clear_error(cfg);
    return ca_loaded(cfg, as_load_error(iotls__x509_load_dir(&cfg->ca, dir, &cfg->ca_skipped)),
                     dir);
}

int iotls_config_set_ca_mem(iotls_config *cfg, const uint8_t *pem, size_t len)
{
    if (!cfg || !pem || len == 0)
        return IOTLS_ERR_BAD_ARG;
    config_clear_error(cfg);
    return ca_loaded(
        cfg, as_load_error(iotls__x509_load_anchors_mem(&cfg->ca, pem, len, &cfg->ca_skipped)),
        "in memory");
}

size_t iotls_config_ca_skipped(const iotls_config *cfg)
{
    return cfg ? cfg->ca_skipped : 0;
}

/* ---- revocation lists ---- */

/* A failed load leaves the CRLs added before, and marks the configuration
 * so that it refuses every chain: firmware that misses the error must not
 * accept the devices the list was meant to refuse. */
static int crl_loaded(iotls_config *cfg, int rc, const char *source)
{
    if (rc == IOTLS_OK)
        return IOTLS_OK;
    cfg->crl_failed = 1;
    char subject[sizeof cfg->error];
    snprintf(subject, sizeof subject, "CRL %s", source);
    if (rc == IOTLS_ERR_NO_MEMORY)
        return config_fail(cfg, rc, WHY_NO_MEMORY, subject, NULL);
    if (rc == IOTLS_ERR_UNSUPPORTED)
        return config_fail(cfg, rc, WHY_CRL_UNBUILT, subject, NULL);
    return config_fail(cfg, IOTLS_ERR_KEY_LOAD, WHY_NOT_CRL, subject, NULL);
}

int iotls_config_set_crl_file(iotls_config *cfg, const char *path)
{
    if (!cfg || !path)
        return IOTLS_ERR_BAD_ARG;
    config_clear_error(cfg);
    if (check_readable(cfg, "CRL", path) != IOTLS_OK) {
        cfg->crl_failed = 1;
        return IOTLS_ERR_KEY_LOAD;
    }
    return crl_loaded(cfg, iotls__crl_load_file(&cfg->crl, path), path);
}

int iotls_config_set_crl_mem(iotls_config *cfg, const uint8_t *data, size_t len)
{
    if (!cfg || !data || len == 0)
        return IOTLS_ERR_BAD_ARG;
    config_clear_error(cfg);
    return crl_loaded(cfg, iotls__crl_load_mem(&cfg->crl, data, len), "in memory");
}

/* ---- our certificate and key ---- */

static void drop_cert(iotls_config *cfg)
{
    iotls__x509_free(&cfg->cert);
    iotls__pkey_free(&cfg->key);
    iotls__x509_init(&cfg->cert);
    iotls__pkey_init(&cfg->key);
    cfg->has_cert = 0;
}

/* The certificate half: rc of its load; names say what to call both
 * halves in the error text ("certificate file x.pem", "key file x.key"). */
static int cert_half(iotls_config *cfg, int rc, const char *cert_name)
{
    if (rc == IOTLS_ERR_NO_MEMORY)
        return config_fail(cfg, rc, WHY_NO_MEMORY, cert_name, NULL);
    if (rc != IOTLS_OK || iotls__x509_count(&cfg->cert) == 0)
        return config_fail(cfg, IOTLS_ERR_KEY_LOAD, WHY_NO_CERT, cert_name, NULL);
    return IOTLS_OK;
}

/* Why the key was refused. A passphrase was given and what it decrypted
 * did not parse: traditional PEM's cipher has no check but its padding,
 * which a wrong passphrase passes about once in 256 decryptions, and the
 * library then reports a format error. When the key cannot be read
 * without a passphrase at all, the passphrase is what is wrong. */
static int why_key_refused(const iotls_config *cfg, const char *key_path, const uint8_t *key_mem,
                           size_t key_len)
{
    int why = iotls__pkey_load_why(&cfg->key);
    if (why != IOTLS_PKEY_WHY_FORMAT || cfg->key_password == NULL)
        return why;
    iotls_pkey probe;
    iotls__pkey_init(&probe);
    if (key_path != NULL)
        (void)iotls__pkey_load_file(&probe, key_path, NULL);
    else
        (void)iotls__pkey_load_mem(&probe, key_mem, key_len, NULL);
    int encrypted = iotls__pkey_load_why(&probe) == IOTLS_PKEY_WHY_PASSWORD_NEEDED;
    iotls__pkey_free(&probe);
    return encrypted ? IOTLS_PKEY_WHY_PASSWORD_WRONG : why;
}

/* Both halves are loaded: they must belong together, or every handshake
 * would fail later with a CertificateVerify the peer rejects. */
static int cert_loaded(iotls_config *cfg, int rc, int why, const char *cert_name,
                       const char *key_name)
{
    if (rc == IOTLS_ERR_NO_MEMORY) {
        config_fail(cfg, rc, WHY_NO_MEMORY, key_name, NULL);
    } else if (rc != IOTLS_OK) {
        config_fail(cfg, rc,
                    why == IOTLS_PKEY_WHY_PASSWORD_NEEDED  ? WHY_KEY_PASSWORD_NEEDED
                    : why == IOTLS_PKEY_WHY_PASSWORD_WRONG ? WHY_KEY_PASSWORD_WRONG
                    : why == IOTLS_PKEY_WHY_CIPHER         ? WHY_KEY_CIPHER
                                                           : WHY_NOT_KEY,
                    key_name, NULL);
    } else if (iotls__x509_matches_key(&cfg->cert, &cfg->key) != 1) {
        rc = config_fail(cfg, IOTLS_ERR_KEY_LOAD, WHY_KEY_MISMATCH, cert_name, key_name);
    }
    if (rc != IOTLS_OK) {
        drop_cert(cfg);
        return rc;
    }
    cfg->has_cert = 1;
    return IOTLS_OK;
}

int iotls_config_set_cert_file(iotls_config *cfg, const char *cert_path, const char *key_path)
{
    if (!cfg || !cert_path || !key_path)
        return IOTLS_ERR_BAD_ARG;
    drop_cert(cfg);
    config_clear_error(cfg);
    char cert_name[160], key_name[160];
    snprintf(cert_name, sizeof cert_name, "certificate file %s", cert_path);
    snprintf(key_name, sizeof key_name, "key file %s", key_path);
    int rc = check_readable(cfg, "certificate file", cert_path);
    if (rc == IOTLS_OK)
        rc = cert_half(cfg, iotls__x509_load_file(&cfg->cert, cert_path), cert_name);
    if (rc == IOTLS_OK)
        rc = check_readable(cfg, "key file", key_path);
    if (rc != IOTLS_OK) {
        drop_cert(cfg);
        return rc;
    }
    rc = as_load_error(iotls__pkey_load_file(&cfg->key, key_path, cfg->key_password));
    int why = rc == IOTLS_OK ? IOTLS_PKEY_WHY_NONE : why_key_refused(cfg, key_path, NULL, 0);
    return cert_loaded(cfg, rc, why, cert_name, key_name);
}

int iotls_config_set_cert_mem(iotls_config *cfg, const uint8_t *cert_pem, size_t cert_len,
                              const uint8_t *key_pem, size_t key_len)
{
    if (!cfg || !cert_pem || !key_pem || cert_len == 0 || key_len == 0)
        return IOTLS_ERR_BAD_ARG;
    drop_cert(cfg);
    config_clear_error(cfg);
    int rc = cert_half(cfg, iotls__x509_load_mem(&cfg->cert, cert_pem, cert_len), "certificate");
    if (rc != IOTLS_OK) {
        drop_cert(cfg);
        return rc;
    }
    rc = as_load_error(iotls__pkey_load_mem(&cfg->key, key_pem, key_len, cfg->key_password));
    int why = rc == IOTLS_OK ? IOTLS_PKEY_WHY_NONE : why_key_refused(cfg, NULL, key_pem, key_len);
    return cert_loaded(cfg, rc, why, "certificate", "key");
}

int iotls_config_set_key_password(iotls_config *cfg, const char *password)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    char *copy = NULL;
    if (password != NULL) {
        size_t len = strlen(password);
        copy = malloc(len + 1);
        if (copy == NULL)
            return IOTLS_ERR_NO_MEMORY;
        memcpy(copy, password, len + 1);
    }
    if (cfg->key_password) {
        iotls__wipe(cfg->key_password, strlen(cfg->key_password));
        free(cfg->key_password);
    }
    cfg->key_password = copy;
    return IOTLS_OK;
}

/* ---- the rest ---- */

int iotls_config_set_verify_client(iotls_config *cfg, int mode)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (!IOTLS_FEATURE_CLIENT_AUTH && mode != IOTLS_VERIFY_CLIENT_NONE)
        return IOTLS_ERR_UNSUPPORTED;
    if (mode != IOTLS_VERIFY_CLIENT_NONE && mode != IOTLS_VERIFY_CLIENT_OPTIONAL &&
        mode != IOTLS_VERIFY_CLIENT_REQUIRED)
        return IOTLS_ERR_CONFIG;
    cfg->verify_client = mode;
    return IOTLS_OK;
}

int iotls_config_insecure_noverifycert(iotls_config *cfg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->insecure_noverifycert = 1;
    return IOTLS_OK;
}

int iotls_config_set_middlebox_compat(iotls_config *cfg, int on)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->middlebox_compat = on != 0;
    return IOTLS_OK;
}

int iotls_config_set_hrr_cookie(iotls_config *cfg, int on)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    /* One cookie key for every connection of this config, made when the
     * cookie is first wanted. */
    if (on && !cfg->has_cookie_key) {
        int rc = iotls__random(cfg->cookie_key, sizeof cfg->cookie_key);
        if (rc != IOTLS_OK)
            return rc;
        cfg->has_cookie_key = 1;
    }
    cfg->hrr_cookie = on != 0;
    return IOTLS_OK;
}

int iotls_config_set_connect_timeout_ms(iotls_config *cfg, uint32_t ms)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->connect_timeout_ms = ms;
    return IOTLS_OK;
}

int iotls_config_set_timeout_ms(iotls_config *cfg, uint32_t ms)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->timeout_ms = ms;
    return IOTLS_OK;
}

int iotls_config_set_max_handshake_size(iotls_config *cfg, size_t bytes)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (bytes < 512 || bytes > 262144)
        return IOTLS_ERR_CONFIG;
    cfg->max_handshake = bytes;
    return IOTLS_OK;
}

int iotls_config_set_max_ticket_size(iotls_config *cfg, size_t bytes)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (bytes < 1 || bytes > IOTLS_SESSION_MAX_TICKET)
        return IOTLS_ERR_CONFIG;
    cfg->max_ticket = bytes;
    return IOTLS_OK;
}

int iotls_config_set_reassemble_in_place(iotls_config *cfg, int on)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->reassemble_in_place = on != 0;
    return IOTLS_OK;
}

int iotls_config_set_max_rsa_bits(iotls_config *cfg, unsigned bits)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (bits < IOTLS_RSA_MIN_BITS || bits > IOTLS_RSA_MAX_MAX_BITS)
        return IOTLS_ERR_CONFIG;
    cfg->max_rsa_bits = bits;
    return IOTLS_OK;
}

int iotls_config_set_record_size(iotls_config *cfg, size_t bytes)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (bytes < 512 || bytes > 16384)
        return IOTLS_ERR_CONFIG;
    if (!IOTLS_FEATURE_RECORD_SIZE && bytes != 16384)
        return IOTLS_ERR_UNSUPPORTED;
    cfg->max_record_plain = bytes;
    return IOTLS_OK;
}

int iotls_config_set_send_record_size(iotls_config *cfg, size_t bytes)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (bytes < 512 || bytes > 16384)
        return IOTLS_ERR_CONFIG;
    cfg->max_record_send = bytes;
    return IOTLS_OK;
}

int iotls_config_set_keylog(iotls_config *cfg, iotls_keylog_fn fn, void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->keylog = fn;
    cfg->keylog_arg = arg;
    return IOTLS_OK;
}

int iotls_config_set_trace(iotls_config *cfg, iotls_trace_fn fn, void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->trace = fn;
    cfg->trace_arg = arg;
    return IOTLS_OK;
}

int iotls_config_set_ticket_cb(iotls_config *cfg, iotls_ticket_fn fn, void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->ticket_cb = fn;
    cfg->ticket_arg = arg;
    return IOTLS_OK;
}

int iotls_config_set_sni_cb(iotls_config *cfg, iotls_sni_fn fn, void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->sni_cb = fn;
    cfg->sni_arg = arg;
    return IOTLS_OK;
}

int iotls_config_set_tickets(iotls_config *cfg, unsigned count)
{
    if (!cfg || count > 16)
        return IOTLS_ERR_BAD_ARG;
#ifdef IOTLS_NO_SERVER
    const int can_issue = 0; /* only the server's code sends tickets */
#else
    const int can_issue = IOTLS_FEATURE_RESUMPTION;
#endif
    if (!can_issue && count > 0)
        return IOTLS_ERR_UNSUPPORTED;
    if (count > 0 && !cfg->has_ticket_key)
        return IOTLS_ERR_CONFIG;
    cfg->ticket_count = count;
    return IOTLS_OK;
}

int iotls_config_set_ticket_key(iotls_config *cfg, const uint8_t key[48])
{
    if (!cfg || !key)
        return IOTLS_ERR_BAD_ARG;
    memcpy(cfg->ticket_master, key, sizeof cfg->ticket_master);
    cfg->has_ticket_key = 1;
    return IOTLS_OK;
}

/* The period only: the keys themselves are derived when a ticket is
 * sealed or opened (server.c), so the config stays read-only for the
 * engine. */
int iotls_config_set_ticket_rotation(iotls_config *cfg, uint32_t period_s)
{
    if (!cfg || period_s < IOTLS_MIN_TICKET_ROTATION_S)
        return IOTLS_ERR_BAD_ARG;
    cfg->ticket_rotation_s = period_s;
    return IOTLS_OK;
}

/* 48 raw bytes, or 96 hex digits (whitespace ignored). */
int iotls_config_set_ticket_key_file(iotls_config *cfg, const char *path)
{
    if (!cfg || !path)
        return IOTLS_ERR_BAD_ARG;
    FILE *f = fopen(path, "rb");
    if (!f)
        return IOTLS_ERR_KEY_LOAD;
    uint8_t buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    int more = fgetc(f) != EOF;
    fclose(f);
    uint8_t key[TICKET_KEY_FILE_LEN];
    int rc = IOTLS_ERR_KEY_LOAD;
    if (!more && n == TICKET_KEY_FILE_LEN) {
        memcpy(key, buf, sizeof key);
        rc = IOTLS_OK;
    } else if (!more) {
        size_t digits = 0;
        rc = IOTLS_OK;
        for (size_t i = 0; i < n && rc == IOTLS_OK; i++) {
            if (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')
                continue;
            int v = hex_digit((char)buf[i]);
            if (v < 0 || digits >= 2 * sizeof key) {
                rc = IOTLS_ERR_KEY_LOAD;
                break;
            }
            if (digits % 2 == 0)
                key[digits / 2] = (uint8_t)(v << 4);
            else
                key[digits / 2] |= (uint8_t)v;
            digits++;
        }
        if (digits != 2 * sizeof key)
            rc = IOTLS_ERR_KEY_LOAD;
    }
    if (rc == IOTLS_OK)
        rc = iotls_config_set_ticket_key(cfg, key);
    iotls__wipe(key, sizeof key);
    iotls__wipe(buf, sizeof buf);
    return rc;
}

int iotls_config_set_psk_ke(iotls_config *cfg, int on)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->psk_ke = on == IOTLS_PSK_KE_ONLY ? IOTLS_PSK_KE_ONLY : on != 0;
    return IOTLS_OK;
}

int iotls_config_set_psk(iotls_config *cfg, const uint8_t *identity, size_t identity_len,
                         const uint8_t *key, size_t key_len, uint16_t cipher_suite)
{
    if (!cfg || !identity || !key || identity_len == 0)
        return IOTLS_ERR_BAD_ARG;
    /* Before the lengths: without the feature the rooms are one byte. */
    if (!IOTLS_FEATURE_EXT_PSK)
        return IOTLS_ERR_UNSUPPORTED;
    if (identity_len > sizeof cfg->ext_psk_identity || key_len < 16 ||
        key_len > sizeof cfg->ext_psk)
        return IOTLS_ERR_BAD_ARG;
    iotls_hash_alg alg = iotls__suite_hash(cipher_suite);
    if (alg == IOTLS_HASH_NONE)
        return IOTLS_ERR_BAD_ARG;
    iotls__wipe(cfg->ext_psk, sizeof cfg->ext_psk);
    memcpy(cfg->ext_psk_identity, identity, identity_len);
    cfg->ext_psk_identity_len = identity_len;
    memcpy(cfg->ext_psk, key, key_len);
    cfg->ext_psk_len = key_len;
    cfg->ext_psk_hash = alg;
    cfg->has_ext_psk = 1;
    return IOTLS_OK;
}

int iotls_config_set_key_update_limit(iotls_config *cfg, uint64_t records)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->key_update_limit = records;
    return IOTLS_OK;
}

int iotls_config_set_time_cb(iotls_config *cfg, uint64_t (*now_ms)(void *arg), void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->now_ms = now_ms ? now_ms : realtime_ms;
    cfg->now_arg = now_ms ? arg : NULL;
    return IOTLS_OK;
}

/* ---- 0-RTT ---- */

int iotls_config_set_early_data(iotls_config *cfg, uint32_t max_bytes)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    if (!IOTLS_FEATURE_EARLY_DATA && max_bytes > 0)
        return IOTLS_ERR_UNSUPPORTED;
    cfg->max_early_data = max_bytes;
    if (max_bytes > 0 && cfg->early_replay == NULL) {
        if (!cfg->default_replay)
            cfg->default_replay =
                iotls__replay_store_new(DEFAULT_REPLAY_ENTRIES, cfg->early_window_ms);
        if (!cfg->default_replay) {
            cfg->max_early_data = 0;
            return IOTLS_ERR_NO_MEMORY;
        }
        cfg->early_replay = iotls__replay_store_check;
        cfg->early_replay_arg = cfg->default_replay;
    }
    return IOTLS_OK;
}

int iotls_config_set_early_data_replay(iotls_config *cfg, iotls_replay_fn fn, void *arg)
{
    if (!cfg)
        return IOTLS_ERR_BAD_ARG;
    cfg->early_replay = fn;
    cfg->early_replay_arg = fn ? arg : NULL;
    return IOTLS_OK;
}

int iotls_config_set_early_data_window(iotls_config *cfg, uint32_t window_ms, size_t entries)
{
    if (!cfg || window_ms == 0 || entries == 0)
        return IOTLS_ERR_BAD_ARG;
    iotls_replay_store *st = iotls__replay_store_new(entries, window_ms);
    if (!st)
        return IOTLS_ERR_NO_MEMORY;
    int ours = cfg->early_replay == iotls__replay_store_check;
    iotls__replay_store_free(cfg->default_replay);
    cfg->default_replay = st;
    cfg->early_window_ms = window_ms;
    if (ours || cfg->early_replay == NULL) {
        cfg->early_replay = iotls__replay_store_check;
        cfg->early_replay_arg = st;
    }
    return IOTLS_OK;
}
