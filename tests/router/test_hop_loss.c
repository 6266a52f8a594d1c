/*
 * Loss of a hop: big --L1-- A (hub) --L2-- B. Cutting either link takes the
 * virtual devices at both far ends down (device_destroyed, endpoints
 * unbound); restoring it brings the route, the devices and the bindings back
 * by themselves, and traffic resumes with exact counts. Nothing leaks: every
 * link buffer is back in its pool at the end.
 *
 * The hub's held relay: with B's callback stalled, A runs out of L2 buffers
 * and holds the L1 buffers it receives until L2 has buffers again; in order
 * when B goes on, given back unsent when the route is cut meanwhile.
 */
#include "router_fixture.h"

static const char *const NAMES3[] = { "big", "A", "B" };

/* Like rf_sender, but a send caught by the cut (-ENOTCONN: the buffer was
 * taken on the route that just went) is counted as lost, not fatal. */
struct lossy {
    struct rpmsg_endpoint *ept;
    unsigned n, lost;
    int result;
};

static void *lossy_main(void *arg)
{
    struct lossy *s = arg;
    uint8_t buf[RPMSG_BUFFER_SIZE];
    s->result = 0;
    for (uint32_t seq = 0; seq < s->n; seq++) {
        size_t len = rf_len(seq, 480);
        rf_fill(buf, seq, len);
        int rc = rpmsg_send(s->ept, buf, len);
        if (rc == -ENOTCONN) {
            s->lost++;
        } else if (rc != (int)len) {
            s->result = rc;
            return NULL;
        }
    }
    s->result = (int)s->n;
    return NULL;
}

struct fx {
    struct rf_topo t;
    struct rf_app pg, pb;   /* persistent peers "flap" */
    struct rf_app cli, srv; /* NuttX-style client on big, server on B */
    struct tu_thread sender; /* the held-relay tests' (joined by teardown) */
    struct lossy ls;
    bool sending;
};

/* B's callback stops at the control word "gate" until the test opens it,
 * holding B's carrier thread and with it every L2 buffer that reaches B. */
static struct tu_event gate_entered, gate_open;

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    rf_watch_start();
    tu_event_init(&gate_entered);
    tu_event_init(&gate_open);
    rf_app_init(&f->pg, "big", "B", "flap", false);
    rf_app_init(&f->pb, "B", "big", "flap", false);
    rf_app_init(&f->cli, "big", "B", RF_NAME31, true);
    rf_app_init(&f->srv, "B", "big", RF_NAME31, false);
    f->pg.rx.max_len = f->pb.rx.max_len = f->cli.rx.max_len = f->srv.rx.max_len = 480;
    if (rf_chain_open(&f->t, 3, NAMES3, NULL))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    struct rf_app *apps[] = { &f->pg, &f->pb, &f->cli, &f->srv };
    tu_event_post(&gate_open); /* a failed test may have left B stalled */
    for (int i = 0; i < 4; i++)
        rf_app_stop(apps[i]);
    if (f->sending)
        TU_CHECK(tu_thread_join(&f->sender, 60000) == 0);
    rf_chain_close(&f->t);
    tu_event_deinit(&gate_open);
    tu_event_deinit(&gate_entered);
    for (int i = 0; i < 4; i++)
        rf_app_deinit(apps[i]);
    rf_watch_stop();
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void wait_all_ready(struct fx *f, unsigned binds)
{
    assert_int_equal(rf_app_wait_ready(&f->pg), 0);
    assert_int_equal(rf_app_wait_ready(&f->pb), 0);
    assert_int_equal(tu_event_wait(&f->cli.binds, binds, TU_TIMEOUT_MS), 0);
    assert_int_equal(rf_app_wait_ready(&f->cli), 0);
    assert_int_equal(rf_app_wait_ready(&f->srv), 0);
}

/* n numbered messages arrived on s, once each, whole and in order. */
static void assert_exact(struct rf_stream *s, unsigned n)
{
    assert_int_equal(rf_stream_wait(s, n), 0);
    assert_int_equal(s->count, n);
    assert_int_equal(s->bad_seq, 0);
    assert_int_equal(s->bad_sum, 0);
    assert_int_equal(s->bad_len, 0);
}

