/* The connection struct and the services the engine driver (conn.c) offers
 * the two handshake state machines (client.c, server.c).
 *
 * Data flow: iotls_conn_input() collects one record at a time in rx, opens
 * it, and dispatches: handshake payloads go through the reassembler and each
 * whole message to iotls__client_handle() / iotls__server_handle() during the
 * handshake, or to the post-handshake handler after; application data stays
 * in rx until the application reads it; alerts and CCS are handled here.
 * The state machines write their messages with
 * iotls__conn_hs_writer()/iotls__conn_hs_commit() into hs_out, the free part
 * of tx behind the queued records, switch keys with
 * iotls_conn_set_*_secret(), and iotls__conn_flush() seals hs_out into
 * records in place. */
#ifndef IOTLS_CONN_H
#define IOTLS_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "client_state.h"
#include "config.h"
#include "crypto/crypto.h"
#include "iotls/engine.h"
#include "keysched.h"
#include "record.h"
#include "server_state.h"
#include "transcript.h"

/* The client identity a server seals into its tickets and gets back from
 * one on resumption: the leaf's SPKI SHA-256 and its printable subject,
 * NUL-ended (what iotls_conn_peer_text tells for it), empty when longer than 255
 * characters. */
#define IOTLS_PEER_SUBJECT_MAX 255
typedef struct {
    uint8_t spki_sha256[32];
    char subject[IOTLS_PEER_SUBJECT_MAX + 1];
} iotls_peer_id;

/* What only the handshake needs: alive from the start (or the first
 * ClientHello) to the handshake's end, when iotls__conn_handshake_complete
 * wipes it all but the role's state number (a client in CONNECTED still
 * takes tickets; both roles keep refusing handshake messages). Each role
 * has its own part, in a union: a connection has one role, and only that
 * role's code (client.c, or server.c and the server's files) touches its
 * part; what conn.c reads for either role is outside the union. */
struct iotls_hs_state {
    /* Server that declined 0-RTT: the client's early records cannot be
     * opened with the handshake keys and are skipped (RFC 8446 4.2.10), up
     * to early_skip_budget bytes. Set by the server's negotiation. */
    bool skip_early_data;
    uint32_t early_skip_budget;
    union {
        struct iotls_client_state cl;
        struct iotls_server_state sv;
    };
};

enum iotls_epoch {
    IOTLS_EPOCH_PLAIN = 0,
    IOTLS_EPOCH_EARLY = 1,
    IOTLS_EPOCH_HANDSHAKE = 2,
    IOTLS_EPOCH_APPLICATION = 3,
};

struct iotls_conn {
    const iotls_config *cfg;
    iotls_role role;
    int error; /* sticky: the first fatal error */
    void *user;

    /* ---- buffers: a block of their own, NULL while detached (conn_buffers.c) ---- */
    uint8_t *rx; /* one record being received / opened */
    size_t rx_cap;
    size_t rx_len;        /* bytes of the current record received so far */
    const uint8_t *app;   /* decrypted application data inside rx */
    size_t app_len;       /* bytes not yet read by the application */
    bool rx_hold;         /* rx holds an opened record whose data is unread */
    iotls_hs_reasm reasm; /* incoming handshake messages */
    /* Our handshake messages before sealing: built in the free part of tx,
     * right behind the queued records, and sealed there in place (no
     * buffer of their own; NULL until the first message of a flight). */
    uint8_t *hs_out;
    size_t hs_out_cap;
    size_t hs_out_len;
    uint8_t *tx; /* records ready to send */
    size_t tx_cap;
    size_t tx_len;
    size_t tx_pos; /* bytes already taken by the transport */
    /* The buffers' sizes, fixed when the connection was made: attaching and
     * releasing a block use these, not the configuration's sizes now (a
     * configuration changed since must not move the layout). */
    size_t rx_size, reasm_size, tx_size;
    /* Reassembly in rx (iotls_config_set_reassemble_in_place): the largest
     * handshake message; 0 when reasm has a buffer of its own. */
    size_t rx_reasm_max;
    /* What iotls_conn_release_buffers must wipe: the most of rx and tx
     * written since the buffers were attached (reasm keeps its own,
     * reasm.high), or the whole block when anything but records went in
     * (the handshake, a post-handshake message and its scratch). */
    size_t rx_high;
    size_t tx_high;
    bool wipe_whole_block;

    /* ---- protection ---- */
    iotls_record_cipher rd;
    iotls_record_cipher wr;
    int rd_epoch;         /* enum iotls_epoch */
    uint32_t rd_keys_gen; /* counts read-key changes, KeyUpdates included */
    int wr_epoch;
    iotls_transcript transcript;
    iotls_key_schedule ks;

