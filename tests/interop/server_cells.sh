#!/usr/bin/env bash
# Server-side interop cells: OUR server (iotls server --once --echo) against a
# real peer client (openssl s_client, gnutls-cli, wolfssl_peer client, and our
# own iotls client) over 127.0.0.1.
#
#   server_cells.sh PEER SET
#     PEER  openssl | gnutls | wolfssl | iotls
#     SET   ccm   the 2 CCM suites x 3 groups (ECDSA; RSA with x25519), 1 MiB each
#     SET   ecdsa-p256 | ecdsa-p384 | rsa2048 | chain   3 suites x 3 groups with that
#                                                      server certificate
#           features                                   HRR (state kept; with --hrr-cookie,
#                                                      the cookie seen), client auth (ECDSA, RSA,
#                                                      optional, required), TLS 1.2-only
#                                                      client, 1 MiB echoed
# What was negotiated is asserted from our server's per-connection line
#   conn N from ADDR: TLSv1.3 SUITE GROUP[ (HRR)] SIGSCHEME alpn=.. sni=.. client=..
#   conn N from ADDR: handshake failed: ALERT (why)
# Every cell prints one "CELL server <peer>-client ...: PASS|FAIL (why)" line.
set -u
. "$(dirname "$0")/lib.sh"

PEER=${1:?usage: server_cells.sh PEER SET}
SET=${2:?usage: server_cells.sh PEER SET}
ia_init "server-$PEER-$SET"
case $PEER in
iotls) ;; # ia_init has checked $IOTLS
openssl | gnutls | wolfssl) ia_need_peer "$PEER" ;;
*) ia_die "unknown peer $PEER" ;;
esac
# The server under test is always our real command. IOTLS may name a stand-in
# client (IOTLS_INTEROP_CLIENT, harness self-check), so CMake passes ours apart.
SERVER_BIN=${IA_IOTLS_SERVER:-$IOTLS}
[ -x "$SERVER_BIN" ] || ia_die "iotls command not found at $SERVER_BIN (build the iotls_cli target)"
PKI=$IA_PKI
CLI=$PEER-client
IA_CLIENT_TIMEOUT=15
SUITE_LIST="TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256"
GROUP_LIST="x25519 secp256r1 secp384r1"
CELLNO=0
SLINE=

# our_server CERT ARGS...: starts `iotls server --once --echo` with that
# certificate (chain = leaf + intermediate); on failure marks the cell failed.
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

# server_result WANT_RC: waits for our --once server to end and picks its
# per-connection line into SLINE. WANT_RC "fail": any failure cause (1, 3..9).
server_result() {
    ia_server_wait 5
    SLINE=$(grep -m1 -E '^conn [0-9]+ from ' "$IA_SERVER_LOG")
    [ -n "$SLINE" ] || ia_fail "our server printed no per-connection line"
    if [ "$1" = fail ]; then
        [[ $IA_SERVER_RC =~ ^[13-9]$ ]] || ia_fail "our server exit code $IA_SERVER_RC, want a failure (1, 3..9)"
        return
    fi
    [ "$IA_SERVER_RC" = "$1" ] ||
        ia_fail "our server exit code $IA_SERVER_RC, want $1$([ "$IA_SERVER_RC" = 124 ] && echo ' (had to be killed)')"
}

# expect_sline RE WHAT: our server's connection line matches the extended RE.
expect_sline() {
    grep -qE -- "$1" <<<"$SLINE" || ia_fail "server line does not show $2: '${SLINE#*: }'"
}

ossl_group() {
    case $1 in
    x25519) echo X25519 ;;
    secp256r1) echo P-256 ;;
    secp384r1) echo P-384 ;;
    *) echo "$1" ;;
    esac
}

