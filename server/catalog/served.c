/* served.c — preparing what each scenario serves (see served.h): the
 * runtime directory, the test CA, the conditions each configuration sets
 * up, the NLA account files and their hashes — once, at start, so that per
 * connection FreeRDP gets only copies. The keys and certificates, the
 * expensive part, are made by served_certs.c. */
#include "catalog/served.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "catalog/runtime_dir.h"
#include "catalog/sam.h"

const char *served_name(const struct served *s)
{
	return s && s->sc ? s->sc->name : "none";
}

const struct served *served_pick(struct served *s, const char *ip, int *step,
                                 struct sched_counts **counted)
{
	*step = -1;
	if (!s || !s->n_sched)
		return s;
	if (counted)
		*counted = &s->sched_counts;
	size_t i = sched_next(s->sched, s->n_sched, &s->sched_counts, ip);
	*step = (int)i;
	return s->sched[i].s;
}

const struct served *serving_find(const struct serving *sv, const char *name)
{
	for (size_t i = 0; i < sv->n; i++)
		if (strcmp(sv->items[i].sc->name, name) == 0)
			return &sv->items[i];
	return NULL;
}

/* dir/name into out; -1 when it does not fit. */
static int join(char *out, size_t n, const char *dir, const char *name)
{
	int r = snprintf(out, n, "%s/%s", dir, name);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

static int subdir(const char *root, const char *name, char *out, size_t n, char *err, size_t en)
{
	if (join(out, n, root, name) != 0) {
		snprintf(err, en, "path too long: %s/%s", root, name);
		return -1;
	}
	if (mkdir(out, 0700) < 0 && errno != EEXIST) {
		snprintf(err, en, "cannot create %s: %s", out, strerror(errno));
		return -1;
	}
	return 0;
}

static int has_name(char **names, const char *name)
{
	for (; names && *names; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}

/* The conditions a scenario's configuration sets up, each a "fault" event
 * for the phase where it strikes. Defaults (a valid self-signed RSA-2048
 * certificate for localhost, TLS 1.2-1.3 at security level 1, client-
 * compatible encryption) are no condition. */
static void describe_conditions(struct served *s)
{
	const struct scenario *sc = s->sc;
	const struct sc_cert *c = &sc->cert;

	if (sc->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) {
		json_t *cert = json_array();
		if (c->not_after_offset < 0)
			json_array_append_new(cert, json_string("expired"));
		if (c->not_before_offset > 0)
			json_array_append_new(cert, json_string("not-yet-valid"));
		if (strcmp(c->subject_cn, "localhost") != 0 && !has_name(c->san_dns, "localhost"))
			json_array_append_new(cert, json_string("wrong-name"));
		if (c->key_bits < 2048 || strcmp(c->digest, "sha1") == 0)
			json_array_append_new(cert, json_string("weak"));
		if (c->key_mismatch)
			json_array_append_new(cert, json_string("key-mismatch"));
		json_t *f = json_pack("{s:s, s:s, s:o}", "action",
		                      json_array_size(cert) ? "certificate" : "tls-policy", "at",
		                      phase_name(PH_TLS_CLIENT_HELLO), "condition", cert);
		if (sc->tls_min != 0x0303 || sc->tls_max != 0x0304 || sc->tls_sec_level != 1 ||
		    sc->tls_ciphers) {
			json_object_set_new(f, "tls_versions",
			                    json_sprintf("1.%d-1.%d", (sc->tls_min & 0xFF) - 1,
			                                 (sc->tls_max & 0xFF) - 1));
			json_object_set_new(f, "tls_security_level",
			                    json_integer(sc->tls_sec_level));
			if (sc->tls_ciphers)
				json_object_set_new(f, "tls_ciphers", json_string(sc->tls_ciphers));
		} else if (json_array_size(cert) == 0) {
			json_decref(f);
			f = NULL;
		}
		if (f) {
			s->conditions[PH_TLS_CLIENT_HELLO] = json_dumps(f, JSON_COMPACT);
			json_decref(f);
		}
	}
	if ((sc->protocols & SC_PROTO_RDP) && sc->encryption_level != SC_ENC_CLIENT_COMPATIBLE) {
		json_t *f = json_pack("{s:s, s:s, s:s}", "action", "encryption-level", "at",
		                      phase_name(PH_MCS_CONNECT), "level",
		                      sc_encryption_level_str(sc->encryption_level));
		s->conditions[PH_MCS_CONNECT] = json_dumps(f, JSON_COMPACT);
		json_decref(f);
	}
}

/* What is cheap to prepare: the conditions and the NLA account (its hash
 * and file). Certificates come later (served_certs.c). */
static int prepare_one(struct served *s, const char *sams, char *err, size_t n)
{
	const struct scenario *sc = s->sc;
	char name[PATH_MAX], e[256];

	describe_conditions(s);
	if (sc->account.user) {
		char line[1024];
		if (sam_nt_hash(sc->account.password, s->nt_hash) != 0) {
			snprintf(err, n,
			         "%s: cannot make the account's NT hash (is MD4 available?)",
			         sc->name);
			return -1;
		}
		s->has_nt_hash = 1;
		if (sam_format_line(sc->account.user, sc->account.domain ? sc->account.domain : "",
		                    sc->account.password, line, sizeof(line)) != 0) {
			snprintf(err, n,
			         "%s: cannot make the NTLM account line (is MD4 available?)",
			         sc->name);
			return -1;
		}
		snprintf(name, sizeof(name), "%s.sam", sc->name);
		if (certgen_write_file(sams, name, line, 0600, e, sizeof(e)) != 0) {
			snprintf(err, n, "%s: %s", sc->name, e);
			return -1;
		}
		if (join(s->sam_path, sizeof(s->sam_path), sams, name) != 0) {
			snprintf(err, n, "%s: runtime directory path too long", sc->name);
			return -1;
		}
	}
	return 0;
}

/* Test-CA mode: the CA in dir (rdpfault-ca.crt, rdpfault-ca.key) is
 * made on first use and reused after, so a client told to trust it once
 * keeps trusting it across restarts. */
static int load_or_make_ca(struct serving *h, const char *dir, char *err, size_t n)
{
	char key_path[PATH_MAX], e[256];
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, n, "--ca-dir %s: %s", dir, strerror(errno));
		return -1;
	}
	if (join(h->ca_cert_path, sizeof(h->ca_cert_path), dir, "rdpfault-ca.crt") ||
	    join(key_path, sizeof(key_path), dir, "rdpfault-ca.key")) {
		snprintf(err, n, "--ca-dir %s: path too long", dir);
		return -1;
	}
	FILE *fc = fopen(h->ca_cert_path, "r"), *fk = fopen(key_path, "r");
	if (fc && fk) {
		h->ca_cert = PEM_read_X509(fc, NULL, NULL, NULL);
		h->ca_key = PEM_read_PrivateKey(fk, NULL, NULL, NULL);
	}
	if (fc)
		fclose(fc);
	if (fk)
		fclose(fk);
	if (fc || fk) {
		if (!h->ca_cert || !h->ca_key ||
		    X509_check_private_key(h->ca_cert, h->ca_key) != 1) {
			snprintf(err, n,
			         "--ca-dir %s: rdpfault-ca.crt and rdpfault-ca.key must both be "
			         "there, "
			         "readable PEM, and belong together (remove both to make a new CA)",
			         dir);
			return -1;
		}
		return 0;
	}
	struct certgen_pair ca = {0};
	struct certgen_spec spec = {
	        .subject_cn = "rdpfault test CA",
	        .key_bits = 2048,
	        .digest = "sha256",
	        .not_before_offset = -86400,
	        .not_after_offset = 10L * 365 * 86400,
	        .is_ca = 1,
	};
	if (certgen_make(&spec, &ca, e, sizeof(e)) != 0 ||
	    certgen_write_file(dir, "rdpfault-ca.key", ca.key_pem, 0600, e, sizeof(e)) != 0 ||
	    certgen_write_file(dir, "rdpfault-ca.crt", ca.cert_pem, 0644, e, sizeof(e)) != 0) {
		snprintf(err, n, "--ca-dir %s: cannot make the test CA: %s", dir, e);
		certgen_pair_free(&ca);
		return -1;
	}
	h->ca_cert = ca.cert;
	h->ca_key = ca.key;
	ca.cert = NULL;
	ca.key = NULL;
	certgen_pair_free(&ca);
	return 0;
}

