#!/bin/sh
# The PSA provider uses the PSA Crypto API only: none of the legacy crypto
# headers Mbed TLS 4 removed is included by the files it is built from
# (src/crypto/psa/, and src/crypto/mbedtls_common/ and src/crypto/common/,
# which it shares). Compiling against Mbed TLS 4 does not prove it: its
# built-in drivers still ship some of these headers on the include path.
#   psa_headers_test.sh SOURCE_DIR
set -eu
cd "$1"
legacy='ecdh|ecdsa|ecp|bignum|gcm|ctr_drbg|entropy|hkdf|rsa|cipher'
pattern="^[[:space:]]*#[[:space:]]*include[[:space:]]*[<\"]mbedtls/($legacy)\\.h[>\"]"
# The pattern itself must catch an include, or this test could never fail.
printf '#include <mbedtls/ecdsa.h>\n' | grep -Eq "$pattern" ||
    { echo "psa.headers: the pattern does not match a legacy include"; exit 1; }
files=$(find src/crypto/psa src/crypto/mbedtls_common src/crypto/common -name '*.[ch]' | sort)
[ -n "$files" ] || { echo "psa.headers: no provider sources found"; exit 1; }
# shellcheck disable=SC2086
found=$(grep -EnH "$pattern" $files || true)
if [ -n "$found" ]; then
    echo "psa.headers: legacy crypto headers included where the PSA provider is built from:"
    echo "$found"
    exit 1
fi
echo "psa.headers: $(echo "$files" | wc -l) files, no legacy crypto header ($legacy)"
