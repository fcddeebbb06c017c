/* relay.c — client socket <-> socketpair relay (see relay.h).
 *
 * Closing follows the client's lead and never loses the last bytes: an
 * end-of-file from one side is passed on as a half-close (shutdown
 * SHUT_WR) only after everything queued for the other side is written,
 * and when the server side ends first the client gets a FIN and is
 * drained for a while, so a final PDU (e.g. Set Error Info) reaches it
 * before the socket closes. */
#include "relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admission.h"
#include "conn.h"
#include "deadline.h"
#include "events.h"
#include "faultplan.h"
#include "harness.h"
#include "log.h"
#include "mcsfix.h"
#include "peer.h"
#include "tcp.h"
#include "tlsrec.h"

#define HIGH_WATER (1u << 20) /* stop reading a side while the other has 1 MiB queued */
#define LINGER_MS 5000        /* how long a client may keep the socket after our FIN */

struct relay {
	LIST_ENTRY(relay) link; /* in `relays` */
	struct harness *h;
	struct conn *c;
	struct bufferevent *client, *inner;
	int inner_fd;
	struct tlsrec_scanner up, down; /* client->server, server->client */
	struct mcsfix fix;              /* client->server, RDP Standard Security only */
	int client_eof, inner_eof;
	int client_wr_shut, inner_wr_shut;
	int saw_cc, saw_client_hello, saw_server_hello;
	struct event *deadline, *linger;
	/* Faults (server/faultplan.h) the relay applies. A step found while
	 * scanning waits until `cut` more bytes of that direction are passed
	 * on; a step a peer thread asks for (conn_request) comes through
	 * `wake`. */
	const struct fault_step *pending;
	size_t cut;
	int stalled;                     /* holding the server's bytes now */
	const struct fault_step *stall_step;
	struct event *stall_timer;
	struct event *wake;
	struct event *after_timer;       /* reset/close with after_ms */
	const struct fault_step *after_step;
	size_t scan_base;                /* where the chunk being scanned starts in the buffer */
};

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
	if (r->after_timer)
		event_free(r->after_timer);
	/* A peer thread waiting in conn_request must not wait for us. */
	pthread_mutex_lock(&r->c->req_lock);
	r->c->req_wake = NULL;
	pthread_cond_broadcast(&r->c->req_cond);
	pthread_mutex_unlock(&r->c->req_lock);
	if (r->wake)
		event_free(r->wake);
	LIST_REMOVE(r, link);
	n_relays--;
	r->c->relay = NULL;
	r->c->client_fd = -1;
	conn_release(r->c);
	free(r);
}

static void abort_relay(struct relay *r, const char *reason)
{
	conn_set_close_reason(r->c, "%s", reason);
	finish(r);
}

/* The server's security layers do not meet the client's offer: a refusal
 * (key "failure") or a protocol the client did not offer ("selected"). */
static void emit_security_layer(struct relay *r, const char *key, const char *value)
{
	char theirs[64], ours[32];
	events_emit(r->c->id, "fault",
	            json_pack("{s:s, s:s, s:s, s:s, s:s}", "action", "security-layer", "at",
	                      phase_name(PH_X224_CONFIRM), "server_accepts",
	                      sc_protocols_str(r->c->served->sc->protocols, ours, sizeof(ours)),
	                      "client_offers",
	                      x224_protocols_str(r->c->req.requested_protocols, theirs,
	                                         sizeof(theirs)),
	                      key, value));
}

/* Decodes the server's X.224 Connection Confirm: the RDP_NEG_RSP's
 * selected protocol or the RDP_NEG_FAILURE code. Returns 1 for a failure. */
