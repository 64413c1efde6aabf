#!/usr/bin/env python3
"""Static worst-case stack of engine + crypto provider + mbedTLS 3.6 on a
microcontroller target, per engine entry point and role.

Called by tools/stack-report.sh (see docs/stack.md, "Whole stack"):

    stack_whole.py ROOT M3SRC CONFIG TARGET:DIR [TARGET:DIR ...]

Each DIR holds, for every compiled file (engine src/*.c src/msg/*.c, the
mbedTLS provider src/crypto/mbedtls/*.c src/crypto/common/*.c src/crypto/mbedtls_common/*.c, and every
mbedTLS 3.6 library/*.c), GCC's -fcallgraph-info=su graph (.ci), the
preprocessed source (.i, used to resolve indirect calls under the exact
configuration) and the object's symbol table (.sym, `objdump -t`, used for
functions GCC emits without a graph node: identical-code-folded aliases).

Prints markdown on stdout. Exit status 3 when a bound is unsound: an
indirect call that no rule resolves, recursion, an unbounded dynamic frame,
or a call to an mbedTLS/provider function with no known frame, on a path
reachable from an engine entry point.
"""
import os
import re
import sys
from collections import defaultdict

import indirect_calls  # tools/indirect_calls.py, beside this file
import stackgraph  # tools/stackgraph.py, beside this file

# Set by main() from the command line.
ROOT = M3 = CONFIG = None
TARGETS = []
LIMIT = 4096  # issue 7: "engine stack at most 4 KB"

# C library and compiler helpers: leaves of a few words (not added; listed).
LIBC_RE = re.compile(r"^(mem(cpy|set|move|cmp|chr)|str\w+|v?s?n?printf|abort|calloc|malloc|free|"
                     r"gmtime(_r)?|time|__[a-z]\w*)$")
# Outside the library and the provider, supplied by the platform: the
# hardware entropy source of MBEDTLS_ENTROPY_HARDWARE_ALT (ESP-IDF:
# esp_hardware.c). Depth is the platform's; listed, not added.
PLATFORM = {"mbedtls_hardware_poll"}


def rel(path):
    for pre, rep in ((M3 + "/", "mbedtls/"), (ROOT + "/", "")):
        if path.startswith(pre):
            return rep + path[len(pre):]
    return path


def kind_of(path):
    if path.startswith(M3 + "/"):
        return "mbedtls"
    r = rel(path)
    if r.startswith("src/crypto/"):
        return "provider"
    if r.startswith("src/"):
        return "engine"
    return "other"


def load(d):
    funcs, edges, per_file = {}, defaultdict(list), {}
    for fn in sorted(os.listdir(d)):
        if not fn.endswith(".ci"):
            continue
        titles, fedges = set(), []
        for rec in stackgraph.read_ci(os.path.join(d, fn)):
            if rec[0] == "node":
                _, title, name, floc, frame, qual = rec
                funcs[title] = {"name": name, "file": floc, "kind": kind_of(floc),
                                "frame": frame, "qual": qual, "obj": fn[:-3]}
                titles.add(title)
            else:
                fedges.append(rec[1:])
        per_file[fn[:-3]] = (titles, fedges)
        for s, t, loc in fedges:
            edges[s].append((t, loc))
    return funcs, edges, per_file


def load_syms(d, obj):
    """name -> (section, value) for the function symbols of one object."""
    out = {}
    try:
        with open(os.path.join(d, obj + ".sym")) as f:
            for line in f:
                p = line.split()
                if len(p) >= 6 and p[2] == "F":
                    out[p[-1]] = (p[3], p[0])
    except OSError:
        pass
    return out


# ------------------------------------------------------ preprocessed text --
def read_i(d):
    texts = {}
    for fn in sorted(os.listdir(d)):
        if fn.endswith(".i"):
            with open(os.path.join(d, fn), errors="replace") as f:
                # Line markers out: only the code is searched.
                texts[fn[:-2]] = "".join(l for l in f if not l.startswith("#"))
    return texts


