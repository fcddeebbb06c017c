/* peer.c — the FreeRDP peer thread (see peer.h).
 *
 * Per connection FreeRDP gets only copies of what harness_prepare() made
 * once: the certificate and key as PEM text (no file reads), and the RDP
 * Standard Security key already parsed. Handing FreeRDP RdpKeyFile or
 * RdpKeyContent instead would make every peer re-parse the key and run
 * RSA_check_key on it, which costs ~20 ms of CPU per connection. */
#include "peer.h"

#include "deadline.h"

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
#include <winpr/synch.h>

#include "admission.h"
#include "conn.h"
#include "desktop.h"
#include "events.h"
#include "faultplan.h"
#include "harness.h"
#include "license.h"
#include "log.h"
#include "mcsfix.h"
#include "mtbootstrap.h"
#include "tlshook.h"
#include "tsrequest.h"
#include "ultimatum.h"

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

long peer_wait_all(int timeout_ms)
{
	struct timespec until = deadline_after_ms(timeout_ms);
	pthread_mutex_lock(&running_lock);
	while (running > 0)
		if (pthread_cond_timedwait(&running_cond, &running_lock, &until) == ETIMEDOUT)
			break;
	long n = running;
	pthread_mutex_unlock(&running_lock);
	return n;
}

#define DENY_HOLD_MS 500 /* between the server's last word and its FIN */

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

/* The messages that strike at phase p, in the scenario's order; then the
 * relay passes them on and closes (FIN, then drain until the client
 * closes). A FIN right behind the last PDU makes xfreerdp fail on the end
 * of the stream before it handles the PDU, so the close follows after a
 * short hold, as a server's disconnect does. */
/* After the server's last message: the hold, then the relay's FIN. */
static void close_after_hold(struct rf_context *ctx)
{
	static const struct fault_step fin = {
	    .action = FA_CLOSE, .at = PH_NONE, .duration_ms = -1, .after_ms = DENY_HOLD_MS};
	/* FreeRDP may hold output in its transport buffer: out with it first. */
	ctx->base.peer->DrainOutputBuffer(ctx->base.peer);
	conn_request(ctx->conn, &fin, 2000);
}

static void send_messages(struct rf_context *ctx, enum phase p, freerdp_peer *lic, wStream *lic_s)
{
	const struct fault_plan *plan = &ctx->served->plan;
	ctx->denied = 1;
	ctx->deny_due = 0;
	for (size_t i = 0; i < plan->n; i++)
		if (fault_is_message(&plan->steps[i]) && plan->steps[i].at == p)
			send_message(ctx, &plan->steps[i], lic, lic_s);
	close_after_hold(ctx);
}

/* One message of the harness's own (the session limit's deny), then the
 * hold and the FIN, as for a scenario's messages. */
static void end_with(struct rf_context *ctx, const struct fault_step *st)
{
	ctx->denied = 1;
	send_message(ctx, st, NULL, NULL);
	close_after_hold(ctx);
}

/* Called at every peer phase: the messages that strike here. Inside
 * WLog's callback (the phases FreeRDP reports only by logging) FreeRDP
 * must not be called (its logging refuses to recurse): the peer loop sends
 * them as soon as FreeRDP returns, after the PDUs of that step. The first
 * message's after_ms is the wait for all of that phase. */
static void maybe_send(struct rf_context *ctx, enum phase p, int in_wlog, freerdp_peer *lic,
                       wStream *lic_s)
{
	const struct fault_plan *plan = &ctx->served->plan;
	const struct fault_step *st = NULL;
	for (size_t i = 0; i < plan->n && !st; i++)
		if (fault_is_message(&plan->steps[i]) && plan->steps[i].at == p)
			st = &plan->steps[i];
	if (!st || ctx->denied || ctx->deny_due)
		return;
	if (st->after_ms > 0 || in_wlog) {
		ctx->deny_phase = p;
		ctx->deny_due = events_now_ms() + (uint64_t)st->after_ms + 1;
		return;
	}
	send_messages(ctx, p, lic, lic_s);
}

void peer_on_freerdp_state(const char *state)
{
	if (!current)
		return;
	enum phase p = phase_from_freerdp_state(state);
	if (p == PH_NONE && strcmp(state, "CONNECTION_STATE_SECURE_SETTINGS_EXCHANGE") == 0 &&
	    current->base.settings->UseRdpSecurityLayer)
		p = PH_SECURITY_EXCHANGE;
	if (p != PH_NONE) {
		conn_phase(current->conn, p, NULL);
		maybe_send(current, p, 1, NULL, NULL);
	}
}

void peer_on_tls_handshake_done(SSL *ssl)
{
	if (!current || current->tls_done)
		return;
	current->tls_done = 1;
	tsrequest_stream_init(&current->client_ts);
	current->ssl = ssl;
	conn_phase(current->conn, PH_TLS_FINISHED,
	           json_pack("{s:s, s:s}", "tls_version", SSL_get_version(ssl), "cipher",
	                     SSL_get_cipher_name(ssl)));
	if (atomic_load(&current->conn->selected_protocol) & X224_PROTOCOL_HYBRID)
		conn_phase(current->conn, PH_CREDSSP, NULL);
}

