/* tsrequest.h — the two CredSSP TSRequest facts the harness needs
 * (MS-CSSP 2.2.1): the version a DER TSRequest carries, and a TSRequest
 * that holds only a version and an errorCode (the NTSTATUS a server
 * reports when authentication fails). Reads untrusted bytes: bounds-checked. */
#ifndef RDPFAULT_TSREQUEST_H
#define RDPFAULT_TSREQUEST_H

#include <stddef.h>
#include <stdint.h>

#define TSREQUEST_ERROR_MAX 16

/* NTSTATUS values clients map to distinct messages. */
#define NTSTATUS_LOGON_FAILURE 0xC000006Du
#define NTSTATUS_WRONG_PASSWORD 0xC000006Au
#define NTSTATUS_ACCOUNT_RESTRICTION 0xC000006Eu
#define NTSTATUS_PASSWORD_EXPIRED 0xC0000071u
#define NTSTATUS_ACCOUNT_DISABLED 0xC0000072u
#define NTSTATUS_ACCESS_DENIED 0xC0000022u
#define NTSTATUS_PASSWORD_MUST_CHANGE 0xC0000224u
#define NTSTATUS_ACCOUNT_LOCKED_OUT 0xC0000234u
#define NTSTATUS_ACCOUNT_EXPIRED 0xC0000193u
#define NTSTATUS_LOGON_TYPE_NOT_GRANTED 0xC000015Bu

/* The version of the TSRequest at buf[0..len), or -1 when it is not one. */
int tsrequest_version(const uint8_t *buf, size_t len);

/* The version at the start of a TSRequest whose first bytes are buf (the
 * rest may not have arrived), or -1. */
int tsrequest_peek_version(const uint8_t *buf, size_t len);

/* Follows a stream of TSRequests arriving in reads of any size (FreeRDP
 * reads a PDU's header and body separately): counts them and keeps the
 * last version seen. */
struct tsrequest_stream {
	uint8_t head[16];
	size_t have;      /* header bytes of the TSRequest being started */
	size_t remaining; /* body bytes of the current TSRequest still to come */
	int version;      /* of the last TSRequest, -1 before any */
	unsigned count;   /* TSRequests started */
	int broken;       /* the stream is not TSRequests: stop interpreting */
};
void tsrequest_stream_init(struct tsrequest_stream *s);
void tsrequest_stream_feed(struct tsrequest_stream *s, const uint8_t *buf, size_t len);

/* Which context-tagged fields [0]..[7] the TSRequest at buf[0..len)
 * holds, as a bit mask (bit n: [n]; [3] is pubKeyAuth); 0 when buf is not a
 * whole TSRequest. */
unsigned tsrequest_fields(const uint8_t *buf, size_t len);
#define TSREQUEST_PUB_KEY_AUTH (1u << 3)

/* Writes TSRequest { version, errorCode = code } into out (at least
 * TSREQUEST_ERROR_MAX bytes); returns its length, or 0 when the version
 * carries no errorCode (below 3, or 5). */
size_t tsrequest_error(uint32_t version, uint32_t code, uint8_t *out);

/* "STATUS_LOGON_FAILURE" for a known code, else NULL. */
const char *ntstatus_name(uint32_t code);

#endif
