#!/usr/bin/env bash
# perf.sh — every performance figure of rdpfault side by side, in one run,
# with one client program (bench/handshake_bench) at one concurrency for one
# duration per row: the start time; fast-fail scenarios against a raw epoll
# accept+close server; TLS handshakes against `openssl s_server` with the
# same certificate; TLS on one core and on two; RSS over many TLS
# connections; held connections. Machines are noisy: the ratios are the
# figures that count. Prints figures; not a test.
#
#   bench/perf.sh [BUILD_DIR]                           (default ./build)
# environment (all optional):
#   RDPFAULT_PERF_SECONDS      each rate row's duration (default 10)
#   RDPFAULT_PERF_CONCURRENCY  connections in flight (default 8)
#   RDPFAULT_PERF_TLS_SOAK     TLS connections for the RSS-growth row (default 20000;
#                              100000 for the goal's figure; 0: skip)
#   RDPFAULT_PERF_HOLD         held connections (default 50000; 0: skip)
#   RDPFAULT_PERF_SOURCES      source addresses for them (default 4: 127.0.0.1-4)
#   RDPFAULT_PERF_NETWORK      1 (default): the network conditions' figures too
#                              (bench/netcond_bench: latency error at 1,000
#                              connections, bandwidth accuracy, throughput,
#                              black-hole RSS); 0: skip
# Listens and connects on loopback only; every server started is stopped.
set -euo pipefail

BUILD=${1:-./build}
SECS=${RDPFAULT_PERF_SECONDS:-10}
CONC=${RDPFAULT_PERF_CONCURRENCY:-8}
SOAK=${RDPFAULT_PERF_TLS_SOAK:-20000}
HOLD=${RDPFAULT_PERF_HOLD:-50000}
SOURCES=${RDPFAULT_PERF_SOURCES:-4}
HERE=$(cd "$(dirname "$0")/.." && pwd)
RDPFAULT=$BUILD/rdpfault
BENCH=$BUILD/bench/handshake_bench
RAW=$BUILD/bench/raw_server
NETBENCH=$BUILD/bench/netcond_bench
NETWORK=${RDPFAULT_PERF_NETWORK:-1}
for x in "$RDPFAULT" "$BENCH" "$RAW"; do
	[[ -x $x ]] || {
		echo "perf.sh: $x is not built (cmake --build $BUILD)" >&2
		exit 1
	}
