/*
 * One hub: big --L1-- A (hub) --L2-- B. B appears on big as a device named
 * "B" and big on B as "big"; services bind by their full 31-character name
 * across the hop; data flows both ways in order; the route's payload limit
 * is the minimum along the path; waiting inside a callback on a virtual
 * device works; zero-copy buffers and held RX buffers map onto the links.
 * A far core's callbacks run on the carrier link's RX thread, or on the
 * virtual device's own with rx_thread_per_far_core; the waiting tests run
 * both ways, and a far core's blocked callback holds up its link only in
 * the first. A sender that found the virtual device's table of taken
 * buffers full is woken when one of them goes.
 */
#include <unistd.h>

#include "router_fixture.h"

static const char *const NAMES3[] = { "big", "A", "B" };

struct fx {
    struct rf_topo t;
    struct rf_app app[4];
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
    rf_num_bufs = 16;
    rf_own_rx = false;
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

/* A service `name` between big and B, each side's short words to on_big / on_b. */
static void open_pair(struct fx *f, const char *name, rf_ctl_fn on_big, rf_ctl_fn on_b,
                      struct rf_app **pg, struct rf_app **pb)
{
    *pb = app(f, "B", "big", name, false);
    *pg = app(f, "big", "B", name, false);
    (*pb)->on_ctl = on_b;
    (*pg)->on_ctl = on_big;
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    assert_int_equal(rf_app_wait_ready(*pg), 0);
    assert_int_equal(rf_app_wait_ready(*pb), 0);
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
    struct rf_app *pb, *pg;
    open_pair(f, "rpc", big_ctl, b_ctl, &pg, &pb);
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

static void test_wait_in_callback_own_thread(void **state)
{
    rf_own_rx = true;
    test_wait_in_callback(state);
}

/*
 * B answers every word from big inside the callback, with 4 buffers per link
 * direction: the answer often waits for a buffer, on the thread that must
 * also take L2's buffers back. Every word is answered, in order of arrival.
 */
struct echo_count {
    pthread_mutex_t lock;
    unsigned got, bad;
};
static struct echo_count echo_rx = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void b_echo(struct rf_app *a, const uint8_t *data, size_t len)
{
    if (len == 4 && data[0] == 'e')
        TU_CHECK(rpmsg_send(&a->ept, data, len) == 4);
}

static void big_count(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)a;
    pthread_mutex_lock(&echo_rx.lock);
    /* "e" + 3 bytes of the word's number, back in the order sent */
    unsigned n = len == 4 ? (unsigned)data[1] | (unsigned)data[2] << 8 | (unsigned)data[3] << 16 : ~0u;
    if (n != echo_rx.got)
        echo_rx.bad++;
    echo_rx.got++;
    pthread_mutex_unlock(&echo_rx.lock);
}

static void test_echo_in_callback(void **state)
{
    struct fx *f = *state;
    const unsigned N = 3000;
    rf_num_bufs = 4;
    echo_rx.got = echo_rx.bad = 0;
    struct rf_app *pb, *pg;
    open_pair(f, "echo", big_count, b_echo, &pg, &pb);
    for (unsigned i = 0; i < N; i++) {
        uint8_t w[4] = { 'e', (uint8_t)i, (uint8_t)(i >> 8), (uint8_t)(i >> 16) };
        assert_int_equal(rpmsg_send(&pg->ept, w, 4), 4);
    }
    assert_int_equal(tu_event_wait(&pg->ctl, N, TU_TIMEOUT_MS), 0);
    /* B counts a word after its answer is out: big may be first */
    assert_int_equal(tu_event_wait(&pb->ctl, N, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_count(&pg->ctl), N);
    assert_int_equal(tu_event_count(&pb->ctl), N);
    assert_int_equal(echo_rx.got, N);
    assert_int_equal(echo_rx.bad, 0);
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_clean(f);
}

static void test_echo_in_callback_own_thread(void **state)
{
    rf_own_rx = true;
    test_echo_in_callback(state);
}

/* On B: a far core's endpoint (big's, through A) and a neighbour's (A's),
 * both over L2; their callbacks for short words are on_far and on_near. */
static void open_far_near(struct fx *f, rf_ctl_fn on_far, rf_ctl_fn on_near,
                          struct rf_app *out[4])
{
    struct rf_app *pb = app(f, "B", "big", "far", false);
    struct rf_app *pg = app(f, "big", "B", "far", false);
    struct rf_app *nb = app(f, "B", "A", "near", false);
    struct rf_app *na = app(f, "A", "B", "near", false);
    nb->near = na->near = true;
    pb->on_ctl = on_far;
    nb->on_ctl = on_near;
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    struct rf_app *all[] = { pb, pg, nb, na };
    for (int i = 0; i < 4; i++) {
        assert_int_equal(rf_app_wait_ready(all[i]), 0);
        out[i] = all[i];
    }
}

/*
 * Where B runs a far core's callbacks: on the thread of L2 (the link they
 * arrive on), the thread that runs A's (a neighbour's) callbacks; with
 * rx_thread_per_far_core, on another. Either way that thread is the virtual
 * device's RX context.
 */
static pthread_t seen_far, seen_near;
static bool far_ctx;

static void note_far(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)len, (void)data;
    seen_far = pthread_self();
    far_ctx = rpmsg_device_on_rx_context(a->dev);
}

static void note_near(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)a, (void)len, (void)data;
    seen_near = pthread_self();
}

