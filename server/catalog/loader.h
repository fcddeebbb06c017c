/* loader.h — the scenario loader's parts, shared by catalog/'s own files
 * and nothing else (the public interface is scenario.h):
 *
 *   yamlread.c   problems, escaping, scalar text, numbers, durations
 *   schema.c     the table-driven walk of every mapping
 *   format.c     the tables themselves: the scenario file format and its rules
 *   names.c      the words of each enumeration, both ways
 *   overrides.c  --set, applied to the YAML document before the walk
 *   load.c       one file: read, parsed, walked
 *   catalog.c    a directory of files and templates
 *
 * Memory: allocation failure aborts (ld_oom); the loader runs at start-up,
 * where there is nothing sensible to fall back to. */
#ifndef RDPFAULT_LOADER_H
#define RDPFAULT_LOADER_H

#include <stddef.h>
#include <stdio.h>
#include <yaml.h>

#include "catalog/scenario.h"

#define SCENARIO_FILE_MAX (1024 * 1024) /* a scenario is a page of text; refuse more */
#define SUMMARY_MAX 120                 /* characters (UTF-8 code points) */
#define NAME_MAX_LEN 48
#define QUOTE_MAX 64 /* value bytes shown in a message before "..." */
#define DURATION_MAX_DAYS 36500L

/* One file being loaded: where its problems go and how many there were. */
struct ctx {
	FILE *err;
	const char *file;
	char *stem; /* the file's base name without ".yaml": the required name */
	yaml_document_t *doc;
	int instance; /* a template's instance: its name and alias are the template's doing */
	const struct sc_override *ov; /* the overrides applied to this file */
	int problems;
	int set_problems; /* of them, in a --set's own value or path */
};

/* ---- yamlread.c */

void ld_oom(void) __attribute__((noreturn));
void *ld_malloc(size_t n);
void *ld_calloc(size_t n, size_t size);
char *ld_strdup(const char *s);
char *ld_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char **ld_strv_dup(const char *const *v);
/* Untrusted text made safe for a one-line message (see yamlread.c). */
char *ld_escape(const char *s, size_t max);
/* Nodes a --set made carry this line and up (plus the override's index):
 * their problems are the --set's. */
#define LD_SET_LINE 0x40000000
/* Counts a problem and prints "FILE:LINE: PATH: message", or for a node a
 * --set made, "--set ARG: PATH: message". */
void ld_problem(struct ctx *c, int line, const char *path, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The same with a quoted, escaped copy of `text` at fmt's one %s. */
void ld_problem_q(struct ctx *c, int line, const char *path, const char *fmt, const char *text,
                  const char *tail);
int ld_line(const yaml_node_t *n);
char *ld_path_key(const char *parent, const char *key);
char *ld_path_index(const char *parent, size_t i);
const char *ld_node_kind(const yaml_node_t *n);
int ld_is_null(const yaml_node_t *n);
/* A scalar's text, or NULL after a problem naming `want`. */
const char *ld_scalar_text(struct ctx *c, const yaml_node_t *n, const char *path, const char *want);
int ld_has_ctrl(const char *s, int allow_newline);
size_t ld_utf8_chars(const char *s);
int ld_is_ident(const char *s, const char *first_extra, const char *rest_extra, size_t max);
int ld_parse_long(const char *s, long *out);
int ld_parse_duration(const char *s, long *out);

/* ---- schema.c: the table types (format.c fills them) and the walk */

struct name_val {
	const char *name;
	long val;
};

enum kind {
	K_STR,      /* scalar text -> char * */
	K_INT,      /* base-10 integer in [min, max] -> int */
	K_ENUM,     /* one of `names` -> its value, stored per `width` */
	K_DURATION, /* [+-]N[smhd] -> long seconds */
	K_FLAGS,    /* list of `names`, no repeats -> OR of their values (unsigned) */
	K_STRLIST,  /* list of scalars -> NULL-terminated char ** */
	K_MAP,      /* nested mapping described by `sub`, stored at base + off */
	K_MAPLIST,  /* list of mappings (`sub`) -> array at off, count at count_off */
	K_MAPDICT,  /* mapping NAME -> mapping (`sub`) -> array, NAME stored at key_off */
	K_PARAMS    /* mapping of scalars -> struct sc_param array at off, count at count_off */
};

enum width { W_INT, W_U16, W_LONG, W_UNSIGNED, W_ENCLEVEL };

enum {
	F_REQUIRED = 1u << 0,  /* absent: a ld_problem (reported at the enclosing mapping) */
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
	const char *what;             /* noun for messages: "protocol", "client" */
	const struct name_val *names; /* K_ENUM, K_FLAGS; K_STR: allowed values */
	long min, max;                /* K_INT range; K_STR: max characters (0: none) */
	check_fn check;               /* extra rule on each scalar's text */
	enum width width;             /* K_ENUM */
	const struct schema *sub;     /* K_MAP, K_MAPLIST, K_MAPDICT */
	size_t elem_size, count_off, key_off, line_off; /* arrays; line_off 0: none */
	long def_num;                /* default of K_INT, K_ENUM, K_DURATION, K_FLAGS */
	const char *def_str;         /* default of K_STR (NULL: stays NULL) */
	const char *const *def_list; /* default of K_STRLIST (NULL: empty list) */
};

/* Reads mapping n against sc into base: every key checked, converted and
 * stored; unknown, duplicate and missing keys reported; defaults applied. */
void ld_walk_map(struct ctx *c, const yaml_node_t *n, const char *path, const struct schema *sc,
                 void *base);
const yaml_node_t *ld_map_get(struct ctx *c, const yaml_node_t *n, const char *key);

/* ---- format.c */

extern const struct schema ld_root_schema; /* a scenario file */

/* ---- names.c */

extern const struct name_val ld_protocol_names[], ld_enclevel_names[], ld_tls_names[],
        ld_digest_names[], ld_key_names[], ld_result_names[], ld_policy_names[],
        ld_mt_protocol_names[], ld_udp_mode_names[], ld_fallback_names[];

/* ---- overrides.c */

/* Applies c->ov[i] to the document. */
void ld_apply_override(struct ctx *c, yaml_document_t *doc, size_t i);
/* A problem of the --set itself: "--set ARG: message". */
void ld_set_problem(struct ctx *c, const struct sc_override *o, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* ---- load.c */

/* scenario_load_file, also saying where port_offset and alias were written
 * (for the catalog's cross-file messages), with the overrides for it applied, named
 * as_name (a template's instance) or by its file. Returns the problems. */
/* What the catalog needs to know of a file besides its scenario: where
 * some keys were written, and how many problems a --set made. */
struct ld_info {
	int name;
	int port;  /* port_offset */
	int alias; /* alias, 0 when none */
	int set_problems;
};
int ld_load_file(const char *path, struct scenario **out, FILE *err, struct ld_info *lines,
                 struct sc_override *ov, size_t n_ov, const char *as_name);

#endif
