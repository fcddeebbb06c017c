/* relay_cut.c — cuts, stalls and delays at the relay (see relay_ctx.h),
 * and the peer thread's messages that arm them.
 *
 * A cut (reset, close) lands at one defined moment, never in a race with
 * the client's own send: the server's stream is passed up to the phase's
 * boundary and no further, the client's bytes from then on are read but no
 * longer given to FreeRDP, and the strike comes once the client is
 * quiescent — it has answered what it got and waits (its next syscall is a
 * read, whatever the load). Where the protocol says the client waits (it
 * sent a whole X.224 Connection Request, or a TLS ClientHello, and needs
 * the server's answer) the strike is immediate; elsewhere it comes after
 * QUIET_MS without a byte from the client. A graceful close once TLS is up
 * asks the peer for a TLS close_notify, passes it, then sends the FIN. */
#include "engine/relay_ctx.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "catalog/served.h"
#include "faults/tcp.h"

/* ---------------------------------------------------------------- the cut */

/* The security layers do not meet the client's offer: a refusal (key
 * "failure") or a protocol the client did not offer ("selected"). */
void relay_emit_security_layer(struct relay *r, const char *key, const char *value)
{
	char theirs[64], ours[32];
	events_emit(
	        r->c->id, "fault",
	        json_pack("{s:s, s:s, s:s, s:s, s:s}", "action", "security-layer", "at",
	                  phase_name(PH_X224_CONFIRM), "server_accepts",
	                  sc_protocols_str(r->c->served->sc->protocols, ours, sizeof(ours)),
	                  "client_offers",
	                  x224_protocols_str(r->c->req.requested_protocols, theirs, sizeof(theirs)),
	                  key, value));
}

/* A cut at `boundary` of the server's stream. `quiet`: wait for the
 * client to fall quiet (else it provably waits already). From now the
 * client's bytes are no longer given to FreeRDP. One cut per connection:
 * a later one is ignored (the first struck first). */
void relay_arm_cut(struct relay *r, const struct fault_step *st, uint64_t boundary, int quiet,
                   int await_flight)
{
	if (r->sk != SK_NONE)
		return;
	r->strike = st;
	r->sk = SK_ARMED;
	r->boundary = boundary;
	r->quiet = quiet;
	r->await_flight = await_flight && !r->flight_end;
	if (await_flight && r->flight_end)
		r->boundary = r->flight_end;
	r->down.limit = r->boundary;
	r->up.limit = r->up.passed;
	r->up.drop = 1;
	r->t_armed = events_now_ms();
	r->client_bytes_at_arm = r->c->bytes_from_client;
	atomic_store(&r->c->cut, 1); /* later phases are the server's alone */
	/* Bytes of the client's already read but not yet passed stay unread
	 * by FreeRDP (dropped on the next relay_pass). */
}

/* The "fault" event of a cut, with what was read and sent when it struck. */
void relay_emit_strike(struct relay *r, const char *close_notify)
{
	const struct fault_step *st = r->strike;
	json_t *f = fault_step_json(st);
	const char *read_pdu = atomic_load(&r->c->last_pdu_read);
	const char *sent_pdu = atomic_load(&r->c->last_pdu_written);
	json_object_set_new(f, "moment", json_string(r->quiet ? "quiescent" : "client-waits"));
	json_object_set_new(f, "read_bytes", json_integer((json_int_t)r->c->bytes_from_client));
	json_object_set_new(f, "sent_bytes", json_integer((json_int_t)r->c->bytes_to_client));
	json_object_set_new(
	        f, "held_from_server",
	        json_integer((json_int_t)r->up.dropped + (json_int_t)(r->up.seen - r->up.passed)));
	json_object_set_new(f, "last_read",
	                    json_string(r->up.last_unit ? r->up.last_unit : "none"));
	if (read_pdu)
		json_object_set_new(f, "last_pdu_read", json_string(read_pdu));
	if (sent_pdu)
		json_object_set_new(f, "last_pdu_sent", json_string(sent_pdu));
	json_object_set_new(f, "waited_ms",
	                    json_integer((json_int_t)(events_now_ms() - r->t_armed)));
	if (close_notify)
		json_object_set_new(f, "close_notify", json_string(close_notify));
	if (st->at == PH_NONE) /* the close after a server's last message: its own event said so */
		json_object_set_new(f, "after", json_string("messages"));
	events_emit(r->c->id, "fault", f);
}

