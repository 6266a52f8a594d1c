/*
 * `rpmsg sock` with its other stream ends, as separate programs over a
 * native VirtIO link each:
 * - stdio on both sides: each bridge's stdin (a file) reaches the other's
 *   stdout, every byte in order, and both exit 0 at the two ends of stream;
 * - unix-listen: to rpmsg:echo, and rpmsg-listen:echo to unix: (an echo
 *   server run here): 1 MiB there and back, checked; the listening bridge
 *   removes its socket file when it exits.
 * Link, file and socket names hold our pid.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "sock_fixture.h"
#include "sock_bridge.h"

static pid_t kids[2];
static char files[6][108];

static void stop_kids(void)
{
    for (int i = 0; i < 2; i++)
        sp_stop(&kids[i], SIGKILL);
}

static void cleanup(void)
{
    stop_kids();
    for (int i = 0; i < 6; i++)
        if (files[i][0])
            unlink(files[i]);
}

static const char *tmp_name(int i, const char *what)
{
    snprintf(files[i], sizeof(files[i]), "/tmp/rpmsg-test-sockend-%d-%s", (int)getpid(), what);
    return files[i];
}

static void bin_path(char *bin, size_t n)
{
    const char *dir = getenv("RPMSG_TEST_BIN_DIR");
    snprintf(bin, n, "%s/rpmsg", dir ? dir : ".");
}

static int write_file(const char *path, uint8_t seed, size_t len)
{
    uint8_t *b = malloc(len);
    FILE *f = fopen(path, "wb");
    int ok = b && f;
    if (ok) {
        sf_fill(b, len, seed, 0);
        ok = fwrite(b, 1, len, f) == len;
    }
    if (f)
        ok = !fclose(f) && ok;
    free(b);
    return ok ? 0 : -1;
}

/* The file's length if it holds exactly sf_fill(seed), else -1. */
static long file_matches(const char *path, uint8_t seed)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return -1;
    bool same;
    uint64_t got = sb_read_check(fd, seed, &same);
    close(fd);
    return same ? (long)got : -1;
}

static void test_stdio_both_ways(void **st)
{
    (void)st;
    char bin[512], link[64];
    bin_path(bin, sizeof(bin));
    snprintf(link, sizeof(link), "rpmsg-test-sockio-%d", (int)getpid());
    const char *fin = tmp_name(0, "front.in"), *fout = tmp_name(1, "front.out");
    const char *bin_ = tmp_name(2, "back.in"), *bout = tmp_name(3, "back.out");
    enum { FRONT_BYTES = 300001, BACK_BYTES = 70000 };
    assert_int_equal(write_file(fin, 11, FRONT_BYTES), 0);
    assert_int_equal(write_file(bin_, 22, BACK_BYTES), 0);
    char *back[] = { bin, "sock", "--link", link, "--role", "remote", "--side", "create",
                     "rpmsg-listen:st", "stdio", NULL };
    char *front[] = { bin, "sock", "--link", link, "stdio", "rpmsg:st", NULL };
    kids[0] = sp_spawn_io(back, bin_, bout, NULL);
    kids[1] = sp_spawn_io(front, fin, fout, NULL);
    int rb = sp_exit_code(&kids[0], 6 * TU_TIMEOUT_MS);
    int rf = sp_exit_code(&kids[1], 6 * TU_TIMEOUT_MS);
    stop_kids();
    assert_int_equal(rb, 0);
    assert_int_equal(rf, 0);
    assert_int_equal(file_matches(bout, 11), FRONT_BYTES);
    assert_int_equal(file_matches(fout, 22), BACK_BYTES);
}

static int unix_listen(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 4))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void test_unix_through_two_bridges(void **st)
{
    (void)st;
    char bin[512], link[64], to[128], from[128];
    bin_path(bin, sizeof(bin));
    snprintf(link, sizeof(link), "rpmsg-test-sockux-%d", (int)getpid());
    const char *echo_path = tmp_name(4, "echo.sock"), *front_path = tmp_name(5, "front.sock");
    int efd = unix_listen(echo_path);
    assert_true(efd >= 0);
    struct tu_thread et;
    assert_int_equal(tu_thread_start(&et, sb_echo_server, &efd), 0);
    snprintf(to, sizeof(to), "unix:%s", echo_path);
    snprintf(from, sizeof(from), "unix-listen:%s", front_path);
    char *back[] = { bin, "sock", "--link", link, "--role", "remote", "--side", "create",
                     "--count", "1", "rpmsg-listen:echo", to, NULL };
    char *front[] = { bin, "sock", "--link", link, "--count", "1", from, "rpmsg:echo", NULL };
    kids[0] = sp_spawn(back, NULL);
    kids[1] = sp_spawn(front, NULL);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    strcpy(a.sun_path, front_path);
    int c = sb_connect(AF_UNIX, (struct sockaddr *)&a, sizeof(a));
    if (c < 0)
        stop_kids();
    assert_true(c >= 0);
    struct sb_writer w = { c, 1u << 20, 33, -1 };
    struct tu_thread wt;
    assert_int_equal(tu_thread_start(&wt, sb_write_all, &w), 0);
    bool same;
    uint64_t got = sb_read_check(c, 33, &same);
    close(c);
    int rb = sp_exit_code(&kids[0], TU_TIMEOUT_MS), rf = sp_exit_code(&kids[1], TU_TIMEOUT_MS);
    struct stat sb;
    bool front_removed = stat(front_path, &sb) != 0;
    stop_kids();
    assert_int_equal(tu_thread_join(&wt, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&et, TU_TIMEOUT_MS), 0);
    close(efd);
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_int_equal(w.rc, 0);
    assert_int_equal(got, 1u << 20);
    assert_true(same);
    assert_int_equal(rf, 0);
    assert_int_equal(rb, 0);
    assert_true(front_removed);
}

int main(void)
{
    atexit(cleanup);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stdio_both_ways),
        cmocka_unit_test(test_unix_through_two_bridges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
