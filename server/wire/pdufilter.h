/* pdufilter.h — whole PDUs out of a plaintext RDP stream, some of them
 * withheld from the reader.
 *
 * FreeRDP reads its peer's stream a piece at a time (a header, then the
 * rest) and would act on any PDU it is handed. Where the harness (or its
 * test client) must keep a PDU from FreeRDP — an Initiate Multitransport
 * Response FreeRDP 2.11's server would disconnect on, a request its client
 * would — the filter sits under FreeRDP's reads: it assembles each PDU
 * (TPKT or fast-path framing) from the underlying reads, asking for no byte
 * past the PDU, shows it to `keep`, and hands kept PDUs to the reader
 * unchanged. A stream whose framing it cannot follow is passed through
 * untouched from there on. No dependency but libc: tested alone. */
#ifndef RDPFAULT_PDUFILTER_H
#define RDPFAULT_PDUFILTER_H

#include <stddef.h>
#include <stdint.h>

#define PDUFILTER_MAX 65536

/* The underlying read: >0 bytes read, <=0 as SSL_read (the caller asks the
 * handle why). */
typedef int (*pdufilter_read_fn)(void *io, uint8_t *buf, int num);
/* 1: hand the PDU on; 0: withhold it. */
typedef int (*pdufilter_keep_fn)(void *arg, const uint8_t *pdu, size_t len);

struct pdufilter {
	uint8_t *buf;    /* allocated on first use, PDUFILTER_MAX bytes */
	size_t len;      /* bytes assembled */
	size_t need;     /* the PDU's length once its header is in, else 0 */
	size_t served;   /* of a complete kept PDU, bytes handed on */
	int complete;    /* buf holds a kept PDU being handed on */
	int passthrough; /* framing lost: plain reads from here */
	uint64_t withheld;
};

/* Assembles until a kept PDU is complete (1), or returns the underlying
 * read's result (<= 0) when it gives no more for now; -2 when out of
 * memory. Keeps nothing pending beyond one PDU. */
int pdufilter_fill(struct pdufilter *f, pdufilter_read_fn rd, void *io, pdufilter_keep_fn keep,
                   void *arg);
/* Reads as the underlying read would, minus the withheld PDUs. */
int pdufilter_read(struct pdufilter *f, pdufilter_read_fn rd, void *io, pdufilter_keep_fn keep,
                   void *arg, uint8_t *out, int num);
/* 1 when a kept PDU (or a part of one) waits to be read. */
int pdufilter_has_kept(const struct pdufilter *f);
void pdufilter_free(struct pdufilter *f);

#endif
