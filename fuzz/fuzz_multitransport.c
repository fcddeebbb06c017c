/* fuzz_multitransport.c — libFuzzer target for the multitransport parsers
 * and the PDU filter: everything of faults/multitransport.c, faults/udp.c
 * and server/wire/pdufilter.c that reads bytes a client (or FreeRDP) sent. The
 * first input byte picks the parser, the rest is its input, in an
 * exact-size heap copy (ASan catches any over-read). Beyond not crashing
 * it checks: a Connect Response grown with Server Multitransport Channel
 * Data always parses again and then carries the block; the PDU filter
 * hands on exactly the input minus what it withheld, in order. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "faults/multitransport.h"
#include "wire/pdufilter.h"
#include "faults/udp.h"

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

struct src {
	const uint8_t *p;
	size_t n, off;
	unsigned seed;
};

static int src_read(void *arg, uint8_t *buf, int num)
{
	struct src *s = arg;
	s->seed = s->seed * 1103515245u + 12345u;
	if ((s->seed >> 16) % 5 == 0)
		return -1; /* would block */
	size_t left = s->n - s->off;
	if (!left)
		return 0;
	size_t k = 1 + (s->seed >> 8) % 9;
	if (k > (size_t)num)
		k = (size_t)num;
	if (k > left)
		k = left;
	memcpy(buf, s->p + s->off, k);
	s->off += k;
	return (int)k;
}

/* Withholds PDUs whose length is odd: any rule will do. */
static int keep_even(void *arg, const uint8_t *pdu, size_t len)
{
	(void)arg;
	(void)pdu;
	return len % 2 == 0;
}

static void filter(const uint8_t *d, size_t n)
{
	struct src s = {d, n, 0, (unsigned)n};
	struct pdufilter f;
	memset(&f, 0, sizeof(f));
	uint8_t *out = malloc(n + 1);
	size_t got = 0;
	for (int guard = 0; guard < 100000; guard++) {
		int rc = pdufilter_read(&f, src_read, &s, keep_even, NULL, out + got, 7);
		if (rc > 0) {
			CHECK(got + (size_t)rc <= n);
			got += (size_t)rc;
		} else if (rc == 0) {
			break;
		}
	}
	CHECK(got <= n);
	free(out);
	pdufilter_free(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t n = size - 1;
	uint8_t *d = malloc(n ? n : 1);
	memcpy(d, data + 1, n);
	const char *why;
	switch (data[0] % 5) {
	case 0: {
		struct mt_client_data c;
		(void)mt_parse_connect_initial(d, n, &c, &why);
		break;
	}
	case 1: {
		size_t cap = n + MT_CONNECT_RESPONSE_GROWTH;
		uint8_t *out = malloc(cap);
		size_t m = mt_add_server_multitransport(d, n, 0x101, out, cap, &why);
		if (m) {
			uint16_t ch;
			int has = 0;
			uint32_t fl = 0;
			uint8_t *exact = malloc(m);
			memcpy(exact, out, m);
			CHECK(mt_parse_connect_response(exact, m, &ch, &has, &fl, &why) == 0);
			CHECK(has && fl == 0x101);
			free(exact);
		}
		free(out);
		break;
	}
	case 2: {
		uint32_t id, hr;
		struct mt_request r;
		uint16_t uid;
		(void)mt_parse_response(d, n, 0, &id, &hr);
		(void)mt_parse_request(d, n, 0, &r);
		(void)mt_parse_attach_user_confirm(d, n, &uid);
		break;
	}
	case 3: {
		struct udp_syn s;
		(void)udp_parse_syn(d, n, &s, &why);
		break;
	}
	default:
		filter(d, n);
	}
	free(d);
	return 0;
}
