#!/usr/bin/env bash
# A fleet of gateways behind a load balancer (docs/fleet.md), on 127.0.0.1:
# three `iotls server` sharing one --ticket-keys file (same --ticket-rotation)
# and one Redis for 0-RTT anti-replay (--replay-redis), behind HAProxy in TCP
# mode with round robin. The cell starts Redis and HAProxy itself and ends
# them (lib.sh's cleanup kills and reaps every child).
#   resume-across-gateways     a ticket from one gateway (through HAProxy)
#                              resumes through HAProxy on each of the three
#                              (each gateway's log shows a resumed connection)
#   replay-other-gateway       one session's 0-RTT: accepted by gateway 1, the
#                              same ticket's 0-RTT then refused by gateways 2
#                              and 3 (the data still arrives, after the
#                              handshake); each refusal is Redis' answer
#   control-no-shared-store    the limit the store removes: two gateways
#                              with the same ticket keys but without
#                              --replay-redis both accept the same ticket's
#                              0-RTT (this is what replay-other-gateway would
#                              show without the shared store)
#   rotation-out-of-step       a gateway with the same ticket keys but another
#                              --ticket-rotation derives other keys: the
#                              fleet's ticket gets a full handshake there
#                              (the rotation must be the fleet's, in step)
#   redis-down-refuses-0rtt    Redis stopped: a fresh ticket's 0-RTT is
#                              refused (never accepted unchecked), the
#                              gateway logs that Redis is unreachable; 1-RTT
#                              (full and resumed) still works through HAProxy
#   redis-back                 Redis restarted on its port: the same fresh
#                              ticket's 0-RTT is accepted again, and the log
#                              says Redis answers again
#   load-through-haproxy       (with iotls-load) 2 s of handshakes through
#                              HAProxy, half resumed on whichever gateway
#                              round robin picks: no error, no ticket refused
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "fleet"
PKI=$IA_PKI
. "$(dirname "$0")/feature_lib.sh"
command -v haproxy >/dev/null || ia_die "haproxy not found: apt-get install haproxy"
command -v redis-server >/dev/null && command -v redis-cli >/dev/null ||
    ia_die "redis-server/redis-cli not found: apt-get install redis-server"
ia_need_peer openssl

printf 'GET /sensor?t=21.5 fleet-%s\n' "$$" >"$W/early.txt"
EARLY=$(cat "$W/early.txt")

# The fleet's shared ticket master secret (96 hex digits).
openssl rand -hex 48 >"$W/ticket.keys"

# start_redis PORT: redis-server in the foreground, no persistence.
start_redis() {
    timeout -k 2 150 redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        >>"$W/redis.log" 2>&1 &
    REDIS_PID=$!
    IA_PIDS+=("$REDIS_PID")
    for _ in $(seq 1 100); do ia_listening "$1" && return 0; sleep 0.05; done
    return 1
}
stop_redis() {
    kill -TERM "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    for _ in $(seq 1 100); do ia_listening "$REDIS_PORT" || return 0; sleep 0.05; done
    return 1
}

REDIS_PORT=$("$IA_FREEPORT")
start_redis "$REDIS_PORT" || ia_die "redis-server did not start: $(tail -n 5 "$W/redis.log")"

# gateway TAG [ARGS...]: one gateway of the fleet; sets PORT.
gateway() {
    local tag=$1
    shift
    iotls_server_bg "$tag" --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
        --tickets 1 --ticket-keys "$W/ticket.keys" --ticket-rotation 3600 --early-data 1024 "$@"
}
GW=()
for n in 1 2 3; do
    gateway "gw$n" --replay-redis "127.0.0.1:$REDIS_PORT" || ia_die "gateway $n did not start: $(tail -n 5 "$W/gw$n.log")"
    GW[$n]=$PORT
done

LB=$("$IA_FREEPORT")
cat >"$W/haproxy.cfg" <<CFG
global
    maxconn 4096
defaults
    mode tcp
    timeout connect 2s
    timeout client 30s
    timeout server 30s
frontend fleet
    bind 127.0.0.1:$LB
    default_backend gateways
backend gateways
    balance roundrobin
    server gw1 127.0.0.1:${GW[1]}
    server gw2 127.0.0.1:${GW[2]}
    server gw3 127.0.0.1:${GW[3]}
CFG
timeout -k 2 150 haproxy -db -f "$W/haproxy.cfg" >"$W/haproxy.log" 2>&1 &
IA_PIDS+=($!)
for _ in $(seq 1 100); do ia_listening "$LB" && break; sleep 0.05; done
ia_listening "$LB" || ia_die "haproxy did not start: $(tail -n 5 "$W/haproxy.log")"

