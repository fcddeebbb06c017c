#!/usr/bin/env bash
# The stability benchmark: the whole catalog against xfreerdp, rdesktop and
# nmap, every cell run REPEAT times (default 5), once on an idle machine
# and once with the CPU contended (LOAD busy loops, default one per core).
# Prints, per pass: cells, runs per cell, unstable cells (two outcomes for
# one cell), drifted cells and the wall time; then one single-run pass's
# wall time (the goal: 0 unstable, 0 drifted; one pass <= 120 s on 2 cores).
#
#   bench/matrix-stability.sh [BUILD_DIR] [REPEAT] [LOAD]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
repeat="${2:-5}"
load="${3:-$(nproc)}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
clients=xfreerdp,rdesktop,nmap
common=(--clients "$clients" --jobs 6 --time-scale 0.2)

pass() { # NAME, extra options...
  local name=$1
  shift
  local rc=0
  "$build/rdpfault" matrix "${common[@]}" --json-report "$out/$name.json" "$@" \
    2> "$out/$name.txt" || rc=$?
  python3 - "$out/$name.json" "$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s, m = d["summary"], d["meta"]
ran = [c for c in d["cells"] if c["status"] != "skipped"]
print(f"{sys.argv[2]:<8} cells {len(ran):>4}  runs/cell {m['repeat']:>2}  load {m['load']:>2}  "
      f"unstable {s['unstable']:>2}  drifted {s['drift']:>2}  errors {s['error']:>2}  "
      f"wall {s['wall_s']:>6.1f} s")
for c in ran:
    if c["status"] in ("unstable", "drift", "error"):
        print(f"  {c['status']}: {c['scenario']} x {c['client']}: "
              f"{'; '.join(c.get('problems') or [c.get('why', '')])}")
PY
  return $rc
}

rc=0
pass single || rc=1
pass idle --repeat "$repeat" || rc=1
pass loaded --repeat "$repeat" --load "$load" || rc=1
exit $rc
