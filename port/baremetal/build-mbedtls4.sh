#!/bin/sh
# Cross-builds Mbed TLS 4.0 (TF-PSA-Crypto's libtfpsacrypto and
# libmbedx509, nothing else) for one emulated board of port/baremetal/, from
# the release tarball that scripts/mbedtls4.sh finds (MBEDTLS4_SRC), with
# the board configuration of port/baremetal/mbedtls/ (no file system, no
# threads, no built-in entropy source).
#
# Usage: port/baremetal/build-mbedtls4.sh OUT BOARD [tls]   (BOARD: cm4 | rv32)
#   tls: also Mbed TLS' own TLS 1.3 client (libmbedtls), for the comparison
#        firmware (mbedtls_config_tls.h), into OUT/BOARD-tls
#   OUT/src              the unpacked source, shared by both boards
#   OUT/BOARD/lib        libtfpsacrypto.a libmbedx509.a
# The firmware compiles against the unpacked headers (OUT/src) with the same
# two configuration files (build-firmware.sh).
# Does nothing once OUT/BOARD/lib holds the libraries (remove OUT/BOARD after
# changing port/baremetal/mbedtls/*.h). Exit status 3 and
# "device leg not run: why" when the tarball is missing.
set -eu
OUT=${1:?usage: build-mbedtls4.sh OUT BOARD}
BOARD=${2:?usage: build-mbedtls4.sh OUT BOARD}
VARIANT=${3:-}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
HERE=$REPO/port/baremetal
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
. "$HERE/boards.sh"
board_flags "$BOARD"

LIB=$OUT/$BOARD
X509_CONFIG=$HERE/mbedtls/mbedtls_config.h
TARGETS="tfpsacrypto mbedx509"
if [ "$VARIANT" = tls ]; then
    LIB=$OUT/$BOARD-tls
    X509_CONFIG=$HERE/mbedtls/mbedtls_config_tls.h
    TARGETS="tfpsacrypto mbedx509 mbedtls"
fi
if [ -f "$LIB/lib/libtfpsacrypto.a" ] && [ -f "$LIB/lib/libmbedx509.a" ] &&
    { [ "$VARIANT" != tls ] || [ -f "$LIB/lib/libmbedtls.a" ]; }; then
    exit 0
fi
command -v "$CROSS-gcc" >/dev/null 2>&1 || { echo "device leg not run: $CROSS-gcc not found" >&2; exit 3; }

if [ ! -f "$OUT/src/tf-psa-crypto/include/psa/crypto.h" ]; then
    # scripts/mbedtls4.sh knows where the tarball is and checks its sum; its
    # "check" mode says so without building anything for the host.
    sh "$REPO/scripts/mbedtls4.sh" "$OUT/host-unused" check >/dev/null 2>"$OUT/check.log" || {
        sed 's/^Mbed TLS 4 leg not run/device leg not run/' "$OUT/check.log" >&2
        exit 3
    }
    # Found as scripts/mbedtls4.sh finds it (that script just checked it).
    rel=${MBEDTLS4_SRC:-../shared/deps/mbedtls-4.0.0.tar.xz}
    common=$(git -C "$REPO" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || echo /nonexistent)
    TARBALL=""
    for t in "$rel" "$REPO/$rel" "$common/../$rel"; do
        case $t in /*) ;; *) t=$(pwd)/$t ;; esac
        if [ -f "$t" ]; then
            TARBALL=$t
            break
        fi
    done
    [ -n "$TARBALL" ] || { echo "device leg not run: Mbed TLS 4 tarball not found (MBEDTLS4_SRC)" >&2; exit 3; }
    rm -rf "$OUT/src" "$OUT/src.tmp"
    mkdir -p "$OUT/src.tmp"
    tar -xJf "$TARBALL" -C "$OUT/src.tmp" --strip-components=1
    mv "$OUT/src.tmp" "$OUT/src"
fi

cat >"$OUT/toolchain-$BOARD.cmake" <<EOT
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_C_COMPILER $CROSS-gcc)
set(CMAKE_AR $CROSS-ar)
set(CMAKE_RANLIB $CROSS-ranlib)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "$ARCH_FLAGS --specs=picolibc.specs -ffunction-sections -fdata-sections")
EOT
start=$(date +%s)
echo "device: cross-building Mbed TLS 4 for $BOARD in $LIB"
rm -rf "$LIB"
cmake -S "$OUT/src" -B "$LIB/build" -DCMAKE_TOOLCHAIN_FILE="$OUT/toolchain-$BOARD.cmake" \
    -DCMAKE_BUILD_TYPE=MinSizeRel -DENABLE_TESTING=OFF -DENABLE_PROGRAMS=OFF \
    -DUSE_SHARED_MBEDTLS_LIBRARY=OFF -DUSE_STATIC_MBEDTLS_LIBRARY=ON \
    -DMBEDTLS_CONFIG_FILE="$X509_CONFIG" \
    -DTF_PSA_CRYPTO_CONFIG_FILE="$HERE/mbedtls/crypto_config.h" \
    -DPython3_EXECUTABLE="$(command -v python3)" \
    -DCMAKE_INSTALL_PREFIX="$LIB" -DCMAKE_INSTALL_LIBDIR=lib >"$LIB.configure.log" 2>&1 ||
    { tail -n 30 "$LIB.configure.log" >&2; exit 1; }
cmake --build "$LIB/build" -j "${JOBS:-2}" --target $TARGETS >"$LIB.build.log" 2>&1 ||
    { tail -n 30 "$LIB.build.log" >&2; exit 1; }
mkdir -p "$LIB/lib"
find "$LIB/build" -name libtfpsacrypto.a -exec cp {} "$LIB/lib/" \;
find "$LIB/build" -name libmbedx509.a -exec cp {} "$LIB/lib/" \;
find "$LIB/build" -name libmbedtls.a -exec cp {} "$LIB/lib/" \;
[ -f "$LIB/lib/libtfpsacrypto.a" ] && [ -f "$LIB/lib/libmbedx509.a" ] ||
    { echo "device: the Mbed TLS 4 libraries were not built (see $LIB.build.log)" >&2; exit 1; }
echo "device: Mbed TLS 4 for $BOARD built in $(($(date +%s) - start)) s"
