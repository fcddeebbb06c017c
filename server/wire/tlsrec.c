/* tlsrec.c — stream framing scanner (see tlsrec.h).
 *
 * Header sizes: TPKT 4 bytes (+2 to see the X.224 TPDU code), TLS 5 bytes
 * (+1 to see the handshake type), fast-path 2 or 3 bytes (the length is
 * one byte, or two when its top bit is set). */
#include "wire/tlsrec.h"

#include <string.h>

void tlsrec_init(struct tlsrec_scanner *s)
{
	memset(s, 0, sizeof(*s));
}

/* Header bytes needed before the unit can be reported; 0 when the first
 * byte fits no framing. */
static size_t header_need(const struct tlsrec_scanner *s)
{
	uint8_t b = s->hdr[0];
	if (!s->plain && b >= TLS_CT_CHANGE_CIPHER_SPEC && b <= TLS_CT_APPLICATION_DATA)
		return b == TLS_CT_HANDSHAKE ? 6 : 5;
	if (s->tls)
		return 0;
	if (b == 0x03)
		return 6;
	if ((b & 0x03) == 0) /* fast-path action */
		return (s->have >= 2 && (s->hdr[1] & 0x80)) ? 3 : 2;
	return 0;
}

/* Fills the unit from a complete header; returns 0, or -1 when the
 * length fields are impossible. */
static int describe(struct tlsrec_scanner *s, struct tlsrec_unit *u)
{
	uint8_t b = s->hdr[0];
	memset(u, 0, sizeof(*u));
	u->hs_type = -1;
	u->index = s->units;
	if (!s->plain && b >= TLS_CT_CHANGE_CIPHER_SPEC && b <= TLS_CT_APPLICATION_DATA) {
		if (s->hdr[1] != 0x03)
			return -1;
		u->kind = TLSREC_TLS;
		u->content_type = b;
		u->length = 5u + ((uint32_t)s->hdr[3] << 8 | s->hdr[4]);
		if (b == TLS_CT_HANDSHAKE)
			u->hs_type = s->hdr[5];
		u->tls_index = s->tls_records;
		return 0;
	}
	if (b == 0x03) {
		u->kind = TLSREC_TPKT;
		u->length = (uint32_t)s->hdr[2] << 8 | s->hdr[3];
		u->tpdu_code = s->hdr[5] & 0xF0;
		return u->length >= 7 ? 0 : -1;
	}
	u->kind = TLSREC_FASTPATH;
	if (s->hdr[1] & 0x80)
		u->length = ((uint32_t)(s->hdr[1] & 0x7F) << 8) | s->hdr[2];
	else
		u->length = s->hdr[1];
	return u->length >= 2 ? 0 : -1;
}

void tlsrec_set_plain(struct tlsrec_scanner *s)
{
	s->plain = 1;
}

size_t tlsrec_feed(struct tlsrec_scanner *s, const uint8_t *buf, size_t len, tlsrec_cb cb,
                   void *arg)
{
	size_t pos = 0;

	while (pos < len && !s->stopped) {
		if (s->remaining) {
			size_t take = len - pos < s->remaining ? len - pos : s->remaining;
			s->remaining -= (uint32_t)take;
			pos += take;
			continue;
		}
		size_t start = pos;
		size_t already = s->have; /* header bytes that came in earlier chunks */
		size_t need;
		for (;;) {
			need = s->have == 0 ? 1 : header_need(s);
			if (need == 0 || s->have >= need || pos >= len)
				break;
			s->hdr[s->have++] = buf[pos++];
		}
		if (!need) {
			s->stopped = 1;
			break;
		}
		if (s->have < need)
			break; /* header continues in the next chunk */

		struct tlsrec_unit u;
		if (describe(s, &u) < 0 || u.length < s->have) {
			s->stopped = 1;
			break;
		}
		u.offset = already ? 0 : start;
		u.start_back = already;
		if (cb && cb(&u, arg)) {
			/* Give back the header bytes of this chunk; the caller keeps
			 * the unit. */
			s->have = already;
			s->bytes += start;
			return start;
		}
		s->units++;
		if (u.kind == TLSREC_TLS) {
			s->tls = 1;
			s->tls_records++;
		}
		s->remaining = u.length - (uint32_t)s->have;
		s->have = 0;
	}
	if (s->stopped)
		pos = len;
	s->bytes += pos;
	return pos;
}
