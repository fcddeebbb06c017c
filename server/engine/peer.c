/* peer.c — the FreeRDP peer thread (see peer.h): FreeRDP's callbacks,
 * the peer's configuration from what its scenario serves, and its loop.
 *
 * Per connection FreeRDP gets only copies of what catalog/served.c made
 * once: the certificate and key as PEM text (no file reads), and the RDP
 * Standard Security key already parsed. Handing FreeRDP RdpKeyFile or
 * RdpKeyContent instead would make every peer re-parse the key and run
 * RSA_check_key on it, which costs ~20 ms of CPU per connection. */
#include "engine/peer.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <freerdp/listener.h>
#include <freerdp/settings.h>
#include <freerdp/update.h>
#include <winpr/ntlm.h>
#include <winpr/synch.h>

#include "base/clock.h"
#include "base/events.h"
#include "base/log.h"
#include "engine/desktop.h"
#include "engine/engine.h"
#include "engine/peer_ctx.h"
#include "faults/license.h"

_Thread_local struct rf_context *peer_current;

static pthread_mutex_t running_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t running_cond = PTHREAD_COND_INITIALIZER;
static long running;
/* Peer threads are joined, never detached: a thread that has left
 * peer_main still runs its thread-local destructors (OpenSSL frees its
 * per-thread random generators there), and a stop that exits while one
 * does would cut that short at random. `ended` lists the threads past
 * peer_main, joined by peer_reap and, at the stop, by peer_wait_all. */
static pthread_t *ended;
static size_t n_ended, cap_ended;

/* Called with running_lock held, by the ending thread itself. */
static void note_ended(void)
{
	if (n_ended == cap_ended) {
		size_t cap = cap_ended ? cap_ended * 2 : 64;
		pthread_t *p = realloc(ended, cap * sizeof(*p));
		if (!p) { /* not joinable later: let it go as a detached one */
			pthread_detach(pthread_self());
			return;
		}
		ended = p;
		cap_ended = cap;
	}
	ended[n_ended++] = pthread_self();
}

/* Joins the ended threads: those fully gone, or (`wait`, at the stop)
 * all of them, also those still inside their destructors. */
static void join_ended(int wait)
{
	pthread_mutex_lock(&running_lock);
	if (wait) {
		pthread_t *list = ended;
		size_t n = n_ended;
		ended = NULL;
		n_ended = cap_ended = 0;
		pthread_mutex_unlock(&running_lock);
		for (size_t i = 0; i < n; i++)
			pthread_join(list[i], NULL);
		free(list);
		return;
	}
	size_t keep = 0;
	for (size_t i = 0; i < n_ended; i++)
		if (pthread_tryjoin_np(ended[i], NULL) != 0)
			ended[keep++] = ended[i];
	n_ended = keep;
	pthread_mutex_unlock(&running_lock);
}

void peer_reap(void)
{
	join_ended(0);
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
	join_ended(1); /* those past peer_main, still in their destructors */
	return n;
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
		conn_phase_at(ctx->conn, PH_LICENSING, NULL, ctx->received, ctx->sent);
		/* The session limit: where Windows decides on a session. */
		if (conn_session_limited(ctx->conn)) {
			peer_end_with(ctx, &ctx->served->session_limit);
			return LICENSE_CB_ABORT;
		}
		/* A cut strikes once the server's licensing PDU went (before it
		 * is client-info's moment); a stall holds that PDU. */
		peer_fault_at(ctx, PH_LICENSING, 1);
		peer_maybe_send(ctx, PH_LICENSING, 0, client, s);
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
	enum mts_outcome how = mts_bootstrap(&ctx->mt, ctx->ssl, tlshook_read_raw);
	if (how == MTS_STALL)
		mts_stall(&ctx->mt, ctx->ssl, tlshook_read_raw);
	if (ctx->mt.client_closed) /* its close_notify, read in the bootstrap */
		atomic_store(&ctx->conn->client_bye, 1);
	switch (how) {
	case MTS_PROCEED:
		return TRUE;
	case MTS_STALL:
		return FALSE;
	case MTS_RESET:
		client->DrainOutputBuffer(client);
		peer_strike_now(ctx, &rst);
		return TRUE; /* its Demand Active is withheld; the relay resets */
	case MTS_DENY:
		peer_end_with(ctx, &ctx->served->mt_deny);
		return FALSE;
	default:
		return FALSE;
	}
}

static BOOL on_client_capabilities(freerdp_peer *client)
{
	struct rf_context *ctx = ctx_of(client);
	rdpSettings *s = client->settings;
	peer_at_phase(ctx, PH_CONFIRM_ACTIVE,
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
	peer_maybe_send(ctx, PH_ACTIVE, 0, NULL, NULL);
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

/* How long a connection waits for its scenario's certificate, made in the
 * background once listening (a few hundred ms at most unless the machine
 * is starved). */
#define CERT_WAIT_MS 10000

static void *peer_main(void *arg)
{
	struct start st = *(struct start *)arg;
	struct conn *c = st.c;
	const char *end = "ended";
	char cert_end[128];
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
	c->kick = peer_kick;
	pthread_mutex_unlock(&c->req_lock);
	mts_init(&ctx->mt, c->served->sc, c->id, st.fd, st.e->time_scale);
	peer_current = ctx;
	/* Its certificate may still be in the making (served_certs.c). */
	long waited_ms = 0;
	char why[520];
	if (served_wait(c->served, CERT_WAIT_MS, &waited_ms, why, sizeof(why)) != 0) {
		snprintf(cert_end, sizeof(cert_end), "internal-error: certificate: %.90s", why);
		end = cert_end;
		goto free_peer;
	}
	if (waited_ms > 0)
		events_emit(c->id, "certificate-wait",
		            json_pack("{s:s, s:I}", "scenario", served_name(c->served), "waited_ms",
		                      (json_int_t)waited_ms));
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
			peer_serve_kick(ctx); /* the relay's, whatever else is ready */
			continue;
		}
		if (w == WAIT_TIMEOUT) { /* the messages' wait is over */
			peer_send_messages(ctx, ctx->deny_phase, NULL, NULL);
			continue;
		}
		if (!client->CheckFileDescriptor(client)) {
			/* A failure after the client's NTLM AUTHENTICATE (its second
			 * TSRequest) is an authentication failure; before it, the
			 * client just left. */
			if (ctx->tls_done && !ctx->credssp_done && ctx->client_ts.count >= 2 &&
			    (atomic_load(&c->selected_protocol) & X224_PROTOCOL_HYBRID))
				peer_report_credssp_failure(ctx);
			int state = freerdp_get_state(client->context);
			snprintf(endbuf, sizeof(endbuf), "connection ended in %s",
			         freerdp_state_string(state));
			end = endbuf;
			break;
		}
	}
	client->Disconnect(client);
free_peer:
	peer_current = NULL;
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
	note_ended();
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
	peer_reap();
	pthread_attr_init(&attr);
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
