/* mtclient.c — rdpfault-mtclient, the project's own multitransport test
 * client.
 *
 * FreeRDP 2.11's client advertises UDP (/multitransport) but does nothing
 * with an Initiate Multitransport Request: it never tries UDP and never
 * answers, so the server's fallback paths after a failed UDP attempt are
 * out of its reach. This client drives FreeRDP's client library for the
 * whole connection and adds what it lacks, under the library's TLS reads
 * (the same libssl interposition the harness uses): it decodes the
 * server's multitransport data and requests, sends MS-RDPEUDP SYN
 * datagrams carrying the SHA-256 of the request's securityCookie to the
 * server's UDP port, notes what comes back (an answer, ICMP port
 * unreachable, nothing), and answers the request with an Initiate
 * Multitransport Response (E_ABORT by default) on the message channel.
 * The request itself is withheld from the library.
 *
 * Every step is a JSON line on stdout; diagnostics go to stderr. Exit 0
 * when the session became active, 1 when it did not, 2 on bad usage. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <freerdp/error.h>
#include <freerdp/freerdp.h>
#include <freerdp/settings.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <winpr/synch.h>
#include <winpr/wlog.h>

#include "faults/multitransport.h"
#include "base/hexstr.h"
#include "wire/pdufilter.h"
#include "faults/udp.h"

static struct {
	const char *host;
	int port;
	int respond;  /* send a response at all */
	uint32_t hr;  /* its hrResponse */
	int syns;     /* SYN datagrams per request */
	int delay_ms; /* before the response */
	int hold_ms;  /* stay connected this long once active */
	uint32_t flags;
} opt = {
        NULL, 0,
        1,    MT_E_ABORT,
        3,    0,
        500,  MT_TRANSPORTTYPE_UDPFECR | MT_TRANSPORTTYPE_UDPFECL | MT_TRANSPORTTYPE_UDP_PREFERRED};

static struct {
	struct pdufilter filter;
	uint16_t msgchannel, user_id;
	int seen_response;
	SSL *ssl;
	int requests;
} st;

typedef int (*read_fn)(SSL *, void *, int);
typedef int (*write_fn)(SSL *, const void *, int);
static read_fn real_read;
static write_fn real_write;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void sleep_ms(int ms)
{
	struct timespec t = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&t, &t) != 0 && errno == EINTR)
		;
}

static int write_all(SSL *ssl, const uint8_t *p, int n)
{
	for (int tries = 0; n > 0 && tries < 1000; tries++) {
		int rc = real_write(ssl, p, n);
		if (rc > 0) {
			p += rc;
			n -= rc;
		} else {
			int e = SSL_get_error(ssl, rc);
			if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
				return -1;
			sleep_ms(1);
		}
	}
	return n == 0 ? 0 : -1;
}

/* The UDP attempt: SYNs to the server's port, and what comes back. */
static void try_udp(const struct mt_request *r)
{
	struct addrinfo hints = {.ai_socktype = SOCK_DGRAM}, *ai = NULL;
	char port[16];
	snprintf(port, sizeof(port), "%d", opt.port);
	if (opt.syns <= 0 || getaddrinfo(opt.host, port, &hints, &ai) != 0) {
		printf("{\"event\":\"udp\",\"sent\":0}\n");
		return;
	}
	int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
	int sent = 0, unreachable = 0, answers = 0, answer_bytes = 0;
	if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
		for (int i = 0; i < opt.syns; i++) {
			uint8_t syn[UDP_SYN_LEN];
			uint32_t isn;
			RAND_bytes((unsigned char *)&isn, sizeof(isn));
			if (!udp_build_syn(isn, r->cookie, r->protocol == MT_TRANSPORTTYPE_UDPFECL,
			                   syn))
				break;
			if (send(fd, syn, sizeof(syn), 0) == (ssize_t)sizeof(syn))
				sent++;
			else if (errno == ECONNREFUSED)
				unreachable = 1;
			/* A connected UDP socket reports a port unreachable on
			 * the next call. */
			struct pollfd p = {.fd = fd, .events = POLLIN};
			if (poll(&p, 1, 200) > 0) {
				uint8_t buf[2048];
				ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (n < 0 && errno == ECONNREFUSED)
					unreachable = 1;
				else if (n > 0) {
					answers++;
					answer_bytes += (int)n;
				}
			}
		}
	}
	uint8_t h[32];
	char hh[65] = "";
	if (udp_cookie_hash(r->cookie, h) == 0)
		hex_encode(h, 32, hh);
	printf("{\"event\":\"udp\",\"sent\":%d,\"bytes\":%d,\"cookie_sha256\":\"%s\","
	       "\"icmp_unreachable\":%s,\"answers\":%d,\"answer_bytes\":%d}\n",
	       sent, UDP_SYN_LEN, hh, unreachable ? "true" : "false", answers, answer_bytes);
	fflush(stdout);
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
}

