/* overrides.c — --set NAME.PATH=VALUE: parsed, then applied to the
 * scenario's YAML document before the walk, so an overridden value is
 * checked exactly as if the file said it. */
#include "catalog/loader.h"

#include <stdarg.h>
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
	o->text = text;
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

void ld_set_problem(struct ctx *c, const struct sc_override *o, const char *fmt, ...)
{
	c->problems++;
	c->set_problems++;
	if (!c->err)
		return;
	va_list ap;
	va_start(ap, fmt);
	if (o->text)
		fprintf(c->err, "--set %s: ", o->text);
	else
		fprintf(c->err, "%s:0: %s: ", c->file, o->path);
	vfprintf(c->err, fmt, ap);
	fputc('\n', c->err);
	va_end(ap);
}

/* Copies node `id` of `src` (and all below it) into `dst`, every copy
 * marked `mark`. Returns the copy's id. */
static int copy_node(yaml_document_t *dst, yaml_document_t *src, int id, yaml_mark_t mark)
{
	yaml_node_t *n = yaml_document_get_node(src, id);
	int out = 0;
	switch (n->type) {
	case YAML_SCALAR_NODE:
		out = yaml_document_add_scalar(dst, NULL, n->data.scalar.value,
		                               (int)n->data.scalar.length, n->data.scalar.style);
		break;
	case YAML_SEQUENCE_NODE:
		out = yaml_document_add_sequence(dst, NULL, YAML_FLOW_SEQUENCE_STYLE);
		for (yaml_node_item_t *it = n->data.sequence.items.start;
		     out && it < n->data.sequence.items.top; it++) {
			int item = copy_node(dst, src, *it, mark);
			if (!yaml_document_append_sequence_item(dst, out, item))
				ld_oom();
		}
		break;
	case YAML_MAPPING_NODE:
		out = yaml_document_add_mapping(dst, NULL, YAML_FLOW_MAPPING_STYLE);
		for (yaml_node_pair_t *q = n->data.mapping.pairs.start;
		     out && q < n->data.mapping.pairs.top; q++) {
			int k = copy_node(dst, src, q->key, mark);
			int v = copy_node(dst, src, q->value, mark);
			if (!yaml_document_append_mapping_pair(dst, out, k, v))
				ld_oom();
		}
		break;
	default:
		break;
	}
	if (!out)
		ld_oom();
	yaml_document_get_node(dst, out)->start_mark = mark;
	return out;
}

/* The value of an override as a node of doc: plain text, or for "[...]"
 * and "{...}" the YAML flow collection it spells. 0 after a problem. */
static int add_value(struct ctx *c, yaml_document_t *doc, const struct sc_override *o,
                     yaml_mark_t mark)
{
	const char *v = o->value;
	if (v[0] != '[' && v[0] != '{') {
		int id = yaml_document_add_scalar(doc, NULL, (yaml_char_t *)v, (int)strlen(v),
		                                  YAML_PLAIN_SCALAR_STYLE);
		if (!id)
			ld_oom();
		yaml_document_get_node(doc, id)->start_mark = mark;
		return id;
	}
	yaml_parser_t parser;
	yaml_document_t flow;
	if (!yaml_parser_initialize(&parser))
		ld_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)v, strlen(v));
	int id = 0;
	if (!yaml_parser_load(&parser, &flow)) {
		ld_set_problem(c, o, "the value is not YAML flow syntax: %s (e.g. [tls, rdp])",
		               parser.problem ? parser.problem : "error");
	} else {
		yaml_node_t *root = yaml_document_get_root_node(&flow);
		if (root)
			id = copy_node(doc, &flow, 1, mark);
		else
			ld_set_problem(c, o, "the value is empty");
		yaml_document_delete(&flow);
	}
	yaml_parser_delete(&parser);
	return id;
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
 * mappings along the path, then sets the last key's value. What a user's
 * --set adds is marked as its own, so that its problems name it. */
void ld_apply_override(struct ctx *c, yaml_document_t *doc, size_t i)
{
	const struct sc_override *o = &c->ov[i];
	yaml_mark_t own = {.line = LD_SET_LINE + i};
	int cur = 1; /* the root node */
	const char *p = o->path;
	char key[128];
	long index;
	while (*p) {
		if (path_step(&p, key, sizeof(key), &index) != 0) {
			ld_set_problem(c, o,
			               "%s is not a field path (e.g. security.tls_min, "
			               "faults[0].params.code)",
			               o->path);
			return;
		}
		yaml_node_t *map = yaml_document_get_node(doc, cur);
		if (map->type != YAML_MAPPING_NODE) {
			ld_set_problem(c, o, "%s: %s is not inside a mapping", o->path, key);
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
				ld_set_problem(c, o, "%s: %s has no list to index", o->path, key);
				return;
			}
			/* Adding nodes may move every node: `map` is not used after. */
			yaml_mark_t mark = o->text ? own : map->start_mark;
			int k = add_scalar(doc, key, mark);
			int v = last ? add_value(c, doc, o, mark)
			             : yaml_document_add_mapping(doc, NULL,
			                                         YAML_BLOCK_MAPPING_STYLE);
			if (last && !v)
				return;
			if (!v || !yaml_document_append_mapping_pair(doc, cur, k, v))
				ld_oom();
			if (!last)
				yaml_document_get_node(doc, v)->start_mark = mark;
			cur = v;
			continue;
		}
		if (last) {
			/* Adding nodes may move every node: no pointer is kept across. */
			size_t at = (size_t)(pair - map->data.mapping.pairs.start);
			yaml_mark_t mark =
			        o->text ? own
			                : yaml_document_get_node(doc, pair->value)->start_mark;
			int v = add_value(c, doc, o, mark);
			if (v)
				yaml_document_get_node(doc, cur)
				        ->data.mapping.pairs.start[at]
				        .value = v;
			return;
		}
		cur = pair->value;
		if (index >= 0) {
			yaml_node_t *seq = yaml_document_get_node(doc, cur);
			if (seq->type != YAML_SEQUENCE_NODE ||
			    index >=
			            seq->data.sequence.items.top - seq->data.sequence.items.start) {
				ld_set_problem(c, o, "%s: %s has no item %ld", o->path, key, index);
				return;
			}
			cur = seq->data.sequence.items.start[index];
			if (*p == '\0') {
				ld_set_problem(c, o,
				               "%s: a whole list item cannot be set (set "
				               "its fields, or the whole list: =[...])",
				               o->path);
				return;
			}
		}
	}
}
