/* ultimatum.c — MCS Disconnect Provider Ultimatum (see ultimatum.h). */
#include "faults/ultimatum.h"

#include "faults/codes.h"

/* T.125 Reason. */
static const struct code_name reasons[] = {
        {0, "RN_DOMAIN_DISCONNECTED"}, {1, "RN_PROVIDER_INITIATED"}, {2, "RN_TOKEN_PURGED"},
        {3, "RN_USER_REQUESTED"},      {4, "RN_CHANNEL_PURGED"},
};

int ultimatum_reason(const char *text, uint32_t *reason)
{
	return code_parse(reasons, CODES_N(reasons), "RN_", text, 4, reason);
}

const char *ultimatum_reason_name(uint32_t reason)
{
	return code_name(reasons, CODES_N(reasons), reason);
}

size_t ultimatum_pdu(uint32_t reason, uint8_t out[ULTIMATUM_PDU_LEN])
{
	/* ALIGNED PER: 6 bits of DomainMCSPDU choice (8), 3 bits of reason,
	 * padding to the octet. */
	const uint8_t pdu[ULTIMATUM_PDU_LEN] = {
	        0x03,
	        0x00,
	        0x00,
	        0x09, /* TPKT, 9 bytes */
	        0x02,
	        0xF0,
	        0x80, /* X.224 Data, EOT */
	        (uint8_t)(8u << 2 | (reason & 7u) >> 1),
	        (uint8_t)((reason & 1u) << 7),
	};
	for (size_t i = 0; i < ULTIMATUM_PDU_LEN; i++)
		out[i] = pdu[i];
	return ULTIMATUM_PDU_LEN;
}
