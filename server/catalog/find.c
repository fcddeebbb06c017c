/* find.c — scenarios by the codes a client shows (see find.h). */
#include "catalog/find.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faults/errinfo.h"

/* A code as a number: "0x904", "2308", or an ERRINFO name. */
static int code_value(const char *text, uint32_t *out)
{
	char *end;
	if (!text || !*text)
		return -1;
	unsigned long v = strtoul(text, &end, 0);
	if (*end == '\0' && v <= UINT32_MAX) {
		*out = (uint32_t)v;
		return 0;
	}
	return errinfo_code(text, out);
}

int find_code_ok(const char *text)
{
	uint32_t v;
	return code_value(text, &v) == 0;
}

static int same(const char *a, const char *b)
{
	uint32_t x, y;
	return a && b && code_value(a, &x) == 0 && code_value(b, &y) == 0 && x == y;
}

static int score_expect(const struct sc_expect *e, const char *code, const char *ext)
{
	if (!same(e->code, code))
		return 0;
	if (!ext)
		return 3;
	if (!e->extended)
		return 2;
	return same(e->extended, ext) ? 4 : 1;
}

/* A deny fault's code (its Set Error Info) matches the extended code
 * mstsc shows with 0x904, or the code asked alone. */
static int score_faults(const struct scenario *s, const char *code, const char *ext)
{
	int best = 0;
	for (size_t i = 0; i < s->n_faults; i++) {
		const char *c = sc_fault_param(&s->faults[i], "code");
		if (strcmp(s->faults[i].action, "deny") != 0)
			continue;
		if (!c)
			c = "0x7"; /* deny's default: ERRINFO_SERVER_DENIED_CONNECTION */
		if ((ext && same(c, ext)) || (!ext && same(c, code)))
			best = 2;
	}
	return best;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct find_hit *x = a, *y = b;
	if (x->score != y->score)
		return y->score - x->score;
	return strcmp(x->s->name, y->s->name);
}

size_t find_by_code(const struct catalog *cat, const char *code, const char *extended,
                    const char *client, struct find_hit *hits, size_t max)
{
	struct find_hit *all = calloc(cat->n ? cat->n : 1, sizeof(*all));
	size_t n = 0;
	if (!all)
		return 0;
	for (size_t i = 0; i < cat->n; i++) {
		const struct scenario *s = cat->items[i];
		struct find_hit h = {.s = s};
		for (size_t k = 0; k < s->n_expect; k++) {
			const struct sc_expect *e = &s->expect[k];
			if (client && strcmp(e->client, client) != 0)
				continue;
			int sc = score_expect(e, code, extended);
			if (sc > h.score) {
				h.score = sc;
				h.e = e;
			}
		}
		if (!h.score && !client)
			h.score = score_faults(s, code, extended);
		if (h.score)
			all[n++] = h;
	}
	qsort(all, n, sizeof(*all), hit_cmp);
	memcpy(hits, all, (n < max ? n : max) * sizeof(*hits));
	free(all);
	return n;
}
