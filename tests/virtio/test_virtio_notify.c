/*
 * Event suppression: with VIRTIO_RING_F_EVENT_IDX a burst costs one
 * notification; buffers returned while the peer is not starved cost none;
 * a starved sender is kicked when buffers come back. Without the event index
 * (flags only) every message of a burst into an idle peer kicks, and so does
 * every buffer returned to a starved peer until it runs. Devices are
 * poll-driven so every count is exact.
 */
#include "vt_plat.h"

#define BURST 200u

static int open_pair(struct vt_pair *p, bool event_idx)
{
    uint32_t f = RPMSG_F_NS | RPMSG_F_ACK | (event_idx ? RPMSG_VIRTIO_F_EVENT_IDX : 0);
    struct vt_opts o = { .hfeat = f, .rfeat = f, .no_rx_thread = true };
    int r = vt_pair_open(p, &o);
    if (!r)
        r = vt_wait_up(p);
    return r;
}

static void burst(struct rpmsg_endpoint *e, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(rpmsg_trysend(e, &i, sizeof(i)), (int)sizeof(i));
}

/* Polls d until rec has n messages. */
static void drain(struct rpmsg_device *d, struct tu_rec *rec, unsigned n)
{
    for (int i = 0; i < 1000 && tu_rec_count(rec) < n; i++)
        assert_true(rpmsg_poll(d) >= 0);
    assert_int_equal(tu_rec_count(rec), n);
}

static void test_event_idx_burst(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(open_pair(&p, true), 0);
    assert_true(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_EVENT_IDX);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);

    for (unsigned round = 1; round <= 3; round++) {
        /* host → remote: one kick for the whole burst */
        uint64_t h0 = vt_rung(&p.link, 0), r0 = vt_rung(&p.link, 1);
        burst(&he, BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 1);
        drain(p.r, &rr, round * BURST);
        /* the remote returned 200 buffers to a host that is not short of any */
        assert_int_equal(vt_rung(&p.link, 1) - r0, 0);
        assert_int_equal(rpmsg_poll(p.h), 0);

        /* remote → host: the same */
        h0 = vt_rung(&p.link, 0);
        r0 = vt_rung(&p.link, 1);
        burst(&re, BURST);
        assert_int_equal(vt_rung(&p.link, 1) - r0, 1);
        drain(p.h, &hr, round * BURST);
        assert_int_equal(vt_rung(&p.link, 0) - h0, 0);
        assert_int_equal(rpmsg_poll(p.r), 0);
    }
    struct rpmsg_virtio_stats hs = vt_stats(p.host), rs = vt_stats(p.remote);
    assert_int_equal(hs.tx_msgs, 3 * BURST);
    assert_int_equal(rs.tx_msgs, 3 * BURST);
    assert_true(hs.notify_suppressed >= 2 * 3 * BURST - 10);

    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

static void starve(bool event_idx)
{
    struct vt_pair p;
    assert_int_equal(open_pair(&p, event_idx), 0);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);

    /* The remote uses up the host's 256 RX buffers. */
    burst(&re, 256);
    int one = 1;
    assert_int_equal(rpmsg_trysend(&re, &one, sizeof(one)), -EAGAIN);
    /* The host drains: returning buffers to a starved remote kicks it once. */
    uint64_t h0 = vt_rung(&p.link, 0);
    drain(p.h, &hr, 256);
    /* (with flags alone, every returned buffer kicks until the remote runs) */
    assert_int_equal(vt_rung(&p.link, 0) - h0, event_idx ? 1 : 256);
    assert_int_equal(rpmsg_poll(p.r), 0);
    assert_int_equal(rpmsg_trysend(&re, &one, sizeof(one)), (int)sizeof(one));

    /* The same for the host's TX buffers. */
    burst(&he, 256);
    assert_int_equal(rpmsg_trysend(&he, &one, sizeof(one)), -EAGAIN);
    uint64_t r0 = vt_rung(&p.link, 1);
    drain(p.r, &rr, 256);
    assert_int_equal(vt_rung(&p.link, 1) - r0, event_idx ? 1 : 256);
    assert_int_equal(rpmsg_trysend(&he, &one, sizeof(one)), (int)sizeof(one));

    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

static void test_starved_event_idx(void **state)
{
    (void)state;
    starve(true);
}

static void test_starved_flags(void **state)
{
    (void)state;
    starve(false);
}

static void test_flags_burst(void **state)
{
    (void)state;
    struct vt_pair p;
    assert_int_equal(open_pair(&p, false), 0);
    assert_false(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_EVENT_IDX);
    struct rpmsg_endpoint he, re;
    struct tu_rec rr;
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x700, 0x701, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x701, 0x700, tu_rec_cb, NULL, &rr), 0);
    /* An idle receiver asks for a kick per message with flags alone... */
    uint64_t h0 = vt_rung(&p.link, 0), r0 = vt_rung(&p.link, 1);
    burst(&he, BURST);
    assert_int_equal(vt_rung(&p.link, 0) - h0, BURST);
    drain(p.r, &rr, BURST);
    /* ...but still none for buffers going back to a sender with plenty. */
    assert_int_equal(vt_rung(&p.link, 1) - r0, 0);
    struct rpmsg_virtio_stats hs = vt_stats(p.host);
    assert_int_equal(hs.notify_sent, vt_rung(&p.link, 0));
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    tu_rec_deinit(&rr);
    vt_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_idx_burst),
        cmocka_unit_test(test_starved_event_idx),
        cmocka_unit_test(test_starved_flags),
        cmocka_unit_test(test_flags_burst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
