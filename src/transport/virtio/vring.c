/* Split virtqueue index and entry handling; see vring.h. */
#include <errno.h>
#include <string.h>

#include "vring.h"
#include "vring_packed.h"
#include "virtio_wire.h"

size_t rpmsg_vring_avail_off(uint32_t num)
{
    return (size_t)VRING_DESC_SIZE * num;
}

size_t rpmsg_vring_used_off(uint32_t num, uint32_t align)
{
    /* avail: flags, idx, ring[num], used_event */
    size_t end = rpmsg_vring_avail_off(num) + 2u * (3u + (size_t)num);
    return (end + align - 1) & ~((size_t)align - 1);
}

size_t rpmsg_virtio_vring_size(uint32_t num, uint32_t align)
{
    if (!num || (num & (num - 1)) || num > 32768 || !align || (align & (align - 1)))
        return 0;
    /* used: flags, idx, ring[num], avail_event */
    return rpmsg_vring_used_off(num, align) + 6u + (size_t)VRING_USED_ELEM_SIZE * num;
}

size_t rpmsg_vring_used_at(uint64_t da, uint32_t num, uint32_t align)
{
    /* Aligned as an address, as Linux's and OpenAMP's vring_init() do: the
     * same as aligning the offset unless the vring itself is not aligned
     * (NuttX's simulator puts its vrings at 4 mod 8). */
    uint64_t end = da + rpmsg_vring_avail_off(num) + 2u * (3u + (uint64_t)num);
    return (size_t)(((end + align - 1) & ~((uint64_t)align - 1)) - da);
}

size_t rpmsg_vring_span(uint64_t da, uint32_t num, uint32_t align)
{
    if (!rpmsg_virtio_vring_size(num, align))
        return 0;
    return rpmsg_vring_used_at(da, num, align) + 6u + (size_t)VRING_USED_ELEM_SIZE * num;
}

void rpmsg_vring_attach(struct rpmsg_virtio_vq *vq, uint8_t *shm, uint32_t da, uint32_t num,
                        uint32_t align, uint32_t notifyid)
{
    vq->da = da;
    vq->num = num;
    vq->align = align;
    vq->notifyid = notifyid;
    vq->desc = shm + da;
    vq->avail = vq->desc + rpmsg_vring_avail_off(num);
    vq->used = vq->desc + rpmsg_vring_used_at(da, num, align);
    vq->packed = false; /* until a session negotiates it */
    vq->last = vq->shadow = vq->kicked = vq->seen = 0;
    vq->quiet = false;
}

void rpmsg_vring_clear(struct rpmsg_virtio_vq *vq)
{
    vw_zero(vq->desc, rpmsg_vring_span(vq->da, vq->num, vq->align));
    vq->last = vq->shadow = vq->kicked = vq->seen = 0;
    vq->quiet = false;
}

static uint8_t *avail_ring(const struct rpmsg_virtio_vq *vq, uint32_t i)
{
    return vq->avail + 4 + 2 * (i & (vq->num - 1));
}

static uint8_t *used_elem(const struct rpmsg_virtio_vq *vq, uint32_t i)
{
    return vq->used + 4 + VRING_USED_ELEM_SIZE * (i & (vq->num - 1));
}

/* used_event lives after the avail ring, avail_event after the used ring. */
static uint8_t *used_event(const struct rpmsg_virtio_vq *vq)
{
    return vq->avail + 4 + 2 * vq->num;
}

static uint8_t *avail_event(const struct rpmsg_virtio_vq *vq)
{
    return vq->used + 4 + VRING_USED_ELEM_SIZE * vq->num;
}

/*
 * A consumer reads the producer's index only when it has used up what the
 * last read promised (vq->seen): while it runs behind, the line the
 * producer writes for every message stays with the producer.
 *
 * The peeks tell a consumer that runs behind where the next message is, so
 * it can fetch that buffer while it handles this one. Only with a backlog:
 * a consumer that keeps up would read descriptors next to the ones the
 * producer is writing and pull their lines away from it (measured: a
 * stream that was producer-bound lost 10-20% with every peek; one that was
 * consumer-bound gained 2x with peeks at a distance). Packed rings do not
 * peek: the next descriptor is the one the producer writes next.
 * (VRING_PEEK_BACKLOG, rpmsg_vring_behind: vring.h.)
 */
/* ---- Driver side --------------------------------------------------------- */

