/* credssp.c — NTSTATUS names for the CredSSP error primitive (see
 * credssp.h). */
#include "faults/credssp.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "wire/tsrequest.h"

static const uint32_t known[] = {
        NTSTATUS_LOGON_FAILURE,          NTSTATUS_WRONG_PASSWORD,     NTSTATUS_ACCOUNT_RESTRICTION,
        NTSTATUS_PASSWORD_EXPIRED,       NTSTATUS_ACCOUNT_DISABLED,   NTSTATUS_ACCESS_DENIED,
        NTSTATUS_PASSWORD_MUST_CHANGE,   NTSTATUS_ACCOUNT_LOCKED_OUT, NTSTATUS_ACCOUNT_EXPIRED,
        NTSTATUS_LOGON_TYPE_NOT_GRANTED,
};

/* "logon-failure" and "STATUS_LOGON_FAILURE" name the same status. */
static int same_name(const char *text, const char *name)
{
	if (strncasecmp(text, "STATUS_", 7) != 0)
		name += 7;
	for (; *text && *name; text++, name++) {
		char a = *text == '-' ? '_' : (char)toupper((unsigned char)*text);
		if (a != *name)
			return 0;
	}
	return *text == '\0' && *name == '\0';
}

int credssp_status_code(const char *text, uint32_t *code)
{
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (same_name(text, ntstatus_name(known[i]))) {
			*code = known[i];
			return 0;
		}
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 16);
	if (strncasecmp(text, "0x", 2) != 0 || errno || *end || v == 0 || v > 0xFFFFFFFFul)
		return -1;
	*code = (uint32_t)v;
	return 0;
}
