/* format.c — the scenario file format: one table per YAML mapping, the
 * checks on single values the rows name, and the finish hooks for rules
 * across fields (docs/scenario-format.md is its prose). */
#include "catalog/loader.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/phase.h"
#include "catalog/schedule.h"

/* ---------------------------------------------------------------------------
 * Checks on single values
 * ------------------------------------------------------------------------ */

static int check_name(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (!ld_is_ident(v, "", "-", NAME_MAX_LEN)) {
		ld_problem_q(c, ld_line(n), path, "%s is not a valid name", v,
		             " ([a-z0-9][a-z0-9-]{0,47})");
		return -1;
	}
	if (strcmp(v, c->stem)) {
		char *q = ld_escape(c->stem, QUOTE_MAX);
		char *tail = ld_asprintf(" (expected \"%s\")", q);
		ld_problem_q(c, ld_line(n), path, "%s does not match the file name", v, tail);
		free(tail);
		free(q);
		return -1;
	}
	return 0;
}

/* An alias fits mstsc's cookie: it sends at most nine characters. */
static int check_alias(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (ld_is_ident(v, "", "-", SC_ALIAS_MAX))
		return 0;
	ld_problem_q(
	        c, ld_line(n), path, "%s is not a valid alias", v,
	        " ([a-z0-9][a-z0-9-]{0,8}: mstsc sends at most 9 characters of the user name)");
	return -1;
}

static int check_token(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (ld_is_ident(v, "-", "-", 0))
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not a valid token", v, " ([a-z0-9-]+)");
	return -1;
}

static int check_param_key(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (ld_is_ident(v, "_-", "_-", 0))
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not a valid parameter name", v, " ([a-z0-9_-]+)");
	return -1;
}

static int check_phase_key(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (phase_from_name(v) != PH_NONE)
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not a phase", v, " (see docs/events.md)");
	return -1;
}

static int check_client(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (ld_is_ident(v, "", "_-", 0))
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not a valid client name", v,
	             " ([a-z0-9][a-z0-9_-]*)");
	return -1;
}

static int check_ip(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not an IPv4 or IPv6 address", v, NULL);
	return -1;
}

static int check_dns(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '*' && ch != '_') {
			ld_problem_q(c, ld_line(n), path, "%s is not a DNS name", v,
			             " (letters, digits, '-', '_', '.', '*')");
			return -1;
		}
	}
	return 0;
}

static int check_key_bits(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (atol(v) % 8 == 0)
		return 0;
	ld_problem(c, ld_line(n), path, "%s is not a multiple of 8", v);
	return -1;
}

static int check_hex(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	int ok = v[0] == '0' && v[1] == 'x' && v[2];
	for (const char *p = v + 2; ok && *p; p++)
		ok = isxdigit((unsigned char)*p);
	if (ok)
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not a hex code like 0x904", v, NULL);
	return -1;
}

static int check_account_text(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	/* ':' separates the fields of the SAM file NLA reads (server/sam.h). */
	if (!strchr(v, ':') && !ld_has_ctrl(v, 0))
		return 0;
	ld_problem(c, ld_line(n), path, "must not contain ':' or control characters");
	return -1;
}

/* ---------------------------------------------------------------------------
 * The tables
 * ------------------------------------------------------------------------ */

static const char *tls_version_name(long v)
{
	for (const struct name_val *p = ld_tls_names; p->name; p++)
		if (p->val == v)
			return p->name;
	return "?";
}

static void finish_security(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
                            int clean)
{
	const struct scenario *s = base;
	if (!clean || s->tls_max >= s->tls_min)
		return;
	const yaml_node_t *n = ld_map_get(c, map, "tls_max");
	char *p = ld_path_key(path, "tls_max");
	ld_problem(c, n ? ld_line(n) : ld_line(map), p, "%s is below tls_min %s",
	           tls_version_name(s->tls_max), tls_version_name(s->tls_min));
	free(p);
}

