/* overrides.c — --set NAME.PATH=VALUE: parsed, then applied to the
 * scenario's YAML document before the walk, so an overridden value is
 * checked exactly as if the file said it. */
#include "catalog/loader.h"

#include <stdlib.h>
#include <string.h>

int sc_override_parse(const char *text, struct sc_override *o)
{
	char *copy = strdup(text);
	if (!copy)
		ld_oom();
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
		ld_oom();
	/* Errors about it point at what it replaced (or its mapping). */
	yaml_document_get_node(doc, id)->start_mark = mark;
	return id;
}

/* Applies one override to the document: walks (and where needed adds)
 * mappings along the path, then sets the last key's value. */
void ld_apply_override(struct ctx *c, yaml_document_t *doc, const struct sc_override *o)
{
	int cur = 1; /* the root node */
	const char *p = o->path;
	char key[128];
	long index;
	while (*p) {
		if (path_step(&p, key, sizeof(key), &index) != 0) {
			ld_problem(c, 0, o->path,
			           "--set %s.%s: not a field path (e.g. security.tls_min, "
			           "faults[0].params.code)",
			           o->scenario, o->path);
			return;
		}
		yaml_node_t *map = yaml_document_get_node(doc, cur);
		if (map->type != YAML_MAPPING_NODE) {
			ld_problem(c, ld_line(map), o->path, "--set: %s is not inside a mapping",
			           key);
			return;
		}
		yaml_node_pair_t *pair = NULL;
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start;
		     q < map->data.mapping.pairs.top; q++) {
			yaml_node_t *kn = yaml_document_get_node(doc, q->key);
			if (kn->type == YAML_SCALAR_NODE &&
			    !strcmp((char *)kn->data.scalar.value, key))
				pair = q;
		}
		int last = *p == '\0' && index < 0;
		if (!pair) {
			if (index >= 0) {
				ld_problem(c, ld_line(map), o->path,
				           "--set: %s has no list to index", key);
				return;
			}
			/* Adding nodes may move every node: `map` is not used after. */
			yaml_mark_t mark = map->start_mark;
			int k = add_scalar(doc, key, mark);
			int v = last ? add_scalar(doc, o->value, mark)
			             : yaml_document_add_mapping(doc, NULL,
			                                         YAML_BLOCK_MAPPING_STYLE);
			if (!v || !yaml_document_append_mapping_pair(doc, cur, k, v))
				ld_oom();
			if (!last)
				yaml_document_get_node(doc, v)->start_mark = mark;
			cur = v;
			continue;
		}
		if (last) {
			pair->value =
			        add_scalar(doc, o->value,
			                   yaml_document_get_node(doc, pair->value)->start_mark);
			return;
		}
		cur = pair->value;
		if (index >= 0) {
			yaml_node_t *seq = yaml_document_get_node(doc, cur);
			if (seq->type != YAML_SEQUENCE_NODE ||
			    index >=
			            seq->data.sequence.items.top - seq->data.sequence.items.start) {
				ld_problem(c, ld_line(seq), o->path, "--set: %s has no item %ld",
				           key, index);
				return;
			}
			cur = seq->data.sequence.items.start[index];
			if (*p == '\0') {
				ld_problem(c, ld_line(seq), o->path,
				           "--set: a whole list item cannot be set");
				return;
			}
		}
	}
}
