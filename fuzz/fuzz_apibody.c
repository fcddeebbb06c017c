/* fuzz_apibody.c — libFuzzer target: the control API's request body to a
 * network condition (net_cond_from_json, net_cond_update_json) and serve
 * --network's spec (net_cond_parse_spec). Any input: a condition or an
 * error naming the field, never a crash, and an accepted condition always
 * writes back as JSON that is accepted again, unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog/netplan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512];
	const char *field;
	struct net_cond c, again;
	json_error_t jerr;
	json_t *o = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
	if (o) {
		if (net_cond_from_json(o, &c, why, sizeof why, &field) == 0) {
			json_t *back = net_cond_json(&c);
			if (net_cond_from_json(back, &again, why, sizeof why, &field) != 0 ||
			    memcmp(again.def.a, c.def.a, sizeof c.def.a) || again.t != c.t ||
			    again.streams != c.streams || again.toxicity != c.toxicity)
				abort(); /* what it writes, it must read back the same */
			struct net_cond u = c;
			(void)net_cond_update_json(&u, o, why, sizeof why, &field);
			json_decref(back);
		} else if (!why[0]) {
			abort(); /* an error always says why */
		}
		json_decref(o);
	}
	char *spec = malloc(size + 1);
	if (spec) {
		memcpy(spec, data, size);
		spec[size] = '\0';
		why[0] = '\0';
		if (net_cond_parse_spec(spec, &c, why, sizeof why) != 0 && !why[0])
			abort();
		free(spec);
	}
	return 0;
}
