/* credssp.h — the CredSSP error primitive: the NTSTATUS a server reports
 * in a TSRequest errorCode when authentication fails (MS-CSSP 2.2.1), by
 * name or number. The TSRequest itself is built by tsrequest.h. */
#ifndef RDPFAULT_FAULTS_CREDSSP_H
#define RDPFAULT_FAULTS_CREDSSP_H

#include <stdint.h>

/* The NTSTATUS for "STATUS_LOGON_FAILURE", "logon-failure" or
 * "0xC000006D". 0, or -1 when unknown. */
int credssp_status_code(const char *text, uint32_t *code);

#endif
