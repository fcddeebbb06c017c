/* test_x224.c — unit tests of the X.224 Connection Request parser
 * (server/x224.c): the request shapes real clients send, every error with
 * the exact prefix length at which it is first reported, split delivery,
 * pipelined bytes, garbage, and a fixed-seed random comparison against a
 * deliberately plain reference parser written here. Every parse runs on an
 * exact-size heap copy, so an over-read shows up under ASan. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/x224.h"

/* Parses an exact-size heap copy of b[0..len). */
static int parse(const uint8_t *b, size_t len, struct x224_request *out)
{
	uint8_t *copy = NULL;
	int rc;

	if (len) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, b, len);
	}
	rc = x224_parse_request(copy, len, out);
	free(copy);
	return rc;
}

static void fill_canary(struct x224_request *r)
{
	memset(r, 0xA5, sizeof(*r));
}

static void assert_canary(const struct x224_request *r)
{
	struct x224_request c;

	fill_canary(&c);
	assert_memory_equal(r, &c, sizeof(c));
}

static void assert_req_equal(const struct x224_request *a, const struct x224_request *b)
{
	assert_int_equal(a->length, b->length);
	assert_int_equal(a->has_cookie, b->has_cookie);
	assert_string_equal(a->cookie, b->cookie);
	assert_int_equal(a->cookie_truncated, b->cookie_truncated);
	assert_int_equal(a->has_routing_token, b->has_routing_token);
	assert_int_equal(a->has_neg_req, b->has_neg_req);
	assert_int_equal(a->neg_flags, b->neg_flags);
	assert_int_equal(a->requested_protocols, b->requested_protocols);
}

/* Builds TPKT + X.224 CR + `var` (token, RDP_NEG_REQ... given verbatim),
 * with the TPKT length and LI set to match. Returns the length. */
static size_t build(uint8_t *b, const void *var, size_t var_len)
{
	static const uint8_t hdr[11] = {3, 0, 0, 0, 0, 0xE0, 0, 0, 0, 0, 0};
	size_t len = sizeof(hdr) + var_len;

	memcpy(b, hdr, sizeof(hdr));
	memcpy(b + sizeof(hdr), var, var_len);
	b[2] = (uint8_t)(len >> 8);
	b[3] = (uint8_t)len;
	b[4] = (uint8_t)(len - 5);
	return len;
}

/* Appends an RDP_NEG_REQ to v at *n. */
static void put_neg(uint8_t *v, size_t *n, uint8_t flags, uint32_t protocols)
{
	uint8_t neg[8] = {1,
	                  flags,
	                  8,
	                  0,
	                  (uint8_t)protocols,
	                  (uint8_t)(protocols >> 8),
	                  (uint8_t)(protocols >> 16),
	                  (uint8_t)(protocols >> 24)};

	memcpy(v + *n, neg, sizeof(neg));
	*n += sizeof(neg);
}

static void put(uint8_t *v, size_t *n, const void *s, size_t len)
{
	memcpy(v + *n, s, len);
	*n += len;
}

#define PUTS(v, n, s) put((v), (n), (s), sizeof(s) - 1)

/* A valid request: every strict prefix says NEED_MORE and leaves `out`
 * alone, the whole says OK, and pipelined bytes after it change nothing. */
static void assert_valid(const uint8_t *b, size_t len, const struct x224_request *want)
{
	struct x224_request got;
	uint8_t ext[512];
	size_t k;

	for (k = 0; k < len; k++) {
		fill_canary(&got);
		assert_int_equal(parse(b, k, &got), X224_NEED_MORE);
		assert_canary(&got);
	}
	fill_canary(&got);
	assert_int_equal(parse(b, len, &got), X224_OK);
	assert_req_equal(&got, want);

	/* The client's next message (a TLS ClientHello) already in the buffer. */
	assert_true(len + 8 <= sizeof(ext));
	memcpy(ext, b, len);
	memcpy(ext + len, "\x16\x03\x01\x02\x00\x01\r\n", 8);
	for (k = len; k <= len + 8; k++) {
		fill_canary(&got);
		assert_int_equal(parse(ext, k, &got), X224_OK);
		assert_req_equal(&got, want);
	}
	/* out may be NULL when only the verdict matters. */
	assert_int_equal(parse(b, len, NULL), X224_OK);
}

/* An invalid input: prefixes shorter than `at` say NEED_MORE, `at` and every
 * longer prefix (up to len) say `status`, and `out` is never touched. */
