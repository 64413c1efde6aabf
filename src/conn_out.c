/* The sending half of the engine driver: handshake messages into hs_out,
 * records into tx, key switches, alerts, application writes, KeyUpdate and
 * close_notify. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"
#include "msg/msg.h"
#include "scratch.h"

/* Largest AEAD expansion of one record: header, content type byte, tag. */
#define RECORD_OVERHEAD (IOTLS_RECORD_HEADER_LEN + 1 + IOTLS_AEAD_TAG_LEN)

static void tx_compact(iotls_conn *c)
{
    if (c->tx_pos == 0)
        return;
    size_t left = c->tx_len - c->tx_pos;
    /* Messages built in tx after the records move with them. */
    size_t move = left;
    if (c->hs_out_len > 0)
        move = (size_t)(c->hs_out + c->hs_out_len - c->tx) - c->tx_pos;
    if (move > 0)
        memmove(c->tx, c->tx + c->tx_pos, move);
    if (c->hs_out_len > 0)
        c->hs_out -= c->tx_pos;
    iotls__conn_tx_written(c);
    c->tx_len = left;
    c->tx_pos = 0;
}

size_t iotls__conn_tx_free(iotls_conn *c)
{
    tx_compact(c);
    return c->tx_cap - c->tx_len;
}

size_t iotls__conn_in_place_room(size_t avail)
{
    /* The messages start one record header in (where their first record's
     * header goes); every further record of 512 B or more needs its
     * header, content type and tag, kept free at the end. */
    size_t reserve =
        IOTLS_RECORD_HEADER_LEN + RECORD_OVERHEAD * (avail / IOTLS_MIN_FRAGMENT_SIZED + 1);
    return avail > reserve ? avail - reserve : 0;
}

static void count_out(iotls_conn *c, size_t bytes, size_t records)
{
    c->bytes_out += bytes;
    c->records_out += records;
}

void iotls__conn_hs_writer(iotls_conn *c, iotls_writer *w)
{
    /* Messages and their scratch (iotls__conn_scratch, at the far end of
     * the free space) go anywhere in tx: rare after the handshake
     * (tickets, KeyUpdate), so the release wipes everything. */
    c->wipe_whole_block = 1;
    if (c->hs_out_len == 0) {
        /* A flight's first message goes right after the queued records. */
        tx_compact(c);
        c->hs_out = c->tx + c->tx_len + IOTLS_RECORD_HEADER_LEN;
        c->hs_out_cap = iotls__conn_in_place_room(c->tx_cap - c->tx_len);
    }
    iotls__wr_init(w, c->hs_out + c->hs_out_len, c->hs_out_cap - c->hs_out_len);
}

static int hs_commit(iotls_conn *c, iotls_writer *w, int add_to_transcript)
{
    if (iotls__wr_error(w) != IOTLS_OK)
        return IOTLS_ERR_FLIGHT_TOO_LARGE; /* our own message does not fit tx */
    if (w->len < IOTLS_HS_HEADER_LEN)
        return IOTLS_ERR_INTERNAL;
    const uint8_t *msg = c->hs_out + c->hs_out_len;
    if (add_to_transcript) {
        int rc = iotls__transcript_update(&c->transcript, msg, w->len);
        if (rc != IOTLS_OK)
            return rc;
    }
    if (c->last_dir != 1) {
        c->flights_out++;
        c->last_dir = 1;
    }
    iotls__conn_event(c, IOTLS_EV_HS_SENT, msg[0], w->len, 0, NULL);
    c->hs_out_len += w->len;
    return IOTLS_OK;
}

int iotls__conn_hs_commit(iotls_conn *c, iotls_writer *w)
{
    return hs_commit(c, w, 1);
}

int iotls__conn_hs_commit_raw(iotls_conn *c, iotls_writer *w)
{
    return hs_commit(c, w, 0);
}

