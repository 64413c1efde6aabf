/* What a server makes of a ClientHello: the checks every ClientHello must
 * pass, the suite, group, signature scheme and ALPN we choose, the PSK we
 * accept (one of our tickets or the external PSK, with its binder) and
 * whether early data is accepted. Both ClientHellos of server.c go through
 * iotls__sv_negotiate. No message is written here. */
#include <string.h>

#include "scratch.h"
#include "server_negotiate.h"
#include "ticket.h"

/* Bytes of declined 0-RTT records skipped before giving up: the 16 KiB
 * OpenSSL and others allow by default, plus record overhead. */
#define EARLY_SKIP_BUDGET (16384u + 4096u)

static int has_ext(const iotls_client_hello *ch, enum iotls_ext_id id)
{
    return (ch->exts_seen & IOTLS_EXT_BIT(id)) != 0;
}

/* Checks every ClientHello must pass, before anything is negotiated. */
static int check_client_hello(const iotls_client_hello *ch)
{
    /* RFC 8446 4.2.1: only supported_versions decides the version. Without
     * it the client speaks TLS 1.2 or older, which we do not. */
    if (!has_ext(ch, IOTLS_EXTID_SUPPORTED_VERSIONS) ||
        !iotls__u16_list_contains(ch->supported_versions, IOTLS_TLS13))
        return IOTLS_ERR_PROTOCOL_VERSION;
    /* legacy_version: RFC 8446 D.5 demands protocol_version for 0x0300 or
     * less (SSL 3.0 and below). Anything else than 0x0303 next to a
     * supported_versions offering TLS 1.3 breaks 4.1.2's "MUST be set to
     * 0x0303": a malformed TLS 1.3 ClientHello, so illegal_parameter (the
     * field is not used for negotiation, 4.2.1, so protocol_version would
     * misdescribe it). */
    if ((ch->legacy_version >> 8) != 0x03 || ch->legacy_version <= 0x0300)
        return IOTLS_ERR_PROTOCOL_VERSION;
    if (ch->legacy_version != IOTLS_TLS12)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* RFC 8446 4.1.2: exactly one compression method, null. */
    if (ch->compression_methods.len != 1 || ch->compression_methods.p[0] != 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    /* RFC 8446 9.2 mandatory-to-implement extensions. signature_algorithms
     * is not among them here: it is required only when we authenticate with
     * a certificate (4.2.3, 9.2), which a PSK handshake does not, so a
     * client without ECC may leave it out (pick_sig_scheme checks it). */
    int has_psk = has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY);
    int has_groups = has_ext(ch, IOTLS_EXTID_SUPPORTED_GROUPS);
    int has_shares = has_ext(ch, IOTLS_EXTID_KEY_SHARE);
    if (has_psk && !has_ext(ch, IOTLS_EXTID_PSK_KEY_EXCHANGE_MODES))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (!has_psk && !has_ext(ch, IOTLS_EXTID_SIGNATURE_ALGORITHMS))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (!has_psk && (!has_groups || !has_shares))
        return IOTLS_ERR_MISSING_EXTENSION;
    if (has_groups != has_shares)
        return IOTLS_ERR_MISSING_EXTENSION;

    /* RFC 8446 4.2.8: no share for a group the client does not list. */
    size_t pos = 0;
    iotls_key_share_entry entry;
    while (iotls__key_share_next(ch->key_shares, &pos, &entry))
        if (!iotls__u16_list_contains(ch->supported_groups, entry.group))
            return IOTLS_ERR_ILLEGAL_PARAMETER;
    return IOTLS_OK;
}

/* ---------------- negotiation ---------------- */

static int suite_ok(const iotls_config *cfg, uint16_t suite)
{
    for (size_t i = 0; i < cfg->suite_count; i++)
        if (cfg->suites[i] == suite)
            return iotls__suite_hash(suite) != IOTLS_HASH_NONE;
    return 0;
}

static int group_ok(const iotls_config *cfg, uint16_t group)
{
    for (size_t i = 0; i < cfg->group_count; i++)
        if (cfg->groups[i] == group)
            return iotls__kex_supported(group);
    return 0;
}

/* Our preference: the first of our suites the client offers (of hash
 * alg, unless IOTLS_HASH_NONE). */
