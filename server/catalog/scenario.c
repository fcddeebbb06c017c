/* scenario.c — the scenario catalog loader: reads scenarios/NAME.yaml with
 * libyaml's document API and checks every node against a schema table.
 *
 * The tables below (one per YAML mapping) are the format: each row names a
 * key, how its value is converted and checked, where it is stored and what
 * it defaults to. walk_map() is the only code that walks a mapping, so
 * unknown keys, duplicate keys, missing keys and defaults are handled the
 * same way at every level. Rules that involve two fields live in the
 * schema's finish hook.
 *
 * Every problem is written as "FILE:LINE: FIELD-PATH: message" and counted;
 * the walk goes on after a problem so that one run reports them all. A
 * scenario or catalog with any problem is freed and never returned.
 *
 * Memory: allocation failure aborts (see xmalloc); the loader runs at
 * start-up, where there is nothing sensible to fall back to. */

#include "catalog/scenario.h"

#include "base/phase.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define SCENARIO_FILE_MAX (1024 * 1024) /* a scenario is a page of text; refuse more */
#define SUMMARY_MAX 120			/* characters (UTF-8 code points) */
#define NAME_MAX_LEN 48
#define QUOTE_MAX 64 /* value bytes shown in a message before "..." */
#define DURATION_MAX_DAYS 36500L

/* ---------------------------------------------------------------------------
 * Allocation helpers
 * ------------------------------------------------------------------------ */

static void oom(void)
{
	fputs("rdpfault: out of memory while loading scenarios\n", stderr);
	abort();
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		oom();
	return p;
}

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		oom();
	return p;
}

static void strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

static char **strv_dup(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xcalloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

/* Text of untrusted input made safe for a one-line message: control
 * characters, '"' and '\\' escaped as \xNN; long values cut (at a UTF-8
 * character boundary) and marked with "...". */
static char *escape(const char *s, size_t max)
{
	size_t len = strlen(s);
	size_t shown = len > max ? max : len;
	while (shown < len && shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
		shown--;
	char *out = xmalloc(shown * 4 + 4);
	char *o = out;
	for (size_t i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == '"')
			o += sprintf(o, "\\x%02x", ch);
		else
			*o++ = (char)ch;
	}
	if (shown < len)
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

/* ---------------------------------------------------------------------------
 * Problem reporting
 * ------------------------------------------------------------------------ */

struct ctx {
	FILE *err;
	const char *file;
	char *stem; /* the file's base name without ".yaml": the required name */
	yaml_document_t *doc;
	int problems;
};

static void problem(struct ctx *c, int line, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct ctx *c, int line, const char *path, const char *fmt, ...)
{
	c->problems++;
	if (!c->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(c->err, "%s:%d: %s: ", c->file, line, path);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	va_end(ap);
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* Problem with a quoted, escaped copy of the offending text:
 * fmt has one %s for it, e.g. "unknown protocol %s (expected ...)". */
static void problem_q(struct ctx *c, int line, const char *path, const char *fmt, const char *text,
		      const char *tail)
{
	char *q = escape(text, QUOTE_MAX);
	char *msg = xasprintf("\"%s\"", q);
	char *full = xasprintf(fmt, msg);
	problem(c, line, path, "%s%s", full, tail ? tail : "");
	free(full);
	free(msg);
	free(q);
}

static char *path_key(const char *parent, const char *key)
{
	char *k = escape(key, QUOTE_MAX);
	char *p = *parent ? xasprintf("%s.%s", parent, k) : xasprintf("%s", k);
	free(k);
	return p;
}

static char *path_index(const char *parent, size_t i)
{
	return xasprintf("%s[%zu]", parent, i);
}

/* ---------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------ */

static const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE:
		return "a scalar";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_MAPPING_NODE:
		return "a mapping";
	default:
		return "nothing";
	}
}

/* YAML's null: an unquoted empty value, "~" or "null". Never a string here. */
static int is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* The scalar's text, or NULL after reporting why there is none. */
static const char *scalar_text(struct ctx *c, const yaml_node_t *n, const char *path,
			       const char *want)
{
	if (n->type != YAML_SCALAR_NODE) {
		problem(c, line_of(n), path, "expected %s, found %s", want, node_kind(n));
		return NULL;
	}
	if (is_null(n)) {
		problem(c, line_of(n), path, "expected %s, found no value", want);
		return NULL;
	}
	const char *v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		problem(c, line_of(n), path, "contains a NUL character");
		return NULL;
	}
	return v;
}

static int has_ctrl(const char *s, int allow_newline)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (allow_newline && (ch == '\n' || ch == '\t'))
			continue;
		if (ch < 0x20 || ch == 0x7f)
			return 1;
	}
	return 0;
}

static size_t utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* s matches [first][rest]{0,max-1} where the classes are given as strings
 * of allowed punctuation on top of [a-z0-9]. max 0 means unbounded. */
static int is_ident(const char *s, const char *first_extra, const char *rest_extra, size_t max)
{
	size_t len = strlen(s);
	if (!len || (max && len > max))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (strchr(i ? rest_extra : first_extra, ch))
			continue;
		return 0;
	}
	return 1;
}

/* Base-10 integer, whole text, no overflow. */
static int parse_long(const char *s, long *out)
{
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (const char *q = p; *q; q++)
		if (!isdigit((unsigned char)*q))
			return -1;
	errno = 0;
	long v = strtol(s, NULL, 10);
	if (errno == ERANGE)
		return -2;
	*out = v;
	return 0;
}

/* [+-]?DIGITS[smhd] to seconds; -1 malformed, -2 out of range. */
static int parse_duration(const char *s, long *out)
{
	size_t len = strlen(s);
	if (len < 2)
		return -1;
	long unit;
	switch (s[len - 1]) {
	case 's':
		unit = 1;
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return -1;
	}
	char *num = xstrdup(s);
	num[len - 1] = '\0';
	long v = 0;
	int r = parse_long(num, &v);
	free(num);
	if (r < 0)
		return r;
	/* 100 years either way, or what a long holds (32-bit: about 68 years). */
	long long lim = DURATION_MAX_DAYS * 86400LL;
	if (lim > LONG_MAX)
		lim = LONG_MAX;
	if (v > lim / unit || v < -(lim / unit))
		return -2;
	*out = v * unit;
	return 0;
}

/* ---------------------------------------------------------------------------
 * The schema
 * ------------------------------------------------------------------------ */

struct name_val {
	const char *name;
	long val;
};

enum kind {
	K_STR,	    /* scalar text -> char * */
	K_INT,	    /* base-10 integer in [min, max] -> int */
	K_ENUM,	    /* one of `names` -> its value, stored per `width` */
	K_DURATION, /* [+-]N[smhd] -> long seconds */
	K_FLAGS,    /* list of `names`, no repeats -> OR of their values (unsigned) */
	K_STRLIST,  /* list of scalars -> NULL-terminated char ** */
	K_MAP,	    /* nested mapping described by `sub`, stored at base + off */
	K_MAPLIST,  /* list of mappings (`sub`) -> array at off, count at count_off */
	K_MAPDICT,  /* mapping NAME -> mapping (`sub`) -> array, NAME stored at key_off */
	K_PARAMS    /* mapping of scalars -> struct sc_param array at off, count at count_off */
};

enum width { W_INT, W_U16, W_LONG, W_UNSIGNED, W_ENCLEVEL };

