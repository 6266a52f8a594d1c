/*
 * Zero-copy sending: taking TX buffers, sending them without a copy, giving
 * them back unsent, and running out of them.
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
    void *bufs[NBUF + 1];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    for (int i = 0; i < 4; i++)
        tu_rec_init(&f->r[i]);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 4; i-- > 0;)
        tu_ept_cleanup(&f->e[i]);
    tu_pair_close(&f->p);
    for (int i = 0; i < 4; i++)
        tu_rec_deinit(&f->r[i]);
    free(f);
    TU_ASSERT_NO_THREAD_FAILURES();
    return 0;
}

/* Echoes every message back to its sender through a zero-copy buffer. */
static int echo_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    struct tu_rec *r = priv;
    tu_rec_cb(ept, data, len, src, r);
    uint32_t cap = 0;
    uint8_t *out = rpmsg_get_tx_payload_buffer(ept, &cap, RPMSG_WAIT);
    TU_CHECK(out != NULL);
    TU_CHECK(cap == PAYLOAD_MAX);
    if (!out)
        return 0;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)~((const uint8_t *)data)[i];
    TU_CHECK(rpmsg_sendto_nocopy(ept, out, len, src) == (int)len);
    return 0;
}

static void open_static(struct fx *f, bool polled, rpmsg_ept_cb b_cb)
{
    struct rpmsg_loopback_config cfg = {0};
    cfg.no_rx_thread = polled;
    assert_int_equal(tu_pair_open(&f->p, &cfg), 0);
    assert_int_equal(tu_ept_create(&f->e[0], f->p.a, NULL, 0x100, 0x200, tu_rec_cb, NULL, &f->r[0]),
                     0);
    assert_int_equal(tu_ept_create(&f->e[1], f->p.b, NULL, 0x200, 0x100, b_cb, NULL, &f->r[1]), 0);
}

static void test_round_trip(void **state)
{
    struct fx *f = *state;
    open_static(f, false, echo_cb);

    for (unsigned round = 0; round < 50; round++) {
        uint32_t cap = 0;
        uint8_t *buf = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_WAIT);
        assert_non_null(buf);
        assert_int_equal(cap, PAYLOAD_MAX);
        size_t len = 1 + (round * 37) % PAYLOAD_MAX;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(i + round);
        assert_int_equal(rpmsg_send_nocopy(&f->e[0], buf, len), (int)len);

        assert_int_equal(tu_rec_wait(&f->r[0], round + 1, TU_TIMEOUT_MS), 0);
        struct tu_msg *in = &f->r[1].msgs[round];
        struct tu_msg *back = &f->r[0].msgs[round];
        /* No copy on the way: the receiver was handed the very buffer we filled. */
        assert_ptr_equal(in->ptr, buf);
        assert_int_equal(in->src, 0x100);
        assert_int_equal(in->len, len);
        assert_int_equal(back->src, 0x200);
        assert_int_equal(back->len, len);
        for (size_t i = 0; i < len; i++) {
            assert_int_equal(in->data[i], (uint8_t)(i + round));
            assert_int_equal(back->data[i], (uint8_t)~(uint8_t)(i + round));
        }
    }
    assert_int_equal(tu_rec_count(&f->r[0]), 50);
    assert_int_equal(tu_rec_count(&f->r[1]), 50);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.b, NBUF, TU_TIMEOUT_MS), 0);
}

static void test_nocopy_variants(void **state)
{
    struct fx *f = *state;
    open_static(f, true, tu_rec_cb);
    uint32_t cap;

    char *b1 = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b1);
    memcpy(b1, "one", 3);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], b1, 3), 3);
    char *b2 = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b2);
    memcpy(b2, "two", 3);
    assert_int_equal(rpmsg_sendto_nocopy(&f->e[0], b2, 3, 0x200), 3);
    char *b3 = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b3);
    memcpy(b3, "three", 5);
    assert_int_equal(rpmsg_send_offchannel_nocopy(&f->e[0], 0x1AB, 0x200, b3, 5), 5);
    char *b4 = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b4);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], b4, 0), 0); /* an empty message */
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 4);

    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 4);
    assert_int_equal(tu_rec_count(&f->r[1]), 4);
    assert_int_equal(f->r[1].msgs[0].src, 0x100);
    assert_memory_equal(f->r[1].msgs[0].data, "one", 3);
    assert_int_equal(f->r[1].msgs[1].src, 0x100);
    assert_memory_equal(f->r[1].msgs[1].data, "two", 3);
    assert_int_equal(f->r[1].msgs[2].src, 0x1AB);
    assert_int_equal(f->r[1].msgs[2].len, 5);
    assert_memory_equal(f->r[1].msgs[2].data, "three", 5);
    assert_int_equal(f->r[1].msgs[3].len, 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    struct rpmsg_stats st = tu_stats(f->p.a);
    assert_int_equal(st.tx_msgs, 4);
    assert_int_equal(st.tx_bytes, 11);
}

static void test_release_tx_buffer(void **state)
{
    struct fx *f = *state;
    open_static(f, true, tu_rec_cb);
    uint32_t cap = 0;

    char *b = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_int_equal(cap, PAYLOAD_MAX);
    memset(b, 0x5A, cap); /* the whole payload area is ours */
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], b), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 0);
    assert_int_equal(tu_rec_count(&f->r[1]), 0);
    assert_int_equal(tu_stat(f->p.a, TU_STAT(tx_msgs)), 0);

    assert_int_equal(rpmsg_release_tx_buffer(NULL, b), -EINVAL);
    assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], NULL), -EINVAL);
    assert_null(rpmsg_get_tx_payload_buffer(NULL, &cap, RPMSG_NOWAIT));
    assert_int_equal(rpmsg_send_nocopy(NULL, b, 1), -EINVAL);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

