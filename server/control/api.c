/* api.c — the control API's routes and replies (see api.h, docs/api.md).
 *
 * evhttp parses the requests on the harness's loop thread, the thread the
 * relay and the listeners live on, so a handler reads their state without
 * a lock. Every reply is JSON (the metrics: Prometheus text), every error
 * {"error": ..., "field": ...} with its status. GET /events?wait=MS is a
 * long poll: the request is held, checked every POLL_MS, answered as soon
 * as a line after `since` exists or the wait is over. */
#include "control/api.h"

#include "control/auth.h"
#include "control/page.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/netaddr.h"
#include "transport/udpside.h"
#include "catalog/render.h"
#include "engine/conn.h"
#include "engine/relay.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"

#define POLL_MS 20
#define WAIT_MAX_MS 60000
#define EVENTS_MAX 1000 /* lines one GET /events answers with at most */

struct waiter {
	LIST_ENTRY(waiter) link;
	struct api *a;
	struct evhttp_request *req;
	uint64_t since;
	size_t max;
	uint64_t deadline_ms;
	struct event *timer;
	int stream; /* GET /events/stream: Server-Sent Events until the client leaves */
};

struct api {
	struct harness *h;
	struct evhttp *http;
	LIST_HEAD(, waiter) waiters;
	char *token; /* --api-token: every request carries it (NULL: none) */
};

/* ---------------------------------------------------------------- replies */

static void reply_json(struct evhttp_request *req, int status, json_t *body)
{
	struct evbuffer *b = evbuffer_new();
	char *text = json_dumps(body, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(body);
	if (b && text) {
		evbuffer_add(b, text, strlen(text));
		evbuffer_add(b, "\n", 1);
	}
	free(text);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "application/json");
	evhttp_send_reply(req, status, NULL, b);
	if (b)
		evbuffer_free(b);
}

static void reply_error(struct evhttp_request *req, int status, const char *field, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
static void reply_error(struct evhttp_request *req, int status, const char *field, const char *fmt,
                        ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	json_t *o = json_pack("{s:s}", "error", msg);
	if (field)
		json_object_set_new(o, "field", json_string(field));
	reply_json(req, status, o);
}

/* ---------------------------------------------------------------- routes */

static void get_version(struct api *a, struct evhttp_request *req)
{
	(void)a;
	reply_json(req, 200,
	           json_pack("{s:s, s:i}", "version", RDPFAULT_VERSION, "events_schema_version",
	                     EVENTS_SCHEMA_VERSION));
}

static void get_scenarios(struct api *a, struct evhttp_request *req, const char *name)
{
	const struct serving *sv = &a->h->serving;
	if (!name) {
		json_t *arr = render_list_json((const struct scenario *const *)a->h->catalog.items,
		                               a->h->catalog.n, -1);
		for (size_t i = 0; i < sv->n; i++)
			if (sv->items[i].port)
				json_object_set_new(json_array_get(arr, i), "port",
				                    json_integer(sv->items[i].port));
		reply_json(req, 200, arr);
		return;
	}
	const struct served *s = serving_find(sv, name);
	if (!s) {
		reply_error(req, 404, "name", "no scenario named '%s'", name);
		return;
	}
	json_t *o = render_scenario_json(s->sc);
	if (s->port)
		json_object_set_new(o, "port", json_integer(s->port));
	reply_json(req, 200, o);
}

static int parse_u64(const char *text, uint64_t max, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!text || !*text || *text == '-')
		return -1;
	unsigned long long v = strtoull(text, &end, 10);
	if (errno || *end || v > max)
		return -1;
	*out = v;
	return 0;
}

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

static void get_event_stream(struct api *a, struct evhttp_request *req, struct evkeyvalq *q)
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

static void get_events(struct api *a, struct evhttp_request *req, struct evkeyvalq *q)
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

