/*
 * Endpoint lifetime against concurrency: destroying an endpoint while messages
 * pour in from another thread, from inside its own callback, while its
 * callback runs on the RX thread, and while other threads are blocked sending
 * on it. After rpmsg_destroy_ept() returns nothing may touch the endpoint.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 16

struct counter {
    struct tu_rec rec;
    volatile bool destroyed; /* set by the test once destroy returned */
    unsigned after_destroy;  /* callbacks seen after that: must stay 0 */
    int destroy_at;          /* destroy from inside the callback at this count (0: never) */
    int destroy_rc;
    struct tu_gate *gate;    /* park in the callback when set */
};

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[4];
    struct counter c[4];
    struct tu_gate gate;
    struct tu_thread th;
    bool stop; /* atomic */
    int last_rc;
    uint32_t to; /* flood_sendto's destination (atomic); 0: 0x200 */
    unsigned long sent;
    volatile bool returned;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 4; i++)
        tu_rec_init(&f->c[i].rec);
    tu_gate_init(&f->gate);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    __atomic_store_n(&f->stop, true, __ATOMIC_RELAXED);
    tu_gate_open(&f->gate);
    for (int i = 4; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    if (tu_thread_join(&f->th, 3 * TU_TIMEOUT_MS) < 0)
        abort();
    tu_pair_close(&f->p);
    tu_gate_deinit(&f->gate);
    for (int i = 0; i < 4; i++)
        tu_rec_deinit(&f->c[i].rec);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static int count_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct counter *c = priv;
    if (c->destroyed) {
        c->after_destroy++;
        tu_fail_record(__FILE__, __LINE__, "callback after rpmsg_destroy_ept returned");
    }
    tu_rec_cb(ept, data, len, src, &c->rec);
    if (c->destroy_at && tu_rec_count(&c->rec) == (unsigned)c->destroy_at)
        __atomic_store_n(&c->destroy_rc, rpmsg_destroy_ept(ept), __ATOMIC_SEQ_CST);
    if (c->gate) {
        tu_event_post(&c->gate->entered);
        TU_CHECK(tu_event_wait(&c->gate->open, 1, TU_TIMEOUT_MS) == 0);
    }
    return 0;
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, src, dst, count_cb, NULL, &f->c[i]);
}

/* Sends to 0x200 (or f->to) from e[0] until told to stop; the receiver
 * comes and goes. */
static void *flood_sendto(void *arg)
{
    struct fx *f = arg;
    uint32_t n = 0;
    while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED)) {
        uint32_t to = __atomic_load_n(&f->to, __ATOMIC_RELAXED);
        int rc = rpmsg_sendto(&f->e[0], &n, sizeof(n), to ? to : 0x200);
        if (rc != (int)sizeof(n)) {
            f->last_rc = rc;
            break;
        }
        n++;
        __atomic_store_n(&f->sent, n, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

/*
 * dynamic: the receiver has a dynamic address and is bound, which is the
 * dispatch that takes no device lock (the RX context reads the address
 * table and takes its reference inside the span a destroyer waits out).
 */
static void destroy_receiver_during_traffic(struct fx *f, bool dynamic)
{
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_thread_start(&f->th, flood_sendto, f), 0);

    uint64_t drops = 0;
    for (int cycle = 0; cycle < 30; cycle++) {
        struct counter *c = &f->c[1];
        tu_rec_deinit(&c->rec);
        memset(c, 0, sizeof(*c));
        tu_rec_init(&c->rec);
        if (dynamic) {
            assert_int_equal(mk(f, 1, f->p.b, NULL, RPMSG_ADDR_ANY, 0x100), 0);
            __atomic_store_n(&f->to, f->e[1].addr, __ATOMIC_RELAXED);
        } else {
            assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, RPMSG_ADDR_ANY), 0);
        }
        assert_int_equal(tu_rec_wait(&c->rec, 200, TU_TIMEOUT_MS), 0);
        assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
        c->destroyed = true;
        unsigned seen = tu_rec_count(&c->rec);
        /* Messages now find nobody at 0x200. */
        drops = tu_stat(f->p.b, TU_STAT(drop_unknown_dst));
        assert_int_equal(tu_wait_stat(f->p.b, TU_STAT(drop_unknown_dst), drops + 20, TU_TIMEOUT_MS),
                         0);
        assert_int_equal(tu_rec_count(&c->rec), seen);
        assert_int_equal(c->after_destroy, 0);
    }
    __atomic_store_n(&f->stop, true, __ATOMIC_RELAXED);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, 0);
}

