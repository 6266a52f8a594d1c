/* Packed virtqueue descriptors and event suppression; see vring_packed.h. */
#include <errno.h>

#include "vring.h"
#include "vring_packed.h"
#include "virtio_wire.h"

/* Wrap counter of free-running position ctr: 1 on even laps (num is a
 * power of two, so the lap's parity is the num bit). */
static bool wrap_of(const struct rpmsg_virtio_vq *vq, uint16_t ctr)
{
    return !(ctr & vq->num);
}

static uint8_t *slot_at(const struct rpmsg_virtio_vq *vq, uint16_t ctr)
{
    return vq->desc + 16u * (ctr & (vq->num - 1));
}

static uint8_t *drv_event(const struct rpmsg_virtio_vq *vq)
{
    return vq->desc + 16u * vq->num;
}

static uint8_t *dev_event(const struct rpmsg_virtio_vq *vq)
{
    return vq->desc + 16u * vq->num + 4u;
}

#define AU (PRING_F_AVAIL | PRING_F_USED)

/* The AVAIL/USED pair of a descriptor made available, or used, in a lap
 * with wrap counter w. */
static uint16_t avail_bits(bool w)
{
    return w ? PRING_F_AVAIL : PRING_F_USED;
}

static uint16_t used_bits(bool w)
{
    return w ? AU : 0;
}

/* ---- Event suppression (both directions) ---------------------------------- */

/* Asks the producer of vq (through the area we write) for a notification
 * once it publishes position next, or for none. */
static void ask(struct rpmsg_virtio_vq *vq, uint8_t *area, bool event_idx, bool on,
                uint16_t next)
{
    /* "None" is the same word every time, and a side that polls asks for
     * none at every empty look: storing it again takes the line from the
     * producer, whose next kick decision reads it (ask() was 5.7% of a
     * packed round trip's profile). Only our own stores change it. */
    if (!on && vq->quiet)
        return;
    vq->quiet = !on;
    if (on && event_idx) {
        uint16_t off_wrap = (uint16_t)((next & (vq->num - 1)) | (wrap_of(vq, next) ? 0x8000u : 0u));
        vw_st16(area, off_wrap);
        vw_st16(area + 2, PRING_EVENT_DESC);
    } else {
        vw_st16(area + 2, on ? PRING_EVENT_ENABLE : PRING_EVENT_DISABLE);
    }
    vw_fence(); /* the request before the caller looks at the ring again */
}

/* An event's position (offset and wrap bit) as a counter modulo two laps:
 * the wrap bit is 1 on even laps. */
static uint16_t event_at(const struct rpmsg_virtio_vq *vq, uint16_t off_wrap)
{
    return (uint16_t)((off_wrap & (vq->num - 1)) + ((off_wrap & 0x8000u) ? 0u : vq->num));
}

/*
 * Does the consumer, through its area, want a notification for what we
 * published since the last decision? The event position is rebuilt as the
 * counter at or behind ours with that offset and wrap: an honest consumer
 * is never ahead of us nor more than a ring behind.
 */
static bool wants(struct rpmsg_virtio_vq *vq, const uint8_t *area, bool event_idx)
{
    uint16_t old_idx = vq->kicked, new_idx = vq->shadow;
    vq->kicked = new_idx;
    if (old_idx == new_idx)
        return false;
    vw_fence(); /* our flags store before the consumer's area load */
    uint16_t flags = vw_ld16(area + 2);
    if (flags != PRING_EVENT_DESC || !event_idx)
        return flags != PRING_EVENT_DISABLE;
    uint32_t lap2 = 2u * vq->num;
    uint16_t at = event_at(vq, vw_ld16(area));
    uint16_t event = (uint16_t)(new_idx - ((uint16_t)(new_idx - at) & (lap2 - 1)));
    return rpmsg_vring_need_event(event, new_idx, old_idx);
}

/* ---- Driver side ---------------------------------------------------------- */

void rpmsg_pring_drv_add(struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t addr, uint32_t len,
                         uint16_t flags)
{
    uint8_t *d = slot_at(vq, vq->shadow);
    rpmsg_vring_put_buf(vq, d, addr, len);
    vw_st16(d + 12, id);
    /* One descriptor per buffer: its flags publish it. */
    bool w = wrap_of(vq, vq->shadow);
    vw_st16_rel(d + 14, (uint16_t)(flags | avail_bits(w)));
    vq->shadow++;
}

bool rpmsg_pring_drv_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx)
{
    return wants(vq, dev_event(vq), event_idx);
}

