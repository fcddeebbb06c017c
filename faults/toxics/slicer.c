/* slicer.c — bytes split into small writes with a pause between them (a
 * link that delivers a PDU in pieces: parsers that assume one read per
 * PDU break). */
#include "faults/toxics/toxic.h"

struct slicer {
	uint64_t last;
};

static const struct tx_attr attrs[] = {
        {"average_size", "bytes", 1, 1048576, 64, 1, "size of each slice"},
        {"size_variation", "bytes", 0, 1048576, 0, 1, "slices vary by up to this much"},
        {"delay", "us", 0, 60000000, 0, 1, "pause between slices"},
};

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct slicer *s = st;
	if (tx_pass_untimed(io, in, s->last))
		return;
	uint64_t due = in->due_us > s->last ? in->due_us : s->last;
	for (uint64_t done = 0, k = 0; done < in->len; k++) {
		double size = a[0];
		if (a[1] > 0)
			size += a[1] * (2.0 * tx_uniform(io) - 1.0);
		uint64_t n = size < 1 ? 1 : (uint64_t)size;
		if (n > in->len - done)
			n = in->len - done;
		if (k)
			due += (uint64_t)a[2];
		tx_emit(io, in->off + done, n, due, in->flags);
		done += n;
	}
	s->last = due;
}

const struct toxic_type toxic_slicer = {
        .name = "slicer",
        .summary = "bytes split into slices of average_size +- size_variation, delay us apart",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct slicer),
        .seg = seg,
};
