#!/usr/bin/env python3
"""Worst-case stack of the iotls engine per public entry point (sections 1 to
5 of build-size/stack-report.md; docs/stack.md).

Called by tools/stack-report.sh once it has compiled the engine and the
provider with -fcallgraph-info=su -fdump-ipa-cgraph for each target and run
the stack probe:

    stack_engine.py ROOT SOUT PROBE_OK

SOUT/<target>/ holds GCC's call graph (.ci) and IPA call-graph dump
(.cgraph) of every file; SOUT/probe/probe.txt the probe's measurements when
PROBE_OK is 1. Prints markdown on stdout; exit status 3 when a bound is
unsound (recursion, an unbounded dynamic frame, an indirect call that
tools/indirect_calls.rules does not resolve).
"""
import os, re, sys
from collections import defaultdict

# Reading GCC's call graphs, recursion (Tarjan) and the longest path:
# tools/stackgraph.py, shared with tools/stack_whole.py.
import stackgraph
# Which functions an indirect call can reach: tools/indirect_calls.rules.
import indirect_calls

# Set by main(): the source tree and the directory of the compiled graphs.
root = sout = None
TARGETS = ["cm4", "x86_64"]
# The server role's files: left out of the client-only figures.
SERVER_FILES = {"src/server.c", "src/server_negotiate.c", "src/ticket.c", "src/cookie.c"}
LIBC = {"memcpy", "memset", "memmove", "memcmp", "memchr", "strlen", "strcmp", "strncmp",
        "strchr", "snprintf", "abort", "__aeabi_memcpy", "__aeabi_memset", "__aeabi_memclr",
        "__aeabi_memmove", "__aeabi_uldivmod", "__aeabi_ldivmod", "__aeabi_uidiv",
        "__aeabi_idiv", "__aeabi_uidivmod", "__aeabi_idivmod", "__stack_chk_fail"}
RULES = indirect_calls.load_rules()

def read_src(path):
    try:
        with open(os.path.join(root, path)) as f:
            return f.read()
    except OSError:
        return ""


def load(t):
    funcs = {}   # title -> dict(name, file, frame, qual)
    edges = defaultdict(list)  # title -> [(target title, loc)]
    for fn in sorted(os.listdir(os.path.join(sout, t))):
        if not fn.endswith(".ci"):
            continue
        for rec in stackgraph.read_ci(os.path.join(sout, t, fn)):
            if rec[0] == "node":
                _, title, name, floc, frame, qual = rec
                if floc.startswith(root + "/"):
                    floc = floc[len(root) + 1:]
                funcs[title] = {"name": name, "file": floc, "frame": frame, "qual": qual}
            else:
                _, src, dst, loc = rec
                if loc.startswith(root + "/"):
                    loc = loc[len(root) + 1:]
                edges[src].append((dst, loc))
    return funcs, edges

def kind(f):
    return "provider" if f["file"].startswith("src/crypto/") else "engine"

def resolve_indirect(loc, t, provider):
    """Returns ('targets', [names], expr, how) | ('callback', expr) |
    ('unresolved', expr[, why]). The called expression at loc names the
    pointer; its rule (tools/indirect_calls.rules) the targets, from the
    call graph GCC dumped for target t. In the provider (provider true)
    only the rules for any file apply: the provider's own indirect calls
    are in the measured depth."""
    try:
        path, line, col = loc.rsplit(":", 2)
        text = read_src(path).split("\n")[int(line) - 1]
    except (ValueError, IndexError):
        return ("unresolved", loc)
    m = re.match(r"\s*([A-Za-z_]\w*(?:(?:->|\.)\w+|\[[^\]]*\])*)\s*\(", text[int(col) - 1:])
    if not m:
        return ("unresolved", loc)
    expr = m.group(1)
    last = re.findall(r"\w+", expr.split("->")[-1].split(".")[-1])[0]
    rule = RULES.get(("*", last)) if provider else indirect_calls.rule_for(RULES, path, last)
    if rule is None:
        return ("unresolved", expr)
    if rule[0] == "callback":
        return ("callback", expr)
    if rule[0] not in indirect_calls.IPA_KINDS:
        return ("unresolved", expr, "rule %s is not one for the engine" % rule[0])
    base = path[:-2].replace("/", "_") if path.endswith(".c") else path
    graph = indirect_calls.cgraph_of(os.path.join(sout, t), base)
    names, how = indirect_calls.ipa_targets(graph, rule)
    if names is None:
        return ("unresolved", expr, how)
    return ("targets", names, expr, how)

