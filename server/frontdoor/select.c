/* select.c — the peek at the X.224 Connection Request (see select.h).
 *
 * Bytes read here could not be given back to FreeRDP, so the request is
 * read with MSG_PEEK. The read event is edge-triggered: a peek leaves the
 * bytes in the socket, and a level-triggered event would fire again at
 * once for the same partial request. For the same reason a FIN after a
 * partial request is not a zero-length read; EV_CLOSED reports it. */
#include "frontdoor/select.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontdoor/admission.h"
#include "engine/conn.h"
#include "base/clock.h"
#include "catalog/cookie.h"
#include "base/events.h"
#include "base/hexstr.h"
#include "catalog/faultplan.h"
#include "frontdoor/front.h"
#include "base/log.h"
#include "faults/nego.h"
#include "faults/tcp.h"
#include "engine/relay.h"

#define QUIET_MS 200 /* as the relay's: no byte from the client this long, it waits */

struct pending {
	LIST_ENTRY(pending) link; /* in `pendings` */
	struct front *f;
	struct conn *c;
	struct event *ev;
	struct event *timer; /* a front-door stall or delay, or a cut's quiet wait */
	int draining;        /* closed by a fault: read and discard until the client closes */
	enum phase held_at;  /* the phase a stall or delay holds (PH_NONE: none) */
	int armed;           /* ev is added: the loop reads for it */
	/* A cut at tcp-accept (a fault, or an admission refusal): it strikes
	 * once the client's Connection Request is whole in the socket (unread)
	 * or the client fell quiet: the client then waits for the server. */
	const struct fault_step *cut;
	const char *cut_reason; /* the close reason ("server-reset", "refused: ...") */
	int cut_is_fault;       /* a scenario's fault: logged as a "fault" event */
	uint64_t cut_t0;
};

static LIST_HEAD(, pending) pendings = LIST_HEAD_INITIALIZER(pendings);

/* The pre-logon deadline: the chosen scenario's, before that the
 * listener's. */
static int deadline_of(const struct pending *p)
{
	return admission_deadline_ms(p->f, p->c->served ? p->c->served : p->c->listener_def);
}

/* The connection waits for the client: its read event is armed (once),
 * with `ms` for the timeout. A request already in the socket at accept is
 * read before any of this (most are, under load): no epoll_ctl to add the
 * socket and none to take it out. */
static void pending_wait_ms(struct pending *p, int ms)
{
	if (p->armed)
		return;
	struct timeval tv = timeval_ms(ms > 0 ? ms : 1);
	event_add(p->ev, &tv);
	p->armed = 1;
}

/* ... with what is left of the pre-logon deadline, which counts from the
 * accept. */
static void pending_wait(struct pending *p)
{
	uint64_t gone = events_now_ms() - p->c->t_accept_ms;
	int dl = deadline_of(p);
	pending_wait_ms(p, gone >= (uint64_t)dl ? 1 : dl - (int)gone);
}

static void pending_free(struct pending *p)
{
	LIST_REMOVE(p, link);
	event_free(p->ev);
	if (p->timer)
		event_free(p->timer);
	free(p);
}

/* Ends a connection that never reached the relay: read what it sent (so
 * close sends FIN, not RST), close, release. */
static void pending_close(struct pending *p, const char *reason)
{
	struct conn *c = p->c;
	char sink[4096];
	conn_set_close_reason(c, "%s", reason);
	while (recv(c->client_fd, sink, sizeof(sink), MSG_DONTWAIT) > 0)
		;
	shutdown(c->client_fd, SHUT_WR);
	close(c->client_fd);
	c->client_fd = -1;
	pending_free(p);
	conn_release(c);
}

const struct served *select_by_cookie(const struct front *f, const char *cookie,
                                      struct cookie_result *r)
{
	const struct serving *sv = f->serving;
	cookie_match((const struct scenario *const *)sv->cat->items, sv->n, cookie, r);
	if (r->how == COOKIE_NAME || r->how == COOKIE_ALIAS || r->how == COOKIE_PREFIX)
		return &sv->items[r->index];
	return NULL;
}

