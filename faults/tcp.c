/* tcp.c — RST and FIN (see tcp.h). */
#include "faults/tcp.h"

#include <sys/socket.h>
#include <unistd.h>

int tcp_arm_reset(int fd)
{
	struct linger l = {.l_onoff = 1, .l_linger = 0};
	return setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

int tcp_reset(int fd)
{
	if (tcp_arm_reset(fd) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int tcp_fin(int fd)
{
	return shutdown(fd, SHUT_WR);
}
