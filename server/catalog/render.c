/* render.c — the catalog for people and programs (see render.h): `list`,
 * `show NAME` as text or JSON, and `show --phases/--actions`. */
#include "catalog/render.h"

#include <string.h>

#include "base/phase.h"
#include "catalog/faultplan.h"

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
	if (s->template_name)
		json_object_set_new(o, "template", json_string(s->template_name));
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

void render_scenario_text(const struct scenario *s, FILE *out)
{
	char protos[32];
	fprintf(out, "%s — %s\n\n", s->name, s->summary);
	fprintf(out, "Reproduces:\n  %s\n\n", s->reproduces);
	fprintf(out, "Field report:\n  %s\n\n", s->field_report);
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
	        "\nSelect it with the cookie (xfreerdp /u:%s) or its own port (serve --port-base "
	        "BASE: BASE+%d).\nFile: %s\n",
	        s->name, s->port_offset, s->file);
}

void render_list(const struct catalog *cat, int port_base, int json, FILE *out)
{
	if (json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cat->n; i++) {
			json_t *o = json_pack("{s:s, s:i, s:s}", "name", cat->items[i]->name,
			                      "port_offset", cat->items[i]->port_offset, "summary",
			                      cat->items[i]->summary);
			if (port_base >= 0)
				json_object_set_new(
				        o, "port",
				        json_integer(port_base + cat->items[i]->port_offset));
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, out, JSON_INDENT(2));
		fprintf(out, "\n");
		json_decref(arr);
		return;
	}
	fprintf(out, "%-32s %-6s %s\n", "SCENARIO", port_base >= 0 ? "PORT" : "OFFSET", "SUMMARY");
	for (size_t i = 0; i < cat->n; i++)
		fprintf(out, "%-32s %-6d %s\n", cat->items[i]->name,
		        (port_base >= 0 ? port_base : 0) + cat->items[i]->port_offset,
		        cat->items[i]->summary);
}

void render_model(int which, int json, FILE *out)
{
	json_t *all = which == 1 ? phases_json() : fault_actions_json();
	if (json) {
		json_dumpf(all, out, JSON_INDENT(2));
		fprintf(out, "\n");
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o)
		{
			if (which == 1) {
				json_t *cut = json_object_get(o, "cut");
				fprintf(out, "%-18s %s\n",
				        json_string_value(json_object_get(o, "phase")),
				        json_string_value(json_object_get(o, "when")));
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