int rpmsg_pring_drv_get_used(struct rpmsg_virtio_vq *vq, uint32_t *id, uint32_t *len)
{
    const uint8_t *d = slot_at(vq, vq->last);
    uint16_t flags = vw_ld16_acq(d + 14);
    bool w = wrap_of(vq, vq->last);
    uint16_t b = flags & AU;
    if (b != used_bits(w)) {
        /* Our own descriptor not used yet, or last lap's used one; the
         * device's AVAIL != our wrap with USED == it is nobody's. */
        if (b == avail_bits(!w)) {
            *id = flags;
            return -EPROTO;
        }
        return 0;
    }
    if (vq->last == vq->shadow) {
        *id = flags; /* a used descriptor for a buffer we never posted */
        return -EPROTO;
    }
    *id = vw_ld16(d + 12);
    *len = vw_ld32(d + 8);
    vq->last++;
    return 1;
}

void rpmsg_pring_drv_intr(struct rpmsg_virtio_vq *vq, bool event_idx, bool on)
{
    ask(vq, drv_event(vq), event_idx, on, vq->last);
}

void rpmsg_pring_drv_intr_after(struct rpmsg_virtio_vq *vq, uint16_t n)
{
    ask(vq, drv_event(vq), true, true, (uint16_t)(vq->last + n - 1));
}

bool rpmsg_pring_drv_pending(const struct rpmsg_virtio_vq *vq)
{
    uint16_t flags = vw_ld16_acq(slot_at(vq, vq->last) + 14);
    return (flags & AU) == used_bits(wrap_of(vq, vq->last));
}

const uint8_t *rpmsg_pring_peek_last(const struct rpmsg_virtio_vq *vq, uint64_t *addr,
                                     uint16_t *id)
{
    const uint8_t *d = slot_at(vq, vq->last);
    uint32_t len;
    rpmsg_vring_get_buf(vq, d, addr, &len);
    *id = vw_ld16(d + 12);
    return d;
}

/* ---- Device side ---------------------------------------------------------- */

int rpmsg_pring_dev_get_avail(struct rpmsg_virtio_vq *vq, uint16_t *id)
{
    const uint8_t *d = slot_at(vq, vq->last);
    uint16_t flags = vw_ld16_acq(d + 14);
    bool w = wrap_of(vq, vq->last);
    uint16_t b = flags & AU;
    if (b != avail_bits(w)) {
        /* Consumed last lap or given back last lap; used this lap it cannot
         * be: our used writes trail our reads. */
        if (b == used_bits(w)) {
            *id = flags;
            return -EPROTO;
        }
        return 0;
    }
    *id = vw_ld16(d + 12);
    vq->last++;
    return 1;
}

void rpmsg_pring_dev_read_desc(const struct rpmsg_virtio_vq *vq, uint64_t *addr, uint32_t *len,
                               uint16_t *flags)
{
    const uint8_t *d = slot_at(vq, (uint16_t)(vq->last - 1));
    rpmsg_vring_get_buf(vq, d, addr, len);
    *flags = vw_ld16(d + 14);
}

void rpmsg_pring_dev_put_used(struct rpmsg_virtio_vq *vq, uint16_t id, uint32_t len)
{
    uint8_t *d = slot_at(vq, vq->shadow);
    bool w = wrap_of(vq, vq->shadow);
    vw_st32(d + 8, len);
    vw_st16(d + 12, id);
    vw_st16_rel(d + 14, used_bits(w));
    vq->shadow++;
}

bool rpmsg_pring_dev_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx)
{
    return wants(vq, drv_event(vq), event_idx);
}

void rpmsg_pring_dev_notify(struct rpmsg_virtio_vq *vq, bool event_idx, bool on)
{
    ask(vq, dev_event(vq), event_idx, on, vq->last);
}

void rpmsg_pring_dev_notify_after(struct rpmsg_virtio_vq *vq, uint16_t n)
{
    ask(vq, dev_event(vq), true, true, (uint16_t)(vq->last + n - 1));
}

bool rpmsg_pring_dev_pending(const struct rpmsg_virtio_vq *vq)
{
    uint16_t flags = vw_ld16_acq(slot_at(vq, vq->last) + 14);
    return (flags & AU) == avail_bits(wrap_of(vq, vq->last));
}

bool rpmsg_pring_peer_waits(const struct rpmsg_virtio_vq *vq, bool drv, uint16_t within)
{
    const uint8_t *area = drv ? dev_event(vq) : drv_event(vq);
    uint16_t flags = vw_ld16(area + 2);
    if (flags != PRING_EVENT_DESC)
        return flags != PRING_EVENT_DISABLE;
    /* The requested position's distance ahead of ours, modulo two laps. */
    uint16_t at = event_at(vq, vw_ld16(area));
    return (uint16_t)((uint16_t)(at - vq->shadow) & (2u * vq->num - 1)) < within;
}