static void assert_error_at(const uint8_t *b, size_t len, int status, size_t at)
{
	struct x224_request got;
	size_t k;

	assert_true(at <= len);
	for (k = 0; k <= len; k++) {
		fill_canary(&got);
		assert_int_equal(parse(b, k, &got), k < at ? X224_NEED_MORE : status);
		assert_canary(&got);
	}
}

static struct x224_request expected(size_t length)
{
	struct x224_request r;

	memset(&r, 0, sizeof(r));
	r.length = length;
	return r;
}

/* ---- Requests as real clients send them. ---- */

/* xfreerdp 2.x with /u:USER, TLS + NLA offered. */
static const uint8_t xfreerdp_nla[] = "\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00"
                                      "Cookie: mstshash=USER\r\n"
                                      "\x01\x00\x08\x00\x03\x00\x00\x00";
/* xfreerdp 2.x with /sec-ext: HYBRID_EX too. */
static const uint8_t xfreerdp_ext[] = "\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00"
                                      "Cookie: mstshash=USER\r\n"
                                      "\x01\x00\x08\x00\x0b\x00\x00\x00";
/* rdesktop 1.9 with -u alice (TLS + CredSSP). */
static const uint8_t rdesktop[] = "\x03\x00\x00\x2b\x26\xe0\x00\x00\x00\x00\x00"
                                  "Cookie: mstshash=alice\r\n"
                                  "\x01\x00\x08\x00\x03\x00\x00\x00";
/* mstsc: cookie, NEG_REQ flagged CORRELATION_INFO_PRESENT, correlation info. */
static const uint8_t mstsc[] = "\x03\x00\x00\x4e\x49\xe0\x00\x00\x00\x00\x00"
                               "Cookie: mstshash=jdoe\r\n"
                               "\x01\x08\x08\x00\x0b\x00\x00\x00"
                               "\x06\x00\x24\x00"
                               "\x5b\x61\x3c\x8e\x11\x22\x4f\x33\x9a\x44\x55\x66\x77\x88\x99\xaa"
                               "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00";
/* No user name: no cookie, just the NEG_REQ. */
static const uint8_t neg_only[] = "\x03\x00\x00\x13\x0e\xe0\x00\x00\x00\x00\x00"
                                  "\x01\x00\x08\x00\x03\x00\x00\x00";
/* Pure legacy RDP: the bare 11-byte request. */
static const uint8_t legacy[] = "\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00";
/* Old rdesktop: a cookie and no NEG_REQ. */
static const uint8_t legacy_cookie[] = "\x03\x00\x00\x21\x1c\xe0\x00\x00\x00\x00\x00"
                                       "Cookie: mstshash=bob\r\n";

#define LEN(a) (sizeof(a) - 1) /* the string literals above carry a NUL */

static void test_xfreerdp(void **state)
{
	struct x224_request w = expected(42);

	(void)state;
	w.has_cookie = 1;
	strcpy(w.cookie, "USER");
	w.has_neg_req = 1;
	w.requested_protocols = X224_PROTOCOL_SSL | X224_PROTOCOL_HYBRID;
	assert_int_equal(LEN(xfreerdp_nla), 42);
	assert_valid(xfreerdp_nla, LEN(xfreerdp_nla), &w);

	w.requested_protocols = 0xB;
	assert_valid(xfreerdp_ext, LEN(xfreerdp_ext), &w);
}

static void test_rdesktop(void **state)
{
	struct x224_request w = expected(43);

	(void)state;
	w.has_cookie = 1;
	strcpy(w.cookie, "alice");
	w.has_neg_req = 1;
	w.requested_protocols = 3;
	assert_valid(rdesktop, LEN(rdesktop), &w);
}

static void test_mstsc_correlation_info(void **state)
{
	struct x224_request w = expected(78);

	(void)state;
	w.has_cookie = 1;
	strcpy(w.cookie, "jdoe");
	w.has_neg_req = 1;
	w.neg_flags = 0x08;
	w.requested_protocols = 0xB;
	assert_int_equal(LEN(mstsc), 78);
	assert_valid(mstsc, LEN(mstsc), &w);
}

