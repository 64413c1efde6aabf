#!/usr/bin/env bash
# iotls-load (bench/load.c) cells over 127.0.0.1. The summary's counts are
# checked, never its timings (this machine is shared):
#   load-iotls-server     20 connections, 50 handshakes/s for 2 s, half of
#                         them resuming, client certificates, 0-RTT, against
#                         `iotls server --tickets 1 --early-data`: handshakes
#                         and resumed > 0, resumed handshakes offered 0-RTT,
#                         no error, a progress line on stderr, the latency
#                         percentiles and the load generator's CPU time
#   load-openssl-server   the same against openssl s_server (no client
#                         certificate): also early data accepted
#   load-verify-each      full handshakes only, against our server: every
#                         one verified the chain and name, none pinned
#   load-verify-once      the same with --verify-once: the first handshakes
#                         verified the chain and name, the later ones (at
#                         least one) matched the pin of the leaf verified
#   load-refuses-remote   a target outside 127.0.0.0/8 and ::1 is refused
#                         (exit 2) before any connection is made
#   load-counts-errors    a port where nothing listens: every handshake is
#                         counted as a connect error, exit 1
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "load"
PKI=$IA_PKI
. "$(dirname "$0")/feature_lib.sh"
: "${IOTLS_LOAD:?IOTLS_LOAD must name iotls-load (set by CMake)}"
[ -x "$IOTLS_LOAD" ] || ia_die "iotls-load not built at $IOTLS_LOAD"
ia_need_peer openssl

# field FILE NAME: the number after "NAME: " in a summary.
field() { sed -n "s/^$2: \([0-9]*\).*/\1/p" "$1" | head -n 1; }

# check_summary CELL TAG [early]: the counts of $W/TAG.out.
check_summary() {
    local cell=$1 tag=$2 out=$W/$2.out hs resumed errors
    hs=$(field "$out" handshakes)
    resumed=$(field "$out" resumed)
    errors=$(field "$out" errors)
    if [ "$LOAD_RC" != 0 ]; then
        fail "$cell" "iotls-load exit code $LOAD_RC" "$out" "$W/$tag.err"
    elif [ -z "$hs" ] || [ "$hs" -le 0 ]; then
        fail "$cell" "no handshake counted" "$out"
    elif [ -z "$resumed" ] || [ "$resumed" -le 0 ]; then
        fail "$cell" "no resumed handshake counted" "$out"
    elif [ "$errors" != 0 ]; then
        fail "$cell" "$errors errors" "$out"
    elif [ "$(field "$out" full)" -le 0 ] || [ $(($(field "$out" full) + resumed)) != "$hs" ]; then
        fail "$cell" "full + resumed != handshakes" "$out"
    elif [ "$(field "$out" early_offered)" -le 0 ]; then
        fail "$cell" "no 0-RTT offered" "$out"
    elif [ "${3:-}" = early ] && [ "$(field "$out" early_accepted)" -le 0 ]; then
        fail "$cell" "no 0-RTT accepted" "$out"
    elif ! grep -qE '^\[ *[0-9]+s\] open [0-9]+, handshakes [0-9]+' "$W/$tag.err"; then
        fail "$cell" "no progress line on stderr" "$W/$tag.err"
    elif ! grep -qE '^latency_ms: p50 [0-9.]+ p90 [0-9.]+ p99 [0-9.]+' "$out"; then
        fail "$cell" "no latency percentiles" "$out"
    elif ! grep -qE '^cpu_s: [0-9.]+ \(user [0-9.]+, system [0-9.]+\)' "$out"; then
        fail "$cell" "no CPU time of the load generator" "$out"
    else
        pass "$cell"
    fi
}

# run_load TAG ARGS...: iotls-load, bounded; sets LOAD_RC.
run_load() {
    local tag=$1
    shift
    timeout -k 2 60 "$IOTLS_LOAD" "$@" >"$W/$tag.out" 2>"$W/$tag.err"
    LOAD_RC=$?
}

LOAD=(--connections 20 --rate 50 --duration 2 --resume-ratio 0.5 --early-data --ca "$PKI/ca.pem")

