/*
 * The data path: buffers on and off the rings, for both roles.
 *
 * Local bookkeeping (struct rpmsg_virtio_slot, one per descriptor id) says
 * who holds each buffer; the region only ever tells us ids, indices,
 * addresses and lengths, and each of those is checked against the
 * bookkeeping and the buffer pool before it is used. A violation is a
 * fault: recorded here, acted on by poll() (link down, -EPROTO).
 *
 * The host lays its buffers out itself (descriptor i of a vring always
 * points at buffer i of that direction), so a buffer pointer maps back to
 * its id by arithmetic. The remote only learns buffer addresses from the
 * host's descriptors and maps them back through a small hash table.
 */
#include "virtio_internal.h"
#include "virtio_wire.h"

#define HASH_SIZE (2u * RPMSG_VIRTIO_NUM_MAX)
_Static_assert((RPMSG_VIRTIO_NUM_MAX & (RPMSG_VIRTIO_NUM_MAX - 1)) == 0 &&
                   RPMSG_VIRTIO_NUM_MAX <= 32768,
               "RPMSG_VIRTIO_NUM_MAX must be a power of two <= 32768");

static bool live(const struct rpmsg_virtio *vd)
{
    return vd->up && !vd->fault_pending;
}

void rpmsg_virtio_fault(struct rpmsg_virtio *vd, uint32_t reason, int vring, uint32_t value)
{
    vd->stats.faults++;
    vd->stats.last_fault = reason;
    vd->stats.last_fault_vring = vring < 0 ? RPMSG_VIRTIO_NO_VRING : (uint32_t)vring;
    vd->stats.last_fault_value = value;
    /* An index fault is found at the entry about to be read; the others
     * in the entry just read. */
    uint16_t last = vring < 0 ? 0 : vd->vq[vring].last;
    vd->stats.last_fault_entry = vring < 0 ? 0
                                 : reason == RPMSG_VIRTIO_FAULT_IDX || reason == RPMSG_VIRTIO_FAULT_WRAP
                                     ? last
                                     : (uint16_t)(last - 1);
    /* Atomic: poll() looks at it without the lock (rpmsg_virtio_op_poll). */
    if (!vd->fault_pending)
        __atomic_store_n(&vd->fault_pending, reason, __ATOMIC_RELAXED);
}

void rpmsg_virtio_kick(struct rpmsg_virtio *vd, int i)
{
    rpmsg_lock_acquire(&vd->lock);
    vd->stats.notify_sent++;
    uint32_t id = vd->vq[i].notifyid;
    rpmsg_lock_release(&vd->lock);
    vd->ops->notify(vd->plat, id);
}

/* Counts a kick decision; the caller kicks after unlocking if it returns true. */
static bool decide(struct rpmsg_virtio *vd, bool need)
{
    if (need)
        vd->stats.notify_sent++;
    else
        vd->stats.notify_suppressed++;
    return need;
}

/* What a ring that returned -EPROTO found: an index ran ahead (split), or
 * a descriptor's wrap bits were out of turn (packed). */
static uint32_t ring_fault(const struct rpmsg_virtio_vq *vq)
{
    return vq->packed ? RPMSG_VIRTIO_FAULT_WRAP : RPMSG_VIRTIO_FAULT_IDX;
}

/* The kick itself goes after the unlock, with the id read under the lock:
 * a host republishing its table for a new peer rewrites the vring. */
static void notify(struct rpmsg_virtio *vd, uint32_t notifyid)
{
    vd->ops->notify(vd->plat, notifyid);
}

/* ---- Remote: buffer offset -> descriptor id -------------------------------- */

static uint32_t hhome(uint32_t off)
{
    return (uint32_t)(off * 2654435761u) >> (32 - __builtin_ctz(HASH_SIZE));
}

static int hash_pos(const struct rpmsg_virtio_vq *vq, uint32_t off)
{
    for (uint32_t i = hhome(off), n = 0; n < HASH_SIZE; i = (i + 1) & (HASH_SIZE - 1), n++) {
        uint16_t e = vq->hash[i];
        if (!e)
            return -1;
        if (vq->slot[e - 1].off == off)
            return (int)i;
    }
    return -1;
}

/* slot[id].off must be set. -EEXIST if another outstanding buffer has that offset. */
static int hash_add(struct rpmsg_virtio_vq *vq, uint16_t id)
{
    uint32_t off = vq->slot[id].off;
    if (hash_pos(vq, off) >= 0)
        return -EEXIST;
    uint32_t i = hhome(off);
    while (vq->hash[i])
        i = (i + 1) & (HASH_SIZE - 1); /* never full: at most num <= HASH_SIZE/2 entries */
    vq->hash[i] = (uint16_t)(id + 1);
    return 0;
}

/* Linear probing deletion without tombstones: pull later entries back. */
static void hash_del(struct rpmsg_virtio_vq *vq, uint32_t i)
{
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & (HASH_SIZE - 1);
        uint16_t e = vq->hash[j];
        if (!e)
            break;
        uint32_t k = hhome(vq->slot[e - 1].off);
        bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
        if (stays)
            continue;
        vq->hash[i] = e;
        i = j;
    }
    vq->hash[i] = 0;
}

/* Id of an outstanding remote buffer, or -1. */
static int remote_id(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq, const void *buf,
                     int *pos)
{
    uintptr_t p = (uintptr_t)buf, base = (uintptr_t)vd->shm;
    if (p < base || p - base >= vd->shm_size)
        return -1;
    *pos = hash_pos(vq, (uint32_t)(p - base));
    return *pos < 0 ? -1 : vq->hash[*pos] - 1;
}

/* ---- Host: buffer pointer -> id ---------------------------------------- */

static int host_id(const struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq, const void *buf)
{
    uintptr_t p = (uintptr_t)buf, base = (uintptr_t)vd->shm + vq->buf_base;
    if (!vq->stride || p < base)
        return -1;
    uintptr_t off = p - base;
    /* A shift where the stride allows (rpmsg's usual 512): a division costs
     * a message tens of cycles here, twice (its send and its buffer's
     * return). */
    uintptr_t id = vq->stride_log2 ? off >> vq->stride_log2 : off / vq->stride;
    if (id >= vq->num || id * vq->stride != off)
        return -1;
    return (int)id;
}

static void rx_notify(struct rpmsg_virtio *vd, bool on);

