/*
 * Every client operation against our server over the loopback transport,
 * with its error paths, once with the extension and once in NuttX's format
 * (the same calls must give the same results either way).
 */
#include "fs_fixture.h"

#include <dirent.h>

static struct fs_fix fix;
static bool nuttx_format;

static int setup(void **state)
{
    (void)state;
    struct rpmsg_fs_client_config cc = { .nuttx_only = nuttx_format };
    fs_fix_open(&fix, NULL, NULL, &cc, false);
    assert_int_equal(rpmsg_fs_client_extended(&fix.cli), !nuttx_format);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_fix_close(&fix);
    return 0;
}

static void test_open_read_write(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    int fd = rpmsg_fs_open(c, "f.txt", O_RDWR | O_CREAT | O_EXCL, 0640);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_write(c, fd, "hello world", 11), 11);
    assert_int_equal(rpmsg_fs_lseek(c, fd, 0, SEEK_SET), 0);
    char buf[32] = { 0 };
    assert_int_equal(rpmsg_fs_read(c, fd, buf, sizeof(buf)), 11);
    assert_string_equal(buf, "hello world");
    assert_int_equal(rpmsg_fs_read(c, fd, buf, sizeof(buf)), 0); /* EOF */
    assert_int_equal(rpmsg_fs_pwrite(c, fd, "W", 1, 6), 1);
    memset(buf, 0, sizeof(buf));
    assert_int_equal(rpmsg_fs_pread(c, fd, buf, 5, 6), 5);
    assert_string_equal(buf, "World");
    assert_int_equal(rpmsg_fs_lseek(c, fd, 0, SEEK_CUR), 11); /* pread/pwrite kept it */
    assert_int_equal(rpmsg_fs_lseek(c, fd, -1, SEEK_SET), -EINVAL);
    assert_int_equal(rpmsg_fs_fsync(c, fd), 0);
    assert_int_equal(rpmsg_fs_ftruncate(c, fd, 5), 0);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(c, fd, &st), 0);
    assert_int_equal(st.size, 5);
    assert_true(S_ISREG(st.mode));
    assert_int_equal(st.mode & 0777, 0640 & ~0); /* umask of this process may clear bits */
    int fd2 = rpmsg_fs_dup(c, fd);
    assert_true(fd2 >= 0 && fd2 != fd);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    assert_int_equal(rpmsg_fs_pread(c, fd2, buf, 5, 0), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(rpmsg_fs_close(c, fd2), 0);
    /* And on the host side it is really there. */
    struct stat hs;
    assert_int_equal(stat(fs_fix_host(&fix, "f.txt"), &hs), 0);
    assert_int_equal(hs.st_size, 5);
}

static void test_open_errors(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    assert_int_equal(rpmsg_fs_open(c, "missing", O_RDONLY, 0), -ENOENT);
    assert_int_equal(rpmsg_fs_open(c, "no/such/dir/f", O_RDWR | O_CREAT, 0644), -ENOENT);
    fs_fix_write_host(&fix, "x", "1");
    assert_int_equal(rpmsg_fs_open(c, "x", O_RDWR | O_CREAT | O_EXCL, 0644), -EEXIST);
    assert_int_equal(rpmsg_fs_open(c, "x/y", O_RDONLY, 0), -ENOTDIR);
    assert_int_equal(mkdir(fs_fix_host(&fix, "d"), 0755), 0);
    assert_int_equal(rpmsg_fs_open(c, "d", O_WRONLY, 0), -EISDIR);
    assert_int_equal(chmod(fs_fix_host(&fix, "x"), 0), 0);
    if (geteuid() != 0) /* root reads anything */
        assert_int_equal(rpmsg_fs_open(c, "x", O_RDONLY, 0), -EACCES);
}