static void test_nowait_null_when_empty(void **state)
{
    struct fx *f = *state;
    open_static(f, false, tu_rec_cb);
    uint32_t cap;

    for (int i = 0; i < NBUF; i++) {
        f->bufs[i] = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
        assert_non_null(f->bufs[i]);
        memset(f->bufs[i], i, cap);
        for (int j = 0; j < i; j++)
            assert_ptr_not_equal(f->bufs[i], f->bufs[j]);
    }
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), 0);
    assert_null(rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT));
    assert_int_equal(rpmsg_trysend(&f->e[0], "x", 1), -EAGAIN);
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, 50), 0);
    assert_null(rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_WAIT));

    /* Every buffer kept what was written into it. */
    for (int i = 0; i < NBUF; i++)
        for (uint32_t k = 0; k < PAYLOAD_MAX; k++)
            assert_int_equal(((uint8_t *)f->bufs[i])[k], (uint8_t)i);

    /* Half sent, half given back. */
    for (int i = 0; i < NBUF; i++) {
        if (i & 1)
            assert_int_equal(rpmsg_send_nocopy(&f->e[0], f->bufs[i], 8), 8);
        else
            assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], f->bufs[i]), 0);
    }
    assert_int_equal(tu_rec_wait(&f->r[1], NBUF / 2, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_wait_until_free_tx(f->p.lb, f->p.a, NBUF, TU_TIMEOUT_MS), 0);
    assert_int_equal(tu_rec_count(&f->r[1]), NBUF / 2);
    for (int i = 0; i < NBUF / 2; i++)
        assert_int_equal(f->r[1].msgs[i].data[0], (uint8_t)(2 * i + 1));
}

/* A waiting taker is woken when a buffer is given back. */
struct taker {
    struct fx *f;
    void *buf;
};

static void *take_one(void *arg)
{
    struct taker *t = arg;
    uint32_t cap;
    t->buf = rpmsg_get_tx_payload_buffer(&t->f->e[0], &cap, RPMSG_WAIT);
    return NULL;
}

static void test_wait_woken_by_release(void **state)
{
    struct fx *f = *state;
    open_static(f, false, tu_rec_cb);
    uint32_t cap;
    assert_int_equal(rpmsg_set_send_timeout(f->p.a, TU_TIMEOUT_MS), 0);
    for (int i = 0; i < NBUF; i++) {
        f->bufs[i] = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
        assert_non_null(f->bufs[i]);
    }
    struct taker t = {f, NULL};
    struct tu_thread th = {0};
    assert_int_equal(tu_thread_start(&th, take_one, &t), 0);
    assert_int_equal(tu_wait_sleepers(f->p.a, 1, TU_TIMEOUT_MS), 0);
    assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], f->bufs[5]), 0);
    assert_int_equal(tu_thread_join(&th, 2 * TU_TIMEOUT_MS), 0);
    assert_ptr_equal(t.buf, f->bufs[5]);
    f->bufs[5] = t.buf;
    for (int i = 0; i < NBUF; i++)
        assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], f->bufs[i]), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

/*
 * A zero-copy send that fails leaves the buffer with the caller (as in
 * OpenAMP), who then sends it properly or releases it.
 */
static void test_failed_nocopy_send_keeps_buffer(void **state)
{
    struct fx *f = *state;
    open_static(f, true, tu_rec_cb);
    uint32_t cap;

    char *b = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], b, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    /* Unbound endpoint: -EAGAIN, the buffer is still ours. */
    assert_int_equal(tu_ept_create(&f->e[2], f->p.a, NULL, 0x101, RPMSG_ADDR_ANY, NULL, NULL, NULL),
                     0);
    assert_int_equal(rpmsg_send_nocopy(&f->e[2], b, 3), -EAGAIN);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    memcpy(b, "yes", 3);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], b, 3), 3);
    assert_int_equal(tu_poll_idle(f->p.a, f->p.b), 1);
    assert_int_equal(tu_rec_count(&f->r[1]), 1);
    assert_memory_equal(f->r[1].msgs[0].data, "yes", 3);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);

    b = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_int_equal(rpmsg_send_nocopy(&f->e[0], b, PAYLOAD_MAX + 1), -EMSGSIZE);
    assert_int_equal(rpmsg_release_tx_buffer(&f->e[0], b), 0);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
}

/*
 * A zero-copy send that the link fails (it went down after the buffer was
 * taken) has given the buffer back already: rpmsg_nocopy_kept() says so, and
 * the pool is whole again without a release.
 */
static void test_failed_link_takes_buffer(void **state)
{
    struct fx *f = *state;
    open_static(f, true, tu_rec_cb);
    uint32_t cap;
    char *b = rpmsg_get_tx_payload_buffer(&f->e[0], &cap, RPMSG_NOWAIT);
    assert_non_null(b);
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF - 1);
    assert_int_equal(rpmsg_loopback_link_down(f->p.lb), 0);
    int r = rpmsg_sendto_nocopy(&f->e[0], b, 3, 0x200);
    assert_true(r < 0);
    assert_false(rpmsg_nocopy_kept(r));
    assert_int_equal(rpmsg_loopback_free_tx(f->p.lb, f->p.a), NBUF);
    assert_true(rpmsg_nocopy_kept(-EAGAIN) && rpmsg_nocopy_kept(-EMSGSIZE) &&
                rpmsg_nocopy_kept(-EINVAL) && !rpmsg_nocopy_kept(-EPIPE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nocopy_variants, setup, teardown),
        cmocka_unit_test_setup_teardown(test_release_tx_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nowait_null_when_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_woken_by_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_nocopy_send_keeps_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_link_takes_buffer, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