static void finish_cert(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
                        int clean)
{
	const struct sc_cert *cert = base;
	if (!clean || cert->not_after_offset > cert->not_before_offset)
		return;
	const yaml_node_t *n = ld_map_get(c, map, "not_after");
	char *p = ld_path_key(path, "not_after");
	ld_problem(c, n ? ld_line(n) : ld_line(map), p, "must be later than not_before");
	free(p);
}

static void finish_admission(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
                             int clean)
{
	const struct sc_admission *a = base;
	const char *key = NULL, *why = NULL;
	if (!clean)
		return;
	if (a->prefill > 0 && a->max_outstanding < 0)
		key = "prefill", why = "needs max_outstanding (the slots it fills)";
	else if (a->max_outstanding >= 0 && a->prefill > a->max_outstanding)
		key = "prefill", why = "is above max_outstanding";
	else if (ld_map_get(c, map, "policy") && a->max_outstanding < 0)
		key = "policy", why = "needs max_outstanding (the limit it applies past)";
	else if (ld_map_get(c, map, "backlog") && a->policy != SC_POLICY_SYN_DROP)
		key = "backlog", why = "applies to policy syn-drop only";
	else if (ld_map_get(c, map, "session_limit_code") && a->max_sessions < 0)
		key = "session_limit_code", why = "needs max_sessions";
	if (!key)
		return;
	const yaml_node_t *n = ld_map_get(c, map, key);
	char *p = ld_path_key(path, key);
	ld_problem(c, n ? ld_line(n) : ld_line(map), p, "%s", why);
	free(p);
}

static void finish_multitransport(struct ctx *c, const yaml_node_t *map, const char *path,
                                  void *base, int clean)
{
	struct sc_multitransport *m = base;
	m->on = 1;
	if (!clean || !ld_map_get(c, map, "deny_code") || m->fallback == SC_FALLBACK_DENY)
		return;
	char *p = ld_path_key(path, "deny_code");
	ld_problem(c, ld_line(ld_map_get(c, map, "deny_code")), p, "applies to fallback deny only");
	free(p);
}

static int check_errinfo(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 0);
	if (!errno && end != v && !*end && *v != '-' && x > 0 && x <= 0xFFFFFFFFul)
		return 0;
	ld_problem_q(c, ld_line(n), path, "%s is not an ERRINFO code", v,
	             " (a number such as 0x7)");
	return -1;
}

/* A schedule scenario serves its steps' scenarios and nothing of its own;
 * every step but the last has a count, the last is for good. Whether the
 * steps' names exist is the catalog's check (catalog/schedule.c). */
static void finish_schedule(struct ctx *c, const yaml_node_t *map, const struct scenario *s)
{
	static const char *const own[] = {"security", "certificate",    "account", "admission",
	                                  "faults",   "multitransport", "network", "each_phase"};
	const yaml_node_t *sch = ld_map_get(c, map, "schedule");
	if (!sch)
		return;
	for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
		const yaml_node_t *x = ld_map_get(c, map, own[i]);
		if (x)
			ld_problem(
			        c, ld_line(x), own[i],
			        "a schedule scenario serves its steps' scenarios: it has no %s of "
			        "its own",
			        own[i]);
	}
	if (s->n_schedule < 2 || s->n_schedule > SCHED_STEPS_MAX) {
		ld_problem(c, ld_line(sch), "schedule", "expected 2-%d steps (this one: %zu)",
		           SCHED_STEPS_MAX, s->n_schedule);
		return;
	}
	char at[48];
	for (size_t i = 0; i + 1 < s->n_schedule; i++)
		if (s->schedule[i].count < 0) {
			snprintf(at, sizeof at, "schedule[%zu].count", i);
			ld_problem(
			        c, s->schedule[i].line, at,
			        "required key is missing (1-1000000: every step but the last has "
			        "one)");
		}
	size_t last = s->n_schedule - 1;
	if (s->schedule[last].count >= 0) {
		snprintf(at, sizeof at, "schedule[%zu].count", last);
		ld_problem(c, s->schedule[last].line, at,
		           "the last step is for good: it has no count");
	}
}

