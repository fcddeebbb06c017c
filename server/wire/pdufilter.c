/* pdufilter.c — PDU assembly under a reader (see pdufilter.h). */
#include "wire/pdufilter.h"

#include <stdlib.h>
#include <string.h>

/* How many bytes the PDU in f->buf needs in all, once the header says;
 * 0 while the header is incomplete; -1 when the framing is not RDP's. */
static long total_of(const struct pdufilter *f)
{
	const uint8_t *b = f->buf;
	if (f->len < 2)
		return 0;
	if (b[0] == 0x03) { /* TPKT: version 3, reserved, 16-bit length */
		if (f->len < 4)
			return 0;
		long n = (long)b[2] << 8 | b[3];
		return n >= 7 ? n : -1;
	}
	if ((b[0] & 0x03) == 0) { /* fast-path: action 0, then a 1- or 2-byte length */
		if (!(b[1] & 0x80))
			return b[1] >= 2 ? (long)b[1] : -1;
		if (f->len < 3)
			return 0;
		long n = (long)(b[1] & 0x7F) << 8 | b[2];
		return n >= 3 ? n : -1;
	}
	return -1;
}

int pdufilter_fill(struct pdufilter *f, pdufilter_read_fn rd, void *io, pdufilter_keep_fn keep,
                   void *arg)
{
	if (f->complete || f->passthrough)
		return 1;
	if (!f->buf && !(f->buf = malloc(PDUFILTER_MAX)))
		return -2;
	for (;;) {
		long total = total_of(f);
		if (total < 0) {
			f->passthrough = 1;
			f->complete = 1; /* hand on what is here, then read plainly */
			f->need = f->len;
			return 1;
		}
		f->need = (size_t)total;
		/* Ask for the header bytes still missing, else the rest. */
		size_t want = total == 0 ? (f->len < 2 ? 2 - f->len : 1) : f->need - f->len;
		if (total > 0 && want == 0) {
			if (keep(arg, f->buf, f->len)) {
				f->complete = 1;
				f->served = 0;
				return 1;
			}
			f->withheld++;
			f->len = f->need = 0;
			continue;
		}
		int rc = rd(io, f->buf + f->len, (int)want);
		if (rc <= 0)
			return rc;
		f->len += (size_t)rc;
	}
}

int pdufilter_read(struct pdufilter *f, pdufilter_read_fn rd, void *io, pdufilter_keep_fn keep,
                   void *arg, uint8_t *out, int num)
{
	if (num <= 0)
		return rd(io, out, num);
	if (f->passthrough && !f->complete)
		return rd(io, out, num);
	int rc = pdufilter_fill(f, rd, io, keep, arg);
	if (rc != 1)
		return rc;
	size_t left = f->len - f->served;
	size_t n = left < (size_t)num ? left : (size_t)num;
	memcpy(out, f->buf + f->served, n);
	f->served += n;
	if (f->served == f->len) {
		f->complete = 0;
		f->len = f->need = f->served = 0;
	}
	return (int)n;
}

int pdufilter_has_kept(const struct pdufilter *f)
{
	return f->complete && f->served < f->len;
}

void pdufilter_free(struct pdufilter *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}
