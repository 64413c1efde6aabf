/* The part of the iotls API that the sans-I/O engine shares with the
 * blocking API: the configuration, trace events, tickets and what was
 * negotiated. Freestanding: it includes only <stddef.h> and <stdint.h>, so
 * the engine (src/), which includes this header and never
 * include/iotls/iotls.h, builds with no OS header (tools/size-report.sh
 * checks it). Applications include iotls/iotls.h (all of it) or
 * iotls/engine.h (the engine and this). */
#ifndef IOTLS_CONFIG_H
#define IOTLS_CONFIG_H

#include "iotls/api.h"

#include <stddef.h>
#include <stdint.h>

#include "iotls/error.h"
#include "iotls/features.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOTLS_VERSION "0.1.0"

/* Cipher suites (RFC 8446 B.4). */
#define IOTLS_TLS_AES_128_GCM_SHA256 0x1301
#define IOTLS_TLS_AES_256_GCM_SHA384 0x1302
#define IOTLS_TLS_CHACHA20_POLY1305_SHA256 0x1303
/* The CCM suites (RFC 8446 B.4; the IoT profiles' choice where AES is in
 * hardware and GCM's multiplier is not). Never on by default: enable them
 * with iotls_config_set_ciphers. CCM_8 has an 8-byte tag (docs/memory.md
 * says what that costs in security and saves on the wire). */
#define IOTLS_TLS_AES_128_CCM_SHA256 0x1304
#define IOTLS_TLS_AES_128_CCM_8_SHA256 0x1305

typedef struct iotls_config iotls_config;
typedef struct iotls_conn iotls_conn; /* sans-I/O engine connection */
typedef struct iotls iotls;           /* blocking connection (engine + socket) */

/* ---------------- Configuration ---------------- */

IOTLS_API iotls_config *iotls_config_new(void);
/* The application lets go of cfg. Blocking-API objects made from it
 * (iotls_client_new, iotls_server_new, iotls_accept) hold it until their
 * iotls_free, so it may be freed while they live; the last one frees it.
 * An engine connection (iotls_conn_init) only refers to it: keep cfg until
 * iotls_conn_free. Do not change a configuration connections use. */
IOTLS_API void iotls_config_free(iotls_config *cfg);

/* Trust anchors for verifying the peer (PEM or DER file; directory of them). */
IOTLS_API int iotls_config_set_ca_file(iotls_config *cfg, const char *path);
IOTLS_API int iotls_config_set_ca_dir(iotls_config *cfg, const char *dir);
IOTLS_API int iotls_config_set_ca_mem(iotls_config *cfg, const uint8_t *pem, size_t len);
/* A bundle is loaded as other TLS libraries load system bundles: a
 * certificate iotls cannot use (it does not parse, or its key is neither
 * RSA nor EC, such as an Ed25519 root) is skipped, the others are loaded;
 * the call fails only when nothing usable was found. This returns how many
 * the last iotls_config_set_ca_* call skipped (for a directory, also each
 * file without any certificate, such as a README). */
IOTLS_API size_t iotls_config_ca_skipped(const iotls_config *cfg);
/* Certificate revocation lists (PEM, one or more per file, or DER); each
 * call adds to those loaded before. With any loaded, a peer certificate
 * listed by its issuer's CRL is refused (IOTLS_ERR_CERT_REVOKED, alert
 * certificate_revoked), and IOTLS_ERR_CRL_UNUSABLE (alert
 * certificate_unknown) refuses a chain when the leaf's issuer has no CRL
 * loaded, or its CRL is past its nextUpdate (or before its thisUpdate), or
 * does not verify with the CA's key. CAs above the leaf are checked
 * against their issuer's CRL when one is loaded. A failed call
 * (IOTLS_ERR_KEY_LOAD, detail in iotls_config_error; IOTLS_ERR_UNSUPPORTED
 * when the crypto library was built without CRL support) keeps the CRLs loaded
 * before and makes the configuration refuse every certificate chain, so a
 * missed error cannot let revoked devices in. docs/api.md has the policy. */
