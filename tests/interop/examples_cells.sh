#!/usr/bin/env bash
# The examples in examples/, built from the installed library with
# pkg-config alone and run against the real servers they are written for.
#
#   examples_cells.sh build       cmake --install into a scratch prefix, then
#                                 cc -Wall -Wextra -Werror each example with
#                                 `pkg-config --cflags --libs iotls` (fixture
#                                 "examples": the other modes run these binaries)
#   examples_cells.sh mqtt        mqtt_publish with Mosquitto (TLS 1.3 only,
#                                 require_certificate, identity as user name, ACL)
#   examples_cells.sh https       https_get with nginx and with `iotls server --http`
#   examples_cells.sh event_loop  event_loop_client with openssl s_server -www
#   examples_cells.sh psk         psk_sensor with openssl s_server -psk -nocert
#
# Environment (tests/interop/examples_cells.cmake): IA_EXAMPLES_SRC (the
# examples/ directory), IA_EXAMPLES_DIR (prefix and binaries),
# IA_BUILD_DIR (what cmake --install installs), IA_EXAMPLES_CFLAGS (the
# sanitizer build's flags). A missing server program FAILS, naming its
# Debian package. Every cell prints "CELL ...: PASS|FAIL (why)"; the
# servers a cell starts are stopped and reaped at its end.
set -u
. "$(dirname "$0")/lib.sh"
mode=${1:?usage: examples_cells.sh build|mqtt|https|event_loop|event_loop_server|psk}
ia_init "examples-$mode"
: "${IA_EXAMPLES_DIR:?IA_EXAMPLES_DIR must be set (examples_cells.cmake)}"
BIN=$IA_EXAMPLES_DIR/bin
P=$IA_PKI
W=$IA_WORK
IA_SERVER_TIMEOUT=60
EXAMPLES="https_get mqtt_publish event_loop_client event_loop_server psk_sensor"
# mosquitto and nginx live in /usr/sbin, which a user's PATH may lack.
PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin

need() { # need PROGRAM PACKAGE: a missing server program is a failure
    command -v "$1" >/dev/null || ia_die "$1 not found: apt-get install $2 (scripts/deps.sh)"
}

# run TAG EXAMPLE ARGS...: one example run (bounded), output in IA_OUT/IA_ERR.
run() {
    local tag=$1 example=$2
    shift 2
    [ -x "$BIN/$example" ] || ia_die "$BIN/$example not built (interop.examples.build runs first)"
    IA_CLIENT_CMD=("$BIN/$example")
    ia_client "$tag" /dev/null eof -- "$@"
    unset IA_CLIENT_CMD
}

expect_err_has() { grep -qF -- "$1" "$IA_ERR" || ia_fail "stderr lacks '$1'"; }
expect_err_lacks() { ! grep -qF -- "$1" "$IA_ERR" || ia_fail "stderr shows '$1'"; }

