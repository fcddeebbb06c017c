/* deadline.h — an absolute CLOCK_REALTIME deadline `ms` from now, the form
 * pthread_cond_timedwait wants. */
#ifndef RDPFAULT_DEADLINE_H
#define RDPFAULT_DEADLINE_H

#include <time.h>

static inline struct timespec deadline_after_ms(int ms)
{
	struct timespec t;
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += ms / 1000;
	t.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	return t;
}

#endif
