#!/bin/sh
# The last step of `make test`: no process the run started may outlive it.
#
# Usage: scripts/sweep.sh ID
#
# `make test` puts IOTLS_TEST_RUN=ID (an id of its own, new each run) in the
# environment of everything it starts; children inherit it, orphans too (a
# peer whose parent died, a process stuck in a sanitizer's exit-time check).
# This finds every process whose environment holds exactly that entry, and
# only those: processes of other runs, other sessions and other users are
# never looked at beyond that (other people's tests run on the same machine;
# their environments are not even readable to us). Each one found is listed,
# sent TERM, given up to 5 s, then KILL; any found makes the exit status 1.
set -eu
ID=${1:?usage: scripts/sweep.sh ID}
case $ID in
*[!A-Za-z0-9._-]*) echo "sweep: bad id '$ID'" >&2; exit 2 ;;
esac
# Neither this script nor its subshells (forks that keep the environment it
# was started with, as /proc shows it) nor its children may carry the id: it
# starts again without it.
if [ -n "${IOTLS_TEST_RUN:-}" ]; then
    exec env -u IOTLS_TEST_RUN sh "$0" "$@"
fi

# ours: the pids whose environment holds IOTLS_TEST_RUN=ID.
ours() {
    grep -l -s -z -x "IOTLS_TEST_RUN=$ID" /proc/[0-9]*/environ 2>/dev/null |
        sed -n 's|^/proc/\([0-9]*\)/environ$|\1|p' || true
}

found=$(ours)
if [ -z "$found" ]; then
    echo "sweep: no process of this run is left"
    exit 0
fi
echo "sweep: FAIL: processes of this run still running after it ended:" >&2
for p in $found; do
    line=$(ps -o pid=,ppid=,etime=,pcpu=,args= -p "$p" 2>/dev/null | cut -c1-200)
    [ -n "$line" ] && echo "    $line" >&2
done
for p in $found; do kill -TERM "$p" 2>/dev/null || true; done
i=0
while [ $i -lt 50 ] && [ -n "$(ours)" ]; do
    sleep 0.1
    i=$((i + 1))
done
left=$(ours)
for p in $left; do kill -KILL "$p" 2>/dev/null || true; done
if [ -n "$left" ]; then
    echo "sweep: killed (KILL, after TERM did not end them in 5 s):" $left >&2
else
    echo "sweep: they ended on TERM" >&2
fi
exit 1
