#!/bin/sh
# Builds mbedTLS 3.6, the series ESP-IDF 5 ships, so that iotls' mbedTLS
# provider is compiled and tested against it as well as against the
# system's 2.28 (`make test-mbedtls3`; scripts/stack-report.sh also
# cross-compiles it).
#
# Nothing is installed and nothing is vendored. The source is, in this order:
#   MBEDTLS3_SRC   a directory or a tarball (.tar.gz, .tar.bz2, .tar.xz, .tgz)
#                  of mbedTLS 3.6.x (relative paths from the repository's top)
#   apt            else Debian's source package (trixie's `mbedtls`, 3.6.x),
#                  fetched through the machine's own apt sources by
#                  scripts/apt-src.sh (their mirrors, proxies and keys; the
#                  machine's apt state is not touched)
# and is unpacked (Debian's patches applied) and built in DIR.
#
# Usage: scripts/mbedtls3.sh DIR [fetch]
#   DIR/src        the unpacked source (mbedtls-3.6.x)
#   DIR/lib        libmbedcrypto.a, libmbedx509.a (host, -O2 -fPIC), in
#                  the default configuration plus MBEDTLS_PLATFORM_MEMORY,
#                  the allocator hook `iotls bench` counts the heap through
#   DIR/include    the headers to compile against (that configuration)
# With "fetch", only fetches and unpacks. Safe to run again: it does nothing
# once DIR/lib holds both libraries.
#
# Exit status 3 with a line "Mbed TLS 3.6 leg not run: <why>" on stderr
# when there is no source (no MBEDTLS3_SRC and no usable apt source) or it is
# not 3.6.x: callers report that, they never count it as a pass. The line is
# also appended to the file IOTLS_TEST_NOTES names, if any (make test prints
# that file at its end).
set -eu
DIR=${1:?usage: scripts/mbedtls3.sh DIR [fetch]}
MODE=${2:-build}
SUITE=${IOTLS_MBEDTLS3_SUITE:-trixie}
REPO=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

not_run() {
    echo "Mbed TLS 3.6 leg not run: $*" >&2
    if [ -n "${IOTLS_TEST_NOTES:-}" ]; then
        echo "NOT RUN: Mbed TLS 3.6 leg (make test-mbedtls3): $*" >>"$IOTLS_TEST_NOTES"
    fi
    exit 3
}

# version_of SRCDIR: "3.6.x" from the source's build_info.h, or nothing.
version_of() {
    sed -n 's/^#define MBEDTLS_VERSION_STRING  *"\(.*\)"/\1/p' "$1/include/mbedtls/build_info.h" 2>/dev/null
}

if [ "$MODE" = build ] && [ -f "$DIR/lib/libmbedcrypto.a" ] && [ -f "$DIR/lib/libmbedx509.a" ]; then
    exit 0
fi

if [ ! -f "$DIR/src/include/mbedtls/build_info.h" ]; then
    rm -rf "$DIR/src.tmp"
    if [ -n "${MBEDTLS3_SRC:-}" ]; then
        case $MBEDTLS3_SRC in
        /*) src=$MBEDTLS3_SRC ;;
        *) src=$REPO/$MBEDTLS3_SRC ;;
        esac
        if [ -d "$src" ]; then
            [ -f "$src/include/mbedtls/build_info.h" ] ||
                not_run "MBEDTLS3_SRC=$src is not an mbedTLS 3 source tree (no include/mbedtls/build_info.h)"
            echo "mbedtls3: copying $src"
            # A copy: the build below changes the configuration header.
            cp -R "$src" "$DIR/src.tmp"
        elif [ -f "$src" ]; then
            echo "mbedtls3: unpacking $src"
            mkdir -p "$DIR/src.unpack"
            tar -xf "$src" -C "$DIR/src.unpack" || not_run "cannot unpack MBEDTLS3_SRC=$src"
            # The tree's top: the directory of the shallowest include/mbedtls/build_info.h.
            info=$(find "$DIR/src.unpack" -maxdepth 4 -path '*/include/mbedtls/build_info.h' |
                awk '{ print length($0), $0 }' | sort -n | head -n 1 | cut -d' ' -f2-)
            [ -n "$info" ] || not_run "MBEDTLS3_SRC=$src holds no mbedTLS 3 source (no include/mbedtls/build_info.h)"
            mv "${info%/include/mbedtls/build_info.h}" "$DIR/src.tmp"
            rm -rf "$DIR/src.unpack"
        else
            not_run "MBEDTLS3_SRC=$src: no such file or directory"
        fi
    else
        command -v dpkg-source >/dev/null 2>&1 ||
            not_run "dpkg-source not found (Debian's dpkg-dev package), needed to unpack the source package; or set MBEDTLS3_SRC to an mbedTLS 3.6.x directory or tarball"
        echo "mbedtls3: fetching Debian's mbedtls source package ($SUITE)"
        dsc=$(sh "$REPO/scripts/apt-src.sh" fetch "$DIR" "$SUITE" mbedtls 2>"$DIR/apt-src.err") || {
            cat "$DIR/apt-src.err" >&2
            not_run "no mbedTLS 3.6 source: set MBEDTLS3_SRC to an mbedTLS 3.6.x directory or tarball, or give apt a Debian archive ($(grep '^apt-src:' "$DIR/apt-src.err" | tail -n 1 | sed 's/^apt-src: //'))"
        }
        cat "$DIR/apt-src.err" >&2
        # Unpacks the upstream tarball with Debian's patches applied.
        dpkg-source --no-check -x "$dsc" "$DIR/src.tmp" >/dev/null
        rm -rf "$DIR/apt/fetch" "$DIR/apt-src.err" "$DIR"/mbedtls_*.orig.tar.*
    fi
    version=$(version_of "$DIR/src.tmp")
    case $version in
    3.6.*) ;;
    *)
        rm -rf "$DIR/src.tmp"
        not_run "the source is mbedTLS ${version:-of unknown version}, not 3.6.x"
        ;;
    esac
    rm -rf "$DIR/src"
    mv "$DIR/src.tmp" "$DIR/src"
fi
[ "$MODE" = fetch ] && exit 0

# The default configuration plus the allocator hook, set with mbedTLS' own
# configuration script (in the unpacked source, so that the library and
# every user of DIR/include see the same configuration).
python3 "$DIR/src/scripts/config.py" -f "$DIR/src/include/mbedtls/mbedtls_config.h" \
    set MBEDTLS_PLATFORM_MEMORY
echo "mbedtls3: building $(sed -n 's/^#define MBEDTLS_VERSION_STRING  *"\(.*\)"/mbedTLS \1/p' \
    "$DIR/src/include/mbedtls/build_info.h") in $DIR"
JOBS=$(nproc 2>/dev/null || echo 2)
rm -rf "$DIR/include" "$DIR/lib"
make -s -C "$DIR/src/library" -j "$JOBS" libmbedcrypto.a libmbedx509.a CFLAGS="-O2 -fPIC" >/dev/null
mkdir -p "$DIR/lib" "$DIR/include"
cp "$DIR/src/library/libmbedcrypto.a" "$DIR/src/library/libmbedx509.a" "$DIR/lib/"
cp -r "$DIR/src/include/mbedtls" "$DIR/src/include/psa" "$DIR/include/"
