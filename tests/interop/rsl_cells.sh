#!/usr/bin/env bash
# Record size cells (issue 7): `iotls client --record-size N` announces
# record_size_limit (RFC 8449) and max_fragment_length (RFC 6066); `iotls
# server --record-size N` honours either and announces its own limit.
#
#   rsl_cells.sh
#
# Peers: openssl s_server / s_client (max_fragment_length only: OpenSSL 3.0
# has no RFC 8449), gnutls-serv (record_size_limit), our own client and
# server. A record over our limit cannot even fit our receive buffer, so a
# whole 1 MiB echo through a small-buffer client shows the peer kept to it;
# OpenSSL's -trace also shows each record's length on the wire.
# Every cell prints one "CELL rsl <what>: PASS|FAIL (why)" line.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

ia_init "rsl"
ia_need_peer openssl
ia_need_peer gnutls
PKI=$IA_PKI
IA_CLIENT_TIMEOUT=30
N=0
OUR_COMMON=(--ca "$PKI/ca.pem" --servername localhost --timeout 20)
BIG=$IA_WORK/big.txt
# 1 MiB of base64 lines (s_server -rev answers line by line).
head -c 786432 /dev/urandom | base64 -w 76 >"$BIG"
BIG_SIZE=$(stat -c %s "$BIG")
LC_ALL=C rev "$BIG" >"$IA_WORK/big.rev"

started() {
    [ "$1" = 0 ] && return 0
    ia_fail "server did not start: $(tail -n 2 "$IA_WORK/start$N.err" 2>/dev/null | tr '\n' ' ')"
    return 1
}

# max_trace_len DIRECTION: the largest record body length OpenSSL's -trace
# logged for "Sent" or "Received" records.
max_trace_len() {
    awk -v d="$1 Record" '$0 == d {s = 1; next} s && /Length = / {print $3; s = 0}' \
        "$IA_SERVER_LOG" | sort -n | tail -n 1
}

# our client with --record-size N against openssl s_server -rev -trace:
# the 1 MiB comes back reversed line by line; s_server's EncryptedExtensions
# carry max_fragment_length, and no record either way is over N + 17 bytes
# of ciphertext (content, type byte, 16-byte tag).
for size in 2048 4096; do
    ia_cell_begin "rsl client $size vs openssl (max_fragment_length)"
    N=$((N + 1))
    if ia_start_server "o$N" -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 -tls1_3 \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -rev -trace 2>"$IA_WORK/start$N.err"; then
        ia_client "c$N" "$BIG" "size:$BIG_SIZE" -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --record-size $size
        ia_expect_rc 0
        cmp -s "$IA_OUT" "$IA_WORK/big.rev" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
        ia_server_wait 2>/dev/null
        grep -q "max_fragment_length := 2^$((size == 2048 ? 11 : 12))" "$IA_SERVER_LOG" ||
            ia_fail "no max_fragment_length 2^.. in s_server's trace"
        sent=$(max_trace_len Sent)
        recv=$(max_trace_len Received)
        [ -n "$sent" ] && [ "$sent" -le $((size + 17)) ] || ia_fail "s_server sent a record of $sent bytes"
        [ -n "$recv" ] && [ "$recv" -le $((size + 17)) ] || ia_fail "we sent a record of $recv bytes"
    else
        started 1
    fi
    ia_cell_end
done

# our client against gnutls-serv --echo: record_size_limit N + 1 (RFC 8449,
# TLS 1.3 counts the type byte) negotiated, as gnutls-serv's log says.
for size in 2048 4096; do
    ia_cell_begin "rsl client $size vs gnutls (record_size_limit)"
    N=$((N + 1))
    if ia_start_server "g$N" -- gnutls-serv -p "{PORT}" --echo -d 4 \
        --x509certfile "$PKI/ecdsa-p256.pem" --x509keyfile "$PKI/ecdsa-p256.key" \
        2>"$IA_WORK/start$N.err"; then
        ia_client "c$N" "$BIG" "size:$BIG_SIZE" -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --record-size $size
        ia_expect_rc 0
        cmp -s "$IA_OUT" "$BIG" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
        grep -q "record_size_limit $((size + 1)) negotiated" "$IA_SERVER_LOG" ||
            ia_fail "gnutls-serv did not negotiate record_size_limit $((size + 1))"
        grep -q "Sending extension Record Size Limit" "$IA_SERVER_LOG" ||
            ia_fail "gnutls-serv sent no record_size_limit in EncryptedExtensions"
        ia_server_stop 2>/dev/null
    else
        started 1
    fi
    ia_cell_end
done

# our client and our server: small on both sides, and a small client
# against a full-size server (which honours the client's limit; a record
# over it would not fit the client's buffer).
for pair in "2048 2048" "2048 16384" "4096 512"; do
    set -- $pair
    ia_cell_begin "rsl client $1 vs our server $2"
    N=$((N + 1))
    if ia_start_server "s$N" -- "$IOTLS" server --port 0 --ready-file "{READY}" --once \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --timeout 20 \
        --record-size $2 2>"$IA_WORK/start$N.err"; then
        ia_client "c$N" "$BIG" "size:$BIG_SIZE" -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --record-size $1
        ia_expect_rc 0
        cmp -s "$IA_OUT" "$BIG" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
        ia_server_stop 2>/dev/null
    else
        started 1
    fi
    ia_cell_end
done

