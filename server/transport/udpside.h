/* udpside.h — the UDP side of a scenario's port, for multitransport: the
 * socket a client's MS-RDPEUDP SYN lands on (udp: drop, answer-garbage),
 * or deliberately none (udp: unreachable: the kernel answers ICMP port
 * unreachable). Each datagram is a "udp" event: its size, first bytes, the
 * SYN fields it carries, and the connection whose Initiate Multitransport
 * Request's cookie its SHA-256 matches. Runs on the event loop. */
#ifndef RDPFAULT_UDPSIDE_H
#define RDPFAULT_UDPSIDE_H

#include <stddef.h>
#include <sys/socket.h>

struct event_base;
struct served;
struct udpside;

/* Opens the UDP side of `def` on the address its TCP listener `name`
 * bound, when its scenario asks for a socket; *out stays NULL when it asks
 * for none. 0, or -1 with err set. */
int udpside_open(struct event_base *base, struct udpside **out, const struct sockaddr *addr,
                 socklen_t addr_len, const char *name, const struct served *def, char *err,
                 size_t n);
/* Emits the socket's summary ("udp-side" closed) and frees it. */
void udpside_close(struct udpside *u);

#endif