static void delete_connection(struct api *a, struct evhttp_request *req, const char *id_text,
                              struct evkeyvalq *q)
{
	(void)a;
	uint64_t id;
	if (parse_u64(id_text, UINT64_MAX, &id) < 0 || id == 0)
		return reply_error(req, 400, "id", "'%s' is not a connection id", id_text);
	const char *mode = evhttp_find_header(q, "mode");
	if (!mode)
		mode = "reset";
	if (strcmp(mode, "reset") && strcmp(mode, "close"))
		return reply_error(req, 400, "mode", "mode '%s': expected reset or close", mode);
	if (relay_cut_conn(id, !strcmp(mode, "reset")) < 0)
		return reply_error(req, 404, "id",
		                   "no live relayed connection %s (GET /connections lists them)",
		                   id_text);
	reply_json(req, 200, json_pack("{s:I, s:s}", "id", (json_int_t)id, "cut", mode));
}

static void metric(struct evbuffer *b, const char *name, const char *help, const char *type)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void get_metrics(struct api *a, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	const struct serving *sv = &a->h->serving;
	metric(b, "rdpfault_connections_total", "Connections accepted.", "counter");
	evbuffer_add_printf(b, "rdpfault_connections_total %llu\n",
	                    (unsigned long long)conn_total_count());
	metric(b, "rdpfault_connections_live", "Connections not yet closed.", "gauge");
	evbuffer_add_printf(b, "rdpfault_connections_live %ld\n", conn_live_count());
	metric(b, "rdpfault_relays_live", "Connections in the relay.", "gauge");
	evbuffer_add_printf(b, "rdpfault_relays_live %ld\n", relay_live());
	metric(b, "rdpfault_events_total", "Event log lines.", "counter");
	evbuffer_add_printf(b, "rdpfault_events_total %llu\n", (unsigned long long)events_count());
	metric(b, "rdpfault_events_dropped_total", "Event log lines the sink could not take.",
	       "counter");
	evbuffer_add_printf(b, "rdpfault_events_dropped_total %llu\n",
	                    (unsigned long long)events_dropped());
	metric(b, "rdpfault_admission_total", "Admission decisions of scenarios with limits.",
	       "counter");
	static const char *const policies[] = {"syn-drop", "accept-close", "accept-reset", "hold"};
	for (size_t i = 0; i < sv->n; i++) {
		const struct served *s = &sv->items[i];
		if (s->sc->admission.max_outstanding < 0 && s->sc->admission.max_sessions < 0)
			continue;
		evbuffer_add_printf(
		        b, "rdpfault_admission_total{scenario=\"%s\",decision=\"admitted\"} %ld\n",
		        s->sc->name, atomic_load(&s->adm.admitted));
		for (int p = 0; p < 4; p++)
			evbuffer_add_printf(b,
			                    "rdpfault_admission_total{scenario=\"%s\",decision="
			                    "\"refused\",policy=\"%s\"} %ld\n",
			                    s->sc->name, policies[p],
			                    atomic_load(&s->adm.refused[p]));
		evbuffer_add_printf(b,
		                    "rdpfault_admission_total{scenario=\"%s\",decision=\"session-"
		                    "limited\"} %ld\n",
		                    s->sc->name, atomic_load(&s->adm.session_limited));
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
	                  "text/plain; version=0.0.4");
	evhttp_send_reply(req, 200, NULL, b);
	evbuffer_free(b);
}

/* ---------------------------------------------------------------- toxics */

static struct listener *find_listener(struct api *a, const char *name)
{
	struct front *f = &a->h->front;
	for (size_t i = 0; i < f->n_listeners; i++)
		if (!f->listeners[i].removed && !strcmp(f->listeners[i].name, name))
			return &f->listeners[i];
	return NULL;
}

static struct net_cond *find_toxic(struct listener *l, const char *name)
{
	for (size_t i = 0; i < l->toxics.n; i++)
		if (!strcmp(l->toxics.items[i].name, name))
			return &l->toxics.items[i];
	return NULL;
}