static void finish_root(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
                        int clean)
{
	(void)path;
	(void)clean;
	const struct scenario *s = base;
	const yaml_node_t *al = ld_map_get(c, map, "alias");
	if (al && s->alias && !c->instance && s->each_phase && s->each_phase[0] &&
	    strlen(s->alias) > SC_ALIAS_MAX - 1 - PHASE_SHORT_MAX)
		ld_problem(
		        c, ld_line(al), "alias",
		        "a template's alias is its instances' prefix (%s-PHASE, PHASE a code of up "
		        "to %d characters such as \"final\"): at most %d characters",
		        s->alias, PHASE_SHORT_MAX, SC_ALIAS_MAX - 1 - PHASE_SHORT_MAX);
	if ((s->protocols & SC_PROTO_NLA) && !ld_map_get(c, map, "account"))
		ld_problem(c, ld_line(map), "account",
		           "required when security.protocols includes nla");
	/* The bootstrapping PDUs travel inside TLS (as RDP-UDP's own security
	 * needs the server's TLS certificate). */
	const yaml_node_t *mt = ld_map_get(c, map, "multitransport");
	if (mt && (s->protocols & SC_PROTO_RDP))
		ld_problem(c, ld_line(mt), "multitransport",
		           "needs security.protocols without rdp (the bootstrapping travels inside "
		           "TLS)");
	finish_schedule(c, map, s);
}

#define SEC(m) offsetof(struct scenario, m)
static const struct field security_fields[] = {
        {.key = "protocols",
         .kind = K_FLAGS,
         .off = SEC(protocols),
         .flags = F_REQUIRED,
         .what = "protocol",
         .names = ld_protocol_names,
         .def_num = SC_PROTO_TLS},
        {.key = "encryption_level",
         .kind = K_ENUM,
         .off = SEC(encryption_level),
         .what = "encryption level",
         .names = ld_enclevel_names,
         .width = W_ENCLEVEL,
         .def_num = SC_ENC_CLIENT_COMPATIBLE},
        {.key = "tls_min",
         .kind = K_ENUM,
         .off = SEC(tls_min),
         .what = "TLS version",
         .names = ld_tls_names,
         .width = W_U16,
         .def_num = 0x0303},
        {.key = "tls_max",
         .kind = K_ENUM,
         .off = SEC(tls_max),
         .what = "TLS version",
         .names = ld_tls_names,
         .width = W_U16,
         .def_num = 0x0304},
        {.key = "tls_security_level",
         .kind = K_INT,
         .off = SEC(tls_sec_level),
         .min = 0,
         .max = 5,
         .def_num = 1},
        {.key = "tls_ciphers",
         .kind = K_STR,
         .off = SEC(tls_ciphers),
         .flags = F_NONEMPTY | F_ONELINE},
};
static const struct schema security_schema = {
        security_fields, sizeof security_fields / sizeof *security_fields, finish_security};

static const char *const default_san_dns[] = {"localhost", NULL};
static const char *const default_san_ip[] = {"127.0.0.1", "::1", NULL};

#define CERT(m) offsetof(struct sc_cert, m)
static const struct field cert_fields[] = {
        {.key = "subject_cn",
         .kind = K_STR,
         .off = CERT(subject_cn),
         .flags = F_NONEMPTY | F_ONELINE,
         .def_str = "localhost"},
        {.key = "san_dns",
         .kind = K_STRLIST,
         .off = CERT(san_dns),
         .flags = F_NONEMPTY,
         .check = check_dns,
         .def_list = default_san_dns},
        {.key = "san_ip",
         .kind = K_STRLIST,
         .off = CERT(san_ip),
         .check = check_ip,
         .def_list = default_san_ip},
        {.key = "key_bits",
         .kind = K_INT,
         .off = CERT(key_bits),
         .min = 1024,
         .max = 8192,
         .check = check_key_bits,
         .def_num = 2048},
        {.key = "digest",
         .kind = K_STR,
         .off = CERT(digest),
         .what = "digest",
         .names = ld_digest_names,
         .def_str = "sha256"},
        {.key = "not_before",
         .kind = K_DURATION,
         .off = CERT(not_before_offset),
         .def_num = -86400},
        {.key = "not_after",
         .kind = K_DURATION,
         .off = CERT(not_after_offset),
         .def_num = 365L * 86400},
        {.key = "key",
         .kind = K_ENUM,
         .off = CERT(key_mismatch),
         .what = "key",
         .names = ld_key_names,
         .width = W_INT,
         .def_num = 0},
};
static const struct schema cert_schema = {cert_fields, sizeof cert_fields / sizeof *cert_fields,
                                          finish_cert};