static uint16_t pick_suite_of(const iotls_config *cfg, const iotls_client_hello *ch,
                              iotls_hash_alg alg)
{
    for (size_t i = 0; i < cfg->suite_count; i++)
        if (iotls__suite_hash(cfg->suites[i]) != IOTLS_HASH_NONE &&
            (alg == IOTLS_HASH_NONE || iotls__suite_hash(cfg->suites[i]) == alg) &&
            iotls__u16_list_contains(ch->cipher_suites, cfg->suites[i]))
            return cfg->suites[i];
    return 0;
}

static uint16_t pick_suite(const iotls_config *cfg, const iotls_client_hello *ch)
{
    return pick_suite_of(cfg, ch, IOTLS_HASH_NONE);
}

/* 1 when identity is our external PSK's. Compared in constant time (the
 * length is no secret: it shows on the wire). */
static int is_ext_psk_identity(const iotls_config *cfg, iotls_bytes identity)
{
    return IOTLS_FEATURE_EXT_PSK && cfg->has_ext_psk && identity.len == cfg->ext_psk_identity_len &&
           iotls__ct_memcmp(identity.p, cfg->ext_psk_identity, identity.len) == 0;
}

/* 1 when the client lists our external PSK's identity. */
static int ext_psk_offered(const iotls_config *cfg, const iotls_client_hello *ch)
{
    size_t pos = 0;
    iotls_bytes identity;
    uint32_t age;
    int found = 0;
    if (!IOTLS_FEATURE_EXT_PSK || !cfg->has_ext_psk || !has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY))
        return 0;
    while (iotls__psk_identity_next(ch->psk_identities, &pos, &identity, &age))
        found |= is_ext_psk_identity(cfg, identity);
    return found;
}

static int find_share(const iotls_client_hello *ch, uint16_t group, iotls_bytes *share)
{
    size_t pos = 0;
    iotls_key_share_entry entry;
    while (iotls__key_share_next(ch->key_shares, &pos, &entry))
        if (entry.group == group) {
            *share = entry.key_exchange;
            return 1;
        }
    return 0;
}

/* Group policy: a share the client already sent saves a round trip, so
 * the group is the first of OUR preference among the groups the client sent
 * shares for, even when it supports a group we like better without a share.
 * Only when no share is usable do we ask, with a HelloRetryRequest, for the
 * first of our groups in the client's supported_groups. The share is left
 * empty in that case. */
static int pick_group(const iotls_config *cfg, const iotls_client_hello *ch, uint16_t *group,
                      iotls_bytes *share)
{
    share->p = NULL;
    share->len = 0;
    for (size_t i = 0; i < cfg->group_count; i++)
        if (iotls__kex_supported(cfg->groups[i]) && find_share(ch, cfg->groups[i], share)) {
            *group = cfg->groups[i];
            return IOTLS_OK;
        }
    for (size_t i = 0; i < cfg->group_count; i++)
        if (iotls__kex_supported(cfg->groups[i]) &&
            iotls__u16_list_contains(ch->supported_groups, cfg->groups[i])) {
            *group = cfg->groups[i];
            return IOTLS_OK;
        }
    return IOTLS_ERR_HANDSHAKE_FAILURE;
}

/* Our CertificateVerify scheme: the first of the connection's sig_algs
 * that the client offers and the presented key can make. */
static int pick_sig_scheme(const iotls_conn *c, const iotls_client_hello *ch, uint16_t *scheme)
{
    const iotls_config *cc = iotls__sv_cert_config(c);
    if (!cc->has_cert) {
        /* A server without a certificate cannot answer; one that only
         * has an external PSK refuses clients that do not use it. */
        return c->cfg->has_ext_psk ? IOTLS_ERR_HANDSHAKE_FAILURE : IOTLS_ERR_CONFIG;
    }
    /* RFC 8446 9.2: authenticating with a certificate to a client that
     * sent no signature_algorithms (it offered a PSK we do not accept). */
    if (!has_ext(ch, IOTLS_EXTID_SIGNATURE_ALGORITHMS))
        return IOTLS_ERR_MISSING_EXTENSION;
    for (size_t i = 0; i < c->cfg->sig_alg_count; i++) {
        uint16_t s = c->cfg->sig_algs[i];
        if (iotls__u16_list_contains(ch->signature_algorithms, s) &&
            iotls__pkey_can_sign(&cc->key, s)) {
            *scheme = s;
            return IOTLS_OK;
        }
    }
    return IOTLS_ERR_HANDSHAKE_FAILURE;
}