/* On top of the free list: a buffer back unsent is the next one in order. */
static void host_free_tx(struct rpmsg_virtio_vq *vq, int id)
{
    vq->slot[id].state = SLOT_IDLE;
    vq->slot[id].next = vq->free_head;
    if (!vq->nfree)
        vq->free_tail = (uint16_t)id;
    vq->free_head = (uint16_t)id;
    vq->nfree++;
}

/* At the back of the free list: a buffer back from the remote. */
static void host_queue_tx(struct rpmsg_virtio_vq *vq, int id)
{
    vq->slot[id].state = SLOT_IDLE;
    vq->slot[id].next = SLOT_NIL;
    if (vq->nfree)
        vq->slot[vq->free_tail].next = (uint16_t)id;
    else
        vq->free_head = (uint16_t)id;
    vq->free_tail = (uint16_t)id;
    vq->nfree++;
}

/*
 * A zero-copy send takes two steps of the transport, get_tx_buffer and
 * send, and each took a round of the lock: a zero-copy stream paid two per
 * message where a copy stream (send_copy) pays one. Now a zero-copy send,
 * in its round, takes the buffer the next get_tx_buffer will return and
 * parks it in vd->tx_parked; that get_tx_buffer claims it with one atomic
 * exchange and no lock. Any thread may claim it, and every taker of a TX
 * buffer under the lock claims it before any other (host_pop_tx,
 * remote_pop_tx), so a parked buffer never strands a sender; a session's
 * end takes it back. (Taken only when no other was left, a buffer parked
 * before a run of copy sends stayed out of circulation for the session,
 * and every position of a split ring then got another buffer at each lap,
 * so none of its entries could stay unchanged: vw_set16, a round trip
 * 30-50% slower.) Only from the second two-step send in a row on: the
 * core's own one-off sends (an NS announcement) leave the buffers' order
 * on the wire alone. Without threads the lock costs nothing: none of this.
 */
#if !RPMSG_NO_SYS
static void park_tx(struct rpmsg_virtio *vd, int id)
{
    __atomic_store_n(&vd->tx_parked, (uint32_t)id + 1u, __ATOMIC_RELEASE);
}

/* The parked buffer's id, now the caller's, or -1. */
static int claim_parked(struct rpmsg_virtio *vd)
{
    if (!__atomic_load_n(&vd->tx_parked, __ATOMIC_RELAXED))
        return -1;
    return (int)__atomic_exchange_n(&vd->tx_parked, 0, __ATOMIC_ACQUIRE) - 1;
}

/* Lock held, after a two-step send: park one? */
static bool park_due(struct rpmsg_virtio *vd)
{
    bool streak = vd->tx_two_step;
    vd->tx_two_step = true;
    return streak && live(vd) && !__atomic_load_n(&vd->tx_parked, __ATOMIC_RELAXED);
}

/* A copy send, or a session's end, breaks a run of two-step sends. */
static void two_step_ends(struct rpmsg_virtio *vd)
{
    vd->tx_two_step = false;
}
#else
static void park_tx(struct rpmsg_virtio *vd, int id)
{
    (void)vd, (void)id;
}

static int claim_parked(struct rpmsg_virtio *vd)
{
    (void)vd;
    return -1;
}

static bool park_due(struct rpmsg_virtio *vd)
{
    (void)vd;
    return false;
}

static void two_step_ends(struct rpmsg_virtio *vd)
{
    (void)vd;
}
#endif

/* ---- Session start and end --------------------------------------------- */

void rpmsg_virtio_bufs_down(struct rpmsg_virtio *vd)
{
    int p = claim_parked(vd);
    if (p >= 0 && vd_host(vd))
        host_free_tx(&vd->vq[VQ_TX_HOST], p); /* free again when the next session starts */
    two_step_ends(vd);
    for (int i = 0; i < 2; i++) {
        struct rpmsg_virtio_vq *vq = &vd->vq[i];
        if (!vd_host(vd)) {
            /* The host owns these buffers; whatever the core still has is
             * forgotten here and ignored when it comes back. */
            memset(vq->slot, 0, sizeof(vq->slot));
            memset(vq->hash, 0, sizeof(vq->hash));
            vq->free_head = SLOT_NIL;
            vq->nfree = 0;
            continue;
        }
        for (uint32_t id = 0; id < vq->num; id++)
            if (vq->slot[id].state == SLOT_PEER)
                vq->slot[id].state = SLOT_IDLE; /* the remote will not return it */
    }
    vd->tx_starved = false;
}

int rpmsg_virtio_host_bufs_up(struct rpmsg_virtio *vd, uint32_t s0, uint32_t s1)
{
    uint32_t size[2] = { s0, s1 };
    uint64_t at = vd->pool_start;
    for (int i = 0; i < 2; i++) {
        struct rpmsg_virtio_vq *vq = &vd->vq[i];
        uint32_t stride = rpmsg_virtio_stride(size[i]);
        bool same = vq->buf_size == size[i] && vq->stride == stride && vq->buf_base == at;
        vq->buf_size = size[i];
        vq->stride = stride;
        vq->stride_log2 = 0;
        if (stride > 1 && !(stride & (stride - 1)))
            vq->stride_log2 = (uint8_t)__builtin_ctz(stride);
        vq->buf_base = (uint32_t)at;
        at += (uint64_t)vq->num * stride;
        if (at > vd->pool_end)
            return -EINVAL;
        vq->free_head = SLOT_NIL;
        vq->nfree = 0;
        for (uint32_t id = 0; id < vq->num; id++) {
            struct rpmsg_virtio_slot *s = &vq->slot[id];
            /* Buffers the core still has from the last session stay with
             * it unless the layout moved under them. */
            if (!same || s->state == SLOT_PEER)
                s->state = SLOT_IDLE;
            s->off = vq->buf_base + id * stride;
            s->len = size[i];
        }
    }
    struct rpmsg_virtio_vq *rx = &vd->vq[VQ_RX_HOST], *tx = &vd->vq[VQ_TX_HOST];
    for (uint32_t id = 0; id < rx->num; id++)
        if (rx->slot[id].state == SLOT_IDLE) {
            rpmsg_vring_drv_add(rx, (uint16_t)id, rx->slot[id].off, rx->buf_size, VRING_DESC_F_WRITE);
            rx->slot[id].state = SLOT_PEER;
        }
    rpmsg_vring_drv_publish(rx);
    rx->kicked = rx->shadow; /* DRIVER_OK is the notification for these */
    for (uint32_t id = tx->num; id-- > 0;)
        if (tx->slot[id].state == SLOT_IDLE)
            host_free_tx(tx, (int)id);
    rx_notify(vd, true);
    rpmsg_vring_drv_intr(tx, vd->event_idx, false);
    vd->tx_starved = false;
    return 0;
}

