/* sam.c — lines for the NTLM account file FreeRDP's NLA server reads.
 *
 * WinPR 2.11 reads "USER:DOMAIN:LM:NT:::" and takes the 16-byte NT hash
 * from field 4; the LM field may be empty (winpr-hash -f sam leaves it
 * empty too). The NT hash is WinPR's own: ConvertToUnicode for the UTF-16LE
 * form, NTOWFv1W for MD4 over it, the code the NLA server itself runs.
 *
 * The password is checked to be well-formed UTF-8 first: WinPR 2.11 (built
 * with ICU, as Debian's is) turns each bad sequence into U+FFFD instead of
 * failing, so "\xff" and "\xc3" would give one hash, and two spellings of
 * one password must not give two.
 *
 * WinPR's MD4 is OpenSSL's unless WinPR was built WITH_INTERNAL_MD4, which
 * Debian 12's 2.11.7 is not: it needs OpenSSL 3's legacy provider, which
 * winpr_InitializeSSL loads. sam_md4_ok() asks WinPR whether it works. */

#include "catalog/sam.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <winpr/crt.h>
#include <winpr/ntlm.h>

#include "base/hexstr.h"

/* 1 when `str` is well-formed UTF-8: no stray continuation byte, overlong
 * form, UTF-16 surrogate, value past U+10FFFF or sequence cut short (a NUL
 * is never a continuation byte, so nothing is read past it). */
static int utf8_valid(const char *str)
{
	const unsigned char *s = (const unsigned char *)str;

	while (*s) {
		uint32_t c = *s;
		uint32_t min;
		int len;
		int i;

		if (c < 0x80) {
			s++;
			continue;
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
			return 0; /* a stray continuation byte, or 0xf8..0xff */
		}
		for (i = 1; i < len; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (s[i] & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		s += len;
	}
	return 1;
}

/* NTOWFv1W over `units` UTF-16 code units. A failed MD4 fetch queues
 * OpenSSL errors nobody else should see, so they are dropped. */
static int nt_hash_w(WCHAR *wide, int units, unsigned char out[16])
{
	BYTE hash[16];
	BOOL ok;

	ERR_set_mark();
	ok = NTOWFv1W(wide, (UINT32)((size_t)units * sizeof(WCHAR)), hash);
	ERR_pop_to_mark();
	if (!ok)
		return -1;
	memcpy(out, hash, 16);
	OPENSSL_cleanse(hash, sizeof(hash));
	return 0;
}

int sam_md4_ok(void)
{
	WCHAR empty[1] = {0};
	unsigned char hash[16];

	return nt_hash_w(empty, 0, hash) == 0;
}

int sam_nt_hash(const char *password, unsigned char out[16])
{
	WCHAR *wide = NULL;
	int units;
	int rc;

	if (!out || !password || !utf8_valid(password))
		return -1;
	/* -1: the NUL is converted too, so "" gives one unit, where a length
	 * of 0 would be refused (and so NTOWFv1A cannot hash ""). */
	units = ConvertToUnicode(CP_UTF8, 0, password, -1, &wide, 0);
	if (units < 1 || !wide) {
		free(wide);
		return -1;
	}
	rc = nt_hash_w(wide, units - 1, out);
	/* The buffer is the password itself, only re-encoded. */
	OPENSSL_cleanse(wide, (size_t)units * sizeof(WCHAR));
	free(wide);
	return rc;
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
