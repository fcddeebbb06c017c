/* bulkread.c — a socket's queued bytes in one read (see bulkread.h). */
#include "engine/bulkread.h"

#include <sys/ioctl.h>
#include <sys/uio.h>

#include <event2/buffer.h>

size_t bulk_read(struct bufferevent *bev, size_t max)
{
	int fd = bufferevent_getfd(bev), avail = 0;
	if (fd < 0 || ioctl(fd, FIONREAD, &avail) < 0 || avail <= 0)
		return 0;
	size_t want = (size_t)avail < max ? (size_t)avail : max;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec v[2];
	/* A socket bufferevent's input is frozen at its end for all but its
	 * own read, which thaws it as this does. */
	evbuffer_unfreeze(in, 0);
	int nv = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);
	if (nv <= 0) {
		evbuffer_freeze(in, 0);
		return 0;
	}
	size_t room = 0;
	for (int i = 0; i < nv; i++) {
		if (room + v[i].iov_len > want)
			v[i].iov_len = want - room;
		room += v[i].iov_len;
	}
	ssize_t got = readv(fd, (struct iovec *)v, nv);
	if (got <= 0) {
		evbuffer_commit_space(in, v, 0);
		evbuffer_freeze(in, 0);
		return 0;
	}
	size_t left = (size_t)got;
	for (int i = 0; i < nv; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(in, v, nv);
	evbuffer_freeze(in, 0);
	return (size_t)got;
}
