/* codes.c — protocol codes by name or number (see codes.h). */
#include "faults/codes.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* text's character as the tables spell names: upper case, '_' for '-'. */
static char norm(char c)
{
	return c == '-' ? '_' : (char)toupper((unsigned char)c);
}

/* Whether text starts with name's first n characters (n = 0: whole). */
static int same_name(const char *text, const char *name, size_t n)
{
	size_t i = 0;
	for (; text[i] && name[i] && (!n || i < n); i++)
		if (norm(text[i]) != name[i])
			return 0;
	return n ? i == n : text[i] == '\0' && name[i] == '\0';
}

static int matches(const char *text, const char *name, const char *prefix)
{
	size_t pl = prefix ? strlen(prefix) : 0;
	if (pl && strncmp(name, prefix, pl) == 0 && !same_name(text, name, pl))
		name += pl;
	return same_name(text, name, 0);
}

int code_parse(const struct code_name *t, size_t n, const char *prefix, const char *text,
               uint32_t max, uint32_t *out)
{
	char *end;
	if (!text || !*text)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (matches(text, t[i].name, prefix)) {
			*out = t[i].code;
			return 0;
		}
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || end == text || *end || *text == '-' || v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

const char *code_name(const struct code_name *t, size_t n, uint32_t code)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].code == code)
			return t[i].name;
	return NULL;
}
