# Helpers shared by the feature cells (resume_cells.sh, early_cells.sh,
# psk_cells.sh), sourced after lib.sh and ia_init. Each cell prints
# "CELL ...: PASS|FAIL (why)"; FAILS counts the failures.
W=$IA_WORK
FAILS=0

pass() { echo "CELL $1: PASS"; IA_PASSED=$((IA_PASSED + 1)); }
# fail CELL WHY [FILE...]: the cell failed; the tail of each FILE is shown.
fail() {
    echo "CELL $1: FAIL ($2)"
    IA_FAILED=$((IA_FAILED + 1))
    FAILS=$((FAILS + 1))
    for f in "${@:3}"; do echo "---- $f"; tail -n 25 "$f" 2>/dev/null; done
}

# iotls_server_bg TAG ARGS...: `iotls server ARGS` on a free port (bounded
# by timeout, in a process group of its own that ia_stop ends at exit, see
# lib.sh); sets PORT, fails when it does not listen.
iotls_server_bg() {
    local tag=$1
    shift
    rm -f "$W/$tag.ready"
    ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 60 "$IOTLS" server --port 0 --ready-file "$W/$tag.ready" "$@" \
        >"$W/$tag.log" 2>&1
    for _ in $(seq 1 100); do [ -s "$W/$tag.ready" ] && break; sleep 0.05; done
    PORT=$(cat "$W/$tag.ready" 2>/dev/null)
    [ -n "$PORT" ]
}

# iotls_client_line TAG TARGET ARGS...: one connection sending "hello TAG",
# keeping stdin open a moment so that tickets (and echoes) that follow the
# handshake are read. Output in $W/TAG.out and $W/TAG.err.
iotls_client_line() {
    local tag=$1 target=$2
    shift 2
    (echo "hello $tag"; sleep 0.8) | timeout -k 2 20 "$IOTLS" client "$target" "$@" \
        >"$W/$tag.out" 2>"$W/$tag.err"
}
