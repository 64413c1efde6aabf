#!/usr/bin/env python3
"""The frames on one side's deepest stack in `iotls bench` (docs/psa.md,
"Where the heap and the stack go"), measured on the running program.

1. Runs the bench once without address randomisation with
   IOTLS_STACK_TRACE=1, which prints the deepest byte each side wrote on its
   painted stack; the first line of the chosen stack and side is its full
   handshake (the warm-up round, the same path as the measured ones).
2. Runs it again under gdb (which also turns randomisation off, so the
   address is the same), puts a hardware watchpoint on that byte once the
   side's thread has started, and when it is written prints every frame
   from there to the thread's start: the bytes between a frame's stack
   pointer and its caller's (the frame, with the return address pushed by
   the call into it). Inlined functions show as frames of 0 bytes.

Usage: tools/deepest_frames.py build-psa/iotls [iotls|mbedtls4] [client|server]
Needs gdb and setarch.
"""
import os
import re
import subprocess
import sys
import tempfile

STACKS = {"iotls": ("iotls", "bench_stack_iotls"), "mbedtls4": ("MbedTLS4", "bench_stack_mbedtls4")}
BENCH = ["bench", "--rounds", "1", "--bulk-mib", "1", "--bulk-runs", "1"]

GDB_PY = r'''
import gdb
rows = []
f = gdb.newest_frame()
while f is not None:
    f.select()
    rows.append((f.name() or "??", int(gdb.parse_and_eval("(unsigned long)$sp"))))
    f = f.older()
for i, (name, sp) in enumerate(rows):
    caller = rows[i + 1][1] if i + 1 < len(rows) else sp
    print("FRAME %s %d" % (name, caller - sp))
'''


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    exe = os.path.abspath(argv[1])
    label, symbol = STACKS[argv[2] if len(argv) > 2 else "iotls"]
    side = argv[3] if len(argv) > 3 else "client"
    env = dict(os.environ, IOTLS_STACK_TRACE="1")
    run = subprocess.run(["setarch", "-R", exe] + BENCH, env=env, capture_output=True, text=True)
    m = re.search(r"^stack: %s %s deepest (0x[0-9a-f]+) used (\d+)$" % (label, side), run.stderr,
                  re.M)
    if not m:
        sys.exit("deepest_frames: no 'stack: %s %s' line (a bench build, -DIOTLS_BENCH=ON?)" %
                 (label, side))
    addr, used = m.group(1), int(m.group(2))
    with tempfile.TemporaryDirectory() as tmp:
        py = os.path.join(tmp, "frames.py")
        with open(py, "w") as f:
            f.write(GDB_PY)
        cmds = [
            "set pagination off",
            "set confirm off",
            "set environment IOTLS_STACK_TRACE=1",
            "break side_main if ((side_job *)p)->is_server == %d && ((side_job *)p)->st == &%s" %
            (side == "server", symbol),
            "run %s >/dev/null 2>&1" % " ".join(BENCH),
            "delete",
            "watch -l *(char *)%s" % addr,
            "continue",
            "source %s" % py,
            "kill",
        ]
        gdb = subprocess.run(["gdb", "-q", "-batch"] + sum((["-ex", c] for c in cmds), []) + [exe],
                             capture_output=True, text=True)
    frames = [l.split()[1:] for l in gdb.stdout.splitlines() if l.startswith("FRAME ")]
    if not frames:
        sys.exit("deepest_frames: gdb stopped nowhere:\n" + gdb.stdout[-2000:] + gdb.stderr[-2000:])
    print("%s %s: deepest stack %d B (the bench's figure), at %s" % (label, side, used, addr))
    print("| frame | bytes |\n|---|---:|")
    for name, size in frames:
        print("| %s | %s |" % (name, size))
    print("| (from the deepest byte to the thread's start) | %d |" % sum(int(s) for _, s in frames))


if __name__ == "__main__":
    main(sys.argv)