static void test_neg_req_without_cookie(void **state)
{
	struct x224_request w = expected(19);
	uint8_t v[64], b[128];
	size_t n = 0;

	(void)state;
	w.has_neg_req = 1;
	w.requested_protocols = 3;
	assert_valid(neg_only, LEN(neg_only), &w);

	/* Builder agrees with the literal. */
	put_neg(v, &n, 0, 3);
	assert_int_equal(build(b, v, n), LEN(neg_only));
	assert_memory_equal(b, neg_only, LEN(neg_only));

	/* Flags other than CORRELATION_INFO_PRESENT (restricted admin) are kept. */
	n = 0;
	put_neg(v, &n, 0x01, 0xFFFFFFFFu);
	w.neg_flags = 0x01;
	w.requested_protocols = 0xFFFFFFFFu;
	assert_valid(b, build(b, v, n), &w);
}

static void test_legacy(void **state)
{
	struct x224_request w = expected(11);

	(void)state;
	assert_valid(legacy, LEN(legacy), &w);

	w = expected(33);
	w.has_cookie = 1;
	strcpy(w.cookie, "bob");
	assert_valid(legacy_cookie, LEN(legacy_cookie), &w);
}

static void test_empty_cookie(void **state)
{
	struct x224_request w = expected(38);
	uint8_t v[64], b[128];
	size_t n = 0, len;

	(void)state;
	PUTS(v, &n, "Cookie: mstshash=\r\n");
	put_neg(v, &n, 0, 1);
	len = build(b, v, n);
	w.has_cookie = 1;
	w.has_neg_req = 1;
	w.requested_protocols = 1;
	assert_int_equal(len, 38);
	assert_valid(b, len, &w);
}

static void test_cookie_value_bytes(void **state)
{
	struct x224_request w;
	uint8_t v[64], b[128];
	size_t n = 0;

	(void)state;
	/* Spaces, backslash, DEL and non-ASCII (codepage) bytes are all kept. */
	PUTS(v, &n, "Cookie: mstshash=DOM\\J D\x7f\xe9\r\n");
	w = expected(11 + n);
	w.has_cookie = 1;
	strcpy(w.cookie, "DOM\\J D\x7f\xe9");
	assert_valid(b, build(b, v, n), &w);
}

static void test_routing_token(void **state)
{
	static const struct {
		const char *s;
		size_t len;
	} tokens[] = {
#define T(s) {s, sizeof(s) - 1}
	        T("Cookie: msts=3640205228.15629.0000\r\n"),
	        T("cookie: mstshash=lowercase\r\n"), /* the cookie form is case-sensitive */
	        T("Cookie: mstshash\r\n"),           /* no '=' */
	        T("Cookie: mstshas\r\n"),
	        T("tsv://MS Terminal Services Plugin.1.Sessions\r\n"),
	        T("\r\n"),                     /* empty token */
	        T("a\rb\r\r\n"),               /* lone CRs are opaque in a token */
	        T("\x00\x1f binary \xff\r\n"), /* so are control bytes */
#undef T
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		uint8_t v[128], b[256];
		size_t n = 0, tlen = tokens[i].len;
		struct x224_request w;

		put(v, &n, tokens[i].s, tlen);
		put_neg(v, &n, 0, 3);
		w = expected(11 + n);
		w.has_routing_token = 1;
		w.has_neg_req = 1;
		w.requested_protocols = 3;
		assert_valid(b, build(b, v, n), &w);

		/* And without a NEG_REQ after it. */
		w = expected(11 + tlen);
		w.has_routing_token = 1;
		assert_valid(b, build(b, v, tlen), &w);
	}
}

static void test_cookie_truncation(void **state)
{
	/* Around X224_COOKIE_MAX, and the longest value a 259-byte request holds. */
	static const size_t lens[] = {1, X224_COOKIE_MAX - 1, X224_COOKIE_MAX, X224_COOKIE_MAX + 1,
	                              221};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t v[300], b[300];
		size_t n = 0, j, keep;
		struct x224_request w;

		PUTS(v, &n, "Cookie: mstshash=");
		for (j = 0; j < lens[i]; j++)
			v[n++] = (uint8_t)('a' + j % 26);
		PUTS(v, &n, "\r\n");
		put_neg(v, &n, 0, 3);
		w = expected(11 + n);
		w.has_cookie = 1;
		keep = lens[i] < X224_COOKIE_MAX ? lens[i] : X224_COOKIE_MAX;
		memcpy(w.cookie, v + 17, keep);
		w.cookie[keep] = '\0';
		w.cookie_truncated = lens[i] > X224_COOKIE_MAX;
		w.has_neg_req = 1;
		w.requested_protocols = 3;
		assert_valid(b, build(b, v, n), &w);
	}
}