# peer_client TAG INPUT UNTIL [suite=S] [groups=a,b] [ccert=client-ecdsa|client-rsa]
#   [version=tls12] [trace=FILE]: runs the peer's client against $IA_PORT (see
#   ia_client). The client verifies our server against ca.pem with the name
#   localhost. trace (openssl only): s_client -trace, every message with its
#   extensions as received and sent, into FILE.
peer_client() {
    local tag=$1 input=$2 until=$3 kv suite='' groups='' ccert='' version=tls13 trace='' a=() g prio
    shift 3
    for kv in "$@"; do
        case $kv in
        suite=*) suite=${kv#*=} ;;
        groups=*) groups=${kv#*=} ;;
        ccert=*) ccert=${kv#*=} ;;
        version=*) version=${kv#*=} ;;
        trace=*) trace=${kv#*=} ;;
        *) ia_die "peer_client: bad knob $kv" ;;
        esac
    done
    [ -z "$trace" ] || [ "$PEER" = openssl ] || ia_die "peer_client: trace= is for openssl only"
    case $PEER in
    openssl)
        IA_CLIENT_CMD=(openssl s_client)
        a=(-connect "127.0.0.1:$IA_PORT" -CAfile "$PKI/ca.pem" -servername localhost
            -verify_return_error -brief -nocommands)
        if [ "$version" = tls12 ]; then a+=(-tls1_2); else a+=(-tls1_3); fi
        [ -n "$suite" ] && a+=(-ciphersuites "$suite")
        if [ -n "$groups" ]; then
            local ol=()
            for g in ${groups//,/ }; do ol+=("$(ossl_group "$g")"); done
            a+=(-groups "$(
                IFS=:
                echo "${ol[*]}"
            )")
        fi
        [ -n "$ccert" ] && a+=(-cert "$PKI/$ccert.pem" -key "$PKI/$ccert.key")
        [ -n "$trace" ] && a+=(-trace -msgfile "$trace")
        ;;
    gnutls)
        IA_CLIENT_CMD=(gnutls-cli)
        prio="NORMAL:-VERS-ALL:+VERS-TLS1.3"
        [ "$version" = tls12 ] && prio="NORMAL:-VERS-ALL:+VERS-TLS1.2"
        case $suite in
        "") ;;
        TLS_AES_128_GCM_SHA256) prio+=":-CIPHER-ALL:+AES-128-GCM" ;;
        TLS_AES_256_GCM_SHA384) prio+=":-CIPHER-ALL:+AES-256-GCM" ;;
        TLS_CHACHA20_POLY1305_SHA256) prio+=":-CIPHER-ALL:+CHACHA20-POLY1305" ;;
        TLS_AES_128_CCM_SHA256) prio+=":-CIPHER-ALL:+AES-128-CCM" ;;
        TLS_AES_128_CCM_8_SHA256) prio+=":-CIPHER-ALL:+AES-128-CCM-8" ;;
        *) ia_die "gnutls: unknown suite $suite" ;;
        esac
        if [ -n "$groups" ]; then
            prio+=":-GROUP-ALL"
            for g in ${groups//,/ }; do
                case $g in
                x25519) prio+=":+GROUP-X25519" ;;
                secp256r1) prio+=":+GROUP-SECP256R1" ;;
                secp384r1) prio+=":+GROUP-SECP384R1" ;;
                *) ia_die "gnutls: unknown group $g" ;;
                esac
            done
        fi
        # Informational messages to a file, so stdout is only the data; the
        # file is appended to the client's stderr afterwards.
        a=(--logfile "$IA_WORK/$tag.gnutls.log" --port "$IA_PORT" 127.0.0.1
            --x509cafile "$PKI/ca.pem" --verify-hostname localhost --sni-hostname localhost
            --priority "$prio")
        [ -n "$ccert" ] && a+=(--x509certfile "$PKI/$ccert.pem" --x509keyfile "$PKI/$ccert.key")
        ;;
    wolfssl)
        IA_CLIENT_CMD=("$IA_WOLFSSL_PEER" client)
        a=(--port "$IA_PORT" --ca "$PKI/ca.pem" --servername localhost)
        [ "$version" = tls12 ] && a+=(--tls12)
        case $suite in
        "") ;;
        TLS_AES_128_GCM_SHA256) a+=(--ciphers TLS13-AES128-GCM-SHA256) ;;
        TLS_AES_256_GCM_SHA384) a+=(--ciphers TLS13-AES256-GCM-SHA384) ;;
        TLS_CHACHA20_POLY1305_SHA256) a+=(--ciphers TLS13-CHACHA20-POLY1305-SHA256) ;;
        TLS_AES_128_CCM_SHA256) a+=(--ciphers TLS13-AES128-CCM-SHA256) ;;
        TLS_AES_128_CCM_8_SHA256) a+=(--ciphers TLS13-AES128-CCM-8-SHA256) ;;
        *) ia_die "wolfssl: unknown suite $suite" ;;
        esac
        [ -n "$groups" ] && a+=(--groups "$groups")
        [ -n "$ccert" ] && a+=(--cert "$PKI/$ccert.pem" --key "$PKI/$ccert.key")
        ;;
    iotls)
        [ "$version" = tls12 ] && ia_die "iotls client speaks TLS 1.3 only"
        IA_CLIENT_CMD=("$SERVER_BIN" client)
        a=("127.0.0.1:$IA_PORT" --ca "$PKI/ca.pem" --servername localhost --timeout 10 -v)
        [ -n "$suite" ] && a+=(--ciphers "$suite")
        [ -n "$groups" ] && a+=(--groups "$groups")
        [ -n "$ccert" ] && a+=(--cert "$PKI/$ccert.pem" --key "$PKI/$ccert.key")
        ;;
    esac
    ia_client "$tag" "$input" "$until" -- "${a[@]}"
    if [ "$PEER" = gnutls ] && [ -f "$IA_WORK/$tag.gnutls.log" ]; then
        cat "$IA_WORK/$tag.gnutls.log" >>"$IA_ERR"
    fi
}

