/* peer_strike.c — where faults strike inside the peer thread (see
 * peer_ctx.h).
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
#include "engine/peer_ctx.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <winpr/synch.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "faults/license.h"
#include "faults/ultimatum.h"

/* ---------------------------------------------------------------- the gate */

static int relay_gone(const struct rf_context *ctx)
{
	return atomic_load(&ctx->conn->relay_gone);
}

/* The relay wakes this thread through a WinPR event (the peer loop waits
 * on it beside FreeRDP's handles). */
void peer_kick(struct conn *c)
{
	struct rf_context *ctx = c->kick_arg;
	SetEvent(ctx->wake);
}

/* A cut strikes now: FreeRDP's later writes are withheld, and the relay
 * learns where the server's stream ends. */
void peer_strike_now(struct rf_context *ctx, const struct fault_step *st)
{
	ctx->gate = GATE_SWALLOW;
	ctx->strike_after = NULL;
	atomic_store(&ctx->conn->cut, 1); /* later phases are the server's alone */
	conn_tell(ctx->conn, CM_STRIKE, st, ctx->sent, 0);
}

/* The fault of the scenario's plan that the relay's stream carries out at
 * phase p: a cut now (or after FreeRDP's next PDU, `after_write`), a stall
 * or delay of FreeRDP's next write. One fault at a time. */
void peer_fault_at(struct rf_context *ctx, enum phase p, int after_write)
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
		ctx->stall_until = st->duration_ms < 0
		                           ? UINT64_MAX
		                           : events_now_ms() + (uint64_t)st->duration_ms;
		return;
	}
	if (after_write)
		ctx->strike_after = st;
	else
		peer_strike_now(ctx, st);
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
			            json_pack("{s:s}", "action",
			                      fault_action_name(ctx->stall->action)));
			break;
		}
		uint64_t left = ctx->stall_until - now;
		WaitForSingleObject(ctx->wake, left > 1000 ? 1000 : (DWORD)left);
		ResetEvent(ctx->wake);
	}
	return TLSHOOK_PASS;
}

enum tlshook_verdict peer_gate_write(struct rf_context *ctx)
{
	if (ctx->gate == GATE_HOLD && hold_writer(ctx) == TLSHOOK_FAIL)
		return TLSHOOK_FAIL;
	return ctx->gate == GATE_SWALLOW ? TLSHOOK_SWALLOW : TLSHOOK_PASS;
}

/* One PDU of FreeRDP's went out whole: the phases and cuts that wait for
 * one. Under TLS the PDUs are named; under RDP Standard Security they are
 * encrypted, and counted. */
void peer_on_server_pdu(void *arg, const struct pduinfo *pdu)
{
	struct rf_context *ctx = arg;
	atomic_store(&ctx->conn->last_pdu_written, pdu->name);
	int plain = !ctx->ssl;
	if (ctx->await == AWAIT_DEMAND_ACTIVE && (plain || pdu->share_type == 1)) {
		ctx->await = AWAIT_NONE;
		peer_at_phase(ctx, PH_CAPABILITIES, NULL, 1);
	} else if (ctx->await == AWAIT_GRANTED &&
	           (plain ? ++ctx->plain_units == 3
	                  : strcmp(pdu->name, "control-granted-control") == 0)) {
		ctx->await = AWAIT_NONE;
		peer_at_phase(ctx, PH_FINALIZATION, NULL, 1);
	}
	if (ctx->strike_after && ctx->gate == GATE_OPEN)
		peer_strike_now(ctx, ctx->strike_after);
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
static void send_message(struct rf_context *ctx, const struct fault_step *st, freerdp_peer *lic,
                         wStream *lic_s)
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
			message_failed(ctx, st,
			               "the Disconnect Provider Ultimatum could not be written");
		break;
	}
	case FA_LICENSE_ERROR:
		if (!lic || !ctx->license_default)
			message_failed(ctx, st, "no licensing answer to rewrite at this moment");
		else if (!ctx->ssl)
			message_failed(ctx, st,
			               "RDP Standard Security: FreeRDP may encrypt licensing "
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
				message_failed(ctx, st,
				               "FreeRDP's licensing answer was not the expected "
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
void peer_send_messages(struct rf_context *ctx, enum phase p, freerdp_peer *lic, wStream *lic_s)
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
void peer_end_with(struct rf_context *ctx, const struct fault_step *st)
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
void peer_maybe_send(struct rf_context *ctx, enum phase p, int in_wlog, freerdp_peer *lic,
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
	peer_send_messages(ctx, p, lic, lic_s);
}

/* A phase the peer sees: logged, then its faults. */
void peer_at_phase(struct rf_context *ctx, enum phase p, json_t *detail, int defer_messages)
{
	conn_phase_at(ctx->conn, p, detail, ctx->received, ctx->sent);
	peer_fault_at(ctx, p, 0);
	peer_maybe_send(ctx, p, defer_messages, NULL, NULL);
}

/* The relay asked for a close_notify (its cut is a graceful close once TLS
 * is up): written now, and the relay told where it ends. */
void peer_serve_kick(struct rf_context *ctx)
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
void peer_await_strike(struct rf_context *ctx)
{
	while (!relay_gone(ctx)) {
		if (WaitForSingleObject(ctx->wake, 1000) != WAIT_OBJECT_0)
			continue;
		int want = atomic_load(&ctx->conn->want_close_notify);
		peer_serve_kick(ctx);
		if (want)
			break;
	}
}