cell=load-iotls-server
if ! iotls_server_bg s1 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
    --ca "$PKI/ca.pem" --verify-optional --tickets 1 --early-data 1024; then
    fail $cell "our server did not start" "$W/s1.log"
else
    run_load l1 "127.0.0.1:$PORT" "${LOAD[@]}" --mtls \
        --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key"
    check_summary $cell l1
    # The server saw the client certificates (the first connection is a full one).
    grep -q 'client="O=iotls test, CN=iotls interop client ecdsa"' "$W/s1.log" ||
        fail "$cell-mtls" "our server saw no client certificate" "$W/s1.log"
fi

# full_counts CELL TAG ONCE(0|1): the verification counts of a run of
# full handshakes only.
full_counts() {
    local cell=$1 out=$W/$2.out full chain pinned
    full=$(field "$out" full)
    chain=$(field "$out" full_chain_verified)
    pinned=$(field "$out" full_leaf_pinned)
    if [ "$LOAD_RC" != 0 ] || [ "$(field "$out" errors)" != 0 ]; then
        fail "$cell" "iotls-load exit code $LOAD_RC, errors $(field "$out" errors)" "$out" "$W/$2.err"
    elif [ -z "$full" ] || [ "$full" -le 1 ] || [ -z "$chain" ] || [ -z "$pinned" ]; then
        fail "$cell" "want more than one full handshake and the verification counts" "$out"
    elif [ $((chain + pinned)) != "$full" ]; then
        fail "$cell" "chain-verified + pinned != full handshakes" "$out"
    elif [ "$3" = 0 ] && [ "$pinned" != 0 ]; then
        fail "$cell" "$pinned handshakes pinned without --verify-once" "$out"
    elif [ "$3" = 1 ] && { [ "$chain" -lt 1 ] || [ "$pinned" -lt 1 ]; }; then
        fail "$cell" "want at least one chain-verified and one pinned handshake" "$out"
    else
        pass "$cell"
    fi
}
if [ -n "${PORT:-}" ]; then
    # Two connections at a time: the first ones verify, later ones pin.
    FULL=(--connections 2 --rate 40 --duration 1 --ca "$PKI/ca.pem")
    run_load l5 "127.0.0.1:$PORT" "${FULL[@]}"
    full_counts load-verify-each l5 0
    run_load l6 "127.0.0.1:$PORT" "${FULL[@]}" --verify-once
    full_counts load-verify-once l6 1
else
    fail load-verify-each "our server did not start" "$W/s1.log"
    fail load-verify-once "our server did not start" "$W/s1.log"
fi

cell=load-openssl-server
# A fifo on its stdin (kept open by the harness): s_server ends a
# connection when its stdin ends.
if ! ia_start_server oss --stdin-fifo -- openssl s_server -accept "127.0.0.1:{PORT}" -quiet \
    -early_data -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key"; then
    ia_die "openssl s_server did not start"
fi
PORT=$IA_PORT
run_load l2 "127.0.0.1:$PORT" "${LOAD[@]}"
check_summary $cell l2 early

cell=load-refuses-remote
run_load l3 192.0.2.1:443 --ca "$PKI/ca.pem"
if [ "$LOAD_RC" != 2 ] || ! grep -q "only loopback targets" "$W/l3.err"; then
    fail $cell "exit $LOAD_RC, want 2 and the refusal" "$W/l3.err"
elif grep -q "^handshakes:" "$W/l3.out"; then
    fail $cell "it ran" "$W/l3.out"
else
    pass $cell
fi

cell=load-counts-errors
run_load l4 "127.0.0.1:$("$IA_FREEPORT")" --ca "$PKI/ca.pem" --rate 20 --duration 1
if [ "$LOAD_RC" != 1 ]; then
    fail $cell "exit $LOAD_RC, want 1" "$W/l4.out"
elif [ "$(field "$W/l4.out" handshakes)" != 0 ] || [ "$(field "$W/l4.out" errors)" -le 0 ] ||
    ! grep -qE '^error\.connect:refused: [1-9]' "$W/l4.out"; then
    fail $cell "want 0 handshakes and connect:refused errors" "$W/l4.out"
else
    pass $cell
fi

ia_finish
