/* Client sessions: the ticket kept for resumption and its serialisation
 * (format in include/iotls/session.h). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "crypto/crypto.h"
#include "iotls/error.h"
#include "iotls/session.h"
#include "session_ref.h"

#define SESSION_VERSION 1
#define SESSION_DIGEST_LEN 32
static const uint8_t session_magic[4] = {'I', 'O', 'T', 'S'};

/* RFC 8446 4.6.1: no ticket lives longer than 7 days. */
#define MAX_LIFETIME_S 604800u

size_t iotls__session_ticket_room(const iotls_config *cfg)
{
    size_t max_hs = cfg->max_handshake ? cfg->max_handshake : IOTLS_DEFAULT_MAX_HANDSHAKE;
    size_t room = cfg->max_ticket ? cfg->max_ticket : IOTLS_SESSION_MAX_TICKET;
    return max_hs < room ? max_hs : room;
}

int iotls_session_from_ticket(iotls_session *s, const iotls_ticket *t)
{
    if (!s || !t || !t->ticket || t->ticket_len == 0 || t->ticket_len > IOTLS_SESSION_MAX_TICKET ||
        !t->psk || t->psk_len == 0 || t->psk_len > IOTLS_SESSION_MAX_PSK)
        return IOTLS_ERR_BAD_ARG;
    size_t name_len = t->server_name ? strlen(t->server_name) : 0;
    if (name_len > IOTLS_SESSION_MAX_NAME)
        return IOTLS_ERR_BAD_ARG;
    memset(s, 0, sizeof *s);
    s->suite = t->cipher_suite;
    s->lifetime = t->lifetime;
    s->age_add = t->age_add;
    s->received_ms = t->received_ms;
    s->max_early_data = t->max_early_data;
    memcpy(s->psk, t->psk, t->psk_len);
    s->psk_len = t->psk_len;
    memcpy(s->ticket, t->ticket, t->ticket_len);
    s->ticket_len = t->ticket_len;
    if (name_len > 0)
        memcpy(s->server_name, t->server_name, name_len);
    s->server_name[name_len] = '\0';
    return IOTLS_OK;
}

/* The trailer: SHA-256 of the blob, or HMAC-SHA256 under a device key. */
static int trailer(const uint8_t *key, size_t key_len, const uint8_t *data, size_t len,
                   uint8_t out[SESSION_DIGEST_LEN])
{
    if (key && key_len > 0)
        return iotls__hmac(IOTLS_HASH_SHA256, key, key_len, data, len, out);
    return iotls__hash(IOTLS_HASH_SHA256, data, len, out);
}

int iotls_session_save(const iotls_session *s, uint8_t *out, size_t cap, size_t *len)
{
    return iotls_session_save_keyed(s, NULL, 0, out, cap, len);
}

int iotls_session_save_keyed(const iotls_session *s, const uint8_t *key, size_t key_len,
                             uint8_t *out, size_t cap, size_t *len)
{
    if (!s || !out || !len || s->psk_len == 0 || s->psk_len > IOTLS_SESSION_MAX_PSK ||
        s->ticket_len == 0 || s->ticket_len > IOTLS_SESSION_MAX_TICKET)
        return IOTLS_ERR_BAD_ARG;
    size_t name_len = strlen(s->server_name);
    if (name_len > IOTLS_SESSION_MAX_NAME)
        return IOTLS_ERR_BAD_ARG;
    iotls_writer w;
    iotls__wr_init(&w, out, cap);
    iotls__wr_bytes(&w, session_magic, sizeof session_magic);
    iotls__wr_u8(&w, SESSION_VERSION);
    iotls__wr_u16(&w, s->suite);
    iotls__wr_u32(&w, s->lifetime);
    iotls__wr_u32(&w, s->age_add);
    iotls__wr_u32(&w, (uint32_t)(s->received_ms >> 32));
    iotls__wr_u32(&w, (uint32_t)s->received_ms);
    iotls__wr_u32(&w, s->max_early_data);
    iotls__wr_u8(&w, (uint8_t)s->psk_len);
    iotls__wr_bytes(&w, s->psk, s->psk_len);
    iotls__wr_u16(&w, (uint16_t)s->ticket_len);
    iotls__wr_bytes(&w, s->ticket, s->ticket_len);
    iotls__wr_u8(&w, (uint8_t)name_len);
    iotls__wr_bytes(&w, s->server_name, name_len);
    uint8_t *digest = iotls__wr_reserve(&w, SESSION_DIGEST_LEN);
    int rc = iotls__wr_error(&w);
    if (rc != IOTLS_OK)
        return rc;
    rc = trailer(key, key_len, out, w.len - SESSION_DIGEST_LEN, digest);
    if (rc == IOTLS_OK)
        *len = w.len;
    return rc;
}

static int lifetime_passed(uint64_t received_ms, uint32_t lifetime, uint64_t now_ms)
{
    if (now_ms == 0)
        return 0;
    if (now_ms < received_ms)
        return 0; /* the clock went back: the server judges the age */
    return now_ms - received_ms >= (uint64_t)lifetime * 1000u;
}

