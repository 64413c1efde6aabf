#!/bin/sh
# scripts/sweep.sh, the end of `make test`: it finds and ends an orphan that
# carries this run's id, fails the run for it, and leaves alone a process of
# another run and one without an id.
#   sweep_test.sh REPO
set -u
REPO=${1:?usage: sweep_test.sh REPO}
ID=sweeptest-$$-$(date +%s)
OTHER=sweeptest-other-$$
W=$(mktemp -d)
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# An orphan of "our" run: its parent (the subshell) exits at once. It ignores
# TERM, as a process stuck in an exit-time leak check does.
(IOTLS_TEST_RUN=$ID sh -c 'trap "" TERM; echo $$ >"$1"; exec sleep 300' sh "$W/ours.pid" &)
(IOTLS_TEST_RUN=$OTHER sh -c 'echo $$ >"$1"; exec sleep 300' sh "$W/other.pid" &)
(env -u IOTLS_TEST_RUN sh -c 'echo $$ >"$1"; exec sleep 300' sh "$W/none.pid" &)
for _ in $(seq 1 100); do
    [ -s "$W/ours.pid" ] && [ -s "$W/other.pid" ] && [ -s "$W/none.pid" ] && break
    sleep 0.05
done
sleep 0.2 # the exec of sleep
OURS=$(cat "$W/ours.pid") OTHER_PID=$(cat "$W/other.pid") NONE=$(cat "$W/none.pid")
cleanup() { kill -KILL "$OURS" "$OTHER_PID" "$NONE" 2>/dev/null; rm -rf "$W"; }
trap cleanup EXIT

# As make test runs it: with the run's id in its own environment.
IOTLS_TEST_RUN=$ID sh "$REPO/scripts/sweep.sh" "$ID" >"$W/out" 2>&1
rc=$?
cat "$W/out"
[ $rc = 1 ] || fail "sweep exit status $rc with an orphan left, want 1"
grep -q "^ *$OURS " "$W/out" || fail "the orphan $OURS is not listed"
[ "$(grep -c '^    ' "$W/out")" = 1 ] || fail "the sweep lists more than the orphan (itself?)"
grep -q "killed (KILL" "$W/out" || fail "the KILL of the TERM-ignoring orphan is not reported"
sleep 0.2
[ "$(ps -o stat= -p "$OURS" 2>/dev/null | cut -c1)" = "" ] ||
    [ "$(ps -o stat= -p "$OURS" | cut -c1)" = Z ] || fail "the orphan $OURS is still running"
kill -0 "$OTHER_PID" 2>/dev/null || fail "a process of another run ($OTHER_PID) was killed"
kill -0 "$NONE" 2>/dev/null || fail "a process without the id ($NONE) was killed"

IOTLS_TEST_RUN=$ID sh "$REPO/scripts/sweep.sh" "$ID" >"$W/out2" 2>&1
rc=$?
[ $rc = 0 ] || fail "second sweep exit status $rc with nothing left, want 0: $(cat "$W/out2")"

[ $fails = 0 ] && echo "sweep_test: PASS"
[ $fails = 0 ]
