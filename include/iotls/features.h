/* Compile-time feature switches, in the style of mbedTLS's config.h: each
 * is 1 (built, the default) or 0 (left out of the image). Set them with
 * -DIOTLS_FEATURE_X=0 on the compiler command line, or with the CMake options
 * beside each (cmake -DIOTLS_RESUMPTION=OFF ... defines it for the library,
 * the tests and the apps alike). The library and every file that includes an
 * iotls header must be built with the same values.
 *
 * A switched-off feature keeps its public API: the functions stay declared
 * and linkable, and the ones that would turn the feature on return
 * IOTLS_ERR_UNSUPPORTED (listed per switch; docs/api.md "Feature switches").
 * The connection then behaves as the TLS 1.3 client or server that never
 * offers or accepts the feature, which RFC 8446 allows: nothing is sent that
 * the peer would need it for, and what the peer offers for it is ignored.
 *
 * Savings on Cortex-M4 -Os, client-only engine: docs/footprint.md. */
#ifndef IOTLS_FEATURES_H
#define IOTLS_FEATURES_H

/* Session resumption with tickets (RFC 8446 4.6.1, 2.2). Off: a client
 * ignores NewSessionTicket (the ticket callback is never called) and
 * offers no session; a server sends no ticket. IOTLS_ERR_UNSUPPORTED:
 * iotls_config_set_tickets with a count > 0, iotls_conn_borrow_session,
 * iotls_set_session (and their _keyed variants).  CMake: IOTLS_RESUMPTION. */
#ifndef IOTLS_FEATURE_RESUMPTION
#define IOTLS_FEATURE_RESUMPTION 1
#endif

/* 0-RTT early data (RFC 8446 2.3, 4.2.10); needs IOTLS_FEATURE_RESUMPTION.
 * IOTLS_ERR_UNSUPPORTED: iotls_config_set_early_data, iotls_conn_write_early,
 * iotls_set_early_data.  CMake: IOTLS_EARLY_DATA. */
#ifndef IOTLS_FEATURE_EARLY_DATA
#define IOTLS_FEATURE_EARLY_DATA IOTLS_FEATURE_RESUMPTION
#endif

/* External (provisioned) PSK (RFC 8446 2.2). IOTLS_ERR_UNSUPPORTED:
 * iotls_config_set_psk.  CMake: IOTLS_EXT_PSK. */
#ifndef IOTLS_FEATURE_EXT_PSK
#define IOTLS_FEATURE_EXT_PSK 1
#endif

/* Client certificates (RFC 8446 4.3.2, 4.4.2). Off: a client answers a
 * CertificateRequest with an empty Certificate (the server decides whether
 * that is enough); a server never asks for one. IOTLS_ERR_UNSUPPORTED:
 * iotls_config_set_verify_client with OPTIONAL or REQUIRED.
 * CMake: IOTLS_CLIENT_AUTH. */
#ifndef IOTLS_FEATURE_CLIENT_AUTH
#define IOTLS_FEATURE_CLIENT_AUTH 1
#endif

/* record_size_limit (RFC 8449) and max_fragment_length (RFC 6066 4). Off:
 * nothing is announced, records are up to 2^14 bytes both ways.
 * IOTLS_ERR_UNSUPPORTED: iotls_config_set_record_size below 16384.
 * CMake: IOTLS_RECORD_SIZE. */
#ifndef IOTLS_FEATURE_RECORD_SIZE
#define IOTLS_FEATURE_RECORD_SIZE 1
#endif

/* ALPN (RFC 7301). Off: none offered or selected.
 * IOTLS_ERR_UNSUPPORTED: iotls_config_set_alpn.  CMake: IOTLS_ALPN. */
#ifndef IOTLS_FEATURE_ALPN
#define IOTLS_FEATURE_ALPN 1
#endif

/* NSS key log lines (iotls_config_set_keylog), for decrypting captures
 * while debugging. Off: the key log callback is never called (the setter
 * stays, as a no-op).  CMake: IOTLS_KEYLOG. */
#ifndef IOTLS_FEATURE_KEYLOG
#define IOTLS_FEATURE_KEYLOG 1
#endif

/* Handshake trace events (iotls_config_set_trace), for -v output and
 * demos. Off: the trace callback is never called (the setter stays, as a
 * no-op).  CMake: IOTLS_TRACE. */
#ifndef IOTLS_FEATURE_TRACE
#define IOTLS_FEATURE_TRACE 1
#endif

#if IOTLS_FEATURE_EARLY_DATA && !IOTLS_FEATURE_RESUMPTION
#error "IOTLS_FEATURE_EARLY_DATA needs IOTLS_FEATURE_RESUMPTION"
#endif

/* Internal: any PSK at all (the pre_shared_key extension and binders). */
#define IOTLS_FEATURE_ANY_PSK (IOTLS_FEATURE_RESUMPTION || IOTLS_FEATURE_EXT_PSK)

#endif
