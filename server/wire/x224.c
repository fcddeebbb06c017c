/* x224.c — parser of the client's first message: TPKT header, X.224
 * Connection Request, optional routing token or mstshash cookie, optional
 * RDP_NEG_REQ and, when its flags say so, RDP_CORRELATION_INFO
 * (MS-RDPBCGR 2.2.1.1).
 *
 * The caller parses again after every read until the answer is not
 * NEED_MORE, so the parser must judge a prefix. It walks the request byte
 * by byte and runs each check at the first byte that can fail it, using the
 * TPKT length (known from byte 3 on) to refuse a structure that cannot fit.
 * As a result:
 *   - NEED_MORE means some completion of the bytes seen is a valid request,
 *     so garbage is refused at the first byte no valid request could have;
 *   - the verdict depends only on the bytes seen, so once a prefix gets an
 *     error, every longer delivery of the same bytes gets the same error.
 * Bytes beyond the TPKT length belong to the client's next message and are
 * never looked at. */
#include "wire/x224.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define TPKT_VERSION 3
#define PDU_MIN 11 /* TPKT header (4) + X.224 CR header (7, from LI on) */
/* LI counts every byte after itself and is one byte, 255 being reserved by
 * X.224, so no request is longer than this whatever X224_REQUEST_MAX says. */
#define LI_MAX 254
#define PDU_MAX (5 + LI_MAX)
#define TPDU_CR 0xE0 /* high nibble; the low nibble is CDT */
#define NEG_REQ_TYPE 0x01
#define NEG_REQ_LEN 8
#define CORRELATION_INFO_PRESENT 0x08
#define CORRELATION_TYPE 0x06
#define CORRELATION_LEN 36

static const char cookie_prefix[] = "Cookie: mstshash=";
#define COOKIE_PREFIX_LEN (sizeof(cookie_prefix) - 1)

/* X224_OK if p[i] == want, NEED_MORE if p[i] has not arrived, else err. */
static int expect_byte(const uint8_t *p, size_t n, size_t i, uint8_t want, int err)
{
	if (i >= n)
		return X224_NEED_MORE;
	return p[i] == want ? X224_OK : err;
}

/* What may follow the token (or start the variable part): `rest` bytes,
 * which can only be an RDP_NEG_REQ, alone or with its correlation info. */
static int check_rest_size(size_t rest)
{
	if (rest < NEG_REQ_LEN)
		return X224_ERR_NEG_REQ;
	if (rest != NEG_REQ_LEN && rest != NEG_REQ_LEN + CORRELATION_LEN)
		return X224_ERR_TRAILING;
	return X224_OK;
}

/* Routing token or cookie: everything up to the first CR LF, which must lie
 * inside the PDU. p[0..n) is present out of `total` bytes left in the PDU.
 * On X224_OK, *used is the token's size including CR LF. */
static int parse_token(const uint8_t *p, size_t n, size_t total, struct x224_request *req,
                       size_t *used)
{
	int cookie = 1; /* every byte so far matches the cookie form */
	size_t i;

	for (i = 0;; i++) {
		uint8_t c;

		if (i >= n)
			return X224_NEED_MORE;
		c = p[i];
		if (i < COOKIE_PREFIX_LEN && c != (uint8_t)cookie_prefix[i])
			cookie = 0;
		if (c == '\r') {
			if (i + 2 > total)
				return X224_ERR_COOKIE;
			if (i + 1 >= n)
				return X224_NEED_MORE;
			if (p[i + 1] == '\n')
				break;
			/* A lone CR: a control byte inside a cookie value. */
			if (cookie)
				return X224_ERR_COOKIE;
			continue;
		}
		/* A cookie value is a user name: no NUL or other control bytes.
		 * Routing tokens are opaque to us and may hold anything. */
		if (cookie && i >= COOKIE_PREFIX_LEN && c < 0x20)
			return X224_ERR_COOKIE;
		/* The CR LF has to start after this byte and still fit. */
		if (i + 3 > total)
			return X224_ERR_COOKIE;
	}

	/* A CR never matches the prefix, so a cookie here has all of it. */
	if (cookie && i >= COOKIE_PREFIX_LEN) {
		size_t vlen = i - COOKIE_PREFIX_LEN;
		size_t keep = vlen < X224_COOKIE_MAX ? vlen : X224_COOKIE_MAX;

		req->has_cookie = 1;
		memcpy(req->cookie, p + COOKIE_PREFIX_LEN, keep);
		req->cookie[keep] = '\0';
		req->cookie_truncated = vlen > X224_COOKIE_MAX;
	} else {
		req->has_routing_token = 1;
	}
	*used = i + 2;
	return X224_OK;
}

