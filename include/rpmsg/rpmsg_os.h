/*
 * The whole OS port, in the spirit of lwIP's sys_arch: the core needs a
 * mutex, a condition variable with a deadline, a thread, and a monotonic clock;
 * with threads, also an asymmetric barrier and a thread-exit hook, which a
 * port may decline (-ENOSYS: the core then holds endpoints by references
 * and full fences, one or two atomic steps more per message).
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

/*
 * A lock that nothing waits on with a condition variable, for the data
 * path's short critical sections: the port may make it cheaper than its
 * mutex (Linux: a futex word, one atomic step each way and a few
 * instructions, where glibc's mutex runs some sixty per round).
 */
int rpmsg_lock_init(rpmsg_lock_t *l);
void rpmsg_lock_deinit(rpmsg_lock_t *l);
void rpmsg_lock_acquire(rpmsg_lock_t *l);
void rpmsg_lock_release(rpmsg_lock_t *l);

int rpmsg_cond_init(rpmsg_cond_t *c);
void rpmsg_cond_deinit(rpmsg_cond_t *c);
/* Waits until signalled or until the absolute deadline (rpmsg_time_ms()
 * scale). Returns 0, -ETIMEDOUT, or -EAGAIN where the port cannot sleep. */
int rpmsg_cond_wait(rpmsg_cond_t *c, rpmsg_mutex_t *m, uint64_t deadline_ms);
void rpmsg_cond_broadcast(rpmsg_cond_t *c);

int rpmsg_thread_create(rpmsg_thread_t *t, void (*fn)(void *), void *arg, const char *name);
int rpmsg_thread_join(rpmsg_thread_t *t);
bool rpmsg_thread_is_self(const rpmsg_thread_t *t);

/*
 * The heavy side of an asymmetric barrier: when it returns, every other
 * thread of the process has passed a full memory barrier since the call
 * began, so a compiler barrier stands for a full fence on the hot side
 * (Linux: membarrier(2)). Rare callers only (an endpoint's destruction).
 * rpmsg_barrier_init() says once, before any use, whether the port can:
 * 0, or a negative errno and the core keeps full fences. Once it said 0,
 * the heavy barrier must not fail: the core has no way around it.
 */
int rpmsg_barrier_init(void);
void rpmsg_barrier_heavy(void);
/* Calls fn(arg) when the calling thread ends. One registration per thread
 * (the core makes one); 0, or a negative errno where the port cannot. */
int rpmsg_thread_at_exit(void (*fn)(void *), void *arg);

/* Monotonic milliseconds. */
uint64_t rpmsg_time_ms(void);

/* now + timeout, saturating; timeout RPMSG_FOREVER stays forever. */
uint64_t rpmsg_deadline(uint64_t timeout_ms);

#ifdef __cplusplus
}
#endif

#endif /* RPMSG_OS_H */
