/* harness.c — start-up, listeners, event loop and orderly stop (see
 * harness.h).
 *
 * Stopping (SIGINT/SIGTERM): listeners close first, so no connection
 * starts; connections still waiting for their request and every relay are
 * closed, which ends each FreeRDP peer with end-of-file; the peers get a
 * bounded wait; then the event log is flushed. The whole stop takes well
 * under a second. */
#include "frontdoor/harness.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <jansson.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "engine/conn.h"
#include "engine/peer.h"
#include "engine/relay.h"
#include "freerdp/bulkpool.h"
#include "frontdoor/admission.h"
#include "frontdoor/listener.h"
#include "frontdoor/select.h"

#define STOP_WAIT_MS 700

int harness_prepare(struct harness *h, const struct harness_options *opt, char *err, size_t n)
{
	memset(h, 0, sizeof(*h));
	h->opt = *opt;
	h->opt.handshake_timeout_ms =
	        scaled_deadline_ms(opt->handshake_timeout_ms, opt->time_scale);
	int problems = catalog_load_dir_with(opt->scenarios_dir, opt->sets, opt->n_sets,
	                                     &h->catalog, stderr);
	if (problems && problems == h->catalog.set_problems) {
		snprintf(err, n, "%d --set problem%s (see above)", problems,
		         problems == 1 ? "" : "s");
		return -2;
	}
	h->catalog.set_problems = 0;
	if (!problems) {
		/* The faults and conditions, whose problems may be a --set's too. */
		int set = 0;
		problems = catalog_check_faults(&h->catalog, stderr, &set) +
		           catalog_check_network(&h->catalog, stderr, &set) +
		           catalog_check_schedules(&h->catalog, stderr, &set);
		if (problems && problems == set) {
			h->catalog.set_problems = set;
			snprintf(err, n, "%d --set problem%s (see above)", problems,
			         problems == 1 ? "" : "s");
			return -2;
		}
	}
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
	if (opt->port_base > 0 && opt->port_base + max_offset > 65535) {
		snprintf(
		        err, n,
		        "--port-base %d: the catalog's port offsets reach %d, so the last scenario "
		        "would need port %d (the base can be at most %d)",
		        opt->port_base, max_offset, opt->port_base + max_offset,
		        65535 - max_offset);
		return -3;
	}
	if (opt->address_base) {
		struct in_addr a;
		inet_pton(AF_INET, opt->address_base, &a);
		if ((uint64_t)ntohl(a.s_addr) + (uint64_t)max_offset > 0xFFFFFFFFu) {
			snprintf(err, n,
			         "--address-base %s: the catalog's offsets reach %d, past the last "
			         "IPv4 address",
			         opt->address_base, max_offset);
			return -3;
		}
	}
	problems = serving_init(&h->serving, &h->catalog, opt->time_scale, stderr);
	if (problems) {
		snprintf(err, n, "%d problem%s in the scenario catalog %s", problems,
		         problems == 1 ? "" : "s", opt->scenarios_dir);
		return -2;
	}
	/* --network: after each scenario's own conditions. */
	for (size_t i = 0; i < h->serving.n; i++)
		if (net_plan_append(&h->serving.items[i].net, opt->network, opt->n_network) < 0) {
			snprintf(err, n, "out of memory");
			return -1;
		}
	relay_net_seed(opt->seed, opt->network_queue);
	h->default_served = serving_find(&h->serving, opt->default_scenario);
	if (!h->default_served) {
		snprintf(err, n, "--default %s: no such scenario (see 'rdpfault list')",
		         opt->default_scenario);
		return -3;
	}
	struct serving_options so = {.runtime_dir = opt->runtime_dir,
	                             .ca_dir = opt->ca_dir,
	                             .time_scale = opt->time_scale};
	return serving_prepare(&h->serving, &so, err, n);
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

/* Returns the listener's real port (the kernel's choice for port 0), or
 * -1 with err set. */
static int open_one(struct harness *h, const char *kind, const char *host, int port,
                    const struct served *def, char *err, size_t n)
{
	struct front *f = &h->front;
	struct listener *l = &f->listeners[f->n_listeners];
	if (listener_open(f, l, host, port, def, backlog_of(h, def), err, n) != 0)
		return -1;
	l->kind = kind;
	f->n_listeners++;
	return l->port;
}

int harness_listen(struct harness *h, char *err, size_t n)
{
	const struct harness_options *o = &h->opt;
	struct front *f = &h->front;
	size_t total = o->n_listens + (o->port_base >= 0 ? h->serving.n : 0) +
	               (o->address_base ? h->serving.n : 0);

	/* Peer threads wake the relay with event_active(). */
	evthread_use_pthreads();
	/* A precise monotonic clock (and timerfd) for the loop's timers: with
	 * libevent's default coarse clock (jiffies, 4 ms here) a network
	 * condition's delay would be late by up to 4 ms. */
	struct event_config *cfg = event_config_new();
	if (cfg)
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	f->base = cfg ? event_base_new_with_config(cfg) : NULL;
	if (cfg)
		event_config_free(cfg);
	if (!f->base) {
		snprintf(err, n, "cannot create the event loop");
		return -1;
	}
	f->engine = (struct engine){
	        .base = f->base, .time_scale = o->time_scale, .rdp_key = &h->serving.rdp_key};
	f->opt = &h->opt;
	f->serving = &h->serving;
	f->scenario_full = listener_scenario_full;
	/* Room for the control API's own listeners: the array never moves. */
	f->cap_listeners = total + HARNESS_API_LISTENERS;
	f->listeners = calloc(f->cap_listeners, sizeof(*f->listeners));
	if (!f->listeners) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < o->n_listens; i++) {
		const struct listen_spec *ls = &o->listens[i];
		const struct served *def = h->default_served;
		struct sched_step steps[SCHED_STEPS_MAX];
		size_t n_steps = 0;
		char why[256];
		if (ls->scenario && (strchr(ls->scenario, ',') || strchr(ls->scenario, '*'))) {
			/* A schedule: NAME*COUNT,...,NAME. */
			if (sched_parse(ls->scenario, &h->serving, steps, &n_steps, why,
			                sizeof why) < 0) {
				snprintf(err, n, "--listen %s:%d=%s: %s", ls->host, ls->port,
				         ls->scenario, why);
				return -3;
			}
			def = steps[n_steps - 1].s;
		} else if (ls->scenario && !(def = serving_find(&h->serving, ls->scenario))) {
			snprintf(err, n,
			         "--listen %s:%d=%s: no such scenario (see 'rdpfault list')",
			         ls->host, ls->port, ls->scenario);
			return -3;
		}
		if (open_one(h, "listen", ls->host, ls->port, def, err, n) < 0)
			return -1;
		if (n_steps) {
			struct listener *l = &f->listeners[f->n_listeners - 1];
			listener_set_schedule(l, steps, n_steps, NULL);
			memcpy(l->start_sched, steps, sizeof steps);
			l->n_start_sched = n_steps;
		}
	}
	if (o->port_base >= 0) {
		for (size_t i = 0; i < h->serving.n; i++) {
			struct served *s = &h->serving.items[i];
			/* --port-base 0: every scenario on a port the kernel chooses. */
			int want = o->port_base ? o->port_base + s->sc->port_offset : 0;
			if ((s->port = open_one(h, "port-base", o->port_base_host, want, s, err,
			                        n)) < 0)
				return -1;
		}
	}
	if (o->address_base) {
		struct in_addr base;
		inet_pton(AF_INET, o->address_base, &base);
		for (size_t i = 0; i < h->serving.n; i++) {
			struct served *s = &h->serving.items[i];
			uint32_t a = ntohl(base.s_addr) + (uint32_t)s->sc->port_offset;
			struct in_addr ia = {.s_addr = htonl(a)};
			char host[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &ia, host, sizeof(host));
			if (open_one(h, "address-base", host, 3389, s, err, n) < 0)
				return -1;
		}
	}
	if (admission_init(f) != 0) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	return 0;
}

