/* test_sam.c — unit tests for the SAM lines FreeRDP's NLA server reads.
 *
 * Expected hashes were computed with winpr-hash 2.11.7 and cross-checked
 * with `iconv -f utf-8 -t utf-16le | openssl dgst -md4 -provider legacy`
 * (Python's hashlib has no MD4 either without that provider). When they are
 * installed, winpr-hash is also run live, and our lines are looked up with
 * WinPR's own SAM reader (libwinpr2, loaded with dlopen) as the NLA server
 * does.
 *
 * sam.c hashes with WinPR (ConvertToUnicode, NTOWFv1W). Debian 12's WinPR
 * 2.11.7 is built without WITH_INTERNAL_MD4, so its MD4 is OpenSSL's and
 * needs the legacy provider like any other: nothing here loads it but
 * group_setup, and test_md4_missing shows what happens without it. */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/provider.h>

#include "base/hexstr.h"
#include "catalog/sam.h"

#define WINPR_HASH "/usr/bin/winpr-hash"
#define LIBWINPR "libwinpr2.so.2"

static OSSL_PROVIDER *legacy;
static OSSL_PROVIDER *deflt;

/* The program gets these from winpr_InitializeSSL; the test loads them
 * itself (and never calls winpr_InitializeSSL), so that it can unload the
 * legacy provider again. */
static int group_setup(void **state)
{
	(void)state;
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	deflt = OSSL_PROVIDER_load(NULL, "default");
	return legacy && deflt ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	OSSL_PROVIDER_unload(legacy);
	OSSL_PROVIDER_unload(deflt);
	return 0;
}

static const struct {
	const char *password;
	const char *nt;
} vectors[] = {
        {"password", "8846f7eaee8fb117ad06bdd830b7586c"},
        {"", "31d6cfe0d16ae931b73c59d7e0c089c0"},
        {"p\xc3\xa4ssw\xc3\xb6rd", "0553152250ac01adb4213cb9938663e4"}, /* pässwörd */
        {"\xce\xa9", "238926747cfdc142ad45f2cb71f49f9f"},               /* U+03A9 */
        {"\xe2\x82\xac", "030926b781938db4365d46adc7cfbcb8"},           /* U+20AC */
        {"\xf0\x9f\x98\x80", "4b58a10cc20a4e7d808d218e1f80aabc"},       /* U+1F600 */
        {"p\xf0\x9f\x98\x80w", "6b06667388f00da5001c1f5f34131271"},     /* p U+1F600 w */
        {"\xf4\x8f\xbf\xbf", "9e0ad9dae64dd4cc4419ddf6420f8e42"},       /* U+10FFFF */
        {"a:b", "8e134a51ae2df29f33695327f91a5371"},                    /* ':' is fine here */
        /* U+FFFD itself, the hash ICU would give "\xff" (test_invalid_utf8) */
        {"\xef\xbf\xbd", "48498df91e4c1700370a09c6c51a055f"},
};

static void test_md4_available(void **state)
{
	(void)state;
	assert_int_equal(sam_md4_ok(), 1);
}

/* Without the legacy provider, WinPR 2.11.7 as Debian builds it has no
 * MD4: reported by sam_md4_ok, not crashed on, and no OpenSSL error left
 * queued for an unrelated caller to find. A WinPR built WITH_INTERNAL_MD4
 * would hash anyway; then sam_md4_ok must say so and the hash be right. */
static void test_md4_missing(void **state)
{
	unsigned char bin[16];
	char out[33];

	(void)state;
	assert_int_equal(OSSL_PROVIDER_unload(legacy), 1);
	legacy = NULL;
	if (sam_md4_ok()) {
		print_message("WinPR hashes without OpenSSL's legacy provider (internal MD4)\n");
		assert_int_equal(sam_nt_hash_hex("password", out), 0);
		assert_string_equal(out, "8846f7eaee8fb117ad06bdd830b7586c");
	} else {
		assert_int_equal(sam_nt_hash_hex("password", out), -1);
		assert_string_equal(out, "");
		assert_int_equal(sam_nt_hash("p\xc3\xa4ssw\xc3\xb6rd", bin), -1);
		assert_int_equal(sam_nt_hash("", bin), -1);
	}
	assert_int_equal(ERR_peek_error(), 0);
	legacy = OSSL_PROVIDER_load(NULL, "legacy");
	assert_non_null(legacy);
	assert_int_equal(sam_md4_ok(), 1);
}

static void test_vectors(void **state)
{
	unsigned char bin[16];
	char out[33];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		assert_int_equal(sam_nt_hash_hex(vectors[i].password, out), 0);
		assert_string_equal(out, vectors[i].nt);
		/* The binary form is the same hash. */
		assert_int_equal(sam_nt_hash(vectors[i].password, bin), 0);
		hex_encode(bin, 16, out);
		assert_string_equal(out, vectors[i].nt);
	}
}

