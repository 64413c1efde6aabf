#!/usr/bin/env bash
# Interop cells against Mbed TLS 4.0's own TLS 1.3 programs, ssl_server2 and
# ssl_client2, built from the release tarball by scripts/mbedtls4-peers.sh
# (TLS 1.3 with tickets, early data and record_size_limit).
#
#   mbedtls4_cells.sh ROLE SET
#     ROLE  client   OUR client (iotls client) against ssl_server2
#           server   ssl_client2 against OUR server (iotls server --echo --once)
#     SET   matrix   every suite (the CCM ones too) x x25519/secp256r1/secp384r1
#                    with an ECDSA P-256 and an RSA 2048 certificate; a chain
#                    through an intermediate with x25519
#           features client authentication with ECDSA and RSA certificates
#                    (and its refusal without one), tickets and resumption,
#                    0-RTT accepted, HRR; our client also: record_size_limit,
#                    KeyUpdate (which Mbed TLS does not implement); our server
#                    also: a Certificate over 16 KiB (more than Mbed TLS can
#                    reassemble)
#
# MBEDTLS4_PEERS names the directory with bin/ssl_server2 and bin/ssl_client2
# (set by CMake, which registers these tests only where the tarball exists).
# Every cell prints one "CELL ...: PASS|FAIL (why)" line naming its peer and
# parameters; the script exits 1 when any cell failed.
set -u
. "$(dirname "$0")/lib.sh"

ROLE=${1:?usage: mbedtls4_cells.sh client|server SET}
SET=${2:?usage: mbedtls4_cells.sh client|server SET}
ia_init "mbedtls4-$ROLE-$SET"
SERVER2=${MBEDTLS4_PEERS:?MBEDTLS4_PEERS must name the Mbed TLS 4 peers directory}/bin/ssl_server2
CLIENT2=$MBEDTLS4_PEERS/bin/ssl_client2
[ -x "$SERVER2" ] && [ -x "$CLIENT2" ] ||
    ia_die "Mbed TLS 4 peers not built in $MBEDTLS4_PEERS (scripts/mbedtls4-peers.sh)"
SERVER_BIN=${IA_IOTLS_SERVER:-$IOTLS}
PKI=$IA_PKI
SUITE_LIST="TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256
TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256"
GROUP_LIST="x25519 secp256r1 secp384r1"
CELLNO=0
PEER_NAME="mbedtls4-ssl_server2"
[ "$ROLE" = server ] && PEER_NAME="mbedtls4-ssl_client2"

# Mbed TLS' names for the TLS 1.3 suites (force_ciphersuite=).
mbed_suite() {
    case $1 in
    TLS_AES_128_GCM_SHA256) echo TLS1-3-AES-128-GCM-SHA256 ;;
    TLS_AES_256_GCM_SHA384) echo TLS1-3-AES-256-GCM-SHA384 ;;
    TLS_CHACHA20_POLY1305_SHA256) echo TLS1-3-CHACHA20-POLY1305-SHA256 ;;
    TLS_AES_128_CCM_SHA256) echo TLS1-3-AES-128-CCM-SHA256 ;;
    TLS_AES_128_CCM_8_SHA256) echo TLS1-3-AES-128-CCM-8-SHA256 ;;
    *) ia_die "no Mbed TLS name for $1" ;;
    esac
}

cert_args() { # cert_args CERT: crt_file=/key_file= for ssl_server2
    case $1 in
    chain) echo "crt_file=$PKI/chain.pem key_file=$PKI/chain-leaf.key" ;;
    *) echo "crt_file=$PKI/$1.pem key_file=$PKI/$1.key" ;;
    esac
}

sig_re() {
    case $1 in
    ecdsa-p256 | chain) echo 'ecdsa_secp256r1_sha256' ;;
    rsa2048) echo 'rsa_pss_rsae_sha(256|384|512)' ;;
    esac
}

