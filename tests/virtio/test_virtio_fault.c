/*
 * A peer that writes garbage into the region: bad indices, descriptor ids,
 * addresses and lengths, a buffer handed out twice, a broken resource table,
 * junk NS messages, and random bytes all over the rings while traffic runs.
 * Each violation must fault the link (counter, poll() -EPROTO, link down,
 * device_destroyed) without touching memory outside the region, and the
 * deterministic ones must heal (the link comes back up by itself).
 */
#include <stdio.h>
#include <unistd.h>

#include "vt_plat.h"
#include "transport/virtio/virtio_internal.h"

struct ring {
    uint8_t *desc, *avail, *used;
    uint32_t num;
};

static struct ring ring_of(struct vt_pair *p, int i)
{
    struct ring r;
    r.num = p->layout.num[i];
    r.desc = p->shm + p->layout.vring_da[i];
    r.avail = r.desc + rpmsg_vring_avail_off(r.num);
    r.used = r.desc + rpmsg_vring_used_off(r.num, p->layout.align);
    return r;
}

static void put16(uint8_t *p, uint16_t v)
{
    __atomic_store_n(p, (uint8_t)v, __ATOMIC_RELAXED);
    __atomic_store_n(p + 1, (uint8_t)(v >> 8), __ATOMIC_RELAXED);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

/* What a rogue host does: makes descriptor id available on vring i. */
static void rogue_avail(struct ring *r, uint16_t id, uint64_t addr, uint32_t len)
{
    put64(r->desc + 16 * id, addr);
    put32(r->desc + 16 * id + 8, len);
    put16(r->desc + 16 * id + 12, 0);
    uint16_t idx = vt_le16(r->avail + 2);
    put16(r->avail + 4 + 2 * (idx & (r->num - 1)), id);
    put16(r->avail + 2, (uint16_t)(idx + 1));
}

/* What a rogue remote does: returns id on the used ring. */
static void rogue_used(struct ring *r, uint32_t id, uint32_t len)
{
    uint16_t idx = vt_le16(r->used + 2);
    put32(r->used + 4 + 8 * (idx & (r->num - 1)), id);
    put32(r->used + 8 + 8 * (idx & (r->num - 1)), len);
    put16(r->used + 2, (uint16_t)(idx + 1));
}

static struct tu_event destroyed_ev;

static void destroyed(struct rpmsg_device *rdev, void *priv)
{
    (void)rdev;
    (void)priv;
    tu_event_post(&destroyed_ev);
}

struct fx {
    struct vt_pair p;
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
};

static int setup_with(void **state, const struct vt_opts *o)
{
    struct fx *f = calloc(1, sizeof(*f));
    tu_event_init(&destroyed_ev);
    if (rpmsg_register_callback(f, NULL, destroyed, NULL, NULL))
        return -1;
    if (vt_pair_open(&f->p, o) || vt_wait_up(&f->p))
        return -1;
    tu_rec_init(&f->hr);
    tu_rec_init(&f->rr);
    if (tu_ept_create(&f->he, f->p.h, NULL, 0x800, 0x801, tu_rec_cb, NULL, &f->hr) ||
        tu_ept_create(&f->re, f->p.r, NULL, 0x801, 0x800, tu_rec_cb, NULL, &f->rr))
        return -1;
    *state = f;
    return 0;
}

static int setup(void **state)
{
    struct vt_opts o = { .no_rx_thread = true };
    return setup_with(state, &o);
}

/* What OpenAMP's Linux demos run: their layout, no gen/ack, NS only. */
static int setup_openamp(void **state)
{
    struct vt_opts o = {
        .no_rx_thread = true, .openamp = true, .legacy_host = true, .legacy_remote = true,
        .hfeat = RPMSG_F_NS, .rfeat = RPMSG_F_NS,
    };
    return setup_with(state, &o);
}

static int teardown(void **state)
{
    struct fx *f = *state;
    rpmsg_destroy_ept(&f->he);
    rpmsg_destroy_ept(&f->re);
    vt_pair_close(&f->p);
    rpmsg_unregister_callback(f, NULL, destroyed, NULL, NULL);
    tu_rec_deinit(&f->hr);
    tu_rec_deinit(&f->rr);
    tu_event_deinit(&destroyed_ev);
    free(f);
    return 0;
}

/* The side that polled found fault 'why'; then the link heals and carries data. */
static void expect_nth_fault_and_heal(struct fx *f, struct rpmsg_device *d,
                                      struct rpmsg_virtio *v, uint32_t why, unsigned nth)
{
    int r = 0;
    for (int i = 0; i < 4 && r != -EPROTO; i++)
        r = rpmsg_poll(d);
    assert_int_equal(r, -EPROTO);
    struct rpmsg_virtio_stats s = vt_stats(v);
    assert_int_equal(s.faults, nth);
    assert_int_equal(s.last_fault, why);
    assert_int_equal(s.link_downs, nth);
    assert_false(rpmsg_device_is_up(d));
    assert_true(tu_event_count(&destroyed_ev) >= 1);

    assert_int_equal(vt_wait_up(&f->p), 0);
    assert_int_equal(vt_stats(f->p.host).link_ups, nth + 1);
    assert_int_equal(vt_stats(f->p.remote).link_ups, nth + 1);
    unsigned hn = tu_rec_count(&f->hr), rn = tu_rec_count(&f->rr);
    assert_int_equal(rpmsg_send(&f->he, "h", 1), 1);
    assert_int_equal(rpmsg_send(&f->re, "r", 1), 1);
    assert_int_equal(tu_poll_idle(f->p.h, f->p.r) >= 2, 1);
    assert_int_equal(tu_rec_count(&f->hr), hn + 1);
    assert_int_equal(tu_rec_count(&f->rr), rn + 1);
}

static void expect_fault_and_heal(struct fx *f, struct rpmsg_device *d, struct rpmsg_virtio *v,
                                  uint32_t why)
{
    expect_nth_fault_and_heal(f, d, v, why, 1);
}

/* ---- A rogue remote, seen by the host ------------------------------------ */

static void test_used_idx_runs_ahead(void **state)
{
    struct fx *f = *state;
    struct ring r0 = ring_of(&f->p, 0);
    put16(r0.used + 2, (uint16_t)(vt_le16(r0.used + 2) + 257));
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_IDX);
}

