#!/bin/sh
# `make demo` installs only what the demo needs (a compiler, CMake,
# pkg-config and the crypto provider's library), `make test` the rest, and
# plain `make` installs nothing. Nothing is installed or built here: make -n
# shows the recipes, scripts/deps.sh --list the packages of a group.
#   deps_test.sh SOURCE_DIR
set -eu
cd "$1"
fail=0
nobuild=/nonexistent/iotls-deps-test
for crypto in mbedtls openssl; do
    case $crypto in
    mbedtls) lib=libmbedtls-dev ;;
    openssl) lib=libssl-dev ;;
    esac
    line=$(make -s -n demo CRYPTO=$crypto BUILD=$nobuild | grep 'scripts/deps\.sh' || true)
    [ "$line" = "CRYPTO=$crypto sh scripts/deps.sh demo" ] ||
        { echo "deps: make demo CRYPTO=$crypto runs '$line', want the demo group alone"; fail=1; }
    got=$(CRYPTO=$crypto sh scripts/deps.sh --list demo | sort | tr '\n' ' ')
    want=$(printf '%s\n' build-essential cmake pkg-config $lib | sort | tr '\n' ' ')
    [ "$got" = "$want" ] || { echo "deps: demo group ($crypto) is '$got', want '$want'"; fail=1; }
    # The demo's packages are part of make test's.
    for p in $want; do
        CRYPTO=$crypto sh scripts/deps.sh --list test | grep -qx "$p" ||
            { echo "deps: test group ($crypto) lacks $p"; fail=1; }
    done
done
# The test group brings the suite's peers and tools.
for p in openssl gnutls-bin libwolfssl-dev valgrind tshark haproxy redis-server; do
    sh scripts/deps.sh --list test | grep -qx "$p" || { echo "deps: test group lacks $p"; fail=1; }
done
# make test asks for the test group (its recipe cannot be shown with make -n:
# its + line runs the legs even then).
grep -qx 'test: DEPS = test' Makefile || { echo "deps: make test does not ask for the test group"; fail=1; }
line=$(make -s -n all BUILD=$nobuild | grep 'scripts/deps\.sh' || true)
[ -z "$line" ] || { echo "deps: plain make installs packages: $line"; fail=1; }
[ $fail = 0 ] && echo "deps: make demo installs the compiler, CMake, pkg-config and the crypto library, no more"
exit $fail
