/* nego.h — the negotiation-failure primitive: an X.224 Connection Confirm
 * carrying RDP_NEG_FAILURE (MS-RDPBCGR 2.2.1.2.2), written by the harness
 * itself. FreeRDP emits codes 1, 2 and 5 from its security flags; codes 3,
 * 4 and 6 (and any code at any moment) need this. */
#ifndef RDPFAULT_FAULTS_NEGO_H
#define RDPFAULT_FAULTS_NEGO_H

#include <stddef.h>
#include <stdint.h>

#define NEG_FAILURE_PDU_LEN 19

/* The failure code for "3", "0x3" or a name such as
 * "SSL_CERT_NOT_ON_SERVER" (case-insensitive). 0, or -1 when unknown. */
int nego_failure_code(const char *text, uint32_t *code);
/* "SSL_CERT_NOT_ON_SERVER" for 3, NULL for a code MS-RDPBCGR does not name. */
const char *nego_failure_name(uint32_t code);
/* Writes the Connection Confirm PDU (NEG_FAILURE_PDU_LEN bytes). */
size_t nego_failure_pdu(uint32_t code, uint8_t out[NEG_FAILURE_PDU_LEN]);

#endif
