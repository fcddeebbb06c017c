/* relay.c — client socket <-> socketpair relay (see relay.h).
 *
 * Each direction is a flow: bytes read from one side are scanned (TPKT,
 * fast-path and TLS record headers: the relay's own phases), then handed
 * to the other side up to the flow's limit; bytes past it wait. Offsets
 * are counted from the start of each stream, so the peer thread and the
 * relay agree on "the server's byte N".
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
 * asks the peer for a TLS close_notify, passes it, then sends the FIN.
 *
 * Closing follows the client's lead and never loses the last bytes: an
 * end-of-file from one side is passed on as a half-close (shutdown
 * SHUT_WR) only after everything queued for the other side is written,
 * and when the server side ends first the client gets a FIN and is
 * drained for a while, so a final PDU (e.g. Set Error Info) reaches it
 * before the socket closes. */
#include "engine/relay.h"

#include <errno.h>
#include <poll.h>
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

#include "engine/conn.h"
#include "base/clock.h"
#include "base/events.h"
#include "catalog/faultplan.h"
#include "catalog/served.h"
#include "engine/engine.h"
#include "base/log.h"
#include "wire/mcsfix.h"
#include "engine/peer.h"
#include "faults/tcp.h"
#include "wire/tlsrec.h"

#define HIGH_WATER (1u << 20) /* stop reading a side while the other has 1 MiB queued */
#define LINGER_MS 5000        /* how long a client may keep the socket after our FIN */
#define QUIET_MS 200          /* no byte from the client this long: it waits (quiescent) */
#define NOTIFY_WAIT_MS 1000   /* how long a close waits for the peer's close_notify */
#define NO_LIMIT UINT64_MAX

/* One direction of the relay. */
struct flow {
	struct bufferevent *from;
	struct tlsrec_scanner sc;
	uint64_t seen;    /* stream offset up to which bytes were read and scanned */
	uint64_t passed;  /* ... and handed to the other side (or dropped) */
	uint64_t limit;   /* no byte at or past this offset is handed on */
	int drop;         /* bytes up to `seen` past `passed` are discarded: held from the
	                     other side for good (the client's bytes after a cut) */
	uint64_t dropped;
	const char *last_unit; /* what the last unit read was, for the event log */
};

enum strike_state {
	SK_NONE,
	SK_ARMED,     /* passing the server's stream up to the boundary */
	SK_AFTER,     /* the step's after_ms */
	SK_QUIET,     /* waiting for the client to fall quiet */
	SK_NOTIFY,    /* waiting for the peer's close_notify */
	SK_NOTIFIED,  /* close_notify passed: the client's answer awaited, then the FIN */
	SK_DONE,
};

struct relay {
	LIST_ENTRY(relay) link; /* in `relays` */
	const struct engine *e;
	struct conn *c;
	struct bufferevent *client, *inner;
	int inner_fd;
	struct flow up, down;     /* client->server, server->client */
	struct mcsfix fix;        /* client->server, RDP Standard Security only */
	int client_eof, inner_eof;
	int client_wr_shut, inner_wr_shut;
	int saw_cc, saw_client_hello, saw_server_hello;
	int neg_failed;           /* the Confirm was an RDP_NEG_FAILURE: the server side ends after it */
	struct event *deadline, *linger;
	struct event *wake;       /* the peer thread's messages (conn_tell) */

	/* A stall or delay at a phase the relay sees itself: the server's
	 * bytes are held (down.limit) until stall_timer. */
	const struct fault_step *stall_step;
	struct event *stall_timer;

