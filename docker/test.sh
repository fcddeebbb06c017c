#!/usr/bin/env bash
# docker/test.sh — the Docker front door, tested against a real engine:
# builds the harness and client images (BASE: debian:bookworm-slim when the
# engine has it, else a debootstrap image from this machine's mirror),
# checks the runtime image carries no compiler or -dev package, prints the
# image sizes, runs the compose matrix with host networking on loopback and
# checks its reports on the host, stops the harness container (under a
# second, event log flushed) and deploys the stack file on a one-node
# swarm. Installs docker.io, docker-compose and debootstrap when missing;
# starts dockerd (--iptables=false --storage-driver=vfs) when none runs and
# stops it again.
#
#   bash docker/test.sh            (as root; part of .ci/run)
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
tag="test"
project="rdpfaulttest"
work="$(mktemp -d /tmp/rdpfault-docker.XXXXXX)"
started_dockerd=""
swarm=""
fail() { echo "docker test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

cleanup() {
  set +e
  [ -n "$swarm" ] && { docker stack rm "$project" >/dev/null 2>&1; sleep 2; docker swarm leave --force >/dev/null 2>&1; }
  docker-compose -f docker/compose.yml -p "$project" down -v >/dev/null 2>&1
  docker rm -f "$project-stop" >/dev/null 2>&1
  if [ -n "$started_dockerd" ]; then
    kill "$started_dockerd" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$started_dockerd" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

step "packages"
missing=()
for p in docker.io docker-compose debootstrap libxml2-utils; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

step "engine"
if ! docker info >/dev/null 2>&1; then
  dockerd --iptables=false --storage-driver=vfs >"$work/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 100); do docker info >/dev/null 2>&1 && break; sleep 0.3; done
  docker info >/dev/null 2>&1 || { cat "$work/dockerd.log" >&2; fail "dockerd did not start"; }
fi
docker version --format 'engine {{.Server.Version}}'

step "base image"
# $BASE when given; else debian:bookworm-slim when the engine has it (or
# pulls it, with RDPFAULT_PULL=1: this machine may reach no registry);
# else one made with debootstrap from this machine's Debian mirror.
base="${BASE:-debian:bookworm-slim}"
if ! docker image inspect "$base" >/dev/null 2>&1; then
  if [ "${RDPFAULT_PULL:-0}" != 1 ] || ! timeout 60 docker pull -q "$base" >/dev/null 2>&1; then
    base="$(bash docker/base-image.sh)"
  fi
fi
echo "BASE=$base"

step "build"
t0=$(date +%s)
docker build -q --network host --build-arg BASE="$base" -f docker/Dockerfile -t "rdpfault:$tag" . >/dev/null
docker build -q --network host --build-arg BASE="$base" --build-arg HARNESS="rdpfault:$tag" \
  -f docker/Dockerfile.client -t "rdpfault-client:$tag" . >/dev/null
echo "built both images in $(( $(date +%s) - t0 )) s"
# A rebuild leaves the previous images of these tags untagged; with the vfs
# storage driver each is a full copy on disk. Remove ours, and only ours.
# The build stage's image is left untagged too (the legacy builder keeps it
# as a cache). Remove ours, and only ours.
for title in rdpfault rdpfault-client rdpfault-build; do
  docker image prune -f --filter "label=org.opencontainers.image.title=$title" >/dev/null
done
docker system df --format '{{.Type}}: {{.Size}} ({{.Reclaimable}} reclaimable)' 2>/dev/null || true
for i in "rdpfault:$tag" "rdpfault-client:$tag"; do
  printf '%-24s %6d MB\n' "$i" $(( $(docker image inspect -f '{{.Size}}' "$i") / 1000000 ))
done

step "runtime image: no compiler, no -dev package, not root"
dev=$(docker run --rm --entrypoint dpkg-query "rdpfault:$tag" -W -f '${Package}\n' \
      | grep -E -- '-dev$|^(gcc|g\+\+|cpp|clang|build-essential|make|cmake)(-[0-9.]+)?$' || true)
[ -z "$dev" ] || fail "the runtime image carries: $dev"
docker run --rm --entrypoint sh "rdpfault:$tag" -c 'command -v cc gcc c99 || true' | grep -q . \
  && fail "the runtime image has a C compiler"
user=$(docker image inspect -f '{{.Config.User}}' "rdpfault:$tag")
[ "$user" = rdpfault ] || fail "the image runs as '$user'"
docker image inspect -f '{{index .Config.Labels "org.opencontainers.image.title"}}' "rdpfault:$tag" \
  | grep -qx rdpfault || fail "no OCI title label"
echo "ok: $(docker run --rm --entrypoint dpkg-query "rdpfault:$tag" -W | wc -l) packages, user $user"

step "docker stop: under a second, event log flushed"
docker run -d --name "$project-stop" --network host -v "$work/stoplog:/var/log/rdpfault" \
  --user root --entrypoint sh "rdpfault:$tag" -c 'chown rdpfault /var/log/rdpfault' >/dev/null
docker wait "$project-stop" >/dev/null && docker rm "$project-stop" >/dev/null
base_port=$((20000 + RANDOM % 10000))
docker run -d --name "$project-stop" --network host -v "$work/stoplog:/var/log/rdpfault" "rdpfault:$tag" \
  serve --listen "127.0.0.1:$base_port" --port-base $((base_port + 1)) \
  --events /var/log/rdpfault/events.jsonl >/dev/null
for _ in $(seq 60); do
  [ "$(docker inspect -f '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$project-stop")" = healthy ] && break
  sleep 1
done
[ "$(docker inspect -f '{{.State.Health.Status}}' "$project-stop")" = healthy ] || fail "never healthy"
python3 - "$base_port" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(bytes.fromhex("030000130ee000000000000100080003000000"))  # X.224 CR, TLS|NLA
s.settimeout(5); print("confirm:", s.recv(19).hex()); s.close()
PY
t0=$(date +%s%N)
docker stop "$project-stop" >/dev/null
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
code=$(docker inspect -f '{{.State.ExitCode}}' "$project-stop")
last=$(tail -1 "$work/stoplog/events.jsonl")
echo "docker stop took $ms ms, exit $code; last event: ${last:0:80}"
[ "$ms" -lt 1000 ] || fail "docker stop took $ms ms"
[ "$code" = 0 ] || fail "exit code $code"
echo "$last" | grep -q '"event":"stop"' || fail "the event log does not end with stop"
grep -q '"event":"close"' "$work/stoplog/events.jsonl" || fail "the connection's close is not logged"
docker rm "$project-stop" >/dev/null

step "compose: harness + matrix, reports on the host"
mkdir -p "$work/reports"
t0=$(date +%s)
rc=0
TAG=$tag BASE=$base REPORTS="$work/reports" TIME_SCALE="${TIME_SCALE:-0.2}" JOBS=6 REPEAT=1 \
  docker-compose -f docker/compose.yml -p "$project" up --build --exit-code-from matrix \
  >"$work/compose.log" 2>&1 || rc=$?
echo "compose matrix: exit $rc in $(( $(date +%s) - t0 )) s"
grep -E " pass, |DRIFT" "$work/compose.log" | tail -5
if [ "$rc" != 0 ]; then
  tail -40 "$work/compose.log" >&2
  # What each cell that did not pass saw: the client's last output and the
  # harness's close of each of its connections (reason, bytes each way).
  [ -s "$work/reports/matrix.json" ] && python3 - "$work/reports/matrix.json" >&2 <<'PY'
import json, sys
for c in json.load(open(sys.argv[1]))["cells"]:
    if c["status"] in ("pass", "skipped"):
        continue
    print(f"--- {c['scenario']} x {c['client']}: {c['status']} {c.get('problems')}")
    print(f"exit {c.get('exit')}, {c.get('seconds')} s; output tail:\n{c.get('output_tail', '')}")
    for e in c.get("events", []):
        if e.get("event") in ("close", "deadline", "fault", "network-end"):
            print("  event", json.dumps({k: e[k] for k in e if k not in ("time", "ts_ms")}))
PY
  fail "the compose matrix exited $rc"
fi
for f in junit.xml matrix.json matrix.html; do [ -s "$work/reports/$f" ] || fail "no $f on the host"; done
xmllint --noout --schema client-tests/junit.xsd "$work/reports/junit.xml"
python3 - "$work/reports/matrix.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
s = d["summary"]
clients = {c["client"] for c in d["cells"] if c["status"] == "pass"}
print(f"report: {s['pass']} pass, {s['drift']} drift, {s['unstable']} unstable, {s['skipped']} skipped; clients {sorted(clients)}")
assert s["drift"] == 0 and s["unstable"] == 0 and s["error"] == 0 and s["pass"] > 100, s
assert {"xfreerdp", "rdesktop", "nmap", "impacket"} <= clients, clients
PY
docker-compose -f docker/compose.yml -p "$project" down -v >/dev/null 2>&1

step "swarm: the stack file on a one-node swarm"
docker swarm init --advertise-addr 127.0.0.1 --listen-addr 127.0.0.1:2377 >/dev/null
swarm=1
mkdir -p "$work/stack"
TAG=$tag REPORTS="$work/stack" SHARDS=2 SELECT='healthy-*,denied-*,cert-expired' TIME_SCALE=0.2 \
  docker stack deploy -c docker/stack.yml "$project" >/dev/null
for _ in $(seq 300); do
  states=$(docker stack ps "$project" --format '{{.CurrentState}}' 2>/dev/null || true)
  [ -n "$states" ] && ! echo "$states" | grep -qvE '^(Complete|Failed|Rejected|Shutdown)' && break
  sleep 2
done
docker stack ps "$project" --format '{{.Name}} {{.CurrentState}}'
for shard in 1 2; do
  [ -s "$work/stack/shard-$shard.json" ] || fail "no report from shard $shard (replica $shard)"
  xmllint --noout --schema client-tests/junit.xsd "$work/stack/shard-$shard.xml" 2>/dev/null ||
    fail "shard $shard's JUnit report does not validate"
done
# The shards' reports joined, by the image's own rdpfault.
docker run --rm --network host -v "$work/stack:/reports" --entrypoint /opt/rdpfault/bin/rdpfault \
  "rdpfault-client:$tag" matrix merge /reports/shard-1.json /reports/shard-2.json \
  --json-report /reports/matrix.json --junit /reports/junit.xml --html /reports/matrix.html ||
  fail "matrix merge of the shards failed (exit $?)"
xmllint --noout --schema client-tests/junit.xsd "$work/stack/junit.xml" 2>/dev/null ||
  fail "the merged JUnit report does not validate"
python3 - "$work/stack" <<'PY' || fail "the merged report is not the two shards' cells"
import json, sys
d = sys.argv[1]
shards = [json.load(open(f"{d}/shard-{i}.json")) for i in (1, 2)]
merged = json.load(open(f"{d}/matrix.json"))
keys = lambda r: {(c["scenario"], c["client"]) for c in r["cells"]}
a, b = keys(shards[0]), keys(shards[1])
assert a and b and not a & b, "the shards overlap or one is empty"
assert keys(merged) == a | b, "the merged report lacks cells"
s = merged["summary"]
print(f"swarm: 2 shards ({len(a)} + {len(b)} cells) merged: {s['pass']} pass, {s['drift']} drift, "
      f"{s['error']} error; shards {merged['meta']['shards']}")
assert s["drift"] == 0 and s["unstable"] == 0 and s["error"] == 0 and s["pass"] > 0, s
assert merged["meta"]["shards"] == ["1/2", "2/2"], merged["meta"]["shards"]
PY
echo "docker test: all passed"