static void check_threads(struct fx *f, bool own)
{
    rf_own_rx = own;
    far_ctx = false;
    struct rf_app *a[4];
    open_far_near(f, note_far, note_near, a);
    struct rf_app *pb = a[0], *pg = a[1], *nb = a[2], *na = a[3];
    /* The link's thread delivers only while the far core's own RX thread is
     * idle (vdev.c); under load it may still be busy: try again. */
    unsigned long round = 0;
    do {
        if (round++)
            usleep(20000 * round);
        assert_int_equal(rf_app_send_ctl(pg, "x"), 1);
        assert_int_equal(rf_app_send_ctl(na, "y"), 1);
        assert_int_equal(tu_event_wait(&pb->ctl, round, TU_TIMEOUT_MS), 0);
        assert_int_equal(tu_event_wait(&nb->ctl, round, TU_TIMEOUT_MS), 0);
        assert_true(far_ctx);
    } while (!own && !pthread_equal(seen_far, seen_near) && round < 10);
    assert_true(rpmsg_router_is_virtual(pb->dev));
    assert_false(rpmsg_router_is_virtual(nb->dev));
    assert_int_equal(pthread_equal(seen_far, seen_near) != 0, !own);
    assert_false(rpmsg_device_on_rx_context(pb->dev)); /* not this thread */
    assert_clean(f);
}

static void test_far_callbacks_on_link_thread(void **state)
{
    check_threads(*state, false);
}

static void test_far_callbacks_on_own_thread(void **state)
{
    check_threads(*state, true);
}

/*
 * The price of delivering on the link's thread: on B, a far core's callback
 * that blocks holds up L2, so A's (a neighbour's) next message waits for it.
 * With rx_thread_per_far_core it does not. Either way everything arrives
 * once the callback returns.
 */
static struct tu_event far_blocked, far_gate;
static struct rpmsg_device *_Atomic link_dev;
static _Atomic bool far_inline;

static void far_block(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)a;
    if (len == 5 && !memcmp(data, "block", 5)) {
        far_inline = rpmsg_device_on_rx_context(link_dev);
        unsigned long n = tu_event_count(&far_blocked) + 1;
        tu_event_post(&far_blocked);
        TU_CHECK(tu_event_wait(&far_gate, n, TU_TIMEOUT_MS) == 0);
    }
}

static void check_blocking(struct fx *f, bool own)
{
    rf_own_rx = own;
    tu_event_init(&far_blocked);
    tu_event_init(&far_gate);
    struct rf_app *a[4];
    open_far_near(f, far_block, NULL, a);
    struct rf_app *pb = a[0], *pg = a[1], *nb = a[2], *na = a[3];
    link_dev = nb->dev;
    /* On the link's thread only while the far core's own RX thread is idle
     * (vdev.c): under load it may not be, and the message goes to that
     * thread, which holds up nobody. Such a round is tried again. */
    bool held_link = false;
    for (unsigned long round = 1; round <= (own ? 1 : 10) && !held_link; round++) {
        if (round > 1)
            usleep(20000 * round); /* the far core's thread goes idle again */
        assert_int_equal(rf_app_send_ctl(pg, "block"), 5);
        assert_int_equal(tu_event_wait(&far_blocked, round, TU_TIMEOUT_MS), 0);
        bool inl = far_inline;
        assert_int_equal(rf_app_send_ctl(na, "y"), 1);
        if (own)
            assert_false(inl);
        if (inl) /* long enough for L2's thread to have delivered it, were it free */
            assert_int_equal(tu_event_wait(&nb->ctl, round, 200), -ETIMEDOUT);
        else
            assert_int_equal(tu_event_wait(&nb->ctl, round, TU_TIMEOUT_MS), 0);
        held_link = inl;
        assert_int_equal(tu_event_count(&pb->ctl), round - 1); /* still blocked */
        tu_event_post(&far_gate);
        assert_int_equal(tu_event_wait(&pb->ctl, round, TU_TIMEOUT_MS), 0);
        assert_int_equal(tu_event_wait(&nb->ctl, round, TU_TIMEOUT_MS), 0);
        assert_int_equal(tu_event_count(&nb->ctl), round);
    }
    assert_int_equal(held_link, !own);
    assert_clean(f);
    tu_event_deinit(&far_gate);
    tu_event_deinit(&far_blocked);
}

static void test_blocked_far_callback_holds_link(void **state)
{
    check_blocking(*state, false);
}

static void test_blocked_far_callback_own_thread(void **state)
{
    check_blocking(*state, true);
}

/*
 * A far core's callback destroys its own endpoint: no deadlock on whichever
 * thread delivered it, big's endpoint is unbound, and L2 carries on.
 */
