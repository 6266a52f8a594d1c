/*
 * RPMsg FS through a router hop: core c0 mounts an export of c2, two hops
 * away through the hub c1 (three cores in one process, loopback links). A
 * 32 MiB file (320 MiB under `make soak`) is written and read back with a
 * checksum.
 */
#include "fs_fixture.h"

#include "../router/router_fixture.h"

static uint64_t fnv64(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static void test_copy_through_a_hub(void **state)
{
    (void)state;
    static const char *const names[] = { "c0", "c1", "c2" };
    struct rf_topo t;
    rf_watch_start();
    assert_int_equal(rf_chain_open(&t, 3, names, NULL), 0);
    struct rpmsg_device *far = rf_wait_dev("c0", "c2", 1, 0);
    assert_non_null(far);
    assert_non_null(rf_wait_dev("c2", "c0", 1, 0));

    char dir[128];
    snprintf(dir, sizeof(dir), "/tmp/rpmsg-fs-rt-%d-XXXXXX", (int)getpid());
    assert_non_null(mkdtemp(dir));
    struct rpmsg_fs_server *srv;
    assert_int_equal(rpmsg_fs_server_create(&srv, NULL), 0);
    assert_int_equal(rpmsg_fs_server_export(srv, "ex", dir, false), 0);
    static struct rpmsg_fs_client c;
    assert_int_equal(rpmsg_fs_client_init(&c, far, "/ex", NULL), 0);
    assert_true(rpmsg_fs_client_extended(&c));

    const size_t mib = 1u << 20, total = (size_t)tu_soak(32) * mib; /* soak: 320 MiB */
    uint8_t *buf = malloc(mib), *back = malloc(mib);
    assert_non_null(buf);
    assert_non_null(back);
    int fd = rpmsg_fs_open(&c, "big", O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint64_t sum_out = 0, sum_in = 0;
    for (size_t done = 0; done < total; done += mib) {
        for (size_t i = 0; i < mib; i++)
            buf[i] = (uint8_t)((done + i) * 2654435761u >> 13);
        sum_out ^= fnv64(buf, mib) + done;
        assert_int_equal(rpmsg_fs_write(&c, fd, buf, mib), (ssize_t)mib);
    }
    assert_int_equal(rpmsg_fs_lseek(&c, fd, 0, SEEK_SET), 0);
    for (size_t done = 0; done < total; done += mib) {
        assert_int_equal(rpmsg_fs_read(&c, fd, back, mib), (ssize_t)mib);
        sum_in ^= fnv64(back, mib) + done;
    }
    assert_true(sum_in == sum_out);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(&c, fd, &st), 0);
    assert_true(st.size == (int64_t)total);
    assert_int_equal(rpmsg_fs_close(&c, fd), 0);

    free(buf);
    free(back);
    rpmsg_fs_client_deinit(&c);
    rpmsg_fs_server_destroy(srv);
    rf_chain_close(&t);
    rf_watch_stop();
    fs_fix_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_through_a_hub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
