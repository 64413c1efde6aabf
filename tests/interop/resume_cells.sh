#!/usr/bin/env bash
# Session resumption cells (RFC 8446 2.2): tickets and PSK resumption between
# our client/server and OpenSSL over 127.0.0.1.
#
#   resume_cells.sh
# Cells: our client resumes with openssl s_server (also with an RSA client
# certificate sealed in a ticket over 1,024 B) and gnutls-serv; openssl
# s_client ("Reused, TLSv1.3") and gnutls-cli --resume resume with our
# server; our client with our server (also a ticket over --max-ticket:
# not offered); a ticket
# from another server key gives a full handshake; two servers sharing
# --ticket-keys resume each other's tickets; a damaged session file is
# refused (full handshake); resumption after a HelloRetryRequest, our
# client with openssl s_server and openssl s_client with our server. Every
# cell prints "CELL ...: PASS|FAIL (why)".
set -u
. "$(dirname "$0")/lib.sh"
ia_init "resume"
PKI=$IA_PKI
. "$(dirname "$0")/feature_lib.sh"

# our_server TAG ARGS...: our server with the P-256 certificate; sets PORT.
our_server() {
    local tag=$1
    shift
    iotls_server_bg "$tag" --cert "$PKI/ecdsa-p256.pem" --key "$PKI/ecdsa-p256.key" "$@"
}

# our_client TAG PORT ARGS...: see iotls_client_line; verifies localhost.
our_client() {
    local tag=$1 port=$2
    shift 2
    iotls_client_line "$tag" "localhost:$port" --ca "$PKI/ca.pem" "$@"
}

# ---- our client, openssl s_server (tickets by default) ----
PORT=$("$IA_FREEPORT")
ia_spawn_held 6 timeout --foreground -k "$IA_KILL_AFTER" 10 openssl s_server -accept "127.0.0.1:$PORT" \
    -naccept 2 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" >"$W/oss.log" 2>&1
for _ in $(seq 1 100); do grep -q ACCEPT "$W/oss.log" 2>/dev/null && break; sleep 0.05; done
cell="client-openssl-resume"
if ! our_client c1 "$PORT" --sess-out "$W/c1.sess" || [ ! -s "$W/c1.sess" ]; then
    fail $cell "no ticket saved from the full handshake" "$W/c1.err" "$W/oss.log"
elif grep -q resumed "$W/c1.err"; then
    fail $cell "first connection claims resumption" "$W/c1.err"
elif ! our_client c2 "$PORT" --sess-in "$W/c1.sess"; then
    fail $cell "resumed connection failed" "$W/c2.err" "$W/oss.log"
elif ! grep -q "(resumed)" "$W/c2.err" || ! grep -q "Reused session-id" "$W/oss.log"; then
    fail $cell "not resumed" "$W/c2.err" "$W/oss.log"
else
    pass $cell
fi

# ---- our client with an RSA client certificate, openssl s_server -Verify ----
# OpenSSL seals the client's certificate into its ticket: over 1,024 B with
# an RSA-4096 leaf (as a broker's device certificates may be), which a
# session blob must still hold and offer.
openssl req -new -newkey rsa:4096 -nodes -keyout "$W/rsa4096.key" -out "$W/rsa4096.csr" \
    -subj "/O=iotls interop/CN=iotls interop client rsa-4096" >/dev/null 2>&1
printf 'extendedKeyUsage = clientAuth\n' >"$W/rsa4096.ext"
openssl x509 -req -in "$W/rsa4096.csr" -CA "$PKI/ca.pem" -CAkey "$PKI/ca.key" -set_serial 4096 \
    -days 2 -extfile "$W/rsa4096.ext" -out "$W/rsa4096.pem" >/dev/null 2>&1
PORT=$("$IA_FREEPORT")
ia_spawn_held 6 timeout --foreground -k "$IA_KILL_AFTER" 10 openssl s_server -accept "127.0.0.1:$PORT" \
    -naccept 2 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" -Verify 1 \
    -CAfile "$PKI/ca.pem" >"$W/ossv.log" 2>&1
for _ in $(seq 1 100); do grep -q ACCEPT "$W/ossv.log" 2>/dev/null && break; sleep 0.05; done
cell="client-openssl-resume-rsa-client-cert"
CLI_CERT=(--cert "$W/rsa4096.pem" --key "$W/rsa4096.key")
# The blob is 104 B plus the ticket with a SHA-256 suite and "localhost".
if ! our_client v1 "$PORT" "${CLI_CERT[@]}" --sess-out "$W/v1.sess" || [ ! -s "$W/v1.sess" ]; then
    fail $cell "no ticket saved from the full handshake" "$W/v1.err" "$W/ossv.log"
elif [ "$(($(wc -c <"$W/v1.sess") - 104))" -le 1024 ]; then
    fail $cell "ticket of $(($(wc -c <"$W/v1.sess") - 104)) B: not over 1,024 B, proves nothing" "$W/v1.err"
elif ! our_client v2 "$PORT" "${CLI_CERT[@]}" --sess-in "$W/v1.sess"; then
    fail $cell "resumed connection failed" "$W/v2.err" "$W/ossv.log"
