#!/usr/bin/env bash
# Command-line behaviour of `iotls client` and `iotls server` that the
# interop matrices do not look at: SPKI pins, --insecure, key logs, the -v
# trace, --get, exit codes and one-line errors; a long-running server that
# serves clients one after another and at once, stops on SIGINT/SIGTERM,
# answers --http, writes --keylog and traces with -v.
#
#   cli_cells.sh client | server
#
# Peers: openssl s_server / s_client (third-party view of the same
# connection: its key log, its alerts), and our own client against our server.
# Every cell prints one "CELL cli <what>: PASS|FAIL (why)" line.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

GROUP=${1:?usage: cli_cells.sh client|server}
ia_init "cli-$GROUP"
ia_need_peer openssl
PKI=$IA_PKI
IA_CLIENT_TIMEOUT=15
N=0
EMPTY=$IA_WORK/empty
: >"$EMPTY"
KEYLOG_LABELS="CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0 EXPORTER_SECRET"
OUR_COMMON=(--ca "$PKI/ca.pem" --servername localhost --timeout 10)

# spki_pin CERTFILE: SHA-256 of the certificate's SubjectPublicKeyInfo (hex).
spki_pin() {
    openssl x509 -in "$1" -pubkey -noout | openssl pkey -pubin -outform DER |
        openssl dgst -sha256 | awk '{print $NF}'
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# started LABEL: after an ia_start_server, fails the cell when it did not start.
started() {
    [ "$1" = 0 ] && return 0
    ia_fail "server did not start: $(tail -n 2 "$IA_WORK/start$N.err" 2>/dev/null | tr '\n' ' ')"
    return 1
}

# ossl_server ARGS...: openssl s_server on the PKI's ecdsa-p256 leaf unless
# ARGS bring a -cert; -rev (echo, lines reversed) unless ARGS bring -www.
ossl_server() {
    N=$((N + 1))
    local a=(openssl s_server -accept "127.0.0.1:{PORT}" -tls1_3)
    [[ " $* " == *" -cert "* ]] || a+=(-cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key")
    [[ " $* " == *" -www "* ]] || a+=(-rev)
    ia_start_server "o$N" -- "${a[@]}" "$@" 2>"$IA_WORK/start$N.err"
    started $?
}

# our_server ARGS...: our long-running server (no --once unless in ARGS).
our_server() {
    N=$((N + 1))
    ia_start_server "s$N" -- "$IOTLS" server --port 0 --ready-file "{READY}" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --timeout 10 "$@" \
        2>"$IA_WORK/start$N.err"
    started $?
}

# our_client TAG TEXT WANT ARGS...: our client with TEXT (a line) on stdin,
# held open until WANT shows on its stdout (or it exits).
our_client() {
    local tag=$1 text=$2 want=$3
    shift 3
    printf '%s\n' "$text" >"$IA_WORK/$tag.in"
    unset IA_CLIENT_CMD
    ia_client "$tag" "$IA_WORK/$tag.in" "grep:$want" -- "$@"
}

# rev_line TEXT: what s_server -rev answers to the line TEXT (without "\n").
rev_line() { printf '%s\n' "$1" | LC_ALL=C rev; }

# expect_stdout_exactly TEXT: the client's stdout is TEXT and a newline, no more.
expect_stdout_exactly() {
    [ "$(cat "$IA_OUT")" = "$1" ] && [ "$(wc -l <"$IA_OUT")" = 1 ] ||
        ia_fail "stdout is not exactly '$1' (got $(wc -c <"$IA_OUT") bytes: $(head -c 80 "$IA_OUT" | tr '\n' ' '))"
}

# error_lines: the client's stderr without the status line ("connected to")
# and the --insecure warning: what is left is the error report.
error_lines() { grep -v -E '^iotls: (connected to |WARNING: )' "$IA_ERR"; }

# expect_one_error RE WHAT: a failure exit code (not 0, no time-out) and
# exactly one error line on stderr, "iotls: ...", matching RE (ERE, -i).
expect_one_error() {
    case $IA_RC in
    0) ia_fail "exit code 0 on failure" ;;
    124 | 137) ia_fail "timed out instead of failing" ;;
    esac
    local n line
    n=$(error_lines | grep -c '')
    line=$(error_lines | head -n 1)
    if [ "$n" != 1 ]; then
        ia_fail "$n error lines on stderr, want exactly 1"
    fi
    [[ $line == "iotls: "* ]] || ia_fail "error line '$line' does not start with 'iotls: '"
    grep -qiE -- "$1" <<<"$line" || ia_fail "error line '$line' does not name $2"
}

# keylog_check FILE: the five TLS 1.3 labels, well formed, all with one
# client random; sets KL_RANDOM to that random.
keylog_check() {
    local f=$1 label randoms
    KL_RANDOM=
    if [ ! -s "$f" ]; then
        ia_fail "key log $(basename "$f") is missing or empty"
        return 1
    fi
    for label in $KEYLOG_LABELS; do
        grep -qE "^$label [0-9a-f]{64} [0-9a-f]{64}([0-9a-f]{32})?$" "$f" ||
            ia_fail "key log $(basename "$f") lacks a well-formed $label line"
    done
    randoms=$(grep -vE '^#' "$f" | awk '{print $2}' | sort -u)
    [ "$(grep -c '' <<<"$randoms")" = 1 ] ||
        ia_fail "key log $(basename "$f") has $(grep -c '' <<<"$randoms") client randoms, want 1"
    KL_RANDOM=$(head -n 1 <<<"$randoms")
}

# keylog_same OURS THEIRS: every line of our key log is in the peer's, and
# the peer has nothing for that client random that we lack (same secrets).
keylog_same() {
    local ours=$1 theirs=$2 random line label missing=0
    keylog_check "$ours" || return
    random=$KL_RANDOM
    grep -q " $random " "$theirs" 2>/dev/null ||
        { ia_fail "client random $random (ours) not in the peer's key log: not the same connection"; return; }
    while read -r line; do
        [ -z "$line" ] && continue
        grep -qxF -- "$line" "$theirs" || { missing=$((missing + 1)); label=${line%% *}; }
    done < <(grep -vE '^#' "$ours")
    [ $missing = 0 ] || ia_fail "$missing key log lines differ from the peer's (e.g. $label)"
    for label in $KEYLOG_LABELS; do
        grep -q "^$label $random " "$theirs" && ! grep -q "^$label $random " "$ours" &&
            ia_fail "peer logged $label, we did not"
    done
}

expect_mode_600() {
    local m
    m=$(stat -c %a "$1" 2>/dev/null)
    [ "$m" = 600 ] || ia_fail "key log $(basename "$1") has mode $m, want 600 (it holds secrets)"
}

