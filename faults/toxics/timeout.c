/* timeout.c — no byte passes any more; the connection closes after
 * `timeout` ms, or never (0: the stream is held until the client or the
 * harness's deadline ends it). */
#include "faults/toxics/toxic.h"

static const struct tx_attr attrs[] = {
        {"timeout", "ms", 0, 86400000, 0, 1, "close after this long; 0: never"},
};

static void start(void *st, const double *a, uint64_t now, const struct tx_io *io)
{
	(void)st;
	if (a[0] > 0)
		io->end(io->arg, now + (uint64_t)(a[0] * 1000.0), TX_END_CLOSE);
}

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	(void)st, (void)a;
	tx_emit(io, in->off, in->len, in->due_us, in->flags | TX_DROP);
}

const struct toxic_type toxic_timeout = {
        .name = "timeout",
        .summary = "stop passing data; close after timeout ms (0: hold forever)",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = 0,
        .start = start,
        .seg = seg,
};