/* Whether to warn about this unmatched cookie: once per distinct cookie,
 * for the first WARNED_COOKIES of them, then once that no more will be. A
 * client retrying or a load test must not flood stderr (a full stderr
 * pipe would stall the harness); the event log has every one. Called on
 * the event loop's thread only. */
#define WARNED_COOKIES 16
static int warn_cookie(const char *cookie)
{
	static char warned[WARNED_COOKIES][X224_COOKIE_MAX + 1];
	static size_t n;
	static int said_enough;
	for (size_t i = 0; i < n; i++)
		if (strcmp(warned[i], cookie) == 0)
			return 0;
	if (n < WARNED_COOKIES) {
		snprintf(warned[n++], sizeof(warned[0]), "%s", cookie);
		return 1;
	}
	if (!said_enough) {
		said_enough = 1;
		log_warn("%d different unmatched cookies warned about: the rest are only in the "
		         "event log (\"cookie_unmatched\")",
		         WARNED_COOKIES);
	}
	return 0;
}

/* The "scenario" event; a cookie that names no scenario, or the start of
 * several, is said there and warned about: the client gets the listener's
 * default, which is rarely what its user meant. */
static void report_selection(const struct front *f, struct conn *c, const struct cookie_result *r)
{
	json_t *ev = json_pack("{s:s, s:s}", "scenario", served_name(c->served), "selected_by",
	                       c->selected_by);
	if (c->sched_of) { /* a schedule scenario chose: named as selected_by says */
		json_object_set_new(ev, "schedule", json_string(served_name(c->sched_of)));
		json_object_set_new(ev, "schedule_step", json_integer(c->sched_step));
	} else if (c->sched_step >= 0 && !strcmp(c->selected_by, "listener")) {
		json_object_set_new(ev, "selected_by", json_string("schedule"));
		json_object_set_new(ev, "schedule_step", json_integer(c->sched_step));
	}
	if (c->req.has_cookie && (r->how == COOKIE_NONE || r->how == COOKIE_AMBIGUOUS)) {
		char names[256] = "";
		size_t used = 0;
		json_t *cand = json_array();
		for (size_t i = 0; i < r->n_candidates && i < COOKIE_CANDIDATES; i++) {
			const char *name = f->serving->items[r->candidates[i]].sc->name;
			json_array_append_new(cand, json_string(name));
			if (used < sizeof(names))
				used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s",
				                         i ? ", " : "", name);
		}
		json_object_set_new(ev, "cookie_unmatched", json_string(c->req.cookie));
		int warn = warn_cookie(c->req.cookie);
		if (r->how == COOKIE_AMBIGUOUS) {
			json_object_set_new(ev, "cookie_candidates", cand);
			if (warn)
				log_warn("conn %llu: cookie \"%s\" begins %zu scenario names "
				         "(%s%s): "
				         "serving "
				         "the listener's default %s; select by the scenario's "
				         "alias or port",
				         (unsigned long long)c->id, c->req.cookie, r->n_candidates,
				         names, r->n_candidates > COOKIE_CANDIDATES ? ", ..." : "",
				         served_name(c->served));
		} else {
			json_decref(cand);
			if (warn)
				log_warn("conn %llu: cookie \"%s\" names no scenario: serving the "
				         "listener's "
				         "default %s ('rdpfault list' shows names and aliases)",
				         (unsigned long long)c->id, c->req.cookie,
				         served_name(c->served));
		}
	}
	events_emit(c->id, "scenario", ev);
}