static int alpn_contains(iotls_bytes list, iotls_bytes name)
{
    size_t pos = 0;
    iotls_bytes offered;
    while (iotls__alpn_next(list, &pos, &offered))
        if (offered.len == name.len && memcmp(offered.p, name.p, name.len) == 0)
            return 1;
    return 0;
}

/* ALPN (RFC 7301): the first of our protocols the client offers. No ALPN
 * when the client sent none or we have none configured. */
static int pick_alpn(const iotls_config *cfg, const iotls_client_hello *ch, iotls_bytes *out)
{
    out->p = NULL;
    out->len = 0;
    if (!IOTLS_FEATURE_ALPN || !has_ext(ch, IOTLS_EXTID_ALPN) || cfg->alpn_len == 0)
        return IOTLS_OK;
    iotls_bytes ours = {cfg->alpn, cfg->alpn_len};
    size_t pos = 0;
    iotls_bytes name;
    while (iotls__alpn_next(ours, &pos, &name))
        if (alpn_contains(ch->alpn, name)) {
            *out = name;
            return IOTLS_OK;
        }
    return IOTLS_ERR_NO_APPLICATION_PROTOCOL;
}

int iotls__sv_process_sni(iotls_conn *c, const iotls_client_hello *ch)
{
    if (c->hs.sv.sni_done)
        return IOTLS_OK;
    c->hs.sv.sni_done = 1;
    if (!has_ext(ch, IOTLS_EXTID_SERVER_NAME) || ch->server_name.len == 0)
        return IOTLS_OK;
    if (ch->server_name.len > IOTLS_MAX_SERVER_NAME ||
        memchr(ch->server_name.p, 0, ch->server_name.len) != NULL)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    memcpy(c->server_name, ch->server_name.p, ch->server_name.len);
    c->server_name[ch->server_name.len] = '\0';
    if (c->cfg->sni_cb) {
        const iotls_config *chosen = c->cfg->sni_cb(c->cfg->sni_arg, c->server_name);
        if (chosen) {
            /* The name chose the certificate: RFC 6066 3 asks us to say so
             * with an empty server_name in EncryptedExtensions. */
            c->cert_cfg = chosen;
            c->hs.sv.sni_ack = 1;
        }
    }
    return IOTLS_OK;
}

int iotls__sv_choose_from_offer(const iotls_conn *c, const iotls_client_hello *ch,
                                iotls__sv_choice *choice, int *group_rc)
{
    /* A client naming our external PSK gets a suite of its hash if it
     * offers one (the PSK is only usable with that hash). */
    choice->suite = 0;
    if (ext_psk_offered(c->cfg, ch))
        choice->suite = pick_suite_of(c->cfg, ch, c->cfg->ext_psk_hash);
    if (choice->suite == 0)
        choice->suite = pick_suite(c->cfg, ch);
    if (choice->suite == 0)
        return IOTLS_ERR_HANDSHAKE_FAILURE;
    *group_rc = pick_group(c->cfg, ch, &choice->group, &choice->share);
    return IOTLS_OK;
}

int iotls__sv_check_retry(const iotls_conn *c, const iotls_client_hello *ch2,
                          iotls__sv_choice *choice)
{
    /* The same suite as the HelloRetryRequest (RFC 8446 4.1.4). */
    if (!suite_ok(c->cfg, choice->suite) || pick_suite(c->cfg, ch2) != choice->suite ||
        (c->suite != 0 && c->suite != choice->suite))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    /* RFC 8446 4.2.8: exactly one share, for the group we asked for. A
     * second HelloRetryRequest is never sent. */
    if (!group_ok(c->cfg, choice->group) || !find_share(ch2, choice->group, &choice->share))
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    size_t pos = 0, shares = 0;
    iotls_key_share_entry entry;
    while (iotls__key_share_next(ch2->key_shares, &pos, &entry))
        shares++;
    return shares == 1 ? IOTLS_OK : IOTLS_ERR_ILLEGAL_PARAMETER;
}

