/* admission.h — admission control in the front door: the server's limit on
 * outstanding connections (accepted, not yet active: Windows'
 * MaxOutstandingConnections) and on active sessions, per scenario (its
 * `admission:` section).
 *
 * A connection counts against its scenario from admission until it is
 * active or closed. Past max_outstanding a new one is refused by the
 * scenario's policy: syn-drop pauses the scenario's own listeners (the
 * kernel's small queue fills and SYNs go unanswered) until a slot frees;
 * accept-close and accept-reset end it at once; hold keeps it as a bare
 * socket in the event loop — no FreeRDP context, no thread — until the
 * pre-logon deadline. Every decision is an "admission" event with the
 * count at that moment; the "stop" event sums them up.
 *
 * Event-loop thread, except admission_on_active() (peer threads). */
#ifndef RDPFAULT_ADMISSION_H
#define RDPFAULT_ADMISSION_H

#include <jansson.h>
#include <stdatomic.h>

struct front;
struct served;
struct conn;

/* Sets up the counters (prefill), the wake-up event and the connection
 * hooks (a connection's activation and close free its slot). */
int admission_init(struct front *f);
void admission_free(void);

/* At accept on a listener whose scenario has a limit, and at selection
 * when the cookie chose another scenario: admits (returns 0, the caller
 * goes on) or decides to refuse (returns 1: the caller lets go of its own
 * handles on the socket and calls admission_refuse). `at` names where:
 * "tcp-accept" or "x224-request". */
int admission_admit(const struct served *s, struct conn *c, const char *at);
/* At accept: accept-reset and accept-close refusals are cuts the front
 * door strikes once the client sent its request (or fell quiet): the step
 * (a reset or a close) and the close reason; NULL for the other policies. */
struct fault_step;
const struct fault_step *admission_refusal_cut(const struct served *s, const char **reason);
/* Refuses by the scenario's policy; takes the connection over. */
void admission_refuse(const struct served *s, struct conn *c);

/* The pre-logon deadline of a scenario (its own, else the harness's), ms. */
int admission_deadline_ms(const struct front *f, const struct served *s);

/* {"SCENARIO": {outstanding, admitted, refused: {policy: n}, ...}} for the
 * scenarios that have limits. */
json_t *admission_summary(const struct front *f);

/* Closes the held connections (shutdown). */
void admission_close_held(void);

#endif
