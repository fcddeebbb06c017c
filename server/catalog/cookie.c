/* cookie.c — a client's cookie to a scenario (see cookie.h). */
#include "catalog/cookie.h"

#include <string.h>
#include <strings.h>

static int exact(const struct scenario *const *items, size_t n, const char *cookie,
                 struct cookie_result *out)
{
	for (size_t i = 0; i < n; i++)
		if (strcasecmp(items[i]->name, cookie) == 0) {
			*out = (struct cookie_result){.how = COOKIE_NAME, .index = i};
			return 1;
		}
	for (size_t i = 0; i < n; i++)
		if (items[i]->alias && strcasecmp(items[i]->alias, cookie) == 0) {
			*out = (struct cookie_result){.how = COOKIE_ALIAS, .index = i};
			return 1;
		}
	return 0;
}

void cookie_match(const struct scenario *const *items, size_t n, const char *cookie,
                  struct cookie_result *out)
{
	*out = (struct cookie_result){.how = COOKIE_NONE};
	if (!cookie || !*cookie)
		return;
	if (exact(items, n, cookie, out))
		return;
	const char *user = strrchr(cookie, '\\');
	if (user && user[1] && exact(items, n, user + 1, out))
		return;
	if (strlen(cookie) != SC_ALIAS_MAX)
		return;
	for (size_t i = 0; i < n; i++)
		if (strncasecmp(items[i]->name, cookie, SC_ALIAS_MAX) == 0) {
			if (out->n_candidates < COOKIE_CANDIDATES)
				out->candidates[out->n_candidates] = i;
			out->n_candidates++;
		}
	if (out->n_candidates == 1) {
		*out = (struct cookie_result){.how = COOKIE_PREFIX, .index = out->candidates[0]};
	} else if (out->n_candidates > 1) {
		out->how = COOKIE_AMBIGUOUS;
	}
}

const char *cookie_match_name(enum cookie_match how)
{
	switch (how) {
	case COOKIE_NAME:
		return "cookie";
	case COOKIE_ALIAS:
		return "alias";
	case COOKIE_PREFIX:
		return "cookie-prefix";
	default:
		return "listener";
	}
}
