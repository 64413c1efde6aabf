/* What a connection tells its application: iotls_conn_info (what was
 * negotiated: copied, cheap), the peer's certificates (as DER, and as
 * text or SPKI hash formatted on request), the error, the user pointer, and
 * for an application that asked to watch, key log lines (NSS key log
 * format) and trace events (each only with its feature,
 * IOTLS_FEATURE_KEYLOG / _TRACE). */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"

#if IOTLS_FEATURE_KEYLOG
static char *put_hex(char *out, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        *out++ = digits[p[i] >> 4];
        *out++ = digits[p[i] & 15];
    }
    return out;
}

void iotls__conn_keylog(iotls_conn *c, const char *label, const uint8_t *secret)
{
    if (!c->cfg->keylog)
        return;
    /* "LABEL <client_random> <secret>": label <= 40, random 64, secret <= 96 */
    char line[40 + 1 + 64 + 1 + 2 * IOTLS_MAX_HASH_LEN + 1];
    size_t label_len = strlen(label);
    if (label_len > 40)
        return;
    char *p = line;
    memcpy(p, label, label_len);
    p += label_len;
    *p++ = ' ';
    p = put_hex(p, c->client_random, sizeof c->client_random);
    *p++ = ' ';
    p = put_hex(p, secret, c->hash_len);
    *p = '\0';
    c->cfg->keylog(c->cfg->keylog_arg, line);
    iotls__wipe(line, sizeof line);
}
#endif

#if IOTLS_FEATURE_TRACE

void iotls__conn_event(iotls_conn *c, int kind, uint8_t hs_type, size_t len, int value,
                       const char *detail)
{
    if (!c->cfg->trace)
        return;
    iotls_event ev;
    ev.kind = kind;
    ev.hs_type = hs_type;
    ev.len = len;
    ev.value = value;
    ev.detail = detail;
    c->cfg->trace(c->cfg->trace_arg, c, &ev);
}
#endif

/* A server's resumed client is known from the ClientHello's ticket, but
 * authenticated only once the handshake is done. */
static int client_known(const iotls_conn *c)
{
    return c->client_auth && (c->role != IOTLS_ROLE_SERVER || c->handshake_done);
}

/* The identity a server keeps for an authenticated client (its tickets
 * carry it): NULL when there is none. */
static const iotls_peer_id *stored_client_id(const iotls_conn *c)
{
    return client_known(c) ? c->client_id : NULL;
}

int iotls_conn_peer_text(const iotls_conn *c, int what, char *out, size_t cap)
{
    if (c == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    out[0] = '\0';
    if (what < IOTLS_PEER_SUBJECT || what > IOTLS_PEER_KEY)
        return IOTLS_ERR_BAD_ARG;
    if (iotls__x509_count(&c->peer_chain) == 0) {
        /* Resumed: only the subject the ticket carried. */
        const iotls_peer_id *id = stored_client_id(c);
        if (id == NULL || what != IOTLS_PEER_SUBJECT)
            return IOTLS_ERR_BAD_STATE;
        size_t len = strlen(id->subject);
        if (len + 1 > cap)
            return IOTLS_ERR_BUFFER_TOO_SMALL;
        memcpy(out, id->subject, len + 1);
        return IOTLS_OK;
    }
    int rc;
    switch (what) {
    case IOTLS_PEER_SUBJECT:
        rc = iotls__x509_subject(&c->peer_chain, 0, out, cap);
        break;
    case IOTLS_PEER_ISSUER:
        rc = iotls__x509_issuer(&c->peer_chain, 0, out, cap);
        break;
    case IOTLS_PEER_SANS:
        rc = iotls__x509_sans(&c->peer_chain, out, cap);
        break;
    default:
        rc = iotls__x509_key_desc(&c->peer_chain, 0, out, cap);
        break;
    }
    if (rc != IOTLS_OK)
        out[0] = '\0';
    return rc;
}

int iotls_conn_peer_spki_sha256(const iotls_conn *c, uint8_t out[32])
{
    if (c == NULL || out == NULL)
        return IOTLS_ERR_BAD_ARG;
    const iotls_peer_id *id = stored_client_id(c);
    if (id != NULL) {
        memcpy(out, id->spki_sha256, sizeof id->spki_sha256);
        return IOTLS_OK;
    }
    if (iotls__x509_count(&c->peer_chain) == 0)
        return IOTLS_ERR_BAD_STATE;
    return iotls__x509_spki_sha256(&c->peer_chain, out);
}

int iotls_conn_info(const iotls_conn *c, iotls_info *info)
{
    memset(info, 0, sizeof *info);
    info->handshake_done = c->handshake_done;
    info->version = c->suite ? 0x0304 : 0;
    info->cipher_suite = c->suite;
    info->cipher_suite_name = iotls_suite_name(c->suite);
    info->group = c->group;
    info->group_name = iotls_group_name(c->group);
    info->sig_scheme = c->peer_sig_scheme;
    info->sig_scheme_name = iotls_sig_scheme_name(c->peer_sig_scheme);
    info->own_sig_scheme = c->own_sig_scheme;
    info->alpn = c->alpn;
    info->server_name = c->server_name;
    info->hrr = c->hrr;
    info->resumed = c->resumed;
    info->external_psk = c->ext_psk;
    info->key_updates_sent = c->key_updates_sent;
    info->key_updates_received = c->key_updates_received;
    info->peer_cert_verified = c->peer_cert_verified;
    info->peer_cert_presented = c->peer_cert_presented;
    info->client_auth = client_known(c);
    /* Only a completed handshake has authenticated anyone. */
    info->peer_auth = c->handshake_done ? c->peer_auth : IOTLS_PEER_AUTH_NONE;
    info->peer_chain_len = iotls__x509_count(&c->peer_chain);
    info->bytes_in = c->bytes_in;
    info->bytes_out = c->bytes_out;
    info->records_in = c->records_in;
    info->records_out = c->records_out;
    info->flights_in = c->flights_in;
    info->flights_out = c->flights_out;
    info->early_data = c->early_status;
    info->early_data_bytes = c->early_bytes;
    info->peer_alert = c->peer_alert;
    info->alert_sent = c->alert_sent;
    info->record_size_in = (uint32_t)c->max_record_in;
    info->record_size_out = (uint32_t)c->max_record_out;
    return IOTLS_OK;
}

size_t iotls_conn_peer_cert_count(const iotls_conn *c)
{
    return iotls__x509_count(&c->peer_chain);
}

int iotls_conn_peer_cert_der(const iotls_conn *c, size_t i, const uint8_t **der, size_t *len)
{
    return iotls__x509_der(&c->peer_chain, i, der, len);
}

int iotls_conn_error(const iotls_conn *c)
{
    return c->error;
}
int iotls_conn_handshake_done(const iotls_conn *c)
{
    return c->handshake_done;
}
int iotls_conn_set_user(iotls_conn *c, void *user)
{
    if (c == NULL)
        return IOTLS_ERR_BAD_ARG;
    c->user = user;
    return IOTLS_OK;
}
void *iotls_conn_user(const iotls_conn *c)
{
    return c->user;
}