static void test_header_fields_tolerated(void **state)
{
	uint8_t b[64];
	struct x224_request w = expected(19);

	(void)state;
	w.has_neg_req = 1;
	w.requested_protocols = 3;
	memcpy(b, neg_only, LEN(neg_only));
	b[1] = 0xFF;                              /* TPKT reserved */
	b[5] = 0xE3;                              /* CDT in the low nibble */
	memcpy(b + 6, "\x12\x34\x56\x78\x02", 5); /* DST-REF, SRC-REF, class */
	assert_valid(b, LEN(neg_only), &w);
}

/* The largest request a one-byte LI allows: 259 bytes. */
static void test_longest_request(void **state)
{
	uint8_t v[300], b[300];
	size_t n = 0;
	struct x224_request w;

	(void)state;
	memset(v, 'x', 246);
	n = 246;
	PUTS(v, &n, "\r\n");
	assert_int_equal(build(b, v, n), 259);
	assert_int_equal(b[4], 254);
	w = expected(259);
	w.has_routing_token = 1;
	assert_valid(b, 259, &w);
}

/* ---- Errors, each with the prefix length at which it is first known. ---- */

struct error_case {
	const char *what;
	const char *bytes;
	size_t len;
	int status;
	size_t at;
};

#define EC(what, s, status, at)                                                                    \
	{                                                                                          \
		what, s, sizeof(s) - 1, status, at                                                 \
	}
#define HDR(lo, li) "\x03\x00\x00" lo li "\xe0\x00\x00\x00\x00\x00"

