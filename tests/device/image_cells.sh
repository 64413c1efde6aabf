#!/usr/bin/env bash
# What the iotls firmware (make device: iotls-BOARD.elf) links. For its
# certificate checks: the handshake asks the provider for the verdict alone
# (iotls__x509_verify), so the words that explain a refused certificate
# (iotls__x509_verify_explain and what writes them, Mbed TLS'
# mbedtls_x509_crt_verify_info) stay out of a firmware that never asks for
# them (it calls no iotls_conn_error_detail): docs/device.md, "Where the
# flash goes". The verdict's own functions must be there, so that a renamed
# symbol cannot make the check pass on nothing. And as a TLS client: the
# server's code stays out (second cell); certificate dates need no 64-bit
# division (third); the configuration keeps no failure texts (fourth); the
# heap is measured by the port (fifth).
#
# Usage: image_cells.sh BOARD      BOARD: cm4 | rv32
# Environment as device_cells.sh.
set -u
BOARD=${1:?usage: image_cells.sh BOARD}
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../interop/lib.sh"
ia_init "device-image-$BOARD"
W=$IA_WORK
ELF=$IOTLS_DEVICE_BUILD/$BOARD/iotls-$BOARD.elf
. "$HERE/../../port/baremetal/boards.sh"
board_flags "$BOARD" || exit 2
NM=$CROSS-nm

ia_cell_begin "device $BOARD firmware: certificate verdict linked, its explanation not"
if [ ! -f "$ELF" ]; then
    ia_fail "no firmware at $ELF (make device builds it)"
else
    "$NM" "$ELF" >"$W/nm.txt" 2>&1 || ia_fail "$NM failed on $ELF"
    for sym in iotls__x509_verify iotls__mbx509_verify iotls__mbx509_conclude \
        iotls__x509_check_keys; do
        grep -q " $sym\$" "$W/nm.txt" || ia_fail "image lacks the verdict's $sym"
    done
    for sym in iotls__x509_verify_explain iotls__common_explain iotls__common_host_detail \
        iotls__common_key_problem_text iotls__mbx509_flags_text iotls__common_set_detail \
        mbedtls_x509_crt_verify_info; do
        ! grep -q " $sym\$" "$W/nm.txt" || ia_fail "image links $sym, which only explains a refusal"
    done
fi
ia_cell_end

# The firmware is a TLS client (IOTLS_NO_SERVER, build-firmware.sh): what
# only a server needs stays out, also where it lives in a file both roles
# share. The client's own HKDF-Expand must be there.
ia_cell_begin "device $BOARD firmware: a client, without the server's code"
if [ -f "$ELF" ]; then
    grep -q " iotls__hkdf_expand\$" "$W/nm.txt" || ia_fail "image lacks iotls__hkdf_expand"
    # hkdf_expand_hmac: HKDF-Expand for a PRK longer than the hash (the
    # server's ticket keys), in the PSA provider.
    for sym in iotls__server_handle hkdf_expand_hmac; do
        ! grep -q " $sym\$" "$W/nm.txt" || ia_fail "image links $sym, which only a server uses"
    done
    # iotls_config_new draws no ticket master (only a server seals
    # tickets): what it calls, which must include calloc so that an empty
    # disassembly cannot pass.
    "$CROSS-objdump" -d --disassemble=iotls_config_new "$ELF" >"$W/config_new.txt" 2>&1 ||
        ia_fail "$CROSS-objdump failed on $ELF"
    grep -q "<calloc>" "$W/config_new.txt" || ia_fail "no disassembly of iotls_config_new calling calloc"
    ! grep -q "<iotls__random>" "$W/config_new.txt" ||
        ia_fail "iotls_config_new draws a ticket key (iotls__random), which only a server uses"
fi
ia_cell_end

# A certificate's dates become seconds in 32-bit day arithmetic
# (src/crypto/mbedtls_common/x509.c: years 0..9999): no 64-bit division
# helper from the C library for it.
ia_cell_begin "device $BOARD firmware: certificate dates without 64-bit division"
if [ -f "$ELF" ]; then
    "$CROSS-objdump" -d --disassemble=iotls__mbx509_time_unix "$ELF" >"$W/time_unix.txt" 2>&1 ||
        ia_fail "$CROSS-objdump failed on $ELF"
    grep -q "<iotls__mbx509_time_unix>:" "$W/time_unix.txt" ||
        ia_fail "no disassembly of iotls__mbx509_time_unix"
    ! grep -qE "<(__aeabi_ldivmod|__divdi3|__moddi3)>" "$W/time_unix.txt" ||
        ia_fail "iotls__mbx509_time_unix calls a 64-bit division"
fi
ia_cell_end

# The configuration's load-failure texts are written by iotls_config_error
# alone (src/config/config.c), which the firmware never calls: its
# setters keep only what failed and why. Searched as the words themselves,
# which a renamed function cannot hide; the setters the firmware calls must
# be there, so that the cell cannot pass on an image without them.
ia_cell_begin "device $BOARD firmware: the configuration's failure texts stay out"
if [ -f "$ELF" ]; then
    for sym in iotls_config_set_ca_mem iotls_config_set_cert_mem; do
        grep -q " $sym\$" "$W/nm.txt" || ia_fail "image lacks $sym"
    done
    grep -q " iotls_config_error\$" "$W/nm.txt" && ia_fail "image links iotls_config_error"
    for text in "no usable certificate" "do not belong together" "not a private key in PEM" \
        "passphrase does not decrypt" "no certificate in it" "out of memory"; do
        ! LC_ALL=C grep -a -q "$text" "$ELF" || ia_fail "image holds the text \"$text\""
    done
fi
ia_cell_end

# The measuring belongs to the port, as in the comparison firmware: the
# port counts Mbed TLS' heap (platform.c), the TLS layer carries no
# allocation accounting of its own (iotls_crypto_mem_stats).
ia_cell_begin "device $BOARD firmware: Mbed TLS' heap counted by the port, not by the provider"
if [ -f "$ELF" ]; then
    grep -q " port_mbedtls_heap_peak\$" "$W/nm.txt" || ia_fail "image lacks port_mbedtls_heap_peak"
    for sym in iotls_crypto_mem_stats iotls__crypto_mem_reset_peak iotls__common_mem_alloc; do
        ! grep -q " $sym\$" "$W/nm.txt" || ia_fail "image links the provider's accounting ($sym)"
    done
fi
ia_cell_end
ia_finish