def balanced(text, i):
    """text[i] == '(' or '{': index just past the matching close."""
    op = text[i]
    cl = ")" if op == "(" else "}"
    depth = 0
    for j in range(i, len(text)):
        c = text[j]
        if c == op:
            depth += 1
        elif c == cl:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def split_top(s):
    out, depth, cur = [], 0, []
    for c in s:
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        if c == "," and depth == 0:
            out.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
    if "".join(cur).strip():
        out.append("".join(cur).strip())
    return out


def call_args(texts, fname_re):
    """Argument lists of every call of a function matching fname_re."""
    rx = re.compile(r"\b(" + fname_re + r")\s*\(")
    for name, t in texts.items():
        for m in rx.finditer(t):
            end = balanced(t, m.end() - 1)
            # A declaration or definition is followed by ';' or '{' after a
            # parameter list with types; a call's arguments are expressions.
            yield name, split_top(t[m.end():end - 1])


def struct_fields(texts, struct):
    rx = re.compile(r"\bstruct\s+" + struct + r"\s*\{")
    for t in texts.values():
        m = rx.search(t)
        if m:
            body = t[m.end() - 1:balanced(t, m.end() - 1)][1:-1]
            fields = []
            for decl in body.split(";"):
                decl = decl.strip()
                if not decl:
                    continue
                fp = re.search(r"\(\s*\*\s*(\w+)\s*\)", decl)
                fields.append(fp.group(1) if fp else re.findall(r"\w+", decl)[-1])
            return fields
    return None


def table_targets(texts, typedef, struct, field):
    """Functions stored in `field` of every static initializer of typedef."""
    fields = struct_fields(texts, struct)
    rx = re.compile(r"\b" + typedef + r"\s+\w+\s*=\s*\{")
    out, where = set(), set()
    for name, t in texts.items():
        for m in rx.finditer(t):
            init = t[m.end() - 1:balanced(t, m.end() - 1)][1:-1]
            items = split_top(init)
            if any(x.startswith(".") for x in items):
                for x in items:
                    mm = re.match(r"\.(\w+)\s*=\s*(.*)$", x, re.S)
                    if mm and mm.group(1) == field:
                        out.add(mm.group(2).strip())
            elif fields and field in fields:
                i = fields.index(field)
                if i < len(items):
                    out.add(items[i].strip())
            where.add(name)
    return out, where


def assign_targets(texts, field):
    out, where = set(), set()
    rx = re.compile(r"(?:->|\.)\s*" + field + r"\s*=\s*([^;=][^;]*);")
    for name, t in texts.items():
        for m in rx.finditer(t):
            out.add(m.group(1).strip())
            where.add(name)
    return out, where


RNG_SIG = re.compile(r"\bint\s+(\w+)\s*\(\s*void\s*\*\s*\w*\s*,\s*unsigned\s+char\s*\*\s*\w*\s*,"
                     r"\s*size_t\s+\w*\s*\)\s*\{")

# How each indirect call reached from the engine is resolved: by the called
# expression's last name (a struct field or a variable), optionally tied to
# the file of the call, with the rule tools/indirect_calls.rules gives it
# (the kinds are described there). Every rule is an over-approximation:
# each target the call could reach under the configuration.
RULES = indirect_calls.load_rules()

