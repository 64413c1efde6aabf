/* TLS 1.3 key schedule, RFC 8446 section 7.1 to 7.3, as written there:
 *
 *              0
 *              |
 *   PSK ->  HKDF-Extract = Early Secret  --> binder_key, c e traffic
 *              |
 *        Derive-Secret(., "derived", "")
 *              |
 * (EC)DHE -> HKDF-Extract = Handshake Secret --> c hs traffic, s hs traffic
 *              |
 *        Derive-Secret(., "derived", "")
 *              |
 *   0 -> HKDF-Extract = Master Secret --> c ap traffic, s ap traffic,
 *                                         exp master, res master
 *
 * Each stage secret is wiped as soon as the next stage has been derived
 * from it: nothing after the handshake secret needs the early secret, and
 * so on. The traffic secrets stay until iotls__ks_wipe. */
#include "keysched.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "buf.h"
#include "iotls/error.h"

#define LABEL_PREFIX "tls13 "
#define LABEL_PREFIX_LEN 6
/* HkdfLabel: uint16 length, label<7..255>, context<0..255>. */
#define MAX_HKDF_LABEL_LEN (2 + 1 + 255 + 1 + 255)
/* Longest label iotls__hkdf_expand_label takes, without "tls13 ": RFC 8446's
 * are at most 12 characters ("c hs traffic"), the others ours. */
#define EXPAND_LABEL_MAX 32
#define EXPAND_LABEL_INFO_MAX (2 + 1 + LABEL_PREFIX_LEN + EXPAND_LABEL_MAX + 1 + 255)

/* Only the two hashes of the TLS 1.3 cipher suites have a schedule. */
static size_t schedule_hash_len(iotls_hash_alg alg)
{
    if (alg != IOTLS_HASH_SHA256 && alg != IOTLS_HASH_SHA384)
        return 0;
    return iotls__hash_len(alg);
}

/* The key length belongs to the cipher suite (RFC 8446 appendix B.4), so
 * the schedule knows it without asking the AEAD provider. */
static size_t suite_key_len(iotls_aead_alg aead)
{
    switch (aead) {
    case IOTLS_AEAD_AES_128_GCM:
    case IOTLS_AEAD_AES_128_CCM:
    case IOTLS_AEAD_AES_128_CCM_8:
        return 16;
    case IOTLS_AEAD_AES_256_GCM:
    case IOTLS_AEAD_CHACHA20_POLY1305:
        return 32;
    default:
        return 0;
    }
}

int iotls__hkdf_label(const char *label, const uint8_t *context, size_t context_len, size_t out_len,
                      uint8_t *info, size_t info_cap, size_t *info_len)
{
    if (!label || (!context && context_len > 0) || !info || !info_len)
        return IOTLS_ERR_BAD_ARG;
    size_t label_len = strlen(label);
    if (label_len == 0 || label_len > 255 - LABEL_PREFIX_LEN || context_len > 255 ||
        out_len > 0xFFFF)
        return IOTLS_ERR_BAD_ARG;

    iotls_writer w;
    iotls__wr_init(&w, info, info_cap);
    iotls__wr_u16(&w, (uint16_t)out_len);
    size_t mark = iotls__wr_vec_begin(&w, 1);
    iotls__wr_bytes(&w, LABEL_PREFIX, LABEL_PREFIX_LEN);
    iotls__wr_bytes(&w, label, label_len);
    iotls__wr_vec_end(&w, mark, 1);
    mark = iotls__wr_vec_begin(&w, 1);
    iotls__wr_bytes(&w, context, context_len);
    iotls__wr_vec_end(&w, mark, 1);
    int rc = iotls__wr_error(&w);
    if (rc != IOTLS_OK)
        return rc;
    *info_len = w.len;
    return IOTLS_OK;
}

int iotls__hkdf_expand_label(iotls_hash_alg alg, const uint8_t *secret, const char *label,
                             const uint8_t *context, size_t context_len, uint8_t *out,
                             size_t out_len)
{
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0 || !secret || !out)
        return IOTLS_ERR_BAD_ARG;
    /* Sized for the engine's labels, not for any label HkdfLabel allows:
     * this buffer is under the provider's HKDF on most of the deepest call
     * paths (docs/stack.md). */
    uint8_t info[EXPAND_LABEL_INFO_MAX];
    size_t info_len = 0;
    if (strlen(label) > EXPAND_LABEL_MAX)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__hkdf_label(label, context, context_len, out_len, info, sizeof(info), &info_len);
    if (rc == IOTLS_OK)
        rc = iotls__hkdf_expand(alg, secret, hash_len, info, info_len, out, out_len);
    /* The context can be a transcript hash or a ticket nonce: not secret,
     * but the label buffer is wiped anyway so no stack copy outlives us. */
    iotls__wipe(info, sizeof(info));
    return rc;
}