void rpmsg_vring_drv_add(struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t addr, uint32_t len,
                         uint16_t flags)
{
    if (vq->packed) {
        rpmsg_pring_drv_add(vq, id, addr, len, flags);
        return;
    }
    /* Unchanged fields are not stored (vw_set16): after a lap, all of
     * these usually are. */
    uint8_t *d = vq->desc + (size_t)VRING_DESC_SIZE * id;
    uint64_t was;
    uint32_t was_len;
    rpmsg_vring_get_buf(vq, d, &was, &was_len);
    if (was != addr || was_len != len)
        rpmsg_vring_put_buf(vq, d, addr, len);
    vw_set16(d + 12, flags);
    vw_set16(d + 14, 0);
    vw_set16(avail_ring(vq, vq->shadow), id);
    vq->shadow++;
}

void rpmsg_vring_drv_publish(struct rpmsg_virtio_vq *vq)
{
    if (vq->packed)
        return; /* each descriptor's flags published it */
    vw_st16_rel(vq->avail + 2, vq->shadow);
}

bool rpmsg_vring_drv_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx)
{
    if (vq->packed)
        return rpmsg_pring_drv_need_kick(vq, event_idx);
    uint16_t old_idx = vq->kicked, new_idx = vq->shadow;
    vq->kicked = new_idx;
    if (old_idx == new_idx)
        return false;
    vw_fence(); /* our idx store before the device's suppression field load */
    if (event_idx)
        return rpmsg_vring_need_event(vw_ld16(avail_event(vq)), new_idx, old_idx);
    return !(vw_ld16(vq->used) & VRING_USED_F_NO_NOTIFY);
}

int rpmsg_vring_drv_get_used(struct rpmsg_virtio_vq *vq, uint32_t *id, uint32_t *len)
{
    if (vq->packed)
        return rpmsg_pring_drv_get_used(vq, id, len);
    uint16_t idx = vq->seen;
    if (idx == vq->last)
        idx = vq->seen = vw_ld16_acq(vq->used + 2);
    if (idx == vq->last)
        return 0;
    if ((uint16_t)(idx - vq->last) > vq->num) {
        *id = idx;
        return -EPROTO;
    }
    const uint8_t *e = used_elem(vq, vq->last);
    *id = vw_ld32(e);
    *len = vw_ld32(e + 4);
    vq->last++;
    return 1;
}

bool rpmsg_vring_drv_peek(const struct rpmsg_virtio_vq *vq, uint32_t *id)
{
    if (!rpmsg_vring_behind(vq))
        return false;
    *id = vw_ld32(used_elem(vq, vq->last));
    return true;
}

void rpmsg_vring_drv_intr(struct rpmsg_virtio_vq *vq, bool event_idx, bool on)
{
    if (vq->packed) {
        rpmsg_pring_drv_intr(vq, event_idx, on);
        return;
    }
    if (event_idx)
        /* "Off" parks the event index just behind: it is crossed again
         * only after 65536 entries, which costs one spurious kick. */
        vw_st16(used_event(vq), on ? vq->last : (uint16_t)(vq->last - 1));
    else
        vw_st16(vq->avail, on ? 0 : VRING_AVAIL_F_NO_INTERRUPT);
    vw_fence(); /* the store before the caller re-checks used.idx */
}

void rpmsg_vring_drv_intr_after(struct rpmsg_virtio_vq *vq, uint16_t n)
{
    if (vq->packed) {
        rpmsg_pring_drv_intr_after(vq, n);
        return;
    }
    vw_st16(used_event(vq), (uint16_t)(vq->last + n - 1));
    vw_fence(); /* as rpmsg_vring_drv_intr */
}

bool rpmsg_vring_drv_pending(const struct rpmsg_virtio_vq *vq)
{
    if (vq->packed)
        return rpmsg_pring_drv_pending(vq);
    return vw_ld16_acq(vq->used + 2) != vq->last;
}