enum {
	F_REQUIRED = 1u << 0,  /* absent: a problem (reported at the enclosing mapping) */
	F_NONEMPTY = 1u << 1,  /* K_STR, K_STRLIST items: no ""; K_MAPDICT: at least one entry */
	F_ONELINE = 1u << 2,   /* no control characters at all */
	F_TEXT = 1u << 3,      /* paragraph: newlines allowed, trailing whitespace dropped */
	F_NODEFAULTS = 1u << 4 /* K_MAP: when absent, leave the section zeroed */
};

struct ctx;
struct field;
typedef int (*check_fn)(struct ctx *c, const yaml_node_t *n, const char *path, const char *text);

struct schema {
	const struct field *fields;
	size_t n;
	/* Cross-field rules; `clean` says whether the mapping had no problem. */
	void (*finish)(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
		       int clean);
};

struct field {
	const char *key;
	enum kind kind;
	size_t off;
	unsigned flags;
	const char *what;	      /* noun for messages: "protocol", "client" */
	const struct name_val *names; /* K_ENUM, K_FLAGS; K_STR: allowed values */
	long min, max;		      /* K_INT range; K_STR: max characters (0: none) */
	check_fn check;		      /* extra rule on each scalar's text */
	enum width width;	      /* K_ENUM */
	const struct schema *sub;     /* K_MAP, K_MAPLIST, K_MAPDICT */
	size_t elem_size, count_off, key_off, line_off; /* arrays; line_off 0: none */
	long def_num;		     /* default of K_INT, K_ENUM, K_DURATION, K_FLAGS */
	const char *def_str;	     /* default of K_STR (NULL: stays NULL) */
	const char *const *def_list; /* default of K_STRLIST (NULL: empty list) */
};

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
	char *s = xstrdup("");
	for (size_t i = 0; i < n; i++) {
		const char *sep = i == 0 ? "" : i + 1 == n ? " or " : ", ";
		char *t = xasprintf("%s%s%s", s, sep, names[i].name);
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
	char *fmt = xasprintf("unknown %s %%s (expected %s)", f->what ? f->what : "value", list);
	problem_q(c, line_of(n), path, fmt, text, NULL);
	free(fmt);
	free(list);
}