int iotls__sv_read_client_hello(const uint8_t *msg, size_t len, iotls_client_hello *ch)
{
    int rc = iotls__client_hello_parse(msg + IOTLS_HS_HEADER_LEN, len - IOTLS_HS_HEADER_LEN, ch);
    return rc == IOTLS_OK ? check_client_hello(ch) : rc;
}

/* RFC 8446 4.2.11: the first identity that is one of our tickets, for the
 * chosen suite's hash and not expired, is selected; its binder must verify
 * (decrypt_error otherwise). Unusable identities are skipped, and with none
 * left the handshake goes on without a PSK. */

/* Whether any PSK could be accepted at all: tickets or an external PSK. */
static int cfg_has_psk_source(const iotls_config *cfg)
{
    return IOTLS_FEATURE_ANY_PSK && (cfg->has_ticket_key || cfg->has_ext_psk);
}

static int select_psk(iotls_conn *c, const uint8_t *msg, const iotls_client_hello *ch,
                      iotls__sv_choice *choice)
{
    const iotls_config *cfg = c->cfg;
    /* A second ClientHello selects again: forget the first one's ticket. */
    c->client_auth = 0;
    if (!IOTLS_FEATURE_ANY_PSK || !has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY) ||
        (!cfg->has_ticket_key && !cfg->has_ext_psk))
        return IOTLS_OK;
    int mode_dhe = 0, mode_ke = 0;
    for (size_t i = 0; i < ch->psk_modes.len; i++) {
        if (ch->psk_modes.p[i] == 1)
            mode_dhe = 1;
        else if (ch->psk_modes.p[i] == 0)
            mode_ke = 1;
    }
    int use_dhe = mode_dhe && choice->share.len > 0;
    int use_ke = !use_dhe && mode_ke && cfg->psk_ke;
    if (mode_ke && cfg->psk_ke == IOTLS_PSK_KE_ONLY) {
        use_ke = 1; /* a server without ECC prefers no (EC)DHE */
        use_dhe = 0;
    }
    if (!use_dhe && !use_ke)
        return IOTLS_OK;

    /* One binder per identity (RFC 8446 4.2.11). */
    size_t ids = 0, binders = 0, pos = 0;
    iotls_bytes identity, binder;
    uint32_t age;
    while (iotls__psk_identity_next(ch->psk_identities, &pos, &identity, &age))
        ids++;
    pos = 0;
    while (iotls__psk_binder_next(ch->psk_binders, &pos, &binder))
        binders++;
    if (ids != binders || ids == 0)
        return IOTLS_ERR_ILLEGAL_PARAMETER;

    iotls_hash_alg alg = iotls__suite_hash(choice->suite);
    size_t hash_len = iotls__hash_len(alg);
    uint64_t now = iotls__config_now_ms(cfg);
    uint8_t sni[IOTLS_TICKET_SNI_DIGEST_LEN];
    int rc = iotls__ticket_sni_digest(c->server_name, sni);
    if (rc != IOTLS_OK)
        return rc;
    /* The ticket and its plaintext are kept in the scratch region
     * (src/scratch.h), idle until the answer to this ClientHello is written
     * to tx: on the stack they would sit under the whole server flight
     * (docs/stack.md). */
    iotls_writer room;
    iotls__conn_hs_writer(c, &room);
    struct iotls_scratch_psk *scratch = iotls__conn_scratch(&room, sizeof *scratch);
    if (scratch == NULL)
        return IOTLS_ERR_INTERNAL; /* src/scratch.h: the smallest tx has it */
    iotls__ticket_body *t = &scratch->ticket;
    size_t index = 0;
    bool found = false, ext_psk = false;
    uint32_t found_age = 0;
    iotls_bytes chosen_identity = {NULL, 0};
    pos = 0;
    while (!found && iotls__psk_identity_next(ch->psk_identities, &pos, &identity, &age)) {
        found_age = age;
        chosen_identity = identity;
        memset(t, 0, sizeof *t);
        if (is_ext_psk_identity(cfg, identity)) {
            /* The external PSK, when the suite has its hash (RFC 8446 4.2.11). */
            found = ext_psk = cfg->ext_psk_hash == alg;
        } else if (cfg->has_ticket_key &&
                   iotls__ticket_open(cfg, now, identity, t, &scratch->client, scratch->plain) ==
                       IOTLS_OK &&
                   iotls__suite_hash(t->suite) == alg && t->psk_len == hash_len &&
                   memcmp(t->sni_digest, sni, sizeof sni) == 0 &&
                   /* Resuming would skip the CertificateRequest we owe this
                    * client: a ticket of an unauthenticated client is for a
                    * full handshake. */
                   (cfg->verify_client != IOTLS_VERIFY_CLIENT_REQUIRED || t->client_auth) &&
                   /* A ticket does not carry what a CRL lists (issuer and
                    * serial): with CRLs configured a certificate-
                    * authenticated client makes a full handshake, so a
                    * device revoked after its ticket was issued is
                    * refused at once. */
                   !(t->client_auth && (iotls__crl_count(&cfg->crl) > 0 || cfg->crl_failed)) &&
                   /* A clock that reads 0 cannot tell the ticket's age:
                    * no resumption rather than no lifetime. */
                   now != 0 && now >= t->issued_ms &&
                   now - t->issued_ms < (uint64_t)t->lifetime * 1000u) {
            found = 1;
        }
        if (!found) {
            index++;
            iotls__wipe(t, sizeof *t);
        }
    }
    if (!found)
        return IOTLS_OK;

    pos = 0;
    for (size_t i = 0; i <= index; i++)
        iotls__psk_binder_next(ch->psk_binders, &pos, &binder);
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    uint8_t binder_key[IOTLS_MAX_HASH_LEN];
    uint8_t expected[IOTLS_MAX_HASH_LEN];
    /* The binder's early key schedule is the connection's own (the one
     * borrowing outside the scratch region, src/scratch.h): unused before
     * send_server_hello initializes it again, and a second key schedule
     * (480 B) on the stack would sit on the deepest path. */
    iotls_key_schedule *early = &c->ks;
    const uint8_t *psk_key = ext_psk ? cfg->ext_psk : t->psk;
    size_t psk_key_len = ext_psk ? cfg->ext_psk_len : t->psk_len;
    rc = binder.len == hash_len ? IOTLS_OK : IOTLS_ERR_DECRYPT_ERROR;
    if (rc == IOTLS_OK)
        rc = iotls__transcript_hash_with(&c->transcript, alg, msg, ch->binders_offset, hash);
    if (rc == IOTLS_OK)
        rc = iotls__ks_init(early, alg, psk_key, psk_key_len);
    if (rc == IOTLS_OK)
        rc = iotls__ks_binder_key(early, ext_psk, binder_key);
    if (rc == IOTLS_OK)
        rc = iotls__finished_verify_data(alg, binder_key, hash, expected);
    if (rc == IOTLS_OK && iotls__ct_memcmp(expected, binder.p, hash_len) != 0)
        rc = IOTLS_ERR_DECRYPT_ERROR;
    iotls__ks_wipe(early);
    iotls__wipe(binder_key, sizeof binder_key);
    iotls__wipe(expected, sizeof expected);
    /* The anti-replay key is the ticket itself, not this ClientHello's
     * binder: a replayed ClientHello carries the same ticket, and so does a
     * client that reuses one ticket for several 0-RTT attempts (OpenSSL's
     * s_client -sess_in does) - each ticket carries 0-RTT once per window. */
    if (rc == IOTLS_OK)
        rc = iotls__hash(IOTLS_HASH_SHA256, chosen_identity.p, chosen_identity.len,
                         choice->binder_hash);
    if (rc == IOTLS_OK) {
        choice->ticket_max_early = t->max_early_data;
        choice->ticket_suite = t->suite;
        memcpy(choice->ticket_alpn, t->alpn, sizeof choice->ticket_alpn);
        /* RFC 8446 8.3: the client's view of the ticket age (obfuscated
         * age minus age_add) must match ours within the window. */
        uint32_t client_age = found_age - t->age_add; /* mod 2^32 */
        uint64_t our_age = now >= t->issued_ms ? now - t->issued_ms : 0;
        uint64_t diff = our_age > client_age ? our_age - client_age : client_age - our_age;
        choice->ticket_age_ok = now != 0 && now >= t->issued_ms && diff <= cfg->early_window_ms;
        choice->resumed = 1;
        choice->ext_psk = ext_psk;
        /* The client identity the ticket carries, for iotls_info and the
         * tickets this connection issues. A server that does not verify
         * clients keeps none (no room): the client is anonymous to it. */
        if (!ext_psk && t->client_auth && c->client_id != NULL) {
            memcpy(c->client_id, &scratch->client, sizeof *c->client_id);
            c->client_auth = 1;
        }
        choice->psk_ke = use_ke;
        choice->identity = (uint16_t)index;
        memcpy(choice->psk, psk_key, psk_key_len);
        choice->psk_len = psk_key_len;
        if (use_ke) {
            choice->group = 0;
            choice->share.p = NULL;
            choice->share.len = 0;
        }
    }
    iotls__wipe(scratch, sizeof *scratch);
    return rc;
}