void rpmsg_virtio_remote_bufs_up(struct rpmsg_virtio *vd, uint32_t s0, uint32_t s1)
{
    uint32_t size[2] = { s0, s1 };
    for (int i = 0; i < 2; i++) {
        struct rpmsg_virtio_vq *vq = &vd->vq[i];
        memset(vq->slot, 0, sizeof(vq->slot));
        memset(vq->hash, 0, sizeof(vq->hash));
        vq->free_head = SLOT_NIL;
        vq->nfree = 0;
        vq->buf_size = size[i];
        vq->last = vq->shadow = vq->kicked = vq->seen = 0;
        vq->quiet = false;
    }
    /* TX buffers the host returns: only interesting while starved. */
    rpmsg_vring_dev_notify(&vd->vq[VQ_RX_HOST], vd->event_idx, false);
    rx_notify(vd, true);
    vd->tx_starved = false;
}

/* ---- Host data path ------------------------------------------------------ */

/* Takes back TX buffers the remote consumed. Lock held. Returns how many. */
static int host_reclaim(struct rpmsg_virtio *vd)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    int n = 0;
    while (live(vd)) {
        uint32_t id, len;
        int r = rpmsg_vring_drv_get_used(vq, &id, &len);
        if (r == 0)
            break;
        if (r < 0) {
            rpmsg_virtio_fault(vd, ring_fault(vq), VQ_TX_HOST, id);
            break;
        }
        if (id >= vq->num || vq->slot[id].state != SLOT_PEER) {
            rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_ID, VQ_TX_HOST, id);
            break;
        }
        /* Behind the free ones, so buffers go round in ring order and a
         * position gets, lap after lap, the buffer it had: on a split ring
         * its avail entry, its used element and the buffer's descriptor
         * then need no store (vw_set16), and the remote's guess of its
         * next buffer is right (rx_foresee). Stop 21 tried this order
         * without the stores left out and lost 15-30% on streams of large
         * messages; with them, host-to-remote streams ran about twice as
         * fast and round trips 8-31% shorter, but the socket's stream lost
         * 14% in one set of runs (docs/benchmarks.md, stop 23). A packed
         * ring's host-to-remote stream ran twice as fast in this order too
         * (stop 24), its round trip within 1-2%. */
        host_queue_tx(vq, (int)id);
        n++;
    }
    if (n && vd->tx_starved) {
        vd->tx_starved = false;
        rpmsg_vring_drv_intr(vq, vd->event_idx, false);
    }
    return n;
}

/* ---- Waking a sender starved of TX buffers ------------------------------ */

/*
 * How many TX buffers must be back before a starved sender is woken (the
 * remote's TX buffers are the host's RX buffers, posted back to it). One
 * at a time, a sender that outruns its peer paid a wake-up (and the peer
 * an interrupt) per buffer: it sent one message and starved again (a
 * router's pump relaying to a slower link did exactly that). A quarter of
 * the ring, but only when the peer keeps enough of it in circulation: a
 * peer of ours holds at most RPMSG_HOLD_MAX receive buffers for its
 * applications, so at least num - RPMSG_HOLD_MAX come back by themselves.
 * Smaller rings, or no event index, wake at the first buffer as before.
 * A packed ring asks the same through its descriptor event (an offset and
 * wrap n positions on) instead of the split ring's event index.
 */
static uint16_t tx_wake_batch(const struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq)
{
    if (!RPMSG_VIRTIO_TX_BATCH || !vd->event_idx || vq->num < 2u * RPMSG_HOLD_MAX)
        return 1;
    return (uint16_t)(vq->num / 4);
}

/* Lock held: asks the peer for a kick once a batch of TX buffers is back
 * (the host: used entries of its TX ring; the remote: avail entries of the
 * host's RX ring). */
static void tx_arm(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq)
{
    uint16_t n = tx_wake_batch(vd, vq);
    if (vd_host(vd) && n > 1)
        rpmsg_vring_drv_intr_after(vq, n);
    else if (vd_host(vd))
        rpmsg_vring_drv_intr(vq, vd->event_idx, true);
    else if (n > 1)
        rpmsg_vring_dev_notify_after(vq, n);
    else
        rpmsg_vring_dev_notify(vq, vd->event_idx, true);
}

/* What a TX step owes once the lock is dropped. */
struct tx_after {
    bool wake; /* a fault is pending: the RX context acts on it */
    bool done; /* buffers came back: other senders may wait for them */
    bool kick;
    uint32_t nid;
};

/* Drops the lock and does what the step owes; returns r. */
static int tx_unlock(struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq,
                     struct tx_after *a, int r)
{
    a->wake = vd->fault_pending != 0;
    a->nid = vq->notifyid;
    rpmsg_lock_release(&vd->lock);
    if (a->wake && vd->ops->wakeup)
        vd->ops->wakeup(vd->plat);
    if (a->done)
        rpmsg_device_tx_done(&vd->rdev);
    if (a->kick)
        notify(vd, a->nid);
    return r;
}

/*
 * Asks for ownership of the first lines of the TX buffer the next send will
 * take. The peer read that buffer last (it is a message it consumed), so
 * every line of it is shared; written with no warning, the lines are owned
 * only when the next lock or fence drains the stores, and the sender waits
 * there for a round trip to the peer's CPU on every message. As many lines
 * as the last message filled (a stream's messages are alike), at most 512
 * bytes (rpmsg's usual buffer): a hint per line costs instructions and
 * traffic, which short messages in large buffers would not win back.
 */
static void warm_tx(const struct rpmsg_virtio *vd, const uint8_t *b, uint64_t room)
{
    uint32_t n = vd->tx_warm < 512 ? vd->tx_warm : 512;
    if (n > room)
        n = (uint32_t)room;
    for (uint32_t o = 0; o < n; o += 64)
        vd_prefetch_w(b + o);
}

static void host_warm_next(struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq)
{
    if (RPMSG_VIRTIO_PREFETCH && vq->free_head != SLOT_NIL)
        warm_tx(vd, vd->shm + vq->slot[vq->free_head].off, vq->buf_size);
}

/* A free TX buffer's id, or -1 (a sender is then told when some come back).
 * Lock held; *done: buffers were reclaimed; warm: host_warm_next(). */
