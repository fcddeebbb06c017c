/* udpside.c — a scenario's UDP socket (see udpside.h). */
#include "transport/udpside.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/rand.h>

#include "base/events.h"
#include "catalog/served.h"
#include "base/hexstr.h"
#include "base/netaddr.h"
#include "base/log.h"
#include "transport/mtbootstrap.h"
#include "faults/udp.h"

#define LOGGED_MAX 1000 /* datagrams logged one by one per socket; the rest are counted */
#define GARBAGE_LEN 64

struct udpside {
	int fd;
	struct event *ev;
	char name[64];
	const struct served *def;
	int answer;
	unsigned long datagrams, bytes, syns, matched, answered;
};

static json_t *syn_json(const struct udp_syn *s)
{
	json_t *o = json_pack("{s:I, s:i, s:i, s:I, s:i, s:i}", "snSourceAck",
	                      (json_int_t)s->snSourceAck, "uReceiveWindowSize",
	                      s->uReceiveWindowSize, "uFlags", s->uFlags, "snInitialSequenceNumber",
	                      (json_int_t)s->snInitialSequenceNumber, "uUpStreamMtu",
	                      s->uUpStreamMtu, "uDownStreamMtu", s->uDownStreamMtu);
	json_object_set_new(o, "lossy", json_boolean(s->uFlags & UDP_FLAG_SYNLOSSY));
	if (s->has_correlation_id) {
		char id[33];
		hex_encode(s->correlation_id, 16, id);
		json_object_set_new(o, "correlation_id", json_string(id));
	}
	if (s->has_synex)
		json_object_set_new(o, "uUdpVer", json_integer(s->uUdpVer));
	if (s->has_cookie_hash) {
		char h[65];
		hex_encode(s->cookie_hash, 32, h);
		json_object_set_new(o, "cookie_sha256", json_string(h));
	}
	return o;
}

static void on_datagram(evutil_socket_t fd, short what, void *arg)
{
	struct udpside *u = arg;
	uint8_t d[2048];
	(void)what;
	/* A bounded batch per wake-up keeps a flood from starving the loop. */
	for (int batch = 0; batch < 64; batch++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, d, sizeof(d), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return; /* EAGAIN, or an ICMP error queued by a reply: nothing to read */
		u->datagrams++;
		u->bytes += (unsigned long)n;
		struct udp_syn syn;
		const char *why = NULL;
		int is_syn = udp_parse_syn(d, (size_t)n, &syn, &why);
		uint64_t owner = 0;
		uint32_t request_id = 0;
		if (is_syn) {
			u->syns++;
			if (syn.has_cookie_hash &&
			    mts_cookie_owner(syn.cookie_hash, &owner, &request_id))
				u->matched++;
		}
		int answered = 0;
		if (u->answer) {
			uint8_t g[GARBAGE_LEN];
			if (RAND_bytes(g, sizeof(g)) == 1 &&
			    sendto(fd, g, sizeof(g), MSG_DONTWAIT, (struct sockaddr *)&from, fl) ==
			            (ssize_t)sizeof(g)) {
				answered = 1;
				u->answered++;
			}
		}
		if (u->datagrams > LOGGED_MAX)
			continue;
		char peer[64], first[33];
		addr_text((const struct sockaddr *)&from, peer, sizeof(peer));
		hex_encode(d, n < 16 ? (size_t)n : 16, first);
		json_t *f = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}", "listener", u->name,
		                      "scenario", served_name(u->def), "from", peer, "datagram",
		                      (json_int_t)u->datagrams, "bytes", (json_int_t)n,
		                      "first_bytes", first);
		if (is_syn) {
			json_object_set_new(f, "syn", syn_json(&syn));
			if (why)
				json_object_set_new(f, "problem", json_string(why));
		} else {
			json_object_set_new(f, "not_syn", json_string(why));
		}
		if (owner)
			json_object_set_new(f, "request_id", json_integer(request_id));
		json_object_set_new(f, "cookie_matched", json_boolean(owner != 0));
		json_object_set_new(f, "answered", json_boolean(answered));
		if (answered)
			json_object_set_new(f, "answer_bytes", json_integer(GARBAGE_LEN));
		if (u->datagrams == LOGGED_MAX)
			json_object_set_new(f, "further_datagrams",
			                    json_string("counted, not logged"));
		events_emit(owner, "udp", f);
	}
}

int udpside_open(struct event_base *base, struct udpside **out, const struct sockaddr *addr,
                 socklen_t addr_len, const char *name, const struct served *def, char *err,
                 size_t n)
{
	const struct sc_multitransport *mt = &def->sc->multitransport;
	*out = NULL;
	if (!mt->on || mt->udp == SC_UDP_UNREACHABLE)
		return 0;
	struct udpside *u = calloc(1, sizeof(*u));
	if (!u) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	snprintf(u->name, sizeof(u->name), "udp:%s", name);
	u->def = def;
	u->answer = mt->udp == SC_UDP_ANSWER_GARBAGE;
	u->fd = socket(addr->sa_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (u->fd < 0 || bind(u->fd, addr, addr_len) != 0) {
		snprintf(err, n, "cannot bind %s (multitransport of %s): %s", u->name,
		         served_name(def), strerror(errno));
		if (u->fd >= 0)
			close(u->fd);
		free(u);
		return -1;
	}
	u->ev = event_new(base, u->fd, EV_READ | EV_PERSIST, on_datagram, u);
	if (!u->ev || event_add(u->ev, NULL) != 0) {
		snprintf(err, n, "cannot watch %s", u->name);
		if (u->ev)
			event_free(u->ev);
		close(u->fd);
		free(u);
		return -1;
	}
	*out = u;
	return 0;
}

void udpside_close(struct udpside *u)
{
	if (!u)
		return;
	events_emit(0, "udp-side",
	            json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I}", "what", "closed",
	                      "listener", u->name, "scenario", served_name(u->def), "datagrams",
	                      (json_int_t)u->datagrams, "bytes", (json_int_t)u->bytes, "syns",
	                      (json_int_t)u->syns, "cookie_matched", (json_int_t)u->matched,
	                      "answered", (json_int_t)u->answered));
	event_free(u->ev);
	close(u->fd);
	free(u);
}