static const struct error_case error_cases[] = {
        EC("TLS ClientHello", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", X224_ERR_TPKT_VERSION,
           1),
        EC("HTTP", "GET / HTTP/1.1\r\nHost: x\r\n\r\n", X224_ERR_TPKT_VERSION, 1),
        EC("NUL", "\x00\x00\x00\x13", X224_ERR_TPKT_VERSION, 1),
        EC("TPKT version 2", "\x02\x00\x00\x13\x0e\xe0", X224_ERR_TPKT_VERSION, 1),
        EC("length 0", "\x03\x00\x00\x00\x00\xe0\x00\x00\x00\x00\x00", X224_ERR_TPKT_LENGTH, 4),
        EC("length 4", "\x03\x00\x00\x04", X224_ERR_TPKT_LENGTH, 4),
        EC("length 10", "\x03\x00\x00\x0a\x05\xe0\x00\x00\x00\x00", X224_ERR_TPKT_LENGTH, 4),
        EC("length 12", HDR("\x0c", "\x07") "\x01", X224_ERR_TPKT_LENGTH, 4),
        EC("length 4097", "\x03\x00\x10\x01\xfc\xe0", X224_ERR_OVERSIZE, 4),
        EC("length 0x1100", "\x03\x00\x11\x00", X224_ERR_OVERSIZE, 3),
        EC("length 0xffff", "\x03\x00\xff\xff\xfa\xe0\x00\x00\x00\x00\x00", X224_ERR_OVERSIZE, 3),
        /* 0x10xx is 4096 (too long for the LI) or above 4096: the low byte decides. */
        EC("length 4096", "\x03\x00\x10\x00\xfb\xe0", X224_ERR_LI, 4),
        EC("length 0x0fff", "\x03\x00\x0f\xff", X224_ERR_LI, 3),
        EC("length 512", "\x03\x00\x02\x00\xfb\xe0", X224_ERR_LI, 3),
        EC("length 260", "\x03\x00\x01\x04\xff\xe0", X224_ERR_LI, 4),
        EC("LI one short", HDR("\x13", "\x0d") "\x01\x00\x08\x00\x03\x00\x00\x00", X224_ERR_LI, 5),
        EC("LI one long", HDR("\x13", "\x0f") "\x01\x00\x08\x00\x03\x00\x00\x00", X224_ERR_LI, 5),
        EC("LI of 7 bytes (header only)", HDR("\x13", "\x06") "\x01\x00\x08\x00\x03\x00\x00\x00",
           X224_ERR_LI, 5),
        EC("Connection Confirm", "\x03\x00\x00\x13\x0e\xd0\x00\x00\x00\x00\x00", X224_ERR_NOT_CR,
           6),
        EC("Data TPDU", "\x03\x00\x00\x0b\x06\xf0\x80\x00\x00\x00\x00", X224_ERR_NOT_CR, 6),
        EC("code 0x0E", "\x03\x00\x00\x0b\x06\x0e\x00\x00\x00\x00\x00", X224_ERR_NOT_CR, 6),
        /* Tokens: CR LF must fit inside the TPKT. */
        EC("token without CR LF", HDR("\x10", "\x0b") "abcde", X224_ERR_COOKIE, 15),
        EC("token ends with CR", HDR("\x10", "\x0b") "abcd\r", X224_ERR_COOKIE, 15),
        EC("token with LF only", HDR("\x10", "\x0b") "abc\n\n", X224_ERR_COOKIE, 15),
        EC("two-byte token without CR", HDR("\x0d", "\x08") "ab", X224_ERR_COOKIE, 12),
        EC("cookie without CR LF", HDR("\x20", "\x1b") "Cookie: mstshash=USER", X224_ERR_COOKIE,
           31),
        EC("cookie with NUL",
           HDR("\x21", "\x1c") "Cookie: mstshash=b\x00"
                               "b\r\n",
           X224_ERR_COOKIE, 30),
        EC("cookie with TAB", HDR("\x21", "\x1c") "Cookie: mstshash=\tbb\r\n", X224_ERR_COOKIE, 29),
        EC("cookie with LF", HDR("\x21", "\x1c") "Cookie: mstshash=b\nb\r\n", X224_ERR_COOKIE, 30),
        EC("cookie with lone CR", HDR("\x21", "\x1c") "Cookie: mstshash=b\rb\r\n", X224_ERR_COOKIE,
           31),
        EC("cookie with CR CR LF", HDR("\x21", "\x1c") "Cookie: mstshash=bb\r\r\n", X224_ERR_COOKIE,
           32),
        /* NEG_REQ. */
        EC("NEG_REQ truncated", HDR("\x0e", "\x09") "\x01\x00\x08", X224_ERR_NEG_REQ, 12),
        EC("NEG_REQ length 9", HDR("\x13", "\x0e") "\x01\x00\x09\x00\x03\x00\x00\x00",
           X224_ERR_NEG_REQ, 14),
        EC("NEG_REQ length 0x0108", HDR("\x13", "\x0e") "\x01\x00\x08\x01\x03\x00\x00\x00",
           X224_ERR_NEG_REQ, 15),
        EC("token then NEG_RSP type", HDR("\x17", "\x12") "ab\r\n\x02\x00\x08\x00\x03\x00\x00\x00",
           X224_ERR_NEG_REQ, 16),
        EC("token then a second token", HDR("\x17", "\x12") "ab\r\ncdefgh\r\n", X224_ERR_NEG_REQ,
           16),
        EC("token then 3 bytes", HDR("\x12", "\x0d") "ab\r\n\x01\x00\x08", X224_ERR_NEG_REQ, 15),
        EC("correlation flag, no correlation info",
           HDR("\x13", "\x0e") "\x01\x08\x08\x00\x0b\x00\x00\x00", X224_ERR_NEG_REQ, 13),
        EC("correlation info of wrong type",
           HDR("\x37", "\x32") "\x01\x08\x08\x00\x0b\x00\x00\x00"
                               "\x07\x00\x24\x00"
                               "0123456789abcdef"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00",
           X224_ERR_NEG_REQ, 20),
        EC("correlation info of wrong length",
           HDR("\x37", "\x32") "\x01\x08\x08\x00\x0b\x00\x00\x00"
                               "\x06\x00\x23\x00"
                               "0123456789abcdef"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00",
           X224_ERR_NEG_REQ, 22),
        /* Trailing bytes. */
        EC("NEG_REQ + 1 byte",
           HDR("\x14", "\x0f") "\x01\x00\x08\x00\x03\x00\x00\x00"
                               "\x00",
           X224_ERR_TRAILING, 12),
        EC("NEG_REQ + correlation info, no flag",
           HDR("\x37", "\x32") "\x01\x00\x08\x00\x0b\x00\x00\x00"
                               "\x06\x00\x24\x00"
                               "0123456789abcdef"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00",
           X224_ERR_TRAILING, 13),
        EC("NEG_REQ with flag + 37 bytes",
           HDR("\x38", "\x33") "\x01\x08\x08\x00\x0b\x00\x00\x00"
                               "\x06\x00\x24\x00"
                               "0123456789abcdef"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "\x00\x00\x00\x00\x00\x00\x00\x00"
                               "!",
           X224_ERR_TRAILING, 12),
        EC("token + 20 bytes",
           HDR("\x23", "\x1e") "ab\r\n\x01\x00\x08\x00\x03\x00\x00\x00"
                               "0123456789ab",
           X224_ERR_TRAILING, 15),
};

