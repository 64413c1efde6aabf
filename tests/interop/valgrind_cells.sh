#!/usr/bin/env bash
# Memcheck cells: our client and our server run under
#   valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
#            --errors-for-leak-kinds=definite,indirect
# for a few interop cells, and each must end with zero memcheck errors and
# zero definitely or indirectly lost bytes (a leak of those kinds is an
# error, so exit code 99 means "memcheck found something"):
#
#   valgrind_cells.sh CELL
#     client-openssl   our client (valgrind) against openssl s_server
#     openssl-server   openssl s_client against our server (valgrind)
#     mutual           our client (valgrind, client certificate) against our
#                      server (valgrind, client certificate required)
#     wrong-ca         a failing handshake: our server (valgrind) presents a
#                      leaf from an unrelated CA; our client (valgrind) must
#                      fail with unknown_ca, our server with the alert; the
#                      error paths must not leak either
#
# Registered by valgrind_cells.cmake (label "valgrind"), not in the
# -DIOTLS_SANITIZE=ON build: memcheck cannot run ASan-instrumented binaries.
# Each cell prints "CELL valgrind ...: PASS|FAIL (why)"; on failure the
# memcheck report is printed and the work directory kept.
set -u
. "$(dirname "$0")/lib.sh"

CELL=${1:?usage: valgrind_cells.sh client-openssl|openssl-server|mutual|wrong-ca}
ia_init "valgrind-$CELL"
command -v valgrind >/dev/null || ia_die "valgrind not found: apt-get install valgrind"
# Always our real command, also when IOTLS names a stand-in client
# (IOTLS_INTEROP_CLIENT harness self-check): memcheck is about our code.
BIN=${IA_IOTLS_SERVER:-$IOTLS}
[ -x "$BIN" ] || ia_die "iotls command not found at $BIN (build the iotls_cli target)"
PKI=$IA_PKI
# Memcheck runs programs some 20-50 times slower.
IA_CLIENT_TIMEOUT=150
IA_SERVER_TIMEOUT=200
VG_LOGS=()

# vg TAG: sets VG to the valgrind command line logging to TAG.vg.log.
vg() {
    local log=$IA_WORK/$1.vg.log
    VG=(valgrind --tool=memcheck --error-exitcode=99 --leak-check=full
        --errors-for-leak-kinds=definite,indirect --log-file="$log")
    VG_LOGS+=("$log")
}

# vg_check TAG WHAT: that run's report shows no error and no definite or
# indirect leak (and exists: a run that never started proves nothing).
vg_check() {
    local log=$IA_WORK/$1.vg.log summary
    if [ ! -s "$log" ]; then
        ia_fail "$2: no memcheck report ($log)"
        return
    fi
    summary=$(grep -m1 'ERROR SUMMARY:' "$log" | sed 's/^==[0-9]*== //')
    if [ -z "$summary" ]; then
        ia_fail "$2: memcheck report has no ERROR SUMMARY (killed?)"
    elif ! grep -q 'ERROR SUMMARY: 0 errors' <<<"$summary"; then
        ia_fail "$2: $summary"
    fi
    if grep -qE '(definitely|indirectly) lost: [1-9]' "$log"; then
        ia_fail "$2: $(grep -E '(definitely|indirectly) lost:' "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')"
    fi
}

# exit code of a run under memcheck: 99 is memcheck's own verdict.
vg_rc() {
    local got=$1 want=$2 what=$3
    case $got in
    "$want") ;;
    99) ia_fail "$what: exit code 99 (memcheck found errors or leaks)" ;;
    124 | 137) ia_fail "$what: timed out under valgrind" ;;
    *) ia_fail "$what: exit code $got, want $want" ;;
    esac
}

# Our server (under memcheck), one connection, echo: iotls server --once.
vg_server() {
    local tag=$1 cert=$2 key=$3
    shift 3
    vg "$tag"
    if ! ia_start_server "$tag" -- "${VG[@]}" "$BIN" server --port 0 --ready-file "{READY}" \
        --cert "$cert" --key "$key" --echo --once --timeout 60 "$@" \
        2>"$IA_WORK/$tag.start.err"; then
        ia_fail "iotls server did not start under valgrind: $(tail -n 2 "$IA_WORK/$tag.start.err" | tr '\n' ' ')"
        return 1
    fi
}

# Waits for our --once server and checks its exit code and report.
vg_server_done() {
    local tag=$1 want=$2
    ia_server_wait 90
    vg_rc "$IA_SERVER_RC" "$want" "our server"
    vg_check "$tag" "our server"
}

