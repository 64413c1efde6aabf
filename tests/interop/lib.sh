# lib.sh: the interop harness, sourced by every tests/interop/*.sh script.
# bash only. See README.md for the overview; in short:
#
#   . "$(dirname "$0")/lib.sh"
#   ia_init my-test                      # work dir, trap that kills every child
#   ia_need_peer openssl                 # FAILS (never skips) when a peer is missing
#   ia_start_server srv -- openssl s_server -accept 127.0.0.1:{PORT} ...
#   ia_client c1 "$input" "grep:hello" -- 127.0.0.1:$IA_PORT --ca "$IA_PKI/ca.pem" -v
#   ia_cell_begin "client openssl-server suite=... group=... cert=..."
#   ia_expect_rc 0; ia_expect_out_has "hello"; ia_expect_suite TLS_AES_128_GCM_SHA256
#   ia_cell_end                          # prints "CELL ...: PASS" or "...: FAIL (why)"
#   ia_finish                            # "N passed, M failed"; exit 1 if any failed
#
# Environment, set by tests/interop/CMakeLists.txt on every test:
#   IOTLS            our command ($<TARGET_FILE:iotls_cli>, so the ASan build uses its own)
#   IA_PKI           the test PKI made by the "pki" fixture (pki.sh)
#   IA_FREEPORT      freeport helper;  IA_WOLFSSL_PEER  wolfssl_peer helper
#   IA_WORKROOT      where per-test work directories go (kept on failure)
# Optional: IA_CLIENT_TIMEOUT / IA_SERVER_TIMEOUT (seconds), IA_KEEP=1 keeps work dirs,
# IA_STOP_GRACE (seconds a stopped process gets between TERM and KILL, 10).
#
# Processes: everything a script starts in the background goes through
# ia_spawn, which makes it the leader of a process group of its own, so that
# ia_stop ends the peer itself and whatever it started (timeout(1)'s child,
# a pipeline), never a wrapper alone: TERM to the leader (then to the rest of
# the group), up to IA_STOP_GRACE seconds, KILL to the group, reap (ia_stop
# says why not TERM to the group at once). A process that needed the KILL (it hung on
# TERM, e.g. in a sanitizer's exit-time check) or survived it fails the cell
# that started it (ia_cell_end stops what the cell started) or, for what a
# script keeps across cells, the script (ia__cleanup at exit).

set -u
IA_CLIENT_TIMEOUT=${IA_CLIENT_TIMEOUT:-20}
IA_SERVER_TIMEOUT=${IA_SERVER_TIMEOUT:-30}
IA_STOP_GRACE=${IA_STOP_GRACE:-10}
# timeout(1)'s KILL for a background peer comes after ours: a peer that hangs
# on our TERM is then seen hanging (and fails its cell), not killed quietly.
IA_KILL_AFTER=$((IA_STOP_GRACE + 5))
IA_PIDS=()
declare -A IA_STOPPED=()
IA_STOP_PROBLEMS=()
IA_CELL_MARK=0
IA_PASSED=0
IA_FAILED=0
IA_FAILED_CELLS=()

ia_die() {
    echo "interop: $*" >&2
    exit 1
}

# ia_init NAME: per-test work directory and cleanup of every child we start.
ia_init() {
    IA_NAME=$1
    : "${IOTLS:?IOTLS must name the iotls command (set by CMake)}"
    : "${IA_PKI:?IA_PKI must name the test PKI directory (set by CMake)}"
    : "${IA_FREEPORT:?IA_FREEPORT must name the freeport helper (set by CMake)}"
    mkdir -p "${IA_WORKROOT:-/tmp}"
    IA_WORK=$(mktemp -d "${IA_WORKROOT:-/tmp}/$IA_NAME.XXXXXX")
    trap ia__cleanup EXIT
    trap 'exit 130' INT TERM
    [ -f "$IA_PKI/ca.pem" ] || ia_die "no test PKI in $IA_PKI (the interop.pki fixture must run first)"
    [ -x "$IOTLS" ] || ia_die "iotls command not found at $IOTLS (build the iotls_cli target)"
}

