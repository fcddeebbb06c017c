/* render.c — the catalog for people and programs (see render.h): `list`,
 * `show NAME` as text or JSON, and `show --phases/--actions`. */
#include "catalog/render.h"

#include "catalog/netplan.h"

#include <string.h>

#include "base/phase.h"
#include "catalog/faultplan.h"
#include "catalog/find.h"

static json_t *expect_json(const struct sc_expect *e)
{
	json_t *o = json_pack("{s:s}", "client", e->client);
	if (e->result)
		json_object_set_new(o, "result", json_string(e->result));
	if (e->exit_code >= 0)
		json_object_set_new(o, "exit", json_integer(e->exit_code));
	const char *keys[] = {"log", "code", "extended", "message", "note", "args"};
	const char *vals[] = {e->log, e->code, e->extended, e->message, e->note, e->args};
	for (size_t i = 0; i < 6; i++)
		if (vals[i])
			json_object_set_new(o, keys[i], json_string(vals[i]));
	return o;
}

json_t *render_scenario_json(const struct scenario *s)
{
	char protos[32];
	json_t *faults = json_array(), *expect = json_array(), *tags = json_array();
	for (size_t i = 0; i < s->n_faults; i++) {
		json_t *f = json_pack("{s:s}", "action", s->faults[i].action);
		if (s->faults[i].at)
			json_object_set_new(f, "at", json_string(s->faults[i].at));
		json_t *p = json_object();
		for (size_t k = 0; k < s->faults[i].n_params; k++)
			json_object_set_new(p, s->faults[i].params[k].key,
			                    json_string(s->faults[i].params[k].value));
		json_object_set_new(f, "params", p);
		json_array_append_new(faults, f);
	}
	for (size_t i = 0; i < s->n_expect; i++)
		json_array_append_new(expect, expect_json(&s->expect[i]));
	for (char **t = s->tags; t && *t; t++)
		json_array_append_new(tags, json_string(*t));
	const struct sc_admission *a = &s->admission;
	json_t *adm = json_pack("{s:i, s:s, s:i, s:i, s:i, s:i}", "max_outstanding",
	                        a->max_outstanding, "policy", sc_policy_str(a->policy), "prefill",
	                        a->prefill, "backlog", a->backlog, "prelogon_timeout_ms",
	                        a->prelogon_timeout_ms, "max_sessions", a->max_sessions);
	json_t *o = json_pack(
	        "{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:i, s:i, s:i, s:s?}, "
	        "s:{s:s, s:i, s:s, s:I, s:I}, s:s?, s:s?, s:o, s:o}",
	        "name", s->name, "file", s->file, "port_offset", s->port_offset, "summary",
	        s->summary, "reproduces", s->reproduces, "field_report", s->field_report, "tags",
	        tags, "security", "protocols",
	        sc_protocols_str(s->protocols, protos, sizeof(protos)), "encryption_level",
	        sc_encryption_level_str(s->encryption_level), "tls_min", s->tls_min, "tls_max",
	        s->tls_max, "tls_security_level", s->tls_sec_level, "tls_ciphers", s->tls_ciphers,
	        "certificate", "subject_cn", s->cert.subject_cn, "key_bits", s->cert.key_bits,
	        "digest", s->cert.digest, "not_before_offset_s",
	        (json_int_t)s->cert.not_before_offset, "not_after_offset_s",
	        (json_int_t)s->cert.not_after_offset, "account_user", s->account.user,
	        "account_password", s->account.password, "faults", faults, "expect", expect);
	json_object_set_new(o, "admission", adm);
	json_t *net = json_array();
	struct net_plan np;
	if (net_plan_compile(s, &np, NULL) == 0) {
		for (size_t i = 0; i < np.n; i++)
			json_array_append_new(net, net_cond_json(&np.items[i]));
		net_plan_free(&np);
	}
	json_object_set_new(o, "network", net);
	if (s->n_schedule) {
		json_t *steps = json_array();
		for (size_t i = 0; i < s->n_schedule; i++) {
			json_t *st = json_pack("{s:s}", "scenario", s->schedule[i].scenario);
			if (s->schedule[i].count >= 0)
				json_object_set_new(st, "count",
				                    json_integer(s->schedule[i].count));
			json_array_append_new(steps, st);
		}
		json_object_set_new(o, "schedule", steps);
	}
	if (s->template_name)
		json_object_set_new(o, "template", json_string(s->template_name));
	if (s->alias)
		json_object_set_new(o, "alias", json_string(s->alias));
	const struct sc_multitransport *m = &s->multitransport;
	if (m->on) {
		char mtp[32];
		json_t *pr = json_array();
		sc_mt_protocols_str(m->protocols, mtp, sizeof(mtp));
		for (char *save = NULL, *t = strtok_r(mtp, ",", &save); t;
		     t = strtok_r(NULL, ",", &save))
			json_array_append_new(pr, json_string(t));
		json_object_set_new(o, "multitransport",
		                    json_pack("{s:o, s:s, s:i, s:s, s:i, s:s}", "protocols", pr,
		                              "udp", sc_udp_mode_str(m->udp), "response_timeout_ms",
		                              m->response_timeout_ms, "fallback",
		                              sc_fallback_str(m->fallback), "fallback_after_ms",
		                              m->fallback_after_ms, "deny_code",
		                              m->deny_code ? m->deny_code : "0x7"));
	}
	return o;
}