static void test_bad_handles(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    char b[4];
    assert_int_equal(rpmsg_fs_close(c, 42), -EBADF);
    assert_int_equal(rpmsg_fs_read(c, 42, b, 4), -EBADF);
    assert_int_equal(rpmsg_fs_write(c, 42, b, 4), -EBADF);
    assert_int_equal(rpmsg_fs_lseek(c, 42, 0, SEEK_SET), -EBADF);
    assert_int_equal(rpmsg_fs_fsync(c, -1), -EBADF);
    assert_int_equal(rpmsg_fs_ftruncate(c, 42, 0), -EBADF);
    assert_int_equal(rpmsg_fs_dup(c, 42), -EBADF);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(c, 42, &st), -EBADF);
    struct rpmsg_fs_dirent e;
    assert_int_equal(rpmsg_fs_readdir(c, 0, &e), -EBADF);
    assert_int_equal(rpmsg_fs_closedir(c, 9), -EBADF);
    assert_int_equal(rpmsg_fs_rewinddir(c, 9), -EBADF);
    /* Read on a write-only fd: the host's EBADF, carried back. */
    int fd = rpmsg_fs_open(c, "w", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_read(c, fd, b, 4), -EBADF);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    assert_int_equal(rpmsg_fs_close(c, fd), -EBADF); /* closed already */
}

static void test_dirs(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    assert_int_equal(rpmsg_fs_mkdir(c, "d", 0755), 0);
    assert_int_equal(rpmsg_fs_mkdir(c, "d", 0755), -EEXIST);
    assert_int_equal(rpmsg_fs_mkdir(c, "no/d", 0755), -ENOENT);
    assert_int_equal(rpmsg_fs_mkdir(c, "d/e", 0700), 0);
    fs_fix_write_host(&fix, "d/f", "abc");
    assert_int_equal(rpmsg_fs_rmdir(c, "d"), -ENOTEMPTY);
    assert_int_equal(rpmsg_fs_rmdir(c, "d/f"), -ENOTDIR);
    assert_int_equal(rpmsg_fs_unlink(c, "d/e"), -EISDIR);
    assert_int_equal(rpmsg_fs_rmdir(c, "missing"), -ENOENT);

    int h = rpmsg_fs_opendir(c, "d");
    assert_true(h >= 1);
    struct rpmsg_fs_dirent e;
    bool seen_e = false, seen_f = false;
    int n = 0, r;
    while ((r = rpmsg_fs_readdir(c, h, &e)) == 1) {
        n++;
        if (!strcmp(e.name, "e"))
            seen_e = e.type == DT_DIR;
        if (!strcmp(e.name, "f"))
            seen_f = e.type == DT_REG;
    }
    assert_int_equal(r, 0);
    assert_int_equal(n, 2); /* "." and ".." are not listed, as in NuttX */
    assert_true(seen_e && seen_f);
    assert_int_equal(rpmsg_fs_rewinddir(c, h), 0);
    assert_int_equal(rpmsg_fs_readdir(c, h, &e), 1);
    assert_int_equal(rpmsg_fs_closedir(c, h), 0);
    assert_int_equal(rpmsg_fs_opendir(c, "missing"), -ENOENT);
    assert_int_equal(rpmsg_fs_opendir(c, "d/f"), -ENOTDIR);

    assert_int_equal(rpmsg_fs_unlink(c, "d/f"), 0);
    assert_int_equal(rpmsg_fs_unlink(c, "d/f"), -ENOENT);
    assert_int_equal(rpmsg_fs_rmdir(c, "d/e"), 0);
    assert_int_equal(rpmsg_fs_rmdir(c, "d/"), 0);
    struct stat hs;
    assert_int_equal(stat(fs_fix_host(&fix, "d"), &hs), -1);
}