IOTLS_API int iotls_config_set_crl_file(iotls_config *cfg, const char *path);
IOTLS_API int iotls_config_set_crl_mem(iotls_config *cfg, const uint8_t *data, size_t len);
/* Our certificate chain (leaf first) and its private key. */
IOTLS_API int iotls_config_set_cert_file(iotls_config *cfg, const char *cert_path,
                                         const char *key_path);
/* Passphrase of an encrypted private key (PEM or PKCS#8), used by the
 * iotls_config_set_cert_* calls that follow; copied, wiped when replaced or
 * freed. NULL: none. */
IOTLS_API int iotls_config_set_key_password(iotls_config *cfg, const char *password);
/* Why the last failed call that loads certificates, keys or CAs failed, as
 * one line naming the file and the cause (not found and the system's
 * reason, not PEM or DER, encrypted without or with a wrong passphrase,
 * certificate and key not belonging together); "" when it succeeded. As
 * libtls' tls_config_error. The words are made here, the first time they
 * are asked for, and kept in the configuration: call it where its setters
 * are called, not while another thread uses the same function or a setter
 * on the same configuration. */
IOTLS_API const char *iotls_config_error(const iotls_config *cfg);
IOTLS_API int iotls_config_set_cert_mem(iotls_config *cfg, const uint8_t *cert_pem, size_t cert_len,
                                        const uint8_t *key_pem, size_t key_len);
/* "h2,http/1.1": offered (client) or accepted in our preference (server). */
IOTLS_API int iotls_config_set_alpn(iotls_config *cfg, const char *list);
/* "x25519,secp256r1,secp384r1" (also "P-256", "P-384"): preference order.
 * The client sends a key share for the first one. */
IOTLS_API int iotls_config_set_groups(iotls_config *cfg, const char *list);
/* "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256" (':' or ','),
 * also short names "aes128gcm", "aes256gcm", "chacha20". The CCM suites
 * are only used when listed here: "TLS_AES_128_CCM_SHA256" ("aes128ccm"),
 * "TLS_AES_128_CCM_8_SHA256" ("aes128ccm8"). */
IOTLS_API int iotls_config_set_ciphers(iotls_config *cfg, const char *list);
/* Server: ask clients for a certificate signed by the configured CA (or
 * matching a pin). An external PSK authenticates the client by itself: a
 * client that completes a handshake with it is never asked for a
 * certificate, whatever the mode. A resumed connection carries the client
 * identity sealed in its ticket (iotls_info.peer_auth
 * IOTLS_PEER_AUTH_RESUMED); with REQUIRED, a ticket issued to a client that
 * did not authenticate (by a server of another policy sharing the ticket
 * key, or this one before the policy changed) is not resumed: a full
 * handshake asks for a certificate. */
#define IOTLS_VERIFY_CLIENT_NONE 0
#define IOTLS_VERIFY_CLIENT_OPTIONAL 1
#define IOTLS_VERIFY_CLIENT_REQUIRED 2
IOTLS_API int iotls_config_set_verify_client(iotls_config *cfg, int mode);
/* Pin the peer leaf's SubjectPublicKeyInfo SHA-256: 64 hex digits (colons
 * between bytes allowed), or curl's "sha256//BASE64". Several pins may be
 * added; one must match. */
IOTLS_API int iotls_config_add_pin_sha256(iotls_config *cfg, const char *hex);
/* DANGER: turns off verification of the peer's certificate chain and name,
 * which lets anyone in the middle read and change the traffic. The name is
 * long on purpose; every connection made with it prints a warning. */