# round_trip TAG TEXT KNOBS...: one line goes through our echo server and
# must come back unchanged; the client exits 0, our server too.
round_trip() {
    local tag=$1 text=$2
    shift 2
    printf '%s\n' "$text" >"$IA_WORK/$tag.in"
    peer_client "$tag" "$IA_WORK/$tag.in" "grep:$text" "$@"
    ia_expect_rc 0
    cmp -s "$IA_OUT" "$IA_WORK/$tag.in" ||
        ia_fail "data did not round-trip (got $(wc -c <"$IA_OUT") bytes, want $(wc -c <"$IA_WORK/$tag.in"))"
    server_result 0
}

# negative TAG KNOBS...: a connection our server must refuse: the client
# fails (exit code not 0, no time-out) and no data comes back.
negative() {
    local tag=$1
    shift
    printf 'must not arrive\n' >"$IA_WORK/$tag.in"
    peer_client "$tag" "$IA_WORK/$tag.in" exit "$@"
    case $IA_RC in
    0) ia_fail "client exit code 0, want a failure" ;;
    124 | 137) ia_fail "client timed out instead of failing" ;;
    esac
    ! grep -q 'must not arrive' "$IA_OUT" || ia_fail "data came back"
    server_result fail
}

# expect_client RE WHAT: the client's stdout+stderr matches RE (case-insensitive).
expect_client() {
    cat "$IA_OUT" "$IA_ERR" 2>/dev/null | grep -qiE -- "$1" || ia_fail "client output does not show $2"
}

sig_re() {
    case $1 in
    ecdsa-p256 | chain) echo 'ecdsa_secp256r1_sha256' ;;
    ecdsa-p384) echo 'ecdsa_secp384r1_sha384' ;;
    rsa2048) echo 'rsa_pss_rsae_sha(256|384|512)' ;;
    esac
}