int iotls__conn_flush(iotls_conn *c)
{
    if (c->hs_out_len == 0)
        return IOTLS_OK;
    tx_compact(c);
    size_t written = 0;
    uint64_t seq_before = c->wr.seq;
    if (c->hs_out != c->tx + c->tx_len + IOTLS_RECORD_HEADER_LEN)
        return IOTLS_ERR_INTERNAL; /* tx changed under messages built in it */
    int rc = iotls__record_write_fragmented_in_place(&c->wr, IOTLS_CT_HANDSHAKE, c->tx + c->tx_len,
                                                     c->hs_out_len, c->max_record_out,
                                                     c->tx_cap - c->tx_len, &written);
    /* More records than tx was sized for: a peer record limit below 512. */
    if (rc != IOTLS_OK)
        return rc == IOTLS_ERR_BUFFER_TOO_SMALL ? IOTLS_ERR_FLIGHT_TOO_LARGE : rc;
    size_t records = c->wr.active ? (size_t)(c->wr.seq - seq_before)
                                  : (c->hs_out_len + c->max_record_out - 1) / c->max_record_out;
    c->tx_len += written;
    count_out(c, written, records);
    c->hs_out_len = 0;
    return IOTLS_OK;
}

int iotls__conn_send_ccs(iotls_conn *c)
{
    static const uint8_t ccs[] = {IOTLS_CT_CHANGE_CIPHER_SPEC, 0x03, 0x03, 0x00, 0x01, 0x01};
    int rc = iotls__conn_flush(c);
    if (rc != IOTLS_OK)
        return rc;
    if (iotls__conn_tx_free(c) < sizeof ccs)
        return IOTLS_ERR_INTERNAL;
    memcpy(c->tx + c->tx_len, ccs, sizeof ccs);
    c->tx_len += sizeof ccs;
    c->ccs_sent = true;
    count_out(c, sizeof ccs, 1);
    iotls__conn_event(c, IOTLS_EV_CCS_SENT, 0, 1, 0, NULL);
    return IOTLS_OK;
}

static const char *epoch_name(int epoch)
{
    switch (epoch) {
    case IOTLS_EPOCH_EARLY:
        return "early";
    case IOTLS_EPOCH_HANDSHAKE:
        return "handshake";
    case IOTLS_EPOCH_APPLICATION:
        return "application";
    default:
        return "plaintext";
    }
}

static int install_keys(iotls_conn *c, iotls_record_cipher *rc_out, const uint8_t *secret)
{
    uint8_t key[IOTLS_MAX_AEAD_KEY_LEN];
    uint8_t iv[IOTLS_AEAD_NONCE_LEN];
    size_t key_len = iotls__aead_key_len(c->aead);
    if (key_len == 0 || c->hash == IOTLS_HASH_NONE)
        return IOTLS_ERR_INTERNAL;
    int rc = iotls__traffic_keys(c->hash, c->aead, secret, key, key_len, iv);
    if (rc == IOTLS_OK) {
        iotls__record_cipher_free(rc_out);
        rc = iotls__record_cipher_init(rc_out, c->aead, key, key_len, iv);
    }
    iotls__wipe(key, sizeof key);
    iotls__wipe(iv, sizeof iv);
    return rc;
}

int iotls__conn_set_read_secret(iotls_conn *c, const uint8_t *secret, int epoch)
{
    /* RFC 8446 5.1: handshake messages must not span a key change. */
    if (iotls__hs_reasm_pending(&c->reasm) != 0)
        return IOTLS_ERR_UNEXPECTED_MESSAGE;
    int rc = install_keys(c, &c->rd, secret);
    if (rc != IOTLS_OK)
        return rc;
    c->rd_epoch = epoch;
    c->rd_keys_gen++;
    iotls__conn_event(c, IOTLS_EV_KEYS_READ, 0, 0, epoch, epoch_name(epoch));
    return IOTLS_OK;
}

int iotls__conn_set_write_secret(iotls_conn *c, const uint8_t *secret, int epoch)
{
    /* Whatever was committed under the old keys leaves under them. */
    int rc = iotls__conn_flush(c);
    if (rc != IOTLS_OK)
        return rc;
    rc = install_keys(c, &c->wr, secret);
    if (rc != IOTLS_OK)
        return rc;
    c->wr_epoch = epoch;
    iotls__conn_event(c, IOTLS_EV_KEYS_WRITE, 0, 0, epoch, epoch_name(epoch));
    return IOTLS_OK;
}