ia__cleanup() {
    local rc=$? pg pending=()
    trap - EXIT
    for pg in "${IA_PIDS[@]}"; do
        [ -n "${IA_STOPPED[$pg]:-}" ] || pending+=("$pg")
    done
    IA_STOP_PROBLEMS=()
    if [ ${#pending[@]} -gt 0 ] && ! ia_stop "${pending[@]}"; then
        echo "CELL $IA_NAME processes at exit: FAIL ($(printf '%s; ' "${IA_STOP_PROBLEMS[@]}" | sed 's/; $//'))"
        IA_FAILED=$((IA_FAILED + 1))
        rc=1
    fi
    if [ "$IA_FAILED" -eq 0 ] && [ "${IA_KEEP:-0}" != 1 ]; then
        rm -rf "$IA_WORK"
    else
        echo "interop: work files kept in $IA_WORK"
    fi
    exit "$rc"
}

# ia_spawn [--stdin FILE] [--close FD]... CMD ARGS...: runs the program CMD in the
# background as the leader of a new process group (pgid = its pid; it stays
# in our session) and records it for ia_stop and the cleanup at exit. perl
# (perl-base, always there on Debian) makes the group and then becomes CMD:
# no wrapper stays in between. Each --close FD is closed in the child first
# (write ends of the fifos on the peers' stdin: a child holding one would
# never see end of input). CMD's stdin is FILE (/dev/null without --stdin:
# bash gives a background command /dev/null, whatever stdin the function
# call had); stdout and stderr redirections given to ia_spawn apply. Sets
# IA_SPAWNED (the pid, which is also the group id). A timeout(1) in CMD must
# be `timeout --foreground`: plain timeout moves itself to a group of its own
# when it is not the leader, and after passing a signal on it sends SIGCONT to
# its whole group, which can leave an exiting ASan process spinning (ia_stop).
# (Not bash's `set -m`: a command substitution racing with the end of such a
# job can run the script's EXIT trap in the substitution's subshell.)
ia_spawn() {
    local close="" stdin=/dev/null
    while :; do
        case ${1:-} in
        --close) close="$close $2" ;;
        --stdin) stdin=$2 ;;
        *) break ;;
        esac
        shift 2
    done
    [ "${1:-}" = -- ] && shift
    perl -MPOSIX -e 'POSIX::close($_) for split " ", shift;
        POSIX::setpgid(0, 0) or die "setpgid: $!\n";
        exec { $ARGV[0] } @ARGV or die "$ARGV[0]: $!\n"' "$close" "$@" <"$stdin" &
    IA_SPAWNED=$!
    IA_PIDS+=("$IA_SPAWNED")
    # The group exists once the child has called setpgid: until then a
    # signal to the group would reach nobody.
    local stat fields _
    for _ in $(seq 1 250); do
        read -r stat <"/proc/$IA_SPAWNED/stat" 2>/dev/null || break
        read -ra fields <<<"${stat##*) }"
        [ "${fields[2]}" = "$IA_SPAWNED" ] && break
        sleep 0.02
    done
}

# ia_spawn_held SECONDS CMD ARGS...: ia_spawn for CMD with a stdin that stays
# open SECONDS (a peer that would end at end of input serves that long).
ia_spawn_held() {
    local seconds=$1
    shift
    ia_spawn bash -c 'sleep "$0" | "$@"' "$seconds" "$@"
}

# ia__live PGID...: "pid pgid [state cpu% wait-channel] command" for every
# process of these groups that is still running (zombies, whose end only
# waits for a parent's reaping, are not counted). The state says what a
# process that will not end is doing: R at high CPU spins (a sanitizer's
# exit-time check), S names what it waits in.
ia__live() {
    ps -e -o pid=,pgid=,stat=,pcpu=,wchan:20=,args= 2>/dev/null | awk -v groups=" $* " '
        index(groups, " " $2 " ") && $3 !~ /^Z/ {
            line = $1 " " $2 " [" $3 " " $4 "% " $5 "]"
            for (i = 6; i <= NF && i < 14; i++) line = line " " $i
            print line
        }'
}

ia__now_ms() {
    local t=${EPOCHREALTIME/[.,]/}
    echo $((t / 1000))
}