/* Everything queued for the client goes out now (loopback takes it at
 * once), so a reset lands after the bytes before it. */
static void flush_client(struct relay *r)
{
	struct evbuffer *out = bufferevent_get_output(r->client);
	for (int i = 0; i < 64 && evbuffer_get_length(out); i++)
		if (evbuffer_write(out, r->c->client_fd) <= 0)
			break;
}

static void sk_timer_fired(evutil_socket_t fd, short what, void *arg);

static void sk_timer(struct relay *r, long ms)
{
	if (!r->sk_timer)
		r->sk_timer = evtimer_new(r->e->base, sk_timer_fired, r);
	struct timeval tv = timeval_ms(ms);
	evtimer_add(r->sk_timer, &tv);
}

/* The close: FIN after the bytes up to the current limit. */
static void strike_fin(struct relay *r, const char *close_notify)
{
	if (r->strike->at != PH_NONE || close_notify)
		relay_emit_strike(r, close_notify);
	r->sk = SK_DONE;
	relay_close_server_side(r);
}

/* The strike itself. May free r. */
static void strike(struct relay *r)
{
	const struct fault_step *st = r->strike;
	if (st->action == FA_RESET) {
		relay_emit_strike(r, NULL);
		r->sk = SK_DONE;
		flush_client(r);
		tcp_arm_reset(r->c->client_fd);
		relay_abort(r, "server-reset"); /* frees r */
		return;
	}
	/* A graceful close once TLS is up: the peer's close_notify first. */
	if (fault_wants_close_notify(st) && atomic_load(&r->c->tls_up) && st->at != PH_NONE &&
	    !atomic_load(&r->c->relay_gone)) {
		r->sk = SK_NOTIFY;
		conn_kick_peer(r->c, 1);
		sk_timer(r, NOTIFY_WAIT_MS);
		return;
	}
	conn_kick_peer(r->c, 0);
	strike_fin(r, st->at != PH_NONE && atomic_load(&r->c->tls_up) ? "not-sent" : NULL);
}

static void sk_timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	switch (r->sk) {
	case SK_AFTER:
		r->sk = SK_QUIET;
		if (!r->quiet) {
			strike(r);
			return;
		}
		sk_timer(r, QUIET_MS);
		break;
	case SK_QUIET:
		strike(r); /* QUIET_MS without a byte from the client */
		break;
	case SK_NOTIFY: /* the peer could not write it: a bare FIN, said so */
		strike_fin(r, "not-sent: the peer did not answer");
		break;
	case SK_NOTIFIED: /* the client took the close_notify and waits: the FIN */
		r->sk = SK_DONE;
		relay_close_server_side(r);
		break;
	default:
		break;
	}
}

/* Moves an armed cut on once the server's stream reached its boundary and
 * the client has all of it. May free r. */
void relay_strike_check(struct relay *r)
{
	if (r->sk != SK_ARMED || r->await_flight || r->down.passed < r->boundary ||
	    evbuffer_get_length(bufferevent_get_output(r->client)) > 0 || relay_net_holds(&r->down))
		return;
	const struct fault_step *st = r->strike;
	if (st->after_ms > 0) {
		r->sk = SK_AFTER;
		sk_timer(r, st->after_ms);
		return;
	}
	r->sk = SK_QUIET;
	if (!r->quiet) {
		strike(r);
		return;
	}
	sk_timer(r, QUIET_MS);
}

/* The client sent bytes during the quiet wait: it is not quiescent yet. */
void relay_client_spoke(struct relay *r)
{
	if ((r->sk == SK_QUIET && r->quiet) || r->sk == SK_NOTIFIED)
		sk_timer(r, QUIET_MS);
}

/* ---------------------------------------------------------------- holds */

static void end_stall(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	events_emit(r->c->id, "fault-end",
	            json_pack("{s:s}", "action", fault_action_name(r->stall_step->action)));
	r->stall_step = NULL;
	if (r->sk == SK_NONE)
		r->down.limit = NO_LIMIT;
	if (!r->inner)
		return;
	bufferevent_enable(r->inner, EV_READ);
	relay_on_read(r->inner, r);
	if (r->inner_eof && r->inner && r->sk == SK_NONE) {
		relay_pass(&r->down, r->client);
		relay_close_server_side(r); /* FreeRDP ended during the hold */
	}
}

