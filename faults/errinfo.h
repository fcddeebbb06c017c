/* errinfo.h — the deny primitive's codes: the errorInfo values of the Set
 * Error Info PDU (MS-RDPBCGR 2.2.5.1.1), by name or number. A server sends
 * the PDU, then disconnects; ERRINFO_SERVER_DENIED_CONNECTION (0x7) is the
 * "extended 0x7" of mstsc's 0x904. */
#ifndef RDPFAULT_FAULTS_ERRINFO_H
#define RDPFAULT_FAULTS_ERRINFO_H

#include <stdint.h>

#define ERRINFO_SERVER_DENIED_CONNECTION_CODE 0x00000007u

/* The code for "ERRINFO_SERVER_DENIED_CONNECTION", "server-denied-connection",
 * "7" or "0x7". 0, or -1 when unknown. */
int errinfo_code(const char *text, uint32_t *code);
/* "ERRINFO_SERVER_DENIED_CONNECTION" for 0x7, or NULL. */
const char *errinfo_name(uint32_t code);

#endif
