/*
 * Two processes, one VirtIO link over shared memory: messages of random sizes
 * 0..max payload both directions at once, copy and zero-copy; every message
 * checked for size, content and order, exact counts on both sides.
 * RPMSG_MP_COUNT overrides the per-direction count (default 500,000: one
 * million messages per mode; ten times that in `make soak`).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mp_stream.inc"
#include "rpmsg/rpmsg_virtio.h"
#include "testutil.h"

static pid_t child;

static void kill_child(void)
{
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = 0;
    }
}

static unsigned count_per_dir(void)
{
    const char *e = getenv("RPMSG_MP_COUNT");
    return e ? (unsigned)strtoul(e, NULL, 0) : tu_soak(500000u);
}

static void run_pair(bool nocopy, int wait_mode, uint32_t features)
{
    static int seq;
    char spec[96];
    snprintf(spec, sizeof(spec), "virtio:rpmsg-test-stream-%d-%d", (int)getpid(), seq++);
    unsigned count = count_per_dir();

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        struct rpmsg_link_config cfg = { .spec = spec, .role = RPMSG_LINK_REMOTE,
                                         .side = RPMSG_LINK_ATTACH, .wait = wait_mode,
                                         .cpuname = "remote", .features = features };
        struct rpmsg_link *link;
        int r = rpmsg_link_open(&link, &cfg);
        if (!r)
            r = rpmsg_link_wait_up(link, 10000);
        if (r) {
            fprintf(stderr, "child: link: %d\n", r);
            _exit(2);
        }
        struct mp_stream_result res;
        r = mp_stream_run(link, 1, count, nocopy, &res);
        fprintf(stderr, "child: sent %lu received %lu bad size %lu bad content %lu\n", res.sent,
                res.received, res.bad_size, res.bad_content);
        rpmsg_link_close(link);
        _exit(r ? 1 : 0);
    }

    struct rpmsg_link_config cfg = { .spec = spec, .role = RPMSG_LINK_HOST,
                                     .side = RPMSG_LINK_CREATE, .wait = wait_mode,
                                     .cpuname = "host", .features = features };
    struct rpmsg_link *link;
    int r = rpmsg_link_open(&link, &cfg);
    assert_int_equal(r, 0);
    assert_int_equal(rpmsg_link_wait_up(link, 10000), 0);
    assert_string_equal(rpmsg_get_cpuname(rpmsg_link_device(link)), "remote");
    assert_int_equal(rpmsg_get_features(rpmsg_link_device(link)) & RPMSG_VIRTIO_F_RING_PACKED,
                     features & RPMSG_VIRTIO_F_RING_PACKED);
    struct mp_stream_result res;
    r = mp_stream_run(link, 0, count, nocopy, &res);
    rpmsg_link_close(link);
    int status = 0;
    assert_int_equal(waitpid(child, &status, 0), child);
    child = 0;
    assert_int_equal(res.sent, count);
    assert_int_equal(res.received, count);
    assert_int_equal(res.bad_size, 0);
    assert_int_equal(res.bad_content, 0);
    assert_true(res.fin);
    assert_int_equal(r, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_copy_adaptive(void **state)
{
    (void)state;
    run_pair(false, RPMSG_LINK_ADAPTIVE, 0);
}

static void test_nocopy_interrupt(void **state)
{
    (void)state;
    run_pair(true, RPMSG_LINK_INTERRUPT, 0);
}

/* Both over packed rings: the same checks through real shared memory. */
static void test_packed_copy_adaptive(void **state)
{
    (void)state;
    run_pair(false, RPMSG_LINK_ADAPTIVE, RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED);
}

static void test_packed_nocopy_poll(void **state)
{
    (void)state;
    run_pair(true, RPMSG_LINK_POLL, RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED);
}

static int teardown(void **state)
{
    (void)state;
    kill_child();
    return 0;
}

int main(void)
{
    atexit(kill_child);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_copy_adaptive, teardown),
        cmocka_unit_test_teardown(test_nocopy_interrupt, teardown),
        cmocka_unit_test_teardown(test_packed_copy_adaptive, teardown),
        cmocka_unit_test_teardown(test_packed_nocopy_poll, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
