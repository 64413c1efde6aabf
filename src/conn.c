/* The engine driver: connection memory, the receive path (records in,
 * dispatch by content type, handshake messages to the state machines,
 * post-handshake messages, alerts), and application reads. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"
#include "msg/msg.h"

#if defined(IOTLS_NO_CLIENT) && defined(IOTLS_NO_SERVER)
#error "IOTLS_NO_CLIENT and IOTLS_NO_SERVER leave no role to build"
#endif

/* A firmware image that is only a client (or only a server) builds without
 * the other state machine: IOTLS_NO_SERVER / IOTLS_NO_CLIENT. */
#ifdef IOTLS_NO_CLIENT
#define ROLE_BUILT(role) ((role) == IOTLS_ROLE_SERVER)
#elif defined(IOTLS_NO_SERVER)
#define ROLE_BUILT(role) ((role) == IOTLS_ROLE_CLIENT)
#else
#define ROLE_BUILT(role) ((role) == IOTLS_ROLE_CLIENT || (role) == IOTLS_ROLE_SERVER)
#endif

static int role_handle(iotls_conn *c, uint8_t type, const uint8_t *msg, size_t len)
{
#ifndef IOTLS_NO_CLIENT
    if (c->role == IOTLS_ROLE_CLIENT)
        return iotls__client_handle(c, type, msg, len);
#endif
#ifndef IOTLS_NO_SERVER
    if (c->role == IOTLS_ROLE_SERVER)
        return iotls__server_handle(c, type, msg, len);
#endif
    return IOTLS_ERR_INTERNAL;
}

/* The step of the role's send state, run once (IOTLS__NO_SEND_STATE:
 * the state sends nothing). */
static int role_step(iotls_conn *c)
{
#ifndef IOTLS_NO_CLIENT
    if (c->role == IOTLS_ROLE_CLIENT)
        return iotls__client_step(c);
#endif
#ifndef IOTLS_NO_SERVER
    if (c->role == IOTLS_ROLE_SERVER)
        return iotls__server_step(c);
#endif
    return IOTLS__NO_SEND_STATE;
}

static void role_fail(iotls_conn *c)
{
#ifndef IOTLS_NO_CLIENT
    if (c->role == IOTLS_ROLE_CLIENT)
        iotls__client_fail(c);
#endif
#ifndef IOTLS_NO_SERVER
    if (c->role == IOTLS_ROLE_SERVER)
        iotls__server_fail(c);
#endif
}

/* The advance loop, one for both roles: after a record was processed, the
 * role's send states one after the other, until one waits for input. From
 * here, not from under the message handler that led to them: each step
 * returns before the next starts (docs/stack.md). */
static int role_advance(iotls_conn *c)
{
    for (;;) {
        int rc = role_step(c);
        if (rc == IOTLS__NO_SEND_STATE)
            return IOTLS_OK; /* a WAIT_ state, the end or FAILED: input comes next */
        /* tx could not take the message behind the ones queued: those are
         * sealed, and the state runs again behind them. With nothing
         * queued, our flight is larger than the connection was sized for. */
        if (rc == IOTLS_ERR_BUFFER_TOO_SMALL)
            rc = c->hs_out_len > 0 ? iotls__conn_flush(c) : IOTLS_ERR_FLIGHT_TOO_LARGE;
        if (rc != IOTLS_OK) {
            role_fail(c);
            return iotls__conn_fail(c, rc);
        }
    }
}

