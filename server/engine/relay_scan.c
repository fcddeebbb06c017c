/* relay_scan.c — the relay's own phases (see relay_ctx.h): both streams
 * scanned as they pass (TPKT, fast-path and TLS record headers, never
 * decrypted), the X.224 Confirm decoded, each unit's phase reported and
 * the faults at it handed to relay_cut.c. */
#include "engine/relay_ctx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/events.h"
#include "base/log.h"
#include "catalog/served.h"

/* ---------------------------------------------------------------- scanning */

/* Calls fn on each chunk of the buffer from `skip` bytes in, in order (no
 * copy); fn returns non-zero to stop. -1 when the chunk list could not be
 * had. */
int relay_each_chunk(struct evbuffer *in, size_t skip, int (*fn)(void *, uint8_t *, size_t),
                     void *arg)
{
	int n = evbuffer_peek(in, -1, NULL, NULL, 0);
	if (n <= 0)
		return 0;
	struct evbuffer_iovec small[8], *vec = small;
	if (n > 8 && !(vec = malloc(sizeof(*vec) * (size_t)n)))
		return -1;
	n = evbuffer_peek(in, -1, NULL, vec, n);
	for (int i = 0; i < n; i++) {
		uint8_t *p = vec[i].iov_base;
		size_t len = vec[i].iov_len;
		if (skip >= len) {
			skip -= len;
			continue;
		}
		if (fn(arg, p + skip, len - skip))
			break;
		skip = 0;
	}
	if (vec != small)
		free(vec);
	return 0;
}

struct scan_ctx {
	struct relay *r;
	struct flow *f;
	tlsrec_cb cb;
	uint64_t base; /* stream offset of the chunk being fed */
};

static struct scan_ctx *scanning; /* the scan in progress (event-loop thread only) */

/* Stream offset where a unit reported by the scanner starts. */
static uint64_t unit_start(const struct tlsrec_unit *u)
{
	uint64_t at = scanning->base + u->offset;
	return at > u->start_back ? at - u->start_back : 0;
}

static int scan_chunk(void *arg, uint8_t *p, size_t n)
{
	struct scan_ctx *x = arg;
	tlsrec_feed(&x->f->sc, p, n, x->cb, x->r);
	x->base += n;
	return 0;
}

/* Scans the bytes of the flow's input not scanned yet. */
void relay_scan_new(struct relay *r, struct flow *f, tlsrec_cb cb)
{
	struct evbuffer *in = bufferevent_get_input(f->from);
	uint64_t have = f->passed + evbuffer_get_length(in);
	if (have <= f->seen)
		return;
	if (!f->sc.stopped) {
		struct scan_ctx x = {r, f, cb, f->seen};
		scanning = &x;
		relay_each_chunk(in, (size_t)(f->seen - f->passed), scan_chunk, &x);
		scanning = NULL;
	}
	f->seen = have;
}

static const char *unit_name(const struct tlsrec_unit *u)
{
	if (u->kind == TLSREC_TPKT)
		return u->tpdu_code == 0xE0   ? "x224-connection-request"
		       : u->tpdu_code == 0xD0 ? "x224-connection-confirm"
		                              : "tpkt";
	if (u->kind == TLSREC_FASTPATH)
		return "fastpath";
	switch (u->content_type) {
	case TLS_CT_HANDSHAKE:
		return u->hs_type == 1   ? "tls-client-hello"
		       : u->hs_type == 2 ? "tls-server-hello"
		                         : "tls-handshake";
	case TLS_CT_CHANGE_CIPHER_SPEC:
		return "tls-change-cipher-spec";
	case TLS_CT_ALERT:
		return "tls-alert";
	default:
		return "tls-application-data";
	}
}

/* ---------------------------------------------------------------- phases */

/* Decodes the server's X.224 Connection Confirm: the RDP_NEG_RSP's
 * selected protocol or the RDP_NEG_FAILURE code. Returns 1 for a failure. */