# ia_stop PGID...: ends these groups (ia_spawn's ids): TERM to each leader
# (the peer, or the timeout(1) --foreground that passes it on to the peer
# alone), then, once a leader has ended, TERM to what is left of its group
# (a pipeline's other commands); up to IA_STOP_GRACE seconds for all of them
# to end, KILL to any group still running, then reaps the leaders. Sets
# IA_STOP_RC (the exit status of the last leader reaped). Returns 1, with one
# line per process in IA_STOP_PROBLEMS, when a process needed the KILL or
# outlived it.
# Why not TERM to the whole group at once: an ASan process that is exiting
# runs LeakSanitizer, whose tracer (a child in the same group) stops the
# process with ptrace; a signal to the group kills the tracer, or a SIGCONT
# (plain timeout(1) sends one to its group after passing a signal on)
# cancels the tracer's stop, and the check then spins for ever.
ia_stop() {
    local pg deadline live line
    [ $# -gt 0 ] || return 0
    for pg in "$@"; do kill -TERM "$pg" 2>/dev/null; done
    deadline=$(($(ia__now_ms) + IA_STOP_GRACE * 1000))
    local -A group_termed=()
    while live=$(ia__live "$@") && [ -n "$live" ] && [ "$(ia__now_ms)" -lt $deadline ]; do
        for pg in "$@"; do
            if [ -z "${group_termed[$pg]:-}" ] && ! ia__live "$pg" | grep -q "^$pg "; then
                kill -TERM -- "-$pg" 2>/dev/null
                group_termed[$pg]=1
            fi
        done
        sleep 0.05
    done
    local ok=0
    if [ -n "$live" ]; then
        ok=1
        while read -r line; do
            IA_STOP_PROBLEMS+=("still running ${IA_STOP_GRACE} s after TERM, killed: pid ${line%% *} (${line#* * })")
            # Its threads and children, for the kept work directory.
            {
                ps -L -o tid,stat,pcpu,wchan:32,comm -p "${line%% *}"
                ps -o pid,ppid,pgid,stat,pcpu,wchan:32,args --ppid "${line%% *}"
            } >"$IA_WORK/stuck-${line%% *}.txt" 2>&1
        done <<<"$live"
        for pg in "$@"; do kill -KILL -- "-$pg" 2>/dev/null; done
    fi
    for pg in "$@"; do
        wait "$pg" 2>/dev/null
        IA_STOP_RC=$?
        IA_STOPPED[$pg]=1
    done
    if [ -n "$live" ]; then
        deadline=$((SECONDS + 3))
        while live=$(ia__live "$@") && [ -n "$live" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
        while read -r line; do
            [ -n "$line" ] && IA_STOP_PROBLEMS+=("survived KILL: pid ${line%% *} (${line#* * })")
        done <<<"$live"
    fi
    return $ok
}

# ia__stop_checked PGID...: ia_stop inside a cell; what it reports fails the cell.
ia__stop_checked() {
    IA_STOP_PROBLEMS=()
    ia_stop "$@" && return 0
    local p
    for p in "${IA_STOP_PROBLEMS[@]}"; do ia_fail "$p"; done
    return 1
}

# ia_need_peer openssl|gnutls|wolfssl|tshark: a missing peer is a FAILURE,
# with the Debian package that brings it (scripts/deps.sh test installs them all).
ia_need_peer() {
    case $1 in
    openssl) command -v openssl >/dev/null || ia_die "openssl not found: apt-get install openssl" ;;
    gnutls) command -v gnutls-serv >/dev/null && command -v gnutls-cli >/dev/null ||
        ia_die "gnutls-serv/gnutls-cli not found: apt-get install gnutls-bin" ;;
    wolfssl) [ -x "${IA_WOLFSSL_PEER:-}" ] ||
        ia_die "wolfssl_peer not built (${IA_WOLFSSL_PEER:-unset}): apt-get install libwolfssl-dev, re-run cmake, build" ;;
    tshark) command -v tshark >/dev/null || ia_die "tshark not found: apt-get install tshark" ;;
    *) ia_die "unknown peer $1" ;;
    esac
}