# child_of PID: the process that timeout(1) (PID) runs.
child_of() { ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' | head -n 1; }

# ---------------------------------------------------------------- client
client_cells() {
    local pin pin_rsa wrong t0 el

    pin=$(spki_pin "$PKI/ecdsa-p256.pem")
    pin_rsa=$(spki_pin "$PKI/rsa2048.pem")
    wrong=$(printf '%064d' 0)
    [[ $pin =~ ^[0-9a-f]{64}$ ]] || ia_die "cannot compute the SPKI pin with openssl ($pin)"

    ia_cell_begin "cli client --pin right SPKI pin (with --ca): connects"
    if ossl_server -naccept 1; then
        our_client pin1 "pinned key ok" "$(rev_line "pinned key ok")" 127.0.0.1:$IA_PORT \
            "${OUR_COMMON[@]}" --pin "$pin"
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line "pinned key ok")"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client --ca bundle holding an Ed25519 root and the usable CA: connects, one line says 1 skipped"
    if openssl genpkey -algorithm ed25519 -out "$IA_WORK/ed.key" 2>/dev/null &&
        openssl req -x509 -new -key "$IA_WORK/ed.key" -subj /CN=ed25519-root -days 2 \
            -addext basicConstraints=critical,CA:TRUE -out "$IA_WORK/ed.pem" 2>/dev/null; then
        cat "$IA_WORK/ed.pem" "$PKI/ca.pem" >"$IA_WORK/ed_bundle.pem"
        if ossl_server -naccept 1; then
            our_client edca "bundle ok" "$(rev_line "bundle ok")" 127.0.0.1:$IA_PORT \
                --ca "$IA_WORK/ed_bundle.pem" --servername localhost --timeout 10
            ia_expect_rc 0
            expect_stdout_exactly "$(rev_line "bundle ok")"
            [ "$(grep -c 'skipped' "$IA_ERR")" = 1 ] && grep -q ': 1 certificates skipped' "$IA_ERR" ||
                ia_fail "stderr does not say once that 1 certificate was skipped: $(head -c 300 "$IA_ERR")"
            ia_server_stop
        fi
    else
        ia_fail "openssl cannot make an Ed25519 certificate"
    fi
    ia_cell_end

    ia_cell_begin "cli client --pin wrong pin: bad_certificate alert, error names the pin"
    if ossl_server -naccept 1; then
        our_client pin2 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --pin "$wrong"
        expect_one_error 'bad_certificate.*pin' "bad_certificate and the pin"
        [ -s "$IA_OUT" ] && ia_fail "data came back"
        ia_server_wait 5
        grep -qiE 'alert bad certificate|bad_certificate' "$IA_SERVER_LOG" ||
            ia_fail "s_server did not receive a bad_certificate alert"
    fi
    ia_cell_end

    ia_cell_begin "cli client --pin twice (wrong, then the right one): connects"
    if ossl_server -naccept 1; then
        our_client pin3 "either pin" "$(rev_line "either pin")" 127.0.0.1:$IA_PORT \
            "${OUR_COMMON[@]}" --pin "$wrong" --pin "$pin"
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line "either pin")"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client --pin of another key (rsa2048's) against the ecdsa-p256 server: bad_certificate"
    if ossl_server -naccept 1; then
        our_client pin4 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --pin "$pin_rsa"
        expect_one_error 'bad_certificate.*pin' "bad_certificate and the pin"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client --pin right --insecure, no CA, unknown-CA server: connects"
    if ossl_server -naccept 1 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        pin=$(spki_pin "$PKI/other-leaf.pem")
        our_client pin5 "pin without CA" "$(rev_line "pin without CA")" 127.0.0.1:$IA_PORT \
            --insecure --pin "$pin" --timeout 10
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line "pin without CA")"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client --pin wrong --insecure, no CA: bad_certificate, no data"
    if ossl_server -naccept 1 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        our_client pin6 "must not arrive" "never" 127.0.0.1:$IA_PORT --insecure --pin "$wrong" \
            --timeout 10
        expect_one_error 'bad_certificate.*pin' "bad_certificate and the pin"
        [ -s "$IA_OUT" ] && ia_fail "data came back"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client malformed --pin: usage error, one line, no connection"
    our_client pin7 "x" "never" 127.0.0.1:9 --insecure --pin 12zz
    expect_one_error -- '--pin' "the --pin option"
    ia_cell_end

    # --insecure: the server's leaf is from other-ca, which the client does
    # not know; two connections must print two warnings, and without
    # --insecure the same server must be refused (it really is unknown).
    ia_cell_begin "cli client --insecure, unknown-CA server, 2 connections: both connect, one warning each"
    if ossl_server -naccept 3 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        local i total=0
        for i in 1 2; do
            our_client ins$i "insecure $i" "$(rev_line "insecure $i")" 127.0.0.1:$IA_PORT \
                --ca "$PKI/ca.pem" --insecure --timeout 10
            ia_expect_rc 0
            expect_stdout_exactly "$(rev_line "insecure $i")"
            n=$(grep -ciE '^iotls: WARNING: .*(verif|insecure)' "$IA_ERR")
            [ "$n" = 1 ] || ia_fail "connection $i: $n warning lines on stderr, want 1"
            total=$((total + n))
        done
        [ $total = 2 ] || ia_fail "$total warnings for 2 connections"
        our_client ins3 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        expect_one_error 'unknown_ca' "unknown_ca (the same server without --insecure)"
        grep -qi warning "$IA_ERR" && ia_fail "warning printed without --insecure"
        ia_server_stop
    fi
    ia_cell_end

    # Key logs: the client random and all secrets must equal what s_server
    # logged for the same connection.
    ia_cell_begin "cli client SSLKEYLOGFILE: same client random and secrets as s_server -keylogfile"
    if ossl_server -naccept 1 -www -keylogfile "$IA_WORK/kl1.server"; then
        SSLKEYLOGFILE=$IA_WORK/kl1.client ia_client kl1 "$EMPTY" exit -- 127.0.0.1:$IA_PORT \
            "${OUR_COMMON[@]}" --get /
        ia_expect_rc 0
        ia_server_wait 5
        keylog_same "$IA_WORK/kl1.client" "$IA_WORK/kl1.server"
        expect_mode_600 "$IA_WORK/kl1.client"
    fi
    ia_cell_end

    ia_cell_begin "cli client --keylog FILE: 2 connections appended, secrets as s_server's; wins over SSLKEYLOGFILE"
    if ossl_server -naccept 2 -www -keylogfile "$IA_WORK/kl2.server"; then
        for i in 1 2; do
            SSLKEYLOGFILE=$IA_WORK/kl2.env ia_client kl2-$i "$EMPTY" exit -- 127.0.0.1:$IA_PORT \
                "${OUR_COMMON[@]}" --keylog "$IA_WORK/kl2.client" --get /
            ia_expect_rc 0
            [ $i = 1 ] && cp "$IA_WORK/kl2.client" "$IA_WORK/kl2.first"
        done
        ia_server_wait 5
        keylog_same "$IA_WORK/kl2.first" "$IA_WORK/kl2.server"
        grep -vxF -f "$IA_WORK/kl2.first" "$IA_WORK/kl2.client" >"$IA_WORK/kl2.second"
        keylog_same "$IA_WORK/kl2.second" "$IA_WORK/kl2.server"
        grep -qxF -f "$IA_WORK/kl2.first" "$IA_WORK/kl2.client" ||
            ia_fail "the first connection's lines were not kept (file not appended)"
        [ -e "$IA_WORK/kl2.env" ] && ia_fail "SSLKEYLOGFILE written although --keylog was given"
        expect_mode_600 "$IA_WORK/kl2.client"
    fi
    ia_cell_end

    # -v: every item the trace promises, against a server that sends a chain.
    ia_cell_begin "cli client -v: version, suite, group, signature, chain, round trips, bytes, time per step"
    if ossl_server -naccept 1 -cert "$PKI/chain-leaf.pem" -key "$PKI/chain-leaf.key" \
        -cert_chain "$PKI/int.pem" -ciphersuites TLS_AES_256_GCM_SHA384 -groups P-256; then
        our_client v1 "trace me" "$(rev_line "trace me")" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --groups secp256r1,x25519 -v
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line "trace me")"
        ia_expect_trace 'version.*TLS ?v?1\.3' "the version TLSv1.3"
        ia_expect_suite TLS_AES_256_GCM_SHA384
        ia_expect_group secp256r1
        ia_expect_trace 'signature.*ecdsa_secp256r1_sha256' "the signature scheme ecdsa_secp256r1_sha256"
        ia_expect_trace 'subject.*CN ?= ?localhost' "the leaf's subject"
        ia_expect_trace 'issuer.*CN ?= ?iotls interop intermediate CA' "the leaf's issuer"
        ia_expect_trace 'subject.*CN ?= ?iotls interop intermediate CA' "the intermediate's subject"
        ia_expect_trace 'issuer.*CN ?= ?iotls interop root CA' "the intermediate's issuer"
        # Each certificate's validity, names and pin (hex and sha256//), as --show-certs.
        [ "$(grep -cE 'valid: +[0-9-]+ [0-9:]+ UTC to [0-9-]+ [0-9:]+ UTC' "$IA_ERR")" = 2 ] ||
            ia_fail "-v does not print two validity lines"
        ia_expect_trace 'names: +DNS:localhost' "the leaf's names"
        for c in chain-leaf int; do
            grep -qE "^ +$(spki_pin "$PKI/$c.pem")$" "$IA_ERR" || ia_fail "-v does not print $c's hex pin"
        done
        [ "$(grep -cE 'pin: +sha256//[A-Za-z0-9+/]{43}=$' "$IA_ERR")" = 2 ] ||
            ia_fail "-v does not print two sha256// pins"
        ia_expect_trace '\b1 round trip\b' "1 round trip"
        ia_expect_trace 'bytes.*\b[1-9][0-9]* sent.*\b[1-9][0-9]* received' "bytes sent and received"
        for m in ClientHello ServerHello EncryptedExtensions Certificate CertificateVerify Finished; do
            ia_expect_trace "[0-9]+(\.[0-9]+)? ?ms.*\b$m\b" "the time of $m"
        done
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client -v after HelloRetryRequest: 2 round trips, group secp384r1"
    if ossl_server -naccept 1 -groups P-384; then
        our_client v2 "hrr" "$(rev_line hrr)" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --groups x25519,secp384r1 -v
        ia_expect_rc 0
        ia_expect_hrr
        ia_expect_group secp384r1
        ia_expect_trace '\b2 round trips\b' "2 round trips"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client --get / against s_server -www: HTTP response on stdout, exit 0"
    if ossl_server -naccept 1 -www; then
        ia_client get1 "$EMPTY" exit -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --get /
        ia_expect_rc 0
        head -n 1 "$IA_OUT" | grep -qE '^HTTP/1\.[01] 200' || ia_fail "stdout does not start with an HTTP 200 status line"
        grep -qi 'Cipher is TLS_AES' "$IA_OUT" || ia_fail "stdout lacks s_server's page"
        grep -qi '</html>' "$IA_OUT" || ia_fail "the page is cut short (no </HTML>)"
        [ "$(error_lines | grep -c '')" = 0 ] || ia_fail "error lines on stderr: $(error_lines | head -n 1)"
        ia_server_wait 5
    fi
    ia_cell_end

    ia_cell_begin "cli client --get / to a closed port: non-zero exit, one error line"
    local port
    port=$("$IA_FREEPORT")
    ia_client get2 "$EMPTY" exit -- 127.0.0.1:$port "${OUR_COMMON[@]}" --get /
    ia_expect_rc 5
    expect_one_error 'refused' "the refused connection"
    [ -s "$IA_OUT" ] && ia_fail "something on stdout"
    ia_cell_end

    ia_cell_begin "cli client error: unknown CA: exit 8 (verification), one line naming unknown_ca and the reason"
    if ossl_server -naccept 1 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        our_client err1 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 8
        expect_one_error 'unknown_ca \(.*[a-z].*\)' "unknown_ca and a reason in parentheses"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client error: server demands a certificate, none given: exit 9 (peer alert), one line naming certificate_required"
    if ossl_server -naccept 1 -Verify 1 -CAfile "$PKI/ca.pem"; then
        our_client err2 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 9
        expect_one_error 'certificate_required' "the peer's alert certificate_required"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client error: handshake timeout (server stalls): exit 6 in time, one line 'timed out'"
    if ossl_server -naccept 1; then
        local spid
        spid=$(child_of "$IA_SERVER_PID")
        kill -STOP "$spid" 2>/dev/null
        t0=$(now_ms)
        ia_client err3 "$EMPTY" exit -- 127.0.0.1:$IA_PORT --ca "$PKI/ca.pem" --servername localhost \
            --timeout 1
        el=$(($(now_ms) - t0))
        kill -CONT "$spid" 2>/dev/null
        ia_expect_rc 6
        expect_one_error 'timed out' "the time-out"
        [ $el -le 4000 ] || ia_fail "took $el ms with --timeout 1"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli client error: server dies without close_notify: exit 5 (connection cut), one line, data kept"
    N=$((N + 1))
    ia_start_server "o$N" --stdin-fifo -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 \
        -tls1_3 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -quiet 2>"$IA_WORK/start$N.err"
    if started $?; then
        ia_client_bg trunc -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_wait_for "$IA_ERR" "connected to" 10 || ia_fail "client did not connect"
        ia_server_send "before the end"
        ia_wait_for "$IA_OUT" "before the end" 10 || ia_fail "the server's line did not arrive"
        kill -KILL "$(child_of "$IA_SERVER_PID")" 2>/dev/null
        # stdin stays open: the client must end by itself on the truncation.
        t0=$SECONDS
        while kill -0 "$IA_CLIENT_PID" 2>/dev/null && [ $((SECONDS - t0)) -lt 8 ]; do sleep 0.02; done
        ia_client_close 2
        ia_expect_rc 5
        expect_one_error 'close_notify|truncat' "the missing close_notify"
        ia_server_stop
    fi
    ia_cell_end
    exit_code_cells
    detail_cells
    key_file_cells
    convention_cells
}

