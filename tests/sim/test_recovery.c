/*
 * A running sim driven through its control socket: cores killed and
 * restarted, a hop cut, and the demo afterwards still passes every check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_helpers.h"

static char out[SIM_OUT_MAX], ans[SIM_OUT_MAX];
static char sock[108], file[64];

/* demo: --demo-wait (the demo runs on `go`), else a plain run. */
static pid_t start_mode(const char *example, const char *count, bool demo)
{
    snprintf(sock, sizeof(sock), "/tmp/rpmsg-simtest-%d.sock", (int)getpid());
    snprintf(file, sizeof(file), "/tmp/rpmsg-simtest-%d-bg.out", (int)getpid());
    char *argv[] = { (char *)sim_bin(), "sim", (char *)sim_example(example),
                     "--ctl", sock, "--count", (char *)count, "--pings", "20",
                     "--interval", "0", demo ? "--demo-wait" : NULL, NULL };
    pid_t pid = sim_spawn(argv, file);
    assert_true(pid > 0);
    for (int i = 0; i < 500 && access(sock, F_OK); i++)
        usleep(10000);
    return pid;
}

/* Runs after each test, passed or failed. */
static int cleanup(void **state)
{
    (void)state;
    sim_kill_children();
    unlink(sock);
    unlink(file);
    return 0;
}

static pid_t start(const char *example, const char *count)
{
    return start_mode(example, count, true);
}

static void finish(pid_t pid)
{
    assert_int_equal(sim_ctl(sock, "go", NULL, ans, sizeof(ans)), 0);
    int rc = sim_wait(pid, 40);
    sim_read(file, out, sizeof(out));
    unlink(file);
    if (rc != 0)
        fprintf(stderr, "%s\n", out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "0 sequence errors, 0 checksum errors"));
    assert_non_null(strstr(out, "result: OK"));
    assert_int_equal(sim_leftovers(pid), 0);
    assert_int_equal(access(sock, F_OK), -1); /* socket removed */
}

static void kill_and_restart(void **state)
{
    (void)state;
    pid_t pid = start("heterogeneous.ini", "300");
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    /* B dies: the big core loses its route to it, A reopens its VirtIO link. */
    assert_int_equal(sim_ctl(sock, "kill", "B", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "B:DEAD", 5));
    assert_true(sim_status_has(sock, "big:running(far 0", 10));
    assert_true(sim_status_has(sock, "reopened 1", 5));
    assert_int_equal(sim_ctl(sock, "restart", "B", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    /* The hub itself dies and comes back: both its links recover. */
    assert_int_equal(sim_ctl(sock, "restart", "A", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "A:running(far 0, echoed 0, hub)[restarts 1]", 5));
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    /* Bad commands are answered, not fatal. */
    assert_int_not_equal(sim_ctl(sock, "kill", "nobody", ans, sizeof(ans)), 0);
    assert_non_null(strstr(ans, "error: no core 'nobody'"));
    finish(pid);
    assert_non_null(strstr(out, "300 echoed back"));
}

/* Hub A killed -9 and left dead: nothing tells the big core, which must
 * notice the silence on spi0 by itself (the port's peer timeout), take the
 * link down and lose its route to B; A started again, both come back. */
static void hub_dies_silently(void **state)
{
    (void)state;
    pid_t pid = start("heterogeneous.ini", "300");
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    assert_int_equal(sim_ctl(sock, "kill", "A", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "A:DEAD", 5));
    assert_true(sim_status_has(sock, "spi0       spi    | big: down", 10));
    assert_true(sim_status_has(sock, "big:running(far 0", 10));
    assert_int_equal(sim_ctl(sock, "start", "A", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "spi0       spi    | big: up", 10));
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    finish(pid);
    assert_non_null(strstr(out, "300 echoed back"));
}

/* Homogeneous: no hubs; C's two VirtIO peers reopen their links when it dies
 * and find it again when it comes back. */
static void homogeneous_restart(void **state)
{
    (void)state;
    pid_t pid = start("homogeneous.ini", "500");
    assert_true(sim_status_has(sock, "bc         virtio | B: up", 10));
    assert_int_equal(sim_ctl(sock, "kill", "C", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "C:DEAD", 5));
    assert_true(sim_status_has(sock, "bc         virtio | B: down", 5));
    assert_int_equal(sim_ctl(sock, "start", "C", ans, sizeof(ans)), 0);
    assert_true(sim_status_has(sock, "bc         virtio | B: up", 10));
    assert_true(sim_status_has(sock, "ca         virtio | C: up", 10));
    finish(pid);
    assert_non_null(strstr(out, "route:  B -virtio-> C  (1 hop, 0 hubs)"));
    assert_non_null(strstr(out, "500 echoed back"));
}

static void hop_cut(void **state)
{
    (void)state;
    pid_t pid = start("heterogeneous.ini", "3000");
    assert_true(sim_status_has(sock, "big:running(far 1", 10));
    /* The SPI hop loses every byte for a while, then comes back: the port
     * protocol retransmits, the data arrives once and in order. */
    assert_int_equal(sim_ctl(sock, "cut", "spi0 400", ans, sizeof(ans)), 0);
    assert_int_equal(sim_ctl(sock, "go", NULL, ans, sizeof(ans)), 0);
    usleep(100000);
    assert_int_equal(sim_ctl(sock, "cut", "spi0 300", ans, sizeof(ans)), 0);
    finish(pid);
    assert_non_null(strstr(out, "3000 echoed back"));
}

/* Processes whose command line mentions the control socket: the sim and
 * its forked cores. */
static int processes_with_sock(void)
{
    int n = 0;
    DIR *d = opendir("/proc");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[300], cmd[4096];
        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        for (size_t i = 0; i < len; i++)
            if (!cmd[i])
                cmd[i] = ' ';
        cmd[len] = '\0';
        n += strstr(cmd, sock) != NULL;
    }
    if (d)
        closedir(d);
    return n;
}

/* SIGTERM (as Ctrl-C) after a core was killed: everything goes. */
static void signal_stops_cleanly(void **state)
{
    (void)state;
    pid_t pid = start_mode("chain4.ini", "100", false);
    assert_true(sim_status_has(sock, "big:running(far 2", 10));
    /* The sim, four cores and the UART line's process. */
    assert_int_equal(processes_with_sock(), 6);
    assert_int_equal(sim_ctl(sock, "kill", "A", ans, sizeof(ans)), 0);
    assert_int_equal(processes_with_sock(), 5);
    /* The UART hop of the chain can be cut too. */
    assert_int_equal(sim_ctl(sock, "cut", "uart0 200", ans, sizeof(ans)), 0);
    assert_int_not_equal(sim_ctl(sock, "cut", "vq0 200", ans, sizeof(ans)), 0);
    assert_int_equal(kill(pid, SIGTERM), 0);
    int rc = sim_wait(pid, 20);
    sim_read(file, out, sizeof(out));
    unlink(file);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "rpmsg sim: stopped by signal 15"));
    assert_int_equal(processes_with_sock(), 0);
    assert_int_equal(sim_leftovers(pid), 0);
    assert_int_equal(access(sock, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(kill_and_restart, cleanup),
        cmocka_unit_test_teardown(hub_dies_silently, cleanup),
        cmocka_unit_test_teardown(homogeneous_restart, cleanup),
        cmocka_unit_test_teardown(hop_cut, cleanup),
        cmocka_unit_test_teardown(signal_stops_cleanly, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
