/* A condition wait bounded in milliseconds, for tools' service threads. */
#ifndef RPMSG_TOOLS_COND_WAIT_H
#define RPMSG_TOOLS_COND_WAIT_H

#include <pthread.h>

#include "os/posix/deadline.h"

/* pthread_cond_timedwait for at most ms (CLOCK_REALTIME, the default
 * clock of a condition variable). */
static inline int cond_wait_ms(pthread_cond_t *c, pthread_mutex_t *m, unsigned ms)
{
    struct timespec ts = rpmsg_posix_deadline(CLOCK_REALTIME, ms);
    return pthread_cond_timedwait(c, m, &ts);
}

#endif