	/* The cut (reset or close): where, and the wait for quiescence. */
	const struct fault_step *strike;
	enum strike_state sk;
	uint64_t boundary;        /* the server's stream ends here for the client */
	int quiet;                /* wait for QUIET_MS of silence (else strike at once) */
	int await_flight;         /* boundary is the server's first TLS flight's end, not told yet */
	uint64_t flight_end;      /* told by the peer (0: not yet) */
	uint64_t t_armed;
	uint64_t client_bytes_at_arm;
	struct event *sk_timer;
	struct fault_step later;  /* deny, then continue: the close close_after_ms later */
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

/* ---------------------------------------------------------------- scanning */

/* Calls fn on each chunk of the buffer from `skip` bytes in, in order (no
 * copy); fn returns non-zero to stop. -1 when the chunk list could not be
 * had. */
static int each_chunk(struct evbuffer *in, size_t skip, int (*fn)(void *, uint8_t *, size_t),
                      void *arg)
{
	int n = evbuffer_peek(in, -1, NULL, NULL, 0);
	if (n <= 0)
		return 0;
	struct evbuffer_iovec small[8], *vec = small;
	if (n > 8 && !(vec = malloc(sizeof(*vec) * (size_t)n)))
		return -1;
	n = evbuffer_peek(in, -1, NULL, vec, n);
	for (int i = 0; i < n; i++) {
		uint8_t *p = vec[i].iov_base;
		size_t len = vec[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (fn(arg, p + skip, len - skip))
			break;
		skip = 0;
	}
	if (vec != small)
		free(vec);
	return 0;
}

struct scan_ctx {
	struct relay *r;
	struct flow *f;
	tlsrec_cb cb;
	uint64_t base; /* stream offset of the chunk being fed */
};

static struct scan_ctx *scanning; /* the scan in progress (event-loop thread only) */

/* Stream offset where a unit reported by the scanner starts. */
static uint64_t unit_start(const struct tlsrec_unit *u)
{
	uint64_t at = scanning->base + u->offset;
	return at > u->start_back ? at - u->start_back : 0;
}

static int scan_chunk(void *arg, uint8_t *p, size_t n)
{
	struct scan_ctx *x = arg;
	tlsrec_feed(&x->f->sc, p, n, x->cb, x->r);
	x->base += n;
	return 0;
}

/* Scans the bytes of the flow's input not scanned yet. */
static void scan_new(struct relay *r, struct flow *f, tlsrec_cb cb)
{
	struct evbuffer *in = bufferevent_get_input(f->from);
	uint64_t have = f->passed + evbuffer_get_length(in);
	if (have <= f->seen)
		return;
	if (!f->sc.stopped) {
		struct scan_ctx x = {r, f, cb, f->seen};
		scanning = &x;
		each_chunk(in, (size_t)(f->seen - f->passed), scan_chunk, &x);
		scanning = NULL;
	}
	f->seen = have;
}

static const char *unit_name(const struct tlsrec_unit *u)
{
	if (u->kind == TLSREC_TPKT)
		return u->tpdu_code == 0xE0   ? "x224-connection-request"
		       : u->tpdu_code == 0xD0 ? "x224-connection-confirm"
		                              : "tpkt";
	if (u->kind == TLSREC_FASTPATH)
		return "fastpath";
	switch (u->content_type) {
	case TLS_CT_HANDSHAKE:
		return u->hs_type == 1   ? "tls-client-hello"
		       : u->hs_type == 2 ? "tls-server-hello"
		                         : "tls-handshake";
	case TLS_CT_CHANGE_CIPHER_SPEC:
		return "tls-change-cipher-spec";
	case TLS_CT_ALERT:
		return "tls-alert";
	default:
		return "tls-application-data";
	}
}

/* ---------------------------------------------------------------- the cut */

static void strike_check(struct relay *r);
static size_t pass(struct flow *f, struct bufferevent *to);
static void close_server_side(struct relay *r);
static void pass_on_server_eof(struct relay *r);
static void on_read(struct bufferevent *bev, void *arg);

/* The security layers do not meet the client's offer: a refusal (key
 * "failure") or a protocol the client did not offer ("selected"). */
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

/* A cut at `boundary` of the server's stream. `quiet`: wait for the
 * client to fall quiet (else it provably waits already). From now the
 * client's bytes are no longer given to FreeRDP. One cut per connection:
 * a later one is ignored (the first struck first). */
static void arm_cut(struct relay *r, const struct fault_step *st, uint64_t boundary, int quiet,
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
	 * by FreeRDP (dropped on the next pass). */
}

/* The "fault" event of a cut, with what was read and sent when it struck. */
static void emit_strike(struct relay *r, const char *close_notify)
{
	const struct fault_step *st = r->strike;
	json_t *f = fault_step_json(st);
	const char *read_pdu = atomic_load(&r->c->last_pdu_read);
	const char *sent_pdu = atomic_load(&r->c->last_pdu_written);
	json_object_set_new(f, "moment", json_string(r->quiet ? "quiescent" : "client-waits"));
	json_object_set_new(f, "read_bytes", json_integer((json_int_t)r->c->bytes_from_client));
	json_object_set_new(f, "sent_bytes", json_integer((json_int_t)r->c->bytes_to_client));
	json_object_set_new(f, "held_from_server",
	                    json_integer((json_int_t)r->up.dropped +
	                                 (json_int_t)(r->up.seen - r->up.passed)));
	json_object_set_new(f, "last_read", json_string(r->up.last_unit ? r->up.last_unit : "none"));
	if (read_pdu)
		json_object_set_new(f, "last_pdu_read", json_string(read_pdu));
	if (sent_pdu)
		json_object_set_new(f, "last_pdu_sent", json_string(sent_pdu));
	json_object_set_new(f, "waited_ms", json_integer((json_int_t)(events_now_ms() - r->t_armed)));
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
		emit_strike(r, close_notify);
	r->sk = SK_DONE;
	close_server_side(r);
}

/* The strike itself. May free r. */
static void strike(struct relay *r)
{
	const struct fault_step *st = r->strike;
	if (st->action == FA_RESET) {
		emit_strike(r, NULL);
		r->sk = SK_DONE;
		flush_client(r);
		tcp_arm_reset(r->c->client_fd);
		abort_relay(r, "server-reset"); /* frees r */
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
		close_server_side(r);
		break;
	default:
		break;
	}
}

/* Moves an armed cut on once the server's stream reached its boundary and
 * the client has all of it. May free r. */
static void strike_check(struct relay *r)
{
	if (r->sk != SK_ARMED || r->await_flight || r->down.passed < r->boundary ||
	    evbuffer_get_length(bufferevent_get_output(r->client)) > 0)
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
static void client_spoke(struct relay *r)
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
	on_read(r->inner, r);
	if (r->inner_eof && r->inner && r->sk == SK_NONE) {
		pass(&r->down, r->client);
		close_server_side(r); /* FreeRDP ended during the hold */
	}
}

/* A stall or delay at a phase the relay sees: the server's bytes from
 * `from` on are held, for the step's duration (for good: until the
 * deadline). */
static void hold_server(struct relay *r, const struct fault_step *st, uint64_t from)
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
static void relay_fault(struct relay *r, enum phase p, uint64_t server_boundary, int quiet,
                        int is_flight)
{
	const struct fault_step *st = fault_plan_relay_step(&r->c->served->plan, p);
	if (!st)
		return;
	if (fault_ends_connection(st))
		arm_cut(r, st, server_boundary, quiet, is_flight && !st->first_record);
	else
		hold_server(r, st, server_boundary);
}

/* ---------------------------------------------------------------- phases */

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
		tlsrec_set_plain(&r->up.sc);
		tlsrec_set_plain(&r->down.sc);
	}
	conn_phase(r->c, PH_X224_CONFIRM, f);
	return failed;
}