/* Seals one record of content into tx. */
static int send_record(iotls_conn *c, uint8_t type, const uint8_t *data, size_t len)
{
    tx_compact(c);
    size_t written = 0;
    int rc = iotls__record_seal(&c->wr, type, data, len, 0, c->tx + c->tx_len,
                                c->tx_cap - c->tx_len, &written);
    if (rc != IOTLS_OK)
        return rc;
    c->tx_len += written;
    count_out(c, written, 1);
    return IOTLS_OK;
}

/* The most early data iotls__conn_send_early_records takes into free_bytes
 * of tx: records of max_record_out, each with at most RECORD_OVERHEAD,
 * behind the 64 bytes it leaves free. */
size_t iotls__conn_early_fit(const iotls_conn *c, size_t free_bytes)
{
    if (free_bytes <= 64 + RECORD_OVERHEAD)
        return 0;
    size_t room = free_bytes - 64;
    size_t per_record = c->max_record_out + RECORD_OVERHEAD;
    size_t fit = room / per_record * c->max_record_out;
    size_t rest = room % per_record;
    if (rest > RECORD_OVERHEAD)
        fit += rest - RECORD_OVERHEAD;
    return fit;
}

int iotls__conn_send_early_records(iotls_conn *c, const uint8_t *data, size_t len)
{
    int rc = iotls__conn_flush(c);
    if (rc != IOTLS_OK)
        return rc;
    size_t need = 0;
    for (size_t off = 0; off < len; off += c->max_record_out) {
        size_t chunk = len - off < c->max_record_out ? len - off : c->max_record_out;
        need += iotls__record_sealed_len(&c->wr, chunk, 0);
    }
    if (!c->wr.active || iotls__conn_tx_free(c) < need + 64)
        return IOTLS_ERR_BAD_ARG;
    for (size_t off = 0; off < len && rc == IOTLS_OK; off += c->max_record_out) {
        size_t chunk = len - off < c->max_record_out ? len - off : c->max_record_out;
        rc = send_record(c, IOTLS_CT_APPLICATION_DATA, data + off, chunk);
    }
    return rc;
}

int iotls__conn_send_alert(iotls_conn *c, int description)
{
    uint8_t alert[2];
    int warning =
        description == IOTLS_ALERT_CLOSE_NOTIFY || description == IOTLS_ALERT_USER_CANCELED;
    alert[0] = warning ? 1 : 2;
    alert[1] = (uint8_t)description;
    /* A fatal alert replaces whatever handshake data was still unsent. */
    if (!warning) {
        iotls__wipe(c->hs_out, c->hs_out_len);
        c->hs_out_len = 0;
    } else {
        int rc = iotls__conn_flush(c);
        if (rc != IOTLS_OK)
            return rc;
    }
    if (iotls__conn_tx_free(c) < RECORD_OVERHEAD + sizeof alert) {
        /* Make room: an unsent fatal alert matters more than unsent data. */
        if (warning)
            return IOTLS_WANT_WRITE;
        iotls__conn_tx_written(c);
        c->tx_len = c->tx_pos = 0;
    }
    int rc = send_record(c, IOTLS_CT_ALERT, alert, sizeof alert);
    if (rc == IOTLS_OK) {
        c->alert_sent = description;
        iotls__conn_event(c, IOTLS_EV_ALERT_SENT, 0, 2, description, NULL);
    }
    return rc;
}

