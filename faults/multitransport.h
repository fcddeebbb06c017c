/* multitransport.h — the multitransport primitive on the TCP side: the
 * PDUs of MS-RDPBCGR's multitransport bootstrapping, built and parsed with
 * every length checked.
 *
 * - the client's MCS Connect Initial says whether it can do UDP (Client
 *   Multitransport Channel Data, 2.2.1.3.8) and wants a message channel
 *   (2.2.1.3.7);
 * - the server's MCS Connect Response carries Server Multitransport Channel
 *   Data (2.2.1.4.6). FreeRDP 2.11 never writes that block, so the harness
 *   appends it and re-encodes every enclosing length (PER, BER, TPKT);
 * - the Initiate Multitransport Request (2.2.15.1) goes to the client on
 *   the message channel before Demand Active; its Initiate Multitransport
 *   Response (2.2.15.2) comes back with an hrResponse (E_ABORT: UDP
 *   failed).
 * The request and response builders/parsers serve both the server and the
 * project's own test client. */
#ifndef RDPFAULT_FAULTS_MULTITRANSPORT_H
#define RDPFAULT_FAULTS_MULTITRANSPORT_H

#include <stddef.h>
#include <stdint.h>

#define MT_TRANSPORTTYPE_UDPFECR 0x0001u /* reliable */
#define MT_TRANSPORTTYPE_UDPFECL 0x0004u /* lossy */
#define MT_TRANSPORTTYPE_UDP_PREFERRED 0x0100u
#define MT_SOFTSYNC_TCP_TO_UDP 0x0200u
#define MT_UDP_MASK (MT_TRANSPORTTYPE_UDPFECR | MT_TRANSPORTTYPE_UDPFECL)

#define MT_E_ABORT 0x80004004u
#define MT_S_OK 0x00000000u

#define MT_COOKIE_LEN 16
#define MT_REQUEST_PDU_LEN 42
#define MT_RESPONSE_PDU_LEN 26
#define MT_CONNECT_RESPONSE_GROWTH 16 /* the block, and lengths growing a byte each */

/* What the client's MCS Connect Initial says. */
struct mt_client_data {
	int has_multitransport; /* a CS_MULTITRANSPORT block was present */
	uint32_t flags;         /* its flags (TRANSPORTTYPE_*) */
	int has_msgchannel;     /* a CS_MCS_MSGCHANNEL block was present */
};

/* Parses one MCS Connect Initial PDU (TPKT, X.224 Data, BER
 * Connect-Initial, GCC Conference Create Request, client data blocks).
 * 0 on success; -1 with *why set when the bytes are not one. */
int mt_parse_connect_initial(const uint8_t *pdu, size_t len, struct mt_client_data *out,
                             const char **why);

/* Reads an MCS Connect Response PDU: its message channel id (0 when it has
 * no SC_MCS_MSGCHANNEL block) and whether it already carries
 * SC_MULTITRANSPORT (and with which flags). 0, or -1 with *why. */
int mt_parse_connect_response(const uint8_t *pdu, size_t len, uint16_t *msgchannel,
                              int *has_multitransport, uint32_t *mt_flags, const char **why);

/* Writes into out (cap bytes; len + MT_CONNECT_RESPONSE_GROWTH is always
 * enough) the Connect Response pdu with a Server Multitransport Channel
 * Data block of `flags` appended to its server data blocks, every
 * enclosing length re-encoded. Returns the new length, or 0 with *why
 * (not a Connect Response, already has the block, no room). */
size_t mt_add_server_multitransport(const uint8_t *pdu, size_t len, uint32_t flags, uint8_t *out,
                                    size_t cap, const char **why);

/* The user id an MCS Attach User Confirm assigns (result 0 only). 0, or
 * -1 when the PDU is not a successful Attach User Confirm. */
int mt_parse_attach_user_confirm(const uint8_t *pdu, size_t len, uint16_t *user_id);

struct mt_request {
	uint16_t initiator, channel;
	uint32_t request_id;
	uint16_t protocol; /* MT_TRANSPORTTYPE_UDPFECR or _UDPFECL */
	uint8_t cookie[MT_COOKIE_LEN];
};

/* The Initiate Multitransport Request as a Send Data Indication (server
 * to client) on r->channel: MT_REQUEST_PDU_LEN bytes. */
size_t mt_request_pdu(const struct mt_request *r, uint8_t out[MT_REQUEST_PDU_LEN]);
/* 1 when pdu is an Initiate Multitransport Request (Send Data Indication,
 * SEC_TRANSPORT_REQ) on `channel` (the message channel; any when 0),
 * filled into *r; 0 when it is another PDU; -1 when it says it is one but
 * its body is short. */
int mt_parse_request(const uint8_t *pdu, size_t len, uint16_t channel, struct mt_request *r);

/* The Initiate Multitransport Response as a Send Data Request (client to
 * server): MT_RESPONSE_PDU_LEN bytes. */
size_t mt_response_pdu(uint16_t initiator, uint16_t channel, uint32_t request_id, uint32_t hr,
                       uint8_t out[MT_RESPONSE_PDU_LEN]);
/* 1 when pdu is an Initiate Multitransport Response (Send Data Request,
 * SEC_TRANSPORT_RSP) on `channel` (any channel when 0); 0 when it is
 * another PDU; -1 when it says it is one but its body is short. */
int mt_parse_response(const uint8_t *pdu, size_t len, uint16_t channel, uint32_t *request_id,
                      uint32_t *hr);

/* "reliable", "lossy" for a protocol; "E_ABORT", "S_OK" or NULL for an
 * hrResponse. */
const char *mt_protocol_name(uint16_t protocol);
const char *mt_hr_name(uint32_t hr);

#endif
