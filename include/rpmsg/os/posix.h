/* OS port types for POSIX threads. */
#ifndef RPMSG_OS_POSIX_H
#define RPMSG_OS_POSIX_H

#include <pthread.h>

typedef pthread_mutex_t rpmsg_mutex_t;
typedef pthread_cond_t rpmsg_cond_t;
#ifdef __linux__
/* 0 free, 1 held, 2 held with sleepers (a futex). */
typedef struct { int state; } rpmsg_lock_t;
#else
typedef rpmsg_mutex_t rpmsg_lock_t;
#endif
typedef struct {
    pthread_t id;
    void (*fn)(void *);
    void *arg;
} rpmsg_thread_t;

#define RPMSG_MUTEX_INITIALIZER PTHREAD_MUTEX_INITIALIZER
#define RPMSG_COND_INITIALIZER PTHREAD_COND_INITIALIZER

#endif
