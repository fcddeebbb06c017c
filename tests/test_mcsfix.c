/* test_mcsfix.c — unit tests of the Erect Domain Request rewrite
 * (server/wire/mcsfix.c). Streams as rdesktop 1.9, xfreerdp and a TLS client
 * send them, fed whole, one byte at a time and in every 2-way split: only
 * rdesktop's bare-UINT16 body changes, to `01 01 01 01`, and the rewrite is
 * reported exactly once. Every chunk is an exact-size heap copy (ASan). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/mcsfix.h"

static const uint8_t cr[] = {0x03, 0x00, 0x00, 0x0b, 0x06, 0xe0, 0x00, 0x00, 0x00, 0x00, 0x00};
/* A Connect Initial's head (BER 7f 65), body padded. */
static const uint8_t ci[] = {0x03, 0x00, 0x00, 0x10, 0x02, 0xf0, 0x80, 0x7f,
                             0x65, 0x07, 0x04, 0x01, 0x01, 0x04, 0x01, 0x01};
static const uint8_t edrq_rdesktop[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0,
                                        0x80, 0x04, 0x00, 0x01, 0x00, 0x01};
static const uint8_t edrq_fixed[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0,
                                     0x80, 0x04, 0x01, 0x01, 0x01, 0x01};
static const uint8_t edrq_per[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0,
                                   0x80, 0x04, 0x01, 0x00, 0x01, 0x00};
static const uint8_t edrq_big[] = {0x03, 0x00, 0x00, 0x0c, 0x02, 0xf0, /* interval 0x0105 */
                                   0x80, 0x04, 0x00, 0x01, 0x01, 0x05};
static const uint8_t aurq[] = {0x03, 0x00, 0x00, 0x08, 0x02, 0xf0, 0x80, 0x28};
/* Another Erect Domain Request after the first: must never be looked at. */
static const uint8_t tls_hello[] = {0x16, 0x03, 0x01, 0x00, 0x02, 0x01, 0x00};

struct stream {
	uint8_t b[256];
	size_t n;
};

static void add(struct stream *s, const uint8_t *p, size_t n)
{
	assert_true(s->n + n <= sizeof(s->b));
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

/* Feeds `in` split at the given cut points; returns the rewrites reported. */
static int feed_split(const struct stream *in, struct stream *out, const size_t *cuts, size_t ncuts)
{
	struct mcsfix f;
	int fixed = 0;
	size_t at = 0;
	memset(&f, 0, sizeof(f));
	out->n = 0;
	for (size_t k = 0; k <= ncuts; k++) {
		size_t end = k < ncuts ? cuts[k] : in->n;
		size_t n = end - at;
		uint8_t *chunk = malloc(n ? n : 1);
		assert_non_null(chunk);
		memcpy(chunk, in->b + at, n);
		fixed += mcsfix_feed(&f, chunk, n);
		add(out, chunk, n);
		free(chunk);
		at = end;
	}
	return fixed;
}

/* Whole, byte by byte, every 2-way split: always `want`, `want_fixed`. */
static void check_all_splits(const struct stream *in, const struct stream *want, int want_fixed)
{
	struct stream out;
	assert_int_equal(feed_split(in, &out, NULL, 0), want_fixed);
	assert_memory_equal(out.b, want->b, want->n);
	for (size_t c = 1; c < in->n; c++) {
		assert_int_equal(feed_split(in, &out, &c, 1), want_fixed);
		assert_memory_equal(out.b, want->b, want->n);
	}
	size_t cuts[256];
	for (size_t c = 1; c < in->n; c++)
		cuts[c - 1] = c;
	assert_int_equal(feed_split(in, &out, cuts, in->n - 1), want_fixed);
	assert_memory_equal(out.b, want->b, want->n);
}

static void rdesktop_rdp_security(void **state)
{
	(void)state;
	struct stream in = {0}, want = {0};
	add(&in, cr, sizeof(cr)), add(&in, ci, sizeof(ci));
	add(&in, edrq_rdesktop, sizeof(edrq_rdesktop)), add(&in, aurq, sizeof(aurq));
	add(&in, edrq_rdesktop, sizeof(edrq_rdesktop));
	add(&want, cr, sizeof(cr)), add(&want, ci, sizeof(ci));
	add(&want, edrq_fixed, sizeof(edrq_fixed)), add(&want, aurq, sizeof(aurq));
	add(&want, edrq_rdesktop, sizeof(edrq_rdesktop)); /* after the first: untouched */
	check_all_splits(&in, &want, 1);
}

static void rdesktop_tls_plaintext(void **state)
{
	(void)state;
	struct stream in = {0}, want = {0};
	add(&in, ci, sizeof(ci)), add(&in, edrq_rdesktop, sizeof(edrq_rdesktop));
	add(&in, aurq, sizeof(aurq));
	add(&want, ci, sizeof(ci)), add(&want, edrq_fixed, sizeof(edrq_fixed));
	add(&want, aurq, sizeof(aurq));
	check_all_splits(&in, &want, 1);
}

static void canonical_per_untouched(void **state)
{
	(void)state;
	struct stream in = {0};
	add(&in, cr, sizeof(cr)), add(&in, ci, sizeof(ci));
	add(&in, edrq_per, sizeof(edrq_per)), add(&in, aurq, sizeof(aurq));
	check_all_splits(&in, &in, 0);
}

static void large_interval_untouched(void **state)
{
	(void)state;
	struct stream in = {0}, out;
	add(&in, ci, sizeof(ci)), add(&in, edrq_big, sizeof(edrq_big));
	assert_int_equal(feed_split(&in, &out, NULL, 0), 0);
	assert_memory_equal(out.b, in.b, in.n);
}

static void tls_stream_untouched(void **state)
{
	(void)state;
	struct stream in = {0};
	add(&in, cr, sizeof(cr)), add(&in, tls_hello, sizeof(tls_hello));
	add(&in, edrq_rdesktop, sizeof(edrq_rdesktop)); /* would be ciphertext: never looked at */
	check_all_splits(&in, &in, 0);
}

static void garbage_stops(void **state)
{
	(void)state;
	struct mcsfix f;
	uint8_t short_tpkt[] = {0x03, 0x00, 0x00, 0x04};
	memset(&f, 0, sizeof(f));
	assert_int_equal(mcsfix_feed(&f, short_tpkt, sizeof(short_tpkt)), 0);
	assert_true(f.done);
	uint8_t fastpath[] = {0x44, 0x05, 0x00, 0x01, 0x02};
	memset(&f, 0, sizeof(f));
	assert_int_equal(mcsfix_feed(&f, fastpath, sizeof(fastpath)), 0);
	assert_true(f.done);
	assert_int_equal(fastpath[2], 0x00);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(rdesktop_rdp_security),
	        cmocka_unit_test(rdesktop_tls_plaintext),
	        cmocka_unit_test(canonical_per_untouched),
	        cmocka_unit_test(large_interval_untouched),
	        cmocka_unit_test(tls_stream_untouched),
	        cmocka_unit_test(garbage_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
