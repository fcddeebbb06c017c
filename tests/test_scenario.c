/* test_scenario.c — unit tests of the scenario catalog loader
 * (server/catalog/scenario.c): the repository's own catalog, defaults, a file that
 * sets every key, one bad file per rule (tests/data/scenarios-bad/, each
 * with exactly one problem), and the catalog's directory and cross-file
 * rules. Error text is captured with open_memstream and compared by its
 * "FILE:LINE: FIELD" prefix, which is the loader's contract with users. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog/scenario.h"

#define BAD_DIR TEST_DATA_DIR "/scenarios-bad"
#define GOOD_DIR TEST_DATA_DIR "/scenarios-good"

/* Captures what the loader writes to `err`. */
struct capture {
	char *buf;
	size_t len;
	FILE *f;
};

static FILE *cap_open(struct capture *c)
{
	memset(c, 0, sizeof *c);
	c->f = open_memstream(&c->buf, &c->len);
	assert_non_null(c->f);
	return c->f;
}

static const char *cap_text(struct capture *c)
{
	fflush(c->f);
	return c->buf ? c->buf : "";
}

static void cap_close(struct capture *c)
{
	fclose(c->f);
	free(c->buf);
}

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

static int has_tag(const struct scenario *s, const char *tag)
{
	for (char **t = s->tags; t && *t; t++)
		if (!strcmp(*t, tag))
			return 1;
	return 0;
}

/* ---- overrides (--set) --------------------------------------------------- */

static int load_with(const char *const *sets, size_t n, struct catalog *cat, struct capture *cap)
{
	struct sc_override ov[8];
	assert_true(n <= 8);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sc_override_parse(sets[i], &ov[i]), 0);
	int r = catalog_load_dir_with(RDPFAULT_SOURCE_SCENARIOS, ov, n, cat, cap_open(cap));
	for (size_t i = 0; i < n; i++)
		free((char *)ov[i].scenario);
	return r;
}

static void test_override_replace_add_index(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	const char *sets[] = {
	        "tls-version-mismatch.security.tls_min=1.3", /* replaced */
	        "tls-version-mismatch.security.tls_max=1.3",
	        "healthy-tls.certificate.not_after=-1d", /* added, with its mapping */
	        "healthy-tls.certificate.not_before=-2d",
	        "credssp-logon-failure.faults[0].params.code=account-disabled", /* in a list */
	};
	int r = load_with(sets, 5, &cat, &cap);
	if (r)
		print_error("%s", cap_text(&cap));
	assert_int_equal(r, 0);
	const struct scenario *v = catalog_find(&cat, "tls-version-mismatch");
	assert_int_equal(v->tls_min, 0x0304);
	assert_int_equal(v->tls_max, 0x0304);
	const struct scenario *t = catalog_find(&cat, "healthy-tls");
	assert_int_equal(t->cert.not_after_offset, -86400);
	assert_int_equal(t->cert.not_before_offset, -2 * 86400);
	assert_string_equal(t->cert.subject_cn, "localhost"); /* the rest keeps its defaults */
	const struct scenario *c = catalog_find(&cat, "credssp-logon-failure");
	assert_string_equal(sc_fault_param(&c->faults[0], "code"), "account-disabled");
	catalog_free(&cat);
	cap_close(&cap);
}

