/* yamlread.c — reading untrusted YAML nodes: every problem as
 * "FILE:LINE: FIELD-PATH: message", counted, with the offending text quoted
 * and escaped; scalar text, numbers and durations checked before use. */
#include "catalog/loader.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/hexstr.h"

/* ---------------------------------------------------------------------------
 * Allocation helpers
 * ------------------------------------------------------------------------ */

void ld_oom(void)
{
	fputs("rdpfault: out of memory while loading scenarios\n", stderr);
	abort();
}

void *ld_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		ld_oom();
	return p;
}

void *ld_calloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		ld_oom();
	return p;
}

char *ld_strdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		ld_oom();
	return p;
}

char *ld_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *ld_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;
	va_start(ap, fmt);
	int r = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (r < 0)
		ld_oom();
	return p;
}

char **ld_strv_dup(const char *const *v)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = ld_calloc(n + 1, sizeof *out);
	for (size_t i = 0; i < n; i++)
		out[i] = ld_strdup(v[i]);
	return out;
}

/* Text of untrusted input made safe for a one-line message: control
 * characters, '"' and '\\' escaped as \xNN; long values cut (at a UTF-8
 * character boundary) and marked with "...". */
char *ld_escape(const char *s, size_t max)
{
	size_t len = strlen(s);
	size_t shown = len > max ? max : len;
	while (shown < len && shown > 0 && ((unsigned char)s[shown] & 0xc0) == 0x80)
		shown--;
	char *out = ld_malloc(shown * 4 + 4);
	char *o = out;
	for (size_t i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f || ch == '\\' || ch == '"') {
			*o++ = '\\';
			*o++ = 'x';
			hex_encode(&ch, 1, o);
			o += 2;
		} else {
			*o++ = (char)ch;
		}
	}
	if (shown < len)
		o += sprintf(o, "...");
	*o = '\0';
	return out;
}

/* ---------------------------------------------------------------------------
 * Problem reporting
 * ------------------------------------------------------------------------ */

void ld_problem(struct ctx *c, int line, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void ld_problem(struct ctx *c, int line, const char *path, const char *fmt, ...)
{
	c->problems++;
	const struct sc_override *o = NULL;
	if (line > LD_SET_LINE && c->ov) {
		o = &c->ov[line - 1 - LD_SET_LINE];
		c->set_problems++;
	}
	if (!c->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (o && o->text)
		fprintf(c->err, "--set %s: %s: ", o->text, path);
	else
		fprintf(c->err, "%s:%d: %s: ", c->file, o ? 0 : line, path);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	va_end(ap);
}

/* scenario.h: a later check's problem at a --set's line names the --set. */
int sc_where(const struct scenario *s, int line, char *buf, size_t n)
{
	if (line > LD_SET_LINE) {
		size_t i = (size_t)(line - 1 - LD_SET_LINE);
		if (i < s->n_set_texts && s->set_texts[i]) {
			snprintf(buf, n, "--set %s", s->set_texts[i]);
			return 1;
		}
		line = 0; /* the catalog's own (a template's instance): the file */
	}
	snprintf(buf, n, "%s:%d", s->file, line);
	return 0;
}

int ld_line(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

/* Problem with a quoted, escaped copy of the offending text:
 * fmt has one %s for it, e.g. "unknown protocol %s (expected ...)". */
void ld_problem_q(struct ctx *c, int line, const char *path, const char *fmt, const char *text,
                  const char *tail)
{
	char *q = ld_escape(text, QUOTE_MAX);
	char *msg = ld_asprintf("\"%s\"", q);
	char *full = ld_asprintf(fmt, msg);
	ld_problem(c, line, path, "%s%s", full, tail ? tail : "");
	free(full);
	free(msg);
	free(q);
}

char *ld_path_key(const char *parent, const char *key)
{
	char *k = ld_escape(key, QUOTE_MAX);
	char *p = *parent ? ld_asprintf("%s.%s", parent, k) : ld_asprintf("%s", k);
	free(k);
	return p;
}

char *ld_path_index(const char *parent, size_t i)
{
	return ld_asprintf("%s[%zu]", parent, i);
}

/* ---------------------------------------------------------------------------
 * Scalars
 * ------------------------------------------------------------------------ */

const char *ld_node_kind(const yaml_node_t *n)
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
int ld_is_null(const yaml_node_t *n)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return 0;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
	       !strcmp(v, "NULL");
}

/* The scalar's text, or NULL after reporting why there is none. */
const char *ld_scalar_text(struct ctx *c, const yaml_node_t *n, const char *path, const char *want)
{
	if (n->type != YAML_SCALAR_NODE) {
		ld_problem(c, ld_line(n), path, "expected %s, found %s", want, ld_node_kind(n));
		return NULL;
	}
	if (ld_is_null(n)) {
		ld_problem(c, ld_line(n), path, "expected %s, found no value", want);
		return NULL;
	}
	const char *v = (const char *)n->data.scalar.value;
	if (strlen(v) != n->data.scalar.length) {
		ld_problem(c, ld_line(n), path, "contains a NUL character");
		return NULL;
	}
	return v;
}

int ld_has_ctrl(const char *s, int allow_newline)
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

size_t ld_utf8_chars(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

/* s matches [first][rest]{0,max-1} where the classes are given as strings
 * of allowed punctuation on top of [a-z0-9]. max 0 means unbounded. */
int ld_is_ident(const char *s, const char *first_extra, const char *rest_extra, size_t max)
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
int ld_parse_long(const char *s, long *out)
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
int ld_parse_duration(const char *s, long *out)
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
	char *num = ld_strdup(s);
	num[len - 1] = '\0';
	long v = 0;
	int r = ld_parse_long(num, &v);
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
