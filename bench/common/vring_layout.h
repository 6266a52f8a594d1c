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

/*
 * Stores that leave a field as it was are skipped: an unchanged value then
 * costs no cache line moving to the writer and back to the reader. The
 * format allows it (a descriptor, an avail entry and a used element only
 * need their values when published), and the stack does it, so its floors
 * do too.
 */
static inline void vl_set_desc(struct vdesc *d, uint64_t addr, uint32_t len, uint16_t flags)
{
    if (d->addr != addr || d->len != len || d->flags != flags || d->next != 0)
        *d = (struct vdesc){ addr, len, flags, 0 };
}

static inline void vl_set16(uint16_t *p, uint16_t v)
{
    if (*p != v)
        *p = v;
}

static inline void vl_set_elem(struct velem *e, uint32_t id, uint32_t len)
{
    if (e->id != id || e->len != len)
        *e = (struct velem){ id, len };
}

#endif
