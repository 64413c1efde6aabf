# peers.sh: how to start each peer implementation's SERVER with one common
# set of knobs, so a cell says what it wants and not how each tool spells it.
# Sourced after lib.sh. (The server-side cells add the peers' CLIENTS here.)
#
#   ia_peer_server PEER LABEL [key=value ...]
#     PEER       openssl (s_server) | gnutls (gnutls-serv) | wolfssl (wolfssl_peer)
#     cert=NAME  leaf from the PKI: ecdsa-p256 (default) ecdsa-p384 rsa2048 chain big
#                expired wrongname other-leaf. "chain" sends chain-leaf + intermediate.
#     suite=IANA one TLS 1.3 suite (TLS_AES_128_GCM_SHA256 ...); default: the peer's own
#     groups=a,b groups the server accepts (x25519 secp256r1 secp384r1); default: its own
#     mode=echo  data comes back (openssl -rev reverses each line, see ia_peer_expect)
#     mode=http  answers an HTTP GET (openssl -www, gnutls --http, wolfssl_peer --http)
#     mode=interactive  openssl only: stdin to the client, -msg trace (KeyUpdate cell)
#     clientauth=none|optional|required  CertificateRequest; verified against ca.pem
#     alpn=LIST  protocols the server accepts
#     version=tls12  a TLS 1.2-only server (negative cell)
#     tickets=N  openssl: NewSessionTickets sent after the handshake
#     keyupdate=1 wolfssl: KeyUpdate(update_requested) after the first echo
#   Sets what ia_start_server sets, and IA_PEER_MODE.

ia__kv() { # ia__kv KEY DEFAULT ARGS...: value of KEY=... in ARGS
    local key=$1 def=$2 a
    shift 2
    for a in "$@"; do
        [ "${a%%=*}" = "$key" ] && { echo "${a#*=}"; return; }
    done
    echo "$def"
}

ia_peer_server() {
    local peer=$1 label=$2
    shift 2
    local cert suite groups mode clientauth alpn version tickets keyupdate
    cert=$(ia__kv cert ecdsa-p256 "$@")
    suite=$(ia__kv suite "" "$@")
    groups=$(ia__kv groups "" "$@")
    mode=$(ia__kv mode echo "$@")
    clientauth=$(ia__kv clientauth none "$@")
    alpn=$(ia__kv alpn "" "$@")
    version=$(ia__kv version tls13 "$@")
    tickets=$(ia__kv tickets "" "$@")
    keyupdate=$(ia__kv keyupdate "" "$@")
    IA_PEER_MODE=$mode
    local pki=$IA_PKI certfile keyfile
    certfile=$pki/$cert.pem
    keyfile=$pki/$cert.key
    case $peer in
    openssl)
        local a=(openssl s_server -accept "127.0.0.1:{PORT}" -naccept 1)
        if [ "$version" = tls12 ]; then a+=(-tls1_2); else a+=(-tls1_3); fi
        if [ "$cert" = chain ]; then
            a+=(-cert "$pki/chain-leaf.pem" -key "$pki/chain-leaf.key" -cert_chain "$pki/int.pem")
        else
            a+=(-cert "$certfile" -key "$keyfile")
        fi
        [ -n "$suite" ] && a+=(-ciphersuites "$suite")
        [ -n "$groups" ] && a+=(-groups "${groups//,/:}")
        case $clientauth in
        optional) a+=(-verify 1 -CAfile "$pki/ca.pem") ;;
        required) a+=(-Verify 1 -CAfile "$pki/ca.pem") ;;
        esac
        [ -n "$alpn" ] && a+=(-alpn "$alpn")
        [ -n "$tickets" ] && a+=(-num_tickets "$tickets")
        case $mode in
        echo) a+=(-rev) ;;
        http) a+=(-www) ;;
        interactive) a+=(-msg) ;;
        esac
        if [ "$mode" = interactive ]; then
            ia_start_server "$label" --stdin-fifo -- "${a[@]}"
        else
            ia_start_server "$label" -- "${a[@]}"
        fi
        ;;
    gnutls)
        local prio="NORMAL:-VERS-ALL:+VERS-TLS1.3"
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
            local g
            for g in ${groups//,/ }; do
                case $g in
                x25519) prio+=":+GROUP-X25519" ;;
                secp256r1) prio+=":+GROUP-SECP256R1" ;;
                secp384r1) prio+=":+GROUP-SECP384R1" ;;
                secp521r1) prio+=":+GROUP-SECP521R1" ;;
                *) ia_die "gnutls: unknown group $g" ;;
                esac
            done
        fi
        [ "$cert" = chain ] && keyfile=$pki/chain-leaf.key
        local a=(gnutls-serv -p "{PORT}" --x509certfile "$certfile" --x509keyfile "$keyfile"
            --priority "$prio")
        case $clientauth in
        none) a+=(--disable-client-cert) ;;
        optional) a+=(--verify-client-cert --x509cafile "$pki/ca.pem") ;;
        required) a+=(--require-client-cert --verify-client-cert --x509cafile "$pki/ca.pem") ;;
        esac
        [ -n "$alpn" ] && a+=(--alpn "$alpn" --alpn-fatal)
        case $mode in
        echo) a+=(--echo) ;;
        http) a+=(--http) ;;
        *) ia_die "gnutls: mode $mode not supported" ;;
        esac
        ia_start_server "$label" -- "${a[@]}"
        ;;
    wolfssl)
        local a=("$IA_WOLFSSL_PEER" server --port 0 --ready-file "{READY}")
        [ "$cert" = chain ] && keyfile=$pki/chain-leaf.key
        a+=(--cert "$certfile" --key "$keyfile")
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
        [ "$clientauth" != none ] && a+=(--verify-client "$clientauth" --ca "$pki/ca.pem")
        [ -n "$alpn" ] && a+=(--alpn "$alpn")
        [ -n "$keyupdate" ] && a+=(--key-update)
        case $mode in
        echo) a+=(--echo) ;;
        http) a+=(--http) ;;
        *) ia_die "wolfssl: mode $mode not supported" ;;
        esac
        ia_start_server "$label" -- "${a[@]}"
        ;;
    *) ia_die "unknown peer $peer" ;;
    esac
}

# ia_peer_expect PEER INFILE OUTFILE: what the echo-mode server sends back for
# INFILE. openssl s_server -rev answers each line reversed (without its line
# end) followed by "\n"; gnutls-serv --echo and wolfssl_peer send the bytes back.
ia_peer_expect() {
    case $1 in
    openssl) LC_ALL=C rev <"$2" >"$3" ;;
    *) cp "$2" "$3" ;;
    esac
}

# Display names of the peers' servers, as used in cell labels.
ia_peer_label() {
    case $1 in
    openssl) echo openssl-server ;;
    gnutls) echo gnutls-server ;;
    wolfssl) echo wolfssl-server ;;
    esac
}
