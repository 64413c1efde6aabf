/* The engine's scratch region: the temporary space some handshake steps
 * need beside the message they write, too large for the stack (it would
 * sit under the deepest call of the handshake, docs/stack.md) and never
 * needed across steps.
 *
 * Where it lives: at the far end of the free part of hs_out (of tx, where
 * the messages are built), behind the message being written. That space
 * is idle then: nothing is queued behind the message a step writes, and
 * the step shortens its writer so the message cannot reach the region.
 * The smallest tx (src/conn_buffers.c: the ClientHello room at
 * max_handshake 512) takes the ticket selection (checked below); the
 * flight room of a configuration with a certificate counts the
 * CertificateVerify's member behind it, and the tickets' room the
 * NewSessionTicket's member behind the last one. The region needs no
 * buffer of its own.
 *
 * Lifetime: valid only within one send step or one handler, from
 * iotls__conn_scratch() to that step's return; never across a return to
 * conn.c (the next message, a flush or the transport overwrite it). A user
 * that put secrets in it wipes its member before it returns, on every path.
 *
 * The binders' early key schedule (RFC 8446 7.1, from the PSK) is the one
 * borrowing outside this region: it is the connection's own key schedule,
 * c->ks, under the same lifetime rule (idle until the ServerHello, which
 * initializes it for the handshake, and wiped by its user). Carving its
 * 480 B here would need that much more room behind a certificate-less
 * client's ClientHello in every device's tx. */
#ifndef IOTLS_SCRATCH_H
#define IOTLS_SCRATCH_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "ticket.h"

/* CertificateVerify (iotls__conn_send_certificate_verify): the transcript
 * hash and the signed content made from it (RFC 8446 4.4.3: 64 spaces, the
 * 34-byte context string with its 0x00, the hash). The signature itself is
 * written in place in the message. */
struct iotls_scratch_cv {
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t content[64 + 34 + IOTLS_MAX_HASH_LEN];
};

/* A server selecting a ticket (select_psk): each identity's ticket opened,
 * the client identity it carries, and the decrypted body (scratch of
 * iotls__ticket_open). Holds the ticket's PSK: wiped. */
struct iotls_scratch_psk {
    iotls__ticket_body ticket;
    iotls_peer_id client;
    uint8_t plain[IOTLS_TICKET_PLAIN_MAX];
};

/* A server issuing a ticket (send_ticket): the body it seals, with the
 * new PSK (wiped), and the sealed ticket the message copies. */
struct iotls_scratch_nst {
    iotls__ticket_body ticket;
    uint8_t sealed[IOTLS_TICKET_MAX_LEN];
};

/* One member per user; its size is the region's (the largest user). */
union iotls_scratch {
    struct iotls_scratch_cv cv;
    struct iotls_scratch_psk psk;
    struct iotls_scratch_nst nst;
};

/* The smallest room (src/conn_buffers.c, client_hello_room at
 * max_handshake 512) takes each user with what it writes: the ticket
 * selection writes nothing, a NewSessionTicket has the largest ticket and
 * 64 B around it (the tickets' room counts them too); the CertificateVerify
 * is counted in the certificate flight's room. 15 B are the alignment. */
#define IOTLS_SCRATCH_SMALLEST_ROOM (1280u + IOTLS_MAX_SERVER_NAME + 512u)
_Static_assert(sizeof(struct iotls_scratch_psk) + 15u <= IOTLS_SCRATCH_SMALLEST_ROOM,
               "the ticket selection's scratch must fit the smallest hs_out room");
_Static_assert(sizeof(struct iotls_scratch_nst) + 15u + IOTLS_TICKET_MAX_LEN + 64u <=
                   IOTLS_SCRATCH_SMALLEST_ROOM,
               "a NewSessionTicket and its scratch must fit the smallest hs_out room");

/* The region for one member of need bytes (sizeof that member), 16-byte
 * aligned at the far end of w's room (w: a writer from
 * iotls__conn_hs_writer), and w shortened so its message stops before it.
 * NULL, w unchanged, when the room behind what w has written cannot take
 * it (a send step answers IOTLS_ERR_BUFFER_TOO_SMALL: its state runs
 * again after a flush). */
void *iotls__conn_scratch(iotls_writer *w, size_t need);

#endif
