/* test_netplan.c — a scenario's network: list compiled (catalog/netplan.c):
 * attributes, defaults and triggers; every problem named with file, line
 * and field; serve --network's specs. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/phase.h"
#include "catalog/netplan.h"

static int compile_file(const char *name, char *text, size_t n, struct net_plan *plan,
                        struct scenario **sp)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/network/%s", TEST_DATA_DIR, name);
	FILE *err = fmemopen(text, n, "w");
	assert_non_null(err);
	assert_int_equal(scenario_load_file(path, sp, err), 0);
	int problems = net_plan_compile(*sp, plan, err);
	fclose(err);
	return problems;
}

static void test_ok(void **state)
{
	(void)state;
	char text[2048] = "";
	struct net_plan p;
	struct scenario *s;
	assert_int_equal(compile_file("network-ok.yaml", text, sizeof text, &p, &s), 0);
	assert_int_equal(p.n, 3);
	assert_string_equal(p.items[0].name, "latency");
	assert_int_equal(p.items[0].streams, NET_DOWN);
	assert_true(p.items[0].def.a[0] == 300 && p.items[0].def.a[1] == 25);
	assert_true(p.items[0].toxicity == 1);
	assert_int_equal(p.items[0].def.after_bytes, TX_NEVER);
	assert_string_equal(p.items[1].name, "thin");
	assert_int_equal(p.items[1].streams, NET_UP | NET_DOWN);
	assert_true(p.items[1].toxicity == 0.5);
	assert_int_equal(p.items[1].def.from_phase, PH_ACTIVE);
	assert_true(p.items[1].def.a[0] == 2.5);
	assert_int_equal(p.items[2].def.after_bytes, 1000);
	assert_int_equal(p.items[2].def.id, 2);
	json_t *j = net_cond_json(&p.items[1]);
	assert_string_equal(json_string_value(json_object_get(j, "stream")), "both");
	assert_string_equal(
	        json_string_value(json_object_get(json_object_get(j, "trigger"), "from_phase")),
	        "active");
	json_decref(j);
	net_plan_free(&p);
	scenario_free(s);
}

/* -0 reads as 0: an accepted condition writes back and reads again the
 * same (the case fuzz_apibody found: latency -0.0 wrote back as 0). */
static void test_negative_zero(void **state)
{
	(void)state;
	char why[256];
	const char *field;
	struct net_cond c, again;
	json_t *o = json_loads("{\"type\":\"latency\",\"toxicity\":-0.0,"
	                       "\"attributes\":{\"latency\":-0.0,\"jitter\":-0}}",
	                       0, NULL);
	assert_non_null(o);
	assert_int_equal(net_cond_from_json(o, &c, why, sizeof why, &field), 0);
	assert_false(signbit(c.def.a[0]));
	assert_false(signbit(c.def.a[1]));
	assert_false(signbit(c.toxicity));
	json_t *back = net_cond_json(&c);
	assert_int_equal(net_cond_from_json(back, &again, why, sizeof why, &field), 0);
	assert_memory_equal(again.def.a, c.def.a, sizeof c.def.a);
	json_decref(back);
	json_decref(o);
}

static void test_bad(void **state)
{
	(void)state;
	char text[4096] = "";
	struct net_plan p;
	struct scenario *s;
	assert_int_equal(compile_file("network-bad.yaml", text, sizeof text, &p, &s), 7);
	const char *want[] = {
	        "network-bad.yaml:7: network[0].type: unknown type \"lag\" (known: latency, "
	        "bandwidth,",
	        "network-bad.yaml:10: network[1].attributes.latency: 700000 is out of range (0 to "
	        "600000 ms)",
	        "network-bad.yaml:11: network[1].attributes.jitter: 1.5 is not a whole number",
	        "network-bad.yaml:12: network[1].attributes.rate: latency has no attribute "
	        "\"rate\" "
	        "(its attributes: latency, jitter)",
	        "network-bad.yaml:13: network[2].toxicity: \"2\" is not a number from 0 to 1",
	        "network-bad.yaml:15: network[2].attributes.rate: \"half\" is not a number",
	        "network-bad.yaml:16: network[3].name: \"latency\" is taken by network[1]",
	};
	for (size_t i = 0; i < sizeof want / sizeof *want; i++)
		if (!strstr(text, want[i]))
			fail_msg("missing \"%s\" in:\n%s", want[i], text);
	assert_null(p.items);
	scenario_free(s);
}

