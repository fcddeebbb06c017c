#!/usr/bin/env bash
# handshake.sh — the handshake benchmark: how many full handshakes per second
# `rdpfault serve` (X.224 CR/CC + TLS, scenario healthy-tls) completes, and
# its CPU cost per connection, next to `openssl s_server` doing only the TLS
# handshake with the same certificate and key. Prints figures; not a test.
#
# usage: bench/handshake.sh [BUILD_DIR]        (default ./build)
# environment (all optional):
#   RDPFAULT_BENCH_PORT1        rdpfault's port (default 33990)
#   RDPFAULT_BENCH_PORT2        openssl s_server's port (default 33991)
#   RDPFAULT_BENCH_CONNECTIONS  measured connections per server (default 2000)
#   RDPFAULT_BENCH_CONCURRENCY  connections in flight (default 8)
#   RDPFAULT_BENCH_WARMUP       warm-up connections per server (default 50)
#   RDPFAULT_BENCH_DURATION_MAX cap on each measured run, seconds (default 120)
#   RDPFAULT_BENCH_TLS_MAX      1.2 or 1.3: highest TLS version offered
#   RDPFAULT_BENCH_KEEP=1       keep the work directory (logs, events) at exit
# Exit status: 0 when every measured connection succeeded, 1 otherwise.
# Everything listens and connects on 127.0.0.1 only.
set -euo pipefail

BUILD=${1:-./build}
PORT1=${RDPFAULT_BENCH_PORT1:-33990}
PORT2=${RDPFAULT_BENCH_PORT2:-33991}
CONNECTIONS=${RDPFAULT_BENCH_CONNECTIONS:-2000}
CONCURRENCY=${RDPFAULT_BENCH_CONCURRENCY:-8}
WARMUP=${RDPFAULT_BENCH_WARMUP:-50}
DURATION_MAX=${RDPFAULT_BENCH_DURATION_MAX:-120}
TLS_MAX=${RDPFAULT_BENCH_TLS_MAX:-}
KEEP=${RDPFAULT_BENCH_KEEP:-0}
HOST=127.0.0.1
START_WAIT_STEPS=100 # x 0.1 s: how long a server may take to listen
STOP_WAIT_STEPS=50   # x 0.1 s: how long a server may take to exit on SIGTERM

die() {
	echo "handshake.sh: $*" >&2
	exit 1
}

for v in PORT1 PORT2 CONNECTIONS CONCURRENCY WARMUP DURATION_MAX; do
	[[ ${!v} =~ ^[1-9][0-9]{0,6}$ ]] || die "$v must be a positive integer, not '${!v}'"
done
((PORT1 <= 65535 && PORT2 <= 65535 && PORT1 != PORT2)) || die "bad ports $PORT1/$PORT2"
[[ -z $TLS_MAX || $TLS_MAX == 1.2 || $TLS_MAX == 1.3 ]] || die "RDPFAULT_BENCH_TLS_MAX: 1.2 or 1.3"

RDPFAULT=$BUILD/rdpfault
BENCH=$BUILD/bench/handshake_bench
[[ -x $RDPFAULT ]] || die "rdpfault is not built: no executable $RDPFAULT (cmake --build $BUILD --target rdpfault)"
[[ -x $BENCH ]] || die "handshake_bench is not built: no executable $BENCH (cmake --build $BUILD --target handshake_bench)"
command -v openssl >/dev/null || die "openssl (the command-line tool) is not installed"

# Is something listening on 127.0.0.1:$1 (or on any address, same port)?
listening() {
	if command -v ss >/dev/null; then
		[[ -n $(ss -ltnH "sport = :$1") ]]
	else
		# Fallback: a bare TCP connect, which the server will see.
		(exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
	fi
}

# PIDs of the servers we started and have not yet stopped (and reaped:
# a reaped PID may be reused, so it must never be signalled again).
RPID=
SPID=
BPID= # the running handshake_bench
WORK=

# Stops one process we started: SIGTERM, a bounded wait, then SIGKILL.
stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < STOP_WAIT_STEPS; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
}

# shellcheck disable=SC2317 # invoked from the EXIT trap
cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in $BPID $RPID $SPID; do
		stop_pid "$pid"
	done
	if [[ -n $WORK ]]; then
		if [[ $KEEP == 1 ]]; then
			echo "handshake.sh: work directory kept: $WORK" >&2
		else
			rm -rf -- "$WORK"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Waits (bounded) until port $2 accepts, failing if process $1 dies first.
