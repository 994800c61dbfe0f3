/* ratelimit.c - at most a burst of log messages of one kind per interval */
#include "ratelimit.h"
#include "log.h"

#include <time.h>

void ratelimit_init(struct ratelimit *rl, const char *what, unsigned burst, unsigned interval_s)
{
	*rl = (struct ratelimit){.what = what};
	ratelimit_set(rl, burst, interval_s);
}

void ratelimit_set(struct ratelimit *rl, unsigned burst, unsigned interval_s)
{
	rl->burst = burst;
	rl->interval_ms = (uint64_t)interval_s * 1000;
}

uint64_t ratelimit_now(void)
{
	struct timespec ts;

	/* Cannot fail with a valid clock and pointer; the monotonic clock ignores settimeofday. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void ratelimit_end(struct ratelimit *rl)
{
	if (rl->suppressed == 0)
		return;
	log_warnx("%llu similar message%s suppressed (%s)", rl->suppressed,
		  rl->suppressed == 1 ? "" : "s", rl->what);
	rl->suppressed = 0;
}

/* Ends the window when it has lasted its interval, and starts the next one at now_ms. */
static void ratelimit_roll(struct ratelimit *rl, uint64_t now_ms)
{
	if (rl->interval_ms && now_ms - rl->start_ms < rl->interval_ms)
		return;
	ratelimit_end(rl);
	rl->start_ms = now_ms;
	rl->count = 0;
}

bool ratelimit_allow(struct ratelimit *rl, uint64_t now_ms)
{
	ratelimit_roll(rl, now_ms);
	if (rl->interval_ms == 0 || rl->count < rl->burst) {
		rl->count++;
		return true;
	}
	rl->suppressed++;
	return false;
}

void ratelimit_flush(struct ratelimit *rl, uint64_t now_ms)
{
	if (rl->suppressed)
		ratelimit_roll(rl, now_ms);
}
