/* conn.c — connection lifetime and its events (see conn.h). */
#include "engine/conn.h"

#include <event2/event.h>
#include <time.h>

#include <errno.h>
#include <stdarg.h>
#include <sys/queue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/events.h"
#include "catalog/faultplan.h"
#include "catalog/served.h"

static atomic_uint_fast64_t next_id = 1;
static const struct conn_hooks *hooks;

void conn_set_hooks(const struct conn_hooks *h)
{
	hooks = h;
}

int conn_session_limited(struct conn *c)
{
	return hooks && hooks->session_limited ? hooks->session_limited(c->served, c) : 0;
}
static atomic_long live;

/* Every live connection, so that a stop can account for each (its close
 * written even when its peer thread is still inside FreeRDP). */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static LIST_HEAD(, conn) all = LIST_HEAD_INITIALIZER(all);

static void emit_close(struct conn *c, const char *peer_end)
{
	json_t *f = json_pack("{s:s, s:s, s:I, s:I, s:I}", "reason",
	                      c->close_reason[0] ? c->close_reason : "unknown", "last_phase",
	                      phase_name((enum phase)atomic_load(&c->last_phase)),
	                      "bytes_from_client", (json_int_t)c->bytes_from_client,
	                      "bytes_to_client", (json_int_t)c->bytes_to_client, "duration_ms",
	                      (json_int_t)(events_now_ms() - c->t_accept_ms));
	if (c->served)
		json_object_set_new(f, "scenario", json_string(served_name(c->served)));
	if (peer_end)
		json_object_set_new(f, "peer_end", json_string(peer_end));
	if (c->network)
		json_object_set(f, "network", c->network);
	events_emit(c->id, "close", f);
}

struct conn *conn_new(const struct served *listener_def, const char *listener_name, int fd,
                      const char *client_addr)
{
	struct conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->id = atomic_fetch_add(&next_id, 1);
	atomic_init(&c->refs, 1);
	atomic_init(&c->last_phase, PH_NONE);
	for (int d = 0; d < 2; d++)
		for (int p = 0; p < PH_COUNT; p++)
			atomic_init(&c->phase_off[d][p], CONN_OFF_UNKNOWN);
	atomic_init(&c->active, 0);
	atomic_init(&c->cut, 0);
	c->t_accept_ms = events_now_ms();
	c->listener_def = listener_def;
	snprintf(c->listener_name, sizeof(c->listener_name), "%s", listener_name);
	snprintf(c->client_addr, sizeof(c->client_addr), "%s", client_addr);
	c->client_fd = fd;
	c->peer_fd = -1;
	c->sched_step = -1;
	pthread_mutex_init(&c->req_lock, NULL);
	atomic_fetch_add(&live, 1);
	pthread_mutex_lock(&all_lock);
	LIST_INSERT_HEAD(&all, c, link);
	pthread_mutex_unlock(&all_lock);
	return c;
}

void conn_ref(struct conn *c)
{
	atomic_fetch_add(&c->refs, 1);
}

void conn_release(struct conn *c)
{
	if (atomic_fetch_sub(&c->refs, 1) != 1)
		return;
	if (hooks && hooks->closed)
		hooks->closed(c);
	pthread_mutex_lock(&all_lock);
	LIST_REMOVE(c, link);
	int written = c->close_written;
	pthread_mutex_unlock(&all_lock);
	if (!written)
		emit_close(c, c->peer_started ? (c->peer_end[0] ? c->peer_end : "unknown") : NULL);
	atomic_fetch_sub(&live, 1);
	pthread_mutex_destroy(&c->req_lock);
	json_decref(c->network);
	free(c);
}

const char *conn_error_reason(int err, char *buf, size_t n)
{
	switch (err) {
	case ECONNRESET:
		return "client-reset";
	case ETIMEDOUT: /* keep-alive, or data never acknowledged: the link died */
		return "client-gone";
	case EPIPE:
		return "client-closed";
	default:
		snprintf(buf, n, "client-error: %s", strerror(err));
		return buf;
	}
}

void conn_set_close_reason(struct conn *c, const char *fmt, ...)
{
	va_list ap;
	if (c->close_reason[0])
		return;
	va_start(ap, fmt);
	vsnprintf(c->close_reason, sizeof(c->close_reason), fmt, ap);
	va_end(ap);
}

/* The first to say where a phase began is right: the relay and the peer
 * thread may both raise phases, and a phase skipped over (no CredSSP with
 * TLS) began where the next one did. */
static void claim_off(struct conn *c, int d, int p, uint64_t off)
{
	uint64_t none = CONN_OFF_UNKNOWN;
	if (off != CONN_OFF_UNKNOWN)
		atomic_compare_exchange_strong(&c->phase_off[d][p], &none, off);
}

uint64_t conn_phase_off(struct conn *c, int up, enum phase p)
{
	return atomic_load(&c->phase_off[up ? 0 : 1][p]);
}

