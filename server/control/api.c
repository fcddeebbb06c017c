/* api.c — the control API's server, its routing and replies, and the small
 * routes (version, scenarios, connections, metrics); the event log's routes
 * are api_events.c's, the listeners' api_listeners.c's, their toxics'
 * api_toxics.c's (see api.h, docs/api.md).
 *
 * evhttp parses the requests on the harness's loop thread, the thread the
 * relay and the listeners live on, so a handler reads their state without
 * a lock. Every reply is JSON (the metrics: Prometheus text), every error
 * {"error": ..., "field": ...} with its status. */
#include "control/api.h"

#include "control/api_ctx.h"

#include "control/auth.h"
#include "control/page.h"

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

#include "base/events.h"
#include "base/netaddr.h"
#include "catalog/render.h"
#include "engine/conn.h"
#include "engine/relay.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"

/* ---------------------------------------------------------------- replies */

void reply_json(struct evhttp_request *req, int status, json_t *body)
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

void reply_error(struct evhttp_request *req, int status, const char *field, const char *fmt, ...)
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

int parse_u64(const char *text, uint64_t max, uint64_t *out)
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

/* ---------------------------------------------------------------- shared */

/* The request's body as JSON, or NULL after a 400. */
json_t *body_json(struct evhttp_request *req)
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

struct listener *find_listener(struct api *a, const char *name)
{
	struct front *f = &a->h->front;
	for (size_t i = 0; i < f->n_listeners; i++)
		if (!f->listeners[i].removed && !strcmp(f->listeners[i].name, name))
			return &f->listeners[i];
	return NULL;
}

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
	events_waiters_close(a);
	evhttp_free(a->http);
	free(a->token);
	free(a);
}
