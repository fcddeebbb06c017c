/* listener.c — listening sockets and accept (see listener.h). */
#include "frontdoor/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "frontdoor/admission.h"
#include "engine/conn.h"
#include "base/events.h"
#include "base/netaddr.h"
#include "frontdoor/front.h"
#include "base/log.h"
#include "frontdoor/select.h"
#include "transport/udpside.h"

/* prefill on a syn-drop scenario: the listener is paused from the start,
 * and the kernel's accept queue is filled with connections of the
 * harness's own, so the first real client's SYN already goes unanswered.
 * Their local addresses tell them apart if the listener resumes. */
#define MAX_PHANTOMS 256
static struct {
	int fd;
	const struct listener *l; /* the listener it is queued on */
	struct sockaddr_storage local;
	socklen_t len;
} phantoms[MAX_PHANTOMS];
static int n_phantoms;

static void fill_queue(struct listener *l, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	evutil_socket_t lfd = evconnlistener_get_fd(l->evl);
	if (getsockname(lfd, (struct sockaddr *)&ss, &len) != 0)
		return;
	/* Linux queues backlog + 1 connections before it drops SYNs. */
	for (int i = 0; i <= backlog && n_phantoms < MAX_PHANTOMS; i++) {
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return;
		if (connect(fd, (struct sockaddr *)&ss, len) != 0 && errno != EINPROGRESS) {
			close(fd);
			return;
		}
		phantoms[n_phantoms].fd = fd;
		phantoms[n_phantoms].l = l;
		phantoms[n_phantoms].len = sizeof(phantoms[n_phantoms].local);
		getsockname(fd, (struct sockaddr *)&phantoms[n_phantoms].local,
		            &phantoms[n_phantoms].len);
		n_phantoms++;
	}
	events_emit(0, "admission",
	            json_pack("{s:s, s:s, s:i}", "decision", "queue-filled", "listener", l->name,
	                      "connections", backlog + 1));
}

static int is_phantom(const struct listener *l, const struct sockaddr *peer, unsigned int len)
{
	/* A phantom is known by its own address and the listener it is queued
	 * on: a real client may have the same source port towards another
	 * listener (the 4-tuple differs), and must never be mistaken for one. */
	for (int i = 0; i < n_phantoms; i++)
		if (phantoms[i].l == l && phantoms[i].len == len &&
		    memcmp(&phantoms[i].local, peer, len) == 0)
			return 1;
	return 0;
}

/* A scenario's syn-drop limit: its own listeners stop accepting while it
 * is full, and start again when a slot frees (admission tells). At start
 * a prefill also fills the kernel's queue of each. */
void listener_scenario_full(struct front *f, const struct served *s, int full, int at_start)
{
	const struct sc_admission *a = &s->sc->admission;
	for (size_t i = 0; i < f->n_listeners; i++) {
		struct listener *l = &f->listeners[i];
		if (l->def != s || !l->evl || l->paused == full)
			continue;
		if (full)
			evconnlistener_disable(l->evl);
		else
			evconnlistener_enable(l->evl);
		l->paused = full;
		if (full && at_start && a->prefill >= a->max_outstanding)
			fill_queue(l, a->backlog >= 0 ? a->backlog : 0);
		events_emit(0, "admission",
		            json_pack("{s:s, s:s, s:s, s:I, s:i}", "decision",
		                      full ? "listener-paused" : "listener-resumed", "listener",
		                      l->name, "scenario", served_name(s), "outstanding",
		                      (json_int_t)atomic_load(&s->adm.outstanding),
		                      "max_outstanding", a->max_outstanding));
	}
}

/* Out of descriptors (or kernel memory): accept would fail at once, again
 * and again, for as long as it lasts. The harness says so once per burst,
 * stops accepting on every listener for a while (the kernel keeps the
 * connections queued), tries again with a growing pause, and says when it
 * accepts again. */
#define FD_PAUSE_MIN_MS 50
#define FD_PAUSE_MAX_MS 1000
static struct {
	struct front *f;
	struct event *timer;
	int paused;
	int pause_ms;
	long errors;    /* in this burst */
	uint64_t since; /* the burst's first error */
	long bursts;
} fdx;

