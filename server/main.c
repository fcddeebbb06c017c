/* main.c — rdpfault's entry point: parse the command line, then serve the
 * catalog, list it, or show one scenario. */
#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <winpr/ssl.h>

#include "admission.h"
#include "cli.h"
#include "faultplan.h"
#include "events.h"
#include "harness.h"
#include "log.h"
#include "phase.h"
#include "tlshook.h"
#include "wloghook.h"

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

static json_t *scenario_json(const struct scenario *s)
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
	                        a->max_outstanding, "policy", admission_policy_name(a->policy),
	                        "prefill", a->prefill, "backlog", a->backlog, "prelogon_timeout_ms",
	                        a->prelogon_timeout_ms, "max_sessions", a->max_sessions);
	json_t *o = json_pack(
	    "{s:s, s:s, s:i, s:s, s:s, s:s, s:o, s:{s:s, s:s, s:i, s:i, s:i, s:s?}, "
	    "s:{s:s, s:i, s:s, s:I, s:I}, s:s?, s:s?, s:o, s:o}",
	    "name", s->name, "file", s->file, "port_offset", s->port_offset, "summary", s->summary,
	    "reproduces", s->reproduces, "field_report", s->field_report, "tags", tags, "security",
	    "protocols", sc_protocols_str(s->protocols, protos, sizeof(protos)), "encryption_level",
	    sc_encryption_level_str(s->encryption_level), "tls_min", s->tls_min, "tls_max", s->tls_max,
	    "tls_security_level", s->tls_sec_level, "tls_ciphers", s->tls_ciphers, "certificate",
	    "subject_cn", s->cert.subject_cn, "key_bits", s->cert.key_bits, "digest", s->cert.digest,
	    "not_before_offset_s", (json_int_t)s->cert.not_before_offset, "not_after_offset_s",
	    (json_int_t)s->cert.not_after_offset, "account_user", s->account.user,
	    "account_password", s->account.password, "faults", faults,
	    "expect", expect);
	json_object_set_new(o, "admission", adm);
	if (s->template_name)
		json_object_set_new(o, "template", json_string(s->template_name));
	const struct sc_multitransport *m = &s->multitransport;
	if (m->on) {
		char mtp[32];
		json_t *pr = json_array();
		sc_mt_protocols_str(m->protocols, mtp, sizeof(mtp));
		for (char *save = NULL, *t = strtok_r(mtp, ",", &save); t; t = strtok_r(NULL, ",", &save))
			json_array_append_new(pr, json_string(t));
		json_object_set_new(
		    o, "multitransport",
		    json_pack("{s:o, s:s, s:i, s:s, s:i, s:s}", "protocols", pr, "udp",
		              sc_udp_mode_str(m->udp), "response_timeout_ms", m->response_timeout_ms,
		              "fallback", sc_fallback_str(m->fallback), "fallback_after_ms",
		              m->fallback_after_ms, "deny_code", m->deny_code ? m->deny_code : "0x7"));
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
static void print_offset(long s)
{
	long a = s < 0 ? -s : s;
	char sign = s < 0 ? '-' : '+';
	if (a % 86400 == 0)
		printf("now%c%ldd", sign, a / 86400);
	else if (a % 3600 == 0)
		printf("now%c%ldh", sign, a / 3600);
	else
		printf("now%c%lds", sign, a);
}

static void show_text(const struct scenario *s)
{
	char protos[32];
	printf("%s — %s\n\n", s->name, s->summary);
	printf("Reproduces:\n  %s\n\n", s->reproduces);
	printf("Field report:\n  %s\n\n", s->field_report);
	printf("Server:\n");
	printf("  security layers   %s\n", sc_protocols_str(s->protocols, protos, sizeof(protos)));
	if (s->protocols & SC_PROTO_RDP)
		printf("  encryption level  %s\n", sc_encryption_level_str(s->encryption_level));
	if (s->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) {
		printf("  TLS versions      %s to %s (OpenSSL security level %d)\n",
		       tls_text(s->tls_min), tls_text(s->tls_max), s->tls_sec_level);
		if (s->tls_ciphers)
			printf("  TLS ciphers       %s\n", s->tls_ciphers);
		printf("  certificate       CN=%s, RSA-%d, %s, ", s->cert.subject_cn, s->cert.key_bits,
		       s->cert.digest);
		printf("valid from ");
		print_offset(s->cert.not_before_offset);
		printf(" to ");
		print_offset(s->cert.not_after_offset);
		printf("\n");
	}
	if (s->account.user)
		printf("  NLA account       %s%s%s / %s\n", s->account.domain && *s->account.domain ? s->account.domain : "",
		       s->account.domain && *s->account.domain ? "\\" : "", s->account.user,
		       s->account.password);
	const struct sc_admission *a = &s->admission;
	if (a->max_outstanding >= 0) {
		printf("  admission         at most %d outstanding (accepted, not yet active); past "
		       "that: %s",
		       a->max_outstanding, admission_policy_name(a->policy));
		if (a->prefill)
			printf("; %d phantom slot%s from the start", a->prefill, a->prefill == 1 ? "" : "s");
		if (a->policy == SC_POLICY_SYN_DROP)
			printf("; kernel queue %d", a->backlog >= 0 ? a->backlog : 0);
		printf("\n");
	}
	if (a->prelogon_timeout_ms >= 0)
		printf("  pre-logon timeout %d ms\n", a->prelogon_timeout_ms);
	if (a->max_sessions >= 0)
		printf("  session limit     %d active; past it Set Error Info %s at licensing\n",
		       a->max_sessions, a->session_limit_code ? a->session_limit_code : "0x7");
	const struct sc_multitransport *m = &s->multitransport;
	if (m->on) {
		char mtp[32];
		printf("  multitransport    offers UDP (%s) to clients that advertise it; UDP side: %s\n",
		       sc_mt_protocols_str(m->protocols, mtp, sizeof(mtp)), sc_udp_mode_str(m->udp));
		printf("  fallback          waits %d ms for the client's responses, then %d ms, then %s",
		       m->response_timeout_ms, m->fallback_after_ms, sc_fallback_str(m->fallback));
		if (m->fallback == SC_FALLBACK_DENY)
			printf(" (Set Error Info %s)", m->deny_code ? m->deny_code : "0x7");
		printf("\n");
	}
	if (s->n_faults == 0)
		printf("  faults            none\n");
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct sc_fault *f = &s->faults[i];
		printf("  fault             %s%s%s", f->action, f->at ? " at " : "", f->at ? f->at : "");
		for (size_t k = 0; k < f->n_params; k++)
			printf(" %s=%s", f->params[k].key, f->params[k].value);
		if (f->at && phase_from_name(f->at) != PH_NONE)
			printf(" (%s)", phase_description(phase_from_name(f->at)));
		printf("\n");
	}
	printf("\nExpected outcome per client:\n");
	for (size_t i = 0; i < s->n_expect; i++) {
		const struct sc_expect *e = &s->expect[i];
		printf("  %-10s %s", e->client, e->result ? e->result : "");
		if (e->exit_code >= 0)
			printf(", exit code %d", e->exit_code);
		if (e->code)
			printf(", code %s", e->code);
		if (e->extended)
			printf(" extended %s", e->extended);
		printf("\n");
		if (e->message)
			printf("  %-10s message: %s\n", "", e->message);
		if (e->log)
			printf("  %-10s prints: %s\n", "", e->log);
		if (e->args)
			printf("  %-10s run with: %s\n", "", e->args);
		if (e->note)
			printf("  %-10s %s\n", "", e->note);
	}
	printf("\nSelect it with the cookie (xfreerdp /u:%s) or its own port (serve --port-base "
	       "BASE: BASE+%d).\nFile: %s\n",
	       s->name, s->port_offset, s->file);
}