static const char *tls_text(uint16_t v)
{
	switch (v) {
	case 0x0301:
		return "1.0";
	case 0x0302:
		return "1.1";
	case 0x0303:
		return "1.2";
	case 0x0304:
		return "1.3";
	default:
		return "?";
	}
}

/* "now-1d", "now+365d", "now+90m": an offset from the harness's start. */
static void print_offset(FILE *out, long s)
{
	long a = s < 0 ? -s : s;
	char sign = s < 0 ? '-' : '+';
	if (a % 86400 == 0)
		fprintf(out, "now%c%ldd", sign, a / 86400);
	else if (a % 3600 == 0)
		fprintf(out, "now%c%ldh", sign, a / 3600);
	else
		fprintf(out, "now%c%lds", sign, a);
}

/* Each client's expected outcome, and how to select the scenario. */
static void render_expect_text(const struct scenario *s, FILE *out)
{
	fprintf(out, "\nExpected outcome per client:\n");
	for (size_t i = 0; i < s->n_expect; i++) {
		const struct sc_expect *e = &s->expect[i];
		fprintf(out, "  %-10s %s", e->client, e->result ? e->result : "");
		if (e->exit_code >= 0)
			fprintf(out, ", exit code %d", e->exit_code);
		if (e->code)
			fprintf(out, ", code %s", e->code);
		if (e->extended)
			fprintf(out, " extended %s", e->extended);
		fprintf(out, "\n");
		if (e->message)
			fprintf(out, "  %-10s message: %s\n", "", e->message);
		if (e->log)
			fprintf(out, "  %-10s prints: %s\n", "", e->log);
		if (e->args)
			fprintf(out, "  %-10s run with: %s\n", "", e->args);
		if (e->note)
			fprintf(out, "  %-10s %s\n", "", e->note);
	}
	fprintf(out,
	        "\nSelect it with the cookie (xfreerdp /u:%s%s%s) or its own port (serve "
	        "--port-base BASE: BASE+%d; mstsc: 'rdpfault rdp-file %s').\nFile: %s\n",
	        s->name, s->alias ? ", mstsc /u:" : "", s->alias ? s->alias : "", s->port_offset,
	        s->name, s->file);
}

