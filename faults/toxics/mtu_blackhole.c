/* mtu_blackhole.c — a path whose MTU is smaller than the ends believe,
 * with the ICMP that would say so filtered: small segments pass, the first
 * full-size one is lost for good, and TCP (in order) delivers nothing
 * after it. The harness models a segment as a protocol unit (a TLS record,
 * a TPKT, a fast-path PDU), so the moment is the same every run: typically
 * the server's certificate, the first unit longer than the MTU. */
#include "faults/toxics/toxic.h"

struct mtu_blackhole {
	int cut;
	uint64_t cut_off; /* stream offset of the first unit longer than mtu */
};

static const struct tx_attr attrs[] = {
        {"mtu", "bytes", 1, 65535, 1400, 1, "units longer than this are lost, and all after"},
};

static void unit(void *st, const double *a, uint64_t off, uint64_t len)
{
	struct mtu_blackhole *m = st;
	if (!m->cut && len > (uint64_t)a[0]) {
		m->cut = 1;
		m->cut_off = off;
	}
}

static void seg(void *st, const double *a, const struct tx_seg *in, const struct tx_io *io)
{
	struct mtu_blackhole *m = st;
	(void)a;
	if (!m->cut || (in->len && in->off + in->len <= m->cut_off)) {
		io->emit(io->arg, in);
		return;
	}
	uint64_t keep = in->off < m->cut_off ? m->cut_off - in->off : 0;
	if (keep)
		tx_emit(io, in->off, keep, in->due_us, in->flags);
	tx_emit(io, in->off + keep, in->len - keep, in->due_us, in->flags | TX_DROP);
}

const struct toxic_type toxic_mtu_blackhole = {
        .name = "mtu_blackhole",
        .summary = "units up to mtu bytes pass; the first larger one and all after vanish",
        .attrs = attrs,
        .n_attrs = sizeof attrs / sizeof *attrs,
        .state_size = sizeof(struct mtu_blackhole),
        .seg = seg,
        .unit = unit,
};
