/* test_certgen.c — unit tests for certgen (keys, certificates, PEM files)
 * and runtime_dir (the private directory those files go to).
 *
 * Certificates are parsed back and checked with OpenSSL itself, including
 * a chain verification against a CA made here, because what matters is
 * what a TLS client's verifier will make of them. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <openssl/param_build.h>

#include "catalog/certgen.h"
#include "catalog/runtime_dir.h"

#define DAY (24L * 3600L)

static EVP_PKEY *shared_key; /* 2048-bit, reused where the key does not matter */
static struct certgen_pair ca;

static const char *const test_dns[] = {"rdpfault.test", "localhost", NULL};
static const char *const test_ips[] = {"127.0.0.1", "::1", "2001:db8::42", NULL};

static struct certgen_spec base_spec(void)
{
	struct certgen_spec s = {
	        .subject_cn = "rdpfault.test",
	        .san_dns = test_dns,
	        .san_ip = test_ips,
	        .key_bits = 2048,
	        .digest = "sha256",
	        .not_before_offset = -3600,
	        .not_after_offset = 30 * DAY,
	};
	return s;
}

static long secs_from_now(const ASN1_TIME *t)
{
	int day = 0;
	int sec = 0;

	assert_int_equal(ASN1_TIME_diff(&day, &sec, NULL, t), 1);
	return (long)day * DAY + sec;
}

static void assert_near(long got, long want)
{
	/* Key generation and the test itself take a moment. */
	assert_true(got >= want - 10 && got <= want + 10);
}

static X509 *cert_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x;

	assert_non_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	return x;
}

static EVP_PKEY *key_from_pem(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k;

	assert_non_null(b);
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(k);
	return k;
}

static void replace_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	int idx;
	X509_EXTENSION *ext;

	while ((idx = X509_get_ext_by_NID(x, nid, -1)) >= 0)
		X509_EXTENSION_free(X509_delete_ext(x, idx));
	if (!value)
		return;
	ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* certgen makes end-entity certificates only, so the test turns one into a
 * CA the way a caller would: CA:TRUE, keyCertSign, no EKU, signed again,
 * then reparsed so that no cached extension flags survive. */
static void make_ca(struct certgen_pair *out)
{
	struct certgen_spec s = {
	        .subject_cn = "rdpfault test CA",
	        .key_bits = 2048,
	        .digest = "sha256",
	        .not_before_offset = -DAY,
	        .not_after_offset = 3650 * DAY,
	};
	char err[256] = "";
	X509V3_CTX ctx;
	BIO *b;

	assert_int_equal(certgen_make(&s, out, err, sizeof(err)), 0);
	X509V3_set_ctx(&ctx, out->cert, out->cert, NULL, NULL, 0);
	replace_ext(out->cert, &ctx, NID_basic_constraints, "critical,CA:TRUE");
	replace_ext(out->cert, &ctx, NID_key_usage, "critical,keyCertSign,cRLSign");
	replace_ext(out->cert, &ctx, NID_ext_key_usage, NULL);
	assert_true(X509_sign(out->cert, out->key, EVP_sha256()) > 0);

	b = BIO_new(BIO_s_mem());
	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, out->cert), 1);
	X509_free(out->cert);
	out->cert = PEM_read_bio_X509(b, NULL, NULL, NULL);
	assert_non_null(out->cert);
	BIO_free(b);
}

static int group_setup(void **state)
{
	char err[256] = "";

	(void)state;
	shared_key = certgen_rsa_key(2048, err, sizeof(err));
	if (!shared_key) {
		fprintf(stderr, "shared key: %s\n", err);
		return -1;
	}
	make_ca(&ca);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(shared_key);
	certgen_pair_free(&ca);
	return 0;
}

/* Returns the X509_V_* result of verifying `leaf` with `anchor` trusted,
 * as a TLS client checking a server would (purpose sslserver). */
