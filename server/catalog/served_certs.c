/* served_certs.c — every scenario's key and certificate, made by a thread
 * of its own once the listeners are open (see served.h): RSA key
 * generation is most of a start's time, and a scenario nobody connects to
 * yet need not hold the listeners back. A connection whose certificate is
 * not made yet waits for it (served_wait), and asks for it next; it is
 * never served another one. */
#include "catalog/served.h"

#include "base/clock.h"
#include "base/events.h"

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int needs_cert(const struct served *s)
{
	/* A schedule scenario's connections are served by its steps' scenarios. */
	return !s->sc->n_schedule && (s->sc->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) != 0;
}

static int join(char *out, size_t n, const char *dir, const char *name)
{
	int r = snprintf(out, n, "%s/%s", dir, name);
	return r < 0 || (size_t)r >= n ? -1 : 0;
}

/* The key every RSA-2048 certificate shares, and RDP Standard Security's. */
static int make_shared(struct serving *sv, char *err, size_t n)
{
	char e[256];
	sv->shared_key = certgen_rsa_key(2048, e, sizeof(e));
	if (!sv->shared_key) {
		snprintf(err, n, "cannot generate the RSA key: %s", e);
		return -1;
	}
	if (certgen_rdp_key(sv->shared_key, &sv->rdp_key, e, sizeof(e)) != 0) {
		snprintf(err, n, "the RDP Standard Security key: %s", e);
		return -1;
	}
	return 0;
}

/* One scenario's certificate and key, written for users to inspect and
 * parsed for every connection's TLS (tlshook.c). Touches only s. */
