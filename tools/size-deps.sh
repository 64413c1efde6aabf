#!/bin/sh
# Installs the Debian cross toolchains that `make size` needs (Cortex-M4 and
# RV32IMC), when any is missing. Kept apart from scripts/deps.sh on purpose:
# `make test` does not need them, and they are large (about 600 MiB).
# Uses sudo when not root. Safe to run again: it does nothing when
# everything is there.
set -eu
# The compilers, and a C library for each target that provides <string.h>
# (newlib for ARM, picolibc for RISC-V; Debian ships no newlib for RISC-V).
# dpkg-dev: dpkg-source, with which scripts/mbedtls3.sh unpacks the mbedTLS
# 3.6 source that stack-report.sh compiles for the devices.
SIZE_PKGS="gcc-arm-none-eabi libnewlib-arm-none-eabi libnewlib-dev binutils-arm-none-eabi \
gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf binutils-riscv64-unknown-elf \
libmbedtls-dev dpkg-dev"
missing=""
for p in $SIZE_PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "iotls: installing Debian packages for the size builds:$missing"
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