static int verify_chain(X509 *leaf, X509 *anchor, const char *host, const char *ip)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	int result;

	assert_non_null(store);
	assert_non_null(ctx);
	assert_int_equal(X509_STORE_add_cert(store, anchor), 1);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, NULL), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_SERVER), 1);
	param = X509_STORE_CTX_get0_param(ctx);
	if (host)
		assert_int_equal(X509_VERIFY_PARAM_set1_host(param, host, 0), 1);
	if (ip)
		assert_int_equal(X509_VERIFY_PARAM_set1_ip_asc(param, ip), 1);
	if (X509_verify_cert(ctx) == 1)
		result = X509_V_OK;
	else
		result = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return result;
}

static void assert_sans(X509 *x)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	int ndns = 0;
	int nip = 0;
	int i;

	assert_non_null(gens);
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(gens, i);

		if (gn->type == GEN_DNS) {
			const char *s = (const char *)ASN1_STRING_get0_data(gn->d.dNSName);

			assert_non_null(test_dns[ndns]);
			assert_int_equal(ASN1_STRING_length(gn->d.dNSName),
			                 (int)strlen(test_dns[ndns]));
			assert_memory_equal(s, test_dns[ndns], strlen(test_dns[ndns]));
			ndns++;
		} else if (gn->type == GEN_IPADD) {
			unsigned char want[16];
			int len = strchr(test_ips[nip], ':') ? 16 : 4;

			assert_int_equal(
			        inet_pton(len == 16 ? AF_INET6 : AF_INET, test_ips[nip], want), 1);
			assert_int_equal(ASN1_STRING_length(gn->d.iPAddress), len);
			assert_memory_equal(ASN1_STRING_get0_data(gn->d.iPAddress), want, len);
			nip++;
		} else {
			fail_msg("unexpected GENERAL_NAME type %d", gn->type);
		}
	}
	assert_null(test_dns[ndns]);
	assert_null(test_ips[nip]);
	GENERAL_NAMES_free(gens);
}

static void test_self_signed(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";
	char cn[128];
	X509 *x;
	EVP_PKEY *k;
	BIGNUM *serial;

	(void)state;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_non_null(p.key);
	assert_non_null(p.cert);
	assert_int_equal(EVP_PKEY_get_bits(p.key), 2048);

	x = cert_from_pem(p.cert_pem);
	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(
	        X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, cn, sizeof(cn)),
	        (int)strlen("rdpfault.test"));
	assert_string_equal(cn, "rdpfault.test");
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(x), X509_get_subject_name(x)), 0);
	assert_sans(x);

	assert_near(secs_from_now(X509_get0_notBefore(x)), -3600);
	assert_near(secs_from_now(X509_get0_notAfter(x)), 30 * DAY);
	assert_true(X509_cmp_time(X509_get0_notBefore(x), NULL) < 0);
	assert_true(X509_cmp_time(X509_get0_notAfter(x), NULL) > 0);

	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(serial);
	assert_false(BN_is_negative(serial));
	assert_false(BN_is_zero(serial));
	assert_true(BN_num_bits(serial) <= 128);
	BN_free(serial);

	assert_int_equal(X509_get_signature_nid(x), NID_sha256WithRSAEncryption);
	assert_int_equal(X509_verify(x, p.key), 1);

	/* End-entity server certificate extensions. */
	assert_true(X509_get_extension_flags(x) & EXFLAG_BCONS);
	assert_false(X509_get_extension_flags(x) & EXFLAG_CA);
	assert_int_equal(X509_get_key_usage(x), KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT);
	assert_int_equal(X509_get_extended_key_usage(x), XKU_SSL_SERVER);
	assert_non_null(X509_get0_subject_key_id(x));
	assert_null(X509_get0_authority_key_id(x));

	/* The PEMs reload and belong together. */
	assert_non_null(strstr(p.key_pem, "-----BEGIN PRIVATE KEY-----"));
	k = key_from_pem(p.key_pem);
	assert_int_equal(X509_check_private_key(x, k), 1);
	assert_int_equal(EVP_PKEY_eq(k, p.key), 1);
	EVP_PKEY_free(k);
	X509_free(x);
	certgen_pair_free(&p);
	assert_null(p.key);
	assert_null(p.key_pem);
}

