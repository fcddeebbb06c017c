/* auth.h — the control API's one credential: a Bearer token (serve
 * --api-token), required of every request once set, and always when the
 * API listens on a non-loopback address. */
#ifndef RDPFAULT_API_AUTH_H
#define RDPFAULT_API_AUTH_H

#include <stddef.h>

#define API_TOKEN_MIN 16
#define API_TOKEN_MAX 256

/* 0 when t is a usable token (16-256 visible ASCII characters, no
 * spaces), else -1 with why set. */
int api_token_check(const char *t, char *why, size_t n);
/* 1 when an Authorization header value is "Bearer TOKEN" with this token.
 * Both sides are hashed first and the digests compared in constant time:
 * the time taken says nothing about the token, not even its length. */
int api_auth_ok(const char *authorization, const char *token);

#endif
