#!/usr/bin/env bash
# The harness's own process handling (lib.sh: ia_spawn, ia_stop, ia_cell_end,
# the cleanup at exit): nothing a test starts outlives it, and a process
# that does not end on TERM fails the cell (or the script) that started it.
#
#   harness_cells.sh              runs the cells below
#   harness_cells.sh inner CASE   one scenario, run by a cell as a script of
#                                 its own (its output and exit code checked)
#
# Each scenario's processes carry a unique marker in their command line; a
# cell fails when any of them is still alive after the inner script ended.
set -u
# The scenarios give a stopped process 1 s (timeout's KILL comes 5 s later).
[ "${1:-}" = inner ] && IA_STOP_GRACE=1
. "$(dirname "$0")/lib.sh"

# A process that ignores TERM, as one stuck in an exit-time check does
# (LeakSanitizer spinning without ptrace), and a server that ends on TERM.
# Each writes its ready file once its signal handling is in place.
STUBBORN='trap "" TERM; : >"$1"; while :; do sleep 0.1; done'
POLITE=': >"$1"; while :; do sleep 0.1; done'

# ready FILE: waits (up to 5 s) for a spawned process's ready file.
ready() {
    for _ in $(seq 1 100); do [ -e "$1" ] && return 0; sleep 0.05; done
    ia_fail "$1 not written"
}

if [ "${1:-}" = inner ]; then
    mark=$3
    ia_init "harness-inner-$2"
    case $2 in
    cell-stubborn)
        ia_cell_begin "stubborn peer"
        ia_spawn bash -c "$STUBBORN" "$mark" "$IA_WORK/ready"
        ready "$IA_WORK/ready"
        ia_cell_end
        ;;
    cell-polite)
        ia_cell_begin "polite peer left running"
        ia_spawn bash -c "$POLITE" "$mark" "$IA_WORK/ready"
        ready "$IA_WORK/ready"
        ia_cell_end
        ;;
    exit-pipeline)
        # A peer behind a pipeline and timeout --foreground, kept across
        # cells: ended as a whole at exit.
        ia_spawn_held 30 timeout --foreground -k "$IA_KILL_AFTER" 60 bash -c 'cat >/dev/null; sleep 30' "$mark"
        ia_cell_begin "a cell"
        ia_cell_end
        ;;
    exit-stubborn)
        # As the harness starts its peers: timeout(1) TERMs and KILLs too, but
        # its KILL comes after the harness's grace, which sees the hang.
        ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 60 bash -c "$STUBBORN" "$mark" "$IA_WORK/ready"
        ready "$IA_WORK/ready"
        ia_cell_begin "a cell"
        ia_cell_end
        ;;
    esac
    ia_finish
    exit
fi

ia_init harness
MARKS=()

# run_inner CASE: runs the scenario; sets OUT, RC and MARK.
run_inner() {
    MARK="iotls-harness-$$-$1"
    MARKS+=("$MARK")
    OUT=$(bash "$0" inner "$1" "$MARK" 2>&1)
    RC=$?
}

# expect_gone: no process of the scenario is alive (zombies aside).
expect_gone() {
    local left
    left=$(pgrep -a -f -- "$MARK")
    [ -z "$left" ] || ia_fail "still running after the script ended: $left"
}

ia_cell_begin "harness: a peer that ignores TERM fails its cell and is killed"
run_inner cell-stubborn
[ "$RC" = 1 ] || ia_fail "inner script exit code $RC, want 1"
grep -q '^CELL stubborn peer: FAIL (still running 1 s after TERM, killed: pid' <<<"$OUT" ||
    ia_fail "no failed cell naming the killed process: $(head -c 300 <<<"$OUT")"
expect_gone
ia_cell_end

ia_cell_begin "harness: a peer that ends on TERM is stopped at its cell's end"
run_inner cell-polite
[ "$RC" = 0 ] || ia_fail "inner script exit code $RC, want 0: $(head -c 300 <<<"$OUT")"
grep -q '^CELL polite peer left running: PASS' <<<"$OUT" || ia_fail "cell did not pass"
expect_gone
ia_cell_end

ia_cell_begin "harness: a pipeline under timeout --foreground is ended as a whole at exit"
run_inner exit-pipeline
[ "$RC" = 0 ] || ia_fail "inner script exit code $RC, want 0: $(head -c 300 <<<"$OUT")"
expect_gone
ia_cell_end

ia_cell_begin "harness: a process that ignores TERM at exit fails the script and is killed"
run_inner exit-stubborn
[ "$RC" = 1 ] || ia_fail "inner script exit code $RC, want 1"
grep -q 'processes at exit: FAIL (still running 1 s after TERM, killed' <<<"$OUT" ||
    ia_fail "exit-time failure not reported: $(head -c 300 <<<"$OUT")"
expect_gone
ia_cell_end

ia_finish