static void test_errors(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		print_message("  %s\n", c->what);
		assert_error_at((const uint8_t *)c->bytes, c->len, c->status, c->at);
	}
}

/* A length field smaller than what the client wrote: only `length` bytes
 * count, the rest is taken for the next message. */
static void test_length_smaller_than_content(void **state)
{
	uint8_t b[64];
	struct x224_request w = expected(34), got;

	(void)state;
	/* Length and LI cover the cookie only: a valid legacy request + 8 extra. */
	memcpy(b, xfreerdp_nla, LEN(xfreerdp_nla));
	b[3] = 34;
	b[4] = 29;
	w.has_cookie = 1;
	strcpy(w.cookie, "USER");
	assert_int_equal(parse(b, LEN(xfreerdp_nla), &got), X224_OK);
	assert_req_equal(&got, &w);
	assert_valid(b, 34, &w);

	/* Length cuts the NEG_REQ: 5 bytes after the cookie. */
	b[3] = 39;
	b[4] = 34;
	assert_error_at(b, LEN(xfreerdp_nla), X224_ERR_NEG_REQ, 34);

	/* Length cuts the cookie: the CR LF that follows does not count. */
	b[3] = 25;
	b[4] = 20;
	assert_error_at(b, LEN(xfreerdp_nla), X224_ERR_COOKIE, 24);

	/* Length cut without fixing LI. */
	b[3] = 34;
	b[4] = 37;
	assert_error_at(b, LEN(xfreerdp_nla), X224_ERR_LI, 5);
}

/* A bare TLS ClientHello, HTTP and the like are refused on the first byte. */
static void test_garbage_first_byte(void **state)
{
	struct x224_request got;
	int c;

	(void)state;
	for (c = 0; c < 256; c++) {
		uint8_t b = (uint8_t)c;

		fill_canary(&got);
		assert_int_equal(parse(&b, 1, &got),
		                 c == 3 ? X224_NEED_MORE : X224_ERR_TPKT_VERSION);
		assert_canary(&got);
	}
	assert_int_equal(parse(NULL, 0, &got), X224_NEED_MORE);
	assert_canary(&got);
}

/* ---- Random comparison with a plain reference parser. ---- */

/* The whole-message rules, written as simply as possible: 1 and *o set if
 * b[0..len) starts with a complete valid request. */
