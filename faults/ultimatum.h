/* ultimatum.h — the disconnect-ultimatum primitive: an MCS Disconnect
 * Provider Ultimatum PDU (T.125; MS-RDPBCGR 2.2.2.3), the server's "this
 * domain is gone" with a reason. A Windows server ends a session with it
 * (after Deactivate All and Set Error Info, when it sends those). It is
 * plain MCS, never encrypted: the harness writes it itself. */
#ifndef RDPFAULT_FAULTS_ULTIMATUM_H
#define RDPFAULT_FAULTS_ULTIMATUM_H

#include <stddef.h>
#include <stdint.h>

#define ULTIMATUM_PDU_LEN 9
#define ULTIMATUM_RN_PROVIDER_INITIATED 1u

/* The reason for "rn-provider-initiated", "provider-initiated" or 0..4. */
int ultimatum_reason(const char *text, uint32_t *reason);
const char *ultimatum_reason_name(uint32_t reason);
/* Writes the PDU: TPKT, X.224 Data, the PER-encoded ultimatum. */
size_t ultimatum_pdu(uint32_t reason, uint8_t out[ULTIMATUM_PDU_LEN]);

#endif