matrix() {
    local cert=$1 suite group
    for suite in $SUITE_LIST; do
        for group in $GROUP_LIST; do
            ia_cell_begin "server $CLI suite=$suite group=$group cert=$cert"
            ia_group_applies "$group" || continue
            if our_server "$cert" --ciphers "$suite" --groups "$group"; then
                round_trip "c$CELLNO" "iotls server interop $PEER $cert $suite $group" \
                    suite="$suite" groups="$group"
                expect_sline "TLSv1\.3 $suite $group $(sig_re "$cert") " \
                    "TLSv1.3 $suite $group $(sig_re "$cert") without HRR"
            fi
            ia_cell_end
        done
    done
}

# hrr_cookies TRACE: the cookie extensions in an s_client -trace, one
# line per HelloRetryRequest (a ServerHello before the second ClientHello)
# and per ClientHello: "hrr" or "ch2" where a cookie was seen.
hrr_cookies() {
    awk '/^ +ClientHello,/ { msg = (++ch == 2) ? "ch2" : "ch1" }
         /^ +ServerHello,/ { msg = (ch == 1) ? "hrr" : "sh" }
         /extension_type=cookie/ { print msg }' "$1"
}

# cell_hrr [cookie]: the client's first (only) key share must be for a
# group our server does not take. gnutls-cli sends one share per group
# family (x25519 and the NIST curves), so it gets secp256r1 first: same
# family as secp384r1. Our server's -v trace says whether its
# HelloRetryRequest carried a cookie (--hrr-cookie); with openssl's client
# its -trace shows the cookie on the wire, and echoed in the second
# ClientHello, or no cookie at all without the option.
cell_hrr() {
    local cookie=${1:-} first=x25519 opt=() trace=() want_trace want_cookies
    [ "$PEER" = gnutls ] && first=secp256r1
    if [ "$cookie" = cookie ]; then
        opt=(--hrr-cookie)
        want_trace='HelloRetryRequest sent with a cookie: key share for secp384r1 needed'
        want_cookies='hrr ch2'
    else
        want_trace='HelloRetryRequest sent: key share for secp384r1 needed'
        want_cookies=''
    fi
    ia_cell_begin "server $CLI hrr${cookie:+ with cookie}: server --groups secp384r1${cookie:+ --hrr-cookie}, client share $first first"
    if our_server ecdsa-p256 --groups secp384r1 -v "${opt[@]}"; then
        [ "$PEER" = openssl ] && trace=(trace="$IA_WORK/c$CELLNO.trace")
        round_trip "c$CELLNO" "after a HelloRetryRequest" groups="$first,secp384r1" "${trace[@]}"
        expect_sline ' secp384r1 \(HRR\) ' "secp384r1 after a HelloRetryRequest"
        [ "$PEER" = iotls ] && expect_client 'HelloRetryRequest|\bHRR\b' "the HelloRetryRequest"
        grep -qF -- "$want_trace" "$IA_SERVER_LOG" ||
            ia_fail "our server's -v trace does not say '$want_trace'"
        if [ "$PEER" = openssl ]; then
            local seen
            seen=$(hrr_cookies "$IA_WORK/c$CELLNO.trace" | tr '\n' ' ' | sed 's/ $//')
            grep -q 'ServerHello,' "$IA_WORK/c$CELLNO.trace" 2>/dev/null ||
                ia_fail "s_client -trace wrote no messages"
            [ "$seen" = "$want_cookies" ] ||
                ia_fail "cookies in s_client -trace: '${seen:-none}', want '${want_cookies:-none}'"
        fi
    fi
    ia_cell_end
}