static int on_unit_up(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	r->up.last_unit = unit_name(u);
	if (u->kind == TLSREC_TLS && u->hs_type == 1 && !r->saw_client_hello) {
		r->saw_client_hello = 1;
		conn_phase(r->c, PH_TLS_CLIENT_HELLO, NULL);
		const struct fault_step *st =
		    fault_plan_relay_step(&r->c->served->plan, PH_TLS_CLIENT_HELLO);
		if (st && fault_ends_connection(st)) {
			/* The server got the ClientHello and hung up: it never
			 * reaches FreeRDP, and the client waits for ServerHello. */
			arm_cut(r, st, r->down.seen, 0, 0);
			r->up.limit = unit_start(u);
		} else if (st) {
			hold_server(r, st, r->down.seen);
		}
	}
	return 0;
}

static int on_unit_down(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	r->down.last_unit = unit_name(u);
	if (u->kind == TLSREC_TLS && u->hs_type == 2 && !r->saw_server_hello) {
		r->saw_server_hello = 1;
		conn_phase(r->c, PH_TLS_SERVER_HELLO, NULL);
		/* The phase's boundary is the server's whole first flight (the
		 * peer tells where it ends); a cut with flight: first-record,
		 * and a stall, take the ServerHello record alone. */
		uint64_t end = unit_start(u) + u->length;
		const struct fault_step *st =
		    fault_plan_relay_step(&r->c->served->plan, PH_TLS_SERVER_HELLO);
		if (st && fault_ends_connection(st))
			arm_cut(r, st, end, !st->first_record, !st->first_record);
		else if (st)
			hold_server(r, st, end);
	}
	return 0;
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
		            json_pack("{s:s, s:s}", "quirk", "erect-domain-bare-integers", "seen_by",
		                      "relay"));
	return r->fix.done;
}

