/* conn.h — one client connection, from accept to close.
 *
 * A connection is shared by the event-loop thread (front door, selection,
 * relay) and, once a scenario is chosen, one FreeRDP peer thread. Each
 * holds a reference; the last release writes the "close" event, so that
 * event carries both sides' figures. Fields are grouped by the thread that
 * writes them. */
#ifndef RDPFAULT_CONN_H
#define RDPFAULT_CONN_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <jansson.h>

#include "phase.h"
#include "x224.h"

struct served;
struct listener;
struct relay;
struct event;

struct conn {
	uint64_t id;
	atomic_int refs;
	uint64_t t_accept_ms;
	const struct listener *listener;
	char listener_name[64]; /* "127.0.0.1:3389" */
	char client_addr[64];   /* "127.0.0.1:51234" */

	/* Event-loop thread. */
	int client_fd;
	struct x224_request req;
	const struct served *served; /* chosen scenario, NULL before selection */
	const char *selected_by;     /* "cookie" or "listener" */
	struct relay *relay;
	char close_reason[96];       /* first reason the front door or relay saw */
	uint64_t bytes_from_client, bytes_to_client;

	/* Peer thread (read by the last release). */
	int peer_fd;                 /* the FreeRDP end of the socketpair; owned by FreeRDP */
	atomic_uint selected_protocol; /* from the Connection Confirm the relay saw */
	int peer_started;
	char peer_end[128];          /* how the FreeRDP peer ended */

	/* Either thread. */
	atomic_int last_phase;       /* highest enum phase reached */
	atomic_int active;
	atomic_int cut; /* a reset or close ended the client's side: later phases are
	                   the server's alone and are not logged */

	/* Admission (admission.c): the scenario whose slot it holds, and
	 * whether the slot was given back (active or closed). */
	const struct served *counted;
	atomic_int count_done;
	int session_counted; /* counted in its scenario's active sessions */

	/* A fault the peer thread asks the relay to apply (conn_request). */
	pthread_mutex_t req_lock;
	pthread_cond_t req_cond;
	struct event *req_wake;      /* the relay's, NULL once the relay is gone */
	const struct fault_step *req_step;
	int req_done;
};

struct fault_step;

/* From a peer thread: asks the relay to apply `st` now and waits (at most
 * timeout_ms) until it has, so the fault lands exactly where the peer is.
 * Returns 0 when applied, -1 when the relay is gone or did not answer. */
int conn_request(struct conn *c, const struct fault_step *st, int timeout_ms);

/* A new connection with one reference. */
struct conn *conn_new(const struct listener *l, const char *listener_name, int fd,
                      const char *client_addr);
void conn_ref(struct conn *c);
/* Drops a reference; the last one emits "close" and frees. */
void conn_release(struct conn *c);

/* Records the first close reason (later ones are ignored). */
void conn_set_close_reason(struct conn *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Emits a "phase" event and raises last_phase. `detail` (may be NULL) is
 * stolen and merged into the event. */
void conn_phase(struct conn *c, enum phase p, json_t *detail);

/* Live connections (for /metrics and shutdown). */
long conn_live_count(void);
uint64_t conn_total_count(void);

#endif
