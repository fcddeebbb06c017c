/* warmup.h — FreeRDP 2.11's lazily made statics, made once up front. */
#ifndef RDPFAULT_FREERDP_WARMUP_H
#define RDPFAULT_FREERDP_WARMUP_H

/* Makes FreeRDP's BIO methods (the socket BIOs of its transport, the TLS
 * BIO) on the calling thread. FreeRDP 2.11 makes each on first use with no
 * lock: two first connections at once each make one and one is lost (a
 * 109-byte leak LeakSanitizer reports). Call before any peer thread runs.
 * Returns 0, or -1 when FreeRDP could not make a peer. */
int freerdp_warm_statics(void);

#endif
