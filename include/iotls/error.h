/* iotls error codes.
 *
 * Every failure has its own negative code. Codes that come from bad input on
 * the wire map to the RFC 8446 section 6 alert that is sent for them
 * (iotls_error_alert). IOTLS_OK is 0; IOTLS_WANT_READ / IOTLS_WANT_WRITE are
 * not failures, they tell a non-blocking caller what the engine waits for. */
#ifndef IOTLS_ERROR_H
#define IOTLS_ERROR_H

#include "iotls/api.h"

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum iotls_error {
    IOTLS_OK = 0,
    IOTLS_WANT_READ = -1,
    IOTLS_WANT_WRITE = -2,

    /* Caller mistakes (no alert is sent: nothing came from the peer). */
    IOTLS_ERR_BAD_ARG = -10,
    IOTLS_ERR_BUFFER_TOO_SMALL = -11,
    IOTLS_ERR_BAD_STATE = -12,
    IOTLS_ERR_CONFIG = -13,
    IOTLS_ERR_UNSUPPORTED = -14, /* feature left out at compile time (iotls/features.h) */

    /* Malformed or illegal input from the peer. */
    IOTLS_ERR_DECODE = -20,                  /* decode_error */
    IOTLS_ERR_ILLEGAL_PARAMETER = -21,       /* illegal_parameter */
    IOTLS_ERR_UNEXPECTED_MESSAGE = -22,      /* unexpected_message */
    IOTLS_ERR_RECORD_OVERFLOW = -23,         /* record_overflow */
    IOTLS_ERR_BAD_RECORD_MAC = -24,          /* bad_record_mac */
    IOTLS_ERR_HANDSHAKE_FAILURE = -25,       /* handshake_failure: nothing in common */
    IOTLS_ERR_PROTOCOL_VERSION = -26,        /* protocol_version: peer is not TLS 1.3 */
    IOTLS_ERR_MISSING_EXTENSION = -27,       /* missing_extension */
    IOTLS_ERR_UNSUPPORTED_EXTENSION = -28,   /* unsupported_extension */
    IOTLS_ERR_DECRYPT_ERROR = -29,           /* decrypt_error: Finished or signature */
    IOTLS_ERR_HANDSHAKE_TOO_LARGE = -30,     /* a handshake message over the configured limit */
    IOTLS_ERR_NO_APPLICATION_PROTOCOL = -31, /* no_application_protocol */
    IOTLS_ERR_INSUFFICIENT_SECURITY = -32,   /* insufficient_security */
    IOTLS_ERR_TOO_MANY_EMPTY = -33,          /* too many empty records / warnings in a row */

    /* Certificates. */
    IOTLS_ERR_BAD_CERTIFICATE = -40,         /* bad_certificate: unparsable, bad signature */
    IOTLS_ERR_CERT_EXPIRED = -41,            /* certificate_expired (or not yet valid) */
    IOTLS_ERR_CERT_UNKNOWN_CA = -42,         /* unknown_ca */
    IOTLS_ERR_CERT_HOSTNAME = -43,           /* bad_certificate: name does not match */
    IOTLS_ERR_CERT_REQUIRED = -44,           /* certificate_required */
    IOTLS_ERR_UNSUPPORTED_CERTIFICATE = -45, /* unsupported_certificate (key usage, key type) */
    IOTLS_ERR_CERT_PIN = -46,                /* bad_certificate: SPKI pin mismatch */
    IOTLS_ERR_CERT_REVOKED = -47,            /* certificate_revoked */
    IOTLS_ERR_CERT_KEY_REFUSED = -48, /* unsupported_certificate: a chain key outside the profile */
    /* certificate_unknown: a configured CRL cannot decide (expired, not yet
     * valid, not signed by its CA, or none from the leaf's issuer) */
    IOTLS_ERR_CRL_UNUSABLE = -49,

    /* Local failures. */
    IOTLS_ERR_INTERNAL = -60,  /* internal_error */
    IOTLS_ERR_CRYPTO = -61,    /* a crypto library call failed */
    IOTLS_ERR_RANDOM = -62,    /* the random generator failed */
    IOTLS_ERR_KEY_LOAD = -63,  /* key or certificate file could not be loaded */
    IOTLS_ERR_NO_MEMORY = -64, /* outside the engine: allocation failed */
    /* Our own handshake flight does not fit the connection's buffers: a
     * certificate chain larger than the configuration's when the
     * connection was sized (iotls_conn_size), or a peer record limit
     * below 512 bytes. internal_error is sent. */
    IOTLS_ERR_FLIGHT_TOO_LARGE = -65,
    /* Reassembly in the record buffer (iotls_config_set_reassemble_in_place):
     * the record that continues a handshake message spanning records does
     * not fit the record buffer behind the message's first part. The peer
     * broke no rule, our buffer is too small for its record layout:
     * internal_error is sent. */
    IOTLS_ERR_REASSEMBLY_ROOM = -66,

    /* The connection's end. */
    IOTLS_ERR_ALERT_RECEIVED = -80, /* the peer sent a fatal alert (see peer_alert) */
    IOTLS_ERR_CLOSED = -81,         /* close_notify received: orderly end */
    IOTLS_ERR_EOF = -82,            /* transport closed without close_notify */
    IOTLS_ERR_IO = -83,             /* socket error */
    IOTLS_ERR_TIMEOUT = -84,        /* blocking API timed out */
    IOTLS_ERR_RESOLVE = -85,        /* host name lookup failed */
    IOTLS_ERR_FAILED = -86,         /* the connection already failed earlier */

    /* Sessions. */
    IOTLS_ERR_SESSION_INVALID = -90, /* session blob damaged, truncated or wrong version */
    IOTLS_ERR_SESSION_EXPIRED = -91, /* session ticket lifetime passed */
};

