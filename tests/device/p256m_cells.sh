#!/usr/bin/env bash
# The iotls firmware linked with Mbed TLS 4 built with p256-m and P-256 only
# (make device-compare: iotls-p256m-BOARD.elf; docs/device.md) on an
# emulated board, against iotls server preferring x25519 over secp256r1:
#   the image   holds p256-m's code and none of Mbed TLS' built-in ECC
#               (mbedtls_ecp_*), so the handshake below is p256-m's
#   full        full handshake (chain and host name verified with ECDSA
#               P-256, device certificate asked for and signed with P-256),
#               HTTP GET, close_notify; the group must be secp256r1: the
#               firmware offers only what its library has (no x25519), so a
#               server that would rather have x25519 still gets secp256r1
#
# Usage: p256m_cells.sh BOARD      BOARD: cm4 | rv32
# Environment as device_cells.sh.
set -u
BOARD=${1:?usage: p256m_cells.sh BOARD}
HERE=$(cd "$(dirname "$0")" && pwd)
: "${IA_SERVER_TIMEOUT:=240}"
. "$HERE/../interop/lib.sh"
ia_init "device-p256m-$BOARD"
PKI=$IA_PKI
W=$IA_WORK
ELF=$IOTLS_DEVICE_BUILD/$BOARD/iotls-p256m-$BOARD.elf
. "$HERE/../../port/baremetal/boards.sh"
board_flags "$BOARD" || exit 2
NM=$CROSS-nm

ia_cell_begin "device $BOARD p256-m firmware: image holds p256-m and no built-in ECC"
if [ ! -f "$ELF" ]; then
    ia_fail "no p256-m firmware at $ELF (make device-compare builds it)"
else
    "$NM" "$ELF" >"$W/nm.txt" 2>&1 || ia_fail "$NM failed on $ELF"
    for sym in p256_ecdsa_sign p256_ecdsa_verify p256_ecdh_shared_secret; do
        grep -q " $sym\$" "$W/nm.txt" || ia_fail "image lacks p256-m's $sym"
    done
    ! grep -q ' mbedtls_ecp_' "$W/nm.txt" || ia_fail "image still holds Mbed TLS' built-in ECC (mbedtls_ecp_*)"
fi
ia_cell_end

ia_cell_begin "device $BOARD p256-m firmware vs iotls server (x25519 preferred): full+get, secp256r1"
ia_start_server full -- "$IOTLS" server --port 0 --ready-file "{READY}" --http \
    --groups x25519,secp256r1 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" \
    --ca "$PKI/ca.pem" || ia_fail "iotls server did not start"
if [ ${#IA_REASONS[@]} -eq 0 ]; then
    IA_OUT=$W/board.out
    timeout -k 5 300 python3 "$HERE/../../tools/device/run_client.py" "$BOARD" "127.0.0.1:$IA_PORT" \
        --p256m --ca "$PKI/ca.pem" --cert "$PKI/client-ecdsa.pem" --key "$PKI/client-ecdsa.key" \
        --servername localhost --get / >"$IA_OUT" 2>&1
    rc=$?
    [ "$rc" -eq 0 ] || ia_fail "run-client exit status $rc"
    for want in "[image] iotls-p256m-$BOARD.elf" \
        "group=secp256r1 resumed=0 verified=1 client_auth=1 sig=ecdsa_secp256r1_sha256" \
        "group:        secp256r1" "(certificate verified)" "  handshake_full " "run-client: OK"; do
        grep -qF -- "$want" "$IA_OUT" || ia_fail "board output lacks: $want"
    done
    [ ${#IA_REASONS[@]} -eq 0 ] || sed 's/^/    | /' "$IA_OUT" | tail -n 40
    ia_server_stop
fi
ia_cell_end
ia_finish
