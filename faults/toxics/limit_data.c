/* limit_data.c — the connection closes once `bytes` passed in this
 * direction; the bytes past the limit never arrive. */
#include "faults/toxics/toxic.h"

struct limit_data {
	uint64_t passed;
	int ended;
};

static const struct tx_attr attrs[] = {
        {"bytes", "bytes", 0, 1e15, 0, 1, "bytes passed before the close"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct limit_data *l = st;
	uint64_t limit = (uint64_t)a[0];
	if (l->ended || !in->len || (in->flags & TX_DROP)) {
		/* Past the limit bytes vanish; the close itself still goes. */
		unsigned drop = l->ended && in->len ? TX_DROP : 0;
		tx_emit(io, in->off, in->len, in->due_us, in->flags | drop);
		return;
	}
	uint64_t room = limit - l->passed;
	uint64_t n = in->len < room ? in->len : room;
	if (n)
		tx_emit(io, in->off, n, in->due_us, in->flags);
	l->passed += n;
	if (l->passed >= limit) {
		l->ended = 1;
		if (in->len > n)
			tx_emit(io, in->off + n, in->len - n, in->due_us, in->flags | TX_DROP);
		io->end(io->arg, in->due_us, TX_END_CLOSE);
	}
}

const struct toxic_type toxic_limit_data = {
        .name = "limit_data",
        .summary = "the connection closes once `bytes` passed in this direction",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct limit_data),
        .seg = seg,
};
