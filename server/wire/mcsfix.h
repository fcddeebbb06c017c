/* mcsfix.h — accepts rdesktop's MCS Erect Domain Request as Windows does.
 *
 * rdesktop (1.x, all versions to 1.9) writes the Erect Domain Request's two
 * INTEGERs as bare 16-bit big-endian values, with no PER length byte:
 *
 *   03 00 00 0c  02 f0 80  04  00 01  00 01     rdesktop (subHeight 1, subInterval 1)
 *   03 00 00 0c  02 f0 80  04  01 00  01 00     xfreerdp, mstsc (canonical PER, 0 and 0)
 *
 * Windows ignores the two fields. FreeRDP 2 (since 2.0.0) parses them as
 * PER (the first as a zero-length INTEGER, the second as length 1, value 0)
 * and rejects the one byte left over ("Received invalid TPKT header length
 * 12, 1 bytes too long!"), so the connection ends in MCS_CONNECT.
 *
 * A length byte of 0 is never valid aligned PER for these INTEGERs (a
 * semi-constrained whole number takes at least one octet), so a body
 * starting 00 is always the bare-UINT16 form: mcsfix rewrites its two high
 * bytes, in place, to PER length bytes of 1: `00 01 00 01` becomes
 * `01 01 01 01`, the same values (1, 1) and the same length (values of
 * 256 or more cannot be rewritten in place and are left to FreeRDP's
 * verdict, as is anything else). Nothing else
 * is changed, and it stops looking after the first MCS domain PDU (which
 * is always the Erect Domain Request) or at the first byte that is not a
 * TPKT.
 *
 * It reads a client-to-server plaintext stream from its start (the relay's
 * stream from the X.224 Connection Request, for RDP Standard Security) or
 * from the MCS Connect Initial (TLS plaintext after the handshake and
 * CredSSP), across any split into chunks. A zeroed struct is a new stream. */
#ifndef RDPFAULT_MCSFIX_H
#define RDPFAULT_MCSFIX_H

#include <stddef.h>
#include <stdint.h>

struct mcsfix {
	uint8_t hdr[8];   /* first bytes of the current TPKT */
	uint32_t pos;     /* bytes of the current TPKT seen */
	uint32_t len;     /* its TPKT length, 0 until known */
	uint32_t units;   /* TPKTs passed */
	int height_fixed; /* this PDU's first length byte was rewritten */
	int done;         /* nothing more to look at in this stream */
};

/* Feeds a chunk of the stream, rewriting it in place where needed.
 * Returns 1 when this chunk completed a rewrite of the PDU, else 0. */
int mcsfix_feed(struct mcsfix *f, uint8_t *buf, size_t len);

#endif
