#!/usr/bin/env bash
# The matrix benchmark: the whole catalog against xfreerdp, rdesktop and
# nmap, as QA runs it, with the server's waits scaled down. Prints the wall
# time and, per client, how many cells ran and their time (total, mean,
# slowest). Target: under 120 s on a 2-core machine, every cell matching.
#
#   bench/matrix.sh [BUILD_DIR] [extra matrix options]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
shift || true
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
rc=0
"$build/rdpfault" matrix --clients xfreerdp,rdesktop,nmap --jobs 6 --time-scale 0.2 \
  --json-report "$out/matrix.json" "$@" 2> "$out/progress.txt" || rc=$?
tail -1 "$out/progress.txt"
python3 - "$out/matrix.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
print(f"wall time: {s['wall_s']} s for {s['cells']} cells "
      f"({s['pass']} pass, {s['drift']} drift, {s['unstable']} unstable, {s['skipped']} without expectation)")
print(f"{'client':<10} {'cells':>5} {'total s':>8} {'mean s':>7} {'max s':>6}")
for c, v in s["client_seconds"].items():
    print(f"{c:<10} {v['cells']:>5} {v['total']:>8} {v['mean']:>7} {v['max']:>6}")
for c in d["cells"]:
    if c["status"] in ("drift", "unstable", "error"):
        print(f"{c['status']}: {c['scenario']} x {c['client']}: "
              f"{'; '.join(c.get('problems') or [c.get('why', '')])}")
PY
exit $rc
