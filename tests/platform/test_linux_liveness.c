/*
 * Linux platform: the survivor notices a dead peer. A wait() in progress
 * returns, peer_alive() says -ENOTCONN, notify() refuses.
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
#define WAIT_MS 20000u

struct side_arg {
    const char *name;
    const char *sock;
    enum rpmsg_linux_side side;
    int done_fd; /* signalled once the link is open */
    int go_fd;   /* closes the link and exits once signalled */
    bool close_first;
};

static int open_native(struct rpmsg_linux_link *l, const char *name, enum rpmsg_linux_side side,
                       enum rpmsg_linux_mode mode)
{
    struct rpmsg_linux_config c = {
        .name = name,
        .side = side,
        .region_size = side == RPMSG_LINUX_CREATOR ? REGION : 0,
        .mode = mode,
        .timeout_ms = 10000,
        .liveness_ms = 20,
    };
    return rpmsg_linux_open(l, &c);
}

static int oa_open(struct rpmsg_linux_link *l, const char *shm, const char *sock, bool listen)
{
    struct rpmsg_linux_openamp_config c = {
        .shm_name = shm, .sock_path = sock, .listen = listen, .timeout_ms = 10000,
    };
    return rpmsg_linux_open_openamp(l, &c);
}

/* Child: opens its side, reports, then either closes cleanly on request or waits to be killed. */
static int child_side(void *p)
{
    struct side_arg *a = p;
    struct rpmsg_linux_link l;
    int r = a->sock ? oa_open(&l, a->name, a->sock, a->side == RPMSG_LINUX_CREATOR)
                    : open_native(&l, a->name, a->side, RPMSG_LINUX_INTERRUPT);
    if (r != 0)
        return 1;
    if (a->close_first)
        rpmsg_linux_close(&l);
    ph_signal(a->done_fd);
    ph_await(a->go_fd); /* killed here, or told to go */
    rpmsg_linux_close(&l);
    return 0;
}

struct waiter {
    struct rpmsg_linux_link *l;
    atomic_int result;
    atomic_int tid;
    atomic_bool started;
};

static void *waiter_thread(void *p)
{
    struct waiter *w = p;
    atomic_store(&w->tid, (int)gettid());
    atomic_store(&w->started, true);
    atomic_store(&w->result, w->l->ops.wait(w->l->plat, rpmsg_deadline(WAIT_MS)));
    return NULL;
}

/* Waits until the thread sleeps in the kernel (it is inside wait()). */
static void until_asleep(struct waiter *w)
{
    while (!atomic_load(&w->started))
        sched_yield();
    char st = 'R';
    while (rpmsg_linux_proc_stat(atomic_load(&w->tid), NULL, &st) == 0 && st != 'S')
        sched_yield();
}

/*
 * The peer is killed while we sleep in wait(): the wait returns 0 before its
 * deadline and peer_alive() reports -ENOTCONN.
 */
static void killed_during_wait(struct rpmsg_linux_link *l, pid_t pid)
{
    assert_int_equal(l->ops.peer_alive(l->plat), 0);
    struct waiter w = { .l = l, .result = 1 };
    pthread_t t;
    /* Drain rings left from setup so that the thread really sleeps. */
    while (l->ops.wait(l->plat, rpmsg_deadline(0)) == 0)
        ;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &w), 0);
    until_asleep(&w);
    kill(pid, SIGKILL);
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(atomic_load(&w.result), 0);
    assert_int_equal(l->ops.peer_alive(l->plat), -ENOTCONN);
    assert_int_equal(l->ops.peer_alive(l->plat), -ENOTCONN); /* sticky */
    assert_int_equal(l->ops.notify(l->plat, 0), -ENOTCONN);
    /* Checked before reaping: a zombie is dead too. */
    assert_int_equal(ph_join(pid), 1000 + SIGKILL);
}

