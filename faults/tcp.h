/* tcp.h — ending a client's TCP connection the ways servers do: a reset
 * (RST: SO_LINGER {1, 0}, then close) or a FIN (shutdown SHUT_WR, the
 * socket kept open so the client's last bytes can be drained). */
#ifndef RDPFAULT_FAULTS_TCP_H
#define RDPFAULT_FAULTS_TCP_H

/* Sends RST and closes fd. 0, or -1 (errno set). */
int tcp_reset(int fd);
/* Makes the socket's close send RST (SO_LINGER {1, 0}), for an owner that
 * closes it later. 0, or -1 (errno set). */
int tcp_arm_reset(int fd);
/* Sends FIN; fd stays open for reading. 0, or -1 (errno set). */
int tcp_fin(int fd);

#endif
