/* netcond_bench.c — the network conditions' precision and cost, on the
 * harness's own queue (server/engine/netq.c) between real sockets: a
 * client thread writes into a TCP loopback connection, the relay thread
 * (one event loop, as the harness's) reads it, passes it through the
 * conditions and writes into a socketpair, which the client thread reads.
 * Prints figures; not a test.
 *
 *   netcond_bench latency [CONNS [LATENCY_MS [SECONDS]]]  one-way delay error
 *   netcond_bench bandwidth [SECONDS]                     rate accuracy, 10 KB/s-100 MB/s
 *   netcond_bench throughput [SECONDS]                    no condition, then latency=100
 *   netcond_bench blackhole [MIB]                         RSS while MIB are pushed into one
 *
 * The relay's loop has EVENT_BASE_FLAG_PRECISE_TIMER, as the harness's.
 * For the latency figures, with two CPUs, the relay thread runs on CPU 1
 * and the client on CPU 0 (NETCOND_PIN=0: unpinned); the throughput rows
 * are unpinned (loopback's kernel work wants both).
 */
#include <sched.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "base/clock.h"
#include "engine/bulkread.h"
#include "engine/netq.h"

static size_t CAP = 1u << 20; /* serve --network-queue's default */

/* One relayed connection: `in` the relay's end of the client's TCP
 * connection, `out` its end of the socketpair. */
struct pipe_ {
	struct bufferevent *in, *out;
	struct netq q;
	uint64_t off;
	int cond;
};

static struct evbuffer *p_dest(void *arg)
{
	struct pipe_ *p = arg;
	return bufferevent_get_output(p->out);
}
static void p_nop(void *arg)
{
	(void)arg;
}
static void p_delivered(void *arg, size_t n)
{
	(void)arg, (void)n;
}
static void p_pause(void *arg, int on)
{
	struct pipe_ *p = arg;
	if (on)
		bufferevent_disable(p->in, EV_READ);
	else
		bufferevent_enable(p->in, EV_READ);
}
static void p_fired(void *arg, int id, uint64_t off)
{
	(void)arg, (void)id, (void)off;
}
static void p_end(void *arg, int id, enum tx_end how)
{
	(void)arg, (void)id, (void)how;
}
static void p_hold(void *arg)
{
	struct pipe_ *p = arg;
	bufferevent_disable(p->in, EV_READ);
}
static const struct netq_ops ops = {p_dest, p_delivered, p_nop, p_hold, p_pause, p_fired, p_end};

/* The relay's read: as relay_pass, into the conditions or straight on. */
static void on_in(struct bufferevent *bev, void *arg)
{
	struct pipe_ *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	if (!getenv("NETCOND_NO_BULK"))
		bulk_read(bev, BULK_READ_MAX);
	size_t n = evbuffer_get_length(in);
	if (p->cond)
		netq_take(&p->q, in, n, p->off);
	else
		evbuffer_remove_buffer(in, bufferevent_get_output(p->out), n);
	p->off += n;
	if (!p->cond && evbuffer_get_length(bufferevent_get_output(p->out)) >= CAP)
		bufferevent_disable(bev, EV_READ);
}
static void on_out_drained(struct bufferevent *bev, void *arg)
{
	struct pipe_ *p = arg;
	(void)bev;
	if (!p->cond || !netq_paused(&p->q))
		bufferevent_enable(p->in, EV_READ);
}

/* The relay's loop runs on its own thread while a row is measured; pipes
 * are made and freed while it is stopped. */
static struct event_base *relay_base;
static pthread_t relay_thread;
static int pin;
static struct pipe_ *pipes[2048];
static size_t n_pipes;

