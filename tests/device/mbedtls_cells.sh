#!/usr/bin/env bash
# Mbed TLS 4's own TLS 1.3 client firmware (port/baremetal/compare/, the
# comparison of docs/device.md) on an emulated board, with its smallest
# record buffers (1024 in / 512 out), the scenario of the comparison:
#   first boot   full handshake (chain and host name verified, device
#                certificate asked for and sent), GET (iotls server only),
#                ticket kept in retained RAM, close_notify
#   second boot  resumed from the retained session, the reading sent as
#                0-RTT (the GET carrying it, against iotls server), which
#                the server must report having received
# So that the figures of the comparison come from a client that really does
# the scenario.
#
# Usage: mbedtls_cells.sh BOARD PEER      BOARD: cm4 | rv32; PEER: openssl | iotls
# Environment as device_cells.sh.
set -u
BOARD=${1:?usage: mbedtls_cells.sh BOARD PEER}
PEER=${2:?usage: mbedtls_cells.sh BOARD PEER}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${IA_SERVER_TIMEOUT:=240}"
. "$HERE/../interop/lib.sh"
ia_init "device-mbedtls-$BOARD-$PEER"
PKI=$IA_PKI
W=$IA_WORK
READING="t=21.5;id=$$"

[ "$PEER" = openssl ] && ia_need_peer openssl

ia_cell_begin "device $BOARD Mbed TLS client vs $PEER: full+ticket, resume+0rtt, 1024/512 records"
if [ "$PEER" = openssl ]; then
    ia_start_server resume --stdin-fifo -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 2 \
        -tls1_3 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -CAfile "$PKI/ca.pem" \
        -verify 1 -early_data || ia_fail "s_server did not start"
    args=()
else
    ia_start_server resume -- "$IOTLS" server --port 0 --ready-file "{READY}" --http -v \
        --tickets 1 --early-data 16384 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
        --ca "$PKI/ca.pem" || ia_fail "iotls server did not start"
    args=(--get /reading)
fi
if [ ${#IA_REASONS[@]} -eq 0 ]; then
    IA_OUT=$W/board.out
    timeout -k 5 300 python3 "$HERE/../../tools/device/run_client.py" "$BOARD" "127.0.0.1:$IA_PORT" \
        --stack mbedtls --records 1024/512 --ca "$PKI/ca.pem" --cert "$PKI/client-ecdsa.pem" \
        --key "$PKI/client-ecdsa.key" --servername localhost --resume --early-data "$READING" \
        "${args[@]}" >"$IA_OUT" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || ia_fail "run-client exit status $rc"
    for want in "RECORD_BUFFERS in=1024 out=512 record_size_limit" \
        "[full] HANDSHAKE TLS1-3-AES-128-GCM-SHA256 resumed=0 verified=1 client_auth=1" \
        "[full] TICKET kept in retained RAM" "resumed=1" "EARLY_DATA accepted" \
        "  handshake_resumed_0rtt " "run-client: OK"; do
        grep -qF -- "$want" "$IA_OUT" || ia_fail "board output lacks: $want"
    done
    if [ "$PEER" = openssl ]; then
        ia_wait_for "$IA_SERVER_LOG" "$READING" 5 || ia_fail "s_server did not print the 0-RTT reading"
    else
        grep -qF "HTTP/1.1 200" "$IA_OUT" || ia_fail "no 200 response to the 0-RTT request"
        ia_wait_for "$IA_SERVER_LOG" "early data: accepted" 5 ||
            ia_fail "iotls server did not report early data accepted"
    fi
    [ ${#IA_REASONS[@]} -eq 0 ] || sed 's/^/    | /' "$IA_OUT" | tail -n 40
    ia_server_stop
fi
ia_cell_end
ia_finish
