/* tsrequest.c — minimal DER reading and writing of TSRequest (see
 * tsrequest.h). Only the outer SEQUENCE and its [0] version are read. */
#include "wire/tsrequest.h"

/* Reads a DER length at buf[*pos]; -1 when malformed or past the end. */
static long der_len(const uint8_t *buf, size_t len, size_t *pos)
{
	if (*pos >= len)
		return -1;
	uint8_t b = buf[(*pos)++];
	if (b < 0x80)
		return b;
	size_t nbytes = b & 0x7F;
	if (nbytes == 0 || nbytes > 3 || *pos + nbytes > len)
		return -1;
	long v = 0;
	for (size_t i = 0; i < nbytes; i++)
		v = (v << 8) | buf[(*pos)++];
	return v;
}

int tsrequest_peek_version(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	if (len < 7 || buf[pos++] != 0x30 || der_len(buf, len, &pos) < 5 || pos >= len ||
	    buf[pos++] != 0xA0 || der_len(buf, len, &pos) < 3 || pos >= len || buf[pos++] != 0x02)
		return -1;
	long ilen = der_len(buf, len, &pos);
	if (ilen < 1 || ilen > 2 || pos + (size_t)ilen > len)
		return -1;
	int v = 0;
	for (long i = 0; i < ilen; i++)
		v = (v << 8) | buf[pos + (size_t)i];
	return v;
}

void tsrequest_stream_init(struct tsrequest_stream *s)
{
	*s = (struct tsrequest_stream){.version = -1};
}

void tsrequest_stream_feed(struct tsrequest_stream *s, const uint8_t *buf, size_t len)
{
	while (len && !s->broken) {
		if (s->remaining) {
			size_t take = len < s->remaining ? len : s->remaining;
			s->remaining -= take;
			buf += take;
			len -= take;
			continue;
		}
		s->head[s->have++] = *buf++;
		len--;
		/* The outer SEQUENCE header says where this TSRequest ends. */
		size_t pos = 0;
		if (s->head[0] != 0x30) {
			s->broken = 1;
			break;
		}
		pos = 1;
		long body = der_len(s->head, s->have, &pos);
		if (body < 0) {
			if (s->have > 4)
				s->broken = 1; /* a length of more than 3 bytes: not ours */
			continue;
		}
		size_t total = pos + (size_t)body;
		int v = tsrequest_peek_version(s->head, s->have);
		if (v < 0 && s->have < sizeof(s->head) && s->have < total)
			continue; /* the version has not arrived yet */
		s->count++;
		s->version = v;
		s->remaining = total > s->have ? total - s->have : 0;
		s->have = 0;
	}
}

int tsrequest_version(const uint8_t *buf, size_t len)
{
	/* A whole TSRequest: its SEQUENCE ends exactly at len. */
	size_t pos = 1;
	if (len < 7 || buf[0] != 0x30)
		return -1;
	long seq = der_len(buf, len, &pos);
	if (seq < 5 || pos + (size_t)seq != len || buf[pos++] != 0xA0)
		return -1;
	long ctx = der_len(buf, len, &pos); /* [0] must fit in the message */
	if (ctx < 3 || pos + (size_t)ctx > len)
		return -1;
	return tsrequest_peek_version(buf, len);
}

unsigned tsrequest_fields(const uint8_t *buf, size_t len)
{
	size_t pos = 0;
	unsigned mask = 0;
	if (len < 2 || buf[pos++] != 0x30)
		return 0;
	long seq = der_len(buf, len, &pos);
	if (seq < 0 || pos + (size_t)seq != len)
		return 0;
	while (pos < len) {
		uint8_t tag = buf[pos++];
		long flen = der_len(buf, len, &pos);
		if ((tag & 0xE0) != 0xA0 || (tag & 0x1F) > 7 || flen < 0 ||
		    pos + (size_t)flen > len)
			return 0;
		mask |= 1u << (tag & 0x1F);
		pos += (size_t)flen;
	}
	return mask;
}

size_t tsrequest_error(uint32_t version, uint32_t code, uint8_t *out)
{
	/* errorCode exists from version 3 on, except in version 5. */
	if (version < 3 || version == 5 || version > 0x7F)
		return 0;
	/* FreeRDP and Windows write the NTSTATUS as a 4-byte INTEGER. */
	const uint8_t msg[] = {0x30,
	                       0x0D,
	                       0xA0,
	                       0x03,
	                       0x02,
	                       0x01,
	                       (uint8_t)version,
	                       0xA4,
	                       0x06,
	                       0x02,
	                       0x04,
	                       (uint8_t)(code >> 24),
	                       (uint8_t)(code >> 16),
	                       (uint8_t)(code >> 8),
	                       (uint8_t)code};
	for (size_t i = 0; i < sizeof(msg); i++)
		out[i] = msg[i];
	return sizeof(msg);
}

const char *ntstatus_name(uint32_t code)
{
	static const struct {
		uint32_t code;
		const char *name;
	} names[] = {
	        {NTSTATUS_LOGON_FAILURE, "STATUS_LOGON_FAILURE"},
	        {NTSTATUS_WRONG_PASSWORD, "STATUS_WRONG_PASSWORD"},
	        {NTSTATUS_ACCOUNT_RESTRICTION, "STATUS_ACCOUNT_RESTRICTION"},
	        {NTSTATUS_PASSWORD_EXPIRED, "STATUS_PASSWORD_EXPIRED"},
	        {NTSTATUS_ACCOUNT_DISABLED, "STATUS_ACCOUNT_DISABLED"},
	        {NTSTATUS_ACCESS_DENIED, "STATUS_ACCESS_DENIED"},
	        {NTSTATUS_PASSWORD_MUST_CHANGE, "STATUS_PASSWORD_MUST_CHANGE"},
	        {NTSTATUS_ACCOUNT_LOCKED_OUT, "STATUS_ACCOUNT_LOCKED_OUT"},
	        {NTSTATUS_ACCOUNT_EXPIRED, "STATUS_ACCOUNT_EXPIRED"},
	        {NTSTATUS_LOGON_TYPE_NOT_GRANTED, "STATUS_LOGON_TYPE_NOT_GRANTED"},
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].code == code)
			return names[i].name;
	return 0;
}
