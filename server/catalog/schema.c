/* schema.c — the table-driven walk. The tables (format.c, one per YAML
 * mapping) are the format: each row names a key, how its value is
 * converted and checked, where it is stored and what it defaults to.
 * ld_walk_map() is the only code that walks a mapping, so unknown keys,
 * duplicate keys, missing keys and defaults are handled the same way at
 * every level; the walk goes on after a problem so that one run reports
 * them all. Rules that involve two fields live in a schema's finish hook. */
#include "catalog/loader.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static void *at(void *base, size_t off)
{
	return (char *)base + off;
}

static void store_num(void *p, enum width w, long v)
{
	switch (w) {
	case W_INT:
		*(int *)p = (int)v;
		break;
	case W_U16:
		*(uint16_t *)p = (uint16_t)v;
		break;
	case W_LONG:
		*(long *)p = v;
		break;
	case W_UNSIGNED:
		*(unsigned *)p = (unsigned)v;
		break;
	case W_ENCLEVEL:
		*(enum sc_encryption_level *)p = (enum sc_encryption_level)v;
		break;
	}
}

static void store_ptr(void *p, void *v)
{
	memcpy(p, &v, sizeof v);
}

/* "a, b or c" */
static char *join_names(const struct name_val *names)
{
	size_t n = 0;
	while (names[n].name)
		n++;
	char *s = ld_strdup("");
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		char *t = ld_asprintf("%s%s%s", s, sep, names[i].name);
		free(s);
		s = t;
	}
	return s;
}

static const struct name_val *find_name(const struct name_val *names, const char *s)
{
	for (; names->name; names++)
		if (!strcmp(names->name, s))
			return names;
	return NULL;
}

static void unknown_name(struct ctx *c, const yaml_node_t *n, const char *path,
                         const struct field *f, const char *text)
{
	char *list = join_names(f->names);
	char *fmt = ld_asprintf("unknown %s %%s (expected %s)", f->what ? f->what : "value", list);
	ld_problem_q(c, ld_line(n), path, fmt, text, NULL);
	free(fmt);
	free(list);
}

/* K_STR rules shared by single strings and list items. */
static int check_str(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
                     const char *v)
{
	if ((f->flags & F_NONEMPTY) && !*v) {
		ld_problem(c, ld_line(n), path, "must not be empty");
		return -1;
	}
	if (f->flags & F_ONELINE && ld_has_ctrl(v, 0)) {
		ld_problem(c, ld_line(n), path, "must be one line without control characters");
		return -1;
	}
	if (f->flags & F_TEXT && ld_has_ctrl(v, 1)) {
		ld_problem(c, ld_line(n), path, "must not contain control characters");
		return -1;
	}
	if (f->max && ld_utf8_chars(v) > (size_t)f->max) {
		ld_problem(c, ld_line(n), path, "is %zu characters long (at most %ld)",
		           ld_utf8_chars(v), f->max);
		return -1;
	}
	if (f->names && !find_name(f->names, v)) {
		unknown_name(c, n, path, f, v);
		return -1;
	}
	if (f->check && f->check(c, n, path, v) < 0)
		return -1;
	return 0;
}

static char *text_copy(const struct field *f, const char *v)
{
	char *s = ld_strdup(v);
	if (f->flags & F_TEXT) {
		size_t len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
	}
	return s;
}

void ld_walk_map(struct ctx *c, const yaml_node_t *n, const char *path, const struct schema *sc,
                 void *base);
static void apply_defaults(const struct schema *sc, void *base);

static const yaml_node_t *node_at(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

static void parse_str(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
                      void *dst)
{
	const char *v = ld_scalar_text(c, n, path, "a string");
	if (!v)
		return;
	/* Paragraph fields are judged without the newline a folded scalar ends with. */
	char *s = text_copy(f, v);
	if (check_str(c, f, n, path, s) < 0) {
		free(s);
		return;
	}
	store_ptr(dst, s);
}

static void parse_int(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
                      void *dst)
{
	const char *v = ld_scalar_text(c, n, path, "an integer");
	if (!v)
		return;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		ld_problem(c, ld_line(n), path, "expected an integer, found a quoted string");
		return;
	}
	long x = 0;
	int r = ld_parse_long(v, &x);
	if (r == -1) {
		ld_problem_q(c, ld_line(n), path, "%s is not an integer", v, NULL);
		return;
	}
	if (r == -2 || x < f->min || x > f->max) {
		char *digits = ld_escape(v, QUOTE_MAX); /* only digits, but maybe very many */
		ld_problem(c, ld_line(n), path, "%s is out of range (%ld..%ld)", digits, f->min,
		           f->max);
		free(digits);
		return;
	}
	if (f->check && f->check(c, n, path, v) < 0)
		return;
	store_num(dst, W_INT, x);
}

