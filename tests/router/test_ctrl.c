/*
 * The control protocol under bad input and changes of the routers
 * themselves: malformed and forged control messages are dropped and counted
 * without disturbing a working route; a hub router that goes away takes its
 * routes down at both ends and a new one brings them back; detaching and
 * re-attaching a link does the same; a far end that stops consuming makes
 * the link's hold table overflow into copies without losing or reordering
 * anything.
 */
#include "router_fixture.h"

static const char *const NAMES3[] = { "big", "A", "B" };

struct fx {
    struct rf_topo t;
    struct rf_app pg, pb;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    rf_watch_start();
    rf_app_init(&f->pg, "big", "B", RF_NAME31, false);
    rf_app_init(&f->pb, "B", "big", RF_NAME31, false);
    f->pg.rx.max_len = f->pb.rx.max_len = 480;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rf_app_stop(&f->pg);
    rf_app_stop(&f->pb);
    rf_chain_close(&f->t);
    rf_app_deinit(&f->pg);
    rf_app_deinit(&f->pb);
    rf_watch_stop();
    rf_num_bufs = 16;
    rf_own_rx = false;
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void open3(struct fx *f)
{
    assert_int_equal(rf_chain_open(&f->t, 3, NAMES3, NULL), 0);
    assert_int_equal(rf_app_wait_ready(&f->pg), 0);
    assert_int_equal(rf_app_wait_ready(&f->pb), 0);
}

/* n numbered messages each way; exact. */
static void traffic(struct fx *f, unsigned n)
{
    rf_stream_reset(&f->pg.rx, 0);
    rf_stream_reset(&f->pb.rx, 0);
    assert_int_equal(rf_send_stream(&f->pg.ept, 0, n, 480), (int)n);
    assert_int_equal(rf_send_stream(&f->pb.ept, 0, n, 480), (int)n);
    assert_int_equal(rf_stream_wait(&f->pb.rx, n), 0);
    assert_int_equal(rf_stream_wait(&f->pg.rx, n), 0);
    assert_int_equal(f->pb.rx.count, n);
    assert_int_equal(f->pg.rx.count, n);
    assert_int_equal(f->pb.rx.bad_seq + f->pb.rx.bad_sum + f->pb.rx.bad_len, 0);
    assert_int_equal(f->pg.rx.bad_seq + f->pg.rx.bad_sum + f->pg.rx.bad_len, 0);
}

/* A control message as the wire has it (router.c), fields given raw. */
struct wire {
    uint8_t version, type, hops, flags;
    uint32_t to, from;
    const char *name, *src;
    bool raw_name; /* name: 32 bytes without NUL */
};

static uint32_t build(uint8_t *out, const struct wire *w, uint32_t src_addr, uint32_t plen)
{
    uint8_t body[88];
    memset(body, 0, sizeof(body));
    body[0] = w->version;
    body[1] = w->type;
    body[2] = w->hops;
    body[3] = w->flags;
    tu_put_le32(body + 4, w->to);
    tu_put_le32(body + 8, w->from);
    tu_put_le32(body + 12, 496);
    tu_put_le32(body + 16, 496);
    tu_put_le32(body + 20, RPMSG_F_NS | RPMSG_F_ACK);
    if (w->raw_name)
        memset(body + 24, 'x', 32);
    else if (w->name)
        memcpy(body + 24, w->name, strlen(w->name));
    if (w->src)
        memcpy(body + 56, w->src, strlen(w->src));
    return tu_build_msg(out, src_addr, RPMSG_ROUTER_ADDR, (uint16_t)plen, 0, body, plen);
}

/* Injects into A's end of L1, as if big's router had sent it. */
static void inject(struct fx *f, const struct wire *w, uint32_t src_addr, uint32_t plen)
{
    uint8_t raw[RPMSG_BUFFER_SIZE];
    uint32_t len = build(raw, w, src_addr, plen);
    int rc;
    while ((rc = rpmsg_loopback_inject(f->t.link[0].lb, f->t.link[0].b, raw, len)) == -EAGAIN)
        ;
    assert_int_equal(rc, 0);
}

struct stat_wait {
    struct rpmsg_router *r;
    size_t off;
    uint64_t n;
};

static bool stat_is(void *arg)
{
    struct stat_wait *w = arg;
    struct rpmsg_router_stats s = rf_rstats(w->r);
    uint64_t v;
    memcpy(&v, (const char *)&s + w->off, sizeof(v));
    return v == w->n;
}

#define WAIT_STAT(router, field, value)                                                   \
    do {                                                                                  \
        struct stat_wait w_ = { router, offsetof(struct rpmsg_router_stats, field), value }; \
        assert_int_equal(tu_wait_until(stat_is, &w_, TU_TIMEOUT_MS), 0);                 \
    } while (0)

static void test_bad_and_stale_control(void **state)
{
    struct fx *f = *state;
    open3(f);
    struct rpmsg_router *big = f->t.r[0], *a = f->t.r[1];
    const uint32_t R = RPMSG_ROUTER_ADDR, ANY = RPMSG_ADDR_ANY;
    const struct wire hello = { 1, 1, 0, 0, ANY, ANY, "big", NULL, false };

    /* (big's first HELLO may have found A without a router yet: count from here.) */
    uint64_t unknown0 = tu_stats(f->t.link[0].b).drop_unknown_dst;

    /* Malformed: each one counted once as bad, none acted on. */
    struct wire w;
    inject(f, &hello, R, 10); /* short */
    inject(f, &hello, R, 87); /* one byte short */
    w = hello, w.version = 2;
    inject(f, &w, R, 88);
    w = hello, w.type = 0;
    inject(f, &w, R, 88);
    w = hello, w.type = 9;
    inject(f, &w, R, 88);
    w = hello, w.raw_name = true; /* no NUL in the name */
    inject(f, &w, R, 88);
    w = hello, w.name = "";
    inject(f, &w, R, 88);
    w = hello, w.flags = 0x80;
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 2, 0, 0, ANY, ANY, "B", NULL, false }; /* ROUTE, 0 hops */
    inject(f, &w, R, 88);
    w.hops = 200; /* beyond the hop bound, not "withdrawn" */
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 3, 0, 0, ANY, ANY, "B", "big", false }; /* CONNECT from ANY */
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 4, 0, 0, ANY, 0x400, NULL, NULL, false }; /* ACCEPT to ANY */
    inject(f, &w, R, 88);
    inject(f, &hello, 0x400, 88); /* not from a control endpoint */
    WAIT_STAT(a, drop_bad_ctrl, 13);

    /* Well formed, about routes nobody has: stale. An ACCEPT nobody waits
     * for is answered with a DISCONNECT (stale at big in turn). */
    w = (struct wire){ 1, 4, 0, 0, 0x7777, 0x8888, NULL, NULL, false };
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 6, 0, 0, 0x7777, 0x8888, NULL, NULL, false }; /* DISCONNECT */
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 5, 0, 0, 0x7777, ANY, NULL, NULL, false }; /* REJECT */
    inject(f, &w, R, 88);
    WAIT_STAT(a, drop_stale_ctrl, 3);
    /* CONNECTs the hub refuses: to nowhere, and one claiming to come from
     * the hub itself (a loop). Both REJECTs reach big, which knows neither. */
    w = (struct wire){ 1, 3, 0, 0, ANY, 0x9999, "nowhere", "big", false };
    inject(f, &w, R, 88);
    w = (struct wire){ 1, 3, 0, 0, ANY, 0x999a, "B", "A", false };
    inject(f, &w, R, 88);
    WAIT_STAT(big, drop_stale_ctrl, 3);

    assert_int_equal(rf_rstats(a).drop_bad_ctrl, 13);
    assert_int_equal(rf_rstats(a).drop_stale_ctrl, 3);
    /* All of them reached the router. */
    assert_int_equal(tu_stats(f->t.link[0].b).drop_unknown_dst, unknown0);
    /* The route never noticed. */
    traffic(f, 500);
    assert_int_equal(rf_count("big", "B", false), 0);
    assert_int_equal(rf_count("B", "big", false), 0);
    assert_int_equal(rf_rstats(big).routes_down, 0);
    assert_int_equal(rf_rstats(f->t.r[2]).routes_down, 0);
}

