/*
 * Holding received buffers past the callback: counted holds, the buffer
 * returned to the sender's pool only when the last hold is released after the
 * callback returned, releases from other threads.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define NBUF 16

struct holder {
    struct tu_rec rec;
    int holds;             /* holds to take in each callback */
    int releases_in_cb;    /* releases to do before returning */
    void *held[128];
    unsigned nheld;
    int hold_rc[128];
};

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[3];
    struct tu_rec r0;
    struct holder h;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    tu_rec_init(&f->r0);
    tu_rec_init(&f->h.rec);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 3; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    tu_rec_deinit(&f->r0);
    tu_rec_deinit(&f->h.rec);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static int hold_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct holder *h = priv;
    for (int i = 0; i < h->holds; i++) {
        int rc = rpmsg_hold_rx_buffer(ept, data);
        if (h->nheld < 128) {
            h->hold_rc[h->nheld] = rc;
            h->held[h->nheld++] = rc == 0 ? data : NULL;
        }
    }
    for (int i = 0; i < h->releases_in_cb; i++)
        TU_CHECK(rpmsg_release_rx_buffer(ept, data) == 0);
    /* Last: the test reads held[] once it sees the message counted. */
    tu_rec_cb(ept, data, len, src, &h->rec);
    return 0;
}

static void open_pair(struct fx *f, bool polled, uint32_t nbufs)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = polled;
    cfg.num_bufs = nbufs;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r0),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, hold_cb, NULL, &f->h), 0);
}

static void test_hold_count(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, 0);
    f->h.holds = 2;

    assert_int_equal(rpmsg_trysend(&f->e[0], "held", 4), 4);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(f->h.nheld, 2);
    assert_int_equal(f->h.hold_rc[0], 0);
    assert_int_equal(f->h.hold_rc[1], 0);
    /* Not returned: the callback is done but two holds remain. */
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    /* The data stays valid and untouched while held. */
    assert_memory_equal(f->h.held[0], "held", 4);

    /* Traffic goes on around the held buffer. */
    f->h.holds = 0;
    assert_int_equal(rpmsg_trysend(&f->e[0], "next", 4), 4);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_count(&f->h.rec), 2);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    assert_memory_equal(f->h.held[0], "held", 4);

    assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], f->h.held[0]), 0);
    tu_poll_idle(f->p.a, f->p.b);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], f->h.held[1]), 0);
    tu_poll_idle(f->p.a, f->p.b);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);

    /* One release too many is refused, not a double free. */
    assert_true(rpmsg_release_rx_buffer(&f->e[1], f->h.held[1]) < 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

/* Hold and release inside the callback: returned as usual once it returns. */
static void test_hold_release_in_callback(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, 0);
    f->h.holds = 3;
    f->h.releases_in_cb = 3;

    for (int i = 0; i < 40; i++) {
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
        assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
        assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    }
    assert_int_equal(tu_rec_count(&f->h.rec), 40);
}

/* Every buffer held: the sender runs dry until they are released. */
static void test_hold_all_buffers(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, 0);
    f->h.holds = 1;

    for (int i = 0; i < NBUF; i++) {
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
        assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    }
    assert_int_equal(f->h.nheld, NBUF);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 0);
    assert_int_equal(rpmsg_trysend(&f->e[0], "x", 1), -EAGAIN);
    for (int i = 0; i < NBUF; i++) {
        int v;
        memcpy(&v, f->h.held[i], sizeof(v));
        assert_int_equal(v, i);
    }
    /* Released out of order. */
    for (int i = NBUF; i-- > 0;) {
        assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], f->h.held[i]), 0);
        tu_poll_idle(f->p.a, f->p.b);
        assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - (unsigned)i);
    }
    f->h.holds = 0;
    assert_int_equal(rpmsg_trysend(&f->e[0], "x", 1), 1);
}

/* Holds are bounded per device; one past the bound fails and nothing leaks. */
static void test_hold_limit(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, RPMSG_HOLD_MAX + 8);
    f->h.holds = 1;

    for (int i = 0; i < RPMSG_HOLD_MAX + 1; i++) {
        assert_int_equal(rpmsg_trysend(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
        assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    }
    assert_int_equal(f->h.nheld, RPMSG_HOLD_MAX + 1);
    for (int i = 0; i < RPMSG_HOLD_MAX; i++)
        assert_int_equal(f->h.hold_rc[i], 0);
    assert_true(f->h.hold_rc[RPMSG_HOLD_MAX] < 0);
    /* The one that could not be held went back when its callback returned. */
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 8);
    for (int i = 0; i < RPMSG_HOLD_MAX; i++)
        assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], f->h.held[i]), 0);
    tu_poll_idle(f->p.a, f->p.b);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), RPMSG_HOLD_MAX + 8);
}

