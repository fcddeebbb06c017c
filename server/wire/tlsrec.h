/* tlsrec.h — framing of the byte stream the relay carries, one direction
 * at a time: TPKT (X.224, slow-path RDP), fast-path RDP PDUs and TLS
 * records. It reads only headers, across any split of the stream into
 * chunks, and tells the caller where each unit starts, so the relay can
 * log phases and (for faults) cut the stream at an exact unit boundary.
 *
 * Once a TLS record is seen the stream stays TLS; once the caller says the
 * stream is plain (tlsrec_set_plain), nothing is read as TLS. A first byte that fits
 * no framing stops the scanner for the rest of the stream (the relay keeps
 * relaying; it just stops interpreting). */
#ifndef RDPFAULT_TLSREC_H
#define RDPFAULT_TLSREC_H

#include <stddef.h>
#include <stdint.h>

enum tlsrec_kind { TLSREC_TPKT = 1, TLSREC_FASTPATH = 2, TLSREC_TLS = 3 };

/* TLS content types (RFC 8446 5.1). */
#define TLS_CT_CHANGE_CIPHER_SPEC 20
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23

struct tlsrec_unit {
	enum tlsrec_kind kind;
	uint32_t length;      /* whole unit, header included */
	uint32_t index;       /* 0-based count of units in this direction */
	uint32_t tls_index;   /* 0-based count of TLS records (TLS units only) */
	uint8_t content_type; /* TLS units only */
	int hs_type;          /* first handshake message type of a handshake record, else -1 */
	uint8_t tpdu_code;    /* TPKT units: X.224 TPDU code (0xE0 CR, 0xD0 CC, 0xF0 DT), else 0 */
	size_t offset;        /* where the unit starts in the chunk being fed; 0 when it began in an
	                         earlier chunk */
	size_t start_back;    /* how many of its bytes came in earlier chunks (0 or a few
	                         header bytes) */
};

struct tlsrec_scanner {
	uint8_t hdr[6];
	size_t have;        /* header bytes collected for the unit being started */
	uint32_t remaining; /* bytes of the current unit body still to pass */
	int tls;            /* the stream has switched to TLS */
	int plain;          /* the stream will never be TLS (RDP Standard Security): a
	                       first byte 0x14..0x17 is a fast-path PDU */
	int stopped;        /* unframed data seen: no more interpretation */
	uint32_t units, tls_records;
	uint64_t bytes;
};

/* Called when a unit's header is complete. Return 0 to go on, non-zero to
 * stop feeding: tlsrec_feed then returns the offset where that unit began
 * in this chunk (bytes before it are accounted for, the unit is not). */
typedef int (*tlsrec_cb)(const struct tlsrec_unit *u, void *arg);

void tlsrec_init(struct tlsrec_scanner *s);
/* Says the stream carries no TLS from here on. */
void tlsrec_set_plain(struct tlsrec_scanner *s);
/* Feeds a chunk; returns how many bytes of it were consumed (== len unless
 * the callback stopped the scan). */
size_t tlsrec_feed(struct tlsrec_scanner *s, const uint8_t *buf, size_t len, tlsrec_cb cb,
                   void *arg);

#endif
