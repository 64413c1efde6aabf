#!/bin/sh
# The README's API example is real code: extracted from the README, it
# compiles with -Wall -Wextra -Werror against the build tree and links.
#   readme_example_test.sh SOURCE_DIR BUILD_DIR [EXTRA_CFLAGS]
# EXTRA_CFLAGS: the sanitizer build's flags, so that its library links.
set -eu
src=$1
build=$2
extra_cflags=${3:-}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^## Using the library/ {f = 1} f && /^```c$/ {c = 1; next} c && /^```$/ {exit} c' \
    "$src/README.md" >"$work/example.c"
grep -q 'iotls_connect' "$work/example.c" || { echo "readme: no example found in README.md"; exit 1; }
cat >"$work/main.c" <<'C'
#include <stddef.h>
int fetch(char *buf, size_t cap);
int main(int argc, char **argv)
{
    char buf[512];
    (void)argv;
    return argc > 99 ? fetch(buf, sizeof buf) : 0; /* linked, not run: no gateway here */
}
C
export PKG_CONFIG_PATH="$build"
# shellcheck disable=SC2086
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $extra_cflags $(pkg-config --cflags iotls) \
    -c "$work/example.c" -o "$work/example.o"
# shellcheck disable=SC2086
cc $extra_cflags "$work/main.c" "$work/example.o" $(pkg-config --libs iotls) -Wl,-rpath,"$build" -o "$work/app"
"$work/app"
echo "readme: the API example compiles with -Wall -Wextra -Werror and links"
