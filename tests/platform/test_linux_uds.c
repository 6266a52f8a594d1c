/*
 * Linux platform: the OpenAMP-compatible kick over an AF_UNIX socket
 * (wire-formats.md §4), both directions, either side listening.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "plat_helpers.h"
#include "platform/linux/linux_priv.h"
#include "rpmsg/rpmsg_linux.h"

#define WAIT_MS 10000u

struct oa_arg {
    const char *shm;
    const char *sock;
    bool listen;
    uint32_t rounds;
    bool burst;
};

static int oa_open(struct rpmsg_linux_link *l, const char *shm, const char *sock, bool listen,
                   uint32_t timeout)
{
    struct rpmsg_linux_openamp_config c = {
        .shm_name = shm,
        .sock_path = sock,
        .listen = listen,
        .timeout_ms = timeout,
    };
    return rpmsg_linux_open_openamp(l, &c);
}

static _Atomic uint32_t *ctr(struct rpmsg_linux_link *l, int which)
{
    return (_Atomic uint32_t *)((char *)l->base + 0x60000 + 64 * which);
}

static unsigned wait_for(struct rpmsg_linux_link *l, _Atomic uint32_t *c, uint32_t want)
{
    while (atomic_load(c) != want) {
        int r = l->ops.wait(l->plat, rpmsg_deadline(WAIT_MS));
        if (r != 0)
            return 1;
    }
    return 0;
}

/* The child: the other end of every exchange below. */
static int child_peer(void *p)
{
    struct oa_arg *a = p;
    struct rpmsg_linux_link l;
    if (oa_open(&l, a->shm, a->sock, a->listen, WAIT_MS) != 0)
        return 1;
    if (l.size != RPMSG_LINUX_OPENAMP_SHM_SIZE)
        return 2;
    if (rpmsg_linux_peer_pid(&l) != getppid())
        return 3;
    if (a->burst) {
        for (uint32_t k = 1; k <= a->rounds; k++) {
            atomic_store(ctr(&l, 1), k);
            if (l.ops.notify(l.plat, 1) != 0)
                return 4;
        }
    } else {
        for (uint32_t k = 1; k <= a->rounds; k++) {
            if (wait_for(&l, ctr(&l, 0), k))
                return 5;
            atomic_store(ctr(&l, 1), k);
            if (l.ops.notify(l.plat, 2) != 0)
                return 6;
        }
    }
    /* Stay until the parent has seen everything. */
    if (wait_for(&l, ctr(&l, 2), 1))
        return 7;
    rpmsg_linux_close(&l);
    return 0;
}

static void exchange(const char *sock, bool parent_listens, bool burst, uint32_t rounds)
{
    char shm[64];
    ph_shm_name(shm, sizeof(shm));
    struct oa_arg a = { shm, sock, !parent_listens, rounds, burst };
    pid_t pid = ph_fork(child_peer, &a);
    assert_true(pid > 0);
    struct rpmsg_linux_link l;
    assert_int_equal(oa_open(&l, shm, sock, parent_listens, WAIT_MS), 0);
    assert_int_equal(l.size, RPMSG_LINUX_OPENAMP_SHM_SIZE);
    assert_int_equal(rpmsg_linux_peer_pid(&l), pid);
    assert_int_equal(l.ops.peer_alive(l.plat), 0);
    if (burst) {
        assert_int_equal(wait_for(&l, ctr(&l, 1), rounds), 0);
    } else {
        uint32_t done = 0;
        for (uint32_t k = 1; k <= rounds; k++) {
            atomic_store(ctr(&l, 0), k);
            assert_int_equal(l.ops.notify(l.plat, 1), 0);
            if (wait_for(&l, ctr(&l, 1), k))
                break;
            done++;
        }
        assert_int_equal(done, rounds);
    }
    /* Both sides are past open and the peer has kicked (so it has the
     * region mapped): neither name may remain. The listener keeps the shm
     * name until that first kick, the connector drops it once connected. */
    assert_false(ph_shm_exists(shm));
    if (sock[0] != '@')
        assert_false(ph_path_exists(sock));
    atomic_store(ctr(&l, 2), 1);
    assert_int_equal(l.ops.notify(l.plat, 1), 0);
    assert_int_equal(ph_join(pid), 0);
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_kick_parent_listens(void **state)
{
    (void)state;
    char sock[96];
    exchange(ph_sock_path(sock, sizeof(sock)), true, false, 2000);
}

static void test_kick_child_listens(void **state)
{
    (void)state;
    char sock[96];
    exchange(ph_sock_path(sock, sizeof(sock)), false, false, 2000);
}

static void test_kick_burst_not_lost(void **state)
{
    (void)state;
    char sock[96];
    /* 50000 one-byte kicks overflow the socket buffer: extra ones may be dropped, the last never. */
    exchange(ph_sock_path(sock, sizeof(sock)), true, true, 50000);
    exchange(ph_sock_path(sock, sizeof(sock)), false, true, 50000);
}

static void test_kick_abstract(void **state)
{
    (void)state;
    char sock[96];
    snprintf(sock, sizeof(sock), "@rpmsg-test-%d-abstract", (int)getpid());
    exchange(sock, true, false, 500);
    exchange(sock, false, false, 500);
}

static int bound_socket(const char *path, bool do_listen)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        return -1;
    if (do_listen && listen(fd, 1) < 0)
        return -1;
    return fd;
}

