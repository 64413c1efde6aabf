/* The exit code table and the mapping from iotls error codes. */
#include "exit_codes.h"

#include "iotls/error.h"

static const struct {
    int code;
    const char *text;
} exit_table[] = {
    {APP_EXIT_OK, "success"},
    {APP_EXIT_FAILURE, "other failure (out of memory, internal error, I/O after the handshake)"},
    {APP_EXIT_USAGE, "usage: unknown option, missing or bad value"},
    {APP_EXIT_CONFIG, "local file or configuration: CA, certificate, key or session file"},
    {APP_EXIT_RESOLVE, "host name lookup failed"},
    {APP_EXIT_CONNECT, "TCP connection refused or unreachable, or cut without close_notify"},
    {APP_EXIT_TIMEOUT, "connect, handshake or read timed out (--connect-timeout, --timeout)"},
    {APP_EXIT_PROTOCOL, "TLS handshake or protocol failure detected by iotls"},
    {APP_EXIT_VERIFY, "peer certificate verification: CA, name, dates, pin or revocation"},
    {APP_EXIT_PEER_ALERT, "the peer refused the connection: it sent a fatal alert"},
};

int app_exit_for(int err)
{
    switch (err) {
    case IOTLS_OK:
        return APP_EXIT_OK;
    case IOTLS_ERR_CONFIG:
    case IOTLS_ERR_UNSUPPORTED:
    case IOTLS_ERR_KEY_LOAD:
    case IOTLS_ERR_SESSION_INVALID:
    case IOTLS_ERR_SESSION_EXPIRED:
        return APP_EXIT_CONFIG;
    case IOTLS_ERR_RESOLVE:
        return APP_EXIT_RESOLVE;
    case IOTLS_ERR_IO:
    case IOTLS_ERR_EOF:
        return APP_EXIT_CONNECT;
    case IOTLS_ERR_TIMEOUT:
        return APP_EXIT_TIMEOUT;
    case IOTLS_ERR_DECODE:
    case IOTLS_ERR_ILLEGAL_PARAMETER:
    case IOTLS_ERR_UNEXPECTED_MESSAGE:
    case IOTLS_ERR_RECORD_OVERFLOW:
    case IOTLS_ERR_BAD_RECORD_MAC:
    case IOTLS_ERR_HANDSHAKE_FAILURE:
    case IOTLS_ERR_PROTOCOL_VERSION:
    case IOTLS_ERR_MISSING_EXTENSION:
    case IOTLS_ERR_UNSUPPORTED_EXTENSION:
    case IOTLS_ERR_DECRYPT_ERROR:
    case IOTLS_ERR_HANDSHAKE_TOO_LARGE:
    case IOTLS_ERR_REASSEMBLY_ROOM: /* the peer's record layout, against our buffer */
    case IOTLS_ERR_NO_APPLICATION_PROTOCOL:
    case IOTLS_ERR_INSUFFICIENT_SECURITY:
    case IOTLS_ERR_TOO_MANY_EMPTY:
    case IOTLS_ERR_CLOSED: /* close_notify in the middle of the handshake */
        return APP_EXIT_PROTOCOL;
    case IOTLS_ERR_BAD_CERTIFICATE:
    case IOTLS_ERR_CERT_EXPIRED:
    case IOTLS_ERR_CERT_UNKNOWN_CA:
    case IOTLS_ERR_CERT_HOSTNAME:
    case IOTLS_ERR_CERT_REQUIRED:
    case IOTLS_ERR_UNSUPPORTED_CERTIFICATE:
    case IOTLS_ERR_CERT_PIN:
    case IOTLS_ERR_CERT_REVOKED:
    case IOTLS_ERR_CRL_UNUSABLE:
    case IOTLS_ERR_CERT_KEY_REFUSED: /* a chain key outside the profile */
        return APP_EXIT_VERIFY;
    case IOTLS_ERR_ALERT_RECEIVED:
        return APP_EXIT_PEER_ALERT;
    default:
        return APP_EXIT_FAILURE;
    }
}

void app_exit_codes_print(FILE *out)
{
    for (size_t i = 0; i < sizeof exit_table / sizeof exit_table[0]; i++)
        fprintf(out, "  %d  %s\n", exit_table[i].code, exit_table[i].text);
}
