/*
 * A send holds its endpoint by its thread's hazard (src/core/hazard.c), or
 * by a reference where the hazard is busy (a send nested in another on the
 * same thread) or where the OS port has no asymmetric barrier. Whichever it
 * is, rpmsg_destroy_ept() from another thread must not return while the
 * send is still in the transport. A thread's hazard comes back to the pool
 * when the thread ends.
 *
 * The transport is a stub whose send() can park the sending thread inside
 * the transport (a gate), and can send again from there on another
 * endpoint (the nested send). Nothing is received: no RX thread.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/internal.h"

#define NBUF 4
#define BUF_SIZE 64

struct stub {
    struct rpmsg_device dev;
    rpmsg_mutex_t lock;
    rpmsg_cond_t cond;
    uint8_t buf[NBUF][BUF_SIZE];
    unsigned depth;      /* send() frames on the sending thread */
    unsigned park_depth; /* park in the send() at this depth (0: never) */
    bool gate_open;
    struct tu_event parked;
    struct rpmsg_endpoint *nest; /* send() at depth 1 sends on it first */
    int nest_rc;
    unsigned sent;
    unsigned *seq;  /* atomic: order of events, shared with the test */
    unsigned left;  /* its value when the parked send left the gate */
};

static struct stub *stub_of(struct rpmsg_device *rdev)
{
    return rdev->transport;
}

/* Buffer k for the send() frame at depth k: one sending thread at a time. */
static void *st_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct stub *s = stub_of(rdev);
    *size = BUF_SIZE;
    return s->depth < NBUF ? s->buf[s->depth] : NULL;
}

/* The peer consumes at once: the buffer is free again on return. */
static int st_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    (void)len;
    struct stub *s = stub_of(rdev);
    if (buf != s->buf[s->depth])
        return -EINVAL;
    unsigned depth = ++s->depth;
    if (depth == 1 && s->nest)
        s->nest_rc = rpmsg_send(s->nest, "in", 2);
    if (depth == s->park_depth) {
        tu_event_post(&s->parked);
        rpmsg_mutex_lock(&s->lock);
        while (!s->gate_open)
            rpmsg_cond_wait(&s->cond, &s->lock, RPMSG_FOREVER);
        rpmsg_mutex_unlock(&s->lock);
        s->left = __atomic_add_fetch(s->seq, 1, __ATOMIC_SEQ_CST); /* still held */
    }
    s->depth--;
    __atomic_add_fetch(&s->sent, 1, __ATOMIC_RELAXED);
    return 0;
}

static const struct rpmsg_transport_ops stub_ops = {
    .get_tx_buffer = st_get_tx,
    .send = st_send,
    .release_tx_buffer = tu_op_release_tx_none,
    .release_rx_buffer = tu_op_release_rx_none,
    .poll = tu_op_poll_none,
    .wait = tu_op_wait_none,
    .wakeup = tu_op_wakeup_none,
};

static int ignore_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept, (void)data, (void)len, (void)src, (void)priv;
    return 0;
}

struct fx {
    struct stub st;
    struct rpmsg_endpoint a, b;
    struct tu_thread sender, destroyer;
    struct rpmsg_endpoint *victim; /* what the destroyer destroys */
    int send_rc, destroy_rc;
    unsigned seq;                  /* atomic: order of events */
    unsigned destroy_done;
    bool saved_asym;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    struct stub *s = &f->st;
    if (rpmsg_mutex_init(&s->lock) || rpmsg_cond_init(&s->cond))
        return -1;
    tu_event_init(&s->parked);
    struct rpmsg_device_config cfg = { .local_cpuname = "here", .no_rx_thread = true };
    if (rpmsg_device_init(&s->dev, &stub_ops, s, &cfg))
        return -1;
    rpmsg_device_set_tx_buf_size(&s->dev, BUF_SIZE);
    if (rpmsg_create_ept(&f->a, &s->dev, NULL, 0x400, 0x401, ignore_cb, NULL) ||
        rpmsg_create_ept(&f->b, &s->dev, NULL, 0x402, 0x403, ignore_cb, NULL))
        return -1;
    rpmsg_device_link_up(&s->dev, "there", 0);
    if (rpmsg_device_start(&s->dev))
        return -1;
    s->seq = &f->seq;
    f->saved_asym = __atomic_load_n(&rpmsg_asym, __ATOMIC_RELAXED);
    *state = f;
    return 0;
}

