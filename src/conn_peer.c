/* The peer's certificate: the configured policy (CA and name, pins, or
 * nothing when told so) and how the peer was authenticated. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"

int iotls__conn_verify_peer_chain(iotls_conn *c, int is_server_cert)
{
    const iotls_config *cfg = c->cfg;
    if (iotls__x509_count(&c->peer_chain) == 0)
        return IOTLS_ERR_BAD_CERTIFICATE;
    c->peer_cert_presented = 1;
    /* Before any signature work, verified chain or not: the leaf's key
     * checks CertificateVerify even when nothing else is checked. */
    int key_rc = iotls__x509_check_keys(&c->peer_chain, cfg->max_rsa_bits);
    if (key_rc != IOTLS_OK)
        return key_rc;
    int chain_checked = 0;
    if (cfg->has_ca && !cfg->insecure_noverifycert) {
        /* A server certificate proves nothing without its name checked or
         * a pin matched: any certificate the CA signed, for any name, would
         * chain. iotls_conn_start refuses such a client configuration; this
         * keeps the engine from ever accepting one. */
        if (is_server_cert && c->server_name[0] == '\0' && cfg->pin_count == 0)
            return IOTLS_ERR_CERT_HOSTNAME;
        if (cfg->crl_failed)
            return IOTLS_ERR_CRL_UNUSABLE;
        iotls_x509_policy policy;
        memset(&policy, 0, sizeof policy);
        policy.trust = &cfg->ca;
        policy.crl = &cfg->crl;
        policy.host = is_server_cert && c->server_name[0] ? c->server_name : NULL;
        policy.is_server_cert = is_server_cert;
        policy.max_rsa_bits = cfg->max_rsa_bits;
        int rc = iotls__x509_verify(&c->peer_chain, &policy);
        if (rc != IOTLS_OK)
            return rc;
        chain_checked = 1;
    } else if (!cfg->insecure_noverifycert && cfg->pin_count == 0) {
        /* Nothing to check the chain against: refuse rather than trust. */
        return IOTLS_ERR_CERT_UNKNOWN_CA;
    }
    if (cfg->pin_count > 0) {
        uint8_t spki[32];
        int rc = iotls__x509_spki_sha256(&c->peer_chain, spki);
        if (rc != IOTLS_OK)
            return rc;
        int matched = 0;
        for (size_t i = 0; i < cfg->pin_count; i++)
            matched |= iotls__ct_memcmp(spki, cfg->pins[i], sizeof spki) == 0;
        if (!matched)
            return IOTLS_ERR_CERT_PIN;
    }
    /* peer_cert_verified keeps its meaning (chain, and a server's name);
     * peer_auth says what did authenticate the peer. */
    int name_checked = chain_checked && (!is_server_cert || c->server_name[0] != '\0');
    c->peer_cert_verified = name_checked;
    c->peer_auth = name_checked ? (is_server_cert ? IOTLS_PEER_AUTH_NAME : IOTLS_PEER_AUTH_CA)
                   : cfg->pin_count > 0 ? IOTLS_PEER_AUTH_PIN
                                        : IOTLS_PEER_AUTH_NONE;
    iotls__conn_event(c, IOTLS_EV_CERT_VERIFIED, 0, iotls__x509_count(&c->peer_chain),
                      cfg->insecure_noverifycert,
                      cfg->insecure_noverifycert ? "NOT verified (insecure)"
                      : name_checked             ? "verified"
                                                 : "key matches a pin (name not checked)");
    return IOTLS_OK;
}

const char *iotls_peer_auth_name(int peer_auth)
{
    switch (peer_auth) {
    case IOTLS_PEER_AUTH_NONE:
        return "none";
    case IOTLS_PEER_AUTH_NAME:
        return "name";
    case IOTLS_PEER_AUTH_PIN:
        return "pin";
    case IOTLS_PEER_AUTH_CA:
        return "ca";
    case IOTLS_PEER_AUTH_PSK:
        return "psk";
    case IOTLS_PEER_AUTH_RESUMED:
        return "resumed";
    default:
        return "?";
    }
}
