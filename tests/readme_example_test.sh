#!/bin/sh
# The README's API example is real code: extracted from the README, it
# compiles with -Wall -Wextra -Werror against the build tree and links; then
# it runs on each of its paths (configuration error, no connection, refused
# handshake, a page fetched) against `iotls server`, with nothing changed
# but its file names, host and port, and frees everything on each: under
# valgrind's memcheck (no error, no definite or indirect leak), or under the
# sanitizer build's own leak checking.
#   readme_example_test.sh SOURCE_DIR BUILD_DIR EXTRA_CFLAGS IOTLS FREEPORT
# EXTRA_CFLAGS: the sanitizer build's flags, so that its library links
# ("" otherwise); IOTLS: the iotls command; FREEPORT: tests/interop's freeport.
set -eu
src=$1
build=$2
extra_cflags=$3
iotls=$4
freeport=$5
work=$(mktemp -d)
server_pid=
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
awk '/^## Using the library/ {f = 1} f && /^```c$/ {c = 1; next} c && /^```$/ {exit} c' \
    "$src/README.md" >"$work/example.c"
grep -q 'iotls_connect' "$work/example.c" || { echo "readme: no example found in README.md"; exit 1; }
for s in '"my-ca.pem"' '"device.crt"' '"device.key"' '"gateway.example"' '"443"'; do
    grep -qF "$s" "$work/example.c" || { echo "readme: the example no longer has $s (update this test)"; exit 1; }
done
cat >"$work/main.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <string.h>
int fetch(char *buf, size_t cap);
static char buf[16384];
static int n;
/* fetch runs on a thread of its own, joined before the leak check: a
 * pointer it left on its stack cannot make a lost block look reachable. */
static void *run(void *arg)
{
    (void)arg;
    n = fetch(buf, sizeof buf - 1);
    return NULL;
}
int main(int argc, char **argv)
{
    if (argc > 99) /* the README's example itself: linked, not run (no gateway here) */
        return fetch(buf, sizeof buf);
    (void)argv;
    pthread_t th;
    if (pthread_create(&th, NULL, run, NULL) != 0 || pthread_join(th, NULL) != 0)
        return 2;
    buf[n > 0 ? n : 0] = '\0';
    printf("%d %.12s\n", n, buf);
    return 0;
}
C
export PKG_CONFIG_PATH="$build"
# shellcheck disable=SC2086
cc -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Werror $extra_cflags $(pkg-config --cflags iotls) \
    -c "$work/example.c" -o "$work/example.o"
# shellcheck disable=SC2086
cc $extra_cflags -pthread "$work/main.c" "$work/example.o" $(pkg-config --libs iotls) -Wl,-rpath,"$build" -o "$work/app"
echo "readme: the API example compiles with -Wall -Wextra -Werror and links"

# The same code with our files, host and port.
pki=$work/pki
mkdir -p "$pki"
mk() { # mk NAME SUBJ [CA]: EC P-256 key and certificate (self-signed without CA)
    openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key" 2>/dev/null
    if [ $# -gt 2 ]; then
        openssl req -new -key "$pki/$1.key" -subj "$2" 2>/dev/null |
            openssl x509 -req -CA "$pki/$3.pem" -CAkey "$pki/$3.key" -CAcreateserial -days 2 \
                -extfile "$pki/ext" -out "$pki/$1.pem" 2>/dev/null
    else
        openssl req -x509 -new -key "$pki/$1.key" -subj "$2" -days 2 -out "$pki/$1.pem" 2>/dev/null
    fi
}
printf 'subjectAltName=DNS:localhost\n' >"$pki/ext"
mk ca /CN=readme-ca && mk server /CN=localhost ca && mk device /CN=device ca && mk stranger /CN=localhost ||
    { echo "readme: openssl could not make the test certificates"; exit 1; }
port=$("$freeport") || { echo "readme: $freeport found no free port"; exit 1; }
variant() { # variant NAME PORT: the example with our files, localhost and PORT
    sed -e "s|\"my-ca.pem\"|\"$pki/ca.pem\"|; s|\"device.crt\"|\"$pki/device.pem\"|" \
        -e "s|\"device.key\"|\"$pki/device.key\"|; s|\"gateway.example\"|\"localhost\"|g; s|\"443\"|\"$2\"|" \
        "$work/example.c" >"$work/$1.c"
    # shellcheck disable=SC2086
    cc -std=c11 -D_POSIX_C_SOURCE=200809L -pthread $extra_cflags $(pkg-config --cflags iotls) "$work/main.c" "$work/$1.c" \
        $(pkg-config --libs iotls) -Wl,-rpath,"$build" -o "$work/$1"
}
if [ -n "$extra_cflags" ]; then
    run=""
else
    command -v valgrind >/dev/null || { echo "readme: valgrind is missing (scripts/deps.sh test)"; exit 1; }
    run="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect"
fi
fail=0
# expect WHAT WANT DIR PROGRAM: runs PROGRAM in DIR; its printed result must match WANT (ERE).
expect() {
    rc=0
    (cd "$3" && $run "$4") >"$work/out" 2>"$work/err" || rc=$?
    if [ $rc != 0 ]; then
        echo "readme: $1: exit code $rc (a leak or memory error?): $(head -c 600 "$work/err")"
        fail=1
    elif ! grep -qE "$2" "$work/out"; then
        echo "readme: $1: printed '$(cat "$work/out")', want /$2/"
        fail=1
    else
        echo "readme: $1: $(cat "$work/out") ($(head -n 1 "$work/err"))"
    fi
}
start_server() { # start_server CERT: iotls server --http --once on $port
    rm -f "$work/ready"
    "$iotls" server --port "$port" --ready-file "$work/ready" --cert "$pki/$1.pem" --key "$pki/$1.key" \
        --http --once --timeout 10 >/dev/null 2>"$work/server.err" &
    server_pid=$!
    i=0
    while [ ! -s "$work/ready" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    [ -s "$work/ready" ] || { echo "readme: iotls server did not start: $(cat "$work/server.err")"; exit 1; }
}
variant app_local "$port"
mkdir -p "$work/empty"
# The README's own file names, in a directory without them.
expect "configuration error (my-ca.pem missing)" '^-1 $' "$work/empty" "$work/app"
grep -q 'my-ca.pem' "$work/err" || { echo "readme: the configuration error does not name my-ca.pem"; fail=1; }
expect "nothing listening" '^-1 $' "$work" "$work/app_local"
start_server stranger
expect "handshake refused (server from another CA)" '^-1 $' "$work" "$work/app_local"
wait "$server_pid" 2>/dev/null || true
start_server server
expect "page fetched" '^[1-9][0-9]* HTTP/1\.1 200' "$work" "$work/app_local"
wait "$server_pid" 2>/dev/null || true
server_pid=
[ $fail = 0 ] && echo "readme: the example frees everything on each of its paths"
exit $fail