static void report_bad_request(struct conn *c, int status, const uint8_t *buf, size_t n)
{
	char hex[2 * 16 + 1];
	hex_encode(buf, n < 16 ? n : 16, hex);
	events_emit(c->id, "bad-request",
	            json_pack("{s:s, s:s, s:I, s:s}", "error", x224_status_name(status), "why",
	                      x224_status_text(status), "bytes_seen", (json_int_t)n, "head", hex));
	log_debug("conn %llu from %s: bad connection request: %s", (unsigned long long)c->id,
	          c->client_addr, x224_status_text(status));
}

static void on_readable(evutil_socket_t fd, short what, void *arg);
static void start_relay(struct pending *p);

/* The cut strikes: RST, or FIN and a drain until the client closes.
 * `waiting` is how many of the client's bytes wait unread in the socket. */
static void strike_cut(struct pending *p, size_t waiting, const char *moment)
{
	struct conn *c = p->c;
	const struct fault_step *st = p->cut;
	if (p->timer) {
		event_free(p->timer);
		p->timer = NULL;
	}
	if (p->cut_is_fault) {
		json_t *f = fault_step_json(st);
		json_object_set_new(f, "moment", json_string(moment));
		json_object_set_new(f, "read_bytes",
		                    json_integer(c->req.length && st->at == PH_X224_REQUEST
		                                         ? (json_int_t)c->req.length
		                                         : 0));
		json_object_set_new(f, "waiting_bytes", json_integer((json_int_t)waiting));
		json_object_set_new(f, "sent_bytes", json_integer(0));
		json_object_set_new(f, "waited_ms",
		                    json_integer((json_int_t)(events_now_ms() - p->cut_t0)));
		events_emit(c->id, "fault", f);
	}
	conn_set_close_reason(c, "%s", p->cut_reason);
	if (st->action == FA_RESET) {
		/* Unread request bytes would make close send RST anyway; the
		 * linger makes it one on purpose. */
		tcp_arm_reset(c->client_fd);
		close(c->client_fd);
		c->client_fd = -1;
		pending_free(p);
		conn_release(c);
		return;
	}
	tcp_fin(c->client_fd);
	p->draining = 1;
	p->cut = NULL;
	on_readable(c->client_fd, EV_READ, p);
}