static int host_pop_tx(struct rpmsg_virtio *vd, bool *done, bool warm)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    int p = claim_parked(vd); /* first: it is the next in order (park_tx) */
    if (p >= 0) {
        *done = false;
        return p;
    }
    int reclaimed = 0;
    if (live(vd) && !vq->nfree) {
        reclaimed = host_reclaim(vd);
        if (!vq->nfree && live(vd)) {
            /* Ask for an interrupt when buffers come back, then look again:
             * they may have come back before the request was visible. */
            vd->tx_starved = true;
            tx_arm(vd, vq);
            reclaimed += host_reclaim(vd);
        }
    }
    *done = reclaimed > 0;
    if (!live(vd) || !vq->nfree)
        return -1;
    uint16_t id = vq->free_head;
    vq->free_head = vq->slot[id].next;
    vq->nfree--;
    vq->slot[id].state = SLOT_TAKEN;
    if (warm)
        host_warm_next(vd, vq);
    return id;
}

/* After a zero-copy send, lock held: parks the next free buffer. */
static void host_park_next(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq)
{
    bool done;
    int id = park_due(vd) && vq->nfree ? host_pop_tx(vd, &done, true) : -1;
    if (id >= 0)
        park_tx(vd, id);
}

/* Hands TX buffer id (len bytes) to the remote. Lock held; true: kick it. */
static bool host_push_tx(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq, int id, uint32_t len)
{
    rpmsg_vring_drv_add(vq, (uint16_t)id, vq->slot[id].off, len, 0);
    rpmsg_vring_drv_publish(vq);
    vq->slot[id].state = SLOT_PEER;
    vd->stats.tx_msgs++;
    vd->tx_warm = len;
    return decide(vd, rpmsg_vring_drv_need_kick(vq, vd->event_idx));
}

static void *host_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    int id = claim_parked(vd);
    if (id < 0) {
        struct tx_after a = { 0 };
        rpmsg_lock_acquire(&vd->lock);
        id = host_pop_tx(vd, &a.done, true);
        tx_unlock(vd, vq, &a, 0);
    }
    if (id < 0)
        return NULL;
    *size = vq->buf_size;
    return vd->shm + vq->slot[id].off;
}

/* Without threads the lock is no cost: send_copy would only add flash. */
#if !RPMSG_NO_SYS
/* Writes a message into a TX buffer; its length. */
static uint32_t put_msg(uint8_t *buf, const struct rpmsg_hdr *hdr, const void *payload,
                        uint32_t len)
{
    memcpy(buf, hdr, RPMSG_HDR_SIZE);
    memcpy(buf + RPMSG_HDR_SIZE, payload, len);
    return RPMSG_HDR_SIZE + len;
}

/* The copy send in one round of the lock (ops.send_copy). */
static int host_send_copy(struct rpmsg_device *rdev, const struct rpmsg_hdr *hdr,
                          const void *payload, uint32_t len)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    struct tx_after a = { 0 };
    int r = -ENOBUFS;
    rpmsg_lock_acquire(&vd->lock);
    /* The next buffer warmed (host_warm_next), but not on a packed ring:
     * there a copy stream ran at 0.5x with the hint on the machine that
     * measured it (docs/benchmarks.md, "Cache hints"). With ring order
     * (stop 24) it ran as fast or up to 1.5x as fast in three sets of
     * runs, in one placement of the vCPUs only: left off. */
    int id = host_pop_tx(vd, &a.done, !vq->packed);
    if (id >= 0 && RPMSG_HDR_SIZE + len > vq->buf_size) {
        host_free_tx(vq, id);
        r = -EMSGSIZE;
    } else if (id >= 0) {
        rpmsg_device_count_tx(rdev, len); /* before the peer can see it */
        a.kick = host_push_tx(vd, vq, id, put_msg(vd->shm + vq->slot[id].off, hdr, payload, len));
        two_step_ends(vd);
        r = 0;
    }
    return tx_unlock(vd, vq, &a, r);
}
#endif

/* Counts a message of len bytes, header included, as the core would. */
static void count_msg(struct rpmsg_device *rdev, uint32_t len)
{
    rpmsg_device_count_tx(rdev, len > RPMSG_HDR_SIZE ? len - RPMSG_HDR_SIZE : 0);
}

/* ops.send, and ops.send_counted with count: the zero-copy send in one
 * round of the lock, counted there. */
static int host_send_one(struct rpmsg_device *rdev, void *buf, uint32_t len, bool count)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    struct tx_after a = { 0 };
    int r = 0;
    rpmsg_lock_acquire(&vd->lock);
    int id = host_id(vd, vq, buf);
    if (id < 0 || vq->slot[id].state != SLOT_TAKEN) {
        r = -EINVAL;
    } else if (!live(vd) || len > vq->buf_size) {
        r = live(vd) ? -EMSGSIZE : -ENOTCONN;
        host_free_tx(vq, id);
    } else {
        if (count)
            count_msg(rdev, len); /* before the peer can see it */
        a.kick = host_push_tx(vd, vq, id, len);
        host_park_next(vd, vq);
    }
    return tx_unlock(vd, vq, &a, r);
}

static int host_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    return host_send_one(rdev, buf, len, false);
}

static int host_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    int r = 0;
    rpmsg_lock_acquire(&vd->lock);
    int id = host_id(vd, vq, buf);
    if (id < 0 || vq->slot[id].state != SLOT_TAKEN)
        r = -EINVAL;
    else
        host_free_tx(vq, id);
    rpmsg_lock_release(&vd->lock);
    return r;
}

/* Posts a received buffer back to the remote. Lock held; true: kick it. */
static bool host_give_rx(struct rpmsg_virtio *vd, void *buf)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    int id = host_id(vd, vq, buf);
    if (id < 0 || vq->slot[id].state != SLOT_HELD)
        return false;
    if (!live(vd)) {
        vq->slot[id].state = SLOT_IDLE; /* posted when the link comes up */
        return false;
    }
    rpmsg_vring_drv_add(vq, (uint16_t)id, vq->slot[id].off, vq->buf_size, VRING_DESC_F_WRITE);
    rpmsg_vring_drv_publish(vq);
    vq->slot[id].state = SLOT_PEER;
    return decide(vd, rpmsg_vring_drv_need_kick(vq, vd->event_idx));
}

