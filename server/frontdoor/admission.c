/* admission.c — outstanding-connection and session limits (see
 * admission.h). */
#include "frontdoor/admission.h"

#include <errno.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "engine/conn.h"
#include "base/clock.h"
#include "catalog/faultplan.h"
#include "base/events.h"
#include "frontdoor/front.h"
#include "base/log.h"
#include "faults/tcp.h"

static void on_active(struct conn *c);
static void on_close(struct conn *c);
static int session_limited(const struct served *s, struct conn *c);
/* What admission wants to know of a connection's life (engine/conn.h). */
static const struct conn_hooks hooks = {on_active, on_close, session_limited};

static struct front *F;
static struct event *wake; /* a slot freed on another thread: re-check paused listeners */
static int initialised;

/* A connection refused by hold: a bare socket, drained, until the deadline
 * or the client's close. */
struct held {
	LIST_ENTRY(held) link; /* in `helds` */
	struct conn *c;
	const struct served *s;
	struct event *ev;
	struct event *timer;
};
static LIST_HEAD(, held) helds = LIST_HEAD_INITIALIZER(helds);

/* A scenario's counters: the served table is read-only but for these. */
static struct admission_live *live(const struct served *s)
{
	return (struct admission_live *)&s->adm;
}

static const struct sc_admission *limits(const struct served *s)
{
	return &s->sc->admission;
}

int admission_deadline_ms(const struct front *f, const struct served *s)
{
	int own = s ? limits(s)->prelogon_timeout_ms : -1;
	if (own < 0)
		return f->opt->handshake_timeout_ms; /* scaled already */
	return scaled_deadline_ms(own, f->opt->time_scale);
}

/* syn-drop: a scenario's own listeners accept only while it has a slot
 * (the listeners are the front's to pause and resume). */
static void update_listeners(const struct served *s)
{
	const struct sc_admission *a = limits(s);
	if (a->max_outstanding < 0 || a->policy != SC_POLICY_SYN_DROP || !F->scenario_full)
		return;
	int full = atomic_load(&s->adm.outstanding) >= a->max_outstanding;
	F->scenario_full(F, s, full, !initialised);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	for (size_t i = 0; i < F->serving->n; i++)
		update_listeners(&F->serving->items[i]);
}

int admission_init(struct front *f)
{
	F = f;
	conn_set_hooks(&hooks);
	wake = event_new(f->base, -1, 0, on_wake, NULL);
	if (!wake)
		return -1;
	for (size_t i = 0; i < f->serving->n; i++) {
		struct served *s = &f->serving->items[i];
		atomic_store(&live(s)->outstanding, limits(s)->prefill);
		update_listeners(s);
	}
	initialised = 1;
	return 0;
}

void admission_free(void)
{
	if (wake)
		event_free(wake);
	wake = NULL;
	initialised = 0;
}

static void emit(struct conn *c, const struct served *s, const char *decision, const char *at)
{
	const struct sc_admission *a = limits(s);
	json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:i, s:I}", "decision", decision, "at", at,
	                      "scenario", served_name(s), "outstanding",
	                      (json_int_t)atomic_load(&s->adm.outstanding), "max_outstanding",
	                      a->max_outstanding, "prefill", (json_int_t)a->prefill);
	if (strcmp(decision, "admitted") != 0)
		json_object_set_new(f, "policy", json_string(sc_policy_str(a->policy)));
	events_emit(c->id, "admission", f);
}

static void held_free(struct held *k)
{
	LIST_REMOVE(k, link);
	event_free(k->ev);
	event_free(k->timer);
	atomic_fetch_sub(&live(k->s)->held, 1);
	free(k);
}

static void held_close(struct held *k, const char *reason)
{
	struct conn *c = k->c;
	conn_set_close_reason(c, "%s", reason);
	close(c->client_fd);
	c->client_fd = -1;
	held_free(k);
	conn_release(c);
}