/* A stall or delay at a phase the relay sees: the server's bytes from
 * `from` on are held, for the step's duration (for good: until the
 * deadline). */
void relay_hold_server(struct relay *r, const struct fault_step *st, uint64_t from)
{
	if (r->stall_step || r->sk != SK_NONE)
		return;
	json_t *f = fault_step_json(st);
	json_object_set_new(f, "sent_bytes", json_integer((json_int_t)from));
	events_emit(r->c->id, "fault", f);
	r->stall_step = st;
	r->down.limit = from;
	if (st->duration_ms >= 0)
		r->stall_timer = timer_after_ms(r->e->base, st->duration_ms, end_stall, r);
}

/* A fault of the scenario's plan at a phase the relay sees itself. */
void relay_fault(struct relay *r, enum phase p, uint64_t server_boundary, int quiet, int is_flight)
{
	const struct fault_step *st = fault_plan_relay_step(&r->c->served->plan, p);
	if (!st)
		return;
	if (fault_ends_connection(st))
		relay_arm_cut(r, st, server_boundary, quiet, is_flight && !st->first_record);
	else
		relay_hold_server(r, st, server_boundary);
}

/* A message from the peer thread (conn_tell). */
void relay_on_request(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct conn *c = r->c;
	struct conn_msg m;
	(void)fd;
	(void)what;
	/* Acting may free r (a reset): hold a reference of our own to c. */
	conn_ref(c);
	while (c->relay == r && conn_take(c, &m)) {
		switch (m.kind) {
		case CM_FLIGHT:
			r->flight_end = m.at;
			if (r->sk == SK_ARMED && r->await_flight) {
				r->await_flight = 0;
				r->boundary = m.at;
				r->down.limit = m.at;
			}
			break;
		case CM_FINAL:
			if (r->sk == SK_NOTIFY) {
				r->down.limit = m.at;
				if (r->sk_timer)
					evtimer_del(r->sk_timer);
				/* The close_notify passes; the FIN once the client
				 * answered it (its own close_notify, or nothing) and
				 * waits, or when it closes first. */
				relay_emit_strike(r, m.ok ? "sent"
				                          : "not-sent: TLS was not up on the peer");
				r->sk = m.ok ? SK_NOTIFIED : SK_DONE;
				if (r->inner) {
					relay_on_read(r->inner, r);
					if (c->relay != r)
						break;
				}
				if (m.ok)
					sk_timer(r, QUIET_MS);
				else
					relay_close_server_side(r);
			}
			break;
		case CM_STRIKE:
			if (fault_ends_connection(m.step)) {
				/* A cut at a peer phase (the peer withholds FreeRDP's
				 * later writes), or the close after a server's last
				 * message (no quiescence: the hold was the peer's). A
				 * deny that lets the connection go on closes later
				 * (at = NO_LIMIT: whatever was written by then). */
				if (m.step->at == PH_NONE && r->sk == SK_NONE) {
					r->strike = m.step;
					r->sk = SK_ARMED;
					r->boundary = m.at;
					r->quiet = 0;
					r->t_armed = events_now_ms();
					r->down.limit = m.at;
					atomic_store(&c->cut, 1);
				} else {
					relay_arm_cut(r, m.step, m.at, 1, 0);
				}
			} else if (m.step->action == FA_DENY && m.step->then_continue) {
				/* deny, then continue: the close close_after_ms later,
				 * graceful, after what was written by then. */
				r->later = (struct fault_step){
				        .action = FA_CLOSE,
				        .at = m.step->at,
				        .duration_ms = -1,
				        .close_notify = fault_wants_close_notify(m.step),
				        .close_after_ms = -1};
				if (r->sk == SK_NONE) {
					r->strike = &r->later;
					r->sk = SK_AFTER;
					r->quiet = 0;
					r->boundary = NO_LIMIT;
					r->t_armed = events_now_ms();
					sk_timer(r, m.step->close_after_ms);
				}
			}
			break;
		}
		if (c->relay == r && r->inner)
			relay_on_read(r->inner, r);
		if (c->relay == r)
			relay_strike_check(r);
	}
	conn_release(c);
}