/* A deny at phase `at` with an ERRINFO code given as text (checked by the
 * scenario loader), or ERRINFO_SERVER_DENIED_CONNECTION (0x7). */
static struct fault_step deny_step(enum phase at, const char *code)
{
	return (struct fault_step){.action = FA_DENY,
	                           .at = at,
	                           .code = code ? (uint32_t)strtoul(code, NULL, 0) : 0x7,
	                           .duration_ms = -1,
	                           .close_notify = -1,
	                           .close_after_ms = -1};
}

int serving_init(struct serving *sv, const struct catalog *cat, double time_scale, FILE *err)
{
	int problems = 0;
	memset(sv, 0, sizeof(*sv));
	pthread_mutex_init(&sv->cert_lock, NULL);
	pthread_cond_init(&sv->cert_cv, NULL);
	const char *delay = getenv("RDPFAULT_TEST_CERT_DELAY_MS");
	sv->cert_delay_ms = delay ? atoi(delay) : 0;
	sv->items = calloc(cat->n ? cat->n : 1, sizeof(*sv->items));
	if (!sv->items) {
		if (err)
			fprintf(err, "out of memory\n");
		return 1;
	}
	sv->n = cat->n;
	sv->cat = cat;
	for (size_t i = 0; i < cat->n; i++) {
		struct served *s = &sv->items[i];
		const struct scenario *sc = cat->items[i];
		s->sc = sc;
		problems += fault_plan_compile(sc, &s->plan, err);
		problems += net_plan_compile(sc, &s->net, err);
		/* The denies a scenario's settings imply: the session limit's
		 * (admission.max_sessions) and multitransport's fallback. */
		s->session_limit = deny_step(PH_LICENSING, sc->admission.session_limit_code);
		s->mt_deny = deny_step(PH_CAPABILITIES, sc->multitransport.deny_code);
		fault_plan_scale(&s->plan, time_scale);
	}
	/* Schedule scenarios' steps, once every item is there (the catalog's
	 * check said each names one that exists and is no schedule). */
	for (size_t i = 0; i < cat->n; i++) {
		struct served *s = &sv->items[i];
		for (size_t k = 0; k < s->sc->n_schedule && k < SCHED_STEPS_MAX; k++) {
			const struct sc_sched_item *it = &s->sc->schedule[k];
			const struct served *to = serving_find(sv, it->scenario);
			if (!to || to->sc->n_schedule) {
				problems++;
				continue;
			}
			s->sched[s->n_sched].s = to;
			s->sched[s->n_sched++].count = it->count;
		}
	}
	return problems;
}