# Conventions a user of curl and openssl s_client expects.
convention_cells() {
    local pin

    ia_cell_begin "cli conventions: 'iotls help client' and 'iotls client --help' print the client's help"
    "$IOTLS" help client >"$IA_WORK/h1.out" 2>&1 || ia_fail "iotls help client: exit code $?"
    "$IOTLS" client --help >"$IA_WORK/h2.out" 2>&1 || ia_fail "iotls client --help: exit code $?"
    grep -q '^usage: iotls client' "$IA_WORK/h1.out" || ia_fail "iotls help client does not print the client's usage"
    cmp -s "$IA_WORK/h1.out" "$IA_WORK/h2.out" || ia_fail "the two help texts differ"
    ia_cell_end

    ia_cell_begin "cli conventions: unknown option: one line with a hint, exit 2"
    ia_client u1 "$EMPTY" exit -- 127.0.0.1:9 --no-such-option
    ia_expect_rc 2
    [ "$(grep -c '' "$IA_ERR")" = 1 ] || ia_fail "$(grep -c '' "$IA_ERR") lines on stderr, want 1"
    grep -q -- "--no-such-option.*iotls client --help" "$IA_ERR" || ia_fail "no hint to --help: $(head -c 200 "$IA_ERR")"
    "$IOTLS" server --port 0 --no-such-option >/dev/null 2>"$IA_WORK/u2.err"
    [ "$(grep -c '' "$IA_WORK/u2.err")" = 1 ] || ia_fail "server: $(grep -c '' "$IA_WORK/u2.err") lines on stderr, want 1"
    grep -q -- "--no-such-option.*iotls server --help" "$IA_WORK/u2.err" ||
        ia_fail "server: no hint to --help: $(head -c 200 "$IA_WORK/u2.err")"
    ia_cell_end

    ia_cell_begin "cli conventions: -k and --cacert: aliases of --insecure (warning included) and --ca"
    if ossl_server -naccept 2 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        our_client a1 "alias k" "$(rev_line "alias k")" 127.0.0.1:$IA_PORT -k --timeout 10
        ia_expect_rc 0
        grep -qiE '^iotls: WARNING: .*(verif|insecure)' "$IA_ERR" || ia_fail "-k printed no warning"
        our_client a2 "must not arrive" "never" 127.0.0.1:$IA_PORT --cacert "$PKI/ca.pem" \
            --servername localhost --timeout 10
        ia_expect_rc 8 # --cacert took the CA: the unknown CA is refused
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli conventions: --ciphers error lists the valid names"
    ia_client c1 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --ciphers TLS_RC4
    ia_expect_rc 3
    expect_one_error "TLS_AES_128_GCM_SHA256.*TLS_CHACHA20_POLY1305_SHA256" "the valid names"
    ia_cell_end

    ia_cell_begin "cli conventions: --pin without --ca: no system store needed, connects"
    pin=$(spki_pin "$PKI/other-leaf.pem")
    if ossl_server -naccept 1 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        our_client p1 "pin only" "$(rev_line "pin only")" 127.0.0.1:$IA_PORT --pin "$pin" --timeout 10
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line "pin only")"
        grep -qi warning "$IA_ERR" && ia_fail "a warning without --insecure"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli conventions: --show-certs prints each certificate (subject, issuer, validity, names, pin); its sha256// pin works with --pin"
    if ossl_server -naccept 2 -cert "$PKI/chain-leaf.pem" -key "$PKI/chain-leaf.key" -cert_chain "$PKI/int.pem"; then
        our_client sc1 "show" "$(rev_line show)" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --show-certs
        ia_expect_rc 0
        local b64
        b64=$(grep -m1 -oE 'pin: +sha256//[A-Za-z0-9+/=]+' "$IA_ERR" | sed 's/.*sha256/sha256/')
        grep -qE "^ +$(spki_pin "$PKI/chain-leaf.pem")$" "$IA_ERR" || ia_fail "the leaf's hex pin is not printed"
        grep -qE "^ +$(spki_pin "$PKI/int.pem")$" "$IA_ERR" || ia_fail "the intermediate's hex pin is not printed"
        [ "$(grep -cE 'valid: +[0-9-]+ [0-9:]+ UTC to [0-9-]+ [0-9:]+ UTC' "$IA_ERR")" = 2 ] ||
            ia_fail "not two validity lines"
        grep -qE 'names: +DNS:localhost' "$IA_ERR" || ia_fail "the leaf's names are not printed"
        grep -qE 'issuer: +.*intermediate CA' "$IA_ERR" || ia_fail "the leaf's issuer is not printed"
        [ -n "$b64" ] || ia_fail "no sha256// pin printed"
        our_client sc2 "pinned" "$(rev_line pinned)" 127.0.0.1:$IA_PORT --pin "$b64" --timeout 10
        ia_expect_rc 0
        expect_stdout_exactly "$(rev_line pinned)"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli conventions: --timeout takes seconds with fractions: 0.5 against a stalled server ends in time, exit 6"
    if ossl_server -naccept 1; then
        local spid t0 el
        spid=$(child_of "$IA_SERVER_PID")
        kill -STOP "$spid" 2>/dev/null
        t0=$(now_ms)
        ia_client to1 "$EMPTY" exit -- 127.0.0.1:$IA_PORT --ca "$PKI/ca.pem" --servername localhost \
            --timeout 0.5 --connect-timeout 5
        el=$(($(now_ms) - t0))
        kill -CONT "$spid" 2>/dev/null
        ia_expect_rc 6
        [ $el -ge 400 ] && [ $el -le 2500 ] || ia_fail "took $el ms with --timeout 0.5"
        ia_server_stop
    fi
    ia_cell_end

    # A port whose accept queue is full (freeport --full): the TCP connect
    # hangs, so only the connect's own timeout can end it.
    ia_cell_begin "cli conventions: --connect-timeout bounds the TCP connect alone: 0.5 ends a hanging connect (--timeout 10); --timeout 0.3 does not cut a connect given 2 s"
    local full_port
    ia_spawn -- "$IA_FREEPORT" --full >"$IA_WORK/full.port" 2>"$IA_WORK/full.err"
    local full_pid=$IA_SPAWNED
    t0=$SECONDS
    while [ ! -s "$IA_WORK/full.port" ] && [ $((SECONDS - t0)) -lt 5 ]; do sleep 0.05; done
    full_port=$(head -n 1 "$IA_WORK/full.port")
    [ -n "$full_port" ] || ia_fail "freeport --full printed no port: $(head -c 200 "$IA_WORK/full.err")"
    if [ -n "$full_port" ]; then
        t0=$(now_ms)
        ia_client ct1 "$EMPTY" exit -- 127.0.0.1:$full_port --ca "$PKI/ca.pem" --servername localhost \
            --connect-timeout 0.5 --timeout 10
        el=$(($(now_ms) - t0))
        ia_expect_rc 6
        expect_one_error 'connect failed: timed out' "the connect's time-out"
        [ $el -ge 400 ] && [ $el -le 2500 ] || ia_fail "took $el ms with --connect-timeout 0.5"
        t0=$(now_ms)
        ia_client ct2 "$EMPTY" exit -- 127.0.0.1:$full_port --ca "$PKI/ca.pem" --servername localhost \
            --connect-timeout 2 --timeout 0.3
        el=$(($(now_ms) - t0))
        ia_expect_rc 6
        [ $el -ge 1800 ] && [ $el -le 4500 ] || ia_fail "took $el ms with --connect-timeout 2 --timeout 0.3"
    fi
    ia__stop_checked "$full_pid"
    ia_cell_end

    ia_cell_begin "cli conventions: --timeout and --connect-timeout refuse what is not seconds"
    for bad in abc -1 1e9 0x10 nan; do
        ia_client to2 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --connect-timeout "$bad"
        ia_expect_rc 2
        ia_client to3 "$EMPTY" exit -- 127.0.0.1:9 --ca "$PKI/ca.pem" --timeout "$bad"
        ia_expect_rc 2
    done
    ia_cell_end

    ia_cell_begin "cli conventions: --json: the summary is one JSON object (jq parses it) with what was negotiated"
    command -v jq >/dev/null || ia_die "jq is missing (scripts/deps.sh installs it)"
    if ossl_server -naccept 1 -ciphersuites TLS_AES_256_GCM_SHA384; then
        our_client j1 "json" "$(rev_line json)" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --json
        ia_expect_rc 0
        [ "$(grep -c '^{' "$IA_ERR")" = 1 ] || ia_fail "not one JSON line on stderr"
        grep -q 'connected to' "$IA_ERR" && ia_fail "the text status line was printed too"
        grep '^{' "$IA_ERR" | jq -e '.cipher_suite == "TLS_AES_256_GCM_SHA384" and .version == "TLSv1.3"
            and .peer_auth == "name" and .peer_verified == true and .resumed == false
            and (.peer_subject | test("CN ?= ?localhost"))' >/dev/null ||
            ia_fail "the JSON does not say what was negotiated: $(grep '^{' "$IA_ERR" | head -c 300)"
        grep '^{' "$IA_ERR" | jq -e --arg pin "$(spki_pin "$PKI/ecdsa-p256.pem")" '.peer_spki_sha256 == $pin' >/dev/null ||
            ia_fail "the JSON's peer_spki_sha256 is not the server key's"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli conventions: server --echo --http together: usage error"
    "$IOTLS" server --port 0 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --echo --http \
        >/dev/null 2>"$IA_WORK/eh.err"
    IA_RC=$?
    ia_expect_rc 2
    grep -q -- '--echo and --http' "$IA_WORK/eh.err" || ia_fail "the error does not name both options"
    ia_cell_end

    ia_cell_begin "cli conventions: --early-data without --sess-in: usage error"
    ia_client e1 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --early-data "$EMPTY"
    ia_expect_rc 2
    grep -q -- '--early-data needs --sess-in' "$IA_ERR" || ia_fail "the error does not name the missing --sess-in"
    ia_cell_end

    ia_cell_begin "cli conventions: iotls server sends tickets by default; --sess-out is mode 0600; resumption says 'resumed: yes, ticket'"
    if our_server; then
        (umask 022 && : >"$IA_WORK/t1.sess" && chmod 644 "$IA_WORK/t1.sess")
        our_client t1 "ticket" "ticket" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --sess-out "$IA_WORK/t1.sess"
        ia_expect_rc 0
        [ -s "$IA_WORK/t1.sess" ] || ia_fail "no ticket saved from a server started without --tickets"
        expect_mode_600 "$IA_WORK/t1.sess"
        our_client t2 "again" "again" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --sess-in "$IA_WORK/t1.sess" -v
        ia_expect_rc 0
        grep -qE 'resumed: +yes, ticket' "$IA_ERR" || ia_fail "the summary does not say 'resumed: yes, ticket'"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli conventions: --tickets 0: no ticket, and the client says so"
    if our_server --tickets 0; then
        our_client t3 "no ticket" "no ticket" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --sess-out "$IA_WORK/t3.sess"
        ia_expect_rc 0
        [ -e "$IA_WORK/t3.sess" ] && ia_fail "a session file was written"
        grep -q 'no session ticket arrived' "$IA_ERR" || ia_fail "the client does not say that no ticket arrived"
        ia_server_stop
    fi
    ia_cell_end
}