static void far_die(struct rf_app *a, const uint8_t *data, size_t len)
{
    if (len == 3 && !memcmp(data, "die", 3) && __atomic_exchange_n(&a->live, false, __ATOMIC_ACQ_REL))
        TU_CHECK(rpmsg_destroy_ept(&a->ept) == 0);
}

static void check_die(struct fx *f, bool own)
{
    rf_own_rx = own;
    struct rf_app *a[4];
    open_far_near(f, far_die, NULL, a);
    struct rf_app *pb = a[0], *pg = a[1], *nb = a[2], *na = a[3];
    assert_int_equal(rf_app_send_ctl(pg, "die"), 3);
    assert_int_equal(tu_event_wait(&pb->ctl, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_wait(&pg->unbinds, 1, TU_TIMEOUT_MS), 0);
    assert_false(__atomic_load_n(&pb->live, __ATOMIC_ACQUIRE));
    assert_int_equal(rf_app_send_ctl(na, "y"), 1);
    assert_int_equal(tu_event_wait(&nb->ctl, 1, TU_TIMEOUT_MS), 0);
    assert_clean(f);
}

static void test_far_callback_destroys_its_endpoint(void **state)
{
    check_die(*state, false);
}

static void test_far_callback_destroys_its_endpoint_own_thread(void **state)
{
    check_die(*state, true);
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
    struct rf_app *pb, *pg;
    open_pair(f, "zc", NULL, hold_ctl, &pg, &pb);
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

struct taker {
    struct rpmsg_endpoint *ept;
    uint8_t *p;
};

struct waits_past {
    struct rpmsg_device *dev;
    uint64_t n;
};

static bool waits_past(void *arg)
{
    struct waits_past *w = arg;
    struct rpmsg_stats st;
    return rpmsg_get_stats(w->dev, &st) == 0 && st.tx_waits > w->n;
}

static void *take_one(void *arg)
{
    struct taker *t = arg;
    uint32_t cap = 0;
    t->p = rpmsg_get_tx_payload_buffer(t->ept, &cap, RPMSG_WAIT);
    return NULL;
}

/* RPMSG_ROUTER_TX_MAX buffers taken on the virtual device, none sent: the
 * next taker waits with L1 buffers still free, and giving one back (sent or
 * released) must wake it, not its send timeout. */
static void test_full_tx_table_wakes_taker(void **state)
{
    struct fx *f = *state;
    rf_num_bufs = 2 * RPMSG_ROUTER_TX_MAX;
    struct rf_app *pb, *pg;
    open_pair(f, "tt", NULL, NULL, &pg, &pb);
    assert_int_equal(rpmsg_set_send_timeout(pg->ept.rdev, 6 * TU_TIMEOUT_MS), 0);
    uint8_t *p[RPMSG_ROUTER_TX_MAX];
    uint32_t cap = 0;
    for (unsigned i = 0; i < RPMSG_ROUTER_TX_MAX; i++) {
        p[i] = rpmsg_get_tx_payload_buffer(&pg->ept, &cap, RPMSG_NOWAIT);
        assert_non_null(p[i]);
    }
    assert_null(rpmsg_get_tx_payload_buffer(&pg->ept, &cap, RPMSG_NOWAIT));
    assert_true(rpmsg_loopback_free_tx(f->t.link[0].lb, f->t.link[0].a) > 0);

    for (unsigned round = 0; round < 2; round++) {
        struct taker t = { &pg->ept, NULL };
        struct tu_thread th;
        struct rpmsg_stats st;
        assert_int_equal(rpmsg_get_stats(pg->ept.rdev, &st), 0);
        struct waits_past w = { pg->ept.rdev, st.tx_waits };
        assert_int_equal(tu_thread_start(&th, take_one, &t), 0);
        assert_int_equal(tu_wait_until(waits_past, &w, TU_TIMEOUT_MS), 0); /* it waits */
        unsigned i = RPMSG_ROUTER_TX_MAX - 1 - round;
        if (round == 0) {
            assert_int_equal(rpmsg_release_tx_buffer(&pg->ept, p[i]), 0);
        } else {
            memcpy(p[i], "last", 4);
            assert_int_equal(rpmsg_send_nocopy(&pg->ept, p[i], 4), 4);
        }
        assert_int_equal(tu_thread_join(&th, TU_TIMEOUT_MS), 0);
        assert_non_null(t.p);
        p[i] = t.p;
    }
    for (unsigned i = 0; i < RPMSG_ROUTER_TX_MAX; i++)
        assert_int_equal(rpmsg_release_tx_buffer(&pg->ept, p[i]), 0);
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
        cmocka_unit_test_setup_teardown(test_wait_in_callback_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_echo_in_callback_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_far_callbacks_on_link_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_far_callbacks_on_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_far_callback_holds_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocked_far_callback_own_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_far_callback_destroys_its_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_far_callback_destroys_its_endpoint_own_thread, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_zero_copy_and_hold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_tx_table_wakes_taker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
