/* test_pduinfo.c — unit tests for pduinfo: naming PDUs, and the tap that
 * frames them across any split of the stream. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/pduinfo.h"

/* A slow-path PDU on the I/O channel under TLS: TPKT, X.224 DT, MCS Send
 * Data Request (initiator 1007, channel 1003), then `body`. */
static size_t sdrq(uint8_t *out, const uint8_t *body, size_t n)
{
	size_t len = 4 + 3 + 8 + n;
	uint8_t h[] = {0x03,         0x00, (uint8_t)(len >> 8),
	               (uint8_t)len, 0x02, 0xF0,
	               0x80,         0x64, 0x00,
	               0x06,         0x03, 0xEB,
	               0x70,         0x80, (uint8_t)n};
	h[13] = 0x80 | (uint8_t)(n >> 8);
	h[14] = (uint8_t)n;
	memcpy(out, h, sizeof(h));
	memcpy(out + sizeof(h), body, n);
	return len;
}

/* A share data PDU body: share control header (type 7), share data header
 * with pduType2, then `extra`. */
static size_t share_data(uint8_t *out, unsigned type2, const uint8_t *extra, size_t n)
{
	size_t len = 6 + 12 + n;
	uint8_t h[18] = {(uint8_t)len,
	                 (uint8_t)(len >> 8),
	                 0x17,
	                 0x00,
	                 0xEF,
	                 0x03,
	                 0xEA,
	                 0x03,
	                 0x01,
	                 0x00,
	                 0x00,
	                 0x01,
	                 0x00,
	                 0x00,
	                 (uint8_t)type2,
	                 0,
	                 0,
	                 0};
	memcpy(out, h, sizeof(h));
	memcpy(out + sizeof(h), extra, n);
	return len;
}

static const char *name_of(const uint8_t *pdu, size_t len)
{
	static struct pduinfo info;
	pduinfo_name(pdu, len < PDUINFO_HEAD ? len : PDUINFO_HEAD, len, &info);
	return info.name;
}

static void test_names(void **state)
{
	(void)state;
	uint8_t body[64], pdu[128];
	uint8_t granted[] = {0x02, 0x00, 0, 0, 0, 0}, request[] = {0x01, 0x00, 0, 0, 0, 0};
	assert_string_equal(name_of(pdu, sdrq(pdu, body, share_data(body, 20, granted, 6))),
	                    "control-granted-control");
	assert_string_equal(name_of(pdu, sdrq(pdu, body, share_data(body, 20, request, 6))),
	                    "control-request-control");
	assert_string_equal(name_of(pdu, sdrq(pdu, body, share_data(body, 39, granted, 6))),
	                    "font-list");
	assert_string_equal(name_of(pdu, sdrq(pdu, body, share_data(body, 40, granted, 6))),
	                    "font-map");
	assert_string_equal(name_of(pdu, sdrq(pdu, body, share_data(body, 31, granted, 4))),
	                    "synchronize");
	/* Demand Active: share control type 1. */
	uint8_t da[] = {0x20, 0x00, 0x11, 0x00, 0xEA, 0x03, 1, 2, 3, 4, 5, 6};
	struct pduinfo info;
	size_t n = sdrq(pdu, da, sizeof(da));
	pduinfo_name(pdu, n, n, &info);
	assert_string_equal(info.name, "demand-active");
	assert_int_equal(info.share_type, 1);
	assert_int_equal(info.channel, 1003);
	/* Security header flags: Client Info, licensing. */
	uint8_t ci[] = {0x40, 0x00, 0x00, 0x00, 9, 9, 9};
	assert_string_equal(name_of(pdu, sdrq(pdu, ci, sizeof(ci))), "client-info");
	uint8_t lic[] = {0x80, 0x00, 0x00, 0x00, 0xFF, 0x03};
	assert_string_equal(name_of(pdu, sdrq(pdu, lic, sizeof(lic))), "license");
	/* MCS and X.224. */
	uint8_t erect[] = {0x03, 0x00, 0x00, 0x0C, 0x02, 0xF0, 0x80, 0x04, 0x01, 0x00, 0x01, 0x00};
	assert_string_equal(name_of(erect, sizeof(erect)), "mcs-erect-domain-request");
	uint8_t aurq[] = {0x03, 0x00, 0x00, 0x08, 0x02, 0xF0, 0x80, 0x28};
	assert_string_equal(name_of(aurq, sizeof(aurq)), "mcs-attach-user-request");
	uint8_t ci_mcs[] = {0x03, 0x00, 0x00, 0x0A, 0x02, 0xF0, 0x80, 0x7F, 0x65, 0x82};
	assert_string_equal(name_of(ci_mcs, sizeof(ci_mcs)), "mcs-connect-initial");
	uint8_t cr[] = {0x03, 0x00, 0x00, 0x0B, 0x06, 0xE0, 0, 0, 0, 0, 0};
	assert_string_equal(name_of(cr, sizeof(cr)), "x224-connection-request");
	uint8_t ts[] = {0x30, 0x03, 0x02, 0x01, 0x06};
	assert_string_equal(name_of(ts, sizeof(ts)), "tsrequest");
	uint8_t fp[] = {0x04, 0x06, 1, 2, 3, 4};
	assert_string_equal(name_of(fp, sizeof(fp)), "fastpath");
}

