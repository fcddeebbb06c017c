/* raw_server.c — the floor a fast-failing scenario is measured against: a
 * single-threaded epoll server that accepts each connection and closes it
 * at once, doing nothing else ("close"), or that reads the client's first
 * bytes and then resets it ("reset": what reset-at-x224-request does on the
 * wire, with nothing else), or that reads them, answers an RDP_NEG_FAILURE
 * with its FIN in one segment and closes once the client did ("answer":
 * what neg-inconsistent-flags does on the wire). It listens on a loopback
 * address only and runs until SIGTERM or SIGINT. It prints nothing; it is
 * not a test.
 *
 * usage: raw_server PORT [close|reset|answer]   (default close; on 127.0.0.1) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/types.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	int answer = argc > 2 && strcmp(argv[2], "answer") == 0;
	int reset = answer || (argc > 2 && strcmp(argv[2], "reset") == 0);
	if (argc < 2 || argc > 3 || (argc > 2 && !reset && strcmp(argv[2], "close") != 0)) {
		fprintf(stderr, "usage: raw_server PORT [close|reset|answer]\n");
		return 2;
	}
	/* X.224 Connection Confirm with RDP_NEG_FAILURE, SSL_NOT_ALLOWED_BY_SERVER. */
	static const unsigned char failure[19] = {0x03, 0x00, 0x00, 0x13, 0x0e, 0xd0, 0x00,
	                                          0x00, 0x12, 0x34, 0x00, 0x03, 0x00, 0x08,
	                                          0x00, 0x02, 0x00, 0x00, 0x00};
	char answered[65536] = {0}; /* by descriptor: the answer went, the FIN awaited */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 4096) != 0) {
		perror("raw_server: listen");
		return 1;
	}
	int ep = epoll_create1(0);
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
	while (!stop) {
		struct epoll_event out[16];
		int n = epoll_wait(ep, out, 16, 200);
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd != fd) { /* reset: its first bytes are in */
				char buf[4096];
				int c = out[i].data.fd;
				ssize_t got = read(c, buf, sizeof(buf));
				if (answer && c < (int)sizeof(answered)) {
					if (got > 0 && !answered[c]) {
						answered[c] = 1;
						(void)!send(c, failure, sizeof(failure),
						            MSG_NOSIGNAL | MSG_MORE);
						shutdown(c, SHUT_WR);
						continue;
					}
					if (got > 0 || (got < 0 && errno == EAGAIN))
						continue;
					answered[c] = 0;
					close(c);
					continue;
				}
				struct linger lg = {1, 0};
				setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				close(c);
				continue;
			}
			for (;;) {
				int c = accept4(fd, NULL, NULL, SOCK_NONBLOCK);
				if (c < 0)
					break;
				if (!reset) {
					close(c);
					continue;
				}
				struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
				epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
			}
		}
	}
	close(ep);
	close(fd);
	return 0;
}
