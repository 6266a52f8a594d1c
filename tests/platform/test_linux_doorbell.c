/*
 * Linux platform: the futex doorbell between two processes, in every
 * notification mode. Assertions count rings, rounds and timeouts, never time.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "plat_helpers.h"
#include "platform/linux/linux_priv.h"
#include "rpmsg/rpmsg_linux.h"

#define REGION 0x10000u
#define WAIT_MS 10000u /* per wait: only a lost wake-up (a bug) runs into it */

/* Two counters on separate cache lines at the start of the region. */
static _Atomic uint32_t *to_child(struct rpmsg_linux_link *l)
{
    return (_Atomic uint32_t *)l->base;
}

static _Atomic uint32_t *to_parent(struct rpmsg_linux_link *l)
{
    return (_Atomic uint32_t *)((char *)l->base + 64);
}

static int open_side(struct rpmsg_linux_link *l, const char *name, enum rpmsg_linux_side side,
                     enum rpmsg_linux_mode mode)
{
    struct rpmsg_linux_config c = {
        .name = name,
        .side = side,
        .region_size = side == RPMSG_LINUX_CREATOR ? REGION : 0,
        .mode = mode,
        .timeout_ms = 10000,
        /* Longer than any wait here: a liveness slice must not rescue a lost wake-up. */
        .liveness_ms = 60000,
    };
    return rpmsg_linux_open(l, &c);
}

/* Waits until *ctr == want; returns how many waits timed out (must stay 0). */
static unsigned wait_for(struct rpmsg_linux_link *l, _Atomic uint32_t *ctr, uint32_t want,
                         unsigned *returns)
{
    unsigned timeouts = 0;
    while (atomic_load(ctr) != want) {
        int r = l->ops.wait(l->plat, rpmsg_deadline(WAIT_MS));
        if (r == -ETIMEDOUT && ++timeouts)
            break;
        if (r != 0 && r != -ETIMEDOUT)
            return 1000;
        if (returns)
            (*returns)++;
    }
    return timeouts;
}

struct pp_arg {
    const char *name;
    enum rpmsg_linux_mode mode;
    uint32_t rounds;
};

/* Child of the ping-pong: answers every ping with a pong. */
static int child_pong(void *p)
{
    struct pp_arg *a = p;
    struct rpmsg_linux_link l;
    if (open_side(&l, a->name, RPMSG_LINUX_ATTACHER, a->mode) != 0)
        return 1;
    for (uint32_t k = 1; k <= a->rounds; k++) {
        if (wait_for(&l, to_child(&l), k, NULL) != 0)
            return 2;
        atomic_store(to_parent(&l), k);
        if (l.ops.notify(l.plat, 1) != 0)
            return 3;
    }
    rpmsg_linux_close(&l);
    return 0;
}