# client TAG TARGET_PORT ARGS...: one iotls client line to 127.0.0.1:PORT,
# verifying the name localhost.
client() {
    local tag=$1 port=$2
    shift 2
    iotls_client_line "$tag" "localhost:$port" --ca "$PKI/ca.pem" "$@"
}
# resumed_lines GW: the resumed connections gateway GW's log shows.
resumed_lines() { grep -c '(resumed)' "$W/gw$1.log"; }

# ---- a ticket from one gateway resumes on every gateway ----
cell=resume-across-gateways
if ! client r0 "$LB" --sess-out "$W/r0.sess" || [ ! -s "$W/r0.sess" ]; then
    fail $cell "no ticket through haproxy" "$W/r0.err" "$W/haproxy.log"
else
    ok=1
    # Round robin: three connections in a row reach the three gateways.
    for k in 1 2 3; do
        if ! client "r$k" "$LB" --sess-in "$W/r0.sess" || ! grep -q "(resumed)" "$W/r$k.err"; then
            fail $cell "connection $k through haproxy not resumed" "$W/r$k.err"
            ok=0
            break
        fi
    done
    if [ $ok = 1 ]; then
        for n in 1 2 3; do
            if [ "$(resumed_lines $n)" -lt 1 ]; then
                fail $cell "gateway $n resumed nothing (round robin?)" "$W/gw$n.log" "$W/haproxy.log"
                ok=0
                break
            fi
        done
    fi
    [ $ok = 1 ] && pass $cell
fi

# ---- 0-RTT of one ticket: gateway 1 accepts, gateways 2 and 3 refuse ----
cell=replay-other-gateway
if ! client e0 "$LB" --sess-out "$W/e0.sess" || [ ! -s "$W/e0.sess" ]; then
    fail $cell "no ticket through haproxy" "$W/e0.err"
elif ! client e1 "${GW[1]}" --sess-in "$W/e0.sess" --early-data "$W/early.txt" ||
    ! grep -q "early data accepted" "$W/e1.err"; then
    fail $cell "gateway 1 did not accept the first 0-RTT" "$W/e1.err" "$W/gw1.log"
elif ! KEY=$(redis-cli -p "$REDIS_PORT" --scan --pattern 'iotls:0rtt:*' | head -n 1) || [ -z "$KEY" ]; then
    fail $cell "no iotls:0rtt: key in Redis after the accepted 0-RTT"
elif TTL=$(redis-cli -p "$REDIS_PORT" pttl "$KEY") && ! [ "$TTL" -gt 20000 ] 2>/dev/null; then
    # Kept for twice the 10 s window plus the clock skew allowance (30 s):
    # a few seconds after the SET, more than 2W must remain.
    fail $cell "Redis keeps $KEY for $TTL ms, want > 20000 (2 x window)"
else
    ok=1
    for n in 2 3; do
        if ! client "e$n" "${GW[$n]}" --sess-in "$W/e0.sess" --early-data "$W/early.txt"; then
            fail $cell "replay to gateway $n failed instead of falling back" "$W/e$n.err" "$W/gw$n.log"
            ok=0
        elif ! grep -q "early data rejected; resending" "$W/e$n.err" ||
            ! grep -q "early data: rejected" "$W/gw$n.log"; then
            fail $cell "gateway $n accepted the replayed 0-RTT" "$W/e$n.err" "$W/gw$n.log"
            ok=0
        elif ! grep -q "(resumed)" "$W/e$n.err" || ! grep -qF "$EARLY" "$W/e$n.out"; then
            fail $cell "gateway $n: no resumed 1-RTT with the data resent" "$W/e$n.err" "$W/e$n.out"
            ok=0
        elif grep -q "replay-redis.*unreachable" "$W/gw$n.log"; then
            fail $cell "gateway $n refused because Redis was unreachable, not as a replay" "$W/gw$n.log"
            ok=0
        fi
    done
    [ $ok = 1 ] && pass $cell
fi

# ---- the control: the per-process store does not see other processes ----
cell=control-no-shared-store
if ! gateway ga; then
    fail $cell "gateway a did not start" "$W/ga.log"