static void test_used_id_out_of_range(void **state)
{
    struct fx *f = *state;
    struct ring r0 = ring_of(&f->p, 0);
    rogue_used(&r0, 999, 16);
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_ID);
}

static void test_used_len_too_big(void **state)
{
    struct fx *f = *state;
    struct ring r0 = ring_of(&f->p, 0);
    rogue_used(&r0, 0, 4096);
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_LEN);
}

static void test_used_returns_free_tx(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_used(&r1, 5, 0); /* TX buffer 5 was never sent */
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_ID);
}

/* ---- A rogue host, seen by the remote ------------------------------------ */

static void test_desc_addr_in_table(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_avail(&r1, 10, 0x10, 16);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

static void test_desc_addr_len_wraps(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_avail(&r1, 10, f->p.layout.buf_offset + f->p.layout.pool_size - 8, 0xFFFFFFF0u);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

static void test_desc_addr_beyond_4g(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_avail(&r1, 10, (1ull << 40) + f->p.layout.buf_offset, 16);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

static void test_desc_len_beyond_buffer(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_avail(&r1, 10, f->p.layout.buf_offset, 4096);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_LEN);
}

static void test_avail_idx_runs_ahead(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    put16(r1.avail + 2, (uint16_t)(vt_le16(r1.avail + 2) + 300));
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_IDX);
}

static void test_avail_id_out_of_range(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    uint16_t idx = vt_le16(r1.avail + 2);
    put16(r1.avail + 4 + 2 * (idx & 255), 300);
    put16(r1.avail + 2, (uint16_t)(idx + 1));
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ID);
}