static void test_expired(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	s.key = shared_key;
	s.not_before_offset = -10 * DAY;
	s.not_after_offset = -DAY;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_true(X509_cmp_time(X509_get0_notAfter(p.cert), NULL) < 0);
	assert_near(secs_from_now(X509_get0_notBefore(p.cert)), -10 * DAY);
	assert_near(secs_from_now(X509_get0_notAfter(p.cert)), -DAY);
	assert_int_equal(X509_verify(p.cert, p.key), 1);
	certgen_pair_free(&p);
}

static void test_not_yet_valid(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	s.key = shared_key;
	s.not_before_offset = DAY;
	s.not_after_offset = 30 * DAY;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_true(X509_cmp_time(X509_get0_notBefore(p.cert), NULL) > 0);
	assert_near(secs_from_now(X509_get0_notBefore(p.cert)), DAY);
	certgen_pair_free(&p);
}

static void test_far_dates(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	/* Past 2049 the encoding switches to GeneralizedTime. */
	s.key = shared_key;
	s.not_after_offset = 40L * 366 * DAY;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_int_equal(ASN1_STRING_type(X509_get0_notAfter(p.cert)), V_ASN1_GENERALIZEDTIME);
	assert_true(X509_cmp_time(X509_get0_notAfter(p.cert), NULL) > 0);
	certgen_pair_free(&p);
}

static void test_sha1(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	s.key = shared_key;
	s.digest = "sha1";
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_int_equal(X509_get_signature_nid(p.cert), NID_sha1WithRSAEncryption);
	assert_int_equal(X509_verify(p.cert, p.key), 1);
	certgen_pair_free(&p);

	s.digest = "sha512";
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_int_equal(X509_get_signature_nid(p.cert), NID_sha512WithRSAEncryption);
	certgen_pair_free(&p);
}

static void test_rsa_1024(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	s.key_bits = 1024;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_int_equal(EVP_PKEY_get_bits(p.key), 1024);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(p.cert)), 1024);
	assert_int_equal(X509_verify(p.cert, p.key), 1);
	certgen_pair_free(&p);
}

static void test_given_key(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256] = "";

	(void)state;
	s.key = shared_key;
	s.key_bits = 0; /* ignored when a key is given */
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), 0);
	assert_int_equal(EVP_PKEY_eq(p.key, shared_key), 1);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(p.cert), shared_key), 1);
	/* Borrowed: freeing the pair leaves the caller's key usable. */
	certgen_pair_free(&p);
	assert_int_equal(EVP_PKEY_get_bits(shared_key), 2048);
}

static void test_signed_by_ca(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair leaf;
	struct certgen_pair old;
	struct certgen_pair early;
	char err[256] = "";
	const ASN1_OCTET_STRING *akid;
	const ASN1_OCTET_STRING *skid;

	(void)state;
	s.key = shared_key;
	s.issuer_cert = ca.cert;
	s.issuer_key = ca.key;
	assert_int_equal(certgen_make(&s, &leaf, err, sizeof(err)), 0);
	assert_int_equal(X509_verify(leaf.cert, ca.key), 1);
	assert_int_equal(X509_verify(leaf.cert, leaf.key), 0);
	ERR_clear_error();
	assert_int_equal(
	        X509_NAME_cmp(X509_get_issuer_name(leaf.cert), X509_get_subject_name(ca.cert)), 0);
	akid = X509_get0_authority_key_id(leaf.cert);
	skid = X509_get0_subject_key_id(ca.cert);
	assert_non_null(akid);
	assert_non_null(skid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(akid, skid), 0);

	assert_int_equal(verify_chain(leaf.cert, ca.cert, NULL, NULL), X509_V_OK);
	assert_int_equal(verify_chain(leaf.cert, ca.cert, "rdpfault.test", NULL), X509_V_OK);
	assert_int_equal(verify_chain(leaf.cert, ca.cert, NULL, "::1"), X509_V_OK);
	assert_int_equal(verify_chain(leaf.cert, ca.cert, "other.test", NULL),
	                 X509_V_ERR_HOSTNAME_MISMATCH);

	s.not_before_offset = -10 * DAY;
	s.not_after_offset = -DAY;
	assert_int_equal(certgen_make(&s, &old, err, sizeof(err)), 0);
	assert_int_equal(verify_chain(old.cert, ca.cert, NULL, NULL), X509_V_ERR_CERT_HAS_EXPIRED);

	s.not_before_offset = DAY;
	s.not_after_offset = 10 * DAY;
	assert_int_equal(certgen_make(&s, &early, err, sizeof(err)), 0);
	assert_int_equal(verify_chain(early.cert, ca.cert, NULL, NULL),
	                 X509_V_ERR_CERT_NOT_YET_VALID);

	certgen_pair_free(&leaf);
	certgen_pair_free(&old);
	certgen_pair_free(&early);
}

