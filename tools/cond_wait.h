/* A condition wait bounded in milliseconds, for tools' service threads. */
#ifndef RPMSG_TOOLS_COND_WAIT_H
#define RPMSG_TOOLS_COND_WAIT_H

#include <pthread.h>
#include <time.h>

/* pthread_cond_timedwait for at most ms (CLOCK_REALTIME, the default
 * clock of a condition variable). */
static inline int cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return pthread_cond_timedwait(c, m, &ts);
}

#endif