static void test_destroy_receiver_during_traffic(void **state)
{
    destroy_receiver_during_traffic(*state, false);
}

static void test_destroy_bound_dynamic_receiver_during_traffic(void **state)
{
    destroy_receiver_during_traffic(*state, true);
}

/* Sends on e[0] until a send fails; records that failure. */
static void *flood_send(void *arg)
{
    struct fx *f = arg;
    uint32_t n = 0;
    for (;;) {
        int rc = rpmsg_send(&f->e[0], &n, sizeof(n));
        if (rc != (int)sizeof(n)) {
            f->last_rc = rc;
            break;
        }
        n++;
        __atomic_store_n(&f->sent, n, __ATOMIC_SEQ_CST);
    }
    return NULL;
}

static void test_destroy_sender_during_traffic(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, 0x100), 0);
    assert_int_equal(tu_thread_start(&f->th, flood_send, f), 0);
    assert_int_equal(tu_rec_wait(&f->c[1].rec, 2000, TU_TIMEOUT_MS), 0);

    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, -EPIPE);
    /* Everything that was sent arrives, in order; nothing else does. */
    unsigned long sent = __atomic_load_n(&f->sent, __ATOMIC_SEQ_CST);
    assert_int_equal(tu_rec_wait(&f->c[1].rec, (unsigned)sent, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->c[1].rec), sent);
    for (unsigned i = 0; i < TU_REC_KEEP; i++) {
        uint32_t v;
        memcpy(&v, f->c[1].rec.msgs[i].data, sizeof(v));
        assert_int_equal(v, i);
    }
}

/*
 * dynamic: the receiver has a dynamic address, so its messages come by the
 * dispatch that holds it as the RX context's hazard, not by a reference
 * (endpoint.c): a destroy from inside its callback must not wait for that
 * hazard, its own.
 */
static void destroy_in_own_callback(struct fx *f, bool dynamic)
{
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(mk(f, 2, f->p.a, NULL, 0x101, 0x201), 0);
    f->c[1].destroy_at = 3;
    f->c[1].destroy_rc = 1;
    assert_int_equal(mk(f, 1, f->p.b, NULL, dynamic ? RPMSG_ADDR_ANY : 0x200, 0x100), 0);
    assert_int_equal(mk(f, 3, f->p.b, NULL, 0x201, 0x101), 0); /* the marker */
    uint32_t to = f->e[1].addr;

    for (uint32_t i = 0; i < 10; i++)
        assert_int_equal(rpmsg_trysendto(&f->e[0], &i, sizeof(i), to), (int)sizeof(i));
    assert_int_equal(rpmsg_trysend(&f->e[2], "marker", 6), 6);
    assert_int_equal(tu_rec_wait(&f->c[3].rec, 1, TU_TIMEOUT_MS), 0);

    assert_int_equal(f->c[1].destroy_rc, 0);
    assert_int_equal(tu_rec_count(&f->c[1].rec), 3);
    assert_false(tu_ept_registered(&f->e[1]));
    assert_int_equal(tu_stat(f->p.b, TU_STAT(drop_unknown_dst)), 7);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);

    /* The address can be taken again and works. */
    f->c[1].destroy_at = 0;
    assert_int_equal(mk(f, 1, f->p.b, NULL, to, 0x100), 0);
    assert_int_equal(rpmsg_sendto(&f->e[0], "again", 5, to), 5);
    assert_int_equal(tu_rec_wait(&f->c[1].rec, 4, TU_TIMEOUT_MS), 0);
}

static void test_destroy_in_own_callback(void **state)
{
    destroy_in_own_callback(*state, false);
}

static void test_destroy_dynamic_in_own_callback(void **state)
{
    destroy_in_own_callback(*state, true);
}

static bool destroy_returned(void *arg)
{
    struct counter *c = arg;
    return __atomic_load_n(&c->destroy_rc, __ATOMIC_SEQ_CST) != 1;
}