/* The remote's TX path: the host's RX buffers (vring0 avail) are bad. */
static void test_tx_avail_bad(void **state)
{
    struct fx *f = *state;
    struct ring r0 = ring_of(&f->p, 0);
    put16(r0.avail + 2, (uint16_t)(vt_le16(r0.avail + 2) + 1000));
    assert_int_equal(rpmsg_trysend(&f->re, "x", 1), -EAGAIN);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_IDX);

    /* next RX buffer of the host pointing into the rings: the next one the
     * remote takes from the ring, which it does at this send, or right after
     * it if it holds one taken ahead (remote_pretake) */
    const struct rpmsg_virtio_vq *rvq = &f->p.remote->vq[VQ_RX_HOST];
    uint16_t last = rvq->last;
    uint16_t id = vt_le16(r0.avail + 4 + 2 * (last & 255));
    put64(r0.desc + 16 * id, f->p.layout.vring_da[1]);
    int want = rvq->nfree ? 1 : -EAGAIN;
    assert_int_equal(rpmsg_trysend(&f->re, "x", 1), want);
    expect_nth_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR, 2);
}

/* A buffer handed out again while the remote's application still holds it. */
static void *held;
static int hold_cb(struct rpmsg_endpoint *ept, void *data, size_t len, uint32_t src, void *priv)
{
    (void)len;
    (void)src;
    (void)priv;
    TU_CHECK(rpmsg_hold_rx_buffer(ept, data) == 0);
    held = data;
    return 0;
}

/* The host's next descriptor on vring1 names the buffer at addr again. */
static void split_again(struct fx *f, uint64_t addr)
{
    struct ring r1 = ring_of(&f->p, 1);
    rogue_avail(&r1, 77, addr, 32);
}

static void given_twice(struct fx *f, void (*again)(struct fx *f, uint64_t addr))
{
    f->re.cb = hold_cb;
    held = NULL;
    assert_int_equal(rpmsg_send(&f->he, "held", 4), 4);
    assert_true(rpmsg_poll(f->p.r) >= 1);
    assert_non_null(held);
    uint64_t addr = (uint64_t)((uint8_t *)held - RPMSG_HDR_SIZE - f->p.shm);
    again(f, addr);
    int r = rpmsg_poll(f->p.r);
    assert_int_equal(r, -EPROTO);
    assert_int_equal(vt_stats(f->p.remote).last_fault, RPMSG_VIRTIO_FAULT_DUP);
    /* the stale hold is released after the session ended: ignored */
    assert_int_equal(rpmsg_release_rx_buffer(&f->re, held), 0);
    f->re.cb = tu_rec_cb;
    TU_ASSERT_NO_THREAD_FAILURES();
    assert_int_equal(vt_wait_up(&f->p), 0);
    assert_int_equal(rpmsg_send(&f->he, "ok", 2), 2);
    assert_true(tu_poll_idle(f->p.h, f->p.r) >= 1);
    assert_int_equal(tu_rec_count(&f->rr), 1);
}

static void test_buffer_given_twice(void **state)
{
    given_twice(*state, split_again);
}

/* ---- Packed rings (RPMSG_VIRTIO_F_RING_PACKED) ------------------------------ */

static void expect_where(struct rpmsg_virtio *v, uint32_t vring, uint32_t entry, uint32_t value);

#define PK_AVAIL 0x0080u
#define PK_USED 0x8000u

static int setup_packed(void **state)
{
    uint32_t feat = RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED;
    struct vt_opts o = { .no_rx_thread = true, .hfeat = feat, .rfeat = feat };
    return setup_with(state, &o);
}

/* What a rogue peer writes over slot i of packed vring q: flags last. */
static void rogue_packed(struct vt_pair *p, int q, unsigned i, uint64_t addr, uint32_t len,
                         uint16_t id, uint16_t flags)
{
    uint8_t *d = p->shm + p->layout.vring_da[q] + 16u * i;
    put64(d, addr);
    put32(d + 8, len);
    put16(d + 12, id);
    put16(d + 14, flags);
}