static void role_wipe(iotls_conn *c)
{
#ifndef IOTLS_NO_CLIENT
    if (c->role == IOTLS_ROLE_CLIENT)
        iotls__client_wipe(c);
#endif
#ifndef IOTLS_NO_SERVER
    if (c->role == IOTLS_ROLE_SERVER)
        iotls__server_wipe(c);
#endif
}
iotls_conn *iotls_conn_init(void *mem, size_t mem_len, const iotls_config *cfg, iotls_role role,
                            const char *server_name)
{
    if (!mem || !cfg || mem_len < iotls_conn_size(cfg))
        return NULL;
    /* The state is a prefix of the block, the buffers the rest: what
     * iotls_conn_release_buffers hands back. */
    size_t state = iotls_conn_state_size(cfg);
    return iotls_conn_init_split(mem, state, (uint8_t *)mem + state, mem_len - state, cfg, role,
                                 server_name);
}

iotls_conn *iotls_conn_init_split(void *state, size_t state_len, void *buffers, size_t buffers_len,
                                  const iotls_config *cfg, iotls_role role, const char *server_name)
{
    if (!state || !cfg || ((uintptr_t)state & 15u) != 0 || state_len < iotls_conn_state_size(cfg) ||
        !ROLE_BUILT(role))
        return NULL;
    size_t name_len = server_name ? strlen(server_name) : 0;
    if (name_len > IOTLS_MAX_SERVER_NAME)
        return NULL;
    memset(state, 0, state_len);
    iotls_conn *c = state;
    c->cfg = cfg;
    iotls__conn_carve_state(c);
    iotls__conn_fix_layout(c);
    /* The buffers are not cleared: every byte of them is written before it
     * is read or sent, and what was written is wiped (release, free), so
     * their contents as given do not matter (a board whose malloc clears
     * every block pays for one clear of the block, not two). */
    if (iotls_conn_attach_buffers(c, buffers, buffers_len) != IOTLS_OK)
        return NULL;
    c->cert_cfg = cfg;
    c->role = role;
    c->peer_alert = -1;
    c->alert_sent = -1;
    c->max_record_out = iotls__conn_send_record_size(cfg);
    c->max_record_in = iotls__conn_record_size(cfg);
    if (name_len > 0)
        memcpy(c->server_name, server_name, name_len);
    iotls__x509_init(&c->peer_chain);
    if (iotls__transcript_init(&c->transcript) != IOTLS_OK)
        return NULL;
    return c;
}

int iotls_conn_start(iotls_conn *c)
{
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->rx)
        return IOTLS_ERR_BAD_STATE; /* buffers detached: attach them first */
    if (c->role == IOTLS_ROLE_SERVER)
        return c->cfg->has_cert || c->cfg->has_ext_psk ? IOTLS_OK : IOTLS_ERR_CONFIG;
    const iotls_config *cfg = c->cfg;
    /* A client must be able to tell who it talks to, unless told not to:
     * a certificate is accepted only with its name checked or a pin
     * matched. An external PSK authenticates the server by itself, so a
     * PSK-only client (no CA) needs neither: a server that ignores the PSK
     * has its certificate refused for want of a CA. With a CA, the server
     * may ignore the PSK and present any certificate that CA signed, for
     * any name: without a name (or a pin) to check, that is no
     * authentication. */
    if (!cfg->insecure_noverifycert && cfg->pin_count == 0 &&
        (cfg->has_ca ? c->server_name[0] == '\0' : !cfg->has_ext_psk))
        return IOTLS_ERR_CONFIG;
#ifdef IOTLS_NO_CLIENT
    return IOTLS_ERR_BAD_STATE;
#else
    int rc = iotls__client_start(c);
    return rc == IOTLS_OK ? rc : iotls__conn_fail(c, rc);
#endif
}

void iotls__conn_wipe_handshake(iotls_conn *c)
{
    role_wipe(c);
    c->hs.skip_early_data = false;
    c->hs.early_skip_budget = 0;
}

void iotls__conn_wipe_secrets(iotls_conn *c)
{
    iotls__ks_wipe(&c->ks);
    iotls__record_cipher_free(&c->rd);
    iotls__record_cipher_free(&c->wr);
    iotls__conn_wipe_handshake(c);
}