/* Refused, though WinPR's ConvertToUnicode (ICU) would take each of these
 * and hash U+FFFD in place of the bad bytes: "\xff", "\xc3" and
 * "\xf0\x9f\x98" would all give the hash of "\xef\xbf\xbd" (U+FFFD). */
static void test_invalid_utf8(void **state)
{
	static const char *const bad[] = {
	        "\x80",                 /* stray continuation byte */
	        "\xc0\xaf",             /* overlong '/' */
	        "\xc1\xbf",             /* overlong */
	        "\xe0\x80\xaf",         /* overlong, 3 bytes */
	        "\xf0\x80\x80\xaf",     /* overlong, 4 bytes */
	        "\xed\xa0\x80",         /* U+D800, a surrogate */
	        "\xed\xbf\xbf",         /* U+DFFF */
	        "\xf4\x90\x80\x80",     /* U+110000 */
	        "\xf5\x80\x80\x80",     /* beyond any code point */
	        "\xf8\x88\x80\x80\x80", /* 5-byte form */
	        "\xff",
	        "\xc3",         /* truncated at the end */
	        "a\xe2\x82",    /* truncated */
	        "\xf0\x9f\x98", /* truncated */
	        "\xe2\x82z",    /* interrupted */
	};
	char out[33];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(out, "junk", 5);
		assert_int_equal(sam_nt_hash_hex(bad[i], out), -1);
		assert_string_equal(out, "");
	}
	assert_int_equal(sam_nt_hash_hex(NULL, out), -1);
}

static void test_line_format(void **state)
{
	char line[128];
	char small[48];

	(void)state;
	assert_int_equal(sam_format_line("alice", "RDPFAULT", "password", line, sizeof(line)), 0);
	assert_string_equal(line, "alice:RDPFAULT::8846f7eaee8fb117ad06bdd830b7586c:::\n");
	assert_int_equal(sam_format_line("alice", "", "password", line, sizeof(line)), 0);
	assert_string_equal(line, "alice:::8846f7eaee8fb117ad06bdd830b7586c:::\n");
	assert_int_equal(sam_format_line("alice", NULL, "", line, sizeof(line)), 0);
	assert_string_equal(line, "alice:::31d6cfe0d16ae931b73c59d7e0c089c0:::\n");
	/* The password may hold anything: only its hash is written. */
	assert_int_equal(sam_format_line("bob", "D", "a:b\n", line, sizeof(line)), 0);

	/* Exactly big enough, then one byte short. */
	assert_int_equal(sam_format_line("u", "D", "password", small, 42), 0);
	assert_int_equal(strlen(small), 41);
	assert_int_equal(sam_format_line("u", "D", "password", small, 41), -1);
	assert_string_equal(small, "");
}