def analyze(t):
    funcs, edges = load(t)
    by_name = {}
    for title, f in funcs.items():
        if ":" not in title:
            by_name[title] = title
    statics = defaultdict(dict)  # file -> name -> title
    for title, f in funcs.items():
        statics[f["file"]][f["name"]] = title
    flags = []  # (kind, text)
    calls = defaultdict(list)   # title -> [(callee title or None, exit label or None, loc)]
    for src, lst in edges.items():
        if src not in funcs:
            continue
        for dst, loc in lst:
            if dst == "__indirect_call":
                r = resolve_indirect(loc, t, kind(funcs[src]) == "provider")
                if r[0] == "targets":
                    for name in r[1]:
                        tt = statics[funcs[src]["file"]].get(name) or by_name.get(name)
                        if tt:
                            calls[src].append((tt, None, loc))
                    flags.append(("indirect", "%s `%s()` at %s: resolved to %s (%s)" %
                                  (funcs[src]["name"], r[2], loc, ", ".join(sorted(set(r[1]))),
                                   r[3])))
                elif r[0] == "callback":
                    calls[src].append((None, "callback %s()" % r[1], loc))
                    flags.append(("callback", "%s calls the application's `%s()` at %s: "
                                  "leaves the engine, its depth is the application's"
                                  % (funcs[src]["name"], r[1], loc)))
                elif kind(funcs[src]) == "provider":
                    calls[src].append((None, "indirect %s()" % r[1], loc))
                    flags.append(("provider", "%s: indirect call `%s` at %s (inside the provider:"
                                  " in the measured depth, not in the engine's static bound)"
                                  % (funcs[src]["name"], r[1], loc)))
                else:
                    calls[src].append((None, "UNRESOLVED %s()" % r[1], loc))
                    flags.append(("UNSOUND", "%s: indirect call `%s` at %s not resolved%s"
                                  % (funcs[src]["name"], r[1], loc,
                                     ": " + r[2] if len(r) > 2 else
                                     " (no rule in tools/indirect_calls.rules)")))
                continue
            if dst in funcs:
                calls[src].append((dst, None, loc))
            else:
                calls[src].append((None, dst, loc))
    for title, f in funcs.items():
        if "dynamic" in f["qual"] and "bounded" not in f["qual"] and kind(f) == "engine":
            flags.append(("UNSOUND", "%s (%s): unbounded dynamic frame (VLA/alloca)"
                          % (f["name"], f["file"])))
    return funcs, calls, flags

def scc_cycles(funcs, calls, members):
    return stackgraph.cycles(calls, members)


longest = stackgraph.longest

def path_of(pred, funcs, v):
    p = []
    while v is not None:
        p.append(v); v = pred[v]
    return [funcs[x]["name"] for x in reversed(p)]

def fmt_path(names, fr):
    return " → ".join("%s (%d)" % (n, s) for n, s in zip(names, fr))