void iotls_conn_free(iotls_conn *c)
{
    if (!c)
        return;
    iotls__conn_wipe_secrets(c);
    iotls__transcript_free(&c->transcript);
    iotls__x509_free(&c->peer_chain);
    /* Buffers hold decrypted data and handshake plaintext: the whole
     * block, as one wipe (alignment padding included, so a block given
     * back is all zeros whatever it held when given). */
    iotls__conn_wipe_buffers(c);
    c->reasm.len = 0;
    c->reasm.consumed = 0;
    c->app = NULL;
    c->app_len = 0;
    c->error = IOTLS_ERR_FAILED;
}

/* ---- post-handshake messages ---- */

static uint8_t *peer_app_secret(iotls_conn *c)
{
    return c->role == IOTLS_ROLE_CLIENT ? c->ks.server_app_traffic : c->ks.client_app_traffic;
}

static int on_key_update(iotls_conn *c, const uint8_t *body, size_t len)
{
    int requested = 0;
    int rc = iotls__key_update_parse(body, len, &requested);
    if (rc != IOTLS_OK)
        return rc;
    /* An answer to one of our requests is owed to us; anything beyond is
     * limited when no data comes in between. */
    if (c->key_update_answers_owed > 0)
        c->key_update_answers_owed--;
    else if (++c->key_updates_in_row > IOTLS_MAX_KEY_UPDATES_IN_ROW)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    uint8_t *secret = peer_app_secret(c);
    rc = iotls__next_traffic_secret(c->hash, secret, secret);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_read_secret(c, secret, IOTLS_EPOCH_APPLICATION);
    if (rc != IOTLS_OK)
        return rc;
    c->key_updates_received++;
    iotls__conn_event(c, IOTLS_EV_KEY_UPDATE, IOTLS_HS_KEY_UPDATE, len, 0, NULL);
    /* Answer an update_requested at once unless we already sent ours
     * (RFC 8446 4.6.3); if tx is full it goes out before the next write. */
    if (requested && !c->close_notify_sent) {
        if (iotls__conn_tx_free(c) >= 64)
            return iotls__conn_send_key_update(c, 0);
        c->key_update_pending = 1;
    }
    return IOTLS_OK;
}

static int on_post_handshake(iotls_conn *c, uint8_t type, const uint8_t *msg, size_t len)
{
    const uint8_t *body = msg + IOTLS_HS_HEADER_LEN;
    size_t body_len = len - IOTLS_HS_HEADER_LEN;
    switch (type) {
    case IOTLS_HS_KEY_UPDATE:
        return on_key_update(c, body, body_len);
    case IOTLS_HS_NEW_SESSION_TICKET:
#ifndef IOTLS_NO_CLIENT
        if (c->role == IOTLS_ROLE_CLIENT)
            return iotls__client_on_ticket(c, body, body_len);
#endif
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    default:
        /* CertificateRequest needs post_handshake_auth, never offered. */
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    }
}

/* ---- the receive path ---- */

/* Reassembly in rx (iotls_config_set_reassemble_in_place): the first part
 * of a handshake message spanning records is held at the front of rx, and
 * the record being received lies right behind it. 0 otherwise. */
static size_t rx_front(const iotls_conn *c)
{
    return c->reasm.in_place ? iotls__hs_reasm_pending(&c->reasm) : 0;
}

/* Where the record being received starts in rx. */
static uint8_t *rx_record(const iotls_conn *c)
{
    return c->rx + rx_front(c);
}

/* The messages after which the sender's keys may change: ClientHello,
 * ServerHello (and HelloRetryRequest), EndOfEarlyData, Finished and
 * KeyUpdate must end their record (RFC 8446 5.1). This is the one place
 * that rule is enforced, for both roles. */
static int precedes_key_change(uint8_t type)
{
    return type == IOTLS_HS_CLIENT_HELLO || type == IOTLS_HS_SERVER_HELLO ||
           type == IOTLS_HS_END_OF_EARLY_DATA || type == IOTLS_HS_FINISHED ||
           type == IOTLS_HS_KEY_UPDATE;
}

