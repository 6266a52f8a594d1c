/*
 * The OS port's light lock (rpmsg_lock_t): the VirtIO transport's data path
 * runs under it. It must exclude, hand over between threads without losing
 * a wake-up, and put contenders to sleep.
 */
#include "testutil.h"

#include <sched.h>
#include <unistd.h>

#include "rpmsg/rpmsg_os.h"

#define THREADS 4

struct shared {
    rpmsg_lock_t lock;
    unsigned long count; /* plain: only under the lock */
    unsigned rounds;
    struct tu_event started;
};

static void *adder(void *arg)
{
    struct shared *s = arg;
    tu_event_post(&s->started);
    for (unsigned i = 0; i < s->rounds; i++) {
        rpmsg_lock_acquire(&s->lock);
        unsigned long c = s->count;
        if (i % 64 == 0)
            sched_yield(); /* a holder that loses its CPU: contenders sleep */
        s->count = c + 1;
        rpmsg_lock_release(&s->lock);
    }
    return NULL;
}

/* Starts THREADS adders; each join is bounded, so a lost wake-up fails the
 * test here rather than at ctest's timeout. */
static void start_adders(struct shared *s, struct tu_thread *t)
{
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(tu_thread_start(&t[i], adder, s), 0);
}

static void join_adders(struct tu_thread *t)
{
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(tu_thread_join(&t[i], TU_TIMEOUT_MS), 0);
}

/* Threads add under the lock: not one increment may be lost. */
static void test_excludes(void **state)
{
    (void)state;
    struct shared s = { .rounds = tu_soak(20000) };
    tu_event_init(&s.started);
    assert_int_equal(rpmsg_lock_init(&s.lock), 0);
    struct tu_thread t[THREADS] = { 0 };
    start_adders(&s, t);
    join_adders(t);
    assert_int_equal(s.count, (unsigned long)THREADS * s.rounds);
    rpmsg_lock_deinit(&s.lock);
    tu_event_deinit(&s.started);
}

/* Contenders that find the lock held sleep; the release must wake them,
 * every one. */
static void test_sleepers_woken(void **state)
{
    (void)state;
    struct shared s = { .rounds = 3 };
    tu_event_init(&s.started);
    assert_int_equal(rpmsg_lock_init(&s.lock), 0);
    for (int round = 0; round < 20; round++) {
        rpmsg_lock_acquire(&s.lock);
        struct tu_thread t[THREADS] = { 0 };
        start_adders(&s, t);
        assert_int_equal(tu_event_wait(&s.started, (unsigned long)THREADS * (round + 1),
                                       TU_TIMEOUT_MS), 0);
        usleep(2000); /* the contenders are asleep */
#ifdef __linux__
        /* The word says so: the release must enter the kernel. */
        assert_int_equal(__atomic_load_n(&s.lock.state, __ATOMIC_RELAXED), 2);
#endif
        unsigned long before = s.count;
        rpmsg_lock_release(&s.lock);
        join_adders(t);
        assert_int_equal(s.count, before + THREADS * s.rounds);
    }
#ifdef __linux__
    assert_int_equal(__atomic_load_n(&s.lock.state, __ATOMIC_RELAXED), 0);
#endif
    rpmsg_lock_deinit(&s.lock);
    tu_event_deinit(&s.started);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excludes),
        cmocka_unit_test(test_sleepers_woken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
