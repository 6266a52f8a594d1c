/*
 * Many clients: several clients on one link and threads sharing one client,
 * each with its own files, checked by content; a client's link going down
 * releases its session and files on the server, and calls then fail instead
 * of hanging.
 */
#include "fs_fixture.h"

#include <dirent.h>

#define NCLIENTS 4
#define NTHREADS 12 /* more than the client has slots */
#define ROUNDS 20

struct worker {
    struct rpmsg_fs_client *c;
    int id;
    struct tu_thread t;
};

/* Writes, reads back and checks a file of its own, ROUNDS times. */
static void *work(void *arg)
{
    struct worker *w = arg;
    char name[32], buf[3000], back[3000];
    snprintf(name, sizeof(name), "w%d", w->id);
    for (int r = 0; r < ROUNDS; r++) {
        size_t n = 100 + (size_t)((w->id * 977 + r * 131) % 2800);
        memset(buf, 'A' + (w->id + r) % 26, n);
        int fd = rpmsg_fs_open(w->c, name, O_RDWR | O_CREAT | O_TRUNC, 0644);
        TU_CHECK(fd >= 0);
        if (fd < 0)
            return NULL;
        TU_CHECK(rpmsg_fs_write(w->c, fd, buf, n) == (ssize_t)n);
        TU_CHECK(rpmsg_fs_pread(w->c, fd, back, sizeof(back), 0) == (ssize_t)n);
        TU_CHECK(memcmp(buf, back, n) == 0);
        struct rpmsg_fs_stat st;
        TU_CHECK(rpmsg_fs_fstat(w->c, fd, &st) == 0 && st.size == (int64_t)n);
        TU_CHECK(rpmsg_fs_close(w->c, fd) == 0);
    }
    return NULL;
}

static void run_workers(struct rpmsg_fs_client **cs, int n)
{
    struct worker w[NCLIENTS * NTHREADS];
    for (int i = 0; i < n; i++) {
        w[i] = (struct worker){ .c = cs[i], .id = i };
        assert_int_equal(tu_thread_start(&w[i].t, work, &w[i]), 0);
    }
    for (int i = 0; i < n; i++)
        assert_int_equal(tu_thread_join(&w[i].t, 120000), 0);
    TU_ASSERT_NO_THREAD_FAILURES();
}

static void test_many_clients(void **state)
{
    (void)state;
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    static struct rpmsg_fs_client more[NCLIENTS - 1];
    struct rpmsg_fs_client *cs[NCLIENTS] = { &f.cli };
    for (int i = 1; i < NCLIENTS; i++) {
        /* Every other one in NuttX's format: both kinds at once. */
        struct rpmsg_fs_client_config cc = { .nuttx_only = i % 2 };
        assert_int_equal(rpmsg_fs_client_init(&more[i - 1], f.pair.a, "/ex", &cc), 0);
        cs[i] = &more[i - 1];
    }
    assert_int_equal(rpmsg_fs_server_clients(f.srv), NCLIENTS);
    run_workers(cs, NCLIENTS);
    int h = rpmsg_fs_opendir(&f.cli, "");
    assert_true(h >= 1);
    struct rpmsg_fs_dirent e;
    int n = 0;
    while (rpmsg_fs_readdir(&f.cli, h, &e) == 1)
        n++;
    assert_int_equal(n, NCLIENTS);
    assert_int_equal(rpmsg_fs_closedir(&f.cli, h), 0);
    for (int i = 1; i < NCLIENTS; i++)
        rpmsg_fs_client_deinit(&more[i - 1]);
    fs_fix_close(&f);
}

static void test_threads_share_a_client(void **state)
{
    (void)state;
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    struct rpmsg_fs_client *cs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        cs[i] = &f.cli;
    run_workers(cs, NTHREADS);
    fs_fix_close(&f);
}

static unsigned open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    unsigned n = 0;
    while (d && readdir(d))
        n++;
    if (d)
        closedir(d);
    return n;
}

static bool fds_are(void *n)
{
    return open_fds() == *(unsigned *)n;
}

static bool no_clients(void *srv)
{
    return rpmsg_fs_server_clients(srv) == 0;
}

static void test_link_down_releases(void **state)
{
    (void)state;
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    unsigned before = open_fds();
    int fds[10];
    for (int i = 0; i < 10; i++) {
        char name[16];
        snprintf(name, sizeof(name), "f%d", i);
        fds[i] = rpmsg_fs_open(&f.cli, name, O_RDWR | O_CREAT, 0644);
        assert_true(fds[i] >= 0);
    }
    int h = rpmsg_fs_opendir(&f.cli, "");
    assert_true(h >= 1);
    assert_int_equal(open_fds(), before + 11);
    assert_int_equal(rpmsg_loopback_link_down(f.pair.lb), 0);
    assert_int_equal(tu_wait_until(no_clients, f.srv, TU_TIMEOUT_MS), 0);
    /* The server closed them all: where a request's end still held the
     * session (its RX thread descheduled after the answer), that thread
     * closes them, after the session already counts as gone. */
    assert_int_equal(tu_wait_until(fds_are, &before, TU_TIMEOUT_MS), 0);
    /* A call on the dead link fails: it does not hang. */
    char b[4];
    assert_int_equal(rpmsg_fs_read(&f.cli, fds[0], b, sizeof(b)), -ENOTCONN);
    fs_fix_close(&f);
}

static bool epoch_moved(void *arg)
{
    struct fs_fix *f = arg;
    return rpmsg_fs_client_epoch(&f->cli) != 0;
}

#define GONE_BUFS 16

static bool pool_full(void *arg)
{
    struct fs_fix *f = arg;
    return rpmsg_loopback_free_tx(f->pair.lb, f->pair.a) == GONE_BUFS;
}

/*
 * The server's endpoint gone, the link still up: every call fails with
 * -ENOTCONN at once, and no transmit buffer is lost on the way (the client
 * looks at its binding only after a loss, and a send that finds it unbound
 * gives its buffer back): three times the pool's worth of calls would
 * leave none if one leaked per call.
 */
static void test_server_gone_keeps_buffers(void **state)
{
    (void)state;
    struct rpmsg_loopback_config lc = { .num_bufs = GONE_BUFS };
    struct fs_fix f;
    fs_fix_open(&f, &lc, NULL, NULL, false);
    int fd = rpmsg_fs_open(&f.cli, "w", O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_client_epoch(&f.cli), 0);
    rpmsg_fs_server_destroy(f.srv); /* its endpoints, hence NS DESTROY */
    f.srv = NULL;
    assert_int_equal(tu_wait_until(epoch_moved, &f, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(pool_full, &f, TU_TIMEOUT_MS), 0);
    static uint8_t buf[4000];
    for (int i = 0; i < 3 * GONE_BUFS; i++) {
        assert_int_equal(rpmsg_fs_write(&f.cli, fd, buf, sizeof(buf)), -ENOTCONN);
        assert_int_equal(rpmsg_fs_close(&f.cli, fd), -ENOTCONN);
    }
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(&f.cli, "w", &st), -ENOTCONN);
    assert_int_equal(rpmsg_loopback_free_tx(f.pair.lb, f.pair.a), GONE_BUFS);
    fs_fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_clients),
        cmocka_unit_test(test_threads_share_a_client),
        cmocka_unit_test(test_link_down_releases),
        cmocka_unit_test(test_server_gone_keeps_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