static void test_bad_specs(void **state)
{
	struct certgen_spec s = base_spec();
	struct certgen_pair p;
	char err[256];
	static const char *const bad_ip[] = {"1.2.3", NULL};

	(void)state;
	s.key = shared_key;

	s.subject_cn = NULL;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "CN"));
	assert_null(p.cert);
	s.subject_cn = "rdpfault.test";

	s.digest = "no-such-digest";
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-digest"));
	s.digest = "sha256";

	s.san_ip = bad_ip;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "1.2.3"));
	s.san_ip = test_ips;

	s.issuer_cert = ca.cert;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "issuer"));
	s.issuer_key = shared_key; /* not the CA's key */
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "issuer key"));
	s.issuer_cert = NULL;
	s.issuer_key = NULL;

	s.key = NULL;
	s.key_bits = 512;
	assert_int_equal(certgen_make(&s, &p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "512"));
	assert_null(certgen_rsa_key(16384, err, sizeof(err)));
	assert_non_null(strstr(err, "16384"));
	assert_int_equal(ERR_peek_error(), 0);
}

static void test_pkcs1_pem(void **state)
{
	char *pem;
	EVP_PKEY *k;
	EVP_PKEY *ec;

	(void)state;
	pem = certgen_rsa_pkcs1_pem(shared_key);
	assert_non_null(pem);
	assert_memory_equal(pem, "-----BEGIN RSA PRIVATE KEY-----\n", 32);
	assert_non_null(strstr(pem, "-----END RSA PRIVATE KEY-----\n"));
	k = key_from_pem(pem);
	assert_int_equal(EVP_PKEY_eq(k, shared_key), 1);
	EVP_PKEY_free(k);
	free(pem);

	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	assert_null(certgen_rsa_pkcs1_pem(ec));
	assert_null(certgen_rsa_pkcs1_pem(NULL));
	EVP_PKEY_free(ec);
}