static void on_cut_quiet(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	uint8_t buf[X224_REQUEST_MAX];
	(void)fd;
	(void)what;
	ssize_t n = recv(p->c->client_fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	strike_cut(p, n > 0 ? (size_t)n : 0, "quiescent");
}

static void cut_when_quiet(struct pending *p, const struct fault_step *st, const char *reason,
                           int is_fault)
{
	p->cut = st;
	p->cut_reason = reason;
	p->cut_is_fault = is_fault;
	p->cut_t0 = events_now_ms();
	p->timer = timer_after_ms(p->f->base, QUIET_MS, on_cut_quiet, p);
	pending_wait(p);
}

/* A stall or delay at the front door ends: go on from where it held. */
static void on_front_timer(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	(void)fd;
	(void)what;
	const struct fault_step *st = fault_plan_relay_step(
	        &(p->held_at == PH_TCP_ACCEPT ? p->c->listener_def : p->c->served)->plan,
	        p->held_at);
	if (st && st->duration_ms < 0) { /* a stall for as long as it lasts: the deadline */
		events_emit(p->c->id, "deadline",
		            json_pack("{s:i, s:s}", "after_ms", deadline_of(p), "phase",
		                      phase_name(p->held_at)));
		pending_close(p, "deadline");
		return;
	}
	events_emit(p->c->id, "fault-end",
	            json_pack("{s:s}", "action", st ? fault_action_name(st->action) : "stall"));
	enum phase was = p->held_at;
	p->held_at = PH_NONE;
	if (was == PH_X224_REQUEST) {
		start_relay(p);
		return;
	}
	pending_wait_ms(p, deadline_of(p));
	on_readable(p->c->client_fd, EV_READ, p); /* the request may be waiting already */
}

/* A fault at tcp-accept or x224-request, before any relay exists. Returns
 * 1 when it took the connection over. */
static int front_fault(struct pending *p, const struct served *s, enum phase at)
{
	const struct fault_step *st = fault_plan_relay_step(&s->plan, at);
	struct conn *c = p->c;
	if (!st)
		return 0;
	if (!c->served) { /* at tcp-accept: the listener's scenario */
		c->served = s;
		c->selected_by = "listener";
		events_emit(c->id, "scenario",
		            json_pack("{s:s, s:s}", "scenario", served_name(s), "selected_by",
		                      "listener"));
	}
	if (fault_ends_connection(st)) {
		if (at == PH_TCP_ACCEPT) {
			/* Not now: once the client's request is in (or it fell
			 * quiet), so that it waits in a read when the cut comes. */
			cut_when_quiet(p, st,
			               st->action == FA_RESET ? "server-reset" : "server-closed",
			               1);
			return 1;
		}
		/* x224-request: the whole request arrived; the client waits. */
		p->cut = st;
		p->cut_reason = st->action == FA_RESET ? "server-reset" : "server-closed";
		p->cut_is_fault = 1;
		p->cut_t0 = events_now_ms();
		strike_cut(p, (size_t)c->req.length, "client-waits");
		return 1;
	}
	events_emit(c->id, "fault", fault_step_json(st));
	switch (st->action) {
	default: { /* stall, delay: hold, with a timer for the end or the deadline */
		int ms = st->duration_ms >= 0 ? st->duration_ms : deadline_of(p);
		p->held_at = at;
		event_del(p->ev);
		p->armed = 0;
		p->timer = timer_after_ms(p->f->base, ms, on_front_timer, p);
		return 1;
	}
	}
}

/* neg-failure: the harness writes the Connection Confirm itself; after a
 * negotiation failure a server sends nothing but the close. */
static void answer_neg_failure(struct pending *p, const struct fault_step *st)
{
	struct conn *c = p->c;
	uint8_t pdu[NEG_FAILURE_PDU_LEN];
	size_t n = nego_failure_pdu(st->code, pdu);
	const char *name = nego_failure_name(st->code);

	events_emit(c->id, "fault", fault_step_json(st));
	/* The request was peeked: read it now, so the answer follows it. */
	uint8_t sink[X224_REQUEST_MAX];
	ssize_t got = recv(c->client_fd, sink, c->req.length, MSG_DONTWAIT);
	if (got > 0)
		c->bytes_from_client += (uint64_t)got;
	/* MSG_MORE: the answer waits for the FIN below and leaves in one
	 * segment with it, the same bytes in the same order, one delivery (and
	 * one wake-up of the client) instead of two. */
	if (send(c->client_fd, pdu, n, MSG_NOSIGNAL | MSG_MORE) == (ssize_t)n)
		c->bytes_to_client += n;
	conn_phase(c, PH_X224_CONFIRM,
	           json_pack("{s:s, s:i}", "failure", name ? name : "unnamed", "failure_code",
	                     (int)st->code));
	/* Then the close a server makes: FIN, and the client's own close
	 * awaited (a close() with the client still writing would be an RST). */
	conn_set_close_reason(c, "server-closed");
	tcp_fin(c->client_fd);
	p->draining = 1;
	on_readable(c->client_fd, EV_READ, p);
}

/* The scenario a cookie named, `s`, settled against the schedules: the
 * step the accept took for this client is given back when s is another
 * scenario, and a schedule scenario gives its step. */
static const struct served *chosen_by_cookie(struct conn *c, const struct served *s)
{
	char ip[64];
	sched_client_ip(c->client_addr, ip, sizeof ip);
	if (s != c->listener_def && s != c->sched_of) {
		/* Its next connection gets the step this one did not use. */
		for (int i = 0; i < 2; i++)
			if (c->sched_counted[i])
				sched_refund(c->sched_counted[i], ip);
		c->sched_counted[0] = c->sched_counted[1] = NULL;
		c->sched_step = -1;
		c->sched_of = NULL; /* another scenario by name: no schedule chose */
	}
	if (!s->n_sched)
		return s;
	/* A schedule scenario by name: the step the accept picked when it is
	 * the listener's own, else its step for this client now. */
	if (s == c->sched_of)
		return c->listener_def;
	c->sched_of = s;
	return served_pick((struct served *)s, ip, &c->sched_step, NULL);
}

static void choose(struct pending *p)
{
	struct conn *c = p->c;
	struct front *fr = p->f;
	char protos[64];
	const struct served *s = NULL;

	json_t *f =
	        json_pack("{s:s, s:b, s:i}", "requested",
	                  x224_protocols_str(c->req.requested_protocols, protos, sizeof(protos)),
	                  "neg_req", c->req.has_neg_req, "neg_flags", c->req.neg_flags);
	json_object_set_new(f, "cookie",
	                    c->req.has_cookie ? json_string(c->req.cookie) : json_null());
	if (c->req.has_routing_token)
		json_object_set_new(f, "routing_token", json_true());
	events_emit(c->id, "request", f);
	conn_phase(c, PH_X224_REQUEST, NULL);

	struct cookie_result how = {.how = COOKIE_NONE};
	if (c->req.has_cookie)
		s = select_by_cookie(fr, c->req.cookie, &how);
	c->selected_by = cookie_match_name(s ? how.how : COOKIE_NONE);
	if (s)
		s = chosen_by_cookie(c, s);
	c->served = s ? s : c->listener_def;
	report_selection(fr, c, &how);
	if (admission_admit(c->served, c, "x224-request")) {
		pending_free(p);
		admission_refuse(c->served, c);
		return;
	}

	const struct fault_step *nf = fault_plan_find(&c->served->plan, FA_NEG_FAILURE);
	if (nf) {
		answer_neg_failure(p, nf);
		return;
	}
	if (front_fault(p, c->served, PH_X224_REQUEST))
		return;
	start_relay(p);
}

/* TCP keep-alive (and a user timeout for data the client never
 * acknowledges) on a connection that goes on past its request: a client
 * whose link died is noticed and closed ("client-gone") instead of holding
 * its connection for good. Before the request, the request timeout bounds
 * it, and a connection a fault ends at once is spared five system calls. */
static void keepalive(const struct front *f, int fd)
{
	const struct harness_options *o = f->opt;
	if (o->keepalive_idle_s <= 0)
		return;
	int on = 1, idle = o->keepalive_idle_s, intvl = o->keepalive_interval_s,
	    cnt = o->keepalive_count;
	unsigned int user_timeout = (unsigned int)(idle + intvl * cnt) * 1000u;
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
	setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof(user_timeout));
}