# Reassembly in the receive buffer (--reassemble-in-place: no handshake
# buffer). openssl s_server cutting its records at 512 (-max_send_frag):
# its Certificate spans records, each continuing record fits our 1024- or
# 2048-byte buffer behind the part held; 1 MiB comes back reversed. Our
# server at 512 against our client at 1024 the same. At 512 against
# s_server filling its records to our limit, the record that continues the
# Certificate does not fit behind its first part: our client fails with
# internal_error (a limit of ours, not the peer's fault) and s_server gets
# that alert.
for size in 1024 2048; do
    ia_cell_begin "rsl client $size in place vs openssl -max_send_frag 512"
    N=$((N + 1))
    if ia_start_server "o$N" -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 -tls1_3 \
        -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -rev -max_send_frag 512 \
        2>"$IA_WORK/start$N.err"; then
        ia_client "c$N" "$BIG" "size:$BIG_SIZE" -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
            --record-size $size --reassemble-in-place
        ia_expect_rc 0
        cmp -s "$IA_OUT" "$IA_WORK/big.rev" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
        ia_server_wait 2>/dev/null
    else
        started 1
    fi
    ia_cell_end
done

ia_cell_begin "rsl client 1024 in place vs our server 512"
N=$((N + 1))
if ia_start_server "s$N" -- "$IOTLS" server --port 0 --ready-file "{READY}" --once \
    --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --timeout 20 \
    --record-size 512 2>"$IA_WORK/start$N.err"; then
    ia_client "c$N" "$BIG" "size:$BIG_SIZE" -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
        --record-size 1024 --reassemble-in-place
    ia_expect_rc 0
    cmp -s "$IA_OUT" "$BIG" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
    ia_server_stop 2>/dev/null
else
    started 1
fi
ia_cell_end

ia_cell_begin "rsl client 512 in place vs openssl filling its records (refused)"
N=$((N + 1))
if ia_start_server "o$N" -- openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1 -tls1_3 \
    -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -rev 2>"$IA_WORK/start$N.err"; then
    : >"$IA_WORK/empty"
    ia_client "c$N" "$IA_WORK/empty" eof -- 127.0.0.1:$IA_PORT "${OUR_COMMON[@]}" \
        --record-size 512 --reassemble-in-place
    ia_expect_error internal_error "reassembly in place"
    ia_server_wait 2>/dev/null
    grep -q "alert internal error" "$IA_SERVER_LOG" ||
        ia_fail "s_server did not get our internal_error alert"
else
    started 1
fi
ia_cell_end

# openssl s_client -maxfraglen 2048 against our server --record-size 2048:
# our EncryptedExtensions echo max_fragment_length; 1 MiB goes both ways
# in records of at most 2048 + 17 bytes.
ia_cell_begin "rsl openssl s_client -maxfraglen 2048 vs our server 2048"
N=$((N + 1))
if ia_start_server "s$N" -- "$IOTLS" server --port 0 --ready-file "{READY}" --once \
    --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --timeout 20 \
    --record-size 2048 2>"$IA_WORK/start$N.err"; then
    IA_CLIENT_CMD=(openssl s_client -connect 127.0.0.1:$IA_PORT -tls1_3 -maxfraglen 2048
        -CAfile "$PKI/ca.pem" -servername localhost -verify_return_error -quiet -trace
        -msgfile "$IA_WORK/sc$N.trace")
    ia_client "c$N" "$BIG" "size:$BIG_SIZE" --
    unset IA_CLIENT_CMD
    grep -q "max_fragment_length := 2^11" "$IA_WORK/sc$N.trace" ||
        ia_fail "s_client's trace shows no max_fragment_length in our EncryptedExtensions"
    cmp -s "$IA_OUT" "$BIG" || ia_fail "1 MiB not echoed intact ($(stat -c %s "$IA_OUT") bytes back)"
    IA_SERVER_LOG=$IA_WORK/sc$N.trace
    recv=$(max_trace_len Received)
    [ -n "$recv" ] && [ "$recv" -le $((2048 + 17)) ] || ia_fail "s_client received a record of $recv bytes"
    ia_server_stop 2>/dev/null
else
    started 1
fi
ia_cell_end

# A server that ignores both extensions: --record-size 3000 is no
# max_fragment_length size, and OpenSSL 3.0 does not know record_size_limit,
# so s_server -WWW sends the file in full 16 KiB records. Our client fails
# cleanly with record_overflow (and sends that alert); with --record-size
# 16384 (the default) the same fetch works.
printf 'x%.0s' $(seq 1 40000) >"$IA_WORK/www.txt"
for size in 3000 16384; do
    ia_cell_begin "rsl client $size vs a server ignoring the limit"
    N=$((N + 1))
    if (cd "$IA_WORK" && ia_start_server "w$N" -- openssl s_server -accept "127.0.0.1:{PORT}" \
        -naccept 1 -tls1_3 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -WWW -trace \
        2>"$IA_WORK/start$N.err"; echo "$IA_PORT" >"$IA_WORK/w$N.port"); then
        IA_SERVER_LOG=$IA_WORK/w$N.server.log
        port=$(cat "$IA_WORK/w$N.port")
        : >"$IA_WORK/empty"
        ia_client "c$N" "$IA_WORK/empty" eof -- 127.0.0.1:$port "${OUR_COMMON[@]}" \
            --record-size $size --get /www.txt -v
        if [ $size = 16384 ]; then
            ia_expect_rc 0
            grep -q "xxxxxxxxxx" "$IA_OUT" || ia_fail "the file did not arrive"
        else
            ia_expect_error record_overflow
            # Our client sent the alert (its trace says so). Whether s_server
            # still reads it is a race: -WWW may have closed the connection
            # after writing the whole file, so its log is not checked.
            grep -q -- "-> alert record_overflow" "$IA_ERR" ||
                ia_fail "our client did not send the record_overflow alert"
        fi
    else
        started 1
    fi
    ia_cell_end
done

ia_finish