#define ACC(m) offsetof(struct sc_account, m)
static const struct field account_fields[] = {
        {.key = "user",
         .kind = K_STR,
         .off = ACC(user),
         .flags = F_REQUIRED | F_NONEMPTY,
         .check = check_account_text},
        {.key = "domain",
         .kind = K_STR,
         .off = ACC(domain),
         .check = check_account_text,
         .def_str = ""},
        {.key = "password",
         .kind = K_STR,
         .off = ACC(password),
         .flags = F_REQUIRED | F_NONEMPTY | F_ONELINE},
};
static const struct schema account_schema = {account_fields,
                                             sizeof account_fields / sizeof *account_fields, NULL};

#define FAULT(m) offsetof(struct sc_fault, m)
static const struct field fault_fields[] = {
        {.key = "action",
         .kind = K_STR,
         .off = FAULT(action),
         .flags = F_REQUIRED,
         .check = check_token},
        {.key = "at", .kind = K_STR, .off = FAULT(at), .check = check_token},
        {.key = "params",
         .kind = K_PARAMS,
         .off = FAULT(params),
         .check = check_param_key,
         .count_off = FAULT(n_params)},
};
static const struct schema fault_schema = {fault_fields, sizeof fault_fields / sizeof *fault_fields,
                                           NULL};

static const struct name_val stream_names[] = {
        {"upstream", 0}, {"downstream", 0}, {"both", 0}, {NULL, 0}};

#define NET(m) offsetof(struct sc_condition, m)
static const struct field trigger_fields[] = {
        {.key = "from_phase", .kind = K_STR, .off = NET(from_phase), .check = check_phase_key},
        {.key = "after_bytes",
         .kind = K_INT,
         .off = NET(after_bytes),
         .min = 0,
         .max = 2147483647,
         .def_num = -1},
};
static void finish_trigger(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
                           int clean)
{
	const struct sc_condition *n = base;
	if (clean && n->from_phase && n->after_bytes >= 0)
		ld_problem(c, ld_line(map), path, "from_phase and after_bytes: give one trigger");
}
static const struct schema trigger_schema = {
        trigger_fields, sizeof trigger_fields / sizeof *trigger_fields, finish_trigger};

static const struct field condition_fields[] = {
        {.key = "name", .kind = K_STR, .off = NET(name), .check = check_token, .max = 47},
        {.key = "type",
         .kind = K_STR,
         .off = NET(type),
         .flags = F_REQUIRED | F_NONEMPTY,
         .check = check_param_key},
        {.key = "stream",
         .kind = K_STR,
         .off = NET(stream),
         .what = "stream",
         .names = stream_names,
         .def_str = "downstream"},
        {.key = "toxicity", .kind = K_STR, .off = NET(toxicity), .def_str = "1"},
        {.key = "trigger", .kind = K_MAP, .off = 0, .sub = &trigger_schema},
        {.key = "attributes",
         .kind = K_PARAMS,
         .off = NET(attrs),
         .check = check_param_key,
         .count_off = NET(n_attrs)},
};
static const struct schema condition_schema = {
        condition_fields, sizeof condition_fields / sizeof *condition_fields, NULL};

