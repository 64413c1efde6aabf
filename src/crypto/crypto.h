/* The crypto provider: every primitive the protocol needs, as small functions.
 *
 * The core never calls a crypto library directly; it calls these. A provider
 * implements them: src/crypto/mbedtls/ (Mbed TLS 2.28 and 3.6) or
 * src/crypto/openssl/ (OpenSSL's libcrypto), chosen by the build
 * (IOTLS_CRYPTO), each with the library-independent code in
 * src/crypto/common/. The provider defines the context structs in its
 * "crypto_backend.h", which the build puts on the include path. All functions return IOTLS_OK or a
 * negative iotls error code (IOTLS_ERR_CRYPTO for a library failure unless stated). Contexts are
 * plain structs embedded in the connection; *_free wipes them. */
#ifndef IOTLS_CRYPTO_H
#define IOTLS_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "crypto_backend.h"
#include "iotls/pki.h"
#include "iotls/config.h"

#define IOTLS_MAX_HASH_LEN 48
#define IOTLS_MAX_AEAD_KEY_LEN 32
#define IOTLS_AEAD_NONCE_LEN 12
/* The largest AEAD tag (16 bytes: every suite but TLS_AES_128_CCM_8_SHA256,
 * whose tag is 8). Buffers are sized with it; the record layer uses the
 * suite's own length, iotls__aead_tag_len(). */
#define IOTLS_AEAD_TAG_LEN 16
#define IOTLS_MAX_KEX_PUBLIC_LEN 97 /* uncompressed secp384r1 point */
#define IOTLS_MAX_KEX_SECRET_LEN 48
#define IOTLS_MAX_SIGNATURE_LEN 512 /* RSA-4096 */

/* ---- Hash with cheap snapshots (for the transcript) ---- */

typedef enum {
    IOTLS_HASH_NONE = 0,
    IOTLS_HASH_SHA256 = 1,
    IOTLS_HASH_SHA384 = 2,
    IOTLS_HASH_SHA512 = 3, /* signatures only */
} iotls_hash_alg;

size_t iotls__hash_len(iotls_hash_alg alg); /* 0 for NONE/unknown */

/* iotls_hash_ctx is defined by the backend. A zero-filled ctx is "empty";
 * iotls__hash_free on an empty ctx is a no-op. */
int iotls__hash_init(iotls_hash_ctx *ctx, iotls_hash_alg alg);
int iotls__hash_update(iotls_hash_ctx *ctx, const uint8_t *data, size_t len);
/* The digest of everything so far; ctx stays usable (the transcript needs
 * Hash(CH..SH), then Hash(CH..SF), ...). */
int iotls__hash_snapshot(const iotls_hash_ctx *ctx, uint8_t *out);
/* dst becomes an independent copy of src (dst must be empty or freed). */
int iotls__hash_clone(iotls_hash_ctx *dst, const iotls_hash_ctx *src);
void iotls__hash_free(iotls_hash_ctx *ctx);
/* One-shot. */
int iotls__hash(iotls_hash_alg alg, const uint8_t *data, size_t len, uint8_t *out);

/* ---- HMAC and HKDF (RFC 2104, RFC 5869) ---- */

int iotls__hmac(iotls_hash_alg alg, const uint8_t *key, size_t key_len, const uint8_t *data,
                size_t len, uint8_t *out);
/* salt may be NULL/0 (then HashLen zeros, per RFC 5869); ikm may be NULL/0. */
int iotls__hkdf_extract(iotls_hash_alg alg, const uint8_t *salt, size_t salt_len,
                        const uint8_t *ikm, size_t ikm_len, uint8_t *prk_out);
int iotls__hkdf_expand(iotls_hash_alg alg, const uint8_t *prk, size_t prk_len, const uint8_t *info,
                       size_t info_len, uint8_t *out, size_t out_len);

/* Constant-time comparison: 0 when equal. Not a library call, but lives here
 * so every secret comparison goes through one place. */
int iotls__ct_memcmp(const void *a, const void *b, size_t len);
/* Wipe memory the compiler may not optimise away (mbedtls_platform_zeroize). */
void iotls__wipe(void *p, size_t len);

/* ---- AEAD (RFC 5116) ---- */

