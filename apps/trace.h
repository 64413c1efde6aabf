/* The "-v" handshake tracer shared by the client and server commands:
 * one line per handshake step with the elapsed time, and a summary of
 * what was negotiated at the end. Per-thread state, so the server's
 * connection threads each trace their own handshake. */
#ifndef IOTLS_APP_TRACE_H
#define IOTLS_APP_TRACE_H

#include <stdio.h>

#include "iotls/engine.h"
#include "iotls/iotls.h"

/* One connection's trace timing and tag: an event loop serving many
 * connections on one thread saves it after working on a connection and
 * loads it before the next turn of that connection. */
typedef struct {
    double t0;   /* ms at trace_begin */
    double last; /* ms at the previous event */
    int started;
    char tag[32];
} trace_state;
void trace_save(trace_state *out);
void trace_load(const trace_state *in);

/* Route cfg's trace events to out (normally stderr). */
void trace_install(iotls_config *cfg, FILE *out);
/* Start timing a connection on this thread; tag prefixes every line
 * ("" for the client, "[conn 3] " for the server). Copied. */
void trace_begin(const char *tag);
/* Milliseconds since trace_begin on this thread. */
double trace_elapsed_ms(void);
/* Multi-line summary: version, suite, group, signatures, ALPN, peer chain,
 * flights and bytes. is_client picks how round trips are counted. */
void trace_summary(FILE *out, iotls *t, int is_client);
/* The same for an engine connection (iotls/engine.h). */
void trace_summary_conn(FILE *out, const iotls_conn *c, int is_client);
/* The peer's chain: per certificate its subject, issuer, key, validity,
 * names and SPKI pin (as --pin takes it). */
void trace_print_certs(FILE *out, iotls *t);
/* Name of a handshake message type ("ClientHello"). */
const char *trace_hs_name(int hs_type);

#endif
