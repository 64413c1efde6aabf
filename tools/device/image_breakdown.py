#!/usr/bin/env python3
"""Where a firmware image's bytes come from, from its GNU ld map file
(port/baremetal/build-firmware.sh writes iotls-BOARD.map):

    image_breakdown.py build-device/cm4/iotls-cm4.map

Sums the input sections the linker kept, per part: the iotls engine (src/,
src/msg/), the PSA provider (src/crypto/), the configuration code (src/config/),
the port (port/baremetal/), Mbed TLS (libtfpsacrypto, libmbedx509, and
libmbedtls in the comparison firmware of port/baremetal/compare/), the C
library and compiler runtime. flash = code + read-only data (+ the initial
values of .data); RAM = .data + .bss, without the heap arena and the stack,
which are listed apart.
"""
import re
import sys

PARTS = [
    ("engine (src/, src/msg/)", re.compile(r"/obj/src_(?!crypto_|io_|config_)[^/]*\.o$")),
    ("PSA provider (src/crypto/)", re.compile(r"/obj/src_crypto_[^/]*\.o$")),
    ("config (src/config/config.c)", re.compile(r"/obj/src_config_[^/]*\.o$")),
    ("port (port/baremetal/)", re.compile(r"/obj(-mbedtls[-0-9]*)?/port_baremetal_[^/]*\.o$")),
    ("Mbed TLS: TF-PSA-Crypto", re.compile(r"libtfpsacrypto\.a")),
    ("Mbed TLS: X.509", re.compile(r"libmbedx509\.a")),
    ("Mbed TLS: TLS (comparison firmware)", re.compile(r"libmbedtls\.a")),
    ("picolibc + libgcc + start-up", re.compile(r".")),
]
FLASH = re.compile(r"^\.(text|rodata|srodata|init|data\.init\.enter|text\.init\.enter)")
DATA = re.compile(r"^\.(data|sdata|tdata)")
BSS = re.compile(r"^\.(bss|sbss|tbss|preserve)|^COMMON$")


def parse(path):
    """{part: [flash, data, bss]} and the heap arena's size, from a map file."""
    text = open(path).read().split("Linker script and memory map", 1)[-1]
    sums = {name: [0, 0, 0] for name, _ in PARTS}
    arena = 0
    pending = None
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 1 and line.startswith(" .") or line.startswith(" COMMON") and len(parts) == 1:
            pending = parts[0]
            continue
        if pending and len(parts) == 3 and parts[0].startswith("0x"):
            sec, size, obj = pending, parts[1], parts[2]
        elif len(parts) == 4 and line.startswith(" ") and parts[1].startswith("0x"):
            sec, size, obj = parts[0], parts[2], parts[3]
        else:
            pending = None
            continue
        pending = None
        try:
            n = int(size, 16)
        except ValueError:
            continue
        if n == 0:
            continue
        if sec.startswith(".bss.arena") and "platform" in obj:
            arena += n
            continue
        part = next(name for name, rx in PARTS if rx.search(obj))
        if FLASH.match(sec):
            sums[part][0] += n
        elif DATA.match(sec):
            sums[part][1] += n
        elif BSS.match(sec):
            sums[part][2] += n
    return sums, arena


def main(path):
    sums, arena = parse(path)
    print("| part | flash: code + rodata | data | bss |")
    print("| --- | ---: | ---: | ---: |")
    total = [0, 0, 0]
    for name, _ in PARTS:
        s = sums[name]
        total = [a + b for a, b in zip(total, s)]
        print("| %s | %d | %d | %d |" % (name, s[0], s[1], s[2]))
    print("| **total** | **%d** | **%d** | **%d** |" % tuple(total))
    print()
    print("Not in the table: the heap arena (%d B of .bss) and the stack." % arena)


if __name__ == "__main__":
    main(sys.argv[1])
