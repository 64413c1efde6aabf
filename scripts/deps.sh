#!/bin/sh
# Installs the Debian packages a make target needs, when any is missing.
# Uses sudo when not root. Safe to run again: it does nothing when
# everything is there.
#
# Usage: scripts/deps.sh [--list] [GROUP...]   (default: demo)
#   --list prints the groups' packages, one a line, and installs nothing
#   demo   build the library and the iotls command (make, make demo,
#          make install): compiler, CMake, pkg-config and the crypto
#          provider's library, CRYPTO=mbedtls (default) or CRYPTO=openssl
#   test   make test: both providers, the interop peers (openssl, GnuTLS,
#          wolfSSL), the benchmark's libraries (bench.* cells), valgrind
#          (memcheck cells), tshark (wire checks), ss and pgrep, Mosquitto and
#          nginx (the examples' servers), HAProxy, Redis and libhiredis (the
#          fleet cells, iotls server --replay-redis)
#   bench  make bench: OpenSSL's libssl, wolfSSL, GnuTLS, valgrind
#   fuzz   make fuzz: clang and its libFuzzer runtime
#   mbedtls4  what building Mbed TLS 4 from its release tarball needs
#          (scripts/mbedtls4.sh: its CMake build generates code with
#          Python's jinja2 and checks it with jsonschema); make test-psa
#          asks for it when the tarball is there
#   device the emulated boards of make device / make test-device
#          (port/baremetal/): QEMU for Cortex-M4 and RISC-V, the two cross
#          compilers with picolibc, and what the cross build of Mbed TLS 4
#          needs (as for mbedtls4)
# The cross toolchains of make size are tools/size-deps.sh's.
set -eu
DEMO="build-essential cmake pkg-config"
case "${CRYPTO:-mbedtls}" in
openssl) DEMO="$DEMO libssl-dev" ;;
mbedtls) DEMO="$DEMO libmbedtls-dev" ;;
psa) DEMO="$DEMO python3 python3-jinja2 python3-jsonschema" ;;
*)
    echo "deps: CRYPTO must be mbedtls, openssl or psa, not '$CRYPTO'" >&2
    exit 2
    ;;
esac
BENCH="$DEMO libssl-dev libwolfssl-dev libgnutls28-dev valgrind"
TEST="$BENCH libmbedtls-dev openssl gnutls-bin tshark iproute2 procps mosquitto mosquitto-clients nginx haproxy redis-server libhiredis-dev jq"
FUZZ="clang libclang-rt-14-dev"

LIST=0
if [ "${1:-}" = --list ]; then
    LIST=1
    shift
fi
[ $# -eq 0 ] && set -- demo
PKGS=""
for group in "$@"; do
    case "$group" in
    demo) PKGS="$PKGS $DEMO" ;;
    test) PKGS="$PKGS $TEST" ;;
    bench) PKGS="$PKGS $BENCH" ;;
    fuzz) PKGS="$PKGS $FUZZ" ;;
    mbedtls4) PKGS="$PKGS cmake python3 python3-jinja2 python3-jsonschema" ;;
    device)
        PKGS="$PKGS qemu-system-arm qemu-system-misc gcc-arm-none-eabi binutils-arm-none-eabi \
picolibc-arm-none-eabi gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf \
picolibc-riscv64-unknown-elf cmake python3 python3-jinja2 python3-jsonschema"
        ;;
    *)
        echo "usage: scripts/deps.sh [--list] [demo|test|bench|fuzz|mbedtls4|device]..." >&2
        exit 2
        ;;
    esac
done

if [ $LIST = 1 ]; then
    # shellcheck disable=SC2086
    printf '%s\n' $PKGS | awk '!seen[$0]++'
    exit 0
fi

missing=""
for p in $PKGS; do
    case " $missing " in *" $p "*) continue ;; esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "iotls: installing Debian packages:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections 2>/dev/null || true
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