int iotls__derive_secret(iotls_hash_alg alg, const uint8_t *secret, const char *label,
                         const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0 || !transcript_hash)
        return IOTLS_ERR_BAD_ARG;
    return iotls__hkdf_expand_label(alg, secret, label, transcript_hash, hash_len, out, hash_len);
}

/* Derive-Secret(secret, label, "") needs Hash of the empty string. */
static int derive_secret_empty(iotls_hash_alg alg, const uint8_t *secret, const char *label,
                               uint8_t *out)
{
    uint8_t empty_hash[IOTLS_MAX_HASH_LEN];
    int rc = iotls__hash(alg, NULL, 0, empty_hash);
    if (rc == IOTLS_OK)
        rc = iotls__derive_secret(alg, secret, label, empty_hash, out);
    return rc;
}

int iotls__traffic_keys(iotls_hash_alg alg, iotls_aead_alg aead, const uint8_t *traffic_secret,
                        uint8_t *key, size_t key_len, uint8_t iv[IOTLS_AEAD_NONCE_LEN])
{
    size_t want_key_len = suite_key_len(aead);
    if (want_key_len == 0 || key_len != want_key_len || !key || !iv)
        return IOTLS_ERR_BAD_ARG;
    int rc = iotls__hkdf_expand_label(alg, traffic_secret, "key", NULL, 0, key, key_len);
    if (rc == IOTLS_OK)
        rc = iotls__hkdf_expand_label(alg, traffic_secret, "iv", NULL, 0, iv, IOTLS_AEAD_NONCE_LEN);
    if (rc != IOTLS_OK) {
        iotls__wipe(key, key_len);
        iotls__wipe(iv, IOTLS_AEAD_NONCE_LEN);
    }
    return rc;
}

int iotls__finished_verify_data(iotls_hash_alg alg, const uint8_t *base_key,
                                const uint8_t *transcript_hash, uint8_t *out)
{
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0 || !transcript_hash || !out)
        return IOTLS_ERR_BAD_ARG;
    uint8_t finished_key[IOTLS_MAX_HASH_LEN];
    int rc = iotls__hkdf_expand_label(alg, base_key, "finished", NULL, 0, finished_key, hash_len);
    if (rc == IOTLS_OK)
        rc = iotls__hmac(alg, finished_key, hash_len, transcript_hash, hash_len, out);
    iotls__wipe(finished_key, sizeof(finished_key));
    return rc;
}

int iotls__next_traffic_secret(iotls_hash_alg alg, const uint8_t *secret, uint8_t *out)
{
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0 || !out)
        return IOTLS_ERR_BAD_ARG;
    /* Through a temporary so that out may alias secret. */
    uint8_t next[IOTLS_MAX_HASH_LEN];
    int rc = iotls__hkdf_expand_label(alg, secret, "traffic upd", NULL, 0, next, hash_len);
    if (rc == IOTLS_OK)
        memcpy(out, next, hash_len);
    iotls__wipe(next, sizeof(next));
    return rc;
}

int iotls__resumption_psk(iotls_hash_alg alg, const uint8_t *res_master, const uint8_t *nonce,
                          size_t nonce_len, uint8_t *out)
{
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0)
        return IOTLS_ERR_BAD_ARG;
    return iotls__hkdf_expand_label(alg, res_master, "resumption", nonce, nonce_len, out, hash_len);
}

/* ---- the walk for one connection ---- */

static int ks_ready(const iotls_key_schedule *ks)
{
    return ks && ks->hash_len != 0 && ks->hash_len == schedule_hash_len(ks->alg);
}

int iotls__ks_init(iotls_key_schedule *ks, iotls_hash_alg alg, const uint8_t *psk, size_t psk_len)
{
    if (!ks)
        return IOTLS_ERR_BAD_ARG;
    iotls__ks_wipe(ks);
    size_t hash_len = schedule_hash_len(alg);
    if (hash_len == 0 || (!psk && psk_len > 0))
        return IOTLS_ERR_BAD_ARG;
    /* Without a PSK the IKM is HashLen zeros (RFC 8446 section 7.1). */
    uint8_t zeros[IOTLS_MAX_HASH_LEN];
    memset(zeros, 0, sizeof(zeros));
    if (!psk || psk_len == 0) {
        psk = zeros;
        psk_len = hash_len;
    }
    int rc = iotls__hkdf_extract(alg, NULL, 0, psk, psk_len, ks->early_secret);
    if (rc != IOTLS_OK) {
        iotls__ks_wipe(ks);
        return rc;
    }
    ks->alg = alg;
    ks->hash_len = hash_len;
    return IOTLS_OK;
}

int iotls__ks_binder_key(const iotls_key_schedule *ks, bool ext_psk, uint8_t *out)
{
    if (!ks_ready(ks) || !out)
        return IOTLS_ERR_BAD_STATE;
    return derive_secret_empty(ks->alg, ks->early_secret, ext_psk ? "ext binder" : "res binder",
                               out);
}

