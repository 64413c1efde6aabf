/* Server handshake state, embedded in struct iotls_conn (owned by server.c).
 * A zero-filled struct is the initial state: waiting for a ClientHello. */
#ifndef IOTLS_SERVER_STATE_H
#define IOTLS_SERVER_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"

/* Where the server handshake stands (the diagram is at the top of
 * server.c): a WAIT_ state accepts the one message named after "WAIT_"; a
 * SEND_ state accepts nothing and sends the message named after "SEND_"
 * (conn.c's advance loop runs it, through iotls__server_step). */
enum iotls_server_hs_state {
    IOTLS_SV_WAIT_CH = 0,       /* first ClientHello */
    IOTLS_SV_SEND_HRR,          /* first ClientHello without a usable share: HelloRetryRequest */
    IOTLS_SV_WAIT_CH2,          /* second ClientHello, after our HelloRetryRequest */
    IOTLS_SV_SEND_SH,           /* ClientHello accepted: ServerHello, handshake keys */
    IOTLS_SV_SEND_EE,           /* EncryptedExtensions */
    IOTLS_SV_SEND_CERT_REQUEST, /* CertificateRequest (we verify clients) */
    IOTLS_SV_SEND_CERT,         /* our Certificate (no PSK authenticates) */
    IOTLS_SV_SEND_CV,           /* our CertificateVerify */
    IOTLS_SV_SEND_FINISHED,     /* our Finished, then the application write keys */
    IOTLS_SV_WAIT_EOED,         /* 0-RTT accepted: EndOfEarlyData (under the early keys) */
    IOTLS_SV_WAIT_CERT,         /* client Certificate (we sent CertificateRequest) */
    IOTLS_SV_WAIT_CV,           /* client CertificateVerify */
    IOTLS_SV_WAIT_FINISHED,     /* client Finished */
    IOTLS_SV_SEND_TICKETS,      /* handshake complete: our NewSessionTickets */
    IOTLS_SV_DONE,              /* handshake complete, tickets sent */
    IOTLS_SV_FAILED,            /* a fatal error happened: nothing more is accepted */
};

#define IOTLS_COOKIE_KEY_LEN 32
/* A HelloRetryRequest cookie (iotls_config_set_hrr_cookie): version,
 * suite, group, hash length, Hash(ClientHello1), tag (cookie.c). */
#define IOTLS_COOKIE_MAX_LEN (6 + IOTLS_MAX_HASH_LEN + 32)
/* SHA-256 over the first ClientHello's fields the second one must repeat
 * (cookie.c: iotls__hrr_fields_digest). */
#define IOTLS_HRR_FIELDS_LEN 32

struct iotls_server_state {
    int state; /* enum iotls_server_hs_state */

    bool cert_requested; /* we sent a CertificateRequest */
    bool sni_done;       /* the SNI callback ran (it runs once per handshake) */
    bool sni_ack;        /* acknowledge server_name in EncryptedExtensions */

    /* The answer to the ClientHello, for the send states after it: the
     * legacy_session_id to echo, the client's key share (for c->group),
     * the index of the PSK identity accepted, or for a HelloRetryRequest
     * the group it asks for and either its cookie (hrr_cookie_len > 0) or
     * the digest of the first ClientHello's fields the second one is
     * checked against (no cookie, the default: the connection keeps what
     * the second ClientHello needs; the suite is c->suite and the
     * transcript already holds message_hash(ClientHello1) and the
     * HelloRetryRequest); the selected ALPN name's
     * length (the name is c->alpn), our
     * record_size_limit or the max_fragment_length echoed in
     * EncryptedExtensions (0: not sent), the scheme our CertificateVerify
     * signs with (c->own_sig_scheme once it is sent). */
    uint8_t session_id[32];
    uint8_t session_id_len;
    /* SEND_HRR and SEND_SH never wait at once, and the client's share
     * is copied only after the second ClientHello passed its checks: the
     * HelloRetryRequest's cookie, or the fields digest, share its bytes. */
    union {
        uint8_t peer_share[IOTLS_MAX_KEX_PUBLIC_LEN];
        uint8_t hrr_cookie[IOTLS_COOKIE_MAX_LEN];
        uint8_t hrr_fields[IOTLS_HRR_FIELDS_LEN];
    };
    uint8_t peer_share_len;
    uint8_t hrr_cookie_len;
    uint16_t psk_identity;
    uint16_t hrr_group;
    uint8_t alpn_len;
    uint16_t ee_record_size_limit;
    uint8_t ee_max_fragment_length;
    uint16_t sig_scheme;
    /* NewSessionTickets sent; survives the handshake's wipe. */
    unsigned tickets_sent;

    /* 0-RTT accepted: Hash(ClientHello) for client_early_traffic_secret,
     * kept until the key schedule restarts with the PSK. */
    bool early_accepted;
    uint8_t ch_hash[IOTLS_MAX_HASH_LEN];

    /* Our ephemeral key share: alive only between ServerHello and the
     * shared-secret computation right after it. */
    bool kex_active;
    iotls_kex_ctx kex;
};

#endif
