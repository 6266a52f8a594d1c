/*
 * OS port for bare metal (RPMSG_NO_SYS): a single context, so locks are empty
 * and a wait cannot sleep: it returns -EAGAIN and the core's caller drives
 * rpmsg_poll() instead. Time comes from rpmsg_board_time_ms(), which the
 * board provides (rpmsg_opt.h: RPMSG_BOARD_TIME_MS).
 */
#include <errno.h>

#include "rpmsg/rpmsg_os.h"

int rpmsg_mutex_init(rpmsg_mutex_t *m) { (void)m; return 0; }
void rpmsg_mutex_deinit(rpmsg_mutex_t *m) { (void)m; }
void rpmsg_mutex_lock(rpmsg_mutex_t *m) { (void)m; }
void rpmsg_mutex_unlock(rpmsg_mutex_t *m) { (void)m; }
int rpmsg_lock_init(rpmsg_lock_t *l) { (void)l; return 0; }
void rpmsg_lock_deinit(rpmsg_lock_t *l) { (void)l; }
void rpmsg_lock_acquire(rpmsg_lock_t *l) { (void)l; }
void rpmsg_lock_release(rpmsg_lock_t *l) { (void)l; }
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

uint32_t rpmsg_board_time_ms(void);

/* The board's counter is 32 bits and wraps every 49.7 days; deadlines are
 * absolute 64-bit times, so count the wraps (every poll reads the clock). */
uint64_t rpmsg_time_ms(void)
{
    static uint32_t last, wraps;
    uint32_t now = rpmsg_board_time_ms();
    if (now < last)
        wraps++;
    last = now;
    return (uint64_t)wraps << 32 | now;
}

uint64_t rpmsg_deadline(uint64_t timeout_ms)
{
    if (timeout_ms == RPMSG_FOREVER)
        return RPMSG_FOREVER;
    uint64_t now = rpmsg_time_ms();
    return timeout_ms > RPMSG_FOREVER - 1 - now ? RPMSG_FOREVER - 1 : now + timeout_ms;
}
