/* Linux platform: the shared object's life: create, attach, stale, live owner, cleanup. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include <cmocka.h>

#include "plat_helpers.h"
#include "platform/linux/linux_priv.h"
#include "rpmsg/rpmsg_linux.h"

#define REGION 0x20000u

static struct rpmsg_linux_config cfg_of(const char *name, enum rpmsg_linux_side side, size_t size)
{
    struct rpmsg_linux_config c = {
        .name = name,
        .side = side,
        .region_size = size,
        .mode = RPMSG_LINUX_ADAPTIVE,
        .timeout_ms = 0,
    };
    return c;
}

static int create(struct rpmsg_linux_link *l, const char *name, size_t size)
{
    struct rpmsg_linux_config c = cfg_of(name, RPMSG_LINUX_CREATOR, size);
    return rpmsg_linux_open(l, &c);
}

static int attach(struct rpmsg_linux_link *l, const char *name, size_t size, uint32_t timeout)
{
    struct rpmsg_linux_config c = cfg_of(name, RPMSG_LINUX_ATTACHER, size);
    c.timeout_ms = timeout;
    return rpmsg_linux_open(l, &c);
}

/* ---- children ---- */

struct child_arg {
    const char *name;
    int go_fd;   /* child waits on it before finishing (-1: no wait) */
    int done_fd; /* child signals on it when its part is done (-1: none) */
};

/* Attaches, checks the creator's pattern, writes its own, reports, waits, closes. */
static int child_attach_share(void *p)
{
    struct child_arg *a = p;
    struct rpmsg_linux_link l;
    if (attach(&l, a->name, 0, 10000) != 0)
        return 1;
    if (l.size != REGION)
        return 2;
    const uint8_t *b = l.base;
    for (size_t i = 0; i < 4096; i++)
        if (b[i] != (uint8_t)(i * 7))
            return 3;
    memset((char *)l.base + 4096, 0x5a, 4096);
    if (rpmsg_linux_peer_pid(&l) != getppid())
        return 4;
    ph_signal(a->done_fd);
    ph_await(a->go_fd);
    rpmsg_linux_close(&l);
    return 0;
}

/* Creates and dies without closing, as a crash would. */
static int child_create_and_die(void *p)
{
    struct child_arg *a = p;
    struct rpmsg_linux_link l;
    if (create(&l, a->name, REGION) != 0)
        return 1;
    raise(SIGKILL);
    return 2;
}

static int child_create_expect(void *p)
{
    struct child_arg *a = p;
    struct rpmsg_linux_link l;
    int r = create(&l, a->name, REGION);
    if (r == 0)
        rpmsg_linux_close(&l);
    return r == -EADDRINUSE ? 0 : 1;
}

/* Creates, reports, then waits to be killed. */
static int child_create_hold(void *p)
{
    struct child_arg *a = p;
    struct rpmsg_linux_link l;
    if (create(&l, a->name, REGION) != 0)
        return 1;
    ph_signal(a->done_fd);
    ph_await(a->go_fd);
    rpmsg_linux_close(&l);
    return 0;
}

/* ---- tests ---- */

