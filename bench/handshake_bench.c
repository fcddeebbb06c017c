/* handshake_bench.c — a load client that measures how many connection
 * handshakes per second a server completes, and what they cost it.
 *
 * --mode x224: the start of a real RDP connection (TPKT + X.224 Connection
 * Request with RDP_NEG_REQ asking for PROTOCOL_SSL, the Connection Confirm,
 * then a TLS handshake on the same socket). --mode tls: only the TLS
 * handshake, to compare with a bare TLS server such as `openssl s_server`.
 * --mode cut: the X.224 Connection Request, then read until the server
 * ends the connection (FIN or RST, whatever it sent first): a fault that
 * strikes at once, to compare with a server that accepts and closes.
 * Every handshake is a full one (no session resumption). It only ever
 * connects to a loopback address. It prints figures; it is not a test.
 *
 * Exit status: 0 when every requested connection succeeded, 1 when any
 * failed or the run was cut short by --duration-max, 2 on usage errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define MAX_CONNECTIONS 1000000
#define MAX_CONCURRENCY 512
#define MAX_TIMEOUT_MS 600000
#define MAX_DURATION_S 3600
#define COOKIE_MAX 127 /* the harness keeps at most this many bytes of mstshash */
#define CC_MAX 512     /* a Connection Confirm longer than this is not one */

enum mode { MODE_X224, MODE_TLS, MODE_CUT };

/* Why a connection failed; one counter each. */
enum fail_kind { F_CONNECT, F_X224_IO, F_X224_BAD, F_TLS, F_TIMEOUT, F_KINDS };
static const char *const fail_names[F_KINDS] = {"connect", "x224_io", "x224_bad", "tls", "timeout"};

struct options {
	char host[INET6_ADDRSTRLEN];
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int port;
	enum mode mode;
	char cookie[COOKIE_MAX + 1];
	int has_cookie;
	long connections;
	int concurrency;
	int timeout_ms;
	int duration_max_s;
	int tls_max; /* 0: the OpenSSL default */
	long server_pid;
	int json;
};

struct worker {
	pthread_t tid;
	long todo;
	long ok, failed, aborted;
	long fails[F_KINDS];
	double *lat_ms; /* one per successful connection */
	char tls_version[16];
};

struct server_sample {
	int valid;
	unsigned long long cpu_ticks; /* utime + stime */
	long rss_kb, hwm_kb, threads;
};

static struct options opt;
static SSL_CTX *ctx;
static int64_t run_deadline_ns;
static uint8_t cr_buf[64 + COOKIE_MAX];
static size_t cr_len;

/* The first error text, for stderr: enough to tell why a run failed. */
static pthread_mutex_t first_err_lock = PTHREAD_MUTEX_INITIALIZER;
static char first_err[256];

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void note_error(const char *fmt, const char *detail)
{
	pthread_mutex_lock(&first_err_lock);
	if (!first_err[0])
		snprintf(first_err, sizeof first_err, fmt, detail);
	pthread_mutex_unlock(&first_err_lock);
}

/* Waits for `events` on fd until deadline. Returns 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ns();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = fd, .events = events};
		int ms = (int)((left + 999999) / 1000000);
		int r = poll(&p, 1, ms);
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

/* Non-blocking connect bounded by deadline. Returns the socket, or -1
 * with *kind set. */
static int connect_to(int64_t deadline, enum fail_kind *kind)
{
	int fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*kind = F_CONNECT;
		note_error("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	/* Handshake flights are small writes; Nagle would only add latency. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0) {
		if (errno != EINPROGRESS) {
			*kind = F_CONNECT;
			note_error("connect: %s", strerror(errno));
			close(fd);
			return -1;
		}
		int r = wait_fd(fd, POLLOUT, deadline);
		int err = 0;
		socklen_t len = sizeof err;
		if (r <= 0) {
			*kind = r == 0 ? F_TIMEOUT : F_CONNECT;
			note_error("connect: %s", r == 0 ? "timed out" : strerror(errno));
			close(fd);
			return -1;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
			*kind = F_CONNECT;
			note_error("connect: %s", strerror(err ? err : errno));
			close(fd);
			return -1;
		}
	}
	return fd;
}

