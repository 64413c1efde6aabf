/* The configuration struct behind iotls_config (include/iotls/iotls.h).
 * Filled by src/config/config.c (setters, file loading); read-only for the
 * engine, which may share one config between many connections. */
#ifndef IOTLS_SRC_CONFIG_H
#define IOTLS_SRC_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "iotls/config.h"
#include "iotls/features.h"

#define IOTLS_MAX_SUITES 5
#define IOTLS_MAX_GROUPS 3
#define IOTLS_MAX_SIG_ALGS 8
#define IOTLS_MAX_PINS 4
#define IOTLS_MAX_ALPN_WIRE 256
#define IOTLS_DEFAULT_MAX_HANDSHAKE 16384
#define IOTLS_MAX_SERVER_NAME 255
#define IOTLS_MAX_PSK_IDENTITY 128
#define IOTLS_MAX_EXT_PSK 64
#define IOTLS_DEFAULT_TICKET_ROTATION_S 86400u
#define IOTLS_MIN_TICKET_ROTATION_S 60u

/* A build without ALPN or external PSKs (include/iotls/features.h) keeps a
 * byte for their lists, not their room: their setters refuse, and a
 * configuration stays in RAM for as long as its connections (on a device
 * 450 B of the 3.2 KB). */
#if IOTLS_FEATURE_ALPN
#define IOTLS_CONFIG_ALPN_ROOM IOTLS_MAX_ALPN_WIRE
#else
#define IOTLS_CONFIG_ALPN_ROOM 1
#endif
#if IOTLS_FEATURE_EXT_PSK
#define IOTLS_CONFIG_PSK_IDENTITY_ROOM IOTLS_MAX_PSK_IDENTITY
#define IOTLS_CONFIG_EXT_PSK_ROOM IOTLS_MAX_EXT_PSK
#else
#define IOTLS_CONFIG_PSK_IDENTITY_ROOM 1
#define IOTLS_CONFIG_EXT_PSK_ROOM 1
#endif

struct iotls_config {
    uint16_t suites[IOTLS_MAX_SUITES]; /* preference order */
    size_t suite_count;
    uint16_t groups[IOTLS_MAX_GROUPS]; /* preference order */
    size_t group_count;
    uint16_t sig_algs[IOTLS_MAX_SIG_ALGS]; /* CertificateVerify schemes we accept/offer */
    size_t sig_alg_count;
    uint16_t sig_algs_cert[IOTLS_MAX_SIG_ALGS]; /* schemes accepted in certificates */
    size_t sig_alg_cert_count;

    iotls_x509 ca; /* trust anchors */
    int has_ca;
    /* certificates the last iotls_config_set_ca_* call skipped */
    size_t ca_skipped;
    iotls_crl crl; /* iotls_config_set_crl_*: revocation lists; empty: not checked */
    /* A iotls_config_set_crl_* call failed: every chain is refused
     * (IOTLS_ERR_CRL_UNUSABLE) rather than checked without that list. */
    int crl_failed;
    iotls_x509 cert; /* our chain, leaf first */
    iotls_pkey key;
    int has_cert;
    char *key_password; /* iotls_config_set_key_password (heap, wiped), or NULL */
    /* Holders: the application (iotls_config_new) and each blocking-API
     * object made from it; the last iotls_config_free / iotls_free frees. */
    int refs;
    /* What the last failed setter that loads files found wrong: its
     * subject ("CA in memory") and error_why (config.c: enum config_why,
     * 0 when it succeeded; error_errno for a file that cannot be opened).
     * iotls_config_error writes the text into error when asked. */
    char error[320];
    int error_why;
    int error_errno;

    uint8_t alpn[IOTLS_CONFIG_ALPN_ROOM]; /* ProtocolNameList body: len-prefixed names */
    size_t alpn_len;

    int insecure_noverifycert;
    int verify_client; /* IOTLS_VERIFY_CLIENT_* */
    uint8_t pins[IOTLS_MAX_PINS][32];
    size_t pin_count;
    unsigned max_rsa_bits; /* largest RSA modulus in a peer's chain; 0: 4096 */
    int middlebox_compat;

