/* loss.c — packet loss as the application sees it over TCP: nothing is
 * missing, but a lost segment arrives only after a retransmission timeout
 * (doubling on each repeat, at most 8), and every byte behind it waits
 * (head-of-line blocking), so throughput collapses as on a lossy VPN. */
#include "faults/toxics/toxic.h"

#define MAX_REPEATS 8

struct loss {
	uint64_t last;
};

static const struct tx_attr attrs[] = {
        {"rate", "", 0, 1, 0.01, 0, "share of segments lost (0-1), each try"},
        {"retransmit_ms", "ms", 1, 60000, 200, 1, "first retransmission timeout (Linux: 200)"},
        {"mss", "bytes", 1, 65535, 1448, 1, "segment size"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct loss *l = st;
	if (tx_pass_untimed(io, in, l->last))
		return;
	uint64_t mss = (uint64_t)a[2];
	for (uint64_t done = 0; done < in->len;) {
		uint64_t n = in->len - done < mss ? in->len - done : mss;
		uint64_t delay = 0;
		for (int k = 0; k < MAX_REPEATS && tx_uniform(io) < a[0]; k++)
			delay += (uint64_t)(a[1] * 1000.0) << k;
		uint64_t due = in->due_us + delay;
		if (due < l->last)
			due = l->last;
		l->last = due;
		tx_emit(io, in->off + done, n, due, in->flags);
		done += n;
	}
}

const struct toxic_type toxic_loss = {
        .name = "loss",
        .summary = "lost segments arrive after retransmit_ms (doubling), the rest wait behind them",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct loss),
        .seg = seg,
};