int iotls__conn_fail(iotls_conn *c, int err)
{
    if (c->error != IOTLS_OK)
        return c->error;
    c->error = err;
    int alert = iotls_error_alert(err);
    /* A configuration found unusable once the handshake runs (the one an
     * SNI callback chose has no certificate): our fault, the peer broke no
     * rule, but it must learn that the handshake is over. (Before a
     * connection exists, IOTLS_ERR_CONFIG sends nothing: there is no one
     * to tell.) */
    if (err == IOTLS_ERR_CONFIG)
        alert = IOTLS_ALERT_INTERNAL_ERROR;
    if (alert >= 0 && !c->close_notify_sent)
        (void)iotls__conn_send_alert(c, alert);
    /* Nothing secret is needed any more except the keys that sealed the
     * alert, which go now too. */
    iotls__conn_wipe_secrets(c);
    return err;
}

/* Our application traffic secret, in the key schedule. */
static uint8_t *own_app_secret(iotls_conn *c)
{
    return c->role == IOTLS_ROLE_CLIENT ? c->ks.client_app_traffic : c->ks.server_app_traffic;
}

int iotls__conn_send_key_update(iotls_conn *c, int request_peer)
{
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    int rc = iotls__key_update_write(&w, request_peer);
    if (rc == IOTLS_OK)
        rc = iotls__conn_hs_commit_raw(c, &w);
    if (rc == IOTLS_OK)
        rc = iotls__conn_flush(c);
    if (rc != IOTLS_OK)
        return rc;
    uint8_t *secret = own_app_secret(c);
    rc = iotls__next_traffic_secret(c->hash, secret, secret);
    if (rc == IOTLS_OK)
        rc = iotls__conn_set_write_secret(c, secret, IOTLS_EPOCH_APPLICATION);
    if (rc == IOTLS_OK) {
        c->key_updates_sent++;
        /* The peer owes us one KeyUpdate for each request: those answers
         * are no flood (on_key_update), even many in a row when the peer
         * sends no data otherwise (one-way traffic, automatic updates). */
        if (request_peer && c->key_update_answers_owed < UINT32_MAX)
            c->key_update_answers_owed++;
        iotls__conn_event(c, IOTLS_EV_KEY_UPDATE, IOTLS_HS_KEY_UPDATE, 0, 1, NULL);
    }
    c->key_update_pending = 0;
    return rc;
}

int iotls_conn_write(iotls_conn *c, const uint8_t *data, size_t len, size_t *n)
{
    *n = 0;
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->handshake_done || c->close_notify_sent || !c->rx)
        return IOTLS_ERR_BAD_STATE;
    if (c->key_update_pending) {
        if (iotls__conn_tx_free(c) < 64)
            return IOTLS_WANT_WRITE;
        int rc = iotls__conn_send_key_update(c, 0);
        if (rc != IOTLS_OK)
            return iotls__conn_fail(c, rc);
    }
    uint64_t key_limit = iotls__config_key_update_limit(c->cfg, c->aead);
    while (*n < len) {
        if (c->wr.seq >= key_limit) {
            /* RFC 8446 5.5: a fresh write key before the AEAD's limit; ask
             * the peer to rotate too (its answer is one small record). */
            if (iotls__conn_tx_free(c) < 64)
                break;
            int rc = iotls__conn_send_key_update(c, 1);
            if (rc != IOTLS_OK)
                return iotls__conn_fail(c, rc);
        }
        size_t chunk = len - *n;
        if (chunk > c->max_record_out)
            chunk = c->max_record_out;
        size_t need = iotls__record_sealed_len(&c->wr, chunk, 0);
        if (iotls__conn_tx_free(c) < need) {
            /* Take a smaller piece rather than nothing when some room is left. */
            size_t room = c->tx_cap - c->tx_len;
            if (room <= RECORD_OVERHEAD + 256)
                break;
            chunk = room - RECORD_OVERHEAD;
        }
        int rc = send_record(c, IOTLS_CT_APPLICATION_DATA, data + *n, chunk);
        if (rc != IOTLS_OK)
            return iotls__conn_fail(c, rc);
        *n += chunk;
    }
    return *n > 0 || len == 0 ? IOTLS_OK : IOTLS_WANT_WRITE;
}

