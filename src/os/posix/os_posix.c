/* OS port: POSIX threads. Condition variables run on CLOCK_MONOTONIC so that
 * a wall-clock step never stretches or cuts a timeout. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <linux/futex.h>
#include <linux/membarrier.h>
#include <sys/syscall.h>
#endif

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

#ifdef __linux__
/* Drepper's futex mutex ("Futexes Are Tricky", mutex 3), the protocol of
 * glibc's default mutex without its bookkeeping (owner, user count, kind):
 * taking a free lock is one compare-and-swap, releasing one without
 * sleepers one exchange, and the kernel is entered only with a sleeper.
 * A contender does not spin: where a process's threads share a CPU (pinned
 * to one, or more threads than CPUs), a spin only delays the holder; a
 * spinning version lost 3-4% of a stream (docs/benchmarks.md, stop 28). */
int rpmsg_lock_init(rpmsg_lock_t *l)
{
    __atomic_store_n(&l->state, 0, __ATOMIC_RELAXED);
    return 0;
}

void rpmsg_lock_deinit(rpmsg_lock_t *l)
{
    (void)l;
}

static void futex_op(int *word, int op, int val)
{
    syscall(SYS_futex, word, op | FUTEX_PRIVATE_FLAG, val, NULL, NULL, 0);
}

void rpmsg_lock_acquire(rpmsg_lock_t *l)
{
    int c = 0;
    if (__atomic_compare_exchange_n(&l->state, &c, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    /* Held: mark it as having sleepers, so that the holder's release wakes
     * one (possibly needlessly, never too few), and sleep until it is free. */
    while (__atomic_exchange_n(&l->state, 2, __ATOMIC_ACQUIRE) != 0)
        futex_op(&l->state, FUTEX_WAIT, 2);
}

void rpmsg_lock_release(rpmsg_lock_t *l)
{
    if (__atomic_exchange_n(&l->state, 0, __ATOMIC_RELEASE) == 2)
        futex_op(&l->state, FUTEX_WAKE, 1);
}
#else
/* Elsewhere the light lock is the mutex. */
int rpmsg_lock_init(rpmsg_lock_t *l)
{
    return rpmsg_mutex_init(l);
}

void rpmsg_lock_deinit(rpmsg_lock_t *l)
{
    rpmsg_mutex_deinit(l);
}

void rpmsg_lock_acquire(rpmsg_lock_t *l)
{
    rpmsg_mutex_lock(l);
}

void rpmsg_lock_release(rpmsg_lock_t *l)
{
    rpmsg_mutex_unlock(l);
}
#endif

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

#if defined(__linux__) && defined(SYS_membarrier)
static long membarrier(int cmd)
{
    return syscall(SYS_membarrier, cmd, 0, 0);
}

/* The private expedited command interrupts only the CPUs running this
 * process's threads (microseconds); the global one, the fallback, waits for
 * a grace period (milliseconds) but needs no registration, which a child
 * forked from a registered process may lack. */
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static int barrier_state = -ENOSYS;

static void barrier_setup(void)
{
    long have = membarrier(MEMBARRIER_CMD_QUERY);
    if (have < 0 || !(have & MEMBARRIER_CMD_GLOBAL) ||
        !(have & MEMBARRIER_CMD_PRIVATE_EXPEDITED))
        return;
    if (membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
        barrier_state = 0;
}

int rpmsg_barrier_init(void)
{
    pthread_once(&barrier_once, barrier_setup);
    return barrier_state;
}

/* Init's query saw both commands; the global one needs nothing more. */
void rpmsg_barrier_heavy(void)
{
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    if (errno == EPERM && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0 &&
        membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
        return;
    membarrier(MEMBARRIER_CMD_GLOBAL);
}
#else
int rpmsg_barrier_init(void)
{
    return -ENOSYS;
}

void rpmsg_barrier_heavy(void)
{
}
#endif

/* One key for the process: its destructor runs the thread's registration,
 * which lives in the thread's own storage (still there while destructors
 * run). */
struct exit_hook {
    void (*fn)(void *);
    void *arg;
};
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int exit_key_err;
static _Thread_local struct exit_hook my_exit_hook;

static void run_exit_hook(void *p)
{
    struct exit_hook *h = p;
    h->fn(h->arg);
}

static void exit_key_setup(void)
{
    exit_key_err = pthread_key_create(&exit_key, run_exit_hook);
}

int rpmsg_thread_at_exit(void (*fn)(void *), void *arg)
{
    pthread_once(&exit_once, exit_key_setup);
    if (exit_key_err)
        return -exit_key_err;
    my_exit_hook.fn = fn;
    my_exit_hook.arg = arg;
    return -pthread_setspecific(exit_key, &my_exit_hook);
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
