/* peer.c — the FreeRDP peer thread (see peer.h).
 *
 * Per connection FreeRDP gets only copies of what catalog/served.c made
 * once: the certificate and key as PEM text (no file reads), and the RDP
 * Standard Security key already parsed. Handing FreeRDP RdpKeyFile or
 * RdpKeyContent instead would make every peer re-parse the key and run
 * RSA_check_key on it, which costs ~20 ms of CPU per connection.
 *
 * Faults at the phases FreeRDP reports strike at an exact point of the
 * server's stream, decided here, on the peer thread, the moment the phase
 * is reached (often inside FreeRDP's own logging, where nothing may
 * block): the peer counts every byte FreeRDP writes (the send() and
 * SSL_write hooks) and closes a gate on FreeRDP's later writes. A cut
 * (reset, close) withholds them — the client gets nothing after the phase —
 * and hands the relay the offset where the stream ends; the relay strikes
 * once the client has answered and waits. A stall or delay holds FreeRDP's
 * next write, on this thread, until it ends. */
#include "engine/peer.h"

#include "base/clock.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <freerdp/freerdp.h>
#include <freerdp/listener.h>
#include <freerdp/peer.h>
#include <freerdp/settings.h>
#include <freerdp/update.h>
#include <winpr/ntlm.h>
#include <winpr/synch.h>

#include "engine/conn.h"
#include "engine/desktop.h"
#include "base/events.h"
#include "catalog/faultplan.h"
#include "catalog/served.h"
#include "engine/engine.h"
#include "faults/license.h"
#include "base/log.h"
#include "wire/mcsfix.h"
#include "transport/mtbootstrap.h"
#include "wire/pduinfo.h"
#include "freerdp/tlshook.h"
#include "wire/tsrequest.h"
#include "faults/ultimatum.h"

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
	int credssp_version;        /* the server's TSRequest version */
	struct tsrequest_stream client_ts; /* the client's TSRequests */
	SSL *ssl;
	int suppress_output;
	int denied;
	uint64_t deny_due;  /* messages waiting (after_ms, or WLog): when, 0 when none */
	enum phase deny_phase;                  /* and of which phase */
	const struct fault_step *license_rewrite; /* license-error while FreeRDP answers */
	int license_rewritten;
	uint8_t license_pdu[1024]; /* the rewritten copy, FreeRDP's is const */
	struct mcsfix fix; /* TLS plaintext from the MCS Connect Initial on */
	struct mt_session mt;             /* multitransport bootstrapping */

	/* The server's stream, as this thread writes it (see the top). */
	uint64_t sent;          /* bytes FreeRDP wrote on the socketpair */
	int tls_started;        /* SSL_do_handshake ran: send() carries TLS records from here */
	uint64_t hs_before;     /* `sent` before the handshake step now running */
	int flight_reported;    /* the end of the server's first TLS flight was told */
	enum gate gate;
	const struct fault_step *stall; /* GATE_HOLD: the stall or delay */
	uint64_t stall_until;           /* events clock ms; UINT64_MAX: for as long as it lasts */
	enum phase stall_phase;
	const struct fault_step *strike_after; /* a cut waiting for FreeRDP's next PDU to go out */
	enum await await;                      /* a phase that a written PDU completes */
	int plain_units;                       /* RDP Standard Security: PDUs since the await */
	struct pdutap wtap, rtap;              /* the server's PDUs written, the client's read */
	HANDLE wake;                           /* the relay's kick (conn_kick_peer) */
};

static _Thread_local struct rf_context *current;

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cond = PTHREAD_COND_INITIALIZER;
static long running;

long peer_running(void)
{
	pthread_mutex_lock(&running_lock);
	long n = running;
	pthread_mutex_unlock(&running_lock);
	return n;
}

long peer_wait_all(int timeout_ms, volatile sig_atomic_t *forced)
{
	struct timespec until = deadline_after_ms(timeout_ms);
	pthread_mutex_lock(&running_lock);
	while (running > 0 && !(forced && *forced)) {
		/* In slices: a second signal ends the wait at once. */
		struct timespec slice = deadline_after_ms(50);
		if (slice.tv_sec > until.tv_sec ||
		    (slice.tv_sec == until.tv_sec && slice.tv_nsec > until.tv_nsec))
			slice = until;
		if (pthread_cond_timedwait(&running_cond, &running_lock, &slice) == ETIMEDOUT &&
		    slice.tv_sec == until.tv_sec && slice.tv_nsec == until.tv_nsec)
			break;
	}
	long n = running;
	pthread_mutex_unlock(&running_lock);
	return n;
}

#define HOLD_MS 500 /* between the server's last message and its close */

static void at_phase(struct rf_context *ctx, enum phase p, json_t *detail, int defer_messages);
static void maybe_send(struct rf_context *ctx, enum phase p, int in_wlog, freerdp_peer *lic,
                       wStream *lic_s);

/* ---------------------------------------------------------------- the gate */

static int relay_gone(const struct rf_context *ctx)
{
	return atomic_load(&ctx->conn->relay_gone);
}

/* The relay wakes this thread through a WinPR event (the peer loop waits
 * on it beside FreeRDP's handles). */
static void kick(struct conn *c)
{
	struct rf_context *ctx = c->kick_arg;
	SetEvent(ctx->wake);
}

/* A cut strikes now: FreeRDP's later writes are withheld, and the relay
 * learns where the server's stream ends. */
static void strike_now(struct rf_context *ctx, const struct fault_step *st)
{
	ctx->gate = GATE_SWALLOW;
	ctx->strike_after = NULL;
	atomic_store(&ctx->conn->cut, 1); /* later phases are the server's alone */
	conn_tell(ctx->conn, CM_STRIKE, st, ctx->sent, 0);
}