static void test_override_problems(void **state)
{
	(void)state;
	static const struct {
		const char *set, *needle;
	} cases[] = {
	        {"nope.security.tls_min=1.3",
	         "--set nope.security.tls_min=1.3: no scenario named nope"},
	        {"healthy-tls.security.tls_max=1.4",
	         "--set healthy-tls.security.tls_max=1.4: security.tls_max: unknown TLS version "
	         "\"1.4\""},
	        {"healthy-tls.colour=blue", "--set healthy-tls.colour=blue: colour: unknown key"},
	        {"healthy-tls.faults[3].at=active", "--set healthy-tls.faults[3].at=active: "
	                                            "faults[3].at: faults has no list to index"},
	        {"credssp-stall.faults[5].at=active", ": faults has no item 5"},
	        {"healthy-tls.name.x=1",
	         "--set healthy-tls.name.x=1: name.x: x is not inside a mapping"},
	        {"healthy-tls.security..x=1", "not a field path"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct capture cap;
		struct catalog cat;
		int r = load_with(&cases[i].set, 1, &cat, &cap);
		/* The user's own argument is blamed, never a line of a file. */
		if (r < 1 || !strstr(cap_text(&cap), cases[i].needle) ||
		    strstr(cap_text(&cap), ".yaml:"))
			fail_msg("--set %s: %d problems:\n%s\nexpected: %s", cases[i].set, r,
			         cap_text(&cap), cases[i].needle);
		assert_int_equal(cat.n, 0);
		cap_close(&cap);
	}
	struct sc_override o;
	assert_int_equal(sc_override_parse("no-equals.security.tls_max", &o), -1);
	assert_int_equal(sc_override_parse("nodot=1", &o), -1);
	assert_int_equal(sc_override_parse(".x=1", &o), -1);
	assert_int_equal(sc_override_parse("a.=1", &o), -1);
	assert_int_equal(sc_override_parse("a.b=", &o), 0); /* an empty value: the loader judges */
	free((char *)o.scenario);
}

/* ---- the repository's catalog ------------------------------------------ */

static void test_repo_catalog(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	int r = catalog_load_dir(RDPFAULT_SOURCE_SCENARIOS, &cat, cap_open(&cap));
	if (r)
		print_error("%s", cap_text(&cap));
	assert_int_equal(r, 0);
	assert_string_equal(cap_text(&cap), "");
	assert_true(cat.n >= 3);
	for (size_t i = 1; i < cat.n; i++)
		assert_true(strcmp(cat.items[i - 1]->name, cat.items[i]->name) < 0);

	const struct scenario *tls = catalog_find(&cat, "healthy-tls");
	const struct scenario *nla = catalog_find(&cat, "healthy-nla");
	const struct scenario *rdp = catalog_find(&cat, "healthy-rdp");
	assert_non_null(tls);
	assert_non_null(nla);
	assert_non_null(rdp);

	assert_int_equal(tls->port_offset, 0);
	assert_int_equal(tls->protocols, SC_PROTO_TLS);
	assert_null(tls->account.user);
	assert_int_equal(tls->n_faults, 0);

	assert_int_equal(nla->port_offset, 1);
	assert_int_equal(nla->protocols, SC_PROTO_NLA);
	assert_string_equal(nla->account.user, "healthy-nla");
	assert_string_equal(nla->account.domain, "");
	assert_string_equal(nla->account.password, "rdpfault-nla");
	assert_int_equal(nla->n_faults, 0);

	assert_int_equal(rdp->port_offset, 2);
	assert_int_equal(rdp->protocols, SC_PROTO_RDP);
	assert_int_equal(rdp->encryption_level, SC_ENC_CLIENT_COMPATIBLE);
	assert_null(rdp->account.user);
	assert_int_equal(rdp->n_faults, 0);

	const struct scenario *all[] = {tls, nla, rdp};
	for (size_t i = 0; i < 3; i++) {
		const struct scenario *s = all[i];
		assert_true(has_tag(s, "healthy"));
		assert_true(strlen(s->summary) > 0);
		assert_true(strlen(s->reproduces) > 0);
		assert_true(strlen(s->field_report) > 0);
		assert_non_null(strstr(s->file, s->name));
		const struct sc_expect *m = scenario_expect_for(s, "mstsc");
		const struct sc_expect *x = scenario_expect_for(s, "xfreerdp");
		assert_non_null(m);
		assert_non_null(x);
		assert_string_equal(m->result, "connected");
		assert_string_equal(x->result, "connected");
	}
	catalog_free(&cat);
	cap_close(&cap);
}

/* ---- defaults and every key -------------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	struct capture cap;
	struct scenario *s;
	int r = scenario_load_file(GOOD_DIR "/defaults.yaml", &s, cap_open(&cap));
	if (r)
		print_error("%s", cap_text(&cap));
	assert_int_equal(r, 0);
	assert_non_null(s);

	assert_string_equal(s->name, "defaults");
	assert_string_equal(s->file, GOOD_DIR "/defaults.yaml");
	assert_int_equal(s->port_offset, 998);
	assert_non_null(s->tags);
	assert_null(s->tags[0]);

	assert_int_equal(s->protocols, SC_PROTO_TLS);
	assert_int_equal(s->encryption_level, SC_ENC_CLIENT_COMPATIBLE);
	assert_int_equal(s->tls_min, 0x0303);
	assert_int_equal(s->tls_max, 0x0304);
	assert_int_equal(s->tls_sec_level, 1);
	assert_null(s->tls_ciphers);

	assert_string_equal(s->cert.subject_cn, "localhost");
	assert_string_equal(s->cert.san_dns[0], "localhost");
	assert_null(s->cert.san_dns[1]);
	assert_string_equal(s->cert.san_ip[0], "127.0.0.1");
	assert_string_equal(s->cert.san_ip[1], "::1");
	assert_null(s->cert.san_ip[2]);
	assert_int_equal(s->cert.key_bits, 2048);
	assert_string_equal(s->cert.digest, "sha256");
	assert_int_equal(s->cert.not_before_offset, -86400);
	assert_int_equal(s->cert.not_after_offset, 365L * 86400);

	assert_null(s->account.user);
	assert_null(s->account.domain);
	assert_null(s->account.password);

	assert_null(s->faults);
	assert_int_equal(s->n_faults, 0);

	assert_int_equal(s->n_expect, 1);
	const struct sc_expect *e = scenario_expect_for(s, "xfreerdp");
	assert_non_null(e);
	assert_string_equal(e->client, "xfreerdp");
	assert_string_equal(e->result, "connected");
	assert_int_equal(e->exit_code, -1);
	assert_null(e->log);
	assert_null(e->code);
	assert_null(e->extended);
	assert_null(e->message);
	assert_null(e->note);
	assert_null(scenario_expect_for(s, "mstsc"));

	scenario_free(s);
	cap_close(&cap);
}

static void test_full(void **state)
{
	(void)state;
	struct capture cap;
	struct scenario *s;
	int r = scenario_load_file(GOOD_DIR "/full.yaml", &s, cap_open(&cap));
	if (r)
		print_error("%s", cap_text(&cap));
	assert_int_equal(r, 0);

	assert_string_equal(s->summary, "Every key set — including non-ASCII text.");
	/* Paragraphs lose the trailing newline YAML's > and | keep. */
	assert_string_equal(s->reproduces, "A paragraph folded over two lines.");
	assert_string_equal(s->field_report, "mstsc 0x904 / 0x7");
	assert_string_equal(s->tags[0], "one");
	assert_string_equal(s->tags[1], "two-words");
	assert_string_equal(s->tags[2], "3");
	assert_null(s->tags[3]);

	assert_int_equal(s->protocols, SC_PROTO_RDP | SC_PROTO_TLS | SC_PROTO_NLA);
	assert_int_equal(s->encryption_level, SC_ENC_FIPS);
	assert_int_equal(s->tls_min, 0x0302);
	assert_int_equal(s->tls_max, 0x0303);
	assert_int_equal(s->tls_sec_level, 0);
	assert_string_equal(s->tls_ciphers, "HIGH:!aNULL");

	assert_string_equal(s->cert.subject_cn, "rdp.example.test");
	assert_string_equal(s->cert.san_dns[1], "*.example.test");
	assert_null(s->cert.san_dns[2]);
	assert_string_equal(s->cert.san_ip[1], "2001:db8::7");
	assert_int_equal(s->cert.key_bits, 4096);
	assert_string_equal(s->cert.digest, "sha384");
	assert_int_equal(s->cert.not_before_offset, -30L * 86400);
	assert_int_equal(s->cert.not_after_offset, 90L * 60);

	assert_string_equal(s->account.user, "alice");
	assert_string_equal(s->account.domain, "EXAMPLE");
	assert_string_equal(s->account.password, "s3cret pass");

	assert_int_equal(s->n_faults, 2);
	assert_string_equal(s->faults[0].action, "reset");
	assert_string_equal(s->faults[0].at, "x224-confirm");
	assert_int_equal(s->faults[0].line, 32);
	assert_int_equal(s->faults[0].n_params, 2);
	assert_string_equal(sc_fault_param(&s->faults[0], "code"), "0x7");
	assert_string_equal(sc_fault_param(&s->faults[0], "after"), "3");
	assert_null(sc_fault_param(&s->faults[0], "missing"));
	assert_string_equal(s->faults[1].action, "stall");
	assert_null(s->faults[1].at);
	assert_int_equal(s->faults[1].n_params, 0);
	assert_null(sc_fault_param(&s->faults[1], "code"));
	assert_int_equal(s->faults[1].line, 35);

	assert_int_equal(s->n_expect, 3);
	const struct sc_expect *m = scenario_expect_for(s, "mstsc");
	assert_string_equal(m->result, "failed");
	assert_string_equal(m->code, "0x904");
	assert_string_equal(m->extended, "0x7");
	assert_string_equal(m->message, "The connection was lost.");
	assert_string_equal(m->note, "Seen on Windows 11.");
	assert_int_equal(m->exit_code, -1);
	const struct sc_expect *x = scenario_expect_for(s, "xfreerdp");
	assert_int_equal(x->exit_code, 131);
	assert_string_equal(x->log, "ERRCONNECT_CONNECT_TRANSPORT_FAILED");
	assert_non_null(scenario_expect_for(s, "my_client-2"));
	assert_null(scenario_expect_for(s, "rdesktop"));

	scenario_free(s);
	cap_close(&cap);
}

