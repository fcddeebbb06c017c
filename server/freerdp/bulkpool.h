/* bulkpool.h — FreeRDP 2.11's bulk compressors kept from one peer for the
 * next.
 *
 * Every peer FreeRDP makes gets an MPPC, an NCRUSH and an XCRUSH context
 * for each direction (XCRUSH with an MPPC of its own): megabytes, mapped
 * fresh and zeroed (calloc, then each context's reset) for every
 * connection, 10-17% of the server's CPU per TLS connection in perf
 * profiles. FreeRDP makes and frees them through its exported functions, so
 * the executable's own definitions here take their place: a context freed
 * goes to a small pool, and the next peer's is one from the pool, reset
 * first only if its last peer used it (a connection that never got to
 * compressed data, as a fault before activation, never did). */
#ifndef RDPFAULT_FREERDP_BULKPOOL_H
#define RDPFAULT_FREERDP_BULKPOOL_H

struct bulkpool_stats {
	unsigned long made;   /* contexts FreeRDP made itself */
	unsigned long reused; /* contexts handed on from the pool */
	unsigned long reset;  /* of those, the ones reset first (used before) */
};

/* Frees every kept context. At the stop, once no peer thread runs. */
void bulkpool_drain(void);
void bulkpool_get_stats(struct bulkpool_stats *st);

#endif
