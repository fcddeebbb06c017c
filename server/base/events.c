/* events.c — the JSON-lines event log writer (see events.h).
 *
 * Producers serialize under no lock, then append the line to a queue under
 * a mutex; one writer thread takes the whole queue at once and writes it
 * with a single flush, so a slow disk or a full pipe slows the writer, not
 * the connections. A ring of the last RING_SIZE lines serves in-process
 * readers. */
#include "base/events.h"

#include "base/clock.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#define RING_SIZE 8192
/* A sink slower than the harness (a stalled pipe, a full disk) must never
 * hold up a connection: past this many queued bytes new lines are dropped,
 * and counted. */
#define QUEUE_MAX_BYTES (64u << 20)
/* At exit the writer gets this long to write what is queued; a sink that
 * blocks for longer is given up on (the count of lines lost is said). */
#define CLOSE_WAIT_MS 1000
/* The writer's pause after a batch: the log is at most this much later on
 * disk, and a burst of events costs one wake-up per pause. */
#define LINGER_NS (2 * 1000 * 1000)

/* One event's line, shared by the writer's queue and the ring of recent
 * lines: freed when the last of them lets go. */
struct line {
	struct line *next;
	atomic_int refs;
	char text[];
};

static void line_put(struct line *l)
{
	if (l && atomic_fetch_sub(&l->refs, 1) == 1)
		free(l);
}

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_cond_t drained; /* the writer emptied the queue */
	int writing;            /* the writer holds a batch */
	pthread_t writer;
	int running;
	int stopping;
	int awaiting_start; /* lines wait for "start", which is written first */
	FILE *out;
	int out_is_stdout;
	struct line *head, *tail; /* queue for the writer */
	size_t queued_bytes;
	uint64_t dropped; /* lines never written: queue full, or the sink failed */
	int warned_full;
	int write_errno; /* the sink failed (0: fine); lines are counted, not written */
	const char *path;
	struct line *ring[RING_SIZE];
	uint64_t ring_conn[RING_SIZE];
	uint64_t count;
	struct timespec start;
	int64_t start_wall_ms; /* the wall clock at start: "time" is it plus ts_ms */
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER,
        .wake = PTHREAD_COND_INITIALIZER,
        .drained = PTHREAD_COND_INITIALIZER};

void events_clock_start(void)
{
	struct timespec wall;
	clock_gettime(CLOCK_MONOTONIC, &ev.start);
	clock_gettime(CLOCK_REALTIME, &wall);
	ev.start_wall_ms = (int64_t)wall.tv_sec * 1000 + wall.tv_nsec / 1000000;
}

void events_wall_time(uint64_t ts_ms, char *buf, size_t n)
{
	/* Each thread formats a second once: most events share it. */
	static __thread time_t cached_secs = -1;
	static __thread char cached[32];
	int64_t ms = ev.start_wall_ms + (int64_t)ts_ms;
	time_t secs = (time_t)(ms / 1000);
	if (secs != cached_secs) {
		struct tm tm;
		gmtime_r(&secs, &tm);
		if (!strftime(cached, sizeof(cached), "%Y-%m-%dT%H:%M:%S", &tm))
			cached[0] = '\0';
		cached_secs = secs;
	}
	unsigned frac = (unsigned)(ms % 1000) % 1000u;
	size_t cn = strlen(cached);
	if (n < cn + 6) { /* too small for a time: empty */
		if (n)
			buf[0] = '\0';
		return;
	}
	memcpy(buf, cached, cn);
	buf[cn] = '.';
	buf[cn + 1] = (char)('0' + frac / 100);
	buf[cn + 2] = (char)('0' + frac / 10 % 10);
	buf[cn + 3] = (char)('0' + frac % 10);
	buf[cn + 4] = 'Z';
	buf[cn + 5] = '\0';
}