static int log_confirm(struct relay *r, const uint8_t *b, size_t n)
{
	int failed = 0;
	static const char *failures[] = {
	    "", "SSL_REQUIRED_BY_SERVER", "SSL_NOT_ALLOWED_BY_SERVER", "SSL_CERT_NOT_ON_SERVER",
	    "INCONSISTENT_FLAGS", "HYBRID_REQUIRED_BY_SERVER", "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"};
	json_t *f = json_object();
	if (n >= 19 && (b[5] & 0xF0) == 0xD0) {
		uint32_t v = (uint32_t)b[15] | (uint32_t)b[16] << 8 | (uint32_t)b[17] << 16 |
		             (uint32_t)b[18] << 24;
		if (b[11] == 0x02) {
			char protos[64];
			r->c->selected_protocol = v;
			/* A protocol the client did not offer (FreeRDP answers an
			 * NLA-only offer with TLS when it has no NLA). */
			uint32_t offered = r->c->req.requested_protocols;
			if (r->c->req.has_neg_req && v && !(v & offered))
				emit_security_layer(r, "selected",
				                    x224_protocols_str(v, protos, sizeof(protos)));
			json_object_set_new(f, "selected",
			                    json_string(x224_protocols_str(v, protos, sizeof(protos))));
		} else if (b[11] == 0x03) {
			failed = 1;
			/* FreeRDP's own refusal: the scenario's security layers do not
			 * meet the client's offer. */
			if (!fault_plan_find(&r->c->served->plan, FA_NEG_FAILURE))
				emit_security_layer(r, "failure", v < 7 ? failures[v] : "unknown");
			json_object_set_new(f, "failure_code", json_integer(v));
			json_object_set_new(f, "failure", json_string(v < 7 ? failures[v] : "unknown"));
		}
	} else if (n >= 11) {
		json_object_set_new(f, "selected", json_string("rdp"));
	}
	/* RDP Standard Security, or a failure: no TLS will follow. */
	if (r->c->selected_protocol == 0) {
		tlsrec_set_plain(&r->up);
		tlsrec_set_plain(&r->down);
	}
	conn_phase(r->c, PH_X224_CONFIRM, f);
	return failed;
}

/* Where a unit starts and ends in the buffer being scanned. */
static size_t unit_start(const struct relay *r, const struct tlsrec_unit *u)
{
	size_t at = r->scan_base + u->offset;
	return at > u->start_back ? at - u->start_back : 0;
}

/* A step at a phase the relay sees itself: it lands at `cut`. */
static void arm(struct relay *r, enum phase p, size_t cut_before, size_t cut_after)
{
	const struct fault_step *st = fault_plan_relay_step(&r->c->served->plan, p);
	if (!st || r->pending)
		return;
	r->pending = st;
	/* A reset or close cuts before a client's unit (the server "got" it
	 * and hung up) and after a server's (the client got it); a stall or
	 * delay lets the unit through and holds what the server sends next. */
	r->cut = fault_ends_connection(st) ? cut_before : cut_after;
}

static int on_unit_up(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	if (u->kind == TLSREC_TLS && u->hs_type == 1 && !r->saw_client_hello) {
		r->saw_client_hello = 1;
		conn_phase(r->c, PH_TLS_CLIENT_HELLO, NULL);
		arm(r, PH_TLS_CLIENT_HELLO, unit_start(r, u), SIZE_MAX);
	}
	return 0;
}

static int on_unit_down(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	if (u->kind == TLSREC_TLS && u->hs_type == 2 && !r->saw_server_hello) {
		r->saw_server_hello = 1;
		conn_phase(r->c, PH_TLS_SERVER_HELLO, NULL);
		size_t end = unit_start(r, u) + u->length;
		arm(r, PH_TLS_SERVER_HELLO, end, end);
	}
	return 0;
}

/* Calls fn on each chunk of the buffer in order (no copy); fn returns
 * non-zero to stop. Returns -1 when the chunk list could not be had. */
static int each_chunk(struct evbuffer *in, int (*fn)(void *, void *, size_t), void *arg)
{
	int n = evbuffer_peek(in, -1, NULL, NULL, 0);
	if (n <= 0)
		return 0;
	struct evbuffer_iovec small[8], *vec = small;
	if (n > 8 && !(vec = malloc(sizeof(*vec) * (size_t)n)))
		return -1;
	n = evbuffer_peek(in, -1, NULL, vec, n);
	for (int i = 0; i < n && !fn(arg, vec[i].iov_base, vec[i].iov_len); i++)
		;
	if (vec != small)
		free(vec);
	return 0;
}