static void test_bad_arguments(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, 0);
    char local[16];

    assert_int_equal(rpmsg_hold_rx_buffer(NULL, local), -EINVAL);
    assert_int_equal(rpmsg_release_rx_buffer(NULL, local), -EINVAL);
    assert_int_equal(rpmsg_hold_rx_buffer(&f->e[1], NULL), -EINVAL);
    assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], NULL), -EINVAL);
    /* Not a held buffer: refused, nothing returned to any pool. */
    assert_true(rpmsg_release_rx_buffer(&f->e[1], local) < 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.b), NBUF);
}

/* Threaded: the callback holds, another thread releases later. */
static void test_release_from_other_thread(void **state)
{
    struct fx *f = *state;
    open_pair(f, false, 0);
    f->h.holds = 1;

    for (int i = 0; i < 8; i++)
        assert_int_equal(rpmsg_send(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_rec_wait(&f->h.rec, 8, TU_TIMEOUT_MS), 0);
    /* The callbacks are over yet their buffers stay out. */
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF - 8, TU_TIMEOUT_MS), 0);
    for (int i = 0; i < 8; i++) {
        int v;
        memcpy(&v, f->h.held[i], sizeof(v));
        assert_int_equal(v, i);
        assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], f->h.held[i]), 0);
    }
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->h.nheld, 8);
}

/* The callback holds and waits at a gate; the test releases from its own
 * thread meanwhile. The buffer must stay out until the callback returns, then
 * go back exactly once (the dispatcher, not the releaser, gives it back). */
static struct tu_event gate_in, gate_open;
static void *gate_buf;

static int hold_gate_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src,
                        void *priv)
{
    (void)len, (void)src, (void)priv;
    if (gate_buf)
        return 0; /* only the first message is held */
    TU_CHECK(rpmsg_hold_rx_buffer(ept, data) == 0);
    gate_buf = data;
    tu_event_post(&gate_in);
    TU_CHECK(tu_event_wait(&gate_open, 1, TU_TIMEOUT_MS) == 0);
    return 0;
}

static void test_release_while_callback_runs(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    gate_buf = NULL;
    tu_event_init(&gate_in);
    tu_event_init(&gate_open);
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r0),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, hold_gate_cb, NULL, NULL),
                     0);
    assert_int_equal(rpmsg_send(&f->e[0], "g", 1), 1);
    assert_int_equal(tu_event_wait(&gate_in, 1, TU_TIMEOUT_MS), 0);
    /* Last hold gone while its callback still runs: not given back yet. */
    assert_int_equal(rpmsg_release_rx_buffer(&f->e[1], gate_buf), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    /* No longer held: a second release is refused. */
    assert_true(rpmsg_release_rx_buffer(&f->e[1], gate_buf) < 0);
    tu_event_post(&gate_open);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    /* Given back once: traffic after it never sees more than NBUF free. */
    for (int i = 0; i < 3 * NBUF; i++)
        assert_int_equal(rpmsg_send(&f->e[0], &i, sizeof(i)), (int)sizeof(i));
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    tu_event_deinit(&gate_in);
    tu_event_deinit(&gate_open);
}

/* Holds outstanding when the endpoint goes away are not lost. */
static void test_release_after_destroy(void **state)
{
    struct fx *f = *state;
    open_pair(f, true, 0);
    f->h.holds = 1;

    assert_int_equal(rpmsg_trysend(&f->e[0], "x", 1), 1);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    /* Release through another endpoint of the same device: holds are per device. */
    struct rpmsg_endpoint *other = &f->e[2];
    assert_int_equal(tu_ept_create(other, f->p.b, NULL, 0x300, RPMSG_ADDR_ANY, NULL, NULL, NULL), 0);
    assert_int_equal(rpmsg_destroy_ept(&f->e[1]), 0);
    assert_int_equal(rpmsg_release_rx_buffer(other, f->h.held[0]), 0);
    tu_poll_idle(f->p.a, f->p.b);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    assert_int_equal(rpmsg_destroy_ept(other), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hold_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_release_in_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_all_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hold_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_from_other_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_after_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_while_callback_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
