/* mcsfix.c — rdesktop's Erect Domain Request made acceptable to FreeRDP
 * (see mcsfix.h). */
#include "wire/mcsfix.h"

#include <string.h>

#define MAX_UNITS 4 /* X.224 CR, Connect Initial, Erect Domain: never more before it */

static const uint8_t edrq_head[4] = {0x02, 0xf0, 0x80, 0x04}; /* X.224 DT, ErectDomainRequest */

int mcsfix_feed(struct mcsfix *f, uint8_t *buf, size_t len)
{
	int fixed = 0;
	size_t i = 0;

	while (i < len && !f->done) {
		if (f->pos < 8) {
			uint8_t b = buf[i];
			if (f->pos == 0 && b != 0x03) { /* not a TPKT: TLS, fast-path, garbage */
				f->done = 1;
				break;
			}
			f->hdr[f->pos] = b;
			if (f->pos == 3) {
				f->len = (uint32_t)f->hdr[2] << 8 | f->hdr[3];
				if (f->len < 8) { /* too short to be anything here */
					f->done = 1;
					break;
				}
			}
			f->pos++;
			i++;
		} else {
			int edrq = f->len == 12 && memcmp(f->hdr + 4, edrq_head, 4) == 0;
			/* subInterval's high byte must be 0 too (it is rewritten
			 * next); when it is already in this chunk, look. */
			if (edrq && f->pos == 8 && buf[i] == 0x00 &&
			    (len - i < 3 || buf[i + 2] == 0x00)) {
				buf[i] = 0x01;
				f->height_fixed = 1;
			} else if (edrq && f->pos == 10 && f->height_fixed && buf[i] == 0x00) {
				buf[i] = 0x01;
				fixed = 1;
			}
			/* Only bytes 8 and 10 can change: step one at a time up
			 * to them, then skip to the end of the unit. */
			size_t step = edrq && f->pos < 11 ? 1 : f->len - f->pos;
			if (step > len - i)
				step = len - i;
			f->pos += (uint32_t)step;
			i += step;
		}
		if (f->len && f->pos == f->len) {
			/* The first MCS domain PDU (X.224 DT, not BER 7f) ends the search. */
			int domain = f->hdr[5] == 0xf0 && f->hdr[7] != 0x7f;
			f->units++;
			f->pos = f->len = 0;
			f->height_fixed = 0;
			if (domain || f->units >= MAX_UNITS)
				f->done = 1;
		}
	}
	return fixed;
}
