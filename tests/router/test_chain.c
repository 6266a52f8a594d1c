/*
 * Four cores, two hubs: big --L1(512)-- A (hub) --L2(384)-- B (hub) --L3(256)-- C.
 * Every core sees every other one: its neighbours as real links, the rest as
 * virtual devices. Payload limits are the path's minimum. Streams run on
 * three routes at once through the shared hubs. Cutting a link takes down
 * exactly the routes through it (at both ends), the others keep working, and
 * restoring it brings them all back.
 */
#include "router_fixture.h"

static const char *const NAMES4[] = { "big", "A", "B", "C" };
static const uint32_t SIZES[] = { 512, 384, 256 };

/* Routes (pairs of non-neighbours), their payload limit, the links they use. */
static const struct route {
    int x, y; /* core indices, x < y */
    int mtu;
} ROUTES[] = {
    { 0, 2, 384 - 32 }, /* big <-> B over L1, L2 */
    { 0, 3, 256 - 32 }, /* big <-> C over L1, L2, L3 */
    { 1, 3, 256 - 32 }, /* A <-> C over L2, L3 */
};
#define NROUTES 3

static bool route_uses(const struct route *r, int link)
{
    return link >= r->x && link < r->y; /* link i joins cores i and i+1 */
}

struct fx {
    struct rf_topo t;
    struct rf_app app[NROUTES][2]; /* [route][0]: on x, [1]: on y */
    unsigned cuts[NROUTES];        /* times each route was lost */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    rf_watch_start();
    for (int i = 0; i < NROUTES; i++) {
        const struct route *r = &ROUTES[i];
        rf_app_init(&f->app[i][0], NAMES4[r->x], NAMES4[r->y], RF_NAME31, false);
        rf_app_init(&f->app[i][1], NAMES4[r->y], NAMES4[r->x], RF_NAME31, false);
        f->app[i][0].rx.max_len = f->app[i][1].rx.max_len = (size_t)r->mtu;
    }
    if (rf_chain_open(&f->t, 4, NAMES4, SIZES))
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NROUTES; i++)
        for (int k = 0; k < 2; k++)
            rf_app_stop(&f->app[i][k]);
    rf_chain_close(&f->t);
    for (int i = 0; i < NROUTES; i++)
        for (int k = 0; k < 2; k++)
            rf_app_deinit(&f->app[i][k]);
    rf_watch_stop();
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void wait_route(int i, unsigned created, unsigned destroyed)
{
    const struct route *r = &ROUTES[i];
    assert_non_null(rf_wait_dev(NAMES4[r->x], NAMES4[r->y], created, destroyed));
    assert_non_null(rf_wait_dev(NAMES4[r->y], NAMES4[r->x], created, destroyed));
}

static void wait_ready(struct fx *f, int i)
{
    assert_int_equal(rf_app_wait_ready(&f->app[i][0]), 0);
    assert_int_equal(rf_app_wait_ready(&f->app[i][1]), 0);
}

/* n messages each way on the routes in mask, all at once. */
static void traffic(struct fx *f, unsigned mask, unsigned n)
{
    struct rf_sender s[NROUTES][2];
    struct tu_thread t[NROUTES][2];
    for (int i = 0; i < NROUTES; i++) {
        if (!(mask & (1u << i)))
            continue;
        for (int k = 0; k < 2; k++) {
            rf_stream_reset(&f->app[i][1 - k].rx, 0);
            s[i][k] = (struct rf_sender){ &f->app[i][k].ept, 0, n, (size_t)ROUTES[i].mtu, 0 };
        }
    }
    for (int i = 0; i < NROUTES; i++)
        for (int k = 0; k < 2 && (mask & (1u << i)); k++)
            assert_int_equal(tu_thread_start(&t[i][k], rf_sender_main, &s[i][k]), 0);
    for (int i = 0; i < NROUTES; i++)
        for (int k = 0; k < 2 && (mask & (1u << i)); k++) {
            assert_int_equal(tu_thread_join(&t[i][k], 60000), 0);
            assert_int_equal(s[i][k].result, (int)n);
        }
    for (int i = 0; i < NROUTES; i++)
        for (int k = 0; k < 2 && (mask & (1u << i)); k++) {
            struct rf_stream *rx = &f->app[i][k].rx;
            assert_int_equal(rf_stream_wait(rx, n), 0);
            assert_int_equal(rx->count, n);
            assert_int_equal(rx->bad_seq, 0);
            assert_int_equal(rx->bad_sum, 0);
            assert_int_equal(rx->bad_len, 0);
        }
}

