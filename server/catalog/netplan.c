/* netplan.c — network conditions checked and compiled (see netplan.h). */
#include "catalog/netplan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/phase.h"

static const char *type_list(void)
{
	static char buf[256];
	if (!buf[0])
		for (size_t i = 0; toxic_types[i]; i++) {
			size_t len = strlen(buf);
			snprintf(buf + len, sizeof(buf) - len, "%s%s", i ? ", " : "",
			         toxic_types[i]->name);
		}
	return buf;
}

static int parse_number(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Checks one attribute's text against its row: why (a message tail) on a
 * problem. */
static int attr_value(const struct tx_attr *a, const char *text, double *out, char *why, size_t n)
{
	double v;
	if (parse_number(text, &v) < 0) {
		snprintf(why, n, "\"%s\" is not a number", text);
		return -1;
	}
	if (a->integer && v != floor(v)) {
		snprintf(why, n, "%s is not a whole number", text);
		return -1;
	}
	if (v < a->min || v > a->max) {
		snprintf(why, n, "%s is out of range (%.15g to %.15g%s%s)", text, a->min, a->max,
		         *a->unit ? " " : "", a->unit);
		return -1;
	}
	*out = v;
	return 0;
}

static void attr_names(const struct toxic_type *t, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < t->n_attrs; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, "%s%s", i ? ", " : "", t->attrs[i].name);
	}
	if (!t->n_attrs)
		snprintf(buf, n, "none");
}

static void defaults(struct net_cond *c)
{
	for (size_t i = 0; i < c->t->n_attrs; i++)
		c->def.a[i] = c->t->attrs[i].def;
	c->def.t = c->t;
	c->def.after_bytes = TX_NEVER;
	c->toxicity = 1;
	c->streams = NET_DOWN;
}

static unsigned streams_of(const char *s)
{
	return !strcmp(s, "upstream")     ? NET_UP
	       : !strcmp(s, "downstream") ? NET_DOWN
	       : !strcmp(s, "both")       ? NET_UP | NET_DOWN
	                                  : 0;
}