# ia_listening PORT: true when something listens on TCP PORT (IPv4 or IPv6).
ia_listening() {
    local hex
    hex=$(printf ':%04X' "$1")
    awk -v p="$hex" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
        /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# ia_start_server LABEL [--stdin-fifo] -- CMD ARGS...
#   Starts a peer server in the background under timeout(1). In CMD, {PORT}
#   is replaced by a free port (freeport) and {READY} by a file that a server
#   taking --port 0 writes its port into (wolfssl_peer, iotls server). Waits
#   until the port is listening. When the server dies first (a lost bind
#   race), it retries with a new port. Sets IA_PORT, IA_SERVER_PID and
#   IA_SERVER_LOG (stdout+stderr). With --stdin-fifo, the server reads a fifo
#   whose write end is open on fd IA_SERVER_IN_FD (ia_server_send writes it).
ia_start_server() {
    local label=$1 fifo=0 attempt port ready log pid arg deadline
    shift
    if [ "${1:-}" = --stdin-fifo ]; then fifo=1; shift; fi
    [ "${1:-}" = -- ] && shift
    log=$IA_WORK/$label.server.log
    ready=$IA_WORK/$label.ready
    IA_SERVER_LOG=$log
    for attempt in 1 2 3 4 5; do
        port=$("$IA_FREEPORT") || ia_die "freeport failed"
        rm -f "$ready"
        local cmd=()
        for arg in "$@"; do
            arg=${arg//\{PORT\}/$port}
            arg=${arg//\{READY\}/$ready}
            cmd+=("$arg")
        done
        echo "+ ${cmd[*]}" > "$log"
        if [ $fifo = 1 ]; then
            rm -f "$IA_WORK/$label.stdin"
            mkfifo "$IA_WORK/$label.stdin"
            # read-write open never blocks; the server then opens the read end.
            exec {IA_SERVER_IN_FD}<>"$IA_WORK/$label.stdin"
            ia_spawn --stdin "$IA_WORK/$label.stdin" --close "$IA_SERVER_IN_FD" \
                timeout --foreground -k "$IA_KILL_AFTER" "$IA_SERVER_TIMEOUT" "${cmd[@]}" >>"$log" 2>&1
        else
            ia_spawn timeout --foreground -k "$IA_KILL_AFTER" "$IA_SERVER_TIMEOUT" "${cmd[@]}" >>"$log" 2>&1
        fi
        pid=$IA_SPAWNED
        deadline=$((SECONDS + 10))
        while [ $SECONDS -lt $deadline ]; do
            if [[ " $* " == *"{READY}"* ]]; then
                [ -s "$ready" ] && port=$(cat "$ready")
            fi
            if { [[ " $* " != *"{READY}"* ]] || [ -s "$ready" ]; } && ia_listening "$port"; then
                IA_PORT=$port
                IA_SERVER_PID=$pid
                return 0
            fi
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.02
        done
        IA_STOP_PROBLEMS=()
        ia_stop "$pid" || printf 'interop: %s\n' "${IA_STOP_PROBLEMS[@]}" >&2
        [ $fifo = 1 ] && exec {IA_SERVER_IN_FD}>&-
        echo "interop: server $label did not start listening (attempt $attempt):" >&2
        tail -n 5 "$log" | sed 's/^/    /' >&2
    done
    return 1
}

# ia_server_send TEXT: a line to the server's stdin (--stdin-fifo servers).
ia_server_send() {
    printf '%s\n' "$1" >&"$IA_SERVER_IN_FD"
}

# ia_server_stop: ends the current server (if still running); sets IA_SERVER_RC.
ia_server_stop() {
    if [ -n "${IA_SERVER_IN_FD:-}" ]; then
        exec {IA_SERVER_IN_FD}>&-
        IA_SERVER_IN_FD=
    fi
    ia__stop_checked "$IA_SERVER_PID"
    IA_SERVER_RC=$IA_STOP_RC
}

# ia_server_wait [SECONDS]: waits for a one-shot server (s_server -naccept 1,
# wolfssl_peer) to end by itself; sets IA_SERVER_RC (124: had to be killed).
ia_server_wait() {
    local deadline=$((SECONDS + ${1:-5}))
    while kill -0 "$IA_SERVER_PID" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.02; done
    if kill -0 "$IA_SERVER_PID" 2>/dev/null; then
        ia_server_stop
        IA_SERVER_RC=124
    else
        ia__stop_checked "$IA_SERVER_PID"
        IA_SERVER_RC=$IA_STOP_RC
    fi
}

# ia__hold UNTIL RCFILE: keeps a client's stdin open until UNTIL holds, the
# client has exited (RCFILE exists), or IA_CLIENT_TIMEOUT passes. UNTIL:
#   grep:TEXT   the client's stdout contains TEXT
#   size:N      the client's stdout has at least N bytes
#   exit        only the client's own exit (or the timeout) ends it
#   eof         close stdin at once
ia__hold() {
    local until=$1 rcf=$2 deadline=$((SECONDS + IA_CLIENT_TIMEOUT))
    [ "$until" = eof ] && return 0
    while [ ! -e "$rcf" ] && [ $SECONDS -lt $deadline ]; do
        case $until in
        grep:*) grep -qF -- "${until#grep:}" "$IA_OUT" 2>/dev/null && return 0 ;;
        size:*) [ "$(stat -c %s "$IA_OUT" 2>/dev/null || echo 0)" -ge "${until#size:}" ] && return 0 ;;
        esac
        sleep 0.02
    done
}

# ia_client TAG INPUTFILE UNTIL -- ARGS...: runs `$IOTLS client ARGS` in the
# foreground with INPUTFILE on stdin, holding stdin open per UNTIL (above),
# under timeout(1). Sets IA_RC, IA_OUT (stdout file), IA_ERR (stderr file).
# Set IA_CLIENT_CMD (an array) to run another client (a peer's, for the
# server-side cells) instead: ia_client still does the stdin/timeout work.
ia_client() {
    local tag=$1 input=$2 until=$3 rcf
    shift 3
    [ "${1:-}" = -- ] && shift
    IA_OUT=$IA_WORK/$tag.client.out
    IA_ERR=$IA_WORK/$tag.client.err
    rcf=$IA_WORK/$tag.client.rc
    rm -f "$rcf" "$IA_OUT" "$IA_ERR"
    : >"$IA_OUT"
    local cmd=("$IOTLS" client)
    [ -n "${IA_CLIENT_CMD+x}" ] && cmd=("${IA_CLIENT_CMD[@]}")
    echo "+ ${cmd[*]} $*" >"$IA_WORK/$tag.client.cmd"
    {
        cat "$input"
        ia__hold "$until" "$rcf"
    } 2>/dev/null | {
        timeout -k 2 "$IA_CLIENT_TIMEOUT" "${cmd[@]}" "$@" >"$IA_OUT" 2>"$IA_ERR"
        echo $? >"$rcf"
    }
    IA_RC=$(cat "$rcf")
}

# ia_client_bg TAG -- ARGS...: starts the client in the background with a fifo
# on stdin (write end: fd IA_CLIENT_IN_FD, see ia_client_send) for cells that
# interleave both directions. ia_client_close closes stdin and waits (IA_RC).
ia_client_bg() {
    local tag=$1
    shift
    [ "${1:-}" = -- ] && shift
    IA_OUT=$IA_WORK/$tag.client.out
    IA_ERR=$IA_WORK/$tag.client.err
    local fifo=$IA_WORK/$tag.client.stdin
    rm -f "$fifo" "$IA_OUT" "$IA_ERR"
    mkfifo "$fifo"
    : >"$IA_OUT"
    local cmd=("$IOTLS" client)
    [ -n "${IA_CLIENT_CMD+x}" ] && cmd=("${IA_CLIENT_CMD[@]}")
    echo "+ ${cmd[*]} $*" >"$IA_WORK/$tag.client.cmd"
    exec {IA_CLIENT_IN_FD}<>"$fifo"
    # The client must not hold a write end of its own stdin (or of the
    # server's): it would never see end of input.
    ia_spawn --stdin "$fifo" --close "$IA_CLIENT_IN_FD" ${IA_SERVER_IN_FD:+--close "$IA_SERVER_IN_FD"} \
        timeout --foreground -k "$IA_KILL_AFTER" "$IA_CLIENT_TIMEOUT" "${cmd[@]}" "$@" >"$IA_OUT" 2>"$IA_ERR"
    IA_CLIENT_PID=$IA_SPAWNED
}

ia_client_send() {
    printf '%s\n' "$1" >&"$IA_CLIENT_IN_FD"
}

ia_client_close() {
    local deadline=$((SECONDS + ${1:-10}))
    exec {IA_CLIENT_IN_FD}>&-
    while [ -n "$(ia__live "$IA_CLIENT_PID")" ] && [ $SECONDS -lt $deadline ]; do sleep 0.05; done
    ia__stop_checked "$IA_CLIENT_PID"
    IA_RC=$IA_STOP_RC
}

# ia_wait_for FILE TEXT [SECONDS]: true once FILE contains TEXT.
ia_wait_for() {
    local deadline=$((SECONDS + ${3:-10}))
    while [ $SECONDS -lt $deadline ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.02
    done
    return 1
}

# ---------------------------------------------------------------- cells
# A cell is one scenario; it prints exactly one line "CELL <label>: PASS" or
# "CELL <label>: FAIL (<reasons>)", followed on failure by the tails of the
# client's stderr and the server log, indented.

ia_cell_begin() {
    IA_CELL=$1
    IA_CELL_MARK=${#IA_PIDS[@]}
    IA_REASONS=()
    IA_OUT=/dev/null
    IA_ERR=/dev/null
    IA_SERVER_LOG=/dev/null
}

ia_fail() {
    IA_REASONS+=("$*")
}

ia_cell_end() {
    # What the cell started and did not stop ends here, checked like any stop.
    local pg pending=()
    for pg in "${IA_PIDS[@]:$IA_CELL_MARK}"; do
        [ -n "${IA_STOPPED[$pg]:-}" ] || pending+=("$pg")
    done
    [ ${#pending[@]} -eq 0 ] || ia__stop_checked "${pending[@]}"
    if [ ${#IA_REASONS[@]} -eq 0 ]; then
        echo "CELL $IA_CELL: PASS"
        IA_PASSED=$((IA_PASSED + 1))
        return 0
    fi
    local why
    why=$(printf '%s; ' "${IA_REASONS[@]}")
    echo "CELL $IA_CELL: FAIL (${why%; })"
    IA_FAILED=$((IA_FAILED + 1))
    IA_FAILED_CELLS+=("$IA_CELL")
    if [ -s "$IA_ERR" ]; then
        echo "    --- client stderr (last 8 lines):"
        tail -n 8 "$IA_ERR" | cut -c1-300 | sed 's/^/    | /'
    fi
    if [ -s "$IA_SERVER_LOG" ]; then
        echo "    --- server log (last 8 lines):"
        tail -n 8 "$IA_SERVER_LOG" | cut -c1-300 | sed 's/^/    | /'
    fi
    return 1
}

# ia_group_applies GROUP: whether a cell for key-exchange GROUP applies to
# this build. A crypto library configured without some curve (Mbed TLS
# with p256-m has P-256 only) makes iotls refuse it; `iotls version` says
# which groups the build has. Only a leg that builds such a library on
# purpose sets IA_BUILD_GROUPS_ONLY=1 (make test-psa-p256m): there a group
# the build lacks prints "CELL ...: NOT RUN (...)", counted and named at
# the end, and returns 1. Everywhere else every group applies, so that a
# build that lost one fails its cells rather than skipping them.
ia_group_applies() {
    [ "${IA_BUILD_GROUPS_ONLY:-0}" = 1 ] || return 0
    if [ -z "${IA_BUILD_GROUPS+x}" ]; then
        IA_BUILD_GROUPS=$("$IOTLS" version 2>/dev/null | sed -n 's/^groups: *//p')
    fi
    case " $IA_BUILD_GROUPS " in
    *" $1 "*) return 0 ;;
    esac
    echo "CELL $IA_CELL: NOT RUN (this build has no $1: iotls version says groups: ${IA_BUILD_GROUPS:-none})"
    IA_NOT_RUN=$((${IA_NOT_RUN:-0} + 1))
    return 1
}

ia_finish() {
    local f
    echo
    if [ "$IA_FAILED" -ne 0 ]; then
        echo "$IA_NAME: failed cells:"
        for f in "${IA_FAILED_CELLS[@]}"; do echo "  $f"; done
    fi
    echo "$IA_NAME: $IA_PASSED passed, $IA_FAILED failed${IA_NOT_RUN:+, $IA_NOT_RUN not run (groups this build lacks)}"
    [ "$IA_FAILED" -eq 0 ] && [ "$IA_PASSED" -gt 0 ]
}

# ---------------------------------------------------------------- checks
# What our client prints is matched here and only here, so a change of the
# -v format is a change in one place. The client's stdout and stderr both
# count as its "trace" (it may print -v to either).

ia__trace() { cat "$IA_OUT" "$IA_ERR" 2>/dev/null; }

ia_expect_rc() {
    [ "$IA_RC" = "$1" ] || ia_fail "exit code $IA_RC, want $1$([ "$IA_RC" = 124 ] && echo ' (timed out)')"
}

# A failed connection is exit code 1 or one of the iotls command's failure
# causes 3..9 (apps/exit_codes.h): not 0, not usage (2), not a crash, not a
# time-out of the test's own.
ia_expect_fail_rc() {
    case $IA_RC in
    1 | [3-9]) ;;
    0) ia_fail "exit code 0, want a failure" ;;
    124 | 137) ia_fail "timed out instead of failing" ;;
    *) ia_fail "exit code $IA_RC, want a failure (1, 3..9)" ;;
    esac
}

ia_expect_out_has() {
    grep -qF -- "$1" "$IA_OUT" || ia_fail "output lacks '$1'"
}

# ia_expect_trace RE WHAT: an extended regex (case-insensitive) somewhere in the trace.
ia_expect_trace() {
    ia__trace | grep -qiE -- "$1" || ia_fail "trace does not show $2"
}

ia_suite_re() { echo "$1"; }
ia_group_re() {
    case $1 in
    x25519) echo 'x25519' ;;
    secp256r1) echo '(secp256r1|P-256|prime256v1)' ;;
    secp384r1) echo '(secp384r1|P-384)' ;;
    secp521r1) echo '(secp521r1|P-521)' ;;
    *) echo "$1" ;;
    esac
}

