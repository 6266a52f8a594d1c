/*
 * The copy send family: return values, delivery, argument and size errors,
 * non-blocking failures, blocking timeouts and wake-ups.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#define PAYLOAD_MAX (RPMSG_BUFFER_SIZE - RPMSG_HDR_SIZE)
#define NBUF 16

struct fx {
    struct tu_pair p;
    struct rpmsg_endpoint e[4];
    struct tu_rec r[4];
    struct tu_gate gate;
    struct tu_thread th;
    int th_rc;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 4; i++)
        tu_rec_init(&f->r[i]);
    tu_gate_init(&f->gate);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    tu_gate_open(&f->gate); /* a failed test may have left an RX thread parked */
    for (int i = 4; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    if (tu_thread_join(&f->th, 2 * TU_TIMEOUT_MS) < 0)
        abort(); /* a sender stuck past every bound: nothing safe to free */
    tu_pair_close(&f->p);
    tu_gate_deinit(&f->gate);
    for (int i = 0; i < 4; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

static int mk(struct fx *f, int i, struct rpmsg_device *d, const char *name, uint32_t src,
              uint32_t dst)
{
    return tu_ept_create(&f->e[i], d, name, src, dst, tu_rec_cb, tu_rec_unbind_cb, &f->r[i]);
}

/* e0 on a (0x100 -> 0x200), e1 on b (0x200 -> 0x100). */
static void open_static(struct fx *f, const struct rpmsg_loopback_config *cfg)
{
    assert_int_equal(tu_pair_open(&f->p, cfg), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(mk(f, 1, f->p.b, NULL, 0x200, 0x100), 0);
}

static void check_msg(struct tu_rec *r, unsigned idx, uint32_t src, const void *data, size_t len)
{
    assert_true(tu_rec_count(r) > idx);
    assert_int_equal(r->msgs[idx].src, src);
    assert_int_equal(r->msgs[idx].len, len);
    assert_memory_equal(r->msgs[idx].data, data, len);
}

static void test_every_variant(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *e = &f->e[0];
    uint8_t big[PAYLOAD_MAX];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 3);

    assert_int_equal(rpmsg_get_tx_buffer_size(e), PAYLOAD_MAX);
    assert_int_equal(rpmsg_send(e, "v1", 2), 2);
    assert_int_equal(rpmsg_sendto(e, "v2", 2, 0x200), 2);
    assert_int_equal(rpmsg_send_offchannel(e, 0x177, 0x200, "v3", 2), 2);
    assert_int_equal(rpmsg_trysend(e, "v4", 2), 2);
    assert_int_equal(rpmsg_trysendto(e, "v5", 2, 0x200), 2);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x178, 0x200, "v6", 2), 2);
    assert_int_equal(rpmsg_send(e, big, sizeof(big)), PAYLOAD_MAX);
    assert_int_equal(rpmsg_sendto(e, big, sizeof(big), 0x200), PAYLOAD_MAX);
    assert_int_equal(rpmsg_send_offchannel(e, 0x100, 0x200, big, sizeof(big)), PAYLOAD_MAX);
    assert_int_equal(tu_rec_wait(&f->r[1], 9, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_trysend(e, big, sizeof(big)), PAYLOAD_MAX);
    assert_int_equal(rpmsg_trysendto(e, big, sizeof(big), 0x200), PAYLOAD_MAX);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x100, 0x200, big, sizeof(big)), PAYLOAD_MAX);
    assert_int_equal(tu_rec_wait(&f->r[1], 12, TU_TIMEOUT_MS), 0);

    check_msg(&f->r[1], 0, 0x100, "v1", 2);
    check_msg(&f->r[1], 1, 0x100, "v2", 2);
    check_msg(&f->r[1], 2, 0x177, "v3", 2);
    check_msg(&f->r[1], 3, 0x100, "v4", 2);
    check_msg(&f->r[1], 4, 0x100, "v5", 2);
    check_msg(&f->r[1], 5, 0x178, "v6", 2);
    for (unsigned i = 6; i < 12; i++)
        check_msg(&f->r[1], i, 0x100, big, sizeof(big));
    assert_int_equal(tu_rec_count(&f->r[1]), 12);
    assert_int_equal(tu_rec_count(&f->r[0]), 0);

    /* Every buffer comes back. */
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
}

