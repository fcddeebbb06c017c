/* test_tsrequest.c — unit tests of the CredSSP TSRequest helpers
 * (server/wire/tsrequest.c).
 *
 * tsrequest_version: a TSRequest shaped like FreeRDP's (30 81 9f a0 03 02
 * 01 06 a1 81 97 ... with an NTLM token, every length consistent), long
 * length forms, the smallest TSRequest, then refusals: every proper prefix,
 * trailing bytes, wrong tags, outer length mismatch, impossible INTEGER
 * lengths, and every single-byte mutation of the real message checked
 * against an exact oracle. Every parse runs on an exact-size heap copy, so
 * an over-read shows up under ASan.
 *
 * tsrequest_error: nothing for versions without errorCode (below 3, 5,
 * above 127) and the output left alone; the exact 15 bytes otherwise; the
 * message parses back to its version. ntstatus_name: every known code,
 * unknown codes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "wire/tsrequest.h"

/* tsrequest_version on an exact-size heap copy of b[0..len). */
static int version_of(const uint8_t *b, size_t len)
{
	uint8_t *copy = NULL;
	if (len) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, b, len);
	}
	int v = tsrequest_version(copy, len);
	free(copy);
	return v;
}

/* Appends a DER tag and length (short form, or long form with as few
 * bytes as needed). */
static size_t der_hdr(uint8_t *out, uint8_t tag, size_t len)
{
	size_t n = 0;
	out[n++] = tag;
	if (len < 0x80) {
		out[n++] = (uint8_t)len;
	} else if (len < 0x100) {
		out[n++] = 0x81;
		out[n++] = (uint8_t)len;
	} else {
		assert_true(len < 0x10000);
		out[n++] = 0x82;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	}
	return n;
}

static size_t der_hdr_len(size_t len)
{
	return len < 0x80 ? 2 : len < 0x100 ? 3 : 4;
}

/* TSRequest { version, negoTokens { NegoData { negoToken OCTET STRING } } }
 * with a token of `token` bytes (an NTLM message, "NTLMSSP\0" first), as
 * FreeRDP writes it. Returns its length. */
static size_t build_tsrequest(uint8_t *out, uint8_t version, size_t token)
{
	size_t octets = der_hdr_len(token) + token; /* 04 */
	size_t ctx0 = der_hdr_len(octets) + octets; /* a0 [0] negoToken */
	size_t nego = der_hdr_len(ctx0) + ctx0;     /* 30 NegoData */
	size_t tokens = der_hdr_len(nego) + nego;   /* 30 NegoData SEQUENCE OF */
	size_t ctx1 = der_hdr_len(tokens) + tokens; /* a1 [1] negoTokens */
	size_t body = 5 + ctx1;                     /* a0 03 02 01 v, then a1 */
	size_t n = 0;

	n += der_hdr(out + n, 0x30, body);
	out[n++] = 0xA0;
	out[n++] = 0x03;
	out[n++] = 0x02;
	out[n++] = 0x01;
	out[n++] = version;
	n += der_hdr(out + n, 0xA1, tokens);
	n += der_hdr(out + n, 0x30, nego);
	n += der_hdr(out + n, 0x30, ctx0);
	n += der_hdr(out + n, 0xA0, octets);
	n += der_hdr(out + n, 0x04, token);
	memcpy(out + n, "NTLMSSP\0", 8);
	for (size_t i = 8; i < token; i++)
		out[n + i] = (uint8_t)(i * 71 + 3);
	n += token;
	return n;
}

/* The FreeRDP-shaped TSRequest the brief names: 162 bytes. */
static size_t real_tsrequest(uint8_t *out)
{
	return build_tsrequest(out, 6, 139);
}

static void test_builder_matches_freerdp_prefix(void **state)
{
	(void)state;
	static const uint8_t prefix[] = {0x30, 0x81, 0x9f, 0xa0, 0x03, 0x02, 0x01, 0x06,
	                                 0xa1, 0x81, 0x97, 0x30, 0x81, 0x94, 0x30, 0x81,
	                                 0x91, 0xa0, 0x81, 0x8e, 0x04, 0x81, 0x8b, 'N'};
	uint8_t m[512];
	size_t n = real_tsrequest(m);
	assert_int_equal(n, 3 + 0x9f);
	assert_memory_equal(m, prefix, sizeof(prefix));
}