static int on_handshake_payload(iotls_conn *c, const uint8_t *data, size_t len)
{
    size_t off = 0;
    while (off < len) {
        uint8_t type;
        const uint8_t *msg;
        size_t msg_len;
        size_t used = 0;
        uint32_t keys_gen = c->rd_keys_gen;
        int rc =
            iotls__hs_reasm_feed(&c->reasm, data + off, len - off, &used, &type, &msg, &msg_len);
        if (rc < 0)
            return rc;
        off += used;
        if (rc == 0)
            return IOTLS_OK; /* the rest of the message comes in the next record */
        if (c->last_dir != 2) {
            c->flights_in++;
            c->last_dir = 2;
        }
        iotls__conn_event(c, IOTLS_EV_HS_RECEIVED, type, msg_len, 0, NULL);
        int more_in_record = off < len || iotls__hs_reasm_pending(&c->reasm) != 0;
        /* Whatever follows a key change in the same record came under the
         * old keys (RFC 8446 5.1). Refused before the message is acted on:
         * a handler that answers (a client's second flight after the
         * server's Finished) would otherwise send it, install keys and
         * report the handshake done on a connection that then fails. The
         * rest of the record has not been fed yet: it is what is left of
         * data. */
        if (more_in_record && precedes_key_change(type))
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        if (!c->handshake_done) {
            rc = role_handle(c, type, msg, msg_len);
        } else {
            rc = on_post_handshake(c, type, msg, msg_len);
        }
        if (rc != IOTLS_OK)
            return rc;
        /* Every message that changes the read keys is in the list above. */
        if (c->rd_keys_gen != keys_gen && more_in_record)
            return IOTLS_ERR_INTERNAL;
    }
    return IOTLS_OK;
}

static int on_alert(iotls_conn *c, const uint8_t *data, size_t len)
{
    if (len != 2)
        return IOTLS_ERR_DECODE;
    if (data[0] != 1 && data[0] != 2)
        return IOTLS_ERR_DECODE;
    iotls__conn_event(c, IOTLS_EV_ALERT_RECEIVED, 0, len, data[1], NULL);
    if (data[1] == IOTLS_ALERT_CLOSE_NOTIFY) {
        c->close_notify_received = 1;
        return IOTLS_OK;
    }
    if (data[1] == IOTLS_ALERT_USER_CANCELED) {
        if (++c->empty_records_in_row > IOTLS_MAX_WARNING_ALERTS)
            return IOTLS_ERR_TOO_MANY_EMPTY;
        return IOTLS_OK;
    }
    /* TLS 1.3: every other alert is fatal whatever its level (6.2). */
    c->peer_alert = data[1];
    c->error = IOTLS_ERR_ALERT_RECEIVED;
    iotls__conn_wipe_secrets(c);
    return IOTLS_ERR_ALERT_RECEIVED;
}

static int on_ccs(iotls_conn *c, const uint8_t *body, size_t len)
{
    /* Middlebox compatibility (RFC 8446 5): one unprotected CCS of value 1
     * is dropped during the handshake; anything else is an error. */
    if (len != 1 || body[0] != 1 || c->handshake_done || c->ccs_received)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    /* Not between the records of one handshake message (RFC 8446 5.1). */
    if (iotls__hs_reasm_pending(&c->reasm) != 0)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    if (c->role == IOTLS_ROLE_SERVER && c->transcript.alg == IOTLS_HASH_NONE && c->flights_in == 0)
        return IOTLS_ERR_UNEXPECTED_MESSAGE; /* before any ClientHello */
    c->ccs_received = 1;
    iotls__conn_event(c, IOTLS_EV_CCS_RECEIVED, 0, len, 0, NULL);
    return IOTLS_OK;
}

