#!/usr/bin/env bash
# `iotls server` as a gateway (its event loop, apps/server_loop.c), over
# 127.0.0.1. Counts and log lines are checked, never timings beyond generous
# bounds (this machine is shared):
#   many-clients        GATEWAY_CLIENTS (500; 64 in the sanitizer build, whose
#                       handshakes are many times slower) connections held
#                       open at once by iotls-load against --workers 2: every
#                       handshake done, no error, each logged with the
#                       client's address and port
#   max-connections     --max-connections 2: a third connection is accepted
#                       and closed at once with a "refused (too many
#                       connections)" line; once one closes, a TLS client
#                       is served again
#   handshake-timeout   a client that sends half a ClientHello and stalls is
#                       closed after --timeout 1 ("handshake failed: timed out")
#   idle-timeout        an established connection that sends nothing gets
#                       close_notify after --idle-timeout 1 (the client ends
#                       cleanly, long before its input would end)
#   sigterm-drain       SIGTERM while an HTTP request is half sent: new
#                       connections are refused at once, the request is still
#                       answered, the client gets close_notify, the server
#                       exits 0
#   poll-fallback       the same server on poll(2) (--poll: what it uses where
#                       epoll is missing) serves echo and iotls-load clients
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "gateway"
PKI=$IA_PKI
. "$(dirname "$0")/feature_lib.sh"
: "${IOTLS_LOAD:?IOTLS_LOAD must name iotls-load (set by CMake)}"
[ -x "$IOTLS_LOAD" ] || ia_die "iotls-load not built at $IOTLS_LOAD"