int serving_prepare(struct serving *sv, const struct serving_options *o, char *err, size_t n)
{
	char sams[PATH_MAX], e[256];
	int uses_nla = 0;
	for (size_t i = 0; i < sv->n; i++)
		uses_nla |= (sv->items[i].sc->protocols & SC_PROTO_NLA) != 0;
	if (uses_nla && !sam_md4_ok()) {
		snprintf(err, n,
		         "NLA scenarios need MD4 (NTLM), which OpenSSL 3 has only in its legacy "
		         "provider: it could not be loaded");
		return -1;
	}
	if (runtime_dir_open(o->runtime_dir, sv->runtime_dir, sizeof(sv->runtime_dir),
	                     &sv->runtime_created, e, sizeof(e)) != 0) {
		snprintf(err, n, "runtime directory: %s", e);
		return -1;
	}
	/* A directory the user named is theirs to keep, created or not. */
	if (o->runtime_dir)
		sv->runtime_created = 0;
	if (subdir(sv->runtime_dir, "certs", sv->certs_dir, sizeof(sv->certs_dir), err, n) ||
	    subdir(sv->runtime_dir, "sam", sams, sizeof(sams), err, n))
		return -1;
	if (o->ca_dir && load_or_make_ca(sv, o->ca_dir, err, n) != 0)
		return -1;
	for (size_t i = 0; i < sv->n; i++) {
		sv->items[i].sv = sv;
		if (prepare_one(&sv->items[i], sams, err, n) != 0)
			return -1;
	}
	return 0;
}

void serving_remove_runtime(struct serving *sv)
{
	if (!sv->runtime_created || !sv->runtime_dir[0])
		return;
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof(sub), "%s/certs", sv->runtime_dir);
	runtime_dir_remove(sub);
	snprintf(sub, sizeof(sub), "%s/sam", sv->runtime_dir);
	runtime_dir_remove(sub);
	runtime_dir_remove(sv->runtime_dir);
	sv->runtime_created = 0;
}

void serving_free(struct serving *sv)
{
	serving_stop_certs(sv);
	for (size_t i = 0; sv->items && i < sv->n; i++) {
		free(sv->items[i].cert_pem);
		free(sv->items[i].key_pem);
		EVP_PKEY_free(sv->items[i].pkey);
		X509_free(sv->items[i].x509);
		OPENSSL_free(sv->items[i].pub_der);
		fault_plan_free(&sv->items[i].plan);
		net_plan_free(&sv->items[i].net);
		sched_counts_free(&sv->items[i].sched_counts);
		for (int p = 0; p < PH_COUNT; p++)
			free(sv->items[i].conditions[p]);
	}
	free(sv->items);
	sv->items = NULL;
	sv->n = 0;
	certgen_rdp_key_free(&sv->rdp_key);
	EVP_PKEY_free(sv->shared_key);
	X509_free(sv->ca_cert);
	EVP_PKEY_free(sv->ca_key);
	sv->shared_key = sv->ca_key = NULL;
	sv->ca_cert = NULL;
	serving_remove_runtime(sv);
}
