/* mtbootstrap.h — a connection's multitransport bootstrapping, the
 * server side FreeRDP 2.11 lacks (MS-RDPBCGR 1.3.1.1, 2.2.15).
 *
 * For a scenario with a `multitransport:` section and a client whose MCS
 * Connect Initial advertises UDP and a message channel:
 * 1. the Connect Response FreeRDP writes gets Server Multitransport Channel
 *    Data appended (on its way into TLS);
 * 2. at the Capabilities step (after licensing, before Demand Active) the
 *    server sends an Initiate Multitransport Request per protocol on the
 *    message channel, with a random requestId and securityCookie, and
 *    waits for the Initiate Multitransport Responses (response_timeout_ms);
 * 3. the responses are read, logged and withheld from FreeRDP (which would
 *    disconnect on them), then and for the rest of the connection;
 * 4. after fallback_after_ms the connection goes on as `fallback` says.
 * Every step is a "multitransport" event. Runs on the peer thread, which
 * owns the connection's SSL handle. */
#ifndef RDPFAULT_MTBOOTSTRAP_H
#define RDPFAULT_MTBOOTSTRAP_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "faults/multitransport.h"
#include "wire/pdufilter.h"
#include "catalog/scenario.h"

enum mts_outcome {
	MTS_PROCEED = 0, /* FreeRDP goes on to Demand Active */
	MTS_STALL,
	MTS_RESET,
	MTS_DENY,
	MTS_GONE, /* the client left (or the deadline closed the stream) */
};

#define MTS_MAX_REQUESTS 2

struct mt_session {
	const struct sc_multitransport *cfg; /* NULL: the scenario has none */
	uint64_t conn;
	int fd;
	int timeout_ms, after_ms; /* scaled */
	int filtering;            /* client reads go through `filter` */
	struct pdufilter filter;
	int seen_connect_initial;
	struct mt_client_data client;
	int client_udp;       /* UDP flags and a message channel */
	int response_checked; /* the Connect Response went by */
	int offered;          /* ... with the server's block added */
	uint16_t msgchannel, user_id;
	uint32_t server_flags;
	uint8_t *grown; /* the grown Connect Response */
	int n_req;
	struct mt_request req[MTS_MAX_REQUESTS];
	int answered[MTS_MAX_REQUESTS];
	uint64_t sent_ms;
	int n_answered;
	int done; /* bootstrapped once; a reactivation does not again */
	/* The client's TLS close_notify came while the bootstrap read on
	 * FreeRDP's behalf (past the hook that would have noted it): the
	 * client, not the server, ends the connection. */
	int client_closed;
};

typedef int (*mts_read_fn)(SSL *, void *, int);

/* fd: the peer's end of the connection (FreeRDP's BIOs hide it from
 * SSL_get_fd). */
void mts_init(struct mt_session *m, const struct scenario *sc, uint64_t conn, int fd,
              double time_scale);
void mts_free(struct mt_session *m);
/* From the end of the security handshake on, the client's PDUs pass the
 * session's filter. */
void mts_start(struct mt_session *m);
/* The SSL_read under FreeRDP for a filtering session. */
int mts_read(struct mt_session *m, SSL *ssl, void *buf, int num, mts_read_fn real);
/* Sees each plaintext write of the server; may replace the Connect
 * Response (*out, *out_len). */
void mts_server_write(struct mt_session *m, const uint8_t *buf, size_t len, const void **out,
                      size_t *out_len);
/* The Capabilities step: requests, the wait, the fallback's wait. Returns
 * what FreeRDP's connection does next. */
enum mts_outcome mts_bootstrap(struct mt_session *m, SSL *ssl, mts_read_fn real);
/* fallback stall: reads (and withholds responses) until the stream ends. */
void mts_stall(struct mt_session *m, SSL *ssl, mts_read_fn real);

/* The connection whose request carried the cookie with this SHA-256, and
 * that request's id: 1 when known (recent requests only), else 0. */
int mts_cookie_owner(const uint8_t hash[32], uint64_t *conn, uint32_t *request_id);

#endif