# Loading our certificate and key: which file, and which cause.
key_file_cells() {
    local w=$IA_WORK/keys
    mkdir -p "$w"
    echo "not a key" >"$w/junk.pem"
    openssl ec -in "$PKI/client-ecdsa.key" -aes128 -passout pass:s3cret -out "$w/enc.key" 2>/dev/null ||
        ia_die "openssl cannot encrypt a key"
    printf 's3cret\n' >"$w/pass.txt"

    ia_cell_begin "cli key files: missing certificate file: exit 3, names the file and the system's reason"
    ia_client k1 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --cert "$w/none.pem" --key "$PKI/client-ecdsa.key"
    ia_expect_rc 3
    expect_one_error "certificate file .*none\.pem: No such file" "the file and 'No such file'"
    ia_cell_end

    ia_cell_begin "cli key files: key file not PEM/DER: exit 3, names the file and the cause"
    ia_client k2 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --cert "$PKI/client-ecdsa.pem" --key "$w/junk.pem"
    ia_expect_rc 3
    expect_one_error "key file .*junk\.pem: not a private key in PEM or DER" "the file and the cause"
    ia_cell_end

    ia_cell_begin "cli key files: encrypted key without --key-pass: says so and names --key-pass"
    ia_client k3 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --cert "$PKI/client-ecdsa.pem" --key "$w/enc.key"
    ia_expect_rc 3
    expect_one_error "key file .*enc\.key: the key is encrypted.*--key-pass" "the encryption and --key-pass"
    ia_cell_end

    ia_cell_begin "cli key files: encrypted key, wrong passphrase: says so"
    ia_client k4 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --cert "$PKI/client-ecdsa.pem" --key "$w/enc.key" \
        --key-pass pass:wrong
    ia_expect_rc 3
    expect_one_error "enc\.key: the passphrase does not decrypt" "the wrong passphrase"
    ia_cell_end

    ia_cell_begin "cli key files: certificate and key of different pairs: says they do not belong together"
    ia_client k5 "$EMPTY" exit -- 127.0.0.1:9 "${OUR_COMMON[@]}" --cert "$PKI/client-ecdsa.pem" --key "$PKI/ecdsa-p256.key"
    ia_expect_rc 3
    expect_one_error "client-ecdsa\.pem and key file .*ecdsa-p256\.key do not belong together" "both files"
    ia_cell_end

    local src
    for src in pass:s3cret env:IOTLS_TEST_PASS "file:$w/pass.txt"; do
        ia_cell_begin "cli key files: encrypted key with --key-pass ${src%%:*}: the server (s_server -Verify) accepts the client"
        if ossl_server -naccept 1 -Verify 1 -CAfile "$PKI/ca.pem"; then
            IOTLS_TEST_PASS=s3cret our_client k6 "with passphrase" "$(rev_line "with passphrase")" \
                127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --cert "$PKI/client-ecdsa.pem" --key "$w/enc.key" \
                --key-pass "$src"
            ia_expect_rc 0
            expect_stdout_exactly "$(rev_line "with passphrase")"
            ia_server_stop
        fi
        ia_cell_end
    done

    ia_cell_begin "cli key files: server with an encrypted key and no --key-pass: exit 3, one line"
    "$IOTLS" server --port 0 --cert "$PKI/client-ecdsa.pem" --key "$w/enc.key" >"$IA_WORK/k7.out" 2>"$IA_WORK/k7.err"
    IA_RC=$?
    IA_ERR=$IA_WORK/k7.err
    ia_expect_rc 3
    expect_one_error "enc\.key: the key is encrypted" "the encrypted key"
    ia_cell_end
}

