#!/usr/bin/env bash
# Client-side interop cells: OUR client (iotls client) against a real peer
# server (openssl s_server, gnutls-serv, wolfssl_peer) over 127.0.0.1.
#
#   client_cells.sh PEER SET
#     PEER  openssl | gnutls | wolfssl
#     SET   ccm   the 2 CCM suites x 3 groups (ECDSA; RSA with x25519), 1 MiB each
#     SET   ecdsa-p256 | ecdsa-p384 | rsa2048 | chain   the 3 suites x 3 groups matrix
#                                                      with that server certificate
#           features                                   HRR, client auth, ALPN, KeyUpdate,
#                                                      tickets, >16 KiB chain, 1 MiB,
#                                                      negative cells
# Every cell prints one "CELL ...: PASS|FAIL (why)" line; the script exits 1
# when any cell failed (ctest shows the output on failure).
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"

PEER=${1:?usage: client_cells.sh PEER SET}
SET=${2:?usage: client_cells.sh PEER SET}
ia_init "client-$PEER-$SET"
ia_need_peer "$PEER"
PKI=$IA_PKI
SRV=$(ia_peer_label "$PEER")
SUITE_LIST="TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256"
GROUP_LIST="x25519 secp256r1 secp384r1"
CELLNO=0

# start_or_fail LABEL-ARGS...: starts the peer server; on failure marks the
# cell failed and returns 1 so the caller skips to ia_cell_end.
start_or_fail() {
    CELLNO=$((CELLNO + 1))
    if ! ia_peer_server "$PEER" "c$CELLNO" "$@" 2>"$IA_WORK/c$CELLNO.start.err"; then
        ia_fail "$SRV did not start: $(tail -n 2 "$IA_WORK/c$CELLNO.start.err" | tr '\n' ' ')"
        return 1
    fi
}

# round_trip TAG INPUT UNTIL-TEXT CLIENT-ARGS...: the usual positive exchange:
# INPUT is sent, the expected answer must come back, exit code 0.
round_trip() {
    local tag=$1 input=$2
    shift 2
    ia_peer_expect "$PEER" "$input" "$IA_WORK/$tag.expect"
    local first
    first=$(head -n 1 "$IA_WORK/$tag.expect")
    ia_client "$tag" "$input" "grep:$first" -- "127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" \
        --servername localhost --timeout 10 -v "$@"
    ia_expect_rc 0
    cmp -s "$IA_OUT" "$IA_WORK/$tag.expect" ||
        ia_fail "data did not round-trip (got $(wc -c <"$IA_OUT") bytes, want $(wc -c <"$IA_WORK/$tag.expect"))"
}

# negative TAG CLIENT-ARGS...: a connection that must fail on our side.
negative() {
    local tag=$1
    shift
    printf 'must not arrive\n' >"$IA_WORK/$tag.in"
    ia_client "$tag" "$IA_WORK/$tag.in" exit -- "127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" \
        --timeout 10 -v "$@"
    ! grep -q 'must not arrive' "$IA_OUT" || ia_fail "data arrived"
}

# The server's CertificateVerify scheme follows from its key; an RSA key
# must sign with RSA-PSS (rsa_pss_rsae_*) in TLS 1.3, never PKCS#1 v1.5.
ia_expect_sig_scheme() {
    case $1 in
    ecdsa-p256 | chain) ia_expect_trace 'ecdsa_secp256r1_sha256' "peer signature ecdsa_secp256r1_sha256" ;;
    ecdsa-p384) ia_expect_trace 'ecdsa_secp384r1_sha384' "peer signature ecdsa_secp384r1_sha384" ;;
    rsa2048) ia_expect_trace 'rsa_pss_rsae_sha(256|384|512)' "peer signature rsa_pss_rsae_*" ;;
    esac
}

matrix() {
    local cert=$1 suite group
    for suite in $SUITE_LIST; do
        for group in $GROUP_LIST; do
            ia_cell_begin "client $SRV suite=$suite group=$group cert=$cert"
            ia_group_applies "$group" || continue
            if start_or_fail cert="$cert" suite="$suite" groups="$group" mode=echo; then
                printf 'iotls interop %s %s %s %s\n' "$PEER" "$cert" "$suite" "$group" \
                    >"$IA_WORK/c$CELLNO.in"
                round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in" --ciphers "$suite" --groups "$group"
                ia_expect_suite "$suite"
                ia_expect_group "$group"
                ia_expect_sig_scheme "$cert"
                ia_server_stop
            fi
            ia_cell_end
        done
    done
}

line_input() { # line_input FILE TEXT
    printf '%s\n' "$2" >"$1"
}

cell_hrr() {
    ia_cell_begin "client $SRV hrr: server only secp384r1, client --groups x25519,secp384r1"
    if start_or_fail groups=secp384r1 mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "after a HelloRetryRequest"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in" --groups x25519,secp384r1
        ia_expect_hrr
        ia_expect_group secp384r1
        ia_server_stop
    fi
    ia_cell_end
}

