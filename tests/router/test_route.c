/*
 * One hub: big --L1-- A (hub) --L2-- B. B appears on big as a device named
 * "B" and big on B as "big"; services bind by their full 31-character name
 * across the hop; data flows both ways in order; the route's payload limit
 * is the minimum along the path; waiting inside a callback on a virtual
 * device works; zero-copy buffers and held RX buffers map onto the links.
 */
#include "router_fixture.h"

static const char *const NAMES3[] = { "big", "A", "B" };

struct fx {
    struct rf_topo t;
    struct rf_app app[2];
    int napps;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    rf_watch_start();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < f->napps; i++)
        rf_app_stop(&f->app[i]);
    rf_chain_close(&f->t);
    for (int i = 0; i < f->napps; i++)
        rf_app_deinit(&f->app[i]);
    rf_watch_stop();
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static struct rf_app *app(struct fx *f, const char *local, const char *remote, const char *name,
                          bool client)
{
    struct rf_app *a = &f->app[f->napps++];
    rf_app_init(a, local, remote, name, client);
    return a;
}

static void assert_clean(struct fx *f)
{
    for (int i = 0; i < f->t.ncores; i++)
        assert_int_equal(rf_drops(f->t.r[i]), 0);
}

/* A service on B, found by name from big with all 31 characters. */
static void test_discovery(void **state)
{
    struct fx *f = *state;
    struct rf_app *srv = app(f, "B", "big", RF_NAME31, false);
    struct rf_app *cli = app(f, "big", "B", RF_NAME31, true);
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);

    struct rpmsg_device *on_big = rf_wait_dev("big", "B", 1, 0);
    struct rpmsg_device *on_b = rf_wait_dev("B", "big", 1, 0);
    assert_non_null(on_big);
    assert_non_null(on_b);
    assert_string_equal(rpmsg_get_cpuname(on_big), "B");
    assert_string_equal(rpmsg_get_local_cpuname(on_big), "big");
    assert_string_equal(rpmsg_get_cpuname(on_b), "big");
    assert_ptr_equal(rpmsg_router_find(f->t.r[0], "B"), on_big);
    assert_ptr_equal(rpmsg_router_find(f->t.r[2], "big"), on_b);
    assert_true(rpmsg_device_is_up(on_big));
    /* The hub's neighbours are direct: no virtual device for them anywhere. */
    assert_null(rpmsg_router_find(f->t.r[0], "A"));
    assert_null(rpmsg_router_find(f->t.r[1], "B"));
    assert_int_equal(rf_count("A", "big", true) + rf_count("A", "B", true), 0);

    assert_int_equal(tu_event_wait(&cli->binds, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(strlen(cli->bound_name), 31);
    assert_string_equal(cli->bound_name, RF_NAME31);
    assert_int_equal(rf_app_wait_ready(cli), 0);
    assert_int_equal(rf_app_wait_ready(srv), 0); /* CREATE_ACK came back through the hub */
    assert_int_equal(cli->bound_dest, srv->ept.addr);
    assert_int_equal(srv->ept.dest_addr, cli->ept.addr);

    /* 512-byte buffers on both hops: 512 - 16 (tunnel) - 16 (inner header). */
    assert_int_equal(rpmsg_get_tx_buffer_size(&cli->ept), 480);
    assert_int_equal(rpmsg_get_tx_buffer_size(&srv->ept), 480);

    assert_int_equal(rf_send_stream(&cli->ept, 0, 1, 480), 1);
    assert_int_equal(rf_stream_wait(&srv->rx, 1), 0);
    assert_int_equal(rf_send_stream(&srv->ept, 0, 1, 480), 1);
    assert_int_equal(rf_stream_wait(&cli->rx, 1), 0);
    assert_int_equal(srv->rx.bad_seq + srv->rx.bad_sum + cli->rx.bad_seq + cli->rx.bad_sum, 0);

    struct rpmsg_router_stats hub = rf_rstats(f->t.r[1]);
    assert_true(hub.relayed_msgs >= 2);
    assert_int_equal(rf_rstats(f->t.r[0]).routes_up, 1);
    assert_int_equal(rf_rstats(f->t.r[2]).routes_up, 1);
    assert_clean(f);
}

/* Thousands of numbered messages each way at once: exact counts, order, content. */
static void test_data_both_ways(void **state)
{
    struct fx *f = *state;
    const unsigned N = 3000;
    struct rf_app *pb = app(f, "B", "big", "stream", false);
    struct rf_app *pg = app(f, "big", "B", "stream", false);
    pb->rx.max_len = pg->rx.max_len = 480;
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    assert_int_equal(rf_app_wait_ready(pg), 0);
    assert_int_equal(rf_app_wait_ready(pb), 0);

    struct rf_sender s1 = { &pg->ept, 0, N, 480, 0 }, s2 = { &pb->ept, 0, N, 480, 0 };
    struct tu_thread t1, t2;
    assert_int_equal(tu_thread_start(&t1, rf_sender_main, &s1), 0);
    assert_int_equal(tu_thread_start(&t2, rf_sender_main, &s2), 0);
    assert_int_equal(tu_thread_join(&t1, 60000), 0);
    assert_int_equal(tu_thread_join(&t2, 60000), 0);
    assert_int_equal(s1.result, (int)N);
    assert_int_equal(s2.result, (int)N);
    assert_int_equal(rf_stream_wait(&pb->rx, N), 0);
    assert_int_equal(rf_stream_wait(&pg->rx, N), 0);
    assert_int_equal(pb->rx.count, N);
    assert_int_equal(pg->rx.count, N);
    assert_int_equal(pb->rx.bad_seq, 0);
    assert_int_equal(pb->rx.bad_sum, 0);
    assert_int_equal(pb->rx.bad_len, 0);
    assert_int_equal(pg->rx.bad_seq, 0);
    assert_int_equal(pg->rx.bad_sum, 0);
    assert_int_equal(pg->rx.bad_len, 0);

    struct rpmsg_router_stats hub = rf_rstats(f->t.r[1]);
    assert_true(hub.relayed_msgs >= 2 * N);
    assert_int_equal(rf_rstats(f->t.r[0]).tunnel_rx, rf_rstats(f->t.r[2]).tunnel_tx);
    struct rpmsg_stats vb = tu_stats(pg->dev), vg = tu_stats(pb->dev);
    assert_int_equal(vb.rx_msgs, N);
    assert_int_equal(vg.rx_msgs, N);
    assert_int_equal(vb.drop_bad_header + vb.drop_unknown_dst + vb.drop_bad_ns, 0);
    assert_int_equal(vg.drop_bad_header + vg.drop_unknown_dst + vg.drop_bad_ns, 0);
    assert_clean(f);
}

/* The payload limit is the smallest hop's, whichever side it is on. */
static void check_mtu(struct fx *f, uint32_t l1, uint32_t l2, int expect)
{
    struct rf_app *pb = app(f, "B", "big", "mtu", false);
    struct rf_app *pg = app(f, "big", "B", "mtu", false);
    const uint32_t sizes[] = { l1, l2 };
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, sizes), 0);
    assert_int_equal(rf_app_wait_ready(pg), 0);
    assert_int_equal(rf_app_wait_ready(pb), 0);
    assert_int_equal(rpmsg_get_tx_buffer_size(&pg->ept), expect);
    assert_int_equal(rpmsg_get_tx_buffer_size(&pb->ept), expect);

    static uint8_t buf[1024];
    memset(buf, 0x5A, sizeof(buf));
    assert_int_equal(rpmsg_send(&pg->ept, buf, (size_t)expect + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_send(&pb->ept, buf, (size_t)expect + 1), -EMSGSIZE);
    pb->rx.max_len = pg->rx.max_len = (size_t)expect;
    /* The largest message goes through, in both directions. */
    rf_fill(buf, 0, (size_t)expect);
    assert_int_equal(rpmsg_send(&pg->ept, buf, (size_t)expect), expect);
    assert_int_equal(rpmsg_send(&pb->ept, buf, (size_t)expect), expect);
    assert_int_equal(rf_stream_wait(&pb->rx, 1), 0);
    assert_int_equal(rf_stream_wait(&pg->rx, 1), 0);
    assert_int_equal(pb->rx.bytes, (uint64_t)expect);
    assert_int_equal(pg->rx.bytes, (uint64_t)expect);
    assert_int_equal(pb->rx.bad_sum + pg->rx.bad_sum, 0);
    assert_clean(f);
}

