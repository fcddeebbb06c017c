/* events_bench.c — what one event line costs the thread that emits it: the
 * JSON building, the line's allocation and the queue, with the writer
 * draining to a file. Emits the lines a reset-at-x224-request connection
 * logs (accept, request, fault, close), shaped as the harness builds them.
 * Prints figures; not a test.
 *
 *   events_bench [CONNECTIONS] [FILE]     (default 200000, /dev/null) */
#include "base/events.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000;
	const char *path = argc > 2 ? argv[2] : "/dev/null";
	char err[256];
	if (n <= 0 || events_open(path, err, sizeof err) != 0) {
		fprintf(stderr, "events_bench: %s\n", n <= 0 ? "CONNECTIONS must be > 0" : err);
		return 2;
	}
	events_emit(0, "start", json_pack("{s:i}", "schema_version", 2));
	double w0 = now_s(), c0 = cpu_s();
	for (long i = 1; i <= n; i++) {
		events_emit((uint64_t)i, "accept",
		            json_pack("{s:s, s:i, s:s, s:i, s:s}", "client", "127.0.0.1",
		                      "client_port", 40000 + (int)(i % 20000), "listener",
		                      "127.0.0.1:13390", "port", 13390, "scenario",
		                      "reset-at-x224-request"));
		events_emit((uint64_t)i, "phase",
		            json_pack("{s:s, s:i, s:s}", "phase", "x224-request", "bytes", 59,
		                      "cookie", "mstshash=user"));
		events_emit((uint64_t)i, "fault",
		            json_pack("{s:s, s:s, s:i, s:i}", "action", "reset", "phase",
		                      "x224-request", "read_bytes", 59, "sent_bytes", 0));
		events_emit((uint64_t)i, "close",
		            json_pack("{s:s, s:s, s:i, s:i, s:i, s:f}", "reason", "fault-reset",
		                      "last_phase", "x224-request", "bytes_from_client", 0,
		                      "bytes_to_client", 0, "duration_ms", 1, "age_s", 0.001));
	}
	double c1 = cpu_s(), w1 = now_s();
	events_close();
	double w2 = now_s();
	double lines = (double)n * 4;
	printf("%-34s %10.0f ns/line (emitting thread's CPU), %.0f lines/s\n", "events_emit",
	       (c1 - c0) * 1e9 / lines, lines / (w1 - w0));
	printf("%-34s %10.3f s after the last emit\n", "writer drained", w2 - w1);
	return 0;
}
