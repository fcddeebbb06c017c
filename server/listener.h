/* listener.h — the front door: listening sockets the harness owns (with a
 * backlog of its choosing, not FreeRDP's hard-coded 10), driven by the
 * event loop. Each accepted socket becomes a connection handed to
 * selection. */
#ifndef RDPFAULT_LISTENER_H
#define RDPFAULT_LISTENER_H

#include <stddef.h>
#include <sys/socket.h>

struct harness;
struct listener;
struct served;

/* Binds host:port (numeric IPv4 or IPv6) and starts accepting.
 * 0, or -1 with err set. */
int listener_open(struct harness *h, struct listener *l, const char *host, int port,
                  const struct served *def, int backlog, char *err, size_t n);
void listener_close(struct listener *l);
/* Bursts of descriptor exhaustion met so far (the stop event's figure). */
long listener_fd_bursts(void);
/* Frees the exhaustion pause's timer (at stop). */
void listener_shutdown(void);
/* An address as the event log writes it: 127.0.0.1:3389, [::1]:3389. */
void addr_text(const struct sockaddr *sa, char *out, size_t n);

#endif