# reap PID: stop a helper process of this cell (bounded) and wait for it.
reap() {
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# ---------------------------------------------------------------- build
build_cells() {
    local src=${IA_EXAMPLES_SRC:?} prefix=$IA_EXAMPLES_DIR/prefix pc libdir e lines
    need cc build-essential
    need pkg-config pkg-config
    rm -rf "$IA_EXAMPLES_DIR"
    mkdir -p "$BIN"
    ia_cell_begin "examples: cmake --install into a scratch prefix with iotls.pc"
    if ! cmake --install "${IA_BUILD_DIR:?}" --prefix "$prefix" >"$W/install.log" 2>&1; then
        ia_fail "cmake --install failed"
        IA_ERR=$W/install.log
    fi
    pc=$(find "$prefix" -name iotls.pc 2>/dev/null | head -n 1)
    [ -n "$pc" ] || ia_fail "no iotls.pc installed"
    ia_cell_end || return
    export PKG_CONFIG_PATH=${pc%/iotls.pc}
    libdir=$(pkg-config --variable=libdir iotls)
    for e in $EXAMPLES; do
        ia_cell_begin "examples: $e.c builds with cc -Wall -Wextra -Werror \$(pkg-config --cflags --libs iotls)"
        IA_ERR=$W/$e.cc.err
        [ -f "$src/$e.c" ] || ia_fail "$src/$e.c missing"
        lines=$(wc -l <"$src/$e.c")
        [ "$lines" -lt 200 ] || ia_fail "$e.c has $lines lines, want under 200"
        # The public API only: iotls/iotls.h, engine.h, session.h.
        if grep -E '^#include' "$src/$e.c" | grep -vE '<(iotls/(iotls|engine|session)\.h|[a-z/]+\.h)>$' |
            grep -q .; then
            ia_fail "$e.c includes more than the public API"
        fi
        # shellcheck disable=SC2046,SC2086
        cc ${IA_EXAMPLES_CFLAGS:-} -Wall -Wextra -Werror "$src/$e.c" $(pkg-config --cflags --libs iotls) \
            -Wl,-rpath,"$libdir" -o "$BIN/$e" 2>"$IA_ERR" || ia_fail "cc failed"
        ia_cell_end
    done
}

# ---------------------------------------------------------------- mqtt
# device_cert NAME CN ISSUER: a client certificate (P-256) for this test.
device_cert() {
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$1.key" 2>/dev/null &&
        openssl req -new -key "$W/$1.key" -subj "/O=iotls test/CN=$2" -out "$W/$1.csr" &&
        openssl x509 -req -in "$W/$1.csr" -CA "$P/$3.pem" -CAkey "$P/$3.key" -CAcreateserial \
            -CAserial "$W/$1.srl" -days 30 -sha256 -extfile "$W/client.ext" -out "$W/$1.pem" 2>/dev/null
}

mqtt_cells() {
    local sub_pid port seq payload
    need mosquitto mosquitto
    need mosquitto_sub mosquitto-clients
    need openssl openssl
    printf 'basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n' \
        >"$W/client.ext"
    # The device and the reader from the test CA; a rogue device with the
    # same name from another CA.
    device_cert device sensor-0042 ca && device_cert reader reader ca &&
        device_cert rogue sensor-0042 other-ca || ia_die "could not make the device certificates"
    printf 'user sensor-0042\ntopic write sensors/sensor-0042/#\nuser reader\ntopic read sensors/#\n' >"$W/acl"
    cat >"$W/mosquitto.conf.in" <<CONF
per_listener_settings false
persistence false
user root
log_dest file @LOG@
log_type all
acl_file $W/acl
listener @PORT@ 127.0.0.1
cafile $P/ca.pem
certfile $P/ecdsa-p256.pem
keyfile $P/ecdsa-p256.key
tls_version tlsv1.3
require_certificate true
use_identity_as_username true
CONF
    # broker_start TAG: a Mosquitto of this cell's own (log MQTT_LOG, port),
    # ended by ia_server_stop at the end of the cell.
    broker_start() {
        MQTT_LOG=$W/$1.mosquitto.log
        : >"$MQTT_LOG"
        # shellcheck disable=SC2016
        ia_start_server "$1" -- bash -c 'sed "s/@PORT@/$1/; s|@LOG@|$2|" "$3" >"$4" && exec mosquitto -c "$4"' \
            _ "{PORT}" "$MQTT_LOG" "$W/mosquitto.conf.in" "$W/$1.mosquitto.conf" || ia_die "mosquitto did not start"
        port=$IA_PORT
    }
    # sub_start TAG: mosquitto_sub over TLS 1.3 with the reader's certificate,
    # for one message; returns once the broker has its subscription.
    sub_start() {
        timeout -k 2 15 mosquitto_sub -h 127.0.0.1 -p "$port" --cafile "$P/ca.pem" --cert "$W/reader.pem" \
            --key "$W/reader.key" --tls-version tlsv1.3 -t 'sensors/#' -C 1 -W 10 \
            >"$W/$1.sub.out" 2>"$W/$1.sub.err" &
        sub_pid=$!
        IA_PIDS+=("$sub_pid")
        ia_wait_for "$MQTT_LOG" 'Received SUBSCRIBE' 10
    }
    # sub_expect TAG PAYLOAD: the subscriber got exactly PAYLOAD.
    sub_expect() {
        local got
        for _ in $(seq 1 100); do kill -0 "$sub_pid" 2>/dev/null || break; sleep 0.05; done
        reap "$sub_pid"
        got=$(cat "$W/$1.sub.out")
        [ "$got" = "$2" ] || ia_fail "mosquitto_sub received '$got', want '$2'"
    }
    publish() { # publish TAG CERT TOPIC PAYLOAD (session file: TAG.session)
        run "$1" mqtt_publish localhost "$port" "$P/ca.pem" "$W/$2.pem" "$W/$2.key" "$W/$1.session" "$3" "$4"
    }
    cell_done() {
        IA_SERVER_LOG=$MQTT_LOG
        ia_server_stop
        ia_cell_end
    }

    seq=$$-$RANDOM
    payload="t=21.5C rh=40% seq=$seq"
    ia_cell_begin "mqtt_publish mosquitto: device certificate, QoS 1 PUBLISH, mosquitto_sub gets the payload"
    broker_start pub
    sub_start pub || ia_fail "mosquitto_sub did not subscribe"
    publish pub device sensors/sensor-0042/climate "$payload"
    ia_expect_rc 0
    expect_err_has "full handshake with device certificate"
    expect_err_has "PUBACK received"
    grep -q "u'sensor-0042'" "$MQTT_LOG" || ia_fail "broker did not take the certificate's CN as user name"
    sub_expect pub "$payload"
    cell_done

    # Two runs, as two boots of the device: the second offers the ticket the
    # first saved (a restarted Mosquitto would have lost its ticket key).
    payload="t=21.6C rh=41% seq=$seq"
    ia_cell_begin "mqtt_publish mosquitto: the second run resumes the TLS session the first saved"
    broker_start resume
    publish resume device sensors/sensor-0042/climate "boot 1 seq=$seq"
    expect_err_has "full handshake with device certificate"
    [ -s "$W/resume.session" ] || ia_fail "no session saved by the first run"
    sub_start resume || ia_fail "mosquitto_sub did not subscribe"
    publish resume device sensors/sensor-0042/climate "$payload"
    ia_expect_rc 0
    expect_err_has "resumed session"
    expect_err_has "PUBACK received"
    sub_expect resume "$payload"
    cell_done

    ia_cell_begin "mqtt_publish mosquitto: a topic outside the device's ACL is not delivered"
    broker_start acl
    sub_start acl || ia_fail "mosquitto_sub did not subscribe"
    publish acl device sensors/sensor-0099/climate "spoofed seq=$seq"
    ia_expect_rc 0 # MQTT 3.1.1 brokers acknowledge and drop a denied PUBLISH
    publish acl device sensors/sensor-0042/climate "allowed seq=$seq"
    sub_expect acl "allowed seq=$seq"
    cell_done

    ia_cell_begin "mqtt_publish mosquitto: a device certificate from another CA is refused"
    broker_start rogue
    sub_start rogue || ia_fail "mosquitto_sub did not subscribe"
    publish rogue rogue sensors/sensor-0042/climate "rogue seq=$seq"
    ia_expect_fail_rc
    expect_err_has "broker refused the connection"
    expect_err_lacks "PUBACK"
    grep -q "certificate verify failed" "$MQTT_LOG" || ia_fail "mosquitto log shows no certificate failure"
    # The subscriber must see nothing: it times out (-W) with no output.
    sub_expect rogue ""
    cell_done

    ia_cell_begin "mqtt mosquitto: the broker refuses TLS 1.2 (tls_version tlsv1.3)"
    broker_start tls12
    IA_ERR=$W/tls12.err
    if timeout 10 openssl s_client -connect "127.0.0.1:$port" -tls1_2 -CAfile "$P/ca.pem" \
        -cert "$W/device.pem" -key "$W/device.key" </dev/null >"$W/tls12.out" 2>"$IA_ERR"; then
        ia_fail "a TLS 1.2 handshake succeeded"
    fi
    grep -q "alert protocol version" "$IA_ERR" || ia_fail "no protocol_version alert from the broker"
    cell_done
}

# ---------------------------------------------------------------- https
https_cells() {
    local body port srv N=$W/nginx
    need nginx nginx
    mkdir -p "$N/www" "$N/tmp"
    body="reading 42 from $$: all good"
    echo "$body" >"$N/www/status.txt"
    cat >"$N/nginx.conf.in" <<CONF
worker_processes 1;
master_process off;
daemon off;
pid $N/nginx.pid;
error_log $N/error.log info;
events { worker_connections 64; }
http {
    access_log $N/access.log;
    client_body_temp_path $N/tmp/body;
    proxy_temp_path $N/tmp/proxy;
    fastcgi_temp_path $N/tmp/fastcgi;
    uwsgi_temp_path $N/tmp/uwsgi;
    scgi_temp_path $N/tmp/scgi;
    types { text/plain txt; }
    server {
        listen 127.0.0.1:@PORT@ ssl;
        server_name localhost;
        ssl_certificate $P/ecdsa-p256.pem;
        ssl_certificate_key $P/ecdsa-p256.key;
        ssl_protocols TLSv1.3;
        root $N/www;
    }
}
CONF
    # nginx_start / iotls_start: a server of the cell's own, ended by
    # ia_server_stop. nginx runs in the foreground with its own prefix, pid,
    # logs and temp dirs in the work dir.
    nginx_start() {
        # shellcheck disable=SC2016
        ia_start_server nginx -- bash -c 'sed "s/@PORT@/$1/" "$2" >"$3" && exec nginx -p "$4" -e "$4/error.log" -c "$3"' \
            _ "{PORT}" "$N/nginx.conf.in" "$N/nginx.conf" "$N" || ia_die "nginx did not start"
        port=$IA_PORT
    }
    iotls_start() {
        ia_start_server iotls -- "$IOTLS" server --port 0 --ready-file {READY} --cert "$P/ecdsa-p256.pem" \
            --key "$P/ecdsa-p256.key" --http --tickets 2 || ia_die "iotls server did not start"
        port=$IA_PORT
    }
    # get SERVER SESSION: https_get of /status.txt (nginx) or /reading (iotls).
    get() {
        local path=/status.txt
        [ "$1" = iotls ] && path=/reading
        run "$1-$2" https_get localhost "$port" "$path" "$P/ca.pem" "$W/$1-$2.session"
    }
    expect_body() {
        if [ "$1" = nginx ]; then
            [ "$(cat "$IA_OUT")" = "$body" ] || ia_fail "body is not the file's content"
        else
            ia_expect_out_has "request:      GET /reading"
        fi
    }

    for srv in nginx iotls; do
        ia_cell_begin "https_get $srv: verified full handshake, GET, session saved"
        "${srv}_start"
        get $srv full
        ia_expect_rc 0
        expect_body $srv
        expect_err_has "full handshake, server certificate verified"
        [ -s "$W/$srv-full.session" ] || ia_fail "no session saved"
        [ $srv = nginx ] && IA_SERVER_LOG=$N/error.log
        ia_server_stop
        ia_cell_end

        ia_cell_begin "https_get $srv: the next run resumes the session the first saved"
        "${srv}_start"
        get $srv boot
        expect_err_has "full handshake"
        [ -s "$W/$srv-boot.session" ] || ia_fail "no session saved by the first run"
        get $srv boot
        ia_expect_rc 0
        expect_body $srv
        expect_err_has "resumed session"
        ia_server_stop
        ia_cell_end
    done

    ia_cell_begin "https_get nginx: a server the CA did not sign is refused"
    nginx_start
    run other https_get localhost "$port" /status.txt "$P/other-ca.pem" "$W/other.session"
    ia_expect_fail_rc
    expect_err_has "unknown_ca"
    [ -s "$IA_OUT" ] && ia_fail "printed a body"
    ia_server_stop
    ia_cell_end
}

# ---------------------------------------------------------------- openssl s_server
event_loop_cells() {
    need openssl openssl
    ia_cell_begin "event_loop_client openssl-s_server -www: poll()-driven handshake and GET"
    ia_start_server ss --stdin-fifo -- openssl s_server -accept 127.0.0.1:{PORT} -naccept 1 -www -tls1_3 \
        -cert "$P/ecdsa-p256.pem" -key "$P/ecdsa-p256.key" || ia_fail "s_server did not start"
    run el1 event_loop_client 127.0.0.1 "$IA_PORT" localhost "$P/ca.pem" /
    ia_expect_rc 0
    ia_expect_out_has "HTTP/1.0 200 ok"
    ia_expect_out_has "New, TLSv1.3, Cipher is"
    expect_err_has "handshake done"
    ia_server_wait 5
    ia_cell_end

    # 200 KB: many records and many partial reads through the loop; the
    # body must arrive byte for byte.
    ia_cell_begin "event_loop_client openssl-s_server -WWW: a 200 KB file arrives intact"
    head -c 150000 /dev/urandom | base64 -w 76 >"$W/big.txt"
    cd "$W" || ia_die "no work dir"
    ia_start_server ssbig --stdin-fifo -- openssl s_server -accept 127.0.0.1:{PORT} -naccept 1 -WWW -tls1_3 \
        -cert "$P/ecdsa-p256.pem" -key "$P/ecdsa-p256.key" || ia_fail "s_server did not start"
    cd - >/dev/null || ia_die "cd back"
    run elbig event_loop_client 127.0.0.1 "$IA_PORT" localhost "$P/ca.pem" /big.txt
    ia_expect_rc 0
    sed '1,/^\r$/d' "$IA_OUT" | cmp -s - "$W/big.txt" || ia_fail "body differs from the file"
    ia_server_wait 5
    ia_cell_end

    ia_cell_begin "event_loop_client: wrong server name refused (certificate name check)"
    ia_start_server ss2 --stdin-fifo -- openssl s_server -accept 127.0.0.1:{PORT} -naccept 1 -www -tls1_3 \
        -cert "$P/ecdsa-p256.pem" -key "$P/ecdsa-p256.key" || ia_fail "s_server did not start"
    run el2 event_loop_client 127.0.0.1 "$IA_PORT" wrong.example "$P/ca.pem" /
    ia_expect_fail_rc
    expect_err_has "name"
    [ -s "$IA_OUT" ] && ia_fail "printed a response"
    ia_server_wait 5
    ia_cell_end

    ia_cell_begin "event_loop_client: a refused connect is reported through poll()"
    local closed
    closed=$("$IA_FREEPORT")
    run el3 event_loop_client 127.0.0.1 "$closed" localhost "$P/ca.pem" /
    ia_expect_fail_rc
    expect_err_has "connect: Connection refused"
    ia_cell_end
}

# ---------------------------------------------------------------- event_loop_server
event_loop_server_cells() {
    local i pids=() ok=1
    ia_cell_begin "event_loop_server: three event_loop_clients at once get the page, close_notify ends each"
    ia_start_server els -- "$BIN/event_loop_server" {PORT} "$P/ecdsa-p256.pem" "$P/ecdsa-p256.key" ||
        ia_fail "event_loop_server did not start"
    for i in 1 2 3; do
        timeout -k 2 20 "$BIN/event_loop_client" 127.0.0.1 "$IA_PORT" localhost "$P/ca.pem" / \
            >"$W/elc$i.out" 2>"$W/elc$i.err" &
        pids+=($!)
    done
    for i in 1 2 3; do
        wait "${pids[$((i - 1))]}" || ok=0
        grep -q "hello from event_loop_server" "$W/elc$i.out" || ok=0
    done
    [ $ok = 1 ] || { IA_ERR=$W/elc1.err; ia_fail "a client did not get the page (or failed)"; }
    ia_server_stop
    ia_cell_end

    # SIGTERM in the middle of a request: the listener closes (a new
    # connection is refused), the request is still answered, the server
    # exits 0 once it is.
    ia_cell_begin "event_loop_server: SIGTERM drains (open request answered, new ones refused, exit 0)"
    ia_start_server els2 -- "$BIN/event_loop_server" {PORT} "$P/ecdsa-p256.pem" "$P/ecdsa-p256.key" ||
        ia_fail "event_loop_server did not start"
    timeout -k 2 20 "$IOTLS" client "127.0.0.1:$IA_PORT" --ca "$P/ca.pem" --servername localhost \
        >"$W/eld.out" 2>"$W/eld.err" < <(
            printf 'GET / HTTP/1.0\r\n'
            sleep 2
            printf '\r\n'
            sleep 8
        ) &
    local cpid=$!
    sleep 1
    kill -TERM "$IA_SERVER_PID"
    sleep 0.3
    timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$IA_PORT" 2>/dev/null &&
        ia_fail "a new connection was accepted after SIGTERM"
    wait "$cpid" || ia_fail "the client failed (exit $?)"
    grep -q "hello from event_loop_server" "$W/eld.out" || ia_fail "the open request was not answered"
    ia_server_wait 5
    [ "$IA_SERVER_RC" = 0 ] || ia_fail "server exit $IA_SERVER_RC, want 0"
    IA_ERR=$W/eld.err
    ia_cell_end
}

psk_cells() {
    local key=8f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeef
    local bad=8f0a1b2c3d4e5f60718293a4b5c6d7e8f90112233445566778899aabbccddeee
    local reading="temp=21.5C seq=$$"
    need openssl openssl
    # psk_server ARGS...: one s_server connection with the sensor's PSK, no certificate.
    psk_server() {
        ia_start_server "psk$1" --stdin-fifo -- openssl s_server -accept 127.0.0.1:{PORT} -naccept 1 -quiet \
            -tls1_3 -nocert -psk "$key" -psk_identity sensor-0042 "${@:2}" || ia_fail "s_server did not start"
    }

    ia_cell_begin "psk_sensor openssl-s_server: external PSK, psk_dhe_ke (x25519)"
    psk_server 1
    run ps1 psk_sensor 127.0.0.1 "$IA_PORT" sensor-0042 "$key" "$reading"
    ia_expect_rc 0
    expect_err_has "psk_dhe_ke"
    expect_err_has "key exchange x25519"
    ia_server_wait 5
    ia_expect_server_log "$reading" "the reading"
    ia_cell_end

    ia_cell_begin "psk_sensor openssl-s_server -allow_no_dhe_kex: psk_ke, no key share"
    psk_server 2 -allow_no_dhe_kex
    run ps2 psk_sensor 127.0.0.1 "$IA_PORT" sensor-0042 "$key" "$reading" psk_ke
    ia_expect_rc 0
    expect_err_has "psk_ke (no key exchange)"
    ia_server_wait 5
    ia_expect_server_log "$reading" "the reading"
    ia_cell_end

    ia_cell_begin "psk_sensor psk_ke: refused by a server that does not allow it"
    psk_server 3
    run ps3 psk_sensor 127.0.0.1 "$IA_PORT" sensor-0042 "$key" "$reading" psk_ke
    ia_expect_fail_rc
    expect_err_has "handshake failed"
    ia_server_wait 5
    grep -qF -- "$reading" "$IA_SERVER_LOG" && ia_fail "the server got the reading"
    ia_cell_end

    ia_cell_begin "psk_sensor: a wrong key is refused"
    psk_server 4
    run ps4 psk_sensor 127.0.0.1 "$IA_PORT" sensor-0042 "$bad" "$reading"
    ia_expect_fail_rc
    expect_err_has "handshake failed"
    ia_server_wait 5
    grep -qF -- "$reading" "$IA_SERVER_LOG" && ia_fail "the server got the reading"
    ia_cell_end
}

case $mode in
build) build_cells ;;
mqtt) mqtt_cells ;;
https) https_cells ;;
event_loop) event_loop_cells ;;
event_loop_server) event_loop_server_cells ;;
psk) psk_cells ;;
*) ia_die "unknown mode $mode" ;;
esac
ia_finish
