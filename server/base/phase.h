/* phase.h — the phase model: every named point of an RDP connection
 * sequence (MS-RDPBCGR 1.3.1.1) the harness can observe or strike at.
 *
 * One list, in connection order, used by the event log ("phase" events),
 * by scenario files (a fault's `at:`) and by `rdpfault show`. The table in
 * phase.c says, for each phase, the moment it is entered and which layer
 * of the harness sees it. */
#ifndef RDPFAULT_PHASE_H
#define RDPFAULT_PHASE_H

enum phase {
	PH_NONE = 0,
	PH_TCP_ACCEPT,
	PH_X224_REQUEST,
	PH_X224_CONFIRM,
	PH_TLS_CLIENT_HELLO,
	PH_TLS_SERVER_HELLO,
	PH_TLS_FINISHED,
	PH_CREDSSP,
	PH_MCS_CONNECT,
	PH_ERECT_DOMAIN,
	PH_ATTACH_USER,
	PH_CHANNEL_JOIN,
	PH_SECURITY_EXCHANGE,
	PH_CLIENT_INFO,
	PH_LICENSING,
	PH_CAPABILITIES,
	PH_CONFIRM_ACTIVE,
	PH_FINALIZATION,
	PH_ACTIVE,
	PH_COUNT
};

/* Stable kebab-case name ("x224-confirm"); "none" for PH_NONE. */
const char *phase_name(enum phase p);
/* A code of at most 5 characters ("x224c"), for aliases. */
#define PHASE_SHORT_MAX 5
const char *phase_short(enum phase p);
/* When the phase is entered, one sentence. */
const char *phase_description(enum phase p);
/* Where a cut (reset, close) at phase p strikes: what the server has sent
 * to the client, what the harness has read of the client's, and whether the
 * client provably waits already (1: the cut is immediate) or the cut waits
 * until it fell quiet (0). */
const char *phase_strike_sent(enum phase p);
const char *phase_strike_read(enum phase p);
int phase_strike_immediate(enum phase p);
/* The phase for a name, or PH_NONE when unknown. */
enum phase phase_from_name(const char *name);

/* The phase a FreeRDP server state name ("CONNECTION_STATE_MCS_CONNECT")
 * enters, or PH_NONE when the state marks no phase of its own. */
enum phase phase_from_freerdp_state(const char *state_name);

#endif
