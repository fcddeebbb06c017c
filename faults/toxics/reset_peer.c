/* reset_peer.c — the connection is reset (RST) `timeout` ms after the
 * condition starts; bytes pass until then. */
#include "faults/toxics/toxic.h"

static const struct tx_attr attrs[] = {
        {"timeout", "ms", 0, 86400000, 0, 1, "the RST this long after the start"},
};

static void start(void *st, const double *a, uint64_t now, const struct tx_io *io)
{
	(void)st;
	io->end(io->arg, now + (uint64_t)(a[0] * 1000.0), TX_END_RESET);
}

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	(void)st, (void)a;
	io->emit(io->arg, in);
}

const struct toxic_type toxic_reset_peer = {
        .name = "reset_peer",
        .summary = "RST timeout ms after the start",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = 0,
        .start = start,
        .seg = seg,
};
