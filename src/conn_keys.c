/* The connection's keys over the handshake: the negotiated suite, the
 * master and application secrets, and what is wiped when the handshake is
 * complete. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"

int iotls__conn_set_suite(iotls_conn *c, uint16_t suite)
{
    iotls_hash_alg hash = iotls__suite_hash(suite);
    iotls_aead_alg aead = iotls__suite_aead(suite);
    if (hash == IOTLS_HASH_NONE || aead == IOTLS_AEAD_NONE)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    c->suite = suite;
    c->hash = hash;
    c->aead = aead;
    c->hash_len = iotls__hash_len(hash);
    return iotls__transcript_select(&c->transcript, hash);
}

int iotls__conn_derive_master(iotls_conn *c)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    int rc = iotls__transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls__ks_master(&c->ks, hash);
    if (rc != IOTLS_OK)
        return rc;
    iotls__conn_keylog(c, "CLIENT_TRAFFIC_SECRET_0", c->ks.client_app_traffic);
    iotls__conn_keylog(c, "SERVER_TRAFFIC_SECRET_0", c->ks.server_app_traffic);
    iotls__conn_keylog(c, "EXPORTER_SECRET", c->ks.exporter_master);
    return IOTLS_OK;
}

void iotls__conn_handshake_complete(iotls_conn *c)
{
    c->handshake_done = 1;
    /* Only the application and resumption secrets are needed from here. */
    iotls__wipe(c->ks.early_secret, sizeof c->ks.early_secret);
    iotls__wipe(c->ks.handshake_secret, sizeof c->ks.handshake_secret);
    iotls__wipe(c->ks.master_secret, sizeof c->ks.master_secret);
    iotls__wipe(c->ks.client_early_traffic, sizeof c->ks.client_early_traffic);
    iotls__wipe(c->ks.client_hs_traffic, sizeof c->ks.client_hs_traffic);
    iotls__wipe(c->ks.server_hs_traffic, sizeof c->ks.server_hs_traffic);
    iotls__transcript_free(&c->transcript);
    iotls__conn_wipe_handshake(c);
    iotls__conn_event(c, IOTLS_EV_HANDSHAKE_DONE, 0, 0, 0, NULL);
}
