/* peer_hooks.c — the FreeRDP interposition's calls into the peer of the
 * calling thread (see freerdp/tlshook.h, freerdp/wloghook.h): FreeRDP's
 * state changes, each TLS handshake step, the plaintext read and written,
 * the bytes on the socket, the served key and certificate. A thread that
 * is no peer's passes through untouched. */
#include "engine/peer_ctx.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/events.h"
#include "base/log.h"
#include "faults/codes.h"
#include "faults/license.h"

static void peer_on_freerdp_state(const char *state)
{
	struct rf_context *ctx = peer_current;
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
		peer_at_phase(ctx, p, NULL, 1);
}

static void tls_handshake_done(struct rf_context *ctx, SSL *ssl)
{
	ctx->tls_done = 1;
	tsrequest_stream_init(&ctx->client_ts);
	ctx->ssl = ssl;
	atomic_store(&ctx->conn->tls_up, 1);
	conn_phase_at(ctx->conn, PH_TLS_FINISHED,
	              json_pack("{s:s, s:s}", "tls_version", SSL_get_version(ssl), "cipher",
	                        SSL_get_cipher_name(ssl)),
	              ctx->received, ctx->sent);
	peer_fault_at(ctx, PH_TLS_FINISHED, 0);
	if (atomic_load(&ctx->conn->selected_protocol) & X224_PROTOCOL_HYBRID) {
		conn_phase_at(ctx->conn, PH_CREDSSP, NULL, ctx->received, ctx->sent);
		peer_fault_at(ctx, PH_CREDSSP, 0);
	}
	if (ctx->gate == GATE_SWALLOW)
		peer_await_strike(ctx);
}

static void peer_on_tls_step(SSL *ssl, int after, int rc)
{
	struct rf_context *ctx = peer_current;
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
	if (strcmp(pdu->name, PDU_NAME_ULTIMATUM) == 0)
		atomic_store(&ctx->conn->client_bye, 1);
}

static void peer_on_client_closed(void)
{
	if (peer_current)
		atomic_store(&peer_current->conn->client_bye, 1);
}

static void peer_on_client_read(void *buf, size_t len)
{
	struct rf_context *ctx = peer_current;
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
	return peer_current && peer_current->mt.filtering;
}

static int peer_filtered_read(SSL *ssl, void *buf, int num, int (*real)(SSL *, void *, int))
{
	return mts_read(&peer_current->mt, ssl, buf, num, real);
}

static enum tlshook_verdict peer_on_server_write(const void *buf, size_t len, const void **out,
                                                 size_t *out_len)
{
	struct rf_context *ctx = peer_current;
	if (!ctx)
		return TLSHOOK_PASS;
	enum tlshook_verdict w = peer_gate_write(ctx);
	if (w != TLSHOOK_PASS)
		return w;
	if (ctx->await == AWAIT_GRANTED) {
		/* A client that sent no Request Control gets no Granted Control:
		 * the Font Map is then the first PDU past the phase. */
		struct pduinfo pdu;
		pduinfo_name(buf, len < PDUINFO_HEAD ? len : PDUINFO_HEAD, len, &pdu);
		if (pdu.data_type == 40) {
			ctx->await = AWAIT_NONE;
			peer_at_phase(ctx, PH_FINALIZATION, NULL, 1);
			if ((w = peer_gate_write(ctx)) != TLSHOOK_PASS)
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
		peer_report_credssp_failure(ctx);
		return TLSHOOK_FAIL;
	}
	return TLSHOOK_PASS;
}

static void peer_on_server_written(const void *buf, size_t len)
{
	struct rf_context *ctx = peer_current;
	if (ctx)
		pdutap_feed(&ctx->wtap, buf, len, peer_on_server_pdu, ctx);
}

static enum tlshook_verdict peer_on_socket_send(int fd, const void *buf, size_t len)
{
	struct rf_context *ctx = peer_current;
	(void)buf;
	(void)len;
	if (!ctx || fd != ctx->conn->peer_fd || ctx->tls_started)
		return TLSHOOK_PASS; /* under TLS the gate is SSL_write's */
	return peer_gate_write(ctx);
}

static EVP_PKEY *peer_tls_key(void)
{
	return peer_current ? peer_current->served->pkey : NULL;
}

static X509 *peer_tls_cert(void)
{
	return peer_current ? peer_current->served->x509 : NULL;
}

static const unsigned char *peer_tls_pubkey_der(int *len)
{
	if (!peer_current || !peer_current->served->pub_der)
		return NULL;
	*len = peer_current->served->pub_der_len;
	return peer_current->served->pub_der;
}

static void peer_on_socket_recv(int fd)
{
	struct rf_context *ctx = peer_current;
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

static void peer_on_socket_received(int fd, size_t len)
{
	struct rf_context *ctx = peer_current;
	if (ctx && fd == ctx->conn->peer_fd)
		ctx->received += len;
}

static void peer_on_socket_sent(int fd, const void *buf, size_t len)
{
	struct rf_context *ctx = peer_current;
	if (!ctx || fd != ctx->conn->peer_fd)
		return;
	ctx->sent += len;
	if (!ctx->tls_started) /* RDP Standard Security: the PDUs themselves */
		pdutap_feed(&ctx->wtap, buf, len, peer_on_server_pdu, ctx);
}

/* A CredSSP exchange that failed ends with FreeRDP 2.11 closing without a
 * word (its NTLM server sets no error, so it sends no errorCode). A Windows
 * server reports the NTSTATUS in a TSRequest first (MS-CSSP 3.1.5), and
 * clients show the precise cause: write that TSRequest before the close. */
void peer_report_credssp_failure(struct rf_context *ctx)
{
	uint32_t code = credssp_failure_code(ctx);
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
	json_t *f = json_pack("{s:s, s:s, s:i, s:i}", "error_code", hex, "status", name ? name : "",
	                      "server_version", ctx->credssp_version, "client_version",
	                      ctx->client_ts.version);
	if (n && ctx->ssl && tlshook_write(ctx->ssl, msg, (int)n) == 0)
		json_object_set_new(f, "sent", json_true());
	else
		json_object_set_new(f, "sent", json_false());
	events_emit(ctx->conn->id, "credssp-failed", f);
}

void (*peer_install_hooks(void))(const char *state_name)
{
	static const struct tlshook_peer hooks = {
	        .tls_step = peer_on_tls_step,
	        .client_read = peer_on_client_read,
	        .client_closed = peer_on_client_closed,
	        .server_write = peer_on_server_write,
	        .server_written = peer_on_server_written,
	        .socket_send = peer_on_socket_send,
	        .socket_sent = peer_on_socket_sent,
	        .socket_recv = peer_on_socket_recv,
	        .socket_received = peer_on_socket_received,
	        .filters_reads = peer_filters_reads,
	        .filtered_read = peer_filtered_read,
	        .tls_key = peer_tls_key,
	        .tls_cert = peer_tls_cert,
	        .tls_pubkey_der = peer_tls_pubkey_der,
	};
	tlshook_install(&hooks);
	return peer_on_freerdp_state;
}
