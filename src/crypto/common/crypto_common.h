/* Helpers shared by the crypto providers (src/crypto/mbedtls/ and
 * src/crypto/openssl/): the parts of the provider interface that do not
 * depend on the library, written once so both providers give the same
 * answers. Internal to the providers: the engine never includes this.
 *
 * Some provider-interface functions of crypto.h are defined here outright
 * (iotls__hash_len, iotls__aead_key_len, iotls__random,
 * iotls__random_override); the rest are building blocks the providers call. */
#ifndef IOTLS_CRYPTO_COMMON_H
#define IOTLS_CRYPTO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* ---- HKDF (algorithms.c) ---- */

/* The argument checks of iotls__hkdf_expand (RFC 5869: PRK at least
 * HashLen, L at most 255 * HashLen): IOTLS_OK or IOTLS_ERR_BAD_ARG. */
int iotls__common_hkdf_expand_check(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len,
                                    const uint8_t *info, size_t info_len, const uint8_t *out,
                                    size_t out_len);

/* ---- AEAD (algorithms.c) ---- */

/* 1 when key is there and of the length alg takes (iotls__aead_init). */
int iotls__common_aead_key_ok(iotls_aead_alg alg, const uint8_t *key, size_t key_len);

/* The argument checks of iotls__aead_seal, before any library call.
 * active: ctx is non-NULL and keyed. IOTLS_OK or IOTLS_ERR_BAD_ARG. */
int iotls__common_aead_seal_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                  size_t aad_len, const uint8_t *in, size_t in_len,
                                  const uint8_t *out);
/* The argument checks of iotls__aead_open: IOTLS_ERR_BAD_ARG, or
 * IOTLS_ERR_BAD_RECORD_MAC for an input too short to hold a tag of tag_len
 * bytes; on IOTLS_OK *plain_len is in_len less the tag. */
int iotls__common_aead_open_check(int active, const uint8_t *nonce, const uint8_t *aad,
                                  size_t aad_len, const uint8_t *in, size_t in_len,
                                  const uint8_t *out, size_t tag_len, size_t *plain_len);

/* ---- Key exchange (algorithms.c) ---- */

/* The sizes of a key_share group, whatever library computes with it. */
typedef struct {
    uint16_t group;   /* iotls_group */
    size_t coord_len; /* bytes of one coordinate, of a private key and of the shared secret */
    size_t pub_len;   /* key_share length */
    int montgomery;   /* X25519: the bare u-coordinate, no point format byte */
} iotls_common_curve;

/* NULL for a group iotls does not know. */
const iotls_common_curve *iotls__common_kex_curve(uint16_t group);
/* The checks iotls__kex_derive makes on the peer's key_share and the output
 * room: exact length and, for the NIST curves, only the uncompressed form
 * (RFC 8446 4.2.8.2) give IOTLS_ERR_ILLEGAL_PARAMETER; then
 * IOTLS_ERR_BUFFER_TOO_SMALL when secret_cap is short. */
int iotls__common_kex_derive_check(const iotls_common_curve *c, const uint8_t *peer,
                                   size_t peer_len, size_t secret_cap);
/* 1 when all len bytes are zero, without branching on individual bytes
 * (RFC 7748 section 6.1: an all-zero X25519 result). */
int iotls__common_all_zero(const uint8_t *p, size_t len);

/* ---- Randomness (random.c) ---- */

/* The provider's own generator behind iotls__random, which has already
 * checked the arguments (out non-NULL, len > 0) and the test override.
 * Defined by each provider's random.c. */
int iotls__provider_random(uint8_t *out, size_t len);
/* The lock that guards the override; a provider whose generator needs
 * serialising may take it too (never while calling iotls__random). */
void iotls__common_random_lock(void);
void iotls__common_random_unlock(void);

/* ---- Signature schemes (algorithms.c) ---- */

/* What a TLS signature scheme asks of the key and how it hashes. */
typedef struct {
    iotls_hash_alg hash;
    size_t hash_len;
    uint16_t curve; /* ECDSA: the one group allowed (iotls_group); else 0 */
    int rsa_pss;    /* 1: RSASSA-PSS with an rsaEncryption key */
    int rsa_pkcs1;  /* 1: PKCS#1 v1.5 (certificates only) */
} iotls_common_scheme;

/* 0 and *out filled for a scheme iotls knows, -1 otherwise. */
int iotls__common_scheme_info(uint16_t scheme, iotls_common_scheme *out);

/* ---- Certificates (x509_load.c, x509.c) ---- */

/* What each provider gives x509_load.c, which defines the
 * iotls__x509_load_* entry points of crypto.h (but iotls__x509_load_dir)
 * on them: append every certificate of a PEM or DER buffer / file to
 * chain. skipped NULL: all or nothing (IOTLS_ERR_BAD_CERTIFICATE when any
 * does not parse); else certificates the library cannot use are skipped
 * and counted there, IOTLS_ERR_BAD_CERTIFICATE only when none loaded.
 * A file that cannot be read: IOTLS_ERR_KEY_LOAD. */
