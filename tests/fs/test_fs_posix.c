/*
 * What a POSIX mount needs from the API, with a server of ours over
 * 512-byte buffers: paths up to PATH_MAX in pieces (a 4,000-byte path of
 * nested directories), symbolic and hard links, lstat/readlink, and new
 * files made as the caller asks (mode & ~umask exactly, whatever the
 * server's umask; uid/gid when the server may give files away, i.e. root).
 * With NuttX's format the same long path is refused and links are -ENOSYS.
 */
#include "fs_fixture.h"

#include <limits.h>

static struct fs_fix fix;
static const struct rpmsg_loopback_config small_bufs = { .buf_size = 512, .num_bufs = 16 };

static int setup(void **state)
{
    (void)state;
    fs_fix_open(&fix, &small_bufs, NULL, NULL, false);
    assert_true(rpmsg_fs_client_extended(&fix.cli));
    return 0;
}

static int setup_nuttx(void **state)
{
    (void)state;
    struct rpmsg_fs_client_config cc = { .nuttx_only = true };
    fs_fix_open(&fix, &small_bufs, NULL, &cc, false);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_fix_close(&fix);
    return 0;
}

/* "d000/d001/..." of nested 4-character directories, at least len bytes. */
static void deep_path(char *p, size_t len)
{
    size_t n = 0;
    for (unsigned i = 0; n + 5 < len; i++)
        n += (size_t)sprintf(p + n, "%sd%03u", n ? "/" : "", i % 1000);
    p[n] = '\0';
}

/* mkdir -p through the client; each prefix of p in turn. */
static void mkdir_all(struct rpmsg_fs_client *c, char *p)
{
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        assert_int_equal(rpmsg_fs_mkdir(c, p, 0755), 0);
        *s = '/';
    }
    assert_int_equal(rpmsg_fs_mkdir(c, p, 0755), 0);
}

static void test_path_max(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    static char dir[4096], file[4096 + 16], file2[4096 + 16];
    deep_path(dir, 3990);
    mkdir_all(c, dir);
    snprintf(file, sizeof(file), "%s/f", dir);
    snprintf(file2, sizeof(file2), "%s/g", dir);
    assert_true(strlen(file) >= 3990 && strlen(file) < PATH_MAX);
    int fd = rpmsg_fs_open(c, file, O_WRONLY | O_CREAT | O_EXCL, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_write(c, fd, "deep", 4), 4);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(c, file, &st), 0);
    assert_int_equal(st.size, 4);
    /* Two long paths in one request. */
    assert_int_equal(rpmsg_fs_rename(c, file, file2), 0);
    assert_int_equal(rpmsg_fs_stat(c, file, &st), -ENOENT);
    /* On the server's disk, reached step by step (its own PATH_MAX is
     * counted from its root, longer than ours). */
    int dfd = open(fix.dir, O_PATH | O_DIRECTORY);
    assert_true(dfd >= 0);
    int here = openat(dfd, dir, O_PATH | O_DIRECTORY);
    assert_true(here >= 0);
    char buf[8] = { 0 };
    int g = openat(here, "g", O_RDONLY);
    assert_true(g >= 0);
    assert_int_equal(read(g, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "deep");
    close(g);
    close(here);
    close(dfd);
    /* Beyond PATH_MAX: refused by the client, nothing sent. */
    static char too_long[RPMSG_FS_PATH_MAX + 64];
    deep_path(too_long, RPMSG_FS_PATH_MAX + 10);
    assert_int_equal(rpmsg_fs_stat(c, too_long, &st), -ENAMETOOLONG);
    /* Short paths still go in one message, and work. */
    assert_int_equal(rpmsg_fs_stat(c, "d000", &st), 0);
    assert_true(S_ISDIR(st.mode));
}

