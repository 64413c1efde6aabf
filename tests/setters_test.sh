#!/bin/sh
# Every setter of the public API returns a result (IOTLS_OK or an error
# code), none is void: each function of include/iotls/ that sets or adds
# something (..._set_..., ..._add_..., iotls_config_insecure_noverifycert)
# is declared returning int. unit.config checks what they return.
#   setters_test.sh SOURCE_DIR
set -eu
decls=$(cat "$1"/include/iotls/*.h | tr '\n' ' ' | sed 's/;/;\n/g' | grep 'IOTLS_API' |
    sed -E 's/^.*IOTLS_API[[:space:]]*//; s/[[:space:]]+/ /g; s/\(.*//' |
    grep -E '[ *]iotls_([a-z0-9]+_)*(set|add|insecure)(_[a-z0-9]+)*$')
n=$(printf '%s\n' "$decls" | grep -c '') || true
[ "$n" -ge 30 ] || { echo "setters: found only $n setters in include/iotls/ (parsing broke?)"; exit 1; }
bad=$(printf '%s\n' "$decls" | grep -vE '^int iotls_' || true)
[ -z "$bad" ] || { echo "setters: not returning int: $(echo $bad)"; exit 1; }
echo "setters: all $n setters of include/iotls/ return int"