void render_scenario_text(const struct scenario *s, FILE *out)
{
	char protos[32];
	fprintf(out, "%s — %s\n\n", s->name, s->summary);
	fprintf(out, "Reproduces:\n  %s\n\n", s->reproduces);
	fprintf(out, "Field report:\n  %s\n\n", s->field_report);
	if (s->n_schedule) {
		/* A schedule serves its steps: their own `show` says the rest. */
		fprintf(out, "Schedule (each client address's connections, in turn):\n");
		for (size_t i = 0; i < s->n_schedule; i++) {
			if (s->schedule[i].count >= 0)
				fprintf(out, "  %d x %s\n", s->schedule[i].count,
				        s->schedule[i].scenario);
			else
				fprintf(out, "  then %s, for good\n", s->schedule[i].scenario);
		}
		render_expect_text(s, out);
		return;
	}
	fprintf(out, "Server:\n");
	fprintf(out, "  security layers   %s\n",
	        sc_protocols_str(s->protocols, protos, sizeof(protos)));
	if (s->protocols & SC_PROTO_RDP)
		fprintf(out, "  encryption level  %s\n",
		        sc_encryption_level_str(s->encryption_level));
	if (s->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) {
		fprintf(out, "  TLS versions      %s to %s (OpenSSL security level %d)\n",
		        tls_text(s->tls_min), tls_text(s->tls_max), s->tls_sec_level);
		if (s->tls_ciphers)
			fprintf(out, "  TLS ciphers       %s\n", s->tls_ciphers);
		fprintf(out, "  certificate       CN=%s, RSA-%d, %s, ", s->cert.subject_cn,
		        s->cert.key_bits, s->cert.digest);
		fprintf(out, "valid from ");
		print_offset(out, s->cert.not_before_offset);
		fprintf(out, " to ");
		print_offset(out, s->cert.not_after_offset);
		fprintf(out, "\n");
	}
	if (s->account.user)
		fprintf(out, "  NLA account       %s%s%s / %s\n",
		        s->account.domain && *s->account.domain ? s->account.domain : "",
		        s->account.domain && *s->account.domain ? "\\" : "", s->account.user,
		        s->account.password);
	const struct sc_admission *a = &s->admission;
	if (a->max_outstanding >= 0) {
		fprintf(out,
		        "  admission         at most %d outstanding (accepted, not yet active); "
		        "past "
		        "that: %s",
		        a->max_outstanding, sc_policy_str(a->policy));
		if (a->prefill)
			fprintf(out, "; %d phantom slot%s from the start", a->prefill,
			        a->prefill == 1 ? "" : "s");
		if (a->policy == SC_POLICY_SYN_DROP)
			fprintf(out, "; kernel queue %d", a->backlog >= 0 ? a->backlog : 0);
		fprintf(out, "\n");
	}
	if (a->prelogon_timeout_ms >= 0)
		fprintf(out, "  pre-logon timeout %d ms\n", a->prelogon_timeout_ms);
	if (a->max_sessions >= 0)
		fprintf(out,
		        "  session limit     %d active; past it Set Error Info %s at licensing\n",
		        a->max_sessions, a->session_limit_code ? a->session_limit_code : "0x7");
	const struct sc_multitransport *m = &s->multitransport;
	if (m->on) {
		char mtp[32];
		fprintf(out,
		        "  multitransport    offers UDP (%s) to clients that advertise it; UDP "
		        "side: %s\n",
		        sc_mt_protocols_str(m->protocols, mtp, sizeof(mtp)),
		        sc_udp_mode_str(m->udp));
		fprintf(out,
		        "  fallback          waits %d ms for the client's responses, then %d ms, "
		        "then %s",
		        m->response_timeout_ms, m->fallback_after_ms, sc_fallback_str(m->fallback));
		if (m->fallback == SC_FALLBACK_DENY)
			fprintf(out, " (Set Error Info %s)", m->deny_code ? m->deny_code : "0x7");
		fprintf(out, "\n");
	}
	if (s->n_faults == 0)
		fprintf(out, "  faults            none\n");
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct sc_fault *f = &s->faults[i];
		fprintf(out, "  fault             %s%s%s", f->action, f->at ? " at " : "",
		        f->at ? f->at : "");
		for (size_t k = 0; k < f->n_params; k++)
			fprintf(out, " %s=%s", f->params[k].key, f->params[k].value);
		if (f->at && phase_from_name(f->at) != PH_NONE)
			fprintf(out, " (%s)", phase_description(phase_from_name(f->at)));
		fprintf(out, "\n");
	}
	struct net_plan np;
	if (net_plan_compile(s, &np, NULL) == 0) {
		for (size_t i = 0; i < np.n; i++) {
			const struct net_cond *c = &np.items[i];
			fprintf(out, "  network           %s %s", c->t->name,
			        net_streams_str(c->streams));
			for (size_t k = 0; k < c->t->n_attrs; k++)
				fprintf(out, " %s=%.15g", c->t->attrs[k].name, c->def.a[k]);
			if (c->def.from_phase)
				fprintf(out, ", from %s",
				        phase_name((enum phase)c->def.from_phase));
			if (c->def.after_bytes != TX_NEVER)
				fprintf(out, ", after %llu bytes",
				        (unsigned long long)c->def.after_bytes);
			if (c->toxicity < 1)
				fprintf(out, ", on %g%% of connections", c->toxicity * 100);
			fprintf(out, " (%s)\n", c->t->summary);
		}
		net_plan_free(&np);
	}
	render_expect_text(s, out);
}

