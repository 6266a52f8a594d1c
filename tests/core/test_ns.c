/*
 * Name service: announcement and two-phase binding (CREATE / CREATE_ACK),
 * binding on the first message when ACK is not negotiated or NS is off,
 * NS DESTROY, and endpoints created after the peer's announcement.
 *
 * Most cases run the pair without RX threads and drive it with rpmsg_poll(),
 * so that each protocol step can be checked between messages.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NE 48

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[NE];
    struct tu_rec r[NE];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < NE; i++)
        tu_rec_init(&f->r[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = NE; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < NE; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static void open_pair(struct fx *f, struct rpmsg_loopback_config *cfg)
{
    assert_int_equal(tu_pair_open(&f->p, cfg), 0);
    assert_true(rpmsg_device_is_up(f->p.a));
    assert_true(rpmsg_device_is_up(f->p.b));
}

static void open_polled(struct fx *f)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    open_pair(f, &cfg);
}

/* Creates endpoint i, recording into r[i]. */
static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, src, dst, tu_rec_cb, tu_rec_unbind_cb, &f->r[i]);
}

static void assert_no_drops(struct rpmsg_device *d)
{
    struct rpmsg_stats st = tu_stats(d);
    assert_int_equal(st.drop_bad_header, 0);
    assert_int_equal(st.drop_unknown_dst, 0);
    assert_int_equal(st.drop_bad_ns, 0);
    assert_int_equal(st.drop_ns_overflow, 0);
}

/* One message each way on polled devices; checks payload and source. */
static void exchange_polled(struct fx *f, int ia, int ib)
{
    unsigned na = tu_rec_count(&f->r[ia]), nb = tu_rec_count(&f->r[ib]);
    assert_int_equal(rpmsg_trysend(&f->e[ia], "ping", 4), 4);
    assert_int_equal(rpmsg_trysend(&f->e[ib], "pong!", 5), 5);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(tu_rec_count(&f->r[ib]), nb + 1);
    assert_int_equal(tu_rec_count(&f->r[ia]), na + 1);
    assert_int_equal(f->r[ib].msgs[nb].src, f->e[ia].addr);
    assert_int_equal(f->r[ib].msgs[nb].len, 4);
    assert_memory_equal(f->r[ib].msgs[nb].data, "ping", 4);
    assert_int_equal(f->r[ia].msgs[na].src, f->e[ib].addr);
    assert_int_equal(f->r[ia].msgs[na].len, 5);
    assert_memory_equal(f->r[ia].msgs[na].data, "pong!", 5);
}

/* a announces; b's endpoint comes later, binds at once and acknowledges. */
static void test_two_phase_late_endpoint(void **state)
{
    struct fx *f = *state;
    open_polled(f);
    assert_int_equal(rpmsg_get_features(f->p.a), RPMSG_F_NS | RPMSG_F_ACK);
    assert_int_equal(rpmsg_get_features(f->p.b), RPMSG_F_NS | RPMSG_F_ACK);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1); /* the CREATE, kept pending by b */
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_false(rpmsg_is_ept_ready(&f->e[0])); /* until the ACK arrives */

    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1); /* the CREATE_ACK only */
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);

    exchange_polled(f, 0, 1);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/* Both announce before either has heard of the other. */
