"""Call-graph helpers shared by the stack reports (tools/stack-report.sh's
analysis and tools/stack_whole.py).

calls: {caller: [(callee or None, label, location), ...]}; funcs: {name:
{"frame": bytes, ...}}; nodes: the functions to walk (others are leaves
left out)."""
import re
import sys


def cycles(calls, nodes):
    """Recursion among nodes: the strongly connected components with a
    cycle (Tarjan), each a list of functions."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]
    sys.setrecursionlimit(100000)

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w, _, _ in calls.get(v, []):
            if w is None or w not in nodes:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or any(w == v for w, _, _ in calls.get(v, [])):
                out.append(comp)
    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


def longest(funcs, calls, entry, nodes):
    """Deepest stack from entry: the longest path, summing frames, through
    nodes. Back edges (recursion) are dropped, so each function counts once
    per path. Returns (dist, pred, back): bytes down to each reached
    function, its predecessor on that path, the dropped edges."""
    order, seen, onpath, back = [], set(), set(), set()

    def dfs(v):
        seen.add(v)
        onpath.add(v)
        for w, _, _ in calls.get(v, []):
            if w is None or w not in nodes:
                continue
            if w in onpath:
                back.add((v, w))
                continue
            if w not in seen:
                dfs(w)
        onpath.discard(v)
        order.append(v)
    sys.setrecursionlimit(100000)
    dfs(entry)
    order.reverse()
    dist, pred = {entry: funcs[entry]["frame"]}, {entry: None}
    for v in order:
        if v not in dist:
            continue
        for w, _, _ in calls.get(v, []):
            if w is None or w not in nodes or (v, w) in back:
                continue
            d = dist[v] + funcs[w]["frame"]
            if d > dist.get(w, -1):
                dist[w], pred[w] = d, v
    return dist, pred, back


NODE_RE = re.compile(r'node: \{ title: "([^"]*)" label: "([^"]*)"')
EDGE_RE = re.compile(r'edge: \{ sourcename: "([^"]*)" targetname: "([^"]*)"(?: label: "([^"]*)")?')


def read_ci(path):
    """The records of one GCC -fcallgraph-info=su file:
    ("node", title, name, source file, frame bytes, frame qualifier) for each
    function compiled in it, ("edge", caller, callee, call location) for
    each call."""
    with open(path) as f:
        for line in f:
            m = NODE_RE.match(line)
            if m:
                parts = m.group(2).split("\\n")
                if len(parts) >= 3:
                    sm = re.match(r"(\d+) bytes \(([^)]*)\)", parts[2])
                    yield ("node", m.group(1), parts[0], parts[1].rsplit(":", 2)[0],
                           int(sm.group(1)), sm.group(2))
                continue
            m = EDGE_RE.match(line)
            if m:
                yield ("edge", m.group(1), m.group(2), m.group(3) or "")