static void test_version_real(void **state)
{
	(void)state;
	uint8_t m[512];
	size_t n = real_tsrequest(m);
	assert_int_equal(version_of(m, n), 6);
	for (int v = 1; v <= 0x7F; v++) {
		n = build_tsrequest(m, (uint8_t)v, 139);
		assert_int_equal(version_of(m, n), v);
	}
	/* A bigger one: 30 82 hh ll. */
	n = build_tsrequest(m, 3, 400);
	assert_int_equal(m[1], 0x82);
	assert_int_equal(n, 4 + ((size_t)m[2] << 8 | m[3]));
	assert_int_equal(version_of(m, n), 3);
	/* A short-form one. */
	n = build_tsrequest(m, 5, 20);
	assert_true(m[1] < 0x80);
	assert_int_equal(version_of(m, n), 5);
}

static void test_version_minimal_and_forms(void **state)
{
	(void)state;
	/* Only the version: the smallest TSRequest. */
	static const uint8_t min[] = {0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x06};
	assert_int_equal(version_of(min, sizeof(min)), 6);
	/* The version as a 2-byte INTEGER. */
	static const uint8_t two[] = {0x30, 0x06, 0xa0, 0x04, 0x02, 0x02, 0x00, 0x06};
	assert_int_equal(version_of(two, sizeof(two)), 6);
	static const uint8_t big[] = {0x30, 0x06, 0xa0, 0x04, 0x02, 0x02, 0x01, 0x02};
	assert_int_equal(version_of(big, sizeof(big)), 0x102);
	/* Long-form lengths with 1, 2 and 3 length bytes. */
	static const uint8_t l81[] = {0x30, 0x81, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x04};
	assert_int_equal(version_of(l81, sizeof(l81)), 4);
	static const uint8_t l82[] = {0x30, 0x82, 0x00, 0x06, 0xa0, 0x81, 0x03, 0x02, 0x01, 0x02};
	assert_int_equal(version_of(l82, sizeof(l82)), 2);
	static const uint8_t l83[] = {0x30, 0x83, 0x00, 0x00, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x03};
	assert_int_equal(version_of(l83, sizeof(l83)), 3);
}

static void test_every_prefix_refused(void **state)
{
	(void)state;
	uint8_t m[1024];
	size_t sizes[] = {139, 400, 20, 0};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t n = sizes[k] ? build_tsrequest(m, 6, sizes[k]) : 0;
		if (!sizes[k]) {
			static const uint8_t min[] = {0x30, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x06};
			memcpy(m, min, sizeof(min));
			n = sizeof(min);
		}
		for (size_t len = 0; len < n; len++)
			assert_int_equal(version_of(m, len), -1);
		assert_int_equal(version_of(m, n), 6);
	}
	assert_int_equal(tsrequest_version(NULL, 0), -1);
}

static void test_trailing_bytes_refused(void **state)
{
	(void)state;
	uint8_t m[1024];
	size_t n = real_tsrequest(m);
	m[n] = 0x00;
	assert_int_equal(version_of(m, n + 1), -1);
	/* Two TSRequests back to back are not one. */
	memcpy(m + n, m, n);
	assert_int_equal(version_of(m, 2 * n), -1);
}

static void test_wrong_tags_refused(void **state)
{
	(void)state;
	static const struct {
		size_t at;
		uint8_t value;
	} cases[] = {
	        {0, 0x31}, /* SET, not SEQUENCE */
	        {0, 0x16}, /* a TLS record */
	        {0, 0x03}, /* a TPKT */
	        {3, 0xa1}, /* [1] first: no version */
	        {3, 0x02}, /* an untagged INTEGER */
	        {5, 0x04}, /* OCTET STRING version */
	        {5, 0x0a}, /* ENUMERATED version */
	};
	uint8_t m[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t n = real_tsrequest(m);
		m[cases[i].at] = cases[i].value;
		assert_int_equal(version_of(m, n), -1);
	}
}