/* Returns 0, or -1 with *kind set. */
static int write_all(int fd, const uint8_t *buf, size_t len, int64_t deadline, enum fail_kind *kind)
{
	while (len) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			*kind = F_X224_IO;
			note_error("x224 send: %s", strerror(errno));
			return -1;
		}
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			*kind = r == 0 ? F_TIMEOUT : F_X224_IO;
			note_error("x224 send: %s", r == 0 ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Reads exactly len bytes. Returns 0, or -1 with *kind set. */
static int read_exact(int fd, uint8_t *buf, size_t len, int64_t deadline, enum fail_kind *kind)
{
	while (len) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n == 0) {
			*kind = F_X224_IO;
			note_error("x224 recv: %s", "server closed the connection");
			return -1;
		}
		if (errno != EAGAIN && errno != EINTR) {
			*kind = F_X224_IO;
			note_error("x224 recv: %s", strerror(errno));
			return -1;
		}
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			*kind = r == 0 ? F_TIMEOUT : F_X224_IO;
			note_error("x224 recv: %s", r == 0 ? "timed out" : strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* The Connection Request is the same for every connection (MS-RDPBCGR
 * 2.2.1.1): TPKT, X.224 CR TPDU, optional cookie, RDP_NEG_REQ(SSL). */
static void build_cr(void)
{
	uint8_t *p = cr_buf + 4;

	*p++ = 0; /* LI, filled below */
	*p++ = 0xe0;
	*p++ = 0, *p++ = 0; /* DST-REF */
	*p++ = 0, *p++ = 0; /* SRC-REF */
	*p++ = 0;           /* class 0 */
	if (opt.has_cookie) {
		p += sprintf((char *)p, "Cookie: mstshash=%s\r\n", opt.cookie);
	}
	*p++ = 0x01; /* TYPE_RDP_NEG_REQ */
	*p++ = 0x00; /* flags */
	*p++ = 0x08, *p++ = 0x00;
	*p++ = 0x01, *p++ = 0x00, *p++ = 0x00, *p++ = 0x00; /* PROTOCOL_SSL */
	cr_len = (size_t)(p - cr_buf);
	cr_buf[0] = 3;
	cr_buf[1] = 0;
	cr_buf[2] = (uint8_t)(cr_len >> 8);
	cr_buf[3] = (uint8_t)cr_len;
	cr_buf[4] = (uint8_t)(cr_len - 5); /* LI counts the X.224 header after itself */
}

/* Sends the CR and checks the reply is a CC whose RDP_NEG_RSP selects SSL.
 * Returns 0, or -1 with *kind set. */
static int x224_exchange(int fd, int64_t deadline, enum fail_kind *kind)
{
	uint8_t buf[CC_MAX];
	char why[96];

	if (write_all(fd, cr_buf, cr_len, deadline, kind) < 0)
		return -1;
	if (read_exact(fd, buf, 4, deadline, kind) < 0)
		return -1;
	size_t len = (size_t)buf[2] << 8 | buf[3];
	if (buf[0] != 3 || len < 11 || len > CC_MAX) {
		snprintf(why, sizeof why, "TPKT version %u length %zu", buf[0], len);
		goto bad;
	}
	if (read_exact(fd, buf + 4, len - 4, deadline, kind) < 0)
		return -1;
	if (buf[4] != len - 5 || (buf[5] & 0xf0) != 0xd0) {
		snprintf(why, sizeof why, "not a Connection Confirm (LI %u, code 0x%02x)", buf[4],
		         buf[5]);
		goto bad;
	}
	if (len != 19) {
		snprintf(why, sizeof why, "Connection Confirm of %zu bytes, no RDP_NEG_RSP", len);
		goto bad;
	}
	const uint8_t *neg = buf + 11;
	uint32_t v = (uint32_t)neg[4] | (uint32_t)neg[5] << 8 | (uint32_t)neg[6] << 16 |
	             (uint32_t)neg[7] << 24;
	if (neg[0] == 0x03) {
		snprintf(why, sizeof why, "RDP_NEG_FAILURE code %" PRIu32, v);
		goto bad;
	}
	if (neg[0] != 0x02 || neg[2] != 8 || neg[3] != 0) {
		snprintf(why, sizeof why, "bad RDP_NEG_RSP (type 0x%02x)", neg[0]);
		goto bad;
	}
	if (v != 0x1) {
		snprintf(why, sizeof why, "RDP_NEG_RSP selected protocol 0x%" PRIx32 ", not SSL",
		         v);
		goto bad;
	}
	return 0;
bad:
	*kind = F_X224_BAD;
	note_error("x224: %s", why);
	return -1;
}

/* --mode cut: sends the CR and reads until the server ends the connection.
 * A reset, or a write the server's close refused, is that end too. */
static int until_cut(int fd, int64_t deadline, enum fail_kind *kind)
{
	uint8_t buf[4096];
	if (write_all(fd, cr_buf, cr_len, deadline, kind) < 0)
		return errno == EPIPE || errno == ECONNRESET ? 0 : -1;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n == 0 || (n < 0 && (errno == ECONNRESET || errno == EPIPE)))
			return 0;
		if (n > 0)
			continue;
		if (errno != EAGAIN && errno != EINTR) {
			*kind = F_X224_IO;
			note_error("cut recv: %s", strerror(errno));
			return -1;
		}
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			*kind = r == 0 ? F_TIMEOUT : F_X224_IO;
			note_error("cut: %s",
			           r == 0 ? "the server never ended it" : strerror(errno));
			return -1;
		}
	}
}

