/* netcond.c — one network condition: its text forms (serve --network's
 * spec, the API's JSON object) checked against its type's attributes, and
 * its JSON (see netplan.h). No file, no YAML: the API's fuzz target
 * compiles this alone. */
#include "catalog/netplan.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/phase.h"

const char *netcond_type_list(void)
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

int netcond_number(const char *text, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(text, &end);
	if (errno || end == text || *end || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int netcond_attr_value(const struct tx_attr *a, const char *text, double *out, char *why, size_t n)
{
	double v;
	if (netcond_number(text, &v) < 0) {
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
	/* -0 is 0: an integer attribute writes back as 0, and what is read
	 * must write back and read again the same (fuzz/fuzz_apibody). */
	*out = v == 0 ? 0.0 : v;
	return 0;
}

void netcond_attr_names(const struct toxic_type *t, char *buf, size_t n)
{
	buf[0] = '\0';
	for (size_t i = 0; i < t->n_attrs; i++) {
		size_t len = strlen(buf);
		snprintf(buf + len, n - len, "%s%s", i ? ", " : "", t->attrs[i].name);
	}
	if (!t->n_attrs)
		snprintf(buf, n, "none");
}

void netcond_defaults(struct net_cond *c)
{
	for (size_t i = 0; i < c->t->n_attrs; i++)
		c->def.a[i] = c->t->attrs[i].def;
	c->def.t = c->t;
	c->def.after_bytes = TX_NEVER;
	c->toxicity = 1;
	c->streams = NET_DOWN;
}

unsigned netcond_streams(const char *s)
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
		snprintf(why, n, "unknown type \"%s\" (known: %s)", type, netcond_type_list());
		return -1;
	}
	netcond_defaults(out);
	out->origin = "--network";
	snprintf(out->name, sizeof(out->name), "%s", type);
	char *part = rest ? strsep(&rest, ":") : NULL;
	if (part && !strchr(part, '=')) {
		out->streams = netcond_streams(part);
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
			if (netcond_number(val, &out->toxicity) < 0 || out->toxicity < 0 ||
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
			if (netcond_number(val, &v) < 0 || v < 0 || v != floor(v) || v > 1e15) {
				snprintf(why, n, "after_bytes \"%s\" is not a byte count", val);
				return -1;
			}
			out->def.after_bytes = (uint64_t)v;
		} else {
			int a = toxic_attr_index(out->t, kv);
			char tail[160];
			if (a < 0) {
				netcond_attr_names(out->t, tail, sizeof tail);
				snprintf(why, n, "%s has no attribute \"%s\" (its attributes: %s)",
				         out->t->name, kv, tail);
				return -1;
			}
			if (netcond_attr_value(&out->t->attrs[a], val, &out->def.a[a], tail,
			                       sizeof tail) < 0) {
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

/* An attribute's JSON value as the text netcond_attr_value checks. */
static int attr_from_json(const struct tx_attr *a, const json_t *v, double *out, char *why,
                          size_t n)
{
	if (!json_is_number(v)) {
		snprintf(why, n, "expected a number");
		return -1;
	}
	char text[64];
	snprintf(text, sizeof text, "%.17g", json_number_value(v));
	return netcond_attr_value(a, text, out, why, n);
}

static int attrs_from_json(const struct toxic_type *t, const json_t *attrs, double *a, char *why,
                           size_t n, const char **field)
{
	const char *k;
	json_t *v;
	if (!json_is_object(attrs)) {
		*field = "attributes";
		snprintf(why, n, "attributes: expected an object");
		return -1;
	}
	json_object_foreach((json_t *)attrs, k, v)
	{
		int i = toxic_attr_index(t, k);
		char tail[200];
		*field = "attributes";
		if (i < 0) {
			netcond_attr_names(t, tail, sizeof tail);
			snprintf(why, n, "%s has no attribute \"%.64s\" (its attributes: %s)",
			         t->name, k, tail);
			return -1;
		}
		if (attr_from_json(&t->attrs[i], v, &a[i], tail, sizeof tail) < 0) {
			snprintf(why, n, "attributes.%s: %s", k, tail);
			return -1;
		}
	}
	return 0;
}

static int toxicity_from_json(const json_t *v, double *out, char *why, size_t n)
{
	if (!json_is_number(v) || json_number_value(v) < 0 || json_number_value(v) > 1) {
		snprintf(why, n, "toxicity: expected a number from 0 to 1");
		return -1;
	}
	double t = json_number_value(v);
	*out = t == 0 ? 0.0 : t; /* -0 is 0 */
	return 0;
}

int net_cond_from_json(const json_t *o, struct net_cond *out, char *why, size_t n,
                       const char **field)
{
	static const char *const keys[] = {"name",    "type",       "stream", "toxicity",
	                                   "trigger", "attributes", NULL};
	memset(out, 0, sizeof(*out));
	*field = "";
	if (!json_is_object(o)) {
		snprintf(why, n, "expected a JSON object");
		return -1;
	}
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		int known = 0;
		for (size_t i = 0; keys[i]; i++)
			known |= !strcmp(keys[i], k);
		if (!known) {
			*field = "";
			snprintf(why, n,
			         "unknown field \"%.64s\" (expected name, type, stream, "
			         "toxicity, trigger, attributes)",
			         k);
			return -1;
		}
	}
	const json_t *type = json_object_get(o, "type");
	*field = "type";
	if (!json_is_string(type)) {
		snprintf(why, n, "type: required, a string (%s)", netcond_type_list());
		return -1;
	}
	out->t = toxic_find(json_string_value(type));
	if (!out->t) {
		snprintf(why, n, "type: unknown type \"%.64s\" (known: %s)",
		         json_string_value(type), netcond_type_list());
		return -1;
	}
	netcond_defaults(out);
	out->origin = "api";
	const json_t *name = json_object_get(o, "name");
	const char *nm = name ? json_string_value(name) : out->t->name;
	*field = "name";
	if (!nm || !*nm || strlen(nm) >= sizeof(out->name) ||
	    strspn(nm, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(nm)) {
		snprintf(why, n, "name: expected [a-z0-9_-], 1-47 characters");
		return -1;
	}
	snprintf(out->name, sizeof(out->name), "%s", nm);
	const json_t *stream = json_object_get(o, "stream");
	if (stream) {
		*field = "stream";
		out->streams =
		        json_is_string(stream) ? netcond_streams(json_string_value(stream)) : 0;
		if (!out->streams) {
			snprintf(why, n, "stream: expected upstream, downstream or both");
			return -1;
		}
	}
	const json_t *tox = json_object_get(o, "toxicity");
	if (tox) {
		*field = "toxicity";
		if (toxicity_from_json(tox, &out->toxicity, why, n) < 0)
			return -1;
	}
	const json_t *trig = json_object_get(o, "trigger");
	if (trig) {
		*field = "trigger";
		if (!json_is_object(trig)) {
			snprintf(why, n, "trigger: expected an object");
			return -1;
		}
		json_object_foreach((json_t *)trig, k, v)
		{
			if (!strcmp(k, "from_phase")) {
				enum phase p = json_is_string(v)
				                       ? phase_from_name(json_string_value(v))
				                       : PH_NONE;
				if (p == PH_NONE) {
					snprintf(why, n,
					         "trigger.from_phase: expected a phase name");
					return -1;
				}
				out->def.from_phase = (int)p;
			} else if (!strcmp(k, "after_bytes")) {
				if (!json_is_integer(v) || json_integer_value(v) < 0) {
					snprintf(why, n,
					         "trigger.after_bytes: expected a byte count");
					return -1;
				}
				out->def.after_bytes = (uint64_t)json_integer_value(v);
			} else {
				snprintf(why, n,
				         "trigger: unknown field \"%.64s\" (expected from_phase "
				         "or after_bytes)",
				         k);
				return -1;
			}
		}
		if (out->def.from_phase && out->def.after_bytes != TX_NEVER) {
			snprintf(why, n, "trigger: from_phase and after_bytes: give one");
			return -1;
		}
	}
	const json_t *attrs = json_object_get(o, "attributes");
	if (attrs && attrs_from_json(out->t, attrs, out->def.a, why, n, field) < 0)
		return -1;
	*field = NULL;
	return 0;
}

int net_cond_update_json(struct net_cond *c, const json_t *o, char *why, size_t n,
                         const char **field)
{
	*field = "";
	if (!json_is_object(o)) {
		snprintf(why, n, "expected a JSON object");
		return -1;
	}
	struct net_cond next = *c;
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		*field = k;
		if (!strcmp(k, "attributes")) {
			if (attrs_from_json(next.t, v, next.def.a, why, n, field) < 0)
				return -1;
		} else if (!strcmp(k, "toxicity")) {
			if (toxicity_from_json(v, &next.toxicity, why, n) < 0)
				return -1;
		} else if ((!strcmp(k, "name") && json_is_string(v) &&
		            !strcmp(json_string_value(v), c->name)) ||
		           (!strcmp(k, "type") && json_is_string(v) &&
		            !strcmp(json_string_value(v), c->t->name))) {
			continue; /* unchanged */
		} else {
			snprintf(why, n, "%.64s: an update changes attributes and toxicity only",
			         k);
			return -1;
		}
	}
	*c = next;
	*field = NULL;
	return 0;
}
