/* test_hexstr.c — unit tests of the hex encoder (server/base/hexstr.c): every
 * byte value, the terminating NUL, and zero bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/hexstr.h"

static void test_every_byte(void **state)
{
	(void)state;
	uint8_t b[256];
	char out[513], want[3];
	for (int i = 0; i < 256; i++)
		b[i] = (uint8_t)i;
	memset(out, 'x', sizeof(out));
	hex_encode(b, sizeof(b), out);
	assert_int_equal(strlen(out), 512);
	for (int i = 0; i < 256; i++) {
		snprintf(want, sizeof(want), "%02x", i);
		assert_memory_equal(out + 2 * i, want, 2);
	}
}

static void test_empty(void **state)
{
	(void)state;
	char out[1] = {'x'};
	hex_encode((const uint8_t *)"", 0, out);
	assert_int_equal(out[0], '\0');
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_every_byte),
	        cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