static int make_cert(struct serving *sv, struct served *s, char *err, size_t n)
{
	const struct scenario *sc = s->sc;
	const struct sc_cert *c = &sc->cert;
	struct certgen_pair pair = {0};
	char e[256];
	struct certgen_spec spec = {
	        .subject_cn = c->subject_cn,
	        .san_dns = (const char *const *)c->san_dns,
	        .san_ip = (const char *const *)c->san_ip,
	        .key_bits = c->key_bits,
	        .digest = c->digest,
	        .not_before_offset = c->not_before_offset,
	        .not_after_offset = c->not_after_offset,
	        .key = c->key_bits == 2048 ? sv->shared_key : NULL,
	        .issuer_cert = sv->ca_cert,
	        .issuer_key = sv->ca_key,
	};
	if (certgen_make(&spec, &pair, e, sizeof(e)) != 0) {
		snprintf(err, n, "%s: cannot make its certificate: %s", sc->name, e);
		return -1;
	}
	s->cert_pem = strdup(pair.cert_pem);
	s->key_pem = strdup(pair.key_pem);
	if (c->key_mismatch) {
		/* Serve a key that is not the certificate's: the server then
		 * cannot complete TLS (the "corrupt MachineKeys" report). */
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
	certgen_pair_free(&pair);
	if (!s->cert_pem || !s->key_pem) {
		snprintf(err, n, "%s: out of memory", sc->name);
		return -1;
	}
	BIO *kb = BIO_new_mem_buf(s->key_pem, -1), *cb = BIO_new_mem_buf(s->cert_pem, -1);
	s->pkey = kb ? PEM_read_bio_PrivateKey(kb, NULL, NULL, NULL) : NULL;
	s->x509 = cb ? PEM_read_bio_X509(cb, NULL, NULL, NULL) : NULL;
	BIO_free(kb);
	BIO_free(cb);
	if (!s->pkey || !s->x509) {
		snprintf(err, n, "%s: cannot parse its own key or certificate", sc->name);
		return -1;
	}
	/* Made here, off the peer threads, where the hook passes the call on.
	 * None (a key OpenSSL cannot encode): FreeRDP encodes its own. */
	s->pub_der = NULL;
	EVP_PKEY *pub = X509_get0_pubkey(s->x509);
	s->pub_der_len = pub ? i2d_PublicKey(pub, &s->pub_der) : -1;
	if (s->pub_der_len <= 0) {
		OPENSSL_free(s->pub_der);
		s->pub_der = NULL;
		s->pub_der_len = 0;
	}
	return 0;
}

/* The copies written for users to inspect (cert export, --runtime-dir).
 * Serving needs none of them, so a failure (out of descriptors, a full
 * disk) is tried again later, and nothing waits for it. */
static int write_files(struct serving *sv, struct served *s, char *err, size_t n)
{
	char name[PATH_MAX], e[256];
	snprintf(name, sizeof(name), "%s.crt", s->sc->name);
	int rc = certgen_write_file(sv->certs_dir, name, s->cert_pem, 0644, e, sizeof(e));
	if (join(s->cert_path, sizeof(s->cert_path), sv->certs_dir, name) != 0)
		rc = -1;
	snprintf(name, sizeof(name), "%s.key", s->sc->name);
	if (rc == 0)
		rc = certgen_write_file(sv->certs_dir, name, s->key_pem, 0600, e, sizeof(e));
	if (join(s->key_path, sizeof(s->key_path), sv->certs_dir, name) != 0)
		rc = -1;
	if (rc != 0)
		snprintf(err, n, "%s: %s", s->sc->name, e);
	return rc;
}

/* The next certificate to make, marked MAKING: a wanted one first, else
 * the first pending in catalog order; NULL when none is left. Under lock. */
static struct served *next_item(struct serving *sv)
{
	struct served *first = NULL;
	for (size_t i = 0; i < sv->n; i++) {
		struct served *s = &sv->items[i];
		if (s->cert != CERT_PENDING)
			continue;
		if (s->cert_wanted) {
			first = s;
			break;
		}
		if (!first)
			first = s;
	}
	if (first)
		first->cert = CERT_MAKING;
	return first;
}

static void test_delay(const struct serving *sv)
{
	if (sv->cert_delay_ms > 0) {
		struct timespec d = {sv->cert_delay_ms / 1000,
		                     (sv->cert_delay_ms % 1000) * 1000000L};
		nanosleep(&d, NULL);
	}
}

static int stopping(struct serving *sv)
{
	pthread_mutex_lock(&sv->cert_lock);
	int stop = sv->cert_stopping;
	pthread_mutex_unlock(&sv->cert_lock);
	return stop;
}

/* The files that could not be written, tried again with a growing pause
 * (at most 1 s) while the harness runs; returns how many are left. */
static size_t retry_files(struct serving *sv, unsigned char *pending, int background)
{
	char err[512];
	size_t left = 0;
	for (size_t i = 0; i < sv->n; i++)
		left += pending[i];
	long pause_ms = 50;
	int warned = 0;
	while (left && background && !stopping(sv)) {
		struct timespec d = {pause_ms / 1000, (pause_ms % 1000) * 1000000L};
		nanosleep(&d, NULL);
		pause_ms = pause_ms * 2 > 1000 ? 1000 : pause_ms * 2;
		for (size_t i = 0; i < sv->n; i++) {
			if (!pending[i])
				continue;
			if (write_files(sv, &sv->items[i], err, sizeof(err)) == 0) {
				pending[i] = 0;
				left--;
			} else if (!warned) {
				warned = 1;
				fprintf(stderr, "rdpfault: warning: %s (trying again)\n", err);
			}
		}
	}
	return left;
}

/* Makes everything; returns 0, or -1 with the first failure in
 * sv->cert_error. Waiters are woken after each certificate, before its
 * files are written. */
static int make_all(struct serving *sv, int background)
{
	char err[512] = "";
	int failed = 0;
	size_t made = 0, files_left = 0;
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	unsigned char *pending = calloc(sv->n ? sv->n : 1, 1);
	if (!pending) {
		snprintf(sv->cert_error, sizeof(sv->cert_error), "out of memory");
		return -1;
	}
	test_delay(sv);
	int rc = make_shared(sv, err, sizeof(err));
	pthread_mutex_lock(&sv->cert_lock);
	sv->shared = rc == 0 ? CERT_READY : CERT_FAILED;
	if (rc != 0) {
		snprintf(sv->cert_error, sizeof(sv->cert_error), "%s", err);
		for (size_t i = 0; i < sv->n; i++)
			sv->items[i].cert = CERT_FAILED;
		failed = 1;
	}
	int shared_failed = failed;
	/* What needs no certificate is ready with the shared key. */
	for (size_t i = 0; i < sv->n && !failed; i++)
		if (!needs_cert(&sv->items[i]))
			sv->items[i].cert = CERT_READY;
	pthread_cond_broadcast(&sv->cert_cv);
	struct served *s;
	/* One certificate that cannot be made fails its own scenario only. */
	while (!shared_failed && !sv->cert_stopping && (s = next_item(sv))) {
		pthread_mutex_unlock(&sv->cert_lock);
		test_delay(sv);
		rc = make_cert(sv, s, err, sizeof(err));
		pthread_mutex_lock(&sv->cert_lock);
		s->cert = rc == 0 ? CERT_READY : CERT_FAILED;
		if (rc != 0 && !sv->cert_error[0])
			snprintf(sv->cert_error, sizeof(sv->cert_error), "%s", err);
		failed |= rc != 0;
		made += rc == 0;
		pthread_cond_broadcast(&sv->cert_cv);
		pthread_mutex_unlock(&sv->cert_lock);
		if (rc == 0 && write_files(sv, s, err, sizeof(err)) != 0) {
			if (!background) { /* cert export: the files are the point */
				failed = 1;
				snprintf(sv->cert_error, sizeof(sv->cert_error), "%s", err);
			}
			pending[s - sv->items] = 1;
		}
		pthread_mutex_lock(&sv->cert_lock);
	}
	pthread_mutex_unlock(&sv->cert_lock);
	if (!failed)
		files_left = retry_files(sv, pending, background);
	free(pending);
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000L + (t1.tv_nsec - t0.tv_nsec) / 1000000L;
	/* Cancelled (the harness stops): the stop event says the rest. */
	if (!stopping(sv))
		events_emit(0, "certificates",
		            json_pack("{s:I, s:b, s:I, s:I}", "made", (json_int_t)made, "failed",
		                      failed, "files_not_written", (json_int_t)files_left, "ms",
		                      (json_int_t)ms));
	return failed ? -1 : 0;
}

static void *maker_main(void *arg)
{
	struct serving *sv = arg;
	if (make_all(sv, 1) != 0)
		fprintf(stderr, "rdpfault: error: %s (its connections are closed)\n",
		        sv->cert_error);
	return NULL;
}

int serving_make_certs(struct serving *sv, int background, char *err, size_t n)
{
	if (!background) {
		if (make_all(sv, 0) != 0) {
			snprintf(err, n, "%s", sv->cert_error);
			return -1;
		}
		return 0;
	}
	if (pthread_create(&sv->cert_thread, NULL, maker_main, sv) != 0) {
		snprintf(err, n, "cannot start the certificate maker: %s", strerror(errno));
		return -1;
	}
	sv->cert_thread_started = 1;
	return 0;
}

static long ms_since(const struct timespec *t0)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

int served_wait(const struct served *cs, int timeout_ms, long *waited_ms, char *why, size_t n)
{
	struct served *s = (struct served *)cs; /* cert_wanted: the one field a waiter sets */
	struct serving *sv = s->sv;
	struct timespec t0, until = deadline_after_ms(timeout_ms);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = 0;
	pthread_mutex_lock(&sv->cert_lock);
	while (s->cert != CERT_READY && s->cert != CERT_FAILED && !sv->cert_stopping) {
		s->cert_wanted = 1;
		if (pthread_cond_timedwait(&sv->cert_cv, &sv->cert_lock, &until) == ETIMEDOUT)
			break;
	}
	if (s->cert != CERT_READY) {
		rc = -1;
		snprintf(why, n, "%s",
		         s->cert == CERT_FAILED ? sv->cert_error
		         : sv->cert_stopping    ? "the harness is stopping"
		                                : "not made in time");
	}
	pthread_mutex_unlock(&sv->cert_lock);
	if (waited_ms)
		*waited_ms = ms_since(&t0);
	return rc;
}

void serving_cancel_certs(struct serving *sv)
{
	if (!sv->items)
		return;
	pthread_mutex_lock(&sv->cert_lock);
	sv->cert_stopping = 1;
	pthread_cond_broadcast(&sv->cert_cv);
	pthread_mutex_unlock(&sv->cert_lock);
}

void serving_stop_certs(struct serving *sv)
{
	if (!sv->items)
		return;
	serving_cancel_certs(sv);
	if (sv->cert_thread_started) {
		pthread_join(sv->cert_thread, NULL);
		sv->cert_thread_started = 0;
	}
}