/* A record of declined 0-RTT data (RFC 8446 4.2.10), skipped within the
 * budget; beyond it, unexpected_message. Each record costs its body, and at
 * least the smallest body a client can seal (content type and tag): a
 * flood of empty or tiny records is bounded like any other. */
#define MIN_PROTECTED_BODY (1 + IOTLS_AEAD_TAG_LEN)

static int skip_early_record(iotls_conn *c, size_t body_len)
{
    size_t cost = body_len < MIN_PROTECTED_BODY ? MIN_PROTECTED_BODY : body_len;
    if (cost > c->hs.early_skip_budget)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    c->hs.early_skip_budget -= (uint32_t)cost;
    return IOTLS_OK;
}

static int process_record(iotls_conn *c)
{
    uint8_t *record = rx_record(c);
    uint8_t outer_type = record[0];
    size_t body_len = c->rx_len - IOTLS_RECORD_HEADER_LEN;
    c->bytes_in += c->rx_len;
    c->records_in++;

    if (outer_type == IOTLS_CT_CHANGE_CIPHER_SPEC)
        return on_ccs(c, record + IOTLS_RECORD_HEADER_LEN, body_len);

    uint8_t type = outer_type;
    uint8_t *content = record + IOTLS_RECORD_HEADER_LEN;
    size_t content_len = body_len;
    if (c->rd.active) {
        if (outer_type == IOTLS_CT_ALERT && !c->handshake_done && content_len == 2 &&
            content[1] != IOTLS_ALERT_CLOSE_NOTIFY && content[1] != IOTLS_ALERT_USER_CANCELED) {
            /* A peer that failed before installing its keys sends its fatal
             * alert in the clear; report it as the alert it is. (A plaintext
             * close_notify is not accepted: that would allow truncation.) */
            return on_alert(c, content, content_len);
        }
        if (outer_type != IOTLS_CT_APPLICATION_DATA)
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        int rc = iotls__record_open(&c->rd, record, c->rx_len, &type, &content, &content_len);
        /* 0-RTT data we declined; never between the records of one
         * handshake message (RFC 8446 5.1), where it is a bad record. */
        if (rc == IOTLS_ERR_BAD_RECORD_MAC && c->hs.skip_early_data &&
            iotls__hs_reasm_pending(&c->reasm) == 0)
            return skip_early_record(c, body_len);
        if (rc != IOTLS_OK)
            return rc;
        /* RFC 8449 4: the inner plaintext (content, type, padding) is at
         * most our limit plus the content type byte. */
        if (body_len - iotls__record_tag_len(&c->rd) > c->max_record_in + 1)
            return IOTLS_ERR_RECORD_OVERFLOW;
        c->hs.skip_early_data = 0;
    } else if (outer_type == IOTLS_CT_APPLICATION_DATA) {
        /* 0-RTT records that follow a ClientHello we answered with a
         * HelloRetryRequest arrive before any read keys: skip them within
         * the budget (RFC 8446 4.2.10); otherwise nothing may be protected
         * yet. */
        if (!c->hs.skip_early_data || iotls__hs_reasm_pending(&c->reasm) != 0)
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        return skip_early_record(c, body_len);
    }

    if (type != IOTLS_CT_HANDSHAKE && iotls__hs_reasm_pending(&c->reasm) != 0)
        return IOTLS_ERR_UNEXPECTED_MESSAGE; /* interleaved with a partial message */

    switch (type) {
    case IOTLS_CT_HANDSHAKE:
        if (content_len == 0)
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        /* In rx: the payload joins the part held at the front, right
         * before the record's header. */
        if (rx_front(c) > 0) {
            memmove(record, content, content_len);
            content = record;
        }
        return on_handshake_payload(c, content, content_len);
    case IOTLS_CT_ALERT:
        /* RFC 8446 5.4: an empty alert record, padded or not, is
         * unexpected_message; other wrong lengths are decode_error (6). */
        if (content_len == 0)
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        return on_alert(c, content, content_len);
    case IOTLS_CT_APPLICATION_DATA:
        if (c->rd_epoch == IOTLS_EPOCH_EARLY && c->role == IOTLS_ROLE_SERVER) {
            /* Accepted 0-RTT data: delivered before the handshake ends,
             * within the ticket's max_early_data_size (RFC 8446 4.2.10). */
            if (content_len > c->early_max - c->early_bytes)
                return IOTLS_ERR_UNEXPECTED_MESSAGE;
            c->early_bytes += (uint32_t)content_len;
        } else if (!c->handshake_done) {
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        }
        if (c->close_notify_received)
            return IOTLS_ERR_UNEXPECTED_MESSAGE;
        if (content_len == 0) {
            if (++c->empty_records_in_row > IOTLS_MAX_EMPTY_RECORDS)
                return IOTLS_ERR_TOO_MANY_EMPTY;
            return IOTLS_OK;
        }
        c->empty_records_in_row = 0;
        c->key_updates_in_row = 0;
        c->app = content;
        c->app_len = content_len;
        c->rx_hold = 1;
        return IOTLS_OK;
    case IOTLS_CT_CHANGE_CIPHER_SPEC:
        return IOTLS_ERR_UNEXPECTED_MESSAGE; /* a protected CCS */
    default:
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    }
}

