/*
 * A split virtqueue as Linux and OpenAMP lay it out (wire-formats.md §1-3),
 * for the bare floors of the format (vring_floor.c, vring_stream.c): no
 * rpmsg stack, only the structures both sides must touch.
 */
#ifndef VRING_LAYOUT_H
#define VRING_LAYOUT_H

#include <stdatomic.h>
#include <stdint.h>

#define VQ_NUM 256u
#define BUF_SIZE 512u

struct vdesc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

struct vavail {
    uint16_t flags;
    _Atomic uint16_t idx;
    uint16_t ring[VQ_NUM];
    uint16_t used_event;
};

struct velem {
    uint32_t id, len;
};

struct vused {
    uint16_t flags;
    _Atomic uint16_t idx;
    struct velem ring[VQ_NUM];
    uint16_t avail_event;
};

/* One virtqueue in the legacy layout: descriptors, avail, used on its own page. */
struct vq {
    _Alignas(4096) struct vdesc desc[VQ_NUM];
    struct vavail avail;
    _Alignas(4096) struct vused used;
};

#endif
