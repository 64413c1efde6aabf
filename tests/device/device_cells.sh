#!/usr/bin/env bash
# The iotls firmware (port/baremetal/) on an emulated board, as a TLS 1.3
# client of a peer on 127.0.0.1, through tools/device/run_client.py:
#   full     full handshake (chain and host name verified, device
#            certificate asked for and sent), KeyUpdate, HTTP GET (with
#            openssl s_server -www / iotls server --http / gnutls-serv --http),
#            ticket, close_notify
#   resume   a first boot (full handshake, ticket kept in retained RAM), then
#            a second boot that resumes with a reading sent as 0-RTT (which
#            the server must report having received), KeyUpdate, close_notify
#   refuse   (iotls peer only) the board refuses a server certificate for
#            another name, and one from a CA it does not trust: the checks
#            really run on the target
#
# Usage: device_cells.sh BOARD PEER      BOARD: cm4 | rv32; PEER: openssl | iotls | gnutls
# Environment (tests/device/CMakeLists.txt): IOTLS, IA_PKI, IA_FREEPORT,
# IA_WORKROOT as for tests/interop/, and IOTLS_DEVICE_BUILD (build-device).
set -u
BOARD=${1:?usage: device_cells.sh BOARD PEER}
PEER=${2:?usage: device_cells.sh BOARD PEER}
HERE=$(cd "$(dirname "$0")" && pwd)
# Two emulated boots per server on a loaded machine: more room than the
# interop default (set before lib.sh, which keeps a value already there).
: "${IA_SERVER_TIMEOUT:=240}"
. "$HERE/../interop/lib.sh"
ia_init "device-$BOARD-$PEER"
RUN=(python3 "$HERE/../../tools/device/run_client.py" "$BOARD")
PKI=$IA_PKI
W=$IA_WORK
READING="t=21.5;id=$$"

case $PEER in
openssl | gnutls) ia_need_peer "$PEER" ;;
esac

# run_board TAG ARGS...: run-client with the CA and the device certificate;
# IA_RC, IA_OUT.
# CA and SNI (default: the test root, localhost) may be changed per call.
run_board() {
    local tag=$1
    shift
    IA_OUT=$W/$tag.out
    IA_ERR=$W/$tag.out
    timeout -k 5 300 "${RUN[@]}" "$@" --ca "${CA:-$PKI/ca.pem}" --cert "$PKI/client-ecdsa.pem" \
        --key "$PKI/client-ecdsa.key" --servername "${SNI:-localhost}" >"$IA_OUT" 2>&1
    IA_RC=$?
}

expect_board() { # TEXT WHY
    grep -qF -- "$1" "$IA_OUT" || ia_fail "$2"
}

# ---- full handshake + KeyUpdate + GET ----
ia_cell_begin "device $BOARD $PEER full+keyupdate+get"
if [ "$PEER" = openssl ]; then
    ia_start_server full -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 -tls1_3 \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -CAfile "$PKI/ca.pem" -Verify 1 -www ||
        ia_fail "s_server did not start"
elif [ "$PEER" = gnutls ]; then
    ia_start_server full -- gnutls-serv --port "{PORT}" --http --require-client-cert \
        --x509certfile "$PKI/ecdsa-p256.pem" --x509keyfile "$PKI/ecdsa-p256.key" \
        --x509cafile "$PKI/ca.pem" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3" ||
        ia_fail "gnutls-serv did not start"
else
    ia_start_server full -- "$IOTLS" server --port 0 --ready-file "{READY}" --http \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --ca "$PKI/ca.pem" ||
        ia_fail "iotls server did not start"