# Calling contexts in which part of the graph below a call cannot run; the
# subtree under such a call is analysed as a copy without those edges. Each
# is checked against the preprocessed source; the check failing makes the
# copy unused (the plain graph, an over-approximation, is used instead).
#   (caller: name or file, callee, regex the caller's file must contain,
#    what is dropped, why)
ECB_RE = r"mbedtls_cipher_info_from_values\s*\([^;]*MBEDTLS_MODE_ECB"
NULL_RE = r"(?:NULL|\(\s*\(\s*void\s*\*\s*\)\s*0\s*\))"
CONTEXTS = [
    ("name:mbedtls_ecp_mul_shortcuts", "ecp_mul_restartable_internal",
     r"ecp_mul_restartable_internal\s*\(\s*grp\s*,\s*R\s*,\s*m\s*,\s*P\s*,\s*" + NULL_RE + r"\s*,\s*"
     + NULL_RE,
     "rng", "ECDSA verification (mbedtls_ecp_muladd) multiplies with f_rng = NULL: no f_rng call "
     "below it (every f_rng there is that parameter passed down)"),
    ("file:gcm.c", r"mbedtls_cipher_\w+", ECB_RE, "mode",
     "GCM's own cipher context is the block cipher in ECB mode (mbedtls_gcm_setkey), so the "
     "mbedtls_cipher_* calls on it never enter a GCM, CCM, KW or ChaCha20-Poly1305 function "
     "(of gcm.c, ccm.c, nist_kw.c, chachapoly.c, or their cipher_wrap.c wrappers) again"),
    ("file:ccm.c", r"mbedtls_cipher_\w+", ECB_RE, "mode",
     "CCM's own cipher context is the block cipher in ECB mode (mbedtls_ccm_setkey): same"),
    ("file:nist_kw.c", r"mbedtls_cipher_\w+", ECB_RE, "mode",
     "NIST KW's own cipher context is the block cipher in ECB mode (mbedtls_nist_kw_setkey): same"),
]
MODE_FILES = {"gcm.c", "ccm.c", "chachapoly.c", "nist_kw.c"}
MODE_WRAPPERS = re.compile(r"^(gcm|ccm|kw|chachapoly)_")

KEYWORDS = {"if", "while", "for", "switch", "return", "sizeof", "defined"}


def callee_at(loc, known):
    """('field'|'var', name) of the indirect call at path:line:col."""
    try:
        path, line, col = loc.rsplit(":", 2)
        with open(path, errors="replace") as f:
            lines = f.read().split("\n")
        text = lines[int(line) - 1][int(col) - 1:] + " " + " ".join(lines[int(line):int(line) + 6])
    except (OSError, ValueError, IndexError):
        return None
    text = text.split(";")[0]
    for m in re.finditer(r"(->|\.)?\s*([A-Za-z_]\w*)\s*\(", text):
        name = m.group(2)
        if m.group(1):
            return ("field", name)
        if name.isupper() or name in KEYWORDS or name in known:
            continue
        # get(x)->field(...): a direct call of a getter, then the call.
        if re.match(r"\s*(->|\.)", text[balanced(text, m.end() - 1):]):
            continue
        return ("var", name)
    return None