static void test_spec(void **state)
{
	(void)state;
	struct net_cond c;
	char why[256];
	assert_int_equal(net_cond_parse_spec("latency:downstream:latency=300,jitter=20", &c, why,
	                                     sizeof why),
	                 0);
	assert_string_equal(c.t->name, "latency");
	assert_true(c.def.a[0] == 300 && c.def.a[1] == 20);
	assert_string_equal(c.origin, "--network");
	assert_int_equal(net_cond_parse_spec("blackhole:both:from_phase=tls-client-hello,name=fw",
	                                     &c, why, sizeof why),
	                 0);
	assert_int_equal(c.streams, NET_UP | NET_DOWN);
	assert_int_equal(c.def.from_phase, PH_TLS_CLIENT_HELLO);
	assert_string_equal(c.name, "fw");
	assert_int_equal(net_cond_parse_spec("bandwidth:rate=5,toxicity=0.25", &c, why, sizeof why),
	                 0);
	assert_int_equal(c.streams, NET_DOWN);
	assert_true(c.toxicity == 0.25);
	assert_int_equal(net_cond_parse_spec("loss", &c, why, sizeof why), 0);
	assert_true(c.def.a[0] == 0.01);

	const struct {
		const char *spec, *why;
	} bad[] = {
	        {"lag", "unknown type \"lag\""},
	        {"latency:sideways",
	         "stream \"sideways\" is neither upstream, downstream nor both"},
	        {"latency:latency=-1", "latency: -1 is out of range (0 to 600000 ms)"},
	        {"latency:rate=4", "latency has no attribute \"rate\""},
	        {"latency:downstream:latency", "\"latency\" is not KEY=VALUE"},
	        {"latency:upstream:latency=1:x", "unexpected \":x\""},
	        {"blackhole:from_phase=tls", "from_phase: unknown phase \"tls\""},
	        {"blackhole:from_phase=active,after_bytes=3", "give one trigger"},
	        {"blackhole:toxicity=1.5", "toxicity \"1.5\" is not a number from 0 to 1"},
	        {"limit_data:bytes=1e3x", "bytes: \"1e3x\" is not a number"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		why[0] = '\0';
		assert_int_equal(net_cond_parse_spec(bad[i].spec, &c, why, sizeof why), -1);
		if (!strstr(why, bad[i].why))
			fail_msg("%s: \"%s\", wanted \"%s\"", bad[i].spec, why, bad[i].why);
	}
}

static void test_append(void **state)
{
	(void)state;
	struct net_plan p = {0};
	struct net_cond c[2];
	char why[128];
	assert_int_equal(net_cond_parse_spec("latency:latency=5", &c[0], why, sizeof why), 0);
	assert_int_equal(net_cond_parse_spec("slow_close:delay=5", &c[1], why, sizeof why), 0);
	assert_int_equal(net_plan_append(&p, c, 2), 0);
	assert_int_equal(net_plan_append(&p, c, 1), 0);
	assert_int_equal(p.n, 3);
	assert_int_equal(p.items[2].def.id, 2);
	net_plan_free(&p);
	json_t *t = net_types_json();
	assert_int_equal(json_array_size(t), 10);
	json_decref(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_ok),
	        cmocka_unit_test(test_bad),
	        cmocka_unit_test(test_negative_zero),
	        cmocka_unit_test(test_spec),
	        cmocka_unit_test(test_append),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
