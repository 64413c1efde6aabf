/* Certificates outside the handshake, for demos, tests and tools:
 *  - a throwaway PKI: keys and certificates made in memory by the crypto
 *    provider's library (`iotls demo` makes a CA, a gateway and a device
 *    this way), so a demo or a test needs no openssl command and no files;
 *  - a printable description of a DER certificate (subject, issuer, key),
 *    e.g. for the peer's chain (iotls_conn_peer_cert_der) in a log.
 * Not meant for a device's real credentials: the keys live in the caller's
 * buffers as unencrypted PEM, and the certificates carry only what
 * iotls_cert_spec says. */
#ifndef IOTLS_PKI_H
#define IOTLS_PKI_H

#include "iotls/api.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    IOTLS_KEY_EC_P256 = 1,
    IOTLS_KEY_EC_P384 = 2,
    IOTLS_KEY_RSA_2048 = 3,
} iotls_key_type;

typedef struct {
    const char *subject;   /* "CN=iotls demo CA,O=iotls" */
    const char *dns_names; /* comma-separated DNS SANs, or NULL */
    const char *ip_addrs;  /* comma-separated IPv4 SANs, or NULL */
    int is_ca;
    int for_server;     /* EKU serverAuth */
    int for_client;     /* EKU clientAuth */
    int64_t not_before; /* Unix time; 0 = now - 1 hour */
    int64_t not_after;  /* Unix time; 0 = now + 30 days */
} iotls_cert_spec;

/* Generates a key of type and writes it as PEM into key_pem (NUL-ended). */
IOTLS_API int iotls_pki_make_key(iotls_key_type type, char *key_pem, size_t cap);
/* Issues a certificate for the public half of subject_key_pem, signed by
 * issuer_key_pem with issuer_cert_pem as issuer (both NULL: self-signed).
 * Writes PEM into cert_pem (NUL-ended). */
IOTLS_API int iotls_pki_make_cert(const iotls_cert_spec *spec, const char *subject_key_pem,
                                  const char *issuer_key_pem, const char *issuer_cert_pem,
                                  char *cert_pem, size_t cap);

/* What iotls_cert_describe writes: NUL-ended text, cut to fit. */
typedef struct {
    char subject[256]; /* "CN=device-1, O=..." */
    char issuer[256];
    char key[64];       /* "ECDSA P-256", "RSA-2048" */
    char names[256];    /* subjectAltNames, "DNS:a, IP:b"; "" when none */
    int64_t not_before; /* validity, Unix time; both 0 when unreadable */
    int64_t not_after;
    uint8_t spki_sha256[32]; /* SHA-256 of the SubjectPublicKeyInfo (--pin) */
    char pin_base64[48];     /* the same in base64 ("" when unreadable) */
} iotls_cert_text;

/* Describes one DER certificate. IOTLS_ERR_BAD_CERTIFICATE when it does
 * not parse (out then holds "?" in each field). */
IOTLS_API int iotls_cert_describe(const uint8_t *der, size_t len, iotls_cert_text *out);

#ifdef __cplusplus
}
#endif
#endif
