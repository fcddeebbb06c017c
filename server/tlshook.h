/* tlshook.h — interposition on libssl calls made by libfreerdp2, tied to
 * FreeRDP 2.11 + OpenSSL 3 and isolated here. The executable defines the
 * libssl functions and forwards to the real ones found with
 * dlsym(RTLD_NEXT); libfreerdp2's calls resolve to the executable first
 * (the link exports exactly these symbols).
 *
 * - SSL_do_handshake: tells the peer before and after each step of the
 *   server's handshake (where its first flight ends, when it completes) and
 *   hands it the connection's SSL handle.
 * - SSL_write: shows the peer every plaintext PDU the server writes; the
 *   peer may replace one with a PDU of the same length, or of another
 *   length (written whole; FreeRDP is told its bytes went), or write its
 *   own with tlshook_write and have the hook fail FreeRDP's write, which
 *   ends the connection.
 * - SSL_read: shows the peer every plaintext PDU the client sent (as
 *   FreeRDP reads it: a PDU may come in more than one read), before
 *   FreeRDP parses it; the peer may rewrite bytes in place (never their
 *   count, so SSL_pending and FreeRDP's framing are unaffected). A peer
 *   whose scenario bootstraps multitransport reads through its PDU filter
 *   instead, which withholds the PDUs FreeRDP must not see.
 * - send: FreeRDP's socket writes (TLS records, or RDP Standard Security's
 *   plaintext): counted per peer, and withheld or held once a fault
 *   struck (see peer.h).
 * tlshook_write() writes on that handle from the peer's own thread without
 * passing through the hook: the way the harness adds a PDU FreeRDP 2 has
 * no sender for. */
#ifndef RDPFAULT_TLSHOOK_H
#define RDPFAULT_TLSHOOK_H

#include <openssl/ssl.h>

/* 1 when the interposed functions resolve to the real libssl ones. */
int tlshook_ready(void);

/* libssl's own SSL_read, past the hook. */
int tlshook_read_raw(SSL *ssl, void *buf, int num);

/* Writes all of buf on ssl (looping over partial writes). 0, or -1. */
int tlshook_write(SSL *ssl, const void *buf, int num);

#endif
