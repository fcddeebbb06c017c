/* test_find.c — unit tests of "which scenarios show this code"
 * (server/catalog/find.c), against the repository's catalog: the four that
 * end in 0x904 / 0x7 rank first, codes as numbers or ERRINFO names, a
 * client filter, and codes that match nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog/find.h"
#include "catalog/scenario.h"

#define MAX_HITS 256

static struct catalog cat;

static int setup(void **state)
{
	(void)state;
	return catalog_load_dir(RDPFAULT_SOURCE_SCENARIOS, &cat, stderr) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	catalog_free(&cat);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The names of the hits scoring `score`, sorted, joined by spaces. */
static void names_at(const struct find_hit *h, size_t n, int score, char *out, size_t cap)
{
	const char *v[MAX_HITS];
	size_t k = 0, used = 0;
	for (size_t i = 0; i < n; i++)
		if (h[i].score == score)
			v[k++] = h[i].s->name;
	qsort(v, k, sizeof(v[0]), cmp_str);
	out[0] = '\0';
	for (size_t i = 0; i < k; i++)
		used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? " " : "", v[i]);
}

static void test_0x904_0x7(void **state)
{
	(void)state;
	struct find_hit hits[MAX_HITS];
	char names[4096];
	size_t n = find_by_code(&cat, "0x904", "0x7", NULL, hits, MAX_HITS);
	assert_true(n >= 4 && n <= MAX_HITS);
	names_at(hits, n, 4, names, sizeof(names));
	assert_string_equal(
	        names, "denied-after-active denied-at-licensing server-busy udp-fallback-denied");
	/* Best first. */
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(hits[i].score, 4);
	for (size_t i = 1; i < n; i++)
		assert_true(hits[i - 1].score >= hits[i].score);
	/* The same by ERRINFO name, and in upper case. */
	struct find_hit again[MAX_HITS];
	char names2[4096];
	size_t n2 = find_by_code(&cat, "0X904", "ERRINFO_SERVER_DENIED_CONNECTION", NULL, again,
	                         MAX_HITS);
	names_at(again, n2, 4, names2, sizeof(names2));
	assert_string_equal(names2, names);
}

static void test_code_alone(void **state)
{
	(void)state;
	struct find_hit hits[MAX_HITS];
	size_t n = find_by_code(&cat, "0x904", NULL, NULL, hits, MAX_HITS);
	assert_true(n > 4);
	for (size_t i = 0; i < n && i < MAX_HITS; i++)
		assert_true(hits[i].score >= 2);
}

static void test_client_filter_and_misses(void **state)
{
	(void)state;
	struct find_hit hits[MAX_HITS];
	/* mstsc's dialog codes are mstsc's: another client has none of them. */
	assert_int_equal(find_by_code(&cat, "0x904", "0x7", "nmap", hits, MAX_HITS), 0);
	assert_true(find_by_code(&cat, "0x904", "0x7", "mstsc", hits, MAX_HITS) >= 4);
	assert_int_equal(find_by_code(&cat, "0x12345", NULL, NULL, hits, MAX_HITS), 0);
	assert_true(find_code_ok("0x904"));
	assert_true(find_code_ok("2308"));
	assert_true(find_code_ok("ERRINFO_SERVER_DENIED_CONNECTION"));
	assert_false(find_code_ok("banana"));
	assert_false(find_code_ok(""));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_0x904_0x7),
	        cmocka_unit_test(test_code_alone),
	        cmocka_unit_test(test_client_filter_and_misses),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