static void test_path_max_nuttx_format(void **state)
{
    (void)state;
    static char dir[4096];
    deep_path(dir, 1000);
    struct rpmsg_fs_stat st;
    /* NuttX's format has one message per path: too long for 512 bytes. */
    assert_int_equal(rpmsg_fs_stat(&fix.cli, dir, &st), -ENAMETOOLONG);
    assert_int_equal(rpmsg_fs_symlink(&fix.cli, "a", "l", NULL), -ENOSYS);
    assert_int_equal(rpmsg_fs_link(&fix.cli, "a", "l"), -ENOSYS);
    char t[8];
    assert_int_equal(rpmsg_fs_readlink(&fix.cli, "l", t, sizeof(t)), -ENOSYS);
}

static void test_links(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    fs_fix_write_host(&fix, "a", "text");
    assert_int_equal(rpmsg_fs_symlink(c, "a", "s", NULL), 0);
    assert_int_equal(rpmsg_fs_symlink(c, "a", "s", NULL), -EEXIST);
    assert_int_equal(rpmsg_fs_symlink(c, "/outside/x", "dangling", NULL), 0);
    char t[64];
    assert_int_equal(rpmsg_fs_readlink(c, "s", t, sizeof(t)), 1);
    assert_string_equal(t, "a");
    assert_int_equal(rpmsg_fs_readlink(c, "dangling", t, 5), 4); /* truncated */
    assert_string_equal(t, "/out");
    assert_int_equal(rpmsg_fs_readlink(c, "a", t, sizeof(t)), -EINVAL);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_lstat(c, "s", &st), 0);
    assert_true(S_ISLNK(st.mode));
    assert_int_equal(rpmsg_fs_stat(c, "s", &st), 0);
    assert_true(S_ISREG(st.mode));
    assert_int_equal(st.size, 4);
    /* An absolute target is text on the server: never followed out. */
    assert_int_equal(rpmsg_fs_stat(c, "dangling", &st), -EACCES);
    assert_int_equal(rpmsg_fs_lstat(c, "dangling", &st), 0);
    char host[512];
    assert_int_equal(readlink(fs_fix_host(&fix, "dangling"), host, sizeof(host)), 10);
    /* Hard link: one inode, two names. */
    assert_int_equal(rpmsg_fs_link(c, "a", "h"), 0);
    assert_int_equal(rpmsg_fs_link(c, "a", "h"), -EEXIST);
    assert_int_equal(rpmsg_fs_link(c, "missing", "h2"), -ENOENT);
    struct rpmsg_fs_stat sa, sh;
    assert_int_equal(rpmsg_fs_stat(c, "a", &sa), 0);
    assert_int_equal(rpmsg_fs_stat(c, "h", &sh), 0);
    assert_true(sa.ino == sh.ino);
    assert_int_equal(sa.nlink, 2);
    /* O_CREAT through a dangling link inside the export creates its target. */
    assert_int_equal(rpmsg_fs_symlink(c, "target-to-be", "dl", NULL), 0);
    int fd = rpmsg_fs_open(c, "dl", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_write(c, fd, "t", 1), 1);
    rpmsg_fs_close(c, fd);
    assert_int_equal(rpmsg_fs_stat(c, "target-to-be", &st), 0);
    assert_int_equal(st.size, 1);
    /* Times of the link itself, not of its target. */
    struct timespec tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };
    assert_int_equal(rpmsg_fs_lutimens(c, "dangling", tv), 0);
    struct stat hs;
    assert_int_equal(lstat(fs_fix_host(&fix, "dangling"), &hs), 0);
    assert_int_equal(hs.st_mtim.tv_sec, 1000000000);
    assert_int_equal(rpmsg_fs_utimens(c, "dangling", tv), -EACCES); /* follows: out */
    assert_int_equal(rpmsg_fs_lutimens(c, "s", tv), 0);
    assert_int_equal(stat(fs_fix_host(&fix, "a"), &hs), 0);
    assert_true(hs.st_mtim.tv_sec != 1000000000); /* the target kept its time */
}

