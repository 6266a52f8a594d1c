/*
 * The packed virtqueue (RPMSG_VIRTIO_F_RING_PACKED): the bytes of both rings
 * after known sends (VirtIO 1.1 §2.7), negotiation with a peer that offers
 * it and with one that does not, 100,000 messages each way through rings
 * that wrap thousands of times, and a peer restart. Corrupted descriptors
 * are in test_virtio_fault.c; the rest of the VirtIO suite runs over packed
 * rings as the *_packed tests (tests/CMakeLists.txt).
 */
#include "vt_plat.h"

#define PACKED (RPMSG_VIRTIO_F_EVENT_IDX | RPMSG_VIRTIO_F_RING_PACKED)
#define F_WRITE 0x0002u
#define F_AVAIL 0x0080u
#define F_USED 0x8000u

/* Default layout: vring0 (remote→host) at 0x1000, vring1 at 0x4000, 256
 * entries each; RX buffers from 0x7000, TX buffers from 0x27000, 512 bytes. */
#define VR0 0x1000u
#define VR1 0x4000u
#define RXBUF 0x7000u
#define TXBUF 0x27000u

static const uint8_t *desc(const struct vt_pair *p, uint32_t vr, unsigned i)
{
    return p->shm + vr + 16u * i;
}

/* Driver event suppression area (the device's is 4 bytes further). */
static const uint8_t *drv_area(const struct vt_pair *p, uint32_t vr)
{
    return p->shm + vr + 16u * 256u;
}

static void expect_desc(const struct vt_pair *p, uint32_t vr, unsigned i, uint64_t addr,
                        uint32_t len, uint16_t id, uint16_t flags)
{
    const uint8_t *d = desc(p, vr, i);
    assert_int_equal(vt_le64(d), addr);
    assert_int_equal(vt_le32(d + 8), len);
    assert_int_equal(vt_le16(d + 12), id);
    assert_int_equal(vt_le16(d + 14), flags);
}

static void expect_event(const uint8_t *area, uint16_t off_wrap, uint16_t flags)
{
    assert_int_equal(vt_le16(area), off_wrap);
    assert_int_equal(vt_le16(area + 2), flags);
}

/* A recording endpoint each side: 0x400 on the host, 0x401 on the remote. */
struct eps {
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
};

static void eps_open(struct eps *e, struct vt_pair *p)
{
    memset(e, 0, sizeof(*e));
    tu_rec_init(&e->hr);
    tu_rec_init(&e->rr);
    assert_int_equal(tu_ept_create(&e->he, p->h, NULL, 0x400, 0x401, tu_rec_cb, NULL, &e->hr), 0);
    assert_int_equal(tu_ept_create(&e->re, p->r, NULL, 0x401, 0x400, tu_rec_cb, NULL, &e->rr), 0);
}

static void eps_close(struct eps *e)
{
    rpmsg_destroy_ept(&e->he);
    rpmsg_destroy_ept(&e->re);
    tu_rec_deinit(&e->hr);
    tu_rec_deinit(&e->rr);
}