static void test_einval(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *e = &f->e[0];
    struct rpmsg_endpoint *unreg = &f->e[2];
    memset(unreg, 0, sizeof(*unreg));

    assert_int_equal(rpmsg_send(NULL, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_sendto(NULL, "x", 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_send_offchannel(NULL, 0x100, 0x200, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_trysend(NULL, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_trysendto(NULL, "x", 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_trysend_offchannel(NULL, 0x100, 0x200, "x", 1), -EINVAL);

    assert_int_equal(rpmsg_send(e, NULL, 1), -EINVAL);
    assert_int_equal(rpmsg_sendto(e, NULL, 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_send_offchannel(e, 0x100, 0x200, NULL, 1), -EINVAL);
    assert_int_equal(rpmsg_trysend(e, NULL, 1), -EINVAL);
    assert_int_equal(rpmsg_trysendto(e, NULL, 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x100, 0x200, NULL, 1), -EINVAL);

    assert_int_equal(rpmsg_send(unreg, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_sendto(unreg, "x", 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_send_offchannel(unreg, 0x100, 0x200, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_trysend(unreg, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_trysendto(unreg, "x", 1, 0x200), -EINVAL);
    assert_int_equal(rpmsg_trysend_offchannel(unreg, 0x100, 0x200, "x", 1), -EINVAL);
    assert_int_equal(rpmsg_get_tx_buffer_size(NULL), -EINVAL);

    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

static void test_emsgsize(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *e = &f->e[0];
    static uint8_t big[PAYLOAD_MAX + 100];

    assert_int_equal(rpmsg_send(e, big, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_sendto(e, big, PAYLOAD_MAX + 1, 0x200), -EMSGSIZE);
    assert_int_equal(rpmsg_send_offchannel(e, 0x100, 0x200, big, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_trysend(e, big, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_trysendto(e, big, PAYLOAD_MAX + 1, 0x200), -EMSGSIZE);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x100, 0x200, big, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_send(e, big, sizeof(big)), -EMSGSIZE);
    /* Larger than the 16-bit length field: must not wrap around to a small message. */
    static uint8_t huge[65536 + 4];
    assert_int_equal(rpmsg_trysend(e, huge, 65536 + 4), -EMSGSIZE);

    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    assert_int_equal(rpmsg_send(e, big, PAYLOAD_MAX), PAYLOAD_MAX);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 1);
}

/* The limit follows the transport's buffer size. */
static void test_emsgsize_small_buffers(void **state)
{
    struct fx *f = *state;
    struct rpmsg_loopback_config cfg = {0};
    cfg.buf_size = 128;
    open_static(f, &cfg);
    static uint8_t big[128];

    assert_int_equal(rpmsg_get_tx_buffer_size(&f->e[0]), 128 - RPMSG_HDR_SIZE);
    assert_int_equal(rpmsg_trysend(&f->e[0], big, 128 - RPMSG_HDR_SIZE + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_send(&f->e[0], big, 128 - RPMSG_HDR_SIZE), 128 - RPMSG_HDR_SIZE);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(f->r[1].msgs[0].len, 128 - RPMSG_HDR_SIZE);
}

static void test_unbound(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *u = &f->e[2];

    assert_int_equal(mk(f, 2, f->p.a, "nobody-home", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(rpmsg_trysend(u, "x", 1), -EAGAIN);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 50), 0);
    assert_int_equal(rpmsg_send(u, "x", 1), -ETIMEDOUT);
    /* sendto and off-channel need no binding. */
    assert_int_equal(rpmsg_trysendto(u, "to", 2, 0x200), 2);
    assert_int_equal(rpmsg_sendto(u, "to2", 3, 0x200), 3);
    assert_int_equal(rpmsg_trysend_offchannel(u, 0x190, 0x200, "off", 3), 3);
    assert_int_equal(rpmsg_send_offchannel(u, 0x191, 0x200, "off2", 4), 4);
    assert_int_equal(tu_rec_wait(&f->r[1], 4, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, u->addr, "to", 2);
    check_msg(&f->r[1], 1, u->addr, "to2", 3);
    check_msg(&f->r[1], 2, 0x190, "off", 3);
    check_msg(&f->r[1], 3, 0x191, "off2", 4);
    assert_false(rpmsg_is_ept_ready(u));
    assert_int_equal(tu_rec_count(&f->r[1]), 4);
}

/* Fills every a->b buffer: b's RX thread parks in the first callback. */
static void exhaust(struct fx *f)
{
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(mk(f, 0, f->p.a, NULL, 0x100, 0x200), 0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, tu_gate_cb, NULL, &f->gate),
                     0);
    for (unsigned i = 0; i < NBUF; i++) {
        uint32_t v = i;
        assert_int_equal(rpmsg_trysend(&f->e[0], &v, sizeof(v)), (int)sizeof(v));
    }
    assert_int_equal(tu_event_wait(&f->gate.entered, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 0);
}

static void check_drained(struct fx *f, unsigned n)
{
    assert_int_equal(tu_rec_wait(&f->gate.rec, n, TU_TIMEOUT_MS), 0);
    for (unsigned i = 0; i < n; i++) {
        uint32_t v;
        assert_int_equal(f->gate.rec.msgs[i].len, sizeof(v));
        memcpy(&v, f->gate.rec.msgs[i].data, sizeof(v));
        assert_int_equal(v, i);
    }
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->gate.rec), n);
}

static void test_try_pool_exhausted(void **state)
{
    struct fx *f = *state;
    exhaust(f);

    uint32_t v = 99;
    assert_int_equal(rpmsg_trysend(&f->e[0], &v, sizeof(v)), -EAGAIN);
    assert_int_equal(rpmsg_trysendto(&f->e[0], &v, sizeof(v), 0x200), -EAGAIN);
    assert_int_equal(rpmsg_trysend_offchannel(&f->e[0], 0x100, 0x200, &v, sizeof(v)), -EAGAIN);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), NBUF);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 0);

    tu_gate_open(&f->gate);
    check_drained(f, NBUF);
    v = NBUF;
    assert_int_equal(rpmsg_trysend(&f->e[0], &v, sizeof(v)), (int)sizeof(v));
    check_drained(f, NBUF + 1);
}

static void test_blocking_timeout(void **state)
{
    struct fx *f = *state;
    exhaust(f);

    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 100), 0);
    uint32_t v = 99;
    assert_int_equal(rpmsg_send(&f->e[0], &v, sizeof(v)), -ETIMEDOUT);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 1);
    assert_int_equal(rpmsg_sendto(&f->e[0], &v, sizeof(v), 0x200), -ETIMEDOUT);
    assert_int_equal(rpmsg_send_offchannel(&f->e[0], 0x100, 0x200, &v, sizeof(v)), -ETIMEDOUT);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 3);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), NBUF);

    tu_gate_open(&f->gate);
    check_drained(f, NBUF);
}

static void *send_one(void *arg)
{
    struct fx *f = arg;
    uint32_t v = NBUF;
    f->th_rc = rpmsg_send(&f->e[0], &v, sizeof(v));
    return NULL;
}

static void test_blocking_woken_by_free_buffer(void **state)
{
    struct fx *f = *state;
    exhaust(f);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);

    assert_int_equal(tu_thread_start(&f->th, send_one, f), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    tu_gate_open(&f->gate);
    assert_int_equal(tu_thread_join(&f->th, 2 * TU_TIMEOUT_MS), 0);
    assert_int_equal(f->th_rc, sizeof(uint32_t));
    check_drained(f, NBUF + 1);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 1);
}

static void *send_hello(void *arg)
{
    struct fx *f = arg;
    f->th_rc = rpmsg_send(&f->e[0], "hello", 5);
    return NULL;
}

static void test_blocking_woken_by_binding(void **state)
{
    struct fx *f = *state;
    assert_int_equal(tu_pair_open(&f->p, NULL), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);
    assert_int_equal(mk(f, 0, f->p.a, "late-svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);

    assert_int_equal(tu_thread_start(&f->th, send_hello, f), 0);
    /* The send is parked, waiting for a peer. */
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_false(rpmsg_is_ept_ready(&f->e[0]));

    assert_int_equal(mk(f, 1, f->p.b, "late-svc", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(tu_thread_join(&f->th, 2 * TU_TIMEOUT_MS), 0);
    assert_int_equal(f->th_rc, 5);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, f->e[0].addr, "hello", 5);
    assert_int_equal(f->e[0].dest_addr, f->e[1].addr);
    /* It waited for a peer, never for a buffer. */
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_waits)), 0);
}

static void test_epipe_after_destroy(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *e = &f->e[0];

    assert_int_equal(rpmsg_destroy_ept(e), 0);
    assert_int_equal(rpmsg_send(e, "x", 1), -EPIPE);
    assert_int_equal(rpmsg_sendto(e, "x", 1, 0x200), -EPIPE);
    assert_int_equal(rpmsg_send_offchannel(e, 0x100, 0x200, "x", 1), -EPIPE);
    assert_int_equal(rpmsg_trysend(e, "x", 1), -EPIPE);
    assert_int_equal(rpmsg_trysendto(e, "x", 1, 0x200), -EPIPE);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x100, 0x200, "x", 1), -EPIPE);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

static void test_link_down(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    struct rpmsg_endpoint *e = &f->e[0];

    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_false(rpmsg_device_is_up(f->p.a));
    assert_int_equal(rpmsg_trysend(e, "x", 1), -ENOTCONN);
    assert_int_equal(rpmsg_trysendto(e, "x", 1, 0x200), -ENOTCONN);
    assert_int_equal(rpmsg_trysend_offchannel(e, 0x100, 0x200, "x", 1), -ENOTCONN);
    /* A static binding survives the link going down. */
    assert_int_equal(e->dest_addr, 0x200);

    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_int_equal(rpmsg_trysend(e, "up", 2), 2);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, 0x100, "up", 2);
    assert_int_equal(tu_rec_count(&f->r[1]), 1);
}