uint64_t events_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - ev.start.tv_sec) * 1000 +
	             (now.tv_nsec - ev.start.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

/* Writes a batch (the writer thread, outside the lock). A sink that fails
 * (ENOSPC, EPIPE) is said once; from then on lines are counted as dropped. */
static void write_batch(struct line *batch)
{
	uint64_t lost = 0;
	size_t bytes = 0;
	int failed = 0;
	while (batch) {
		struct line *next = batch->next;
		size_t n = strlen(batch->text);
		bytes += n + 1;
		if (ev.out && !ev.write_errno && !failed) {
			if (fwrite(batch->text, 1, n, ev.out) != n || fputc('\n', ev.out) == EOF)
				failed = errno ? errno : EIO;
		} else if (ev.out) {
			lost++;
		}
		line_put(batch);
		batch = next;
	}
	if (ev.out && !ev.write_errno && !failed && fflush(ev.out) != 0)
		failed = errno ? errno : EIO;
	pthread_mutex_lock(&ev.lock);
	ev.queued_bytes -= bytes < ev.queued_bytes ? bytes : ev.queued_bytes;
	ev.dropped += lost;
	if (failed && !ev.write_errno) {
		ev.write_errno = failed;
		fprintf(stderr,
		        "rdpfault: event log: cannot write %s: %s; events from now on are counted, "
		        "not "
		        "written\n",
		        ev.path ? ev.path : "-", strerror(failed));
	}
	pthread_mutex_unlock(&ev.lock);
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ev.lock);
	for (;;) {
		while ((!ev.head || ev.awaiting_start) && !ev.stopping)
			pthread_cond_wait(&ev.wake, &ev.lock);
		struct line *batch = ev.head;
		ev.head = ev.tail = NULL;
		int stop = ev.stopping;
		ev.writing = 1;
		pthread_mutex_unlock(&ev.lock);
		write_batch(batch);
		pthread_mutex_lock(&ev.lock);
		ev.writing = 0;
		if (!ev.head)
			pthread_cond_broadcast(&ev.drained);
		pthread_mutex_unlock(&ev.lock);
		/* Let the next batch gather: emitters wake the writer only when
		 * the queue was empty, so a busy harness pays one wake-up (a
		 * futex and a context switch) per LINGER, not one per event. */
		if (!stop) {
			struct timespec linger = {0, LINGER_NS};
			nanosleep(&linger, NULL);
		}
		pthread_mutex_lock(&ev.lock);
		if (stop && !ev.head)
			break;
	}
	pthread_mutex_unlock(&ev.lock);
	return NULL;
}

uint64_t events_dropped(void)
{
	pthread_mutex_lock(&ev.lock);
	uint64_t n = ev.dropped;
	pthread_mutex_unlock(&ev.lock);
	return n;
}

int events_open(const char *path, char *err, size_t errlen)
{
	FILE *out = NULL;
	int is_stdout = 0;

	if (path && strcmp(path, "-") == 0) {
		out = stdout;
		is_stdout = 1;
	} else if (path) {
		out = fopen(path, "a");
		if (!out) {
			snprintf(err, errlen, "cannot open event log %s: %s", path,
			         strerror(errno));
			return -1;
		}
	}
	ev.out = out;
	ev.out_is_stdout = is_stdout;
	ev.stopping = 0;
	ev.queued_bytes = 0;
	ev.dropped = 0;
	ev.warned_full = 0;
	ev.write_errno = 0;
	ev.path = path;
	if (pthread_create(&ev.writer, NULL, writer_main, NULL) != 0) {
		snprintf(err, errlen, "cannot start the event log writer thread");
		if (out && !is_stdout)
			fclose(out);
		ev.out = NULL;
		return -1;
	}
	ev.running = 1;
	return 0;
}

int events_flush(int timeout_ms)
{
	struct timespec until = deadline_after_ms(timeout_ms);
	int rc = 0;
	pthread_mutex_lock(&ev.lock);
	while (ev.running && (ev.head || ev.writing) && !ev.awaiting_start && rc == 0)
		rc = pthread_cond_timedwait(&ev.drained, &ev.lock, &until);
	int left = ev.running && (ev.head || ev.writing);
	pthread_mutex_unlock(&ev.lock);
	return left ? -1 : 0;
}

void events_start_first(void)
{
	pthread_mutex_lock(&ev.lock);
	ev.awaiting_start = 1;
	pthread_mutex_unlock(&ev.lock);
}