/* A phase event's fields when it has no detail, {"phase":"<name>"}: written
 * by jansson once, not for every connection's every phase. */
static char *phase_text[PH_COUNT];
static pthread_once_t phase_text_once = PTHREAD_ONCE_INIT;

static void make_phase_text(void)
{
	for (int p = 0; p < PH_COUNT; p++) {
		json_t *f = json_pack("{s:s}", "phase", phase_name((enum phase)p));
		phase_text[p] = f ? json_dumps(f, JSON_COMPACT) : NULL;
		json_decref(f);
	}
}

void conn_phase(struct conn *c, enum phase p, json_t *detail)
{
	conn_phase_at(c, p, detail, CONN_OFF_UNKNOWN, CONN_OFF_UNKNOWN);
}

void conn_phase_at(struct conn *c, enum phase p, json_t *detail, uint64_t up_off, uint64_t down_off)
{
	if (atomic_load(&c->cut)) {
		json_decref(detail);
		return;
	}
	int prev = atomic_load(&c->last_phase);
	do {
		for (int q = prev + 1; q <= (int)p; q++) {
			claim_off(c, 0, q, up_off);
			claim_off(c, 1, q, down_off);
		}
	} while ((int)p > prev && !atomic_compare_exchange_weak(&c->last_phase, &prev, (int)p));
	pthread_once(&phase_text_once, make_phase_text);
	if (detail || !phase_text[p]) {
		json_t *f = json_pack("{s:s}", "phase", phase_name(p));
		json_object_update(f, detail);
		json_decref(detail);
		events_emit(c->id, "phase", f);
	} else {
		events_emit_text(c->id, "phase", phase_text[p]);
	}
	if (p == PH_ACTIVE && hooks && hooks->active)
		hooks->active(c); /* its slot is free */
	/* The scenario's configured conditions that strike here. */
	if (c->served && c->served->conditions[p])
		events_emit_text(c->id, "fault", c->served->conditions[p]);
}

int conn_tell(struct conn *c, enum conn_msg_kind kind, const struct fault_step *step, uint64_t at,
              int ok)
{
	int rc = -1;
	pthread_mutex_lock(&c->req_lock);
	if (c->req_wake && c->n_msgs < CONN_MSGS) {
		c->msgs[c->n_msgs++] = (struct conn_msg){kind, step, at, ok};
		event_active(c->req_wake, EV_READ, 0);
		rc = 0;
	}
	pthread_mutex_unlock(&c->req_lock);
	return rc;
}

int conn_take(struct conn *c, struct conn_msg *out)
{
	int got = 0;
	pthread_mutex_lock(&c->req_lock);
	if (c->n_msgs > 0) {
		*out = c->msgs[0];
		memmove(c->msgs, c->msgs + 1, sizeof(c->msgs[0]) * (size_t)(c->n_msgs - 1));
		c->n_msgs--;
		got = 1;
	}
	pthread_mutex_unlock(&c->req_lock);
	return got;
}

void conn_kick_peer(struct conn *c, int want_close_notify)
{
	pthread_mutex_lock(&c->req_lock);
	if (want_close_notify)
		atomic_store(&c->want_close_notify, 1);
	if (c->kick)
		c->kick(c);
	pthread_mutex_unlock(&c->req_lock);
}

long conn_close_all_live(const char *reason)
{
	long n = 0;
	pthread_mutex_lock(&all_lock);
	struct conn *c;
	LIST_FOREACH(c, &all, link)
	{
		if (c->close_written)
			continue;
		c->close_written = 1;
		conn_set_close_reason(c, "%s", reason);
		emit_close(c, c->peer_started ? "still inside FreeRDP at exit" : NULL);
		n++;
	}
	pthread_mutex_unlock(&all_lock);
	return n;
}

json_t *conn_live_json(void)
{
	json_t *arr = json_array();
	uint64_t now = events_now_ms();
	pthread_mutex_lock(&all_lock);
	struct conn *c;
	LIST_FOREACH(c, &all, link)
	{
		if (c->close_written)
			continue;
		json_t *o =
		        json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "id", (json_int_t)c->id,
		                  "listener", c->listener_name, "client", c->client_addr, "phase",
		                  phase_name((enum phase)atomic_load(&c->last_phase)),
		                  "bytes_from_client", (json_int_t)c->bytes_from_client,
		                  "bytes_to_client", (json_int_t)c->bytes_to_client, "age_ms",
		                  (json_int_t)(now - c->t_accept_ms));
		json_object_set_new(o, "scenario",
		                    c->served ? json_string(served_name(c->served)) : json_null());
		json_array_insert_new(arr, 0, o); /* the list is newest first: oldest first out */
	}
	pthread_mutex_unlock(&all_lock);
	return arr;
}

long conn_live_count(void)
{
	return atomic_load(&live);
}

uint64_t conn_total_count(void)
{
	return atomic_load(&next_id) - 1;
}