/* A named, announced endpoint destroying itself from its callback tells the peer. */
static void test_destroy_named_in_own_callback(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, "self-destruct", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY,
                                   count_cb, tu_rec_unbind_cb, &f->c[0]),
                     0);
    f->c[1].destroy_at = 1;
    f->c[1].destroy_rc = 1;
    assert_int_equal(mk(f, 1, f->p.b, "self-destruct", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_wait_until(tu_pred_ept_ready, &f->e[0], TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_send(&f->e[0], "bye", 3), 3);
    assert_int_equal(tu_rec_wait_unbinds(&f->c[0].rec, 1, TU_TIMEOUT_MS), 0);
    /* The peer may hear of it before the destroy call has returned. */
    assert_int_equal(tu_wait_until(destroy_returned, &f->c[1], TU_TIMEOUT_MS), 0);
    assert_int_equal(f->c[1].destroy_rc, 0);
    assert_int_equal(tu_wait_until(tu_pred_ept_unbound, &f->e[0], TU_TIMEOUT_MS), 0);
}

static void *send_and_record(void *arg)
{
    struct fx *f = arg;
    f->last_rc = rpmsg_send(&f->e[0], "blocked", 7);
    return NULL;
}

/* Blocked waiting for a peer: destroy wakes the sender with -EPIPE. */
static void test_destroy_wakes_sender_waiting_for_binding(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 3 * TU_TIMEOUT_MS), 0);
    assert_int_equal(mk(f, 0, f->p.a, "nobody-answers", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    f->last_rc = 1;
    assert_int_equal(tu_thread_start(&f->th, send_and_record, f), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, -EPIPE);
}

/* Blocked waiting for a buffer: the same. */
static void test_destroy_wakes_sender_waiting_for_buffer(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 3 * TU_TIMEOUT_MS), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, tu_gate_cb, NULL, &f->gate),
                     0);
    for (uint32_t i = 0; i < NBUF; i++)
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);

    f->last_rc = 1;
    assert_int_equal(tu_thread_start(&f->th, send_and_record, f), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[0]), 0);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, -EPIPE);

    tu_gate_open(&f->gate);
    assert_int_equal(tu_rec_wait(&f->gate.rec, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->gate.rec), NBUF);
}

static void *destroy_e1(void *arg)
{
    struct fx *f = arg;
    f->last_rc = rpmsg_destroy_ept(&f->e[1]);
    __atomic_store_n(&f->returned, true, __ATOMIC_RELAXED);
    return NULL;
}

static bool is_destroying(void *arg)
{
    const struct rpmsg_endpoint *e = arg;
    rpmsg_mutex_lock(&e->rdev->lock); /* the core sets flags under it */
    bool destroying = (e->flags & RPMSG_EPT_F_DESTROYING) != 0;
    rpmsg_mutex_unlock(&e->rdev->lock);
    return destroying;
}

static int check_not_returned_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                                 void *priv)
{
    struct fx *f = priv;
    tu_gate_cb(ept, data, len, src, &f->gate);
    /* Still inside the callback: destroy must not have returned. */
    TU_CHECK(!__atomic_load_n(&f->returned, __ATOMIC_RELAXED));
    return 0;
}

/* Destroy from another thread waits for the running callback to finish;
 * dynamic: one that holds the endpoint as the RX context's hazard. */
static void destroy_waits_for_running_callback(struct fx *f, bool dynamic)
{
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, dynamic ? RPMSG_ADDR_ANY : 0x200, 0x100,
                                   check_not_returned_cb, NULL, f),
                     0);
    uint32_t to = f->e[1].addr;
    assert_int_equal(rpmsg_sendto(&f->e[0], "in", 2, to), 2);
    assert_int_equal(rpmsg_sendto(&f->e[0], "queued", 6, to), 6);
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);

    f->last_rc = 1;
    assert_int_equal(tu_thread_start(&f->th, destroy_e1, f), 0);
    assert_int_equal(tu_wait_until(is_destroying, &f->e[1], TU_TIMEOUT_MS), 0);
    assert_false(f->returned);
    tu_gate_open(&f->gate);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, 0);
    assert_true(f->returned);
    /* The queued message was not delivered to the endpoint being destroyed. */
    assert_int_equal(tu_wait_stat(f->p.b, TU_STAT(drop_unknown_dst), 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->gate.rec), 1);
}

