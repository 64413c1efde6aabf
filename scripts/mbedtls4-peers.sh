#!/bin/sh
# Builds Mbed TLS 4.0's own TLS 1.3 test programs, programs/ssl/ssl_server2
# and ssl_client2, from the same release tarball as scripts/mbedtls4.sh, as
# interop peers (tests/interop/mbedtls4_cells.sh).
#
# Usage: scripts/mbedtls4-peers.sh DIR [check]
#   DIR/src        the unpacked source, configured: the default configuration
#                  (TLS 1.3 with tickets, PSK modes, middlebox compatibility)
#                  plus MBEDTLS_SSL_EARLY_DATA and MBEDTLS_SSL_RECORD_SIZE_LIMIT,
#                  which 4.0 leaves off
#   DIR/bin        ssl_server2, ssl_client2
# With "check", only says whether the peers can be built: exit 0 when DIR/bin
# holds them or the tarball is there, 3 (and why) otherwise.
# Safe to run again: it does nothing once DIR/bin holds both programs.
#
# Exit status 3 with a line "Mbed TLS 4 peers not built: <why>" on stderr
# when the tarball or a build prerequisite is missing: callers report that,
# never count it as a pass. The tarball is found as scripts/mbedtls4.sh
# finds it (MBEDTLS4_SRC, else ../shared/deps/mbedtls-4.0.0.tar.xz beside
# the repository or its main worktree).
set -eu
DIR=${1:?usage: scripts/mbedtls4-peers.sh DIR [check]}
MODE=${2:-build}
REPO=$(cd "$(dirname "$0")/.." && pwd)
# mbedtls4_tarball, mbedtls4_build_tools
. "$REPO/scripts/mbedtls4-tarball.sh"

not_run() {
    echo "Mbed TLS 4 peers not built: $*" >&2
    exit 3
}

if [ -x "$DIR/bin/ssl_server2" ] && [ -x "$DIR/bin/ssl_client2" ]; then
    exit 0
fi

mbedtls4_tarball
[ "$MODE" = check ] && exit 0

mbedtls4_build_tools

mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
if [ ! -f "$DIR/src/programs/ssl/ssl_server2.c" ]; then
    rm -rf "$DIR/src" "$DIR/src.tmp"
    mkdir -p "$DIR/src.tmp"
    tar -xJf "$TARBALL" -C "$DIR/src.tmp" --strip-components=1
    # 0-RTT and record_size_limit are off in 4.0's default configuration.
    for opt in MBEDTLS_SSL_EARLY_DATA MBEDTLS_SSL_RECORD_SIZE_LIMIT; do
        python3 "$DIR/src.tmp/scripts/config.py" \
            -f "$DIR/src.tmp/include/mbedtls/mbedtls_config.h" set $opt
    done
    mv "$DIR/src.tmp" "$DIR/src"
fi

JOBS=$(nproc 2>/dev/null || echo 2)
echo "mbedtls4-peers: building ssl_server2 and ssl_client2 from $TARBALL in $DIR ($JOBS jobs)"
start=$(date +%s)
cmake -S "$DIR/src" -B "$DIR/build" -DCMAKE_BUILD_TYPE=Release -DENABLE_TESTING=OFF \
    -DENABLE_PROGRAMS=ON -DPython3_EXECUTABLE="$(command -v python3)" >"$DIR/configure.log" 2>&1 ||
    { tail -n 30 "$DIR/configure.log" >&2; exit 1; }
cmake --build "$DIR/build" -j "$JOBS" --target ssl_server2 ssl_client2 >"$DIR/build.log" 2>&1 ||
    { tail -n 30 "$DIR/build.log" >&2; exit 1; }
mkdir -p "$DIR/bin"
for p in ssl_server2 ssl_client2; do
    cp "$(find "$DIR/build" -type f -name $p -perm -u+x | head -n 1)" "$DIR/bin/$p"
done
echo "mbedtls4-peers: built in $(($(date +%s) - start)) s"