/* Hands what the flow may pass to `to` (NULL: the other side is gone, the
 * bytes are dropped); in drop mode, discards the rest. Returns the count
 * handed on. */
static size_t pass(struct flow *f, struct bufferevent *to)
{
	struct evbuffer *in = bufferevent_get_input(f->from);
	size_t len = evbuffer_get_length(in);
	uint64_t room = f->limit > f->passed ? f->limit - f->passed : 0;
	size_t n = room < len ? (size_t)room : len;
	if (n) {
		if (to)
			evbuffer_remove_buffer(in, bufferevent_get_output(to), n);
		else
			evbuffer_drain(in, n);
		f->passed += n;
	}
	if (f->drop && len > n) {
		evbuffer_drain(in, len - n);
		f->dropped += len - n;
		f->passed += len - n;
		f->limit = f->passed; /* stays shut */
	}
	return to ? n : 0;
}

static void on_read(struct bufferevent *bev, void *arg)
{
	struct relay *r = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (bev == r->client) {
		uint64_t before = r->up.seen;
		scan_new(r, &r->up, on_unit_up);
		r->c->bytes_from_client += r->up.seen - before;
		if (r->up.seen > before)
			client_spoke(r);
		if (!r->inner) { /* the server side is closed: nothing more is read */
			r->up.drop = 1;
			r->up.limit = r->up.passed;
		}
		if (!r->fix.done && each_chunk(in, 0, fix_chunk, r) < 0)
			r->fix.done = 1;
		pass(&r->up, r->inner);
		if (r->inner &&
		    evbuffer_get_length(bufferevent_get_output(r->inner)) >= HIGH_WATER)
			bufferevent_disable(bev, EV_READ);
		strike_check(r); /* a cut the client's own unit armed (may free r) */
		return;
	}

	size_t len = evbuffer_get_length(in);
	if (!r->saw_cc && len >= 11) {
		uint8_t head[19];
		size_t got = len < sizeof(head) ? len : sizeof(head);
		evbuffer_copyout(in, head, got);
		r->saw_cc = 1;
		size_t cc_len = (size_t)head[2] << 8 | head[3];
		if (log_confirm(r, head, got)) {
			end_after_failure(r, cc_len);
		} else {
			/* A cut waits for the client's answer (its ClientHello, or
			 * under RDP Standard Security its Connect Initial). */
			relay_fault(r, PH_X224_CONFIRM, r->down.passed + cc_len, 1, 0);
		}
	}
	scan_new(r, &r->down, on_unit_down);
	size_t n = pass(&r->down, r->client);
	r->c->bytes_to_client += n;
	if (r->neg_failed && r->down.limit <= r->down.passed && r->inner) {
		/* After a negotiation failure: the Confirm went, the server side
		 * ends here. */
		close_server_side(r);
		return;
	}
	if (r->client && evbuffer_get_length(bufferevent_get_output(r->client)) >= HIGH_WATER)
		bufferevent_disable(bev, EV_READ);
	strike_check(r);
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
	r->up.drop = 1;
	r->up.limit = r->up.passed;
	pass_on_server_eof(r);
}

