/* Mbed TLS 4.0 configuration for the comparison firmware (port/baremetal/
 * compare/): the same X.509 part as mbedtls_config.h, plus Mbed TLS' own
 * TLS 1.3 client, so that the two TLS stacks run on the same boards with
 * the same crypto library configuration (crypto_config.h). Client only,
 * TLS 1.3 only, ECDHE (psk_ke modes off), SNI, tickets, no debug. */
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
#define MBEDTLS_SSL_TLS1_3_COMPATIBILITY_MODE
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
/* A TLS 1.3 server sends NewSessionTickets; without this Mbed TLS cannot
 * take them. */
#define MBEDTLS_SSL_SESSION_TICKETS

#endif
