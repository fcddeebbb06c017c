/* relay_net.c — the network conditions on a relayed connection: which of
 * its scenario's conditions apply (toxicity, drawn once per connection
 * from --seed and the connection's id), and each conditioned direction's
 * queue (netq.h) wired to the relay's two sides. Every attach, trigger and
 * end is an event; the totals go into the close event. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "base/events.h"
#include "base/log.h"
#include "catalog/served.h"
#include "engine/netq.h"
#include "engine/relay_ctx.h"
#include "faults/tcp.h"

#define WINDOW_RCVBUF 2048 /* a held client's receive buffer: the window closes */

struct netflow {
	struct netq q;
	struct relay *r;
	struct flow *f;
	int up; /* client -> server */
	const struct tx_stage_def **defs;
	int phase; /* the connection's phase the chain was last told */
};

/* The chain learns of a new phase with where each phase began in this
 * direction's stream (conn_phase_at): a condition from a phase starts at
 * its exact offset, not where the relay happened to be when it noticed. */
static void tell_phase(struct netflow *nf, uint64_t off)
{
	struct conn *c = nf->r->c;
	int phase = atomic_load(&c->last_phase);
	if (phase <= nf->phase)
		return;
	nf->phase = phase;
	uint64_t began[PH_COUNT];
	for (int p = 0; p <= phase && p < PH_COUNT; p++)
		began[p] = conn_phase_off(c, nf->up, (enum phase)p);
	netq_phase_at(&nf->q, phase, began, off);
}

static uint64_t seed_base = 1;
static size_t queue_cap = 1u << 20; /* bytes held per direction before the source is paused */

void relay_net_seed(uint64_t seed, size_t cap)
{
	seed_base = seed;
	queue_cap = cap;
}

static const struct net_cond *cond_of(const struct relay *r, int id)
{
	size_t i = (size_t)id;
	return i < r->n_net_conds ? &r->net_conds[i] : r->late[i - r->n_net_conds];
}

/* Whether condition c applies to this connection: drawn once, from rng
 * (seeded by --seed and the connection's id), which goes on for the
 * chains' own seeds. */
static int draw_applied(const struct net_cond *c, uint64_t *rng)
{
	return c->toxicity >= 1 || tx_unit(tx_splitmix(rng)) < c->toxicity;
}

static json_t *attach_event(const struct net_cond *c, int applied)
{
	json_t *ev = net_cond_json(c);
	json_object_set_new(ev, "applied", json_boolean(applied));
	json_object_set_new(ev, "origin", json_string(c->origin));
	return ev;
}

static const char *dir_name(const struct netflow *nf)
{
	return nf->up ? "upstream" : "downstream";
}

static struct evbuffer *nf_dest(void *arg)
{
	struct netflow *nf = arg;
	struct bufferevent *to = nf->up ? nf->r->inner : nf->r->client;
	return to ? bufferevent_get_output(to) : NULL;
}

static void nf_delivered(void *arg, size_t n)
{
	struct netflow *nf = arg;
	if (!nf->up)
		nf->r->c->bytes_to_client += n;
}

static void nf_drained(void *arg)
{
	struct netflow *nf = arg;
	relay_flow_drained(nf->r, nf->up); /* may free the relay */
}

