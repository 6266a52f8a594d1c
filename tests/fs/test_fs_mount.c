/*
 * `rpmsg fs export` and `rpmsg fs mount` as two processes over a native
 * link, the mount used with plain system calls and with tar and git; then
 * the exporting process killed: calls on the mount fail with EIO instead of
 * hanging, and the mount can still be unmounted; killed in the middle of a
 * long read and started again: the read fails with EIO and the mount comes
 * back by itself (new opens work, the data compares equal). Skipped (with the reason)
 * where FUSE cannot be used: no /dev/fuse, or no right to mount.
 */
#include "fs_fixture.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>

static char base[128], exp_dir[192], mnt[192], link_name[64], bin[512];
static pid_t exporter, mounter;

static pid_t spawn(char *const argv[], const char *log)
{
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(bin, argv);
        _exit(127);
    }
    return pid;
}

/* Waits for pid to exit within ms; kills it if it does not. Its exit code or -1. */
static int reap(pid_t *pid, unsigned ms)
{
    if (*pid <= 0)
        return -1;
    int st = -1;
    for (unsigned t = 0; t < ms / 10; t++) {
        if (waitpid(*pid, &st, WNOHANG) == *pid) {
            *pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        }
        usleep(10000);
    }
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
    return -1;
}

static pid_t start_exporter(const char *log_name)
{
    char log[256];
    snprintf(log, sizeof(log), "%s/%s", base, log_name);
    char *ea[] = { "rpmsg", "fs", "export", "--link", link_name, "ex", exp_dir, NULL };
    return spawn(ea, log);
}

static bool mounted(void)
{
    struct stat a, b;
    return stat(mnt, &a) == 0 && stat(base, &b) == 0 && a.st_dev != b.st_dev;
}

