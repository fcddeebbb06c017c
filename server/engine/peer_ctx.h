/* peer_ctx.h — the peer thread's state, shared by the three files of the
 * peer and nothing else (the public interface is peer.h):
 *
 *   peer.c         the thread: FreeRDP's callbacks, configuration, the loop
 *   peer_strike.c  where faults strike: the gate on FreeRDP's writes, the
 *                  server's own messages, the close
 *   peer_hooks.c   the interposition's calls (TLS, socket I/O, WLog state)
 *                  into the peer of the calling thread */
#ifndef RDPFAULT_PEER_CTX_H
#define RDPFAULT_PEER_CTX_H

#include <stdint.h>

#include <freerdp/freerdp.h>
#include <freerdp/peer.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "base/phase.h"
#include "catalog/faultplan.h"
#include "catalog/served.h"
#include "engine/conn.h"
#include "freerdp/tlshook.h"
#include "transport/mtbootstrap.h"
#include "wire/mcsfix.h"
#include "wire/pduinfo.h"
#include "wire/tsrequest.h"

#define HOLD_MS 500 /* between the server's last message and its close */

/* What becomes of FreeRDP's writes. */
enum gate {
	GATE_OPEN,
	GATE_SWALLOW, /* a cut struck: withheld, FreeRDP is told they went */
	GATE_HOLD,    /* a stall or delay: the writer waits here */
};

/* A phase that a PDU FreeRDP writes completes (its WLog transition comes
 * before the PDUs the phase is defined by). */
enum await {
	AWAIT_NONE,
	AWAIT_DEMAND_ACTIVE, /* capabilities: the Demand Active went */
	AWAIT_GRANTED,       /* finalization: Synchronize, Control Cooperate and Granted Control */
};

struct rf_context {
	rdpContext base; /* FreeRDP's; must come first */
	struct conn *conn;
	const struct served *served;
	psPeerLicenseCallback license_default;
	int licensing_seen;
	int tls_done;
	int credssp_done;
	int credssp_version;               /* the server's TSRequest version */
	struct tsrequest_stream client_ts; /* the client's TSRequests */
	SSL *ssl;
	int suppress_output;
	int denied;
	uint64_t deny_due;     /* messages waiting (after_ms, or WLog): when, 0 when none */
	enum phase deny_phase; /* and of which phase */
	const struct fault_step *license_rewrite; /* license-error while FreeRDP answers */
	int license_rewritten;
	uint8_t license_pdu[1024]; /* the rewritten copy, FreeRDP's is const */
	struct mcsfix fix;         /* TLS plaintext from the MCS Connect Initial on */
	struct mt_session mt;      /* multitransport bootstrapping */

	/* The server's stream, as this thread writes it (see the top). */
	uint64_t sent;       /* bytes FreeRDP wrote on the socketpair */
	uint64_t received;   /* bytes FreeRDP read from it */
	int tls_started;     /* SSL_do_handshake ran: send() carries TLS records from here */
	uint64_t hs_before;  /* `sent` before the handshake step now running */
	int flight_reported; /* the end of the server's first TLS flight was told */
	enum gate gate;
	const struct fault_step *stall; /* GATE_HOLD: the stall or delay */
	uint64_t stall_until;           /* events clock ms; UINT64_MAX: for as long as it lasts */
	enum phase stall_phase;
	const struct fault_step *strike_after; /* a cut waiting for FreeRDP's next PDU to go out */
	enum await await;                      /* a phase that a written PDU completes */
	int plain_units;                       /* RDP Standard Security: PDUs since the await */
	struct pdutap wtap, rtap;              /* the server's PDUs written, the client's read */
	HANDLE wake;                           /* the relay's peer_kick (conn_kick_peer) */
};

/* The peer of this thread (set by the thread for its life). */
extern _Thread_local struct rf_context *peer_current;

/* ---- peer_strike.c */

/* The relay's wake-up (conn_kick_peer): a WinPR event the loop waits on. */
void peer_kick(struct conn *c);
/* A cut strikes now: FreeRDP's later writes are withheld. */
void peer_strike_now(struct rf_context *ctx, const struct fault_step *st);
/* Phase p was reached (after_write: by a PDU FreeRDP just wrote). */
void peer_fault_at(struct rf_context *ctx, enum phase p, int after_write);
/* What becomes of FreeRDP's next write, by the gate. */
enum tlshook_verdict peer_gate_write(struct rf_context *ctx);
/* The server-PDU tap's callback: completes phases a written PDU defines. */
void peer_on_server_pdu(void *arg, const struct pduinfo *pdu);
/* The server's own messages of phase p (lic, lic_s: the licensing answer
 * FreeRDP is about to write, or NULL). */
void peer_send_messages(struct rf_context *ctx, enum phase p, freerdp_peer *lic, wStream *lic_s);
void peer_end_with(struct rf_context *ctx, const struct fault_step *st);
void peer_maybe_send(struct rf_context *ctx, enum phase p, int in_wlog, freerdp_peer *lic,
                     wStream *lic_s);
/* A phase reached: its "phase" event, then its faults. */
void peer_at_phase(struct rf_context *ctx, enum phase p, json_t *detail, int defer_messages);
/* The relay kicked: a close_notify asked for, or the peer told to end. */
void peer_serve_kick(struct rf_context *ctx);
/* After a cut: waits for the relay to strike it and close. */
void peer_await_strike(struct rf_context *ctx);

/* ---- peer_hooks.c */

/* A failed CredSSP exchange reported the Windows way, in a TSRequest
 * carrying the NTSTATUS (the scenario's credssp-error code, else
 * STATUS_LOGON_FAILURE). */
void peer_report_credssp_failure(struct rf_context *ctx);

#endif
