/*
 * The lean remote's link: the session handshake with the host and the two
 * vrings seen from the device side. Every value read from the region is read
 * once into a local and checked before use (indices against the ring size,
 * ids against num, addresses and lengths against the buffer pool); a value
 * that fails takes the link down and asks the host for a new session. The
 * checks the full transport adds on top (who holds which buffer, duplicate
 * hand-outs) are left out: they protect the host's own data, not ours.
 */
#include "lean.h"

#if RPMSG_LEAN_REMOTE

#include "transport/virtio/rsc_table.h"
#include "transport/virtio/virtio_wire.h"

#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define ST_OK RPMSG_VIRTIO_STATUS_DRIVER_OK
#define ST_RESET RPMSG_VIRTIO_STATUS_NEEDS_RESET
/* What we offer: NS only, so buffers are RPMSG_BUFFER_SIZE each way and the
 * ring flags (not event indices) decide notifications. */
#define LEAN_FEATURES RPMSG_F_NS

static bool pow2(uint32_t v)
{
    return v && !(v & (v - 1));
}

/* Offset of the used ring from a vring at da, aligned as an address (as
 * vring_init() does in Linux and OpenAMP). */
static uint32_t used_off(uint32_t da, uint32_t num, uint32_t align)
{
    uint32_t end = da + 16u * num + 2u * (3u + num);
    return ((end + align - 1) & ~(align - 1)) - da;
}

int rpmsg_lean_init(struct rpmsg_lean *ld, void *shm, size_t shm_size,
                    const struct rpmsg_virtio_layout *lay,
                    const struct rpmsg_virtio_platform_ops *ops, void *plat)
{
    if (!ld || !shm || !lay || !ops || !ops->notify || !ops->wait || shm_size > 0x7fffffffu)
        return -EINVAL;
    if (lay->flags)
        return -ENOTSUP;
    uint32_t size = (uint32_t)shm_size;
    if (size < RSC_VDEV_OFF + VDEV_CONFIG || lay->rsc_offset % 4 ||
        lay->rsc_offset > size - RSC_VDEV_OFF - VDEV_CONFIG || !pow2(lay->align) || lay->align < 4)
        return -EINVAL;
    memset(ld, 0, sizeof(*ld));
    for (int q = 0; q < 2; q++) {
        uint32_t da = lay->vring_da[q], num = lay->num[q];
        if (!pow2(num) || num > 32768 || da % 4 || da > size)
            return -EINVAL;
        uint32_t uo = used_off(da, num, lay->align);
        if (uo > size - da || size - da - uo < 6u + 8u * num)
            return -EINVAL;
        struct rpmsg_lean_vq *vq = &ld->vq[q];
        vq->desc = (uint8_t *)shm + da;
        vq->avail = vq->desc + 16u * num;
        vq->used = vq->desc + uo;
        vq->mask = (uint16_t)(num - 1);
    }
    uint32_t end = lay->pool_size ? lay->buf_offset + lay->pool_size : size;
    if (lay->buf_offset > size || end > size || end < lay->buf_offset)
        return -EINVAL;
    ld->pool_start = lay->buf_offset;
    ld->pool_end = end;
    ld->shm = shm;
    ld->lay = lay;
    ld->ops = ops;
    ld->plat = plat;
    ld->vdev = ld->shm + lay->rsc_offset + RSC_VDEV_OFF;
    return 0;
}

bool rpmsg_lean_is_up(const struct rpmsg_lean *ld)
{
    return ld->state == LEAN_UP;
}

static void kick(struct rpmsg_lean *ld, int qi)
{
    ld->ops->notify(ld->plat, ld->lay->notifyid[qi]);
}

/* The host's table is the one of our layout: one vdev entry right after a
 * one-slot offset array, with our vrings. */
static bool table_ok(const struct rpmsg_lean *ld)
{
    const uint8_t *t = ld->shm + ld->lay->rsc_offset, *v = ld->vdev;
    if (vw_ld32_acq(t) != 1 || vw_ld32(t + RSC_HDR_SIZE) != RSC_VDEV_OFF ||
        vw_ld32(v + VDEV_TYPE) != RPMSG_RSC_VDEV || vw_ld32(v + VDEV_ID) != RPMSG_VIRTIO_ID_RPMSG ||
        vw_ld8(v + VDEV_NUM_VRINGS) != 2)
        return false;
    for (int q = 0; q < 2; q++) {
        const uint8_t *r = v + VDEV_VRINGS + q * RSC_VRING_SIZE;
        if (vw_ld32(r) != ld->lay->vring_da[q] || vw_ld32(r + 4) != ld->lay->align ||
            vw_ld32(r + 8) != ld->lay->num[q])
            return false;
    }
    return true;
}

