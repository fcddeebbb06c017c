/* find.h — from what a user sees to the scenarios that show it: "my
 * customer's mstsc says 0x904, extended 0x7: which scenarios?". A code and
 * an optional extended code, as numbers or ERRINFO names, are matched
 * against every scenario's expectations (mstsc's dialog codes and any
 * client's) and its deny codes; the hits are ranked, best first. */
#ifndef RDPFAULT_FIND_H
#define RDPFAULT_FIND_H

#include <stddef.h>

#include "catalog/scenario.h"

struct find_hit {
	const struct scenario *s;
	const struct sc_expect *e; /* the expectation that matched, or NULL (a deny code) */
	int score;                 /* 4: code and extended; 3: code, no extended asked;
	                              2: code, the scenario's extended unknown; 1: the
	                              code alone, its extended another */
};

/* Fills hits (up to max, best first; ties by name) and returns how many
 * scenarios match, which may be more than max. client: only that client's
 * expectations (NULL: every client's). */
size_t find_by_code(const struct catalog *cat, const char *code, const char *extended,
                    const char *client, struct find_hit *hits, size_t max);
/* 1 when text is a code find understands (a number, or an ERRINFO name). */
int find_code_ok(const char *text);

#endif