# Errors carry what iotls knows: the refused certificate and why, a hint
# for the peer's alert; "connected" only once the server took our flight.
detail_cells() {
    local pin

    ia_cell_begin "cli detail: wrong host name: names the name asked for and the certificate's names"
    if ossl_server -naccept 1; then
        our_client d1 "must not arrive" "never" 127.0.0.1:$IA_PORT --ca "$PKI/ca.pem" \
            --servername wrong.example --timeout 10
        ia_expect_rc 8
        expect_one_error "wrong\.example.*DNS:localhost" "the host asked for and the certificate's names"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: expired certificate: names it, its validity and the time now"
    if ossl_server -naccept 1 -cert "$PKI/expired.pem" -key "$PKI/expired.key"; then
        our_client d2 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 8
        expect_one_error "certificate_expired.*CN ?= ?localhost.*valid from 2020-01-01.* to 2021-01-01.*now is $(date -u +%Y-)" \
            "the certificate, its validity and the time now"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: unknown CA: names the certificate and its issuer"
    if ossl_server -naccept 1 -cert "$PKI/other-leaf.pem" -key "$PKI/other-leaf.key"; then
        our_client d3 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 8
        expect_one_error "unknown_ca.*CN ?= ?localhost.*issued by.*CN ?= ?unrelated CA" \
            "the certificate and the issuer that did not chain"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: wrong pin: names the server key's pin"
    pin=$(spki_pin "$PKI/ecdsa-p256.pem")
    if ossl_server -naccept 1; then
        our_client d4 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --pin "$(printf '%064d' 0)"
        ia_expect_rc 8
        expect_one_error "pin.*$pin" "the server key's pin"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: RSA key above --max-rsa-bits: refused as a verification failure (exit 8)"
    openssl req -x509 -newkey rsa:3072 -nodes -keyout "$IA_WORK/rsa3072.key" -out "$IA_WORK/rsa3072.pem" \
        -subj /CN=localhost -addext subjectAltName=DNS:localhost -days 2 2>/dev/null ||
        ia_fail "openssl could not make an RSA-3072 certificate"
    if ossl_server -naccept 1 -cert "$IA_WORK/rsa3072.pem" -key "$IA_WORK/rsa3072.key"; then
        our_client d4b "must not arrive" "never" 127.0.0.1:$IA_PORT --ca "$IA_WORK/rsa3072.pem" \
            --servername localhost --timeout 10 --max-rsa-bits 2048
        ia_expect_rc 8
        expect_one_error "unsupported_certificate|key" "the refused key"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: certificate_required: the hint names --cert/--key; no 'connected' line"
    if ossl_server -naccept 1 -Verify 1 -CAfile "$PKI/ca.pem"; then
        our_client d5 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 9
        expect_one_error "certificate_required.*client certificate.*--cert" "a hint to give --cert/--key"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: protocol_version from a TLS 1.2 server: the hint says it does not speak TLS 1.3"
    N=$((N + 1))
    ia_start_server "o$N" -- openssl s_server -accept "127.0.0.1:{PORT}" -tls1_2 -naccept 1 -rev \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" 2>"$IA_WORK/start$N.err"
    if started $?; then
        our_client d6 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        expect_one_error "protocol_version.*does not speak TLS 1\.3" "the hint"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: PSK identity the server does not know: handshake_failure with a hint on the identity"
    N=$((N + 1))
    ia_start_server "s$N" -- "$IOTLS" server --port 0 --ready-file "{READY}" --once \
        --psk "$(printf '%064d' 1)" --psk-identity device-1 --timeout 10 2>"$IA_WORK/start$N.err"
    if started $?; then
        our_client d7 "must not arrive" "never" 127.0.0.1:$IA_PORT --psk "$(printf '%064d' 1)" \
            --psk-identity device-2 --timeout 10
        expect_one_error "handshake_failure.*PSK identity" "a hint on the PSK identity"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli detail: client certificate from a CA our server does not trust: no 'connected' line, hint; server log names the client and the reason"
    if our_server --once --ca "$PKI/other-ca.pem"; then
        our_client d8 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key"
        ia_expect_rc 9
        grep -q 'connected to' "$IA_ERR" && ia_fail "the client said 'connected' although the server refused it"
        expect_one_error "unknown_ca.*client certificate" "a hint on our client certificate"
        ia_server_wait 5
        grep -qE "^conn 1 from .*handshake failed: unknown_ca .*CN ?= ?iotls interop client ecdsa.*issued by.*root CA" "$IA_SERVER_LOG" ||
            ia_fail "server log does not name the client and the reason: $(grep '^conn' "$IA_SERVER_LOG" | head -c 300)"
    fi
    ia_cell_end

    ia_cell_begin "cli detail: client certificate accepted: 'connected' line says so"
    if our_server --once --ca "$PKI/ca.pem"; then
        our_client d9 "accepted" "accepted" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key"
        ia_expect_rc 0
        grep -q 'connected to .*client certificate accepted' "$IA_ERR" ||
            ia_fail "no 'connected ... client certificate accepted' line: $(head -c 300 "$IA_ERR")"
        ia_server_wait 5
    fi
    ia_cell_end
}