/* RFC 8446 section 6 alert descriptions. */
enum iotls_alert {
    IOTLS_ALERT_CLOSE_NOTIFY = 0,
    IOTLS_ALERT_UNEXPECTED_MESSAGE = 10,
    IOTLS_ALERT_BAD_RECORD_MAC = 20,
    IOTLS_ALERT_RECORD_OVERFLOW = 22,
    IOTLS_ALERT_HANDSHAKE_FAILURE = 40,
    IOTLS_ALERT_BAD_CERTIFICATE = 42,
    IOTLS_ALERT_UNSUPPORTED_CERTIFICATE = 43,
    IOTLS_ALERT_CERTIFICATE_REVOKED = 44,
    IOTLS_ALERT_CERTIFICATE_EXPIRED = 45,
    IOTLS_ALERT_CERTIFICATE_UNKNOWN = 46,
    IOTLS_ALERT_ILLEGAL_PARAMETER = 47,
    IOTLS_ALERT_UNKNOWN_CA = 48,
    IOTLS_ALERT_ACCESS_DENIED = 49,
    IOTLS_ALERT_DECODE_ERROR = 50,
    IOTLS_ALERT_DECRYPT_ERROR = 51,
    IOTLS_ALERT_PROTOCOL_VERSION = 70,
    IOTLS_ALERT_INSUFFICIENT_SECURITY = 71,
    IOTLS_ALERT_INTERNAL_ERROR = 80,
    IOTLS_ALERT_INAPPROPRIATE_FALLBACK = 86,
    IOTLS_ALERT_USER_CANCELED = 90,
    IOTLS_ALERT_MISSING_EXTENSION = 109,
    IOTLS_ALERT_UNSUPPORTED_EXTENSION = 110,
    IOTLS_ALERT_UNRECOGNIZED_NAME = 112,
    IOTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE = 113,
    IOTLS_ALERT_UNKNOWN_PSK_IDENTITY = 115,
    IOTLS_ALERT_CERTIFICATE_REQUIRED = 116,
    IOTLS_ALERT_NO_APPLICATION_PROTOCOL = 120,
};

/* Short stable name of an error code, e.g. "IOTLS_ERR_DECODE". */
IOTLS_API const char *iotls_error_name(int err);
/* One-line human explanation of an error code. */
IOTLS_API const char *iotls_error_string(int err);
/* The alert description to send for err, or -1 when none is sent.
 * IOTLS_ERR_CONFIG gives -1 (configuration calls fail outside any
 * connection), but a connection that finds its configuration unusable
 * mid-handshake sends internal_error. */
IOTLS_API int iotls_error_alert(int err);
/* Name of an alert description, e.g. "decode_error"; "unknown" otherwise. */
IOTLS_API const char *iotls_alert_name(int alert);
/* The local error code that a received fatal alert maps to is always
 * IOTLS_ERR_ALERT_RECEIVED; the description is kept on the connection. */

#ifdef __cplusplus
}
#endif
#endif
