/* bulkpool.h — FreeRDP 2.11's bulk compressors made on first use, and
 * kept from one peer for the next.
 *
 * Every peer FreeRDP makes gets an MPPC, an NCRUSH and an XCRUSH context
 * for each direction (XCRUSH with an MPPC of its own): megabytes, mapped
 * fresh and zeroed (calloc, then each context's reset) for every
 * connection, 10-17% of the server's CPU per TLS connection in perf
 * profiles. FreeRDP makes, uses and frees them only through its exported
 * functions, so the executable's own definitions here take their place:
 * - FreeRDP's new gets a stand-in; the context is made, as FreeRDP asked,
 *   on FreeRDP's first call on it (compress, decompress, reset, level). A
 *   connection that ends before compressed data (a fault before
 *   activation, a TLS-only client) never makes one.
 * - A context freed goes to a small pool, and the next one made is one
 *   from the pool, reset first if its last peer used it. */
#ifndef RDPFAULT_FREERDP_BULKPOOL_H
#define RDPFAULT_FREERDP_BULKPOOL_H

struct bulkpool_stats {
	unsigned long made;       /* contexts FreeRDP made itself */
	unsigned long reused;     /* contexts handed on from the pool */
	unsigned long reset;      /* of those, the ones reset first (used before) */
	unsigned long never_made; /* freed by FreeRDP before any use: never made */
};

/* Frees every kept context. At the stop, once no peer thread runs. */
void bulkpool_drain(void);
void bulkpool_get_stats(struct bulkpool_stats *st);

#endif