int iotls__x509_parse_mem(iotls_x509 *chain, const uint8_t *data, size_t len, size_t *skipped);
int iotls__x509_parse_file(iotls_x509 *chain, const char *path, size_t *skipped);

/* 1 when data holds a PEM armour line somewhere within len bytes. */
int iotls__common_looks_pem(const uint8_t *data, size_t len);

/* 4 or 16 with the address in out when text is a strict IPv4 dotted quad
 * (four decimal parts 0..255, no leading zeros) or an RFC 4291 IPv6
 * literal (optionally in brackets, no zone index); 0 when it is not an IP
 * literal (then it is a DNS name). */
size_t iotls__common_parse_ip(const char *text, uint8_t out[16]);
/* The same for the len bytes at text (no NUL needed). */
size_t iotls__common_parse_ip_n(const char *text, size_t len, uint8_t out[16]);

/* The length of a DNS host name to compare, without the final '.' of the
 * absolute form ("example.com." names the same host). */
size_t iotls__common_host_len(const char *host);

/* "text" or "text: more" into detail (when detail is non-NULL). */
void iotls__common_set_detail(char *detail, size_t cap, const char *text, const char *more);

/* What a verification found, kept as facts so that its words are written
 * only when someone asks for them (iotls__x509_verify_explain): the
 * verdict path of the handshake fills this in and references no text, so
 * an image that never asks links none. */
typedef enum {
    IOTLS_WHY_NONE = 0,
    IOTLS_WHY_NO_CERT,              /* the chain is empty */
    IOTLS_WHY_NO_ANCHORS,           /* no trust anchors configured */
    IOTLS_WHY_KEY_REFUSED,          /* key_problem of certificate index */
    IOTLS_WHY_NOT_VERIFIED,         /* the library could not run the verification */
    IOTLS_WHY_FLAGS,                /* the library's verdict flags (the provider's own) */
    IOTLS_WHY_CRL_MISSING,          /* no CRL of the leaf's issuer is loaded */
    IOTLS_WHY_CRL_BAD,              /* a CRL cannot be used (flags) */
    IOTLS_WHY_REVOKED,              /* a CRL lists a certificate of the chain */
    IOTLS_WHY_NO_DIGITAL_SIGNATURE, /* the leaf's key usage */
    IOTLS_WHY_NO_SERVER_AUTH,       /* the leaf's extended key usage, server role */
    IOTLS_WHY_NO_CLIENT_AUTH,       /* the same, client role */
    IOTLS_WHY_HOST,                 /* the leaf is not for policy->host */
} iotls_why_reason;

typedef struct {
    iotls_why_reason reason;
    uint32_t flags;  /* IOTLS_WHY_FLAGS / _CRL_BAD: the provider's flags */
    size_t index;    /* IOTLS_WHY_KEY_REFUSED: which certificate */
    int key_problem; /* IOTLS_WHY_KEY_REFUSED: an IOTLS_KEY_* */
} iotls_x509_why;

/* The opening checks of iotls__x509_verify, the same for every provider:
 * IOTLS_ERR_BAD_ARG, IOTLS_ERR_BAD_CERTIFICATE (no certificate) or
 * IOTLS_ERR_CERT_UNKNOWN_CA (no trust anchors), the reason in why;
 * IOTLS_OK when verification can go on. */
int iotls__common_verify_start(const iotls_x509 *chain, const iotls_x509_policy *policy,
                               iotls_x509_why *why);
/* The text of the reasons every provider words alike (no certificate, no
 * trust anchors, a refused key, key usage, role, host name) into detail:
 * 1 when why was one of those, 0 when the provider words it itself. */
int iotls__common_explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                          const iotls_x509_why *why, char *detail, size_t detail_cap);

/* Why a key is outside the profile of iotls__x509_check_keys (0: it is
 * inside); the text only in iotls__common_key_problem_text. */
enum {
    IOTLS_KEY_OK = 0,
    IOTLS_KEY_RSA_SMALL,
    IOTLS_KEY_RSA_LARGE,
    IOTLS_KEY_RSA_EXPONENT_LARGE,
    IOTLS_KEY_RSA_EXPONENT_BAD,
    IOTLS_KEY_EC_CURVE,
    IOTLS_KEY_OTHER_TYPE,
};
/* The key profile of iotls__x509_check_keys (crypto.h), decided here so
 * that both providers draw the same lines; they only read the numbers.
 * The RSA maximum a policy asks for: configured, or the default for 0. */
unsigned iotls__common_max_rsa_bits(unsigned configured);
/* IOTLS_KEY_OK when an RSA key of bits with the public exponent e is
 * inside the profile, else why not. e_fits is 0 when the exponent did not
 * fit in 64 bits (then e is not looked at). */