int events_close(void)
{
	if (!ev.running)
		return 0;
	pthread_mutex_lock(&ev.lock);
	ev.stopping = 1;
	pthread_cond_signal(&ev.wake);
	pthread_mutex_unlock(&ev.lock);
	struct timespec until = deadline_after_ms(CLOSE_WAIT_MS);
	if (pthread_timedjoin_np(ev.writer, NULL, &until) != 0) {
		/* The sink blocks (a pipe nobody reads): what is queued is lost,
		 * and said. The writer is left where it is; the process exits. */
		pthread_mutex_lock(&ev.lock);
		uint64_t left = ev.dropped;
		for (struct line *l = ev.head; l; l = l->next)
			left++;
		ev.running = 0;
		pthread_mutex_unlock(&ev.lock);
		fprintf(stderr,
		        "rdpfault: event log: the sink blocked for %d ms at exit; %llu line(s) "
		        "were "
		        "not written\n",
		        CLOSE_WAIT_MS, (unsigned long long)left);
		return -1;
	}
	/* Threads may still emit (peer threads inside FreeRDP at exit): stop
	 * queueing under the lock, write what was queued after the writer's
	 * last look, and clear the ring under the lock too. */
	pthread_mutex_lock(&ev.lock);
	ev.running = 0;
	struct line *rest = ev.head;
	ev.head = ev.tail = NULL;
	for (size_t i = 0; i < RING_SIZE; i++) {
		line_put(ev.ring[i]);
		ev.ring[i] = NULL;
	}
	pthread_mutex_unlock(&ev.lock);
	write_batch(rest);
	if (ev.dropped)
		fprintf(stderr, "rdpfault: event log: %llu line(s) were not written\n",
		        (unsigned long long)ev.dropped);
	if (ev.out && !ev.out_is_stdout)
		fclose(ev.out);
	else if (ev.out)
		fflush(ev.out);
	ev.out = NULL;
	return 0;
}

/* Writes v in decimal at p; returns the end. */
static char *put_u64(char *p, uint64_t v)
{
	char t[20];
	int n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n)
		*p++ = t[--n];
	return p;
}

static char *put_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

/* The fixed fields by hand (a name, numbers and a time: nothing to
 * escape, and printf's parsing is a tenth of a line's cost): the head of
 * the line, without its closing brace. Returns its length, or -1 when the
 * event's name does not fit. */
#define HEAD_MAX 224
static int line_head(char *head, uint64_t ts, uint64_t conn, const char *event)
{
	size_t en = strlen(event);
	if (en > 96) /* ours are short: 38 fixed, 40 numbers, 31 time */
		return -1;
	char when[32];
	events_wall_time(ts, when, sizeof(when));
	char *p = head;
	p = put_str(p, "{\"ts_ms\":", 9);
	p = put_u64(p, ts);
	p = put_str(p, ",\"time\":\"", 9);
	p = put_str(p, when, strlen(when));
	p = put_str(p, "\",\"conn\":", 9);
	p = put_u64(p, conn);
	p = put_str(p, ",\"event\":\"", 10);
	p = put_str(p, event, en);
	*p++ = '"';
	return (int)(p - head);
}

static void emit_line(uint64_t conn, const char *event, const char *body, size_t bn);

void events_emit(uint64_t conn, const char *event, json_t *fields)
{
	/* jansson writes the caller's fields straight into a stack buffer
	 * (json_dumpb): most lines fit, and then no string is allocated. */
	char small[1024];
	char *body = NULL;
	size_t bn = 0;
	int ok = 1;
	if (fields && json_object_size(fields) > 0) {
		const size_t flags = JSON_COMPACT | JSON_PRESERVE_ORDER;
		bn = json_dumpb(fields, small, sizeof small, flags);
		if (bn > sizeof small) {
			body = malloc(bn);
			if (body && json_dumpb(fields, body, bn, flags) != bn)
				bn = 0;
		} else if (bn > 0) {
			body = small;
		}
		if (!body || bn < 2)
			ok = 0; /* out of memory: the line is not written */
	}
	json_decref(fields);
	if (ok)
		emit_line(conn, event, body, bn);
	if (body != small)
		free(body);
}

void events_emit_text(uint64_t conn, const char *event, const char *fields_json)
{
	size_t bn = fields_json ? strlen(fields_json) : 0;
	/* "{}" or nothing: no fields. */
	emit_line(conn, event, bn > 2 ? fields_json : NULL, bn > 2 ? bn : 0);
}

/* The line: the head, then the fields' text (body, bn bytes, an object's
 * "{...}"; NULL: none), queued and kept in the ring. */