/* The relay takes the connection over. */
static void start_relay(struct pending *p)
{
	struct front *f = p->f;
	struct conn *c = p->c;
	pending_free(p);
	/* The engine's deadline: the chosen scenario's own, else the front
	 * door's; the relay counts it from the accept. */
	c->deadline_ms = admission_deadline_ms(f, c->served);
	keepalive(f, c->client_fd);
	relay_start(&f->engine, c);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct pending *p = arg;
	uint8_t buf[X224_REQUEST_MAX];

	if (what & EV_TIMEOUT) {
		events_emit(p->c->id, "request-timeout", NULL);
		pending_close(p, "request-timeout");
		return;
	}
	if (p->draining) { /* after a front-door close: read until the client closes */
		ssize_t got;
		while ((got = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			p->c->bytes_from_client += (uint64_t)got;
		if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
			pending_close(p, "server-closed");
		else
			pending_wait(p);
		return;
	}
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0) {
		if (p->cut && p->cut_is_fault)
			events_emit(p->c->id, "fault-failed",
			            json_pack("{s:s, s:s, s:s}", "action",
			                      fault_action_name(p->cut->action), "at",
			                      phase_name(p->cut->at), "why",
			                      "the client closed before the cut's moment"));
		pending_close(p, "client-closed-before-request");
		return;
	}
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
			pending_wait(p);
			return;
		}
		char why[96];
		pending_close(p, conn_error_reason(errno, why, sizeof(why)));
		return;
	}
	if (p->cut) {
		/* A whole request (or bytes that cannot become one): the client
		 * waits now. Part of one: it may still be writing. */
		struct x224_request req;
		if (x224_parse_request(buf, (size_t)n, &req) != X224_NEED_MORE) {
			strike_cut(p, (size_t)n, "client-waits");
			return;
		}
		struct timeval tv = timeval_ms(QUIET_MS);
		evtimer_add(p->timer, &tv);
		return;
	}
	int st = x224_parse_request(buf, (size_t)n, &p->c->req);
	if (st == X224_NEED_MORE) {
		/* Peeked bytes stay unread, so a FIN after a partial request
		 * never shows as a zero-length read: EV_CLOSED (EPOLLRDHUP)
		 * reports it, or the socket says so now. */
		struct pollfd pfd = {.fd = fd, .events = POLLRDHUP};
		if ((what & EV_CLOSED) ||
		    (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))) {
			/* A reset (the socket's error says so) or a FIN. */
			int soerr = 0;
			socklen_t sl = sizeof(soerr);
			getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
			events_emit(
			        p->c->id, "bad-request",
			        json_pack("{s:s, s:s, s:I}", "error", "truncated", "why",
			                  soerr ? "the client reset the connection before its "
			                          "connection request was complete"
			                        : "the client closed before its connection request "
			                          "was complete",
			                  "bytes_seen", (json_int_t)n));
			char why[96];
			pending_close(p, soerr ? conn_error_reason(soerr, why, sizeof(why))
			                       : "client-closed-before-request");
			return;
		}
		/* The persistent event's timeout restarts with every segment;
		 * the deadline counts from accept. */
		if (events_now_ms() - p->c->t_accept_ms >= (uint64_t)deadline_of(p)) {
			events_emit(p->c->id, "request-timeout", NULL);
			pending_close(p, "request-timeout");
			return;
		}
		pending_wait(p);
		return;
	}
	if (st != X224_OK) {
		char why[64];
		report_bad_request(p->c, st, buf, (size_t)n);
		snprintf(why, sizeof(why), "bad-request: %s", x224_status_name(st));
		pending_close(p, why);
		return;
	}
	choose(p);
}

