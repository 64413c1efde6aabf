/* TF-PSA-Crypto 1.0 configuration for iotls on a bare-metal board (the
 * emulated Cortex-M4 and RV32IMC boards of port/baremetal/). It replaces the
 * library's default (TF_PSA_CRYPTO_CONFIG_FILE) with only what a TLS 1.3
 * client of iotls uses, so the cross build compiles little and the image
 * keeps less:
 *   - X25519 and P-256 ECDHE, ECDSA P-256 and RSA (PSS and PKCS#1 v1.5
 *     verification of server chains; RSA signing is not needed by a device
 *     with an EC key, but the public-key code is shared),
 *   - SHA-256/384, HMAC, HKDF, AES-GCM and ChaCha20-Poly1305,
 *   - PEM and DER parsing of keys (pk) for the device key.
 * The p256-m variant (crypto_config_p256m.h, which sets IOTLS_BAREMETAL_P256M
 * and includes this file) serves P-256 with p256-m instead of the built-in
 * ECC code and keeps no other curve: TF-PSA-Crypto 1.0 builds the built-in
 * code for any other curve (or deterministic ECDSA, or key derivation into EC
 * keys) asked for beside it, which is what p256-m is meant to leave out. So
 * that build has no X25519 and the firmware offers only secp256r1.
 * No file system (no MBEDTLS_FS_IO: the PSA provider's file functions then say
 * IOTLS_ERR_UNSUPPORTED), no threads, no time() beyond what x509 needs for validity checks
 * (MBEDTLS_HAVE_TIME_DATE: the board's clock comes from the host), and no built-in entropy source:
 * the port's entropy hook (mbedtls_platform_get_entropy, port/baremetal/entropy.c) feeds the DRBG.
 */
#ifndef IOTLS_BAREMETAL_CRYPTO_CONFIG_H
#define IOTLS_BAREMETAL_CRYPTO_CONFIG_H

#define TF_PSA_CRYPTO_CONFIG_VERSION 0x01000000

#define PSA_WANT_ALG_CHACHA20_POLY1305 1
#define PSA_WANT_ALG_ECDH 1
#define PSA_WANT_ALG_ECDSA 1
#define PSA_WANT_ALG_GCM 1
#define PSA_WANT_ALG_HKDF 1
#define PSA_WANT_ALG_HKDF_EXTRACT 1
#define PSA_WANT_ALG_HKDF_EXPAND 1
#define PSA_WANT_ALG_HMAC 1
#define PSA_WANT_ALG_RSA_PKCS1V15_SIGN 1
#define PSA_WANT_ALG_RSA_PSS 1
#define PSA_WANT_ALG_SHA_256 1
#define PSA_WANT_ALG_SHA_384 1
#define PSA_WANT_ALG_SHA_512 1

#define PSA_WANT_ECC_SECP_R1_256 1
#if defined(IOTLS_BAREMETAL_P256M)
/* Mbed TLS' small P-256 (32-bit code): ECDH, ECDSA and key generation. */
#define MBEDTLS_PSA_P256M_DRIVER_ENABLED
#else
#define PSA_WANT_ECC_MONTGOMERY_255 1
#define PSA_WANT_ALG_DETERMINISTIC_ECDSA 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_DERIVE 1
#endif

#define PSA_WANT_KEY_TYPE_DERIVE 1
#define PSA_WANT_KEY_TYPE_HMAC 1
#define PSA_WANT_KEY_TYPE_AES 1
#define PSA_WANT_KEY_TYPE_CHACHA20 1
#define PSA_WANT_KEY_TYPE_ECC_PUBLIC_KEY 1
#define PSA_WANT_KEY_TYPE_RAW_DATA 1
#define PSA_WANT_KEY_TYPE_RSA_PUBLIC_KEY 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_BASIC 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_IMPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_EXPORT 1
#define PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_GENERATE 1

/* The board's calendar time (x509 validity): time() from the port. */
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_PLATFORM_C
/* mbedtls_ms_time() comes from the board's timer (port/baremetal/clock.c). */
#define MBEDTLS_PLATFORM_MS_TIME_ALT
/* The allocator hook the PSA provider counts the heap through
 * (src/crypto/mbedtls_common/mem.c); the memory itself is the port's fixed arena. */
#define MBEDTLS_PLATFORM_MEMORY

#define MBEDTLS_MD_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_PEM_WRITE_C
#define MBEDTLS_CTR_DRBG_C
#define MBEDTLS_PSA_CRYPTO_C
/* No built-in entropy source on these boards: the port provides
 * mbedtls_platform_get_entropy() (port/baremetal/entropy.c). */
#define MBEDTLS_PSA_DRIVER_GET_ENTROPY
/* Keys live in RAM only: no PSA storage, no ITS over files. */
#define MBEDTLS_PSA_KEY_STORE_DYNAMIC
#if !defined(IOTLS_BAREMETAL_P256M)
/* Fast reduction for the NIST curves (P-256 handshakes cost less). */
#define MBEDTLS_ECP_NIST_OPTIM
#endif
#define MBEDTLS_HAVE_ASM

#endif