static void parse_enum(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
                       void *dst)
{
	const char *v = ld_scalar_text(c, n, path, "a string");
	if (!v)
		return;
	const struct name_val *nv = find_name(f->names, v);
	if (!nv) {
		unknown_name(c, n, path, f, v);
		return;
	}
	store_num(dst, f->width, nv->val);
}

static void parse_duration_field(struct ctx *c, const struct field *f, const yaml_node_t *n,
                                 const char *path, void *dst)
{
	(void)f;
	const char *v = ld_scalar_text(c, n, path, "a duration");
	if (!v)
		return;
	long secs = 0;
	int r = ld_parse_duration(v, &secs);
	if (r == -1)
		ld_problem_q(c, ld_line(n), path,
		             "%s is not a duration (expected an integer with unit s, m, h or d, "
		             "e.g. -1d, 30m, 365d)",
		             v, NULL);
	else if (r == -2)
		ld_problem_q(c, ld_line(n), path, "%s is out of range (at most 36500d either way)",
		             v, NULL);
	else
		store_num(dst, W_LONG, secs);
}

static int expect_type(struct ctx *c, const yaml_node_t *n, const char *path, yaml_node_type_t type)
{
	if (n->type == type)
		return 0;
	const char *want = type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
	if (ld_is_null(n))
		ld_problem(c, ld_line(n), path, "expected %s, found no value", want);
	else
		ld_problem(c, ld_line(n), path, "expected %s, found %s", want, ld_node_kind(n));
	return -1;
}

static void parse_flags(struct ctx *c, const struct field *f, const yaml_node_t *n,
                        const char *path, void *dst)
{
	if (expect_type(c, n, path, YAML_SEQUENCE_NODE) < 0)
		return;
	const yaml_node_item_t *it = n->data.sequence.items.start;
	size_t count = (size_t)(n->data.sequence.items.top - it);
	if (!count) {
		ld_problem(c, ld_line(n), path, "must list at least one %s", f->what);
		return;
	}
	unsigned mask = 0;
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		char *p = ld_path_index(path, i);
		const char *v = ld_scalar_text(c, item, p, "a string");
		const struct name_val *nv = v ? find_name(f->names, v) : NULL;
		if (v && !nv)
			unknown_name(c, item, p, f, v);
		if (nv && (mask & (unsigned)nv->val)) {
			char *fmt = ld_asprintf("duplicate %s %%s", f->what);
			ld_problem_q(c, ld_line(item), p, fmt, v, NULL);
			free(fmt);
			nv = NULL;
		}
		if (nv)
			mask |= (unsigned)nv->val;
		else
			bad = 1;
		free(p);
	}
	if (!bad)
		store_num(dst, W_UNSIGNED, mask);
}

static void parse_strlist(struct ctx *c, const struct field *f, const yaml_node_t *n,
                          const char *path, void *dst)
{
	if (expect_type(c, n, path, YAML_SEQUENCE_NODE) < 0)
		return;
	const yaml_node_item_t *it = n->data.sequence.items.start;
	size_t count = (size_t)(n->data.sequence.items.top - it);
	char **v = ld_calloc(count + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		char *p = ld_path_index(path, i);
		const char *t = ld_scalar_text(c, item, p, "a string");
		if (t && check_str(c, f, item, p, t) == 0)
			v[k++] = ld_strdup(t);
		free(p);
	}
	store_ptr(dst, v);
}

static void parse_maplist(struct ctx *c, const struct field *f, const yaml_node_t *n,
                          const char *path, void *dst, void *base)
{
	if (expect_type(c, n, path, YAML_SEQUENCE_NODE) < 0)
		return;
	const yaml_node_item_t *it = n->data.sequence.items.start;
	size_t count = (size_t)(n->data.sequence.items.top - it);
	char *arr = ld_calloc(count, f->elem_size);
	/* Stored before filling so that scenario_free sees every element. */
	store_ptr(dst, arr);
	*(size_t *)at(base, f->count_off) = count;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		void *elem = arr + i * f->elem_size;
		char *p = ld_path_index(path, i);
		if (f->line_off)
			*(int *)at(elem, f->line_off) = ld_line(item);
		ld_walk_map(c, item, p, f->sub, elem);
		free(p);
	}
}

