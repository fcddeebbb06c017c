/* codes.h — protocol codes by name or number. Every fault primitive takes
 * its codes as the specification's names ("ERR_NO_LICENSE_SERVER") or as
 * numbers ("6", "0x6"); this is that lookup, in one place. */
#ifndef RDPFAULT_FAULTS_CODES_H
#define RDPFAULT_FAULTS_CODES_H

#include <stddef.h>
#include <stdint.h>

struct code_name {
	uint32_t code;
	const char *name;
};

/* The code for `text`: a name of the table, compared case-insensitively
 * with '-' standing for '_' and `prefix` optional ("no-license-server"
 * finds ERR_NO_LICENSE_SERVER with prefix "ERR_"), or a number 0..max.
 * 0, or -1 when neither. */
int code_parse(const struct code_name *t, size_t n, const char *prefix, const char *text,
               uint32_t max, uint32_t *out);
/* The table's name for code, or NULL. */
const char *code_name(const struct code_name *t, size_t n, uint32_t code);

#define CODES_N(t) (sizeof(t) / sizeof((t)[0]))

#endif