# ---------------- our client, ssl_server2 ----------------

# start_server2 ARGS...: ssl_server2 on a free port, TLS 1.3 only.
start_server2() {
    CELLNO=$((CELLNO + 1))
    # shellcheck disable=SC2046
    if ! ia_start_server "c$CELLNO" -- "$SERVER2" server_addr=127.0.0.1 "server_port={PORT}" \
        force_version=tls13 ca_file="$PKI/ca.pem" "$@" 2>"$IA_WORK/c$CELLNO.start.err"; then
        ia_fail "ssl_server2 did not start: $(tail -n 2 "$IA_WORK/c$CELLNO.start.err" | tr '\n' ' ')"
        return 1
    fi
}

# get TAG CLIENT-ARGS...: an HTTP GET through our client; ssl_server2 answers
# with the suite it used and closes.
get() {
    local tag=$1
    shift
    printf 'GET / HTTP/1.0\r\n\r\n' >"$IA_WORK/$tag.in"
    ia_client "$tag" "$IA_WORK/$tag.in" "grep:Successful connection" -- "127.0.0.1:$IA_PORT" \
        --ca "$PKI/ca.pem" --servername localhost --timeout 10 -v "$@"
    ia_expect_rc 0
    ia_expect_out_has "Mbed TLS Test Server"
}

client_matrix_cell() { # CERT SUITE GROUP
    local cert=$1 suite=$2 group=$3
    ia_cell_begin "client $PEER_NAME suite=$suite group=$group cert=$cert"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args "$cert") force_ciphersuite="$(mbed_suite "$suite")" groups="$group"; then
        get "c$CELLNO" --ciphers "$suite" --groups "$group"
        ia_expect_out_has "Successful connection using: $(mbed_suite "$suite")"
        ia_expect_suite "$suite"
        ia_expect_group "$group"
        ia_expect_trace "$(sig_re "$cert")" "peer signature $(sig_re "$cert")"
        ia_server_stop
    fi
    ia_cell_end
}

client_matrix() {
    local suite group
    for suite in $SUITE_LIST; do
        for group in $GROUP_LIST; do
            client_matrix_cell ecdsa-p256 "$suite" "$group"
            client_matrix_cell rsa2048 "$suite" "$group"
        done
    done
    client_matrix_cell chain TLS_AES_128_GCM_SHA256 x25519
}