/* ---- files ---- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	static char buf[4096];
	size_t n;

	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void make_tmpdir(char *buf, size_t n)
{
	snprintf(buf, n, "/tmp/test_certgen-XXXXXX");
	assert_non_null(mkdtemp(buf));
}

static void join(char *out, const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	assert_true(n > 0 && n < PATH_MAX);
}

static void test_write_file(void **state)
{
	char dir[64];
	char path[PATH_MAX];
	char other[PATH_MAX];
	char err[256];
	struct stat st;
	struct stat st2;
	mode_t old_umask;
	char *content;
	FILE *held;

	(void)state;
	make_tmpdir(dir, sizeof(dir));
	join(path, dir, "key.pem");

	assert_int_equal(certgen_write_file(dir, "key.pem", "first\n", 0600, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	content = slurp(path);
	assert_non_null(content);
	assert_string_equal(content, "first\n");

	/* Replaced by rename: a reader holding the old file still sees it
	 * whole, and no temporary file is left behind. */
	held = fopen(path, "r");
	assert_non_null(held);
	assert_int_equal(certgen_write_file(dir, "key.pem", "second\n", 0600, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st2), 0);
	assert_true(st.st_ino != st2.st_ino);
	assert_string_equal(slurp(path), "second\n");
	{
		char line[32] = "";

		assert_non_null(fgets(line, sizeof(line), held));
		assert_string_equal(line, "first\n");
	}
	fclose(held);
	assert_int_equal(count_entries(dir), 1);

	/* The mode is exact whatever the umask. */
	old_umask = umask(0277);
	assert_int_equal(certgen_write_file(dir, "cert.pem", "c\n", 0644, err, sizeof(err)), 0);
	umask(old_umask);
	join(other, dir, "cert.pem");
	assert_int_equal(stat(other, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	unlink(other);

	/* A symlink planted at the name is replaced, its target untouched. */
	join(other, dir, "target");
	assert_int_equal(certgen_write_file(dir, "target", "target\n", 0600, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(certgen_write_file(dir, "key.pem", "third\n", 0600, err, sizeof(err)), 0);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_string_equal(slurp(other), "target\n");
	assert_string_equal(slurp(path), "third\n");
	unlink(other);

	/* Names that would leave the directory are refused. */
	assert_int_equal(certgen_write_file(dir, "../x", "x", 0600, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "../x"));
	assert_int_equal(certgen_write_file(dir, "a/b", "x", 0600, err, sizeof(err)), -1);
	assert_int_equal(certgen_write_file(dir, "..", "x", 0600, err, sizeof(err)), -1);
	assert_int_equal(certgen_write_file(dir, ".", "x", 0600, err, sizeof(err)), -1);
	assert_int_equal(certgen_write_file(dir, "", "x", 0600, err, sizeof(err)), -1);
	assert_int_equal(certgen_write_file(dir, "k", "x", 010000, err, sizeof(err)), -1);
	assert_int_equal(count_entries(dir), 1);

	join(other, dir, "missing");
	assert_int_equal(certgen_write_file(other, "k", "x", 0600, err, sizeof(err)), -1);
	assert_non_null(strstr(err, other));

	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

/* ---- runtime_dir ---- */

static void assert_private_dir(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(st.st_uid, geteuid());
}

static void test_runtime_default(void **state)
{
	const char *saved = getenv("XDG_RUNTIME_DIR");
	char *saved_copy = saved ? strdup(saved) : NULL;
	char xdg[64];
	char path[PATH_MAX];
	char err[256] = "";
	int created = -1;

	(void)state;
	unsetenv("XDG_RUNTIME_DIR");
	assert_int_equal(runtime_dir_open(NULL, path, sizeof(path), &created, err, sizeof(err)), 0);
	assert_int_equal(created, 1);
	assert_int_equal(strncmp(path, "/tmp/rdpfault-", 14), 0);
	assert_private_dir(path);
	runtime_dir_remove(path);
	assert_int_equal(access(path, F_OK), -1);

	make_tmpdir(xdg, sizeof(xdg));
	setenv("XDG_RUNTIME_DIR", xdg, 1);
	assert_int_equal(runtime_dir_open(NULL, path, sizeof(path), &created, err, sizeof(err)), 0);
	assert_int_equal(strncmp(path, xdg, strlen(xdg)), 0);
	assert_int_equal(strncmp(path + strlen(xdg), "/rdpfault-", 10), 0);
	assert_private_dir(path);
	runtime_dir_remove(path);
	assert_int_equal(rmdir(xdg), 0);

	/* A stale XDG_RUNTIME_DIR falls back to /tmp. */
	assert_int_equal(runtime_dir_open(NULL, path, sizeof(path), &created, err, sizeof(err)), 0);
	assert_int_equal(strncmp(path, "/tmp/rdpfault-", 14), 0);
	runtime_dir_remove(path);

	/* Too small a buffer is an error, not a truncated path. */
	assert_int_equal(runtime_dir_open(NULL, path, 8, &created, err, sizeof(err)), -1);

	if (saved_copy)
		setenv("XDG_RUNTIME_DIR", saved_copy, 1);
	else
		unsetenv("XDG_RUNTIME_DIR");
	free(saved_copy);
}

static void test_runtime_wanted(void **state)
{
	char parent[64];
	char wanted[PATH_MAX];
	char target[PATH_MAX];
	char path[PATH_MAX];
	char err[256] = "";
	int created = -1;
	mode_t old_umask;

	(void)state;
	make_tmpdir(parent, sizeof(parent));
	join(wanted, parent, "run");

	/* Missing: made 0700 even under a umask that would take owner bits. */
	old_umask = umask(0277);
	assert_int_equal(runtime_dir_open(wanted, path, sizeof(path), &created, err, sizeof(err)),
	                 0);
	umask(old_umask);
	assert_int_equal(created, 1);
	assert_string_equal(path, wanted);
	assert_private_dir(wanted);

	/* Existing and private: used, and not ours to remove. */
	assert_int_equal(runtime_dir_open(wanted, path, sizeof(path), &created, err, sizeof(err)),
	                 0);
	assert_int_equal(created, 0);

	assert_int_equal(chmod(wanted, 0755), 0);
	assert_int_equal(runtime_dir_open(wanted, path, sizeof(path), &created, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "0755"));
	assert_int_equal(chmod(wanted, 0710), 0);
	assert_int_equal(runtime_dir_open(wanted, path, sizeof(path), &created, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "0710"));
	assert_int_equal(chmod(wanted, 0700), 0);

	if (geteuid() == 0) {
		assert_int_equal(chown(wanted, 65534, (gid_t)-1), 0);
		assert_int_equal(
		        runtime_dir_open(wanted, path, sizeof(path), &created, err, sizeof(err)),
		        -1);
		assert_non_null(strstr(err, "owned by uid 65534"));
		assert_int_equal(chown(wanted, 0, (gid_t)-1), 0);
	}

	join(target, parent, "link");
	assert_int_equal(symlink(wanted, target), 0);
	assert_int_equal(runtime_dir_open(target, path, sizeof(path), &created, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "symbolic link"));
	unlink(target);

	join(target, parent, "file");
	assert_int_equal(certgen_write_file(parent, "file", "x", 0600, err, sizeof(err)), 0);
	assert_int_equal(runtime_dir_open(target, path, sizeof(path), &created, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "not a directory"));
	unlink(target);

	join(target, parent, "no/such");
	assert_int_equal(runtime_dir_open(target, path, sizeof(path), &created, err, sizeof(err)),
	                 -1);
	assert_non_null(strstr(err, "no/such"));

	assert_int_equal(rmdir(wanted), 0);
	assert_int_equal(rmdir(parent), 0);
}

static void test_runtime_remove(void **state)
{
	char path[PATH_MAX];
	char outside[64];
	char file[PATH_MAX];
	char link[PATH_MAX];
	char sub[PATH_MAX];
	char err[256] = "";
	int created = 0;

	(void)state;
	make_tmpdir(outside, sizeof(outside));
	assert_int_equal(certgen_write_file(outside, "keep", "keep\n", 0600, err, sizeof(err)), 0);
	join(file, outside, "keep");

	assert_int_equal(runtime_dir_open(NULL, path, sizeof(path), &created, err, sizeof(err)), 0);
	assert_int_equal(certgen_write_file(path, "key.pem", "k", 0600, err, sizeof(err)), 0);
	assert_int_equal(certgen_write_file(path, ".hidden", "h", 0600, err, sizeof(err)), 0);
	join(link, path, "link");
	assert_int_equal(symlink(file, link), 0);
	runtime_dir_remove(path);
	assert_int_equal(access(path, F_OK), -1);
	assert_string_equal(slurp(file), "keep\n"); /* link removed, target kept */

	/* Not recursive: a subdirectory keeps the directory alive. */
	assert_int_equal(runtime_dir_open(NULL, path, sizeof(path), &created, err, sizeof(err)), 0);
	assert_int_equal(certgen_write_file(path, "key.pem", "k", 0600, err, sizeof(err)), 0);
	join(sub, path, "sub");
	assert_int_equal(mkdir(sub, 0700), 0);
	runtime_dir_remove(path);
	assert_int_equal(count_entries(path), 1);
	assert_int_equal(rmdir(sub), 0);
	runtime_dir_remove(path);
	assert_int_equal(access(path, F_OK), -1);

	runtime_dir_remove(NULL);
	unlink(file);
	assert_int_equal(rmdir(outside), 0);
}

/* An RSA key from raw components (not checked: only the layout matters). */
static EVP_PKEY *key_from_components(const BIGNUM *n, const BIGNUM *e, const BIGNUM *d)
{
	OSSL_PARAM_BLD *b = OSSL_PARAM_BLD_new();
	assert_non_null(b);
	assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_N, n));
	assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_E, e));
	assert_true(OSSL_PARAM_BLD_push_BN(b, OSSL_PKEY_PARAM_RSA_D, d));
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(b);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	assert_true(EVP_PKEY_fromdata_init(ctx) == 1);
	assert_true(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_KEYPAIR, params) == 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(b);
	return key;
}

