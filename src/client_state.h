/* Client handshake state, embedded in struct iotls_conn (owned by client.c).
 *
 * conn.c zero-fills the connection at init, which is IOTLS_CL_IDLE with no
 * key share. Received handshake messages are NOT added to the transcript by
 * conn.c: client.c adds each one itself at the moment RFC 8446 needs it
 * (CertificateVerify and Finished are checked against the hash of the
 * messages BEFORE them, and a HelloRetryRequest goes in after the
 * message_hash substitution). */
#ifndef IOTLS_CLIENT_STATE_H
#define IOTLS_CLIENT_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "session_ref.h"

/* Where the client handshake stands (the diagram is at the top of
 * client.c): a WAIT_ state names the message it waits for next; a SEND_
 * state accepts nothing and sends (conn.c's advance loop runs it, through
 * iotls__client_step). */
enum iotls_client_phase {
    IOTLS_CL_IDLE = 0,      /* nothing sent yet */
    IOTLS_CL_WAIT_SH,       /* ClientHello (1 or 2) sent: ServerHello or HRR */
    IOTLS_CL_SEND_CH2,      /* after a HelloRetryRequest: [CCS] ClientHello2 */
    IOTLS_CL_WAIT_EE,       /* handshake keys in: EncryptedExtensions */
    IOTLS_CL_WAIT_CERT_CR,  /* CertificateRequest or Certificate */
    IOTLS_CL_WAIT_CERT,     /* after CertificateRequest: Certificate */
    IOTLS_CL_WAIT_CV,       /* CertificateVerify */
    IOTLS_CL_WAIT_FINISHED, /* server Finished */
    IOTLS_CL_SEND_EOED,     /* 0-RTT accepted: EndOfEarlyData */
    IOTLS_CL_SEND_CCS,      /* [CCS], then our handshake write keys */
    IOTLS_CL_SEND_CERT,     /* the server asked: our Certificate (maybe empty) */
    IOTLS_CL_SEND_CV,       /* our CertificateVerify (our Certificate had a chain) */
    IOTLS_CL_SEND_FINISHED, /* our Finished, then the application write keys */
    IOTLS_CL_CONNECTED,     /* our Finished sent: only NewSessionTicket et al. */
    IOTLS_CL_FAILED,        /* a fatal error happened: nothing more is accepted */
};

struct iotls_client_state {
    int state; /* enum iotls_client_phase */

    /* Our (EC)DHE share: the private half lives in kex until the server's
     * share arrives; the public half is kept to resend it unchanged in a
     * ClientHello2 after a cookie-only HelloRetryRequest. A HelloRetryRequest
     * that asks for another group destroys it (share_group 0) and SEND_CH2
     * makes the new one. */
    iotls_kex_ctx kex;
    uint16_t share_group;
    uint8_t share_pub[IOTLS_MAX_KEX_PUBLIC_LEN];
    size_t share_pub_len;

    uint8_t session_id[32]; /* legacy_session_id we sent (middlebox compat) */
    size_t session_id_len;

    uint16_t hrr_suite;     /* suite the HelloRetryRequest chose; 0 when none */
    bool sni_sent;          /* server_name went out: an empty ack is allowed */
    bool psk_offered;       /* the last ClientHello offered a PSK: session or external */
    bool offered_ext_psk;   /* ... and it was the config's external PSK */
    iotls_hash_alg psk_alg; /* the offered PSK's hash */
    bool has_session;       /* session was set for resumption */
    /* The offered session; its ticket stays in the caller's blob, which
     * must live until the handshake is done (iotls_conn_borrow_session). */
    iotls_session_ref session;

    /* Bytes outside the connection that a ClientHello step sends, two
     * views whose lives do not meet (one place, so the state does not
     * grow). Before the start, the 0-RTT data handed to
     * iotls_conn_write_early (the caller keeps it alive until
     * iotls_conn_start, which sends it). After a HelloRetryRequest, its
     * cookie, inside the received message (rx, or the reassembler for a
     * message over several records): that stays put until the next record
     * comes in, and conn.c runs SEND_CH2, which echoes it, right after the
     * HelloRetryRequest's record (a HelloRetryRequest ends its record,
     * RFC 8446 5.1). */
    union {
        struct {
            const uint8_t *early_pending;
            size_t early_pending_len;
        };
        struct {
            const uint8_t *hrr_cookie;
            size_t hrr_cookie_len;
        };
    };
    /* 0-RTT: whether the ClientHello offered early_data, and its traffic
     * secret. */
    bool early_offered;
    uint8_t early_traffic[IOTLS_MAX_HASH_LEN];

    bool cert_requested;        /* the server sent CertificateRequest */
    uint16_t client_sig_scheme; /* scheme we will sign with; 0: empty Certificate */

    /* The group the HelloRetryRequest asked a share for; 0: none (cookie
     * only). Last: the struct's tail padding takes it on Cortex-M4, RV32
     * and x86_64 (short enums leave no hole beside hrr_suite on Cortex-M4). */
    uint16_t hrr_group;
};

#endif