wait_listening() {
	local pid=$1 port=$2 log=$3 i
	for ((i = 0; i < START_WAIT_STEPS; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			tail -n 20 "$log" >&2 || true
			die "the server (pid $pid) exited before listening on $HOST:$port; log above"
		fi
		listening "$port" && return 0
		sleep 0.1
	done
	tail -n 20 "$log" >&2 || true
	die "nothing listening on $HOST:$port after $((START_WAIT_STEPS / 10)) s; log above"
}

# The value of key $1 in the key=value line $2 ("" when absent).
kv() {
	awk -v k="$1" '{ for (i = 1; i <= NF; i++) { n = index($i, "=");
		if (n && substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' <<<"$2"
}

TLS_ARGS=()
if [[ -n $TLS_MAX ]]; then
	TLS_ARGS=(--tls-max "$TLS_MAX")
fi

# Runs handshake_bench with output to $1.out/.err under $WORK. In the
# background plus `wait`, so that a signal to this script is acted on at
# once (and the bench stopped) rather than after the bench ends.
run_bench() {
	local out=$WORK/bench-$1 rc=0
	shift
	"$BENCH" --host "$HOST" --concurrency "$CONCURRENCY" "${TLS_ARGS[@]}" "$@" \
		</dev/null >"$out.out" 2>"$out.err" &
	BPID=$!
	wait "$BPID" || rc=$?
	BPID=
	return "$rc"
}

# Runs the warm-up then the measured run against one server. Sets LINE
# (the key=value figures) and returns handshake_bench's exit status.
LINE=
measure() {
	local name=$1 mode=$2 port=$3 pid=$4 out rc=0
	if ! run_bench "$name-warmup" --port "$port" --mode "$mode" --connections "$WARMUP"; then
		echo "handshake.sh: warning: $name warm-up had failures:" >&2
		tail -n 2 "$WORK/bench-$name-warmup.out" "$WORK/bench-$name-warmup.err" >&2 || true
	fi
	run_bench "$name" --port "$port" --mode "$mode" --connections "$CONNECTIONS" \
		--duration-max "$DURATION_MAX" --server-pid "$pid" || rc=$?
	out=$(cat "$WORK/bench-$name.out")
	echo "$out"
	if [[ -s $WORK/bench-$name.err ]]; then
		sed 's/^/  /' "$WORK/bench-$name.err" >&2
	fi
	LINE=$(grep -v '^#' <<<"$out" | tail -n 1)
	return "$rc"
}

for p in "$PORT1" "$PORT2"; do
	! listening "$p" || die "port $p is already in use (set RDPFAULT_BENCH_PORT1/PORT2)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdpfault-bench.XXXXXX") # mode 0700
DIR=$WORK/runtime
mkdir -m 0700 "$DIR"
umask 077

# (a) rdpfault, scenario healthy-tls.
"$RDPFAULT" serve --listen "$HOST:$PORT1=healthy-tls" --runtime-dir "$DIR" \
	--events "$DIR/events.jsonl" </dev/null >"$WORK/rdpfault.log" 2>&1 &
RPID=$!
wait_listening "$RPID" "$PORT1" "$WORK/rdpfault.log"
CRT=$DIR/certs/healthy-tls.crt
KEY=$DIR/certs/healthy-tls.key
for ((i = 0; i < 20; i++)); do # they should be there before it listens; allow 2 s
	[[ -s $CRT && -s $KEY ]] && break
	sleep 0.1
done
[[ -s $CRT && -s $KEY ]] ||
	die "rdpfault is listening but did not write its certificate and key ($CRT, $KEY)"
# The harness may remove its runtime files when it exits; s_server needs them later.
cp -- "$CRT" "$WORK/served.crt"
cp -- "$KEY" "$WORK/served.key"

echo "== rdpfault serve (healthy-tls), pid $RPID, $HOST:$PORT1: X.224 CR/CC + TLS"
rc1=0
measure rdpfault x224 "$PORT1" "$RPID" || rc1=$?
L1=$LINE
kill -0 "$RPID" 2>/dev/null || echo "handshake.sh: warning: rdpfault exited during the run" >&2
# Measure s_server alone on the machine.
stop_pid "$RPID"
RPID=

# (c) openssl s_server with the same certificate and key. -naccept leaves
# slack so it is still alive when handshake_bench reads its /proc figures.
openssl s_server -accept "$HOST:$PORT2" -cert "$WORK/served.crt" -key "$WORK/served.key" \
	-quiet -naccept $((WARMUP + CONNECTIONS + 10)) </dev/null >"$WORK/s_server.log" 2>&1 &
SPID=$!
wait_listening "$SPID" "$PORT2" "$WORK/s_server.log"

echo "== openssl s_server, pid $SPID, $HOST:$PORT2: TLS only"
rc2=0
measure s_server tls "$PORT2" "$SPID" || rc2=$?
L2=$LINE
stop_pid "$SPID"
SPID=

# (d) the table.
echo
printf '%-16s %-8s %11s %13s %14s %8s %8s %8s %9s %7s\n' server tls ok/total handshakes/s \
	"srv cpu ms/c" "srv cpu%" p50_ms p99_ms rss_kb threads
for row in "rdpfault:$L1" "s_server:$L2"; do
	name=${row%%:*}
	l=${row#*:}
	printf '%-16s %-8s %11s %13s %14s %8s %8s %8s %9s %7s\n' "$name" "$(kv tls_version "$l")" \
		"$(kv ok "$l")/$(kv connections "$l")" "$(kv rate_per_s "$l")" \
		"$(kv server_cpu_ms_per_conn "$l")" "$(kv server_cpu_pct "$l")" "$(kv p50_ms "$l")" \
		"$(kv p99_ms "$l")" "$(kv server_rss_kb "$l")" "$(kv server_threads "$l")"
done
echo "(concurrency $CONCURRENCY, full handshakes, no resumption; rdpfault adds the X.224 exchange)"

((rc1 == 0 && rc2 == 0)) || exit 1
exit 0
