#!/usr/bin/env bash
# External PSK and KeyUpdate cells (RFC 8446 2.2, 4.2.11, 4.6.3, 5.5) between
# our client/server, OpenSSL and GnuTLS over 127.0.0.1.
#
#   psk_cells.sh
# PSK: our client with openssl s_server -psk -nocert (psk_dhe_ke, and psk_ke
# with -allow_no_dhe_kex), openssl s_client -psk with our PSK-only server
# (both modes, and after a HelloRetryRequest), SHA-384 both ways (OpenSSL's
# -psk is always SHA-256, so the SHA-384 PSK is a session file, -psk_session,
# whose key we read with
# sess_id), a wrong key (decrypt_error), GnuTLS (gnutls-serv --pskpasswd,
# gnutls-cli --pskusername/--pskkey, ECDHE-PSK and PSK; GnuTLS has no
# SHA-384 external PSK and DHE-PSK needs FFDHE, which we do not do), our
# client with our server (modes, unknown identity).
# KeyUpdate: our client with --key-update-limit 3 sending 1 MiB through
# openssl s_server and gnutls-serv --echo (GnuTLS refuses more than 8
# KeyUpdates a second, so that input is paced), --key-update, openssl
# s_client's K command against our server, and our server rotating its own
# keys under --key-update-limit while echoing 1 MiB.
# Every cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "psk"
PKI=$IA_PKI
KEY=8f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef
BAD=8f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeee
ID=sensor-0042

. "$(dirname "$0")/feature_lib.sh"

# our_server TAG ARGS...: our server with ARGS only (PSK cells need no
# certificate); sets PORT.
our_server() { iotls_server_bg "$@"; }

# our_client TAG PORT ARGS...: see iotls_client_line.
our_client() {
    local tag=$1 port=$2
    shift 2
    iotls_client_line "$tag" "127.0.0.1:$port" "$@"
}

# ossl_server TAG ARGS...: openssl s_server for one connection, its
# stdin held open; sets PORT once it listens.
ossl_server() {
    local tag=$1
    shift
    PORT=$("$IA_FREEPORT")
    ia_spawn_held 15 timeout --foreground -k "$IA_KILL_AFTER" 20 openssl s_server -accept "127.0.0.1:$PORT" \
        -naccept 1 -quiet "$@" >"$W/$tag.log" 2>"$W/$tag.slog"
    for _ in $(seq 1 100); do ia_listening "$PORT" 2>/dev/null && break; sleep 0.05; done
}

gnutls_server() {
    local tag=$1
    shift
    PORT=$("$IA_FREEPORT")
    ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 30 gnutls-serv -p "$PORT" --pskpasswd "$W/psk.passwd" "$@" >"$W/$tag.log" 2>&1
    for _ in $(seq 1 100); do ia_listening "$PORT" 2>/dev/null && break; sleep 0.05; done
}

wait_pid_file() { # up to 6 s for TEXT in FILE
    for _ in $(seq 1 120); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    return 1
}

