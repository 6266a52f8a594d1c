/*
 * OS port for bare metal (RPMSG_NO_SYS): a single context, so locks are empty
 * and a wait cannot sleep: it returns -EAGAIN and the core's caller drives
 * rpmsg_poll() instead. Time comes from rpmsg_port_time_ms(), which a board
 * provides (a weak default counts calls, enough to bound waits in tests).
 */
#include <errno.h>

#include "rpmsg/rpmsg_os.h"

int rpmsg_mutex_init(rpmsg_mutex_t *m) { (void)m; return 0; }
void rpmsg_mutex_deinit(rpmsg_mutex_t *m) { (void)m; }
void rpmsg_mutex_lock(rpmsg_mutex_t *m) { (void)m; }
void rpmsg_mutex_unlock(rpmsg_mutex_t *m) { (void)m; }
int rpmsg_cond_init(rpmsg_cond_t *c) { (void)c; return 0; }
void rpmsg_cond_deinit(rpmsg_cond_t *c) { (void)c; }
void rpmsg_cond_broadcast(rpmsg_cond_t *c) { (void)c; }

int rpmsg_cond_wait(rpmsg_cond_t *c, rpmsg_mutex_t *m, uint64_t deadline_ms)
{
    (void)c;
    (void)m;
    (void)deadline_ms;
    return -EAGAIN;
}

int rpmsg_thread_create(rpmsg_thread_t *t, void (*fn)(void *), void *arg, const char *name)
{
    (void)t;
    (void)fn;
    (void)arg;
    (void)name;
    return -ENOSYS;
}

int rpmsg_thread_join(rpmsg_thread_t *t) { (void)t; return -ENOSYS; }
bool rpmsg_thread_is_self(const rpmsg_thread_t *t) { (void)t; return true; }

__attribute__((weak)) uint64_t rpmsg_port_time_ms(void)
{
    static uint64_t ticks;
    return ticks++;
}

uint64_t rpmsg_time_ms(void)
{
    return rpmsg_port_time_ms();
}

uint64_t rpmsg_deadline(uint64_t timeout_ms)
{
    if (timeout_ms == RPMSG_FOREVER)
        return RPMSG_FOREVER;
    uint64_t now = rpmsg_time_ms();
    return timeout_ms > RPMSG_FOREVER - 1 - now ? RPMSG_FOREVER - 1 : now + timeout_ms;
}