/* Full TLS client handshake on the non-blocking socket. Returns 0, or -1
 * with *kind set. */
static int tls_handshake(int fd, int64_t deadline, enum fail_kind *kind, struct worker *w)
{
	SSL *ssl = SSL_new(ctx);
	int ret = -1;

	ERR_clear_error();
	if (!ssl || !SSL_set_fd(ssl, fd)) {
		*kind = F_TLS;
		note_error("tls: %s", "SSL_new/SSL_set_fd failed");
		goto out;
	}
	for (;;) {
		int r = SSL_connect(ssl);
		if (r == 1)
			break;
		int e = SSL_get_error(ssl, r);
		short ev;
		if (e == SSL_ERROR_WANT_READ) {
			ev = POLLIN;
		} else if (e == SSL_ERROR_WANT_WRITE) {
			ev = POLLOUT;
		} else {
			char msg[160];
			unsigned long code = ERR_peek_error();
			if (code)
				ERR_error_string_n(code, msg, sizeof msg);
			else
				snprintf(msg, sizeof msg, "SSL_get_error %d (%s)", e,
				         e == SSL_ERROR_SYSCALL ? "connection closed or reset"
				                                : "no detail");
			*kind = F_TLS;
			note_error("tls: %s", msg);
			goto out;
		}
		int p = wait_fd(fd, ev, deadline);
		if (p <= 0) {
			*kind = p == 0 ? F_TIMEOUT : F_TLS;
			note_error("tls: %s", p == 0 ? "timed out" : strerror(errno));
			goto out;
		}
	}
	if (!w->tls_version[0])
		snprintf(w->tls_version, sizeof w->tls_version, "%s", SSL_get_version(ssl));
	ret = 0;
out:
	/* No SSL_shutdown: the handshake is what is measured. */
	SSL_free(ssl);
	ERR_clear_error();
	return ret;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	for (long i = 0; i < w->todo; i++) {
		int64_t start = now_ns();
		if (start >= run_deadline_ns)
			break; /* --duration-max reached: the rest are not attempted */
		int64_t deadline = start + (int64_t)opt.timeout_ms * 1000000;
		int cut = 0;
		if (deadline > run_deadline_ns) {
			deadline = run_deadline_ns;
			cut = 1;
		}
		enum fail_kind kind = F_CONNECT;
		int fd = connect_to(deadline, &kind);
		int rc = fd < 0 ? -1 : 0;
		if (rc == 0 && opt.mode == MODE_CUT)
			rc = until_cut(fd, deadline, &kind);
		else {
			if (rc == 0 && opt.mode == MODE_X224)
				rc = x224_exchange(fd, deadline, &kind);
			if (rc == 0)
				rc = tls_handshake(fd, deadline, &kind, w);
		}
		int64_t end = now_ns();
		if (fd >= 0)
			close(fd);
		if (rc == 0) {
			w->lat_ms[w->ok++] = (double)(end - start) / 1e6;
		} else if (kind == F_TIMEOUT && cut) {
			w->aborted++; /* stopped by the run's cap, not its own timeout */
		} else {
			w->failed++;
			w->fails[kind]++;
		}
	}
	return NULL;
}