static int ref_parse(const uint8_t *b, size_t len, struct x224_request *o)
{
	const uint8_t *p, *crlf;
	size_t total, rem;

	if (len < 4 || b[0] != 3)
		return 0;
	total = (size_t)b[2] * 256 + b[3];
	if (total < 11 || total > len || total - 5 > 254 || b[4] != total - 5 ||
	    (b[5] & 0xF0) != 0xE0)
		return 0;
	*o = expected(total);
	p = b + 11;
	rem = total - 11;
	if (rem > 0 && p[0] != 1) {
		size_t tlen, i;

		crlf = memmem(p, rem, "\r\n", 2);
		if (!crlf)
			return 0;
		tlen = (size_t)(crlf - p);
		if (tlen >= 17 && memcmp(p, "Cookie: mstshash=", 17) == 0) {
			for (i = 17; i < tlen; i++)
				if (p[i] < 0x20)
					return 0;
			o->has_cookie = 1;
			o->cookie_truncated = tlen - 17 > X224_COOKIE_MAX;
			memcpy(o->cookie, p + 17,
			       o->cookie_truncated ? X224_COOKIE_MAX : tlen - 17);
		} else {
			o->has_routing_token = 1;
		}
		p += tlen + 2;
		rem -= tlen + 2;
	}
	if (rem == 0)
		return 1;
	if (rem < 8 || p[0] != 1 || p[2] != 8 || p[3] != 0)
		return 0;
	o->has_neg_req = 1;
	o->neg_flags = p[1];
	o->requested_protocols =
	        p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
	p += 8;
	rem -= 8;
	if (o->neg_flags & 0x08)
		return rem == 36 && p[0] == 6 && p[2] == 36 && p[3] == 0;
	return rem == 0;
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static uint32_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

struct tally {
	unsigned ok, need_more, errors;
};

/* The parser agrees with the reference, says NEED_MORE only while the TPKT
 * is incomplete, and its verdicts over the prefixes are consistent: NEED_MORE
 * until the request is decided, then the same answer for every longer one. */
static void check_input(const uint8_t *b, size_t len, struct tally *t)
{
	struct x224_request got, ref, first;
	int rc = 0, decided = 0;
	size_t k;

	for (k = 0; k <= len; k++) {
		int r;

		fill_canary(&got);
		r = parse(b, k, &got);
		if (r != X224_OK)
			assert_canary(&got);
		if (decided) {
			assert_int_equal(r, rc);
			if (r == X224_OK)
				assert_req_equal(&got, &first);
		} else if (r != X224_NEED_MORE) {
			decided = 1;
			rc = r;
			first = got;
		}
		if (r == X224_NEED_MORE)
			assert_true(k < 4 || k < ((size_t)b[2] << 8 | b[3]));
	}
	if (!decided)
		rc = X224_NEED_MORE;
	if (ref_parse(b, len, &ref)) {
		assert_int_equal(rc, X224_OK);
		assert_req_equal(&first, &ref);
		t->ok++;
	} else {
		assert_int_not_equal(rc, X224_OK);
		if (rc == X224_NEED_MORE)
			t->need_more++;
		else
			t->errors++;
	}
}

static void test_random_bytes(void **state)
{
	struct tally t = {0, 0, 0};
	uint8_t b[300];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t len = rng() % 64, j;

		for (j = 0; j < len; j++)
			b[j] = (uint8_t)rng();
		/* Half of them get past the first byte, a quarter have a
		 * plausible header too. */
		if (len > 0 && i % 2)
			b[0] = 3;
		if (len >= 11 && i % 4 == 3) {
			size_t total = 11 + rng() % (len - 10);

			b[2] = 0;
			b[3] = (uint8_t)total;
			b[4] = (uint8_t)(total - 5);
			b[5] = 0xE0;
		}
		check_input(b, len, &t);
	}
	print_message("  random: %u ok, %u need-more, %u errors\n", t.ok, t.need_more, t.errors);
	assert_true(t.errors > 15000);
}

/* Mutations of the valid requests: most are invalid, many stay valid. */
static void test_random_mutations(void **state)
{
	static const struct {
		const uint8_t *b;
		size_t len;
	} seeds[] = {
	        {xfreerdp_nla, LEN(xfreerdp_nla)},
	        {rdesktop, LEN(rdesktop)},
	        {mstsc, LEN(mstsc)},
	        {neg_only, LEN(neg_only)},
	        {legacy, LEN(legacy)},
	        {legacy_cookie, LEN(legacy_cookie)},
	};
	static const uint8_t interesting[] = {0,    1,    3,    6,    8,    '\r',
	                                      '\n', 0x1f, 0x20, 0x24, 0xE0, 0xff};
	struct tally t = {0, 0, 0};
	uint8_t b[300];
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		size_t s = rng() % (sizeof(seeds) / sizeof(seeds[0]));
		size_t len = seeds[s].len, m, nmut = 1 + rng() % 3;

		memcpy(b, seeds[s].b, len);
		for (m = 0; m < nmut; m++) {
			size_t at = rng() % (len + 1);
			uint8_t val = rng() % 2 ? (uint8_t)rng()
			                        : interesting[rng() % sizeof(interesting)];

			switch (rng() % 4) {
			case 0: /* overwrite */
				if (at < len)
					b[at] = val;
				break;
			case 1: /* insert */
				if (len < 250) {
					memmove(b + at + 1, b + at, len - at);
					b[at] = val;
					len++;
				}
				break;
			case 2: /* delete */
				if (at < len) {
					memmove(b + at, b + at + 1, len - at - 1);
					len--;
				}
				break;
			default: /* append */
				if (len < 250)
					b[len++] = val;
				break;
			}
		}
		/* Usually keep the length fields honest so the body gets parsed. */
		if (len >= 5 && rng() % 4) {
			b[2] = 0;
			b[3] = (uint8_t)len;
			b[4] = (uint8_t)(len - 5);
		}
		check_input(b, len, &t);
	}
	print_message("  mutations: %u ok, %u need-more, %u errors\n", t.ok, t.need_more, t.errors);
	assert_true(t.ok > 1000);
	assert_true(t.errors > 1000);
}

/* ---- Names and texts. ---- */

