/* tlshook.c — libssl interposition (see tlshook.h). */
#include "freerdp/tlshook.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

typedef int (*handshake_fn)(SSL *);
typedef int (*write_fn)(SSL *, const void *, int);
typedef int (*read_fn)(SSL *, void *, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef EVP_PKEY *(*read_key_fn)(BIO *, EVP_PKEY **, pem_password_cb *, void *);
typedef X509 *(*read_x509_fn)(BIO *, X509 **, pem_password_cb *, void *);
typedef int (*use_key_fn)(SSL *, EVP_PKEY *);
typedef int (*use_x509_fn)(SSL *, X509 *);
typedef X509 *(*x509_dup_fn)(const X509 *);
typedef int (*i2d_pub_fn)(const EVP_PKEY *, unsigned char **);

static handshake_fn real_handshake;
static write_fn real_write;
static read_fn real_read;
static send_fn real_send;
static recv_fn real_recv;
static read_key_fn real_read_key;
static read_x509_fn real_read_x509;
static use_key_fn real_use_key;
static use_x509_fn real_use_x509;
static x509_dup_fn real_x509_dup;
static i2d_pub_fn real_i2d_pub;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static const struct tlshook_peer *hk;

void tlshook_install(const struct tlshook_peer *hooks)
{
	hk = hooks;
}

static void resolve(void)
{
	real_handshake = (handshake_fn)dlsym(RTLD_NEXT, "SSL_do_handshake");
	real_write = (write_fn)dlsym(RTLD_NEXT, "SSL_write");
	real_read = (read_fn)dlsym(RTLD_NEXT, "SSL_read");
	real_send = (send_fn)dlsym(RTLD_NEXT, "send");
	real_recv = (recv_fn)dlsym(RTLD_NEXT, "recv");
	real_read_key = (read_key_fn)dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");
	real_read_x509 = (read_x509_fn)dlsym(RTLD_NEXT, "PEM_read_bio_X509");
	real_use_key = (use_key_fn)dlsym(RTLD_NEXT, "SSL_use_PrivateKey");
	real_use_x509 = (use_x509_fn)dlsym(RTLD_NEXT, "SSL_use_certificate");
	real_x509_dup = (x509_dup_fn)dlsym(RTLD_NEXT, "X509_dup");
	real_i2d_pub = (i2d_pub_fn)dlsym(RTLD_NEXT, "i2d_PublicKey");
}

int tlshook_ready(void)
{
	pthread_once(&once, resolve);
	return real_handshake && real_write && real_read && real_send && real_recv &&
	       real_read_key && real_read_x509 && real_use_key && real_use_x509 && real_x509_dup &&
	       real_i2d_pub;
}

int SSL_do_handshake(SSL *s)
{
	pthread_once(&once, resolve);
	if (!real_handshake)
		return -1;
	int server = hk && SSL_is_server(s);
	if (server)
		hk->tls_step(s, 0, 0);
	int rc = real_handshake(s);
	if (server)
		hk->tls_step(s, 1, rc);
	return rc;
}

/* FreeRDP's socket BIO writes with send(): every byte the server sends,
 * TLS records or RDP Standard Security's plaintext, passes here. The peer
 * counts them (the server stream's offsets the relay works in) and, once a
 * fault struck, withholds or holds them. Other callers pass straight on. */
ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	pthread_once(&once, resolve);
	if (!real_send) {
		errno = ENOSYS;
		return -1;
	}
	switch (hk ? hk->socket_send(fd, buf, len) : TLSHOOK_PASS) {
	case TLSHOOK_SWALLOW:
		return (ssize_t)len;
	case TLSHOOK_FAIL:
		errno = EPIPE;
		return -1;
	default:
		break;
	}
	ssize_t n = real_send(fd, buf, len, flags);
	if (n > 0 && hk)
		hk->socket_sent(fd, buf, (size_t)n);
	return n;
}

/* FreeRDP 2.11's tls_accept parses the key and certificate PEM for every
 * connection, and never frees its own reference to either after handing
 * them to the SSL handle (SSL_use_* takes one of its own): ~5 KB leaked per
 * TLS connection. On a peer thread the parse returns the scenario's object
 * parsed once at start (one more reference), and the handle's own
 * reference replaces FreeRDP's, which is dropped here: nothing is parsed
 * per connection and nothing leaks. */
EVP_PKEY *PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	pthread_once(&once, resolve);
	EVP_PKEY *k = x || !hk ? NULL : hk->tls_key();
	if (k && EVP_PKEY_up_ref(k) == 1)
		return k;
	return real_read_key ? real_read_key(bp, x, cb, u) : NULL;
}

X509 *PEM_read_bio_X509(BIO *bp, X509 **x, pem_password_cb *cb, void *u)
{
	pthread_once(&once, resolve);
	X509 *c = x || !hk ? NULL : hk->tls_cert();
	if (c && X509_up_ref(c) == 1)
		return c;
	return real_read_x509 ? real_read_x509(bp, x, cb, u) : NULL;
}