int iotls__ks_early_traffic(iotls_key_schedule *ks, const uint8_t *ch_hash)
{
    if (!ks_ready(ks))
        return IOTLS_ERR_BAD_STATE;
    return iotls__derive_secret(ks->alg, ks->early_secret, "c e traffic", ch_hash,
                                ks->client_early_traffic);
}

/* One step down the schedule (RFC 8446 7.1): to = HKDF-Extract(
 * Derive-Secret(from, "derived", ""), ikm), then the client's and the
 * server's traffic secrets from to and the transcript hash. Shared by the
 * handshake and master steps (smaller code than two copies). */
static int ks_step(const iotls_key_schedule *ks, const uint8_t *from, const uint8_t *ikm,
                   size_t ikm_len, uint8_t *to, const char *client_label, uint8_t *client_out,
                   const char *server_label, uint8_t *server_out, const uint8_t *hash)
{
    uint8_t derived[IOTLS_MAX_HASH_LEN];
    int rc = derive_secret_empty(ks->alg, from, "derived", derived);
    if (rc == IOTLS_OK)
        rc = iotls__hkdf_extract(ks->alg, derived, ks->hash_len, ikm, ikm_len, to);
    if (rc == IOTLS_OK)
        rc = iotls__derive_secret(ks->alg, to, client_label, hash, client_out);
    if (rc == IOTLS_OK)
        rc = iotls__derive_secret(ks->alg, to, server_label, hash, server_out);
    iotls__wipe(derived, sizeof(derived));
    return rc;
}

int iotls__ks_handshake(iotls_key_schedule *ks, const uint8_t *dhe, size_t dhe_len,
                        const uint8_t *ch_sh_hash)
{
    if (!ks_ready(ks))
        return IOTLS_ERR_BAD_STATE;
    if (!ch_sh_hash || (!dhe && dhe_len > 0))
        return IOTLS_ERR_BAD_ARG;
    uint8_t zeros[IOTLS_MAX_HASH_LEN];
    memset(zeros, 0, sizeof(zeros));
    if (!dhe || dhe_len == 0) {
        dhe = zeros;
        dhe_len = ks->hash_len;
    }
    int rc = ks_step(ks, ks->early_secret, dhe, dhe_len, ks->handshake_secret, "c hs traffic",
                     ks->client_hs_traffic, "s hs traffic", ks->server_hs_traffic, ch_sh_hash);
    if (rc == IOTLS_OK) {
        iotls__wipe(ks->early_secret, sizeof(ks->early_secret));
    } else {
        iotls__wipe(ks->handshake_secret, sizeof(ks->handshake_secret));
        iotls__wipe(ks->client_hs_traffic, sizeof(ks->client_hs_traffic));
        iotls__wipe(ks->server_hs_traffic, sizeof(ks->server_hs_traffic));
    }
    return rc;
}

int iotls__ks_master(iotls_key_schedule *ks, const uint8_t *ch_sf_hash)
{
    if (!ks_ready(ks))
        return IOTLS_ERR_BAD_STATE;
    if (!ch_sf_hash)
        return IOTLS_ERR_BAD_ARG;
    uint8_t zeros[IOTLS_MAX_HASH_LEN];
    memset(zeros, 0, sizeof(zeros));
    int rc =
        ks_step(ks, ks->handshake_secret, zeros, ks->hash_len, ks->master_secret, "c ap traffic",
                ks->client_app_traffic, "s ap traffic", ks->server_app_traffic, ch_sf_hash);
    if (rc == IOTLS_OK)
        rc = iotls__derive_secret(ks->alg, ks->master_secret, "exp master", ch_sf_hash,
                                  ks->exporter_master);
    if (rc == IOTLS_OK) {
        iotls__wipe(ks->handshake_secret, sizeof(ks->handshake_secret));
    } else {
        iotls__wipe(ks->master_secret, sizeof(ks->master_secret));
        iotls__wipe(ks->client_app_traffic, sizeof(ks->client_app_traffic));
        iotls__wipe(ks->server_app_traffic, sizeof(ks->server_app_traffic));
        iotls__wipe(ks->exporter_master, sizeof(ks->exporter_master));
    }
    return rc;
}

int iotls__ks_resumption(iotls_key_schedule *ks, const uint8_t *ch_cf_hash)
{
    if (!ks_ready(ks))
        return IOTLS_ERR_BAD_STATE;
    int rc = iotls__derive_secret(ks->alg, ks->master_secret, "res master", ch_cf_hash,
                                  ks->resumption_master);
    if (rc == IOTLS_OK)
        iotls__wipe(ks->master_secret, sizeof(ks->master_secret));
    else
        iotls__wipe(ks->resumption_master, sizeof(ks->resumption_master));
    return rc;
}

void iotls__ks_wipe(iotls_key_schedule *ks)
{
    if (ks)
        iotls__wipe(ks, sizeof(*ks));
}