/* ---- one bad file per rule --------------------------------------------- */

struct bad_case {
	const char *file;   /* in BAD_DIR */
	const char *where;  /* what follows "PATH:" in the error: "LINE: FIELD" */
	const char *phrase; /* somewhere in the message */
};

static const struct bad_case bad_cases[] = {
        {"account-colon.yaml", "9: account.user", "must not contain ':'"},
        {"account-no-password.yaml", "9: account.password", "required key is missing"},
        {"bad-client-name.yaml", "7: expect.Ms Tsc", "is not a valid client name"},
        {"bad-code.yaml", "7: expect.mstsc.code", "\"904\" is not a hex code"},
        {"bad-digest.yaml", "7: certificate.digest", "unknown digest \"md5\""},
        {"bad-duration.yaml", "7: certificate.not_after", "\"5y\" is not a duration"},
        {"bad-encryption-level.yaml", "8: security.encryption_level",
         "unknown encryption level \"medium\" (expected none, low, client-compatible, high or "
         "fips)"},
        {"bad-ip.yaml", "7: certificate.san_ip[1]", "\"300.1.1.1\" is not an IPv4 or IPv6 address"},
        {"bad-protocol.yaml", "7: security.protocols[1]",
         "unknown protocol \"tsl\" (expected rdp, tls or nla)"},
        {"bad-result.yaml", "7: expect.xfreerdp.result", "unknown result \"ok\""},
        {"bad-tag.yaml", "6: tags[1]", "\"Healthy\" is not a valid token"},
        {"bad-tls-version.yaml", "8: security.tls_min", "unknown TLS version \"1.4\""},
        {"bad-utf8.yaml", "2: (yaml)", "invalid leading UTF-8 octet"},
        {"bad_name.yaml", "1: name", "\"bad_name\" is not a valid name"},
        {"duplicate-key.yaml", "6: summary", "duplicate key (first at line 3)"},
        {"duplicate-protocol.yaml", "7: security.protocols[2]", "duplicate protocol \"tls\""},
        {"empty.yaml", "1: (document)", "empty file"},
        {"exit-range.yaml", "7: expect.xfreerdp.exit", "256 is out of range (0..255)"},
        {"expect-empty.yaml", "6: expect", "must name at least one client"},
        {"expect-missing.yaml", "1: expect", "required key is missing"},
        {"fault-bad-param.yaml", "8: faults[0].params.code", "found a list"},
        {"fault-missing-action.yaml", "7: faults[0].action", "required key is missing"},
        {"float-int.yaml", "8: security.tls_security_level", "\"1.5\" is not an integer"},
        {"int-overflow.yaml", "2: port_offset", "99999999999999999999 is out of range (0..999)"},
        {"key-bits-odd.yaml", "7: certificate.key_bits", "2047 is not a multiple of 8"},
        {"key-bits-range.yaml", "7: certificate.key_bits", "512 is out of range (1024..8192)"},
        {"key-not-scalar.yaml", "6: (document)", "key must be a scalar"},
        {"missing-name.yaml", "2: name", "required key is missing"},
        {"missing-result.yaml", "8: expect.xfreerdp.result", "required key is missing"},
        {"multi-doc.yaml", "9: (document)", "more than one YAML document"},
        {"name-mismatch.yaml", "1: name",
         "\"other-name\" does not match the file name (expected \"name-mismatch\")"},
        {"nla-without-account.yaml", "1: account", "required when security.protocols includes nla"},
        {"not-a-mapping.yaml", "1: (document)", "expected a mapping, found a list"},
        {"not-after-before.yaml", "8: certificate.not_after", "must be later than not_before"},
        {"not-an-int.yaml", "2: port_offset", "\"12abc\" is not an integer"},
        {"nul-in-string.yaml", "3: summary", "NUL character"},
        {"null-string.yaml", "3: summary", "expected a string, found no value"},
        {"protocols-empty.yaml", "7: security.protocols", "must list at least one protocol"},
        {"quoted-int.yaml", "2: port_offset", "expected an integer, found a quoted string"},
        {"section-not-mapping.yaml", "6: security", "expected a mapping, found a scalar"},
        {"security-no-protocols.yaml", "7: security.protocols", "required key is missing"},
        {"string-is-list.yaml", "3: summary", "expected a string, found a list"},
        {"summary-multiline.yaml", "3: summary", "must be one line"},
        {"summary-too-long.yaml", "3: summary", "is 121 characters long (at most 120)"},
        {"tls-min-above-max.yaml", "9: security.tls_max", "1.1 is below tls_min 1.2"},
        {"undefined-alias.yaml", "3: (yaml)", "found undefined alias"},
        {"mt-rdp-security.yaml", "9: multitransport", "needs security.protocols without rdp"},
        {"mt-deny-code.yaml", "8: multitransport.deny_code", "applies to fallback deny only"},
        {"mt-bad-udp.yaml", "7: multitransport.udp",
         "unknown udp side \"blackhole\" (expected drop,"},
        {"network-bad-phase.yaml", "8: network[0].trigger.from_phase", "\"tls\" is not a phase"},
        {"network-bad-stream.yaml", "8: network[0].stream", "unknown stream \"sideways\""},
        {"network-two-triggers.yaml", "9: network[0].trigger",
         "from_phase and after_bytes: give one trigger"},
        {"schedule-last-count.yaml", "8: schedule[1].count", "the last step is for good"},
        {"schedule-no-count.yaml", "7: schedule[0].count", "every step but the last has one"},
        {"schedule-one-step.yaml", "7: schedule", "expected 2-16 steps (this one: 1)"},
        {"schedule-with-security.yaml", "7: security",
         "a schedule scenario serves its steps' scenarios: it has no security of its own"},
        {"unknown-key.yaml", "6: colour", "unknown key (expected name, alias, port_offset,"},
        {"unknown-nested-key.yaml", "7: certificate.subject", "unknown key (expected subject_cn,"},
        {"yaml-syntax.yaml", "3: (yaml)", "mapping values are not allowed in this context"},
        {"yaml-unterminated.yaml", "5: (yaml)", "found unexpected end of stream"},
};
#define N_BAD (sizeof bad_cases / sizeof *bad_cases)

