/* relay_net.c — the network conditions on a relayed connection: which of
 * its scenario's conditions apply (toxicity, drawn once per connection
 * from --seed and the connection's id), each direction's chain of them
 * (faults/toxics/chain.h), and the queue that holds the bytes until the
 * chain says they may go on.
 *
 * The toxics decide only when a run of bytes goes on, or whether it does:
 * the bytes themselves wait here, in one buffer per direction, in stream
 * order. A timer fires when the head is due. The queue is bounded
 * (NET_QUEUE_CAP): past it the source is no longer read, so a client that
 * pushes into a held condition meets TCP's flow control, not the
 * harness's memory. Every attach, trigger and end is an event; the totals
 * go into the close event. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "catalog/served.h"
#include "engine/relay_ctx.h"
#include "faults/tcp.h"

#define NET_QUEUE_CAP (1u << 20) /* bytes held per direction before the source is paused */
#define NET_SLACK_US 200         /* due this close: goes now (the timer's granularity) */
#define WINDOW_RCVBUF 2048       /* a held client's receive buffer: the window closes */

struct netseg {
	uint64_t len, due_us;
	unsigned flags;
};

struct netflow {
	struct relay *r;
	struct flow *f;
	int up; /* client -> server */
	struct tx_chain chain;
	const struct tx_stage_def **defs;
	struct evbuffer *held;
	struct netseg *q;
	size_t head, n, cap;
	struct event *timer;
	uint64_t held_bytes, max_held, delayed, dropped;
	int paused, window_closed, eof_fed, eof_passed, eof_lost;
	int closed; /* a condition closed the connection: nothing more is held */
	/* The earliest end a condition asked for (limit_data, timeout, reset_peer). */
	struct event *end_timer;
	uint64_t end_due;
	int end_id;
	enum tx_end end_how;
};

static uint64_t seed_base = 1;

void relay_net_seed(uint64_t seed)
{
	seed_base = seed;
}

static const struct net_cond *cond_of(const struct relay *r, int id)
{
	return &r->c->served->net.items[id];
}

static const char *dir_name(const struct netflow *nf)
{
	return nf->up ? "upstream" : "downstream";
}

static void queue_push(struct netflow *nf, const struct tx_seg *s)
{
	if (nf->n == nf->cap) {
		size_t cap = nf->cap ? nf->cap * 2 : 16;
		struct netseg *q = malloc(cap * sizeof(*q));
		if (!q)
			abort(); /* a few bytes per segment; nothing sensible to fall back to */
		for (size_t i = 0; i < nf->n; i++)
			q[i] = nf->q[(nf->head + i) % nf->cap];
		free(nf->q);
		nf->q = q;
		nf->head = 0;
		nf->cap = cap;
	}
	/* Adjacent runs with the same fate merge: a queue of runs, not reads. */
	if (nf->n && !(s->flags & TX_EOF)) {
		struct netseg *last = &nf->q[(nf->head + nf->n - 1) % nf->cap];
		if (last->flags == s->flags && last->due_us == s->due_us) {
			last->len += s->len;
			return;
		}
	}
	nf->q[(nf->head + nf->n) % nf->cap] = (struct netseg){s->len, s->due_us, s->flags};
	nf->n++;
}

static void sink(void *arg, const struct tx_seg *s)
{
	struct netflow *nf = arg;
	if (s->flags & TX_DROP)
		nf->dropped += s->len;
	else if (s->due_us > nf->chain.now_us + NET_SLACK_US)
		nf->delayed += s->len;
	queue_push(nf, s);
}

static void on_end_timer(evutil_socket_t fd, short what, void *arg);

static void on_end(void *arg, int id, uint64_t due, enum tx_end how)
{
	struct netflow *nf = arg;
	if (nf->end_timer && nf->end_due <= due)
		return; /* an earlier end is set */
	nf->end_due = due;
	nf->end_id = id;
	nf->end_how = how;
	if (!nf->end_timer)
		nf->end_timer = evtimer_new(nf->r->e->base, on_end_timer, nf);
	uint64_t now = monotonic_us();
	long ms = due > now ? (long)((due - now + 999) / 1000) : 0;
	struct timeval tv = timeval_ms(ms);
	evtimer_add(nf->end_timer, &tv);
}