/* What a scenario's expectations say each client shows, for list --json. */
static json_t *codes_json(const struct scenario *s)
{
	json_t *codes = json_array();
	for (size_t i = 0; i < s->n_expect; i++) {
		const struct sc_expect *e = &s->expect[i];
		if (!e->code && !e->extended)
			continue;
		json_t *o = json_pack("{s:s}", "client", e->client);
		if (e->code)
			json_object_set_new(o, "code", json_string(e->code));
		if (e->extended)
			json_object_set_new(o, "extended", json_string(e->extended));
		json_array_append_new(codes, o);
	}
	return codes;
}

static json_t *strv_json(char **v)
{
	json_t *a = json_array();
	for (; v && *v; v++)
		json_array_append_new(a, json_string(*v));
	return a;
}

json_t *render_list_json(const struct scenario *const *items, size_t n, int port_base)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < n; i++) {
		const struct scenario *s = items[i];
		json_t *o = json_pack("{s:s, s:s?, s:i, s:s, s:o, s:s, s:o}", "name", s->name,
		                      "alias", s->alias, "port_offset", s->port_offset, "summary",
		                      s->summary, "tags", strv_json(s->tags), "field_report",
		                      s->field_report, "codes", codes_json(s));
		if (s->template_name)
			json_object_set_new(o, "template", json_string(s->template_name));
		if (port_base >= 0)
			json_object_set_new(o, "port", json_integer(port_base + s->port_offset));
		json_array_append_new(arr, o);
	}
	return arr;
}

void render_list(const struct scenario *const *items, size_t n, int port_base, int json, FILE *out)
{
	if (json) {
		json_t *arr = render_list_json(items, n, port_base);
		json_dumpf(arr, out, JSON_INDENT(2));
		fprintf(out, "\n");
		json_decref(arr);
		return;
	}
	fprintf(out, "%-32s %-9s %-6s %s\n", "SCENARIO", "ALIAS",
	        port_base >= 0 ? "PORT" : "OFFSET", "SUMMARY");
	for (size_t i = 0; i < n; i++)
		fprintf(out, "%-32s %-9s %-6d %s\n", items[i]->name,
		        items[i]->alias ? items[i]->alias : "-",
		        (port_base >= 0 ? port_base : 0) + items[i]->port_offset,
		        items[i]->summary);
}

