/* api_ctx.h — what the control API's files share (api.c, api_events.c,
 * api_listeners.c, api_toxics.c) and nothing else includes: the API's
 * state, its replies, and each file's routes. Loop thread only. */
#ifndef RDPFAULT_API_CTX_H
#define RDPFAULT_API_CTX_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

struct harness;
struct listener;

struct waiter {
	LIST_ENTRY(waiter) link;
	struct api *a;
	struct evhttp_request *req;
	uint64_t since;
	size_t max;
	uint64_t deadline_ms;
	struct event *timer;
	int stream; /* GET /events/stream: Server-Sent Events until the client leaves */
};

struct api {
	struct harness *h;
	struct evhttp *http;
	LIST_HEAD(, waiter) waiters;
	char *token; /* --api-token: every request carries it (NULL: none) */
};

/* ---- api.c */
void reply_json(struct evhttp_request *req, int status, json_t *body);
void reply_error(struct evhttp_request *req, int status, const char *field, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
/* The request's body as JSON, or NULL after a 400. */
json_t *body_json(struct evhttp_request *req);
/* A decimal in [0, max]: 0, or -1. */
int parse_u64(const char *text, uint64_t max, uint64_t *out);
struct listener *find_listener(struct api *a, const char *name);

/* ---- api_events.c: GET /events (a long poll) and /events/stream (SSE) */
void get_events(struct api *a, struct evhttp_request *req, struct evkeyvalq *q);
void get_event_stream(struct api *a, struct evhttp_request *req, struct evkeyvalq *q);
void events_waiters_close(struct api *a);

/* ---- api_listeners.c */
json_t *listener_json(const struct listener *l);
void update_listener(struct api *a, struct evhttp_request *req, struct listener *l);
void create_listener(struct api *a, struct evhttp_request *req);
void remove_listener(struct listener *l);
void populate(struct api *a, struct evhttp_request *req);
void reset_all(struct api *a, struct evhttp_request *req);

/* ---- api_toxics.c: /listeners/{address}/toxics[/{name}] */
void toxics_route(struct api *a, struct evhttp_request *req, enum evhttp_cmd_type cmd,
                  const char *lname, const char *tname);

#endif