static void test_everyone_sees_everyone(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NROUTES; i++) {
        wait_route(i, 1, 0);
        wait_ready(f, i);
        const struct route *r = &ROUTES[i];
        /* 31 characters made it over two hubs. */
        assert_string_equal(f->app[i][0].ept.name, RF_NAME31);
        assert_int_equal(rpmsg_get_tx_buffer_size(&f->app[i][0].ept), r->mtu);
        assert_int_equal(rpmsg_get_tx_buffer_size(&f->app[i][1].ept), r->mtu);
        struct rpmsg_device *d = rpmsg_router_find(f->t.r[r->x], NAMES4[r->y]);
        assert_non_null(d);
        assert_string_equal(rpmsg_get_cpuname(d), NAMES4[r->y]);
        assert_string_equal(rpmsg_get_local_cpuname(d), NAMES4[r->x]);
    }
    /* Neighbours are real links, never virtual devices. */
    for (int c = 0; c < 4; c++)
        for (int n = c - 1; n <= c + 1; n += 2)
            if (n >= 0 && n < 4)
                assert_null(rpmsg_router_find(f->t.r[c], NAMES4[n]));
    assert_int_equal(rf_count("big", "A", true) + rf_count("B", "C", true), 0);
    traffic(f, 7, 2000);
    /* Hub A relays big <-> B and big <-> C, hub B big <-> C and A <-> C: each
     * message exactly once per hub, plus the name service's few. */
    for (int h = 1; h <= 2; h++) {
        uint64_t n = rf_rstats(f->t.r[h]).relayed_msgs;
        assert_true(n >= 2 * 2 * 2000 && n < 2 * 2 * 2000 + 40);
    }
    for (int c = 0; c < 4; c++)
        assert_int_equal(rf_drops(f->t.r[c]), 0);
}

/* Cuts link `link`, checks exactly the routes through it went down at both
 * ends and the others still carry traffic, restores, checks all are back. */
static void cut(struct fx *f, int link)
{
    unsigned down = 0;
    for (int i = 0; i < NROUTES; i++)
        if (route_uses(&ROUTES[i], link))
            down |= 1u << i;
    assert_int_equal(rpmsg_loopback_link_down(f->t.link[link].lb), 0);
    for (int i = 0; i < NROUTES; i++)
        if (down & (1u << i))
            wait_route(i, f->cuts[i] + 1, f->cuts[i] + 1);
    for (int i = 0; i < NROUTES; i++) {
        const struct route *r = &ROUTES[i];
        struct rpmsg_device *d = rpmsg_router_find(f->t.r[r->x], NAMES4[r->y]);
        assert_int_equal(rpmsg_device_is_up(d), !(down & (1u << i)));
    }
    traffic(f, 7u & ~down, 200);

    assert_int_equal(rpmsg_loopback_link_up(f->t.link[link].lb), 0);
    for (int i = 0; i < NROUTES; i++)
        if (down & (1u << i)) {
            wait_route(i, f->cuts[i] + 2, f->cuts[i] + 1);
            wait_ready(f, i);
            f->cuts[i]++;
        }
    traffic(f, 7, 500);
}

static void test_cut_middle(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NROUTES; i++)
        wait_ready(f, i);
    cut(f, 1); /* A -- B: every route goes */
    for (int i = 0; i < NROUTES; i++) {
        const struct route *r = &ROUTES[i];
        assert_int_equal(rf_count(NAMES4[r->x], NAMES4[r->y], false), 1);
        assert_int_equal(rf_count(NAMES4[r->y], NAMES4[r->x], false), 1);
    }
}

static void test_cut_ends(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < NROUTES; i++)
        wait_ready(f, i);
    cut(f, 2); /* B -- C: big <-> B survives */
    assert_int_equal(rf_count("big", "B", false), 0);
    assert_int_equal(rf_count("big", "C", false), 1);
    cut(f, 0); /* big -- A: A <-> C survives */
    assert_int_equal(rf_count("A", "C", false), 1);
    assert_int_equal(rf_count("big", "B", false), 1);
    assert_int_equal(rf_count("big", "C", false), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_everyone_sees_everyone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cut_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
