/* faultplan.c — compiling `faults:` (see faultplan.h).
 *
 * The table says, per action, which phases it can strike (the first is its
 * default) and which parameters it takes; each parameter is parsed by the
 * primitive in faults/ that owns it. */
#include "catalog/faultplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "faults/credssp.h"
#include "faults/errinfo.h"
#include "faults/license.h"
#include "faults/nego.h"
#include "wire/tsrequest.h"
#include "faults/ultimatum.h"

#define ANY_PHASE (((1ul << PH_COUNT) - 1) & ~1ul)
#define BIT(p) (1ul << (p))
#define AFTER_CLIENT_INFO                                                                          \
	(BIT(PH_CLIENT_INFO) | BIT(PH_LICENSING) | BIT(PH_CAPABILITIES) | BIT(PH_CONFIRM_ACTIVE) | \
	 BIT(PH_FINALIZATION) | BIT(PH_ACTIVE))

struct action_spec {
	const char *name;
	enum fault_action action;
	enum phase def;      /* where it strikes when `at` is absent; PH_NONE: `at` required */
	unsigned long where; /* phases it can strike at, as bits */
	const char *params[5];
	const char *what; /* what the server does, one sentence */
};

static const struct action_spec actions[] = {
        {"neg-failure",
         FA_NEG_FAILURE,
         PH_X224_CONFIRM,
         BIT(PH_X224_CONFIRM),
         {"code"},
         "answers the Connection Request with RDP_NEG_FAILURE (code 1-6 or its name), then FIN"},
        {"credssp-error",
         FA_CREDSSP_ERROR,
         PH_CREDSSP,
         BIT(PH_CREDSSP),
         {"code"},
         "ends CredSSP with a TSRequest errorCode (an NTSTATUS), then closes"},
        {"stall",
         FA_STALL,
         PH_CREDSSP,
         ANY_PHASE,
         {"duration_ms"},
         "stops answering: holds every byte the server sends, for duration_ms or for good"},
        {"delay",
         FA_DELAY,
         PH_NONE,
         ANY_PHASE,
         {"duration_ms"},
         "holds the server's bytes for duration_ms, then goes on"},
        {"reset",
         FA_RESET,
         PH_NONE,
         ANY_PHASE,
         {"after_ms", "flight"},
         "everything the server sent up to the phase reaches the client; once the client has "
         "answered and waits, RST"},
        {"close",
         FA_CLOSE,
         PH_NONE,
         ANY_PHASE,
         {"after_ms", "close_notify", "flight"},
         "everything the server sent up to the phase reaches the client; once the client has "
         "answered and waits, a TLS close_notify (once TLS is up; close_notify: false for a bare "
         "FIN), then FIN; reads until the client closes"},
        /* Set Error Info needs the client's channels joined: from client-info on. */
        {"deny",
         FA_DENY,
         PH_NONE,
         AFTER_CLIENT_INFO,
         {"code", "after_ms", "then", "close_after_ms", "close_notify"},
         "Set Error Info with an ERRINFO code (default 0x7), a 500 ms hold, then FIN "
         "(close_notify: "
         "true for a TLS close_notify first; then: continue: the connection goes on, closed "
         "close_after_ms later if given)"},
        /* Licensing has one error message, the answer to the client's info. */
        {"license-error",
         FA_LICENSE_ERROR,
         PH_LICENSING,
         BIT(PH_LICENSING),
         {"code", "transition", "close_notify"},
         "a License Error Message (ERR_* code, default ERR_NO_LICENSE_SERVER; transition, default "
         "ST_TOTAL_ABORT) instead of \"valid client\", a 500 ms hold, then FIN"},
        /* An MCS PDU: once the MCS connection exists. */
        {"disconnect-ultimatum",
         FA_ULTIMATUM,
         PH_NONE,
         BIT(PH_ERECT_DOMAIN) | BIT(PH_ATTACH_USER) | BIT(PH_CHANNEL_JOIN) |
                 BIT(PH_SECURITY_EXCHANGE) | AFTER_CLIENT_INFO,
         {"reason", "after_ms", "close_notify"},
         "an MCS Disconnect Provider Ultimatum (reason, default rn-provider-initiated), a 500 ms "
         "hold, then FIN"},
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
		char where_[640];                                                                  \
		set_problems += sc_where(s, line, where_, sizeof where_);                          \
		if (err)                                                                           \
			fprintf(err, "%s: faults[%zu]." fmt "\n", where_, i, __VA_ARGS__);         \
		problems++;                                                                        \
	} while (0)