static void ping_pong(enum rpmsg_linux_mode parent_mode, enum rpmsg_linux_mode child_mode,
                      uint32_t rounds)
{
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link l;
    assert_int_equal(open_side(&l, name, RPMSG_LINUX_CREATOR, parent_mode), 0);
    struct pp_arg a = { name, child_mode, rounds };
    pid_t pid = ph_fork(child_pong, &a);
    assert_true(pid > 0);
    assert_int_equal(rpmsg_linux_wait_peer(&l, rpmsg_deadline(WAIT_MS)), 0);
    uint32_t done = 0;
    for (uint32_t k = 1; k <= rounds; k++) {
        atomic_store(to_child(&l), k);
        assert_int_equal(l.ops.notify(l.plat, 0), 0);
        if (wait_for(&l, to_parent(&l), k, NULL) != 0)
            break;
        done++;
    }
    assert_int_equal(done, rounds);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_pingpong_adaptive(void **state)
{
    (void)state;
    ping_pong(RPMSG_LINUX_ADAPTIVE, RPMSG_LINUX_ADAPTIVE, 3000);
}

/* Every round the waiter goes to sleep just as the ringer rings: the lost wake-up race. */
static void test_pingpong_interrupt(void **state)
{
    (void)state;
    ping_pong(RPMSG_LINUX_INTERRUPT, RPMSG_LINUX_INTERRUPT, 20000);
}

static void test_pingpong_mixed(void **state)
{
    (void)state;
    /* A spinning side must still wake a sleeping one, and the other way round. */
    ping_pong(RPMSG_LINUX_POLL, RPMSG_LINUX_INTERRUPT, 300);
    ping_pong(RPMSG_LINUX_INTERRUPT, RPMSG_LINUX_POLL, 300);
    ping_pong(RPMSG_LINUX_ADAPTIVE, RPMSG_LINUX_INTERRUPT, 1000);
}

static void test_pingpong_poll(void **state)
{
    (void)state;
    ping_pong(RPMSG_LINUX_POLL, RPMSG_LINUX_POLL, 300);
}

/* Child of the burst: rings as fast as it can, publishing a counter first. */
static int child_burst(void *p)
{
    struct pp_arg *a = p;
    struct rpmsg_linux_link l;
    if (open_side(&l, a->name, RPMSG_LINUX_ATTACHER, a->mode) != 0)
        return 1;
    for (uint32_t k = 1; k <= a->rounds; k++) {
        atomic_store(to_parent(&l), k);
        if (l.ops.notify(l.plat, 0) != 0)
            return 2;
    }
    /* Stay until the parent has seen the last one (its close wakes us). */
    if (wait_for(&l, to_child(&l), 1, NULL) != 0)
        return 3;
    rpmsg_linux_close(&l);
    return 0;
}

static void burst(enum rpmsg_linux_mode parent_mode, uint32_t rings)
{
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link l;
    assert_int_equal(open_side(&l, name, RPMSG_LINUX_CREATOR, parent_mode), 0);
    struct pp_arg a = { name, RPMSG_LINUX_ADAPTIVE, rings };
    pid_t pid = ph_fork(child_burst, &a);
    assert_true(pid > 0);
    unsigned returns = 0;
    /* The last ring must never be lost, however the rings coalesce. */
    assert_int_equal(wait_for(&l, to_parent(&l), rings, &returns), 0);
    assert_int_equal(atomic_load(to_parent(&l)), rings);
    /* It may have finished before we looked; then its rings are still pending. */
    if (returns == 0)
        assert_int_equal(l.ops.wait(l.plat, rpmsg_deadline(0)), 0);
    assert_true(returns <= rings + 1); /* + the attach ring */
    atomic_store(to_child(&l), 1);
    assert_int_equal(l.ops.notify(l.plat, 0), 0);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_burst_not_lost(void **state)
{
    (void)state;
    burst(RPMSG_LINUX_INTERRUPT, 20000);
    burst(RPMSG_LINUX_ADAPTIVE, 20000);
    burst(RPMSG_LINUX_POLL, 20000);
}

/* Rings coalesce but every ring is observed: k rings before a wait → one return, then quiet. */
static void test_rings_seen_in_process(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link c, a;
    assert_int_equal(open_side(&c, name, RPMSG_LINUX_CREATOR, RPMSG_LINUX_INTERRUPT), 0);
    /* Rings before the attacher exists are kept for it. */
    assert_int_equal(c.ops.notify(c.plat, 0), 0);
    assert_int_equal(open_side(&a, name, RPMSG_LINUX_ATTACHER, RPMSG_LINUX_INTERRUPT), 0);
    assert_int_equal(a.ops.wait(a.plat, rpmsg_deadline(1000)), 0);
    assert_int_equal(a.ops.wait(a.plat, rpmsg_deadline(20)), -ETIMEDOUT);
    /* The attach rang the creator once. */
    assert_int_equal(c.ops.wait(c.plat, rpmsg_deadline(1000)), 0);
    assert_int_equal(c.ops.wait(c.plat, rpmsg_deadline(20)), -ETIMEDOUT);
    for (int i = 0; i < 5; i++)
        assert_int_equal(a.ops.notify(a.plat, 1), 0);
    assert_int_equal(c.ops.wait(c.plat, rpmsg_deadline(1000)), 0);
    assert_int_equal(c.ops.wait(c.plat, rpmsg_deadline(20)), -ETIMEDOUT);
    /* Nobody slept, so nobody was woken: the ringers left no sleeper counts behind. */
    struct rpmsg_linux_plat *p = c.plat;
    assert_int_equal(atomic_load(&p->shm.ctl->bell[0].sleepers), 0);
    assert_int_equal(atomic_load(&p->shm.ctl->bell[1].sleepers), 0);
    rpmsg_linux_close(&a);
    rpmsg_linux_close(&c);
    assert_int_equal(ph_shm_leftovers(), 0);
}

struct waiter {
    struct rpmsg_linux_link *l;
    uint64_t deadline;
    atomic_int result;
    atomic_bool started;
    atomic_int tid;
};

static void *waiter_thread(void *p)
{
    struct waiter *w = p;
    atomic_store(&w->tid, (int)gettid());
    atomic_store(&w->started, true);
    atomic_store(&w->result, w->l->ops.wait(w->l->plat, w->deadline));
    return NULL;
}

static void wakeup_mode(enum rpmsg_linux_mode mode)
{
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link l;
    assert_int_equal(open_side(&l, name, RPMSG_LINUX_CREATOR, mode), 0);

    /* Nothing pending: a wait times out. */
    assert_int_equal(l.ops.wait(l.plat, rpmsg_deadline(20)), -ETIMEDOUT);
    /* wakeup() before wait(): the next wait returns at once, the one after does not. */
    l.ops.wakeup(l.plat);
    assert_int_equal(l.ops.wait(l.plat, rpmsg_deadline(1000)), 0);
    assert_int_equal(l.ops.wait(l.plat, rpmsg_deadline(20)), -ETIMEDOUT);

    /* wakeup() during a wait that would otherwise run into its deadline. */
    struct waiter w = { .l = &l, .deadline = rpmsg_deadline(WAIT_MS), .result = 1 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    while (!atomic_load(&w.started))
        sched_yield();
    struct rpmsg_linux_plat *p = l.plat;
    if (mode == RPMSG_LINUX_INTERRUPT) {
        /* Make it the sleeping case for sure: announced, and asleep in the kernel. */
        while (atomic_load(&p->shm.ctl->bell[0].sleepers) == 0)
            sched_yield();
        char st = 'R';
        while (rpmsg_linux_proc_stat(atomic_load(&w.tid), NULL, &st) == 0 && st != 'S')
            sched_yield();
        assert_int_equal(st, 'S');
    }
    l.ops.wakeup(l.plat);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&w.result), 0);
    /* A lost wake-up would still end in 0 (the ring is seen at the deadline),
     * but only once the 10 s deadline has passed. */
    assert_true(rpmsg_time_ms() < w.deadline);
    assert_int_equal(atomic_load(&p->shm.ctl->bell[0].sleepers), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_wakeup_and_timeout(void **state)
{
    (void)state;
    wakeup_mode(RPMSG_LINUX_INTERRUPT);
    wakeup_mode(RPMSG_LINUX_ADAPTIVE);
    wakeup_mode(RPMSG_LINUX_POLL);
}

/* ---- The adaptive spin's budget (one process, bells in memory) ---- */

static uint32_t spin_now(struct rpmsg_linux_doorbell *db)
{
    return atomic_load(&db->spin_now_ns);
}

static void test_adaptive_spin_backs_off(void **state)
{
    (void)state;
    static struct rpmsg_linux_bell bells[2];
    struct rpmsg_linux_doorbell db;
    rpmsg_linux_db_init(&db, &bells[0], &bells[1], RPMSG_LINUX_ADAPTIVE, 20);
    assert_int_equal(spin_now(&db), 20000);
    /* Spins that run out halve the next one, down to none. */
    static const uint32_t want[] = { 10000, 5000, 2500, 1250, 0 };
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_time_ms(), true), -ETIMEDOUT);
        assert_int_equal(spin_now(&db), want[i]);
    }
    /* Then waits do not spin, but every 64th probes with a full spin. */
    for (unsigned i = 1; i < 64; i++) {
        assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_time_ms(), true), -ETIMEDOUT);
        assert_int_equal(atomic_load(&db.since_probe), i);
    }
    assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_time_ms(), true), -ETIMEDOUT);
    assert_int_equal(atomic_load(&db.since_probe), 0);
    assert_int_equal(spin_now(&db), 0); /* the probe ran out too */
    /* A wait told not to spin leaves the budget alone. */
    atomic_store(&db.spin_now_ns, 4000);
    assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_time_ms(), false), -ETIMEDOUT);
    assert_int_equal(spin_now(&db), 4000);
    /* Other modes never spin this way. */
    rpmsg_linux_db_init(&db, &bells[0], &bells[1], RPMSG_LINUX_INTERRUPT, 20);
    assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_time_ms(), true), -ETIMEDOUT);
    assert_int_equal(spin_now(&db), 20000);
}