/* One received buffer off vring0, or NULL. Lock held. */
static void *host_take_rx(struct rpmsg_virtio *vd, uint32_t *len)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    uint32_t id, ulen;
    int r = rpmsg_vring_drv_get_used(vq, &id, &ulen);
    if (r <= 0) {
        if (r < 0)
            rpmsg_virtio_fault(vd, ring_fault(vq), VQ_RX_HOST, id);
        return NULL;
    }
    if (id >= vq->num || vq->slot[id].state != SLOT_PEER) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_ID, VQ_RX_HOST, id);
        return NULL;
    }
    if (ulen > vq->slot[id].len) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_LEN, VQ_RX_HOST, id);
        return NULL;
    }
    vq->slot[id].state = SLOT_HELD;
    uint32_t next;
    if (RPMSG_VIRTIO_PREFETCH && rpmsg_vring_behind(vq) && rpmsg_vring_drv_peek(vq, &next) &&
        next < vq->num)
        vd_prefetch(vd->shm + vq->slot[next].off);
    /* Remotes differ in what they put in used.len (the message, the whole
     * buffer); the buffer is ours and whole, and the core bounds the
     * message by the header's len. */
    *len = vq->slot[id].len;
    return vd->shm + vq->slot[id].off;
}

/* ---- Remote data path ---------------------------------------------------- */

/* The buffer of the next entry the host made available on vq, if the
 * remote runs behind (rpmsg_vring_behind) and the address lies in the
 * pool; NULL otherwise. Only for cache hints: the entry is not taken. */
static const uint8_t *remote_next(const struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq)
{
    uint64_t next;
    if (!RPMSG_VIRTIO_PREFETCH || !rpmsg_vring_behind(vq) || !rpmsg_vring_dev_peek(vq, &next) ||
        next < vd->pool_start || next >= vd->pool_end)
        return NULL;
    return vd->shm + next;
}

/*
 * Takes the next descriptor the host made available on vq and checks it:
 * id in range and not already ours, buffer inside the pool, at least a
 * header long and at most max_len. Lock held. NULL if none or on a fault;
 * *idp (if not NULL) the descriptor's id.
 */
static void *remote_take(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq, uint32_t max_len,
                         bool clamp, uint32_t *len, uint8_t state, uint16_t *idp)
{
    uint16_t id = 0;
    int qi = vq == &vd->vq[0] ? 0 : 1;
    int r = rpmsg_vring_dev_get_avail(vq, &id);
    if (r <= 0) {
        if (r < 0)
            rpmsg_virtio_fault(vd, ring_fault(vq), qi, id);
        return NULL;
    }
    if (id >= vq->num || vq->slot[id].state != SLOT_IDLE) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_ID, qi, id);
        return NULL;
    }
    uint64_t addr;
    uint32_t dlen;
    uint16_t flags;
    /* rpmsg uses one descriptor per buffer: NEXT/WRITE are not needed and a
     * chain is not followed, so the flags cannot lead us anywhere. */
    rpmsg_vring_dev_read_desc(vq, id, &addr, &dlen, &flags);
    (void)flags;
    if (addr < vd->pool_start || addr > vd->pool_end || dlen > vd->pool_end - addr) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_ADDR, qi, id);
        return NULL;
    }
    if (clamp) {
        if (dlen < RPMSG_HDR_SIZE) {
            rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_LEN, qi, id);
            return NULL;
        }
        if (dlen > max_len)
            dlen = max_len;
    } else if (dlen > max_len) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_LEN, qi, id);
        return NULL;
    }
    vq->slot[id].off = (uint32_t)addr;
    vq->slot[id].len = dlen;
    if (hash_add(vq, id)) {
        rpmsg_virtio_fault(vd, RPMSG_VIRTIO_FAULT_DUP, qi, id);
        return NULL;
    }
    vq->slot[id].state = state;
    *len = dlen;
    if (idp)
        *idp = id;
    if (state == SLOT_HELD) {
        const uint8_t *next = remote_next(vd, vq);
        if (next)
            vd_prefetch(next);
    }
    return vd->shm + addr;
}

/*
 * The remote's host_warm_next(): its next TX buffer is the next one the host
 * posted, known only from the ring (remote_next: only with a backlog, so
 * entries near the host's own writes are left alone).
 */
static void remote_warm_next(struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq)
{
    const uint8_t *next = remote_next(vd, vq);
    if (next)
        warm_tx(vd, next, vd->pool_end - (uint64_t)(next - vd->shm));
}

/* TX buffer id of vq (taken): its address, *size its length. */
static void *remote_buf(struct rpmsg_virtio *vd, const struct rpmsg_virtio_vq *vq, int id,
                        uint32_t *size)
{
    *size = vq->slot[id].len;
    return vd->shm + vq->slot[id].off;
}

/* A spare TX buffer, else the next one the host posted, or NULL; *size its
 * length, *idp its id. Lock held. */
static void *remote_pop_free(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq, uint32_t *size,
                             uint16_t *idp)
{
    if (!live(vd))
        return NULL;
    if (vq->nfree) {
        uint16_t id = vq->free_head;
        vq->free_head = vq->slot[id].next;
        vq->nfree--;
        vq->slot[id].state = SLOT_TAKEN;
        *idp = id;
        return remote_buf(vd, vq, id, size);
    }
    void *buf = remote_take(vd, vq, vq->buf_size, true, size, SLOT_TAKEN, idp);
    if (buf)
        remote_warm_next(vd, vq);
    return buf;
}

/* A TX buffer (the host's RX buffer) or NULL; *size its length. Lock held;
 * *done: a starved sender must be told (see below). */
static void *remote_pop_tx(struct rpmsg_virtio *vd, uint32_t *size, bool *done)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    int p = claim_parked(vd); /* first: it is the next in order (park_tx) */
    if (p >= 0)
        return remote_buf(vd, vq, p, size);
    bool spare = vq->nfree > 0;
    uint16_t id;
    void *buf = remote_pop_free(vd, vq, size, &id);
    if (!buf && live(vd)) {
        /* Ask the host to kick us when it returns buffers, then look again. */
        vd->tx_starved = true;
        tx_arm(vd, vq);
        buf = remote_pop_free(vd, vq, size, &id);
    }
    if (buf && !spare && vd->tx_starved) {
        /* Another sender may be the one that starved and now waits for the
         * kick this switches off: it is told here instead. */
        vd->tx_starved = false;
        rpmsg_vring_dev_notify(vq, vd->event_idx, false);
        *done = true;
    }
    return buf;
}