def main(argv):
    global root, sout
    root, sout, probe_ok = argv[0], argv[1], argv[2] == "1"
    # Probe results: provider function -> deepest bytes (x86_64), and labels.
    probe = {}
    probe_rows = []
    engine_meas = {}
    if probe_ok:
        for line in open(os.path.join(sout, "probe", "probe.txt")):
            parts = line.split()
            if len(parts) >= 4 and parts[0] == "engine":
                engine_meas[(parts[1], parts[2])] = (int(parts[3]), " ".join(parts[4:]))
                continue
            if len(parts) >= 3 and parts[0] == "probe":
                fn, nbytes, what = parts[1], int(parts[2]), " ".join(parts[3:])
                for one in fn.split(","):
                    probe_rows.append((one, nbytes, what))
                    probe[one] = max(probe.get(one, 0), nbytes)

    hdr = read_src("include/iotls/engine.h")
    entries = []
    for m in re.finditer(r"^[^\n#/*]*?\b(iotls_\w+)\s*\(", hdr, re.M):
        if m.group(1) not in entries:
            entries.append(m.group(1))

    results = {}
    roles = {}
    all_flags = {}
    for t in TARGETS:
        funcs, calls, flags = analyze(t)
        engine = {k for k, f in funcs.items() if kind(f) == "engine"}
        provider = {k for k, f in funcs.items() if kind(f) == "provider"}
        cyc_e = scc_cycles(funcs, calls, engine)
        cyc_p = scc_cycles(funcs, calls, provider)
        for comp in cyc_e:
            flags.append(("UNSOUND", "engine recursion: " + ", ".join(sorted(funcs[c]["name"] for c in comp))))
        pflags = []
        for comp in cyc_p:
            pflags.append("provider recursion: " + ", ".join(sorted(funcs[c]["name"] for c in comp)))
        # Provider functions the engine calls: provider-only longest path.
        prov_called = set()
        for v in engine:
            for w, _, _ in calls.get(v, []):
                if w is not None and w in provider:
                    prov_called.add(w)
        prov = {}
        for pf in prov_called:
            dist, pred, back = longest(funcs, calls, pf, provider)
            worst = max(dist, key=lambda v: (dist[v], funcs[v]["name"]))
            lib = set()
            for v in dist:
                for w, label, loc in calls.get(v, []):
                    if w is None and label not in LIBC:
                        lib.add(label.replace("__builtin_", ""))
            prov[funcs[pf]["name"]] = (dist[worst], path_of(pred, funcs, worst), sorted(lib))
        prov_static = {n: v[0] for n, v in prov.items()}
        def entry_worst(e, members):
            dist, pred, back = longest(funcs, calls, e, members)
            worst = max(dist, key=lambda v: (dist[v], funcs[v]["name"]))
            names = path_of(pred, funcs, worst)
            p = []
            v = worst
            while v is not None:
                p.append(v); v = pred[v]
            p.reverse()
            # Calls that leave the engine, with the engine depth where they are made.
            exits = {}
            for v in dist:
                for w, label, loc in calls.get(v, []):
                    if w is not None and w in engine:
                        continue
                    if w is not None:
                        name, cls = funcs[w]["name"], "provider"
                    else:
                        name = label
                        cls = ("libc" if name in LIBC else "callback" if name.startswith("callback")
                               else "UNRESOLVED" if name.startswith("UNRESOLVED") else "other")
                    if name not in exits or dist[v] > exits[name][0]:
                        exits[name] = (dist[v], funcs[v]["name"], cls, v)
            total = None
            for name, (d, caller, cls, v) in exits.items():
                if cls == "provider":
                    cost = probe.get(name, prov_static.get(name))
                    if cost is None:
                        continue
                    tot = d + cost
                    if total is None or tot > total[0]:
                        total = (tot, name, d, cost, v)
            return {"depth": dist[worst], "path": names,
                    "frames": [funcs[x]["frame"] for x in p], "exits": exits,
                    "total": total, "pred": pred, "dist": dist, "back": back}

        # One role only: the other role's file left out (its entry points are
        # reached from conn.c by the role of the connection, a run-time value).
        role_members = {
            "client": {k for k in engine if funcs[k]["file"] not in SERVER_FILES},
            "server": {k for k in engine if funcs[k]["file"] != "src/client.c"},
        }
        per_entry = {}
        per_role = {}
        for e in entries:
            if e not in funcs or e not in engine:
                per_entry[e] = None
                continue
            per_entry[e] = entry_worst(e, engine)
            per_role[e] = {r: entry_worst(e, m) for r, m in role_members.items()}
        results[t] = (funcs, calls, per_entry, prov, engine)
        roles[t] = per_role
        all_flags[t] = flags + [("provider", x) for x in pflags]

    out = []
    w = out.append
    w("## 1. Engine frames only, deepest path per entry point")
    w("")
    w("Sum of the engine's own frames (src/*.c, src/msg/*.c; inlined functions are part of")
    w("their caller's frame) on the deepest call path from each public function of")
    w("include/iotls/engine.h; calls that leave the engine count 0 here. Bytes.")
    w("")
    w("| entry point | cm4 engine | x86_64 engine | cm4 total | x86_64 total | deepest call leaving the engine (x86_64) |")
    w("| --- | ---: | ---: | ---: | ---: | --- |")
    for e in entries:
        cells = []
        for t in TARGETS:
            r = results[t][2][e]
            cells.append("-" if r is None else str(r["depth"]))
        for t in TARGETS:
            r = results[t][2][e]
            cells.append("-" if r is None or r["total"] is None else str(r["total"][0]))
        r = results["x86_64"][2][e]
        what = "-"
        if r and r["total"]:
            what = "%s: %d engine + %d %s" % (r["total"][1], r["total"][2], r["total"][3],
                                                "measured" if r["total"][1] in probe else "static")
        elif r:
            what = "no provider call measured"
        w("| %s | %s | %s | %s | %s | %s |" % (e, cells[0], cells[1], cells[2], cells[3], what))
    w("")
    w("total = engine frames down to a call of the crypto provider + that call's deepest stack")
    w("measured on x86_64 (section 3; the provider's static frames for calls not measured, which")
    w("reach only trivial library leaves), maximum over the provider calls reachable from the entry")
    w("point; cm4 adds the x86_64 measurement to the cm4 engine frames (no Cortex-M4 mbedTLS")
    w("build here). Calls to libc (memcpy, memset, ...) and to the application's callbacks are")
    w("not in the total (listed below). '-' = not an engine function on that target.")
    w("")
    w("Per role (the other role's src/server.c or src/client.c left out), where it differs:")
    w("")
    w("| entry point | role | cm4 engine | x86_64 engine | cm4 total | x86_64 total | deepest call leaving the engine (x86_64) |")
    w("| --- | --- | ---: | ---: | ---: | ---: | --- |")
    for e in entries:
        if e not in roles["cm4"] or e not in roles["x86_64"]:
            continue
        rows = []
        for role in ("client", "server"):
            a, b = roles["cm4"][e][role], roles["x86_64"][e][role]
            tot = lambda r: "-" if r["total"] is None else str(r["total"][0])
            what = "-"
            if b["total"]:
                what = "%s: %d engine + %d" % (b["total"][1], b["total"][2], b["total"][3])
            rows.append((role, a["depth"], b["depth"], tot(a), tot(b), what))
        both = (results["cm4"][2][e]["depth"], results["x86_64"][2][e]["depth"])
        if all((r[1], r[2]) == both for r in rows):
            continue
        for r in rows:
            w("| %s | %s | %d | %d | %s | %s | %s |" % ((e,) + r))
    w("")
    w("Deepest paths per role (cm4):")
    w("")
    for e in entries:
        if e not in roles["cm4"]:
            continue
        for role in ("client", "server"):
            r = roles["cm4"][e][role]
            if r["depth"] != results["cm4"][2][e]["depth"] or role == "client":
                if r["depth"] >= 512:
                    w("- %s, %s: %d B: %s" % (e, role, r["depth"], fmt_path(r["path"], r["frames"])))
    w("")
    w("## 2. Deepest paths and the calls that leave the engine")
    w("")
    for t in TARGETS:
        funcs, calls, per_entry, prov, engine = results[t]
        w("### %s" % t)
        w("")
        for e in entries:
            r = per_entry[e]
            if r is None or r["depth"] == 0:
                continue
            w("- **%s**: %d B engine: %s" % (e, r["depth"], fmt_path(r["path"], r["frames"])))
            ex = sorted(r["exits"].items(), key=lambda kv: (-kv[1][0], kv[0]))
            cost = lambda n: probe.get(n, prov[n][0] if n in prov else 0)
            prov_ex = sorted([(n, v) for n, v in ex if v[2] == "provider"],
                             key=lambda nv: (-(nv[1][0] + cost(nv[0])), nv[0]))[:6]
            other = [(n, v) for n, v in ex if v[2] != "provider"]
            if prov_ex:
                w("  - deepest provider calls (engine bytes above the call + measured x86_64"
                  " depth of the call = total):")
                for n, v in prov_ex:
                    m = probe.get(n)
                    w("    - %s from %s at %d B%s" % (n, v[1], v[0],
                      " + %d = %d" % (m, v[0] + m) if m is not None else " (not measured)"))
            if other:
                w("  - other calls leaving the engine: " + ", ".join(
                    "%s (%s, from %s at %d B)" % (n.replace("__builtin_", ""), v[2], v[1], v[0])
                    for n, v in other[:8]) + (", ..." if len(other) > 8 else ""))
        w("")

    w("## 3. Crypto provider: static frames and measured depth")
    w("")
    w("Static: the provider's own frames (src/crypto/mbedtls, src/crypto/common, src/crypto/mbedtls_common) on the deepest")
    w("path from each provider function the engine calls; the mbedTLS functions it reaches are")
    w("not counted (their frames are in the measurement). Measured: tools/stackprobe.c calls")
    w("the function directly on a painted stack (x86_64, Debian's mbedTLS), provider + mbedTLS")
    w("+ libc, deepest over its runs.")
    w("")
    w("| provider function | cm4 provider frames | x86_64 provider frames | x86_64 measured (provider + mbedTLS) | measured with |")
    w("| --- | ---: | ---: | ---: | --- |")
    names = sorted(set(results["cm4"][3]) | set(results["x86_64"][3]))
    for n in names:
        a = results["cm4"][3].get(n)
        b = results["x86_64"][3].get(n)
        rows = [r for r in probe_rows if r[0] == n]
        meas = str(probe[n]) if n in probe else "-"
        what = "; ".join("%s: %d" % (r[2], r[1]) for r in rows) if rows else "-"
        w("| %s | %s | %s | %s | %s |" % (n, a[0] if a else "-", b[0] if b else "-", meas, what))
    w("")
    extra = [r for r in probe_rows if r[0] not in names]
    if extra:
        w("Also measured (not called by the engine directly): " +
          ", ".join("%s %s: %d" % (r[0], r[2], r[1]) for r in extra))
        w("")
    if not probe_ok:
        w("**The stack probe failed**: totals are missing (see build-size/stack/probe/*.log).")
        w("")
    w("Deepest provider path (x86_64) per function the engine calls:")
    w("")
    for n in names:
        b = results["x86_64"][3].get(n)
        if b and b[0] > 0:
            w("- %s: %s; reaches %s" % (n, " → ".join(b[1]), ", ".join(b[2][:8]) or "nothing outside")
              + (", ..." if len(b[2]) > 8 else ""))
    w("")

    w("## 4. Check: whole engine calls measured (x86_64)")
    w("")
    w("tools/stackprobe.c runs a client and a server engine against each other in memory,")
    w("each iotls_conn_* call on its own painted stack (full handshake with x25519 and an")
    w("ECDSA P-256 certificate, resumption from a ticket, a HelloRetryRequest, mutual")
    w("authentication; 4 KiB of data and a KeyUpdate each way; close). Deepest per role and")
    w("entry point, against the static total of the same role (section 1). Painting is a")
    w("lower bound and covers only these runs; the static total covers every path.")
    w("")
    w("| role | entry point | measured | static total (x86_64) | deepest run |")
    w("| --- | --- | ---: | ---: | --- |")
    for (role, e), (m, what) in sorted(engine_meas.items()):
        r = roles["x86_64"].get(e, {}).get(role)
        st = "-" if r is None or r["total"] is None else str(r["total"][0])
        w("| %s | %s | %d | %s | %s |" % (role, e, m, st, what or "-"))
    if not engine_meas:
        w("(no measurement: the probe failed)")
    w("")

    w("## 5. Soundness: recursion, indirect calls, dynamic frames")
    w("")
    unsound = False
    for t in TARGETS:
        funcs, calls, per_entry, prov, engine = results[t]
        fl = all_flags[t]
        dyn = sorted("%s (%d)" % (f["name"], f["frame"]) for k, f in funcs.items()
                     if k in engine and "dynamic" in f["qual"] and "bounded" in f["qual"])
        w("### %s" % t)
        w("")
        seen = set()
        for k, txt in fl:
            if (k, txt) in seen:
                continue
            seen.add((k, txt))
            if k == "UNSOUND":
                unsound = True
            w("- %s: %s" % (k, txt))
        if not any(k == "UNSOUND" and "recursion" in x for k, x in fl):
            w("- no recursion in the engine's call graph")
        w("- dynamic but bounded frames (GCC's figure is the bound; push/pop around calls): " +
          (", ".join(dyn) if dyn else "none"))
        w("")
    print("\n".join(out))
    if unsound:
        print("**Unsound**: see section 5.")
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
