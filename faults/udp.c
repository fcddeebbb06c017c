/* udp.c — MS-RDPEUDP SYN datagrams (see udp.h). */
#include "faults/udp.h"

#include <string.h>

#include <openssl/evp.h>

static uint16_t be16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}
static uint32_t be32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}
static void put16(uint8_t *b, unsigned v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}
static void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

int udp_parse_syn(const uint8_t *d, size_t len, struct udp_syn *s, const char **why)
{
	memset(s, 0, sizeof(*s));
	if (len < 16) {
		*why = "shorter than an RDPUDP_FEC_HEADER and a SYN payload (16 bytes)";
		return 0;
	}
	s->snSourceAck = be32(d);
	s->uReceiveWindowSize = be16(d + 4);
	s->uFlags = be16(d + 6);
	if (!(s->uFlags & UDP_FLAG_SYN)) {
		*why = "no RDPUDP_FLAG_SYN in uFlags";
		return 0;
	}
	s->snInitialSequenceNumber = be32(d + 8);
	s->uUpStreamMtu = be16(d + 12);
	s->uDownStreamMtu = be16(d + 14);
	size_t off = 16;
	if (s->uFlags & UDP_FLAG_CORRELATION_ID) {
		if (len < off + 32) { /* the id, then 16 reserved bytes */
			*why = "RDPUDP_FLAG_CORRELATION_ID set but the payload is cut short";
			return 1;
		}
		s->has_correlation_id = 1;
		memcpy(s->correlation_id, d + off, 16);
		off += 32;
	}
	if (s->uFlags & UDP_FLAG_SYNEX) {
		if (len < off + 4) {
			*why = "RDPUDP_FLAG_SYNEX set but the payload is cut short";
			return 1;
		}
		s->has_synex = 1;
		s->uSynExFlags = be16(d + off);
		s->uUdpVer = be16(d + off + 2);
		off += 4;
		if (s->uUdpVer == UDP_VERSION_3 && len >= off + UDP_COOKIE_HASH_LEN) {
			s->has_cookie_hash = 1;
			memcpy(s->cookie_hash, d + off, UDP_COOKIE_HASH_LEN);
		}
	}
	*why = NULL;
	return 1;
}

int udp_cookie_hash(const uint8_t cookie[16], uint8_t out[UDP_COOKIE_HASH_LEN])
{
	unsigned n = 0;
	return EVP_Digest(cookie, 16, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

size_t udp_build_syn(uint32_t isn, const uint8_t cookie[16], int lossy, uint8_t out[UDP_SYN_LEN])
{
	memset(out, 0, UDP_SYN_LEN);
	put32(out, 0xFFFFFFFFu); /* snSourceAck: -1 in a SYN */
	put16(out + 4, 64);      /* uReceiveWindowSize */
	put16(out + 6, UDP_FLAG_SYN | UDP_FLAG_SYNEX | (lossy ? UDP_FLAG_SYNLOSSY : 0));
	put32(out + 8, isn);
	put16(out + 12, UDP_SYN_LEN);
	put16(out + 14, UDP_SYN_LEN);
	put16(out + 16, 0x0001); /* RDPUDP_VERSION_INFO_VALID */
	put16(out + 18, UDP_VERSION_3);
	return udp_cookie_hash(cookie, out + 20) == 0 ? UDP_SYN_LEN : 0;
}