/* A message from the peer thread (conn_tell). */
static void on_request(evutil_socket_t fd, short what, void *arg)
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
				emit_strike(r, m.ok ? "sent" : "not-sent: TLS was not up on the peer");
				r->sk = m.ok ? SK_NOTIFIED : SK_DONE;
				if (r->inner) {
					on_read(r->inner, r);
					if (c->relay != r)
						break;
				}
				if (m.ok)
					sk_timer(r, QUIET_MS);
				else
					close_server_side(r);
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
					arm_cut(r, m.step, m.at, 1, 0);
				}
			} else if (m.step->action == FA_DENY && m.step->then_continue) {
				/* deny, then continue: the close close_after_ms later,
				 * graceful, after what was written by then. */
				r->later = (struct fault_step){.action = FA_CLOSE,
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
			on_read(r->inner, r);
		if (c->relay == r)
			strike_check(r);
	}
	conn_release(c);
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
		if (r->inner_eof && !r->inner && !r->client_wr_shut) {
			shutdown(r->c->client_fd, SHUT_WR);
			r->client_wr_shut = 1;
			r->linger = timer_after_ms(r->e->base, scale_ms(LINGER_MS, r->e->time_scale),
			                           on_linger, r);
		}
		strike_check(r); /* may free r */
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
				abort_relay(r, "server-closed"); /* it reset what we closed */
			else
				abort_relay(r, conn_error_reason(err, why, sizeof(why)));
			return;
		}
		r->client_eof = 1;
		conn_set_close_reason(r->c, "client-closed");
		bufferevent_disable(r->client, EV_READ);
		if (r->sk == SK_NOTIFIED) {
			/* It answered the close_notify with its own close. */
			r->sk = SK_DONE;
			close_server_side(r);
		} else if (r->sk != SK_NONE && r->sk != SK_DONE) {
			/* The client left before the cut came: nothing to strike. */
			if (r->strike->at != PH_NONE)
				events_emit(r->c->id, "fault-failed",
				            json_pack("{s:s, s:s, s:s}", "action",
				                      fault_action_name(r->strike->action), "at",
				                      phase_name(r->strike->at), "why",
				                      "the client closed before the cut's moment"));
			r->sk = SK_DONE;
			close_server_side(r);
		} else if (r->inner && evbuffer_get_length(bufferevent_get_output(r->inner)) == 0) {
			on_write(r->inner, r);
		}
	} else {
		r->inner_eof = 1;
		bufferevent_disable(r->inner, EV_READ);
		/* FreeRDP ended because the client did (its TLS close_notify, then
		 * its FIN): the client's FIN is in the socket already, whichever
		 * event the loop hands us first. The client closed first. */
		struct pollfd pfd = {.fd = r->c->client_fd, .events = POLLRDHUP};
		if (!r->client_eof && poll(&pfd, 1, 0) == 1 && (pfd.revents & (POLLRDHUP | POLLHUP)))
			conn_set_close_reason(r->c, "client-closed");
		/* The server side ended on its own: a cut or hold in progress
		 * decides the end itself; otherwise the client gets the FIN. */
		if (r->sk == SK_NONE && !r->stall_step) {
			pass(&r->down, r->client);
			close_server_side(r);
		}
	}
	maybe_done(r);
}

/* The server side ended: the client gets a FIN once it has every byte. */
static void pass_on_server_eof(struct relay *r)
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
	abort_relay(r, "deadline");
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
	r->wake = event_new(e->base, -1, 0, on_request, r);
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
		abort_relay(r, "internal-error: bufferevent");
		return;
	}
	flow_init(&r->up, r->client);
	flow_init(&r->down, r->inner);
	bufferevent_setcb(r->client, on_read, on_write, on_event, r);
	bufferevent_setcb(r->inner, on_read, on_write, on_event, r);
	bufferevent_enable(r->client, EV_READ | EV_WRITE);
	bufferevent_enable(r->inner, EV_READ | EV_WRITE);

	uint64_t elapsed = events_now_ms() - c->t_accept_ms;
	uint64_t limit = (uint64_t)c->deadline_ms;
	uint64_t left = elapsed < limit ? limit - elapsed : 0;
	r->deadline = timer_after_ms(e->base, (long)left, on_deadline, r);

	if (peer_start(e, c, sv[1]) != 0) {
		close(sv[1]);
		abort_relay(r, "internal-error: peer thread");
	}
}

void relay_abort_all(const char *reason)
{
	while (!LIST_EMPTY(&relays))
		abort_relay(LIST_FIRST(&relays), reason);
}
