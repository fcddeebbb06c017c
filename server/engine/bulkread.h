/* bulkread.h — reading what a socket already holds in one system call.
 * libevent 2.1's bufferevents read at most 4 KB a call (EVBUFFER_MAX_READ),
 * so a bulk stream through the relay would cost a read per 4 KB. */
#ifndef RDPFAULT_BULKREAD_H
#define RDPFAULT_BULKREAD_H

#include <stddef.h>

#include <event2/bufferevent.h>

/* Appends to the bufferevent's input what its socket holds now, at most
 * `max` bytes. Only bytes already queued are read (FIONREAD), never the
 * end-of-file or an error: the bufferevent's own next read reports those
 * as before. Returns the bytes read. */
size_t bulk_read(struct bufferevent *bev, size_t max);

/* What the relay takes in one read. Measured with bench/netcond_bench
 * throughput (one connection, loopback): 16 KB against 256 KB, no
 * condition 1,067-1,083 vs 1,065 MB/s; latency=1 ms 427-576 vs 327 MB/s;
 * latency=100 ms with a 128 MiB queue 460-520 vs 20 MB/s (the 256 KB
 * run's profile: the relay idle, the kernel clearing fresh pages). */
#define BULK_READ_MAX (16u << 10)

#endif