typedef enum {
    IOTLS_AEAD_NONE = 0,
    IOTLS_AEAD_AES_128_GCM = 1,
    IOTLS_AEAD_AES_256_GCM = 2,
    IOTLS_AEAD_CHACHA20_POLY1305 = 3,
    IOTLS_AEAD_AES_128_CCM = 4,   /* RFC 8446 B.4, 16-byte tag */
    IOTLS_AEAD_AES_128_CCM_8 = 5, /* RFC 8446 B.4, 8-byte tag */
} iotls_aead_alg;

size_t iotls__aead_key_len(iotls_aead_alg alg); /* 16 or 32; 0 unknown */
size_t iotls__aead_tag_len(iotls_aead_alg alg); /* 16, or 8 for CCM_8; 0 unknown */

int iotls__aead_init(iotls_aead_ctx *ctx, iotls_aead_alg alg, const uint8_t *key, size_t key_len);
/* out receives in_len bytes of ciphertext followed by the tag
 * (iotls__aead_tag_len of the context's algorithm); out may equal in (in
 * place). */
int iotls__aead_seal(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out);
/* in is ciphertext||tag (in_len >= tag length); out receives in_len - tag
 * length bytes;
 * out may equal in. A bad tag returns IOTLS_ERR_BAD_RECORD_MAC and out is
 * wiped. */
int iotls__aead_open(iotls_aead_ctx *ctx, const uint8_t nonce[IOTLS_AEAD_NONCE_LEN],
                     const uint8_t *aad, size_t aad_len, const uint8_t *in, size_t in_len,
                     uint8_t *out);
void iotls__aead_free(iotls_aead_ctx *ctx);
/* An idle connection's context (iotls_conn_release_buffers): gives back
 * what the library allocated for it and keeps only what rebuilds it, which
 * the next seal or open does (IOTLS_ERR_NO_MEMORY when it cannot). The
 * OpenSSL provider frees its EVP_CIPHER_CTXs, 1.2 KiB per context, and
 * keeps the key; Mbed TLS and PSA keep their contexts (a no-op: see
 * their aead.c). */
void iotls__aead_park(iotls_aead_ctx *ctx);

/* ---- Key exchange (TLS 1.3 key_share) ---- */

typedef enum {
    IOTLS_GROUP_SECP256R1 = 0x0017,
    IOTLS_GROUP_SECP384R1 = 0x0018,
    IOTLS_GROUP_X25519 = 0x001D,
} iotls_group;

int iotls__kex_supported(uint16_t group); /* 1 when the backend has it */
/* Generates a fresh key pair; pub receives the key_share encoding: 32 bytes
 * for X25519, the uncompressed point 0x04||X||Y for the NIST curves. */
int iotls__kex_generate(iotls_kex_ctx *ctx, uint16_t group, uint8_t *pub, size_t pub_cap,
                        size_t *pub_len);
/* Computes the shared secret with the peer's key_share. Rejects with
 * IOTLS_ERR_ILLEGAL_PARAMETER: wrong length, a point not on the curve, a
 * compressed point, low-order points and an all-zero X25519 result. secret
 * receives 32 (X25519, P-256) or 48 (P-384) bytes. */
int iotls__kex_derive(iotls_kex_ctx *ctx, const uint8_t *peer, size_t peer_len, uint8_t *secret,
                      size_t secret_cap, size_t *secret_len);
void iotls__kex_free(iotls_kex_ctx *ctx);
/* Tests only (known-answer vectors): like iotls__kex_generate, but with the
 * given private key (X25519: 32 bytes as in RFC 7748, clamped here; NIST
 * curves: the big-endian scalar). IOTLS_ERR_BAD_ARG for a bad length or an
 * out-of-range scalar. */
int iotls__kex_set_private(iotls_kex_ctx *ctx, uint16_t group, const uint8_t *priv, size_t len,
                           uint8_t *pub, size_t pub_cap, size_t *pub_len);

/* ---- Randomness ---- */

/* Fills out from the provider's CTR-DRBG (seeded from the platform entropy
 * source on first use). IOTLS_ERR_RANDOM on failure. */
int iotls__random(uint8_t *out, size_t len);
/* Tests and fuzzers only: replace the generator with a deterministic one
 * (fn == NULL restores the real one). */
typedef int (*iotls_random_fn)(void *arg, uint8_t *out, size_t len);
void iotls__random_override(iotls_random_fn fn, void *arg);

/* ---- Signature schemes (RFC 8446 section 4.2.3 code points) ---- */