int SSL_use_PrivateKey(SSL *ssl, EVP_PKEY *pkey)
{
	pthread_once(&once, resolve);
	if (!real_use_key)
		return 0;
	int rc = real_use_key(ssl, pkey);
	if (rc > 0 && hk && SSL_is_server(ssl) && hk->tls_key())
		EVP_PKEY_free(pkey); /* FreeRDP's reference, which it never gives back */
	return rc;
}

int SSL_use_certificate(SSL *ssl, X509 *x509)
{
	pthread_once(&once, resolve);
	if (!real_use_x509)
		return 0;
	int rc = real_use_x509(ssl, x509);
	if (rc > 0 && hk && SSL_is_server(ssl) && hk->tls_cert())
		X509_free(x509);
	return rc;
}

/* Once the handshake is done, FreeRDP 2.11's tls_accept copies the
 * server's certificate (X509_dup: an encode and a parse, its key included)
 * only to DER-encode its public key (i2d_PublicKey, twice, each through
 * OpenSSL 3's encoder lookup) for CredSSP, then frees the copy: about a
 * fifth of a TLS connection's server CPU, the same result every time. On a
 * peer thread the scenario's certificate is handed out with one more
 * reference instead of a copy (FreeRDP only reads it), and its public key's
 * encoding, made once with the certificate, is copied out. (libcrypto's own
 * X509_dup calls, in CMP and SCT validation, never run on a peer thread.) */
X509 *X509_dup(const X509 *x)
{
	pthread_once(&once, resolve);
	X509 *c = x && hk ? hk->tls_cert() : NULL;
	if (c && c == x && X509_up_ref(c) == 1)
		return c;
	return real_x509_dup ? real_x509_dup(x) : NULL;
}

int i2d_PublicKey(const EVP_PKEY *a, unsigned char **pp)
{
	pthread_once(&once, resolve);
	X509 *c = a && hk ? hk->tls_cert() : NULL;
	int n = 0;
	const unsigned char *der =
	        c && X509_get0_pubkey(c) == a && hk->tls_pubkey_der ? hk->tls_pubkey_der(&n) : NULL;
	if (!der || n <= 0)
		return real_i2d_pub ? real_i2d_pub(a, pp) : -1;
	if (!pp)
		return n;
	if (!*pp) { /* i2d's own allocation, not advanced */
		*pp = OPENSSL_malloc((size_t)n);
		if (!*pp)
			return -1;
		memcpy(*pp, der, (size_t)n);
		return n;
	}
	memcpy(*pp, der, (size_t)n);
	*pp += n;
	return n;
}

/* FreeRDP's socket reads: the peer learns when the server waits, and
 * counts the client's stream as FreeRDP consumed it. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	pthread_once(&once, resolve);
	if (!real_recv) {
		errno = ENOSYS;
		return -1;
	}
	if (hk)
		hk->socket_recv(fd);
	ssize_t n = real_recv(fd, buf, len, flags);
	if (n > 0 && hk && hk->socket_received && !(flags & MSG_PEEK))
		hk->socket_received(fd, (size_t)n);
	return n;
}

int SSL_write(SSL *s, const void *buf, int num)
{
	pthread_once(&once, resolve);
	if (!real_write)
		return -1;
	const void *out = buf;
	size_t out_len = num > 0 ? (size_t)num : 0;
	if (num <= 0 || !hk || !SSL_is_server(s))
		return real_write(s, buf, num);
	switch (hk->server_write(buf, (size_t)num, &out, &out_len)) {
	case TLSHOOK_FAIL:
		return -1; /* the peer replaced this PDU, or the connection is gone */
	case TLSHOOK_SWALLOW:
		return num; /* withheld: FreeRDP believes it went */
	default:
		break;
	}
	int rc;
	if (out_len != (size_t)num) /* a longer PDU in place of FreeRDP's: all of it, or none */
		rc = tlshook_write(s, out, (int)out_len) == 0 ? num : -1;
	else
		rc = real_write(s, out, num);
	if (rc > 0)
		hk->server_written(out, (size_t)rc);
	return rc;
}

int SSL_read(SSL *s, void *buf, int num)
{
	pthread_once(&once, resolve);
	if (!real_read)
		return -1;
	int server = SSL_is_server(s);
	int rc = server && hk && hk->filters_reads() ? hk->filtered_read(s, buf, num, real_read)
	                                             : real_read(s, buf, num);
	if (rc > 0 && server && hk)
		hk->client_read(buf, (size_t)rc);
	else if (rc <= 0 && server && hk && SSL_get_error(s, rc) == SSL_ERROR_ZERO_RETURN)
		hk->client_closed();
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
