/* pduinfo.h — names the RDP PDUs of a plaintext stream, for the event log
 * ("the last PDU read") and for the phases that are defined by a PDU (the
 * server's Control Granted Control ends `finalization`'s server flight).
 *
 * A tap follows one direction of the plaintext the harness sees under
 * TLS (FreeRDP's SSL_read and SSL_write): it frames TPKT, fast-path and
 * CredSSP (DER) units across any split into reads, keeps each unit's first
 * bytes and, once the unit is whole, names it. Bytes are only looked at,
 * never changed. A stream it cannot frame is named "unframed" once and not
 * followed further. Under RDP Standard Security the PDUs are encrypted:
 * they are named by their security header ("encrypted"). */
#ifndef RDPFAULT_PDUINFO_H
#define RDPFAULT_PDUINFO_H

#include <stddef.h>
#include <stdint.h>

#define PDUINFO_HEAD 64 /* bytes of a unit kept for naming it */

/* The Disconnect Provider Ultimatum's name: from a client, its goodbye. */
#define PDU_NAME_ULTIMATUM "mcs-disconnect-provider-ultimatum"

/* What one unit is. name is a static string: "x224-connection-request",
 * "mcs-connect-initial", "mcs-attach-user-request", "client-info",
 * "license", "confirm-active", "synchronize", "control-cooperate",
 * "control-request-control", "control-granted-control", "font-list",
 * "font-map", "input", "fastpath-input", "tsrequest", "channel-data", ... */
struct pduinfo {
	const char *name;
	unsigned share_type; /* share control pduType & 0xF (1 demand active, 3 confirm active,
	                        7 data), 0 when none */
	unsigned data_type;  /* share data pduType2, 0 when none */
	unsigned channel;    /* MCS channel of a Send Data PDU, 0 when none */
	size_t length;       /* the whole unit */
};

/* Names one whole unit from its first bytes (head may be cut at
 * PDUINFO_HEAD; `length` is the unit's full length). */
void pduinfo_name(const uint8_t *head, size_t headlen, size_t length, struct pduinfo *out);

typedef void (*pdutap_fn)(void *arg, const struct pduinfo *pdu);

struct pdutap {
	uint8_t head[PDUINFO_HEAD];
	size_t have;         /* head bytes kept of the current unit */
	size_t length;       /* its length once its header is in, else 0 */
	size_t pos;          /* bytes of it seen */
	int lost;            /* framing lost: nothing more is named */
	uint64_t units;      /* units named */
	uint64_t units_data; /* of them X.224 Data TPDUs (DER framing ends at the first) */
};

/* Feeds bytes; calls fn for every unit they complete. A zeroed tap is a
 * new stream. */
void pdutap_feed(struct pdutap *t, const uint8_t *buf, size_t len, pdutap_fn fn, void *arg);

#endif