static void *relay_main(void *arg)
{
	(void)arg;
	if (pin) { /* the relay on CPU 1, the client on CPU 0 */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(1, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	}
	event_base_loop(relay_base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

static void loop_start(void)
{
	pthread_create(&relay_thread, NULL, relay_main, NULL);
}

static void loop_stop(void)
{
	event_base_loopbreak(relay_base);
	pthread_join(relay_thread, NULL);
	for (size_t i = 0; i < n_pipes; i++) {
		bufferevent_free(pipes[i]->in);
		bufferevent_free(pipes[i]->out);
		if (pipes[i]->cond)
			netq_free(&pipes[i]->q);
		free(pipes[i]);
	}
	n_pipes = 0;
}

/* A client-side TCP socket connected to a relay-side one, over loopback. */
static void tcp_pair(int fds[2])
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1) < 0 ||
	    getsockname(l, (struct sockaddr *)&a, &len) < 0) {
		perror("listen");
		exit(1);
	}
	fds[0] = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(fds[0], (struct sockaddr *)&a, sizeof a) < 0) {
		perror("connect");
		exit(1);
	}
	fds[1] = accept(l, NULL, NULL);
	close(l);
	int one = 1;
	setsockopt(fds[0], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fds[1], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A relayed pipe with conditions `defs` (n 0: none); returns the client's
 * write end and read end. */
static struct pipe_ *pipe_new(const struct tx_stage_def *const *defs, size_t n, int *wr, int *rd,
                              uint64_t seed)
{
	int t[2], u[2];
	tcp_pair(t);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, u) < 0) {
		perror("socketpair");
		exit(1);
	}
	evutil_make_socket_nonblocking(t[1]);
	evutil_make_socket_nonblocking(u[0]);
	struct pipe_ *p = calloc(1, sizeof(*p));
	p->in = bufferevent_socket_new(relay_base, t[1],
	                               BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
	p->out = bufferevent_socket_new(relay_base, u[0],
	                                BEV_OPT_CLOSE_ON_FREE | BEV_OPT_THREADSAFE);
	p->cond = n > 0;
	if (p->cond && netq_init(&p->q, relay_base, defs, n, seed, CAP, &ops, p) < 0)
		exit(1);
	bufferevent_setcb(p->in, on_in, NULL, NULL, p);
	bufferevent_setcb(p->out, NULL, on_out_drained, NULL, p);
	bufferevent_enable(p->in, EV_READ);
	bufferevent_enable(p->out, EV_WRITE);
	pipes[n_pipes++] = p;
	*wr = t[0];
	*rd = u[1];
	return p;
}

static struct tx_stage_def def_of(const char *type, const char *attr, double v)
{
	struct tx_stage_def d;
	memset(&d, 0, sizeof d);
	d.t = toxic_find(type);
	for (size_t i = 0; i < d.t->n_attrs; i++)
		d.a[i] = d.t->attrs[i].def;
	if (attr)
		d.a[toxic_attr_index(d.t, attr)] = v;
	d.after_bytes = TX_NEVER;
	return d;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static long rss_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6))
			v = atol(line + 6);
	if (f)
		fclose(f);
	return v;
}

/* ---- latency: CONNS connections, a 16-byte stamped message on each every
 * 50 ms; the reader's receive time minus the stamp, minus LATENCY. */
