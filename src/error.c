/* Names and texts of the error codes, and alert names. The alert sent for
 * each error is in error_alert.c. */
#include "iotls/error.h"

#include <stddef.h>

typedef struct {
    int code;
    const char *name;
    const char *text;
} error_entry;

static const error_entry error_table[] = {
    {IOTLS_OK, "IOTLS_OK", "success"},
    {IOTLS_WANT_READ, "IOTLS_WANT_READ", "waiting for data from the peer"},
    {IOTLS_WANT_WRITE, "IOTLS_WANT_WRITE", "waiting for room to send"},
    {IOTLS_ERR_BAD_ARG, "IOTLS_ERR_BAD_ARG", "invalid argument"},
    {IOTLS_ERR_BUFFER_TOO_SMALL, "IOTLS_ERR_BUFFER_TOO_SMALL", "buffer too small"},
    {IOTLS_ERR_BAD_STATE, "IOTLS_ERR_BAD_STATE", "call not valid in this connection state"},
    {IOTLS_ERR_CONFIG, "IOTLS_ERR_CONFIG", "invalid configuration"},
    {IOTLS_ERR_UNSUPPORTED, "IOTLS_ERR_UNSUPPORTED",
     "feature not built into this image (iotls/features.h)"},
    {IOTLS_ERR_DECODE, "IOTLS_ERR_DECODE", "malformed message from the peer"},
    {IOTLS_ERR_ILLEGAL_PARAMETER, "IOTLS_ERR_ILLEGAL_PARAMETER", "peer sent an illegal value"},
    {IOTLS_ERR_UNEXPECTED_MESSAGE, "IOTLS_ERR_UNEXPECTED_MESSAGE",
     "peer sent a message out of order"},
    {IOTLS_ERR_RECORD_OVERFLOW, "IOTLS_ERR_RECORD_OVERFLOW",
     "record larger than the protocol allows"},
    {IOTLS_ERR_BAD_RECORD_MAC, "IOTLS_ERR_BAD_RECORD_MAC",
     "record failed authentication (tampered or wrong keys)"},
    {IOTLS_ERR_HANDSHAKE_FAILURE, "IOTLS_ERR_HANDSHAKE_FAILURE",
     "no acceptable parameters in common with the peer"},
    {IOTLS_ERR_PROTOCOL_VERSION, "IOTLS_ERR_PROTOCOL_VERSION", "peer does not speak TLS 1.3"},
    {IOTLS_ERR_MISSING_EXTENSION, "IOTLS_ERR_MISSING_EXTENSION",
     "peer omitted a mandatory extension"},
    {IOTLS_ERR_UNSUPPORTED_EXTENSION, "IOTLS_ERR_UNSUPPORTED_EXTENSION",
     "peer sent an extension it may not send here"},
    {IOTLS_ERR_DECRYPT_ERROR, "IOTLS_ERR_DECRYPT_ERROR", "Finished or signature did not verify"},
    {IOTLS_ERR_HANDSHAKE_TOO_LARGE, "IOTLS_ERR_HANDSHAKE_TOO_LARGE",
     "handshake message larger than the configured limit"},
    {IOTLS_ERR_NO_APPLICATION_PROTOCOL, "IOTLS_ERR_NO_APPLICATION_PROTOCOL",
     "no ALPN protocol in common"},
    {IOTLS_ERR_INSUFFICIENT_SECURITY, "IOTLS_ERR_INSUFFICIENT_SECURITY",
     "peer parameters too weak"},
    {IOTLS_ERR_TOO_MANY_EMPTY, "IOTLS_ERR_TOO_MANY_EMPTY",
     "too many empty records or warnings in a row"},
    {IOTLS_ERR_BAD_CERTIFICATE, "IOTLS_ERR_BAD_CERTIFICATE", "peer certificate is invalid"},
    {IOTLS_ERR_CERT_EXPIRED, "IOTLS_ERR_CERT_EXPIRED", "peer certificate expired or not yet valid"},
    {IOTLS_ERR_CERT_UNKNOWN_CA, "IOTLS_ERR_CERT_UNKNOWN_CA",
     "peer certificate not signed by a trusted CA"},
    {IOTLS_ERR_CERT_HOSTNAME, "IOTLS_ERR_CERT_HOSTNAME",
     "peer certificate does not match the host name"},
    {IOTLS_ERR_CERT_REQUIRED, "IOTLS_ERR_CERT_REQUIRED",
     "peer sent no certificate but one is required"},
    {IOTLS_ERR_UNSUPPORTED_CERTIFICATE, "IOTLS_ERR_UNSUPPORTED_CERTIFICATE",
     "peer certificate key or usage not acceptable"},
    {IOTLS_ERR_CERT_PIN, "IOTLS_ERR_CERT_PIN", "peer public key does not match the pinned key"},
    {IOTLS_ERR_CERT_REVOKED, "IOTLS_ERR_CERT_REVOKED", "peer certificate revoked"},
    {IOTLS_ERR_CERT_KEY_REFUSED, "IOTLS_ERR_CERT_KEY_REFUSED",
     "peer certificate chain holds a key outside the accepted profile"},
    {IOTLS_ERR_CRL_UNUSABLE, "IOTLS_ERR_CRL_UNUSABLE",
     "a configured CRL cannot decide on the peer certificate (expired, not signed by its CA, "
     "or none from its issuer)"},
    {IOTLS_ERR_INTERNAL, "IOTLS_ERR_INTERNAL", "internal error"},
    {IOTLS_ERR_CRYPTO, "IOTLS_ERR_CRYPTO", "crypto library failure"},
    {IOTLS_ERR_RANDOM, "IOTLS_ERR_RANDOM", "random generator failure"},
    {IOTLS_ERR_KEY_LOAD, "IOTLS_ERR_KEY_LOAD", "key or certificate could not be loaded"},
    {IOTLS_ERR_NO_MEMORY, "IOTLS_ERR_NO_MEMORY", "out of memory"},
    {IOTLS_ERR_FLIGHT_TOO_LARGE, "IOTLS_ERR_FLIGHT_TOO_LARGE",
     "our handshake flight does not fit the connection's buffers (certificate chain larger "
     "than when the connection was sized)"},
    {IOTLS_ERR_REASSEMBLY_ROOM, "IOTLS_ERR_REASSEMBLY_ROOM",
     "a handshake message spanning records does not fit the record buffer with the record "
     "that continues it (reassembly in place)"},
    {IOTLS_ERR_ALERT_RECEIVED, "IOTLS_ERR_ALERT_RECEIVED", "peer sent a fatal alert"},
    {IOTLS_ERR_CLOSED, "IOTLS_ERR_CLOSED", "peer closed the connection (close_notify)"},
    {IOTLS_ERR_EOF, "IOTLS_ERR_EOF", "connection closed without close_notify"},
    {IOTLS_ERR_IO, "IOTLS_ERR_IO", "socket error"},
    {IOTLS_ERR_TIMEOUT, "IOTLS_ERR_TIMEOUT", "timed out"},
    {IOTLS_ERR_RESOLVE, "IOTLS_ERR_RESOLVE", "host name lookup failed"},
    {IOTLS_ERR_FAILED, "IOTLS_ERR_FAILED", "connection already failed"},
    {IOTLS_ERR_SESSION_INVALID, "IOTLS_ERR_SESSION_INVALID",
     "session data damaged, truncated or of another version"},
    {IOTLS_ERR_SESSION_EXPIRED, "IOTLS_ERR_SESSION_EXPIRED", "session ticket expired"},
};