IOTLS_API int iotls_config_insecure_noverifycert(iotls_config *cfg);
/* Middlebox compatibility mode (RFC 8446 D.4): on by default. */
IOTLS_API int iotls_config_set_middlebox_compat(iotls_config *cfg, int on);
/* Server: send a cookie in the HelloRetryRequest (RFC 8446 4.2.2), off by
 * default. Off, the connection keeps what the second ClientHello is checked
 * against (both ClientHellos arrive on the same connection). On, the
 * HelloRetryRequest is stateless: an HMAC-sealed cookie carries it, at the
 * cost of interop: some clients (Mbed TLS 4.0) refuse a cookie they did not
 * send. docs/api.md says why it is kept. */
IOTLS_API int iotls_config_set_hrr_cookie(iotls_config *cfg, int on);
/* Blocking API timeout for connect, handshake, read and write, in ms. 0:
 * reads and writes wait as long as it takes, connect and handshake give up
 * after 30 s (a silent peer never blocks a handshake forever). */
IOTLS_API int iotls_config_set_timeout_ms(iotls_config *cfg, uint32_t ms);
/* The TCP connect of iotls_connect alone, in ms (0, the default: the
 * timeout above). */
IOTLS_API int iotls_config_set_connect_timeout_ms(iotls_config *cfg, uint32_t ms);
/* Largest handshake message accepted (a Certificate chain over 16 KiB needs
 * more than the 16 KiB default); from 512 to 262144. It sizes the buffer
 * that reassembles a message spanning records: a device that only resumes
 * or uses an external PSK receives no Certificate and can go as low as
 * 1024 (a refused ticket then fails with HANDSHAKE_TOO_LARGE when the
 * server's chain does not fit; docs/memory.md). */
IOTLS_API int iotls_config_set_max_handshake_size(iotls_config *cfg, size_t bytes);
/* Client: the longest session ticket it offers, from 1 to
 * IOTLS_SESSION_MAX_TICKET (4096, the default). The send buffer keeps
 * room for the ClientHello with a ticket of the smaller of this and the max
 * handshake size: a device that resumes with its own gateway's tickets,
 * whose size it knows, need not keep 4 KiB for a ticket. A saved session
 * with a longer ticket is refused, IOTLS_ERR_SESSION_INVALID (a full
 * handshake instead). IOTLS_ERR_CONFIG out of range. */
IOTLS_API int iotls_config_set_max_ticket_size(iotls_config *cfg, size_t bytes);
/* on = 1: no buffer of its own for a handshake message that spans records
 * (max_handshake bytes less per connection): it is reassembled in the
 * record buffer, as Mbed TLS does. Its first part stays at the front, the
 * next record is received behind it and its payload joined to it. The
 * limit this brings: the first part plus the whole record that continues
 * it must fit one record of the record size (iotls_config_set_record_size,
 * plus the record's 22 bytes of overhead), else IOTLS_ERR_REASSEMBLY_ROOM
 * (internal_error); a message longer than that record is
 * IOTLS_ERR_HANDSHAKE_TOO_LARGE, as over max_handshake. A peer that fills
 * its records up to our limit cannot make a message span records then:
 * fine for a small flight, refused for a chain longer than a record
 * (docs/memory.md, "Reassembly in rx"). Default 0: a buffer of
 * max_handshake bytes, any record layout. */
IOTLS_API int iotls_config_set_reassemble_in_place(iotls_config *cfg, int on);
/* Largest RSA modulus (bits) accepted in the peer's certificate chain, from
 * 2048 to 8192; default 4096. Every certificate the peer presents is
 * checked before any signature work, whether or not the chain is verified
 * (pinning, iotls_config_insecure_noverifycert): RSA keys of 2048 bits up
 * to this size with an odd public exponent of at most 2^31-1, or EC keys on
 * P-256 / P-384. Anything else is IOTLS_ERR_CERT_KEY_REFUSED
 * (unsupported_certificate). The bounds cap the CPU a peer can make us
 * spend on its chain (docs/malformed-input.md). */