static void *remote_get_tx(struct rpmsg_device *rdev, uint32_t *size)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct tx_after a = { 0 };
    int p = claim_parked(vd);
    if (p >= 0)
        return remote_buf(vd, &vd->vq[VQ_RX_HOST], p, size);
    rpmsg_lock_acquire(&vd->lock);
    void *buf = remote_pop_tx(vd, size, &a.done);
    tx_unlock(vd, &vd->vq[VQ_RX_HOST], &a, 0);
    return buf;
}

/* Returns buffer id of vq to the host on the used ring. Lock held. */
static bool remote_give(struct rpmsg_virtio *vd, int qi, int id, int pos, uint32_t len)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[qi];
    hash_del(vq, (uint32_t)pos);
    vq->slot[id].state = SLOT_IDLE;
    if (qi == VQ_RX_HOST)
        vd->tx_warm = len; /* a message we sent: remote_warm_next() */
    rpmsg_vring_dev_put_used(vq, (uint16_t)id, len);
    rpmsg_vring_dev_publish(vq);
    return decide(vd, rpmsg_vring_dev_need_kick(vq, vd->event_idx));
}

/* A TX buffer taken but not sent: it cannot go back on the avail ring (only
 * the host writes that), and returned used with length 0 it would be read
 * as a message by some hosts: kept for our next send. */
static void remote_spare(struct rpmsg_virtio_vq *vq, int id)
{
    vq->slot[id].state = SLOT_SPARE;
    vq->slot[id].next = vq->free_head;
    vq->free_head = (uint16_t)id;
    vq->nfree++;
}

/*
 * After a send, lock held: takes the host's next RX buffer now, while the
 * line its descriptor sits in is still in our cache (our used descriptor
 * just went into it, mid-line three times in four), and keeps it as a spare
 * for the next send. Taken at that send instead, the read missed on the
 * reply's path: the host, spinning on that slot for our reply, had taken
 * the line by then (a packed ring's round trip paid it as about 360 cycles
 * of its 2,500; docs/benchmarks.md, "The remote's next TX buffer, taken
 * ahead").
 * A buffer taken early costs the host nothing: it waits with us as it
 * would on the ring. Packed rings only: on a split ring the descriptor is
 * not in the line we write (used entries have their own ring), the round
 * trip gained 3%, and the remote-to-host zero-copy stream lost 10%.
 */
static void remote_pretake(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq)
{
    uint32_t len = 0;
    uint16_t id;
    if (RPMSG_VIRTIO_PREFETCH && vq->packed && !vq->nfree && live(vd) &&
        remote_take(vd, vq, vq->buf_size, true, &len, SLOT_TAKEN, &id))
        remote_spare(vq, id);
}

/* After a zero-copy send, lock held: parks the next TX buffer (a spare,
 * else the next one on the ring, as remote_pop_tx takes them); true if it
 * did. A buffer parked is also the one remote_pretake() would take. */
static bool remote_park_next(struct rpmsg_virtio *vd, struct rpmsg_virtio_vq *vq)
{
    /* Not from the ring while a sender starves: the buffers the host
     * returns are that sender's (remote_pop_tx tells it). */
    if (!park_due(vd) || (!vq->nfree && vd->tx_starved))
        return false;
    uint32_t size;
    uint16_t id;
    if (!remote_pop_free(vd, vq, &size, &id))
        return false;
    park_tx(vd, id);
    return true;
}

#if !RPMSG_NO_SYS
/* The copy send in one round of the lock (ops.send_copy). */
static int remote_send_copy(struct rpmsg_device *rdev, const struct rpmsg_hdr *hdr,
                            const void *payload, uint32_t len)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    struct tx_after a = { 0 };
    uint32_t size = 0;
    int r = -ENOBUFS, pos = -1;
    rpmsg_lock_acquire(&vd->lock);
    uint8_t *buf = remote_pop_tx(vd, &size, &a.done);
    int id = buf ? remote_id(vd, vq, buf, &pos) : -1;
    if (id >= 0 && RPMSG_HDR_SIZE + len > size) {
        remote_spare(vq, id);
        r = -EMSGSIZE;
    } else if (id >= 0) {
        vd->stats.tx_msgs++;
        rpmsg_device_count_tx(rdev, len); /* before the peer can see it */
        a.kick = remote_give(vd, VQ_RX_HOST, id, pos, put_msg(buf, hdr, payload, len));
        two_step_ends(vd);
        remote_pretake(vd, vq);
        r = 0;
    }
    return tx_unlock(vd, vq, &a, r);
}
#endif

/* ops.send, and ops.send_counted with count (host_send_one). */
static int remote_send_one(struct rpmsg_device *rdev, void *buf, uint32_t len, bool count)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    struct tx_after a = { 0 };
    int r = 0, pos = -1;
    rpmsg_lock_acquire(&vd->lock);
    int id = remote_id(vd, vq, buf, &pos);
    if (id < 0 || vq->slot[id].state != SLOT_TAKEN) {
        r = live(vd) ? -EINVAL : -ENOTCONN; /* a session's bookkeeping ends with it */
    } else if (!live(vd)) {
        r = -ENOTCONN;
    } else if (len > vq->slot[id].len) {
        r = -EMSGSIZE;
        remote_spare(vq, id);
    } else {
        vd->stats.tx_msgs++;
        if (count)
            count_msg(rdev, len); /* before the peer can see it */
        a.kick = remote_give(vd, VQ_RX_HOST, id, pos, len);
        if (!remote_park_next(vd, vq))
            remote_pretake(vd, vq);
    }
    return tx_unlock(vd, vq, &a, r);
}

static int remote_send(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    return remote_send_one(rdev, buf, len, false);
}

#if !RPMSG_NO_SYS
/* ops.send_counted, both sides. */
static int send_counted(struct rpmsg_device *rdev, void *buf, uint32_t len)
{
    return vd_host(vd_of(rdev)) ? host_send_one(rdev, buf, len, true)
                                : remote_send_one(rdev, buf, len, true);
}
#endif

static int remote_release_tx(struct rpmsg_device *rdev, void *buf)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_RX_HOST];
    int r = 0, pos = -1;
    rpmsg_lock_acquire(&vd->lock);
    int id = remote_id(vd, vq, buf, &pos);
    if (id < 0 || vq->slot[id].state != SLOT_TAKEN)
        r = live(vd) ? -EINVAL : 0;
    else
        remote_spare(vq, id);
    rpmsg_lock_release(&vd->lock);
    return r;
}

