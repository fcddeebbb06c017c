/* test_tlshook.c — unit tests of the libssl interposition's certificate
 * answers (server/freerdp/tlshook.c): X509_dup and i2d_PublicKey, as
 * FreeRDP 2.11's tls_accept calls them after each handshake.
 *
 * - With the peer's hooks naming a scenario's certificate, X509_dup of it
 *   is that certificate with one more reference; of any other, a real copy.
 * - i2d_PublicKey of that certificate's key gives the encoding made once,
 *   byte for byte what libcrypto's own gives: the length with no buffer,
 *   the bytes with one (advanced past them), an allocated copy with *pp
 *   NULL. Any other key is libcrypto's encoding of it.
 * - Off a peer thread (the hooks name no certificate) both pass through. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "catalog/certgen.h"
#include "freerdp/tlshook.h"

static X509 *current; /* what the hooks say the peer's certificate is */
static unsigned char *current_der;
static int current_der_len;

static X509 *hook_cert(void)
{
	return current;
}

static const unsigned char *hook_der(int *len)
{
	*len = current_der_len;
	return current ? current_der : NULL;
}

static const struct tlshook_peer hooks = {.tls_cert = hook_cert, .tls_pubkey_der = hook_der};

static struct certgen_pair make(const char *cn)
{
	struct certgen_pair p = {0};
	char err[256];
	struct certgen_spec spec = {
	        .subject_cn = cn, .key_bits = 2048, .digest = "sha256", .not_after_offset = 86400};
	assert_int_equal(certgen_make(&spec, &p, err, sizeof(err)), 0);
	return p;
}

static void test_certificate_answers(void **state)
{
	(void)state;
	tlshook_install(NULL);
	assert_true(tlshook_ready());
	struct certgen_pair a = make("a.test"), b = make("b.test");
	const EVP_PKEY *ka = X509_get0_pubkey(a.cert), *kb = X509_get0_pubkey(b.cert);
	/* libcrypto's own encodings, with no hooks installed. */
	unsigned char *der_a = NULL, *der_b = NULL;
	int na = i2d_PublicKey(ka, &der_a), nb = i2d_PublicKey(kb, &der_b);
	assert_true(na > 0 && nb > 0);
	current_der = OPENSSL_memdup(der_a, (size_t)na);
	current_der_len = na;

	tlshook_install(&hooks);
	current = a.cert;
	X509 *d = X509_dup(a.cert);
	assert_ptr_equal(d, a.cert);
	X509_free(d); /* FreeRDP's reference: the certificate stays */
	assert_int_equal(X509_cmp(a.cert, a.cert), 0);
	d = X509_dup(b.cert);
	assert_non_null(d);
	assert_ptr_not_equal(d, b.cert);
	assert_int_equal(X509_cmp(d, b.cert), 0);
	X509_free(d);

	assert_int_equal(i2d_PublicKey(ka, NULL), na);
	unsigned char buf[4096], *p = buf;
	assert_int_equal(i2d_PublicKey(ka, &p), na);
	assert_ptr_equal(p, buf + na);
	assert_memory_equal(buf, der_a, (size_t)na);
	unsigned char *alloc = NULL;
	assert_int_equal(i2d_PublicKey(ka, &alloc), na);
	assert_non_null(alloc);
	assert_memory_equal(alloc, der_a, (size_t)na);
	OPENSSL_free(alloc);
	p = buf;
	assert_int_equal(i2d_PublicKey(kb, &p), nb);
	assert_memory_equal(buf, der_b, (size_t)nb);

	current = NULL; /* off a peer thread */
	d = X509_dup(a.cert);
	assert_ptr_not_equal(d, a.cert);
	assert_int_equal(X509_cmp(d, a.cert), 0);
	X509_free(d);
	assert_int_equal(i2d_PublicKey(ka, NULL), na);

	tlshook_install(NULL);
	OPENSSL_free(der_a);
	OPENSSL_free(der_b);
	OPENSSL_free(current_der);
	certgen_pair_free(&a);
	certgen_pair_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_certificate_answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