static void test_stale_socket_replaced(void **state)
{
    (void)state;
    char sock[96];
    ph_sock_path(sock, sizeof(sock));
    /* A listener that crashed leaves its socket file behind. */
    int fd = bound_socket(sock, true);
    assert_true(fd >= 0);
    close(fd);
    assert_true(ph_path_exists(sock));
    exchange(sock, true, false, 10);
}

/* Child: listens on a path that a live listener (the parent) owns. */
static int child_listen_expect_busy(void *p)
{
    struct oa_arg *a = p;
    struct rpmsg_linux_link l;
    int r = oa_open(&l, a->shm, a->sock, true, 200);
    if (r == 0)
        rpmsg_linux_close(&l);
    return r == -EADDRINUSE ? 0 : 1;
}

static void test_live_listener_refused(void **state)
{
    (void)state;
    char sock[96], shm[64];
    ph_sock_path(sock, sizeof(sock));
    ph_shm_name(shm, sizeof(shm));
    int fd = bound_socket(sock, true);
    assert_true(fd >= 0);
    struct oa_arg a = { shm, sock, true, 0, false };
    pid_t pid = ph_fork(child_listen_expect_busy, &a);
    assert_int_equal(ph_join(pid), 0);
    assert_true(ph_path_exists(sock)); /* the live listener keeps its name */
    /* And no connection reached the live listener: probing must not connect. */
    int fl = fcntl(fd, F_GETFL);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
    assert_int_equal(accept(fd, NULL, NULL), -1);
    assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
    close(fd);
    unlink(sock);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_not_a_socket_untouched(void **state)
{
    (void)state;
    char sock[96], shm[64];
    ph_sock_path(sock, sizeof(sock));
    ph_shm_name(shm, sizeof(shm));
    int fd = open(sock, O_CREAT | O_WRONLY | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    struct rpmsg_linux_link l;
    assert_int_equal(oa_open(&l, shm, sock, true, 100), -EEXIST);
    assert_true(ph_path_exists(sock));
    assert_false(ph_shm_exists(shm));
    unlink(sock);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_nobody_comes(void **state)
{
    (void)state;
    char sock[96], shm[64];
    ph_sock_path(sock, sizeof(sock));
    ph_shm_name(shm, sizeof(shm));
    struct rpmsg_linux_link l;
    assert_int_equal(oa_open(&l, shm, sock, false, 50), -ETIMEDOUT);
    assert_null(l.plat);
    assert_int_equal(oa_open(&l, shm, sock, true, 50), -ETIMEDOUT);
    assert_false(ph_path_exists(sock));
    assert_false(ph_shm_exists(shm));
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char shm[64], longpath[200];
    ph_shm_name(shm, sizeof(shm));
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = '\0';
    struct rpmsg_linux_link l;
    assert_int_equal(oa_open(&l, shm, NULL, true, 50), -EINVAL);
    assert_int_equal(oa_open(&l, shm, "", true, 50), -EINVAL);
    assert_int_equal(oa_open(&l, shm, "@", true, 50), -EINVAL);
    assert_int_equal(oa_open(&l, shm, longpath, true, 50), -ENAMETOOLONG);
    assert_int_equal(oa_open(&l, NULL, "/tmp/x", true, 50), -EINVAL);
    assert_int_equal(oa_open(&l, "a/b", "/tmp/x", true, 50), -EINVAL);
    assert_int_equal(rpmsg_linux_open_openamp(&l, NULL), -EINVAL);
    assert_int_equal(ph_shm_leftovers(), 0);
}

static void test_keep_names(void **state)
{
    (void)state;
    char shm[64], sock[96];
    ph_shm_name(shm, sizeof(shm));
    snprintf(sock, sizeof(sock), "@rpmsg-test-%d-keep", (int)getpid());
    struct oa_arg a = { shm, sock, false, 0, true };
    pid_t pid = ph_fork(child_peer, &a);
    struct rpmsg_linux_openamp_config c = {
        .shm_name = shm, .sock_path = sock, .listen = true, .timeout_ms = WAIT_MS,
        .keep_names = true,
    };
    struct rpmsg_linux_link l;
    assert_int_equal(rpmsg_linux_open_openamp(&l, &c), 0);
    atomic_store(ctr(&l, 2), 1);
    assert_int_equal(l.ops.notify(l.plat, 1), 0);
    assert_int_equal(ph_join(pid), 0);
    /* The child unlinked it (it does not keep names); a keeper's close leaves any name alone. */
    rpmsg_linux_close(&l);
    assert_int_equal(ph_shm_leftovers(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kick_parent_listens),
        cmocka_unit_test(test_kick_child_listens),
        cmocka_unit_test(test_kick_burst_not_lost),
        cmocka_unit_test(test_kick_abstract),
        cmocka_unit_test(test_stale_socket_replaced),
        cmocka_unit_test(test_live_listener_refused),
        cmocka_unit_test(test_not_a_socket_untouched),
        cmocka_unit_test(test_nobody_comes),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_keep_names),
    };
    ph_init();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