/* The hub's router goes away (its links stay): both far ends lose the route;
 * a new router on the hub brings it back. */
static void test_hub_router_restart(void **state)
{
    struct fx *f = *state;
    open3(f);
    traffic(f, 200);
    rpmsg_router_destroy(f->t.r[1]);
    f->t.r[1] = NULL;
    assert_non_null(rf_wait_dev("big", "B", 1, 1));
    assert_non_null(rf_wait_dev("B", "big", 1, 1));

    struct rpmsg_router_config cfg = { .local_cpuname = "A", .hub = true };
    assert_int_equal(rpmsg_router_create(&f->t.r[1], &cfg), 0);
    assert_int_equal(rpmsg_router_attach(f->t.r[1], f->t.link[0].b), 0);
    assert_int_equal(rpmsg_router_attach(f->t.r[1], f->t.link[1].a), 0);
    assert_non_null(rf_wait_dev("big", "B", 2, 1));
    assert_non_null(rf_wait_dev("B", "big", 2, 1));
    assert_int_equal(rf_app_wait_ready(&f->pg), 0);
    assert_int_equal(rf_app_wait_ready(&f->pb), 0);
    traffic(f, 500);
}

static void test_detach_attach(void **state)
{
    struct fx *f = *state;
    open3(f);
    struct rpmsg_router *a = f->t.r[1];
    struct rpmsg_device *a_l2 = f->t.link[1].a;
    assert_int_equal(rpmsg_router_attach(a, a_l2), -EEXIST);
    assert_int_equal(rpmsg_router_attach(NULL, a_l2), -EINVAL);
    /* A router's own virtual device cannot carry its routes. */
    assert_int_equal(rpmsg_router_attach(f->t.r[0], rpmsg_router_find(f->t.r[0], "B")), -EINVAL);

    assert_int_equal(rpmsg_router_detach(a, a_l2), 0);
    assert_int_equal(rpmsg_router_detach(a, a_l2), -ENOENT);
    assert_non_null(rf_wait_dev("big", "B", 1, 1));
    assert_non_null(rf_wait_dev("B", "big", 1, 1));
    assert_true(rpmsg_device_is_up(a_l2)); /* the link itself is untouched */

    assert_int_equal(rpmsg_router_attach(a, a_l2), 0);
    assert_non_null(rf_wait_dev("big", "B", 2, 1));
    assert_non_null(rf_wait_dev("B", "big", 2, 1));
    assert_int_equal(rf_app_wait_ready(&f->pg), 0);
    assert_int_equal(rf_app_wait_ready(&f->pb), 0);
    traffic(f, 300);
}