/* K_STR rules shared by single strings and list items. */
static int check_str(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
		     const char *v)
{
	if ((f->flags & F_NONEMPTY) && !*v) {
		problem(c, line_of(n), path, "must not be empty");
		return -1;
	}
	if (f->flags & F_ONELINE && has_ctrl(v, 0)) {
		problem(c, line_of(n), path, "must be one line without control characters");
		return -1;
	}
	if (f->flags & F_TEXT && has_ctrl(v, 1)) {
		problem(c, line_of(n), path, "must not contain control characters");
		return -1;
	}
	if (f->max && utf8_chars(v) > (size_t)f->max) {
		problem(c, line_of(n), path, "is %zu characters long (at most %ld)", utf8_chars(v),
			f->max);
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
	char *s = xstrdup(v);
	if (f->flags & F_TEXT) {
		size_t len = strlen(s);
		while (len && isspace((unsigned char)s[len - 1]))
			s[--len] = '\0';
	}
	return s;
}

static void walk_map(struct ctx *c, const yaml_node_t *n, const char *path, const struct schema *sc,
		     void *base);
static void apply_defaults(const struct schema *sc, void *base);

static const yaml_node_t *node_at(struct ctx *c, int index)
{
	return yaml_document_get_node(c->doc, index);
}

static void parse_str(struct ctx *c, const struct field *f, const yaml_node_t *n, const char *path,
		      void *dst)
{
	const char *v = scalar_text(c, n, path, "a string");
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
	const char *v = scalar_text(c, n, path, "an integer");
	if (!v)
		return;
	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
		problem(c, line_of(n), path, "expected an integer, found a quoted string");
		return;
	}
	long x = 0;
	int r = parse_long(v, &x);
	if (r == -1) {
		problem_q(c, line_of(n), path, "%s is not an integer", v, NULL);
		return;
	}
	if (r == -2 || x < f->min || x > f->max) {
		char *digits = escape(v, QUOTE_MAX); /* only digits, but maybe very many */
		problem(c, line_of(n), path, "%s is out of range (%ld..%ld)", digits, f->min,
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
	const char *v = scalar_text(c, n, path, "a string");
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
	const char *v = scalar_text(c, n, path, "a duration");
	if (!v)
		return;
	long secs = 0;
	int r = parse_duration(v, &secs);
	if (r == -1)
		problem_q(c, line_of(n), path,
			  "%s is not a duration (expected an integer with unit s, m, h or d, "
			  "e.g. -1d, 30m, 365d)",
			  v, NULL);
	else if (r == -2)
		problem_q(c, line_of(n), path, "%s is out of range (at most 36500d either way)", v,
			  NULL);
	else
		store_num(dst, W_LONG, secs);
}

static int expect_type(struct ctx *c, const yaml_node_t *n, const char *path, yaml_node_type_t type)
{
	if (n->type == type)
		return 0;
	const char *want = type == YAML_SEQUENCE_NODE ? "a list" : "a mapping";
	if (is_null(n))
		problem(c, line_of(n), path, "expected %s, found no value", want);
	else
		problem(c, line_of(n), path, "expected %s, found %s", want, node_kind(n));
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
		problem(c, line_of(n), path, "must list at least one %s", f->what);
		return;
	}
	unsigned mask = 0;
	int bad = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		char *p = path_index(path, i);
		const char *v = scalar_text(c, item, p, "a string");
		const struct name_val *nv = v ? find_name(f->names, v) : NULL;
		if (v && !nv)
			unknown_name(c, item, p, f, v);
		if (nv && (mask & (unsigned)nv->val)) {
			char *fmt = xasprintf("duplicate %s %%s", f->what);
			problem_q(c, line_of(item), p, fmt, v, NULL);
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
	char **v = xcalloc(count + 1, sizeof *v);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		char *p = path_index(path, i);
		const char *t = scalar_text(c, item, p, "a string");
		if (t && check_str(c, f, item, p, t) == 0)
			v[k++] = xstrdup(t);
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
	char *arr = xcalloc(count, f->elem_size);
	/* Stored before filling so that scenario_free sees every element. */
	store_ptr(dst, arr);
	*(size_t *)at(base, f->count_off) = count;
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *item = node_at(c, it[i]);
		void *elem = arr + i * f->elem_size;
		char *p = path_index(path, i);
		if (f->line_off)
			*(int *)at(elem, f->line_off) = line_of(item);
		walk_map(c, item, p, f->sub, elem);
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
		problem(c, line_of(n), path, "must name at least one %s", f->what);
		return;
	}
	int *skip = xcalloc(count, sizeof *skip);
	check_pairs(c, n, path, skip);
	char *arr = xcalloc(count, f->elem_size);
	store_ptr(dst, arr);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const yaml_node_t *vn = node_at(c, pr[i].value);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = path_key(path, key);
		if (!f->check || f->check(c, kn, p, key) == 0) {
			void *elem = arr + k++ * f->elem_size;
			store_ptr(at(elem, f->key_off), xstrdup(key));
			walk_map(c, vn, p, f->sub, elem);
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
	int *skip = xcalloc(count, sizeof *skip);
	check_pairs(c, n, path, skip);
	struct sc_param *arr = xcalloc(count, sizeof *arr);
	store_ptr(dst, arr);
	size_t k = 0;
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = path_key(path, key);
		const char *v = NULL;
		if (!f->check || f->check(c, kn, p, key) == 0)
			v = scalar_text(c, node_at(c, pr[i].value), p, "a scalar value");
		if (v) {
			arr[k].key = xstrdup(key);
			arr[k].value = xstrdup(v);
			arr[k].line = line_of(kn);
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
		walk_map(c, n, path, f->sub, dst);
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
			store_ptr(dst, xstrdup(f->def_str));
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
		store_ptr(dst, strv_dup(f->def_list));
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
	struct key_ref *refs = xcalloc(count, sizeof *refs);
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
			skip[refs[j].index] = line_of(node_at(c, pr[refs[first].index].key));
	}
	free(refs);
	const char *where = path[0] ? path : "(document)";
	for (size_t i = 0; i < count; i++) {
		const yaml_node_t *kn = node_at(c, pr[i].key);
		if (skip[i] == PAIR_BAD_KEY && kn->type != YAML_SCALAR_NODE) {
			problem(c, line_of(kn), where, "key must be a scalar, found %s",
				node_kind(kn));
		} else if (skip[i] == PAIR_BAD_KEY) {
			problem(c, line_of(kn), where, "empty key or key with a NUL character");
		} else if (skip[i]) {
			char *p = path_key(path, (const char *)kn->data.scalar.value);
			problem(c, line_of(kn), p, "duplicate key (first at line %d)", skip[i]);
			free(p);
		}
	}
}

static void walk_map(struct ctx *c, const yaml_node_t *n, const char *path, const struct schema *sc,
		     void *base)
{
	int before = c->problems;
	if (expect_type(c, n, path[0] ? path : "(document)", YAML_MAPPING_NODE) < 0)
		return;
	const yaml_node_pair_t *pr = n->data.mapping.pairs.start;
	size_t count = (size_t)(n->data.mapping.pairs.top - pr);
	int *skip = xcalloc(count, sizeof *skip);
	char *present = xcalloc(sc->n, 1);
	check_pairs(c, n, path, skip);
	for (size_t i = 0; i < count; i++) {
		if (skip[i])
			continue;
		const yaml_node_t *kn = node_at(c, pr[i].key);
		const char *key = (const char *)kn->data.scalar.value;
		char *p = path_key(path, key);
		size_t fi = 0;
		while (fi < sc->n && strcmp(sc->fields[fi].key, key))
			fi++;
		if (fi == sc->n) {
			struct name_val *keys = xcalloc(sc->n + 1, sizeof *keys);
			for (size_t j = 0; j < sc->n; j++)
				keys[j].name = sc->fields[j].key;
			char *list = join_names(keys);
			problem(c, line_of(kn), p, "unknown key (expected %s)", list);
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
			char *p = path_key(path, f->key);
			problem(c, line_of(n), p, "required key is missing");
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
static const yaml_node_t *map_get(struct ctx *c, const yaml_node_t *n, const char *key)
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

/* ---------------------------------------------------------------------------
 * Checks on single values
 * ------------------------------------------------------------------------ */

static int check_name(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (!is_ident(v, "", "-", NAME_MAX_LEN)) {
		problem_q(c, line_of(n), path, "%s is not a valid name", v,
			  " ([a-z0-9][a-z0-9-]{0,47})");
		return -1;
	}
	if (strcmp(v, c->stem)) {
		char *q = escape(c->stem, QUOTE_MAX);
		char *tail = xasprintf(" (expected \"%s\")", q);
		problem_q(c, line_of(n), path, "%s does not match the file name", v, tail);
		free(tail);
		free(q);
		return -1;
	}
	return 0;
}

static int check_token(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (is_ident(v, "-", "-", 0))
		return 0;
	problem_q(c, line_of(n), path, "%s is not a valid token", v, " ([a-z0-9-]+)");
	return -1;
}

static int check_param_key(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (is_ident(v, "_-", "_-", 0))
		return 0;
	problem_q(c, line_of(n), path, "%s is not a valid parameter name", v, " ([a-z0-9_-]+)");
	return -1;
}

static int check_phase_key(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (phase_from_name(v) != PH_NONE)
		return 0;
	problem_q(c, line_of(n), path, "%s is not a phase", v, " (see docs/events.md)");
	return -1;
}

static int check_client(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (is_ident(v, "", "_-", 0))
		return 0;
	problem_q(c, line_of(n), path, "%s is not a valid client name", v,
		  " ([a-z0-9][a-z0-9_-]*)");
	return -1;
}

static int check_ip(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	unsigned char buf[sizeof(struct in6_addr)];
	if (inet_pton(AF_INET, v, buf) == 1 || inet_pton(AF_INET6, v, buf) == 1)
		return 0;
	problem_q(c, line_of(n), path, "%s is not an IPv4 or IPv6 address", v, NULL);
	return -1;
}

static int check_dns(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (!isalnum(ch) && ch != '-' && ch != '.' && ch != '*' && ch != '_') {
			problem_q(c, line_of(n), path, "%s is not a DNS name", v,
				  " (letters, digits, '-', '_', '.', '*')");
			return -1;
		}
	}
	return 0;
}

static int check_key_bits(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	if (atol(v) % 8 == 0)
		return 0;
	problem(c, line_of(n), path, "%s is not a multiple of 8", v);
	return -1;
}

static int check_hex(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	int ok = v[0] == '0' && v[1] == 'x' && v[2];
	for (const char *p = v + 2; ok && *p; p++)
		ok = isxdigit((unsigned char)*p);
	if (ok)
		return 0;
	problem_q(c, line_of(n), path, "%s is not a hex code like 0x904", v, NULL);
	return -1;
}

static int check_account_text(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	/* ':' separates the fields of the SAM file NLA reads (server/sam.h). */
	if (!strchr(v, ':') && !has_ctrl(v, 0))
		return 0;
	problem(c, line_of(n), path, "must not contain ':' or control characters");
	return -1;
}

/* ---------------------------------------------------------------------------
 * The tables
 * ------------------------------------------------------------------------ */

static const struct name_val protocol_names[] = {
    {"rdp", SC_PROTO_RDP},
    {"tls", SC_PROTO_TLS},
    {"nla", SC_PROTO_NLA},
    {NULL, 0},
};

/* Values are MS-RDPBCGR's ENCRYPTION_LEVEL_* (2.2.1.4.3). */
static const struct name_val enclevel_names[] = {
    {"none", SC_ENC_NONE},			     /* ENCRYPTION_LEVEL_NONE */
    {"low", SC_ENC_LOW},			     /* ENCRYPTION_LEVEL_LOW */
    {"client-compatible", SC_ENC_CLIENT_COMPATIBLE}, /* ENCRYPTION_LEVEL_CLIENT_COMPATIBLE */
    {"high", SC_ENC_HIGH},			     /* ENCRYPTION_LEVEL_HIGH */
    {"fips", SC_ENC_FIPS},			     /* ENCRYPTION_LEVEL_FIPS */
    {NULL, 0},
};

static const struct name_val tls_names[] = {
    {"1.0", 0x0301}, {"1.1", 0x0302}, {"1.2", 0x0303}, {"1.3", 0x0304}, {NULL, 0},
};

static const struct name_val digest_names[] = {
    {"sha1", 0}, {"sha256", 0}, {"sha384", 0}, {"sha512", 0}, {NULL, 0},
};

static const struct name_val key_names[] = {
    {"matching", 0},
    {"mismatched", 1},
    {NULL, 0},
};

static const struct name_val result_names[] = {
    {"connected", 0},
    {"failed", 0},
    {"retries-forever", 0},
    {"hangs", 0},
    {NULL, 0},
};

static const char *tls_version_name(long v)
{
	for (const struct name_val *p = tls_names; p->name; p++)
		if (p->val == v)
			return p->name;
	return "?";
}

static void finish_security(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
			    int clean)
{
	const struct scenario *s = base;
	if (!clean || s->tls_max >= s->tls_min)
		return;
	const yaml_node_t *n = map_get(c, map, "tls_max");
	char *p = path_key(path, "tls_max");
	problem(c, n ? line_of(n) : line_of(map), p, "%s is below tls_min %s",
		tls_version_name(s->tls_max), tls_version_name(s->tls_min));
	free(p);
}

static void finish_cert(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
			int clean)
{
	const struct sc_cert *cert = base;
	if (!clean || cert->not_after_offset > cert->not_before_offset)
		return;
	const yaml_node_t *n = map_get(c, map, "not_after");
	char *p = path_key(path, "not_after");
	problem(c, n ? line_of(n) : line_of(map), p, "must be later than not_before");
	free(p);
}

static const struct name_val policy_names[] = {
    {"syn-drop", SC_POLICY_SYN_DROP},
    {"accept-close", SC_POLICY_ACCEPT_CLOSE},
    {"accept-reset", SC_POLICY_ACCEPT_RESET},
    {"hold", SC_POLICY_HOLD},
    {NULL, 0},
};

static void finish_admission(struct ctx *c, const yaml_node_t *map, const char *path,
			     void *base, int clean)
{
	const struct sc_admission *a = base;
	const char *key = NULL, *why = NULL;
	if (!clean)
		return;
	if (a->prefill > 0 && a->max_outstanding < 0)
		key = "prefill", why = "needs max_outstanding (the slots it fills)";
	else if (a->max_outstanding >= 0 && a->prefill > a->max_outstanding)
		key = "prefill", why = "is above max_outstanding";
	else if (map_get(c, map, "policy") && a->max_outstanding < 0)
		key = "policy", why = "needs max_outstanding (the limit it applies past)";
	else if (map_get(c, map, "backlog") && a->policy != SC_POLICY_SYN_DROP)
		key = "backlog", why = "applies to policy syn-drop only";
	else if (map_get(c, map, "session_limit_code") && a->max_sessions < 0)
		key = "session_limit_code", why = "needs max_sessions";
	if (!key)
		return;
	const yaml_node_t *n = map_get(c, map, key);
	char *p = path_key(path, key);
	problem(c, n ? line_of(n) : line_of(map), p, "%s", why);
	free(p);
}

static const struct name_val mt_protocol_names[] = {
    {"reliable", 0x0001}, /* TRANSPORTTYPE_UDPFECR */
    {"lossy", 0x0004},    /* TRANSPORTTYPE_UDPFECL */
    {NULL, 0},
};

static const struct name_val udp_mode_names[] = {
    {"drop", SC_UDP_DROP},
    {"unreachable", SC_UDP_UNREACHABLE},
    {"answer-garbage", SC_UDP_ANSWER_GARBAGE},
    {NULL, 0},
};

static const struct name_val fallback_names[] = {
    {"proceed", SC_FALLBACK_PROCEED},
    {"stall", SC_FALLBACK_STALL},
    {"reset", SC_FALLBACK_RESET},
    {"deny", SC_FALLBACK_DENY},
    {NULL, 0},
};

static void finish_multitransport(struct ctx *c, const yaml_node_t *map, const char *path,
				  void *base, int clean)
{
	struct sc_multitransport *m = base;
	m->on = 1;
	if (!clean || !map_get(c, map, "deny_code") || m->fallback == SC_FALLBACK_DENY)
		return;
	char *p = path_key(path, "deny_code");
	problem(c, line_of(map_get(c, map, "deny_code")), p, "applies to fallback deny only");
	free(p);
}

static int check_errinfo(struct ctx *c, const yaml_node_t *n, const char *path, const char *v)
{
	char *end;
	errno = 0;
	unsigned long x = strtoul(v, &end, 0);
	if (!errno && end != v && !*end && *v != '-' && x > 0 && x <= 0xFFFFFFFFul)
		return 0;
	problem_q(c, line_of(n), path, "%s is not an ERRINFO code", v, " (a number such as 0x7)");
	return -1;
}

static void finish_root(struct ctx *c, const yaml_node_t *map, const char *path, void *base,
			int clean)
{
	(void)path;
	(void)clean;
	const struct scenario *s = base;
	if ((s->protocols & SC_PROTO_NLA) && !map_get(c, map, "account"))
		problem(c, line_of(map), "account",
			"required when security.protocols includes nla");
	/* The bootstrapping PDUs travel inside TLS (as RDP-UDP's own security
	 * needs the server's TLS certificate). */
	const yaml_node_t *mt = map_get(c, map, "multitransport");
	if (mt && (s->protocols & SC_PROTO_RDP))
		problem(c, line_of(mt), "multitransport",
			"needs security.protocols without rdp (the bootstrapping travels inside TLS)");
}

#define SEC(m) offsetof(struct scenario, m)
static const struct field security_fields[] = {
    {.key = "protocols",
     .kind = K_FLAGS,
     .off = SEC(protocols),
     .flags = F_REQUIRED,
     .what = "protocol",
     .names = protocol_names,
     .def_num = SC_PROTO_TLS},
    {.key = "encryption_level",
     .kind = K_ENUM,
     .off = SEC(encryption_level),
     .what = "encryption level",
     .names = enclevel_names,
     .width = W_ENCLEVEL,
     .def_num = SC_ENC_CLIENT_COMPATIBLE},
    {.key = "tls_min",
     .kind = K_ENUM,
     .off = SEC(tls_min),
     .what = "TLS version",
     .names = tls_names,
     .width = W_U16,
     .def_num = 0x0303},
    {.key = "tls_max",
     .kind = K_ENUM,
     .off = SEC(tls_max),
     .what = "TLS version",
     .names = tls_names,
     .width = W_U16,
     .def_num = 0x0304},
    {.key = "tls_security_level",
     .kind = K_INT,
     .off = SEC(tls_sec_level),
     .min = 0,
     .max = 5,
     .def_num = 1},
    {.key = "tls_ciphers", .kind = K_STR, .off = SEC(tls_ciphers), .flags = F_NONEMPTY | F_ONELINE},
};
static const struct schema security_schema = {
    security_fields, sizeof security_fields / sizeof *security_fields, finish_security};

static const char *const default_san_dns[] = {"localhost", NULL};
static const char *const default_san_ip[] = {"127.0.0.1", "::1", NULL};

#define CERT(m) offsetof(struct sc_cert, m)
static const struct field cert_fields[] = {
    {.key = "subject_cn",
     .kind = K_STR,
     .off = CERT(subject_cn),
     .flags = F_NONEMPTY | F_ONELINE,
     .def_str = "localhost"},
    {.key = "san_dns",
     .kind = K_STRLIST,
     .off = CERT(san_dns),
     .flags = F_NONEMPTY,
     .check = check_dns,
     .def_list = default_san_dns},
    {.key = "san_ip",
     .kind = K_STRLIST,
     .off = CERT(san_ip),
     .check = check_ip,
     .def_list = default_san_ip},
    {.key = "key_bits",
     .kind = K_INT,
     .off = CERT(key_bits),
     .min = 1024,
     .max = 8192,
     .check = check_key_bits,
     .def_num = 2048},
    {.key = "digest",
     .kind = K_STR,
     .off = CERT(digest),
     .what = "digest",
     .names = digest_names,
     .def_str = "sha256"},
    {.key = "not_before", .kind = K_DURATION, .off = CERT(not_before_offset), .def_num = -86400},
    {.key = "not_after",
     .kind = K_DURATION,
     .off = CERT(not_after_offset),
     .def_num = 365L * 86400},
    {.key = "key",
     .kind = K_ENUM,
     .off = CERT(key_mismatch),
     .what = "key",
     .names = key_names,
     .width = W_INT,
     .def_num = 0},
};
static const struct schema cert_schema = {cert_fields, sizeof cert_fields / sizeof *cert_fields,
					  finish_cert};

#define ACC(m) offsetof(struct sc_account, m)
static const struct field account_fields[] = {
    {.key = "user",
     .kind = K_STR,
     .off = ACC(user),
     .flags = F_REQUIRED | F_NONEMPTY,
     .check = check_account_text},
    {.key = "domain",
     .kind = K_STR,
     .off = ACC(domain),
     .check = check_account_text,
     .def_str = ""},
    {.key = "password",
     .kind = K_STR,
     .off = ACC(password),
     .flags = F_REQUIRED | F_NONEMPTY | F_ONELINE},
};
static const struct schema account_schema = {account_fields,
					     sizeof account_fields / sizeof *account_fields, NULL};

#define FAULT(m) offsetof(struct sc_fault, m)
static const struct field fault_fields[] = {
    {.key = "action",
     .kind = K_STR,
     .off = FAULT(action),
     .flags = F_REQUIRED,
     .check = check_token},
    {.key = "at", .kind = K_STR, .off = FAULT(at), .check = check_token},
    {.key = "params",
     .kind = K_PARAMS,
     .off = FAULT(params),
     .check = check_param_key,
     .count_off = FAULT(n_params)},
};
static const struct schema fault_schema = {fault_fields, sizeof fault_fields / sizeof *fault_fields,
					   NULL};

#define EXP(m) offsetof(struct sc_expect, m)
static const struct field expect_fields[] = {
    {.key = "result",
     .kind = K_STR,
     .off = EXP(result),
     .flags = F_REQUIRED,
     .what = "result",
     .names = result_names},
    {.key = "exit", .kind = K_INT, .off = EXP(exit_code), .min = 0, .max = 255, .def_num = -1},
    {.key = "log", .kind = K_STR, .off = EXP(log), .flags = F_NONEMPTY | F_ONELINE},
    {.key = "code", .kind = K_STR, .off = EXP(code), .check = check_hex},
    {.key = "extended", .kind = K_STR, .off = EXP(extended), .check = check_hex},
    {.key = "message", .kind = K_STR, .off = EXP(message), .flags = F_TEXT},
    {.key = "note", .kind = K_STR, .off = EXP(note), .flags = F_TEXT},
    {.key = "args", .kind = K_STR, .off = EXP(args), .flags = F_NONEMPTY | F_ONELINE},
    {.key = "exit_by_phase",
     .kind = K_PARAMS,
     .off = EXP(exit_by_phase),
     .check = check_phase_key,
     .count_off = EXP(n_exit_by_phase)},
    {.key = "result_by_phase",
     .kind = K_PARAMS,
     .off = EXP(result_by_phase),
     .check = check_phase_key,
     .count_off = EXP(n_result_by_phase)},
    {.key = "log_by_phase",
     .kind = K_PARAMS,
     .off = EXP(log_by_phase),
     .check = check_phase_key,
     .count_off = EXP(n_log_by_phase)},
};
static const struct schema expect_schema = {expect_fields,
					    sizeof expect_fields / sizeof *expect_fields, NULL};

#define ADM(m) offsetof(struct sc_admission, m)
static const struct field admission_fields[] = {
    {.key = "max_outstanding", .kind = K_INT, .off = ADM(max_outstanding), .min = 0,
     .max = 1000000, .def_num = -1},
    {.key = "policy",
     .kind = K_ENUM,
     .off = ADM(policy),
     .what = "admission policy",
     .names = policy_names,
     .width = W_INT,
     .def_num = SC_POLICY_ACCEPT_CLOSE},
    {.key = "prefill", .kind = K_INT, .off = ADM(prefill), .min = 0, .max = 1000000},
    {.key = "backlog", .kind = K_INT, .off = ADM(backlog), .min = 0, .max = 65535,
     .def_num = -1},
    {.key = "prelogon_timeout_ms", .kind = K_INT, .off = ADM(prelogon_timeout_ms), .min = 100,
     .max = 86400000, .def_num = -1},
    {.key = "max_sessions", .kind = K_INT, .off = ADM(max_sessions), .min = 0, .max = 1000000,
     .def_num = -1},
    {.key = "session_limit_code",
     .kind = K_STR,
     .off = ADM(session_limit_code),
     .check = check_errinfo},
};
static const struct schema admission_schema = {
    admission_fields, sizeof admission_fields / sizeof *admission_fields, finish_admission};

#define MT(m) offsetof(struct sc_multitransport, m)
static const struct field multitransport_fields[] = {
    {.key = "protocols",
     .kind = K_FLAGS,
     .off = MT(protocols),
     .flags = F_NONEMPTY,
     .what = "multitransport protocol",
     .names = mt_protocol_names,
     .def_num = 0x0001},
    {.key = "udp",
     .kind = K_ENUM,
     .off = MT(udp),
     .what = "udp side",
     .names = udp_mode_names,
     .width = W_INT,
     .def_num = SC_UDP_DROP},
    {.key = "response_timeout_ms", .kind = K_INT, .off = MT(response_timeout_ms), .min = 0,
     .max = 600000, .def_num = 5000},
    {.key = "fallback",
     .kind = K_ENUM,
     .off = MT(fallback),
     .what = "fallback",
     .names = fallback_names,
     .width = W_INT,
     .def_num = SC_FALLBACK_PROCEED},
    {.key = "fallback_after_ms", .kind = K_INT, .off = MT(fallback_after_ms), .min = 0,
     .max = 600000},
    {.key = "deny_code", .kind = K_STR, .off = MT(deny_code), .check = check_errinfo},
};
static const struct schema multitransport_schema = {
    multitransport_fields, sizeof multitransport_fields / sizeof *multitransport_fields,
    finish_multitransport};

static const struct field root_fields[] = {
    {.key = "name", .kind = K_STR, .off = SEC(name), .flags = F_REQUIRED, .check = check_name},
    {.key = "port_offset",
     .kind = K_INT,
     .off = SEC(port_offset),
     .flags = F_REQUIRED,
     .min = 0,
     .max = 999},
    {.key = "summary",
     .kind = K_STR,
     .off = SEC(summary),
     .flags = F_REQUIRED | F_NONEMPTY | F_ONELINE,
     .max = SUMMARY_MAX},
    {.key = "reproduces",
     .kind = K_STR,
     .off = SEC(reproduces),
     .flags = F_REQUIRED | F_NONEMPTY | F_TEXT},
    {.key = "field_report",
     .kind = K_STR,
     .off = SEC(field_report),
     .flags = F_REQUIRED | F_NONEMPTY | F_TEXT},
    {.key = "tags", .kind = K_STRLIST, .off = SEC(tags), .check = check_token},
    {.key = "each_phase", .kind = K_STRLIST, .off = SEC(each_phase), .flags = F_NONEMPTY,
     .check = check_token},
    {.key = "security", .kind = K_MAP, .off = 0, .sub = &security_schema},
    {.key = "certificate", .kind = K_MAP, .off = SEC(cert), .sub = &cert_schema},
    {.key = "admission", .kind = K_MAP, .off = SEC(admission), .sub = &admission_schema},
    {.key = "multitransport",
     .kind = K_MAP,
     .off = SEC(multitransport),
     .sub = &multitransport_schema},
    {.key = "account",
     .kind = K_MAP,
     .off = SEC(account),
     .flags = F_NODEFAULTS,
     .sub = &account_schema},
    {.key = "faults",
     .kind = K_MAPLIST,
     .off = SEC(faults),
     .sub = &fault_schema,
     .elem_size = sizeof(struct sc_fault),
     .count_off = SEC(n_faults),
     .line_off = FAULT(line)},
    {.key = "expect",
     .kind = K_MAPDICT,
     .off = SEC(expect),
     .flags = F_REQUIRED | F_NONEMPTY,
     .what = "client",
     .check = check_client,
     .sub = &expect_schema,
     .elem_size = sizeof(struct sc_expect),
     .count_off = SEC(n_expect),
     .key_off = EXP(client)},
};
static const struct schema root_schema = {root_fields, sizeof root_fields / sizeof *root_fields,
					  finish_root};

/* ---------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

/* Whole file into memory (NUL-terminated), or NULL after reporting. */
static char *read_file(struct ctx *c, size_t *len)
{
	char *buf = NULL;
	int fd = open(c->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		problem(c, 0, "(file)", "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		problem(c, 0, "(file)", "not a regular file");
		goto out;
	}
	if (st.st_size > SCENARIO_FILE_MAX) {
		problem(c, 0, "(file)", "too large (%lld bytes; at most %d)", (long long)st.st_size,
			SCENARIO_FILE_MAX);
		goto out;
	}
	/* Reads what fstat promised; a file that grows meanwhile is cut there. */
	size_t size = (size_t)st.st_size;
	buf = xmalloc(size + 1);
	size_t n = 0;
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			problem(c, 0, "(file)", "cannot read: %s", strerror(errno));
			free(buf);
			buf = NULL;
			goto out;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	buf[n] = '\0';
	*len = n;
out:
	if (fd >= 0)
		close(fd);
	return buf;
}

static void yaml_problem(struct ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
	if (p->error == YAML_MEMORY_ERROR)
		oom();
	int line;
	if (p->error == YAML_READER_ERROR) {
		/* The reader has no line numbers: count them up to the bad byte. */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += text[i] == '\n';
		problem(c, line, "(yaml)", "%s at byte %zu", p->problem ? p->problem : "read error",
			p->problem_offset);
		return;
	}
	line = (int)p->problem_mark.line + 1;
	if (p->context)
		problem(c, line, "(yaml)", "%s (%s at line %d)", p->problem ? p->problem : "error",
			p->context, (int)p->context_mark.line + 1);
	else
		problem(c, line, "(yaml)", "%s", p->problem ? p->problem : "error");
}

static char *file_stem(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t len = strlen(b);
	if (len >= 5 && !strcmp(b + len - 5, ".yaml"))
		len -= 5;
	char *stem = strndup(b, len);
	if (!stem)
		oom();
	return stem;
}

int sc_override_parse(const char *text, struct sc_override *o)
{
	char *copy = strdup(text);
	if (!copy)
		oom();
	char *eq = strchr(copy, '=');
	char *dot = strchr(copy, '.');
	if (!eq || !dot || dot > eq || dot == copy || dot + 1 == eq) {
		free(copy);
		return -1;
	}
	*eq = '\0';
	*dot = '\0';
	o->scenario = copy;
	o->path = dot + 1;
	o->value = eq + 1;
	o->used = 0;
	return 0;
}

/* One step of an override's path: a key, or a key then "[index]". */
static int path_step(const char **p, char *key, size_t keyn, long *index)
{
	size_t n = strcspn(*p, ".[");
	if (n == 0 || n >= keyn)
		return -1;
	memcpy(key, *p, n);
	key[n] = '\0';
	*p += n;
	*index = -1;
	if (**p == '[') {
		char *end;
		*index = strtol(*p + 1, &end, 10);
		if (end == *p + 1 || *end != ']' || *index < 0)
			return -1;
		*p = end + 1;
	}
	if (**p == '.')
		(*p)++;
	else if (**p)
		return -1;
	return 0;
}

static int add_scalar(yaml_document_t *doc, const char *v, yaml_mark_t mark)
{
	int id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)v, (int)strlen(v),
					  YAML_PLAIN_SCALAR_STYLE);
	if (!id)
		oom();
	/* Errors about it point at what it replaced (or its mapping). */
	yaml_document_get_node(doc, id)->start_mark = mark;
	return id;
}

/* Applies one override to the document: walks (and where needed adds)
 * mappings along the path, then sets the last key's value. */
static void apply_override(struct ctx *c, yaml_document_t *doc, const struct sc_override *o)
{
	int cur = 1; /* the root node */
	const char *p = o->path;
	char key[128];
	long index;
	while (*p) {
		if (path_step(&p, key, sizeof(key), &index) != 0) {
			problem(c, 0, o->path, "--set %s.%s: not a field path (e.g. security.tls_min, "
				   "faults[0].params.code)", o->scenario, o->path);
			return;
		}
		yaml_node_t *map = yaml_document_get_node(doc, cur);
		if (map->type != YAML_MAPPING_NODE) {
			problem(c, line_of(map), o->path, "--set: %s is not inside a mapping", key);
			return;
		}
		yaml_node_pair_t *pair = NULL;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
		     q < map->data.mapping.pairs.top; q++) {
			yaml_node_t *kn = yaml_document_get_node(doc, q->key);
			if (kn->type == YAML_SCALAR_NODE && !strcmp((char *)kn->data.scalar.value, key))
				pair = q;
		}
		int last = *p == '\0' && index < 0;
		if (!pair) {
			if (index >= 0) {
				problem(c, line_of(map), o->path, "--set: %s has no list to index", key);
				return;
			}
			/* Adding nodes may move every node: `map` is not used after. */
			yaml_mark_t mark = map->start_mark;
			int k = add_scalar(doc, key, mark);
			int v = last ? add_scalar(doc, o->value, mark)
				     : yaml_document_add_mapping(doc, NULL, YAML_BLOCK_MAPPING_STYLE);
			if (!v || !yaml_document_append_mapping_pair(doc, cur, k, v))
				oom();
			if (!last)
				yaml_document_get_node(doc, v)->start_mark = mark;
			cur = v;
			continue;
		}
		if (last) {
			pair->value = add_scalar(doc, o->value,
						 yaml_document_get_node(doc, pair->value)->start_mark);
			return;
		}
		cur = pair->value;
		if (index >= 0) {
			yaml_node_t *seq = yaml_document_get_node(doc, cur);
			if (seq->type != YAML_SEQUENCE_NODE ||
			    index >= seq->data.sequence.items.top - seq->data.sequence.items.start) {
				problem(c, line_of(seq), o->path, "--set: %s has no item %ld", key, index);
				return;
			}
			cur = seq->data.sequence.items.start[index];
			if (*p == '\0') {
				problem(c, line_of(seq), o->path, "--set: a whole list item cannot be set");
				return;
			}
		}
	}
}

/* scenario_load_file, also saying where port_offset was written (for the
 * catalog's cross-file message), with the overrides for it applied. */
static int load_file_with(const char *path, struct scenario **out, FILE *err, int *port_line,
			  struct sc_override *ov, size_t n_ov, const char *as_name)
{
	struct ctx c = {.err = err, .file = path};
	*out = NULL;
	size_t len = 0;
	char *text = read_file(&c, &len);
	if (!text)
		return c.problems;
	c.stem = as_name ? xstrdup(as_name) : file_stem(path);

	yaml_parser_t parser;
	yaml_document_t doc, extra;
	if (!yaml_parser_initialize(&parser))
		oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	struct scenario *s = NULL;
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_problem(&c, &parser, text, len);
		goto done_parser;
	}
	c.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		problem(&c, 1, "(document)", "empty file (expected a scenario mapping)");
		goto done_doc;
	}
	/* A second document is an error, and so is a syntax error after the first. */
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_problem(&c, &parser, text, len);
	} else {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);
		if (r2)
			problem(&c, line_of(r2), "(document)",
				"more than one YAML document (one scenario per file)");
		yaml_document_delete(&extra);
	}
	if (root->type != YAML_MAPPING_NODE) {
		problem(&c, line_of(root), "(document)", "expected a mapping, found %s",
			is_null(root) ? "no value" : node_kind(root));
		goto done_doc;
	}

	for (size_t i = 0; i < n_ov; i++)
		if (!strcmp(ov[i].scenario, c.stem)) {
			ov[i].used = 1;
			apply_override(&c, &doc, &ov[i]);
		}
	/* Adding nodes may have moved the node table: look the root up again. */
	root = yaml_document_get_root_node(&doc);

	s = xcalloc(1, sizeof *s);
	s->file = xstrdup(path);
	walk_map(&c, root, "", &root_schema, s);
	if (port_line) {
		const yaml_node_t *pn = map_get(&c, root, "port_offset");
		*port_line = pn ? line_of(pn) : line_of(root);
	}
