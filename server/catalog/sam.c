/* sam.c — lines for the NTLM account file FreeRDP's NLA server reads.
 *
 * WinPR 2.11 reads "USER:DOMAIN:LM:NT:::" and takes the 16-byte NT hash
 * from field 4; the LM field may be empty (winpr-hash -f sam leaves it
 * empty too). The NT hash is MD4 over the UTF-16LE password, so the UTF-8
 * password is decoded strictly here: two spellings of one password must
 * not give two hashes. MD4 lives in OpenSSL 3's legacy provider. */

#include "catalog/sam.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "base/hexstr.h"

int sam_md4_ok(void)
{
	EVP_MD *md;
	int ok;

	/* A failed fetch queues an error nobody else should see. */
	ERR_set_mark();
	md = EVP_MD_fetch(NULL, "MD4", NULL);
	ERR_pop_to_mark();
	ok = md != NULL;
	EVP_MD_free(md);
	return ok;
}

/* Decodes one UTF-8 sequence at *p into *cp and advances *p. Rejects
 * overlong forms, UTF-16 surrogates, values past U+10FFFF and sequences cut
 * short (a NUL is never a continuation byte, so nothing is read past it). */
static int utf8_next(const unsigned char **p, uint32_t *cp)
{
	const unsigned char *s = *p;
	uint32_t c = s[0];
	uint32_t min;
	int len;
	int i;

	if (c < 0x80) {
		*cp = c;
		*p = s + 1;
		return 0;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2;
		min = 0x80;
		c &= 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3;
		min = 0x800;
		c &= 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4;
		min = 0x10000;
		c &= 0x07;
	} else {
		return -1; /* a stray continuation byte, or 0xf8..0xff */
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return -1;
	*cp = c;
	*p = s + len;
	return 0;
}

/* UTF-16LE of `s` into a malloc'd buffer (2 bytes per UTF-8 byte is the
 * most it can take). */
static unsigned char *utf8_to_utf16le(const char *s, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t cap = 2 * strlen(s) + 1;
	unsigned char *buf = malloc(cap);
	size_t n = 0;

	if (!buf)
		return NULL;
	while (*p) {
		uint32_t cp;

		if (utf8_next(&p, &cp) < 0) {
			OPENSSL_clear_free(buf, cap);
			return NULL;
		}
		if (cp >= 0x10000) {
			uint32_t v = cp - 0x10000;
			uint32_t hi = 0xd800 | (v >> 10);
			uint32_t lo = 0xdc00 | (v & 0x3ff);

			buf[n++] = hi & 0xff;
			buf[n++] = hi >> 8;
			buf[n++] = lo & 0xff;
			buf[n++] = lo >> 8;
		} else {
			buf[n++] = cp & 0xff;
			buf[n++] = cp >> 8;
		}
	}
	*outlen = n;
	return buf;
}

int sam_nt_hash(const char *password, unsigned char out[16])
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	unsigned char *wide;
	size_t wlen = 0;
	EVP_MD *md;
	int ok;

	if (!out || !password)
		return -1;
	wide = utf8_to_utf16le(password, &wlen);
	if (!wide)
		return -1;
	ERR_set_mark();
	md = EVP_MD_fetch(NULL, "MD4", NULL);
	ok = md && EVP_Digest(wide, wlen, digest, &dlen, md, NULL) && dlen == 16;
	ERR_pop_to_mark();
	EVP_MD_free(md);
	/* The buffer is the password itself, only re-encoded. */
	OPENSSL_clear_free(wide, 2 * strlen(password) + 1);
	if (!ok)
		return -1;
	memcpy(out, digest, 16);
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

int sam_nt_hash_hex(const char *password, char out[33])
{
	unsigned char digest[16];
	if (!out)
		return -1;
	out[0] = '\0';
	if (sam_nt_hash(password, digest) != 0)
		return -1;
	hex_encode(digest, 16, out);
	OPENSSL_cleanse(digest, sizeof(digest));
	return 0;
}

/* A field the reader would split or misread: ':' separates fields and
 * '\n' lines. Non-ASCII is refused too because WinPR 2.11's lookup
 * (SamLookupUserW) compares the UTF-8 byte count with the UTF-16 unit
 * count, so such an account is written fine but can never be found. */
static int field_ok(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++)
		if (*p == ':' || *p < 0x20 || *p >= 0x7f)
			return 0;
	return 1;
}

int sam_format_line(const char *user, const char *domain, const char *password, char *out, size_t n)
{
	char nt[33];
	int len;

	if (!out || n == 0)
		return -1;
	out[0] = '\0';
	if (!domain)
		domain = "";
	/* The reader skips lines starting with '#' as comments. */
	if (!user || !*user || user[0] == '#' || !field_ok(user) || !field_ok(domain))
		return -1;
	if (sam_nt_hash_hex(password, nt) < 0)
		return -1;
	/* The LM field stays empty, as winpr-hash writes it: LM hashes are
	 * not used by NTLMv2 and the reader accepts length 0. */
	len = snprintf(out, n, "%s:%s::%s:::\n", user, domain, nt);
	if (len < 0 || (size_t)len >= n) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}
