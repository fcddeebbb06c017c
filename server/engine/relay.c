/* relay.c — client socket <-> socketpair relay (see relay.h).
 *
 * Each direction is a flow: bytes read from one side are scanned (TPKT,
 * fast-path and TLS record headers: the relay's own phases), then handed
 * to the other side up to the flow's limit; bytes past it wait. Offsets
 * are counted from the start of each stream, so the peer thread and the
 * relay agree on "the server's byte N".
 *
 * Closing follows the client's lead and never loses the last bytes: an
 * end-of-file from one side is passed on as a half-close (shutdown
 * SHUT_WR) only after everything queued for the other side is written,
 * and when the server side ends first the client gets a FIN and is
 * drained for a while, so a final PDU (e.g. Set Error Info) reaches it
 * before the socket closes. Cuts and stalls are relay_cut.c's; the
 * relay's own phases relay_scan.c's. */
#include "engine/relay.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "catalog/served.h"
#include "engine/bulkread.h"
#include "engine/peer.h"
#include "engine/relay_ctx.h"
#include "faults/tcp.h"

static LIST_HEAD(, relay) relays = LIST_HEAD_INITIALIZER(relays);
static long n_relays;

long relay_live(void)
{
	return n_relays;
}

static void finish(struct relay *r)
{
	if (r->client)
		bufferevent_free(r->client);
	if (r->inner)
		bufferevent_free(r->inner);
	if (r->deadline)
		event_free(r->deadline);
	if (r->linger)
		event_free(r->linger);
	if (r->stall_timer)
		event_free(r->stall_timer);
	if (r->sk_timer)
		event_free(r->sk_timer);
	/* The peer thread must not tell us more, nor wait for us. */
	pthread_mutex_lock(&r->c->req_lock);
	r->c->req_wake = NULL;
	atomic_store(&r->c->relay_gone, 1);
	pthread_mutex_unlock(&r->c->req_lock);
	conn_kick_peer(r->c, 0);
	if (r->wake)
		event_free(r->wake);
	relay_net_free(r);
	LIST_REMOVE(r, link);
	n_relays--;
	r->c->relay = NULL;
	r->c->client_fd = -1;
	conn_release(r->c);
	free(r);
}

void relay_abort(struct relay *r, const char *reason)
{
	conn_set_close_reason(r->c, "%s", reason);
	finish(r);
}

/* ---------------------------------------------------------------- relaying */

/* After an RDP_NEG_FAILURE a server sends nothing but the close
 * (MS-RDPBCGR 3.3.5.3.1). FreeRDP 2.11 goes on after its own failure
 * (it reads the failure code as a selected protocol), so the relay ends
 * the server side itself: the Connection Confirm reaches the client, then
 * a FIN; FreeRDP sees end-of-file. */
static void end_after_failure(struct relay *r, size_t cc_len)
{
	r->down.limit = r->down.passed + cc_len;
	r->neg_failed = 1; /* FreeRDP's later bytes are never passed */
}

/* rdesktop's Erect Domain Request, made acceptable to FreeRDP in place
 * (see mcsfix.h). Only the plaintext of RDP Standard Security is visible
 * here: mcsfix stops at the first TLS record, and the SSL_read hook does
 * the same for TLS. The chunks are the bufferevent's own read buffers. */
static int fix_chunk(void *arg, uint8_t *p, size_t n)
{
	struct relay *r = arg;
	if (mcsfix_feed(&r->fix, p, n))
		events_emit(r->c->id, "client-quirk",
		            json_pack("{s:s, s:s}", "quirk", "erect-domain-bare-integers",
		                      "seen_by", "relay"));
	return r->fix.done;
}

/* Hands what the flow may pass to `to` (NULL: the other side is gone, the
 * bytes are dropped); in drop mode, discards the rest. Returns the count
 * handed on. */