int relay_log_confirm(struct relay *r, const uint8_t *b, size_t n)
{
	int failed = 0;
	static const char *failures[] = {"",
	                                 "SSL_REQUIRED_BY_SERVER",
	                                 "SSL_NOT_ALLOWED_BY_SERVER",
	                                 "SSL_CERT_NOT_ON_SERVER",
	                                 "INCONSISTENT_FLAGS",
	                                 "HYBRID_REQUIRED_BY_SERVER",
	                                 "SSL_WITH_USER_AUTH_REQUIRED_BY_SERVER"};
	json_t *f = json_object();
	if (n >= 19 && (b[5] & 0xF0) == 0xD0) {
		uint32_t v = (uint32_t)b[15] | (uint32_t)b[16] << 8 | (uint32_t)b[17] << 16 |
		             (uint32_t)b[18] << 24;
		if (b[11] == 0x02) {
			char protos[64];
			r->c->selected_protocol = v;
			/* A protocol the client did not offer (FreeRDP answers an
			 * NLA-only offer with TLS when it has no NLA). */
			uint32_t offered = r->c->req.requested_protocols;
			if (r->c->req.has_neg_req && v && !(v & offered))
				relay_emit_security_layer(
				        r, "selected",
				        x224_protocols_str(v, protos, sizeof(protos)));
			json_object_set_new(
			        f, "selected",
			        json_string(x224_protocols_str(v, protos, sizeof(protos))));
		} else if (b[11] == 0x03) {
			failed = 1;
			/* FreeRDP's own refusal: the scenario's security layers do not
			 * meet the client's offer. */
			if (!fault_plan_find(&r->c->served->plan, FA_NEG_FAILURE))
				relay_emit_security_layer(r, "failure",
				                          v < 7 ? failures[v] : "unknown");
			json_object_set_new(f, "failure_code", json_integer(v));
			json_object_set_new(f, "failure",
			                    json_string(v < 7 ? failures[v] : "unknown"));
		}
	} else if (n >= 11) {
		json_object_set_new(f, "selected", json_string("rdp"));
	}
	/* RDP Standard Security, or a failure: no TLS will follow. */
	if (r->c->selected_protocol == 0) {
		tlsrec_set_plain(&r->up.sc);
		tlsrec_set_plain(&r->down.sc);
	}
	conn_phase_at(r->c, PH_X224_CONFIRM, f, r->up.seen, r->down.passed);
	return failed;
}

int relay_on_unit_up(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	r->up.last_unit = unit_name(u);
	relay_net_unit(r, &r->up, unit_start(u), u->length);
	if (u->kind == TLSREC_TLS && u->hs_type == 1 && !r->saw_client_hello) {
		r->saw_client_hello = 1;
		conn_phase_at(r->c, PH_TLS_CLIENT_HELLO, NULL, unit_start(u), r->down.seen);
		const struct fault_step *st =
		        fault_plan_relay_step(&r->c->served->plan, PH_TLS_CLIENT_HELLO);
		if (st && fault_ends_connection(st)) {
			/* The server got the ClientHello and hung up: it never
			 * reaches FreeRDP, and the client waits for ServerHello. */
			relay_arm_cut(r, st, r->down.seen, 0, 0);
			r->up.limit = unit_start(u);
		} else if (st) {
			relay_hold_server(r, st, r->down.seen);
		}
	}
	return 0;
}

int relay_on_unit_down(const struct tlsrec_unit *u, void *arg)
{
	struct relay *r = arg;
	r->down.last_unit = unit_name(u);
	relay_net_unit(r, &r->down, unit_start(u), u->length);
	if (u->kind == TLSREC_TLS && u->hs_type == 2 && !r->saw_server_hello) {
		r->saw_server_hello = 1;
		conn_phase_at(r->c, PH_TLS_SERVER_HELLO, NULL, r->up.seen, unit_start(u));
		/* The phase's boundary is the server's whole first flight (the
		 * peer tells where it ends); a cut with flight: first-record,
		 * and a stall, take the ServerHello record alone. */
		uint64_t end = unit_start(u) + u->length;
		const struct fault_step *st =
		        fault_plan_relay_step(&r->c->served->plan, PH_TLS_SERVER_HELLO);
		if (st && fault_ends_connection(st))
			relay_arm_cut(r, st, end, !st->first_record, !st->first_record);
		else if (st)
			relay_hold_server(r, st, end);
	}
	return 0;
}