/* RFC 8446 4.2.10: accept early data only when it is the ticket's
 * connection continuing: the first identity, the same suite and ALPN, a
 * plausible ticket age, a ticket that allowed it, no HelloRetryRequest
 * needed; and (RFC 8446 8) this ClientHello was not seen before. The
 * replay check runs last, so only ClientHellos that would otherwise be
 * accepted take a place in the store. */
static int early_data_policy(iotls_conn *c, const iotls__sv_choice *choice)
{
    const iotls_config *cfg = c->cfg;
    if (!IOTLS_FEATURE_EARLY_DATA || cfg->max_early_data == 0 || !choice->resumed ||
        choice->identity != 0 || choice->ticket_max_early == 0 ||
        choice->ticket_suite != choice->suite || !choice->ticket_age_ok)
        return 0;
    if (!choice->psk_ke && choice->share.len == 0)
        return 0; /* a HelloRetryRequest comes: early data is lost anyway */
    const char *ticket_alpn = (const char *)choice->ticket_alpn;
    if (strlen(ticket_alpn) != choice->alpn.len ||
        (choice->alpn.len > 0 && memcmp(ticket_alpn, choice->alpn.p, choice->alpn.len) != 0))
        return 0;
    if (cfg->early_replay == NULL)
        return 0; /* no way to refuse a replay: no 0-RTT */
    return cfg->early_replay(cfg->early_replay_arg, choice->binder_hash, sizeof choice->binder_hash,
                             iotls__config_now_ms(cfg)) == 0;
}

