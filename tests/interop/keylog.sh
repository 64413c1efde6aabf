#!/usr/bin/env bash
# Keylog correctness: a loopback session captured with tshark must decrypt
# with the key log our client wrote. Our client (--keylog FILE --get /) talks
# to openssl s_server -www; tshark -r cap.pcap -o tls.keylog_file:FILE must
# then show the HTTP request and response in clear. If tshark cannot
# capture (no permission to open lo), the test FAILS and says so.
set -u
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/peers.sh"
ia_init keylog
ia_need_peer openssl
ia_need_peer tshark

ia_cell_begin "client openssl-server keylog: tshark decrypts the captured HTTP exchange"
cap=$IA_WORK/cap.pcap
keylog=$IA_WORK/keys.log
if ia_peer_server openssl srv mode=http 2>"$IA_WORK/start.err"; then
    # "Capturing on" comes before the capture is live. Probe: UDP datagrams
    # to an unused port (also in the filter) until tshark prints one (-P -l).
    probe=$("$IA_FREEPORT")
    # -a duration bounds the capture even if we are killed.
    ia_spawn timeout --foreground -k "$IA_KILL_AFTER" 40 tshark -i lo -f "tcp port $IA_PORT or udp port $probe" -w "$cap" -P -l \
        -a duration:30 >"$IA_WORK/tshark.out" 2>"$IA_WORK/tshark.err"
    tshark_pid=$IA_SPAWNED
    live=0
    for _ in $(seq 1 300); do
        if [ -s "$IA_WORK/tshark.out" ]; then live=1; break; fi
        kill -0 "$tshark_pid" 2>/dev/null || break
        echo probe 2>/dev/null >/dev/udp/127.0.0.1/"$probe"
        sleep 0.05
    done
    if [ $live = 0 ]; then
        ia_fail "tshark cannot capture on lo: $(grep -v '^ \*\*' "$IA_WORK/tshark.err" | tail -n 2 | tr '\n' ' ')"
        ia_fail "(capturing needs root or CAP_NET_RAW, e.g. dpkg-reconfigure wireshark-common)"
    else
        : >"$IA_WORK/empty"
        ia_client get "$IA_WORK/empty" exit -- "127.0.0.1:$IA_PORT" --ca "$IA_PKI/ca.pem" \
            --servername localhost --keylog "$keylog" --get / --timeout 10
        ia_expect_rc 0
        grep -qi "HTTP/1.[01] 200" "$IA_OUT" || ia_fail "no HTTP 200 answer from s_server -www"
        sleep 0.5 # let the last packets reach the capture file
        kill -INT "$tshark_pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$tshark_pid" 2>/dev/null || break; sleep 0.05; done
        wait "$tshark_pid" 2>/dev/null
        for label in CLIENT_HANDSHAKE_TRAFFIC_SECRET SERVER_HANDSHAKE_TRAFFIC_SECRET \
            CLIENT_TRAFFIC_SECRET_0 SERVER_TRAFFIC_SECRET_0; do
            grep -q "^$label [0-9a-f]\{64\} [0-9a-f]\{64,96\}$" "$keylog" 2>/dev/null ||
                ia_fail "key log lacks a well-formed $label line"
        done
        if [ ! -s "$cap" ]; then
            ia_fail "no capture file"
        else
            # s_server -www answers HTTP/1.0 with no Content-Length (the body
            # ends at close): without desegment_body:FALSE tshark waits for it.
            timeout -k 2 60 tshark -r "$cap" -o "tls.keylog_file:$keylog" -o http.desegment_body:FALSE -Y http \
                -T fields -e http.request.method -e http.request.uri -e http.response.code \
                >"$IA_WORK/decoded.txt" 2>"$IA_WORK/decode.err"
            # Without the key log nothing may decode: proves the keys did the work.
            timeout -k 2 60 tshark -r "$cap" -o http.desegment_body:FALSE -Y http >"$IA_WORK/nokeys.txt" 2>/dev/null
            grep -qE "^GET[[:space:]]+/" "$IA_WORK/decoded.txt" ||
                ia_fail "tshark did not decrypt the HTTP request (see decoded.txt)"
            grep -qE "(^|[[:space:]])200$" "$IA_WORK/decoded.txt" ||
                ia_fail "tshark did not decrypt the HTTP 200 response"
            [ -s "$IA_WORK/nokeys.txt" ] && ia_fail "HTTP visible even without the key log?"
            IA_OUT=$IA_WORK/decoded.txt
        fi
    fi
    ia_server_stop
else
    ia_fail "openssl s_server did not start: $(tail -n 2 "$IA_WORK/start.err" | tr '\n' ' ')"
fi
ia_cell_end
ia_finish
