/* relay_ctx.h — one relay's state, shared by the relay's three files and
 * nothing else (the public interface is relay.h):
 *
 *   relay.c       the two flows, passing bytes, half-closes, the deadline
 *   relay_scan.c  the bytes scanned into the relay's own phases
 *   relay_cut.c   cuts, stalls and the peer thread's messages
 *   relay_net.c   the network conditions: their chains and queues
 *
 * Event-loop thread only. */
#ifndef RDPFAULT_RELAY_CTX_H
#define RDPFAULT_RELAY_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "base/phase.h"
#include "catalog/faultplan.h"
#include "engine/conn.h"
#include "engine/engine.h"
#include "wire/mcsfix.h"
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
	uint64_t seen;   /* stream offset up to which bytes were read and scanned */
	uint64_t passed; /* ... and handed to the other side (or dropped) */
	uint64_t limit;  /* no byte at or past this offset is handed on */
	int drop;        /* bytes up to `seen` past `passed` are discarded: held from the
	                    other side for good (the client's bytes after a cut) */
	uint64_t dropped;
	const char *last_unit; /* what the last unit read was, for the event log */
	struct netflow *net;   /* its network conditions (relay_net.c), or NULL */
};

enum strike_state {
	SK_NONE,
	SK_ARMED,    /* passing the server's stream up to the boundary */
	SK_AFTER,    /* the step's after_ms */
	SK_QUIET,    /* waiting for the client to fall quiet */
	SK_NOTIFY,   /* waiting for the peer's close_notify */
	SK_NOTIFIED, /* close_notify passed: the client's answer awaited, then the FIN */
	SK_DONE,
};

struct relay {
	LIST_ENTRY(relay) link; /* in `relays` */
	const struct engine *e;
	struct conn *c;
	struct bufferevent *client, *inner;
	int inner_fd;
	struct flow up, down; /* client->server, server->client */
	struct mcsfix fix;    /* client->server, RDP Standard Security only */
	int client_eof, inner_eof;
	int client_wr_shut, inner_wr_shut;
	int saw_cc, saw_client_hello, saw_server_hello;
	int neg_failed; /* the Confirm was an RDP_NEG_FAILURE: the server side ends after it */
	struct event *deadline, *linger;
	struct event *wake; /* the peer thread's messages (conn_tell) */

	/* A stall or delay at a phase the relay sees itself: the server's
	 * bytes are held (down.limit) until stall_timer. */
	const struct fault_step *stall_step;
	struct event *stall_timer;

	/* The cut (reset or close): where, and the wait for quiescence. */
	const struct fault_step *strike;
	enum strike_state sk;
	uint64_t boundary;   /* the server's stream ends here for the client */
	int quiet;           /* wait for QUIET_MS of silence (else strike at once) */
	int await_flight;    /* boundary is the server's first TLS flight's end, not told yet */
	uint64_t flight_end; /* told by the peer (0: not yet) */
	uint64_t t_armed;
	uint64_t client_bytes_at_arm;
	struct event *sk_timer;
	struct fault_step later; /* deny, then continue: the close close_after_ms later */

	/* The connection's network conditions, copied when it was attached (the
	 * scenario's, --network's, then its listener's): later changes to a
	 * listener's do not move what a live connection's chain points at. */
	struct net_cond *net_conds;
	size_t n_net_conds;
	/* Added to its listener while the connection was live (the control
	 * API): each its own allocation, ids n_net_conds and up. */
	struct net_cond **late;
	size_t n_late;
};

/* ---- relay.c */

/* Ends the relay with a close reason (frees r). */
void relay_abort(struct relay *r, const char *reason);
/* Hands what the flow may pass to `to` (NULL: the other side is gone, the
 * bytes are dropped); in drop mode, discards the rest. Returns the count. */
size_t relay_pass(struct flow *f, struct bufferevent *to);
/* Either side readable (arg: the relay). May free it. */
void relay_on_read(struct bufferevent *bev, void *arg);
/* The server side ends here: FreeRDP sees end-of-file, the client gets a
 * FIN once it has every byte already passed on. */