IOTLS_API int iotls_config_set_max_rsa_bits(iotls_config *cfg, unsigned bits);
/* Largest record plaintext this side wants to receive and will send, from
 * 512 to 16384 (the default). Below 16384 the receive buffer shrinks to
 * match: a client announces record_size_limit (RFC 8449) and, for 512, 1024,
 * 2048 or 4096, also max_fragment_length (RFC 6066); a server honours
 * either one from the client and announces its own limit. A peer that
 * ignores them and sends larger records is a record_overflow: use 16384 to
 * talk to every peer. */
IOTLS_API int iotls_config_set_record_size(iotls_config *cfg, size_t bytes);
/* Largest record plaintext this side sends, from 512 to 16384; default:
 * the record size above. Nothing is announced (smaller records are always
 * allowed) and receiving is unchanged: it only shrinks the send buffer,
 * which then holds our handshake flight or one record of this size (ESP-IDF
 * configures Mbed TLS with 16384 in and 4096 out). The peer's
 * record_size_limit or max_fragment_length may lower it further. Larger
 * application writes go out in several records. */
IOTLS_API int iotls_config_set_send_record_size(iotls_config *cfg, size_t bytes);

/* NSS key log lines ("CLIENT_HANDSHAKE_TRAFFIC_SECRET <cr> <secret>"). */
typedef void (*iotls_keylog_fn)(void *arg, const char *line);
IOTLS_API int iotls_config_set_keylog(iotls_config *cfg, iotls_keylog_fn fn, void *arg);

/* Trace of the handshake, for "-v" output and demos. */
enum iotls_event_kind {
    IOTLS_EV_HS_SENT = 1,     /* handshake message sent: hs_type, len */
    IOTLS_EV_HS_RECEIVED = 2, /* handshake message received: hs_type, len */
    IOTLS_EV_KEYS_READ = 3,   /* new read keys: detail "handshake"/"application"/"early" */
    IOTLS_EV_KEYS_WRITE = 4,  /* new write keys */
    IOTLS_EV_ALERT_SENT = 5,  /* alert: value (iotls_alert_name names it; detail NULL) */
    IOTLS_EV_ALERT_RECEIVED = 6,
    IOTLS_EV_CCS_SENT = 7,
    IOTLS_EV_CCS_RECEIVED = 8,
    IOTLS_EV_HANDSHAKE_DONE = 9,
    IOTLS_EV_HRR = 10,           /* HelloRetryRequest sent or received: value = group;
                                  * a server's detail "sent" or "sent with a cookie" */
    IOTLS_EV_CERT_VERIFIED = 11, /* peer chain verified (or skipped, value = 1) */
    IOTLS_EV_KEY_UPDATE = 12,    /* value: 1 sent, 0 received */
};
typedef struct {
    int kind;
    uint8_t hs_type;
    size_t len;
    int value;
    const char *detail;
} iotls_event;
typedef void (*iotls_trace_fn)(void *arg, const iotls_conn *conn, const iotls_event *ev);
IOTLS_API int iotls_config_set_trace(iotls_config *cfg, iotls_trace_fn fn, void *arg);

/* A NewSessionTicket received by a client, handed to the application. */
typedef struct {
    uint32_t lifetime;
    uint32_t age_add;
    uint32_t max_early_data;
    uint16_t cipher_suite;
    const uint8_t *ticket;
    size_t ticket_len;
    const uint8_t *psk; /* resumption PSK derived for this ticket */
    size_t psk_len;
    uint64_t received_ms;    /* config clock when the ticket arrived */
    const char *server_name; /* SNI the connection used ("" none) */
} iotls_ticket;
typedef void (*iotls_ticket_fn)(void *arg, const iotls_conn *conn, const iotls_ticket *t);
IOTLS_API int iotls_config_set_ticket_cb(iotls_config *cfg, iotls_ticket_fn fn, void *arg);

