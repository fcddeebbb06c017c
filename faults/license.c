/* license.c — the Licensing Error Message rewrite (see license.h). */
#include "faults/license.h"

#include "faults/codes.h"

static const struct code_name errors[] = {
        {0x00000001, "ERR_INVALID_SERVER_CERTIFICATE"},
        {0x00000002, "ERR_NO_LICENSE"},
        {0x00000003, "ERR_INVALID_MAC"},
        {0x00000004, "ERR_INVALID_SCOPE"},
        {0x00000006, "ERR_NO_LICENSE_SERVER"},
        {0x00000007, "STATUS_VALID_CLIENT"},
        {0x00000008, "ERR_INVALID_CLIENT"},
        {0x0000000B, "ERR_INVALID_PRODUCTID"},
        {0x0000000C, "ERR_INVALID_MESSAGE_LEN"},
};

static const struct code_name transitions[] = {
        {0x00000001, "ST_TOTAL_ABORT"},
        {0x00000002, "ST_NO_TRANSITION"},
        {0x00000003, "ST_RESET_PHASE_TO_START"},
        {0x00000004, "ST_RESEND_LAST_MESSAGE"},
};

int license_error_code(const char *text, uint32_t *code)
{
	return code_parse(errors, CODES_N(errors), "ERR_", text, 0xFFFFFFFFu, code);
}

const char *license_error_name(uint32_t code)
{
	return code_name(errors, CODES_N(errors), code);
}

int license_transition_code(const char *text, uint32_t *code)
{
	return code_parse(transitions, CODES_N(transitions), "ST_", text, 0xFFFFFFFFu, code);
}

const char *license_transition_name(uint32_t code)
{
	return code_name(transitions, CODES_N(transitions), code);
}

#define SEC_ENCRYPT 0x0008u
#define SEC_LICENSE_PKT 0x0080u
#define ERROR_ALERT 0xFFu
#define MCS_SEND_DATA_INDICATION 26u

static void put32le(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* One TPKT of end bytes. */
static int rewrite_one(uint8_t *pdu, size_t end, uint32_t code, uint32_t transition)
{
	size_t at;
	/* X.224 Data TPDU: LI 2, DT with EOT. */
	if (pdu[4] != 0x02 || pdu[5] != 0xF0 || pdu[6] != 0x80)
		return -1;
	at = 7;
	/* MCS Send Data Indication: choice, initiator (2), channelId (2),
	 * dataPriority/segmentation (1), PER length (1 or 2). */
	if (end - at < 7 || (pdu[at] >> 2) != MCS_SEND_DATA_INDICATION)
		return -1;
	at += 6;
	size_t data_len = pdu[at++];
	if (data_len & 0x80) {
		if (end - at < 1)
			return -1;
		data_len = (data_len & 0x7F) << 8 | pdu[at++];
	}
	if (data_len != end - at)
		return -1;
	/* Basic security header: flags (2), flagsHi (2). */
	if (end - at < 4)
		return -1;
	unsigned flags = pdu[at] | (unsigned)pdu[at + 1] << 8;
	if (!(flags & SEC_LICENSE_PKT) || (flags & SEC_ENCRYPT))
		return -1;
	at += 4;
	/* Preamble: bMsgType, flags, wMsgSize (the message with the preamble),
	 * then dwErrorCode, dwStateTransition and a blob header at least. */
	if (end - at < 4 || pdu[at] != ERROR_ALERT)
		return -1;
	size_t msg = pdu[at + 2] | (size_t)pdu[at + 3] << 8;
	if (msg < 16 || msg > end - at)
		return -1;
	put32le(pdu + at + 4, code);
	put32le(pdu + at + 8, transition);
	return 0;
}

int license_error_rewrite(uint8_t *buf, size_t len, uint32_t code, uint32_t transition)
{
	/* FreeRDP may hand over several PDUs in one write: walk them. */
	while (len >= 4 && buf[0] == 0x03 && buf[1] == 0x00) {
		size_t end = (size_t)buf[2] << 8 | buf[3];
		if (end < 7 || end > len)
			return -1;
		if (rewrite_one(buf, end, code, transition) == 0)
			return 0;
		buf += end;
		len -= end;
	}
	return -1;
}
