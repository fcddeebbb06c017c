/* tlshook.c — libssl interposition (see tlshook.h). */
#include "tlshook.h"

#include <dlfcn.h>
#include <pthread.h>

#include "peer.h"

typedef int (*handshake_fn)(SSL *);
typedef int (*write_fn)(SSL *, const void *, int);
typedef int (*read_fn)(SSL *, void *, int);

static handshake_fn real_handshake;
static write_fn real_write;
static read_fn real_read;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	real_handshake = (handshake_fn)dlsym(RTLD_NEXT, "SSL_do_handshake");
	real_write = (write_fn)dlsym(RTLD_NEXT, "SSL_write");
	real_read = (read_fn)dlsym(RTLD_NEXT, "SSL_read");
}

int tlshook_ready(void)
{
	pthread_once(&once, resolve);
	return real_handshake && real_write && real_read;
}

int SSL_do_handshake(SSL *s)
{
	pthread_once(&once, resolve);
	if (!real_handshake)
		return -1;
	int rc = real_handshake(s);
	if (rc == 1 && SSL_is_server(s))
		peer_on_tls_handshake_done(s);
	return rc;
}

int SSL_write(SSL *s, const void *buf, int num)
{
	pthread_once(&once, resolve);
	if (!real_write)
		return -1;
	const void *out = buf;
	size_t out_len = num > 0 ? (size_t)num : 0;
	if (num > 0 && SSL_is_server(s) && peer_on_server_write(buf, (size_t)num, &out, &out_len) != 0)
		return -1; /* the peer replaced this PDU: FreeRDP sees a failed write */
	if (out_len != (size_t)num) /* a longer PDU in place of FreeRDP's: all of it, or none */
		return tlshook_write(s, out, (int)out_len) == 0 ? num : -1;
	return real_write(s, out, num);
}

int SSL_read(SSL *s, void *buf, int num)
{
	pthread_once(&once, resolve);
	if (!real_read)
		return -1;
	int server = SSL_is_server(s);
	int rc = server && peer_filters_reads() ? peer_filtered_read(s, buf, num, real_read)
	                                        : real_read(s, buf, num);
	if (rc > 0 && server)
		peer_on_client_read(buf, (size_t)rc);
	return rc;
}

int tlshook_read_raw(SSL *ssl, void *buf, int num)
{
	pthread_once(&once, resolve);
	return real_read ? real_read(ssl, buf, num) : -1;
}

int tlshook_write(SSL *ssl, const void *buf, int num)
{
	const unsigned char *p = buf;
	pthread_once(&once, resolve);
	/* FreeRDP enables partial writes; a blocked write is retried while
	 * the handle says so. */
	for (int tries = 0; num > 0 && tries < 1000; tries++) {
		int rc = real_write(ssl, p, num);
		if (rc > 0) {
			p += rc;
			num -= rc;
			continue;
		}
		int err = SSL_get_error(ssl, rc);
		if (err != SSL_ERROR_WANT_WRITE && err != SSL_ERROR_WANT_READ)
			return -1;
	}
	return num == 0 ? 0 : -1;
}