static void native_killed(enum rpmsg_linux_side parent_side, enum rpmsg_linux_mode mode)
{
    char name[64];
    ph_shm_name(name, sizeof(name));
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct rpmsg_linux_link l;
    enum rpmsg_linux_side child_side_v =
        parent_side == RPMSG_LINUX_CREATOR ? RPMSG_LINUX_ATTACHER : RPMSG_LINUX_CREATOR;
    struct side_arg a = { name, NULL, child_side_v, done[1], go[0], false };
    if (parent_side == RPMSG_LINUX_CREATOR)
        assert_int_equal(open_native(&l, name, parent_side, mode), 0);
    pid_t pid = ph_fork(child_side, &a);
    assert_true(pid > 0);
    assert_int_equal(ph_await(done[0]), 0);
    if (parent_side == RPMSG_LINUX_ATTACHER)
        assert_int_equal(open_native(&l, name, parent_side, mode), 0);
    assert_int_equal(rpmsg_linux_wait_peer(&l, rpmsg_deadline(WAIT_MS)), 0);
    assert_int_equal(rpmsg_linux_peer_pid(&l), pid);
    killed_during_wait(&l, pid);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void test_native_attacher_killed(void **state)
{
    (void)state;
    native_killed(RPMSG_LINUX_CREATOR, RPMSG_LINUX_INTERRUPT);
    native_killed(RPMSG_LINUX_CREATOR, RPMSG_LINUX_ADAPTIVE);
}

static void test_native_creator_killed(void **state)
{
    (void)state;
    native_killed(RPMSG_LINUX_ATTACHER, RPMSG_LINUX_INTERRUPT);
}

/* Poll mode never sleeps in the kernel: it still has to notice. */
static void test_native_killed_poll_mode(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct rpmsg_linux_link l;
    assert_int_equal(open_native(&l, name, RPMSG_LINUX_CREATOR, RPMSG_LINUX_POLL), 0);
    struct side_arg a = { name, NULL, RPMSG_LINUX_ATTACHER, done[1], go[0], false };
    pid_t pid = ph_fork(child_side, &a);
    assert_int_equal(ph_await(done[0]), 0);
    assert_int_equal(rpmsg_linux_wait_peer(&l, rpmsg_deadline(WAIT_MS)), 0);
    kill(pid, SIGKILL);
    unsigned waits = 0;
    int r;
    do {
        r = l.ops.wait(l.plat, rpmsg_deadline(WAIT_MS));
        waits++;
    } while (r == 0 && l.ops.peer_alive(l.plat) == 0 && waits < 100);
    assert_int_equal(r, 0);
    assert_int_equal(l.ops.peer_alive(l.plat), -ENOTCONN);
    assert_int_equal(ph_join(pid), 1000 + SIGKILL);
    rpmsg_linux_close(&l);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

/* A peer that closes its link but lives on is gone for us all the same. */
static void test_native_clean_close(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct rpmsg_linux_link l;
    assert_int_equal(open_native(&l, name, RPMSG_LINUX_CREATOR, RPMSG_LINUX_INTERRUPT), 0);
    struct side_arg a = { name, NULL, RPMSG_LINUX_ATTACHER, done[1], go[0], true };
    pid_t pid = ph_fork(child_side, &a);
    assert_int_equal(ph_await(done[0]), 0);
    int r;
    unsigned waits = 0;
    do {
        r = l.ops.wait(l.plat, rpmsg_deadline(WAIT_MS));
        waits++;
    } while (r == 0 && l.ops.peer_alive(l.plat) == 0 && waits < 100);
    assert_int_equal(r, 0);
    assert_int_equal(l.ops.peer_alive(l.plat), -ENOTCONN);
    assert_int_equal(kill(pid, 0), 0); /* still running */
    ph_signal(go[1]);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void uds_killed(bool parent_listens)
{
    char shm[64], sock[96];
    ph_shm_name(shm, sizeof(shm));
    ph_sock_path(sock, sizeof(sock));
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct side_arg a = { shm, sock, parent_listens ? RPMSG_LINUX_ATTACHER : RPMSG_LINUX_CREATOR,
                          done[1], go[0], false };
    pid_t pid = ph_fork(child_side, &a);
    struct rpmsg_linux_link l;
    assert_int_equal(oa_open(&l, shm, sock, parent_listens), 0);
    assert_int_equal(ph_await(done[0]), 0);
    killed_during_wait(&l, pid);
    /* A dead socket must not make wait() spin: it sleeps until its deadline. */
    assert_int_equal(l.ops.wait(l.plat, rpmsg_deadline(30)), -ETIMEDOUT);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
    assert_false(ph_path_exists(sock));
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void test_uds_peer_killed(void **state)
{
    (void)state;
    uds_killed(true);
    uds_killed(false);
}

static void test_proc_identity(void **state)
{
    (void)state;
    uint64_t start = 0;
    char st = 0;
    assert_int_equal(rpmsg_linux_proc_stat(getpid(), &start, &st), 0);
    assert_true(start > 0);
    assert_true(rpmsg_linux_proc_alive(getpid(), start));
    assert_true(rpmsg_linux_proc_alive(getpid(), 0));
    /* Same pid, other start time: a reused pid is not our peer. */
    assert_false(rpmsg_linux_proc_alive(getpid(), start + 1));
    assert_false(rpmsg_linux_proc_alive(0, 0));
    assert_false(rpmsg_linux_proc_alive(-5, 0));
    assert_int_equal(rpmsg_linux_proc_stat(0, NULL, NULL), -EINVAL);

    struct rpmsg_linux_peer p;
    rpmsg_linux_peer_init(&p);
    assert_int_equal(rpmsg_linux_peer_check(&p), 0); /* nobody tracked: not known dead */
    assert_int_equal(rpmsg_linux_peer_track(&p, getpid(), start + 1), -ENOTCONN);
    assert_int_equal(rpmsg_linux_peer_check(&p), -ENOTCONN);
    assert_int_equal(rpmsg_linux_peer_track(&p, getpid(), start), 0);
    assert_int_equal(rpmsg_linux_peer_check(&p), 0);
    rpmsg_linux_peer_release(&p);
}

/* Whatever the peer writes in the control page, we answer and do not crash. */
static void test_hostile_control_page(void **state)
{
    (void)state;
    static const int32_t pids[] = { 0, -1, 0x7fffffff, 1 };
    for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
        char name[64];
        ph_shm_name(name, sizeof(name));
        struct rpmsg_linux_link c, a;
        assert_int_equal(open_native(&c, name, RPMSG_LINUX_CREATOR, RPMSG_LINUX_INTERRUPT), 0);
        assert_int_equal(open_native(&a, name, RPMSG_LINUX_ATTACHER, RPMSG_LINUX_INTERRUPT), 0);
        struct rpmsg_linux_plat *p = c.plat;
        atomic_store(&p->shm.ctl->pid[1], pids[i]);
        /* pid 1 is alive but did not start when the attacher did. */
        assert_int_equal(c.ops.peer_alive(c.plat), -ENOTCONN);
        rpmsg_linux_close(&a);
        rpmsg_linux_close(&c);
    }
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link c, a;
    assert_int_equal(open_native(&c, name, RPMSG_LINUX_CREATOR, RPMSG_LINUX_INTERRUPT), 0);
    assert_int_equal(open_native(&a, name, RPMSG_LINUX_ATTACHER, RPMSG_LINUX_INTERRUPT), 0);
    struct rpmsg_linux_plat *p = c.plat;
    atomic_store(&p->shm.ctl->state[1], 0xdeadu);
    assert_int_equal(c.ops.peer_alive(c.plat), -ENOTCONN);
    rpmsg_linux_close(&a);
    rpmsg_linux_close(&c);
    assert_int_equal(ph_shm_leftovers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proc_identity),
        cmocka_unit_test(test_hostile_control_page),
        cmocka_unit_test(test_native_attacher_killed),
        cmocka_unit_test(test_native_creator_killed),
        cmocka_unit_test(test_native_killed_poll_mode),
        cmocka_unit_test(test_native_clean_close),
        cmocka_unit_test(test_uds_peer_killed),
    };
    ph_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