elif ! grep -q "(resumed)" "$W/v2.err" || ! grep -q "Reused session-id" "$W/ossv.log"; then
    fail $cell "not resumed" "$W/v2.err" "$W/ossv.log"
else
    pass $cell
fi

# ---- our client, gnutls-serv (tickets by default) ----
cell="client-gnutls-resume"
if ! command -v gnutls-serv >/dev/null; then
    fail $cell "gnutls-serv not installed"
else
    PORT=$("$IA_FREEPORT")
    ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 15 gnutls-serv --x509certfile "$PKI/ecdsa-p256.pem" \
        --x509keyfile "$PKI/ecdsa-p256.key" -p "$PORT" --echo >"$W/gs.log" 2>&1
    for _ in $(seq 1 100); do ia_listening "$PORT" 2>/dev/null && break; sleep 0.05; done
    if ! our_client g1 "$PORT" --sess-out "$W/g1.sess" || [ ! -s "$W/g1.sess" ]; then
        fail $cell "no ticket saved" "$W/g1.err" "$W/gs.log"
    elif ! our_client g2 "$PORT" --sess-in "$W/g1.sess" || ! grep -q "(resumed)" "$W/g2.err" \
        || ! grep -q "hello g2" "$W/g2.out"; then
        fail $cell "not resumed" "$W/g2.err" "$W/gs.log"
    else
        pass $cell
    fi
fi

# ---- openssl s_client, our server ----
cell="server-openssl-resume"
if ! our_server s1 --tickets 2; then
    fail $cell "our server did not start" "$W/s1.log"
else
    S1=$PORT
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$S1" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_out "$W/o.sess" >"$W/o1.log" 2>&1
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$S1" \
        -servername localhost -CAfile "$PKI/ca.pem" -sess_in "$W/o.sess" >"$W/o2.log" 2>&1
    if ! grep -q "New, TLSv1.3" "$W/o1.log"; then
        fail $cell "first handshake" "$W/o1.log" "$W/s1.log"
    elif ! grep -q "Reused, TLSv1.3" "$W/o2.log"; then
        fail $cell "s_client did not resume" "$W/o2.log" "$W/s1.log"
    elif ! grep -q "(resumed)" "$W/s1.log"; then
        fail $cell "our server does not report resumption" "$W/s1.log"
    else
        pass $cell
    fi

    # ---- gnutls-cli --resume, our server ----
    cell="server-gnutls-resume"
    (echo hi; sleep 0.6) | timeout -k 2 20 gnutls-cli --x509cafile "$PKI/ca.pem" -p "$S1" localhost \
        --resume >"$W/gc.log" 2>&1
    if ! grep -q "This is a resumed session" "$W/gc.log"; then
        fail $cell "gnutls-cli did not resume" "$W/gc.log" "$W/s1.log"
    else
        pass $cell
    fi

    # ---- our client, our server ----
    cell="client-server-resume"
    if ! our_client c3 "$S1" --sess-out "$W/c3.sess" || [ ! -s "$W/c3.sess" ]; then
        fail $cell "no ticket" "$W/c3.err" "$W/s1.log"
    elif ! our_client c4 "$S1" --sess-in "$W/c3.sess" || ! grep -q "(resumed)" "$W/c4.err" \
        || ! grep -q "hello c4" "$W/c4.out"; then
        fail $cell "not resumed" "$W/c4.err" "$W/s1.log"
    else
        pass $cell
    fi

    # ---- --max-ticket (iotls_config_set_max_ticket_size): a saved ticket
    # longer than it is not offered (a full handshake, and the client says
    # why); one within it resumes ----
    cell="client-max-ticket"
    if ! our_client c4s "$S1" --sess-in "$W/c3.sess" --max-ticket 16; then
        fail $cell "handshake failed with a ticket over --max-ticket" "$W/c4s.err" "$W/s1.log"
    elif grep -q "(resumed)" "$W/c4s.err" || ! grep -q "doing a full handshake" "$W/c4s.err"; then
        fail $cell "a ticket over --max-ticket 16 was offered" "$W/c4s.err"
    elif ! our_client c4l "$S1" --sess-in "$W/c3.sess" --max-ticket 1024 \
        || ! grep -q "(resumed)" "$W/c4l.err"; then
        fail $cell "not resumed with a ticket within --max-ticket 1024" "$W/c4l.err" "$W/s1.log"
    else
        pass $cell
    fi

    # ---- a ticket from another server key: full handshake ----
    cell="other-key-full-handshake"
    if ! our_server s2 --tickets 1; then
        fail $cell "second server did not start" "$W/s2.log"
    elif ! our_client c5 "$PORT" --sess-in "$W/c3.sess"; then
        fail $cell "handshake failed" "$W/c5.err" "$W/s2.log"
    elif grep -q "(resumed)" "$W/c5.err" || ! grep -q "verified" "$W/c5.err"; then
        fail $cell "expected a full handshake" "$W/c5.err"
    else
        pass $cell
    fi

    # ---- a damaged session file: refused, full handshake ----
    cell="damaged-session"
    cp "$W/c3.sess" "$W/bad.sess"
    printf '\x00' | dd of="$W/bad.sess" bs=1 seek=40 conv=notrunc 2>/dev/null
    head -c 50 "$W/c3.sess" >"$W/short.sess"
    if ! our_client c6 "$S1" --sess-in "$W/bad.sess"; then
        fail $cell "handshake failed" "$W/c6.err"
    elif ! grep -q "session" "$W/c6.err" || grep -q "(resumed)" "$W/c6.err"; then
        fail $cell "damaged blob not refused" "$W/c6.err"
    elif ! our_client c7 "$S1" --sess-in "$W/short.sess" || grep -q "(resumed)" "$W/c7.err"; then
        fail $cell "truncated blob not refused" "$W/c7.err"
    else
        pass $cell
    fi