# ------------------------------------------------------------- analysis --
def analyze(target, d):
    funcs, edges, per_file = load(d)
    texts = read_i(d)
    by_name = defaultdict(list)
    for title, f in funcs.items():
        by_name[f["name"].split(".")[0]].append(title)
    known = set(by_name)
    flags = []  # (class, text); class UNSOUND makes the bound unsound

    # Identical-code-folded aliases: an edge to a symbol with no node whose
    # code is another node's (same section, same address in that object).
    alias = {}
    for obj, (titles, fedges) in per_file.items():
        syms = None
        for s, t, loc in fedges:
            if t in funcs or t == "__indirect_call" or t in alias:
                continue
            if syms is None:
                syms = load_syms(d, obj)
            name = t.rsplit(":", 1)[-1]
            if name not in syms:
                continue
            where = syms[name]
            for other, w in syms.items():
                if w == where and other != name:
                    cand = [x for x in titles if x.rsplit(":", 1)[-1] == other]
                    if cand:
                        alias[t] = cand[0]
                        flags.append(("alias", "%s: no graph node; identical code folded into %s, "
                                      "whose frame is used" % (name, funcs[cand[0]]["name"])))
                        break

    def fn_targets(names, ctx_file):
        out, rest = [], []
        for n in names:
            n = n.strip().lstrip("&").strip()
            if n in ("NULL", "0", "((void*)0)", "((void *)0)"):
                continue
            tt = by_name.get(n)
            if not tt:
                rest.append(n)
                continue
            # A static name: the one of the file where it is named, if any.
            same = [x for x in tt if os.path.basename(funcs[x]["file"]) == ctx_file]
            out.extend(same or tt)
        return out, rest

    # Functions of the f_rng type whose address is taken, self-tests left
    # out (they pass their own generators and no entry point reaches them).
    defined = {m.group(1) for t in texts.values() for m in RNG_SIG.finditer(t)}
    stripped = []
    for t in texts.values():
        for m in reversed(list(re.finditer(r"\b\w*self_test\w*\s*\([^;{)]*\)\s*\{", t))):
            t = t[:m.end() - 1] + t[balanced(t, m.end() - 1):]
        stripped.append(t)
    rng_set = sorted(n for n in defined
                     if any(re.search(r"\b%s\b(?!\s*\()" % n, t) for t in stripped))
    cache = {}

    def resolve(loc):
        c = callee_at(loc, known)
        if c is None:
            return ("unresolved", "?", [], "")
        path = loc.rsplit(":", 2)[0]
        base = os.path.basename(path)
        rule = RULES.get((base, c[1])) or RULES.get(("*", c[1]))
        expr = ("->" if c[0] == "field" else "") + c[1]
        if rule is None:
            return ("unresolved", expr, [], "")
        key = (base, c[1])
        if key in cache:
            return cache[key]
        kind = rule[0]
        if kind == "table":
            vals, where = table_targets(texts, rule[1], rule[2], rule[3])
            tg, rest = fn_targets(vals, None)
            how = "the %s field of every %s table (%s)" % (rule[3], rule[1], ", ".join(sorted(where)))
        elif kind == "assign":
            vals, where = assign_targets(texts, rule[1])
            tg, rest = fn_targets(vals, None)
            how = "every assignment to ->%s (%s)" % (rule[1], ", ".join(sorted(where)))
        elif kind == "args":
            vals, where = set(), set()
            idx = rule[2] if len(rule) > 2 else None
            for name, args in call_args(texts, rule[1]):
                for i, a in enumerate(args):
                    if idx is not None and i != idx:
                        continue
                    # Every function named in the argument expression
                    # (`now != 0 ? validity_at : NULL` names validity_at).
                    for ident in re.findall(r"[A-Za-z_]\w*", a):
                        if ident in known:
                            vals.add(ident)
                            where.add(name)
            tg, rest = fn_targets(vals, None)
            how = "every function passed to %s (%s)" % (rule[1].replace("\\w*", "*").replace(
                "\\w+", "*"), ", ".join(sorted(where)) or "none is, anywhere in the build")
        elif kind == "rng":
            tg, rest = fn_targets(rng_set, None)
            how = "every function of the f_rng type whose address is taken in the build"
        elif kind in indirect_calls.IPA_KINDS:
            # The engine's: from GCC's call graph of the calling file.
            r_path = rel(path)
            graph = indirect_calls.cgraph_of(d, r_path[:-2].replace("/", "_"))
            names, how = indirect_calls.ipa_targets(graph, rule)
            if names is None:
                r = ("unresolved", expr, [], how)
                cache[key] = r
                return r
            tg, rest = fn_targets(names, base)
        elif kind == "libc":
            r = ("libc", expr, [], rule[1])
            cache[key] = r
            return r
        else:
            r = ("callback", expr, [], rule[1])
            cache[key] = r
            return r
        r = ("targets", expr, sorted(set(tg)), how, sorted(set(rest)))
        cache[key] = r
        return r

    calls = defaultdict(list)  # title -> [(callee title | None, label, loc)]
    site_info = {}
    rng_sites = set()
    for src, lst in edges.items():
        if src not in funcs:
            continue
        for dst, loc in lst:
            dst = alias.get(dst, dst)
            if dst == "__indirect_call":
                r = resolve(loc)
                site_info[(src, loc)] = r
                if r[0] == "targets":
                    if RULES.get((os.path.basename(loc.rsplit(":", 2)[0]), r[1].lstrip("->")),
                                 RULES.get(("*", r[1].lstrip("->")), ("",)))[0] == "rng":
                        rng_sites.add((src, loc))
                    for tt in r[2]:
                        calls[src].append((tt, None, loc))
                    if r[4]:
                        calls[src].append((None, "UNRESOLVED %s() (also %s)" % (r[1], ", ".join(r[4])),
                                           loc))
                elif r[0] == "libc":
                    calls[src].append((None, r[3], loc))
                elif r[0] == "callback":
                    calls[src].append((None, "callback %s()" % r[1], loc))
                else:
                    calls[src].append((None, "UNRESOLVED %s()" % r[1], loc))
            elif dst in funcs:
                calls[src].append((dst, None, loc))
            else:
                calls[src].append((None, dst.rsplit(":", 1)[-1], loc))

    # Calling contexts: the subtree under each matching call, copied
    # without the edges that cannot run there.
    def drop_fn(what):
        if what == "rng":
            return lambda v, w, loc: (v, loc) in rng_sites
        return lambda v, w, loc: (w is not None and (
            os.path.basename(funcs[w]["file"]) in MODE_FILES or
            (os.path.basename(funcs[w]["file"]) == "cipher_wrap.c" and
             MODE_WRAPPERS.match(funcs[w]["name"]))))

    for caller, callee, check, what, why in CONTEXTS:
        how, key = caller.split(":", 1)
        srcs = [v for v, f in funcs.items()
                if (f["name"].split(".")[0] == key if how == "name"
                    else os.path.basename(f["file"]) == key)]
        hits = [(v, i) for v in srcs for i, (w, _, _) in enumerate(calls.get(v, []))
                if w is not None and re.fullmatch(callee, funcs[w]["name"].split(".")[0])]
        if not hits:
            continue
        files = {funcs[v]["obj"] for v, _ in hits}
        if not all(re.search(check, texts.get(o, "")) for o in files):
            flags.append(("context", "NOT applied (source check failed): " + why))
            continue
        drop = drop_fn(what)
        mapping = {}
        for v, i in hits:
            root = calls[v][i][0]
            st = [root]
            while st:
                x = st.pop()
                if x in mapping:
                    continue
                mapping[x] = x + "#" + what
                funcs[mapping[x]] = funcs[x]
                for w2, _, loc in calls.get(x, []):
                    if w2 is not None and not drop(x, w2, loc) and w2 not in mapping:
                        st.append(w2)
        for x, nx in mapping.items():
            calls[nx] = [(mapping.get(w2, w2), lab, loc) for w2, lab, loc in calls.get(x, [])
                         if w2 is None or not drop(x, w2, loc)]
            # An f_rng call with no target left: nothing is called there.
            calls[nx] = [c for c in calls[nx] if not (c[0] is None and what == "rng" and
                                                       (x, c[2]) in rng_sites)]
        for v, i in hits:
            w2, lab, loc = calls[v][i]
            calls[v][i] = (mapping[w2], lab, loc)
        flags.append(("context", "%s → %s: %s" % (key, callee, why)))
    rng_sites_of[target] = rng_sites
    return funcs, calls, site_info, flags


