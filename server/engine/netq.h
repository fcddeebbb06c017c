/* netq.h — one direction's network conditions on bytes in flight. The
 * chain (faults/toxics/chain.h) decides when each run of bytes may go on,
 * or whether it does; the bytes themselves wait here, in one buffer, in
 * stream order, and a timer hands them on when the head is due. The queue
 * is bounded: at `cap` held bytes the owner is told to stop reading the
 * source, at half of it to resume. The relay (relay_net.c) owns one per
 * conditioned direction; bench/netcond_bench.c drives the same code over
 * socketpairs. Event-loop thread only. */
#ifndef RDPFAULT_NETQ_H
#define RDPFAULT_NETQ_H

#include <stddef.h>
#include <stdint.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "faults/toxics/chain.h"

struct netq_ops {
	/* Where due bytes go (NULL: the other side is gone, they are dropped). */
	struct evbuffer *(*dest)(void *arg);
	void (*delivered)(void *arg, size_t n);
	/* A timer released the last held bytes, or the end: may free the owner. */
	void (*drained)(void *arg);
	/* The head is held for good (blackhole window 1): stop reading, for good. */
	void (*hold)(void *arg);
	/* Stop (1) or resume (0) reading the source: the cap. */
	void (*pause)(void *arg, int on);
	/* A condition's trigger fired at stream offset off (owner logs it). */
	void (*fired)(void *arg, int id, uint64_t off);
	/* A condition's end (limit_data, timeout, reset_peer) is due now. May
	 * free the owner. */
	void (*end)(void *arg, int id, enum tx_end how);
};

struct netseg;

struct netq {
	struct event_base *base;
	const struct netq_ops *ops;
	void *arg;
	struct tx_chain chain;
	struct evbuffer *held;
	struct netseg *q;
	size_t head, n, cap_segs;
	size_t cap; /* held bytes that pause the source */
	struct event *timer, *end_timer;
	uint64_t held_bytes, max_held, delayed, dropped;
	uint64_t end_due;
	int end_id;
	enum tx_end end_how;
	int paused, held_forever, eof_fed, eof_passed, eof_lost, closed;
};

/* 0, or -1 out of memory. defs: the stages, in order (they outlive q). */
int netq_init(struct netq *q, struct event_base *base, const struct tx_stage_def *const *defs,
              size_t n, uint64_t seed, size_t cap, const struct netq_ops *ops, void *arg);
void netq_free(struct netq *q);
/* Adds stage d at the end of the chain while bytes flow (the connection at
 * `phase`, the stream at `off`). 0, or -1 out of memory. */
int netq_append(struct netq *q, const struct tx_stage_def *d, int phase, uint64_t off);
/* The connection's phase is `phase`, the stream at `off` (triggers). */
void netq_phase(struct netq *q, int phase, uint64_t off);
/* The same, knowing where each phase began (tx_chain_phase_at). */
void netq_phase_at(struct netq *q, int phase, const uint64_t *began, uint64_t off);
/* Moves n bytes of `in` (stream offset off) into the queue; what is due
 * goes on at once. Never frees the owner. */
void netq_take(struct netq *q, struct evbuffer *in, size_t n, uint64_t off);
/* A protocol unit [off, off + len) was seen, before its bytes are taken. */
void netq_unit(struct netq *q, uint64_t off, uint64_t len);
/* May the stream's end (a FIN at offset off) be passed on now? Feeds it
 * through the conditions the first time; 1 once it is through. */
int netq_eof_ready(struct netq *q, uint64_t off);
/* Bytes or the end are still held. */
int netq_holds(const struct netq *q);
/* The source is not to be read (the cap, or held for good). */
int netq_paused(const struct netq *q);
/* The connection closes: what is due goes, the rest is dropped, and from
 * now on nothing is held (the FIN passes). */
void netq_close(struct netq *q);

#endif