/* n numbered messages each way on both pairs, all at once; exact counts. */
static void traffic(struct fx *f, unsigned n)
{
    struct rf_app *tx[4] = { &f->pg, &f->pb, &f->cli, &f->srv };
    struct rf_app *rx[4] = { &f->pb, &f->pg, &f->srv, &f->cli };
    struct rf_sender s[4];
    struct tu_thread t[4];
    for (int i = 0; i < 4; i++) {
        rf_stream_reset(&rx[i]->rx, 0);
        s[i] = (struct rf_sender){ &tx[i]->ept, 0, n, 480, 0 };
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(tu_thread_start(&t[i], rf_sender_main, &s[i]), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(tu_thread_join(&t[i], 60000), 0);
        assert_int_equal(s[i].result, (int)n);
    }
    for (int i = 0; i < 4; i++)
        assert_exact(&rx[i]->rx, n);
}

struct free_wait {
    struct rf_topo *t;
};

static bool pools_full(void *arg)
{
    struct rf_topo *t = arg;
    for (int i = 0; i + 1 < t->ncores; i++)
        if (rpmsg_loopback_free_tx(t->link[i].lb, t->link[i].a) != rf_num_bufs ||
            rpmsg_loopback_free_tx(t->link[i].lb, t->link[i].b) != rf_num_bufs)
            return false;
    return true;
}

/* Cuts link i, checks both far ends lost the route, restores it, checks it is
 * back. `round` counts the previous cuts. */
static void cut_and_restore(struct fx *f, int i, unsigned round)
{
    struct rpmsg_loopback *lb = f->t.link[i].lb;
    unsigned ub = (unsigned)tu_event_count(&f->pg.unbinds);
    assert_int_equal(rpmsg_loopback_link_down(lb), 0);
    struct rpmsg_device *on_big = rf_wait_dev("big", "B", round + 1, round + 1);
    struct rpmsg_device *on_b = rf_wait_dev("B", "big", round + 1, round + 1);
    assert_non_null(on_big);
    assert_non_null(on_b);
    assert_false(rpmsg_device_is_up(on_big));
    assert_false(rpmsg_device_is_up(on_b));
    /* The persistent endpoints were unbound, the client dropped its own. */
    assert_int_equal(tu_event_wait(&f->pg.unbinds, ub + 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_wait(&f->cli.unbinds, round + 1, TU_TIMEOUT_MS), 0);
    assert_false(rpmsg_is_ept_ready(&f->pg.ept));
    assert_int_equal(rpmsg_trysend(&f->pg.ept, "x", 1), -ENOTCONN);
    assert_int_equal(rpmsg_trysend(&f->pb.ept, "x", 1), -ENOTCONN);

    assert_int_equal(rpmsg_loopback_link_up(lb), 0);
    assert_ptr_equal(rf_wait_dev("big", "B", round + 2, round + 1), on_big);
    assert_ptr_equal(rf_wait_dev("B", "big", round + 2, round + 1), on_b);
    wait_all_ready(f, round + 2);
    /* Same device objects: what an application kept stays valid. */
    assert_ptr_equal(rpmsg_router_find(f->t.r[0], "B"), on_big);
    assert_ptr_equal(rpmsg_router_find(f->t.r[2], "big"), on_b);
}

static void test_cut_far_hop(void **state)
{
    struct fx *f = *state;
    wait_all_ready(f, 1);
    traffic(f, 300);
    cut_and_restore(f, 1, 0);
    traffic(f, 500);
    assert_int_equal(rf_rstats(f->t.r[0]).routes_up, 2);
    assert_int_equal(rf_rstats(f->t.r[0]).routes_down, 1);
    assert_int_equal(rf_rstats(f->t.r[2]).routes_down, 1);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

static void test_cut_near_hop(void **state)
{
    struct fx *f = *state;
    wait_all_ready(f, 1);
    traffic(f, 300);
    cut_and_restore(f, 0, 0);
    traffic(f, 500);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

static void test_repeated_flaps(void **state)
{
    struct fx *f = *state;
    wait_all_ready(f, 1);
    unsigned rounds = tu_soak(6);
    for (unsigned round = 0; round < rounds; round++) {
        cut_and_restore(f, (int)(round % 2), round);
        traffic(f, 100);
    }
    assert_int_equal(rf_count("big", "B", true), rounds + 1);
    assert_int_equal(rf_count("big", "B", false), rounds);
    assert_int_equal(rf_count("B", "big", true), rounds + 1);
    assert_int_equal(rf_count("B", "big", false), rounds);
    for (int i = 0; i < 3; i++) {
        if (rf_drops(f->t.r[i])) {
            /* Which one: it failed once under heavy load (1 drop in 6 flaps). */
            struct rpmsg_router_stats st = rf_rstats(f->t.r[i]);
            print_message("router %d: bad_ctrl %llu no_route %llu too_big %llu tx_fail %llu "
                          "queue_full %llu\n", i, (unsigned long long)st.drop_bad_ctrl,
                          (unsigned long long)st.drop_no_route, (unsigned long long)st.drop_too_big,
                          (unsigned long long)st.drop_tx_fail, (unsigned long long)st.drop_queue_full);
        }
        assert_int_equal(rf_drops(f->t.r[i]), 0);
    }
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

/* A cut while messages flow both ways: what was on the cut line is lost (as on
 * any link), nothing hangs or leaks, and the next stream is exact again. */
static void test_cut_under_load(void **state)
{
    struct fx *f = *state;
    wait_all_ready(f, 1);
    const unsigned N = 4000;
    struct lossy s1 = { &f->pg.ept, N, 0, 0 }, s2 = { &f->pb.ept, N, 0, 0 };
    struct tu_thread t1, t2;
    assert_int_equal(tu_thread_start(&t1, lossy_main, &s1), 0);
    assert_int_equal(tu_thread_start(&t2, lossy_main, &s2), 0);
    assert_int_equal(rf_stream_wait(&f->pb.rx, 200), 0);
    assert_int_equal(rpmsg_loopback_link_down(f->t.link[1].lb), 0);
    assert_non_null(rf_wait_dev("big", "B", 1, 1));
    assert_non_null(rf_wait_dev("B", "big", 1, 1));
    assert_int_equal(rpmsg_loopback_link_up(f->t.link[1].lb), 0);
    /* The senders block while the route is down and go on when it is back. */
    assert_int_equal(tu_thread_join(&t1, 60000), 0);
    assert_int_equal(tu_thread_join(&t2, 60000), 0);
    assert_int_equal(s1.result, (int)N);
    assert_int_equal(s2.result, (int)N);
    assert_true(rf_stream_count(&f->pb.rx) + s1.lost <= N);
    assert_true(rf_stream_count(&f->pg.rx) + s2.lost <= N);
    assert_int_equal(f->pb.rx.bad_sum + f->pg.rx.bad_sum, 0);
    wait_all_ready(f, 2);
    /* Nothing of the lossy phase still on its way. A word sent now arrives
     * after all of it (one route, in order), including what waits in a
     * virtual device's queue as a copy, holding no link buffer. */
    unsigned long ctl_b = tu_event_count(&f->pb.ctl), ctl_g = tu_event_count(&f->pg.ctl);
    assert_int_equal(rf_app_send_ctl(&f->pg, "sync"), 4);
    assert_int_equal(rf_app_send_ctl(&f->pb, "sync"), 4);
    assert_int_equal(tu_event_wait(&f->pb.ctl, ctl_b + 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_event_wait(&f->pg.ctl, ctl_g + 1, TU_TIMEOUT_MS), 0);
    /* And every buffer is home. */
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
    traffic(f, 300);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

/* ---- The hub's held relay ------------------------------------------------ */


static void gate_ctl(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)a;
    if (len != 4 || memcmp(data, "gate", 4))
        return;
    tu_event_post(&gate_entered);
    TU_CHECK(tu_event_wait(&gate_open, 1, TU_TIMEOUT_MS) == 0);
}

/* A's receive count on L1 reaching `hub_rx_target`. */
static uint64_t hub_rx_target;

static bool hub_received(void *arg)
{
    struct rf_topo *t = arg;
    return tu_stats(t->link[0].b).rx_msgs >= hub_rx_target;
}

/* Stalls B, then starts a lossy sender of n messages big -> B and waits
 * until A holds some: "gate" and 15 more fill L2's 16 buffers, so from the
 * 17th on A holds what it receives (and 4 more received mean the 17th and
 * the ones behind it are queued, even if a few control messages came too). */
static void stall_and_fill(struct fx *f, unsigned n)
{
    wait_all_ready(f, 1);
    f->pb.on_ctl = gate_ctl;
    hub_rx_target = tu_stats(f->t.link[0].b).rx_msgs + 16 + 4;
    assert_int_equal(rf_app_send_ctl(&f->pg, "gate"), 4);
    assert_int_equal(tu_event_wait(&gate_entered, 1, TU_TIMEOUT_MS), 0);
    f->ls = (struct lossy){ &f->pg.ept, n, 0, 0 };
    assert_int_equal(tu_thread_start(&f->sender, lossy_main, &f->ls), 0);
    f->sending = true;
    assert_int_equal(tu_wait_until(hub_received, &f->t, TU_TIMEOUT_MS), 0);
}

static bool hub_released_held(void *arg)
{
    struct fx *f = arg;
    return rf_rstats(f->t.r[1]).relay_dropped_held > 0;
}

static bool hub_done_with_held(void *arg)
{
    struct fx *f = arg;
    struct rpmsg_router_stats st = rf_rstats(f->t.r[1]);
    return st.relay_held + st.relay_dropped_held > 0;
}

/* The hub held relays and sent every one; nothing dropped anywhere, every
 * buffer home. */
static void assert_held_clean(struct fx *f)
{
    struct rpmsg_router_stats st = rf_rstats(f->t.r[1]);
    assert_true(st.relay_held > 0);
    assert_int_equal(st.relay_dropped_held, 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(rf_drops(f->t.r[i]), 0);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

/* B stalls, A holds what big sends: once B goes on, everything arrives
 * whole and in order, relayed from the held buffers, and every buffer is
 * home. */
static void test_held_relay_in_order(void **state)
{
    struct fx *f = *state;
    const unsigned N = 60; /* more than the two links' buffers hold */
    stall_and_fill(f, N);
    assert_int_equal(rf_stream_count(&f->pb.rx), 0);
    tu_event_post(&gate_open);
    f->sending = false;
    assert_int_equal(tu_thread_join(&f->sender, 60000), 0);
    const struct lossy s = f->ls;
    assert_int_equal(s.result, (int)N);
    assert_int_equal(s.lost, 0);
    assert_exact(&f->pb.rx, N);
    assert_held_clean(f);
}

static bool hub_waited(void *arg)
{
    struct fx *f = arg;
    return rf_rstats(f->t.r[1]).relay_waits > 0;
}

/* B stalls until A holds every L1 buffer big can fill (L1 has 16, fewer
 * than RPMSG_ROUTER_RELAY_MAX): A's L1 RX thread queues them all and never
 * waits, so a burst that fits in the link it came by costs the hub no
 * sleep (nor the other routes over L1 their RX thread). Then everything
 * arrives, whole and in order. */
static void test_held_link_full_no_wait(void **state)
{
    struct fx *f = *state;
    const unsigned N = 80;
    _Static_assert(16 <= RPMSG_ROUTER_RELAY_MAX, "L1's buffers fit in one route's queue");
    stall_and_fill(f, N);
    /* "gate", 15 more in L2's buffers, 16 held: big's whole pool. */
    hub_rx_target += 16 - 4;
    assert_int_equal(tu_wait_until(hub_received, &f->t, TU_TIMEOUT_MS), 0);
    assert_int_equal(rf_rstats(f->t.r[1]).relay_waits, 0);
    tu_event_post(&gate_open);
    f->sending = false;
    assert_int_equal(tu_thread_join(&f->sender, 60000), 0);
    assert_int_equal(f->ls.result, (int)N);
    assert_exact(&f->pb.rx, N);
    assert_held_clean(f);
    assert_int_equal(rf_rstats(f->t.r[1]).relay_waits, 0);
}

/* Links with more buffers than one route may hold: once RPMSG_ROUTER_RELAY_MAX
 * wait, A's L1 RX thread waits for the queue to drain (the backpressure on
 * big), and when B goes on everything arrives, whole and in order. */
static int setup_deep(void **state)
{
    rf_num_bufs = 2 * RPMSG_ROUTER_RELAY_MAX + 16;
    return setup(state);
}

static int teardown_deep(void **state)
{
    int rc = teardown(state);
    rf_num_bufs = 16;
    return rc;
}

static void test_held_queue_full_waits(void **state)
{
    struct fx *f = *state;
    const unsigned N = 4 * RPMSG_ROUTER_RELAY_MAX + 64;
    stall_and_fill(f, N);
    assert_int_equal(tu_wait_until(hub_waited, f, TU_TIMEOUT_MS), 0);
    assert_int_equal(rf_stream_count(&f->pb.rx), 0);
    tu_event_post(&gate_open);
    f->sending = false;
    assert_int_equal(tu_thread_join(&f->sender, 60000), 0);
    assert_int_equal(f->ls.result, (int)N);
    assert_int_equal(f->ls.lost, 0);
    assert_exact(&f->pb.rx, N);
    assert_held_clean(f);
}

/* After a cut: the route is back, every buffer home, exact traffic again. */
static void recovers(struct fx *f)
{
    wait_all_ready(f, 2);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
    /* Every buffer home is not every message delivered: one set aside in
     * a receiver's backlog (copied, its buffer given back) may still come.
     * A marker each way, behind anything of the cut's bursts on the same
     * endpoints, keeps those out of the exact count below. */
    struct rf_app *to[2] = { &f->pb, &f->pg }, *from[2] = { &f->pg, &f->pb };
    for (int k = 0; k < 2; k++) {
        unsigned long n = tu_event_count(&to[k]->ctl);
        assert_int_equal(rf_app_send_ctl(from[k], "end"), 3);
        assert_int_equal(tu_event_wait(&to[k]->ctl, n + 1, TU_TIMEOUT_MS), 0);
    }
    traffic(f, 300);
    assert_int_equal(tu_wait_until(pools_full, &f->t, TU_TIMEOUT_MS), 0);
}

/* Cuts link i while B stalls and A holds L1 buffers. The next link (1):
 * A gives them back unsent at once. The link they came from (0): they go
 * out when B goes on, or back unsent if the route died first (A's worker
 * first tells big, on L1, of the lost routes). Either way nothing hangs,
 * every buffer is home again, and the route comes back exact. */
static void held_relay_cut(struct fx *f, int i)
{
    const unsigned N = 60;
    stall_and_fill(f, N);
    assert_int_equal(rpmsg_loopback_link_down(f->t.link[i].lb), 0);
    assert_non_null(rf_wait_dev("big", "B", 1, 1));
    if (i == 1)
        assert_int_equal(tu_wait_until(hub_released_held, f, TU_TIMEOUT_MS), 0);
    tu_event_post(&gate_open);
    assert_non_null(rf_wait_dev("B", "big", 1, 1));
    assert_int_equal(tu_wait_until(hub_done_with_held, f, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->t.link[i].lb), 0);
    f->sending = false;
    assert_int_equal(tu_thread_join(&f->sender, 60000), 0);
    const struct lossy s = f->ls;
    assert_int_equal(s.result, (int)N);
    assert_true(rf_stream_count(&f->pb.rx) + s.lost <= N);
    assert_int_equal(f->pb.rx.bad_sum, 0);
    recovers(f);
}

static void test_held_relay_cut_next(void **state)
{
    held_relay_cut(*state, 1);
}

static void test_held_relay_cut_prev(void **state)
{
    held_relay_cut(*state, 0);
}

/* ---- Bursts both ways: the pump's batches and its wake-ups --------------- */

/* "nap": the receiving side's carrier thread stops a few milliseconds, so
 * that the burst behind it fills the next link and the hub holds (the test
 * asserts only what arrives, not when). */
static void nap_ctl(struct rf_app *a, const uint8_t *data, size_t len)
{
    (void)a;
    if (len != 3 || memcmp(data, "nap", 3))
        return;
    struct timespec ts = { 0, 3 * 1000 * 1000 };
    nanosleep(&ts, NULL);
}

/* rounds x ("nap", then `per` numbered messages) on a's endpoint. lossy: a
 * send the route's loss refused (-ENOTCONN) counts as lost. */
struct burst {
    struct rf_app *a;
    unsigned rounds, per, lost;
    bool lossy;
    int result;
};

static void *burst_main(void *arg)
{
    struct burst *b = arg;
    uint8_t buf[RPMSG_BUFFER_SIZE];
    uint32_t seq = 0;
    for (unsigned r = 0; r < b->rounds; r++) {
        int rc = rf_app_send_ctl(b->a, "nap");
        if (rc != 3 && !(b->lossy && rc == -ENOTCONN)) {
            b->result = rc < 0 ? rc : -EIO;
            return NULL;
        }
        for (unsigned i = 0; i < b->per; i++, seq++) {
            size_t len = rf_len(seq, 480);
            rf_fill(buf, seq, len);
            rc = rpmsg_send(&b->a->ept, buf, len);
            if (b->lossy && rc == -ENOTCONN) {
                b->lost++;
            } else if (rc != (int)len) {
                b->result = rc < 0 ? rc : -EIO;
                return NULL;
            }
        }
    }
    b->result = (int)seq;
    return NULL;
}

static bool hub_held_some(void *arg)
{
    struct fx *f = arg;
    return rf_rstats(f->t.r[1]).relay_held >= 64;
}

/* Starts bursts big -> B and B -> big at once (two more threads besides
 * f->sender's slot, which stays unused). */
static void bursts_start(struct fx *f, struct burst b[2], struct tu_thread t[2], unsigned rounds,
                         bool lossy)
{
    wait_all_ready(f, 1);
    f->pg.on_ctl = f->pb.on_ctl = nap_ctl;
    rf_stream_reset(&f->pb.rx, 0);
    rf_stream_reset(&f->pg.rx, 0);
    b[0] = (struct burst){ .a = &f->pg, .rounds = rounds, .per = 40, .lossy = lossy };
    b[1] = (struct burst){ .a = &f->pb, .rounds = rounds, .per = 40, .lossy = lossy };
    for (int i = 0; i < 2; i++)
        assert_int_equal(tu_thread_start(&t[i], burst_main, &b[i]), 0);
}

/* Held relays by the hundred, both directions of one circuit pumped by the
 * two links' pumps at once: everything arrives once, whole and in order,
 * and every buffer is home. A wake-up of a pump lost when an entry is queued
 * as its queue empties would stall a stream here (the wait times out). */
static void test_held_relay_bursts(void **state)
{
    struct fx *f = *state;
    const unsigned ROUNDS = 30;
    struct burst b[2];
    struct tu_thread t[2];
    bursts_start(f, b, t, ROUNDS, false);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tu_thread_join(&t[i], 60000), 0);
        assert_int_equal(b[i].result, (int)(ROUNDS * 40));
    }
    assert_exact(&f->pb.rx, ROUNDS * 40);
    assert_exact(&f->pg.rx, ROUNDS * 40);
    assert_held_clean(f);
}

/* Link i is cut while both directions' bursts are held and pumped: what was
 * queued goes out or back unsent, never twice and never corrupted; nothing
 * hangs, every buffer comes home, and the route carries exact traffic
 * again. */
static void held_bursts_cut(struct fx *f, int i)
{
    const unsigned ROUNDS = 60;
    struct burst b[2];
    struct tu_thread t[2];
    bursts_start(f, b, t, ROUNDS, true);
    assert_int_equal(tu_wait_until(hub_held_some, f, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_link_down(f->t.link[i].lb), 0);
    assert_non_null(rf_wait_dev("big", "B", 1, 1));
    assert_non_null(rf_wait_dev("B", "big", 1, 1));
    assert_int_equal(rpmsg_loopback_link_up(f->t.link[i].lb), 0);
    struct rf_app *rx[2] = { &f->pb, &f->pg };
    for (int k = 0; k < 2; k++) {
        assert_int_equal(tu_thread_join(&t[k], 60000), 0);
        assert_int_equal(b[k].result, (int)(ROUNDS * 40));
        assert_true(rf_stream_count(&rx[k]->rx) + b[k].lost <= ROUNDS * 40);
        assert_int_equal(rx[k]->rx.bad_sum, 0);
        assert_int_equal(rx[k]->rx.bad_len, 0);
    }
    f->pg.on_ctl = f->pb.on_ctl = NULL;
    recovers(f);
}

static void test_held_bursts_cut_next(void **state)
{
    held_bursts_cut(*state, 1);
}

static void test_held_bursts_cut_prev(void **state)
{
    held_bursts_cut(*state, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cut_far_hop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_near_hop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_repeated_flaps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_under_load, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_relay_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_link_full_no_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_queue_full_waits, setup_deep, teardown_deep),
        cmocka_unit_test_setup_teardown(test_held_relay_cut_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_relay_cut_prev, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_relay_bursts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_bursts_cut_next, setup, teardown),
        cmocka_unit_test_setup_teardown(test_held_bursts_cut_prev, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
