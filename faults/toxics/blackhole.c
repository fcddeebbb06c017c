/* blackhole.c — every byte (and the FIN) vanishes: the firewall that lets
 * the SYN through and eats the stream.
 *
 * window 0: the harness reads and discards, so its kernel still ACKs the
 * client's bytes (a proxy that stops forwarding). window 1: the harness
 * stops reading and shrinks the socket's receive buffer, so the window
 * closes after a few KB and the client's own TCP timers run (closer to a
 * firewall that drops packets; the first bytes are still ACKed). */
#include "faults/toxics/toxic.h"

static const struct tx_attr attrs[] = {
        {"window", "", 0, 1, 0, 1, "1: stop reading (the window closes) instead of discarding"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	(void)st;
	if (a[0] > 0)
		tx_emit(io, in->off, in->len, TX_NEVER, in->flags);
	else
		tx_emit(io, in->off, in->len, in->due_us, in->flags | TX_DROP);
}

const struct toxic_type toxic_blackhole = {
        .name = "blackhole",
        .summary = "every byte and the FIN vanish (window 1: reading stops, the window closes)",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = 0,
        .seg = seg,
};