static void stop(struct harness *h, const char *why)
{
	struct front *f = &h->front;
	if (f->stopping)
		return;
	f->stopping = 1;
	h->stopped_by = why;
	log_info("%s: stopping", why);
	for (size_t i = 0; i < f->n_listeners; i++)
		listener_close(&f->listeners[i]);
	if (h->trim)
		event_del(h->trim);
	serving_cancel_certs(&h->serving);
	select_abort_all();
	admission_close_held();
	relay_abort_all("shutdown");
	event_base_loopexit(f->base, NULL);
}

/* Memory back after a burst: the ended peer threads' stacks are joined,
 * and glibc keeps what peer threads freed in their arenas; once no
 * connection is live, give it back to the system. */
#define TRIM_EVERY_MS 2000
static void on_trim(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t trimmed_at_total;
	(void)fd;
	(void)what;
	(void)arg;
	peer_reap();
	uint64_t total = conn_total_count();
	if (conn_live_count() == 0 && total != trimmed_at_total) {
		trimmed_at_total = total;
		malloc_trim(0);
	}
}

static struct harness *stopping_harness;

/* A second SIGINT, SIGTERM or SIGHUP during the stop: no more waiting for
 * peers. */
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
	sigaction(SIGHUP, &sa, NULL);
	stop(h, sig == SIGINT ? "SIGINT" : sig == SIGHUP ? "SIGHUP" : "SIGTERM");
}