# Exit codes distinct by cause (apps/exit_codes.h), listed in `iotls --help`
# and in the README alike.
exit_code_cells() {
    local readme help code
    readme=$(dirname "$0")/../../README.md

    ia_cell_begin "cli exit codes: iotls --help lists 0..9, the README lists the same table"
    "$IOTLS" --help >"$IA_WORK/help.out" 2>&1 || ia_fail "iotls --help exit code $?"
    for code in 0 1 2 3 4 5 6 7 8 9; do
        help=$(sed -n '/^exit codes:/,$p' "$IA_WORK/help.out" | grep -E "^  $code  " | sed 's/^  [0-9]  //')
        [ -n "$help" ] || ia_fail "iotls --help does not list exit code $code"
        grep -qF -- "| $code | $help |" "$readme" ||
            ia_fail "README's exit code table lacks '| $code | $help |'"
    done
    ia_cell_end

    ia_cell_begin "cli exit code 2: unknown option"
    ia_client ex2 "$EMPTY" exit -- 127.0.0.1:9 --no-such-option
    ia_expect_rc 2
    ia_cell_end

    ia_cell_begin "cli exit code 3: --ca file missing"
    ia_client ex3 "$EMPTY" exit -- 127.0.0.1:9 --ca "$IA_WORK/no-such-ca.pem"
    ia_expect_rc 3
    expect_one_error 'no-such-ca\.pem' "the missing file"
    ia_cell_end

    ia_cell_begin "cli exit code 4: host name lookup fails"
    ia_client ex4 "$EMPTY" exit -- no-such-host.invalid:443 "${OUR_COMMON[@]}"
    ia_expect_rc 4
    expect_one_error 'no-such-host\.invalid' "the host name"
    ia_cell_end

    ia_cell_begin "cli exit code 7: protocol failure found by iotls (Certificate over --max-handshake)"
    if ossl_server -naccept 1 -cert "$PKI/chain-leaf.pem" -key "$PKI/chain-leaf.key" \
        -cert_chain "$PKI/int.pem"; then
        our_client ex7 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --max-handshake 512
        ia_expect_rc 7
        expect_one_error 'larger than the configured limit' "the handshake size limit"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli exit code 9: the server refuses (protocol_version from a TLS 1.2-only server)"
    N=$((N + 1))
    ia_start_server "o$N" -- openssl s_server -accept "127.0.0.1:{PORT}" -tls1_2 -naccept 1 -rev \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" 2>"$IA_WORK/start$N.err"
    if started $?; then
        our_client ex9 "must not arrive" "never" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
        ia_expect_rc 9
        expect_one_error 'protocol_version' "the peer's protocol_version alert"
        ia_server_stop
    fi
    ia_cell_end
}

