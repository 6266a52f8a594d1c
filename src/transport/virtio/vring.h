/*
 * Split virtqueue ("legacy" layout used by remoteproc, wire-formats.md §3),
 * seen from either side; each call goes to vring_packed.c instead when the
 * session negotiated the packed layout (vq->packed). These functions only move indices and entries; the
 * caller owns the bookkeeping of which descriptor is where and validates ids,
 * addresses and lengths against it. Each returns what it read from the peer
 * in locals; nothing here dereferences an address taken from the ring.
 */
#ifndef RPMSG_VRING_H
#define RPMSG_VRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rpmsg/rpmsg_virtio.h"
#include "virtio_wire.h"

#define VRING_DESC_F_NEXT 1u
#define VRING_DESC_F_WRITE 2u
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY 1u

#define VRING_DESC_SIZE 16u
#define VRING_USED_ELEM_SIZE 8u

/* Offsets from the vring's start (da) for num entries at this alignment. */
size_t rpmsg_vring_avail_off(uint32_t num);
size_t rpmsg_vring_used_off(uint32_t num, uint32_t align);
/* Offset of the used ring from a vring at region offset da (aligned as an address). */
size_t rpmsg_vring_used_at(uint64_t da, uint32_t num, uint32_t align);
/* Bytes of a vring at da, avail_event included; 0 if num/align are invalid. */
size_t rpmsg_vring_span(uint64_t da, uint32_t num, uint32_t align);

/* Points vq at the vring at shm + da (geometry already validated); resets indices. */
void rpmsg_vring_attach(struct rpmsg_virtio_vq *vq, uint8_t *shm, uint32_t da, uint32_t num,
                        uint32_t align, uint32_t notifyid);
/* Zeroes the whole vring in shared memory and the local indices. */
void rpmsg_vring_clear(struct rpmsg_virtio_vq *vq);

/*
 * A descriptor's address and length, the same in both layouts: the address
 * in two 32-bit halves (a vring may sit at 4 mod 8: NuttX's simulator),
 * relative to the base word when the layout has one. Below the base, a read
 * address wraps to a huge offset, which the caller refuses.
 */
static inline void rpmsg_vring_put_buf(const struct rpmsg_virtio_vq *vq, uint8_t *d,
                                       uint64_t addr, uint32_t len)
{
    if (vq->base_word)
        addr += vw_ld64(vq->base_word);
    vw_st32(d, (uint32_t)addr);
    vw_st32(d + 4, (uint32_t)(addr >> 32));
    vw_st32(d + 8, len);
}

static inline void rpmsg_vring_get_buf(const struct rpmsg_virtio_vq *vq, const uint8_t *d,
                                       uint64_t *addr, uint32_t *len)
{
    uint64_t a = vw_ld32(d) | (uint64_t)vw_ld32(d + 4) << 32;
    *addr = vq->base_word ? a - vw_ld64(vq->base_word) : a;
    *len = vw_ld32(d + 8);
}

/* virtio's vring_need_event(): did the producer move past the consumer's event index? */
static inline bool rpmsg_vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* ---- Driver (host) side: produces avail, consumes used ------------------- */

/* Writes descriptor id and queues it on the avail ring (not yet visible). */
void rpmsg_vring_drv_add(struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t addr, uint32_t len,
                         uint16_t flags);
/* Makes the queued entries visible to the device. */
void rpmsg_vring_drv_publish(struct rpmsg_virtio_vq *vq);
/* After publish: does the device want a notification for what was added since the last call? */
bool rpmsg_vring_drv_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx);
/* Next used entry: 1 (id, len set), 0 none, -EPROTO if used.idx ran more than num
 * ahead (*id = that idx). */
int rpmsg_vring_drv_get_used(struct rpmsg_virtio_vq *vq, uint32_t *id, uint32_t *len);
/* How far behind the producer (as last read) a consumer peeks (vring.c). */
#define VRING_PEEK_BACKLOG 8