static void emit_line(uint64_t conn, const char *event, const char *body, size_t bn)
{
	char head[HEAD_MAX];
	int hn = line_head(head, events_now_ms(), conn, event);
	struct line *l = hn < 0 ? NULL : malloc(sizeof(*l) + (size_t)hn + bn + 2);
	if (!l)
		return;
	char *text = l->text;
	memcpy(text, head, (size_t)hn);
	size_t len;
	if (body) {
		text[hn] = ',';
		memcpy(text + hn + 1, body + 1, bn - 1); /* its "{" is ours */
		len = (size_t)hn + bn;
	} else {
		text[hn] = '}';
		len = (size_t)hn + 1;
	}
	text[len] = '\0';
	l->next = NULL;
	atomic_init(&l->refs, 1); /* the ring's */

	pthread_mutex_lock(&ev.lock);
	size_t slot = ev.count % RING_SIZE;
	struct line *old = ev.ring[slot];
	ev.ring[slot] = l;
	ev.ring_conn[slot] = conn;
	ev.count++;
	if (ev.running && ev.queued_bytes + len + 1 > QUEUE_MAX_BYTES) {
		ev.dropped++; /* the sink is not keeping up: counted, not queued */
		if (!ev.warned_full) {
			ev.warned_full = 1;
			fprintf(stderr,
			        "rdpfault: event log: the sink is not keeping up (%u MiB queued): "
			        "lines "
			        "are dropped and counted\n",
			        QUEUE_MAX_BYTES >> 20);
		}
	} else if (ev.running && ev.awaiting_start && conn == 0 && strcmp(event, "start") == 0) {
		/* What start-up logged before (a prefilled listener's
		 * admission) follows it: readers find "start" on line 1. */
		atomic_fetch_add(&l->refs, 1); /* the queue's */
		l->next = ev.head;
		ev.head = l;
		if (!ev.tail)
			ev.tail = l;
		ev.queued_bytes += len + 1;
		ev.awaiting_start = 0;
		pthread_cond_signal(&ev.wake);
	} else if (ev.running) {
		int was_empty = !ev.head;
		atomic_fetch_add(&l->refs, 1); /* the queue's */
		if (ev.tail)
			ev.tail->next = l;
		else
			ev.head = l;
		ev.tail = l;
		ev.queued_bytes += len + 1;
		/* One wake-up per batch: a writer with a queue to drain needs none. */
		if (was_empty)
			pthread_cond_signal(&ev.wake);
	}
	pthread_mutex_unlock(&ev.lock);
	line_put(old);
}

uint64_t events_count(void)
{
	pthread_mutex_lock(&ev.lock);
	uint64_t n = ev.count;
	pthread_mutex_unlock(&ev.lock);
	return n;
}

json_t *events_since(uint64_t since, size_t max, uint64_t *last, uint64_t *oldest)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&ev.lock);
	uint64_t first = ev.count > RING_SIZE ? ev.count - RING_SIZE : 0; /* index, 0-based */
	*oldest = first + 1;
	uint64_t i = since > first ? since : first;
	for (; i < ev.count && json_array_size(arr) < max; i++) {
		struct line *l = ev.ring[i % RING_SIZE];
		json_t *o = l ? json_loads(l->text, 0, NULL) : NULL;
		if (!o)
			continue;
		json_object_set_new(o, "seq", json_integer((json_int_t)(i + 1)));
		json_array_append_new(arr, o);
	}
	*last = i;
	pthread_mutex_unlock(&ev.lock);
	return arr;
}

json_t *events_recent(uint64_t conn, size_t max)
{
	json_t *arr = json_array();
	pthread_mutex_lock(&ev.lock);
	uint64_t first = ev.count > RING_SIZE ? ev.count - RING_SIZE : 0;
	/* Walk newest to oldest to stop early, then reverse. */
	for (uint64_t i = ev.count; i > first && json_array_size(arr) < max; i--) {
		size_t slot = (i - 1) % RING_SIZE;
		if (conn && ev.ring_conn[slot] != conn)
			continue;
		json_t *o = ev.ring[slot] ? json_loads(ev.ring[slot]->text, 0, NULL) : NULL;
		if (o)
			json_array_insert_new(arr, 0, o);
	}
	pthread_mutex_unlock(&ev.lock);
	return arr;
}
