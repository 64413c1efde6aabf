/* The connection's keys over the handshake: the negotiated suite, the
 * master and application secrets, and what is wiped when the handshake is
 * complete. */
#include <string.h>

#include "conn.h"
#include "conn_internal.h"

int iotls_conn_set_suite(iotls_conn *c, uint16_t suite)
{
    iotls_hash_alg hash = iotls_suite_hash(suite);
    iotls_aead_alg aead = iotls_suite_aead(suite);
    if (hash == IOTLS_HASH_NONE || aead == IOTLS_AEAD_NONE)
        return IOTLS_ERR_ILLEGAL_PARAMETER;
    c->suite = suite;
    c->hash = hash;
    c->aead = aead;
    c->hash_len = iotls_hash_len(hash);
    return iotls_transcript_select(&c->transcript, hash);
}

int iotls_conn_derive_master(iotls_conn *c)
{
    uint8_t hash[IOTLS_MAX_HASH_LEN];
    int rc = iotls_transcript_hash(&c->transcript, hash);
    if (rc == IOTLS_OK)
        rc = iotls_ks_master(&c->ks, hash);
    if (rc != IOTLS_OK)
        return rc;
    iotls_conn_keylog(c, "CLIENT_TRAFFIC_SECRET_0", c->ks.client_app_traffic);
    iotls_conn_keylog(c, "SERVER_TRAFFIC_SECRET_0", c->ks.server_app_traffic);
    iotls_conn_keylog(c, "EXPORTER_SECRET", c->ks.exporter_master);
    return IOTLS_OK;
}

void iotls_conn_handshake_complete(iotls_conn *c)
{
    c->handshake_done = 1;
    /* Only the application and resumption secrets are needed from here. */
    iotls_wipe(c->ks.early_secret, sizeof c->ks.early_secret);
    iotls_wipe(c->ks.handshake_secret, sizeof c->ks.handshake_secret);
    iotls_wipe(c->ks.master_secret, sizeof c->ks.master_secret);
    iotls_wipe(c->ks.client_early_traffic, sizeof c->ks.client_early_traffic);
    iotls_wipe(c->ks.client_hs_traffic, sizeof c->ks.client_hs_traffic);
    iotls_wipe(c->ks.server_hs_traffic, sizeof c->ks.server_hs_traffic);
    iotls_transcript_free(&c->transcript);
    iotls_conn_wipe_handshake(c);
    iotls_conn_event(c, IOTLS_EV_HANDSHAKE_DONE, 0, 0, 0, NULL);
}
