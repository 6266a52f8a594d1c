/*
 * `rpmsg fs endpoints` against `rpmsg echo`, both the real binary, over a
 * native link: the tree shows the echo's cpu and service; from a shell,
 * `echo hello > MNT/B/rpmsg-echo` then `cat` (or `read`) gets the answer;
 * from C, O_NONBLOCK reads say EAGAIN, poll wakes for the answer, and each
 * read returns one message, never two joined; when the echo ends an open
 * file reads EOF and the cpu leaves the tree, and a new echo is found on the
 * reopened link. Skipped (with the reason) without /dev/fuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <poll.h>
#include <sys/mount.h>

#include "../sim/sim_helpers.h"
#include "fuse_check.h"

static char base[96], mnt[128], svc[192], link_name[64], epv_log[128], echo_log[128];
static pid_t echo_pid, epv_pid;
static bool up;

static void rmtree(void)
{
    char cmd[160];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", base);
    if (system(cmd)) {
    }
}

static bool exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static pid_t start_echo(void);

static int setup(void **state)
{
    (void)state;
    snprintf(base, sizeof(base), "/tmp/rpmsg-epv-%d", (int)getpid());
    snprintf(mnt, sizeof(mnt), "%s/mnt", base);
    snprintf(svc, sizeof(svc), "%s/B/rpmsg-echo", mnt);
    snprintf(epv_log, sizeof(epv_log), "%s/endpoints.log", base);
    snprintf(echo_log, sizeof(echo_log), "%s/echo.log", base);
    snprintf(link_name, sizeof(link_name), "epv%d", (int)getpid());
    rmtree();
    if (mkdir(base, 0755) || mkdir(mnt, 0755))
        return -1;
    echo_pid = start_echo();
    char *fa[] = { (char *)sim_bin(), "fs", "endpoints", "--link", link_name, mnt, NULL };
    epv_pid = sim_spawn(fa, epv_log);
    if (echo_pid <= 0 || epv_pid <= 0)
        return -1;
    /* The mount, then the announcement: both within bounded waits. */
    for (int t = 0; t < 3000 && !exists(svc); t++) {
        if (waitpid(epv_pid, NULL, WNOHANG) == epv_pid) {
            sim_track(epv_pid, false);
            epv_pid = 0;
            break;
        }
        usleep(10000);
    }
    up = exists(svc);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    int rc = 0;
    if (tu_is_mounted(mnt, base)) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "fusermount3 -u '%s'", mnt);
        if (system(cmd))
            umount2(mnt, MNT_DETACH);
    }
    /* Unmounted, the tool exits 0 by itself; the echo ends on SIGTERM. */
    if (epv_pid > 0 && (rc = sim_wait(epv_pid, 20)) != 0) {
        char log[4096];
        sim_read(epv_log, log, sizeof(log));
        fprintf(stderr, "rpmsg fs endpoints exited %d:\n%s\n", rc, log);
    }
    if (echo_pid > 0) {
        kill(echo_pid, SIGTERM);
        sim_wait(echo_pid, 20);
    }
    rmtree();
    return rc == 0 ? 0 : -1;
}

static void need_mount(void)
{
    tu_skip_without_fuse();
    if (!up) {
        char log[4096];
        sim_read(epv_log, log, sizeof(log));
        print_message("skipped: the endpoint view did not come up (no right to mount?):\n%s\n",
                      log);
        skip();
    }
}

static int sh(const char *script)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "cd '%s' && %s", mnt, script);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void tree_shows_cpus_and_services(void **state)
{
    (void)state;
    need_mount();
    assert_int_equal(sh("test \"$(ls)\" = B"), 0);
    assert_int_equal(sh("ls B | grep -qx rpmsg-echo"), 0);
    assert_int_equal(sh("test -f B/rpmsg-echo && test -d B"), 0);
    assert_int_equal(open("/nonexistent-dir-of-the-view", O_RDONLY) < 0, 1);
    char path[256];
    snprintf(path, sizeof(path), "%s/B/no-such-service", mnt);
    assert_int_equal(open(path, O_RDWR), -1);
    assert_int_equal(errno, ENOENT);
}