#define PROBLEM(fmt, ...) PROBLEM_AT(f->line, fmt, __VA_ARGS__)

static int parse_bool(const char *text, int *out)
{
	if (!strcmp(text, "true") || !strcmp(text, "yes")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(text, "false") || !strcmp(text, "no")) {
		*out = 0;
		return 0;
	}
	return -1;
}

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

static int compile(const struct scenario *s, struct fault_plan *out, FILE *err, int *set_out)
{
	int problems = 0, set_problems = 0;
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
			        "stall, delay, reset, close, deny, license-error, "
			        "disconnect-ultimatum)",
			        f->action);
			continue;
		}
		st->action = a->action;
		st->src = f;
		st->at = a->def;
		st->duration_ms = -1;
		st->close_notify = -1;
		st->close_after_ms = -1;
		if (f->at) {
			enum phase p = phase_from_name(f->at);
			if (p == PH_NONE)
				PROBLEM("at: unknown phase \"%s\" (see docs/events.md)", f->at);
			else if (!(a->where & BIT(p)))
				PROBLEM("at: %s cannot strike at %s (it strikes at %s)", a->name,
				        f->at, phase_name(a->def));
			else
				st->at = p;
		} else if (a->def == PH_NONE) {
			PROBLEM("at: %s needs a phase (at: PHASE, see docs/events.md)", a->name);
		}
		for (size_t k = 0; k < f->n_params; k++) {
			const char *key = f->params[k].key, *val = f->params[k].value;
			int line = f->params[k].line;
			int known = 0;
			for (size_t j = 0; j < 5 && a->params[j]; j++)
				known |= strcmp(a->params[j], key) == 0;
			if (!known) {
				PROBLEM_AT(line, "params.%s: %s takes no parameter \"%s\"", key,
				           a->name, key);
				continue;
			}
			if (a->action == FA_NEG_FAILURE && nego_failure_code(val, &st->code) != 0)
				PROBLEM_AT(line,
				           "params.code: \"%s\" is not an RDP_NEG_FAILURE code "
				           "(1-6 or a name "
				           "such as SSL_CERT_NOT_ON_SERVER)",
				           val);
			else if (a->action == FA_CREDSSP_ERROR &&
			         credssp_status_code(val, &st->code) != 0)
				PROBLEM_AT(
				        line,
				        "params.code: \"%s\" is not an NTSTATUS (a name such as "
				        "STATUS_LOGON_FAILURE or a hex value such as 0xC000006D)",
				        val);
			else if ((a->action == FA_STALL || a->action == FA_DELAY) &&
			         parse_duration_ms(val, &st->duration_ms) != 0)
				PROBLEM_AT(
				        line,
				        "params.duration_ms: \"%s\" is not 0-86400000 milliseconds",
				        val);
			else if (a->action == FA_DENY && !strcmp(key, "code") &&
			         errinfo_code(val, &st->code) != 0)
				PROBLEM_AT(line,
				           "params.code: \"%s\" is not an ERRINFO code (a name "
				           "such as "
				           "ERRINFO_SERVER_DENIED_CONNECTION or a number)",
				           val);
			else if (a->action == FA_LICENSE_ERROR && !strcmp(key, "code") &&
			         license_error_code(val, &st->code) != 0)
				PROBLEM_AT(
				        line,
				        "params.code: \"%s\" is not a licensing error code (a name "
				        "such as ERR_NO_LICENSE_SERVER or a number)",
				        val);
			else if (a->action == FA_LICENSE_ERROR && !strcmp(key, "transition") &&
			         license_transition_code(val, &st->transition) != 0)
				PROBLEM_AT(line,
				           "params.transition: \"%s\" is not a state transition "
				           "(ST_TOTAL_ABORT, ST_NO_TRANSITION, "
				           "ST_RESET_PHASE_TO_START, "
				           "ST_RESEND_LAST_MESSAGE or 1-4)",
				           val);
			else if (a->action == FA_ULTIMATUM && !strcmp(key, "reason") &&
			         ultimatum_reason(val, &st->code) != 0)
				PROBLEM_AT(line,
				           "params.reason: \"%s\" is not an MCS reason "
				           "(rn-domain-disconnected, rn-provider-initiated, "
				           "rn-token-purged, rn-user-requested, rn-channel-purged "
				           "or 0-4)",
				           val);
			else if (!strcmp(key, "after_ms") &&
			         parse_duration_ms(val, &st->after_ms) != 0)
				PROBLEM_AT(line,
				           "params.after_ms: \"%s\" is not 0-86400000 milliseconds",
				           val);
			else if (!strcmp(key, "close_after_ms") &&
			         parse_duration_ms(val, &st->close_after_ms) != 0)
				PROBLEM_AT(line,
				           "params.close_after_ms: \"%s\" is not 0-86400000 "
				           "milliseconds",
				           val);
			else if (!strcmp(key, "close_notify") &&
			         parse_bool(val, &st->close_notify) != 0)
				PROBLEM_AT(line, "params.close_notify: \"%s\" is not true or false",
				           val);
			else if (!strcmp(key, "then")) {
				if (!strcmp(val, "continue"))
					st->then_continue = 1;
				else if (strcmp(val, "close") != 0)
					PROBLEM_AT(line,
					           "params.then: \"%s\" is not close or continue",
					           val);
			} else if (!strcmp(key, "flight")) {
				if (!strcmp(val, "first-record"))
					st->first_record = 1;
				else if (strcmp(val, "whole") != 0)
					PROBLEM_AT(line,
					           "params.flight: \"%s\" is not whole or "
					           "first-record",
					           val);
			}
		}
		if (a->action == FA_DENY && !sc_fault_param(f, "code"))
			st->code = ERRINFO_SERVER_DENIED_CONNECTION_CODE;
		if (a->action == FA_LICENSE_ERROR) {
			if (!sc_fault_param(f, "code"))
				st->code = LICENSE_ERR_NO_LICENSE_SERVER;
			if (!sc_fault_param(f, "transition"))
				st->transition = LICENSE_ST_TOTAL_ABORT;
			/* FreeRDP encrypts licensing PDUs under RDP Standard Security
			 * when the client asks: only TLS carries a rewritable one. */
			if (!(s->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)))
				PROBLEM("action: %s needs TLS (security.protocols has neither tls "
				        "nor "
				        "nla)",
				        a->name);
		}
		if (sc_fault_param(f, "flight") && st->at != PH_TLS_SERVER_HELLO)
			PROBLEM("params.flight: only a cut at tls-server-hello has a flight to "
			        "choose "
			        "(this one strikes at %s)",
			        phase_name(st->at));
		if (sc_fault_param(f, "close_after_ms") && !st->then_continue)
			PROBLEM("params.close_after_ms: goes with then: continue (a deny that "
			        "closes at "
			        "once has no later close)%s",
			        "");
		if (a->action == FA_ULTIMATUM && !sc_fault_param(f, "reason"))
			st->code = ULTIMATUM_RN_PROVIDER_INITIATED;
		if (a->action == FA_DELAY && !sc_fault_param(f, "duration_ms"))
			PROBLEM("params.duration_ms: delay needs a duration_ms%s", "");
		if (a->action == FA_NEG_FAILURE && !sc_fault_param(f, "code"))
			PROBLEM("params.code: %s needs a code", a->name);
		if (a->action == FA_CREDSSP_ERROR && !sc_fault_param(f, "code"))
			st->code = NTSTATUS_LOGON_FAILURE;
		if (a->action == FA_CREDSSP_ERROR && !(s->protocols & SC_PROTO_NLA))
			PROBLEM("action: %s needs NLA (security.protocols has no nla)", a->name);
	}
	out->n = s->n_faults;
	/* The License Error Message is FreeRDP's licensing answer, rewritten:
	 * it goes when FreeRDP answers, so its phase's messages cannot wait. */
	for (size_t i = 0; i < out->n && !problems; i++) {
		const struct fault_step *st = &out->steps[i];
		if (fault_is_message(st) && st->at == PH_LICENSING && st->after_ms > 0 &&
		    fault_plan_find(out, FA_LICENSE_ERROR))
			PROBLEM_AT(st->src->line,
			           "params.after_ms: licensing messages cannot wait when "
			           "a license-error is among them%s",
			           "");
	}
	if (problems)
		fault_plan_free(out);
	if (set_out)
		*set_out += set_problems;
	return problems;
}