static void report_credssp_failure(struct rf_context *ctx, uint32_t code);

/* The NTSTATUS this connection's CredSSP failure reports. */
static uint32_t credssp_failure_code(const struct rf_context *ctx)
{
	const struct fault_step *st = fault_plan_find(&ctx->served->plan, FA_CREDSSP_ERROR);
	return st ? st->code : NTSTATUS_LOGON_FAILURE;
}

void peer_on_client_read(void *buf, size_t len)
{
	if (!current || !current->tls_done)
		return;
	if (current->credssp_done) {
		/* After Logon (FreeRDP calls it once TLS and any CredSSP are
		 * done) the stream is at the MCS Connect Initial: FreeRDP reads
		 * whole PDUs, never past one. RDP Standard Security is the
		 * relay's (no TLS). */
		if (!current->fix.done && mcsfix_feed(&current->fix, buf, len))
			events_emit(current->conn->id, "client-quirk",
			            json_pack("{s:s, s:s}", "quirk", "erect-domain-bare-integers",
			                      "seen_by", "tls"));
		return;
	}
	tsrequest_stream_feed(&current->client_ts, buf, len);
}

int peer_filters_reads(void)
{
	return current && current->mt.filtering;
}

int peer_filtered_read(SSL *ssl, void *buf, int num, int (*real)(SSL *, void *, int))
{
	return mts_read(&current->mt, ssl, buf, num, real);
}

int peer_on_server_write(const void *buf, size_t len, const void **out, size_t *out_len)
{
	if (current && current->credssp_done && current->mt.cfg)
		mts_server_write(&current->mt, buf, len, out, out_len);
	if (current && current->license_rewrite && len <= sizeof(current->license_pdu)) {
		const struct fault_step *st = current->license_rewrite;
		memcpy(current->license_pdu, buf, len);
		if (license_error_rewrite(current->license_pdu, len, st->code, st->transition) == 0) {
			current->license_rewrite = NULL;
			current->license_rewritten = 1;
			*out = current->license_pdu;
		}
		return 0;
	}
	if (!current || !current->tls_done || current->credssp_done)
		return 0;
	/* The CredSSP version FreeRDP settled on is in its own TSRequests. */
	int v = tsrequest_version(buf, len);
	if (v <= 0)
		return 0;
	current->credssp_version = v;
	/* credssp-error: NTLM succeeded and the server is about to prove its
	 * key (pubKeyAuth); it reports the scenario's NTSTATUS instead. */
	if ((tsrequest_fields(buf, len) & TSREQUEST_PUB_KEY_AUTH) &&
	    fault_plan_find(&current->served->plan, FA_CREDSSP_ERROR)) {
		report_credssp_failure(current, credssp_failure_code(current));
		return 1;
	}
	return 0;
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
		if (admission_session_limited(ctx->served, ctx->conn)) {
			end_with(ctx, &ctx->served->session_limit);
			return LICENSE_CB_ABORT;
		}
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
	static const struct fault_step rst = {
	    .action = FA_RESET, .at = PH_CAPABILITIES, .duration_ms = -1, .after_ms = 0};
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
		events_emit(ctx->conn->id, "fault", fault_step_json(&rst));
		conn_request(ctx->conn, &rst, 2000);
		return FALSE;
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
	conn_phase(ctx->conn, PH_CONFIRM_ACTIVE,
	           json_pack("{s:i, s:i, s:i}", "width", (int)s->DesktopWidth, "height",
	                     (int)s->DesktopHeight, "color_depth", (int)s->ColorDepth));
	maybe_send(ctx, PH_CONFIRM_ACTIVE, 0, NULL, NULL);
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
	if (!ctx->denied)
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

static int configure(freerdp_peer *client, const struct harness *h, const struct served *srv)
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
	if ((sc->protocols & SC_PROTO_NLA) && srv->sam_path[0] &&
	    !freerdp_settings_set_string(s, FreeRDP_NtlmSamFile, srv->sam_path))
		return -1;
	if (sc->protocols & SC_PROTO_RDP) {
		s->RdpServerRsaKey = rsa_key_copy(&h->rdp_key);
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

struct start {
	struct harness *h;
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
	mts_init(&ctx->mt, c->served->sc, c->id, st.fd, st.h->opt.time_scale);
	current = ctx;
	if (configure(client, st.h, c->served) != 0) {
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
		DWORD count = client->GetEventHandles(client, handles, ARRAYSIZE(handles));
		if (count == 0) {
			end = "internal-error: no event handles";
			break;
		}
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
	mts_free(&ctx->mt);
	freerdp_peer_context_free(client);
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

int peer_start(struct harness *h, struct conn *c, int fd)
{
	pthread_t t;
	pthread_attr_t attr;
	struct start *st = malloc(sizeof(*st));
	if (!st)
		return -1;
	st->h = h;
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