# Client authentication that the server checks against the root CA.
cell_client_auth() {
    local kind=$1 cn
    cn="iotls interop client ${kind#client-}"
    ia_cell_begin "client $SRV client-auth=required cert=$kind"
    if start_or_fail clientauth=required mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "authenticated $kind"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in" --cert "$PKI/$kind.pem" --key "$PKI/$kind.key"
        ia_server_stop
        case $PEER in
        openssl)
            ia_expect_server_log "CN = $cn" "the client certificate ($cn)"
            ia_expect_server_log "Verification: OK" "a verified client certificate"
            [ "$kind" = client-rsa ] &&
                ia_expect_server_log "Signature type: RSA-PSS" "our RSA-PSS CertificateVerify"
            ;;
        gnutls)
            ia_expect_server_log "Subject: CN=$cn" "the client certificate ($cn)"
            ia_expect_server_log "The certificate is trusted" "a verified client certificate"
            ;;
        wolfssl)
            ia_expect_server_log "client certificate verified: " "a verified client certificate"
            ia_expect_server_log "$cn" "the client certificate ($cn)"
            ;;
        esac
    fi
    ia_cell_end
}

cell_client_auth_optional_none() {
    ia_cell_begin "client $SRV client-auth=optional no-client-cert: success"
    if start_or_fail clientauth=optional mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "anonymous client"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in"
        ia_server_stop
    fi
    ia_cell_end
}

# The server requires a certificate and we have none: the server aborts with
# an alert. Which one each peer sends was observed and is asserted exactly.
cell_client_auth_required_none() {
    local alert=certificate_required # all three peers send it (RFC 8446 4.4.2.4)
    ia_cell_begin "client $SRV client-auth=required no-client-cert: peer alert $alert"
    if start_or_fail clientauth=required mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error "$alert"
        ia_server_stop
    fi
    ia_cell_end
}

cell_alpn() {
    ia_cell_begin "client $SRV alpn: server h2, client h2,http/1.1 -> h2"
    if start_or_fail alpn=h2 mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "speaking h2"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in" --alpn h2,http/1.1
        ia_expect_alpn h2
        ia_server_stop
    fi
    ia_cell_end
}

# openssl s_server reads commands on stdin: "K" sends KeyUpdate with
# update_requested. Data must flow both ways after it, and the server's -msg
# trace must show our KeyUpdate answer.
cell_keyupdate_openssl() {
    local s
    ia_cell_begin "client $SRV server KeyUpdate(update_requested) then data both ways"
    if start_or_fail mode=interactive; then
        ia_client_bg "c$CELLNO" -- "127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" --servername localhost \
            --timeout 15 -v
        s=$IA_SERVER_LOG
        ia_client_send "c2s-before-update"
        if ! ia_wait_for "$s" "c2s-before-update"; then
            ia_fail "server did not get data before the KeyUpdate"
        else
            ia_server_send "s2c-before-update"
            ia_wait_for "$IA_OUT" "s2c-before-update" || ia_fail "client did not get data before the KeyUpdate"
            ia_server_send "K"
            ia_wait_for "$s" ">>> TLS 1.3, Handshake [length 0005], KeyUpdate" 5 ||
                ia_fail "server did not send KeyUpdate"
            ia_server_send "s2c-after-update"
            ia_wait_for "$IA_OUT" "s2c-after-update" || ia_fail "client got no data after the KeyUpdate"
            ia_client_send "c2s-after-update"
            ia_wait_for "$s" "c2s-after-update" || ia_fail "server got no data after the KeyUpdate"
            ia_wait_for "$s" "<<< TLS 1.3, Handshake [length 0005], KeyUpdate" 2 ||
                ia_fail "client did not answer update_requested with its own KeyUpdate"
        fi
        ia_client_close 10
        ia_expect_rc 0
        ia_expect_trace 'KeyUpdate|key_update|key update' "the KeyUpdate"
        ia_server_stop
    fi
    ia_cell_end
}

cell_keyupdate_wolfssl() {
    ia_cell_begin "client $SRV server KeyUpdate(update_requested) then data both ways"
    if start_or_fail keyupdate=1 mode=echo; then
        ia_client_bg "c$CELLNO" -- "127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" --servername localhost \
            --timeout 15 -v
        ia_client_send "before-update"
        ia_wait_for "$IA_OUT" "before-update" || ia_fail "no echo before the KeyUpdate"
        ia_wait_for "$IA_SERVER_LOG" "KeyUpdate sent" 5 || ia_fail "server did not send KeyUpdate"
        ia_client_send "after-update"
        ia_wait_for "$IA_OUT" "after-update" || ia_fail "no echo after the KeyUpdate"
        ia_client_close 10
        ia_expect_rc 0
        ia_expect_trace 'KeyUpdate|key_update|key update' "the KeyUpdate"
        ia_server_wait 5
        [ "$IA_SERVER_RC" = 0 ] || ia_fail "wolfssl_peer exit code $IA_SERVER_RC (it checks the whole exchange)"
    fi
    ia_cell_end
}