done
command -v openssl >/dev/null || {
	echo "perf.sh: openssl is not installed" >&2
	exit 1
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rdpfault-perf.XXXXXX")
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	rm -rf -- "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
kv() { tr ' ' '\n' <<<"$2" | awk -F= -v k="$1" '$1 == k {print $2}'; }
ms_now() { date +%s%3N; }

# Starts `rdpfault serve` for one scenario on a fresh port; sets SPORT, SPID.
serve() {
	local name=$1 dir=$WORK/$1-$RANDOM
	shift
	mkdir -m 0700 "$dir"
	SPORT=$(free_port)
	"${@}" "$RDPFAULT" serve --listen "127.0.0.1:$SPORT=$name" --runtime-dir "$dir/rt" \
		--events "$dir/events.jsonl" --ready-file "$dir/ready" -q </dev/null &
	SPID=$!
	PIDS+=("$SPID")
	# Ready, and its certificates made (the maker runs once listening):
	# no row measures the maker.
	for _ in $(seq 200); do
		[[ -s $dir/ready ]] && grep -q '"certificates"' "$dir/events.jsonl" && break
		sleep 0.05
	done
	[[ -s $dir/ready ]] || {
		echo "perf.sh: rdpfault ($name) did not get ready" >&2
		exit 1
	}
	SDIR=$dir
}

stop() {
	kill -TERM "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
}

# One rate row: the client against PORT for SECS seconds. Sets LINE.
load() {
	local mode=$1 port=$2 pid=$3
	shift 3
	LINE=$("$BENCH" --mode "$mode" --port "$port" --connections 1000000 --concurrency "$CONC" \
		--duration-max "$SECS" --server-pid "$pid" "$@" 2>/dev/null | grep -v '^#' | tail -1 || true)
}

rows=()
row() { rows+=("$(printf '%-46s %14s %-30s %s' "$1" "$2" "$3" "$4")"); }

echo "== start: serve with the whole catalog -> ready file (5 runs)"
starts=()
for _ in 1 2 3 4 5; do
	d=$WORK/start-$RANDOM
	mkdir "$d"
	t0=$(ms_now)
	"$RDPFAULT" serve --listen 127.0.0.1:0 --port-base 0 --runtime-dir "$d/rt" --ready-file "$d/ready" \
		--events "$d/ev" -q >/dev/null </dev/null &
	p=$!
	while [[ ! -s $d/ready ]]; do sleep 0.002; done
	starts+=($(($(ms_now) - t0)))
	stop "$p"
done
start_ms=$(printf '%s\n' "${starts[@]}" | sort -n | sed -n 3p)
row "serve start -> ready (median of 5)" "$start_ms ms" "runs: ${starts[*]}" "goal <= 150 ms"

# One row for bench/raw_server in MODE (close, reset, answer), labelled LABEL; sets RAWRATE.
raw_row() {
	local mode=$1 label=$2 port rpid
	port=$(free_port)
	"$RAW" "$port" "$mode" &
	rpid=$!
	PIDS+=("$rpid")
	sleep 0.2
	load cut "$port" "$rpid"
	RAWRATE=$(kv rate_per_s "$LINE")
	row "$label" "$RAWRATE/s" "cpu $(kv server_cpu_ms_per_conn "$LINE") ms/conn" ""
	stop "$rpid"
}

echo "== raw epoll accept+close"
raw_row close "raw accept+close (cut client)"
raw=$RAWRATE
# The same wire behaviour as reset-at-x224-request and nothing else: the
# kernel's share of a reset (sent, and on loopback delivered, in the
# closing process's time) that no server avoids.
raw_row reset "raw accept, read, reset (cut client)"
rawr=$RAWRATE
# neg-inconsistent-flags' wire behaviour and nothing else: read, the
# failure with its FIN in one segment, the client's own close awaited (one
# more round trip than accept+close).
raw_row answer "raw accept, read, answer+FIN, await close"
rawa=$RAWRATE

for sc in reset-at-x224-request neg-inconsistent-flags; do
	echo "== $sc"
	serve "$sc"
	b=$(rss_kb "$SPID")
	load cut "$SPORT" "$SPID" --cookie "$sc"
	r=$(kv rate_per_s "$LINE")
	pct=$(awk -v a="$r" -v b="$raw" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
	# ... and against the raw server that does the same on the wire
	same=$rawr what="raw reset"
	[[ $sc == neg-inconsistent-flags ]] && same=$rawa what="raw answer"
	pctr=$(awk -v a="$r" -v b="$same" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
	row "$sc" "$r/s" "$pct% of raw close, $pctr% of $what; cpu $(kv server_cpu_ms_per_conn "$LINE") ms; RSS $((b / 1024))->$(($(rss_kb "$SPID") / 1024)) MB; ok $(kv ok "$LINE") fail $(kv failed "$LINE")" "goal >= 80%"
	stop "$SPID"
done

echo "== openssl s_server (healthy-tls's certificate and key)"
serve healthy-tls
crt=$SDIR/rt/certs/healthy-tls.crt
for _ in $(seq 100); do [[ -s $crt ]] && break; sleep 0.05; done
cp "$crt" "$WORK/s.crt"
cp "$SDIR/rt/certs/healthy-tls.key" "$WORK/s.key"
stop "$SPID"
port=$(free_port)
openssl s_server -accept "127.0.0.1:$port" -cert "$WORK/s.crt" -key "$WORK/s.key" -quiet \
	</dev/null >/dev/null 2>&1 &
opid=$!
PIDS+=("$opid")
sleep 0.5
load tls "$port" "$opid"
ossl=$(kv rate_per_s "$LINE")
row "openssl s_server, TLS only" "$ossl/s" "cpu $(kv server_cpu_ms_per_conn "$LINE") ms/conn; $(kv tls_version "$LINE")" ""
stop "$opid"

for sc in healthy-tls cert-expired; do
	echo "== $sc: X.224 + TLS"
	serve "$sc"
	load x224 "$SPORT" "$SPID" --cookie "$sc" --timeout-ms 20000
	r=$(kv rate_per_s "$LINE")
	pct=$(awk -v a="$r" -v b="$ossl" 'BEGIN { printf "%.0f", (b > 0 ? 100 * a / b : 0) }')
	row "$sc, X.224 + TLS" "$r/s" "$pct% of s_server; cpu $(kv server_cpu_ms_per_conn "$LINE") ms; ok $(kv ok "$LINE") fail $(kv failed "$LINE")" "goal >= 100%"
	stop "$SPID"
done

echo "== healthy-tls on one core, then two (the server pinned)"
for cores in 0 0,1; do
	serve healthy-tls taskset -c "$cores"
	load x224 "$SPORT" "$SPID" --cookie healthy-tls --timeout-ms 20000
	eval "tls_$(tr -d , <<<"$cores")=$(kv rate_per_s "$LINE")"
	scpu=$(kv server_cpu_ms_per_conn "$LINE") ccpu=$(kv client_cpu_ms_per_conn "$LINE")
	stop "$SPID"
done
# shellcheck disable=SC2154 # set by the eval above
ratio=$(awk -v a="$tls_01" -v b="$tls_0" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')
# The load client runs on the same cores: how busy both were in the
# two-core row, and the most its CPU leaves room for (two cores shared by
# server and client against one core for the server alone).
busy=$(awk -v r="$tls_01" -v s="$scpu" -v c="$ccpu" -v n="$(nproc)" \
	'BEGIN { printf "%.0f", r * (s + c) / 10 / n }')
ceil=$(awk -v s="$scpu" -v c="$ccpu" -v n="$(nproc)" \
	'BEGIN { printf "%.2f", (s + c > 0 ? n * s / (s + c) : 0) }')
# shellcheck disable=SC2154
row "healthy-tls, 2 cores / 1 core" "${ratio}x" "$tls_01/s vs $tls_0/s; cores ${busy}% busy (server $scpu + client $ccpu ms/conn): at most ${ceil}x here" "goal >= 1.8x"

if ((SOAK > 0)); then
	echo "== RSS over $SOAK TLS connections (healthy-tls)"
	serve healthy-tls
	b=$(rss_kb "$SPID")
	"$BENCH" --mode x224 --port "$SPORT" --cookie healthy-tls --connections "$SOAK" \
		--concurrency "$CONC" --duration-max 3600 --timeout-ms 20000 >/dev/null 2>&1 || true
	sleep 3 # the harness gives freed memory back once idle
	a=$(rss_kb "$SPID")
	row "RSS growth over $SOAK TLS connections" "$(((a - b) / 1024)) MB" "$((b / 1024)) -> $((a / 1024)) MB" "goal <= 10 MB (100,000)"
	stop "$SPID"
fi

if ((HOLD > 0)); then
	echo "== holding $HOLD connections from $SOURCES source addresses"
	want=$((HOLD + 1024))
	hard=$(ulimit -Hn)
	goal=$HOLD
	# Each side needs a descriptor per connection: past the hard limit (which
	# only a privileged process may raise), hold what fits and say so.
	if [[ $hard != unlimited ]] && ((hard < want)); then
		want=$hard
		HOLD=$((hard - 1100))
		echo "  the hard limit of open files is $hard here: holding $HOLD, not $goal"
	fi
	ulimit -n "$want"
	serve backlog-full-hold
	out=$(python3 "$HERE/bench/hold_clients.py" --port "$SPORT" --count "$HOLD" --pid "$SPID" \
		--events "$SDIR/events.jsonl" --sources "$SOURCES" --rss-bound-mb 300 --max-seconds 300 || true)
	echo "$out" | sed 's/^/  /'
	held=$(grep -o 'opened: [0-9]*' <<<"$out" | awk '{print $2}' || true)
	rss=$(awk '/^holding/ {print $3}' <<<"$out" || true)
	errs=$(grep -o 'accept errors [0-9]*' <<<"$out" | awk '{print $3}' || true)
	row "held connections ($SOURCES sources)" "${held:-0}" "RSS ${rss:-?} MB, accept errors ${errs:-?}; ulimit -Hn $hard" "goal $goal, < 300 MB, 0 errors"
	stop "$SPID"
fi

echo
printf '%-46s %14s %-30s %s\n' figure value detail goal
printf '%s\n' "${rows[@]}"
echo "(client: handshake_bench, concurrency $CONC, $SECS s a row; $(nproc) cores)"

if ((NETWORK)) && [[ -x $NETBENCH ]]; then
	echo
	echo "== network conditions (bench/netcond_bench, the harness's own queue over sockets)"
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	"$NETBENCH" latency 1000 100 6 | sed 's/^/  /'
	"$NETBENCH" bandwidth 3 | sed 's/^/  /'
	"$NETBENCH" throughput 3 | sed 's/^/  /'
	"$NETBENCH" blackhole 1024 | sed 's/^/  /'
fi
