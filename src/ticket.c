/* A server's stateless session tickets: sealing, opening and key rotation
 * (the format and the derivation are described in ticket.h). */
#include <string.h>

#include "msg/msg.h"
#include "ticket.h"

#define TICKET_VERSION 3
#define TICKET_NAME_LEN 16
#define TICKET_PREFIX_LEN 8
#define TICKET_KEY_LEN 32
#define TICKET_MASTER_LEN 48
_Static_assert(sizeof(((iotls_config *)0)->ticket_master) == TICKET_MASTER_LEN,
               "the config holds the 48-byte master");
#define TICKET_KEY_LABEL "iotls ticket key"
#define TICKET_NAME_LABEL "iotls ticket name"
_Static_assert(IOTLS_TICKET_MAX_LEN == TICKET_NAME_LEN + IOTLS_AEAD_NONCE_LEN +
                                           IOTLS_TICKET_PLAIN_MAX + IOTLS_AEAD_TAG_LEN,
               "ticket.h's size counts the key name");
/* Our largest ticket (693 bytes) must fit a device's session. */
_Static_assert(IOTLS_TICKET_MAX_LEN <= IOTLS_SESSION_MAX_TICKET,
               "ticket too large for iotls_session");

static uint64_t ticket_period_ms(const iotls_config *cfg)
{
    uint32_t period_s =
        cfg->ticket_rotation_s ? cfg->ticket_rotation_s : IOTLS_DEFAULT_TICKET_ROTATION_S;
    return (uint64_t)period_s * 1000u;
}

uint32_t iotls__ticket_lifetime_s(const iotls_config *cfg)
{
    uint32_t period_s =
        cfg->ticket_rotation_s ? cfg->ticket_rotation_s : IOTLS_DEFAULT_TICKET_ROTATION_S;
    return cfg->ticket_lifetime < period_s ? cfg->ticket_lifetime : period_s;
}

static void put_be64(uint8_t out[8], uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        out[i] = (uint8_t)v;
        v >>= 8;
    }
}

static uint64_t get_be64(const uint8_t in[8])
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | in[i];
    return v;
}

/* HKDF-Expand-SHA256(master, label [|| be64(period)]); with_period 0 for
 * the key name prefix, which is the same in every period. */
static int ticket_derive(const iotls_config *cfg, const char *label, int with_period,
                         uint64_t period, uint8_t *out, size_t out_len)
{
    uint8_t info[32];
    size_t label_len = strlen(label);
    size_t info_len = label_len;
    memcpy(info, label, label_len);
    if (with_period) {
        put_be64(info + label_len, period);
        info_len += 8;
    }
    return iotls__hkdf_expand(IOTLS_HASH_SHA256, cfg->ticket_master, sizeof cfg->ticket_master,
                              info, info_len, out, out_len);
}

/* The AEAD context for period's key; the derived key is wiped here. */
static int ticket_aead(const iotls_config *cfg, uint64_t period, iotls_aead_ctx *aead)
{
    uint8_t key[TICKET_KEY_LEN];
    int rc = ticket_derive(cfg, TICKET_KEY_LABEL, 1, period, key, sizeof key);
    if (rc == IOTLS_OK)
        rc = iotls__aead_init(aead, IOTLS_AEAD_AES_256_GCM, key, sizeof key);
    iotls__wipe(key, sizeof key);
    return rc;
}

int iotls__ticket_seal(const iotls_config *cfg, uint64_t now, const iotls__ticket_body *t,
                       const iotls_peer_id *client, uint8_t *out, size_t *out_len)
{
    uint8_t *plain = out + TICKET_NAME_LEN + IOTLS_AEAD_NONCE_LEN;
    iotls_writer w;
    iotls__wr_init(&w, plain, IOTLS_TICKET_PLAIN_MAX);
    iotls__wr_u8(&w, TICKET_VERSION);
    iotls__wr_u16(&w, t->suite);
    iotls__wr_u8(&w, (uint8_t)t->psk_len);
    iotls__wr_bytes(&w, t->psk, t->psk_len);
    iotls__wr_u32(&w, t->age_add);
    iotls__wr_u32(&w, (uint32_t)(t->issued_ms >> 32));
    iotls__wr_u32(&w, (uint32_t)t->issued_ms);
    iotls__wr_u32(&w, t->lifetime);
    iotls__wr_bytes(&w, t->sni_digest, sizeof t->sni_digest);
    iotls__wr_u32(&w, t->max_early_data);
    size_t alpn_len = strlen(t->alpn);
    iotls__wr_u8(&w, (uint8_t)alpn_len);
    iotls__wr_bytes(&w, (const uint8_t *)t->alpn, alpn_len);
    iotls__wr_u8(&w, client != NULL);
    if (client != NULL) {
        size_t subject_len = strlen(client->subject);
        if (subject_len > IOTLS_PEER_SUBJECT_MAX)
            subject_len = IOTLS_PEER_SUBJECT_MAX;
        iotls__wr_bytes(&w, client->spki_sha256, sizeof client->spki_sha256);
        iotls__wr_u8(&w, (uint8_t)subject_len);
        iotls__wr_bytes(&w, (const uint8_t *)client->subject, subject_len);
    }
    int rc = iotls__wr_error(&w);
    uint64_t period = now / ticket_period_ms(cfg);
    if (rc == IOTLS_OK)
        rc = ticket_derive(cfg, TICKET_NAME_LABEL, 0, 0, out, TICKET_PREFIX_LEN);
    put_be64(out + TICKET_PREFIX_LEN, period);
    if (rc == IOTLS_OK)
        rc = iotls__random(out + TICKET_NAME_LEN, IOTLS_AEAD_NONCE_LEN);
    iotls_aead_ctx aead;
    memset(&aead, 0, sizeof aead);
    if (rc == IOTLS_OK)
        rc = ticket_aead(cfg, period, &aead);
    if (rc == IOTLS_OK) {
        rc = iotls__aead_seal(&aead, out + TICKET_NAME_LEN, out, TICKET_NAME_LEN, plain, w.len,
                              plain);
        iotls__aead_free(&aead);
    }
    if (rc == IOTLS_OK)
        *out_len = TICKET_NAME_LEN + IOTLS_AEAD_NONCE_LEN + w.len + IOTLS_AEAD_TAG_LEN;
    else
        iotls__wipe(plain, IOTLS_TICKET_PLAIN_MAX); /* not sealed: still the PSK in the clear */
    return rc;
}