static void open_gate(struct stub *s)
{
    rpmsg_mutex_lock(&s->lock);
    s->gate_open = true;
    rpmsg_cond_broadcast(&s->cond);
    rpmsg_mutex_unlock(&s->lock);
}

/* A failed case may leave its sender parked: let it go before the end. */
static int teardown(void **state)
{
    struct fx *f = *state;
    struct stub *s = &f->st;
    open_gate(s);
    if (f->sender.started && tu_thread_join(&f->sender, TU_TIMEOUT_MS))
        return -1;
    if (f->destroyer.started && tu_thread_join(&f->destroyer, TU_TIMEOUT_MS))
        return -1;
    __atomic_store_n(&rpmsg_asym, f->saved_asym, __ATOMIC_RELEASE);
    tu_ept_cleanup(&f->a);
    tu_ept_cleanup(&f->b);
    rpmsg_device_deinit(&s->dev);
    tu_event_deinit(&s->parked);
    rpmsg_cond_deinit(&s->cond);
    rpmsg_mutex_deinit(&s->lock);
    free(f);
    return 0;
}

static void *send_on_a(void *arg)
{
    struct fx *f = arg;
    f->send_rc = rpmsg_send(&f->a, "out", 3);
    return NULL;
}

static void *destroy_victim(void *arg)
{
    struct fx *f = arg;
    f->destroy_rc = rpmsg_destroy_ept(f->victim);
    f->destroy_done = __atomic_add_fetch(&f->seq, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

static bool is_destroying(void *arg)
{
    const struct rpmsg_endpoint *e = arg;
    rpmsg_mutex_lock(&e->rdev->lock);
    bool destroying = (e->flags & RPMSG_EPT_F_DESTROYING) != 0;
    rpmsg_mutex_unlock(&e->rdev->lock);
    return destroying;
}

static unsigned refs_of(const struct rpmsg_endpoint *e)
{
    return rpmsg_ref_load(&e->refs) & RPMSG_REF_COUNT;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000L };
    nanosleep(&ts, NULL);
}

/*
 * The sender parks in the transport; the destroyer starts; it must still be
 * waiting a while later (a destroy that did not wait returns in
 * microseconds); the gate opens; the send leaves the transport before the
 * destroy returns (its hold ends after that, inside rpmsg_send).
 */
static void destroy_waits_for_parked_send(struct fx *f)
{
    struct stub *s = &f->st;
    f->destroy_rc = 1;
    assert_int_equal(tu_thread_start(&f->destroyer, destroy_victim, f), 0);
    assert_int_equal(tu_wait_until(is_destroying, f->victim, TU_TIMEOUT_MS), 0);
    sleep_ms(50);
    assert_int_equal(__atomic_load_n(&f->destroy_done, __ATOMIC_SEQ_CST), 0);

    open_gate(s);
    assert_int_equal(tu_thread_join(&f->sender, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_thread_join(&f->destroyer, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->send_rc, 3);
    assert_int_equal(f->destroy_rc, 0);
    assert_int_equal(f->st.left, 1);
    assert_int_equal(f->destroy_done, 2);
    assert_false(rpmsg_tx_hazard_on(f->victim));
}

/* A send held by its thread's hazard: no reference is taken. */
static void test_destroy_waits_for_send_held_by_hazard(void **state)
{
    struct fx *f = *state;
    if (!__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE))
        skip(); /* the port has no asymmetric barrier here: the next case covers it */
    f->st.park_depth = 1;
    f->victim = &f->a;
    assert_int_equal(tu_thread_start(&f->sender, send_on_a, f), 0);
    assert_int_equal(tu_event_wait(&f->st.parked, 1, TU_TIMEOUT_MS), 0);
    assert_true(rpmsg_tx_hazard_on(&f->a));
    assert_int_equal(refs_of(&f->a), 0);
    destroy_waits_for_parked_send(f);
}

/* Without the barrier (as on a port that lacks it), a thread that had no
 * hazard yet takes a reference for each send. */
static void test_destroy_waits_for_send_held_by_reference(void **state)
{
    struct fx *f = *state;
    __atomic_store_n(&rpmsg_asym, false, __ATOMIC_RELEASE);
    f->st.park_depth = 1;
    f->victim = &f->a;
    assert_int_equal(tu_thread_start(&f->sender, send_on_a, f), 0);
    assert_int_equal(tu_event_wait(&f->st.parked, 1, TU_TIMEOUT_MS), 0);
    assert_false(rpmsg_tx_hazard_on(&f->a));
    assert_int_equal(refs_of(&f->a), 1);
    destroy_waits_for_parked_send(f);
}

/* A send nested in another on the same thread finds the hazard busy (it
 * holds the outer send's endpoint) and takes a reference on its own. */
static void test_nested_send_takes_a_reference(void **state)
{
    struct fx *f = *state;
    if (!__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE))
        skip();
    f->st.nest = &f->b;
    f->st.park_depth = 2; /* inside the nested send */
    f->victim = &f->b;
    assert_int_equal(tu_thread_start(&f->sender, send_on_a, f), 0);
    assert_int_equal(tu_event_wait(&f->st.parked, 1, TU_TIMEOUT_MS), 0);
    assert_true(rpmsg_tx_hazard_on(&f->a));
    assert_false(rpmsg_tx_hazard_on(&f->b));
    assert_int_equal(refs_of(&f->a), 0);
    assert_int_equal(refs_of(&f->b), 1);
    destroy_waits_for_parked_send(f);
    assert_int_equal(f->st.nest_rc, 2);
    assert_int_equal(refs_of(&f->a), 0);
}

struct one_send {
    struct fx *f;
    int rc;
    unsigned owned; /* hazards owned while this thread is alive */
};

static void *send_once(void *arg)
{
    struct one_send *o = arg;
    o->rc = rpmsg_send(&o->f->a, "x", 1);
    o->owned = rpmsg_tx_hazards_owned();
    return NULL;
}

/* Threads come and go many more times than there are hazards: each one's
 * hazard comes back when it ends, and every send is counted. */
static void test_hazard_comes_back_when_thread_ends(void **state)
{
    struct fx *f = *state;
    if (!__atomic_load_n(&rpmsg_asym, __ATOMIC_ACQUIRE))
        skip();
    unsigned before = rpmsg_tx_hazards_owned();
    assert_true(before < RPMSG_TX_HAZARDS);
    for (unsigned i = 0; i < 3 * RPMSG_TX_HAZARDS; i++) {
        struct one_send o = { .f = f, .rc = 1 };
        struct tu_thread t;
        assert_int_equal(tu_thread_start(&t, send_once, &o), 0);
        assert_int_equal(tu_thread_join(&t, TU_TIMEOUT_MS), 0);
        assert_int_equal(o.rc, 1);
        assert_int_equal(o.owned, before + 1);
        assert_int_equal(rpmsg_tx_hazards_owned(), before);
    }
    assert_int_equal(f->st.sent, 3 * RPMSG_TX_HAZARDS);
    assert_int_equal(refs_of(&f->a), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_send_held_by_hazard, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_waits_for_send_held_by_reference, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_nested_send_takes_a_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hazard_comes_back_when_thread_ends, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
