/* test_events.c — unit tests of the JSON-lines event log (server/base/events.c).
 *
 * - 4 threads x 5000 events to a file: after events_close the file holds
 *   exactly 20000 lines, each a JSON object whose text begins with ts_ms,
 *   conn, event, then the caller's fields; every thread's sequence numbers
 *   come in order and none is missing; ts_ms lies within the run.
 * - events_count deltas; events_recent per connection and overall, newest
 *   last, capped at max, across a wrapped ring.
 * - Fields given as text (events_emit_text) make the line jansson's
 *   fields would; none or "{}" make a line without fields.
 * - "-" writes to stdout (fd 1 is redirected to a temp file with dup2), and
 *   events_close leaves stdout open.
 * - Unopenable paths fail with an error naming the path; NULL means no file.
 * - events_open works again after events_close, files are appended to, and
 *   nothing of one session shows up in the next, even when events_close
 *   races threads that keep emitting (a regression test: see events.c).
 * - events_now_ms is monotonic and advances with the clock.
 *
 * events.c keeps static state: every test closes what it opened, and uses
 * its own connection ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "base/events.h"

#define THREADS 4
#define PER_THREAD 5000
#define RING 8192 /* RING_SIZE in events.c */
#define CLOSE_ROUNDS 20
/* An emitter that runs until told to stop writes at most this many lines:
 * THREADS of them stay well under the writer's 64 MiB queue (a line is
 * ~130 bytes), so how fast the writer drains, next to how fast they emit,
 * cannot make a line be dropped. */
#define STOP_MAX 100000

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

static void temp_path(char *buf, size_t len)
{
	snprintf(buf, len, "/tmp/rdpfault-test-events-XXXXXX");
	int fd = mkstemp(buf);
	assert_true(fd >= 0);
	close(fd);
}

struct lines {
	char **v;
	size_t n;
};

/* Reads a file as lines (without their '\n'); every line must end in one. */
static void read_lines(const char *path, struct lines *l)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	l->v = NULL;
	l->n = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t got;
	size_t alloc = 0;
	while ((got = getline(&line, &cap, f)) >= 0) {
		assert_true(got > 0);
		assert_int_equal(line[got - 1], '\n');
		line[got - 1] = '\0';
		if (l->n == alloc) {
			alloc = alloc ? alloc * 2 : 64;
			l->v = realloc(l->v, alloc * sizeof(*l->v));
			assert_non_null(l->v);
		}
		l->v[l->n] = strdup(line);
		assert_non_null(l->v[l->n]);
		l->n++;
	}
	free(line);
	fclose(f);
}