size_t relay_pass(struct flow *f, struct bufferevent *to)
{
	struct evbuffer *in = bufferevent_get_input(f->from);
	size_t len = evbuffer_get_length(in);
	uint64_t room = f->limit > f->passed ? f->limit - f->passed : 0;
	size_t n = room < len ? (size_t)room : len;
	if (n) {
		if (to && f->net)
			relay_net_take(f, in, n);
		else if (to)
			evbuffer_remove_buffer(in, bufferevent_get_output(to), n);
		else
			evbuffer_drain(in, n);
		f->passed += n;
		if (to && f->net)
			return 0; /* counted as the conditions let them go */
	}
	if (f->drop && len > n) {
		evbuffer_drain(in, len - n);
		f->dropped += len - n;
		f->passed += len - n;
		f->limit = f->passed; /* stays shut */
	}
	return to ? n : 0;
}

void relay_on_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	/* libevent reads 4 KB a call: a bulk stream takes the rest of what
	 * the socket holds in one read (never its end or an error). */
	if (evbuffer_get_length(in) < HIGH_WATER)
		bulk_read(bev, BULK_READ_MAX);

	if (bev == r->client) {
		uint64_t before = r->up.seen;
		relay_scan_new(r, &r->up, relay_on_unit_up);
		r->c->bytes_from_client += r->up.seen - before;
		if (r->up.seen > before)
			relay_client_spoke(r);
		if (!r->inner) { /* the server side is closed: nothing more is read */
			r->up.drop = 1;
			r->up.limit = r->up.passed;
		}
		if (!r->fix.done && relay_each_chunk(in, 0, fix_chunk, r) < 0)
			r->fix.done = 1;
		relay_pass(&r->up, r->inner);
		if (r->inner && evbuffer_get_length(bufferevent_get_output(r->inner)) >= HIGH_WATER)
			bufferevent_disable(bev, EV_READ);
		relay_strike_check(r); /* a cut the client's own unit armed (may free r) */
		return;
	}

	size_t len = evbuffer_get_length(in);
	if (!r->saw_cc && len >= 11) {
		uint8_t head[19];
		size_t got = len < sizeof(head) ? len : sizeof(head);
		evbuffer_copyout(in, head, got);
		r->saw_cc = 1;
		size_t cc_len = (size_t)head[2] << 8 | head[3];
		if (relay_log_confirm(r, head, got)) {
			end_after_failure(r, cc_len);
		} else {
			/* A cut waits for the client's answer (its ClientHello, or
			 * under RDP Standard Security its Connect Initial). */
			relay_fault(r, PH_X224_CONFIRM, r->down.passed + cc_len, 1, 0);
		}
	}
	relay_scan_new(r, &r->down, relay_on_unit_down);
	size_t n = relay_pass(&r->down, r->client);
	r->c->bytes_to_client += n;
	if (r->neg_failed && r->down.limit <= r->down.passed && r->inner) {
		/* After a negotiation failure: the Confirm went, the server side
		 * ends here. */
		relay_close_server_side(r);
		return;
	}
	if (r->client && evbuffer_get_length(bufferevent_get_output(r->client)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
	relay_strike_check(r);
}

/* The server side ends here: FreeRDP sees end-of-file, the client gets a
 * FIN once it has every byte already passed on. */
void relay_close_server_side(struct relay *r)
{
	if (r->inner) {
		bufferevent_free(r->inner);
		r->inner = NULL;
	}
	r->inner_eof = 1;
	r->up.drop = 1;
	r->up.limit = r->up.passed;
	relay_pass_on_server_eof(r);
}

static void on_linger(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	finish(arg);
}

static void maybe_done(struct relay *r)
{
	if (r->inner_eof && r->client_eof)
		finish(r);
}

/* Passes an end-of-file on once the side's queued output is written. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	/* Output drained: resume reading the other side. */
	if (bev && bev == r->inner) {
		if (r->client && !r->client_eof && !relay_net_paused(&r->up))
			bufferevent_enable(r->client, EV_READ);
		if (r->client_eof && !r->inner_wr_shut && relay_net_eof_ready(r, &r->up)) {
			shutdown(r->inner_fd, SHUT_WR);
			r->inner_wr_shut = 1;
		}
	} else {
		if (r->inner && !r->inner_eof && !relay_net_paused(&r->down))
			bufferevent_enable(r->inner, EV_READ);
		if (r->inner_eof && !r->inner && !r->client_wr_shut &&
		    relay_net_eof_ready(r, &r->down)) {
			shutdown(r->c->client_fd, SHUT_WR);
			r->client_wr_shut = 1;
			r->linger = timer_after_ms(
			        r->e->base, scale_ms(LINGER_MS, r->e->time_scale), on_linger, r);
		}
		relay_strike_check(r); /* may free r */
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct relay *r = arg;
	int err = EVUTIL_SOCKET_ERROR();

	if (!(what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)))
		return;
	if (bev == r->client) {
		if (what & BEV_EVENT_ERROR) {
			char why[96];
			if (r->inner_eof && (err == ECONNRESET || err == EPIPE))
				relay_abort(r, "server-closed"); /* it reset what we closed */
			else
				relay_abort(r, conn_error_reason(err, why, sizeof(why)));
			return;
		}
		r->client_eof = 1;
		conn_set_close_reason(r->c, "client-closed");
		bufferevent_disable(r->client, EV_READ);
		if (r->sk == SK_NOTIFIED) {
			/* It answered the close_notify with its own close. */
			r->sk = SK_DONE;
			relay_close_server_side(r);
		} else if (r->sk != SK_NONE && r->sk != SK_DONE) {
			/* The client left before the cut came: nothing to strike. */
			if (r->strike->at != PH_NONE)
				events_emit(r->c->id, "fault-failed",
				            json_pack("{s:s, s:s, s:s}", "action",
				                      fault_action_name(r->strike->action), "at",
				                      phase_name(r->strike->at), "why",
				                      "the client closed before the cut's moment"));
			r->sk = SK_DONE;
			relay_close_server_side(r);
		} else if (r->inner && evbuffer_get_length(bufferevent_get_output(r->inner)) == 0) {
			on_write(r->inner, r);
		}
	} else {
		r->inner_eof = 1;
		bufferevent_disable(r->inner, EV_READ);
		/* FreeRDP ended because the client asked it to: it read the
		 * client's Disconnect Provider Ultimatum or TLS close_notify, or
		 * the client's FIN is in the socket already. The client closed
		 * first, whichever event the loop hands us first and however late
		 * the client's own FIN follows. */
		struct pollfd pfd = {.fd = r->c->client_fd, .events = POLLRDHUP};
		if (!r->client_eof &&
		    (atomic_load(&r->c->client_bye) ||
		     (poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP)))))
			conn_set_close_reason(r->c, "client-closed");
		/* The server side ended on its own: a cut or hold in progress
		 * decides the end itself; otherwise the client gets the FIN. */
		if (r->sk == SK_NONE && !r->stall_step) {
			relay_pass(&r->down, r->client);
			relay_close_server_side(r);
		}
	}
	maybe_done(r);
}