else
    GA=$PORT
    if ! gateway gb; then
        fail $cell "gateway b did not start" "$W/gb.log"
    else
        GB=$PORT
        if ! client c0 "$GA" --sess-out "$W/c0.sess" || [ ! -s "$W/c0.sess" ]; then
            fail $cell "no ticket" "$W/c0.err"
        elif ! client ca "$GA" --sess-in "$W/c0.sess" --early-data "$W/early.txt" ||
            ! grep -q "early data accepted" "$W/ca.err"; then
            fail $cell "gateway a did not accept the 0-RTT" "$W/ca.err" "$W/ga.log"
        elif ! client cb "$GB" --sess-in "$W/c0.sess" --early-data "$W/early.txt" ||
            ! grep -q "early data accepted" "$W/cb.err"; then
            fail $cell "gateway b refused the replay without a shared store (unexpected)" "$W/cb.err" "$W/gb.log"
        else
            pass $cell
        fi
    fi
fi

# ---- the same master secret with another rotation period: other keys ----
cell=rotation-out-of-step
if ! gateway gr --ticket-rotation 7200; then
    fail $cell "gateway r did not start" "$W/gr.log"
elif ! client o1 "$PORT" --sess-in "$W/r0.sess"; then
    fail $cell "connection failed instead of a full handshake" "$W/o1.err" "$W/gr.log"
elif grep -q "(resumed)" "$W/o1.err"; then
    fail $cell "resumed a ticket sealed under another period's key" "$W/o1.err"
else
    pass $cell
fi

# ---- Redis down: 0-RTT refused and logged, 1-RTT works ----
cell=redis-down-refuses-0rtt
if ! client d0 "$LB" --sess-out "$W/d0.sess" || [ ! -s "$W/d0.sess" ]; then
    fail $cell "no ticket through haproxy" "$W/d0.err"
elif ! stop_redis; then
    fail $cell "redis-server did not stop" "$W/redis.log"
elif ! client d1 "${GW[3]}" --sess-in "$W/d0.sess" --early-data "$W/early.txt"; then
    fail $cell "0-RTT attempt failed instead of falling back to 1-RTT" "$W/d1.err" "$W/gw3.log"
elif ! grep -q "early data rejected; resending" "$W/d1.err" || grep -q "early data: accepted" <(tail -n 3 "$W/gw3.log"); then
    fail $cell "0-RTT accepted with Redis down" "$W/d1.err" "$W/gw3.log"
elif ! grep -q "replay-redis 127.0.0.1:$REDIS_PORT unreachable.*refusing 0-RTT" "$W/gw3.log"; then
    fail $cell "gateway 3 did not log that Redis is unreachable" "$W/gw3.log"
elif ! grep -qF "$EARLY" "$W/d1.out"; then
    fail $cell "data not delivered after the handshake" "$W/d1.out"
elif ! client d2 "$LB" || ! grep -q "hello d2" "$W/d2.out"; then
    fail $cell "full handshake through haproxy failed with Redis down" "$W/d2.err"
elif ! client d3 "$LB" --sess-in "$W/d0.sess" || ! grep -q "(resumed)" "$W/d3.err"; then
    fail $cell "resumption (no 0-RTT) through haproxy failed with Redis down" "$W/d3.err"
else
    pass $cell
fi

# ---- Redis back: the same fresh ticket's 0-RTT is accepted ----
cell=redis-back
if ! start_redis "$REDIS_PORT"; then
    fail $cell "redis-server did not restart" "$W/redis.log"
else
    sleep 1.2 # the gateway retries Redis at most once a second
    if ! client b1 "${GW[3]}" --sess-in "$W/d0.sess" --early-data "$W/early.txt" ||
        ! grep -q "early data accepted" "$W/b1.err"; then
        fail $cell "0-RTT not accepted once Redis is back" "$W/b1.err" "$W/gw3.log"
    elif ! grep -q "replay-redis 127.0.0.1:$REDIS_PORT answers again" "$W/gw3.log"; then
        fail $cell "gateway 3 did not log that Redis is back" "$W/gw3.log"
    else
        pass $cell
    fi
fi

# ---- the load generator through the balancer ----
if [ -n "${IOTLS_LOAD:-}" ]; then
    cell=load-through-haproxy
    timeout -k 2 60 "$IOTLS_LOAD" "127.0.0.1:$LB" --ca "$PKI/ca.pem" --connections 20 --rate 30 \
        --duration 2 --resume-ratio 0.5 --early-data >"$W/load.out" 2>"$W/load.err"
    rc=$?
    field() { sed -n "s/^$1: \([0-9]*\).*/\1/p" "$W/load.out" | head -n 1; }
    if [ $rc != 0 ] || [ "$(field errors)" != 0 ]; then
        fail $cell "iotls-load exit $rc, $(field errors) errors" "$W/load.out"
    elif [ "$(field resumed)" -le 0 ] || [ "$(field resume_refused)" != 0 ]; then
        fail $cell "want resumed > 0 and no ticket refused" "$W/load.out"
    else
        pass $cell
    fi
fi

ia_finish