# ---------------------------------------------------------------- server
# ossl_client TAG INPUT UNTIL ARGS...: openssl s_client against our server.
ossl_client() {
    local tag=$1 input=$2 until=$3
    shift 3
    IA_CLIENT_CMD=(openssl s_client)
    ia_client "$tag" "$input" "$until" -- -connect "127.0.0.1:$IA_PORT" -CAfile "$PKI/ca.pem" \
        -servername localhost -verify_return_error -brief -nocommands -tls1_3 "$@"
    unset IA_CLIENT_CMD
}

# stop_check SIG: sends SIG to our server (the child of timeout) while one
# client is connected and idle and one TCP connection has not sent its
# ClientHello; the server must exit 0 within 2 s leaving no process behind.
stop_check() {
    local sig=$1 spid kids t0 el k
    if ! our_server --echo; then return; fi
    spid=$(child_of "$IA_SERVER_PID")
    [ -n "$spid" ] || { ia_fail "cannot find the server process"; return; }
    our_client st-$sig-1 "served before $sig" "served before $sig" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
    ia_expect_rc 0
    ia_client_bg st-$sig-2 -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
    ia_client_send "idle client"
    ia_wait_for "$IA_OUT" "idle client" 10 || ia_fail "the idle client's echo did not come back"
    exec {stall}<>/dev/tcp/127.0.0.1/"$IA_PORT" || ia_fail "cannot open the stalled TCP connection"
    sleep 0.2
    kids=$(ps -o pid= --ppid "$spid" | tr -d ' ')
    t0=$(now_ms)
    kill -"$sig" "$spid"
    while kill -0 "$IA_SERVER_PID" 2>/dev/null && [ $(($(now_ms) - t0)) -lt 5000 ]; do sleep 0.02; done
    el=$(($(now_ms) - t0))
    if kill -0 "$IA_SERVER_PID" 2>/dev/null; then
        ia_fail "server still running $el ms after SIG$sig"
        ia_server_stop
    else
        wait "$IA_SERVER_PID" 2>/dev/null
        IA_SERVER_RC=$?
        [ "$IA_SERVER_RC" = 0 ] || ia_fail "server exit code $IA_SERVER_RC after SIG$sig, want 0"
        [ $el -le 2000 ] || ia_fail "server took $el ms to stop after SIG$sig, want <= 2000"
    fi
    [ -e "/proc/$spid" ] && ia_fail "server process $spid still exists ($(ps -o stat= -p "$spid"))"
    for k in $kids; do
        [ -e "/proc/$k" ] && ia_fail "child process $k of the server left behind"
    done
    exec {stall}>&-
    # The idle client is told goodbye (close_notify) and ends cleanly.
    t0=$SECONDS
    while kill -0 "$IA_CLIENT_PID" 2>/dev/null && [ $((SECONDS - t0)) -lt 5 ]; do sleep 0.02; done
    kill -0 "$IA_CLIENT_PID" 2>/dev/null && ia_fail "the connected client was not closed by the stopping server"
    ia_client_close 1
    ia_expect_rc 0
    IA_SERVER_LOG=$IA_WORK/s$N.server.log
}

