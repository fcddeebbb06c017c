/* auth.c — the control API's Bearer token (see auth.h). */
#include "control/auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

int api_token_check(const char *t, char *why, size_t n)
{
	size_t len = strlen(t);
	if (len < API_TOKEN_MIN || len > API_TOKEN_MAX) {
		snprintf(why, n, "a token is %d-%d characters (this one: %zu)", API_TOKEN_MIN,
		         API_TOKEN_MAX, len);
		return -1;
	}
	for (size_t i = 0; i < len; i++)
		if (t[i] < 0x21 || t[i] > 0x7e) {
			snprintf(why, n, "a token is visible ASCII only (character %zu is not)",
			         i + 1);
			return -1;
		}
	return 0;
}

static int digest(const char *s, size_t len, unsigned char out[32])
{
	unsigned int n = 0;
	return EVP_Digest(s, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

int api_auth_ok(const char *authorization, const char *token)
{
	static const char scheme[] = "Bearer ";
	if (!authorization || strncasecmp(authorization, scheme, sizeof scheme - 1))
		return 0;
	const char *given = authorization + sizeof scheme - 1;
	unsigned char a[32], b[32];
	if (digest(given, strlen(given), a) || digest(token, strlen(token), b))
		return 0;
	return CRYPTO_memcmp(a, b, sizeof a) == 0;
}