static void test_line_refused(void **state)
{
	char line[128];

	(void)state;
	assert_int_equal(sam_format_line("al:ice", "D", "pw", line, sizeof(line)), -1);
	assert_string_equal(line, "");
	assert_int_equal(sam_format_line("alice", "D:X", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("al\nice", "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice", "D\n", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice\r", "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice", "\rD", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("", "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line(NULL, "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("#alice", "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("j\xc3\xb6rg", "D", "pw", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice", "D", NULL, line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice", "D", "\xc0\xaf", line, sizeof(line)), -1);
	assert_int_equal(sam_format_line("alice", "D", "pw", NULL, 0), -1);
}

/* popen goes through /bin/sh, so the password is single-quoted with any
 * embedded quote spelled '\''. */
static int run_winpr_hash(const char *user, const char *domain, const char *password, int sam,
                          char *out, size_t n)
{
	char cmd[512];
	char qpw[128];
	size_t j = 0;
	const char *p;
	FILE *f;
	int rc;

	for (p = password; *p && j + 5 < sizeof(qpw); p++) {
		if (*p == '\'') {
			memcpy(qpw + j, "'\\''", 4);
			j += 4;
		} else {
			qpw[j++] = *p;
		}
	}
	qpw[j] = '\0';
	snprintf(cmd, sizeof(cmd), WINPR_HASH " -u '%s' -d '%s' -p '%s'%s 2>/dev/null", user,
	         domain, qpw, sam ? " -f sam" : "");
	f = popen(cmd, "r");
	if (!f)
		return -1;
	if (!fgets(out, (int)n, f))
		out[0] = '\0';
	rc = pclose(f);
	return rc == 0 ? 0 : -1;
}

static void test_against_winpr_hash(void **state)
{
	static const char *const passwords[] = {
	        "password", "p\xc3\xa4ssw\xc3\xb6rd", "\xf0\x9f\x98\x80", "it's a secret", "a:b",
	};
	char theirs[256];
	char ours[256];
	size_t i;

	(void)state;
	if (access(WINPR_HASH, X_OK) != 0)
		skip();
	for (i = 0; i < sizeof(passwords) / sizeof(passwords[0]); i++) {
		assert_int_equal(run_winpr_hash("alice", "RDPFAULT", passwords[i], 0, theirs,
		                                sizeof(theirs)),
		                 0);
		assert_int_equal(sam_nt_hash_hex(passwords[i], ours), 0);
		assert_memory_equal(theirs, ours, 32);

		/* Same line, byte for byte, as `winpr-hash -f sam`. */
		assert_int_equal(run_winpr_hash("alice", "RDPFAULT", passwords[i], 1, theirs,
		                                sizeof(theirs)),
		                 0);
		assert_int_equal(
		        sam_format_line("alice", "RDPFAULT", passwords[i], ours, sizeof(ours)), 0);
		assert_string_equal(ours, theirs);
	}
}

/* WinPR 2.11's struct winpr_sam_entry (winpr/sam.h), repeated here: the
 * reader's functions below are looked up with dlsym, not declared. */
struct winpr_sam_entry {
	char *User;
	uint32_t UserLength;
	char *Domain;
	uint32_t DomainLength;
	unsigned char LmHash[16];
	unsigned char NtHash[16];
};

typedef void *(*sam_open_fn)(const char *, int);
typedef struct winpr_sam_entry *(*sam_lookup_w_fn)(void *, uint16_t *, uint32_t, uint16_t *,
                                                   uint32_t);
typedef void (*sam_free_entry_fn)(void *, struct winpr_sam_entry *);
typedef void (*sam_close_fn)(void *);

/* ASCII only, which is all sam_format_line lets through. */
static uint32_t to_utf16(const char *s, uint16_t *w)
{
	uint32_t n = 0;

	while (*s)
		w[n++] = (uint16_t)(unsigned char)*s++;
	return n * 2; /* bytes, as NTLM passes them */
}

static void assert_hash_bytes(const unsigned char *bin, const char *hex)
{
	char got[33];

	hex_encode(bin, 16, got);
	assert_string_equal(got, hex);
}

static void test_winpr_reader_finds_entry(void **state)
{
	char path[] = "/tmp/test_sam-XXXXXX";
	char line[128];
	char nt[33];
	uint16_t user[16];
	uint16_t domain[16];
	uint32_t ulen;
	uint32_t dlen;
	void *lib;
	void *sam;
	struct winpr_sam_entry *e;
	sam_open_fn sam_open;
	sam_lookup_w_fn lookup;
	sam_free_entry_fn free_entry;
	sam_close_fn sam_close;
	int fd;

	(void)state;
	/* Not closed: WinPR keeps logger state that must stay reachable. */
	lib = dlopen(LIBWINPR, RTLD_NOW | RTLD_LOCAL);
	if (!lib)
		skip();
	sam_open = (sam_open_fn)dlsym(lib, "SamOpen");
	lookup = (sam_lookup_w_fn)dlsym(lib, "SamLookupUserW");
	free_entry = (sam_free_entry_fn)dlsym(lib, "SamFreeEntry");
	sam_close = (sam_close_fn)dlsym(lib, "SamClose");
	assert_true(sam_open && lookup && free_entry && sam_close);

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "# accounts for the test\n", 24), 24);
	assert_int_equal(sam_format_line("bob", "OTHER", "nope", line, sizeof(line)), 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	assert_int_equal(
	        sam_format_line("alice", "RDPFAULT", "p\xc3\xa4ssw\xc3\xb6rd", line, sizeof(line)),
	        0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	assert_int_equal(sam_format_line("carol", NULL, "password", line, sizeof(line)), 0);
	assert_int_equal(write(fd, line, strlen(line)), (ssize_t)strlen(line));
	close(fd);

	sam = sam_open(path, 1);
	assert_non_null(sam);

	/* As ntlm_fetch_ntlm_v2_hash looks it up: user and domain... */
	ulen = to_utf16("alice", user);
	dlen = to_utf16("RDPFAULT", domain);
	e = lookup(sam, user, ulen, domain, dlen);
	assert_non_null(e);
	assert_int_equal(sam_nt_hash_hex("p\xc3\xa4ssw\xc3\xb6rd", nt), 0);
	assert_hash_bytes(e->NtHash, nt);
	free_entry(sam, e);

	/* ...then, failing that, the user with no domain. */
	ulen = to_utf16("carol", user);
	dlen = to_utf16("ANY", domain);
	assert_null(lookup(sam, user, ulen, domain, dlen));
	e = lookup(sam, user, ulen, NULL, 0);
	assert_non_null(e);
	assert_hash_bytes(e->NtHash, "8846f7eaee8fb117ad06bdd830b7586c");
	free_entry(sam, e);

	sam_close(sam);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_md4_available),
	        cmocka_unit_test(test_md4_missing),
	        cmocka_unit_test(test_vectors),
	        cmocka_unit_test(test_invalid_utf8),
	        cmocka_unit_test(test_line_format),
	        cmocka_unit_test(test_line_refused),
	        cmocka_unit_test(test_against_winpr_hash),
	        cmocka_unit_test(test_winpr_reader_finds_entry),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
