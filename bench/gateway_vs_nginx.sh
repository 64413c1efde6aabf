#!/usr/bin/env bash
# iotls server against nginx (OpenSSL 3, TLS 1.3, http module, tickets on),
# both with the same ECDSA P-256 certificate, driven by the same load
# generator (iotls-load, bench/load.c) over 127.0.0.1. Results:
# docs/measurements/gateway.md.
#
#   bench/gateway_vs_nginx.sh [BUILD_DIR]     (default: build-openssl)
#
# BUILD_DIR is a build configured with -DIOTLS_BENCH=ON -DIOTLS_TESTS=ON
# (iotls, iotls-load and the freeport helper; the OpenSSL provider is the
# fair one against nginx, which uses OpenSSL). Environment:
#   SERVER_CPU / LOAD_CPU   CPUs the server and the load generator are pinned to
#                           (default 1 and 0): the server's "per core" figure
#                           is handshakes per CPU-second it used
#   RATE_SECONDS            length of each throughput and latency run (default 10)
#   RATE_CONNECTIONS        handshakes in flight in the throughput runs (default 64)
#   IDLE_COUNTS             open connections for the memory runs ("5000 18000";
#                           empty: none)
#   IDLE_PER_LOADER         connections per iotls-load process in the memory
#                           runs (default 5000: each process needs a descriptor
#                           per connection, 20,000 allowed per process here)
#   IDLE_RAMP               new connections per second in the memory runs, over
#                           all loaders (default 400: on a busy 2-CPU machine
#                           faster ramps made handshakes time out)
# Latency is measured at 80 % of nginx's peak rate (of the throughput run of
# the same kind), for both servers.
# Prints one line per measurement; the server logs and iotls-load summaries
# stay in the work directory it names.
set -u
BUILD=${1:-build-openssl}
IOTLS=$BUILD/iotls
LOAD=$BUILD/iotls-load
FREEPORT=$BUILD/tests/interop/interop_freeport
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
RATE_SECONDS=${RATE_SECONDS:-10}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-64}
IDLE_COUNTS=${IDLE_COUNTS-"5000 18000"}
IDLE_PER_LOADER=${IDLE_PER_LOADER:-5000}
IDLE_RAMP=${IDLE_RAMP:-400}
HERE=$(cd "$(dirname "$0")/.." && pwd)
for p in "$IOTLS" "$LOAD" "$FREEPORT"; do
    [ -x "$p" ] || { echo "gateway_vs_nginx: $p not built (configure $BUILD with -DIOTLS_BENCH=ON -DIOTLS_TESTS=ON)" >&2; exit 2; }
done
command -v nginx >/dev/null || { echo "gateway_vs_nginx: nginx not found: apt-get install nginx" >&2; exit 2; }
command -v taskset >/dev/null || { echo "gateway_vs_nginx: taskset not found: apt-get install util-linux" >&2; exit 2; }

W=$(mktemp -d /tmp/gateway-vs-nginx.XXXXXX)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "# work directory: $W"
bash "$HERE/tests/interop/pki.sh" "$W/pki" >/dev/null || exit 1
PKI=$W/pki
CLK_TCK=$(getconf CLK_TCK)

listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp 2>/dev/null
}
# cpu_ticks PID...: user + system time of the processes (all their threads).
cpu_ticks() {
    local t=0 pid
    for pid in "$@"; do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$pid/stat")))
    done
    echo $t
}
# rss_kb PID...: resident memory of the processes.
rss_kb() {
    local t=0 pid
    for pid in "$@"; do
        t=$((t + $(awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status")))
    done
    echo $t
}
field() { sed -n "s/^$2: \([0-9.]*\).*/\1/p" "$1" | head -n 1; }

# ---- the servers ----
# SERVER_PIDS: the processes whose CPU and memory count (nginx: master + worker).
start_iotls() {
    local port
    port=$("$FREEPORT")
    # --tickets 1: one ticket per handshake, as nginx below (NumTickets 1);
    # --workers 1: one event-loop thread, as nginx's one worker process.
    taskset -c "$SERVER_CPU" timeout 3600 "$IOTLS" server --port "$port" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --tickets 1 --workers 1 \
        >"$W/iotls.log" 2>&1 &
    SERVER_WRAPPER=$!
    PIDS+=($!)
    for _ in $(seq 1 100); do listening "$port" && break; sleep 0.05; done
    # taskset execs timeout(1), which runs the server as its child.
    SERVER_PIDS=("$(pgrep -P "$SERVER_WRAPPER" | head -n 1)")
    PORT=$port
}
start_nginx() {
    local port
    port=$("$FREEPORT")
    mkdir -p "$W/nginx/logs"
    cat >"$W/nginx/nginx.conf" <<CONF
user root;
worker_processes 1;
worker_rlimit_nofile 20000;
pid $W/nginx/nginx.pid;
error_log $W/nginx/logs/error.log;
events { worker_connections 20000; }
http {
    access_log off;
    ssl_protocols TLSv1.3;
    ssl_session_tickets on;
    ssl_session_cache off;
    ssl_conf_command NumTickets 1;
    client_header_timeout 600s;
    keepalive_timeout 600s;
    server {
        listen 127.0.0.1:$port ssl;
        ssl_certificate $PKI/ecdsa-p256.pem;
        ssl_certificate_key $PKI/ecdsa-p256.key;
        return 200 "ok\n";
    }
}
CONF
    taskset -c "$SERVER_CPU" timeout 3600 nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" \
        -g 'daemon off;' >"$W/nginx/out.log" 2>&1 &
    PIDS+=($!)
    SERVER_WRAPPER=$!
    local master=$!
    for _ in $(seq 1 100); do listening "$port" && break; sleep 0.05; done
    # timeout(1) runs nginx as its child: the master, and the worker under it.
    local nginx_master worker
    nginx_master=$(pgrep -P "$master" nginx | head -n 1)
    worker=$(pgrep -P "$nginx_master" | head -n 1)
    SERVER_PIDS=("$nginx_master" "$worker")
    PORT=$port
}
stop_server() {
    kill -TERM "$SERVER_WRAPPER" 2>/dev/null
    wait "$SERVER_WRAPPER" 2>/dev/null
    sleep 0.5
}

# ---- the measurements ----
# rate NAME KIND(full|resumed): as many handshakes as the server takes in
# RATE_SECONDS (RATE_CONNECTIONS in flight), and the server's CPU time.
rate() {
    local name=$1 kind=$2 out=$W/$1-$2-rate.out args=() c0 c1 cpu hs
    [ "$kind" = resumed ] && args=(--resume-ratio 1)
    c0=$(cpu_ticks "${SERVER_PIDS[@]}")
    taskset -c "$LOAD_CPU" "$LOAD" "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --connections "$RATE_CONNECTIONS" \
        --rate 20000 --duration "$RATE_SECONDS" "${args[@]}" >"$out" 2>"$out.err"
    c1=$(cpu_ticks "${SERVER_PIDS[@]}")
    cpu=$(echo "($c1 - $c0) / $CLK_TCK" | bc -l)
    hs=$(field "$out" "$kind")
    PEAK=$(field "$out" handshakes_per_s)
    printf '%-6s %-8s throughput: %s handshakes (%s resumed, %s errors) in %ss = %s/s; server CPU %.2f s = %.0f handshakes per CPU-second; latency %s\n' \
        "$name" "$kind" "$(field "$out" handshakes)" "$(field "$out" resumed)" "$(field "$out" errors)" \
        "$RATE_SECONDS" "$(field "$out" handshakes_per_s)" "$cpu" "$(echo "$hs / ($cpu + 0.0001)" | bc -l)" \
        "$(sed -n 's/^latency_ms: //p' "$out")"
}
# latency NAME KIND RATE: RATE handshakes a second for RATE_SECONDS (80 %
# of nginx's peak for that kind): the percentiles of a server near its load.
latency() {
    local name=$1 kind=$2 rate=$3 out=$W/$1-$2-latency.out args=()
    [ "$kind" = resumed ] && args=(--resume-ratio 1)
    taskset -c "$LOAD_CPU" "$LOAD" "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --connections 1000 \
        --rate "$rate" --duration "$RATE_SECONDS" "${args[@]}" >"$out" 2>"$out.err"
    printf '%-6s %-8s at %s/s: %s handshakes (%s/s), %s errors, latency_ms %s\n' "$name" "$kind" \
        "$rate" "$(field "$out" handshakes)" "$(field "$out" handshakes_per_s)" "$(field "$out" errors)" \
        "$(sed -n 's/^latency_ms: //p' "$out")"
}
# loaders_sum FIELD FILE...: the sum of FIELD ("open" or "errors") over the
# last progress line of each iotls-load stderr file.
loaders_sum() {
    local field=$1 f t=0 v
    shift
    for f in "$@"; do
        v=$(tail -n 1 "$f" 2>/dev/null | sed -n "s/.*$field \([0-9]*\).*/\1/p")
        t=$((t + ${v:-0}))
    done
    echo $t
}
# idle NAME N: N connections opened (IDLE_RAMP a second, by processes of
# IDLE_PER_LOADER) and held; the server's resident memory before, and 3 s
# after all N are open (or the count stopped growing for 15 s).
idle() {
    local name=$1 n=$2 rss0 rss1 open=0 pid left k=0 loaders=() errs=() each rate
    local nload=$(((n + IDLE_PER_LOADER - 1) / IDLE_PER_LOADER)) last=0 still=0 waited=0
    rss0=$(rss_kb "${SERVER_PIDS[@]}")
    rate=$(((IDLE_RAMP + nload - 1) / nload))
    left=$n
    while [ "$left" -gt 0 ]; do
        each=$((left < IDLE_PER_LOADER ? left : IDLE_PER_LOADER))
        # Starting goes on (replacing failed ones) until stopped below.
        taskset -c "$LOAD_CPU" "$LOAD" "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --connections "$each" \
            --rate "$rate" --duration 3000 --hold 3600 >"$W/$name-idle-$n.$k.out" \
            2>"$W/$name-idle-$n.$k.err" &
        pid=$!
        PIDS+=($pid)
        loaders+=($pid)
        errs+=("$W/$name-idle-$n.$k.err")
        left=$((left - each))
        k=$((k + 1))
    done
    while [ "$waited" -lt 600 ] && [ "$still" -lt 15 ]; do
        sleep 1
        waited=$((waited + 1))
        open=$(loaders_sum open "${errs[@]}")
        [ "$open" -ge "$n" ] && break
        if [ "$open" -gt "$last" ]; then still=0; else still=$((still + 1)); fi
        last=$open
    done
    sleep 3
    open=$(loaders_sum open "${errs[@]}")
    rss1=$(rss_kb "${SERVER_PIDS[@]}")
    printf '%-6s idle %5s asked: %5s open when sampled after %s s (%s errors while opening); RSS %s KiB -> %s KiB: %s KiB per open connection\n' \
        "$name" "$n" "$open" "$((waited + 3))" "$(loaders_sum errors "${errs[@]}")" "$rss0" "$rss1" \
        "$(echo "scale=2; ($rss1 - $rss0) / ($open + 0.0001)" | bc -l)"
    for pid in "${loaders[@]}"; do kill -TERM "$pid" 2>/dev/null; done
    for pid in "${loaders[@]}"; do wait "$pid" 2>/dev/null; done
    sleep 1
}

echo "# $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# iotls server of $BUILD ($(sed -n 's/^IOTLS_CRYPTO:STRING=//p' "$BUILD/CMakeCache.txt") provider), $(nginx -v 2>&1), $(openssl version)"
echo "# server on CPU $SERVER_CPU, iotls-load on CPU $LOAD_CPU; throughput runs: $RATE_CONNECTIONS in flight for $RATE_SECONDS s"
# nginx first: its peak rates set the latency runs' rate (80 %).
declare -A LAT_RATE
for name in nginx iotls; do
    "start_$name"
    listening "$PORT" || { echo "gateway_vs_nginx: $name did not start (see $W)" >&2; exit 1; }
    for kind in full resumed; do
        rate "$name" "$kind"
        [ "$name" = nginx ] && LAT_RATE[$kind]=$(echo "$PEAK * 0.8 / 1" | bc)
    done
    for kind in full resumed; do
        latency "$name" "$kind" "${LAT_RATE[$kind]}"
    done
    stop_server
done
for n in $IDLE_COUNTS; do
    for name in iotls nginx; do
        "start_$name"
        sleep 1
        idle "$name" "$n"
        stop_server
    done
done
