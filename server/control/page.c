/* page.c — the catalog page (see page.h). Every text from a scenario file
 * goes through esc(): the files are the user's, the page is a browser's. */
#include "control/page.h"

#include <string.h>

#include <jansson.h>

#include "catalog/render.h"
#include "frontdoor/harness.h"
#include "frontdoor/listener.h"

static void esc(struct evbuffer *b, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			evbuffer_add(b, s, 1);
		}
	}
}

static const char *str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static const char head[] =
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
        "<title>rdpfault catalog</title>\n<style>\n"
        "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b;background:#fafafa}\n"
        "h1{margin:0 0 .2em}table{border-collapse:collapse;width:100%}\n"
        "th,td{border-bottom:1px solid #ddd;padding:.45em "
        ".6em;vertical-align:top;text-align:left}\n"
        "th{background:#eee;position:sticky;top:0}code{background:#f0f0f0;padding:0 .25em}\n"
        "td.port{font-weight:600}.ok{color:#0a6b0a}.failed{color:#a01010}\n"
        ".live{font-weight:600;color:#07509e}.tags{color:#666;font-size:90%}\n"
        "#conns td{font-family:monospace}\n</style></head><body>\n";

void page_catalog(const struct harness *h, const char *api_address, struct evbuffer *b)
{
	const struct serving *sv = &h->serving;
	evbuffer_add(b, head, sizeof head - 1);
	evbuffer_add_printf(b,
	                    "<h1>rdpfault</h1>\n<p>%zu scenarios, each a server-side condition "
	                    "behind an RDP connection failure, on its own port. Live connections: "
	                    "<span class=\"live\" id=\"nlive\">0</span>.</p>\n",
	                    sv->n);
	evbuffer_add_printf(b, "<h2>Live connections</h2>\n<table id=\"conns\"><thead><tr><th>id"
	                       "</th><th>client</th><th>scenario</th><th>phase</th><th>bytes in"
	                       "</th><th>bytes out</th><th>age ms</th></tr></thead><tbody>"
	                       "</tbody></table>\n");
	evbuffer_add_printf(b, "<h2>Scenarios</h2>\n<table id=\"scenarios\"><thead><tr>"
	                       "<th>scenario</th><th>port</th><th>reproduces</th><th>try it</th>"
	                       "<th>expected</th><th>live</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < sv->n; i++) {
		const struct served *s = &sv->items[i];
		json_t *o = render_scenario_json(s->sc);
		evbuffer_add_printf(b, "<tr id=\"sc-");
		esc(b, s->sc->name);
		evbuffer_add_printf(b, "\"><td><code>");
		esc(b, s->sc->name);
		evbuffer_add_printf(b, "</code>");
		if (s->sc->alias) {
			evbuffer_add_printf(b, "<br><span class=\"tags\">alias ");
			esc(b, s->sc->alias);
			evbuffer_add_printf(b, "</span>");
		}
		evbuffer_add_printf(b, "<br>");
		esc(b, s->sc->summary);
		evbuffer_add_printf(b, "</td><td class=\"port\">");
		if (s->port)
			evbuffer_add_printf(b, "%d", s->port);
		else
			evbuffer_add_printf(b, "cookie");
		evbuffer_add_printf(b, "</td><td>");
		esc(b, s->sc->reproduces);
		for (size_t c = 0; c < s->net.n; c++) {
			const struct net_cond *nc = &s->net.items[c];
			evbuffer_add_printf(b, "<br><span class=\"tags\">Network: %s %s",
			                    nc->t->name, net_streams_str(nc->streams));
			for (size_t k = 0; k < nc->t->n_attrs; k++)
				evbuffer_add_printf(b, " %s=%.15g", nc->t->attrs[k].name,
				                    nc->def.a[k]);
			evbuffer_add_printf(b, "</span>");
		}
		evbuffer_add_printf(b, "<br><span class=\"tags\">Field report: ");
		esc(b, s->sc->field_report);
		evbuffer_add_printf(b, "</span></td><td>");
		/* The commands: by its own port when it has one, else by cookie. */
		char target[96];
		if (s->port)
			snprintf(target, sizeof target, "127.0.0.1:%d", s->port);
		else if (h->front.n_listeners)
			snprintf(target, sizeof target, "%s", h->front.listeners[0].name);
		else
			snprintf(target, sizeof target, "127.0.0.1:3389");
		/* xfreerdp with the arguments its expectation was measured with. */
		const struct sc_expect *xf = scenario_expect_for(s->sc, "xfreerdp");
		evbuffer_add_printf(b, "<code>xfreerdp /v:");
		esc(b, target);
		evbuffer_add_printf(b, " /u:");
		esc(b, s->sc->name);
		evbuffer_add_printf(b, " /p:x ");
		esc(b, xf && xf->args ? xf->args : "/cert:ignore");
		evbuffer_add_printf(b, "</code><br><code>rdesktop -u ");
		esc(b, s->sc->name);
		evbuffer_add_printf(b, " ");
		esc(b, target);
		evbuffer_add_printf(b, "</code></td><td>");
		size_t k;
		json_t *e;
		json_array_foreach(json_object_get(o, "expect"), k, e)
		{
			const char *result = str(e, "result");
			evbuffer_add_printf(b, "<div><b>");
			esc(b, str(e, "client"));
			evbuffer_add_printf(b, "</b>: <span class=\"%s\">",
			                    result && !strcmp(result, "connected") ? "ok"
			                                                           : "failed");
			esc(b, result);
			evbuffer_add_printf(b, "</span>");
			if (json_object_get(e, "exit"))
				evbuffer_add_printf(
				        b, ", exit %lld",
				        (long long)json_integer_value(json_object_get(e, "exit")));
			if (str(e, "log")) {
				evbuffer_add_printf(b, " <code>");
				esc(b, str(e, "log"));
				evbuffer_add_printf(b, "</code>");
			}
			evbuffer_add_printf(b, "</div>");
		}
		evbuffer_add_printf(b, "</td><td class=\"live\" data-live=\"");
		esc(b, s->sc->name);
		evbuffer_add_printf(b, "\">0</td></tr>\n");
		json_decref(o);
	}
	evbuffer_add_printf(b, "</tbody></table>\n");
	/* The live connections, from the API that served the page. */
	evbuffer_add_printf(
	        b, "<script>\n"
	           "function cell(t){var d=document.createElement('td');d.textContent=t;return d}\n"
	           "function refresh(){fetch('/connections').then(function(r){return r.json()})"
	           ".then(function(cs){var tb=document.querySelector('#conns tbody');"
	           "tb.textContent='';var by={};cs.forEach(function(c){var tr="
	           "document.createElement('tr');[c.id,c.client,c.scenario||'-',c.phase,"
	           "c.bytes_from_client,c.bytes_to_client,c.age_ms].forEach(function(v){"
	           "tr.appendChild(cell(String(v)))});tb.appendChild(tr);if(c.scenario)"
	           "by[c.scenario]=(by[c.scenario]||0)+1});document.getElementById('nlive')"
	           ".textContent=cs.length;document.querySelectorAll('[data-live]').forEach("
	           "function(td){td.textContent=by[td.getAttribute('data-live')]||0})})"
	           ".catch(function(){})}\nrefresh();setInterval(refresh,2000);\n</script>\n");
	evbuffer_add_printf(b, "<p class=\"tags\">Served by the control API on ");
	esc(b, api_address);
	evbuffer_add_printf(b, " (docs/api.md).</p>\n</body></html>\n");
}