client_features() {
    local kind
    for kind in client-ecdsa client-rsa; do
        ia_cell_begin "client $PEER_NAME client-auth=required cert=$kind"
        # shellcheck disable=SC2046
        if start_server2 $(cert_args ecdsa-p256) auth_mode=required; then
            get "c$CELLNO" --cert "$PKI/$kind.pem" --key "$PKI/$kind.key"
            ia_server_stop
            ia_expect_server_log "Verifying peer X.509 certificate... ok" "our certificate verified"
            ia_expect_server_log "iotls interop client ${kind#client-}" "our certificate's subject"
        fi
        ia_cell_end
    done

    ia_cell_begin "client $PEER_NAME client-auth=required, no client certificate: refused"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256) auth_mode=required; then
        printf 'GET / HTTP/1.0\r\n\r\n' >"$IA_WORK/c$CELLNO.in"
        ia_client "c$CELLNO" "$IA_WORK/c$CELLNO.in" exit -- "127.0.0.1:$IA_PORT" \
            --ca "$PKI/ca.pem" --servername localhost --timeout 10 -v
        ia_expect_fail_rc
        ! grep -q "Successful connection" "$IA_OUT" || ia_fail "the server answered"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $PEER_NAME tickets=1: resumption with the saved ticket (--sess-in)"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256) tickets=1; then
        local sess=$IA_WORK/c$CELLNO.session
        get "c$CELLNO" --sess-out "$sess"
        [ -s "$sess" ] || ia_fail "no session ticket saved from the first connection"
        ! grep -qE 'peer auth: +resumed' "$IA_ERR" || ia_fail "the first connection claims resumption"
        get "c${CELLNO}b" --sess-in "$sess"
        grep -qE 'peer auth: +resumed' "$IA_ERR" || ia_fail "the second connection was not resumed"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $PEER_NAME early_data=1: 0-RTT accepted on resumption"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256) tickets=1 early_data=1 max_early_data_size=4096; then
        local sess=$IA_WORK/c$CELLNO.session early=$IA_WORK/c$CELLNO.early
        printf 'early-%s\n' "$$" >"$early"
        get "c$CELLNO" --sess-out "$sess"
        get "c${CELLNO}b" --sess-in "$sess" --early-data "$early"
        grep -q "early data accepted" "$IA_ERR" || ia_fail "our client does not report 0-RTT accepted"
        grep -qE 'peer auth: +resumed' "$IA_ERR" || ia_fail "not resumed"
        ia_server_stop
        ia_expect_server_log "early data bytes read" "ssl_server2 reading the early data"
        ia_expect_server_log "early-$$" "the early data itself"
    fi
    ia_cell_end

    ia_cell_begin "client $PEER_NAME hrr: server groups=secp384r1, client --groups x25519,secp384r1"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256) groups=secp384r1; then
        get "c$CELLNO" --groups x25519,secp384r1
        ia_expect_hrr
        ia_expect_group secp384r1
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $PEER_NAME record_size_limit: client --record-size 2048"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256) debug_level=3; then
        get "c$CELLNO" --record-size 2048
        ia_server_stop
        # RFC 8449 4: in TLS 1.3 the limit counts the content type byte.
        ia_expect_server_log "RecordSizeLimit: 2049 Bytes" "our record_size_limit of 2048 + 1"
        ia_expect_server_log "EncryptedExtensions: record_size_limit(28) extension exists" \
            "its own record_size_limit in EncryptedExtensions"
        grep -qE 'Maximum outgoing record payload length is 204[0-8] ' "$IA_SERVER_LOG" ||
            ia_fail "ssl_server2 does not keep its records within our limit"
    fi
    ia_cell_end

    # Mbed TLS 4.0 does not implement KeyUpdate (RFC 8446 4.6.3): ssl_server2
    # fails with "unexpected message" and closes the TCP connection without
    # an alert. Our client must end with an error that says so (not hang,
    # not exit 0) and count the KeyUpdate it sent.
    ia_cell_begin "client $PEER_NAME --key-update: Mbed TLS has no KeyUpdate and hangs up, iotls says so"
    # shellcheck disable=SC2046
    if start_server2 $(cert_args ecdsa-p256); then
        printf 'GET / HTTP/1.0\r\n\r\n' >"$IA_WORK/c$CELLNO.in"
        ia_client "c$CELLNO" "$IA_WORK/c$CELLNO.in" exit -- "127.0.0.1:$IA_PORT" \
            --ca "$PKI/ca.pem" --servername localhost --timeout 10 -v --key-update
        ia_expect_fail_rc
        grep -q "^iotls: read failed: connection closed without close_notify" "$IA_ERR" ||
            ia_fail "our client does not report the connection closed without close_notify"
        grep -q "^iotls: key updates sent 1 received 0" "$IA_ERR" ||
            ia_fail "our client does not count the KeyUpdate it sent"
        ia_server_stop
        ia_expect_server_log "SSL - An unexpected message was received from our peer" \
            "ssl_server2 refusing the KeyUpdate"
    fi
    ia_cell_end
}

# ---------------- ssl_client2, our server ----------------