/* The request's body as JSON, or NULL after a 400. */
static json_t *body_json(struct evhttp_request *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	const char *data = (const char *)evbuffer_pullup(in, -1);
	json_error_t jerr;
	json_t *o = json_loadb(data ? data : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		reply_error(req, 400, "", "malformed JSON: %s (line %d, column %d)", jerr.text,
		            jerr.line, jerr.column);
	return o;
}

/* live: the live connections the change reached (updates and removals). */
static void toxic_event(const struct listener *l, const char *action, const struct net_cond *c,
                        size_t live)
{
	events_emit(0, "toxic",
	            json_pack("{s:s, s:s, s:o, s:I}", "action", action, "listener", l->name,
	                      "toxic", net_cond_json(c), "live_connections", (json_int_t)live));
}

static void toxics_route(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type cmd,
                         const char *lname, const char *tname)
{
	struct listener *l = find_listener(a, lname);
	if (!l)
		return reply_error(req, 404, "listener",
		                   "no listener '%s' (GET /listeners names them)", lname);
	char why[400];
	const char *field = NULL;
	if (!tname && cmd == EVHTTP_REQ_GET) {
		json_t *arr = json_array();
		for (size_t i = 0; i < l->toxics.n; i++)
			json_array_append_new(arr, net_cond_json(&l->toxics.items[i]));
		return reply_json(req, 200, arr);
	}
	if (!tname && cmd == EVHTTP_REQ_POST) {
		json_t *o = body_json(req);
		if (!o)
			return;
		struct net_cond c;
		int rc = net_cond_from_json(o, &c, why, sizeof why, &field);
		json_decref(o);
		if (rc < 0)
			return reply_error(req, 400, field, "%s", why);
		if (find_toxic(l, c.name))
			return reply_error(req, 409, "name",
			                   "listener %s has a toxic named '%s' already", l->name,
			                   c.name);
		if (net_plan_append(&l->toxics, &c, 1) < 0)
			return reply_error(req, 500, NULL, "out of memory");
		size_t live = relay_add_condition(&l->toxics, &c);
		toxic_event(l, "added", &c, live);
		json_t *j = net_cond_json(&c);
		json_object_set_new(j, "live_connections", json_integer((json_int_t)live));
		return reply_json(req, 201, j);
	}
	struct net_cond *t = tname ? find_toxic(l, tname) : NULL;
	if (tname && !t)
		return reply_error(req, 404, "toxic", "listener %s has no toxic '%s'", l->name,
		                   tname);
	if (t && cmd == EVHTTP_REQ_GET)
		return reply_json(req, 200, net_cond_json(t));
	if (t && cmd == EVHTTP_REQ_POST) {
		json_t *o = body_json(req);
		if (!o)
			return;
		int rc = net_cond_update_json(t, o, why, sizeof why, &field);
		if (rc < 0)
			reply_error(req, 400, field, "%s", why); /* field may be a key of o */
		json_decref(o);
		if (rc < 0)
			return;
		size_t live = relay_update_conditions(&l->toxics, t, 0);
		toxic_event(l, "updated", t, live);
		json_t *j = net_cond_json(t);
		json_object_set_new(j, "live_connections", json_integer((json_int_t)live));
		return reply_json(req, 200, j);
	}
	if (t && cmd == EVHTTP_REQ_DELETE) {
		toxic_event(l, "removed", t, relay_update_conditions(&l->toxics, t, 1));
		size_t i = (size_t)(t - l->toxics.items);
		memmove(t, t + 1, (l->toxics.n - i - 1) * sizeof(*t));
		l->toxics.n--;
		for (size_t k = 0; k < l->toxics.n; k++)
			l->toxics.items[k].def.id = (int)k;
		evhttp_send_reply(req, 204, NULL, NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	                  tname ? "GET, POST, DELETE" : "GET, POST");
	reply_error(req, 405, NULL, "%s takes %s", tname ? "a toxic" : "toxics",
	            tname ? "GET, POST or DELETE" : "GET or POST");
}

static json_t *listener_json(const struct listener *l)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:b, s:b, s:I, s:o}", "address", l->name,
	                      "host", l->host, "port", l->port, "kind", l->kind, "scenario",
	                      served_name(l->def), "port_chosen", l->port_chosen, "enabled",
	                      l->evl != NULL, "toxics", (json_int_t)l->toxics.n, "schedule",
	                      listener_schedule_json(l));
	if (l->label[0])
		json_object_set_new(o, "name", json_string(l->label));
	return o;
}

/* A schedule's steps from [{"scenario": NAME, "count": N}, ..., {"scenario":
 * NAME}]: 0, or -1 after a 400/404. */
