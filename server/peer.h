/* peer.h — the FreeRDP peer: one thread per connection that has chosen its
 * scenario, owning its freerdp_peer alone, configured from the scenario's
 * prepared resources. The thread blocks in FreeRDP's own loops; the only
 * action other threads take on it is closing the relay's end of the
 * socketpair, which FreeRDP sees as end-of-file. */
#ifndef RDPFAULT_PEER_H
#define RDPFAULT_PEER_H

#include <openssl/ssl.h>
#include <signal.h>
#include <stddef.h>

struct harness;
struct conn;

/* Starts the peer thread on `fd` (the socketpair end FreeRDP will own and
 * close). Takes a reference on the connection. 0, or -1. */
int peer_start(struct harness *h, struct conn *c, int fd);
long peer_running(void);
/* Waits up to timeout_ms for every peer thread to end (less when *forced
 * becomes set); returns how many are still running. */
long peer_wait_all(int timeout_ms, volatile sig_atomic_t *forced);

/* Hooks, called on a peer thread (see wloghook.c and tlshook.c). */
void peer_on_freerdp_state(const char *state_name);
/* Before (after = 0) and after (after = 1, rc: its result) each
 * SSL_do_handshake of a server handle. */
void peer_on_tls_step(SSL *ssl, int after, int rc);
/* The client's plaintext as FreeRDP reads it from TLS; may be rewritten
 * in place, never resized (see mcsfix.h). */
void peer_on_client_read(void *buf, size_t len);

/* What a hooked write does. */
enum peer_write {
	PW_PASS,    /* write it */
	PW_SWALLOW, /* report it written, write nothing: a fault struck, the client gets no more */
	PW_FAIL,    /* fail it: the peer wrote something else instead, or the connection is gone */
};
/* The server's plaintext on its way into TLS (FreeRDP's SSL_write).
 * *out / *out_len is what to write when passing: buf, a rewritten copy of
 * the same length, or a grown PDU (the MCS Connect Response with
 * multitransport). A stall holds the caller here until it ends. */
enum peer_write peer_on_server_write(const void *buf, size_t len, const void **out,
                                     size_t *out_len);
/* After FreeRDP's SSL_write wrote len bytes of it. */
void peer_on_server_written(const void *buf, size_t len);
/* FreeRDP's socket writes (send): TLS records, or RDP Standard Security's
 * plaintext. Counted as the server stream's offsets; under RDP Standard
 * Security also withheld or held once a fault struck. */
enum peer_write peer_on_socket_send(int fd, const void *buf, size_t len);
void peer_on_socket_sent(int fd, const void *buf, size_t len);
/* The scenario's key and certificate, parsed once at start, when the
 * caller is a peer thread (FreeRDP's tls_accept); else NULL. */
EVP_PKEY *peer_tls_key(void);
X509 *peer_tls_cert(void);
/* FreeRDP is about to read its socket (recv). */
void peer_on_socket_recv(int fd);
/* 1 when this thread's peer reads the client through its PDU filter. */
int peer_filters_reads(void);
/* SSL_read for such a peer: `real` is libssl's. */
int peer_filtered_read(SSL *ssl, void *buf, int num, int (*real)(SSL *, void *, int));

#endif
