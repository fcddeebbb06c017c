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
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <jansson.h>

#include "base/phase.h"
#include "wire/x224.h"

struct served;
struct sched_counts;
struct relay;
struct event;
struct fault_step;
struct net_plan;

/* What a peer thread tells the relay. Positions are offsets in the
 * server's stream (bytes FreeRDP wrote into the socketpair), which the
 * peer counts as it writes and the relay as it reads: the same bytes. */
enum conn_msg_kind {
	CM_STRIKE, /* apply `step` when the server's stream reaches `at` */
	CM_FLIGHT, /* the server's first TLS flight ends at `at` */
	CM_FINAL,  /* the server's last bytes (its close_notify) end at `at` */
};
struct conn_msg {
	enum conn_msg_kind kind;
	const struct fault_step *step;
	uint64_t at;
	int ok; /* CM_FINAL: the close_notify was written */
};
#define CONN_MSGS 8

struct conn {
	LIST_ENTRY(conn) link; /* in conn.c's list of live connections */
	int close_written;     /* its close event is out (a stop wrote it) */
	uint64_t id;
	atomic_int refs;
	uint64_t t_accept_ms;
	const struct served *listener_def; /* the scenario of the listener that accepted it */
	char listener_name[64];            /* "127.0.0.1:3389" */
	char client_addr[64];              /* "127.0.0.1:51234" */

	/* Event-loop thread. */
	int client_fd;
	struct x224_request req;
	const struct served *served; /* chosen scenario, NULL before selection */
	const char *selected_by;     /* "cookie" or "listener" */
	struct relay *relay;
	char close_reason[96]; /* first reason the front door or relay saw */
	uint64_t bytes_from_client, bytes_to_client;
	json_t *network; /* the network conditions' totals, for the close event (or NULL) */
	const struct net_plan *listener_net; /* its listener's conditions (the API's), or NULL */
	int sched_step; /* a schedule gave listener_def (or served): its step; -1 none */
	const struct served *sched_of; /* the schedule scenario that chose, or NULL */
	/* The counts the accept's choice took a step from (a listener's
	 * schedule, a schedule scenario's): given back when the request's
	 * cookie chooses another scenario, so that connection is not a step. */
	struct sched_counts *sched_counted[2];

	/* Peer thread (read by the last release). */
	int peer_fd;                   /* the FreeRDP end of the socketpair; owned by FreeRDP */
	atomic_uint selected_protocol; /* from the Connection Confirm the relay saw */
	int peer_started;
	char peer_end[128]; /* how the FreeRDP peer ended */

	/* Either thread. */
	atomic_int last_phase; /* highest enum phase reached */
	/* Where each phase began in each stream: [0] the client's bytes, [1]
	 * the server's (offsets the relay counts in); CONN_OFF_UNKNOWN where
	 * the one who saw the phase could not say. Written before last_phase
	 * rises, so a reader of last_phase finds them. */
	_Atomic uint64_t phase_off[2][PH_COUNT];
	atomic_int active;
	atomic_int cut; /* a reset or close ended the client's side: later phases are
	                   the server's alone and are not logged */
	/* The server completed its TLS handshake: a close can say close_notify. */
	atomic_int tls_up;
	/* FreeRDP read the client's goodbye, its MCS Disconnect Provider
	 * Ultimatum or its TLS close_notify: the end is the client's. */
	atomic_int client_bye;
	/* The last PDU FreeRDP read of the client's and wrote of its own (static
	 * names, see pduinfo.h), for the fault events. */
	_Atomic(const char *) last_pdu_read;
	_Atomic(const char *) last_pdu_written;

	int deadline_ms; /* the pre-logon deadline (the front door's, for its scenario) */

	/* Admission (frontdoor/admission.c): the scenario whose slot it holds,
	 * and whether the slot was given back (active or closed). */
	const struct served *counted;
	atomic_int count_done;
	int session_counted; /* counted in its scenario's active sessions */

	/* The peer thread's messages to the relay (conn_tell), and the relay's
	 * one request to the peer (a TLS close_notify before the FIN). */
	pthread_mutex_t req_lock;
	struct event *req_wake; /* the relay's, NULL once the relay is gone */
	struct conn_msg msgs[CONN_MSGS];
	int n_msgs;
	void (*kick)(struct conn *); /* wakes the peer thread; NULL once it is gone */
	void *kick_arg;
	atomic_int want_close_notify;
	atomic_int relay_gone;
};

/* What the front door's admission learns of every connection's life,
 * installed once (the engine includes nothing above it). */
struct conn_hooks {
	void (*active)(struct conn *c); /* became active (a peer thread) */
	void (*closed)(struct conn *c); /* its last reference went (any thread) */
	/* Past its scenario's session limit? (a peer thread, at licensing) */
	int (*session_limited)(const struct served *s, struct conn *c);
};
void conn_set_hooks(const struct conn_hooks *hooks);
/* The session limit's verdict for c (0 without hooks). */
int conn_session_limited(struct conn *c);

/* From a peer thread: hands the relay a message and returns at once (the
 * relay acts on its own thread). 0, or -1 when the relay is gone or its
 * mailbox is full. */
int conn_tell(struct conn *c, enum conn_msg_kind kind, const struct fault_step *step, uint64_t at,
              int ok);
/* From the relay: takes the next message (1), or 0 when none. */
int conn_take(struct conn *c, struct conn_msg *out);
/* From the relay: asks the peer thread for a TLS close_notify (want = 1),
 * or just wakes it (want = 0: the relay struck, or is gone). */
void conn_kick_peer(struct conn *c, int want_close_notify);

/* A new connection with one reference. */
struct conn *conn_new(const struct served *listener_def, const char *listener_name, int fd,
                      const char *client_addr);
void conn_ref(struct conn *c);
/* Drops a reference; the last one emits "close" and frees. */
void conn_release(struct conn *c);

/* The close reason for a socket error of the client's: client-reset,
 * client-gone (keep-alive or an unacknowledged write timed out: the link
 * died), client-closed, else "client-error: TEXT" written into buf. */
const char *conn_error_reason(int err, char *buf, size_t n);
/* Records the first close reason (later ones are ignored). */
void conn_set_close_reason(struct conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

#define CONN_OFF_UNKNOWN UINT64_MAX

/* Emits a "phase" event and raises last_phase. `detail` (may be NULL) is
 * stolen and merged into the event. The phase began at offset up_off of
 * the client's stream and down_off of the server's (CONN_OFF_UNKNOWN:
 * where the relay notices it): a network condition triggered by it starts
 * there exactly, whenever the relay learns of it. */
void conn_phase_at(struct conn *c, enum phase p, json_t *detail, uint64_t up_off,
                   uint64_t down_off);
/* The same, where neither offset is known. */
void conn_phase(struct conn *c, enum phase p, json_t *detail);
/* Where phase p began in the client's (up) or the server's stream. */
uint64_t conn_phase_off(struct conn *c, int up, enum phase p);

/* At a stop, once the peers had their time: writes the close event of
 * every connection still live (a peer thread still inside FreeRDP), so the
 * log accounts for each; their later release writes no second one.
 * Returns how many. */
long conn_close_all_live(const char *reason);
/* Every live connection, oldest first: {id, listener, client, scenario,
 * phase, bytes_from_client, bytes_to_client, age_ms} (the control API's
 * GET /connections). Event-loop thread (the byte counts are its own). */
json_t *conn_live_json(void);
/* Live connections (for /metrics and shutdown). */
long conn_live_count(void);
uint64_t conn_total_count(void);

#endif
