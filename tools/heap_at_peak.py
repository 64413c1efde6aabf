#!/usr/bin/env python3
"""What one side's peak heap in `iotls bench` is made of (docs/psa.md,
"Where the heap and the stack go").

`IOTLS_HEAP_TRACE=client iotls bench ...` (or =server) makes every traced
side print, after its handshake, the blocks that were live at its peak,
each with its call stack (apps/memtrack.c). This reads that output, names
the frames with addr2line from the same binary, and sums the blocks by what
allocated them (the first rule of RULES whose function is on the block's
call stack), the bytes as the bench counts them (malloc_usable_size, the
crypto library's allocator hook header included).

The trace is compiled in only with -DIOTLS_HEAP_TRACE (it would cost every
allocation a test otherwise), in a build directory of its own:

  cmake -S . -B build-trace -DCMAKE_C_FLAGS=-DIOTLS_HEAP_TRACE -DIOTLS_BENCH=ON \
      -DIOTLS_CRYPTO=psa -DPSA_INCLUDE_DIR=... (as build-psa/)
  cmake --build build-trace --target iotls_cli
  IOTLS_HEAP_TRACE=client build-trace/iotls bench --rounds 1 2>trace.txt >/dev/null
  tools/heap_at_peak.py build-trace/iotls trace.txt iotls [N] [--blocks]
  tools/heap_at_peak.py build-trace/iotls trace.txt MbedTLS4
N picks the stack's N-th dump (0: the warm-up round; default 1, the first
measured full handshake); --blocks lists every block with its callers.
"""
import re
import subprocess
import sys

# (what, a function on the block's call stack: a part of its name, or its
# whole name after "="), first match wins.
RULES = [
    ("PSA: copy of an AEAD output buffer", "psa_crypto_local_output_alloc"),
    ("PSA: AEAD operation (input/nonce/AAD copies, cipher context)", "psa_aead_encrypt"),
    ("PSA: AEAD operation (input/nonce/AAD copies, cipher context)", "psa_aead_decrypt"),
    ("PSA: traffic key slots", "mbedtls_ssl_tls13_populate_transform"),
    ("PSA: traffic key slots", "iotls__aead_init"),
    ("PSA: ECDSA verification working set (ECP/MPI)", "psa_verify_hash"),
    ("PSA: the peer key's slot for that verification", "ecdsa_verify_psa"),
    ("PSA: signature working set", "psa_sign_hash"),
    ("PSA: key exchange", "psa_raw_key_agreement"),
    ("PSA: key exchange", "psa_export_public_key"),
    ("PSA: key share slot", "iotls__kex_"),
    ("X.509: peer certificate's DER copy", "mbedtls_x509_crt_parse_der_internal"),
    ("X.509: peer certificate (mbedtls_x509_crt)", "mbedtls_ssl_tls13_process_certificate"),
    ("iotls: engine block (state, rx, reasm, tx)", "start_engine"),
    ("iotls: blocking-API object (src/io)", "new_object"),
    ("Mbed TLS: handshake params, session, transform", "ssl_handshake_init"),
    ("Mbed TLS: in and out record buffers", "mbedtls_ssl_setup"),
    ("Mbed TLS: transforms", "compute_handshake_transform"),
    ("Mbed TLS: transforms", "compute_application_transform"),
    ("Mbed TLS: host name copies", "hostname"),
    ("bench: Mbed TLS connection (ssl context)", "=handshake"),
    ("bench: Mbed TLS connection (ssl context)", "=mb_client"),
]
SKIP = {"trace_add", "malloc", "calloc", "realloc", "counting_calloc", "??"}


def read_dumps(path, stack):
    dumps, cur = [], None
    for line in open(path, errors="replace"):
        if line.startswith("=== heap at the peak: "):
            cur = None
            if line[len("=== heap at the peak: "):].startswith(stack + " "):
                cur = {"title": line.strip(), "blocks": []}
                dumps.append(cur)
        elif cur is not None and line.startswith("block "):
            cur["blocks"].append([int(line.split()[1]), []])
        elif cur is not None and cur["blocks"]:
            m = re.search(r"\((?:[^+)]*)\+(0x[0-9a-f]+)\)", line)
            if m and "libc.so" not in line:
                cur["blocks"][-1][1].append(int(m.group(1), 16))
    return dumps


def names(exe, addrs):
    addrs = sorted(set(addrs))
    if not addrs:
        return {}
    out = subprocess.run(["addr2line", "-f", "-e", exe] + [hex(a - 1) for a in addrs],
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return {a: out[2 * k] for k, a in enumerate(addrs)}


def on_stack(pattern, fn):
    return fn == pattern[1:] if pattern.startswith("=") else pattern in fn


def main(argv):
    blocks_too = "--blocks" in argv
    argv = [a for a in argv if a != "--blocks"]
    if len(argv) < 4:
        sys.exit(__doc__)
    exe, path, stack = argv[1], argv[2], argv[3]
    nth = int(argv[4]) if len(argv) > 4 else 1
    dumps = read_dumps(path, stack)
    if nth >= len(dumps):
        sys.exit("heap_at_peak: %d dump(s) of %s in %s" % (len(dumps), stack, path))
    dump = dumps[nth]
    name = names(exe, [a for _, bt in dump["blocks"] for a in bt])
    sums, counts, total = {}, {}, 0
    print(dump["title"])
    for size, bt in dump["blocks"]:
        fns = [name[a] for a in bt if name[a] not in SKIP]
        what = next((w for w, f in RULES if any(on_stack(f, fn) for fn in fns)),
                    "other: " + " < ".join(fns[:4]))
        sums[what] = sums.get(what, 0) + size
        counts[what] = counts.get(what, 0) + 1
        total += size
        if blocks_too:
            print("%7d  %s" % (size, " < ".join(fns[:10])))
    print("| bytes | blocks | what |\n|---:|---:|---|")
    for what, size in sums.items():
        print("| %d | %d | %s |" % (size, counts[what], what))
    print("| %d | | total |" % total)


if __name__ == "__main__":
    main(sys.argv)
