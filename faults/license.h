/* license.h — the license-error primitive: a Licensing Error Message
 * (MS-RDPBCGR 2.2.1.12.1.3, MS-RDPELE 2.2.2.7) with a chosen dwErrorCode
 * and dwStateTransition, ST_TOTAL_ABORT by default.
 *
 * FreeRDP 2.11's server sends only the "valid client" answer (the same
 * message with STATUS_VALID_CLIENT, ST_NO_TRANSITION). Its headers (the
 * MCS user channel, the security header) are FreeRDP's to know, so the
 * harness lets FreeRDP write that answer and rewrites the two fields in
 * the plaintext on its way into TLS: same length, same framing. */
#ifndef RDPFAULT_FAULTS_LICENSE_H
#define RDPFAULT_FAULTS_LICENSE_H

#include <stddef.h>
#include <stdint.h>

#define LICENSE_ERR_NO_LICENSE_SERVER 0x00000006u
#define LICENSE_STATUS_VALID_CLIENT 0x00000007u
#define LICENSE_ST_TOTAL_ABORT 0x00000001u

/* dwErrorCode for "ERR_NO_LICENSE_SERVER", "no-license-server", "6". */
int license_error_code(const char *text, uint32_t *code);
const char *license_error_name(uint32_t code);
/* dwStateTransition for "ST_TOTAL_ABORT", "total-abort", "1". */
int license_transition_code(const char *text, uint32_t *code);
const char *license_transition_name(uint32_t code);

/* In server-to-client slow-path PDUs (one or more TPKTs, as one write
 * carries them), finds the first that is a licensing ERROR_ALERT (TPKT,
 * X.224 Data, MCS Send Data Indication, a security header with
 * SEC_LICENSE_PKT and no encryption, the licensing preamble) and sets its
 * dwErrorCode and dwStateTransition. Every length is checked against len.
 * 0 when rewritten; -1 when there is no such PDU or the TPKTs do not
 * exactly fill len. */
int license_error_rewrite(uint8_t *pdu, size_t len, uint32_t code, uint32_t transition);

#endif