/* RDP_NEG_REQ, then RDP_CORRELATION_INFO if flagged. `total` is 8 or 44
 * (check_rest_size has run); p[0..n) is present. */
static int parse_neg_req(const uint8_t *p, size_t n, size_t total, struct x224_request *req)
{
	const uint8_t *ci = p + NEG_REQ_LEN;
	uint8_t flags;
	int rc;

	if ((rc = expect_byte(p, n, 0, NEG_REQ_TYPE, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	if (n < 2)
		return X224_NEED_MORE;
	flags = p[1];
	/* The flag decides whether the 36 bytes after it belong to the request. */
	if ((flags & CORRELATION_INFO_PRESENT) && total != NEG_REQ_LEN + CORRELATION_LEN)
		return X224_ERR_NEG_REQ;
	if (!(flags & CORRELATION_INFO_PRESENT) && total != NEG_REQ_LEN)
		return X224_ERR_TRAILING;
	if ((rc = expect_byte(p, n, 2, NEG_REQ_LEN, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	if ((rc = expect_byte(p, n, 3, 0, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	if (n < NEG_REQ_LEN)
		return X224_NEED_MORE;
	req->has_neg_req = 1;
	req->neg_flags = flags;
	req->requested_protocols =
	        (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	if (total == NEG_REQ_LEN)
		return X224_OK;

	/* RDP_CORRELATION_INFO: type, flags (unchecked), length, 32 opaque bytes. */
	n -= NEG_REQ_LEN;
	if ((rc = expect_byte(ci, n, 0, CORRELATION_TYPE, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	if ((rc = expect_byte(ci, n, 2, CORRELATION_LEN, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	if ((rc = expect_byte(ci, n, 3, 0, X224_ERR_NEG_REQ)) != X224_OK)
		return rc;
	return n < CORRELATION_LEN ? X224_NEED_MORE : X224_OK;
}

/* Everything after the 7-byte X.224 header: p[0..n) present of `total`. */
static int parse_variable(const uint8_t *p, size_t n, size_t total, struct x224_request *req)
{
	size_t used = 0;
	int rc;

	if (total == 0)
		return X224_OK;
	if (n < 1)
		return X224_NEED_MORE;
	/* As RDP servers do: a first byte other than the RDP_NEG_REQ type starts
	 * a token. */
	if (p[0] != NEG_REQ_TYPE) {
		if ((rc = parse_token(p, n, total, req, &used)) != X224_OK)
			return rc;
		if (used == total)
			return X224_OK;
	}
	if ((rc = check_rest_size(total - used)) != X224_OK)
		return rc;
	return parse_neg_req(p + used, n - used, total - used, req);
}

/* `out` may be NULL when only the verdict is wanted. */
int x224_parse_request(const uint8_t *buf, size_t len, struct x224_request *out)
{
	struct x224_request req;
	size_t total, n;
	int rc;

	if (len < 1)
		return X224_NEED_MORE;
	if (buf[0] != TPKT_VERSION)
		return X224_ERR_TPKT_VERSION;
	/* Byte 1 is reserved. The high length byte alone can rule a request out;
	 * say so now unless the low byte could still change which error it is. */
	if (len < 3)
		return X224_NEED_MORE;
	if ((size_t)buf[2] << 8 > X224_REQUEST_MAX)
		return X224_ERR_OVERSIZE;
	if ((size_t)buf[2] << 8 > PDU_MAX && ((size_t)buf[2] << 8 | 0xFF) <= X224_REQUEST_MAX)
		return X224_ERR_LI;
	if (len < 4)
		return X224_NEED_MORE;
	total = (size_t)buf[2] << 8 | buf[3];
	/* 12 leaves one byte after the X.224 header: too short for a token
	 * (it needs CR LF) and for an RDP_NEG_REQ. */
	if (total < PDU_MIN || total == PDU_MIN + 1)
		return X224_ERR_TPKT_LENGTH;
	if (total > X224_REQUEST_MAX)
		return X224_ERR_OVERSIZE;
	if (total > PDU_MAX)
		return X224_ERR_LI;

	n = len < total ? len : total;
	if (n < 5)
		return X224_NEED_MORE;
	if ((size_t)buf[4] != total - 5)
		return X224_ERR_LI;
	if (n < 6)
		return X224_NEED_MORE;
	if ((buf[5] & 0xF0) != TPDU_CR)
		return X224_ERR_NOT_CR;
	/* DST-REF, SRC-REF and class option: clients differ, servers ignore them. */
	if (n < PDU_MIN)
		return X224_NEED_MORE;

	memset(&req, 0, sizeof(req));
	req.length = total;
	rc = parse_variable(buf + PDU_MIN, n - PDU_MIN, total - PDU_MIN, &req);
	if (rc == X224_OK && out)
		memcpy(out, &req, sizeof(req));
	return rc;
}

const char *x224_status_name(int status)
{
	switch (status) {
	case X224_OK:
		return "ok";
	case X224_NEED_MORE:
		return "need-more";
	case X224_ERR_TPKT_VERSION:
		return "tpkt-version";
	case X224_ERR_TPKT_LENGTH:
		return "tpkt-length";
	case X224_ERR_OVERSIZE:
		return "oversize";
	case X224_ERR_LI:
		return "x224-li";
	case X224_ERR_NOT_CR:
		return "not-connection-request";
	case X224_ERR_COOKIE:
		return "cookie";
	case X224_ERR_NEG_REQ:
		return "neg-req";
	case X224_ERR_TRAILING:
		return "trailing";
	}
	return "unknown";
}

#define STR_(x) #x
#define STR(x) STR_(x)
#define OVERSIZE_TEXT "TPKT length is above " STR(X224_REQUEST_MAX) " bytes, too long for a request"

const char *x224_status_text(int status)
{
	switch (status) {
	case X224_OK:
		return "a complete, well-formed X.224 Connection Request";
	case X224_NEED_MORE:
		return "the X.224 Connection Request is well-formed so far but incomplete; "
		       "waiting for more bytes";
	case X224_ERR_TPKT_VERSION:
		return "first byte is not TPKT version 3 (not an RDP connection request; "
		       "a bare TLS ClientHello starts with 0x16)";
	case X224_ERR_TPKT_LENGTH:
		return "TPKT length cannot hold an X.224 Connection Request "
		       "(it is below the 11-byte minimum, or 12)";
	case X224_ERR_OVERSIZE:
		return OVERSIZE_TEXT;
	case X224_ERR_LI:
		return "X.224 length indicator is not the TPKT length minus 5 "
		       "(a one-byte indicator also limits the request to 259 bytes)";
	case X224_ERR_NOT_CR:
		return "X.224 TPDU is not a Connection Request (code 0xE0)";
	case X224_ERR_COOKIE:
		return "routing token or cookie is not terminated by CR LF inside the TPKT, "
		       "or the mstshash cookie contains a control byte";
	case X224_ERR_NEG_REQ:
		return "RDP_NEG_REQ or its RDP_CORRELATION_INFO is truncated or has a wrong "
		       "type or length field";
	case X224_ERR_TRAILING:
		return "unexpected bytes after the RDP_NEG_REQ inside the TPKT";
	}
	return "unknown status";
}

/* Appends s to buf, keeping room for the NUL that always ends it. */
static void append(char *buf, size_t n, size_t *used, const char *s)
{
	while (*s && *used + 1 < n)
		buf[(*used)++] = *s++;
	buf[*used] = '\0';
}

const char *x224_protocols_str(uint32_t protocols, char *buf, size_t n)
{
	static const struct {
		uint32_t bit;
		const char *name;
	} names[] = {
	        {X224_PROTOCOL_SSL, "ssl"},
	        {X224_PROTOCOL_HYBRID, "hybrid"},
	        {X224_PROTOCOL_RDSTLS, "rdstls"},
	        {X224_PROTOCOL_HYBRID_EX, "hybrid-ex"},
	};
	size_t used = 0, i;
	int first = 1;

	if (!buf || n == 0)
		return buf;
	buf[0] = '\0';
	if (protocols == X224_PROTOCOL_RDP) {
		append(buf, n, &used, "rdp");
		return buf;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(protocols & names[i].bit))
			continue;
		if (!first)
			append(buf, n, &used, ",");
		append(buf, n, &used, names[i].name);
		protocols &= ~names[i].bit;
		first = 0;
	}
	if (protocols) {
		char hex[16];

		snprintf(hex, sizeof(hex), "0x%" PRIx32, protocols);
		if (!first)
			append(buf, n, &used, ",");
		append(buf, n, &used, hex);
	}
	return buf;
}