/* How many more bytes the record being received needs (the rest of its
 * header, or of its body once the header is in); 0 when the engine takes
 * nothing now. */
/* The body length the complete header in rx announces, checked (a record
 * over our record size does not fit rx: record_overflow). */
static int rx_body_len(const iotls_conn *c, size_t *body_len)
{
    uint8_t type;
    /* Declined 0-RTT records skipped before any read keys (after a
     * HelloRetryRequest) are protected records all the same: up to
     * 2^14 + 256 bytes (RFC 8446 5.2). */
    int protected_expected =
        c->rd.active || (c->hs.skip_early_data && rx_record(c)[0] == IOTLS_CT_APPLICATION_DATA);
    int rc = iotls__record_header(rx_record(c), c->rx_len, protected_expected, &type, body_len);
    if (rc == IOTLS_OK && *body_len + IOTLS_RECORD_HEADER_LEN > c->rx_cap)
        rc = IOTLS_ERR_RECORD_OVERFLOW;
    /* Reassembly in rx: a record within our limit that does not fit behind
     * the part of a message held at the front. The peer broke no rule. */
    else if (rc == IOTLS_OK && *body_len + IOTLS_RECORD_HEADER_LEN > c->rx_cap - rx_front(c))
        rc = IOTLS_ERR_REASSEMBLY_ROOM;
    return rc;
}

static int rx_want(iotls_conn *c, size_t *want)
{
    *want = 0;
    if (c->rx_hold || c->close_notify_received)
        return IOTLS_OK; /* the application must read first / nothing more to take */
    /* Processing a record may produce a flight or an answer: keep the
     * output drained during the handshake so it always fits. */
    if (!c->handshake_done && c->tx_len != c->tx_pos)
        return IOTLS_OK;
    if (c->handshake_done && iotls__conn_tx_free(c) < 256)
        return IOTLS_OK;
    if (c->rx_len < IOTLS_RECORD_HEADER_LEN) {
        *want = IOTLS_RECORD_HEADER_LEN - c->rx_len;
        return IOTLS_OK;
    }
    size_t body_len;
    int rc = rx_body_len(c, &body_len);
    if (rc == IOTLS_OK)
        *want = IOTLS_RECORD_HEADER_LEN + body_len - c->rx_len;
    return rc;
}

/* n more bytes of the current record are in rx: check a completed header,
 * process a completed record. */
