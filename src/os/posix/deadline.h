/*
 * A deadline ms from now, as pthread's timed waits take it (an absolute
 * timespec on the clock the wait uses). Header-only, for the hosted code
 * around the library: the tools' service threads and the tests' helpers.
 */
#ifndef RPMSG_POSIX_DEADLINE_H
#define RPMSG_POSIX_DEADLINE_H

#include <time.h>

static inline struct timespec rpmsg_posix_deadline(clockid_t clk, unsigned ms)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

#endif