static void test_golden_bytes(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = { .hfeat = PACKED, .rfeat = PACKED, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(tu_poll_idle(p.h, p.r), 0);
    assert_int_equal(rpmsg_get_features(p.h), PACKED);
    assert_int_equal(rpmsg_get_features(p.r), PACKED);

    /* vring0: the host's 256 RX buffers, writable, first lap (AVAIL=1, USED=0) */
    for (unsigned i = 0; i < 256; i++)
        expect_desc(&p, VR0, i, RXBUF + 512u * i, 512, (uint16_t)i, F_WRITE | F_AVAIL);
    /* The host wants a used notification at vring0's slot 0 of lap 1 (DESC);
     * the remote wants none for new RX buffers (DISABLE) but one for host
     * messages at vring1's slot 0; the host wants none for TX buffers back. */
    expect_event(drv_area(&p, VR0), 0x8000, 2);
    expect_event(drv_area(&p, VR0) + 4, 0, 1);
    expect_event(drv_area(&p, VR1), 0, 1);
    expect_event(drv_area(&p, VR1) + 4, 0x8000, 2);
    expect_desc(&p, VR1, 0, 0, 0, 0, 0); /* nothing sent yet */

    struct eps e;
    eps_open(&e, &p);
    struct rpmsg_virtio_stats before = vt_stats(p.host);
    assert_int_equal(rpmsg_send(&e.he, "hello", 5), 5);
    assert_int_equal(rpmsg_send(&e.he, "world!", 6), 6);

    /* Two host messages: TX buffers 0 and 1, descriptors 0 and 1 of vring1. */
    expect_desc(&p, VR1, 0, TXBUF, 16 + 5, 0, F_AVAIL);
    expect_desc(&p, VR1, 1, TXBUF + 512, 16 + 6, 1, F_AVAIL);
    expect_desc(&p, VR1, 2, 0, 0, 0, 0);
    static const uint8_t hello[21] = {
        0x00, 0x04, 0, 0, 0x01, 0x04, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o',
    };
    assert_memory_equal(p.shm + TXBUF, hello, sizeof(hello));
    /* The first one crossed the remote's event (slot 0): one kick, not two. */
    struct rpmsg_virtio_stats after = vt_stats(p.host);
    assert_int_equal(after.notify_sent - before.notify_sent, 1);
    assert_int_equal(after.notify_suppressed - before.notify_suppressed, 1);

    /* The remote consumes both; they wait in its backlog of eight (the
     * host does not wait for TX buffers: its event area says DISABLE). */
    assert_int_equal(rpmsg_poll(p.r), 2);
    assert_int_equal(tu_rec_count(&e.rr), 2);
    expect_desc(&p, VR1, 0, TXBUF, 16 + 5, 0, F_AVAIL);
    expect_desc(&p, VR1, 1, TXBUF + 512, 16 + 6, 1, F_AVAIL);
    /* Six more, and the eight go back together over the same slots, used
     * length = the descriptor's, AVAIL = USED = 1. */
    for (int i = 0; i < 6; i++)
        assert_int_equal(rpmsg_send(&e.he, "x", 1), 1);
    assert_int_equal(rpmsg_poll(p.r), 6);
    assert_int_equal(tu_rec_count(&e.rr), 8);
    expect_desc(&p, VR1, 0, TXBUF, 16 + 5, 0, F_AVAIL | F_USED);
    expect_desc(&p, VR1, 1, TXBUF + 512, 16 + 6, 1, F_AVAIL | F_USED);
    for (unsigned i = 2; i < 8; i++)
        expect_desc(&p, VR1, i, TXBUF + 512u * i, 16 + 1, (uint16_t)i, F_AVAIL | F_USED);

    /* A reply fills the first RX buffer: used over vring0's slot 0. */
    assert_int_equal(rpmsg_send(&e.re, "hi", 2), 2);
    expect_desc(&p, VR0, 0, RXBUF, 16 + 2, 0, F_AVAIL | F_USED);
    static const uint8_t hi[18] = {
        0x01, 0x04, 0, 0, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 'i',
    };
    assert_memory_equal(p.shm + RXBUF, hi, sizeof(hi));

    /* The host takes it; the buffer waits in its backlog. It wants the
     * next used descriptor at slot 1 of lap 1. */
    assert_int_equal(rpmsg_poll(p.h), 1);
    assert_int_equal(tu_rec_count(&e.hr), 1);
    expect_desc(&p, VR0, 0, RXBUF, 16 + 2, 0, F_AVAIL | F_USED);
    expect_event(drv_area(&p, VR0), 0x8001, 2);
    /* Seven more replies: the eight buffers are posted again together at
     * slots 0-7 of lap 2, where the host's wrap counter is 0: AVAIL=0, USED=1. */
    for (int i = 0; i < 7; i++)
        assert_int_equal(rpmsg_send(&e.re, "y", 1), 1);
    assert_int_equal(rpmsg_poll(p.h), 7);
    assert_int_equal(tu_rec_count(&e.hr), 8);
    for (unsigned i = 0; i < 8; i++)
        expect_desc(&p, VR0, i, RXBUF + 512u * i, 512, (uint16_t)i, F_WRITE | F_USED);
    expect_desc(&p, VR0, 8, RXBUF + 512u * 8, 512, 8, F_WRITE | F_AVAIL);

    eps_close(&e);
    vt_pair_close(&p);
}

/* One message each way over a pair with these offers; the layout it used. */
static bool echo_over(uint32_t hfeat, uint32_t rfeat)
{
    struct vt_pair p;
    struct vt_opts o = { .hfeat = hfeat, .rfeat = rfeat, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    bool packed = (rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_RING_PACKED) != 0;
    assert_int_equal(packed, (rpmsg_get_features(p.r) & RPMSG_VIRTIO_F_RING_PACKED) != 0);
    assert_int_equal(packed, p.host->vq[0].packed);
    assert_int_equal(packed, p.remote->vq[1].packed);
    /* The region says the same: a split vring0 has its avail idx at 256
     * (where a packed one has its driver event area), a packed one its
     * first descriptor's AVAIL bit. */
    if (!packed)
        assert_int_equal(vt_le16(p.shm + VR0 + 16u * 256u + 2), 256);
    if (packed)
        assert_int_equal(vt_le16(desc(&p, VR0, 0) + 14), F_WRITE | F_AVAIL);
    else /* flags before next */
        assert_int_equal(vt_le16(desc(&p, VR0, 0) + 12), F_WRITE);

    struct eps e;
    eps_open(&e, &p);
    assert_int_equal(rpmsg_send(&e.he, "ping", 4), 4);
    assert_int_equal(rpmsg_send(&e.re, "pong", 4), 4);
    assert_true(tu_poll_idle(p.h, p.r) >= 2);
    assert_int_equal(tu_rec_count(&e.hr), 1);
    assert_int_equal(tu_rec_count(&e.rr), 1);
    eps_close(&e);
    vt_pair_close(&p);
    return packed;
}

static void test_negotiation(void **state)
{
    (void)state;
    uint32_t both = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED;
    assert_true(echo_over(both, both));
    /* A peer that does not know the bit gets split rings, either role. */
    assert_false(echo_over(both, RPMSG_VIRTIO_F_DEFAULT));
    assert_false(echo_over(RPMSG_VIRTIO_F_DEFAULT, both));
    assert_false(echo_over(0, 0)); /* not in the default offer */
    /* Without EVENT_IDX the packed rings use ENABLE/DISABLE only. */
    assert_true(echo_over(RPMSG_VIRTIO_F_RING_PACKED, RPMSG_VIRTIO_F_RING_PACKED));
}

/* Bit 4 is NuttX's BUFADDR (builds before this one had RING_PACKED there):
 * asked for by both sides, as NuttX's 0x1F feature word would, it is still
 * neither offered nor negotiated, and packed rings are bit 23's alone. */
static void test_nuttx_bufaddr_bit_is_not_ours(void **state)
{
    (void)state;
    assert_int_equal(RPMSG_VIRTIO_F_NUTTX_BUFADDR, 1u << 4);
    assert_int_equal(RPMSG_VIRTIO_F_RING_PACKED & RPMSG_VIRTIO_F_FOREIGN, 0);
    uint32_t nx = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_NUTTX_BUFADDR;
    assert_false(echo_over(nx, nx));
    assert_true(echo_over(nx | RPMSG_VIRTIO_F_RING_PACKED, nx | RPMSG_VIRTIO_F_RING_PACKED));
    struct vt_pair p;
    struct vt_opts o = { .hfeat = nx, .rfeat = nx, .no_rx_thread = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_NUTTX_BUFADDR, 0);
    assert_int_equal(rpmsg_get_features(p.r) & RPMSG_VIRTIO_F_NUTTX_BUFADDR, 0);
    assert_int_equal(rpmsg_get_features(p.h) & RPMSG_VIRTIO_F_CPUNAME, RPMSG_VIRTIO_F_CPUNAME);
    vt_pair_close(&p);
}

/* ---- Many messages through small rings ------------------------------------ */

struct seq_rx {
    uint32_t next, errors;
};

static void fill(uint8_t *b, uint32_t seq, uint32_t len)
{
    memcpy(b, &seq, 4);
    for (uint32_t i = 4; i < len; i++)
        b[i] = (uint8_t)(seq * 7u + i);
}

static int seq_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)ept;
    (void)src;
    struct seq_rx *s = priv;
    uint8_t want[64];
    uint32_t seq;
    if (len < 4 || len > sizeof(want)) {
        s->errors++;
        return 0;
    }
    memcpy(&seq, data, 4);
    fill(want, seq, (uint32_t)len);
    if (seq != s->next || len != 4 + seq % 60 || memcmp(want, data, len))
        s->errors++;
    s->next = seq + 1;
    return 0;
}