static void on_held_readable(evutil_socket_t fd, short what, void *arg)
{
	struct held *k = arg;
	char sink[4096];
	ssize_t n;
	(void)what;
	/* Read and drop what the client sends (it is never answered); its
	 * close ends the hold. */
	while ((n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT)) > 0)
		k->c->bytes_from_client += (uint64_t)n;
	if (n == 0) {
		held_close(k, "client-closed");
	} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
		char why[96];
		held_close(k, conn_error_reason(errno, why, sizeof(why)));
	}
}

static void on_held_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct held *k = arg;
	(void)fd;
	(void)what;
	events_emit(k->c->id, "deadline",
	            json_pack("{s:i, s:s}", "after_ms", admission_deadline_ms(F, k->s), "phase",
	                      "held"));
	held_close(k, "held-deadline");
}

static void hold(struct conn *c, const struct served *s)
{
	struct held *k = calloc(1, sizeof(*k));
	if (!k) {
		conn_set_close_reason(c, "out-of-memory");
		close(c->client_fd);
		c->client_fd = -1;
		conn_release(c);
		return;
	}
	k->c = c;
	k->s = s;
	k->ev = event_new(F->base, c->client_fd, EV_READ | EV_PERSIST, on_held_readable, k);
	int left = admission_deadline_ms(F, s) - (int)(events_now_ms() - c->t_accept_ms);
	k->timer = timer_after_ms(F->base, left > 0 ? left : 0, on_held_deadline, k);
	if (!k->ev || !k->timer) {
		if (k->ev)
			event_free(k->ev);
		if (k->timer)
			event_free(k->timer);
		free(k);
		conn_set_close_reason(c, "out-of-memory");
		close(c->client_fd);
		c->client_fd = -1;
		conn_release(c);
		return;
	}
	event_add(k->ev, NULL);
	atomic_fetch_add(&live(s)->held, 1);
	LIST_INSERT_HEAD(&helds, k, link);
}

int admission_admit(const struct served *s, struct conn *c, const char *at)
{
	const struct sc_admission *a = limits(s);
	if (a->max_outstanding < 0 || c->counted == s)
		return 0;
	if (c->counted) /* counted at accept for the listener's scenario: move */
		on_close(c);
	if (atomic_load(&s->adm.outstanding) < a->max_outstanding) {
		atomic_fetch_add(&live(s)->outstanding, 1);
		atomic_fetch_add(&live(s)->admitted, 1);
		c->counted = s;
		atomic_store(&c->count_done, 0);
		emit(c, s, "admitted", at);
		update_listeners(s);
		return 0;
	}
	atomic_fetch_add(&live(s)->refused[a->policy], 1);
	if (!c->served) { /* refused at accept: the listener's scenario refused it */
		c->served = s;
		c->selected_by = "listener";
		events_emit(c->id, "scenario",
		            json_pack("{s:s, s:s}", "scenario", served_name(s), "selected_by",
		                      "listener"));
	}
	emit(c, s, "refused", at);
	return 1;
}

const struct fault_step *admission_refusal_cut(const struct served *s, const char **reason)
{
	static const struct fault_step reset = {.action = FA_RESET,
	                                        .at = PH_TCP_ACCEPT,
	                                        .duration_ms = -1,
	                                        .close_notify = 0,
	                                        .close_after_ms = -1};
	static const struct fault_step fin = {.action = FA_CLOSE,
	                                      .at = PH_TCP_ACCEPT,
	                                      .duration_ms = -1,
	                                      .close_notify = 0,
	                                      .close_after_ms = -1};
	switch (limits(s)->policy) {
	case SC_POLICY_ACCEPT_RESET:
		*reason = "refused: accept-reset";
		return &reset;
	case SC_POLICY_ACCEPT_CLOSE:
		*reason = "refused: accept-close";
		return &fin;
	default:
		return NULL;
	}
}