    /* ---- negotiated ---- */
    uint16_t suite;
    iotls_hash_alg hash;
    iotls_aead_alg aead;
    size_t hash_len;
    uint16_t group; /* 0 for psk_ke */
    uint16_t peer_sig_scheme;
    uint16_t own_sig_scheme;
    /* NUL-ended selected protocol, in the block: room for the longest name
     * in our configured ALPN list (the selected one is always one of them). */
    char *alpn;
    size_t alpn_cap;
    char server_name[IOTLS_MAX_SERVER_NAME + 1];
    uint8_t client_random[32];
    bool hrr;
    bool resumed;
    bool ext_psk; /* the external PSK authenticated this handshake */
    bool handshake_done;
    bool peer_cert_presented;
    bool peer_cert_verified;
    bool
        client_auth; /* the client proved a certificate (server: maybe in the ticket's handshake) */
    int peer_auth;   /* enum iotls_peer_auth */
    /* Server that verifies clients (a region of the block, NULL otherwise):
     * the authenticated client's identity, from its chain or from the
     * ticket it resumed with, sealed into the tickets we issue. Valid when
     * client_auth is set. */
    iotls_peer_id *client_id;
    iotls_x509 peer_chain;
    const iotls_config *cert_cfg; /* whose cert/key we present (SNI may change it) */
    size_t max_record_out;        /* plaintext bytes per record we send */
    size_t max_record_in;         /* plaintext bytes per record we accept (our record size) */

    /* ---- record-level bookkeeping ---- */
    bool ccs_received;
    bool ccs_sent; /* the one middlebox-compatibility CCS (RFC 8446 D.4) went out */
    bool close_notify_received;
    bool close_notify_sent;
    int peer_alert; /* -1 none */
    int alert_sent; /* -1 none */
    unsigned empty_records_in_row;
    unsigned key_updates_in_row;
    bool key_update_pending; /* peer asked us to update: send before next write */
    uint32_t key_updates_sent, key_updates_received;
    uint32_t key_update_answers_owed; /* our update_requested not yet answered */
    /* 0-RTT (RFC 8446 4.2.10): IOTLS_EARLY_DATA_* for iotls_info, and the
     * early application bytes received (server) or sent (client) against
     * the ticket's max_early_data_size. */
    int early_status;
    uint32_t early_bytes;
    uint32_t early_max;

    /* ---- statistics ---- */
    uint64_t bytes_in, bytes_out, records_in, records_out;
    uint32_t flights_in, flights_out;
    int last_dir; /* 1 last traffic was ours, 2 theirs: counts flights */

    /* ---- the handshake's own state: wiped when it completes ---- */
    struct iotls_hs_state hs;
};

/* Most certificates accepted in the peer's Certificate message (leaf
 * included); a longer chain is refused with bad_certificate before any
 * entry is parsed (docs/malformed-input.md, Limits). */
#define IOTLS_MAX_PEER_CHAIN 10

/* ---- services for client.c / server.c ---- */

/* A writer over the free part of hs_out (tx behind the queued records,
 * less the room their records' headers and tags take when sealed in
 * place). Write ONE whole message with it, then commit: the message is
 * added to the transcript, traced, and kept for the next flush. */
void iotls__conn_hs_writer(iotls_conn *c, iotls_writer *w);
int iotls__conn_hs_commit(iotls_conn *c, iotls_writer *w);
/* Same, but the message is not added to the transcript (the caller already
 * did, e.g. a ClientHello whose binders it patched). */
int iotls__conn_hs_commit_raw(iotls_conn *c, iotls_writer *w);
/* Seal everything in hs_out into handshake records in place (current write
 * keys); IOTLS_ERR_FLIGHT_TOO_LARGE when their records do not fit tx. */
int iotls__conn_flush(iotls_conn *c);
/* Signs the CertificateVerify content (RFC 8446 4.4.3: the transcript hash
 * so far, for the server's or the client's context) with key, and writes +
 * commits the message. The signature is made in place in hs_out, the
 * content in the scratch region (src/scratch.h), not in stack buffers: this
 * is the deepest call of a handshake (docs/stack.md). When they do not
 * fit behind the messages queued: IOTLS_ERR_BUFFER_TOO_SMALL, nothing
 * written (a send state runs again). */
int iotls__conn_send_certificate_verify(iotls_conn *c, iotls_pkey *key, uint16_t scheme,
                                        int by_server);
/* Client 0-RTT: seal all of data as application records under the current
 * (early) write keys; BAD_ARG when tx cannot take it all. */
int iotls__conn_send_early_records(iotls_conn *c, const uint8_t *data, size_t len);
/* The most early data iotls__conn_send_early_records takes into
 * free_bytes of tx (iotls_conn_early_room). */
size_t iotls__conn_early_fit(const iotls_conn *c, size_t free_bytes);
/* A change_cipher_spec record (middlebox compatibility); sets ccs_sent. */
int iotls__conn_send_ccs(iotls_conn *c);
/* Install traffic keys derived from secret (HashLen bytes) for reading or
 * writing. epoch says which for the trace. Changing read keys while a
 * partial handshake message is buffered fails with UNEXPECTED_MESSAGE. */
int iotls__conn_set_read_secret(iotls_conn *c, const uint8_t *secret, int epoch);
int iotls__conn_set_write_secret(iotls_conn *c, const uint8_t *secret, int epoch);
/* Negotiated suite: sets suite, hash, aead, hash_len; selects transcript. */
int iotls__conn_set_suite(iotls_conn *c, uint16_t suite);
/* Emit "LABEL <client_random hex> <secret hex>" to the keylog callback.
 * Without IOTLS_FEATURE_KEYLOG / _TRACE (iotls/features.h) these are empty
 * and every call with its label or detail string compiles away. */
