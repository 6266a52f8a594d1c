/*
 * Large transfers: a multi-MiB file written and read back through the client
 * with a checksum, over the loopback transport (extension and NuttX format)
 * and over an in-process VirtIO pair; a sparse file beyond 4 GiB with a peer
 * of ours, and the NuttX format refusing offsets it cannot carry.
 */
#include "fs_fixture.h"

#include "../virtio/vt_plat.h"

#define BIG (4u << 20)

static uint64_t fnv(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint8_t *pattern(size_t n)
{
    uint8_t *b = malloc(n);
    assert_non_null(b);
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    return b;
}

/* Writes BIG bytes in odd-sized calls, reads them back likewise, checks. */
static void copy_and_check(struct rpmsg_fs_client *c, const char *host_path)
{
    uint8_t *src = pattern(BIG);
    uint8_t *back = calloc(1, BIG);
    assert_non_null(back);
    int fd = rpmsg_fs_open(c, "big.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    size_t done = 0, step = 300000;
    while (done < BIG) {
        size_t n = BIG - done < step ? BIG - done : step;
        assert_int_equal(rpmsg_fs_write(c, fd, src + done, n), (ssize_t)n);
        done += n;
    }
    assert_int_equal(rpmsg_fs_lseek(c, fd, 0, SEEK_SET), 0);
    done = 0;
    while (done < BIG) {
        ssize_t n = rpmsg_fs_read(c, fd, back + done, 700001);
        assert_true(n > 0);
        done += (size_t)n;
    }
    assert_int_equal(done, BIG);
    assert_int_equal(rpmsg_fs_read(c, fd, back, 10), 0);
    assert_true(fnv(back, BIG) == fnv(src, BIG));
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    /* The host file holds the same bytes. */
    FILE *fp = fopen(host_path, "rb");
    assert_non_null(fp);
    memset(back, 0, BIG);
    assert_int_equal(fread(back, 1, BIG, fp), BIG);
    fclose(fp);
    assert_true(fnv(back, BIG) == fnv(src, BIG));
    free(src);
    free(back);
}

static void run_loopback(bool nuttx)
{
    struct fs_fix f;
    struct rpmsg_fs_client_config cc = { .nuttx_only = nuttx };
    fs_fix_open(&f, NULL, NULL, &cc, false);
    assert_int_equal(rpmsg_fs_client_extended(&f.cli), !nuttx);
    copy_and_check(&f.cli, fs_fix_host(&f, "big.bin"));
    fs_fix_close(&f);
}

static void test_copy_loopback_ext(void **state)
{
    (void)state;
    run_loopback(false);
}

static void test_copy_loopback_nuttx(void **state)
{
    (void)state;
    run_loopback(true);
}

static void test_copy_virtio(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(vt_pair_open(&p, NULL), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    char dir[128];
    snprintf(dir, sizeof(dir), "/tmp/rpmsg-fs-vt-%d-XXXXXX", (int)getpid());
    assert_non_null(mkdtemp(dir));
    struct rpmsg_fs_server *srv;
    assert_int_equal(rpmsg_fs_server_create(&srv, NULL), 0);
    assert_int_equal(rpmsg_fs_server_export(srv, "ex", dir, false), 0);
    struct rpmsg_fs_client c;
    assert_int_equal(rpmsg_fs_client_init(&c, p.h, "/ex", NULL), 0);
    assert_true(rpmsg_fs_client_extended(&c));
    char host[256];
    snprintf(host, sizeof(host), "%s/big.bin", dir);
    copy_and_check(&c, host);
    rpmsg_fs_client_deinit(&c);
    rpmsg_fs_server_destroy(srv);
    vt_pair_close(&p);
    fs_fix_rmtree(dir);
}

static void test_sparse_beyond_4gib(void **state)
{
    (void)state;
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    struct rpmsg_fs_client *c = &f.cli;
    assert_true(rpmsg_fs_client_extended(c));
    const int64_t far = (5ll << 30) + 12345;
    int fd = rpmsg_fs_open(c, "sparse", O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_pwrite(c, fd, "tail", 4, far), 4);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_fstat(c, fd, &st), 0);
    assert_true(st.size == far + 4);
    assert_true(rpmsg_fs_lseek(c, fd, 0, SEEK_END) == far + 4);
    assert_true(rpmsg_fs_lseek(c, fd, far, SEEK_SET) == far);
    char buf[8] = { 0 };
    assert_int_equal(rpmsg_fs_read(c, fd, buf, sizeof(buf)), 4);
    assert_string_equal(buf, "tail");
    assert_int_equal(rpmsg_fs_pread(c, fd, buf, 4, 1ll << 32), 4); /* a hole reads zeros */
    assert_memory_equal(buf, "\0\0\0\0", 4);
    assert_int_equal(rpmsg_fs_ftruncate(c, fd, (4ll << 30) + 1), 0);
    assert_int_equal(rpmsg_fs_fstat(c, fd, &st), 0);
    assert_true(st.size == (4ll << 30) + 1);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    struct stat hs;
    assert_int_equal(stat(fs_fix_host(&f, "sparse"), &hs), 0);
    assert_true(hs.st_size == (4ll << 30) + 1);
    fs_fix_close(&f);
}

static void test_nuttx_format_limits(void **state)
{
    (void)state;
    struct fs_fix f;
    struct rpmsg_fs_client_config cc = { .nuttx_only = true };
    fs_fix_open(&f, NULL, NULL, &cc, false);
    struct rpmsg_fs_client *c = &f.cli;
    int fd = rpmsg_fs_open(c, "s", O_RDWR | O_CREAT, 0644);
    assert_true(fd >= 0);
    assert_int_equal(rpmsg_fs_lseek(c, fd, 3ll << 30, SEEK_SET), -EOVERFLOW);
    assert_int_equal(rpmsg_fs_ftruncate(c, fd, 3ll << 30), -EOVERFLOW);
    assert_int_equal(rpmsg_fs_pwrite(c, fd, "x", 1, 3ll << 30), -EOVERFLOW);
    /* A position past 2 GiB set by someone else cannot be reported in 32 bits. */
    assert_int_equal(truncate(fs_fix_host(&f, "s"), 3ll << 30), 0);
    assert_int_equal(rpmsg_fs_lseek(c, fd, 0, SEEK_END), -EOVERFLOW);
    assert_int_equal(rpmsg_fs_close(c, fd), 0);
    fs_fix_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_copy_loopback_ext),
        cmocka_unit_test(test_copy_loopback_nuttx),
        cmocka_unit_test(test_copy_virtio),
        cmocka_unit_test(test_sparse_beyond_4gib),
        cmocka_unit_test(test_nuttx_format_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
