/* Driver-internal functions shared by conn.c, conn_out.c, conn_info.c,
 * conn_keys.c and conn_peer.c (not for the state machines). */
#ifndef IOTLS_CONN_INTERNAL_H
#define IOTLS_CONN_INTERNAL_H

#include "conn.h"

/* Free bytes in tx after moving pending output to its start. */
size_t iotls__conn_tx_free(iotls_conn *c);
/* The smallest peer record limit our flights' record overhead is sized
 * for (RFC 8449 allows 64; a smaller one with a flight near tx's size
 * fails with IOTLS_ERR_FLIGHT_TOO_LARGE). */
#define IOTLS_MIN_FRAGMENT_SIZED 512u

/* How many bytes of handshake messages a flight built in avail free bytes
 * of tx may hold: sealed in place, in records of 512 B or more, they then
 * fit those bytes (conn_out.c; conn_buffers.c sizes tx with it). */
size_t iotls__conn_in_place_room(size_t avail);
/* Seal an alert record into tx (fatal alerts drop unsent handshake data). */
int iotls__conn_send_alert(iotls_conn *c, int description);
/* Record the first fatal error, queue its alert, wipe secrets; returns err
 * (or the earlier error). */
int iotls__conn_fail(iotls_conn *c, int err);
/* Send a KeyUpdate and move our write keys forward. */
int iotls__conn_send_key_update(iotls_conn *c, int request_peer);
/* Wipe every secret the connection holds (keys, schedule, ephemeral). */
void iotls__conn_wipe_secrets(iotls_conn *c);
/* Wipe the handshake's own state (c->hs: key shares, cookie key, session,
 * early-data budget...) but the role's state number. At the handshake's
 * end and with every secret. */
void iotls__conn_wipe_handshake(iotls_conn *c);

/* The high-water marks iotls_conn_release_buffers wipes up to: rx holds
 * bytes up to end (the transport may have written them), tx up to tx_len
 * (called before tx_len goes down). */
static inline void iotls__conn_rx_written(iotls_conn *c, size_t end)
{
    if (end > c->rx_high)
        c->rx_high = end;
}
static inline void iotls__conn_tx_written(iotls_conn *c)
{
    if (c->tx_len > c->tx_high)
        c->tx_high = c->tx_len;
}

/* The largest record plaintext of the configuration (its record size). */
size_t iotls__conn_record_size(const iotls_config *cfg);
/* The largest record plaintext it sends before the peer's limits: its send
 * record size, or its record size. */
size_t iotls__conn_send_record_size(const iotls_config *cfg);
/* The longest ClientHello (or KeyUpdate) a client puts in tx at once. */
size_t iotls__conn_client_hello_room(const iotls_config *cfg);
/* Points alpn and client_id at their room after the struct (c->cfg set). */
void iotls__conn_carve_state(iotls_conn *c);
/* Fixes the buffers' sizes from c->cfg, once, when the connection is
 * made: attaching and releasing blocks keep to them. */
void iotls__conn_fix_layout(iotls_conn *c);
/* Wipes the attached buffers' whole block (nothing when detached). */
void iotls__conn_wipe_buffers(iotls_conn *c);

/* Limits against peers that make us work without progress. */
#define IOTLS_MAX_EMPTY_RECORDS 32
#define IOTLS_MAX_KEY_UPDATES_IN_ROW 32
#define IOTLS_MAX_WARNING_ALERTS 8

#endif
