/* certgen.c — RSA keys and X.509 v3 certificates made in memory at start.
 *
 * The harness serves certificates dated relative to the moment it starts
 * (valid, expired, not yet valid), with weak keys or digests when a
 * scenario asks for them, self-signed or signed by a CA the caller made.
 * Only the OpenSSL 3 API is used; nothing here runs openssl(1). The files
 * users may inspect are written atomically with an explicit mode. */

#include "catalog/certgen.h"

#include "base/errbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/encoder.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

/* Reports what failed together with the newest OpenSSL error, then empties
 * the error queue so a later failure is not blamed on this one. */
static void __attribute__((format(printf, 3, 4)))
set_ossl_err(char *err, size_t errlen, const char *fmt, ...)
{
	char what[256];
	char ossl[256];
	unsigned long e = ERR_peek_last_error();
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (e != 0)
		ERR_error_string_n(e, ossl, sizeof(ossl));
	else
		snprintf(ossl, sizeof(ossl), "no OpenSSL error queued");
	set_err(err, errlen, "%s: %s", what, ossl);
	ERR_clear_error();
}

EVP_PKEY *certgen_rsa_key(int bits, char *err, size_t errlen)
{
	EVP_PKEY *key;

	if (bits < 1024 || bits > 8192) {
		set_err(err, errlen, "RSA key size %d is outside 1024..8192", bits);
		return NULL;
	}
	key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	if (!key)
		set_ossl_err(err, errlen, "generating a %d-bit RSA key", bits);
	return key;
}

/* 128 random bits; the INTEGER stays positive because the BIGNUM is built
 * unsigned (DER adds a leading zero octet when the top bit is set). */
static int set_random_serial(X509 *x, char *err, size_t errlen)
{
	unsigned char raw[16];
	BIGNUM *bn = NULL;
	ASN1_INTEGER *serial = NULL;
	int rc = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		set_ossl_err(err, errlen, "RAND_bytes for the serial number");
		return -1;
	}
	bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn && BN_is_zero(bn) && !BN_set_word(bn, 1)) {
		BN_free(bn);
		bn = NULL;
	}
	if (bn)
		serial = BN_to_ASN1_INTEGER(bn, NULL);
	if (!serial || !X509_set_serialNumber(x, serial))
		set_ossl_err(err, errlen, "setting the serial number");
	else
		rc = 0;
	ASN1_INTEGER_free(serial);
	BN_free(bn);
	return rc;
}

static int add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value, char *err, size_t errlen)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, ctx, nid, value);
	int ok;

	if (!ext) {
		set_ossl_err(err, errlen, "making extension %s=%s", OBJ_nid2sn(nid), value);
		return -1;
	}
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	if (!ok) {
		set_ossl_err(err, errlen, "adding extension %s", OBJ_nid2sn(nid));
		return -1;
	}
	return 0;
}

static int push_name(GENERAL_NAMES *gens, int type, const char *value, char *err, size_t errlen)
{
	/* a2i_GENERAL_NAME parses IPv4 and IPv6 text for GEN_IPADD. */
	GENERAL_NAME *gn = a2i_GENERAL_NAME(NULL, NULL, NULL, type, value, 0);

	if (!gn) {
		set_ossl_err(err, errlen, "subjectAltName %s '%s'", type == GEN_DNS ? "DNS" : "IP",
		             value);
		return -1;
	}
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		set_ossl_err(err, errlen, "growing the subjectAltName list");
		return -1;
	}
	return 0;
}

/* Built as GENERAL_NAMES rather than a config string so that no DNS name
 * can smuggle in a ',' and become a second entry. */