static void test_status_names(void **state)
{
	static const struct {
		int status;
		const char *name;
	} names[] = {
	        {X224_OK, "ok"},
	        {X224_NEED_MORE, "need-more"},
	        {X224_ERR_TPKT_VERSION, "tpkt-version"},
	        {X224_ERR_TPKT_LENGTH, "tpkt-length"},
	        {X224_ERR_OVERSIZE, "oversize"},
	        {X224_ERR_LI, "x224-li"},
	        {X224_ERR_NOT_CR, "not-connection-request"},
	        {X224_ERR_COOKIE, "cookie"},
	        {X224_ERR_NEG_REQ, "neg-req"},
	        {X224_ERR_TRAILING, "trailing"},
	};
	size_t i, j;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_string_equal(x224_status_name(names[i].status), names[i].name);
		assert_true(strlen(x224_status_text(names[i].status)) > 20);
		for (j = 0; j < i; j++)
			assert_string_not_equal(x224_status_text(names[i].status),
			                        x224_status_text(names[j].status));
	}
	assert_string_equal(x224_status_text(X224_ERR_TPKT_VERSION),
	                    "first byte is not TPKT version 3 (not an RDP connection request; "
	                    "a bare TLS ClientHello starts with 0x16)");
	assert_string_equal(x224_status_text(X224_ERR_OVERSIZE),
	                    "TPKT length is above 4096 bytes, too long for a request");
	assert_string_equal(x224_status_name(2), "unknown");
	assert_string_equal(x224_status_name(-9), "unknown");
	assert_string_equal(x224_status_name(42), "unknown");
	assert_string_equal(x224_status_text(-9), "unknown status");
}

static void test_protocols_str(void **state)
{
	static const struct {
		uint32_t protocols;
		const char *text;
	} cases[] = {
	        {0, "rdp"},
	        {X224_PROTOCOL_SSL, "ssl"},
	        {X224_PROTOCOL_HYBRID, "hybrid"},
	        {X224_PROTOCOL_RDSTLS, "rdstls"},
	        {X224_PROTOCOL_HYBRID_EX, "hybrid-ex"},
	        {0x3, "ssl,hybrid"},
	        {0xB, "ssl,hybrid,hybrid-ex"},
	        {0xF, "ssl,hybrid,rdstls,hybrid-ex"},
	        {0x10, "0x10"},
	        {0x13, "ssl,hybrid,0x10"},
	        {0x80000008u, "hybrid-ex,0x80000000"},
	        {0xFFFFFFFFu, "ssl,hybrid,rdstls,hybrid-ex,0xfffffff0"},
	};
	char buf[64];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t full = strlen(cases[i].text);

		assert_ptr_equal(x224_protocols_str(cases[i].protocols, buf, sizeof(buf)), buf);
		assert_string_equal(buf, cases[i].text);
		/* Every smaller buffer: the text cut to n - 1 bytes, NUL-terminated,
		 * nothing written past it. */
		for (n = 1; n <= full + 1; n++) {
			memset(buf, '#', sizeof(buf));
			assert_ptr_equal(x224_protocols_str(cases[i].protocols, buf, n), buf);
			assert_int_equal(strlen(buf), n - 1);
			assert_memory_equal(buf, cases[i].text, n - 1);
			assert_int_equal(buf[n], '#');
		}
	}
	memset(buf, '#', sizeof(buf));
	assert_ptr_equal(x224_protocols_str(3, buf, 0), buf);
	assert_int_equal(buf[0], '#');
	assert_null(x224_protocols_str(3, NULL, 0));
	x224_protocols_str(0xB, buf, 6);
	assert_string_equal(buf, "ssl,h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_xfreerdp),
	        cmocka_unit_test(test_rdesktop),
	        cmocka_unit_test(test_mstsc_correlation_info),
	        cmocka_unit_test(test_neg_req_without_cookie),
	        cmocka_unit_test(test_legacy),
	        cmocka_unit_test(test_empty_cookie),
	        cmocka_unit_test(test_cookie_value_bytes),
	        cmocka_unit_test(test_routing_token),
	        cmocka_unit_test(test_cookie_truncation),
	        cmocka_unit_test(test_header_fields_tolerated),
	        cmocka_unit_test(test_longest_request),
	        cmocka_unit_test(test_errors),
	        cmocka_unit_test(test_length_smaller_than_content),
	        cmocka_unit_test(test_garbage_first_byte),
	        cmocka_unit_test(test_random_bytes),
	        cmocka_unit_test(test_random_mutations),
	        cmocka_unit_test(test_status_names),
	        cmocka_unit_test(test_protocols_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