bool rpmsg_vring_peer_waits(const struct rpmsg_virtio_vq *vq, bool drv, bool event_idx,
                            uint16_t within)
{
    if (vq->packed)
        return rpmsg_pring_peer_waits(vq, drv, within);
    if (event_idx) {
        uint16_t event = vw_ld16(drv ? avail_event(vq) : used_event(vq));
        return (uint16_t)(event - vq->shadow) < within;
    }
    if (drv)
        return !(vw_ld16(vq->used) & VRING_USED_F_NO_NOTIFY);
    return !(vw_ld16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}

/* ---- Device side --------------------------------------------------------- */

int rpmsg_vring_dev_get_avail(struct rpmsg_virtio_vq *vq, uint16_t *id)
{
    if (vq->packed)
        return rpmsg_pring_dev_get_avail(vq, id);
    uint16_t idx = vq->seen;
    if (idx == vq->last)
        idx = vq->seen = vw_ld16_acq(vq->avail + 2);
    if (idx == vq->last)
        return 0;
    if ((uint16_t)(idx - vq->last) > vq->num) {
        *id = idx;
        return -EPROTO;
    }
    *id = vw_ld16(avail_ring(vq, vq->last));
    vq->last++;
    return 1;
}

/* A split ring's device: the avail entry at our position, its id's
 * descriptor and the address in it, unchecked but for the id's range. */
static inline void guess_avail(const struct rpmsg_virtio_vq *vq, struct rpmsg_vring_guess *g)
{
    g->entry = avail_ring(vq, vq->last);
    g->id = vw_ld16(g->entry);
    g->desc = NULL;
    g->addr = 0;
    if (g->id < vq->num) {
        uint32_t len;
        g->desc = vq->desc + (size_t)VRING_DESC_SIZE * g->id;
        rpmsg_vring_get_buf(vq, g->desc, &g->addr, &len);
    }
}

void rpmsg_vring_guess_next(const struct rpmsg_virtio_vq *vq, bool drv,
                            struct rpmsg_vring_guess *g)
{
    g->desc = NULL;
    g->addr = 0;
    if (vq->packed) {
        g->entry = rpmsg_pring_peek_last(vq, &g->addr, &g->id);
        return;
    }
    if (drv) {
        /* Used in the order made available: our own entry at that position. */
        g->entry = used_elem(vq, vq->last);
        g->id = vw_ld16(avail_ring(vq, vq->last));
        return;
    }
    guess_avail(vq, g);
}

bool rpmsg_vring_dev_peek(const struct rpmsg_virtio_vq *vq, uint64_t *addr)
{
    /* Behind, the entry at our position is published: the guess is it. */
    struct rpmsg_vring_guess g;
    if (!rpmsg_vring_behind(vq))
        return false;
    guess_avail(vq, &g);
    *addr = g.addr;
    return g.desc != NULL;
}

void rpmsg_vring_dev_read_desc(const struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t *addr,
                               uint32_t *len, uint16_t *flags)
{
    if (vq->packed) {
        rpmsg_pring_dev_read_desc(vq, addr, len, flags);
        return;
    }
    const uint8_t *d = vq->desc + (size_t)VRING_DESC_SIZE * id;
    rpmsg_vring_get_buf(vq, d, addr, len);
    *flags = vw_ld16(d + 12);
}

void rpmsg_vring_dev_put_used(struct rpmsg_virtio_vq *vq, uint16_t id, uint32_t len)
{
    if (vq->packed) {
        rpmsg_pring_dev_put_used(vq, id, len);
        return;
    }
    uint8_t *e = used_elem(vq, vq->shadow);
    vw_set32(e, id); /* unchanged fields are not stored: see vw_set16 */
    vw_set32(e + 4, len);
    vq->shadow++;
}

void rpmsg_vring_dev_publish(struct rpmsg_virtio_vq *vq)
{
    if (vq->packed)
        return;
    vw_st16_rel(vq->used + 2, vq->shadow);
}

bool rpmsg_vring_dev_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx)
{
    if (vq->packed)
        return rpmsg_pring_dev_need_kick(vq, event_idx);
    uint16_t old_idx = vq->kicked, new_idx = vq->shadow;
    vq->kicked = new_idx;
    if (old_idx == new_idx)
        return false;
    vw_fence();
    if (event_idx)
        return rpmsg_vring_need_event(vw_ld16(used_event(vq)), new_idx, old_idx);
    return !(vw_ld16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT);
}

void rpmsg_vring_dev_notify(struct rpmsg_virtio_vq *vq, bool event_idx, bool on)
{
    if (vq->packed) {
        rpmsg_pring_dev_notify(vq, event_idx, on);
        return;
    }
    if (event_idx)
        vw_st16(avail_event(vq), on ? vq->last : (uint16_t)(vq->last - 1));
    else
        vw_st16(vq->used, on ? 0 : VRING_USED_F_NO_NOTIFY);
    vw_fence();
}

void rpmsg_vring_dev_notify_after(struct rpmsg_virtio_vq *vq, uint16_t n)
{
    if (vq->packed) {
        rpmsg_pring_dev_notify_after(vq, n);
        return;
    }
    vw_st16(avail_event(vq), (uint16_t)(vq->last + n - 1));
    vw_fence(); /* as rpmsg_vring_dev_notify */
}

bool rpmsg_vring_dev_pending(const struct rpmsg_virtio_vq *vq)
{
    if (vq->packed)
        return rpmsg_pring_dev_pending(vq);
    return vw_ld16_acq(vq->avail + 2) != vq->last;
}