static void free_lines(struct lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static json_t *parse_line(const char *line)
{
	json_error_t e;
	json_t *o = json_loads(line, 0, &e);
	if (!o)
		fail_msg("not JSON (%s): %s", e.text, line);
	assert_true(json_is_object(o));
	return o;
}

static json_int_t int_field(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static const char *str_field(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* Open file descriptors of this process. */
static int open_fds(void)
{
	int n = 0;
	for (int fd = 0; fd < 1024; fd++)
		if (fcntl(fd, F_GETFD) != -1)
			n++;
	return n;
}

/* Lines in a file once it holds `want` of them (waits up to 5 s for the
 * writer thread), or what it holds then. */
static size_t wait_lines(const char *path, size_t want)
{
	struct lines l;
	for (int i = 0; i < 500; i++) {
		read_lines(path, &l);
		size_t n = l.n;
		free_lines(&l);
		if (n >= want)
			return n;
		sleep_ms(10);
	}
	read_lines(path, &l);
	size_t n = l.n;
	free_lines(&l);
	return n;
}

static int group_setup(void **state)
{
	(void)state;
	events_clock_start();
	return 0;
}

/* ------------------------------------------------------------------ */
/* Concurrent emitters to a file                                       */

struct emitter {
	uint64_t conn;
	int n; /* events to emit; 0: until `stop`, at most STOP_MAX */
	atomic_int *stop;
	int emitted;
};

static void *emit_main(void *arg)
{
	struct emitter *e = arg;
	for (int i = 0; e->n ? i < e->n : i < STOP_MAX && !atomic_load(e->stop); i++) {
		events_emit(e->conn, "tick",
		            json_pack("{s:i, s:i, s:s}", "seq", i, "thread", (int)(e->conn % 100),
		                      "tag", "unit-test"));
		e->emitted = i + 1;
	}
	return NULL;
}

static void test_concurrent_file(void **state)
{
	(void)state;
	char path[64], err[256] = "";
	temp_path(path, sizeof(path));

	assert_int_equal(events_open(path, err, sizeof(err)), 0);
	uint64_t count0 = events_count();
	uint64_t t0 = events_now_ms();
	pthread_t th[THREADS];
	struct emitter em[THREADS];
	for (int t = 0; t < THREADS; t++) {
		em[t] = (struct emitter){.conn = 101 + (uint64_t)t, .n = PER_THREAD};
		assert_int_equal(pthread_create(&th[t], NULL, emit_main, &em[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(pthread_join(th[t], NULL), 0);
	assert_int_equal(events_count() - count0, THREADS * PER_THREAD);
	events_close();
	uint64_t t1 = events_now_ms();

	struct lines l;
	read_lines(path, &l);
	assert_int_equal(l.n, THREADS * PER_THREAD);
	int next[THREADS] = {0};
	json_int_t last_ts[THREADS] = {0};
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = parse_line(l.v[i]);
		assert_int_equal(json_object_size(o), 7);
		json_int_t ts = int_field(o, "ts_ms");
		json_int_t conn = int_field(o, "conn");
		assert_true(conn >= 101 && conn < 101 + THREADS);
		int t = (int)(conn - 101);
		assert_string_equal(str_field(o, "event"), "tick");
		assert_int_equal(int_field(o, "thread"), conn % 100);
		assert_string_equal(str_field(o, "tag"), "unit-test");
		/* This thread's events in order, none missing. */
		assert_int_equal(int_field(o, "seq"), next[t]);
		next[t]++;
		assert_true(ts >= (json_int_t)t0 && ts <= (json_int_t)t1);
		assert_true(ts >= last_ts[t]);
		last_ts[t] = ts;
		/* The fixed fields first, in this order, then the caller's. */
		char head[160], when[40];
		events_wall_time((uint64_t)ts, when, sizeof(when));
		snprintf(head, sizeof(head),
		         "{\"ts_ms\":%lld,\"time\":\"%s\",\"conn\":%lld,\"event\":\"tick\",",
		         (long long)ts, when, (long long)conn);
		assert_true(strncmp(l.v[i], head, strlen(head)) == 0);
		json_decref(o);
	}
	for (int t = 0; t < THREADS; t++)
		assert_int_equal(next[t], PER_THREAD);
	free_lines(&l);
	unlink(path);
}

/* "time" is RFC 3339 UTC with milliseconds, within a few seconds of now. */
static void check_time(const char *t)
{
	struct tm tm = {0};
	int ms = -1;
	assert_int_equal(strlen(t), 24);
	const char *rest = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
	assert_non_null(rest);
	assert_int_equal(sscanf(rest, ".%3dZ", &ms), 1);
	assert_true(ms >= 0 && ms < 1000 && rest[4] == 'Z');
	/* CLOCK_REALTIME, as the log's: time() reads the coarse clock, which can
	 * lag a few ms behind it, across a second's edge. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_t when = timegm(&tm), now = ts.tv_sec;
	assert_true(when <= now && now - when < 10);
}

static void test_fields_optional(void **state)
{
	(void)state;
	char path[64], err[256] = "";
	temp_path(path, sizeof(path));
	assert_int_equal(events_open(path, err, sizeof(err)), 0);
	events_emit(0, "harness", NULL);
	events_emit(UINT32_MAX + (uint64_t)5, "big-conn", json_pack("{s:s}", "k", "v"));
	events_close();

	struct lines l;
	read_lines(path, &l);
	assert_int_equal(l.n, 2);
	json_t *o = parse_line(l.v[0]);
	assert_int_equal(json_object_size(o), 4);
	check_time(str_field(o, "time"));
	assert_int_equal(int_field(o, "conn"), 0);
	assert_string_equal(str_field(o, "event"), "harness");
	json_decref(o);
	o = parse_line(l.v[1]);
	assert_int_equal(json_object_size(o), 5);
	assert_int_equal(int_field(o, "conn"), (json_int_t)UINT32_MAX + 5);
	assert_string_equal(str_field(o, "k"), "v");
	json_decref(o);
	free_lines(&l);
	unlink(path);
}

/* Fields given as text come out as jansson's would; none, "{}" or an
 * event name past the head's room write what they should. */
static void test_fields_as_text(void **state)
{
	(void)state;
	char path[64], err[256] = "", name[128];
	temp_path(path, sizeof(path));
	assert_int_equal(events_open(path, err, sizeof(err)), 0);
	events_emit_text(7, "phase", "{\"phase\":\"x224-request\"}");
	events_emit(7, "phase", json_pack("{s:s}", "phase", "x224-request"));
	events_emit_text(8, "bare", NULL);
	events_emit_text(8, "empty", "{}");
	memset(name, 'e', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	events_emit_text(9, name, NULL); /* no line: longer than any event's name */
	events_emit(10, "after", json_pack("{s:i}", "n", 1234567890));
	events_close();

	struct lines l;
	read_lines(path, &l);
	assert_int_equal(l.n, 5);
	/* The same text either way from "conn" on (the times before it may
	 * differ by a millisecond). */
	assert_string_equal(strstr(l.v[0], "\"conn\""), strstr(l.v[1], "\"conn\""));
	json_t *o = parse_line(l.v[0]);
	assert_string_equal(str_field(o, "phase"), "x224-request");
	check_time(str_field(o, "time"));
	json_decref(o);
	for (int i = 2; i < 4; i++) {
		o = parse_line(l.v[i]);
		assert_int_equal(json_object_size(o), 4);
		assert_int_equal(int_field(o, "conn"), 8);
		json_decref(o);
	}
	o = parse_line(l.v[4]);
	assert_string_equal(str_field(o, "event"), "after");
	assert_int_equal(int_field(o, "n"), 1234567890);
	json_decref(o);
	free_lines(&l);
	unlink(path);
}

/* ------------------------------------------------------------------ */
/* The in-memory ring                                                  */

/* Checks that arr holds `n` events of conn (0: any) with these seqs. */
static void check_recent(json_t *arr, size_t n, const uint64_t *conns, const int *seqs)
{
	assert_true(json_is_array(arr));
	assert_int_equal(json_array_size(arr), n);
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		assert_true(json_is_object(o));
		assert_int_equal(int_field(o, "conn"), (json_int_t)conns[i]);
		assert_int_equal(int_field(o, "seq"), seqs[i]);
		assert_string_equal(str_field(o, "event"), "ring");
		(void)int_field(o, "ts_ms");
	}
	json_decref(arr);
}

static void test_recent(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(events_open(NULL, err, sizeof(err)), 0);
	uint64_t count0 = events_count();
	for (int i = 0; i < 10; i++) {
		events_emit(7, "ring", json_pack("{s:i}", "seq", i));
		events_emit(8, "ring", json_pack("{s:i}", "seq", i));
	}
	events_emit(9, "ring", json_pack("{s:i}", "seq", 0));
	assert_int_equal(events_count() - count0, 21);

	{
		uint64_t c[] = {7, 7, 7};
		int s[] = {7, 8, 9};
		check_recent(events_recent(7, 3), 3, c, s);
	}
	{
		uint64_t c[10];
		int s[10];
		for (int i = 0; i < 10; i++) {
			c[i] = 7;
			s[i] = i;
		}
		check_recent(events_recent(7, 100), 10, c, s);
		for (int i = 0; i < 10; i++)
			c[i] = 8;
		check_recent(events_recent(8, 10), 10, c, s);
	}
	{
		uint64_t c[] = {8, 7, 8, 9};
		int s[] = {8, 9, 9, 0};
		check_recent(events_recent(0, 4), 4, c, s);
	}
	{
		uint64_t c[] = {9};
		int s[] = {0};
		check_recent(events_recent(9, 5), 1, c, s);
	}
	check_recent(events_recent(42, 5), 0, NULL, NULL);
	check_recent(events_recent(7, 0), 0, NULL, NULL);

	/* Copies: changing one changes nothing inside. */
	json_t *a = events_recent(9, 1);
	json_object_set_new(json_array_get(a, 0), "seq", json_integer(99));
	json_decref(a);
	{
		uint64_t c[] = {9};
		int s[] = {0};
		check_recent(events_recent(9, 1), 1, c, s);
	}
	events_close();
}

static void test_recent_ring_wraps(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(events_open(NULL, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		events_emit(6, "ring", json_pack("{s:i}", "seq", i));
	const int total = RING + 100;
	for (int i = 0; i < total; i++)
		events_emit(5, "ring", json_pack("{s:i}", "seq", i));

	/* conn 6 fell out of the ring. */
	check_recent(events_recent(6, 10), 0, NULL, NULL);

	json_t *arr = events_recent(5, 100000);
	assert_int_equal(json_array_size(arr), RING);
	for (size_t i = 0; i < RING; i++)
		assert_int_equal(int_field(json_array_get(arr, i), "seq"), 100 + (int)i);
	json_decref(arr);
	arr = events_recent(0, 100000);
	assert_int_equal(json_array_size(arr), RING);
	json_decref(arr);
	{
		uint64_t c[] = {5, 5, 5};
		int s[] = {total - 3, total - 2, total - 1};
		check_recent(events_recent(5, 3), 3, c, s);
	}
	events_close();
}

/* ------------------------------------------------------------------ */
/* Where the lines go                                                  */

static void test_stdout(void **state)
{
	(void)state;
	char path[64], err[256] = "";
	temp_path(path, sizeof(path));
	FILE *f = fopen(path, "w");
	assert_non_null(f);

	/* cmocka's own output first, to the real stdout. */
	fflush(stdout);
	int saved = dup(STDOUT_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fileno(f), STDOUT_FILENO), STDOUT_FILENO);

	int rc = events_open("-", err, sizeof(err));
	if (rc == 0) {
		events_emit(51, "to-stdout", json_pack("{s:i}", "seq", 0));
		events_emit(51, "to-stdout", json_pack("{s:i}", "seq", 1));
		events_emit(51, "to-stdout", json_pack("{s:i}", "seq", 2));
		events_close();
		/* stdout is still open after events_close. */
		fputs("after-close\n", stdout);
		fflush(stdout);
	}
	assert_int_equal(dup2(saved, STDOUT_FILENO), STDOUT_FILENO);
	close(saved);
	fclose(f);
	assert_int_equal(rc, 0);

	struct lines l;
	read_lines(path, &l);
	assert_int_equal(l.n, 4);
	for (int i = 0; i < 3; i++) {
		json_t *o = parse_line(l.v[i]);
		assert_int_equal(int_field(o, "conn"), 51);
		assert_int_equal(int_field(o, "seq"), i);
		assert_string_equal(str_field(o, "event"), "to-stdout");
		json_decref(o);
	}
	assert_string_equal(l.v[3], "after-close");
	free_lines(&l);
	unlink(path);
}

static void test_unopenable_paths(void **state)
{
	(void)state;
	char err[512];
	static const char missing[] = "/nonexistent-rdpfault-dir/sub/events.jsonl";

	memset(err, 0, sizeof(err));
	assert_int_equal(events_open(missing, err, sizeof(err)), -1);
	assert_non_null(strstr(err, missing));
	assert_non_null(strstr(err, strerror(ENOENT)));

	/* A directory cannot be opened for appending, even by root. */
	char dir[] = "/tmp/rdpfault-test-events-dir-XXXXXX";
	assert_non_null(mkdtemp(dir));
	memset(err, 0, sizeof(err));
	assert_int_equal(events_open(dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, strerror(EISDIR)));
	rmdir(dir);

	/* The error is cut to errlen. */
	char small[8];
	memset(small, 'x', sizeof(small));
	assert_int_equal(events_open(missing, small, sizeof(small)), -1);
	assert_int_equal(strlen(small), sizeof(small) - 1);

	/* A failed open leaves nothing running: close is harmless and open
	 * works. */
	events_close();
	assert_int_equal(events_open(NULL, err, sizeof(err)), 0);
	uint64_t c0 = events_count();
	events_emit(61, "ring", json_pack("{s:i}", "seq", 0));
	assert_int_equal(events_count() - c0, 1);
	events_close();
}

static void test_null_path(void **state)
{
	(void)state;
	char err[256] = "";
	assert_int_equal(events_open(NULL, err, sizeof(err)), 0);
	uint64_t c0 = events_count();
	for (int i = 0; i < 3; i++)
		events_emit(71, "ring", json_pack("{s:i}", "seq", i));
	assert_int_equal(events_count() - c0, 3);
	uint64_t c[] = {71, 71, 71};
	int s[] = {0, 1, 2};
	check_recent(events_recent(71, 10), 3, c, s);
	events_close();
	assert_int_equal(events_count() - c0, 3);
}

/* ------------------------------------------------------------------ */
/* Sessions one after another                                          */

static void test_reopen_after_close(void **state)
{
	(void)state;
	char a[64], b[64], err[256] = "";
	temp_path(a, sizeof(a));
	temp_path(b, sizeof(b));

	assert_int_equal(events_open(a, err, sizeof(err)), 0);
	events_emit(31, "first", NULL);
	events_emit(31, "first", NULL);
	events_close();
	events_close(); /* twice is harmless */

	int fds = open_fds();
	assert_int_equal(events_open(b, err, sizeof(err)), 0);
	assert_int_equal(open_fds(), fds + 1);
	events_emit(32, "second", NULL);
	/* Written by the writer thread while the log is open, not only at
	 * close. */
	assert_int_equal(wait_lines(b, 1), 1);
	events_close();
	assert_int_equal(open_fds(), fds);

	assert_int_equal(events_open(a, err, sizeof(err)), 0); /* appended to */
	events_emit(33, "third", NULL);
	events_close();

	struct lines l;
	read_lines(a, &l);
	assert_int_equal(l.n, 3);
	static const char *const want_a[] = {"first", "first", "third"};
	for (size_t i = 0; i < l.n; i++) {
		json_t *o = parse_line(l.v[i]);
		assert_string_equal(str_field(o, "event"), want_a[i]);
		json_decref(o);
	}
	free_lines(&l);
	read_lines(b, &l);
	assert_int_equal(l.n, 1);
	json_t *o = parse_line(l.v[0]);
	assert_string_equal(str_field(o, "event"), "second");
	assert_int_equal(int_field(o, "conn"), 32);
	json_decref(o);
	free_lines(&l);
	unlink(a);
	unlink(b);
}

/* events_close at the lowest priority: the emitters then run in any gap
 * between the writer's last look at the queue and events_close's return,
 * as peer threads can in the program. */
static void *close_main(void *arg)
{
	(void)arg;
	setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
	events_close();
	return NULL;
}

/* events_close while threads keep emitting (the program closes the log
 * with peer threads possibly still inside FreeRDP): what was written is
 * each thread's events in order from the first, and nothing of that session
 * is left queued for the next one. */
static void test_close_while_emitting(void **state)
{
	(void)state;
	for (int round = 0; round < CLOSE_ROUNDS; round++) {
		char a[64], b[64], err[256] = "";
		temp_path(a, sizeof(a));
		temp_path(b, sizeof(b));
		atomic_int stop = 0;
		pthread_t th[THREADS];
		struct emitter em[THREADS];

		assert_int_equal(events_open(a, err, sizeof(err)), 0);
		for (int t = 0; t < THREADS; t++) {
			em[t] = (struct emitter){.conn = 201 + (uint64_t)t, .stop = &stop};
			assert_int_equal(pthread_create(&th[t], NULL, emit_main, &em[t]), 0);
		}
		sleep_ms(3);
		pthread_t closer;
		assert_int_equal(pthread_create(&closer, NULL, close_main, NULL), 0);
		assert_int_equal(pthread_join(closer, NULL), 0);
		atomic_store(&stop, 1);
		for (int t = 0; t < THREADS; t++)
			assert_int_equal(pthread_join(th[t], NULL), 0);
		/* What was emitted after the close is in the ring only. */
		json_t *after[THREADS];
		size_t in_ring = 0;
		for (int t = 0; t < THREADS; t++) {
			after[t] = events_recent(em[t].conn, RING);
			in_ring += json_array_size(after[t]);
		}

		assert_int_equal(events_open(b, err, sizeof(err)), 0);
		events_emit(300, "marker", NULL);
		events_close();

		struct lines l;
		read_lines(b, &l);
		assert_int_equal(l.n, 1);
		json_t *o = parse_line(l.v[0]);
		assert_string_equal(str_field(o, "event"), "marker");
		json_decref(o);
		free_lines(&l);

		read_lines(a, &l);
		int next[THREADS] = {0};
		for (size_t i = 0; i < l.n; i++) {
			o = parse_line(l.v[i]);
			int t = (int)(int_field(o, "conn") - 201);
			assert_true(t >= 0 && t < THREADS);
			assert_int_equal(int_field(o, "seq"), next[t]);
			next[t]++;
			json_decref(o);
		}
		/* Each thread's events: the first ones in the file, the rest in
		 * the ring (unless it wrapped), none lost in between. */
		for (int t = 0; t < THREADS; t++) {
			size_t k = json_array_size(after[t]);
			assert_true(next[t] + (int)k <= em[t].emitted);
			for (size_t i = 0; i < k; i++)
				assert_int_equal(int_field(json_array_get(after[t], i), "seq"),
				                 em[t].emitted - (int)k + (int)i);
			if (in_ring < RING)
				assert_int_equal(next[t] + (int)k, em[t].emitted);
			json_decref(after[t]);
		}
		free_lines(&l);
		unlink(a);
		unlink(b);
	}
}

/* ------------------------------------------------------------------ */
/* The clock                                                           */

static void test_now_ms(void **state)
{
	(void)state;
	events_clock_start();
	uint64_t a = events_now_ms();
	assert_true(a < 1000);
	uint64_t prev = a;
	for (int i = 0; i < 100000; i++) {
		uint64_t n = events_now_ms();
		assert_true(n >= prev);
		prev = n;
	}
	uint64_t b0 = events_now_ms();
	sleep_ms(20);
	uint64_t b1 = events_now_ms();
	assert_true(b1 >= b0 + 15);
	assert_true(b1 - b0 < 10000);
	/* A restart starts again from 0. */
	sleep_ms(20);
	events_clock_start();
	assert_true(events_now_ms() < b1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_concurrent_file),
	        cmocka_unit_test(test_fields_optional),
	        cmocka_unit_test(test_fields_as_text),
	        cmocka_unit_test(test_recent),
	        cmocka_unit_test(test_recent_ring_wraps),
	        cmocka_unit_test(test_stdout),
	        cmocka_unit_test(test_unopenable_paths),
	        cmocka_unit_test(test_null_path),
	        cmocka_unit_test(test_reopen_after_close),
	        cmocka_unit_test(test_close_while_emitting),
	        cmocka_unit_test(test_now_ms),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
