#!/usr/bin/env bash
# 0-RTT early data cells (RFC 8446 2.3, 4.2.10) over 127.0.0.1:
#   client-openssl-early-accepted   our client --early-data, openssl s_server -early_data
#                                   (s_server prints the early data it received)
#   client-openssl-early-rejected   the same session offered to an s_server without
#                                   -early_data (it cannot use the ticket): the server
#                                   skips the 0-RTT records, our client reports
#                                   "rejected" and sends the data after the handshake
#   server-openssl-early            openssl s_client -sess_in -early_data with our server
#                                   --early-data: accepted; the same session's 0-RTT
#                                   a second time (a replay of the binder) is rejected
#   client-server-early             our client with our server: accepted and echoed
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "early"
PKI=$IA_PKI
W=$IA_WORK
FAILS=0

pass() { echo "CELL $1: PASS"; IA_PASSED=$((IA_PASSED + 1)); }
fail() {
    echo "CELL $1: FAIL ($2)"
    IA_FAILED=$((IA_FAILED + 1))
    FAILS=$((FAILS + 1))
    for f in "${@:3}"; do echo "---- $f"; tail -n 25 "$f" 2>/dev/null; done
}

our_server() {
    local tag=$1
    shift
    rm -f "$W/$tag.ready"
    timeout 60 "$IOTLS" server --port 0 --ready-file "$W/$tag.ready" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" "$@" \
        >"$W/$tag.log" 2>&1 &
    IA_PIDS+=($!)
    for _ in $(seq 1 100); do [ -s "$W/$tag.ready" ] && break; sleep 0.05; done
    PORT=$(cat "$W/$tag.ready" 2>/dev/null)
    [ -n "$PORT" ]
}

# our_client TAG PORT ARGS...: sends a line, keeps stdin open a moment so
# that tickets (and echoes) arrive.
our_client() {
    local tag=$1 port=$2
    shift 2
    (echo "hello $tag"; sleep 0.8) | timeout 20 "$IOTLS" client "localhost:$port" \
        --ca "$PKI/ca.pem" "$@" >"$W/$tag.out" 2>"$W/$tag.err"
}

# oss_server TAG ARGS...: openssl s_server for 2 connections; sets PORT.
oss_server() {
    local tag=$1
    shift
    PORT=$("$IA_FREEPORT")
    (sleep 8 | timeout 12 openssl s_server -accept "127.0.0.1:$PORT" -naccept 2 \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" "$@" >"$W/$tag.log" 2>&1) &
    IA_PIDS+=($!)
    for _ in $(seq 1 100); do grep -q ACCEPT "$W/$tag.log" 2>/dev/null && break; sleep 0.05; done
}

printf 'GET /sensor?t=21.5 early-%s\n' "$$" >"$W/early.txt"
EARLY=$(cat "$W/early.txt")

# ---- our client, openssl s_server -early_data ----
cell="client-openssl-early-accepted"
oss_server oss1 -early_data
if ! our_client a1 "$PORT" --sess-out "$W/a1.sess" || [ ! -s "$W/a1.sess" ]; then
    fail $cell "no ticket from the full handshake" "$W/a1.err" "$W/oss1.log"
elif ! our_client a2 "$PORT" --sess-in "$W/a1.sess" --early-data "$W/early.txt"; then
    fail $cell "0-RTT connection failed" "$W/a2.err" "$W/oss1.log"
elif ! grep -q "early data accepted" "$W/a2.err" || ! grep -q "(resumed)" "$W/a2.err"; then
    fail $cell "early data not accepted" "$W/a2.err" "$W/oss1.log"
elif ! grep -q "Early data received" "$W/oss1.log" || ! grep -qF "$EARLY" "$W/oss1.log"; then
    fail $cell "s_server did not print the early data" "$W/oss1.log"
else
    pass $cell
fi

# ---- the same session at a server that cannot accept it ----
cell="client-openssl-early-rejected"
oss_server oss2
if ! our_client r1 "$PORT" --sess-in "$W/a1.sess" --early-data "$W/early.txt"; then
    fail $cell "connection failed" "$W/r1.err" "$W/oss2.log"
elif ! grep -q "early data rejected; resending" "$W/r1.err"; then
    fail $cell "client did not report the rejection" "$W/r1.err" "$W/oss2.log"
elif grep -q "Early data received" "$W/oss2.log" || ! grep -qF "$EARLY" "$W/oss2.log"; then
    fail $cell "data not resent after the handshake" "$W/oss2.log"
else
    pass $cell
fi

# ---- openssl s_client -early_data, our server ----
cell="server-openssl-early"
if ! our_server s1 --tickets 1 --early-data 16384; then
    fail $cell "our server did not start" "$W/s1.log"
else
    S1=$PORT
    (echo hi; sleep 0.6) | timeout 20 openssl s_client -connect "127.0.0.1:$S1" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_out "$W/o.sess" >"$W/o1.log" 2>&1
    (sleep 0.8) | timeout 20 openssl s_client -connect "127.0.0.1:$S1" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_in "$W/o.sess" \
        -early_data "$W/early.txt" >"$W/o2.log" 2>&1
    # The same session again: the same ticket, and s_client keeps using the
    # first binder's PSK: our server must refuse this replayed 0-RTT.
    (sleep 0.8) | timeout 20 openssl s_client -connect "127.0.0.1:$S1" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_in "$W/o.sess" \
        -early_data "$W/early.txt" >"$W/o3.log" 2>&1
    if ! grep -q "New, TLSv1.3" "$W/o1.log"; then
        fail $cell "first handshake" "$W/o1.log" "$W/s1.log"
    elif ! grep -q "Early data was accepted" "$W/o2.log"; then
        fail $cell "s_client: early data not accepted" "$W/o2.log" "$W/s1.log"
    elif ! grep -q "early data: accepted ${#EARLY}" "$W/s1.log" && \
         ! grep -q "early data: accepted $((${#EARLY} + 1))" "$W/s1.log"; then
        fail $cell "our server did not report the accepted bytes" "$W/s1.log"
    elif ! grep -qF "$EARLY" "$W/o2.log"; then
        fail $cell "early data not echoed back" "$W/o2.log"
    elif ! grep -q "Early data was rejected" "$W/o3.log"; then
        fail $cell "replayed 0-RTT was not rejected" "$W/o3.log" "$W/s1.log"
    elif ! grep -q "early data: rejected" "$W/s1.log"; then
        fail $cell "our server did not report the rejection" "$W/s1.log"
    else
        pass $cell
    fi
fi

# ---- our client, our server ----
cell="client-server-early"
if ! our_server s2 --tickets 1 --early-data 4096; then
    fail $cell "our server did not start" "$W/s2.log"
elif ! our_client e1 "$PORT" --sess-out "$W/e1.sess" || [ ! -s "$W/e1.sess" ]; then
    fail $cell "no ticket" "$W/e1.err" "$W/s2.log"
elif ! our_client e2 "$PORT" --sess-in "$W/e1.sess" --early-data "$W/early.txt"; then
    fail $cell "0-RTT connection failed" "$W/e2.err" "$W/s2.log"
elif ! grep -q "early data accepted" "$W/e2.err" || ! grep -q "early data: accepted" "$W/s2.log"; then
    fail $cell "not accepted" "$W/e2.err" "$W/s2.log"
elif ! grep -qF "$EARLY" "$W/e2.out" || ! grep -q "hello e2" "$W/e2.out"; then
    fail $cell "early data or the later line not echoed" "$W/e2.out"
else
    pass $cell
fi

echo "early cells: $IA_PASSED passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