# Our server requires (or, optional=1, asks for) a client certificate from
# the root CA; the line must name the client.
cell_client_auth() {
    local kind=$1 mode=$2 cn opt=()
    cn="iotls interop client ${kind#client-}"
    [ "$mode" = optional ] && opt=(--verify-optional)
    ia_cell_begin "server $CLI client-auth=$mode client-cert=$kind"
    if our_server ecdsa-p256 --ca "$PKI/ca.pem" "${opt[@]}"; then
        round_trip "c$CELLNO" "authenticated $kind" ccert="$kind"
        expect_sline "client=\"[^\"]*CN ?= ?$cn\"" "the verified client identity CN=$cn"
    fi
    ia_cell_end
}

cell_optional_none() {
    ia_cell_begin "server $CLI client-auth=optional no-client-cert: success, anonymous"
    if our_server ecdsa-p256 --ca "$PKI/ca.pem" --verify-optional; then
        round_trip "c$CELLNO" "anonymous client"
        expect_sline 'TLSv1\.3 .* client=anonymous$' "an anonymous client"
    fi
    ia_cell_end
}

cell_required_none() {
    local re
    case $PEER in
    openssl) re='alert certificate required|SSL alert number 116' ;;
    gnutls) re='Received alert \[116\]' ;;
    wolfssl) re='received fatal alert 116 \(certificate_required\)' ;;
    iotls) re='alert certificate_required' ;;
    esac
    ia_cell_begin "server $CLI client-auth=required no-client-cert: alert certificate_required"
    if our_server ecdsa-p256 --ca "$PKI/ca.pem"; then
        negative "c$CELLNO"
        expect_client "$re" "the certificate_required alert (/$re/)"
        expect_sline 'handshake failed: .*(certificate_required|CERT_REQUIRED)' \
            "certificate_required"
    fi
    ia_cell_end
}

cell_tls12_client() {
    local re
    case $PEER in
    openssl) re='alert protocol version|SSL alert number 70' ;;
    gnutls) re='Received alert \[70\]' ;;
    wolfssl) re='received fatal alert 70 \(protocol_version\)' ;;
    iotls)
        echo "NOTE: server $CLI TLS 1.2-only client: no such cell, iotls client speaks TLS 1.3 only"
        return
        ;;
    esac
    ia_cell_begin "server $CLI TLS 1.2-only client: alert protocol_version"
    if our_server ecdsa-p256; then
        negative "c$CELLNO" version=tls12
        expect_client "$re" "the protocol_version alert (/$re/)"
        expect_sline 'handshake failed: .*protocol_version' "protocol_version"
    fi
    ia_cell_end
}

# 1 MiB through our echo server, compared by sha256.
# cell_mib [SUITE]: with SUITE, the only suite of both sides.
cell_mib() {
    local suite=${1:-} in out want
    ia_cell_begin "server $CLI 1 MiB echoed, sha256 equal${suite:+ suite=$suite}"
    if our_server ecdsa-p256 ${suite:+--ciphers "$suite"}; then
        in=$IA_WORK/c$CELLNO.in
        # 16384 lines of 63 base64 characters + "\n" = 1048576 bytes.
        head -c 774144 /dev/urandom | base64 -w 63 >"$in"
        peer_client "c$CELLNO" "$in" "size:1048576" ${suite:+suite="$suite"}
        ia_expect_rc 0
        out=$(sha256sum <"$IA_OUT" | cut -d' ' -f1)
        want=$(sha256sum <"$in" | cut -d' ' -f1)
        [ "$out" = "$want" ] ||
            ia_fail "sha256 differs: got $(wc -c <"$IA_OUT") bytes $out, want $(wc -c <"$in") bytes $want"
        server_result 0
        expect_sline 'TLSv1\.3 ' "a TLS 1.3 connection"
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
    cell_hrr cookie
    cell_client_auth client-ecdsa required
    cell_client_auth client-rsa required
    cell_client_auth client-ecdsa optional
    cell_optional_none
    cell_required_none
    cell_tls12_client
    cell_mib
    ;;
*) ia_die "unknown set $SET" ;;
esac
ia_finish