    size_t max_handshake;    /* largest handshake message in or out */
    size_t max_ticket;       /* longest ticket a client offers; 0: IOTLS_SESSION_MAX_TICKET */
    int reassemble_in_place; /* a message spanning records joined in rx: no reasm buffer */
    size_t max_record_plain; /* record size: largest plaintext we receive and send (512..16384) */
    size_t max_record_send;  /* largest plaintext we send (512..16384); 0: the record size */
    uint32_t timeout_ms;
    uint32_t connect_timeout_ms; /* TCP connect; 0: timeout_ms */

    iotls_keylog_fn keylog;
    void *keylog_arg;
    iotls_trace_fn trace;
    void *trace_arg;
    iotls_ticket_fn ticket_cb;
    void *ticket_arg;
    iotls_sni_fn sni_cb;
    void *sni_arg;

    /* Server: send a cookie in the HelloRetryRequest (iotls_config_set_hrr_cookie;
     * off: the connection keeps the state), and the HMAC key that seals it
     * (cookie.c), one for every connection of the config. */
    int hrr_cookie;
    uint8_t cookie_key[32];
    int has_cookie_key;

    /* Server: NewSessionTickets sent after each handshake (0: none), and
     * the 48-byte ticket master secret (as set by
     * iotls_config_set_ticket_key; has_ticket_key says it is). Stateless: the ticket carries
     * the resumption PSK, nothing is stored. The AES-256-GCM key and key
     * name that seal a ticket are derived from the master for the rotation
     * period floor(now_ms / (ticket_rotation_s * 1000)) (ticket.c), so
     * processes sharing the master rotate in step without talking. */
    unsigned ticket_count;
    uint32_t ticket_lifetime; /* seconds; the engine sends at most ticket_rotation_s */
    uint8_t ticket_master[48];
    int has_ticket_key;
    uint32_t ticket_rotation_s; /* seconds; 0: IOTLS_DEFAULT_TICKET_ROTATION_S */
    iotls_psk_ke_mode psk_ke;

    /* One external (provisioned) PSK (RFC 8446 2.2): its identity, key and
     * the hash of the suites it may be used with. */
    uint8_t ext_psk_identity[IOTLS_CONFIG_PSK_IDENTITY_ROOM];
    size_t ext_psk_identity_len;
    uint8_t ext_psk[IOTLS_CONFIG_EXT_PSK_ROOM];
    size_t ext_psk_len;
    iotls_hash_alg ext_psk_hash;
    int has_ext_psk;

    /* Records sealed under one write key before we send a KeyUpdate (0:
     * the AEAD's limit, see iotls__config_key_update_limit). */
    uint64_t key_update_limit;

    /* Server 0-RTT (RFC 8446 4.2.10, 8): max_early_data_size put in
     * tickets (0: off), the ticket-age window in ms, and the anti-replay
     * callback that remembers ClientHellos (by binder hash) within it. The
     * default store lives in src/config/replay.c; the engine only calls it. */
    uint32_t max_early_data;
    uint32_t early_window_ms;
    iotls_replay_fn early_replay;
    void *early_replay_arg;
    void *default_replay; /* owned by the config (src/config/replay.c) */

    /* Wall clock in ms since the epoch; the engine has none of its own. */
    uint64_t (*now_ms)(void *arg);
    void *now_arg;
};

/* Blocking API objects hold their configuration (config.c). */
void iotls__config_hold(const struct iotls_config *cfg);
/* The configured clock, 0 when none. */
uint64_t iotls__config_now_ms(const struct iotls_config *cfg);

/* Defaults: AES-128-GCM, AES-256-GCM, ChaCha20 suites; x25519, secp256r1,
 * secp384r1; ECDSA P-256/P-384 and RSA-PSS; middlebox compat on. */
void iotls__config_defaults(struct iotls_config *cfg);

/* Records one write key may seal before a KeyUpdate for aead: the
 * configured limit, or the AEAD's own (RFC 8446 5.5). */
uint64_t iotls__config_key_update_limit(const struct iotls_config *cfg, iotls_aead_alg aead);

/* Suite → its hash and AEAD (0 / NONE when unknown). */
iotls_hash_alg iotls__suite_hash(uint16_t suite);
iotls_aead_alg iotls__suite_aead(uint16_t suite);

#endif