/* True if a consumer runs far enough behind to peek (split rings only). */
static inline bool rpmsg_vring_behind(const struct rpmsg_virtio_vq *vq)
{
    return !vq->packed && (uint16_t)(vq->seen - vq->last) >= VRING_PEEK_BACKLOG;
}

/* Driver: the id of the next used entry, if one is known to be there and
 * the consumer runs behind (rpmsg_vring_behind); false otherwise. Untrusted. */
bool rpmsg_vring_drv_peek(const struct rpmsg_virtio_vq *vq, uint32_t *id);
/* Asks the device for (on) or against (off) an interrupt when it adds used entries. */
void rpmsg_vring_drv_intr(struct rpmsg_virtio_vq *vq, bool event_idx, bool on);
/* With event_idx: asks for an interrupt once n (>= 1) more used entries are there. */
void rpmsg_vring_drv_intr_after(struct rpmsg_virtio_vq *vq, uint16_t n);
/* True if used entries are waiting. */
bool rpmsg_vring_drv_pending(const struct rpmsg_virtio_vq *vq);

/* Has the peer asked to be told of our next entries? The driver's question
 * for avail entries (drv), the device's for used ones: a notification
 * request at one of our next `within` positions, or on for every entry
 * (flags). A peer waiting for buffers asks; one that is not, does not. */
bool rpmsg_vring_peer_waits(const struct rpmsg_virtio_vq *vq, bool drv, bool event_idx,
                            uint16_t within);

/* ---- Device (remote) side: consumes avail, produces used ----------------- */

/* Next avail entry: 1 (*id set, unchecked), 0 none, -EPROTO if avail.idx ran ahead
 * (*id = that idx). */
int rpmsg_vring_dev_get_avail(struct rpmsg_virtio_vq *vq, uint16_t *id);
/* Device: the buffer address of the next avail entry, as drv_peek.
 * Untrusted: only for a prefetch, after a bounds check. */
bool rpmsg_vring_dev_peek(const struct rpmsg_virtio_vq *vq, uint64_t *addr);
/*
 * A guess at the next entry the peer gives us on vq (drv: we are its
 * driver), for cache hints only: nothing in it is checked, and whoever
 * wrote it. entry: the ring bytes we read that entry from; id: the buffer
 * it most likely names (the driver: the one it made available at that
 * position; the device: the one there a lap ago); desc, addr: the device's
 * descriptor of that id and the address in it, as they are now (NULL, 0
 * when the id is out of range or the layout puts them in the entry).
 */
struct rpmsg_vring_guess {
    const uint8_t *entry, *desc;
    uint64_t addr;
    uint16_t id;
};
void rpmsg_vring_guess_next(const struct rpmsg_virtio_vq *vq, bool drv,
                            struct rpmsg_vring_guess *g);
/* Copies descriptor id (id < num checked by the caller) into locals. */
void rpmsg_vring_dev_read_desc(const struct rpmsg_virtio_vq *vq, uint16_t id, uint64_t *addr,
                               uint32_t *len, uint16_t *flags);
/* Queues a used entry (not yet visible). */
void rpmsg_vring_dev_put_used(struct rpmsg_virtio_vq *vq, uint16_t id, uint32_t len);
void rpmsg_vring_dev_publish(struct rpmsg_virtio_vq *vq);
bool rpmsg_vring_dev_need_kick(struct rpmsg_virtio_vq *vq, bool event_idx);
/* Asks the driver for (on) or against (off) a notification when it adds avail entries. */
void rpmsg_vring_dev_notify(struct rpmsg_virtio_vq *vq, bool event_idx, bool on);
/* With event_idx: asks for a notification once n (>= 1) more avail entries are there. */
void rpmsg_vring_dev_notify_after(struct rpmsg_virtio_vq *vq, uint16_t n);
bool rpmsg_vring_dev_pending(const struct rpmsg_virtio_vq *vq);

#endif
