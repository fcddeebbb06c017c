/* slow_close.c — the stream's end (the FIN) is held `delay` ms after the
 * last byte: a peer or middlebox that is slow to let go. */
#include "faults/toxics/toxic.h"

struct slow_close {
	uint64_t last;
};

static const struct tx_attr attrs[] = {
        {"delay", "ms", 0, 3600000, 0, 1, "how long the FIN is held"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct slow_close *s = st;
	uint64_t due = in->due_us;
	if (due != TX_NEVER && !(in->flags & TX_DROP)) {
		if (in->flags & TX_EOF)
			due = (due > s->last ? due : s->last) + (uint64_t)(a[0] * 1000.0);
		s->last = due;
	}
	tx_emit(io, in->off, in->len, due, in->flags);
}

const struct toxic_type toxic_slow_close = {
        .name = "slow_close",
        .summary = "the FIN that ends the stream is held delay ms",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct slow_close),
        .seg = seg,
};