/* A used descriptor for a TX buffer the host never sent: nothing is out. */
static void test_packed_used_nothing_out(void **state)
{
    struct fx *f = *state;
    assert_true(f->p.host->vq[1].packed);
    rogue_packed(&f->p, 1, 0, 0, 0, 0, PK_AVAIL | PK_USED);
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_WRAP);
}

/* AVAIL = the previous lap's, USED = this lap's: no device writes that. */
static void test_packed_used_flags_out_of_turn(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 0, 0, f->p.layout.buf_offset, 16, 0, PK_USED);
    int r = 0;
    for (int i = 0; i < 4 && r != -EPROTO; i++)
        r = rpmsg_poll(f->p.h);
    assert_int_equal(r, -EPROTO);
    /* where: the host's vring0 used entry 0, the flags it found */
    expect_where(f->p.host, 0, 0, PK_USED);
    assert_int_equal(vt_stats(f->p.host).last_fault, RPMSG_VIRTIO_FAULT_WRAP);
    assert_int_equal(vt_wait_up(&f->p), 0);
}

static void test_packed_used_id_out_of_range(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 0, 0, f->p.layout.buf_offset, 16, 300, PK_AVAIL | PK_USED);
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_ID);
}

static void test_packed_used_len_too_big(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 0, 0, f->p.layout.buf_offset, 4096, 0, PK_AVAIL | PK_USED);
    expect_fault_and_heal(f, f->p.h, f->p.host, RPMSG_VIRTIO_FAULT_LEN);
}

/* A host descriptor marked used this lap, where the remote reads next. */
static void test_packed_avail_flags_out_of_turn(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 1, 0, f->p.layout.buf_offset, 16, 3, PK_AVAIL | PK_USED);
    int r = 0;
    for (int i = 0; i < 4 && r != -EPROTO; i++)
        r = rpmsg_poll(f->p.r);
    assert_int_equal(r, -EPROTO);
    expect_where(f->p.remote, 1, 0, PK_AVAIL | PK_USED);
    assert_int_equal(vt_stats(f->p.remote).last_fault, RPMSG_VIRTIO_FAULT_WRAP);
    assert_int_equal(vt_wait_up(&f->p), 0);
}

static void test_packed_avail_id_out_of_range(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 1, 0, f->p.layout.buf_offset, 16, 300, PK_AVAIL);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ID);
}

static void test_packed_avail_addr_in_table(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 1, 0, 0x10, 16, 3, PK_AVAIL);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

static void test_packed_avail_addr_len_wraps(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 1, 0, f->p.layout.buf_offset + f->p.layout.pool_size - 8, 0xFFFFFFF0u, 3,
                 PK_AVAIL);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

/* Slot 1 of vring1 (slot 0 carried the held message) names it again. */
static void packed_again(struct fx *f, uint64_t addr)
{
    rogue_packed(&f->p, 1, 1, addr, 32, 77, PK_AVAIL);
}

static void test_packed_buffer_given_twice(void **state)
{
    given_twice(*state, packed_again);
}

/* The host's RX buffers (vring0) as the remote's TX path reads them. */
static void test_packed_tx_avail_bad(void **state)
{
    struct fx *f = *state;
    rogue_packed(&f->p, 0, 0, 0x10, 512, 0, PK_AVAIL | 0x2u);
    assert_int_equal(rpmsg_trysend(&f->re, "x", 1), -EAGAIN);
    expect_fault_and_heal(f, f->p.r, f->p.remote, RPMSG_VIRTIO_FAULT_ADDR);
}

/* ---- Where a fault was found ---------------------------------------------- */

static void expect_where(struct rpmsg_virtio *v, uint32_t vring, uint32_t entry, uint32_t value)
{
    struct rpmsg_virtio_stats s = vt_stats(v);
    assert_int_equal(s.last_fault_vring, vring);
    assert_int_equal(s.last_fault_entry, entry);
    assert_int_equal(s.last_fault_value, value);
    assert_int_equal(s.last_down, RPMSG_VIRTIO_DOWN_FAULT);
}

