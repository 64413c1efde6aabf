#!/usr/bin/env python3
"""Names the blocks a HEAP_MAP=1 firmware held at the heap arena's
high-water mark (port/baremetal/heap_map.c) and sums them per caller.

Usage: run the measurement build (build-firmware.sh with HEAP_MAP=1, its
own OUT directory) through tools/device/run_client.py with
IOTLS_DEVICE_BUILD=OUT, save its output, then
    tools/device/heap_map.py OUTPUT ELF
ELF is the measurement image that ran (OUT/BOARD/*.elf). Prints every
block in address order (with the gap to the next one: the allocator's
header and any free hole), then the sums per caller function. A block
asked for through Mbed TLS' calloc hook is named by Mbed TLS' caller and
counts the port's 8-byte counting header (platform.c) in "asked"; the sums
by part leave it out."""
import re
import subprocess
import sys
from collections import defaultdict


# What a caller's blocks are, for the sums by part (docs/device.md, "Where
# the peak RAM goes"). Mbed TLS' blocks are counted without the port's
# counting header.
PARTS = [
    ("iotls: connection block", lambda f, m: not m and f == "main"),
    ("iotls: configuration object", lambda f, m: not m and f == "iotls_config_new"),
    ("Mbed TLS TLS: record buffers", lambda f, m: m and f == "mbedtls_ssl_setup"),
    ("Mbed TLS TLS: handshake state", lambda f, m: m and f in ("ssl_handshake_init",)),
    ("Mbed TLS TLS: peer certificate struct",
     lambda f, m: m and f == "mbedtls_ssl_tls13_process_certificate"),
    ("Mbed TLS TLS: other (transforms, host name, key/cert pair)",
     lambda f, m: m and f.startswith(("mbedtls_ssl", "ssl_"))),
    ("X.509: certificate DER copies", lambda f, m: m and f == "mbedtls_x509_crt_parse_der_internal"),
    ("X.509: names, subjectAltName", lambda f, m: m and f.startswith("mbedtls_x509")),
    ("PSA: key store (slots, key material)",
     lambda f, m: m and f in ("psa_initialize_key_slots", "psa_reserve_free_key_slot",
                              "psa_allocate_buffer_to_slot")),
    ("PSA: input/output copies", lambda f, m: m and f.startswith("psa_crypto_local")),
    ("hash and HMAC contexts", lambda f, m: m and f.startswith("mbedtls_md")),
    ("ECC arithmetic (bignums, points)", lambda f, m: m),
    ("C library / other", lambda f, m: True),
]


def main():
    out, elf = sys.argv[1], sys.argv[2]
    rv32 = "rv32" in elf
    tool = "riscv64-unknown-elf-addr2line" if rv32 else "arm-none-eabi-addr2line"
    # The port's counting header (platform.c).
    header = 8
    blocks, peak = [], None
    for line in open(out, errors="replace"):
        m = re.search(r"HEAPMAP peak=(\d+)", line)
        if m:
            peak = int(m.group(1))
        m = re.search(r"HEAPBLOCK addr=0x([0-9a-f]+) size=(\d+) usable=(\d+) caller=0x([0-9a-f]+) mbedtls=(\d)", line)
        if m:
            blocks.append(dict(addr=int(m.group(1), 16), size=int(m.group(2)), usable=int(m.group(3)),
                               caller=int(m.group(4), 16), mbedtls=int(m.group(5))))
    if not blocks:
        sys.exit("no HEAPBLOCK lines in " + out)
    addrs = sorted({b["caller"] for b in blocks})
    names = subprocess.run([tool, "-f", "-e", elf] + ["0x%x" % (a - 1) for a in addrs],
                           capture_output=True, text=True, check=True).stdout.split("\n")
    fn = {a: names[2 * i] for i, a in enumerate(addrs)}
    blocks.sort(key=lambda b: b["addr"])
    print("%-10s %7s %7s %6s  %s" % ("address", "asked", "usable", "gap", "caller"))
    for i, b in enumerate(blocks):
        nxt = blocks[i + 1]["addr"] if i + 1 < len(blocks) else None
        gap = nxt - (b["addr"] + b["usable"]) if nxt else 0
        print("0x%08x %7d %7d %6d  %s%s" % (b["addr"], b["size"], b["usable"], gap,
                                         "mbedtls:" if b["mbedtls"] else "", fn[b["caller"]]))
    sums = defaultdict(lambda: [0, 0, 0])
    for b in blocks:
        k = ("mbedtls:" if b["mbedtls"] else "") + fn[b["caller"]]
        sums[k][0] += 1
        sums[k][1] += b["size"]
        sums[k][2] += b["usable"]
    print("\n%-48s %6s %8s %8s" % ("caller", "blocks", "asked", "usable"))
    for k, (n, s, u) in sorted(sums.items(), key=lambda kv: -kv[1][1]):
        print("%-48s %6d %8d %8d" % (k, n, s, u))
    parts = defaultdict(int)
    for b in blocks:
        f = fn[b["caller"]]
        for name, test in PARTS:
            if test(f, b["mbedtls"]):
                parts[name] += b["size"] - (header if b["mbedtls"] else 0)
                break
    print("\n%-60s %8s" % ("part (bytes asked; Mbed TLS' without the counting header)", "bytes"))
    for name, _ in PARTS:
        if parts[name]:
            print("%-60s %8d" % (name, parts[name]))
    asked = sum(b["size"] for b in blocks)
    usable = sum(b["usable"] for b in blocks)
    mb = sum(b["size"] for b in blocks if b["mbedtls"])
    print("\nblocks %d: asked %d B (through Mbed TLS' hook %d B, of which counting headers %d B), "
          "usable %d B; arena high-water %s B; allocator headers, alignment and free holes %s B"
          % (len(blocks), asked, mb, header * sum(1 for b in blocks if b["mbedtls"]), usable, peak,
             peak - asked if peak else "?"))


if __name__ == "__main__":
    main()