enum {
    IOTLS_SIG_RSA_PKCS1_SHA256 = 0x0401,
    IOTLS_SIG_RSA_PKCS1_SHA384 = 0x0501,
    IOTLS_SIG_RSA_PKCS1_SHA512 = 0x0601,
    IOTLS_SIG_ECDSA_SECP256R1_SHA256 = 0x0403,
    IOTLS_SIG_ECDSA_SECP384R1_SHA384 = 0x0503,
    IOTLS_SIG_RSA_PSS_RSAE_SHA256 = 0x0804,
    IOTLS_SIG_RSA_PSS_RSAE_SHA384 = 0x0805,
    IOTLS_SIG_RSA_PSS_RSAE_SHA512 = 0x0806,
};

/* ---- Private keys ---- */

/* iotls_pkey is defined by the backend (wraps mbedtls_pk_context). */
void iotls__pkey_init(iotls_pkey *key);
/* PEM or DER, optionally encrypted (password may be NULL). */
int iotls__pkey_load_file(iotls_pkey *key, const char *path, const char *password);
/* Why the last iotls_pkey_load_* into key failed (what the crypto library
 * told), for the text of iotls_config_error. */
enum iotls_pkey_why {
    IOTLS_PKEY_WHY_NONE = 0,
    IOTLS_PKEY_WHY_FORMAT = 1,          /* not a private key in PEM or DER */
    IOTLS_PKEY_WHY_PASSWORD_NEEDED = 2, /* encrypted, and no password given */
    IOTLS_PKEY_WHY_PASSWORD_WRONG = 3,  /* encrypted, the password does not open it */
    IOTLS_PKEY_WHY_CIPHER = 4,          /* encrypted with a scheme the library lacks */
};
int iotls__pkey_load_why(const iotls_pkey *key);
int iotls__pkey_load_mem(iotls_pkey *key, const uint8_t *data, size_t len, const char *password);
/* 1 when key can produce scheme in TLS 1.3 CertificateVerify (ECDSA curve
 * must match; RSA keys do PSS; PKCS#1 v1.5 never for CertificateVerify). */
int iotls__pkey_can_sign(const iotls_pkey *key, uint16_t scheme);
/* Hashes msg with the scheme's hash and signs it. */
int iotls__pkey_sign(iotls_pkey *key, uint16_t scheme, const uint8_t *msg, size_t msg_len,
                     uint8_t *sig, size_t sig_cap, size_t *sig_len);
void iotls__pkey_free(iotls_pkey *key);

/* ---- Certificates ---- */

/* iotls_x509 is a chain of parsed certificates (wraps mbedtls_x509_crt):
 * used for our own chain, for trust anchors, and for the peer's chain. */
void iotls__x509_init(iotls_x509 *chain);
/* Append every certificate in a PEM or DER file / buffer, all or none. */
int iotls__x509_load_file(iotls_x509 *chain, const char *path);
int iotls__x509_load_mem(iotls_x509 *chain, const uint8_t *data, size_t len);
/* Trust anchors, as TLS libraries load system bundles: a certificate iotls
 * cannot use (one that does not parse, or whose key is neither RSA nor EC,
 * such as an Ed25519 root) is skipped and counted in *skipped (may be NULL)
 * rather than failing the bundle; IOTLS_ERR_BAD_CERTIFICATE only when
 * nothing was loaded. A directory: every regular file in it, a file without
 * any usable certificate (a README, a CRL) counting as one skipped. */
int iotls__x509_load_anchors_file(iotls_x509 *chain, const char *path, size_t *skipped);
int iotls__x509_load_anchors_mem(iotls_x509 *chain, const uint8_t *data, size_t len,
                                 size_t *skipped);
int iotls__x509_load_dir(iotls_x509 *chain, const char *dir, size_t *skipped);
/* Append one DER certificate (copied). IOTLS_ERR_BAD_CERTIFICATE if
 * unparsable. */
int iotls__x509_add_der(iotls_x509 *chain, const uint8_t *der, size_t len);
size_t iotls__x509_count(const iotls_x509 *chain);
/* View of the DER of certificate i (0 = first added: the leaf). */
int iotls__x509_der(const iotls_x509 *chain, size_t i, const uint8_t **der, size_t *len);
void iotls__x509_free(iotls_x509 *chain);

/* ---- Certificate revocation lists ----
 *
 * iotls_crl is defined by the backend: the CRLs of one configuration, as
 * the library parsed them (PEM, one or more per file, or DER). */