fi
if [ ${#IA_REASONS[@]} -eq 0 ]; then
    run_board full "127.0.0.1:$IA_PORT" --get / --key-update
    [ "$IA_RC" -eq 0 ] || ia_fail "run-client exit status $IA_RC"
    expect_board "verified=1 client_auth=1" "chain/name not verified or no device certificate"
    expect_board "KEY_UPDATE sent" "no KeyUpdate"
    expect_board "HTTP/1." "no HTTP response"
    expect_board "  handshake_full " "no handshake figures"
    expect_board "run-client: OK" "run-client did not report OK"
    ia_server_stop
fi
ia_cell_end

# ---- resumption with 0-RTT after a second boot ----
ia_cell_begin "device $BOARD $PEER resume+0rtt+keyupdate"
if [ "$PEER" = openssl ]; then
    # s_server takes early data only without -www; it prints what it got.
    # -verify (asks for the device certificate) rather than -Verify
    # (requires it): OpenSSL 3.0 rejects 0-RTT on a session when the
    # certificate is required.
    ia_start_server resume --stdin-fifo -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 2 \
        -tls1_3 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -CAfile "$PKI/ca.pem" \
        -verify 1 -early_data || ia_fail "s_server did not start"
    args=()
elif [ "$PEER" = gnutls ]; then
    # gnutls-serv --http does not answer a request sent as 0-RTT: the
    # reading goes alone, and the server's acceptance is what the board
    # reads in EncryptedExtensions (GnuTLS 3.7 does not print early data).
    ia_start_server resume -- gnutls-serv --port "{PORT}" --earlydata --require-client-cert \
        --x509certfile "$PKI/ecdsa-p256.pem" --x509keyfile "$PKI/ecdsa-p256.key" \
        --x509cafile "$PKI/ca.pem" --priority "NORMAL:-VERS-ALL:+VERS-TLS1.3" ||
        ia_fail "gnutls-serv did not start"
    args=()
else
    ia_start_server resume -- "$IOTLS" server --port 0 --ready-file "{READY}" --http -v \
        --tickets 1 --early-data 16384 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
        --ca "$PKI/ca.pem" || ia_fail "iotls server did not start"
    # The 0-RTT data is then the GET, with the reading in its query.
    args=(--get /reading)
fi
if [ ${#IA_REASONS[@]} -eq 0 ]; then
    run_board resume "127.0.0.1:$IA_PORT" --resume --early-data "$READING" --key-update "${args[@]}"
    [ "$IA_RC" -eq 0 ] || ia_fail "run-client exit status $IA_RC"
    expect_board "[full] TICKET kept in retained RAM" "no ticket kept on the first boot"
    expect_board "resumed=1" "second boot did not resume"
    expect_board "EARLY_DATA accepted" "0-RTT not accepted"
    expect_board "  handshake_resumed_0rtt " "no resumed-handshake figures"
    expect_board "run-client: OK" "run-client did not report OK"
    if [ "$PEER" = openssl ]; then
        ia_wait_for "$IA_SERVER_LOG" "$READING" 5 || ia_fail "s_server did not print the 0-RTT reading"
    elif [ "$PEER" = gnutls ]; then
        : # checked above: the board saw the acceptance
    else
        expect_board "HTTP/1.1 200" "no 200 response to the 0-RTT request"
        ia_wait_for "$IA_SERVER_LOG" "early data: accepted" 5 ||
            ia_fail "iotls server did not report early data accepted"
    fi
    ia_server_stop
fi
ia_cell_end

# ---- resumption with 0-RTT after a real system reset (one emulator run) ----
if [ "$PEER" = iotls ]; then
    ia_cell_begin "device $BOARD $PEER warm-reset+resume+0rtt"
    ia_start_server warm -- "$IOTLS" server --port 0 --ready-file "{READY}" --http -v \
        --tickets 1 --early-data 16384 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
        --ca "$PKI/ca.pem" || ia_fail "iotls server did not start"
    if [ ${#IA_REASONS[@]} -eq 0 ]; then
        run_board warm "127.0.0.1:$IA_PORT" --warm-reset --early-data "$READING" --get /reading
        [ "$IA_RC" -eq 0 ] || ia_fail "run-client exit status $IA_RC"
        expect_board "[full] TICKET kept in retained RAM" "no ticket kept before the reset"
        expect_board "[full] DEEP_SLEEP system reset" "the first boot did not reset the board"
        expect_board "[warm] WARM_BOOT after a system reset: the retained region passed its magic and CRC checks" \
            "the retained region did not survive the reset"
        expect_board "[warm] HANDSHAKE TLS_AES_128_GCM_SHA256 group=x25519 resumed=1" \
            "the boot after the reset did not resume"
        expect_board "[warm] EARLY_DATA accepted" "0-RTT not accepted after the reset"
        expect_board "[warm] one emulator run: 2 TLS connections" "not one emulator run"
        expect_board "HTTP/1.1 200" "no 200 response to the 0-RTT request"
        # The server's response names the request it got as 0-RTT.
        expect_board "request:      GET /reading?reading=$READING" "the server did not get the reading"
        ia_wait_for "$IA_SERVER_LOG" "early data: accepted" 5 ||
            ia_fail "iotls server did not report early data accepted"
        ia_server_stop
    fi
    ia_cell_end
fi

# ---- the board refuses a wrong name and an unknown CA ----
if [ "$PEER" = iotls ]; then
    ia_cell_begin "device $BOARD $PEER refuse-wrong-name+unknown-ca"
    ia_start_server refuse -- "$IOTLS" server --port 0 --ready-file "{READY}" --http \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" || ia_fail "iotls server did not start"
    if [ ${#IA_REASONS[@]} -eq 0 ]; then
        SNI=wrong.example run_board wrongname "127.0.0.1:$IA_PORT" --get /
        [ "$IA_RC" -ne 0 ] || ia_fail "wrong name: run-client succeeded"
        expect_board "FAIL handshake: IOTLS_ERR_CERT_HOSTNAME" "wrong name: not refused for its name"
        CA=$PKI/other-ca.pem run_board unknownca "127.0.0.1:$IA_PORT" --get /
        [ "$IA_RC" -ne 0 ] || ia_fail "unknown CA: run-client succeeded"
        expect_board "FAIL handshake: IOTLS_ERR_CERT_UNKNOWN_CA" "unknown CA: not refused for its CA"
        ia_server_stop
    fi
    ia_cell_end
fi

ia_finish
