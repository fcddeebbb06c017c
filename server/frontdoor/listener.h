/* listener.h — the front door: listening sockets the harness owns (with a
 * backlog of its choosing, not FreeRDP's hard-coded 10), driven by the
 * event loop. Each accepted socket becomes a connection handed to
 * selection. */
#ifndef RDPFAULT_LISTENER_H
#define RDPFAULT_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

#include "catalog/netplan.h"
#include "catalog/schedule.h"

#include <jansson.h>

struct front;
struct served;
struct serving;
struct evconnlistener;
struct udpside;

struct listener {
	char name[64]; /* "HOST:PORT", "[V6]:PORT": the real port, also when 0 was asked */
	char host[48];
	int port;
	int port_chosen;  /* port 0 was asked: the kernel chose it */
	const char *kind; /* "listen", "port-base", "address-base" */
	const struct served *def;
	struct evconnlistener *evl;
	struct front *f;
	int paused;             /* syn-drop: not accepting until a slot frees */
	struct udpside *udp;    /* multitransport: the UDP socket on the same port, or NULL */
	struct net_plan toxics; /* conditions the control API added: new connections get them */
	const struct served *start_def;           /* def at start: the control API's reset */
	struct sched_step sched[SCHED_STEPS_MAX]; /* instead of def when n_sched > 0 */
	size_t n_sched;
	char sched_match[48]; /* only this client address follows the schedule ("": every one) */
	struct sched_counts sched_counts;
	int removed;    /* the control API removed it: closed, not listed, its slot kept */
	char label[48]; /* the API's "name" for it, or "" */
	struct sched_step start_sched[SCHED_STEPS_MAX]; /* --listen's, for the API's reset */
	size_t n_start_sched;
	struct sockaddr_storage addr; /* where it is bound, to bind again */
	socklen_t addrlen;
	int backlog;
};

/* Binds host:port (numeric IPv4 or IPv6; port 0: the kernel chooses) and
 * starts accepting. 0, or -1 with err set. */
int listener_open(struct front *f, struct listener *l, const char *host, int port,
                  const struct served *def, int backlog, char *err, size_t n);
/* The front's scenario_full: pauses or resumes a syn-drop scenario's
 * listeners (at start, prefilling their kernel queues). */
void listener_scenario_full(struct front *f, const struct served *s, int full, int at_start);
void listener_close(struct listener *l);
/* Parses "NAME[*COUNT],NAME[*COUNT],...,NAME" against sv into steps (the
 * last one's count, when none is given, is for good). 0, or -1 with why. */
int sched_parse(const char *text, const struct serving *sv, struct sched_step *steps,
                size_t *n_steps, char *why, size_t n);
/* Sets (n > 0) or clears (n 0) the listener's schedule; its counts restart. */
void listener_set_schedule(struct listener *l, const struct sched_step *steps, size_t n,
                           const char *match);
/* The schedule as JSON ([{scenario, count}], "match"), or null. */
json_t *listener_schedule_json(const struct listener *l);

/* Closes the listening socket (on 0: clients then get an RST on SYN) or
 * binds it again (1). 0, or -1 with err set (the port was taken meanwhile). */
int listener_enable(struct listener *l, int on, char *err, size_t n);
/* Bursts of descriptor exhaustion met so far (the stop event's figure). */
long listener_fd_bursts(void);
/* Frees the exhaustion pause's timer and closes the prefill's own
 * connections (at stop). */
void listener_shutdown(void);

#endif