static void test_fault_where(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    uint16_t idx = vt_le16(r1.avail + 2);
    put16(r1.avail + 4 + 2 * (idx & 255), 300);
    put16(r1.avail + 2, (uint16_t)(idx + 1));
    assert_int_equal(rpmsg_poll(f->p.r), -EPROTO);
    expect_where(f->p.remote, 1, idx, 300);
    char text[160];
    struct rpmsg_virtio_stats s = vt_stats(f->p.remote);
    assert_true(rpmsg_virtio_fault_text(&s, false, text, sizeof(text)) > 0);
    char want[96];
    snprintf(want, sizeof(want), "(vring1 avail entry %u: id 300)", idx);
    assert_non_null(strstr(text, want));

    assert_int_equal(vt_wait_up(&f->p), 0);
    struct ring r0 = ring_of(&f->p, 0);
    uint16_t uidx = vt_le16(r0.used + 2);
    put16(r0.used + 2, (uint16_t)(uidx + 257));
    assert_int_equal(rpmsg_poll(f->p.h), -EPROTO);
    expect_where(f->p.host, 0, uidx, (uint16_t)(uidx + 257));
    s = vt_stats(f->p.host);
    assert_true(rpmsg_virtio_fault_text(&s, true, text, sizeof(text)) > 0);
    assert_non_null(strstr(text, "ring index ran ahead"));
    assert_non_null(strstr(text, "vring0 used entry"));
}

/* ---- OpenAMP layout, legacy peers: a faulted link comes back ---------------- */

/* A rogue host's bad avail id: the legacy remote asks for a reset (NEEDS_RESET). */
static void fault_legacy_remote(struct fx *f)
{
    struct ring r1 = ring_of(&f->p, 1);
    uint16_t idx = vt_le16(r1.avail + 2);
    put16(r1.avail + 4 + 2 * (idx & 255), 300);
    put16(r1.avail + 2, (uint16_t)(idx + 1));
    assert_int_equal(rpmsg_poll(f->p.r), -EPROTO);
    assert_false(rpmsg_device_is_up(f->p.r));
    assert_int_equal(vt_stats(f->p.remote).last_fault, RPMSG_VIRTIO_FAULT_ID);
    assert_true(f->p.shm[44] & RPMSG_VIRTIO_STATUS_NEEDS_RESET);
}

static void check_traffic(struct fx *f)
{
    unsigned hn = tu_rec_count(&f->hr), rn = tu_rec_count(&f->rr);
    assert_int_equal(rpmsg_send(&f->he, "h", 1), 1);
    assert_int_equal(rpmsg_send(&f->re, "r", 1), 1);
    assert_true(tu_poll_idle(f->p.h, f->p.r) >= 2);
    assert_int_equal(tu_rec_count(&f->hr), hn + 1);
    assert_int_equal(tu_rec_count(&f->rr), rn + 1);
}

/* Our legacy host resets the device when it sees NEEDS_RESET. */
static void test_openamp_remote_fault_heals(void **state)
{
    struct fx *f = *state;
    fault_legacy_remote(f);
    assert_int_equal(vt_wait_up(&f->p), 0);
    assert_int_equal(vt_stats(f->p.remote).link_ups, 2);
    assert_int_equal(vt_stats(f->p.host).link_ups, 2);
    check_traffic(f);
}

/* A host that does not look at NEEDS_RESET (OpenAMP's) restarts instead. */
static void test_openamp_remote_fault_host_restarts(void **state)
{
    struct fx *f = *state;
    fault_legacy_remote(f);
    rpmsg_destroy_ept(&f->he);
    vt_stop(&f->p, 0);
    assert_int_equal(vt_start(&f->p, 0), 0);
    assert_int_equal(tu_ept_create(&f->he, f->p.h, NULL, 0x800, 0x801, tu_rec_cb, NULL, &f->hr), 0);
    assert_int_equal(vt_wait_up(&f->p), 0);
    assert_int_equal(vt_stats(f->p.remote).link_ups, 2);
    check_traffic(f);
}

