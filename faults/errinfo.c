/* errinfo.c — Set Error Info codes by name (see errinfo.h). The names are
 * MS-RDPBCGR's, as FreeRDP prints them. */
#include "errinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	uint32_t code;
	const char *name;
} codes[] = {
    {0x00000001, "ERRINFO_RPC_INITIATED_DISCONNECT"},
    {0x00000002, "ERRINFO_RPC_INITIATED_LOGOFF"},
    {0x00000003, "ERRINFO_IDLE_TIMEOUT"},
    {0x00000004, "ERRINFO_LOGON_TIMEOUT"},
    {0x00000005, "ERRINFO_DISCONNECTED_BY_OTHERCONNECTION"},
    {0x00000006, "ERRINFO_OUT_OF_MEMORY"},
    {0x00000007, "ERRINFO_SERVER_DENIED_CONNECTION"},
    {0x00000009, "ERRINFO_SERVER_INSUFFICIENT_PRIVILEGES"},
    {0x0000000A, "ERRINFO_SERVER_FRESH_CREDENTIALS_REQUIRED"},
    {0x0000000B, "ERRINFO_RPC_INITIATED_DISCONNECT_BYUSER"},
    {0x0000000C, "ERRINFO_LOGOFF_BY_USER"},
    {0x00000100, "ERRINFO_LICENSE_INTERNAL"},
    {0x00000101, "ERRINFO_LICENSE_NO_LICENSE_SERVER"},
    {0x00000102, "ERRINFO_LICENSE_NO_LICENSE"},
    {0x00000103, "ERRINFO_LICENSE_BAD_CLIENT_MSG"},
    {0x00000104, "ERRINFO_LICENSE_HWID_DOESNT_MATCH_LICENSE"},
    {0x00000105, "ERRINFO_LICENSE_BAD_CLIENT_LICENSE"},
    {0x00000106, "ERRINFO_LICENSE_CANT_FINISH_PROTOCOL"},
    {0x00000107, "ERRINFO_LICENSE_CLIENT_ENDED_PROTOCOL"},
    {0x00000108, "ERRINFO_LICENSE_BAD_CLIENT_ENCRYPTION"},
    {0x00000109, "ERRINFO_LICENSE_CANT_UPGRADE_LICENSE"},
    {0x0000010A, "ERRINFO_LICENSE_NO_REMOTE_CONNECTIONS"},
};

const char *errinfo_name(uint32_t code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (codes[i].code == code)
			return codes[i].name;
	return NULL;
}

/* "server-denied-connection" names ERRINFO_SERVER_DENIED_CONNECTION. */
static int same_name(const char *text, const char *name)
{
	if (strncasecmp(text, "ERRINFO_", 8) != 0)
		name += 8;
	for (; *text && *name; text++, name++)
		if ((*text == '-' ? '_' : toupper((unsigned char)*text)) != *name)
			return 0;
	return *text == '\0' && *name == '\0';
}

int errinfo_code(const char *text, uint32_t *code)
{
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (same_name(text, codes[i].name)) {
			*code = codes[i].code;
			return 0;
		}
	char *end;
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || end == text || *end || *text == '-' || v == 0 || v > 0xFFFFFFFFul)
		return -1;
	*code = (uint32_t)v;
	return 0;
}