void relay_close_server_side(struct relay *r);
/* The server side ended: the client gets a FIN once it has every byte. */
void relay_pass_on_server_eof(struct relay *r);

/* ---- relay_scan.c */

/* Calls fn on each chunk of the buffer from `skip` bytes in, in order (no
 * copy); fn returns non-zero to stop. -1 when the chunks could not be had. */
int relay_each_chunk(struct evbuffer *in, size_t skip, int (*fn)(void *, uint8_t *, size_t),
                     void *arg);
/* Scans the bytes of the flow's input not scanned yet. */
void relay_scan_new(struct relay *r, struct flow *f, tlsrec_cb cb);
/* Decodes the server's X.224 Connection Confirm. 1 for an RDP_NEG_FAILURE. */
int relay_log_confirm(struct relay *r, const uint8_t *b, size_t n);
/* The scanner's callbacks for the client's (up) and server's (down) units. */
int relay_on_unit_up(const struct tlsrec_unit *u, void *arg);
int relay_on_unit_down(const struct tlsrec_unit *u, void *arg);

/* The conditions of flow `up` (1) or down (0) released their last bytes
 * (or the end): a half-close that waited for them may go on. May free r. */
void relay_flow_drained(struct relay *r, int up);

/* ---- relay_net.c */

/* Decides which of the scenario's conditions apply to this connection
 * (events "network"), and builds each direction's chain. */
void relay_net_attach(struct relay *r);
/* Moves n bytes of `in` into the flow's conditions (f->net set); they go
 * on when due (downstream bytes are counted in bytes_to_client as they leave). */
void relay_net_take(struct flow *f, struct evbuffer *in, size_t n);
/* Condition c, just added to the connection's listener, applies from now
 * on (its toxicity drawn as at the attach; event "network" with
 * added_live). 1 when the connection took it, 0 when it had ended. */
int relay_net_add(struct relay *r, const struct net_cond *c);
/* A unit of the flow's stream was scanned (before its bytes pass). */
void relay_net_unit(struct relay *r, struct flow *f, uint64_t off, uint64_t len);
/* May the flow's end (FIN) be passed on now? Feeds the end through the
 * conditions the first time; 1 once it is through (always without them). */
int relay_net_eof_ready(struct relay *r, struct flow *f);
/* The flow's source is not to be read: its conditions hold their cap, or
 * closed the client's window. */
int relay_net_paused(const struct flow *f);
/* Bytes (or the end) of the flow are still held by its conditions. */
int relay_net_holds(const struct flow *f);
/* Frees the conditions; their totals go into the close event. */
void relay_net_free(struct relay *r);

/* ---- relay_cut.c */

/* The security layers do not meet the client's offer: a refusal (key
 * "failure") or a protocol the client did not offer ("selected"). */
void relay_emit_security_layer(struct relay *r, const char *key, const char *value);
/* A cut at `boundary` of the server's stream (see relay_cut.c). */
void relay_arm_cut(struct relay *r, const struct fault_step *st, uint64_t boundary, int quiet,
                   int await_flight);
/* The "fault" event of a cut, with what was read and sent when it struck. */
void relay_emit_strike(struct relay *r, const char *close_notify);
/* Moves an armed cut on once the server's stream reached its boundary and
 * the client has all of it. May free r. */
void relay_strike_check(struct relay *r);
/* The client sent bytes during the quiet wait: it is not quiescent yet. */
void relay_client_spoke(struct relay *r);
/* A stall or delay at a phase the relay sees: the server's bytes from
 * `from` on are held for the step's duration. */
void relay_hold_server(struct relay *r, const struct fault_step *st, uint64_t from);
/* A fault of the scenario's plan at a phase the relay sees itself. */
void relay_fault(struct relay *r, enum phase p, uint64_t server_boundary, int quiet, int is_flight);
/* A message from the peer thread (conn_tell); the wake event's callback. */
void relay_on_request(evutil_socket_t fd, short what, void *arg);

#endif
