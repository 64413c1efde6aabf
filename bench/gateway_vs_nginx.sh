#!/usr/bin/env bash
# iotls server against nginx (OpenSSL 3, TLS 1.3, http module, tickets on),
# both with the same ECDSA P-256 certificate, driven by the same load
# generator (iotls-load, bench/load.c) over 127.0.0.1. Results:
# docs/measurements/gateway.md.
#
#   bench/gateway_vs_nginx.sh [BUILD_DIR]     (default: build-openssl)
#   QUICK=1 bench/gateway_vs_nginx.sh         (handshakes and latency only,
#                                              5 s runs: about 4 minutes)
#
# BUILD_DIR is a build configured with -DIOTLS_BENCH=ON -DIOTLS_TESTS=ON
# (iotls, iotls-load and the freeport helper; the OpenSSL provider is the
# fair one against nginx, which uses OpenSSL).
#
# How the figures are kept apart from the machine's other jobs (a 2-CPU
# machine shared with builds and tests):
# - one CPU each: the server (nginx: worker_processes 1; iotls server:
#   --workers 1) is pinned to SERVER_CPU, iotls-load to LOAD_CPU (taskset);
# - priority: each of them starts in a session of its own (setsid), whose
#   scheduling group (Linux autogroup) gets the nice value PRIORITY (default
#   -10). With autogroups, which this machine has, a plain `nice` only
#   ranks a process within its own session: against the other jobs'
#   sessions a nice 0 process got about a third of its CPU and the latency
#   runs measured that, not the servers. Needs root for a negative value;
#   PRIORITY= (empty) leaves both at the caller's priority;
# - repeats, interleaved: REPEATS rounds (default 5), each round running
#   both servers one after the other, in alternating order (nginx first in
#   odd rounds), so that a burst of load elsewhere hits both; the summary
#   gives the median over the rounds and the range (min-max);
# - the rate of the latency runs: 80 % of the median of nginx's throughput
#   runs of the same kind (all throughput rounds run before the latency
#   rounds);
# - the load generator: one process on its CPU, the same for both servers;
#   in the throughput and latency runs it verifies the server's chain on
#   its first handshakes and then pins the leaf's key (--verify-once), a
#   sixth less CPU per full handshake, so that it gets nearer to a
#   server's peak (docs/measurements/gateway.md);
# - the machine's load: the load average at the start and end, and for
#   each run the CPU time the two CPUs spent on anything but the server and
#   the load generator ("others"), from /proc/stat; iotls-load prints its
#   own CPU time (cpu_s): near the run's length, the load generator, not
#   the server, was the bottleneck.
#
# Environment:
#   SERVER_CPU / LOAD_CPU   CPUs the server and the load generator are pinned to
#                           (default 1 and 0): the server's "per core" figure
#                           is handshakes per CPU-second it used
#   PRIORITY                nice value of their scheduling groups (default -10)
#   REPEATS                 rounds of throughput and of latency runs (default 5)
#   RATE_SECONDS            length of each throughput and latency run (default
#                           10; QUICK: 5)
#   RATE_CONNECTIONS        handshakes in flight in the throughput runs (default 64)
#   LAT_CONNECTIONS         most connections open in the latency runs (default 1000)
#   IDLE_COUNTS             open connections for the memory runs ("5000 18000";
#                           QUICK: none; empty: none)
#   IDLE_PER_LOADER         connections per iotls-load process in the memory
#                           runs (default 5000: each process needs a descriptor
#                           per connection, 20,000 allowed per process here)
#   IDLE_RAMP               new connections per second in the memory runs, over
#                           all loaders (default 400: on a busy 2-CPU machine
#                           faster ramps made handshakes time out)
# Latency is measured at 80 % of nginx's peak rate (of the throughput runs of
# the same kind), for both servers: p50 / p90 / p99 from the client's
# connect() to its handshake done, as iotls-load sees it.
# Prints one line per measurement, then the summary; the server logs and
# iotls-load summaries stay in the work directory it names.
set -u
BUILD=${1:-build-openssl}
IOTLS=$BUILD/iotls
LOAD=$BUILD/iotls-load
FREEPORT=$BUILD/tests/interop/interop_freeport
SERVER_CPU=${SERVER_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}
PRIORITY=${PRIORITY--10}
REPEATS=${REPEATS:-5}
if [ -n "${QUICK:-}" ]; then
    RATE_SECONDS=${RATE_SECONDS:-5}
    IDLE_COUNTS=${IDLE_COUNTS-}
fi
RATE_SECONDS=${RATE_SECONDS:-10}
RATE_CONNECTIONS=${RATE_CONNECTIONS:-64}
LAT_CONNECTIONS=${LAT_CONNECTIONS:-1000}
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
# busy_ticks: the ticks CPUs SERVER_CPU and LOAD_CPU spent on anything
# (user, nice, system, irq, softirq, steal), from /proc/stat.
busy_ticks() {
    awk -v a="cpu$SERVER_CPU" -v b="cpu$LOAD_CPU" \
        '$1 == a || $1 == b { t += $2 + $3 + $4 + $7 + $8 + $9 } END { print t }' /proc/stat
}

