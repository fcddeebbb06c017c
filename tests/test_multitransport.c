/* test_multitransport.c — unit tests of the multitransport and UDP wire
 * primitives (faults/multitransport.c, faults/udp.c): Connect Responses
 * shaped as FreeRDP 2.11 writes them (short and long BER lengths, a PER
 * length that must grow to two bytes) get Server Multitransport Channel
 * Data and stay parseable; Connect Initials yield the client's flags;
 * requests, responses and SYNs round-trip; every truncation and every
 * corrupted byte of each input is refused or parsed without reading past
 * it (exact-size heap copies under ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "faults/multitransport.h"
#include "faults/udp.h"

struct buf {
	uint8_t b[4096];
	size_t n;
};

static void put(struct buf *o, const void *p, size_t n)
{
	memcpy(o->b + o->n, p, n);
	o->n += n;
}

static void put_ber(struct buf *o, size_t len, int long_form)
{
	if (!long_form && len < 0x80) {
		o->b[o->n++] = (uint8_t)len;
	} else {
		o->b[o->n++] = 0x82;
		o->b[o->n++] = (uint8_t)(len >> 8);
		o->b[o->n++] = (uint8_t)len;
	}
}

static void put_per(struct buf *o, size_t len)
{
	if (len < 0x80) {
		o->b[o->n++] = (uint8_t)len;
	} else {
		o->b[o->n++] = (uint8_t)(0x80 | len >> 8);
		o->b[o->n++] = (uint8_t)len;
	}
}

static void wrap_tpkt(const struct buf *in, struct buf *out)
{
	size_t total = in->n + 7;
	uint8_t h[7] = {0x03, 0, (uint8_t)(total >> 8), (uint8_t)total, 0x02, 0xf0, 0x80};
	out->n = 0;
	put(out, h, 7);
	put(out, in->b, in->n);
}

/* A Connect Response as FreeRDP writes it: core, network, security and
 * message channel blocks, plus `pad` bytes of an extra block. */
static void connect_response(struct buf *out, int long_form, size_t pad)
{
	static const uint8_t blocks[] = {
	        0x01, 0x0c, 0x0c, 0x00, 0x04, 0x00, 0x08, 0x00, 0x01, 0x00, 0x00, 0x00, /* core */
	        0x03, 0x0c, 0x08, 0x00, 0xeb, 0x03, 0x00, 0x00,                         /* net */
	        0x02, 0x0c, 0x0c, 0x00, 0,    0,    0,    0,    0,    0,    0,    0, /* security */
	        0x04, 0x0c, 0x06, 0x00, 0xec, 0x03}; /* msgchannel */
	static const uint8_t gcc_head[] = {0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01,
	                                   0x2a, 0x14, 0x76, 0x0a, 0x01, 0x01, 0x00,
	                                   0x01, 0xc0, 0x00, 'M',  'c',  'D',  'n'};
	static const uint8_t head[] = {0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30,
	                               0x06, 0x02, 0x01, 0x22, 0x02, 0x01, 0x03};
	struct buf bl = {.n = 0}, gcc = {.n = 0}, inner = {.n = 0}, app = {.n = 0};
	put(&bl, blocks, sizeof(blocks));
	if (pad) {
		uint8_t h[4] = {0x99, 0x0c, (uint8_t)(pad + 4), 0};
		put(&bl, h, 4);
		memset(bl.b + bl.n, 0x5a, pad);
		bl.n += pad;
	}
	put(&gcc, gcc_head, sizeof(gcc_head));
	put_per(&gcc, bl.n);
	put(&gcc, bl.b, bl.n);
	put(&inner, head, sizeof(head));
	inner.b[inner.n++] = 0x04;
	put_ber(&inner, gcc.n, long_form);
	put(&inner, gcc.b, gcc.n);
	app.b[0] = 0x7f;
	app.b[1] = 0x66;
	app.n = 2;
	put_ber(&app, inner.n, long_form);
	put(&app, inner.b, inner.n);
	wrap_tpkt(&app, out);
}

