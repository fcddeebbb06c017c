/* certgen.h — certificates and keys made at start with the OpenSSL API.
 *
 * Every certificate the harness serves is generated when it starts, with
 * dates relative to that moment, so no certificate shipped in the repo can
 * expire and break users. Keys are kept in memory as PEM for FreeRDP's
 * *Content settings; the files written for users to inspect go to the
 * private runtime directory with mode 0600. */
#ifndef RDPFAULT_CERTGEN_H
#define RDPFAULT_CERTGEN_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

struct certgen_spec {
	const char *subject_cn;     /* required */
	const char *const *san_dns; /* NULL-terminated or NULL */
	const char *const *san_ip;  /* NULL-terminated or NULL; IPv4 or IPv6 text */
	int key_bits;               /* RSA bits, 1024..8192 */
	const char *digest;         /* "sha256", "sha1", "sha384", "sha512" */
	long not_before_offset;     /* seconds relative to now */
	long not_after_offset;      /* seconds relative to now */
	EVP_PKEY *key;              /* use this key instead of generating one (borrowed), or NULL */
	X509 *issuer_cert;    /* sign with this CA instead of self-signing (borrowed), or NULL */
	EVP_PKEY *issuer_key; /* the CA's key, with issuer_cert */
	int is_ca;            /* a self-signed CA certificate (no SAN, no serverAuth) */
};

struct certgen_pair {
	EVP_PKEY *key;  /* owned */
	X509 *cert;     /* owned */
	char *key_pem;  /* PKCS#8 PEM, NUL-terminated, owned */
	char *cert_pem; /* PEM, NUL-terminated, owned */
};

/* Generates an RSA key of `bits`. NULL on failure (err says why). */
EVP_PKEY *certgen_rsa_key(int bits, char *err, size_t errlen);

/* Makes a certificate as `spec` says. Returns 0, or -1 with `err` set. */
int certgen_make(const struct certgen_spec *spec, struct certgen_pair *out, char *err,
                 size_t errlen);

/* Writes `pem` to dir/name with mode `mode` (0600 for keys), atomically
 * (temporary file + rename). Returns 0, or -1 with `err` set. */
int certgen_write_file(const char *dir, const char *name, const char *pem, int mode, char *err,
                       size_t errlen);

/* PKCS#8 PEM of a private key (malloc'd), or NULL. */
char *certgen_private_pem(EVP_PKEY *key);

/* Traditional PKCS#1 "RSA PRIVATE KEY" PEM of an RSA key (malloc'd), or NULL. */
char *certgen_rsa_pkcs1_pem(EVP_PKEY *key);

void certgen_pair_free(struct certgen_pair *p);

/* The RDP Standard Security key in FreeRDP's layout: little-endian
 * modulus, private exponent padded to the modulus's length (FreeRDP reads
 * that many bytes of it), 4-byte little-endian public exponent. */
struct rdp_key_blob {
	uint8_t *modulus;
	uint32_t modulus_len;
	uint8_t *private_exponent;
	uint32_t private_exponent_len; /* always modulus_len */
	uint8_t exponent[4];
};

/* From an RSA key. 0, or -1 with err set. */
int certgen_rdp_key(EVP_PKEY *key, struct rdp_key_blob *b, char *err, size_t n);
void certgen_rdp_key_free(struct rdp_key_blob *b);

#endif