const char *net_streams_str(unsigned streams)
{
	return streams == (NET_UP | NET_DOWN) ? "both"
	       : streams == NET_UP            ? "upstream"
	                                      : "downstream";
}

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
			           type_list());
			continue;
		}
		defaults(c);
		c->def.id = (int)i;
		snprintf(c->name, sizeof(c->name), "%s", sc->name ? sc->name : sc->type);
		for (size_t j = 0; j < i; j++)
			if (out->items[j].t && !strcmp(out->items[j].name, c->name))
				PROBLEM_AT(sc->line,
				           "name: \"%s\" is taken by network[%zu] (names are "
				           "unique in a scenario)",
				           c->name, j);
		c->streams = streams_of(sc->stream ? sc->stream : "downstream");
		double tox;
		if (parse_number(sc->toxicity ? sc->toxicity : "1", &tox) < 0 || tox < 0 || tox > 1)
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
				attr_names(c->t, why, sizeof why);
				PROBLEM_AT(p->line,
				           "attributes.%s: %s has no attribute \"%s\" (its "
				           "attributes: %s)",
				           p->key, c->t->name, p->key, why);
			} else if (attr_value(&c->t->attrs[a], p->value, &c->def.a[a], why,
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

int net_cond_parse_spec(const char *spec, struct net_cond *out, char *why, size_t n)
{
	char buf[512];
	memset(out, 0, sizeof(*out));
	if (strlen(spec) >= sizeof buf) {
		snprintf(why, n, "too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", spec);
	char *rest = buf, *type = strsep(&rest, ":");
	out->t = toxic_find(type);
	if (!out->t) {
		snprintf(why, n, "unknown type \"%s\" (known: %s)", type, type_list());
		return -1;
	}
	defaults(out);
	out->origin = "--network";
	snprintf(out->name, sizeof(out->name), "%s", type);
	char *part = rest ? strsep(&rest, ":") : NULL;
	if (part && !strchr(part, '=')) {
		out->streams = streams_of(part);
		if (!out->streams) {
			snprintf(why, n, "stream \"%s\" is neither upstream, downstream nor both",
			         part);
			return -1;
		}
		part = rest ? strsep(&rest, ":") : NULL;
	}
	if (rest) {
		snprintf(why, n, "unexpected \":%s\" (TYPE[:STREAM][:KEY=VALUE,...])", rest);
		return -1;
	}
	for (char *kv; part && (kv = strsep(&part, ","));) {
		char *val = strchr(kv, '=');
		if (!val || val == kv || !val[1]) {
			snprintf(why, n, "\"%s\" is not KEY=VALUE", kv);
			return -1;
		}
		*val++ = '\0';
		if (!strcmp(kv, "name")) {
			snprintf(out->name, sizeof(out->name), "%s", val);
		} else if (!strcmp(kv, "toxicity")) {
			if (parse_number(val, &out->toxicity) < 0 || out->toxicity < 0 ||
			    out->toxicity > 1) {
				snprintf(why, n, "toxicity \"%s\" is not a number from 0 to 1",
				         val);
				return -1;
			}
		} else if (!strcmp(kv, "from_phase")) {
			enum phase p = phase_from_name(val);
			if (p == PH_NONE) {
				snprintf(why, n, "from_phase: unknown phase \"%s\"", val);
				return -1;
			}
			out->def.from_phase = (int)p;
		} else if (!strcmp(kv, "after_bytes")) {
			double v;
			if (parse_number(val, &v) < 0 || v < 0 || v != floor(v) || v > 1e15) {
				snprintf(why, n, "after_bytes \"%s\" is not a byte count", val);
				return -1;
			}
			out->def.after_bytes = (uint64_t)v;
		} else {
			int a = toxic_attr_index(out->t, kv);
			char tail[160];
			if (a < 0) {
				attr_names(out->t, tail, sizeof tail);
				snprintf(why, n, "%s has no attribute \"%s\" (its attributes: %s)",
				         out->t->name, kv, tail);
				return -1;
			}
			if (attr_value(&out->t->attrs[a], val, &out->def.a[a], tail, sizeof tail) <
			    0) {
				snprintf(why, n, "%s: %s", kv, tail);
				return -1;
			}
		}
	}
	if (out->def.from_phase && out->def.after_bytes != TX_NEVER) {
		snprintf(why, n, "from_phase and after_bytes: give one trigger");
		return -1;
	}
	return 0;
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

json_t *net_cond_json(const struct net_cond *c)
{
	json_t *trigger = json_object();
	if (c->def.from_phase)
		json_object_set_new(trigger, "from_phase",
		                    json_string(phase_name((enum phase)c->def.from_phase)));
	if (c->def.after_bytes != TX_NEVER)
		json_object_set_new(trigger, "after_bytes",
		                    json_integer((json_int_t)c->def.after_bytes));
	json_t *attrs = json_object();
	for (size_t i = 0; i < c->t->n_attrs; i++)
		json_object_set_new(attrs, c->t->attrs[i].name,
		                    c->t->attrs[i].integer ? json_integer((json_int_t)c->def.a[i])
		                                           : json_real(c->def.a[i]));
	return json_pack("{s:s, s:s, s:s, s:f, s:o, s:o}", "name", c->name, "type", c->t->name,
	                 "stream", net_streams_str(c->streams), "toxicity", c->toxicity, "trigger",
	                 trigger, "attributes", attrs);
}

json_t *net_types_json(void)
{
	json_t *out = json_array();
	for (size_t i = 0; toxic_types[i]; i++) {
		const struct toxic_type *t = toxic_types[i];
		json_t *attrs = json_array();
		for (size_t k = 0; k < t->n_attrs; k++) {
			const struct tx_attr *a = &t->attrs[k];
			json_array_append_new(attrs,
			                      json_pack("{s:s, s:s, s:f, s:f, s:f, s:b, s:s}",
			                                "name", a->name, "unit", a->unit, "min",
			                                a->min, "max", a->max, "default", a->def,
			                                "integer", a->integer, "what", a->doc));
		}
		json_array_append_new(out, json_pack("{s:s, s:s, s:o}", "type", t->name, "summary",
		                                     t->summary, "attributes", attrs));
	}
	return out;
}
