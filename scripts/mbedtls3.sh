#!/bin/sh
# Builds mbedTLS 3.6, the series ESP-IDF 5 ships, from Debian's source
# package (trixie's `mbedtls`, 3.6.x), so that iotls' mbedTLS provider is
# compiled and tested against it as well as against the system's 2.28
# (`make test-mbedtls3`; scripts/stack-report.sh also cross-compiles it).
#
# Nothing is installed and nothing is vendored: the source package is
# fetched with apt-get from Debian's archive into DIR, through apt lists of
# its own (the machine's sources.list is not touched), and built there.
#
# Usage: scripts/mbedtls3.sh DIR [fetch]
#   DIR/src        the unpacked source (mbedtls-3.6.x)
#   DIR/lib        libmbedcrypto.a, libmbedx509.a (host, -O2 -fPIC), in
#                  the default configuration plus MBEDTLS_PLATFORM_MEMORY,
#                  the allocator hook `iotls bench` counts the heap through
#   DIR/include    the headers to compile against (that configuration)
# With "fetch", only fetches and unpacks. Safe to run again: it does nothing
# once DIR/lib holds both libraries.
set -eu
DIR=${1:?usage: scripts/mbedtls3.sh DIR [fetch]}
MODE=${2:-build}
SUITE=${IOTLS_MBEDTLS3_SUITE:-trixie}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

if [ "$MODE" = build ] && [ -f "$DIR/lib/libmbedcrypto.a" ] && [ -f "$DIR/lib/libmbedx509.a" ]; then
    exit 0
fi

if [ ! -f "$DIR/src/include/mbedtls/build_info.h" ]; then
    for c in apt-get dpkg-source; do
        command -v $c >/dev/null 2>&1 || {
            echo "mbedtls3: $c not found (dpkg-dev provides dpkg-source)" >&2
            exit 2
        }
    done
    APT="$DIR/apt"
    rm -rf "$APT"
    mkdir -p "$APT/sources" "$APT/lists/partial" "$APT/fetch"
    cat >"$APT/sources/debian-src.sources" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $SUITE
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    set -- -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$APT/sources" \
        -o Dir::State::Lists="$APT/lists" -o APT::Sandbox::User=root
    echo "mbedtls3: fetching Debian's mbedtls source package ($SUITE)"
    apt-get -qq "$@" update
    (cd "$APT/fetch" && apt-get -qq "$@" source --download-only "mbedtls/$SUITE")
    dsc=$(ls "$APT/fetch"/mbedtls_*.dsc | head -n 1)
    rm -rf "$DIR/src.tmp"
    # Unpacks the upstream tarball with Debian's patches applied.
    dpkg-source --no-check -x "$dsc" "$DIR/src.tmp" >/dev/null
    [ -f "$DIR/src.tmp/include/mbedtls/build_info.h" ] || {
        echo "mbedtls3: the $SUITE source package is not mbedTLS 3.x" >&2
        exit 2
    }
    rm -rf "$DIR/src"
    mv "$DIR/src.tmp" "$DIR/src"
    rm -rf "$APT/fetch" "$DIR"/mbedtls_*.orig.tar.*
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
