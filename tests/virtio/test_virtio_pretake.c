/*
 * A remote takes the host's next RX buffer right after each send, while the
 * line its descriptor sits in is still in its cache, and keeps it as a spare
 * for the next send (remote_pretake, virtio_bufs.c). Checked from the
 * remote's bookkeeping and from what the host receives: every message lands
 * in the buffer the host posted next, in order, by copy and zero-copy sends;
 * a ring the host has emptied leaves the remote with no spare, its next send
 * starves and is told when buffers come back; a spare does not outlive the
 * session it was taken in. Packed rings only: a split remote takes at the
 * send, as before (test_split_takes_at_send).
 */
#include "vt_plat.h"

#include "transport/virtio/virtio_internal.h"

/* The remote's bookkeeping of vring0 (the host's RX buffers, its TX ones). */
static const struct rpmsg_virtio_vq *rvq(const struct vt_pair *p)
{
    return &p->remote->vq[VQ_RX_HOST];
}

/* The id of the spare the remote holds; -1 if none (at most one: the
 * remote takes one ahead, never more). */
static int spare(const struct vt_pair *p)
{
    const struct rpmsg_virtio_vq *vq = rvq(p);
    int id = -1, n = 0;
    for (uint32_t i = 0; i < vq->num; i++)
        if (vq->slot[i].state == SLOT_SPARE) {
            id = (int)i;
            n++;
        }
    assert_true(n <= 1);
    assert_int_equal(vq->nfree, (uint32_t)n);
    return id;
}

struct eps {
    struct rpmsg_endpoint he, re;
    struct tu_rec hr;
};

#define PACKED (RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED)

static void open_with(struct vt_pair *p, struct eps *e, uint32_t feat)
{
    struct vt_opts o = { .hfeat = feat, .rfeat = feat, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(p, &o), 0);
    assert_int_equal(vt_wait_up(p), 0);
    memset(e, 0, sizeof(*e));
    tu_rec_init(&e->hr);
    assert_int_equal(tu_ept_create(&e->he, p->h, NULL, 0x400, 0x401, tu_rec_cb, NULL, &e->hr), 0);
    assert_int_equal(tu_ept_create(&e->re, p->r, NULL, 0x401, 0x400, NULL, NULL, NULL), 0);
    assert_int_equal(tu_poll_idle(p->h, p->r), 0);
}

static void open_all(struct vt_pair *p, struct eps *e)
{
    open_with(p, e, PACKED);
    assert_true(rpmsg_get_features(p->h) & RPMSG_VIRTIO_F_RING_PACKED);
}

static void close_all(struct vt_pair *p, struct eps *e)
{
    rpmsg_destroy_ept(&e->he);
    rpmsg_destroy_ept(&e->re);
    tu_rec_deinit(&e->hr);
    vt_pair_close(p);
}

/* The host's RX buffer that message i (0-based, counted from the first
 * send of the test) must land in: the host posted them in order. */
static const uint8_t *host_buf(const struct vt_pair *p, uint32_t first, uint32_t i)
{
    const struct rpmsg_virtio_vq *vq = &p->host->vq[VQ_RX_HOST];
    return p->shm + vq->slot[(first + i) % vq->num].off;
}

static void test_one_spare_per_send(void **state)
{
    (void)state;
    struct vt_pair p;
    struct eps e;
    open_all(&p, &e);
    /* The remote may have sent already (name service); what it holds now
     * is the buffer its next send fills. */
    int first = spare(&p);
    uint32_t next = first >= 0 ? (uint32_t)first : 0;
    if (first < 0) {
        const struct rpmsg_virtio_vq *vq = rvq(&p);
        next = (uint16_t)vq->last % vq->num;
    }
    for (uint32_t i = 0; i < 40; i++) {
        uint32_t v = 0xC0DE0000u + i;
        if (i % 2) {
            uint32_t size = 0;
            void *b = rpmsg_get_tx_payload_buffer(&e.re, &size, RPMSG_NOWAIT);
            assert_non_null(b);
            memcpy(b, &v, sizeof(v));
            assert_int_equal(rpmsg_send_nocopy(&e.re, b, sizeof(v)), (int)sizeof(v));
        } else {
            assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), (int)sizeof(v));
        }
        /* Sent into the buffer taken ahead; the one after it is taken now. */
        assert_int_equal(spare(&p), (int)((next + i + 1) % rvq(&p)->num));
        uint32_t got;
        memcpy(&got, host_buf(&p, next, i) + RPMSG_HDR_SIZE, sizeof(got));
        assert_int_equal(got, v);
    }
    while (tu_rec_count(&e.hr) < 40)
        assert_true(rpmsg_poll(p.h) > 0);
    for (unsigned i = 0; i < 40; i++) {
        uint32_t got;
        memcpy(&got, e.hr.msgs[i].data, sizeof(got));
        assert_int_equal(got, 0xC0DE0000u + i);
    }
    close_all(&p, &e);
}