server_cells() {
    local i ok t0

    ia_cell_begin "cli server: 10 clients one after another (5 iotls client, 5 openssl s_client), server stays up"
    if our_server --echo; then
        ok=0
        for i in 1 2 3 4 5; do
            our_client seq-i$i "iotls client $i" "iotls client $i" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
            ia_expect_rc 0
            [ "$(cat "$IA_OUT")" = "iotls client $i" ] && ok=$((ok + 1)) || ia_fail "iotls client $i: no echo"
            printf 'openssl client %s\n' $i >"$IA_WORK/seq-o$i.in"
            ossl_client seq-o$i "$IA_WORK/seq-o$i.in" "grep:openssl client $i"
            ia_expect_rc 0
            [ "$(cat "$IA_OUT")" = "openssl client $i" ] && ok=$((ok + 1)) || ia_fail "s_client $i: no echo"
        done
        IA_SERVER_LOG=$IA_WORK/s$N.server.log
        [ $ok = 10 ] || ia_fail "$ok of 10 echoes came back"
        n=$(grep -cE '^conn [0-9]+ from .*TLSv1\.3' "$IA_SERVER_LOG")
        [ "$n" = 10 ] || ia_fail "server logged $n connections, want 10"
        kill -0 "$IA_SERVER_PID" 2>/dev/null || ia_fail "server is gone after 10 connections"
        ia_server_stop
    fi
    ia_cell_end

    # CONC_CLIENT (bash -c, for ia_spawn) IN OUT ERR RC RELEASE CMD...: sends IN
    # and holds the connection until RELEASE exists, CMD's exit code to RC.
    local conc_client='{ cat "$0"; t0=$SECONDS; while [ ! -e "$4" ] && [ $((SECONDS - t0)) -lt 20 ]; do
        sleep 0.02; done; } | "${@:5}" >"$1" 2>"$2"; echo $? >"$3"'

    # Four clients hold their connections open until all four have their
    # 100 KiB back: the server served them at the same time.
    ia_cell_begin "cli server: 4 concurrent clients each echoing 100 KiB"
    if our_server --echo; then
        local pids=() release=$IA_WORK/conc.release all
        for i in 1 2 3 4; do
            head -c 102400 /dev/urandom >"$IA_WORK/conc$i.in"
            ia_spawn bash -c "$conc_client" "$IA_WORK/conc$i.in" "$IA_WORK/conc$i.out" \
                "$IA_WORK/conc$i.err" "$IA_WORK/conc$i.rc" "$release" \
                timeout --foreground -k 2 25 "$IOTLS" client 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}"
            pids+=("$IA_SPAWNED")
        done
        t0=$SECONDS
        all=0
        while [ $((SECONDS - t0)) -lt 20 ]; do
            all=1
            for i in 1 2 3 4; do
                [ "$(stat -c %s "$IA_WORK/conc$i.out" 2>/dev/null || echo 0)" -ge 102400 ] || all=0
            done
            [ $all = 1 ] && break
            sleep 0.05
        done
        [ $all = 1 ] || ia_fail "not all 4 echoes complete while the 4 connections were open"
        touch "$release"
        for i in 1 2 3 4; do
            wait "${pids[$((i - 1))]}" 2>/dev/null
            rc=$(cat "$IA_WORK/conc$i.rc" 2>/dev/null)
            [ "$rc" = 0 ] || ia_fail "client $i exit code ${rc:-none}"
            cmp -s "$IA_WORK/conc$i.in" "$IA_WORK/conc$i.out" ||
                ia_fail "client $i: echo differs ($(wc -c <"$IA_WORK/conc$i.out") bytes back)"
        done
        IA_ERR=$IA_WORK/conc1.err
        IA_SERVER_LOG=$IA_WORK/s$N.server.log
        n=$(grep -cE '^conn [0-9]+ from .*TLSv1\.3' "$IA_SERVER_LOG")
        [ "$n" = 4 ] || ia_fail "server logged $n connections, want 4"
        kill -0 "$IA_SERVER_PID" 2>/dev/null || ia_fail "server is gone"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli server stops on SIGINT: exit 0 within 2 s (idle client + stalled handshake open), nothing left"
    stop_check INT
    ia_cell_end

    ia_cell_begin "cli server stops on SIGTERM: exit 0 within 2 s (idle client + stalled handshake open), nothing left"
    stop_check TERM
    ia_cell_end

    ia_cell_begin "cli server --http with client auth: 200 page names suite, group and client (iotls client, s_client)"
    if our_server --http --ca "$PKI/ca.pem" --ciphers TLS_CHACHA20_POLY1305_SHA256 --groups secp384r1,x25519; then
        unset IA_CLIENT_CMD
        ia_client http1 "$EMPTY" exit -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --groups secp384r1 \
            --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key" --get /status
        ia_expect_rc 0
        head -n 1 "$IA_OUT" | grep -qE '^HTTP/1\.1 200 ' || ia_fail "iotls client: no HTTP/1.1 200 status line"
        grep -q 'TLS_CHACHA20_POLY1305_SHA256' "$IA_OUT" || ia_fail "iotls client: page lacks the suite"
        grep -qiE 'group.*secp384r1' "$IA_OUT" || ia_fail "iotls client: page lacks the group"
        grep -qiE 'client.*iotls interop client ecdsa' "$IA_OUT" || ia_fail "iotls client: page lacks the client identity"
        grep -q '/status' "$IA_OUT" || ia_fail "iotls client: page does not echo the request path"
        printf 'GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' >"$IA_WORK/http2.in"
        ossl_client http2 "$IA_WORK/http2.in" exit -groups X25519 \
            -cert "$PKI/client-rsa.pem" -key "$PKI/client-rsa.key"
        ia_expect_rc 0
        head -n 1 "$IA_OUT" | grep -qE '^HTTP/1\.1 200 ' || ia_fail "s_client: no HTTP/1.1 200 status line"
        grep -qiE 'group.*x25519' "$IA_OUT" || ia_fail "s_client: page lacks the group x25519"
        grep -qiE 'client.*iotls interop client rsa' "$IA_OUT" || ia_fail "s_client: page lacks the client identity"
        IA_SERVER_LOG=$IA_WORK/s$N.server.log
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "cli server --http without client auth: page says anonymous"
    if our_server --http --once; then
        ia_client http3 "$EMPTY" exit -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" --get /
        ia_expect_rc 0
        grep -qE '^HTTP/1\.1 200 ' "$IA_OUT" || ia_fail "no HTTP/1.1 200"
        grep -qiE 'client.*anonymous' "$IA_OUT" || ia_fail "page does not say the client is anonymous"
        ia_server_wait 5
        [ "$IA_SERVER_RC" = 0 ] || ia_fail "--once server exit code $IA_SERVER_RC"
    fi
    ia_cell_end

    ia_cell_begin "cli server --http: each response (headers and body) in one record (two keep-alive requests, s_client -msg)"
    if our_server --http --once; then
        printf 'GET /a HTTP/1.1\r\nHost: localhost\r\n\r\nGET /b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' \
            >"$IA_WORK/http4.in"
        ossl_client http4 "$IA_WORK/http4.in" exit -msg -ign_eof
        ia_expect_rc 0
        [ "$(grep -c '^HTTP/1\.1 200 ' "$IA_OUT")" = 2 ] || ia_fail "not two HTTP/1.1 200 responses"
        # -msg prints the inner content type of each protected record it
        # receives on the line after "InnerContent": 17 is application_data.
        n=$(awk '/^<<< TLS 1.3, InnerContent/ { getline; if ($1 == "17") n++ } END { print n + 0 }' "$IA_OUT")
        [ "$n" = 2 ] || ia_fail "$n application_data records for two responses (want 2)"
        ia_server_wait 5
    fi
    ia_cell_end

    ia_cell_begin "cli server --keylog FILE: same secrets as openssl s_client -keylogfile"
    if our_server --echo --once --keylog "$IA_WORK/skl1.server"; then
        printf 'keylog\n' >"$IA_WORK/skl1.in"
        ossl_client skl1 "$IA_WORK/skl1.in" "grep:keylog" -keylogfile "$IA_WORK/skl1.client"
        ia_expect_rc 0
        ia_server_wait 5
        # s_client's log is the reference here; ours is checked against it.
        keylog_same "$IA_WORK/skl1.server" "$IA_WORK/skl1.client"
        expect_mode_600 "$IA_WORK/skl1.server"
    fi
    ia_cell_end

    ia_cell_begin "cli server SSLKEYLOGFILE: same secrets as iotls client --keylog"
    N=$((N + 1))
    SSLKEYLOGFILE=$IA_WORK/skl2.server ia_start_server "s$N" -- "$IOTLS" server --port 0 \
        --ready-file "{READY}" --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --echo --once \
        2>"$IA_WORK/start$N.err"
    if started $?; then
        our_client skl2 "keylog 2" "keylog 2" 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --keylog "$IA_WORK/skl2.client"
        ia_expect_rc 0
        ia_server_wait 5
        keylog_same "$IA_WORK/skl2.server" "$IA_WORK/skl2.client"
    fi
    ia_cell_end

    ia_cell_begin "cli server -v: per-connection trace with steps, times and the summary (client auth)"
    if our_server --echo --once -v --ca "$PKI/ca.pem" --ciphers TLS_AES_256_GCM_SHA384 --groups secp256r1; then
        printf 'trace\n' >"$IA_WORK/sv.in"
        ossl_client sv "$IA_WORK/sv.in" "grep:trace" -cert "$PKI/client-ecdsa.pem" \
            -key "$PKI/client-ecdsa.key" -groups P-256
        ia_expect_rc 0
        ia_server_wait 5
        IA_ERR=/dev/null
        IA_OUT=$IA_SERVER_LOG
        for m in "<- ClientHello" "-> ServerHello" "-> EncryptedExtensions" "-> CertificateRequest" \
            "-> Certificate " "-> CertificateVerify" "-> Finished" "<- Certificate " \
            "<- CertificateVerify" "<- Finished"; do
            grep -qE "^\[conn 1\] +[0-9]+(\.[0-9]+)? ms.*$m" "$IA_SERVER_LOG" ||
                ia_fail "trace lacks a timed '[conn 1] ... $m' line"
        done
        ia_expect_trace 'version.*TLS ?v?1\.3' "the version"
        ia_expect_suite TLS_AES_256_GCM_SHA384
        ia_expect_group secp256r1
        ia_expect_trace 'own signature.*ecdsa_secp256r1_sha256' "our signature scheme"
        ia_expect_trace 'peer signature.*ecdsa_secp256r1_sha256' "the client's signature scheme"
        ia_expect_trace 'subject.*iotls interop client ecdsa' "the client certificate's subject"
        ia_expect_trace 'issuer.*iotls interop root CA' "the client certificate's issuer"
        ia_expect_trace 'client auth.*yes' "client auth"
        ia_expect_trace '\b1 round trip\b' "1 round trip"
        ia_expect_trace 'bytes.*\b[1-9][0-9]* sent.*\b[1-9][0-9]* received' "bytes sent and received"
        [ "$IA_SERVER_RC" = 0 ] || ia_fail "--once server exit code $IA_SERVER_RC"
    fi
    ia_cell_end
}

case $GROUP in
client) client_cells ;;
server) server_cells ;;
*) ia_die "unknown group $GROUP (client or server)" ;;
esac
ia_finish