static int schedule_from_json(struct api *a, struct evhttp_request *req, const json_t *v,
                              struct sched_step *steps, size_t *n)
{
	size_t i;
	json_t *st;
	*n = 0;
	if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > SCHED_STEPS_MAX) {
		reply_error(req, 400, "schedule", "schedule: expected 1-%d steps, or null",
		            SCHED_STEPS_MAX);
		return -1;
	}
	json_array_foreach(v, i, st)
	{
		const json_t *sc = json_object_get(st, "scenario"),
		             *cnt = json_object_get(st, "count");
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)st, k,
		                    x) if (strcmp(k, "scenario") && strcmp(k, "count"))
		{
			reply_error(req, 400, "schedule",
			            "schedule[%zu]: unknown field \"%.64s\" (scenario, count)", i,
			            k);
			return -1;
		}
		const struct served *s =
		        json_is_string(sc) ? serving_find(&a->h->serving, json_string_value(sc))
		                           : NULL;
		if (!s) {
			reply_error(req, json_is_string(sc) ? 404 : 400, "schedule",
			            "schedule[%zu].scenario: expected the name of a scenario", i);
			return -1;
		}
		if (s->n_sched) {
			reply_error(
			        req, 400, "schedule",
			        "schedule[%zu].scenario: '%s' is a schedule itself (a step serves "
			        "one scenario)",
			        i, served_name(s));
			return -1;
		}
		long count = -1;
		if (cnt && (!json_is_integer(cnt) || json_integer_value(cnt) < 1 ||
		            json_integer_value(cnt) > 1000000)) {
			reply_error(req, 400, "schedule", "schedule[%zu].count: expected 1-1000000",
			            i);
			return -1;
		}
		if (cnt)
			count = (long)json_integer_value(cnt);
		else if (i + 1 < json_array_size(v))
			count = 1;
		steps[i].s = s;
		steps[i].count = count;
	}
	*n = json_array_size(v);
	return 0;
}

/* POST /listeners/{address}: {"scenario": NAME, "enabled": BOOL,
 * "schedule": [...] | null, "match": {"client": IP} | null}. Everything is
 * checked before anything applies. */
static void update_listener(struct api *a, struct evhttp_request *req, struct listener *l)
{
	json_t *o = body_json(req);
	if (!o)
		return;
	const char *k;
	json_t *v;
	const struct served *def = l->def;
	int enabled = l->evl != NULL;
	struct sched_step steps[SCHED_STEPS_MAX];
	size_t n_steps = l->n_sched;
	int set_sched = 0;
	char match[48];
	snprintf(match, sizeof match, "%s", l->sched_match);
	memcpy(steps, l->sched, sizeof steps);
	if (!json_is_object(o)) {
		json_decref(o);
		return reply_error(req, 400, "", "expected a JSON object");
	}
	json_object_foreach(o, k, v)
	{
		if (!strcmp(k, "scenario")) {
			def = json_is_string(v) ? serving_find(&a->h->serving, json_string_value(v))
			                        : NULL;
			if (!def) {
				reply_error(req, json_is_string(v) ? 404 : 400, "scenario",
				            "scenario: expected the name of a scenario (GET "
				            "/scenarios)");
				json_decref(o);
				return;
			}
		} else if (!strcmp(k, "enabled")) {
			if (!json_is_boolean(v)) {
				reply_error(req, 400, "enabled", "enabled: expected true or false");
				json_decref(o);
				return;
			}
			enabled = json_is_true(v);
		} else if (!strcmp(k, "schedule")) {
			set_sched = 1;
			if (json_is_null(v)) {
				n_steps = 0;
			} else if (schedule_from_json(a, req, v, steps, &n_steps) < 0) {
				json_decref(o);
				return;
			}
		} else if (!strcmp(k, "match")) {
			set_sched = 1;
			const json_t *cl = json_object_get(v, "client");
			struct in6_addr a6;
			if (json_is_null(v)) {
				match[0] = '\0';
			} else if (!json_is_object(v) || json_object_size(v) != 1 ||
			           !json_is_string(cl) ||
			           (inet_pton(AF_INET, json_string_value(cl), &a6) != 1 &&
			            inet_pton(AF_INET6, json_string_value(cl), &a6) != 1)) {
				reply_error(req, 400, "match",
				            "match: expected {\"client\": \"IP address\"} or null");
				json_decref(o);
				return;
			} else {
				snprintf(match, sizeof match, "%s", json_string_value(cl));
			}
		} else if (!strcmp(k, "address") && json_is_string(v) &&
		           !strcmp(json_string_value(v), l->name)) {
			continue;
		} else {
			reply_error(
			        req, 400, "",
			        "%.64s: an update changes scenario and enabled only (a listener's "
			        "address is fixed)",
			        k);
			json_decref(o);
			return;
		}
	}
	json_decref(o);
	char err[256];
	if (listener_enable(l, enabled, err, sizeof err) < 0)
		return reply_error(req, 409, "enabled", "%s", err);
	l->def = def;
	if (set_sched)
		listener_set_schedule(l, steps, n_steps, match);
	events_emit(0, "listener",
	            json_pack("{s:s, s:s, s:b}", "listener", l->name, "scenario",
	                      served_name(l->def), "enabled", l->evl != NULL));
	reply_json(req, 200, listener_json(l));
}

