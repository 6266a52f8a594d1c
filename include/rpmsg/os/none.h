/* OS port types for bare metal: one context, nothing to lock, nothing to wait on. */
#ifndef RPMSG_OS_NONE_H
#define RPMSG_OS_NONE_H

typedef struct { char unused; } rpmsg_mutex_t;
typedef struct { char unused; } rpmsg_cond_t;
typedef struct { char unused; } rpmsg_lock_t;
typedef struct { char unused; } rpmsg_thread_t;

#define RPMSG_MUTEX_INITIALIZER {0}
#define RPMSG_COND_INITIALIZER {0}

#endif