static void test_bad_files(void **state)
{
	(void)state;
	int failed = 0;
	for (size_t i = 0; i < N_BAD; i++) {
		const struct bad_case *bc = &bad_cases[i];
		char *path, *prefix;
		assert_true(asprintf(&path, "%s/%s", BAD_DIR, bc->file) > 0);
		assert_true(asprintf(&prefix, "%s:%s: ", path, bc->where) > 0);
		struct capture cap;
		struct scenario *s = (struct scenario *)&cap; /* must be reset to NULL */
		int r = scenario_load_file(path, &s, cap_open(&cap));
		const char *text = cap_text(&cap);
		if (r != 1 || s || strncmp(text, prefix, strlen(prefix)) ||
		    !strstr(text, bc->phrase) || count_lines(text) != 1) {
			print_error(
			        "%s: returned %d, wrote:\n%s  wanted prefix \"%s\" and \"%s\"\n",
			        bc->file, r, text, prefix, bc->phrase);
			failed++;
		}
		cap_close(&cap);
		free(prefix);
		free(path);
	}
	assert_int_equal(failed, 0);
}

/* The bad directory as a catalog: every file is read and reported (one
 * problem each), nothing is returned. Also checks that the table above
 * covers every file in the directory. */
static void test_bad_dir_catalog(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat = {(struct scenario **)&cap, 42, 0};
	int r = catalog_load_dir(BAD_DIR, &cat, cap_open(&cap));
	assert_int_equal(r, (int)N_BAD);
	assert_int_equal(count_lines(cap_text(&cap)), N_BAD);
	assert_null(cat.items);
	assert_int_equal(cat.n, 0);
	catalog_free(&cat);
	cap_close(&cap);
}

