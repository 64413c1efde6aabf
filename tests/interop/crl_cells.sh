#!/usr/bin/env bash
# Revocation cells: a CA and CRLs made by `openssl ca` (crl_pki.sh), our
# client and server with --crl against openssl s_server / s_client with
# -crl_check, revoked and not revoked, in both directions, over 127.0.0.1.
#
#   crl_cells.sh
# Our server --crl: openssl s_client with a revoked device certificate gets
#   certificate_revoked, the server's log names the device; a device not on
#   the CRL is echoed.
# Our client --crl: a revoked server certificate (openssl s_server) is
#   refused with exit code 8, the server gets certificate_revoked; one not
#   on the CRL connects; an expired CRL refuses (documented policy); a CRL
#   file that is no CRL is a configuration error naming the file.
# OpenSSL checking ours: s_server -verify -crl_check refuses our client's
#   revoked certificate (our client reports the server's
#   certificate_revoked alert); s_client -crl_check refuses our server's
#   revoked certificate; the non-revoked ones pass.
# Our client with our server, both with --crl.
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "crl"
ia_need_peer openssl
. "$(dirname "$0")/feature_lib.sh"

P=$W/pki
if ! bash "$(dirname "$0")/crl_pki.sh" "$P" >"$W/pki.log" 2>&1; then
    fail crl-pki "crl_pki.sh failed" "$W/pki.log"
    ia_finish
    exit 1
fi