/* Server: NewSessionTickets sent after each handshake (0, the default,
 * sends none). Tickets are stateless, AEAD-sealed under a ticket key that
 * rotates every rotation period. The 48 bytes are a master secret the
 * keys are derived from: random per config at creation, or the one loaded
 * from a file shared by several processes (48 bytes raw or as 96 hex
 * digits). Processes sharing the master and a synchronised clock rotate
 * in step with no coordination (how: docs/architecture.md, "Session
 * resumption"). A client-only build (IOTLS_NO_SERVER, CMake
 * -DIOTLS_SERVER=OFF) draws no master and says IOTLS_ERR_UNSUPPORTED for a
 * count > 0. */
IOTLS_API int iotls_config_set_tickets(iotls_config *cfg, unsigned count);
IOTLS_API int iotls_config_set_ticket_key_file(iotls_config *cfg, const char *path);
IOTLS_API int iotls_config_set_ticket_key(iotls_config *cfg, const uint8_t key[48]);
/* The rotation period in seconds (default 86400, minimum 60: smaller is
 * IOTLS_ERR_BAD_ARG). A ticket sealed in period i opens in periods i and
 * i+1 only (an older or a future key name: full handshake). The lifetime
 * announced in NewSessionTicket (and enforced) is clamped to the period,
 * so every ticket stays usable for its whole lifetime. */
IOTLS_API int iotls_config_set_ticket_rotation(iotls_config *cfg, uint32_t period_s);
/* Resumption without (EC)DHE (psk_ke), iotls_config_set_psk_ke's on. */
typedef enum {
    /* psk_dhe_ke only, the default: psk_ke gives no forward secrecy. */
    IOTLS_PSK_KE_OFF = 0,
    /* Client: psk_ke offered next to psk_dhe_ke; server: accepted. */
    IOTLS_PSK_KE_ALSO = 1,
    /* For devices without ECC: a client offering a PSK offers psk_ke alone
     * and sends no key share (a full handshake is then impossible); a
     * server prefers psk_ke whenever the client offers it. */
    IOTLS_PSK_KE_ONLY = 2,
} iotls_psk_ke_mode;
/* on: an iotls_psk_ke_mode (any other non-zero value is ALSO). */
IOTLS_API int iotls_config_set_psk_ke(iotls_config *cfg, int on);
/* External PSK (RFC 8446 2.2): a provisioned identity (1..128 bytes) and
 * key (16..64 bytes), usable with the suites of cipher_suite's hash
 * (SHA-256 or SHA-384). One per config; a second call replaces it.
 * Client: offered in every ClientHello (unless a saved session is offered
 * instead); the PSK authenticates the server, so no CA is needed, and the
 * handshake fails if the server does not accept it and has no certificate
 * the client can verify. A client with a CA as well needs a server name
 * (or a pin), like any client with a CA: the server may ignore the PSK and
 * present a certificate, which is only accepted with its name checked
 * (IOTLS_ERR_CONFIG at start-up otherwise). Server: a client naming this
 * identity gets a PSK handshake without certificates (psk_dhe_ke, or psk_ke per
 * iotls_config_set_psk_ke); another identity gets a full handshake, or
 * handshake_failure when the server has no certificate. A server with an
 * external PSK needs no certificate. */
IOTLS_API int iotls_config_set_psk(iotls_config *cfg, const uint8_t *identity, size_t identity_len,
                                   const uint8_t *key, size_t key_len, uint16_t cipher_suite);
/* Automatic KeyUpdate (RFC 8446 5.5): once `records` records were sealed
 * under our current write key, a KeyUpdate with update_requested goes out
 * before the next record (so the peer's keys rotate too). 0 (default): the
 * AEAD's limit, 2^24 records for AES-GCM and 2^40 for ChaCha20-Poly1305; a
 * larger value is lowered to it. Small values are for tests. */
IOTLS_API int iotls_config_set_key_update_limit(iotls_config *cfg, uint64_t records);
/* Wall clock for ticket ages and expiry (ms since the epoch). Default:
 * CLOCK_REALTIME. 0 means the time is unknown: a server then resumes no
 * ticket (full handshakes), rather than accept tickets of any age. */