static void test_several_problems(void **state)
{
	(void)state;
	struct capture cap;
	struct scenario *s;
	const char *f = TEST_DATA_DIR "/several-problems/several-problems.yaml";
	int r = scenario_load_file(f, &s, cap_open(&cap));
	assert_int_equal(r, 4);
	assert_null(s);
	char *want;
	assert_true(
	        asprintf(&want,
	                 "%s:3: port_offset: 1000 is out of range (0..999)\n"
	                 "%s:4: summary: must not be empty\n"
	                 "%s:8: security.protocols[1]: unknown protocol \"tsl\" (expected rdp, tls "
	                 "or nla)\n"
	                 "%s:10: expect.xfreerdp.result: unknown result \"maybe\" (expected "
	                 "connected, failed, retries-forever or hangs)\n",
	                 f, f, f, f) > 0);
	assert_string_equal(cap_text(&cap), want);
	free(want);
	cap_close(&cap);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct capture cap;
	struct scenario *s;
	int r = scenario_load_file(TEST_DATA_DIR "/no-such-file.yaml", &s, cap_open(&cap));
	assert_int_equal(r, 1);
	assert_null(s);
	assert_non_null(
	        strstr(cap_text(&cap), TEST_DATA_DIR "/no-such-file.yaml:0: (file): cannot open:"));
	cap_close(&cap);
}