wait_pid_file() { # up to 6 s for the pattern TEXT in FILE
    for _ in $(seq 1 120); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

# revoked_text ROLE CERT SUBJECT ISSUER: the words for a revoked
# certificate, each said once: iotls_error_string's "peer certificate
# revoked", then which certificate (ROLE client or server, CERT the
# crl_pki.sh name, SUBJECT its subject), its serial as openssl x509 -serial
# prints it, and whose CRL lists it.
revoked_text() {
    echo "certificate_revoked (peer certificate revoked: $1 certificate '$3' (serial $(cat "$P/$2.serial")) is on the CRL of '$4')"
}
ROOT_DN="O=iotls test, CN=iotls crl root CA"
FLEET_DN="CN=iotls crl fleet CA, O=iotls test"

# exact_line FILE PREFIX WANT: FILE has a line PREFIX WANT (PREFIX an
# extended RE before the fixed text WANT), and WANT is the line's whole rest.
exact_line() {
    local line
    line=$(grep -m1 -E -- "$2" "$1") || return 1
    [ "$(sed -E "s/^$2//" <<<"$line")" = "$3" ]
}

# ossl_server TAG ARGS...: openssl s_server for one connection, its stdin
# held open; sets PORT once it listens.
ossl_server() {
    local tag=$1
    shift
    PORT=$("$IA_FREEPORT")
    ia_spawn_held 15 timeout --foreground -k "$IA_KILL_AFTER" 20 openssl s_server \
        -accept "127.0.0.1:$PORT" -naccept 1 "$@" >"$W/$tag.slog" 2>&1
    for _ in $(seq 1 100); do ia_listening "$PORT" 2>/dev/null && break; sleep 0.05; done
}

# ossl_client TAG PORT ARGS...: openssl s_client sending "hello TAG" and
# reading for a moment; output in $W/TAG.clog.
ossl_client() {
    local tag=$1 port=$2
    shift 2
    (echo "hello $tag"; sleep 1) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$port" \
        -servername localhost "$@" >"$W/$tag.clog" 2>&1
}

# ---------------- our server --crl, openssl s_client ----------------
crl_server() { # TAG: our server trusting the root, with its CRL
    iotls_server_bg "$1" --cert "$P/srv-ok.pem" --key "$P/srv-ok.key" --ca "$P/ca.pem" \
        --crl "$P/ca.crl.pem" -v
}

cell="server-crl-device-revoked"
if ! crl_server sr; then
    fail $cell "server did not start" "$W/sr.log"
else
    ossl_client sr "$PORT" -CAfile "$P/ca.pem" -cert "$P/dev-revoked.pem" -key "$P/dev-revoked.key"
    serial=$(cat "$P/dev-revoked.serial")
    if ! grep -qi "alert certificate revoked\|alert number 44" "$W/sr.clog"; then
        fail $cell "s_client did not get certificate_revoked" "$W/sr.clog" "$W/sr.log"
    elif ! wait_pid_file "$W/sr.log" "handshake failed" ||
        ! exact_line "$W/sr.log" '^conn [0-9]+ from [^ ]+: handshake failed: ' \
            "$(revoked_text client dev-revoked "CN=device-revoked, O=iotls test" "$ROOT_DN")"; then
        fail $cell "server log does not say once which device, its serial $serial and the CRL" \
            "$W/sr.log"
    elif grep -q "hello sr" "$W/sr.log" "$W/sr.clog"; then
        fail $cell "data from a revoked device went through" "$W/sr.log"
    else
        pass $cell
    fi
fi

cell="server-crl-device-ok"
if ! crl_server so; then
    fail $cell "server did not start" "$W/so.log"
else
    ossl_client so "$PORT" -CAfile "$P/ca.pem" -cert "$P/dev-ok.pem" -key "$P/dev-ok.key"
    if ! grep -q "hello so" "$W/so.clog"; then
        fail $cell "no echo for a device not on the CRL" "$W/so.clog" "$W/so.log"
    else
        pass $cell
    fi
fi

# ---------------- our client --crl, openssl s_server ----------------
cell="client-crl-server-revoked"
ossl_server cr -cert "$P/srv-revoked.pem" -key "$P/srv-revoked.key"
iotls_client_line cr "127.0.0.1:$PORT" --ca "$P/ca.pem" --crl "$P/ca.crl.pem"
rc=$?
serial=$(cat "$P/srv-revoked.serial")
if [ $rc -ne 8 ]; then
    fail $cell "exit code $rc, want 8 (certificate verification)" "$W/cr.err"
elif [ "$(grep -c . "$W/cr.err")" -ne 1 ] ||
    ! exact_line "$W/cr.err" '^iotls: handshake failed: ' \
        "$(revoked_text server srv-revoked "CN=localhost, O=iotls test" "$ROOT_DN")"; then
    fail $cell "want one line saying once which certificate, its serial $serial and the CRL" \
        "$W/cr.err"
elif ! wait_pid_file "$W/cr.slog" "alert certificate revoked\|alert number 44"; then
    fail $cell "s_server did not get certificate_revoked" "$W/cr.slog"
else
    pass $cell
fi

cell="client-crl-server-ok"
ossl_server co -cert "$P/srv-ok.pem" -key "$P/srv-ok.key"
if ! iotls_client_line co "127.0.0.1:$PORT" --ca "$P/ca.pem" --crl "$P/ca.crl.pem"; then
    fail $cell "handshake with a server not on the CRL failed" "$W/co.err" "$W/co.slog"
elif ! wait_pid_file "$W/co.slog" "hello co"; then
    fail $cell "data lost" "$W/co.slog"
else
    pass $cell
fi

cell="client-crl-der"
ossl_server cd -cert "$P/srv-revoked.pem" -key "$P/srv-revoked.key"
iotls_client_line cd "127.0.0.1:$PORT" --ca "$P/ca.pem" --crl "$P/ca.crl.der"
rc=$?
if [ $rc -ne 8 ] || ! exact_line "$W/cd.err" '^iotls: handshake failed: ' \
    "$(revoked_text server srv-revoked "CN=localhost, O=iotls test" "$ROOT_DN")"; then
    fail $cell "a DER CRL did not refuse the revoked server (exit $rc)" "$W/cd.err"
else
    pass $cell
fi

cell="client-crl-expired"
ossl_server ce -cert "$P/srv-ok.pem" -key "$P/srv-ok.key"
iotls_client_line ce "127.0.0.1:$PORT" --ca "$P/ca.pem" --crl "$P/ca-expired.crl.pem"
rc=$?
if [ $rc -ne 8 ]; then
    fail $cell "exit code $rc with a CRL past its nextUpdate, want 8" "$W/ce.err"
elif ! grep -qi "CRL.*expired" "$W/ce.err"; then
    fail $cell "the error does not say the CRL expired" "$W/ce.err"
else
    pass $cell
fi

cell="client-crl-not-a-crl"
timeout -k 2 20 "$IOTLS" client 127.0.0.1:1 --ca "$P/ca.pem" --crl "$P/ca.pem" \
    </dev/null >"$W/nc.out" 2>"$W/nc.err"
rc=$?
if [ $rc -ne 3 ] || ! grep -q "CRL $P/ca.pem: not a CRL" "$W/nc.err"; then
    fail $cell "exit code $rc (want 3, configuration) or no message naming the file" "$W/nc.err"
else
    pass $cell
fi

# ---------------- OpenSSL checking our certificates ----------------
cell="openssl-server-crl_check-our-revoked-client"
ossl_server ov -cert "$P/srv-ok.pem" -key "$P/srv-ok.key" -Verify 1 -CAfile "$P/ca.pem" \
    -crl_check -CRL "$P/ca.crl.pem" -verify_return_error
iotls_client_line ov "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/dev-revoked.pem" \
    --key "$P/dev-revoked.key"
rc=$?
if [ $rc -ne 9 ]; then
    fail $cell "exit code $rc, want 9 (the peer refused)" "$W/ov.err" "$W/ov.slog"
elif [ "$(grep -c . "$W/ov.err")" -ne 1 ] || ! grep -q "certificate_revoked.*needs a new certificate" "$W/ov.err"; then
    fail $cell "want one line with the server's certificate_revoked and the hint" "$W/ov.err" "$W/ov.slog"
else
    pass $cell
fi

cell="openssl-server-crl_check-our-client-ok"
ossl_server oo -cert "$P/srv-ok.pem" -key "$P/srv-ok.key" -Verify 1 -CAfile "$P/ca.pem" \
    -crl_check -CRL "$P/ca.crl.pem" -verify_return_error
if ! iotls_client_line oo "127.0.0.1:$PORT" --ca "$P/ca.pem" --cert "$P/dev-ok.pem" \
    --key "$P/dev-ok.key"; then
    fail $cell "s_server -crl_check refused a device not on the CRL" "$W/oo.err" "$W/oo.slog"
elif ! wait_pid_file "$W/oo.slog" "hello oo"; then
    fail $cell "data lost" "$W/oo.slog"
else
    pass $cell
fi

cell="openssl-client-crl_check-our-revoked-server"
if ! iotls_server_bg os --cert "$P/srv-revoked.pem" --key "$P/srv-revoked.key"; then
    fail $cell "server did not start" "$W/os.log"
else
    ossl_client os "$PORT" -CAfile "$P/ca.pem" -crl_check -CRL "$P/ca.crl.pem" \
        -verify_return_error
    if ! grep -q "certificate revoked" "$W/os.clog" || grep -q "hello os" "$W/os.clog"; then
        fail $cell "s_client -crl_check did not refuse our revoked server" "$W/os.clog"
    else
        pass $cell
    fi
fi

cell="openssl-client-crl_check-our-server-ok"
if ! iotls_server_bg ok --cert "$P/srv-ok.pem" --key "$P/srv-ok.key"; then
    fail $cell "server did not start" "$W/ok.log"
else
    ossl_client ok "$PORT" -CAfile "$P/ca.pem" -crl_check -CRL "$P/ca.crl.pem" \
        -verify_return_error
    if ! grep -q "Verify return code: 0 (ok)" "$W/ok.clog" || ! grep -q "hello ok" "$W/ok.clog"; then
        fail $cell "s_client -crl_check refused our server not on the CRL" "$W/ok.clog"
    else
        pass $cell
    fi
fi

# ---------------- ours with ours ----------------
cell="iotls-both-crl-intermediate"
if ! iotls_server_bg ii --cert "$P/srv-ok.pem" --key "$P/srv-ok.key" --ca "$P/ca.pem" \
    --crl "$P/both.crl.pem"; then
    fail $cell "server did not start" "$W/ii.log"
else
    iotls_client_line ii "127.0.0.1:$PORT" --ca "$P/ca.pem" --crl "$P/ca.crl.pem" \
        --cert "$P/idev-revoked-chain.pem" --key "$P/idev-revoked.key"
    rc=$?
    if [ $rc -ne 9 ] || ! grep -q "certificate_revoked" "$W/ii.err"; then
        fail $cell "exit $rc: a device the intermediate revoked was not refused" "$W/ii.err" "$W/ii.log"
    elif ! wait_pid_file "$W/ii.log" "handshake failed" ||
        ! exact_line "$W/ii.log" '^conn [0-9]+ from [^ ]+: handshake failed: ' \
            "$(revoked_text client idev-revoked "CN=fleet-device-revoked, O=iotls test" \
                "$FLEET_DN")"; then
        fail $cell "server log does not say once which device and the CRL" "$W/ii.log"
    else
        pass $cell
    fi
fi

ia_finish