static int read_server(long pid, struct server_sample *s)
{
	char path[64], buf[4096];
	FILE *f;

	memset(s, 0, sizeof *s);
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	/* comm may contain spaces and parentheses: fields resume after the last ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return -1;
	unsigned long long ut, st;
	/* after ')': state(3) ppid pgrp session tty tpgid flags minflt cminflt
	 * majflt cmajflt utime(14) stime(15) */
	if (sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	s->cpu_ticks = ut + st;
	snprintf(path, sizeof path, "/proc/%ld/status", pid);
	if ((f = fopen(path, "r"))) {
		char line[256];
		while (fgets(line, sizeof line, f)) {
			sscanf(line, "VmRSS: %ld", &s->rss_kb);
			sscanf(line, "VmHWM: %ld", &s->hwm_kb);
			sscanf(line, "Threads: %ld", &s->threads);
		}
		fclose(f);
	}
	s->valid = 1;
	return 0;
}

static double cpu_ms_self(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile(const double *v, long n, double q)
{
	double r = q * (double)n;
	long k = (long)r;
	if ((double)k < r)
		k++; /* ceil without libm */
	if (k < 1)
		k = 1;
	return v[k - 1];
}

static void usage(FILE *f)
{
	fprintf(f, "usage: handshake_bench --port N [options]\n"
	           "  --host ADDR          loopback address only: 127.0.0.0/8 or ::1 (default "
	           "127.0.0.1)\n"
	           "  --port N             server port (required)\n"
	           "  --mode x224|tls|cut  X.224 CR/CC then TLS (default), TLS only, or the CR\n"
	           "                       then read until the server ends the connection\n"
	           "  --cookie NAME        send \"Cookie: mstshash=NAME\" in the X.224 CR\n"
	           "  --connections N      total connections (default 1000)\n"
	           "  --concurrency C      connections in flight, one thread each (default 8)\n"
	           "  --timeout-ms MS      per connection, connect to handshake done (default "
	           "5000)\n"
	           "  --duration-max S     hard cap on the whole run (default 120)\n"
	           "  --tls-max 1.2|1.3    highest TLS version offered (default: OpenSSL's)\n"
	           "  --server-pid PID     report the server's CPU, RSS and threads from /proc\n"
	           "  --json               print one JSON object instead of text\n"
	           "  --help\n");
}

/* Strict decimal in [lo, hi]. */
static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int set_host(const char *h)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)&opt.addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&opt.addr;

	if (strlen(h) >= sizeof opt.host)
		return -1;
	memset(&opt.addr, 0, sizeof opt.addr);
	/* Numeric addresses only: no name lookup can lead anywhere but loopback. */
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		if ((ntohl(a4->sin_addr.s_addr) >> 24) != 127)
			return -1;
		a4->sin_family = AF_INET;
		opt.addrlen = sizeof *a4;
	} else if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr))
			return -1;
		a6->sin6_family = AF_INET6;
		opt.addrlen = sizeof *a6;
	} else {
		return -1;
	}
	strcpy(opt.host, h);
	return 0;
}

