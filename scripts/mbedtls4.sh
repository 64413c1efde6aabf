#!/bin/sh
# Builds Mbed TLS 4.0 (with TF-PSA-Crypto 1.0), the series ESP-IDF 6 ships,
# from its release tarball, so that iotls' PSA provider (src/crypto/psa/) is
# compiled and tested against it (`make test-psa`).
#
# Nothing is vendored: the tarball stays where it is (MBEDTLS4_SRC, by
# default ../shared/deps/mbedtls-4.0.0.tar.xz beside the repository or
# beside its main worktree), is checked against the SHA256SUMS next to it
# when there is one, and is unpacked and built in DIR.
#
# Usage: scripts/mbedtls4.sh DIR [build|check] [default|p256m]
#   DIR/src        the unpacked source (mbedtls-4.0.0)
#   DIR/build      CMake's build tree
#   DIR/lib        libtfpsacrypto.a, libmbedx509.a, libmbedtls.a (host,
#                  -O2 -fPIC), default configuration plus
#                  MBEDTLS_PLATFORM_MEMORY, the allocator hook `iotls bench`
#                  counts the heap through, and MBEDTLS_THREADING_C with
#                  pthreads: the PSA key store is shared by every thread, and
#                  iotls' server runs a thread per connection (ESP-IDF's
#                  configuration has threading on as well)
#   DIR/include    the installed headers (mbedtls/, psa/, tf-psa-crypto/)
#   DIR/variant    which configuration DIR holds
# The variant p256m is that configuration with P-256 served by p256-m
# (MBEDTLS_PSA_P256M_DRIVER_ENABLED, Mbed TLS' small fast P-256 driver) and
# no other elliptic curve: TF-PSA-Crypto 1.0 would otherwise build its
# built-in ECC code for the other curves as well, which is what p256-m is
# meant to leave out. So X25519, P-384, P-521, the Brainpool and Koblitz
# curves, deterministic ECDSA, EC-JPAKE, key derivation into EC keys and
# compressed-point parsing are off; RSA stays. iotls built against it
# offers only secp256r1 (the PSA provider asks PSA_WANT_* what there is).
# With "check", only says whether the leg can run: exit 0 when DIR/lib is
# built or the tarball is there, 3 (and why) otherwise.
# Safe to run again: it does nothing once DIR/lib holds the libraries.
#
# Exit status 3 with a line "Mbed TLS 4 leg not run: <why>" on stderr when
# the tarball or a build prerequisite is missing: callers report that, they
# never count it as a pass. Building needs cmake, python3 with jinja2 and
# jsonschema (Debian: python3-jinja2 python3-jsonschema).
set -eu
DIR=${1:?usage: scripts/mbedtls4.sh DIR [build|check] [default|p256m]}
MODE=${2:-build}
VARIANT=${3:-default}
case $VARIANT in
default | p256m) ;;
*)
    echo "scripts/mbedtls4.sh: unknown variant '$VARIANT' (default or p256m)" >&2
    exit 2
    ;;
esac
REPO=$(cd "$(dirname "$0")/.." && pwd)
# mbedtls4_tarball, mbedtls4_build_tools
. "$REPO/scripts/mbedtls4-tarball.sh"

not_run() {
    echo "Mbed TLS 4 leg not run: $*" >&2
    exit 3
}

if [ -f "$DIR/lib/libtfpsacrypto.a" ] && [ -f "$DIR/lib/libmbedx509.a" ] &&
    [ -f "$DIR/include/psa/crypto.h" ]; then
    # A DIR built before variants existed holds the default one.
    built=$(cat "$DIR/variant" 2>/dev/null || echo default)
    [ "$built" = "$VARIANT" ] && exit 0
    [ "$MODE" = check ] || {
        echo "scripts/mbedtls4.sh: $DIR holds the $built configuration, not $VARIANT (remove it or use another DIR)" >&2
        exit 1
    }
fi

mbedtls4_tarball
[ "$MODE" = check ] && exit 0

mbedtls4_build_tools

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ ! -f "$DIR/src/tf-psa-crypto/include/psa/crypto.h" ] ||
    [ "$(cat "$DIR/variant" 2>/dev/null || echo default)" != "$VARIANT" ]; then
    rm -rf "$DIR/src" "$DIR/src.tmp"
    mkdir -p "$DIR/src.tmp"
    tar -xJf "$TARBALL" -C "$DIR/src.tmp" --strip-components=1
    # The default configuration plus the allocator hook, set with
    # TF-PSA-Crypto's own configuration script in the unpacked copy, so
    # that the library and every user of DIR/include see the same one.
    config() {
        python3 "$DIR/src.tmp/tf-psa-crypto/scripts/config.py" \
            -f "$DIR/src.tmp/tf-psa-crypto/include/psa/crypto_config.h" "$@"
    }
    for opt in MBEDTLS_PLATFORM_MEMORY MBEDTLS_THREADING_C MBEDTLS_THREADING_PTHREAD; do
        config set $opt
    done
    if [ "$VARIANT" = p256m ]; then
        config set MBEDTLS_PSA_P256M_DRIVER_ENABLED
        for opt in PSA_WANT_ECC_BRAINPOOL_P_R1_256 PSA_WANT_ECC_BRAINPOOL_P_R1_384 \
            PSA_WANT_ECC_BRAINPOOL_P_R1_512 PSA_WANT_ECC_MONTGOMERY_255 PSA_WANT_ECC_MONTGOMERY_448 \
            PSA_WANT_ECC_SECP_K1_256 PSA_WANT_ECC_SECP_R1_384 PSA_WANT_ECC_SECP_R1_521 \
            PSA_WANT_ALG_DETERMINISTIC_ECDSA PSA_WANT_ALG_JPAKE PSA_WANT_KEY_TYPE_ECC_KEY_PAIR_DERIVE \
            MBEDTLS_PK_PARSE_EC_COMPRESSED MBEDTLS_PK_PARSE_EC_EXTENDED; do
            config unset $opt
        done
    fi
    rm -rf "$DIR/build"
    mv "$DIR/src.tmp" "$DIR/src"
    echo "$VARIANT" >"$DIR/variant"
fi

JOBS=$(nproc 2>/dev/null || echo 2)
echo "mbedtls4: building Mbed TLS 4 ($VARIANT configuration) from $TARBALL in $DIR ($JOBS jobs)"
start=$(date +%s)
rm -rf "$DIR/include" "$DIR/lib"
# Release is -O2 in Mbed TLS' CMake; PIC so that libiotls.so can link it.
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
    -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF -DPython3_EXECUTABLE="$(command -v python3)" \
    -DCMAKE_INSTALL_PREFIX="$DIR" -DCMAKE_INSTALL_LIBDIR=lib >"$DIR/configure.log" 2>&1 ||
    { tail -n 30 "$DIR/configure.log" >&2; exit 1; }
cmake --build "$DIR/build" -j "$JOBS" >"$DIR/build.log" 2>&1 ||
    { tail -n 30 "$DIR/build.log" >&2; exit 1; }
cmake --install "$DIR/build" >"$DIR/install.log" 2>&1 ||
    { tail -n 30 "$DIR/install.log" >&2; exit 1; }
echo "mbedtls4: built in $(($(date +%s) - start)) s"
