/* The HelloRetryRequest cookie of a server (iotls_config_set_hrr_cookie),
 * the transcript rebuilt from it (the format is described in cookie.h),
 * and the digest of the ClientHello fields that must not change, which
 * the cookie's tag binds and a server without cookie keeps. */
#include <string.h>

#include "cookie.h"

#define COOKIE_VERSION 1
#define COOKIE_TAG_LEN 32
#define COOKIE_HEAD_LEN 6
_Static_assert(IOTLS_COOKIE_MAX_LEN == COOKIE_HEAD_LEN + IOTLS_MAX_HASH_LEN + COOKIE_TAG_LEN,
               "cookie.h's size is the format's");
#define FIELDS_DIGEST_LEN IOTLS_HRR_FIELDS_LEN

/* Longest HelloRetryRequest we write: header, version, random, session id,
 * suite, compression, extensions (supported_versions, key_share, cookie). */
#define HRR_MAX_LEN (4 + 2 + 32 + 33 + 2 + 1 + 2 + 6 + 6 + 6 + IOTLS_COOKIE_MAX_LEN)

static int digest_field(iotls_hash_ctx *h, const uint8_t *p, size_t len)
{
    uint8_t prefix[4] = {(uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
                         (uint8_t)len};
    int rc = iotls__hash_update(h, prefix, sizeof prefix);
    if (rc == IOTLS_OK && len > 0)
        rc = iotls__hash_update(h, p, len);
    return rc;
}

/* SHA-256 over the ClientHello fields that must not change between the
 * two ClientHellos (RFC 8446 4.1.2 lists what may: key_share, early_data,
 * cookie, pre_shared_key, padding). Each field is length-prefixed, and the
 * presence of the optional extensions is part of the digest. */
int iotls__hrr_fields_digest(const iotls_client_hello *ch, uint8_t out[IOTLS_HRR_FIELDS_LEN])
{
    const uint32_t bound =
        IOTLS_EXT_BIT(IOTLS_EXTID_SERVER_NAME) | IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_GROUPS) |
        IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS) | IOTLS_EXT_BIT(IOTLS_EXTID_ALPN) |
        IOTLS_EXT_BIT(IOTLS_EXTID_SUPPORTED_VERSIONS) |
        IOTLS_EXT_BIT(IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES) |
        IOTLS_EXT_BIT(IOTLS_EXTID_SIGNATURE_ALGORITHMS_CERT);
    uint32_t present = ch->exts_seen & bound;
    uint8_t head[6] = {
        (uint8_t)(ch->legacy_version >> 8), (uint8_t)ch->legacy_version, (uint8_t)(present >> 24),
        (uint8_t)(present >> 16),           (uint8_t)(present >> 8),     (uint8_t)present};
    const iotls_bytes *fields[] = {
        &ch->random,
        &ch->session_id,
        &ch->cipher_suites,
        &ch->compression_methods,
        &ch->server_name,
        &ch->supported_versions,
        &ch->supported_groups,
        &ch->signature_algorithms,
        &ch->signature_algorithms_cert,
        &ch->alpn,
        &ch->psk_modes,
    };
    iotls_hash_ctx h;
    memset(&h, 0, sizeof h);
    int rc = iotls__hash_init(&h, IOTLS_HASH_SHA256);
    if (rc == IOTLS_OK)
        rc = iotls__hash_update(&h, head, sizeof head);
    for (size_t i = 0; rc == IOTLS_OK && i < sizeof fields / sizeof fields[0]; i++)
        rc = digest_field(&h, fields[i]->p, fields[i]->len);
    if (rc == IOTLS_OK)
        rc = iotls__hash_snapshot(&h, out);
    iotls__hash_free(&h);
    return rc;
}

static int has_ext(const iotls_client_hello *ch, enum iotls_ext_id id)
{
    return (ch->exts_seen & IOTLS_EXT_BIT(id)) != 0;
}

/* The config's key (iotls_config_set_hrr_cookie makes sure it has one),
 * shared by its connections. */
static const uint8_t *cookie_key(const iotls_conn *c)
{
    return c->cfg->has_cookie_key ? c->cfg->cookie_key : NULL;
}

/* tag = HMAC-SHA256(key, head_and_hash || fields digest of ch). */
static int cookie_tag(const uint8_t *key, const uint8_t *cookie, size_t body_len,
                      const iotls_client_hello *ch, uint8_t tag[COOKIE_TAG_LEN])
{
    uint8_t input[COOKIE_HEAD_LEN + IOTLS_MAX_HASH_LEN + FIELDS_DIGEST_LEN];
    if (body_len > COOKIE_HEAD_LEN + IOTLS_MAX_HASH_LEN)
        return IOTLS_ERR_INTERNAL;
    memcpy(input, cookie, body_len);
    int rc = iotls__hrr_fields_digest(ch, input + body_len);
    if (rc == IOTLS_OK)
        rc = iotls__hmac(IOTLS_HASH_SHA256, key, IOTLS_COOKIE_KEY_LEN, input,
                         body_len + FIELDS_DIGEST_LEN, tag);
    iotls__wipe(input, sizeof input);
    return rc;
}