static int valid_cookie(const char *c)
{
	size_t n = strlen(c);
	if (n == 0 || n > COOKIE_MAX)
		return 0;
	for (; *c; c++)
		if (*c < 0x21 || *c > 0x7e) /* printable, no space: no CR LF smuggling */
			return 0;
	return 1;
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"host", required_argument, NULL, 'h'},
	        {"port", required_argument, NULL, 'p'},
	        {"mode", required_argument, NULL, 'm'},
	        {"cookie", required_argument, NULL, 'k'},
	        {"connections", required_argument, NULL, 'n'},
	        {"concurrency", required_argument, NULL, 'c'},
	        {"timeout-ms", required_argument, NULL, 't'},
	        {"duration-max", required_argument, NULL, 'd'},
	        {"tls-max", required_argument, NULL, 'v'},
	        {"server-pid", required_argument, NULL, 's'},
	        {"json", no_argument, NULL, 'j'},
	        {"help", no_argument, NULL, 'H'},
	        {NULL, 0, NULL, 0},
	};
	long v;
	int c, li = 0;

	set_host("127.0.0.1");
	opt.mode = MODE_X224;
	opt.connections = 1000;
	opt.concurrency = 8;
	opt.timeout_ms = 5000;
	opt.duration_max_s = 120;
	opt.server_pid = -1;
	while ((c = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		switch (c) {
		case 'h':
			if (set_host(optarg) < 0) {
				fprintf(stderr,
				        "handshake_bench: --host %s: only a numeric loopback "
				        "address (127.0.0.0/8 or ::1) is allowed\n",
				        optarg);
				return -1;
			}
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &v) < 0)
				goto bad;
			opt.port = (int)v;
			break;
		case 'm':
			if (!strcmp(optarg, "x224"))
				opt.mode = MODE_X224;
			else if (!strcmp(optarg, "tls"))
				opt.mode = MODE_TLS;
			else if (!strcmp(optarg, "cut"))
				opt.mode = MODE_CUT;
			else
				goto bad;
			break;
		case 'k':
			if (!valid_cookie(optarg))
				goto bad;
			snprintf(opt.cookie, sizeof opt.cookie, "%s", optarg);
			opt.has_cookie = 1;
			break;
		case 'n':
			if (parse_long(optarg, 1, MAX_CONNECTIONS, &v) < 0)
				goto bad;
			opt.connections = v;
			break;
		case 'c':
			if (parse_long(optarg, 1, MAX_CONCURRENCY, &v) < 0)
				goto bad;
			opt.concurrency = (int)v;
			break;
		case 't':
			if (parse_long(optarg, 1, MAX_TIMEOUT_MS, &v) < 0)
				goto bad;
			opt.timeout_ms = (int)v;
			break;
		case 'd':
			if (parse_long(optarg, 1, MAX_DURATION_S, &v) < 0)
				goto bad;
			opt.duration_max_s = (int)v;
			break;
		case 'v':
			if (!strcmp(optarg, "1.2"))
				opt.tls_max = TLS1_2_VERSION;
			else if (!strcmp(optarg, "1.3"))
				opt.tls_max = TLS1_3_VERSION;
			else
				goto bad;
			break;
		case 's':
			if (parse_long(optarg, 1, INT_MAX, &v) < 0)
				goto bad;
			opt.server_pid = v;
			break;
		case 'j':
			opt.json = 1;
			break;
		case 'H':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "handshake_bench: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (!opt.port) {
		fprintf(stderr, "handshake_bench: --port is required\n");
		usage(stderr);
		return -1;
	}
	if (opt.has_cookie && opt.mode == MODE_TLS) {
		fprintf(stderr, "handshake_bench: --cookie only applies to --mode x224 and cut\n");
		return -1;
	}
	if (opt.concurrency > opt.connections)
		opt.concurrency = (int)opt.connections;
	if (opt.addr.ss_family == AF_INET)
		((struct sockaddr_in *)&opt.addr)->sin_port = htons((uint16_t)opt.port);
	else
		((struct sockaddr_in6 *)&opt.addr)->sin6_port = htons((uint16_t)opt.port);
	return 0;
bad:
	fprintf(stderr, "handshake_bench: bad value for --%s: '%s'\n", longopts[li].name, optarg);
	return -1;
}