/* Returns a received buffer to the host. Lock held; true: kick it. */
static bool remote_give_rx(struct rpmsg_virtio *vd, void *buf)
{
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    int pos = -1;
    int id = remote_id(vd, vq, buf, &pos);
    /* used.len = the buffer's length (its descriptor's), as Linux's and
     * OpenAMP's remotes write it: an OpenAMP host takes it as the size of
     * the buffer it gets back for sending (docs/virtio.md). */
    if (id >= 0 && vq->slot[id].state == SLOT_HELD && live(vd))
        return remote_give(vd, VQ_TX_HOST, id, pos, vq->slot[id].len);
    return false;
}

/* ---- Giving received buffers back ---------------------------------------- */

/*
 * The device whose poll this thread is running, if any. A buffer given back
 * by that poll's own dispatch (the common case: the callback did not hold
 * it) waits in vd->rx_back for the poll's next round of the lock, which it
 * needs anyway to look at the ring again: one round per message instead of
 * two, and one kick for the batch. Only the RX context touches rx_back.
 * Buffers released from other threads (held ones) take the lock at once.
 * Without threads (RPMSG_NO_SYS) the lock costs nothing: none of this.
 */
#if RPMSG_NO_SYS
static struct rpmsg_virtio *polling;
#else
static _Thread_local struct rpmsg_virtio *polling;
#endif

/* The vring this side receives on, whose buffers it gives back. */
static int my_rx_vq(const struct rpmsg_virtio *vd)
{
    return vd_host(vd) ? VQ_RX_HOST : VQ_TX_HOST;
}

static bool give_rx(struct rpmsg_virtio *vd, void *buf)
{
    return vd_host(vd) ? host_give_rx(vd, buf) : remote_give_rx(vd, buf);
}

/*
 * Lock held: is what waits in rx_back due now? Given back one at a time,
 * every message writes the ring lines the peer reads next (a descriptor;
 * or an entry and the index), each a line moved between the CPUs. So the
 * buffers wait until rx_back is full and go back together, unless the peer
 * is waiting for them: it asked to be told of our next entries, as a side
 * starved of TX buffers does (ours, Linux's). A peer that waits without
 * asking (polling for buffers) is never stuck: when it has none, rx_back
 * holds at most 7 of them (applications at most RPMSG_HOLD_MAX), so the
 * rest are messages waiting for us, and receiving them fills rx_back.
 * Packed rings too, now that the check reads their descriptor event and a
 * receiver asks for kicks only before it sleeps (rpmsg_virtio_rx_arm): a
 * receiver made faster by the batches caught up with its sender and, asking
 * at every empty look, drew a kick per few messages, and both packed
 * streams had lost 15-20% (docs/benchmarks.md, "Batched give-back";
 * "Packed give-back and late requests").
 */
static bool back_due(const struct rpmsg_virtio *vd)
{
    const uint16_t cap = sizeof(vd->rx_back) / sizeof(vd->rx_back[0]);
    if (!vd->nrx_back)
        return false;
    const struct rpmsg_virtio_vq *vq = &vd->vq[my_rx_vq(vd)];
    /* Rings too small for the argument above give back at once. */
    return !RPMSG_VIRTIO_BACK_BATCH || vd->nrx_back >= cap ||
           vq->num < RPMSG_HOLD_MAX + 2u * cap ||
           rpmsg_vring_peer_waits(vq, vd_host(vd), vd->event_idx, cap);
}

/* Gives back what waits in rx_back. Lock held; true: kick the peer. */
static bool rx_back_flush(struct rpmsg_virtio *vd)
{
    bool kick = false;
    for (unsigned i = 0; i < vd->nrx_back; i++)
        kick |= give_rx(vd, vd->rx_back[i]);
    vd->nrx_back = 0;
    return kick;
}

void rpmsg_virtio_rx_back_now(struct rpmsg_virtio *vd)
{
    if (RPMSG_NO_SYS || polling != vd || !vd->nrx_back)
        return;
    rpmsg_lock_acquire(&vd->lock);
    bool kick = rx_back_flush(vd);
    uint32_t nid = vd->vq[my_rx_vq(vd)].notifyid;
    rpmsg_lock_release(&vd->lock);
    if (kick)
        notify(vd, nid);
}

static void release_rx(struct rpmsg_device *rdev, void *buf)
{
    struct rpmsg_virtio *vd = vd_of(rdev);
    if (!RPMSG_NO_SYS && polling == vd &&
        vd->nrx_back < sizeof(vd->rx_back) / sizeof(vd->rx_back[0])) {
        vd->rx_back[vd->nrx_back++] = buf;
        return;
    }
    rpmsg_lock_acquire(&vd->lock);
    bool kick = give_rx(vd, buf);
    uint32_t nid = vd->vq[my_rx_vq(vd)].notifyid;
    rpmsg_lock_release(&vd->lock);
    if (kick)
        notify(vd, nid);
}

/* ---- poll(): receive, reclaim ------------------------------------------- */

/* Next received message or NULL; lock held. */
static void *take_rx(struct rpmsg_virtio *vd, uint32_t *len)
{
    if (!live(vd))
        return NULL;
    if (vd_host(vd))
        return host_take_rx(vd, len);
    struct rpmsg_virtio_vq *vq = &vd->vq[VQ_TX_HOST];
    return remote_take(vd, vq, vq->buf_size, false, len, SLOT_HELD, NULL);
}

/* Asks for (or against) notifications of new RX messages; lock held. A
 * side that spins on the ring asks for none. */
static void rx_notify(struct rpmsg_virtio *vd, bool on)
{
    on = on && !vd->rx_spins;
    vd->rx_armed = on;
    if (vd_host(vd))
        rpmsg_vring_drv_intr(&vd->vq[VQ_RX_HOST], vd->event_idx, on);
    else
        rpmsg_vring_dev_notify(&vd->vq[VQ_TX_HOST], vd->event_idx, on);
}

static bool rx_pending(struct rpmsg_virtio *vd)
{
    if (vd_host(vd))
        return rpmsg_vring_drv_pending(&vd->vq[VQ_RX_HOST]);
    return rpmsg_vring_dev_pending(&vd->vq[VQ_TX_HOST]);
}

/*
 * A receiver spinning for its next message fetches, alongside the index or
 * descriptor it polls, the ring entry and the buffer that message will most
 * likely be in, so that the message's cross-CPU misses overlap instead of
 * following each other (a split ring's remote has four in a row: avail
 * index, avail entry, descriptor, buffer). The host knows the buffer: the
 * one it made available at that position, which the remote uses in order.
 * The remote guesses the one the host put there a lap ago, which buffers
 * going round in ring order make right (host_reclaim); a wrong guess costs
 * a fetch. Each look of the spin asks again: a line still ours costs a hit.
 */