static void set_accepting(struct front *f, int on)
{
	for (size_t i = 0; i < f->n_listeners; i++) {
		struct listener *l = &f->listeners[i];
		if (!l->evl || l->paused) /* admission's syn-drop pause is its own */
			continue;
		if (on)
			evconnlistener_enable(l->evl);
		else
			evconnlistener_disable(l->evl);
	}
}

static void on_fd_pause_over(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	fdx.paused = 0;
	if (!fdx.f->stopping)
		set_accepting(fdx.f, 1); /* a probe: the next accept tells */
}

static void fd_exhausted(struct listener *l, int err)
{
	fdx.f = l->f;
	fdx.errors++;
	if (fdx.errors == 1) {
		fdx.since = events_now_ms();
		fdx.pause_ms = FD_PAUSE_MIN_MS;
		fdx.bursts++;
		log_warn("accept on %s failed: %s; pausing accepts", l->name,
		         evutil_socket_error_to_string(err));
		events_emit(0, "accept-error",
		            json_pack("{s:s, s:s, s:s, s:i}", "listener", l->name, "error",
		                      evutil_socket_error_to_string(err), "action", "paused",
		                      "pause_ms", fdx.pause_ms));
	} else {
		fdx.pause_ms =
		        fdx.pause_ms * 2 > FD_PAUSE_MAX_MS ? FD_PAUSE_MAX_MS : fdx.pause_ms * 2;
	}
	if (fdx.paused)
		return;
	fdx.paused = 1;
	set_accepting(l->f, 0);
	if (!fdx.timer)
		fdx.timer = evtimer_new(l->f->base, on_fd_pause_over, NULL);
	struct timeval tv = {fdx.pause_ms / 1000, (fdx.pause_ms % 1000) * 1000};
	evtimer_add(fdx.timer, &tv);
}

/* An accept went through: a burst of exhaustion, if any, is over. */
static void fd_accepted(void)
{
	if (!fdx.errors)
		return;
	events_emit(0, "accept-resumed",
	            json_pack("{s:I, s:I}", "errors", (json_int_t)fdx.errors, "paused_ms",
	                      (json_int_t)(events_now_ms() - fdx.since)));
	log_info("accepting again after %ld failed accepts", fdx.errors);
	fdx.errors = 0;
}

long listener_fd_bursts(void)
{
	return fdx.bursts;
}

void listener_shutdown(void)
{
	for (int i = 0; i < n_phantoms; i++)
		close(phantoms[i].fd);
	n_phantoms = 0;
	if (fdx.timer)
		event_free(fdx.timer);
	fdx.timer = NULL;
	fdx.paused = 0;
	fdx.errors = 0;
}

