/*
 * A write split into chunks that fails part way: with the extension every
 * chunk is answered, so the caller learns how much was written and then the
 * error; in NuttX's format only the last chunk's result comes back. The
 * failure is made real with RLIMIT_FSIZE on this (the server's) process.
 */
#include "fs_fixture.h"

#include <signal.h>
#include <sys/resource.h>

#define LIMIT 10000

static struct rlimit saved;

static int limit_on(void **state)
{
    (void)state;
    signal(SIGXFSZ, SIG_IGN); /* EFBIG instead of the signal */
    getrlimit(RLIMIT_FSIZE, &saved);
    return 0;
}

static int limit_off(void **state)
{
    (void)state;
    setrlimit(RLIMIT_FSIZE, &saved);
    return 0;
}

static void set_limit(void)
{
    struct rlimit r = { LIMIT, saved.rlim_max };
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &r), 0);
}

static void test_extension_reports_partial_then_error(void **state)
{
    (void)state;
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    static char buf[30000];
    memset(buf, 'z', sizeof(buf));
    int fd = rpmsg_fs_open(&f.cli, "f", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    set_limit();
    /* Chunks past the limit fail; the ones before it were written. */
    assert_int_equal(rpmsg_fs_write(&f.cli, fd, buf, sizeof(buf)), LIMIT);
    assert_int_equal(rpmsg_fs_write(&f.cli, fd, buf, sizeof(buf)), -EFBIG);
    limit_off(NULL);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(&f.cli, fd, &st), 0);
    assert_int_equal(st.size, LIMIT);
    assert_int_equal(rpmsg_fs_close(&f.cli, fd), 0);
    fs_fix_close(&f);
}

static void test_nuttx_format_only_last_chunk(void **state)
{
    (void)state;
    struct fs_fix f;
    struct rpmsg_fs_client_config cc = { .nuttx_only = true };
    fs_fix_open(&f, NULL, NULL, &cc, false);
    static char buf[30000];
    memset(buf, 'z', sizeof(buf));
    int fd = rpmsg_fs_open(&f.cli, "f", O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    set_limit();
    /* The same write: the last chunk's EFBIG is all that comes back, the
     * 10000 bytes that did get written are not reported. */
    assert_int_equal(rpmsg_fs_write(&f.cli, fd, buf, sizeof(buf)), -EFBIG);
    limit_off(NULL);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(&f.cli, fd, &st), 0);
    assert_int_equal(st.size, LIMIT);
    assert_int_equal(rpmsg_fs_close(&f.cli, fd), 0);
    fs_fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_extension_reports_partial_then_error, limit_on,
                                        limit_off),
        cmocka_unit_test_setup_teardown(test_nuttx_format_only_last_chunk, limit_on, limit_off),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
