/* test_pdufilter.c — unit tests of the PDU filter (server/wire/pdufilter.c): a
 * stream of TPKT and fast-path PDUs (short and long lengths), delivered by
 * a reader in chunks of every size with "would block" in between and read
 * back in pieces of every size, comes out byte for byte minus the PDUs the
 * filter withholds; the filter never asks the reader for a byte past the
 * PDU it assembles; a stream it cannot frame passes through unchanged. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/pdufilter.h"

struct src {
	const uint8_t *p;
	size_t n, off;
	size_t chunk;    /* at most this many bytes a call */
	int block_every; /* every Nth call "would block" (returns -1) */
	int calls;
	size_t max_asked; /* sanity: never asked past the stream's end */
};

static int src_read(void *arg, uint8_t *buf, int num)
{
	struct src *s = arg;
	s->calls++;
	if (s->block_every && s->calls % s->block_every == 0)
		return -1;
	if (s->off + (size_t)num > s->max_asked)
		s->max_asked = s->off + (size_t)num;
	size_t left = s->n - s->off;
	if (left == 0)
		return 0;
	size_t k = (size_t)num < s->chunk ? (size_t)num : s->chunk;
	if (k > left)
		k = left;
	memcpy(buf, s->p + s->off, k);
	s->off += k;
	return (int)k;
}

/* Withholds every PDU whose last byte is 0xEE. */
static int keep_not_ee(void *arg, const uint8_t *pdu, size_t len)
{
	(void)arg;
	return pdu[len - 1] != 0xEE;
}

static const uint8_t tpkt_a[] = {0x03, 0x00, 0x00, 0x09, 0x02, 0xf0, 0x80, 0x11, 0x22};
static const uint8_t fp_b[] = {0x00, 0x05, 0xaa, 0xbb, 0xcc}; /* fast-path, 1-byte length */
static const uint8_t tpkt_drop[] = {0x03, 0x00, 0x00, 0x08, 0x02, 0xf0, 0x80, 0xEE};
static uint8_t fp_long[300]; /* fast-path, 2-byte length */

static void build(uint8_t *stream, size_t *n, uint8_t *want, size_t *wn)
{
	fp_long[0] = 0x04;
	fp_long[1] = 0x80 | (sizeof(fp_long) >> 8);
	fp_long[2] = sizeof(fp_long) & 0xff;
	for (size_t i = 3; i < sizeof(fp_long); i++)
		fp_long[i] = (uint8_t)i;
	fp_long[sizeof(fp_long) - 1] = 0x01;
	const struct {
		const uint8_t *p;
		size_t n;
		int kept;
	} parts[] = {{tpkt_a, sizeof(tpkt_a), 1},       {tpkt_drop, sizeof(tpkt_drop), 0},
	             {fp_b, sizeof(fp_b), 1},           {fp_long, sizeof(fp_long), 1},
	             {tpkt_drop, sizeof(tpkt_drop), 0}, {tpkt_a, sizeof(tpkt_a), 1}};
	*n = *wn = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		memcpy(stream + *n, parts[i].p, parts[i].n);
		*n += parts[i].n;
		if (parts[i].kept) {
			memcpy(want + *wn, parts[i].p, parts[i].n);
			*wn += parts[i].n;
		}
	}
}

static void test_withholds_and_reassembles(void **state)
{
	(void)state;
	uint8_t stream[1024], want[1024], got[1024];
	size_t n, wn;
	build(stream, &n, want, &wn);
	for (size_t chunk = 1; chunk <= 17; chunk += 2)
		for (int block = 0; block <= 3; block += block ? 1 : 2) /* 0, 2, 3 */
			for (int piece = 1; piece <= 9; piece += 4) {
				struct src s = {stream, n, 0, chunk, block, 0, 0};
				struct pdufilter f;
				memset(&f, 0, sizeof(f));
				size_t gn = 0;
				for (int guard = 0; guard < 100000 && gn < wn; guard++) {
					int rc = pdufilter_read(&f, src_read, &s, keep_not_ee, NULL,
					                        got + gn, piece);
					if (rc > 0)
						gn += (size_t)rc;
				}
				assert_int_equal(gn, wn);
				assert_memory_equal(got, want, wn);
				assert_int_equal(f.withheld, 2);
				assert_true(s.max_asked <= n); /* never past a PDU */
				assert_false(pdufilter_has_kept(&f));
				pdufilter_free(&f);
			}
}

static void test_unframeable_passes_through(void **state)
{
	(void)state;
	uint8_t stream[64], got[64];
	for (size_t i = 0; i < sizeof(stream); i++)
		stream[i] = (uint8_t)(0xff - i); /* 0xff: neither TPKT nor fast-path */
	struct src s = {stream, sizeof(stream), 0, 5, 0, 0, 0};
	struct pdufilter f;
	memset(&f, 0, sizeof(f));
	size_t gn = 0;
	for (int guard = 0; guard < 1000 && gn < sizeof(stream); guard++) {
		int rc = pdufilter_read(&f, src_read, &s, keep_not_ee, NULL, got + gn, 7);
		assert_true(rc > 0);
		gn += (size_t)rc;
	}
	assert_memory_equal(got, stream, sizeof(stream));
	assert_true(f.passthrough);
	pdufilter_free(&f);
}

static void test_bad_lengths_pass_through(void **state)
{
	(void)state;
	/* A TPKT shorter than its own header, a fast-path of length 1. */
	static const uint8_t tpkt_bad[] = {0x03, 0x00, 0x00, 0x03, 0x99, 0x98};
	static const uint8_t fp_bad[] = {0x00, 0x01, 0x42};
	const uint8_t *cases[] = {tpkt_bad, fp_bad};
	size_t lens[] = {sizeof(tpkt_bad), sizeof(fp_bad)};
	for (int c = 0; c < 2; c++) {
		uint8_t got[16];
		struct src s = {cases[c], lens[c], 0, 1, 0, 0, 0};
		struct pdufilter f;
		memset(&f, 0, sizeof(f));
		size_t gn = 0;
		for (int guard = 0; guard < 100 && gn < lens[c]; guard++) {
			int rc = pdufilter_read(&f, src_read, &s, keep_not_ee, NULL, got + gn, 16);
			if (rc > 0)
				gn += (size_t)rc;
		}
		assert_int_equal(gn, lens[c]);
		assert_memory_equal(got, cases[c], lens[c]);
		pdufilter_free(&f);
	}
}

static void test_end_of_stream_reported(void **state)
{
	(void)state;
	uint8_t got[16];
	struct src s = {tpkt_a, 5, 0, 3, 0, 0, 0}; /* cut inside a PDU */
	struct pdufilter f;
	memset(&f, 0, sizeof(f));
	int rc = 1;
	for (int guard = 0; guard < 10 && rc > 0; guard++)
		rc = pdufilter_read(&f, src_read, &s, keep_not_ee, NULL, got, 16);
	assert_int_equal(rc, 0); /* the reader's end of stream, not a partial PDU */
	pdufilter_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_withholds_and_reassembles),
	        cmocka_unit_test(test_unframeable_passes_through),
	        cmocka_unit_test(test_bad_lengths_pass_through),
	        cmocka_unit_test(test_end_of_stream_reported),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
