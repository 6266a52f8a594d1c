/*
 * An export is a jail: "..", absolute paths and symlinks pointing out are
 * refused whatever the operation, and a read-only export refuses every
 * change with EROFS.
 */
#include "fs_fixture.h"

static struct fs_fix fix;
static char outside[160], secret[200];

static int setup(void **state)
{
    (void)state;
    fs_fix_open(&fix, NULL, NULL, NULL, false);
    snprintf(outside, sizeof(outside), "%s.out", fix.dir);
    assert_int_equal(mkdir(outside, 0755), 0);
    snprintf(secret, sizeof(secret), "%s/secret", outside);
    FILE *fp = fopen(secret, "w");
    assert_non_null(fp);
    fputs("top secret", fp);
    fclose(fp);
    const char *base = strrchr(outside, '/') + 1;
    char rel[256];
    snprintf(rel, sizeof(rel), "../%s/secret", base);
    assert_int_equal(symlink(secret, fs_fix_host(&fix, "abs")), 0);
    assert_int_equal(symlink(rel, fs_fix_host(&fix, "rel")), 0);
    assert_int_equal(symlink(outside, fs_fix_host(&fix, "dirlink")), 0);
    assert_int_equal(symlink("..", fs_fix_host(&fix, "up")), 0);
    fs_fix_write_host(&fix, "inside", "ok");
    assert_int_equal(symlink("inside", fs_fix_host(&fix, "good")), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fs_fix_close(&fix);
    fs_fix_rmtree(outside);
    return 0;
}

static bool refused(int r)
{
    return r == -EACCES || r == -ENOENT || r == -ELOOP || r == -EXDEV;
}

static void test_dotdot(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    struct rpmsg_fs_stat st;
    char p[256];
    snprintf(p, sizeof(p), "../%s/secret", strrchr(outside, '/') + 1);
    assert_true(refused(rpmsg_fs_open(c, p, O_RDONLY, 0)));
    assert_true(refused(rpmsg_fs_stat(c, "..", &st)));
    assert_true(refused(rpmsg_fs_stat(c, p, &st)));
    assert_true(refused(rpmsg_fs_opendir(c, "..")));
    assert_true(refused(rpmsg_fs_open(c, "../escaped", O_WRONLY | O_CREAT, 0644)));
    assert_true(refused(rpmsg_fs_mkdir(c, "../escaped", 0755)));
    assert_true(refused(rpmsg_fs_unlink(c, p)));
    assert_true(refused(rpmsg_fs_rename(c, "inside", "../escaped")));
    assert_true(refused(rpmsg_fs_chmod(c, p, 0777)));
    struct rpmsg_fs_statfs sf;
    assert_true(refused(rpmsg_fs_statfs(c, "..", &sf)));
    /* ".." that stays inside is fine. */
    assert_int_equal(rpmsg_fs_mkdir(c, "d", 0755), 0);
    assert_int_equal(rpmsg_fs_stat(c, "d/../inside", &st), 0);
    struct stat hs;
    assert_int_equal(stat(secret, &hs), 0);
    assert_true((hs.st_mode & 0777) != 0777); /* the chmod did not get through */
    char esc[200];
    snprintf(esc, sizeof(esc), "%s/../escaped", fix.dir);
    assert_int_equal(stat(esc, &hs), -1);
}

static void test_absolute(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    struct rpmsg_fs_stat st;
    /* An absolute path names a file inside the export, never the host's. */
    assert_int_equal(rpmsg_fs_stat(c, secret, &st), -ENOENT);
    assert_int_equal(rpmsg_fs_open(c, "/etc/passwd", O_RDONLY, 0), -ENOENT);
    assert_int_equal(rpmsg_fs_stat(c, "/inside", &st), 0);
}

static void test_symlinks_out(void **state)
{
    (void)state;
    struct rpmsg_fs_client *c = &fix.cli;
    struct rpmsg_fs_stat st;
    assert_true(refused(rpmsg_fs_open(c, "abs", O_RDONLY, 0)));
    assert_true(refused(rpmsg_fs_open(c, "rel", O_RDONLY, 0)));
    assert_true(refused(rpmsg_fs_stat(c, "abs", &st)));
    assert_true(refused(rpmsg_fs_opendir(c, "dirlink")));
    assert_true(refused(rpmsg_fs_opendir(c, "up")));
    assert_true(refused(rpmsg_fs_open(c, "dirlink/new", O_WRONLY | O_CREAT, 0644)));
    assert_true(refused(rpmsg_fs_open(c, "dirlink/secret", O_RDONLY, 0)));
    assert_true(refused(rpmsg_fs_mkdir(c, "dirlink/d", 0755)));
    assert_true(refused(rpmsg_fs_unlink(c, "dirlink/secret")));
    assert_true(refused(rpmsg_fs_rename(c, "inside", "dirlink/moved")));
    assert_true(refused(rpmsg_fs_chmod(c, "abs", 0777)));
    struct timespec t[2] = { { 1, 0 }, { 1, 0 } };
    assert_true(refused(rpmsg_fs_utimens(c, "abs", t)));
    /* Nothing happened outside. */
    struct stat hs;
    char p[256];
    snprintf(p, sizeof(p), "%s/new", outside);
    assert_int_equal(stat(p, &hs), -1);
    assert_int_equal(stat(secret, &hs), 0);
    assert_true(hs.st_mtime != 1);
    assert_true((hs.st_mode & 0777) != 0777);
    /* A link inside the export works, and removing a link removes the link. */
    char buf[8] = { 0 };
    int fd = rpmsg_fs_open(c, "good", O_RDONLY, 0);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_read(c, fd, buf, sizeof(buf)), 2);
    assert_string_equal(buf, "ok");
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    assert_int_equal(rpmsg_fs_unlink(c, "abs"), 0);
    assert_int_equal(stat(secret, &hs), 0);
}

