/*
 * Packed virtqueue (VirtIO 1.1 §2.7, negotiated as RPMSG_VIRTIO_F_RING_PACKED
 * on native links), seen from either side, behind the same calls as the
 * split ring (vring.h dispatches here when vq->packed is set).
 *
 * Layout at the vring's da: num 16-byte descriptors (le64 addr, le32 len,
 * le16 id, le16 flags), then the driver event suppression structure
 * (le16 off_wrap, le16 flags), then the device's. That is less than a split
 * ring of the same num needs, so the region's layout does not change.
 *
 * The counters stay free-running u16 like the split ring's indices: a
 * position is ctr % num and its wrap counter is 1 on even laps. Since num
 * divides 32768, the lap parity survives the u16 overflow.
 */
#ifndef RPMSG_VRING_PACKED_H
#define RPMSG_VRING_PACKED_H

#include <stdbool.h>
#include <stdint.h>

#include "rpmsg/rpmsg_virtio.h"

#define PRING_F_AVAIL (1u << 7)
#define PRING_F_USED (1u << 15)
/* Event suppression flags (pvirtq_event_suppress.flags). */
#define PRING_EVENT_ENABLE 0u
#define PRING_EVENT_DISABLE 1u
#define PRING_EVENT_DESC 2u

/* Bytes of a packed ring of num entries (descriptors and both event areas). */
static inline uint32_t rpmsg_pring_size(uint32_t num)
{
    return 16u * num + 8u;
}

void rpmsg_pring_drv_add(struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t addr, uint32_t len,
                         uint16_t flags);
bool rpmsg_pring_drv_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx);
/* 1 (id, len set), 0 none; -EPROTO with *id = the flags if the slot holds
 * what no honest device writes there, or a used descriptor when nothing is
 * outstanding. */
int rpmsg_pring_drv_get_used(struct rpmsg_virtio_vq *vq, uint32_t *id, uint32_t *len);
void rpmsg_pring_drv_intr(struct rpmsg_virtio_vq *vq, bool event_idx, bool on);
/* With event_idx: a notification once the device has used n more descriptors. */
void rpmsg_pring_drv_intr_after(struct rpmsg_virtio_vq *vq, uint16_t n);
bool rpmsg_pring_drv_pending(const struct rpmsg_virtio_vq *vq);

/* The descriptor at vq->last, and the address and id in it as they are,
 * unchecked and whoever wrote them (rpmsg_vring_guess_next). */
const uint8_t *rpmsg_pring_peek_last(const struct rpmsg_virtio_vq *vq, uint64_t *addr,
                                     uint16_t *id);
/* 1 (*id set, unchecked), 0 none; -EPROTO with *id = the flags if the slot's
 * wrap bits are ones only a device could have written, this lap. */
int rpmsg_pring_dev_get_avail(struct rpmsg_virtio_vq *vq, uint16_t *id);
/* The descriptor get_avail just returned (its position, not its id). */
void rpmsg_pring_dev_read_desc(const struct rpmsg_virtio_vq *vq, uint64_t *addr, uint32_t *len,
                               uint16_t *flags);
void rpmsg_pring_dev_put_used(struct rpmsg_virtio_vq *vq, uint16_t id, uint32_t len);
bool rpmsg_pring_dev_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx);
void rpmsg_pring_dev_notify(struct rpmsg_virtio_vq *vq, bool event_idx, bool on);
/* With event_idx: a notification once the driver has made n more available. */
void rpmsg_pring_dev_notify_after(struct rpmsg_virtio_vq *vq, uint16_t n);
bool rpmsg_pring_dev_pending(const struct rpmsg_virtio_vq *vq);

/* Does the peer ask to be told of one of our next `within` descriptors
 * (drv: we are the driver, so the device's event area), or of every one? */
bool rpmsg_pring_peer_waits(const struct rpmsg_virtio_vq *vq, bool drv, uint16_t within);

#endif
