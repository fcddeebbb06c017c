/* catalog.c — a directory of scenario files: listed, loaded, templates
 * expanded into their instances, names and port offsets checked unique
 * across files, sorted for look-up by name. */
#include "catalog/loader.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "base/phase.h"

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
	char **names = ld_calloc(cap, sizeof *names);
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
				ld_oom();
			names = bigger;
			cap *= 2;
		}
		names[k++] = ld_strdup(e->d_name);
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
	struct ld_info lines;
};

struct loaded_list {
	struct loaded *v;
	size_t n, cap;
};

static void push(struct loaded_list *l, struct scenario *s, struct ld_info lines)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 16;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			ld_oom();
	}
	l->v[l->n++] = (struct loaded){s, lines};
}

/* A template (each_phase) becomes one scenario per phase: the file loaded
 * again with its name, port offset and every `at: each` set, so each one
 * is checked like a file of its own. */
static int expand(const char *path, const struct scenario *t, FILE *err, struct sc_override *ov,
                  size_t n_ov, struct loaded_list *out, int *set_problems)
{
	int problems = 0;
	size_t n = 0;
	while (t->each_phase[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		const char *phase = t->each_phase[i];
		char *name = ld_asprintf("%s-%s", t->name, phase);
		char *port = ld_asprintf("%d", t->port_offset + (int)i);
		size_t nsets = 3 + t->n_faults + 3 * t->n_expect + n_ov;
		struct sc_override *sets = ld_calloc(nsets, sizeof *sets);
		size_t npaths = t->n_faults + 3 * t->n_expect;
		char **paths = ld_calloc(npaths, sizeof *paths);
		size_t k = 0;
		sets[k++] = (struct sc_override){name, "name", name, 0, NULL};
		sets[k++] = (struct sc_override){name, "port_offset", port, 0, NULL};
		/* The template's alias is its instances' prefix: cls-final. */
		char *alias = t->alias ? ld_asprintf("%s-%s", t->alias,
		                                     phase_short(phase_from_name(phase)))
		                       : NULL;
		if (alias)
			sets[k++] = (struct sc_override){name, "alias", alias, 0, NULL};
		for (size_t j = 0; j < t->n_faults; j++)
			if (t->faults[j].at && !strcmp(t->faults[j].at, "each")) {
				paths[j] = ld_asprintf("faults[%zu].at", j);
				sets[k++] = (struct sc_override){name, paths[j], phase, 0, NULL};
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
						*pp = ld_asprintf("expect.%s.%s", e->client,
						                  per[f].field);
						sets[k++] = (struct sc_override){
						        name, *pp, per[f].p[q].value, 0, NULL};
					}
		}
		/* The user's --set for this expansion apply too. */
		for (size_t j = 0; j < n_ov; j++)
			if (!strcmp(ov[j].scenario, name)) {
				sets[k++] = ov[j];
				ov[j].used = 1;
			}
		struct scenario *s = NULL;
		struct ld_info lines = {0};
		problems += ld_load_file(path, &s, err, &lines, sets, k, name);
		*set_problems += lines.set_problems;
		if (s) {
			/* An expansion is a scenario, not a template. */
			sc_strv_free(s->each_phase);
			s->each_phase = ld_calloc(1, sizeof *s->each_phase);
			s->template_name = ld_strdup(t->name);
			push(out, s, lines);
		}
		for (size_t j = 0; j < npaths; j++)
			free(paths[j]);
		free(paths);
		free(sets);
		free(name);
		free(port);
		free(alias);
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

/* A cookie selects by name or alias (case-insensitive): no two may be
 * equal, across files and template instances. */
struct key {
	const char *text;
	const struct loaded *l;
	int is_alias;
};

static int key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;
	int r = strcasecmp(x->text, y->text);
	if (r)
		return r;
	return strcmp(x->l->s->file, y->l->s->file);
}

static int check_unique_names(const struct loaded *ld, size_t n, FILE *err)
{
	int problems = 0;
	struct key *keys = ld_calloc(2 * n, sizeof *keys);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		keys[k++] = (struct key){ld[i].s->name, &ld[i], 0};
		if (ld[i].s->alias)
			keys[k++] = (struct key){ld[i].s->alias, &ld[i], 1};
	}
	qsort(keys, k, sizeof *keys, key_cmp);
	for (size_t i = 1, first = 0; i < k; i++) {
		if (strcasecmp(keys[i].text, keys[first].text) != 0) {
			first = i;
			continue;
		}
		const struct key *a = &keys[i], *b = &keys[first];
		problems++;
		if (err)
			fprintf(err, "%s:%d: %s: \"%s\" is also the %s of %s (%s:%d)\n",
			        a->l->s->file, a->is_alias ? a->l->lines.alias : a->l->lines.name,
			        a->is_alias ? "alias" : "name", a->text,
			        b->is_alias ? "alias" : "name", b->l->s->name, b->l->s->file,
			        b->is_alias ? b->l->lines.alias : b->l->lines.name);
	}
	free(keys);
	return problems;
}

int catalog_load_dir(const char *dir, struct catalog *out, FILE *err)
{
	return catalog_load_dir_with(dir, NULL, 0, out, err);
}

int catalog_load_dir_with(const char *dir, struct sc_override *ov, size_t n_ov, struct catalog *out,
                          FILE *err)
{
	out->items = NULL;
	out->n = 0;
	out->set_problems = 0;
	int problems = 0;
	size_t nfiles = 0;
	char **names = list_yaml(dir, &nfiles, err, &problems);
	if (!names)
		return problems;

	struct loaded_list list = {0};
	for (size_t i = 0; i < nfiles; i++) {
		const char *sep = dir[0] && dir[strlen(dir) - 1] == '/' ? "" : "/";
		char *path = ld_asprintf("%s%s%s", dir, sep, names[i]);
		struct scenario *s;
		struct ld_info lines = {0};
		problems += ld_load_file(path, &s, err, &lines, ov, n_ov, NULL);
		out->set_problems += lines.set_problems;
		if (s && s->each_phase && s->each_phase[0]) {
			problems += expand(path, s, err, ov, n_ov, &list, &out->set_problems);
			scenario_free(s);
		} else if (s) {
			push(&list, s, lines);
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
			out->set_problems++;
			if (err)
				fprintf(err, "--set %s: no scenario named %s in %s\n",
				        ov[i].text ? ov[i].text : ov[i].path, ov[i].scenario, dir);
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
			        ld[i].s->file, ld[i].lines.port, ld[i].s->port_offset,
			        ld[first].s->file, ld[first].lines.port);
	}

	problems += check_unique_names(ld, nld, err);

	if (problems) {
		for (size_t i = 0; i < nld; i++)
			scenario_free(ld[i].s);
		free(ld);
		return problems;
	}
	out->items = ld_calloc(nld, sizeof *out->items);
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