/* A connection waiting for its request, its read event armed with the
 * request deadline; NULL (the connection closed) when out of memory. */
static struct pending *pending_new(struct front *f, struct conn *c)
{
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		conn_set_close_reason(c, "out-of-memory");
		close(c->client_fd);
		conn_release(c);
		return NULL;
	}
	p->f = f;
	p->c = c;
	p->ev = event_new(f->base, c->client_fd, EV_READ | EV_ET | EV_CLOSED | EV_PERSIST,
	                  on_readable, p);
	LIST_INSERT_HEAD(&pendings, p, link);
	return p;
}

void select_begin(struct front *f, struct conn *c)
{
	struct pending *p = pending_new(f, c);
	if (!p)
		return;
	/* A fault at tcp-accept strikes before the request is read: the
	 * cookie is unknown yet, so it is the listener's scenario's. */
	if (!front_fault(p, c->listener_def, PH_TCP_ACCEPT))
		on_readable(c->client_fd, EV_READ, p); /* the request may be in already */
}

void select_begin_cut(struct front *f, struct conn *c, const struct fault_step *st,
                      const char *reason)
{
	struct pending *p = pending_new(f, c);
	if (!p)
		return;
	cut_when_quiet(p, st, reason, 0);
}

void select_abort_all(void)
{
	while (!LIST_EMPTY(&pendings))
		pending_close(LIST_FIRST(&pendings), "shutdown");
}
