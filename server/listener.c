/* listener.c — listening sockets and accept (see listener.h). */
#include "listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/listener.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "admission.h"
#include "conn.h"
#include "events.h"
#include "harness.h"
#include "log.h"
#include "select.h"
#include "udpside.h"

void addr_text(const struct sockaddr *sa, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	int port = 0;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, n, "%s:%d", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, n, "[%s]:%d", host, port);
	} else {
		snprintf(out, n, "unknown");
	}
}

static void on_accept(struct evconnlistener *evl, evutil_socket_t fd, struct sockaddr *sa, int len,
                      void *arg)
{
	struct listener *l = arg;
	char client[64];
	(void)evl;

	if (admission_is_phantom(l, sa, (unsigned int)len)) {
		evutil_closesocket(fd); /* the harness's own queue filler (syn-drop prefill) */
		return;
	}
	addr_text(sa, client, sizeof(client));
	struct conn *c = conn_new(l, l->name, fd, client);
	if (!c) {
		log_error("out of memory accepting a connection on %s", l->name);
		evutil_closesocket(fd);
		return;
	}
	events_emit(c->id, "accept",
	            json_pack("{s:s, s:s, s:s}", "listener", l->name, "client", client,
	                      "listener_scenario", served_name(l->def)));
	conn_phase(c, PH_TCP_ACCEPT, NULL);
	if (admission_admit(l->def, c, "tcp-accept")) {
		const char *reason;
		const struct fault_step *cut = admission_refusal_cut(l->def, &reason);
		if (cut)
			select_begin_cut(l->h, c, cut, reason);
		else
			admission_refuse(l->def, c);
		return;
	}
	select_begin(l->h, c);
}

static void on_accept_error(struct evconnlistener *evl, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();
	(void)evl;
	/* EMFILE and friends: say so and keep serving; libevent retries. */
	log_warn("accept on %s failed: %s", l->name, evutil_socket_error_to_string(err));
	events_emit(0, "accept-error",
	            json_pack("{s:s, s:s}", "listener", l->name, "error",
	                      evutil_socket_error_to_string(err)));
}

int listener_open(struct harness *h, struct listener *l, const char *host, int port,
                  const struct served *def, int backlog, char *err, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	memset(&ss, 0, sizeof(ss));
	if (strchr(host, ':')) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1) {
			snprintf(err, n, "invalid IPv6 address '%s'", host);
			return -1;
		}
		sslen = sizeof(*in6);
		snprintf(l->name, sizeof(l->name), "[%s]:%d", host, port);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&ss;
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &in->sin_addr) != 1) {
			snprintf(err, n, "invalid IPv4 address '%s'", host);
			return -1;
		}
		sslen = sizeof(*in);
		snprintf(l->name, sizeof(l->name), "%s:%d", host, port);
	}
	l->h = h;
	l->def = def;
	/* libevent reads a backlog of 0 as "already listening": ask for 1,
	 * then set 0 (a queue of one on Linux) with a second listen(). */
	errno = 0;
	l->evl = evconnlistener_new_bind(h->base, on_accept, l,
	                                 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
	                                     LEV_OPT_CLOSE_ON_EXEC,
	                                 backlog > 0 ? backlog : 1, (struct sockaddr *)&ss,
	                                 (int)sslen);
	if (!l->evl) {
		snprintf(err, n, "cannot listen on %s: %s", l->name,
		         errno ? strerror(errno) : "the event library refused the socket");
		return -1;
	}
	if (backlog == 0 && listen(evconnlistener_get_fd(l->evl), 0) != 0) {
		snprintf(err, n, "cannot listen on %s with backlog 0: %s", l->name, strerror(errno));
		evconnlistener_free(l->evl);
		l->evl = NULL;
		return -1;
	}
	evconnlistener_set_error_cb(l->evl, on_accept_error);
	if (udpside_open(h, &l->udp, (struct sockaddr *)&ss, sslen, l->name, def, err, n) != 0) {
		evconnlistener_free(l->evl);
		l->evl = NULL;
		return -1;
	}
	return 0;
}

void listener_close(struct listener *l)
{
	if (l->evl)
		evconnlistener_free(l->evl);
	l->evl = NULL;
	udpside_close(l->udp);
	l->udp = NULL;
}