/* The brief's shell use: write with echo, read the answer with cat. */
static void shell_echo_then_cat(void **state)
{
    (void)state;
    need_mount();
    /* cat prints each answer as it comes and waits for more: timeout ends it. */
    assert_int_equal(sh("echo hello > B/rpmsg-echo; test \"$(timeout 3 cat B/rpmsg-echo)\" = hello"), 0);
    /* The shell's read takes a byte at a time: the message is not lost. */
    assert_int_equal(sh("echo 'two words' > B/rpmsg-echo; read -r line < B/rpmsg-echo; "
                        "test \"$line\" = 'two words'"), 0);
    /* One descriptor both ways. */
    assert_int_equal(sh("exec 3<>B/rpmsg-echo; echo third >&3; read -r l <&3; test \"$l\" = third"),
                     0);
}

static void nonblocking_poll_and_boundaries(void **state)
{
    (void)state;
    need_mount();
    int fd = open(svc, O_RDWR | O_NONBLOCK);
    assert_true(fd >= 0);
    char buf[256];
    assert_int_equal(read(fd, buf, sizeof(buf)), -1);
    assert_int_equal(errno, EAGAIN);
    struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_int_equal(pf.revents, POLLOUT);
    assert_int_equal(write(fd, "a", 1), 1);
    assert_int_equal(write(fd, "bb", 2), 2);
    assert_int_equal(write(fd, "ccc", 3), 3);
    /* Each read is one message, in order: 1, 2, 3 bytes. */
    for (int i = 1; i <= 3; i++) {
        pf.events = POLLIN;
        pf.revents = 0;
        assert_int_equal(poll(&pf, 1, 20000), 1);
        assert_true(pf.revents & POLLIN);
        ssize_t n = read(fd, buf, sizeof(buf));
        assert_int_equal(n, i);
        for (int k = 0; k < i; k++)
            assert_int_equal(buf[k], "abc"[i - 1]);
    }
    assert_int_equal(read(fd, buf, sizeof(buf)), -1);
    assert_int_equal(errno, EAGAIN);
    close(fd);
}

static pid_t start_echo(void)
{
    char *ea[] = { (char *)sim_bin(), "echo", "--link", link_name, "--cpu", "B", "--name",
                   "rpmsg-echo", NULL };
    return sim_spawn(ea, echo_log);
}

/* The echo ends: an open file reads EOF, writes EPIPE, polls HUP and the
 * cpu leaves the tree; a new echo is found again on the reopened link. */
static void peer_gone_then_back(void **state)
{
    (void)state;
    need_mount();
    int fd = open(svc, O_RDWR);
    assert_true(fd >= 0);
    kill(echo_pid, SIGTERM);
    assert_int_equal(sim_wait(echo_pid, 20), 0);
    echo_pid = 0;
    char dir[160];
    snprintf(dir, sizeof(dir), "%s/B", mnt);
    for (int t = 0; t < 2000 && exists(dir); t++)
        usleep(10000);
    assert_false(exists(dir));
    char buf[64];
    assert_int_equal(read(fd, buf, sizeof(buf)), 0);
    assert_int_equal(write(fd, "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    struct pollfd pf = { .fd = fd, .events = POLLIN | POLLOUT };
    assert_int_equal(poll(&pf, 1, 0), 1);
    assert_true(pf.revents & POLLHUP);
    struct stat st;
    assert_int_equal(fstat(fd, &st), 0); /* what `cat` does first */
    close(fd);
    echo_pid = start_echo();
    assert_true(echo_pid > 0);
    for (int t = 0; t < 3000 && !exists(svc); t++)
        usleep(10000);
    assert_true(exists(svc));
    assert_int_equal(sh("echo back > B/rpmsg-echo; read -r l < B/rpmsg-echo; test \"$l\" = back"),
                     0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tree_shows_cpus_and_services),
        cmocka_unit_test(shell_echo_then_cat),
        cmocka_unit_test(nonblocking_poll_and_boundaries),
        cmocka_unit_test(peer_gone_then_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
