/* api.h — the control API: HTTP/JSON on the harness's own event loop
 * (libevent's evhttp), docs/api.md. It reads the catalog, the listeners,
 * the live connections and the event log, and cuts connections; nothing
 * below it knows it exists. */
#ifndef RDPFAULT_API_H
#define RDPFAULT_API_H

#include <stddef.h>

struct harness;
struct api;

/* Listens on host:port (port 0: the kernel chooses) and serves h until
 * api_stop; with a token (control/auth.h), only requests that carry it.
 * 0, or -1 with err set (e.g. the port is in use). The address it listens
 * on goes to h->api_address (for the start event). */
int api_start(struct api **out, struct harness *h, const char *host, int port, const char *token,
              char *err, size_t n);
/* Answers every waiting request and closes the socket. NULL: nothing. */
void api_stop(struct api *a);

#endif
