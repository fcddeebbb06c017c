/* test_cookie.c — unit tests of scenario selection by X.224 cookie
 * (server/catalog/cookie.c), against the repository's catalog: whole
 * names, aliases, DOMAIN\USER, mstsc's 9-character cut (unique and
 * ambiguous), case, and cookies that name nothing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "catalog/cookie.h"
#include "catalog/scenario.h"

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

/* The name cookie selects, and how. */
static const char *pick(const char *cookie, enum cookie_match *how)
{
	struct cookie_result r;
	cookie_match((const struct scenario *const *)cat.items, cat.n, cookie, &r);
	*how = r.how;
	return r.how == COOKIE_NONE || r.how == COOKIE_AMBIGUOUS ? NULL : cat.items[r.index]->name;
}

static void test_whole_name_and_alias(void **state)
{
	(void)state;
	enum cookie_match how;
	assert_string_equal(pick("denied-after-active", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_NAME);
	assert_string_equal(pick("DENIED-After-Active", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_NAME);
	assert_string_equal(pick("deny-actv", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_ALIAS);
	assert_string_equal(pick("CORP\\denied-after-active", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_NAME);
	assert_string_equal(pick("corp\\deny-actv", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_ALIAS);
	assert_string_equal(pick("reset-at-tls-finished", &how), "reset-at-tls-finished");
	assert_int_equal(how, COOKIE_NAME);
	assert_string_equal(cookie_match_name(COOKIE_NAME), "cookie");
	assert_string_equal(cookie_match_name(COOKIE_ALIAS), "alias");
}

/* What mstsc sends for /u:denied-after-active. */
static void test_mstsc_nine_characters(void **state)
{
	(void)state;
	enum cookie_match how;
	assert_string_equal(pick("denied-af", &how), "denied-after-active");
	assert_int_equal(how, COOKIE_PREFIX);
	assert_string_equal(cookie_match_name(how), "cookie-prefix");
	assert_string_equal(pick("cert-expi", &how), "cert-expired");
	assert_int_equal(how, COOKIE_PREFIX);
	/* A prefix is only mstsc's cut: shorter or longer cookies are not. */
	assert_null(pick("denied-a", &how));
	assert_int_equal(how, COOKIE_NONE);
	assert_null(pick("denied-aft", &how));
	assert_int_equal(how, COOKIE_NONE);
	assert_string_equal(cookie_match_name(COOKIE_NONE), "listener");
}

static void test_ambiguous_prefix(void **state)
{
	(void)state;
	struct cookie_result r;
	cookie_match((const struct scenario *const *)cat.items, cat.n, "close-at-", &r);
	assert_int_equal(r.how, COOKIE_AMBIGUOUS);
	assert_true(r.n_candidates > 10);
	for (size_t i = 0; i < r.n_candidates && i < COOKIE_CANDIDATES; i++)
		assert_int_equal(strncmp(cat.items[r.candidates[i]]->name, "close-at-", 9), 0);
}

static void test_names_nothing(void **state)
{
	(void)state;
	enum cookie_match how;
	assert_null(pick("nosuchone", &how));
	assert_int_equal(how, COOKIE_NONE);
	assert_null(pick("", &how));
	assert_int_equal(how, COOKIE_NONE);
	assert_null(pick("\\", &how));
	assert_int_equal(how, COOKIE_NONE);
	assert_null(pick("x\\", &how));
	assert_int_equal(how, COOKIE_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_whole_name_and_alias),
	        cmocka_unit_test(test_mstsc_nine_characters),
	        cmocka_unit_test(test_ambiguous_prefix),
	        cmocka_unit_test(test_names_nothing),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