static void test_two_phase_crossing_announcements(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    exchange_polled(f, 0, 1);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/* Names must match exactly; others stay unbound. */
static void test_name_must_match(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc-a", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc-b", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 2, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 3, f->p.b, "svc-aa", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 4);
    for (int i = 0; i < 4; i++)
        assert_false(rpmsg_is_ept_ready(&f->e[i]));

    assert_int_equal(mk(f, 4, f->p.b, "svc-a", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(f->e[4].dest_addr, f->e[0].addr);
    assert_int_equal(f->e[0].dest_addr, f->e[4].addr);
    for (int i = 1; i < 4; i++)
        assert_false(rpmsg_is_ept_ready(&f->e[i]));
}

/*
 * A second announcement of a name must not take an endpoint that is already
 * bound away from its peer: only endpoints with dst ANY are bound by NS.
 */
static void test_announcement_does_not_steal_bound(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);

    /* A second instance of the service appears on b. */
    assert_int_equal(mk(f, 2, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_false(rpmsg_is_ept_ready(&f->e[2]));
    exchange_polled(f, 0, 1);

    /* A second instance on a takes the waiting one. */
    assert_int_equal(mk(f, 3, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(f->e[3].dest_addr, f->e[2].addr);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 1);
    assert_int_equal(f->e[2].dest_addr, f->e[3].addr);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    exchange_polled(f, 3, 2);
    assert_int_equal(tu_rec_unbinds(&f->r[0]) + tu_rec_unbinds(&f->r[1]), 0);
}

/* A offers ACK but B does not: the late endpoint answers with its own CREATE. */
static void test_no_ack_answer_is_create(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    cfg.features_a = RPMSG_F_NS | RPMSG_F_ACK;
    cfg.features_b = RPMSG_F_NS;
    open_pair(f, &cfg);
    assert_int_equal(rpmsg_get_features(f->p.a), RPMSG_F_NS);
    assert_int_equal(rpmsg_get_features(f->p.b), RPMSG_F_NS);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    exchange_polled(f, 0, 1);
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/*
 * NS without ACK, the Linux way: the side that heard the announcement talks
 * first, from an endpoint that already knows its destination; the announcer
 * binds to the src of that first message.
 */
static void test_no_ack_binds_on_first_message(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    cfg.features_a = RPMSG_F_NS;
    cfg.features_b = RPMSG_F_NS;
    open_pair(f, &cfg);
    assert_int_equal(rpmsg_get_features(f->p.a), RPMSG_F_NS);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, f->e[0].addr), 0);
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    /* Nothing to answer: b's endpoint was not announced and ACK is off. */
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_int_equal(rpmsg_trysend(&f->e[0], "x", 1), -EAGAIN);

    assert_int_equal(rpmsg_trysend(&f->e[1], "first", 5), 5);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_count(&f->r[0]), 1);
    assert_int_equal(f->r[0].msgs[0].src, f->e[1].addr);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    exchange_polled(f, 0, 1);
}

/* A plain peer: nothing negotiated, nothing announced, binding on first message only. */
static void test_no_features(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    cfg.no_features_b = true;
    open_pair(f, &cfg);
    assert_int_equal(rpmsg_get_features(f->p.a), 0);
    assert_int_equal(rpmsg_get_features(f->p.b), 0);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    struct rpmsg_stats st = tu_stats(f->p.a);
    assert_int_equal(st.tx_msgs, 0);
    assert_int_equal(st.rx_msgs, 0);

    assert_int_equal(rpmsg_trysendto(&f->e[1], "hi", 2, f->e[0].addr), 2);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    /* sendto does not bind the sender. */
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(rpmsg_trysend(&f->e[0], "ho", 2), 2);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    exchange_polled(f, 0, 1);

    /* Destroying sends nothing either. */
    uint32_t gone = f->e[0].addr;
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 0);
    assert_int_equal(f->e[1].dest_addr, gone);
}

/* NS DESTROY unbinds the peer; a new announcement of the name binds it again. */
static void test_destroy_unbinds_peer(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_true(rpmsg_is_ept_ready(&f->e[0]));
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    uint32_t old = f->e[0].addr;

    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 1);
    assert_int_equal(f->e[1].dest_addr, RPMSG_ADDR_ANY);
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(rpmsg_trysend(&f->e[1], "x", 1), -EAGAIN);

    /* The service comes back at a new address. */
    assert_int_equal(mk(f, 2, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_not_equal(f->e[2].addr, old);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[1].dest_addr, f->e[2].addr);
    assert_int_equal(f->e[2].dest_addr, f->e[1].addr);
    exchange_polled(f, 2, 1);

    /* And the other direction: b's side goes, a's is told. */
    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_unbinds(&f->r[2]), 1);
    assert_int_equal(f->e[2].dest_addr, RPMSG_ADDR_ANY);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 0); /* destroyed: never told */
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/* An endpoint that acknowledged (rather than announced) still says goodbye. */
static void test_destroy_of_acknowledging_endpoint(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);

    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 1);
    assert_int_equal(f->e[0].dest_addr, RPMSG_ADDR_ANY);
}