struct ringer {
    struct rpmsg_linux_bell *bell;
    unsigned delay_us;
};

static void *ringer_thread(void *p)
{
    struct ringer *r = p;
    usleep(r->delay_us);
    rpmsg_linux_db_ring(r->bell);
    return NULL;
}

static void test_adaptive_spin_recovers(void **state)
{
    (void)state;
    static struct rpmsg_linux_bell bells[2];
    struct rpmsg_linux_doorbell db;
    /* Long spins, so that a ring from another thread lands inside one. */
    rpmsg_linux_db_init(&db, &bells[0], &bells[1], RPMSG_LINUX_ADAPTIVE, 200000);
    bool recovered = false;
    /* The ring may come before the wait has started (nothing to learn then):
     * try a few times. */
    for (int attempt = 0; attempt < 5 && !recovered; attempt++) {
        atomic_store(&db.spin_now_ns, 50000000u); /* 50 ms: less than the full spin */
        struct ringer r = { &bells[0], 10000 };
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, ringer_thread, &r), 0);
        assert_int_equal(rpmsg_linux_db_wait(&db, rpmsg_deadline(WAIT_MS), true), 0);
        pthread_join(t, NULL);
        recovered = spin_now(&db) == 200000000u;
    }
    /* A spin that caught the ring earns the next wait the full spin. */
    assert_true(recovered);
}

