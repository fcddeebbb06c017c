/* harness.h — the running harness: the catalog, what each scenario serves
 * (certificate, key, NLA accounts), the listeners and the event loop.
 *
 * harness_prepare() does every expensive thing once, at start: it loads
 * and validates the catalog, generates the keys and certificates, writes
 * the SAM files and parses the RDP Standard Security key. Per connection
 * only copies are handed to FreeRDP. */
#ifndef RDPFAULT_HARNESS_H
#define RDPFAULT_HARNESS_H

#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "admission.h"
#include "certgen.h"
#include "faultplan.h"
#include "scenario.h"

struct event_base;
struct evconnlistener;
struct event;

/* What one scenario serves, prepared at start. */
struct served {
	const struct scenario *sc;
	char *cert_pem;          /* served certificate (PEM) */
	char *key_pem;           /* its private key (PEM) */
	EVP_PKEY *pkey;          /* ... and both parsed, for every connection's TLS */
	X509 *x509;
	char cert_path[PATH_MAX]; /* copies written for users to inspect */
	char key_path[PATH_MAX];
	char sam_path[PATH_MAX]; /* "" when the scenario has no account */
	uint8_t nt_hash[16];     /* its account's NT hash (MD4 of the UTF-16LE password) */
	int has_nt_hash;
	int port;                /* its own listener's port, 0 when none */
	struct fault_plan plan;  /* its faults, compiled */
	/* What the scenario's configuration does wrong, as "fault" events (JSON
	 * text), per phase where it strikes: an expired certificate at
	 * tls-client-hello, a TLS policy, FIPS-only encryption... */
	char *conditions[PH_COUNT];
	struct admission_live adm; /* its limits' counters (admission.c) */
	struct fault_step session_limit; /* the deny past max_sessions */
	struct fault_step mt_deny;       /* multitransport's fallback deny */
};

const char *served_name(const struct served *s);

struct listen_spec {
	char *host;      /* numeric address */
	int port;
	char *scenario;  /* default scenario name, NULL for the harness default */
};

struct harness_options {
	const char *scenarios_dir;
	struct listen_spec *listens;
	size_t n_listens;
	int port_base;            /* -1: no per-scenario listeners */
	const char *port_base_host;
	const char *default_scenario;
	const char *events_path;  /* NULL: none */
	const char *runtime_dir;  /* NULL: a private temporary one */
	const char *ca_dir;       /* test-CA mode: sign certificates with the CA kept here */
	struct sc_override *sets; /* --set NAME.PATH=VALUE */
	size_t n_sets;
	int handshake_timeout_ms; /* pre-active deadline per connection */
	int backlog;
	double time_scale;        /* the server's own waits (faults' after_ms and
	                             duration_ms, the deadline) times this; 1 */
	const char *address_base; /* IPv4: one listener per scenario on ADDR+offset:3389 */
	const char *ready_file;   /* written once listening, removed at exit; NULL: none */
	int keepalive_idle_s;     /* TCP keep-alive on accepted sockets; 0: off */
	int keepalive_interval_s;
	int keepalive_count;
};

struct listener {
	char name[64];
	const struct served *def;
	struct evconnlistener *evl;
	struct harness *h;
	int paused; /* syn-drop: not accepting until a slot frees */
	struct udpside *udp; /* multitransport: the UDP socket on the same port, or NULL */
};

struct harness {
	struct harness_options opt;
	struct catalog catalog;
	struct served *served; /* one per catalog item, same order */
	const struct served *default_served;
	struct listener *listeners;
	size_t n_listeners;
	struct event_base *base;
	struct event *sig_int, *sig_term;
	struct event *trim; /* gives freed memory back once no connection is live */
	char runtime_dir[PATH_MAX];
	int runtime_created;
	EVP_PKEY *shared_key; /* RSA-2048, shared by certificates that ask for no other size */
	X509 *ca_cert;        /* test-CA mode */
	EVP_PKEY *ca_key;
	char ca_cert_path[PATH_MAX];
	struct rdp_key_blob rdp_key;
	int stopping;
	volatile sig_atomic_t forced; /* a second signal: stop waiting */
	long peers_left;              /* peer threads still inside FreeRDP at exit */
	int exit_code;                /* of harness_run */
};

/* The one harness of this process (FreeRDP callbacks reach it from here). */
extern struct harness *the_harness;

/* Loads the catalog and prepares every scenario. 0, or -1 with err set.
 * Returns -2 when the catalog is invalid (problems already printed), -3
 * when an option names no scenario of the catalog. */
int harness_prepare(struct harness *h, const struct harness_options *opt, char *err, size_t n);
/* Opens every listener. 0, or -1 with err set (-3: an unknown scenario). */
int harness_listen(struct harness *h, char *err, size_t n);
/* Runs until SIGINT/SIGTERM; returns the exit status (0; 1 when the ready
 * file could not be written). h->peers_left says whether peer threads are
 * still inside FreeRDP (then nothing they use may be freed). */
int harness_run(struct harness *h);
/* Fails early when --ready-file cannot be written (the file is made and
 * removed). 0, or -1 with err set. */
int harness_check_ready_file(const char *path, char *err, size_t n);
void harness_free(struct harness *h);
/* Removes the generated keys and certificates when the runtime directory
 * is ours (also on the fast exit path, where nothing else is freed). */
void harness_remove_runtime(struct harness *h);

const struct served *harness_find(const struct harness *h, const char *name);

#endif