static int rx_advance(iotls_conn *c, size_t n, size_t want)
{
    c->rx_len += n;
    if (n < want)
        return IOTLS_OK;
    if (c->rx_len == IOTLS_RECORD_HEADER_LEN) {
        /* Header complete: validate now so the body length is known,
         * and handle an empty body (only legal for application data,
         * which still carries the AEAD tag, so never empty here). */
        size_t body_len;
        int rc = rx_body_len(c, &body_len);
        if (rc != IOTLS_OK)
            return iotls__conn_fail(c, rc);
        if (body_len != 0)
            return IOTLS_OK;
    }
    int rc = process_record(c);
    if (!c->rx_hold)
        c->rx_len = 0;
    if (rc != IOTLS_OK && rc != IOTLS_ERR_ALERT_RECEIVED)
        return iotls__conn_fail(c, rc);
    return rc;
}

/* The copying input: the zero-copy steps of input_space / input_commit
 * (below) with a copy between them, for transports that already hold the
 * bytes. Each record is processed and returns before the send states run
 * (role_advance), so its frame is not under theirs. */
int iotls_conn_input(iotls_conn *c, const uint8_t *data, size_t len, size_t *used)
{
    *used = 0;
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->rx)
        return IOTLS_ERR_BAD_STATE; /* buffers detached: attach them first */
    while (*used < len) {
        size_t want;
        int rc = rx_want(c, &want);
        if (rc != IOTLS_OK)
            return iotls__conn_fail(c, rc);
        if (want == 0)
            break; /* the engine takes nothing now */
        size_t take = len - *used < want ? len - *used : want;
        memcpy(rx_record(c) + c->rx_len, data + *used, take);
        iotls__conn_rx_written(c, rx_front(c) + c->rx_len + take);
        *used += take;
        rc = rx_advance(c, take, want);
        if (rc == IOTLS_OK)
            rc = role_advance(c);
        if (rc != IOTLS_OK)
            return rc;
    }
    return IOTLS_OK;
}

uint8_t *iotls_conn_input_space(iotls_conn *c, size_t *cap)
{
    *cap = 0;
    if (c->error != IOTLS_OK || !c->rx)
        return NULL;
    size_t want;
    int rc = rx_want(c, &want);
    if (rc != IOTLS_OK) {
        iotls__conn_fail(c, rc);
        return NULL;
    }
    if (want == 0)
        return NULL;
    *cap = want;
    /* The transport may fill all of it. */
    iotls__conn_rx_written(c, rx_front(c) + c->rx_len + want);
    return rx_record(c) + c->rx_len;
}

int iotls_conn_input_commit(iotls_conn *c, size_t n)
{
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->rx)
        return IOTLS_ERR_BAD_STATE; /* buffers detached: attach them first */
    size_t want;
    int rc = rx_want(c, &want);
    if (rc != IOTLS_OK)
        return iotls__conn_fail(c, rc);
    if (n > want)
        return IOTLS_ERR_BAD_ARG;
    if (n == 0)
        return IOTLS_OK;
    rc = rx_advance(c, n, want);
    return rc == IOTLS_OK ? role_advance(c) : rc;
}

int iotls_conn_read(iotls_conn *c, uint8_t *buf, size_t cap, size_t *n)
{
    *n = 0;
    if (c->app_len > 0) {
        size_t take = cap < c->app_len ? cap : c->app_len;
        memcpy(buf, c->app, take);
        c->app += take;
        c->app_len -= take;
        *n = take;
        if (c->app_len == 0) {
            /* The record is consumed: wipe its plaintext, free rx. */
            iotls__wipe(c->rx, c->rx_len);
            c->rx_hold = 0;
            c->rx_len = 0;
            c->app = NULL;
        }
        return IOTLS_OK;
    }
    if (c->close_notify_received)
        return IOTLS_OK; /* *n == 0: the end of the stream, as read() */
    if (c->error != IOTLS_OK)
        return c->error;
    return IOTLS_WANT_READ;
}

int iotls_conn_early_data_status(const iotls_conn *c)
{
    return c ? c->early_status : 0;
}
