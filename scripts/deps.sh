#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when
# any is missing. Uses sudo when not root. Safe to run again: it does nothing
# when everything is there.
#
# `scripts/deps.sh mbedtls4`: only what building Mbed TLS 4 from its
# release tarball needs beyond that (scripts/mbedtls4.sh: its CMake build
# generates code with Python's jinja2 and checks it with jsonschema);
# `make test-psa` asks for it when the tarball is there.
#
# `scripts/deps.sh device`: the emulated boards of `make device` / `make
# test-device` (port/baremetal/): QEMU for Cortex-M4 and RISC-V, the two
# cross compilers with picolibc, and what the cross build of Mbed TLS 4
# needs (as for mbedtls4).
set -eu
PKGS="build-essential cmake pkg-config libmbedtls-dev libssl-dev openssl gnutls-bin libgnutls28-dev libwolfssl-dev \
clang libclang-rt-14-dev valgrind tshark iproute2 procps"
if [ "${1:-}" = mbedtls4 ]; then
    PKGS="cmake python3 python3-jinja2 python3-jsonschema"
fi
if [ "${1:-}" = device ]; then
    PKGS="qemu-system-arm qemu-system-misc gcc-arm-none-eabi binutils-arm-none-eabi picolibc-arm-none-eabi \
gcc-riscv64-unknown-elf binutils-riscv64-unknown-elf picolibc-riscv64-unknown-elf \
cmake python3 python3-jinja2 python3-jsonschema"
fi
missing=""
for p in $PKGS; do
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
