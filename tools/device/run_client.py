#!/usr/bin/env python3
"""Runs the iotls firmware (port/baremetal/) in QEMU as a TLS client of any
peer on this machine, and prints the response and the figures the board
measured.

    run-client BOARD HOST:PORT --ca FILE [--cert FILE --key FILE]
               [--servername NAME] [--get PATH] [--resume | --warm-reset]
               [--early-data TEXT] [--key-update] [--groups LIST]
               [--record-size N] [--send-record-size N] [--max-handshake N]
               [--max-ticket N] [--reasm-buffer]
               [--stack mbedtls [--records IN/OUT] | --p256m]

BOARD is cm4 (QEMU mps2-an386, Cortex-M4) or rv32 (QEMU virt, RV32IMC).
The board has no IP stack: its UART is joined by QEMU to a TCP socket on
127.0.0.1, and this script relays that socket to HOST:PORT (127.0.0.1
only). Files and arguments reach the firmware through semihosting (a job
file); so do the entropy seed bytes, read here from os.urandom: that is
for emulation only (an ESP32 has a hardware RNG, port/baremetal/entropy.c).

--resume: after the first boot (full handshake, ticket kept in retained
RAM), a second boot resumes the session, sending --early-data as 0-RTT.
The retained RAM region crosses from the first boot to the second through
the host (QEMU cannot keep RAM across two runs): the first boot writes it
out by semihosting at its "deep sleep", the second reads it back before
using it. That is a second boot, not a warm reset of one emulator.

--warm-reset: the same within ONE emulator run: the first boot seals the
retained region (magic, CRC-32) and resets the board (AIRCR SYSRESETREQ on
cm4, the virt test finisher on rv32); the boot after the reset finds the
region intact and resumes. The relay opens the second TLS connection on
the board's first bytes after the peer closed the first.

--p256m: the iotls firmware linked with Mbed TLS 4 built with p256-m and
P-256 only (make device-compare), which offers only secp256r1.

Exit status 0 only when every boot succeeded (2: usage or setup error).
"""
import argparse
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
ESP32C3_HZ = 160e6
# Seconds the board may go on after the peer closed (it may still be
# working on the last bytes, e.g. verifying a chain) before it is stopped.
PEER_CLOSED_GRACE = 10  # ESP32-C3 at 160 MHz, one instruction per cycle assumed

BOARDS = {
    "cm4": {
        "qemu": ["qemu-system-arm", "-M", "mps2-an386"],
        "cross": "arm-none-eabi",
    },
    "rv32": {
        "qemu": ["qemu-system-riscv32", "-M", "virt", "-cpu", "rv32", "-bios", "none"],
        "cross": "riscv64-unknown-elf",
    },
}


def relay(listener, peer, stop, stats, connections=1):
    """Accepts QEMU's UART socket and carries bytes to and from the peer.
    With connections=2 (a warm reset inside one run), once the peer has
    closed the first connection, the board's next bytes open the second."""
    listener.settimeout(60)
    try:
        uart, _ = listener.accept()
    except OSError:
        return
    tls = None
    opened = 0
    try:
        while not stop.is_set():
            socks = [uart] + ([tls] if tls is not None else [])
            ready, _, _ = select.select(socks, [], [], 0.2)
            for s in ready:
                data = s.recv(65536)
                if s is uart:
                    if not data:
                        return
                    if tls is None:
                        if opened == connections:
                            continue  # nothing to carry them to
                        try:
                            tls = socket.create_connection(peer, timeout=10)
                        except OSError as e:
                            stats["error"] = "cannot connect to %s:%d: %s" % (peer[0], peer[1], e)
                            return
                        opened += 1
                        stats["connections"] = opened
                        stats.pop("peer_closed", None)
                    tls.sendall(data)
                    stats["to_peer"] += len(data)
                    continue
                if not data:
                    # The peer closed: the board sees no more bytes (a UART
                    # has no end of stream). run_boot gives it a moment to
                    # finish on what it has, then stops it.
                    tls.close()
                    tls = None
                    stats["peer_closed"] = time.time()
                    continue
                uart.sendall(data)
                stats["to_board"] += len(data)
    except OSError:
        pass
    finally:
        uart.close()
        if tls is not None:
            tls.close()