static void on_fired(void *arg, int id, uint64_t off, uint64_t now)
{
	struct netflow *nf = arg;
	const struct net_cond *c = cond_of(nf->r, id);
	(void)now;
	if (!c->def.from_phase && c->def.after_bytes == TX_NEVER)
		return; /* on from the start: the "network" event said so */
	json_t *f = json_pack("{s:s, s:s, s:s, s:s, s:I}", "name", c->name, "type", c->t->name,
	                      "stream", dir_name(nf), "phase",
	                      phase_name((enum phase)atomic_load(&nf->r->c->last_phase)),
	                      "at_offset", (json_int_t)off);
	if (c->def.from_phase)
		json_object_set_new(f, "trigger",
		                    json_pack("{s:s}", "from_phase",
		                              phase_name((enum phase)c->def.from_phase)));
	else
		json_object_set_new(
		        f, "trigger",
		        json_pack("{s:I}", "after_bytes", (json_int_t)c->def.after_bytes));
	events_emit(nf->r->c->id, "network-trigger", f);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Hands on every run that is due; arms the timer for the next. Returns
 * how many bytes went to the other side. Never frees the relay. */
static size_t release(struct netflow *nf)
{
	struct relay *r = nf->r;
	struct bufferevent *to = nf->up ? r->inner : r->client;
	uint64_t now = monotonic_us();
	size_t out = 0;
	while (nf->n) {
		struct netseg *s = &nf->q[nf->head];
		if (!(s->flags & TX_DROP) && s->due_us == TX_NEVER) {
			/* Held for good: stop reading the client, let its window close. */
			if (nf->up && !nf->window_closed) {
				int small = WINDOW_RCVBUF;
				setsockopt(r->c->client_fd, SOL_SOCKET, SO_RCVBUF, &small,
				           sizeof small);
				bufferevent_disable(r->client, EV_READ);
				nf->window_closed = 1;
			}
			break;
		}
		if (!(s->flags & TX_DROP) && s->due_us > now + NET_SLACK_US) {
			struct timeval tv = {(time_t)((s->due_us - now) / 1000000),
			                     (suseconds_t)((s->due_us - now) % 1000000)};
			if (!nf->timer)
				nf->timer = evtimer_new(r->e->base, on_timer, nf);
			evtimer_add(nf->timer, &tv);
			break;
		}
		if (s->flags & TX_EOF) {
			if (s->flags & TX_DROP)
				nf->eof_lost = 1;
			else
				nf->eof_passed = 1;
		}
		if (s->len) {
			if (to && !(s->flags & TX_DROP)) {
				evbuffer_remove_buffer(nf->held, bufferevent_get_output(to),
				                       s->len);
				out += s->len;
			} else {
				evbuffer_drain(nf->held, s->len);
			}
			nf->held_bytes -= s->len;
		}
		nf->head = (nf->head + 1) % nf->cap;
		nf->n--;
	}
	if (!nf->up)
		r->c->bytes_to_client += out;
	if (nf->paused && nf->held_bytes < NET_QUEUE_CAP / 2 && nf->f->from && !nf->window_closed) {
		nf->paused = 0;
		bufferevent_enable(nf->f->from, EV_READ);
	}
	return out;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct netflow *nf = arg;
	(void)fd;
	(void)what;
	release(nf);
	if (!nf->n || nf->eof_passed)
		relay_flow_drained(nf->r, nf->up); /* may free the relay */
}

static void on_end_timer(evutil_socket_t fd, short what, void *arg)
{
	struct netflow *nf = arg;
	struct relay *r = nf->r;
	const struct net_cond *c = cond_of(r, nf->end_id);
	(void)fd;
	(void)what;
	events_emit(r->c->id, "network-end",
	            json_pack("{s:s, s:s, s:s, s:s}", "name", c->name, "type", c->t->name, "stream",
	                      dir_name(nf), "action",
	                      nf->end_how == TX_END_RESET ? "reset" : "close"));
	if (nf->end_how == TX_END_RESET) {
		tcp_arm_reset(r->c->client_fd);
		relay_abort(r, "network-reset"); /* frees r */
		return;
	}
	/* The close: what is due goes, the rest never arrives, and the FIN
	 * passes whatever the conditions would do to it. */
	conn_set_close_reason(r->c, "network-close");
	struct netflow *both[2] = {r->up.net, r->down.net};
	for (int i = 0; i < 2; i++)
		if (both[i]) {
			release(both[i]);
			both[i]->closed = 1;
			both[i]->dropped += both[i]->held_bytes;
			evbuffer_drain(both[i]->held, both[i]->held_bytes);
			both[i]->held_bytes = 0;
			both[i]->n = 0;
		}
	if (r->inner)
		relay_close_server_side(r); /* may free r */
}

static struct netflow *flow_new(struct relay *r, struct flow *f, int up,
                                const struct tx_stage_def **defs, size_t n, uint64_t seed)
{
	struct netflow *nf = calloc(1, sizeof(*nf));
	if (!nf)
		return NULL;
	nf->r = r;
	nf->f = f;
	nf->up = up;
	nf->defs = defs;
	nf->held = evbuffer_new();
	/* The chain starts untriggered conditions at once: attach first. */
	f->net = nf;
	if (!nf->held || tx_chain_init(&nf->chain, defs, n, seed, monotonic_us(), nf, sink, on_end,
	                               on_fired) < 0) {
		if (nf->held)
			evbuffer_free(nf->held);
		free(nf);
		f->net = NULL;
		return NULL;
	}
	return nf;
}

void relay_net_attach(struct relay *r)
{
	const struct net_plan *p = &r->c->served->net;
	if (!p->n)
		return;
	const struct tx_stage_def **up = calloc(p->n, sizeof(*up));
	const struct tx_stage_def **down = calloc(p->n, sizeof(*down));
	if (!up || !down) {
		free(up);
		free(down);
		log_error("connection %llu: no memory for its network conditions",
		          (unsigned long long)r->c->id);
		return;
	}
	size_t n_up = 0, n_down = 0;
	uint64_t rng = seed_base ^ (r->c->id * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < p->n; i++) {
		const struct net_cond *c = &p->items[i];
		double draw = (double)(tx_splitmix(&rng) >> 11) * (1.0 / 9007199254740992.0);
		int applied = c->toxicity >= 1 || draw < c->toxicity;
		json_t *ev = net_cond_json(c);
		json_object_set_new(ev, "applied", json_boolean(applied));
		json_object_set_new(ev, "origin", json_string(c->origin));
		events_emit(r->c->id, "network", ev);
		if (!applied)
			continue;
		if (c->streams & NET_UP)
			up[n_up++] = &c->def;
		if (c->streams & NET_DOWN)
			down[n_down++] = &c->def;
	}
	if (n_up)
		flow_new(r, &r->up, 1, up, n_up, tx_splitmix(&rng));
	if (n_down)
		flow_new(r, &r->down, 0, down, n_down, tx_splitmix(&rng));
	if (!r->up.net)
		free(up);
	if (!r->down.net)
		free(down);
}

void relay_net_take(struct flow *f, struct evbuffer *in, size_t n)
{
	struct netflow *nf = f->net;
	struct relay *r = nf->r;
	uint64_t off = f->passed;
	if (nf->closed) {
		evbuffer_drain(in, n);
		nf->dropped += n;
		return;
	}
	evbuffer_remove_buffer(in, nf->held, n);
	nf->held_bytes += n;
	if (nf->held_bytes > nf->max_held)
		nf->max_held = nf->held_bytes;
	uint64_t now = monotonic_us();
	tx_chain_phase(&nf->chain, atomic_load(&r->c->last_phase), off, now);
	tx_chain_feed(&nf->chain, off, n, now, 0);
	release(nf);
	if (nf->held_bytes >= NET_QUEUE_CAP && !nf->paused) {
		nf->paused = 1;
		bufferevent_disable(f->from, EV_READ);
	}
}

void relay_net_unit(struct relay *r, struct flow *f, uint64_t off, uint64_t len)
{
	(void)r;
	if (f->net)
		tx_chain_unit(&f->net->chain, off, len);
}

int relay_net_eof_ready(struct relay *r, struct flow *f)
{
	struct netflow *nf = f->net;
	(void)r;
	if (!nf || nf->eof_passed || nf->closed)
		return 1;
	if (nf->n || nf->eof_lost)
		return 0; /* bytes still queued (the timer calls back), or the FIN vanished */
	if (!nf->eof_fed) {
		nf->eof_fed = 1;
		uint64_t now = monotonic_us();
		tx_chain_phase(&nf->chain, atomic_load(&nf->r->c->last_phase), f->passed, now);
		tx_chain_feed(&nf->chain, f->passed, 0, now, TX_EOF);
		release(nf);
	}
	return nf->eof_passed;
}

int relay_net_paused(const struct flow *f)
{
	return f->net && (f->net->paused || f->net->window_closed);
}

int relay_net_holds(const struct flow *f)
{
	return f->net && !f->net->closed &&
	       (f->net->n > 0 || (f->net->eof_fed && !f->net->eof_passed));
}

static json_t *totals(const struct netflow *nf)
{
	return json_pack("{s:I, s:I, s:I}", "delayed_bytes", (json_int_t)nf->delayed,
	                 "dropped_bytes", (json_int_t)(nf->dropped), "max_queue_bytes",
	                 (json_int_t)nf->max_held);
}

static void flow_free(struct netflow *nf)
{
	if (!nf)
		return;
	if (nf->timer)
		event_free(nf->timer);
	if (nf->end_timer)
		event_free(nf->end_timer);
	/* Bytes still held when the connection ends never arrived. */
	nf->dropped += nf->held_bytes;
	evbuffer_free(nf->held);
	tx_chain_free(&nf->chain);
	free(nf->q);
	free((void *)nf->defs);
	nf->f->net = NULL;
	free(nf);
}

void relay_net_free(struct relay *r)
{
	if (!r->up.net && !r->down.net)
		return;
	json_t *t = json_object();
	if (r->up.net) {
		r->up.net->dropped += r->up.net->held_bytes;
		r->up.net->held_bytes = 0;
		json_object_set_new(t, "upstream", totals(r->up.net));
	}
	if (r->down.net) {
		r->down.net->dropped += r->down.net->held_bytes;
		r->down.net->held_bytes = 0;
		json_object_set_new(t, "downstream", totals(r->down.net));
	}
	json_decref(r->c->network);
	r->c->network = t;
	flow_free(r->up.net);
	flow_free(r->down.net);
}