# ON_SERVER_CPU / ON_LOAD_CPU: the prefixes that run a command pinned to
# its CPU, in a session and scheduling group of its own at PRIORITY (see
# the header). Every step execs the next (setsid too: a job of a script,
# not being a process group leader, needs no fork), so the process started
# in the background keeps its PID, which the script waits for and stops. A
# load generator in its own session does not get the terminal's ^C: it
# ends with its run.
PIN='echo "$0" >/proc/self/autogroup 2>/dev/null; exec nice -n "$0" taskset -c "$1" "${@:2}"'
if [ -n "$PRIORITY" ]; then
    ON_SERVER_CPU=(setsid bash -c "$PIN" "$PRIORITY" "$SERVER_CPU")
    ON_LOAD_CPU=(setsid bash -c "$PIN" "$PRIORITY" "$LOAD_CPU")
else
    ON_SERVER_CPU=(taskset -c "$SERVER_CPU")
    ON_LOAD_CPU=(taskset -c "$LOAD_CPU")
fi

# ---- the servers ----
# SERVER_PIDS: the processes whose CPU and memory count (nginx: master + worker).
start_iotls() {
    local port
    port=$("$FREEPORT")
    # --tickets 1: one ticket per handshake, as nginx below (NumTickets 1);
    # --workers 1: one event-loop thread, as nginx's one worker process.
    "${ON_SERVER_CPU[@]}" timeout 3600 "$IOTLS" server --port "$port" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --tickets 1 --workers 1 \
        >"$W/iotls.log" 2>&1 &
    SERVER_WRAPPER=$!
    PIDS+=($!)
    for _ in $(seq 1 100); do listening "$port" && break; sleep 0.05; done
    # The prefix execs timeout(1), which runs the server as its child.
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
    "${ON_SERVER_CPU[@]}" timeout 3600 nginx -p "$W/nginx" -c "$W/nginx/nginx.conf" \
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
# RESULTS: one line per run: phase name kind round, then the figures
# (throughput: handshakes/s, handshakes per CPU-second; latency: p50, p99,
# handshakes/s); the summary takes medians and ranges from it.
RESULTS=$W/results
: >"$RESULTS"
# load_run NAME KIND OUT ARGS...: one iotls-load run on LOAD_CPU, with the
# server's CPU seconds (SRV_CPU) and the other jobs' on the two CPUs
# (OTHERS_CPU) over it.
load_run() {
    local name=$1 kind=$2 out=$3 args=() c0 c1 b0 b1 own
    shift 3
    [ "$kind" = resumed ] && args=(--resume-ratio 1)
    c0=$(cpu_ticks "${SERVER_PIDS[@]}")
    b0=$(busy_ticks)
    # --verify-once: the chain is verified on the first handshakes, later
    # ones pin the leaf's key (the server's CertificateVerify still
    # checked): verifying the chain every time made iotls-load, not the
    # server, the bottleneck of the full-handshake runs.
    "${ON_LOAD_CPU[@]}" "$LOAD" "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --verify-once "$@" "${args[@]}" \
        >"$out" 2>"$out.err"
    b1=$(busy_ticks)
    c1=$(cpu_ticks "${SERVER_PIDS[@]}")
    own=$(field "$out" cpu_s)
    SRV_CPU=$(echo "($c1 - $c0) / $CLK_TCK" | bc -l)
    OTHERS_CPU=$(echo "x = ($b1 - $b0) / $CLK_TCK - $SRV_CPU - ${own:-0}; if (x < 0) x = 0; x" | bc -l)
}
# rate NAME KIND(full|resumed) ROUND: as many handshakes as the server
# takes in RATE_SECONDS (RATE_CONNECTIONS in flight), and the server's CPU
# time.
rate() {
    local name=$1 kind=$2 round=$3 out=$W/$1-$2-rate.$3.out hs per_cpu
    load_run "$name" "$kind" "$out" --connections "$RATE_CONNECTIONS" --rate 20000 \
        --duration "$RATE_SECONDS"
    hs=$(field "$out" "$kind")
    per_cpu=$(echo "$hs / ($SRV_CPU + 0.0001)" | bc -l)
    printf '%-6s %-8s throughput: %s handshakes (%s resumed, %s errors) in %ss = %s/s; server CPU %.2f s = %.0f handshakes per CPU-second; iotls-load CPU %s s, others %.2f s; latency %s\n' \
        "$name" "$kind" "$(field "$out" handshakes)" "$(field "$out" resumed)" "$(field "$out" errors)" \
        "$RATE_SECONDS" "$(field "$out" handshakes_per_s)" "$SRV_CPU" "$per_cpu" \
        "$(field "$out" cpu_s)" "$OTHERS_CPU" "$(sed -n 's/^latency_ms: //p' "$out")"
    echo "rate $name $kind $round $(field "$out" handshakes_per_s) $per_cpu" >>"$RESULTS"
}
# latency NAME KIND RATE ROUND: RATE handshakes a second for RATE_SECONDS
# (80 % of nginx's peak for that kind): the percentiles of a server near
# its load.
latency() {
    local name=$1 kind=$2 rate=$3 round=$4 out=$W/$1-$2-latency.$4.out
    load_run "$name" "$kind" "$out" --connections "$LAT_CONNECTIONS" --rate "$rate" \
        --duration "$RATE_SECONDS"
    printf '%-6s %-8s at %s/s: %s handshakes (%s/s), %s errors, server CPU %.2f s, iotls-load CPU %s s, others %.2f s; latency_ms %s\n' \
        "$name" "$kind" "$rate" "$(field "$out" handshakes)" "$(field "$out" handshakes_per_s)" \
        "$(field "$out" errors)" "$SRV_CPU" "$(field "$out" cpu_s)" "$OTHERS_CPU" \
        "$(sed -n 's/^latency_ms: //p' "$out")"
    echo "latency $name $kind $round $(sed -n 's/^latency_ms: p50 \([0-9.]*\) p90 [0-9.]* p99 \([0-9.]*\).*/\1 \2/p' "$out") $(field "$out" handshakes_per_s)" >>"$RESULTS"
}
# spread PHASE NAME KIND COLUMN: "median (min-max)" of a column of RESULTS
# (5 is the first figure) over the rounds.
spread() {
    awk -v p="$1" -v n="$2" -v k="$3" -v c="$4" '$1 == p && $2 == n && $3 == k { print $c }' \
        "$RESULTS" | sort -g | awk '{ v[NR] = $1 } END {
            if (!NR) { print "-"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.1f (%.1f-%.1f)", m, v[1], v[NR] }'
}
median() { spread "$@" | cut -d' ' -f1; }
# order ROUND: the servers in the order of that round (nginx first in odd ones).
order() { if [ $(($1 % 2)) -eq 1 ]; then echo nginx iotls; else echo iotls nginx; fi; }
start_checked() {
    "start_$1"
    listening "$PORT" || { echo "gateway_vs_nginx: $1 did not start (see $W)" >&2; exit 1; }
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
        "${ON_LOAD_CPU[@]}" "$LOAD" "127.0.0.1:$PORT" --ca "$PKI/ca.pem" --connections "$each" \
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
echo "# server on CPU $SERVER_CPU, iotls-load on CPU $LOAD_CPU, scheduling groups at nice ${PRIORITY:-(unchanged)}; $REPEATS rounds; throughput runs: $RATE_CONNECTIONS in flight for $RATE_SECONDS s"
for round in $(seq 1 "$REPEATS"); do
    for name in $(order "$round"); do
        start_checked "$name"
        for kind in full resumed; do rate "$name" "$kind" "$round"; done
        stop_server
    done
done
# nginx's median peak of each kind sets the latency runs' rate (80 %).
declare -A LAT_RATE
for kind in full resumed; do
    LAT_RATE[$kind]=$(echo "$(median rate nginx "$kind" 5) * 0.8 / 1" | bc)
done
echo "# latency runs: ${LAT_RATE[full]} full / ${LAT_RATE[resumed]} resumed handshakes a second (80 % of nginx's median peak), at most $LAT_CONNECTIONS open, $RATE_SECONDS s; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq 1 "$REPEATS"); do
    for name in $(order "$round"); do
        start_checked "$name"
        for kind in full resumed; do latency "$name" "$kind" "${LAT_RATE[$kind]}" "$round"; done
        stop_server
    done
done
echo "# summary over $REPEATS rounds: median (min-max); load average $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in full resumed; do
    for name in nginx iotls; do
        printf '%-6s %-8s handshakes/s %s; per CPU-second %s; at %s/s: p50 %s ms, p99 %s ms\n' \
            "$name" "$kind" "$(spread rate "$name" "$kind" 5)" "$(spread rate "$name" "$kind" 6)" \
            "${LAT_RATE[$kind]}" "$(spread latency "$name" "$kind" 5)" "$(spread latency "$name" "$kind" 6)"
    done
    printf 'iotls/nginx %-8s per CPU-second %.2fx, p99 %.2fx (medians)\n' "$kind" \
        "$(echo "$(median rate iotls "$kind" 6) / ($(median rate nginx "$kind" 6) + 0.0001)" | bc -l)" \
        "$(echo "$(median latency iotls "$kind" 6) / ($(median latency nginx "$kind" 6) + 0.0001)" | bc -l)"
done
for n in $IDLE_COUNTS; do
    for name in iotls nginx; do
        start_checked "$name"
        sleep 1
        idle "$name" "$n"
        stop_server
    done
done
