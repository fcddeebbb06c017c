/* served.h — what each scenario serves, prepared once at start: its
 * certificate and key (generated, and parsed for every connection's TLS),
 * its NLA account's hash, its compiled faults, the conditions its
 * configuration sets up, and the counters of its limits. The front door
 * and the engine read it; only the counters change after start. */
#ifndef RDPFAULT_SERVED_H
#define RDPFAULT_SERVED_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/phase.h"
#include "catalog/certgen.h"
#include "catalog/faultplan.h"
#include "catalog/netplan.h"
#include "catalog/schedule.h"
#include "catalog/scenario.h"

/* The counters of a scenario's limits (frontdoor/admission.c keeps them). */
struct admission_live {
	atomic_long outstanding; /* counted connections plus prefill */
	atomic_long active_sessions;
	atomic_long admitted, refused[4], freed_by_timeout, session_limited;
	atomic_long held; /* refused by hold, still open */
};

/* A scenario's certificate: made in the background once listening. */
enum cert_state { CERT_PENDING, CERT_MAKING, CERT_READY, CERT_FAILED };

struct serving;

struct served {
	const struct scenario *sc;
	struct serving *sv;   /* the serving it belongs to */
	enum cert_state cert; /* under sv->cert_lock; READY: the fields below are set */
	int cert_wanted;      /* a connection waits for it: made next */
	char *cert_pem;       /* served certificate (PEM) */
	char *key_pem;        /* its private key (PEM) */
	EVP_PKEY *pkey;       /* ... and both parsed, for every connection's TLS */
	X509 *x509;
	unsigned char *pub_der; /* x509's public key, DER (i2d_PublicKey), for FreeRDP's CredSSP */
	int pub_der_len;
	char cert_path[PATH_MAX]; /* copies written for users to inspect */
	char key_path[PATH_MAX];
	char sam_path[PATH_MAX]; /* "" when the scenario has no account */
	uint8_t nt_hash[16];     /* its account's NT hash (MD4 of the UTF-16LE password) */
	int has_nt_hash;
	int port;               /* its own listener's port, 0 when none */
	struct fault_plan plan; /* its faults, compiled */
	struct net_plan net;    /* its network conditions, then --network's */
	/* What the scenario's configuration does wrong, as "fault" events (JSON
	 * text), per phase where it strikes: an expired certificate at
	 * tls-client-hello, a TLS policy, FIPS-only encryption... */
	char *conditions[PH_COUNT];
	struct admission_live adm; /* its limits' counters */
	/* A schedule scenario's steps, and its clients' counts (the front
	 * door's thread): it serves no connection itself. n_sched 0: none. */
	struct sched_step sched[SCHED_STEPS_MAX];
	size_t n_sched;
	struct sched_counts sched_counts;
	struct fault_step session_limit; /* the deny past max_sessions */
	struct fault_step mt_deny;       /* multitransport's fallback deny */
};

/* Every scenario of a catalog, prepared, and what they share. */
struct serving {
	const struct catalog *cat; /* what it serves (outlives it) */
	struct served *items;      /* one per catalog item, same order */
	size_t n;
	EVP_PKEY *shared_key; /* RSA-2048, shared by certificates that ask for no other size */
	X509 *ca_cert;        /* test-CA mode */
	EVP_PKEY *ca_key;
	char ca_cert_path[PATH_MAX];
	struct rdp_key_blob rdp_key; /* RDP Standard Security's key, FreeRDP's layout */
	char runtime_dir[PATH_MAX];
	int runtime_created; /* ours to remove at exit */
	char certs_dir[PATH_MAX];
	/* The certificate maker (served_certs.c): one thread, the shared key
	 * first, then every scenario's certificate, a wanted one first. */
	pthread_mutex_t cert_lock;
	pthread_cond_t cert_cv;
	pthread_t cert_thread;
	int cert_thread_started, cert_stopping;
	enum cert_state shared; /* the shared key and RDP key */
	char cert_error[512];   /* the first failure */
	int cert_delay_ms;      /* $RDPFAULT_TEST_CERT_DELAY_MS: a test's slow maker */
};

struct serving_options {
	const char *runtime_dir; /* NULL: a private temporary one */
	const char *ca_dir;      /* test-CA mode: sign with the CA kept here (made on first use) */
	double time_scale;       /* the faults' own waits times this */
};

/* One served per scenario of `cat` (which must outlive sv), its faults
 * compiled and scaled by time_scale: cheap, so it comes before any work.
 * Returns the number of problems (printed to err). */
int serving_init(struct serving *sv, const struct catalog *cat, double time_scale, FILE *err);
/* The runtime directory, the test CA, account files and hashes: what a
 * listener needs before it opens. 0, or -1 with err set. */
int serving_prepare(struct serving *sv, const struct serving_options *o, char *err, size_t n);
/* ---- served_certs.c: the keys and certificates, the expensive part.
 * background 0: made now (0, or -1 with err set); 1: by a thread of their
 * own, started here (-1 only when it cannot start), so listening starts at
 * once. Certificate dates are relative to now either way. */
int serving_make_certs(struct serving *sv, int background, char *err, size_t n);
/* Waits until what s serves is made (at most timeout_ms, the first of its
 * scenario's waiters asking for it next). 0 ready; -1 with why set: it
 * failed, the wait timed out, or the harness is stopping. *waited_ms: how
 * long it waited. */
int served_wait(const struct served *s, int timeout_ms, long *waited_ms, char *why, size_t n);
/* Stops the maker (after the certificate it is making) and waits for it;
 * waiters return at once. Safe to call twice, or with no maker. */
void serving_stop_certs(struct serving *sv);
/* The same without the wait: for the stop's first moment, so that no peer
 * waits for a certificate while the harness waits for its peers. */
void serving_cancel_certs(struct serving *sv);
const struct served *serving_find(const struct serving *sv, const char *name);
/* Removes the generated keys and certificates when the runtime directory
 * is ours (also on a fast exit path, where nothing else is freed). */
void serving_remove_runtime(struct serving *sv);
void serving_free(struct serving *sv);

const char *served_name(const struct served *s);
/* The scenario a connection from client address `ip` gets: s itself, or
 * when s is a schedule scenario, its step for this client's next
 * connection (counted; *step set, else -1; *counted, when not NULL, the
 * counts it took the step from). */
const struct served *served_pick(struct served *s, const char *ip, int *step,
                                 struct sched_counts **counted);

#endif