int sched_parse(const char *text, const struct serving *sv, struct sched_step *steps,
                size_t *n_steps, char *why, size_t n)
{
	char buf[1024];
	if (strlen(text) >= sizeof buf) {
		snprintf(why, n, "too long");
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", text);
	size_t k = 0;
	for (char *p = buf, *item; (item = strsep(&p, ","));) {
		if (k == SCHED_STEPS_MAX) {
			snprintf(why, n, "at most %d steps", SCHED_STEPS_MAX);
			return -1;
		}
		char *star = strchr(item, '*');
		long count = -1;
		if (star) {
			*star = '\0';
			char *end;
			count = strtol(star + 1, &end, 10);
			if (!star[1] || *end || count < 1 || count > 1000000) {
				snprintf(why, n, "'%s*%s': the count is 1-1000000", item, star + 1);
				return -1;
			}
		} else if (p) {
			count = 1; /* NAME alone before the last step: once */
		}
		const struct served *s = serving_find(sv, item);
		if (!s) {
			snprintf(why, n, "'%s': no such scenario (see 'rdpfault list')", item);
			return -1;
		}
		if (s->n_sched) {
			snprintf(why, n, "'%s' is a schedule itself (a step serves one scenario)",
			         item);
			return -1;
		}
		steps[k].s = s;
		steps[k].count = count;
		k++;
	}
	*n_steps = k;
	return 0;
}

void listener_set_schedule(struct listener *l, const struct sched_step *steps, size_t n,
                           const char *match)
{
	memcpy(l->sched, steps, n * sizeof(*steps));
	l->n_sched = n;
	snprintf(l->sched_match, sizeof l->sched_match, "%s", match ? match : "");
	sched_counts_free(&l->sched_counts);
}

json_t *listener_schedule_json(const struct listener *l)
{
	if (!l->n_sched)
		return json_null();
	json_t *steps = json_array();
	for (size_t i = 0; i < l->n_sched; i++) {
		json_t *o = json_pack("{s:s}", "scenario", served_name(l->sched[i].s));
		if (l->sched[i].count >= 0)
			json_object_set_new(o, "count", json_integer(l->sched[i].count));
		json_array_append_new(steps, o);
	}
	json_t *o = json_pack("{s:o}", "steps", steps);
	if (l->sched_match[0])
		json_object_set_new(o, "match", json_pack("{s:s}", "client", l->sched_match));
	return o;
}

/* The scenario this client's next connection gets: the listener's
 * schedule's step, or the listener's own; and when that is a schedule
 * scenario, its step (served_pick). *step: the step (-1: no schedule),
 * *sched_of: the schedule scenario that chose (NULL: none). */
static const struct served *scheduled(struct listener *l, const char *client, int *step,
                                      const struct served **sched_of,
                                      struct sched_counts *counted[2])
{
	char ip[64];
	sched_client_ip(client, ip, sizeof ip);
	const struct served *s = l->def;
	*step = -1;
	*sched_of = NULL;
	if (l->n_sched && (!l->sched_match[0] || !strcmp(ip, l->sched_match))) {
		size_t i = sched_next(l->sched, l->n_sched, &l->sched_counts, ip);
		*step = (int)i;
		counted[0] = &l->sched_counts;
		s = l->sched[i].s;
	}
	if (s && s->n_sched) { /* the front door's thread owns the counts */
		*sched_of = s;
		s = served_pick((struct served *)s, ip, step, &counted[1]);
	}
	return s;
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct listener *l = arg;
	char client[64];
	(void)evl;

	fd_accepted();
	if (is_phantom(l, sa, (unsigned int)len)) {
		evutil_closesocket(fd); /* the harness's own queue filler (syn-drop prefill) */
		return;
	}
	addr_text(sa, client, sizeof(client));
	int step;
	const struct served *sched_of;
	struct sched_counts *counted[2] = {NULL, NULL};
	const struct served *def = scheduled(l, client, &step, &sched_of, counted);
	struct conn *c = conn_new(def, l->name, fd, client);
	if (c) {
		c->listener_net = &l->toxics;
		c->sched_step = step;
		c->sched_of = sched_of;
		c->sched_counted[0] = counted[0];
		c->sched_counted[1] = counted[1];
	}
	if (!c) {
		log_error("out of memory accepting a connection on %s", l->name);
		evutil_closesocket(fd);
		return;
	}
	json_t *acc = json_pack("{s:s, s:s, s:s}", "listener", l->name, "client", client,
	                        "listener_scenario", served_name(def));
	if (step >= 0)
		json_object_set_new(acc, "schedule_step", json_integer(step));
	if (sched_of)
		json_object_set_new(acc, "schedule", json_string(served_name(sched_of)));
	events_emit(c->id, "accept", acc);
	conn_phase(c, PH_TCP_ACCEPT, NULL);
	if (admission_admit(def, c, "tcp-accept")) {
		const char *reason;
		const struct fault_step *cut = admission_refusal_cut(def, &reason);
		if (cut)
			select_begin_cut(l->f, c, cut, reason);
		else
			admission_refuse(def, c);
		return;
	}
	select_begin(l->f, c);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	(void)evl;
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		fd_exhausted(l, err);
		return;
	}
	/* Anything else (a client gone before its accept): say so and go on. */
	log_warn("accept on %s failed: %s", l->name, evutil_socket_error_to_string(err));
	events_emit(0, "accept-error",
	            json_pack("{s:s, s:s, s:s}", "listener", l->name, "error",
	                      evutil_socket_error_to_string(err), "action", "continued"));
}