int fault_plan_compile(const struct scenario *s, struct fault_plan *out, FILE *err)
{
	return compile(s, out, err, NULL);
}

int scale_ms(int ms, double scale)
{
	if (ms <= 0 || scale <= 0)
		return ms;
	double v = ms * scale;
	return v < 1 ? 1 : v > 86400000 ? 86400000 : (int)v;
}

void fault_plan_scale(struct fault_plan *p, double scale)
{
	if (scale <= 0 || scale == 1)
		return;
	for (size_t i = 0; i < p->n; i++) {
		p->steps[i].after_ms = scale_ms(p->steps[i].after_ms, scale);
		p->steps[i].duration_ms = scale_ms(p->steps[i].duration_ms, scale);
		p->steps[i].close_after_ms = scale_ms(p->steps[i].close_after_ms, scale);
	}
}

void fault_plan_free(struct fault_plan *p)
{
	free(p->steps);
	p->steps = NULL;
	p->n = 0;
}

int catalog_check_faults(const struct catalog *c, FILE *err, int *set_problems)
{
	int problems = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct fault_plan p;
		problems += compile(c->items[i], &p, err, set_problems);
		fault_plan_free(&p);
	}
	return problems;
}

const struct fault_step *fault_plan_relay_step(const struct fault_plan *p, enum phase at)
{
	for (size_t i = 0; i < p->n; i++) {
		enum fault_action a = p->steps[i].action;
		if (p->steps[i].at == at &&
		    (a == FA_STALL || a == FA_DELAY || a == FA_RESET || a == FA_CLOSE))
			return &p->steps[i];
	}
	return NULL;
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
		json_object_set_new(f, "name",
		                    json_string(nego_failure_name(st->code)
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
	case FA_DELAY:
		json_object_set_new(f, "duration_ms", json_integer(st->duration_ms));
		break;
	case FA_RESET:
	case FA_CLOSE:
		if (st->after_ms)
			json_object_set_new(f, "after_ms", json_integer(st->after_ms));
		if (st->first_record)
			json_object_set_new(f, "flight", json_string("first-record"));
		break;
	case FA_DENY:
		snprintf(hex, sizeof(hex), "0x%X", st->code);
		json_object_set_new(f, "code", json_string(hex));
		if (errinfo_name(st->code))
			json_object_set_new(f, "name", json_string(errinfo_name(st->code)));
		if (st->after_ms)
			json_object_set_new(f, "after_ms", json_integer(st->after_ms));
		if (st->then_continue) {
			json_object_set_new(f, "then", json_string("continue"));
			if (st->close_after_ms >= 0)
				json_object_set_new(f, "close_after_ms",
				                    json_integer(st->close_after_ms));
		}
		break;
	case FA_LICENSE_ERROR:
		snprintf(hex, sizeof(hex), "0x%X", st->code);
		json_object_set_new(f, "code", json_string(hex));
		if (license_error_name(st->code))
			json_object_set_new(f, "name", json_string(license_error_name(st->code)));
		json_object_set_new(f, "transition",
		                    json_string(license_transition_name(st->transition)
		                                        ? license_transition_name(st->transition)
		                                        : "unnamed"));
		break;
	case FA_ULTIMATUM:
		json_object_set_new(f, "reason", json_string(ultimatum_reason_name(st->code)));
		if (st->after_ms)
			json_object_set_new(f, "after_ms", json_integer(st->after_ms));
		break;
	default:
		break;
	}
	return f;
}

json_t *fault_actions_json(void)
{
	json_t *all = json_array();
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		const struct action_spec *a = &actions[i];
		json_t *where = json_array(), *params = json_array();
		for (int p = 1; p < PH_COUNT; p++)
			if (a->where & BIT(p))
				json_array_append_new(where,
				                      json_string(phase_name((enum phase)p)));
		for (size_t j = 0; j < 5 && a->params[j]; j++)
			json_array_append_new(params, json_string(a->params[j]));
		json_t *o = json_pack("{s:s, s:o, s:o, s:s}", "action", a->name, "phases", where,
		                      "params", params, "what", a->what);
		if (a->def != PH_NONE)
			json_object_set_new(o, "default_phase", json_string(phase_name(a->def)));
		json_array_append_new(all, o);
	}
	return all;
}

json_t *phases_json(void)
{
	json_t *all = json_array();
	for (int p = 1; p < PH_COUNT; p++)
		json_array_append_new(
		        all,
		        json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s}}", "phase",
		                  phase_name((enum phase)p), "code", phase_short((enum phase)p),
		                  "when", phase_description((enum phase)p), "cut", "server_sent",
		                  phase_strike_sent((enum phase)p), "harness_read",
		                  phase_strike_read((enum phase)p), "moment",
		                  phase_strike_immediate((enum phase)p) ? "client-waits"
		                                                        : "quiescent"));
	return all;
}