static void check_pairs(struct ctx *c, const yaml_node_t *n, const char *path, int *skip);

static void parse_mapdict(struct ctx *c, const struct field *f, const yaml_node_t *n,
                          const char *path, void *dst, void *base)
{
	if (expect_type(c, n, path, YAML_MAPPING_NODE) < 0)
		return;
	const yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	size_t count = (size_t)(n->data.mapping.pairs.top - pr);
	if (!count && (f->flags & F_NONEMPTY)) {
		ld_problem(c, ld_line(n), path, "must name at least one %s", f->what);
		return;
	}
	int *skip = ld_calloc(count, sizeof *skip);
	check_pairs(c, n, path, skip);
	char *arr = ld_calloc(count, f->elem_size);
	store_ptr(dst, arr);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const yaml_node_t *vn = node_at(c, pr[i].value);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = ld_path_key(path, key);
		if (!f->check || f->check(c, kn, p, key) == 0) {
			void *elem = arr + k++ * f->elem_size;
			store_ptr(at(elem, f->key_off), ld_strdup(key));
			ld_walk_map(c, vn, p, f->sub, elem);
		}
		free(p);
	}
	free(skip);
	*(size_t *)at(base, f->count_off) = k;
}

static void parse_params(struct ctx *c, const struct field *f, const yaml_node_t *n,
                         const char *path, void *dst, void *base)
{
	if (expect_type(c, n, path, YAML_MAPPING_NODE) < 0)
		return;
	const yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	size_t count = (size_t)(n->data.mapping.pairs.top - pr);
	int *skip = ld_calloc(count, sizeof *skip);
	check_pairs(c, n, path, skip);
	struct sc_param *arr = ld_calloc(count, sizeof *arr);
	store_ptr(dst, arr);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = ld_path_key(path, key);
		const char *v = NULL;
		if (!f->check || f->check(c, kn, p, key) == 0)
			v = ld_scalar_text(c, node_at(c, pr[i].value), p, "a scalar value");
		if (v) {
			arr[k].key = ld_strdup(key);
			arr[k].value = ld_strdup(v);
			arr[k].line = ld_line(kn);
			k++;
		}
		free(p);
	}
	free(skip);
	*(size_t *)at(base, f->count_off) = k;
}

static void parse_field(struct ctx *c, const struct field *f, const yaml_node_t *n,
                        const char *path, void *base)
{
	void *dst = at(base, f->off);
	switch (f->kind) {
	case K_STR:
		parse_str(c, f, n, path, dst);
		break;
	case K_INT:
		parse_int(c, f, n, path, dst);
		break;
	case K_ENUM:
		parse_enum(c, f, n, path, dst);
		break;
	case K_DURATION:
		parse_duration_field(c, f, n, path, dst);
		break;
	case K_FLAGS:
		parse_flags(c, f, n, path, dst);
		break;
	case K_STRLIST:
		parse_strlist(c, f, n, path, dst);
		break;
	case K_MAP:
		ld_walk_map(c, n, path, f->sub, dst);
		break;
	case K_MAPLIST:
		parse_maplist(c, f, n, path, dst, base);
		break;
	case K_MAPDICT:
		parse_mapdict(c, f, n, path, dst, base);
		break;
	case K_PARAMS:
		parse_params(c, f, n, path, dst, base);
		break;
	}
}

static void apply_default(const struct field *f, void *base)
{
	void *dst = at(base, f->off);
	switch (f->kind) {
	case K_STR:
		if (f->def_str)
			store_ptr(dst, ld_strdup(f->def_str));
		break;
	case K_INT:
		store_num(dst, W_INT, f->def_num);
		break;
	case K_ENUM:
		store_num(dst, f->width, f->def_num);
		break;
	case K_DURATION:
		store_num(dst, W_LONG, f->def_num);
		break;
	case K_FLAGS:
		store_num(dst, W_UNSIGNED, f->def_num);
		break;
	case K_STRLIST:
		store_ptr(dst, ld_strv_dup(f->def_list));
		break;
	case K_MAP:
		if (!(f->flags & F_NODEFAULTS))
			apply_defaults(f->sub, dst);
		break;
	case K_MAPLIST:
	case K_MAPDICT:
	case K_PARAMS:
		break; /* zeroed: no elements */
	}
}

static void apply_defaults(const struct schema *sc, void *base)
{
	for (size_t i = 0; i < sc->n; i++)
		apply_default(&sc->fields[i], base);
}

struct key_ref {
	const char *key;
	size_t index;
};