# our_server CERT ARGS...: `iotls server --echo --once` with that certificate.
our_server() {
    local cert=$1 certfile keyfile
    shift
    CELLNO=$((CELLNO + 1))
    case $cert in
    chain) certfile=$PKI/chain.pem keyfile=$PKI/chain-leaf.key ;;
    *) certfile=$PKI/$cert.pem keyfile=$PKI/$cert.key ;;
    esac
    if ! ia_start_server "s$CELLNO" -- "$SERVER_BIN" server --port 0 --ready-file "{READY}" \
        --cert "$certfile" --key "$keyfile" --echo --once --timeout 10 "$@" \
        2>"$IA_WORK/s$CELLNO.start.err"; then
        ia_fail "iotls server did not start: $(tail -n 2 "$IA_WORK/s$CELLNO.start.err" | tr '\n' ' ')"
        return 1
    fi
}

# client2 TAG ARGS...: ssl_client2 against our server; it sends its GET,
# reads the echo and closes. Exit code 0 wanted.
client2() {
    local tag=$1
    shift
    : >"$IA_WORK/$tag.in"
    IA_CLIENT_CMD=("$CLIENT2")
    ia_client "$tag" "$IA_WORK/$tag.in" exit -- server_addr=127.0.0.1 server_port="$IA_PORT" \
        server_name=localhost ca_file="$PKI/ca.pem" force_version=tls13 "$@"
    unset IA_CLIENT_CMD
}

# The per-connection line of our --once server.
server_line() {
    ia_server_wait 5
    SLINE=$(grep -m1 -E '^conn [0-9]+ from ' "$IA_SERVER_LOG")
    [ -n "$SLINE" ] || ia_fail "our server printed no per-connection line"
}

server_matrix_cell() { # CERT SUITE GROUP
    local cert=$1 suite=$2 group=$3
    ia_cell_begin "server $PEER_NAME suite=$suite group=$group cert=$cert"
    if our_server "$cert" --ciphers "$suite" --groups "$group"; then
        client2 "s$CELLNO" force_ciphersuite="$(mbed_suite "$suite")" groups="$group"
        ia_expect_rc 0
        ia_expect_out_has "GET / HTTP/1.0"
        server_line
        grep -qE -- "TLSv1\.3 $suite $group $(sig_re "$cert") " <<<"$SLINE" ||
            ia_fail "server line does not show TLSv1.3 $suite $group $(sig_re "$cert"): '$SLINE'"
    fi
    ia_cell_end
}

server_matrix() {
    local suite group
    for suite in $SUITE_LIST; do
        for group in $GROUP_LIST; do
            server_matrix_cell ecdsa-p256 "$suite" "$group"
            server_matrix_cell rsa2048 "$suite" "$group"
        done
    done
    server_matrix_cell chain TLS_AES_128_GCM_SHA256 x25519
}

