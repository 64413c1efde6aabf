"""The indirect-call rules of the stack reports (tools/indirect_calls.rules)
and the targets of the engine's rules, read from GCC's IPA call graph
(-fdump-ipa-cgraph) of the file making the call.

Used by tools/stack_engine.py and tools/stack_whole.py."""
import glob
import os
import re

RULES_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "indirect_calls.rules")

# Kinds resolved from the compiler's call graph (the others are
# tools/stack_whole.py's, over mbedTLS' preprocessed source).
IPA_KINDS = {"initializer", "passed-to"}
# Arguments each kind takes: (minimum, maximum; None = the rest of the line
# is one text).
ARITY = {"initializer": (1, 1), "passed-to": (1, 1), "callback": None, "table": (3, 3),
         "assign": (1, 1), "args": (1, 2), "rng": (0, 0), "libc": (1, 1)}


def load_rules(path=RULES_FILE):
    """{(file base name or "*", pointer name): (kind, args...)}. A malformed
    or repeated rule is an error: the report must not run on rules it
    misread."""
    rules = {}
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            where = "%s:%d" % (path, n)
            if len(parts) < 3 or parts[2] not in ARITY:
                raise ValueError("%s: not FILE POINTER KIND ARGS: %r" % (where, line))
            fname, pointer, kind, args = parts[0], parts[1], parts[2], parts[3:]
            arity = ARITY[kind]
            if arity is None:
                if not args:
                    raise ValueError("%s: %s needs a text" % (where, kind))
                args = [" ".join(args)]
            elif not arity[0] <= len(args) <= arity[1]:
                raise ValueError("%s: %s takes %d to %d arguments" % ((where, kind) + arity))
            if kind == "args" and len(args) == 2:
                args[1] = int(args[1])
            if (fname, pointer) in rules:
                raise ValueError("%s: a second rule for %s in %s" % (where, pointer, fname))
            rules[(fname, pointer)] = tuple([kind] + args)
    return rules


def rule_for(rules, path, pointer):
    """The rule for a call through `pointer` made in file `path`: the
    file's own, else the one for any file; None when there is none."""
    return rules.get((os.path.basename(path), pointer)) or rules.get(("*", pointer))


_NODE = re.compile(r"^([A-Za-z_.$][\w.$]*)/\d+ \(")
_REF = re.compile(r"([A-Za-z_.$][\w.$]*)/\d+( \(addr\))?")


def read_cgraph(path):
    """GCC's IPA call-graph dump (NAME.c.000i.cgraph) as {symbol: {"type":
    "function"|"variable", "addr": names whose address it takes, "callers":
    names of its callers}}. The dump lists the symbol table several times
    (before and after analysis): what any listing says is kept."""
    graph = {}
    cur = None
    with open(path, errors="replace") as f:
        for line in f:
            m = _NODE.match(line)
            if m:
                cur = graph.setdefault(m.group(1), {"type": "", "addr": set(), "callers": set()})
                continue
            if not line.startswith("  "):
                cur = None
            if cur is None:
                continue
            s = line.strip()
            if s.startswith("Type:"):
                if "function" in s:
                    cur["type"] = "function"
                elif "variable" in s:
                    cur["type"] = "variable"
            elif s.startswith("References:"):
                cur["addr"].update(r.group(1) for r in _REF.finditer(s[len("References:"):])
                                   if r.group(2))
            elif s.startswith("Called by:"):
                cur["callers"].update(r.group(1) for r in _REF.finditer(s[len("Called by:"):]))
    return graph


def cgraph_of(directory, base):
    """The dump of the object DIRECTORY/BASE.o (compiled with
    -fdump-ipa-cgraph), or None."""
    found = sorted(glob.glob(os.path.join(directory, glob.escape(base) + ".c.*i.cgraph")))
    return read_cgraph(found[0]) if found else None


def ipa_targets(graph, rule):
    """(function names, how) for an initializer / passed-to rule, from the
    file's call graph; (None, why) when the graph lacks what the rule names
    (renamed or removed: the call stays unresolved)."""
    kind, name = rule[0], rule[1]
    if graph is None:
        return None, "no call-graph dump (-fdump-ipa-cgraph) of the file"
    node = graph.get(name)
    if kind == "initializer":
        if node is None or node["type"] != "variable":
            return None, "no variable %s in the file's call graph" % name
        refs = node["addr"]
        how = "every function in the initializer of %s (GCC's call graph)" % name
    else:
        if node is None or node["type"] != "function":
            return None, "no function %s in the file's call graph" % name
        refs = set()
        for caller in node["callers"]:
            refs |= graph.get(caller, {"addr": set()})["addr"]
        how = "every function whose address a caller of %s takes (GCC's call graph)" % name
    funcs = sorted(r for r in refs if graph.get(r, {}).get("type") == "function")
    if not funcs:
        return None, "%s: no function found" % how
    return funcs, how