/* Accepts or declines the early data a first ClientHello announces. */
static void decide_early_data(iotls_conn *c, const iotls__sv_choice *choice)
{
    if (early_data_policy(c, choice)) {
        c->hs.sv.early_accepted = 1;
        c->early_status = IOTLS_EARLY_DATA_ACCEPTED;
        c->early_max = choice->ticket_max_early < c->cfg->max_early_data ? choice->ticket_max_early
                                                                         : c->cfg->max_early_data;
    } else {
        /* Declined: its records follow this ClientHello and are skipped
         * (RFC 8446 4.2.10). */
        c->early_status = IOTLS_EARLY_DATA_REJECTED;
        c->hs.skip_early_data = 1;
        c->hs.early_skip_budget = EARLY_SKIP_BUDGET;
    }
}

int iotls__sv_negotiate(iotls_conn *c, const uint8_t *msg, const iotls_client_hello *ch,
                        int group_rc, iotls__sv_choice *choice)
{
    int rc = select_psk(c, msg, ch, choice);
    if (rc == IOTLS_OK && group_rc != IOTLS_OK && !choice->psk_ke)
        rc = group_rc;
    if (rc == IOTLS_OK && !choice->resumed) {
        rc = pick_sig_scheme(c, ch, &choice->sig_scheme);
        /* No certificate answers this client (a PSK-only server, or a
         * client without signature_algorithms), but a HelloRetryRequest is
         * coming and the client offers a PSK: the second ClientHello
         * decides. */
        if ((rc == IOTLS_ERR_HANDSHAKE_FAILURE || rc == IOTLS_ERR_MISSING_EXTENSION) &&
            choice->share.len == 0 && !choice->psk_ke && cfg_has_psk_source(c->cfg) &&
            has_ext(ch, IOTLS_EXTID_PRE_SHARED_KEY))
            rc = IOTLS_OK;
    }
    if (rc == IOTLS_OK)
        rc = pick_alpn(c->cfg, ch, &choice->alpn);
    if (rc == IOTLS_OK && ch->early_data)
        decide_early_data(c, choice);
    return rc;
}