void admission_refuse(const struct served *s, struct conn *c)
{
	int policy = limits(s)->policy;
	if (policy != SC_POLICY_ACCEPT_RESET && policy != SC_POLICY_ACCEPT_CLOSE) {
		hold(c, s); /* hold; syn-drop on a connection already accepted (by cookie) */
		return;
	}
	conn_set_close_reason(c, "refused: %s", sc_policy_str(policy));
	if (policy == SC_POLICY_ACCEPT_RESET)
		tcp_arm_reset(c->client_fd);
	else
		tcp_fin(c->client_fd);
	close(c->client_fd);
	c->client_fd = -1;
	conn_release(c);
}

/* Frees the connection's slot once. */
static void uncount(struct conn *c, int timed_out)
{
	const struct served *s = c->counted;
	if (!s || atomic_exchange(&c->count_done, 1))
		return;
	atomic_fetch_sub(&live(s)->outstanding, 1);
	if (timed_out)
		atomic_fetch_add(&live(s)->freed_by_timeout, 1);
	if (wake && limits(s)->policy == SC_POLICY_SYN_DROP)
		event_active(wake, 0, 0);
}

static void on_active(struct conn *c)
{
	const struct served *s = c->served;
	uncount(c, 0);
	if (s && limits(s)->max_sessions >= 0 && !c->session_counted) {
		c->session_counted = 1;
		atomic_fetch_add(&live(s)->active_sessions, 1);
	}
}

static void on_close(struct conn *c)
{
	int timed_out = strcmp(c->close_reason, "deadline") == 0 ||
	                strcmp(c->close_reason, "request-timeout") == 0;
	uncount(c, timed_out);
	if (c->session_counted) {
		c->session_counted = 0;
		atomic_fetch_sub(&live(c->served)->active_sessions, 1);
	}
	c->counted = NULL;
}

static int session_limited(const struct served *s, struct conn *c)
{
	const struct sc_admission *a = limits(s);
	long n = atomic_load(&s->adm.active_sessions);
	if (a->max_sessions < 0 || n < a->max_sessions)
		return 0;
	atomic_fetch_add(&live(s)->session_limited, 1);
	events_emit(c->id, "admission",
	            json_pack("{s:s, s:s, s:s, s:I, s:i}", "decision", "session-limit", "at",
	                      "licensing", "scenario", served_name(s), "active_sessions",
	                      (json_int_t)n, "max_sessions", a->max_sessions));
	return 1;
}

json_t *admission_summary(const struct front *f)
{
	json_t *all = json_object();
	for (size_t i = 0; i < f->serving->n; i++) {
		const struct served *s = &f->serving->items[i];
		const struct sc_admission *a = limits(s);
		if (a->max_outstanding < 0 && a->max_sessions < 0)
			continue;
		json_t *refused = json_object();
		for (int p = 0; p < 4; p++)
			json_object_set_new(refused, sc_policy_str(p),
			                    json_integer(atomic_load(&s->adm.refused[p])));
		json_object_set_new(
		        all, served_name(s),
		        json_pack("{s:I, s:i, s:I, s:o, s:I, s:I, s:I, s:I}", "outstanding",
		                  (json_int_t)atomic_load(&s->adm.outstanding), "max_outstanding",
		                  a->max_outstanding, "admitted",
		                  (json_int_t)atomic_load(&s->adm.admitted), "refused", refused,
		                  "held_now", (json_int_t)atomic_load(&s->adm.held),
		                  "freed_by_timeout",
		                  (json_int_t)atomic_load(&s->adm.freed_by_timeout),
		                  "active_sessions",
		                  (json_int_t)atomic_load(&s->adm.active_sessions),
		                  "session_limited",
		                  (json_int_t)atomic_load(&s->adm.session_limited)));
	}
	return all;
}

void admission_close_held(void)
{
	while (!LIST_EMPTY(&helds))
		held_close(LIST_FIRST(&helds), "shutdown");
}