# Our client (under memcheck): TAG INPUT UNTIL ARGS...
vg_client() {
    local tag=$1 input=$2 until=$3
    shift 3
    vg "$tag"
    IA_CLIENT_CMD=("${VG[@]}" "$BIN" client)
    ia_client "$tag" "$input" "$until" -- "127.0.0.1:$IA_PORT" --servername localhost \
        --timeout 60 -v "$@"
    unset IA_CLIENT_CMD
}

dump_reports() {
    local log
    for log in "${VG_LOGS[@]}"; do
        [ -s "$log" ] || continue
        echo "    --- $(basename "$log") (errors and leak summary):"
        grep -vE '^==[0-9]+== *$' "$log" | sed 's/^==[0-9]*== //' |
            grep -A12 -E '^(Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination|[0-9,]+ (\([0-9,]+ direct, [0-9,]+ indirect\) )?bytes in [0-9,]+ blocks are (definitely|indirectly))|LEAK SUMMARY|ERROR SUMMARY' |
            head -n 60 | cut -c1-200 | sed 's/^/    | /'
    done
}

end_cell() {
    ia_cell_end || dump_reports
}

case $CELL in
client-openssl)
    ia_need_peer openssl
    ia_cell_begin "valgrind our client (memcheck) vs openssl s_server: no errors, no leaks"
    if ia_start_server s1 -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 -tls1_3 \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -rev; then
        printf 'hello memcheck\n' >"$IA_WORK/c1.in"
        vg_client c1 "$IA_WORK/c1.in" "grep:kcehcmem olleh" --ca "$PKI/ca.pem"
        vg_rc "$IA_RC" 0 "our client"
        ia_expect_out_has "kcehcmem olleh"
        vg_check c1 "our client"
        ia_server_stop
    else
        ia_fail "openssl s_server did not start"
    fi
    end_cell
    ;;
openssl-server)
    ia_need_peer openssl
    ia_cell_begin "valgrind openssl s_client vs our server (memcheck): no errors, no leaks"
    if vg_server s1 "$PKI/ecdsa-p256.pem" "$PKI/ecdsa-p256.key"; then
        printf 'hello memcheck server\n' >"$IA_WORK/c1.in"
        IA_CLIENT_CMD=(openssl s_client)
        ia_client c1 "$IA_WORK/c1.in" "grep:hello memcheck server" -- \
            -connect "127.0.0.1:$IA_PORT" -CAfile "$PKI/ca.pem" -servername localhost \
            -verify_return_error -brief -nocommands -tls1_3
        unset IA_CLIENT_CMD
        ia_expect_rc 0
        cmp -s "$IA_OUT" "$IA_WORK/c1.in" || ia_fail "data did not come back"
        vg_server_done s1 0
    fi
    end_cell
    ;;
mutual)
    ia_cell_begin "valgrind our client (memcheck, client cert) vs our server (memcheck, cert required)"
    if vg_server s1 "$PKI/ecdsa-p256.pem" "$PKI/ecdsa-p256.key" --ca "$PKI/ca.pem"; then
        printf 'hello mutual memcheck\n' >"$IA_WORK/c1.in"
        vg_client c1 "$IA_WORK/c1.in" "grep:hello mutual memcheck" --ca "$PKI/ca.pem" \
            --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key"
        vg_rc "$IA_RC" 0 "our client"
        cmp -s "$IA_OUT" "$IA_WORK/c1.in" || ia_fail "data did not come back"
        vg_check c1 "our client"
        vg_server_done s1 0
        grep -qE '^conn [0-9]+ from .*client="[^"]*iotls interop client' "$IA_SERVER_LOG" ||
            ia_fail "our server did not report the verified client"
    fi
    end_cell
    ;;
wrong-ca)
    ia_cell_begin "valgrind failing handshake (server leaf from another CA): unknown_ca, no errors, no leaks"
    if vg_server s1 "$PKI/other-leaf.pem" "$PKI/other-leaf.key"; then
        printf 'must not arrive\n' >"$IA_WORK/c1.in"
        vg_client c1 "$IA_WORK/c1.in" exit --ca "$PKI/ca.pem"
        vg_rc "$IA_RC" 8 "our client" # certificate verification
        grep -qiE '^iotls: .*unknown_ca' "$IA_ERR" || ia_fail "our client's error does not name unknown_ca"
        ! grep -q 'must not arrive' "$IA_OUT" || ia_fail "data arrived"
        vg_check c1 "our client"
        vg_server_done s1 9 # the peer's alert
        grep -qE '^conn [0-9]+ from .*handshake failed: .*unknown_ca' "$IA_SERVER_LOG" ||
            ia_fail "our server did not report the unknown_ca alert"
    fi
    end_cell
    ;;
*) ia_die "unknown cell $CELL" ;;
esac
ia_finish