static int add_san(X509 *x, const struct certgen_spec *spec, char *err, size_t errlen)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int rc = -1;
	size_t i;

	if (!gens) {
		set_ossl_err(err, errlen, "allocating the subjectAltName list");
		return -1;
	}
	for (i = 0; spec->san_dns && spec->san_dns[i]; i++)
		if (push_name(gens, GEN_DNS, spec->san_dns[i], err, errlen) < 0)
			goto out;
	for (i = 0; spec->san_ip && spec->san_ip[i]; i++)
		if (push_name(gens, GEN_IPADD, spec->san_ip[i], err, errlen) < 0)
			goto out;
	if (sk_GENERAL_NAME_num(gens) > 0 &&
	    X509_add1_ext_i2d(x, NID_subject_alt_name, gens, 0, X509V3_ADD_DEFAULT) != 1) {
		set_ossl_err(err, errlen, "adding subjectAltName");
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

static int add_extensions(X509 *x, const struct certgen_spec *spec, char *err, size_t errlen)
{
	X509V3_CTX ctx;

	/* Self-signed: the certificate is its own issuer for the key ids. */
	X509V3_set_ctx(&ctx, spec->issuer_cert ? spec->issuer_cert : x, x, NULL, NULL, 0);
	if (spec->is_ca)
		return add_ext(x, &ctx, NID_basic_constraints, "critical,CA:TRUE,pathlen:0", err,
		               errlen) < 0 ||
		                       add_ext(x, &ctx, NID_key_usage,
		                               "critical,keyCertSign,cRLSign", err, errlen) < 0 ||
		                       add_ext(x, &ctx, NID_subject_key_identifier, "hash", err,
		                               errlen) < 0
		               ? -1
		               : 0;
	if (add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE", err, errlen) < 0 ||
	    add_ext(x, &ctx, NID_key_usage, "critical,digitalSignature,keyEncipherment", err,
	            errlen) < 0 ||
	    add_ext(x, &ctx, NID_ext_key_usage, "serverAuth", err, errlen) < 0 ||
	    add_ext(x, &ctx, NID_subject_key_identifier, "hash", err, errlen) < 0)
		return -1;
	/* "issuer" is only a fallback for a CA without a subjectKeyIdentifier. */
	if (spec->issuer_cert &&
	    add_ext(x, &ctx, NID_authority_key_identifier, "keyid,issuer", err, errlen) < 0)
		return -1;
	return add_san(x, spec, err, errlen);
}

static char *mem_bio_string(BIO *b)
{
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	char *s;

	if (len <= 0 || !data)
		return NULL;
	s = malloc((size_t)len + 1);
	if (!s)
		return NULL;
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	return s;
}

char *certgen_private_pem(EVP_PKEY *key)
{
	/* A secure-memory BIO is wiped when freed: it holds the private key. */
	BIO *kb = BIO_new(BIO_s_secmem());
	char *pem = NULL;
	/* PEM_write_bio_PrivateKey writes PKCS#8 ("PRIVATE KEY") in OpenSSL 3. */
	if (kb && PEM_write_bio_PrivateKey(kb, key, NULL, NULL, 0, NULL, NULL))
		pem = mem_bio_string(kb);
	BIO_free(kb);
	return pem;
}

static int make_pems(struct certgen_pair *out, char *err, size_t errlen)
{
	BIO *cb = BIO_new(BIO_s_mem());
	int rc = -1;

	if (!cb) {
		set_ossl_err(err, errlen, "allocating a memory BIO");
		goto out;
	}
	if (!(out->key_pem = certgen_private_pem(out->key))) {
		set_ossl_err(err, errlen, "writing the private key as PEM");
		goto out;
	}
	if (!PEM_write_bio_X509(cb, out->cert) || !(out->cert_pem = mem_bio_string(cb))) {
		set_ossl_err(err, errlen, "writing the certificate as PEM");
		goto out;
	}
	rc = 0;
out:
	BIO_free(cb);
	return rc;
}

int certgen_make(const struct certgen_spec *spec, struct certgen_pair *out, char *err,
                 size_t errlen)
{
	X509_NAME *subject;
	EVP_MD *md = NULL;
	time_t now;

	if (!out) {
		set_err(err, errlen, "certgen_make: no output pair");
		return -1;
	}
	memset(out, 0, sizeof(*out));
	if (!spec || !spec->subject_cn || !*spec->subject_cn) {
		set_err(err, errlen, "certgen_make: subject CN is required");
		return -1;
	}
	if (!spec->issuer_cert != !spec->issuer_key) {
		set_err(err, errlen, "certgen_make: issuer_cert and issuer_key go together");
		return -1;
	}
	if (spec->issuer_cert && X509_check_private_key(spec->issuer_cert, spec->issuer_key) != 1) {
		set_ossl_err(err, errlen, "issuer key does not match the issuer certificate");
		return -1;
	}
	md = EVP_MD_fetch(NULL, spec->digest ? spec->digest : "sha256", NULL);
	if (!md) {
		set_ossl_err(err, errlen, "digest '%s'", spec->digest ? spec->digest : "sha256");
		return -1;
	}

	if (spec->key) {
		if (!EVP_PKEY_up_ref(spec->key)) {
			set_ossl_err(err, errlen, "taking a reference to the given key");
			goto fail;
		}
		out->key = spec->key;
	} else if (!(out->key = certgen_rsa_key(spec->key_bits, err, errlen))) {
		goto fail;
	}

	out->cert = X509_new();
	if (!out->cert || !X509_set_version(out->cert, X509_VERSION_3)) {
		set_ossl_err(err, errlen, "allocating the certificate");
		goto fail;
	}
	if (set_random_serial(out->cert, err, errlen) < 0)
		goto fail;

	/* One "now" for both ends, so the validity length is exactly as asked. */
	now = time(NULL);
	if (!X509_time_adj_ex(X509_getm_notBefore(out->cert), 0, spec->not_before_offset, &now) ||
	    !X509_time_adj_ex(X509_getm_notAfter(out->cert), 0, spec->not_after_offset, &now)) {
		set_ossl_err(err, errlen, "setting the validity period");
		goto fail;
	}

	subject = X509_get_subject_name(out->cert);
	if (!X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
	                                (const unsigned char *)spec->subject_cn, -1, -1, 0)) {
		set_ossl_err(err, errlen, "subject CN '%s'", spec->subject_cn);
		goto fail;
	}
	if (!X509_set_issuer_name(out->cert, spec->issuer_cert
	                                             ? X509_get_subject_name(spec->issuer_cert)
	                                             : subject)) {
		set_ossl_err(err, errlen, "setting the issuer name");
		goto fail;
	}
	if (!X509_set_pubkey(out->cert, out->key)) {
		set_ossl_err(err, errlen, "setting the public key");
		goto fail;
	}
	if (add_extensions(out->cert, spec, err, errlen) < 0)
		goto fail;
	if (!X509_sign(out->cert, spec->issuer_key ? spec->issuer_key : out->key, md)) {
		set_ossl_err(err, errlen, "signing with %s", EVP_MD_get0_name(md));
		goto fail;
	}
	if (make_pems(out, err, errlen) < 0)
		goto fail;
	EVP_MD_free(md);
	return 0;

fail:
	EVP_MD_free(md);
	certgen_pair_free(out);
	return -1;
}