int iotls__common_rsa_key_problem(size_t bits, int e_fits, uint64_t e, unsigned max_rsa_bits);
/* The words for an IOTLS_KEY_* problem. */
const char *iotls__common_key_problem_text(int problem);
/* Which certificate a CRL lists, for IOTLS_ERR_CERT_REVOKED's detail:
 * "server|client certificate 'subject' (serial HEX) is on the CRL of
 * 'issuer'" for the leaf; for a CA of the chain, leaf_subject names the
 * leaf: "... certificate 'leaf': its CA certificate 'subject' (serial HEX)
 * is on the CRL of 'issuer'" (leaf_subject NULL: the leaf is the one).
 * serial is the certificate's serialNumber as its big-endian bytes
 * (leading zero bytes are not printed), in upper-case hex as openssl x509
 * -serial prints it. subject or issuer NULL (their text could not be
 * made): a sentence without names. */
void iotls__common_revoked_detail(char *detail, size_t cap, int is_server_cert,
                                  const char *leaf_subject, const char *subject,
                                  const uint8_t *serial, size_t serial_len, const char *issuer);
/* The detail text for a leaf that is not for host (lists the leaf's
 * subjectAltNames through iotls__x509_sans). */
void iotls__common_host_detail(const iotls_x509 *chain, const char *host, char *detail,
                               size_t detail_cap);

/* A bounded text appender for iotls__x509_sans: overflow is remembered,
 * not written. */
typedef struct {
    char *out;
    size_t cap, len;
    int overflow;
} iotls_common_text;

/* The subjectAltName kinds iotls__x509_sans lists. */
typedef enum {
    IOTLS_SAN_DNS,
    IOTLS_SAN_EMAIL,
    IOTLS_SAN_URI,
    IOTLS_SAN_IP,
} iotls_common_san_kind;

/* Starts t on out (cap >= 1), which becomes "". */
void iotls__common_text_init(iotls_common_text *t, char *out, size_t cap);
/* Appends ", " (unless first) and one entry: "DNS:name" and the like, with
 * anything not printable ASCII shown as '?'; "IP:" with the dotted quad,
 * the RFC 5952 text of an IPv6 address, or "?" for another length. */
void iotls__common_text_san(iotls_common_text *t, iotls_common_san_kind kind, const uint8_t *p,
                            size_t n);
/* IOTLS_OK, or IOTLS_ERR_BUFFER_TOO_SMALL with the output emptied when it
 * did not fit. */
int iotls__common_text_finish(iotls_common_text *t);

/* ---- Throwaway PKI (x509.c) ---- */

/* The arguments iotls__pki_make_rsa_key takes: bits even, 1024..8192;
 * exponent odd, 3..2^31-1 (mbedtls_rsa_gen_key takes an int).
 * IOTLS_OK or IOTLS_ERR_BAD_ARG. */
int iotls__common_rsa_keygen_check(unsigned bits, uint32_t exponent);

#define IOTLS_COMMON_MAX_SAN_ENTRIES 16
#define IOTLS_COMMON_MAX_SAN_NAME 253 /* longest DNS name */

/* The opening of iotls_pki_make_cert: checks the arguments, empties
 * cert_pem and works out the validity period (0 in the spec: an hour ago,
 * 30 days on). IOTLS_ERR_BAD_ARG for bad arguments, an empty period or
 * times a time_t cannot hold. */
int iotls__common_cert_start(const iotls_cert_spec *spec, const char *subject_key_pem,
                             const char *issuer_key_pem, const char *issuer_cert_pem,
                             char *cert_pem, size_t cap, int64_t *not_before, int64_t *not_after);
/* A random positive serial (RFC 5280 4.1.2.2 allows 20 bytes), from
 * iotls__random: top bit clear, first byte non-zero so the DER INTEGER is
 * minimal. IOTLS_ERR_RANDOM when the generator fails. */
#define IOTLS_COMMON_SERIAL_LEN 16
int iotls__common_cert_serial(uint8_t serial[IOTLS_COMMON_SERIAL_LEN]);
/* The next item of a comma-separated list (spaces around items ignored):
 * 1 with *item / *item_len set (item_len >= 1) and *cursor moved past it,
 * 0 at the end of the list. */
int iotls__common_list_next(const char **cursor, const char **item, size_t *item_len);

/* The counters of the providers' counting allocators (mem.c; kept in
 * mem.c): each block's size when allocated and when freed, and the
 * totals iotls_crypto_mem_stats reports once the hook is in place. */
void iotls__common_mem_alloc(size_t bytes);
void iotls__common_mem_free(size_t bytes);
void iotls__common_mem_stats(size_t *current, size_t *peak);
void iotls__common_mem_reset_peak(void);

#endif
