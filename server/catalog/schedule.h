/* schedule.h — schedules, for retry testing ("fail the first N, then
 * succeed"): each client address's connections get step 0's scenario
 * `count` times, then step 1's, and so on, the last step's for good. A
 * listener may carry one (--listen ADDR:PORT=NAME*N,...,NAME, the control
 * API), and so may a scenario file (`schedule:`: a schedule scenario,
 * served wherever a scenario is: its port, a cookie naming it, --listen). */
#ifndef RDPFAULT_SCHEDULE_H
#define RDPFAULT_SCHEDULE_H

#include <stddef.h>
#include <stdio.h>

#define SCHED_STEPS_MAX 16
#define SCHED_CLIENTS_MAX 256 /* client addresses counted; past it they share one count */

struct served;
struct catalog;

struct sched_step {
	const struct served *s;
	long count; /* -1: for good (the last step) */
};

struct sched_count {
	char ip[64];
	long n;
};

/* Each client address's connections so far (the front door's thread). */
struct sched_counts {
	struct sched_count *v;
	size_t n;
};

/* The address of "1.2.3.4:5" or "[::1]:5", without its port. */
void sched_client_ip(const char *client, char *ip, size_t n);
/* The step of steps[0..n) this client's next connection gets; counts it. */
size_t sched_next(const struct sched_step *steps, size_t n, struct sched_counts *counts,
                  const char *ip);
/* Gives back the step sched_next last counted for ip (a connection that
 * turned out to be another scenario's). */
void sched_refund(struct sched_counts *counts, const char *ip);
void sched_counts_free(struct sched_counts *c);

/* Every schedule scenario's steps checked across the catalog: each names a
 * scenario that is not a schedule itself. The number of problems, each
 * written to err as "FILE:LINE: schedule[i].scenario: ..." (those of a
 * --set's value also added to *set_problems). */
int catalog_check_schedules(const struct catalog *c, FILE *err, int *set_problems);

#endif