/* A new listener's spec, {"listen": "ADDR:PORT", "scenario", "enabled",
 * "name"}, checked (not opened). 0, or -1 after a 400/404. */
struct new_listener {
	char host[48];
	int port;
	const struct served *def;
	int enabled;
	char label[48];
};

static int parse_new_listener(struct api *a, struct evhttp_request *req, const json_t *o,
                              struct new_listener *nl)
{
	memset(nl, 0, sizeof(*nl));
	nl->def = a->h->default_served;
	nl->enabled = 1;
	const char *k;
	json_t *v;
	if (!json_is_object(o)) {
		reply_error(req, 400, "", "expected a JSON object {\"listen\", \"scenario\", ...}");
		return -1;
	}
	json_object_foreach((json_t *)o, k, v)
	{
		if (!strcmp(k, "listen") && json_is_string(v)) {
			const char *t = json_string_value(v);
			const char *colon = strrchr(t, ':');
			char host[64];
			long port = -1;
			if (colon) {
				size_t hl = (size_t)(colon - t);
				if (t[0] == '[' && hl >= 2 && t[hl - 1] == ']')
					snprintf(host, sizeof host, "%.*s", (int)(hl - 2), t + 1);
				else
					snprintf(host, sizeof host, "%.*s", (int)hl, t);
				char *end;
				port = strtol(colon + 1, &end, 10);
				if (!colon[1] || *end)
					port = -1;
			}
			struct sockaddr_storage ss;
			memset(&ss, 0, sizeof ss);
			struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
			struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
			int ok = port >= 0 && port <= 65535 && strlen(host) < sizeof nl->host;
			if (ok && inet_pton(AF_INET, host, &a4->sin_addr) == 1)
				a4->sin_family = AF_INET;
			else if (ok && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1)
				a6->sin6_family = AF_INET6;
			else
				ok = 0;
			if (!ok || !addr_is_loopback((struct sockaddr *)&ss)) {
				reply_error(req, 400, "listen",
				            "listen: expected a loopback ADDR:PORT (127.0.0.0/8 or "
				            "[::1])");
				return -1;
			}
			snprintf(nl->host, sizeof nl->host, "%s", host);
			nl->port = (int)port;
		} else if (!strcmp(k, "scenario") && json_is_string(v)) {
			nl->def = serving_find(&a->h->serving, json_string_value(v));
			if (!nl->def) {
				reply_error(req, 404, "scenario", "no scenario named '%s'",
				            json_string_value(v));
				return -1;
			}
		} else if (!strcmp(k, "enabled") && json_is_boolean(v)) {
			nl->enabled = json_is_true(v);
		} else if (!strcmp(k, "name") && json_is_string(v) &&
		           strlen(json_string_value(v)) < sizeof nl->label) {
			snprintf(nl->label, sizeof nl->label, "%s", json_string_value(v));
		} else {
			reply_error(req, 400, k,
			            "%.64s: unknown or of the wrong type (listen: \"ADDR:PORT\", "
			            "scenario: NAME, enabled: BOOL, name: TEXT)",
			            k);
			return -1;
		}
	}
	if (!nl->host[0]) {
		reply_error(req, 400, "listen", "listen: required, a loopback ADDR:PORT");
		return -1;
	}
	return 0;
}

