/* render.h — the catalog rendered for `rdpfault list` and `rdpfault show`:
 * text for people, JSON for programs (the JSON is the stable interface). */
#ifndef RDPFAULT_RENDER_H
#define RDPFAULT_RENDER_H

#include <jansson.h>
#include <stdio.h>

#include "catalog/scenario.h"

/* One scenario, every field the file set or defaulted. */
json_t *render_scenario_json(const struct scenario *s);
/* `list --json`'s array (port_base < 0: no "port"). */
json_t *render_list_json(const struct scenario *const *items, size_t n, int port_base);
void render_scenario_text(const struct scenario *s, FILE *out);
/* Scenarios, one line (or object) per scenario; with ports from port_base
 * when it is >= 0, else the offsets. The JSON carries each one's alias,
 * tags, field report and the codes its expectations name. */
void render_list(const struct scenario *const *items, size_t n, int port_base, int json, FILE *out);
/* find's answer (catalog/find.h): the hits ranked, what tells them apart. */
struct find_hit;
void render_find(const struct find_hit *hits, size_t n, size_t total, const char *code,
                 const char *extended, int port_base, int json, FILE *out);
/* The model scenario files are written in: the phases (which 1) or the
 * fault actions (2). */
enum { RENDER_PHASES = 1, RENDER_ACTIONS = 2, RENDER_NETWORK = 3 };
void render_model(int which, int json, FILE *out);

#endif
