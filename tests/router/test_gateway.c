/*
 * Gateway: a hub ends routes for a neighbour that runs no router.
 *
 *   zfar --link0-- hub1 (hub) --link1-- gw (hub) --link2 (plain)-- nuttx
 *
 * nuttx is our own core with no router: an echo service it announces, and a
 * NuttX-style client that binds when a name is announced to it. zfar, two
 * hubs away, sees nuttx as an ordinary device. nuttx's name sorts first, so
 * the route only comes up if zfar initiates for a plain peer.
 */
#include "router_fixture.h"
#include "transport/router/router_priv.h" /* RR_GW_PROXIES */

#define ECHO_NAME "gw-echo"
#define SRV_NAME "gw-srv"
#define MSGS 10000u
#define MAXLEN 200u

static const char *const names[] = { "zfar", "hub1", "gw", "nuttx" };

struct fx {
    struct tu_pair link[3];
    struct rpmsg_router *r[3];
    struct rpmsg_endpoint echo; /* on nuttx */
    unsigned echoed;
    struct rf_app client; /* zfar: binds to nuttx's echo */
    struct rf_app srv;    /* zfar: announces SRV_NAME */
    struct rf_app nclient; /* nuttx: binds to SRV_NAME, NuttX style */
};

static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct fx *f = priv;
    __atomic_add_fetch(&f->echoed, 1, __ATOMIC_RELAXED);
    TU_CHECK(rpmsg_sendto(ept, data, len, src) == (int)len);
    return 0;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    rf_watch_start();
    for (int i = 0; i < 3; i++) {
        struct rpmsg_loopback_config cfg = { .num_bufs = 16, .name_a = names[i],
                                             .name_b = names[i + 1] };
        assert_int_equal(tu_pair_open(&f->link[i], &cfg), 0);
    }
    rf_app_init(&f->client, "zfar", "nuttx", ECHO_NAME, true);
    rf_app_init(&f->srv, "zfar", "nuttx", SRV_NAME, false);
    rf_app_init(&f->nclient, "nuttx", "gw", SRV_NAME, true);
    f->nclient.near = true;
    for (int i = 0; i < 3; i++) {
        struct rpmsg_router_config rc = { .local_cpuname = names[i], .hub = i > 0 };
        assert_int_equal(rpmsg_router_create(&f->r[i], &rc), 0);
        if (i > 0)
            assert_int_equal(rpmsg_router_attach(f->r[i], f->link[i - 1].b), 0);
        if (i < 2)
            assert_int_equal(rpmsg_router_attach(f->r[i], f->link[i].a), 0);
    }
    assert_int_equal(rpmsg_router_attach_plain(f->r[2], f->link[2].a), 0);
    assert_int_equal(tu_ept_create(&f->echo, f->link[2].b, ECHO_NAME, RPMSG_ADDR_ANY,
                                   RPMSG_ADDR_ANY, echo_cb, NULL, f),
                     0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rf_app_stop(&f->client);
    rf_app_stop(&f->srv);
    rf_app_stop(&f->nclient);
    rpmsg_destroy_ept(&f->echo);
    for (int i = 3; i-- > 0;)
        rpmsg_router_destroy(f->r[i]);
    for (int i = 0; i < 3; i++)
        tu_pair_close(&f->link[i]);
    rf_app_deinit(&f->client);
    rf_app_deinit(&f->srv);
    rf_app_deinit(&f->nclient);
    rf_watch_stop();
    free(f);
    return 0;
}

/* Echoes n checked messages from zfar through the gateway; asserts contents and order. */
static void echo_round(struct fx *f, unsigned n)
{
    assert_int_equal(rf_app_wait_ready(&f->client), 0);
    rf_stream_reset(&f->client.rx, 0);
    f->client.rx.max_len = MAXLEN;
    assert_int_equal(rf_send_stream(&f->client.ept, 0, n, MAXLEN), (int)n);
    assert_int_equal(rf_stream_wait(&f->client.rx, n), 0);
    assert_int_equal(rf_stream_count(&f->client.rx), n);
    assert_int_equal(f->client.rx.bad_seq, 0);
    assert_int_equal(f->client.rx.bad_sum, 0);
    assert_int_equal(f->client.rx.bad_len, 0);
}

/* zfar's announced endpoint and nuttx's NuttX-style client, both ways. */
static void bind_round(struct fx *f, unsigned n)
{
    assert_int_equal(rf_app_wait_ready(&f->nclient), 0);
    assert_int_equal(rf_app_wait_ready(&f->srv), 0); /* bound by the forwarded CREATE_ACK */
    rf_stream_reset(&f->nclient.rx, 0);
    rf_stream_reset(&f->srv.rx, 0);
    assert_int_equal(rf_send_stream(&f->srv.ept, 0, n, MAXLEN), (int)n);
    assert_int_equal(rf_send_stream(&f->nclient.ept, 0, n, MAXLEN), (int)n);
    assert_int_equal(rf_stream_wait(&f->nclient.rx, n), 0);
    assert_int_equal(rf_stream_wait(&f->srv.rx, n), 0);
    assert_int_equal(f->nclient.rx.bad_seq + f->nclient.rx.bad_sum, 0);
    assert_int_equal(f->srv.rx.bad_seq + f->srv.rx.bad_sum, 0);
}

static void test_echo(void **state)
{
    struct fx *f = *state;
    assert_non_null(rf_wait_dev("zfar", "nuttx", 1, 0));
    echo_round(f, MSGS);
    assert_int_equal(__atomic_load_n(&f->echoed, __ATOMIC_RELAXED), MSGS);
    assert_int_equal(f->client.bound_dest, f->echo.addr); /* nuttx's own address passes */
    bind_round(f, 1000);
    assert_int_equal(rf_drops(f->r[2]), 0);
}

