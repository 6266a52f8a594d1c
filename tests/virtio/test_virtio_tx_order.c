/*
 * The host's TX buffers go round in the order the ring's positions do: a
 * buffer the remote gives back queues behind the other free ones
 * (host_reclaim), so every send takes the buffer the send one lap before
 * it took. That is what lets a remote spinning on an empty ring fetch the
 * buffer of its next message ahead (rx_foresee, test_vring_guess.c). Split
 * and packed rings, with the remote giving buffers back in batches; a
 * buffer taken and given back unsent is the next one taken again.
 */
#include "vt_plat.h"

#include "transport/virtio/virtio_internal.h"

struct eps {
    struct rpmsg_endpoint he, re;
    struct tu_rec rr;
};

static void open_with(struct vt_pair *p, struct eps *e, uint32_t feat)
{
    struct vt_opts o = { .hfeat = feat, .rfeat = feat, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(p, &o), 0);
    assert_int_equal(vt_wait_up(p), 0);
    memset(e, 0, sizeof(*e));
    tu_rec_init(&e->rr);
    assert_int_equal(tu_ept_create(&e->he, p->h, NULL, 0x400, 0x401, NULL, NULL, NULL), 0);
    assert_int_equal(tu_ept_create(&e->re, p->r, NULL, 0x401, 0x400, tu_rec_cb, NULL, &e->rr), 0);
    assert_int_equal(tu_poll_idle(p->h, p->r), 0);
}

static void close_all(struct vt_pair *p, struct eps *e)
{
    rpmsg_destroy_ept(&e->he);
    rpmsg_destroy_ept(&e->re);
    tu_rec_deinit(&e->rr);
    vt_pair_close(p);
}

/* A TX buffer of the host, polling both sides until one is back. */
static void *take(struct vt_pair *p, struct eps *e)
{
    for (int i = 0; i < 1000; i++) {
        uint32_t size = 0;
        void *b = rpmsg_get_tx_payload_buffer(&e->he, &size, RPMSG_NOWAIT);
        if (b)
            return b;
        rpmsg_poll(p->r);
        rpmsg_poll(p->h);
    }
    fail_msg("no TX buffer came back");
    return NULL;
}

static void goes_round(uint32_t feat)
{
    struct vt_pair p;
    struct eps e;
    open_with(&p, &e, feat);
    const uint32_t num = p.host->vq[VQ_TX_HOST].num, n = 3 * num + 5;
    void **seen = calloc(n, sizeof(*seen));
    assert_non_null(seen);
    for (uint32_t i = 0; i < n; i++) {
        if (i == 2 * num) {
            /* Taken and given back unsent: it is the next one taken. */
            void *b = take(&p, &e);
            assert_ptr_equal(b, seen[i - num]);
            assert_int_equal(rpmsg_release_tx_buffer(&e.he, b), 0);
        }
        seen[i] = take(&p, &e);
        if (i >= num)
            assert_ptr_equal(seen[i], seen[i - num]);
        else
            for (uint32_t k = 0; k < i; k++)
                assert_ptr_not_equal(seen[i], seen[k]);
        memcpy(seen[i], &i, sizeof(i));
        assert_int_equal(rpmsg_send_nocopy(&e.he, seen[i], sizeof(i)), (int)sizeof(i));
        /* The remote takes it now; it gives buffers back in batches. */
        assert_true(rpmsg_poll(p.r) > 0);
    }
    assert_int_equal(tu_rec_count(&e.rr), n);
    for (uint32_t i = 0; i < n && i < TU_REC_KEEP; i++) {
        uint32_t got;
        memcpy(&got, e.rr.msgs[i].data, sizeof(got));
        assert_int_equal(got, i);
    }
    free(seen);
    close_all(&p, &e);
}

static void test_split(void **state)
{
    (void)state;
    goes_round(RPMSG_VIRTIO_F_DEFAULT);
}

static void test_packed(void **state)
{
    (void)state;
    goes_round(RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split),
        cmocka_unit_test(test_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
