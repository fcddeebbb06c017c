/* netaddr.h — socket addresses as the event log writes them. */
#ifndef RDPFAULT_NETADDR_H
#define RDPFAULT_NETADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* 127.0.0.1:3389, [::1]:3389; "unknown" for other families. */
void addr_text(const struct sockaddr *sa, char *out, size_t n);

/* A numeric IPv4 or IPv6 host (no brackets) and a port into *ss; *len its
 * size. 0, or -1 when host is not a numeric address. */
int addr_parse(const char *host, int port, struct sockaddr_storage *ss, socklen_t *len);

/* 1 for 127.0.0.0/8, ::1 and ::ffff:127.x.y.z. */
int addr_is_loopback(const struct sockaddr *sa);

#endif