wait_size() { # up to 10 s for FILE to reach SIZE bytes
    for _ in $(seq 1 200); do
        [ "$(stat -c %s "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return 0
        sleep 0.05
    done
    return 1
}

echo "$ID:$KEY" >"$W/psk.passwd"
head -c 786432 /dev/urandom | base64 -w 76 >"$W/1m.txt" # 1 MiB of lines

# ---------------- our client, openssl s_server ----------------
cell="client-openssl-psk_dhe_ke"
ossl_server od -psk "$KEY" -psk_identity "$ID" -nocert
if ! our_client od "$PORT" --psk "$KEY" --psk-identity "$ID"; then
    fail $cell "handshake failed" "$W/od.err" "$W/od.slog"
elif ! grep -q "TLS_AES_128_GCM_SHA256 x25519 (external PSK)" "$W/od.err" ||
    ! wait_pid_file "$W/od.log" "hello od"; then
    fail $cell "not an external-PSK ECDHE handshake, or data lost" "$W/od.err" "$W/od.log"
else
    pass $cell
fi

cell="client-openssl-psk_ke"
ossl_server ok -psk "$KEY" -psk_identity "$ID" -nocert -allow_no_dhe_kex
if ! our_client ok "$PORT" --psk "$KEY" --psk-identity "$ID" --psk-ke; then
    fail $cell "handshake failed" "$W/ok.err" "$W/ok.slog"
elif ! grep -q "none (external PSK, psk_ke)" "$W/ok.err" || ! wait_pid_file "$W/ok.log" "hello ok"; then
    fail $cell "not psk_ke" "$W/ok.err" "$W/ok.log"
else
    pass $cell
fi

cell="client-openssl-psk_ke-refused"
ossl_server or -psk "$KEY" -psk_identity "$ID" -nocert
if our_client or "$PORT" --psk "$KEY" --psk-identity "$ID" --psk-ke; then
    fail $cell "a server without -allow_no_dhe_kex accepted psk_ke" "$W/or.err"
elif ! grep -qi "iotls: .*alert" "$W/or.err"; then
    fail $cell "no alert named" "$W/or.err"
else
    pass $cell
fi

cell="client-openssl-wrong-key"
ossl_server ow -psk "$KEY" -psk_identity "$ID" -nocert
if our_client ow "$PORT" --psk "$BAD" --psk-identity "$ID"; then
    fail $cell "handshake with the wrong key succeeded" "$W/ow.err"
elif ! grep -q "binder does not verify" "$W/ow.slog" || ! grep -qi "iotls: .*alert" "$W/ow.err"; then
    # OpenSSL answers a bad binder with illegal_parameter (RFC: decrypt_error).
    fail $cell "expected the binder refused" "$W/ow.err" "$W/ow.slog"
else
    pass $cell
fi

# A SHA-384 PSK: a TLS_AES_256_GCM_SHA384 session of s_client with our
# server, whose resumption PSK becomes the external key on both sides.
cell="sha384-session-setup"
S384=""
if our_server t384 --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --ciphers aes256gcm \
    --tickets 1; then
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_out "$W/s384.pem" >"$W/t384.out" 2>&1
    S384=$(openssl sess_id -in "$W/s384.pem" -noout -text 2>/dev/null |
        awk '/Resumption PSK:|Master-Key:/{print $NF}')
fi
if [ ${#S384} -ne 96 ]; then
    fail $cell "no SHA-384 session key (${#S384} hex digits)" "$W/t384.out" "$W/t384.log"
else
    pass $cell

    cell="client-openssl-psk-sha384"
    ossl_server o384 -psk_session "$W/s384.pem" -psk_identity "$ID" -nocert
    if ! our_client o384 "$PORT" --psk "$S384" --psk-identity "$ID" --psk-hash sha384; then
        fail $cell "handshake failed" "$W/o384.err" "$W/o384.slog"
    elif ! grep -q "TLS_AES_256_GCM_SHA384 x25519 (external PSK)" "$W/o384.err" ||
        ! wait_pid_file "$W/o384.log" "hello o384"; then
        fail $cell "not a SHA-384 external PSK handshake" "$W/o384.err" "$W/o384.log"
    else
        pass $cell
    fi

    cell="server-openssl-psk-sha384"
    if ! our_server s384 --psk "$S384" --psk-identity "$ID" --psk-hash sha384 --once; then
        fail $cell "our server did not start" "$W/s384.log"
    else
        (echo hi384; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
            -psk_session "$W/s384.pem" -psk_identity "$ID" -ciphersuites TLS_AES_256_GCM_SHA384 \
            >"$W/s384.out" 2>&1
        if ! grep -q "^hi384" "$W/s384.out" ||
            ! grep -q "TLS_AES_256_GCM_SHA384 x25519 (external PSK)" "$W/s384.log"; then
            fail $cell "no SHA-384 external PSK handshake" "$W/s384.out" "$W/s384.log"
        else
            pass $cell
        fi
    fi
fi

# ---------------- openssl s_client, our PSK-only server ----------------
cell="server-openssl-psk_dhe_ke"
if ! our_server sd --psk "$KEY" --psk-identity "$ID" --once; then
    fail $cell "our server did not start" "$W/sd.log"
else
    (echo hi-sd; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -psk "$KEY" -psk_identity "$ID" >"$W/sd.out" 2>&1
    if ! grep -q "^hi-sd" "$W/sd.out" || ! grep -q "x25519 (external PSK)" "$W/sd.log"; then
        fail $cell "no PSK handshake or no echo" "$W/sd.out" "$W/sd.log"
    elif grep -q "Server certificate" "$W/sd.out"; then
        fail $cell "a certificate was sent" "$W/sd.out"
    else
        pass $cell
    fi
fi

# A PSK-only server with secp384r1 alone: s_client's x25519 share gets a
# HelloRetryRequest, and the PSK offered again in its second ClientHello
# completes the handshake (RFC 8446 4.1.4).
cell="server-openssl-psk-after-hrr"
if ! our_server sh --psk "$KEY" --psk-identity "$ID" --groups secp384r1 --once; then
    fail $cell "our server did not start" "$W/sh.log"
else
    (echo hi-sh; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -psk "$KEY" -psk_identity "$ID" -groups X25519:P-384 -msg >"$W/sh.out" 2>&1
    if [ "$(grep -c '>>> .*ClientHello' "$W/sh.out")" -ne 2 ]; then
        fail $cell "no HelloRetryRequest (expected two ClientHellos)" "$W/sh.out" "$W/sh.log"
    elif ! grep -q "^hi-sh" "$W/sh.out" || ! grep -q "secp384r1 (HRR) (external PSK)" "$W/sh.log"; then
        fail $cell "no PSK handshake after the HelloRetryRequest" "$W/sh.out" "$W/sh.log"
    else
        pass $cell
    fi
fi

cell="server-openssl-psk_ke"
if ! our_server sk --psk "$KEY" --psk-identity "$ID" --psk-ke --once; then
    fail $cell "our server did not start" "$W/sk.log"
else
    (echo hi-sk; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -psk "$KEY" -psk_identity "$ID" -allow_no_dhe_kex >"$W/sk.out" 2>&1
    if ! grep -q "^hi-sk" "$W/sk.out" || ! grep -q "SHA256 none (external PSK)" "$W/sk.log"; then
        fail $cell "no psk_ke handshake" "$W/sk.out" "$W/sk.log"
    else
        pass $cell
    fi
fi

cell="server-openssl-wrong-key"
if ! our_server sw --psk "$KEY" --psk-identity "$ID" --once; then
    fail $cell "our server did not start" "$W/sw.log"
else
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -psk "$BAD" -psk_identity "$ID" >"$W/sw.out" 2>&1
    wait_pid_file "$W/sw.log" "conn 1"
    if ! grep -q "decrypt_error" "$W/sw.log" || ! grep -qi "decrypt error" "$W/sw.out"; then
        fail $cell "expected decrypt_error" "$W/sw.out" "$W/sw.log"
    else
        pass $cell
    fi
fi

cell="server-openssl-unknown-identity"
if ! our_server su --psk "$KEY" --psk-identity "$ID" --once; then
    fail $cell "our server did not start" "$W/su.log"
else
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -psk "$KEY" -psk_identity "someone-else" >"$W/su.out" 2>&1
    wait_pid_file "$W/su.log" "conn 1"
    if ! grep -q "handshake_failure" "$W/su.log"; then
        fail $cell "expected handshake_failure from a PSK-only server" "$W/su.out" "$W/su.log"
    else
        pass $cell
    fi
fi

# ---------------- GnuTLS ----------------
if ! command -v gnutls-serv >/dev/null; then
    fail "gnutls" "gnutls-serv not installed (Debian: gnutls-bin)"
else
    cell="client-gnutls-ecdhe-psk"
    gnutls_server gd --priority "NORMAL:+ECDHE-PSK:+PSK" --echo
    if ! our_client gd "$PORT" --psk "$KEY" --psk-identity "$ID"; then
        fail $cell "handshake failed" "$W/gd.err" "$W/gd.log"
    elif ! grep -q "x25519 (external PSK)" "$W/gd.err" || ! grep -q "hello gd" "$W/gd.out"; then
        fail $cell "no PSK handshake or no echo" "$W/gd.err" "$W/gd.out"
    else
        pass $cell
    fi
    cell="client-gnutls-psk_ke"
    if ! our_client gk "$PORT" --psk "$KEY" --psk-identity "$ID" --psk-ke; then
        fail $cell "handshake failed" "$W/gk.err" "$W/gd.log"
    elif ! grep -q "none (external PSK, psk_ke)" "$W/gk.err" || ! grep -q "hello gk" "$W/gk.out"; then
        fail $cell "not psk_ke" "$W/gk.err" "$W/gk.out"
    else
        pass $cell
    fi

    cell="server-gnutls-ecdhe-psk"
    if ! our_server gsd --psk "$KEY" --psk-identity "$ID" --once; then
        fail $cell "our server did not start" "$W/gsd.log"
    else
        (echo hi-gsd; sleep 0.6) | timeout -k 2 20 gnutls-cli -p "$PORT" 127.0.0.1 --pskusername "$ID" \
            --pskkey "$KEY" --priority "NORMAL:-KX-ALL:+ECDHE-PSK" >"$W/gsd.out" 2>&1
        if ! grep -q "^hi-gsd" "$W/gsd.out" || ! grep -q "x25519 (external PSK)" "$W/gsd.log"; then
            fail $cell "no PSK handshake or no echo" "$W/gsd.out" "$W/gsd.log"
        else
            pass $cell
        fi
    fi
    cell="server-gnutls-psk_ke"
    if ! our_server gsk --psk "$KEY" --psk-identity "$ID" --psk-ke --once; then
        fail $cell "our server did not start" "$W/gsk.log"
    else
        (echo hi-gsk; sleep 0.6) | timeout -k 2 20 gnutls-cli -p "$PORT" 127.0.0.1 --pskusername "$ID" \
            --pskkey "$KEY" --priority "NORMAL:-KX-ALL:+PSK" >"$W/gsk.out" 2>&1
        if ! grep -q "^hi-gsk" "$W/gsk.out" || ! grep -q "none (external PSK)" "$W/gsk.log"; then
            fail $cell "no psk_ke handshake" "$W/gsk.out" "$W/gsk.log"
        else
            pass $cell
        fi
    fi
fi

# ---------------- our client, our server ----------------
cell="client-server-psk"
if ! our_server cs --psk "$KEY" --psk-identity "$ID" --psk-hash sha384; then
    fail $cell "our server did not start" "$W/cs.log"
else
    CS=$PORT
    if ! our_client cs1 "$CS" --psk "$KEY" --psk-identity "$ID" --psk-hash sha384 ||
        ! grep -q "TLS_AES_256_GCM_SHA384 x25519 (external PSK)" "$W/cs1.err" ||
        ! grep -q "hello cs1" "$W/cs1.out"; then
        fail $cell "psk_dhe_ke SHA-384" "$W/cs1.err" "$W/cs.log"
    elif our_client cs2 "$CS" --psk "$KEY" --psk-identity "$ID" --psk-hash sha384 --psk-ke; then
        fail $cell "psk_ke accepted by a server without --psk-ke" "$W/cs2.err"
    elif our_client cs3 "$CS" --psk "$KEY" --psk-identity other --psk-hash sha384; then
        fail $cell "unknown identity accepted by a PSK-only server" "$W/cs3.err"
    elif ! grep -q "handshake_failure" "$W/cs3.err"; then
        fail $cell "unknown identity: expected handshake_failure" "$W/cs3.err"
    else
        pass $cell
    fi
fi
cell="client-server-unknown-identity-full-handshake"
if ! our_server cf --psk "$KEY" --psk-identity "$ID" --cert "$PKI/ecdsa-p256.pem" \
    --key "$PKI/ecdsa-p256.key"; then
    fail $cell "our server did not start" "$W/cf.log"
else
    if ! our_client cf1 "$PORT" --psk "$KEY" --psk-identity other --ca "$PKI/ca.pem" \
        --servername localhost || ! grep -q "verified" "$W/cf1.err" ||
        grep -q "external PSK" "$W/cf1.err"; then
        fail $cell "expected a certificate handshake" "$W/cf1.err" "$W/cf.log"
    elif ! our_client cf2 "$PORT" --psk "$KEY" --psk-identity "$ID" ||
        ! grep -q "external PSK" "$W/cf2.err"; then
        fail $cell "the right identity did not use the PSK" "$W/cf2.err"
    elif our_client cf3 "$PORT" --psk "$KEY" --psk-identity other; then
        fail $cell "a PSK-only client accepted a certificate it cannot check" "$W/cf3.err"
    else
        pass $cell
    fi
fi

# ---------------- KeyUpdate ----------------
cell="client-openssl-keyupdate-limit-1MiB"
ossl_server ku -psk "$KEY" -psk_identity "$ID" -nocert
(cat "$W/1m.txt"; sleep 1) | timeout -k 2 20 "$IOTLS" client "127.0.0.1:$PORT" --psk "$KEY" \
    --psk-identity "$ID" --key-update-limit 3 >"$W/ku.out" 2>"$W/ku.err"
wait_size "$W/ku.log" "$(stat -c %s "$W/1m.txt")"
n=$(sed -n 's/.*key updates sent \([0-9]*\) received.*/\1/p' "$W/ku.err")
if ! cmp -s "$W/ku.log" "$W/1m.txt"; then
    fail $cell "s_server did not receive the same 1 MiB" "$W/ku.err" "$W/ku.slog"
elif [ "${n:-0}" -lt 20 ]; then
    fail $cell "only ${n:-0} KeyUpdates" "$W/ku.err"
else
    pass $cell
fi

# s_server answers update_requested with its next write, and it writes
# nothing here: only our side's update is checked.
cell="client-openssl-key-update-flag"
ossl_server kf -psk "$KEY" -psk_identity "$ID" -nocert
if ! our_client kf "$PORT" --psk "$KEY" --psk-identity "$ID" --key-update ||
    ! grep -q "key updates sent 1 received" "$W/kf.err" || ! wait_pid_file "$W/kf.log" "hello kf"; then
    fail $cell "no KeyUpdate, or the data after it lost" "$W/kf.err" "$W/kf.log"
else
    pass $cell
fi

if ! command -v gnutls-serv >/dev/null; then
    for cell in client-gnutls-key-update-flag client-gnutls-echo-keyupdate-limit-576KiB; do
        fail $cell "gnutls-serv not installed (Debian: gnutls-bin)"
    done
else
    cell="client-gnutls-key-update-flag"
    gnutls_server gkf --priority "NORMAL:+ECDHE-PSK" --echo
    if ! our_client gkf "$PORT" --psk "$KEY" --psk-identity "$ID" --key-update ||
        ! grep -q "key updates sent 1 received 1" "$W/gkf.err" || ! grep -q "hello gkf" "$W/gkf.out"; then
        fail $cell "KeyUpdate not answered, or echo lost" "$W/gkf.err" "$W/gkf.log"
    else
        pass $cell
    fi

    cell="client-gnutls-echo-keyupdate-limit-576KiB"
    gnutls_server gku --priority "NORMAL:+ECDHE-PSK" --echo
    # GnuTLS refuses more than 8 KeyUpdates within a second of the first
    # one it counted. Our client seals each read of stdin (up to 16 KiB)
    # as one record and sends a KeyUpdate every 2 records here, so what
    # bounds the rate is how many reads the input takes: 48 chunks of
    # 12 KiB, 0.3 s apart, are 1 to 3 reads each (at most 4 chunks, 6
    # KeyUpdates, in any second), and chunks that arrive together are read
    # in fewer, larger pieces. Large chunks were seen to fail: read in
    # small pieces under load, one 128 KiB chunk made 9 KeyUpdates at once.
    head -c $((48 * 12288)) "$W/1m.txt" >"$W/gku.in"
    (for i in $(seq 0 47); do tail -c +$((i * 12288 + 1)) "$W/gku.in" | head -c 12288; sleep 0.3; done
     sleep 2) | timeout -k 2 45 "$IOTLS" client "127.0.0.1:$PORT" --psk "$KEY" --psk-identity "$ID" \
        --key-update-limit 2 >"$W/gku.out" 2>"$W/gku.err"
    n=$(sed -n 's/.*key updates sent \([0-9]*\) received.*/\1/p' "$W/gku.err")
    if ! cmp -s "$W/gku.out" "$W/gku.in"; then
        fail $cell "echo differs from the 576 KiB sent" "$W/gku.err" "$W/gku.log"
    elif [ "${n:-0}" -lt 20 ]; then
        fail $cell "only ${n:-0} KeyUpdates" "$W/gku.err"
    else
        pass $cell
    fi
fi

cell="server-openssl-K"
if ! our_server sK --psk "$KEY" --psk-identity "$ID" --once; then
    fail $cell "our server did not start" "$W/sK.log"
else
    (for i in 1 2 3 4 5 6; do echo "line$i"; sleep 0.3; echo K; sleep 0.3; done; echo last; sleep 0.5) |
        timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" -psk "$KEY" -psk_identity "$ID" \
            >"$W/sK.out" 2>&1
    wait_pid_file "$W/sK.log" "key updates"
    if ! grep -q "^last" "$W/sK.out" || [ "$(grep -c '^line' "$W/sK.out")" -ne 6 ]; then
        fail $cell "echo lost" "$W/sK.out" "$W/sK.log"
    # s_client takes "K" as a command only at the start of a read, which a
    # loaded machine may merge with the line before: 4 of the 6 suffice.
    elif ! grep -qE "key updates sent ([4-6]) received \1$" "$W/sK.log"; then
        fail $cell "expected 4 to 6 KeyUpdates each way, answered" "$W/sK.log"
    else
        pass $cell
    fi
fi

cell="server-openssl-keyupdate-limit-1MiB"
if ! our_server sL --psk "$KEY" --psk-identity "$ID" --key-update-limit 3 --once; then
    fail $cell "our server did not start" "$W/sL.log"
else
    # -quiet implies -ign_eof: s_client stays until its timeout ends it.
    (cat "$W/1m.txt"; sleep 2) | timeout -k 2 8 openssl s_client -connect "127.0.0.1:$PORT" -quiet \
        -psk "$KEY" -psk_identity "$ID" >"$W/sL.out" 2>"$W/sL.err"
    wait_pid_file "$W/sL.log" "key updates"
    n=$(sed -n 's/.*key updates sent \([0-9]*\) received.*/\1/p' "$W/sL.log")
    if ! cmp -s "$W/sL.out" "$W/1m.txt"; then
        fail $cell "echo differs from the 1 MiB sent" "$W/sL.err" "$W/sL.log"
    elif [ "${n:-0}" -lt 20 ]; then
        fail $cell "only ${n:-0} KeyUpdates from our server" "$W/sL.log"
    else
        pass $cell
    fi
fi

echo "psk cells: $IA_PASSED passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
