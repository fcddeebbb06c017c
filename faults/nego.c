/* nego.c — RDP_NEG_FAILURE Connection Confirm (see nego.h). */
#include "faults/nego.h"

#include <errno.h>
#include <stdlib.h>
#include <strings.h>

static const char *const names[] = {
        NULL,
        "SSL_REQUIRED_BY_SERVER",
        "SSL_NOT_ALLOWED_BY_SERVER",
        "SSL_CERT_NOT_ON_SERVER",
        "INCONSISTENT_FLAGS",
        "HYBRID_REQUIRED_BY_SERVER",
        "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER",
};

const char *nego_failure_name(uint32_t code)
{
	return code >= 1 && code < sizeof(names) / sizeof(names[0]) ? names[code] : NULL;
}

int nego_failure_code(const char *text, uint32_t *code)
{
	char *end;
	for (uint32_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(text, names[i]) == 0) {
			*code = i;
			return 0;
		}
	errno = 0;
	unsigned long v = strtoul(text, &end, 0);
	if (errno || end == text || *end || *text == '-' || v > 0xFFFFFFFFul)
		return -1;
	*code = (uint32_t)v;
	return 0;
}

size_t nego_failure_pdu(uint32_t code, uint8_t out[NEG_FAILURE_PDU_LEN])
{
	const uint8_t pdu[NEG_FAILURE_PDU_LEN] = {
	        0x03,
	        0x00,
	        0x00,
	        0x13, /* TPKT, 19 bytes */
	        0x0E,
	        0xD0,
	        0x00,
	        0x00,
	        0x12,
	        0x34, /* X.224 CC: LI 14, DST-REF 0, SRC-REF */
	        0x00, /* class 0 */
	        0x03,
	        0x00,
	        0x08,
	        0x00, /* RDP_NEG_FAILURE, flags 0, length 8 */
	        (uint8_t)code,
	        (uint8_t)(code >> 8),
	        (uint8_t)(code >> 16),
	        (uint8_t)(code >> 24),
	};
	for (size_t i = 0; i < NEG_FAILURE_PDU_LEN; i++)
		out[i] = pdu[i];
	return NEG_FAILURE_PDU_LEN;
}