/* Sends from a until it runs out of buffers or reaches n. */
static void send_some(struct rpmsg_endpoint *e, uint32_t *sent, uint32_t n)
{
    uint8_t b[64];
    while (*sent < n) {
        uint32_t len = 4 + *sent % 60;
        fill(b, *sent, len);
        int r = rpmsg_trysend(e, b, len);
        if (r == -EAGAIN)
            return;
        assert_int_equal(r, (int)len);
        ++*sent;
    }
}

/* n messages each way between two fresh endpoints, every one checked, polled here. */
static void exchange(struct vt_pair *p, uint32_t n)
{
    struct rpmsg_endpoint he = { 0 }, re = { 0 };
    struct seq_rx hs = { 0 }, rs = { 0 };
    assert_int_equal(tu_ept_create(&he, p->h, NULL, 0x400, 0x401, seq_cb, NULL, &hs), 0);
    assert_int_equal(tu_ept_create(&re, p->r, NULL, 0x401, 0x400, seq_cb, NULL, &rs), 0);
    uint32_t hsent = 0, rsent = 0;
    for (unsigned round = 0; (hs.next < n || rs.next < n) && round < 10 * n; round++) {
        send_some(&he, &hsent, n);
        send_some(&re, &rsent, n);
        assert_true(rpmsg_poll(p->r) >= 0);
        assert_true(rpmsg_poll(p->h) >= 0);
    }
    assert_int_equal(hs.next, n);
    assert_int_equal(rs.next, n);
    assert_int_equal(hs.errors, 0);
    assert_int_equal(rs.errors, 0);
    rpmsg_destroy_ept(&re);
    rpmsg_destroy_ept(&he);
}

