/* chain.c — stacked conditions of one direction (see chain.h). */
#include "faults/toxics/chain.h"

#include <stdlib.h>
#include <string.h>

uint64_t tx_splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void feed_stage(struct tx_chain *c, size_t i, const struct tx_seg *s);

static void hop_emit(void *arg, const struct tx_seg *s)
{
	struct tx_hop *h = arg;
	feed_stage(h->c, h->next, s);
}

static void hop_end(void *arg, uint64_t due, enum tx_end how)
{
	struct tx_hop *h = arg;
	h->c->end(h->c->arg, h->c->st[h->next - 1].d->id, due, how);
}

static uint64_t hop_rand(void *arg)
{
	struct tx_hop *h = arg;
	return tx_splitmix(&h->c->rng);
}

static void start_stage(struct tx_chain *c, struct tx_stage *s, uint64_t off, uint64_t now)
{
	s->on = 1;
	if (c->fired)
		c->fired(c->arg, s->d->id, off, now);
	if (s->d->t->start)
		s->d->t->start(s->state, s->d->a, now, &s->io);
}

static void feed_stage(struct tx_chain *c, size_t i, const struct tx_seg *in)
{
	if (i == c->n) {
		c->sink(c->arg, in);
		return;
	}
	struct tx_stage *s = &c->st[i];
	if (s->d->removed) {
		feed_stage(c, i + 1, in);
		return;
	}
	if (s->on) {
		s->d->t->seg(s->state, s->d->a, in, &s->io);
		return;
	}
	uint64_t at = s->start_at;
	if (at == TX_NEVER || in->off + in->len < at || (in->off + in->len == at && in->len)) {
		feed_stage(c, i + 1, in); /* not yet */
		return;
	}
	/* The trigger's offset is in (or at the end of) this segment. */
	if (at > in->off) {
		struct tx_seg before = {in->off, at - in->off, in->due_us, in->flags & ~TX_EOF};
		feed_stage(c, i + 1, &before);
	}
	start_stage(c, s, at, c->now_us);
	uint64_t from = at > in->off ? at : in->off;
	struct tx_seg rest = {from, in->off + in->len - from, in->due_us, in->flags};
	if (rest.len || (rest.flags & TX_EOF))
		s->d->t->seg(s->state, s->d->a, &rest, &s->io);
}

static void wire_stage(struct tx_chain *c, size_t i)
{
	struct tx_stage *s = &c->st[i];
	s->hop.c = c;
	s->hop.next = i + 1;
	s->io.emit = hop_emit;
	s->io.end = hop_end;
	s->io.rand = hop_rand;
	s->io.arg = &s->hop;
}

int tx_chain_init(struct tx_chain *c, const struct tx_stage_def *const *defs, size_t n,
                  uint64_t seed, uint64_t now_us, void *arg,
                  void (*sink)(void *, const struct tx_seg *),
                  void (*end)(void *, int, uint64_t, enum tx_end),
                  void (*fired)(void *, int, uint64_t, uint64_t))
{
	memset(c, 0, sizeof(*c));
	size_t total = 0;
	for (size_t i = 0; i < n; i++)
		total += (defs[i]->t->state_size + 15) & ~(size_t)15;
	c->st = calloc(n ? n : 1, sizeof(*c->st));
	c->states = calloc(1, total ? total : 1);
	if (!c->st || !c->states) {
		free(c->st);
		free(c->states);
		return -1;
	}
	c->n = n;
	c->sink = sink;
	c->end = end;
	c->fired = fired;
	c->arg = arg;
	c->rng = seed;
	c->now_us = now_us;
	char *p = c->states;
	for (size_t i = 0; i < n; i++) {
		struct tx_stage *s = &c->st[i];
		s->d = defs[i];
		s->state = p;
		s->start_at = defs[i]->after_bytes;
		p += (defs[i]->t->state_size + 15) & ~(size_t)15;
		wire_stage(c, i);
	}
	for (size_t i = 0; i < n; i++)
		if (!defs[i]->from_phase && defs[i]->after_bytes == TX_NEVER)
			start_stage(c, &c->st[i], 0, now_us);
	return 0;
}

int tx_chain_append(struct tx_chain *c, const struct tx_stage_def *d, uint64_t off, uint64_t now_us)
{
	void *state = calloc(1, d->t->state_size ? d->t->state_size : 1);
	struct tx_stage *st = state ? realloc(c->st, (c->n + 1) * sizeof(*st)) : NULL;
	if (!st) {
		free(state);
		return -1;
	}
	/* The stages moved: their hops point into the array. Nothing else
	 * keeps a stage's address (a toxic gets its io for each call). */
	c->st = st;
	size_t i = c->n++;
	memset(&c->st[i], 0, sizeof(c->st[i]));
	c->st[i].d = d;
	c->st[i].state = state;
	c->st[i].own_state = 1;
	c->st[i].start_at = d->after_bytes;
	for (size_t k = 0; k < c->n; k++)
		wire_stage(c, k);
	c->now_us = now_us;
	if ((!d->from_phase && d->after_bytes == TX_NEVER) ||
	    (d->from_phase && d->from_phase <= c->phase) ||
	    (d->after_bytes != TX_NEVER && d->after_bytes <= off))
		start_stage(c, &c->st[i], off, now_us);
	return 0;
}

void tx_chain_free(struct tx_chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->st[i].own_state)
			free(c->st[i].state);
	free(c->st);
	free(c->states);
	c->st = NULL;
	c->states = NULL;
	c->n = 0;
}

void tx_chain_phase_at(struct tx_chain *c, int phase, const uint64_t *began, uint64_t off,
                       uint64_t now_us)
{
	if (phase <= c->phase)
		return;
	c->phase = phase;
	c->now_us = now_us;
	for (size_t i = 0; i < c->n; i++) {
		struct tx_stage *s = &c->st[i];
		if (s->on || !s->d->from_phase || s->d->from_phase > phase)
			continue;
		uint64_t at = began && began[s->d->from_phase] != TX_NEVER ? began[s->d->from_phase]
		                                                           : off;
		if (at > c->fed)
			s->start_at = at; /* the next bytes fed are split there */
		else
			start_stage(c, s, c->fed > at ? c->fed : at, now_us);
	}
}

void tx_chain_phase(struct tx_chain *c, int phase, uint64_t off, uint64_t now_us)
{
	tx_chain_phase_at(c, phase, NULL, off, now_us);
}

void tx_chain_unit(struct tx_chain *c, uint64_t off, uint64_t len)
{
	for (size_t i = 0; i < c->n; i++) {
		struct tx_stage *s = &c->st[i];
		if (s->on && s->d->t->unit)
			s->d->t->unit(s->state, s->d->a, off, len);
	}
}

void tx_chain_feed(struct tx_chain *c, uint64_t off, uint64_t len, uint64_t now_us, unsigned flags)
{
	c->now_us = now_us;
	if (off + len > c->fed)
		c->fed = off + len;
	struct tx_seg s = {off, len, now_us, flags};
	feed_stage(c, 0, &s);
}
