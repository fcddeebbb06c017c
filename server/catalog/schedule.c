/* schedule.c — schedules' counting and their check (see schedule.h). */
#include "catalog/schedule.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/scenario.h"

void sched_client_ip(const char *client, char *ip, size_t n)
{
	snprintf(ip, n, "%s", client);
	char *colon = strrchr(ip, ':'); /* "1.2.3.4:port", "[::1]:port" */
	if (colon)
		*colon = '\0';
	if (ip[0] == '[') {
		memmove(ip, ip + 1, strlen(ip));
		char *close = strchr(ip, ']');
		if (close)
			*close = '\0';
	}
}

size_t sched_next(const struct sched_step *steps, size_t n, struct sched_counts *counts,
                  const char *ip)
{
	struct sched_count *c = NULL;
	for (size_t i = 0; i < counts->n && !c; i++)
		if (!strcmp(counts->v[i].ip, ip))
			c = &counts->v[i];
	if (!c && counts->n < SCHED_CLIENTS_MAX) {
		struct sched_count *v = realloc(counts->v, (counts->n + 1) * sizeof(*v));
		if (v) {
			counts->v = v;
			c = &v[counts->n++];
			snprintf(c->ip, sizeof c->ip, "%.*s", (int)sizeof c->ip - 1, ip);
			c->n = 0;
		}
	}
	static struct sched_count shared; /* past the table (or out of memory): one count */
	if (!c)
		c = counts->n ? &counts->v[0] : &shared;
	long k = c->n++;
	for (size_t i = 0; i < n; i++) {
		if (steps[i].count < 0 || k < steps[i].count)
			return i;
		k -= steps[i].count;
	}
	return n - 1; /* every step counted out: the last one for good */
}

void sched_refund(struct sched_counts *counts, const char *ip)
{
	for (size_t i = 0; i < counts->n; i++)
		if (!strcmp(counts->v[i].ip, ip)) {
			if (counts->v[i].n > 0)
				counts->v[i].n--;
			return;
		}
}

void sched_counts_free(struct sched_counts *c)
{
	free(c->v);
	c->v = NULL;
	c->n = 0;
}

static int problem(const struct scenario *s, int line, FILE *err, int *set_problems,
                   const char *fmt, const char *a, size_t i)
{
	char where[PATH_MAX + 64];
	int by_set = sc_where(s, line, where, sizeof where);
	if (by_set && set_problems)
		(*set_problems)++;
	if (err) {
		fprintf(err, "%s: schedule[%zu].scenario: ", where, i);
		fprintf(err, fmt, a);
		fputc('\n', err);
	}
	return 1;
}

int catalog_check_schedules(const struct catalog *c, FILE *err, int *set_problems)
{
	int problems = 0;
	for (size_t k = 0; k < c->n; k++) {
		const struct scenario *s = c->items[k];
		for (size_t i = 0; i < s->n_schedule; i++) {
			const struct sc_sched_item *it = &s->schedule[i];
			const struct scenario *to = catalog_find(c, it->scenario);
			if (!to)
				problems += problem(s, it->line, err, set_problems,
				                    "no scenario named '%s' (see 'rdpfault list')",
				                    it->scenario, i);
			else if (to->n_schedule)
				problems += problem(
				        s, it->line, err, set_problems,
				        "'%s' is a schedule itself (a step serves one scenario)",
				        it->scenario, i);
		}
	}
	return problems;
}
