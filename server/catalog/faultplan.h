/* faultplan.h — a scenario's `faults:` list, checked and compiled once at
 * start into steps the harness applies: which action, at which phase, with
 * which parameters already parsed. A fault that names an unknown action,
 * a phase the action cannot strike, or a bad parameter is an error naming
 * file, line and field, like any other catalog error. */
#ifndef RDPFAULT_FAULTPLAN_H
#define RDPFAULT_FAULTPLAN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "base/phase.h"
#include "catalog/scenario.h"

enum fault_action {
	FA_NONE = 0,
	FA_NEG_FAILURE,   /* answer the Connection Request with RDP_NEG_FAILURE, then FIN */
	FA_CREDSSP_ERROR, /* end CredSSP with a TSRequest errorCode, then close */
	FA_STALL,         /* stop answering: hold the server's bytes */
	FA_DELAY,         /* hold the server's bytes for duration_ms, then go on */
	FA_RESET,         /* RST the client's connection */
	FA_CLOSE,         /* FIN the client's connection, then drain it */
	FA_DENY,          /* Set Error Info (code, default 0x7), then FIN and drain */
	FA_LICENSE_ERROR, /* License Error Message (code, transition), then FIN and drain */
	FA_ULTIMATUM,     /* MCS Disconnect Provider Ultimatum (reason), then FIN and drain */
};

struct fault_step {
	enum fault_action action;
	enum phase at;
	uint32_t code;       /* neg-failure: RDP_NEG_FAILURE code; credssp-error: NTSTATUS;
	                        deny: errorInfo; license-error: dwErrorCode;
	                        disconnect-ultimatum: reason */
	uint32_t transition; /* license-error: dwStateTransition */
	int duration_ms;     /* stall, delay: how long, -1 for as long as the connection lasts */
	int after_ms;        /* reset, close, deny, disconnect-ultimatum: wait this long after
	                        the phase first (0) */
	int close_notify;    /* a TLS close_notify before the FIN: -1 the action's default
	                        (close: yes once TLS is up; the messages: no, the close
	                        measured against Windows' report), 0 no, 1 yes */
	int then_continue;   /* deny: the connection goes on after the message (no close) */
	int close_after_ms;  /* deny with then continue: the close this long after, -1 never */
	int first_record;    /* reset/close at tls-server-hello: strike after the ServerHello
	                        record alone, not the server's whole flight */
	const struct sc_fault *src;
};

struct fault_plan {
	struct fault_step *steps;
	size_t n;
};

/* Compiles s->faults. Returns the number of problems (each written to err
 * as "FILE:LINE: faults[i].FIELD: ..."); 0 on success. */
int fault_plan_compile(const struct scenario *s, struct fault_plan *out, FILE *err);
void fault_plan_free(struct fault_plan *p);
/* Checks every scenario's faults; the number of problems, of which those
 * in a --set's value are added to *set_problems (NULL: not counted). */
int catalog_check_faults(const struct catalog *c, FILE *err, int *set_problems);

/* A wait of the server's own under --time-scale: ms * scale, at least 1 ms
 * when ms > 0 (0 and -1 stay), at most a day. */
int scale_ms(int ms, double scale);
/* --time-scale: every after_ms and duration_ms times scale (at least 1 ms
 * when it was not 0). The hold after a message is the protocol's and
 * stays. */
void fault_plan_scale(struct fault_plan *p, double scale);

/* The close a step ends in sends a TLS close_notify first (when TLS is
 * up): its own choice, else the action's default (a close: yes; the close
 * after a message: a bare FIN). */
static inline int fault_wants_close_notify(const struct fault_step *st)
{
	if (st->close_notify >= 0)
		return st->close_notify;
	return st->action == FA_CLOSE;
}

/* A reset or a close: the fault ends the client's connection. */
static inline int fault_ends_connection(const struct fault_step *st)
{
	return st->action == FA_RESET || st->action == FA_CLOSE;
}

/* A message the peer sends (deny, license-error, disconnect-ultimatum):
 * the messages of one phase go out in the order the scenario lists them,
 * then the server holds a moment and closes. */
static inline int fault_is_message(const struct fault_step *st)
{
	return st->action == FA_DENY || st->action == FA_LICENSE_ERROR ||
	       st->action == FA_ULTIMATUM;
}

/* The step of this action, or NULL. */
const struct fault_step *fault_plan_find(const struct fault_plan *p, enum fault_action a);
/* The step that strikes at this phase with one of the actions the relay
 * applies (stall, delay, reset, close), or NULL. */
const struct fault_step *fault_plan_relay_step(const struct fault_plan *p, enum phase at);
const char *fault_action_name(enum fault_action a);
/* {"action": ..., "at": ..., params...} for the "fault" event. */
json_t *fault_step_json(const struct fault_step *st);

/* The model, for `rdpfault show --actions` / `--phases`: every action
 * ({action, phases, default_phase, params, what}) and every phase
 * ({phase, when}), in order. */
json_t *fault_actions_json(void);
json_t *phases_json(void);

#endif