/*
 * B's far-core callbacks run on B's virtual device's own thread, and the
 * first one blocks: everything behind it waits in the virtual device's
 * queue, holding L2's buffers. Past the hold table (64 per link)
 * the router copies instead. Released, all arrive in order and intact.
 */
static struct tu_event gate_open;

static int gated_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    if (len >= 8 && tu_get_le32(data) == 0)
        TU_CHECK(tu_event_wait(&gate_open, 1, TU_TIMEOUT_MS) == 0);
    return rf_app_cb(ept, data, len, src, priv);
}

struct pool_wait {
    struct rpmsg_loopback *lb;
    struct rpmsg_device *dev;
    uint32_t n;
};

static bool pool_is(void *arg)
{
    struct pool_wait *w = arg;
    return rpmsg_loopback_free_tx(w->lb, w->dev) == w->n;
}

struct at_least {
    struct rpmsg_router *r;
    uint64_t n;
};

static bool bounced_at_least(void *arg)
{
    struct at_least *w = arg;
    return rf_rstats(w->r).rx_bounced >= w->n;
}

/*
 * Every data message is either held (one of L2's buffers) or was copied,
 * and no more are held than the hold table has room for. Up to two late
 * name-service messages may hold a buffer too, queued behind the gate; one
 * that held a slot for a moment may have pushed one more data message to a
 * copy.
 */
struct holds {
    struct rpmsg_router *r;
    struct rpmsg_loopback *lb;
    struct rpmsg_device *dev;
    uint32_t bufs, n;
};

static bool holds_settled(void *arg)
{
    struct holds *w = arg;
    uint64_t bounced = rf_rstats(w->r).rx_bounced;
    uint32_t held = w->bufs - rpmsg_loopback_free_tx(w->lb, w->dev);
    uint64_t data_held = w->n - bounced;
    return held >= data_held && held <= data_held + 2 && held <= RPMSG_HOLD_MAX;
}

static void test_hold_overflow(void **state)
{
    struct fx *f = *state;
    const unsigned N = 90;
    rf_num_bufs = 100;
    rf_own_rx = true; /* on L2's thread, a blocked callback would stop L2 itself */
    open3(f);
    tu_event_init(&gate_open);
    f->pb.ept.cb = gated_cb; /* only this test's endpoint: set before traffic */
    rf_stream_reset(&f->pb.rx, 0);
    assert_int_equal(rf_send_stream(&f->pg.ept, 0, N, 480), (int)N);
    /* 1 in the callback + 63 queued fill the hold table (a late name-service
     * message may take a slot too); at least the other 26 are copies. */
    struct at_least bw = { f->t.r[2], N - RPMSG_HOLD_MAX };
    assert_int_equal(tu_wait_until(bounced_at_least, &bw, TU_TIMEOUT_MS), 0);
    struct holds hw = { f->t.r[2], f->t.link[1].lb, f->t.link[1].a, 100, N };
    assert_int_equal(tu_wait_until(holds_settled, &hw, TU_TIMEOUT_MS), 0);
    assert_true(N - rf_rstats(f->t.r[2]).rx_bounced >= RPMSG_HOLD_MAX - 2);
    assert_int_equal(f->pb.rx.count, 0);
    tu_event_post(&gate_open);
    assert_int_equal(rf_stream_wait(&f->pb.rx, N), 0);
    assert_int_equal(f->pb.rx.count, N);
    assert_int_equal(f->pb.rx.bad_seq + f->pb.rx.bad_sum + f->pb.rx.bad_len, 0);
    assert_int_equal(rf_rstats(f->t.r[2]).drop_queue_full, 0);
    struct pool_wait pw = { f->t.link[1].lb, f->t.link[1].a, 100 };
    assert_int_equal(tu_wait_until(pool_is, &pw, TU_TIMEOUT_MS), 0);
    f->pb.ept.cb = rf_app_cb;
    tu_event_deinit(&gate_open);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bad_and_stale_control, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hub_router_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detach_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_overflow, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