/* The fault of the scenario's plan that the relay's stream carries out at
 * phase p: a cut now (or after FreeRDP's next PDU, `after_write`), a stall
 * or delay of FreeRDP's next write. One fault at a time. */
static void fault_at(struct rf_context *ctx, enum phase p, int after_write)
{
	const struct fault_step *st = fault_plan_relay_step(&ctx->served->plan, p);
	if (!st || ctx->gate != GATE_OPEN || ctx->strike_after)
		return;
	if (st->action == FA_STALL || st->action == FA_DELAY) {
		json_t *f = fault_step_json(st);
		json_object_set_new(f, "sent_bytes", json_integer((json_int_t)ctx->sent));
		events_emit(ctx->conn->id, "fault", f);
		ctx->gate = GATE_HOLD;
		ctx->stall = st;
		ctx->stall_phase = p;
		ctx->stall_until = st->duration_ms < 0 ? UINT64_MAX
		                                       : events_now_ms() + (uint64_t)st->duration_ms;
		return;
	}
	if (after_write)
		ctx->strike_after = st;
	else
		strike_now(ctx, st);
}

/* A stall or delay: the writer waits here until it ends, or until the
 * relay is gone (the deadline, the client's close). TLSHOOK_FAIL then. */
static enum tlshook_verdict hold_writer(struct rf_context *ctx)
{
	while (ctx->gate == GATE_HOLD) {
		if (relay_gone(ctx))
			return TLSHOOK_FAIL;
		uint64_t now = events_now_ms();
		if (now >= ctx->stall_until) {
			ctx->gate = GATE_OPEN;
			events_emit(ctx->conn->id, "fault-end",
			            json_pack("{s:s}", "action", fault_action_name(ctx->stall->action)));
			break;
		}
		uint64_t left = ctx->stall_until - now;
		WaitForSingleObject(ctx->wake, left > 1000 ? 1000 : (DWORD)left);
		ResetEvent(ctx->wake);
	}
	return TLSHOOK_PASS;
}

static enum tlshook_verdict gate_write(struct rf_context *ctx)
{
	if (ctx->gate == GATE_HOLD && hold_writer(ctx) == TLSHOOK_FAIL)
		return TLSHOOK_FAIL;
	return ctx->gate == GATE_SWALLOW ? TLSHOOK_SWALLOW : TLSHOOK_PASS;
}

/* One PDU of FreeRDP's went out whole: the phases and cuts that wait for
 * one. Under TLS the PDUs are named; under RDP Standard Security they are
 * encrypted, and counted. */
static void on_server_pdu(void *arg, const struct pduinfo *pdu)
{
	struct rf_context *ctx = arg;
	atomic_store(&ctx->conn->last_pdu_written, pdu->name);
	int plain = !ctx->ssl;
	if (ctx->await == AWAIT_DEMAND_ACTIVE && (plain || pdu->share_type == 1)) {
		ctx->await = AWAIT_NONE;
		at_phase(ctx, PH_CAPABILITIES, NULL, 1);
	} else if (ctx->await == AWAIT_GRANTED &&
	           (plain ? ++ctx->plain_units == 3
	                  : strcmp(pdu->name, "control-granted-control") == 0)) {
		ctx->await = AWAIT_NONE;
		at_phase(ctx, PH_FINALIZATION, NULL, 1);
	}
	if (ctx->strike_after && ctx->gate == GATE_OPEN)
		strike_now(ctx, ctx->strike_after);
}

/* ---------------------------------------------------------------- messages */

/* Writes bytes of the harness's own on the client's stream, behind what
 * FreeRDP already queued: into TLS when there is TLS, else on the socket
 * (the MCS PDUs written here are never encrypted). */
