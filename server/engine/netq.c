/* netq.c — bytes held under network conditions (see netq.h). */
#include "engine/netq.h"

#include <stdlib.h>
#include <string.h>

#include "base/clock.h"

#define NET_SLACK_US 200 /* due this close: goes now (the timer's granularity) */

struct netseg {
	uint64_t len, due_us;
	unsigned flags;
};

static void push(struct netq *q, const struct tx_seg *s)
{
	/* Adjacent runs with the same fate merge: a queue of runs, not reads. */
	if (q->n && !(s->flags & TX_EOF)) {
		struct netseg *last = &q->q[(q->head + q->n - 1) % q->cap_segs];
		if (last->flags == s->flags && last->due_us == s->due_us) {
			last->len += s->len;
			return;
		}
	}
	if (q->n == q->cap_segs) {
		size_t cap = q->cap_segs ? q->cap_segs * 2 : 16;
		struct netseg *v = malloc(cap * sizeof(*v));
		if (!v)
			abort(); /* a few bytes a run; nothing sensible to fall back to */
		for (size_t i = 0; i < q->n; i++)
			v[i] = q->q[(q->head + i) % q->cap_segs];
		free(q->q);
		q->q = v;
		q->head = 0;
		q->cap_segs = cap;
	}
	q->q[(q->head + q->n) % q->cap_segs] = (struct netseg){s->len, s->due_us, s->flags};
	q->n++;
}

static void sink(void *arg, const struct tx_seg *s)
{
	struct netq *q = arg;
	if (s->flags & TX_DROP)
		q->dropped += s->len;
	else if (s->due_us > q->chain.now_us + NET_SLACK_US)
		q->delayed += s->len;
	push(q, s);
}

static void on_end_timer(evutil_socket_t fd, short what, void *arg)
{
	struct netq *q = arg;
	(void)fd;
	(void)what;
	q->ops->end(q->arg, q->end_id, q->end_how);
}

static void on_end(void *arg, int id, uint64_t due, enum tx_end how)
{
	struct netq *q = arg;
	if (q->end_timer && q->end_due <= due)
		return; /* an earlier end is set */
	q->end_due = due;
	q->end_id = id;
	q->end_how = how;
	if (!q->end_timer)
		q->end_timer = evtimer_new(q->base, on_end_timer, q);
	uint64_t now = monotonic_us();
	uint64_t us = due > now ? due - now : 0;
	struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
	evtimer_add(q->end_timer, &tv);
}

