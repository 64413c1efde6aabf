#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when
# any is missing. Uses sudo when not root. Safe to run again: it does nothing
# when everything is there.
set -eu
PKGS="build-essential cmake pkg-config libmbedtls-dev libssl-dev openssl gnutls-bin libgnutls28-dev libwolfssl-dev \
clang libclang-rt-14-dev valgrind tshark iproute2 procps mosquitto mosquitto-clients nginx jq"
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
