/* ratelimit.h - at most a burst of log messages of one kind per interval, after the
 * kernel's printk_ratelimit: what remote clients can make a daemon log must not flood the
 * log. Messages held back are counted and said in one line once their window has ended:
 * "N similar messages suppressed (WHAT)". */
#ifndef SB_RATELIMIT_H
#define SB_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

struct ratelimit {
	const char *what;	       /* the kind of message, named in the summary line */
	unsigned burst;		       /* messages let through per window */
	uint64_t interval_ms;	       /* the shortest window; 0: no limit */
	uint64_t start_ms;	       /* when the current window began */
	unsigned count;		       /* messages let through in it */
	unsigned long long suppressed; /* messages held back and not yet said */
};

void ratelimit_init(struct ratelimit *rl, const char *what, unsigned burst, unsigned interval_s);

/* New limits, for the window under way too. */
void ratelimit_set(struct ratelimit *rl, unsigned burst, unsigned interval_s);

/* CLOCK_MONOTONIC in milliseconds: the now_ms of the calls below. */
uint64_t ratelimit_now(void);

/* Whether one more message may be logged at now_ms, which counts it. When the window has
 * ended with messages held back, their summary line is logged first. */
bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms);

/* Logs the summary line when the window has ended with messages held back (for a periodic
 * timer: the held-back messages are said even if no other message comes). */
void ratelimit_flush(struct ratelimit *rl, uint64_t now_ms);

/* Logs the summary line of the messages held back so far, window over or not (at exit). */
void ratelimit_end(struct ratelimit *rl);

#endif