/* An unbind callback is optional. */
static void test_destroy_without_unbind_cb(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   tu_rec_cb, NULL, &f->r[1]),
                     0);
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_true(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->e[1].dest_addr, RPMSG_ADDR_ANY);
}

/* A withdrawn announcement must not bind an endpoint created afterwards. */
static void test_destroy_removes_pending(void **state)
{
    struct fx *f = *state;
    open_polled(f);

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1); /* b's own CREATE; a has no taker */
    assert_false(rpmsg_is_ept_ready(&f->e[1]));
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/* Endpoints created while the link is down are announced when it comes up. */
static void test_announce_when_link_comes_up(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = true;
    cfg.manual_link = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_false(rpmsg_device_is_up(f->p.a));

    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_true(rpmsg_device_is_up(f->p.a));
    assert_true(rpmsg_device_is_up(f->p.b));
    assert_true(tu_poll_idle(f->p.a, f->p.b) >= 2);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
    exchange_polled(f, 0, 1);
}

/* With RX threads: many services at once, each bound to its own counterpart. */
static void test_threaded_many_services(void **state)
{
    struct fx *f = *state;
    enum { N = NE / 2 };
    char name[RPMSG_NAME_SIZE];
    open_pair(f, NULL);

    /* Half announce first from a, half from b; interleaved creation. */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "service-%02d", i);
        struct rpmsg_device *first = (i & 1) ? f->p.b : f->p.a;
        struct rpmsg_device *second = (i & 1) ? f->p.a : f->p.b;
        assert_int_equal(mk(f, i, first, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
        assert_int_equal(mk(f, N + i, second, name, RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    }
    for (int i = 0; i < 2 * N; i++)
        assert_int_equal(tu_wait_until(tu_pred_ept_ready, &f->e[i], TU_TIMEOUT_MS), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(f->e[i].dest_addr, f->e[N + i].addr);
        assert_int_equal(f->e[N + i].dest_addr, f->e[i].addr);
    }
    for (int i = 0; i < N; i++) {
        char msg[16];
        int len = snprintf(msg, sizeof(msg), "m%d", i);
        assert_int_equal(rpmsg_send(&f->e[i], msg, (size_t)len), len);
        assert_int_equal(rpmsg_send(&f->e[N + i], msg, (size_t)len), len);
    }
    for (int i = 0; i < 2 * N; i++) {
        int peer = i < N ? N + i : i - N;
        char msg[16];
        int len = snprintf(msg, sizeof(msg), "m%d", i < N ? i : i - N);
        assert_int_equal(tu_rec_wait(&f->r[i], 1, TU_TIMEOUT_MS), 0);
        assert_int_equal(tu_rec_count(&f->r[i]), 1);
        assert_int_equal(f->r[i].msgs[0].src, f->e[peer].addr);
        assert_int_equal(f->r[i].msgs[0].len, (uint32_t)len);
        assert_memory_equal(f->r[i].msgs[0].data, msg, (size_t)len);
    }

    /* Destroying one side unbinds the other, on its RX thread. */
    for (int i = 0; i < N; i++)
        assert_int_equal(rpmsg_destroy_ept(&f->e[i]), 0);
    for (int i = N; i < 2 * N; i++) {
        assert_int_equal(tu_rec_wait_unbinds(&f->r[i], 1, TU_TIMEOUT_MS), 0);
        assert_int_equal(tu_wait_until(tu_pred_ept_unbound, &f->e[i], TU_TIMEOUT_MS), 0);
    }
    for (int i = 0; i < 2 * N; i++)
        assert_int_equal(tu_rec_unbinds(&f->r[i]), i < N ? 0 : 1);
    assert_no_drops(f->p.a);
    assert_no_drops(f->p.b);
}

/*
 * With RX threads, both sides come up one after the other while each already
 * has a named endpoint waiting: whichever order the announcements and link-up
 * events interleave in, both must end up bound to each other. Repeated over
 * link resets.
 */
static void test_threaded_link_up_binds_both(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.manual_link = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);

    for (unsigned cycle = 0; cycle < 30; cycle++) {
        assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
        if (tu_wait_until(tu_pred_ept_ready, &f->e[0], TU_TIMEOUT_MS) < 0 ||
            tu_wait_until(tu_pred_ept_ready, &f->e[1], TU_TIMEOUT_MS) < 0) {
            print_error("cycle %u: a bound %d, b bound %d\n", cycle, rpmsg_is_ept_ready(&f->e[0]),
                        rpmsg_is_ept_ready(&f->e[1]));
            fail();
        }
        assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
        assert_int_equal(f->e[1].dest_addr, f->e[0].addr);
        assert_int_equal(rpmsg_send(&f->e[0], "up", 2), 2);
        assert_int_equal(tu_rec_wait(&f->r[1], cycle + 1, TU_TIMEOUT_MS), 0);
        assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
        assert_false(rpmsg_is_ept_ready(&f->e[0]));
        assert_false(rpmsg_is_ept_ready(&f->e[1]));
    }
    assert_int_equal(tu_rec_unbinds(&f->r[0]), 30);
    assert_int_equal(tu_rec_unbinds(&f->r[1]), 30);
}

/* ---- The ACK goes before the endpoint's first message ------------------------ */

/* a's arrivals: NS messages (with their flags) and others, in order. */
static struct {
    uint32_t dst[16], flags[16];
    unsigned n;
} arrivals;

static void trace_a(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev;
    (void)arg;
    const uint8_t *m = msg;
    if (dir != RPMSG_TRACE_RX || len < 16)
        return;
    unsigned k = __atomic_load_n(&arrivals.n, __ATOMIC_RELAXED);
    if (k == 16)
        return;
    arrivals.dst[k] = (uint32_t)m[4] | (uint32_t)m[5] << 8 | (uint32_t)m[6] << 16 |
                      (uint32_t)m[7] << 24;
    /* NS message: name[32] addr flags after the 16-byte header */
    arrivals.flags[k] = len >= 16 + 40 ? (uint32_t)m[16 + 36] : 0;
    __atomic_store_n(&arrivals.n, k + 1, __ATOMIC_RELEASE);
}

/* b's CREATE_ACK waits a moment before it goes: room for an overtaker. */
static void trace_b(struct rpmsg_device *rdev, void *arg, int dir, const void *msg, size_t len)
{
    (void)rdev;
    (void)arg;
    const uint8_t *m = msg;
    if (dir == RPMSG_TRACE_TX && len >= 16 + 40 && m[4] == RPMSG_NS_ADDR && !m[5] &&
        m[16 + 36] == RPMSG_NS_CREATE_ACK)
        usleep(100000);
}

struct send_arg {
    struct rpmsg_endpoint *ept;
    int result;
};

static void *send_run(void *arg)
{
    struct send_arg *s = arg;
    s->result = rpmsg_send(s->ept, "first", 5);
    return NULL;
}

/*
 * b's endpoint is bound by a's CREATE and answers with CREATE_ACK; a
 * sender waiting for that binding must not overtake the ACK. A NuttX peer
 * bound by that message instead of the ACK never runs its ns_bound hook
 * (its socket's SYNC never comes: test_nuttx_dgram_client_burst).
 */
static void test_ack_before_first_message(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.manual_link = true;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    memset(&arrivals, 0, sizeof(arrivals));
    assert_int_equal(rpmsg_set_trace(f->p.a, trace_a, NULL), 0);
    assert_int_equal(rpmsg_set_trace(f->p.b, trace_b, NULL), 0);
    /* Both exist before the link comes up: the announcements cross, and
     * each side binds by the other's CREATE. */
    assert_int_equal(mk(f, 0, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(mk(f, 1, f->p.b, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    struct send_arg s = { &f->e[1], 0 };
    struct tu_thread t = { 0 };
    assert_int_equal(tu_thread_start(&t, send_run, &s), 0);
    assert_int_equal(tu_wait_sleepers(f->p.b, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(s.result, 5);
    assert_int_equal(tu_rec_wait(&f->r[0], 1, TU_TIMEOUT_MS), 0);
    assert_memory_equal(f->r[0].msgs[0].data, "first", 5);
    rpmsg_set_trace(f->p.b, NULL, NULL);
    rpmsg_set_trace(f->p.a, NULL, NULL);
    /* From b, in order: its CREATE, then its ACK, then "first". */
    unsigned n = __atomic_load_n(&arrivals.n, __ATOMIC_ACQUIRE);
    int ack = -1, first = -1;
    for (unsigned k = 0; k < n; k++) {
        if (arrivals.dst[k] == RPMSG_NS_ADDR && arrivals.flags[k] == RPMSG_NS_CREATE_ACK && ack < 0)
            ack = (int)k;
        if (arrivals.dst[k] == f->e[0].addr && first < 0)
            first = (int)k;
    }
    if (ack < 0 || first < 0 || ack > first) {
        for (unsigned k = 0; k < n; k++)
            print_message("arrival %u: dst %u flags %u\n", k, arrivals.dst[k], arrivals.flags[k]);
    }
    assert_true(ack >= 0);
    assert_true(first >= 0);
    assert_true(ack < first);
}

/* ---- NS DESTROY on a link that goes down ----------------------------------- */

static int hold_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    if (rpmsg_hold_rx_buffer(ept, data) == 0)
        tu_rec_cb(ept, data, len, src, priv);
    return 0;
}

struct destroy_arg {
    struct rpmsg_endpoint *ept;
    int result;
};

static void *destroy_run(void *arg)
{
    struct destroy_arg *d = arg;
    d->result = rpmsg_destroy_ept(d->ept);
    return NULL;
}

/*
 * rpmsg_destroy_ept() of an announced endpoint waits for a TX buffer for its
 * NS DESTROY; when the link goes down meanwhile, the message is moot and the
 * destroy returns at once instead of after the send timeout.
 */
static void test_destroy_while_link_goes_down(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.num_bufs = 4;
    open_pair(f, &cfg);
    /* b holds every buffer a sends to it: a runs dry without blocking b. */
    assert_int_equal(tu_ept_create(&f->e[0], f->p.b, NULL, 0x60, 0x61, hold_cb, NULL, &f->r[0]), 0);
    assert_int_equal(mk(f, 1, f->p.a, NULL, 0x61, 0x60), 0);
    assert_int_equal(mk(f, 2, f->p.a, "svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, 4, TU_TIMEOUT_MS), 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(rpmsg_trysend(&f->e[1], "x", 1), 1);
    assert_int_equal(tu_rec_wait(&f->r[0], 4, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 60000), 0);

    struct destroy_arg d = { .ept = &f->e[2], .result = 1 };
    struct tu_thread t = { 0 };
    assert_int_equal(tu_thread_start(&t, destroy_run, &d), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
    assert_int_equal(d.result, 0);
    assert_false(tu_ept_registered(&f->e[2]));
    for (unsigned i = 0; i < 4; i++)
        rpmsg_release_rx_buffer(&f->e[0], f->r[0].msgs[i].ptr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_two_phase_late_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_phase_crossing_announcements, setup, teardown),
        cmocka_unit_test_setup_teardown(test_name_must_match, setup, teardown),
        cmocka_unit_test_setup_teardown(test_announcement_does_not_steal_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ack_answer_is_create, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_ack_binds_on_first_message, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_unbinds_peer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_of_acknowledging_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_without_unbind_cb, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_removes_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_announce_when_link_comes_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threaded_many_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threaded_link_up_binds_both, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_while_link_goes_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ack_before_first_message, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
