#!/bin/sh
# The shared library exports exactly the functions include/iotls/ declares
# with IOTLS_API: nothing internal (programs could come to depend on it),
# nothing public missing.
#   symbols_test.sh LIBIOTLS.so SOURCE_DIR
set -eu
lib=$1
src=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TWDBRV]$/ {print $3}' | sed 's/@.*//' | sort -u >"$work/exported"
# The function each declaration declares: declarations joined onto one
# line each, the identifier right before the first "(".
ls "$src"/include/iotls/*.h | grep -v /api.h | xargs cat | tr '\n' ' ' | sed 's/;/;\n/g' | grep 'IOTLS_API' |
    sed -E 's/^.*IOTLS_API//; s/\(.*//' | grep -oE '[a-z_][a-z0-9_]*[[:space:]]*$' | tr -d ' ' |
    sort -u >"$work/declared"
[ -s "$work/declared" ] || { echo "symbols: no IOTLS_API declarations found"; exit 1; }
extra=$(comm -23 "$work/exported" "$work/declared")
missing=$(comm -13 "$work/exported" "$work/declared")
[ -z "$extra" ] || echo "symbols: exported but not public: $(echo $extra)"
[ -z "$missing" ] || echo "symbols: public but not exported: $(echo $missing)"
[ -z "$extra" ] && [ -z "$missing" ] || exit 1
echo "symbols: $(wc -l <"$work/exported") exported, all of them and only them declared in include/iotls/"
