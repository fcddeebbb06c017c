/* test_phase.c — unit tests of the phase model (server/base/phase.c): the exact
 * list of phase names in connection order, that every name is unique
 * kebab-case with a non-empty description, phase_from_name round trips and
 * refusals, out-of-range phases, and phase_from_freerdp_state for every
 * FreeRDP 2.11 CONNECTION_STATE_* name (mapped or not), NULL and near
 * misses. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "base/phase.h"

/* The phases in connection order, as documented. */
static const char *const expected_names[] = {
        "tcp-accept",       "x224-request", "x224-confirm", "tls-client-hello",
        "tls-server-hello", "tls-finished", "credssp",      "mcs-connect",
        "erect-domain",     "attach-user",  "channel-join", "security-exchange",
        "client-info",      "licensing",    "capabilities", "confirm-active",
        "finalization",     "active",
};

#define N_EXPECTED (sizeof(expected_names) / sizeof(expected_names[0]))

/* Lower-case letters and digits in words joined by single hyphens. */
static int is_kebab(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '-') {
			if (s[i + 1] == '-')
				return 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
			return 0;
		}
	}
	return 1;
}

static void test_kebab_checker(void **state)
{
	(void)state;
	assert_true(is_kebab("x224-request"));
	assert_true(is_kebab("active"));
	assert_false(is_kebab(""));
	assert_false(is_kebab("X224-request"));
	assert_false(is_kebab("x224_request"));
	assert_false(is_kebab("x224--request"));
	assert_false(is_kebab("-active"));
	assert_false(is_kebab("active-"));
	assert_false(is_kebab("tls client"));
}

static void test_exact_list_in_order(void **state)
{
	(void)state;
	assert_int_equal(PH_COUNT, N_EXPECTED + 1);
	assert_int_equal(PH_NONE, 0);
	for (size_t i = 0; i < N_EXPECTED; i++)
		assert_string_equal(phase_name((enum phase)(i + 1)), expected_names[i]);
	/* A few enumerators against their names, so a reordering of the enum
	 * alone shows too. */
	assert_string_equal(phase_name(PH_TCP_ACCEPT), "tcp-accept");
	assert_string_equal(phase_name(PH_X224_CONFIRM), "x224-confirm");
	assert_string_equal(phase_name(PH_CREDSSP), "credssp");
	assert_string_equal(phase_name(PH_CHANNEL_JOIN), "channel-join");
	assert_string_equal(phase_name(PH_SECURITY_EXCHANGE), "security-exchange");
	assert_string_equal(phase_name(PH_CLIENT_INFO), "client-info");
	assert_string_equal(phase_name(PH_LICENSING), "licensing");
	assert_string_equal(phase_name(PH_ACTIVE), "active");
	assert_int_equal(PH_ACTIVE, PH_COUNT - 1);
}

static void test_names_unique_kebab_described(void **state)
{
	(void)state;
	for (int i = 0; i < PH_COUNT; i++) {
		const char *n = phase_name((enum phase)i);
		const char *d = phase_description((enum phase)i);
		assert_non_null(n);
		assert_non_null(d);
		assert_true(is_kebab(n));
		assert_true(strlen(d) > 0);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(n, phase_name((enum phase)j));
	}
	assert_string_equal(phase_name(PH_NONE), "none");
}

static void test_out_of_range(void **state)
{
	(void)state;
	assert_string_equal(phase_name(PH_COUNT), "none");
	assert_string_equal(phase_name((enum phase)(PH_COUNT + 7)), "none");
	assert_string_equal(phase_description(PH_COUNT), "");
	assert_string_equal(phase_description((enum phase)(PH_COUNT + 7)), "");
}

static void test_from_name_round_trip(void **state)
{
	(void)state;
	for (int i = 1; i < PH_COUNT; i++)
		assert_int_equal(phase_from_name(phase_name((enum phase)i)), i);
	for (size_t i = 0; i < N_EXPECTED; i++)
		assert_int_equal(phase_from_name(expected_names[i]), (int)(i + 1));
	/* From a copy: compared by content, not by pointer. */
	char buf[32];
	strcpy(buf, "confirm-active");
	assert_int_equal(phase_from_name(buf), PH_CONFIRM_ACTIVE);
}

static void test_from_name_unknown(void **state)
{
	(void)state;
	static const char *const unknown[] = {
	        "",
	        "none",
	        "NONE",
	        "X224-REQUEST",
	        "x224_request",
	        "x224-request ",
	        " x224-request",
	        "x224",
	        "x224-request-",
	        "tls",
	        "credssp\n",
	        "activ",
	        "actives",
	        "Active",
	        "phase",
	};
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(phase_from_name(unknown[i]), PH_NONE);
	assert_int_equal(phase_from_name(NULL), PH_NONE);
}

static void test_from_freerdp_state(void **state)
{
	(void)state;
	/* Every CONNECTION_STATE of FreeRDP 2.11, in its enum order. */
	static const struct {
		const char *state;
		enum phase want;
	} map[] = {
	        {"CONNECTION_STATE_INITIAL", PH_NONE},
	        {"CONNECTION_STATE_NEGO", PH_NONE},
	        {"CONNECTION_STATE_NLA", PH_NONE},
	        {"CONNECTION_STATE_MCS_CONNECT", PH_MCS_CONNECT},
	        {"CONNECTION_STATE_MCS_ERECT_DOMAIN", PH_ERECT_DOMAIN},
	        {"CONNECTION_STATE_MCS_ATTACH_USER", PH_ATTACH_USER},
	        {"CONNECTION_STATE_MCS_CHANNEL_JOIN", PH_NONE},
	        {"CONNECTION_STATE_RDP_SECURITY_COMMENCEMENT", PH_CHANNEL_JOIN},
	        {"CONNECTION_STATE_SECURE_SETTINGS_EXCHANGE", PH_NONE},
	        {"CONNECTION_STATE_CONNECT_TIME_AUTO_DETECT", PH_NONE},
	        {"CONNECTION_STATE_LICENSING", PH_CLIENT_INFO},
	        {"CONNECTION_STATE_MULTITRANSPORT_BOOTSTRAPPING", PH_NONE},
	        {"CONNECTION_STATE_CAPABILITIES_EXCHANGE", PH_CAPABILITIES},
	        {"CONNECTION_STATE_FINALIZATION", PH_FINALIZATION},
	        {"CONNECTION_STATE_ACTIVE", PH_ACTIVE},
	};
	enum phase last = PH_NONE;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		enum phase p = phase_from_freerdp_state(map[i].state);
		assert_int_equal(p, map[i].want);
		/* The mapped phases come in connection order. */
		if (p != PH_NONE) {
			assert_true(p > last);
			last = p;
		}
	}
	assert_int_equal(phase_from_freerdp_state(NULL), PH_NONE);
	static const char *const misses[] = {
	        "",
	        "CONNECTION_STATE_",
	        "CONNECTION_STATE_MCS",
	        "connection_state_active",
	        "CONNECTION_STATE_ACTIVE ",
	        "CONNECTION_STATE_ACTIVE_",
	        "STATE_ACTIVE",
	        "mcs-connect",
	};
	for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
		assert_int_equal(phase_from_freerdp_state(misses[i]), PH_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_kebab_checker),
	        cmocka_unit_test(test_exact_list_in_order),
	        cmocka_unit_test(test_names_unique_kebab_described),
	        cmocka_unit_test(test_out_of_range),
	        cmocka_unit_test(test_from_name_round_trip),
	        cmocka_unit_test(test_from_name_unknown),
	        cmocka_unit_test(test_from_freerdp_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