fi

# ---- resumption after a HelloRetryRequest (RFC 8446 4.1.4): the session
# offered again in the second ClientHello, its binder over message_hash and
# the HelloRetryRequest. The server only has secp384r1; our client and
# s_client send an x25519 share first. ----
cell="client-openssl-resume-after-hrr"
PORT=$("$IA_FREEPORT")
ia_spawn_held 6 timeout --foreground -k "$IA_KILL_AFTER" 10 openssl s_server -accept "127.0.0.1:$PORT" \
    -naccept 2 -groups P-384 -cert "$PKI/ecdsa-p256.pem" -key "$PKI/ecdsa-p256.key" >"$W/ossh.log" 2>&1
for _ in $(seq 1 100); do grep -q ACCEPT "$W/ossh.log" 2>/dev/null && break; sleep 0.05; done
if ! our_client h1 "$PORT" --groups x25519,secp384r1 --sess-out "$W/h1.sess" ||
    [ ! -s "$W/h1.sess" ]; then
    fail $cell "no ticket saved from the full handshake" "$W/h1.err" "$W/ossh.log"
elif ! our_client h2 "$PORT" --groups x25519,secp384r1 --sess-in "$W/h1.sess"; then
    fail $cell "resumed connection failed" "$W/h2.err" "$W/ossh.log"
elif ! grep -q "(HRR)" "$W/h2.err"; then
    fail $cell "no HelloRetryRequest" "$W/h2.err"
elif ! grep -q "(resumed)" "$W/h2.err" || ! grep -q "Reused session-id" "$W/ossh.log"; then
    fail $cell "not resumed" "$W/h2.err" "$W/ossh.log"
else
    pass $cell
fi

cell="server-openssl-resume-after-hrr"
if ! our_server sh --tickets 1 --groups secp384r1; then
    fail $cell "our server did not start" "$W/sh.log"
else
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -groups X25519:P-384 -servername localhost -CAfile "$PKI/ca.pem" \
        -sess_out "$W/oh.sess" >"$W/oh1.log" 2>&1
    (echo hi; sleep 0.6) | timeout -k 2 20 openssl s_client -connect "127.0.0.1:$PORT" \
        -groups X25519:P-384 -servername localhost -CAfile "$PKI/ca.pem" -msg \
        -sess_in "$W/oh.sess" >"$W/oh2.log" 2>&1
    if ! grep -q "New, TLSv1.3" "$W/oh1.log"; then
        fail $cell "first handshake" "$W/oh1.log" "$W/sh.log"
    elif [ "$(grep -c '>>> .*ClientHello' "$W/oh2.log")" -ne 2 ]; then
        # s_client -msg shows a HelloRetryRequest as a ServerHello: two
        # ClientHellos mean one was asked for.
        fail $cell "no HelloRetryRequest (expected two ClientHellos)" "$W/oh2.log"
    elif ! grep -q "Reused, TLSv1.3" "$W/oh2.log"; then
        fail $cell "s_client did not resume" "$W/oh2.log" "$W/sh.log"
    elif ! grep -q "(resumed)" "$W/sh.log"; then
        fail $cell "our server does not report resumption" "$W/sh.log"
    else
        pass $cell
    fi
fi

# ---- two servers sharing a ticket key file ----
cell="shared-ticket-keys"
head -c 48 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$W/keys.hex"
if ! our_server k1 --tickets 1 --ticket-keys "$W/keys.hex"; then
    fail $cell "server 1 did not start" "$W/k1.log"
else
    K1=$PORT
    if ! our_server k2 --tickets 1 --ticket-keys "$W/keys.hex"; then
        fail $cell "server 2 did not start" "$W/k2.log"
    elif ! our_client c8 "$K1" --sess-out "$W/c8.sess" || ! our_client c9 "$PORT" --sess-in "$W/c8.sess"; then
        fail $cell "handshake failed" "$W/c8.err" "$W/c9.err"
    elif ! grep -q "(resumed)" "$W/c9.err" || ! grep -q "(resumed)" "$W/k2.log"; then
        fail $cell "not resumed across servers" "$W/c9.err" "$W/k2.log"
    else
        pass $cell
    fi
fi

echo "resume cells: $IA_PASSED passed, $FAILS failed"
[ "$FAILS" -eq 0 ]