static bool pred_unknown(void *arg)
{
    struct fx *f = arg;
    return rf_rstats(f->r[2]).drop_gw_unknown > 0;
}

/* An endpoint of zfar that has no proxy cannot reach nuttx. */
static void test_unknown_dropped(void **state)
{
    struct fx *f = *state;
    struct rpmsg_device *dev = rf_wait_dev("zfar", "nuttx", 1, 0);
    assert_non_null(dev);
    assert_int_equal(rf_app_wait_ready(&f->client), 0);
    struct rpmsg_endpoint stray;
    assert_int_equal(tu_ept_create(&stray, dev, NULL, RPMSG_ADDR_ANY, f->client.bound_dest,
                                   rf_app_cb, NULL, &f->client),
                     0);
    assert_int_equal(rpmsg_send(&stray, "stray", 5), 5);
    assert_int_equal(tu_wait_until(pred_unknown, f, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_destroy_ept(&stray), 0);
    assert_int_equal(__atomic_load_n(&f->echoed, __ATOMIC_RELAXED), 0);
    echo_round(f, 100); /* the gateway still works */
}

/* Loss of the plain link, then of zfar's own link: proxies go and come back. */
static void test_link_loss(void **state)
{
    struct fx *f = *state;
    assert_non_null(rf_wait_dev("zfar", "nuttx", 1, 0));
    echo_round(f, 100);
    for (unsigned round = 0; round < 2; round++) {
        struct rpmsg_loopback *lb = f->link[round ? 0 : 2].lb;
        unsigned c = rf_count("zfar", "nuttx", true);
        unsigned binds = (unsigned)tu_event_count(&f->client.binds);
        unsigned nbinds = (unsigned)tu_event_count(&f->nclient.binds);
        assert_int_equal(rpmsg_loopback_link_down(lb), 0);
        assert_non_null(rf_wait_dev("zfar", "nuttx", c, c));
        assert_int_equal(rpmsg_loopback_link_up(lb), 0);
        assert_non_null(rf_wait_dev("zfar", "nuttx", c + 1, c));
        assert_int_equal(tu_event_wait(&f->client.binds, binds + 1, TU_TIMEOUT_MS), 0);
        echo_round(f, 1000);
        if (round == 0) {
            /* nuttx's client went with its link, and binds again. */
            assert_int_equal(tu_event_wait(&f->nclient.binds, nbinds + 1, TU_TIMEOUT_MS), 0);
        }
    }
    assert_int_equal(rf_rstats(f->r[2]).drop_gw_unknown, 0);
}

/* Announcements of names p0-* and p1-* that reached nuttx, by round. */
static unsigned nx_seen[2];

static bool count_match(struct rpmsg_device *rdev, void *priv, const char *name, uint32_t dest)
{
    (void)priv, (void)dest;
    if (!strcmp(rpmsg_get_local_cpuname(rdev), "nuttx") && name[0] == 'p' &&
        (name[1] == '0' || name[1] == '1') && name[2] == '-')
        __atomic_add_fetch(&nx_seen[name[1] - '0'], 1, __ATOMIC_RELAXED);
    return false;
}

struct seen_arg {
    int round;
    unsigned n;
};

static bool pred_seen(void *arg)
{
    struct seen_arg *a = arg;
    return __atomic_load_n(&nx_seen[a->round], __ATOMIC_RELAXED) >= a->n;
}

static bool pred_full(void *arg)
{
    struct fx *f = arg;
    return rf_rstats(f->r[2]).drop_gw_full > 0;
}

/* The proxy table is bounded, and C's NS DESTROY gives its slots back. */
static void test_proxy_table(void **state)
{
    struct fx *f = *state;
    struct rpmsg_device *dev = rf_wait_dev("zfar", "nuttx", 1, 0);
    assert_non_null(dev);
    assert_int_equal(rf_app_wait_ready(&f->client), 0); /* gw-echo's proxy */
    assert_int_equal(rf_app_wait_ready(&f->srv), 0);    /* gw-srv's */
    nx_seen[0] = nx_seen[1] = 0;
    assert_int_equal(rpmsg_register_callback(nx_seen, NULL, NULL, count_match, NULL), 0);
    enum { FREE = RR_GW_PROXIES - 2 };
    struct rpmsg_endpoint e[FREE + 1];
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < FREE + (round ? 0 : 1); i++) {
            char name[16];
            snprintf(name, sizeof(name), "p%d-%d", round, i);
            assert_int_equal(tu_ept_create(&e[i], dev, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                           rf_app_cb, NULL, &f->client),
                             0);
        }
        struct seen_arg want = { round, FREE };
        assert_int_equal(tu_wait_until(pred_seen, &want, TU_TIMEOUT_MS), 0);
        if (round == 0)
            assert_int_equal(tu_wait_until(pred_full, f, TU_TIMEOUT_MS), 0);
        for (int i = 0; i < FREE + (round ? 0 : 1); i++)
            assert_int_equal(rpmsg_destroy_ept(&e[i]), 0);
    }
    /* One refused, in the first round only; every other got its proxy. */
    assert_int_equal(rf_rstats(f->r[2]).drop_gw_full, 1);
    assert_int_equal(__atomic_load_n(&nx_seen[0], __ATOMIC_RELAXED), FREE);
    assert_int_equal(__atomic_load_n(&nx_seen[1], __ATOMIC_RELAXED), FREE);
    rpmsg_unregister_callback(nx_seen, NULL, NULL, count_match, NULL);
    echo_round(f, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_echo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_loss, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy_table, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
