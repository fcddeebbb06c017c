/* fuzz_x224.c — libFuzzer target for the X.224 Connection Request parser
 * (server/x224.c). Besides running the parser on each input under ASan and
 * UBSan, it checks what the caller relies on: an OK request is sane, `out`
 * is written only on OK, bytes after the TPKT length change nothing, and
 * the verdicts over the prefixes (each in an exact-size heap copy, so an
 * over-read is caught) are NEED_MORE until decided, then never change. It
 * also feeds x224_protocols_str every buffer size. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wire/x224.h"

#define PREFIX_MAX 64

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			abort();                                                                   \
	} while (0)

static void check_request(const struct x224_request *r, size_t len)
{
	size_t clen;

	CHECK(r->length >= 11 && r->length <= len && r->length <= X224_REQUEST_MAX);
	CHECK(memchr(r->cookie, '\0', sizeof(r->cookie)) != NULL);
	clen = strlen(r->cookie);
	CHECK(clen <= X224_COOKIE_MAX);
	CHECK(!(r->has_cookie && r->has_routing_token));
	CHECK(r->has_cookie || (clen == 0 && !r->cookie_truncated));
	CHECK(!r->cookie_truncated || clen == X224_COOKIE_MAX);
	CHECK(r->has_neg_req || (r->neg_flags == 0 && r->requested_protocols == 0));
}

static int same_request(const struct x224_request *a, const struct x224_request *b)
{
	return a->length == b->length && a->has_cookie == b->has_cookie &&
	       strcmp(a->cookie, b->cookie) == 0 && a->cookie_truncated == b->cookie_truncated &&
	       a->has_routing_token == b->has_routing_token && a->has_neg_req == b->has_neg_req &&
	       a->neg_flags == b->neg_flags && a->requested_protocols == b->requested_protocols;
}

/* Parses an exact-size copy of data[0..len); out must stay as it was unless OK. */
static int parse_copy(const uint8_t *data, size_t len, struct x224_request *out)
{
	struct x224_request before;
	uint8_t *copy = NULL;
	int rc;

	if (len) {
		copy = malloc(len);
		CHECK(copy != NULL);
		memcpy(copy, data, len);
	}
	memset(out, 0xA5, sizeof(*out));
	memcpy(&before, out, sizeof(before));
	rc = x224_parse_request(copy, len, out);
	free(copy);
	CHECK(rc >= X224_ERR_TRAILING && rc <= X224_NEED_MORE);
	if (rc == X224_OK)
		check_request(out, len);
	else
		CHECK(memcmp(out, &before, sizeof(before)) == 0);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct x224_request full, pre;
	size_t k, lim = size < PREFIX_MAX ? size : PREFIX_MAX;
	int rc, decided = 0, first = X224_NEED_MORE;

	/* libFuzzer's own buffer is exact-size already. */
	rc = x224_parse_request(data, size, &full);
	CHECK(rc >= X224_ERR_TRAILING && rc <= X224_NEED_MORE);
	CHECK(x224_parse_request(data, size, NULL) == rc);
	if (rc == X224_OK) {
		check_request(&full, size);
		/* Only the first `length` bytes count. */
		CHECK(parse_copy(data, full.length, &pre) == X224_OK && same_request(&pre, &full));
	}
	if (rc == X224_NEED_MORE)
		CHECK(size < 4 || size < ((size_t)data[2] << 8 | data[3]));

	for (k = 0; k <= lim; k++) {
		int r = parse_copy(data, k, &pre);

		if (decided) {
			CHECK(r == first);
		} else if (r != X224_NEED_MORE) {
			decided = 1;
			first = r;
		}
		if (rc == X224_OK)
			CHECK(k < full.length ? r == X224_NEED_MORE
			                      : r == X224_OK && same_request(&pre, &full));
		if (r < 0)
			CHECK(rc == r);
	}
	CHECK(x224_status_name(rc) != NULL && x224_status_text(rc) != NULL);

	/* Protocol names in every buffer size: NUL-terminated, never longer. */
	if (size >= 4) {
		uint32_t protocols;
		char text[48];

		memcpy(&protocols, data, sizeof(protocols));
		for (k = 1; k <= sizeof(text); k++) {
			memset(text, '#', sizeof(text));
			CHECK(x224_protocols_str(protocols, text, k) == text);
			CHECK(strlen(text) < k);
		}
	}
	return 0;
}
