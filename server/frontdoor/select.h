/* select.h — scenario selection: peek (never consume) the client's X.224
 * Connection Request, choose the scenario from its cookie or the
 * listener's default, and hand the connection to the relay. A request
 * that is malformed, or never completes before the deadline, closes that
 * one connection with a logged reason. */
#ifndef RDPFAULT_SELECT_H
#define RDPFAULT_SELECT_H

struct front;
struct conn;
struct served;

void select_begin(struct front *f, struct conn *c);
/* The scenario a cookie names (catalog/cookie.h), or NULL; *r says how. */
struct cookie_result;
const struct served *select_by_cookie(const struct front *f, const char *cookie,
                                      struct cookie_result *r);
/* An admission refusal by accept-reset or accept-close (st: a reset or a
 * close): struck once the client's request is in or it fell quiet, never
 * in a race with its first send. */
struct fault_step;
void select_begin_cut(struct front *f, struct conn *c, const struct fault_step *st,
                      const char *reason);
/* Closes every connection still waiting for its request (shutdown). */
void select_abort_all(void);

#endif
