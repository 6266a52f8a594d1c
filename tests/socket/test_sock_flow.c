/*
 * Flow control. A fast writer and a slow reader: the reader's queue never
 * holds more than its window, the writer never has more than that in
 * flight, and every byte arrives. A hostile peer (a raw endpoint) that
 * sends past the window, acknowledges bytes never sent, or sends garbage
 * has those messages counted and dropped, and cannot make the socket hold
 * more than its window.
 */
#include <unistd.h>

#include "services/socket/sock_wire.h"
#include "sock_fixture.h"

#define WINDOW 2048u
#define TOTAL (512u << 10)

static void test_slow_reader(void **st)
{
    (void)st;
    struct sf f;
    assert_int_equal(sf_open(&f, SF_LOOPBACK), 0);
    struct rpmsg_socket *l = sf_listen_window(&f, "slow", 1, WINDOW);
    struct rpmsg_socket *c = sf_connect(&f, RPMSG_SOCK_STREAM, "slow");
    struct rpmsg_socket *s = sf_accept(l);
    struct sf_sender w = { c, 9, TOTAL, 65536, 1 };
    struct tu_thread t;
    assert_int_equal(tu_thread_start(&t, sf_send_thread, &w), 0);
    uint8_t buf[100];
    uint64_t got = 0;
    uint32_t max_queued = 0, max_inflight = 0;
    for (;;) {
        struct rpmsg_socket_stats ss, cs;
        assert_int_equal(rpmsg_socket_stats(s, &ss), 0);
        assert_int_equal(rpmsg_socket_stats(c, &cs), 0);
        max_queued = ss.queued > max_queued ? ss.queued : max_queued;
        max_inflight = cs.inflight > max_inflight ? cs.inflight : max_inflight;
        ssize_t r = rpmsg_socket_recv(s, buf, sizeof(buf), 0);
        assert_true(r >= 0);
        if (r == 0)
            break;
        for (ssize_t i = 0; i < r; i++)
            assert_int_equal(buf[i], sf_byte(9, got + (uint64_t)i));
        got += (uint64_t)r;
    }
    assert_int_equal(got, TOTAL);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(w.rc, 0);
    assert_true(max_queued <= WINDOW);
    assert_true(max_inflight <= WINDOW);
    assert_true(max_queued > 0);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    sf_close(&f);
}

static bool malformed_at_least(struct rpmsg_socket *s, uint64_t n)
{
    uint64_t deadline = rpmsg_time_ms() + TU_TIMEOUT_MS;
    struct rpmsg_socket_stats st;
    do {
        assert_int_equal(rpmsg_socket_stats(s, &st), 0);
        if (st.malformed >= n)
            return true;
        usleep(1000);
    } while (rpmsg_time_ms() < deadline);
    return false;
}

static void test_hostile_peer(void **st)
{
    (void)st;
    static struct sf_raw_peer p;
    sf_raw_open(&p, "host", 256);
    struct rpmsg_socket *s = p.s;
    struct rpmsg_endpoint *raw = &p.raw;
    assert_int_equal(tu_get_le32(p.rec.msgs[0].data + 4), 256); /* our window */
    uint8_t m[300];
    sock_put_sync(m, 1024, 1, 2, 3);
    assert_int_equal(rpmsg_send(raw, m, 20), 20);
    /* 200 bytes fit the window; 200 more do not. */
    memset(m + 12, 'a', 200);
    sock_put_data_hdr(m, 0, 200);
    assert_int_equal(rpmsg_send(raw, m, 212), 212);
    assert_int_equal(rpmsg_send(raw, m, 212), 212);
    assert_true(malformed_at_least(s, 1));
    /* Acknowledging bytes we never sent; an unknown command; a short SYNC;
     * DATA whose len disagrees with its size; SHUTDOWN with bad bits. */
    sock_put_data_hdr(m, 5000, 0);
    assert_int_equal(rpmsg_send(raw, m, 12), 12);
    tu_put_le32(m, 77);
    assert_int_equal(rpmsg_send(raw, m, 12), 12);
    sock_put_sync(m, 1024, 0, 0, 0);
    assert_int_equal(rpmsg_send(raw, m, 6), 6);
    sock_put_data_hdr(m, 0, 9);
    assert_int_equal(rpmsg_send(raw, m, 14), 14);
    sock_put_shutdown(m, 8);
    assert_int_equal(rpmsg_send(raw, m, 8), 8);
    assert_true(malformed_at_least(s, 6));
    /* The socket holds the 200 good bytes and goes on working. */
    struct rpmsg_socket_stats ss;
    assert_int_equal(rpmsg_socket_stats(s, &ss), 0);
    assert_int_equal(ss.queued, 200);
    assert_int_equal(ss.malformed, 6);
    char b[256];
    assert_int_equal(rpmsg_socket_recv(s, b, sizeof(b), 0), 200);
    assert_int_equal(b[199], 'a');
    assert_int_equal(rpmsg_socket_send(s, "ok", 2, 0), 2);
    sf_raw_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_reader),
        cmocka_unit_test(test_hostile_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