void iotls__crl_init(iotls_crl *crls);
/* Appends every CRL of a file / buffer, all or none: IOTLS_ERR_KEY_LOAD
 * when the file cannot be read, IOTLS_ERR_BAD_CERTIFICATE when it holds
 * anything that is not a CRL (or nothing), IOTLS_ERR_UNSUPPORTED when the
 * library was built without CRL support. */
int iotls__crl_load_file(iotls_crl *crls, const char *path);
int iotls__crl_load_mem(iotls_crl *crls, const uint8_t *data, size_t len);
size_t iotls__crl_count(const iotls_crl *crls);
void iotls__crl_free(iotls_crl *crls);

/* What the peer's chain must satisfy. */
typedef struct {
    const iotls_x509 *trust; /* CA certificates; required */
    const char *host;        /* DNS name or IP literal; NULL skips the name check */
    int is_server_cert;      /* 1: check serverAuth EKU/KU; 0: clientAuth */
    int64_t now;             /* Unix time for the validity check; 0 = system clock */
    unsigned max_rsa_bits;   /* largest RSA modulus; 0 = IOTLS_RSA_DEFAULT_MAX_BITS */
    /* CRLs; NULL or empty: no revocation check. With some, the leaf's
     * issuer must have one (a CRL of another CA alone would check
     * nothing), and every other certificate of the chain is checked
     * against its issuer's CRL when one is loaded. A CRL that does not
     * verify with its CA's key, is past its nextUpdate or before its
     * thisUpdate fails verification (IOTLS_ERR_CRL_UNUSABLE). The Mbed TLS
     * providers hold a CRL's dates against the system clock whatever now
     * says (the library has no other clock for them); the engine verifies
     * with now = 0, the system clock, in every provider. */
    const iotls_crl *crl;
} iotls_x509_policy;

/* The keys a certificate chain may hold: RSA (rsaEncryption or RSA-PSS)
 * of IOTLS_RSA_MIN_BITS up to a configured maximum (default 4096, at most
 * 8192) with an odd public exponent of 3 to IOTLS_RSA_MAX_EXPONENT, or EC
 * on P-256 / P-384. The bounds exist for the verifier's CPU: an RSA
 * public operation costs about (modulus bits)^2 x (exponent bits), and a
 * peer picks both (an 8192-bit modulus with exponent N-2 costs some 0.4 s
 * per certificate on a 2-core x86 VM, minutes on an ESP32). 65537 is what
 * CAs use; Go's crypto/rsa refuses exponents above 2^31-1 too. */
#define IOTLS_RSA_MIN_BITS 2048u
#define IOTLS_RSA_DEFAULT_MAX_BITS 4096u
#define IOTLS_RSA_MAX_MAX_BITS 8192u
#define IOTLS_RSA_MAX_EXPONENT 0x7fffffffu /* 2^31 - 1 */

/* IOTLS_ERR_CERT_KEY_REFUSED when any certificate of chain (leaf and every
 * other one, as presented) has a key outside that profile, with
 * max_rsa_bits (0: the default) as the RSA maximum; IOTLS_OK otherwise.
 * Reads the keys only: no signature work, so it runs before any. The
 * words for a refusal come from iotls__x509_verify_explain. */
int iotls__x509_check_keys(const iotls_x509 *chain, unsigned max_rsa_bits);

/* Verifies chain (leaf first, as sent): first its keys
 * (iotls__x509_check_keys, before any signature), then the path up to a
 * trust anchor, validity period, key usage / extended key usage, and host
 * name (DNS SAN, IP SAN, or CN when no SAN). Returns the specific error:
 * IOTLS_ERR_CERT_KEY_REFUSED, IOTLS_ERR_CERT_UNKNOWN_CA,
 * IOTLS_ERR_CERT_EXPIRED, IOTLS_ERR_CRL_UNUSABLE, IOTLS_ERR_CERT_REVOKED
 * (in that order: a verdict from an unusable CRL is not trusted),
 * IOTLS_ERR_CERT_HOSTNAME,
 * IOTLS_ERR_UNSUPPORTED_CERTIFICATE (usage), IOTLS_ERR_BAD_CERTIFICATE (other).
 * The verdict alone: it writes no text, so that the handshake, which
 * runs it, does not link the words explaining a refusal. */
