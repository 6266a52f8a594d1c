/*
 * The whole OS port, in the spirit of lwIP's sys_arch: the core needs a
 * mutex, a condition variable with a deadline, a thread, and a monotonic clock.
 * The types come from the port's arch header; the functions are implemented
 * in src/os/<port>/. With RPMSG_NO_SYS the locks are empty and waits return
 * -EAGAIN at once, so every blocking call in the core drives rpmsg_poll()
 * itself instead of sleeping.
 */
#ifndef RPMSG_OS_H
#define RPMSG_OS_H

#include <stdbool.h>
#include <stdint.h>

#include "rpmsg_opt.h"

#if RPMSG_NO_SYS
#include "os/none.h"
#else
#include "os/posix.h"
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Deadline meaning "never". */
#define RPMSG_FOREVER UINT64_MAX

int rpmsg_mutex_init(rpmsg_mutex_t *m);
void rpmsg_mutex_deinit(rpmsg_mutex_t *m);
void rpmsg_mutex_lock(rpmsg_mutex_t *m);
void rpmsg_mutex_unlock(rpmsg_mutex_t *m);

int rpmsg_cond_init(rpmsg_cond_t *c);
void rpmsg_cond_deinit(rpmsg_cond_t *c);
/* Waits until signalled or until the absolute deadline (rpmsg_time_ms()
 * scale). Returns 0, -ETIMEDOUT, or -EAGAIN where the port cannot sleep. */
int rpmsg_cond_wait(rpmsg_cond_t *c, rpmsg_mutex_t *m, uint64_t deadline_ms);
void rpmsg_cond_broadcast(rpmsg_cond_t *c);

int rpmsg_thread_create(rpmsg_thread_t *t, void (*fn)(void *), void *arg, const char *name);
int rpmsg_thread_join(rpmsg_thread_t *t);
bool rpmsg_thread_is_self(const rpmsg_thread_t *t);

/* Monotonic milliseconds. */
uint64_t rpmsg_time_ms(void);

/* now + timeout, saturating; timeout RPMSG_FOREVER stays forever. */
uint64_t rpmsg_deadline(uint64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_OS_H */