cell_tickets() {
    ia_cell_begin "client $SRV three NewSessionTickets (-num_tickets 3)"
    if start_or_fail tickets=3 mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "tickets please"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in"
        ia_expect_tickets 3
        ia_server_stop
    fi
    ia_cell_end
}

cell_big_chain() {
    ia_cell_begin "client $SRV certificate message over 16 KiB with --max-handshake 65536"
    if start_or_fail cert=big mode=echo; then
        line_input "$IA_WORK/c$CELLNO.in" "big certificate accepted"
        round_trip "c$CELLNO" "$IA_WORK/c$CELLNO.in" --max-handshake 65536
        ia_server_stop
    fi
    ia_cell_end
    ia_cell_begin "client $SRV certificate message over 16 KiB, default limit: clear error"
    if start_or_fail cert=big mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error "" "handshake message larger than the configured limit"
        ia_server_stop
    fi
    ia_cell_end
}

# 1 MiB through the echo server, compared byte for byte (sha256).
# cell_mib [SUITE]: with SUITE, the only suite of both sides.
cell_mib() {
    local suite=${1:-} in out want
    ia_cell_begin "client $SRV 1 MiB echoed, sha256 equal${suite:+ suite=$suite}"
    if start_or_fail mode=echo ${suite:+suite="$suite"}; then
        in=$IA_WORK/c$CELLNO.in
        # 16384 lines of 63 base64 characters + "\n" = 1048576 bytes; no line
        # may start with CLOSE (s_server -rev would hang up).
        head -c 774144 /dev/urandom | base64 -w 63 | sed 's/^CLOSE/close/' >"$in"
        ia_peer_expect "$PEER" "$in" "$IA_WORK/c$CELLNO.expect"
        ia_client "c$CELLNO" "$in" "size:1048576" -- "127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" \
            --servername localhost --timeout 20 ${suite:+--ciphers "$suite"}
        ia_expect_rc 0
        out=$(sha256sum <"$IA_OUT" | cut -d' ' -f1)
        want=$(sha256sum <"$IA_WORK/c$CELLNO.expect" | cut -d' ' -f1)
        [ "$out" = "$want" ] ||
            ia_fail "sha256 differs: got $(wc -c <"$IA_OUT") bytes $out, want 1048576 bytes $want"
        ia_server_stop
    fi
    ia_cell_end
}

cell_negatives() {
    ia_cell_begin "client $SRV wrong CA (server cert from an unrelated CA): unknown_ca"
    if start_or_fail cert=other-leaf mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error unknown_ca
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $SRV server cert for wrong.example, client expects localhost: bad_certificate"
    if start_or_fail cert=wrongname mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error bad_certificate "host ?name|hostname|name"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $SRV --servername wrong.example vs localhost cert: bad_certificate"
    if start_or_fail cert=ecdsa-p256 mode=echo; then
        negative "c$CELLNO" --servername wrong.example
        ia_expect_error bad_certificate "host ?name|hostname|name"
        ia_server_stop
    fi
    ia_cell_end

    ia_cell_begin "client $SRV expired server certificate: certificate_expired"
    if start_or_fail cert=expired mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error certificate_expired
        ia_server_stop
    fi
    ia_cell_end

    # We offer only TLS 1.3 suites and supported_versions {TLS 1.3}. OpenSSL
    # answers protocol_version; GnuTLS and wolfSSL find no TLS 1.2 suite in
    # common first and answer handshake_failure (observed, see README).
    local v12alert=protocol_version
    [ "$PEER" != openssl ] && v12alert=handshake_failure
    ia_cell_begin "client $SRV TLS 1.2-only server: $v12alert"
    if start_or_fail version=tls12 mode=echo; then
        negative "c$CELLNO" --servername localhost
        ia_expect_error "$v12alert"
        ia_server_stop
    fi
    ia_cell_end
}

case $SET in
ecdsa-p256 | ecdsa-p384 | rsa2048 | chain) matrix "$SET" ;;
ccm)
    # The CCM suites (off by default, enabled with --ciphers): each suite x
    # group with an ECDSA and an RSA certificate, and 1 MiB (full records,
    # CCM_8's 8-byte tag) with each.
    SUITE_LIST="TLS_AES_128_CCM_SHA256 TLS_AES_128_CCM_8_SHA256"
    matrix ecdsa-p256
    GROUP_LIST=x25519 matrix rsa2048
    cell_mib TLS_AES_128_CCM_SHA256
    cell_mib TLS_AES_128_CCM_8_SHA256
    ;;
features)
    cell_hrr
    cell_client_auth client-ecdsa
    cell_client_auth client-rsa
    cell_client_auth_optional_none
    cell_client_auth_required_none
    cell_alpn
    case $PEER in
    openssl)
        cell_keyupdate_openssl
        cell_tickets
        ;;
    wolfssl) cell_keyupdate_wolfssl ;;
    esac
    cell_big_chain
    cell_mib
    cell_negatives
    ;;
*) ia_die "unknown set $SET" ;;
esac
ia_finish
