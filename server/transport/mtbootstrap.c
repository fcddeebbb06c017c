/* mtbootstrap.c — multitransport bootstrapping on a connection (see
 * mtbootstrap.h). */
#include "transport/mtbootstrap.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "base/events.h"
#include "catalog/faultplan.h"
#include "base/hexstr.h"
#include "freerdp/tlshook.h"
#include "faults/udp.h"

/* Recent requests' cookie hashes, for the UDP side to tell whose SYN a
 * datagram is. A ring: old entries are overwritten. */
#define COOKIE_RING 512
static struct {
	uint8_t hash[32];
	uint64_t conn;
	uint32_t request_id;
} ring[COOKIE_RING];
static size_t ring_next;
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;

static void ring_add(const uint8_t h[32], uint64_t conn, uint32_t request_id)
{
	pthread_mutex_lock(&ring_lock);
	memcpy(ring[ring_next].hash, h, 32);
	ring[ring_next].conn = conn;
	ring[ring_next].request_id = request_id;
	ring_next = (ring_next + 1) % COOKIE_RING;
	pthread_mutex_unlock(&ring_lock);
}

int mts_cookie_owner(const uint8_t hash[32], uint64_t *conn, uint32_t *request_id)
{
	int found = 0;
	pthread_mutex_lock(&ring_lock);
	for (size_t i = 0; i < COOKIE_RING && !found; i++)
		if (ring[i].conn && memcmp(ring[i].hash, hash, 32) == 0) {
			*conn = ring[i].conn;
			*request_id = ring[i].request_id;
			found = 1;
		}
	pthread_mutex_unlock(&ring_lock);
	return found;
}

static void emit(struct mt_session *m, const char *what, json_t *f)
{
	if (!f)
		f = json_object();
	json_object_set_new(f, "what", json_string(what));
	events_emit(m->conn, "multitransport", f);
}

static json_t *flags_json(uint32_t flags)
{
	json_t *a = json_array();
	if (flags & MT_TRANSPORTTYPE_UDPFECR)
		json_array_append_new(a, json_string("reliable"));
	if (flags & MT_TRANSPORTTYPE_UDPFECL)
		json_array_append_new(a, json_string("lossy"));
	if (flags & MT_TRANSPORTTYPE_UDP_PREFERRED)
		json_array_append_new(a, json_string("udp-preferred"));
	if (flags & MT_SOFTSYNC_TCP_TO_UDP)
		json_array_append_new(a, json_string("softsync"));
	return a;
}

void mts_init(struct mt_session *m, const struct scenario *sc, uint64_t conn, int fd,
              double time_scale)
{
	memset(m, 0, sizeof(*m));
	m->conn = conn;
	m->fd = fd;
	if (!sc->multitransport.on)
		return;
	m->cfg = &sc->multitransport;
	m->timeout_ms = scale_ms(m->cfg->response_timeout_ms, time_scale);
	m->after_ms = scale_ms(m->cfg->fallback_after_ms, time_scale);
}

void mts_free(struct mt_session *m)
{
	pdufilter_free(&m->filter);
	free(m->grown);
	m->grown = NULL;
}

void mts_start(struct mt_session *m)
{
	if (m->cfg)
		m->filtering = 1;
}

static void on_connect_initial(struct mt_session *m, const uint8_t *pdu, size_t len)
{
	const char *why;
	m->seen_connect_initial = 1;
	if (mt_parse_connect_initial(pdu, len, &m->client, &why) != 0) {
		emit(m, "client-data", json_pack("{s:s}", "problem", why));
		return;
	}
	m->client_udp = (m->client.flags & MT_UDP_MASK) && m->client.has_msgchannel;
	char fl[16];
	snprintf(fl, sizeof(fl), "0x%08X", m->client.flags);
	emit(m, "client-data",
	     json_pack("{s:b, s:s, s:o, s:b, s:b}", "multitransport_block",
	               m->client.has_multitransport, "flags", fl, "transports",
	               flags_json(m->client.flags), "message_channel", m->client.has_msgchannel,
	               "udp_offered", m->client_udp));
}

static void on_response(struct mt_session *m, uint32_t id, uint32_t hr)
{
	int known = -1;
	for (int i = 0; i < m->n_req; i++)
		if (m->req[i].request_id == id)
			known = i;
	char hrs[16];
	snprintf(hrs, sizeof(hrs), "0x%08X", hr);
	const char *name = mt_hr_name(hr);
	json_t *f = json_pack("{s:I, s:s, s:s, s:I}", "request_id", (json_int_t)id, "hr_response",
	                      hrs, "hr_name", name ? name : "", "after_ms",
	                      (json_int_t)(events_now_ms() - m->sent_ms));
	if (known < 0)
		json_object_set_new(f, "problem",
		                    json_string("no request of this connection has "
		                                "this requestId"));
	else if (!m->answered[known]) {
		m->answered[known] = 1;
		m->n_answered++;
		json_object_set_new(f, "protocol",
		                    json_string(mt_protocol_name(m->req[known].protocol)));
	}
	json_object_set_new(f, "withheld_from_freerdp", json_true());
	emit(m, "response", f);
}