static void test_empty_ring_starves_then_recovers(void **state)
{
    (void)state;
    struct vt_pair p;
    struct eps e;
    open_all(&p, &e);
    /* Every buffer the host posted is sent: the last send finds none to
     * take ahead. */
    uint32_t v = 7, sent = 0;
    while (rpmsg_trysend(&e.re, &v, sizeof(v)) == (int)sizeof(v))
        sent++;
    assert_true(sent > 200);
    assert_int_equal(spare(&p), -1);
    assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), -EAGAIN);
    /* The host receives them all and posts the buffers again: the remote,
     * starved, is kicked, and sends again (taking the next one ahead). */
    uint64_t kicks = vt_rung(&p.link, 0);
    while (tu_rec_count(&e.hr) < sent)
        assert_true(rpmsg_poll(p.h) > 0);
    assert_true(vt_rung(&p.link, 0) > kicks);
    assert_int_equal(rpmsg_poll(p.r), 0);
    assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), (int)sizeof(v));
    assert_true(spare(&p) >= 0);
    close_all(&p, &e);
}

static void test_spare_ends_with_session(void **state)
{
    (void)state;
    struct vt_pair p;
    struct eps e;
    open_all(&p, &e);
    uint32_t v = 9;
    assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), (int)sizeof(v));
    assert_true(spare(&p) >= 0);
    /* The host restarts: a new session, new rings. The remote's spare was
     * the old session's; its first send of the new one lands in the host's
     * first RX buffer. */
    rpmsg_destroy_ept(&e.he);
    vt_stop(&p, 0);
    assert_int_equal(vt_start(&p, 0), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(tu_ept_create(&e.he, p.h, NULL, 0x400, 0x401, tu_rec_cb, NULL, &e.hr), 0);
    assert_int_equal(tu_poll_idle(p.h, p.r), 0);
    unsigned before = tu_rec_count(&e.hr);
    int s = spare(&p);
    uint32_t at = s >= 0 ? (uint32_t)s : 0;
    v = 0xBEEF;
    assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), (int)sizeof(v));
    uint32_t got;
    memcpy(&got, host_buf(&p, at, 0) + RPMSG_HDR_SIZE, sizeof(got));
    assert_int_equal(got, 0xBEEF);
    while (tu_rec_count(&e.hr) < before + 1)
        assert_true(rpmsg_poll(p.h) > 0);
    memcpy(&got, e.hr.msgs[before].data, sizeof(got));
    assert_int_equal(got, 0xBEEF);
    close_all(&p, &e);
}

static void test_split_takes_at_send(void **state)
{
    (void)state;
    struct vt_pair p;
    struct eps e;
    open_with(&p, &e, RPMSG_VIRTIO_F_DEFAULT);
    assert_false(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_RING_PACKED);
    for (uint32_t v = 0; v < 10; v++) {
        assert_int_equal(rpmsg_trysend(&e.re, &v, sizeof(v)), (int)sizeof(v));
        assert_int_equal(spare(&p), -1);
    }
    while (tu_rec_count(&e.hr) < 10)
        assert_true(rpmsg_poll(p.h) > 0);
    close_all(&p, &e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_spare_per_send),
        cmocka_unit_test(test_empty_ring_starves_then_recovers),
        cmocka_unit_test(test_spare_ends_with_session),
        cmocka_unit_test(test_split_takes_at_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