static void on_request(const struct mt_request *r)
{
	char cookie[2 * MT_COOKIE_LEN + 1];
	hex_encode(r->cookie, MT_COOKIE_LEN, cookie);
	st.requests++;
	printf("{\"event\":\"request\",\"request_id\":%u,\"protocol\":\"%s\",\"security_cookie\":"
	       "\"%s\",\"channel\":%u,\"initiator\":%u}\n",
	       r->request_id, mt_protocol_name(r->protocol), cookie, r->channel, r->initiator);
	fflush(stdout);
	try_udp(r);
	if (!opt.respond)
		return;
	if (opt.delay_ms > 0)
		sleep_ms(opt.delay_ms);
	uint8_t pdu[MT_RESPONSE_PDU_LEN];
	mt_response_pdu(st.user_id, st.msgchannel, r->request_id, opt.hr, pdu);
	int ok = write_all(st.ssl, pdu, sizeof(pdu)) == 0;
	printf("{\"event\":\"response\",\"request_id\":%u,\"hr_response\":\"0x%08X\",\"sent\":%s}"
	       "\n",
	       r->request_id, opt.hr, ok ? "true" : "false");
	fflush(stdout);
}

/* Each PDU from the server, before FreeRDP's client library sees it. */
static int keep(void *arg, const uint8_t *pdu, size_t len)
{
	(void)arg;
	if (!st.seen_response) {
		uint16_t ch;
		int has;
		uint32_t fl;
		const char *why;
		if (mt_parse_connect_response(pdu, len, &ch, &has, &fl, &why) == 0) {
			st.seen_response = 1;
			st.msgchannel = ch;
			printf("{\"event\":\"server-data\",\"message_channel\":%u,"
			       "\"multitransport\":%s,\"flags\":\"0x%08X\"}\n",
			       ch, has ? "true" : "false", fl);
			fflush(stdout);
		}
		return 1;
	}
	if (!st.user_id) {
		uint16_t uid;
		if (mt_parse_attach_user_confirm(pdu, len, &uid) == 0)
			st.user_id = uid;
		return 1;
	}
	struct mt_request r;
	if (!st.msgchannel)
		return 1;
	int k = mt_parse_request(pdu, len, st.msgchannel, &r);
	if (k == 0)
		return 1;
	if (k < 0) {
		printf("{\"event\":\"request\",\"problem\":\"shorter than its 24 bytes\"}\n");
		return 0;
	}
	on_request(&r);
	return 0;
}

struct io {
	SSL *ssl;
};

static int io_read(void *arg, uint8_t *buf, int num)
{
	return real_read(((struct io *)arg)->ssl, buf, num);
}

static void resolve(void)
{
	if (!real_read) {
		real_read = (read_fn)dlsym(RTLD_NEXT, "SSL_read");
		real_write = (write_fn)dlsym(RTLD_NEXT, "SSL_write");
	}
}

int SSL_read(SSL *s, void *buf, int num)
{
	resolve();
	if (!real_read)
		return -1;
	if (SSL_is_server(s) || SSL_in_init(s))
		return real_read(s, buf, num);
	st.ssl = s;
	struct io io = {s};
	int rc = pdufilter_read(&st.filter, io_read, &io, keep, NULL, buf, num);
	return rc == -2 ? -1 : rc;
}

int SSL_write(SSL *s, const void *buf, int num)
{
	resolve();
	return real_write ? real_write(s, buf, num) : -1;
}

