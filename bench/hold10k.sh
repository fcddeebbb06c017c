#!/usr/bin/env bash
# Holds 10,000 concurrent connections in backlog-full-hold (every one
# refused by policy `hold`: a bare socket in the event loop) and prints the
# harness's RSS, open fds, threads and accept errors before and while
# holding them. Target: < 200 MB RSS, 0 accept errors, a thread count that
# does not grow with the held connections.
#
#   bench/hold10k.sh [BUILD_DIR] [COUNT]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
build="${1:-$here/build}"
count="${2:-10000}"
# Each side needs an fd per connection: raise the soft limit as far as the
# hard one allows (the client checks it is enough).
want=$((count + 1024))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want"
out="$(mktemp -d)"
port=$((20000 + RANDOM % 10000))
"$build/rdpfault" serve --listen "127.0.0.1:$port=backlog-full-hold" --events "$out/events.jsonl" \
  --set backlog-full-hold.admission.prelogon_timeout_ms=300000 -q &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$out"' EXIT
for _ in $(seq 100); do grep -q '"certificates"' "$out/events.jsonl" 2>/dev/null && break; sleep 0.1; done
rc=0
python3 "$here/bench/hold_clients.py" --port "$port" --count "$count" --pid "$pid" \
  --events "$out/events.jsonl" || rc=$?
exit $rc
