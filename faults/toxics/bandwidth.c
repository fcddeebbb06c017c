/* bandwidth.c — throughput capped at `rate`: a token bucket that lets
 * each piece go when the link would have carried its last byte. */
#include "faults/toxics/toxic.h"

struct bandwidth {
	double free_us; /* when the link is free again (fractional: no drift) */
};

static const struct tx_attr attrs[] = {
        {"rate", "KB/s", 0.01, 10000000, 100, 0, "throughput, 1 KB = 1,000 bytes"},
};

static void start(void *st, const double *a, uint64_t now, const struct tx_io *io)
{
	struct bandwidth *b = st;
	(void)a, (void)io;
	b->free_us = (double)now;
}

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct bandwidth *b = st;
	if (tx_pass_untimed(io, in, (uint64_t)b->free_us)) /* the end after every byte */
		return;
	double bytes_per_us = a[0] * 1000.0 / 1e6;
	/* Pieces of 10 ms of the link's time: the bytes flow, not lurch. */
	uint64_t piece = (uint64_t)(a[0] * 1000.0 / 100.0);
	if (piece < 1)
		piece = 1;
	for (uint64_t done = 0; done < in->len;) {
		uint64_t n = in->len - done < piece ? in->len - done : piece;
		double begin = b->free_us > (double)in->due_us ? b->free_us : (double)in->due_us;
		b->free_us = begin + (double)n / bytes_per_us;
		tx_emit(io, in->off + done, n, (uint64_t)b->free_us, in->flags);
		done += n;
	}
}

const struct toxic_type toxic_bandwidth = {
        .name = "bandwidth",
        .summary = "throughput capped at rate KB/s",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct bandwidth),
        .start = start,
        .seg = seg,
};
