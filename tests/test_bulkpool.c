/* test_bulkpool.c — unit tests of FreeRDP's bulk compressors made on first
 * use and kept (server/freerdp/bulkpool.c), against FreeRDP's own codecs.
 *
 * - Contexts FreeRDP makes and frees unused are never made.
 * - The first compress or decompress makes one; data compressed through a
 *   stand-in comes back whole through another.
 * - A context handed on from the pool after use is reset first: a second
 *   stream through it decodes with fresh contexts (history left over would
 *   not).
 * - A reset of a stand-in makes it (an XCRUSH with its own MPPC, two).
 * - Past the table's stand-ins, contexts are made at once and still work.
 * The pool's counters are global: each test reads what it changed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <freerdp/codec/bulk.h>
#include <freerdp/codec/mppc.h>
#include <freerdp/codec/ncrush.h>
#include <freerdp/codec/xcrush.h>
#include <freerdp/freerdp.h>

#include "freerdp/bulkpool.h"

#define STAND_INS (6 * 8192) /* STUB_MAX in bulkpool.c */

static struct bulkpool_stats now(void)
{
	struct bulkpool_stats s;
	bulkpool_get_stats(&s);
	return s;
}

static void test_unused_never_made(void **state)
{
	(void)state;
	struct bulkpool_stats a = now();
	MPPC_CONTEXT *m = mppc_context_new(1, TRUE);
	NCRUSH_CONTEXT *n = ncrush_context_new(FALSE);
	XCRUSH_CONTEXT *x = xcrush_context_new(TRUE);
	assert_true(m && n && x);
	mppc_context_free(m);
	ncrush_context_free(n);
	xcrush_context_free(x);
	struct bulkpool_stats b = now();
	assert_int_equal(b.made, a.made);
	assert_int_equal(b.reused, a.reused);
	assert_int_equal(b.never_made, a.never_made + 3);
}

/* Compresses `len` bytes of a repeating text with `c` and decompresses
 * them with `d`: they must come back whole, compressed. */
static void round_trip(MPPC_CONTEXT *c, MPPC_CONTEXT *d, int seed)
{
	BYTE src[4096], out[8192];
	for (size_t i = 0; i < sizeof(src); i++)
		src[i] = (BYTE)("for the bulk pool "[(i + (size_t)seed) % 18]);
	BYTE *dst = out;
	UINT32 dst_len = sizeof(out), flags = 0;
	assert_true(mppc_compress(c, src, sizeof(src), &dst, &dst_len, &flags) >= 0);
	assert_true(flags & PACKET_COMPRESSED);
	assert_true(dst_len < sizeof(src));
	BYTE *plain = NULL;
	UINT32 plain_len = 0;
	assert_true(mppc_decompress(d, dst, dst_len, &plain, &plain_len, flags) >= 0);
	assert_int_equal(plain_len, sizeof(src));
	assert_memory_equal(plain, src, sizeof(src));
}

static void test_used_made_kept_and_reset(void **state)
{
	(void)state;
	struct bulkpool_stats a = now();
	MPPC_CONTEXT *c = mppc_context_new(1, TRUE), *d = mppc_context_new(1, FALSE);
	round_trip(c, d, 0);
	struct bulkpool_stats b = now();
	assert_int_equal((b.made + b.reused) - (a.made + a.reused), 2);
	mppc_context_free(c);
	mppc_context_free(d);

	/* The same two back from the pool, reset since they were used: a new
	 * stream decodes from an empty history. */
	c = mppc_context_new(1, TRUE);
	d = mppc_context_new(1, FALSE);
	round_trip(c, d, 7);
	struct bulkpool_stats e = now();
	assert_int_equal(e.reused - b.reused, 2);
	assert_int_equal(e.reset - b.reset, 2);
	assert_int_equal(e.made, b.made);
	mppc_context_free(c);
	mppc_context_free(d);
}

static void test_reset_makes_it(void **state)
{
	(void)state;
	struct bulkpool_stats a = now();
	XCRUSH_CONTEXT *x = xcrush_context_new(FALSE);
	xcrush_context_reset(x, FALSE);
	struct bulkpool_stats b = now();
	/* The XCRUSH and its own MPPC, made or handed on. */
	assert_int_equal((b.made + b.reused) - (a.made + a.reused), 2);
	xcrush_context_free(x);
}

static void test_past_the_stand_ins(void **state)
{
	(void)state;
	MPPC_CONTEXT **v = calloc(STAND_INS + 1, sizeof(*v));
	assert_non_null(v);
	struct bulkpool_stats a = now();
	for (int i = 0; i <= STAND_INS; i++) {
		v[i] = mppc_context_new(1, TRUE);
		assert_non_null(v[i]);
	}
	struct bulkpool_stats b = now();
	/* The table was full for the last: made (or handed on) at once. */
	assert_int_equal((b.made + b.reused) - (a.made + a.reused), 1);
	MPPC_CONTEXT *d = mppc_context_new(1, FALSE);
	round_trip(v[STAND_INS], d, 3);
	mppc_context_free(d);
	for (int i = 0; i <= STAND_INS; i++)
		mppc_context_free(v[i]);
	free(v);
	struct bulkpool_stats e = now();
	assert_true(e.never_made - b.never_made >= STAND_INS - 1);
}

/* A call of FreeRDP's own, so that the test links libfreerdp2 (its codecs
 * are what the pool's definitions forward to) and says which it is. */
static int setup(void **state)
{
	(void)state;
	return freerdp_get_version_string() ? 0 : -1;
}

static int drain(void **state)
{
	(void)state;
	bulkpool_drain(); /* LeakSanitizer: nothing kept past the end */
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_unused_never_made),
	        cmocka_unit_test(test_used_made_kept_and_reset),
	        cmocka_unit_test(test_reset_makes_it),
	        cmocka_unit_test(test_past_the_stand_ins),
	};
	return cmocka_run_group_tests(tests, setup, drain);
}