static int bench_latency(int conns, int latency_ms, int seconds)
{
	struct tx_stage_def d = def_of("latency", "latency", latency_ms);
	const struct tx_stage_def *defs[] = {&d};
	int *wr = calloc((size_t)conns, sizeof(int)), *rd = calloc((size_t)conns, sizeof(int));
	if (conns > 2000)
		conns = 2000;
	for (int i = 0; i < conns; i++)
		pipe_new(defs, 1, &wr[i], &rd[i], (uint64_t)i + 1);
	loop_start();
	size_t cap = (size_t)conns * (size_t)(seconds * 20 + 40), n = 0;
	int64_t *err = malloc(cap * sizeof(*err));
	int ep = epoll_create1(0);
	for (int i = 0; i < conns; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.fd = rd[i]};
		epoll_ctl(ep, EPOLL_CTL_ADD, rd[i], &ev);
	}
	/* Connection i sends at i/conns of each 50 ms period: 1,000 connections
	 * are 20,000 messages a second, evenly spread, as independent clients'
	 * would be (a burst of all at one instant measures the burst instead). */
	uint64_t start = monotonic_us(), end = start + (uint64_t)seconds * 1000000u;
	uint64_t stop_sending = end - (uint64_t)latency_ms * 1000 - 200000, sends = 0;
	uint64_t warm = start + 1000000;
	while (monotonic_us() < end) {
		uint64_t now = monotonic_us();
		uint64_t due = start + sends * 50000u / (uint64_t)conns;
		while (due <= now && now < stop_sending) {
			uint64_t stamp[2] = {monotonic_us(), 0};
			if (write(wr[sends % (uint64_t)conns], stamp, sizeof stamp) != sizeof stamp)
				return perror("write"), 1;
			sends++;
			due = start + sends * 50000u / (uint64_t)conns;
		}
		/* Each message stamped when its socket became readable. */
		struct epoll_event evs[256];
		now = monotonic_us();
		int wait_ms = due > now ? (int)((due - now) / 1000) : 0;
		int k = epoll_wait(ep, evs, 256, wait_ms);
		uint64_t at = monotonic_us();
		for (int e = 0; e < k; e++) {
			uint64_t m[64];
			ssize_t got = recv(evs[e].data.fd, m, sizeof m, MSG_DONTWAIT);
			for (ssize_t j = 0; j + 16 <= got && n < cap; j += 16)
				if (m[j / 8] >= warm) /* the first second is warm-up */
					err[n++] = (int64_t)(at - m[j / 8]) -
					           (int64_t)latency_ms * 1000;
		}
	}
	loop_stop();
	qsort(err, n, sizeof(*err), cmp_i64);
	printf("latency=%d ms, %d connections, %zu messages: error p50 %.2f ms, p90 %.2f ms, p99 "
	       "%.2f ms, max %.2f ms (goal: p99 <= 2 ms)\n",
	       latency_ms, conns, n, err[n / 2] / 1000.0, err[n * 9 / 10] / 1000.0,
	       err[n * 99 / 100] / 1000.0, err[n - 1] / 1000.0);
	return 0;
}

/* Pushes as fast as the pipe takes for `seconds`, the reader counting. */
static double push_rate(int wr, int rd, int seconds, uint64_t *bytes_out)
{
	static char buf[1 << 16];
	evutil_make_socket_nonblocking(wr);
	evutil_make_socket_nonblocking(rd);
	uint64_t t0 = monotonic_us(), end = t0 + (uint64_t)seconds * 1000000u, got = 0;
	uint64_t warm = t0 + 200000, got_at_warm = 0, t_warm = 0;
	while (monotonic_us() < end) {
		(void)!write(wr, buf, sizeof buf);
		ssize_t r;
		while ((r = read(rd, buf, sizeof buf)) > 0)
			got += (uint64_t)r;
		if (!t_warm && monotonic_us() >= warm) {
			t_warm = monotonic_us();
			got_at_warm = got;
		}
		if (got == got_at_warm && r <= 0)
			usleep(200);
	}
	*bytes_out = got;
	double secs = (double)(monotonic_us() - t_warm) / 1e6;
	return (double)(got - got_at_warm) / secs;
}

static int bench_bandwidth(int seconds)
{
	const double rates[] = {10, 100, 1000, 10000, 100000}; /* KB/s */
	for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
		struct tx_stage_def d = def_of("bandwidth", "rate", rates[i]);
		const struct tx_stage_def *defs[] = {&d};
		int wr, rd;
		pipe_new(defs, 1, &wr, &rd, 1);
		uint64_t total;
		loop_start();
		double bps = push_rate(wr, rd, seconds, &total);
		loop_stop();
		printf("bandwidth rate=%-8g KB/s: measured %10.1f KB/s (%+.1f%%; goal within "
		       "+-5%%)\n",
		       rates[i], bps / 1000.0, (bps / 1000.0 / rates[i] - 1) * 100);
		close(wr);
		close(rd);
	}
	return 0;
}

