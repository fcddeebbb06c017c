/* load.c — one scenario file: read whole (bounded), parsed by libyaml's
 * document API, the overrides for it applied, walked against the root
 * table. A scenario with any problem is freed and never returned. */
#include "catalog/loader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Whole file into memory (NUL-terminated), or NULL after reporting. */
static char *read_file(struct ctx *c, size_t *len)
{
	char *buf = NULL;
	int fd = open(c->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		ld_problem(c, 0, "(file)", "cannot open: %s", strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		ld_problem(c, 0, "(file)", "not a regular file");
		goto out;
	}
	if (st.st_size > SCENARIO_FILE_MAX) {
		ld_problem(c, 0, "(file)", "too large (%lld bytes; at most %d)",
		           (long long)st.st_size, SCENARIO_FILE_MAX);
		goto out;
	}
	/* Reads what fstat promised; a file that grows meanwhile is cut there. */
	size_t size = (size_t)st.st_size;
	buf = ld_malloc(size + 1);
	size_t n = 0;
	while (n < size) {
		ssize_t r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ld_problem(c, 0, "(file)", "cannot read: %s", strerror(errno));
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
		ld_oom();
	int line;
	if (p->error == YAML_READER_ERROR) {
		/* The reader has no line numbers: count them up to the bad byte. */
		line = 1;
		for (size_t i = 0; i < p->problem_offset && i < len; i++)
			line += text[i] == '\n';
		ld_problem(c, line, "(yaml)", "%s at byte %zu",
		           p->problem ? p->problem : "read error", p->problem_offset);
		return;
	}
	line = (int)p->problem_mark.line + 1;
	if (p->context)
		ld_problem(c, line, "(yaml)", "%s (%s at line %d)",
		           p->problem ? p->problem : "error", p->context,
		           (int)p->context_mark.line + 1);
	else
		ld_problem(c, line, "(yaml)", "%s", p->problem ? p->problem : "error");
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
		ld_oom();
	return stem;
}

/* scenario_load_file, also saying where port_offset was written (for the
 * catalog's cross-file message), with the overrides for it applied. */
int ld_load_file(const char *path, struct scenario **out, FILE *err, struct ld_info *lines,
                 struct sc_override *ov, size_t n_ov, const char *as_name)
{
	struct ctx c = {.err = err, .file = path};
	*out = NULL;
	size_t len = 0;
	char *text = read_file(&c, &len);
	if (!text)
		return c.problems;
	c.stem = as_name ? ld_strdup(as_name) : file_stem(path);
	c.instance = as_name != NULL;
	c.ov = ov;

	yaml_parser_t parser;
	yaml_document_t doc, extra;
	if (!yaml_parser_initialize(&parser))
		ld_oom();
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	struct scenario *s = NULL;
	if (!yaml_parser_load(&parser, &doc)) {
		yaml_problem(&c, &parser, text, len);
		goto done_parser;
	}
	c.doc = &doc;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root) {
		ld_problem(&c, 1, "(document)", "empty file (expected a scenario mapping)");
		goto done_doc;
	}
	/* A second document is an error, and so is a syntax error after the first. */
	if (!yaml_parser_load(&parser, &extra)) {
		yaml_problem(&c, &parser, text, len);
	} else {
		yaml_node_t *r2 = yaml_document_get_root_node(&extra);
		if (r2)
			ld_problem(&c, ld_line(r2), "(document)",
			           "more than one YAML document (one scenario per file)");
		yaml_document_delete(&extra);
	}
	if (root->type != YAML_MAPPING_NODE) {
		ld_problem(&c, ld_line(root), "(document)", "expected a mapping, found %s",
		           ld_is_null(root) ? "no value" : ld_node_kind(root));
		goto done_doc;
	}

	for (size_t i = 0; i < n_ov; i++)
		if (!strcmp(ov[i].scenario, c.stem)) {
			ov[i].used = 1;
			ld_apply_override(&c, &doc, i);
		}
	/* Adding nodes may have moved the node table: look the root up again. */
	root = yaml_document_get_root_node(&doc);

	s = ld_calloc(1, sizeof *s);
	s->file = ld_strdup(path);
	/* Later problems at a --set's lines name it (sc_where). */
	if (n_ov) {
		s->set_texts = ld_calloc(n_ov, sizeof *s->set_texts);
		s->n_set_texts = n_ov;
		for (size_t i = 0; i < n_ov; i++)
			s->set_texts[i] = ov[i].text ? ld_strdup(ov[i].text) : NULL;
	}
	ld_walk_map(&c, root, "", &ld_root_schema, s);
	if (lines) {
		const yaml_node_t *nn = ld_map_get(&c, root, "name");
		const yaml_node_t *pn = ld_map_get(&c, root, "port_offset");
		const yaml_node_t *an = ld_map_get(&c, root, "alias");
		lines->name = nn ? ld_line(nn) : ld_line(root);
		lines->port = pn ? ld_line(pn) : ld_line(root);
		lines->alias = an ? ld_line(an) : 0;
	}
done_doc:
	yaml_document_delete(&doc);
done_parser:
	yaml_parser_delete(&parser);
	free(text);
	free(c.stem);
	if (lines)
		lines->set_problems = c.set_problems;
	if (c.problems) {
		scenario_free(s);
		return c.problems;
	}
	*out = s;
	return 0;
}

static int load_file(const char *path, struct scenario **out, FILE *err)
{
	return ld_load_file(path, out, err, NULL, NULL, 0, NULL);
}

int scenario_load_file(const char *path, struct scenario **out, FILE *err)
{
	return load_file(path, out, err);
}