static void on_fired(void *arg, int id, uint64_t off, uint64_t now)
{
	struct netq *q = arg;
	(void)now;
	if (q->ops->fired)
		q->ops->fired(q->arg, id, off);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

/* Hands on every run that is due and arms the timer for the next. */
static void release(struct netq *q)
{
	struct evbuffer *to = q->ops->dest(q->arg);
	uint64_t now = monotonic_us();
	size_t out = 0;
	while (q->n) {
		struct netseg *s = &q->q[q->head];
		if (!(s->flags & TX_DROP) && s->due_us == TX_NEVER) {
			if (!q->held_forever) {
				q->held_forever = 1;
				q->ops->hold(q->arg);
			}
			break;
		}
		if (!(s->flags & TX_DROP) && s->due_us > now + NET_SLACK_US) {
			uint64_t us = s->due_us - now;
			struct timeval tv = {(time_t)(us / 1000000), (suseconds_t)(us % 1000000)};
			if (!q->timer)
				q->timer = evtimer_new(q->base, on_timer, q);
			evtimer_add(q->timer, &tv);
			break;
		}
		if (s->flags & TX_EOF) {
			if (s->flags & TX_DROP)
				q->eof_lost = 1;
			else
				q->eof_passed = 1;
		}
		if (s->len) {
			if (to && !(s->flags & TX_DROP)) {
				evbuffer_remove_buffer(q->held, to, s->len);
				out += s->len;
			} else {
				evbuffer_drain(q->held, s->len);
			}
			q->held_bytes -= s->len;
		}
		q->head = (q->head + 1) % q->cap_segs;
		q->n--;
	}
	if (out && q->ops->delivered)
		q->ops->delivered(q->arg, out);
	if (q->paused && q->held_bytes < q->cap / 2 && !q->held_forever) {
		q->paused = 0;
		q->ops->pause(q->arg, 0);
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct netq *q = arg;
	(void)fd;
	(void)what;
	release(q);
	if (!q->n || q->eof_passed)
		q->ops->drained(q->arg); /* may free the owner, and q */
}

int netq_init(struct netq *q, struct event_base *base, const struct tx_stage_def *const *defs,
              size_t n, uint64_t seed, size_t cap, const struct netq_ops *ops, void *arg)
{
	memset(q, 0, sizeof(*q));
	q->base = base;
	q->ops = ops;
	q->arg = arg;
	q->cap = cap;
	q->held = evbuffer_new();
	/* The chain starts untriggered conditions at once (on_end may be
	 * called): everything it needs is set before. */
	if (!q->held || tx_chain_init(&q->chain, defs, n, seed, monotonic_us(), q, sink, on_end,
	                              on_fired) < 0) {
		if (q->held)
			evbuffer_free(q->held);
		q->held = NULL;
		return -1;
	}
	return 0;
}

void netq_free(struct netq *q)
{
	if (q->timer)
		event_free(q->timer);
	if (q->end_timer)
		event_free(q->end_timer);
	q->dropped += q->held_bytes; /* held at the end: they never arrived */
	q->held_bytes = 0;
	if (q->held)
		evbuffer_free(q->held);
	tx_chain_free(&q->chain);
	free(q->q);
	q->timer = q->end_timer = NULL;
	q->held = NULL;
	q->q = NULL;
}

int netq_append(struct netq *q, const struct tx_stage_def *d, int phase, uint64_t off)
{
	uint64_t now = monotonic_us();
	tx_chain_phase(&q->chain, phase, off, now);
	return tx_chain_append(&q->chain, d, off, now);
}

void netq_phase_at(struct netq *q, int phase, const uint64_t *began, uint64_t off)
{
	tx_chain_phase_at(&q->chain, phase, began, off, monotonic_us());
}

void netq_phase(struct netq *q, int phase, uint64_t off)
{
	tx_chain_phase(&q->chain, phase, off, monotonic_us());
}

void netq_take(struct netq *q, struct evbuffer *in, size_t n, uint64_t off)
{
	if (q->closed) {
		evbuffer_drain(in, n);
		q->dropped += n;
		return;
	}
	evbuffer_remove_buffer(in, q->held, n);
	q->held_bytes += n;
	if (q->held_bytes > q->max_held)
		q->max_held = q->held_bytes;
	tx_chain_feed(&q->chain, off, n, monotonic_us(), 0);
	release(q);
	if (q->held_bytes >= q->cap && !q->paused && !q->held_forever) {
		q->paused = 1;
		q->ops->pause(q->arg, 1);
	}
}

void netq_unit(struct netq *q, uint64_t off, uint64_t len)
{
	tx_chain_unit(&q->chain, off, len);
}

int netq_eof_ready(struct netq *q, uint64_t off)
{
	if (q->eof_passed || q->closed)
		return 1;
	if (q->n || q->eof_lost)
		return 0; /* bytes still queued (the timer calls back), or the FIN vanished */
	if (!q->eof_fed) {
		q->eof_fed = 1;
		tx_chain_feed(&q->chain, off, 0, monotonic_us(), TX_EOF);
		release(q);
	}
	return q->eof_passed;
}

int netq_holds(const struct netq *q)
{
	return !q->closed && (q->n > 0 || (q->eof_fed && !q->eof_passed));
}

int netq_paused(const struct netq *q)
{
	return q->paused || q->held_forever;
}

void netq_close(struct netq *q)
{
	release(q);
	q->closed = 1;
	q->dropped += q->held_bytes;
	evbuffer_drain(q->held, q->held_bytes);
	q->held_bytes = 0;
	q->n = 0;
}
