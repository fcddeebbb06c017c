/* api_listeners.c — listeners over HTTP: their JSON, updates (scenario,
 * enabled, schedule, match), new ones, removal, /populate and /reset;
 * every change checked whole before any of it applies. */
#include "control/api_ctx.h"

#include <arpa/inet.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "base/events.h"
#include "base/netaddr.h"
#include "catalog/served.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"
#include "transport/udpside.h"

json_t *listener_json(const struct listener *l)
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
void update_listener(struct api *a, struct evhttp_request *req, struct listener *l)
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
			socklen_t sslen;
			int ok = port >= 0 && port <= 65535 && strlen(host) < sizeof nl->host &&
			         addr_parse(host, (int)port, &ss, &sslen) == 0;
			if (!ok || !addr_is_loopback((struct sockaddr *)&ss)) {
				reply_error(req, 400, "listen",
				            "listen: expected a loopback ADDR:PORT (127.0.0.0/8 or "
				            "[::1])");
				return -1;
			}
			snprintf(nl->host, sizeof nl->host, "%.*s", (int)sizeof nl->host - 1, host);
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

void remove_listener(struct listener *l)
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
void create_listener(struct api *a, struct evhttp_request *req)
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
void populate(struct api *a, struct evhttp_request *req)
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
void reset_all(struct api *a, struct evhttp_request *req)
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