done_doc:
	yaml_document_delete(&doc);
done_parser:
	yaml_parser_delete(&parser);
	free(text);
	free(c.stem);
	if (c.problems) {
		scenario_free(s);
		return c.problems;
	}
	*out = s;
	return 0;
}

static int load_file(const char *path, struct scenario **out, FILE *err, int *port_line)
{
	return load_file_with(path, out, err, port_line, NULL, 0, NULL);
}

int scenario_load_file(const char *path, struct scenario **out, FILE *err)
{
	return load_file(path, out, err, NULL);
}

/* ---------------------------------------------------------------------------
 * The catalog
 * ------------------------------------------------------------------------ */

static int strp_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int scenario_cmp(const void *a, const void *b)
{
	const struct scenario *x = *(struct scenario *const *)a, *y = *(struct scenario *const *)b;
	return strcmp(x->name, y->name);
}

static int has_yaml_suffix(const char *name)
{
	size_t len = strlen(name);
	return len >= 5 && !strcmp(name + len - 5, ".yaml");
}

/* Sorted names of the regular *.yaml files of `dir`; NULL after reporting. */
static char **list_yaml(const char *dir, size_t *n, FILE *err, int *problems)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (err)
			fprintf(err, "%s:0: (catalog): cannot open directory: %s\n", dir,
				strerror(errno));
		(*problems)++;
		return NULL;
	}
	size_t cap = 16, k = 0;
	char **names = xcalloc(cap, sizeof *names);
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!has_yaml_suffix(e->d_name))
			continue;
		struct stat st;
		/* stat follows symlinks: a link to a scenario file counts. */
		if (fstatat(dirfd(d), e->d_name, &st, 0) < 0 || !S_ISREG(st.st_mode))
			continue;
		if (k == cap) {
			char **bigger = realloc(names, 2 * cap * sizeof *names);
			if (!bigger)
				oom();
			names = bigger;
			cap *= 2;
		}
		names[k++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (!k) {
		if (err)
			fprintf(err, "%s:0: (catalog): no *.yaml scenario file in the directory\n",
				dir);
		(*problems)++;
		free(names);
		return NULL;
	}
	qsort(names, k, sizeof *names, strp_cmp);
	*n = k;
	return names;
}