CERT=(--cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key")
CLIENT=(--ca "$PKI/ca.pem" --servername localhost)

# field FILE NAME: the number after "NAME: " in an iotls-load summary.
field() { sed -n "s/^$2: \([0-9]*\).*/\1/p" "$1" | head -n 1; }

# connect_refused PORT: 0 when a TCP connect to PORT is refused.
connect_refused() {
    ! timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# wait_log FILE REGEX SECONDS: 0 once FILE has a line matching REGEX.
wait_log() {
    local i
    for i in $(seq 1 $(($3 * 20))); do
        grep -qE -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.05
    done
    return 1
}

cell=many-clients
N=${GATEWAY_CLIENTS:-500}
if ! iotls_server_bg s1 "${CERT[@]}" --workers 2 --tickets 1; then
    fail $cell "server did not start" "$W/s1.log"
else
    # N/3 a second, each held until the run ends at 20 s: all N are open
    # together once the ramp is over (no more start while N are open),
    # with room for a machine so busy that the ramp takes four times as long.
    timeout -k 2 90 "$IOTLS_LOAD" "127.0.0.1:$PORT" --connections "$N" --rate $((N / 3)) \
        --duration 20 --hold 60 --ca "$PKI/ca.pem" >"$W/l1.out" 2>"$W/l1.err"
    rc=$?
    hs=$(field "$W/l1.out" handshakes)
    errors=$(field "$W/l1.out" errors)
    # The progress lines show how many were open at once.
    peak=$(sed -n 's/^\[ *[0-9]*s\] open \([0-9]*\),.*/\1/p' "$W/l1.err" | sort -n | tail -n 1)
    if [ "$rc" != 0 ] || [ -z "$hs" ] || [ "$hs" -lt "$N" ] || [ "$errors" != 0 ]; then
        fail $cell "iotls-load exit $rc, handshakes ${hs:-none}, errors ${errors:-none}" \
            "$W/l1.out" "$W/l1.err"
    elif [ -z "$peak" ] || [ "$peak" -lt "$N" ]; then
        fail $cell "at most ${peak:-0} connections open at once, want $N" "$W/l1.err"
    elif [ "$(grep -cE '^conn [0-9]+ from 127\.0\.0\.1:[1-9][0-9]*: TLSv1\.3' "$W/s1.log")" -lt "$N" ]; then
        fail $cell "the server logged fewer than $N handshakes from 127.0.0.1:PORT" "$W/s1.log"
    else
        pass $cell
    fi
fi

cell=max-connections
if ! iotls_server_bg s2 "${CERT[@]}" --max-connections 2; then
    fail $cell "server did not start" "$W/s2.log"
else
    exec 5<>"/dev/tcp/127.0.0.1/$PORT" 6<>"/dev/tcp/127.0.0.1/$PORT"
    wait_log "$W/s2.log" '^ACCEPT' 2
    sleep 0.3
    # The third: accepted and closed, so reading it ends at once.
    exec 7<>"/dev/tcp/127.0.0.1/$PORT"
    third=$(timeout 5 cat <&7 2>/dev/null | wc -c)
    third_rc=${PIPESTATUS[0]}
    exec 7<&-
    if ! wait_log "$W/s2.log" '^conn 3 from 127\.0\.0\.1:[1-9][0-9]*: refused \(too many connections\)' 3; then
        fail $cell "no refusal line for the third connection" "$W/s2.log"
    elif [ "$third" != 0 ]; then
        fail $cell "the refused connection got $third bytes (rc $third_rc)" "$W/s2.log"
    else
        exec 5<&-
        sleep 0.5
        iotls_client_line c2 "127.0.0.1:$PORT" "${CLIENT[@]}"
        if ! grep -q "hello c2" "$W/c2.out"; then
            fail $cell "after one closed, a client was not served" "$W/c2.out" "$W/c2.err" "$W/s2.log"
        else
            pass $cell
        fi
    fi
    exec 5<&- 6<&-
fi

cell=handshake-timeout
if ! iotls_server_bg s3 "${CERT[@]}" --timeout 1; then
    fail $cell "server did not start" "$W/s3.log"
else
    # A handshake record header announcing 512 bytes, then the first 9 of
    # them (ClientHello type, length, legacy_version): the rest never comes.
    start=$(date +%s%N)
    (
        exec 3<>"/dev/tcp/127.0.0.1/$PORT"
        printf '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03' >&3
        timeout 8 cat <&3 >/dev/null
        echo "rc=$?"
    ) >"$W/stall.out" 2>&1
    ms=$((($(date +%s%N) - start) / 1000000))
    if ! grep -q '^rc=0$' "$W/stall.out"; then
        fail $cell "the stalled connection was not closed within 8 s" "$W/stall.out" "$W/s3.log"
    elif [ "$ms" -lt 900 ]; then
        fail $cell "closed after $ms ms, before the 1 s timeout" "$W/s3.log"
    elif ! wait_log "$W/s3.log" '^conn 1 from .*: handshake failed: timed out' 2; then
        fail $cell "no timeout line" "$W/s3.log"
    else
        # A client in time is still served.
        iotls_client_line c3 "127.0.0.1:$PORT" "${CLIENT[@]}"
        if grep -q "hello c3" "$W/c3.out"; then
            pass $cell
        else
            fail $cell "a prompt client was not served" "$W/c3.err" "$W/s3.log"
        fi
    fi
fi

cell=idle-timeout
if ! iotls_server_bg s4 "${CERT[@]}" --idle-timeout 1; then
    fail $cell "server did not start" "$W/s4.log"
else
    start=$(date +%s%N)
    # Input through a process substitution: the client's end is timed, not
    # the end of its input (as a pipeline's would be).
    timeout -k 2 20 "$IOTLS" client "127.0.0.1:$PORT" "${CLIENT[@]}" \
        < <(echo "hello idle"; sleep 8) >"$W/c4.out" 2>"$W/c4.err"
    rc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    if [ "$rc" != 0 ]; then
        fail $cell "client exit $rc (want 0: the server's close_notify)" "$W/c4.err" "$W/s4.log"
    elif [ "$ms" -ge 7000 ]; then
        fail $cell "the connection lasted until the client's input ended" "$W/s4.log"
    elif ! grep -q "hello idle" "$W/c4.out"; then
        fail $cell "the echo before the idle time did not come back" "$W/c4.out"
    elif ! grep -qE '^conn 1: closed after 1\.0 s idle' "$W/s4.log"; then
        fail $cell "no idle line" "$W/s4.log"
    else
        pass $cell
    fi
fi

cell=sigterm-drain
rm -f "$W/s5.ready"
ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 60 "$IOTLS" server --port 0 --ready-file "$W/s5.ready" \
    "${CERT[@]}" --http >"$W/s5.log" 2>&1
SPID=$IA_SPAWNED
for _ in $(seq 1 100); do [ -s "$W/s5.ready" ] && break; sleep 0.05; done
PORT=$(cat "$W/s5.ready" 2>/dev/null)
if [ -z "$PORT" ]; then
    fail $cell "server did not start" "$W/s5.log"
else
    # Half a request, the rest after the SIGTERM; input stays open long
    # after, so only the server's close_notify ends the client early.
    timeout -k 2 30 "$IOTLS" client "127.0.0.1:$PORT" "${CLIENT[@]}" >"$W/c5.out" 2>"$W/c5.err" \
        < <(
            printf 'GET /drain HTTP/1.1\r\nHost: localhost\r\n'
            sleep 2
            printf '\r\n'
            # Up to 10 s, but no longer than the client: a sleep left
            # behind would outlive the cell (the run's sweep reports it).
            for _ in $(seq 1 100); do
                [ -e "$W/c5.done" ] && break
                sleep 0.1
            done
        ) &
    CPID=$!
    wait_log "$W/s5.log" '^conn 1 from .*TLSv1\.3' 5
    kill -TERM "$SPID"
    sleep 0.5
    if connect_refused "$PORT"; then refused=1; else refused=0; fi
    start=$(date +%s%N)
    wait "$CPID"
    crc=$?
    ms=$((($(date +%s%N) - start) / 1000000))
    touch "$W/c5.done"
    wait "$SPID"
    src=$?
    if [ "$refused" != 1 ]; then
        fail $cell "a new connection was accepted after SIGTERM" "$W/s5.log"
    elif ! grep -q '^request: *GET /drain' "$W/c5.out"; then
        fail $cell "the open request was not answered" "$W/c5.out" "$W/c5.err" "$W/s5.log"
    elif [ "$crc" != 0 ] || [ "$ms" -ge 8000 ]; then
        fail $cell "client exit $crc after $ms ms (want 0, ended by close_notify)" "$W/c5.err"
    elif [ "$src" != 0 ]; then
        fail $cell "server exit $src, want 0" "$W/s5.log"
    else
        pass $cell
    fi
fi

cell=poll-fallback
if ! iotls_server_bg s6 "${CERT[@]}" --workers 2 --poll; then
    fail $cell "server did not start" "$W/s6.log"
else
    iotls_client_line c6 "127.0.0.1:$PORT" "${CLIENT[@]}"
    timeout -k 2 60 "$IOTLS_LOAD" "127.0.0.1:$PORT" --connections 50 --rate 100 --duration 1 \
        --resume-ratio 0.5 --ca "$PKI/ca.pem" >"$W/l6.out" 2>"$W/l6.err"
    rc=$?
    if ! grep -q "hello c6" "$W/c6.out"; then
        fail $cell "no echo" "$W/c6.err" "$W/s6.log"
    elif [ "$rc" != 0 ] || [ "$(field "$W/l6.out" errors)" != 0 ] ||
        [ "$(field "$W/l6.out" resumed)" -le 0 ]; then
        fail $cell "iotls-load exit $rc" "$W/l6.out" "$W/s6.log"
    else
        pass $cell
    fi
fi

ia_finish