static void test_create_attach_share(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link l;
    assert_int_equal(create(&l, name, REGION), 0);
    assert_non_null(l.base);
    assert_int_equal(l.size, REGION);
    assert_true(ph_shm_exists(name));
    assert_int_equal(rpmsg_linux_peer_pid(&l), 0);
    for (size_t i = 0; i < 4096; i++)
        ((uint8_t *)l.base)[i] = (uint8_t)(i * 7);

    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct child_arg a = { name, go[0], done[1] };
    pid_t pid = ph_fork(child_attach_share, &a);
    assert_true(pid > 0);
    assert_int_equal(rpmsg_linux_wait_peer(&l, rpmsg_deadline(20000)), 0);
    assert_int_equal(ph_await(done[0]), 0);
    /* Both mapped it: the name must be gone already, while the link runs. */
    assert_false(ph_shm_exists(name));
    assert_int_equal(rpmsg_linux_peer_pid(&l), pid);
    const uint8_t *b = (const uint8_t *)l.base + 4096;
    for (size_t i = 0; i < 4096; i++)
        assert_int_equal(b[i], 0x5a);
    assert_int_equal(l.ops.peer_alive(l.plat), 0);
    ph_signal(go[1]);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    rpmsg_linux_close(&l); /* twice is harmless */
    assert_int_equal(ph_shm_leftovers(), 0);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void test_same_process_and_size_check(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct rpmsg_linux_link c, a, x;
    assert_int_equal(create(&c, name, 5000), 0);
    assert_int_equal(c.size, 5000);
    /* A second creator while the first lives: refused, first untouched. */
    assert_int_equal(create(&x, name, 5000), -EADDRINUSE);
    assert_null(x.plat);
    /* Wrong size: refused, the name stays for the right attacher. */
    assert_int_equal(attach(&a, name, 4096, 0), -EINVAL);
    assert_true(ph_shm_exists(name));
    assert_int_equal(attach(&a, name, 5000, 0), 0);
    assert_int_equal(a.size, 5000);
    assert_false(ph_shm_exists(name));
    /* Same memory through both mappings. */
    ((volatile char *)c.base)[4999] = 'x';
    assert_int_equal(((volatile char *)a.base)[4999], 'x');
    assert_int_equal(rpmsg_linux_peer_pid(&a), getpid());
    assert_int_equal(rpmsg_linux_peer_pid(&c), getpid());
    rpmsg_linux_close(&a);
    /* The attacher said goodbye: the creator sees it without any process dying. */
    struct rpmsg_linux_plat *p = c.plat;
    assert_int_equal(p->shm.ctl->state[1], RPMSG_LINUX_CLOSED);
    assert_int_equal(c.ops.peer_alive(c.plat), -ENOTCONN);
    rpmsg_linux_close(&c);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct rpmsg_linux_link l;
    char longname[300];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_int_equal(create(&l, NULL, REGION), -EINVAL);
    assert_int_equal(create(&l, "", REGION), -EINVAL);
    assert_int_equal(create(&l, "/", REGION), -EINVAL);
    assert_int_equal(create(&l, "a/b", REGION), -EINVAL);
    assert_int_equal(create(&l, "..", REGION), -EINVAL);
    assert_int_equal(create(&l, longname, REGION), -ENAMETOOLONG);
    char name[64];
    ph_shm_name(name, sizeof(name));
    assert_int_equal(create(&l, name, 0), -EINVAL);
    assert_int_equal(create(&l, name, RPMSG_LINUX_REGION_MAX + 1), -EINVAL);
    struct rpmsg_linux_config c = cfg_of(name, (enum rpmsg_linux_side)7, REGION);
    assert_int_equal(rpmsg_linux_open(&l, &c), -EINVAL);
    c = cfg_of(name, RPMSG_LINUX_CREATOR, REGION);
    c.mode = (enum rpmsg_linux_mode)9;
    assert_int_equal(rpmsg_linux_open(&l, &c), -EINVAL);
    assert_int_equal(rpmsg_linux_open(NULL, &c), -EINVAL);
    assert_int_equal(rpmsg_linux_open(&l, NULL), -EINVAL);
    assert_int_equal(attach(&l, name, 0, 0), -ENOENT);
    assert_int_equal(attach(&l, name, 0, 30), -ENOENT); /* waited, still nobody */
    rpmsg_linux_close(NULL);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_stale_creator_is_replaced(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct child_arg a = { name, -1, -1 };
    pid_t pid = ph_fork(child_create_and_die, &a);
    assert_int_equal(ph_join(pid), 1000 + SIGKILL);
    /* The crash left the name behind, owned by a dead pid. */
    assert_true(ph_shm_exists(name));
    struct rpmsg_linux_link l;
    assert_int_equal(create(&l, name, REGION), 0);
    struct rpmsg_linux_plat *p = l.plat;
    assert_int_equal(p->shm.ctl->pid[0], getpid());
    assert_true(ph_shm_exists(name));
    rpmsg_linux_close(&l);
    assert_false(ph_shm_exists(name));
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_stale_creator_removed_by_attacher(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    struct child_arg a = { name, -1, -1 };
    pid_t pid = ph_fork(child_create_and_die, &a);
    assert_int_equal(ph_join(pid), 1000 + SIGKILL);
    assert_true(ph_shm_exists(name));
    struct rpmsg_linux_link l;
    assert_int_equal(attach(&l, name, 0, 0), -ENOENT);
    assert_false(ph_shm_exists(name));
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_live_owner_refused(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    /* Another live process owns it: we must not take it over. */
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct child_arg a = { name, go[0], done[1] };
    pid_t owner = ph_fork(child_create_hold, &a);
    assert_int_equal(ph_await(done[0]), 0);
    struct rpmsg_linux_link l;
    assert_int_equal(create(&l, name, REGION), -EADDRINUSE);
    assert_true(ph_shm_exists(name));
    ph_signal(go[1]);
    assert_int_equal(ph_join(owner), 0);
    assert_false(ph_shm_exists(name)); /* its close removed it */

    /* And the other way round: we own it, another process is refused. */
    assert_int_equal(create(&l, name, REGION), 0);
    pid_t pid = ph_fork(child_create_expect, &a);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void test_killed_peer_leaves_nothing(void **state)
{
    (void)state;
    char name[64];
    ph_shm_name(name, sizeof(name));
    int go[2], done[2];
    assert_int_equal(pipe(go), 0);
    assert_int_equal(pipe(done), 0);
    struct child_arg a = { name, go[0], done[1] };
    pid_t owner = ph_fork(child_create_hold, &a);
    assert_int_equal(ph_await(done[0]), 0);
    struct rpmsg_linux_link l;
    assert_int_equal(attach(&l, name, REGION, 5000), 0);
    kill(owner, SIGKILL);
    assert_int_equal(ph_join(owner), 1000 + SIGKILL);
    assert_false(ph_shm_exists(name));
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
    close(go[0]); close(go[1]); close(done[0]); close(done[1]);
}

static void test_foreign_object_untouched(void **state)
{
    (void)state;
    char name[64], path[128];
    ph_shm_name(name, sizeof(name));
    snprintf(path, sizeof(path), "/dev/shm/%s", name);
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    char junk[8192];
    memset(junk, 0xab, sizeof(junk));
    assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
    close(fd);
    struct rpmsg_linux_link l;
    assert_int_equal(create(&l, name, REGION), -EEXIST);
    assert_int_equal(attach(&l, name, 0, 0), -EPROTO);
    assert_true(ph_shm_exists(name)); /* not ours to delete */
    /* A tiny object: same answers, no crash. */
    assert_int_equal(truncate(path, 10), 0);
    assert_int_equal(create(&l, name, REGION), -EEXIST);
    assert_int_equal(attach(&l, name, 0, 0), -EPROTO);
    unlink(path);
    assert_int_equal(ph_shm_leftovers(), 0);
}

/* A creator's control page that a buggy or hostile writer scribbled on. */
static void test_corrupt_control_page(void **state)
{
    (void)state;
    static const size_t offs[] = {
        offsetof(struct rpmsg_linux_ctl, magic),
        offsetof(struct rpmsg_linux_ctl, version),
        offsetof(struct rpmsg_linux_ctl, region_size),
        offsetof(struct rpmsg_linux_ctl, ctl_size),
        offsetof(struct rpmsg_linux_ctl, state) + 4,
        offsetof(struct rpmsg_linux_ctl, state),
    };
    static const int want[] = { -EPROTO, -EPROTO, -EPROTO, -EPROTO, -EADDRINUSE, -ENOENT };
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        char name[64];
        ph_shm_name(name, sizeof(name));
        struct rpmsg_linux_link c, a;
        assert_int_equal(create(&c, name, REGION), 0);
        struct rpmsg_linux_plat *p = c.plat;
        uint32_t bad = i == 2 ? 0xffffffffu : 0x7u;
        memcpy((char *)p->shm.ctl + offs[i], &bad, sizeof(bad));
        if (i == 2)
            memcpy((char *)p->shm.ctl + offs[i] + 4, &bad, sizeof(bad));
        assert_int_equal(attach(&a, name, 0, 0), want[i]);
        assert_null(a.plat);
        rpmsg_linux_close(&c);
    }
    assert_int_equal(ph_shm_leftovers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_attach_share),
        cmocka_unit_test(test_same_process_and_size_check),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_stale_creator_is_replaced),
        cmocka_unit_test(test_stale_creator_removed_by_attacher),
        cmocka_unit_test(test_live_owner_refused),
        cmocka_unit_test(test_killed_peer_leaves_nothing),
        cmocka_unit_test(test_foreign_object_untouched),
        cmocka_unit_test(test_corrupt_control_page),
    };
    ph_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