/* A rogue remote's bad used id: the legacy host resets the device and starts
 * again once the remote restarts (peer_alive() sees it go and come back). */
static void test_openamp_host_fault_remote_restarts(void **state)
{
    struct fx *f = *state;
    struct ring r1 = ring_of(&f->p, 1);
    rogue_used(&r1, 300, 0);
    assert_int_equal(rpmsg_poll(f->p.h), -EPROTO);
    assert_false(rpmsg_device_is_up(f->p.h));
    assert_int_equal(f->p.shm[44], 0);
    expect_where(f->p.host, 1, 0, 300);
    rpmsg_destroy_ept(&f->re);
    __atomic_store_n(&f->p.link.alive[1], 0, __ATOMIC_RELEASE);
    vt_stop(&f->p, 1);
    rpmsg_poll(f->p.h);
    __atomic_store_n(&f->p.link.alive[1], 1, __ATOMIC_RELEASE);
    assert_int_equal(vt_start(&f->p, 1), 0);
    assert_int_equal(tu_ept_create(&f->re, f->p.r, NULL, 0x801, 0x800, tu_rec_cb, NULL, &f->rr), 0);
    assert_int_equal(vt_wait_up(&f->p), 0);
    assert_int_equal(vt_stats(f->p.host).link_ups, 2);
    check_traffic(f);
}

/* ---- Junk NS messages: the core drops them, the transport is fine ---------- */

static void test_junk_ns(void **state)
{
    struct fx *f = *state;
    uint32_t s = 99;
    uint8_t junk[RPMSG_BUFFER_SIZE];
    for (unsigned i = 0; i < 200; i++) {
        for (size_t k = 0; k < sizeof(junk); k++) {
            s = s * 1103515245u + 12345u;
            junk[k] = (uint8_t)(s >> 16);
        }
        size_t len = i % 3 ? 40 : (s >> 8) % 200;
        assert_int_equal(rpmsg_send_offchannel(&f->he, 0x800, RPMSG_NS_ADDR, junk, len), (int)len);
        if (i % 50 == 49)
            tu_poll_idle(f->p.h, f->p.r);
    }
    tu_poll_idle(f->p.h, f->p.r);
    assert_int_equal(vt_stats(f->p.remote).faults, 0);
    assert_true(rpmsg_device_is_up(f->p.r));
    assert_int_equal(vt_stats(f->p.remote).rx_msgs, 200);
    assert_true(tu_stats(f->p.r).drop_bad_ns > 0);
}

/* ---- A broken table: the remote never joins, nothing crashes -------------- */

static void test_bad_table(void **state)
{
    (void)state;
    struct vt_pair p;
    struct vt_opts o = { .no_rx_thread = true, .no_start_remote = true };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    /* vring1's da (table offset 20 + 28 + 20) far outside the region */
    put32(p.shm + 68, 0xFFFFF000u);
    assert_int_equal(vt_start(&p, 1), 0);
    for (int i = 0; i < 50; i++) {
        rpmsg_poll(p.h);
        rpmsg_poll(p.r);
    }
    assert_false(rpmsg_device_is_up(p.r));
    assert_false(rpmsg_device_is_up(p.h));
    /* num not a power of two, vrings overlapping the pool */
    put32(p.shm + 68, p.layout.vring_da[1]);
    put32(p.shm + 56, 100);
    for (int i = 0; i < 50; i++)
        rpmsg_poll(p.r);
    assert_false(rpmsg_device_is_up(p.r));
    put32(p.shm + 56, 256);
    put32(p.shm + 68, p.layout.buf_offset);
    for (int i = 0; i < 50; i++)
        rpmsg_poll(p.r);
    assert_false(rpmsg_device_is_up(p.r));
    /* repaired: it joins */
    put32(p.shm + 68, p.layout.vring_da[1]);
    assert_int_equal(vt_wait_up(&p), 0);
    vt_pair_close(&p);
}

/* ---- Random garbage while traffic runs ---------------------------------- */

