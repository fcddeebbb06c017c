/* harness.c — start-up, listeners, event loop and orderly stop (see
 * harness.h).
 *
 * Stopping (SIGINT/SIGTERM): listeners close first, so no connection
 * starts; connections still waiting for their request and every relay are
 * closed, which ends each FreeRDP peer with end-of-file; the peers get a
 * bounded wait; then the event log is flushed. The whole stop takes well
 * under a second. */
#include "harness.h"


#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <openssl/pem.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admission.h"
#include "certgen.h"
#include "conn.h"
#include "deadline.h"
#include "events.h"
#include "listener.h"
#include "log.h"
#include "peer.h"
#include "relay.h"
#include "runtime_dir.h"
#include "sam.h"
#include "select.h"

#define STOP_WAIT_MS 700

struct harness *the_harness;

const char *served_name(const struct served *s)
{
	return s && s->sc ? s->sc->name : "none";
}

const struct served *harness_find(const struct harness *h, const char *name)
{
	for (size_t i = 0; i < h->catalog.n; i++)
		if (strcmp(h->served[i].sc->name, name) == 0)
			return &h->served[i];
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
			json_object_set_new(f, "tls_security_level", json_integer(sc->tls_sec_level));
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

static int prepare_one(struct harness *h, struct served *s, const char *certs, const char *sams,
                       char *err, size_t n)
{
	const struct scenario *sc = s->sc;
	const struct sc_cert *c = &sc->cert;
	struct certgen_pair pair = {0};
	char name[PATH_MAX], e[256];

	describe_conditions(s);
	if (sc->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) {
		struct certgen_spec spec = {
		    .subject_cn = c->subject_cn,
		    .san_dns = (const char *const *)c->san_dns,
		    .san_ip = (const char *const *)c->san_ip,
		    .key_bits = c->key_bits,
		    .digest = c->digest,
		    .not_before_offset = c->not_before_offset,
		    .not_after_offset = c->not_after_offset,
		    .key = c->key_bits == 2048 ? h->shared_key : NULL,
		    .issuer_cert = h->ca_cert,
		    .issuer_key = h->ca_key,
		};
		if (certgen_make(&spec, &pair, e, sizeof(e)) != 0) {
			snprintf(err, n, "%s: cannot make its certificate: %s", sc->name, e);
			return -1;
		}
		s->cert_pem = strdup(pair.cert_pem);
		s->key_pem = strdup(pair.key_pem);
		if (c->key_mismatch) {
			/* Serve a key that is not the certificate's: the server
			 * then cannot complete TLS (the "corrupt MachineKeys"
			 * report). */
			EVP_PKEY *other = certgen_rsa_key(c->key_bits, e, sizeof(e));
			char *other_pem = other ? certgen_private_pem(other) : NULL;
			EVP_PKEY_free(other);
			free(s->key_pem);
			s->key_pem = other_pem;
			if (!other_pem) {
				certgen_pair_free(&pair);
				snprintf(err, n, "%s: cannot make the mismatched key: %s", sc->name, e);
				return -1;
			}
		}
		snprintf(name, sizeof(name), "%s.crt", sc->name);
		int rc = certgen_write_file(certs, name, pair.cert_pem, 0644, e, sizeof(e));
		if (join(s->cert_path, sizeof(s->cert_path), certs, name) != 0)
			rc = -1;
		snprintf(name, sizeof(name), "%s.key", sc->name);
		if (rc == 0 && s->key_pem)
			rc = certgen_write_file(certs, name, s->key_pem, 0600, e, sizeof(e));
		if (join(s->key_path, sizeof(s->key_path), certs, name) != 0)
			rc = -1;
		certgen_pair_free(&pair);
		if (rc != 0 || !s->cert_pem || !s->key_pem) {
			snprintf(err, n, "%s: %s", sc->name, rc ? e : "out of memory");
			return -1;
		}
		/* Parsed once: every connection's TLS uses these (tlshook.c). */
		BIO *kb = BIO_new_mem_buf(s->key_pem, -1), *cb = BIO_new_mem_buf(s->cert_pem, -1);
		s->pkey = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
		s->x509 = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
		BIO_free(kb);
		BIO_free(cb);
		if (!s->pkey || !s->x509) {
			snprintf(err, n, "%s: cannot parse its own key or certificate", sc->name);
			return -1;
		}
	}
	if (sc->account.user) {
		char line[1024];
		if (sam_nt_hash(sc->account.password, s->nt_hash) != 0) {
			snprintf(err, n, "%s: cannot make the account's NT hash (is MD4 available?)",
			         sc->name);
			return -1;
		}
		s->has_nt_hash = 1;
		if (sam_format_line(sc->account.user, sc->account.domain ? sc->account.domain : "",
		                    sc->account.password, line, sizeof(line)) != 0) {
			snprintf(err, n, "%s: cannot make the NTLM account line (is MD4 available?)",
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
static int load_or_make_ca(struct harness *h, const char *dir, char *err, size_t n)
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
		if (!h->ca_cert || !h->ca_key || X509_check_private_key(h->ca_cert, h->ca_key) != 1) {
			snprintf(err, n,
			         "--ca-dir %s: rdpfault-ca.crt and rdpfault-ca.key must both be there, "
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

int harness_prepare(struct harness *h, const struct harness_options *opt, char *err, size_t n)
{
	char certs[PATH_MAX], sams[PATH_MAX], e[256];
	int uses_nla = 0;

	memset(h, 0, sizeof(*h));
	h->opt = *opt;
	h->opt.handshake_timeout_ms = scaled_deadline_ms(opt->handshake_timeout_ms, opt->time_scale);
	the_harness = h;
	int problems =
	    catalog_load_dir_with(opt->scenarios_dir, opt->sets, opt->n_sets, &h->catalog, stderr);
	if (problems) {
		snprintf(err, n, "%d problem%s in the scenario catalog %s", problems,
		         problems == 1 ? "" : "s", opt->scenarios_dir);
		return -2;
	}
	/* Every option the catalog decides on is checked before any work:
	 * the ports and addresses its offsets give. */
	int max_offset = 0;
	for (size_t i = 0; i < h->catalog.n; i++)
		if (h->catalog.items[i]->port_offset > max_offset)
			max_offset = h->catalog.items[i]->port_offset;
	if (opt->port_base >= 0 && opt->port_base + max_offset > 65535) {
		snprintf(err, n,
		         "--port-base %d: the catalog's port offsets reach %d, so the last scenario "
		         "would need port %d (the base can be at most %d)",
		         opt->port_base, max_offset, opt->port_base + max_offset, 65535 - max_offset);
		return -3;
	}
	if (opt->address_base) {
		struct in_addr a;
		inet_pton(AF_INET, opt->address_base, &a);
		if ((uint64_t)ntohl(a.s_addr) + (uint64_t)max_offset > 0xFFFFFFFFu) {
			snprintf(err, n, "--address-base %s: the catalog's offsets reach %d, past the last "
			                 "IPv4 address",
			         opt->address_base, max_offset);
			return -3;
		}
	}
	h->served = calloc(h->catalog.n, sizeof(*h->served));
	if (!h->served) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	problems = 0;
	for (size_t i = 0; i < h->catalog.n; i++) {
		h->served[i].sc = h->catalog.items[i];
		uses_nla |= (h->catalog.items[i]->protocols & SC_PROTO_NLA) != 0;
		problems += fault_plan_compile(h->served[i].sc, &h->served[i].plan, stderr);
		/* The denies a scenario's settings imply: the session limit's
		 * (admission.max_sessions) and multitransport's fallback. */
		const struct scenario *sc = h->served[i].sc;
		h->served[i].session_limit =
		    deny_step(PH_LICENSING, sc->admission.session_limit_code);
		h->served[i].mt_deny = deny_step(PH_CAPABILITIES, sc->multitransport.deny_code);
		fault_plan_scale(&h->served[i].plan, opt->time_scale);
	}
	if (problems) {
		snprintf(err, n, "%d problem%s in the scenario catalog %s", problems,
		         problems == 1 ? "" : "s", opt->scenarios_dir);
		return -2;
	}
	h->default_served = harness_find(h, opt->default_scenario);
	if (!h->default_served) {
		snprintf(err, n, "--default %s: no such scenario (see 'rdpfault list')",
		         opt->default_scenario);
		return -3;
	}
	if (uses_nla && !sam_md4_ok()) {
		snprintf(err, n, "NLA scenarios need MD4 (NTLM), which OpenSSL 3 has only in its legacy "
		                 "provider: it could not be loaded");
		return -1;
	}
	if (runtime_dir_open(opt->runtime_dir, h->runtime_dir, sizeof(h->runtime_dir),
	                     &h->runtime_created, e, sizeof(e)) != 0) {
		snprintf(err, n, "runtime directory: %s", e);
		return -1;
	}
	/* A directory the user named is theirs to keep, created or not. */
	if (opt->runtime_dir)
		h->runtime_created = 0;
	if (subdir(h->runtime_dir, "certs", certs, sizeof(certs), err, n) ||
	    subdir(h->runtime_dir, "sam", sams, sizeof(sams), err, n))
		return -1;
	if (opt->ca_dir && load_or_make_ca(h, opt->ca_dir, err, n) != 0)
		return -1;
	h->shared_key = certgen_rsa_key(2048, e, sizeof(e));
	if (!h->shared_key) {
		snprintf(err, n, "cannot generate the RSA key: %s", e);
		return -1;
	}
	if (certgen_rdp_key(h->shared_key, &h->rdp_key, e, sizeof(e)) != 0) {
		snprintf(err, n, "the RDP Standard Security key: %s", e);
		return -1;
	}
	for (size_t i = 0; i < h->catalog.n; i++)
		if (prepare_one(h, &h->served[i], certs, sams, err, n) != 0)
			return -1;
	return 0;
}

/* A syn-drop scenario's own ports may ask for a small kernel queue, so
 * that SYNs past it go unanswered soon. */
static int backlog_of(const struct harness *h, const struct served *s)
{
	const struct sc_admission *a = &s->sc->admission;
	if (a->policy == SC_POLICY_SYN_DROP && a->max_outstanding >= 0)
		return a->backlog >= 0 ? a->backlog : 0;
	return h->opt.backlog;
}

int harness_listen(struct harness *h, char *err, size_t n)
{
	const struct harness_options *o = &h->opt;
	size_t total = o->n_listens + (o->port_base >= 0 ? h->catalog.n : 0) +
	               (o->address_base ? h->catalog.n : 0);

	/* Peer threads wake the relay with event_active(). */
	evthread_use_pthreads();
	h->base = event_base_new();
	if (!h->base) {
		snprintf(err, n, "cannot create the event loop");
		return -1;
	}
	h->listeners = calloc(total ? total : 1, sizeof(*h->listeners));
	if (!h->listeners) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->n_listens; i++) {
		const struct listen_spec *ls = &o->listens[i];
		const struct served *def = h->default_served;
		if (ls->scenario && !(def = harness_find(h, ls->scenario))) {
			snprintf(err, n, "--listen %s:%d=%s: no such scenario (see 'rdpfault list')",
			         ls->host, ls->port, ls->scenario);
			return -3;
		}
		if (listener_open(h, &h->listeners[h->n_listeners], ls->host, ls->port, def,
		                  backlog_of(h, def), err, n) != 0)
			return -1;
		h->n_listeners++;
	}
	if (o->port_base >= 0) {
		for (size_t i = 0; i < h->catalog.n; i++) {
			struct served *s = &h->served[i];
			s->port = o->port_base + s->sc->port_offset;
			if (s->port > 65535) {
				snprintf(err, n, "--port-base %d: scenario %s would need port %d", o->port_base,
				         s->sc->name, s->port);
				return -1;
			}
			if (listener_open(h, &h->listeners[h->n_listeners], o->port_base_host, s->port, s,
			                  backlog_of(h, s), err, n) != 0)
				return -1;
			h->n_listeners++;
		}
	}
	if (o->address_base) {
		struct in_addr base;
		inet_pton(AF_INET, o->address_base, &base);
		for (size_t i = 0; i < h->catalog.n; i++) {
			struct served *s = &h->served[i];
			uint32_t a = ntohl(base.s_addr) + (uint32_t)s->sc->port_offset;
			struct in_addr ia = {.s_addr = htonl(a)};
			char host[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &ia, host, sizeof(host));
			if (listener_open(h, &h->listeners[h->n_listeners], host, 3389, s, backlog_of(h, s),
			                  err, n) != 0)
				return -1;
			h->n_listeners++;
		}
	}
	if (admission_init(h) != 0) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

static void stop(struct harness *h, const char *why)
{
	if (h->stopping)
		return;
	h->stopping = 1;
	log_info("%s: stopping", why);
	for (size_t i = 0; i < h->n_listeners; i++)
		listener_close(&h->listeners[i]);
	if (h->trim)
		event_del(h->trim);
	select_abort_all();
	admission_close_held();
	relay_abort_all("shutdown");
	event_base_loopexit(h->base, NULL);
}

/* Memory back after a burst: glibc keeps what peer threads freed in their
 * arenas; once no connection is live, give it back to the system. */
#define TRIM_EVERY_MS 2000
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t trimmed_at_total;
	(void)fd;
	(void)what;
	(void)arg;
	uint64_t total = conn_total_count();
	if (conn_live_count() == 0 && total != trimmed_at_total) {
		trimmed_at_total = total;
		malloc_trim(0);
	}
}

static struct harness *stopping_harness;

/* A second SIGINT or SIGTERM during the stop: no more waiting for peers. */
static void on_second_signal(int sig)
{
	(void)sig;
	if (stopping_harness)
		stopping_harness->forced = 1;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct harness *h = arg;
	(void)what;
	stopping_harness = h;
	struct sigaction sa = {.sa_handler = on_second_signal};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	stop(h, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

/* The readiness file: written whole (a temporary file renamed), so a
 * health check never sees half of it. 0, or -1 with errno set. */
static int write_ready_file(const char *path)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int ok = fprintf(f, "%d\n", (int)getpid()) > 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int harness_check_ready_file(const char *path, char *err, size_t n)
{
	if (write_ready_file(path) != 0) {
		snprintf(err, n, "--ready-file %s: cannot write it: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return 0;
}

int harness_run(struct harness *h)
{
	json_t *ls = json_array();
	for (size_t i = 0; i < h->n_listeners; i++)
		json_array_append_new(ls, json_pack("{s:s, s:s}", "address", h->listeners[i].name,
		                                    "scenario", served_name(h->listeners[i].def)));
	events_emit(0, "start",
	            json_pack("{s:s, s:o, s:I, s:s, s:i}", "version", RDPFAULT_VERSION, "listeners", ls,
	                      "scenarios", (json_int_t)h->catalog.n, "runtime_dir", h->runtime_dir,
	                      "pid", (int)getpid()));

	struct timeval every = {TRIM_EVERY_MS / 1000, (TRIM_EVERY_MS % 1000) * 1000};
	h->trim = event_new(h->base, -1, EV_PERSIST, on_trim, h);
	if (h->trim)
		event_add(h->trim, &every);
	h->sig_int = evsignal_new(h->base, SIGINT, on_signal, h);
	h->sig_term = evsignal_new(h->base, SIGTERM, on_signal, h);
	event_add(h->sig_int, NULL);
	event_add(h->sig_term, NULL);
	if (h->opt.ready_file && write_ready_file(h->opt.ready_file) != 0) {
		/* An orchestrator would wait for it for ever: a runtime failure. */
		char err[PATH_MAX + 128];
		snprintf(err, sizeof(err), "cannot write the ready file %s: %s", h->opt.ready_file,
		         strerror(errno));
		log_error("%s", err);
		events_emit(0, "error", json_pack("{s:s}", "error", err));
		h->exit_code = 1;
		stop(h, "the ready file");
	}
	if (!h->exit_code)
		event_base_dispatch(h->base);

	h->peers_left = peer_wait_all(STOP_WAIT_MS, &h->forced);
	/* Every accepted connection ends in a close event, also the few whose
	 * peer thread is still inside FreeRDP (it never writes a second). */
	long closed_here = conn_close_all_live("shutdown");
	json_t *stopf = json_pack("{s:I, s:i, s:i, s:I}", "connections",
	                          (json_int_t)conn_total_count(), "peers_still_running",
	                          (int)h->peers_left, "closed_at_stop", (int)closed_here,
	                          "fd_exhaustion_bursts", (json_int_t)listener_fd_bursts());
	json_object_set_new(stopf, "events_dropped", json_integer((json_int_t)events_dropped()));
	json_t *adm = admission_summary(h);
	if (json_object_size(adm))
		json_object_set_new(stopf, "admission", adm);
	else
		json_decref(adm);
	events_emit(0, "stop", stopf);
	if (h->opt.ready_file)
		unlink(h->opt.ready_file);
	return h->exit_code;
}

void harness_remove_runtime(struct harness *h)
{
	if (!h->runtime_created || !h->runtime_dir[0])
		return;
	char sub[PATH_MAX + 8];
	snprintf(sub, sizeof(sub), "%s/certs", h->runtime_dir);
	runtime_dir_remove(sub);
	snprintf(sub, sizeof(sub), "%s/sam", h->runtime_dir);
	runtime_dir_remove(sub);
	runtime_dir_remove(h->runtime_dir);
	h->runtime_created = 0;
}

void harness_free(struct harness *h)
{
	for (size_t i = 0; i < h->n_listeners; i++)
		listener_close(&h->listeners[i]);
	free(h->listeners);
	if (h->trim)
		event_free(h->trim);
	if (h->sig_int)
		event_free(h->sig_int);
	if (h->sig_term)
		event_free(h->sig_term);
	admission_free(h);
	listener_shutdown();
	if (h->base)
		event_base_free(h->base);
	for (size_t i = 0; h->served && i < h->catalog.n; i++) {
		free(h->served[i].cert_pem);
		free(h->served[i].key_pem);
		EVP_PKEY_free(h->served[i].pkey);
		X509_free(h->served[i].x509);
		fault_plan_free(&h->served[i].plan);
		for (int p = 0; p < PH_COUNT; p++)
			free(h->served[i].conditions[p]);
	}
	free(h->served);
	certgen_rdp_key_free(&h->rdp_key);
	EVP_PKEY_free(h->shared_key);
	X509_free(h->ca_cert);
	EVP_PKEY_free(h->ca_key);
	harness_remove_runtime(h);
	catalog_free(&h->catalog);
}