static void rx_foresee(const struct rpmsg_virtio *vd)
{
    bool host = vd_host(vd);
    const struct rpmsg_virtio_vq *vq = &vd->vq[host ? VQ_RX_HOST : VQ_TX_HOST];
    struct rpmsg_vring_guess g;
    if (!RPMSG_VIRTIO_PREFETCH)
        return;
    rpmsg_vring_guess_next(vq, host, &g);
    vd_prefetch(g.entry);
    if (host) {
        if (g.id < vq->num)
            vd_prefetch(vd->shm + vq->slot[g.id].off);
    } else if (g.addr >= vd->pool_start && g.addr < vd->pool_end) {
        vd_prefetch(vd->shm + g.addr);
    }
}

bool rpmsg_virtio_rx_ready(void *arg)
{
    struct rpmsg_virtio *vd = arg;
    if (!vd->up)
        return false;
    if (rx_pending(vd))
        return true;
    rx_foresee(vd);
    return false;
}

/*
 * Does this side ask for RX kicks only right before its RX context sleeps?
 * Yes when the platform's wait_ready calls rpmsg_virtio_rx_arm there (its
 * contract). Asked at every empty look instead, a receiver that spins and
 * keeps up with its sender rewrote the line the sender reads at every
 * send, and drew a kick for messages its spin saw anyway: a packed ring's
 * remote-to-host stream lost 10-30% that way once the host kept up.
 */
static bool arms_late(const struct rpmsg_virtio *vd)
{
    return vd->ops->wait_ready != NULL;
}

bool rpmsg_virtio_rx_arm(void *arg)
{
    struct rpmsg_virtio *vd = arg;
    bool ready = false;
    rpmsg_lock_acquire(&vd->lock);
    if (live(vd)) {
        rx_notify(vd, true);
        ready = rx_pending(vd);
    }
    rpmsg_lock_release(&vd->lock);
    return ready;
}

int rpmsg_virtio_data_poll(struct rpmsg_virtio *vd, int budget, bool drain)
{
    int n = 0;
    bool quiet = false; /* notifications switched off while we drain */
    bool kick = false;  /* the peer is owed a kick for buffers given back */
    bool late = arms_late(vd);
    struct rpmsg_virtio *outer = polling; /* a poll nested in a callback of another device's */
    /* One lock round per message, and the look that finds the ring empty
     * shares its round with the TX side's and with giving back the last
     * buffers: a poll on the hot path costs one round more than the
     * messages it delivers. */
    rpmsg_lock_acquire(&vd->lock);
    for (;;) {
        uint32_t len = 0;
        if (!RPMSG_NO_SYS && back_due(vd))
            kick |= rx_back_flush(vd);
        if (!live(vd))
            break;
        if (!quiet && (late ? vd->rx_armed : !vd->event_idx)) {
            /* Without event indices, the peer kicks for every message while
             * notifications are on; they are useless while we are draining.
             * A side that asks late takes its request back once awake, with
             * event indices too: a request left standing while it receives
             * for more than a ring would read as a new one to the peer
             * (a packed ring's event names a position modulo two laps). */
            rx_notify(vd, false);
            quiet = true;
        }
        void *buf = n < budget ? take_rx(vd, &len) : NULL;
        if (!buf && n < budget && live(vd) && !late) {
            /* Empty: ask for a kick for the next one, then make sure none
             * slipped in before the request was visible. */
            rx_notify(vd, true);
            quiet = false;
            if (rx_pending(vd))
                buf = take_rx(vd, &len);
        }
        if (!buf)
            break;
        vd->stats.rx_msgs++;
        uint32_t nid = vd->vq[my_rx_vq(vd)].notifyid;
        rpmsg_lock_release(&vd->lock);
        if (kick)
            notify(vd, nid); /* before the callback, which may wait on the peer */
        kick = false;
        n++;
        if (!RPMSG_NO_SYS)
            polling = vd;
        rpmsg_device_rx(&vd->rdev, buf, len);
        if (!RPMSG_NO_SYS)
            polling = outer;
        rpmsg_lock_acquire(&vd->lock);
        if (!drain && rpmsg_device_rx_yielding(&vd->rdev))
            break; /* the rest waits for the next round (its taker's) */
    }
    if (quiet && live(vd) && !late)
        rx_notify(vd, true);

    /* TX side: buffers coming back. */
    bool tx_done = rpmsg_virtio_tx_back(vd);
    uint32_t nid = vd->vq[my_rx_vq(vd)].notifyid;
    rpmsg_lock_release(&vd->lock);
    if (kick)
        notify(vd, nid);
    if (tx_done)
        rpmsg_device_tx_done(&vd->rdev);
    return n;
}

bool rpmsg_virtio_tx_back(struct rpmsg_virtio *vd)
{
    if (!live(vd))
        return false;
    if (vd_host(vd))
        return host_reclaim(vd) > 0;
    if (!vd->tx_starved || !rpmsg_vring_dev_pending(&vd->vq[VQ_RX_HOST]))
        return false;
    vd->tx_starved = false;
    rpmsg_vring_dev_notify(&vd->vq[VQ_RX_HOST], vd->event_idx, false);
    return true;
}

const struct rpmsg_transport_ops rpmsg_virtio_ops_host = {
    .get_tx_buffer = host_get_tx,
    .send = host_send,
    .release_tx_buffer = host_release_tx,
    .release_rx_buffer = release_rx,
    .poll = rpmsg_virtio_op_poll,
    .wait = rpmsg_virtio_op_wait,
    .wakeup = rpmsg_virtio_op_wakeup,
#if !RPMSG_NO_SYS
    .send_copy = host_send_copy,
    .send_counted = send_counted,
#endif
};

const struct rpmsg_transport_ops rpmsg_virtio_ops_remote = {
    .get_tx_buffer = remote_get_tx,
    .send = remote_send,
    .release_tx_buffer = remote_release_tx,
    .release_rx_buffer = release_rx,
    .poll = rpmsg_virtio_op_poll,
    .wait = rpmsg_virtio_op_wait,
    .wakeup = rpmsg_virtio_op_wakeup,
#if !RPMSG_NO_SYS
    .send_copy = remote_send_copy,
    .send_counted = send_counted,
#endif
};