struct scan_ctx {
	struct relay *r;
	struct tlsrec_scanner *sc;
	tlsrec_cb cb;
};

static int scan_chunk(void *arg, void *p, size_t n)
{
	struct scan_ctx *x = arg;
	tlsrec_feed(x->sc, p, n, x->cb, x->r);
	x->r->scan_base += n;
	return 0;
}

static void scan(struct relay *r, struct evbuffer *in, struct tlsrec_scanner *sc, tlsrec_cb cb)
{
	struct scan_ctx x = {r, sc, cb};
	if (sc->stopped)
		return;
	r->scan_base = 0;
	each_chunk(in, scan_chunk, &x);
}

static void pass_on_server_eof(struct relay *r);
static void on_read(struct bufferevent *bev, void *arg);

static void end_stall(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	r->stalled = 0;
	events_emit(r->c->id, "fault-end",
	            json_pack("{s:s}", "action", fault_action_name(r->stall_step->action)));
	if (!r->inner)
		return;
	bufferevent_enable(r->inner, EV_READ);
	on_read(r->inner, r);
	if (r->inner_eof)
		pass_on_server_eof(r);
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

/* The server side ends here: FreeRDP sees end-of-file, the client gets a
 * FIN once it has every byte already passed on. */
static void close_server_side(struct relay *r)
{
	if (r->inner) {
		bufferevent_free(r->inner);
		r->inner = NULL;
	}
	r->inner_eof = 1;
	pass_on_server_eof(r);
}

static void act(struct relay *r, const struct fault_step *st)
{
	if (st->at != PH_NONE) /* PH_NONE: the second half of another fault (deny's close) */
		events_emit(r->c->id, "fault", fault_step_json(st));
	switch (st->action) {
	case FA_STALL:
	case FA_DELAY:
		/* Reading stops, so FreeRDP blocks on its own socket: no thread
		 * spins while the server "does not answer". */
		r->stalled = 1;
		r->stall_step = st;
		if (r->inner)
			bufferevent_disable(r->inner, EV_READ);
		if (st->duration_ms >= 0)
			r->stall_timer = timer_after_ms(r->h->base, st->duration_ms, end_stall, r);
		break;
	case FA_RESET:
		atomic_store(&r->c->cut, 1);
		flush_client(r);
		tcp_arm_reset(r->c->client_fd);
		abort_relay(r, "server-reset"); /* frees r */
		break;
	case FA_CLOSE:
		if (st->at != PH_NONE) /* not deny's close: its PDU was the last word */
			atomic_store(&r->c->cut, 1);
		close_server_side(r);
		break;
	default:
		break;
	}
}

static void on_after(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	(void)fd;
	(void)what;
	act(r, r->after_step);
}

/* Applies a step now, or after its after_ms. */
static void apply(struct relay *r, const struct fault_step *st)
{
	if (fault_ends_connection(st) && st->after_ms > 0) {
		r->after_step = st;
		r->after_timer = timer_after_ms(r->h->base, st->after_ms, on_after, r);
		return;
	}
	act(r, st);
}

/* A peer thread reached a phase with a relay fault (conn_request): what
 * FreeRDP wrote before it is in the socketpair; pass it on, then apply. */
static void on_request(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	struct conn *c = r->c;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&c->req_lock);
	const struct fault_step *st = c->req_step;
	pthread_mutex_unlock(&c->req_lock);
	/* A fault found while scanning and still due lands first (applying
	 * two at once could free the relay under the second): this one is
	 * dropped, and the event log shows the one that struck. */
	if (st && r->pending)
		st = NULL;
	if (st && r->inner && !r->stalled) {
		struct evbuffer *in = bufferevent_get_input(r->inner);
		while (evbuffer_read(in, r->inner_fd, -1) > 0)
			;
		on_read(r->inner, r);
	}
	/* apply() may free r, and finish() wakes the waiting peer thread,
	 * which may then drop the last other reference to c before we are
	 * done with it here: hold one of our own. */
	conn_ref(c);
	if (st)
		apply(r, st);
	pthread_mutex_lock(&c->req_lock);
	c->req_done = 1;
	pthread_cond_broadcast(&c->req_cond);
	pthread_mutex_unlock(&c->req_lock);
	conn_release(c);
}

