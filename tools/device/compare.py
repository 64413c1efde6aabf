#!/usr/bin/env python3
"""iotls beside Mbed TLS 4's own TLS 1.3 client on the emulated boards: runs
both firmwares (make device-compare) through run_client.py against the same
peers on 127.0.0.1, on the same boards, with the same crypto build, and
prints one markdown table with the ratios (iotls / Mbed TLS), as
docs/device.md shows it.

    python3 tools/device/compare.py [--build build-device] [--iotls build/iotls]

The scenario per board and peer, each stack in one run of two boots:
  iotls server  full handshake (chain + name verified, device certificate),
                GET, ticket kept in retained RAM, close_notify; second boot
                resumed with the GET sent as 0-RTT, response, close_notify.
  openssl       the same against `openssl s_server -early_data`, which
                serves no HTTP: the reading alone goes as 0-RTT.
Record buffers: ESP-IDF's default for Mbed TLS (16384 in / 4096 out; iotls
receives any record and sends records of at most 4096 bytes,
iotls_config_set_send_record_size) and the smallest that
worked with the peer (--small-*: found by trying, docs/device.md). Like
Mbed TLS, the iotls firmware reassembles a handshake message spanning
records in its record buffer (iotls_config_set_reassemble_in_place); the
rows "with a handshake buffer of its own" run it with one
(run_client.py --reasm-buffer). No KeyUpdate in the comparison: Mbed TLS 4
has none.

With the default records each configuration runs --runs times (5) and every
figure is the median of its runs (the lower middle one for an even count):
a handshake's instruction count moves by about 2 % either way from run to
run, with the key shares (most of a handshake is Mbed TLS' bignum
arithmetic, whose cost depends on the values), on both stacks, so the
ratio of two single runs moves by up to 4 %.
"""
import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import image_breakdown  # noqa: E402

TLS_PARTS = ("engine (src/, src/msg/)", "PSA provider (src/crypto/)",
             "config (src/config/config.c)", "Mbed TLS: TLS (comparison firmware)")
CROSS = {"cm4": "arm-none-eabi", "rv32": "riscv64-unknown-elf"}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_peer(kind, args, work):
    """Starts a peer on 127.0.0.1 in its own process group; (process, port)."""
    pki = args.pki
    log = open(os.path.join(work, "peer-%s.log" % kind), "w")
    if kind == "iotls":
        ready = os.path.join(work, "ready-%d" % time.time_ns())
        p = subprocess.Popen([args.iotls, "server", "--port", "0", "--ready-file", ready, "--http",
                              "--tickets", "1", "--early-data", "16384",
                              "--cert", pki + "/ecdsa-p256.pem", "--key", pki + "/ecdsa-p256.key",
                              "--ca", pki + "/ca.pem"], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        for _ in range(100):
            if os.path.exists(ready) and open(ready).read().strip():
                return p, int(open(ready).read().strip())
            time.sleep(0.1)
        p.kill()
        raise SystemExit("compare: iotls server did not start")
    port = free_port()
    # -verify (asks for the device certificate): OpenSSL 3.0 refuses 0-RTT
    # on a session whose certificate was required (-Verify). Its stdin is a
    # pipe left open: s_server sends what it reads there to the client.
    p = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-tls1_3",
                          "-cert", pki + "/ecdsa-p256.pem", "-key", pki + "/ecdsa-p256.key",
                          "-CAfile", pki + "/ca.pem", "-verify", "1", "-early_data"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.PIPE,
                         start_new_session=True)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return p, port
        except OSError:
            time.sleep(0.1)
    p.kill()
    raise SystemExit("compare: openssl s_server did not start")


def run(args, board, peer, port, extra):
    cmd = [sys.executable, os.path.join(HERE, "run_client.py"), board, "127.0.0.1:%d" % port,
           "--build", args.build, "--raw", "--ca", args.pki + "/ca.pem",
           "--cert", args.pki + "/client-ecdsa.pem", "--key", args.pki + "/client-ecdsa.key",
           "--servername", "localhost", "--resume", "--early-data", "t=21.5"]
    if peer == "iotls":
        cmd += ["--get", "/"]
    cmd += extra
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode()
    if "run-client: OK" not in out:
        sys.stdout.write(out)
        raise SystemExit("compare: %s on %s against %s failed" % (" ".join(extra), board, peer))
    res = {"steps": {}, "arena": {}}
    for line in out.splitlines():
        m = re.match(r"\[(full|resume)\] STEP (\S+) (.*)", line)
        if m:
            kv = dict(x.split("=", 1) for x in m.group(3).split())
            res["steps"][(m.group(1), m.group(2))] = {k: int(v) for k, v in kv.items()}
        m = re.match(r"\[(full|resume)\] TOTAL .*arena_peak=(\d+)", line)
        if m:
            res["arena"][m.group(1)] = int(m.group(2))
    return res


