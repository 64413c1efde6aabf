/* Helpers for the unit tests that run a client and a server engine against
 * each other in memory, and for those that make a PKI with the openssl
 * command (so nothing in it depends on our own code). */
#ifndef IOTLS_TESTLIB_ENGINEPAIR_H
#define IOTLS_TESTLIB_ENGINEPAIR_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/crypto.h"
#include "iotls/engine.h"

/* An engine in its own heap block; role IOTLS_ROLE_*, name the server name
 * a client checks (NULL for a server). NULL when allocation or init fails. */
iotls_conn *tl_conn_new(const iotls_config *cfg, int role, const char *name);
/* iotls_conn_free, then the block itself; NULL is ignored. */
void tl_conn_free(iotls_conn *c);

/* One direction of an in-memory transport: what the sender handed over and
 * the receiver has not taken yet. */
typedef struct {
    uint8_t buf[65536];
    size_t len;
} tl_wire;

/* Sender's output onto the wire (all of it, as a socket would), then as much
 * of the wire as the receiver takes. copy (may be NULL) also receives what
 * left the sender, for tests that replay a flight. 1: progress, 0: none,
 * < 0: the receiver's error. */
int tl_shuttle(iotls_conn *from, tl_wire *w, iotls_conn *to, tl_wire *copy);

/* Shuttles between a client and a server (its wires to_sv and to_cl) until
 * both handshakes are done, one side fails, or nothing moves (at most 50
 * rounds). 1 when both are done. */
int tl_handshake(iotls_conn *cl, tl_wire *to_sv, iotls_conn *sv, tl_wire *to_cl);

/* dir/name into buf; returns buf. */
const char *tl_path_of(const char *dir, char *buf, size_t cap, const char *name);
/* Runs cmd in dir with its output appended to dir/openssl-gen.log; the
 * system() status, reported on stderr when not 0. */
int tl_run_quiet(const char *dir, const char *cmd);
/* In dir: ca.key/ca.pem (subject CN=ca_cn), srv.key/srv.pem for localhost and
 * cli.key/cli.pem (CN=client_cn), all P-256. 0 or -1. */
int tl_openssl_pki(const char *dir, const char *ca_cn, const char *client_cn);

/* Key log lines of one side, "LABEL <client_random> <secret>", collected by
 * tl_keylog_cb (iotls_config_set_keylog(cfg, tl_keylog_cb, &log)). A line
 * that does not parse, or a ninth one, is not kept and sets malformed. */
typedef struct {
    char label[8][40];
    uint8_t secret[8][IOTLS_MAX_HASH_LEN];
    size_t secret_len[8];
    size_t count;
    int malformed;
} tl_keylog;
void tl_keylog_cb(void *arg, const char *line);

/* A P-256 CA (subject ca_subject) and a P-256 leaf it signs, as the spec
 * leaf says, made with the library's own PKI maker (iotls_pki_*): PEM into
 * the four buffers of cap bytes each. IOTLS_OK or the maker's error. */
int tl_make_pki(const char *ca_subject, const iotls_cert_spec *leaf, char *ca_key, char *ca_cert,
                char *leaf_key, char *leaf_cert, size_t cap);

#endif