static struct listener *open_new_listener(struct api *a, struct evhttp_request *req,
                                          const struct new_listener *nl)
{
	char err[256];
	struct listener *l =
	        harness_add_listener(a->h, nl->host, nl->port, nl->def, err, sizeof err);
	if (!l) {
		reply_error(req, 409, "listen", "%s", err);
		return NULL;
	}
	snprintf(l->label, sizeof l->label, "%s", nl->label);
	if (!nl->enabled)
		listener_enable(l, 0, err, sizeof err);
	events_emit(0, "listener",
	            json_pack("{s:s, s:s, s:b, s:s}", "listener", l->name, "scenario",
	                      served_name(l->def), "enabled", l->evl != NULL, "action", "added"));
	return l;
}

static void remove_listener(struct listener *l)
{
	char err[64];
	listener_enable(l, 0, err, sizeof err);
	udpside_close(l->udp);
	l->udp = NULL;
	l->removed = 1;
	events_emit(0, "listener",
	            json_pack("{s:s, s:s}", "listener", l->name, "action", "removed"));
}

/* POST /listeners. */
static void create_listener(struct api *a, struct evhttp_request *req)
{
	json_t *o = body_json(req);
	if (!o)
		return;
	struct new_listener nl;
	int rc = parse_new_listener(a, req, o, &nl);
	json_decref(o);
	if (rc < 0)
		return;
	struct listener *l = open_new_listener(a, req, &nl);
	if (l)
		reply_json(req, 201, listener_json(l));
}

/* POST /populate: [{listen, scenario, enabled, name}, ...]: each address
 * that has a listener is updated, the others are opened. Every item is
 * checked first; a bind that fails closes what this call opened. */
static void populate(struct api *a, struct evhttp_request *req)
{
	json_t *o = body_json(req);
	if (!o)
		return;
	size_t n = json_is_array(o) ? json_array_size(o) : 0;
	if (!json_is_array(o) || n > HARNESS_API_LISTENERS) {
		json_decref(o);
		return reply_error(req, 400, "", "expected an array of at most %d listeners",
		                   HARNESS_API_LISTENERS);
	}
	struct new_listener *nl = calloc(n ? n : 1, sizeof(*nl));
	struct listener **opened = calloc(n ? n : 1, sizeof(*opened));
	size_t n_opened = 0;
	int failed = 0;
	for (size_t i = 0; i < n && !failed; i++)
		failed = parse_new_listener(a, req, json_array_get(o, i), &nl[i]) < 0;
	json_decref(o);
	json_t *out = json_array();
	for (size_t i = 0; i < n && !failed; i++) {
		char addr[80], err[256];
		snprintf(addr, sizeof addr, strchr(nl[i].host, ':') ? "[%s]:%d" : "%s:%d",
		         nl[i].host, nl[i].port);
		struct listener *l = nl[i].port ? find_listener(a, addr) : NULL;
		if (l) {
			if (listener_enable(l, nl[i].enabled, err, sizeof err) < 0) {
				reply_error(req, 409, "listen", "%s", err);
				failed = 1;
				break;
			}
			l->def = nl[i].def;
		} else if (!(l = open_new_listener(a, req, &nl[i]))) {
			failed = 1;
			break;
		} else {
			opened[n_opened++] = l;
		}
		json_array_append_new(out, listener_json(l));
	}
	if (failed) {
		for (size_t i = 0; i < n_opened; i++)
			remove_listener(opened[i]);
		json_decref(out);
	} else {
		reply_json(req, 200, out);
	}
	free(nl);
	free(opened);
}

/* POST /reset: every listener as it started, every toxic gone, the API's
 * own listeners closed. */
