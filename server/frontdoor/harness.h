/* harness.h — the running harness: the catalog, what each scenario serves,
 * the front door (listeners, admission, selection) and the event loop.
 *
 * harness_prepare() does every expensive thing once, at start (through
 * catalog/served.c); per connection only copies are handed to FreeRDP. */
#ifndef RDPFAULT_HARNESS_H
#define RDPFAULT_HARNESS_H

#include <signal.h>

#include "catalog/scenario.h"
#include "catalog/served.h"
#include "frontdoor/front.h"
#include "frontdoor/options.h"

struct event;

struct harness {
	struct harness_options opt; /* the deadline already scaled */
	struct catalog catalog;
	struct serving serving; /* one served per catalog item, same order */
	const struct served *default_served;
	struct front front;
	struct event *sig_int, *sig_term, *sig_hup;
	struct event *trim;           /* gives freed memory back once no connection is live */
	volatile sig_atomic_t forced; /* a second signal: stop waiting */
	long peers_left;              /* peer threads still inside FreeRDP at exit */
	int exit_code;                /* of harness_run */
	const char *stopped_by; /* "SIGTERM", "SIGHUP", "the ready file"...: the stop event's */
	char api_address[80];   /* the control API's ADDR:PORT, "" when off: the start event's */
};

/* Loads the catalog and prepares every scenario. 0, or -1 with err set.
 * Returns -2 when the catalog is invalid (problems already printed), -3
 * when an option names no scenario of the catalog or does not fit it. */
int harness_prepare(struct harness *h, const struct harness_options *opt, char *err, size_t n);
/* Opens every listener. 0, or -1 with err set (-3: an unknown scenario). */
int harness_listen(struct harness *h, char *err, size_t n);
/* Runs until SIGINT, SIGTERM or SIGHUP; returns the exit status (0; 1 when
 * the ready or ports file could not be written). h->peers_left says whether
 * peer threads are still inside FreeRDP (then nothing they use may be
 * freed). */
int harness_run(struct harness *h);
/* Fails early when a file the harness will write (--ready-file,
 * --ports-file: `option`) cannot be (it is made and removed). 0, or -1
 * with err set. */
int harness_check_file(const char *option, const char *path, char *err, size_t n);
/* Removes what the harness made on disk: the ready and ports files, the
 * generated keys and certificates (also on a fast exit path, where
 * nothing else is freed). */
void harness_remove_files(struct harness *h);
void harness_free(struct harness *h);

/* A listener opened while serving (the control API's), kind "api": one of
 * HARNESS_API_LISTENERS slots kept free at start (a removed one's slot is
 * not reused: connections may still point at it). NULL with err set. */
#define HARNESS_API_LISTENERS 64
struct listener *harness_add_listener(struct harness *h, const char *host, int port,
                                      const struct served *def, char *err, size_t n);

/* Every listener as the start event lists it (JSON array). */
json_t *harness_listeners_json(const struct harness *h);

#endif