int iotls__cookie_make(const iotls_conn *c, const iotls_client_hello *ch, uint16_t suite,
                       uint16_t group, const uint8_t *ch1_hash, size_t hash_len, uint8_t *cookie,
                       size_t *cookie_len)
{
    if (!cookie_key(c))
        return IOTLS_ERR_INTERNAL;
    cookie[0] = COOKIE_VERSION;
    cookie[1] = (uint8_t)(suite >> 8);
    cookie[2] = (uint8_t)suite;
    cookie[3] = (uint8_t)(group >> 8);
    cookie[4] = (uint8_t)group;
    cookie[5] = (uint8_t)hash_len;
    memcpy(cookie + COOKIE_HEAD_LEN, ch1_hash, hash_len);
    size_t body_len = COOKIE_HEAD_LEN + hash_len;
    int rc = cookie_tag(cookie_key(c), cookie, body_len, ch, cookie + body_len);
    if (rc == IOTLS_OK)
        *cookie_len = body_len + COOKIE_TAG_LEN;
    return rc;
}

int iotls__cookie_open(const iotls_conn *c, const iotls_client_hello *ch2, uint16_t *suite,
                       uint16_t *group, iotls_bytes *ch1_hash)
{
    const uint8_t *key = cookie_key(c);
    const uint8_t *p = ch2->cookie.p;
    size_t len = ch2->cookie.len;
    if (!key || !has_ext(ch2, IOTLS_EXTID_COOKIE) || len < COOKIE_HEAD_LEN + COOKIE_TAG_LEN)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    size_t hash_len = p[5];
    if (p[0] != COOKIE_VERSION || hash_len > IOTLS_MAX_HASH_LEN ||
        len != COOKIE_HEAD_LEN + hash_len + COOKIE_TAG_LEN)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    uint8_t tag[COOKIE_TAG_LEN];
    int rc = cookie_tag(key, p, COOKIE_HEAD_LEN + hash_len, ch2, tag);
    if (rc != IOTLS_OK)
        return rc;
    int differs = iotls__ct_memcmp(tag, p + COOKIE_HEAD_LEN + hash_len, COOKIE_TAG_LEN);
    iotls__wipe(tag, sizeof tag);
    if (differs)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    *suite = (uint16_t)((p[1] << 8) | p[2]);
    *group = (uint16_t)((p[3] << 8) | p[4]);
    if (iotls__hash_len(iotls__suite_hash(*suite)) != hash_len)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    ch1_hash->p = p + COOKIE_HEAD_LEN;
    ch1_hash->len = hash_len;
    return IOTLS_OK;
}

void iotls__hrr_params(iotls_server_hello_params *hp, const uint8_t *session_id,
                       size_t session_id_len, uint16_t suite, uint16_t group, const uint8_t *cookie,
                       size_t cookie_len)
{
    memset(hp, 0, sizeof *hp);
    hp->random = iotls_hrr_random;
    hp->is_hrr = 1;
    hp->session_id_echo = session_id;
    hp->session_id_len = session_id_len;
    hp->cipher_suite = suite;
    hp->key_share_group = group;
    /* No cookie (the default): no cookie extension. */
    hp->cookie = cookie_len > 0 ? cookie : NULL;
    hp->cookie_len = cookie_len;
}

int iotls__hrr_rebuild_transcript(iotls_conn *c, const iotls_client_hello *ch2, uint16_t suite,
                                  uint16_t group, iotls_bytes ch1_hash)
{
    uint8_t synthetic[IOTLS_HS_HEADER_LEN + IOTLS_MAX_HASH_LEN];
    synthetic[0] = IOTLS_HS_MESSAGE_HASH;
    synthetic[1] = 0;
    synthetic[2] = 0;
    synthetic[3] = (uint8_t)ch1_hash.len;
    memcpy(synthetic + IOTLS_HS_HEADER_LEN, ch1_hash.p, ch1_hash.len);

    uint8_t hrr[HRR_MAX_LEN];
    iotls_writer w;
    iotls__wr_init(&w, hrr, sizeof hrr);
    iotls_server_hello_params hp;
    iotls__hrr_params(&hp, ch2->session_id.p, ch2->session_id.len, suite, group, ch2->cookie.p,
                      ch2->cookie.len);
    int rc = iotls__server_hello_write(&w, &hp);
    if (rc == IOTLS_OK)
        rc = iotls__wr_error(&w);
    if (rc != IOTLS_OK)
        return rc;

    iotls__transcript_free(&c->transcript);
    rc = iotls__transcript_init(&c->transcript);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_select(&c->transcript, iotls__suite_hash(suite));
    if (rc == IOTLS_OK)
        rc =
            iotls__transcript_update(&c->transcript, synthetic, IOTLS_HS_HEADER_LEN + ch1_hash.len);
    if (rc == IOTLS_OK)
        rc = iotls__transcript_update(&c->transcript, hrr, w.len);
    return rc;
}