static void test_100k_both_ways_wrapping(void **state)
{
    (void)state;
    const uint32_t n = 100000;
    struct vt_pair p;
    /* 8 entries a ring: 12,500 laps each way, and the u16 counters wrap. */
    struct vt_opts o = { .hfeat = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED,
                         .rfeat = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED,
                         .no_rx_thread = true,
                         .params = { .num = { 8, 8 } } };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    assert_true(p.host->vq[0].packed);
    exchange(&p, n);
    struct rpmsg_virtio_stats h = vt_stats(p.host), r = vt_stats(p.remote);
    assert_int_equal(h.faults + r.faults, 0);
    assert_int_equal(h.tx_msgs, n);
    assert_int_equal(h.rx_msgs, n);
    assert_int_equal(r.tx_msgs, n);
    assert_int_equal(r.rx_msgs, n);
    vt_pair_close(&p);
}

/* The remote goes and a new one comes: packed again, from a fresh ring. */
static void test_peer_restart(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = { .hfeat = PACKED, .rfeat = PACKED, .no_rx_thread = true,
                         .params = { .num = { 8, 8 } } };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    for (unsigned life = 0; life < 3; life++) {
        assert_int_equal(vt_wait_up(&p), 0);
        assert_true(p.remote->vq[0].packed);
        /* 13 each way: the rings stop mid-lap, the next session starts at 0. */
        exchange(&p, 13);
        vt_stop(&p, 1);
        assert_int_equal(vt_start(&p, 1), 0);
    }
    assert_int_equal(vt_wait_up(&p), 0);
    assert_int_equal(vt_stats(p.host).faults + vt_stats(p.remote).faults, 0);
    assert_int_equal(vt_stats(p.host).link_ups, 4);
    vt_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden_bytes),
        cmocka_unit_test(test_negotiation),
        cmocka_unit_test(test_nuttx_bufaddr_bit_is_not_ours),
        cmocka_unit_test(test_100k_both_ways_wrapping),
        cmocka_unit_test(test_peer_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