/* After an RDP_NEG_FAILURE a server sends nothing but the close
 * (MS-RDPBCGR 3.3.5.3.1). FreeRDP 2.11 goes on after its own failure
 * (it reads the failure code as a selected protocol), so the relay ends
 * the server side itself: the Connection Confirm reaches the client, then
 * a FIN; FreeRDP sees end-of-file. */
static void end_after_failure(struct relay *r, struct evbuffer *in, size_t cc_len)
{
	size_t len = evbuffer_get_length(in);
	size_t keep = cc_len < len ? cc_len : len;
	evbuffer_remove_buffer(in, bufferevent_get_output(r->client), keep);
	r->c->bytes_to_client += keep;
	close_server_side(r);
}

/* rdesktop's Erect Domain Request, made acceptable to FreeRDP in place
 * (see mcsfix.h). Only the plaintext of RDP Standard Security is visible
 * here: mcsfix stops at the first TLS record, and the SSL_read hook does
 * the same for TLS. The chunks are the bufferevent's own read buffers. */
static int fix_chunk(void *arg, void *p, size_t n)
{
	struct relay *r = arg;
	if (mcsfix_feed(&r->fix, p, n))
		events_emit(r->c->id, "client-quirk",
		            json_pack("{s:s, s:s}", "quirk", "erect-domain-bare-integers", "seen_by",
		                      "relay"));
	return r->fix.done;
}

static void fix_up(struct relay *r, struct evbuffer *in)
{
	if (each_chunk(in, fix_chunk, r) < 0)
		r->fix.done = 1;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	size_t len = evbuffer_get_length(in);
	struct bufferevent *to;

	if (bev == r->client) {
		r->c->bytes_from_client += len;
		if (!r->inner) { /* the server side is closed: nothing more is read */
			evbuffer_drain(in, len);
			return;
		}
		scan(r, in, &r->up, on_unit_up);
		if (!r->fix.done)
			fix_up(r, in);
		to = r->inner;
	} else {
		if (r->stalled)
			return; /* the bytes wait in the input buffer */
		if (!r->saw_cc && len >= 11) {
			uint8_t head[19];
			size_t got = len < sizeof(head) ? len : sizeof(head);
			evbuffer_copyout(in, head, got);
			r->saw_cc = 1;
			size_t cc_len = (size_t)head[2] << 8 | head[3];
			if (log_confirm(r, head, got)) {
				end_after_failure(r, in, cc_len);
				return;
			}
			arm(r, PH_X224_CONFIRM, cc_len, cc_len);
		}
		scan(r, in, &r->down, on_unit_down);
		to = r->client;
	}
	if (!to) { /* the other side is gone: drop */
		evbuffer_drain(in, len);
		return;
	}
	const struct fault_step *st = r->pending;
	size_t pass = st && r->cut < len ? r->cut : len;
	if (bev == r->inner)
		r->c->bytes_to_client += pass;
	evbuffer_remove_buffer(in, bufferevent_get_output(to), pass);
	if (st) {
		if (r->cut != SIZE_MAX)
			r->cut -= pass;
		if (r->cut == 0 || (r->cut == SIZE_MAX && pass == len)) {
			r->pending = NULL;
			if (fault_ends_connection(st) && !st->after_ms)
				evbuffer_drain(in, evbuffer_get_length(in));
			apply(r, st); /* may free r */
			return;
		}
	}
	if (evbuffer_get_length(bufferevent_get_output(to)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
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
		if (r->client && !r->client_eof)
			bufferevent_enable(r->client, EV_READ);
		if (r->client_eof && !r->inner_wr_shut) {
			shutdown(r->inner_fd, SHUT_WR);
			r->inner_wr_shut = 1;
		}
	} else {
		if (r->inner && !r->inner_eof)
			bufferevent_enable(r->inner, EV_READ);
		if (r->inner_eof && !r->client_wr_shut) {
			shutdown(r->c->client_fd, SHUT_WR);
			r->client_wr_shut = 1;
			r->linger = timer_after_ms(r->h->base, LINGER_MS, on_linger, r);
		}
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
			if (err == ECONNRESET)
				abort_relay(r, r->inner_eof ? "server-closed" : "client-reset");
			else if (err == EPIPE)
				abort_relay(r, r->inner_eof ? "server-closed" : "client-closed");
			else {
				char why[96];
				snprintf(why, sizeof(why), "client-error: %s", strerror(err));
				abort_relay(r, why);
			}
			return;
		}
		r->client_eof = 1;
		conn_set_close_reason(r->c, "client-closed");
		bufferevent_disable(r->client, EV_READ);
		if (r->inner && evbuffer_get_length(bufferevent_get_output(r->inner)) == 0)
			on_write(r->inner, r);
	} else {
		r->inner_eof = 1;
		bufferevent_disable(r->inner, EV_READ);
		/* A close already timed (the hold after a server's last message)
		 * sends the FIN when its time comes, whenever FreeRDP gave up. */
		if (!r->stalled && !(r->after_timer && r->after_step->action == FA_CLOSE))
			pass_on_server_eof(r);
	}
	maybe_done(r);
}

