/*
 * A NuttX client, played byte for byte with a raw endpoint, connecting to
 * our listener: its name (10-char limit, 2 chars + crc beyond), our SYNC as
 * it sees it, its short SYNC, credits (we never send past its 1024-byte
 * window until it acknowledges), its DATA, its SHUTDOWN, its leaving.
 */
#include <unistd.h>

#include "services/socket/sock_wire.h"
#include "sock_fixture.h"

struct raw {
    struct rpmsg_endpoint ept;
    struct tu_rec rec;
};

static void raw_open(struct raw *r, struct rpmsg_device *d, const char *name)
{
    tu_rec_init(&r->rec);
    assert_int_equal(tu_ept_create(&r->ept, d, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY, tu_rec_cb,
                                   tu_rec_unbind_cb, &r->rec),
                     0);
}

static void raw_close(struct raw *r)
{
    tu_ept_cleanup(&r->ept);
    tu_rec_deinit(&r->rec);
}

static void raw_send(struct raw *r, const void *p, size_t n)
{
    assert_int_equal(rpmsg_send(&r->ept, p, n), (int)n);
}

/* Bytes of DATA payload in messages [from, to) of the recorder. */
static uint32_t data_bytes(struct raw *r, unsigned from, unsigned to, uint8_t *out)
{
    uint32_t n = 0;
    for (unsigned i = from; i < to; i++) {
        struct tu_msg *m = &r->rec.msgs[i];
        assert_true(m->len >= 12);
        assert_int_equal(tu_get_le32(m->data), 2);
        uint32_t len = tu_get_le32(m->data + 8);
        assert_int_equal(len, m->len - 12);
        memcpy(out + n, m->data + 12, len);
        n += len;
    }
    return n;
}

/* Waits until messages from 'from' on carry 'expect' DATA bytes; returns the
 * recorder's count then. */
static unsigned wait_data(struct raw *r, unsigned from, uint32_t expect, uint8_t *out)
{
    uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
    for (;;) {
        unsigned n = tu_rec_count(&r->rec);
        uint32_t have = 0;
        for (unsigned i = from; i < n; i++)
            have += r->rec.msgs[i].len - 12;
        if (have >= expect || rpmsg_time_ms() > deadline) {
            assert_int_equal(data_bytes(r, from, n, out), expect);
            return n;
        }
        usleep(1000);
    }
}

static void run_client(const char *service, const char *nuttx_name)
{
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen(&f, service, 4);
    struct raw r;
    raw_open(&r, f.cdev, nuttx_name);
    struct rpmsg_socket *s = sf_accept(l);

    /* Our SYNC, as a NuttX client receives it: NuttX's 20 bytes, then our
     * extension (magic, the largest data of one DATA; a name beyond 10
     * characters in full), which NuttX ignores. */
    assert_int_equal(tu_rec_wait(&r.rec, 1, TU_TIMEOUT_MS), 0);
    uint8_t want[SOCK_SYNC_MAX_LEN];
    /* NuttX's own window until the peer shows it is ours (sock_wire.h). */
    sock_put_sync(want, SOCK_NUTTX_WINDOW, (uint32_t)getpid(), (uint32_t)getuid(),
                  (uint32_t)getgid());
    sock_put_sync_ext(want, (uint32_t)rpmsg_get_tx_buffer_size(&r.ept) - SOCK_DATA_HDR);
    uint32_t want_len = sock_put_sync_name(want, service);
    assert_int_equal(want_len, strlen(service) > SOCK_NAME_SHORT
                                   ? SOCK_SYNC_NAME_OFF + 4 + strlen(service)
                                   : SOCK_SYNC_EXT_LEN);
    assert_int_equal(r.rec.msgs[0].len, want_len);
    assert_memory_equal(r.rec.msgs[0].data, want, want_len);
    assert_true(rpmsg_is_ept_ready(&r.ept)); /* bound by our CREATE_ACK */

    /* Its SYNC: the short form, a 1024-byte window. */
    static const uint8_t sync[8] = { 1, 0, 0, 0, 0, 4, 0, 0 };
    raw_send(&r, sync, sizeof(sync));
    static const uint8_t hello[17] = { 2, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o' };
    raw_send(&r, hello, sizeof(hello));
    char buf[8];
    assert_int_equal(rpmsg_socket_recv(s, buf, sizeof(buf), 0), 5);
    assert_memory_equal(buf, "hello", 5);

    /* We send 3000 bytes: only 1024 may leave before it acknowledges. */
    uint8_t out[3000], got[3000];
    sf_fill(out, sizeof(out), 5, 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_NONBLOCK, 1), 0);
    assert_int_equal(rpmsg_socket_send(s, out, sizeof(out), 0), 1024);
    assert_int_equal(rpmsg_socket_send(s, out + 1024, 10, 0), -EAGAIN);
    unsigned n1 = wait_data(&r, 1, 1024, got);
    uint32_t have = 1024;
    /* Every DATA carries our pos: the 5 bytes we consumed. */
    assert_int_equal(tu_get_le32(r.rec.msgs[1].data + 4), 5);
    /* A pure ack from it (12 bytes, len 0) opens the window again. */
    uint8_t ack[12];
    sock_put_data_hdr(ack, 1024, 0);
    raw_send(&r, ack, sizeof(ack));
    struct rpmsg_socket_pollfd pf = { s, RPMSG_POLLOUT, 0 };
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_int_equal(rpmsg_socket_send(s, out + 1024, sizeof(out) - 1024, 0), 1024);
    wait_data(&r, n1, 1024, got + have);
    assert_memory_equal(got, out, 2048);

    /* Its SHUTDOWN(SHUT_WR): end of stream for us, after what it sent. */
    static const uint8_t shut[8] = { 3, 0, 0, 0, 2, 0, 0, 0 };
    raw_send(&r, shut, sizeof(shut));
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_NONBLOCK, 0), 0);
    assert_int_equal(rpmsg_socket_recv(s, buf, sizeof(buf), 0), 0);

    /* It leaves: hang-up for us. */
    raw_close(&r);
    pf.events = 0; /* POLLIN already holds (end of stream); wait for the hang-up */
    assert_int_equal(rpmsg_socket_poll(&pf, 1, TU_TIMEOUT_MS), 1);
    assert_true(pf.revents & RPMSG_POLLHUP);
    assert_int_equal(rpmsg_socket_send(s, "x", 1, 0), -EPIPE);

    struct rpmsg_socket_stats st;
    assert_int_equal(rpmsg_socket_stats(s, &st), 0);
    assert_int_equal(st.malformed, 0);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static void test_short_name(void **st)
{
    (void)st;
    run_client("abcdefghij", "s:abcdefghij:2a");
}

static void test_long_name_crc(void **st)
{
    (void)st;
    /* NuttX: "lo" + crc32("longservicename") = 2fc221d6. */
    run_client("longservicename", "s:lo2fc221d6:0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_short_name),
        cmocka_unit_test(test_long_name_crc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
