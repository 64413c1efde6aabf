/* iotls_conn_error_detail: the words a person needs after a failure. The
 * provider's verification verdict is derived again from the peer chain the
 * connection keeps, so the engine block holds no text buffer for the rare
 * failed connection. */
#include <stdio.h>
#include <string.h>

#include "conn.h"

static int is_cert_error(int err)
{
    return err == IOTLS_ERR_BAD_CERTIFICATE || err == IOTLS_ERR_CERT_EXPIRED ||
           err == IOTLS_ERR_CERT_UNKNOWN_CA || err == IOTLS_ERR_CERT_HOSTNAME ||
           err == IOTLS_ERR_UNSUPPORTED_CERTIFICATE || err == IOTLS_ERR_CERT_REVOKED ||
           err == IOTLS_ERR_CERT_PIN || err == IOTLS_ERR_CRL_UNUSABLE;
}

/* "a; b" into out (at its end), as far as it fits. */
static void append(char *out, size_t cap, const char *text)
{
    size_t len = strlen(out);
    if (text[0] == '\0' || len + 1 >= cap)
        return;
    snprintf(out + len, cap - len, "%s%s", len > 0 ? "; " : "", text);
}

static void cert_detail(const iotls_conn *c, char *out, size_t cap)
{
    const iotls_config *cfg = c->cfg;
    int is_server_cert = c->role == IOTLS_ROLE_CLIENT;
    char text[320];
    if (iotls__x509_count(&c->peer_chain) == 0)
        return;
    /* The server's log names the refused client (an unknown CA's text
     * below names a lone leaf already, a revocation's names it always). */
    if (!is_server_cert && c->error != IOTLS_ERR_CERT_REVOKED &&
        !(c->error == IOTLS_ERR_CERT_UNKNOWN_CA && iotls__x509_count(&c->peer_chain) == 1)) {
        char subject[IOTLS_PEER_SUBJECT_MAX + 1];
        if (iotls__x509_subject(&c->peer_chain, 0, subject, sizeof subject) == IOTLS_OK) {
            snprintf(text, sizeof text, "client certificate '%s'", subject);
            append(out, cap, text);
        }
    }
    if (c->error == IOTLS_ERR_CERT_PIN) {
        uint8_t spki[32];
        if (iotls__x509_spki_sha256(&c->peer_chain, spki) != IOTLS_OK)
            return;
        char hex[65];
        for (size_t i = 0; i < sizeof spki; i++)
            snprintf(hex + 2 * i, 3, "%02x", spki[i]);
        snprintf(text, sizeof text, "its key's SPKI SHA-256 %s matches none of the %zu pins", hex,
                 cfg->pin_count);
        append(out, cap, text);
        return;
    }
    if (!cfg->has_ca || cfg->insecure_noverifycert) {
        if (c->error == IOTLS_ERR_CERT_UNKNOWN_CA)
            append(out, cap, "no trusted CA certificates are configured to check it against");
        return;
    }
    if (cfg->crl_failed) {
        append(out, cap, "a CRL file failed to load, so every certificate is refused");
        return;
    }
    iotls_x509_policy policy;
    memset(&policy, 0, sizeof policy);
    policy.trust = &cfg->ca;
    policy.crl = &cfg->crl;
    policy.host = is_server_cert && c->server_name[0] ? c->server_name : NULL;
    policy.is_server_cert = is_server_cert;
    /* As iotls__conn_verify_peer_chain: the system clock (0). */
    text[0] = '\0';
    int verdict = iotls__x509_verify_explain(&c->peer_chain, &policy, text, sizeof text);
    if (verdict == IOTLS_OK)
        return;
    append(out, cap, text);
    iotls__x509_explain(&c->peer_chain, verdict, policy.now, text, sizeof text);
    append(out, cap, text);
    if (verdict == IOTLS_ERR_CRL_UNUSABLE)
        append(out, cap, "load a current CRL of the CA that issued the certificate");
}

static void alert_hint(const iotls_conn *c, char *out, size_t cap)
{
    const iotls_config *cfg = c->cfg;
    int client = c->role == IOTLS_ROLE_CLIENT;
    const char *hint = NULL;
    switch (c->peer_alert) {
    case IOTLS_ALERT_PROTOCOL_VERSION:
        hint = client ? "the server does not speak TLS 1.3" : "the client does not speak TLS 1.3";
        break;
    case IOTLS_ALERT_CERTIFICATE_REQUIRED:
        if (client)
            hint = "the server wants a client certificate: configure one (iotls client "
                   "--cert/--key)";
        break;
    case IOTLS_ALERT_CERTIFICATE_REVOKED:
        hint = client ? "the server's CRL lists our client certificate: this device needs a new "
                        "certificate"
                      : "the client's CRL lists our certificate";
        break;
    case IOTLS_ALERT_UNKNOWN_CA:
    case IOTLS_ALERT_BAD_CERTIFICATE:
    case IOTLS_ALERT_CERTIFICATE_UNKNOWN:
    case IOTLS_ALERT_UNSUPPORTED_CERTIFICATE:
    case IOTLS_ALERT_CERTIFICATE_EXPIRED:
        if (!client)
            hint = "the client does not accept our certificate";
        else if (cfg->has_cert)
            hint = "the server does not accept our client certificate: is it issued by a CA "
                   "the server trusts?";
        else if (c->peer_alert == IOTLS_ALERT_UNKNOWN_CA ||
                 c->peer_alert == IOTLS_ALERT_BAD_CERTIFICATE)
            hint = "the server probably wants a client certificate: configure one (iotls "
                   "client --cert/--key)";
        break;
    case IOTLS_ALERT_HANDSHAKE_FAILURE:
        if (cfg->has_ext_psk)
            hint = client ? "the server may not know our PSK identity, or has another key for it"
                          : "the client may not know our PSK identity, or has another key for it";
        else
            hint = "no cipher suite, group or signature algorithm in common";
        break;
    case IOTLS_ALERT_UNKNOWN_PSK_IDENTITY:
        hint = "the peer does not know our PSK identity";
        break;
    case IOTLS_ALERT_DECRYPT_ERROR:
        if (cfg->has_ext_psk)
            hint = "the peer's key for our PSK identity differs from ours";
        break;
    case IOTLS_ALERT_NO_APPLICATION_PROTOCOL:
        hint = "no ALPN protocol in common";
        break;
    default:
        break;
    }
    if (hint)
        append(out, cap, hint);
}

int iotls_conn_error_detail(const iotls_conn *c, char *out, size_t cap)
{
    if (c == NULL || out == NULL || cap == 0)
        return IOTLS_ERR_BAD_ARG;
    out[0] = '\0';
    if (is_cert_error(c->error))
        cert_detail(c, out, cap);
    else if (c->error == IOTLS_ERR_ALERT_RECEIVED)
        alert_hint(c, out, cap);
    else if (c->error == IOTLS_ERR_CERT_REQUIRED && c->role == IOTLS_ROLE_SERVER)
        append(out, cap, "the client sent no certificate");
    else if (c->error == IOTLS_ERR_CONFIG && c->role == IOTLS_ROLE_SERVER && c->cert_cfg != NULL &&
             c->cert_cfg != c->cfg && !c->cert_cfg->has_cert)
        append(out, cap, "the configuration the SNI callback chose has no certificate");
    return IOTLS_OK;
}
