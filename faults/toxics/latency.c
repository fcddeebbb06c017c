/* latency.c — every chunk delayed by latency ± jitter, order kept. */
#include "faults/toxics/toxic.h"

struct latency {
	uint64_t last; /* due time of the last segment out: none goes before it */
};

static const struct tx_attr attrs[] = {
        {"latency", "ms", 0, 600000, 0, 1, "delay added to every chunk"},
        {"jitter", "ms", 0, 600000, 0, 1, "the delay varies by up to this much either way"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct latency *l = st;
	if (in->due_us == TX_NEVER || (in->flags & TX_DROP)) {
		io->emit(io->arg, in);
		return;
	}
	double d = a[0] * 1000.0;
	if (a[1] > 0)
		d += a[1] * 1000.0 * (2.0 * tx_uniform(io) - 1.0);
	uint64_t due = in->due_us + (d > 0 ? (uint64_t)d : 0);
	if (due < l->last)
		due = l->last; /* jitter never reorders */
	l->last = due;
	tx_emit(io, in->off, in->len, due, in->flags);
}

const struct toxic_type toxic_latency = {
        .name = "latency",
        .summary = "every chunk delayed by latency +- jitter (order kept)",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct latency),
        .seg = seg,
};
