/* OS port: POSIX threads. Condition variables run on CLOCK_MONOTONIC so that
 * a wall-clock step never stretches or cuts a timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <errno.h>
#include <string.h>
#include <time.h>

#include "rpmsg/rpmsg_os.h"

int rpmsg_mutex_init(rpmsg_mutex_t *m)
{
    return -pthread_mutex_init(m, NULL);
}

void rpmsg_mutex_deinit(rpmsg_mutex_t *m)
{
    pthread_mutex_destroy(m);
}

void rpmsg_mutex_lock(rpmsg_mutex_t *m)
{
    pthread_mutex_lock(m);
}

void rpmsg_mutex_unlock(rpmsg_mutex_t *m)
{
    pthread_mutex_unlock(m);
}

int rpmsg_cond_init(rpmsg_cond_t *c)
{
    pthread_condattr_t attr;
    int r = pthread_condattr_init(&attr);
    if (r)
        return -r;
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    r = pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
    return -r;
}

void rpmsg_cond_deinit(rpmsg_cond_t *c)
{
    pthread_cond_destroy(c);
}

/* Statically initialised conditions (RPMSG_COND_INITIALIZER) use the
 * realtime clock; the core only ever waits on those with RPMSG_FOREVER. */
int rpmsg_cond_wait(rpmsg_cond_t *c, rpmsg_mutex_t *m, uint64_t deadline_ms)
{
    if (deadline_ms == RPMSG_FOREVER)
        return -pthread_cond_wait(c, m);
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ms / 1000),
        .tv_nsec = (long)(deadline_ms % 1000) * 1000000L,
    };
    int r = pthread_cond_timedwait(c, m, &ts);
    return r == ETIMEDOUT ? -ETIMEDOUT : -r;
}

void rpmsg_cond_broadcast(rpmsg_cond_t *c)
{
    pthread_cond_broadcast(c);
}

static void *thread_entry(void *arg)
{
    rpmsg_thread_t *t = arg;
    t->fn(t->arg);
    return NULL;
}

int rpmsg_thread_create(rpmsg_thread_t *t, void (*fn)(void *), void *arg, const char *name)
{
    t->fn = fn;
    t->arg = arg;
    int r = pthread_create(&t->id, NULL, thread_entry, t);
    if (r)
        return -r;
    if (name) {
        char n[16];
        strncpy(n, name, sizeof(n) - 1);
        n[sizeof(n) - 1] = '\0';
        pthread_setname_np(t->id, n);
    }
    return 0;
}

int rpmsg_thread_join(rpmsg_thread_t *t)
{
    return -pthread_join(t->id, NULL);
}

bool rpmsg_thread_is_self(const rpmsg_thread_t *t)
{
    return pthread_equal(t->id, pthread_self()) != 0;
}

uint64_t rpmsg_time_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t rpmsg_deadline(uint64_t timeout_ms)
{
    if (timeout_ms == RPMSG_FOREVER)
        return RPMSG_FOREVER;
    uint64_t now = rpmsg_time_ms();
    return timeout_ms > RPMSG_FOREVER - 1 - now ? RPMSG_FOREVER - 1 : now + timeout_ms;
}
