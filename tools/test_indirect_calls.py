#!/usr/bin/env python3
"""Checks of tools/indirect_calls.py (ctest tools.indirect_calls):

1. On a small C file compiled here: an `initializer` rule finds every
   function of the table and a `passed-to` rule every function passed to
   the callee; after renaming a function both follow; after renaming the
   table or the callee the rule resolves nothing (the report then flags the
   call as unresolved) instead of resolving to a stale list.
2. tools/indirect_calls.rules parses, and each of the engine's rules
   resolves against the engine's source as it is now (so a rename in
   src/server.c fails here, in the test suite, not first in `make size`).

Usage: test_indirect_calls.py ROOT CC [CFLAG...] (the include flags the
engine compiles with)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import indirect_calls  # noqa: E402

FIXTURE = """
typedef int (*handler_fn)(int);
typedef int (*writer_fn)(int *);
static int on_a(int x) { return x + 1; }
static int on_b(int x) { return x * 3; }
static int write_one(int *p) { return *p = 1; }
static int write_two(int *p) { return *p = 2; }
static const struct { int state; handler_fn handler; } TABLE[] = {{0, on_a}, {1, on_b}};
static int send_it(writer_fn fn, int *p) { return fn(p) + 1; }
int dispatch(int s, int x)
{
    for (unsigned i = 0; i < sizeof TABLE / sizeof TABLE[0]; i++)
        if (TABLE[i].state == s)
            return TABLE[i].handler(x);
    return -1;
}
int first(int *p) { return send_it(write_one, p); }
int second(int *p) { return send_it(write_two, p); }
"""

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)


def graph_of(cc, cflags, src_text, name, work, src=None):
    """The call graph of src_text (or of the file src), compiled as NAME."""
    if src is None:
        src = os.path.join(work, name + ".c")
        with open(src, "w") as f:
            f.write(src_text)
    subprocess.run([cc] + cflags + ["-O2", "-fdump-ipa-cgraph", "-c", src, "-o",
                                    os.path.join(work, name + ".o")], check=True, cwd=work)
    return indirect_calls.cgraph_of(work, name)


def main(argv):
    root, cc, cflags = argv[0], argv[1], argv[2:]
    with tempfile.TemporaryDirectory() as work:
        g = graph_of(cc, [], FIXTURE, "fixture", work)
        check(g is not None, "the fixture's call-graph dump was written")
        names, _ = indirect_calls.ipa_targets(g, ("initializer", "TABLE"))
        check(names == ["on_a", "on_b"], "initializer TABLE -> on_a, on_b (got %r)" % names)
        names, _ = indirect_calls.ipa_targets(g, ("passed-to", "send_it"))
        check(names == ["write_one", "write_two"],
              "passed-to send_it -> write_one, write_two (got %r)" % names)

        renamed = (FIXTURE.replace("on_b", "on_beta").replace("write_two", "write_deux"))
        g = graph_of(cc, [], renamed, "renamed", work)
        names, _ = indirect_calls.ipa_targets(g, ("initializer", "TABLE"))
        check(names == ["on_a", "on_beta"], "a renamed handler is followed (got %r)" % names)
        names, _ = indirect_calls.ipa_targets(g, ("passed-to", "send_it"))
        check(names == ["write_deux", "write_one"], "a renamed writer is followed (got %r)" % names)

        moved = FIXTURE.replace("TABLE", "STATES").replace("send_it", "emit")
        g = graph_of(cc, [], moved, "moved", work)
        names, why = indirect_calls.ipa_targets(g, ("initializer", "TABLE"))
        check(names is None and "TABLE" in why, "a renamed table resolves nothing (%r)" % names)
        names, why = indirect_calls.ipa_targets(g, ("passed-to", "send_it"))
        check(names is None and "send_it" in why, "a renamed callee resolves nothing (%r)" % names)

        rules = indirect_calls.load_rules()
        engine = sorted((f, p, r) for (f, p), r in rules.items()
                        if r[0] in indirect_calls.IPA_KINDS)
        check(len(engine) >= 2, "the rules file has the engine's rules (%d)" % len(engine))
        for fname, pointer, rule in engine:
            path = os.path.join(root, "src", fname)
            with open(path) as f:
                text = f.read()
            g = graph_of(cc, cflags, None, "engine_" + fname[:-2], work, src=path)
            names, how = indirect_calls.ipa_targets(g, rule)
            check(names is not None and len(names) >= 2,
                  "src/%s: %s (%s) resolves to %r: %s" % (fname, pointer, " ".join(rule),
                                                        names, how))
            # Every target is a function of that file.
            for n in names or []:
                check(n in text, "src/%s: target %s is in the file" % (fname, n))
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    print("indirect_calls: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