int listener_open(struct front *f, struct listener *l, const char *host, int port,
                  const struct served *def, int backlog, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	if (addr_parse(host, port, &ss, &sslen) != 0) {
		snprintf(err, n, "invalid IP address '%s'", host);
		return -1;
	}
	int v6 = ss.ss_family == AF_INET6;
	snprintf(l->host, sizeof(l->host), "%s", host);
	l->port = port;
	l->port_chosen = port == 0;
	snprintf(l->name, sizeof(l->name), v6 ? "[%s]:%d" : "%s:%d", host, port);
	l->f = f;
	l->def = def;
	/* libevent reads a backlog of 0 as "already listening": ask for 1,
	 * then set 0 (a queue of one on Linux) with a second listen(). */
	errno = 0;
	l->evl = evconnlistener_new_bind(
	        f->base, on_accept, l,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	        backlog > 0 ? backlog : 1, (struct sockaddr *)&ss, (int)sslen);
	if (!l->evl) {
		snprintf(err, n, "cannot listen on %s: %s", l->name,
		         errno ? strerror(errno) : "the event library refused the socket");
		return -1;
	}
	if (backlog == 0 && listen(evconnlistener_get_fd(l->evl), 0) != 0) {
		snprintf(err, n, "cannot listen on %s with backlog 0: %s", l->name,
		         strerror(errno));
		evconnlistener_free(l->evl);
		l->evl = NULL;
		return -1;
	}
	if (port == 0) {
		/* The kernel's choice, for the name, the UDP side and the logs. */
		socklen_t len = sslen;
		if (getsockname(evconnlistener_get_fd(l->evl), (struct sockaddr *)&ss, &len) != 0) {
			snprintf(err, n, "cannot learn the port of %s: %s", l->name,
			         strerror(errno));
			evconnlistener_free(l->evl);
			l->evl = NULL;
			return -1;
		}
		l->port = ntohs(v6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
		                   : ((struct sockaddr_in *)&ss)->sin_port);
		snprintf(l->name, sizeof(l->name), v6 ? "[%s]:%d" : "%s:%d", host, l->port);
	}
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	memcpy(&l->addr, &ss, sizeof ss);
	l->addrlen = sslen;
	l->backlog = backlog;
	l->start_def = def;
	if (!addr_is_loopback((struct sockaddr *)&ss))
		log_warn("listening on %s, beyond loopback: rdpfault serves broken RDP on purpose "
		         "and "
		         "must never face an untrusted network (bind 127.0.0.1, or a test network "
		         "of your own)",
		         l->name);
	if (udpside_open(f->base, &l->udp, (struct sockaddr *)&ss, sslen, l->name, def, err, n) !=
	    0) {
		evconnlistener_free(l->evl);
		l->evl = NULL;
		return -1;
	}
	return 0;
}

int listener_enable(struct listener *l, int on, char *err, size_t n)
{
	if (!on) {
		if (l->evl)
			evconnlistener_free(l->evl); /* the port is closed: a SYN gets an RST */
		l->evl = NULL;
		return 0;
	}
	if (l->evl)
		return 0;
	l->evl = evconnlistener_new_bind(
	        l->f->base, on_accept, l,
	        LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE | LEV_OPT_CLOSE_ON_EXEC,
	        l->backlog > 0 ? l->backlog : 1, (struct sockaddr *)&l->addr, (int)l->addrlen);
	if (!l->evl) {
		snprintf(err, n, "cannot listen on %s again: %s", l->name, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	if (l->paused)
		evconnlistener_disable(l->evl); /* admission's syn-drop pause goes on */
	return 0;
}

void listener_close(struct listener *l)
{
	if (l->evl)
		evconnlistener_free(l->evl);
	l->evl = NULL;
	udpside_close(l->udp);
	l->udp = NULL;
}
