/*
 * A stream through a router hop: c0 -- c1 -- c2 in this process, the client
 * on c0, the listener on c2, the hub c1 relaying. 2 MiB each way, every
 * byte checked, then end of stream both ways; then a long stream one way:
 * 64 MiB (1 GiB in `make soak`), every byte checked against its generator.
 */
#include "../router/router_fixture.h"
#include "sock_fixture.h"

#define HOP_BYTES (2u << 20)
#define LONG_BYTES (64ull << 20)
#define SOAK_BYTES (1ull << 30)

/* Both ways (HOP_BYTES), or total one way from client to server. */
static void run_hub(uint64_t one_way)
{
    static const char *const names[3] = { "c0", "c1", "c2" };
    struct rf_topo t;
    rf_watch_start();
    assert_int_equal(rf_chain_open(&t, 3, names, NULL), 0);
    struct rpmsg_device *d0 = rf_wait_dev("c0", "c2", 1, 0);
    struct rpmsg_device *d2 = rf_wait_dev("c2", "c0", 1, 0);
    assert_non_null(d0);
    assert_non_null(d2);

    /* Several cores share this process: each socket is tied to its core's
     * link to the other end. */
    struct rpmsg_socket *l = NULL, *c = NULL, *s = NULL;
    assert_int_equal(rpmsg_socket_open(&l, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_set_device(l, d2), 0);
    struct rpmsg_sockaddr la = sf_addr("c0", "hop");
    assert_int_equal(rpmsg_socket_bind(l, &la), 0);
    assert_int_equal(rpmsg_socket_listen(l, 1), 0);
    assert_int_equal(rpmsg_socket_open(&c, RPMSG_SOCK_STREAM), 0);
    assert_int_equal(rpmsg_socket_set_device(c, d0), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(c, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);
    struct rpmsg_sockaddr ca = sf_addr("c2", "hop");
    assert_int_equal(rpmsg_socket_connect(c, &ca), 0);
    struct rpmsg_sockaddr peer;
    assert_int_equal(rpmsg_socket_accept(l, &s, &peer), 0);
    assert_string_equal(peer.cpu, "c0");
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_SNDTIMEO, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_socket_setopt(s, RPMSG_SO_RCVTIMEO, TU_TIMEOUT_MS), 0);

    if (one_way) {
        struct sf_sender up = { c, 33, one_way, 65536, -1 };
        struct tu_thread tu;
        assert_int_equal(tu_thread_start(&tu, sf_send_thread, &up), 0);
        assert_int_equal(sf_recv_stream(s, 33, 65536), (int64_t)one_way);
        assert_int_equal(tu_thread_join(&tu, TU_TIMEOUT_MS), 0);
        assert_int_equal(up.rc, 0);
    } else {
        sf_both_ways(c, s, HOP_BYTES, 65536, 65536, 5000, 3000);
    }
    struct rpmsg_socket_stats stats;
    assert_int_equal(rpmsg_socket_stats(s, &stats), 0);
    assert_int_equal(stats.malformed, 0);
    rpmsg_socket_close(c);
    rpmsg_socket_close(s);
    rpmsg_socket_close(l);
    rf_chain_close(&t);
    rf_watch_stop();
}

static void test_stream_through_hub(void **st)
{
    (void)st;
    run_hub(0);
}

static void test_long_stream_through_hub(void **st)
{
    (void)st;
    run_hub(tu_soak_factor() > 1 ? SOAK_BYTES : LONG_BYTES);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stream_through_hub),
        cmocka_unit_test(test_long_stream_through_hub),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
