/* udp.h — the UDP side of multitransport: MS-RDPEUDP SYN datagrams, decoded
 * for the event log (what a client's first UDP datagram says) and built for
 * the project's own test client. A SYN is an RDPUDP_FEC_HEADER (network
 * byte order) with RDPUDP_FLAG_SYN, an RDPUDP_SYNDATA_PAYLOAD, optionally a
 * correlation id and an RDPUDP_SYNDATAEX_PAYLOAD, whose version 3 form
 * carries the SHA-256 of the Initiate Multitransport Request's
 * securityCookie: that hash ties a datagram to its TCP connection. The
 * datagram is zero-padded to 1232 bytes. */
#ifndef RDPFAULT_FAULTS_UDP_H
#define RDPFAULT_FAULTS_UDP_H

#include <stddef.h>
#include <stdint.h>

#define UDP_SYN_LEN 1232
#define UDP_FLAG_SYN 0x0001u
#define UDP_FLAG_ACK 0x0004u
#define UDP_FLAG_SYNLOSSY 0x0200u
#define UDP_FLAG_CORRELATION_ID 0x0800u
#define UDP_FLAG_SYNEX 0x1000u
#define UDP_VERSION_3 0x0101u
#define UDP_COOKIE_HASH_LEN 32

struct udp_syn {
	uint32_t snSourceAck;
	uint16_t uReceiveWindowSize;
	uint16_t uFlags;
	uint32_t snInitialSequenceNumber;
	uint16_t uUpStreamMtu, uDownStreamMtu;
	int has_correlation_id;
	uint8_t correlation_id[16];
	int has_synex;
	uint16_t uSynExFlags, uUdpVer;
	int has_cookie_hash;
	uint8_t cookie_hash[UDP_COOKIE_HASH_LEN];
};

/* 1 when the datagram is a SYN (filled into *s); 0 when it is something
 * else (no SYN flag, or shorter than a SYN's fixed part), with *why. */
int udp_parse_syn(const uint8_t *d, size_t len, struct udp_syn *s, const char **why);

/* A client SYN of version 3 carrying SHA-256(cookie): UDP_SYN_LEN bytes.
 * lossy sets RDPUDP_FLAG_SYNLOSSY. Returns UDP_SYN_LEN, or 0 when the hash
 * cannot be computed. */
size_t udp_build_syn(uint32_t isn, const uint8_t cookie[16], int lossy, uint8_t out[UDP_SYN_LEN]);

/* SHA-256 of a 16-byte securityCookie, as a SYN carries it. 0, or -1. */
int udp_cookie_hash(const uint8_t cookie[16], uint8_t out[UDP_COOKIE_HASH_LEN]);

#endif
