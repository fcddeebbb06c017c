/* tlshook.h — interposition on libssl calls made by libfreerdp2, tied to
 * FreeRDP 2.11 + OpenSSL 3 and isolated here. The executable defines the
 * libssl function and forwards to the real one found with
 * dlsym(RTLD_NEXT); libfreerdp2's calls resolve to the executable first.
 *
 * Now: SSL_do_handshake, to mark the moment the server's TLS handshake
 * completes (phase tls-finished) with the version and cipher chosen. */
#ifndef RDPFAULT_TLSHOOK_H
#define RDPFAULT_TLSHOOK_H

/* 1 when the interposed function resolves to the real libssl one. */
int tlshook_ready(void);

#endif
