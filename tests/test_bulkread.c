/* test_bulkread.c — bulk_read (engine/bulkread.c): what a socket holds is
 * read in one go, in order, never the end-of-file or an error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "engine/bulkread.h"

static void test_reads_what_is_queued(void **state)
{
	(void)state;
	/* TCP over loopback, as the client's socket (FIONREAD counts a TCP
	 * socket's whole queue). */
	int sv[2];
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof a;
	int l = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(l, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(l, 1), 0);
	assert_int_equal(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	sv[0] = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(sv[0], (struct sockaddr *)&a, sizeof a), 0);
	sv[1] = accept(l, NULL, NULL);
	close(l);
	int big = 1 << 20;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
	struct event_base *base = event_base_new();
	struct bufferevent *bev = bufferevent_socket_new(base, sv[1], BEV_OPT_CLOSE_ON_FREE);
	static uint8_t out[200000], back[200000];
	for (size_t i = 0; i < sizeof out; i++)
		out[i] = (uint8_t)(i * 7);
	assert_int_equal(write(sv[0], out, 120000), 120000);
	for (int i = 0, n = 0; i < 200 && n < 120000; i++) { /* loopback delivers at once */
		ioctl(sv[1], FIONREAD, &n);
		usleep(1000);
	}
	struct evbuffer *in = bufferevent_get_input(bev);
	evbuffer_unfreeze(in, 0);
	evbuffer_add(in, "x", 1); /* something there already: appended after it */
	evbuffer_freeze(in, 0);
	size_t got = bulk_read(bev, 100000);
	assert_int_equal(got, 100000);
	got += bulk_read(bev, 1 << 20);
	assert_int_equal(got, 120000);
	assert_int_equal(evbuffer_get_length(in), 120001);
	evbuffer_drain(in, 1);
	evbuffer_remove(in, back, 120000);
	assert_memory_equal(back, out, 120000);
	/* Nothing queued, then the end: left to the bufferevent's own read. */
	assert_int_equal(bulk_read(bev, 1 << 20), 0);
	close(sv[0]);
	assert_int_equal(bulk_read(bev, 1 << 20), 0);
	char c;
	assert_int_equal(read(sv[1], &c, 1), 0); /* the end-of-file is still there */
	bufferevent_free(bev);
	event_base_free(base);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_reads_what_is_queued),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