static SSL_CTX *make_ctx(void)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	if (!c)
		return NULL;
	/* A load client: the server's certificate is throwaway. */
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	/* Every handshake must be a full one: no session cache, no tickets. */
	SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(c, SSL_OP_NO_TICKET);
	if (opt.tls_max && !SSL_CTX_set_max_proto_version(c, opt.tls_max)) {
		SSL_CTX_free(c);
		return NULL;
	}
	return c;
}

/* Prints a figure or, when unknown, NA / null. */
static void put_num(const char *key, int known, const char *fmt, double v, int first)
{
	if (opt.json) {
		printf("%s\"%s\": ", first ? "" : ", ", key);
		if (known)
			printf(fmt, v);
		else
			printf("null");
	} else {
		printf("%s%s=", first ? "" : " ", key);
		if (known)
			printf(fmt, v);
		else
			printf("NA");
	}
}

static void put_str(const char *key, const char *v)
{
	if (opt.json)
		printf(", \"%s\": \"%s\"", key, v); /* values are fixed tokens, no escaping */
	else
		printf(" %s=%s", key, v);
}

int main(int argc, char **argv)
{
	if (parse_args(argc, argv) < 0)
		return 2;
	/* A peer that resets while OpenSSL writes must not kill the run. */
	signal(SIGPIPE, SIG_IGN);
	if (opt.mode != MODE_TLS)
		build_cr();
	if (!(ctx = make_ctx())) {
		fprintf(stderr, "handshake_bench: cannot set up the TLS client context\n");
		ERR_print_errors_fp(stderr);
		return 2;
	}

	struct worker *w = calloc((size_t)opt.concurrency, sizeof *w);
	if (!w) {
		perror("handshake_bench: calloc");
		return 2;
	}
	for (int i = 0; i < opt.concurrency; i++) {
		w[i].todo = opt.connections / opt.concurrency +
		            (i < opt.connections % opt.concurrency ? 1 : 0);
		w[i].lat_ms = malloc((size_t)w[i].todo * sizeof(double));
		if (!w[i].lat_ms) {
			perror("handshake_bench: malloc");
			return 2;
		}
	}

	struct server_sample before = {0}, after = {0};
	if (opt.server_pid > 0 && read_server(opt.server_pid, &before) < 0)
		fprintf(stderr, "handshake_bench: cannot read /proc/%ld: server figures omitted\n",
		        opt.server_pid);
	double cpu0 = cpu_ms_self();
	int64_t t0 = now_ns();
	run_deadline_ns = t0 + (int64_t)opt.duration_max_s * 1000000000;
	int started = 0;
	for (; started < opt.concurrency; started++) {
		int err = pthread_create(&w[started].tid, NULL, worker_main, &w[started]);
		if (err) {
			fprintf(stderr, "handshake_bench: pthread_create: %s\n", strerror(err));
			break;
		}
	}
	for (int i = 0; i < started; i++)
		pthread_join(w[i].tid, NULL);
	int64_t t1 = now_ns();
	double cpu1 = cpu_ms_self();
	if (before.valid && read_server(opt.server_pid, &after) < 0)
		fprintf(stderr,
		        "handshake_bench: /proc/%ld gone after the run: server figures "
		        "omitted\n",
		        opt.server_pid);

	long ok = 0, failed = 0, aborted = 0, fails[F_KINDS] = {0};
	const char *tls_version = "NA";
	for (int i = 0; i < opt.concurrency; i++) {
		ok += w[i].ok;
		failed += w[i].failed;
		aborted += w[i].aborted;
		for (int k = 0; k < F_KINDS; k++)
			fails[k] += w[i].fails[k];
		if (w[i].tls_version[0] && !strcmp(tls_version, "NA"))
			tls_version = w[i].tls_version;
	}
	double *lat = malloc((size_t)(ok ? ok : 1) * sizeof(double));
	if (!lat) {
		perror("handshake_bench: malloc");
		return 2;
	}
	long m = 0;
	for (int i = 0; i < opt.concurrency; i++)
		for (long j = 0; j < w[i].ok; j++)
			lat[m++] = w[i].lat_ms[j];
	qsort(lat, (size_t)ok, sizeof(double), cmp_double);

	long attempted = ok + failed + aborted;
	long not_started = opt.connections - attempted;
	int stopped_early = aborted > 0 || not_started > 0;
	double wall_s = (double)(t1 - t0) / 1e9;
	double lat_sum = 0;
	for (long i = 0; i < ok; i++)
		lat_sum += lat[i];
	/* Server and client costs are spread over every connection they handled. */
	long handled = ok + failed;
	int have_srv = before.valid && after.valid;
	double srv_cpu_ms = have_srv ? (double)(after.cpu_ticks - before.cpu_ticks) * 1e3 /
	                                       (double)sysconf(_SC_CLK_TCK)
	                             : 0;
	const char *mode = opt.mode == MODE_X224 ? "x224" : opt.mode == MODE_TLS ? "tls" : "cut";

	if (!opt.json)
		printf("# handshake_bench %s -> %s port %d: %ld connections, concurrency %d, "
		       "timeout %d ms, full handshakes (no resumption)%s\n",
		       mode, opt.host, opt.port, opt.connections, opt.concurrency, opt.timeout_ms,
		       stopped_early ? "; STOPPED EARLY at --duration-max" : "");
	printf(opt.json ? "{\"mode\": \"%s\"" : "mode=%s", mode);
	put_num("connections", 1, "%.0f", (double)opt.connections, 0);
	put_num("ok", 1, "%.0f", (double)ok, 0);
	put_num("failed", 1, "%.0f", (double)failed, 0);
	put_num("aborted", 1, "%.0f", (double)(aborted + not_started), 0);
	put_num("concurrency", 1, "%.0f", (double)opt.concurrency, 0);
	put_str("tls_version", tls_version);
	put_num("wall_s", 1, "%.3f", wall_s, 0);
	put_num("rate_per_s", wall_s > 0, "%.1f", wall_s > 0 ? (double)ok / wall_s : 0, 0);
	put_num("mean_ms", ok > 0, "%.2f", ok ? lat_sum / (double)ok : 0, 0);
	put_num("p50_ms", ok > 0, "%.2f", ok ? percentile(lat, ok, 0.50) : 0, 0);
	put_num("p90_ms", ok > 0, "%.2f", ok ? percentile(lat, ok, 0.90) : 0, 0);
	put_num("p99_ms", ok > 0, "%.2f", ok ? percentile(lat, ok, 0.99) : 0, 0);
	put_num("max_ms", ok > 0, "%.2f", ok ? lat[ok - 1] : 0, 0);
	put_num("client_cpu_ms_per_conn", handled > 0, "%.3f",
	        handled ? (cpu1 - cpu0) / (double)handled : 0, 0);
	put_num("server_cpu_ms_per_conn", have_srv && handled > 0, "%.3f",
	        handled ? srv_cpu_ms / (double)handled : 0, 0);
	put_num("server_cpu_pct", have_srv && wall_s > 0, "%.1f",
	        wall_s > 0 ? srv_cpu_ms / (wall_s * 10) : 0, 0);
	put_num("server_rss_kb", after.valid, "%.0f", (double)after.rss_kb, 0);
	put_num("server_hwm_kb", after.valid, "%.0f", (double)after.hwm_kb, 0);
	put_num("server_threads", after.valid, "%.0f", (double)after.threads, 0);
	for (int k = 0; k < F_KINDS; k++) {
		char key[32];
		snprintf(key, sizeof key, "fail_%s", fail_names[k]);
		put_num(key, 1, "%.0f", (double)fails[k], 0);
	}
	printf(opt.json ? "}\n" : "\n");
	if (first_err[0])
		fprintf(stderr, "handshake_bench: first error: %s\n", first_err);

	for (int i = 0; i < opt.concurrency; i++)
		free(w[i].lat_ms);
	free(w);
	free(lat);
	SSL_CTX_free(ctx);
	return (failed || stopped_early) ? 1 : 0;
}