static void test_destroy_waits_for_running_callback(void **state)
{
    destroy_waits_for_running_callback(*state, false);
}

static void test_destroy_waits_for_running_dynamic_callback(void **state)
{
    destroy_waits_for_running_callback(*state, true);
}

/*
 * A callback that answers until its endpoint dies: after its first answer
 * it waits until another thread has begun destroying the endpoint, then
 * keeps answering, each time a message wide, until a send fails.
 */
static int answer_until_epipe_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                                 void *priv)
{
    (void)data, (void)len, (void)src;
    struct fx *f = priv;
    int rc = rpmsg_send(ept, "a", 1);
    TU_CHECK(rc == 1);
    tu_event_post(&f->gate.entered);
    TU_CHECK(tu_wait_until(is_destroying, ept, TU_TIMEOUT_MS) == 0);
    uint32_t cap;
    void *z = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_NOWAIT);
    TU_CHECK(z == NULL); /* no buffer for an endpoint being destroyed */
    for (unsigned i = 0; i < 1000 && rc == 1; i++)
        rc = rpmsg_send(ept, "b", 1);
    f->last_rc = rc;
    TU_CHECK(!__atomic_load_n(&f->returned, __ATOMIC_RELAXED));
    return 0;
}

/*
 * A reply sent from inside the endpoint's own callback holds the endpoint
 * through its dispatch (here the RX context's hazard: a dynamic address)
 * instead of a reference of its own (send.c). It must still fail with
 * -EPIPE once another thread's destroy has begun, and leave the count of
 * references as it found it; the destroy waits for the callback.
 */
static void test_reply_in_callback_sees_destroy(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, RPMSG_ADDR_ANY, 0x100,
                                   answer_until_epipe_cb, NULL, f),
                     0);
    f->last_rc = 1;
    assert_int_equal(rpmsg_sendto(&f->e[0], "q", 1, f->e[1].addr), 1);
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_wait(&f->c[0].rec, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    __atomic_store_n(&f->returned, true, __ATOMIC_RELAXED);
    assert_int_equal(f->last_rc, -EPIPE);
    /* Only the answer sent before the destroy began was sent. */
    assert_int_equal(tu_stat(f->p.b, TU_STAT(tx_msgs)), 1);
    assert_int_equal(tu_rec_count(&f->c[0].rec), 1);
    assert_int_equal(f->e[1].refs & 0x3fffffffu, 0); /* the count, without the state bits */
}

static void *poll_b(void *arg)
{
    struct fx *f = arg;
    while (!__atomic_load_n(&f->stop, __ATOMIC_RELAXED) && rpmsg_poll(f->p.b) >= 0)
        if (__atomic_load_n(&f->returned, __ATOMIC_RELAXED))
            break;
    return NULL;
}

static bool returned(void *arg)
{
    struct fx *f = arg;
    return __atomic_load_n(&f->returned, __ATOMIC_RELAXED);
}

/*
 * The same on a device without an RX thread: every thread counts as its RX
 * context, but only the thread running the callback may give up its
 * reference. Another thread's destroy still waits for the callback.
 */
static void test_destroy_waits_for_polled_callback(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = { .no_rx_thread = true };
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, check_not_returned_cb, NULL,
                                   f),
                     0);
    assert_int_equal(rpmsg_send(&f->e[0], "in", 2), 2);
    struct tu_thread poller;
    assert_int_equal(tu_thread_start(&poller, poll_b, f), 0);
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);

    assert_int_equal(tu_thread_start(&f->th, destroy_e1, f), 0);
    assert_int_equal(tu_wait_until(is_destroying, &f->e[1], TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until(returned, f, 200), -ETIMEDOUT);
    tu_gate_open(&f->gate);
    assert_int_equal(tu_thread_join(&f->th, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->last_rc, 0);
    assert_int_equal(tu_thread_join(&poller, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->gate.rec), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_destroy_receiver_during_traffic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_bound_dynamic_receiver_during_traffic, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_sender_during_traffic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_in_own_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_dynamic_in_own_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_named_in_own_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_wakes_sender_waiting_for_binding, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_wakes_sender_waiting_for_buffer, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_running_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_running_dynamic_callback, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_polled_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_in_callback_sees_destroy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
