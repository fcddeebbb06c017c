/* netplan.h — a scenario's `network:` list (and `serve --network`'s
 * conditions), checked against each type's attributes (faults/toxics/) and
 * compiled once at start into what the relay stacks on each connection. A
 * bad type, attribute, range, stream or phase is an error naming file,
 * line and field (or the option), like any other catalog error. */
#ifndef RDPFAULT_NETPLAN_H
#define RDPFAULT_NETPLAN_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "catalog/scenario.h"
#include "faults/toxics/chain.h"

enum { NET_UP = 1u << 0, NET_DOWN = 1u << 1 };

struct net_cond {
	char name[48];
	const struct toxic_type *t;
	unsigned streams;        /* NET_UP | NET_DOWN */
	double toxicity;         /* share of connections it applies to, 0-1 */
	struct tx_stage_def def; /* attributes and trigger (def.id: its index) */
	const char *origin;      /* "scenario" or "--network" */
};

struct net_plan {
	struct net_cond *items;
	size_t n;
};

/* Compiles s->network. Returns the number of problems, each written to err
 * as "FILE:LINE: network[i].FIELD: ..."; 0 on success. */
int net_plan_compile(const struct scenario *s, struct net_plan *out, FILE *err);
/* Every scenario's conditions checked; the number of problems (those of a
 * --set's value also added to *set_problems, as catalog_check_faults). */
int catalog_check_network(const struct catalog *c, FILE *err, int *set_problems);
/* `--network TYPE[:STREAM][:KEY=VALUE[,KEY=VALUE...]]` (KEY: an attribute,
 * or name, toxicity, from_phase, after_bytes). 0, or -1 with why set. */
int net_cond_parse_spec(const char *spec, struct net_cond *out, char *why, size_t n);
/* Appends conditions (after the scenario's own); ids renumbered. 0 or -1. */
int net_plan_append(struct net_plan *p, const struct net_cond *extra, size_t n);
void net_plan_free(struct net_plan *p);

/* The control API's condition object, strictly: {"type" (required), "name",
 * "stream", "toxicity", "trigger": {"from_phase" | "after_bytes"},
 * "attributes": {NAME: number}}. 0, or -1 with why and *field (the member
 * at fault, "" for the body itself) set. origin: "api". */
int net_cond_from_json(const json_t *o, struct net_cond *out, char *why, size_t n,
                       const char **field);
/* An update of c: "attributes" (those named change) and "toxicity"; the
 * rest must be absent or unchanged. Nothing changes on an error; *field
 * may then point into o. */
int net_cond_update_json(struct net_cond *c, const json_t *o, char *why, size_t n,
                         const char **field);

/* ---- shared by netplan.c and netcond.c */
const char *netcond_type_list(void);
int netcond_number(const char *text, double *out);
int netcond_attr_value(const struct tx_attr *a, const char *text, double *out, char *why, size_t n);
void netcond_attr_names(const struct toxic_type *t, char *buf, size_t n);
void netcond_defaults(struct net_cond *c);
unsigned netcond_streams(const char *s);

/* "upstream", "downstream" or "both". */
const char *net_streams_str(unsigned streams);
/* {name, type, stream, toxicity, trigger, attributes}: the condition as
 * scenario files and the control API write it. */
json_t *net_cond_json(const struct net_cond *c);
/* Every type with its attributes, for `show --network --json`. */
json_t *net_types_json(void);

#endif