static const error_entry *find_error(int err)
{
    for (size_t i = 0; i < sizeof error_table / sizeof error_table[0]; i++)
        if (error_table[i].code == err)
            return &error_table[i];
    return NULL;
}

const char *iotls_error_name(int err)
{
    const error_entry *e = find_error(err);
    return e ? e->name : "IOTLS_ERR_UNKNOWN";
}

const char *iotls_error_string(int err)
{
    const error_entry *e = find_error(err);
    return e ? e->text : "unknown error";
}

const char *iotls_alert_name(int alert)
{
    switch (alert) {
    case IOTLS_ALERT_CLOSE_NOTIFY:
        return "close_notify";
    case IOTLS_ALERT_UNEXPECTED_MESSAGE:
        return "unexpected_message";
    case IOTLS_ALERT_BAD_RECORD_MAC:
        return "bad_record_mac";
    case IOTLS_ALERT_RECORD_OVERFLOW:
        return "record_overflow";
    case IOTLS_ALERT_HANDSHAKE_FAILURE:
        return "handshake_failure";
    case IOTLS_ALERT_BAD_CERTIFICATE:
        return "bad_certificate";
    case IOTLS_ALERT_UNSUPPORTED_CERTIFICATE:
        return "unsupported_certificate";
    case IOTLS_ALERT_CERTIFICATE_REVOKED:
        return "certificate_revoked";
    case IOTLS_ALERT_CERTIFICATE_EXPIRED:
        return "certificate_expired";
    case IOTLS_ALERT_CERTIFICATE_UNKNOWN:
        return "certificate_unknown";
    case IOTLS_ALERT_ILLEGAL_PARAMETER:
        return "illegal_parameter";
    case IOTLS_ALERT_UNKNOWN_CA:
        return "unknown_ca";
    case IOTLS_ALERT_ACCESS_DENIED:
        return "access_denied";
    case IOTLS_ALERT_DECODE_ERROR:
        return "decode_error";
    case IOTLS_ALERT_DECRYPT_ERROR:
        return "decrypt_error";
    case IOTLS_ALERT_PROTOCOL_VERSION:
        return "protocol_version";
    case IOTLS_ALERT_INSUFFICIENT_SECURITY:
        return "insufficient_security";
    case IOTLS_ALERT_INTERNAL_ERROR:
        return "internal_error";
    case IOTLS_ALERT_INAPPROPRIATE_FALLBACK:
        return "inappropriate_fallback";
    case IOTLS_ALERT_USER_CANCELED:
        return "user_canceled";
    case IOTLS_ALERT_MISSING_EXTENSION:
        return "missing_extension";
    case IOTLS_ALERT_UNSUPPORTED_EXTENSION:
        return "unsupported_extension";
    case IOTLS_ALERT_UNRECOGNIZED_NAME:
        return "unrecognized_name";
    case IOTLS_ALERT_BAD_CERTIFICATE_STATUS_RESPONSE:
        return "bad_certificate_status_response";
    case IOTLS_ALERT_UNKNOWN_PSK_IDENTITY:
        return "unknown_psk_identity";
    case IOTLS_ALERT_CERTIFICATE_REQUIRED:
        return "certificate_required";
    case IOTLS_ALERT_NO_APPLICATION_PROTOCOL:
        return "no_application_protocol";
    default:
        return "unknown";
    }
}
