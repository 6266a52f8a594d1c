/*
 * The OS port's light lock (rpmsg_lock_t): the VirtIO transport's data path
 * runs under it. It must exclude, hand over between threads without losing
 * a wake-up, and put contenders to sleep.
 */
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>

#include "rpmsg/rpmsg_os.h"

#define THREADS 4

struct shared {
    rpmsg_lock_t lock;
    unsigned long count; /* plain: only under the lock */
    unsigned rounds;
    unsigned started;    /* atomic */
    unsigned finished;   /* atomic */
};

static void *adder(void *arg)
{
    struct shared *s = arg;
    __atomic_add_fetch(&s->started, 1, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < s->rounds; i++) {
        rpmsg_lock_acquire(&s->lock);
        unsigned long c = s->count;
        if (i % 64 == 0)
            sched_yield(); /* a holder that loses its CPU: contenders sleep */
        s->count = c + 1;
        rpmsg_lock_release(&s->lock);
    }
    __atomic_add_fetch(&s->finished, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Threads add under the lock: not one increment may be lost. */
static void test_excludes(void **state)
{
    (void)state;
    struct shared s = { .rounds = tu_soak(20000) };
    assert_int_equal(rpmsg_lock_init(&s.lock), 0);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, adder, &s), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(s.count, (unsigned long)THREADS * s.rounds);
    rpmsg_lock_deinit(&s.lock);
}

/* Contenders that find the lock held sleep; the release must wake them,
 * every one. */
static void test_sleepers_woken(void **state)
{
    (void)state;
    struct shared s = { .rounds = 3 };
    assert_int_equal(rpmsg_lock_init(&s.lock), 0);
    for (int round = 0; round < 20; round++) {
        rpmsg_lock_acquire(&s.lock);
        __atomic_store_n(&s.started, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&s.finished, 0, __ATOMIC_RELAXED);
        pthread_t t[THREADS];
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(pthread_create(&t[i], NULL, adder, &s), 0);
        uint64_t until = rpmsg_time_ms() + TU_TIMEOUT_MS;
        while (__atomic_load_n(&s.started, __ATOMIC_ACQUIRE) < THREADS && rpmsg_time_ms() < until)
            usleep(100);
        assert_int_equal(__atomic_load_n(&s.started, __ATOMIC_ACQUIRE), THREADS);
        usleep(2000); /* the contenders are asleep */
#ifdef __linux__
        /* The word says so: the release must enter the kernel. */
        assert_int_equal(__atomic_load_n(&s.lock.state, __ATOMIC_RELAXED), 2);
#endif
        unsigned long before = s.count;
        rpmsg_lock_release(&s.lock);
        /* Bounded: a lost wake-up fails here, not at ctest's timeout. */
        until = rpmsg_time_ms() + TU_TIMEOUT_MS;
        while (__atomic_load_n(&s.finished, __ATOMIC_ACQUIRE) < THREADS && rpmsg_time_ms() < until)
            usleep(100);
        assert_int_equal(__atomic_load_n(&s.finished, __ATOMIC_ACQUIRE), THREADS);
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(s.count, before + THREADS * s.rounds);
    }
#ifdef __linux__
    assert_int_equal(__atomic_load_n(&s.lock.state, __ATOMIC_RELAXED), 0);
#endif
    rpmsg_lock_deinit(&s.lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_excludes),
        cmocka_unit_test(test_sleepers_woken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