#if IOTLS_FEATURE_KEYLOG
void iotls__conn_keylog(iotls_conn *c, const char *label, const uint8_t *secret);
#else
static inline void iotls__conn_keylog(iotls_conn *c, const char *label, const uint8_t *secret)
{
    (void)c;
    (void)label;
    (void)secret;
}
#endif
#if IOTLS_FEATURE_TRACE
void iotls__conn_event(iotls_conn *c, int kind, uint8_t hs_type, size_t len, int value,
                       const char *detail);
#else
static inline void iotls__conn_event(iotls_conn *c, int kind, uint8_t hs_type, size_t len,
                                     int value, const char *detail)
{
    (void)c;
    (void)kind;
    (void)hs_type;
    (void)len;
    (void)value;
    (void)detail;
}
#endif
/* Verify the peer's chain per configuration (CA, host name for a server
 * certificate, pins). Sets peer_cert_verified and peer_auth. */
int iotls__conn_verify_peer_chain(iotls_conn *c, int is_server_cert);
/* Master secret, application traffic and exporter secrets from the
 * transcript so far (ClientHello..server Finished), and their key log
 * lines. */
int iotls__conn_derive_master(iotls_conn *c);
/* The handshake is complete: wipe what only it needed (the handshake secrets,
 * the transcript, c->hs), emit the event. */
void iotls__conn_handshake_complete(iotls_conn *c);

/* ---- implemented by client.c and server.c ---- */

/* Both state machines are a table of these: in state, a message of hs_type
 * read under epoch (enum iotls_epoch) goes to handler; anything else is
 * unexpected_message, refused before it is parsed. The handler adds its
 * message to the transcript itself, after the values that need the hash of
 * the messages before it (CertificateVerify, Finished). then, when set,
 * runs after the handler returned, from the dispatcher, before the next
 * message: the client's check of the chain its Certificate handler took,
 * so the library's signature checks do not run under the handler's parse
 * state (the client's deepest stack, docs/psa.md). Only the client's
 * dispatcher (src/client.c) runs it: the server's rows have none, and a
 * server row given one needs iotls__server_handle to call it. */
typedef int (*iotls_hs_handler)(iotls_conn *c, const uint8_t *msg, size_t len);
typedef int (*iotls_hs_then)(iotls_conn *c);
typedef struct {
    uint8_t state; /* the role's state enum */
    uint8_t hs_type;
    uint8_t epoch;
    iotls_hs_handler handler;
    iotls_hs_then then; /* NULL: nothing after the handler */
} iotls_hs_transition;

/* Both roles' sending steps are states too: in state, step writes its
 * message and moves the state on (a message hs_out cannot take behind the
 * ones queued is IOTLS_ERR_BUFFER_TOO_SMALL with nothing changed: the
 * advance loop seals those and runs the state again; with nothing queued,
 * the flight is larger than tx was sized for, and the loop fails the
 * connection with IOTLS_ERR_FLIGHT_TOO_LARGE). */
typedef int (*iotls_send_step)(iotls_conn *c);
typedef struct {
    int state;
    iotls_send_step step;
} iotls_send_state;

/* Queue the ClientHello. */
int iotls__client_start(iotls_conn *c);
/* One whole handshake message (header included) during the handshake:
 * through the role's transition table; an error leaves the role's FAILED
 * state, which accepts nothing. A bad argument is IOTLS_ERR_INTERNAL (only
 * conn.c calls them). */
int iotls__client_handle(iotls_conn *c, uint8_t hs_type, const uint8_t *msg, size_t len);
/* NewSessionTicket after the handshake (body only). */
int iotls__client_on_ticket(iotls_conn *c, const uint8_t *body, size_t len);
/* The role's send states: conn.c's advance loop (role_advance) runs them
 * one after the other after each record it processed, from a shallow
 * frame, until one waits for input. *_step runs the step of the send
 * state the role is in, once, and returns its result;
 * IOTLS__NO_SEND_STATE when that state sends nothing (a WAIT_ state, the
 * end, FAILED). The call through the table is made here, in the role's
 * file, where the stack report resolves it (tools/indirect_calls.rules). */
#define IOTLS__NO_SEND_STATE 1
int iotls__client_step(iotls_conn *c);
int iotls__server_step(iotls_conn *c);
/* The role's FAILED state, which accepts nothing, its secrets wiped: after
 * a step's error (the handlers fail by themselves). */
void iotls__client_fail(iotls_conn *c);
void iotls__server_fail(iotls_conn *c);
/* CertificateRequest after the handshake is not supported: client.c
 * answers whether post_handshake_auth was offered (it never is). */
int iotls__server_handle(iotls_conn *c, uint8_t hs_type, const uint8_t *msg, size_t len);
/* Wipe role-specific secrets (called from iotls_conn_free and on error). */
void iotls__client_wipe(iotls_conn *c);
void iotls__server_wipe(iotls_conn *c);

#endif