static void *send_up(void *arg)
{
    struct fx *f = arg;
    f->th_rc = rpmsg_send(&f->e[0], "up!", 3);
    return NULL;
}

/* A blocking send while the link is down waits for it to come back. */
static void test_blocking_waits_for_link(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);

    assert_int_equal(tu_thread_start(&f->th, send_up, f), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 0);
    assert_int_equal(rpmsg_loopback_link_up(f->p.lb), 0);
    assert_int_equal(tu_thread_join(&f->th, 2 * TU_TIMEOUT_MS), 0);
    assert_int_equal(f->th_rc, 3);
    assert_int_equal(tu_rec_wait(&f->r[1], 1, TU_TIMEOUT_MS), 0);
    check_msg(&f->r[1], 0, 0x100, "up!", 3);

    /* And gives up at the timeout if it does not. */
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 30), 0);
    assert_int_equal(rpmsg_send(&f->e[0], "x", 1), -ETIMEDOUT);
}

static void test_set_send_timeout_args(void **state)
{
    struct fx *f = *state;
    open_static(f, NULL);
    assert_int_equal(rpmsg_set_send_timeout(NULL, 10), -EINVAL);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 20), 0);
    assert_int_equal(mk(f, 2, f->p.a, "unbound", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(rpmsg_send(&f->e[2], "x", 1), -ETIMEDOUT);
    /* The bound is per device. */
    assert_int_equal(rpmsg_set_send_timeout(f->p.b, 30), 0);
    assert_int_equal(mk(f, 3, f->p.b, "unbound-too", RPMSG_ADDR_ANY, RPMSG_ADDR_ANY), 0);
    assert_int_equal(rpmsg_send(&f->e[3], "x", 1), -ETIMEDOUT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_every_variant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_einval, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emsgsize, setup, teardown),
        cmocka_unit_test_setup_teardown(test_emsgsize_small_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unbound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_try_pool_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_woken_by_free_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_woken_by_binding, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epipe_after_destroy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
        cmocka_unit_test_setup_teardown(test_blocking_waits_for_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_send_timeout_args, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
