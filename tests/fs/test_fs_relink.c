/*
 * A lost link or server in the middle of a long read: the read ends with
 * -ENOTCONN or the bytes received before the cut (never hangs), calls while unbound fail at once, the client's
 * epoch changes (its handles are gone), and when the link, or a restarted
 * server, comes back, the same client binds again by itself and reads the
 * whole file correctly, with the extension again. Several rounds: the cut
 * lands at different points of the stream.
 */
#include "fs_fixture.h"

#include <pthread.h>

#include "rpmsg/rpmsg_loopback.h"

#define FILE_SIZE (8u << 20)
#define ROUNDS 8

struct reader {
    struct rpmsg_fs_client *c;
    int fd;
    uint8_t *buf;
    ssize_t result;
};

static void *read_all(void *arg)
{
    struct reader *r = arg;
    r->result = rpmsg_fs_pread(r->c, r->fd, r->buf, FILE_SIZE, 0);
    return NULL;
}

static uint8_t *make_file(struct fs_fix *f)
{
    uint8_t *src = malloc(FILE_SIZE);
    assert_non_null(src);
    for (size_t i = 0; i < FILE_SIZE; i++)
        src[i] = (uint8_t)(i * 7 + (i >> 13));
    FILE *fp = fopen(fs_fix_host(f, "big"), "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(src, 1, FILE_SIZE, fp), FILE_SIZE);
    fclose(fp);
    return src;
}

/* Waits (bounded) until the client has received at least n more messages. */
static void wait_rx(struct fs_fix *f, uint64_t base, uint64_t n)
{
    for (int t = 0; t < 10000 && tu_stats(f->pair.a).rx_msgs < base + n; t++)
        usleep(1000);
}

/* After the link is back: the client binds again, and a whole read works. */
static void check_recovered(struct fs_fix *f, const uint8_t *src, uint8_t *buf)
{
    assert_int_equal(rpmsg_fs_client_wait_connected(&f->cli, 20000), 0);
    struct rpmsg_fs_stat st;
    assert_int_equal(rpmsg_fs_stat(&f->cli, "big", &st), 0);
    assert_int_equal(st.size, FILE_SIZE);
    /* The server's HELLO came before the answer (one link, in order). */
    assert_true(rpmsg_fs_client_extended(&f->cli));
    int fd = rpmsg_fs_open(&f->cli, "big", O_RDONLY, 0);
    assert_true(fd >= 0);
    memset(buf, 0, FILE_SIZE);
    assert_int_equal(rpmsg_fs_pread(&f->cli, fd, buf, FILE_SIZE, 0), FILE_SIZE);
    assert_memory_equal(buf, src, FILE_SIZE);
    assert_int_equal(rpmsg_fs_close(&f->cli, fd), 0);
}

/* restart: the server is destroyed while the link is down and a new one
 * serves the same directory (a killed and restarted server process). */
static void cut_mid_read(bool restart)
{
    struct fs_fix f;
    fs_fix_open(&f, NULL, NULL, NULL, false);
    uint8_t *src = make_file(&f);
    uint8_t *buf = malloc(FILE_SIZE);
    assert_non_null(buf);
    unsigned cut_mid = 0;
    for (int round = 0; round < ROUNDS; round++) {
        struct reader r = { .c = &f.cli, .buf = buf };
        r.fd = rpmsg_fs_open(&f.cli, "big", O_RDONLY, 0);
        assert_true(r.fd >= 0);
        uint32_t epoch = rpmsg_fs_client_epoch(&f.cli);
        uint64_t base = tu_stats(f.pair.a).rx_msgs;
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, read_all, &r), 0);
        /* The cut lands somewhere in the stream's first half. */
        wait_rx(&f, base, 200 + (uint64_t)round * 900);
        assert_int_equal(rpmsg_loopback_link_down(f.pair.lb), 0);
        pthread_join(th, NULL);
        /* Cut mid-stream: -ENOTCONN, or the bytes that came before the cut
         * (a read is a loop of requests); a read that had finished is whole. */
        if (r.result != (ssize_t)FILE_SIZE) {
            if (r.result != -ENOTCONN && r.result <= 0)
                print_message("round %d: the read returned %zd\n", round, r.result);
            assert_true(r.result == -ENOTCONN || r.result > 0);
            cut_mid++;
        }
        if (r.result > 0)
            assert_memory_equal(buf, src, (size_t)r.result);
        assert_int_not_equal(rpmsg_fs_client_epoch(&f.cli), epoch);
        struct rpmsg_fs_stat st;
        assert_int_equal(rpmsg_fs_stat(&f.cli, "big", &st), -ENOTCONN);
        if (restart) {
            rpmsg_fs_server_destroy(f.srv);
            assert_int_equal(rpmsg_fs_server_create(&f.srv, NULL), 0);
            assert_int_equal(rpmsg_fs_server_export(f.srv, "ex", f.dir, false), 0);
        }
        assert_int_equal(rpmsg_loopback_link_up(f.pair.lb), 0);
        check_recovered(&f, src, buf);
    }
    /* Most cuts must land mid-read, or the test shows nothing. */
    assert_true(cut_mid >= ROUNDS / 2);
    free(buf);
    free(src);
    fs_fix_close(&f);
}

static void test_link_cut_mid_read(void **state)
{
    (void)state;
    cut_mid_read(false);
}

static void test_server_restarted_mid_read(void **state)
{
    (void)state;
    cut_mid_read(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_cut_mid_read),
        cmocka_unit_test(test_server_restarted_mid_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