/* Leaves the session and tells the host: gen/ack clears the ack, a legacy
 * device asks for a reset (NEEDS_RESET) as virtio has it. */
static void leave(struct rpmsg_lean *ld, uint8_t status)
{
    ld->state = LEAN_DOWN;
#if RPMSG_VIRTIO_GENACK
    (void)status;
    vw_st8_rel(ld->vdev + VDEV_ACK, 0);
#else
    if (status)
        vw_st8_rel(ld->vdev + VDEV_STATUS, status);
#endif
    kick(ld, LEAN_VQ_TX);
}

static int fault(struct rpmsg_lean *ld)
{
    leave(ld, vw_ld8(ld->vdev + VDEV_STATUS) | ST_RESET);
    return -EPROTO;
}

int rpmsg_lean_link_step(struct rpmsg_lean *ld)
{
    uint8_t *v = ld->vdev;
    uint8_t st = vw_ld8_acq(v + VDEV_STATUS);
#if RPMSG_VIRTIO_GENACK
    uint8_t g = vw_ld8_acq(v + VDEV_GEN);
    bool same = g == ld->gen;
#else
    bool same = true;
#endif
    bool ok = (st & (ST_OK | ST_RESET)) == ST_OK;
    if (ld->state == LEAN_UP) {
        if (ok && same)
            return 0;
        leave(ld, 0); /* the host reset the device */
    }
    if (!table_ok(ld))
        return 0;
#if RPMSG_VIRTIO_GENACK
    if (ld->state == LEAN_DOWN || !same) {
        if (!g || (st & ST_OK))
            return 0; /* not published, or a session we are not part of */
        vw_st32(v + VDEV_DFEATURES, LEAN_FEATURES);
        ld->gen = g;
        vw_st8_rel(v + VDEV_ACK, g);
        ld->state = LEAN_ACKED;
        kick(ld, LEAN_VQ_TX);
        return 0;
    }
#endif
    if (!ok)
        return 0;
    if (vw_ld32(v + VDEV_GFEATURES) & ~(uint32_t)LEAN_FEATURES)
        return fault(ld);
    for (int q = 0; q < 2; q++)
        ld->vq[q].last = ld->vq[q].used_idx = 0; /* the host zeroed the rings */
    /* Every named endpoint is announced again in a new session. */
    for (int i = 0; i < RPMSG_LEAN_EPT_MAX; i++)
        if (ld->ept[i] && ld->ept[i]->name[0])
            ld->unannounced |= (uint8_t)(1u << i);
    ld->state = LEAN_UP;
    return 1;
}

int rpmsg_lean_take(struct rpmsg_lean *ld, int qi, struct lean_buf *b)
{
    struct rpmsg_lean_vq *vq = &ld->vq[qi];
    uint16_t idx = vw_ld16_acq(vq->avail + 2);
    if (ld->state != LEAN_UP || idx == vq->last)
        return 0;
    if ((uint16_t)(idx - vq->last) > vq->mask + 1u)
        return fault(ld);
    uint16_t id = vw_ld16(vq->avail + 4 + 2u * (vq->last & vq->mask));
    vq->last++;
    if (id > vq->mask)
        return fault(ld);
    /* One descriptor per buffer: flags and chains are never followed. */
    const uint8_t *d = vq->desc + 16u * id;
    uint32_t addr = vw_ld32(d), high = vw_ld32(d + 4), len = vw_ld32(d + 8);
    /* The host's RX buffers (our TX) are whole buffers; its messages at least a
     * header. Word-aligned: the header's fields are read and written as words,
     * which a Cortex-M0+ cannot do at an odd address. */
    uint32_t min = qi == LEAN_VQ_TX ? RPMSG_BUFFER_SIZE : RPMSG_HDR_SIZE;
    if (high || (addr & 3) || addr < ld->pool_start || addr > ld->pool_end ||
        len > ld->pool_end - addr || len < min)
        return fault(ld);
    b->p = ld->shm + addr;
    b->len = len < RPMSG_BUFFER_SIZE ? len : RPMSG_BUFFER_SIZE;
    b->id = id;
    return 1;
}

void rpmsg_lean_give(struct rpmsg_lean *ld, int qi, const struct lean_buf *b, uint32_t len)
{
    struct rpmsg_lean_vq *vq = &ld->vq[qi];
    if (ld->state != LEAN_UP)
        return; /* a new session starts from zeroed rings */
    uint8_t *e = vq->used + 4 + 8u * (vq->used_idx & vq->mask);
    vw_st32(e, b->id);
    vw_st32(e + 4, len);
    vw_st16_rel(vq->used + 2, ++vq->used_idx);
    vw_fence();
    if (!(vw_ld16(vq->avail) & VRING_AVAIL_F_NO_INTERRUPT))
        kick(ld, qi);
}

#endif