/* The filter's judgement on each client PDU. */
static int keep(void *arg, const uint8_t *pdu, size_t len)
{
	struct mt_session *m = arg;
	if (!m->seen_connect_initial) {
		on_connect_initial(m, pdu, len);
		return 1;
	}
	if (!m->msgchannel)
		return 1;
	uint32_t id, hr;
	int k = mt_parse_response(pdu, len, m->msgchannel, &id, &hr);
	if (k == 0)
		return 1;
	if (k < 0) {
		emit(m, "response",
		     json_pack("{s:s, s:b}", "problem",
		               "an Initiate Multitransport Response shorter than its "
		               "8 bytes",
		               "withheld_from_freerdp", 1));
		return 0;
	}
	on_response(m, id, hr);
	return 0;
}

struct io {
	SSL *ssl;
	mts_read_fn real;
};

static int io_read(void *arg, uint8_t *buf, int num)
{
	struct io *io = arg;
	return io->real(io->ssl, buf, num);
}

int mts_read(struct mt_session *m, SSL *ssl, void *buf, int num, mts_read_fn real)
{
	struct io io = {ssl, real};
	int rc = pdufilter_read(&m->filter, io_read, &io, keep, m, buf, num);
	return rc == -2 ? -1 : rc;
}

void mts_server_write(struct mt_session *m, const uint8_t *buf, size_t len, const void **out,
                      size_t *out_len)
{
	if (!m->cfg)
		return;
	if (!m->user_id && m->response_checked) {
		uint16_t uid;
		if (mt_parse_attach_user_confirm(buf, len, &uid) == 0)
			m->user_id = uid;
		return;
	}
	if (m->response_checked)
		return;
	uint16_t ch;
	int has;
	uint32_t fl;
	const char *why;
	if (mt_parse_connect_response(buf, len, &ch, &has, &fl, &why) != 0)
		return; /* not this PDU */
	m->response_checked = 1;
	m->msgchannel = ch;
	if (!m->client_udp) {
		emit(m, "not-offered",
		     json_pack("{s:s}", "why",
		               !m->client.has_msgchannel
		                       ? "the client asked for no message channel"
		                       : "the client advertised no UDP transport"));
		return;
	}
	if (!ch) {
		emit(m, "not-offered",
		     json_pack("{s:s}", "why", "FreeRDP gave no message channel"));
		m->client_udp = 0;
		return;
	}
	/* The server offers what it will request and what the client can do. */
	m->server_flags = (m->client.flags & m->cfg->protocols) |
	                  (m->client.flags & MT_TRANSPORTTYPE_UDP_PREFERRED);
	if (!(m->server_flags & MT_UDP_MASK)) {
		emit(m, "not-offered",
		     json_pack("{s:s}", "why",
		               "the client offers none of the scenario's protocols"));
		m->client_udp = 0;
		return;
	}
	size_t cap = len + MT_CONNECT_RESPONSE_GROWTH;
	free(m->grown);
	m->grown = malloc(cap);
	size_t n = m->grown ? mt_add_server_multitransport(buf, len, m->server_flags, m->grown, cap,
	                                                   &why)
	                    : 0;
	if (!n) {
		emit(m, "not-offered", json_pack("{s:s}", "why", m->grown ? why : "out of memory"));
		m->client_udp = 0;
		return;
	}
	char fls[16];
	snprintf(fls, sizeof(fls), "0x%08X", m->server_flags);
	emit(m, "server-data",
	     json_pack("{s:s, s:o, s:i, s:I, s:I}", "flags", fls, "transports",
	               flags_json(m->server_flags), "message_channel", ch, "bytes_before",
	               (json_int_t)len, "bytes_after", (json_int_t)n));
	m->offered = 1;
	*out = m->grown;
	*out_len = n;
}

/* Waits for the stream to be readable (1), the time to pass (0), or the
 * stream to end (-1). */
static int wait_readable(int fd, int ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	if (ms < 0)
		ms = 0;
	for (;;) {
		int rc = poll(&p, 1, ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc < 0)
			return -1;
		if (rc == 0)
			return 0;
		return (p.revents & POLLIN) ? 1 : -1;
	}
}

/* Reads the client's PDUs through the filter until `until_ms`, or until
 * every request is answered (when `answers` is set). 0 when the time or
 * the answers came; -1 when the stream ended. */