static int bench_throughput(int seconds)
{
	int wr, rd;
	uint64_t total;
	/* The floor: the same client on one TCP loopback connection, no relay. */
	int t[2];
	tcp_pair(t);
	double direct = push_rate(t[0], t[1], seconds, &total);
	printf("no relay: one TCP loopback hop:          %8.1f MB/s (the client's own ceiling)\n",
	       direct / 1e6);
	close(t[0]);
	close(t[1]);
	pipe_new(NULL, 0, &wr, &rd, 1);
	loop_start();
	double plain = push_rate(wr, rd, seconds, &total);
	loop_stop();
	printf("relay, no condition, one connection:    %8.1f MB/s (goal >= 1000)\n", plain / 1e6);
	struct tx_stage_def d = def_of("latency", "latency", 100);
	const struct tx_stage_def *defs[] = {&d};
	pipe_new(defs, 1, &wr, &rd, 1);
	loop_start();
	double lat = push_rate(wr, rd, seconds, &total);
	loop_stop();
	printf("relay, latency=100 ms, one connection:  %8.1f MB/s (--network-queue %zu KiB per "
	       "100 ms: at most %.1f MB/s)\n",
	       lat / 1e6, CAP / 1024, CAP / 0.1 / 1e6);
	CAP = 128u << 20;
	pipe_new(defs, 1, &wr, &rd, 1);
	loop_start();
	lat = push_rate(wr, rd, seconds, &total);
	loop_stop();
	printf("relay, latency=100 ms, --network-queue 128M: %7.1f MB/s (at most %.1f MB/s)\n",
	       lat / 1e6, CAP / 0.1 / 1e6);
	CAP = 1u << 20;
	struct tx_stage_def e = def_of("latency", "latency", 1);
	const struct tx_stage_def *defs1[] = {&e};
	pipe_new(defs1, 1, &wr, &rd, 1);
	loop_start();
	double lat1 = push_rate(wr, rd, seconds, &total);
	loop_stop();
	printf("relay, latency=1 ms, one connection:    %8.1f MB/s\n", lat1 / 1e6);
	return 0;
}

static int bench_blackhole(int mib)
{
	struct tx_stage_def d = def_of("blackhole", NULL, 0);
	const struct tx_stage_def *defs[] = {&d};
	int wr, rd;
	struct pipe_ *p = pipe_new(defs, 1, &wr, &rd, 1);
	static char buf[1 << 20];
	loop_start();
	long before = rss_kb();
	uint64_t t0 = monotonic_us();
	for (int i = 0; i < mib; i++)
		for (size_t done = 0; done < sizeof buf;) {
			ssize_t w = write(wr, buf + done, sizeof buf - done);
			if (w < 0)
				return perror("write"), 1;
			done += (size_t)w;
		}
	while (p->off < (uint64_t)mib << 20)
		usleep(1000);
	double secs = (double)(monotonic_us() - t0) / 1e6;
	long after = rss_kb();
	loop_stop();
	printf("blackhole: %d MiB pushed in %.2f s (%.0f MB/s), RSS %ld -> %ld KB (%+ld KB; the "
	       "queue's cap %zu KiB)\n",
	       mib, secs, mib * 1.048576 / secs, before, after, after - before, CAP / 1024);
	return 0;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN); /* a finished row's sockets close under the relay */
	/* Two CPUs or more: the relay and the load client each get one, as a
	 * harness and its clients on different machines would (sharing them,
	 * the scheduler's own delays land in the figures). NETCOND_PIN=0: not. */
	pin = sysconf(_SC_NPROCESSORS_ONLN) >= 2 &&
	      !(getenv("NETCOND_PIN") && !strcmp(getenv("NETCOND_PIN"), "0"));
	evthread_use_pthreads();
	struct event_config *cfg = event_config_new();
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER); /* as the harness's loop */
	relay_base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	const char *mode = argc > 1 ? argv[1] : "latency";
	int a = argc > 2 ? atoi(argv[2]) : 0, b = argc > 3 ? atoi(argv[3]) : 0,
	    c = argc > 4 ? atoi(argv[4]) : 0;
	if (!strcmp(mode, "latency") && pin) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(0, &set);
		pthread_setaffinity_np(pthread_self(), sizeof set, &set);
	} else {
		pin = 0; /* throughput: the kernel's loopback work wants both CPUs */
	}
	if (!strcmp(mode, "latency"))
		return bench_latency(a ? a : 1000, b ? b : 100, c ? c : 6);
	if (!strcmp(mode, "bandwidth"))
		return bench_bandwidth(a ? a : 3);
	if (!strcmp(mode, "throughput"))
		return bench_throughput(a ? a : 3);
	if (!strcmp(mode, "blackhole"))
		return bench_blackhole(a ? a : 1024);
	fprintf(stderr, "usage: netcond_bench latency|bandwidth|throughput|blackhole [ARGS]\n");
	return 2;
}