/* Truncated heads never read past their end: every prefix of a PDU is named
 * (as something) without a fault (ASan watches). */
static void test_truncated_heads(void **state)
{
	(void)state;
	uint8_t body[64], pdu[128];
	uint8_t granted[] = {0x02, 0x00, 0, 0, 0, 0};
	size_t n = sdrq(pdu, body, share_data(body, 20, granted, 6));
	for (size_t k = 0; k <= n; k++) {
		uint8_t *copy = malloc(k ? k : 1);
		memcpy(copy, pdu, k);
		struct pduinfo info;
		pduinfo_name(copy, k, n, &info);
		assert_non_null(info.name);
		free(copy);
	}
}

struct seen {
	const char *names[16];
	size_t lengths[16];
	int n;
};

static void collect(void *arg, const struct pduinfo *pdu)
{
	struct seen *s = arg;
	if (s->n < 16) {
		s->names[s->n] = pdu->name;
		s->lengths[s->n] = pdu->length;
		s->n++;
	}
}

/* Three PDUs fed in every chunk size from 1 byte to all at once: the same
 * three units, named the same. */
static void test_tap_any_split(void **state)
{
	(void)state;
	uint8_t stream[512], body[64];
	size_t n = 0;
	uint8_t granted[] = {0x02, 0x00, 0, 0, 0, 0};
	/* The server's side under NLA: the Connection Confirm (a TPKT, but no
	 * Data TPDU), a TSRequest with a long-form length, then MCS. */
	uint8_t cc[] = {0x03, 0x00, 0x00, 0x0B, 0x06, 0xD0, 0, 0, 0, 0, 0};
	uint8_t ts[3 + 0x9F] = {0x30, 0x81, 0x9F};
	memcpy(stream, cc, sizeof(cc));
	n += sizeof(cc);
	memcpy(stream + n, ts, sizeof(ts));
	n += sizeof(ts);
	n += sdrq(stream + n, body, share_data(body, 20, granted, 6));
	n += sdrq(stream + n, body, share_data(body, 40, granted, 6));
	uint8_t fp[] = {0x04, 0x06, 1, 2, 3, 4}; /* fast-path: after a TPKT, 0x30 would be too */
	memcpy(stream + n, fp, sizeof(fp));
	n += sizeof(fp);
	for (size_t chunk = 1; chunk <= n; chunk++) {
		struct pdutap tap;
		struct seen s;
		memset(&tap, 0, sizeof(tap));
		memset(&s, 0, sizeof(s));
		for (size_t off = 0; off < n; off += chunk)
			pdutap_feed(&tap, stream + off, off + chunk > n ? n - off : chunk, collect,
			            &s);
		assert_int_equal(s.n, 5);
		assert_string_equal(s.names[0], "x224-connection-confirm");
		assert_string_equal(s.names[1], "tsrequest");
		assert_string_equal(s.names[2], "control-granted-control");
		assert_string_equal(s.names[3], "font-map");
		assert_string_equal(s.names[4], "fastpath");
		assert_int_equal(s.lengths[1], 3 + 0x9F);
		assert_int_equal(tap.units, 5);
	}
}

/* A stream that is not framed is said so once, then not followed. */
static void test_tap_unframed(void **state)
{
	(void)state;
	uint8_t junk[] = {0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5};
	struct pdutap tap;
	struct seen s;
	memset(&tap, 0, sizeof(tap));
	memset(&s, 0, sizeof(s));
	pdutap_feed(&tap, junk, sizeof(junk), collect, &s);
	pdutap_feed(&tap, junk, sizeof(junk), collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "unframed");
	assert_true(tap.lost);
	/* A TPKT length below the minimum is not a frame either. */
	uint8_t bad[] = {0x03, 0x00, 0x00, 0x02};
	memset(&tap, 0, sizeof(tap));
	memset(&s, 0, sizeof(s));
	pdutap_feed(&tap, bad, sizeof(bad), collect, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.names[0], "unframed");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_names),
	        cmocka_unit_test(test_truncated_heads),
	        cmocka_unit_test(test_tap_any_split),
	        cmocka_unit_test(test_tap_unframed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
