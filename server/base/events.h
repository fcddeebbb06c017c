/* events.h — the JSON-lines event log (docs/events.md lists every field).
 *
 * Any thread may emit; a line is queued and written by the writer thread,
 * so emitting never blocks on I/O (FreeRDP's WLog callback emits while
 * holding WLog's global lock). Every queued line is written before
 * events_close() returns: nothing logged is lost on exit. The most recent
 * lines are also kept in memory for readers inside the process. */
#ifndef RDPFAULT_EVENTS_H
#define RDPFAULT_EVENTS_H

#include <jansson.h>
#include <stdint.h>

/* path: a file (appended to), "-" for stdout, or NULL for none (events are
 * then only counted and kept in memory). Returns 0, or -1 with err set. */
int events_open(const char *path, char *err, size_t errlen);
/* Writes everything queued, stops the writer, closes the file. Returns -1
 * when the sink blocked past the wait (the writer is stuck in a write and
 * holds the stream: the caller must leave with _exit, as exit() would
 * flush that stream and block too), else 0. */
/* Holds every line until a "start" event (connection 0), which is then
 * written first: the log's first line is "start" whatever start-up logged
 * before it. events_close() writes what is held if no start came. */
void events_start_first(void);
/* Waits (at most timeout_ms) until every line emitted so far is written:
 * 0, or -1 when the sink is slower. */
int events_flush(int timeout_ms);
int events_close(void);

/* The event log's schema (docs/events.schema.json), said in "start": a
 * change that can break a reader raises it. */
#define EVENTS_SCHEMA_VERSION 2

/* Milliseconds on the monotonic clock since events_clock_start(). */
uint64_t events_now_ms(void);
void events_clock_start(void);
/* ts_ms as wall-clock time, RFC 3339 in UTC to the millisecond
 * ("2026-12-03T16:05:01.123Z"): the start's wall clock plus ts_ms, so the
 * two never disagree and a clock step does not reorder the log. */
void events_wall_time(uint64_t ts_ms, char *buf, size_t n);

/* Emits one event for connection `conn` (0: the harness itself). `fields`
 * is stolen (may be NULL); "ts_ms", "time", "conn" and "event" are set
 * here. */
void events_emit(uint64_t conn, const char *event, json_t *fields);
/* The same, with the fields as JSON text already: an object as jansson
 * writes it (JSON_COMPACT), made once and kept for an event whose fields
 * never change ("phase" without detail); NULL or "{}" for none. */
void events_emit_text(uint64_t conn, const char *event, const char *fields_json);

/* Lines not written: dropped while the sink could not keep up (the queue
 * is bounded), or after it failed. */
uint64_t events_dropped(void);

/* Lines written or queued so far. */
uint64_t events_count(void);

/* Copies of the last `max` lines (newest last) as a JSON array of objects,
 * those of connection `conn` only when conn != 0. New reference. */
json_t *events_recent(uint64_t conn, size_t max);

/* The lines after sequence number `since` (line n of the log is n, from
 * 1), oldest first, at most max, each with its "seq". *last: the seq of
 * the last one returned (since when none); *oldest: the oldest seq still
 * kept (RING_SIZE lines are): a reader behind it missed lines. */
json_t *events_since(uint64_t since, size_t max, uint64_t *last, uint64_t *oldest);

#endif