static void render_network_types(json_t *all, FILE *out)
{
	size_t i, j;
	json_t *o, *a;
	json_array_foreach(all, i, o)
	{
		fprintf(out, "%s\n    %s\n", json_string_value(json_object_get(o, "type")),
		        json_string_value(json_object_get(o, "summary")));
		json_array_foreach(json_object_get(o, "attributes"), j, a)
		{
			const char *unit = json_string_value(json_object_get(a, "unit"));
			fprintf(out, "    %-15s %.15g-%.15g%s%s, default %.15g: %s\n",
			        json_string_value(json_object_get(a, "name")),
			        json_real_value(json_object_get(a, "min")),
			        json_real_value(json_object_get(a, "max")), *unit ? " " : "", unit,
			        json_real_value(json_object_get(a, "default")),
			        json_string_value(json_object_get(a, "what")));
		}
	}
	fprintf(out, "\nEvery condition also takes: name, stream (upstream, downstream or both),\n"
	             "toxicity (0-1, the share of connections), trigger (from_phase: PHASE or\n"
	             "after_bytes: N). See docs/scenario-format.md.\n");
}

void render_model(int which, int json, FILE *out)
{
	json_t *all = which == 1                ? phases_json()
	              : which == RENDER_NETWORK ? net_types_json()
	                                        : fault_actions_json();
	if (json) {
		json_dumpf(all, out, JSON_INDENT(2));
		fprintf(out, "\n");
	} else {
		size_t i;
		json_t *o;
		if (which == RENDER_NETWORK) {
			render_network_types(all, out);
			json_decref(all);
			return;
		}
		json_array_foreach(all, i, o)
		{
			if (which == 1) {
				json_t *cut = json_object_get(o, "cut");
				fprintf(out, "%-18s %s\n",
				        json_string_value(json_object_get(o, "phase")),
				        json_string_value(json_object_get(o, "when")));
				fprintf(out, "%-18s   short code (template aliases): %s\n", "",
				        json_string_value(json_object_get(o, "code")));
				fprintf(out, "%-18s   a cut strikes when the server has sent: %s\n",
				        "", json_string_value(json_object_get(cut, "server_sent")));
				fprintf(out, "%-18s   and the harness has read: %s\n", "",
				        json_string_value(json_object_get(cut, "harness_read")));
				fprintf(out, "%-18s   %s\n", "",
				        strcmp(json_string_value(json_object_get(cut, "moment")),
				               "client-waits") == 0
				                ? "at once: the client waits for the server"
				                : "once the client fell quiet (200 ms without a "
				                  "byte)");
				continue;
			}
			fprintf(out, "%s\n    %s\n    strikes at:",
			        json_string_value(json_object_get(o, "action")),
			        json_string_value(json_object_get(o, "what")));
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(o, "phases"), j, v)
			        fprintf(out, " %s", json_string_value(v));
			if (json_object_get(o, "default_phase"))
				fprintf(out, " (default %s)",
				        json_string_value(json_object_get(o, "default_phase")));
			fprintf(out, "\n    params:");
			json_array_foreach(json_object_get(o, "params"), j, v)
			        fprintf(out, " %s", json_string_value(v));
			fprintf(out, "\n");
		}
	}
	json_decref(all);
}

static const char *match_word(int score)
{
	switch (score) {
	case 4:
		return "exact";
	case 3:
		return "code";
	case 2:
		return "related";
	default:
		return "other-extended";
	}
}

/* "deny at active (code=ERRINFO_SERVER_DENIED_CONNECTION)": where and how
 * the scenario's server acts, which is what tells the hits apart. */
static void strikes_text(const struct scenario *s, char *buf, size_t n)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < s->n_faults && used < n; i++) {
		const struct sc_fault *f = &s->faults[i];
		used += (size_t)snprintf(buf + used, n - used, "%s%s at %s", i ? "; " : "",
		                         f->action, f->at ? f->at : "its default phase");
		const char *code = sc_fault_param(f, "code");
		if (code && used < n)
			used += (size_t)snprintf(buf + used, n - used, " (%s)", code);
	}
	if (!s->n_faults)
		snprintf(buf, n, "no fault of its own: its configuration (see 'rdpfault show %s')",
		         s->name);
}

/* Whether a related hit before i came from the same template. */
static int template_seen(const struct find_hit *hits, size_t i, const char *template_name)
{
	for (size_t j = 0; j < i; j++)
		if (hits[j].score < 3 && hits[j].s->template_name &&
		    strcmp(hits[j].s->template_name, template_name) == 0)
			return 1;
	return 0;
}