static int read_until(struct mt_session *m, SSL *ssl, mts_read_fn real, uint64_t until_ms,
                      int answers)
{
	struct io io = {ssl, real};
	for (;;) {
		if (answers && m->n_answered >= m->n_req)
			return 0;
		uint64_t now = events_now_ms();
		if (now >= until_ms)
			return 0;
		int left = until_ms - now > 3600000 ? 3600000 : (int)(until_ms - now);
		if (pdufilter_has_kept(&m->filter)) {
			/* A PDU for FreeRDP: it waits for FreeRDP; only the end of
			 * the stream can still be seen (the relay shuts down its
			 * side: POLLRDHUP, not POLLHUP). */
			struct pollfd p = {.fd = m->fd, .events = POLLRDHUP};
			int rc = poll(&p, 1, left);
			if (rc > 0)
				return -1;
			if (rc < 0 && errno != EINTR)
				return -1;
			continue;
		}
		int rc = pdufilter_fill(&m->filter, io_read, &io, keep, m);
		if (rc == 1 || (answers && m->n_answered >= m->n_req))
			continue;
		if (rc == -2)
			return -1;
		int err = SSL_get_error(ssl, rc);
		if (err == SSL_ERROR_ZERO_RETURN)
			m->client_closed = 1;
		if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE)
			return -1;
		if (wait_readable(m->fd, left) < 0)
			return -1;
	}
}

enum mts_outcome mts_bootstrap(struct mt_session *m, SSL *ssl, mts_read_fn real)
{
	if (!m->cfg || !m->offered || m->done)
		return MTS_PROCEED;
	m->done = 1;
	if (!m->user_id || !ssl) {
		emit(m, "not-requested", json_pack("{s:s}", "why", "no MCS user id was seen"));
		return MTS_PROCEED;
	}
	static const uint16_t protos[] = {MT_TRANSPORTTYPE_UDPFECR, MT_TRANSPORTTYPE_UDPFECL};
	m->sent_ms = events_now_ms();
	for (size_t i = 0; i < 2; i++) {
		if (!(m->server_flags & protos[i]))
			continue;
		struct mt_request *r = &m->req[m->n_req];
		uint8_t pdu[MT_REQUEST_PDU_LEN];
		r->initiator = m->user_id;
		r->channel = m->msgchannel;
		r->protocol = protos[i];
		if (RAND_bytes((unsigned char *)&r->request_id, sizeof(r->request_id)) != 1 ||
		    RAND_bytes(r->cookie, MT_COOKIE_LEN) != 1) {
			emit(m, "not-requested", json_pack("{s:s}", "why", "no random bytes"));
			return MTS_PROCEED;
		}
		mt_request_pdu(r, pdu);
		/* The hash a SYN will carry: for the UDP side, and the log. */
		char cookie[2 * MT_COOKIE_LEN + 1], hash_hex[65] = "";
		uint8_t h[32];
		if (udp_cookie_hash(r->cookie, h) == 0) {
			ring_add(h, m->conn, r->request_id);
			hex_encode(h, 32, hash_hex);
		}
		int ok = tlshook_write(ssl, pdu, sizeof(pdu)) == 0;
		hex_encode(r->cookie, MT_COOKIE_LEN, cookie);
		emit(m, "request",
		     json_pack("{s:I, s:s, s:s, s:s, s:i, s:i, s:b}", "request_id",
		               (json_int_t)r->request_id, "protocol", mt_protocol_name(r->protocol),
		               "security_cookie", cookie, "cookie_sha256", hash_hex, "channel",
		               r->channel, "bytes", (int)sizeof(pdu), "sent", ok));
		if (!ok)
			return MTS_GONE;
		m->n_req++;
	}
	int rc = read_until(m, ssl, real, m->sent_ms + (uint64_t)m->timeout_ms, 1);
	json_t *missing = json_array();
	for (int i = 0; i < m->n_req; i++)
		if (!m->answered[i])
			json_array_append_new(missing, json_integer(m->req[i].request_id));
	emit(m, "attempt-over",
	     json_pack("{s:i, s:i, s:o, s:I, s:s}", "requests", m->n_req, "responses",
	               m->n_answered, "unanswered", missing, "waited_ms",
	               (json_int_t)(events_now_ms() - m->sent_ms), "ended",
	               rc < 0                      ? "client-gone"
	               : m->n_answered >= m->n_req ? "answered"
	                                           : "timeout"));
	if (rc < 0)
		return MTS_GONE;
	if (m->after_ms > 0 &&
	    read_until(m, ssl, real, events_now_ms() + (uint64_t)m->after_ms, 0) < 0)
		return MTS_GONE;
	emit(m, "fallback",
	     json_pack("{s:s, s:i}", "action", sc_fallback_str(m->cfg->fallback), "after_ms",
	               m->after_ms));
	return (enum mts_outcome)m->cfg->fallback;
}

void mts_stall(struct mt_session *m, SSL *ssl, mts_read_fn real)
{
	read_until(m, ssl, real, UINT64_MAX, 0);
}
