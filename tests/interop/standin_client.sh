#!/usr/bin/env bash
# standin_client.sh: `iotls client` played by openssl s_client, for checking
# the HARNESS itself (not iotls): with IOTLS=.../standin_client.sh the client
# cells must pass, except "over 16 KiB, default limit" (s_client has no such
# limit to emulate; --max-handshake is ignored) and "alpn" (-brief does not
# print it). It takes
# the iotls client options the cells use and prints the same kind of -v
# trace ("suite: ...", "group: ...", "<- HelloRetryRequest", ...) and the
# same error line ("iotls: handshake failed: <alert> (<reason>)").
#
#   IOTLS=$PWD/tests/interop/standin_client.sh ctest -R interop.client   (see README)
set -u
[ "${1:-}" = client ] || { echo "standin_client.sh: only 'client' is played" >&2; exit 2; }
shift
target=$1
shift
args=(-connect "$target")
verbose=0 get="" name=""
while [ $# -gt 0 ]; do
    case $1 in
    --ca) args+=(-CAfile "$2" -verify_return_error); shift ;;
    --servername) name=$2; shift ;;
    --alpn) args+=(-alpn "$2"); shift ;;
    --cert) args+=(-cert "$2"); shift ;;
    --key) args+=(-key "$2"); shift ;;
    --groups) args+=(-groups "${2//,/:}"); shift ;;
    --ciphers) args+=(-ciphersuites "${2//,/:}"); shift ;;
    --keylog) args+=(-keylogfile "$2"); shift ;;
    --max-handshake) shift ;; # s_client has no such limit
    --timeout) shift ;;
    --get) get=$2; shift ;;
    --insecure) ;;
    -v) verbose=1 ;;
    --quiet) ;;
    *) echo "standin_client.sh: unsupported option $1" >&2; exit 2 ;;
    esac
    shift
done
[ -z "$name" ] && name=${target%:*}
args+=(-servername "$name" -verify_hostname "$name" -tls1_3 -brief -nocommands)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args+=(-msg -msgfile "$tmp/msg")
if [ -n "$get" ]; then
    printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$get" "$name" |
        openssl s_client "${args[@]}" -ign_eof 2>"$tmp/err"
    rc=$?
else
    openssl s_client "${args[@]}" 2>"$tmp/err"
    rc=$?
fi
if [ $verbose = 1 ]; then
    sed -n 's/^Ciphersuite: /suite: /p' "$tmp/err" >&2
    sed -n 's/^Server Temp Key: \(ECDH, \)\?\([A-Za-z0-9-]*\).*/group: \2/p' "$tmp/err" | tr 'A-Z' 'a-z' >&2
    sed -n 's/^ALPN protocol: /alpn: /p' "$tmp/err" >&2
    sigtype=$(sed -n 's/^Signature type: //p' "$tmp/err")
    hash=$(sed -n 's/^Hash used: SHA//p' "$tmp/err")
    case $sigtype in
    ECDSA) [ "$hash" = 256 ] && echo "peer signature: ecdsa_secp256r1_sha256" >&2
        [ "$hash" = 384 ] && echo "peer signature: ecdsa_secp384r1_sha384" >&2 ;;
    RSA-PSS) echo "peer signature: rsa_pss_rsae_sha$hash" >&2 ;;
    esac
    [ "$(grep -c '<<< .*ServerHello' "$tmp/msg")" -ge 2 ] && echo "<- HelloRetryRequest" >&2
    sed -n 's/^<<< TLS 1.3, Handshake \[.*\], \(NewSessionTicket\|KeyUpdate\)$/<- \1/p' "$tmp/msg" >&2
    sed -n 's/^>>> TLS 1.3, Handshake \[.*\], \(KeyUpdate\)$/-> \1/p' "$tmp/msg" >&2
fi
err=$(cat "$tmp/err")
alert=""
case $err in
*"unable to get local issuer"* | *"self-signed certificate in"*) alert="unknown_ca (peer certificate not signed by a trusted CA)" ;;
*"certificate has expired"*) alert="certificate_expired (peer certificate expired or not yet valid)" ;;
*"hostname mismatch"*) alert="bad_certificate (peer certificate does not match the host name)" ;;
*"excessive message size"*) alert="decode_error (handshake message larger than the configured limit)" ;;
*"alert protocol version"* | *"unsupported protocol"*) alert="protocol_version (peer does not speak TLS 1.3)" ;;
*"alert certificate required"*) alert="certificate_required (peer sent a fatal alert)" ;;
*"alert handshake failure"*) alert="handshake_failure (peer sent a fatal alert)" ;;
*"alert"*) alert="unknown (peer sent a fatal alert)" ;;
esac
if [ -n "$alert" ]; then
    echo "iotls: handshake failed: $alert" >&2
    exit 1
fi
if [ $rc -ne 0 ]; then
    echo "iotls: failed: $(tail -n 1 "$tmp/err")" >&2
    exit 1
fi
exit 0