/* Held for good: the client is not read any more, and its window closes. */
static void nf_hold(void *arg)
{
	struct netflow *nf = arg;
	if (!nf->up || !nf->r->client)
		return;
	int small = WINDOW_RCVBUF;
	setsockopt(nf->r->c->client_fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	bufferevent_disable(nf->r->client, EV_READ);
}

static void nf_pause(void *arg, int on)
{
	struct netflow *nf = arg;
	if (!nf->f->from)
		return;
	if (on)
		bufferevent_disable(nf->f->from, EV_READ);
	else
		bufferevent_enable(nf->f->from, EV_READ);
}

static void nf_fired(void *arg, int id, uint64_t off)
{
	struct netflow *nf = arg;
	const struct net_cond *c = cond_of(nf->r, id);
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

static void nf_end(void *arg, int id, enum tx_end how)
{
	struct netflow *nf = arg;
	struct relay *r = nf->r;
	const struct net_cond *c = cond_of(r, id);
	events_emit(r->c->id, "network-end",
	            json_pack("{s:s, s:s, s:s, s:s}", "name", c->name, "type", c->t->name, "stream",
	                      dir_name(nf), "action", how == TX_END_RESET ? "reset" : "close"));
	if (how == TX_END_RESET) {
		tcp_arm_reset(r->c->client_fd);
		relay_abort(r, "network-reset"); /* frees r */
		return;
	}
	/* The close: what is due goes, the rest never arrives, and the FIN
	 * passes whatever the conditions would do to it. */
	conn_set_close_reason(r->c, "network-close");
	if (r->up.net)
		netq_close(&r->up.net->q);
	if (r->down.net)
		netq_close(&r->down.net->q);
	if (r->inner)
		relay_close_server_side(r); /* may free r */
}

static const struct netq_ops ops = {
        .dest = nf_dest,
        .delivered = nf_delivered,
        .drained = nf_drained,
        .hold = nf_hold,
        .pause = nf_pause,
        .fired = nf_fired,
        .end = nf_end,
};

static void flow_new(struct relay *r, struct flow *f, int up, const struct tx_stage_def **defs,
                     size_t n, uint64_t seed)
{
	struct netflow *nf = calloc(1, sizeof(*nf));
	if (!nf) {
		free(defs);
		return;
	}
	nf->r = r;
	nf->f = f;
	nf->up = up;
	nf->defs = defs;
	f->net = nf; /* before the init: a condition may end the connection at once */
	if (netq_init(&nf->q, r->e->base, defs, n, seed, queue_cap, &ops, nf) < 0) {
		log_error("connection %llu: no memory for its network conditions",
		          (unsigned long long)r->c->id);
		f->net = NULL;
		free(defs);
		free(nf);
	}
}

void relay_net_attach(struct relay *r)
{
	const struct net_plan *sp = &r->c->served->net, *lp = r->c->listener_net;
	size_t n = sp->n + (lp ? lp->n : 0);
	if (!n)
		return;
	const struct tx_stage_def **up = calloc(n, sizeof(*up));
	const struct tx_stage_def **down = calloc(n, sizeof(*down));
	r->net_conds = malloc(n * sizeof(*r->net_conds));
	if (!up || !down || !r->net_conds) {
		free(up);
		free(down);
		free(r->net_conds);
		r->net_conds = NULL;
		log_error("connection %llu: no memory for its network conditions",
		          (unsigned long long)r->c->id);
		return;
	}
	if (sp->n)
		memcpy(r->net_conds, sp->items, sp->n * sizeof(*r->net_conds));
	if (lp && lp->n)
		memcpy(r->net_conds + sp->n, lp->items, lp->n * sizeof(*r->net_conds));
	r->n_net_conds = n;
	size_t n_up = 0, n_down = 0;
	uint64_t rng = seed_base ^ (r->c->id * 0x9e3779b97f4a7c15ull);
	for (size_t i = 0; i < n; i++) {
		struct net_cond *c = &r->net_conds[i];
		c->def.id = (int)i;
		int applied = draw_applied(c, &rng);
		events_emit(r->c->id, "network", attach_event(c, applied));
		if (!applied)
			continue;
		if (c->streams & NET_UP)
			up[n_up++] = &c->def;
		if (c->streams & NET_DOWN)
			down[n_down++] = &c->def;
	}
	uint64_t seed_up = tx_splitmix(&rng), seed_down = tx_splitmix(&rng);
	if (n_up)
		flow_new(r, &r->up, 1, up, n_up, seed_up);
	else
		free(up);
	if (n_down)
		flow_new(r, &r->down, 0, down, n_down, seed_down);
	else
		free(down);
}

/* FNV-1a: a late condition's draw depends on its name, not on when it came. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

static int add_to_flow(struct relay *r, struct flow *f, int up, const struct net_cond *c,
                       uint64_t seed)
{
	int phase = atomic_load(&r->c->last_phase);
	if (f->net) {
		tell_phase(f->net, f->passed);
		return netq_append(&f->net->q, &c->def, phase, f->passed);
	}
	const struct tx_stage_def **defs = malloc(sizeof(*defs));
	if (!defs)
		return -1;
	defs[0] = &c->def;
	flow_new(r, f, up, defs, 1, seed);
	if (!f->net)
		return -1;
	tell_phase(f->net, f->passed);
	return 0;
}

int relay_net_add(struct relay *r, const struct net_cond *c)
{
	if (!r->client)
		return 0; /* the client is gone: nothing more flows to it or from it */
	struct net_cond **late = realloc(r->late, (r->n_late + 1) * sizeof(*late));
	struct net_cond *m = late ? malloc(sizeof(*m)) : NULL;
	if (late)
		r->late = late;
	if (!m) {
		log_error("connection %llu: no memory for condition %s",
		          (unsigned long long)r->c->id, c->name);
		return 0;
	}
	*m = *c;
	m->def.id = (int)(r->n_net_conds + r->n_late);
	m->def.removed = 0;
	r->late[r->n_late++] = m;
	uint64_t rng = seed_base ^ (r->c->id * 0x9e3779b97f4a7c15ull) ^ name_hash(c->name);
	int applied = draw_applied(m, &rng);
	json_t *ev = attach_event(m, applied);
	json_object_set_new(ev, "added_live", json_true());
	json_object_set_new(ev, "phase",
	                    json_string(phase_name((enum phase)atomic_load(&r->c->last_phase))));
	events_emit(r->c->id, "network", ev);
	if (!applied)
		return 1;
	uint64_t seed_up = tx_splitmix(&rng), seed_down = tx_splitmix(&rng);
	/* A direction whose source has ended carries nothing more. */
	int bad = 0;
	if ((m->streams & NET_UP) && !r->client_eof)
		bad |= add_to_flow(r, &r->up, 1, m, seed_up) < 0;
	if ((m->streams & NET_DOWN) && !r->inner_eof && r->inner)
		bad |= add_to_flow(r, &r->down, 0, m, seed_down) < 0;
	if (bad)
		log_error("connection %llu: no memory for condition %s",
		          (unsigned long long)r->c->id, c->name);
	return 1;
}

void relay_net_take(struct flow *f, struct evbuffer *in, size_t n)
{
	struct netflow *nf = f->net;
	tell_phase(nf, f->passed);
	netq_take(&nf->q, in, n, f->passed);
}

void relay_net_unit(struct relay *r, struct flow *f, uint64_t off, uint64_t len)
{
	(void)r;
	if (f->net)
		netq_unit(&f->net->q, off, len);
}

int relay_net_eof_ready(struct relay *r, struct flow *f)
{
	(void)r;
	if (!f->net)
		return 1;
	tell_phase(f->net, f->passed);
	return netq_eof_ready(&f->net->q, f->passed);
}

int relay_net_paused(const struct flow *f)
{
	return f->net && netq_paused(&f->net->q);
}

int relay_net_holds(const struct flow *f)
{
	return f->net && netq_holds(&f->net->q);
}

static json_t *totals(struct netflow *nf)
{
	netq_free(&nf->q); /* counts what was still held as dropped */
	return json_pack("{s:I, s:I, s:I}", "delayed_bytes", (json_int_t)nf->q.delayed,
	                 "dropped_bytes", (json_int_t)nf->q.dropped, "max_queue_bytes",
	                 (json_int_t)nf->q.max_held);
}

static void free_conds(struct relay *r)
{
	free(r->net_conds);
	r->net_conds = NULL;
	for (size_t i = 0; i < r->n_late; i++)
		free(r->late[i]);
	free(r->late);
	r->late = NULL;
	r->n_late = 0;
}

void relay_net_free(struct relay *r)
{
	if (!r->up.net && !r->down.net) {
		free_conds(r);
		return;
	}
	json_t *t = json_object();
	struct netflow *both[2] = {r->up.net, r->down.net};
	for (int i = 0; i < 2; i++) {
		if (!both[i])
			continue;
		json_object_set_new(t, both[i]->up ? "upstream" : "downstream", totals(both[i]));
		both[i]->f->net = NULL;
		free((void *)both[i]->defs);
		free(both[i]);
	}
	json_decref(r->c->network);
	r->c->network = t;
	free_conds(r); /* after the chains: they point at the conditions */
}
