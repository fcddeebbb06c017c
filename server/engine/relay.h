/* relay.h — the relay between the client's socket and the FreeRDP peer's
 * end of a socketpair. Owning the client socket lets the harness see the
 * plaintext X.224 exchange and the TLS record headers (and so log phases
 * the peer cannot report), count bytes each way, and later cut, stall or
 * reset the stream at an exact point. Both directions are relayed by the
 * event loop: a stalled connection costs buffers, not a thread. */
#ifndef RDPFAULT_RELAY_H
#define RDPFAULT_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct engine;
struct conn;

/* Creates the socketpair, starts relaying and starts the peer thread
 * (c->deadline_ms set). Takes over the connection's reference. */
void relay_start(const struct engine *e, struct conn *c);
/* Closes every relayed connection (shutdown): both sockets are shut down,
 * so peer threads see end-of-file and end. */
void relay_abort_all(const char *reason);
long relay_live(void);
struct net_plan;
struct net_cond;
/* A listener's condition c (the control API's) changed: every live relay
 * accepted on that listener takes its new attributes now, or, removed,
 * stops applying it (its stage passes everything on). Returns how many
 * connections had it. */
size_t relay_update_conditions(const struct net_plan *listener_net, const struct net_cond *c,
                               int removed);
/* Condition c was just added to a listener: every live relay accepted on
 * it applies c from its next bytes (after its other conditions). Returns
 * how many connections took it. */
size_t relay_add_condition(const struct net_plan *listener_net, const struct net_cond *c);
/* Cuts relayed connection `id` now: an RST (reset), or the server side's
 * close, the client's FIN once it has every byte passed on. 0, or -1 when
 * no relay has it (it is not live, or still at the front door). */
int relay_cut_conn(uint64_t id, int reset);
/* The seed every connection's random draws (network conditions' toxicity,
 * jitter, loss) derive from, with the connection's id (serve --seed), and
 * the bytes a conditioned direction may hold (--network-queue). */
void relay_net_seed(uint64_t seed, size_t queue_cap);

#endif
