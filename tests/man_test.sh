#!/bin/sh
# iotls(1) is complete and well formed: man renders it without warnings,
# every --option of `iotls client --help` and `iotls server --help` and
# every exit code of `iotls --help` is in it.
#   man_test.sh IOTLS_BINARY iotls.1
set -eu
iotls=$1
page=$2
[ -s "$page" ] || { echo "man: $page missing or empty"; exit 1; }
warnings=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null || true)
[ -z "$warnings" ] || { echo "man: warnings rendering $page: $warnings"; exit 1; }
text=$(MANWIDTH=200 man -l "$page" 2>/dev/null | sed 's/\xe2\x80\x90/-/g')
fail=0
for cmd in client server; do
    for opt in $("$iotls" "$cmd" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u); do
        printf '%s\n' "$text" | grep -qF -- "$opt" || { echo "man: $cmd option $opt missing"; fail=1; }
    done
done
for code in $("$iotls" --help | sed -n '/^exit codes:/,$p' | awk 'NR > 1 {print $1}'); do
    printf '%s\n' "$text" | sed -n '/EXIT STATUS/,$p' | grep -qE "^ +$code +" ||
        { echo "man: exit code $code missing"; fail=1; }
done
[ $fail = 0 ] && echo "man: iotls.1 renders cleanly and documents every option and exit code"
exit $fail