struct loaded {
	struct scenario *s;
	int port_line;
};

struct loaded_list {
	struct loaded *v;
	size_t n, cap;
};

static void push(struct loaded_list *l, struct scenario *s, int port_line)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			oom();
	}
	l->v[l->n++] = (struct loaded){s, port_line};
}

/* A template (each_phase) becomes one scenario per phase: the file loaded
 * again with its name, port offset and every `at: each` set, so each one
 * is checked like a file of its own. */
static int expand(const char *path, const struct scenario *t, FILE *err, struct sc_override *ov,
		  size_t n_ov, struct loaded_list *out)
{
	int problems = 0;
	size_t n = 0;
	while (t->each_phase[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		const char *phase = t->each_phase[i];
		char *name = xasprintf("%s-%s", t->name, phase);
		char *port = xasprintf("%d", t->port_offset + (int)i);
		size_t nsets = 2 + t->n_faults + 3 * t->n_expect + n_ov;
		struct sc_override *sets = xcalloc(nsets, sizeof *sets);
		size_t npaths = t->n_faults + 3 * t->n_expect;
		char **paths = xcalloc(npaths, sizeof *paths);
		size_t k = 0;
		sets[k++] = (struct sc_override){name, "name", name, 0};
		sets[k++] = (struct sc_override){name, "port_offset", port, 0};
		for (size_t j = 0; j < t->n_faults; j++)
			if (t->faults[j].at && !strcmp(t->faults[j].at, "each")) {
				paths[j] = xasprintf("faults[%zu].at", j);
				sets[k++] = (struct sc_override){name, paths[j], phase, 0};
			}
		/* An expectation's result, exit and log line for this phase. */
		for (size_t j = 0; j < t->n_expect; j++) {
			const struct sc_expect *e = &t->expect[j];
			const struct {
				const struct sc_param *p;
				size_t n;
				const char *field;
			} per[3] = {{e->exit_by_phase, e->n_exit_by_phase, "exit"},
			            {e->result_by_phase, e->n_result_by_phase, "result"},
			            {e->log_by_phase, e->n_log_by_phase, "log"}};
			for (size_t f = 0; f < 3; f++)
				for (size_t q = 0; q < per[f].n; q++)
					if (!strcmp(per[f].p[q].key, phase)) {
						char **pp = &paths[t->n_faults + 3 * j + f];
						*pp = xasprintf("expect.%s.%s", e->client, per[f].field);
						sets[k++] = (struct sc_override){name, *pp, per[f].p[q].value, 0};
					}
		}
		/* The user's --set for this expansion apply too. */
		for (size_t j = 0; j < n_ov; j++)
			if (!strcmp(ov[j].scenario, name)) {
				sets[k++] = ov[j];
				ov[j].used = 1;
			}
		struct scenario *s = NULL;
		int port_line = 0;
		problems += load_file_with(path, &s, err, &port_line, sets, k, name);
		if (s) {
			/* An expansion is a scenario, not a template. */
			strv_free(s->each_phase);
			s->each_phase = xcalloc(1, sizeof *s->each_phase);
			s->template_name = xstrdup(t->name);
			push(out, s, port_line);
		}
		for (size_t j = 0; j < npaths; j++)
			free(paths[j]);
		free(paths);
		free(sets);
		free(name);
		free(port);
	}
	return problems;
}

static int loaded_port_cmp(const void *a, const void *b)
{
	const struct loaded *x = a, *y = b;
	if (x->s->port_offset != y->s->port_offset)
		return x->s->port_offset < y->s->port_offset ? -1 : 1;
	return strcmp(x->s->name, y->s->name);
}

int catalog_load_dir(const char *dir, struct catalog *out, FILE *err)
{
	return catalog_load_dir_with(dir, NULL, 0, out, err);
}

int catalog_load_dir_with(const char *dir, struct sc_override *ov, size_t n_ov,
			  struct catalog *out, FILE *err)
{
	out->items = NULL;
	out->n = 0;
	int problems = 0;
	size_t nfiles = 0;
	char **names = list_yaml(dir, &nfiles, err, &problems);
	if (!names)
		return problems;

	struct loaded_list list = {0};
	for (size_t i = 0; i < nfiles; i++) {
		const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
		char *path = xasprintf("%s%s%s", dir, sep, names[i]);
		struct scenario *s;
		int port_line = 0;
		problems += load_file_with(path, &s, err, &port_line, ov, n_ov, NULL);
		if (s && s->each_phase && s->each_phase[0]) {
			problems += expand(path, s, err, ov, n_ov, &list);
			scenario_free(s);
		} else if (s) {
			push(&list, s, port_line);
		}
		free(path);
		free(names[i]);
	}
	free(names);
	struct loaded *ld = list.v;
	size_t nld = list.n;

	for (size_t i = 0; i < n_ov; i++)
		if (!ov[i].used) {
			problems++;
			if (err)
				fprintf(err, "--set %s.%s: no scenario named %s in %s\n", ov[i].scenario,
					ov[i].path, ov[i].scenario, dir);
		}

	/* Names are unique already: each equals its file's name in one directory.
	 * Port offsets: sort by offset, report each repeat against the first. */
	if (nld > 1)
		qsort(ld, nld, sizeof *ld, loaded_port_cmp);
	for (size_t i = 1, first = 0; i < nld; i++) {
		if (ld[i].s->port_offset != ld[first].s->port_offset) {
			first = i;
			continue;
		}
		problems++;
		if (err)
			fprintf(err, "%s:%d: port_offset: %d is also used by %s:%d\n",
				ld[i].s->file, ld[i].port_line, ld[i].s->port_offset,
				ld[first].s->file, ld[first].port_line);
	}

	if (problems) {
		for (size_t i = 0; i < nld; i++)
			scenario_free(ld[i].s);
		free(ld);
		return problems;
	}
	out->items = xcalloc(nld, sizeof *out->items);
	for (size_t i = 0; i < nld; i++)
		out->items[i] = ld[i].s;
	free(ld);
	qsort(out->items, nld, sizeof *out->items, scenario_cmp);
	out->n = nld;
	return 0;
}

/* ---------------------------------------------------------------------------
 * Look-ups and freeing
 * ------------------------------------------------------------------------ */

const struct scenario *catalog_find(const struct catalog *c, const char *name)
{
	if (!c || !name)
		return NULL;
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, c->items[mid]->name);
		if (!r)
			return c->items[mid];
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct sc_expect *scenario_expect_for(const struct scenario *s, const char *client)
{
	if (!s || !client)
		return NULL;
	for (size_t i = 0; i < s->n_expect; i++)
		if (!strcmp(s->expect[i].client, client))
			return &s->expect[i];
	return NULL;
}

const char *sc_fault_param(const struct sc_fault *f, const char *key)
{
	if (!f || !key)
		return NULL;
	for (size_t i = 0; i < f->n_params; i++)
		if (!strcmp(f->params[i].key, key))
			return f->params[i].value;
	return NULL;
}

void scenario_free(struct scenario *s)
{
	if (!s)
		return;
	free(s->name);
	free(s->file);
	free(s->summary);
	free(s->reproduces);
	free(s->field_report);
	strv_free(s->tags);
	free(s->tls_ciphers);
	free(s->cert.subject_cn);
	strv_free(s->cert.san_dns);
	strv_free(s->cert.san_ip);
	free(s->cert.digest);
	free(s->account.user);
	free(s->account.domain);
	free(s->account.password);
	for (size_t i = 0; i < s->n_faults; i++) {
		struct sc_fault *f = &s->faults[i];
		free(f->action);
		free(f->at);
		for (size_t j = 0; j < f->n_params; j++) {
			free(f->params[j].key);
			free(f->params[j].value);
		}
		free(f->params);
	}
	free(s->faults);
	strv_free(s->each_phase);
	free(s->template_name);
	free(s->admission.session_limit_code);
	free(s->multitransport.deny_code);
	for (size_t i = 0; i < s->n_expect; i++) {
		struct sc_expect *e = &s->expect[i];
		free(e->client);
		free(e->result);
		free(e->log);
		free(e->code);
		free(e->extended);
		free(e->message);
		free(e->note);
		free(e->args);
		struct sc_param *lists[3] = {e->exit_by_phase, e->result_by_phase, e->log_by_phase};
		size_t counts[3] = {e->n_exit_by_phase, e->n_result_by_phase, e->n_log_by_phase};
		for (size_t l = 0; l < 3; l++) {
			for (size_t j = 0; j < counts[l]; j++) {
				free(lists[l][j].key);
				free(lists[l][j].value);
			}
			free(lists[l]);
		}
	}
	free(s->expect);
	free(s);
}

void catalog_free(struct catalog *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		scenario_free(c->items[i]);
	free(c->items);
	c->items = NULL;
	c->n = 0;
}

/* The names of the flags set in mask, comma-separated, in table order. */
static const char *flags_str(const struct name_val *names, unsigned mask, char *buf, size_t n)
{
	if (!buf || !n)
		return buf;
	buf[0] = '\0';
	size_t used = 0;
	for (const struct name_val *p = names; p->name; p++) {
		if (!(mask & (unsigned)p->val))
			continue;
		int r = snprintf(buf + used, n - used, "%s%s", used ? "," : "", p->name);
		if (r < 0 || (size_t)r >= n - used) {
			buf[used] = '\0'; /* too small: keep whole names only */
			break;
		}
		used += (size_t)r;
	}
	return buf;
}

static const char *name_of(const struct name_val *names, long v)
{
	for (const struct name_val *p = names; p->name; p++)
		if (p->val == v)
			return p->name;
	return "unknown";
}

const char *sc_protocols_str(unsigned mask, char *buf, size_t n)
{
	return flags_str(protocol_names, mask, buf, n);
}

const char *sc_mt_protocols_str(unsigned mask, char *buf, size_t n)
{
	return flags_str(mt_protocol_names, mask, buf, n);
}

const char *sc_udp_mode_str(int mode)
{
	return name_of(udp_mode_names, mode);
}

const char *sc_fallback_str(int fallback)
{
	return name_of(fallback_names, fallback);
}

const char *sc_encryption_level_str(enum sc_encryption_level l)
{
	return name_of(enclevel_names, (long)l);
}

const char *sc_policy_str(int policy)
{
	return name_of(policy_names, policy);
}