static void test_null_err(void **state)
{
	(void)state;
	struct scenario *s;
	int r = scenario_load_file(TEST_DATA_DIR "/several-problems/several-problems.yaml", &s,
	                           NULL);
	assert_int_equal(r, 4);
	assert_null(s);
}

/* ---- catalog directories ----------------------------------------------- */

static void test_catalog_good(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	/* README.txt and the directory sub.yaml/ are not scenario files. */
	int r = catalog_load_dir(GOOD_DIR "/", &cat, cap_open(&cap));
	if (r)
		print_error("%s", cap_text(&cap));
	assert_int_equal(r, 0);
	assert_int_equal(cat.n, 2);
	assert_string_equal(cat.items[0]->name, "defaults");
	assert_string_equal(cat.items[1]->name, "full");
	assert_string_equal(cat.items[1]->file, GOOD_DIR "/full.yaml");
	assert_ptr_equal(catalog_find(&cat, "full"), cat.items[1]);
	assert_ptr_equal(catalog_find(&cat, "defaults"), cat.items[0]);
	assert_null(catalog_find(&cat, "healthy-tls"));
	assert_null(catalog_find(&cat, ""));
	catalog_free(&cat);
	assert_null(cat.items);
	assert_int_equal(cat.n, 0);
	cap_close(&cap);
}

static void test_catalog_dup_port(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	int r = catalog_load_dir(TEST_DATA_DIR "/catalog-dup-port", &cat, cap_open(&cap));
	assert_int_equal(r, 1);
	assert_null(cat.items);
	assert_int_equal(cat.n, 0);
	assert_string_equal(
	        cap_text(&cap), TEST_DATA_DIR
	        "/catalog-dup-port/beta.yaml:3: port_offset: 7 is also used by " TEST_DATA_DIR
	        "/catalog-dup-port/alpha.yaml:3\n");
	cap_close(&cap);
}

static void test_catalog_no_yaml(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	int r = catalog_load_dir(TEST_DATA_DIR "/catalog-no-yaml", &cat, cap_open(&cap));
	assert_int_equal(r, 1);
	assert_null(cat.items);
	assert_int_equal(cat.n, 0);
	assert_non_null(strstr(cap_text(&cap), "catalog-no-yaml:0: (catalog): no *.yaml"));
	cap_close(&cap);
}