struct chaos {
    struct vt_pair *p;
    struct rpmsg_endpoint *ept;
    bool stop; /* atomic */
    bool packed; /* corrupter: the rings are packed */
    unsigned long ok;
};

/* Packed rings: ids, wrap flags (valid and invalid pairs) and event areas. */
static void chaos_packed(struct ring *q, unsigned what, uint32_t s)
{
    uint8_t *d = q->desc + 16 * ((s >> 4) % q->num);
    switch (what) {
    case 0: put16(d + 14, (uint16_t)((s >> 3) & 0x8082u)); break;
    case 1: put16(d + 12, (uint16_t)(s % 400)); break;
    case 4: put32(q->desc + 16 * q->num + 4 * ((s >> 3) & 1), s); break;
    default: put16(d + 14, (uint16_t)(s >> 7)); break;
    }
}

static void *chaos_traffic(void *arg)
{
    struct chaos *c = arg;
    uint8_t buf[256];
    memset(buf, 0x5A, sizeof(buf));
    unsigned i = 0;
    while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
        int r = rpmsg_trysend(c->ept, buf, 1 + i++ % sizeof(buf));
        if (r > 0)
            c->ok++;
        else
            usleep(100);
    }
    return NULL;
}

static void *chaos_corrupter(void *arg)
{
    struct chaos *c = arg;
    struct vt_pair *p = c->p;
    uint32_t s = 4242;
    struct ring r[2] = { ring_of(p, 0), ring_of(p, 1) };
    while (!__atomic_load_n(&c->stop, __ATOMIC_RELAXED)) {
        s = s * 1103515245u + 12345u;
        uint32_t x = s >> 8;
        struct ring *q = &r[x & 1];
        unsigned what = (x >> 1) % 8;
        if (c->packed && (what == 0 || what == 1 || what == 4 || what == 5)) {
            chaos_packed(q, what, s);
            usleep(50);
            continue;
        }
        switch (what) {
        case 0: put16(q->avail + 2, (uint16_t)(s >> 3)); break;
        case 1: put16(q->used + 2, (uint16_t)(s >> 5)); break;
        case 2: put64(q->desc + 16 * ((s >> 4) % q->num), (uint64_t)s << (x % 40)); break;
        case 3: put32(q->desc + 16 * ((s >> 4) % q->num) + 8, s * 7); break;
        case 4: put32(q->used + 4 + 8 * ((s >> 4) % q->num), s % 600); break;
        case 5: put16(q->avail + 4 + 2 * ((s >> 4) % q->num), (uint16_t)(s % 400)); break;
        case 6: /* junk into a buffer, where messages (NS ones too) live */
            put32(p->shm + p->layout.buf_offset + (s % (p->layout.pool_size - 4)), s);
            break;
        default: /* anywhere in the table, rings, or pool */
            p->shm[s % p->size] = (uint8_t)x;
            break;
        }
        usleep(50);
    }
    return NULL;
}

/* What the checks after a chaos run need to have happened. */
static bool chaos_seen(void *arg)
{
    struct vt_pair *p = arg;
    struct rpmsg_virtio_stats hs = vt_stats(p->host), rs = vt_stats(p->remote);
    return hs.faults + rs.faults > 0 && hs.link_downs + rs.link_downs > 0 &&
           tu_event_count(&destroyed_ev) >= 1;
}

