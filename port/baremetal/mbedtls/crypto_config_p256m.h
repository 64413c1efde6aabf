/* TF-PSA-Crypto 1.0 configuration of the p256-m firmware (make device-compare;
 * docs/device.md): the board configuration of crypto_config.h with P-256 served
 * by p256-m (MBEDTLS_PSA_P256M_DRIVER_ENABLED) and no other curve. The library
 * and the firmware are compiled with this file (build-mbedtls4.sh,
 * build-firmware.sh: variant p256m), so that both see the same PSA_WANT_*. */
#ifndef IOTLS_BAREMETAL_CRYPTO_CONFIG_P256M_H
#define IOTLS_BAREMETAL_CRYPTO_CONFIG_P256M_H
#define IOTLS_BAREMETAL_P256M 1
#include "crypto_config.h"
#endif