/* The readiness and ports files: written whole (a temporary file renamed),
 * so a health check never sees half of one. 0, or -1 with errno set. */
static int write_whole(const char *path, const char *text)
{
	char tmp[PATH_MAX];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -1;
	int ok = fputs(text, f) >= 0;
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

int harness_check_file(const char *option, const char *path, char *err, size_t n)
{
	if (write_whole(path, "") != 0) {
		snprintf(err, n, "%s %s: cannot write it: %s", option, path, strerror(errno));
		return -1;
	}
	unlink(path);
	return 0;
}

static json_t *listeners_json(const struct front *f)
{
	json_t *ls = json_array();
	for (size_t i = 0; i < f->n_listeners; i++) {
		const struct listener *l = &f->listeners[i];
		json_array_append_new(
		        ls, json_pack("{s:s, s:s, s:i, s:s, s:s, s:b}", "address", l->name, "host",
		                      l->host, "port", l->port, "kind", l->kind, "scenario",
		                      served_name(l->def), "port_chosen", l->port_chosen));
		if (l->n_sched) /* a --listen schedule */
			json_object_set_new(json_array_get(ls, json_array_size(ls) - 1), "schedule",
			                    listener_schedule_json(l));
	}
	return ls;
}

struct listener *harness_add_listener(struct harness *h, const char *host, int port,
                                      const struct served *def, char *err, size_t n)
{
	struct front *f = &h->front;
	if (f->n_listeners == f->cap_listeners) {
		snprintf(err, n, "at most %d listeners can be added while serving",
		         HARNESS_API_LISTENERS);
		return NULL;
	}
	if (open_one(h, "api", host, port, def, err, n) < 0)
		return NULL;
	return &f->listeners[f->n_listeners - 1];
}

json_t *harness_listeners_json(const struct harness *h)
{
	return listeners_json(&h->front);
}

/* --ports-file: where every listener and every scenario is, as JSON. */
static char *ports_text(const struct harness *h)
{
	json_t *sc = json_object();
	for (size_t i = 0; i < h->serving.n; i++) {
		const struct served *s = &h->serving.items[i];
		json_t *o = json_object();
		if (s->port)
			json_object_set_new(o, "port", json_integer(s->port));
		if (s->sc->alias)
			json_object_set_new(o, "alias", json_string(s->sc->alias));
		json_object_set_new(sc, s->sc->name, o);
	}
	json_t *all =
	        json_pack("{s:i, s:i, s:o, s:o}", "schema_version", EVENTS_SCHEMA_VERSION, "pid",
	                  (int)getpid(), "listeners", listeners_json(&h->front), "scenarios", sc);
	char *text = json_dumps(all, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(all);
	if (!text)
		return NULL;
	size_t len = strlen(text);
	char *nl = realloc(text, len + 2);
	if (!nl) {
		free(text);
		return NULL;
	}
	nl[len] = '\n';
	nl[len + 1] = '\0';
	return nl;
}

/* A file the harness writes at start and removes at every exit. 0, or -1
 * after the error was logged and emitted. */
static int write_start_file(const char *option, const char *path, const char *text)
{
	if (text && write_whole(path, text) == 0)
		return 0;
	char err[PATH_MAX + 128];
	snprintf(err, sizeof(err), "cannot write the %s file %s: %s", option, path,
	         text ? strerror(errno) : "out of memory");
	log_error("%s", err);
	events_emit(0, "error", json_pack("{s:s}", "error", err));
	return -1;
}

/* The seed as text: JSON numbers lose 64-bit precision in many readers. */
static const char *seed_text(uint64_t seed)
{
	static char buf[24];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
	return buf;
}

int harness_run(struct harness *h)
{
	struct front *f = &h->front;
	char err[256];
	/* Keys and certificates only now, behind open listeners: a connection
	 * that comes first waits for its own (served_wait). */
	if (serving_make_certs(&h->serving, 1, err, sizeof(err)) != 0) {
		log_error("%s", err);
		events_emit(0, "error", json_pack("{s:s}", "error", err));
		return 1;
	}
	json_t *start = json_pack("{s:i, s:s, s:o, s:I, s:s, s:i, s:s}", "schema_version",
	                          EVENTS_SCHEMA_VERSION, "version", RDPFAULT_VERSION, "listeners",
	                          listeners_json(f), "scenarios", (json_int_t)h->catalog.n,
	                          "runtime_dir", h->serving.runtime_dir, "pid", (int)getpid(),
	                          "seed", seed_text(h->opt.seed));
	json_object_set_new(start, "api",
	                    h->api_address[0] ? json_string(h->api_address) : json_null());
	events_emit(0, "start", start);

	struct timeval every = {TRIM_EVERY_MS / 1000, (TRIM_EVERY_MS % 1000) * 1000};
	h->trim = event_new(f->base, -1, EV_PERSIST, on_trim, h);
	if (h->trim)
		event_add(h->trim, &every);
	/* SIGHUP stops as SIGTERM does (a reload would have to keep the old
	 * catalog for the connections that use it): every file made is removed. */
	h->sig_int = evsignal_new(f->base, SIGINT, on_signal, h);
	h->sig_term = evsignal_new(f->base, SIGTERM, on_signal, h);
	h->sig_hup = evsignal_new(f->base, SIGHUP, on_signal, h);
	event_add(h->sig_int, NULL);
	event_add(h->sig_term, NULL);
	event_add(h->sig_hup, NULL);
	/* "start" on disk first, then the ports file, then the ready file: a
	 * reader that sees one finds the ones before it. An orchestrator would
	 * wait for either file for ever: a failure to write one is a runtime
	 * failure. */
	events_flush(1000);
	char *ports = h->opt.ports_file ? ports_text(h) : NULL;
	if (h->opt.ports_file && write_start_file("ports", h->opt.ports_file, ports) != 0) {
		h->exit_code = 1;
		stop(h, "the ports file");
	}
	free(ports);
	char pid[32];
	snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (!h->exit_code && h->opt.ready_file &&
	    write_start_file("ready", h->opt.ready_file, pid) != 0) {
		h->exit_code = 1;
		stop(h, "the ready file");
	}
	if (!h->exit_code)
		event_base_dispatch(f->base);

	/* The maker's own event, if it was still making, comes before "stop". */
	serving_stop_certs(&h->serving);
	h->peers_left = peer_wait_all(STOP_WAIT_MS, &h->forced);
	/* Every accepted connection ends in a close event, also the few whose
	 * peer thread is still inside FreeRDP (it never writes a second). */
	long closed_here = conn_close_all_live("shutdown");
	json_t *stopf = json_pack("{s:I, s:i, s:i, s:I}", "connections",
	                          (json_int_t)conn_total_count(), "peers_still_running",
	                          (int)h->peers_left, "closed_at_stop", (int)closed_here,
	                          "fd_exhaustion_bursts", (json_int_t)listener_fd_bursts());
	json_object_set_new(stopf, "events_dropped", json_integer((json_int_t)events_dropped()));
	struct bulkpool_stats bp;
	bulkpool_get_stats(&bp);
	json_object_set_new(stopf, "bulk_contexts",
	                    json_pack("{s:I, s:I, s:I, s:I}", "made", (json_int_t)bp.made, "reused",
	                              (json_int_t)bp.reused, "reset", (json_int_t)bp.reset,
	                              "never_made", (json_int_t)bp.never_made));
	if (!h->peers_left)
		bulkpool_drain(); /* no peer thread can take one now */
	json_object_set_new(stopf, "stopped_by", json_string(h->stopped_by ? h->stopped_by : "?"));
	json_t *adm = admission_summary(f);
	if (json_object_size(adm))
		json_object_set_new(stopf, "admission", adm);
	else
		json_decref(adm);
	events_emit(0, "stop", stopf);
	harness_remove_files(h);
	return h->exit_code;
}

void harness_remove_files(struct harness *h)
{
	serving_stop_certs(&h->serving); /* it writes into the runtime directory */
	if (h->opt.ready_file)
		unlink(h->opt.ready_file);
	if (h->opt.ports_file)
		unlink(h->opt.ports_file);
	serving_remove_runtime(&h->serving);
}

void harness_free(struct harness *h)
{
	struct front *f = &h->front;
	for (size_t i = 0; i < f->n_listeners; i++) {
		listener_close(&f->listeners[i]);
		net_plan_free(&f->listeners[i].toxics);
		sched_counts_free(&f->listeners[i].sched_counts);
	}
	free(f->listeners);
	f->listeners = NULL;
	f->n_listeners = 0;
	if (h->trim)
		event_free(h->trim);
	if (h->sig_int)
		event_free(h->sig_int);
	if (h->sig_term)
		event_free(h->sig_term);
	if (h->sig_hup)
		event_free(h->sig_hup);
	admission_free();
	listener_shutdown();
	if (f->base)
		event_base_free(f->base);
	f->base = NULL;
	serving_free(&h->serving);
	catalog_free(&h->catalog);
}
