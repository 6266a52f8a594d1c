/*
 * Buffers go round in the order of the ring's positions: each message
 * takes the buffer the message one lap before it took, so on a split ring
 * the position's avail entry, its used element and the buffer's descriptor
 * already hold what the message needs and are not stored again (vw_set16,
 * test_vring_unchanged.c). Over packed rings too (RPMSG_VT_PACKED: CMake
 * runs this file again). For the host as sender, the TX buffers the
 * remote gives back queue behind the free ones (host_reclaim); for the
 * remote as sender, it takes the host's RX buffers in the order the host
 * posts them, and the host posts them again in the order they came.
 *
 * Checked with runs of zero-copy sends, which park the next buffer
 * (park_tx), and runs of copy sends, which must take a parked buffer first:
 * left parked, it was out of circulation for the session and every lap
 * shifted each position's buffer by one. A buffer taken and given back
 * unsent is the next one taken. Every message arrives in order.
 */
#include "vt_eps.h"

#include "transport/virtio/virtio_internal.h"
#include "transport/virtio/virtio_wire.h"

/* The buffer the sender's last message went in, as the ring names it: the
 * host's avail entry, or the remote's used element (packed: the id of the
 * descriptor written at that slot). */
static uint16_t last_id(const struct vt_pair *p, bool remote_sends)
{
    const struct rpmsg_virtio_vq *vq = remote_sends ? &p->remote->vq[VQ_RX_HOST]
                                                    : &p->host->vq[VQ_TX_HOST];
    uint32_t pos = (uint16_t)(vq->shadow - 1) & (vq->num - 1);
    if (vq->packed)
        return vw_ld16(vq->desc + 16 * pos + 12);
    if (remote_sends)
        return (uint16_t)vw_ld32(vq->used + 4 + 8 * pos);
    return vw_ld16(vq->avail + 4 + 2 * pos);
}

static void goes_round(void **state)
{
    bool remote_sends = *(const bool *)*state;
    struct vt_pair p;
    struct vt_eps e;
    vt_eps_open(&p, &e, remote_sends);
    struct rpmsg_device *rd = remote_sends ? p.h : p.r;
    const uint32_t num = p.host->vq[VQ_TX_HOST].num, n = 4 * num + 5;
    uint16_t *ids = calloc(n, sizeof(*ids));
    assert_non_null(ids);
    const struct rpmsg_virtio *sv = remote_sends ? p.remote : p.host;
    unsigned parked_runs = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (i == 2 * num + 3) {
            /* Taken and given back unsent: the next send takes it. */
            uint32_t cap = 0;
            void *b = rpmsg_get_tx_payload_buffer(&e.se, &cap, RPMSG_NOWAIT);
            assert_non_null(b);
            assert_int_equal(rpmsg_release_tx_buffer(&e.se, b), 0);
        }
        bool nocopy = (i / 7) % 2 == 0; /* runs of seven of each */
        if (nocopy)
            vt_send_nocopy(&e.se, i);
        else
            assert_int_equal(rpmsg_send(&e.se, &i, sizeof(i)), (int)sizeof(i));
        if (nocopy && i % 7 == 6 && sv->tx_parked)
            parked_runs++; /* a run of zero-copy sends ends with one parked */
        ids[i] = last_id(&p, remote_sends);
        if (i >= num)
            assert_int_equal(ids[i], ids[i - num]);
        /* The receiver takes it now; buffers go back in batches. */
        assert_true(rpmsg_poll(rd) > 0);
        rpmsg_poll(remote_sends ? p.r : p.h);
    }
    assert_true(parked_runs > 10); /* the copy runs did start with one parked */
    assert_int_equal(tu_rec_count(&e.rr), n);
    for (uint32_t i = 0; i < n && i < TU_REC_KEEP; i++) {
        uint32_t got;
        memcpy(&got, e.rr.msgs[i].data, sizeof(got));
        assert_int_equal(got, i);
    }
    free(ids);
    vt_eps_close(&p, &e);
}

static const bool by_host = false, by_remote = true;

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(goes_round, (void *)&by_host),
        cmocka_unit_test_prestate(goes_round, (void *)&by_remote),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
