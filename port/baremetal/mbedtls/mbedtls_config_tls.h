/* Mbed TLS 4.0 configuration for the comparison firmware (port/baremetal/
 * compare/): the same X.509 part as mbedtls_config.h, plus Mbed TLS' own
 * TLS 1.3 client, so that the two TLS stacks run on the same boards with
 * the same crypto library configuration (crypto_config.h). Client only,
 * TLS 1.3 only, ECDHE and resumption with ECDHE (psk_dhe_ke; psk_ke off, as
 * in iotls), SNI, tickets, early data, record_size_limit, no debug: the
 * profile of the iotls firmware (port/baremetal/build-firmware.sh: client
 * only, resumption, 0-RTT, client certificate, record size; no ALPN, no
 * external PSK, no key log or trace).
 * The record buffers (MBEDTLS_SSL_IN_CONTENT_LEN / OUT_CONTENT_LEN) are set
 * per build by build-mbedtls4.sh, which includes this file from a small
 * wrapper. */
#ifndef IOTLS_BAREMETAL_MBEDTLS_CONFIG_TLS_H
#define IOTLS_BAREMETAL_MBEDTLS_CONFIG_TLS_H

#define MBEDTLS_CONFIG_VERSION 0x04000000

#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_3
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_PSK_EPHEMERAL_ENABLED
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/* A TLS 1.3 server sends NewSessionTickets; without this Mbed TLS cannot
 * take them. */
#define MBEDTLS_SSL_SESSION_TICKETS
/* 0-RTT from a resumed session (mbedtls_ssl_write_early_data). */
#define MBEDTLS_SSL_EARLY_DATA

/* record_size_limit (RFC 8449): the iotls firmware has it too (its
 * small-records runs announce 512), so both images carry the same
 * features whatever the buffers. It announces MBEDTLS_SSL_IN_CONTENT_LEN. */
#define MBEDTLS_SSL_RECORD_SIZE_LIMIT

#endif
