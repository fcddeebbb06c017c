/* errinfo.c — Set Error Info codes by name (see errinfo.h). The names are
 * MS-RDPBCGR's, as FreeRDP prints them. */
#include "faults/errinfo.h"

#include "faults/codes.h"

static const struct code_name codes[] = {
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
	return code_name(codes, CODES_N(codes), code);
}

/* 0 is "no error": not a code a deny can send. */
int errinfo_code(const char *text, uint32_t *code)
{
	uint32_t v;
	if (code_parse(codes, CODES_N(codes), "ERRINFO_", text, 0xFFFFFFFFu, &v) != 0 || v == 0)
		return -1;
	*code = v;
	return 0;
}