static void connect_initial(struct buf *out, int with_mt, uint32_t flags, int with_msgchannel)
{
	static const uint8_t head[] = {0x04, 0x01, 0x01, 0x04, 0x01, 0x01, 0x01, 0x01,
	                               0xff, 0x30, 0x00, 0x30, 0x00, 0x30, 0x00};
	static const uint8_t gcc_head[] = {0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01,
	                                   0x81, 0x2a, 0x00, 0x08, 0x00, 0x10, 0x00,
	                                   0x01, 0xc0, 0x00, 'D',  'u',  'c',  'a'};
	struct buf bl = {.n = 0}, gcc = {.n = 0}, inner = {.n = 0}, app = {.n = 0};
	uint8_t core[12] = {0x01, 0xc0, 0x0c, 0x00, 0x04, 0x00, 0x08, 0x00, 0x00, 0x04, 0x00, 0x03};
	put(&bl, core, sizeof(core));
	if (with_msgchannel) {
		uint8_t mc[8] = {0x06, 0xc0, 0x08, 0x00, 0, 0, 0, 0};
		put(&bl, mc, 8);
	}
	if (with_mt) {
		uint8_t mt[8] = {0x0a, 0xc0, 0x08, 0x00, (uint8_t)flags, (uint8_t)(flags >> 8),
		                 0,    0};
		put(&bl, mt, 8);
	}
	put(&gcc, gcc_head, sizeof(gcc_head));
	put_per(&gcc, bl.n);
	put(&gcc, bl.b, bl.n);
	put(&inner, head, sizeof(head));
	inner.b[inner.n++] = 0x04;
	put_ber(&inner, gcc.n, 1);
	put(&inner, gcc.b, gcc.n);
	app.b[0] = 0x7f;
	app.b[1] = 0x65;
	app.n = 2;
	put_ber(&app, inner.n, 1);
	put(&app, inner.b, inner.n);
	wrap_tpkt(&app, out);
}

static uint8_t *copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	assert_non_null(c);
	memcpy(c, p, n);
	return c;
}

static void check_grows(int long_form, size_t pad)
{
	struct buf cr;
	connect_response(&cr, long_form, pad);
	uint16_t ch = 0;
	int has = -1;
	uint32_t fl = 0;
	const char *why = NULL;
	assert_int_equal(mt_parse_connect_response(cr.b, cr.n, &ch, &has, &fl, &why), 0);
	assert_int_equal(ch, 1004);
	assert_int_equal(has, 0);
	uint8_t out[4096 + MT_CONNECT_RESPONSE_GROWTH];
	size_t n = mt_add_server_multitransport(cr.b, cr.n, 0x101, out, sizeof(out), &why);
	assert_true(n >= cr.n + 8 && n <= cr.n + MT_CONNECT_RESPONSE_GROWTH);
	assert_int_equal((size_t)(out[2] << 8 | out[3]), n); /* TPKT length */
	uint8_t *exact = copy(out, n);
	assert_int_equal(mt_parse_connect_response(exact, n, &ch, &has, &fl, &why), 0);
	assert_int_equal(ch, 1004);
	assert_int_equal(has, 1);
	assert_int_equal(fl, 0x101);
	/* The block goes last: the grown PDU ends in it. */
	static const uint8_t tail[8] = {0x08, 0x0c, 0x08, 0x00, 0x01, 0x01, 0x00, 0x00};
	assert_memory_equal(exact + n - 8, tail, 8);
	/* Twice is refused: the block is there already. */
	assert_int_equal(mt_add_server_multitransport(exact, n, 0x101, out, sizeof(out), &why), 0);
	assert_non_null(strstr(why, "already"));
	free(exact);
}

static void test_connect_response_short_lengths(void **state)
{
	(void)state;
	check_grows(0, 0);
}

static void test_connect_response_long_lengths(void **state)
{
	(void)state;
	check_grows(1, 0);
}

static void test_connect_response_per_length_grows(void **state)
{
	(void)state;
	/* Blocks of 0x7c bytes: 8 more need a two-byte PER length, and the
	 * BER lengths cross 0x7f and 0xff. */
	check_grows(0, 0x7c - 40 - 4);
	check_grows(0, 0xff - 40 - 4 - 25);
}

static void test_connect_response_no_room(void **state)
{
	(void)state;
	struct buf cr;
	connect_response(&cr, 1, 0);
	uint8_t out[16];
	const char *why = NULL;
	assert_int_equal(mt_add_server_multitransport(cr.b, cr.n, 1, out, sizeof(out), &why), 0);
	assert_non_null(strstr(why, "room"));
}