static int load_catalog(const struct cli *c, struct catalog *cat)
{
	const char *dir = c->serve.scenarios_dir;
	int problems = catalog_load_dir_with(dir, c->serve.sets, c->serve.n_sets, cat, stderr);
	if (!problems) {
		problems = catalog_check_faults(cat, stderr);
		if (problems)
			catalog_free(cat);
	}
	if (problems) {
		fprintf(stderr, "rdpfault: %d problem%s in the scenario catalog %s\n", problems,
		        problems == 1 ? "" : "s", dir);
		return EXIT_CATALOG;
	}
	return EXIT_OK;
}

static int cmd_list(const struct cli *c)
{
	struct catalog cat;
	int rc = load_catalog(c, &cat);
	if (rc)
		return rc;
	if (c->json) {
		json_t *arr = json_array();
		for (size_t i = 0; i < cat.n; i++) {
			json_t *o = json_pack("{s:s, s:i, s:s}", "name", cat.items[i]->name, "port_offset",
			                      cat.items[i]->port_offset, "summary", cat.items[i]->summary);
			if (c->port_base >= 0)
				json_object_set_new(o, "port",
				                    json_integer(c->port_base + cat.items[i]->port_offset));
			json_array_append_new(arr, o);
		}
		json_dumpf(arr, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(arr);
	} else {
		printf("%-32s %-6s %s\n", "SCENARIO", c->port_base >= 0 ? "PORT" : "OFFSET", "SUMMARY");
		for (size_t i = 0; i < cat.n; i++)
			printf("%-32s %-6d %s\n", cat.items[i]->name,
			       (c->port_base >= 0 ? c->port_base : 0) + cat.items[i]->port_offset,
			       cat.items[i]->summary);
	}
	catalog_free(&cat);
	return EXIT_OK;
}

/* matrix: the runner is Python (client orchestration, XML and HTML
 * reports are its strengths); this finds it and hands over, with this
 * binary as the harness it starts. */
static int cmd_matrix(const struct cli *c)
{
	char exe[PATH_MAX], runner[PATH_MAX + 64];
	const char *env = getenv("RDPFAULT_MATRIX");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct stat st;
	if (n <= 0) {
		fprintf(stderr, "rdpfault: matrix: cannot find this binary: %s\n", strerror(errno));
		return EXIT_RUNTIME;
	}
	exe[n] = '\0';
	if (env && *env) {
		snprintf(runner, sizeof(runner), "%s", env);
	} else {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", exe);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		snprintf(runner, sizeof(runner), "%s/../share/rdpfault/client-tests/matrix.py", dir);
		if (stat(runner, &st) != 0)
			snprintf(runner, sizeof(runner), "%s", RDPFAULT_SOURCE_MATRIX);
	}
	if (stat(runner, &st) != 0) {
		fprintf(stderr, "rdpfault: matrix: runner '%s' not found (set RDPFAULT_MATRIX)\n",
		        runner);
		return EXIT_RUNTIME;
	}
	char **argv = calloc((size_t)c->matrix_argc + 5, sizeof(*argv));
	if (!argv)
		return EXIT_RUNTIME;
	int k = 0;
	argv[k++] = "python3";
	argv[k++] = runner;
	argv[k++] = "--rdpfault";
	argv[k++] = exe;
	for (int i = 0; i < c->matrix_argc; i++)
		argv[k++] = c->matrix_argv[i];
	argv[k] = NULL;
	fflush(NULL);
	execvp("python3", argv);
	fprintf(stderr, "rdpfault: matrix: cannot run python3: %s (install python3 and python3-yaml)\n",
	        strerror(errno));
	free(argv);
	return EXIT_RUNTIME;
}

/* show --phases / --actions: the model the scenario files are written in. */
static int show_model(const struct cli *c)
{
	json_t *all = c->show_model == 1 ? phases_json() : fault_actions_json();
	if (c->json) {
		json_dumpf(all, stdout, JSON_INDENT(2));
		printf("\n");
	} else {
		size_t i;
		json_t *o;
		json_array_foreach(all, i, o) {
			if (c->show_model == 1) {
				json_t *cut = json_object_get(o, "cut");
				printf("%-18s %s\n", json_string_value(json_object_get(o, "phase")),
				       json_string_value(json_object_get(o, "when")));
				printf("%-18s   a cut strikes when the server has sent: %s\n", "",
				       json_string_value(json_object_get(cut, "server_sent")));
				printf("%-18s   and the harness has read: %s\n", "",
				       json_string_value(json_object_get(cut, "harness_read")));
				printf("%-18s   %s\n", "",
				       strcmp(json_string_value(json_object_get(cut, "moment")),
				              "client-waits") == 0
				           ? "at once: the client waits for the server"
				           : "once the client fell quiet (200 ms without a byte)");
				continue;
			}
			printf("%s\n    %s\n    strikes at:", json_string_value(json_object_get(o, "action")),
			       json_string_value(json_object_get(o, "what")));
			size_t j;
			json_t *v;
			json_array_foreach(json_object_get(o, "phases"), j, v)
				printf(" %s", json_string_value(v));
			if (json_object_get(o, "default_phase"))
				printf(" (default %s)",
				       json_string_value(json_object_get(o, "default_phase")));
			printf("\n    params:");
			json_array_foreach(json_object_get(o, "params"), j, v)
				printf(" %s", json_string_value(v));
			printf("\n");
		}
	}
	json_decref(all);
	return EXIT_OK;
}

static int cmd_show(const struct cli *c)
{
	if (c->show_model)
		return show_model(c);
	struct catalog cat;
	int rc = load_catalog(c, &cat);
	if (rc)
		return rc;
	const struct scenario *s = catalog_find(&cat, c->name);
	if (!s) {
		fprintf(stderr, "rdpfault: show: no scenario named '%s' (see 'rdpfault list')\n",
		        c->name);
		catalog_free(&cat);
		return EXIT_NO_SCENARIO;
	}
	if (c->json) {
		json_t *o = scenario_json(s);
		json_dumpf(o, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(o);
	} else {
		show_text(s);
	}
	catalog_free(&cat);
	return EXIT_OK;
}

/* OpenSSL as FreeRDP needs it: with the legacy provider (MD4 for NTLM). */
static void init_crypto(void)
{
	winpr_InitializeSSL(WINPR_SSL_INIT_DEFAULT);
}

static int cmd_cert_export(struct cli *c)
{
	struct harness h;
	char err[512];
	init_crypto();
	int rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "rdpfault: cert export: %s\n", err);
		harness_free(&h);
		return rc == -2 ? EXIT_CATALOG : rc == -3 ? EXIT_USAGE : EXIT_RUNTIME;
	}
	if (h.ca_cert_path[0])
		printf("%s\n", h.ca_cert_path);
	for (size_t i = 0; i < h.catalog.n; i++)
		if (h.served[i].cert_path[0])
			printf("%s\n", h.served[i].cert_path);
	harness_free(&h);
	return EXIT_OK;
}

