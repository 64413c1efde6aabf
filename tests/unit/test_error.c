/* Error codes: every code has a name and a text, and the alert each sends
 * is the one RFC 8446 section 6 names for it. */
#include <string.h>

#include "iotls/error.h"
#include "testlib.h"

int main(void)
{
    static const struct {
        int err;
        int alert;
    } want[] = {
        {IOTLS_ERR_DECODE, IOTLS_ALERT_DECODE_ERROR},
        {IOTLS_ERR_ILLEGAL_PARAMETER, IOTLS_ALERT_ILLEGAL_PARAMETER},
        {IOTLS_ERR_UNEXPECTED_MESSAGE, IOTLS_ALERT_UNEXPECTED_MESSAGE},
        {IOTLS_ERR_RECORD_OVERFLOW, IOTLS_ALERT_RECORD_OVERFLOW},
        {IOTLS_ERR_BAD_RECORD_MAC, IOTLS_ALERT_BAD_RECORD_MAC},
        {IOTLS_ERR_HANDSHAKE_FAILURE, IOTLS_ALERT_HANDSHAKE_FAILURE},
        {IOTLS_ERR_PROTOCOL_VERSION, IOTLS_ALERT_PROTOCOL_VERSION},
        {IOTLS_ERR_MISSING_EXTENSION, IOTLS_ALERT_MISSING_EXTENSION},
        {IOTLS_ERR_UNSUPPORTED_EXTENSION, IOTLS_ALERT_UNSUPPORTED_EXTENSION},
        {IOTLS_ERR_DECRYPT_ERROR, IOTLS_ALERT_DECRYPT_ERROR},
        {IOTLS_ERR_NO_APPLICATION_PROTOCOL, IOTLS_ALERT_NO_APPLICATION_PROTOCOL},
        {IOTLS_ERR_BAD_CERTIFICATE, IOTLS_ALERT_BAD_CERTIFICATE},
        {IOTLS_ERR_CERT_EXPIRED, IOTLS_ALERT_CERTIFICATE_EXPIRED},
        {IOTLS_ERR_CERT_UNKNOWN_CA, IOTLS_ALERT_UNKNOWN_CA},
        {IOTLS_ERR_CERT_HOSTNAME, IOTLS_ALERT_BAD_CERTIFICATE},
        {IOTLS_ERR_CERT_REQUIRED, IOTLS_ALERT_CERTIFICATE_REQUIRED},
        {IOTLS_ERR_UNSUPPORTED_CERTIFICATE, IOTLS_ALERT_UNSUPPORTED_CERTIFICATE},
        {IOTLS_ERR_CERT_KEY_REFUSED, IOTLS_ALERT_UNSUPPORTED_CERTIFICATE},
        {IOTLS_ERR_CERT_REVOKED, IOTLS_ALERT_CERTIFICATE_REVOKED},
        {IOTLS_ERR_CRL_UNUSABLE, IOTLS_ALERT_CERTIFICATE_UNKNOWN},
        {IOTLS_ERR_INTERNAL, IOTLS_ALERT_INTERNAL_ERROR},
        /* Nothing is sent for the caller's mistakes, a peer's alert or a
         * dead transport. */
        {IOTLS_ERR_BAD_ARG, -1},
        {IOTLS_ERR_UNSUPPORTED, -1},
        {IOTLS_ERR_ALERT_RECEIVED, -1},
        {IOTLS_ERR_EOF, -1},
        {IOTLS_ERR_TIMEOUT, -1},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        CHECK(iotls_error_alert(want[i].err) == want[i].alert);
        CHECK(strncmp(iotls_error_name(want[i].err), "IOTLS_", 6) == 0);
        CHECK(strcmp(iotls_error_string(want[i].err), "unknown error") != 0);
    }
    /* Every code from -1 to -100 that has a name has a text and vice versa. */
    for (int e = 0; e >= -100; e--) {
        int named = strcmp(iotls_error_name(e), "IOTLS_ERR_UNKNOWN") != 0;
        int texted = strcmp(iotls_error_string(e), "unknown error") != 0;
        CHECK(named == texted);
    }
    CHECK(strcmp(iotls_alert_name(IOTLS_ALERT_CERTIFICATE_REQUIRED), "certificate_required") == 0);
    CHECK(strcmp(iotls_alert_name(200), "unknown") == 0);
    CHECK(strcmp(iotls_error_name(-999), "IOTLS_ERR_UNKNOWN") == 0);
    return tl_finish("error");
}
