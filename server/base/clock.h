/* clock.h — time spans in milliseconds, in the forms the harness needs
 * them: an absolute CLOCK_REALTIME deadline (pthread_cond_timedwait), a
 * struct timeval (libevent), and a one-shot libevent timer. */
#ifndef RDPFAULT_DEADLINE_H
#define RDPFAULT_DEADLINE_H

#include <event2/event.h>
#include <stdint.h>
#include <sys/time.h>
#include <time.h>

static inline struct timeval timeval_ms(long ms)
{
	struct timeval tv = {(time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000)};
	return tv;
}

/* A one-shot timer firing cb(arg) in `ms`; the caller frees it. */
static inline struct event *timer_after_ms(struct event_base *base, long ms, event_callback_fn cb,
                                           void *arg)
{
	struct event *ev = evtimer_new(base, cb, arg);
	struct timeval tv = timeval_ms(ms);
	if (ev)
		evtimer_add(ev, &tv);
	return ev;
}

/* A pre-logon deadline under --time-scale: scaled, but never below clients'
 * own give-up timers (xfreerdp's is 10 s, so 15 s), nor below the
 * unscaled value when that was shorter. A scaled run ends the way an
 * unscaled one does, only sooner. */
#define SCALED_DEADLINE_FLOOR_MS 15000
static inline int scaled_deadline_ms(int ms, double scale)
{
	if (scale <= 0 || scale == 1)
		return ms;
	int floor_ms = ms < SCALED_DEADLINE_FLOOR_MS ? ms : SCALED_DEADLINE_FLOOR_MS;
	double t = ms * scale;
	return t < floor_ms ? floor_ms : t > 86400000 ? 86400000 : (int)t;
}

/* Microseconds on the monotonic clock (the network conditions' time). */
static inline uint64_t monotonic_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

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