static void test_connect_response_truncated_and_corrupted(void **state)
{
	(void)state;
	struct buf cr;
	connect_response(&cr, 1, 10);
	uint8_t out[4096];
	uint16_t ch;
	int has;
	uint32_t fl;
	const char *why;
	for (size_t k = 0; k < cr.n; k++) {
		uint8_t *c = copy(cr.b, k);
		assert_int_equal(mt_parse_connect_response(c, k, &ch, &has, &fl, &why), -1);
		assert_non_null(why);
		assert_int_equal(mt_add_server_multitransport(c, k, 1, out, sizeof(out), &why), 0);
		free(c);
	}
	for (size_t i = 0; i < cr.n; i++)
		for (int v = 0; v < 256; v += 51) {
			uint8_t *c = copy(cr.b, cr.n);
			c[i] = (uint8_t)(c[i] ^ (v | 1));
			size_t n = mt_add_server_multitransport(c, cr.n, 1, out, sizeof(out), &why);
			if (n) /* whatever it accepted, it wrote something that parses */
				assert_int_equal(
				        mt_parse_connect_response(out, n, &ch, &has, &fl, &why), 0);
			free(c);
		}
}

static void test_connect_initial(void **state)
{
	(void)state;
	struct buf ci;
	struct mt_client_data d;
	const char *why;
	connect_initial(&ci, 1, 0x105, 1);
	uint8_t *c = copy(ci.b, ci.n);
	assert_int_equal(mt_parse_connect_initial(c, ci.n, &d, &why), 0);
	assert_true(d.has_multitransport && d.has_msgchannel);
	assert_int_equal(d.flags, 0x105);
	free(c);
	connect_initial(&ci, 0, 0, 0); /* rdesktop: neither block */
	assert_int_equal(mt_parse_connect_initial(ci.b, ci.n, &d, &why), 0);
	assert_false(d.has_multitransport || d.has_msgchannel);
	connect_initial(&ci, 1, 0x105, 1);
	for (size_t k = 0; k < ci.n; k++) {
		c = copy(ci.b, k);
		assert_int_equal(mt_parse_connect_initial(c, k, &d, &why), -1);
		free(c);
	}
	for (size_t i = 0; i < ci.n; i++) {
		c = copy(ci.b, ci.n);
		c[i] ^= 0xa5;
		(void)mt_parse_connect_initial(c, ci.n, &d, &why);
		free(c);
	}
}

static void test_attach_user_confirm(void **state)
{
	(void)state;
	static const uint8_t aucf[] = {0x03, 0, 0, 0x0b, 0x02, 0xf0, 0x80, 0x2e, 0x00, 0x00, 0x04};
	uint16_t uid = 0;
	assert_int_equal(mt_parse_attach_user_confirm(aucf, sizeof(aucf), &uid), 0);
	assert_int_equal(uid, 1005);
	uint8_t failed[sizeof(aucf)];
	memcpy(failed, aucf, sizeof(aucf));
	failed[8] = 1; /* result: not successful */
	assert_int_equal(mt_parse_attach_user_confirm(failed, sizeof(failed), &uid), -1);
	for (size_t k = 0; k < sizeof(aucf); k++) {
		uint8_t *c = copy(aucf, k);
		assert_int_equal(mt_parse_attach_user_confirm(c, k, &uid), -1);
		free(c);
	}
}

static void test_request_round_trip(void **state)
{
	(void)state;
	struct mt_request r = {.initiator = 1005,
	                       .channel = 1004,
	                       .request_id = 0xdeadbeef,
	                       .protocol = MT_TRANSPORTTYPE_UDPFECL};
	for (int i = 0; i < MT_COOKIE_LEN; i++)
		r.cookie[i] = (uint8_t)(i * 7);
	uint8_t pdu[MT_REQUEST_PDU_LEN];
	assert_int_equal(mt_request_pdu(&r, pdu), MT_REQUEST_PDU_LEN);
	assert_int_equal(pdu[3], MT_REQUEST_PDU_LEN);
	assert_int_equal(pdu[7], 0x68); /* Send Data Indication */
	struct mt_request back;
	uint8_t *c = copy(pdu, sizeof(pdu));
	assert_int_equal(mt_parse_request(c, sizeof(pdu), 1004, &back), 1);
	assert_int_equal(back.initiator, 1005);
	assert_int_equal(back.channel, 1004);
	assert_int_equal(back.request_id, 0xdeadbeef);
	assert_int_equal(back.protocol, MT_TRANSPORTTYPE_UDPFECL);
	assert_memory_equal(back.cookie, r.cookie, MT_COOKIE_LEN);
	assert_int_equal(mt_parse_request(c, sizeof(pdu), 1003, &back), 0); /* another channel */
	free(c);
	for (size_t k = 0; k < sizeof(pdu); k++) {
		c = copy(pdu, k);
		assert_true(mt_parse_request(c, k, 0, &back) <= 0);
		free(c);
	}
	assert_string_equal(mt_protocol_name(MT_TRANSPORTTYPE_UDPFECR), "reliable");
}