void render_find(const struct find_hit *hits, size_t n, size_t total, const char *code,
                 const char *extended, int port_base, int json, FILE *out)
{
	char strikes[512];
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++) {
			const struct scenario *s = hits[i].s;
			json_t *st = json_array();
			for (size_t k = 0; k < s->n_faults; k++)
				json_array_append_new(st, json_pack("{s:s, s:s?}", "action",
				                                    s->faults[k].action, "at",
				                                    s->faults[k].at));
			json_t *o = json_pack("{s:s, s:s?, s:s, s:i, s:s, s:o}", "name", s->name,
			                      "alias", s->alias, "match", match_word(hits[i].score),
			                      "score", hits[i].score, "summary", s->summary,
			                      "faults", st);
			if (hits[i].e)
				json_object_set_new(o, "client", json_string(hits[i].e->client));
			if (port_base >= 0)
				json_object_set_new(o, "port",
				                    json_integer(port_base + s->port_offset));
			json_array_append_new(arr, o);
		}
		json_t *all = json_pack("{s:s, s:s?, s:I, s:o}", "code", code, "extended", extended,
		                        "matches", (json_int_t)total, "scenarios", arr);
		json_dumpf(all, out, JSON_INDENT(2));
		fputc('\n', out);
		json_decref(all);
		return;
	}
	size_t exact = 0;
	for (size_t i = 0; i < n; i++)
		exact += hits[i].score >= 3;
	fprintf(out, "%s%s%s: %zu scenario%s expect%s it", code, extended ? ", extended " : "",
	        extended ? extended : "", exact, exact == 1 ? "" : "s", exact == 1 ? "s" : "");
	if (total > exact)
		fprintf(out, ", %zu more are related", total - exact);
	fputs(".\n", out);
	int group = -1;
	for (size_t i = 0; i < n; i++) {
		const struct scenario *s = hits[i].s;
		int g = hits[i].score >= 3 ? 0 : 1;
		if (g != group) {
			group = g;
			if (g == 1)
				fputs("\nRelated: the same code with another (or no recorded) "
				      "extended "
				      "code, or a server that sends that code:\n",
				      out);
		}
		if (g == 1 && s->template_name) {
			/* A related template's instances are one entry: they
			 * differ only in the phase. */
			if (template_seen(hits, i, s->template_name))
				continue;
			size_t k = 0;
			for (size_t j = i; j < n; j++)
				k += hits[j].score < 3 && hits[j].s->template_name &&
				     strcmp(hits[j].s->template_name, s->template_name) == 0;
			fprintf(out,
			        "\n  %s-PHASE: %zu scenarios (%s, ...; 'rdpfault list %s-*')\n",
			        s->template_name, k, s->name, s->template_name);
			fprintf(out, "    %s\n", s->summary);
			continue;
		}
		strikes_text(s, strikes, sizeof(strikes));
		fprintf(out, "\n  %s", s->name);
		if (s->alias)
			fprintf(out, " (mstsc /u:%s)", s->alias);
		if (port_base >= 0)
			fprintf(out, ", port %d", port_base + s->port_offset);
		fprintf(out, "\n    %s\n    the server: %s\n", s->summary, strikes);
		const struct sc_expect *e = hits[i].e;
		if (e && e->code)
			fprintf(out, "    %s shows: %s%s%s%s%s\n", e->client, e->code,
			        e->extended ? ", extended " : "", e->extended ? e->extended : "",
			        e->message ? ": " : "", e->message ? e->message : "");
	}
	if (n < total)
		fprintf(out, "\n  ... and %zu more (--json lists them all)\n", total - n);
	if (n)
		fputs("\nWhat tells them apart is where the server acts (\"the server:\" above): "
		      "serve them, connect the customer's client to each, and compare where its "
		      "connection got to ('rdpfault timeline' shows it); 'rdpfault show NAME' says "
		      "what each one reproduces.\n",
		      out);
}