/* FreeRDP reads modulus-length bytes of the private exponent. A key whose
 * d has a zero top byte (1 in 256 generated keys) must still give a full
 * length, zero-padded at the top (little-endian: the end). Before, the
 * exponent was one byte short and FreeRDP read past it (ASan:
 * heap-buffer-overflow in the RDP Standard Security peer). */
static void test_rdp_key_short_exponent(void **state)
{
	(void)state;
	BIGNUM *n = BN_new(), *e = BN_new(), *d = BN_new();
	assert_true(BN_set_bit(n, 2047) && BN_set_bit(n, 0)); /* 256 bytes */
	assert_true(BN_set_word(e, 65537));
	assert_true(BN_set_bit(d, 2030) && BN_set_bit(d, 1)); /* 254 bytes: two zero top bytes */
	EVP_PKEY *key = key_from_components(n, e, d);
	struct rdp_key_blob b;
	char err[256];
	assert_int_equal(certgen_rdp_key(key, &b, err, sizeof(err)), 0);
	assert_int_equal(b.modulus_len, 256);
	assert_int_equal(b.private_exponent_len, 256);
	assert_int_equal(b.private_exponent[0], 0x02); /* bit 1, least significant first */
	assert_int_equal(b.private_exponent[2030 / 8], 1u << (2030 % 8));
	assert_int_equal(b.private_exponent[254], 0);
	assert_int_equal(b.private_exponent[255], 0);
	assert_int_equal(b.modulus[0], 0x01);
	assert_int_equal(b.modulus[255], 0x80);
	assert_memory_equal(b.exponent, "\x01\x00\x01\x00", 4);
	certgen_rdp_key_free(&b);
	assert_null(b.private_exponent);
	EVP_PKEY_free(key);

	/* A real key: full lengths too. */
	assert_int_equal(certgen_rdp_key(shared_key, &b, err, sizeof(err)), 0);
	assert_int_equal(b.private_exponent_len, b.modulus_len);
	assert_int_equal(b.modulus_len, 256);
	certgen_rdp_key_free(&b);
	BN_free(n);
	BN_free(e);
	BN_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_self_signed),
	        cmocka_unit_test(test_expired),
	        cmocka_unit_test(test_not_yet_valid),
	        cmocka_unit_test(test_far_dates),
	        cmocka_unit_test(test_sha1),
	        cmocka_unit_test(test_rsa_1024),
	        cmocka_unit_test(test_given_key),
	        cmocka_unit_test(test_signed_by_ca),
	        cmocka_unit_test(test_bad_specs),
	        cmocka_unit_test(test_pkcs1_pem),
	        cmocka_unit_test(test_write_file),
	        cmocka_unit_test(test_runtime_default),
	        cmocka_unit_test(test_runtime_wanted),
	        cmocka_unit_test(test_runtime_remove),
	        cmocka_unit_test(test_rdp_key_short_exponent),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