void relay_flow_drained(struct relay *r, int up)
{
	struct bufferevent *to = up ? r->inner : r->client;
	if (to && evbuffer_get_length(bufferevent_get_output(to)) == 0)
		on_write(to, r);
}

/* The server side ended: the client gets a FIN once it has every byte. */
void relay_pass_on_server_eof(struct relay *r)
{
	conn_set_close_reason(r->c, "server-closed");
	if (r->client && evbuffer_get_length(bufferevent_get_output(r->client)) == 0)
		on_write(r->client, r);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	if (atomic_load(&r->c->active))
		return;
	events_emit(r->c->id, "deadline",
	            json_pack("{s:i, s:s}", "after_ms", r->c->deadline_ms, "phase",
	                      phase_name((enum phase)atomic_load(&r->c->last_phase))));
	relay_abort(r, "deadline");
}

static void flow_init(struct flow *f, struct bufferevent *from)
{
	memset(f, 0, sizeof(*f));
	f->from = from;
	f->limit = NO_LIMIT;
	tlsrec_init(&f->sc);
}

void relay_start(const struct engine *e, struct conn *c)
{
	int sv[2];
	struct relay *r = calloc(1, sizeof(*r));

	if (!r || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("cannot relay connection %llu: %s", (unsigned long long)c->id,
		          strerror(errno));
		free(r);
		conn_set_close_reason(c, "internal-error: socketpair");
		close(c->client_fd);
		conn_release(c);
		return;
	}
	/* FreeRDP's writes never wait on the relay (a PDU goes out in one
	 * write, so the peer's count of its bytes is exact at every phase). */
	int big = 4 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	r->e = e;
	r->c = c;
	c->relay = r;
	r->inner_fd = sv[0];
	r->wake = event_new(e->base, -1, 0, relay_on_request, r);
	pthread_mutex_lock(&c->req_lock);
	c->req_wake = r->wake;
	pthread_mutex_unlock(&c->req_lock);
	evutil_make_socket_nonblocking(sv[0]);
	r->client = bufferevent_socket_new(e->base, c->client_fd, BEV_OPT_CLOSE_ON_FREE);
	r->inner = bufferevent_socket_new(e->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	LIST_INSERT_HEAD(&relays, r, link);
	n_relays++;
	if (!r->client || !r->inner || !r->wake) {
		close(sv[1]);
		relay_abort(r, "internal-error: bufferevent");
		return;
	}
	flow_init(&r->up, r->client);
	flow_init(&r->down, r->inner);
	relay_net_attach(r);
	bufferevent_setcb(r->client, relay_on_read, on_write, on_event, r);
	bufferevent_setcb(r->inner, relay_on_read, on_write, on_event, r);
	bufferevent_enable(r->client, EV_READ | EV_WRITE);
	bufferevent_enable(r->inner, EV_READ | EV_WRITE);

	uint64_t elapsed = events_now_ms() - c->t_accept_ms;
	uint64_t limit = (uint64_t)c->deadline_ms;
	uint64_t left = elapsed < limit ? limit - elapsed : 0;
	r->deadline = timer_after_ms(e->base, (long)left, on_deadline, r);

	if (peer_start(e, c, sv[1]) != 0) {
		close(sv[1]);
		relay_abort(r, "internal-error: peer thread");
	}
}

size_t relay_update_conditions(const struct net_plan *listener_net, const struct net_cond *c,
                               int removed)
{
	size_t n = 0;
	struct relay *r;
	LIST_FOREACH(r, &relays, link)
	{
		if (r->c->listener_net != listener_net)
			continue;
		for (size_t i = 0; i < r->n_net_conds + r->n_late; i++) {
			struct net_cond *mine =
			        i < r->n_net_conds ? &r->net_conds[i] : r->late[i - r->n_net_conds];
			if (mine->def.removed || strcmp(mine->origin, "api") ||
			    strcmp(mine->name, c->name))
				continue;
			if (removed)
				mine->def.removed = 1;
			else
				memcpy(mine->def.a, c->def.a, sizeof mine->def.a);
			n++;
		}
	}
	return n;
}

size_t relay_add_condition(const struct net_plan *listener_net, const struct net_cond *c)
{
	size_t n = 0;
	struct relay *r;
	LIST_FOREACH(r, &relays, link)
	if (r->c->listener_net == listener_net)
		n += (size_t)relay_net_add(r, c);
	return n;
}

int relay_cut_conn(uint64_t id, int reset)
{
	struct relay *r;
	LIST_FOREACH(r, &relays, link)
	{
		if (r->c->id != id)
			continue;
		if (reset) {
			tcp_arm_reset(r->c->client_fd);
			relay_abort(r, "api-reset"); /* frees r */
		} else {
			conn_set_close_reason(r->c, "api-close");
			relay_close_server_side(r); /* may free r */
		}
		return 0;
	}
	return -1;
}

void relay_abort_all(const char *reason)
{
	while (!LIST_EMPTY(&relays))
		relay_abort(LIST_FIRST(&relays), reason);
}
