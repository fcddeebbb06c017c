/* netplan.c — a scenario's network conditions checked and compiled, and
 * the plan stacked from them (see netplan.h). */
#include "catalog/netplan.h"

#include <stdlib.h>
#include <string.h>

#include "base/phase.h"

#define PROBLEM_AT(line, fmt, ...)                                                                 \
	do {                                                                                       \
		char where_[640];                                                                  \
		set_problems += sc_where(s, line, where_, sizeof where_);                          \
		if (err)                                                                           \
			fprintf(err, "%s: network[%zu]." fmt "\n", where_, i, __VA_ARGS__);        \
		problems++;                                                                        \
	} while (0)

static int compile(const struct scenario *s, struct net_plan *out, FILE *err, int *set_out)
{
	int problems = 0, set_problems = 0;
	memset(out, 0, sizeof(*out));
	if (!s->n_network)
		return 0;
	out->items = calloc(s->n_network, sizeof(*out->items));
	if (!out->items) {
		if (err)
			fprintf(err, "%s: out of memory\n", s->file);
		return 1;
	}
	out->n = s->n_network;
	for (size_t i = 0; i < s->n_network; i++) {
		const struct sc_condition *sc = &s->network[i];
		struct net_cond *c = &out->items[i];
		c->t = toxic_find(sc->type);
		c->origin = "scenario";
		if (!c->t) {
			PROBLEM_AT(sc->line, "type: unknown type \"%s\" (known: %s)", sc->type,
			           netcond_type_list());
			continue;
		}
		netcond_defaults(c);
		c->def.id = (int)i;
		snprintf(c->name, sizeof(c->name), "%s", sc->name ? sc->name : sc->type);
		for (size_t j = 0; j < i; j++)
			if (out->items[j].t && !strcmp(out->items[j].name, c->name))
				PROBLEM_AT(sc->line,
				           "name: \"%s\" is taken by network[%zu] (names are "
				           "unique in a scenario)",
				           c->name, j);
		c->streams = netcond_streams(sc->stream ? sc->stream : "downstream");
		double tox;
		if (netcond_number(sc->toxicity ? sc->toxicity : "1", &tox) < 0 || tox < 0 ||
		    tox > 1)
			PROBLEM_AT(sc->line, "toxicity: \"%s\" is not a number from 0 to 1",
			           sc->toxicity);
		else
			c->toxicity = tox;
		if (sc->from_phase) {
			enum phase p = phase_from_name(sc->from_phase);
			if (p == PH_NONE)
				PROBLEM_AT(sc->line, "trigger.from_phase: unknown phase \"%s\"",
				           sc->from_phase);
			c->def.from_phase = (int)p;
		}
		if (sc->after_bytes >= 0)
			c->def.after_bytes = (uint64_t)sc->after_bytes;
		for (size_t k = 0; k < sc->n_attrs; k++) {
			const struct sc_param *p = &sc->attrs[k];
			int a = toxic_attr_index(c->t, p->key);
			char why[160];
			if (a < 0) {
				netcond_attr_names(c->t, why, sizeof why);
				PROBLEM_AT(p->line,
				           "attributes.%s: %s has no attribute \"%s\" (its "
				           "attributes: %s)",
				           p->key, c->t->name, p->key, why);
			} else if (netcond_attr_value(&c->t->attrs[a], p->value, &c->def.a[a], why,
			                              sizeof why) < 0) {
				PROBLEM_AT(p->line, "attributes.%s: %s", p->key, why);
			}
		}
	}
	if (problems)
		net_plan_free(out);
	if (set_out)
		*set_out += set_problems;
	return problems;
}

int net_plan_compile(const struct scenario *s, struct net_plan *out, FILE *err)
{
	return compile(s, out, err, NULL);
}

int catalog_check_network(const struct catalog *c, FILE *err, int *set_problems)
{
	int problems = 0;
	for (size_t i = 0; i < c->n; i++) {
		struct net_plan p;
		problems += compile(c->items[i], &p, err, set_problems);
		net_plan_free(&p);
	}
	return problems;
}

int net_plan_append(struct net_plan *p, const struct net_cond *extra, size_t n)
{
	if (!n)
		return 0;
	struct net_cond *v = realloc(p->items, (p->n + n) * sizeof(*v));
	if (!v)
		return -1;
	memcpy(v + p->n, extra, n * sizeof(*v));
	p->items = v;
	p->n += n;
	for (size_t i = 0; i < p->n; i++)
		p->items[i].def.id = (int)i;
	return 0;
}

void net_plan_free(struct net_plan *p)
{
	free(p->items);
	p->items = NULL;
	p->n = 0;
}