int iotls_conn_close(iotls_conn *c)
{
    if (c->close_notify_sent)
        return IOTLS_OK;
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->rx)
        return IOTLS_ERR_BAD_STATE; /* buffers detached: attach them first */
    int rc = iotls__conn_send_alert(c, IOTLS_ALERT_CLOSE_NOTIFY);
    if (rc == IOTLS_OK)
        c->close_notify_sent = 1;
    return rc;
}

int iotls_conn_key_update(iotls_conn *c, int request_peer)
{
    if (c->error != IOTLS_OK)
        return c->error;
    if (!c->handshake_done || c->close_notify_sent || !c->rx)
        return IOTLS_ERR_BAD_STATE;
    if (iotls__conn_tx_free(c) < 64)
        return IOTLS_WANT_WRITE;
    int rc = iotls__conn_send_key_update(c, request_peer);
    return rc == IOTLS_OK ? rc : iotls__conn_fail(c, rc);
}

const uint8_t *iotls_conn_output(const iotls_conn *c, size_t *len)
{
    *len = c->tx_len - c->tx_pos;
    return *len ? c->tx + c->tx_pos : NULL;
}

void iotls_conn_output_consume(iotls_conn *c, size_t n)
{
    size_t left = c->tx_len - c->tx_pos;
    c->tx_pos += n < left ? n : left;
    if (c->tx_pos == c->tx_len) {
        iotls__conn_tx_written(c);
        c->tx_pos = c->tx_len = 0;
    }
}

void *iotls__conn_scratch(iotls_writer *w, size_t need)
{
    if (w->err != IOTLS_OK || w->cap - w->len < need + 15u)
        return NULL;
    uintptr_t end = (uintptr_t)(w->p + w->cap);
    size_t at = (size_t)(((end - need) & ~(uintptr_t)15u) - (uintptr_t)w->p);
    w->cap = at;
    return w->p + at;
}

int iotls__conn_send_certificate_verify(iotls_conn *c, iotls_pkey *key, uint16_t scheme,
                                        int by_server)
{
    /* 64 spaces, the 34-byte context string with its 0x00, the hash. */
    const size_t content_len = 64 + 34 + c->hash_len;
    /* The message as iotls__certificate_verify_write makes it, with the
     * signature written by the provider right where the message holds
     * it, and the signed content in the scratch region (src/scratch.h):
     * a 512-byte signature buffer and the content on the stack would
     * sit under the deepest call of the handshake (docs/stack.md). */
    iotls_writer w;
    iotls__conn_hs_writer(c, &w);
    size_t msg = iotls__msg_begin(&w, IOTLS_HS_CERTIFICATE_VERIFY);
    iotls__wr_u16(&w, scheme);
    size_t mark = iotls__wr_vec_begin(&w, 2);
    int rc = iotls__wr_error(&w);
    struct iotls_scratch_cv *cv = NULL;
    if (rc == IOTLS_OK) {
        cv = iotls__conn_scratch(&w, sizeof *cv);
        if (cv == NULL || w.cap == w.len)
            rc = IOTLS_ERR_BUFFER_TOO_SMALL;
    }
    size_t content_used = 0;
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hash(&c->transcript, cv->hash);
    if (rc == IOTLS_OK)
        rc = iotls__certificate_verify_content(by_server, cv->hash, c->hash_len, cv->content,
                                               content_len, &content_used);
    size_t room = rc == IOTLS_OK ? w.cap - w.len : 0;
    size_t sig_len = 0;
    if (room > IOTLS_MAX_SIGNATURE_LEN)
        room = IOTLS_MAX_SIGNATURE_LEN;
    if (rc == IOTLS_OK)
        rc = iotls__pkey_sign(key, scheme, cv->content, content_used, w.p + w.len, room, &sig_len);
    if (cv != NULL)
        iotls__wipe(cv, sizeof *cv);
    if (rc != IOTLS_OK)
        return rc;
    iotls__wr_reserve(&w, sig_len);
    iotls__wr_vec_end(&w, mark, 2);
    iotls__msg_end(&w, msg);
    rc = iotls__wr_error(&w);
    return rc == IOTLS_OK ? iotls__conn_hs_commit(c, &w) : rc;
}