server_features() {
    local kind
    for kind in client-ecdsa client-rsa; do
        ia_cell_begin "server $PEER_NAME client-auth=required cert=$kind"
        if our_server ecdsa-p256 --ca "$PKI/ca.pem"; then
            client2 "s$CELLNO" crt_file="$PKI/$kind.pem" key_file="$PKI/$kind.key"
            ia_expect_rc 0
            ia_expect_out_has "GET / HTTP/1.0"
            server_line
            grep -q "iotls interop client ${kind#client-}" <<<"$SLINE" ||
                ia_fail "our server line does not name the client certificate: '$SLINE'"
        fi
        ia_cell_end
    done

    ia_cell_begin "server $PEER_NAME early_data=1 reconnect=1: 0-RTT accepted by our server"
    CELLNO=$((CELLNO + 1))
    if ia_start_server "s$CELLNO" -- "$SERVER_BIN" server --port 0 --ready-file "{READY}" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --echo --tickets 1 \
        --early-data 16384 --timeout 10; then
        client2 "s$CELLNO" tickets=1 reconnect=1 early_data=1
        ia_expect_rc 0
        ia_expect_out_has "bytes of early data written"
        ia_server_stop
        grep -qE '^conn 2 early data: accepted [1-9][0-9]* bytes' "$IA_SERVER_LOG" ||
            ia_fail "our server does not report early data accepted on the resumed connection"
    else
        ia_fail "iotls server did not start"
    fi
    ia_cell_end

    ia_cell_begin "server $PEER_NAME tickets=1 reconnect=1: ssl_client2 resumes with our ticket"
    CELLNO=$((CELLNO + 1))
    if ia_start_server "s$CELLNO" -- "$SERVER_BIN" server --port 0 --ready-file "{READY}" \
        --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" --echo --tickets 1 \
        --timeout 10; then
        client2 "s$CELLNO" tickets=1 reconnect=1
        ia_expect_rc 0
        grep -q "Reconnecting with saved session... ok" "$IA_OUT" ||
            ia_fail "ssl_client2 did not reconnect with the saved session"
        ia_server_stop
        [ "$(grep -cE '^conn [0-9]+ from ' "$IA_SERVER_LOG")" -ge 2 ] ||
            ia_fail "our server did not see two connections"
        grep -E '^conn [0-9]+ from ' "$IA_SERVER_LOG" | sed -n 2p | grep -qi 'resumed' ||
            ia_fail "our server's second connection line does not say resumed"
    else
        ia_fail "iotls server did not start"
    fi
    ia_cell_end

    # Mbed TLS 4.0's client accepts in a HelloRetryRequest only extensions
    # it sent, and sends a cookie only to echo one: our server's HRR carries
    # no cookie (the connection keeps the state), so x25519 first against
    # our secp384r1-only server retries on secp384r1 and completes.
    ia_cell_begin "server $PEER_NAME hrr: server --groups secp384r1, client groups=x25519,secp384r1"
    if our_server ecdsa-p256 --groups secp384r1; then
        client2 "s$CELLNO" groups=x25519,secp384r1 debug_level=3
        ia_expect_rc 0
        ia_expect_out_has "GET / HTTP/1.0"
        ia_expect_out_has "HelloRetryRequest: key_share(51) extension received"
        ia_expect_out_has "HelloRetryRequest: cookie(44) extension does not exist"
        server_line
        grep -qE ' secp384r1 \(HRR\) ' <<<"$SLINE" ||
            ia_fail "server line does not show secp384r1 after a HelloRetryRequest: '$SLINE'"
    fi
    ia_cell_end

    # Mbed TLS reassembles a handshake message in its 16 KiB input buffer
    # and cannot take one larger: our server's fragmented Certificate of
    # over 16 KiB (cert=big) ends ssl_client2's handshake ("requesting more
    # data than fits"), and it closes without an alert; our server reports
    # exactly that.
    ia_cell_begin "server $PEER_NAME cert=big: a Certificate over 16 KiB, fragmented: over Mbed TLS' input buffer"
    if our_server big; then
        client2 "s$CELLNO" debug_level=1
        [ "$IA_RC" != 0 ] || ia_fail "ssl_client2 exit code 0: Mbed TLS now takes it, make this a positive cell"
        ia_expect_out_has "requesting more data than fits"
        server_line
        grep -q "handshake failed: connection closed without close_notify" <<<"$SLINE" ||
            ia_fail "our server does not report the peer closing: '$SLINE'"
    fi
    ia_cell_end

    ia_cell_begin "server $PEER_NAME client-auth=required, no client certificate: refused"
    if our_server ecdsa-p256 --ca "$PKI/ca.pem"; then
        client2 "s$CELLNO"
        [ "$IA_RC" != 0 ] || ia_fail "ssl_client2 exit code 0, want a failure"
        ! grep -q "bytes read" "$IA_OUT" || ia_fail "data came back"
        ia_server_wait 5
    fi
    ia_cell_end
}

case $ROLE/$SET in
client/matrix) client_matrix ;;
client/features) client_features ;;
server/matrix) server_matrix ;;
server/features) server_features ;;
*) ia_die "unknown role/set $ROLE/$SET" ;;
esac
ia_finish
