/* events.c — the JSON-lines event log writer (see events.h).
 *
 * Producers serialize under no lock, then append the line to a queue under
 * a mutex; one writer thread takes the whole queue at once and writes it
 * with a single flush, so a slow disk or a full pipe slows the writer, not
 * the connections. A ring of the last RING_SIZE lines serves in-process
 * readers. */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING_SIZE 8192

struct line {
	struct line *next;
	char *text;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t writer;
	int running;
	int stopping;
	FILE *out;
	int out_is_stdout;
	struct line *head, *tail; /* queue for the writer */
	char *ring[RING_SIZE];
	uint64_t ring_conn[RING_SIZE];
	uint64_t count;
	struct timespec start;
} ev = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

void events_clock_start(void)
{
	clock_gettime(CLOCK_MONOTONIC, &ev.start);
}

uint64_t events_now_ms(void)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	int64_t ms = (int64_t)(now.tv_sec - ev.start.tv_sec) * 1000 +
	             (now.tv_nsec - ev.start.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (uint64_t)ms;
}

static void write_batch(struct line *batch)
{
	while (batch) {
		struct line *next = batch->next;
		if (ev.out) {
			fputs(batch->text, ev.out);
			fputc('\n', ev.out);
		}
		free(batch->text);
		free(batch);
		batch = next;
	}
	if (ev.out)
		fflush(ev.out);
}

static void *writer_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&ev.lock);
	for (;;) {
		while (!ev.head && !ev.stopping)
			pthread_cond_wait(&ev.wake, &ev.lock);
		struct line *batch = ev.head;
		ev.head = ev.tail = NULL;
		int stop = ev.stopping;
		pthread_mutex_unlock(&ev.lock);
		write_batch(batch);
		pthread_mutex_lock(&ev.lock);
		if (stop && !ev.head)
			break;
	}
	pthread_mutex_unlock(&ev.lock);
	return NULL;
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
			snprintf(err, errlen, "cannot open event log %s: %s", path, strerror(errno));
			return -1;
		}
	}
	ev.out = out;
	ev.out_is_stdout = is_stdout;
	ev.stopping = 0;
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

void events_close(void)
{
	if (!ev.running)
		return;
	pthread_mutex_lock(&ev.lock);
	ev.stopping = 1;
	pthread_cond_signal(&ev.wake);
	pthread_mutex_unlock(&ev.lock);
	pthread_join(ev.writer, NULL);
	/* Threads may still emit (peer threads inside FreeRDP at exit): stop
	 * queueing under the lock, write what was queued after the writer's
	 * last look, and clear the ring under the lock too. */
	pthread_mutex_lock(&ev.lock);
	ev.running = 0;
	struct line *rest = ev.head;
	ev.head = ev.tail = NULL;
	for (size_t i = 0; i < RING_SIZE; i++) {
		free(ev.ring[i]);
		ev.ring[i] = NULL;
	}
	pthread_mutex_unlock(&ev.lock);
	write_batch(rest);
	if (ev.out && !ev.out_is_stdout)
		fclose(ev.out);
	else if (ev.out)
		fflush(ev.out);
	ev.out = NULL;
}

void events_emit(uint64_t conn, const char *event, json_t *fields)
{
	json_t *obj = json_object();
	json_object_set_new(obj, "ts_ms", json_integer((json_int_t)events_now_ms()));
	json_object_set_new(obj, "conn", json_integer((json_int_t)conn));
	json_object_set_new(obj, "event", json_string(event));
	if (fields) {
		json_object_update(obj, fields);
		json_decref(fields);
	}
	char *text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (!text)
		return;

	struct line *l = malloc(sizeof(*l));
	char *copy = strdup(text);
	if (!l || !copy) {
		free(l);
		free(copy);
		free(text);
		return;
	}
	l->next = NULL;
	l->text = text;

	pthread_mutex_lock(&ev.lock);
	size_t slot = ev.count % RING_SIZE;
	free(ev.ring[slot]);
	ev.ring[slot] = copy;
	ev.ring_conn[slot] = conn;
	ev.count++;
	if (ev.running) {
		if (ev.tail)
			ev.tail->next = l;
		else
			ev.head = l;
		ev.tail = l;
		pthread_cond_signal(&ev.wake);
		l = NULL;
	}
	pthread_mutex_unlock(&ev.lock);
	if (l) { /* no writer: the ring keeps the copy */
		free(l->text);
		free(l);
	}
}

uint64_t events_count(void)
{
	pthread_mutex_lock(&ev.lock);
	uint64_t n = ev.count;
	pthread_mutex_unlock(&ev.lock);
	return n;
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
		json_t *o = json_loads(ev.ring[slot], 0, NULL);
		if (o)
			json_array_insert_new(arr, 0, o);
	}
	pthread_mutex_unlock(&ev.lock);
	return arr;
}
