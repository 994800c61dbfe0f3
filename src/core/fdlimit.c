/* fdlimit.c - room for descriptors: every program holds one or more per connection */
#include "fdlimit.h"
#include "log.h"

#include <sys/resource.h>

void fdlimit_raise(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("unable to raise the descriptor limit to %llu",
				 (unsigned long long)rl.rlim_max);
	}
}