static int setup(void **state)
{
    (void)state;
    int fd = open("/dev/fuse", O_RDWR);
    if (fd < 0) {
        print_message("skipped: /dev/fuse: %s\n", strerror(errno));
        skip();
    }
    close(fd);
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(bin, sizeof(bin), "%s/rpmsg", dir ? dir : ".");
    snprintf(base, sizeof(base), "/tmp/rpmsg-fsmnt-%d", (int)getpid());
    snprintf(exp_dir, sizeof(exp_dir), "%s/exp", base);
    snprintf(mnt, sizeof(mnt), "%s/mnt", base);
    snprintf(link_name, sizeof(link_name), "fsmnt%d", (int)getpid());
    fs_fix_rmtree(base);
    assert_int_equal(mkdir(base, 0755), 0);
    assert_int_equal(mkdir(exp_dir, 0755), 0);
    assert_int_equal(mkdir(mnt, 0755), 0);
    char log2[256];
    snprintf(log2, sizeof(log2), "%s/mount.log", base);
    exporter = start_exporter("export.log");
    char *ma[] = { "rpmsg", "fs", "mount", "--link", link_name, "ex", mnt, NULL };
    mounter = spawn(ma, log2);
    for (int t = 0; t < 2000 && !mounted(); t++) {
        if (waitpid(mounter, NULL, WNOHANG) == mounter) {
            mounter = 0;
            break;
        }
        usleep(10000);
    }
    if (!mounted()) {
        reap(&exporter, 0);
        reap(&mounter, 0);
        print_message("skipped: the mount did not come up (no right to mount?), see %s\n", log2);
        skip();
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (mounted())
        umount2(mnt, MNT_DETACH);
    reap(&mounter, 5000);
    reap(&exporter, 5000);
    fs_fix_rmtree(base);
    return 0;
}

static int sh(const char *fmt, ...)
{
    char cmd[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_use_the_mount(void **state)
{
    (void)state;
    char p[256], q[256];
    snprintf(p, sizeof(p), "%s/a.txt", mnt);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fputs("through the mount", fp);
    assert_int_equal(fclose(fp), 0);
    snprintf(q, sizeof(q), "%s/a.txt", exp_dir);
    struct stat st;
    assert_int_equal(stat(q, &st), 0);
    assert_int_equal(st.st_size, 17);
    /* Editor-style save: write a temp file, fsync, rename over the old one. */
    snprintf(p, sizeof(p), "%s/a.txt.tmp", mnt);
    int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "v2", 2), 2);
    assert_int_equal(fsync(fd), 0);
    assert_int_equal(close(fd), 0);
    snprintf(q, sizeof(q), "%s/a.txt", mnt);
    assert_int_equal(rename(p, q), 0);
    assert_int_equal(stat(q, &st), 0);
    assert_int_equal(st.st_size, 2);
    /* Errors come back as the host's errno values. */
    snprintf(p, sizeof(p), "%s/missing", mnt);
    assert_int_equal(stat(p, &st), -1);
    assert_int_equal(errno, ENOENT);
    snprintf(p, sizeof(p), "%s/d", mnt);
    assert_int_equal(mkdir(p, 0755), 0);
    assert_int_equal(mkdir(p, 0755), -1);
    assert_int_equal(errno, EEXIST);
    snprintf(q, sizeof(q), "%s/d/f", mnt);
    fp = fopen(q, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_int_equal(rmdir(p), -1);
    assert_int_equal(errno, ENOTEMPTY);
    /* Tools: a 3 MiB file copied in and compared, tar in and out, git. */
    assert_int_equal(sh("head -c 3145728 /dev/urandom > %s/r.bin && cp %s/r.bin %s/ && "
                        "cmp %s/r.bin %s/r.bin", base, base, mnt, base, exp_dir), 0);
    assert_int_equal(sh("tar -C %s -cf %s/t.tar d a.txt && mkdir %s/x && tar -C %s/x -xf %s/t.tar "
                        "&& cmp %s/x/a.txt %s/a.txt", mnt, base, mnt, mnt, base, exp_dir, mnt), 0);
    if (sh("command -v git >/dev/null") == 0)
        assert_int_equal(sh("cd %s && git init -q g && cd g && echo x > f && git add f && "
                            "git -c user.name=t -c user.email=t@t commit -qm m && "
                            "git log --oneline | grep -q m", mnt), 0);
    assert_int_equal(sh("ls -la %s > /dev/null && find %s -type f | grep -q d/f && df %s > /dev/null",
                        mnt, mnt, mnt), 0);
    assert_int_equal(sh("rm -rf %s/d %s/x && test ! -e %s/d", mnt, mnt, exp_dir), 0);
}

/* Waits (bounded) until a stat of a fresh name on the mount fails with EIO. */
static void expect_eio(void)
{
    char p[256];
    struct stat st;
    int r = 0, e = 0;
    for (int t = 0; t < 200; t++) {
        snprintf(p, sizeof(p), "%s/f%d", mnt, t); /* a new name: never cached */
        r = stat(p, &st);
        e = errno;
        if (r < 0 && e == EIO)
            break;
        usleep(50000);
    }
    assert_int_equal(r, -1);
    assert_int_equal(e, EIO);
}

static void test_server_killed_mid_read_restarts(void **state)
{
    (void)state;
    char big[256], src[256], copy[256];
    snprintf(big, sizeof(big), "%s/big", exp_dir);
    snprintf(src, sizeof(src), "%s/big", mnt);
    snprintf(copy, sizeof(copy), "%s/copy", base);
    /* 16 MiB: a read still streaming when the server dies. */
    assert_int_equal(sh("head -c 16777216 /dev/urandom > %s", big), 0);
    pid_t reader = fork();
    if (reader == 0) {
        execlp("cp", "cp", src, copy, (char *)NULL);
        _exit(127);
    }
    struct stat st;
    for (int t = 0; t < 4000; t++) {
        if (stat(copy, &st) == 0 && st.st_size > 0)
            break;
        usleep(5000);
    }
    kill(exporter, SIGKILL);
    reap(&exporter, 5000);
    /* The read ends (EIO: cp exits 1; 0 if it had finished), never hangs. */
    int rc = reap(&reader, 60000);
    assert_true(rc == 0 || rc == 1);
    if (rc == 0)
        print_message("note: the copy had finished before the kill\n");
    expect_eio();
    /* The server starts again: the mount comes back by itself. */
    exporter = start_exporter("export2.log");
    int r = -1;
    for (int t = 0; t < 600 && r; t++) {
        r = stat(src, &st);
        if (r)
            usleep(50000);
    }
    assert_int_equal(r, 0);
    assert_int_equal(sh("cp %s %s && cmp %s %s", src, copy, big, copy), 0);
    assert_int_equal(sh("echo again > %s/after && grep -q again %s/after", mnt, exp_dir), 0);
}

static void test_lost_server_gives_eio(void **state)
{
    (void)state;
    char p[256];
    snprintf(p, sizeof(p), "%s/f", exp_dir);
    FILE *fp = fopen(p, "w");
    assert_non_null(fp);
    fclose(fp);
    snprintf(p, sizeof(p), "%s/f", mnt);
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    kill(exporter, SIGKILL);
    reap(&exporter, 5000);
    /* Once the link's loss is seen, calls fail with EIO; none hangs. */
    expect_eio();
    assert_int_equal(umount2(mnt, 0), 0);
    assert_int_equal(reap(&mounter, 10000), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_use_the_mount, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lost_server_gives_eio, setup, teardown),
        cmocka_unit_test_setup_teardown(test_server_killed_mid_read_restarts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