static void test_length_mismatch_refused(void **state)
{
	(void)state;
	uint8_t m[512];
	size_t n = real_tsrequest(m);
	/* The outer length one off either way. */
	m[2] = 0x9e;
	assert_int_equal(version_of(m, n), -1);
	m[2] = 0xa0;
	assert_int_equal(version_of(m, n), -1);
	/* The declared length is right for a buffer one byte shorter. */
	m[2] = 0x9e;
	assert_int_equal(version_of(m, n - 1), 6);

	static const uint8_t bad[][11] = {
	        /* [0] shorter than an INTEGER */
	        {0x30, 0x05, 0xa0, 0x02, 0x02, 0x01, 0x06},
	        /* [0] longer than the buffer */
	        {0x30, 0x05, 0xa0, 0x04, 0x02, 0x01, 0x06},
	        /* INTEGER of 0 bytes */
	        {0x30, 0x05, 0xa0, 0x03, 0x02, 0x00, 0x06},
	        /* INTEGER of 3 bytes */
	        {0x30, 0x07, 0xa0, 0x05, 0x02, 0x03, 0x00, 0x00, 0x06},
	        /* INTEGER longer than the buffer */
	        {0x30, 0x05, 0xa0, 0x03, 0x02, 0x02, 0x06},
	        /* indefinite outer length */
	        {0x30, 0x80, 0xa0, 0x03, 0x02, 0x01, 0x06, 0x00, 0x00},
	        /* 4 length bytes, otherwise consistent */
	        {0x30, 0x84, 0x00, 0x00, 0x00, 0x05, 0xa0, 0x03, 0x02, 0x01, 0x06},
	        /* outer SEQUENCE too short to hold a version */
	        {0x30, 0x04, 0xa0, 0x02, 0x02, 0x01, 0x06},
	};
	static const size_t lens[] = {7, 7, 7, 9, 7, 9, 11, 7};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(version_of(bad[i], lens[i]), -1);
}

/* What tsrequest_version must give for the real message with byte `at`
 * set to `v`: it reads only the outer header and the version. */
static int oracle(size_t at, int v)
{
	switch (at) {
	case 0:
		return v == 0x30 ? 6 : -1;
	case 1:
		return v == 0x81 ? 6 : -1;
	case 2:
		return v == 0x9f ? 6 : -1;
	case 3:
		return v == 0xa0 ? 6 : -1;
	case 4: /* [0] length: at least the INTEGER, at most the buffer */
		return v >= 3 && v <= 162 - 5 && v < 0x80 ? 6 : -1;
	case 5:
		return v == 0x02 ? 6 : -1;
	case 6: /* INTEGER length: 1, or 2 (then 06 a1 is the value) */
		return v == 1 ? 6 : v == 2 ? 0x06a1 : -1;
	case 7:
		return v;
	default:
		return 6;
	}
}

static void test_every_mutation(void **state)
{
	(void)state;
	uint8_t m[512];
	size_t n = real_tsrequest(m);
	for (size_t at = 0; at < n; at++) {
		for (int v = 0; v < 256; v++) {
			uint8_t saved = m[at];
			m[at] = (uint8_t)v;
			assert_int_equal(version_of(m, n), oracle(at, v));
			m[at] = saved;
		}
	}
}

/* Fixed-seed random bytes and random prefixes of real messages: no crash,
 * no over-read (ASan), and -1 unless a version could be read. */
static void test_random_garbage(void **state)
{
	(void)state;
	uint32_t x = 0x12345678;
	uint8_t b[300];
	for (int round = 0; round < 20000; round++) {
		size_t len = 0;
		x = x * 1103515245u + 12345u;
		len = (x >> 16) % sizeof(b);
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			b[i] = (uint8_t)(x >> 16);
		}
		if (round & 1) /* keep the outer tag often, to get further in */
			b[0] = 0x30;
		int v = version_of(b, len);
		assert_true(v >= -1 && v <= 0xFFFF);
		if (v >= 0) {
			assert_true(len >= 7);
			assert_int_equal(b[0], 0x30);
		}
	}
}

static void test_error_no_error_code(void **state)
{
	(void)state;
	static const uint32_t versions[] = {0, 1, 2, 5, 0x80, 0x100, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		uint8_t out[TSREQUEST_ERROR_MAX + 4];
		memset(out, 0xAA, sizeof(out));
		assert_int_equal(tsrequest_error(versions[i], NTSTATUS_LOGON_FAILURE, out), 0);
		for (size_t j = 0; j < sizeof(out); j++)
			assert_int_equal(out[j], 0xAA);
	}
}

