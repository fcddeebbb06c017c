/* tlshook.c — libssl interposition (see tlshook.h). */
#include "tlshook.h"

#include <dlfcn.h>
#include <openssl/ssl.h>
#include <pthread.h>

#include "peer.h"

typedef int (*handshake_fn)(SSL *);

static handshake_fn real_handshake;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void resolve(void)
{
	real_handshake = (handshake_fn)dlsym(RTLD_NEXT, "SSL_do_handshake");
}

int tlshook_ready(void)
{
	pthread_once(&once, resolve);
	return real_handshake != NULL;
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
