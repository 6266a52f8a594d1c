/*
 * A peer's last messages: what it published before it died or closed is
 * delivered, in order, before the link goes down, also when every callback
 * asks to end the round after its message (rpmsg_rx_yield, as a socket
 * does once a reader's buffer is full). The round that drains a peer that
 * is gone does not end early: what it left behind would be lost with the
 * link (a socket bridge lost the last 18-64 KiB of a stream that way, one
 * run in sixty under load).
 */
#include "vt_plat.h"

static int yield_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    tu_rec_cb(ept, data, len, src, priv);
    rpmsg_rx_yield(ept);
    return 0;
}

static void last_words(bool yield, bool packed)
{
    struct vt_pair p;
    uint32_t f = packed ? RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED : 0;
    struct vt_opts o = { .hfeat = f, .rfeat = f, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_endpoint he, re;
    struct tu_rec rec;
    tu_rec_init(&rec);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x400, 0x401, yield ? yield_cb : tu_rec_cb,
                                   NULL, &rec),
                     0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x401, 0x400, NULL, NULL, NULL), 0);
    assert_int_equal(tu_poll_idle(p.h, p.r), 0);
    const uint32_t n = 100;
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(rpmsg_trysend(&re, &i, sizeof(i)), (int)sizeof(i));
    /* The remote dies (its liveness says so) before the host looked. */
    __atomic_store_n(&p.link.alive[1], 0, __ATOMIC_RELEASE);
    for (int i = 0; i < 10 && rpmsg_device_is_up(p.h); i++)
        rpmsg_poll(p.h);
    assert_false(rpmsg_device_is_up(p.h));
    assert_int_equal(tu_rec_count(&rec), n);
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v;
        memcpy(&v, rec.msgs[i].data, sizeof(v));
        assert_int_equal(v, i);
    }
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rec);
    __atomic_store_n(&p.link.alive[1], 1, __ATOMIC_RELEASE);
    vt_pair_close(&p);
}

static void test_delivered_before_down(void **state)
{
    (void)state;
    last_words(false, false);
    last_words(false, true);
}

static void test_delivered_although_callbacks_yield(void **state)
{
    (void)state;
    last_words(true, false);
    last_words(true, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delivered_before_down),
        cmocka_unit_test(test_delivered_although_callbacks_yield),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
