#!/bin/sh
# scripts/apt-src.sh sources: the deb-src entries derived from a machine's
# apt sources, one-line and deb822, for a fixture configuration (APT_CONFIG
# points apt-config at it). URIs are local paths: the derivation treats them
# as opaque, and the repository names no package archive.
#   apt_src_test.sh REPO
set -u
REPO=${1:?usage: apt_src_test.sh REPO}
command -v apt-config >/dev/null || { echo "FAIL: apt-config not found (Debian's apt package)"; exit 1; }
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/parts"
cat >"$W/apt.conf" <<CONF
Dir::Etc::sourcelist "$W/sources.list";
Dir::Etc::sourceparts "$W/parts";
CONF
printf 'VERSION_CODENAME=bookworm\n' >"$W/os-release"
cat >"$W/sources.list" <<'LIST'
# deb file:/srv/old/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/mirror.gpg] file:/srv/mirror/debian bookworm main contrib
deb file:/srv/mirror/debian-security bookworm-security main
deb file:/srv/mirror/debian bookworm contrib
LIST
cat >"$W/parts/vendor.list" <<'LIST'
deb file:/srv/vendor/apt cloud-sdk-bookworm main
deb-src mirror+file:/etc/apt/mirrors.txt stable main # a mirror list
LIST
cat >"$W/parts/debian.sources" <<'SRC'
Types: deb
# a local cache
URIs: file:/var/cache/debian-offline
Suites: bookworm bookworm-updates
Components: main non-free-firmware
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD3K87ZM18gzyQZJD+w
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
URIs: file:/var/cache/debian-offline-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: file:/srv/disabled/debian
Suites: bookworm
Components: main
Enabled: no
SRC
cat >"$W/parts/other.sources.disabled" <<'SRC'
Types: deb
URIs: file:/srv/ignored/debian
Suites: bookworm
Components: main
SRC

out=$(APT_CONFIG=$W/apt.conf IOTLS_OS_RELEASE=$W/os-release sh "$REPO/scripts/apt-src.sh" sources trixie "$W/out" 2>&1)
rc=$?
fails=0
[ $rc = 0 ] || { echo "FAIL: exit status $rc: $out"; fails=1; }
cat >"$W/want.list" <<'WANT'
deb-src [arch=amd64 signed-by=/usr/share/keyrings/mirror.gpg] file:/srv/mirror/debian trixie main
deb-src mirror+file:/etc/apt/mirrors.txt trixie main
WANT
cat >"$W/want.sources" <<'WANT'
Types: deb-src
URIs: file:/var/cache/debian-offline
Suites: trixie
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD3K87ZM18gzyQZJD+w
 -----END PGP PUBLIC KEY BLOCK-----

WANT
for f in list sources; do
    if ! diff -u "$W/want.$f" "$W/out/derived.$f"; then
        echo "FAIL: derived.$f differs (above)"
        fails=1
    fi
done

# No distribution archive at all: exit 3 and a reason.
rm -f "$W/sources.list" "$W/parts/debian.sources"
printf 'deb file:/srv/vendor/apt cloud-sdk-bookworm main\n' >"$W/parts/vendor.list"
out=$(APT_CONFIG=$W/apt.conf IOTLS_OS_RELEASE=$W/os-release sh "$REPO/scripts/apt-src.sh" sources trixie "$W/out2" 2>&1)
rc=$?
[ $rc = 3 ] || { echo "FAIL: exit status $rc without a distribution archive, want 3"; fails=1; }
case $out in
*"name no distribution archive"*) ;;
*) echo "FAIL: no reason given: $out"; fails=1 ;;
esac
[ $fails = 0 ] && echo "apt_src_test: PASS"
[ $fails = 0 ]