static void reset_all(struct api *a, struct evhttp_request *req)
{
	struct front *f = &a->h->front;
	char err[256];
	int failed = 0;
	for (size_t i = 0; i < f->n_listeners; i++) {
		struct listener *l = &f->listeners[i];
		if (!l->removed && !strcmp(l->kind, "api")) {
			net_plan_free(&l->toxics);
			remove_listener(l);
		}
		if (l->removed)
			continue;
		net_plan_free(&l->toxics);
		l->def = l->start_def ? l->start_def : l->def;
		listener_set_schedule(l, l->start_sched, l->n_start_sched, NULL);
		if (listener_enable(l, 1, err, sizeof err) < 0)
			failed++;
	}
	events_emit(0, "listener", json_pack("{s:s}", "reset", "every listener"));
	if (failed)
		return reply_error(req, 409, NULL, "%d listener%s could not listen again: %s",
		                   failed, failed == 1 ? "" : "s", err);
	reply_json(req, 200, json_pack("{s:b}", "reset", 1));
}

/* "/a/b" -> up to 4 segments (pointers into buf, %-decoded). */
static int split_path(const char *path, char *buf, size_t n, const char *seg[4])
{
	char *dec = evhttp_uridecode(path, 0, NULL);
	if (!dec)
		return -1;
	snprintf(buf, n, "%s", dec);
	free(dec);
	int k = 0;
	for (char *p = buf, *s; (s = strsep(&p, "/"));) {
		if (!*s)
			continue;
		if (k == 4)
			return -1;
		seg[k++] = s;
	}
	return k;
}

static void route(struct evhttp_request *req, void *arg)
{
	struct api *a = arg;
	if (a->token &&
	    !api_auth_ok(evhttp_find_header(evhttp_request_get_input_headers(req), "Authorization"),
	                 a->token)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "WWW-Authenticate",
		                  "Bearer realm=\"rdpfault\"");
		reply_error(req, 401, "Authorization",
		            "this API takes a token: send Authorization: Bearer TOKEN");
		return;
	}
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	char buf[512];
	const char *seg[4] = {NULL, NULL, NULL, NULL};
	int n = path ? split_path(path, buf, sizeof buf, seg) : -1;
	struct evkeyvalq q;
	TAILQ_INIT(&q);
	const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
	if (query && evhttp_parse_query_str(query, &q) < 0) {
		reply_error(req, 400, NULL, "the query string cannot be parsed");
		return;
	}
	const char *want = NULL; /* the methods the path takes, for a 405 */
	if (n == 0) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET) {
			struct evbuffer *b = evbuffer_new();
			page_catalog(a->h, a->h->api_address, b);
			evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
			                  "text/html; charset=utf-8");
			evhttp_send_reply(req, 200, NULL, b);
			evbuffer_free(b);
		}
	} else if (n == 1 && !strcmp(seg[0], "version")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			get_version(a, req);
	} else if ((n == 1 || n == 2) && !strcmp(seg[0], "scenarios")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			get_scenarios(a, req, n == 2 ? seg[1] : NULL);
	} else if ((n == 3 || n == 4) && !strcmp(seg[0], "listeners") &&
	           !strcmp(seg[2], "toxics")) {
		toxics_route(a, req, cmd, seg[1], n == 4 ? seg[3] : NULL);
	} else if (n == 2 && !strcmp(seg[0], "listeners")) {
		want = "GET, POST, DELETE";
		struct listener *l = find_listener(a, seg[1]);
		int known =
		        cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_POST || cmd == EVHTTP_REQ_DELETE;
		if (known && !l) {
			reply_error(req, 404, "listener",
			            "no listener '%s' (GET /listeners names them)", seg[1]);
		} else if (cmd == EVHTTP_REQ_GET) {
			reply_json(req, 200, listener_json(l));
		} else if (cmd == EVHTTP_REQ_DELETE) {
			remove_listener(l);
			evhttp_send_reply(req, 204, NULL, NULL);
		} else if (cmd == EVHTTP_REQ_POST) {
			update_listener(a, req, l);
		}
		if (known)
			want = NULL;
	} else if (n == 1 && !strcmp(seg[0], "populate")) {
		want = "POST";
		if (cmd == EVHTTP_REQ_POST)
			populate(a, req);
	} else if (n == 1 && !strcmp(seg[0], "reset")) {
		want = "POST";
		if (cmd == EVHTTP_REQ_POST)
			reset_all(a, req);
	} else if (n == 1 && !strcmp(seg[0], "listeners")) {
		want = "GET, POST";
		if (cmd == EVHTTP_REQ_GET) {
			json_t *arr = json_array();
			for (size_t i = 0; i < a->h->front.n_listeners; i++)
				if (!a->h->front.listeners[i].removed)
					json_array_append_new(
					        arr, listener_json(&a->h->front.listeners[i]));
			reply_json(req, 200, arr);
		} else if (cmd == EVHTTP_REQ_POST) {
			create_listener(a, req);
		}
		if (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_POST)
			want = NULL;
	} else if (n == 1 && !strcmp(seg[0], "connections")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			reply_json(req, 200, conn_live_json());
	} else if (n == 2 && !strcmp(seg[0], "connections")) {
		want = "DELETE";
		if (cmd == EVHTTP_REQ_DELETE)
			delete_connection(a, req, seg[1], &q);
	} else if (n == 2 && !strcmp(seg[0], "events") && !strcmp(seg[1], "stream")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			get_event_stream(a, req, &q);
	} else if (n == 1 && !strcmp(seg[0], "events")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			get_events(a, req, &q);
	} else if (n == 1 && !strcmp(seg[0], "metrics")) {
		want = "GET";
		if (cmd == EVHTTP_REQ_GET)
			get_metrics(a, req);
	} else {
		reply_error(req, 404, "path", "no such resource: %s (docs/api.md lists them)",
		            path ? path : "(none)");
		evhttp_clear_headers(&q);
		return;
	}
	if ((want && !strcmp(want, "GET") && cmd != EVHTTP_REQ_GET) ||
	    (want && !strcmp(want, "POST") && cmd != EVHTTP_REQ_POST) ||
	    (want && !strcmp(want, "GET, POST")) || (want && !strcmp(want, "GET, POST, DELETE")) ||
	    (want && !strcmp(want, "DELETE") && cmd != EVHTTP_REQ_DELETE)) {
		evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", want);
		reply_error(req, 405, NULL, "%s takes %s", path, want);
	}
	evhttp_clear_headers(&q);
}