static void test_stat_rename_chmod_utimens(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    fs_fix_write_host(&fix, "a", "12345");
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(c, "a", &st), 0);
    assert_int_equal(st.size, 5);
    assert_true(S_ISREG(st.mode));
    assert_int_equal(rpmsg_fs_stat(c, "", &st), 0);
    assert_true(S_ISDIR(st.mode));
    assert_int_equal(rpmsg_fs_stat(c, "nope", &st), -ENOENT);
    assert_int_equal(rpmsg_fs_stat(c, "a/b", &st), -ENOTDIR);

    assert_int_equal(rpmsg_fs_rename(c, "a", "b"), 0);
    assert_int_equal(rpmsg_fs_stat(c, "a", &st), -ENOENT);
    assert_int_equal(rpmsg_fs_rename(c, "a", "c"), -ENOENT);
    assert_int_equal(rpmsg_fs_mkdir(c, "dir", 0755), 0);
    assert_int_equal(rpmsg_fs_rename(c, "b", "dir"), -EISDIR);
    fs_fix_write_host(&fix, "dir/x", "");
    assert_int_equal(rpmsg_fs_mkdir(c, "dir2", 0755), 0);
    assert_int_equal(rpmsg_fs_rename(c, "dir2", "dir"), -ENOTEMPTY);
    fs_fix_write_host(&fix, "over", "old");
    assert_int_equal(rpmsg_fs_rename(c, "b", "over"), 0); /* an editor's save */
    assert_int_equal(rpmsg_fs_stat(c, "over", &st), 0);
    assert_int_equal(st.size, 5);

    assert_int_equal(rpmsg_fs_chmod(c, "over", 0600), 0);
    struct stat hs;
    assert_int_equal(stat(fs_fix_host(&fix, "over"), &hs), 0);
    assert_int_equal(hs.st_mode & 07777, 0600);
    assert_int_equal(rpmsg_fs_chmod(c, "nope", 0600), -ENOENT);
    if (geteuid() == 0) { /* only root gives files away */
        assert_int_equal(rpmsg_fs_chown(c, "over", 1234, (gid_t)-1), 0);
        assert_int_equal(stat(fs_fix_host(&fix, "over"), &hs), 0);
        assert_int_equal(hs.st_uid, 1234);
        assert_int_equal(hs.st_gid, getegid());
    }
    assert_int_equal(rpmsg_fs_chown(c, "nope", 0, 0), -ENOENT);

    struct timespec t[2] = { { 1000, 5 }, { 2000, 7 } };
    assert_int_equal(rpmsg_fs_utimens(c, "over", t), 0);
    assert_int_equal(stat(fs_fix_host(&fix, "over"), &hs), 0);
    assert_int_equal(hs.st_atim.tv_sec, 1000);
    assert_int_equal(hs.st_mtim.tv_sec, 2000);
    assert_int_equal(hs.st_mtim.tv_nsec, 7);
    struct timespec omit[2] = { { 0, UTIME_OMIT }, { 3000, 0 } };
    assert_int_equal(rpmsg_fs_utimens(c, "over", omit), 0);
    assert_int_equal(stat(fs_fix_host(&fix, "over"), &hs), 0);
    assert_int_equal(hs.st_atim.tv_sec, 1000);
    assert_int_equal(hs.st_mtim.tv_sec, 3000);
    assert_int_equal(rpmsg_fs_stat(c, "over", &st), 0);
    assert_int_equal(st.mtime_sec, 3000);

    struct rpmsg_fs_statfs sf;
    assert_int_equal(rpmsg_fs_statfs(c, "", &sf), 0);
    assert_true(sf.bsize > 0 && sf.blocks > 0 && sf.namelen >= 255);
}

static bool one_client(void *srv)
{
    return rpmsg_fs_server_clients(srv) == 1;
}

static void test_unknown_export(void **state)
{
    (void)state;
    struct rpmsg_fs_client other;
    assert_int_equal(rpmsg_fs_client_init(&other, fix.pair.a, "/nope", NULL), -ENOENT);
    /* Its session ends when its endpoint goes (NS DESTROY). */
    assert_int_equal(tu_wait_until(one_client, fix.srv, TU_TIMEOUT_MS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_read_write, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_handles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stat_rename_chmod_utimens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_export, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("extension", tests, NULL, NULL);
    nuttx_format = true;
    failed += cmocka_run_group_tests_name("nuttx-format", tests, NULL, NULL);
    return failed;
}