/* A watched ring that holds a message; the peer's ring, which comes after
 * it published, lands right after the look that saw the message. */
static bool ready_flag;
static struct rpmsg_linux_bell *ring_after_look;
static bool look(void)
{
    if (ready_flag && ring_after_look) {
        rpmsg_linux_db_ring(ring_after_look);
        ring_after_look = NULL;
    }
    return ready_flag;
}

static bool ready_fn(void *arg)
{
    (void)arg;
    return look();
}

static bool arm_fn(void *arg)
{
    (*(unsigned *)arg)++;
    return look();
}

/*
 * A wait that returns because its watch saw the message takes the ring that
 * came with it as seen: the next wait, with nothing new, waits (here: until
 * its deadline) instead of returning at once on that old ring. Both ways a
 * watch returns: the spin's look, and the look after the request made
 * before a sleep (arm). A ring after that is still caught.
 */
static void test_watch_absorbs_its_ring(void **state)
{
    (void)state;
    static struct rpmsg_linux_bell bells[2];
    struct rpmsg_linux_doorbell db;
    unsigned arms = 0;
    const struct rpmsg_virtio_watch w = { ready_fn, arm_fn, &arms };
    static const enum rpmsg_linux_mode modes[] = { RPMSG_LINUX_ADAPTIVE, RPMSG_LINUX_POLL,
                                                   RPMSG_LINUX_INTERRUPT };
    for (unsigned m = 0; m < 3; m++) {
        memset(bells, 0, sizeof(bells));
        rpmsg_linux_db_init(&db, &bells[0], &bells[1], modes[m], 20);
        for (int round = 0; round < 3; round++) {
            ready_flag = true;
            ring_after_look = &bells[0];
            unsigned a0 = arms;
            assert_int_equal(rpmsg_linux_db_wait_ready(&db, rpmsg_deadline(WAIT_MS), true, &w), 1);
            /* Adaptive and poll modes see it in the spin, interrupt mode
             * at the look after its request. */
            assert_int_equal(arms - a0, modes[m] == RPMSG_LINUX_INTERRUPT ? 1u : 0u);
            ready_flag = false;
            assert_int_equal(rpmsg_linux_db_wait_ready(&db, rpmsg_deadline(30), true, &w),
                             -ETIMEDOUT);
            rpmsg_linux_db_ring(&bells[0]);
            assert_int_equal(rpmsg_linux_db_wait_ready(&db, rpmsg_deadline(WAIT_MS), true, &w), 0);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_watch_absorbs_its_ring),
        cmocka_unit_test(test_adaptive_spin_backs_off),
        cmocka_unit_test(test_adaptive_spin_recovers),
        cmocka_unit_test(test_rings_seen_in_process),
        cmocka_unit_test(test_wakeup_and_timeout),
        cmocka_unit_test(test_pingpong_adaptive),
        cmocka_unit_test(test_pingpong_interrupt),
        cmocka_unit_test(test_pingpong_poll),
        cmocka_unit_test(test_pingpong_mixed),
        cmocka_unit_test(test_burst_not_lost),
    };
    ph_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
