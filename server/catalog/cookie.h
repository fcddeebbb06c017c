/* cookie.h — which scenario a client's X.224 cookie names. xfreerdp and
 * rdesktop send the whole user name; mstsc sends it cut to 9 characters
 * (MS-RDPBCGR 3.2.5.3.1), or nothing when it has saved credentials. So a
 * cookie selects, case-insensitively and in this order: the scenario of
 * that name, the scenario of that alias, the same two for the part after a
 * "DOMAIN\", and — for a cookie of exactly 9 characters, the length mstsc
 * cuts to — the one scenario whose name begins with it. */
#ifndef RDPFAULT_COOKIE_H
#define RDPFAULT_COOKIE_H

#include <stddef.h>

#include "catalog/scenario.h"

enum cookie_match {
	COOKIE_NONE,      /* no scenario: the listener's default serves */
	COOKIE_NAME,      /* a scenario's name */
	COOKIE_ALIAS,     /* a scenario's alias */
	COOKIE_PREFIX,    /* mstsc's 9 characters, the start of one name */
	COOKIE_AMBIGUOUS, /* mstsc's 9 characters, the start of several names */
};

#define COOKIE_CANDIDATES 8

struct cookie_result {
	enum cookie_match how;
	size_t index;                         /* into items, for NAME, ALIAS, PREFIX */
	size_t n_candidates;                  /* AMBIGUOUS: how many names begin so */
	size_t candidates[COOKIE_CANDIDATES]; /* ... and the first of them */
};

void cookie_match(const struct scenario *const *items, size_t n, const char *cookie,
                  struct cookie_result *out);
/* "cookie", "alias", "cookie-prefix", "listener": the event log's selected_by. */
const char *cookie_match_name(enum cookie_match how);

#endif
