/* A server's negotiation: what it makes of a ClientHello (server_negotiate.c).
 * Used by server.c only. */
#ifndef IOTLS_SERVER_NEGOTIATE_H
#define IOTLS_SERVER_NEGOTIATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "msg/msg.h"

/* What the ClientHello negotiation decided. */
typedef struct {
    uint16_t suite;
    uint16_t group;
    iotls_bytes share;              /* the client's key share for group; len 0: send HRR */
    uint16_t sig_scheme;            /* for our CertificateVerify */
    iotls_bytes alpn;               /* selected protocol; len 0: none */
    bool resumed;                   /* a PSK was accepted: a ticket's or the external one */
    bool ext_psk;                   /* ... the external PSK */
    bool psk_ke;                    /* ... without (EC)DHE: group 0 */
    uint16_t identity;              /* its index in the client's list */
    uint8_t psk[IOTLS_MAX_EXT_PSK]; /* a ticket's (HashLen) or the external one */
    size_t psk_len;
    /* What the selected ticket says about 0-RTT. */
    uint32_t ticket_max_early;
    uint16_t ticket_suite;
    bool ticket_age_ok;
    uint8_t ticket_alpn[256]; /* NUL-ended protocol of the issuing connection */
    uint8_t binder_hash[32];  /* SHA-256 of the selected ticket: the replay key */
} iotls__sv_choice;

/* The configuration whose certificate and key we present (the SNI callback
 * may have chosen another than the connection's). */
static inline const iotls_config *iotls__sv_cert_config(const iotls_conn *c)
{
    return c->cert_cfg ? c->cert_cfg : c->cfg;
}

/* Parses either ClientHello and makes the checks every ClientHello must
 * pass before anything is negotiated. (That nothing follows it in its
 * record, RFC 8446 5.1, conn.c checked before handing it over.) */
int iotls__sv_read_client_hello(const uint8_t *msg, size_t len, iotls_client_hello *ch);
/* server_name: keeps the host name for the application and lets the SNI
 * callback pick the certificate. Runs once per handshake. */
int iotls__sv_process_sni(iotls_conn *c, const iotls_client_hello *ch);
/* First ClientHello: suite and group from the client's offer. *group_rc is
 * the group's result (no common group: only psk_ke can go on); a share of
 * length 0 means a HelloRetryRequest must ask for the group. */
int iotls__sv_choose_from_offer(const iotls_conn *c, const iotls_client_hello *ch,
                                iotls__sv_choice *choice, int *group_rc);
/* Second ClientHello: choice's suite and group (from the cookie) must be
 * what it offers, with exactly one share, for that group; sets the share. */
int iotls__sv_check_retry(const iotls_conn *c, const iotls_client_hello *ch2,
                          iotls__sv_choice *choice);
/* The negotiation both ClientHellos go through once suite and group are
 * set: the PSK (its binder over the transcript so far and msg up to the
 * binders), our signature scheme unless a PSK authenticates, ALPN, and
 * early data (only a first ClientHello may carry it). group_rc is the group
 * choice's result: without a group, only a psk_ke PSK goes on. The caller
 * wipes choice->psk. */
int iotls__sv_negotiate(iotls_conn *c, const uint8_t *msg, const iotls_client_hello *ch,
                        int group_rc, iotls__sv_choice *choice);

#endif
