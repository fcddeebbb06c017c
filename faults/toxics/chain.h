/* chain.h — the conditions stacked on one direction of one connection, in
 * their list's order: each stage's output is the next one's input, the
 * last one's goes to the sink (the relay's queue). A stage passes segments
 * through untouched until its trigger fires: at once, when the connection
 * reaches a phase (tx_chain_phase), or when the stream passes an offset
 * (after_bytes: the segment is split there). Pure, like the toxics. A
 * definition's attributes may change while a chain runs (they are read
 * for each segment), and `removed` turns its stage into a pass-through. */
#ifndef RDPFAULT_TX_CHAIN_H
#define RDPFAULT_TX_CHAIN_H

#include "faults/toxics/toxic.h"

struct tx_stage_def {
	const struct toxic_type *t;
	double a[TX_ATTRS_MAX];
	int from_phase;       /* > 0: starts when the connection reaches it */
	uint64_t after_bytes; /* TX_NEVER: none; else starts at this stream offset */
	int id;               /* the caller's (its condition's index) */
	int removed;          /* set while a chain runs: the stage passes everything on */
};

struct tx_chain;
struct tx_hop {
	struct tx_chain *c;
	size_t next;
};

struct tx_stage {
	const struct tx_stage_def *d;
	int on;
	int own_state;     /* appended to a running chain: its state is its own allocation */
	uint64_t start_at; /* not on yet: starts at this stream offset (TX_NEVER: not known) */
	void *state;
	struct tx_io io;
	struct tx_hop hop;
};

struct tx_chain {
	struct tx_stage *st;
	size_t n;
	void *states;
	void (*sink)(void *arg, const struct tx_seg *s);
	void (*end)(void *arg, int id, uint64_t due_us, enum tx_end how);
	/* A stage's trigger fired at stream offset `off`. */
	void (*fired)(void *arg, int id, uint64_t off, uint64_t now_us);
	void *arg;
	uint64_t rng; /* splitmix64 */
	uint64_t now_us;
	uint64_t fed; /* the stream's offset up to which bytes were fed */
	int phase;
};

/* Builds the chain of n stages (defs outlive it); stages without a trigger
 * start at once (fired is called for each). 0, or -1 out of memory. */
int tx_chain_init(struct tx_chain *c, const struct tx_stage_def *const *defs, size_t n,
                  uint64_t seed, uint64_t now_us, void *arg,
                  void (*sink)(void *, const struct tx_seg *),
                  void (*end)(void *, int, uint64_t, enum tx_end),
                  void (*fired)(void *, int, uint64_t, uint64_t));
void tx_chain_free(struct tx_chain *c);
/* Adds stage d at the chain's end while it runs (the stream at `off`):
 * the bytes after it pass through it. It starts at once without a
 * trigger, or when its phase or offset was already reached. 0, or -1 out
 * of memory (the chain is as it was). */
int tx_chain_append(struct tx_chain *c, const struct tx_stage_def *d, uint64_t off,
                    uint64_t now_us);
/* The connection reached `phase` with the stream at `off`: stages waiting
 * for it (or an earlier one) start. */
void tx_chain_phase(struct tx_chain *c, int phase, uint64_t off, uint64_t now_us);
/* The same, knowing where in the stream each phase up to `phase` began
 * (began[p]; TX_NEVER: not known, `off` then): a stage waiting for phase p
 * starts exactly at began[p], also when that is still ahead of the bytes
 * fed (they are split there), and at once when the bytes fed are past it. */
void tx_chain_phase_at(struct tx_chain *c, int phase, const uint64_t *began, uint64_t off,
                       uint64_t now_us);
/* A protocol unit [off, off + len) was seen (before its bytes are fed). */
void tx_chain_unit(struct tx_chain *c, uint64_t off, uint64_t len);
/* Bytes [off, off + len) arrived at now_us (flags: TX_EOF for the end). */
void tx_chain_feed(struct tx_chain *c, uint64_t off, uint64_t len, uint64_t now_us, unsigned flags);

/* splitmix64: the chain's random source, also for a caller's own draws. */
uint64_t tx_splitmix(uint64_t *state);

#endif