/* The server side ended: the client gets a FIN once it has every byte. */
static void pass_on_server_eof(struct relay *r)
{
	conn_set_close_reason(r->c, "server-closed");
	if (evbuffer_get_length(bufferevent_get_output(r->client)) == 0)
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
	            json_pack("{s:i, s:s}", "after_ms", admission_deadline_ms(r->h, r->c->served), "phase",
	                      phase_name((enum phase)atomic_load(&r->c->last_phase))));
	abort_relay(r, "deadline");
}

void relay_start(struct harness *h, struct conn *c)
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
	r->h = h;
	r->c = c;
	c->relay = r;
	r->inner_fd = sv[0];
	r->wake = event_new(h->base, -1, 0, on_request, r);
	pthread_mutex_lock(&c->req_lock);
	c->req_wake = r->wake;
	pthread_mutex_unlock(&c->req_lock);
	tlsrec_init(&r->up);
	tlsrec_init(&r->down);
	evutil_make_socket_nonblocking(sv[0]);
	r->client = bufferevent_socket_new(h->base, c->client_fd, BEV_OPT_CLOSE_ON_FREE);
	r->inner = bufferevent_socket_new(h->base, sv[0], BEV_OPT_CLOSE_ON_FREE);
	LIST_INSERT_HEAD(&relays, r, link);
	n_relays++;
	if (!r->client || !r->inner) {
		close(sv[1]);
		abort_relay(r, "internal-error: bufferevent");
		return;
	}
	bufferevent_setcb(r->client, on_read, on_write, on_event, r);
	bufferevent_setcb(r->inner, on_read, on_write, on_event, r);
	bufferevent_enable(r->client, EV_READ | EV_WRITE);
	bufferevent_enable(r->inner, EV_READ | EV_WRITE);

	uint64_t elapsed = events_now_ms() - c->t_accept_ms;
	uint64_t limit = (uint64_t)admission_deadline_ms(h, c->served);
	uint64_t left = elapsed < limit ? limit - elapsed : 0;
	r->deadline = timer_after_ms(h->base, (long)left, on_deadline, r);

	if (peer_start(h, c, sv[1]) != 0) {
		close(sv[1]);
		abort_relay(r, "internal-error: peer thread");
	}
}

void relay_abort_all(const char *reason)
{
	while (!LIST_EMPTY(&relays))
		abort_relay(LIST_FIRST(&relays), reason);
}
