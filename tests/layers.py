#!/usr/bin/env python3
"""layers — the architecture, written down where it cannot rot.

server/ and faults/ are in layers that depend only downward. Each folder is
a layer (docs/design.md draws them); every quoted include names its folder
("wire/x224.h", "faults/nego.h"), so an upward one shows in a diff. This
check fails, naming file and line, on

- an include that names no folder, or no file of the tree;
- an include of a higher layer, or of a sibling folder on the same layer;
- an include cycle between modules (a module is NAME.c with NAME.h), in a
  folder or across folders.

    python3 tests/layers.py [ROOT]        exit 0: clean; 1: problems (listed)
"""

import os
import re
import sys

# (folder, level). Folders on one level do not include each other.
LAYERS = [
    ("server/base", 0),       # log, events, phases, clock, text helpers: nothing of ours
    ("server/wire", 1),       # bytes in, structs out, no I/O: every read through the cursor
    ("faults/toxics", 2),     # network conditions: one a file, on segments of a stream
    ("faults", 2),            # one fault primitive a file
    ("server/freerdp", 2),    # the FreeRDP 2.11 / OpenSSL 3 interposition, behind hook tables
    ("server/catalog", 3),    # the scenario model: schema, loading, validation, rendering
    ("server/transport", 4),  # multitransport: the bootstrap and the UDP side
    ("server/engine", 5),     # one connection's life: conn, relay, peer, desktop
    ("server/frontdoor", 6),  # listeners, admission, selection, the harness loop
    ("server/control", 7),    # the control API: calls the front door and the catalog
    ("server/cli", 8),        # main, the command line, the subcommands
]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(rel):
    for folder, level in LAYERS:
        if rel.startswith(folder + "/"):
            return folder, level
    return None, None


def sources(root):
    out = []
    for folder, _ in LAYERS:
        d = os.path.join(root, folder)
        if not os.path.isdir(d):
            continue
        for name in sorted(os.listdir(d)):
            if name.endswith((".c", ".h")):
                out.append(f"{folder}/{name}")
    return out


def resolve(root, inc):
    """The tree file an include names: relative to server/, or to the root."""
    for base in ("server", ""):
        rel = os.path.normpath(os.path.join(base, inc)) if base else os.path.normpath(inc)
        if os.path.isfile(os.path.join(root, rel)):
            return rel
    return None


def module(rel):
    return rel[:-2] if rel.endswith((".c", ".h")) else rel


def check(root):
    problems = []
    edges = {}   # module -> {module: (file, line)}
    stray = []
    for rel in sources(root):
        folder, level = layer_of(rel)
        with open(os.path.join(root, rel), errors="replace") as f:
            lines = f.read().splitlines()
        for n, ln in enumerate(lines, 1):
            m = INCLUDE.match(ln)
            if not m:
                continue
            inc = m.group(1)
            if "/" not in inc:
                problems.append(f"{rel}:{n}: #include \"{inc}\" names no folder "
                                f"(write it as \"FOLDER/{inc}\": the layer shows at the include)")
                continue
            target = resolve(root, inc)
            if not target:
                problems.append(f"{rel}:{n}: #include \"{inc}\" is no file of the tree")
                continue
            tfolder, tlevel = layer_of(target)
            if tfolder is None:
                problems.append(f"{rel}:{n}: #include \"{inc}\" is outside every layer")
                continue
            if tfolder != folder:
                if tlevel > level:
                    problems.append(f"{rel}:{n}: includes {inc} ({tfolder}, layer {tlevel}) "
                                    f"from {folder} (layer {level}): layers depend only "
                                    "downward")
                elif tlevel == level:
                    problems.append(f"{rel}:{n}: includes {inc} ({tfolder}) from {folder}: "
                                    f"folders on one layer ({level}) do not include each other")
            a, b = module(rel), module(target)
            if a != b:
                edges.setdefault(a, {}).setdefault(b, (rel, n))
    for cyc in cycles(edges):
        path = " -> ".join(cyc + [cyc[0]])
        where = "; ".join(f"{edges[x][y][0]}:{edges[x][y][1]}"
                          for x, y in zip(cyc, cyc[1:] + cyc[:1]))
        problems.append(f"include cycle: {path} ({where})")
    return problems + stray


def cycles(edges):
    """One cycle per strongly connected component of more than one module."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, {})):
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
            if len(comp) > 1:
                out.append(one_cycle(edges, set(comp)))

    nodes = sorted(set(edges) | {w for v in edges.values() for w in v})
    sys.setrecursionlimit(10000)
    for v in nodes:
        if v not in index:
            strong(v)
    return out


def one_cycle(edges, comp):
    """A cycle through the component, by a walk that stays inside it."""
    start = min(comp)
    path, seen = [start], {start}
    while True:
        nxt = sorted(w for w in edges.get(path[-1], {}) if w in comp)
        back = [w for w in nxt if w == start]
        if back and len(path) > 1:
            return path
        fresh = [w for w in nxt if w not in seen]
        if not fresh:
            i = path.index(nxt[0]) if nxt and nxt[0] in path else 0
            return path[i:]
        path.append(fresh[0])
        seen.add(fresh[0])


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check(root)
    for p in problems:
        print(p)
    n = len(sources(root))
    print(f"layers: {n} files, {len(problems)} problem{'s' if len(problems) != 1 else ''}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