static void test_read_only(void **state)
{
    (void)state;
    struct fs_fix ro;
    fs_fix_open(&ro, NULL, NULL, NULL, true);
    struct rpmsg_fs_client *c = &ro.cli;
    fs_fix_write_host(&ro, "f", "data");
    assert_int_equal(mkdir(fs_fix_host(&ro, "d"), 0755), 0);
    int fd = rpmsg_fs_open(c, "f", O_RDONLY, 0);
    assert_true(fd >= 0);
    char buf[8] = { 0 };
    assert_int_equal(rpmsg_fs_read(c, fd, buf, sizeof(buf)), 4);
    assert_int_equal(rpmsg_fs_write(c, fd, "x", 1), -EBADF);
    assert_int_equal(rpmsg_fs_ftruncate(c, fd, 0), -EROFS);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    assert_int_equal(rpmsg_fs_open(c, "f", O_WRONLY, 0), -EROFS);
    assert_int_equal(rpmsg_fs_open(c, "f", O_RDONLY | O_TRUNC, 0), -EROFS);
    assert_int_equal(rpmsg_fs_open(c, "n", O_RDONLY | O_CREAT, 0644), -EROFS);
    assert_int_equal(rpmsg_fs_mkdir(c, "e", 0755), -EROFS);
    assert_int_equal(rpmsg_fs_rmdir(c, "d"), -EROFS);
    assert_int_equal(rpmsg_fs_unlink(c, "f"), -EROFS);
    assert_int_equal(rpmsg_fs_rename(c, "f", "g"), -EROFS);
    assert_int_equal(rpmsg_fs_chmod(c, "f", 0777), -EROFS);
    struct timespec t[2] = { { 1, 0 }, { 1, 0 } };
    assert_int_equal(rpmsg_fs_utimens(c, "f", t), -EROFS);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(c, "f", &st), 0);
    int h = rpmsg_fs_opendir(c, "");
    assert_true(h >= 1);
    assert_int_equal(rpmsg_fs_closedir(c, h), 0);
    struct stat hs;
    assert_int_equal(stat(fs_fix_host(&ro, "f"), &hs), 0);
    assert_int_equal(hs.st_size, 4);
    fs_fix_close(&ro);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_dotdot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_absolute, setup, teardown),
        cmocka_unit_test_setup_teardown(test_symlinks_out, setup, teardown),
        cmocka_unit_test(test_read_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