#define SCHED(m) offsetof(struct sc_sched_item, m)
static const struct field sched_fields[] = {
        {.key = "scenario",
         .kind = K_STR,
         .off = SCHED(scenario),
         .flags = F_REQUIRED | F_NONEMPTY,
         .check = check_token},
        {.key = "count",
         .kind = K_INT,
         .off = SCHED(count),
         .min = 1,
         .max = 1000000,
         .def_num = -1},
};
static const struct schema sched_schema = {sched_fields, sizeof sched_fields / sizeof *sched_fields,
                                           NULL};

#define EXP(m) offsetof(struct sc_expect, m)
static const struct field expect_fields[] = {
        {.key = "result",
         .kind = K_STR,
         .off = EXP(result),
         .flags = F_REQUIRED,
         .what = "result",
         .names = ld_result_names},
        {.key = "exit", .kind = K_INT, .off = EXP(exit_code), .min = 0, .max = 255, .def_num = -1},
        {.key = "log", .kind = K_STR, .off = EXP(log), .flags = F_NONEMPTY | F_ONELINE},
        {.key = "code", .kind = K_STR, .off = EXP(code), .check = check_hex},
        {.key = "extended", .kind = K_STR, .off = EXP(extended), .check = check_hex},
        {.key = "message", .kind = K_STR, .off = EXP(message), .flags = F_TEXT},
        {.key = "note", .kind = K_STR, .off = EXP(note), .flags = F_TEXT},
        {.key = "args", .kind = K_STR, .off = EXP(args), .flags = F_NONEMPTY | F_ONELINE},
        {.key = "exit_by_phase",
         .kind = K_PARAMS,
         .off = EXP(exit_by_phase),
         .check = check_phase_key,
         .count_off = EXP(n_exit_by_phase)},
        {.key = "result_by_phase",
         .kind = K_PARAMS,
         .off = EXP(result_by_phase),
         .check = check_phase_key,
         .count_off = EXP(n_result_by_phase)},
        {.key = "log_by_phase",
         .kind = K_PARAMS,
         .off = EXP(log_by_phase),
         .check = check_phase_key,
         .count_off = EXP(n_log_by_phase)},
};
static const struct schema expect_schema = {expect_fields,
                                            sizeof expect_fields / sizeof *expect_fields, NULL};

#define ADM(m) offsetof(struct sc_admission, m)
static const struct field admission_fields[] = {
        {.key = "max_outstanding",
         .kind = K_INT,
         .off = ADM(max_outstanding),
         .min = 0,
         .max = 1000000,
         .def_num = -1},
        {.key = "policy",
         .kind = K_ENUM,
         .off = ADM(policy),
         .what = "admission policy",
         .names = ld_policy_names,
         .width = W_INT,
         .def_num = SC_POLICY_ACCEPT_CLOSE},
        {.key = "prefill", .kind = K_INT, .off = ADM(prefill), .min = 0, .max = 1000000},
        {.key = "backlog",
         .kind = K_INT,
         .off = ADM(backlog),
         .min = 0,
         .max = 65535,
         .def_num = -1},
        {.key = "prelogon_timeout_ms",
         .kind = K_INT,
         .off = ADM(prelogon_timeout_ms),
         .min = 100,
         .max = 86400000,
         .def_num = -1},
        {.key = "max_sessions",
         .kind = K_INT,
         .off = ADM(max_sessions),
         .min = 0,
         .max = 1000000,
         .def_num = -1},
        {.key = "session_limit_code",
         .kind = K_STR,
         .off = ADM(session_limit_code),
         .check = check_errinfo},
};
static const struct schema admission_schema = {
        admission_fields, sizeof admission_fields / sizeof *admission_fields, finish_admission};