int iotls_session_expired(const iotls_session *s, uint64_t now_ms)
{
    return lifetime_passed(s->received_ms, s->lifetime, now_ms);
}

int iotls__session_ref_parse(iotls_session_ref *s, const uint8_t *key, size_t key_len,
                             const uint8_t *blob, size_t len, uint64_t now_ms)
{
    uint8_t digest[SESSION_DIGEST_LEN];
    if (!s || (!blob && len > 0))
        return IOTLS_ERR_BAD_ARG;
    memset(s, 0, sizeof *s);
    if (len < sizeof session_magic + SESSION_DIGEST_LEN)
        return IOTLS_ERR_SESSION_INVALID;
    if (trailer(key, key_len, blob, len - SESSION_DIGEST_LEN, digest) != IOTLS_OK)
        return IOTLS_ERR_CRYPTO;
    /* Constant time: with a device key the trailer is a MAC. */
    if (iotls__ct_memcmp(digest, blob + len - SESSION_DIGEST_LEN, SESSION_DIGEST_LEN) != 0)
        return IOTLS_ERR_SESSION_INVALID;

    iotls_reader r;
    iotls_bytes magic, psk, ticket, name;
    uint8_t version;
    uint32_t hi, lo;
    iotls__rd_init(&r, blob, len - SESSION_DIGEST_LEN);
    if (iotls__rd_bytes(&r, sizeof session_magic, &magic) != IOTLS_OK ||
        memcmp(magic.p, session_magic, sizeof session_magic) != 0 ||
        iotls__rd_u8(&r, &version) != IOTLS_OK || version != SESSION_VERSION ||
        iotls__rd_u16(&r, &s->suite) != IOTLS_OK || iotls__rd_u32(&r, &s->lifetime) != IOTLS_OK ||
        iotls__rd_u32(&r, &s->age_add) != IOTLS_OK || iotls__rd_u32(&r, &hi) != IOTLS_OK ||
        iotls__rd_u32(&r, &lo) != IOTLS_OK || iotls__rd_u32(&r, &s->max_early_data) != IOTLS_OK ||
        iotls__rd_vec8(&r, 1, IOTLS_SESSION_MAX_PSK, &psk) != IOTLS_OK ||
        iotls__rd_vec16(&r, 1, IOTLS_SESSION_MAX_TICKET, &ticket) != IOTLS_OK ||
        iotls__rd_vec8(&r, 0, IOTLS_SESSION_MAX_NAME, &name) != IOTLS_OK ||
        iotls__rd_done(&r) != IOTLS_OK)
        goto invalid;
    iotls_hash_alg alg = iotls__suite_hash(s->suite);
    if (alg == IOTLS_HASH_NONE || psk.len != iotls__hash_len(alg) || s->lifetime > MAX_LIFETIME_S ||
        (name.len > 0 && memchr(name.p, 0, name.len) != NULL))
        goto invalid;
    s->received_ms = ((uint64_t)hi << 32) | lo;
    memcpy(s->psk, psk.p, psk.len);
    s->psk_len = psk.len;
    s->ticket = ticket.p;
    s->ticket_len = ticket.len;
    s->server_name = name.p;
    s->server_name_len = name.len;
    if (lifetime_passed(s->received_ms, s->lifetime, now_ms)) {
        iotls__wipe(s, sizeof *s);
        return IOTLS_ERR_SESSION_EXPIRED;
    }
    return IOTLS_OK;
invalid:
    iotls__wipe(s, sizeof *s);
    return IOTLS_ERR_SESSION_INVALID;
}

int iotls_session_load(iotls_session *s, const uint8_t *blob, size_t len, uint64_t now_ms)
{
    return iotls_session_load_keyed(s, NULL, 0, blob, len, now_ms);
}

int iotls_session_load_keyed(iotls_session *s, const uint8_t *key, size_t key_len,
                             const uint8_t *blob, size_t len, uint64_t now_ms)
{
    if (!s || (!blob && len > 0))
        return IOTLS_ERR_BAD_ARG;
    memset(s, 0, sizeof *s);
    iotls_session_ref ref;
    int rc = iotls__session_ref_parse(&ref, key, key_len, blob, len, now_ms);
    if (rc != IOTLS_OK)
        return rc;
    s->suite = ref.suite;
    s->lifetime = ref.lifetime;
    s->age_add = ref.age_add;
    s->received_ms = ref.received_ms;
    s->max_early_data = ref.max_early_data;
    memcpy(s->psk, ref.psk, ref.psk_len);
    s->psk_len = ref.psk_len;
    memcpy(s->ticket, ref.ticket, ref.ticket_len);
    s->ticket_len = ref.ticket_len;
    if (ref.server_name_len > 0)
        memcpy(s->server_name, ref.server_name, ref.server_name_len);
    s->server_name[ref.server_name_len] = '\0';
    iotls__wipe(&ref, sizeof ref);
    return IOTLS_OK;
}

void iotls_session_wipe(iotls_session *s)
{
    if (s)
        iotls__wipe(s, sizeof *s);
}