static int cmd_serve(struct cli *c)
{
	struct harness h;
	char err[512];
	int rc;

	signal(SIGPIPE, SIG_IGN);
	/* Few arenas: a peer thread's FreeRDP context (~2.7 MB) then lands in
	 * memory the next peer reuses, not in an arena of its own that keeps
	 * its peak for good. */
	mallopt(M_ARENA_MAX, 2);
	log_set_level(c->quiet ? LOG_ERROR : c->verbose ? LOG_DEBUG : LOG_INFO);
	init_crypto();
	if (!tlshook_ready()) {
		log_error("cannot find libssl's SSL_do_handshake");
		return EXIT_RUNTIME;
	}
	if (wloghook_install(c->verbose >= 2) != 0) {
		log_error("cannot install the FreeRDP log hook");
		return EXIT_RUNTIME;
	}
	events_clock_start();
	if (c->serve.ready_file && harness_check_ready_file(c->serve.ready_file, err, sizeof(err))) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	if (events_open(c->serve.events_path, err, sizeof(err)) != 0) {
		log_error("%s", err);
		return EXIT_RUNTIME;
	}
	rc = harness_prepare(&h, &c->serve, err, sizeof(err));
	if (rc == 0)
		rc = harness_listen(&h, err, sizeof(err));
	if (rc != 0) {
		log_error("%s", err);
		events_emit(0, "error", json_pack("{s:s}", "error", err));
		events_close();
		harness_free(&h);
		return rc == -2 ? EXIT_CATALOG : rc == -3 ? EXIT_USAGE : EXIT_RUNTIME;
	}
	for (size_t i = 0; i < h.n_listeners; i++)
		log_debug("listening on %s (default %s)", h.listeners[i].name,
		          served_name(h.listeners[i].def));
	char summary[1024];
	size_t used = 0;
	for (size_t i = 0; i < c->serve.n_listens && used < sizeof(summary); i++)
		used += (size_t)snprintf(summary + used, sizeof(summary) - used, "%s%s (default %s)",
		                         i ? ", " : "", h.listeners[i].name,
		                         served_name(h.listeners[i].def));
	if (c->serve.port_base >= 0 && used < sizeof(summary))
		snprintf(summary + used, sizeof(summary) - used,
		         "%sone port per scenario from %s:%d", used ? "; " : "",
		         c->serve.port_base_host, c->serve.port_base);
	log_info("serving %zu scenarios: %s; keys in %s", h.catalog.n, summary, h.runtime_dir);
	rc = harness_run(&h);
	int sink_blocked = events_close() != 0;
	if (h.peers_left || sink_blocked) {
		/* A peer thread is still inside FreeRDP: freeing what it uses
		 * would race it. Everything logged is written; leave now. */
		if (h.peers_left)
			log_warn("peer threads still running at exit");
		harness_remove_runtime(&h);
		fflush(stderr);
		_exit(rc);
	}
	harness_free(&h);
	return rc;
}

int main(int argc, char **argv)
{
	struct cli c;
	int rc = cli_parse(argc, argv, &c);
	if (rc >= 0) {
		cli_free(&c);
		return rc;
	}
	if (!c.serve.scenarios_dir)
		c.serve.scenarios_dir = cli_default_scenarios_dir();
	switch (c.cmd) {
	case CMD_SERVE:
		rc = cmd_serve(&c);
		break;
	case CMD_LIST:
		rc = cmd_list(&c);
		break;
	case CMD_SHOW:
		rc = cmd_show(&c);
		break;
	case CMD_CERT_EXPORT:
		rc = cmd_cert_export(&c);
		break;
	case CMD_MATRIX:
		rc = cmd_matrix(&c);
		break;
	default:
		rc = EXIT_USAGE;
	}
	cli_free(&c);
	return rc;
}