int iotls__ticket_open(const iotls_config *cfg, uint64_t now, iotls_bytes ticket,
                       iotls__ticket_body *t, iotls_peer_id *client,
                       uint8_t plain[IOTLS_TICKET_PLAIN_MAX])
{
    uint8_t prefix[TICKET_PREFIX_LEN];
    size_t head = TICKET_NAME_LEN + IOTLS_AEAD_NONCE_LEN;
    if (ticket.len < head + IOTLS_AEAD_TAG_LEN || ticket.len > IOTLS_TICKET_MAX_LEN)
        return IOTLS_ERR_DECODE;
    /* Another master's ticket, or one whose key has rotated out (or is not
     * in use yet: a future period is never accepted, whatever its tag). */
    uint64_t current = now / ticket_period_ms(cfg);
    uint64_t period = get_be64(ticket.p + TICKET_PREFIX_LEN);
    if (period != current && (current == 0 || period != current - 1))
        return IOTLS_ERR_DECODE;
    int rc = ticket_derive(cfg, TICKET_NAME_LABEL, 0, 0, prefix, sizeof prefix);
    if (rc == IOTLS_OK && iotls__ct_memcmp(ticket.p, prefix, sizeof prefix) != 0)
        rc = IOTLS_ERR_DECODE;
    if (rc != IOTLS_OK)
        return rc;
    size_t plain_len = ticket.len - head - IOTLS_AEAD_TAG_LEN;
    iotls_aead_ctx aead;
    memset(&aead, 0, sizeof aead);
    rc = ticket_aead(cfg, period, &aead);
    if (rc == IOTLS_OK) {
        rc = iotls__aead_open(&aead, ticket.p + TICKET_NAME_LEN, ticket.p, TICKET_NAME_LEN,
                              ticket.p + head, ticket.len - head, plain);
        iotls__aead_free(&aead);
    }
    if (rc != IOTLS_OK)
        return rc;
    iotls_reader r;
    iotls_bytes psk;
    iotls_bytes alpn;
    iotls_bytes subject = {NULL, 0};
    uint8_t version, client_auth = 0;
    uint32_t hi, lo;
    iotls__rd_init(&r, plain, plain_len);
    if (iotls__rd_u8(&r, &version) != IOTLS_OK || version != TICKET_VERSION ||
        iotls__rd_u16(&r, &t->suite) != IOTLS_OK ||
        iotls__rd_vec8(&r, 1, IOTLS_MAX_HASH_LEN, &psk) != IOTLS_OK ||
        iotls__rd_u32(&r, &t->age_add) != IOTLS_OK || iotls__rd_u32(&r, &hi) != IOTLS_OK ||
        iotls__rd_u32(&r, &lo) != IOTLS_OK || iotls__rd_u32(&r, &t->lifetime) != IOTLS_OK ||
        iotls__rd_copy(&r, t->sni_digest, sizeof t->sni_digest) != IOTLS_OK ||
        iotls__rd_u32(&r, &t->max_early_data) != IOTLS_OK ||
        iotls__rd_vec8(&r, 0, 255, &alpn) != IOTLS_OK ||
        iotls__rd_u8(&r, &client_auth) != IOTLS_OK || client_auth > 1 ||
        (client_auth &&
         (iotls__rd_copy(&r, client->spki_sha256, sizeof client->spki_sha256) != IOTLS_OK ||
          iotls__rd_vec8(&r, 0, IOTLS_PEER_SUBJECT_MAX, &subject) != IOTLS_OK)) ||
        iotls__rd_done(&r) != IOTLS_OK) {
        rc = IOTLS_ERR_DECODE;
    } else {
        memcpy(t->psk, psk.p, psk.len);
        t->psk_len = psk.len;
        t->issued_ms = ((uint64_t)hi << 32) | lo;
        memcpy(t->alpn, alpn.p, alpn.len);
        t->alpn[alpn.len] = '\0';
        t->client_auth = client_auth != 0;
        if (subject.len > 0)
            memcpy(client->subject, subject.p, subject.len);
        client->subject[subject.len] = '\0';
    }
    iotls__wipe(plain, IOTLS_TICKET_PLAIN_MAX);
    return rc;
}

int iotls__ticket_sni_digest(const char *server_name, uint8_t out[IOTLS_TICKET_SNI_DIGEST_LEN])
{
    return iotls__hash(IOTLS_HASH_SHA256, (const uint8_t *)server_name, strlen(server_name), out);
}