static void chaos_run(bool packed)
{
    tu_event_init(&destroyed_ev);
    int me;
    assert_int_equal(rpmsg_register_callback(&me, NULL, destroyed, NULL, NULL), 0);
    struct vt_pair p;
    uint32_t feat = packed ? RPMSG_VIRTIO_F_DEFAULT | RPMSG_VIRTIO_F_RING_PACKED : 0;
    struct vt_opts o = { .hfeat = feat, .rfeat = feat };
    assert_int_equal(vt_pair_open(&p, &o), 0);
    assert_int_equal(vt_wait_up(&p), 0);
    struct rpmsg_endpoint he, re;
    struct tu_rec hr, rr;
    tu_rec_init(&hr);
    tu_rec_init(&rr);
    assert_int_equal(tu_ept_create(&he, p.h, NULL, 0x900, 0x901, tu_rec_cb, NULL, &hr), 0);
    assert_int_equal(tu_ept_create(&re, p.r, NULL, 0x901, 0x900, tu_rec_cb, NULL, &rr), 0);
    struct chaos ch = { .p = &p, .ept = &he }, cr = { .p = &p, .ept = &re },
                 cc = { .p = &p, .packed = packed };
    struct tu_thread t1, t2, t3;
    assert_int_equal(tu_thread_start(&t1, chaos_traffic, &ch), 0);
    assert_int_equal(tu_thread_start(&t2, chaos_traffic, &cr), 0);
    usleep(50000);
    assert_int_equal(tu_thread_start(&t3, chaos_corrupter, &cc), 0);
    usleep(1500000);
    /* At least that long, and until the damage showed (asserted below): a
     * loaded machine may run the corrupter and the RX threads little. */
    (void)tu_wait_until(chaos_seen, &p, 3 * TU_TIMEOUT_MS);
    __atomic_store_n(&cc.stop, true, __ATOMIC_RELAXED);
    assert_int_equal(tu_thread_join(&t3, 10000), 0);
    __atomic_store_n(&ch.stop, true, __ATOMIC_RELAXED);
    __atomic_store_n(&cr.stop, true, __ATOMIC_RELAXED);
    assert_int_equal(tu_thread_join(&t1, 10000), 0);
    assert_int_equal(tu_thread_join(&t2, 10000), 0);

    struct rpmsg_virtio_stats hs = vt_stats(p.host), rs = vt_stats(p.remote);
    print_message("  chaos: host faults %llu (last %u), remote faults %llu (last %u), "
                  "link ups %u/%u, sent %lu/%lu\n",
                  (unsigned long long)hs.faults, hs.last_fault, (unsigned long long)rs.faults,
                  rs.last_fault, hs.link_ups, rs.link_ups, ch.ok, cr.ok);
    assert_true(hs.faults + rs.faults > 0);
    assert_true(hs.link_downs + rs.link_downs > 0);
    assert_true(tu_event_count(&destroyed_ev) >= 1);
    rpmsg_destroy_ept(&he);
    rpmsg_destroy_ept(&re);
    vt_pair_close(&p);
    assert_int_equal(rpmsg_unregister_callback(&me, NULL, destroyed, NULL, NULL), 0);
    tu_rec_deinit(&hr);
    tu_rec_deinit(&rr);
    tu_event_deinit(&destroyed_ev);
}

static void test_chaos(void **state)
{
    (void)state;
    chaos_run(false);
}

static void test_chaos_packed(void **state)
{
    (void)state;
    chaos_run(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_used_idx_runs_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_id_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_len_too_big, setup, teardown),
        cmocka_unit_test_setup_teardown(test_used_returns_free_tx, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desc_addr_in_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desc_addr_len_wraps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desc_addr_beyond_4g, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desc_len_beyond_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_idx_runs_ahead, setup, teardown),
        cmocka_unit_test_setup_teardown(test_avail_id_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_avail_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffer_given_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_junk_ns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_where, setup, teardown),
        cmocka_unit_test_setup_teardown(test_openamp_remote_fault_heals, setup_openamp, teardown),
        cmocka_unit_test_setup_teardown(test_openamp_remote_fault_host_restarts, setup_openamp,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_openamp_host_fault_remote_restarts, setup_openamp,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_packed_used_nothing_out, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_used_flags_out_of_turn, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_used_id_out_of_range, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_used_len_too_big, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_avail_flags_out_of_turn, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_avail_id_out_of_range, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_avail_addr_in_table, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_avail_addr_len_wraps, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_buffer_given_twice, setup_packed, teardown),
        cmocka_unit_test_setup_teardown(test_packed_tx_avail_bad, setup_packed, teardown),
        cmocka_unit_test(test_bad_table),
        cmocka_unit_test(test_chaos),
        cmocka_unit_test(test_chaos_packed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