static void test_catalog_empty_dir(void **state)
{
	(void)state;
	char dir[] = "/tmp/rdpfault-test-scenario-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct capture cap;
	struct catalog cat;
	int r = catalog_load_dir(dir, &cat, cap_open(&cap));
	rmdir(dir);
	assert_int_equal(r, 1);
	assert_null(cat.items);
	assert_non_null(strstr(cap_text(&cap), "(catalog): no *.yaml"));
	cap_close(&cap);
}

static void test_catalog_missing_dir(void **state)
{
	(void)state;
	struct capture cap;
	struct catalog cat;
	int r = catalog_load_dir(TEST_DATA_DIR "/no-such-dir", &cat, cap_open(&cap));
	assert_int_equal(r, 1);
	assert_null(cat.items);
	assert_int_equal(cat.n, 0);
	assert_non_null(strstr(cap_text(&cap),
	                       TEST_DATA_DIR "/no-such-dir:0: (catalog): cannot open directory:"));
	cap_close(&cap);
}

/* ---- small helpers ----------------------------------------------------- */

static void test_protocols_str(void **state)
{
	(void)state;
	char buf[32];
	assert_string_equal(sc_protocols_str(SC_PROTO_TLS, buf, sizeof buf), "tls");
	assert_string_equal(sc_protocols_str(SC_PROTO_NLA | SC_PROTO_RDP, buf, sizeof buf),
	                    "rdp,nla");
	assert_string_equal(
	        sc_protocols_str(SC_PROTO_NLA | SC_PROTO_TLS | SC_PROTO_RDP, buf, sizeof buf),
	        "rdp,tls,nla");
	assert_string_equal(sc_protocols_str(0, buf, sizeof buf), "");
	/* Too small: cut at a whole name, always terminated. */
	char small[6];
	memset(small, 'x', sizeof small);
	assert_string_equal(sc_protocols_str(SC_PROTO_RDP | SC_PROTO_TLS, small, sizeof small),
	                    "rdp");
	char one[1] = {'x'};
	assert_string_equal(sc_protocols_str(SC_PROTO_RDP, one, sizeof one), "");
}

static void test_encryption_level_str(void **state)
{
	(void)state;
	assert_string_equal(sc_encryption_level_str(SC_ENC_NONE), "none");
	assert_string_equal(sc_encryption_level_str(SC_ENC_LOW), "low");
	assert_string_equal(sc_encryption_level_str(SC_ENC_CLIENT_COMPATIBLE), "client-compatible");
	assert_string_equal(sc_encryption_level_str(SC_ENC_HIGH), "high");
	assert_string_equal(sc_encryption_level_str(SC_ENC_FIPS), "fips");
}

static void test_free_null(void **state)
{
	(void)state;
	scenario_free(NULL);
	catalog_free(NULL);
	struct catalog empty = {NULL, 0, 0};
	catalog_free(&empty);
	assert_null(catalog_find(&empty, "x"));
	assert_null(scenario_expect_for(NULL, "x"));
	assert_null(sc_fault_param(NULL, "x"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_repo_catalog),
	        cmocka_unit_test(test_defaults),
	        cmocka_unit_test(test_full),
	        cmocka_unit_test(test_bad_files),
	        cmocka_unit_test(test_bad_dir_catalog),
	        cmocka_unit_test(test_several_problems),
	        cmocka_unit_test(test_missing_file),
	        cmocka_unit_test(test_null_err),
	        cmocka_unit_test(test_catalog_good),
	        cmocka_unit_test(test_catalog_dup_port),
	        cmocka_unit_test(test_catalog_no_yaml),
	        cmocka_unit_test(test_catalog_empty_dir),
	        cmocka_unit_test(test_catalog_missing_dir),
	        cmocka_unit_test(test_protocols_str),
	        cmocka_unit_test(test_encryption_level_str),
	        cmocka_unit_test(test_free_null),
	        cmocka_unit_test(test_override_replace_add_index),
	        cmocka_unit_test(test_override_problems),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