static int key_ref_cmp(const void *a, const void *b)
{
	const struct key_ref *x = a, *y = b;
	int r = strcmp(x->key, y->key);
	if (r)
		return r;
	return x->index < y->index ? -1 : x->index > y->index;
}

#define PAIR_BAD_KEY (-1) /* skip[i]: key is not a usable scalar */

/* Reports keys that are not scalars and keys repeated in mapping `n`
 * (sorting, so that a large mapping costs n log n rather than n^2), in
 * document order. skip[i] becomes non-zero for each pair the caller must
 * ignore: PAIR_BAD_KEY, or the line where a repeated key first appeared. */
static void check_pairs(struct ctx *c, const yaml_node_t *n, const char *path, int *skip)
{
	const yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	size_t count = (size_t)(n->data.mapping.pairs.top - pr);
	struct key_ref *refs = ld_calloc(count, sizeof *refs);
	size_t nrefs = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *kn = node_at(c, pr[i].key);
		if (kn->type != YAML_SCALAR_NODE || !kn->data.scalar.length ||
		    strlen((const char *)kn->data.scalar.value) != kn->data.scalar.length) {
			skip[i] = PAIR_BAD_KEY;
			continue;
		}
		refs[nrefs].key = (const char *)kn->data.scalar.value;
		refs[nrefs].index = i;
		nrefs++;
	}
	qsort(refs, nrefs, sizeof *refs, key_ref_cmp);
	for (size_t j = 1, first = 0; j < nrefs; j++) {
		if (strcmp(refs[first].key, refs[j].key))
			first = j;
		else
			skip[refs[j].index] = ld_line(node_at(c, pr[refs[first].index].key));
	}
	free(refs);
	const char *where = path[0] ? path : "(document)";
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *kn = node_at(c, pr[i].key);
		if (skip[i] == PAIR_BAD_KEY && kn->type != YAML_SCALAR_NODE) {
			ld_problem(c, ld_line(kn), where, "key must be a scalar, found %s",
			           ld_node_kind(kn));
		} else if (skip[i] == PAIR_BAD_KEY) {
			ld_problem(c, ld_line(kn), where, "empty key or key with a NUL character");
		} else if (skip[i]) {
			char *p = ld_path_key(path, (const char *)kn->data.scalar.value);
			ld_problem(c, ld_line(kn), p, "duplicate key (first at line %d)", skip[i]);
			free(p);
		}
	}
}

void ld_walk_map(struct ctx *c, const yaml_node_t *n, const char *path, const struct schema *sc,
                 void *base)
{
	int before = c->problems;
	if (expect_type(c, n, path[0] ? path : "(document)", YAML_MAPPING_NODE) < 0)
		return;
	const yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	size_t count = (size_t)(n->data.mapping.pairs.top - pr);
	int *skip = ld_calloc(count, sizeof *skip);
	char *present = ld_calloc(sc->n, 1);
	check_pairs(c, n, path, skip);
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = ld_path_key(path, key);
		size_t fi = 0;
		while (fi < sc->n && strcmp(sc->fields[fi].key, key))
			fi++;
		if (fi == sc->n) {
			struct name_val *keys = ld_calloc(sc->n + 1, sizeof *keys);
			for (size_t j = 0; j < sc->n; j++)
				keys[j].name = sc->fields[j].key;
			char *list = join_names(keys);
			ld_problem(c, ld_line(kn), p, "unknown key (expected %s)", list);
			free(list);
			free(keys);
		} else {
			present[fi] = 1;
			parse_field(c, &sc->fields[fi], node_at(c, pr[i].value), p, base);
		}
		free(p);
	}
	for (size_t fi = 0; fi < sc->n; fi++) {
		const struct field *f = &sc->fields[fi];
		if (present[fi])
			continue;
		if (f->flags & F_REQUIRED) {
			char *p = ld_path_key(path, f->key);
			ld_problem(c, ld_line(n), p, "required key is missing");
			free(p);
		} else {
			apply_default(f, base);
		}
	}
	free(present);
	free(skip);
	if (sc->finish)
		sc->finish(c, n, path, base, c->problems == before);
}

/* Value node of `key` in mapping `n`, or NULL. */
const yaml_node_t *ld_map_get(struct ctx *c, const yaml_node_t *n, const char *key)
{
	for (const yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node_at(c, p->key);
		if (kn->type == YAML_SCALAR_NODE &&
		    !strcmp((const char *)kn->data.scalar.value, key))
			return node_at(c, p->value);
	}
	return NULL;
}
