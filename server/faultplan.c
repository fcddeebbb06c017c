/* faultplan.c — compiling `faults:` (see faultplan.h).
 *
 * The table says, per action, which phases it can strike (the first is its
 * default) and which parameters it takes; each parameter is parsed by the
 * primitive in faults/ that owns it. */
#include "faultplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "credssp.h"
#include "nego.h"
#include "tsrequest.h"

struct action_spec {
	const char *name;
	enum fault_action action;
	enum phase phases[4]; /* where it can strike; phases[0] is the default */
	const char *params[3];
	const char *what;
};

static const struct action_spec actions[] = {
    {"neg-failure", FA_NEG_FAILURE, {PH_X224_CONFIRM}, {"code"},
     "answer the Connection Request with RDP_NEG_FAILURE (params: code)"},
    {"credssp-error", FA_CREDSSP_ERROR, {PH_CREDSSP}, {"code"},
     "end CredSSP with a TSRequest errorCode (params: code, default STATUS_LOGON_FAILURE)"},
    {"stall", FA_STALL, {PH_CREDSSP}, {"duration_ms"},
     "stop answering (params: duration_ms, default: as long as the connection lasts)"},
};

static const struct action_spec *find_action(const char *name)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i].name, name) == 0)
			return &actions[i];
	return NULL;
}

const char *fault_action_name(enum fault_action a)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (actions[i].action == a)
			return actions[i].name;
	return "none";
}

#define PROBLEM_AT(line, fmt, ...)                                                                 \
	do {                                                                                       \
		if (err)                                                                           \
			fprintf(err, "%s:%d: faults[%zu]." fmt "\n", s->file, line, i, __VA_ARGS__); \
		problems++;                                                                        \
	} while (0)
#define PROBLEM(fmt, ...) PROBLEM_AT(f->line, fmt, __VA_ARGS__)

static int parse_duration_ms(const char *text, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (errno || end == text || *end || v < 0 || v > 86400000L)
		return -1;
	*out = (int)v;
	return 0;
}

int fault_plan_compile(const struct scenario *s, struct fault_plan *out, FILE *err)
{
	int problems = 0;
	memset(out, 0, sizeof(*out));
	if (s->n_faults == 0)
		return 0;
	out->steps = calloc(s->n_faults, sizeof(*out->steps));
	if (!out->steps) {
		if (err)
			fprintf(err, "%s: out of memory\n", s->file);
		return 1;
	}
	for (size_t i = 0; i < s->n_faults; i++) {
		const struct sc_fault *f = &s->faults[i];
		const struct action_spec *a = find_action(f->action);
		struct fault_step *st = &out->steps[i];
		if (!a) {
			PROBLEM("action: unknown action \"%s\" (known: neg-failure, credssp-error, "
			        "stall)",
			        f->action);
			continue;
		}
		st->action = a->action;
		st->src = f;
		st->at = a->phases[0];
		st->duration_ms = -1;
		if (f->at) {
			enum phase p = phase_from_name(f->at);
			int ok = 0;
			for (size_t k = 0; k < 4 && a->phases[k]; k++)
				ok |= a->phases[k] == p;
			if (p == PH_NONE)
				PROBLEM("at: unknown phase \"%s\" (see docs/events.md)", f->at);
			else if (!ok)
				PROBLEM("at: %s cannot strike at %s (it strikes at %s)", a->name, f->at,
				        phase_name(a->phases[0]));
			else
				st->at = p;
		}
		for (size_t k = 0; k < f->n_params; k++) {
			const char *key = f->params[k].key, *val = f->params[k].value;
			int line = f->params[k].line;
			int known = 0;
			for (size_t j = 0; j < 3 && a->params[j]; j++)
				known |= strcmp(a->params[j], key) == 0;
			if (!known) {
				PROBLEM_AT(line, "params.%s: %s takes no parameter \"%s\"", key, a->name, key);
				continue;
			}
			if (a->action == FA_NEG_FAILURE && nego_failure_code(val, &st->code) != 0)
				PROBLEM_AT(line, "params.code: \"%s\" is not an RDP_NEG_FAILURE code (1-6 or a name "
				        "such as SSL_CERT_NOT_ON_SERVER)",
				        val);
			else if (a->action == FA_CREDSSP_ERROR && credssp_status_code(val, &st->code) != 0)
				PROBLEM_AT(line, "params.code: \"%s\" is not an NTSTATUS (a name such as "
				        "STATUS_LOGON_FAILURE or a hex value such as 0xC000006D)",
				        val);
			else if (a->action == FA_STALL && parse_duration_ms(val, &st->duration_ms) != 0)
				PROBLEM_AT(line, "params.duration_ms: \"%s\" is not 0-86400000 milliseconds", val);
		}
		if (a->action == FA_NEG_FAILURE && !sc_fault_param(f, "code"))
			PROBLEM("params.code: %s needs a code", a->name);
		if (a->action == FA_CREDSSP_ERROR && !sc_fault_param(f, "code"))
			st->code = NTSTATUS_LOGON_FAILURE;
		if (a->action == FA_CREDSSP_ERROR && !(s->protocols & SC_PROTO_NLA))
			PROBLEM("action: %s needs NLA (security.protocols has no nla)", a->name);
	}
	out->n = s->n_faults;
	if (problems)
		fault_plan_free(out);
	return problems;
}

void fault_plan_free(struct fault_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n = 0;
}

int catalog_check_faults(const struct catalog *c, FILE *err)
{
	int problems = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct fault_plan p;
		problems += fault_plan_compile(c->items[i], &p, err);
		fault_plan_free(&p);
	}
	return problems;
}

const struct fault_step *fault_plan_find(const struct fault_plan *p, enum fault_action a)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->steps[i].action == a)
			return &p->steps[i];
	return NULL;
}

json_t *fault_step_json(const struct fault_step *st)
{
	json_t *f = json_pack("{s:s, s:s}", "action", fault_action_name(st->action), "at",
	                      phase_name(st->at));
	char hex[16];
	switch (st->action) {
	case FA_NEG_FAILURE:
		json_object_set_new(f, "code", json_integer(st->code));
		json_object_set_new(f, "name", json_string(nego_failure_name(st->code)
		                                                ? nego_failure_name(st->code)
		                                                : "unnamed"));
		break;
	case FA_CREDSSP_ERROR:
		snprintf(hex, sizeof(hex), "0x%08X", st->code);
		json_object_set_new(f, "code", json_string(hex));
		if (ntstatus_name(st->code))
			json_object_set_new(f, "status", json_string(ntstatus_name(st->code)));
		break;
	case FA_STALL:
		json_object_set_new(f, "duration_ms", json_integer(st->duration_ms));
		break;
	default:
		break;
	}
	return f;
}