def median_of(runs):
    """One result of several runs of a configuration: each figure the
    median (lower middle) of its values."""
    res = {"steps": {}, "arena": {}}
    for key in runs[0]["steps"]:
        fields = runs[0]["steps"][key]
        res["steps"][key] = {k: statistics.median_low([r["steps"][key][k] for r in runs])
                             for k in fields}
    for key in runs[0]["arena"]:
        res["arena"][key] = statistics.median_low([r["arena"][key] for r in runs])
    return res


def image(args, board, elf_base):
    sums, _ = image_breakdown.parse(os.path.join(args.build, board, elf_base + ".map"))
    tls = sum(sums[p][0] for p in TLS_PARTS)
    ram = sum(v[1] + v[2] for v in sums.values())
    return tls, ram


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(REPO, "build-device"))
    ap.add_argument("--iotls", default=os.path.join(REPO, "build", "iotls"))
    ap.add_argument("--pki", help="tests/interop/pki.sh output (made in a temporary directory "
                                  "when not given)")
    ap.add_argument("--boards", default="cm4,rv32")
    ap.add_argument("--peers", default="iotls,openssl")
    ap.add_argument("--runs", type=int, default=5,
                    help="runs of each default-records configuration, whose figures are "
                         "the medians (the instruction rows come from these)")
    ap.add_argument("--small-iotls", default="1024/1024", metavar="RECORD/HANDSHAKE",
                    help="iotls' small configuration, reassembling in the record buffer as "
                         "Mbed TLS does: record size and largest handshake message")
    ap.add_argument("--small-iotls-buffer", default="512/1024", metavar="RECORD/HANDSHAKE",
                    help="iotls' small configuration with a handshake buffer of its own: "
                         "record size and handshake buffer")
    ap.add_argument("--small-mbedtls-iotls", default="1024/512", metavar="IN/OUT",
                    help="Mbed TLS' smallest buffers that worked with iotls server")
    ap.add_argument("--small-mbedtls-openssl", default="1024/512", metavar="IN/OUT",
                    help="Mbed TLS' smallest buffers that worked with openssl s_server")
    ap.add_argument("--iotls-max-ticket", type=int, metavar="N",
                    help="iotls' longest offered ticket in every configuration "
                         "(run-client --max-ticket: the send buffer's room for one; "
                         "default none, 4096)")
    args = ap.parse_args()
    work = tempfile.mkdtemp(prefix="iotls-compare-")
    if args.pki is None:
        args.pki = os.path.join(work, "pki")
        subprocess.run(["bash", os.path.join(REPO, "tests", "interop", "pki.sh"), args.pki],
                       check=True, stdout=subprocess.DEVNULL)
    boards = args.boards.split(",")
    peers = args.peers.split(",")
    rec, hs = args.small_iotls.split("/")
    rec_b, hs_b = args.small_iotls_buffer.split("/")
    configs = {
        # Like for like with ESP-IDF's Mbed TLS: any record up to 16 KiB is
        # received, records of at most 4096 bytes are sent; a handshake
        # message spanning records is reassembled in the record buffer (the
        # firmware's default), with the limit Mbed TLS has too.
        ("iotls", "default"): lambda peer: ["--send-record-size", "4096"],
        ("iotls", "small"): lambda peer: ["--record-size", rec, "--max-handshake", hs],
        # The same with a handshake buffer of its own (any record layout).
        ("iotls", "default-buffer"): lambda peer: ["--send-record-size", "4096", "--reasm-buffer"],
        ("iotls", "small-buffer"): lambda peer: ["--record-size", rec_b, "--max-handshake", hs_b,
                                                 "--reasm-buffer"],
        ("mbedtls", "default"): lambda peer: ["--stack", "mbedtls", "--records", "16384/4096"],
        ("mbedtls", "small"): lambda peer: ["--stack", "mbedtls", "--records",
                                            getattr(args, "small_mbedtls_" + peer)],
    }
    results = {}
    for peer in peers:
        proc, port = start_peer(peer, args, work)
        try:
            for board in boards:
                for (stack, size), extra in configs.items():
                    n = max(1, args.runs) if size == "default" else 1
                    print("compare: %s %s records on %s against %s (%d run%s)"
                          % (stack, size, board, peer, n, "" if n == 1 else "s"),
                          file=sys.stderr)
                    opts = extra(peer)
                    if stack == "iotls" and args.iotls_max_ticket:
                        opts += ["--max-ticket", str(args.iotls_max_ticket)]
                    results[(board, peer, stack, size)] = median_of(
                        [run(args, board, peer, port, opts) for _ in range(n)])
        finally:
            os.killpg(proc.pid, 15)
            proc.wait()

    rows = []

    def row(label, fn, fmt="{:,}"):
        cells = [label]
        for board in boards:
            a, b = fn(board, "iotls"), fn(board, "mbedtls")
            cells += [fmt.format(a), fmt.format(b), "%.2fx" % (a / b) if b else "-"]
        rows.append(cells)

    images = {}
    for board in boards:
        images[(board, "iotls")] = image(args, board, "iotls-%s" % board)
        images[(board, "mbedtls")] = image(args, board, "mbedtls-16384-4096-%s" % board)
    row("TLS-layer flash, code + rodata (iotls: engine + provider + config; "
        "Mbed TLS: libmbedtls)", lambda b, s: images[(b, s)][0])
    row("static RAM: .data + .bss without heap arena and stack",
        lambda b, s: images[(b, s)][1])

    def peak(board, peer, stack, size):
        r = results[(board, peer, stack, size)]
        st = r["steps"][("full", "handshake_full")]["stack_peak"]
        return r["arena"]["full"] + st

    def steps(board, peer, stack, size, key):
        return results[(board, peer, stack, size)]["steps"][key]

    for peer in peers:
        pname = "iotls server" if peer == "iotls" else "openssl s_server"
        small = {"iotls": "%s-byte records, messages up to %s bytes" % (rec, hs),
                 "iotls-buffer": "%s-byte records, %s-byte handshake buffer" % (rec_b, hs_b),
                 "mbedtls": getattr(args, "small_mbedtls_" + peer) + " in/out"}
        row("**%s**: peak RAM, first boot (heap arena high-water + handshake stack), default "
            "records (both 16 KiB in, 4 KiB out: ESP-IDF's Mbed TLS buffers; both reassemble "
            "a handshake message in the record buffer)" % pname,
            lambda b, s: peak(b, peer, s, "default"))
        row("**%s**: peak RAM as above, small records (iotls %s; Mbed TLS %s)"
            % (pname, small["iotls"], small["mbedtls"]),
            lambda b, s: peak(b, peer, s, "small"))
        row("**%s**: peak RAM, default records, iotls with a handshake buffer of its own "
            "(16 KiB: any record layout)" % pname,
            lambda b, s: peak(b, peer, s, "default-buffer" if s == "iotls" else "default"))
        row("**%s**: peak RAM, small records, iotls with a handshake buffer of its own "
            "(iotls %s; Mbed TLS %s)" % (pname, small["iotls-buffer"], small["mbedtls"]),
            lambda b, s: peak(b, peer, s, "small-buffer" if s == "iotls" else "small"))
        row("**%s**: full handshake instructions" % pname,
            lambda b, s: steps(b, peer, s, "default", ("full", "handshake_full"))["insns"])
        row("**%s**: resumed 0-RTT handshake instructions" % pname,
            lambda b, s: steps(b, peer, s, "default",
                               ("resume", "handshake_resumed_0rtt"))["insns"])
        row("**%s**: full handshake bytes on the wire (sent + received)" % pname,
            lambda b, s: sum(steps(b, peer, s, "default", ("full", "handshake_full"))[k]
                             for k in ("tx", "rx")))
        row("**%s**: resumed 0-RTT handshake bytes on the wire (sent + received)" % pname,
            lambda b, s: sum(steps(b, peer, s, "default", ("resume", "handshake_resumed_0rtt"))[k]
                             for k in ("tx", "rx")))
        row("**%s**: setup instructions (parse CA, device certificate and key)" % pname,
            lambda b, s: steps(b, peer, s, "default", ("full", "setup"))["insns"])

    head = ["measure"]
    for board in boards:
        head += ["iotls %s" % board, "Mbed TLS %s" % board, "ratio"]
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