def run_boot(args, elf, job_lines, job, timeout, connections=1):
    board = BOARDS[args.board]
    host, port = args.peer
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    uart_port = listener.getsockname()[1]
    stop = threading.Event()
    stats = {"to_peer": 0, "to_board": 0}
    t = threading.Thread(target=relay, args=(listener, (host, port), stop, stats, connections),
                         daemon=True)
    t.start()
    cmd = board["qemu"] + [
        "-nographic", "-monitor", "none",
        # One instruction = 1 ns of virtual time: the board timer counts
        # instructions (port/baremetal/board.h).
        "-icount", "shift=0",
        "-serial", "tcp:127.0.0.1:%d" % uart_port,
        "-semihosting-config", "enable=on,target=native,arg=iotls,arg=%s" % job,
        "-kernel", elf,
    ]
    # The board's calendar clock: this machine's time now, plus the real
    # time since the emulator started (semihosting SYS_ELAPSED;
    # port/baremetal/platform.c).
    with open(job, "w") as f:
        f.write("\n".join(job_lines + ["clock_ms=%d" % int(time.time() * 1000)]) + "\n")
    # The emulator writes the log through a descriptor of its own, opened
    # for appending; this process reads it through another. Reading through
    # the emulator's descriptor would move the offset it writes at (one open
    # file shares one offset), and its next line would overwrite the start.
    log_path = job + ".log"
    with open(log_path, "ab") as log_w:
        p = subprocess.Popen(cmd, stdout=log_w, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
    log_r = open(log_path, "rb")
    deadline = time.time() + timeout
    why = None
    while p.poll() is None:
        now = time.time()
        if now > deadline:
            why = "the board did not finish within %d s" % timeout
        elif (stats.get("connections", 0) == connections
              and now - stats.get("peer_closed", now) > PEER_CLOSED_GRACE):
            why = "the peer closed the connection and the board was still waiting for bytes"
        elif connections == 2 and stats.get("connections", 0) == 2:
            # A warm reset whose retained region was lost starts over with
            # a full handshake and a second deep sleep: stop it there.
            log_r.seek(0)
            if log_r.read().count(b"\nDEEP_SLEEP ") >= 2:
                why = "the retained region did not survive the reset (a second full boot)"
        if why:
            p.kill()
            break
        time.sleep(0.05)
    rc = p.wait()
    log_r.seek(0)
    out = log_r.read().decode("utf-8", "replace")
    log_r.close()
    if why:
        out += "\nFAIL %s\n" % why
        rc = 124
    stop.set()
    t.join(2)
    listener.close()
    if "error" in stats:
        out += "\nFAIL relay: %s\n" % stats["error"]
        rc = rc or 1
    return rc, out, stats


def image_sizes(elf, cross):
    """Berkeley size: text (code + read-only data: flash), data (flash and
    RAM), bss (RAM: includes the heap arena, the stack and retained RAM)."""
    try:
        out = subprocess.run([cross + "-size", elf], stdout=subprocess.PIPE,
                             check=True).stdout.decode()
        text, data, bss = (int(x) for x in out.splitlines()[1].split()[:3])
        return text, data, bss
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


def error_names():
    """{code: name} from include/iotls/error.h's enum: the firmware prints
    its failures as numbers ("FAIL step: iotls error -25") and carries no
    table of names; run-client names them."""
    path = os.path.join(REPO, "include", "iotls", "error.h")
    with open(path) as f:
        enum = f.read().split("enum iotls_error", 1)[1].split("};", 1)[0]
    return {int(v): k for k, v in re.findall(r"\b(IOTLS_[A-Z0-9_]+) = (-?\d+)", enum)}


def name_error(line, names):
    m = re.match(r"(FAIL .*): iotls error (-?\d+)$", line)
    if not m:
        return line
    code = int(m.group(2))
    return "%s: %s (%d)" % (m.group(1), names.get(code, "unknown iotls error"), code)


RESPONSE_LINES = 25  # of the response shown; the rest is counted


def report(boot_name, board, out, raw=False):
    steps = []
    lines = out.splitlines()
    in_resp = False
    resp = []
    for line in lines:
        if line == "RESPONSE_BEGIN":
            in_resp = True
            resp = []
            continue
        if line == "RESPONSE_END":
            in_resp = False
            print("---- response (%s) ----" % boot_name)
            print("\n".join(resp[:RESPONSE_LINES]))
            if len(resp) > RESPONSE_LINES:
                print("... (%d more lines)" % (len(resp) - RESPONSE_LINES))
            print("---- end of response ----")
            continue
        if in_resp:
            resp.append(line)
            continue
        if line.startswith("STEP "):
            if raw:
                print("[%s] %s" % (boot_name, line))
            parts = line.split()
            kv = dict(p.split("=", 1) for p in parts[2:])
            steps.append((parts[1], kv))
        elif line.split(" ", 1)[0] in ("BOARD", "HANDSHAKE", "EARLY_DATA", "KEY_UPDATE", "TICKET",
                                       "WARM_BOOT", "DEEP_SLEEP",
                                       "TOTAL", "CONN_SIZE", "RECORD_BUFFERS", "FAIL",
                                       "OK"):
            if line.startswith("FAIL "):
                line = name_error(line, error_names())
            print("[%s] %s" % (boot_name, line))
        elif line.strip():
            print("[%s] qemu: %s" % (boot_name, line))
    if steps:
        print("[%s] figures measured on the board:" % boot_name)
        print("  %-24s %12s %14s %8s %8s %12s %10s" % (
            "step", "instructions", "ESP32-C3 est.", "tx B", "rx B", "mbedtls heap", "stack"))
        for name, kv in steps:
            insns = int(kv["insns"])
            # The estimate only means something for the ESP32-C3's own
            # instruction set (rv32); a Cortex-M4 count is not converted.
            est = "%11.2f ms" % (insns / ESP32C3_HZ * 1000) if board == "rv32" else "%14s" % "-"
            print("  %-24s %12d %s %8s %8s %12s %10s" % (
                name, insns, est, kv["tx"], kv["rx"], kv["mbedtls_heap_peak"], kv["stack_peak"]))
        print("  (instructions: executed by the step, UART polling left out; ESP32-C3 est. ="
              " rv32 instructions / 160e6,\n   an ESTIMATE at one instruction per cycle, not a"
              " measurement; mbedtls heap: bytes Mbed TLS held at the step's peak;"
              " stack: high-water mark, bytes)")


def main():
    ap = argparse.ArgumentParser(prog="run-client", description=__doc__.split("\n\n")[0])
    ap.add_argument("board", choices=sorted(BOARDS))
    ap.add_argument("peer", help="HOST:PORT of the TLS peer (127.0.0.1 only)")
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--servername")
    ap.add_argument("--get")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--warm-reset", action="store_true",
                    help="resume after a real system reset inside one emulator run (the "
                         "retained region survives it) instead of a second boot")
    ap.add_argument("--early-data")
    ap.add_argument("--key-update", action="store_true")
    ap.add_argument("--build", default=os.environ.get("IOTLS_DEVICE_BUILD",
                                                      os.path.join(REPO, "build-device")))
    ap.add_argument("--timeout", type=int, default=120, help="seconds per boot")
    ap.add_argument("--stack", choices=("iotls", "mbedtls"), default="iotls",
                    help="mbedtls: the comparison firmware, Mbed TLS 4's own TLS 1.3 client "
                         "(make device-compare; it has no KeyUpdate)")
    ap.add_argument("--records", default="16384/4096", metavar="IN/OUT",
                    help="--stack mbedtls: the build with these record buffers "
                         "(MBEDTLS_SSL_IN/OUT_CONTENT_LEN; default ESP-IDF's 16384/4096)")
    ap.add_argument("--p256m", action="store_true",
                    help="the iotls firmware against Mbed TLS 4 with p256-m and P-256 only "
                         "(make device-compare)")
    ap.add_argument("--groups", metavar="LIST",
                    help="iotls: iotls_config_set_groups (e.g. secp256r1: the key exchange "
                         "groups offered, in order)")
    ap.add_argument("--record-size", type=int,
                    help="iotls: iotls_config_set_record_size (record_size_limit and "
                         "max_fragment_length below 16384)")
    ap.add_argument("--send-record-size", type=int,
                    help="iotls: iotls_config_set_send_record_size (records sent, "
                         "nothing announced)")
    ap.add_argument("--raw", action="store_true",
                    help="also print the board's STEP lines as they are (tools/device/compare.py)")
    ap.add_argument("--max-handshake", type=int,
                    help="iotls: iotls_config_set_max_handshake_size")
    ap.add_argument("--max-ticket", type=int,
                    help="iotls: iotls_config_set_max_ticket_size (the send buffer's room "
                         "for a ticket; a longer one is refused and the device does a full "
                         "handshake)")
    ap.add_argument("--reasm-buffer", action="store_true",
                    help="iotls: a handshake buffer of its own (max_handshake bytes) instead "
                         "of the firmware's reassembly in the record buffer "
                         "(iotls_config_set_reassemble_in_place 0)")
    args = ap.parse_args()
    host, _, port = args.peer.rpartition(":")
    if host not in ("127.0.0.1", "localhost") or not port.isdigit():
        ap.error("HOST:PORT must be 127.0.0.1:PORT (or localhost:PORT)")
    args.peer = ("127.0.0.1", int(port))
    if bool(args.cert) != bool(args.key):
        ap.error("--cert and --key go together")
    if args.warm_reset and args.resume:
        ap.error("--warm-reset and --resume are two ways of doing the same: choose one")
    if args.early_data and not (args.resume or args.warm_reset):
        ap.error("--early-data needs --resume or --warm-reset (0-RTT is sent on the resumed boot)")
    if args.servername is None:
        args.servername = "localhost"
    board = BOARDS[args.board]
    if args.stack == "mbedtls":
        if args.record_size or args.max_handshake or args.send_record_size or args.groups \
                or args.p256m or args.reasm_buffer or args.max_ticket:
            ap.error("--stack mbedtls: only --records IN/OUT chooses its build (no --groups, "
                     "--record-size, --send-record-size, --max-handshake, --max-ticket, "
                     "--reasm-buffer or --p256m)")
        rin, _, rout = args.records.partition("/")
        if not (rin.isdigit() and rout.isdigit()):
            ap.error("--records IN/OUT, e.g. 16384/4096")
        elf = os.path.join(args.build, args.board,
                           "mbedtls-%s-%s-%s.elf" % (rin, rout, args.board))
    else:
        elf = os.path.join(args.build, args.board,
                           "iotls-%s%s.elf" % ("p256m-" if args.p256m else "", args.board))
    if not os.path.isfile(elf):
        print("run-client: no firmware at %s (run make device%s)"
              % (elf, "-compare" if args.stack == "mbedtls" or args.p256m else ""),
              file=sys.stderr)
        return 2
    if shutil.which(board["qemu"][0]) is None:
        print("run-client: %s not found (make device installs it)" % board["qemu"][0],
              file=sys.stderr)
        return 2
    for f in (args.ca, args.cert, args.key):
        if f and not os.path.isfile(f):
            print("run-client: no file %s" % f, file=sys.stderr)
            return 2

    work = tempfile.mkdtemp(prefix="iotls-device-")
    try:
        sizes = image_sizes(elf, board["cross"])
        if sizes:
            print("[image] %s: flash text+rodata %d B, data %d B, bss %d B"
                  " (bss holds the heap arena, the stack and retained RAM)"
                  % (os.path.basename(elf), sizes[0], sizes[1], sizes[2]))
        boots = ["warm"] if args.warm_reset else ["full"] + (["resume"] if args.resume else [])
        session = os.path.join(work, "retained.bin")
        for mode in boots:
            seed = os.path.join(work, "seed-%s.bin" % mode)
            with open(seed, "wb") as f:
                f.write(os.urandom(512))  # emulation only: see entropy.c
            job = os.path.join(work, "job-%s.txt" % mode)
            lines = ["mode=" + mode, "servername=" + args.servername,
                     "ca=" + os.path.abspath(args.ca), "seed=" + seed]
            if args.cert:
                lines += ["cert=" + os.path.abspath(args.cert), "key=" + os.path.abspath(args.key)]
            if args.get:
                lines.append("get=" + args.get)
            if args.resume:
                lines.append("session=" + session)
            if args.key_update:
                lines.append("keyupdate=1")
            if args.groups:
                lines.append("groups=" + args.groups)
            if args.record_size:
                lines.append("record_size=%d" % args.record_size)
            if args.max_handshake:
                lines.append("max_handshake=%d" % args.max_handshake)
            if args.send_record_size:
                lines.append("send_record_size=%d" % args.send_record_size)
            if args.max_ticket:
                lines.append("max_ticket=%d" % args.max_ticket)
            if args.reasm_buffer:
                lines.append("reassemble_in_place=0")
            if mode == "warm":
                # The boot after the reset draws on seed bytes of its own.
                seed_warm = os.path.join(work, "seed-warm-2.bin")
                with open(seed_warm, "wb") as f:
                    f.write(os.urandom(512))  # emulation only: see entropy.c
                lines.append("seed_warm=" + seed_warm)
            if mode in ("resume", "warm") and args.early_data:
                lines.append("early=" + args.early_data)
            start = time.time()
            rc, out, stats = run_boot(args, elf, lines, job, args.timeout,
                                      2 if mode == "warm" else 1)
            if mode == "warm":
                # One emulator run, two boots: the second starts at the
                # board's banner after the system reset.
                at = out.find("\nBOARD ", out.find("BOARD ") + 1)
                report("full", args.board, out if at < 0 else out[:at], args.raw)
                if at >= 0:
                    report("warm", args.board, out[at + 1:], args.raw)
                print("[warm] one emulator run: %d TLS connections through the UART"
                      % stats.get("connections", 0))
            else:
                report(mode, args.board, out, args.raw)
            print("[%s] relay: %d bytes to the peer, %d to the board; %.1f s wall clock"
                  " (emulated)" % (mode, stats["to_peer"], stats["to_board"],
                                   time.time() - start))
            if mode == "warm" and "\nWARM_BOOT " not in "\n" + out:
                print("run-client: no boot found the session in retained RAM after the reset")
                return 1
            if rc != 0 or "\nOK" not in "\n" + out:
                print("run-client: the %s boot FAILED (exit status %d)" % (mode, rc))
                return 1
        print("run-client: OK")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