static mode_t host_mode(const char *rel)
{
    struct stat st;
    assert_int_equal(lstat(fs_fix_host(&fix, rel), &st), 0);
    return st.st_mode & 07777;
}

static void test_umask_and_mode(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    /* The server's process umask (022) must not reach the caller's files. */
    mode_t old = umask(022);
    struct rpmsg_fs_cred group = { getuid(), getgid(), 002 }, priv = { getuid(), getgid(), 077 };
    int fd = rpmsg_fs_open_as(c, "g", O_WRONLY | O_CREAT, 0666, &group);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(host_mode("g"), 0664);
    fd = rpmsg_fs_open_as(c, "p", O_WRONLY | O_CREAT | O_EXCL, 0666, &priv);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(host_mode("p"), 0600);
    assert_int_equal(rpmsg_fs_mkdir_as(c, "gd", 0777, &group), 0);
    assert_int_equal(host_mode("gd"), 0775);
    assert_int_equal(rpmsg_fs_mkdir_as(c, "pd", 0777, &priv), 0);
    assert_int_equal(host_mode("pd"), 0700);
    /* No cred: the mode exactly (as NuttX's own server makes it). */
    fd = rpmsg_fs_open(c, "n", O_WRONLY | O_CREAT, 0666);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(host_mode("n"), 0666);
    /* An existing file keeps its mode: O_CREAT without O_EXCL opens it. */
    assert_int_equal(chmod(fs_fix_host(&fix, "g"), 0640), 0);
    fd = rpmsg_fs_open_as(c, "g", O_WRONLY | O_CREAT, 0666, &priv);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(host_mode("g"), 0640);
    assert_int_equal(rpmsg_fs_open_as(c, "g", O_WRONLY | O_CREAT | O_EXCL, 0666, &priv),
                     -EEXIST);
    /* Setgid directories: the bit stays on subdirectories (as mkdir does). */
    assert_int_equal(chmod(fs_fix_host(&fix, "gd"), 02775), 0);
    assert_int_equal(rpmsg_fs_mkdir_as(c, "gd/sub", 0777, &group), 0);
    assert_int_equal(host_mode("gd/sub"), 02775);
    umask(old);
}

static void test_uid_gid(void **state)
{
    (void)state;
    if (geteuid() != 0) {
        print_message("skipped: giving files to another user needs root (uid %d)\n",
                      (int)geteuid());
        skip();
    }
    struct rpmsg_fs_client *c = &fix.cli;
    struct rpmsg_fs_cred who = { 65534, 65533, 022 };
    int fd = rpmsg_fs_open_as(c, "f", O_WRONLY | O_CREAT, 0644, &who);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(rpmsg_fs_mkdir_as(c, "d", 0755, &who), 0);
    assert_int_equal(rpmsg_fs_symlink(c, "f", "s", &who), 0);
    const char *names[] = { "f", "d", "s" };
    for (int i = 0; i < 3; i++) {
        struct stat st;
        assert_int_equal(lstat(fs_fix_host(&fix, names[i]), &st), 0);
        assert_int_equal(st.st_uid, 65534);
        assert_int_equal(st.st_gid, 65533);
    }
    /* The ids come back in stat. */
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(c, "f", &st), 0);
    assert_int_equal(st.uid, 65534);
    assert_int_equal(st.gid, 65533);
    /* Without a cred: the server's own. */
    fd = rpmsg_fs_open(c, "mine", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    rpmsg_fs_close(c, fd);
    assert_int_equal(rpmsg_fs_stat(c, "mine", &st), 0);
    assert_int_equal(st.uid, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_path_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_max_nuttx_format, setup_nuttx, teardown),
        cmocka_unit_test_setup_teardown(test_links, setup, teardown),
        cmocka_unit_test_setup_teardown(test_umask_and_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_uid_gid, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