ia_expect_suite() {
    ia__trace | grep -qF -- "$1" || ia_fail "trace does not show suite $1"
}

# The group must appear on a line that talks about a group / key exchange.
ia_expect_group() {
    ia__trace | grep -iE '(group|key.?share|kex|key exchange)' | grep -qiE -- "\\b$(ia_group_re "$1")\\b" ||
        ia_fail "trace does not show group $1"
}

ia_expect_hrr() {
    ia_expect_trace 'HelloRetryRequest|hello_retry_request|\bHRR\b' "a HelloRetryRequest"
}

ia_expect_alpn() {
    ia__trace | grep -iE 'alpn' | grep -qE -- "(^|[^a-z0-9/.-])$1([^a-z0-9/.-]|$)" ||
        ia_fail "trace does not show ALPN $1"
}

# ia_expect_tickets N: at least N NewSessionTicket messages in the trace.
ia_expect_tickets() {
    local n
    n=$(ia__trace | grep -ciE 'NewSessionTicket|new_session_ticket|session ticket')
    [ "$n" -ge "$1" ] || ia_fail "trace shows $n NewSessionTicket lines, want >= $1"
}

# ia_expect_error ALERT [TEXT_RE]: exit code 1 and the one error line
# "iotls: ... ALERT ..." on stderr (and TEXT_RE in it, when given).
ia_expect_error() {
    local line
    ia_expect_fail_rc
    line=$(grep -E '^iotls: ' "$IA_ERR" | grep -v -iE 'warning' | tail -n 1)
    if [ -z "$line" ]; then
        ia_fail "no 'iotls: ...' error line on stderr"
        return
    fi
    case $line in
    *"$1"*) ;;
    *) ia_fail "error line '$line' does not name $1" ;;
    esac
    if [ -n "${2:-}" ] && ! grep -qiE -- "$2" <<<"$line"; then
        ia_fail "error line '$line' does not match /$2/"
    fi
}

# ia_expect_server_log TEXT WHAT
ia_expect_server_log() {
    grep -qF -- "$1" "$IA_SERVER_LOG" || ia_fail "server log does not show $2"
}