static int write_own(struct rf_context *ctx, const uint8_t *buf, size_t len)
{
	ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
	if (ctx->ssl)
		return tlshook_write(ctx->ssl, buf, (int)len);
	while (len > 0) {
		ssize_t n = send(ctx->conn->peer_fd, buf, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void message_failed(struct rf_context *ctx, const struct fault_step *st, const char *why)
{
	events_emit(ctx->conn->id, "fault-failed",
	            json_pack("{s:s, s:s}", "action", fault_action_name(st->action), "why", why));
}

/* One message fault. license-error only inside the license callback
 * (lic != NULL): the message is FreeRDP's own answer, rewritten on its way
 * into TLS (see faults/license.h). */
static void send_message(struct rf_context *ctx, const struct fault_step *st,
                         freerdp_peer *lic, wStream *lic_s)
{
	events_emit(ctx->conn->id, "fault", fault_step_json(st));
	switch (st->action) {
	case FA_DENY:
		freerdp_set_error_info(ctx->base.rdp, st->code);
		if (!freerdp_send_error_info(ctx->base.rdp))
			message_failed(ctx, st, "FreeRDP could not send the Set Error Info PDU");
		ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
		break;
	case FA_ULTIMATUM: {
		uint8_t pdu[ULTIMATUM_PDU_LEN];
		if (write_own(ctx, pdu, ultimatum_pdu(st->code, pdu)) != 0)
			message_failed(ctx, st, "the Disconnect Provider Ultimatum could not be written");
		break;
	}
	case FA_LICENSE_ERROR:
		if (!lic || !ctx->license_default)
			message_failed(ctx, st, "no licensing answer to rewrite at this moment");
		else if (!ctx->ssl)
			message_failed(ctx, st, "RDP Standard Security: FreeRDP may encrypt licensing "
			                        "PDUs, so there is no plaintext to rewrite (use TLS)");
		else {
			ctx->license_rewrite = st;
			ctx->license_rewritten = 0;
			ctx->license_default(lic, lic_s);
			/* FreeRDP's buffer may still hold it: the rewrite is on the
			 * way into TLS. */
			ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
			ctx->license_rewrite = NULL;
			if (!ctx->license_rewritten)
				message_failed(ctx, st, "FreeRDP's licensing answer was not the expected "
				                        "ERROR_ALERT");
		}
		break;
	default:
		break;
	}
}

/* After the server's last message: a hold (a Set Error Info followed at
 * once by the end of the stream is lost: xfreerdp fails on the end before
 * it handles the PDU), then the close a server makes: TLS close_notify
 * (unless the step says no), FIN. FreeRDP's later writes never reach the
 * client. Runs on this thread outside FreeRDP's logging, so it may wait. */
static void close_after_hold(struct rf_context *ctx, int close_notify)
{
	static const struct fault_step fin = {.action = FA_CLOSE,
	                                      .at = PH_NONE,
	                                      .duration_ms = -1,
	                                      .close_notify = 0,
	                                      .close_after_ms = -1};
	ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
	uint64_t until = events_now_ms() + HOLD_MS;
	while (!relay_gone(ctx) && events_now_ms() < until) {
		WaitForSingleObject(ctx->wake, (DWORD)(until - events_now_ms()));
		ResetEvent(ctx->wake);
	}
	int notified = 0;
	if (close_notify && ctx->ssl && !relay_gone(ctx))
		notified = SSL_shutdown(ctx->ssl) >= 0;
	ctx->gate = GATE_SWALLOW;
	atomic_store(&ctx->conn->cut, 1);
	events_emit(ctx->conn->id, "close-sequence",
	            json_pack("{s:b, s:I}", "close_notify", notified, "sent_bytes",
	                      (json_int_t)ctx->sent));
	conn_tell(ctx->conn, CM_STRIKE, &fin, ctx->sent, 0);
}

static int step_close_notify(const struct fault_step *st)
{
	return fault_wants_close_notify(st);
}

/* The messages that strike at phase p, in the scenario's order; then the
 * hold and the close (unless a deny says the connection goes on). */
static void send_messages(struct rf_context *ctx, enum phase p, freerdp_peer *lic, wStream *lic_s)
{
	const struct fault_plan *plan = &ctx->served->plan;
	int close_notify = 1, go_on = 0;
	const struct fault_step *later = NULL;
	ctx->deny_due = 0;
	for (size_t i = 0; i < plan->n; i++) {
		const struct fault_step *st = &plan->steps[i];
		if (!fault_is_message(st) || st->at != p)
			continue;
		send_message(ctx, st, lic, lic_s);
		close_notify &= step_close_notify(st);
		if (st->then_continue) {
			go_on = 1;
			if (st->close_after_ms >= 0)
				later = st;
		}
	}
	if (go_on) {
		/* A server that reports the error and carries on: the session
		 * goes on; a later close, when asked, is the relay's. */
		ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
		if (later)
			conn_tell(ctx->conn, CM_STRIKE, later, UINT64_MAX, 0);
		return;
	}
	ctx->denied = 1;
	close_after_hold(ctx, close_notify);
}

/* One message of the harness's own (the session limit's deny), then the
 * hold and the close, as for a scenario's messages. */
static void end_with(struct rf_context *ctx, const struct fault_step *st)
{
	ctx->denied = 1;
	send_message(ctx, st, NULL, NULL);
	close_after_hold(ctx, step_close_notify(st));
}

/* Called at every peer phase: the messages that strike here. Inside
 * WLog's callback (the phases FreeRDP reports only by logging) or a write
 * hook FreeRDP must not be called: the peer loop sends them as soon as
 * FreeRDP returns, after the PDUs of that step. The first message's
 * after_ms is the wait for all of that phase. */
static void maybe_send(struct rf_context *ctx, enum phase p, int in_wlog, freerdp_peer *lic,
                       wStream *lic_s)
{
	const struct fault_plan *plan = &ctx->served->plan;
	const struct fault_step *st = NULL;
	for (size_t i = 0; i < plan->n && !st; i++)
		if (fault_is_message(&plan->steps[i]) && plan->steps[i].at == p)
			st = &plan->steps[i];
	if (!st || ctx->denied || ctx->deny_due || ctx->gate == GATE_SWALLOW)
		return;
	if (st->after_ms > 0 || in_wlog) {
		ctx->deny_phase = p;
		ctx->deny_due = events_now_ms() + (uint64_t)st->after_ms + 1;
		return;
	}
	send_messages(ctx, p, lic, lic_s);
}

/* A phase the peer sees: logged, then its faults. */
static void at_phase(struct rf_context *ctx, enum phase p, json_t *detail, int defer_messages)
{
	conn_phase(ctx->conn, p, detail);
	fault_at(ctx, p, 0);
	maybe_send(ctx, p, defer_messages, NULL, NULL);
}

/* The relay asked for a close_notify (its cut is a graceful close once TLS
 * is up): written now, and the relay told where it ends. */
static void serve_kick(struct rf_context *ctx)
{
	ResetEvent(ctx->wake);
	if (!atomic_exchange(&ctx->conn->want_close_notify, 0))
		return;
	int ok = ctx->ssl && SSL_shutdown(ctx->ssl) >= 0;
	conn_tell(ctx->conn, CM_FINAL, NULL, ctx->sent, ok);
}

/* On a peer thread that must not return to FreeRDP before a cut is done
 * (inside the TLS handshake: an NLA server reads on in a blocking loop):
 * serve the relay's request for a close_notify, or learn that it struck
 * without one or is gone. */
static void await_strike(struct rf_context *ctx)
{
	while (!relay_gone(ctx)) {
		if (WaitForSingleObject(ctx->wake, 1000) != WAIT_OBJECT_0)
			continue;
		int want = atomic_load(&ctx->conn->want_close_notify);
		serve_kick(ctx);
		if (want)
			break;
	}
}

/* ---------------------------------------------------------------- hooks */

static void peer_on_freerdp_state(const char *state)
{
	struct rf_context *ctx = current;
	if (!ctx)
		return;
	if (strcmp(state, "CONNECTION_STATE_CAPABILITIES_EXCHANGE") == 0) {
		/* The phase is the Demand Active's going out, which follows. */
		ctx->await = AWAIT_DEMAND_ACTIVE;
		return;
	}
	if (strcmp(state, "CONNECTION_STATE_FINALIZATION") == 0) {
		/* The server's Synchronize, Cooperate and Granted Control come
		 * next (the last answers the client's Request Control). */
		ctx->await = AWAIT_GRANTED;
		ctx->plain_units = 0;
		return;
	}
	enum phase p = phase_from_freerdp_state(state);
	if (p == PH_NONE && strcmp(state, "CONNECTION_STATE_SECURE_SETTINGS_EXCHANGE") == 0 &&
	    ctx->base.settings->UseRdpSecurityLayer)
		p = PH_SECURITY_EXCHANGE;
	if (p != PH_NONE)
		at_phase(ctx, p, NULL, 1);
}

static void tls_handshake_done(struct rf_context *ctx, SSL *ssl)
{
	ctx->tls_done = 1;
	tsrequest_stream_init(&ctx->client_ts);
	ctx->ssl = ssl;
	atomic_store(&ctx->conn->tls_up, 1);
	conn_phase(ctx->conn, PH_TLS_FINISHED,
	           json_pack("{s:s, s:s}", "tls_version", SSL_get_version(ssl), "cipher",
	                     SSL_get_cipher_name(ssl)));
	fault_at(ctx, PH_TLS_FINISHED, 0);
	if (atomic_load(&ctx->conn->selected_protocol) & X224_PROTOCOL_HYBRID) {
		conn_phase(ctx->conn, PH_CREDSSP, NULL);
		fault_at(ctx, PH_CREDSSP, 0);
	}
	if (ctx->gate == GATE_SWALLOW)
		await_strike(ctx);
}

static void peer_on_tls_step(SSL *ssl, int after, int rc)
{
	struct rf_context *ctx = current;
	if (!ctx || ctx->tls_done)
		return;
	if (!after) {
		ctx->tls_started = 1;
		ctx->hs_before = ctx->sent;
		return;
	}
	if (rc == 1)
		tls_handshake_done(ctx, ssl);
}

static void report_credssp_failure(struct rf_context *ctx, uint32_t code);

/* The NTSTATUS this connection's CredSSP failure reports. */
static uint32_t credssp_failure_code(const struct rf_context *ctx)
{
	const struct fault_step *st = fault_plan_find(&ctx->served->plan, FA_CREDSSP_ERROR);
	return st ? st->code : NTSTATUS_LOGON_FAILURE;
}

static void on_client_pdu(void *arg, const struct pduinfo *pdu)
{
	struct rf_context *ctx = arg;
	atomic_store(&ctx->conn->last_pdu_read, pdu->name);
}

static void peer_on_client_read(void *buf, size_t len)
{
	struct rf_context *ctx = current;
	if (!ctx || !ctx->tls_done)
		return;
	pdutap_feed(&ctx->rtap, buf, len, on_client_pdu, ctx);
	if (ctx->credssp_done) {
		/* After Logon (FreeRDP calls it once TLS and any CredSSP are
		 * done) the stream is at the MCS Connect Initial: FreeRDP reads
		 * whole PDUs, never past one. RDP Standard Security is the
		 * relay's (no TLS). */
		if (!ctx->fix.done && mcsfix_feed(&ctx->fix, buf, len))
			events_emit(ctx->conn->id, "client-quirk",
			            json_pack("{s:s, s:s}", "quirk", "erect-domain-bare-integers",
			                      "seen_by", "tls"));
		return;
	}
	tsrequest_stream_feed(&ctx->client_ts, buf, len);
}

static int peer_filters_reads(void)
{
	return current && current->mt.filtering;
}

static int peer_filtered_read(SSL *ssl, void *buf, int num, int (*real)(SSL *, void *, int))
{
	return mts_read(&current->mt, ssl, buf, num, real);
}

static enum tlshook_verdict peer_on_server_write(const void *buf, size_t len, const void **out,
                                                 size_t *out_len)
{
	struct rf_context *ctx = current;
	if (!ctx)
		return TLSHOOK_PASS;
	enum tlshook_verdict w = gate_write(ctx);
	if (w != TLSHOOK_PASS)
		return w;
	if (ctx->await == AWAIT_GRANTED) {
		/* A client that sent no Request Control gets no Granted Control:
		 * the Font Map is then the first PDU past the phase. */
		struct pduinfo pdu;
		pduinfo_name(buf, len < PDUINFO_HEAD ? len : PDUINFO_HEAD, len, &pdu);
		if (pdu.data_type == 40) {
			ctx->await = AWAIT_NONE;
			at_phase(ctx, PH_FINALIZATION, NULL, 1);
			if ((w = gate_write(ctx)) != TLSHOOK_PASS)
				return w;
		}
	}
	if (ctx->credssp_done && ctx->mt.cfg)
		mts_server_write(&ctx->mt, buf, len, out, out_len);
	if (ctx->license_rewrite && len <= sizeof(ctx->license_pdu)) {
		const struct fault_step *st = ctx->license_rewrite;
		memcpy(ctx->license_pdu, buf, len);
		if (license_error_rewrite(ctx->license_pdu, len, st->code, st->transition) == 0) {
			ctx->license_rewrite = NULL;
			ctx->license_rewritten = 1;
			*out = ctx->license_pdu;
		}
		return TLSHOOK_PASS;
	}
	if (!ctx->tls_done || ctx->credssp_done)
		return TLSHOOK_PASS;
	/* The CredSSP version FreeRDP settled on is in its own TSRequests. */
	int v = tsrequest_version(buf, len);
	if (v <= 0)
		return TLSHOOK_PASS;
	ctx->credssp_version = v;
	/* credssp-error: NTLM succeeded and the server is about to prove its
	 * key (pubKeyAuth); it reports the scenario's NTSTATUS instead. */
	if ((tsrequest_fields(buf, len) & TSREQUEST_PUB_KEY_AUTH) &&
	    fault_plan_find(&ctx->served->plan, FA_CREDSSP_ERROR)) {
		report_credssp_failure(ctx, credssp_failure_code(ctx));
		return TLSHOOK_FAIL;
	}
	return TLSHOOK_PASS;
}

static void peer_on_server_written(const void *buf, size_t len)
{
	struct rf_context *ctx = current;
	if (ctx)
		pdutap_feed(&ctx->wtap, buf, len, on_server_pdu, ctx);
}

static enum tlshook_verdict peer_on_socket_send(int fd, const void *buf, size_t len)
{
	struct rf_context *ctx = current;
	(void)buf;
	(void)len;
	if (!ctx || fd != ctx->conn->peer_fd || ctx->tls_started)
		return TLSHOOK_PASS; /* under TLS the gate is SSL_write's */
	return gate_write(ctx);
}

static EVP_PKEY *peer_tls_key(void)
{
	return current ? current->served->pkey : NULL;
}

static X509 *peer_tls_cert(void)
{
	return current ? current->served->x509 : NULL;
}

static void peer_on_socket_recv(int fd)
{
	struct rf_context *ctx = current;
	if (!ctx || fd != ctx->conn->peer_fd)
		return;
	/* The first read after the handshake wrote bytes ends the server's
	 * first flight (ServerHello ... ServerHelloDone, or TLS 1.3's ...
	 * Finished): OpenSSL writes and flushes a flight whole before it
	 * reads the client's answer. */
	if (ctx->tls_started && !ctx->tls_done && !ctx->flight_reported &&
	    ctx->sent > ctx->hs_before) {
		ctx->flight_reported = 1;
		conn_tell(ctx->conn, CM_FLIGHT, NULL, ctx->sent, 0);
	}
}

static void peer_on_socket_sent(int fd, const void *buf, size_t len)
{
	struct rf_context *ctx = current;
	if (!ctx || fd != ctx->conn->peer_fd)
		return;
	ctx->sent += len;
	if (!ctx->tls_started) /* RDP Standard Security: the PDUs themselves */
		pdutap_feed(&ctx->wtap, buf, len, on_server_pdu, ctx);
}

/* A CredSSP exchange that failed ends with FreeRDP 2.11 closing without a
 * word (its NTLM server sets no error, so it sends no errorCode). A Windows
 * server reports the NTSTATUS in a TSRequest first (MS-CSSP 3.1.5), and
 * clients show the precise cause: write that TSRequest before the close. */
static void report_credssp_failure(struct rf_context *ctx, uint32_t code)
{
	uint8_t msg[TSREQUEST_ERROR_MAX];
	char hex[16];
	/* errorCode exists only when both sides speak a version that has it
	 * (the effective version is the lower one); otherwise the server just
	 * closes, as Windows does. */
	int version = ctx->credssp_version < ctx->client_ts.version ? ctx->credssp_version
	                                                             : ctx->client_ts.version;
	size_t n = tsrequest_error((uint32_t)version, code, msg);
	const char *name = ntstatus_name(code);

	ctx->credssp_done = 1;
	const struct fault_step *st = fault_plan_find(&ctx->served->plan, FA_CREDSSP_ERROR);
	if (st)
		events_emit(ctx->conn->id, "fault", fault_step_json(st));
	snprintf(hex, sizeof(hex), "0x%08X", code);
	json_t *f = json_pack("{s:s, s:s, s:i, s:i}", "error_code", hex, "status",
	                      name ? name : "", "server_version", ctx->credssp_version,
	                      "client_version", ctx->client_ts.version);
	if (n && ctx->ssl && tlshook_write(ctx->ssl, msg, (int)n) == 0)
		json_object_set_new(f, "sent", json_true());
	else
		json_object_set_new(f, "sent", json_false());
	events_emit(ctx->conn->id, "credssp-failed", f);
}

static struct rf_context *ctx_of(freerdp_peer *client)
{
	return (struct rf_context *)client->context;
}

static BOOL on_logon(freerdp_peer *client, SEC_WINNT_AUTH_IDENTITY *identity, BOOL automatic)
{
	struct rf_context *ctx = ctx_of(client);
	rdpSettings *s = client->settings;
	const char *layer = s->NlaSecurity ? "nla" : s->TlsSecurity ? "tls" : "rdp";
	(void)identity;
	ctx->credssp_done = 1;
	mts_start(&ctx->mt); /* the MCS Connect Initial comes next */
	events_emit(ctx->conn->id, "security",
	            json_pack("{s:s, s:b}", "layer", layer, "nla_authenticated", automatic));
	return TRUE;
}

static LicenseCallbackResult on_license(freerdp_peer *client, wStream *s)
{
	struct rf_context *ctx = ctx_of(client);
	if (!ctx->licensing_seen) {
		ctx->licensing_seen = 1;
		conn_phase(ctx->conn, PH_LICENSING, NULL);
		/* The session limit: where Windows decides on a session. */
		if (conn_session_limited(ctx->conn)) {
			end_with(ctx, &ctx->served->session_limit);
			return LICENSE_CB_ABORT;
		}
		/* A cut strikes once the server's licensing PDU went (before it
		 * is client-info's moment); a stall holds that PDU. */
		fault_at(ctx, PH_LICENSING, 1);
		maybe_send(ctx, PH_LICENSING, 0, client, s);
		if (ctx->denied)
			return LICENSE_CB_ABORT;
	}
	return ctx->license_default ? ctx->license_default(client, s) : LICENSE_CB_COMPLETED;
}

/* After licensing, before Demand Active: the multitransport bootstrapping
 * and the fallback it ends in. */
static BOOL on_capabilities(freerdp_peer *client)
{
	static const struct fault_step rst = {.action = FA_RESET,
	                                      .at = PH_CAPABILITIES,
	                                      .duration_ms = -1,
	                                      .close_notify = -1,
	                                      .close_after_ms = -1};
	struct rf_context *ctx = ctx_of(client);
	if (ctx->denied)
		return FALSE;
	switch (mts_bootstrap(&ctx->mt, ctx->ssl, tlshook_read_raw)) {
	case MTS_PROCEED:
		return TRUE;
	case MTS_STALL:
		mts_stall(&ctx->mt, ctx->ssl, tlshook_read_raw);
		return FALSE;
	case MTS_RESET:
		client->DrainOutputBuffer(client);
		strike_now(ctx, &rst);
		return TRUE; /* its Demand Active is withheld; the relay resets */
	case MTS_DENY:
		end_with(ctx, &ctx->served->mt_deny);
		return FALSE;
	default:
		return FALSE;
	}
}

static BOOL on_client_capabilities(freerdp_peer *client)
{
	struct rf_context *ctx = ctx_of(client);
	rdpSettings *s = client->settings;
	at_phase(ctx, PH_CONFIRM_ACTIVE,
	         json_pack("{s:i, s:i, s:i}", "width", (int)s->DesktopWidth, "height",
	                   (int)s->DesktopHeight, "color_depth", (int)s->ColorDepth),
	         0);
	return ctx->denied ? FALSE : TRUE;
}

static BOOL on_post_connect(freerdp_peer *client)
{
	struct rf_context *ctx = ctx_of(client);
	rdpSettings *s = client->settings;
	json_t *f = json_pack("{s:s, s:i, s:i}", "client_hostname",
	                      s->ClientHostname ? s->ClientHostname : "", "client_build",
	                      (int)s->ClientBuild, "color_depth", (int)s->ColorDepth);
	/* RDP Standard Security: the method the server chose (0 would mean
	 * no encryption at all). */
	if (s->UseRdpSecurityLayer)
		json_object_set_new(f, "rdp_encryption_method", json_integer(s->EncryptionMethods));
	if (s->Username)
		json_object_set_new(f, "user", json_string(s->Username));
	events_emit(ctx->conn->id, "client", f);
	return TRUE;
}

static void draw(struct rf_context *ctx)
{
	const struct scenario *sc = ctx->served->sc;
	if (!ctx->suppress_output)
		desktop_draw(ctx->base.peer, sc->name, sc->summary);
}

static BOOL on_activate(freerdp_peer *client)
{
	struct rf_context *ctx = ctx_of(client);
	atomic_store(&ctx->conn->active, 1);
	maybe_send(ctx, PH_ACTIVE, 0, NULL, NULL);
	if (!ctx->denied && ctx->gate == GATE_OPEN)
		draw(ctx);
	return TRUE;
}

static BOOL on_refresh_rect(rdpContext *context, BYTE count, const RECTANGLE_16 *areas)
{
	(void)count;
	(void)areas;
	draw((struct rf_context *)context);
	return TRUE;
}

static BOOL on_suppress_output(rdpContext *context, BYTE allow, const RECTANGLE_16 *area)
{
	struct rf_context *ctx = (struct rf_context *)context;
	(void)area;
	ctx->suppress_output = !allow;
	if (allow)
		draw(ctx);
	return TRUE;
}

/* ASCII case-insensitive equality of a UTF-16LE name (length in
 * characters) and a UTF-8 one, as Windows matches account names. */
static int same_name(const UINT16 *w, UINT32 wlen, const char *s)
{
	size_t n = strlen(s);
	if (wlen != n)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned a = w[i], b = (unsigned char)s[i];
		if (a < 128 && b < 128) {
			if (tolower((int)a) != tolower((int)b))
				return 0;
		} else if (a != b) {
			return 0; /* beyond ASCII: exact code units only */
		}
	}
	return 1;
}

/* FreeRDP's NTLM server asks for the NTLMv2 hash of the user the client
 * named: the scenario's account (its domain, when it has one), or nothing,
 * which fails the logon as a wrong password would. */
static SECURITY_STATUS on_ntlm_hash(void *peer, const SEC_WINNT_AUTH_IDENTITY *id,
                                    const SecBuffer *proof, const BYTE *randkey, const BYTE *mic,
                                    const SecBuffer *micvalue, BYTE *hash)
{
	struct rf_context *ctx = ctx_of(peer);
	const struct served *s = ctx->served;
	const struct sc_account *acc = &s->sc->account;
	(void)proof;
	(void)randkey;
	(void)mic;
	(void)micvalue;
	if (!id || !s->has_nt_hash || !acc->user || !same_name(id->User, id->UserLength, acc->user))
		return FALSE;
	if (acc->domain && *acc->domain && id->DomainLength &&
	    !same_name(id->Domain, id->DomainLength, acc->domain))
		return FALSE;
	BYTE nt[16];
	memcpy(nt, s->nt_hash, sizeof(nt));
	/* The hook's caller reads any non-zero as success. */
	return NTOWFv2FromHashW(nt, (LPWSTR)id->User, id->UserLength * 2, (LPWSTR)id->Domain,
	                        id->DomainLength * 2, hash)
	           ? TRUE
	           : FALSE;
}

static rdpRsaKey *rsa_key_copy(const struct rdp_key_blob *b)
{
	/* FreeRDP frees RdpServerRsaKey with free() on each buffer. */
	rdpRsaKey *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	k->Modulus = malloc(b->modulus_len);
	k->PrivateExponent = malloc(b->private_exponent_len);
	if (!k->Modulus || !k->PrivateExponent) {
		free(k->Modulus);
		free(k->PrivateExponent);
		free(k);
		return NULL;
	}
	memcpy(k->Modulus, b->modulus, b->modulus_len);
	k->ModulusLength = b->modulus_len;
	memcpy(k->PrivateExponent, b->private_exponent, b->private_exponent_len);
	k->PrivateExponentLength = b->private_exponent_len;
	memcpy(k->exponent, b->exponent, sizeof(k->exponent));
	return k;
}

static int configure(freerdp_peer *client, const struct engine *e, const struct served *srv)
{
	rdpSettings *s = client->settings;
	const struct scenario *sc = srv->sc;
	static const UINT32 levels[] = {ENCRYPTION_LEVEL_NONE, ENCRYPTION_LEVEL_LOW,
	                                ENCRYPTION_LEVEL_CLIENT_COMPATIBLE, ENCRYPTION_LEVEL_HIGH,
	                                ENCRYPTION_LEVEL_FIPS};

	s->RdpSecurity = (sc->protocols & SC_PROTO_RDP) ? TRUE : FALSE;
	s->TlsSecurity = (sc->protocols & SC_PROTO_TLS) ? TRUE : FALSE;
	s->NlaSecurity = (sc->protocols & SC_PROTO_NLA) ? TRUE : FALSE;
	if (sc->protocols & (SC_PROTO_TLS | SC_PROTO_NLA)) {
		if (!freerdp_settings_set_string(s, FreeRDP_CertificateContent, srv->cert_pem) ||
		    !freerdp_settings_set_string(s, FreeRDP_PrivateKeyContent, srv->key_pem))
			return -1;
	}
	/* NLA's account: its NT hash, made once at start, answers FreeRDP's
	 * hash callback; no account file is read per connection (the runtime
	 * directory may go away under a running harness). */
	if ((sc->protocols & SC_PROTO_NLA) && srv->has_nt_hash)
		client->ComputeNtlmHash = on_ntlm_hash;
	if (sc->protocols & SC_PROTO_RDP) {
		s->RdpServerRsaKey = rsa_key_copy(e->rdp_key);
		if (!s->RdpServerRsaKey)
			return -1;
		s->EncryptionLevel = levels[sc->encryption_level];
		s->EncryptionMethods = sc->encryption_level == SC_ENC_FIPS
		                           ? ENCRYPTION_METHOD_FIPS
		                           : ENCRYPTION_METHOD_40BIT | ENCRYPTION_METHOD_128BIT;
	}
	s->TLSMinVersion = sc->tls_min;
	s->TLSMaxVersion = sc->tls_max;
	s->TlsSecLevel = (UINT32)sc->tls_sec_level;
	if (sc->tls_ciphers &&
	    !freerdp_settings_set_string(s, FreeRDP_AllowedTlsCiphers, sc->tls_ciphers))
		return -1;
	s->ColorDepth = 32;
	s->RefreshRect = TRUE;
	s->SuppressOutput = TRUE;
	s->FrameMarkerCommandEnabled = FALSE;
	s->SurfaceFrameMarkerEnabled = FALSE;
	/* Loopback or not, encryption is really on when the scenario asks. */
	client->local = FALSE;
	return 0;
}

void (*peer_install_hooks(void))(const char *state_name)
{
	static const struct tlshook_peer hooks = {
	    .tls_step = peer_on_tls_step,
	    .client_read = peer_on_client_read,
	    .server_write = peer_on_server_write,
	    .server_written = peer_on_server_written,
	    .socket_send = peer_on_socket_send,
	    .socket_sent = peer_on_socket_sent,
	    .socket_recv = peer_on_socket_recv,
	    .filters_reads = peer_filters_reads,
	    .filtered_read = peer_filtered_read,
	    .tls_key = peer_tls_key,
	    .tls_cert = peer_tls_cert,
	};
	tlshook_install(&hooks);
	return peer_on_freerdp_state;
}

/* FreeRDP 2.11 copies the NLA identity into the peer (sspi_CopyAuthIdentity)
 * and frees only the peer struct around it: the user, domain and password
 * buffers are given back here (the password wiped first). */
static void free_nla_identity(freerdp_peer *client)
{
	SEC_WINNT_AUTH_IDENTITY *id = &client->identity;
	if (id->Password)
		memset(id->Password, 0, (size_t)id->PasswordLength * sizeof(*id->Password));
	free(id->User);
	free(id->Domain);
	free(id->Password);
	memset(id, 0, sizeof(*id));
}

struct start {
	const struct engine *e;
	struct conn *c;
	int fd;
};

static void *peer_main(void *arg)
{
	struct start st = *(struct start *)arg;
	struct conn *c = st.c;
	const char *end = "ended";
	char endbuf[128];
	free(arg);

	freerdp_peer *client = freerdp_peer_new(st.fd);
	if (!client) {
		close(st.fd);
		end = "internal-error: freerdp_peer_new";
		goto out;
	}
	client->ContextSize = sizeof(struct rf_context);
	if (!freerdp_peer_context_new(client)) {
		/* Whether FreeRDP already took the fd is not knowable here:
		 * leaking it is safer than closing a number reused elsewhere. */
		freerdp_peer_free(client);
		end = "internal-error: freerdp_peer_context_new";
		goto out;
	}
	struct rf_context *ctx = ctx_of(client);
	ctx->conn = c;
	ctx->served = c->served;
	ctx->wake = CreateEvent(NULL, TRUE, FALSE, NULL);
	if (!ctx->wake) {
		end = "internal-error: CreateEvent";
		goto free_peer;
	}
	pthread_mutex_lock(&c->req_lock);
	c->kick_arg = ctx;
	c->kick = kick;
	pthread_mutex_unlock(&c->req_lock);
	mts_init(&ctx->mt, c->served->sc, c->id, st.fd, st.e->time_scale);
	current = ctx;
	if (configure(client, st.e, c->served) != 0) {
		end = "internal-error: settings";
		goto free_peer;
	}
	client->Logon = on_logon;
	client->PostConnect = on_post_connect;
	client->Activate = on_activate;
	client->ClientCapabilities = on_client_capabilities;
	client->Capabilities = on_capabilities;
	ctx->license_default = client->LicenseCallback;
	client->LicenseCallback = on_license;
	client->update->RefreshRect = on_refresh_rect;
	client->update->SuppressOutput = on_suppress_output;
	if (!client->Initialize(client)) {
		end = "internal-error: initialize";
		goto free_peer;
	}

	for (;;) {
		HANDLE handles[MAXIMUM_WAIT_OBJECTS];
		DWORD count = client->GetEventHandles(client, handles, ARRAYSIZE(handles) - 1);
		if (count == 0) {
			end = "internal-error: no event handles";
			break;
		}
		handles[count++] = ctx->wake;
		DWORD timeout = INFINITE;
		if (ctx->deny_due) {
			uint64_t now = events_now_ms();
			timeout = ctx->deny_due > now ? (DWORD)(ctx->deny_due - now) : 0;
		}
		DWORD w = WaitForMultipleObjects(count, handles, FALSE, timeout);
		if (w == WAIT_FAILED) {
			end = "internal-error: wait failed";
			break;
		}
		if (WaitForSingleObject(ctx->wake, 0) == WAIT_OBJECT_0) {
			serve_kick(ctx); /* the relay's, whatever else is ready */
			continue;
		}
		if (w == WAIT_TIMEOUT) { /* the messages' wait is over */
			send_messages(ctx, ctx->deny_phase, NULL, NULL);
			continue;
		}
		if (!client->CheckFileDescriptor(client)) {
			/* A failure after the client's NTLM AUTHENTICATE (its second
			 * TSRequest) is an authentication failure; before it, the
			 * client just left. */
			if (ctx->tls_done && !ctx->credssp_done && ctx->client_ts.count >= 2 &&
			    (atomic_load(&c->selected_protocol) & X224_PROTOCOL_HYBRID))
				report_credssp_failure(ctx, credssp_failure_code(ctx));
			int state = freerdp_get_state(client->context);
			snprintf(endbuf, sizeof(endbuf), "connection ended in %s",
			         freerdp_state_string(state));
			end = endbuf;
			break;
		}
	}
	client->Disconnect(client);
free_peer:
	current = NULL;
	pthread_mutex_lock(&c->req_lock);
	c->kick = NULL;
	pthread_mutex_unlock(&c->req_lock);
	if (ctx->wake)
		CloseHandle(ctx->wake);
	mts_free(&ctx->mt);
	freerdp_peer_context_free(client);
	free_nla_identity(client);
	freerdp_peer_free(client);
out:
	snprintf(c->peer_end, sizeof(c->peer_end), "%s", end);
	conn_release(c);
	pthread_mutex_lock(&running_lock);
	running--;
	pthread_cond_broadcast(&running_cond);
	pthread_mutex_unlock(&running_lock);
	return NULL;
}

int peer_start(const struct engine *e, struct conn *c, int fd)
{
	pthread_t t;
	pthread_attr_t attr;
	struct start *st = malloc(sizeof(*st));
	if (!st)
		return -1;
	st->e = e;
	st->c = c;
	st->fd = fd;
	conn_ref(c);
	c->peer_started = 1;
	c->peer_fd = fd;
	pthread_mutex_lock(&running_lock);
	running++;
	pthread_mutex_unlock(&running_lock);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* FreeRDP's deepest stacks are far below 1 MiB; a small stack keeps
	 * thousands of peers cheap in address space. */
	pthread_attr_setstacksize(&attr, 1u << 20);
	int rc = pthread_create(&t, &attr, peer_main, st);
	pthread_attr_destroy(&attr);
	if (rc != 0) {
		free(st);
		c->peer_started = 0;
		pthread_mutex_lock(&running_lock);
		running--;
		pthread_mutex_unlock(&running_lock);
		conn_release(c);
		return -1;
	}
	return 0;
}