IOTLS_API int iotls_config_set_time_cb(iotls_config *cfg, uint64_t (*now_ms)(void *arg), void *arg);

/* Server: choose the certificate by the client's server_name. Return a
 * config whose cert/key to use (or NULL to keep the default). One without
 * a certificate fails the handshake with IOTLS_ERR_CONFIG and sends the
 * client internal_error. */
typedef const iotls_config *(*iotls_sni_fn)(void *arg, const char *server_name);
IOTLS_API int iotls_config_set_sni_cb(iotls_config *cfg, iotls_sni_fn fn, void *arg);

/* ---------------- 0-RTT early data (RFC 8446 2.3, 4.2.10, 8) ----------------
 *
 * Server: with max_bytes > 0, tickets allow up to max_bytes of early data
 * and a resumed ClientHello's early data is accepted when all hold: the
 * PSK is the client's first identity, same suite and ALPN as the
 * connection that issued the ticket, the ticket age is within the window
 * (default 10 s) of what the server expects, and the anti-replay store has
 * not seen this ticket's 0-RTT within twice the window. Accepted early data
 * is read with iotls_conn_read / iotls_read before the handshake ends.
 * Also installs the default anti-replay store: a ring of recent binder
 * hashes in this process (see docs/early-data.md for what it does NOT
 * cover: several server processes need a shared store). 0 turns 0-RTT off.
 *
 * Early data can be replayed by an attacker (to another server process,
 * or after the window): only send idempotent requests in it. */
#define IOTLS_EARLY_DATA_NONE 0 /* not offered */
#define IOTLS_EARLY_DATA_ACCEPTED 1
#define IOTLS_EARLY_DATA_REJECTED 2 /* offered, not accepted: the client must resend */
IOTLS_API int iotls_config_set_early_data(iotls_config *cfg, uint32_t max_bytes);
/* Anti-replay: return 1 when this key was seen within twice the ticket-age
 * window (and remember it otherwise), 0 when new. The key (binder_hash, 32
 * bytes) is the SHA-256 of the PSK identity (the ticket) of a ClientHello
 * whose early data passed every other check: a replayed ClientHello has the
 * same one. Twice the window, because a copy of one ClientHello passes the
 * age check for up to 2 * window after its first use (docs/early-data.md):
 * a store that forgets sooner lets that copy's early data in again. */
typedef int (*iotls_replay_fn)(void *arg, const uint8_t *binder_hash, size_t len, uint64_t now_ms);
IOTLS_API int iotls_config_set_early_data_replay(iotls_config *cfg, iotls_replay_fn fn, void *arg);
/* Ticket-age window (ms) and the default store's size (entries, each kept
 * twice the window; when all are still kept, further early data is
 * refused). */
IOTLS_API int iotls_config_set_early_data_window(iotls_config *cfg, uint32_t window_ms,
                                                 size_t entries);

/* ---------------- What was negotiated ---------------- */

/* How the peer was authenticated (iotls_info.peer_auth). A client accepts
 * a server certificate only with its name checked (NAME) or a pin matched
 * (PIN): a CA-signed certificate for another name proves nothing. */
enum iotls_peer_auth {
    IOTLS_PEER_AUTH_NONE = 0,    /* not at all: insecure_noverifycert without a pin, a
                                    client that sent no certificate, the handshake not done */
    IOTLS_PEER_AUTH_NAME = 1,    /* server certificate: chain to a trusted CA and the
                                    server name checked (and the pins, if any) */
    IOTLS_PEER_AUTH_PIN = 2,     /* the leaf's SPKI matched a pin, no name checked (the
                                    chain too when a CA is configured, without insecure) */
    IOTLS_PEER_AUTH_CA = 3,      /* client certificate: chain to the server's trusted CA
                                    (a client certificate has no name to check; the
                                    identity: iotls_conn_peer_text / _spki_sha256) */
    IOTLS_PEER_AUTH_PSK = 4,     /* the external PSK */
    IOTLS_PEER_AUTH_RESUMED = 5, /* a ticket: authenticated by the connection that issued
                                    it. Server: the client identity sealed in the ticket
                                    is what iotls_conn_peer_text (subject) and
                                    iotls_conn_peer_spki_sha256 tell */
};
/* "none", "name", "pin", "ca", "psk", "resumed" ("?" otherwise). */
IOTLS_API const char *iotls_peer_auth_name(int peer_auth);