static void test_mtu_small_far(void **state)
{
    check_mtu(*state, 512, 256, 256 - 32);
}

static void test_mtu_small_near(void **state)
{
    check_mtu(*state, 200, 1024, 200 - 32);
}

/*
 * B's callback, on B's virtual device, asks big a question and waits for the
 * answer inside the callback: the answer arrives through the link's RX thread
 * and the device's queue, dispatched nested by the wait.
 */
static void b_ctl(struct rf_app *a, const uint8_t *data, size_t len)
{
    if (len == 3 && !memcmp(data, "req", 3)) {
        TU_CHECK(rf_app_send_ctl(a, "q") == 1);
        TU_CHECK(rpmsg_wait_timeout(&a->ept, &a->sem, TU_TIMEOUT_MS) == 0);
        TU_CHECK(rf_app_send_ctl(a, "done") == 4);
    } else if (len == 1 && data[0] == 'a') {
        rpmsg_post(&a->ept, &a->sem);
    }
}

static void big_ctl(struct rf_app *a, const uint8_t *data, size_t len)
{
    if (len == 1 && data[0] == 'q')
        TU_CHECK(rf_app_send_ctl(a, "a") == 1);
}

static void test_wait_in_callback(void **state)
{
    struct fx *f = *state;
    struct rf_app *pb = app(f, "B", "big", "rpc", false);
    struct rf_app *pg = app(f, "big", "B", "rpc", false);
    pb->on_ctl = b_ctl;
    pg->on_ctl = big_ctl;
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    assert_int_equal(rf_app_wait_ready(pg), 0);
    assert_int_equal(rf_app_wait_ready(pb), 0);
    const unsigned rounds = 50;
    for (unsigned i = 0; i < rounds; i++) {
        assert_int_equal(rf_app_send_ctl(pg, "req"), 3);
        /* big sees "q" then "done": two control words per round */
        assert_int_equal(tu_event_wait(&pg->ctl, 2 * (i + 1), TU_TIMEOUT_MS), 0);
    }
    assert_int_equal(tu_event_count(&pg->ctl), 2 * rounds);
    assert_int_equal(tu_event_wait(&pb->ctl, 2 * rounds, TU_TIMEOUT_MS), 0); /* "req", "a" */
    assert_int_equal(tu_event_count(&pb->ctl), 2 * rounds);
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_clean(f);
}