char *certgen_rsa_pkcs1_pem(EVP_PKEY *key)
{
	OSSL_ENCODER_CTX *ectx = NULL;
	unsigned char *data = NULL;
	size_t len = 0;
	char *pem = NULL;

	if (!key || !EVP_PKEY_is_a(key, "RSA"))
		return NULL;
	/* "type-specific" is the PKCS#1 RSAPrivateKey structure, which PEM
	 * labels "RSA PRIVATE KEY". */
	ectx = OSSL_ENCODER_CTX_new_for_pkey(key, EVP_PKEY_KEYPAIR, "PEM", "type-specific", NULL);
	if (!ectx || OSSL_ENCODER_CTX_get_num_encoders(ectx) == 0 ||
	    !OSSL_ENCODER_to_data(ectx, &data, &len))
		goto out;
	pem = malloc(len + 1);
	if (pem) {
		memcpy(pem, data, len);
		pem[len] = '\0';
	}
out:
	OSSL_ENCODER_CTX_free(ectx);
	OPENSSL_clear_free(data, len);
	return pem;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int certgen_write_file(const char *dir, const char *name, const char *pem, int mode, char *err,
                       size_t errlen)
{
	char final[PATH_MAX];
	char tmp[PATH_MAX];
	int fd = -1;
	int tries;
	int n;

	if (!dir || !*dir || !name || !pem) {
		set_err(err, errlen, "certgen_write_file: missing directory, name or contents");
		return -1;
	}
	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
		set_err(err, errlen, "refusing file name '%s': it must be a plain name in %s", name,
		        dir);
		return -1;
	}
	if (mode < 0 || (mode & ~07777) != 0) {
		set_err(err, errlen, "invalid file mode %#o for %s", (unsigned)mode, name);
		return -1;
	}
	n = snprintf(final, sizeof(final), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(final)) {
		set_err(err, errlen, "path %s/%s is too long", dir, name);
		return -1;
	}

	/* O_EXCL on a random name: nothing else can have opened it first. */
	for (tries = 0; tries < 16 && fd < 0; tries++) {
		unsigned int r;

		if (RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) {
			set_ossl_err(err, errlen, "RAND_bytes for a temporary name");
			return -1;
		}
		n = snprintf(tmp, sizeof(tmp), "%s/.%s.%08x.tmp", dir, name, r);
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			set_err(err, errlen, "temporary path for %s is too long", final);
			return -1;
		}
		fd = open(tmp, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, (mode_t)mode);
		if (fd < 0 && errno != EEXIST) {
			set_err(err, errlen, "creating %s: %s", tmp, strerror(errno));
			return -1;
		}
	}
	if (fd < 0) {
		set_err(err, errlen, "creating a temporary file next to %s: names all taken",
		        final);
		return -1;
	}
	/* The umask narrowed the mode given to open(); fchmod sets it exactly. */
	if (fchmod(fd, (mode_t)mode) < 0) {
		set_err(err, errlen, "fchmod %#o on %s: %s", (unsigned)mode, tmp, strerror(errno));
		goto fail;
	}
	if (write_all(fd, pem, strlen(pem)) < 0) {
		set_err(err, errlen, "writing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	n = close(fd);
	fd = -1;
	if (n < 0) {
		set_err(err, errlen, "closing %s: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, final) < 0) {
		set_err(err, errlen, "renaming %s to %s: %s", tmp, final, strerror(errno));
		goto fail;
	}
	return 0;

fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return -1;
}

void certgen_pair_free(struct certgen_pair *p)
{
	if (!p)
		return;
	EVP_PKEY_free(p->key);
	X509_free(p->cert);
	if (p->key_pem)
		OPENSSL_cleanse(p->key_pem, strlen(p->key_pem));
	free(p->key_pem);
	free(p->cert_pem);
	memset(p, 0, sizeof(*p));
}

/* FreeRDP's RDP-security key layout: little-endian modulus and private
 * exponent, 4-byte little-endian public exponent. */
int certgen_rdp_key(EVP_PKEY *key, struct rdp_key_blob *b, char *err, size_t n)
{
	BIGNUM *bn_n = NULL, *bn_e = NULL, *bn_d = NULL;
	int rc = -1;
	if (!EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &bn_n) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &bn_e) ||
	    !EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_D, &bn_d) || BN_num_bytes(bn_e) > 4) {
		snprintf(err, n, "cannot read the RSA key's components");
		goto out;
	}
	/* FreeRDP reads ModulusLength bytes of the private exponent: pad it to
	 * the modulus's length (d has a zero top byte for 1 key in 256, and
	 * BN_num_bytes would then give one byte less). */
	b->modulus_len = (uint32_t)BN_num_bytes(bn_n);
	b->private_exponent_len = b->modulus_len;
	b->modulus = malloc(b->modulus_len);
	b->private_exponent = malloc(b->private_exponent_len);
	if (!b->modulus || !b->private_exponent) {
		snprintf(err, n, "out of memory");
		goto out;
	}
	BN_bn2lebinpad(bn_n, b->modulus, (int)b->modulus_len);
	BN_bn2lebinpad(bn_d, b->private_exponent, (int)b->private_exponent_len);
	BN_bn2lebinpad(bn_e, b->exponent, 4);
	rc = 0;
out:
	BN_free(bn_n);
	BN_free(bn_e);
	BN_clear_free(bn_d);
	return rc;
}

void certgen_rdp_key_free(struct rdp_key_blob *b)
{
	free(b->modulus);
	if (b->private_exponent)
		OPENSSL_cleanse(b->private_exponent, b->private_exponent_len);
	free(b->private_exponent);
	memset(b, 0, sizeof(*b));
}