static void test_error_exact_bytes(void **state)
{
	(void)state;
	static const uint8_t v6[] = {0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x06, 0xa4,
	                             0x06, 0x02, 0x04, 0xc0, 0x00, 0x00, 0x6d};
	uint8_t out[TSREQUEST_ERROR_MAX + 4];
	assert_true(TSREQUEST_ERROR_MAX >= sizeof(v6));

	memset(out, 0xAA, sizeof(out));
	assert_int_equal(tsrequest_error(6, NTSTATUS_LOGON_FAILURE, out), sizeof(v6));
	assert_memory_equal(out, v6, sizeof(v6));
	for (size_t j = sizeof(v6); j < sizeof(out); j++)
		assert_int_equal(out[j], 0xAA);

	static const uint8_t v3[] = {0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x03, 0xa4,
	                             0x06, 0x02, 0x04, 0xc0, 0x00, 0x00, 0x6a};
	assert_int_equal(tsrequest_error(3, NTSTATUS_WRONG_PASSWORD, out), sizeof(v3));
	assert_memory_equal(out, v3, sizeof(v3));

	static const uint8_t v4[] = {0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x04, 0xa4,
	                             0x06, 0x02, 0x04, 0xc0, 0x00, 0x02, 0x34};
	assert_int_equal(tsrequest_error(4, NTSTATUS_ACCOUNT_LOCKED_OUT, out), sizeof(v4));
	assert_memory_equal(out, v4, sizeof(v4));

	/* Small codes keep their 4 bytes. */
	static const uint8_t small[] = {0x30, 0x0d, 0xa0, 0x03, 0x02, 0x01, 0x7f, 0xa4,
	                                0x06, 0x02, 0x04, 0x00, 0x00, 0x00, 0x01};
	assert_int_equal(tsrequest_error(0x7F, 1, out), sizeof(small));
	assert_memory_equal(out, small, sizeof(small));
}

static void test_error_parses_back(void **state)
{
	(void)state;
	static const uint32_t versions[] = {3, 4, 6, 7, 0x7F};
	static const uint32_t codes[] = {NTSTATUS_LOGON_FAILURE, NTSTATUS_PASSWORD_EXPIRED,
	                                 NTSTATUS_ACCESS_DENIED, 0, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		for (size_t j = 0; j < sizeof(codes) / sizeof(codes[0]); j++) {
			uint8_t out[TSREQUEST_ERROR_MAX];
			size_t n = tsrequest_error(versions[i], codes[j], out);
			assert_int_equal(n, 15);
			assert_int_equal(version_of(out, n), (int)versions[i]);
			uint32_t code = (uint32_t)out[11] << 24 | (uint32_t)out[12] << 16 |
			                (uint32_t)out[13] << 8 | out[14];
			assert_int_equal(code, codes[j]);
		}
	}
}

static void test_ntstatus_names(void **state)
{
	(void)state;
	static const struct {
		uint32_t code;
		const char *name;
	} known[] = {
	        {0xC000006D, "STATUS_LOGON_FAILURE"},
	        {0xC000006A, "STATUS_WRONG_PASSWORD"},
	        {0xC000006E, "STATUS_ACCOUNT_RESTRICTION"},
	        {0xC0000071, "STATUS_PASSWORD_EXPIRED"},
	        {0xC0000072, "STATUS_ACCOUNT_DISABLED"},
	        {0xC0000022, "STATUS_ACCESS_DENIED"},
	        {0xC0000224, "STATUS_PASSWORD_MUST_CHANGE"},
	        {0xC0000234, "STATUS_ACCOUNT_LOCKED_OUT"},
	        {0xC0000193, "STATUS_ACCOUNT_EXPIRED"},
	        {0xC000015B, "STATUS_LOGON_TYPE_NOT_GRANTED"},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		const char *name = ntstatus_name(known[i].code);
		assert_non_null(name);
		assert_string_equal(name, known[i].name);
	}
	assert_string_equal(ntstatus_name(NTSTATUS_LOGON_FAILURE), "STATUS_LOGON_FAILURE");
	static const uint32_t unknown[] = {0,          1,          0xC0000001, 0xC000006C,
	                                   0x0000006D, 0x6D0000C0, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_null(ntstatus_name(unknown[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_builder_matches_freerdp_prefix),
	        cmocka_unit_test(test_version_real),
	        cmocka_unit_test(test_version_minimal_and_forms),
	        cmocka_unit_test(test_every_prefix_refused),
	        cmocka_unit_test(test_trailing_bytes_refused),
	        cmocka_unit_test(test_wrong_tags_refused),
	        cmocka_unit_test(test_length_mismatch_refused),
	        cmocka_unit_test(test_every_mutation),
	        cmocka_unit_test(test_random_garbage),
	        cmocka_unit_test(test_error_no_error_code),
	        cmocka_unit_test(test_error_exact_bytes),
	        cmocka_unit_test(test_error_parses_back),
	        cmocka_unit_test(test_ntstatus_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