int iotls__x509_verify(const iotls_x509 *chain, const iotls_x509_policy *policy);
/* The same verification and the same verdict, with a short text
 * explaining a refusal in detail ("" when verified; for a revocation it
 * names the revoked certificate's subject and serial). For whoever asks
 * why (iotls_conn_error_detail, tools); detail may be NULL. */
int iotls__x509_verify_explain(const iotls_x509 *chain, const iotls_x509_policy *policy,
                               char *detail, size_t detail_cap);
/* Verifies a signature made with the leaf's public key (chain index 0).
 * IOTLS_ERR_DECRYPT_ERROR when it does not verify,
 * IOTLS_ERR_ILLEGAL_PARAMETER when scheme does not fit the key. */
int iotls__x509_verify_signature(const iotls_x509 *chain, uint16_t scheme, const uint8_t *msg,
                                 size_t msg_len, const uint8_t *sig, size_t sig_len);
/* 1 when the leaf's key type matches scheme (ECDSA curve, RSA). */
int iotls__x509_key_fits(const iotls_x509 *chain, uint16_t scheme);
/* SHA-256 of the leaf's SubjectPublicKeyInfo DER (for pinning). */
int iotls__x509_spki_sha256(const iotls_x509 *chain, uint8_t out[32]);
/* Printable subject DN of certificate i ("CN=device-1, O=..."). */
int iotls__x509_subject(const iotls_x509 *chain, size_t i, char *out, size_t cap);
/* Printable issuer DN of certificate i. */
int iotls__x509_issuer(const iotls_x509 *chain, size_t i, char *out, size_t cap);
/* Validity period of certificate i in seconds since the epoch (UTC). */
int iotls__x509_validity(const iotls_x509 *chain, size_t i, int64_t *not_before,
                         int64_t *not_after);
/* Base64 (RFC 4648, padded) through the crypto library: decode in_len
 * characters (IOTLS_ERR_DECODE when they are not base64), encode into a
 * NUL-ended string. */
int iotls__base64_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, size_t *out_len);
int iotls__base64_encode(const uint8_t *in, size_t in_len, char *out, size_t cap);
/* What iotls__x509_verify's verdict err was about, for a person reading
 * it: for an expired / not yet valid certificate, which one and its
 * validity against now (seconds since the epoch; 0: the system clock); for
 * an unknown CA, the subject and issuer of the topmost certificate sent,
 * the one that did not chain. Empty for other verdicts. */
void iotls__x509_explain(const iotls_x509 *chain, int err, int64_t now, char *out, size_t cap);
/* The leaf's subjectAltNames as "DNS:a, DNS:b, IP:1.2.3.4" (empty if none). */
int iotls__x509_sans(const iotls_x509 *chain, char *out, size_t cap);
/* Short description of the leaf's key, e.g. "ECDSA P-256", "RSA-2048". */
int iotls__x509_key_desc(const iotls_x509 *chain, size_t i, char *out, size_t cap);
/* Does our own certificate's key pair with key (sanity check at config)?
 * 1 when it does, 0 otherwise (not an error code). */
int iotls__x509_matches_key(const iotls_x509 *chain, const iotls_pkey *key);

/* ---- Throwaway PKI (demo and tests) ----
 * iotls_pki_make_key / iotls_pki_make_cert and iotls_cert_describe are
 * public (include/iotls/pki.h); the provider implements them. */
/* An RSA key of bits (1024..8192, even) with public exponent exponent (odd,
 * 3..2^31-1), as PEM into key_pem (NUL-ended): for the benchmark of the key
 * limits above, which needs keys no public helper should make. */
int iotls__pki_make_rsa_key(unsigned bits, uint32_t exponent, char *key_pem, size_t cap);

/* ---- Allocation accounting (benchmarks, docs/memory.md) ---- */

/* Bytes currently and at most allocated through the crypto library since the
 * last reset; 0/0 when the backend cannot count. */
void iotls_crypto_mem_stats(size_t *current, size_t *peak);
void iotls__crypto_mem_reset_peak(void);
/* The same for the calling thread alone (src/crypto/common/mem_common.c):
 * the peak of what this thread allocated through the crypto library above
 * what it held at the reset; 0 when the backend cannot count. */
void iotls__crypto_mem_thread_reset(void);
size_t iotls__crypto_mem_thread_peak(void);

/* iotls_crypto_backend_name() ("mbedTLS 2.28.3") is public:
 * include/iotls/config.h. */

#endif