static void test_response_round_trip(void **state)
{
	(void)state;
	uint8_t pdu[MT_RESPONSE_PDU_LEN];
	assert_int_equal(mt_response_pdu(1005, 1004, 42, MT_E_ABORT, pdu), MT_RESPONSE_PDU_LEN);
	assert_int_equal(pdu[7], 0x64); /* Send Data Request */
	uint32_t id = 0, hr = 0;
	uint8_t *c = copy(pdu, sizeof(pdu));
	assert_int_equal(mt_parse_response(c, sizeof(pdu), 1004, &id, &hr), 1);
	assert_int_equal(id, 42);
	assert_int_equal(hr, MT_E_ABORT);
	assert_string_equal(mt_hr_name(hr), "E_ABORT");
	assert_null(mt_hr_name(0x80004005));
	assert_int_equal(mt_parse_response(c, sizeof(pdu), 1003, &id, &hr), 0);
	free(c);
	/* A request is not a response, nor a response a request. */
	struct mt_request r;
	assert_int_equal(mt_parse_request(pdu, sizeof(pdu), 0, &r), 0);
	/* Its body cut short while the lengths agree: -1. */
	uint8_t short_pdu[MT_RESPONSE_PDU_LEN - 4];
	memcpy(short_pdu, pdu, sizeof(short_pdu));
	short_pdu[3] = sizeof(short_pdu);
	short_pdu[13] = 8; /* PER length of the data */
	assert_int_equal(mt_parse_response(short_pdu, sizeof(short_pdu), 1004, &id, &hr), -1);
	for (size_t k = 0; k < sizeof(pdu); k++) {
		c = copy(pdu, k);
		assert_true(mt_parse_response(c, k, 0, &id, &hr) <= 0);
		free(c);
	}
}

static void test_udp_syn(void **state)
{
	(void)state;
	uint8_t cookie[16], syn[UDP_SYN_LEN], h[32];
	for (int i = 0; i < 16; i++)
		cookie[i] = (uint8_t)(0xf0 ^ i);
	assert_int_equal(udp_build_syn(0x01020304, cookie, 1, syn), UDP_SYN_LEN);
	struct udp_syn s;
	const char *why = "unset";
	assert_int_equal(udp_parse_syn(syn, sizeof(syn), &s, &why), 1);
	assert_null(why);
	assert_int_equal(s.snSourceAck, 0xffffffffu);
	assert_true(s.uFlags & UDP_FLAG_SYN);
	assert_true(s.uFlags & UDP_FLAG_SYNLOSSY);
	assert_int_equal(s.snInitialSequenceNumber, 0x01020304);
	assert_int_equal(s.uUpStreamMtu, 1232);
	assert_int_equal(s.uUdpVer, UDP_VERSION_3);
	assert_true(s.has_cookie_hash);
	assert_int_equal(udp_cookie_hash(cookie, h), 0);
	assert_memory_equal(s.cookie_hash, h, 32);
	/* The spec's own SYN+ACK example is a SYN without extensions. */
	static const uint8_t example[] = {0x00, 0x00, 0x00, 0x42, 0x04, 0x00, 0x00, 0x05,
	                                  0x00, 0x00, 0x00, 0x42, 0x04, 0xd0, 0x04, 0xd0};
	assert_int_equal(udp_parse_syn(example, sizeof(example), &s, &why), 1);
	assert_int_equal(s.uReceiveWindowSize, 1024);
	assert_false(s.has_synex);
	uint8_t garbage[40] = {0};
	assert_int_equal(udp_parse_syn(garbage, sizeof(garbage), &s, &why), 0);
	assert_non_null(strstr(why, "RDPUDP_FLAG_SYN"));
	for (size_t k = 0; k < 60; k++) {
		uint8_t *c = copy(syn, k);
		int r = udp_parse_syn(c, k, &s, &why);
		assert_int_equal(r, k >= 16);
		if (k >= 16 && k < 20)
			assert_non_null(why); /* SYNEX set, payload cut */
		free(c);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_connect_response_short_lengths),
	        cmocka_unit_test(test_connect_response_long_lengths),
	        cmocka_unit_test(test_connect_response_per_length_grows),
	        cmocka_unit_test(test_connect_response_no_room),
	        cmocka_unit_test(test_connect_response_truncated_and_corrupted),
	        cmocka_unit_test(test_connect_initial),
	        cmocka_unit_test(test_attach_user_confirm),
	        cmocka_unit_test(test_request_round_trip),
	        cmocka_unit_test(test_response_round_trip),
	        cmocka_unit_test(test_udp_syn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