/* Zero-copy TX through the route, and an RX buffer held on the far end. */
static void *held_ptr;
static unsigned held_len;

static void hold_ctl(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)len;
    if (data[0] == 'H') {
        TU_CHECK(rpmsg_hold_rx_buffer(&a->ept, (void *)data) == 0);
        held_ptr = (void *)data;
        held_len = (unsigned)len;
    }
}

struct free_wait {
    struct rpmsg_loopback *lb;
    struct rpmsg_device *dev;
    uint32_t n;
};

static bool free_is(void *arg)
{
    struct free_wait *w = arg;
    return rpmsg_loopback_free_tx(w->lb, w->dev) == w->n;
}

static void test_zero_copy_and_hold(void **state)
{
    struct fx *f = *state;
    struct rf_app *pb = app(f, "B", "big", "zc", false);
    struct rf_app *pg = app(f, "big", "B", "zc", false);
    pb->on_ctl = hold_ctl;
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    assert_int_equal(rf_app_wait_ready(pg), 0);
    assert_int_equal(rf_app_wait_ready(pb), 0);
    struct rpmsg_loopback *l1 = f->t.link[0].lb, *l2 = f->t.link[1].lb;
    struct rpmsg_device *big_l1 = f->t.link[0].a, *a_l2 = f->t.link[1].a;
    struct free_wait all_l1 = { l1, big_l1, 16 }, all_l2 = { l2, a_l2, 16 };
    assert_int_equal(tu_wait_until(free_is, &all_l1, TU_TIMEOUT_MS), 0);

    /* Taking a buffer on the virtual device takes one of L1's. */
    uint32_t cap = 0;
    uint8_t *p = rpmsg_get_tx_payload_buffer(&pg->ept, &cap, RPMSG_WAIT);
    assert_non_null(p);
    assert_int_equal(cap, 480);
    assert_int_equal(rpmsg_loopback_free_tx(l1, big_l1), 15);
    assert_int_equal(rpmsg_release_tx_buffer(&pg->ept, p), 0);
    assert_int_equal(rpmsg_loopback_free_tx(l1, big_l1), 16);

    p = rpmsg_get_tx_payload_buffer(&pg->ept, &cap, RPMSG_WAIT);
    assert_non_null(p);
    p[0] = 'H';
    for (unsigned i = 1; i < 7; i++)
        p[i] = (uint8_t)('0' + i);
    assert_int_equal(rpmsg_send_nocopy(&pg->ept, p, 7), 7);
    assert_int_equal(tu_event_wait(&pb->ctl, 1, TU_TIMEOUT_MS), 0);
    assert_non_null(held_ptr);
    assert_int_equal(held_len, 7);

    /* B holds the inner message: the L2 buffer (A -> B) stays out. */
    struct free_wait held_l2 = { l2, a_l2, 15 };
    assert_int_equal(tu_wait_until(free_is, &held_l2, TU_TIMEOUT_MS), 0);
    assert_memory_equal(held_ptr, "H123456", 7);
    assert_int_equal(rpmsg_release_rx_buffer(&pb->ept, held_ptr), 0);
    assert_int_equal(tu_wait_until(free_is, &all_l2, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(free_is, &all_l1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rf_rstats(f->t.r[2]).rx_bounced, 0);
    assert_clean(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_discovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_data_both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtu_small_far, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mtu_small_near, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_copy_and_hold, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
