/* toxic.h — network conditions ("toxics", toxiproxy's word): what a link
 * does to one direction of a stream, one type a file in faults/toxics/,
 * all listed in registry.c.
 *
 * A toxic sees only segments of its stream (offset, length, when they may
 * go on, dropped or not, the end of the stream), never the relay, the
 * sockets or the bytes: a link changes when bytes arrive and whether they
 * arrive, never what they are. So each type is a pure function of its
 * input, its attributes and a seeded random source, and is tested with a
 * fake clock (tests/test_toxics.c). Every type keeps the stream's order. */
#ifndef RDPFAULT_TOXIC_H
#define RDPFAULT_TOXIC_H

#include <stddef.h>
#include <stdint.h>

#define TX_NEVER UINT64_MAX /* a due time that never comes: the bytes are held */
#define TX_ATTRS_MAX 4

enum {
	TX_DROP = 1u << 0, /* the bytes are discarded, not handed on */
	TX_EOF = 1u << 1,  /* the stream's end (a FIN); len 0 */
};

/* A run of the stream's bytes [off, off + len) that may go on at due_us. */
struct tx_seg {
	uint64_t off, len;
	uint64_t due_us;
	unsigned flags;
};

enum tx_end { TX_END_CLOSE = 1, TX_END_RESET = 2 };

/* What a toxic hands its results to: the next stage of the chain. */
struct tx_io {
	void (*emit)(void *arg, const struct tx_seg *s);
	/* The connection ends at due_us (limit_data, timeout, reset_peer). */
	void (*end)(void *arg, uint64_t due_us, enum tx_end how);
	uint64_t (*rand)(void *arg); /* uniform 64 bits, seeded per connection */
	void *arg;
};

/* One attribute: toxiproxy's name and unit, its range and default. */
struct tx_attr {
	const char *name;
	const char *unit; /* "ms", "us", "bytes", "KB/s" (1 KB = 1,000 bytes), "" */
	double min, max, def;
	int integer; /* whole numbers only */
	const char *doc;
};

struct toxic_type {
	const char *name;
	const char *summary; /* one line, for `show --network` */
	const struct tx_attr *attrs;
	size_t n_attrs;
	size_t state_size; /* zeroed before start */
	/* The condition starts (attached and triggered) at now_us; NULL: nothing
	 * to do then. */
	void (*start)(void *st, const double *a, uint64_t now_us, const struct tx_io *io);
	/* One segment in; any number out, in order, through io->emit. */
	void (*seg)(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io);
	/* Optional: a protocol unit (TLS record, TPKT, fast-path PDU) of
	 * [off, off + len) was seen, before any of its bytes come as segments. */
	void (*unit)(void *st, const double *a, uint64_t off, uint64_t len);
};

/* A uniform double in [0, 1) from 64 random bits. */
static inline double tx_unit(uint64_t bits)
{
	return (double)(bits >> 11) * (1.0 / 9007199254740992.0);
}

/* A uniform double in [0, 1) from io->rand. */
static inline double tx_uniform(const struct tx_io *io)
{
	return tx_unit(io->rand(io->arg));
}

/* Hands on a copy of `in` with another range, due time or flags. */
static inline void tx_emit(const struct tx_io *io, uint64_t off, uint64_t len, uint64_t due,
                           unsigned flags)
{
	struct tx_seg s = {off, len, due, flags};
	io->emit(io->arg, &s);
}

/* A segment with no bytes of its own to time — held for good, dropped, or
 * the end — handed on unchanged, the end no sooner than `after`. Returns
 * 1 when `in` was one (the caller is done with it). */
static inline int tx_pass_untimed(const struct tx_io *io, const struct tx_seg *in, uint64_t after)
{
	if (in->due_us != TX_NEVER && !(in->flags & TX_DROP) && in->len)
		return 0;
	uint64_t due = in->due_us;
	if (due != TX_NEVER && !(in->flags & TX_DROP) && due < after)
		due = after;
	tx_emit(io, in->off, in->len, due, in->flags);
	return 1;
}

/* Every type (registry.c), NULL-terminated, and one by name (NULL: none). */
extern const struct toxic_type *const toxic_types[];
const struct toxic_type *toxic_find(const char *name);
/* Index of an attribute of t by name, -1 when t has none so named. */
int toxic_attr_index(const struct toxic_type *t, const char *name);

#endif