#define MT(m) offsetof(struct sc_multitransport, m)
static const struct field multitransport_fields[] = {
        {.key = "protocols",
         .kind = K_FLAGS,
         .off = MT(protocols),
         .flags = F_NONEMPTY,
         .what = "multitransport protocol",
         .names = ld_mt_protocol_names,
         .def_num = 0x0001},
        {.key = "udp",
         .kind = K_ENUM,
         .off = MT(udp),
         .what = "udp side",
         .names = ld_udp_mode_names,
         .width = W_INT,
         .def_num = SC_UDP_DROP},
        {.key = "response_timeout_ms",
         .kind = K_INT,
         .off = MT(response_timeout_ms),
         .min = 0,
         .max = 600000,
         .def_num = 5000},
        {.key = "fallback",
         .kind = K_ENUM,
         .off = MT(fallback),
         .what = "fallback",
         .names = ld_fallback_names,
         .width = W_INT,
         .def_num = SC_FALLBACK_PROCEED},
        {.key = "fallback_after_ms",
         .kind = K_INT,
         .off = MT(fallback_after_ms),
         .min = 0,
         .max = 600000},
        {.key = "deny_code", .kind = K_STR, .off = MT(deny_code), .check = check_errinfo},
};
static const struct schema multitransport_schema = {
        multitransport_fields, sizeof multitransport_fields / sizeof *multitransport_fields,
        finish_multitransport};

static const struct field root_fields[] = {
        {.key = "name", .kind = K_STR, .off = SEC(name), .flags = F_REQUIRED, .check = check_name},
        {.key = "alias", .kind = K_STR, .off = SEC(alias), .check = check_alias},
        {.key = "port_offset",
         .kind = K_INT,
         .off = SEC(port_offset),
         .flags = F_REQUIRED,
         .min = 0,
         .max = 999},
        {.key = "summary",
         .kind = K_STR,
         .off = SEC(summary),
         .flags = F_REQUIRED | F_NONEMPTY | F_ONELINE,
         .max = SUMMARY_MAX},
        {.key = "reproduces",
         .kind = K_STR,
         .off = SEC(reproduces),
         .flags = F_REQUIRED | F_NONEMPTY | F_TEXT},
        {.key = "field_report",
         .kind = K_STR,
         .off = SEC(field_report),
         .flags = F_REQUIRED | F_NONEMPTY | F_TEXT},
        {.key = "tags", .kind = K_STRLIST, .off = SEC(tags), .check = check_token},
        {.key = "each_phase",
         .kind = K_STRLIST,
         .off = SEC(each_phase),
         .flags = F_NONEMPTY,
         .check = check_token},
        {.key = "security", .kind = K_MAP, .off = 0, .sub = &security_schema},
        {.key = "certificate", .kind = K_MAP, .off = SEC(cert), .sub = &cert_schema},
        {.key = "admission", .kind = K_MAP, .off = SEC(admission), .sub = &admission_schema},
        {.key = "multitransport",
         .kind = K_MAP,
         .off = SEC(multitransport),
         .sub = &multitransport_schema},
        {.key = "account",
         .kind = K_MAP,
         .off = SEC(account),
         .flags = F_NODEFAULTS,
         .sub = &account_schema},
        {.key = "faults",
         .kind = K_MAPLIST,
         .off = SEC(faults),
         .sub = &fault_schema,
         .elem_size = sizeof(struct sc_fault),
         .count_off = SEC(n_faults),
         .line_off = FAULT(line)},
        {.key = "network",
         .kind = K_MAPLIST,
         .off = SEC(network),
         .sub = &condition_schema,
         .elem_size = sizeof(struct sc_condition),
         .count_off = SEC(n_network),
         .line_off = NET(line)},
        {.key = "schedule",
         .kind = K_MAPLIST,
         .off = SEC(schedule),
         .sub = &sched_schema,
         .elem_size = sizeof(struct sc_sched_item),
         .count_off = SEC(n_schedule),
         .line_off = SCHED(line)},
        {.key = "expect",
         .kind = K_MAPDICT,
         .off = SEC(expect),
         .flags = F_REQUIRED | F_NONEMPTY,
         .what = "client",
         .check = check_client,
         .sub = &expect_schema,
         .elem_size = sizeof(struct sc_expect),
         .count_off = SEC(n_expect),
         .key_off = EXP(client)},
};
const struct schema ld_root_schema = {root_fields, sizeof root_fields / sizeof *root_fields,
                                      finish_root};
