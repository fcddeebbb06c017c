/* x224.h — parser of the client's first message: TPKT + X.224 Connection
 * Request + optional routing token or cookie + optional RDP_NEG_REQ
 * (MS-RDPBCGR 2.2.1.1). These bytes are untrusted and arrive in pieces: the
 * parser reads only inside the buffer it is given, never consumes anything,
 * and says whether it needs more bytes, found a complete request, or found
 * a request that is wrong (and why). */
#ifndef RDPFAULT_X224_H
#define RDPFAULT_X224_H

#include <stddef.h>
#include <stdint.h>

#define X224_COOKIE_MAX 127   /* longest mstshash value kept (bytes) */
#define X224_REQUEST_MAX 4096 /* a longer TPKT is refused as oversize */

/* RDP_NEG_REQ requestedProtocols bits (MS-RDPBCGR 2.2.1.1.1). */
#define X224_PROTOCOL_RDP 0x00000000u
#define X224_PROTOCOL_SSL 0x00000001u
#define X224_PROTOCOL_HYBRID 0x00000002u
#define X224_PROTOCOL_RDSTLS 0x00000004u
#define X224_PROTOCOL_HYBRID_EX 0x00000008u

enum x224_status {
	X224_OK = 0,                /* a complete, well-formed request */
	X224_NEED_MORE = 1,         /* well-formed so far; wait for more bytes */
	X224_ERR_TPKT_VERSION = -1, /* first byte is not 3: not RDP (e.g. a bare TLS ClientHello) */
	X224_ERR_TPKT_LENGTH = -2,  /* TPKT length below the minimum */
	X224_ERR_OVERSIZE = -3,     /* TPKT length above X224_REQUEST_MAX */
	X224_ERR_LI = -4,           /* X.224 length indicator disagrees with the TPKT length */
	X224_ERR_NOT_CR = -5,       /* X.224 TPDU is not a Connection Request (0xE0) */
	X224_ERR_COOKIE = -6,       /* cookie/routing token not terminated by CR LF */
	X224_ERR_NEG_REQ = -7,      /* RDP_NEG_REQ of wrong type or length */
	X224_ERR_TRAILING = -8      /* bytes after the RDP_NEG_REQ inside the TPKT */
};

struct x224_request {
	size_t length;                    /* whole TPKT length */
	int has_cookie;                   /* "Cookie: mstshash=VALUE\r\n" present */
	char cookie[X224_COOKIE_MAX + 1]; /* VALUE, NUL-terminated, truncated to X224_COOKIE_MAX */
	int cookie_truncated;
	int has_routing_token; /* any other CR LF-terminated token */
	int has_neg_req;
	uint8_t neg_flags;
	uint32_t requested_protocols; /* 0 (PROTOCOL_RDP) when there is no RDP_NEG_REQ */
};

/* Parses buf[0..len). Returns an enum x224_status. `out` is filled only
 * on X224_OK. */
int x224_parse_request(const uint8_t *buf, size_t len, struct x224_request *out);

/* A short, stable text for a status, e.g. "tpkt-version". */
const char *x224_status_name(int status);
/* A sentence explaining it, for logs. */
const char *x224_status_text(int status);

/* "rdp", "ssl", "hybrid", "rdstls", "hybrid-ex" joined by ","; "rdp" for 0. */
const char *x224_protocols_str(uint32_t protocols, char *buf, size_t n);

#endif