/* What iotls_conn_peer_text / iotls_peer_text format from the peer's leaf
 * certificate, on request (the engine keeps the DER, not the text). */
enum iotls_peer_text_kind {
    IOTLS_PEER_SUBJECT = 0, /* subject DN: "CN=device-1, O=..." */
    IOTLS_PEER_ISSUER = 1,  /* issuer DN */
    IOTLS_PEER_SANS = 2,    /* subjectAltNames: "DNS:a, DNS:b, IP:1.2.3.4" ("" none) */
    IOTLS_PEER_KEY = 3,     /* its key: "ECDSA P-256", "RSA-2048" */
};

typedef struct {
    int handshake_done;
    uint16_t version; /* 0x0304 */
    uint16_t cipher_suite;
    const char *cipher_suite_name;
    uint16_t group; /* 0 for psk_ke */
    const char *group_name;
    uint16_t sig_scheme; /* the peer's CertificateVerify scheme, 0 if none */
    const char *sig_scheme_name;
    uint16_t own_sig_scheme; /* ours, 0 if we sent none */
    const char *alpn;        /* "" when none */
    const char *server_name; /* SNI sent (client) or received (server) */
    int hrr;                 /* a HelloRetryRequest happened */
    int resumed;
    /* 1: the peer's chain was verified to a trusted CA and, for a server's
     * certificate, its name checked; 0 otherwise (none presented, insecure,
     * or a pin alone: see peer_auth). */
    int peer_cert_verified;
    int peer_cert_presented;
    /* Client: we proved a certificate. Server: the client is authenticated
     * by a certificate, in this handshake or (resumed) in the one that
     * issued the ticket. */
    int client_auth;
    int peer_auth; /* enum iotls_peer_auth: how the peer was authenticated */
    /* Certificates in the peer's chain (0: none presented, resumed, PSK).
     * Its names are not here: iotls_info is only what is already known
     * and cheap to copy; iotls_conn_peer_text / iotls_peer_text format
     * them when asked. */
    size_t peer_chain_len;
    /* Counters since the connection started. */
    uint64_t bytes_in, bytes_out; /* on the wire */
    uint64_t records_in, records_out;
    uint32_t flights_in, flights_out; /* handshake flights: round trips */
    int early_data;                   /* IOTLS_EARLY_DATA_* */
    uint32_t early_data_bytes;        /* 0-RTT bytes sent (client) / received (server) */
    int peer_alert;                   /* alert the peer sent, -1 none */
    int alert_sent;                   /* alert we sent, -1 none */
    int external_psk;                 /* authenticated by the external PSK */
    uint32_t key_updates_sent, key_updates_received;
    /* Record plaintext sizes (iotls_config_set_record_size): the largest this
     * side accepts, and the largest it sends (iotls_config_set_send_record_size,
     * or the record size), which the peer's record_size_limit or
     * max_fragment_length may have lowered. */
    uint32_t record_size_in, record_size_out;
} iotls_info;

IOTLS_API const char *iotls_suite_name(uint16_t suite);
IOTLS_API const char *iotls_group_name(uint16_t group);
IOTLS_API const char *iotls_sig_scheme_name(uint16_t scheme);
/* The crypto provider and its library's version, e.g. "mbedTLS 2.28.3". */
IOTLS_API const char *iotls_crypto_backend_name(void);

#ifdef __cplusplus
}
#endif
#endif
