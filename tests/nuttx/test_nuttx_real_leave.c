/*
 * Our slave leaving cleanly while the real rpserver has more endpoints
 * towards it than it has TX buffers (8). On our NEED_RESET the server tears
 * its session down and sends one name-service destroy per endpoint from its
 * work queue, which cannot wait for its partner to return buffers: unless
 * our leaving side keeps giving them back, it asserts ("Panic remote cpu
 * proxy"). rpserver already has 8 endpoints of its own (rtc, ttyproxy,
 * uinput x3, sensor, ping, test); each of our rpmsgfs clients adds one (its
 * rpmsgfs server binds to our announcement).
 *
 * The leave here is the link's close with the clients still bound, as in a
 * program that exits: the clients are not touched afterwards (their device
 * is gone). Then a slave of ours comes back on the same server, reads
 * /proc/version through it, and leaves again; the console answers.
 */
#include "nx_real.h"

#include "rpmsg/rpmsg_fs.h"
#include "rpmsg/rpmsg_link.h"

#define CLIENTS 12 /* + rpserver's own 8: well past its 8 TX buffers */

static struct rpmsg_link *lnk;
static struct rpmsg_fs_client clients[CLIENTS];

static void link_up(void)
{
    lnk = nx_slave_up();
}

static void leave(void)
{
    if (lnk)
        rpmsg_link_close(lnk);
    lnk = NULL;
}

static void client(struct rpmsg_fs_client *c)
{
    memset(c, 0, sizeof(*c));
    int r = rpmsg_fs_client_init(c, rpmsg_link_device(lnk), "/proc", NULL);
    if (r)
        dump("rpserver", &procs[0]);
    assert_int_equal(r, 0);
}

static void read_version(struct rpmsg_fs_client *c)
{
    int fd = rpmsg_fs_open(c, "version", O_RDONLY, 0);
    assert_true(fd >= 0);
    char buf[512] = { 0 };
    assert_true(rpmsg_fs_read(c, fd, buf, sizeof(buf) - 1) > 0);
    assert_non_null(strstr(buf, "NuttX version"));
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
}

/* The server still runs, never asserted, and its console answers. */
static void server_fine(struct proc *nx)
{
    no_panic(nx);
    assert_true(console_cmd(nx, "uname -a\n", "NuttX", 30000));
    no_panic(nx);
}

/* Lets the server finish a teardown it may be in (it polls every 1 ms). */
static void settle(struct proc *nx)
{
    for (int t = 0; t < 1000 && nx->pid > 0; t += 100) {
        if (waitpid(nx->pid, NULL, WNOHANG) == nx->pid)
            nx->pid = 0;
        usleep(100000);
    }
}

static void test_leave_with_many_server_endpoints(void **st)
{
    (void)st;
    if (!have_pair())
        skip();
    struct proc *nx = &procs[0];
    start_server(nx);

    for (int round = 0; round < 2; round++) {
        link_up();
        for (int i = 0; i < CLIENTS; i++)
            client(&clients[i]);
        read_version(&clients[CLIENTS - 1]);
        leave(); /* clean, with 8 + CLIENTS server endpoints towards us */
        memset(clients, 0, sizeof(clients));
        settle(nx);
        assert_true(nx->pid > 0);
        server_fine(nx);
    }

    /* Back again: one client, then a leave with only the server's own. */
    link_up();
    client(&clients[0]);
    read_version(&clients[0]);
    rpmsg_fs_client_deinit(&clients[0]);
    leave();
    settle(nx);
    server_fine(nx);

    say(nx, "poweroff\n");
    finish(nx, 10000);
}

static int teardown(void **st)
{
    (void)st;
    leave();
    nx_kill_all();
    return 0;
}

int main(void)
{
    nx_real_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_leave_with_many_server_endpoints, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
