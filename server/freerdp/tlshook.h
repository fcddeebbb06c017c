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
 * - X509_dup, i2d_PublicKey: FreeRDP's copy of the scenario's certificate
 *   and its public key's encoding, after each handshake, answered from the
 *   scenario's own, made once (see tlshook.c).
 * - send: FreeRDP's socket writes (TLS records, or RDP Standard Security's
 *   plaintext): counted per peer, and withheld or held once a fault
 *   struck (see peer.h).
 * tlshook_write() writes on that handle from the peer's own thread without
 * passing through the hook: the way the harness adds a PDU FreeRDP 2 has
 * no sender for. */
#ifndef RDPFAULT_TLSHOOK_H
#define RDPFAULT_TLSHOOK_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>

/* What a hooked write does. */
enum tlshook_verdict {
	TLSHOOK_PASS,    /* write it */
	TLSHOOK_SWALLOW, /* report it written, write nothing */
	TLSHOOK_FAIL,    /* fail it */
};

/* The hooks the peer installs: the layer above is told, through this
 * table, what FreeRDP does on a peer thread (this module includes nothing
 * of it). Each is called on the peer thread that FreeRDP's call came from;
 * a NULL table passes everything through. */
struct tlshook_peer {
	/* Before (after = 0) and after (after = 1, rc its result) each
	 * SSL_do_handshake of a server handle. */
	void (*tls_step)(SSL *ssl, int after, int rc);
	/* The client's plaintext as FreeRDP read it; may be rewritten in place. */
	void (*client_read)(void *buf, size_t len);
	/* FreeRDP's read met the client's TLS close_notify. */
	void (*client_closed)(void);
	/* The server's plaintext on its way into TLS: *out / *out_len is what
	 * to write when passing (buf, a rewritten copy, or a grown PDU). */
	enum tlshook_verdict (*server_write)(const void *buf, size_t len, const void **out,
	                                     size_t *out_len);
	void (*server_written)(const void *buf, size_t len);
	/* FreeRDP's socket writes (send) and reads (recv). */
	enum tlshook_verdict (*socket_send)(int fd, const void *buf, size_t len);
	void (*socket_sent)(int fd, const void *buf, size_t len);
	void (*socket_recv)(int fd);
	void (*socket_received)(int fd, size_t len); /* after a read that got len > 0 bytes */
	/* A peer that reads the client through a filter of its own. */
	int (*filters_reads)(void);
	int (*filtered_read)(SSL *ssl, void *buf, int num, int (*real)(SSL *, void *, int));
	/* The key and certificate of the peer's scenario, parsed once (NULL:
	 * let FreeRDP parse its own). */
	EVP_PKEY *(*tls_key)(void);
	X509 *(*tls_cert)(void);
	/* That certificate's public key, DER-encoded once (i2d_PublicKey's
	 * bytes; *len their count), or NULL. */
	const unsigned char *(*tls_pubkey_der)(int *len);
};

/* Installs the peer's hooks, once, before any peer runs. */
void tlshook_install(const struct tlshook_peer *hooks);

/* 1 when the interposed functions resolve to the real libssl ones. */
int tlshook_ready(void);

/* libssl's own SSL_read, past the hook. */
int tlshook_read_raw(SSL *ssl, void *buf, int num);

/* Writes all of buf on ssl (looping over partial writes). 0, or -1. */
int tlshook_write(SSL *ssl, const void *buf, int num);

#endif