static int usage(const char *why)
{
	if (why)
		fprintf(stderr, "rdpfault-mtclient: %s\n", why);
	fprintf(stderr,
	        "Usage: rdpfault-mtclient [OPTIONS] HOST PORT\n"
	        "Connects with FreeRDP's client library, advertising UDP, and answers the\n"
	        "server's Initiate Multitransport Requests; JSON lines on stdout.\n"
	        "  --hr CODE        hrResponse to answer with: E_ABORT (default), S_OK, "
	        "0xNNNNNNNN,\n"
	        "                   or none (send no response)\n"
	        "  --syns N         RDP-UDP SYN datagrams per request (default 3; 0: no UDP)\n"
	        "  --delay-ms N     wait before the response (default 0)\n"
	        "  --hold-ms N      once active, stay this long (default 500)\n"
	        "  --transports L   reliable,lossy (default both; none: advertise no UDP)\n"
	        "  --user NAME      user name (default mtclient)\n"
	        "Exit status: 0 the session became active, 1 it did not, 2 usage error.\n");
	return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = (int)v;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {{"hr", required_argument, 0, 'r'},
	                                      {"syns", required_argument, 0, 's'},
	                                      {"delay-ms", required_argument, 0, 'd'},
	                                      {"hold-ms", required_argument, 0, 'o'},
	                                      {"transports", required_argument, 0, 't'},
	                                      {"user", required_argument, 0, 'u'},
	                                      {"help", no_argument, 0, 'h'},
	                                      {0, 0, 0, 0}};
	const char *user = "mtclient";
	char msg[160];
	int c;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'r':
			if (!strcmp(optarg, "none"))
				opt.respond = 0;
			else if (!strcmp(optarg, "E_ABORT"))
				opt.hr = MT_E_ABORT;
			else if (!strcmp(optarg, "S_OK"))
				opt.hr = MT_S_OK;
			else {
				char *end;
				errno = 0;
				unsigned long v = strtoul(optarg, &end, 16);
				if (errno || end == optarg || *end || v > 0xFFFFFFFFul ||
				    strncmp(optarg, "0x", 2)) {
					snprintf(msg, sizeof(msg),
					         "--hr '%s': expected E_ABORT, S_OK, none or "
					         "0xNNNNNNNN",
					         optarg);
					return usage(msg);
				}
				opt.hr = (uint32_t)v;
			}
			break;
		case 's':
		case 'd':
		case 'o': {
			int *dst = c == 's' ? &opt.syns : c == 'd' ? &opt.delay_ms : &opt.hold_ms;
			if (parse_int(optarg, 0, c == 's' ? 100 : 600000, dst)) {
				snprintf(msg, sizeof(msg), "--%s '%s': expected a number in %s",
				         c == 's'   ? "syns"
				         : c == 'd' ? "delay-ms"
				                    : "hold-ms",
				         optarg, c == 's' ? "0-100" : "0-600000");
				return usage(msg);
			}
			break;
		}
		case 't':
			opt.flags = 0;
			if (strcmp(optarg, "none") != 0) {
				char *dup = strdup(optarg), *save = NULL;
				for (char *t = strtok_r(dup, ",", &save); t;
				     t = strtok_r(NULL, ",", &save)) {
					if (!strcmp(t, "reliable"))
						opt.flags |= MT_TRANSPORTTYPE_UDPFECR;
					else if (!strcmp(t, "lossy"))
						opt.flags |= MT_TRANSPORTTYPE_UDPFECL;
					else {
						snprintf(msg, sizeof(msg),
						         "--transports: unknown '%s' (reliable, "
						         "lossy, none)",
						         t);
						free(dup);
						return usage(msg);
					}
				}
				free(dup);
				opt.flags |= MT_TRANSPORTTYPE_UDP_PREFERRED;
			}
			break;
		case 'u':
			user = optarg;
			break;
		case 'h':
			usage(NULL);
			return 0;
		default:
			return usage(NULL);
		}
	}
	if (argc - optind != 2)
		return usage("expected HOST and PORT");
	opt.host = argv[optind];
	if (parse_int(argv[optind + 1], 1, 65535, &opt.port))
		return usage("PORT: expected 1-65535");

	WLog_SetLogLevel(WLog_GetRoot(), WLOG_ERROR);
	freerdp *instance = freerdp_new();
	if (!instance || !freerdp_context_new(instance)) {
		fprintf(stderr, "rdpfault-mtclient: cannot create a FreeRDP client\n");
		return 1;
	}
	rdpSettings *s = instance->settings;
	freerdp_settings_set_string(s, FreeRDP_ServerHostname, opt.host);
	freerdp_settings_set_uint32(s, FreeRDP_ServerPort, (UINT32)opt.port);
	freerdp_settings_set_string(s, FreeRDP_Username, user);
	freerdp_settings_set_string(s, FreeRDP_Password, "mtclient");
	freerdp_settings_set_bool(s, FreeRDP_IgnoreCertificate, TRUE);
	freerdp_settings_set_bool(s, FreeRDP_SupportMultitransport, opt.flags != 0);
	freerdp_settings_set_uint32(s, FreeRDP_MultitransportFlags, opt.flags);
	freerdp_settings_set_bool(s, FreeRDP_NlaSecurity, FALSE);
	freerdp_settings_set_uint32(s, FreeRDP_DesktopWidth, 1024);
	freerdp_settings_set_uint32(s, FreeRDP_DesktopHeight, 768);
	freerdp_settings_set_uint32(s, FreeRDP_ColorDepth, 32);
	printf("{\"event\":\"start\",\"host\":\"%s\",\"port\":%d,\"flags\":\"0x%08X\"}\n", opt.host,
	       opt.port, opt.flags);
	fflush(stdout);

	double t0 = now_ms();
	BOOL up = freerdp_connect(instance);
	if (up) {
		double until = now_ms() + opt.hold_ms;
		while (now_ms() < until && !freerdp_shall_disconnect(instance)) {
			HANDLE h[64];
			DWORD n = freerdp_get_event_handles(instance->context, h, 64);
			if (n == 0)
				break;
			WaitForMultipleObjects(n, h, FALSE, 50);
			if (!freerdp_check_event_handles(instance->context))
				break;
		}
	}
	UINT32 err = freerdp_get_last_error(instance->context);
	UINT32 info = freerdp_error_info(instance);
	const char *info_name = info ? freerdp_get_error_info_name(info) : "";
	printf("{\"event\":\"result\",\"connected\":%s,\"seconds\":%.1f,\"requests\":%d,"
	       "\"last_error\":\"%s\",\"error_info\":\"0x%08X\",\"error_info_name\":\"%s\"}\n",
	       up ? "true" : "false", (now_ms() - t0) / 1e3, st.requests,
	       freerdp_get_last_error_name(err), info, info_name ? info_name : "");
	fflush(stdout);
	if (up)
		freerdp_disconnect(instance);
	freerdp_context_free(instance);
	freerdp_free(instance);
	pdufilter_free(&st.filter);
	return up ? 0 : 1;
}
