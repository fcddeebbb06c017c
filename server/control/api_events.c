/* api_events.c — the event log over HTTP: GET /events?since&wait&limit, a
 * long poll (the request is held, checked every POLL_MS, answered as soon
 * as a line after `since` exists or the wait is over), and GET
 * /events/stream, Server-Sent Events until the client leaves. */
#include "control/api_ctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "base/clock.h"
#include "base/events.h"

#define POLL_MS 20
#define WAIT_MAX_MS 60000
#define EVENTS_MAX 1000 /* lines one GET /events answers with at most */

/* GET /events: the lines after ?since (default 0), at most ?limit. */
static int answer_events(struct evhttp_request *req, uint64_t since, size_t max, int force)
{
	uint64_t last, oldest;
	json_t *lines = events_since(since, max, &last, &oldest);
	if (!json_array_size(lines) && !force) {
		json_decref(lines);
		return 0;
	}
	reply_json(req, 200,
	           json_pack("{s:o, s:I, s:I, s:b}", "events", lines, "next", (json_int_t)last,
	                     "oldest", (json_int_t)oldest, "missed", since + 1 < oldest));
	return 1;
}

static void waiter_free(struct waiter *w)
{
	LIST_REMOVE(w, link);
	event_free(w->timer);
	free(w);
}

/* GET /events/stream: every new line as an SSE event ("id: SEQ"). */
static void stream_more(struct waiter *w)
{
	uint64_t last, oldest;
	json_t *lines = events_since(w->since, EVENTS_MAX, &last, &oldest);
	if (json_array_size(lines)) {
		struct evbuffer *b = evbuffer_new();
		size_t i;
		json_t *e;
		json_array_foreach(lines, i, e)
		{
			char *text = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
			if (text)
				evbuffer_add_printf(
				        b, "id: %lld\nevent: %s\ndata: %s\n\n",
				        (long long)json_integer_value(json_object_get(e, "seq")),
				        json_string_value(json_object_get(e, "event")), text);
			free(text);
		}
		evhttp_send_reply_chunk(w->req, b);
		evbuffer_free(b);
		w->since = last;
	}
	json_decref(lines);
}

/* The client left while its request waited: evhttp has detached the
 * request from its connection (the reply was not done), and a reply call
 * on it now frees it. */
static int release_if_gone(struct waiter *w)
{
	if (evhttp_request_get_connection(w->req))
		return 0;
	if (w->stream)
		evhttp_send_reply_end(w->req);
	else
		evhttp_send_reply(w->req, 200, NULL, NULL);
	waiter_free(w);
	return 1;
}

static void on_wait_timer(evutil_socket_t fd, short what, void *arg)
{
	struct waiter *w = arg;
	(void)fd;
	(void)what;
	if (release_if_gone(w))
		return;
	if (w->stream) {
		stream_more(w);
		struct timeval tv = timeval_ms(POLL_MS);
		evtimer_add(w->timer, &tv);
		return;
	}
	if (answer_events(w->req, w->since, w->max, events_now_ms() >= w->deadline_ms)) {
		evhttp_connection_set_closecb(evhttp_request_get_connection(w->req), NULL, NULL);
		waiter_free(w);
		return;
	}
	struct timeval tv = timeval_ms(POLL_MS);
	evtimer_add(w->timer, &tv);
}

/* The client went away while it waited. */
static void on_waiter_gone(struct evhttp_connection *conn, void *arg)
{
	struct api *a = arg;
	struct waiter *w, *next;
	for (w = LIST_FIRST(&a->waiters); w; w = next) {
		next = LIST_NEXT(w, link);
		if (evhttp_request_get_connection(w->req) == conn) {
			waiter_free(w); /* evhttp frees the request itself */
		}
	}
}

/* A held request, polled every POLL_MS (its timer armed), forgotten when
 * its client leaves. */
static struct waiter *waiter_new(struct api *a, struct evhttp_request *req, uint64_t since)
{
	struct waiter *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	struct evhttp_connection *conn = evhttp_request_get_connection(req);
	w->a = a;
	w->req = req;
	w->since = since;
	w->timer = evtimer_new(evhttp_connection_get_base(conn), on_wait_timer, w);
	LIST_INSERT_HEAD(&a->waiters, w, link);
	evhttp_connection_set_closecb(conn, on_waiter_gone, a);
	struct timeval tv = timeval_ms(POLL_MS);
	evtimer_add(w->timer, &tv);
	return w;
}

void get_event_stream(struct api *a, struct evhttp_request *req, struct evkeyvalq *q)
{
	uint64_t since = 0;
	const char *v;
	if ((v = evhttp_find_header(q, "since")) && parse_u64(v, UINT64_MAX, &since) < 0)
		return reply_error(req, 400, "since", "since '%s': expected a sequence number", v);
	/* A reconnecting EventSource says where it was. */
	const char *last =
	        evhttp_find_header(evhttp_request_get_input_headers(req), "Last-Event-ID");
	if (last && parse_u64(last, UINT64_MAX, &since) < 0)
		return reply_error(req, 400, "Last-Event-ID",
		                   "Last-Event-ID '%s': expected a number", last);
	struct waiter *w = waiter_new(a, req, since);
	if (!w)
		return reply_error(req, 500, NULL, "out of memory");
	w->stream = 1;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Type", "text/event-stream");
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply_start(req, 200, "OK");
	stream_more(w);
}

void get_events(struct api *a, struct evhttp_request *req, struct evkeyvalq *q)
{
	uint64_t since = 0, wait = 0, limit = EVENTS_MAX;
	const char *v;
	if ((v = evhttp_find_header(q, "since")) && parse_u64(v, UINT64_MAX, &since) < 0)
		return reply_error(req, 400, "since", "since '%s': expected a sequence number", v);
	if ((v = evhttp_find_header(q, "wait")) && parse_u64(v, WAIT_MAX_MS, &wait) < 0)
		return reply_error(req, 400, "wait", "wait '%s': expected milliseconds, 0-%d", v,
		                   WAIT_MAX_MS);
	if ((v = evhttp_find_header(q, "limit")) &&
	    (parse_u64(v, EVENTS_MAX, &limit) < 0 || limit == 0))
		return reply_error(req, 400, "limit", "limit '%s': expected 1-%d", v, EVENTS_MAX);
	if (answer_events(req, since, (size_t)limit, wait == 0))
		return;
	struct waiter *w = waiter_new(a, req, since);
	if (!w)
		return reply_error(req, 500, NULL, "out of memory");
	w->max = (size_t)limit;
	w->deadline_ms = events_now_ms() + wait;
}

/* The loop has stopped: nothing more would be written. A waiter's
 * connection is closed with its request (evhttp frees both). */
void events_waiters_close(struct api *a)
{
	while (!LIST_EMPTY(&a->waiters)) {
		struct waiter *w = LIST_FIRST(&a->waiters);
		struct evhttp_connection *conn = evhttp_request_get_connection(w->req);
		if (release_if_gone(w))
			continue;
		waiter_free(w);
		evhttp_connection_set_closecb(conn, NULL, NULL);
		evhttp_connection_free(conn);
	}
}
