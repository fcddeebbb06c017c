/* api_toxics.c — a listener's network conditions over HTTP:
 * /listeners/{address}/toxics[/{name}], changes that reach its live
 * connections too (engine/relay.h). */
#include "control/api_ctx.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>

#include "base/events.h"
#include "catalog/netplan.h"
#include "engine/relay.h"
#include "frontdoor/listener.h"

static struct net_cond *find_toxic(struct listener *l, const char *name)
{
	for (size_t i = 0; i < l->toxics.n; i++)
		if (!strcmp(l->toxics.items[i].name, name))
			return &l->toxics.items[i];
	return NULL;
}

/* live: the live connections the change reached (updates and removals). */
static void toxic_event(const struct listener *l, const char *action, const struct net_cond *c,
                        size_t live)
{
	events_emit(0, "toxic",
	            json_pack("{s:s, s:s, s:o, s:I}", "action", action, "listener", l->name,
	                      "toxic", net_cond_json(c), "live_connections", (json_int_t)live));
}

void toxics_route(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type cmd,
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