rng_sites_of = {}


def reach(calls, entry, members):
    seen, st = set(), [entry]
    while st:
        v = st.pop()
        if v in seen:
            continue
        seen.add(v)
        for w, _, _ in calls.get(v, []):
            if w is not None and w in members and w not in seen:
                st.append(w)
    return seen


def longest(funcs, calls, entry, nodes):
    dist, pred, _ = stackgraph.longest(funcs, calls, entry, nodes)
    worst = max(dist, key=lambda v: (dist[v], funcs[v]["name"]))
    path = []
    v = worst
    while v is not None:
        path.append(v)
        v = pred[v]
    path.reverse()
    return dist[worst], path, dist


def main():
    global ROOT, M3, CONFIG, TARGETS
    ROOT, M3, CONFIG = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    TARGETS = [a.split(":", 1) for a in sys.argv[4:]]
    hdr = open(os.path.join(ROOT, "include/iotls/engine.h")).read()
    entries = []
    for m in re.finditer(r"^[^\n#/*]*?\b(iotls_\w+)\s*\(", hdr, re.M):
        if m.group(1) not in entries:
            entries.append(m.group(1))
    out = []
    w = out.append
    unsound = False
    w("## 6. Whole stack with mbedTLS 3.6, static (device targets)")
    w("")
    w("Engine + mbedTLS provider + mbedTLS %s, all compiled for the target from source with" % CONFIG)
    w("-fcallgraph-info=su; the longest call path from each entry point through all three, frames")
    w("summed (each function once per path). Indirect calls resolved from the preprocessed sources")
    w("(rules below). C library calls (memcpy, calloc, snprintf ...) and the platform's entropy")
    w("source are leaves here (listed in the soundness notes). Bytes.")
    w("")
    results = {}
    for target, d in TARGETS:
        funcs, calls, site_info, flags = analyze(target, d)
        engine = {k for k, f in funcs.items() if f["kind"] == "engine"}
        # Everything that is not engine code: provider, mbedTLS, and any
        # function a libc header defines inline ("other").
        lib = {k for k, f in funcs.items() if f["kind"] != "engine"}
        server_files = {"src/server.c", "src/server_negotiate.c", "src/ticket.c", "src/cookie.c"}
        roles = {"client": {k for k in engine if rel(funcs[k]["file"]) not in server_files} | lib,
                 "server": {k for k in engine if rel(funcs[k]["file"]) != "src/client.c"} | lib}
        res = {}
        reached_all = set()
        for e in entries:
            if e not in funcs or e not in engine:
                continue
            for role, members in roles.items():
                nodes = reach(calls, e, members)
                reached_all |= nodes
                total, path, dist = longest(funcs, calls, e, nodes)
                split = defaultdict(int)
                for v in path:
                    split[funcs[v]["kind"]] += funcs[v]["frame"]
                # How much of the path is below a call of a random generator
                # through f_rng (the part a cheaper generator would change).
                alt = 0
                for i in range(1, len(path)):
                    if any(c[0] == path[i] and (path[i - 1].split("#")[0], c[2]) in rng_sites_of[target]
                           for c in calls.get(path[i - 1], [])):
                        alt = sum(funcs[v]["frame"] for v in path[i:])
                        break
                res[(e, role)] = (total, path, split, nodes, dist, alt)
        results[target] = (funcs, calls, res)
        # Soundness over everything reachable from any entry point.
        notes = []
        for comp in stackgraph.cycles(calls, reached_all):
            unsound = True
            notes.append("UNSOUND: recursion: " + ", ".join(sorted(funcs[c]["name"] for c in comp)))
        for v in sorted(reached_all):
            f = funcs[v]
            if "dynamic" in f["qual"] and "bounded" not in f["qual"]:
                unsound = True
                notes.append("UNSOUND: %s (%s): unbounded dynamic frame" % (f["name"], rel(f["file"])))
        ext = defaultdict(set)
        sites = {}
        base_reached = {v.split("#")[0] for v in reached_all}
        for (v, loc), r in site_info.items():
            if v in base_reached:
                sites[(rel(loc), funcs[v]["name"])] = r
        for v in sorted(reached_all):
            for wt, label, loc in calls.get(v, []):
                if wt is None:
                    ext[label].add(funcs[v]["name"])
        for (loc, caller), r in sorted(sites.items()):
            if r[0] == "targets":
                names = sorted({funcs[t]["name"] for t in r[2]})
                txt = "%s `%s()` at %s: %s → %s" % (caller, r[1], loc, r[3],
                                                    ", ".join(names) if names else "nothing")
                if r[4]:
                    txt += "; NOT a function: %s" % ", ".join(r[4])
                    unsound = True
                    notes.append("UNSOUND: " + txt)
                else:
                    notes.append("resolved: " + txt)
            elif r[0] == "libc":
                notes.append("resolved: %s `%s()` at %s: %s (C library)" % (caller, r[1], loc, r[3]))
            elif r[0] == "callback":
                notes.append("callback: %s `%s()` at %s: %s; leaves mbedTLS and the provider, "
                             "not added" % (caller, r[1], loc, r[3]))
            else:
                unsound = True
                notes.append("UNSOUND: %s: indirect call `%s` at %s not resolved%s" % (
                    caller, r[1], loc, ": " + r[3] if r[3] else
                    " (no rule in tools/indirect_calls.rules)"))
        leaves, platform = [], []
        for label in sorted(ext):
            if label.startswith("UNRESOLVED") or label.startswith("callback"):
                continue
            if LIBC_RE.match(label):
                leaves.append(label)
            elif label in PLATFORM:
                platform.append(label)
            else:
                unsound = True
                notes.append("UNSOUND: %s (called by %s) has no frame: not in the build"
                             % (label, ", ".join(sorted(ext[label])[:3])))
        notes.append("C library and compiler helpers reached (leaves, not added): " + ", ".join(leaves))
        if platform:
            notes.append("platform functions reached (not added): " + ", ".join(
                "%s (from %s)" % (p, ", ".join(sorted(ext[p]))) for p in platform))
        for k, txt in flags:
            notes.append(k + ": " + txt)
        results[target] += (notes,)

    w("| entry point | role | %s |" % " | ".join(
        "%s engine | %s provider | %s mbedTLS | %s total | %s of it under f_rng" % ((t,) * 5)
        for t, _ in TARGETS))
    w("| --- | --- |" + " ---: | ---: | ---: | ---: | ---: |" * len(TARGETS))
    for e in entries:
        for role in ("client", "server"):
            cells = []
            for t, _ in TARGETS:
                r = results[t][2].get((e, role))
                if r is None:
                    cells.append("- | - | - | - | -")
                else:
                    tot, path, split, _, _, alt = r
                    mark = "**%d**" % tot if tot > LIMIT else str(tot)
                    cells.append("%d | %d | %d | %s | %d" % (split["engine"], split["provider"],
                                                             split["mbedtls"], mark, alt))
            if all(c.startswith("-") or c == "0 | 0 | 0 | 0 | 0" for c in cells):
                continue
            w("| %s | %s | %s |" % (e, role, " | ".join(cells)))
    w("")
    w("engine / provider / mbedTLS = the frames of each kind on the deepest path, total = their sum")
    w("(bold: above %d bytes, issue 7's target); under f_rng = the part of the total below a" % LIMIT)
    w("call of a random generator through an f_rng pointer (the DRBG, its reseed and entropy")
    w("gathering). Entry points at 0 everywhere are left out.")
    w("")
    for t, _ in TARGETS:
        funcs, calls, res, notes = results[t]
        w("### %s: deepest paths" % t)
        w("")
        best = {}
        for (e, role), r in res.items():
            if r[0] >= 1024:
                w("- %s, %s: %d B: %s" % (e, role, r[0], " → ".join(
                    "%s (%d%s)" % (funcs[v]["name"], funcs[v]["frame"],
                                   "" if funcs[v]["kind"] == "engine" else
                                   ", " + funcs[v]["kind"][0]) for v in r[1])))
            for v in r[1]:
                if funcs[v]["kind"] == "mbedtls":
                    best[v] = max(best.get(v, 0), funcs[v]["frame"])
        w("")
        w("(e) = engine frames unmarked, p = provider, m = mbedTLS.")
        w("")
        big = sorted(best, key=lambda v: -funcs[v]["frame"])[:8]
        w("Largest mbedTLS frames on these paths: " + ", ".join(
            "%s %d (%s)" % (funcs[v]["name"], funcs[v]["frame"], rel(funcs[v]["file"])) for v in big))
        w("")
    for t, _ in TARGETS:
        funcs, calls, res, notes = results[t]
        w("### %s: indirect calls, recursion, leaves" % t)
        w("")
        for n in notes:
            w("- " + n)
        if not any("recursion" in n for n in notes):
            w("- no recursion reachable from the engine's entry points (engine, provider, mbedTLS)")
        w("")
    print("\n".join(out))
    if unsound:
        print("**Unsound (whole stack)**: see the UNSOUND notes in section 6.")
        sys.exit(3)


if __name__ == "__main__":
    main()
