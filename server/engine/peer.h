/* peer.h — the FreeRDP peer: one thread per connection that has chosen its
 * scenario, owning its freerdp_peer alone, configured from the scenario's
 * prepared resources. The thread blocks in FreeRDP's own loops; the only
 * action other threads take on it is closing the relay's end of the
 * socketpair, which FreeRDP sees as end-of-file. */
#ifndef RDPFAULT_PEER_H
#define RDPFAULT_PEER_H

#include <signal.h>
#include <stddef.h>

struct engine;
struct conn;

/* Starts the peer thread on `fd` (the socketpair end FreeRDP will own and
 * close). Takes a reference on the connection. 0, or -1. */
int peer_start(const struct engine *e, struct conn *c, int fd);
/* Waits up to timeout_ms for every peer thread to end (less when *forced
 * becomes set), then joins every ended one; returns how many are still
 * running. */
long peer_wait_all(int timeout_ms, volatile sig_atomic_t *forced);
/* Joins the peer threads that have fully ended (their stacks go back);
 * never blocks. peer_start does it too. */
void peer_reap(void);

/* Installs the peer's hooks into the FreeRDP interposition (TLS and
 * socket I/O, freerdp/tlshook.h) and returns the WLog state callback
 * (freerdp/wloghook.h). Once, before any peer runs. */
void (*peer_install_hooks(void))(const char *state_name);

#endif