int api_start(struct api **out, struct harness *h, const char *host, int port, const char *token,
              char *err, size_t n)
{
	*out = NULL;
	struct api *a = calloc(1, sizeof(*a));
	if (a && token && !(a->token = strdup(token))) {
		free(a);
		a = NULL;
	}
	if (!a || !(a->http = evhttp_new(h->front.base))) {
		if (a)
			free(a->token);
		free(a);
		snprintf(err, n, "--api: cannot make the HTTP server");
		return -1;
	}
	a->h = h;
	LIST_INIT(&a->waiters);
	evhttp_set_allowed_methods(a->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_DELETE |
	                                            EVHTTP_REQ_PUT | EVHTTP_REQ_HEAD);
	evhttp_set_max_body_size(a->http, 1 << 20);
	evhttp_set_timeout(a->http, 120);
	evhttp_set_gencb(a->http, route, a);
	struct evhttp_bound_socket *bs =
	        evhttp_bind_socket_with_handle(a->http, host, (ev_uint16_t)port);
	if (!bs) {
		snprintf(err, n, "--api %s:%d: cannot listen: %s", host, port, strerror(errno));
		evhttp_free(a->http);
		free(a->token);
		free(a);
		return -1;
	}
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char addr[80] = "";
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&ss, &len) == 0)
		addr_text((struct sockaddr *)&ss, addr, sizeof addr);
	snprintf(h->api_address, sizeof h->api_address, "%s", addr);
	*out = a;
	return 0;
}

void api_stop(struct api *a)
{
	if (!a)
		return;
	/* The loop has stopped: nothing more would be written. A waiter's
	 * connection is closed with its request (evhttp frees both). */
	while (!LIST_EMPTY(&a->waiters)) {
		struct waiter *w = LIST_FIRST(&a->waiters);
		struct evhttp_connection *conn = evhttp_request_get_connection(w->req);
		if (release_if_gone(w))
			continue;
		waiter_free(w);
		evhttp_connection_set_closecb(conn, NULL, NULL);
		evhttp_connection_free(conn);
	}
	evhttp_free(a->http);
	free(a->token);
	free(a);
}
